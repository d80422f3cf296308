"""``python -m spend alerts``: the report, its messages, the sent-state, and end to end.

End to end runs against the fake OpenAI server (admin key, spend controls configured) with a local
HTTP receiver on 127.0.0.1 standing in for the webhook (an Apprise ``json://`` URL): it counts the
messages, checks that a second run sends nothing new, and that a failed delivery is sent again.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import logging
import os
import re
import stat
import threading
import time
from collections import deque
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import markdown
import pandas as pd
import pytest

from spend.budgets import Budget
from spend.cache import NON_FINAL_TTL
from spend.cli import add_alerts_parser, run_alerts
from spend.config import Settings
from spend.notify import (
    AlertState,
    Failure,
    Message,
    Target,
    deliver,
    make_targets,
    messages_for,
    notify,
    state_path,
)
from spend.report import BudgetEntry, Report, SpikeEntry, Watch, evaluate
from spend.routes import view_url
from spend.schema import conform
from tests.clock import FakeClock
from tests.fake_openai import ADMIN_KEY, LEGACY_KEY, ORG_ID

END = date(2026, 6, 20)  # the fake org's last day
AS_OF = date(2026, 6, 19)
APP_URL = "https://spend.example.com"


# ---- a webhook receiver on 127.0.0.1


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers 200 (or queued statuses)."""

    def __init__(self, reply: bytes = b"") -> None:
        self.posts: list[tuple[int, dict]] = []  # (status answered, JSON body)
        self.paths: list[str] = []  # the path of each POST
        self.statuses: deque[int] = deque()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = receiver.statuses.popleft() if receiver.statuses else 200
                receiver.posts.append((status, body))
                receiver.paths.append(self.path)
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_port}/hook"

    def fail_next(self, n: int, status: int = 500) -> None:
        self.statuses.extend([status] * n)

    @property
    def delivered(self) -> list[dict]:
        return [body for status, body in self.posts if status == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(reply: bytes = b"") -> Receiver:
        made.append(Receiver(reply))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def receiver(receivers):
    return receivers()


# ---- driving the command


def run(argv, env, clock=None):
    parser = argparse.ArgumentParser(prog="python -m spend")
    add_alerts_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["alerts", *map(str, argv)])
    out, err = io.StringIO(), io.StringIO()
    clock = clock or FakeClock(time.time())  # the fake org's days are all final by now
    code = run_alerts(args, environ=env, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    return code, out.getvalue(), err.getvalue()


def env_for(fake, tmp_path, **extra):
    return {
        "OPENAI_BASE_URL": fake.base_url,
        "SPEND_CACHE_DIR": str(tmp_path / "cache"),
        "SPEND_RATE_LIMIT_PER_MIN": "6000",
        **extra,
    }


@pytest.fixture
def org(fake_openai):
    """The fake org: 80 days to END, an org spend alert at $5, a hard limit, a project limit."""
    fake_openai.reset(
        days=80,
        end_date=END,
        spend_limit_cents=10_000_000,
        spend_alert_cents=(500,),
        project_spend_limit_cents=(("Research", 9_990_000),),
    )
    return fake_openai


def research_id(fake) -> str:
    return next(p.id for p in fake.world.projects if p.name == "Research")


def write_budgets(tmp_path, fake, *, org_share: float = 0.9) -> str:
    """A budgets file: the org at ``org_share`` of June's billed money so far, and two more."""
    spent = float(fake.costs_total(date(2026, 6, 1), AS_OF))
    path = tmp_path / "budgets.toml"
    path.write_text(
        "[[budget]]\n"
        'scope = "organization"\n'
        f"monthly_usd = {round(spent * org_share, 2)}\n\n"
        "[[budget]]\n"
        'scope = "project"\n'
        f'id = "{research_id(fake)}"\n'
        "monthly_usd = 100000\n\n"
        "[[budget]]\n"
        'scope = "user"\n'
        'id = "user-nobody"\n'
        "monthly_usd = 10\n",
        encoding="utf-8",
    )
    return str(path)


def has_news(entry) -> bool:
    """A budget entry (JSON) has a threshold crossed or (a budget, not yet over) a forecast
    overrun."""
    forecast_over = (
        entry["kind"] != "spend_alert"
        and not entry["overrun"]
        and entry["crossing_date"] is not None
        and (entry["forecast_usd"] or 0) >= entry["budget_usd"]
    )
    return bool(entry["crossed"]) or forecast_over


def expected_messages(report) -> int:
    """One message per budget with news, however many thresholds it passed, and one per spike or
    newcomer."""
    budgets = sum(has_news(entry) for entry in report["budgets"])
    return budgets + len(report["spikes"]) + len(report["newcomers"])


def test_alerts__end_to_end_each_alert_once(org, receiver, tmp_path):
    env = env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY, SPEND_APP_URL=APP_URL)
    argv = ["--as-of", AS_OF, "--budgets", write_budgets(tmp_path, org)]
    code, out, err = run([*argv, "--notify", receiver.url, "--json"], env)
    assert code == 0, err
    report = json.loads(out)
    assert (report["as_of"], report["month"]) == ("2026-06-19", "2026-06")

    by_key = {entry["key"]: entry for entry in report["budgets"]}
    mine = by_key["organization:-"]
    assert mine["basis"] == "billed" and mine["crossed"] == [50, 80, 100]
    billed = float(org.costs_total(date(2026, 6, 1), AS_OF))
    assert mine["spent_usd"] == pytest.approx(billed, abs=0.01)
    assert mine["enough_history"] and mine["forecast_low"] <= mine["forecast_usd"]
    assert by_key[f"project:{research_id(org)}"]["crossed"] == []
    assert by_key["user:user-nobody"]["known"] is False  # an unknown id is kept, shown unknown
    openai = {
        (e["kind"], e["scope"], e["budget_usd"])
        for e in report["budgets"]
        if e["origin"] == "openai"
    }
    assert openai == {
        ("spend_limit", "organization", 100_000.0),
        ("spend_alert", "organization", 5.0),
        ("spend_limit", "project", 99_900.0),
    }

    expected = expected_messages(report)
    assert expected >= 4  # the org's three thresholds and OpenAI's $5 alert at least
    assert len(receiver.delivered) == expected == len(report["notified"])
    titles = [body["title"] for body in receiver.delivered]
    # one message for the organization's budget: the most severe of its news
    assert [t for t in titles if "budget of the organization" in t] == [
        "OpenAI spend: budget of the organization passed 100%"
    ]
    org = next(b for b in receiver.delivered if "organization passed 100%" in b["title"])
    assert org["type"] == "failure"  # at or over 100%: Slack and Teams colour it red
    org_message = org["message"]
    assert f"of ${mine['budget_usd']:,.2f} spent" in org_message  # spent vs budget
    assert "Forecast for the month: $" in org_message
    assert f"View: {APP_URL}/?range=custom&start=2026-06-01&end=2026-06-19" in org_message

    code, out, _ = run([*argv, "--notify", receiver.url, "--json"], env)  # the same day again
    assert code == 0 and json.loads(out)["notified"] == []
    assert len(receiver.posts) == expected  # nothing new was sent

    everything = out + err + "".join(json.dumps(b) for _, b in receiver.posts)
    everything += state_path(Settings.from_env(env)).read_text()
    assert ADMIN_KEY not in everything and ADMIN_KEY[9:] not in everything


