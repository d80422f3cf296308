"""The team's own days on the fetch and export side (issue 21): hourly usage summed into local
dates, billed money per UTC day apportioned to them, the plan's request counts, the cache, the
CLI's ``--timezone`` and ``alerts --as-of``, FOCUS periods, and UTC byte for byte unchanged."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from spend import cli
from spend.allocate import apportion_billed
from spend.config import Settings
from spend.focus import focus_of, to_focus
from spend.localdays import range_bounds, zone_of
from spend.pricing import attach_prices
from spend.schema import conform
from spend.sources.admin import ADMIN_USAGE_GROUP_BY, AdminSource, cold_requests
from spend.sources.admin_parse import admin_usage_to_frame
from spend.sources.legacy import LegacySource
from spend.sources.windows import hour_windows
from tests.clock import FakeClock
from tests.fake_anthropic import FakeAnthropic
from tests.fake_anthropic import hourly_parts as anthropic_hours
from tests.fake_openai import ADMIN_KEY, LEGACY_KEY, ORG_ID, FakeOpenAI

LA, BERLIN = zone_of("America/Los_Angeles"), zone_of("Europe/Berlin")
KOLKATA, KIRITIMATI = zone_of("Asia/Kolkata"), zone_of("Pacific/Kiritimati")
END = date(2026, 11, 20)
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC).timestamp()
#: the fake's days are Oct 12 - Nov 20 2026 (Nov 1 is Los Angeles' 25-hour day): a range with a
#: margin on both sides holds every UTC day's billed lines whole
WHOLE = (date(2026, 10, 10), date(2026, 11, 21))


@pytest.fixture(scope="module")
def fake():
    server = FakeOpenAI(days=40, users=4, seed=1, end_date=END, wall_clock=lambda: NOW)
    server.start()
    yield server
    server.stop()


def run(argv, env, clock=None):
    out, err = io.StringIO(), io.StringIO()
    clock = clock or FakeClock(NOW)
    code = cli.main(argv, environ=env, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    return code, out.getvalue(), err.getvalue()


def admin_env(fake, tmp_path, **extra):
    return {
        "OPENAI_ADMIN_KEY": ADMIN_KEY,
        "OPENAI_BASE_URL": fake.base_url,
        "SPEND_CACHE_DIR": str(tmp_path / "cache"),
        "SPEND_RATE_LIMIT_PER_MIN": "100000",
        **extra,
    }


def export(fake, tmp_path, start, end, *extra, **env):
    argv = ["export", "--start", str(start), "--end", str(end), "--out", "-", *extra]
    return run(argv, admin_env(fake, tmp_path, **env))


def read(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])


def expected_by_local_date(fake, zone, start, end) -> dict[tuple[str, str], int]:
    """The fake's hourly facts summed into local dates in ``zone``: (date, metric) -> sum."""
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for kind in ("completions", "embeddings", "moderations"):
        for hour, metrics in fake.admin_hourly(kind):
            day = datetime.fromtimestamp(hour, tz=UTC).astimezone(zone).date()
            if start <= day <= end:
                sums[(day.isoformat(), "input_tokens")] += metrics["input_tokens"]
                sums[(day.isoformat(), "output_tokens")] += metrics.get("output_tokens", 0)
    return sums


# --- hourly buckets into local dates: table tests -----------------------------------------------


def _page(*hours: str) -> dict:
    """Hourly completions buckets starting at these UTC instants, 1000 input tokens each."""
    data = []
    for text in hours:
        start = int(pd.Timestamp(text).timestamp())
        result = {"object": "organization.usage.completions.result", "input_tokens": 1000}
        result.update(output_tokens=1, num_model_requests=1, model="gpt-4o-2024-08-06")
        data.append({"start_time": start, "end_time": start + 3600, "results": [result]})
    return {"object": "page", "data": data, "has_more": False}


