"""The month-end forecast's backtest: how close it is from day 10, and how often its band holds.

    .venv/bin/python -m benchmarks.forecast_backtest              # demo small + large, fake org
    .venv/bin/python -m benchmarks.forecast_backtest --per-month  # and one line per month
    .venv/bin/python -m benchmarks.forecast_backtest --no-fake    # the demo only (no HTTP at all)
    .venv/bin/python -m benchmarks.forecast_backtest --snapshots  # + the small demo at 12 dates
    .venv/bin/python -m benchmarks.forecast_backtest --no-spike   # without the planted-spike rows

For each organization, the daily spend series is built through the app's own path (a source's
``load`` into the priced usage table); then every complete month of it is backtested
(``spend.forecast.backtest``): the forecast made at the end of each day of the month, from the
days up to it only, against the month's actual total. Reported, over the forecasts made from day
``SCORED_FROM_DAY`` (10) on: the median absolute percentage error (MAPE, as the issue defines
it), the mean one, and the share of days whose 80% band held the actual total.

Targets (issue 12): MAPE <= 10% from day 10, band coverage 70-90%; the command exits 1 when an
organization misses one.

**A planted spike** (issue 19): each organization again, with one runaway day planted on the
``SPIKE_DAY`` (8th) of every month: ``SPIKE_FACTOR`` (10) times the median of the 28 days before
it, added to that day (and so to the month's actual total). Forecasts from day 10 on have it in
their level window. Each such organization is backtested twice: with the robust level the app
uses (spikes capped, ``spend.forecast.spike_limits``) and with the plain trailing mean the
forecast had before (``robust=False``), which carries the spike forward. The spiked rows are
reported and judged, but only the unspiked rows set the exit status. A second planted case adds
``RUNAWAY_FACTOR`` (6) median days instead: one user's runaway day making the day about 7 times
the usual total, as in the held-out organization.

Every forecast learns from its own window only (``spend.forecast.history_window``: the 56 days up
to its as-of day), as the app and ``alerts`` do, however long the series is.

Organizations: the demo, small (120 days) and large (a year), as of ``--today``; and the fake
OpenAI server (``tests/fake_openai.py``, in-process on 127.0.0.1, admin key) with ``--fake-days``
of data, measured on billed (Costs API) and estimated money. Dates are fixed by default, so a
rerun prints the same figures. One organization has few complete months (the small demo: 3), and
a month's forecasts share one actual total, so one snapshot's coverage moves in steps of a whole
month; ``--snapshots`` adds the small demo as of 12 different dates for a steadier figure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from spend.config import Settings
from spend.dates import month_bounds
from spend.forecast import SCORED_FROM_DAY, backtest, backtest_summary
from spend.sources import make_source

#: The issue's targets.
MAPE_TARGET = 0.10
COVERAGE_TARGET = (0.70, 0.90)
#: Fixed by default so the figures are reproducible.
DEFAULT_TODAY = date(2026, 12, 1)
FAKE_DAYS = 150
FAKE_USERS = 8
FAKE_SEED = 3
#: The planted spike: on this day of every month, this many times the median of the 28 days before.
SPIKE_DAY = 8
SPIKE_FACTOR = 10.0
#: The held-out organization's case (issue 19): one user's runaway day at about 7 times the usual
#: day's total, i.e. 6 median days added.
RUNAWAY_FACTOR = 6.0


def fixed_clock(day: date) -> Callable[[], float]:
    """A day into a clock stuck at its noon (UTC), e.g. 2026-12-01 -> 1796126400.0."""
    moment = datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()
    return lambda: moment


def daily_spend(frame: pd.DataFrame, basis: str) -> pd.Series:
    """The usage table into USD per day on one basis, e.g. ``"billed"`` -> the Costs API's days."""
    rows = frame[frame["cost_basis"] == basis]
    return rows.groupby("date")["cost_usd"].sum().astype("float64").sort_index()


def demo_series(size: str, today: date) -> pd.Series:
    """The demo organization of ``size`` as of ``today`` into its estimated spend per day."""
    source = make_source(Settings(source="demo", demo_size=size), clock=fixed_clock(today))
    result = source.load(source.org.start, source.org.end)
    return daily_spend(result.frame, "estimated")


def fake_series(today: date, days: int = FAKE_DAYS) -> dict[str, pd.Series]:
    """The fake server's org (admin key, ``days`` up to yesterday) into spend per day, per basis."""
    from tests.fake_openai import ADMIN_KEY, FakeOpenAI

    clock = fixed_clock(today)
    end = today - timedelta(days=1)
    fake = FakeOpenAI(days=days, users=FAKE_USERS, seed=FAKE_SEED, end_date=end, wall_clock=clock)
    with fake, tempfile.TemporaryDirectory() as cache:
        settings = Settings(
            api_key=ADMIN_KEY,
            base_url=fake.base_url,
            cache_dir=cache,
            rate_limit_per_min=1_000_000.0,
            source="admin",
        )
        source = make_source(settings, clock=clock)
        try:
            frame = source.load(fake.days[0], fake.days[-1]).frame
        finally:
            close = getattr(source.client, "close", None)
            if close is not None:
                close()
    return {basis: daily_spend(frame, basis) for basis in ("billed", "estimated")}


def plant_spikes(
    series: pd.Series, *, day: int = SPIKE_DAY, factor: float = SPIKE_FACTOR
) -> pd.Series:
    """A daily series into a copy with a runaway day on ``day`` of every month it covers, e.g. $100
    days -> $1,100 on every 8th (factor 10: ten median days added). Days with fewer than 28 days
    before them in the series are left alone."""
    spiked = series.astype("float64").copy()
    for stamp in series.index[series.index.day == day]:
        before = series[(series.index < stamp) & (series.index >= stamp - pd.Timedelta(days=28))]
        if len(before) == 28:
            spiked[stamp] += factor * float(before.median())
    return spiked


