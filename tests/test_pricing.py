"""Tests for spend.pricing.

Expected money is computed from the pinned genai-prices data itself (``genai()`` below), except
where a number is hard-coded: those were checked against genai-prices 0.2.3 (pinned in
requirements.txt) or come from spend/prices.toml / tests/data/prices-override.toml, and say so.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from genai_prices import Usage, calc_price
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spend import pricing
from spend.errors import PricingError
from spend.pricing import (
    ModalRates,
    Price,
    PriceTable,
    RateKey,
    attach_prices,
    distinct_keys,
    load_price_overrides,
    local_prices,
    lower_bound_summary,
    parse_price_table,
    price_period,
    price_source_version,
    rate_card,
    row_key,
    unpriced_summary,
)
from spend.schema import conform, empty_frame, validate

DAY = "2025-03-01"
OVERRIDE_FILE = Path(__file__).parent / "data" / "prices-override.toml"


def usage_frame(*rows: dict) -> pd.DataFrame:
    """Row dicts into a usage table, dated DAY unless a row says otherwise, e.g. one gpt-4o row."""
    rows = [{"date": DAY, **row} for row in rows]
    names = list(dict.fromkeys(name for row in rows for name in row))
    return conform(pd.DataFrame({name: [row.get(name) for row in rows] for name in names}))


def genai(model: str, day: str | None = DAY, context: dict | None = None, **usage: int) -> float:
    """Usage priced by the pinned genai-prices itself, in USD: the expectation for one row."""
    when = None if day is None else datetime.fromisoformat(day).replace(tzinfo=UTC)
    calculation = calc_price(
        Usage(**usage),
        model,
        provider_id="openai",
        genai_request_timestamp=when,
        price_context=context,
    )
    return float(calculation.total_price)


def priced_one(row: dict, **kwargs) -> pd.Series:
    """One row dict into that row after ``attach_prices``."""
    return attach_prices(usage_frame(row), **kwargs).iloc[0]


# --------------------------------------------------------------------------------------------
# The pinned data says what API-NOTES says (hard-coded, checked against genai-prices 0.2.3)


@pytest.mark.parametrize(
    ("model", "usage", "day", "usd"),
    [
        ("gpt-4o-2024-08-06", {"input_tokens": 1_000_000}, DAY, 2.50),
        (
            "gpt-4o-2024-08-06",
            {"input_tokens": 1_000_000, "cache_read_tokens": 1_000_000},
            DAY,
            1.25,
        ),
        ("gpt-4o-mini", {"output_tokens": 1_000_000}, DAY, 0.60),
        (
            "ft:gpt-4o-mini-2024-07-18:acme::x",
            {"input_tokens": 1_000_000, "output_tokens": 1_000_000},
            DAY,
            1.50,
        ),
        ("o3", {"input_tokens": 1_000_000}, "2025-06-09", 10.0),
        ("o3", {"input_tokens": 1_000_000}, "2025-06-10", 2.0),
        # what genai-prices 0.2.3 gets wrong (spend/prices.toml corrects it; tests below):
        # o3's cached input before 2025-06-10 was $2.50, not $0.50
        ("o3", {"input_tokens": 1_000_000, "cache_read_tokens": 1_000_000}, "2025-06-09", 0.50),
        # a fine-tune's cached input is half its input rate ($0.15), not the full $0.30
        (
            "ft:gpt-4o-mini-2024-07-18:acme::x",
            {"input_tokens": 1_000_000, "cache_read_tokens": 1_000_000},
            DAY,
            0.30,
        ),
        ("whisper-1", {"audio_seconds": 60}, DAY, 0.006),
        ("tts-1", {"input_characters": 1_000_000}, DAY, 15.0),
        ("tts-1-hd", {"input_tokens": 1_000}, DAY, 0.0),  # wrong unit: genai-prices says $0
    ],
)
def test_genai_prices__pinned_rates(model, usage, day, usd):
    assert genai(model, day, **usage) == pytest.approx(usd)


@pytest.mark.parametrize(
    ("day", "priority_usd"),
    [
        ("2025-09-01", 2.50),  # no tier data yet: the default $2.50 (spend/prices.toml corrects)
        ("2026-11-01", 4.25),  # openai.com/api-priority-processing: gpt-4o priority $4.25
    ],
)
def test_genai_prices__priority_tier_only_from_2026_10_12(day, priority_usd):
    context = {"service_tier": "priority"}
    assert genai("gpt-4o-2024-08-06", day, context, input_tokens=1_000_000) == pytest.approx(
        priority_usd
    )


@pytest.mark.parametrize("model", ["dall-e-3", "dall-e-2", "no-such-model"])
def test_genai_prices__lacks_model(model):
    with pytest.raises(LookupError):
        genai(model, input_tokens=1)


def test_price_source_version__names_pinned_package():
    assert price_source_version() == "genai-prices 0.2.3"


# --------------------------------------------------------------------------------------------
# attach_prices: estimated rows


ESTIMATED = [
    pytest.param(
        {
            "model": "gpt-4o-2024-08-06",
            "input_tokens": 1_000_000,
            "cached_input_tokens": 400_000,
            "output_tokens": 200_000,
        },
        lambda: genai(
            "gpt-4o-2024-08-06",
            input_tokens=1_000_000,
            cache_read_tokens=400_000,
            output_tokens=200_000,
        ),
        id="gpt-4o-snapshot-with-cached",
    ),
    pytest.param(
        {"model": "gpt-4o-mini", "input_tokens": 123_456, "output_tokens": 7_890, "n_requests": 12},
        lambda: genai("gpt-4o-mini", input_tokens=123_456, output_tokens=7_890),
        id="gpt-4o-mini",
    ),
    pytest.param(
        {"model": "GPT-4o-Mini ", "input_tokens": 1_000},
        lambda: genai("gpt-4o-mini", input_tokens=1_000),
        id="model-id-case-and-space",
    ),
    pytest.param(
        {
            "date": "2025-06-09",
            "model": "o3-2025-04-16",
            "input_tokens": 500_000,
            "output_tokens": 100_000,
        },
        lambda: genai("o3-2025-04-16", "2025-06-09", input_tokens=500_000, output_tokens=100_000),
        id="o3-day-before-price-cut",
    ),
    pytest.param(
        {
            "date": "2025-06-10",
            "model": "o3-2025-04-16",
            "input_tokens": 500_000,
            "output_tokens": 100_000,
        },
        lambda: genai("o3-2025-04-16", "2025-06-10", input_tokens=500_000, output_tokens=100_000),
        id="o3-day-of-price-cut",
    ),
    pytest.param(
        {
            "model": "ft:gpt-4o-mini-2024-07-18:acme::x",
            "input_tokens": 1_000_000,
            "output_tokens": 1_000_000,
        },
        lambda: genai(
            "ft:gpt-4o-mini-2024-07-18:acme::x", input_tokens=1_000_000, output_tokens=1_000_000
        ),
        id="fine-tune",
    ),
    pytest.param(
        {"model": "text-embedding-3-small", "operation": "embeddings", "input_tokens": 5_000_000},
        lambda: genai("text-embedding-3-small", input_tokens=5_000_000),
        id="embeddings",
    ),
    pytest.param(
        {"model": "whisper-1", "operation": "transcription", "units": 90, "unit": "seconds"},
        lambda: genai("whisper-1", audio_seconds=90),
        id="whisper-seconds",
    ),
    pytest.param(
        {"model": "tts-1", "operation": "tts", "units": 2_500, "unit": "characters"},
        lambda: genai("tts-1", input_characters=2_500),
        id="tts-characters",
    ),
    pytest.param(
        {"model": "gpt-4o", "operation": "web_search", "units": 1_000, "unit": "calls"},
        lambda: genai("gpt-4o", web_searches=1_000),
        id="web-search-calls-by-model",
    ),
    pytest.param(
        {"model": "gpt-4o-mini", "input_tokens": 1_000_000, "batch": True},
        lambda: genai("gpt-4o-mini", input_tokens=1_000_000) * 0.5,  # Batch API: half price
        id="batch-discount",
    ),
    pytest.param(
        {"model": "gpt-4o-mini", "input_tokens": 1_000_000, "batch": None},
        lambda: genai("gpt-4o-mini", input_tokens=1_000_000),
        id="batch-unknown-is-not-batch",
    ),
    pytest.param(
        {"date": "2026-11-01", "model": "gpt-5", "input_tokens": 1_000_000, "service_tier": "flex"},
        lambda: genai("gpt-5", "2026-11-01", {"service_tier": "flex"}, input_tokens=1_000_000),
        id="flex-service-tier",
    ),
    pytest.param(
        {"model": "gpt-4o", "input_tokens": 100, "cached_input_tokens": 300},
        lambda: genai("gpt-4o", input_tokens=300, cache_read_tokens=300),
        id="ugly-cached-above-input-priced-as-cached",
    ),
    pytest.param(
        {"date": None, "model": "gpt-4o-mini", "input_tokens": 1_000},
        lambda: genai("gpt-4o-mini", None, input_tokens=1_000),
        id="ugly-no-date-priced-today",
    ),
    # Local table (spend/prices.toml): the numbers are its entries.
    pytest.param(
        {"model": "dall-e-3", "units": 3, "unit": "images", "image_size": "1024x1024"},
        lambda: 3 * 0.040,
        id="dall-e-3-square",
    ),
    pytest.param(
        {"model": "dall-e-3", "units": 2, "unit": "images", "image_size": "1024x1792"},
        lambda: 2 * 0.080,
        id="dall-e-3-portrait",
    ),
    pytest.param(
        {"model": "dall-e-3", "units": 1, "unit": "images", "image_size": "1792X1024 "},
        lambda: 0.080,
        id="dall-e-3-landscape-ugly-spelling",
    ),
    pytest.param(
        {"model": "dall-e-3", "units": 5, "unit": "images"},
        lambda: 5 * 0.040,
        id="dall-e-3-no-size-is-default-size",
    ),
    pytest.param(
        {"model": "dall-e-2", "units": 10, "unit": "images", "image_size": "512x512"},
        lambda: 10 * 0.018,
        id="dall-e-2-512",
    ),
    pytest.param(
        {"model": "dall-e-2", "units": 10, "unit": "images", "image_size": "256x256"},
        lambda: 10 * 0.016,
        id="dall-e-2-256",
    ),
    pytest.param(
        {"model": "gpt-4o-transcribe", "units": 120, "unit": "seconds"},
        lambda: 2 * 0.006,
        id="gpt-4o-transcribe-per-minute",
    ),
    pytest.param(
        {"operation": "code_interpreter", "units": 4, "unit": "sessions"},
        lambda: 4 * 0.03,
        id="code-interpreter-sessions",
    ),
    pytest.param(
        {"operation": "file_search", "units": 2_000, "unit": "calls"},
        lambda: 2 * 2.50,
        id="file-search-calls",
    ),
    pytest.param(
        {"operation": "vector_storage", "units": 3e9, "unit": "bytes"},
        lambda: (3 - 1) * 0.10,  # the organization's first GB of the day is free
        id="vector-storage-gb-day",
    ),
    pytest.param(
        {"model": "omni-moderation-latest", "operation": "moderation", "input_tokens": 10_000},
        lambda: 0.0,
        id="moderation-is-free",
    ),
    pytest.param(
        {"model": None, "operation": "moderation", "input_tokens": 16},
        lambda: 0.0,
        id="moderation-without-model-is-free",
    ),
    # Nothing used costs nothing, whatever the model.
    pytest.param(
        {"model": "no-such-model", "n_requests": 0}, lambda: 0.0, id="zero-usage-unknown-model"
    ),
    pytest.param(
        {"model": None, "unit": "images", "units": 0}, lambda: 0.0, id="zero-usage-no-model"
    ),
    pytest.param(
        {"model": "gpt-4o", "input_tokens": 0, "output_tokens": -5},
        lambda: 0.0,
        id="ugly-negative-count-is-zero",
    ),
    pytest.param(
        {
            "model": "gpt-4o-mini",
            "input_tokens": 1_000,
            "cost_usd": 999.0,
            "cost_basis": "estimated",
        },
        lambda: genai("gpt-4o-mini", input_tokens=1_000),
        id="stale-estimate-repriced",
    ),
]


@pytest.mark.parametrize(("row", "expected"), ESTIMATED)
def test_attach_prices__estimated(row, expected):
    priced = priced_one(row)
    assert priced["cost_basis"] == "estimated"
    assert priced["cost_usd"] == pytest.approx(expected(), rel=1e-12, abs=1e-15)


def test_attach_prices__o3_price_changes_on_2025_06_10():
    frame = usage_frame(
        *(
            {"date": day, "model": "o3", "input_tokens": 1_000_000}
            for day in ("2025-06-09", "2025-06-10")
        )
    )
    before, after = attach_prices(frame)["cost_usd"]
    assert before == pytest.approx(5 * after)


# --------------------------------------------------------------------------------------------
# attach_prices: unpriced rows (never a silent 0)


UNPRICED = [
    pytest.param(
        {"model": "no-such-model", "input_tokens": 1_000, "output_tokens": 10}, id="unknown-model"
    ),
    pytest.param({"model": None, "input_tokens": 1_000}, id="tokens-without-model"),
    pytest.param(
        {"model": "tts-1-hd", "operation": "tts", "input_tokens": 1_000},
        id="tts-1-hd-tokens-wrong-unit",
    ),
    pytest.param(
        {"model": "whisper-1", "units": 60, "unit": "characters"},
        id="whisper-characters-wrong-unit",
    ),
    pytest.param(
        {"model": "gpt-4o-mini-tts", "units": 500, "unit": "characters"},
        id="token-priced-tts-given-characters",
    ),
    pytest.param(
        {"model": "text-embedding-3-small", "input_tokens": 10, "output_tokens": 10},
        id="embeddings-with-output-tokens",
    ),
    pytest.param(
        {"model": "gpt-image-1", "units": 2, "unit": "images", "image_size": "1024x1024"},
        id="gpt-image-1-per-image",
    ),
    pytest.param(
        {"model": "dall-e-3", "units": 2, "unit": "images", "image_size": "999x999"},
        id="dall-e-3-unknown-size",
    ),
    pytest.param(
        {"model": None, "operation": "web_search", "units": 10, "unit": "calls"},
        id="web-search-without-model",
    ),
    pytest.param({"model": "gpt-4o", "units": 10, "unit": "fortnights"}, id="unknown-unit"),
    pytest.param(
        {
            "model": "gpt-4o",
            "input_tokens": 1_000,
            "cost_usd": 5.0,
            "cost_basis": "estimated",
            "units": 1,
            "unit": "images",
        },
        id="tokens-priced-but-units-not",
    ),
]


@pytest.mark.parametrize("row", UNPRICED)
def test_attach_prices__unpriced(row):
    priced = priced_one(row)
    assert priced["cost_basis"] == "unpriced"
    assert pd.isna(priced["cost_usd"])
    for name in ("input_tokens", "output_tokens", "units"):
        if row.get(name) is not None:
            assert priced[name] == row[name]


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(
            {"operation": "cost", "cost_usd": 12.5, "cost_basis": "billed"}, id="costs-api-row"
        ),
        pytest.param(
            {"model": "no-such-model", "input_tokens": 9, "cost_usd": 3.0, "cost_basis": "billed"},
            id="billed-with-tokens",
        ),
        pytest.param(
            {"model": "gpt-4o", "input_tokens": 1_000_000, "cost_usd": 1.0, "cost_basis": "billed"},
            id="billed-not-repriced",
        ),
        pytest.param(
            {"operation": "cost", "cost_usd": None, "cost_basis": "billed"},
            id="billed-without-amount",
        ),
    ],
)
def test_attach_prices__billed_rows_untouched(row):
    frame = usage_frame(row, {"model": "gpt-4o-mini", "input_tokens": 10})
    out = attach_prices(frame)
    pd.testing.assert_series_equal(out.drop(columns="cost_lower_bound").iloc[0], frame.iloc[0])
    assert out["cost_basis"].tolist() == ["billed", "estimated"]
    assert out["cost_lower_bound"].tolist() == [False, False]


def test_attach_prices__keeps_schema_rows_and_input():
    frame = usage_frame(
        {
            "model": "gpt-4o",
            "input_tokens": 10,
            "batch": True,
            "user_id": "user-1",
            "extra": "kept",
        },
        {"model": "no-such-model", "input_tokens": 10},
        {"operation": "cost", "cost_usd": 1.0, "cost_basis": "billed"},
    )
    before = frame.copy(deep=True)
    out = attach_prices(frame)
    pd.testing.assert_frame_equal(frame, before)
    validate(out)
    assert list(out.columns) == [*frame.columns, "cost_lower_bound"]
    assert str(out["cost_lower_bound"].dtype) == "boolean"
    pd.testing.assert_frame_equal(
        out.drop(columns=["cost_usd", "cost_basis", "cost_lower_bound"]),
        before.drop(columns=["cost_usd", "cost_basis"]),
    )


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(empty_frame(), id="empty"),
        pytest.param(usage_frame({"model": "gpt-4o"}).iloc[0:0], id="empty-with-extras"),
    ],
)
def test_attach_prices__empty(frame):
    out = attach_prices(frame)
    validate(out)
    assert out.empty


def test_attach_prices__keeps_the_frame_index():
    frame = usage_frame(
        {"model": "gpt-4o-mini", "input_tokens": 1}, {"model": "nope", "input_tokens": 1}
    )
    frame.index = pd.Index([10, 3])
    out = attach_prices(frame)
    assert out.index.tolist() == [10, 3]
    assert out["cost_basis"].tolist() == ["estimated", "unpriced"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"model": "mystery-1", "input_tokens": 5}], "mystery-1 (tokens)"),
        ([{"model": "dall-e-9", "units": 1, "unit": "images"}], "dall-e-9 (images)"),
        ([{"model": None, "input_tokens": 5}], "(none) (tokens)"),
        ([{"model": f"m-{n}", "input_tokens": 5} for n in range(7)], "and 2 more"),
    ],
)
def test_attach_prices__errors_raise_names_unpriced(rows, message):
    with pytest.raises(PricingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        attach_prices(usage_frame(*rows), errors="raise")


def test_attach_prices__errors_raise_passes_when_all_priced():
    out = attach_prices(usage_frame({"model": "gpt-4o-mini", "input_tokens": 5}), errors="raise")
    assert out["cost_basis"].tolist() == ["estimated"]


@pytest.mark.parametrize("errors", ["ignore", "", None])
def test_attach_prices__bad_error_policy(errors):
    with pytest.raises(ValueError, match="errors must be one of"):
        attach_prices(usage_frame({"model": "gpt-4o"}), errors=errors)


# --------------------------------------------------------------------------------------------
# Overrides


OVERRIDDEN = [
    pytest.param(
        {
            "model": "ft:gpt-4o-mini-2024-07-18:acme::abc",
            "input_tokens": 1_000_000,
            "cached_input_tokens": 500_000,
            "output_tokens": 1_000_000,
        },
        lambda: 0.5 * 0.30 + 0.5 * 0.15 + 1.20,
        id="glob-fine-tune-with-cached-rate",
    ),
    pytest.param(
        {
            "model": "ft:gpt-4o-mini-2024-07-18:other::abc",
            "input_tokens": 1_000_000,
            "cached_input_tokens": 500_000,
        },
        # genai-prices' $0.30 input, and cached at the corrected $0.15 (spend/prices.toml)
        lambda: (500_000 * 0.30 + 500_000 * 0.15) / 1e6,
        id="glob-miss-falls-back-to-genai-and-the-cached-correction",
    ),
    pytest.param(
        {"model": "gpt-4o", "input_tokens": 1_000_000, "output_tokens": 1_000_000},
        lambda: 2.00 + 8.00,
        id="exact-id",
    ),
    pytest.param(
        {"model": "GPT-4O", "input_tokens": 1_000_000}, lambda: 2.00, id="exact-id-any-case"
    ),
    pytest.param(
        {"model": "gpt-4o", "input_tokens": 1_000_000, "cached_input_tokens": 1_000_000},
        lambda: 2.00,
        id="no-cached-rate-means-input-rate",
    ),
    pytest.param(
        {"model": "gpt-4o-2024-08-06", "input_tokens": 1_000_000},
        lambda: genai("gpt-4o-2024-08-06", input_tokens=1_000_000),
        id="exact-id-does-not-match-snapshot",
    ),
    pytest.param(
        {"model": "gpt-4o", "input_tokens": 1_000_000, "batch": True},
        lambda: 2.00 * 0.5,
        id="batch-on-override",
    ),
    pytest.param(
        {"model": "dall-e-3", "units": 2, "unit": "images", "image_size": "1024x1792"},
        lambda: 2 * 0.05,
        id="override-beats-local-table",
    ),
    pytest.param(
        {"model": "dall-e-3", "units": 2, "unit": "images", "image_size": "999x999"},
        lambda: 2 * 0.05,
        id="override-without-size-any-size",
    ),
]


@pytest.mark.parametrize(("row", "expected"), OVERRIDDEN)
def test_attach_prices__overrides(row, expected):
    priced = priced_one(row, overrides=load_price_overrides(OVERRIDE_FILE))
    assert priced["cost_basis"] == "estimated"
    assert priced["cost_usd"] == pytest.approx(expected(), rel=1e-12)


def test_attach_prices__override_zero_is_a_price_and_missing_rate_is_not():
    table = PriceTable((Price(model="house-model", input_per_mtok=0.0),))
    frame = usage_frame(
        {"model": "house-model", "input_tokens": 10}, {"model": "house-model", "output_tokens": 10}
    )
    out = attach_prices(frame, overrides=table)
    assert out["cost_basis"].tolist() == ["estimated", "unpriced"]
    assert out["cost_usd"].iloc[0] == 0.0


def test_load_price_overrides__reads_entries_in_order():
    table = load_price_overrides(OVERRIDE_FILE)
    assert table.source == str(OVERRIDE_FILE)
    assert [entry.model for entry in table.prices] == [
        "ft:gpt-4o-mini-2024-07-18:acme::*",
        "gpt-4o",
        "dall-e-3",
    ]
    assert table.prices[0] == Price(
        model="ft:gpt-4o-mini-2024-07-18:acme::*",
        input_per_mtok=0.30,
        cached_input_per_mtok=0.15,
        output_per_mtok=1.20,
    )
    assert table.prices[2] == Price(model="dall-e-3", unit="images", per_unit=0.05)


BAD_FILES = [
    pytest.param(None, "cannot be read", id="missing-file"),
    pytest.param(b"\xff\xfe\x00", "cannot be read", id="not-utf8"),
    pytest.param("[[price]\nmodel = 'x'", "not valid TOML", id="bad-toml"),
    pytest.param("[prices]\nmodel = 'x'", "unknown top-level key(s) prices", id="typo-table-name"),
    pytest.param("price = 3", "must be an array of tables", id="price-not-array"),
    pytest.param("price = [1]", "entry 1: expected a table", id="entry-not-table"),
    pytest.param(
        "[[price]]\ninput_per_mtok = 1",
        "entry 1: 'model' must be a non-empty string",
        id="no-model",
    ),
    pytest.param(
        "[[price]]\nmodel = ' '\ninput_per_mtok = 1",
        "'model' must be a non-empty string",
        id="blank-model",
    ),
    pytest.param(
        "[[price]]\nmodel = 'a'\ninput_per_mtok = 1\n[[price]]\nmodel = 'b'\ninput_per_mtok = -1",
        "entry 2: 'input_per_mtok' must be a finite number >= 0",
        id="negative",
    ),
    pytest.param("[[price]]\nmodel = 'a'\ninput_per_mtok = inf", "finite number", id="infinite"),
    pytest.param("[[price]]\nmodel = 'a'\ninput_per_mtok = nan", "finite number", id="nan"),
    pytest.param(
        "[[price]]\nmodel = 'a'\ninput_per_mtok = '2.5'",
        "'input_per_mtok' must be a number",
        id="string-price",
    ),
    pytest.param(
        "[[price]]\nmodel = 'a'\noutput_per_mtok = true",
        "'output_per_mtok' must be a number",
        id="bool-price",
    ),
    pytest.param(
        "[[price]]\nmodel = 'a'\ninput_per_mtk = 1", "unknown key(s) input_per_mtk", id="typo-key"
    ),
    pytest.param("[[price]]\nmodel = 'a'", "no price", id="no-price"),
    pytest.param(
        "[[price]]\nmodel = 'a'\nper_unit = 0.04",
        "per_unit needs 'unit'",
        id="per-unit-without-unit",
    ),
    pytest.param(
        "[[price]]\nmodel = 'a'\nper_unit = 0.04\nunit = 'pictures'",
        "got 'pictures'",
        id="unknown-unit",
    ),
    pytest.param(
        "[[price]]\nmodel = 'a'\nper_unit = 0.04\nunit = 'images'\ninput_per_mtok = 1",
        "not both",
        id="tokens-and-units",
    ),
    pytest.param(
        "[[price]]\nmodel = 'a'\ninput_per_mtok = 1\nunit = 'images'",
        "use per_unit",
        id="tokens-with-unit",
    ),
    pytest.param(
        "[[price]]\nmodel = 'a'\nper_unit = 1\nunit = 'calls'\nper = 0",
        "'per' must be positive",
        id="zero-per",
    ),
    pytest.param(
        "[[price]]\nmodel = 'a'\ninput_per_mtok = 1\noperation = 3",
        "'operation' must be a string",
        id="operation-not-string",
    ),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_load_price_overrides__bad_file_raises(tmp_path, content, message):
    path = tmp_path / "prices.toml"
    if content is not None:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(PricingError) as caught:
        load_price_overrides(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_load_price_overrides__empty_file_is_empty_table(tmp_path):
    path = tmp_path / "empty.toml"
    path.write_text("# nothing negotiated yet\n")
    assert load_price_overrides(path).prices == ()


def test_local_prices__shipped_table_loads():
    table = local_prices()
    assert table.source.endswith("prices.toml")
    assert {entry.unit for entry in table.prices} == {
        "tokens",
        "images",
        "seconds",
        "sessions",
        "calls",
        "bytes",
        "training_tokens",
    }
    assert all((entry.per_unit or 0) >= 0 for entry in table.prices)


def test_local_prices__every_entry_names_its_source():
    for entry in local_prices().prices:
        assert entry.note and ("openai.com" in entry.note or "anthropic.com" in entry.note), entry


def test_local_prices__every_correction_is_one_genai_prices_gets_wrong_or_lacks():
    """A correction must change something: it gives a rate genai-prices has differently."""
    for entry in local_prices().prices:
        if not entry.correction or entry.unit != "tokens":
            continue
        model = (
            entry.model.replace("*", "acme::x") if entry.model.startswith("ft:") else entry.model
        )
        day = (entry.before or date(2026, 11, 1)) - timedelta(days=1)
        key = RateKey(model, "completion", "", "", entry.service_tier or "")
        genai_rates = pricing.genai_modal_rates(model, day, entry.service_tier or "")[0]
        ours = pricing.entry_rates(entry)
        differs = [
            name
            for name, mine, theirs in zip(ModalRates._fields, ours, genai_rates, strict=True)
            if not math.isnan(mine) and (math.isnan(theirs) or abs(mine - theirs) > 1e-12)
        ]
        assert differs, (entry, key)


# --------------------------------------------------------------------------------------------
# Small pieces


@pytest.mark.parametrize(
    ("price", "key", "matches"),
    [
        (Price(model="gpt-4o", input_per_mtok=1), ("gpt-4o", "", "", "tokens"), True),
        (Price(model="gpt-4o", input_per_mtok=1), ("GPT-4o", "", "", "tokens"), True),
        (Price(model="gpt-4o", input_per_mtok=1), ("gpt-4o-mini", "", "", "tokens"), False),
        (Price(model="gpt-4o*", input_per_mtok=1), ("gpt-4o-mini", "", "", "tokens"), True),
        (Price(model="gpt-4o", input_per_mtok=1), ("gpt-4o", "", "", "images"), False),
        (
            Price(model="*", unit="sessions", per_unit=1),
            ("", "code_interpreter", "", "sessions"),
            True,
        ),
        (
            Price(model="*", operation="*file*", unit="calls", per_unit=1),
            ("", "web_search", "", "calls"),
            False,
        ),
        (
            Price(model="*", operation="*file*", unit="calls", per_unit=1),
            ("", "File_Search", "", "calls"),
            True,
        ),
        (Price(model="d", image_size="", unit="images", per_unit=1), ("d", "", "", "images"), True),
        (
            Price(model="d", image_size="", unit="images", per_unit=1),
            ("d", "", "512x512", "images"),
            False,
        ),
        (Price(model="d", unit="images", per_unit=1), ("d", "", "512x512", "images"), True),
    ],
)
def test_price_matches__table(price, key, matches):
    assert price.matches(*key) is matches


@pytest.mark.parametrize(
    ("model", "day", "period"),
    [
        ("o3", date(2025, 6, 9), date(2025, 6, 9)),
        ("o3", date(2024, 1, 1), date(2025, 6, 9)),
        ("o3", date(2025, 6, 10), date(2025, 6, 10)),
        ("o3", date(2025, 12, 31), date(2025, 6, 10)),
        ("no-such-model", date(2025, 12, 31), date(2020, 1, 1)),
        ("", date(2025, 12, 31), date(2020, 1, 1)),
    ],
)
def test_price_period__table(model, day, period):
    assert price_period(model, day) == period


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({}, ("", "", "", "", "", "", "", "")),
        (
            {"model": " GPT-4o ", "unit": " Images", "image_size": "1792X1024"},
            ("GPT-4o", "", "1792x1024", "images", "", "", "", ""),
        ),
        (
            {"model": pd.NA, "operation": None, "service_tier": "Flex"},
            ("", "", "", "", "flex", "", "", ""),
        ),
        ({"model": float("nan"), "date": "ignored"}, ("", "", "", "", "", "", "", "")),
        # OpenAI reports `fast` as `priority`
        ({"service_tier": "Fast"}, ("", "", "", "", "priority", "", "", "")),
        (
            {"context_level": " Medium ", "image_quality": "HD"},
            ("", "", "", "", "", "medium", "hd", ""),
        ),
        # genai-prices' provider id (OpenAI when there is no provider column)
        ({"provider": " Anthropic "}, ("", "", "", "", "", "", "", "anthropic")),
    ],
)
def test_row_key__table(values, key):
    assert tuple(row_key(values)) == key


@pytest.mark.parametrize(
    ("columns", "codes", "first"),
    [
        ([["a", "b", "a"]], [0, 1, 0], [0, 1]),
        ([["a", "a", "a"], [1, 2, 1]], [0, 1, 0], [0, 1]),
        ([["a", None, None], [None, None, 1]], [0, 1, 2], [0, 1, 2]),
        ([[None, None]], [0, 0], [0]),
        ([["b", "a"], ["x", "x"]], [0, 1], [0, 1]),
    ],
)
def test_distinct_keys__table(columns, codes, first):
    got_codes, got_first = distinct_keys([pd.Series(column) for column in columns], len(columns[0]))
    assert got_codes.tolist() == codes
    assert got_first.tolist() == first


def test_attach_prices__calls_genai_per_distinct_key_not_per_row(monkeypatch):
    calls = []

    def counting_calc_price(*args, **kwargs):
        calls.append(args[1])
        return calc_price(*args, **kwargs)

    monkeypatch.setattr(pricing.genai, "calc_price", counting_calc_price)
    pricing.clear_caches()
    days = pd.date_range("2025-01-01", periods=400, freq="D")
    models = ["o3", "gpt-4o-mini", "no-such-model"]
    frame = conform(
        pd.DataFrame(
            {
                "date": np.repeat(days, 75),
                "model": np.tile(np.repeat(models, 25), 400),
                "user_id": [f"user-{n % 25}" for n in range(30_000)],
                "input_tokens": 1_000,
            }
        )
    )
    out = attach_prices(frame)
    pricing.clear_caches()
    assert len(out) == 30_000
    # o3: one model lookup + 3 probes x 2 price periods; gpt-4o-mini: 1 + 3; unknown: 1.
    assert len(calls) <= 12
    assert out.groupby("model")["cost_basis"].first().to_dict() == {
        "gpt-4o-mini": "estimated",
        "no-such-model": "unpriced",
        "o3": "estimated",
    }


# --------------------------------------------------------------------------------------------
# unpriced_summary


def test_unpriced_summary__groups_by_model_and_unit():
    frame = attach_prices(
        usage_frame(
            {"model": "mystery", "input_tokens": 10, "output_tokens": 1, "n_requests": 2},
            {"model": "mystery", "input_tokens": 5, "cached_input_tokens": 2, "n_requests": 1},
            {"model": "gpt-image-1", "units": 3, "unit": "images"},
            {"model": None, "input_tokens": 7},
            {"model": "gpt-4o-mini", "input_tokens": 100},
            {"operation": "cost", "cost_usd": 1.0, "cost_basis": "billed"},
        )
    )
    summary = unpriced_summary(frame)
    assert summary.to_dict("records") == [
        {
            "model": "mystery",
            "unit": "tokens",
            "rows": 2,
            "n_requests": 3,
            "input_tokens": 15,
            "cached_input_tokens": 2,
            "output_tokens": 1,
            "units": 0.0,
        },
        {
            "model": "(none)",
            "unit": "tokens",
            "rows": 1,
            "n_requests": 0,
            "input_tokens": 7,
            "cached_input_tokens": 0,
            "output_tokens": 0,
            "units": 0.0,
        },
        {
            "model": "gpt-image-1",
            "unit": "images",
            "rows": 1,
            "n_requests": 0,
            "input_tokens": 0,
            "cached_input_tokens": 0,
            "output_tokens": 0,
            "units": 3.0,
        },
    ]


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(empty_frame(), id="empty"),
        pytest.param(
            usage_frame({"model": "gpt-4o-mini", "input_tokens": 1, "cost_basis": "estimated"}),
            id="all-priced",
        ),
    ],
)
def test_unpriced_summary__empty_when_nothing_unpriced(frame):
    summary = unpriced_summary(frame)
    assert summary.empty
    assert list(summary.columns) == [
        "model",
        "unit",
        "rows",
        "n_requests",
        "input_tokens",
        "cached_input_tokens",
        "output_tokens",
        "units",
    ]


# --------------------------------------------------------------------------------------------
# Properties


MODELS = ["gpt-4o-2024-08-06", "gpt-4o-mini", "o3", "text-embedding-3-small", "no-such-model", None]

usage_rows = st.lists(
    st.fixed_dictionaries(
        {
            "date": st.dates(date(2024, 6, 1), date(2026, 6, 1)).map(str),
            "model": st.sampled_from(MODELS),
            "input_tokens": st.integers(0, 10**9),
            "cached_input_tokens": st.integers(0, 10**8),
            "output_tokens": st.integers(0, 10**8),
            "batch": st.sampled_from([True, False, None]),
        }
    ),
    max_size=30,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=usage_rows)
def test_attach_prices__property_model_sums_add_up_rows_kept(rows):
    frame = usage_frame(*rows) if rows else empty_frame()
    before = frame.copy(deep=True)
    out = attach_prices(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert len(out) == len(frame)
    per_model = out.groupby(out["model"].fillna("(none)"))["cost_usd"].sum()
    assert per_model.sum() == pytest.approx(out["cost_usd"].sum(), rel=1e-9)
    assert ((out["cost_basis"] == "unpriced") == out["cost_usd"].isna()).all()
    assert (out["cost_usd"].dropna() >= 0).all()


@settings(max_examples=25, deadline=None)
@given(rows=usage_rows.filter(bool), split=st.floats(0, 1))
def test_attach_prices__property_splitting_a_row_keeps_its_cost(rows, split):
    row = {
        **rows[0],
        "cached_input_tokens": min(rows[0]["cached_input_tokens"], rows[0]["input_tokens"]),
    }
    part = {
        name: int(row[name] * split)
        for name in ("input_tokens", "cached_input_tokens", "output_tokens")
    }
    rest = {name: row[name] - part[name] for name in part}  # cached stays inside input in both
    whole = attach_prices(usage_frame(row))
    halves = attach_prices(usage_frame({**row, **part}, {**row, **rest}))
    if whole["cost_basis"].iloc[0] == "estimated":
        assert halves["cost_usd"].sum() == pytest.approx(
            whole["cost_usd"].iloc[0], rel=1e-9, abs=1e-12
        )
    else:
        assert (halves["cost_basis"] == "unpriced").any()


@pytest.mark.parametrize(
    "row",
    [
        # rows from legacy arrays this app cannot measure: never a priced $0
        {"operation": "ft", "model": "ft:gpt-4o-mini-2024-07-18:acme::x", "n_requests": 0},
        {"operation": "assistant_code_interpreter", "n_requests": 4},
        {"operation": "retrieval_storage"},
        # requests that came with no tokens or units at all
        {"operation": "completion", "model": "gpt-4o-2024-08-06", "n_requests": 7},
    ],
)
def test_attach_prices__usage_it_cannot_measure_is_unpriced_not_zero(row):
    frame = conform(pd.DataFrame([{"date": "2025-01-02", "cost_basis": "unpriced", **row}]))
    out = attach_prices(frame)
    assert list(out["cost_basis"]) == ["unpriced"]
    assert out["cost_usd"].isna().all()


# --------------------------------------------------------------------------------------------
# Per-modality pricing. Every expected value is written out from the published rates (USD per
# 1M tokens, openai.com/api/pricing), not computed by the code under test:
#   gpt-4o-realtime-preview-2024-12-17: text $5 / $2.50 cached / $20 out; audio $40 / $2.50 / $80
#   gpt-4o-audio-preview-2024-12-17: text $2.50 / $10 out; audio $40 / $80 (no cached audio price)
#   gpt-image-1: text $5 / $1.25 cached; image $10 / $2.50 cached / $40 out
#   gpt-image-1-mini: text $2 / $0.20 cached; image $2.50 / $0.25 cached / $8 out
#   gpt-4o-2024-08-06: $2.50 / $1.25 cached / $10 out; images billed as text tokens

REALTIME = "gpt-4o-realtime-preview-2024-12-17"


def split_row(model: str, **parts: int) -> dict:
    """A completions row from its split parts, totals added up as the API adds them."""
    get = parts.get
    cached = get("cached_text_tokens", 0) + get("cached_audio_tokens", 0)
    cached += get("cached_image_tokens", 0)
    uncached = get("input_text_tokens", 0) + get("input_audio_tokens", 0)
    uncached += get("input_image_tokens", 0)
    output = sum(get(f"output_{kind}_tokens", 0) for kind in ("text", "audio", "image"))
    return {
        "model": model,
        "operation": "completion",
        "input_tokens": uncached + cached + get("cache_write_tokens", 0),
        "cached_input_tokens": cached,
        "output_tokens": output,
        **parts,
    }


SPLIT = [
    pytest.param(
        split_row(
            REALTIME,
            input_text_tokens=100_000,
            cached_text_tokens=50_000,
            input_audio_tokens=600_000,
            cached_audio_tokens=250_000,
            output_text_tokens=100_000,
            output_audio_tokens=400_000,
        ),
        (
            100_000 * 5.00
            + 50_000 * 2.50
            + 600_000 * 40.00
            + 250_000 * 2.50
            + 100_000 * 20.00
            + 400_000 * 80.00
        )
        / 1e6,  # = 59.25
        id="realtime-every-modality",
    ),
    pytest.param(
        # the same usage without the split (older answers): today's behaviour, all as text
        {
            "model": REALTIME,
            "operation": "completion",
            "input_tokens": 1_000_000,
            "cached_input_tokens": 300_000,
            "output_tokens": 500_000,
        },
        (700_000 * 5.00 + 300_000 * 2.50 + 500_000 * 20.00) / 1e6,  # = 14.25, ~76% low
        id="realtime-without-split-priced-as-text",
    ),
    pytest.param(
        # 2024 answers had only the audio fields: text is what the totals leave
        {
            "model": REALTIME,
            "input_tokens": 1_000,
            "input_audio_tokens": 600,
            "output_tokens": 500,
            "output_audio_tokens": 300,
        },
        (400 * 5.00 + 600 * 40.00 + 200 * 20.00 + 300 * 80.00) / 1e6,
        id="realtime-audio-fields-only",
    ),
    pytest.param(
        split_row(
            "gpt-4o-audio-preview-2024-12-17",
            input_text_tokens=1_000,
            input_audio_tokens=2_000,
            cached_audio_tokens=500,
            output_text_tokens=100,
            output_audio_tokens=1_000,
        ),
        # cached audio has no price of its own: at the audio input rate
        (1_000 * 2.50 + 2_000 * 40.00 + 500 * 40.00 + 100 * 10.00 + 1_000 * 80.00) / 1e6,
        id="audio-preview-audio-from-local-table",
    ),
    pytest.param(
        {
            **split_row(
                "gpt-4o-audio-preview-2024-12-17", input_audio_tokens=1_000, output_audio_tokens=10
            ),
            "batch": True,
        },
        (1_000 * 40.00 + 10 * 80.00) / 1e6 * 0.5,
        id="audio-batch-half-price",
    ),
    pytest.param(
        split_row(
            "gpt-image-1",
            input_text_tokens=1_000,
            cached_text_tokens=200,
            input_image_tokens=3_000,
            cached_image_tokens=800,
            output_image_tokens=4_160,
        ),
        (1_000 * 5.00 + 200 * 1.25 + 3_000 * 10.00 + 800 * 2.50 + 4_160 * 40.00) / 1e6,
        id="gpt-image-1-image-tokens",
    ),
    pytest.param(
        split_row(
            "gpt-image-1-mini",
            input_text_tokens=1_000,
            cached_text_tokens=1_000,
            input_image_tokens=1_000,
            cached_image_tokens=1_000,
            output_image_tokens=1_000,
        ),
        (1_000 * 2.00 + 1_000 * 0.20 + 1_000 * 2.50 + 1_000 * 0.25 + 1_000 * 8.00) / 1e6,
        id="gpt-image-1-mini-image-tokens",
    ),
    pytest.param(
        split_row(
            "gpt-4o-2024-08-06",
            input_text_tokens=1_000,
            input_image_tokens=2_000,
            cached_image_tokens=1_000,
            output_text_tokens=500,
        ),
        # vision input is billed as text tokens: image at $2.50, cached image at $1.25
        (1_000 * 2.50 + 2_000 * 2.50 + 1_000 * 1.25 + 500 * 10.00) / 1e6,
        id="vision-input-at-text-rates",
    ),
    pytest.param(
        split_row("gpt-4o-2024-08-06", input_text_tokens=1_000, cache_write_tokens=1_000),
        (1_000 * 2.50 + 1_000 * 2.50) / 1e6,  # cache writes at the input rate
        id="cache-write-at-input-rate",
    ),
    pytest.param(
        split_row(
            "gpt-4o-2024-08-06",
            input_text_tokens=1_000,
            input_audio_tokens=0,
            output_text_tokens=10,
        ),
        (1_000 * 2.50 + 10 * 10.00) / 1e6,
        id="split-with-zero-audio-is-text",
    ),
    pytest.param(
        # ugly: parts above the totals; text never goes below 0
        {"model": REALTIME, "input_tokens": 100, "input_audio_tokens": 300},
        (300 * 40.00) / 1e6,
        id="ugly-parts-above-totals",
    ),
]


@pytest.mark.parametrize(("row", "expected"), SPLIT)
def test_attach_prices__modality_split(row, expected):
    priced = priced_one(row)
    assert priced["cost_basis"] == "estimated"
    assert priced["cost_usd"] == pytest.approx(expected, rel=1e-12)


def test_attach_prices__issue_example_voice_workload_was_80_percent_low():
    row = SPLIT[0].values[0]
    with_split = priced_one(row)["cost_usd"]
    as_text = priced_one({k: v for k, v in row.items() if "_text_" not in k and "_audio_" not in k})
    assert with_split == pytest.approx(59.25)
    assert as_text["cost_usd"] == pytest.approx((700_000 * 5 + 300_000 * 2.5 + 500_000 * 20) / 1e6)
    assert 1 - as_text["cost_usd"] / with_split == pytest.approx(0.759, abs=0.001)
    assert bool(as_text["cost_lower_bound"]) is True


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(
            split_row("gpt-4o-2024-08-06", input_text_tokens=10, input_audio_tokens=100),
            id="audio-without-an-audio-rate",
        ),
        pytest.param(
            split_row("text-embedding-3-small", input_text_tokens=10, output_audio_tokens=5),
            id="embeddings-with-audio-output",
        ),
    ],
)
def test_attach_prices__audio_without_audio_rate_is_unpriced(row):
    priced = priced_one(row)
    assert priced["cost_basis"] == "unpriced" and pd.isna(priced["cost_usd"])


# --------------------------------------------------------------------------------------------
# Corrections and gaps (spend/prices.toml). Expected values from the published rates, by hand.

CORRECTIONS = [
    pytest.param(
        {
            "date": "2025-06-09",
            "model": "o3-2025-04-16",
            "input_tokens": 1_000_000,
            "cached_input_tokens": 400_000,
            "output_tokens": 100_000,
        },
        (600_000 * 10.00 + 400_000 * 2.50 + 100_000 * 40.00) / 1e6,  # $2.50 cached, not $0.50
        id="o3-cached-before-2025-06-10",
    ),
    pytest.param(
        {
            "date": "2025-06-10",
            "model": "o3",
            "input_tokens": 1_000_000,
            "cached_input_tokens": 400_000,
            "output_tokens": 100_000,
        },
        (600_000 * 2.00 + 400_000 * 0.50 + 100_000 * 8.00) / 1e6,
        id="o3-cached-from-2025-06-10",
    ),
    pytest.param(
        {
            "model": "ft:gpt-4o-mini-2024-07-18:acme::x",
            "input_tokens": 1_000_000,
            "cached_input_tokens": 500_000,
        },
        (500_000 * 0.30 + 500_000 * 0.15) / 1e6,  # cached at half the fine-tune input rate
        id="fine-tune-gpt-4o-mini-cached",
    ),
    pytest.param(
        {
            "model": "ft:gpt-4o-2024-08-06:acme::x",
            "input_tokens": 1_000_000,
            "cached_input_tokens": 500_000,
            "output_tokens": 10_000,
        },
        (500_000 * 3.75 + 500_000 * 1.875 + 10_000 * 15.00) / 1e6,
        id="fine-tune-gpt-4o-cached",
    ),
    pytest.param(
        {
            "model": "ft:gpt-4.1-2025-04-14:acme::x",
            "input_tokens": 1_000_000,
            "cached_input_tokens": 250_000,
            "output_tokens": 100_000,
        },
        (750_000 * 3.00 + 250_000 * 0.75 + 100_000 * 12.00) / 1e6,  # unknown to genai-prices
        id="fine-tune-gpt-4.1-gap",
    ),
    pytest.param(
        {
            "date": "2025-07-01",
            "model": "o3",
            "service_tier": "flex",
            "input_tokens": 1_000_000,
            "output_tokens": 1_000_000,
        },
        (1_000_000 * 2.00 + 1_000_000 * 8.00) / 1e6 * 0.5,  # flex: half price
        id="flex-before-2026-10-12",
    ),
    pytest.param(
        {
            "date": "2025-05-01",
            "model": "o3",
            "service_tier": "flex",
            "input_tokens": 1_000_000,
            "cached_input_tokens": 1_000_000,
        },
        (1_000_000 * 2.50) / 1e6 * 0.5,  # both corrections: o3's $2.50 cached, then flex
        id="flex-and-o3-cached-before-its-price-cut",
    ),
    pytest.param(
        {
            "date": "2025-09-01",
            "model": "gpt-4o-2024-08-06",
            "service_tier": "priority",
            "input_tokens": 1_000_000,
            "cached_input_tokens": 400_000,
            "output_tokens": 100_000,
        },
        (600_000 * 4.25 + 400_000 * 2.125 + 100_000 * 17.00) / 1e6,
        id="priority-before-2026-10-12",
    ),
    pytest.param(
        {
            "date": "2025-09-01",
            "model": "gpt-4o-2024-08-06",
            "service_tier": "fast",
            "input_tokens": 1_000_000,
        },
        (1_000_000 * 4.25) / 1e6,  # `fast` is reported as `priority`
        id="fast-is-priority",
    ),
    pytest.param(
        {
            "date": "2026-11-01",
            "model": "gpt-4o-2024-08-06",
            "service_tier": "priority",
            "input_tokens": 1_000_000,
            "cached_input_tokens": 400_000,
            "output_tokens": 100_000,
        },
        (600_000 * 4.25 + 400_000 * 2.125 + 100_000 * 17.00) / 1e6,  # genai-prices' own tier
        id="priority-from-2026-10-12-genai-prices",
    ),
    pytest.param(
        {
            "date": "2025-09-01",
            "model": "gpt-5-mini",
            "service_tier": "priority",
            "input_tokens": 1_000_000,
            "output_tokens": 1_000_000,
        },
        (1_000_000 * 0.45 + 1_000_000 * 3.60) / 1e6,
        id="priority-gpt-5-mini",
    ),
    pytest.param(
        {
            "model": "gpt-4o-realtime-preview-2024-10-01",
            "input_tokens": 3_000_000,
            "cached_input_tokens": 1_000_000,
            "input_audio_tokens": 2_000_000,
            "cached_audio_tokens": 1_000_000,
            "output_tokens": 1_000_000,
            "output_audio_tokens": 1_000_000,
        },
        (2_000_000 * 100.00 + 1_000_000 * 20.00 + 1_000_000 * 200.00) / 1e6,  # launch prices
        id="realtime-2024-10-01-audio",
    ),
    pytest.param(
        {"model": "dall-e-3", "units": 2, "unit": "images", "image_size": "1024x1792"},
        2 * 0.080,  # quality not reported: standard
        id="dall-e-3-quality-unknown-is-standard",
    ),
    pytest.param(
        {
            "model": "dall-e-3",
            "units": 2,
            "unit": "images",
            "image_size": "1024x1792",
            "image_quality": "HD",
        },
        2 * 0.120,
        id="dall-e-3-hd-portrait",
    ),
    pytest.param(
        {
            "model": "dall-e-3",
            "units": 3,
            "unit": "images",
            "image_size": "1024x1024",
            "image_quality": "hd",
        },
        3 * 0.080,
        id="dall-e-3-hd-square",
    ),
    pytest.param(
        {"model": "dall-e-3", "units": 1, "unit": "images", "image_quality": "hd"},
        0.080,
        id="dall-e-3-hd-default-size",
    ),
    pytest.param(
        {
            "model": "ft:gpt-4o-mini-2024-07-18:acme::abc123",
            "operation": "fine-tuning",
            "units": 123_456,
            "unit": "training_tokens",
        },
        123_456 * 3.00 / 1e6,
        id="training-tokens-gpt-4o-mini",
    ),
    pytest.param(
        {
            "model": "gpt-4o-2024-08-06",
            "operation": "fine-tuning",
            "units": 1_000_000,
            "unit": "training_tokens",
        },
        25.00,
        id="training-tokens-gpt-4o-base",
    ),
    pytest.param(
        {
            "model": "ft:gpt-3.5-turbo-0125:acme::x",
            "operation": "fine-tuning",
            "units": 2_000_000,
            "unit": "training_tokens",
        },
        2 * 8.00,
        id="training-tokens-gpt-3.5-turbo",
    ),
    pytest.param(
        {
            "date": "2025-05-01",
            "model": "gpt-4o-2024-08-06",
            "operation": "web_search",
            "context_level": "medium",
            "units": 1_000,
            "unit": "calls",
        },
        35.00,
        id="web-search-medium-context-2025",
    ),
    pytest.param(
        {
            "date": "2025-05-01",
            "model": "gpt-4o-mini",
            "operation": "web_search",
            "context_level": "high",
            "units": 1_000,
            "unit": "calls",
        },
        30.00,
        id="web-search-mini-high-context-2025",
    ),
    pytest.param(
        {
            "date": "2025-05-01",
            "model": "gpt-4.1-mini-2025-04-14",
            "operation": "web_search",
            "context_level": "low",
            "units": 2_000,
            "unit": "calls",
        },
        2 * 25.00,
        id="web-search-4.1-mini-low-context-2025",
    ),
    # No context level: the default, medium, of its date (March 11 to September 2025); genai-prices'
    # flat $10 per 1,000 outside it.
    *(
        pytest.param(
            {
                "date": day,
                "model": model,
                "operation": "web_search",
                "units": 1_000,
                "unit": "calls",
            },
            usd,
            id=f"web-search-without-context-level-{model}-{day}",
        )
        for model, day, usd in [
            ("gpt-4o-2024-08-06", "2025-05-01", 35.00),
            ("gpt-4o-2024-08-06", "2025-03-11", 35.00),
            ("gpt-4.1", "2025-09-30", 35.00),
            ("gpt-4o-mini", "2025-09-30", 27.50),
            ("gpt-4.1-mini-2025-04-14", "2025-05-01", 27.50),
            ("gpt-4o-2024-08-06", "2025-10-01", 10.00),
            ("gpt-4o-mini", "2025-10-01", 10.00),
            ("gpt-4o-2024-08-06", "2025-03-10", 10.00),
        ]
    ),
    pytest.param(
        {
            "date": "2026-05-01",
            "model": "gpt-4o-2024-08-06",
            "operation": "web_search",
            "context_level": "high",
            "units": 1_000,
            "unit": "calls",
        },
        10.00,  # after the context-size table: the flat per-call price
        id="web-search-context-level-after-2025-10-01",
    ),
]


@pytest.mark.parametrize(("row", "expected"), CORRECTIONS)
def test_attach_prices__corrections_and_gaps(row, expected):
    priced = priced_one(row)
    assert priced["cost_basis"] == "estimated"
    assert priced["cost_usd"] == pytest.approx(expected, rel=1e-12)


def test_attach_prices__overrides_win_over_corrections():
    table = parse_price_table(
        {"price": [{"model": "o3", "input_per_mtok": 1.0, "cached_input_per_mtok": 0.1}]},
        source="mine.toml",
    )
    row = {"date": "2025-05-01", "model": "o3", "input_tokens": 2_000_000}
    row["cached_input_tokens"] = 1_000_000
    assert priced_one(row, overrides=table)["cost_usd"] == pytest.approx(
        (1_000_000 * 1.0 + 1_000_000 * 0.1) / 1e6
    )


# --------------------------------------------------------------------------------------------
# Lower bounds


LOWER_BOUNDS = [
    pytest.param(
        {
            "model": REALTIME,
            "operation": "realtime",
            "input_tokens": 1_000,
            "output_tokens": 100,
        },
        True,
        id="legacy-completion-realtime-no-split",
    ),
    pytest.param(
        {
            "model": REALTIME,
            "operation": "completion",
            "input_tokens": 1_000,
            "output_tokens": 100,
        },
        True,
        id="audio-model-without-split",
    ),
    pytest.param(
        {"model": "gpt-image-1", "operation": "completion", "input_tokens": 1_000},
        True,
        id="image-model-without-split",
    ),
    pytest.param(
        split_row(REALTIME, input_audio_tokens=1_000, output_audio_tokens=100),
        False,
        id="realtime-with-split",
    ),
    pytest.param(
        {"model": "gpt-4o-2024-08-06", "operation": "completion", "input_tokens": 1_000},
        False,
        id="text-model",
    ),
    pytest.param(
        {
            "date": "2025-09-01",
            "model": "o3-mini",
            "service_tier": "priority",
            "input_tokens": 1_000,
        },
        True,
        id="priority-without-a-priority-price",
    ),
    pytest.param(
        {
            "date": "2025-09-01",
            "model": "gpt-4o",
            "service_tier": "priority",
            "input_tokens": 1_000,
        },
        False,
        id="priority-with-a-priority-price",
    ),
    pytest.param(
        {"model": REALTIME, "operation": "realtime", "n_requests": 0},
        False,
        id="no-tokens-no-bound",
    ),
    pytest.param(
        {"model": "no-such-realtime", "operation": "realtime", "input_tokens": 1_000},
        False,
        id="unpriced-is-not-a-bound",
    ),
    pytest.param(
        {
            "model": REALTIME,
            "operation": "realtime",
            "input_tokens": 1_000,
            "cost_usd": 1.0,
            "cost_basis": "billed",
        },
        False,
        id="billed",
    ),
]


@pytest.mark.parametrize(("row", "lower"), LOWER_BOUNDS)
def test_attach_prices__lower_bound(row, lower):
    assert bool(priced_one(row)["cost_lower_bound"]) is lower


def test_attach_prices__legacy_realtime_is_text_price_and_a_lower_bound():
    priced = priced_one(
        {
            "model": REALTIME,
            "operation": "realtime",
            "input_tokens": 1_000_000,
            "cached_input_tokens": 200_000,
            "output_tokens": 100_000,
        }
    )
    assert priced["cost_usd"] == pytest.approx((800_000 * 5.0 + 200_000 * 2.5 + 100_000 * 20) / 1e6)
    assert bool(priced["cost_lower_bound"]) is True


def test_lower_bound_summary__groups_bounded_rows():
    frame = attach_prices(
        usage_frame(
            {"model": REALTIME, "operation": "realtime", "input_tokens": 1_000_000},
            {"model": REALTIME, "operation": "realtime", "output_tokens": 1_000_000},
            {
                "date": "2025-09-01",
                "model": "o3-mini",
                "service_tier": "priority",
                "input_tokens": 1_000_000,
            },
            {"model": "gpt-4o-mini", "input_tokens": 1_000_000},
        )
    )
    summary = lower_bound_summary(frame)
    assert summary.to_dict("records") == [
        {
            "model": REALTIME,
            "operation": "realtime",
            "service_tier": "(none)",
            "rows": 2,
            "cost_usd": pytest.approx((1_000_000 * 5.00 + 1_000_000 * 20.00) / 1e6),
        },
        {
            "model": "o3-mini",
            "operation": "(none)",
            "service_tier": "priority",
            "rows": 1,
            "cost_usd": pytest.approx(1.10),  # o3-mini default $1.10 per 1M input
        },
    ]


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(empty_frame(), id="empty-unpriced-table"),
        pytest.param(attach_prices(usage_frame({"model": "gpt-4o", "input_tokens": 1})), id="none"),
    ],
)
def test_lower_bound_summary__empty(frame):
    summary = lower_bound_summary(frame)
    assert summary.empty and list(summary.columns) == list(pricing.LOWER_BOUND_COLUMNS)


# --------------------------------------------------------------------------------------------
# Every rate's source


def test_rate_card__names_each_rate_and_its_source():
    frame = usage_frame(
        split_row(REALTIME, input_text_tokens=10, input_audio_tokens=10, output_audio_tokens=10),
        split_row("gpt-4o-audio-preview-2024-12-17", input_audio_tokens=10),
        {"date": "2025-05-01", "model": "o3", "input_tokens": 10, "cached_input_tokens": 5},
        {"model": "dall-e-3", "units": 1, "unit": "images", "image_size": "1024x1024"},
        {"operation": "cost", "cost_usd": 1.0, "cost_basis": "billed"},
    )
    card = rate_card(frame)
    assert list(card.columns) == list(pricing.RATE_CARD_COLUMNS)
    rows = {
        (model, component): (usd, source)
        for model, component, usd, source in card[
            ["model", "component", "usd", "source"]
        ].itertuples(index=False)
    }
    assert rows[(REALTIME, "audio input")][0] == pytest.approx(40.0)
    assert rows[(REALTIME, "audio output")][0] == pytest.approx(80.0)
    assert rows[(REALTIME, "text input")][0] == pytest.approx(5.0)
    assert rows[(REALTIME, "audio input")][1].startswith("genai-prices 0.2.3")
    audio_preview = rows[("gpt-4o-audio-preview-2024-12-17", "audio input")]
    assert audio_preview[0] == pytest.approx(40.0)
    assert audio_preview[1].startswith("prices.toml: gpt-4o-audio-preview audio tokens")
    assert rows[("o3", "cached text input")][0] == pytest.approx(2.50)
    assert "before the 2025-06-10 price cut" in rows[("o3", "cached text input")][1]
    assert rows[("dall-e-3", "images")][0] == pytest.approx(0.04)
    assert "dall-e-3 standard 1024x1024" in rows[("dall-e-3", "images")][1]
    assert (REALTIME, "image input") not in rows  # only the components some row uses
    assert card["model"].notna().all()  # the billed row uses no rate


def test_rate_card__unknown_model_has_no_rate_and_no_source():
    card = rate_card(usage_frame({"model": "mystery", "input_tokens": 5}))
    assert card["component"].tolist() == ["text input"]
    assert card["usd"].isna().all() and card["source"].isna().all()


def test_rate_card__empty():
    assert rate_card(empty_frame()).empty


# --------------------------------------------------------------------------------------------
# Price files: the keys the corrections need


def test_parse_price_table__model_list_expands_in_order():
    table = parse_price_table(
        {"price": [{"model": ["o3", "o3-2025-04-16"], "input_per_mtok": 2.0, "note": "n"}]},
        source="x.toml",
    )
    assert [(p.model, p.input_per_mtok, p.note) for p in table.prices] == [
        ("o3", 2.0, "n"),
        ("o3-2025-04-16", 2.0, "n"),
    ]


def test_parse_price_table__dates_tiers_and_factors(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        "[[price]]\nmodel = '*'\nservice_tier = 'Flex'\nbefore = 2026-10-12\nrate_factor = 0.5\n"
        "[[price]]\nmodel = 'o3'\nsince = '2025-06-10'\ncached_input_per_mtok = 2.5\n"
        "correction = true\ncontext_level = 'High'\nimage_quality = 'HD'\n"
    )
    factor, correction = load_price_overrides(path).prices
    assert factor == Price(
        model="*", service_tier="flex", before=date(2026, 10, 12), rate_factor=0.5
    )
    assert factor.is_factor and not correction.is_factor
    assert (correction.since, correction.correction) == (date(2025, 6, 10), True)
    assert (correction.context_level, correction.image_quality) == ("high", "hd")
    assert load_price_overrides(path).dates == (date(2025, 6, 10), date(2026, 10, 12))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("[[price]]\nmodel = []\ninput_per_mtok = 1", "non-empty", id="empty-list"),
        pytest.param(
            "[[price]]\nmodel = ['a', 3]\ninput_per_mtok = 1", "'model' must be", id="list-int"
        ),
        pytest.param(
            "[[price]]\nmodel = 'a'\ninput_per_mtok = 1\nbefore = 'soon'",
            "'before' must be a day",
            id="bad-date",
        ),
        pytest.param(
            "[[price]]\nmodel = 'a'\ninput_per_mtok = 1\nbefore = 2025-01-01T10:00:00",
            "not a time",
            id="datetime-not-day",
        ),
        pytest.param(
            "[[price]]\nmodel = 'a'\ninput_per_mtok = 1\nsince = 2025-02-01\nbefore = 2025-01-01",
            "'since' must be before 'before'",
            id="since-after-before",
        ),
        pytest.param(
            "[[price]]\nmodel = 'a'\nrate_factor = 0.5\ninput_per_mtok = 1",
            "not both",
            id="factor-and-price",
        ),
        pytest.param("[[price]]\nmodel = 'a'\nrate_factor = 0", "positive", id="zero-factor"),
        pytest.param(
            "[[price]]\nmodel = 'a'\nrate_factor = 0.5\nunit = 'images'",
            "token prices only",
            id="factor-on-units",
        ),
        pytest.param(
            "[[price]]\nmodel = 'a'\ninput_per_mtok = 1\ncorrection = 'yes'",
            "true or false",
            id="correction-not-bool",
        ),
        pytest.param(
            "[[price]]\nmodel = 'a'\ninput_per_mtok = 1\nservice_tier = 1",
            "'service_tier' must be a string",
            id="tier-not-string",
        ),
    ],
)
def test_load_price_overrides__bad_new_keys_raise(tmp_path, content, message):
    path = tmp_path / "prices.toml"
    path.write_text(content)
    with pytest.raises(PricingError, match=message):
        load_price_overrides(path)


@pytest.mark.parametrize(
    ("price", "rates"),
    [
        (
            Price(model="m", audio_input_per_mtok=40, audio_output_per_mtok=80),
            ModalRates(audio_input=4e-5, audio_output=8e-5),
        ),
        (
            Price(model="m", input_per_mtok=5, image_input_per_mtok=10, cache_write_per_mtok=6),
            ModalRates(input=5e-6, cached=5e-6, image_input=1e-5, cache_write=6e-6),
        ),
        (Price(model="*", rate_factor=0.5), ModalRates()),
        (
            Price(model="m", input_per_mtok=2.5, cached_input_per_mtok=1.25, output_per_mtok=10),
            ModalRates(2.5e-6, 1.25e-6, 1e-5),
        ),
        (Price(model="m", input_per_mtok=2.0), ModalRates(2e-6, 2e-6, math.nan)),
        (Price(model="m", output_per_mtok=0.0), ModalRates(math.nan, math.nan, 0.0)),
        (Price(model="m", unit="calls", per_unit=2.5, per=1000), ModalRates(unit=0.0025)),
        (Price(model="m", unit="images", per_unit=0.04), ModalRates(unit=0.04)),
    ],
)
def test_entry_rates__table(price, rates):
    np.testing.assert_allclose(pricing.entry_rates(price), rates, rtol=1e-12)


@pytest.mark.parametrize(
    ("extra", "day", "period"),
    [
        ((), date(2025, 6, 9), date(2025, 6, 9)),
        ((date(2025, 3, 11),), date(2025, 4, 1), date(2025, 3, 11)),
        ((date(2025, 3, 11),), date(2025, 3, 10), date(2025, 3, 10)),
        ((date(2026, 10, 12),), date(2026, 10, 13), date(2026, 10, 12)),
    ],
)
def test_price_period__table_dates_split_periods(extra, day, period):
    assert price_period("o3", day, extra) == period


# --------------------------------------------------------------------------------------------
# Properties of the split


split_parts = st.fixed_dictionaries(
    {
        name: st.integers(0, 10**7)
        for name in (
            "input_text_tokens",
            "cached_text_tokens",
            "input_audio_tokens",
            "cached_audio_tokens",
            "output_text_tokens",
            "output_audio_tokens",
        )
    }
)


@settings(max_examples=30, deadline=None)
@given(parts=split_parts, share=st.floats(0, 1))
def test_attach_prices__property_split_cost_is_additive(parts, share):
    """Splitting a row's every part in two keeps its cost (the rates are per token)."""
    first = {name: int(value * share) for name, value in parts.items()}
    second = {name: value - first[name] for name, value in parts.items()}
    whole = attach_prices(usage_frame(split_row(REALTIME, **parts)))["cost_usd"].sum()
    halves = attach_prices(
        usage_frame(split_row(REALTIME, **first), split_row(REALTIME, **second))
    )["cost_usd"].sum()
    assert halves == pytest.approx(whole, rel=1e-9, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(text_in=st.integers(0, 10**8), cached=st.integers(0, 10**8), out=st.integers(0, 10**8))
def test_attach_prices__property_text_only_split_costs_what_no_split_costs(text_in, cached, out):
    row = split_row(
        "gpt-4o-2024-08-06",
        input_text_tokens=text_in,
        cached_text_tokens=cached,
        output_text_tokens=out,
    )
    unsplit = {k: v for k, v in row.items() if k not in pricing.SPLIT_PARTS and "_text_" not in k}
    split_cost, plain_cost = attach_prices(usage_frame(row, unsplit))["cost_usd"]
    assert split_cost == pytest.approx(plain_cost, rel=1e-12, abs=1e-15)


def test_rates_per_row__times_component_counts_is_the_cost():
    frame = usage_frame(
        split_row(REALTIME, input_text_tokens=1_000, input_audio_tokens=2_000),
        {"model": "gpt-4o-2024-08-06", "input_tokens": 1_000_000},
        {"model": "dall-e-3", "units": 2, "unit": "images", "image_size": "1024x1024"},
    )
    rates = pricing.rates_per_row(frame)
    assert rates.shape == (3, len(ModalRates._fields))
    assert rates[0, ModalRates._fields.index("audio_input")] == pytest.approx(40.0 / 1e6)
    assert rates[1, 0] == pytest.approx(2.50 / 1e6)
    assert rates[2, pricing.UNIT_INDEX] == pytest.approx(0.04)
    costs = np.nansum(rates * pricing.component_counts(frame), axis=1)
    expected = [(1_000 * 5.00 + 2_000 * 40.00) / 1e6, 2.50, 2 * 0.04]
    assert costs == pytest.approx(expected)
    assert costs == pytest.approx(attach_prices(frame)["cost_usd"].to_numpy(dtype=float))
    assert pricing.rates_per_row(empty_frame()).shape == (0, len(ModalRates._fields))


def test_rate_card__one_row_per_rate_across_periods():
    frame = usage_frame(
        *(
            {"date": day, "model": REALTIME, "input_tokens": 10}
            for day in ("2026-10-01", "2026-11-01")
        ),
        *({"date": day, "model": "o3", "input_tokens": 10} for day in ("2025-05-01", "2025-07-01")),
    )
    card = rate_card(frame)
    got = card[["model", "first_day", "last_day", "usd"]].astype({"usd": float})
    assert got.to_dict("records") == [
        {
            "model": REALTIME,
            "first_day": pd.Timestamp("2026-10-01"),
            "last_day": pd.Timestamp("2026-11-01"),
            "usd": 5.0,
        },
        {  # o3 before its 2025-06-10 price cut: $10 per 1M input
            "model": "o3",
            "first_day": pd.Timestamp("2025-05-01"),
            "last_day": pd.Timestamp("2025-05-01"),
            "usd": 10.0,
        },
        {
            "model": "o3",
            "first_day": pd.Timestamp("2025-07-01"),
            "last_day": pd.Timestamp("2025-07-01"),
            "usd": 2.0,
        },
    ]


# --------------------------------------------------------------------------------------------
# Vector storage: USD 0.10 per GB-day, the organization's first GB each day free (prices.toml)

GB = 1_000_000_000


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # under or at the free GB: a real $0, not unpriced
        ([("2025-06-01", 0.5 * GB)], [0.0]),
        ([("2025-06-01", 1 * GB)], [0.0]),
        ([("2025-06-01", 3 * GB)], [0.20]),
        # two projects on one day share the free GB in proportion: 3 GB stored, 2 GB billed
        ([("2025-06-01", 2 * GB), ("2025-06-01", 1 * GB)], [0.20 * 2 / 3, 0.20 * 1 / 3]),
        # each day has its own free GB
        ([("2025-06-01", 2 * GB), ("2025-06-02", 0.5 * GB)], [0.10, 0.0]),
        ([("2025-06-01", 1.5 * GB), ("2025-06-02", 1.5 * GB)], [0.05, 0.05]),
    ],
)
def test_attach_prices__vector_storage_first_gb_a_day_is_free(rows, expected):
    frame = usage_frame(
        *(
            {"date": day, "operation": "vector_storage", "units": units, "unit": "bytes"}
            for day, units in rows
        ),
        {"date": "2025-06-01", "model": "gpt-4o", "input_tokens": 1_000_000},
    )
    out = attach_prices(frame)
    assert out["cost_basis"].tolist() == ["estimated"] * (len(rows) + 1)
    assert out["cost_usd"].tolist()[:-1] == pytest.approx(expected, abs=1e-12)
    assert out["cost_usd"].iloc[-1] == pytest.approx(2.50)  # other rows untouched


def test_attach_prices__vector_storage_override_without_free_units_prices_every_byte():
    table = parse_price_table(
        {"price": [{"model": "*", "unit": "bytes", "per_unit": 0.2, "per": GB}]}, source="mine"
    )
    frame = usage_frame({"operation": "vector_storage", "units": 3 * GB, "unit": "bytes"})
    assert attach_prices(frame, overrides=table)["cost_usd"].tolist() == pytest.approx([0.6])


def test_price_file__free_per_day_goes_with_per_unit():
    with pytest.raises(PricingError, match="free_per_day"):
        parse_price_table(
            {"price": [{"model": "m", "input_per_mtok": 1, "free_per_day": 5}]}, source="t"
        )
