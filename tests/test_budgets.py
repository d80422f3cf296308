"""Budgets: the TOML file and secrets table, OpenAI's spend controls, and measuring a month."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from spend.budgets import (
    DEFAULT_ALERT_AT,
    EXAMPLE,
    MIXED,
    Budget,
    budgets_from_secrets,
    closest_ids,
    load_budgets,
    measure_budget,
    measure_budgets,
    parse_budgets,
    read_secrets_file,
    secrets_budgets,
)
from spend.cli import add_alerts_parser, run_alerts
from spend.errors import ConfigError
from spend.forecast import crossing_date, forecast_month
from spend.report import evaluate
from spend.schema import conform
from spend.sources.spend_controls import parse_spend_alerts, parse_spend_limit
from tests.clock import FakeClock

GOOD = """\
# team budgets
[[budget]]
scope = "organization"        # organization | project | user | api_key | model
monthly_usd = 1500

[[budget]]
scope = "project"
id = "proj_abc"
name = "Research"
monthly_usd = 800.5
alert_at = [100, 75]
"""


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            GOOD,
            [
                Budget("organization", None, 1500.0, DEFAULT_ALERT_AT, line=2),
                Budget("project", "proj_abc", 800.5, (75, 100), name="Research", line=6),
            ],
        ),
        ("", []),
        ("# nothing yet\n", []),
        (
            '[[budget]]\nscope = "model"\nid = " gpt-4o "\nmonthly_usd = 20\nalert_at = [90.5]\n',
            [Budget("model", "gpt-4o", 20.0, (90.5,), line=1)],
        ),
        (
            '[[budget]]\nscope = "user"\nid = "user-x"\nmonthly_usd = 5\nalert_at = []\n',
            [Budget("user", "user-x", 5.0, (), line=1)],
        ),
        (
            '[[budget]]\nscope="api_key"\nid="key_1"\nmonthly_usd=1\n'
            '[[budget]]\nscope="project"\nid="key_1"\nmonthly_usd=1\n',
            [Budget("api_key", "key_1", 1.0, line=1), Budget("project", "key_1", 1.0, line=5)],
        ),
        (
            '[[budget]]\nscope = "provider"\nid = "anthropic"\nmonthly_usd = 500\n',
            [Budget("provider", "anthropic", 500.0, line=1)],
        ),
    ],
    ids=[
        "two-budgets",
        "empty",
        "comment-only",
        "model-fraction-threshold",
        "no-thresholds",
        "same-id-two-scopes",
        "provider",
    ],
)
def test_parse_budgets__good(text, expected):
    assert parse_budgets(text, source="b.toml") == expected


@pytest.mark.parametrize(
    "text, message",
    [
        (
            GOOD.replace("monthly_usd = 1500", "monthly_usd 1500"),
            "b.toml, line 4, column 13: not valid TOML",
        ),
        (GOOD.replace('"proj_abc"', '"proj_abc'), "b.toml, line 8"),
        (
            GOOD.replace("monthly_usd = 800.5", 'monthly_usd = "800"'),
            "b.toml, line 10 (entry 2): 'monthly_usd' must be a number above 0",
        ),
        (
            GOOD.replace("monthly_usd = 1500", "monthly_usd = 0"),
            "b.toml, line 4 (entry 1): 'monthly_usd'",
        ),
        (GOOD.replace("monthly_usd = 1500", "monthly_usd = -3"), "line 4 (entry 1)"),
        (GOOD.replace("monthly_usd = 1500", ""), "line 2 (entry 1): 'monthly_usd'"),
        (
            GOOD.replace('scope = "project"', 'scope = "tribe"'),
            "line 7 (entry 2): 'scope' must be one of",
        ),
        (GOOD.replace('id = "proj_abc"', ""), "line 6 (entry 2): a project budget needs 'id'"),
        (
            GOOD.replace('id = "proj_abc"', "id = 42"),
            "line 8 (entry 2): a project budget needs 'id'",
        ),
        (
            GOOD.replace("monthly_usd = 1500", 'monthly_usd = 1500\nid = "x"'),
            "line 5 (entry 1): an organization budget takes no 'id'",
        ),
        (
            GOOD.replace("alert_at = [100, 75]", "alert_at = [100, 8000]"),
            "line 11 (entry 2): 'alert_at'",
        ),
        (GOOD.replace("alert_at = [100, 75]", "alert_at = 80"), "line 11 (entry 2): 'alert_at'"),
        (
            GOOD.replace("alert_at = [100, 75]", 'alert_at = ["80%"]'),
            "line 11 (entry 2): 'alert_at'",
        ),
        (
            GOOD.replace("alert_at = [100, 75]", "alert_at = [true]"),
            "line 11 (entry 2): 'alert_at'",
        ),
        (
            GOOD.replace('name = "Research"', "name = 3"),
            "line 9 (entry 2): 'name' must be a string",
        ),
        (
            GOOD.replace("monthly_usd = 800.5", "monthy_usd = 800.5"),
            "line 10 (entry 2): unknown key(s) monthy_usd",
        ),
        (
            GOOD + '\n[[budget]]\nscope = "project"\nid = "proj_abc"\nmonthly_usd = 1\n',
            "line 13 (entry 3): a second budget for project proj_abc (first: line 6 (entry 2))",
        ),
        (GOOD + "\n[settings]\ncurrency = 'EUR'\n", "b.toml: unknown top-level key(s) settings"),
        ('budget = "none"\n', "b.toml: 'budget' must be an array of tables"),
    ],
    ids=[
        "syntax",
        "unclosed-string",
        "amount-is-text",
        "amount-zero",
        "amount-negative",
        "amount-missing",
        "unknown-scope",
        "id-missing",
        "id-not-text",
        "org-with-id",
        "threshold-too-high",
        "thresholds-not-a-list",
        "threshold-text",
        "threshold-bool",
        "name-not-text",
        "typo-key",
        "duplicate",
        "unknown-table",
        "budget-not-tables",
    ],
)
def test_parse_budgets__malformed_names_the_line(text, message):
    with pytest.raises(ConfigError) as caught:
        parse_budgets(text, source="b.toml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("budgets file b.toml")


def test_load_budgets__reads_a_file_and_names_a_missing_one(tmp_path):
    path = tmp_path / "budgets.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert [b.monthly_usd for b in load_budgets(path)] == [1500.0, 800.5]
    with pytest.raises(ConfigError, match=r"budgets file .*nope.toml: no such file"):
        load_budgets(tmp_path / "nope.toml")


class _AttrDict(Mapping):
    """What st.secrets hands out for a table: a read-only mapping that is not a dict."""

    def __init__(self, **values):
        self._values = values

    def __getitem__(self, key):
        value = self._values[key]
        return _AttrDict(**value) if isinstance(value, dict) else value

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)


@pytest.mark.parametrize(
    "table",
    [
        {"budget": [{"scope": "organization", "monthly_usd": 100}]},
        [{"scope": "organization", "monthly_usd": 100}],
        _AttrDict(budget=[_AttrDict(scope="organization", monthly_usd=100)]),
    ],
    ids=["budgets.budget-tables", "budgets-array", "streamlit-attrdict"],
)
def test_budgets_from_secrets__table_forms(table):
    assert budgets_from_secrets(table) == [
        Budget("organization", None, 100.0, DEFAULT_ALERT_AT, origin="secrets")
    ]


@pytest.mark.parametrize(
    "table, message",
    [
        ({"budget": [{"scope": "org", "monthly_usd": 1}]}, "secrets [budgets], entry 1: 'scope'"),
        ({"budget": [{"scope": "organization"}]}, "secrets [budgets], entry 1: 'monthly_usd'"),
        ("1500", "secrets [budgets]: expected [[budget]] tables"),
    ],
)
def test_budgets_from_secrets__malformed_names_the_entry(table, message):
    with pytest.raises(ConfigError) as caught:
        budgets_from_secrets(table)
    assert message in str(caught.value)


# ---- OpenAI's spend controls (amounts in integer cents, monthly, USD)

LIMIT = {
    "object": "organization.spend_limit",
    "threshold_amount": 150000,
    "currency": "USD",
    "interval": "month",
    "enforcement": {"status": "enforcing"},
}


@pytest.mark.parametrize(
    "body, project_id, budgets, notice",
    [
        (
            LIMIT,
            None,
            [
                Budget(
                    "organization",
                    None,
                    1500.0,
                    DEFAULT_ALERT_AT,
                    origin="openai",
                    kind="spend_limit",
                    note="enforcing",
                )
            ],
            None,
        ),
        (
            {
                **LIMIT,
                "object": "project.spend_limit",
                "threshold_amount": 10000,
                "enforcement": {"status": "inactive"},
            },
            "proj_1",
            [
                Budget(
                    "project",
                    "proj_1",
                    100.0,
                    DEFAULT_ALERT_AT,
                    origin="openai",
                    kind="spend_limit",
                    note="inactive",
                )
            ],
            None,
        ),
        ({**LIMIT, "currency": "EUR"}, None, [], "is in EUR, not USD"),
        ({**LIMIT, "interval": "week"}, None, [], "per 'week', not per month"),
        ({**LIMIT, "threshold_amount": "1500.00"}, None, [], "no usable amount"),
        ({**LIMIT, "threshold_amount": 0}, None, [], "no usable amount"),
        (LIMIT, "proj_1", [], "expected a project.spend_limit object"),
        ({"error": {"message": "nope"}}, None, [], "expected a organization.spend_limit object"),
        ([], None, [], "got 'list'"),
    ],
    ids=[
        "org",
        "project",
        "not-usd",
        "not-monthly",
        "amount-text",
        "amount-zero",
        "wrong-object",
        "error-body",
        "list",
    ],
)
def test_parse_spend_limit__bodies(body, project_id, budgets, notice):
    found, notices = parse_spend_limit(body, project_id=project_id)
    assert found == budgets
    assert (notice is None and notices == []) or (len(notices) == 1 and notice in notices[0])
    assert all(b.read_only for b in found)


def _alert(alert_id, cents, obj="organization.spend_alert", **extra):
    return {
        "id": alert_id,
        "object": obj,
        "threshold_amount": cents,
        "currency": "USD",
        "interval": "month",
        "notification_channel": {"type": "email", "recipients": ["finance@example.com"]},
        **extra,
    }


@pytest.mark.parametrize(
    "pages, project_id, amounts, notes, notices",
    [
        (
            [
                {
                    "object": "list",
                    "data": [_alert("a1", 100000), _alert("a2", 250050)],
                    "has_more": False,
                }
            ],
            None,
            [1000.0, 2500.5],
            ["a1", "a2"],
            0,
        ),
        (
            {"object": "list", "data": [_alert("p1", 5000, "project.spend_alert")]},
            "proj_1",
            [50.0],
            ["p1"],
            0,
        ),
        (
            [{"data": [_alert("a1", 100)]}, {"data": [_alert("a2", 200)]}],
            None,
            [1.0, 2.0],
            ["a1", "a2"],
            0,
        ),
        ([{"object": "list", "data": []}], None, [], [], 0),
        (
            [{"data": [_alert("a1", 100, currency="GBP"), _alert("a2", 300)]}],
            None,
            [3.0],
            ["a2"],
            1,
        ),
        ([{"data": [_alert("a1", 100, "project.spend_alert")]}], None, [], [], 1),
        ([{"data": "nope"}], None, [], [], 1),
    ],
    ids=[
        "org-two",
        "project-one-body",
        "two-pages",
        "none",
        "one-not-usd",
        "wrong-object",
        "not-a-list",
    ],
)
def test_parse_spend_alerts__pages(pages, project_id, amounts, notes, notices):
    found, said = parse_spend_alerts(pages, project_id=project_id)
    assert [b.monthly_usd for b in found] == amounts
    assert [b.note for b in found] == notes
    assert len(said) == notices
    assert all(b.kind == "spend_alert" and b.alert_at == (100,) and b.read_only for b in found)
    assert all(b.scope == ("project" if project_id else "organization") for b in found)


def test_budget_key__stable_and_distinct():
    keys = {
        Budget("organization", None, 1.0).key,
        Budget("project", "p", 1.0).key,
        Budget("project", "p", 1.0, origin="openai", kind="spend_limit").key,
        Budget("project", "p", 1.0, origin="openai", kind="spend_alert", note="a1").key,
        Budget("project", "p", 1.0, origin="openai", kind="spend_alert", note="a2").key,
    }
    assert len(keys) == 5
    assert Budget("project", "p", 1.0).key == Budget("project", "p", 9.0, origin="secrets").key


# ---- measuring a month on the usage table


ADA = {"user_id": "user-1", "user_name": "Ada", "user_email": "ada@x.io"}
BOB = {"user_id": "user-2", "user_email": "bob@x.io"}  # no name
GPT4O = {"model": "gpt-4o-2024-08-06", "model_family": "gpt-4o"}
MINI = {"model": "gpt-4o-mini-2024-07-18", "model_family": "gpt-4o-mini"}
FT = {"model": "ft:davinci-002:x", "model_family": "ft:davinci-002"}
PROJ_A = {"project_id": "proj_a", "project_name": "Research"}
PROJ_B = {"project_id": "proj_b"}  # no name
KEY_1 = {"api_key_id": "key_1", "api_key_name": "ci"}
KEY_2 = {"api_key_id": "key_2"}


def _row(day, cost, basis, *parts):
    return {
        "date": day,
        "cost_usd": cost,
        "cost_basis": basis,
        **{k: v for p in parts for k, v in p.items()},
    }


TABLE = conform(
    pd.DataFrame(
        [
            _row("2025-02-27", 500.0, "billed", PROJ_A),  # last month: history only
            _row("2025-03-01", 10.0, "billed", PROJ_A),
            _row("2025-03-02", 20.0, "billed", PROJ_B, KEY_1),
            _row("2025-03-01", 7.0, "estimated", PROJ_A, ADA, KEY_1, GPT4O),
            _row("2025-03-02", 3.0, "estimated", PROJ_B, BOB, KEY_2, MINI),
            _row("2025-03-02", None, "unpriced", PROJ_B, BOB, KEY_2, FT),
            _row("2025-03-04", 1000.0, "billed", PROJ_A),  # after as_of: never counts
            _row("2025-03-04", 99.0, "estimated", PROJ_A, ADA, KEY_1, GPT4O),
        ]
    )
)


@pytest.mark.parametrize(
    "budget, basis, spent, unpriced, name",
    [
        (Budget("organization", None, 100.0), "billed", 30.0, 0, "Organization"),
        (Budget("project", "proj_a", 100.0), "billed", 10.0, 0, "Research"),
        (Budget("project", "proj_b", 100.0), "billed", 20.0, 0, "proj_b"),
        (Budget("api_key", "key_1", 100.0), "billed", 20.0, 0, "ci"),
        (Budget("user", "user-1", 100.0), "estimated", 7.0, 0, "Ada"),
        (Budget("user", "user-2", 100.0), "estimated", 3.0, 1, "bob@x.io"),
        (Budget("model", "gpt-4o", 100.0), "estimated", 7.0, 0, "gpt-4o"),
        (
            Budget("model", "gpt-4o-mini-2024-07-18", 100.0),
            "estimated",
            3.0,
            0,
            "gpt-4o-mini-2024-07-18",
        ),
        (Budget("model", "ft:davinci-002:x", 100.0), "estimated", 0.0, 1, "ft:davinci-002:x"),
        (Budget("project", "proj_a", 100.0, name="R&D"), "billed", 10.0, 0, "R&D"),
    ],
    ids=[
        "org-billed",
        "project-billed",
        "project-no-name",
        "key-billed",
        "user",
        "user-unpriced",
        "model-family",
        "model-snapshot",
        "model-only-unpriced",
        "file-name-wins",
    ],
)
def test_measure_budget__basis_and_spent(budget, basis, spent, unpriced, name):
    measure = measure_budget(TABLE, budget, as_of=date(2025, 3, 3))
    assert (measure.basis, measure.unpriced_rows, measure.name) == (basis, unpriced, name)
    assert measure.spent_usd == pytest.approx(spent)
    assert measure.known
    assert measure.month == "2025-03"
    assert measure.daily.index[-1] == pd.Timestamp("2025-03-03")  # later days never count
    assert measure.daily.index[0] == pd.Timestamp("2025-02-27")  # history for the forecast


def test_measure_budget__estimated_without_billed_rows():
    usage_only = TABLE[TABLE["cost_basis"] != "billed"].reset_index(drop=True)
    measure = measure_budget(usage_only, Budget("organization", None, 20.0), as_of=date(2025, 3, 3))
    assert (measure.basis, measure.spent_usd, measure.unpriced_rows) == ("estimated", 10.0, 1)
    assert measure.percent == pytest.approx(50.0)
    assert measure.crossed == [50]


@pytest.mark.parametrize(
    "budget",
    [
        Budget("project", "proj_gone", 10.0),
        Budget("user", "user-nobody", 10.0),
        Budget("api_key", "key_x", 10.0),
        Budget("model", "gpt-9", 10.0),
    ],
)
def test_measure_budget__unknown_id_is_kept(budget):
    [measure] = measure_budgets(TABLE, [budget], as_of=date(2025, 3, 3))
    assert measure.budget is budget
    assert (measure.known, measure.name, measure.spent_usd, measure.crossed) == (
        False,
        None,
        0.0,
        [],
    )


@pytest.mark.parametrize(
    "spent, alert_at, crossed",
    [(30.0, (50, 80, 100), [50, 80, 100]), (30.0, (25, 150), [25]), (30.0, (), [])],
)
def test_measure__crossed_thresholds(spent, alert_at, crossed):
    budget = Budget("organization", None, spent * 100 / 120, alert_at)  # 30 is 120% of it
    assert measure_budget(TABLE, budget, as_of=date(2025, 3, 3)).crossed == crossed


# ---- a spike is not the new normal (issue 19)


def _light_user_month(spike_day: str) -> pd.DataFrame:
    """Ada spends about $0.50 a day from Jan 6 to Mar 10 but $30 on ``spike_day``; Bob $5 a day."""
    days = pd.date_range("2025-01-06", "2025-03-10", freq="D")
    wobble = [0.5 + 0.1 * ((i * 7) % 5 - 2) / 2 for i in range(len(days))]  # 0.4 .. 0.6
    rows = []
    for day, ada in zip(days, wobble, strict=True):
        stamp = day.date().isoformat()
        rows.append(_row(stamp, 30.0 if stamp == spike_day else ada, "estimated", ADA, GPT4O))
        rows.append(_row(stamp, 5.0, "estimated", BOB, GPT4O))
    return conform(pd.DataFrame(rows))


def test_user_budget__a_spike_day_alone_does_not_cross():
    # The held-out org's case: one runaway $30 day under a $50 budget. Carried forward, it made
    # the month $89 and "crosses on Mar 17"; at Ada's own rate the month ends near $45. The same
    # report lists the day as a spike.
    table = _light_user_month("2025-03-05")
    budget = Budget("user", "user-1", 50.0)
    as_of = date(2025, 3, 10)
    measure = measure_budget(table, budget, as_of=as_of)
    assert measure.spent_usd < 50.0
    plain = forecast_month(measure.daily, as_of, robust=False)
    assert crossing_date(measure.daily, plain, 50.0) is not None  # what the issue saw

    report = evaluate(table, [budget], as_of)
    [entry] = report.budgets
    assert entry.crossing_date is None
    assert entry.forecast_usd == pytest.approx(measure.spent_usd + 21 * 0.5, rel=0.05)
    assert entry.forecast_low <= entry.forecast_usd <= entry.forecast_high
    assert (date(2025, 3, 5), "user", "user-1") in [
        (s.date, s.dimension, s.id) for s in report.watch.spikes
    ]


def test_user_budget__a_real_overrun_still_crosses():
    # The same user spending $3 a day for the last week has moved up: the forecast follows.
    table = _light_user_month("none")
    late = (table["user_id"] == "user-1") & (table["date"] >= pd.Timestamp("2025-03-04"))
    table.loc[late, "cost_usd"] = 3.0

    [entry] = evaluate(table, [Budget("user", "user-1", 50.0)], date(2025, 3, 10)).budgets
    assert entry.crossing_date is not None and entry.forecast_usd > 50.0


# ---- budgets people can write: a user by e-mail, the closest ids, one shape in secrets


@pytest.mark.parametrize(
    "budget_id, spent, name",
    [
        ("user-1", 7.0, "Ada"),
        ("ada@x.io", 7.0, "Ada"),
        (" ADA@x.io ", 7.0, "Ada"),  # e-mails are not case-sensitive; the file's spaces trimmed
        ("bob@x.io", 3.0, "bob@x.io"),
    ],
    ids=["by-id", "by-email", "email-any-case", "email-without-name"],
)
def test_user_budget__by_id_or_email(budget_id, spent, name):
    [budget] = parse_budgets(f'[[budget]]\nscope = "user"\nid = "{budget_id}"\nmonthly_usd = 10\n')
    measure = measure_budget(TABLE, budget, as_of=date(2025, 3, 3))
    assert (measure.known, measure.name) == (True, name)
    assert measure.spent_usd == pytest.approx(spent)
    [entry] = evaluate(TABLE, [budget], date(2025, 3, 3), app_url="https://app.example").budgets
    user_id = "user-1" if name == "Ada" else "user-2"
    assert f"user={user_id}" in entry.link  # the view is filtered by the user's id


def test_user_budget__an_email_is_not_a_project_or_key():
    # only a user budget reads e-mails: a project "id" that happens to be an e-mail matches nothing
    measure = measure_budget(TABLE, Budget("project", "ada@x.io", 10.0), as_of=date(2025, 3, 3))
    assert not measure.known


@pytest.mark.parametrize(
    "scope, budget_id, closest",
    [
        ("user", "user-1x", ["user-1", "user-2"]),
        ("user", "ada@x.com", ["ada@x.io"]),
        ("user", "ADA@X.IO.", ["ada@x.io"]),
        ("project", "proj-a", ["proj_a", "proj_b"]),
        ("api_key", "key1", ["key_1", "key_2"]),
        ("model", "gpt4o", ["gpt-4o", "gpt-4o-mini"]),
        ("user", "zzzzzzzz", []),
        ("organization", None, []),
    ],
)
def test_closest_ids__known_ids_or_emails_near_a_typo(scope, budget_id, closest):
    assert closest_ids(TABLE, scope, budget_id) == closest


SECRETS_BUDGETS = """\
OPENAI_ADMIN_KEY = "sk-admin-not-a-real-key"
SPEND_ADMINS = "ana@acme.com"

