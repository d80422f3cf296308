"""The app in the team's own zone (issue 21): the demo under ``SPEND_TIMEZONE=America/Los_Angeles``
at an instant whose date differs in UTC and in Los Angeles, under AppTest.

The app's clock is ``spend.dates.utc_now``; these tests set it to 2026-12-01 03:00 UTC, which is
Nov 30, 19:00 in Los Angeles: "month to date" is November there and December in UTC. Expected
figures come from ``spend`` functions called here, never copied from the page.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from spend import analysis, dates
from spend import formatting as fmt
from spend.config import Settings
from spend.dates import local_today, preset_range
from spend.errors import ConfigError
from spend.localdays import zone_of
from spend.sources.demo import DemoSource
from spend.ui import data, sidebar
from tests.apptest_support import ROOT, app, legacy_secrets, no_exceptions

pytestmark = pytest.mark.usefixtures("fresh_streamlit")

LA = "America/Los_Angeles"
#: 03:00 UTC on Dec 1 is 19:00 on Nov 30 in Los Angeles (PST, UTC-8).
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
LA_TODAY = local_today(ZoneInfo(LA), NOW)
UTC_TODAY = NOW.date()
RAW_DATA = str(ROOT / "app_pages" / "raw_data.py")
BUDGETS = str(ROOT / "app_pages" / "budgets.py")


@pytest.fixture
def clock(monkeypatch):
    """The app runs at NOW: the sidebar, the view, the load's cache key and the demo read the
    app's one clock, ``dates.utc_now``."""
    monkeypatch.setattr(dates, "utc_now", lambda: NOW)
    return NOW


def range_caption(at: AppTest) -> str:
    """The sidebar's caption under the range, e.g. "Nov 01, 2026 – Nov 30, 2026 (UTC)"."""
    found = [c.value for c in at.sidebar.caption if c.value.endswith(")") and " – " in c.value]
    assert found, [c.value for c in at.sidebar.caption]
    return found[0]


def shown(start: date, end: date, zone: str) -> str:
    return f"{start:%b %d, %Y} – {end:%b %d, %Y} ({zone})"


def demo_frame(zone: str):
    """The demo table the app shows in ``zone`` at NOW (built here, not read from the page)."""
    source = DemoSource(Settings(source="demo", timezone=zone), clock=NOW.timestamp)
    today = source.today()
    return source.assemble(source.plan(today - timedelta(days=70), today)).frame


def test_the_clock_puts_the_two_zones_on_different_dates():
    assert (LA_TODAY, UTC_TODAY) == (date(2026, 11, 30), date(2026, 12, 1))


