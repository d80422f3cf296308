"""``spend.charts`` through ``Chart.to_dict()``: encodings, the stack, tooltips, colours, data size.

``to_dict()`` also validates each chart against the Vega-Lite schema, and raises if the embedded
data passes Altair's 5,000-row limit (which the charts must never switch off).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import pytest

from spend import analysis as an
from spend import charts
from spend.schema import conform, empty_frame


def daily_frame(groups: dict[str, list[float]], start: str = "2026-01-01") -> pd.DataFrame:
    """Group -> daily values into a tidy ``date, group, value`` frame, e.g. ``{"a": [1, 2]}``."""
    days = len(next(iter(groups.values()))) if groups else 0
    dates = pd.date_range(start, periods=days, freq="D")
    records = [
        (day, group, value)
        for group, values in groups.items()
        for day, value in zip(dates, values, strict=True)
    ]
    return pd.DataFrame.from_records(records, columns=["date", "group", "value"])


def data_values(spec: dict) -> list[list[dict]]:
    """A chart's dict into the rows of each embedded dataset."""
    return list(spec.get("datasets", {}).values())


def usage_table(
    n_rows: int = 2_000, days: int = 400, models: int = 30, seed: int = 1
) -> pd.DataFrame:
    """Sizes into a random priced usage table, e.g. ``usage_table(10)`` -> 10 rows."""
    rng = np.random.default_rng(seed)
    return conform(
        pd.DataFrame(
            {
                "date": pd.Timestamp("2025-01-01")
                + pd.to_timedelta(rng.integers(0, days, n_rows), unit="D"),
                "model": [f"model-{i}" for i in rng.integers(0, models, n_rows)],
                "model_family": [f"family-{i}" for i in rng.integers(0, models, n_rows)],
                "user_id": [f"user-{i}" for i in rng.integers(0, 50, n_rows)],
                "n_requests": rng.integers(1, 9, n_rows),
                "input_tokens": rng.integers(0, 10_000, n_rows),
                "output_tokens": rng.integers(0, 1_000, n_rows),
                "cost_usd": rng.random(n_rows),
                "cost_basis": "estimated",
            }
        )
    )


STACKED = [
    ("cost_usd", "Cost (USD)", charts.USD_FORMAT),
    ("n_requests", "Requests", charts.COUNT_FORMAT),
    ("total_tokens", "Tokens", charts.COUNT_FORMAT),
]


@pytest.mark.parametrize(("value", "title", "number_format"), STACKED)
def test_over_time__encoding(value, title, number_format):
    frame = daily_frame(
        {"small": [1.0, 0.0, 2.0], an.OTHERS: [9.0, 9.0, 9.0], "big": [5.0, 6.0, 7.0]}
    )
    spec = charts.over_time(frame, value=value).to_dict()
    encoding = spec["encoding"]
    assert spec["mark"]["type"] == "bar"
    # one band per day, keyed by its ISO day: no half-empty band after the last day, and no date
    # parsed for every bar in the browser (only each axis label is formatted there)
    assert (encoding["x"]["field"], encoding["x"]["type"]) == ("key", "ordinal")
    assert "timeUnit" not in encoding["x"]
    assert "toDate(datum.value)" in encoding["x"]["axis"]["labelExpr"]
    assert (encoding["y"]["field"], encoding["y"]["type"], encoding["y"]["stack"]) == (
        "value",
        "quantitative",
        "zero",
    )
    assert encoding["y"]["title"] == title
    assert (encoding["color"]["field"], encoding["color"]["type"]) == ("group", "nominal")
    # biggest first, "others" last and grey, whatever its size
    assert encoding["color"]["scale"]["domain"] == ["big", "small", an.OTHERS]
    assert "sort" not in encoding["color"]  # the domain orders the legend
    slots = charts.color_slots(["big", "small"])
    assert encoding["color"]["scale"]["range"] == [
        charts.GROUP_PALETTE[slots["big"]],
        charts.GROUP_PALETTE[slots["small"]],
        charts.OTHERS_COLOR,
    ]
    assert encoding["order"]["field"] == "order"
    # the tooltip: the segment and the whole day, its texts made here, and no internal field name
    # as a title; Vega-Lite formats nothing per bar
    assert "tooltip" not in encoding
    assert spec["mark"]["tooltip"]["expr"] == (
        '{"Date": datum["key"], "Model": datum["group"], '
        f'"{title}": datum["value_text"], "Day total": datum["total_text"]}}'
    )
    # the day's total is summed here, not in the browser, and no bar needs Vega-Lite's own filter
    assert "transform" not in spec and spec["mark"]["invalid"] is None
    (rows,) = data_values(spec)
    text = charts.TEXTS[number_format]
    totals = {}
    for row in rows:
        totals[row["key"]] = totals.get(row["key"], 0) + row["value"]
        assert row["value_text"] == text(row["value"])
    assert {row["key"]: row["total_text"] for row in rows} == {
        "2026-01-01": text(15.0),
        "2026-01-02": text(15.0),
        "2026-01-03": text(18.0),
    }
    assert all(row["total_text"] == text(totals[row["key"]]) for row in rows)
    assert set(rows[0]) == {"key", "group", "value", "order", "value_text", "total_text"}
    legend = encoding["color"]["legend"]
    assert legend["orient"] == "bottom"
    # two columns of labels fit a 390 px phone (about 350 px of chart)
    assert legend["columns"] * (legend["labelLimit"] + 30) <= 350
    assert (spec["width"], spec["height"]) == ("container", charts.HEIGHT)


