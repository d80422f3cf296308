"""What a rate is: the twelve token and unit rates of one price key, and that key.

``ModalRates`` is shared by the price files (``spend.pricing.files``), the genai-prices lookup
(``spend.pricing.genai``), the rates of one key (``spend.pricing.keys``) and the usage table's
rows (``spend.pricing.rows``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

#: Token prices are quoted per this many tokens.
TOKENS_PER_PRICE = 1_000_000


class ModalRates(NamedTuple):
    """``Rates`` plus the per-modality token rates, USD per token; NaN where unknown.

    ``input``/``cached``/``output`` are the text rates (and every token's rate on a row without a
    modality split).
    """

    input: float = math.nan
    cached: float = math.nan
    output: float = math.nan
    unit: float = math.nan
    audio_input: float = math.nan
    audio_cached: float = math.nan
    audio_output: float = math.nan
    image_input: float = math.nan
    image_cached: float = math.nan
    image_output: float = math.nan
    cache_write: float = math.nan
    #: writes to the 1-hour cache (Anthropic: 2x input); ``cache_write`` is the 5-minute cache's
    cache_write_1h: float = math.nan


#: Position of ``unit`` in ModalRates: every other field is a token rate.
UNIT_INDEX = ModalRates._fields.index("unit")
#: ModalRates field -> what it prices, for people (``rate_card``).
COMPONENT_LABELS = {
    "input": "text input",
    "cached": "cached text input",
    "output": "text output",
    "unit": "units",
    "audio_input": "audio input",
    "audio_cached": "cached audio input",
    "audio_output": "audio output",
    "image_input": "image input",
    "image_cached": "cached image input",
    "image_output": "image output",
    "cache_write": "cache write",
    "cache_write_1h": "cache write (1 h)",
}


class RateKey(NamedTuple):
    """What decides a row's price besides its day (cleaned cells; ``""`` for NA)."""

    model: str
    operation: str
    image_size: str
    unit: str
    service_tier: str
    context_level: str = ""
    image_quality: str = ""
    provider: str = ""  # genai-prices' provider id; "" is OpenAI


@dataclass(frozen=True)
class KeyPrice:
    """The rates of one key and day, where each came from, and what they mean for its rows."""

    rates: ModalRates
    sources: tuple[str | None, ...]  # per ModalRates field; None where there is no rate
    lower_bound: bool = False  # premium tier priced at the default rate
    modal: bool = False  # audio/image billed at rates of their own: a row without the split is low
    long_rates: ModalRates = ModalRates()  # every token of a long-context request (NaN: no tier)
    long_sources: tuple[str | None, ...] = ()  # per ModalRates field, like ``sources``
    threshold: float = math.inf  # input tokens per request above which ``long_rates`` apply
    max_input: float = math.inf  # the most input tokens one request can have (context window)
    free_per_day: float = 0.0  # units free per organization and day (the first GB of storage)
