"""The Teams page under AppTest: the demo organization with the example teams file (docs/), the
empty state without teams, a broken file, the team filter, and the admin source's billed money.

Expected figures come from ``spend.teams`` on the usage table, never from the page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from spend import formatting as fmt
from spend.config import Settings
from spend.dates import preset_range
from spend.sources import make_source
from spend.teams import NO_TEAM, by_team, load_teams_file, with_teams
from tests.apptest_support import ROOT, admin_secrets, app, no_exceptions, settled

TEAMS_PAGE = str(ROOT / "app_pages" / "teams.py")
EXAMPLE = ROOT / "docs" / "teams.example.toml"

pytestmark = pytest.mark.usefixtures("fresh_streamlit")


def demo_view_frame():
    """The demo table the default view (last 30 days) shows, with the example's teams."""
    source = make_source(Settings(source="demo"))
    start, end = preset_range("last_30_days", datetime.now(UTC).date())
    frame = source.assemble(source.plan(start - timedelta(days=35), end)).frame
    in_range = frame.loc[(frame["date"] >= str(start)) & (frame["date"] <= str(end))]
    return with_teams(in_range.reset_index(drop=True), load_teams_file(EXAMPLE))


def teams_page(**secrets):
    at = app(**secrets)
    at.run()
    at.switch_page(TEAMS_PAGE).run()
    no_exceptions(at)
    return at


def test_teams_page__demo_with_the_example_file_shows_each_teams_money_and_top_users():
    at = teams_page(SPEND_TEAMS_FILE=str(EXAMPLE))
    assert not at.error, [e.value for e in at.error]
    expected = by_team(demo_view_frame(), load_teams_file(EXAMPLE))
    assert expected["basis"].eq("estimated").all()  # the demo has no bill
    headers = [h.value for h in at.subheader]
    assert "Spend per team over time (estimated)" in headers
    for _, row in expected.iterrows():
        assert fmt.escape_markdown(row["team"]) in headers
        said = f"{fmt.usd(row['money'])} estimated · {fmt.pct(row['share'])} of the spend"
        assert said in [c.value for c in at.caption], row["team"]
    assert expected["team"].iloc[-1] == NO_TEAM  # the default workspace matches no rule
    shown = at.dataframe[0].value
    assert list(shown.iloc[:, 0]) == list(expected["team"])
    captions = " ".join(c.value for c in at.caption)
    unseen = fmt.escape_markdown("users: legal-intern@acme.example")  # an e-mail: a code span
    assert f"(no usage seen) in this range: {unseen}" in captions
    # the sidebar offers the team filter, in the file's order
    options = at.sidebar.multiselect(key="filter_teams").options
    assert options == [*load_teams_file(EXAMPLE).names, NO_TEAM]


def test_teams_page__the_team_filter_narrows_every_page_and_travels_in_the_url():
    at = teams_page(SPEND_TEAMS_FILE=str(EXAMPLE))
    at.sidebar.multiselect(key="filter_teams").set_value(["Support"]).run()
    no_exceptions(at)
    view = at.session_state["_spend_view"]
    assert set(view.frame["team"].astype(str)) == {"Support"}
    assert at.query_params["team"] in ("Support", ["Support"])
    expected = by_team(demo_view_frame(), load_teams_file(EXAMPLE))
    support = expected.loc[expected["team"].eq("Support"), "money"].iloc[0]
    assert float(view.frame["cost_usd"].sum()) == pytest.approx(support)
    headers = [h.value for h in at.subheader]
    assert "Support" in headers and "Research" not in headers  # only the chosen team's section


def test_teams_page__without_teams_says_how_to_set_them():
    at = teams_page()
    said = " ".join(i.value for i in at.info)
    assert "SPEND_TEAMS_FILE" in said and "[[teams.team]]" in said and "[[team]]" in said
    with pytest.raises(KeyError):
        at.sidebar.multiselect(key="filter_teams")  # no team filter without teams
    assert "team" not in at.session_state["_spend_view"].full.columns


def test_teams_page__teams_from_secrets_work_like_the_file():
    name = "[Support](https://evil.example) *ops*"
    at = teams_page(teams={"team": [{"name": name, "projects": ["Support Assistant"]}]})
    headers = [h.value for h in at.subheader]
    assert fmt.escape_markdown(name) in headers  # a name is data: escaped where Markdown renders
    assert not any("](" in h and "\\]" not in h for h in headers)
    assert NO_TEAM in headers


def test_teams_page__a_broken_file_is_one_line_naming_the_line_and_no_team_column(tmp_path):
    broken = tmp_path / "teams.toml"
    broken.write_text('[[team]]\nname = "Research"\nusers = "ana@acme.com"\n')
    at = teams_page(SPEND_TEAMS_FILE=str(broken))
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "line 3" in errors[0] and "users" in errors[0]
    assert any("Teams not applied" in w.value for w in at.warning)
    assert "team" not in at.session_state["_spend_view"].full.columns


def test_teams_page__admin_source_shows_billed_money_per_team(fake_openai, tmp_path):
    fake_openai.reset(days=40)
    at = app(**admin_secrets(fake_openai))
    settled(at)
    frame = at.session_state["_spend_view"].frame
    project = str(frame["project_name"].dropna().iloc[0])
    teams_file = tmp_path / "teams.toml"
    teams_file.write_text(f'[[team]]\nname = "Core"\nprojects = ["{project}"]\n')
    at.secrets["SPEND_TEAMS_FILE"] = str(teams_file)
    at.run()
    at.switch_page(TEAMS_PAGE).run()
    no_exceptions(at)
    view = at.session_state["_spend_view"]
    expected = by_team(view.frame, load_teams_file(teams_file))
    assert expected["basis"].eq("billed").all()
    assert [h.value for h in at.subheader][0] == "Spend per team over time"
    core = expected.loc[expected["team"].eq("Core")].iloc[0]
    assert f"{fmt.usd(core['money'])} billed · {fmt.pct(core['share'])} of the spend" in [
        c.value for c in at.caption
    ]


def test_teams_page__90_days_in_weeks_like_every_page_and_days_on_request():
    """The team chart follows the sidebar's "Bars per": 90 days in weeks (Mondays, the sums of
    their days), days when picked."""
    import json

    import pyarrow as pa

    def keys(at):
        """The team chart's money per bar key (the first day of each bar's bucket)."""
        specs = [
            (c, json.loads(c.proto.spec).get("encoding", {})) for c in at.get("vega_lite_chart")
        ]
        (chart,) = [c for c, encoding in specs if encoding.get("x", {}).get("field") == "key"]
        (data,) = chart.proto.datasets
        table = pa.ipc.open_stream(data.data.data).read_all().to_pandas()
        return table.groupby("key")["value"].sum()

    at = app(SPEND_TEAMS_FILE=str(EXAMPLE))
    at.query_params["range"] = "last_90_days"
    at.run()
    at.switch_page(TEAMS_PAGE).run()
    no_exceptions(at)
    weekly = keys(at)
    assert 13 <= len(weekly) <= 14
    assert all(datetime.fromisoformat(k).weekday() == 0 for k in weekly.index)
    at.sidebar.radio(key="time_bucket_week").set_value("day").run()
    no_exceptions(at)
    daily = keys(at)
    assert len(daily) == 90
    assert weekly.sum() == pytest.approx(daily.sum())
