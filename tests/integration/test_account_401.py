"""The Account API's answer to a 401 (an expired or revoked access token), sync and
async, over real HTTP:

* from an OAuth session (FakeKinde's real token endpoint): one refresh, one replay; 20
  concurrent calls that all got a 401 with the same token cause ONE refresh;
* from a callable: it is asked once more (once for all of them), and the call replayed
  with the new token;
* a second 401 is raised as AuthenticationError (one refresh, no loop);
* a fixed token string has nothing to refresh: AuthenticationError at once.

The Account API here is a loopback server of the test's own (Prism cannot tell one
token from another): 401 for a stale token, the spec's user profile for any other. It
holds its 401s until every concurrent call has one, so that they all really got it.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, urlsplit

import pytest

from kinde_sdk._async_transport import AsyncTransport
from kinde_sdk._retry import RetryPolicy
from kinde_sdk._transport import Transport
from kinde_sdk.account import AccountClient, AsyncAccountClient
from kinde_sdk.auth import AsyncOAuth, OAuth
from kinde_sdk.errors import AuthenticationError
from kinde_sdk.testing import FakeKinde
from tests.integration.test_account_fake import oauth_for

CALLERS = 20
PROFILE = {"id": "kp_ann", "sub": "kp_ann", "email": "ann@example.com", "email_verified": True}
NO_RETRY = RetryPolicy(max_retries=0)


class _Handler(BaseHTTPRequestHandler):
    server: StaleTokenAPI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        api = self.server
        token = (self.headers.get("Authorization") or "")[len("Bearer ") :]
        with api.cond:
            api.seen.append(token)
            stale = api.all_stale or token in api.stale
            if stale:
                api.rejected += 1
                api.cond.notify_all()
                if api.rejected == api.hold_until and api.on_all_rejected is not None:
                    api.on_all_rejected()
                # Hold the 401 until every concurrent caller has one (bounded, so a
                # broken client fails the test instead of hanging it).
                api.cond.wait_for(lambda: api.rejected >= api.hold_until, timeout=30)
        if stale:
            status, body = 401, {"errors": [{"code": "UNAUTHORIZED", "message": "expired"}]}
        else:
            status, body = 200, PROFILE
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class StaleTokenAPI(ThreadingHTTPServer):
    """401 for the tokens in ``stale`` (every token with ``all_stale``), else 200."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.cond = threading.Condition()
        self.stale: set[str] = set()
        self.all_stale = False
        self.hold_until = 1
        self.on_all_rejected: Optional[Callable[[], None]] = None
        self.rejected = 0
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def count(self, token: str) -> int:
        with self.cond:
            return self.seen.count(token)


@pytest.fixture
def api() -> Iterator[StaleTokenAPI]:
    server = StaleTokenAPI()
    server._thread.start()
    yield server
    server.shutdown()
    server.server_close()


def signed_in(fake: FakeKinde) -> OAuth:
    oauth: OAuth = oauth_for(fake)
    fake.login(oauth, sub="kp_ann")
    return oauth


async def async_signed_in(fake: FakeKinde) -> AsyncOAuth:
    oauth: AsyncOAuth = oauth_for(fake, AsyncOAuth)
    callback = fake.authorize(await oauth.login(), sub="kp_ann")
    query = dict(parse_qsl(urlsplit(callback).query))
    await oauth.handle_redirect(query["code"], query["state"])
    return oauth


def stale_session(fake: FakeKinde, api: StaleTokenAPI, callers: int) -> tuple[OAuth, str]:
    """A signed-in session whose access token ``api`` now refuses (holding its 401s
    until ``callers`` calls have one)."""
    oauth = signed_in(fake)
    stale = oauth.get_access_token()
    assert stale is not None
    api.stale.add(stale)
    api.hold_until = callers
    return oauth, stale


def in_threads(call: Callable[[], Any], count: int = CALLERS) -> list[Any]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


# --- an OAuth session: one refresh for every call that got the 401 -----------------------


