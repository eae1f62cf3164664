"""``validator.verify(token)`` is typed for mypy: the claims' attributes have their
types, and a misspelt attribute is an error (not ``Any``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SNIPPET = """\
from typing import Optional

from kinde_sdk.auth import AsyncTokenValidator, Role, TokenValidator


def sync(validator: TokenValidator, token: str) -> None:
    claims = validator.verify(token)
    sub: str = claims.sub
    email: Optional[str] = claims.email
    permissions: list[str] = claims.permissions
    org_code: Optional[str] = claims.org_code
    roles: list[Role] = claims.roles
    raw: dict[str, object] = claims.raw
    first = claims["sub"]
    wrong: int = claims.sub
    claims.no_such_claim


async def asynchronous(validator: AsyncTokenValidator, token: str) -> None:
    claims = await validator.verify(token)
    org: Optional[str] = claims.org_code
    kids: list[str] = (await validator.get_jwks()).kids
"""


def test_claims_are_typed_for_mypy(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(SNIPPET)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            str(sample),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2, result.stdout + result.stderr
    assert (
        'Incompatible types in assignment (expression has type "str", variable has type "int")'
        in errors[0]
    )
    assert '"Claims" has no attribute "no_such_claim"' in errors[1]
