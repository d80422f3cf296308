"""Strangers and the app's own key (issue 18, item 9): one fetch at a time for viewers, a daily
request budget shared by every process, and a viewer's job that nobody watches stops.

The registry runs real fetches (the legacy source against the fake OpenAI server) with an injected
clock; each answer waits for the test's permit, so the test decides when each request ends.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from spend.config import Settings
from spend.jobs import UNWATCHED_SECONDS, JobRegistry
from spend.ratelimit import RequestBudget
from spend.sources import make_source
from tests.apptest_support import admin_secrets, app
from tests.clock import FakeClock
from tests.fake_openai import LEGACY_KEY, ORG_ID
from tests.test_auth import ANA, AUTH, BOSS


class Permits:
    """Each answer of the fake waits for one permit (``allow``); ``answered`` counts them."""

    def __init__(self) -> None:
        self.semaphore = threading.Semaphore(0)
        self.answered = 0
        self.arrived = threading.Condition()

    def __call__(self, path: str) -> None:
        assert self.semaphore.acquire(timeout=30), "the test never let this answer go"
        with self.arrived:
            self.answered += 1
            self.arrived.notify_all()

    def allow(self, n: int = 1) -> None:
        for _ in range(n):
            self.semaphore.release()

    def wait_answered(self, n: int) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: self.answered >= n, timeout=30)


@pytest.fixture
def gated(fake_openai):
    permits = Permits()
    fake_openai.configure(before_answer=permits)
    yield permits
    permits.allow(1000)  # whatever still waits ends


def legacy(fake, tmp_path, days: int = 6):
    """A legacy source on the fake (unthrottled) and its plan for ``days`` days: one request a
    day after the users list."""
    settings = Settings.from_mapping(
        {
            "OPENAI_API_KEY": LEGACY_KEY,
            "OPENAI_ORG_ID": ORG_ID,
            "OPENAI_BASE_URL": fake.base_url,
            "SPEND_CACHE_DIR": str(tmp_path / "cache"),
            "SPEND_RATE_LIMIT_PER_MIN": "60000",
        }
    )
    source = make_source(settings, "legacy")
    end = fake.days[-2]
    return settings, source, source.plan(end - timedelta(days=days - 1), end)


def progressed(job, done: int) -> None:
    """Wait until the job reported ``done`` requests (or ended)."""
    for _ in range(3000):
        if job.progress.done >= done or not job.running:
            return
        threading.Event().wait(0.01)
    raise AssertionError("no progress")


# --- a job nobody watches -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kept, watched, halted",
    [
        (False, False, "unwatched"),  # a viewer's tab closed: it stops
        (False, True, None),  # a viewer still looks (the progress fragment): it goes on
        (True, False, None),  # an admin, a command or the server started it: it goes on
    ],
)
def test_jobs__a_viewers_job_nobody_watches_stops_after_the_grace_period(
    fake_openai, gated, tmp_path, kept, watched, halted
):
    clock = FakeClock()
    registry = JobRegistry(clock=clock)
    _, source, plan = legacy(fake_openai, tmp_path)
    job = registry.start("k", source, plan, kept=kept)
    gated.allow(2)  # the users list and the first day
    progressed(job, 2)
    clock.advance(UNWATCHED_SECONDS + 1)
    if watched:
        assert registry.get("k") is job  # a session looked: watched now
    gated.allow(1)
    progressed(job, 3)
    gated.allow(plan.missing)
    assert job.wait(30)
    assert job.halted == halted and job.error is None
    if halted:
        assert job.progress.done < plan.missing and job.stopped
    else:
        assert job.progress.done == plan.missing


# --- one at a time --------------------------------------------------------------------------------


def test_jobs__one_held_fetch_at_a_time_on_one_key(fake_openai, gated, tmp_path):
    registry = JobRegistry(clock=FakeClock())
    _, source, plan = legacy(fake_openai, tmp_path)
    _, other, other_plan = legacy(fake_openai, tmp_path, days=3)
    first = registry.start("a", source, plan, lane="key", exclusive=True, kept=False)
    assert first is not None and first.running
    assert registry.start("b", other, other_plan, lane="key", exclusive=True, kept=False) is None
    assert registry.busy("key", but="b") is first and registry.busy("key", but="a") is None
    # the same range joins the running job; another key's lane is free; a kept job is not held
    assert registry.start("a", source, plan, lane="key", exclusive=True) is first
    assert registry.busy("other-key") is None
    # an admin's or the server's job (kept) runs beside it, and holds no viewer back
    _, third, third_plan = legacy(fake_openai, tmp_path, days=2)
    kept = registry.start("c", third, third_plan, lane="key")
    assert kept is not None and registry.busy("key", but="a") is None
    gated.allow(1000)
    assert first.wait(30) and kept.wait(30)
    second = registry.start("b", other, other_plan, lane="key", exclusive=True, kept=False)
    assert second is not None and second.wait(30) and second.error is None
    assert len([j for j in registry.jobs() if j.lane == "key"]) == 3


# --- the daily budget -----------------------------------------------------------------------------


def test_budget__counted_across_processes_and_days(tmp_path):
    """Two stores on one folder stand for two server processes: they draw on one count, which a
    new UTC day starts afresh."""
    clock = FakeClock(1_790_000_000.0)
    one = RequestBudget(tmp_path, "fp", per_day=10, clock=clock)
    two = RequestBudget(tmp_path, "fp", per_day=10, clock=clock)
    other = RequestBudget(tmp_path, "another-key", per_day=10, clock=clock)
    assert one.charge(4) == 6 and two.charge(5) == 1
    assert one.remaining() == two.remaining() == 1 and one.spent() == 9
    assert two.charge(3) == 0 and one.remaining() == 0
    assert other.remaining() == 10
    clock.advance(86400)
    assert one.remaining() == 10 and two.spent() == 0


def test_budget__another_process_draws_on_the_same_count(tmp_path):
    """A second Python process charges the store; this one sees what it spent."""
    import subprocess
    import sys
    from pathlib import Path

    mine = RequestBudget(tmp_path, "fp", per_day=100)
    mine.charge(10)
    code = (
        "import sys; from spend.ratelimit import RequestBudget; "
        "b = RequestBudget(sys.argv[1], 'fp', per_day=100); print(b.charge(25))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "65" and mine.remaining() == 65 and mine.spent() == 35


def test_jobs__a_viewers_job_stops_when_the_budget_is_spent(fake_openai, tmp_path):
    registry = JobRegistry(clock=FakeClock())
    settings, source, plan = legacy(fake_openai, tmp_path, days=8)
    budget = RequestBudget(settings.cache_dir, "fp", per_day=3)
    job = registry.start("k", source, plan, kept=False, budget=budget)
    assert job.wait(30)
    assert job.halted == "budget" and job.progress.done == 3 < plan.missing
    assert budget.remaining() == 0
    # an admin's (kept) job is counted but not stopped
    kept = registry.start("k", source, source.plan(plan.start, plan.end), budget=budget)
    assert kept.wait(30) and kept.halted is None and source.plan(plan.start, plan.end).missing == 0
    assert budget.spent() == plan.missing


@pytest.mark.parametrize("value, expected", [(None, 2000), ("0", 0), ("150", 150)])
def test_settings__server_key_daily_requests(value, expected):
    values = {} if value is None else {"SPEND_SERVER_KEY_DAILY_REQUESTS": value}
    assert Settings.from_mapping(values).server_key_daily_requests == expected


@pytest.mark.parametrize("value", ["many", "-1", "2.5"])
def test_settings__server_key_daily_requests_must_be_a_whole_number(value):
    with pytest.raises(Exception, match="SPEND_SERVER_KEY_DAILY_REQUESTS"):
        Settings.from_mapping({"SPEND_SERVER_KEY_DAILY_REQUESTS": value})


# --- in the app -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("fresh_streamlit")
@pytest.mark.parametrize(
    "user, extra, fetched",
    [
        ({}, {}, False),  # a stranger (no sign-in) past the budget: nothing
        (ANA, {"auth": AUTH, "SPEND_ALLOWED_DOMAINS": "acme.com"}, False),  # no admin named
        (BOSS, {"auth": AUTH, "SPEND_ADMINS": "boss@acme.com"}, True),  # a signed-in admin
    ],
)
def test_pages__past_the_budget_only_a_signed_in_admin_fetches(fake_openai, user, extra, fetched):
    at = app(user, **admin_secrets(fake_openai), SPEND_SERVER_KEY_DAILY_REQUESTS="0", **extra)
    at.query_params["range"] = "last_7_days"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    usage = [r for r in fake_openai.requests if "/usage/" in r.path or "/costs" in r.path]
    if fetched:
        assert usage and at.metric
        return
    assert usage == []
    banners = " ".join(w.value for w in at.warning)
    if extra:  # a signed-in viewer fetches nothing anyway (the refresher does: see below)
        assert "An admin of this app can fetch the rest" in banners
    else:
        assert "daily budget (`SPEND_SERVER_KEY_DAILY_REQUESTS`)" in banners


@pytest.mark.usefixtures("fresh_streamlit")
def test_pages__a_second_range_waits_while_a_stranger_fetch_runs(fake_openai, gated):
    """Four tabs, four ranges: one fetch runs on the app's key, the others say so and wait."""
    from spend.jobs import REGISTRY

    sessions = []
    for preset in ("last_7_days", "last_month"):
        at = app(**admin_secrets(fake_openai))
        at.query_params["range"] = preset
        if not sessions:
            gated.allow(2)  # the first tab's key check goes through; its fetch then waits
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        sessions.append(at)
    running = [job for job in REGISTRY.jobs() if job.running]
    assert len(running) == 1
    banners = " ".join(w.value for w in sessions[1].warning)
    assert "Another fetch is running on this app's key" in banners
    gated.allow(1000)
    assert running[0].wait(30)