@pytest.mark.parametrize(
    "zone, hours, expected",
    [
        # Los Angeles, spring forward (Mar 8 2026: 23 hours, 08:00Z to 07:00Z next day)
        (
            LA,
            ["2026-03-08T07:00Z", "2026-03-08T08:00Z", "2026-03-09T06:00Z"],
            {"03-07": 1, "03-08": 2},
        ),
        (LA, ["2026-03-09T07:00Z"], {"03-09": 1}),
        # Los Angeles, fall back (Nov 1 2026: 25 hours, 07:00Z to 08:00Z next day)
        (
            LA,
            ["2026-11-01T07:00Z", "2026-11-02T07:00Z", "2026-11-02T08:00Z"],
            {"11-01": 2, "11-02": 1},
        ),
        # Berlin, spring forward (Mar 29 2026: 23 hours, 23:00Z the day before to 22:00Z)
        (
            BERLIN,
            ["2026-03-28T22:00Z", "2026-03-28T23:00Z", "2026-03-29T21:00Z"],
            {"03-28": 1, "03-29": 2},
        ),
        (BERLIN, ["2026-03-29T22:00Z"], {"03-30": 1}),
        # Berlin, fall back (Oct 25 2026: 25 hours, 22:00Z the day before to 23:00Z)
        (
            BERLIN,
            ["2026-10-24T21:00Z", "2026-10-24T22:00Z", "2026-10-25T22:00Z"],
            {"10-24": 1, "10-25": 2},
        ),
        (BERLIN, ["2026-10-25T23:00Z"], {"10-26": 1}),
        # Kolkata (+5:30): the hour 18:00Z starts at 23:30 local, so it counts on that date
        (KOLKATA, ["2026-05-01T18:00Z", "2026-05-01T19:00Z"], {"05-01": 1, "05-02": 1}),
        # Kiritimati (+14): 10:00Z is the next day's midnight
        (KIRITIMATI, ["2026-01-01T09:00Z", "2026-01-01T10:00Z"], {"01-01": 1, "01-02": 1}),
    ],
)
def test_admin_usage__each_hour_counts_on_its_local_date(zone, hours, expected):
    frame = admin_usage_to_frame("completions", [_page(*hours)], zone=zone)
    by_day = frame.groupby(frame["date"].dt.strftime("%m-%d"))["input_tokens"].sum()
    assert by_day.to_dict() == {day: 1000 * n for day, n in expected.items()}


def test_admin_usage__hours_mode_keeps_each_utc_hour():
    pages = [_page("2026-11-03T02:00Z", "2026-11-03T20:00Z")]
    frame = admin_usage_to_frame("completions", pages, hours=True)
    assert list(frame["hour"].dt.hour) == [2, 20]
    assert list(frame["date"].dt.strftime("%Y-%m-%d")) == ["2026-11-03", "2026-11-03"]


# --- billed money apportioned ---------------------------------------------------------------------


def _hours_frame(rows):
    """(UTC hour, model, input tokens) into priced hourly usage rows of project p."""
    frame = conform(
        pd.DataFrame(
            {
                "date": [pd.Timestamp(h).tz_localize(None).normalize() for h, _, _ in rows],
                "project_id": ["p"] * len(rows),
                "model": [m for _, m, _ in rows],
                "operation": ["completion"] * len(rows),
                "input_tokens": [t for _, _, t in rows],
                "cost_basis": ["unpriced"] * len(rows),
                "provider": ["openai"] * len(rows),
            }
        )
    )
    frame["hour"] = [pd.Timestamp(h).tz_localize(None) for h, _, _ in rows]
    return attach_prices(frame)


def _bills(lines):
    """(UTC day, line item, dollars, currency) into billed rows of project p."""
    return conform(
        pd.DataFrame(
            {
                "date": [pd.Timestamp(d) for d, _, _, _ in lines],
                "project_id": ["p"] * len(lines),
                "line_item": [li for _, li, _, _ in lines],
                "cost_usd": [c for _, _, c, _ in lines],
                "currency": [cur for _, _, _, cur in lines],
                "operation": ["cost"] * len(lines),
                "cost_basis": ["billed"] * len(lines),
                "provider": ["openai"] * len(lines),
                "source": ["admin"] * len(lines),
            }
        )
    )


