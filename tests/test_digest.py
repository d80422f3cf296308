"""``python -m spend digest``: ``build_digest`` on small tables, its rendering in each format (API
strings arrive inert), and end to end against the fake OpenAI server with a webhook receiver on
127.0.0.1 (``tests/test_alerts.py``'s ``Receiver``)."""

from __future__ import annotations

import argparse
import io
import json
import time
from datetime import UTC, date, datetime
from pathlib import Path

import markdown
import pandas as pd
import pytest
import yaml

from spend.budgets import Budget
from spend.cli import add_digest_parser, build_parser, main, run_digest
from spend.digest import Digest, build_digest, period_bounds
from spend.notify import digest_message, digest_text, make_targets, send_digest
from spend.report import evaluate, organization_month, watch
from spend.schema import conform
from tests.clock import FakeClock
from tests.fake_openai import ADMIN_KEY
from tests.test_alerts import AS_OF, END, Anchors, Receiver, env_for

APP_URL = "https://spend.example.com"
ROOT = Path(__file__).resolve().parents[1]


# ---- small tables


def rows(first: str, last: str, usd: float | None, **columns) -> pd.DataFrame:
    """One usage row a day from ``first`` to ``last``, ``usd`` each (None: unpriced), for user
    Ada on gpt-4o in project Research unless ``columns`` say otherwise (``billed_usd``, ``team``,
    ``cost_basis``, token counts...)."""
    days = pd.date_range(first, last, freq="D")
    data = {
        "date": days,
        "cost_usd": usd,
        "cost_basis": "estimated" if usd is not None else "unpriced",
        "n_requests": 1,
        "user_id": "user-ada",
        "user_name": "Ada",
        "model": "gpt-4o-2024-08-06",
        "model_family": "gpt-4o",
        "project_id": "proj_r",
        "project_name": "Research",
    }
    data.update(columns)
    return pd.DataFrame(data, index=range(len(days)))


def table(*parts: pd.DataFrame) -> pd.DataFrame:
    return conform(pd.concat(parts, ignore_index=True))


def digest_of(frame, period="week", as_of=AS_OF, budgets=(), **options) -> Digest:
    return build_digest(frame, period, as_of, budgets, app_url=APP_URL, **options)


# ---- the period and what it is compared with


@pytest.mark.parametrize(
    "period, as_of, expected",
    [
        ("week", date(2026, 6, 19), (date(2026, 6, 13), date(2026, 6, 19))),
        ("month", date(2026, 6, 19), (date(2026, 6, 1), date(2026, 6, 19))),
        ("month", date(2026, 6, 1), (date(2026, 6, 1), date(2026, 6, 1))),
    ],
)
def test_period_bounds__table(period, as_of, expected):
    assert period_bounds(period, as_of) == expected


