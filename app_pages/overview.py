"""Overview: headline figures against the previous period, spend and requests over time, top models
and users."""

import pandas as pd
import streamlit as st

from spend import allocate, analysis, charts, pricing
from spend import formatting as fmt
from spend.dates import span
from spend.ui import draw, steer, tables
from spend.ui.view import derive, open_page, time_series

view = open_page("Overview")

now = derive(view, analysis.totals, of="history", start=view.start, end=view.end)
compared = view.comparison
if compared.current is not None:
    complete = derive(
        view, analysis.totals, of="history", start=compared.current[0], end=compared.current[1]
    )
    deltas = derive(
        view,
        analysis.compare,
        of="history",
        start=compared.current[0],
        end=compared.current[1],
        previous=compared.previous,
    )
else:
    complete, deltas = None, {}


def _metric(column, label: str, value: str, compared_as: str, **kw) -> None:
    """One headline figure with its change: complete days against as many of the same weekdays
    (a calendar month against the one before, per day), when that period is loaded whole. The
    caption under the row says what is compared with what (five figures in a row at 1,400 px
    leave a figure's own caption about ten characters)."""
    change = deltas[compared_as].pct_change if compared_as in deltas else None
    shown = fmt.delta_pct(change) if view.previous_complete and change is not None else None
    column.metric(label, value, shown, border=True, **kw)


if compared.today is not None and compared.current is None:
    st.info(
        f"Today is the only day in this range and it is not over yet ({view.zone_name}): figures "
        "are today's so "
        "far, with no comparison until a day is complete.",
        icon=":material/today:",
    )
# Today apart, once the data reaches it (the demo organization ends yesterday).
show_today = compared.today is not None and view.history["date"].max() == pd.Timestamp(
    compared.today
)
cols = st.columns(5 if show_today else 4)
_metric(
    cols[0],
    f"Spend ({now.basis})",
    fmt.usd(now.spend),
    "spend",
    delta_color="inverse",
    help="Billed money from the Costs API for the days it has reported; estimated from tokens x "
    "prices for the days it has not (yet) and for providers without a bill. The change compares "
    "complete days only, on the same basis on both sides.",
)
requests_note = now.requests_cover.note  # Anthropic counts tokens, not requests
_metric(
    cols[1],
    "Requests",
    fmt.integer(now.requests) if now.requests_known else fmt.DASH,
    "requests",
    delta_color="off",
    help=requests_note,
)
_metric(
    cols[2],
    "Tokens",
    fmt.tokens_compact(now.total_tokens),
    "total_tokens",
    delta_color="off",
    help=f"{fmt.integer(now.input_tokens)} input ({fmt.integer(now.cached_input_tokens)} cached) + "
    f"{fmt.integer(now.output_tokens)} output",
)
_metric(
    cols[3],
    "Average per complete day",
    fmt.usd(complete.avg_spend_per_day) if complete is not None else fmt.DASH,
    "avg_spend_per_day",
    delta_color="inverse",
    help=f"Spend per {view.zone_name} day over the range's complete days (today, still running, "
    "is not in it).",
)
if show_today:
    today = derive(view, analysis.totals, of="history", start=compared.today, end=compared.today)
    today_note = today.parts.note(fmt.usd)
    cols[4].metric(
        f"Today so far ({today.basis})",
        fmt.usd(today.spend),
        border=True,
        help=f"Today's spend so far ({view.zone_name}): a partial day, shown apart and left out "
        "of every average and change." + (f" Its money: {today_note}." if today_note else ""),
    )
parts_note = now.parts.note(fmt.usd)
if parts_note:  # a figure that mixes billed and estimated money says which part is which
    st.caption(f":material/receipt_long: Spend: {fmt.escape_markdown(parts_note)}.")
