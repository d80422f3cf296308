"""Issue 23's pure parts: the budget line's label, time buckets for long ranges, the month card's
figure, and how fast the command gives up on an unreachable host."""

from __future__ import annotations

import io
import time
from datetime import date

import pandas as pd
import pytest

from spend import analysis as an
from spend import charts, client
from spend.cli import main
from spend.forecast import cumulative_frame, forecast_month
from spend.ui import steer
from tests.clock import FakeClock
from tests.fake_openai import ADMIN_KEY, LEGACY_KEY, ORG_ID


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
        ("2026-10-05", "2026-12-05", "day"),  # 62 days: about two months
        ("2026-10-04", "2026-12-05", "week"),
        ("2026-09-07", "2026-12-05", "week"),  # the last 90 days
        ("2025-12-05", "2026-12-04", "week"),  # a year
        ("2025-12-04", "2026-12-05", "month"),  # 367 days
        ("2024-01-01", "2026-12-05", "month"),
    ],
)
def test_default_bucket__day_to_2_months_week_to_a_year_month_beyond(start, end, bucket):
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
    "bucket, axis_format, label, total, when",
    [
        ("day", "%b %d", "Date", "Day total", "2026-01-01"),
        # the Monday before, holding Thursday to Sunday of the range
        ("week", "%b %d", "Week of", "Week total", "2025-12-29 (4 of 7 days)"),
        ("month", "%b %Y", "Month", "Month total", "January 2026"),
    ],
)
def test_over_time__time_axis_follows_the_bucket(bucket, axis_format, label, total, when):
    frame = an.bucketed(_tidy("2026-01-01", 200), bucket)
    spec = charts.over_time(frame, bucket=bucket).to_dict()
    assert spec["encoding"]["x"]["field"] == "key"
    assert f"'{axis_format}'" in spec["encoding"]["x"]["axis"]["labelExpr"]
    tooltip = spec["mark"]["tooltip"]["expr"]
    assert f'"{label}": ' in tooltip and f'"{total}": ' in tooltip
    (rows,) = spec["datasets"].values()
    first = min(rows, key=lambda row: row["key"])
    assert first.get("when", first["key"]) == when
    second = min((row for row in rows if row["key"] > first["key"]), key=lambda row: row["key"])
    assert "days)" not in second.get("when", second["key"])  # a whole week or month: no count


def test_over_time__a_bucket_the_range_cuts_says_how_many_of_its_days_it_holds():
    """Sep 7 - Dec 5, 2026 (the last 90 days on Dec 5): 12 whole weeks from Monday Sep 7 and the
    week of Nov 30 cut at Saturday; per month, September from the 7th and December to the 5th."""
    daily = _tidy("2026-09-07", 90)
    weeks = _when(charts.over_time(an.bucketed(daily, "week"), bucket="week"))
    assert weeks["2026-11-30"] == "2026-11-30 (6 of 7 days)"
    assert weeks["2026-09-07"] == "2026-09-07" and weeks["2026-11-23"] == "2026-11-23"
    assert len(weeks) == 13
    months = _when(charts.over_time(an.bucketed(daily, "month"), bucket="month"))
    assert months == {
        "2026-09-01": "September 2026 (24 of 30 days)",
        "2026-10-01": "October 2026",
        "2026-11-01": "November 2026",
        "2026-12-01": "December 2026 (5 of 31 days)",
    }
    days = _when(charts.over_time(daily))
    assert days["2026-12-05"] == "2026-12-05"  # a day is never cut


def _when(chart) -> dict[str, str]:
    """A chart over time into its bars' tooltip dates by key."""
    (rows,) = chart.to_dict()["datasets"].values()
    return {row["key"]: row.get("when", row["key"]) for row in rows}


# ---- the command gives up on an unreachable host within a few seconds


def _command(argv, env):
    """``python -m spend`` with a fake clock whose sleeps are recorded, never waited."""
    clock = FakeClock(time.time())
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, environ=env, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    return code, err.getvalue(), clock.sleeps


@pytest.mark.parametrize(
    "argv",
    [["fetch", "--source", "admin"], ["alerts", "--source", "admin"]],
    ids=["fetch", "alerts"],
)
@pytest.mark.parametrize(
    "key, extra",
    [(ADMIN_KEY, {}), (LEGACY_KEY, {"OPENAI_ORG_ID": ORG_ID})],
    ids=["admin", "legacy"],
)
def test_command__an_unreachable_host_fails_at_once(tmp_path, argv, key, extra):
    """Nothing listens on 127.0.0.1:9: no backoff (55 s of waits for ``fetch`` and 16 s for
    ``alerts`` before), one error line, and a connect timeout of a few seconds for a host that
    does not answer at all."""
    source = "admin" if key == ADMIN_KEY else "legacy"
    argv = [a if a != "admin" else source for a in argv]
    name = "OPENAI_ADMIN_KEY" if key == ADMIN_KEY else "OPENAI_API_KEY"
    env = {
        name: key,
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "SPEND_CACHE_DIR": str(tmp_path / "cache"),
        **extra,
    }
    code, err, sleeps = _command(argv, env)
    assert code == 1
    errors_shown = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors_shown) == 1 and "Could not reach" in errors_shown[0], err
    assert sum(sleeps) == 0, sleeps  # not a single backoff wait
    assert key not in err
    assert client.TIMEOUT[0] <= 5  # a silent host: a few seconds to connect, not ten


def test_command__a_5xx_on_the_first_request_is_still_retried(fake_openai, tmp_path):
    fake_openai.fail_next(2, status=503)
    env = {
        "OPENAI_ADMIN_KEY": ADMIN_KEY,
        "OPENAI_BASE_URL": fake_openai.base_url,
        "SPEND_CACHE_DIR": str(tmp_path / "cache"),
        "SPEND_RATE_LIMIT_PER_MIN": "6000",
    }
    start, end = fake_openai.days[-3], fake_openai.days[-2]
    code, err, sleeps = _command(["fetch", "--start", str(start), "--end", str(end)], env)
    assert code == 0, err
    assert sum(sleeps) >= 1.0  # the two 503s were waited out with backoff, as before
