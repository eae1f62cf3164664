"""The Account API core without I/O: each flow is stepped by hand with canned responses."""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest

from kinde_sdk._transport import Response
from kinde_sdk.account._core import AccountCore, Call, Flow, drive
from kinde_sdk.errors import (
    KindeAPIError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
)

ORIGIN = "https://acme.kinde.com"


def answer(body: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(status=status, headers=headers or {}, data=data, request_id="rid", raw=None)


def run(flow: Flow[Any], *answers: Response) -> tuple[Any, list[Call]]:
    calls: list[Call] = []
    pending = list(answers)

    def send(call: Call) -> Response:
        calls.append(call)
        return pending.pop(0)

    result = drive(flow, send)
    assert not pending, "every canned answer was used"
    return result, calls


def test_the_entitlement_key_is_one_percent_encoded_path_segment() -> None:
    body = {"data": {"entitlement": {"feature_key": "a/b c"}}}
    result, calls = run(AccountCore(ORIGIN).entitlement("a/b c"), answer(body))
    assert calls[0].url(ORIGIN) == f"{ORIGIN}/account_api/v1/entitlement/a%2Fb%20c"
    assert result.feature_key == "a/b c"
    none, _ = run(AccountCore(ORIGIN).entitlement("x"), answer({"data": {"entitlement": None}}))
    assert none is None


def test_the_portal_link_sends_subnav_and_refuses_unknown_values() -> None:
    _, calls = run(
        AccountCore(ORIGIN).portal_link("profile", "https://app/"), answer({"url": "https://p"})
    )
    assert calls[0].query == (("subnav", "profile"), ("return_url", "https://app/"))
    with pytest.raises(ValueError, match="subnav"):
        run(AccountCore(ORIGIN).portal_link("sub_nav"))


def test_pages_follow_the_cursor_and_keep_the_first_page_s_data() -> None:
    core = AccountCore(ORIGIN)
    pages = [
        answer(
            {
                "data": {"org_code": "org_1", "permissions": [{"id": "p1", "key": "a"}]},
                "metadata": {"has_more": True, "next_page_starting_after": "p1"},
            }
        ),
        answer(
            {
                "data": {"org_code": "org_1", "permissions": [{"id": "p2", "key": "b"}]},
                "metadata": {"has_more": True},  # no cursor: the last item's id
            }
        ),
        answer({"data": {"permissions": [{"id": "p3", "key": "c"}]}, "metadata": {}}),
    ]
    result, calls = run(core.permissions(page_size=1), *pages)
    assert result.keys == ["a", "b", "c"] and result.org_code == "org_1"
    assert [dict(c.query).get("starting_after") for c in calls] == [None, "p1", "p2"]
    assert all(dict(c.query)["page_size"] == "1" for c in calls)


def test_a_cursor_that_does_not_advance_is_an_error_not_a_loop() -> None:
    page = answer(
        {
            "data": {"roles": [{"id": "r1"}]},
            "metadata": {"has_more": True, "next_page_starting_after": "r1"},
        }
    )
    with pytest.raises(KindeAPIError, match="cursor"):
        run(AccountCore(ORIGIN).roles(), page, page)
    with pytest.raises(ValueError):
        run(AccountCore(ORIGIN).roles(page_size=0))


def test_errors_are_typed_and_a_non_json_success_is_an_error() -> None:
    core = AccountCore(ORIGIN)
    with pytest.raises(PermissionDeniedError):
        run(core.user_profile(), answer(b"", 403))
    with pytest.raises(RateLimitError) as caught:
        run(core.roles(), answer(b"", 429, {"Retry-After": "12"}))
    assert caught.value.retry_after == 12.0
    for body in (b"<html>oops</html>", b"", b"[]"):
        with pytest.raises(KindeAPIError, match="JSON object"):
            run(core.user_profile(), answer(body))


def test_lenient_reading_keeps_everything_sent() -> None:
    body = {"sub": "kp_1", "email": 42, "new_field": {"x": 1}}
    profile, _ = run(AccountCore(ORIGIN).user_profile(), answer(body))
    assert profile.sub == "kp_1"
    assert profile.email is None  # not a string: not typed as one
    assert profile.raw == body  # and still there, with the field the spec lacks


def test_strict_mode_reports_drift_and_accepts_every_one_of_value() -> None:
    strict = AccountCore(ORIGIN, strict=True)
    for value in (True, 3, "dark", {"a": 1}):
        flags = {"data": {"feature_flags": [{"key": "f", "type": "x", "value": value}]}}
        result, _ = run(strict.feature_flags(), answer(flags))
        assert result.get("f").value == value
    drifted = {"data": {"feature_flags": [{"key": "f", "value": [1]}]}, "surprise": 1}
    with pytest.raises(ResponseValidationError) as caught:
        run(strict.feature_flags(), answer(drifted))
    assert sorted(caught.value.problems) == [
        "data.feature_flags.0.value: model_type",
        "surprise: extra_forbidden",
    ]


def test_lenient_mode_logs_each_difference_once(caplog: pytest.LogCaptureFixture) -> None:
    from kinde_sdk._lenient import reset_drift_warnings

    reset_drift_warnings()
    drifted = {"data": {"feature_flags": [{"key": "f", "value": [1]}]}, "surprise": 1}
    with caplog.at_level("WARNING", logger="kinde_sdk.management"):
        for _ in range(3):
            lenient, _ = run(AccountCore(ORIGIN).feature_flags(), answer(drifted))
            assert len(lenient) == 1 and lenient.get("f").raw["value"] == [1]
    logged = sorted(r.getMessage().split(": ", 1)[1].split(" The value")[0] for r in caplog.records)
    assert logged == [
        "GetFeatureFlagsResponse.data.feature_flags.value model_type.",
        "GetFeatureFlagsResponse.surprise extra_forbidden.",
    ]
    reset_drift_warnings()


def test_construction_checks_its_arguments() -> None:
    from kinde_sdk.account import AccountClient, AsyncAccountClient
    from kinde_sdk.errors import KindeConfigurationError

    for build in (
        lambda: AccountClient(domain="acme.kinde.com"),  # neither token nor session
        lambda: AccountClient(42, domain="acme.kinde.com"),  # type: ignore[arg-type]
        lambda: AccountClient("t", domain="http://acme.kinde.com"),  # plain http, not loopback
        lambda: AccountClient(oauth=object()),  # type: ignore[arg-type]
        lambda: AsyncAccountClient(oauth=object()),  # type: ignore[arg-type]
    ):
        with pytest.raises(KindeConfigurationError):
            build()
    with pytest.raises(KindeConfigurationError, match="client_id"):
        AccountClient("t", domain="acme.kinde.com").revoke("x")


def test_a_401_is_replayed_once_with_a_renewed_token_and_renewal_is_shared() -> None:
    from kinde_sdk.account._core import TOKEN, Refresh, Renew, Send

    core = AccountCore(ORIGIN)
    call = Call("GET", "/oauth2/v2/user_profile")
    flow = core.exchange(call, renewable=True)
    assert next(flow) is TOKEN
    assert flow.send("old") == Send(call, "old")
    assert flow.send(answer(b"", 401)) == Renew("old")
    # The first renewal asks the source, which still has the old token: a refresh.
    renew = core.renew("old")
    assert next(renew) is TOKEN
    assert renew.send("old") == Refresh("old")
    assert renew.send(None) is TOKEN
    with pytest.raises(StopIteration) as done:
        renew.send("new")
    assert done.value.value == "new"
    assert flow.send("new") == Send(call, "new")
    with pytest.raises(StopIteration) as replayed:
        flow.send(answer({"sub": "kp_1"}))
    assert replayed.value.value.status == 200
    # Another call that got the 401 with the old token: the same new one, no refresh.
    with pytest.raises(StopIteration) as shared:
        next(core.renew("old"))
    assert shared.value.value == "new"
    # A fixed token (not renewable): the 401 is the answer, nothing else is asked.
    fixed = core.exchange(call, renewable=False)
    next(fixed)
    fixed.send("t")
    with pytest.raises(StopIteration) as raised:
        fixed.send(answer(b"", 401))
    assert raised.value.value.status == 401


def test_a_valid_body_is_parsed_once_and_only_a_drifted_one_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A body that matches the spec costs one strict ``model_validate_json`` pass and no
    other parse; only one that fails it is read again (as sent) and its drift logged."""
    from kinde_sdk._lenient import reset_drift_warnings
    from kinde_sdk_account_generated.models.user_profile_v2 import UserProfileV2

    counts = {"validate_json": 0, "loads": 0}
    validate_json, loads = UserProfileV2.model_validate_json, json.loads

    def counting_validate_json(data: Any, *args: Any, **kwargs: Any) -> Any:
        counts["validate_json"] += 1
        return validate_json(data, *args, **kwargs)

    def counting_loads(data: Any, *args: Any, **kwargs: Any) -> Any:
        counts["loads"] += 1
        return loads(data, *args, **kwargs)

    monkeypatch.setattr(UserProfileV2, "model_validate_json", counting_validate_json)
    monkeypatch.setattr(json, "loads", counting_loads)
    valid = {"sub": "kp_1", "email": "a@b.c", "email_verified": True, "updated_at": 1612345678}
    sent = answer(valid)
    for core in (AccountCore(ORIGIN), AccountCore(ORIGIN, strict=True)):
        profile, _ = run(core.user_profile(), sent)
        assert profile.email == "a@b.c" and profile.raw == valid
    assert counts == {"validate_json": 2, "loads": 0}  # one pass per call, nothing else

    reset_drift_warnings()
    drifted = answer({"sub": "kp_1", "email": 42, "surprise": {"x": 1}})
    with caplog.at_level("WARNING", logger="kinde_sdk.management"):
        profile, _ = run(AccountCore(ORIGIN).user_profile(), drifted)
    assert profile.raw == {"sub": "kp_1", "email": 42, "surprise": {"x": 1}}
    assert counts == {"validate_json": 3, "loads": 1}  # the strict pass, then as sent
    assert len(caplog.records) == 2  # email, surprise: each logged
    reset_drift_warnings()
