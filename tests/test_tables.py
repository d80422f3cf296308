"""The tables' formats (``spend.ui.tables``): printf strings the grid formats cheaply, the same
digits as ``spend.formatting``; money below zero keeps the grid's "dollar" format."""

from __future__ import annotations

import pandas as pd
import pytest

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
    config = tables.column_config(["cost_usd", "gap"], negative=frozenset({"gap"}))
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
    out, how = tables.shown(frame)
    assert list(out["share"]) == [75.0, 25.0]
    assert list(frame["share"]) == [0.75, 0.25]  # the caller's frame is left as it was
    assert how == {"negative": {"gap"}, "fine_share": False}  # a missing amount is not below zero


@pytest.mark.parametrize("tiny", [0.0004, -0.0004])
def test_shown__a_share_too_small_for_one_decimal_shows_two(tiny):
    """0.04 % would read 0.0 % with one decimal: the column shows two, still 0-100."""
    frame = pd.DataFrame({"label": ["a", "b", "c"], "share": [1 - tiny, tiny, 0.0]})
    out, how = tables.shown(frame)
    assert how["fine_share"]
    assert list(out["share"]) == pytest.approx([100 * (1 - tiny), 100 * tiny, 0.0])
    share = tables.column_config(["share"], **how)["share"]["type_config"]
    assert (share["format"], share["max_value"]) == ("%.2f%%", 100.0)
    exact = pd.DataFrame({"label": ["a", "b"], "share": [0.9995, 0.0005]})  # reads 0.1 %
    assert not tables.shown(exact)[1]["fine_share"]


def test_shown__no_share_column_is_left_as_it_is():
    frame = pd.DataFrame({"label": ["a"], "cost_usd": [1.0]})
    out, how = tables.shown(frame)
    assert out is frame and how == {"negative": frozenset(), "fine_share": False}


def test_show__the_grid_gets_the_scaled_share_with_its_format(monkeypatch):
    """``show`` pairs the frame it draws with the configs ``shown`` asked for."""
    drawn = {}
    monkeypatch.setattr(tables.st, "dataframe", lambda data, **kw: drawn.update(data=data, **kw))
    frame = pd.DataFrame({"label": ["a", "b"], "gap": [-2.0, 1.0], "share": [0.9996, 0.0004]})
    tables.show(frame)
    assert list(drawn["data"]["share"]) == pytest.approx([99.96, 0.04])
    config = drawn["column_config"]
    assert config["share"]["type_config"]["format"] == "%.2f%%"
    assert config["gap"]["type_config"]["format"] == "dollar"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([12.5, 0.0, 1234.0], tables.MONEY_FORMAT),
        ([12.5, None, float("nan")], tables.MONEY_FORMAT),  # a budget without a forecast yet
        ([12.5, -3.0], "dollar"),  # a credit: -$3.00, never $-3.00
        ([], tables.MONEY_FORMAT),
    ],
)
def test_money_format__printf_unless_an_amount_is_below_zero(values, expected):
    assert tables.money_format(values) == expected
