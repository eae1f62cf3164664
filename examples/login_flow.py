"""A login with kinde_sdk's OAuth, from authorization URL to logout.

Configured from the environment (KINDE_DOMAIN, KINDE_CLIENT_ID, KINDE_CLIENT_SECRET,
KINDE_REDIRECT_URI, KINDE_LOGOUT_REDIRECT_URI, KINDE_AUDIENCE). A web app sends the
browser to ``oauth.login()`` and calls ``handle_redirect`` from its callback route;
`make demo` plays the browser's part against a local OpenID provider.
"""

from __future__ import annotations

from typing import Callable
from urllib.parse import parse_qsl, urlsplit

from kinde_sdk.auth import OAuth


def run(sign_in: Callable[[str], dict[str, str]]) -> None:
    """``sign_in`` takes the authorization URL and returns the callback's query."""
    oauth = OAuth()  # everything from the environment

    url = oauth.login(prompt="consent")
    print(f"1. Authorization URL (PKCE S256, state, nonce):\n   {_without_values(url)}")

    callback = sign_in(url)
    user = oauth.handle_redirect(callback["code"], callback["state"], iss=callback.get("iss"))
    print(f"2. Signed in; verified ID token says: {user}")

    print(f"3. is_authenticated: {oauth.is_authenticated()}")
    print(f"   permissions: {oauth.get_permissions()}")
    print(f"   organization: {oauth.get_organization()}")
    print(f"   roles: {[role.get('key') for role in oauth.get_roles()]}")
    print(f"   flag is_dark_mode: {oauth.get_boolean_flag('is_dark_mode', default=False)}")
    print(f"   flag competitions_limit: {oauth.get_integer_flag('competitions_limit', default=0)}")

    token = oauth.get_access_token()
    print(f"4. Access token for your API: {len(token or '')} characters (verified, not shown)")

    logout_url = oauth.logout()
    print(
        f"5. Logged out (refresh token revoked); end-session URL:\n   {_without_values(logout_url)}"
    )
    print(f"   is_authenticated: {oauth.is_authenticated()}")


def _without_values(url: str) -> str:
    """The URL with parameter names only: state, nonce and tokens stay out of the output."""
    parts = urlsplit(url)
    names = "&".join(name for name, _ in parse_qsl(parts.query))
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{names}"
