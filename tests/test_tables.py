"""The tables' formats (``spend.ui.tables``): printf strings the grid formats cheaply, the same
digits as ``spend.formatting``; money below zero keeps the grid's "dollar" format."""

from __future__ import annotations

import pandas as pd

from spend.ui import tables


def type_config(config, name: str) -> dict:
    return config[name]["type_config"]


def test_column_config__money_counts_and_shares_are_printf_formats():
    config = tables.column_config(["cost_usd", "billed_usd", "requests", "total_tokens", "share"])
    assert type_config(config, "cost_usd")["format"] == tables.MONEY_FORMAT == "$%,.2f"
    assert type_config(config, "billed_usd")["format"] == tables.MONEY_FORMAT
    assert type_config(config, "requests")["format"] == tables.COUNT_FORMAT == "%,d"
    assert type_config(config, "total_tokens")["format"] == tables.COUNT_FORMAT
    share = type_config(config, "share")
    assert (share["type"], share["format"], share["max_value"]) == ("progress", "%.1f%%", 100.0)


def test_column_config__money_below_zero_keeps_the_dollar_format():
    config = tables.column_config(["cost_usd", "gap"], named=frozenset({"gap"}))
    assert type_config(config, "gap")["format"] == "dollar"  # -$1.50, where printf says $-1.50
    assert type_config(config, "cost_usd")["format"] == tables.MONEY_FORMAT


def test_shown__share_as_a_percentage_and_the_negative_money_columns():
    frame = pd.DataFrame(
        {
            "label": ["a", "b"],
            "cost_usd": [3.0, 1.0],
            "gap": [-1.5, 2.0],
            "billed_usd": pd.array([None, 0.0], dtype="Float64"),
            "share": [0.75, 0.25],
        }
    )
    out, named = tables.shown(frame)
    assert list(out["share"]) == [75.0, 25.0]
    assert list(frame["share"]) == [0.75, 0.25]  # the caller's frame is left as it was
    assert named == {"gap"}  # a missing amount is not below zero


def test_shown__a_share_too_small_for_one_decimal_keeps_the_percent_format():
    """0.04 % would read 0.0 % in printf: the column keeps "percent" (0.04%), as a fraction."""
    frame = pd.DataFrame({"label": ["a", "b", "c"], "share": [0.9996, 0.0004, 0.0]})
    out, named = tables.shown(frame)
    assert named == {"share"} and list(out["share"]) == [0.9996, 0.0004, 0.0]
    share = tables.column_config(["share"], named=named)["share"]["type_config"]
    assert (share["format"], share["max_value"]) == ("percent", 1.0)
    exact = pd.DataFrame({"label": ["a", "b"], "share": [0.9995, 0.0005]})  # reads 0.1 %: printf
    assert tables.shown(exact)[1] == frozenset()


def test_shown__no_share_column_is_left_as_it_is():
    frame = pd.DataFrame({"label": ["a"], "cost_usd": [1.0]})
    out, named = tables.shown(frame)
    assert out is frame and named == frozenset()
