"""Budgets & alerts: each budget's month so far, forecast and band; spikes; what caching and batch
saved. The same figures ``python -m spend alerts`` sends from cron."""

import html

import pandas as pd
import streamlit as st

from spend import budgets, charts
from spend import formatting as fmt
from spend.forecast import cumulative_frame
from spend.report import SpikeEntry
from spend.ui import draw, steer, tables
from spend.ui.view import open_page

#: The example drawn like a code block (its colours and font), without a code block's highlighter.
EXAMPLE_HTML = (
    "<style>pre.spend-example{background:rgba(128,128,128,0.12);border-radius:0.5rem;"
    "padding:0.75rem 1rem;"
    "font-size:0.85rem;line-height:1.5;margin:0;white-space:pre-wrap}</style>"
    f'<pre class="spend-example">{html.escape(budgets.EXAMPLE)}</pre>'
)

view = open_page("Budgets & alerts", require_rows=False)
steering = steer.steering(view)
report = steering.report
month = steering.as_of.strftime("%B %Y")
st.caption(
    f"Calendar month {month} in {view.zone_name}, counted through {steering.as_of:%b %d} (the "
    "last complete day). Billed money where the Costs API gives it (organization, project, key) "
    "for the days it has reported, estimated from usage otherwise (user, model, team, days not "
    "billed yet). The sidebar's range and filters do not apply here; the forecast learns from "
    f"the 56 days to {steering.as_of:%b %d}."
)
for problem in steering.errors:
    st.warning(fmt.escape_markdown(problem), icon=":material/error:")
if steering.first_day > steering.as_of.replace(day=1):
    st.warning(
        "The loaded range starts after this month began, so the month is counted only in part: "
        "pick **Last 30 days** or longer.",
        icon=":material/date_range:",
    )

# --- the organization's month end ---------------------------------------------------------------
organization = steering.organization
nearest = steer.nearest_budget(steering.budgets)
org_budget = next(
    (e for e in report.budgets if e.scope == "organization" and e.kind != "spend_alert"),
    None,
)
st.subheader("Month end")
closed = organization.as_of == organization.month_end  # the 1st: last month is complete
cols = st.columns(3)
cols[0].metric(
    f"{month} total ({steering.basis})" if closed else f"Spent this month ({steering.basis})",
    fmt.usd(organization.month_to_date),
    border=True,
)
if closed:
    cols[1].metric("Forecast for the month", "month closed", border=True)
    st.caption(f"{month} is complete; the new month's forecast starts once it has a complete day.")
elif organization.enough_history and organization.forecast_usd is not None:
    cols[1].metric(
        "Forecast for the month",
        fmt.usd(organization.forecast_usd),
        border=True,
        help=f"80 % band {fmt.usd(organization.low_usd)} – {fmt.usd(organization.high_usd)}: "
        "month to date plus a trailing daily rate"
        + (" with weekday factors" if organization.seasonal else "")
        + "; the band comes from how far past forecasts missed.",
    )
    st.caption(
        f"80 % band: {fmt.usd(organization.low_usd)} – {fmt.usd(organization.high_usd)} "
        f"(from {organization.history_days} days of history)."
    )
else:
    cols[1].metric("Forecast for the month", fmt.DASH, border=True)
    st.caption(
        f"Not enough history for a forecast yet ({organization.history_days} complete days; it "
        "needs 7)."
    )
month_note = steering.measure.parts.note(fmt.usd) if steering.measure.parts else None
if month_note:  # a figure that mixes billed and estimated money says which part is which
    st.caption(f":material/receipt_long: Spent this month: {fmt.escape_markdown(month_note)}.")
if nearest is not None:
    with cols[2]:
        st.metric(
            "Nearest budget",
            fmt.pct(nearest.percent / 100),
            border=True,
            help="The budget closest to (or furthest past) its amount; the table below lists each.",
        )
        st.caption(
            fmt.escape_markdown(steer.budget_label(nearest))
            + f": {fmt.usd(nearest.spent_usd)} of {fmt.usd(nearest.budget_usd)}"
        )
draw.chart(
    charts.month_end_chart(
        cumulative_frame(steering.daily, organization),
        org_budget.budget_usd if org_budget else None,
        f"Organization budget {fmt.usd(org_budget.budget_usd)}" if org_budget else "Budget",
    )
)

# --- budgets -----------------------------------------------------------------------------------
st.subheader("Budgets")
if not report.budgets:
    st.info(
        "No budgets yet. Add them to the app's secrets (Community Cloud: *Settings → Secrets*; "
        "after the `NAME = value` lines, before `[auth]`) or to a file named by "
        "`SPEND_BUDGETS_FILE`, the same entries in both (an example is below). The Users page "
        "shows each user's id. `python -m spend alerts` reads the same secrets file. With an admin "
        "key, OpenAI's own spend limits and alerts show here too.",
        icon=":material/savings:",
    )
    # Plain preformatted text: a code block would load and run the syntax highlighter, half a
    # second of this page's first visit in a session (BENCHMARKS.md, issue 19).
    st.html(EXAMPLE_HTML)
