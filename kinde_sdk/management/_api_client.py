"""The bridge between the generated client and the SDK's transport and token cache.

The generated API classes build requests through ``ApiClient.param_serialize`` and send
them through ``ApiClient.call_api``. This subclass overrides only ``call_api``: requests go
through the shared :class:`~kinde_sdk._transport.Transport` (timeouts, retries, request
ids), carry the cached M2M token (one fresh token and one replay on a 401), and error
statuses become :mod:`kinde_sdk.errors` types here, so no generated ``ApiException``
ever reaches a caller. Successful bodies are parsed by
:func:`~kinde_sdk.management._responses.parse_response` (strict fast path, lenient
fallback unless ``strict_responses``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Optional, Union

from kinde_sdk_generated.api_client import ApiClient
from kinde_sdk_generated.api_response import ApiResponse
from kinde_sdk_generated.configuration import Configuration
from kinde_sdk_generated.rest import RESTResponse

from .._token_cache import ClientCredentialsTokenProvider
from .._transport import USER_AGENT, Response, TimeoutArg, Transport
from ..errors import api_error_from_response
from ._responses import parse_response


class TransportApiClient(ApiClient):
    def __init__(
        self,
        *,
        origin: str,
        transport: Transport,
        tokens: ClientCredentialsTokenProvider,
        strict_responses: bool = False,
    ) -> None:
        super().__init__(Configuration(host=origin))
        self.strict_responses = strict_responses
        # The generated client would send its own User-Agent over the transport's.
        self.user_agent = USER_AGENT
        self._transport = transport
        self._tokens = tokens

    def __repr__(self) -> str:
        return f"TransportApiClient(origin={self.configuration.host!r})"

    def call_api(
        self,
        method: str,
        url: str,
        header_params: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        post_params: Optional[list[tuple[str, Any]]] = None,
        _request_timeout: TimeoutArg = None,
    ) -> RESTResponse:
        headers = {k: str(v) for k, v in (header_params or {}).items()}
        # The M2M token is the only credential this client sends: an Authorization
        # header passed in (say, an end user's bearer token) never replaces it.
        for name in [k for k in headers if k.lower() == "authorization"]:
            del headers[name]
        payload, fields, multipart = _encode_body(headers, body, post_params)

        def send(token: str) -> Response:
            return self._transport.request(
                method,
                url,
                headers={**headers, "Authorization": f"Bearer {token}"},
                body=payload,
                fields=fields,
                encode_multipart=multipart,
                timeout=_request_timeout,
            )

        token = self._tokens.token()
        response = send(token)
        if response.status == 401:
            # The token may have been revoked or rotated: one fresh token, one replay.
            self._tokens.invalidate(token)
            response = send(self._tokens.token())
        if not 200 <= response.status <= 299:
            # Redirects included: the generated client would raise its own ApiException.
            raise api_error_from_response(
                response.status,
                response.data,
                response.headers,
                request_id=response.request_id,
                method=method,
                url=url.split("?", 1)[0],
                retry_after=response.retry_after,
            )
        return RESTResponse(response.raw)

    def response_deserialize(
        self,
        response_data: RESTResponse,
        response_types_map: Optional[dict[str, Any]] = None,
    ) -> ApiResponse[Any]:
        # call_api has already raised for every status outside 2xx.
        body: bytes = response_data.data or b""
        headers = response_data.headers
        data = parse_response(
            body,
            response_data.status,
            response_types_map,
            strict=self.strict_responses,
            content_type=headers.get("content-type"),
        )
        return ApiResponse(
            status_code=response_data.status, data=data, headers=headers, raw_data=body
        )


def _encode_body(
    headers: dict[str, str],
    body: Any,
    post_params: Optional[list[tuple[str, Any]]],
) -> tuple[Optional[bytes], Optional[list[tuple[str, Any]]], bool]:
    """Return (raw body, form fields, multipart?) the way the spec's content type says."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if post_params:
        multipart = content_type.startswith("multipart/")
        if multipart:
            # urllib3 writes the multipart Content-Type with its boundary.
            for name in [k for k in headers if k.lower() == "content-type"]:
                del headers[name]
        fields = [(k, json.dumps(v) if isinstance(v, dict) else v) for k, v in post_params]
        return None, fields, multipart
    if body is None:
        return None, None, False
    raw: Union[str, bytes]
    if isinstance(body, (bytes, str)) and "json" not in content_type:
        raw = body
    else:
        raw = json.dumps(body, separators=(",", ":"))
        if not content_type:
            headers["Content-Type"] = "application/json"
    return (raw.encode("utf-8") if isinstance(raw, str) else raw), None, False
