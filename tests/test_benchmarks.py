"""Smoke tests of ``benchmarks/run.py`` on the tiniest settings: what it prints must be true.

The fetch benchmarks run against the suite's fake OpenAI server with a fake clock (the limiter's
spacing is checked without waiting); the page benchmark runs two pages of the small demo. The
browser benchmark (``benchmarks/browser.py``): its pure helpers table-driven, and one ``--quick``
run on the small demo in chromium (marked ``browser``; skipped without chromium unless
``SPEND_REQUIRE_BROWSER=1``). Figures are printed, never asserted: the machine is shared.
"""

from __future__ import annotations

import math
import os
import time
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from benchmarks import browser, run
from spend.config import Settings
from spend.sources import make_source, requests_for_range
from tests import browser_support
from tests.clock import FakeClock

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)


# --- first principles -----------------------------------------------------------------------------


# Admin blocks near these dates (31 days from 2020-01-01): Jan 10-Feb 9, Feb 10-Mar 12, Mar 13-...;
# 180 days: Nov 30 2025-May 28 2026, May 29-Nov 24, Nov 25-...
D = date


@pytest.mark.parametrize(
    ("source", "start", "end", "users", "per_user", "projects", "expected"),
    [
        ("legacy", D(2026, 3, 1), D(2026, 3, 30), 0, False, 0, 31),  # users list + 30 days
        ("legacy", D(2026, 3, 1), D(2026, 3, 30), 5, False, 0, 31),  # users don't matter org-wide
        ("legacy", D(2026, 3, 1), D(2026, 3, 30), 5, True, 0, 181),  # list + 30 x (org + 5 users)
        ("legacy", D(2026, 3, 1), D(2026, 3, 1), 0, False, 0, 2),
        ("admin", D(2026, 3, 1), D(2026, 3, 1), 0, False, 0, 13),  # 2 lists + 10 usage + 1 costs
        ("admin", D(2026, 1, 10), D(2026, 2, 8), 0, False, 3, 16),  # 30 days in one block
        ("admin", D(2026, 1, 10), D(2026, 2, 9), 0, False, 3, 16),  # a block is 31 days
        ("admin", D(2026, 1, 11), D(2026, 2, 10), 0, False, 3, 26),  # 31 days across two blocks
        ("admin", D(2026, 1, 10), D(2026, 2, 10), 0, False, 3, 26),  # a 32nd day: a second block
        ("admin", D(2026, 5, 29), D(2026, 11, 24), 0, False, 3, 76),  # 7 usage, 1 costs block
        ("admin", D(2026, 5, 28), D(2026, 11, 24), 0, False, 3, 77),  # a 181st day: 2 costs
        ("admin", D(2026, 1, 1), D(2026, 12, 31), 0, False, 3, 138),  # 13 usage, 3 costs blocks
        ("anthropic", D(2026, 1, 10), D(2026, 2, 9), 0, False, 3, 4),  # 2 lists, usage, costs
        ("anthropic", D(2026, 1, 11), D(2026, 2, 10), 0, False, 0, 6),  # across two blocks
        ("anthropic", D(2026, 1, 1), D(2026, 12, 31), 0, False, 0, 28),  # 13 blocks x 2 + 2
    ],
)
def test_minimum_requests__from_first_principles(
    source, start, end, users, per_user, projects, expected
):
    got = run.minimum_requests(
        source, start, end, users=users, per_user=per_user, projects=projects
    )
    assert got == expected


@pytest.mark.parametrize(
    ("source", "days", "users", "per_user", "projects"),
    [
        ("legacy", 7, 0, False, 0),
        ("legacy", 30, 4, True, 0),
        ("admin", 62, 0, False, 2),
        ("admin", 400, 0, False, 9),
        ("anthropic", 30, 0, False, 0),
        ("anthropic", 400, 0, False, 0),
    ],
)
@pytest.mark.parametrize("end", [D(2026, 2, 9), D(2026, 2, 10), D(2026, 11, 24), D(2026, 12, 1)])
def test_minimum_requests__agrees_with_the_apps_planner_formula(
    source, days, users, per_user, projects, end
):
    start = end - timedelta(days=days - 1)
    app = requests_for_range(
        start, end, source=source, users=users, per_user=per_user, projects=projects
    )
    got = run.minimum_requests(
        source, start, end, users=users, per_user=per_user, projects=projects
    )
    assert got == app


