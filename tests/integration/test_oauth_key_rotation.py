"""Key rotation at the provider while users are signed in, against a real
node-oidc-provider of this module's own (the suite's shared provider is untouched).

The provider starts with key A; a user signs in. The provider is then restarted on the
same port with only key B in its JWKS (node-oidc-provider reads its keys at start), so
every new token is signed with a key the client has never seen, and key A is no longer
published. The SDK must pick B up with one JWKS refetch and keep accepting the tokens
still in use that A signed, from its cached copy of A.

Time passes through an injected clock (the refetch cooldown is 30 s), never by sleeping.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from kinde_sdk import TokenValidator
from kinde_sdk._transport import Response
from kinde_sdk.auth import OAuth
from kinde_sdk.errors import UnknownKeyError
from tests.integration._oauth_helpers import (
    SwitchableTransport,
    expire_access_token,
    make_oauth,
    sign_in,
)
from tests.servers.oidc_provider import OIDCProvider


def signing_jwk(kid: str) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    jwk.pop("key_ops", None)  # PyJWT's ["sign"] would be published as is
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


class RotatingProvider:
    """An OIDCProvider whose signing keys the test chooses, restarted to change them."""

    def __init__(self) -> None:
        self.provider = OIDCProvider()
        self.jwks_file = Path(self.provider.workdir) / "jwks.json"
        self.retired: list[subprocess.Popen[str]] = []

    def stop(self) -> None:
        self.provider.stop()
        for proc in self.retired:  # their output pumps ended with them
            if proc.stdout is not None:
                proc.stdout.close()

    def use_keys(self, *kids: str) -> None:
        self.jwks_file.write_text(json.dumps({"keys": [signing_jwk(kid) for kid in kids]}))

    def start(self) -> None:
        self.provider.start()

    def restart_with(self, *kids: str) -> None:
        """Stop the process, change its JWKS file, start it again on the same port (same
        issuer, client and secret; its in-memory grants are gone)."""
        process = self.provider.process
        process.stop()
        if process.proc is not None:
            self.retired.append(process.proc)
        self.use_keys(*kids)
        self.provider.process.start(ready_timeout=60)


@pytest.fixture(scope="module")
def rotating() -> Iterator[RotatingProvider]:
    rotating = RotatingProvider()
    try:
        rotating.use_keys("key-a")
        rotating.start()
        yield rotating
    finally:
        rotating.stop()


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class CountingTransport(SwitchableTransport):
    """Also counts JWKS downloads."""

    def __init__(self, jwks_uri: str) -> None:
        super().__init__()
        self.jwks_uri = jwks_uri
        self.jwks_gets = 0

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        if url == self.jwks_uri:
            self.jwks_gets += 1
        return super().request(method, url, **kwargs)


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def test_rotated_key_is_picked_up_and_old_tokens_keep_working(
    rotating: RotatingProvider,
) -> None:
    provider = rotating.provider
    meta = provider.discovery()
    transport = CountingTransport(str(meta["jwks_uri"]))
    transport.token_endpoint = str(meta["token_endpoint"])
    clock = Clock()
    oauth: OAuth = make_oauth(provider, transport)
    oauth._clock = clock  # the clock the client and its validators read
    api = TokenValidator(
        provider.url,
        provider.api_audience,
        jwks_url=str(meta["jwks_uri"]),
        transport=transport,
        clock=clock,
    )

    with oauth.bind_session("alice-session"):
        sign_in(oauth, "alice")
        alice_access = oauth.get_access_token()
    assert alice_access is not None and kid_of(alice_access) == "key-a"
    assert transport.jwks_gets == 1  # the ID and the access token validators share one JWKS
    assert api.verify(alice_access)["sub"] == "alice"
    assert transport.jwks_gets == 2  # the API's own validator

    rotating.restart_with("key-b")  # key A is no longer published
    clock.offset += 31  # past the 30 s refetch cooldown since the last fetch

    # A new sign-in: its tokens are signed with B, unknown to the client: one refetch.
    with oauth.bind_session("bob-session"):
        sign_in(oauth, "bob")
        bob_access = oauth.get_access_token()
        assert bob_access is not None and kid_of(bob_access) == "key-b"
        assert oauth.get_permission("read:users")["isGranted"] is True
    assert transport.jwks_gets == 3

    # The API validator sees B once (one refetch) and still accepts A's tokens.
    assert api.verify(bob_access)["sub"] == "bob"
    assert transport.jwks_gets == 4
    api.clear_cache()  # no verified-token shortcut: real signature checks with cached A
    assert api.verify(alice_access)["sub"] == "alice"
    assert transport.jwks_gets == 4

    # The signed-in user's session carries on with the tokens A signed.
    with oauth.bind_session("alice-session"):
        assert oauth.is_authenticated()
        assert oauth.get_access_token() == alice_access
        assert oauth.get_user_info()["sub"] == "alice"  # type: ignore[index]

    # Refreshing bob's session: new tokens signed with B, no further JWKS download.
    with oauth.bind_session("bob-session"):
        expire_access_token(oauth)
        refreshed = oauth.get_access_token()
        assert refreshed is not None and refreshed != bob_access
        assert kid_of(refreshed) == "key-b"
    assert transport.jwks_gets == 4

    # Key A really is gone from the provider: a validator without the cached copy refuses.
    fresh = TokenValidator(
        provider.url, provider.api_audience, jwks_url=str(meta["jwks_uri"]), clock=clock
    )
    with pytest.raises(UnknownKeyError):
        fresh.verify(alice_access)