def test_cost_over_time__dollar_axis_and_custom_title():
    spec = charts.over_time(daily_frame({"a": [1.0]}), color_title="User").to_dict()
    assert spec["encoding"]["y"]["axis"]["format"].startswith("$")
    assert spec["encoding"]["color"]["title"] == "User"
    assert '"User": datum["group"]' in spec["mark"]["tooltip"]["expr"]


def test_cost_over_time__stack_order_column_follows_the_legend():
    frame = daily_frame({"small": [1.0], an.OTHERS: [9.0], "big": [5.0]})
    (rows,) = data_values(charts.over_time(frame).to_dict())
    assert {row["group"]: row["order"] for row in rows} == {"big": 0, "small": 1, an.OTHERS: 2}


def test_over_time__a_day_total_per_bar_whatever_the_rows_time():
    """Rows of one day at different times are one bar: one total, on every segment."""
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-01-01 00:00", "2026-01-01 13:00", "2026-01-02 00:00"]),
            "group": ["a", "b", "a"],
            "value": [1.0, 2.0, 4.0],
        }
    )
    (rows,) = data_values(charts.over_time(frame).to_dict())
    assert [(row["key"], row["total_text"]) for row in rows] == [
        ("2026-01-01", "$3.00"),
        ("2026-01-01", "$3.00"),
        ("2026-01-02", "$4.00"),
    ]


@pytest.mark.parametrize("value", list(charts.VALUES))
def test_over_time__every_value_has_its_tooltip_text(value):
    spec = charts.over_time(daily_frame({"a": [0.25]}), value=value).to_dict()
    (rows,) = data_values(spec)
    assert rows[0]["value_text"] == charts.TEXTS[charts.VALUES[value][2]](0.25)


def test_cost_over_time__input_frame_untouched():
    frame = daily_frame({"a": [1.0, 2.0]})
    before = frame.copy()
    charts.over_time(frame).to_dict()
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ([], ([], [])),
        (["a"], (["a"], [charts.GROUP_PALETTE[charts.color_slot("a")]])),
        ([an.OTHERS], ([an.OTHERS], [charts.OTHERS_COLOR])),
    ],
)
def test_color_scale__table(groups, expected):
    scale = charts.color_scale(groups).to_dict()
    assert (scale["domain"], scale["range"]) == expected


@pytest.mark.parametrize(
    ("groups", "other_label", "expected"),
    [
        ({}, an.OTHERS, []),
        ({"a": [1.0], "b": [3.0]}, an.OTHERS, ["b", "a"]),
        ({"rest": [99.0], "b": [1.0], "a": [1.0]}, "rest", ["a", "b", "rest"]),  # ties by name
    ],
)
def test_group_order__table(groups, other_label, expected):
    assert charts.group_order(daily_frame(groups), other_label) == expected


