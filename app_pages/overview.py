"""Overview: headline figures against the previous period, spend and requests over time, top models
and users."""

import streamlit as st

from spend import analysis, charts
from spend import formatting as fmt
from spend.ui.view import open_page

view = open_page("Overview")

now = analysis.totals(view.history, start=view.start, end=view.end)
deltas = analysis.compare(view.history, start=view.start, end=view.end)
versus = (
    f"vs prior {now.days} days" if view.previous_complete else "no full prior period to compare"
)


def _metric(column, label: str, value: str, compared: str, **kw) -> None:
    """One headline figure with its change against the previous period (when that is complete)."""
    change = deltas[compared].pct_change
    shown = fmt.delta_pct(change) if view.previous_complete and change is not None else None
    column.metric(label, value, shown, delta_description=versus, border=True, **kw)


cols = st.columns(4)
_metric(
    cols[0],
    f"Spend ({now.basis})",
    fmt.usd(now.spend),
    "spend",
    delta_color="inverse",
    help="Billed money from OpenAI's Costs API when available; otherwise estimated from tokens x "
    "prices.",
)
_metric(cols[1], "Requests", fmt.integer(now.requests), "requests", delta_color="off")
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
    "Average per day",
    fmt.usd(now.avg_spend_per_day),
    "avg_spend_per_day",
    delta_color="inverse",
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
    b[2].metric("Gap (billed − estimated)", fmt.usd(now.gap), border=True)
    st.altair_chart(
        charts.billed_vs_estimated_chart(
            analysis.billed_vs_estimated(view.frame, start=view.start, end=view.end)
        )
    )

if now.unpriced_share > 0:
    missing = analysis.unpriced(view.frame)
    st.warning(
        f"**{fmt.pct(now.unpriced_share)} of usage has no known price** and is not in the money "
        "figures "
        f"({fmt.integer(now.unpriced_tokens)} tokens, {fmt.integer(now.unpriced_requests)} "
        "requests): "
        f"{', '.join(missing['model'].astype(str).head(5))}. Add its price in a prices file "
        "(SPEND_PRICES_FILE) "
        "to include it.",
        icon=":material/money_off:",
    )

families = analysis.by_dimension(view.frame, "model_family")
st.subheader("Spend over time by model")
st.altair_chart(
    charts.over_time(
        analysis.daily(view.frame, by="model_family", start=view.start, end=view.end),
        order=list(families["id"]),
    )
)
st.subheader("Requests over time")
st.altair_chart(
    charts.over_time(
        analysis.daily(
            view.frame, by="operation", value="n_requests", start=view.start, end=view.end
        ),
        value="n_requests",
        color_title="Kind of usage",
    )
)

left, right = st.columns(2)
with left:
    st.subheader("Top models")
    st.altair_chart(
        charts.bar_ranking(
            analysis.by_dimension(view.frame, "model"),
            value="cost_usd",
            label="label",
            top_n=10,
            title="Cost (USD)",
        )
    )
with right:
    st.subheader("Top users")
    st.altair_chart(
        charts.bar_ranking(
            analysis.by_user(view.frame), value="cost_usd", label="short_label", top_n=10
        )
    )

st.caption(analysis.freshness(view.full, now=view.now).text + " (UTC days).")
