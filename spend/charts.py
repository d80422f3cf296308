"""Small pre-aggregated frames (from ``spend.analysis``) into Altair charts.

Pure: a frame in, an ``alt.Chart`` out; no streamlit, no groupby. Every chart shares one look:
``width="container"``, ``HEIGHT`` pixels, the ``PALETTE`` colours with ``OTHERS_COLOR`` (grey) for
the "others" group, money axes in ``$``. The data embedded in a chart is never more than the frame
it is given, so callers keep it under Altair's 5,000-row limit (``analysis.daily`` does).
"""

from __future__ import annotations

import json
import re
import zlib
from datetime import date

import altair as alt
import pandas as pd

from spend import formatting as fmt
from spend.analysis import OTHERS

WIDTH = "container"
HEIGHT = 300
#: Vega's "tableau10" without its grey, which is kept for ``OTHERS_COLOR``: single-series charts.
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
#: Colours a group (a model, a user, a kind of usage) owns by its name: Vega's "tableau20"
#: without its greys, dark and light tones apart so neighbouring slots stay distinct.
GROUP_PALETTE = (
    "#4c78a8",
    "#f58518",
    "#54a24b",
    "#e45756",
    "#b79a20",
    "#439894",
    "#d67195",
    "#b279a2",
    "#9e765f",
    "#9ecae9",
    "#ffbf79",
    "#88d27a",
    "#ff9d98",
    "#f2cf5b",
    "#83bcb6",
    "#fcbfd2",
    "#d6a5c9",
    "#d8b5a5",
)
#: Claude models' own colours, none of them in ``GROUP_PALETTE``: a Claude model never takes a GPT
#: model's colour in a chart that holds both providers (ColorBrewer's dark tones, Anthropic's
#: coral first).
CLAUDE_PALETTE = (
    "#d97757",
    "#6a3d9a",
    "#1b7837",
    "#8c2d04",
    "#01665e",
    "#c51b7d",
)
#: A model id's snapshot date, e.g. "-2024-08-06" (OpenAI) or "-20250929" (Anthropic).
_SNAPSHOT = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8})$")
OTHERS_COLOR = "#bab0ac"
#: Longest legend or axis label in pixels before Vega-Lite ellipsizes it.
LABEL_LIMIT = 220
#: Legend entries per row and their label width: two columns of 140 px fit a 390 px phone.
LEGEND_COLUMNS = 2
LEGEND_LABEL_LIMIT = 140
#: Height of one bar in ``bar_ranking``.
BAR_STEP = 24

#: d3 formats: tooltips show exact numbers, axes short ones ("$1,200", "$0.05", "12M").
USD_FORMAT = "$,.2f"
USD_AXIS_FORMAT = "$,.2~f"
COUNT_FORMAT = ",.0f"
COUNT_AXIS_FORMAT = "~s"
#: A chart with more marks than this is drawn on a canvas, not as SVG: a 90-day view of nine
#: models is 810 bars, and the browser spent ~0.5 s per such chart building its ~6,000 SVG
#: nodes (BENCHMARKS.md, page switches). Tooltips work the same; the table beside each chart
#: holds its figures for screen readers. Smaller charts stay SVG (sharper, one node per mark).
CANVAS_MARKS = 400
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


def color_family(group: str) -> str:
    """A group's name without a model snapshot's date, e.g. ``"claude-sonnet-4-5-20250929" ->
    "claude-sonnet-4-5"``, ``"gpt-4o-2024-08-06" -> "gpt-4o"``: a snapshot takes its family's
    colour, so the Models page's snapshot and the Overview's family match."""
    return _SNAPSHOT.sub("", str(group))


def palette_of(group: str) -> tuple[str, ...]:
    """A group's palette: ``CLAUDE_PALETTE`` for a Claude model, ``GROUP_PALETTE`` otherwise."""
    return CLAUDE_PALETTE if str(group).startswith("claude") else GROUP_PALETTE


