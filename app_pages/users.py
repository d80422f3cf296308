"""Users: spend per user, the top users over time, and one user's models."""

import streamlit as st

from spend import allocate, analysis, charts
from spend import formatting as fmt
from spend.ui import draw, tables
from spend.ui.view import derive, open_page, time_series

view = open_page("Users")

per_user = allocate.beside(  # billed money beside the estimate, where there is billed money
    derive(view, analysis.by_user),
    derive(view, allocate.billed_by, "user_id", missing=analysis.NO_USER),
    on="user_id",
)
if view.source == "legacy" and per_user["user_id"].eq(analysis.NO_USER).all():
    st.info(
        "The legacy endpoint's org-wide answer names no users. Turn on **Attribute usage to "
        "users** under "
        "*Connection* to fetch usage user by user (more requests), or use an admin key.",
        icon=":material/group_off:",
    )

tables.show(
    per_user,
    # cost before e-mail: on a phone the first columns are what shows; the id last, to copy into
    # a user budget (an e-mail works there too)
    columns=[
        "short_label",
        "cost_usd",
        "billed_usd",
        "email",
        "share",
        "requests",
        "total_tokens",
        "top_model",
        "user_id",
    ],
)
requests_note = derive(view, analysis.request_coverage).note
if requests_note:  # Anthropic's usage has no request count: its requests show "—", never 0
    st.caption(f":material/info: {requests_note}")
st.caption(
    "Per-user money is estimated from tokens x prices: OpenAI's Costs API never splits by user."
    + (
        " Billed is the billed money allocated to each user's usage in proportion to its estimate; "
        "billed money that covers no usage is on the row without a user id."
        if "billed_usd" in per_user.columns
        else ""
    )
    + (
        f" Anthropic's usage report names no users: Claude usage is under {analysis.NO_USER}."
        if "provider" in view.frame.columns and view.frame["provider"].eq("anthropic").any()
        else ""
    )
)

TOP_USERS = 8
st.subheader(f"Cost over time, top {TOP_USERS} users")
draw.chart(
    charts.over_time(
        time_series(
            view,
            by="user_id",
            top_n=TOP_USERS,
            others=False,  # a long tail summed into one band would dwarf the users compared
            labels=dict(zip(per_user["user_id"], per_user["short_label"], strict=True)),
        ),
        color_title="User",
        bucket=view.bucket,
    )
)
if len(per_user) > TOP_USERS:
    top_share = float(per_user["share"].head(TOP_USERS).fillna(0).sum())
    st.caption(
        f"The {TOP_USERS} users who spent most: {fmt.pct(top_share)} of the spend. The other "
        f"{len(per_user) - TOP_USERS:,} users are in the table above."
    )

st.subheader("One user")
labels = dict(zip(per_user["user_id"], per_user["label"], strict=True))
ranking = list(
    derive(view, analysis.by_dimension, "model")["id"]
)  # the same colour per model as elsewhere
chosen = st.selectbox("User", list(labels), format_func=labels.get, key="user_detail")
series, models = derive(view, analysis.user_detail, chosen, start=view.start, end=view.end)
draw.chart(
    charts.over_time(analysis.bucketed(series, view.bucket), order=ranking, bucket=view.bucket)
)
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
