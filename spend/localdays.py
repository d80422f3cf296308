"""The team's own days: UTC hours into local dates, and UTC days' billed money apportioned to them.

A deployment may count days in its business time zone (``SPEND_TIMEZONE``, an IANA name; UTC by
default). Usage then comes in hourly buckets (UTC hours), and every hour belongs to exactly one
local date; a local date has 23, 24 or 25 hours (daylight saving). Cost reports answer per UTC
day only: a UTC day touches two local dates (or one, in UTC), and its money is apportioned to
them in proportion to the usage behind it in each part of the day, or by hours when no usage is
behind it. Nothing is lost or invented: the parts of an amount add up to it to the cent.

In a zone whose offset is not whole hours (Asia/Kolkata, UTC+5:30; Asia/Kathmandu, +5:45), the UTC
hour that straddles local midnight counts on the date its first minute falls on: hourly buckets
cannot be cut finer without 60 times the requests, so such a day's first 15 to 45 minutes count
on the day before (``whole_hours`` tells), and the pages say so.

Pure functions over the standard library's ``zoneinfo`` (the system's time zone database).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from spend.errors import ConfigError

#: The zone days are counted in when none is set.
DEFAULT_ZONE = "UTC"
#: Billed money is apportioned to this fraction of a cent (the Costs APIs' own precision is finer,
#: but an invoice is in cents).
CENT = Decimal("0.01")


def zone_of(name: str | None, setting: str = "SPEND_TIMEZONE") -> ZoneInfo:
    """An IANA zone name into the zone, e.g. ``"America/Los_Angeles"``; None or "" is UTC; an
    unknown name is a ConfigError naming the setting."""
    text = (name or DEFAULT_ZONE).strip()
    try:
        if not text or "\x00" in text or text.startswith(("/", ".")) or ".." in text:
            raise ValueError(text)
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"{setting} must be an IANA time zone such as America/Los_Angeles or Europe/Berlin, "
            f"got {text[:60]!r}."
        ) from exc


def whole_hours(zone: ZoneInfo, day: date) -> bool:
    """Whether local midnight of ``day`` falls on a whole UTC hour (not in UTC+5:30, UTC+5:45)."""
    return day_bounds(day, zone)[0].minute == 0


def is_utc(zone: ZoneInfo) -> bool:
    """Whether days in ``zone`` are UTC days (then hourly buckets are never needed)."""
    return zone.key in ("UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu")


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A local date into the UTC instants it starts and ends at, e.g. 2026-03-08 in Los Angeles ->
    (08:00Z, next day 07:00Z): 23 hours, the spring-forward day."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return start, end.astimezone(UTC)


def hours_in_day(day: date, zone: ZoneInfo) -> int:
    """A local date into its length in hours, e.g. 23 or 25 on daylight-saving days, else 24."""
    start, end = day_bounds(day, zone)
    return int((end - start).total_seconds() // 3600)


def range_bounds(start: date, end: date, zone: ZoneInfo) -> tuple[int, int]:
    """Inclusive local dates into the Unix seconds [first midnight, the midnight after the last),
    e.g. Nov 1-2 in Berlin -> (Oct 31 23:00Z, Nov 2 23:00Z): what a range asks of hourly data."""
    first, _ = day_bounds(start, zone)
    _, last = day_bounds(end, zone)
    return int(first.timestamp()), int(last.timestamp())


def utc_days(start: date, end: date, zone: ZoneInfo) -> tuple[date, date]:
    """Inclusive local dates into the first and last UTC days they touch, e.g. Nov 1-2 in Los
    Angeles -> (Nov 1, Nov 3): the days a cost report (per UTC day) must answer for them."""
    t0, t1 = range_bounds(start, end, zone)
    first = datetime.fromtimestamp(t0, tz=UTC).date()
    last = datetime.fromtimestamp(t1 - 1, tz=UTC).date()
    return first, last


def local_dates(starts: pd.Series, zone: ZoneInfo) -> pd.Series:
    """UTC hour starts (tz-naive UTC or tz-aware) into the local dates they belong to, as
    tz-naive midnights like the usage table's ``date``, e.g. 2026-11-03 07:00 UTC in Los Angeles
    -> 2026-11-02 (23:00 the day before)."""
    stamps = pd.to_datetime(starts, utc=True)
    return stamps.dt.tz_convert(zone.key).dt.tz_localize(None).dt.normalize()


def utc_day_parts(day: date, zone: ZoneInfo) -> dict[date, list[int]]:
    """A UTC day into the local dates its 24 hours fall on, each with its hours (0-23 of the UTC
    day, counted where the hour starts), e.g. 2026-11-03 in Los Angeles -> {Nov 2: [0..7], Nov 3:
    [8..23]}."""
    parts: dict[date, list[int]] = {}
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    for hour in range(24):
        local = (midnight + timedelta(hours=hour)).astimezone(zone).date()
        parts.setdefault(local, []).append(hour)
    return parts


def apportion(amount: Decimal, weights: Mapping[Hashable, float]) -> dict[Hashable, Decimal]:
    """An amount into parts proportional to ``weights`` that add up to it exactly, to the cent,
    e.g. ``$10.00`` by ``{a: 1, b: 2}`` -> ``{a: $3.33, b: $6.67}`` (the largest remainder takes
    the odd cent; ties go to the first key). Zero or missing weights everywhere split evenly.

    :param amount: money in dollars (a Decimal; the cents it holds are kept, finer parts are
        given to the largest share)
    """
    keys = list(weights)
    if not keys:
        return {}
    if amount < 0:  # a credit splits as its opposite does
        return {k: -v for k, v in apportion(-amount, weights).items()}
    positive = {k: max(0.0, float(weights[k] or 0.0)) for k in keys}
    total = sum(positive.values())
    if total <= 0:
        positive = dict.fromkeys(keys, 1.0)
        total = float(len(keys))
    cents = (amount / CENT).to_integral_value(rounding=ROUND_FLOOR)
    shares = {k: Decimal(repr(positive[k] / total)) * cents for k in keys}
    floors = {k: shares[k].to_integral_value(rounding=ROUND_FLOOR) for k in keys}
    left = int(cents - sum(floors.values()))
    order = sorted(keys, key=lambda k: (-(shares[k] - floors[k]), keys.index(k)))
    for k in order[: max(0, left)]:
        floors[k] += 1
    parts = {k: floors[k] * CENT for k in keys}
    # what is finer than a cent (the APIs report fractions of a cent) goes to the largest share
    rest = amount - sum(parts.values())
    if rest:
        parts[max(keys, key=lambda k: (positive[k], -keys.index(k)))] += rest
    return parts


def split_utc_day(
    amount: Decimal, day: date, zone: ZoneInfo, hourly: Mapping[int, float] | None = None
) -> dict[date, Decimal]:
    """A UTC day's billed amount into the local dates it touches, in proportion to the usage of
    each hour (``hourly``: UTC hour 0-23 -> estimated cost or tokens), or by hours when there is
    none; e.g. $24 on 2026-11-03 in Los Angeles with no usage -> {Nov 2: $8, Nov 3: $16}."""
    parts = utc_day_parts(day, zone)
    usage = {
        local: sum((hourly or {}).get(h, 0.0) for h in hours) for local, hours in parts.items()
    }
    if sum(usage.values()) <= 0:
        usage = {local: float(len(hours)) for local, hours in parts.items()}
    return apportion(amount, usage)  # type: ignore[return-value]


__all__ = [
    "CENT",
    "DEFAULT_ZONE",
    "apportion",
    "day_bounds",
    "hours_in_day",
    "is_utc",
    "whole_hours",
    "local_dates",
    "utc_days",
    "range_bounds",
    "split_utc_day",
    "utc_day_parts",
    "zone_of",
]
