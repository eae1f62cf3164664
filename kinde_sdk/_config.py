"""Settings helpers: explicit arguments first, environment as fallback, loud validation.

The environment includes a ``.env`` file when python-dotenv is installed (as the Kinde
README's setup suggests): the first lookup that falls back to the environment reads the
nearest ``.env`` (the working directory, then its parents) once per process, without
overriding a variable that is already set. ``KINDE_DOTENV=0`` turns that off. Without
python-dotenv the file is left alone, and a missing setting's error says so.
"""

from __future__ import annotations

import importlib
import ipaddress
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, Optional
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


DOTENV_SWITCH = "KINDE_DOTENV"


class DotenvState(NamedTuple):
    """What became of the ``.env`` file: its path (None when there is none) and whether
    it was read (False: python-dotenv is missing, or reading is switched off)."""

    path: Optional[Path]
    read: bool
    reason: str


_dotenv_state: Optional[DotenvState] = None
_dotenv_lock = threading.Lock()


def find_dotenv_file(start: Optional[Path] = None) -> Optional[Path]:
    """The nearest ``.env``: in ``start`` (the working directory) or a parent of it."""
    try:
        here = (start or Path.cwd()).resolve()
    except OSError:  # the working directory was deleted
        return None
    for folder in (here, *here.parents):
        candidate = folder / ".env"
        if candidate.is_file():
            return candidate
    return None


def load_dotenv_once() -> DotenvState:
    """Read the nearest ``.env`` into the environment once per process (existing
    variables win), when python-dotenv is installed; report what happened."""
    global _dotenv_state
    state = _dotenv_state
    if state is not None:
        return state
    with _dotenv_lock:
        if _dotenv_state is None:
            _dotenv_state = _load_dotenv()
        return _dotenv_state


def _load_dotenv() -> DotenvState:
    path = find_dotenv_file()
    if path is None:
        return DotenvState(None, False, "there is no .env file")
    if os.environ.get(DOTENV_SWITCH, "").strip().lower() in ("0", "false", "no", "off"):
        return DotenvState(path, False, f"{DOTENV_SWITCH} turns reading it off")
    try:
        dotenv = importlib.import_module("dotenv")
    except ImportError:
        return DotenvState(
            path, False, "python-dotenv is not installed (pip install python-dotenv)"
        )
    dotenv.load_dotenv(path, override=False)
    return DotenvState(path, True, "read")


def _reset_dotenv() -> None:
    """Forget that ``.env`` was looked for (tests change the working directory)."""
    global _dotenv_state
    with _dotenv_lock:
        _dotenv_state = None


def from_env(value: Optional[str], *names: str) -> Optional[str]:
    """The explicit value when given, else the first non-empty environment variable
    (``.env`` included, see the module docstring)."""
    if value is not None:
        return value
    load_dotenv_once()
    for name in names:
        found = os.environ.get(name)
        if found:
            return found
    return None


def require(value: Optional[str], setting: str, env_names: Sequence[str]) -> str:
    if value is None or not str(value).strip():
        hint = " or ".join(env_names)
        raise KindeConfigurationError(
            f"missing setting {setting!r}: pass {setting}=... or set {hint}{dotenv_note()}"
        )
    return value


def dotenv_note() -> str:
    """For a missing-setting message: whether a ``.env`` file was read, and if not why."""
    state = load_dotenv_once()
    if state.path is None:
        return ""
    if state.read:
        return f" (the .env file {state.path} was read and does not set it)"
    return f" (the .env file {state.path} was NOT read: {state.reason})"


def check_seconds(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """``value`` as a finite number of seconds, > 0 (or >= 0 with ``allow_zero``); else a
    KindeConfigurationError naming ``name``. Finite, because a NaN compares false with
    everything (a NaN margin never makes a token due, a NaN wait never ends) and an
    infinite timeout is no timeout; never a bool, which Python counts as a number."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (value >= 0 if allow_zero else value > 0)
        or value == math.inf
    ):
        bound = ">= 0" if allow_zero else "> 0"
        raise KindeConfigurationError(f"{name} must be a finite number of seconds {bound}")
    return float(value)
