"""Issue 23's pure parts: the budget line's label, time buckets for long ranges, the month card's
figure, and how fast the command gives up on an unreachable host."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from spend import charts
from spend.forecast import cumulative_frame, forecast_month
from spend.ui import steer


def _month_frame() -> pd.DataFrame:
    days = pd.date_range("2026-11-01", "2026-12-10", freq="D")
    daily = pd.Series(10.0, index=days, name="cost_usd")
    return cumulative_frame(
        daily[daily.index >= "2026-12-01"], forecast_month(daily, date(2026, 12, 10))
    )


def test_month_end_chart__the_budget_line_is_labelled():
    spec = charts.month_end_chart(_month_frame(), 300.0, "Organization budget $300.00").to_dict()
    texts = [layer for layer in spec["layer"] if layer["mark"].get("type") == "text"]
    assert len(texts) == 1 and texts[0]["encoding"]["text"]["field"] == "label"
    labels = [row.get("label") for rows in spec["datasets"].values() for row in rows]
    assert "Organization budget $300.00" in labels
    without = charts.month_end_chart(_month_frame(), None).to_dict()
    assert not [layer for layer in without["layer"] if layer["mark"].get("type") == "text"]


@pytest.mark.parametrize(
    "percent, status", [(0.0, "ok"), (79.9, "ok"), (80.0, "near"), (99.9, "near"), (100.0, "over")]
)
def test_budget_status__near_from_80_over_from_100(percent, status):
    assert steer.budget_status(percent) == status
