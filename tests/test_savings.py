"""Savings from cached input and the Batch API, against list prices worked out by hand.

Published OpenAI list prices per 1M tokens (openai.com/api/pricing), the ones genai-prices 0.2.3
carries: gpt-4o-2024-08-06 $2.50 input / $1.25 cached / $10.00 output; gpt-4o-mini-2024-07-18
$0.15 / $0.075 / $0.60; gpt-4.1-2025-04-14 $2.00 / $0.50 / $8.00; text-embedding-3-small $0.02
input. The Batch API halves input and output.
"""

from __future__ import annotations

import pandas as pd
import pytest

from spend.pricing import attach_prices, parse_price_table
from spend.savings import BY_MODEL_COLUMNS, row_savings, savings
from spend.schema import conform

M = 1_000_000


def usage(*rows: dict, batch: bool = True) -> pd.DataFrame:
    """Row dicts into a priced usage table (``batch`` column kept unless ``batch=False``)."""
    frame = pd.DataFrame(
        [{"date": "2025-03-03", "operation": "completion", "n_requests": 1, **row} for row in rows]
    )
    frame = frame.assign(cost_basis=frame.get("cost_basis", "estimated"))
    if not batch:
        frame = frame.drop(columns="batch", errors="ignore")
    return attach_prices(conform(frame))


ROWS = [
    # 1. cached 400k x ($2.50 - $1.25) / 1M = $0.50; not batch
    {"model": "gpt-4o-2024-08-06", "input_tokens": M, "cached_input_tokens": 400_000,
     "output_tokens": 100_000, "batch": False},
    # 2. batch: 0.5 x (2M x $2.50 + 500k x $10.00) / 1M = 0.5 x $10.00 = $5.00; nothing cached
    {"model": "gpt-4o-2024-08-06", "input_tokens": 2 * M, "cached_input_tokens": 0,
     "output_tokens": 500_000, "batch": True},
    # 3. cached 4M x ($0.15 - $0.075) / 1M = $0.30;
    #    batch 0.5 x (6M x $0.15 + 4M x $0.075 + 1M x $0.60) / 1M = 0.5 x $1.80 = $0.90
    {"model": "gpt-4o-mini-2024-07-18", "input_tokens": 10 * M, "cached_input_tokens": 4 * M,
     "output_tokens": M, "batch": True},
    # 4. cached 1M x ($2.00 - $0.50) / 1M = $1.50 (gpt-4.1 caches at a quarter of the price)
    {"model": "gpt-4.1-2025-04-14", "input_tokens": M, "cached_input_tokens": M,
     "output_tokens": 0, "batch": False},
    # 5. no cached price: saves nothing
    {"model": "text-embedding-3-small", "operation": "embeddings", "input_tokens": M,
     "cached_input_tokens": 0, "output_tokens": 0, "batch": False},
    # 6. a fine-tune no price table knows: unpriced, claims nothing, counted
    {"model": "ft:davinci-002:acme:x:1", "input_tokens": 10_000, "cached_input_tokens": 5_000,
     "output_tokens": 10, "batch": True},
    # 7. a billed Costs API row: money only, no tokens
    {"model": None, "operation": "cost", "cost_usd": 99.0, "cost_basis": "billed", "batch": None},
]  # fmt: skip


def test_savings__totals_by_hand():
    result = savings(usage(*ROWS))
    assert result.cached_input_usd == pytest.approx(0.50 + 0.30 + 1.50)
    assert result.batch_usd == pytest.approx(5.00 + 0.90)
    assert result.total_usd == pytest.approx(8.20)
    # cached share: (400k + 4M + 1M + 5k) / (1M + 2M + 10M + 1M + 1M + 10k), unpriced included
    assert result.cached_input_tokens == 5_405_000 and result.input_tokens == 15_010_000
    assert result.cached_share == pytest.approx(5_405_000 / 15_010_000)
    assert (result.unpriced_rows, result.unpriced_cached_tokens) == (1, 5_000)
    assert result.batch_reported