@pytest.mark.parametrize(
    "parts, period, as_of, expected",
    [
        # a week: the 7 days ending as_of against the 7 before ($10 a day, then $20)
        (
            [rows("2026-05-01", "2026-06-12", 10.0), rows("2026-06-13", "2026-06-19", 20.0)],
            "week",
            date(2026, 6, 19),
            {
                "label": "Jun 13–19 vs Jun 6–12: the week just before",
                "previous": (date(2026, 6, 6), date(2026, 6, 12)),
                "per_day": False,
                "spend_usd": 140.0,
                "previous_usd": 70.0,
                "change_usd": 70.0,
                "change_pct": 1.0,
            },
        ),
        # a month to date: as many days of the same weekdays before it
        (
            [rows("2026-04-01", "2026-06-10", 10.0)],
            "month",
            date(2026, 6, 10),
            {
                "label": "Jun 1–10 vs May 18–27: the same weekdays 2 weeks earlier",
                "previous": (date(2026, 5, 18), date(2026, 5, 27)),
                "per_day": False,
                "spend_usd": 100.0,
                "previous_usd": 100.0,
                "change_usd": 0.0,
                "change_pct": 0.0,
            },
        ),
        # a whole month against the month before, per day: $12 a day in June, $10 in May
        (
            [rows("2026-05-01", "2026-05-31", 10.0), rows("2026-06-01", "2026-06-30", 12.0)],
            "month",
            date(2026, 6, 30),
            {
                "label": "June vs May, per day",
                "previous": (date(2026, 5, 1), date(2026, 5, 31)),
                "per_day": True,
                "spend_usd": 360.0,
                "previous_usd": 310.0,
                "current_usd": 12.0,
                "compared_usd": 10.0,
                "change_usd": 2.0,
                "change_pct": 0.2,
            },
        ),
    ],
    ids=["week", "month-to-date", "whole-month"],
)
def test_build_digest__spend_like_for_like(parts, period, as_of, expected):
    spend = digest_of(table(*parts), period, as_of).spend
    assert spend.label == expected.pop("label")
    assert (spend.previous_start, spend.previous_end) == expected.pop("previous")
    assert {name: getattr(spend, name) for name in expected} == expected
    assert spend.basis == "estimated" and spend.link == (
        f"{APP_URL}/?range=custom&start={spend.start}&end={spend.end}"
    )
    # and the message says what is compared with what
    text = digest_text(digest_of(table(*parts), period, as_of))
    assert f"({spend.label})." in text
    assert ("a day against" in text) == spend.per_day


def test_build_digest__days_after_as_of_do_not_count():
    frame = table(rows("2026-06-01", "2026-06-30", 10.0))
    assert digest_of(frame).spend.spend_usd == 70.0


# ---- movers


def movers_table(**extra) -> pd.DataFrame:
    """Jun 6–12 then Jun 13–19: Ada $10 -> $20 a day, Bob $10 -> $5, Cy $3 -> $3, Dee new at $4,
    and org-level usage with no user; Ada's name changed to "Ada L." this week."""
    before, now = ("2026-06-06", "2026-06-12"), ("2026-06-13", "2026-06-19")
    bob = {"user_id": "user-bob", "user_name": "Bob", "model": "o3", "model_family": "o3"}
    cy = {"user_id": "user-cy", "user_name": "Cy", "project_id": "proj_s", "project_name": "S"}
    dee = {"user_id": "user-dee", "user_name": "Dee", "model": "o3", "model_family": "o3"}
    nobody = {"user_id": None, "user_name": None}
    return table(
        rows(*before, 10.0, **extra),
        rows(*now, 20.0, **{**extra, "user_name": "Ada L."}),
        rows(*before, 10.0, **bob),
        rows(*now, 5.0, **bob),
        rows(*before, 3.0, **cy),
        rows(*now, 3.0, **cy),
        rows(*now, 4.0, **dee),
        rows(*before, 1.0, **nobody),
        rows(*now, 9.0, **nobody),
    )


def test_build_digest__top_movers_by_change_in_money():
    digest = digest_of(movers_table())
    got = [(m.dimension, m.id, m.name, m.change_usd, m.change_pct) for m in digest.movers]
    assert got == [
        # users: Cy did not change; the rows without a user are no mover
        ("user", "user-ada", "Ada L.", 70.0, 1.0),
        ("user", "user-bob", "Bob", -35.0, -0.5),
        ("user", "user-dee", "Dee", 28.0, None),  # new: nothing before
        # models: gpt-4o is Ada's, Cy's and the org-level rows' (+70 + 56), o3 Bob's and Dee's
        ("model", "gpt-4o-2024-08-06", None, 126.0, round(126.0 / 98.0, 4)),
        ("model", "o3", None, -7.0, -0.1),
        # projects: Research holds all but Cy's
        ("project", "proj_r", "Research", 119.0, round(119.0 / 147.0, 4)),
    ]
    ada = digest.movers[0]
    assert (ada.spend_usd, ada.previous_usd) == (140.0, 70.0)
    assert ada.link == (
        f"{APP_URL}/users?range=custom&start=2026-06-13&end=2026-06-19&user=user-ada"
    )
    assert [m.id for m in digest_of(movers_table(), top=1).movers] == [
        "user-ada",
        "gpt-4o-2024-08-06",
        "proj_r",
    ]
    text = digest_text(digest)
    assert "Top movers (estimated from token prices):" in text
    assert "• user Ada L. (user-ada): +$70.00 (+100.0%), $140.00 against $70.00." in text
    assert "• user Dee (user-dee): +$28.00 (new), $28.00 against $0.00." in text