@pytest.mark.parametrize(
    "zone, rows, line, amount, expected",
    [
        # usage behind the line: 1M tokens the LA evening before (02:00Z), 2M on the day
        (
            LA,
            [("2026-11-03T02:00Z", "gpt-4o", 1_000_000), ("2026-11-03T20:00Z", "gpt-4o", 2e6)],
            "gpt-4o, input",
            3.00,
            {"2026-11-02": 1.00, "2026-11-03": 2.00},
        ),
        # no usage of that model behind it: by hours (8 hours are Nov 2 in Los Angeles, 16 Nov 3)
        (
            LA,
            [("2026-11-03T02:00Z", "gpt-4o", 1_000_000)],
            "o3-mini, input",
            24.00,
            {"2026-11-02": 8.00, "2026-11-03": 16.00},
        ),
        # Berlin: 23:00Z is the next day; Kolkata: 18:00Z (23:30) counts on the same day
        (
            BERLIN,
            [("2026-11-03T10:00Z", "gpt-4o", 1_000_000), ("2026-11-03T23:00Z", "gpt-4o", 3e6)],
            "gpt-4o, input",
            1.00,
            {"2026-11-03": 0.25, "2026-11-04": 0.75},
        ),
        (
            KOLKATA,
            [("2026-11-03T18:00Z", "gpt-4o", 1_000_000), ("2026-11-03T19:00Z", "gpt-4o", 1e6)],
            "gpt-4o, input",
            0.03,
            {"2026-11-03": 0.02, "2026-11-04": 0.01},
        ),
        # Kiritimati (+14): hours 00-09Z are the same date, 10-23Z the next
        (
            KIRITIMATI,
            [],
            "web search tool calls",
            24.00,
            {"2026-11-03": 10.00, "2026-11-04": 14.00},
        ),
    ],
)
def test_apportion_billed__by_the_usage_behind_each_line_else_by_hours(
    zone, rows, line, amount, expected
):
    hours = _hours_frame(rows) if rows else None
    bills = _bills([("2026-11-03", line, amount, "usd")])
    frame = pd.concat([bills], ignore_index=True)
    out = apportion_billed(frame, hours, zone)
    got = dict(zip(out["date"].dt.strftime("%Y-%m-%d"), out["cost_usd"], strict=True))
    assert got == pytest.approx(expected, abs=1e-9)
    assert sum(Decimal(str(float(v))) for v in got.values()) == Decimal(str(amount))


def test_apportion_billed__other_currencies_move_whole_and_a_range_clips():
    bills = _bills(
        [("2026-11-03", "gpt-4o, input", 9.99, "usd"), ("2026-11-03", "gpt-4o, input", None, "eur")]
    )
    out = apportion_billed(bills, None, LA)
    euro = out[out["currency"] == "eur"]
    assert len(euro) == 1 and euro["date"].iloc[0] == pd.Timestamp("2026-11-03")  # 16 of 24 hours
    assert out.loc[out["currency"] == "usd", "cost_usd"].sum() == pytest.approx(9.99, abs=1e-9)
    clipped = apportion_billed(bills, None, LA, days=(date(2026, 11, 2), date(2026, 11, 2)))
    assert list(clipped["cost_usd"]) == pytest.approx([3.33])  # 8/24 of $9.99, the euro row out


# --- end to end against the fake ------------------------------------------------------------------