def test_sidebar__names_the_zone_and_counts_presets_from_its_today(clock):
    at = app(SPEND_TIMEZONE=LA)
    at.run()
    no_exceptions(at)
    assert range_caption(at) == shown(*preset_range("last_30_days", LA_TODAY), LA)
    at.sidebar.selectbox(key="range_preset").set_value("month_to_date").run()
    no_exceptions(at)
    # November's month to date in Los Angeles (it is already December in UTC)
    start, end = preset_range("month_to_date", LA_TODAY)
    assert (start, end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert range_caption(at) == shown(start, end, LA)
    at.sidebar.selectbox(key="range_preset").set_value("last_month").run()
    assert range_caption(at) == shown(date(2026, 10, 1), date(2026, 10, 31), LA)
    # the choice of days: the deployment's zone by default, and nothing in the URL for it
    assert at.sidebar.radio(key="days_in").value == "local"
    assert "tz" not in at.query_params


def test_overview__figures_are_the_local_days_of_the_demo(clock):
    at = app(SPEND_TIMEZONE=LA)
    at.run()
    no_exceptions(at)
    frame = demo_frame(LA)
    start, end = preset_range("last_30_days", LA_TODAY)
    expected = analysis.totals(frame, start=start, end=end)
    spend = [m for m in at.metric if m.label.startswith("Spend")][0]
    assert spend.value == fmt.usd(expected.spend)
    # the demo's days end yesterday in Los Angeles: Nov 29, not Nov 30 (as UTC's would)
    assert frame["date"].max().date() == LA_TODAY - timedelta(days=1)
    assert demo_frame("UTC")["date"].max().date() == UTC_TODAY - timedelta(days=1)
    assert any(f"({LA} days)" in c.value for c in at.caption)


def test_captions__name_the_zone_on_every_page_that_said_utc(clock):
    at = app(SPEND_TIMEZONE=LA)
    at.run()
    no_exceptions(at)
    texts = [c.value for c in at.caption]
    # the month card counts through yesterday in Los Angeles (Nov 29; UTC's would be Nov 30)
    assert any(f"November 1–29 ({LA}, complete days)" in t for t in texts), texts
    assert not any("(UTC" in t or "UTC day" in t for t in texts), texts
    at.switch_page(RAW_DATA).run()
    no_exceptions(at)
    start, end = preset_range("last_30_days", LA_TODAY)
    assert any(f"{start} to {end} ({LA})" in c.value for c in at.caption)
    at.switch_page(BUDGETS).run()
    no_exceptions(at)
    yesterday = LA_TODAY - timedelta(days=1)
    said = f"Calendar month {yesterday:%B %Y} in {LA}, counted through {yesterday:%b %d}"
    assert any(said in c.value for c in at.caption), [c.value for c in at.caption]


def test_a_link_with_tz_utc_shows_utc_days(clock):
    at = app(SPEND_TIMEZONE=LA)
    at.query_params["range"] = "month_to_date"
    at.query_params["tz"] = "utc"
    at.run()
    no_exceptions(at)
    assert at.sidebar.radio(key="days_in").value == "utc"
    # December's first day in UTC: the demo has no usage on today
    assert range_caption(at) == shown(UTC_TODAY, UTC_TODAY, "UTC")
    assert at.query_params["tz"] == "utc"


def test_switching_to_utc_and_back_keeps_the_choice_in_the_url(clock):
    at = app(SPEND_TIMEZONE=LA)
    at.run()
    at.switch_page(RAW_DATA).run()
    at.sidebar.radio(key="days_in").set_value("utc").run()
    no_exceptions(at)
    start, end = preset_range("last_30_days", UTC_TODAY)
    assert range_caption(at) == shown(start, end, "UTC")
    assert at.query_params["tz"] == "utc"
    rows = demo_frame("UTC")
    expected = len(analysis.filter_usage(rows, start=start, end=end))
    assert any(f"**{expected:,} rows** · {start} to {end} (UTC)" in c.value for c in at.caption)
    at.sidebar.radio(key="days_in").set_value("local").run()
    no_exceptions(at)
    assert range_caption(at) == shown(*preset_range("last_30_days", LA_TODAY), LA)
    assert "tz" not in at.query_params


def test_a_utc_deployment_offers_no_choice_of_days(clock):
    at = app()
    at.query_params["tz"] = "utc"
    at.run()
    no_exceptions(at)
    assert not [r for r in at.sidebar.radio if r.key == "days_in"]
    assert range_caption(at) == shown(*preset_range("last_30_days", UTC_TODAY), "UTC")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "PST8PDT/x"])
def test_an_unknown_zone_is_one_line_naming_the_setting(zone):
    at = app(SPEND_TIMEZONE=zone)
    at.run()
    no_exceptions(at)
    assert len(at.error) == 1
    with pytest.raises(ConfigError) as raised:  # the setting's own one-line message, shown whole
        zone_of(zone)
    said = str(raised.value)
    assert said.startswith("SPEND_TIMEZONE must be an IANA time zone") and "\n" not in said
    assert at.error[0].value == fmt.escape_markdown(said)  # a zone name is text, not Markdown
    assert not at.metric  # no page drawn on a setting that cannot be read


# --- the legacy endpoint keeps UTC days -------------------------------------------------------


