"""CSV export: the usage table's header, exact rows, and cells a spreadsheet would run as
formulas."""

import io

import pandas as pd
import pytest

from spend.export import escape_cell, to_csv
from spend.schema import COLUMNS, conform


@pytest.mark.parametrize(
    "value, expected",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("gpt-4o", "gpt-4o"),
        ("", ""),
        (-2.5, -2.5),  # numbers are numbers, not formulas
        (None, None),
    ],
)
def test_escape_cell__table(value, expected):
    assert escape_cell(value) == expected


def test_to_csv__header_is_the_schema_and_formula_cells_are_text():
    frame = conform(
        pd.DataFrame(
            {
                "date": ["2026-01-02", "2026-01-03"],
                "user_name": ["=cmd|' /C calc'!A0", "Ann"],
                "model": ["gpt-4o", None],
                "cost_usd": [-0.5, None],
                "cost_basis": ["estimated", "unpriced"],
                "line_item": ["@risk", "x"],
            }
        )
    )
    text = to_csv(frame)
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert list(back.columns) == [*COLUMNS, "line_item"]
    assert back["date"].tolist() == ["2026-01-02", "2026-01-03"]
    assert back["user_name"].tolist() == ["'=cmd|' /C calc'!A0", "Ann"]
    assert back["line_item"].tolist() == ["'@risk", "x"]
    assert back["cost_usd"].tolist() == [
        "-0.5",
        "",
    ]  # a negative number is not escaped; unpriced is empty, not 0