def test_alerts__a_failed_delivery_is_sent_on_the_next_run(org, receiver, tmp_path):
    env = env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY)
    argv = ["--as-of", AS_OF, "--budgets", write_budgets(tmp_path, org), "--notify", receiver.url]
    receiver.fail_next(2)
    code, out, err = run([*argv, "--json"], env)
    assert code == 4, err  # after trying every message: cron and CI see the broken webhook
    report = json.loads(out)
    expected = expected_messages(report)
    failed = [failure["event"] for failure in report["failed"]]
    assert len(failed) == 2 and len(report["notified"]) == expected - 2
    assert "warning: 2 deliveries failed" in err and "next run tries again" in err
    first_titles = [body["title"] for status, body in receiver.posts if status == 500]

    code, out, err = run([*argv, "--json"], env)
    assert code == 0 and json.loads(out)["notified"] == failed
    assert [body["title"] for body in receiver.delivered[-2:]] == first_titles
    assert len(receiver.delivered) == expected and "warning" not in err

    run(argv, env)
    assert len(receiver.posts) == expected + 2  # two refused, then each one delivered once


def test_alerts__each_target_keeps_its_own_state(org, receivers, tmp_path):
    good, down = receivers(), receivers()
    env = env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY)
    argv = ["--as-of", AS_OF, "--budgets", write_budgets(tmp_path, org)]
    argv += ["--notify", good.url, "--notify", down.url, "--json"]
    down.fail_next(1000)
    report = json.loads(run(argv, env)[1])
    expected = expected_messages(report)
    assert len(good.delivered) == expected and len(down.posts) == expected
    assert {f["target"] for f in report["failed"]} == {down.url}  # Apprise's privacy form
    down.statuses.clear()
    report = json.loads(run(argv, env)[1])
    assert len(good.posts) == expected  # nothing repeated where it arrived
    assert len(down.delivered) == expected and report["failed"] == []


