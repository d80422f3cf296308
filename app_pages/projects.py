"""Projects & keys: spend per project and per API key (billed where the Costs API gives it)."""

import streamlit as st

from spend import analysis, charts
from spend.ui import draw, tables
from spend.ui.view import derive, open_page, time_series

view = open_page("Projects & API keys")

requests_note = derive(view, analysis.request_coverage).note
if requests_note:  # Anthropic's usage has no request count: its requests show "—", never 0
    st.caption(f":material/info: {requests_note}")
columns = ["label", "project", "billed_usd", "cost_usd", "share", "requests", "total_tokens", "id"]
for dim, title in (("project", "Projects"), ("api_key", "API keys")):
    st.subheader(title)
    table = derive(view, analysis.by_dimension, dim)
    if table["id"].eq(analysis.UNKNOWN).all():
        st.info(f"This source reports no {title.lower()} for this range.", icon=":material/info:")
        continue
    tables.show(table, columns=columns)
    draw.chart(
        charts.over_time(
            time_series(
                view, by=f"{dim}_id", labels=dict(zip(table["id"], table["label"], strict=True))
            ),
            color_title=title[:-1],
            bucket=view.bucket,
        )
    )

by_operation = derive(view, analysis.by_dimension, "operation")
st.subheader("By kind of usage")
tables.show(by_operation, columns=["label", "cost_usd", "share", "requests", "total_tokens"])
