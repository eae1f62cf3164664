"""The bridge between the generated client and the SDK's transport and token cache.

The generated API classes build requests through ``ApiClient.param_serialize`` and send
them through ``ApiClient.call_api``. This subclass overrides ``call_api``: requests go
through the shared :class:`~kinde_sdk._transport.Transport` (timeouts, retries, request
ids), carry the cached M2M token (one fresh token and one replay on a 401), and error
statuses become :mod:`kinde_sdk.errors` types here, so no generated ``ApiException``
ever reaches a caller. Successful bodies are parsed by
:func:`~kinde_sdk.management._responses.parse_response` (strict fast path, lenient
fallback unless ``strict_responses``). ``param_serialize`` takes a short path for the
common request (scalar path and query parameters, no body), the generated one otherwise.

The request building (``param_serialize``, :func:`outgoing_request`), the status check
(:func:`raise_for_status`) and the parse have no I/O: the async client
(:mod:`kinde_sdk.management._async_api`) uses them too and only awaits the send.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional, Union
from urllib.parse import quote

from kinde_sdk_generated.api_client import ApiClient, RequestSerialized
from kinde_sdk_generated.api_response import ApiResponse
from kinde_sdk_generated.configuration import Configuration
from kinde_sdk_generated.rest import RESTResponse

from .._token_cache import ClientCredentialsTokenProvider
from .._transport import USER_AGENT, Response, TimeoutArg, Transport
from ..errors import api_error_from_response
from ._responses import parse_response


class OutgoingRequest(NamedTuple):
    """An API request as the transport takes it, without its credential. (A tuple: one
    is made per call, and a tuple is the cheapest immutable record to make.)"""

    method: str
    url: str
    headers: dict[str, str]
    body: Optional[bytes]
    fields: Optional[list[tuple[str, Any]]]
    multipart: bool
    timeout: TimeoutArg

    def send_kwargs(self, token: str) -> dict[str, Any]:
        """Keyword arguments of ``Transport.request``/``AsyncTransport.request``."""
        return {
            "headers": {**self.headers, "Authorization": f"Bearer {token}"},
            "body": self.body,
            "fields": self.fields,
            "encode_multipart": self.multipart,
            "timeout": self.timeout,
        }


def outgoing_request(
    method: str,
    url: str,
    header_params: Optional[Mapping[str, Any]],
    body: Any,
    post_params: Optional[list[tuple[str, Any]]],
    timeout: TimeoutArg,
) -> OutgoingRequest:
    """The request the generated ``param_serialize`` described, ready to send (no I/O)."""
    headers: dict[str, str] = {}
    for name, value in (header_params or {}).items():
        # The M2M token is the only credential this client sends: an Authorization
        # header passed in (say, an end user's bearer token) never replaces it. (The
        # length first: most names are not 13 characters long.)
        if len(name) == 13 and name.lower() == "authorization":
            continue
        headers[name] = value if type(value) is str else str(value)
    if body is None and not post_params:  # the usual call: nothing to encode
        return OutgoingRequest(method, url, headers, None, None, False, timeout)
    payload, fields, multipart = _encode_body(headers, body, post_params)
    return OutgoingRequest(method, url, headers, payload, fields, multipart, timeout)


def raise_for_status(request: OutgoingRequest, response: Response) -> None:
    """Error statuses become :mod:`kinde_sdk.errors` types (redirects included: the
    generated client would raise its own ApiException)."""
    if not 200 <= response.status <= 299:
        raise api_error_from_response(
            response.status,
            response.data,
            response.headers,
            request_id=response.request_id,
            method=request.method,
            url=request.url.split("?", 1)[0],
            retry_after=response.retry_after,
        )


class TransportRESTResponse(RESTResponse):
    """A transport :class:`~kinde_sdk._transport.Response` (already read)
    in the shape the generated deserializer reads."""

    def __init__(self, response: Response) -> None:
        self._response = response
        self.status = response.status
        self.reason = ""
        self._body = response.data
        self._headers = response.headers
        self.data = response.data  # type: ignore[assignment]  # declared None until read

    @property
    def response(self) -> Any:
        # The urllib3 response, copied only for a caller that reads it.
        return self._response.raw

    def read(self) -> bytes:
        return self._body

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers


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

    def param_serialize(
        self,
        method: str,
        resource_path: str,
        path_params: Optional[dict[str, Any]] = None,
        query_params: Optional[list[tuple[str, Any]]] = None,
        header_params: Optional[dict[str, Any]] = None,
        body: Any = None,
        post_params: Optional[list[tuple[str, Any]]] = None,
        files: Optional[dict[str, Any]] = None,
        auth_settings: Optional[list[str]] = None,
        collection_formats: Optional[dict[str, str]] = None,
        _host: Optional[str] = None,
        _request_auth: Optional[dict[str, Any]] = None,
    ) -> RequestSerialized:
        # The generated builder walks every value through sanitize_for_serialization and
        # applies the spec's auth settings; for scalar parameters and no body that comes
        # down to quoting them, and call_api sets the only credential sent. Anything
        # else takes the generated path.
        lean = (
            body is None
            and not post_params
            and not files
            and not collection_formats
            and _host is None
            and not self.cookie
        )
        url = (
            _lean_url(self.configuration, resource_path, path_params, query_params)
            if lean
            else None
        )
        if url is None:
            return super().param_serialize(
                method,
                resource_path,
                path_params=path_params,
                query_params=query_params,
                header_params=header_params,
                body=body,
                post_params=post_params,
                files=files,
                auth_settings=auth_settings,
                collection_formats=collection_formats,
                _host=_host,
                _request_auth=_request_auth,
            )
        headers = dict(header_params or {})
        headers.update(self.default_headers)
        return method, url, headers, None, post_params or []  # type: ignore[return-value]

    def select_header_accept(self, accepts: list[str]) -> Optional[str]:
        key = tuple(accepts)
        found = _ACCEPT_CACHE.get(key, _MISSING)
        if found is _MISSING:
            found = super().select_header_accept(accepts)
            _ACCEPT_CACHE[key] = found
        return found  # type: ignore[return-value]

    def call_api(
        self,
        method: str,
        url: str,
        header_params: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        post_params: Optional[list[tuple[str, Any]]] = None,
        _request_timeout: TimeoutArg = None,
    ) -> RESTResponse:
        request = outgoing_request(method, url, header_params, body, post_params, _request_timeout)
        transport = self._transport

        def send(token: str) -> Response:
            return transport.request(method, url, **request.send_kwargs(token))

        # On a 401: one fresh token, one replay (the token may have been revoked).
        response = self._tokens.send_with_token(send)
        raise_for_status(request, response)
        return TransportRESTResponse(response)

    def kinde_response_data(
        self, response_data: RESTResponse, response_types_map: Optional[dict[str, Any]] = None
    ) -> Any:
        """The typed data of a 2xx response (call_api raised for the rest), parsed from
        the bytes without the ApiResponse wrapper the generated path builds."""
        body: bytes = response_data.read()  # type: ignore[no-untyped-call]
        return self.typed_result(
            response_data.status, response_data.headers, body, response_types_map
        )

    def response_deserialize(
        self,
        response_data: RESTResponse,
        response_types_map: Optional[dict[str, Any]] = None,
    ) -> ApiResponse[Any]:
        # call_api has already raised for every status outside 2xx.
        body: bytes = response_data.data or b""
        result: ApiResponse[Any] = self.typed_result(
            response_data.status, response_data.headers, body, response_types_map, with_info=True
        )
        return result

    def typed_result(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        response_types_map: Optional[Mapping[str, Optional[str]]],
        *,
        with_info: bool = False,
    ) -> Any:
        """The typed result of a 2xx response, for the sync and the async client: the
        data, or (``with_info``) the generated ``ApiResponse`` around it."""
        # The content type matters only for a text result; skip the header lookup else.
        text = response_types_map is not None and "str" in response_types_map.values()
        data = parse_response(
            body,
            status,
            response_types_map,
            strict=self.strict_responses,
            content_type=headers.get("content-type") if text else None,
        )
        if not with_info:
            return data
        return ApiResponse(status_code=status, data=data, headers=headers, raw_data=body)


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


_MISSING = object()
_ACCEPT_CACHE: dict[tuple[str, ...], Optional[str]] = {}


def _quoted(value: Any) -> Optional[str]:
    """A scalar parameter as the generated builder writes it; None for anything else."""
    kind = type(value)
    if kind is str:
        return quote(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    return None


def _lean_url(
    config: Any,
    resource_path: str,
    path_params: Optional[dict[str, Any]],
    query_params: Optional[list[tuple[str, Any]]],
) -> Optional[str]:
    """The request URL for scalar parameters, as ``ApiClient.param_serialize`` builds it;
    None when a parameter is not a plain scalar."""
    if path_params:
        for name, value in path_params.items():
            if type(value) not in (str, int):
                return None
            resource_path = resource_path.replace(
                "{" + name + "}", quote(str(value), safe=config.safe_chars_for_path_param)
            )
    url: str = config.host + resource_path
    if query_params:
        parts = []
        for name, value in query_params:
            text = _quoted(value)
            if text is None:
                return None
            key = _quoted_names.get(name)
            if key is None:
                key = _quoted_names[name] = quote(name)  # the spec's few names, once each
            parts.append(key + "=" + text)
        url += "?" + "&".join(parts)
    return url


_quoted_names: dict[str, str] = {}
