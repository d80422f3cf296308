"""The usage table into CSV that is safe to open in a spreadsheet."""

from __future__ import annotations

import pandas as pd

from spend.schema import COLUMNS

#: A cell starting with one of these is run as a formula by Excel/Sheets/LibreOffice (CSV
#: injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> object:
    """A text cell into one a spreadsheet shows as text, e.g. ``"=HYPERLINK(...)" ->
    "'=HYPERLINK(...)"``; numbers unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_for_spreadsheet(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text column's formula-like cells escaped; returns a new frame."""
    out = frame.copy()
    for name in out.columns:
        if pd.api.types.is_string_dtype(out[name]) or out[name].dtype == object:
            out[name] = out[name].map(escape_cell, na_action="ignore")
    return out


def to_csv(frame: pd.DataFrame) -> str:
    """The usage table into CSV text: schema columns first (the header), dates as YYYY-MM-DD, cells
    escaped."""
    columns = [c for c in COLUMNS if c in frame.columns] + [
        c for c in frame.columns if c not in COLUMNS
    ]
    out = safe_for_spreadsheet(frame[columns])
    if "cost_usd" in out.columns:  # to the millionth of a dollar: no 7.543760000000001
        out["cost_usd"] = out["cost_usd"].round(6)
    if "date" in out.columns:
        out["date"] = pd.to_datetime(out["date"]).dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False)
