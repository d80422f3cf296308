"""Readable column formats for the tables the pages show (money as $1,234.56, counts with
separators)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

MONEY = {"cost_usd", "billed_usd", "estimated", "billed", "gap", "cost_per_1k_requests"}
COUNTS = {
    "requests",
    "n_requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "total_tokens",
}

LABELS = {
    "model": "Model",
    "model_family": "Family",
    "operation": "Operation",
    "unit": "Unit",
    "units": "Units",
    "requests": "Requests",
    "n_requests": "Requests",
    "input_tokens": "Input tokens",
    "cached_input_tokens": "Cached input",
    "output_tokens": "Output tokens",
    "total_tokens": "Tokens",
    "cost_usd": "Cost (est.)",
    "billed_usd": "Billed",
    "cost_basis": "Cost basis",
    "cost_per_1m_tokens": "$ / 1M tokens",
    "cost_per_1k_requests": "$ / 1k requests",
    "share": "Share of spend",
    "name": "Name",
    "email": "Email",
    "label": "Name",
    "top_model": "Top model",
    "id": "Id",
    "date": "Date",
    "source": "Source",
    "project_id": "Project id",
    "project_name": "Project",
    "user_id": "User id",
    "user_name": "User",
    "user_email": "Email",
    "api_key_id": "Key id",
    "api_key_name": "Key",
    "short_label": "User",
    "line_item": "Line item",
    "image_size": "Image size",
    "batch": "Batch",
    "any_unpriced": "Unpriced?",
    "project": "Project",
}


#: The grid's number formats, as printf strings: the grid formats them with its own ``sprintf``
#: (each format parsed once), where its named formats ("dollar", "localized", "percent") build an
#: ``Intl.NumberFormat`` for every cell it draws, 10-25 ms of the browser's main thread on each
#: switch to a page with tables. The same digits as ``spend.formatting``: money $1,234.56, counts
#: 1,234,567, shares 12.3% (the share column is shown as a percentage, 0-100).
MONEY_FORMAT = "$%,.2f"
COUNT_FORMAT = "%,d"
SHARE_FORMAT = "%.1f%%"
#: A share column with a share below this (not zero) shows two decimals: 0.04%, never 0.0%.
SMALLEST_SHARE = 0.0005
FINE_SHARE_FORMAT = "%.2f%%"


def column_config(columns, *, negative=frozenset(), fine_share=False) -> dict:
    """Column names into Streamlit column configs: money, counts, shares, dates, progress bars for
    share (a percentage, 0-100: ``shown``).

    A money column in ``negative`` keeps the grid's "dollar" format: it holds an amount below zero,
    which reads -$1.50 there and $-1.50 in printf. ``fine_share``: the share column has a share
    too small for one decimal, so it shows two (0.04%)."""
    config: dict = {}
    for name in columns:
        label = LABELS.get(name, name)
        if name in MONEY:
            money = "dollar" if name in negative else MONEY_FORMAT
            config[name] = st.column_config.NumberColumn(label, format=money)
        elif name == "cost_per_1m_tokens":
            config[name] = st.column_config.NumberColumn(label, format="$%.4f")
        elif name in COUNTS:
            config[name] = st.column_config.NumberColumn(label, format=COUNT_FORMAT)
        elif name == "units":  # fractional quantities (seconds, GB): the browser's own digits
            config[name] = st.column_config.NumberColumn(label, format="localized")
        elif name == "share":
            config[name] = st.column_config.ProgressColumn(
                label,
                format=FINE_SHARE_FORMAT if fine_share else SHARE_FORMAT,
                min_value=0.0,
                max_value=100.0,
            )
        elif name == "date":
            config[name] = st.column_config.DateColumn(label, format="YYYY-MM-DD")
        else:
            config[name] = st.column_config.Column(label)
    return config


def money_format(values) -> str:
    """A money column's values into its grid format: ``MONEY_FORMAT`` ("$1,234.56"), or the grid's
    "dollar" when one is below zero (printf would read $-1.50), e.g. a month with a credit."""
    numbers = pd.to_numeric(pd.Series(values), errors="coerce")  # no forecast yet: NaN, not < 0
    return "dollar" if bool((numbers < 0).any()) else MONEY_FORMAT


def shown(frame) -> tuple:
    """A readable frame into the numbers its grid draws and how (``column_config``'s arguments):
    a share as a percentage, e.g. 0.25 -> 25.0 (always 0-100, also in the grid's own download);
    the money columns holding an amount below zero; and whether a share is too small for one
    decimal."""
    negative = frozenset(
        name for name in MONEY & set(frame.columns) if money_format(frame[name]) != MONEY_FORMAT
    )
    fine = False
    if "share" in frame.columns:
        size = frame["share"].abs()
        fine = bool((size.gt(0) & size.lt(SMALLEST_SHARE)).any())
        frame = frame.assign(share=frame["share"] * 100)
    return frame, {"negative": negative, "fine_share": fine}


#: The raw table on screen: what people read first (the CSV keeps the schema's order).
RAW_ORDER = [
    "date",
    "model",
    "cost_usd",
    "cost_basis",
    "user_name",
    "user_email",
    "project_name",
    "api_key_name",
    "operation",
    "n_requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "units",
    "unit",
]


ROW_PX = 35


def fitted_height(rows: int, *, most: int = 600) -> int:
    """A row count into a table height that fits them, at most ``most`` pixels, e.g. 3 rows ->
    143."""
    return min(most, ROW_PX * (rows + 1) + 3)


def newest_first(frame, n: int):
    """The ``n`` newest rows of a usage table, newest first, without copying the whole table to sort
    it."""
    days = frame["date"].to_numpy().astype("int64")
    order = (-days).argsort(kind="stable")[:n]
    return frame.iloc[order]


def readable(frame, *, columns=None, drop_empty=True):
    """A frame into what a table shows: ``columns`` in that order, columns empty throughout dropped
    (``drop_empty``), and missing text as blank instead of "None"."""
    if columns is not None:
        frame = frame[[c for c in columns if c in frame.columns]]
    if drop_empty:
        frame = frame[[c for c in frame.columns if frame[c].notna().any()]]
    text = [c for c in frame.columns if str(frame[c].dtype) in ("string", "object", "category")]
    return (
        frame.assign(**{c: frame[c].astype("string").fillna("") for c in text}) if text else frame
    )


def show(frame, *, columns=None, height="auto", key=None, drop_empty=True) -> None:
    """A frame as a readable, full-width table (only ``columns`` when given, in that order)."""
    frame, how = shown(readable(frame, columns=columns, drop_empty=drop_empty))
    st.dataframe(
        frame,
        hide_index=True,
        column_config=column_config(frame.columns, **how),
        height=height,
        key=key,
        placeholder="—",
    )  # a missing number (unpriced cost) is a dash, not "None"