def test_alerts__fail_on_overrun_exits_3(org, tmp_path):
    env = env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY)
    over = write_budgets(tmp_path, org, org_share=0.9)
    assert run(["--as-of", AS_OF, "--budgets", over, "--fail-on-overrun"], env)[0] == 3
    assert run(["--as-of", AS_OF, "--budgets", over], env)[0] == 0
    # OpenAI's $5 spend alert has been passed too, but an alert is a threshold, not a budget
    under = write_budgets(tmp_path, org, org_share=10.0)
    assert run(["--as-of", AS_OF, "--budgets", under, "--fail-on-overrun"], env)[0] == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--notify", "nosuchservice://token"], "--notify URL 1 (scheme 'nosuchservice')"),
        (["--notify", "json://127.0.0.1:9/x", "--notify", "not a url"], "--notify URL 2"),
        (["--budgets", "missing.toml"], "budgets file missing.toml: no such file"),
        (["--as-of", "2099-01-01"], "is not a complete day yet"),
    ],
)
def test_alerts__bad_url_file_or_day_is_one_error_line_before_fetching(
    org, tmp_path, argv, message
):
    env = env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY)
    code, out, err = run(argv, env)
    assert code == 1 and out == ""
    assert err.splitlines()[-1].startswith("error:") and message in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1
    assert org.count() == 0


def test_alerts__malformed_budgets_file_names_the_line(org, tmp_path):
    path = tmp_path / "b.toml"
    path.write_text('[[budget]]\nscope = "organization"\nmonthly_usd = "lots"\n')
    code, _, err = run(["--budgets", path, "--as-of", AS_OF], env_for(org, tmp_path))
    assert code == 1 and f"error: budgets file {path}, line 3 (entry 1): 'monthly_usd'" in err


def test_alerts__budgets_file_from_the_environment(org, tmp_path):
    env = env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY)
    env["SPEND_BUDGETS_FILE"] = write_budgets(tmp_path, org)
    report = json.loads(run(["--as-of", AS_OF, "--json"], env)[1])
    assert sum(entry["origin"] == "file" for entry in report["budgets"]) == 3


def test_alerts__a_wrong_key_is_one_line_without_the_key(org, tmp_path):
    bad = "sk-admin-WrongWrongWrongWrong0000"
    code, out, err = run(["--as-of", AS_OF], env_for(org, tmp_path, OPENAI_ADMIN_KEY=bad))
    assert code == 1 and err.startswith("error:") and len(err.splitlines()) == 1
    assert bad not in out + err and bad[9:] not in out + err


def test_alerts__refused_spend_controls_are_a_notice(org, tmp_path):
    org.configure(spend_controls=False)  # an API from before 2026-07: the paths are unknown
    env = env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY)
    code, out, err = run(["--as-of", AS_OF, "--json"], env)
    assert code == 0, err
    assert "note: OpenAI's spend alerts for the organization could not be read (HTTP 404)" in err
    assert json.loads(out)["budgets"] == []
    assert org.count("/v1/organization/spend_alerts") == 1  # projects are not asked then
    assert org.count("/v1/organization/projects/", status=404) == 0


def test_alerts__no_spend_limit_set_is_a_notice_and_the_rest_is_read(org, tmp_path):
    org.configure(spend_limit_cents=None, project_spend_limit_cents=())
    env = env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY)
    code, out, err = run(["--as-of", AS_OF, "--json"], env)
    assert code == 0 and "spend limit for the organization" in err
    kinds = [(entry["kind"], entry["scope"]) for entry in json.loads(out)["budgets"]]
    assert kinds == [("spend_alert", "organization")]


def test_alerts__legacy_key_asks_no_spend_controls(org, tmp_path):
    env = env_for(org, tmp_path, OPENAI_API_KEY=LEGACY_KEY, OPENAI_ORG_ID=ORG_ID)
    env["SPEND_BUDGETS_FILE"] = write_budgets(tmp_path, org)
    code, out, err = run(["--as-of", AS_OF, "--history-days", "0", "--json"], env)
    assert code == 0, err
    report = json.loads(out)
    assert [entry["basis"] for entry in report["budgets"]] == ["estimated"] * 3
    assert org.count("/v1/organization/") == 0  # (the legacy users list is /organizations/)


def test_alerts__state_file_is_private(org, receiver, tmp_path):
    env = env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY)
    argv = ["--as-of", AS_OF, "--budgets", write_budgets(tmp_path, org), "--notify", receiver.url]
    assert run(argv, env)[0] == 0
    path = state_path(Settings.from_env(env))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = json.loads(path.read_text())
    assert stored["version"] == 1 and "budget:2026-06:organization:-:50" in stored["sent"]
    assert receiver.url not in path.read_text()  # a URL may hold a token: only its hash is kept