def test_export_in_los_angeles__every_hourly_fact_on_its_local_date(fake, tmp_path):
    start, end = date(2026, 10, 20), date(2026, 11, 5)  # holds Nov 1, the 25-hour day
    code, out, err = export(fake, tmp_path, start, end, "--timezone", "America/Los_Angeles")
    assert code == 0, err
    table = read(out)
    usage = table[table["cost_basis"] != "billed"]
    expected = expected_by_local_date(fake, LA, start, end)
    for metric in ("input_tokens", "output_tokens"):
        got = usage.groupby("date")[metric].sum()
        want = {d: v for (d, m), v in expected.items() if m == metric}
        assert got[got > 0].to_dict() == want
    assert set(table["date"]) <= {str(start + timedelta(days=i)) for i in range(17)}
    # a UTC day's usage straddles local dates: the same range in UTC counts other days' tokens
    _, utc_out, _ = export(fake, tmp_path / "utc", start, end)
    utc = read(utc_out)
    utc_usage = utc[utc["cost_basis"] != "billed"].groupby("date")["input_tokens"].sum()
    assert utc_usage.to_dict() != usage.groupby("date")["input_tokens"].sum().to_dict()
    assert "apportioned to the two America/Los_Angeles dates" in err
    assert f"for {start}..{end} (America/Los_Angeles days)" in err


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata"])
def test_export_in_a_zone__billed_total_unchanged_to_the_cent(fake, tmp_path, zone):
    code, out, err = export(fake, tmp_path, *WHOLE, SPEND_TIMEZONE=zone)
    assert code == 0, err
    table = read(out)
    billed = table[table["cost_basis"] == "billed"]["cost_usd"]
    total = Decimal(0)
    for value in billed:
        total += Decimal(repr(float(value)))
    assert round(total, 2) == round(fake.costs_total(), 2)
    # allocation then works per local date: usage and unattributed rows carry all of it
    allocated = table.loc[table["cost_basis"] != "billed", "billed_usd"].sum()
    assert allocated == pytest.approx(float(billed.sum()), abs=0.01)


def test_hourly_answers_are_cached__a_second_run_sends_nothing_final(fake, tmp_path):
    start, end = date(2026, 10, 20), date(2026, 11, 5)
    sent = len(fake.requests)
    code, first, err = export(fake, tmp_path, start, end, SPEND_TIMEZONE="America/Los_Angeles")
    assert code == 0, err
    hourly = [r for r in fake.requests[sent:] if r.path.startswith("/v1/organization/usage")]
    assert hourly and all(dict(r.query).get("bucket_width") == "1h" for r in hourly)
    before = fake.count("/v1/organization/usage")
    code, second, err = export(fake, tmp_path, start, end, SPEND_TIMEZONE="America/Los_Angeles")
    assert code == 0, err
    assert fake.count("/v1/organization/usage") == before  # every window is final: from the cache
    assert second == first
    # another zone is another table: its answers are its own (the fingerprint holds the zone)
    code, berlin, err = export(fake, tmp_path, start, end, SPEND_TIMEZONE="Europe/Berlin")
    assert code == 0, err
    assert fake.count("/v1/organization/usage") > before and berlin != first


def _plan_total(err: str) -> int:
    return int(err.split(" requests for ")[0].split()[-1])


