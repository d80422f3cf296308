"""Tables for ``spend.formatting``: every function, its NA handling and its rounding edges."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from spend import formatting
from spend.formatting import DASH, delta_pct, integer, pct, tokens_compact, usd, usd_compact

MISSING = [None, float("nan"), pd.NA, np.nan, math.inf, -math.inf]


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (1234.56, {}, "$1,234.56"),
        (1234.5, {}, "$1,234.50"),
        (0, {}, "$0.00"),
        (0.004, {}, "$0.00"),
        (0.005001, {}, "$0.01"),
        (-3, {}, "-$3.00"),
        (-0.001, {}, "$0.00"),  # rounds to zero: no "-$0.00"
        (1_000_000, {}, "$1,000,000.00"),
        (np.float64(2.5), {}, "$2.50"),
        (np.int64(7), {}, "$7.00"),
        ("12.5", {}, "$12.50"),  # Costs API amounts arrive as strings
        (1.23456, {"decimals": 4}, "$1.2346"),
        (12.3, {"decimals": 0}, "$12"),
        (None, {}, "unpriced"),
        (pd.NA, {}, "unpriced"),
        (float("nan"), {"na": DASH}, "—"),
        (math.inf, {}, "unpriced"),
    ],
)
def test_usd__table(value, kwargs, expected):
    assert usd(value, **kwargs) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12.3, "$12.30"),
        (999.99, "$999.99"),
        (999.999, "$1.0k"),  # cents round up to $1,000
        (1000, "$1.0k"),
        (12_345, "$12.3k"),
        (999_949, "$999.9k"),
        (999_960, "$1.0M"),  # not "$1000.0k"
        (2_500_000, "$2.5M"),
        (3.2e9, "$3.2B"),
        (-1500, "-$1.5k"),
        (-5, "-$5.00"),
        (0, "$0.00"),
        (None, "unpriced"),
        (pd.NA, "unpriced"),
    ],
)
def test_usd_compact__table(value, expected):
    assert usd_compact(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234567, "1,234,567"),
        (0, "0"),
        (2.6, "3"),
        (-1234, "-1,234"),
        (np.int64(10**15), "1,000,000,000,000,000"),
        (2**60 + 1, f"{2**60 + 1:,d}"),  # exact, not through a float
        (pd.NA, "—"),
        (None, "—"),
    ],
)
def test_integer__table(value, expected):
    assert integer(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (950, "950"),
        (999.4, "999"),
        (999.6, "1.0k"),
        (12_345, "12.3k"),
        (12_345_678, "12.3M"),
        (999_960, "1.0M"),
        (4.56e9, "4.6B"),
        (7e12, "7.0T"),
        (2e15, "2,000.0T"),
        (-2_500, "-2.5k"),
        (np.int64(1_500), "1.5k"),
        (float("nan"), "—"),
    ],
)
def test_tokens_compact__table(value, expected):
    assert tokens_compact(value) == expected


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (0.1234, {}, "12.3%"),
        (1, {}, "100.0%"),
        (0, {}, "0.0%"),
        (-0.00001, {}, ">-0.1%"),  # a non-zero share never prints as zero (nor as "-0.0%")
        (0.00042, {}, "<0.1%"),
        (0.0005, {}, "<0.1%"),
        (0.001, {}, "0.1%"),
        (0.004, {"decimals": 0}, "<1%"),
        (0.5, {"decimals": 0}, "50%"),
        (12.5, {}, "1,250.0%"),
        (pd.NA, {}, "—"),
        (None, {"na": "n/a"}, "n/a"),
    ],
)
def test_pct__table(value, kwargs, expected):
    assert pct(value, **kwargs) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.25, "+25.0%"),
        (-0.04, "-4.0%"),
        (0, "0.0%"),
        (0.0000001, "0.0%"),  # rounds to zero: no sign
        (-0.0000001, "0.0%"),
        (3, "+300.0%"),
        (None, "—"),  # previous period was 0
        (math.inf, "—"),
    ],
)
def test_delta_pct__table(value, expected):
    assert delta_pct(value) == expected


@pytest.mark.parametrize("value", MISSING)
@pytest.mark.parametrize(
    "function",
    [usd, usd_compact, integer, tokens_compact, pct, delta_pct],
    ids=lambda f: f.__name__,
)
def test_every_formatter__missing_values_give_na_text(function, value):
    assert function(value, na="?") == "?"


@pytest.mark.parametrize("function", [usd, usd_compact], ids=lambda f: f.__name__)
def test_money__missing_is_unpriced_by_default(function):
    assert function(pd.NA) == formatting.UNPRICED
