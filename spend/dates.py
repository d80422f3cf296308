"""Date-range presets for the sidebar, e.g. "last_30_days" on 2026-11-25 ->
2026-10-27..2026-11-25.

Days are the deployment's own (``SPEND_TIMEZONE``): "today" is the date in that zone
(``local_today``), and every preset counts back from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
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


def utc_now() -> datetime:
    """The app's one clock: now, in UTC (AppTests replace it to run the app at another instant)."""
    return datetime.now(UTC)


def local_today(zone: tzinfo, now: datetime) -> date:
    """An instant into the date it is in ``zone``, e.g. 2026-12-05 03:00 UTC in
    America/Los_Angeles -> 2026-12-04 (19:00 the evening before); in Pacific/Kiritimati
    (UTC+14) -> 2026-12-05. A naive ``now`` is UTC."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(zone).date()


def wall_clock(zone: tzinfo, now: datetime) -> datetime:
    """An instant into the naive local time it is in ``zone``, e.g. 2026-12-05 03:00 UTC in
    America/Los_Angeles -> 2026-12-04 19:00: what a function counting naive days (as the usage
    table's local dates are) takes for "now"."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(zone).replace(tzinfo=None)


def zone_label(zone: tzinfo | str) -> str:
    """A zone into the name the pages show, e.g. ``ZoneInfo("America/Los_Angeles")`` ->
    "America/Los_Angeles"; every spelling of UTC ("Etc/UTC", "Zulu") -> "UTC"."""
    name = zone if isinstance(zone, str) else getattr(zone, "key", None) or str(zone)
    return "UTC" if name in UTC_NAMES else name


#: The names of UTC itself (``zone_label`` shows each as "UTC").
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"})


def is_final(last_day: date, now: datetime, *, after: timedelta = FINAL_AFTER) -> bool:
    """A UTC day into whether its data is final at ``now`` (``after`` its end), e.g.
    ``is_final(date(2024,1,1), datetime(2024,1,4, tzinfo=utc)) -> True``."""
    day_end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now - day_end >= after


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """A preset id and today (in the deployment's zone: ``local_today``) into an inclusive
    (start, end), e.g. ``("last_7_days", Nov 25) -> (Nov 19, Nov 25)``.

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
    """What a range's headline compares: its complete days against days of the same weekdays.

    ``current`` is None when the range has no complete day yet (the 1st of the month, or a range
    of today alone); ``today`` is set when the range ends today, whose partial day is shown apart.
    ``previous`` is as long as ``current`` with the same weekdays (``like_for_like``), except for
    a calendar month against the month before: then ``per_day`` is set, and the figures compare
    their average per day.
    """

    current: tuple[date, date] | None
    previous: tuple[date, date] | None
    today: date | None
    #: what is compared with what, e.g. "Dec 1–4 vs Nov 24–27: the same weekdays a week earlier"
    label: str
    per_day: bool = False

    @property
    def days(self) -> int:
        """Complete days compared (0 when none)."""
        return 0 if self.current is None else (self.current[1] - self.current[0]).days + 1

    @property
    def first_day(self) -> date | None:
        """The earliest day the comparison needs loaded."""
        return self.previous[0] if self.previous else None


def span(start: date, end: date) -> str:
    """Two days into a short span, e.g. ``(Nov 1, Nov 14) -> "Nov 1–14"``, ``(Nov 24, Dec 1) ->
    "Nov 24–Dec 1"``, ``(Nov 3, Nov 3) -> "Nov 3"``."""
    if start == end:
        return f"{start:%b} {start.day}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start:%b} {start.day}–{end.day}"
    return f"{start:%b} {start.day}–{end:%b} {end.day}"


def like_for_like(start: date, end: date) -> tuple[date, date]:
    """A period into the one it compares with: as long, with the same weekdays, just before it.

    A whole number of weeks compares with the days just before it, e.g. ``(Dec 1, Dec 14) ->
    (Nov 17, Nov 30)``; any other length with the same days moved back by the whole weeks that
    cover it, e.g. Tue–Fri ``(Dec 1, Dec 4) -> (Nov 24, Nov 27)`` (one week) and 30 days ``(Mar 1,
    Mar 30) -> (Jan 25, Feb 23)`` (five weeks). Either way the periods never overlap.

    :raises ConfigError: when ``end`` is before ``start``
    """
    if end < start:
        raise ConfigError(f"the period ends ({end}) before it starts ({start})")
    length = (end - start).days + 1
    back = timedelta(weeks=-(-length // 7))
    return start - back, end - back


def _whole_month(start: date, end: date) -> bool:
    """Whether a period is one calendar month, e.g. ``(Feb 1, Feb 28) -> True``."""
    return start.day == 1 and month_bounds(start)[1] == end


def month_bounds(day: date) -> tuple[date, date]:
    """A day into its month's first and last day, e.g. 2025-02-12 -> (2025-02-01, 2025-02-28)."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def comparison(preset: str, start: date, end: date, today: date) -> Comparison:
    """A range into what its headline compares like with like, e.g. ``("month_to_date", Dec 1 –
    Dec 5, today Dec 5)`` -> Dec 1–4 (Tue–Fri) vs Nov 24–27 (Tue–Fri), today apart, labelled
    "Dec 1–4 vs Nov 24–27: the same weekdays a week earlier".

    Today is partial, so it never counts in an average or a delta. A calendar month (last month,
    or a range that is one whole past month) compares with the month before, per day; any other
    range compares its complete days with ``like_for_like`` days: as many, the same weekdays.
    """
    partial = today if start <= today <= end else None
    last_complete = min(end, today - timedelta(days=1))
    if last_complete < start:
        return Comparison(None, None, partial, "no complete day yet")
    current = (start, last_complete)
    if _whole_month(*current):
        previous_end = start - timedelta(days=1)
        previous = (previous_end.replace(day=1), previous_end)
        label = f"{start:%B} vs {previous_end:%B}, per day"
        return Comparison(current, previous, partial, label, per_day=True)
    previous = like_for_like(*current)
    length = (last_complete - start).days + 1
    weeks = (start - previous[0]).days // 7
    if length % 7 == 0:
        why = "the week just before" if weeks == 1 else f"the {weeks} weeks just before"
    else:
        why = f"the same weekdays {'a week' if weeks == 1 else f'{weeks} weeks'} earlier"
    return Comparison(current, previous, partial, f"{span(*current)} vs {span(*previous)}: {why}")


#: The days a command accepts: usage APIs hold nothing before 1970 (their times are Unix
#: seconds), and pandas' timestamps end in 2262; outside, date arithmetic overflows.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2261, 12, 31)


def check_day(day: date, what: str) -> date:
    """A day into itself when it lies within FIRST_DAY..LAST_DAY, else ConfigError naming
    ``what``, e.g. ``(date(1, 1, 1), "--as-of")`` -> "--as-of 0001-01-01 is before 1970-01-01"."""
    if day < FIRST_DAY:
        raise ConfigError(f"{what} {day.isoformat()} is before {FIRST_DAY}")
    if day > LAST_DAY:
        raise ConfigError(f"{what} {day.isoformat()} is after {LAST_DAY}")
    return day


def days_before(day: date, days: int, what: str) -> date:
    """``day`` minus ``days`` days, e.g. ``(Nov 1, 90) -> Aug 3``; ConfigError naming ``what``
    when that is before FIRST_DAY (or too far to compute) rather than an OverflowError."""
    try:
        earlier = day - timedelta(days=days)
    except OverflowError:
        earlier = date.min
    if earlier < FIRST_DAY:
        raise ConfigError(f"{what} {days} reaches back before {FIRST_DAY}")
    return earlier


def parse_day(text: str) -> date:
    """A command-line date into a date, e.g. ``"2026-11-01" -> date(2026, 11, 1)``; ValueError
    for anything else (the command line turns it into its one-line error). Whether the day is
    usable is for ``check_day`` and the sources (a range before any usage is their error)."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not a date in YYYY-MM-DD form: {text!r}") from exc
