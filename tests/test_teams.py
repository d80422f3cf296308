"""Teams (``spend.teams``): the file and secrets, rows into teams, the filter, the budget scope,
and the CLI's export and alerts with a teams file."""

from __future__ import annotations

import argparse
import io
import json
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from spend import analysis
from spend.budgets import Budget, measure_budget, parse_budgets
from spend.cli import add_alerts_parser, main, run_alerts
from spend.config import Settings
from spend.errors import ConfigError
from spend.notify import budget_title
from spend.report import evaluate
from spend.schema import as_categories, conform
from spend.teams import (
    NO_TEAM,
    Team,
    Teams,
    by_team,
    load_teams,
    parse_teams,
    team_column,
    team_daily,
    top_of_team,
    unseen,
    with_teams,
)
from tests.clock import FakeClock

GOOD = """\
# teams
[[team]]
name = "Research"
users = ["ana@acme.com", "user-bob"]
projects = ["Knowledge Search"]
notify = "json://localhost/research"

[[team]]
name = "Support"
projects = ["proj_support"]
keys = ["support-bot"]
workspaces = ["wrkspc_sup"]
notify = ["json://a", "json://b"]
"""


def test_parse_teams__the_files_shape_in_order():
    teams = parse_teams(GOOD, source="t.toml")
    assert teams.names == ("Research", "Support")
    assert teams.teams[0] == Team(
        name="Research",
        users=("ana@acme.com", "user-bob"),
        projects=("Knowledge Search",),
        notify=("json://localhost/research",),
    )
    assert teams.teams[1].keys == ("support-bot",)
    assert teams.teams[1].workspaces == ("wrkspc_sup",)
    assert teams.teams[1].notify == ("json://a", "json://b")
    assert teams and not Teams() and Teams().names == ()


@pytest.mark.parametrize(
    "text, message",
    [
        ('[[team]]\nname = "R"\nusers = ["a",, "b"]\n', "teams file t.toml, line 3, column 14"),
        ('[[team]]\nname = "R"\nusers = ["a"\n', "t.toml, line 3 (the end of the file): not"),
        ('[[team]]\nname = "R"\nusers = "ana@acme.com"\n', "line 3 (team 1): 'users' must be a "),
        ('[[team]]\nname = "R"\nprojects = [1, 2]\n', "line 3 (team 1): 'projects' must be a"),
        ('[[team]]\nname = "R"\nkeys = ["k"]\n\n[[team]]\nkeys = ["x"]\n', "line 5 (team 2)"),
        ('[[team]]\nname = "R"\nuser = ["a"]\n', "line 3 (team 1): unknown key(s) user"),
        ('[[team]]\nname = "R"\n', "line 2 (team 1): team 'R' has no rule"),
        ('[[team]]\nname = "No team"\nusers = ["a"]\n', "line 2 (team 1): 'No team' is what"),
        ('[[team]]\nname = "R"\nusers = ["a"]\nnotify = 3\n', "line 4 (team 1): 'notify'"),
        (
            '[[team]]\nname = "R"\nusers = ["a"]\n[[team]]\nname = "r"\nusers = ["b"]\n',
            "line 4 (team 2): a second team 'r' (first: line 1 (team 1))",
        ),
        ('team = "x"\n', "'team' must be an array of tables"),
        ('[teams]\nname = "x"\n', "unknown top-level key(s) teams"),
    ],
    ids=[
        "syntax",
        "unclosed",
        "string-not-list",
        "numbers",
        "no-name",
        "unknown-key",
        "no-rule",
        "no-team-name",
        "notify-type",
        "duplicate",
        "not-tables",
        "wrong-table",
    ],
)
def test_parse_teams__malformed_is_one_line_naming_the_line(text, message):
    with pytest.raises(ConfigError) as caught:
        parse_teams(text, source="t.toml")
    said = str(caught.value)
    assert message in said and "\n" not in said
    assert said.startswith("teams file t.toml")


