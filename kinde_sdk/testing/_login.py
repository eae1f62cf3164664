"""``login_test_client``: log a web framework's test client in as a test user.

It goes through the app's own routes, as a browser would, with :class:`FakeKinde` as
the identity provider:

1. ``GET /login`` (``?next=...`` when given) with the test client, redirects not
   followed: the app stores a pending login in a new session and answers with a
   redirect to the fake's authorization endpoint;
2. :meth:`FakeKinde.authorize` signs the test user in and returns the callback URL
   (``redirect_uri?code=...&state=...``);
3. ``GET`` that callback (its path and query, on the test client's own host): the app
   exchanges the code at the fake's token endpoint (PKCE, state, nonce, token
   verification), then rotates the session id and sets the session cookie.

The result is the session a real login makes; nothing in the app is bypassed or
patched. Supported clients: FastAPI/Starlette's ``TestClient`` (any ``httpx.Client``),
Flask's ``app.test_client()`` (any werkzeug test client) and Django's
``django.test.Client``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from ._fake import FakeKinde

__all__ = ["KindeLoginError", "login_test_client"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTTPX = frozenset({"httpx", "httpx2"})  # what Starlette's TestClient is built on


class KindeLoginError(AssertionError):
    """The test client could not be logged in; the message says which step failed and
    the usual cause (an AssertionError, so pytest reports it as a failed check)."""


def _is_django_client(client: Any) -> bool:
    django_test = sys.modules.get("django.test")
    return django_test is not None and isinstance(client, django_test.Client)


def _get(client: Any, url: str) -> Any:
    """GET ``url`` (path and query) without following redirects."""
    if _is_django_client(client):
        return client.get(url)  # Django's test client never follows unless follow=True
    return client.get(url, follow_redirects=False)  # httpx and werkzeug clients


def _location(response: Any) -> Optional[str]:
    value = response.headers.get("Location")
    return None if value is None else str(value)


def _set_cookie_headers(response: Any) -> list[str]:
    headers = response.headers
    for getter in ("get_list", "getlist"):  # httpx, werkzeug
        method = getattr(headers, getter, None)
        if method is not None:
            return [str(value) for value in method("set-cookie")]
    return []


def _secure_cookie_dropped(client: Any, response: Any) -> bool:
    """True when an httpx client over plain http got a ``Secure`` cookie, which its
    cookie jar will not send back (Django's and werkzeug's test clients send it)."""
    if not any(cls.__module__.split(".")[0] in _HTTPX for cls in type(client).__mro__):
        return False
    if getattr(getattr(client, "base_url", None), "scheme", None) != "http":
        return False
    for header in _set_cookie_headers(response):
        attributes = [part.strip().lower() for part in header.split(";")[1:]]
        if "secure" in attributes:
            return True
    return False


def _excerpt(response: Any) -> str:
    body = getattr(response, "text", None)
    if body is None:  # Django and werkzeug responses
        raw = getattr(response, "content", None)
        if raw is None:
            raw = getattr(response, "data", b"")
        body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    body = " ".join(str(body).split())
    return body[:300] + ("..." if len(body) > 300 else "")


def login_test_client(
    client: Any,
    fake: FakeKinde,
    *,
    next: Optional[str] = None,
    login_path: str = "/login",
    **user: Any,
) -> Any:
    """Log ``client`` (a framework test client) in as a test user, through the app's
    real login and callback routes against ``fake``, and return the callback's response
    (a redirect to ``next`` or to the app's ``post_login_redirect``).

    ``user`` takes the fields of :meth:`FakeKinde.authorize`: ``sub``, ``email``,
    ``given_name``, ``family_name``, ``picture``, ``org_codes``, ``permissions``,
    ``roles``, ``org_code``, ``feature_flags``, ``access_claims``, ``id_claims``, and
    for the fake's Account API ``entitlements``, ``plans``, ``properties``; without any,
    ``fake.login_user`` signs in. ``next`` is passed to the login route
    (``/login?next=/reports``); ``login_path`` is the app's login route when it is not
    ``/login``. Calling it again logs the same client in as another user.

    The app must use ``fake`` as its Kinde domain (``domain=fake.domain``,
    ``client_id=fake.client_id``, ``client_secret=fake.client_secret``), and the client
    must keep the session cookie: the cookie is ``Secure`` when the request or the
    app's redirect URI is https (or ``cookie_secure=True``), and an httpx-based client
    (FastAPI's ``TestClient``, ``http://testserver``) does not send a ``Secure`` cookie
    over http. Give the app
    ``framework_options={"cookie_secure": False}`` in tests, or the client
    ``base_url="https://testserver"``. The callback is requested at the path of the
    app's ``redirect_uri``, on the test client's own host. A failed step raises
    :class:`KindeLoginError` saying why; an unknown user field, TypeError.
    """
    from ._fake import _check_user

    _check_user(user)  # a misspelt field fails before any request (TypeError)
    url = login_path
    if next is not None:
        url += ("&" if "?" in url else "?") + urlencode({"next": next})
    start = _get(client, url)
    location = _location(start)
    endpoint = fake.authorization_endpoint
    if start.status_code not in _REDIRECTS or location is None:
        raise KindeLoginError(
            f"GET {url} answered {start.status_code}, not a redirect to Kinde: is "
            f"{login_path!r} the app's login route (login_path=)? {_excerpt(start)}"
        )
    if not location.startswith(endpoint + "?"):
        raise KindeLoginError(
            f"GET {url} redirected to {location!r}, not to this FakeKinde ({endpoint}): "
            "build the app's OAuth with domain=fake.domain and client_id=fake.client_id"
        )
    if _secure_cookie_dropped(client, start):
        raise KindeLoginError(
            f"the app set a Secure session cookie, which this test client does not send "
            f"over {client.base_url}: give the app framework_options="
            '{"cookie_secure": False} in tests, or the client base_url="https://testserver"'
        )
    try:
        callback = fake.authorize(location, **user)
    except ValueError as exc:
        raise KindeLoginError(str(exc)) from None
    parts = urlsplit(callback)
    target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    done = _get(client, target)
    if done.status_code not in _REDIRECTS:
        hint = ""
        if done.status_code == 404:
            hint = " (is the path of the app's redirect_uri its callback route?)"
        elif done.status_code == 400 and "state" in _excerpt(done):
            hint = " (did the test client keep the session cookie set by the login route?)"
        raise KindeLoginError(
            f"the callback GET {parts.path} answered {done.status_code}{hint}: {_excerpt(done)}"
        )
    return done