def test_alerts__demo_report_has_the_issue_fields(tmp_path):
    clock = FakeClock(datetime(2026, 12, 1, 6, tzinfo=UTC).timestamp())
    budgets = tmp_path / "b.toml"
    budgets.write_text('[[budget]]\nscope = "organization"\nmonthly_usd = 1500\n')
    env = {"SPEND_CACHE_DIR": str(tmp_path / "cache")}
    code, out, err = run(["--source", "demo", "--budgets", budgets, "--json"], env, clock)
    assert code == 0, err
    report = json.loads(out)
    assert report["as_of"] == "2026-11-30"  # yesterday by the clock
    assert {"as_of", "month", "budgets", "spikes", "savings_usd", "notified"} <= set(report)
    assert {
        "scope",
        "id",
        "name",
        "budget_usd",
        "spent_usd",
        "basis",
        "forecast_usd",
        "forecast_low",
        "forecast_high",
        "crossed",
    } <= set(report["budgets"][0])
    assert report["budgets"][0]["basis"] == "estimated" and report["budgets"][0]["id"] is None
    assert set(report["savings_usd"]) == {"cached_input", "batch"}
    # the legacy shape cannot tell batch usage, but the demo's Claude share (Anthropic's shape)
    # does: its Haiku batch line is the batch saving
    assert report["savings_usd"]["batch"] > 0
    assert report["notified"] == [] and not (tmp_path / "cache" / "alerts").exists()
    code, out, _ = run(["--source", "demo", "--budgets", budgets], env, clock)
    assert code == 0 and out.startswith("2026-11 as of 2026-11-30\nbudget of the organization: $")


# ---- the pieces, without a network


def daily_table(days: int = 41, per_day: float = 100.0, start: str = "2025-02-08") -> pd.DataFrame:
    """A usage table with one estimated row of ``per_day`` USD a day (default: to 2025-03-20)."""
    dates = pd.date_range(start, periods=days, freq="D")
    frame = pd.DataFrame(
        {
            "date": dates,
            "cost_usd": per_day,
            "cost_basis": "estimated",
            "n_requests": 1,
            "user_id": "user-1",
            "user_name": "Ada",
            "model": "gpt-4o-2024-08-06",
            "model_family": "gpt-4o",
        }
    )
    return conform(frame)


def test_evaluate__budget_forecast_and_messages():
    # $100 a day: $2,000 by Mar 20 (66.7% of $3,000, so 50% crossed); forecast 31 x $100 = $3,100,
    # reaching $3,000 on the 30th.
    report = evaluate(
        daily_table(), [Budget("organization", None, 3000.0)], date(2025, 3, 20), app_url=APP_URL
    )
    [entry] = report.budgets
    assert (entry.spent_usd, entry.forecast_usd, entry.crossed) == (2000.0, 3100.0, (50,))
    assert (entry.forecast_low, entry.forecast_high) == (3100.0, 3100.0)
    assert entry.crossing_date == date(2025, 3, 30) and entry.percent == 66.7
    # the most severe news first: the forecast overrun, then the threshold
    forecast, message = messages_for(report)
    assert forecast.event == "forecast:2025-03:organization:-" and forecast.severity == "warning"
    title = "OpenAI spend: budget of the organization is forecast to pass $3,000.00"
    assert forecast.title == title
    assert (
        "is forecast to reach $3,100.00 in 2025-03, crossing $3,000.00 around 2025-03-30: "
        "$2,000.00 of $3,000.00 spent" in forecast.body
    )
    assert message.event == "budget:2025-03:organization:-:50" and message.severity == "warning"
    assert message.title == "OpenAI spend: budget of the organization passed 50%"
    assert (
        "$2,000.00 of $3,000.00 spent (66.7%, estimated from token prices) by 2025-03-20"
        in message.body
    )
    assert "Forecast for the month: $3,100.00 (80% band $3,100.00 to $3,100.00)" in message.body
    assert "it reaches $3,000.00 around 2025-03-30" in message.body
    assert f"View: {APP_URL}/?range=custom&start=2025-03-01&end=2025-03-20" in message.body


def test_evaluate__spike_message_links_to_that_day_and_user():
    table = daily_table(per_day=10.0)
    other = daily_table(per_day=90.0).assign(user_id="user-2", user_name="Bob")
    table.loc[table["date"] == "2025-03-18", "cost_usd"] = 80.0
    report = evaluate(
        pd.concat([table, other], ignore_index=True), [], date(2025, 3, 20), app_url=APP_URL
    )
    spikes = {(s.dimension, s.id) for s in report.spikes}
    assert ("user", "user-1") in spikes
    message = next(m for m in messages_for(report) if m.event == "spike:2025-03-18:user:user-1")
    assert message.title == "OpenAI spend: spike from user Ada (user-1) on 2025-03-18"
    assert "spent $80.00 on 2025-03-18, against a typical day of $10.00" in message.body
    assert (
        f"{APP_URL}/users?range=custom&start=2025-03-18&end=2025-03-18&user=user-1" in message.body
    )