def test_build_digest__movers_compare_a_whole_month_per_day():
    # Ada: $10 a day in May (31 days), $11 in June (30): +$1 a day, though June's total is less
    frame = table(rows("2026-05-01", "2026-05-31", 10.0), rows("2026-06-01", "2026-06-30", 11.0))
    digest = digest_of(frame, "month", date(2026, 6, 30))
    ada = next(m for m in digest.movers if m.dimension == "user")
    assert (ada.spend_usd, ada.previous_usd, ada.change_usd) == (330.0, 310.0, 1.0)
    assert "Top movers per day" in digest_text(digest)
    assert "+$1.00 a day (+10.0%), $330.00 against $310.00." in digest_text(digest)


def test_build_digest__a_team_column_adds_team_movers_and_team_filters():
    frame = movers_table(team="Research")
    others = frame["user_id"].astype("string").isin(["user-bob", "user-dee"]).fillna(False)
    frame.loc[others.to_numpy(), "team"] = "Platform"
    digest = digest_of(frame)
    teams = {(m.id, m.change_usd) for m in digest.movers if m.dimension == "team"}
    assert teams == {("Research", 70.0), ("Platform", -7.0)}

    mine = digest_of(frame, team="Platform", budgets=[Budget("organization", None, 100.0)])
    assert mine.team == "Platform" and mine.event == "digest:week:2026-06-19:Platform"
    assert (mine.spend.spend_usd, mine.spend.previous_usd) == (63.0, 70.0)
    assert {m.dimension for m in mine.movers} == {"user", "model", "project"}  # no team movers
    assert {m.id for m in mine.movers if m.dimension == "user"} == {"user-bob", "user-dee"}
    assert mine.budgets == []  # the organization's budget is not the team's
    assert "weekly digest, Jun 13–19, team Platform" in digest_text(mine)
    with pytest.raises(ValueError, match="no team column"):
        digest_of(movers_table(), team="Platform")


# ---- spike, savings, budgets: the alerts' own objects


@pytest.mark.parametrize(
    "spike_day, found", [("2026-06-17", True), ("2026-06-08", False)], ids=["in-week", "before"]
)
def test_build_digest__the_largest_spike_of_the_period(spike_day, found):
    ada = rows("2026-04-01", "2026-06-19", 10.0)
    ada.loc[ada["date"] == spike_day, "cost_usd"] = 80.0
    bob = rows("2026-04-01", "2026-06-19", 90.0, user_id="user-bob", user_name="Bob")
    bob.loc[bob["date"] == spike_day, "cost_usd"] = 100.0  # +10: not a spike of Bob's
    frame = table(ada, bob)
    digest = digest_of(frame)
    if not found:
        assert digest.spike is None and "No spike in Jun 13–19." in digest_text(digest)
        return
    spikes = watch(frame, AS_OF, spike_days=7, app_url=APP_URL).spikes
    assert len(spikes) > 1  # Ada's user spike, and the same day's on the model and project
    assert digest.spike in spikes
    assert (digest.spike.dimension, digest.spike.id) in {
        ("user", "user-ada"),
        ("model", "gpt-4o-2024-08-06"),
        ("project", "proj_r"),
    }
    assert digest.spike.cost_usd - digest.spike.typical_usd == max(
        s.cost_usd - s.typical_usd for s in spikes
    )
    assert digest.spike.link.startswith(f"{APP_URL}/") and "start=2026-06-17" in digest.spike.link
    assert "Largest spike: " in digest_text(digest)