def test_minimum_requests__unknown_source_raises():
    with pytest.raises(ValueError, match="unknown source"):
        run.minimum_requests("demo", D(2026, 3, 1), D(2026, 3, 3))


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
        # admin: lists, keys, 10 usage (the block Feb 10-Mar 12 holds the last days), costs
        ("admin", D(2026, 2, 9), D(2026, 3, 10), NOW, 0, False, 3, 16),
        ("admin", D(2026, 1, 9), D(2026, 3, 10), NOW, 0, False, 3, 16),  # older blocks: final
        # Feb 10, 12:00: the block Jan 10-Feb 9 ends on a day that is not final yet (Feb 8 is)
        ("admin", D(2026, 1, 20), D(2026, 2, 10), NOW - timedelta(days=28), 0, False, 3, 26),
        # a range that is over: its last blocks are cut at its end, all final: lists and keys
        ("admin", D(2026, 1, 1), D(2026, 3, 1), NOW, 0, False, 3, 5),
        ("admin", D(2025, 12, 10), D(2026, 2, 9), NOW, 0, False, 3, 5),
        ("admin", D(2026, 1, 1), D(2026, 3, 8), NOW, 0, False, 3, 16),  # Mar 8 is not final
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
        # admin windows are blocks counted from 2020-01-01: which of them are final depends on
        # today's place in its block; the expectations are computed for today
        run.Scenario("admin 4 days", "admin", 4),
        run.Scenario("admin 33 days", "admin", 33),
        run.Scenario("admin 35 days", "admin", 35),
    ],
    ids=lambda s: s.name,
)
def test_measure_requests__cold_is_the_minimum_and_warm_asks_only_non_final(fake_openai, scenario):
    fake_openai.reset(days=35, users=2)
    row = run.measure_requests(
        fake_openai, scenario, clock=FakeClock(time.time()), sleep=FakeClock().sleep
    )
    users, projects = len(fake_openai.user_ids), len(fake_openai.project_ids)
    start, end = run.scenario_range(scenario, datetime.now(UTC))
    assert row.minimum == requests_for_range(
        start,
        end,
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


# --- the browser benchmark (benchmarks/browser.py): its pure helpers ---------------------------


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1, 2, 3, 4], 90, 3.7),
        ([1, 2, 3, 4], 50, 2.5),
        ([4, 1, 3, 2], 0, 1.0),
        ([4, 1, 3, 2], 100, 4.0),
        ([0.5], 90, 0.5),
        ([1, 1, 1, 10], 90, 7.3),
        (list(range(1, 11)), 90, 9.1),
    ],
    ids=["p90", "median", "min", "max", "one", "outlier", "ten"],
)
def test_percentile__interpolates_like_numpy(values, q, expected):
    assert browser.percentile(values, q) == pytest.approx(expected)


def test_percentile__nothing_is_nan():
    assert math.isnan(browser.percentile([], 90))


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        ([1.0, 2.0, 3.0], (3, 2.0, 2.8, 3.0)),
        ([0.4], (1, 0.4, 0.4, 0.4)),
        ([0.5, 0.3, 0.9, 0.4], (4, 0.45, 0.78, 0.9)),
    ],
)
def test_summarize__count_median_p90_worst(seconds, expected):
    got = browser.summarize(seconds)
    assert (got.n, got.median, got.p90, got.worst) == pytest.approx(expected)


def test_summarize__nothing_is_nan():
    got = browser.summarize([])
    assert got.n == 0 and math.isnan(got.median) and math.isnan(got.p90)


