"""Settings helpers: explicit arguments first, environment as fallback, loud validation."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from typing import Optional
from urllib.parse import urlsplit

from .errors import KindeConfigurationError

LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_domain(domain: str, *, setting: str = "domain") -> str:
    """Return the origin (``scheme://host[:port]``) for a Kinde domain.

    ``acme.kinde.com`` means ``https://acme.kinde.com``. Plain ``http://`` is accepted
    only for loopback hosts (local test servers): anywhere else it would send client
    secrets and tokens in clear text.
    """
    raw = (domain or "").strip()
    if not raw:
        raise KindeConfigurationError(f"{setting} is empty")
    if "://" not in raw:
        raw = f"https://{raw}"
    # Credentials are refused before anything else, so that no message below can echo
    # a password given as ``https://user:password@host``.
    try:
        parts = urlsplit(raw)
    except ValueError:
        parts = None
    if "@" in (parts.netloc if parts is not None else raw):
        raise KindeConfigurationError(f"{setting} must not contain credentials")
    if parts is None:
        raise KindeConfigurationError(f"{setting} {domain!r} is not a valid URL")
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise KindeConfigurationError(f"{setting} must be an https URL, got scheme {scheme!r}")
    try:
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise KindeConfigurationError(f"{setting} {domain!r} is not a valid URL: {exc}") from None
    if not host:
        raise KindeConfigurationError(f"{setting} {domain!r} has no host name")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise KindeConfigurationError(
            f"{setting} {domain!r} must be a bare domain or origin, without path or query"
        )
    if scheme == "http" and not is_loopback_host(host):
        raise KindeConfigurationError(
            f"{setting} {domain!r} uses plain http, which is allowed only for loopback hosts "
            "(127.0.0.1, ::1, localhost); use https"
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}"


def from_env(value: Optional[str], *names: str) -> Optional[str]:
    """The explicit value when given, else the first non-empty environment variable."""
    if value is not None:
        return value
    for name in names:
        found = os.environ.get(name)
        if found:
            return found
    return None


def require(value: Optional[str], setting: str, env_names: Sequence[str]) -> str:
    if value is None or not str(value).strip():
        hint = " or ".join(env_names)
        raise KindeConfigurationError(
            f"missing setting {setting!r}: pass {setting}=... or set {hint}"
        )
    return value
