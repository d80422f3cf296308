"""Smoke tests of ``benchmarks/run.py`` on the tiniest settings: what it prints must be true.

The fetch benchmarks run against the suite's fake OpenAI server with a fake clock (the limiter's
spacing is checked without waiting); the page benchmark runs two pages of the small demo.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from benchmarks import run
from spend.config import Settings
from spend.sources import make_source, requests_for_range
from tests.clock import FakeClock

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)


# --- first principles -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "days", "users", "per_user", "projects", "expected"),
    [
        ("legacy", 30, 0, False, 0, 31),  # users list + 30 days
        ("legacy", 30, 5, False, 0, 31),  # users do not matter org-wide
        ("legacy", 30, 5, True, 0, 181),  # users list + 30 days x (org-wide + 5 users)
        ("legacy", 1, 0, False, 0, 2),
        ("admin", 1, 0, False, 0, 13),  # 2 lists + 10 usage + 1 costs
        ("admin", 30, 0, False, 3, 16),
        ("admin", 31, 0, False, 3, 16),  # one usage page holds 31 days
        ("admin", 32, 0, False, 3, 26),  # ... a 32nd day needs a second page per endpoint
        ("admin", 180, 0, False, 3, 66),  # one costs page holds 180 days
        ("admin", 181, 0, False, 3, 67),
        ("admin", 365, 0, False, 3, 128),
    ],
)
def test_minimum_requests__from_first_principles(source, days, users, per_user, projects, expected):
    assert (
        run.minimum_requests(source, days, users=users, per_user=per_user, projects=projects)
        == expected
    )


@pytest.mark.parametrize(
    ("source", "days", "users", "per_user", "projects"),
    [
        ("legacy", 7, 0, False, 0),
        ("legacy", 30, 4, True, 0),
        ("admin", 62, 0, False, 2),
        ("admin", 400, 0, False, 9),
    ],
)
def test_minimum_requests__agrees_with_the_apps_planner_formula(
    source, days, users, per_user, projects
):
    app = requests_for_range(days, source=source, users=users, per_user=per_user, projects=projects)
    assert (
        run.minimum_requests(source, days, users=users, per_user=per_user, projects=projects) == app
    )


def test_minimum_requests__unknown_source_raises():
    with pytest.raises(ValueError, match="unknown source"):
        run.minimum_requests("demo", 3)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (NOW, date(2026, 3, 8)),  # Mar 8 ended Mar 9 00:00, 36 h ago; Mar 7 ended 60 h ago
        (MIDNIGHT, date(2026, 3, 8)),  # Mar 7 ended exactly 48 h ago: final
        (MIDNIGHT - timedelta(seconds=1), date(2026, 3, 7)),
    ],
)
def test_first_non_final_day__is_48_hours_after_the_days_end(now, expected):
    assert run.first_non_final_day(now) == expected


@pytest.mark.parametrize(
    ("source", "start", "end", "now", "users", "per_user", "projects", "expected"),
    [
        (
            "legacy",
            date(2026, 2, 9),
            date(2026, 3, 10),
            NOW,
            0,
            False,
            0,
            4,
        ),  # users + Mar 8, 9, 10
        (
            "legacy",
            date(2026, 2, 9),
            date(2026, 3, 10),
            NOW,
            5,
            True,
            0,
            19,
        ),  # users + 3 days x (org + 5)
        ("legacy", date(2026, 2, 9), date(2026, 3, 10), MIDNIGHT, 0, False, 0, 4),
        ("legacy", date(2026, 2, 1), date(2026, 3, 8), NOW, 0, False, 0, 2),  # only Mar 8 left
        (
            "legacy",
            date(2026, 2, 1),
            date(2026, 3, 7),
            NOW,
            0,
            False,
            0,
            1,
        ),  # all final: users list only
        (
            "admin",
            date(2026, 2, 9),
            date(2026, 3, 10),
            NOW,
            0,
            False,
            3,
            16,
        ),  # lists, keys, 10 usage, costs
        (
            "admin",
            date(2026, 2, 6),
            date(2026, 3, 10),
            NOW,
            0,
            False,
            3,
            26,
        ),  # first page ends Mar 8: not final
        (
            "admin",
            date(2026, 2, 5),
            date(2026, 3, 10),
            NOW,
            0,
            False,
            3,
            16,
        ),  # first page ends Mar 7: final
        ("admin", date(2026, 1, 1), date(2026, 3, 1), NOW, 0, False, 3, 5),  # lists and keys only
    ],
)
def test_non_final_requests__counts_lists_and_recent_days(
    source, start, end, now, users, per_user, projects, expected
):
    got = run.non_final_requests(
        source, start, end, now, users=users, per_user=per_user, projects=projects
    )
    assert got == expected


@pytest.mark.parametrize(
    ("measured", "bound", "expected"),
    [(10.3, 10.0, 3.0), (10.0, 10.0, 0.0), (9.0, 10.0, -10.0), (0.2, 0.0, 0.0), (0.0, 0.0, 0.0)],
)
def test_over_bound_pct__relative_to_the_bound(measured, bound, expected):
    assert run.over_bound_pct(measured, bound) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("requests", "per_minute", "expected"),
    [(11, 600, 1.0), (1, 600, 0.0), (0, 600, 0.0), (6, 5, 60.0), (2, 60, 1.0)],
)
def test_rate_bound_seconds__first_request_goes_at_once(requests, per_minute, expected):
    assert run.rate_bound_seconds(requests, per_minute) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("today", "preset", "expected"),
    [
        (date(2026, 3, 10), "last_30_days", (date(2026, 1, 10), date(2026, 3, 10))),
        (date(2026, 3, 10), "last_7_days", (date(2026, 2, 25), date(2026, 3, 10))),
        (date(2026, 3, 1), "month_to_date", (date(2026, 2, 28), date(2026, 3, 1))),
    ],
)
def test_app_default_range__is_the_period_and_the_one_before(today, preset, expected):
    assert run.app_default_range(today, preset) == expected


# --- fetches against the fake ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "scenario",
    [
        run.Scenario("legacy org-wide", "legacy", 4),
        run.Scenario("legacy per-user", "legacy", 3, per_user=True),
        run.Scenario("admin one page", "admin", 4),
        run.Scenario(
            "admin two pages, the first ends 2 days ago", "admin", 33
        ),  # both pages non-final
        run.Scenario("admin two pages, the first ends 4 days ago", "admin", 35),  # first page final
    ],
    ids=lambda s: s.name,
)
def test_measure_requests__cold_is_the_minimum_and_warm_asks_only_non_final(fake_openai, scenario):
    fake_openai.reset(days=35, users=2)
    row = run.measure_requests(
        fake_openai, scenario, clock=FakeClock(time.time()), sleep=FakeClock().sleep
    )
    users, projects = len(fake_openai.user_ids), len(fake_openai.project_ids)
    assert row.minimum == requests_for_range(
        scenario.days,
        source=scenario.source,
        users=users,
        per_user=scenario.per_user,
        projects=projects,
    )
    assert row.cold == row.minimum
    assert row.at_minimum
    assert row.missing_after == 0
    assert row.warm_fresh == 0
    assert 0 < row.warm_expired == row.expected_warm <= row.cold
    assert fake_openai.count(status=200) == row.cold + row.warm_expired


@pytest.mark.parametrize(
    ("scenario", "requests"),
    [(run.Scenario("legacy", "legacy", 5), 6), (run.Scenario("admin", "admin", 2), 16)],
    ids=["legacy", "admin"],
)
def test_measure_fetch_time__limiter_spacing_is_exactly_the_bound(fake_openai, scenario, requests):
    fake_openai.reset(days=35, users=2)
    clock = FakeClock(time.time())
    row = run.measure_fetch_time(
        fake_openai, scenario, rate_per_min=600, clock=clock, sleep=clock.sleep
    )
    assert row.requests == row.minimum == requests
    assert row.bound_s == pytest.approx((requests - 1) * 0.1)
    assert row.measured_s == pytest.approx(row.bound_s)
    assert abs(row.over_pct) < 0.01  # float seconds near 1.8e9: microsecond rounding
    assert [s for s in clock.sleeps if s > 0] == pytest.approx([0.1] * (requests - 1))


# --- the demo table and the pages -----------------------------------------------------------------


def test_demo_build__phases_build_what_the_demo_source_assembles():
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=3), today - timedelta(days=1)
    frame, row = run.demo_build("small", start, end)
    source = make_source(Settings(source="demo"))
    expected = source.assemble(source.plan(start, end)).frame
    pd.testing.assert_frame_equal(frame, expected)
    assert (row.size, row.days, row.rows) == ("small", 3, len(expected))
    assert row.rows > 0
    assert row.total_s == pytest.approx(
        row.org_s + row.generate_s + row.normalize_s + row.pricing_s
    )
    assert min(row.org_s, row.generate_s, row.normalize_s, row.pricing_s) >= 0


def test_demo_environment__hides_the_callers_credentials_and_restores_them(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-for-the-demo")
    monkeypatch.setenv("SPEND_DEMO_SIZE", "small")
    cache_dir = os.environ["SPEND_CACHE_DIR"]
    with run.demo_environment("large"):
        assert "OPENAI_API_KEY" not in os.environ
        assert os.environ["SPEND_DEMO_SIZE"] == "large"
        assert os.environ["SPEND_CACHE_DIR"] != cache_dir
    assert os.environ["OPENAI_API_KEY"] == "sk-test-not-for-the-demo"
    assert os.environ["SPEND_DEMO_SIZE"] == "small"
    assert os.environ["SPEND_CACHE_DIR"] == cache_dir


def test_page_benchmarks__small_demo_pages_render_and_are_timed():
    rows = run.page_benchmarks("small", ["overview.py", "raw_data.py"], warm_runs=1)
    assert [(r.page, r.title, r.exceptions) for r in rows] == [
        ("overview.py", "Overview", 0),
        ("raw_data.py", "Raw data", 0),
    ]
    for r in rows:
        assert (r.size, r.view) == ("small", "last_30_days")
        assert r.cold_s > 0 and r.warm_s > 0
        assert r.peak_mb >= r.rss_mb * 0.95 > 0
    assert "SPEND_DEMO_SIZE" not in os.environ


def test_profile_page__names_the_page_script_and_the_call_count():
    text = run.profile_page("small", "raw_data.py", top=400)
    assert "function calls" in text
    assert "raw_data.py" in text


# --- reporting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "rows", "expected"),
    [
        (["a"], [], "a\n-"),
        (["name", "n"], [["x", 1], ["long", 100]], "name    n\n----  ---\nx       1\nlong  100"),
        (
            ["ok", "s"],
            [[True, 0.5], [False, 12.345]],
            "ok       s\n---  -----\nyes  0.500\nNO   12.35",
        ),
        (["t", "v"], [[None, 1500.4]], "t     v\n-  ----\n   1500"),
    ],
    ids=["empty", "numbers-right", "bools-and-floats", "none-and-big"],
)
def test_format_table__aligns_columns(headers, rows, expected):
    assert run.format_table(headers, rows) == expected


def _req(cold: int, minimum: int = 10) -> run.RequestRow:
    return run.RequestRow("fetch", minimum, cold, 0, 3, 3, 0)


def _wall(measured: float, bound: float = 10.0) -> run.WallRow:
    return run.WallRow("fetch", 101, 101, 600, measured, bound)


def _page(
    warm: float,
    peak: float = 300.0,
    exceptions: int = 0,
    size: str = "large",
    view: str = "last_30_days",
) -> run.PageRow:
    return run.PageRow(
        size, view, "overview.py", "Overview", exceptions, 2.0, warm, peak - 10, peak
    )


@pytest.mark.parametrize(
    ("requests", "walls", "pages", "expected"),
    [
        ([_req(10)], [_wall(10.49)], [_page(0.99, 499)], ["PASS", "PASS", "PASS", "PASS"]),
        ([_req(11)], [_wall(10.51)], [_page(1.0, 501)], ["MISS", "MISS", "MISS", "MISS"]),
        ([_req(10), _req(9)], [], [_page(0.2, exceptions=1)], ["MISS", "SKIP", "MISS", "PASS"]),
        (
            [],
            [],
            [_page(0.2, size="small")],
            ["SKIP", "SKIP", "SKIP", "SKIP"],
        ),  # only large pages are judged
        ([], [], [], ["SKIP", "SKIP", "SKIP", "SKIP"]),
        # one line per view: time for each, then memory for each
        (
            [_req(10)],
            [_wall(10.0)],
            [_page(0.3, 450), _page(0.4, 700, view="last_90_days")],
            ["PASS", "PASS", "PASS", "PASS", "PASS", "MISS"],
        ),
    ],
    ids=[
        "all-met",
        "all-missed",
        "below-minimum-and-a-page-error",
        "small-only",
        "nothing-run",
        "two-views",
    ],
)
def test_verdicts__pass_miss_or_skip_per_target(requests, walls, pages, expected):
    got = run.verdicts(requests, walls, pages)
    assert [str(v).split()[0] for v in got] == expected


def test_verdicts__name_the_view_and_the_figure():
    got = [str(v) for v in run.verdicts([], [], [_page(0.4, 700, view="last_90_days")])]
    assert "MISS  memory under 500 MB (large demo, last_90_days): peak RSS 700 MB" in got[-1]
    assert (
        "PASS  every page under 1 s warm (large demo, last_90_days): slowest overview.py 0.40 s"
        == got[-2]
    )


def test_main__quick_requests_part_prints_every_fetch_at_its_minimum(capsys):
    assert run.main(["--quick", "--parts", "requests"]) == 0
    out = capsys.readouterr().out
    for scenario in run.QUICK_SCENARIOS:
        line = next(ln for ln in out.splitlines() if ln.startswith(scenario.name))
        assert " yes " in line, line
    assert "PASS  requests = minimum" in out
    assert "SKIP  memory under 500 MB (small demo): not run" in out


def test_main__unknown_part_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        run.main(["--parts", "requests,nope"])
    assert exc.value.code == 2
    assert "unknown parts: nope" in capsys.readouterr().err