def complete_months(series: pd.Series) -> list[date]:
    """A daily series into the first day of every month it covers whole after its first month.

    E.g. Aug 3 .. Nov 30 -> Sep 1, Oct 1, Nov 1 (August is partial: no actual total to test).
    """
    if series.empty:
        return []
    first, last = series.index.min().date(), series.index.max().date()
    months = []
    month = (first.replace(day=1) + timedelta(days=32)).replace(day=1)
    while month_bounds(month)[1] <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def evaluate(
    group: list[pd.Series], *, robust: bool = True
) -> tuple[dict, list[tuple[date, dict]]]:
    """Daily series into (the summary over all their complete months, each month's summary)."""
    per_month = []
    frames = []
    for series in group:
        for month in complete_months(series):
            results = backtest(series, month, robust=robust)
            frames.append(results)
            per_month.append((month, backtest_summary(results)))
    if not frames:
        return backtest_summary(backtest(pd.Series(dtype="float64"), DEFAULT_TODAY)), []
    return backtest_summary(pd.concat(frames, ignore_index=True)), per_month


def verdict(summary: dict) -> str:
    """A summary into "ok", or what misses the targets, e.g. ``"coverage 65% < 70%"``."""
    misses = []
    if not summary["n"]:
        return "no complete month"
    if summary["mape"] > MAPE_TARGET:
        misses.append(f"MAPE {summary['mape']:.1%} > {MAPE_TARGET:.0%}")
    low, high = COVERAGE_TARGET
    if not low <= summary["coverage"] <= high:
        misses.append(f"coverage {summary['coverage']:.0%} outside {low:.0%}-{high:.0%}")
    return "; ".join(misses) or "ok"


def line(label: str, days: int, months: int, summary: dict, *, judged: bool = True) -> str:
    """One organization's (or month's) figures as a table row."""
    return (
        f"{label:<34} {days:>5} {months:>6} {summary['n']:>9} {summary['mape']:>8.1%} "
        f"{summary['mean_ape']:>9.1%} {summary['coverage']:>9.0%}"
        + (f"  {verdict(summary)}" if judged else "")
    )


def main(argv: list[str] | None = None, *, out=sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.forecast_backtest")
    parser.add_argument("--today", type=date.fromisoformat, default=DEFAULT_TODAY)
    parser.add_argument("--fake-days", type=int, default=FAKE_DAYS)
    parser.add_argument("--no-fake", action="store_true", help="skip the fake server's org")
    parser.add_argument("--per-month", action="store_true", help="also one line per month")
    parser.add_argument("--no-spike", action="store_true", help="skip the planted-spike rows")
    parser.add_argument(
        "--snapshots",
        action="store_true",
        help="also the small demo as of the first of each of the 12 months before --today "
        "(each a different 120 days: a larger sample than one snapshot's 3 months)",
    )
    args = parser.parse_args(argv)

    organizations: list[tuple[str, list[pd.Series]]] = [
        ("demo small (estimated)", [demo_series("small", args.today)]),
        ("demo large (estimated)", [demo_series("large", args.today)]),
    ]
    if args.snapshots:
        firsts = [date(args.today.year - 1, m, 1) for m in range(args.today.month, 13)]
        firsts += [date(args.today.year, m, 1) for m in range(1, args.today.month)]
        organizations.append(
            (
                f"demo small, {len(firsts)} as-of dates",
                [demo_series("small", first) for first in firsts],
            )
        )
    if not args.no_fake:
        for basis, series in fake_series(args.today, args.fake_days).items():
            organizations.append((f"fake org ({basis})", [series]))

    out.write(
        f"Forecast backtest as of {args.today}: every day of every complete month forecast "
        f"against the month's total; scored from day {SCORED_FROM_DAY}.\n"
        f"Targets: MAPE <= {MAPE_TARGET:.0%}, coverage {COVERAGE_TARGET[0]:.0%}-"
        f"{COVERAGE_TARGET[1]:.0%} (80% band). MAPE is the median absolute percentage error.\n\n"
    )
    out.write(
        f"{'organization':<34} {'days':>5} {'months':>6} {'forecasts':>9} {'MAPE':>8} "
        f"{'mean APE':>9} {'coverage':>9}  verdict\n"
    )
    failed = False
    for label, group in organizations:
        summary, per_month = evaluate(group)
        days = sum(len(series) for series in group)
        out.write(line(label, days, len(per_month), summary) + "\n")
        failed |= verdict(summary) != "ok"
        if args.per_month:
            for month, month_summary in per_month:
                out.write(line(f"  {month:%Y-%m}", 0, 1, month_summary, judged=False) + "\n")
    for factor in () if args.no_spike else (SPIKE_FACTOR, RUNAWAY_FACTOR):
        out.write(
            f"\nWith a planted spike ({factor:g} median days added on day {SPIKE_DAY} of "
            f"every month: that day at about {factor + 1:g} times the usual): the robust level "
            "(the app's) against the plain trailing mean (before).\n"
        )
        for label, group in organizations:
            spiked = [plant_spikes(series, factor=factor) for series in group]
            days = sum(len(series) for series in spiked)
            for robust, how in ((True, "robust"), (False, "plain")):
                summary, per_month = evaluate(spiked, robust=robust)
                out.write(line(f"{label}, {how}", days, len(per_month), summary) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