def test_build_digest__savings_and_budgets_are_the_alerts():
    cached = {"input_tokens": 2_000_000, "cached_input_tokens": 1_000_000, "output_tokens": 10}
    frame = table(rows("2026-04-01", "2026-06-19", 10.0, **cached))
    budgets = [Budget("organization", None, 150.0), Budget("user", "user-ada", 1000.0)]
    digest = digest_of(frame, budgets=budgets)
    report = evaluate(frame, budgets, AS_OF, app_url=APP_URL)
    assert digest.budgets == report.budgets  # the entries the alerts send
    assert digest.saved.cached_input_usd == report.watch.cached_input_saved > 0
    assert digest.saved.batch_usd == report.watch.batch_saved
    assert (digest.saved.start, digest.saved.end) == (date(2026, 6, 1), AS_OF)
    month = digest.month
    assert (month.spent_usd, month.enough_history, month.forecast_usd) == (190.0, True, 300.0)
    assert month.link == f"{APP_URL}/budgets?range=custom&start=2026-06-01&end=2026-06-19"
    text = digest_text(digest)
    assert "Month to date (Jun 1–19): $190.00 estimated from token prices; " in text
    assert "forecast for the month $300.00" in text
    assert "• budget of the organization: $190.00 of $150.00 (126.7%, estimated from" in text
    assert "over budget" in text
    assert "• budget of user Ada (user-ada): $190.00 of $1,000.00 (19%" in text
    assert f"Saved Jun 1–19: cached input {'$'}" in text
    assert digest_message(digest).severity == "warning"  # a budget is over


# ---- empty periods and money bases


