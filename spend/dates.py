"""Date-range presets for the sidebar, e.g. "last_30_days" on 2026-11-25 ->
2026-10-27..2026-11-25."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from spend.errors import ConfigError

#: Preset id -> label, in the order the sidebar shows them. Ids are what the URL carries.
PRESETS: dict[str, str] = {
    "last_7_days": "Last 7 days",
    "last_30_days": "Last 30 days",
    "last_90_days": "Last 90 days",
    "month_to_date": "Month to date",
    "last_month": "Last month",
    "custom": "Custom",
}
DEFAULT_PRESET = "last_30_days"

#: A day's data stops changing this long after it ended (API-NOTES §2: recent buckets are
#: revised); a source may declare another delay (``Source.final_after``).
FINAL_AFTER = timedelta(hours=48)


def is_final(last_day: date, now: datetime, *, after: timedelta = FINAL_AFTER) -> bool:
    """A UTC day into whether its data is final at ``now`` (``after`` its end), e.g.
    ``is_final(date(2024,1,1), datetime(2024,1,4, tzinfo=utc)) -> True``."""
    day_end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now - day_end >= after


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """A preset id and today (UTC) into an inclusive (start, end), e.g. ``("last_7_days", Nov 25) ->
    (Nov 19, Nov 25)``.

    Raises ValueError for "custom" or an unknown id (the caller supplies custom dates).
    """
    if preset.startswith("last_") and preset.endswith("_days"):
        days = int(preset[len("last_") : -len("_days")])
        return today - timedelta(days=days - 1), today
    if preset == "month_to_date":
        return today.replace(day=1), today
    if preset == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    raise ValueError(f"no fixed range for preset {preset!r}")


def as_day(value: Any) -> pd.Timestamp | None:
    """A date, datetime, string or Timestamp into a naive UTC midnight, e.g. ``date(2024, 5, 1)
    -> Timestamp("2024-05-01")``; None stays None."""
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.normalize()


def previous_period(start: Any, end: Any) -> tuple[Any, Any]:
    """A period into the equally long one before it, e.g. ``(Jan 8, Jan 14) -> (Jan 1, Jan 7)``.

    Works on ``date``, ``datetime`` and ``Timestamp`` and returns the same type (strings become
    ``date``).

    :raises ConfigError: when ``end`` is before ``start``
    """
    start, end = (as_day(day).date() if isinstance(day, str) else day for day in (start, end))
    if end < start:
        raise ConfigError(f"the period ends ({end}) before it starts ({start})")
    length = (as_day(end) - as_day(start)).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def parse_iso(text: str | None) -> date | None:
    """``"2026-11-01"`` into a date; anything else into None (a bad link never crashes the app)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Comparison:
    """What a range's headline compares: its complete days against as many days before them.

    ``current`` is None when the range has no complete day yet (the 1st of the month, or a range
    of today alone); ``today`` is set when the range ends today, whose partial day is shown apart.
    """

    current: tuple[date, date] | None
    previous: tuple[date, date] | None
    today: date | None
    label: str  # e.g. "6 complete days vs the 6 before", "Dec 1–14 vs Nov 1–14"

    @property
    def days(self) -> int:
        """Complete days compared (0 when none)."""
        return 0 if self.current is None else (self.current[1] - self.current[0]).days + 1

    @property
    def first_day(self) -> date | None:
        """The earliest day the comparison needs loaded."""
        return self.previous[0] if self.previous else None


def _short(start: date, end: date) -> str:
    """Two days into a short span, e.g. ``(Nov 1, Nov 14) -> "Nov 1–14"``."""
    if start == end:
        return f"{start:%b} {start.day}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start:%b} {start.day}–{end.day}"
    return f"{start:%b} {start.day} – {end:%b} {end.day}"


def _same_days_last_month(first: date, last: date) -> tuple[date, date]:
    """Days 1..n of a month into days 1..n of the month before, clamped to its length, e.g.
    ``(Mar 1, Mar 30) -> (Feb 1, Feb 28)``."""
    before_end = first - timedelta(days=1)
    start = before_end.replace(day=1)
    return start, min(start + (last - first), before_end)


def month_bounds(day: date) -> tuple[date, date]:
    """A day into its month's first and last day, e.g. 2025-02-12 -> (2025-02-01, 2025-02-28)."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def comparison(preset: str, start: date, end: date, today: date) -> Comparison:
    """A range into what its headline compares like with like, e.g. ``("last_7_days", Nov 25 –
    Dec 1, today Dec 1)`` -> Nov 25–30 (6 complete days) vs Nov 19–24, today apart.

    Today is partial, so it never counts in an average or a delta. Month to date compares with
    the same days of last month; last month with the calendar month before it; any other range
    with the same number of complete days just before.
    """
    partial = today if start <= today <= end else None
    last_complete = min(end, today - timedelta(days=1))
    if last_complete < start:
        return Comparison(None, None, partial, "no complete day yet")
    current = (start, last_complete)
    if preset == "last_month" or (start.day == 1 and end == month_bounds(end)[1] and end < today):
        previous_end = start - timedelta(days=1)
        previous = (previous_end.replace(day=1), previous_end)
        return Comparison(current, previous, partial, f"{start:%B} vs {previous_end:%B}")
    if preset == "month_to_date" or start.day == 1:
        previous = _same_days_last_month(*current)
        label = f"{_short(*current)} vs {_short(*previous)}"
        return Comparison(current, previous, partial, label)
    length = (last_complete - start).days + 1
    previous = (start - timedelta(days=length), start - timedelta(days=1))
    what = "complete day" if length == 1 else "complete days"
    return Comparison(current, previous, partial, f"{length} {what} vs the {length} before")


def parse_day(text: str) -> date:
    """A command-line date into a date, e.g. ``"2026-11-01" -> date(2026, 11, 1)``; anything else
    is argparse's one-line error (an argument ``type``)."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from exc