def test_cost_over_time__empty_frame_still_a_valid_chart():
    spec = charts.over_time(an.daily(empty_frame())).to_dict()
    assert spec["encoding"]["color"]["scale"]["domain"] == []


def test_cost_over_time__year_by_model_fits_the_row_limit():
    table = usage_table()
    frame = an.daily(table, by="model", start="2025-01-01", end="2026-02-04")  # 400 days, 30 models
    spec = charts.over_time(frame).to_dict()
    (rows,) = data_values(spec)
    assert len(rows) == 400 * 9 <= 5000
    assert spec["encoding"]["color"]["scale"]["domain"][-1] == an.OTHERS
    assert sum(row["value"] for row in rows) == pytest.approx(float(table["cost_usd"].sum()))


def test_stacked_bars__too_many_rows_raise_instead_of_silently_embedding():
    frame = daily_frame({f"g{i}": [1.0] * 1000 for i in range(6)})
    with pytest.raises(alt.MaxRowsError):
        charts.over_time(frame).to_dict()


@pytest.mark.parametrize(
    ("value", "label", "top_n", "expected_labels", "tooltip_format"),
    [
        ("cost_usd", "model", 2, ["b", "c"], charts.USD_FORMAT),
        ("cost_usd", "model", 15, ["b", "c", "a"], charts.USD_FORMAT),  # the NA cost is left out
        ("total_tokens", "model", 15, ["d", "a", "c", "b"], charts.COUNT_FORMAT),
        ("share", "model", 1, ["b"], ".1%"),
    ],
)
def test_bar_ranking__table(value, label, top_n, expected_labels, tooltip_format):
    frame = pd.DataFrame(
        {
            "model": ["a", "b", "c", "d"],
            "cost_usd": pd.array([1.0, 5.0, 2.0, None], dtype="Float64"),
            "share": pd.array([0.125, 0.625, 0.25, None], dtype="Float64"),
            "total_tokens": [300, 10, 200, 400],
        }
    )
    spec = charts.bar_ranking(frame, value, label, top_n).to_dict()
    (rows,) = data_values(spec)
    assert [row[label] for row in rows] == expected_labels
    encoding = spec["encoding"]
    assert (encoding["x"]["field"], encoding["x"]["type"]) == (value, "quantitative")
    assert (encoding["y"]["field"], encoding["y"]["type"], encoding["y"]["sort"]) == (
        label,
        "nominal",
        "-x",
    )
    assert encoding["tooltip"][1]["format"] == tooltip_format
    assert spec["width"] == "container" and spec["height"] == {"step": charts.BAR_STEP}


def test_bar_ranking__many_bars_grow_the_chart():
    frame = pd.DataFrame({"label": [f"user-{i}" for i in range(40)], "cost_usd": np.arange(40.0)})
    spec = charts.bar_ranking(frame, "cost_usd", "label", top_n=30).to_dict()
    assert spec["height"] == {
        "step": charts.BAR_STEP
    }  # 30 bars -> 30 steps; one bar is never a block
    assert len(spec["datasets"][spec["data"]["name"]]) == 30


def test_bar_ranking__from_by_user_with_custom_title():
    rows = conform(
        pd.DataFrame(
            {
                "date": ["2026-01-01"] * 2,
                "user_id": ["u1", None],
                "cost_usd": [2.0, 1.0],
                "cost_basis": "estimated",
            }
        )
    )
    spec = charts.bar_ranking(an.by_user(rows), "cost_usd", "label", title="Spend").to_dict()
    (data,) = data_values(spec)
    assert [row["label"] for row in data] == ["u1", an.NO_USER]
    assert spec["encoding"]["x"]["title"] == "Spend"


