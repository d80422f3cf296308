"""The rates of one price key (model, operation, unit, tier, ...) and day, with their sources.

Overrides, then ``spend/prices.toml`` corrections, then genai-prices, then the other local entries
(the order ``spend.pricing`` describes); then fallbacks, rate factors and the unit rate.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from typing import Any

import pandas as pd

from spend.pricing.files import PriceTable, entry_label, entry_rates
from spend.pricing.genai import (
    PROVIDER_ID,
    genai_long_context,
    genai_modal_rates,
    genai_unit_rate,
    genai_usage_key,
    price_period,
    price_source_version,
)
from spend.pricing.rates import COMPONENT_LABELS, UNIT_INDEX, KeyPrice, ModalRates, RateKey

#: Service tiers reported under another name: OpenAI reports ``fast`` as ``priority``; Anthropic's
#: ``priority_on_demand`` is its priority tier bought without a commitment.
TIER_ALIASES = {"fast": "priority", "priority_on_demand": "priority"}
#: Service tiers billed above the default rate: without a price of their own the estimate is a
#: floor (``cost_lower_bound``).
PREMIUM_TIERS = frozenset({"priority"})
#: A rate nobody gives -> the rate OpenAI bills it at instead (see ``spend.pricing``). Audio
#: input and output have none: audio without an audio rate is unpriced.
FALLBACKS = {
    "audio_cached": "audio_input",
    "image_cached": "image_input",  # when image input has a rate of its own; else cached text
    "image_input": "input",
    "image_output": "output",
    "cache_write": "input",
}


def _token_rates(
    key: RateKey,
    day: date,
    overrides: PriceTable,
    local: PriceTable,
    context: dict,
    *,
    long: bool = False,
) -> tuple[list[float], list[str | None], bool, float]:
    """A key's token rates and their sources before fallbacks and factors, whether a premium
    tier found a price of its own, and the long-context threshold (inf: no tier).

    ``long`` asks for the rates of long-context requests: entries with ``context_above`` and
    genai-prices' tiers, in the same order. An override without a long-context entry of its own
    is the whole price: no tier.
    """
    lookup = (key.model, key.operation, key.image_size, "tokens")
    names = ModalRates._fields
    values: list[float] = [math.nan] * len(names)
    sources: list[str | None] = [None] * len(names)
    entry = overrides.lookup(*lookup, **context, long_context=long)
    if entry is None and long and overrides.lookup(*lookup, **context) is not None:
        return values, sources, True, math.inf
    if entry is not None:
        label = entry_label(overrides, entry)
        for i, rate in enumerate(entry_rates(entry)):
            if i != UNIT_INDEX and not math.isnan(rate):
                values[i], sources[i] = rate, label
        return values, sources, True, entry.context_above or math.inf
    provider = key.provider or PROVIDER_ID
    genai_day = price_period(key.model, day, provider=provider) if key.model else day
    genai, genai_id = genai_modal_rates(key.model, genai_day, key.service_tier, provider)
    genai_threshold = math.inf
    if long:
        genai, genai_threshold, _ = genai_long_context(
            key.model, genai_day, key.service_tier, provider
        )
    genai_label = f"{price_source_version()} ({genai_id})"
    matches = [p for p in local.matching(*lookup, **context, long_context=long) if not p.is_factor]
    corrections = [p for p in matches if p.correction]
    fillers = [p for p in matches if not p.correction]
    tier_priced, thresholds = False, set()
    for i in range(len(names)):
        if i == UNIT_INDEX:
            continue
        found = next(
            ((p, rate) for p in corrections if not math.isnan(rate := entry_rates(p)[i])), None
        )
        if found is None and not math.isnan(genai[i]):
            values[i], sources[i] = genai[i], genai_label
            thresholds.add(genai_threshold)
            continue
        if found is None:
            found = next(
                ((p, rate) for p in fillers if not math.isnan(rate := entry_rates(p)[i])), None
            )
        if found is not None:
            values[i], sources[i] = found[1], entry_label(local, found[0])
            tier_priced |= found[0].service_tier is not None
            thresholds.add(found[0].context_above or math.inf)
    if key.service_tier in PREMIUM_TIERS and not tier_priced and not math.isnan(genai.input):
        default, _ = genai_modal_rates(key.model, genai_day, "", provider)
        tier_priced = genai.input != default.input
    return values, sources, tier_priced, min(thresholds, default=math.inf)


def _unit_rate(
    key: RateKey, day: date, overrides: PriceTable, local: PriceTable, context: dict
) -> tuple[float, str | None, float]:
    """A key's unit rate, its source and the units free per organization and day:
    override, correction, genai-prices, local table."""
    lookup = (key.model, key.operation, key.image_size, key.unit)
    entry = overrides.lookup(*lookup, **context)
    if entry is not None:
        return entry_rates(entry).unit, entry_label(overrides, entry), entry.free_per_day or 0.0
    matches = [p for p in local.matching(*lookup, **context) if not p.is_factor]
    correction = next((p for p in matches if p.correction), None)
    if correction is not None:
        return (
            entry_rates(correction).unit,
            entry_label(local, correction),
            correction.free_per_day or 0.0,
        )
    usage_key = genai_usage_key(key.unit, key.operation)
    if usage_key:
        provider = key.provider or PROVIDER_ID
        genai_day = price_period(key.model, day, provider=provider) if key.model else day
        rate = genai_unit_rate(key.model, genai_day, key.service_tier, usage_key, provider)
        if not math.isnan(rate):
            return rate, f"{price_source_version()} ({key.model}, {usage_key})", 0.0
    filler = next((p for p in matches if not p.correction), None)
    if filler is not None:
        return entry_rates(filler).unit, entry_label(local, filler), filler.free_per_day or 0.0
    return math.nan, None, 0.0


def key_price(key: RateKey, day: date, overrides: PriceTable, local: PriceTable) -> KeyPrice:
    """A row key and its price day into every rate with its source (in ``spend.pricing``'s order).

    E.g. gpt-4o-realtime-preview-2024-12-17 -> text 5e-06 / 2.5e-06 / 2e-05, audio 4e-05 /
    2.5e-06 / 8e-05 per token, all from genai-prices.
    """
    context = {
        "tier": key.service_tier,
        "context_level": key.context_level,
        "image_quality": key.image_quality,
        "day": day,
    }
    names = ModalRates._fields
    values, sources, tier_priced, _ = _token_rates(key, day, overrides, local, context)
    position = {name: i for i, name in enumerate(names)}
    modal = any(
        not math.isnan(values[position[name]]) for name in ("audio_input", "audio_output")
    ) or any(
        values[position[image]] > values[position[text]]
        for image, text in (("image_input", "input"), ("image_output", "output"))
    )
    factors = []
    for table in (overrides, local):
        entry = next((p for p in table.matching(*_lookup(key), **context) if p.is_factor), None)
        if entry is not None:
            factors.append(
                (entry.rate_factor, f"x{entry.rate_factor:g} ({entry_label(table, entry)})")
            )
    _fall_back_and_scale(values, sources, factors)
    free = 0.0
    if key.unit not in ("", "tokens"):
        values[UNIT_INDEX], sources[UNIT_INDEX], free = _unit_rate(
            key, day, overrides, local, context
        )
    lower = key.service_tier in PREMIUM_TIERS and not tier_priced and sources[0] is not None
    price = KeyPrice(
        ModalRates(*values), tuple(sources), lower_bound=lower, modal=modal, free_per_day=free
    )
    long, long_sources, _, threshold = _token_rates(key, day, overrides, local, context, long=True)
    if math.isinf(threshold):
        return price
    _fall_back_and_scale(long, long_sources, factors)
    for i in range(len(names)):  # a rate without a tier of its own stays the same above it
        if math.isnan(long[i]) or i == UNIT_INDEX:
            long[i], long_sources[i] = values[i], sources[i]
    provider = key.provider or PROVIDER_ID
    genai_day = price_period(key.model, day, provider=provider) if key.model else day
    window = genai_long_context(key.model, genai_day, key.service_tier, provider)[2]
    return replace(
        price,
        long_rates=ModalRates(*long),
        long_sources=tuple(long_sources),
        threshold=threshold,
        max_input=window if window > threshold else math.inf,
    )


def _fall_back_and_scale(
    values: list[float], sources: list[str | None], factors: list[tuple[float, str]]
) -> None:
    """Token rates nobody gives from the rates OpenAI bills them at (``FALLBACKS``), then every
    token rate times the matching rate factors, in place."""
    position = {name: i for i, name in enumerate(ModalRates._fields)}
    if math.isnan(values[position["image_input"]]):
        fallbacks = {**FALLBACKS, "image_cached": "cached"}  # vision input is billed as text
    else:
        fallbacks = FALLBACKS
    for name, parent in fallbacks.items():
        i, j = position[name], position[parent]
        if math.isnan(values[i]) and not math.isnan(values[j]):
            values[i] = values[j]
            sources[i] = f"{sources[j]}, at the {COMPONENT_LABELS[parent]} rate"
    if not factors:
        return
    factor = math.prod(number for number, _ in factors)
    labels = " ".join(label for _, label in factors)
    for i in range(len(values)):
        if i != UNIT_INDEX and sources[i] is not None:
            values[i] *= factor
            sources[i] = f"{sources[i]} {labels}"


def _lookup(key: RateKey) -> tuple[str, str, str, str]:
    return (key.model, key.operation, key.image_size, "tokens")


#: Columns whose values decide a row's price (with ``date``); absent extras count as empty.
KEY_COLUMNS = (
    "model",
    "operation",
    "image_size",
    "unit",
    "service_tier",
    "context_level",
    "image_quality",
    "provider",
)


def row_key(values: dict[str, Any]) -> RateKey:
    """Raw key cells into a clean key, e.g. ``{"unit": " Images ", "model": NA}`` -> "images"."""
    clean = {
        name: "" if values.get(name) is None or pd.isna(values[name]) else str(values[name]).strip()
        for name in KEY_COLUMNS
    }
    key = {name: text if name == "model" else text.lower() for name, text in clean.items()}
    key["service_tier"] = TIER_ALIASES.get(key["service_tier"], key["service_tier"])
    return RateKey(**key)