# --- the server keeps its own data fresh (the refresher) -----------------------------------------


def refresher_for(fake, tmp_path, registry, clock, sign_in=True, **extra):
    from spend.ui.startup import Refresher

    values = {
        "OPENAI_ADMIN_KEY": fake_admin_key(),
        "OPENAI_BASE_URL": fake.base_url,
        "SPEND_CACHE_DIR": str(tmp_path / "cache"),
        "SPEND_RATE_LIMIT_PER_MIN": "60000",
        **extra,
    }
    return Refresher(
        lambda: Settings.from_mapping(values),
        registry=registry,
        clock=clock,
        sign_in=lambda: sign_in,
    )


def fake_admin_key() -> str:
    from tests.fake_openai import ADMIN_KEY

    return ADMIN_KEY


def test_refresher__fetches_the_default_views_days_then_only_what_is_missing(fake_openai, tmp_path):
    """The job it starts is the one a session opening the default view would join (same key), and
    once it ran, that view needs nothing more."""
    import time as _time

    from spend.ui.data import job_key
    from spend.ui.startup import default_days

    clock = FakeClock(_time.time())  # the fake's data ends today
    registry = JobRegistry(clock=clock)
    refresher = refresher_for(fake_openai, tmp_path, registry, clock)
    settings = refresher.settings()
    first, end = default_days(fake_openai.days[-1])
    (job,) = refresher.refresh()
    assert job.key == job_key(settings, "admin", False, first, end) and job.kept
    assert job.wait(60) and job.error is None
    source = make_source(settings, "admin")
    assert source.plan(first, end).missing == 0
    made = fake_openai.count()
    assert refresher.refresh() == [] and fake_openai.count() == made
    assert refresher.period() == 300.0


