"""Settings as the Kinde README sets them up: a ``.env`` file, short or missing secrets."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kinde_sdk import _config
from kinde_sdk.auth import OAuth
from kinde_sdk.core.storage import MemoryStorage
from kinde_sdk.errors import KindeConfigurationError
from kinde_sdk.frameworks._session import resolve_secret

KINDE_VARIABLES = (
    "KINDE_CLIENT_ID",
    "KINDE_CLIENT_SECRET",
    "KINDE_REDIRECT_URI",
    "KINDE_DOMAIN",
    "KINDE_HOST",
    "KINDE_AUDIENCE",
    "KINDE_SESSION_SECRET",
    "KINDE_DOTENV",
)

SEED_ENV = """\
KINDE_CLIENT_ID=your_client_id
KINDE_CLIENT_SECRET=your_client_secret
KINDE_REDIRECT_URI=http://localhost:8000/callback
KINDE_DOMAIN=your_kinde_domain
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project folder holding the seed's ``.env``, as the working directory, with a
    clean environment that is restored afterwards (python-dotenv writes os.environ)."""
    saved = dict(os.environ)
    for name in KINDE_VARIABLES:
        os.environ.pop(name, None)
    (tmp_path / ".env").write_text(SEED_ENV)
    app = tmp_path / "app"
    app.mkdir()
    monkeypatch.chdir(app)  # .env is found in a parent folder too
    _config._reset_dotenv()
    try:
        yield tmp_path
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _config._reset_dotenv()


def test_dotenv_is_read_when_python_dotenv_is_installed(project: Path) -> None:
    oauth = OAuth(storage=MemoryStorage())
    assert oauth.client_id == "your_client_id"
    assert oauth.domain == "https://your_kinde_domain"
    state = _config.load_dotenv_once()
    assert state.read and state.path == project / ".env"


def test_dotenv_never_overrides_the_real_environment(project: Path) -> None:
    os.environ["KINDE_CLIENT_ID"] = "from-the-environment"
    assert OAuth(storage=MemoryStorage()).client_id == "from-the-environment"
    assert os.environ["KINDE_CLIENT_ID"] == "from-the-environment"


def test_dotenv_is_read_once(project: Path) -> None:
    OAuth(storage=MemoryStorage())
    (project / ".env").write_text("KINDE_CLIENT_ID=changed\n")
    del os.environ["KINDE_CLIENT_ID"]
    with pytest.raises(KindeConfigurationError, match="was read and does not set it"):
        OAuth(storage=MemoryStorage())


def test_without_python_dotenv_the_error_names_the_variable_and_the_unread_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "dotenv", None)  # import dotenv -> ImportError
    with pytest.raises(KindeConfigurationError) as info:
        OAuth(storage=MemoryStorage())
    message = str(info.value)
    assert "KINDE_CLIENT_ID" in message
    assert f"{project / '.env'} was NOT read" in message
    assert "python-dotenv is not installed" in message


def test_dotenv_can_be_switched_off(project: Path) -> None:
    os.environ["KINDE_DOTENV"] = "0"
    with pytest.raises(KindeConfigurationError, match="KINDE_DOTENV turns reading it off"):
        OAuth(storage=MemoryStorage())


def test_no_dotenv_file_no_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KINDE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_config, "find_dotenv_file", lambda start=None: None)
    _config._reset_dotenv()
    try:
        with pytest.raises(KindeConfigurationError) as info:
            OAuth(storage=MemoryStorage())
        assert str(info.value) == (
            "missing setting 'client_id': pass client_id=... or set KINDE_CLIENT_ID"
        )
    finally:
        _config._reset_dotenv()


def test_session_secret_from_dotenv(project: Path) -> None:
    (project / ".env").write_text("KINDE_SESSION_SECRET=" + "s" * 32 + "\n")
    assert resolve_secret(None) == b"s" * 32


# --- the seeds' session secrets ------------------------------------------------------------


def test_flask_seed_secret_key_of_15_characters_is_refused_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KINDE_SESSION_SECRET", raising=False)
    with pytest.raises(KindeConfigurationError) as info:
        resolve_secret(None, "your-secret-key", "Flask's SECRET_KEY")
    message = str(info.value)
    assert "Flask's SECRET_KEY is 15 characters" in message
    assert "at least 16" in message
    assert "KINDE_SESSION_SECRET" in message
    assert "secrets.token_urlsafe(32)" in message
    assert "your-secret-key" not in message  # a secret, even a bad one, is not echoed


def test_fastapi_without_session_secret_names_the_variable_and_how_to_generate_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KINDE_SESSION_SECRET", raising=False)
    with pytest.raises(KindeConfigurationError) as info:
        resolve_secret(None)
    message = str(info.value)
    assert "KINDE_SESSION_SECRET" in message
    assert 'python -c "import secrets; print(secrets.token_urlsafe(32))"' in message
    assert "SECRET_KEY" not in message.replace("KINDE_SESSION_SECRET", "")


def test_short_session_secret_says_which_setting_and_its_length(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KINDE_SESSION_SECRET", "short")
    with pytest.raises(KindeConfigurationError, match="KINDE_SESSION_SECRET is 5 characters"):
        resolve_secret(None)
