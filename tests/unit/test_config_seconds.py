"""kinde_sdk._config.check_seconds: the one check every "seconds" setting goes through
(timeouts, TTLs, margins, tolerances, lock waits)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from kinde_sdk._config import check_seconds
from kinde_sdk.errors import KindeConfigurationError


@pytest.mark.parametrize("value", [0.5, 1, 30, 86_400.0])
def test_positive_finite_numbers_pass_as_floats(value: float) -> None:
    assert check_seconds(value, "x") == float(value)
    assert type(check_seconds(value, "x")) is float


@pytest.mark.parametrize(
    "value", [0, -1, -0.5, math.nan, math.inf, -math.inf, True, False, "30", None, [1]]
)
def test_anything_else_names_the_setting(value: Any) -> None:
    with pytest.raises(
        KindeConfigurationError, match=r"^lock_wait must be a finite number of seconds > 0$"
    ):
        check_seconds(value, "lock_wait")


def test_zero_passes_where_allowed_and_nan_still_does_not() -> None:
    assert check_seconds(0, "leeway", allow_zero=True) == 0.0
    for value in (-1, math.nan, math.inf):
        with pytest.raises(KindeConfigurationError, match=">= 0"):
            check_seconds(value, "leeway", allow_zero=True)


def test_it_is_a_value_error_for_callers_that_catch_those() -> None:
    with pytest.raises(ValueError):
        check_seconds(-1, "ttl")