def test_evaluate__not_enough_history_is_said_not_guessed():
    report = evaluate(
        daily_table(days=5, start="2025-03-01"),
        [Budget("organization", None, 300.0)],
        date(2025, 3, 5),
    )
    [entry] = report.budgets
    assert not entry.enough_history and entry.forecast_usd is None
    assert entry.crossed == (50, 80, 100) and entry.crossing_date == date(2025, 3, 3)
    [*_, last] = messages_for(report)
    assert "Not enough history yet for a month-end forecast." in last.body


@pytest.mark.parametrize(
    "scope, ids, start, end, expected",
    [
        (
            "organization",
            [],
            "2025-03-01",
            "2025-03-12",
            "/?range=custom&start=2025-03-01&end=2025-03-12",
        ),
        (
            "user",
            ["user-1"],
            "2025-03-11",
            "2025-03-11",
            "/users?range=custom&start=2025-03-11&end=2025-03-11&user=user-1",
        ),
        (
            "model",
            ["gpt-4o-a", "gpt-4o-b"],
            "2025-03-11",
            "2025-03-11",
            "/models?range=custom&start=2025-03-11&end=2025-03-11&model=gpt-4o-a&model=gpt-4o-b",
        ),
        (
            "project",
            ["proj_1"],
            "2025-03-01",
            "2025-03-12",
            "/projects?range=custom&start=2025-03-01&end=2025-03-12&project=proj_1",
        ),
        (
            "api_key",
            ["key_1"],
            "2025-03-01",
            "2025-03-12",
            "/projects?range=custom&start=2025-03-01&end=2025-03-12&key=key_1",
        ),
    ],
)
def test_view_url__table(scope, ids, start, end, expected):
    url = view_url(
        APP_URL + "/",
        scope=scope,
        ids=ids,
        start=date.fromisoformat(start),
        end=date.fromisoformat(end),
    )
    assert url == APP_URL + expected
    assert (
        view_url(None, scope=scope, ids=ids, start=date(2025, 3, 1), end=date(2025, 3, 1)) is None
    )


class StubService:
    """Stands in for an Apprise object: answers ``notify`` from a list of results."""

    def __init__(self, results):
        self.results = list(results)
        self.sent = []

    def notify(self, body, title, **how):
        self.sent.append(title)
        return self.results.pop(0)


def test_deliver__marks_only_what_arrived(tmp_path):
    state = AlertState(tmp_path / "state.json")
    target = Target("json://x", "k1", StubService([True, False, True]))
    messages = [Message(f"e{n}", (f"t{n}",), (("body",),)) for n in range(3)]
    now = datetime(2025, 3, 12, tzinfo=UTC)
    sent, failed = deliver(messages, [target], state, now=now)
    assert sent == ["e0", "e2"] and failed == [Failure("e1", "json://x")]
    target.service.results = [True]
    assert deliver(messages, [target], state, now=now) == (["e1"], [])
    assert target.service.sent == ["t0", "t1", "t2", "t1"]


def test_alert_state__round_trip_and_prune(tmp_path):
    path = tmp_path / "alerts" / "state.json"
    state = AlertState(path)
    target = Target("json://x", "k1", None)
    now = datetime(2025, 6, 1, tzinfo=UTC)
    state.mark("old", target, now - timedelta(days=200))
    state.mark("new", target, now - timedelta(days=2))
    state.prune(now)
    state.save()
    loaded = AlertState.load(path)
    assert list(loaded.sent) == ["new"] and loaded.is_sent("new", target)
    assert not loaded.is_sent("new", Target("json://y", "k2", None))
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def budget_entry(**changes) -> BudgetEntry:
    """A report's budget entry: the organization's $100 budget, half spent, unless changed."""
    fields = dict(
        key="organization:-",
        scope="organization",
        id=None,
        name="Organization",
        known=True,
        origin="file",
        kind="budget",
        note=None,
        budget_usd=100.0,
        spent_usd=50.0,
        percent=50.0,
        overrun=False,
        basis="estimated",
        unpriced_rows=0,
        enough_history=False,
        forecast_usd=None,
        forecast_low=None,
        forecast_high=None,
        crossing_date=None,
        alert_at=(50, 80, 100),
        crossed=(50,),
        link=None,
    )
    return BudgetEntry(**{**fields, **changes})


def report_of(*entries: BudgetEntry, spikes=()) -> Report:
    return Report(AS_OF, list(entries), Watch(tuple(spikes), (), 0.0, None, 0.0, 0))


