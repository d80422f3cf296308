"""Raw data: the filtered usage table, and exactly that as CSV or as FOCUS 1.3 (CSV, Parquet)."""

import streamlit as st

from spend.export import to_csv
from spend.focus import focus_csv, focus_of, focus_parquet
from spend.ui import tables
from spend.ui.view import open_page

#: The browser table shows at most this many rows (newest first); the CSV always has every row.
MAX_TABLE_ROWS = 5_000

view = open_page("Raw data", require_rows=False)

rows = view.frame
st.caption(
    f"**{len(rows):,} rows** · {view.start} to {view.end} ({view.zone_name}) · one row per day x "
    "project x user "
    "x key x "
    "model x kind of usage. Unpriced rows have an empty cost, never $0. The CSV's header is the "
    "usage "
    "table's column names (`date, source, project_id, …`)."
)
st.download_button(
    "Download CSV",
    lambda: to_csv(rows),
    file_name=f"openai-usage-{view.start}-{view.end}.csv",
    mime="text/csv",
    icon=":material/download:",
    key="download_csv",
    on_click="ignore",
)
FOCUS_HELP = (
    "The same rows in FOCUS 1.3, the FinOps Foundation's cost format: one row per day x project x "
    "key x model x charge, BilledCost (billed money allocated to usage), ListCost (the estimate)."
)
settings = view.loaded.settings  # the zone the view's dates are days of (UTC when chosen)
focus_left, focus_right = st.columns(2)
focus_left.download_button(
    "Download FOCUS (CSV)",
    lambda: focus_csv(focus_of(rows, settings)),
    file_name=f"ai-spend-focus-{view.start}-{view.end}.csv",
    mime="text/csv",
    icon=":material/download:",
    key="download_focus_csv",
    on_click="ignore",
    help=FOCUS_HELP,
)
focus_right.download_button(
    "Download FOCUS (Parquet)",
    lambda: focus_parquet(focus_of(rows, settings)),
    file_name=f"ai-spend-focus-{view.start}-{view.end}.parquet",
    mime="application/vnd.apache.parquet",
    icon=":material/download:",
    key="download_focus_parquet",
    on_click="ignore",
    help=FOCUS_HELP,
)
shown = tables.newest_first(rows, MAX_TABLE_ROWS)
if len(rows) > MAX_TABLE_ROWS:
    st.caption(f"Showing the newest {MAX_TABLE_ROWS:,} rows; the CSV has all {len(rows):,}.")
tables.show(
    shown,
    columns=tables.RAW_ORDER + [c for c in shown.columns if c not in tables.RAW_ORDER],
    height=tables.fitted_height(len(shown), most=600),
    drop_empty=False,
)
