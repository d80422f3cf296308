"""Users: spend per user, the top users over time, and one user's models."""

import streamlit as st

from spend import analysis, charts
from spend.ui import tables
from spend.ui.view import open_page

view = open_page("Users")

per_user = analysis.by_user(view.frame)
if view.source == "legacy" and per_user["user_id"].eq(analysis.NO_USER).all():
    st.info(
        "The legacy endpoint's org-wide answer names no users. Turn on **Attribute usage to "
        "users** under "
        "*Connection* to fetch usage user by user (more requests), or use an admin key.",
        icon=":material/group_off:",
    )

tables.show(
    per_user,
    columns=["short_label", "email", "cost_usd", "share", "requests", "total_tokens", "top_model"],
)
st.caption(
    "Per-user money is estimated from tokens x prices: OpenAI's Costs API never splits by user."
)

st.subheader("Cost over time, top users")
st.altair_chart(
    charts.over_time(
        analysis.daily(
            view.frame,
            by="user_id",
            start=view.start,
            end=view.end,
            top_n=8,
            labels=dict(zip(per_user["user_id"], per_user["short_label"], strict=True)),
        ),
        color_title="User",
    )
)

st.subheader("One user")
labels = dict(zip(per_user["user_id"], per_user["label"], strict=True))
ranking = list(
    analysis.by_dimension(view.frame, "model")["id"]
)  # the same colour per model as elsewhere
chosen = st.selectbox("User", list(labels), format_func=labels.get, key="user_detail")
series, models = analysis.user_detail(view.frame, chosen, start=view.start, end=view.end)
st.altair_chart(charts.over_time(series, order=ranking))
tables.show(
    models,
    columns=[
        "model",
        "cost_usd",
        "share",
        "requests",
        "total_tokens",
        "units",
        "unit",
        "operation",
    ],
)