def test_load_teams__file_secrets_or_neither(tmp_path):
    path = tmp_path / "teams.toml"
    path.write_text(GOOD, encoding="utf-8")
    settings = Settings.from_mapping({"SPEND_TEAMS_FILE": str(path)})
    assert settings.value("SPEND_TEAMS_FILE") == str(path)  # a setting read by name
    assert load_teams(settings).names == ("Research", "Support")
    assert load_teams(Settings()) == Teams()
    nested = {"teams": {"team": [{"name": "Ops", "users": ["x@y.z"]}]}}
    top = {"team": [{"name": "Ops", "users": ["x@y.z"]}]}
    assert load_teams(Settings(), nested).names == ("Ops",)
    assert load_teams(Settings(), top).names == ("Ops",)
    assert load_teams(settings, nested).names == ("Research", "Support", "Ops")  # file first
    assert load_teams(Settings(), {"SPEND_TEAMS_FILE": str(path)}).names == ("Research", "Support")
    with pytest.raises(ConfigError, match="no such file"):
        load_teams(Settings.from_mapping({"SPEND_TEAMS_FILE": str(tmp_path / "none.toml")}))
    with pytest.raises(ConfigError, match=r"secrets, \[teams\] entry 1: 'users' must be a list"):
        load_teams(Settings(), {"teams": {"team": [{"name": "Ops", "users": "x@y.z"}]}})
    with pytest.raises(ConfigError, match="a second team 'Research'"):
        load_teams(settings, {"team": [{"name": "Research", "users": ["z"]}]})


def _rows(*rows: dict) -> pd.DataFrame:
    return conform(pd.DataFrame(list(rows)))


ROWS = _rows(
    # 0: Ana by e-mail (any case) in Support's project: Research comes first and wins
    {"date": "2026-11-02", "user_id": "user-ana", "user_email": "Ana@Acme.com",
     "project_id": "proj_support", "cost_usd": 1.0, "cost_basis": "estimated"},
    # 1: Bob by id
    {"date": "2026-11-02", "user_id": "user-bob", "project_id": "proj_x", "cost_usd": 2.0,
     "cost_basis": "estimated"},
    # 2: someone else in Support's project
    {"date": "2026-11-02", "user_id": "user-cy", "project_id": "proj_support", "cost_usd": 4.0,
     "cost_basis": "estimated"},
    # 3: a key by name
    {"date": "2026-11-02", "api_key_id": "key_9", "api_key_name": "support-bot",
     "project_id": "proj_x", "cost_usd": 8.0, "cost_basis": "estimated"},
    # 4: an Anthropic workspace
    {"date": "2026-11-02", "project_id": "wrkspc_sup", "provider": "anthropic",
     "cost_usd": 16.0, "cost_basis": "estimated"},
    # 5: an OpenAI project that happens to share the workspace's id is not a workspace
    {"date": "2026-11-02", "project_id": "wrkspc_sup", "provider": "openai", "cost_usd": 32.0,
     "cost_basis": "estimated"},
    # 6: a project by name (any case)
    {"date": "2026-11-03", "project_id": "proj_ks", "project_name": "knowledge search",
     "cost_usd": 64.0, "cost_basis": "estimated"},
    # 7: a billed row of Support's project (no user): the project rule matches it
    {"date": "2026-11-03", "project_id": "proj_support", "cost_usd": 128.0,
     "cost_basis": "billed"},
    # 8: nobody's
    {"date": "2026-11-03", "user_id": "user-zed", "project_id": "proj_x", "cost_usd": None,
     "cost_basis": "unpriced"},
)  # fmt: skip
EXPECTED = [
    "Research",
    "Research",
    "Support",
    "Support",
    "Support",
    NO_TEAM,
    "Research",
    "Support",
    NO_TEAM,
]


@pytest.mark.parametrize("categorical", [False, True], ids=["strings", "categories"])
def test_team_column__first_rule_wins_ids_emails_names_and_no_team(categorical):
    frame = as_categories(ROWS) if categorical else ROWS
    teams = parse_teams(GOOD)
    column = team_column(frame, teams)
    assert list(column.astype(str)) == EXPECTED
    assert list(column.cat.categories) == ["Research", "Support", NO_TEAM]
    teamed = with_teams(frame, teams)
    assert list(teamed["team"].astype(str)) == EXPECTED and "team" not in frame.columns
    assert list(with_teams(teamed, Teams((Team("All", projects=("proj_x",)),)))["team"]) == [
        NO_TEAM, "All", NO_TEAM, "All", NO_TEAM, NO_TEAM, NO_TEAM, NO_TEAM, "All",
    ]  # fmt: skip
    # the other order: Support's project rule now takes Ana's row
    swapped = Teams(tuple(reversed(teams.teams)))
    assert team_column(frame, swapped).astype(str).iloc[0] == "Support"


