"""Prices into the usage table: ``cost_usd``, ``cost_basis`` and ``cost_lower_bound``.

A row's usage is up to twelve components, each priced at its own rate (``ModalRates``): uncached
text input, cached text input, text output, ``units`` of ``unit``, and, where the answer splits its
tokens by modality (admin completions since 2026-07, Anthropic's usage;
``spend.schema.SPLIT_COLUMNS``), uncached and cached audio input, audio output, uncached and cached
image input, image output, and cache writes (5-minute, and Anthropic's 1-hour ones at their own
rate). Text is what is left of the totals (``input_tokens``, ``cached_input_tokens``,
``output_tokens``) after the other parts, so the parts always add up to the totals every figure
uses. A row without the split (older answers, the legacy source) is priced as today: all of it at
the text rates.

Where each rate comes from (the first that gives it wins):

1. ``overrides``: the user's price file (``load_price_overrides``). A matching entry is the whole
   price of that model's tokens (or of its unit);
2. ``spend/prices.toml`` entries marked ``correction = true``: what genai-prices 0.2.3 gets wrong
   (o3's cached rate before 2025-06-10, fine-tunes' cached input, priority-tier prices before
   2026-10-12, web search by context level (medium where none is given) until 2025-10-01, an older
   realtime snapshot's audio);
3. genai-prices (pinned, offline): its own fields for text, cached, audio, image and cache writes;
   TTS characters, transcription seconds and web search calls by probing;
4. the other ``spend/prices.toml`` entries: what genai-prices lacks (audio of gpt-4o-audio-preview,
   image tokens of gpt-image-1/-mini, DALL-E images, tools, fine-tuning training tokens, ...).

Then a matching ``rate_factor`` entry (flex: half price before 2026-10-12) multiplies every token
rate, and the Batch API halves them again. Rates nobody gives fall back where OpenAI bills that way:
image input at the text rates (vision input is billed as text tokens: cached image input then at
the cached text rate), image output at the output rate, cached audio (and cached image input of a
model with an image rate) at the uncached rate, cache writes at the input rate. Audio has no
fallback: audio tokens without an audio rate make the row ``"unpriced"``. ``rate_card`` lists every
rate behind a table's estimates with its source.

Long context (``spend.pricing.context``): a model with a long-context tier (genai-prices' tiers:
gpt-5.4 and later above 272K input tokens, Claude Sonnet 4.5/4.6 above 200K; a price file's
``context_above`` entries: Claude Sonnet 4) bills every token of a request above the threshold at
the long rates, exactly where a ``context_window`` column says the tier, and at the least it can
cost where the row's average input per request shows long requests without saying which. A
``provider`` column picks genai-prices' provider (OpenAI without one). A unit price with
``free_per_day`` (vector storage's first GB) is free up to that many units per organization and
day, shared by that day's rows.

A component with a non-zero count and no price makes the row ``"unpriced"`` with ``cost_usd`` NA,
never a silent 0. genai-prices prices usage in a unit a model is not sold in at $0 (``tts-1-hd``
given tokens), so $0 from genai-prices means "no price"; an explicit 0 in a price file is a real
price (moderation is free). A row with no usage at all costs 0.0, ``"estimated"``.

``cost_lower_bound`` is True where the estimate is known to be below what was billed: a row of a
model with audio or image rates of their own that has no modality split (a legacy
``completion-realtime`` row, priced as text), a priority-tier row with no priority price (priced
at the default rate), or a row whose average input per request is above its model's long-context
threshold with no ``context_window`` to say which requests were long. ``lower_bound_summary`` says
how much of a table that is.

Speed: genai-prices is asked once per distinct (model, price period, service tier), never per row.
The periods come from the model's dated prices (e.g. o3 before and from 2025-06-10) and the dates of
the price files' entries; rows are then priced with numpy (about a second for a million rows).

The package, by job: ``files`` (price files: ``spend/prices.toml`` and a user's overrides, read and
checked), ``genai`` (the genai-prices lookup), ``keys`` (the rates of one price key, from all of
them), ``context`` (long-context requests) and ``rows`` (the usage table priced, and the tables
that explain it); ``rates`` holds the types they share. The names other modules use are
re-exported here.
"""

from __future__ import annotations

from spend.pricing.files import (
    LOCAL_PRICES_PATH,
    UNITS,
    Price,
    PriceTable,
    entry_label,
    entry_rates,
    load_price_overrides,
    local_prices,
    parse_price_entries,
    parse_price_entry,
    parse_price_table,
)
from spend.pricing.genai import (
    clear_genai_caches,
    genai_modal_rates,
    genai_unit_rate,
    price_boundaries,
    price_period,
    price_source_version,
)
from spend.pricing.keys import PREMIUM_TIERS, TIER_ALIASES, key_price, row_key
from spend.pricing.rates import (
    COMPONENT_LABELS,
    TOKENS_PER_PRICE,
    UNIT_INDEX,
    KeyPrice,
    ModalRates,
    RateKey,
)
from spend.pricing.rows import (
    BATCH_DISCOUNT,
    LOWER_BOUND_COLUMNS,
    RATE_CARD_COLUMNS,
    SPLIT_PARTS,
    attach_prices,
    component_counts,
    distinct_keys,
    lower_bound_summary,
    price_rows,
    rate_card,
    rates_per_row,
    split_present,
    unpriced_summary,
)

__all__ = [
    "BATCH_DISCOUNT",
    "COMPONENT_LABELS",
    "LOCAL_PRICES_PATH",
    "LOWER_BOUND_COLUMNS",
    "PREMIUM_TIERS",
    "RATE_CARD_COLUMNS",
    "SPLIT_PARTS",
    "TIER_ALIASES",
    "TOKENS_PER_PRICE",
    "UNITS",
    "UNIT_INDEX",
    "KeyPrice",
    "ModalRates",
    "Price",
    "PriceTable",
    "RateKey",
    "attach_prices",
    "clear_caches",
    "component_counts",
    "distinct_keys",
    "entry_label",
    "entry_rates",
    "genai_modal_rates",
    "genai_unit_rate",
    "key_price",
    "load_price_overrides",
    "local_prices",
    "lower_bound_summary",
    "parse_price_entries",
    "parse_price_entry",
    "parse_price_table",
    "price_boundaries",
    "price_period",
    "price_rows",
    "price_source_version",
    "rate_card",
    "rates_per_row",
    "row_key",
    "split_present",
    "unpriced_summary",
]


def clear_caches() -> None:
    """Forget every cached price lookup (tests; a new genai-prices snapshot)."""
    local_prices.cache_clear()
    clear_genai_caches()