@pytest.mark.parametrize(
    ("billed", "expected_billed"),
    [([2.5, None], [2.5, None]), ([None, None], [None, None])],
    ids=["partial", "no-billed"],
)
def test_billed_vs_estimated_chart__table(billed, expected_billed):
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2026-01-01", periods=2, freq="D"),
            "billed": pd.array(billed, dtype="Float64"),
            "estimated": pd.array([2.0, 1.0], dtype="Float64"),
        }
    )
    frame["gap"] = frame["billed"] - frame["estimated"]
    spec = charts.billed_vs_estimated_chart(frame).to_dict()
    (rows,) = data_values(spec)
    assert [row["billed"] for row in rows] == expected_billed  # missing is null, never $0
    assert spec["transform"] == [{"fold": ["billed", "estimated"], "as": ["series", "usd"]}]
    encoding = spec["encoding"]
    assert spec["mark"]["type"] == "line"
    assert (encoding["y"]["field"], encoding["color"]["field"]) == ("usd", "series")
    assert encoding["y"]["axis"]["format"].startswith("$")
    assert {t["field"] for t in encoding["tooltip"]} == {"date", "series", "usd", "gap"}


def test_billed_vs_estimated_chart__from_analysis():
    frame = an.billed_vs_estimated(usage_table(200, days=30))
    spec = charts.billed_vs_estimated_chart(frame).to_dict()
    (rows,) = data_values(spec)
    assert len(rows) == 30


def colour_of(group: str, *, groups: list[str], order: list[str] | None = None) -> str:
    scale = charts.color_scale(groups, order=order).to_dict()
    return dict(zip(scale["domain"], scale["range"], strict=True))[group]


@pytest.mark.parametrize(
    "name", ["gpt-4o-mini", "dall-e-3", "gpt-4o", "o3", "whisper-1", "text-embedding-3-small"]
)
def test_color_scale__a_model_keeps_its_colour_whatever_else_the_chart_holds(name):
    """gpt-4o-mini and dall-e-3 once swapped colours between the 30- and 90-day views."""
    own = charts.GROUP_PALETTE[charts.color_slot(name)]
    others = ["gpt-4o-mini", "dall-e-3", "gpt-4o", "o3", "whisper-1", "text-embedding-3-small"]
    for groups in ([name], others, [name, an.OTHERS], sorted(others, reverse=True)):
        assert colour_of(name, groups=groups) == own, groups


def test_color_slot__same_in_another_process():
    import subprocess
    import sys

    code = "from spend.charts import color_slot; print(color_slot('gpt-4o-mini'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == charts.color_slot("gpt-4o-mini")


def test_color_scale__a_clash_is_settled_by_name_the_same_in_every_chart():
    clash = next(
        (a, b)
        for a in (f"m{i}" for i in range(50))
        for b in (f"n{j}" for j in range(50))
        if charts.color_slot(a) == charts.color_slot(b)
    )
    order = sorted(clash)
    first, second = (colour_of(g, groups=list(clash), order=order) for g in order)
    assert first == charts.GROUP_PALETTE[charts.color_slot(order[0])] and second != first
    # with the page's order, a chart showing only the second still gives it the same colour
    assert colour_of(order[1], groups=[order[1]], order=order) == second


def test_cost_over_time__same_model_same_colour_in_two_charts():
    order = ["gpt-4o", "o3", "tts-1"]
    by_cost = charts.over_time(daily_frame({"o3": [5.0, 5.0], "gpt-4o": [1.0, 1.0]}), order=order)
    by_tokens = charts.over_time(
        daily_frame({"gpt-4o": [9.0, 9.0], "o3": [1.0, 1.0]}), value="total_tokens", order=order
    )
    colours = []
    for chart in (by_cost, by_tokens):
        scale = chart.to_dict()["encoding"]["color"]["scale"]
        colours.append(dict(zip(scale["domain"], scale["range"], strict=True)))
    assert colours[0] == colours[1]


def test_color_scale__groups_of_one_chart_never_share_a_colour():
    order = [f"model-{i}" for i in range(12)]  # more models on the page than tableau10 has
    groups = ["model-0", "model-9", "model-10", "model-3"]
    scale = charts.color_scale(groups, order=order).to_dict()
    assert len(set(scale["range"])) == len(groups)
    assert len(set(charts.color_slots(order).values())) == 12


def test_axis__counts_read_billions_as_b_and_zero_as_zero():
    axis = charts.over_time(daily_frame({"a": [2e9]}), value="total_tokens").to_dict()
    expr = axis["encoding"]["y"]["axis"]["labelExpr"]
    assert "'G', 'B'" in expr and "datum.value == 0 ? '0'" in expr
    money = charts.over_time(daily_frame({"a": [1.0]})).to_dict()["encoding"]["y"]["axis"]
    assert "labelExpr" not in money  # dollars keep their own format


