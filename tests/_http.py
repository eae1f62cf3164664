"""Bodies shared by the tests that stand in for Kinde with pytest-httpserver."""

from __future__ import annotations

from typing import Any

# One page of GET /api/v1/users, shaped as Kinde sends it.
USERS_PAGE: dict[str, Any] = {
    "code": "OK",
    "message": "Success",
    "users": [{"id": "kp_1", "email": "a@b.c", "first_name": "A", "last_name": "B"}],
    "next_token": None,
}