def test_sync_session_refreshes_once_for_concurrent_401s(
    fake_kinde: FakeKinde, api: StaleTokenAPI
) -> None:
    oauth, stale = stale_session(fake_kinde, api, CALLERS)
    transport = Transport(retry=NO_RETRY, pool_maxsize=CALLERS)
    client = AccountClient(oauth=oauth, domain=api.url, transport=transport)
    before = fake_kinde.token_requests

    profiles = in_threads(client.get_user_profile)

    assert [p.sub for p in profiles] == ["kp_ann"] * CALLERS
    assert fake_kinde.token_requests - before == 1  # ONE refresh for the 20 401s
    fresh = oauth.get_access_token()
    assert fresh is not None and fresh != stale
    assert api.count(stale) == CALLERS and api.count(fresh) == CALLERS  # each replayed once
    transport.close()


def test_async_session_refreshes_once_for_concurrent_401s(
    fake_kinde: FakeKinde, api: StaleTokenAPI
) -> None:
    async def main() -> None:
        oauth = await async_signed_in(fake_kinde)
        stale = await oauth.get_access_token()
        assert stale is not None
        api.stale.add(stale)
        api.hold_until = CALLERS
        before = fake_kinde.token_requests
        transport = AsyncTransport(retry=NO_RETRY, pool_maxsize=CALLERS)
        async with AsyncAccountClient(oauth=oauth, domain=api.url, transport=transport) as client:
            profiles = await asyncio.gather(*(client.get_user_profile() for _ in range(CALLERS)))
        await transport.aclose()
        assert [p.sub for p in profiles] == ["kp_ann"] * CALLERS
        assert fake_kinde.token_requests - before == 1
        fresh = await oauth.get_access_token()
        assert fresh is not None and fresh != stale
        assert api.count(stale) == CALLERS and api.count(fresh) == CALLERS
        await oauth.aclose()

    asyncio.run(main())


def test_async_client_refreshes_a_blocking_session_once(
    fake_kinde: FakeKinde, api: StaleTokenAPI
) -> None:
    # As FastAPI routes use it: an AsyncAccountClient over the framework's blocking OAuth.
    oauth, _ = stale_session(fake_kinde, api, 5)
    before = fake_kinde.token_requests

    async def main() -> list[Any]:
        async with AsyncAccountClient(
            oauth=oauth, domain=api.url, transport=AsyncTransport(retry=NO_RETRY)
        ) as client:
            try:
                return list(await asyncio.gather(*(client.get_user_profile() for _ in range(5))))
            finally:
                await client._transport.aclose()

    assert [p.sub for p in asyncio.run(main())] == ["kp_ann"] * 5
    assert fake_kinde.token_requests - before == 1


# --- a second 401, and a token that cannot be refreshed ---------------------------------


def test_a_second_401_is_raised_after_one_refresh(
    fake_kinde: FakeKinde, api: StaleTokenAPI
) -> None:
    api.all_stale = True  # the fresh token is refused too
    oauth = signed_in(fake_kinde)
    before = fake_kinde.token_requests
    client = AccountClient(oauth=oauth, domain=api.url, transport=Transport(retry=NO_RETRY))
    with pytest.raises(AuthenticationError) as caught:
        client.get_user_profile()
    assert caught.value.status == 401
    assert fake_kinde.token_requests - before == 1 and len(api.seen) == 2

    async def main() -> None:
        oauth = await async_signed_in(fake_kinde)
        first = fake_kinde.token_requests
        async with AsyncAccountClient(
            oauth=oauth, domain=api.url, transport=AsyncTransport(retry=NO_RETRY)
        ) as client:
            with pytest.raises(AuthenticationError):
                await client.get_user_profile()
            await client._transport.aclose()
        assert fake_kinde.token_requests - first == 1
        await oauth.aclose()

    api.seen.clear()
    asyncio.run(main())
    assert len(api.seen) == 2