def color_slot(group: str) -> int:
    """A group's name into its own slot of its palette (``palette_of``), e.g. ``"gpt-4o" -> 7``:
    the same in every chart, range, page, session and process (a checksum of ``color_family``,
    not Python's salted ``hash``)."""
    return zlib.crc32(color_family(group).encode()) % len(palette_of(group))


def group_color(group: str, slots: dict[str, int]) -> str:
    """A group and its slot (``color_slots``) into its colour, e.g. ``"o3" -> "#54a24b"``."""
    return palette_of(group)[slots[str(group)]]


def color_slots(groups: list[str], other_label: str = OTHERS) -> dict[str, int]:
    """Groups into palette slots, each its own where it can, e.g. ``{"gpt-4o": 7, "o3": 2}``.

    Groups are placed in name order; one whose slot a group before it took moves to the next free
    slot, so no two groups of a set share a colour (while colours last) and the result depends on
    the set alone, never on a range's ranking. Claude models take slots of ``CLAUDE_PALETTE``,
    apart from every other group's.
    """
    taken: dict[tuple[str, ...], set[int]] = {}
    slots: dict[str, int] = {}
    for group in sorted({str(g) for g in groups if g != other_label}):
        palette = palette_of(group)
        used = taken.setdefault(palette, set())
        slot = color_slot(group)
        for step in range(len(palette)):
            candidate = (slot + step) % len(palette)
            if candidate not in used:
                slot = candidate
                break
        used.add(slot)
        slots[group] = slot
    return slots


def color_scale(
    groups: list[str], other_label: str = OTHERS, *, order: list[str] | None = None
) -> alt.Scale:
    """Ordered groups into a colour scale, others grey, e.g. ``["gpt-4o", "others"] -> [its
    colour, grey]``.

    A group's colour comes from its name (``color_slot``), so a model keeps its colour across
    ranges, pages and reloads. ``order`` (every group a page shows) settles the rare clash of two
    names on one slot the same way in all of the page's charts.
    """
    slots = color_slots([*groups, *(order or [])], other_label)
    colors = [
        OTHERS_COLOR if group == other_label else group_color(group, slots) for group in groups
    ]
    return alt.Scale(domain=list(groups), range=colors)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame into a copy with nullable numbers as floats, e.g. ``pd.NA -> NaN`` (JSON null)."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.Float64Dtype | pd.Int64Dtype | pd.BooleanDtype):
            out[column] = out[column].astype("float64")
    return out


#: Count ticks the way people read them: "1.5B", not d3's SI "1.5G"; 0 as "0".
COUNT_LABEL_EXPR = (
    f"datum.value == 0 ? '0' : replace(format(datum.value, '{COUNT_AXIS_FORMAT}'), 'G', 'B')"
)


def _axis(number_format: str) -> alt.Axis:
    """A d3 format into a value axis, e.g. ``"~s"`` -> whole-number ticks read "12M", "1.5B"
    (never "1.5G" or "500m")."""
    if number_format == COUNT_AXIS_FORMAT:
        return alt.Axis(format=number_format, tickMinStep=1, labelExpr=COUNT_LABEL_EXPR)
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


#: Per time bucket: its axis label's format, its tooltip's format, and what a tooltip calls the
#: bucket and its total (``over_time``'s ``bucket``; ``analysis.bucketed`` sums the frame).
TIME_UNITS = {
    "day": ("%b %d", "%Y-%m-%d", "Date", "Day total"),
    "week": ("%b %d", "%Y-%m-%d", "Week of", "Week total"),
    "month": ("%b %Y", "%B %Y", "Month", "Month total"),
}
#: A tooltip's d3 format -> the same text made in Python (``over_time`` writes its tooltips).
TEXTS = {USD_FORMAT: fmt.usd, COUNT_FORMAT: fmt.integer, ".1%": fmt.pct}
#: ``over_time``'s x field: a bucket's first day as ISO text, e.g. "2026-09-01".
BUCKET_KEY = "%Y-%m-%d"