[[budget]]
scope = "organization"
monthly_usd = 1500

[[budget]]
scope = "user"
id = "ada@x.io"
monthly_usd = 20

[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
"""


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            SECRETS_BUDGETS,
            [("organization", None, 1500.0), ("user", "ada@x.io", 20.0)],
        ),
        (  # the older [budgets] forms still read
            '[[budgets.budget]]\nscope = "organization"\nmonthly_usd = 5\n',
            [("organization", None, 5.0)],
        ),
        ('[[budgets]]\nscope = "project"\nid = "p"\nmonthly_usd = 5\n', [("project", "p", 5.0)]),
        ('OPENAI_API_KEY = "sk-x"\n', []),
    ],
    ids=["budget-tables-like-the-file", "budgets.budget", "budgets-array", "none"],
)
def test_secrets_budgets__the_files_shape_in_secrets(tmp_path, text, expected):
    path = tmp_path / "secrets.toml"
    path.write_text(text, encoding="utf-8")
    budgets = secrets_budgets(read_secrets_file(path))
    assert [(b.scope, b.id, b.monthly_usd) for b in budgets] == expected
    assert {b.origin for b in budgets} <= {"secrets"}


def test_secrets_budgets__same_budget_in_both_forms_is_one_error():
    table = {
        "budget": [{"scope": "organization", "monthly_usd": 1}],
        "budgets": {"budget": [{"scope": "organization", "monthly_usd": 2}]},
    }
    with pytest.raises(ConfigError, match=r"\[budgets\] entry 1: a second budget for organization"):
        secrets_budgets(table)


def test_read_secrets_file__broken_or_missing(tmp_path, monkeypatch):
    broken = tmp_path / "secrets.toml"
    broken.write_text('OPENAI_ADMIN_KEY = "sk-admin-SECRET\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_secrets_file(broken)
    message = str(caught.value)
    assert message.startswith(f"secrets file {broken}, line 1: not valid TOML")
    assert "SECRET" not in message and "\n" not in message  # one line, never a value
    with pytest.raises(ConfigError, match="no such file"):
        read_secrets_file(tmp_path / "nope.toml")  # named on purpose: must exist
    monkeypatch.chdir(tmp_path / "..")  # no .streamlit/secrets.toml here: no budgets, no error
    assert read_secrets_file(None) == {}


def _alerts(argv, tmp_path):
    """``python -m spend alerts`` on the demo organization, with a clock on 2026-12-01."""
    parser = argparse.ArgumentParser(prog="python -m spend")
    add_alerts_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["alerts", "--source", "demo", "--json", *map(str, argv)])
    out, err = io.StringIO(), io.StringIO()
    clock = FakeClock(datetime(2026, 12, 1, 6, tzinfo=UTC).timestamp())
    env = {"SPEND_CACHE_DIR": str(tmp_path / "cache")}
    code = run_alerts(args, environ=env, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    return code, out.getvalue(), err.getvalue()


def test_alerts_command__reads_the_apps_secrets_budgets(tmp_path, monkeypatch):
    """The README's promise: budgets in the app's secrets count for the command too, in the
    file's shape, from ``.streamlit/secrets.toml`` by default or ``--secrets FILE``."""
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(SECRETS_BUDGETS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = _alerts([], tmp_path)
    assert code == 0, err
    budgets = json.loads(out)["budgets"]
    assert [(b["scope"], b["id"], b["origin"]) for b in budgets] == [
        ("organization", None, "secrets"),
        ("user", "ada@x.io", "secrets"),
    ]
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text('[[budget]]\nscope = "organization"\nmonthly_usd = 7\n', encoding="utf-8")
    code, out, err = _alerts(["--secrets", elsewhere], tmp_path)
    assert code == 0, err
    assert [b["budget_usd"] for b in json.loads(out)["budgets"]] == [7.0]


def test_alerts_command__a_broken_secrets_file_fails_closed_in_one_line(tmp_path):
    broken = tmp_path / "secrets.toml"
    broken.write_text('[[budget]]\nscope = "organization\n', encoding="utf-8")
    code, out, err = _alerts(["--secrets", broken], tmp_path)
    assert (code, out) == (1, "")
    assert err.startswith(f"error: secrets file {broken}, line 2: not valid TOML")
    assert len(err.splitlines()) == 1


def test_month_card__counts_the_money_an_organization_budget_counts():
    """The Overview's month card and an organization budget read one rule (budgets.basis_for):
    a billed row without an amount (another currency) makes neither of them "billed"."""
    from spend.budgets import basis_for
    from spend.schema import conform
    from spend.ui.steer import _month

    table = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-03-02", "2026-03-03", "2026-03-03"]),
            "cost_usd": [1.0, 2.0, None],
            "cost_basis": ["estimated", "estimated", "billed"],
        }
    )
    table = conform(table)
    budget = Budget("organization", None, 100.0)
    entries, measure, _ = _month(("card-basis",), (budget,), date(2026, 3, 4), _frame=table)
    assert measure.basis == basis_for(table, "organization") == "estimated"
    assert entries[0].basis == measure.basis


