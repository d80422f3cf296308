"""Small pre-aggregated frames (from ``spend.analysis``) into Altair charts.

Pure: a frame in, an ``alt.Chart`` out; no streamlit, no groupby. Every chart shares one look:
``width="container"``, ``HEIGHT`` pixels, the ``PALETTE`` colours with ``OTHERS_COLOR`` (grey) for
the "others" group, money axes in ``$``. The data embedded in a chart is never more than the frame
it is given, so callers keep it under Altair's 5,000-row limit (``analysis.daily`` does).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from spend.analysis import OTHERS

WIDTH = "container"
HEIGHT = 300
#: Vega's "tableau10" without its grey, which is kept for ``OTHERS_COLOR``.
PALETTE = (
    "#4c78a8",
    "#f58518",
    "#e45756",
    "#72b7b2",
    "#54a24b",
    "#eeca3b",
    "#b279a2",
    "#ff9da6",
    "#9d755d",
)
OTHERS_COLOR = "#bab0ac"
#: Longest legend or axis label in pixels before Vega-Lite ellipsizes it.
LABEL_LIMIT = 220
#: Height of one bar in ``bar_ranking``.
BAR_STEP = 24

#: d3 formats: tooltips show exact numbers, axes short ones ("$1,200", "$0.05", "12M").
USD_FORMAT = "$,.2f"
USD_AXIS_FORMAT = "$,.2~f"
COUNT_FORMAT = ",.0f"
COUNT_AXIS_FORMAT = "~s"
#: Value column -> (title, axis format, tooltip format).
VALUES: dict[str, tuple[str, str, str]] = {
    "cost_usd": ("Cost (USD)", USD_AXIS_FORMAT, USD_FORMAT),
    "billed_usd": ("Billed (USD)", USD_AXIS_FORMAT, USD_FORMAT),
    "n_requests": ("Requests", COUNT_AXIS_FORMAT, COUNT_FORMAT),
    "requests": ("Requests", COUNT_AXIS_FORMAT, COUNT_FORMAT),
    "total_tokens": ("Tokens", COUNT_AXIS_FORMAT, COUNT_FORMAT),
    "input_tokens": ("Input tokens", COUNT_AXIS_FORMAT, COUNT_FORMAT),
    "output_tokens": ("Output tokens", COUNT_AXIS_FORMAT, COUNT_FORMAT),
    "units": ("Units", COUNT_AXIS_FORMAT, COUNT_FORMAT),
    "share": ("Share", ".0%", ".1%"),
}


def group_order(frame: pd.DataFrame, other_label: str = OTHERS) -> list[str]:
    """A tidy daily frame into its groups, biggest first, others last, e.g. ``["o3", "others"]``."""
    if not len(frame):
        return []
    totals = frame.groupby("group", sort=False)["value"].sum()
    ranked = sorted(
        totals.index, key=lambda group: (group == other_label, -totals[group], str(group))
    )
    return [str(group) for group in ranked]


def color_scale(
    groups: list[str], other_label: str = OTHERS, *, order: list[str] | None = None
) -> alt.Scale:
    """Ordered groups into a colour scale, others grey, e.g. ``["a", "others"] -> [blue, grey]``.

    ``order`` (e.g. every model of the page ranked by spend) pins the first ``len(PALETTE)`` of it
    to their place's colour, so one model keeps one colour in every chart of a page; the other
    groups take the colours no group of this chart holds, so two groups never share one while
    colours last.
    """
    pinned = {g: i for i, g in enumerate((order or [])[: len(PALETTE)]) if g != other_label}
    taken = {pinned[g] for g in groups if g in pinned}
    spare = iter([i for i in range(len(PALETTE)) if i not in taken])
    colors: list[str] = []
    for group in groups:
        if group == other_label:
            colors.append(OTHERS_COLOR)
        elif group in pinned:
            colors.append(PALETTE[pinned[group]])
        else:
            colors.append(PALETTE[next(spare, len(colors)) % len(PALETTE)])
    return alt.Scale(domain=list(groups), range=colors)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame into a copy with nullable numbers as floats, e.g. ``pd.NA -> NaN`` (JSON null)."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.Float64Dtype | pd.Int64Dtype | pd.BooleanDtype):
            out[column] = out[column].astype("float64")
    return out


def _axis(number_format: str) -> alt.Axis:
    """A d3 format into a value axis, e.g. ``"~s"`` -> ticks on whole numbers only (no "500m")."""
    if number_format == COUNT_AXIS_FORMAT:
        return alt.Axis(format=number_format, tickMinStep=1)
    return alt.Axis(format=number_format)


def _day_axis(days: int) -> alt.X:
    """The x encoding shared by daily charts: one band per UTC day, labels thinned to fit."""
    return alt.X(
        "yearmonthdate(date):O",
        title=None,
        axis=alt.Axis(
            format="%b %d", labelAngle=0, labelOverlap="greedy", labelSeparation=8, ticks=days <= 62
        ),
    )


def over_time(
    daily_frame: pd.DataFrame,
    *,
    value: str = "cost_usd",
    color_title: str = "Model",
    other_label: str = OTHERS,
    order: list[str] | None = None,
) -> alt.Chart:
    """A tidy ``date, group, value`` frame (``analysis.daily``) into stacked bars per day, e.g. a
    colour per model, the biggest group lowest.

    :param value: what the frame sums: ``cost_usd``, ``n_requests`` or ``total_tokens``
    :param order: the page's model order, so a model keeps its colour across the page's charts
    """
    title, axis_format, number_format = VALUES[value]
    ranked = group_order(daily_frame, other_label)
    rank = {group: index for index, group in enumerate(ranked)}
    data = _plain(daily_frame[["date", "group", "value"]])
    data["order"] = data["group"].map(rank).astype("int64")
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=_day_axis(data["date"].nunique()),
            y=alt.Y("value:Q", title=title, stack="zero", axis=_axis(axis_format)),
            color=alt.Color(
                "group:N",
                title=color_title,
                scale=color_scale(ranked, other_label, order=order),
                sort=ranked,
                legend=alt.Legend(orient="bottom", labelLimit=LABEL_LIMIT, columns=3),
            ),
            order=alt.Order("order:Q", sort="ascending"),
            tooltip=[
                alt.Tooltip("yearmonthdate(date):T", title="Date", format="%Y-%m-%d"),
                alt.Tooltip("group:N", title=color_title),
                alt.Tooltip("value:Q", title=title, format=number_format),
            ],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )


def bar_ranking(
    frame: pd.DataFrame,
    value: str,
    label: str,
    top_n: int = 15,
    *,
    title: str | None = None,
    number_format: str | None = None,
) -> alt.Chart:
    """A breakdown (``by_model``, ``by_user``, ...) into horizontal bars, e.g. top users by cost.

    Rows with no value (unpriced) are left out; the ``top_n`` largest are drawn, largest on top.

    :param value: column to rank by, e.g. ``cost_usd``
    :param label: column naming each bar, e.g. ``label`` or ``model``
    :param title: axis title; defaults from ``VALUES`` or the column name
    :param number_format: d3 format of the tooltip; defaults from ``VALUES`` (``$`` for money)
    """
    default_title, axis_format, default_format = VALUES.get(
        value, (value, COUNT_AXIS_FORMAT, COUNT_FORMAT)
    )
    title = title or default_title
    number_format = number_format or default_format
    data = _plain(frame[[label, value]]).dropna(subset=[value])
    data = data.sort_values(value, ascending=False, kind="stable").head(top_n)
    data[label] = data[label].astype("string").fillna("(unknown)")
    return (
        alt.Chart(data)
        .mark_bar(color=PALETTE[0])
        .encode(
            x=alt.X(f"{value}:Q", title=title, axis=_axis(axis_format)),
            y=alt.Y(f"{label}:N", title=None, sort="-x", axis=alt.Axis(labelLimit=LABEL_LIMIT)),
            tooltip=[
                alt.Tooltip(f"{label}:N", title=label.replace("_", " ").capitalize()),
                alt.Tooltip(f"{value}:Q", title=title, format=number_format),
            ],
        )
        .properties(width=WIDTH, height=alt.Step(BAR_STEP))  # one bar is one bar high, however few
    )


def billed_vs_estimated_chart(frame: pd.DataFrame) -> alt.Chart:
    """A ``billed_vs_estimated`` frame into two daily lines, e.g. billed (solid) and estimated
    (dashed).

    Days without a billed value (no Costs API access) leave the billed line empty rather than at $0.
    The estimate is dashed so it stays visible where it lies on the billed line.
    """
    data = _plain(frame[["date", "billed", "estimated", "gap"]])
    series = ["billed", "estimated"]
    return (
        alt.Chart(data)
        .transform_fold(series, as_=["series", "usd"])
        .mark_line(point=True)
        .encode(
            x=_day_axis(data["date"].nunique()),
            y=alt.Y("usd:Q", title="Cost (USD)", axis=alt.Axis(format=USD_AXIS_FORMAT)),
            color=alt.Color(
                "series:N",
                title="Money",
                scale=alt.Scale(domain=series, range=[PALETTE[0], PALETTE[1]]),
                legend=alt.Legend(orient="bottom"),
            ),
            strokeDash=alt.StrokeDash(
                "series:N", title="Money", scale=alt.Scale(domain=series, range=[[1, 0], [6, 4]])
            ),
            tooltip=[
                alt.Tooltip("yearmonthdate(date):T", title="Date", format="%Y-%m-%d"),
                alt.Tooltip("series:N", title="Money"),
                alt.Tooltip("usd:Q", title="USD", format=USD_FORMAT),
                alt.Tooltip("gap:Q", title="Gap (billed - estimated)", format=USD_FORMAT),
            ],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )
