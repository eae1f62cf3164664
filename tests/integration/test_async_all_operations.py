"""Every operation of the Management API spec through AsyncManagementClient, against Prism.

The cases are test_all_operations.py's (one per operationId, arguments built from the
spec's schemas); only the call is awaited. Prism validates every request (the
``kinde_domain`` fixture fails a case whose request broke the spec), and each answer must
deserialize into the operation's declared type without losing anything, as for the sync
client. The async signature, seen by ``inspect.signature``, is the generated method's.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel

from kinde_sdk.management import AsyncManagementClient
from tests._spec_examples import Operation
from tests.integration.test_all_operations import (
    EXAMPLES_THAT_BREAK_THE_SPEC,
    IDS,
    OPERATIONS,
    _arguments,
    _canonical,
)
from tests.servers.front import FrontServer

pytestmark = [pytest.mark.prism, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _client(front: FrontServer, *, strict: bool) -> AsyncManagementClient:
    return AsyncManagementClient(
        front.url,
        front.state.client_id,
        front.state.client_secret,
        max_retries=0,
        strict_responses=strict,
    )


@pytest.fixture
async def async_management(kinde_domain: FrontServer) -> AsyncIterator[AsyncManagementClient]:
    """Strict, as the sync suite's client: a response differing from the spec raises."""
    async with _client(kinde_domain, strict=True) as client:
        yield client


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
async def test_operation(
    op: Operation, async_management: AsyncManagementClient, kinde_domain: FrontServer
) -> None:
    from kinde_sdk.errors import ResponseValidationError

    drift = EXAMPLES_THAT_BREAK_THE_SPEC.get(op.operation_id)
    if drift is not None:
        method = getattr(getattr(async_management, op.client_attribute), op.method_name)
        with pytest.raises(ResponseValidationError) as raised:
            await method(**_arguments(op, inspect.signature(method)))
        assert any(drift[0][-1] in problem for problem in raised.value.problems)
        await async_management.aclose()
        async_management = _client(kinde_domain, strict=False)
    api = getattr(async_management, op.client_attribute, None)
    assert api is not None, f"{op}: AsyncManagementClient has no {op.client_attribute!r}"
    method = getattr(api, op.method_name)
    assert inspect.iscoroutinefunction(method)
    signature = inspect.signature(method)
    declared = signature.return_annotation
    _code, response = op.success_response
    has_body = bool(response.get("content"))
    kwargs = _arguments(op, signature)

    result = await method(**kwargs)

    if not has_body:
        assert result is None
        return
    assert inspect.isclass(declared) and issubclass(declared, BaseModel)
    assert isinstance(result, declared), f"{op}: got {type(result).__name__}, not {declared}"
    answer = await getattr(api, f"{op.method_name}_with_http_info")(**kwargs)
    assert isinstance(answer.data, declared)
    assert 200 <= answer.status_code <= 299
    raw = json.loads(answer.raw_data)
    if drift is not None:
        path, coerced = drift
        value: Any = result
        for name in path:
            value = getattr(value, name)
        assert value == coerced
        where = raw
        for name in path[:-1]:
            where = where[name]
        where[path[-1]] = coerced
        await async_management.aclose()
    assert _canonical(json.loads(answer.data.to_json())) == _canonical(raw), (
        f"{op}: {declared.__name__} did not keep Prism's body: {raw!r}"
    )


def test_the_async_types_cover_every_operation() -> None:
    """The generated Protocols (what a type checker sees) name every spec operation,
    as coroutines returning the generated method's type."""
    from kinde_sdk.management import _async_apis

    for op in OPERATIONS:
        sub_api = inspect.getattr_static(_async_apis.AsyncSubApis, op.client_attribute)
        assert isinstance(sub_api, property), op
        protocol_name = sub_api.fget.__annotations__["return"]
        protocol = getattr(_async_apis, protocol_name)
        stub = getattr(protocol, op.method_name)
        assert inspect.iscoroutinefunction(stub), op


async def test_invalid_arguments_fail_before_any_request(
    async_management: AsyncManagementClient, kinde_domain: FrontServer
) -> None:
    """The generated validation runs for async calls too: nothing is sent."""
    from pydantic import ValidationError

    before = kinde_domain.state.api_requests
    with pytest.raises(ValidationError):
        await async_management.users.get_users(page_size="ten")  # type: ignore[arg-type]
    assert kinde_domain.state.api_requests == before


async def test_unknown_operation_is_an_attribute_error(
    async_management: AsyncManagementClient,
) -> None:
    with pytest.raises(AttributeError):
        async_management.users.get_everyone  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(AttributeError):
        async_management.users.get_users_without_preload_content  # type: ignore[attr-defined]  # noqa: B018
