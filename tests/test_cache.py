"""Cache keys, finality and the response cache (unit level; the client tests cover the wiring)."""

from datetime import UTC, date, datetime

import pytest

from spend.cache import NON_FINAL_TTL, ResponseCache, cache_key, normalize_params
from spend.dates import is_final
from tests.clock import FakeClock


@pytest.mark.parametrize(
    "spelling",
    [
        {"group_by[]": ["model", "project_id"], "start_time": 10},
        {"start_time": "10", "group_by": ["project_id", "model"]},
        [("group_by", "model"), ("start_time", 10), ("group_by[]", "project_id")],
        {"start_time": 10, "group_by": ("model", "project_id"), "page": None},
    ],
)
def test_cache_key__spellings_of_the_same_request_share_a_key(spelling):
    reference = cache_key(
        "/organization/usage/completions",
        {"start_time": 10, "group_by": ["model", "project_id"]},
        "fp",
    )
    assert cache_key("organization/usage/completions/", spelling, "fp") == reference


@pytest.mark.parametrize(
    "endpoint, params, fingerprint",
    [
        ("/usage", {"date": "2024-01-02"}, "fp"),  # other day
        ("/usage", {"date": "2024-01-01", "user_public_id": "user-x"}, "fp"),  # per user
        ("/usage", {"date": "2024-01-01"}, "other-fp"),  # other credential
        ("/organization/costs", {"date": "2024-01-01"}, "fp"),  # other endpoint
    ],
)
def test_cache_key__different_requests_or_credentials_differ(endpoint, params, fingerprint):
    assert cache_key(endpoint, params, fingerprint) != cache_key(
        "/usage", {"date": "2024-01-01"}, "fp"
    )


@pytest.mark.parametrize(
    "params, expected",
    [
        (None, []),
        ({}, []),
        ({"a": True, "b": False}, [("a", "true"), ("b", "false")]),
        ({"x[]": ["b", "a"]}, [("x", "a"), ("x", "b")]),
        ({"n": None}, []),
    ],
)
def test_normalize_params__table(params, expected):
    assert normalize_params(params) == expected


UTC = UTC


@pytest.mark.parametrize(
    "day, now, final",
    [
        (date(2024, 1, 1), datetime(2024, 1, 4, 0, 0, tzinfo=UTC), True),  # ended exactly 48 h ago
        (date(2024, 1, 1), datetime(2024, 1, 3, 23, 59, tzinfo=UTC), False),  # 47:59 ago
        (date(2024, 1, 1), datetime(2024, 1, 1, 12, 0, tzinfo=UTC), False),  # today
        (date(2023, 6, 1), datetime(2024, 1, 1, tzinfo=UTC), True),
        (date(2024, 1, 1), datetime(2024, 1, 5), True),  # naive now is taken as UTC
    ],
)
def test_is_final__48_hours_after_the_day_ended(day, now, final):
    assert is_final(day, now) is final


def test_response_cache__final_entries_never_expire_and_others_do(tmp_path):
    clock = FakeClock()
    cache = ResponseCache(tmp_path, clock=clock)
    cache.set("final", {"a": 1}, final=True)
    cache.set("fresh", {"b": 2}, final=False)
    assert cache.get("final") == {"a": 1} and cache.get("fresh") == {"b": 2}
    clock.advance(NON_FINAL_TTL + 1)
    assert cache.get("final") == {"a": 1}
    assert cache.get("fresh") is None
    clock.advance(10 * 365 * 86400)
    assert cache.get("final") == {"a": 1}


def test_response_cache__survives_reopening(tmp_path):
    ResponseCache(tmp_path).set("k", {"x": [1, 2]}, final=True)
    assert ResponseCache(tmp_path).get("k") == {"x": [1, 2]}