def test_unseen__ids_with_no_usage_are_kept_and_named():
    teams = parse_teams(GOOD + '\n[[team]]\nname = "Legal"\nusers = ["intern@acme.com"]\n')
    assert unseen(ROWS, teams) == {"Legal": ["users: intern@acme.com"]}
    assert load_teams(Settings(), {"team": [{"name": "Ghost", "keys": ["k"]}]}).names == ("Ghost",)


def test_filter_and_options__by_team():
    teamed = with_teams(ROWS, parse_teams(GOOD))
    kept = analysis.filter_usage(teamed, teams=["Support"])
    assert list(kept["cost_usd"]) == [4.0, 8.0, 16.0, 128.0]
    both = analysis.filter_usage(teamed, teams=["Research", NO_TEAM])
    assert len(both) == 5
    assert analysis.filter_usage(ROWS, teams=["Support"]) is ROWS  # no team column: no filter
    choices = analysis.options(teamed)["teams"]
    assert choices == [("Research", "Research"), ("Support", "Support"), (NO_TEAM, NO_TEAM)]
    assert "teams" not in analysis.options(ROWS)


def test_by_team__estimated_money_share_and_unpriced_rows():
    teams = parse_teams(GOOD + '\n[[team]]\nname = "Legal"\nusers = ["intern@acme.com"]\n')
    table = by_team(with_teams(ROWS, teams), teams).set_index("team")
    assert list(table.index) == ["Research", "Support", "Legal", NO_TEAM]  # No team last
    assert table.loc["Research", "money"] == 1.0 + 2.0 + 64.0
    assert table.loc["Support", "money"] == 4.0 + 8.0 + 16.0  # the billed row is not usage
    assert table.loc["Legal", "money"] == 0.0 and table.loc[NO_TEAM, "unpriced_rows"] == 1
    assert table["basis"].eq("estimated").all()
    assert table["share"].sum() == pytest.approx(1.0)


def test_by_team__billed_money_when_usage_carries_it():
    frame = ROWS.assign(billed_usd=pd.array([1.5, 2.5, 4.5, 8.5, 16.5, 32.5, 64.5, None, None]))
    teams = parse_teams(GOOD)
    table = by_team(with_teams(frame, teams), teams).set_index("team")
    assert table["basis"].eq("billed").all()
    assert table.loc["Research", "money"] == 1.5 + 2.5 + 64.5
    assert table.loc["Research", "estimated"] == 1.0 + 2.0 + 64.0


def test_budget__team_scope_counts_the_teams_rows():
    teams = parse_teams(GOOD)
    (budget,) = parse_budgets('[[budget]]\nscope = "team"\nid = "Support"\nmonthly_usd = 50\n')
    assert budget == Budget("team", "Support", 50.0, line=1)
    measure = measure_budget(with_teams(ROWS, teams), budget, as_of=date(2026, 11, 3))
    assert measure.basis == "estimated"  # a team's rules may name users: never on billed rows
    assert measure.spent_usd == 4.0 + 8.0 + 16.0
    assert measure.known and measure.name == "Support"
    unknown = measure_budget(ROWS, budget, as_of=date(2026, 11, 3))  # no teams configured
    assert not unknown.known and unknown.spent_usd == 0.0
    report = evaluate(with_teams(ROWS, teams), [budget], as_of=date(2026, 11, 3), app_url="/")
    entry = report.budgets[0]
    assert entry.link.startswith("/teams?") and "team=Support" in entry.link
    assert budget_title(entry) == ("budget of ", "team ", "Support")  # the alerts' words