@pytest.mark.parametrize(
    "minutes, sign_in, period",
    [
        (None, True, 300.0),  # sign-in: viewers fetch nothing, the server does every 5 minutes
        (None, False, 0.0),  # no sign-in: every visitor's own view fetches; the server does not
        ("0", True, 0.0),
        ("0.1", True, 60.0),  # at most once a minute
        ("15", False, 900.0),  # said explicitly: either way
    ],
)
def test_refresher__its_period_and_off_switch(fake_openai, tmp_path, minutes, sign_in, period):
    clock = FakeClock()
    extra = {} if minutes is None else {"SPEND_REFRESH_MINUTES": minutes}
    refresher = refresher_for(
        fake_openai, tmp_path, JobRegistry(clock=clock), clock, sign_in=sign_in, **extra
    )
    assert refresher.period() == period
    if period == 0.0:
        assert refresher.refresh() == [] and fake_openai.count() == 0


def test_refresher__nothing_for_demo_data(tmp_path):
    from spend.ui.startup import Refresher

    clock = FakeClock()
    registry = JobRegistry(clock=clock)
    refresher = Refresher(
        lambda: Settings.from_mapping({"SPEND_CACHE_DIR": str(tmp_path)}),
        registry=registry,
        clock=clock,
        sign_in=lambda: True,
    )
    assert refresher.refresh() == [] and registry.jobs() == []


@pytest.mark.usefixtures("fresh_streamlit")
def test_pages__a_viewer_without_admins_sees_what_the_refresher_fetched(fake_openai, tmp_path):
    """Sign-in, an allow-list and no SPEND_ADMINS: the viewer starts nothing, and still sees the
    default view's figures once the server's refresher ran; the sidebar says how to name admins."""
    import time as _time

    from spend.jobs import REGISTRY
    from spend.ui.startup import Refresher

    secrets = {**admin_secrets(fake_openai), "SPEND_ALLOWED_DOMAINS": "acme.com"}
    cache = tmp_path / "spend-cache"  # conftest's SPEND_CACHE_DIR
    values = {**secrets, "SPEND_CACHE_DIR": str(cache)}
    refresher = Refresher(
        lambda: Settings.from_mapping(values), clock=_time.time, sign_in=lambda: True
    )
    for job in refresher.refresh():
        assert job.wait(60) and job.error is None
    made = fake_openai.count()
    at = app(ANA, auth=AUTH, **secrets)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert fake_openai.count() == made and not [j for j in REGISTRY.jobs() if j.running]
    banners = " ".join(w.value for w in at.warning)
    assert "Not fetched yet" not in banners and "Partial data" not in banners
    assert len(at.metric) >= 3
    view = at.session_state["_spend_view"]
    assert view.frame["cost_usd"].sum() > 0
    assert any("SPEND_ADMINS" in c.value for c in at.sidebar.caption)
