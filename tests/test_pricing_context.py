"""Long-context prices (spend.pricing.context): tiers from genai-prices 0.2.3 and spend/prices.toml.

Expected money is written as list price arithmetic: gpt-5.4 $2.50 input / $0.25 cached / $15 output
per 1M, above 272K input tokens $5 / $0.50 / $22.50, context window 1.05M (genai-prices 0.2.3);
Claude Sonnet 4.5 $3 / $15, above 200K $6 / $22.50 (genai-prices 0.2.3); Claude Sonnet 4 the same
above 200K from spend/prices.toml (Anthropic's pricing page, "Long context pricing").
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from spend.errors import PricingError
from spend.pricing import attach_prices, lower_bound_summary, parse_price_table, rate_card
from spend.pricing.context import known_tier, window_range
from spend.schema import conform

DAY = "2026-05-01"
M = 1_000_000


def priced(**row) -> pd.Series:
    """One usage row (gpt-5.4 completion on DAY unless it says otherwise), priced."""
    row = {"date": DAY, "model": "gpt-5.4", "operation": "completion", **row}
    frame = conform(pd.DataFrame({name: [value] for name, value in row.items()}))
    return attach_prices(frame).iloc[0]


def claude(model: str, requests: int, window: str | None) -> dict:
    """An Anthropic row of 300K input and 1K output tokens (a day when Sonnet 4 was sold)."""
    return {
        "model": model,
        "provider": "anthropic",
        "date": "2025-09-01",
        "n_requests": requests,
        "input_tokens": 300_000,
        "output_tokens": 1_000,
        "context_window": window,
    }


#: The issue's example: 10 requests, 5M input tokens, 100K output.
EXAMPLE = {"n_requests": 10, "input_tokens": 5 * M, "output_tokens": 100_000}
#: The least the example can cost: ceil((5M - 10 x 272K) / (1.05M - 272K)) = 3 long requests,
#: 7 at exactly 272K, so 5M - 7 x 272K = 3.096M input tokens were long; output all short.
EXAMPLE_FLOOR = 5 * 2.50 + 0.1 * 15.00 + 3.096 * (5.00 - 2.50)


@pytest.mark.parametrize(
    ("row", "usd", "lower"),
    [
        # every request known to be long: all tokens at the long-context rates
        ({**EXAMPLE, "context_window": "272k-1M"}, 5 * 5.00 + 0.1 * 22.50, False),
        # known short: the base rate, exact
        ({**EXAMPLE, "context_window": "0-272k"}, 5 * 2.50 + 0.1 * 15.00, False),
        # aggregated, 500K per request on average: must hold long requests; the least it can be
        (EXAMPLE, EXAMPLE_FLOOR, True),
        # a value that is no range says nothing: as aggregated
        ({**EXAMPLE, "context_window": "unknown"}, EXAMPLE_FLOOR, True),
        # 250K per request on average: nothing shows a long request
        ({**EXAMPLE, "n_requests": 20}, 5 * 2.50 + 0.1 * 15.00, False),
        # exactly 272K each is not above the threshold; one token more is
        ({**EXAMPLE, "input_tokens": 2_720_000}, 2.72 * 2.50 + 0.1 * 15.00, False),
        (
            {**EXAMPLE, "input_tokens": 2_720_001},
            2.720001 * 2.50 + 0.1 * 15.00 + (2_720_001 - 9 * 272_000) / M * 2.50,
            True,
        ),
        # the cheapest long input first: 4M of the 5M cached, 3.096M long ones all cached
        (
            {**EXAMPLE, "cached_input_tokens": 4 * M},
            1 * 2.50 + 4 * 0.25 + 0.1 * 15.00 + 3.096 * (0.50 - 0.25),
            True,
        ),
        # one request: all of its input was long, output may not be (cliff: it is, but unseen)
        (
            {"n_requests": 1, "input_tokens": 300_000, "output_tokens": 1_000},
            0.3 * 5.00 + 0.001 * 15.00,
            True,
        ),
        # more input than ten requests can hold: every token of input long
        (
            {"n_requests": 2, "input_tokens": 3 * M, "output_tokens": 0},
            3 * 5.00,
            True,
        ),
        # batch halves the long-context rates too
        (
            {**EXAMPLE, "context_window": "272k-1M", "batch": True},
            (5 * 5.00 + 0.1 * 22.50) / 2,
            False,
        ),
        # no tier: gpt-4o is priced at its one rate whatever the request size
        (
            {**EXAMPLE, "model": "gpt-4o"},
            5 * 2.50 + 0.1 * 10.00,
            False,
        ),
        # Claude Sonnet 4.5: genai-prices' tier, exact with Anthropic's context_window
        (claude("claude-sonnet-4-5", 1, "200k-1M"), 0.3 * 6.00 + 0.001 * 22.50, False),
        (claude("claude-sonnet-4-5", 2, "0-200k"), 0.3 * 3.00 + 0.001 * 15.00, False),
        # Claude Sonnet 4: no tier in genai-prices 0.2.3, the one in spend/prices.toml
        (claude("claude-sonnet-4-20250514", 1, "200k-1M"), 0.3 * 6.00 + 0.001 * 22.50, False),
        # ... and the least it can cost when the tier is not known: one request, all input long
        (claude("claude-sonnet-4-20250514", 1, None), 0.3 * 6.00 + 0.001 * 15.00, True),
    ],
)
def test_long_context__table(row, usd, lower):
    out = priced(**row)
    assert out["cost_basis"] == "estimated"
    assert out["cost_usd"] == pytest.approx(usd, rel=1e-9)
    assert bool(out["cost_lower_bound"]) is lower


def test_long_context__issue_example_is_27_25_when_every_request_is_long():
    # 10 requests x 500K input, 10K output each, all above 272K: 5M x $5 + 100K x $22.50.
    assert priced(**EXAMPLE, context_window="272k-1M")["cost_usd"] == pytest.approx(27.25)
    # Aggregated, the same usage is at least $21.74 (and at most $27.25), and says so.
    floor = priced(**EXAMPLE)
    assert floor["cost_usd"] == pytest.approx(21.74)
    assert 14.00 < floor["cost_usd"] < 27.25 and bool(floor["cost_lower_bound"])


def test_long_context__floor_lies_between_base_and_all_long():
    rng = np.random.default_rng(7)
    requests = rng.integers(1, 50, size=300)
    inputs = (rng.random(300) * requests * M).astype(np.int64) + 1
    usage = pd.DataFrame(
        {
            "date": DAY,
            "model": "gpt-5.4",
            "operation": "completion",
            "n_requests": requests,
            "input_tokens": inputs,
            "cached_input_tokens": (rng.random(300) * inputs).astype(np.int64),
            "output_tokens": rng.integers(0, M, size=300),
        }
    )

    def cost(window: str | None) -> pd.DataFrame:
        return attach_prices(conform(usage.assign(context_window=window)))

    base, every, estimate = cost("0-272k"), cost("272k-1M"), cost(None)
    assert (base["cost_usd"] <= estimate["cost_usd"] + 1e-9).all()
    assert (estimate["cost_usd"] <= every["cost_usd"] + 1e-9).all()
    floors = estimate["cost_lower_bound"].astype(bool)
    assert floors.tolist() == (inputs > requests * 272_000).tolist()
    assert 0 < floors.sum() < len(floors)  # both kinds of row are drawn


def test_long_context__lower_bound_summary_lists_the_row():
    frame = conform(
        pd.DataFrame(
            {
                "date": [DAY, DAY],
                "model": ["gpt-5.4", "gpt-5.4"],
                "operation": ["completion", "completion"],
                "n_requests": [10, 40],
                "input_tokens": [5 * M, 5 * M],
                "output_tokens": [100_000, 100_000],
            }
        )
    )
    summary = lower_bound_summary(attach_prices(frame))
    assert summary[["model", "rows"]].values.tolist() == [["gpt-5.4", 1]]
    assert summary["cost_usd"].iloc[0] == pytest.approx(EXAMPLE_FLOOR)


def test_long_context__rate_card_names_the_tier_and_its_source():
    frame = conform(
        pd.DataFrame(
            {
                "date": [DAY, "2025-09-01"],
                "model": ["gpt-5.4", "claude-sonnet-4-20250514"],
                "provider": ["openai", "anthropic"],
                "operation": ["completion", "completion"],
                "n_requests": [10, 1],
                "input_tokens": [5 * M, 300_000],
                "output_tokens": [100_000, 1_000],
            }
        )
    )
    card = rate_card(attach_prices(frame)).set_index(["model", "component"])
    gpt = card.loc[("gpt-5.4", "text input above 272,000 input tokens")]
    assert gpt["usd"] == pytest.approx(5.00)
    assert gpt["source"].startswith("genai-prices 0.2.3")
    claude = card.loc[("claude-sonnet-4-20250514", "text output above 200,000 input tokens")]
    assert claude["usd"] == pytest.approx(22.50)
    assert "Long context pricing" in claude["source"]


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("0-200k", (0, 200_000)),
        ("200k-1M", (200_000, 1_000_000)),
        (" 272K - 1.05m ", (272_000, 1_050_000)),
        ("1000-2000", (1_000, 2_000)),
        ("long", (math.nan, math.nan)),
        ("", (math.nan, math.nan)),
    ],
)
def test_window_range__table(text, bounds):
    np.testing.assert_array_equal(window_range(text), bounds)


def test_known_tier__table():
    frame = pd.DataFrame({"context_window": ["0-200k", "200k-1M", None, "100k-300k", "x"]})
    threshold = np.full(5, 200_000.0)
    assert known_tier(frame, threshold).tolist() == [0, 1, -1, -1, -1]
    assert known_tier(frame.drop(columns="context_window"), threshold).tolist() == [-1] * 5


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"model": "m", "context_above": 1.5, "input_per_mtok": 1}, "whole number"),
        ({"model": "m", "context_above": 0, "input_per_mtok": 1}, "whole number"),
        ({"model": "m", "context_above": "200k", "input_per_mtok": 1}, "must be a number"),
        ({"model": "m", "context_above": 1000, "unit": "calls", "per_unit": 1}, "token prices"),
        ({"model": "m", "context_above": 1000, "rate_factor": 2}, "token prices"),
    ],
)
def test_context_above__bad_entries_raise(entry, message):
    with pytest.raises(PricingError, match=message):
        parse_price_table({"price": [entry]}, source="t.toml")


def test_context_above__override_prices_long_requests_and_keeps_its_own_base():
    overrides = parse_price_table(
        {
            "price": [
                {"model": "gpt-5.4", "input_per_mtok": 1.0, "output_per_mtok": 2.0},
                {"model": "gpt-5.4", "context_above": 100_000, "input_per_mtok": 3.0},
            ]
        },
        source="mine.toml",
    )
    frame = conform(
        pd.DataFrame(
            {
                "date": [DAY, DAY],
                "model": ["gpt-5.4", "gpt-5.4"],
                "operation": ["completion", "completion"],
                "n_requests": [1, 10],
                "input_tokens": [200_000, 200_000],
                "output_tokens": [1_000, 1_000],
            }
        )
    )
    out = attach_prices(frame, overrides=overrides)
    # above 100K: input at $3, output (no long price given) at the override's $2
    assert out["cost_usd"].tolist() == pytest.approx([0.2 * 3.0 + 0.001 * 2.0, 0.2 + 0.002])
    assert out["cost_lower_bound"].tolist() == [True, False]


def test_context_above__override_without_a_long_price_is_the_whole_price():
    overrides = parse_price_table(
        {"price": [{"model": "gpt-5.4", "input_per_mtok": 1.0, "output_per_mtok": 2.0}]},
        source="mine.toml",
    )
    frame = conform(
        pd.DataFrame(
            {
                "date": [DAY],
                "model": ["gpt-5.4"],
                "operation": ["completion"],
                **{name: [value] for name, value in EXAMPLE.items()},
            }
        )
    )
    out = attach_prices(frame, overrides=overrides)
    # a negotiated price has no genai-prices tier on top of it
    assert out["cost_usd"].tolist() == pytest.approx([5 * 1.0 + 0.1 * 2.0])
    assert out["cost_lower_bound"].tolist() == [False]