STATUS = (
    "Name:\tpython\nState:\tS (sleeping)\nVmHWM:\t  412000 kB\nVmRSS:\t  204800 kB\nThreads:\t9\n"
)


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        (STATUS, "VmRSS", 204800),
        (STATUS, "VmHWM", 412000),
        (STATUS, "VmSwap", None),
        ("Name:\tzombie\nState:\tZ (zombie)\n", "VmRSS", None),
        ("", "VmRSS", None),
        ("VmRSS:\n", "VmRSS", None),
        ("XVmRSS:\t 1 kB\nVmRSS:\t 2 kB\n", "VmRSS", 2),
    ],
    ids=["rss", "peak", "absent", "zombie", "gone", "no-number", "exact-name"],
)
def test_status_kb__reads_one_field(text, name, expected):
    assert browser.status_kb(text, name) == expected


def test_rss_mb__this_process_and_a_missing_one():
    assert 10 < browser.rss_mb(os.getpid()) <= browser.rss_mb(os.getpid(), "VmHWM") + 1
    assert math.isnan(browser.rss_mb(2**22 + 12345))


@pytest.mark.parametrize(
    ("parents", "root", "expected"),
    [
        ({2: 1, 3: 2, 4: 9}, 1, {2, 3}),
        ({2: 1, 3: 1, 5: 3, 6: 5}, 3, {5, 6}),
        ({2: 1}, 7, set()),
        ({}, 1, set()),
    ],
    ids=["chain", "grandchildren", "none", "empty"],
)
def test_descendants__children_and_theirs(parents, root, expected):
    assert browser.descendants(parents, root) == expected


def test_process_parents__knows_this_process():
    assert browser.process_parents()[os.getpid()] == os.getppid()


@pytest.mark.parametrize(
    ("assignments", "expected"),
    [
        (["MALLOC_ARENA_MAX=2"], {"MALLOC_ARENA_MAX": "2"}),
        (["A=1", "B=x=y", "C="], {"A": "1", "B": "x=y", "C": ""}),
        ([], {}),
    ],
)
def test_parse_env__name_value_pairs(assignments, expected):
    assert browser.parse_env(assignments) == expected


@pytest.mark.parametrize("text", ["NOEQUALS", "=1", " =x"])
def test_parse_env__refuses_a_missing_name(text):
    with pytest.raises(ValueError, match="NAME=VALUE"):
        browser.parse_env([text])


def test_year_query__is_the_apps_custom_range():
    assert browser.year_query(date(2024, 11, 25), date(2025, 11, 24)) == {
        "range": "custom",
        "start": "2024-11-25",
        "end": "2025-11-24",
    }


@pytest.mark.parametrize(
    ("reps", "expected"),
    [
        (1, ["Models", "Users", "Projects & keys", "Budgets & alerts", "Raw data", "Overview"]),
        (0, []),
    ],
)
def test_page_cycle__enters_every_page_once_per_round(reps, expected):
    assert [label for label, _ in browser.page_cycle(reps)] == expected


def test_page_cycle__rounds_repeat():
    labels = [label for label, _ in browser.page_cycle(3)]
    assert len(labels) == 18 and all(labels.count(p) == 3 for p, _ in browser.PAGES)


@pytest.mark.parametrize(
    ("value", "limit", "error", "expected"),
    [
        (0.5, 0.6, None, "PASS"),
        (0.6, 0.6, None, "FAIL"),
        (2.1, 2.0, None, "FAIL"),
        (None, 1.0, None, "SKIP"),
        (math.nan, 1.0, None, "SKIP"),
        (0.1, 1.0, "exception on Models", "FAIL"),
        (None, 1.0, "TimeoutError: 120 s", "FAIL"),
    ],
    ids=["under", "at-the-limit", "over", "not-run", "nan", "error-fails", "error-no-value"],
)
def test_verdict__pass_fail_or_skip(value, limit, error, expected):
    assert browser.verdict(value, limit, error) == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [(0.4321, "s", "0.43 s"), (351.6, "MB", "352 MB"), (1536.0, "MB", "1,536 MB"),
     (None, "s", "-"), (math.nan, "MB", "-")],
)  # fmt: skip
def test_show__a_figure_with_its_unit(value, unit, expected):
    assert browser.show(value, unit) == expected