def test_savings__per_model_by_hand():
    by_model = savings(usage(*ROWS)).by_model.set_index("model")
    assert list(by_model.reset_index().columns) == list(BY_MODEL_COLUMNS)
    expected = {
        # model: (cached, batch, saved, unpriced rows)
        "gpt-4o-2024-08-06": (0.50, 5.00, 5.50, 0),
        "gpt-4.1-2025-04-14": (1.50, 0.0, 1.50, 0),
        "gpt-4o-mini-2024-07-18": (0.30, 0.90, 1.20, 0),
        "ft:davinci-002:acme:x:1": (0.0, 0.0, 0.0, 1),
        "text-embedding-3-small": (0.0, 0.0, 0.0, 0),
    }
    assert list(by_model.index) == list(expected)  # largest saving, then most cached, first
    for model, (cached, batch, saved, unpriced) in expected.items():
        row = by_model.loc[model]
        assert (row["cached_input_usd"], row["batch_usd"], row["saved_usd"]) == pytest.approx(
            (cached, batch, saved)
        )
        assert row["unpriced_rows"] == unpriced
    assert by_model.loc["gpt-4o-mini-2024-07-18", "cached_share"] == pytest.approx(0.4)


def test_savings__add_up_to_list_price_minus_paid():
    # list price without cache or batch, by hand:
    # 1: 1M x 2.50 + 100k x 10 = 3.50    2: 2M x 2.50 + 500k x 10 = 10.00
    # 3: 10M x 0.15 + 1M x 0.60 = 2.10   4: 1M x 2.00 = 2.00    5: 1M x 0.02 = 0.02
    list_price = 3.50 + 10.00 + 2.10 + 2.00 + 0.02
    table = usage(*ROWS)
    paid = table.loc[table["cost_basis"] == "estimated", "cost_usd"].sum()
    assert paid == pytest.approx(3.00 + 5.00 + 0.90 + 0.50 + 0.02)
    assert savings(table).total_usd == pytest.approx(list_price - paid)


@pytest.mark.parametrize(
    "row, cached, batch",
    [
        (ROWS[0], 0.50, 0.0),
        (ROWS[1], 0.0, 5.00),
        (ROWS[2], 0.30, 0.90),
        ({**ROWS[0], "cached_input_tokens": 0}, 0.0, 0.0),
        ({**ROWS[0], "input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0}, 0.0, 0.0),
        ({**ROWS[0], "cached_input_tokens": 2 * M}, 1.25, 0.0),  # more cached than input: capped
        (ROWS[5], 0.0, 0.0),  # unpriced
    ],
    ids=["cached", "batch", "both", "nothing-cached", "no-usage", "cached-capped", "unpriced"],
)
def test_row_savings__table(row, cached, batch):
    result = row_savings(usage(row))
    assert result.iloc[0].tolist() == pytest.approx([cached, batch])


def test_savings__price_file_overrides_list_prices():
    # A negotiated gpt-4o-2024-08-06 rate: $2.00 input, $0.50 cached -> 400k x $1.50 / 1M = $0.60
    overrides = parse_price_table(
        {
            "price": [
                {
                    "model": "gpt-4o-2024-08-06",
                    "input_per_mtok": 2.0,
                    "cached_input_per_mtok": 0.5,
                    "output_per_mtok": 8.0,
                }
            ]
        },
        source="test",
    )
    table = attach_prices(usage(ROWS[0]), overrides=overrides)
    assert savings(table, overrides=overrides).cached_input_usd == pytest.approx(0.60)


def test_savings__without_a_batch_column_batch_is_not_reported():
    result = savings(usage(ROWS[0], ROWS[2], batch=False))
    assert not result.batch_reported and result.batch_usd == 0.0
    assert result.cached_input_usd == pytest.approx(0.50 + 0.30)


def test_savings__empty_table():
    result = savings(usage(ROWS[6]))
    assert (result.total_usd, result.cached_share, result.unpriced_rows) == (0.0, 0.0, 0)
    assert result.by_model.empty


def test_row_savings__cached_audio_saves_at_the_audio_rates():
    """gpt-4o-realtime-preview-2024-12-17 (list): text $5 / $2.50 cached, audio $40 / $2.50 cached.
    1M input: 200k cached text, 300k cached audio, 100k uncached audio, 400k uncached text.
    Saved: 200k x ($5 - $2.50) / 1M + 300k x ($40 - $2.50) / 1M = $0.50 + $11.25 = $11.75."""
    frame = usage(
        {
            "model": "gpt-4o-realtime-preview-2024-12-17",
            "input_tokens": M,
            "cached_input_tokens": 500_000,
            "input_audio_tokens": 100_000,
            "cached_audio_tokens": 300_000,
            "output_tokens": 0,
            "batch": False,
        }
    )
    saved = row_savings(frame)
    assert saved["cached_input_usd"].tolist() == pytest.approx([11.75])
