"""Date-range presets for the sidebar, e.g. "last_30_days" on 2026-11-25 ->
2026-10-27..2026-11-25."""

from __future__ import annotations

from datetime import date, timedelta
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