else:
    rows = pd.DataFrame(
        [
            {
                "name": steer.budget_label(e, steering.frame)
                + {"spend_limit": " · OpenAI limit", "spend_alert": " · OpenAI alert"}.get(
                    e.kind, ""
                ),
                "status": steer.STATUS_TEXT[steer.budget_status(e.percent)],
                "used": e.percent / 100,
                "spent": e.spent_usd,
                "budget": e.budget_usd,
                # a closed month's forecast is its total; a number, so the column sorts as money
                "forecast": e.spent_usd if closed else e.forecast_usd,
                # ISO text sorts as dates; never "None"
                "crosses": e.crossing_date.isoformat() if e.crossing_date else "–",
                "crossed": ", ".join(f"{p:g} %" for p in e.crossed) or "–",
                "band": (
                    "month closed"
                    if closed
                    else f"{fmt.usd(e.forecast_low, decimals=0)} – "
                    f"{fmt.usd(e.forecast_high, decimals=0)}"
                    if e.forecast_low is not None
                    else "not enough history"
                ),
                "scope": e.scope.replace("_", " "),
                "basis": e.basis,
                "from": {"openai": "OpenAI (read-only)"}.get(e.origin, e.origin),
                "level": steer.budget_status(e.percent),
                "view": e.link,
            }
            for e in report.budgets
        ]
    )
    # Over 100 % red, from 80 % amber: the status cell says it in words and colour. The columns
    # fit a 1,400 px window beside the sidebar (tests/test_browser.py measures it); the scope is
    # in the name ("Research (project)"), and "level" only picks the colour.
    styles = dict(zip(rows.index, rows["level"].map(steer.STATUS_STYLE), strict=True))
    st.dataframe(
        rows.style.apply(lambda col: [styles[i] for i in col.index], subset=["status"]),
        hide_index=True,
        width="stretch",
        # what a 1,400 px window shows beside the sidebar (about 940 px); "crossed" and "from"
        # stay in the data (the name says when a budget is OpenAI's, read-only)
        column_order=[
            "name",
            "status",
            "used",
            "spent",
            "budget",
            "forecast",
            "band",
            "crosses",
            "basis",
            "view",
        ],
        column_config={
            "name": st.column_config.TextColumn("Budget", width=170),
            "status": st.column_config.TextColumn("Status", width=100),
            "used": st.column_config.ProgressColumn(
                "Used", format="percent", min_value=0.0, width=80
            ),
            "spent": st.column_config.NumberColumn(
                "Spent", format=tables.money_format(rows["spent"]), width=80
            ),
            "budget": st.column_config.NumberColumn(
                "Budget", format=tables.money_format(rows["budget"]), width=80
            ),
            "forecast": st.column_config.NumberColumn(
                "Forecast",
                format=tables.money_format(rows["forecast"]),
                width=80,
                help="Where the month should end at the recent daily rate",
            ),
            "crosses": st.column_config.TextColumn(
                "Crosses on", width=85, help="The day the forecast reaches the budget"
            ),
            "band": st.column_config.TextColumn(
                "80 % band", width=125, help="Where the month should end, 8 times in 10"
            ),
            "basis": st.column_config.TextColumn(
                "Basis",
                width=75,
                help="billed: the Costs API's money; estimated: tokens x list prices",
            ),
            "view": st.column_config.LinkColumn("View", display_text="open", width=45),
        },
    )
    if any(e.unpriced_rows for e in report.budgets):
        st.caption(
            "Some usage has no known price: it is not in the estimated figures (see the Overview)."
        )

# --- spikes ------------------------------------------------------------------------------------
st.subheader("Spikes")
st.caption(
    "A complete day far above its own usual and large in money, per user, model, project and "
    f"key, in the last 7 days to {steering.as_of:%b %d}. *Far above*: its spend is more than "
    "3.5 times its usual day-to-day swing above its middle day of the last 28 (a “robust "
    "z-score”, which one earlier spike cannot inflate); *large*: above 10 % of a typical day "
    "for the organization. Each links to the day, filtered to it.",
    help="Usual swing: the median distance of the 28 days from their median, scaled to match a "
    "standard deviation. A user who spends about the same every day needs a smaller jump to "
    "count than one who spends unevenly.",
)


def _spike_table(entries: tuple[SpikeEntry, ...]) -> None:
    frame = pd.DataFrame(
        [
            {
                "date": e.date.isoformat(),
                "dimension": e.dimension,
                "name": e.name,
                "cost_usd": e.cost_usd,
                "typical_usd": e.typical_usd,
                "link": e.link,
            }
            for e in entries
        ]
    )
    frame["dimension"] = frame["dimension"].str.replace("_", " ")
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "date": st.column_config.DateColumn("Day"),
            "dimension": "Of",
            "name": "Who / what",
            "cost_usd": st.column_config.NumberColumn(
                "That day", format=tables.money_format(frame["cost_usd"])
            ),
            "typical_usd": st.column_config.NumberColumn(
                "Typical day", format=tables.money_format(frame["typical_usd"])
            ),
            "link": st.column_config.LinkColumn("View", display_text="explain"),
        },
    )


if report.spikes:
    _spike_table(report.spikes)
else:
    st.caption(":material/check_circle: No spike in the last 7 days.")
if report.newcomers:
    st.markdown("**New keys and models spending**")
    _spike_table(report.newcomers)

# --- savings -----------------------------------------------------------------------------------
st.subheader("Savings this month")
saved = report.watch
s = st.columns(3)
s[0].metric(
    "Saved by cached input",
    fmt.usd(saved.cached_input_saved),
    border=True,
    help="Cached input tokens at the full input rate minus what they cost at the cached rate.",
)
with s[1]:
    st.metric(
        "Saved by batch",
        fmt.usd(saved.batch_saved) if saved.batch_saved is not None else fmt.DASH,
        border=True,
        help="List price without the batch discount minus what batch usage cost. Only the admin "
        "source says which usage was batch.",
    )
    if saved.batch_saved is None:
        st.caption("Not known: this source does not say which usage was batch (an admin key does).")
s[2].metric("Input tokens cached", fmt.pct(saved.cached_input_share), border=True)
if saved.savings_unpriced_rows:
    st.caption(
        f"{saved.savings_unpriced_rows:,} usage rows have no known price: no saving is claimed "
        "for them."
    )
