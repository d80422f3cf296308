"""Date ranges: presets and what a range's headline compares like with like."""

from __future__ import annotations

from datetime import date

import pytest

from spend.dates import comparison, preset_range

D = date


@pytest.mark.parametrize(
    ("preset", "start", "end", "today", "current", "previous", "partial", "label"),
    [
        # a range ending today: its complete days against as many before them, today apart
        (
            "last_7_days",
            D(2026, 11, 25),
            D(2026, 12, 1),
            D(2026, 12, 1),
            (D(2026, 11, 25), D(2026, 11, 30)),
            (D(2026, 11, 19), D(2026, 11, 24)),
            D(2026, 12, 1),
            "6 complete days vs the 6 before",
        ),
        # month to date: the same days of last month (clamped to its length)
        (
            "month_to_date",
            D(2026, 3, 1),
            D(2026, 3, 31),
            D(2026, 3, 31),
            (D(2026, 3, 1), D(2026, 3, 30)),
            (D(2026, 2, 1), D(2026, 2, 28)),
            D(2026, 3, 31),
            "Mar 1–30 vs Feb 1–28",
        ),
        (
            "month_to_date",
            D(2026, 12, 1),
            D(2026, 12, 15),
            D(2026, 12, 15),
            (D(2026, 12, 1), D(2026, 12, 14)),
            (D(2026, 11, 1), D(2026, 11, 14)),
            D(2026, 12, 15),
            "Dec 1–14 vs Nov 1–14",
        ),
        # the 1st: nothing complete yet, nothing to compare
        (
            "month_to_date",
            D(2026, 12, 1),
            D(2026, 12, 1),
            D(2026, 12, 1),
            None,
            None,
            D(2026, 12, 1),
            "no complete day yet",
        ),
        # last month: the calendar month before it, whatever the lengths
        (
            "last_month",
            D(2026, 3, 1),
            D(2026, 3, 31),
            D(2026, 4, 10),
            (D(2026, 3, 1), D(2026, 3, 31)),
            (D(2026, 2, 1), D(2026, 2, 28)),
            None,
            "March vs February",
        ),
        # a custom range in the past: all complete, equal length before
        (
            "custom",
            D(2026, 5, 10),
            D(2026, 5, 19),
            D(2026, 6, 1),
            (D(2026, 5, 10), D(2026, 5, 19)),
            (D(2026, 4, 30), D(2026, 5, 9)),
            None,
            "10 complete days vs the 10 before",
        ),
    ],
)
def test_comparison__table(preset, start, end, today, current, previous, partial, label):
    got = comparison(preset, start, end, today)
    assert (got.current, got.previous, got.today, got.label) == (current, previous, partial, label)
    assert got.first_day == (previous[0] if previous else None)


@pytest.mark.parametrize("preset", ["last_7_days", "last_30_days", "last_90_days"])
def test_comparison__today_never_counts_in_a_rolling_preset(preset):
    today = D(2026, 12, 1)
    start, end = preset_range(preset, today)
    got = comparison(preset, start, end, today)
    assert got.today == today and got.current[1] == D(2026, 11, 30)
    assert got.days == (end - start).days  # one day fewer than the range: today is apart