# ---- a provider scope, and two providers in one table (issue 20)

OPENAI = {"provider": "openai"}
ANTHROPIC = {"provider": "anthropic"}
RESEARCH_WS = {"project_id": "wrkspc_01", "project_name": "Claude research"}
SONNET = {"model": "claude-sonnet-4-5-20250929", "model_family": "claude-sonnet-4-5"}
CLAUDE_ROWS = [
    _row("2025-02-27", 4.0, "estimated", ANTHROPIC, RESEARCH_WS, SONNET),
    _row("2025-03-01", 6.0, "estimated", ANTHROPIC, RESEARCH_WS, SONNET),
    _row("2025-03-02", 5.0, "estimated", ANTHROPIC, {"project_id": "default"}, SONNET),
]
CLAUDE_BILLED = [_row("2025-03-01", 8.0, "billed", ANTHROPIC, RESEARCH_WS)]


def two_providers(*, anthropic_billed: bool) -> pd.DataFrame:
    """``TABLE`` as OpenAI's rows beside Claude usage (and Anthropic's bill when it gave one)."""
    claude = CLAUDE_ROWS + (CLAUDE_BILLED if anthropic_billed else [])
    return conform(
        pd.concat([TABLE.assign(provider="openai"), pd.DataFrame(claude)], ignore_index=True)
    )