def test_build_digest__empty_period_is_said_not_zeroed():
    frame = table(rows("2026-05-01", "2026-06-12", 10.0))
    digest = digest_of(frame)
    spend = digest.spend
    assert (spend.rows, spend.spend_usd, spend.previous_usd, spend.change_pct) == (
        0,
        0.0,
        70.0,
        -1.0,
    )
    text = digest_text(digest)
    assert text.splitlines()[1].startswith(
        "No usage in Jun 13–19 ($0.00), -$70.00 (-100.0%) against $70.00 in Jun 6–12"
    )
    assert [(m.dimension, m.change_usd) for m in digest.movers][0] == ("user", -70.0)

    nothing = digest_of(conform(pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]")})))
    assert (nothing.spend.rows, nothing.spend.change_pct, nothing.movers) == (0, None, [])
    assert (nothing.month.spent_usd, nothing.month.enough_history) == (0.0, False)
    assert nothing.spike is None
    assert "No usage in Jun 13–19 ($0.00)" in digest_text(nothing)
    assert "not enough history yet for a month-end forecast" in digest_text(nothing)
    assert "No change by user, model or project." in digest_text(nothing)


WEEK = ("2026-06-13", "2026-06-19")


@pytest.mark.parametrize(
    "parts, basis, spend_usd, estimated_usd, said",
    [
        ([rows(*WEEK, 10.0)], "estimated", 70.0, 70.0, "$70.00 estimated from token prices"),
        # billed money allocated to every row: that is the spend, the estimate is not
        ([rows(*WEEK, 10.0, billed_usd=12.5)], "billed", 87.5, 0.0, "$87.50 as billed"),
        # the last two days not billed yet: billed where billed, the rest estimated, said so
        (
            [
                rows("2026-06-13", "2026-06-17", 10.0, billed_usd=12.5),
                rows("2026-06-18", AS_OF, 10.0),
            ],
            "mixed",
            82.5,
            20.0,
            "$82.50 as billed, $20.00 of it estimated from token prices (not billed yet)",
        ),
        # the cost report's own rows carry money already on the usage rows: never counted twice
        (
            [
                rows(*WEEK, 10.0, billed_usd=12.5),
                rows(*WEEK, 12.5, cost_basis="billed", user_id=None),
            ],
            "billed",
            87.5,
            0.0,
            "$87.50 as billed",
        ),
        # unattributed billed money (no user, cost 0) counts; a row with no price is not $0
        (
            [
                rows(*WEEK, 10.0, billed_usd=12.5),
                rows(*WEEK, 0.0, billed_usd=1.0, user_id=None, model=None),
                rows(*WEEK, None),
            ],
            "billed",
            94.5,
            0.0,
            "$94.50 as billed",
        ),
    ],
    ids=["estimated", "billed", "mixed", "billed-rows", "unattributed-unpriced"],
)
def test_build_digest__billed_where_billed_and_labelled(
    parts, basis, spend_usd, estimated_usd, said
):
    frame = table(rows("2026-06-06", "2026-06-12", 10.0), *parts)
    digest = digest_of(frame)
    spend = digest.spend
    assert (spend.basis, spend.spend_usd, spend.estimated_usd) == (basis, spend_usd, estimated_usd)
    assert spend.previous_basis == "estimated"
    text = digest_text(digest)
    assert f"Spend Jun 13–19: {said}," in text
    if basis != "estimated":  # the week before had no billed money: its basis is said
        assert "against $70.00 in Jun 6–12 (estimated from token prices then)" in text
    unpriced = sum(part["cost_usd"].isna().sum() for part in parts)
    assert spend.unpriced_rows == unpriced
    assert (f"{unpriced} usage rows have no price and are not counted." in text) == bool(unpriced)


# ---- the JSON form


def test_digest__json_schema():
    frame = table(rows("2026-04-01", "2026-06-19", 10.0, billed_usd=11.0))
    digest = digest_of(frame, budgets=[Budget("organization", None, 500.0)])
    document = json.loads(digest.to_json())
    assert list(document) == [
        "period", "as_of", "team", "spend", "month", "budgets", "movers", "movers_basis",
        "spike", "saved", "notices", "notified", "failed",
    ]  # fmt: skip
    assert (document["period"], document["as_of"], document["team"]) == ("week", "2026-06-19", None)
    assert set(document["spend"]) == {
        "start", "end", "previous_start", "previous_end", "label", "per_day", "spend_usd",
        "previous_usd", "current_usd", "compared_usd", "change_usd", "change_pct", "basis",
        "estimated_usd", "previous_basis", "unpriced_rows", "rows", "link", "previous_link",
    }  # fmt: skip
    assert document["spend"]["start"] == "2026-06-13" and document["spend"]["basis"] == "billed"
    assert set(document["month"]) == {
        "month", "start", "end", "spent_usd", "basis", "enough_history", "forecast_usd",
        "forecast_low", "forecast_high", "link",
    }  # fmt: skip
    assert document["budgets"][0]["key"] == "organization:-"
    assert document["movers"] == []  # nothing changed
    assert document["movers_basis"] == "billed" and document["spike"] is None
    assert set(document["saved"]) == {
        "start", "end", "cached_input_usd", "batch_usd", "cached_input_share", "unpriced_rows",
        "link",
    }  # fmt: skip


# ---- escaping: API strings arrive inert in every format

HOSTILE = {
    "model": "*bold* <script>alert(1)</script>",
    "user_name": "[link](http://x) <!channel>",
    "project_name": "_it_ <b>x</b> & ![img](http://x/i.png)",
}
TEAM = "<i>Ops</i> [t](http://x)"


def hostile_digest() -> Digest:
    frame = table(
        rows("2026-04-01", "2026-06-12", 10.0, team=TEAM, **HOSTILE),
        rows(*WEEK, 30.0, team=TEAM, **HOSTILE),
    )
    return digest_of(frame, team=TEAM)


def inert_html(html_text: str) -> None:
    """No element but our links and line breaks, and those links go into the app."""
    for tag in ("<script", "<b>", "<i>", "<em>", "<strong>", "<img"):
        assert tag not in html_text, tag
    assert all(href.startswith(APP_URL + "/") for href in Anchors(html_text).hrefs)


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(reply: bytes = b"") -> Receiver:
        made.append(Receiver(reply))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.mark.parametrize("query", ["", "?format=markdown", "?format=html"])
def test_send_digest__api_strings_are_inert_in_each_format(receivers, query):
    receiver = receivers()
    [target] = make_targets([receiver.url + query])
    digest = hostile_digest()
    sent, failed = send_digest(digest, [target])
    assert (sent, failed) == ([target.label], [])
    [body] = receiver.delivered
    text, title = body["message"], body["title"]
    links = len([line for line in digest_text(digest).splitlines() if f" · {APP_URL}/" in line])
    if target.dialect.name == "text":  # JSON-encoded plain text: the names as they are
        for name in HOSTILE.values():
            assert name in text
        assert title == f"OpenAI spend: weekly digest, Jun 13–19, team {TEAM}"
    elif target.dialect.name == "markdown":
        assert r"\*bold\* \<script\>alert\(1\)\<\/script\>" in text
        assert r"\[link\]\(http\:\/\/x\) \<\!channel\>" in text
        shown = markdown.markdown(text)
        inert_html(shown)
        assert len(Anchors(shown).hrefs) == links
    else:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "_it_ &lt;b&gt;x&lt;/b&gt; &amp; ![img](http://x/i.png)" in text
        inert_html(text)
        assert len(Anchors(text).hrefs) == links
    assert links >= 5  # spend, month, movers, savings link into the app


def test_send_digest__slack_and_mattermost_get_no_markup_from_a_name(receivers, monkeypatch):
    from apprise.plugins.slack import NotifySlack

    slack = receivers(reply=b"ok")
    monkeypatch.setattr(
        NotifySlack, "webhook_url", f"http://127.0.0.1:{slack.server.server_port}/services"
    )
    mattermost = receivers()
    targets = make_targets(
        [
            "slack://T1ABCDEFG/B2HIJKLMN/C3abcdefghijklmnopqrstuv",
            f"mmost://127.0.0.1:{mattermost.server.server_port}/tokenabc",
        ]
    )
    assert [t.dialect.name for t in targets] == ["slack", "markdown"]
    digest = hostile_digest()
    assert send_digest(digest, targets)[1] == []
    [payload] = slack.delivered
    [attachment] = payload["attachments"]
    text = attachment["text"]
    assert "&lt;script&gt;" in text and "<script" not in text and "&lt;!channel&gt;" in text
    links = len([line for line in digest_text(digest).splitlines() if f" · {APP_URL}/" in line])
    assert text.count("<") == links  # Slack's <url|label>: only ours
    assert "[link](http://x)" in text  # shown, not linked
    [body] = mattermost.delivered
    shown = markdown.markdown(body["text"])
    inert_html(shown)
    assert len(Anchors(shown).hrefs) == links


# ---- end to end: the fake OpenAI server, the command, a webhook on 127.0.0.1


def run(argv, env, clock=None):
    parser = argparse.ArgumentParser(prog="python -m spend")
    add_digest_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["digest", *map(str, argv)])
    out, err = io.StringIO(), io.StringIO()
    clock = clock or FakeClock(time.time())  # the fake org's days are all final by now
    code = run_digest(args, environ=env, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def org(fake_openai):
    fake_openai.reset(days=80, end_date=END, spend_limit_cents=10_000_000)
    return fake_openai


def test_digest__end_to_end_one_message_to_the_webhook(org, receivers, tmp_path):
    receiver = receivers()
    env = env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY, SPEND_APP_URL=APP_URL)
    argv = ["--period", "week", "--as-of", AS_OF, "--notify", receiver.url, "--json"]
    code, out, err = run(argv, env)
    assert code == 0, err
    digest = json.loads(out)
    spend = digest["spend"]
    assert (spend["start"], spend["end"]) == ("2026-06-13", "2026-06-19")
    assert (spend["previous_start"], spend["previous_end"]) == ("2026-06-06", "2026-06-12")
    # billed where billed: the billed money allocated to usage adds up to the cost report's
    assert spend["basis"] == "billed"
    billed = float(org.costs_total(date(2026, 6, 13), AS_OF))
    assert spend["spend_usd"] == pytest.approx(billed, abs=0.01)
    before = float(org.costs_total(date(2026, 6, 6), date(2026, 6, 12)))
    assert spend["previous_usd"] == pytest.approx(before, abs=0.01)
    assert digest["month"]["enough_history"] and digest["month"]["basis"] == "billed"
    assert {m["dimension"] for m in digest["movers"]} == {"user", "model", "project"}
    assert [b["kind"] for b in digest["budgets"]] == ["spend_limit"]  # OpenAI's own hard limit
    assert digest["notified"] == [receiver.url] and digest["failed"] == []

    [body] = receiver.posts  # one message
    message = body[1]["message"]
    assert body[1]["title"] == "OpenAI spend: weekly digest, Jun 13–19"
    assert f"Spend Jun 13–19: ${spend['spend_usd']:,.2f} as billed" in message
    assert "(Jun 13–19 vs Jun 6–12: the week just before)" in message
    assert f"{APP_URL}/?range=custom&start=2026-06-13&end=2026-06-19" in message
    assert f"{APP_URL}/users?range=custom&start=2026-06-13&end=2026-06-19&user=" in message
    assert "Top movers (as billed):" in message and "Saved Jun 1–19: " in message
    everything = out + err + json.dumps(receiver.posts)
    assert ADMIN_KEY not in everything and ADMIN_KEY[9:] not in everything
    # without --json: the message's text
    code, out, err = run(argv[:-1], env)
    assert code == 0 and out.startswith("OpenAI spend: weekly digest, Jun 13–19\nSpend Jun 13–19")
    assert "sent the digest to 1 target(s)" in err and len(receiver.delivered) == 2