def test_bar_ranking__tooltip_names_what_a_bar_is():
    frame = pd.DataFrame({"short_label": ["Ann"], "cost_usd": [1.0]})
    spec = charts.bar_ranking(frame, "cost_usd", "short_label", label_title="User").to_dict()
    assert [t["title"] for t in spec["encoding"]["tooltip"]] == ["User", "Cost (USD)"]


def test_billed_vs_estimated_chart__lines_differ_in_every_channel():
    frame = an.billed_vs_estimated(usage_table(50, days=5))
    encoding = charts.billed_vs_estimated_chart(frame).to_dict()["encoding"]
    for channel in ("color", "strokeDash", "strokeWidth", "shape"):
        first, second = encoding[channel]["scale"]["range"]
        assert first != second, channel


def test_provider_bars__a_bar_per_provider_in_its_colour_from_analysis():
    from tests.test_analysis import CLAUDE, GPT, billed, usage

    table = usage(
        {**GPT, "cost_usd": 1.0},
        {**CLAUDE, "cost_usd": 3.0},
        billed(4.0, provider="anthropic", n_requests=None),
    )
    spec = charts.provider_bars(an.by_provider(table)).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert [(r["label"], r["spend"], r["basis"]) for r in rows] == [
        ("Anthropic", 4.0, "billed"),
        ("OpenAI", 1.0, "estimated"),
    ]
    encoding = spec["encoding"]
    assert (encoding["x"]["field"], encoding["y"]["field"]) == ("spend", "label")
    scale = encoding["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
        "anthropic": charts.PROVIDER_COLORS["anthropic"],
        "openai": charts.PROVIDER_COLORS["openai"],
    }
    assert [t["title"] for t in encoding["tooltip"]] == ["Provider", "Spend", "Basis", "Share"]


def test_over_time__a_day_without_a_number_has_no_bar_and_no_zero():
    frame = daily_frame({"gpt-4o": [1.0, float("nan"), 3.0]})
    (rows,) = data_values(charts.over_time(frame).to_dict())
    assert [row["value"] for row in rows] == [1.0, 3.0]


def test_provider_bars__unpriced_provider_has_no_bar_and_no_zero():
    from tests.test_analysis import CLAUDE, GPT, usage

    table = usage({**GPT}, {**CLAUDE, "cost_usd": None, "cost_basis": "unpriced"})
    rows = next(iter(charts.provider_bars(an.by_provider(table)).to_dict()["datasets"].values()))
    assert [r["label"] for r in rows] == ["OpenAI"]


GPT_MODELS = ["gpt-4o", "gpt-4o-mini", "o3", "gpt-4.1", "gpt-5", "text-embedding-3-small"]
CLAUDE_MODELS = ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5", "claude-3-5-haiku"]


def test_color_scale__claude_models_never_take_a_gpt_colour():
    assert not set(charts.CLAUDE_PALETTE) & set(charts.GROUP_PALETTE)
    both = GPT_MODELS + CLAUDE_MODELS
    colours = {name: colour_of(name, groups=both) for name in both}
    claude = {colours[m] for m in CLAUDE_MODELS}
    gpt = {colours[m] for m in GPT_MODELS}
    assert claude <= set(charts.CLAUDE_PALETTE) and gpt <= set(charts.GROUP_PALETTE)
    assert len(claude) == len(CLAUDE_MODELS) and len(gpt) == len(GPT_MODELS)


@pytest.mark.parametrize(
    ("snapshot", "family"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("o3", "o3"),
    ],
)
def test_color_scale__a_snapshot_keeps_its_familys_colour(snapshot, family):
    assert charts.color_family(snapshot) == family
    # the Models page's snapshot among GPT models, the Overview's family among families
    in_models = colour_of(snapshot, groups=[snapshot, "gpt-4.1-mini", "claude-opus-4-1-20250805"])
    in_families = colour_of(family, groups=[family, "gpt-4.1-mini", "claude-opus-4-1"])
    assert in_models == in_families == charts.palette_of(family)[charts.color_slot(family)]