TARGETS = (
    browser.Target("large.last_30_days.median", "large, 30 d median", 0.6, "s"),
    browser.Target("large.sessions.rss_mb", "large, RSS", 400.0, "MB"),
    browser.Target("huge.year.median", "huge, year", 2.0, "s"),
    browser.Target("small.first_render.median", "first render", 3.0, "s"),
)


@pytest.mark.parametrize(
    ("figures", "errors", "sizes", "expected"),
    [
        (
            {"large.last_30_days.median": 0.41, "large.sessions.rss_mb": 512.2},
            {},
            ["large"],
            [
                ["large, 30 d median", "< 0.60 s", "0.41 s", "PASS"],
                ["large, RSS", "< 400 MB", "512 MB", "FAIL"],
            ],
        ),
        (
            {"small.first_render.median": 2.5},
            {"large.sessions.rss_mb": "TimeoutError: x"},
            ["large", "small"],
            [
                ["large, 30 d median", "< 0.60 s", "-", "SKIP"],
                ["large, RSS", "< 400 MB", "- (TimeoutError: x)", "FAIL"],
                ["first render", "< 3.00 s", "2.50 s", "PASS"],
            ],
        ),
        ({"huge.year.median": 1.2}, {}, ["huge"], [["huge, year", "< 2.00 s", "1.20 s", "PASS"]]),
        ({"huge.year.median": 1.2}, {}, [], []),
    ],
    ids=["large", "error-and-not-run", "only-its-size", "no-size"],
)
def test_target_rows__one_verdict_per_target_of_the_sizes_run(figures, errors, sizes, expected):
    assert browser.target_rows(TARGETS, figures, errors, sizes) == expected


def test_targets__are_the_issues_table():
    keys = {t.key: (t.limit, t.unit) for t in browser.TARGETS}
    assert keys["large.last_30_days.median"] == keys["large.last_90_days.median"] == (0.6, "s")
    assert keys["large.last_30_days.p90"] == keys["large.last_90_days.p90"] == (1.0, "s")
    assert keys["large.sessions.rss_mb"] == (400.0, "MB")
    assert keys["huge.last_30_days.median"] == keys["huge.last_90_days.median"] == (1.0, "s")
    assert keys["huge.year.median"] == (2.0, "s")
    assert keys["huge.sessions.rss_mb"] == (1536.0, "MB")
    assert keys["huge.csv.to_csv_s"] == keys["huge.csv.download_s"] == (5.0, "s")
    assert keys["small.first_render.median"] == (3.0, "s")


@pytest.mark.parametrize(
    ("headers", "rows", "expected"),
    [
        (["a"], [[1]], "| a |\n|---|\n| 1 |"),
        (["a", "b"], [["x|y", 2]], "| a | b |\n|---|---|\n| x\\|y | 2 |"),
        (["a"], [], "| a |\n|---|"),
    ],
    ids=["one", "pipe-escaped", "no-rows"],
)
def test_markdown_table__github_table(headers, rows, expected):
    assert browser.markdown_table(headers, rows) == expected


@pytest.mark.parametrize(
    ("headers", "rows", "expected"),
    [
        (["a", "b"], [["x", "1"]], "a  b\n-  -\nx  1"),
        (["name", "v"], [["long name", "2"]], "name       v\n---------  -\nlong name  2"),
    ],
)
def test_text_table__aligned_columns(headers, rows, expected):
    assert browser.text_table(headers, rows) == expected