def test_a_fixed_token_has_nothing_to_refresh(api: StaleTokenAPI) -> None:
    api.stale.add("a-fixed-token")
    client = AccountClient("a-fixed-token", domain=api.url, transport=Transport(retry=NO_RETRY))
    with pytest.raises(AuthenticationError):
        client.get_user_profile()
    assert api.seen == ["a-fixed-token"]  # raised at once, not replayed

    async def main() -> None:
        async with AsyncAccountClient(
            "a-fixed-token", domain=api.url, transport=AsyncTransport(retry=NO_RETRY)
        ) as client:
            with pytest.raises(AuthenticationError):
                await client.get_user_profile()
            await client._transport.aclose()

    asyncio.run(main())
    assert api.seen == ["a-fixed-token"] * 2


# --- a callable: asked once more, once for all ------------------------------------------


class Source:
    """A token callable whose token is rotated elsewhere while the calls are in flight."""

    def __init__(self) -> None:
        self.token = "stale-token"
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self) -> str:
        with self.lock:
            self.calls += 1
            return self.token

    def rotate(self) -> None:
        self.token = "fresh-token"


def test_a_callable_is_asked_once_more_for_concurrent_401s(api: StaleTokenAPI) -> None:
    source = Source()
    api.stale.add("stale-token")
    api.hold_until = CALLERS
    api.on_all_rejected = source.rotate
    transport = Transport(retry=NO_RETRY, pool_maxsize=CALLERS)
    client = AccountClient(source, domain=api.url, transport=transport)

    profiles = in_threads(client.get_user_profile)

    assert [p.sub for p in profiles] == ["kp_ann"] * CALLERS
    # One call per request, then ONE more for the 20 that got the 401.
    assert source.calls == CALLERS + 1
    assert api.count("stale-token") == CALLERS and api.count("fresh-token") == CALLERS
    transport.close()


def test_an_async_callable_is_asked_once_more_for_concurrent_401s(api: StaleTokenAPI) -> None:
    source = Source()
    api.stale.add("stale-token")
    api.hold_until = CALLERS
    api.on_all_rejected = source.rotate

    async def token() -> str:
        return source()

    async def main() -> list[Any]:
        transport = AsyncTransport(retry=NO_RETRY, pool_maxsize=CALLERS)
        async with AsyncAccountClient(token, domain=api.url, transport=transport) as client:
            try:
                return list(
                    await asyncio.gather(*(client.get_user_profile() for _ in range(CALLERS)))
                )
            finally:
                await transport.aclose()

    assert [p.sub for p in asyncio.run(main())] == ["kp_ann"] * CALLERS
    assert source.calls == CALLERS + 1
    assert api.count("fresh-token") == CALLERS


def test_a_callable_that_gives_the_same_token_again_raises(api: StaleTokenAPI) -> None:
    api.stale.add("stale-token")
    client = AccountClient(
        lambda: "stale-token", domain=api.url, transport=Transport(retry=NO_RETRY)
    )
    with pytest.raises(AuthenticationError):
        client.get_user_profile()
    assert api.seen == ["stale-token"]  # nothing new to replay with


# --- a client shared by many users: one user's renewal is not another's ----------------
# ``oauth.account`` and FastAPI's dependency serve every user with one client; the user
# is the request's (a context variable here, as the frameworks bind the session).

USER: contextvars.ContextVar[str] = contextvars.ContextVar("USER")


class PerUserSource:
    """Each user's token: ``<user>-old`` first, then ``<user>-new``. Ann's renewal is
    held (as a slow refresh would be) until the test lets it finish."""

    def __init__(self) -> None:
        self.asked = {"ann": 0, "bob": 0}
        self.ann_renewing = threading.Event()
        self.ann_may_finish = threading.Event()

    def __call__(self) -> str:
        who = USER.get()
        self.asked[who] += 1
        if self.asked[who] == 1:
            return f"{who}-old"
        if who == "ann":
            self.ann_renewing.set()
            assert self.ann_may_finish.wait(30)
        return f"{who}-new"


