"""Hostile input for the framework-free session layer: the cookie codec, the bearer
parser and the header values we emit. Seeded random fuzzing (reproducible), plus the
exact values of the adversarial review (issue 14, item 5)."""

from __future__ import annotations

import random
import string

import pytest

from kinde_sdk.frameworks._session import (
    AuthFailure,
    IntegrationSettings,
    RequestSession,
    header_safe,
    parse_bearer,
    safe_redirect,
)

SECRET = "fuzz-session-secret-0123456789abcdef"
SEED = 14_5


def settings() -> IntegrationSettings:
    return IntegrationSettings.build({"session_secret": SECRET})


def _random_text(rng: random.Random) -> str:
    kind = rng.randrange(6)
    length = rng.choice([0, 1, 2, 43, 44, 87, 88, 199, 200, 201, 1000, 5000])
    if kind == 0:  # raw bytes, decoded the way servers decode headers
        return bytes(rng.randrange(256) for _ in range(length)).decode("latin-1")
    if kind == 1:  # any unicode, surrogates included
        return "".join(chr(rng.randrange(0x110000)) for _ in range(length))
    if kind == 2:  # printable ASCII
        return "".join(rng.choice(string.printable) for _ in range(length))
    if kind == 3:  # base64url with dots: looks like a cookie or a JWT
        alphabet = string.ascii_letters + string.digits + "-_."
        return "".join(rng.choice(alphabet) for _ in range(length))
    if kind == 4:  # a real session id with a hostile signature
        sid = RequestSession(None).session_id
        tail = "".join(chr(rng.randrange(0x80, 0x3000)) for _ in range(rng.randrange(1, 50)))
        return f"{sid}.{tail}"
    return "\x00\r\n\t\"'\\;,=\u263a\udcff"[: max(length, 1)]


def test_cookie_codec_never_raises() -> None:
    s = settings()
    rng = random.Random(SEED)
    for _ in range(5000):
        value = _random_text(rng)
        assert s.unsign(value) is None
    # The review's value: a valid id, a signature with a trailing non-ASCII byte.
    good = s.sign(RequestSession(None).session_id)
    assert s.unsign(good) is not None
    assert s.unsign(good + "\xe9") is None
    assert s.unsign(good[:-1] + "\xe9") is None
    assert s.unsign(good.replace(".", ".\u263a", 1)) is None
    for other in (None, b"bytes", 42, [], good.encode()):
        assert s.unsign(other) is None  # type: ignore[arg-type]


def test_cookie_codec_round_trip() -> None:
    s = settings()
    for _ in range(200):
        sid = RequestSession(None).session_id
        signed = s.sign(sid)
        assert signed.isascii() and len(signed) < 100
        assert s.unsign(signed) == sid
        # Any single-character change is refused.
        i = random.Random(sid).randrange(len(signed))
        flipped = signed[:i] + ("A" if signed[i] != "A" else "B") + signed[i + 1 :]
        assert s.unsign(flipped) is None


def _latin1_header_ok(value: str) -> bool:
    return value.isascii() and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)


def test_bearer_parser_fuzz() -> None:
    rng = random.Random(SEED + 1)
    for _ in range(5000):
        header = rng.choice(["Bearer ", "bearer ", "Basic ", "", "Bearer  "]) + _random_text(rng)
        try:
            token = parse_bearer(header)
        except AuthFailure as failure:
            assert failure.status == 401
            assert _latin1_header_ok(failure.www_authenticate)
            continue
        # Whatever gets through is a plain ASCII b64token the validator can handle.
        assert token.isascii() and token and " " not in token


def test_challenge_is_ascii_whatever_the_error_text() -> None:
    rng = random.Random(SEED + 2)
    for _ in range(2000):
        failure = AuthFailure(401, "invalid_token", _random_text(rng))
        assert _latin1_header_ok(failure.www_authenticate)
        assert len(failure.www_authenticate) < 300
    kid = AuthFailure(401, "invalid_token", 'no signing key with kid "\u263a"')
    challenge = kid.www_authenticate
    assert _latin1_header_ok(challenge)
    assert "u263a" in challenge  # still says which kid, escaped
    assert header_safe('a"b\\c\r\nd') == "ab/cd"