EXAMPLE_TEAMS = '[[team]]\nname = "Core"\nprojects = ["Knowledge Search"]\n'


def _export(tmp_path, *more: str, **env) -> bytes:
    """``python -m spend export`` of the demo's Nov 20-25 into bytes; an empty secrets file unless
    ``more`` names one (never the checkout's own)."""
    out = tmp_path / "usage.csv"
    environ = {"SPEND_SOURCE": "demo", "SPEND_CACHE_DIR": str(tmp_path / "cache"), **env}
    clock = FakeClock(datetime(2026, 12, 1, 6, tzinfo=UTC).timestamp())
    if "--secrets" not in more:
        empty = tmp_path / "no-secrets.toml"
        empty.write_text("", encoding="utf-8")
        more = (*more, "--secrets", str(empty))
    argv = ["export", "--start", "2026-11-20", "--end", "2026-11-25", "--out", str(out), *more]
    err = io.StringIO()
    code = main(argv, environ=environ, stdout=io.StringIO(), stderr=err, clock=clock)
    assert code == 0, err.getvalue()
    return out.read_bytes()


def test_cli_export__a_team_column_only_with_teams(tmp_path):
    plain = _export(tmp_path)
    assert b",team" not in plain.splitlines()[0]
    teams_file = tmp_path / "teams.toml"
    teams_file.write_text(EXAMPLE_TEAMS, encoding="utf-8")
    teamed = _export(tmp_path, SPEND_TEAMS_FILE=str(teams_file))
    frame = pd.read_csv(io.BytesIO(teamed))
    before = pd.read_csv(io.BytesIO(plain))
    assert list(frame.columns) == [*before.columns, "team"]
    core = frame["project_name"].eq("Knowledge Search")
    assert core.any() and frame.loc[core, "team"].eq("Core").all()
    assert frame.loc[~core, "team"].eq(NO_TEAM).all()
    assert _export(tmp_path) == plain  # unset again: byte for byte as before


def test_cli_export__teams_from_the_secrets_file_as_the_app_reads_them(tmp_path):
    """A deployment whose teams are in its secrets (``[[teams.team]]``) exports the same team
    column as one with a teams file; a broken secrets file is one error line, never a value."""
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        'OPENAI_API_KEY = "sk-never-shown"\n\n[[teams.team]]\nname = "Core"\n'
        'projects = ["Knowledge Search"]\n',
        encoding="utf-8",
    )
    from_secrets = pd.read_csv(io.BytesIO(_export(tmp_path, "--secrets", str(secrets))))
    teams_file = tmp_path / "teams.toml"
    teams_file.write_text(EXAMPLE_TEAMS, encoding="utf-8")
    from_file = pd.read_csv(io.BytesIO(_export(tmp_path, SPEND_TEAMS_FILE=str(teams_file))))
    assert from_secrets["team"].tolist() == from_file["team"].tolist()
    assert from_secrets["team"].eq("Core").any()
    secrets.write_text('OPENAI_API_KEY = "sk-never-shown"\n[[teams.team]\n', encoding="utf-8")
    err = io.StringIO()
    code = main(
        ["export", "--out", str(tmp_path / "u.csv"), "--secrets", str(secrets)],
        environ={"SPEND_SOURCE": "demo", "SPEND_CACHE_DIR": str(tmp_path / "c")},
        stdout=io.StringIO(),
        stderr=err,
    )
    assert code == 1
    said = err.getvalue()
    assert said.count("\n") == 1 and "not valid TOML" in said and str(secrets) in said
    assert "sk-never-shown" not in said
    assert not (tmp_path / "u.csv").exists()


def test_cli_export__focus_tags_name_the_team(tmp_path):
    teams_file = tmp_path / "teams.toml"
    teams_file.write_text(EXAMPLE_TEAMS, encoding="utf-8")
    focus = pd.read_csv(
        io.BytesIO(_export(tmp_path, "--format", "focus", SPEND_TEAMS_FILE=str(teams_file)))
    )
    tags = focus["Tags"].fillna("{}").map(json.loads)
    core = focus["SubAccountName"].eq("Knowledge Search")
    assert core.any() and all(t.get("team") == "Core" for t in tags[core])
    assert all(t.get("team") == NO_TEAM for t in tags[~core])
    plain = pd.read_csv(io.BytesIO(_export(tmp_path, "--format", "focus")))
    assert not any("team" in json.loads(t) for t in plain["Tags"].fillna("{}"))