def test_one_user_s_renewal_does_not_hold_up_another_user_s(api: StaleTokenAPI) -> None:
    source = PerUserSource()
    api.stale.update({"ann-old", "bob-old"})
    transport = Transport(retry=NO_RETRY, pool_maxsize=4)
    client = AccountClient(source, domain=api.url, transport=transport)

    def as_user(who: str) -> Any:
        USER.set(who)
        return client.get_user_profile()

    with ThreadPoolExecutor(2) as pool:
        try:
            ann = pool.submit(as_user, "ann")
            assert source.ann_renewing.wait(30)
            # Bob's 401 is renewed and replayed while Ann's renewal is still running.
            bob = pool.submit(as_user, "bob")
            assert bob.result(timeout=10).sub == "kp_ann"
            assert api.count("ann-new") == 0
        finally:
            source.ann_may_finish.set()
        assert ann.result(timeout=30).sub == "kp_ann"
    assert len(client._renewals) == 0  # a token's lock lives only while it is renewed
    # Each user's call was replayed once, with that user's own new token.
    assert sorted(api.seen) == ["ann-new", "ann-old", "bob-new", "bob-old"]
    transport.close()


def test_one_user_s_async_renewal_does_not_hold_up_another_user_s(api: StaleTokenAPI) -> None:
    source = PerUserSource()
    api.stale.update({"ann-old", "bob-old"})

    async def token() -> str:
        if USER.get() == "ann" and source.asked["ann"] == 1:
            # Ann's renewal: held without blocking the loop.
            source.asked["ann"] += 1
            source.ann_renewing.set()
            while not source.ann_may_finish.is_set():
                await asyncio.sleep(0.01)
            return "ann-new"
        return source()

    async def main() -> None:
        transport = AsyncTransport(retry=NO_RETRY, pool_maxsize=4)
        async with AsyncAccountClient(token, domain=api.url, transport=transport) as client:

            async def as_user(who: str) -> Any:
                USER.set(who)
                return await client.get_user_profile()

            ann = asyncio.ensure_future(as_user("ann"))
            try:
                while not source.ann_renewing.is_set():
                    await asyncio.sleep(0.01)
                bob = await asyncio.wait_for(as_user("bob"), 10)
                assert bob.sub == "kp_ann" and api.count("ann-new") == 0
            finally:
                source.ann_may_finish.set()
            assert (await asyncio.wait_for(ann, 30)).sub == "kp_ann"
            assert len(client._renewals) == 0
            await transport.aclose()

    asyncio.run(main())
    assert sorted(api.seen) == ["ann-new", "ann-old", "bob-new", "bob-old"]


def test_concurrent_401s_of_two_users_sessions_each_replay_with_their_own_token(
    fake_kinde: FakeKinde, api: StaleTokenAPI
) -> None:
    # One client, as ``oauth.account`` is: each request bound to its user's session.
    oauth: OAuth = oauth_for(fake_kinde)
    stale: dict[str, str] = {}
    for user in ("ann", "bob"):
        with oauth.bind_session(f"s-{user}"):
            fake_kinde.login(oauth, sub=f"kp_{user}")
            token = oauth.get_access_token()
            assert token is not None
            stale[user] = token
    api.stale.update(stale.values())
    api.hold_until = CALLERS  # every call has its 401 before any is answered
    transport = Transport(retry=NO_RETRY, pool_maxsize=CALLERS)
    client = AccountClient(oauth=oauth, domain=api.url, transport=transport)
    before = fake_kinde.token_requests

    def call(n: int) -> None:
        with oauth.bind_session(f"s-{('ann', 'bob')[n % 2]}"):
            client.get_user_profile()

    with ThreadPoolExecutor(CALLERS) as pool:
        list(pool.map(call, range(CALLERS)))

    assert fake_kinde.token_requests - before == 2  # one refresh per user
    for user in ("ann", "bob"):
        with oauth.bind_session(f"s-{user}"):
            fresh = oauth.get_access_token()
        assert fresh is not None and fresh != stale[user]
        # Each of the user's calls: once with the stale token, once with the user's own
        # fresh one (never the other user's).
        assert api.count(stale[user]) == CALLERS // 2 and api.count(fresh) == CALLERS // 2
    assert len(client._renewals) == 0
    transport.close()
