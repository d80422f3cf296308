"""Charts on a page: ``st.altair_chart`` without Altair's schema validation on every run.

Altair validates a chart's whole Vega-Lite spec against the JSON schema each time it is turned
into a dict, that is on every run of every page: 10-25 ms a chart of the script's time, 50 ms of
the Overview's 170 ms (warm, large demo). The charts are built by ``spend.charts`` from fixed
templates, and ``tests/test_charts.py`` validates every builder's spec; so the page skips the
check and sends the very same spec.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import streamlit as st


class Unvalidated:
    """A chart whose ``to_dict`` (all ``st.altair_chart`` asks of it) skips the schema check."""

    def __init__(self, chart: alt.TopLevelMixin) -> None:
        self.chart = chart

    def to_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        kwargs["validate"] = False
        return self.chart.to_dict(*args, **kwargs)


def chart(figure: alt.TopLevelMixin, **kwargs: Any) -> Any:
    """``st.altair_chart(figure, **kwargs)``, the spec unvalidated (see the module's note)."""
    return st.altair_chart(Unvalidated(figure), **kwargs)  # type: ignore[arg-type]