@pytest.mark.parametrize("days", [7, 30, 90, 365])
def test_plan__what_hourly_costs_in_requests(fake, tmp_path, days):
    start = END - timedelta(days=days - 1)
    argv = ["plan", "--start", str(start), "--end", str(END)]
    code, _, utc_err = run(argv, admin_env(fake, tmp_path))
    code_la, _, la_err = run(
        [*argv, "--timezone", "America/Los_Angeles"], admin_env(fake, tmp_path)
    )
    assert code == code_la == 0, la_err
    daily, hourly = _plan_total(utc_err), _plan_total(la_err)
    assert daily == cold_requests(start, END, now=NOW)
    assert hourly == cold_requests(start, END, now=NOW, zone=LA)
    assert f"hourly usage: {hourly} requests cold where UTC days take {daily}" in la_err
    assert "hourly" not in utc_err
    # at the minimum: each endpoint's windows are the fewest 168-hour pages of the range, plus
    # at most one for alignment (a rolling range reuses final windows), and cover it exactly
    t0, t1 = range_bounds(start, END, LA)
    hours = (t1 - t0) // 3600
    per_endpoint = (hourly - 2 - 1) // len(ADMIN_USAGE_GROUP_BY)
    assert -(-hours // 168) <= per_endpoint <= -(-hours // 168) + 1


def test_plan__hourly_windows_cover_the_local_range_and_finality(fake, tmp_path):
    settings = Settings.from_mapping(
        {
            "OPENAI_ADMIN_KEY": ADMIN_KEY,
            "OPENAI_BASE_URL": fake.base_url,
            "SPEND_TIMEZONE": "America/Los_Angeles",
            "SPEND_CACHE_DIR": str(tmp_path),
        }
    )
    now = datetime(2026, 11, 20, 20, tzinfo=UTC).timestamp()  # Nov 20, noon in Los Angeles
    source = AdminSource(settings, clock=lambda: now)
    requests = [r for r in source.plan_requests(date(2026, 11, 1), date(2026, 11, 20))]
    usage = [r for r in requests if r.path == "/organization/usage/completions"]
    spans = [(r.params_dict["start_time"], r.params_dict["end_time"]) for r in usage]
    t0, _ = range_bounds(date(2026, 11, 1), date(2026, 11, 20), LA)
    assert spans[0][0] <= t0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert spans[-1][1] <= now and now - spans[-1][1] < 600  # clamped to now
    assert all((b - a) <= 168 * 3600 for a, b in spans)
    finals = [r.final for r in usage]
    assert finals[-1] is False and finals[0] is True  # final 48 h after a window's end
    costs = [r for r in requests if r.kind == "costs"]
    assert all(r.params_dict["bucket_width"] == "1d" for r in costs)


def test_utc__export_byte_for_byte_as_without_a_zone(fake, tmp_path):
    start, end = date(2026, 10, 15), date(2026, 11, 20)
    _, plain, _ = export(fake, tmp_path / "a", start, end)
    _, utc, _ = export(fake, tmp_path / "b", start, end, SPEND_TIMEZONE="UTC")
    _, flag, _ = export(fake, tmp_path / "c", start, end, "--timezone", "UTC")
    assert plain == utc == flag and len(plain) > 1000
    settings = Settings.from_mapping({"OPENAI_ADMIN_KEY": ADMIN_KEY})
    assert AdminSource.fingerprint(settings) == settings.fingerprint  # the same cache entries
    zoned = settings.with_(timezone="America/Los_Angeles")
    assert AdminSource.fingerprint(zoned) != settings.fingerprint


def test_legacy__keeps_utc_days_and_says_so(fake, tmp_path):
    env = {
        "OPENAI_API_KEY": LEGACY_KEY,
        "OPENAI_ORG_ID": ORG_ID,
        "OPENAI_BASE_URL": fake.base_url,
        "SPEND_RATE_LIMIT_PER_MIN": "100000",
    }
    argv = ["export", "--start", "2026-11-10", "--end", "2026-11-12", "--out", "-"]
    code, utc, _ = run(argv, {**env, "SPEND_CACHE_DIR": str(tmp_path / "a")})
    code_la, la, err = run(
        [*argv, "--timezone", "Europe/Berlin"], {**env, "SPEND_CACHE_DIR": str(tmp_path / "b")}
    )
    assert code == code_la == 0, err
    assert la == utc  # the same UTC days
    assert "answers per UTC day only" in err and "not Europe/Berlin days" in err
    settings = Settings.from_mapping({"OPENAI_API_KEY": LEGACY_KEY, "SPEND_TIMEZONE": "Asia/Tokyo"})
    assert (
        LegacySource.day_zone(settings) == "UTC" and AdminSource.day_zone(settings) == "Asia/Tokyo"
    )
    assert LegacySource.fingerprint(settings) == settings.fingerprint


# --- the command line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, env, named",
    [
        (["plan", "--timezone", "Mars/Olympus"], {}, "--timezone"),
        (["export", "--out", "-", "--timezone", "../etc"], {}, "--timezone"),
        (["plan"], {"SPEND_TIMEZONE": "Nowhere/City"}, "SPEND_TIMEZONE"),
        (["alerts", "--timezone", "Mars/Olympus"], {}, "--timezone"),
        (["alerts"], {"SPEND_TIMEZONE": "Nowhere/City"}, "SPEND_TIMEZONE"),
        (["digest", "--timezone", "Mars/Olympus"], {}, "--timezone"),
        (["digest"], {"SPEND_TIMEZONE": "Nowhere/City"}, "SPEND_TIMEZONE"),
    ],
)
def test_cli__an_unknown_zone_is_one_line_and_exit_2(tmp_path, argv, env, named):
    code, out, err = run(argv, {"SPEND_SOURCE": "demo", "SPEND_CACHE_DIR": str(tmp_path), **env})
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {named} must be an IANA time zone")


