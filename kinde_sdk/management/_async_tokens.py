"""A stand-in async M2M token source until the shared async token provider lands.

TEMPORARY: replaced by the async client-credentials provider of ``_token_cache.py``
(issue 12, "[async-token-provider]"); AsyncManagementClient only needs ``await
token()`` and ``invalidate(token)``. One cached token per client, one request at a
time (the lock is created on the loop that first needs it: the client, like its httpx
pool, belongs to one event loop).
"""

from __future__ import annotations

import asyncio
import time
from typing import Optional

from .._async_transport import AsyncTransport
from .._token_cache import parse_token_response
from ..errors import KindeConnectionError, TokenError


class AsyncTokenSource:
    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        audience: Optional[str],
        transport: AsyncTransport,
        refresh_margin: float,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.audience = audience
        self._client_secret = client_secret
        self._transport = transport
        self._refresh_margin = refresh_margin
        self._value: Optional[str] = None
        self._refresh_at = 0.0
        self._lock: Optional[asyncio.Lock] = None

    def __repr__(self) -> str:
        return f"AsyncTokenSource(token_url={self.token_url!r}, client_id={self.client_id!r})"

    async def token(self) -> str:
        if self._value is not None and time.monotonic() < self._refresh_at:
            return self._value
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._value is not None and time.monotonic() < self._refresh_at:
                return self._value
            sent_at = time.monotonic()
            fields = [
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id),
                ("client_secret", self._client_secret),
            ]
            if self.audience:
                fields.append(("audience", self.audience))
            try:
                response = await self._transport.request(
                    "POST", self.token_url, fields=fields, headers={"Accept": "application/json"}
                )
            except KindeConnectionError as exc:
                raise TokenError(f"the token endpoint could not be reached: {exc}") from exc
            value, lifetime = parse_token_response(response)
            self._value = value
            self._refresh_at = sent_at + lifetime - min(self._refresh_margin, lifetime / 2)
            return value

    def invalidate(self, rejected_token: str) -> None:
        if self._value == rejected_token:
            self._value = None
            self._refresh_at = 0.0