if compared.previous is not None:
    spend_basis = deltas["spend"].basis if "spend" in deltas else now.basis
    on_estimates = (
        " Spend changes compare the estimate on both sides (part of the bill is not in yet)."
        if view.previous_complete and spend_basis != now.basis
        else ""
    )
    st.caption(
        f":material/compare_arrows: Changes: {compared.label}.{on_estimates}"
        if view.previous_complete
        else f":material/compare_arrows: No changes: {span(*compared.previous)}, what "
        f"{span(*compared.current)} compares with, is not all in the data."
    )

with st.container(border=True):
    steering = steer.month_end(view)
    forecast = steering.organization
    nearest = steer.nearest_budget(steering.budgets)
    month = st.columns([2, 2, 3])
    closed = forecast.as_of == forecast.month_end  # the 1st: last month is complete
    month[0].metric(
        f"{steering.as_of:%B} {'total' if closed else 'so far'} ({steering.basis})",
        fmt.usd(forecast.month_to_date),
    )
    month[1].metric(
        "Month-end forecast",
        "month closed"
        if closed
        else fmt.usd(forecast.forecast_usd)
        if forecast.forecast_usd is not None
        else fmt.DASH,
        help=(
            f"80 % band {fmt.usd(forecast.low_usd)} – {fmt.usd(forecast.high_usd)}"
            if forecast.low_usd is not None
            else "Needs 7 complete days of history."
        ),
    )
    if nearest is not None:
        month[2].metric(
            "Nearest budget",
            f"{fmt.pct(nearest.percent / 100)} of {fmt.usd(nearest.budget_usd)}",
            help="Used so far; the Budgets & alerts page lists every budget.",
        )
        month[2].caption(fmt.escape_markdown(steer.budget_label(nearest)))
    else:
        month[2].caption("No budget set: see *Budgets & alerts* to add one.")
    month_note = steering.measure.parts.note(fmt.usd) if steering.measure.parts else None
    if month_note:
        st.caption(
            f":material/receipt_long: {steering.as_of:%B}: {fmt.escape_markdown(month_note)}."
        )
    # the month as of yesterday, whatever the range's end; budgets are the organization's
    st.caption(
        f":material/domain: Whole organization, {steering.as_of:%B} 1–{steering.as_of.day} "
        f"({view.zone_name}, complete days): the sidebar's range and filters do not apply to "
        "this card."
    )
    st.page_link(
        "app_pages/budgets.py",
        label="Budgets, forecast, spikes and savings",
        icon=":material/savings:",
    )

providers = derive(view, analysis.by_provider, of="frame")
if len(providers) > 1:
    st.subheader("Spend by provider")
    shown = st.columns(len(providers))
    for column, row in zip(shown, providers.itertuples(index=False), strict=True):
        requests = fmt.DASH if pd.isna(row.requests) else fmt.integer(row.requests)
        column.metric(
            f"{fmt.escape_markdown(row.label)} ({row.basis})",
            fmt.usd(row.spend),
            border=True,
            help=f"{fmt.pct(row.share) if not pd.isna(row.share) else fmt.DASH} of the spend; "
            f"{requests} requests, {fmt.tokens_compact(row.total_tokens)} tokens.",
        )
    draw.chart(charts.provider_bars(providers))
    if (providers["basis"] == "billed").any() and (providers["basis"] == "estimated").any():
        st.caption(
            "Each provider's spend is its bill where its API gives one, else the estimate from "
            "tokens x prices."
        )

if now.billed is not None:
    st.subheader("Billed against estimated")
    st.caption(
        "**Billed** comes from OpenAI's Costs API and is what the invoice shows: it is "
        "authoritative. "
        "**Estimated** is tokens x list prices, which is how per-model and per-user money is split."
    )
    b = st.columns(3)
    b[0].metric("Billed (authoritative)", fmt.usd(now.billed), border=True)
    b[1].metric("Estimated from usage", fmt.usd(now.estimated), border=True)
    b[2].metric(
        "Gap (billed − estimated)",
        fmt.usd(now.gap),
        border=True,
        help="The bill against the estimate of the same days and providers: a day the Costs API "
        "has not reported yet, or a provider without a bill, is on neither side.",
    )
    draw.chart(
        charts.billed_vs_estimated_chart(
            derive(view, analysis.billed_vs_estimated, start=view.start, end=view.end)
        )
    )

