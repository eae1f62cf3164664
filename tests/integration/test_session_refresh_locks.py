"""The per-session refresh locks of OAuth and AsyncOAuth live while a refresh uses them,
not for the life of the client: a server whose sessions end without a logout (most of
them: the browser is closed) kept one lock per session that ever refreshed, forever."""

from __future__ import annotations

import asyncio
import gc
from urllib.parse import parse_qsl, urlsplit

from kinde_sdk.auth import AsyncOAuth, OAuth
from kinde_sdk.testing import FakeKinde
from tests.integration.test_account_fake import oauth_for

SESSIONS = 5


def test_sync_sessions_leave_no_refresh_lock_behind(fake_kinde: FakeKinde) -> None:
    oauth: OAuth = oauth_for(fake_kinde)
    for n in range(SESSIONS):
        with oauth.bind_session(f"s-{n}"):
            fake_kinde.login(oauth, sub=f"kp_{n}")
            oauth.refresh_tokens()
    before = fake_kinde.token_requests
    with oauth.bind_session("s-0"):
        oauth.refresh_tokens()  # a lock is still made when a refresh needs one
        assert oauth.get_access_token()
    assert fake_kinde.token_requests - before == 1
    gc.collect()
    assert len(oauth._refresh_locks) == 0  # was: one per session, forever


def test_async_sessions_leave_no_refresh_lock_behind(fake_kinde: FakeKinde) -> None:
    async def main() -> None:
        oauth: AsyncOAuth = oauth_for(fake_kinde, AsyncOAuth)
        for n in range(SESSIONS):
            with oauth.bind_session(f"s-{n}"):
                callback = fake_kinde.authorize(await oauth.login(), sub=f"kp_{n}")
                query = dict(parse_qsl(urlsplit(callback).query))
                await oauth.handle_redirect(query["code"], query["state"])
                await oauth.refresh_tokens()
        gc.collect()
        assert len(oauth._refresh_locks) == 0
        await oauth.aclose()

    asyncio.run(main())