@pytest.mark.parametrize(
    ("size", "quick", "sessions", "reps", "has_year"),
    [
        ("large", False, 20, 5, False),
        ("huge", False, 10, 5, True),
        ("small", True, 2, 1, False),
        ("huge", True, 2, 1, True),
    ],
)
def test_default_config__sessions_reps_and_parts_per_size(size, quick, sessions, reps, has_year):
    config = browser.default_config(size, quick)
    assert (config.size, config.sessions, config.reps, config.quick) == (
        size,
        sessions,
        reps,
        quick,
    )
    assert ("year" in config.parts) == has_year
    assert {"first_render", "pages", "sessions", "csv"} <= set(config.parts)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--size", "huge"], ("huge", 10, 5, ())),
        (
            ["--size", "large", "--reps", "2", "--sessions", "3", "--env", "MALLOC_ARENA_MAX=2"],
            ("large", 3, 2, (("MALLOC_ARENA_MAX", "2"),)),
        ),
        (["--quick", "--size", "small", "--parts", "pages,csv"], ("small", 2, 1, ())),
    ],
    ids=["huge", "overrides", "quick-parts"],
)
def test_parse_args__into_a_config(argv, expected):
    config, _ = browser.parse_args(argv)
    assert (config.size, config.sessions, config.reps, tuple(config.env.items())) == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--parts", "pages,nope"], "unknown parts: nope"),
        (["--env", "NOEQUALS"], "NAME=VALUE"),
        (["--size", "medium"], "invalid choice"),
    ],
)
def test_parse_args__refuses_bad_arguments(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        browser.parse_args(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_run_main__browser_flag_hands_the_rest_to_the_browser_benchmark(capsys):
    with pytest.raises(SystemExit) as exc:
        run.main(["--browser", "--parts", "nope"])
    assert exc.value.code == 2
    assert "python -m benchmarks.browser" in capsys.readouterr().err


def _report() -> browser.Report:
    report = browser.Report(config=browser.default_config("large", quick=False))
    views = ("last_30_days", "last_90_days")
    for view, seconds in zip(views, ([0.3, 0.5, 0.4], [0.9, 1.4, 0.7]), strict=True):
        report.switches += [browser.Switch(view, "Models", s, 0) for s in seconds]
        browser._summarize_switches(report, "large", view)
    report.figures["large.sessions.rss_mb"] = 420.0
    report.figures["small.first_render.median"] = 2.5
    report.first_renders = [2.5]
    report.memory.append(("20 sessions open", 420.0, 450.0, 455.0))
    report.notes.append("server up 300 s")
    return report


def test_render__targets_switches_memory_and_notes():
    report = _report()
    text = browser.render_text(report)
    markdown = browser.render_markdown(report)
    for out in (text, markdown):
        assert "large, any page, 30-day view: median" in out
        assert "0.40 s" in out and "PASS" in out
        assert "large, server RSS after 20 sessions" in out and "420 MB" in out
        assert "20 sessions open" in out
        assert "server up 300 s" in out
        assert "huge" not in out.split("Page switches")[0]  # only the sizes run are judged
    assert markdown.startswith("## Browser benchmark: large demo")
    assert "| large, any page, 90-day view: p90 | < 1.00 s | 1.30 s | FAIL |" in markdown
    assert browser.failed(report)


def test_summarize_switches__an_exception_fails_the_view():
    report = browser.Report(config=browser.default_config("large", quick=False))
    report.switches = [browser.Switch("last_30_days", "Users", 0.2, 1)]
    browser._summarize_switches(report, "large", "last_30_days")
    assert report.figures["large.last_30_days.median"] == pytest.approx(0.2)
    assert report.errors["large.last_30_days.median"] == "exception on Users"
    rows = browser.target_rows(browser.TARGETS, report.figures, report.errors, ["large"])
    assert rows[0][-1] == "FAIL"


# --- the browser benchmark in chromium: one quick run on the small demo -------------------------


@pytest.mark.browser
def test_browser_benchmark__quick_small_run_measures_every_part_and_leaves_no_process(tmp_path):
    browser_support.require_browser()
    before = browser.descendants(browser.process_parents(), os.getpid())
    config = browser.default_config("small", quick=True)
    config.workdir = tmp_path
    report = browser.run(config)
    print(browser.render_text(report))  # the figures, shown with -s; never asserted
    assert not report.errors, report.notes
    timed = [s for s in report.switches if s.view in browser.VIEWS]
    assert len(timed) == 2 * len(browser.PAGES)  # one round on each of the two views
    in_sessions = [s for s in report.switches if s.view.endswith("in sessions")]
    assert len(in_sessions) == config.sessions * len(browser.PAGES)
    assert all(s.seconds > 0 and s.errors == 0 for s in report.switches)
    for key in (
        "small.first_render.median",
        "small.last_30_days.median",
        "small.last_90_days.p90",
        "small.sessions.rss_mb",
        "small.csv.download_s",
        "small.csv.to_csv_s",
    ):
        assert report.figures[key] > 0, key
    assert len(report.session_rss) == config.sessions
    assert report.csv["rows"] > 0 and report.csv["download_mb"] == pytest.approx(
        report.csv["to_csv_mb"], rel=0.05
    )
    markdown = browser.render_markdown(report)
    assert "`streamlit run` to first drawn page (small)" in markdown
    assert browser.descendants(browser.process_parents(), os.getpid()) <= before


@pytest.mark.parametrize(
    ("limit_mb", "calls"),
    [(1.0, 1), (None, 0), (10.0**7, 0)],
    ids=["over-once", "no-limit", "under"],
)
def test_rss_sampler__calls_on_limit_once_past_the_limit(limit_mb, calls):
    seen: list[float] = []
    sampler = browser.RssSampler(os.getpid(), limit_mb=limit_mb, on_limit=seen.append)
    for _ in range(3):
        now = sampler.sample()
    assert len(seen) == calls
    assert sampler.max_mb >= now > 0


# --- the floor part (issue 19): settling, interleaving, ratios -----------------------------------


@pytest.mark.parametrize(
    ("changes", "ready", "now", "expected"),
    [
        ([1.0, 2.0, 2.4], 2.0, 3.0, 2.4),  # ready at 2, last change 2.4, 0.6 quiet
        ([1.0, 2.0, 2.4], 2.0, 2.8, None),  # 0.4 quiet so far
        ([1.0, 2.0, 2.4], 2.0, 2.9, 2.4),  # exactly 0.5 quiet
        ([1.0], 2.0, 2.5, 2.0),  # nothing after ready: ready is the last change
        ([1.0, 1.5], 2.0, 2.2, None),  # changes before ready never make it quiet sooner
        ([3.0, 1.0, 2.2], 2.0, 3.6, 3.0),  # unordered: the latest counts
        ([1.0, 2.0], None, 60.0, None),  # not ready (no title, or the script still running)
        ([], 0.0, 0.5, 0.0),
    ],
    ids=[
        "quiet",
        "not-yet",
        "exactly",
        "ready-last",
        "before-ready",
        "unordered",
        "not-ready",
        "empty",
    ],
)
def test_settled_at__the_last_change_once_half_a_second_passed_quietly(
    changes, ready, now, expected
):
    assert browser.settled_at(changes, ready, now) == expected


def test_settled_at__the_quiet_period_is_a_parameter():
    assert browser.settled_at([1.0, 1.1], 1.0, 1.35, quiet=0.2) == pytest.approx(1.1)
    assert browser.settled_at([1.0, 1.1], 1.0, 1.35, quiet=0.3) is None


@pytest.mark.parametrize(
    ("sessions", "apps", "expected"),
    [
        (2, ("app", "floor"), [("app", 0), ("floor", 0), ("app", 1), ("floor", 1)]),
        (1, ("floor", "app"), [("floor", 0), ("app", 0)]),
        (0, ("app", "floor"), []),
        (3, ("app",), [("app", 0), ("app", 1), ("app", 2)]),
    ],
)
def test_interleave__one_session_of_each_app_in_turn(sessions, apps, expected):
    assert browser.interleave(sessions, apps) == expected


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(0.6, 0.4, 1.5), (0.74, 0.40, 1.85), (0.3, 0.6, 0.5)],
)
def test_ratio__of_two_timings(numerator, denominator, expected):
    assert browser.ratio(numerator, denominator) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("numerator", "denominator"),
    [(None, 0.4), (0.6, None), (math.nan, 0.4), (0.6, math.nan), (0.6, 0.0), (0.6, -1.0)],
)
def test_ratio__nan_when_a_timing_is_missing_or_not_positive(numerator, denominator):
    assert math.isnan(browser.ratio(numerator, denominator))