if now.unpriced_share > 0:
    missing = derive(view, analysis.unpriced)
    # requests where they are counted (Anthropic's unpriced usage has none: never "0 requests")
    counted = missing["requests"].notna()
    unpriced_requests = (
        f", {fmt.integer(now.unpriced_requests)} requests"
        + ("" if counted.all() else " where counted")
        if counted.any()
        else ""
    )
    st.warning(
        f"**{fmt.pct(now.unpriced_share)} of usage has no known price** and is not in the money "
        "figures "
        f"({fmt.integer(now.unpriced_tokens)} tokens{unpriced_requests}): "
        f"{', '.join(map(fmt.escape_markdown, missing['model'].astype(str).head(5)))}. Add its "
        "price in a prices file "
        "(SPEND_PRICES_FILE) "
        "to include it.",
        icon=":material/money_off:",
    )

lower = derive(view, pricing.lower_bound_summary)
if len(lower):
    models = ", ".join(map(fmt.escape_markdown, lower["model"].astype(str).unique()[:5]))
    st.info(
        f"**{fmt.usd(float(lower['cost_usd'].sum()))} of the estimate is a lower bound**: usage "
        f"of {models} came without its audio/image split, at a tier without a price, or with more "
        "input per request than a long-context threshold (272K tokens for gpt-5.4) without saying "
        "which requests were long, so it is priced at the least it can cost; the bill is higher. "
        "The admin key's Costs API gives the "
        "billed figure.",
        icon=":material/arrow_upward:",
    )

families = derive(view, analysis.by_dimension, "model_family")
st.subheader("Spend over time by model")
bucket = view.bucket  # the sidebar's "Bars per": a day up to two months, a week to a year
draw.chart(
    charts.over_time(
        time_series(view, by="model_family"),
        order=list(families["id"]),
        bucket=bucket,
    )
)
if bucket == "month":
    months = analysis.month_over_month(time_series(view, by="model_family", bucket="day"))
    st.dataframe(
        months.assign(month=months["month"].dt.strftime("%B %Y")),
        hide_index=True,
        column_config={
            "month": st.column_config.TextColumn("Month"),
            "value": st.column_config.NumberColumn(
                "Spend (est.)", format=tables.money_format(months["value"])
            ),
            "days": st.column_config.NumberColumn("Days in range", format="%d"),
            "change": st.column_config.NumberColumn(
                "Change on the month before",
                format="percent",
                help="Only between two whole months: a month cut by the range shows –",
            ),
        },
        placeholder="–",
    )
st.subheader("Requests over time")
if now.requests_known:
    draw.chart(
        charts.over_time(
            time_series(view, by="operation", value="n_requests"),
            value="n_requests",
            color_title="Kind of usage",
            bucket=bucket,
        )
    )
if requests_note:
    st.caption(f":material/info: {requests_note}")

left, right = st.columns(2)
with left:
    st.subheader("Top models")
    draw.chart(
        charts.bar_ranking(
            derive(view, analysis.by_dimension, "model"),
            value="cost_usd",
            label="label",
            label_title="Model",
            top_n=10,
            title="Cost (USD)",
        )
    )
with right:
    st.subheader("Top users")
    top_users = allocate.beside(  # ranked by billed money where there is billed money
        derive(view, analysis.by_user),
        derive(view, allocate.billed_by, "user_id", missing=analysis.NO_USER),
        on="user_id",
    )
    draw.chart(
        charts.bar_ranking(
            top_users,
            value="billed_usd" if "billed_usd" in top_users.columns else "cost_usd",
            label="short_label",
            label_title="User",
            top_n=10,
        )
    )

st.caption(analysis.freshness(view.full, now=view.wall_now).text + f" ({view.zone_name} days).")
