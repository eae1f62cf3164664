"""Edge cases found in the final review: odd-but-signed webhook fields, a token time past
what datetime holds, secrets in an Account API call's repr, drifted answers read by the
README conveniences."""

from __future__ import annotations

from typing import Any

import pytest

from kinde_sdk.account._core import AccountCore
from kinde_sdk.auth import Claims
from kinde_sdk.errors import InvalidWebhookError
from kinde_sdk.management import _seed_core
from kinde_sdk.webhooks import WebhookEvent, parse_event


@pytest.mark.parametrize("source", [5, [1], {"a": 1}])
def test_a_signed_event_with_an_odd_source_is_still_delivered(source: Any) -> None:
    event = parse_event({"event_id": "e1", "type": "user.created", "source": source})
    assert event.id == "e1" and event.source is None
    assert event.claims["source"] == source  # nothing lost: the value as signed


def test_a_signed_event_whose_data_is_not_an_object_keeps_it_in_claims() -> None:
    event = parse_event({"event_id": "e2", "type": "no.such.type", "data": "text"})
    assert type(event) is WebhookEvent
    assert event.data == {} and event.claims["data"] == "text"


def test_an_event_id_that_is_not_a_string_is_a_webhook_error_not_a_crash() -> None:
    with pytest.raises(InvalidWebhookError, match="event_id and type must be strings"):
        parse_event({"event_id": 7, "type": ["user.created"]})


def test_an_exp_past_what_datetime_holds_reads_as_none() -> None:
    claims = Claims({"sub": "u", "iss": "https://x", "exp": 10**20})
    assert claims.expires_at is None


def test_an_account_call_repr_never_shows_the_token_or_secret() -> None:
    flow = AccountCore("https://acme.kinde.com").revoke(
        "eyJ.secret-token", client_id="cid", client_secret="S3CRET-value"
    )
    call = next(flow)
    assert "secret-token" not in repr(call) and "S3CRET" not in repr(call)
    assert call.form is not None  # still sent


def _drive(flow: Any, answer: Any) -> Any:
    next(flow)
    try:
        flow.send(answer)
    except StopIteration as done:
        return done.value
    raise AssertionError("the flow asked for a second call")


def test_feature_flags_from_a_body_kept_as_plain_dicts() -> None:
    body = {"code": "OK", "feature_flags": {"b": {"type": "bool", "value": True}, "a": {}}}
    result = _drive(_seed_core.get_feature_flags(None), body)
    assert [(f.key, f.type, f.value) for f in result.feature_flags] == [
        ("a", None, None),
        ("b", "bool", True),
    ]
    assert result.code == "OK"


def test_feature_flags_from_a_drifted_or_empty_answer_is_an_empty_list() -> None:
    for answer in (None, {"feature_flags": "not an object"}):
        assert _drive(_seed_core.get_feature_flags(None), answer).feature_flags == []


def test_the_token_backoff_never_overflows_however_long_the_outage() -> None:
    from kinde_sdk._token_core import BACKOFF_MAX, backoff_delay

    # 2.0 ** 1024 overflows a float: after ~1,000 failures in a row the cache used to
    # raise inside its failure handler and leave the flight stuck for every caller.
    assert backoff_delay(5000, lambda: 1.0) == BACKOFF_MAX
    assert 0 < backoff_delay(1, lambda: 0.0) <= backoff_delay(2, lambda: 0.0)


def test_async_client_credentials_forget_the_state_of_finished_loops() -> None:
    import asyncio

    from kinde_sdk.auth import AsyncClientCredentials

    credentials = AsyncClientCredentials(
        "https://acme.kinde.com", client_id="cid", client_secret="secret"
    )

    async def touch() -> None:
        credentials._here()

    for _ in range(5):  # one asyncio.run() per job, as scripts and workers do
        asyncio.run(touch())
    assert len(credentials._loops) <= 1