def test_app_args__runs_another_script_with_the_same_flags():
    app = browser_support.streamlit_args(8501)
    floor = browser.app_args(8501, browser.FLOOR_SCRIPT)
    assert floor[: app.index("streamlit_app.py")] == app[: app.index("streamlit_app.py")]
    assert floor[app.index("streamlit_app.py")] == "benchmarks/floor_app.py"
    assert "streamlit_app.py" not in floor
    assert browser.app_args(8501) == app
    assert (browser.ROOT / browser.FLOOR_SCRIPT).is_file()


def _floor_switches() -> list[browser.Switch]:
    S = browser.Switch
    return [
        S("floor, warm-up", "Floor two", 9.0, 0, 9.0, True),  # warm-ups are not judged
        S("app, warm-up", "Models", 9.0, 0, 9.0, True),
        S("app", "Models", 1.2, 0, 1.0, True),
        S("app", "Overview", 0.4, 0, 0.3, False),
        S("floor", "Floor two", 0.5, 0, 0.3, True),
        S("floor", "Floor one", 0.3, 0, 0.2, False),
        S("app", "Models", 0.8, 0, 0.6, True),
        S("app", "Overview", 0.6, 0, 0.5, False),
        S("floor", "Floor two", 0.4, 0, 0.3, True),
        S("floor", "Floor one", 0.4, 0, 0.2, False),
    ]