@pytest.mark.parametrize(
    "anthropic_billed, budget, basis, spent, name",
    [
        # Anthropic's bill has Mar 1 and not yet Mar 2: Mar 2 counts its estimate, said (issue 19)
        (True, Budget("provider", "anthropic", 100.0), MIXED, 13.0, "Anthropic"),
        (True, Budget("provider", "openai", 100.0), "billed", 30.0, "OpenAI"),
        (True, Budget("project", "wrkspc_01", 100.0), "billed", 8.0, "Claude research"),
        # Anthropic's cost report gave nothing: its scopes count their estimate, never OpenAI's
        # bill's basis (which would measure them at $0)
        (False, Budget("provider", "anthropic", 100.0), "estimated", 11.0, "Anthropic"),
        (False, Budget("project", "wrkspc_01", 100.0), "estimated", 6.0, "Claude research"),
        (False, Budget("project", "default", 100.0), "estimated", 5.0, "default"),
        (False, Budget("provider", "openai", 100.0), "billed", 30.0, "OpenAI"),
        (
            False,
            Budget("model", "claude-sonnet-4-5", 100.0),
            "estimated",
            11.0,
            "claude-sonnet-4-5",
        ),
    ],
    ids=[
        "anthropic-billed",
        "openai-billed",
        "workspace-billed",
        "anthropic-estimated",
        "workspace-estimated",
        "default-workspace",
        "openai-beside-estimated",
        "claude-family",
    ],
)
def test_measure_budget__provider_scope_and_workspaces(
    anthropic_billed, budget, basis, spent, name
):
    table = two_providers(anthropic_billed=anthropic_billed)
    measure = measure_budget(table, budget, as_of=date(2025, 3, 3))
    assert (measure.basis, measure.name, measure.known) == (basis, name, True)
    assert measure.spent_usd == pytest.approx(spent)


def test_measure_budget__an_unseen_provider_is_kept_unknown():
    table = two_providers(anthropic_billed=True)
    measure = measure_budget(table, Budget("provider", "ledger", 10.0), as_of=date(2025, 3, 3))
    assert (measure.known, measure.name, measure.spent_usd) == (False, None, 0.0)


def test_example__the_budgets_page_shows_entries_the_loader_reads():
    """The example the Budgets page shows while there are none is itself valid."""
    org, user = parse_budgets(EXAMPLE, source="the example")
    assert (org.scope, org.id, org.monthly_usd, org.alert_at) == (
        "organization",
        None,
        1500,
        (50, 80, 100),
    )
    assert (user.scope, user.id, user.monthly_usd) == ("user", "ana@acme.com", 200)
