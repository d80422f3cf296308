"""Tables and properties for ``spend.analysis``.

Frames are built with ``usage()``/``billed()`` below: each row starts from ``BASE`` (one priced
gpt-4o call) and overrides what the case is about; an extra ``row`` column names rows so a test can
say which ones a filter keeps. ``big_usage()`` builds a year of 200 users x 25 models with numpy.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spend import analysis as an
from spend.analysis import NO_USER, OTHERS, UNKNOWN
from spend.errors import ConfigError
from spend.schema import conform, empty_frame

BASE = {
    "date": "2026-01-01",
    "source": "demo",
    "project_id": "proj-a",
    "project_name": "Alpha",
    "user_id": "user-1",
    "user_name": "Ann",
    "user_email": "ann@example.com",
    "api_key_id": "key-1",
    "api_key_name": "ci",
    "model": "gpt-4o-2024-08-06",
    "model_family": "gpt-4o",
    "operation": "completion",
    "n_requests": 1,
    "input_tokens": 100,
    "cached_input_tokens": 0,
    "output_tokens": 10,
    "cost_usd": 1.0,
    "cost_basis": "estimated",
}
NO_IDENTITY = {key: None for key in ("user_id", "user_name", "user_email", "model", "model_family")}


def usage(*rows: dict) -> pd.DataFrame:
    """Row overrides into a usage table, e.g. ``usage({"cost_usd": 2.0})`` -> one row costing $2."""
    if not rows:
        return empty_frame().assign(row=pd.Series(dtype="object"))
    records = [{**BASE, "row": index, **row} for index, row in enumerate(rows)]
    return conform(pd.DataFrame.from_records(records))


def billed(cost: float, **row) -> dict:
    """A Costs API row as overrides, e.g. ``billed(2.0, date="2026-01-02")``."""
    return {
        **NO_IDENTITY,
        "project_name": None,
        "api_key_name": None,
        "operation": "cost",
        "n_requests": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": cost,
        "cost_basis": "billed",
        **row,
    }


UNPRICED = {
    "model": "dall-e-3",
    "model_family": "dall-e-3",
    "operation": "image",
    "cost_usd": None,
    "cost_basis": "unpriced",
    "unit": "images",
    "units": 3.0,
    "input_tokens": 0,
    "output_tokens": 0,
}


def big_usage(
    n_rows: int = 1_000_000, *, days: int = 365, users: int = 200, models: int = 25, seed: int = 0
) -> pd.DataFrame:
    """Sizes into a random usage table like the large demo, e.g. ``big_usage(1_000)`` -> 1,000 rows.

    One model in ten is unpriced, one row in ``users + 1`` is org-level, and 1% are billed rows.
    """
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-01-01")
    model_ids = np.array([f"model-{i:02d}" for i in range(models)], dtype=object)
    user_ids = np.array([f"user-{i:03d}" for i in range(users)] + [None], dtype=object)
    picks = rng.integers(0, models, n_rows)
    model = model_ids[picks]
    is_unpriced = picks % 10 == 3
    is_billed = rng.random(n_rows) < 0.01
    basis = np.where(is_billed, "billed", np.where(is_unpriced, "unpriced", "estimated"))
    frame = pd.DataFrame(
        {
            "date": start + pd.to_timedelta(rng.integers(0, days, n_rows), unit="D"),
            "source": "demo",
            "project_id": np.array(["proj-a", "proj-b", "proj-c"], dtype=object)[
                rng.integers(0, 3, n_rows)
            ],
            "user_id": np.where(is_billed, None, user_ids[rng.integers(0, users + 1, n_rows)]),
            "api_key_id": np.array([f"key-{i}" for i in range(10)], dtype=object)[
                rng.integers(0, 10, n_rows)
            ],
            "model": np.where(is_billed, None, model),
            "model_family": np.where(is_billed, None, model),
            "operation": np.where(is_billed, "cost", "completion"),
            "n_requests": np.where(is_billed, 0, rng.integers(1, 50, n_rows)),
            "input_tokens": np.where(is_billed, 0, rng.integers(0, 10_000, n_rows)),
            "cached_input_tokens": 0,
            "output_tokens": np.where(is_billed, 0, rng.integers(0, 1_000, n_rows)),
            "cost_usd": np.where(is_unpriced & ~is_billed, np.nan, rng.random(n_rows)),
            "cost_basis": basis,
        }
    )
    return conform(frame)


# --- filter_usage ---------------------------------------------------------------------------------

FILTER_ROWS = usage(
    {"date": "2026-01-01"},
    {"date": "2026-01-02", "user_id": "user-2", "model": "o3", "api_key_id": "key-2"},
    {"date": "2026-01-03", **{"user_id": None, "user_name": None, "user_email": None}},
    billed(5.0, date="2026-01-02"),
    billed(1.0, date="2026-01-03", project_id="proj-b", api_key_id=None),
    {"date": "2026-01-04", "project_id": None},
)


@pytest.mark.parametrize(
    ("kwargs", "expected_rows"),
    [
        ({}, [0, 1, 2, 3, 4, 5]),
        ({"start": "2026-01-02", "end": "2026-01-03"}, [1, 2, 3, 4]),
        ({"start": dt.date(2026, 1, 3)}, [2, 4, 5]),
        ({"end": dt.datetime(2026, 1, 1, 23, 59)}, [0]),  # the end day is kept whole
        (
            {"end": pd.Timestamp("2026-01-02T05:00", tz="Europe/Paris")},
            [0, 1, 3],
        ),  # 04:00 UTC on the 2nd
        ({"start": "2026-02-01"}, []),
        ({"models": ["o3"]}, [1]),  # billed rows have no model: dropped
        ({"models": ["nope"]}, []),
        ({"users": ["user-1"]}, [0, 5]),
        ({"users": [NO_USER]}, [2]),  # org-level usage, never billed rows
        ({"users": ["user-2", NO_USER]}, [1, 2]),
        ({"projects": ["proj-b"]}, [4]),  # billed rows kept by project
        ({"projects": ["proj-a"]}, [0, 1, 2, 3]),
        ({"api_keys": ["key-1"]}, [0, 2, 3, 5]),
        ({"models": [], "users": [], "projects": None}, [0, 1, 2, 3, 4, 5]),  # nothing picked = all
        ({"users": ["user-1"], "start": "2026-01-04"}, [5]),
    ],
)
def test_filter_usage__table(kwargs, expected_rows):
    result = an.filter_usage(FILTER_ROWS, **kwargs)
    assert result["row"].tolist() == expected_rows
    assert list(result.columns) == list(FILTER_ROWS.columns)


def test_filter_usage__empty_frame_and_input_untouched():
    before = FILTER_ROWS.copy()
    assert an.filter_usage(usage(), models=["x"], start="2026-01-01").empty
    an.filter_usage(FILTER_ROWS, users=[NO_USER], start="2026-01-02")
    pd.testing.assert_frame_equal(FILTER_ROWS, before)


# --- options --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ((), {"models": [], "users": [], "projects": [], "api_keys": []}),
        (
            ({},),
            {
                "models": [("gpt-4o-2024-08-06", "gpt-4o-2024-08-06")],
                "users": [("user-1", "Ann <ann@example.com>")],
                "projects": [("proj-a", "Alpha")],
                "api_keys": [("key-1", "ci")],
            },
        ),
        (
            (
                {"model": "cheap", "cost_usd": 0.5, "user_id": "u-e", "user_name": None},
                {"model": "dear", "cost_usd": 3.0, "user_id": "u-n", "user_email": None},
                {
                    **UNPRICED,
                    "input_tokens": 5,
                    "user_id": "u-id",
                    "user_name": None,
                    "user_email": None,
                },
                {
                    "model": None,
                    "cost_usd": 0.1,
                    "user_id": None,
                    "user_name": None,
                    "user_email": None,
                },
            ),
            {
                "models": [("dear", "dear"), ("cheap", "cheap"), ("dall-e-3", "dall-e-3")],
                "users": [
                    ("u-n", "Ann"),
                    ("u-e", "ann@example.com"),
                    (NO_USER, NO_USER),
                    ("u-id", "u-id"),
                ],
                "projects": [("proj-a", "Alpha")],
                "api_keys": [("key-1", "ci")],
            },
        ),
        (  # billed money ranks projects; billed-only projects count; billed rows add no "(no user)"
            (
                {"project_id": "proj-a", "cost_usd": 9.0},
                {"project_id": "proj-b", "project_name": None, "cost_usd": 1.0, "api_key_id": None},
                billed(1.0, project_id="proj-a"),
                billed(2.0, project_id="proj-b", api_key_id="key-9"),
                billed(3.0, project_id="proj-c", project_name="Gamma", api_key_id="key-9"),
            ),
            {
                "models": [("gpt-4o-2024-08-06", "gpt-4o-2024-08-06")],
                "users": [("user-1", "Ann <ann@example.com>")],
                "projects": [("proj-c", "Gamma"), ("proj-b", "proj-b"), ("proj-a", "Alpha")],
                "api_keys": [("key-9", "key-9"), ("key-1", "ci")],
            },
        ),
        (  # equal money: more tokens first, then label
            (
                {"model": "b", "cost_usd": 1.0, "input_tokens": 10},
                {"model": "a", "cost_usd": 1.0, "input_tokens": 10},
                {"model": "c", "cost_usd": 1.0, "input_tokens": 999},
            ),
            {
                "models": [("c", "c"), ("a", "a"), ("b", "b")],
                "users": [("user-1", "Ann <ann@example.com>")],
                "projects": [("proj-a", "Alpha")],
                "api_keys": [("key-1", "ci")],
            },
        ),
    ],
    ids=["empty", "one-row", "labels-and-unpriced", "billed", "ties"],
)
def test_options__table(rows, expected):
    assert an.options(usage(*rows)) == expected


def test_options__providers_by_spend_and_filter_usage_keeps_one():
    table = usage(
        {"model": "gpt-4o", "cost_usd": 1.0},
        {"model": "claude-sonnet-4-5", "cost_usd": 5.0},
        billed(2.0, project_id="proj-a"),
    )
    table["provider"] = pd.Series(["openai", "anthropic", "openai"], dtype="string")
    assert an.options(table)["providers"] == [("anthropic", "Anthropic"), ("openai", "OpenAI")]
    kept = an.filter_usage(table, providers=["openai"])
    assert list(kept["provider"]) == ["openai", "openai"]  # billed rows stay with their provider
    assert an.filter_usage(table, providers=[]) is table


# --- totals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "period", "expected"),
    [
        (
            (),
            (None, None),
            {
                "spend": 0.0,
                "basis": "estimated",
                "billed": None,
                "gap": None,
                "days": 0,
                "avg_spend_per_day": 0.0,
                "unpriced_share": 0.0,
                "priced_share": 1.0,
            },
        ),
        ((), ("2026-01-01", "2026-01-10"), {"spend": 0.0, "days": 10, "requests": 0}),
        (
            ({},),
            (None, None),
            {
                "spend": 1.0,
                "estimated": 1.0,
                "requests": 1,
                "total_tokens": 110,
                "days": 1,
                "avg_spend_per_day": 1.0,
                "unpriced_rows": 0,
            },
        ),
        (
            ({"cost_usd": 2.0, "n_requests": 3}, {**UNPRICED, "n_requests": 1, "input_tokens": 10}),
            ("2026-01-01", "2026-01-04"),
            {
                "spend": 2.0,
                "estimated": 2.0,
                "requests": 4,
                "days": 4,
                "avg_spend_per_day": 0.5,
                "unpriced_rows": 1,
                "unpriced_requests": 1,
                "unpriced_tokens": 10,
                "unpriced_token_share": 10 / 120,
                "unpriced_request_share": 0.25,
                "unpriced_share": 0.25,
                "priced_share": 0.75,
            },
        ),
        (  # an "estimated" row without a cost is still unpriced, never $0
            ({"cost_usd": None},),
            (None, None),
            {"estimated": 0.0, "unpriced_rows": 1, "unpriced_share": 1.0, "priced_share": 0.0},
        ),
        (  # billed rows make the headline, and the gap shows
            ({"cost_usd": 2.0}, billed(2.5), billed(0.25, date="2026-01-02")),
            ("2026-01-01", "2026-01-02"),
            {
                "spend": 2.75,
                "basis": "billed",
                "estimated": 2.0,
                "billed": 2.75,
                "gap": 0.75,
                "requests": 1,
                "avg_spend_per_day": 1.375,
            },
        ),
        (  # rows outside the period are ignored
            (
                {"cost_usd": 2.0},
                {"date": "2026-01-05", "cost_usd": 7.0},
                billed(9.0, date="2026-01-06"),
            ),
            ("2026-01-02", "2026-01-05"),
            {"spend": 7.0, "basis": "estimated", "billed": None, "days": 4},
        ),
        (
            ({"input_tokens": 100, "cached_input_tokens": 40, "output_tokens": 5},),
            (None, None),
            {
                "input_tokens": 100,
                "cached_input_tokens": 40,
                "output_tokens": 5,
                "total_tokens": 105,
            },
        ),
    ],
    ids=["empty", "empty-period", "one-row", "unpriced", "na-cost", "billed", "period", "tokens"],
)
def test_totals__table(rows, period, expected):
    result = an.totals(usage(*rows), start=period[0], end=period[1])
    assert {name: getattr(result, name) for name in expected} == pytest.approx(expected)


# --- previous_period and compare ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (dt.date(2026, 1, 8), dt.date(2026, 1, 14), (dt.date(2026, 1, 1), dt.date(2026, 1, 7))),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 1), (dt.date(2026, 2, 28), dt.date(2026, 2, 28))),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 31), (dt.date(2026, 1, 29), dt.date(2026, 2, 28))),
        (dt.date(2024, 3, 1), dt.date(2024, 3, 2), (dt.date(2024, 2, 28), dt.date(2024, 2, 29))),
        (
            pd.Timestamp("2026-01-08"),
            pd.Timestamp("2026-01-09"),
            (pd.Timestamp("2026-01-06"), pd.Timestamp("2026-01-07")),
        ),
        (
            dt.datetime(2026, 1, 8),
            dt.datetime(2026, 1, 8, 23),
            (dt.datetime(2026, 1, 7), dt.datetime(2026, 1, 7)),
        ),
        ("2026-01-08", "2026-01-09", (dt.date(2026, 1, 6), dt.date(2026, 1, 7))),
    ],
)
def test_previous_period__table(start, end, expected):
    result = an.previous_period(start, end)
    assert result == expected
    assert type(result[0]) is type(expected[0])


def test_previous_period__end_before_start_is_a_config_error():
    with pytest.raises(ConfigError, match="before it starts"):
        an.previous_period(dt.date(2026, 1, 2), dt.date(2026, 1, 1))


COMPARE_ROWS = usage(
    {"date": "2026-01-01", "cost_usd": 4.0, "n_requests": 2},
    {"date": "2026-01-02", "cost_usd": 4.0, "n_requests": 2},
    {"date": "2026-01-03", "cost_usd": 6.0, "n_requests": 4},
    {"date": "2026-01-04", "cost_usd": 6.0, "n_requests": 4, "cached_input_tokens": 50},
)


@pytest.mark.parametrize(
    ("name", "current", "previous", "pct_change"),
    [
        ("spend", 12.0, 8.0, 0.5),
        ("estimated", 12.0, 8.0, 0.5),
        ("requests", 8, 4, 1.0),
        ("total_tokens", 220, 220, 0.0),
        ("avg_spend_per_day", 6.0, 4.0, 0.5),
        ("cached_input_tokens", 50, 0, None),  # nothing before: no percentage
        ("unpriced_share", 0.0, 0.0, None),
    ],
)
def test_compare__table(name, current, previous, pct_change):
    delta = an.compare(COMPARE_ROWS, start="2026-01-03", end="2026-01-04")[name]
    assert (delta.current, delta.previous, delta.abs_change) == pytest.approx(
        (current, previous, current - previous)
    )
    assert delta.pct_change == (None if pct_change is None else pytest.approx(pct_change))


def _months(march_per_day: float, february_per_day: float) -> pd.DataFrame:
    """Every day of February and March 2026 at a fixed spend and 10 requests a day."""
    rows = [
        {"date": day.date().isoformat(), "cost_usd": per_day, "n_requests": 10}
        for days, per_day in (
            (pd.date_range("2026-02-01", "2026-02-28"), february_per_day),
            (pd.date_range("2026-03-01", "2026-03-31"), march_per_day),
        )
        for day in days
    ]
    return usage(*rows)


@pytest.mark.parametrize(
    ("name", "current", "previous", "pct_change"),
    [
        # March ($104 a day x 31) against February ($100 a day x 28): +4 % per day, where the
        # totals ($3,224 against $2,800) would read +15.1 %
        ("spend", 104.0, 100.0, 0.04),
        ("estimated", 104.0, 100.0, 0.04),
        ("requests", 10.0, 10.0, 0.0),  # 10 a day both months: no change, not +10.7 %
        ("avg_spend_per_day", 104.0, 100.0, 0.04),  # already per day
    ],
)
def test_compare__months_of_different_lengths_compare_per_day(name, current, previous, pct_change):
    frame = _months(march_per_day=104.0, february_per_day=100.0)
    delta = an.compare(
        frame,
        start=dt.date(2026, 3, 1),
        end=dt.date(2026, 3, 31),
        previous=(dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
    )[name]
    assert (delta.current, delta.previous) == pytest.approx((current, previous))
    assert delta.pct_change == pytest.approx(pct_change)


def test_compare__equal_lengths_compare_totals():
    frame = _months(march_per_day=104.0, february_per_day=100.0)
    delta = an.compare(frame, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 28))["spend"]
    assert (delta.current, delta.previous) == pytest.approx((28 * 104.0, 28 * 100.0))


def test_compare__every_listed_metric_present():
    assert set(an.compare(usage(), start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 7))) == set(
        an.COMPARED
    )


# --- daily ----------------------------------------------------------------------------------------

DAILY_ROWS = usage(
    {"date": "2026-01-01", "model_family": "gpt-4o", "cost_usd": 5.0},
    {"date": "2026-01-03", "model_family": "gpt-4o", "cost_usd": 1.0},
    {"date": "2026-01-01", "model_family": "o3", "cost_usd": 3.0, "n_requests": 7},
    {"date": "2026-01-02", "model_family": "mini", "cost_usd": 0.5},
    {"date": "2026-01-02", "model_family": "nano", "cost_usd": 0.25},
    {"date": "2026-01-02", "model_family": None, "cost_usd": 0.1},
    {**UNPRICED, "date": "2026-01-02", "n_requests": 4},
    billed(100.0, date="2026-01-02"),
)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (  # every day, zeros filled, unpriced model (no cost) left out, billed rows not in here
            {"top_n": 10},
            {
                "gpt-4o": [5.0, 0.0, 1.0],
                "o3": [3.0, 0.0, 0.0],
                "mini": [0.0, 0.5, 0.0],
                "nano": [0.0, 0.25, 0.0],
                UNKNOWN: [0.0, 0.1, 0.0],
            },
        ),
        (
            {"top_n": 2},
            {"gpt-4o": [5.0, 0.0, 1.0], "o3": [3.0, 0.0, 0.0], OTHERS: [0.0, 0.85, 0.0]},
        ),
        ({"top_n": 0, "other_label": "rest"}, {"rest": [8.0, 0.85, 1.0]}),
        ({"by": None}, {an.ALL: [8.0, 0.85, 1.0]}),
        (
            {"value": "n_requests", "top_n": 2},
            {"o3": [7.0, 0.0, 0.0], "dall-e-3": [0.0, 4.0, 0.0], OTHERS: [1.0, 3.0, 1.0]},
        ),
        (
            {"start": "2025-12-31", "end": "2026-01-02", "by": None},
            {an.ALL: [0.0, 8.0, 0.85]},
        ),
        ({"by": "user_id", "value": "total_tokens"}, {"user-1": [220.0, 330.0, 110.0]}),
    ],
    ids=["all-groups", "others", "top-0", "by-none", "requests", "range", "tokens-by-user"],
)
def test_daily__table(kwargs, expected):
    result = an.daily(DAILY_ROWS, **kwargs)
    assert list(result.columns) == ["date", "group", "value"]
    assert list(pd.unique(result["group"])) == list(expected)  # ranked, others last
    days = sorted(result["date"].unique())
    assert len(result) == len(days) * len(expected)
    got = {
        group: [round(v, 9) for v in rows.sort_values("date")["value"]]
        for group, rows in result.groupby("group")
    }
    assert got == {group: [round(v, 9) for v in values] for group, values in expected.items()}


@pytest.mark.parametrize(
    ("rows", "kwargs", "expected_len"),
    [
        ((), {}, 0),
        ((), {"start": "2026-01-01", "end": "2026-01-05"}, 0),  # no group: nothing to draw
        (({},), {"start": "2026-01-01", "end": "2026-01-05"}, 5),
        (({"user_id": None},), {"by": "user_id"}, 1),
        (({"cost_usd": None, "cost_basis": "unpriced"},), {}, 0),
    ],
)
def test_daily__edges(rows, kwargs, expected_len):
    result = an.daily(usage(*rows), **kwargs)
    assert len(result) == expected_len
    assert str(result["date"].dtype) == "datetime64[ns]"


def test_daily__org_level_rows_are_no_user():
    result = an.daily(usage({"user_id": None}), by="user_id")
    assert result["group"].tolist() == [NO_USER]


@pytest.mark.parametrize(
    ("kwargs", "error"), [({"value": "units"}, "sums one of"), ({"by": "colour"}, "groups by")]
)
def test_daily__bad_arguments(kwargs, error):
    with pytest.raises(ValueError, match=error):
        an.daily(DAILY_ROWS, **kwargs)


def test_daily__in_months_a_long_range_keeps_every_group_it_has_room_for():
    """The limit counts bars, not days: 37 months of 9 groups are 333 bars' worth, so the 8
    biggest keep their names (per day, 1127 days leave room for 3)."""
    rows = [
        {"date": f"2026-01-{1 + i % 28:02d}", "model_family": f"m{i}", "cost_usd": 1.0 + i}
        for i in range(20)
    ]
    per_month = an.daily(
        usage(*rows), top_n=8, start="2023-01-01", end="2026-01-31", bucket="month"
    )
    assert per_month["date"].nunique() == 37
    assert list(dict.fromkeys(per_month["group"]))[-1] == OTHERS
    assert per_month["group"].nunique() == 9  # 8 named and the others
    per_day = an.daily(usage(*rows), top_n=8, start="2023-01-01", end="2026-01-31")
    assert per_day["group"].nunique() == an.MAX_CHART_ROWS // 1127
    assert per_month["value"].sum() == pytest.approx(per_day["value"].sum())


def test_daily__long_ranges_stay_under_the_chart_row_limit():
    rows = [
        {"date": f"2026-01-{1 + i % 28:02d}", "model_family": f"m{i}", "cost_usd": 1.0 + i}
        for i in range(20)
    ]
    result = an.daily(usage(*rows), top_n=8, start="2023-01-01", end="2026-01-31")  # 1127 days
    days = 1127
    assert len(result) == days * (an.MAX_CHART_ROWS // days) <= an.MAX_CHART_ROWS
    assert result["group"].iloc[-1] == OTHERS
    assert result["value"].sum() == pytest.approx(sum(1.0 + i for i in range(20)))


# --- by_model -------------------------------------------------------------------------------------

BY_MODEL_COLUMNS = [
    "model",
    "model_family",
    "operation",
    "unit",
    "requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "total_tokens",
    "units",
    "cost_usd",
    "cost_basis",
    "any_unpriced",
    "cost_per_1m_tokens",
    "cost_per_1k_requests",
    "share",
]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ((), []),
        (({},), [("gpt-4o-2024-08-06", 1.0, "estimated", 1e6 / 110, 1000.0, 1.0)]),
        (
            (
                {"model": "a", "cost_usd": 1.0, "n_requests": 2},
                {"model": "a", "cost_usd": 3.0, "n_requests": 2},
                {
                    "model": "b",
                    "cost_usd": 12.0,
                    "input_tokens": 1_000_000,
                    "output_tokens": 0,
                    "n_requests": 1,
                },
                {**UNPRICED, "input_tokens": 7},
                {"model": "c", "cost_usd": 4.0},
                {"model": "c", "cost_usd": None, "cost_basis": "unpriced"},
                billed(50.0),
            ),
            [
                ("b", 12.0, "estimated", 12.0, 12000.0, 0.6),
                ("a", 4.0, "estimated", 4e6 / 220, 1000.0, 0.2),
                ("c", 4.0, "partly unpriced", 4e6 / 220, 2000.0, 0.2),
                ("dall-e-3", None, "unpriced", None, None, None),  # NA, not 0, and last
            ],
        ),
        (({"model": None, "cost_usd": 0.0},), [(UNKNOWN, 0.0, "estimated", 0.0, 0.0, 0.0)]),
        (
            (
                {
                    "model": "z",
                    "n_requests": 0,
                    "input_tokens": 0,
                    "output_tokens": 0,
                    "cost_usd": 0.0,
                },
            ),
            [("z", 0.0, "estimated", None, None, 0.0)],
        ),
    ],
    ids=["empty", "one-row", "mixed", "no-model", "zero-usage"],
)
def test_by_model__table(rows, expected):
    result = an.by_model(usage(*rows))
    assert list(result.columns) == BY_MODEL_COLUMNS
    got = [
        tuple(None if pd.isna(value) else value for value in record)
        for record in result[
            [
                "model",
                "cost_usd",
                "cost_basis",
                "cost_per_1m_tokens",
                "cost_per_1k_requests",
                "share",
            ]
        ]
        .astype(object)
        .itertuples(index=False)
    ]
    assert got == [pytest.approx(row) if None not in row else row for row in expected]


def test_by_model__operation_and_unit_split_rows_and_keep_na():
    rows = usage(
        {"operation": "completion"},
        {"operation": "batch"},
        {**UNPRICED, "model": "gpt-4o-2024-08-06"},
    )
    result = an.by_model(rows)
    assert sorted(result["operation"].tolist()) == ["batch", "completion", "image"]
    assert result["unit"].isna().sum() == 2
    assert result.loc[result["operation"] == "image", "units"].item() == 3.0


# --- by_user --------------------------------------------------------------------------------------


def test_by_user__table_of_users():
    rows = usage(
        {"user_id": "u1", "user_name": "Ann", "model": "a", "cost_usd": 2.0},
        {"user_id": "u1", "user_name": None, "model": "b", "cost_usd": 1.0, "input_tokens": 10_000},
        {**UNPRICED, "user_id": "u1", "input_tokens": 99_999},
        {
            "user_id": "u2",
            "user_name": None,
            "user_email": None,
            "cost_usd": None,
            "cost_basis": "unpriced",
            "model": "x",
            "input_tokens": 5,
        },
        {
            "user_id": "u2",
            "user_name": None,
            "user_email": None,
            "cost_usd": None,
            "cost_basis": "unpriced",
            "model": "y",
            "input_tokens": 50,
        },
        {"user_id": None, "user_name": None, "user_email": None, "model": "a", "cost_usd": 1.0},
        billed(99.0),
    )
    directory = pd.DataFrame(
        {"id": ["u2", "u9"], "name": ["Bob", "Zed"], "email": ["bob@x.io", None]}
    )
    result = an.by_user(rows, users=directory)
    assert result[["user_id", "label", "top_model"]].values.tolist() == [
        ["u1", "Ann <ann@example.com>", "a"],  # by money, not by tokens
        [NO_USER, NO_USER, "a"],
        ["u2", "Bob <bob@x.io>", "y"],  # nothing priced: by tokens; names from the directory
    ]
    assert result["cost_usd"].tolist()[:2] == [3.0, 1.0] and pd.isna(result["cost_usd"].iloc[2])
    assert result["share"].tolist()[:2] == pytest.approx([0.75, 0.25])
    assert result["any_unpriced"].tolist() == [True, False, True]
    assert result["requests"].tolist() == [3, 1, 2]


@pytest.mark.parametrize("rows", [(), (billed(3.0),)], ids=["empty", "billed-only"])
def test_by_user__no_usage_rows(rows):
    result = an.by_user(usage(*rows))
    assert result.empty
    assert "top_model" in result.columns


# --- by_dimension ---------------------------------------------------------------------------------

DIMENSION_ROWS = usage(
    {"project_id": "p1", "project_name": "Prod", "cost_usd": 2.0, "api_key_id": "k1"},
    {
        "project_id": "p1",
        "project_name": None,
        "cost_usd": 1.0,
        "api_key_id": "k2",
        "api_key_name": None,
    },
    {"project_id": "p2", "project_name": None, "cost_usd": 4.0, "operation": "embeddings"},
    {**UNPRICED, "project_id": None},
    billed(3.5, project_id="p1", api_key_id="k1"),
    billed(8.0, project_id="p3", api_key_id=None),
)


@pytest.mark.parametrize(
    ("dim", "expected"),
    [
        (
            "project",
            [
                ("p2", "p2", 4.0, None),
                ("p1", "Prod", 3.0, 3.5),
                ("p3", "p3", None, 8.0),
                (UNKNOWN, UNKNOWN, None, None),
            ],
        ),
        (
            "project_id",
            [
                ("p2", "p2", 4.0, None),
                ("p1", "Prod", 3.0, 3.5),
                ("p3", "p3", None, 8.0),
                (UNKNOWN, UNKNOWN, None, None),
            ],
        ),
        (
            "api_key",
            [
                ("key-1", "ci", 4.0, None),
                ("k1", "ci", 2.0, 3.5),
                ("k2", "k2", 1.0, None),
                (UNKNOWN, UNKNOWN, None, 8.0),
            ],
        ),
        (
            "operation",
            [
                ("embeddings", "embeddings", 4.0, None),
                ("completion", "completion", 3.0, None),
                ("image", "image", None, None),
            ],
        ),
        ("user", [("user-1", "Ann <ann@example.com>", 7.0, None)]),
    ],
)
def test_by_dimension__table(dim, expected):
    result = an.by_dimension(DIMENSION_ROWS, dim)
    got = [
        tuple(None if pd.isna(value) else value for value in record)
        for record in result[["id", "label", "cost_usd", "billed_usd"]]
        .astype(object)
        .itertuples(index=False)
    ]
    assert got == expected  # cost desc, then billed desc, NA last


def test_by_dimension__shares_and_counts():
    result = an.by_dimension(DIMENSION_ROWS, "project").set_index("id")
    assert result.loc["p1", "requests"] == 2 and result.loc["p3", "requests"] == 0
    assert result["share"].sum() == pytest.approx(1.0)
    assert bool(result.loc[UNKNOWN, "any_unpriced"]) and not bool(result.loc["p3", "any_unpriced"])


def test_by_dimension__unknown_dimension():
    with pytest.raises(ValueError, match="unknown dimension"):
        an.by_dimension(DIMENSION_ROWS, "planet")


def test_by_dimension__empty():
    assert an.by_dimension(usage(), "api_key").empty


# --- user_detail ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_id", "models", "cost"),
    [
        ("user-1", ["m-a", "m-b"], 3.0),
        (NO_USER, ["m-c"], 4.0),
        ("nobody", [], 0.0),
    ],
)
def test_user_detail__table(user_id, models, cost):
    rows = usage(
        {"model": "m-a", "cost_usd": 2.0},
        {"model": "m-b", "cost_usd": 1.0, "date": "2026-01-02"},
        {"model": "m-c", "cost_usd": 4.0, "user_id": None},
        billed(10.0),
    )
    series, table = an.user_detail(rows, user_id, start="2026-01-01", end="2026-01-03")
    assert table["model"].tolist() == models
    assert series["value"].sum() == pytest.approx(cost)
    assert len(series) == 3 * len(models)


# --- freshness ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_day", "now", "final_through", "pending", "text"),
    [
        (
            "2026-11-23",
            dt.datetime(2026, 11, 24, 10),
            "2026-11-21",
            2,
            "Data through 2026-11-23; the last 2 days may still change",
        ),
        (
            "2026-11-23",
            dt.datetime(2026, 11, 25, 12),
            "2026-11-22",
            1,
            "Data through 2026-11-23; the last day may still change",
        ),
        (
            "2026-11-23",
            dt.datetime(2026, 11, 26, 0, 0, 1),
            "2026-11-23",
            0,
            "Data through 2026-11-23; every day is final",
        ),
        (
            "2026-11-23",
            dt.datetime(2026, 11, 26, 0, 0, 0),
            "2026-11-22",
            1,  # exactly 48 h: not yet
            "Data through 2026-11-23; the last day may still change",
        ),
        (
            "2026-11-01",
            dt.datetime(2026, 11, 30),
            "2026-11-26",
            0,
            "Data through 2026-11-01; every day is final",
        ),
        (
            "2026-11-23",
            dt.datetime(
                2026, 11, 26, 1, tzinfo=dt.timezone(dt.timedelta(hours=5))
            ),  # 20:00 UTC 25th
            "2026-11-22",
            1,
            "Data through 2026-11-23; the last day may still change",
        ),
    ],
)
def test_freshness__table(last_day, now, final_through, pending, text):
    result = an.freshness(usage({"date": "2026-10-01"}, {"date": last_day}), now=now)
    assert result.data_through == dt.date.fromisoformat(last_day)
    assert result.final_through == dt.date.fromisoformat(final_through)
    assert (result.pending_days, result.text) == (pending, text)


def test_freshness__no_rows():
    result = an.freshness(usage(), now=dt.datetime(2026, 11, 24))
    assert (result.data_through, result.pending_days, result.text) == (None, 0, "No data yet.")


# --- billed_vs_estimated --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "kwargs", "expected"),
    [
        ((), {}, []),
        (
            ({"cost_usd": 2.0}, {"date": "2026-01-03", "cost_usd": 1.0}, {**UNPRICED}),
            {},
            [
                ("2026-01-01", None, 2.0, None),
                ("2026-01-02", None, 0.0, None),
                ("2026-01-03", None, 1.0, None),
            ],
        ),
        (
            (
                {"cost_usd": 2.0},
                billed(2.5),
                billed(1.0, date="2026-01-02"),
                {"date": "2026-01-03", "cost_usd": 0.5},
            ),
            {"end": "2026-01-04"},
            [
                ("2026-01-01", 2.5, 2.0, 0.5),
                ("2026-01-02", 1.0, 0.0, 1.0),
                ("2026-01-03", 0.0, 0.5, -0.5),
                ("2026-01-04", 0.0, 0.0, 0.0),
            ],
        ),
    ],
    ids=["empty", "no-billed", "billed"],
)
def test_billed_vs_estimated__table(rows, kwargs, expected):
    result = an.billed_vs_estimated(usage(*rows), **kwargs)
    assert list(result.columns) == ["date", "billed", "estimated", "gap"]
    got = [
        (day.date().isoformat(), *(None if pd.isna(v) else v for v in values))
        for day, *values in result.astype(object).itertuples(index=False)
    ]
    assert got == expected


# --- unpriced -------------------------------------------------------------------------------------


def test_unpriced__table():
    rows = usage(
        {},
        {**UNPRICED, "date": "2026-01-02"},
        {**UNPRICED, "date": "2026-01-05", "units": 2.0},
        {
            "model": "tts-1-hd",
            "model_family": "tts-1-hd",
            "operation": "tts",
            "unit": "characters",
            "units": 900.0,
            "cost_usd": None,
            "cost_basis": "unpriced",
            "input_tokens": 0,
            "output_tokens": 0,
        },
        {"model": "new-model", "cost_usd": None, "cost_basis": "unpriced", "input_tokens": 4000},
        billed(1.0),
    )
    result = an.unpriced(rows)
    assert result[["model", "rows", "total_tokens", "units"]].values.tolist() == [
        ["new-model", 1, 4010, 0.0],
        ["tts-1-hd", 1, 0, 900.0],
        ["dall-e-3", 2, 0, 5.0],
    ]
    dalle = result.iloc[2]
    assert (dalle["first_date"], dalle["last_date"]) == (
        pd.Timestamp("2026-01-02"),
        pd.Timestamp("2026-01-05"),
    )


def test_unpriced__nothing_unpriced():
    assert an.unpriced(usage({}, billed(2.0))).empty


# --- properties -----------------------------------------------------------------------------------

ROW = st.fixed_dictionaries(
    {
        "date": st.dates(dt.date(2026, 1, 1), dt.date(2026, 1, 20)).map(str),
        "model": st.sampled_from(["a", "b", "c", "d", None]),
        "model_family": st.sampled_from(["a", "b", "c", None]),
        "user_id": st.sampled_from(["u1", "u2", None]),
        "n_requests": st.integers(0, 1_000),
        "input_tokens": st.integers(0, 10**7),
        "output_tokens": st.integers(0, 10**6),
        "cost_usd": st.one_of(st.none(), st.floats(0, 1e4, allow_nan=False)),
        "cost_basis": st.sampled_from(["estimated", "unpriced", "billed"]),
    }
)
PROPERTY_SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(rows=st.lists(ROW, max_size=30))
def test_by_model__costs_add_up_to_the_estimated_total(rows):
    frame = usage(*rows)
    per_model = an.by_model(frame)["cost_usd"].sum()
    assert float(per_model) == pytest.approx(
        an.totals(frame, start=None, end=None).estimated, rel=1e-9, abs=1e-9
    )
    assert float(an.by_user(frame)["cost_usd"].sum()) == pytest.approx(
        float(per_model), rel=1e-9, abs=1e-9
    )


@PROPERTY_SETTINGS
@given(
    rows=st.lists(ROW, max_size=30),
    value=st.sampled_from(an.DAILY_VALUES),
    by=st.sampled_from(["model_family", "model", "user_id", None]),
    top_n=st.integers(0, 4),
)
def test_daily__keeps_the_total_and_every_day(rows, value, by, top_n):
    frame = usage(*rows)
    result = an.daily(frame, by=by, value=value, top_n=top_n, start="2026-01-01", end="2026-01-20")
    groups = result["group"].unique()
    assert len(result) == 20 * len(groups)
    assert len(groups) <= top_n + 1
    usage_rows = frame.loc[frame["cost_basis"] != "billed"]
    if value == "cost_usd":
        expected = usage_rows.loc[usage_rows["cost_basis"] == "estimated", "cost_usd"].sum()
    elif value == "n_requests":
        expected = usage_rows["n_requests"].sum()
    else:
        expected = (usage_rows["input_tokens"] + usage_rows["output_tokens"]).sum()
    assert result["value"].sum() == pytest.approx(float(expected), rel=1e-9, abs=1e-9)


# --- scale ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    return big_usage(
        200_000
    )  # the helper's default is the large demo's 1M rows; a fifth keeps CI fast


def test_every_function__runs_on_a_big_table(big):
    totals = an.totals(big, start=None, end=None)
    assert totals.days == 365 and totals.basis == "billed"
    assert float(an.by_model(big)["cost_usd"].sum()) == pytest.approx(totals.estimated)
    series = an.daily(big, by="user_id", top_n=8)
    assert len(series) == 365 * 9 <= an.MAX_CHART_ROWS
    assert len(an.options(big)["users"]) == 201
    assert len(an.by_user(big)) == 201
    assert set(an.by_dimension(big, "project")["id"]) == {"proj-a", "proj-b", "proj-c"}
    assert an.compare(big, start="2026-07-01", end="2026-12-31")["spend"].previous > 0
    assert len(an.user_detail(big, "user-007")[1]) == 25
    assert len(an.filter_usage(big, models=["model-01"], users=[NO_USER])) > 0
    assert len(an.billed_vs_estimated(big)) == 365
    assert sorted(an.unpriced(big)["model"]) == ["model-03", "model-13", "model-23"]
    assert an.freshness(big, now=dt.datetime(2027, 1, 1)).data_through == dt.date(2026, 12, 31)


@pytest.mark.parametrize(
    "labels, expected",
    [
        ({"u1": "Ann", "u2": "Bob"}, {"Ann", "Bob"}),
        ({"u1": "Ann", "u2": "Ann"}, {"Ann", "Ann (u2)"}),  # namesakes stay apart
        ({"u1": "Ann"}, {"Ann", "u2"}),  # an id without a name keeps its id
    ],
)
def test_daily__labels_name_groups_but_ids_keep_them_apart(labels, expected):
    rows = conform(
        pd.DataFrame(
            {
                "date": ["2026-01-01", "2026-01-01", "2026-01-02"],
                "user_id": ["u1", "u2", "u2"],
                "cost_usd": [3.0, 1.0, 1.0],
                "cost_basis": ["estimated"] * 3,
                "n_requests": [1, 1, 1],
            }
        )
    )
    out = an.daily(rows, by="user_id", labels=labels)
    assert set(out["group"]) == expected
    assert out["value"].sum() == pytest.approx(5.0)


def test_daily__others_false_keeps_only_the_top_groups():
    rows = usage(
        *[{"user_id": f"u{i}", "cost_usd": float(10 - i)} for i in range(5)],
    )
    kept = an.daily(rows, by="user_id", top_n=2, others=False)
    assert set(kept["group"]) == {"u0", "u1"}
    assert kept["value"].sum() == pytest.approx(10.0 + 9.0)
    summed = an.daily(rows, by="user_id", top_n=2)
    assert set(summed["group"]) == {"u0", "u1", an.OTHERS}


def test_by_dimension__a_key_names_its_project():
    rows = usage(
        {"api_key_id": "k1", "project_id": "p1", "project_name": "Prod"},
        {"api_key_id": "k2", "project_id": "p2", "project_name": None},
    )
    keys = an.by_dimension(rows, "api_key").set_index("id")
    assert keys.loc["k1", "project"] == "Prod"
    assert keys.loc["k2", "project"] == "p2"  # unnamed: its id, never blank
    assert "project" not in an.by_dimension(rows, "project").columns


# --- requests Anthropic can't count (issue 20) ---------------------------------------------------

CLAUDE = {
    "provider": "anthropic",
    "source": "anthropic",
    "model": "claude-sonnet-4-5-20250929",
    "model_family": "claude-sonnet-4-5",
    "user_id": None,
    "user_name": None,
    "user_email": None,
    "project_id": "wrkspc_1",
    "project_name": "Research",
    "api_key_id": "apikey_1",
    "n_requests": None,
}
GPT = {"provider": "openai", "n_requests": 5}


@pytest.mark.parametrize(
    ("rows", "dim", "expected"),
    [
        # a Claude model has no request count: NA, never 0; a GPT one keeps its count
        (({**GPT}, {**CLAUDE}), "model", {"gpt-4o-2024-08-06": 5, CLAUDE["model"]: None}),
        # a project with only Claude usage: NA; the mixed kind of usage counts OpenAI's
        (({**GPT}, {**CLAUDE}), "project", {"proj-a": 5, "wrkspc_1": None}),
        (({**GPT}, {**CLAUDE}), "operation", {"completion": 5}),
        # a billed-only project keeps 0 (no usage at all), an Anthropic one beside it NA
        (({**CLAUDE}, billed(3.0, project_id="p9")), "project", {"wrkspc_1": None, "p9": 0}),
        # a real 0 from OpenAI stays 0
        (({**GPT, "n_requests": 0},), "model", {"gpt-4o-2024-08-06": 0}),
    ],
    ids=["models", "projects", "mixed-operation", "billed-only", "real-zero"],
)
def test_by_dimension__requests_na_where_no_row_counts_them(rows, dim, expected):
    result = an.by_dimension(usage(*rows), dim).set_index("id")["requests"]
    assert result.dtype == "Int64"
    got = {key: None if pd.isna(value) else int(value) for key, value in result.items()}
    assert got == expected


def test_by_model_and_by_user__claude_requests_are_na_and_cost_per_request_too():
    table = usage({**GPT, "user_id": "user-1"}, {**CLAUDE})
    models = an.by_model(table).set_index("model")
    assert pd.isna(models.loc[CLAUDE["model"], "requests"])
    assert pd.isna(models.loc[CLAUDE["model"], "cost_per_1k_requests"])
    assert models.loc["gpt-4o-2024-08-06", "requests"] == 5
    users = an.by_user(table).set_index("user_id")
    assert users.loc["user-1", "requests"] == 5 and pd.isna(users.loc[an.NO_USER, "requests"])


@pytest.mark.parametrize(
    ("rows", "counted", "uncounted", "known", "note"),
    [
        (({**GPT},), ("OpenAI",), (), True, None),
        (
            ({**GPT}, {**CLAUDE}),
            ("OpenAI",),
            ("Anthropic",),
            True,
            "Requests count OpenAI only: Anthropic reports no request count.",
        ),
        (
            ({**CLAUDE},),
            (),
            ("Anthropic",),
            False,
            "No request counts: Anthropic reports tokens, not requests.",
        ),
        # billed rows never make a request figure partial
        (
            ({**GPT}, billed(2.0, provider="anthropic", n_requests=None)),
            ("OpenAI",),
            (),
            True,
            None,
        ),
        ((), (), (), True, None),
    ],
    ids=["openai", "both", "anthropic-only", "billed-anthropic", "empty"],
)
def test_totals__requests_say_which_providers_they_count(rows, counted, uncounted, known, note):
    result = an.totals(usage(*rows), start="2026-01-01", end="2026-01-01")
    assert result.requests_cover == an.RequestCoverage(counted, uncounted)
    assert (result.requests_known, result.requests_cover.note) == (known, note)
    assert result.requests == (5 if counted else 0)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ((), []),
        # each provider's own headline: Anthropic billed, OpenAI estimated; Claude requests NA
        (
            (
                {**GPT, "cost_usd": 1.0},
                {**CLAUDE, "cost_usd": 3.0},
                billed(4.0, provider="anthropic", n_requests=None),
            ),
            [
                ("anthropic", "Anthropic", 4.0, "billed", 3.0, 4.0, None, 0.8),
                ("openai", "OpenAI", 1.0, "estimated", 1.0, None, 5, 0.2),
            ],
        ),
        # a provider with nothing priced: NA money (never $0), last
        (
            ({**GPT, "cost_usd": 2.0}, {**CLAUDE, "cost_usd": None, "cost_basis": "unpriced"}),
            [
                ("openai", "OpenAI", 2.0, "estimated", 2.0, None, 5, 1.0),
                ("anthropic", "Anthropic", None, "estimated", None, None, None, None),
            ],
        ),
    ],
    ids=["empty", "billed-and-estimated", "unpriced"],
)
def test_by_provider__table(rows, expected):
    result = an.by_provider(usage(*rows))
    columns = ["provider", "label", "spend", "basis", "estimated", "billed", "requests", "share"]
    got = [
        tuple(None if pd.isna(value) else value for value in record)
        for record in result[columns].astype(object).itertuples(index=False)
    ]
    assert got == [pytest.approx(row) if None not in row else row for row in expected]


def test_unpriced__a_model_without_request_counts_has_na_requests_never_0():
    rows = usage(
        {**UNPRICED, "n_requests": 3},
        {**CLAUDE, "model": "claude-next", "cost_usd": None, "cost_basis": "unpriced"},
    )
    result = an.unpriced(rows).set_index("model")["requests"]
    assert result["dall-e-3"] == 3 and pd.isna(result["claude-next"])
    assert "counted" not in an.unpriced(rows).columns
