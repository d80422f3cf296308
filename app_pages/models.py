"""Models: cost, tokens and unit prices per model, and cost over time per model."""

import streamlit as st

from spend import allocate, analysis, charts
from spend.ui import draw, tables
from spend.ui.view import derive, open_page, time_series

view = open_page("Models")

per_model = allocate.beside(  # billed money beside the estimate, where there is billed money
    derive(view, analysis.by_model),
    derive(view, allocate.billed_by, ["model", "operation"], missing=analysis.UNKNOWN),
    on=["model", "operation"],
)
tokens = per_model[per_model["unit"].isna()]
others = per_model[per_model["unit"].notna()]

st.subheader("Token models")
# money first: at 1,400 px every money column shows without scrolling the table sideways
tables.show(
    tokens,
    columns=[
        "model",
        "cost_usd",
        "billed_usd",
        "cost_per_1m_tokens",
        "cost_per_1k_requests",
        "cost_basis",
        "share",
        "requests",
        "input_tokens",
        "cached_input_tokens",
        "output_tokens",
        "operation",
    ],
)
if len(others):
    st.subheader("Images, audio and tools (in their own units)")
    tables.show(
        others,
        columns=[
            "model",
            "cost_usd",
            "billed_usd",
            "cost_per_1k_requests",
            "cost_basis",
            "share",
            "units",
            "unit",
            "requests",
            "operation",
        ],
    )
requests_note = derive(view, analysis.request_coverage).note
if requests_note:  # Anthropic's usage has no request count: its requests show "—", never 0
    st.caption(f":material/info: {requests_note}")
if per_model["any_unpriced"].any():
    st.caption(
        "Rows marked *unpriced* have no known price: their cost is empty, never $0. "
        "Add a price in a prices file (SPEND_PRICES_FILE) to include them."
    )

ranking = list(per_model["model"].dropna().unique())  # one colour per model in both charts
st.subheader("Cost over time per model")
draw.chart(
    charts.over_time(
        time_series(view, by="model", top_n=8),
        order=ranking,
        bucket=view.bucket,
    )
)
st.subheader("Tokens over time per model")
draw.chart(
    charts.over_time(
        time_series(view, by="model", value="total_tokens", top_n=8),
        value="total_tokens",
        order=ranking,
        bucket=view.bucket,
    )
)