def test_overrun__budgets_and_limits_but_not_alerts():
    def report(kind, spent):
        return report_of(budget_entry(kind=kind, overrun=spent >= 100))

    assert report("budget", 100).overrun and report("spend_limit", 120).overrun
    assert not report("spend_alert", 500).overrun and not report("budget", 99.9).overrun


# ---- API text in notifications (a name is data, escaped for the format that shows it)

HOSTILE = "<!channel> [Reset your key](https://evil.example) & *now*"


def hostile_report() -> Report:
    """A report whose project budget and user spike carry ``HOSTILE`` as their names."""
    budget = budget_entry(
        key="project:proj_1",
        scope="project",
        id="proj_1",
        name=HOSTILE,
        link=f"{APP_URL}/projects?range=custom&start=2026-06-01&end=2026-06-19&project=proj_1",
    )
    spike = SpikeEntry(
        date=AS_OF,
        dimension="user",
        id="user-1",
        name=HOSTILE,
        cost_usd=80.0,
        typical_usd=10.0,
        z=9.9,
        link=f"{APP_URL}/users?range=custom&start=2026-06-19&end=2026-06-19&user=user-1",
    )
    return report_of(budget, spikes=[spike])


class Anchors(HTMLParser):
    """An HTML text into the ``href`` of every link in it."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])


def as_html(body: str, dialect: str) -> str:
    """A received body into the HTML its service would show (Markdown rendered as CommonMark)."""
    return markdown.markdown(body) if dialect == "markdown" else body


@pytest.mark.parametrize(
    "query, dialect, shown",
    [
        # json:// is plain text, JSON-encoded: the name arrives exactly as it is
        ("", "text", HOSTILE),
        # Markdown (Teams, Discord, Telegram): every punctuation mark escaped
        (
            "?format=markdown",
            "markdown",
            r"\<\!channel\> \[Reset your key\]\(https\:\/\/evil\.example\) \& \*now\*",
        ),
        # HTML (e-mail): HTML-escaped
        (
            "?format=html",
            "html",
            "&lt;!channel&gt; [Reset your key](https://evil.example) &amp; *now*",
        ),
    ],
)
def test_notify__api_names_are_escaped_for_each_format(receiver, tmp_path, query, dialect, shown):
    [target] = make_targets([receiver.url + query])
    assert target.dialect.name == dialect
    state = AlertState(tmp_path / "state.json")
    messages = messages_for(hostile_report())
    sent, failed = deliver(messages, [target], state, now=datetime(2026, 6, 20, tzinfo=UTC))
    assert failed == [] and len(sent) == len(receiver.delivered) == 2
    for body in receiver.delivered:
        assert shown in body["message"]
        links = Anchors(as_html(body["message"], dialect)).hrefs
        # only our own link: none from the name, whose text is shown, not run
        assert all(href.startswith(APP_URL + "/") for href in links), links
        assert len(links) == (dialect != "text")
        assert body["title"].startswith("OpenAI spend: ") and HOSTILE in body["title"]


@pytest.fixture
def slack(receivers, monkeypatch):
    """A receiver on 127.0.0.1 answering like Slack's webhooks, and the real Slack plugin pointed
    at it: a Slack URL names no host, the plugin's ``webhook_url`` is its base address. The
    plugin's pause between two messages (1.2 s) is set to none: no test waits."""
    from apprise.plugins.slack import NotifySlack

    receiver = receivers(reply=b"ok")
    receiver.hook = f"http://127.0.0.1:{receiver.server.server_port}/services"
    monkeypatch.setattr(NotifySlack, "webhook_url", receiver.hook)
    monkeypatch.setattr(NotifySlack, "request_rate_per_sec", 0)
    return receiver


def test_notify__slack_gets_no_mention_and_no_link_from_a_name(slack, tmp_path):
    [target] = make_targets(["slack://T1ABCDEFG/B2HIJKLMN/C3abcdefghijklmnopqrstuv"])
    assert target.dialect.name == "slack"
    state = AlertState(tmp_path / "state.json")
    sent, failed = deliver(
        messages_for(hostile_report()), [target], state, now=datetime(2026, 6, 20, tzinfo=UTC)
    )
    assert failed == [] and len(sent) == len(slack.delivered) == 2
    for payload in slack.delivered:
        [attachment] = payload["attachments"]
        text, title = attachment["text"], attachment["title"]
        assert payload["mrkdwn"] is True
        for shown in (text, title):
            assert "&lt;!channel&gt;" in shown and "<!" not in shown and "&amp;" in shown
        # Slack's only link form is <url|label>: the one link is ours, the name's is plain text
        assert text.count("<") == 1 and "[Reset your key](https://evil.example)" in text
        assert re.search(r"View: <https://spend\.example\.com/\S+\|open in the app>$", text)


