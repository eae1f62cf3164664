"""Lazy pagination over next_token.

Prism serves one static page with a constant next_token, so multi-page behaviour is
tested against a loopback server that serves real distinct pages.
"""

from __future__ import annotations

import json
from itertools import islice

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from kinde_sdk.management import ManagementClient

PAGES = {
    None: (["kp_1", "kp_2"], "t2"),
    "t2": (["kp_3", "kp_4"], "t3"),
    "t3": (["kp_5"], None),
}


def _serve(httpserver: HTTPServer, requested: list[str | None]) -> None:
    httpserver.expect_request("/oauth2/token", method="POST").respond_with_json(
        {"access_token": "tok", "expires_in": 3600, "token_type": "bearer"}
    )

    def users(request: Request) -> Response:
        token = request.args.get("next_token")
        requested.append(token)
        ids, next_token = PAGES[token]
        body = {
            "code": "OK",
            "message": "Success",
            "users": [{"id": i, "email": f"{i}@example.com"} for i in ids],
            "next_token": next_token,
        }
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/v1/users", method="GET").respond_with_handler(users)


def _client(httpserver: HTTPServer, client_id: str) -> ManagementClient:
    return ManagementClient(httpserver.url_for("/").rstrip("/"), client_id, "secret")


def test_iter_users_follows_next_token_lazily(httpserver: HTTPServer) -> None:
    requested: list[str | None] = []
    _serve(httpserver, requested)
    client = _client(httpserver, "pagination-lazy")

    users = client.iter_users(page_size=2)
    assert requested == []  # nothing fetched until iteration starts
    first_three = [u.id for u in islice(users, 3)]
    assert first_three == ["kp_1", "kp_2", "kp_3"]
    assert requested == [None, "t2"]  # only the pages needed so far

    assert [u.id for u in users] == ["kp_4", "kp_5"]
    assert requested == [None, "t2", "t3"]


def test_paginate_stops_when_the_server_repeats_a_token(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/oauth2/token", method="POST").respond_with_json(
        {"access_token": "tok", "expires_in": 3600}
    )
    httpserver.expect_request("/api/v1/roles").respond_with_json(
        {"roles": [{"id": "r1", "key": "admin"}], "next_token": "same"}
    )
    client = _client(httpserver, "pagination-repeat")
    roles = list(client.iter_roles())
    # First page, then one page for the token, then the repeat is detected.
    assert [r.id for r in roles] == ["r1", "r1"]


def test_paginate_max_pages(httpserver: HTTPServer) -> None:
    requested: list[str | None] = []
    _serve(httpserver, requested)
    client = _client(httpserver, "pagination-max")
    ids = [u.id for u in client.paginate(client.users.get_users, "users", max_pages=2)]
    assert ids == ["kp_1", "kp_2", "kp_3", "kp_4"]
    assert requested == [None, "t2"]