def test_cli_export__a_broken_teams_file_is_one_error_line(tmp_path):
    teams_file = tmp_path / "teams.toml"
    teams_file.write_text('[[team]]\nname = "Core"\nprojects = "x"\n', encoding="utf-8")
    err = io.StringIO()
    code = main(
        ["export", "--out", str(tmp_path / "u.csv")],
        environ={"SPEND_SOURCE": "demo", "SPEND_CACHE_DIR": str(tmp_path / "c"),
                 "SPEND_TEAMS_FILE": str(teams_file)},
        stdout=io.StringIO(),
        stderr=err,
    )  # fmt: skip
    assert code == 1
    lines = err.getvalue().strip().splitlines()
    assert lines == [
        f"error: teams file {teams_file}, line 3 (team 1): 'projects' must be a list of strings, "
        'e.g. projects = ["proj_abc", "Knowledge Search"]; got a string'
    ]


def test_alerts_command__a_team_budget_counts_its_teams_rows(tmp_path, monkeypatch):
    teams_file = tmp_path / "teams.toml"
    teams_file.write_text(EXAMPLE_TEAMS, encoding="utf-8")
    budgets = tmp_path / "budgets.toml"
    budgets.write_text('[[budget]]\nscope = "team"\nid = "Core"\nmonthly_usd = 10\n')
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser(prog="python -m spend")
    add_alerts_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["alerts", "--source", "demo", "--json", "--budgets", str(budgets)])
    out, err = io.StringIO(), io.StringIO()
    clock = FakeClock(datetime(2026, 12, 1, 6, tzinfo=UTC).timestamp())
    env = {"SPEND_CACHE_DIR": str(tmp_path / "cache"), "SPEND_TEAMS_FILE": str(teams_file)}
    code = run_alerts(args, environ=env, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    assert code == 0, err.getvalue()
    (entry,) = json.loads(out.getvalue())["budgets"]
    assert entry["scope"] == "team" and entry["known"] and entry["spent_usd"] > 0


def test_team_money__billed_where_billed_and_a_provider_without_a_bill_keeps_its_estimate():
    """One team, one day: OpenAI usage estimated $10 and allocated $12 of its bill; Anthropic
    usage estimated $30 with no cost report. The Teams page, its chart, its top lists and a team
    budget all count $42 (billed $12 + estimated $30), never $12 (the bill alone) or $40."""
    day = pd.Timestamp("2026-11-03")
    rows = conform(
        pd.DataFrame(
            {
                "date": [day, day, day],
                "provider": ["openai", "openai", "anthropic"],
                "source": ["admin", "admin", "anthropic"],
                "model": ["gpt-4o", None, "claude-sonnet-4-5"],
                "user_id": ["user-ada", None, "user-ada"],
                "project_id": ["proj_a", "proj_a", "wrkspc_1"],
                "cost_basis": ["estimated", "billed", "estimated"],
                "cost_usd": [10.0, 12.0, 30.0],
                "billed_usd": [12.0, None, None],
            }
        )
    )
    teams = parse_teams('[[team]]\nname = "Research"\nusers = ["user-ada"]\n')
    table = with_teams(rows, teams)
    [research] = by_team(table, teams).to_dict("records")
    assert (research["money"], research["basis"]) == (42.0, "billed + estimated")
    assert (research["billed"], research["estimated"]) == (12.0, 40.0)
    assert team_daily(table)["value"].sum() == 42.0
    assert top_of_team(table, "Research", "model")["money"].sum() == 42.0
    budget = Budget("team", "Research", 100.0)
    measure = measure_budget(table, budget, as_of=date(2026, 11, 3))
    assert (measure.spent_usd, measure.basis) == (42.0, "billed + estimated")
    assert (measure.parts.billed, measure.parts.estimated) == (12.0, 30.0)
    assert measure.parts.unbilled == ("Anthropic",)