def test_legacy_source__says_its_days_stay_utc_in_another_zone(fake_openai):
    at = app(SPEND_TIMEZONE=LA, **legacy_secrets(fake_openai))
    at.query_params["range"] = "last_7_days"
    at.run()
    no_exceptions(at)
    notes = [c.value for c in at.sidebar.caption if "UTC day" in c.value]
    assert len(notes) == 1, [c.value for c in at.sidebar.caption]
    assert "stay UTC days" in notes[0]


def test_legacy_source__no_note_in_utc(fake_openai):
    at = app(**legacy_secrets(fake_openai))
    at.query_params["range"] = "last_7_days"
    at.run()
    no_exceptions(at)
    assert not [c.value for c in at.sidebar.caption if "UTC day" in c.value]


@pytest.mark.parametrize(
    ("names", "zone", "noted"),
    [
        (["legacy"], LA, True),
        (["legacy"], "UTC", False),
        (["admin"], LA, False),
        (["demo"], LA, False),
        (["admin", "legacy"], LA, True),
    ],
)
def test_utc_days_note__only_for_a_utc_only_source_in_another_zone(names, zone, noted):
    parts = [data.Loaded(None, name) for name in names]
    loaded = parts[0] if len(parts) == 1 else data.Loaded(None, "+".join(names), parts=parts)
    settings = Settings.from_mapping({"SPEND_TIMEZONE": zone})
    note = sidebar.utc_days_note(loaded, ZoneInfo(zone), settings)
    assert (note is not None) == noted
    if noted:
        assert "UTC" in note and (len(parts) == 1 or LA in note)


def test_a_custom_range_ending_today_in_utc_ends_today_in_the_zone(clock):
    """Switching from UTC days to Los Angeles's, where today is a day earlier, keeps a custom
    range that ended on UTC's today (it ends on the zone's today), never an error."""
    at = app(SPEND_TIMEZONE=LA)
    at.query_params["tz"] = "utc"
    at.query_params["range"] = "custom"
    at.query_params["start"] = "2026-11-20"
    at.query_params["end"] = UTC_TODAY.isoformat()
    at.run()
    no_exceptions(at)
    assert at.sidebar.date_input(key="range_custom").value == (date(2026, 11, 20), UTC_TODAY)
    at.sidebar.radio(key="days_in").set_value("local").run()
    no_exceptions(at)
    assert at.sidebar.date_input(key="range_custom").value == (date(2026, 11, 20), LA_TODAY)
    assert at.query_params["end"] == LA_TODAY.isoformat()


# --- the last complete day, in the view's zone ------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "end", "as_of", "card"),
    [
        # at NOW it is Nov 30 in Los Angeles: Nov 29 is the last complete day there, and the
        # month card counts November through it
        (LA, LA_TODAY, date(2026, 11, 29), date(2026, 11, 29)),
        # in UTC it is Dec 1: Nov 30 is complete, and the card counts November's whole month
        ("UTC", UTC_TODAY, date(2026, 11, 30), date(2026, 11, 30)),
    ],
)
def test_steer__the_last_complete_day_is_yesterday_in_the_views_zone(zone, end, as_of, card):
    import pandas as pd

    from spend.ui import steer
    from spend.ui.view import View

    days = pd.to_datetime(["2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01"])
    full = pd.DataFrame({"date": days})  # data up to UTC's today: only the clock decides
    view = View(
        loaded=data.Loaded(None, "demo"),
        preset="last_7_days",
        start=end - timedelta(days=6),
        end=end,
        comparison=dates.comparison("last_7_days", end - timedelta(days=6), end, end),
        loaded_from=end - timedelta(days=13),
        filters={},
        filter_names={},
        frame=full,
        history=full,
        full=full,
        now=NOW,
        zone=ZoneInfo(zone),
    )
    assert view.today == end
    assert (steer.as_of_day(view), steer.card_day(view)) == (as_of, card)