def test_floor_figures__each_apps_median_and_p90_and_the_ratios():
    got = browser.floor_figures(_floor_switches(), "large")
    expected = {
        "large.floor.app.median": 0.7,  # 0.4 0.6 0.8 1.2
        "large.floor.app.p90": 1.08,
        "large.floor.app.first_visit_median": 1.0,  # Models: 1.2, 0.8
        "large.floor.app.drawn_median": 0.55,
        "large.floor.floor.median": 0.4,  # 0.3 0.4 0.4 0.5
        "large.floor.floor.p90": 0.47,
        "large.floor.floor.first_visit_median": 0.45,
        "large.floor.floor.drawn_median": 0.25,
        "large.floor.ratio": 1.75,
        "large.floor.ratio_p90": 1.08 / 0.47,
        "large.floor.ratio_drawn": 2.2,
    }
    assert got == pytest.approx(expected)


def test_floor_figures__no_floor_switches_no_ratio():
    switches = [s for s in _floor_switches() if s.view == "app"]
    got = browser.floor_figures(switches, "small")
    assert got["small.floor.app.median"] == pytest.approx(0.7)
    assert math.isnan(got["small.floor.floor.median"]) and math.isnan(got["small.floor.ratio"])


def test_floor_ratio_rows__app_floor_and_ratio_per_statistic():
    figures = browser.floor_figures(_floor_switches(), "large")
    figures["large.floor.app.first_render"] = 7.0
    figures["large.floor.floor.first_render"] = 4.4
    rows = browser.floor_ratio_rows(figures, "large")
    assert rows == [
        ["median, settled (judged)", "0.70 s", "0.40 s", "1.75x"],
        ["p90, settled", "1.08 s", "0.47 s", "2.30x"],
        ["median, first drawn (the old criterion)", "0.55 s", "0.25 s", "2.20x"],
        ["median of first visits of a page in a session", "1.00 s", "0.45 s", "2.22x"],
        ["first render: spawn to the first page settled", "7.00 s", "4.40 s", ""],
    ]
    assert browser.floor_ratio_rows(figures, "huge") == []  # the part did not run at that size


def test_floor_page_rows__first_visits_apart_from_the_way_back():
    report = browser.Report(config=browser.default_config("large", quick=False))
    report.floor = _floor_switches()
    report.floor_opens = {"app": [2.0, 3.0], "floor": [1.0]}
    rows = browser.floor_page_rows(report)
    assert [r[:4] for r in rows] == [
        ["floor, warm-up", "Floor two", "first", "1"],
        ["app, warm-up", "Models", "first", "1"],
        ["app", "Models", "first", "2"],
        ["app", "Overview", "back", "2"],
        ["app", "opening the session (goto)", "first", "2"],
        ["floor", "Floor two", "first", "2"],
        ["floor", "Floor one", "back", "2"],
        ["floor", "opening the session (goto)", "first", "1"],
    ]
    assert rows[2][4:] == ["1.00 s", "1.16 s", "1.20 s", "0.80 s"]
    assert rows[4][4:] == ["2.50 s", "2.90 s", "3.00 s", ""]