#: A time axis over more buckets than this labels some of them only (``axis_keys``).
ALL_LABELS_UP_TO = 31
#: ... and at most this many: a 90-day chart labels its 13 Mondays.
LABELS_AT_MOST = 16


def axis_keys(keys: list[str], bucket: str) -> list[str] | None:
    """The sorted bucket keys of a chart over time into those its axis labels; None for all.

    Up to ``ALL_LABELS_UP_TO`` buckets every key is offered (Vega-Lite's greedy overlap removal
    drops what does not fit). Beyond, a day chart labels its Mondays and any chart at most
    ``LABELS_AT_MOST`` keys, evenly spaced, e.g. 90 days from a Wednesday -> the 13 Mondays: the
    browser measures a dozen labels for overlap instead of 90, 6 ms a chart.
    """
    if len(keys) <= ALL_LABELS_UP_TO:
        return None
    if bucket == "day":
        keys = [k for k in keys if date.fromisoformat(k).weekday() == 0] or keys
    step = -(-len(keys) // LABELS_AT_MOST)  # ceiling division
    return keys[::step]


def _time_axis(keys: list[str], bucket: str) -> alt.X:
    """The x encoding of ``over_time``: one band per day, week (labelled by its Monday) or month,
    over the bucket's ISO key (``BUCKET_KEY``), labels thinned to fit (``axis_keys``).

    The key is text, so the browser parses no date for every bar (``toDate``) and runs no time
    unit over them: only each axis label is formatted there, from its key as a UTC day."""
    label_format = TIME_UNITS[bucket][0]
    labelled = axis_keys(keys, bucket)
    return alt.X(
        "key:O",
        title=None,
        axis=alt.Axis(
            labelExpr=f"utcFormat(toDate(datum.value), '{label_format}')",
            labelAngle=0,
            labelOverlap="greedy",
            labelSeparation=8,
            ticks=len(keys) <= 62,
            values=alt.Undefined if labelled is None else labelled,
        ),
    )


def _texts(fields: dict[str, str]) -> dict[str, alt.ExprRef]:
    """Titles -> data fields into a bar's tooltip and its description for screen readers, e.g.
    ``{"Model": "group"}`` -> ``{"Model": datum["group"]}`` and ``"Model: " + datum["group"]``.

    Each bar's texts are made in pandas, where Vega-Lite's own would format every number of every
    bar in the browser; the description also names no internal field (``order``, ``key``)."""
    # JSON's string literals are the expression language's: a title is never code
    read = [(title, f"datum[{json.dumps(field)}]") for title, field in fields.items()]
    tooltip = ", ".join(f"{json.dumps(title)}: {value}" for title, value in read)
    description = ' + "; " + '.join(
        f"{json.dumps(title + ': ')} + {value}" for title, value in read
    )
    return {"tooltip": alt.ExprRef("{" + tooltip + "}"), "description": alt.ExprRef(description)}


def over_time(
    daily_frame: pd.DataFrame,
    *,
    value: str = "cost_usd",
    color_title: str = "Model",
    other_label: str = OTHERS,
    order: list[str] | None = None,
    bucket: str = "day",
) -> alt.Chart:
    """A tidy ``date, group, value`` frame (``analysis.daily``) into stacked bars per day, e.g. a
    colour per model, the biggest group lowest.

    Everything a bar needs but its height is made here, not in the browser, where Streamlit's
    Vega evaluates each bar's expressions one by one: the bucket's key (text), the stack's order,
    and the tooltip's texts, the bucket's total among them. A bar without a number draws nothing:
    it is dropped here, so Vega-Lite needs no filter of its own (``invalid``).

    :param value: what the frame sums: ``cost_usd``, ``n_requests`` or ``total_tokens``
    :param order: the page's model order, so a model keeps its colour across the page's charts
    :param bucket: ``day``, ``week`` or ``month``: what one bar is (the frame already summed so,
        ``analysis.bucketed``), for the time axis and the tooltip's words; a bucket the range
        cuts says how many of its days it holds (the frame's ``days``)
    """
    _, when_format, when_title, total_title = TIME_UNITS[bucket]
    title, axis_format, number_format = VALUES[value]
    text = TEXTS[number_format]
    ranked = group_order(daily_frame, other_label)
    rank = {group: index for index, group in enumerate(ranked)}
    held = ["days"] if bucket != "day" and "days" in daily_frame.columns else []
    rows = _plain(daily_frame[["date", "group", "value", *held]]).dropna(subset=["value"])
    dates = pd.to_datetime(rows["date"])
    keys = dates.dt.strftime(BUCKET_KEY)
    data = pd.DataFrame(
        {
            "key": keys,
            "group": rows["group"],
            "value": rows["value"],
            "order": rows["group"].map(rank).astype("int64"),
            "value_text": rows["value"].map(text),
            # per bar as drawn (its key), so a stack shows one total whatever time its rows carry
            "total_text": rows["value"].groupby(keys).transform("sum").map(text),
        }
    )
    when = "key"
    whens = dates.dt.strftime(when_format)  # a month reads "September 2026" in its tooltip
    if held:  # a week or month cut by the range says so: "2026-11-30 (6 of 7 days)"
        days = rows["days"].astype("int64")
        full = dates.dt.days_in_month if bucket == "month" else pd.Series(7, index=rows.index)
        cut = days < full
        held_of = " (" + days.astype(str) + " of " + full.astype(str) + " days)"
        whens = whens.where(~cut, whens + held_of)
    if when_format != BUCKET_KEY or (held and bool(cut.any())):
        data["when"] = whens
        when = "when"
    texts = _texts(
        {
            when_title: when,
            color_title: "group",
            title: "value_text",
            total_title: "total_text",
        }
    )
    return drawn(
        alt.Chart(data)
        .mark_bar(invalid=None, **texts)
        .encode(
            x=_time_axis(sorted(data["key"].unique()), bucket),
            y=alt.Y("value:Q", title=title, stack="zero", axis=_axis(axis_format)),
            color=alt.Color(
                "group:N",
                title=color_title,
                # the scale's domain orders the legend: a ``sort`` too would make Vega-Lite rank
                # every bar by a chain of comparisons, interpreted bar by bar in the browser
                scale=color_scale(ranked, other_label, order=order),
                legend=alt.Legend(
                    orient="bottom", labelLimit=LEGEND_LABEL_LIMIT, columns=LEGEND_COLUMNS
                ),
            ),
            order=alt.Order("order:Q", sort="ascending"),
        )
        .properties(width=WIDTH, height=HEIGHT),
        marks=len(data),
    )


def drawn(chart: alt.Chart, *, marks: int) -> alt.Chart:
    """A chart with how the browser draws it: on a canvas when it has more than CANVAS_MARKS
    marks (Vega-Embed's ``renderer``, read from the spec's ``usermeta``), else as SVG.

    A canvas has no ARIA labels to hang a description on, so such a chart's marks get none
    (``aria: false``): Vega-Lite would otherwise build a text of every field for every bar, which
    Streamlit's expression interpreter evaluates bar by bar while drawing."""
    if marks <= CANVAS_MARKS:
        return chart
    # on the mark, not the chart's ``config``: a chart with a config cannot be layered any more
    canvas = chart.properties(usermeta={"embedOptions": {"renderer": "canvas"}})
    mark = {**canvas.mark.to_dict(), "aria": False}
    mark.pop("description", None)  # a bar's text for screen readers: nowhere to go on a canvas
    canvas.mark = alt.MarkDef(**mark)
    return canvas


def bar_ranking(
    frame: pd.DataFrame,
    value: str,
    label: str,
    top_n: int = 15,
    *,
    title: str | None = None,
    number_format: str | None = None,
    label_title: str = "Name",
) -> alt.Chart:
    """A breakdown (``by_model``, ``by_user``, ...) into horizontal bars, e.g. top users by cost.

    Rows with no value (unpriced) are left out; the ``top_n`` largest are drawn, largest on top.

    :param value: column to rank by, e.g. ``cost_usd``
    :param label: column naming each bar, e.g. ``label`` or ``model``
    :param title: axis title; defaults from ``VALUES`` or the column name
    :param number_format: d3 format of the tooltip; defaults from ``VALUES`` (``$`` for money)
    :param label_title: what a bar is, for the tooltip, e.g. ``"User"`` (never a column name)
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
                alt.Tooltip(f"{label}:N", title=label_title),
                alt.Tooltip(f"{value}:Q", title=title, format=number_format),
            ],
        )
        # one bar is one bar high, however few; room at the right for the last value label
        .properties(width=WIDTH, height=alt.Step(BAR_STEP), padding={"right": 16})
    )


def billed_vs_estimated_chart(frame: pd.DataFrame) -> alt.Chart:
    """A ``billed_vs_estimated`` frame into two daily lines, e.g. billed (thick, solid, round
    points) and estimated (thin, dashed, square points).

    Days without a billed value (no Costs API access) leave the billed line empty rather than at $0.
    Width, dash, colour and point shape all differ, so the lines stay apart where they overlap.
    """
    data = _plain(frame[["date", "billed", "estimated", "gap"]])
    series = ["billed", "estimated"]
    legend = alt.Legend(orient="bottom", title="Money")
    return (
        alt.Chart(data)
        .transform_fold(series, as_=["series", "usd"])
        .mark_line(point=alt.OverlayMarkDef(size=45, filled=True))
        .encode(
            x=_day_axis(data["date"].nunique()),
            y=alt.Y("usd:Q", title="Cost (USD)", axis=alt.Axis(format=USD_AXIS_FORMAT)),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=series, range=[PALETTE[0], PALETTE[1]]),
                legend=legend,
            ),
            strokeDash=alt.StrokeDash(
                "series:N", scale=alt.Scale(domain=series, range=[[1, 0], [6, 4]]), legend=legend
            ),
            strokeWidth=alt.StrokeWidth(
                "series:N", scale=alt.Scale(domain=series, range=[3.5, 1.5]), legend=None
            ),
            shape=alt.Shape(
                "series:N",
                scale=alt.Scale(domain=series, range=["circle", "square"]),
                legend=legend,
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


def month_end_chart(
    frame: pd.DataFrame, budget_usd: float | None = None, budget_label: str = "Budget"
) -> alt.LayerChart:
    """A ``forecast.cumulative_frame`` into the month so far (solid), its forecast to the month
    end (dashed) inside the 80 % band, and the budget as a horizontal rule labelled on the chart
    (``budget_label``, e.g. "Organization budget $3,000"), e.g. one line rising to $1,234 by the
    12th and a dashed one to ~$3,100 on the 31st under a $3,000 rule."""
    data = _plain(frame)
    days = data["date"].nunique()
    x = alt.X("yearmonthdate(date):T", title=None, axis=alt.Axis(format="%b %d", labelAngle=0))
    y_axis = alt.Axis(format=USD_AXIS_FORMAT)
    when = alt.Tooltip("yearmonthdate(date):T", title="Date", format="%Y-%m-%d")
    band = (
        alt.Chart(data)
        .mark_area(opacity=0.18, color=PALETTE[0])
        .encode(
            x=x,
            y=alt.Y("low:Q", title="Spend this month (USD, cumulative)", axis=y_axis),
            y2="high:Q",
            tooltip=[
                when,
                alt.Tooltip("low:Q", title="Band low (80 %)", format=USD_FORMAT),
                alt.Tooltip("high:Q", title="Band high (80 %)", format=USD_FORMAT),
            ],
        )
    )
    actual = (
        alt.Chart(data)
        .mark_line(color=PALETTE[0], strokeWidth=2.5, point=days <= 31)
        .encode(
            x=x,
            y="actual:Q",
            tooltip=[when, alt.Tooltip("actual:Q", title="Spent so far", format=USD_FORMAT)],
        )
    )
    forecast = (
        alt.Chart(data)
        .mark_line(color=PALETTE[0], strokeDash=[6, 4], strokeWidth=2)
        .encode(
            x=x,
            y="forecast:Q",
            tooltip=[when, alt.Tooltip("forecast:Q", title="Forecast", format=USD_FORMAT)],
        )
    )
    layers = [band, actual, forecast]
    if budget_usd:
        rule = pd.DataFrame({"budget": [float(budget_usd)], "label": [budget_label]})
        line = alt.Chart(rule).encode(
            y="budget:Q",
            tooltip=[alt.Tooltip("budget:Q", title="Budget", format=USD_FORMAT)],
        )
        layers.append(line.mark_rule(color=PALETTE[2], strokeWidth=2))
        # the rule's name on it, at the left edge, so it reads without a legend or a hover
        layers.append(
            line.mark_text(align="left", baseline="bottom", dx=4, dy=-3, color=PALETTE[2]).encode(
                x=alt.value(0), text="label:N"
            )
        )
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT)


#: Each provider's own colour in the by-provider chart (others: ``PALETTE`` in order).
PROVIDER_COLORS = {"openai": "#4c78a8", "anthropic": "#d97757"}


def provider_bars(frame: pd.DataFrame) -> alt.Chart:
    """A ``by_provider`` frame into one horizontal bar of spend per provider, e.g. OpenAI $120
    (billed) above Anthropic $80 (estimated), each in its provider's colour, the basis and share
    in the tooltip. A provider with no money (nothing priced) has no bar."""
    data = _plain(frame[["provider", "label", "spend", "basis", "share"]]).dropna(subset=["spend"])
    data["label"] = data["label"].astype("string").fillna("(unknown)")
    spare = iter(PALETTE[2:])
    providers = list(dict.fromkeys(data["provider"].astype(str)))
    colors = [PROVIDER_COLORS.get(p) or next(spare, OTHERS_COLOR) for p in providers]
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("spend:Q", title="Spend (USD)", axis=_axis(USD_AXIS_FORMAT)),
            y=alt.Y("label:N", title=None, sort="-x", axis=alt.Axis(labelLimit=LABEL_LIMIT)),
            color=alt.Color(
                "provider:N", scale=alt.Scale(domain=providers, range=colors), legend=None
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Provider"),
                alt.Tooltip("spend:Q", title="Spend", format=USD_FORMAT),
                alt.Tooltip("basis:N", title="Basis"),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
            ],
        )
        # room at the right for the last value label, which the axis puts at the very end
        .properties(width=WIDTH, height=alt.Step(BAR_STEP * 2), padding={"right": 16})
    )


def share_bars(
    frame: pd.DataFrame,
    *,
    label: str,
    value: str = "money",
    label_title: str = "Team",
    other_label: str = OTHERS,
    title: str = "Spend (USD)",
) -> alt.Chart:
    """A breakdown (``spend.teams.by_team``) into one horizontal bar per row in that row's own
    colour (``color_scale``: the same as in ``over_time`` of the same groups; ``other_label``
    grey), largest on top, its share in the tooltip, e.g. Research $1,200 (62 %)."""
    data = _plain(frame[[label, value, "share"]]).dropna(subset=[value])
    data[label] = data[label].astype("string").fillna("(unknown)")
    data = data.loc[data[value] > 0]
    groups = [str(g) for g in data[label]]
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(f"{value}:Q", title=title, axis=_axis(USD_AXIS_FORMAT)),
            y=alt.Y(f"{label}:N", title=None, sort="-x", axis=alt.Axis(labelLimit=LABEL_LIMIT)),
            color=alt.Color(
                f"{label}:N", scale=color_scale(groups, other_label), sort=groups, legend=None
            ),
            tooltip=[
                alt.Tooltip(f"{label}:N", title=label_title),
                alt.Tooltip(f"{value}:Q", title=title, format=USD_FORMAT),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
            ],
        )
        .properties(width=WIDTH, height=alt.Step(BAR_STEP * 2), padding={"right": 16})
    )
