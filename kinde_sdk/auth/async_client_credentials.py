"""Machine-to-machine access tokens with ``await``: :class:`AsyncClientCredentials`.

The async twin of :class:`~kinde_sdk.auth.ClientCredentials`: the same constructor,
settings, environment variables and errors, over
:class:`~kinde_sdk._async_transport.AsyncTransport` (``pip install "kinde-sdk[async]"``)
and the same token cache: sync and async clients with the same credentials share one
token, and 100 tasks on a cold cache make one token request.

It may be used from several event loops (tests, threads running their own loops): unless
a ``transport`` is given, each loop gets its own transport and lock, created on first use
there, so no asyncio object ever crosses loops.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import TYPE_CHECKING, Optional

from .._async_token_cache import AsyncClientCredentialsTokenProvider
from .._token_cache import DEFAULT_REFRESH_MARGIN
from .._token_store import TokenStore
from ..errors import KindeConnectionError
from .client_credentials import CredentialsSettings, token_url_from_discovery

if TYPE_CHECKING:
    from .._async_transport import AsyncTransport

__all__ = ["AsyncClientCredentials"]


class _LoopState:
    """What one event loop uses: its transport, its lock, its provider."""

    def __init__(self, transport: AsyncTransport, owned: bool) -> None:
        self.transport = transport
        self.owned = owned
        self.lock = asyncio.Lock()
        self.provider: Optional[AsyncClientCredentialsTokenProvider] = None


class AsyncClientCredentials(CredentialsSettings):
    """Access tokens from the OAuth 2.0 client-credentials grant, cached, with ``await``.

    Settings as :class:`~kinde_sdk.auth.ClientCredentials`. ``await
    get_access_token()`` raises :class:`~kinde_sdk.errors.TokenError` when the token
    endpoint refuses the credentials or cannot be reached. Close with ``await
    aclose()`` or ``async with``.
    """

    def __init__(
        self,
        domain: Optional[str] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        audience: Optional[str] = None,
        *,
        token_url: Optional[str] = None,
        transport: Optional[AsyncTransport] = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        token_store: Optional[TokenStore] = None,
    ) -> None:
        super().__init__(
            domain,
            client_id,
            client_secret,
            audience,
            token_url=token_url,
            refresh_margin=refresh_margin,
            token_store=token_store,
        )
        self._given_transport = transport
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        self._loops_lock = threading.Lock()

    @property
    def token_url(self) -> Optional[str]:
        """The token endpoint: as given, or as discovered by the first token request
        (None before it)."""
        return self._token_url

    def _here(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        with self._loops_lock:
            state = self._loops.get(loop)
            if state is None:
                # A state holds objects bound to its loop (and so the loop itself): forget
                # the states of finished loops, e.g. one asyncio.run() per job.
                for finished in [old for old in self._loops if old.is_closed()]:
                    del self._loops[finished]
                if self._given_transport is not None:
                    state = _LoopState(self._given_transport, owned=False)
                else:
                    from .._async_transport import AsyncTransport

                    state = _LoopState(AsyncTransport(), owned=True)
                self._loops[loop] = state
            return state

    async def _tokens(self) -> AsyncClientCredentialsTokenProvider:
        state = self._here()
        provider = state.provider
        if provider is not None:
            return provider
        async with state.lock:
            if state.provider is None:
                url = self._token_url or await self._discover_token_url(state.transport)
                # Kept for every loop: one discovery per client, not one per loop.
                self._token_url = url
                state.provider = AsyncClientCredentialsTokenProvider(
                    token_url=url,
                    client_id=self.client_id,
                    client_secret=self._client_secret,
                    audience=self.audience,
                    transport=state.transport,
                    refresh_margin=self._refresh_margin,
                    token_store=self._token_store,
                )
            return state.provider

    async def _discover_token_url(self, transport: AsyncTransport) -> str:
        try:
            response = await transport.request(
                "GET",
                self._discovery_url(),
                headers={"Accept": "application/json"},
                kind="discovery",
            )
        except KindeConnectionError as exc:
            raise self._discovery_failed(exc) from exc
        assert self.domain is not None
        return token_url_from_discovery(self.domain, response)

    async def get_access_token(self) -> str:
        """A valid access token: the cached one, or one fetched now (single-flight)."""
        return await (await self._tokens()).token()

    async def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for a request to your API."""
        return {"Authorization": f"Bearer {await self.get_access_token()}"}

    async def invalidate(self, rejected_token: str) -> None:
        """Forget ``rejected_token`` (your API answered 401 to it): the next call fetches
        a new one. Other tokens are kept, so many failed requests cause one fetch."""
        await (await self._tokens()).invalidate(rejected_token)

    async def aclose(self) -> None:
        """Close the transport this client created for the running loop."""
        loop = asyncio.get_running_loop()
        with self._loops_lock:
            state = self._loops.pop(loop, None)
        if state is not None and state.owned:
            await state.transport.aclose()

    async def __aenter__(self) -> AsyncClientCredentials:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
