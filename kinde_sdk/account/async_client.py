"""``AsyncAccountClient``: the Kinde Account API for the signed-in user, awaited.

The twin of :class:`~kinde_sdk.account.AccountClient`: same arguments, results and
errors; requests and answers are :mod:`._core`'s, sent over
:class:`~kinde_sdk._async_transport.AsyncTransport` (no extra dependency).
Nothing here blocks the event loop: with an
:class:`~kinde_sdk.auth.AsyncOAuth` session the token is awaited; with a (blocking)
:class:`~kinde_sdk.auth.OAuth` session, as the framework integrations use, the token is
read in a worker thread that sees the current request's session (``asyncio.to_thread``
copies the context).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Generator
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from .._transport import Response, TimeoutArg
from . import _models as m
from ._core import TOKEN, Call, Effect, Flow, Refresh, Renew, RenewalLocks, Send
from .client import AccountSettings, no_token, refresh_session, request_args

if TYPE_CHECKING:
    from .._async_transport import AsyncTransport
    from ..auth.async_oauth import AsyncOAuth
    from ..auth.oauth import OAuth

__all__ = ["AsyncAccountClient"]

AsyncTokenSource = Union[str, Callable[[], Union[Optional[str], Awaitable[Optional[str]]]]]


class AsyncAccountClient(AccountSettings):
    """The Kinde Account API, awaited; see :class:`~kinde_sdk.account.AccountClient`.

    ``oauth`` is an :class:`~kinde_sdk.auth.AsyncOAuth` or an
    :class:`~kinde_sdk.auth.OAuth`; ``access_token`` a string or a callable (plain or
    async) returning one. Without ``transport`` the client uses the AsyncOAuth's, or
    makes its own (closed by :meth:`aclose`).
    """

    def __init__(
        self,
        access_token: Optional[AsyncTokenSource] = None,
        *,
        oauth: Union[AsyncOAuth, OAuth, None] = None,
        domain: Optional[str] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        transport: Optional[AsyncTransport] = None,
        timeout: TimeoutArg = None,
        strict_responses: bool = False,
    ) -> None:
        from .._async_transport import AsyncTransport
        from ..auth.async_oauth import AsyncOAuth
        from ..auth.oauth import OAuth

        super().__init__(
            access_token=access_token,
            oauth_types=(AsyncOAuth, OAuth),
            oauth=oauth,
            domain=domain,
            client_id=client_id,
            client_secret=client_secret,
            strict_responses=strict_responses,
        )
        self._oauth = oauth
        self._source = access_token
        if transport is None and isinstance(oauth, AsyncOAuth):
            transport = oauth._transport
        self._owns_transport = transport is None
        self._transport = transport if transport is not None else AsyncTransport()
        self._timeout = timeout
        # A fixed token has nothing to refresh: its 401 is raised at once.
        self._renewable = not isinstance(access_token, str)
        # One asyncio.Lock per rejected token, made when a 401 needs it (inside the
        # running loop) and dropped after.
        self._renewals: RenewalLocks[asyncio.Lock] = RenewalLocks(asyncio.Lock)

    async def aclose(self) -> None:
        """Close the transport the client made for itself (not one it was given)."""
        if self._owns_transport:
            await self._transport.aclose()

    async def __aenter__(self) -> AsyncAccountClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def access_token(self) -> str:
        """The token the next call sends (refreshed through the OAuth session when due)."""
        from ..auth.async_oauth import AsyncOAuth

        oauth = self._oauth
        token: Any
        if isinstance(oauth, AsyncOAuth):
            token = await oauth.get_access_token()
        elif oauth is not None:
            token = await asyncio.to_thread(oauth.get_access_token)
        elif isinstance(self._source, str):
            token = self._source
        else:
            assert self._source is not None
            token = self._source()
            if inspect.isawaitable(token):
                token = await token
        if not token:
            raise no_token()
        return str(token)

    async def _send(self, call: Call) -> Response:
        response: Response = await self._drive(self._core.exchange(call, renewable=self._renewable))
        return response

    async def _drive(self, flow: Generator[Any, Any, Any]) -> Any:
        """:func:`._core.drive` with ``await``: the same flows, performed here."""
        try:
            step = next(flow)
            while True:
                step = flow.send(await self._perform(step))
        except StopIteration as done:
            return done.value

    async def _perform(self, step: Union[Call, Effect]) -> Any:
        if isinstance(step, Call):
            return await self._send(step)
        if isinstance(step, Send):
            args = request_args(step.call, step.token)
            return await self._transport.request(
                step.call.method, step.call.url(self.origin), timeout=self._timeout, **args
            )
        if step is TOKEN:
            return await self.access_token()
        if isinstance(step, Renew):
            with self._renewals.lock_for(step.rejected) as lock:
                async with lock:
                    return await self._drive(self._core.renew(step.rejected))
        if isinstance(step, Refresh):
            await self._refresh(step.rejected)
            return None
        raise AssertionError(f"unknown step {step!r}")

    async def _refresh(self, rejected: str) -> None:
        from ..auth.async_oauth import AsyncOAuth

        oauth = self._oauth
        if isinstance(oauth, AsyncOAuth):
            tokens = oauth.get_tokens()
            if tokens is not None and tokens.get("refresh_token"):
                await oauth.refresh_tokens()
        elif oauth is not None:
            await asyncio.to_thread(refresh_session, oauth, rejected)

    async def _run(self, flow: Flow[Any]) -> Any:
        return await self._drive(flow)

    # --- the operations ------------------------------------------------------------

    async def get_entitlements(self, *, page_size: Optional[int] = None) -> m.Entitlements:
        """Every entitlement of the user, all pages (``starting_after``/``has_more``)."""
        result: m.Entitlements = await self._run(self._core.entitlements(page_size))
        return result

    async def get_entitlement(self, key: str) -> Optional[m.Entitlement]:
        """The entitlement for feature ``key``; None when the API says the user has none."""
        result: Optional[m.Entitlement] = await self._run(self._core.entitlement(key))
        return result

    async def get_feature_flags(self, *, page_size: Optional[int] = None) -> m.FeatureFlags:
        result: m.FeatureFlags = await self._run(self._core.feature_flags(page_size))
        return result

    async def get_permissions(self, *, page_size: Optional[int] = None) -> m.Permissions:
        result: m.Permissions = await self._run(self._core.permissions(page_size))
        return result

    async def get_roles(self, *, page_size: Optional[int] = None) -> m.Roles:
        result: m.Roles = await self._run(self._core.roles(page_size))
        return result

    async def get_properties(self, *, page_size: Optional[int] = None) -> m.Properties:
        result: m.Properties = await self._run(self._core.properties(page_size))
        return result

    async def get_portal_link(
        self, *, subnav: Optional[str] = None, return_url: Optional[str] = None
    ) -> m.PortalLink:
        result: m.PortalLink = await self._run(self._core.portal_link(subnav, return_url))
        return result

    async def get_user_profile(self) -> m.UserProfile:
        result: m.UserProfile = await self._run(self._core.user_profile())
        return result

    async def introspect(
        self, token: Optional[str] = None, *, token_type_hint: Optional[str] = None
    ) -> m.TokenIntrospection:
        target = token if token is not None else await self.access_token()
        result: m.TokenIntrospection = await self._run(
            self._core.introspect(target, token_type_hint)
        )
        return result

    async def revoke(
        self, token: Optional[str] = None, *, token_type_hint: Optional[str] = None
    ) -> None:
        if token is None:
            token, token_type_hint = await self.access_token(), token_type_hint or "access_token"
        await self._run(self._revoke_flow(token, token_type_hint))