@pytest.mark.parametrize(
    ("ratio", "verdict"),
    [(1.75, "FAIL"), (1.2, "PASS"), (math.nan, "SKIP")],
)
def test_target_rows__the_floor_ratio_is_judged_against_one_and_a_half(ratio, verdict):
    rows = browser.target_rows(browser.TARGETS, {"large.floor.ratio": ratio}, {}, ["large"])
    (row,) = [r for r in rows if "floor" in r[0]]
    assert row[1:] == ["< 1.50x", browser.show(ratio, "x"), verdict]


def test_targets__issue_19_first_render_within_two_seconds():
    limits = [t.limit for t in browser.TARGETS if t.key == "small.first_render.median"]
    assert sorted(limits) == [2.0, 3.0]


@pytest.mark.parametrize(
    ("argv", "quick", "floor_sessions"),
    [
        ([], False, 8),
        (["--quick"], True, 2),
        (["--floor-sessions", "3", "--parts", "floor"], False, 3),
    ],
)
def test_parse_args__the_floor_part_and_its_sessions(argv, quick, floor_sessions):
    config, _ = browser.parse_args(["--size", "large", *argv])
    assert config.quick is quick and config.floor_sessions == floor_sessions
    assert "floor" in config.parts


@pytest.mark.parametrize(("argv", "query"), [([], {}), (["--floor-bars", "day"], {"bars": "day"})])
def test_parse_args__the_floor_part_measures_the_bars_it_is_told(argv, query):
    """By default the app's 90 days draw what they suggest (weeks); ``--floor-bars day`` measures
    the bars per day a viewer may pick."""
    config, _ = browser.parse_args(["--size", "large", "--parts", "floor", *argv])
    assert browser._bars(config.floor_bars) == query


def test_render__the_floor_tables_and_verdict():
    report = browser.Report(config=browser.default_config("large", quick=False))
    report.floor = _floor_switches()
    report.figures.update(browser.floor_figures(report.floor, "large"))
    text = browser.render_text(report)
    markdown = browser.render_markdown(report)
    for out in (text, markdown):
        assert "median, settled (judged)" in out and "1.75x" in out
        assert "opening the session (goto)" not in out  # no opens recorded
    assert "| large, 90-day view, median page switch / the floor app's" in markdown
    assert "| < 1.50x | 1.75x | FAIL |" in markdown
    assert browser.failed(report)


def test_switch_rows__settled_with_the_first_drawn_median_beside_it():
    report = browser.Report(config=browser.default_config("large", quick=False))
    report.switches = [
        browser.Switch("last_90_days", "Models", 0.9, 0, 0.6),
        browser.Switch("last_90_days", "Models", 0.7, 1, 0.4),
        browser.Switch("last_90_days", "Users", 0.5, 0),  # no first-drawn time
    ]
    assert browser.switch_rows(report) == [
        ["last_90_days", "Models", "2", "0.80 s", "0.88 s", "0.90 s", "0.50 s", "1"],
        ["last_90_days", "Users", "1", "0.50 s", "0.50 s", "0.50 s", "-", "0"],
        ["last_90_days", "**every page**", "3", "0.70 s", "0.86 s", "0.90 s", "0.50 s", "0"],
    ]


@pytest.mark.parametrize(
    ("parts", "expected"),
    [(None, "`python -m benchmarks.browser --size large`"),
     (("floor",), "`python -m benchmarks.browser --size large --parts floor`")],
)  # fmt: skip
def test_render_markdown__the_command_names_the_parts_when_not_the_default(parts, expected):
    report = browser.Report(config=browser.default_config("large", quick=False))
    if parts:
        report.config.parts = parts
    assert expected + ":" in browser.render_markdown(report)
