"""Progress of long fetches: figures with an injected clock, and pages during a background fetch."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from spend.config import Settings
from spend.jobs import REGISTRY
from spend.sources import FetchProgress, make_client, make_source
from tests.apptest_support import app, legacy_secrets
from tests.clock import FakeClock
from tests.fake_openai import LEGACY_KEY, ORG_ID


@pytest.mark.parametrize(
    "planned, done, elapsed, rate, waiting, eta",
    [
        (10, 0, 0, 5, 0, 120.0),  # nothing done: the rate-limit bound, 12 s a request
        (10, 4, 48, 5, 0, 72.0),  # on pace
        (10, 4, 96, 5, 0, 144.0),  # slower than the limit: the observed pace wins
        (10, 4, 48, 5, 30, 102.0),  # held by a 429: the wait is added
        (10, 10, 120, 5, 0, 0.0),
        (0, 0, 0, 5, 0, 0.0),
        (3, 1, 1, None, 0, 2.0),  # no limiter: the observed pace alone
    ],
)
def test_fetch_progress__eta_table(planned, done, elapsed, rate, waiting, eta):
    state = FetchProgress(
        planned=planned,
        done=done,
        started_at=100.0,
        now=100.0 + elapsed,
        rate_per_min=rate,
        rate_limited_until=100.0 + elapsed + waiting,
    )
    assert state.eta_seconds == pytest.approx(eta)
    assert state.remaining == planned - done


def test_fetch__progress_figures_follow_the_injected_clock(fake_openai, tmp_path):
    last = fake_openai.days[-1]
    clock = FakeClock(datetime(last.year, last.month, last.day, 12, tzinfo=UTC).timestamp())
    fake_openai.configure(wall_clock=clock)
    settings = Settings(
        api_key=LEGACY_KEY,
        org_id=ORG_ID,
        base_url=fake_openai.base_url,
        cache_dir=tmp_path,
        rate_limit_per_min=5,
    )
    source = make_source(
        settings, client=make_client(settings, clock=clock, sleep=clock.sleep), clock=clock
    )
    plan = source.plan(fake_openai.days[-9], last)
    assert plan.missing == 10 and plan.eta_seconds == 120.0
    seen = []
    source.fetch(
        plan,
        progress=lambda s: seen.append((s.done, s.planned, s.now - s.started_at, s.eta_seconds)),
    )
    # the first request goes at once, each later one 12 s after the previous (5 a minute)
    assert seen[0] == (0, 10, 0.0, 120.0)
    assert seen[1] == (1, 10, 0.0, 108.0)
    assert seen[5] == (5, 10, 48.0, pytest.approx(max(60.0, 48.0 / 5 * 5)))
    assert seen[-1][:3] == (10, 10, 108.0) and seen[-1][3] == 0.0


def test_pages__partial_data_with_progress_while_fetching_then_full_totals(
    fake_openai, monkeypatch, fresh_streamlit
):
    """A page opened during a background fetch shows what arrived, marked partial, and a progress
    bar."""
    from spend.client import HttpClient

    gate = threading.Event()
    sent = []
    original = HttpClient.send_once

    def gated(self, path, params=None, **kw):
        if len(sent) >= 4:
            gate.wait(30)
        sent.append(path)
        return original(self, path, params, **kw)

    monkeypatch.setattr(HttpClient, "send_once", gated)
    monkeypatch.setattr("spend.ui.data.INLINE_WAIT_SECONDS", 1.0)
    at = app(timeout=60, **legacy_secrets(fake_openai))
    at.query_params["range"] = "last_7_days"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Partial data" in w.value for w in at.warning)
    assert at.get("progress"), "no progress bar while fetching"
    partial_requests = at.session_state["_spend_view"].frame["n_requests"].sum()
    gate.set()
    for job in REGISTRY.jobs():
        assert job.wait(30)
    at.run()
    assert not any("Partial data" in w.value for w in at.warning)
    view = at.session_state["_spend_view"]
    expected = fake_openai.legacy_totals(view.start, view.end)["n_requests"]
    assert view.frame["n_requests"].sum() == expected > partial_requests


def test_pages__two_browser_sessions_share_one_fetch(fake_openai, monkeypatch, fresh_streamlit):
    from spend.client import HttpClient

    gate = threading.Event()
    original = HttpClient.send_once

    def gated(self, path, params=None, **kw):
        if path == "/usage":  # the users list goes at once: it checks the key before the fetch
            gate.wait(30)
        return original(self, path, params, **kw)

    monkeypatch.setattr(HttpClient, "send_once", gated)
    monkeypatch.setattr("spend.ui.data.INLINE_WAIT_SECONDS", 0.2)
    sessions = []
    for _ in range(2):
        at = app(timeout=60, **legacy_secrets(fake_openai))
        at.query_params["range"] = "last_7_days"
        at.run()
        assert not at.exception
        sessions.append(at)
    assert len(REGISTRY.jobs()) == 1
    gate.set()
    (job,) = REGISTRY.jobs()
    assert job.wait(30) and job.error is None
    for at in sessions:
        at.run()
    view = sessions[1].session_state["_spend_view"]
    asked = [(r.path, sorted(r.query.items())) for r in fake_openai.requests]
    assert len(asked) == len({repr(a) for a in asked})  # nothing asked twice: one fetch for both
    days = {r.query.get("date") for r in fake_openai.requests if r.path.endswith("/usage")}
    span = (view.end - view.loaded_from).days + 1  # each of the view's days (the month card
    assert {str(view.loaded_from + timedelta(days=i)) for i in range(span)} <= days  # may add)
