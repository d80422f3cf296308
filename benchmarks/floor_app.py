"""The framework's floor: the least a two-page Streamlit app like ours costs to switch pages.

    .venv/bin/streamlit run benchmarks/floor_app.py

Two pages (``st.navigation`` of two ``st.Page``), each drawing what a page of the real app draws at
least: a title, four ``st.metric``, three small Altair charts and a 50-row ``st.dataframe``. The
data costs nothing: made once per server (``st.cache_data``) from a fixed seed, no I/O, no
settings, no sidebar of its own. ``benchmarks/browser.py --parts floor`` times page switches here
and in the real app, interleaved in one run: the ratio says how far the app is from this floor.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

#: (page title, seed): the titles are the h1s and the sidebar links the benchmark clicks.
PAGES = (("Floor one", 1), ("Floor two", 2))
ROWS = 50


@st.cache_data
def table(seed: int) -> pd.DataFrame:
    """A seed into 50 days of made-up spend by model (the same numbers every time)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2026-01-01", periods=ROWS, freq="D")
    return pd.DataFrame(
        {
            "date": days,
            "model": rng.choice(["gpt-a", "gpt-b", "gpt-c", "gpt-d"], ROWS),
            "requests": rng.integers(100, 5_000, ROWS),
            "tokens": rng.integers(10_000, 2_000_000, ROWS),
            "cost_usd": rng.gamma(2.0, 3.0, ROWS).round(2),
        }
    )


def draw(title: str, seed: int) -> None:
    """One page: title, four metrics, three charts, the table."""
    frame = table(seed)
    st.title(title)
    for column, (label, value) in zip(
        st.columns(4),
        (
            ("Spend", f"${frame['cost_usd'].sum():,.2f}"),
            ("Requests", f"{frame['requests'].sum():,}"),
            ("Tokens", f"{frame['tokens'].sum():,}"),
            ("Models", str(frame["model"].nunique())),
        ),
        strict=True,
    ):
        column.metric(label, value, delta="+1.0 %")
    base = alt.Chart(frame).properties(height=220)
    st.altair_chart(base.mark_bar().encode(x="date:T", y="sum(cost_usd):Q", color="model:N"))
    left, right = st.columns(2)
    left.altair_chart(base.mark_line().encode(x="date:T", y="requests:Q"))
    right.altair_chart(base.mark_arc().encode(theta="sum(cost_usd):Q", color="model:N"))
    st.dataframe(frame, hide_index=True)


st.set_page_config(page_title="Floor", layout="wide")
page = st.navigation(
    [
        st.Page(lambda t=t, s=s: draw(t, s), title=t, url_path=t.lower().replace(" ", "-"))
        for t, s in PAGES
    ]
)
page.run()