@pytest.mark.parametrize(
    ("days", "models", "renderer"),
    [(30, 9, None), (44, 9, None), (45, 9, "canvas"), (90, 9, "canvas"), (400, 1, None)],
)
def test_over_time__many_bars_are_drawn_on_a_canvas(days, models, renderer):
    """More than CANVAS_MARKS bars (a 90-day view of nine models is 810) are drawn on a canvas
    (Vega-Embed reads ``usermeta.embedOptions``); fewer stay SVG."""
    frame = daily_frame({f"model-{m}": [1.0 + m] * days for m in range(models)})
    spec = charts.over_time(frame).to_dict()
    assert (days * models > charts.CANVAS_MARKS) == (renderer == "canvas")
    assert spec.get("usermeta", {}).get("embedOptions", {}).get("renderer") == renderer
    # no per-bar ARIA description on a canvas (nothing to attach it to), SVG keeps them
    assert (spec["mark"].get("aria") is False) == (renderer == "canvas")
    assert "aria" not in spec.get("config", {})  # on the mark: a chart with a config can't layer
    # an SVG bar's description reads like its tooltip, naming no internal field (key, order)
    assert ("description" in spec["mark"]) == (renderer is None)
    if renderer is None:
        assert spec["mark"]["description"]["expr"] == (
            '"Date: " + datum["key"] + "; " + "Model: " + datum["group"] + "; " + '
            '"Cost (USD): " + datum["value_text"] + "; " + "Day total: " + datum["total_text"]'
        )


def iso_days(first: str, n: int) -> list[str]:
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(first, periods=n)]


@pytest.mark.parametrize("n", [1, 14, 30, 31])
def test_axis_keys__a_month_or_less_offers_every_key(n):
    assert charts.axis_keys(iso_days("2026-09-02", n), "day") is None


def test_axis_keys__ninety_days_label_their_mondays():
    keys = iso_days("2026-09-02", 90)  # a Wednesday
    labelled = charts.axis_keys(keys, "day")
    assert labelled == [k for k in keys if pd.Timestamp(k).day_of_week == 0]
    assert len(labelled) == 13 and labelled[0] == "2026-09-07"


@pytest.mark.parametrize(
    ("bucket", "n"), [("day", 365), ("day", 1000), ("week", 60), ("month", 40)]
)
def test_axis_keys__long_ranges_label_at_most_sixteen_evenly(bucket, n):
    freq = {"day": "D", "week": "W-MON", "month": "MS"}[bucket]
    keys = [d.strftime("%Y-%m-%d") for d in pd.date_range("2024-01-01", periods=n, freq=freq)]
    labelled = charts.axis_keys(keys, bucket)
    assert 8 <= len(labelled) <= charts.LABELS_AT_MOST
    assert set(labelled) <= set(keys) and labelled == sorted(labelled)
    days = pd.to_datetime(labelled)
    gaps = {b - a for a, b in zip(days[:-1], days[1:], strict=True)}
    if bucket != "month":
        assert len(gaps) == 1  # evenly spaced
    if bucket == "day":
        assert all(pd.Timestamp(k).day_of_week == 0 for k in labelled)


def test_axis_keys__days_without_a_monday_are_thinned_as_they_are():
    """Usage on Tuesdays only (a chart's keys are the days with usage): no Monday to label."""
    tuesdays = [d.strftime("%Y-%m-%d") for d in pd.date_range("2026-01-06", periods=40, freq="7D")]
    assert charts.axis_keys(tuesdays, "day") == tuesdays[::3]


@pytest.mark.parametrize(("days", "labelled"), [(30, None), (90, 13)])
def test_over_time__the_axis_names_its_labels_beyond_a_month(days, labelled):
    frame = daily_frame({"a": [1.0] * days, "b": [2.0] * days})
    axis = charts.over_time(frame).to_dict()["encoding"]["x"]["axis"]
    assert axis["labelOverlap"] == "greedy"  # a phone still drops what does not fit
    if labelled is None:
        assert "values" not in axis
    else:
        assert len(axis["values"]) == labelled
        assert all(pd.Timestamp(v).day_of_week == 0 for v in axis["values"])
