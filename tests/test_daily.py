"""Issue 23's pure parts: the budget line's label, time buckets for long ranges, the month card's
figure, and how fast the command gives up on an unreachable host."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from spend import analysis as an
from spend import charts
from spend.forecast import cumulative_frame, forecast_month
from spend.ui import steer


def _month_frame() -> pd.DataFrame:
    days = pd.date_range("2026-11-01", "2026-12-10", freq="D")
    daily = pd.Series(10.0, index=days, name="cost_usd")
    return cumulative_frame(
        daily[daily.index >= "2026-12-01"], forecast_month(daily, date(2026, 12, 10))
    )


def test_month_end_chart__the_budget_line_is_labelled():
    spec = charts.month_end_chart(_month_frame(), 300.0, "Organization budget $300.00").to_dict()
    texts = [layer for layer in spec["layer"] if layer["mark"].get("type") == "text"]
    assert len(texts) == 1 and texts[0]["encoding"]["text"]["field"] == "label"
    labels = [row.get("label") for rows in spec["datasets"].values() for row in rows]
    assert "Organization budget $300.00" in labels
    without = charts.month_end_chart(_month_frame(), None).to_dict()
    assert not [layer for layer in without["layer"] if layer["mark"].get("type") == "text"]


@pytest.mark.parametrize(
    "percent, status", [(0.0, "ok"), (79.9, "ok"), (80.0, "near"), (99.9, "near"), (100.0, "over")]
)
def test_budget_status__near_from_80_over_from_100(percent, status):
    assert steer.budget_status(percent) == status


# ---- long ranges: time buckets


@pytest.mark.parametrize(
    "start, end, bucket",
    [
        ("2026-12-05", "2026-12-05", "day"),
        ("2026-11-06", "2026-12-05", "day"),  # 30 days
        ("2026-09-05", "2026-12-05", "day"),  # 92 days: about 3 months
        ("2026-09-04", "2026-12-05", "week"),
        ("2025-12-05", "2026-12-04", "week"),  # a year
        ("2025-12-04", "2026-12-05", "month"),  # 367 days
        ("2024-01-01", "2026-12-05", "month"),
    ],
)
def test_default_bucket__day_to_3_months_week_to_a_year_month_beyond(start, end, bucket):
    assert an.default_bucket(date.fromisoformat(start), date.fromisoformat(end)) == bucket


def _tidy(start: str, days: int, groups=("a", "b")) -> pd.DataFrame:
    dates = pd.date_range(start, periods=days, freq="D")
    rows = [(d, g, 1.0 if g == "a" else 2.0) for d in dates for g in groups]
    frame = pd.DataFrame(rows, columns=["date", "group", "value"])
    return frame.astype({"group": "string"})


@pytest.mark.parametrize(
    "start, days, bucket, firsts, held",
    [
        # Wed Dec 2 .. Sun Dec 13: a cut first week (Mon Nov 30: 5 days) and a whole one
        ("2026-12-02", 12, "week", ["2026-11-30", "2026-12-07"], [5, 7]),
        ("2026-11-20", 45, "month", ["2026-11-01", "2026-12-01", "2027-01-01"], [11, 31, 3]),
        ("2026-12-02", 3, "day", ["2026-12-02", "2026-12-03", "2026-12-04"], [1, 1, 1]),
    ],
)
def test_bucketed__sums_each_group_per_bucket(start, days, bucket, firsts, held):
    daily = _tidy(start, days)
    out = an.bucketed(daily, bucket)
    assert list(out["group"].unique()) == ["a", "b"]  # the groups keep their order
    a = out[out["group"] == "a"]
    assert [d.date().isoformat() for d in a["date"]] == firsts
    assert list(a["days"]) == held
    assert list(a["value"]) == [float(n) for n in held]  # $1 a day for a
    assert out["value"].sum() == pytest.approx(daily["value"].sum())  # nothing lost or doubled
    with pytest.raises(ValueError):
        an.bucketed(daily, "fortnight")


def test_month_over_month__change_only_between_whole_months():
    daily = _tidy("2026-09-15", 31 + 16 + 30 + 31 + 5, groups=("a",))  # Sep 15 .. Jan 5
    daily.loc[daily["date"] >= "2026-11-01", "value"] = 2.0  # November doubles
    table = an.month_over_month(daily)
    assert [m.strftime("%Y-%m") for m in table["month"]] == [
        "2026-09",
        "2026-10",
        "2026-11",
        "2026-12",
        "2027-01",
    ]
    assert list(table["days"]) == [16, 31, 30, 31, 5]
    assert table["value"].tolist() == [16.0, 31.0, 60.0, 62.0, 10.0]
    change = table["change"].tolist()
    assert change[0] is pd.NA and change[1] is pd.NA  # after a cut September: not comparable
    assert change[2] == pytest.approx(60 / 31 - 1) and change[3] == pytest.approx(62 / 60 - 1)
    assert change[4] is pd.NA  # a cut January would read as a drop
    assert an.month_over_month(daily.iloc[:0]).empty


@pytest.mark.parametrize(
    "bucket, field, label, total",
    [
        ("day", "yearmonthdate", "Date", "Day total"),
        ("week", "yearmonthdate", "Week of", "Week total"),
        ("month", "yearmonth", "Month", "Month total"),
    ],
)
def test_over_time__time_axis_follows_the_bucket(bucket, field, label, total):
    frame = an.bucketed(_tidy("2026-01-01", 200), bucket)
    spec = charts.over_time(frame, bucket=bucket).to_dict()
    assert spec["encoding"]["x"]["timeUnit"] == field
    titles = [t.get("title") for t in spec["encoding"]["tooltip"]]
    assert label in titles and total in titles