def test_digest__a_refused_delivery_exits_4_naming_the_target(org, receivers, tmp_path):
    good, down = receivers(), receivers()
    down.fail_next(1)
    env = env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY)
    argv = ["--as-of", AS_OF, "--notify", good.url, "--notify", down.url, "--json"]
    code, out, err = run(argv, env)
    assert code == 4
    assert json.loads(out)["failed"] == [down.url] and len(good.delivered) == 1
    assert f"error: the digest was not delivered to {down.url}" in err
    assert ADMIN_KEY not in out + err
    assert not (tmp_path / "cache" / "alerts").exists()  # a digest keeps no state


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--notify", "not a url"], "--notify URL 1 (scheme '(none)')"),
        (["--as-of", "2200-01-01"], "is not a complete day yet"),
        (["--history-days", "-1"], "--history-days must be 0 or more"),
    ],
)
def test_digest__bad_arguments_are_one_line_before_fetching(org, tmp_path, argv, message):
    code, out, err = run(argv, env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY))
    assert code == 1 and err.startswith("error: ") and message in err and err.count("\n") == 1
    assert org.requests == []


def test_digest__each_team_gets_its_own_digest_at_its_own_target(org, receivers, tmp_path):
    """A real teams file (``SPEND_TEAMS_FILE``): a team per project, each with its own target."""
    names = sorted({p.name for p in org.world.projects})[:2]
    inboxes = {name: receivers() for name in names}
    teams_file = tmp_path / "teams.toml"
    teams_file.write_text(
        "".join(
            f'[[team]]\nname = "{name}"\nprojects = ["{name}"]\nnotify = "{inboxes[name].url}"\n'
            for name in names
        )
    )
    env = env_for(org, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY, SPEND_TEAMS_FILE=str(teams_file))
    budgets = tmp_path / "budgets.toml"  # a team's budget, and the organization's
    budgets.write_text(
        f'[[budget]]\nscope = "team"\nid = "{names[0]}"\nmonthly_usd = 1\n'
        '[[budget]]\nscope = "organization"\nmonthly_usd = 100000\n'
    )
    argv = ["--each-team", "--as-of", AS_OF, "--json", "--budgets", str(budgets)]
    code, out, err = run(argv, env)
    assert code == 0, err
    digests = json.loads(out)
    assert [d["team"] for d in digests] == names
    [mine] = digests[0]["budgets"]  # only the team's own budget, measured on its rows
    assert (mine["scope"], mine["id"], mine["known"]) == ("team", names[0], True)
    assert mine["spent_usd"] > 0 and digests[1]["budgets"] == []
    for name, digest in zip(names, digests, strict=True):
        [body] = inboxes[name].delivered
        assert body["title"] == f"OpenAI spend: weekly digest, Jun 13–19, team {name}"
        assert digest["notified"] == [inboxes[name].url]
        assert {m["name"] for m in digest["movers"] if m["dimension"] == "project"} <= {name}
    # one team by name: only its inbox (and --notify) gets it
    code, out, err = run(["--team", names[0], "--as-of", AS_OF, "--json"], env)
    assert code == 0 and json.loads(out)["team"] == names[0]
    assert [len(inboxes[n].delivered) for n in names] == [2, 1]
    code, _, err = run(["--team", "Nobody", "--as-of", AS_OF], env)
    assert code == 1 and "no such team" in err


