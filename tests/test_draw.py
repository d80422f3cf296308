"""Charts reach the page through ``spend.ui.draw``: the same spec, without Altair's schema check
on every run (the builders' specs are validated in ``test_charts``)."""

from __future__ import annotations

import re
from pathlib import Path

import altair as alt
import pandas as pd
import pytest

from spend import charts
from spend.ui import draw

ROOT = Path(__file__).resolve().parents[1]


def daily(days: int = 60, groups: int = 2) -> pd.DataFrame:
    dates = pd.date_range("2026-11-01", periods=days, freq="D")
    return pd.DataFrame(
        {
            "date": dates.repeat(groups),
            "group": [f"gpt-{i}" for i in range(groups)] * days,
            "value": [1.5] * (days * groups),
        }
    )


@pytest.mark.parametrize(("days", "groups"), [(60, 2), (90, 9)])  # SVG, and a canvas
def test_unvalidated__the_same_spec_as_the_validated_one(days, groups):
    figure = charts.over_time(daily(days, groups))
    assert draw.Unvalidated(figure).to_dict() == figure.to_dict(validate=True)


def test_unvalidated__skips_the_schema_check_that_to_dict_makes():
    """What is skipped is exactly the check: a spec the schema refuses still converts."""
    figure = alt.Chart(daily()).mark_bar().encode(x="date:T", y="value:Q")
    figure = figure.properties(width=-1)
    figure.height = "tall"  # not a height: the schema check refuses it
    with pytest.raises(alt.utils.schemapi.SchemaValidationError):
        figure.to_dict()
    assert draw.Unvalidated(figure).to_dict()["height"] == "tall"


def test_pages__draw_every_chart_through_draw():
    """No page calls ``st.altair_chart`` itself (it would validate on every run)."""
    direct = [
        f"{path.name}:{number}"
        for path in sorted((ROOT / "app_pages").glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\.altair_chart\(", line)  # st. or a column's
    ]
    assert direct == []
    assert "draw.chart(" in (ROOT / "app_pages" / "models.py").read_text()
