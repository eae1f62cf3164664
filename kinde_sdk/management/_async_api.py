"""Every generated operation, awaitable, without a second generated tree.

An :class:`AsyncApi` wraps an instance of a generated API class (``UsersApi`` ...) built
over a :class:`PreparingApiClient`. Calling ``await api.get_users(page_size=10)`` runs
the generated ``get_users`` itself: pydantic validates the arguments
(``@validate_call``) and ``_get_users_serialize`` builds the request. Where the
generated code would then send it, ``PreparingApiClient.call_api`` hands back a
:class:`PendingCall` instead (no I/O), and the generated code's
``response_deserialize(..., response_types_map)`` call only records the operation's
response types. The async client then sends the request through the
:class:`~kinde_sdk._async_transport.AsyncTransport` and parses the answer with
:func:`~kinde_sdk.management._responses.parse_response` and those types: the same
request builder and the same response parser as
:class:`~kinde_sdk.management.ManagementClient`, only the send is awaited.

The types a checker sees are in ``_async_apis.py``, written from the generated classes by
``scripts/gen_async_apis.py``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Mapping
from typing import Any, Callable, Optional, Union

from kinde_sdk_generated.api_client import ApiClient
from kinde_sdk_generated.configuration import Configuration

from .._transport import USER_AGENT, Response, TimeoutArg
from ._api_client import OutgoingRequest, TransportApiClient, outgoing_request


class PendingCall:
    """One prepared operation: the request to send and the response types to parse."""

    __slots__ = ("request", "types")

    def __init__(self, request: OutgoingRequest) -> None:
        self.request = request
        self.types: dict[str, Optional[str]] = {}

    # The generated method calls ``response_data.read()`` before deserializing.
    def read(self) -> None:
        return None


class _WithInfo:
    """What ``response_deserialize`` hands back: ``.data`` is what the plain operation
    returns, the object itself is what ``*_with_http_info`` returns."""

    __slots__ = ("data",)

    def __init__(self, pending: PendingCall) -> None:
        self.data = pending


class PreparingApiClient(TransportApiClient):
    """The sync client's ApiClient with the sending taken out: it prepares requests and
    sends nothing (safe on any event loop).

    It inherits the sync client's request building (``param_serialize``: its short path
    for scalar parameters, its cached Accept choice), so both clients send identical
    requests; the three methods that would send or read a response are replaced.
    """

    def __init__(self, origin: str, *, strict_responses: bool = False) -> None:
        # No transport and no tokens: everything that would use them is overridden.
        ApiClient.__init__(self, Configuration(host=origin))
        self.strict_responses = strict_responses
        # The generated client would send its own User-Agent over the transport's.
        self.user_agent = USER_AGENT

    def __repr__(self) -> str:
        return f"PreparingApiClient(origin={self.configuration.host!r})"

    def call_api(  # type: ignore[override]
        self,
        method: str,
        url: str,
        header_params: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        post_params: Optional[list[tuple[str, Any]]] = None,
        _request_timeout: TimeoutArg = None,
    ) -> PendingCall:
        return PendingCall(
            outgoing_request(method, url, header_params, body, post_params, _request_timeout)
        )

    def response_deserialize(  # type: ignore[override]
        self,
        response_data: PendingCall,
        response_types_map: Optional[dict[str, Optional[str]]] = None,
    ) -> _WithInfo:
        response_data.types = dict(response_types_map or {})
        return _WithInfo(response_data)

    def kinde_response_data(  # type: ignore[override]
        self,
        response_data: PendingCall,
        response_types_map: Optional[dict[str, Optional[str]]] = None,
    ) -> PendingCall:
        # What the generated data-only methods return: here, the prepared call.
        response_data.types = dict(response_types_map or {})
        return response_data


Send = Callable[[OutgoingRequest], Awaitable[Response]]


class AsyncApi:
    """The async face of one generated API instance: ``await api.<operation>(...)``.

    Attributes resolve on first use to an async function with the generated method's
    signature (``inspect.signature`` shows it), then are cached on the instance.
    """

    def __init__(self, api: Any, preparer: PreparingApiClient, send: Send) -> None:
        self._api = api
        self._preparer = preparer
        self._send = send

    def __repr__(self) -> str:
        return f"Async{type(self._api).__name__}()"

    def __dir__(self) -> list[str]:
        return sorted(
            name
            for name in dir(self._api)
            if not name.startswith("_") and not name.endswith("_without_preload_content")
        )

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        if name.startswith("_") or name.endswith("_without_preload_content"):
            raise AttributeError(name)
        method = getattr(self._api, name, None)
        if method is None or not callable(method):
            raise AttributeError(f"{type(self._api).__name__} has no operation {name!r}")
        call = self._operation(name, method)
        self.__dict__[name] = call
        return call

    def _operation(
        self, name: str, method: Callable[..., Union[PendingCall, _WithInfo]]
    ) -> Callable[..., Awaitable[Any]]:
        preparer, send = self._preparer, self._send

        async def operation(*args: Any, **kwargs: Any) -> Any:
            prepared = method(*args, **kwargs)  # validation + serialization, no I/O
            with_info = isinstance(prepared, _WithInfo)
            pending = prepared.data if isinstance(prepared, _WithInfo) else prepared
            response = await send(pending.request)
            return preparer.typed_result(
                response.status, response.headers, response.data, pending.types, with_info=with_info
            )

        operation.__name__ = operation.__qualname__ = name
        operation.__doc__ = method.__doc__
        operation.__signature__ = inspect.signature(method)  # type: ignore[attr-defined]
        return operation
