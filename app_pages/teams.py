"""Teams: money per team over time, each team's share, its top users and models (``spend.teams``;
the teams come from ``SPEND_TEAMS_FILE`` or ``[teams]`` in the app's secrets)."""

import streamlit as st

from spend import analysis, charts
from spend import formatting as fmt
from spend import teams as teams_
from spend.ui import draw, tables
from spend.ui.view import NO_ROWS, configured_teams, derive, open_page

#: What the page says when no teams are configured (Markdown: our words only).
HOW_TO = (
    "No teams yet. Name a teams file in `SPEND_TEAMS_FILE` (an environment variable or a line of "
    "the app's secrets), or put the same entries in the app's secrets as `[[teams.team]]`, for "
    "example:\n\n"
    '```toml\n[[team]]\nname = "Research"\nusers = ["ana@acme.com", "user-abc"]   '
    '# user ids or e-mails\nprojects = ["Knowledge Search"]           # project ids or names\n'
    'keys = ["research-ci"]                     # API key ids or names\n'
    'workspaces = ["wrkspc_01"]                 # Anthropic workspaces\n\n'
    '[[team]]\nname = "Support"\nprojects = ["proj_abc"]\n```\n\n'
    "Each row goes to the first team with a rule that matches it; the rest are "
    f"*{teams_.NO_TEAM}*. `docs/teams.example.toml` fits the demo organization. Teams are then a "
    'filter in the sidebar, a column of the CSV export and a budget scope (`scope = "team"`).'
)
TOP = 5

view = open_page("Teams", require_rows=False)
configured, problem = configured_teams(view.loaded.settings)
if problem:  # said above as a warning too; here it is why the page is empty
    st.error(fmt.escape_markdown(problem), icon=":material/error:")
    st.stop()
if not configured or "team" not in view.frame.columns:
    st.info(HOW_TO, icon=":material/groups:")
    st.stop()
if view.frame.empty:
    st.info(NO_ROWS, icon=":material/search_off:")
    st.stop()

basis = teams_.money_basis(view.frame)  # billed, estimated, or billed + estimated
billed = basis != "estimated"
money_column = "billed_usd" if basis == "billed" else "cost_usd"
per_team = derive(view, teams_.by_team, configured)
chosen = view.filters.get("filter_teams") or []
if chosen:  # the sidebar's team filter: only those teams (the others would all read $0)
    per_team = per_team.loc[per_team["team"].isin(chosen)].reset_index(drop=True)

st.subheader("Spend per team over time" + ("" if basis == "billed" else f" ({basis})"))
draw.chart(
    charts.over_time(
        analysis.bucketed(
            derive(view, teams_.team_daily, start=view.start, end=view.end), view.bucket
        ),
        value=money_column,
        color_title="Team",
        other_label=teams_.NO_TEAM,
        bucket=view.bucket,
    )
)
if billed:
    through = teams_.billed_through(view.frame)
    st.caption(
        "Billed money: each cost report line allocated to the usage it covers (money that covers "
        "no usage is on its project's team, or "
        f"{teams_.NO_TEAM}). Billed through {through:%Y-%m-%d}; later days, and a provider "
        "without a cost report, count their estimate until billed."
        if through is not None
        else "Billed money."
    )
else:
    st.caption(
        "Estimated from tokens x list prices: no billed money is connected (an admin key "
        "brings the bill, allocated to each team's usage)."
    )

st.subheader("Each team's share")
draw.chart(
    charts.share_bars(
        per_team,
        label="team",
        title={"billed": "Billed (USD)", "estimated": "Cost, estimated (USD)"}.get(
            basis, "Billed + estimated (USD)"
        ),
        other_label=teams_.NO_TEAM,
    )
)
table = per_team.rename(
    columns={
        "team": "label",
        "estimated": "cost_usd",
        "billed": "billed_usd",
        "users": "Users",
        "unpriced_rows": "Unpriced rows",
    }
)
tables.show(
    table,
    columns=[
        "label",
        "billed_usd",
        "cost_usd",
        "share",
        "Users",
        "total_tokens",
        "Unpriced rows",
    ],
)

unseen = derive(view, teams_.unseen, configured)
for name in per_team["team"]:
    name = str(name)
    row = per_team.loc[per_team["team"].eq(name)].iloc[0]
    st.subheader(fmt.escape_markdown(name))
    st.caption(
        f"{fmt.usd(row['money'])} {'billed' if billed else 'estimated'} · "
        f"{fmt.pct(row['share'])} of the spend"
    )
    if name in unseen:
        ids = ", ".join(fmt.escape_markdown(i) for i in unseen[name])
        st.caption(f":material/help: (no usage seen) in this range: {ids}")
    if not row["money"]:
        continue
    left, right = st.columns(2)
    for column, by, title in ((left, "user", "User"), (right, "model", "Model")):
        with column:
            top = derive(view, teams_.top_of_team, name, by, n=TOP)
            tables.show(
                top.rename(columns={"label": title, "money": money_column}),
                columns=[title, money_column, "share"],
                key=f"team_{by}_{name}",
            )
