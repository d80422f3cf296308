"""Local days (issue 21's foundation): zones, daylight saving, UTC hours into local dates, and
billed money apportioned to the cent. Table tests and a Hypothesis property."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spend.dates import local_today
from spend.errors import ConfigError
from spend.localdays import (
    apportion,
    day_bounds,
    hours_in_day,
    is_utc,
    local_dates,
    range_bounds,
    split_utc_day,
    utc_day_parts,
    utc_days,
    whole_hours,
    zone_of,
)

LA, BERLIN = zone_of("America/Los_Angeles"), zone_of("Europe/Berlin")
KOLKATA, KIRITIMATI = zone_of("Asia/Kolkata"), zone_of("Pacific/Kiritimati")


@pytest.mark.parametrize(
    "zone, day, hours",
    [
        (LA, date(2026, 3, 8), 23),  # spring forward
        (LA, date(2026, 11, 1), 25),  # fall back
        (LA, date(2026, 6, 1), 24),
        (BERLIN, date(2026, 3, 29), 23),
        (BERLIN, date(2026, 10, 25), 25),
        (KOLKATA, date(2026, 3, 29), 24),  # UTC+5:30, no daylight saving
        (KIRITIMATI, date(2026, 1, 1), 24),  # UTC+14
        (zone_of(None), date(2026, 3, 8), 24),
    ],
)
def test_hours_in_day__daylight_saving_days(zone, day, hours):
    assert hours_in_day(day, zone) == hours


@pytest.mark.parametrize(
    "zone, day, start, end",
    [
        (LA, date(2026, 3, 8), "2026-03-08T08:00Z", "2026-03-09T07:00Z"),
        (BERLIN, date(2026, 10, 25), "2026-10-24T22:00Z", "2026-10-25T23:00Z"),
        (KOLKATA, date(2026, 5, 1), "2026-04-30T18:30Z", "2026-05-01T18:30Z"),
        (KIRITIMATI, date(2026, 1, 1), "2025-12-31T10:00Z", "2026-01-01T10:00Z"),
    ],
)
def test_day_bounds__utc_instants_of_local_midnights(zone, day, start, end):
    first, last = day_bounds(day, zone)
    assert (first, last) == (pd.Timestamp(start), pd.Timestamp(end))
    assert range_bounds(day, day, zone) == (int(first.timestamp()), int(last.timestamp()))


@pytest.mark.parametrize(
    "zone, day, expected",
    [
        (zone_of("UTC"), date(2026, 11, 3), {date(2026, 11, 3): 24}),
        (LA, date(2026, 11, 3), {date(2026, 11, 2): 8, date(2026, 11, 3): 16}),
        # UTC+5:30: the hour 18:00-19:00Z straddles local midnight and counts where it starts
        (KOLKATA, date(2026, 11, 3), {date(2026, 11, 3): 19, date(2026, 11, 4): 5}),
        (KIRITIMATI, date(2026, 11, 3), {date(2026, 11, 3): 10, date(2026, 11, 4): 14}),
        (LA, date(2026, 11, 1), {date(2026, 10, 31): 7, date(2026, 11, 1): 17}),  # PDT then PST
    ],
)
def test_utc_day_parts__which_local_dates_a_utc_day_touches(zone, day, expected):
    assert {d: len(h) for d, h in utc_day_parts(day, zone).items()} == expected


def test_local_dates__every_hour_of_a_year_lands_on_one_local_date():
    """A year of UTC hours in Los Angeles: each local date gets its 23, 24 or 25 hours."""
    hours = pd.Series(pd.date_range("2026-01-01", "2027-01-01", freq="h", inclusive="left"))
    dates = local_dates(hours, LA)
    counts = dates.value_counts()
    inner = counts.drop([pd.Timestamp("2025-12-31"), pd.Timestamp("2026-12-31")])
    assert inner.sum() + counts.loc[pd.Timestamp("2025-12-31")] + counts.loc[
        pd.Timestamp("2026-12-31")
    ] == len(hours)
    assert set(inner.unique()) == {23, 24, 25}
    assert inner.loc[pd.Timestamp("2026-03-08")] == 23
    assert inner.loc[pd.Timestamp("2026-11-01")] == 25


@pytest.mark.parametrize(
    "amount, weights, expected",
    [
        ("10.00", {"a": 1, "b": 2}, {"a": "3.33", "b": "6.67"}),
        ("0.01", {"a": 1, "b": 1}, {"a": "0.01", "b": "0.00"}),
        ("24.00", {"a": 0, "b": 0}, {"a": "12.00", "b": "12.00"}),  # no usage: evenly
        ("10.005", {"a": 1, "b": 3}, {"a": "2.50", "b": "7.505"}),  # sub-cent to the largest
        ("-5.00", {"a": 1, "b": 1}, {"a": "-2.50", "b": "-2.50"}),  # a credit
        ("7.00", {"only": 0.3}, {"only": "7.00"}),
    ],
)
def test_apportion__to_the_cent(amount, weights, expected):
    parts = apportion(Decimal(amount), weights)
    assert {k: str(v) for k, v in parts.items()} == expected
    assert sum(parts.values()) == Decimal(amount)


@given(
    cents=st.integers(min_value=-(10**9), max_value=10**9),
    extra=st.integers(min_value=0, max_value=99),
    weights=st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=30),
)
def test_apportion__nothing_lost_or_invented(cents, extra, weights):
    amount = Decimal(cents) / 100 + Decimal(extra) / 10_000
    parts = apportion(amount, dict(enumerate(weights)))
    assert sum(parts.values()) == amount
    assert len(parts) == len(weights)


def test_split_utc_day__by_hourly_usage_or_by_hours():
    day = date(2026, 11, 3)
    assert split_utc_day(Decimal("24"), day, LA) == {
        date(2026, 11, 2): Decimal("8.00"),
        date(2026, 11, 3): Decimal("16.00"),
    }
    evening = {h: 1.0 for h in range(8)}  # all usage before 08:00Z: Nov 2 in Los Angeles
    assert split_utc_day(Decimal("24"), day, LA, evening) == {
        date(2026, 11, 2): Decimal("24.00"),
        date(2026, 11, 3): Decimal("0.00"),
    }
    assert split_utc_day(Decimal("1.23"), day, zone_of("UTC")) == {day: Decimal("1.23")}


@pytest.mark.parametrize("name", ["Mars/Olympus", "../etc/passwd", "/UTC", "America/New York"])
def test_zone_of__an_unknown_zone_names_the_setting(name):
    with pytest.raises(ConfigError, match="SPEND_TIMEZONE must be an IANA time zone"):
        zone_of(name)


def test_is_utc__utc_spellings():
    assert is_utc(zone_of("UTC")) and is_utc(zone_of(None)) and not is_utc(LA)


@pytest.mark.parametrize(
    "zone, whole", [(LA, True), (BERLIN, True), (KIRITIMATI, True), (KOLKATA, False)]
)
def test_whole_hours__zones_whose_midnight_an_hourly_bucket_can_cut(zone, whole):
    assert whole_hours(zone, date(2026, 11, 3)) is whole


@pytest.mark.parametrize(
    "zone, start, end, first, last",
    [
        (LA, date(2026, 3, 8), date(2026, 3, 8), date(2026, 3, 8), date(2026, 3, 9)),  # 23 h
        (LA, date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 1), date(2026, 11, 3)),
        (BERLIN, date(2026, 3, 29), date(2026, 3, 29), date(2026, 3, 28), date(2026, 3, 29)),
        (BERLIN, date(2026, 10, 25), date(2026, 10, 25), date(2026, 10, 24), date(2026, 10, 25)),
        (KOLKATA, date(2026, 5, 1), date(2026, 5, 31), date(2026, 4, 30), date(2026, 5, 31)),
        (KIRITIMATI, date(2026, 1, 1), date(2026, 1, 1), date(2025, 12, 31), date(2026, 1, 1)),
        (zone_of("UTC"), date(2026, 1, 1), date(2026, 1, 31), date(2026, 1, 1), date(2026, 1, 31)),
    ],
)
def test_utc_days__the_utc_days_a_cost_report_must_answer(zone, start, end, first, last):
    assert utc_days(start, end, zone) == (first, last)


@pytest.mark.parametrize(
    "zone, moment, today",
    [
        (LA, "2026-11-03T07:59Z", date(2026, 11, 2)),  # 23:59 PST
        (LA, "2026-11-03T08:00Z", date(2026, 11, 3)),
        (LA, "2026-03-09T06:59Z", date(2026, 3, 8)),  # 23:59 PDT on the 23-hour day
        (BERLIN, "2026-10-25T22:59Z", date(2026, 10, 25)),  # 23:59 CET on the 25-hour day
        (KOLKATA, "2026-05-01T18:30Z", date(2026, 5, 2)),
        (KIRITIMATI, "2026-01-01T10:00Z", date(2026, 1, 2)),
        (zone_of(None), "2026-01-01T23:59Z", date(2026, 1, 1)),
    ],
)
def test_local_today__the_date_an_instant_is_in_the_zone(zone, moment, today):
    stamp = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    assert local_today(zone, stamp) == today
    assert local_today(zone, stamp.astimezone(UTC).replace(tzinfo=None)) == today  # naive is UTC