# ---- secrets in verbose output

TOKENS = ("TQWERTYUIOP1", "BASDFGHJKL2", "ZXCVBNMqwertyuiopLKJHGF3")


def test_alerts__verbose_never_logs_a_notification_token(slack, tmp_path, caplog):
    """``alerts -v`` with a Slack URL: Apprise's own lines and urllib3's request lines are
    written (its webhook path holds the three tokens), and no token is in any of them."""
    from spend.cli import main

    budgets = tmp_path / "b.toml"
    budgets.write_text('[[budget]]\nscope = "organization"\nmonthly_usd = 10\n')
    clock = FakeClock(datetime(2026, 11, 15, 6, tzinfo=UTC).timestamp())
    argv = ["alerts", "-v", "--source", "demo", "--budgets", str(budgets)]
    argv += ["--notify", "slack://" + "/".join(TOKENS)]
    env = {"SPEND_CACHE_DIR": str(tmp_path / "cache")}
    caplog.set_level(logging.DEBUG)
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, environ=env, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    assert code == 0, err.getvalue()
    # the messages went to the webhook path made of the tokens, and the logs spoke of it
    assert slack.paths and all(path == "/services/" + "/".join(TOKENS) for path in slack.paths)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Slack POST URL: " + slack.hook + "/***/***/***" in logged
    assert "POST /services/***/***/***" in logged  # urllib3's line
    shown = out.getvalue() + err.getvalue() + logged + caplog.text
    shown += "".join(path.read_text() for path in (tmp_path / "cache" / "alerts").iterdir())
    for token in TOKENS:
        assert token not in shown


# ---- alerts that behave like alerts: one message per budget per run, the most severe news

FORECAST = "budget of the organization is forecast to pass $2,000.00"
#: Daily runs against one state file, in order: $100 a day against a $2,000 budget.
RUNS = [
    # 40% spent, forecast $3,100: the forecast overrun, once for the month
    ("2025-03-08", [(FORECAST, "warning")]),
    ("2025-03-09", []),
    # 45% -> 120%: one "over budget" message, not 50%, 80% and 100%
    ("2025-03-24", [("budget of the organization passed 100%", "failure")]),
    ("2025-03-25", []),  # 50% and 80% were recorded with it: never sent later
    # a new month: its own forecast overrun, then its thresholds
    ("2025-04-05", [(FORECAST, "warning")]),
    ("2025-04-11", [("budget of the organization passed 50%", "warning")]),
]


def test_notify__one_message_per_budget_per_run_the_most_severe_news(receiver, tmp_path):
    table = daily_table(days=70)  # 2025-02-08 to 2025-04-18
    path = tmp_path / "state.json"
    [target] = make_targets([receiver.url])
    budgets = [Budget("organization", None, 2000.0)]
    for day, expected in RUNS:
        receiver.posts.clear()
        report = evaluate(table, budgets, date.fromisoformat(day))
        now = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(days=1)
        notify(report, [target], path, now=now)
        got = [(b["title"].removeprefix("OpenAI spend: "), b["type"]) for b in receiver.delivered]
        assert got == expected, day
    sent = set(AlertState.load(path).sent)
    assert {f"budget:2025-03:organization:-:{t}" for t in (50, 80, 100)} <= sent
    assert {"forecast:2025-03:organization:-", "forecast:2025-04:organization:-"} <= sent


def test_notify__mattermost_text_is_escaped_as_the_markdown_it_shows(receivers, tmp_path):
    """Mattermost takes plain text only, and shows it as Markdown: the names are escaped as
    Markdown and handed over as text (Apprise would otherwise turn Markdown back into text)."""
    receiver = receivers()
    [target] = make_targets([f"mmost://127.0.0.1:{receiver.server.server_port}/tokenabc"])
    assert (target.dialect.name, target.dialect.declared) == ("markdown", "text")
    state = AlertState(tmp_path / "state.json")
    sent, failed = deliver(
        messages_for(hostile_report()), [target], state, now=datetime(2026, 6, 20, tzinfo=UTC)
    )
    assert failed == [] and len(receiver.delivered) == 2
    for body in receiver.delivered:
        text = body["text"]
        assert r"\<\!channel\> \[Reset your key\]\(https\:\/\/evil\.example\)" in text
        links = Anchors(markdown.markdown(text)).hrefs
        assert len(links) == 1 and links[0].startswith(APP_URL + "/"), links


# ---- where things live

ROOT = Path(__file__).resolve().parents[1]


def test_layout__frame_serves_each_page_at_its_route():
    """frame.py reads each page's ``url_path`` from ``spend.routes`` (the table the messages'
    links use), and the table names every page file."""
    from spend import routes

    tree = ast.parse((ROOT / "frame.py").read_text())
    served = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page":
            path = node.args[0].value
            given = {k.arg: k.value for k in node.keywords}
            if "url_path" in given:
                served[path] = ast.unparse(given["url_path"])
            else:  # only the default page has none: it is served at "/"
                assert ast.unparse(given["default"]) == "True" and routes.URL_PATHS[path] == ""
    assert served == {
        path: f"routes.URL_PATHS[{path!r}]" for path, url in routes.URL_PATHS.items() if url
    }
    assert set(routes.URL_PATHS) == {
        f"app_pages/{p.name}" for p in (ROOT / "app_pages").glob("*.py")
    }
    assert set(routes.SCOPE_PAGES.values()) <= set(routes.URL_PATHS)


@pytest.mark.parametrize(
    "path", sorted((ROOT / "spend").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_layout__only_the_command_line_imports_argparse_and_ui_no_command(path):
    text = path.read_text()
    if path.name not in ("cli.py", "__main__.py"):
        assert not re.search(r"^\s*(import|from) argparse\b", text, re.M)
    if "ui" in path.relative_to(ROOT / "spend").parts:
        assert not re.search(r"^\s*(import|from) spend(\.cli\b| import .*\bcli\b)", text, re.M)


def test_alerts__a_rate_limited_spend_control_is_the_error_it_is(org, tmp_path):
    """Only a 403 or 404 means "not available": a 429 that outlasts the retries is said as a
    rate limit, and the budgets and figures that were read still stand."""
    org.fail_next(10, status=429, retry_after="1", path_prefix="/v1/organization/spend_limit")
    env = env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY)
    env["SPEND_BUDGETS_FILE"] = write_budgets(tmp_path, org)
    code, out, err = run(["--as-of", AS_OF, "--json"], env)
    assert code == 0, err
    assert "spend limits and alerts not read: OpenAI's rate limit (429)" in err
    assert "spend limit for the organization could not be read" not in err
    assert sum(entry["origin"] == "file" for entry in json.loads(out)["budgets"]) == 3


def test_alerts__spend_controls_are_planned_and_a_rerun_reads_them_stored(org, tmp_path):
    env = env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY)
    first = json.loads(run(["--as-of", AS_OF, "--json"], env)[1])
    asked = org.count("/v1/organization/spend_limit")
    assert asked == 1
    again = json.loads(run(["--as-of", AS_OF, "--json"], env)[1])
    assert org.count("/v1/organization/spend_limit") == asked  # fresh for 10 minutes: stored
    assert first["budgets"] == again["budgets"] and first["budgets"]


def test_alerts__a_spend_limit_removed_since_the_last_run_counts_no_more(org, tmp_path):
    """A stored limit, then OpenAI answers 404 (none set): the refusal wins over the stored
    answer, which is forgotten."""
    env = env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY)
    clock = FakeClock(time.time())
    first = json.loads(run(["--as-of", AS_OF, "--json"], env, clock)[1])
    assert ("spend_limit", "organization") in [(b["kind"], b["scope"]) for b in first["budgets"]]
    org.configure(spend_limit_cents=None)
    clock.advance(NON_FINAL_TTL + 1)  # the stored answer is no longer fresh: asked again
    code, out, err = run(["--as-of", AS_OF, "--json"], env, clock)
    assert code == 0, err
    kinds = [(b["kind"], b["scope"]) for b in json.loads(out)["budgets"]]
    assert ("spend_limit", "organization") not in kinds
    assert "OpenAI's spend limit for the organization" in err and "(HTTP 404)" in err


def test_alerts__every_source_failing_is_the_commands_error(org, tmp_path):
    env = env_for(
        org,
        tmp_path,
        OPENAI_ADMIN_KEY="sk-admin-WrongWrongWrongWrong0000",
        ANTHROPIC_ADMIN_KEY="sk-ant-admin01-WrongWrongWrong",
        ANTHROPIC_BASE_URL=org.base_url.removesuffix("/v1"),  # answers 404: not Anthropic's API
    )
    code, out, err = run(["--as-of", AS_OF], env)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and "OpenAI Usage and Costs APIs (admin key): " in err
    assert "Wrong" not in err


def test_state_path__one_file_per_set_of_credentials(tmp_path):
    settings = Settings(api_key=ADMIN_KEY, cache_dir=tmp_path)
    openai_only = state_path(settings, [settings.fingerprint])
    assert openai_only == state_path(settings)  # an OpenAI key's file keeps its name
    both = state_path(settings, [settings.fingerprint, "anthropic-fp"])
    anthropic_only = state_path(settings, ["anthropic-fp"])
    assert len({openai_only, both, anthropic_only}) == 3
    assert both == state_path(settings, ["anthropic-fp", settings.fingerprint])  # any order