# ---- the docs


def test_readme__digest_cron_line_and_workflow():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "0 8 * * MON" in readme and "python -m spend digest --period week" in readme
    assert "docs/digest-workflow.yml" in readme
    workflow = yaml.safe_load((ROOT / "docs" / "digest-workflow.yml").read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))
    assert {"schedule", "workflow_dispatch"} <= set(triggers)
    [step] = [
        s for job in workflow["jobs"].values() for s in job["steps"] if "digest" in s.get("run", "")
    ]
    # the command the workflow runs parses as this command line parses it
    command = step["run"].split("python -m spend ", 1)[1].replace('"$WEBHOOK_URL"', "json://x")
    args = build_parser().parse_args(command.split())
    assert args.command == "digest" and args.notify == ["json://x"]
    assert step["env"]["OPENAI_ADMIN_KEY"] == "${{ secrets.OPENAI_ADMIN_KEY }}"
    assert "secrets." in step["env"]["WEBHOOK_URL"]


def test_main__digest_of_the_demo_month_per_day(tmp_path):
    """Through ``main`` (as ``python -m spend digest``), the demo source, no network: on Dec 1
    the month just ended, against October per day."""
    clock = FakeClock(datetime(2026, 12, 1, 8, tzinfo=UTC).timestamp())
    out, err = io.StringIO(), io.StringIO()
    argv = ["digest", "--source", "demo", "--period", "month", "--json"]
    env = {"SPEND_CACHE_DIR": str(tmp_path / "cache")}
    code = main(argv, environ=env, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    assert code == 0, err.getvalue()
    digest = json.loads(out.getvalue())
    assert (digest["period"], digest["as_of"]) == ("month", "2026-11-30")
    assert digest["spend"]["label"] == "November vs October, per day"
    assert digest["spend"]["per_day"] and digest["spend"]["basis"] == "estimated"
    assert digest["spend"]["spend_usd"] > 0 and digest["movers"]


def test_build_digest__the_month_forecast_is_the_overviews():
    """The digest's month-end forecast and band are the Overview card's, the Budgets page's and
    ``alerts``' (``report.organization_month``), also on a table with a quiet fortnight."""
    days = [
        day
        for day in pd.date_range("2026-09-01", "2026-12-04")
        if not pd.Timestamp("2026-10-06") <= day <= pd.Timestamp("2026-10-20")
    ]
    spend = [50.0 + (i * 37) % 100 for i in range(len(days))]
    table = conform(
        pd.DataFrame(
            {
                "date": days,
                "cost_basis": "estimated",
                "cost_usd": spend,
                "model": "gpt-4o",
                "project_id": "proj_1",
                "user_id": "user-1",
                "input_tokens": 1,
                "output_tokens": 1,
                "num_model_requests": 1,
            }
        )
    )
    as_of = date(2026, 12, 4)
    measure, forecast = organization_month(table, as_of)
    month = build_digest(table, "week", as_of).month
    assert month.spent_usd == round(measure.spent_usd, 2)
    assert (month.forecast_usd, month.forecast_low, month.forecast_high) == tuple(
        round(v, 2) for v in (forecast.forecast_usd, forecast.low_usd, forecast.high_usd)
    )