@pytest.mark.parametrize("target", ["/caf\u00e9", "/\u263a?q=\u00e9", "/ok"])
def test_redirect_targets_are_ascii(target: str) -> None:
    result = safe_redirect(target, ())
    assert result is not None and result.isascii()


def test_no_secret_in_reprs_of_session_objects() -> None:
    """Issue 14 item 8: the signing key forges cookies; no repr or str shows it."""
    import dataclasses

    from kinde_sdk.frameworks import _session

    s = settings()
    shown = repr(s) + str(s)
    assert SECRET not in shown and repr(s.secret) not in shown
    assert "secret=" not in shown
    # Every dataclass of the session layer: a field holding bytes or named like a
    # secret must be repr=False.
    for obj in vars(_session).values():
        if isinstance(obj, type) and dataclasses.is_dataclass(obj):
            for f in dataclasses.fields(obj):
                if "secret" in f.name or "key" in f.name or "token" in f.name:
                    assert not f.repr, f"{obj.__name__}.{f.name} is in its repr"


def test_no_secret_in_any_repr_of_the_session_layer(tmp_path: object) -> None:
    """Issue 14 item 8, the audit: settings, integrations, flows, sessions, bindings,
    storages and errors of kinde_sdk/frameworks and kinde_sdk/core, with canary
    secrets; none of them shows one in repr() or str()."""
    import redis  # noqa: F401 - the redis extra is part of the dev extra
    from flask import Flask

    from kinde_sdk.auth import OAuth
    from kinde_sdk.core.storage import (
        FileStorage,
        MemoryStorage,
        NamespacedStorage,
        RedisStorage,
        SessionStorage,
        StorageManager,
    )
    from kinde_sdk.errors import StorageError

    canary_key = "CANARY-session-secret-0123456789"
    canary_client = "CANARY-client-secret"
    canary_pw = "CANARY-redis-password"
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "CANARY-flask-secret-key-0123456789"
    oauth = OAuth(
        framework="flask",
        app=app,
        client_id="cid",
        client_secret=canary_client,
        redirect_uri="https://app.example.com/callback",
        host="https://acme.kinde.com",
        storage=NamespacedStorage(MemoryStorage()),
        framework_options={"session_secret": canary_key},
    )
    integ = oauth.integration
    flow = integ.flow
    session = flow.open(None)
    binding = oauth.session_storage(session.session_id)
    objects: list[object] = [
        oauth,
        integ,
        flow,
        flow.settings,
        session,
        binding,
        StorageManager(),
        MemoryStorage(),
        FileStorage(str(tmp_path) + "/s.json"),
        RedisStorage(url=f"redis://user:{canary_pw}@127.0.0.1:1/0"),
        SessionStorage({}),
        StorageError("x"),
    ]
    secrets_ = (canary_key, canary_client, canary_pw, "CANARY-flask")
    for obj in objects:
        shown = repr(obj) + str(obj)
        for secret in secrets_:
            assert secret not in shown, f"{type(obj).__name__} shows a secret"
    assert session.session_id not in repr(binding)  # the id is a bearer credential


def test_same_origin_check_never_raises() -> None:
    from types import SimpleNamespace

    from kinde_sdk.frameworks._session import WebFlow

    oauth = SimpleNamespace(_redirect_uri="https://app.example.com/callback", pending_ttl=600)
    flow = WebFlow(oauth, settings())  # type: ignore[arg-type]
    host = "127.0.0.1:8000"
    assert flow.same_origin({"origin": "http://127.0.0.1:8000"}, host)
    assert flow.same_origin({"origin": "https://app.example.com"}, host)
    assert flow.same_origin({"sec-fetch-site": "same-origin", "origin": "https://x"}, host)
    assert not flow.same_origin({"sec-fetch-site": "cross-site"}, host)
    assert not flow.same_origin({"origin": "https://app.example.com.evil"}, host)
    rng = random.Random(SEED + 3)
    for _ in range(3000):
        value = _random_text(rng)
        for name in ("origin", "sec-fetch-site"):
            assert flow.same_origin({name: "http://" + value}, host) in (True, False)
            assert flow.same_origin({name: value}, value) in (True, False)
    assert not flow.same_origin({"origin": "http://["}, host)
