"""Date ranges: presets and what a range's headline compares like with like."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from spend.dates import (
    comparison,
    like_for_like,
    local_today,
    preset_range,
    span,
    wall_clock,
    zone_label,
)
from spend.errors import ConfigError

D = date
#: A label stays on one line under the Overview's figures: the caption spans the page (over 900 px
#: at 1,400 px), and 80 characters of it take about 520 px. (A caption under each figure, as
#: ``st.metric``'s ``delta_description``, had about 70 px at five figures: ten characters.)
MAX_CAPTION = 80


@pytest.mark.parametrize(
    ("preset", "start", "end", "today", "current", "previous", "partial", "label"),
    [
        # a range ending today: its 6 complete days (Wed–Mon) against the same weekdays a week
        # earlier, today apart (issue 19: they used to be the 6 days just before, Thu–Tue)
        (
            "last_7_days",
            D(2026, 11, 25),
            D(2026, 12, 1),
            D(2026, 12, 1),
            (D(2026, 11, 25), D(2026, 11, 30)),
            (D(2026, 11, 18), D(2026, 11, 23)),
            D(2026, 12, 1),
            "Nov 25–30 vs Nov 18–23: the same weekdays a week earlier",
        ),
        # issue 19: month to date on Dec 5, 2026: Dec 1–4 (Tue–Fri) against Nov 24–27 (Tue–Fri),
        # not Nov 1–4 (Sun–Wed: three weekdays against four)
        (
            "month_to_date",
            D(2026, 12, 1),
            D(2026, 12, 5),
            D(2026, 12, 5),
            (D(2026, 12, 1), D(2026, 12, 4)),
            (D(2026, 11, 24), D(2026, 11, 27)),
            D(2026, 12, 5),
            "Dec 1–4 vs Nov 24–27: the same weekdays a week earlier",
        ),
        # issue 19: on March 31, Mar 1–30 against 30 days of the same weekdays five weeks earlier
        # (it was Feb 1–28: 30 days against 28)
        (
            "month_to_date",
            D(2026, 3, 1),
            D(2026, 3, 31),
            D(2026, 3, 31),
            (D(2026, 3, 1), D(2026, 3, 30)),
            (D(2026, 1, 25), D(2026, 2, 23)),
            D(2026, 3, 31),
            "Mar 1–30 vs Jan 25–Feb 23: the same weekdays 5 weeks earlier",
        ),
        # two whole weeks: the two weeks just before
        (
            "month_to_date",
            D(2026, 12, 1),
            D(2026, 12, 15),
            D(2026, 12, 15),
            (D(2026, 12, 1), D(2026, 12, 14)),
            (D(2026, 11, 17), D(2026, 11, 30)),
            D(2026, 12, 15),
            "Dec 1–14 vs Nov 17–30: the 2 weeks just before",
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
        # last month: the calendar month before it, per day
        (
            "last_month",
            D(2026, 3, 1),
            D(2026, 3, 31),
            D(2026, 4, 10),
            (D(2026, 3, 1), D(2026, 3, 31)),
            (D(2026, 2, 1), D(2026, 2, 28)),
            None,
            "March vs February, per day",
        ),
        # a whole past month picked by hand is a calendar month too
        (
            "custom",
            D(2026, 2, 1),
            D(2026, 2, 28),
            D(2026, 6, 1),
            (D(2026, 2, 1), D(2026, 2, 28)),
            (D(2026, 1, 1), D(2026, 1, 31)),
            None,
            "February vs January, per day",
        ),
        # a custom range in the past: 10 days, two weeks back
        (
            "custom",
            D(2026, 5, 10),
            D(2026, 5, 19),
            D(2026, 6, 1),
            (D(2026, 5, 10), D(2026, 5, 19)),
            (D(2026, 4, 26), D(2026, 5, 5)),
            None,
            "May 10–19 vs Apr 26–May 5: the same weekdays 2 weeks earlier",
        ),
        # one complete day: the same weekday a week before
        (
            "custom",
            D(2026, 5, 10),
            D(2026, 5, 10),
            D(2026, 6, 1),
            (D(2026, 5, 10), D(2026, 5, 10)),
            (D(2026, 5, 3), D(2026, 5, 3)),
            None,
            "May 10 vs May 3: the same weekdays a week earlier",
        ),
    ],
)
def test_comparison__table(preset, start, end, today, current, previous, partial, label):
    got = comparison(preset, start, end, today)
    assert (got.current, got.previous, got.today, got.label) == (current, previous, partial, label)
    assert got.first_day == (previous[0] if previous else None)
    if previous is not None:
        assert got.per_day == (got.days != (previous[1] - previous[0]).days + 1)
        if not got.per_day:  # like with like: as many days, the same weekdays, no overlap
            weekdays = [(current[0] + timedelta(days=i)).weekday() for i in range(got.days)]
            before = [(previous[0] + timedelta(days=i)).weekday() for i in range(got.days)]
            assert weekdays == before and previous[1] < current[0]
        assert len(got.label) <= MAX_CAPTION


@pytest.mark.parametrize("preset", ["last_7_days", "last_30_days", "last_90_days"])
def test_comparison__today_never_counts_in_a_rolling_preset(preset):
    today = D(2026, 12, 1)
    start, end = preset_range(preset, today)
    got = comparison(preset, start, end, today)
    assert got.today == today and got.current[1] == D(2026, 11, 30)
    assert got.days == (end - start).days  # one day fewer than the range: today is apart


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ((2026, 12, 1), (2026, 12, 14), ((2026, 11, 17), (2026, 11, 30))),  # 2 weeks: just before
        ((2026, 12, 1), (2026, 12, 7), ((2026, 11, 24), (2026, 11, 30))),  # 1 week
        ((2026, 12, 1), (2026, 12, 4), ((2026, 11, 24), (2026, 11, 27))),  # 4 days: a week back
        ((2026, 12, 1), (2026, 12, 1), ((2026, 11, 24), (2026, 11, 24))),  # 1 day: a week back
        ((2026, 3, 1), (2026, 3, 30), ((2026, 1, 25), (2026, 2, 23))),  # 30 days: 5 weeks back
        ((2026, 1, 1), (2026, 3, 31), ((2025, 10, 2), (2025, 12, 30))),  # 90 days: 13 weeks back
        ((2026, 1, 1), (2026, 1, 8), ((2025, 12, 18), (2025, 12, 25))),  # 8 days: 2 weeks back
    ],
)
def test_like_for_like__table(start, end, expected):
    got = like_for_like(D(*start), D(*end))
    assert got == (D(*expected[0]), D(*expected[1]))
    length = (D(*end) - D(*start)).days + 1
    assert (got[1] - got[0]).days + 1 == length  # as long
    assert (D(*start) - got[0]).days % 7 == 0  # the same weekdays
    assert got[1] < D(*start)  # before it, never overlapping


def test_like_for_like__end_before_start_is_a_config_error():
    with pytest.raises(ConfigError, match="before it starts"):
        like_for_like(D(2026, 1, 2), D(2026, 1, 1))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (D(2026, 11, 1), D(2026, 11, 14), "Nov 1–14"),
        (D(2026, 11, 24), D(2026, 12, 1), "Nov 24–Dec 1"),
        (D(2026, 11, 3), D(2026, 11, 3), "Nov 3"),
        (D(2025, 12, 27), D(2026, 1, 2), "Dec 27–Jan 2"),
    ],
)
def test_span__table(start, end, expected):
    assert span(start, end) == expected


@pytest.mark.parametrize("today", [D(2026, 1, 1) + timedelta(days=i) for i in range(0, 366, 5)])
@pytest.mark.parametrize("preset", ["last_7_days", "last_30_days", "last_90_days", "month_to_date"])
def test_comparison__every_caption_is_short_and_like_for_like(preset, today):
    start, end = preset_range(preset, today)
    got = comparison(preset, start, end, today)
    assert len(got.label) <= MAX_CAPTION, got.label
    if got.previous is not None:
        assert not got.per_day and got.previous[1] < got.current[0]
        assert (got.current[0] - got.previous[0]).days % 7 == 0
        assert got.label.startswith(f"{span(*got.current)} vs {span(*got.previous)}: ")


# --- the deployment's own days (issue 21) -----------------------------------------------------

UTC_ = UTC


@pytest.mark.parametrize(
    ("zone", "now", "today"),
    [
        # UTC: the UTC date, whatever the hour
        ("UTC", datetime(2026, 12, 5, 0, 0, tzinfo=UTC_), D(2026, 12, 5)),
        ("UTC", datetime(2026, 12, 5, 23, 59, tzinfo=UTC_), D(2026, 12, 5)),
        # Los Angeles in winter (UTC-8): until 08:00 UTC it is still the day before
        ("America/Los_Angeles", datetime(2026, 12, 5, 7, 59, tzinfo=UTC_), D(2026, 12, 4)),
        ("America/Los_Angeles", datetime(2026, 12, 5, 8, 0, tzinfo=UTC_), D(2026, 12, 5)),
        # in summer (UTC-7): until 07:00 UTC
        ("America/Los_Angeles", datetime(2026, 7, 1, 6, 59, tzinfo=UTC_), D(2026, 6, 30)),
        ("America/Los_Angeles", datetime(2026, 7, 1, 7, 0, tzinfo=UTC_), D(2026, 7, 1)),
        # spring forward (Mar 8, 2026: 23 hours): midnight was 08:00 UTC, the next one 07:00 UTC
        ("America/Los_Angeles", datetime(2026, 3, 8, 7, 59, tzinfo=UTC_), D(2026, 3, 7)),
        ("America/Los_Angeles", datetime(2026, 3, 9, 6, 59, tzinfo=UTC_), D(2026, 3, 8)),
        ("America/Los_Angeles", datetime(2026, 3, 9, 7, 0, tzinfo=UTC_), D(2026, 3, 9)),
        # fall back (Nov 1, 2026: 25 hours): from 07:00 UTC to 08:00 UTC the next day
        ("America/Los_Angeles", datetime(2026, 11, 1, 6, 59, tzinfo=UTC_), D(2026, 10, 31)),
        ("America/Los_Angeles", datetime(2026, 11, 2, 7, 59, tzinfo=UTC_), D(2026, 11, 1)),
        ("America/Los_Angeles", datetime(2026, 11, 2, 8, 0, tzinfo=UTC_), D(2026, 11, 2)),
        # Berlin's spring forward (Mar 29, 2026) and fall back (Oct 25, 2026)
        ("Europe/Berlin", datetime(2026, 3, 28, 22, 59, tzinfo=UTC_), D(2026, 3, 28)),
        ("Europe/Berlin", datetime(2026, 3, 28, 23, 0, tzinfo=UTC_), D(2026, 3, 29)),
        ("Europe/Berlin", datetime(2026, 3, 29, 22, 0, tzinfo=UTC_), D(2026, 3, 30)),
        ("Europe/Berlin", datetime(2026, 10, 25, 22, 59, tzinfo=UTC_), D(2026, 10, 25)),
        ("Europe/Berlin", datetime(2026, 10, 25, 23, 0, tzinfo=UTC_), D(2026, 10, 26)),
        # UTC+5:30: the date turns at 18:30 UTC
        ("Asia/Kolkata", datetime(2026, 12, 4, 18, 29, tzinfo=UTC_), D(2026, 12, 4)),
        ("Asia/Kolkata", datetime(2026, 12, 4, 18, 30, tzinfo=UTC_), D(2026, 12, 5)),
        # UTC+14: a day ahead from 10:00 UTC
        ("Pacific/Kiritimati", datetime(2026, 12, 4, 9, 59, tzinfo=UTC_), D(2026, 12, 4)),
        ("Pacific/Kiritimati", datetime(2026, 12, 4, 10, 0, tzinfo=UTC_), D(2026, 12, 5)),
        # UTC-10 (Honolulu, no daylight saving): a day behind until 10:00 UTC
        ("Pacific/Honolulu", datetime(2026, 12, 5, 9, 59, tzinfo=UTC_), D(2026, 12, 4)),
        ("Pacific/Honolulu", datetime(2026, 12, 5, 10, 0, tzinfo=UTC_), D(2026, 12, 5)),
        # a naive instant is UTC
        ("America/Los_Angeles", datetime(2026, 12, 5, 3, 0), D(2026, 12, 4)),
    ],
)
def test_local_today__is_the_date_in_the_zone(zone, now, today):
    assert local_today(ZoneInfo(zone), now) == today


@pytest.mark.parametrize(
    ("zone", "now", "preset", "start", "end"),
    [
        # Dec 1, 03:00 UTC: still Nov 30 in Los Angeles, so month to date is November's, and last
        # month is October; in UTC it is December's first day
        (
            "UTC",
            datetime(2026, 12, 1, 3, tzinfo=UTC_),
            "month_to_date",
            D(2026, 12, 1),
            D(2026, 12, 1),
        ),
        (
            "America/Los_Angeles",
            datetime(2026, 12, 1, 3, tzinfo=UTC_),
            "month_to_date",
            D(2026, 11, 1),
            D(2026, 11, 30),
        ),
        (
            "America/Los_Angeles",
            datetime(2026, 12, 1, 3, tzinfo=UTC_),
            "last_month",
            D(2026, 10, 1),
            D(2026, 10, 31),
        ),
        (
            "UTC",
            datetime(2026, 12, 1, 3, tzinfo=UTC_),
            "last_month",
            D(2026, 11, 1),
            D(2026, 11, 30),
        ),
        # Nov 30, 11:00 UTC: already Dec 1 in Kiritimati (UTC+14), still Nov 30 in Honolulu
        (
            "Pacific/Kiritimati",
            datetime(2026, 11, 30, 11, tzinfo=UTC_),
            "month_to_date",
            D(2026, 12, 1),
            D(2026, 12, 1),
        ),
        (
            "Pacific/Honolulu",
            datetime(2026, 11, 30, 9, tzinfo=UTC_),
            "last_7_days",
            D(2026, 11, 23),
            D(2026, 11, 29),
        ),
        # across spring forward in Los Angeles: 7 dates, one of them 23 hours long
        (
            "America/Los_Angeles",
            datetime(2026, 3, 11, 6, 30, tzinfo=UTC_),
            "last_7_days",
            D(2026, 3, 4),
            D(2026, 3, 10),
        ),
        # Berlin's new year begins at 23:00 UTC on Dec 31: last month is then December
        (
            "Europe/Berlin",
            datetime(2026, 12, 31, 23, 0, tzinfo=UTC_),
            "last_month",
            D(2026, 12, 1),
            D(2026, 12, 31),
        ),
    ],
)
def test_presets__count_back_from_the_zones_today(zone, now, preset, start, end):
    assert preset_range(preset, local_today(ZoneInfo(zone), now)) == (start, end)


@pytest.mark.parametrize(
    ("zone", "now", "wall"),
    [
        ("UTC", datetime(2026, 12, 5, 3, tzinfo=UTC_), datetime(2026, 12, 5, 3)),
        ("America/Los_Angeles", datetime(2026, 12, 5, 3, tzinfo=UTC_), datetime(2026, 12, 4, 19)),
        ("Pacific/Kiritimati", datetime(2026, 12, 5, 3, tzinfo=UTC_), datetime(2026, 12, 5, 17)),
    ],
)
def test_wall_clock__is_the_naive_local_time(zone, now, wall):
    assert wall_clock(ZoneInfo(zone), now) == wall


@pytest.mark.parametrize(
    ("zone", "label"),
    [
        (ZoneInfo("UTC"), "UTC"),
        (ZoneInfo("Etc/UTC"), "UTC"),
        (UTC, "UTC"),
        (ZoneInfo("America/Los_Angeles"), "America/Los_Angeles"),
        ("Asia/Kolkata", "Asia/Kolkata"),
    ],
)
def test_zone_label__names_the_zone(zone, label):
    assert zone_label(zone) == label
