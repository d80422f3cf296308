"""The usage table into CSV that is safe to open in a spreadsheet."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
from pyarrow import csv

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


def _escaped(column: pd.Series) -> pd.Series:
    """A text column into one whose formula-like cells start with ``'``, vectorised: categories
    are escaped once each (a few hundred names, not two million cells)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        names = pd.Series(column.cat.categories.astype(str))
        risky = names.str.startswith(FORMULA_PREFIXES)
        if not risky.any():
            return column
        escaped = names.where(~risky, "'" + names)
        if escaped.duplicated().any():  # "'=x" was already a name: fall back to plain text
            return _escaped(column.astype("string"))
        return column.cat.rename_categories(list(escaped))
    if column.dtype == object:  # mixed cells: only text is escaped, a number stays a number
        return column.map(escape_cell, na_action="ignore")
    text = column.astype("string")
    risky = text.str.startswith(FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool)
    return text.where(~risky, "'" + text) if risky.any() else column


def safe_for_spreadsheet(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text column's formula-like cells escaped, e.g. ``"=1+1" -> "'=1+1"``; numbers and
    missing cells unchanged; returns a new frame."""
    text = [
        name
        for name in frame.columns
        if pd.api.types.is_string_dtype(frame[name])
        or frame[name].dtype == object
        or isinstance(frame[name].dtype, pd.CategoricalDtype)
    ]
    return frame.assign(**{name: _escaped(frame[name]) for name in text})


def single(column: pd.Series) -> bool:
    """Whether a column holds at most one distinct value (missing cells aside)."""
    return column.nunique(dropna=True) <= 1


def to_csv(frame: pd.DataFrame) -> str:
    """The usage table into CSV text: schema columns first (the header), dates as YYYY-MM-DD, cells
    escaped.

    Numbers keep full precision (the shortest text that reads back as the same float, e.g.
    ``7.543760000000001``), so sums of the CSV equal the figures on screen to the last digit;
    rounding each row to the micro-dollar drifted by up to $0.003 over a large organization.
    Written by Arrow's CSV writer (about 5x pandas' on a large table); text is quoted only where
    it must be, missing cells are empty.

    The ``provider`` column is written when the table holds more than one provider: a single
    provider's export keeps the header it always had.
    """
    columns = [c for c in COLUMNS if c in frame.columns] + [
        c for c in frame.columns if c not in COLUMNS and not (c == "provider" and single(frame[c]))
    ]
    out = safe_for_spreadsheet(frame[columns])
    if "date" in out.columns:
        out["date"] = pd.to_datetime(out["date"]).dt.strftime("%Y-%m-%d")
    table = pa.Table.from_pandas(out, preserve_index=False)
    buffer = io.BytesIO()
    csv.write_csv(table, buffer, write_options=csv.WriteOptions(quoting_style="needed"))
    return buffer.getvalue().decode("utf-8")