@pytest.mark.parametrize("command", ["alerts", "digest"])
@pytest.mark.parametrize(
    "zone, as_of",
    [
        ("UTC", "2026-11-24"),  # 03:00Z on Nov 25: yesterday is Nov 24
        ("America/Los_Angeles", "2026-11-23"),  # 19:00 on Nov 24 there
        ("Pacific/Kiritimati", "2026-11-24"),  # 17:00 on Nov 25 there
    ],
)
def test_alerts__as_of_defaults_to_yesterday_in_the_zone(tmp_path, zone, as_of, command):
    """``alerts`` and ``digest`` count their day in ``--timezone``."""
    clock = FakeClock(datetime(2026, 11, 25, 3, tzinfo=UTC).timestamp())
    env = {"SPEND_SOURCE": "demo", "SPEND_CACHE_DIR": str(tmp_path)}
    argv = [command, "--json", "--timezone", zone, "--history-days", "0"]
    code, out, err = run(argv, env, clock)
    assert code == 0, err
    assert json.loads(out)["as_of"] == as_of
    # the local today is not a complete day yet
    today = date.fromisoformat(as_of) + timedelta(days=1)
    code, _, err = run([*argv, "--as-of", str(today)], env, clock)
    assert code == 1 and f"pick a day before {today} ({zone})" in err


# --- FOCUS ------------------------------------------------------------------------------------


def test_focus__charge_periods_are_the_utc_instants_of_local_midnights():
    usage = conform(
        pd.DataFrame(
            {
                "date": [pd.Timestamp("2026-11-01"), pd.Timestamp("2026-11-01")],
                "source": ["admin", "legacy"],
                "model": ["gpt-4o", "gpt-4o"],
                "operation": ["completion", "completion"],
                "input_tokens": [1000, 1000],
                "cost_basis": ["unpriced", "unpriced"],
            }
        )
    )
    focus = to_focus(attach_prices(usage), zone=LA, utc_sources=["legacy"])
    periods = [
        tuple(
            str(pd.Timestamp(t))
            for t in (row.ChargePeriodStart, row.ChargePeriodEnd, row.BillingPeriodStart)
        )
        for row in focus.itertuples()
    ]
    assert sorted(periods) == [
        ("2026-11-01 00:00:00", "2026-11-02 00:00:00", "2026-11-01 00:00:00"),  # legacy: UTC
        ("2026-11-01 07:00:00", "2026-11-02 08:00:00", "2026-11-01 07:00:00"),  # 25 hours
    ]
    utc = to_focus(attach_prices(usage))
    assert {str(pd.Timestamp(t)) for t in utc["ChargePeriodStart"]} == {"2026-11-01 00:00:00"}
    # what the export command and the Raw data page hand over: the same, from the settings
    settings = Settings.from_mapping({"SPEND_TIMEZONE": "America/Los_Angeles"})
    table = focus_of(attach_prices(usage), settings).to_pandas()
    starts = sorted(str(pd.Timestamp(t).tz_localize(None)) for t in table["ChargePeriodStart"])
    assert starts == ["2026-11-01 00:00:00", "2026-11-01 07:00:00"]


# --- Anthropic ------------------------------------------------------------------------------------


