"""The genai-prices lookup: a model, day and service tier into its rates, asked once per key.

genai-prices (pinned, offline) is the main price source. Only OpenAI's provider is asked. $0 from
genai-prices means "no price" (it prices usage in a unit a model is not sold in at $0).
"""

from __future__ import annotations

import bisect
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import genai_prices
from genai_prices import Usage, calc_price
from genai_prices.types import StartDateConstraint

from spend.pricing.rates import TOKENS_PER_PRICE, ModalRates

#: genai-prices' id for OpenAI's own API.
PROVIDER_ID = "openai"
#: ``unit`` -> genai-prices usage key, for the units genai-prices knows.
GENAI_UNIT_KEYS = {"characters": "input_characters", "seconds": "audio_seconds"}
#: Web search calls (unit ``calls``, an operation containing this) -> genai-prices ``web_searches``.
WEB_SEARCH_MARK = "web"
#: ModalRates field -> genai-prices ``ModelPrice`` attribute (USD per 1M tokens).
GENAI_PRICE_FIELDS = {
    "input": "input_mtok",
    "cached": "cache_read_mtok",
    "output": "output_mtok",
    "audio_input": "input_audio_mtok",
    "audio_cached": "cache_audio_read_mtok",
    "audio_output": "output_audio_mtok",
    "image_input": "input_image_mtok",
    "image_cached": "cache_image_read_mtok",
    "image_output": "output_image_mtok",
    "cache_write": "cache_write_mtok",
    "cache_write_1h": "cache_write_1h_mtok",
}


def price_source_version() -> str:
    """The price data's provenance into a label, e.g. ``"genai-prices 0.2.3"``."""
    return f"genai-prices {genai_prices.__version__}"


@cache
def _genai_model(model: str, provider: str = PROVIDER_ID) -> Any:
    """A model id into genai-prices' ``ModelInfo`` (OpenAI's unless ``provider`` says otherwise,
    e.g. ``"anthropic"``), or None when it lacks the model."""
    if not model:
        return None
    try:
        return calc_price(Usage(), model, provider_id=provider).model
    except LookupError:
        return None


@cache
def price_boundaries(model: str, provider: str = PROVIDER_ID) -> tuple[date, ...]:
    """A model id into the sorted days its genai-prices price changes, e.g. o3 -> (2025-06-10, ...).

    Dated prices and dated service-tier variants both count; a model without any gives ``()``.
    Time-of-day prices (off-peak hours; OpenAI has none) are no boundary: a day gets midnight's.
    """
    info = _genai_model(model, provider)
    if info is None:
        return ()
    constraints = (
        [getattr(c, "constraint", None) for c in info.prices]
        if isinstance(info.prices, list)
        else []
    )
    constraints += [variant.constraint for variant in info.price_variants or ()]
    return tuple(sorted({c.start_date for c in constraints if isinstance(c, StartDateConstraint)}))


def price_period(
    model: str, day: date, extra: tuple[date, ...] = (), provider: str = PROVIDER_ID
) -> date:
    """A model and UTC day into a day with the same price, e.g. o3 2025-7 -> 2025-6-10.

    Rows whose days map to the same period share one lookup.

    :param extra: more days where prices change (the price files' ``since``/``before``)
    """
    own = price_boundaries(model, provider)
    bounds = sorted(set(own) | set(extra)) if extra else own
    position = bisect.bisect_right(bounds, day)
    if position:
        return bounds[position - 1]
    return bounds[0] - timedelta(days=1) if bounds else date(2020, 1, 1)


def _probe(model: str, day: date, tier: str, provider: str, **usage: int) -> float:
    """One genai-prices call for one unit of usage into USD, NaN when it has no price (or $0)."""
    context = {"service_tier": tier} if tier else None
    when = datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        total = calc_price(
            Usage(**usage),
            model,
            provider_id=provider,
            genai_request_timestamp=when,
            price_context=context,
        ).total_price
    except (LookupError, ValueError):
        return math.nan
    return float(total) if total > Decimal(0) else math.nan


def _per_token(value: Any) -> float:
    """A genai-prices price per 1M tokens into USD per token, NaN for none or $0, e.g. 2.5 ->
    2.5e-06; a tiered price gives its base tier."""
    value = getattr(value, "base", value)
    if value is None:
        return math.nan
    number = float(value)
    return number / TOKENS_PER_PRICE if number > 0 else math.nan


@cache
def _calculation(model: str, day: date, tier: str, provider: str) -> Any:
    """One genai-prices call for no usage at a model's price of that day and tier: its prices and
    model, or None when genai-prices has none."""
    if _genai_model(model, provider) is None:
        return None
    context = {"service_tier": tier} if tier else None
    when = datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        return calc_price(
            Usage(),
            model,
            provider_id=provider,
            genai_request_timestamp=when,
            price_context=context,
        )
    except (LookupError, ValueError):
        return None


@cache
def genai_modal_rates(
    model: str, day: date, tier: str = "", provider: str = PROVIDER_ID
) -> tuple[ModalRates, str]:
    """A model, day and service tier into genai-prices' token rates and its model id, e.g.
    gpt-4o-realtime-preview-2024-12-17 -> (input 5e-06, ..., audio_input 4e-05, ...), "...".

    Only the fields genai-prices has (its own fallbacks are not taken), except cached text input,
    which genai-prices bills at the input rate when it has no cached rate. One call per key.
    """
    calculation = _calculation(model, day, tier, provider)
    if calculation is None:
        return ModalRates(), ""
    values = {
        name: _per_token(getattr(calculation.model_price, field, None))
        for name, field in GENAI_PRICE_FIELDS.items()
    }
    if math.isnan(values["cached"]):
        values["cached"] = values["input"]
    return ModalRates(**values), str(calculation.model.id)


@cache
def genai_long_context(
    model: str, day: date, tier: str = "", provider: str = PROVIDER_ID
) -> tuple[ModalRates, float, float]:
    """A model, day and tier into genai-prices' long-context token rates (NaN where a rate has no
    tier), the input tokens per request above which they apply (inf: no tier) and the model's
    context window (inf: unknown), e.g. gpt-5.4 -> (input 5e-06, cached 5e-07, output 2.25e-05,
    ...), 272000, 1050000.

    genai-prices' tiers are cliffs: a request with more input tokens (cached included) than a
    tier's start pays that tier's rate for all of its tokens. Only the first tier is taken (no
    model has two).
    """
    calculation = _calculation(model, day, tier, provider)
    if calculation is None:
        return ModalRates(), math.inf, math.inf
    values, starts = {}, set()
    for name, field in GENAI_PRICE_FIELDS.items():
        tiers = getattr(getattr(calculation.model_price, field, None), "tiers", None)
        values[name] = _per_token(tiers[0].price) if tiers else math.nan
        starts.update([tiers[0].start] if tiers else [])
    window = getattr(_genai_model(model, provider), "context_window", None)
    return (
        ModalRates(**values),
        float(min(starts)) if starts else math.inf,
        float(window) if window else math.inf,
    )


@cache
def genai_unit_rate(
    model: str, day: date, tier: str, usage_key: str, provider: str = PROVIDER_ID
) -> float:
    """A model, day, tier and genai-prices usage key into USD per unit, e.g. whisper-1 -> 0.0001."""
    if _genai_model(model, provider) is None:
        return math.nan
    return _probe(model, day, tier, provider, **{usage_key: 1})


def genai_usage_key(unit: str, operation: str) -> str | None:
    """A row's unit and operation into a genai-prices usage key, e.g. calls, web_search -> ...es."""
    if unit == "calls":
        return "web_searches" if WEB_SEARCH_MARK in operation.lower() else None
    return GENAI_UNIT_KEYS.get(unit)


def clear_genai_caches() -> None:
    """Forget every cached genai-prices lookup (a new snapshot; tests)."""
    for cached in (
        _genai_model,
        _calculation,
        price_boundaries,
        genai_modal_rates,
        genai_long_context,
        genai_unit_rate,
    ):
        cached.cache_clear()