def test_anthropic__hourly_usage_on_local_dates_and_billed_unchanged(tmp_path):
    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(8)]
    clock = FakeClock(datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp())
    with FakeAnthropic(days) as fake:
        env = {
            "ANTHROPIC_ADMIN_KEY": fake.key,
            "ANTHROPIC_BASE_URL": fake.base_url,
            "SPEND_CACHE_DIR": str(tmp_path),
            "SPEND_RATE_LIMIT_PER_MIN": "6000",
            "SPEND_TIMEZONE": "America/Los_Angeles",
        }
        argv = ["export", "--start", "2026-10-30", "--end", "2026-11-10", "--out", "-"]
        code, out, err = run(argv, env, clock)
        assert code == 0, err
        hourly = [q for p, q, _ in fake.requests if p.endswith("/messages")]
        assert hourly and all(dict(q)["bucket_width"] == "1h" for q in hourly)
        table = read(out)
        usage = table[table["cost_basis"] != "billed"]
        want: dict[str, int] = defaultdict(int)
        for u in fake.usage:
            for hour, part in anthropic_hours(u):
                moment = datetime.combine(u.day, datetime.min.time(), tzinfo=UTC)
                local = (moment + timedelta(hours=hour)).astimezone(LA).date()
                want[str(local)] += part.output
        got = usage.groupby("date")["output_tokens"].sum()
        assert got[got > 0].to_dict() == dict(want)
        billed = table.loc[table["cost_basis"] == "billed", "cost_usd"].sum()
        assert billed == pytest.approx(float(fake.cost_total(days[0], days[-1])), abs=0.005)


# --- hourly windows -------------------------------------------------------------------------------


def _at(text: str) -> int:
    return int(pd.Timestamp(text).timestamp())


@pytest.mark.parametrize(
    "start, end, zone, now, expected",
    [
        # a week of Los Angeles days, long over: two aligned blocks, the last cut at the end of
        # the UTC day the range ends in (its other hours weigh that day's bill; final, kept)
        (
            date(2026, 10, 5),
            date(2026, 10, 11),
            LA,
            "2026-11-25T12:00Z",
            [
                ("2026-09-30T00:00Z", "2026-10-07T00:00Z", True),
                ("2026-10-07T00:00Z", "2026-10-13T00:00Z", True),
            ],
        ),
        # a range running today: the last block cut at now (rounded down to 10 minutes), not final
        (
            date(2026, 11, 24),
            date(2026, 11, 25),
            BERLIN,
            "2026-11-25T12:34Z",
            [
                ("2026-11-18T00:00Z", "2026-11-25T00:00Z", False),
                ("2026-11-25T00:00Z", "2026-11-25T12:30Z", False),
            ],
        ),
    ],
)
def test_hour_windows__aligned_blocks_cut_at_now_or_a_final_end(start, end, zone, now, expected):
    t0, t1 = range_bounds(start, end, zone)
    windows = hour_windows(t0, t1, now=_at(now))
    assert windows == [(_at(a), _at(b), final) for a, b, final in expected]


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Europe/Berlin"])
def test_export_in_a_zone__a_date_has_the_same_bill_whether_it_ends_the_range_or_not(
    fake, tmp_path, zone
):
    """A finished range's last local date shares its UTC day's bill with the next date by that
    day's hours: all of them are fetched, so the date's billed money does not depend on where the
    range ends (it once took the whole UTC day's bill when the range ended there)."""
    last = date(2026, 11, 5)

    def billed_on(end: date) -> tuple[float, float]:
        code, out, err = export(
            fake, tmp_path / str(end), date(2026, 10, 20), end, "--timezone", zone
        )
        assert code == 0, err
        table = read(out)
        day = table[table["date"] == str(last)]
        bill = day.loc[day["cost_basis"] == "billed", "cost_usd"].sum()
        return round(float(bill), 2), round(float(day["billed_usd"].fillna(0).sum()), 2)

    ends_there, goes_on = billed_on(last), billed_on(last + timedelta(days=5))
    assert ends_there == goes_on and ends_there[0] > 0
