"""Prices into the usage table: ``cost_usd``, ``cost_basis`` and ``cost_lower_bound``.

A row's usage is up to eleven components, each priced at its own rate (``ModalRates``): uncached
text input, cached text input, text output, ``units`` of ``unit``, and, where the answer splits its
tokens by modality (admin completions since 2026-07, ``spend.schema.SPLIT_COLUMNS``), uncached and
cached audio input, audio output, uncached and cached image input, image output and cache writes.
Text is what is left of the totals (``input_tokens``, ``cached_input_tokens``, ``output_tokens``)
after the other parts, so the parts always add up to the totals every figure uses. A row without
the split (older answers, the legacy source) is priced as today: all of it at the text rates.

Where each rate comes from (the first that gives it wins):

1. ``overrides``: the user's price file (``load_price_overrides``). A matching entry is the whole
   price of that model's tokens (or of its unit);
2. ``spend/prices.toml`` entries marked ``correction = true``: what genai-prices 0.2.3 gets wrong
   (o3's cached rate before 2025-06-10, fine-tunes' cached input, priority-tier prices before
   2026-10-12, web search by context level, an older realtime snapshot's audio);
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

A component with a non-zero count and no price makes the row ``"unpriced"`` with ``cost_usd`` NA,
never a silent 0. genai-prices prices usage in a unit a model is not sold in at $0 (``tts-1-hd``
given tokens), so $0 from genai-prices means "no price"; an explicit 0 in a price file is a real
price (moderation is free). A row with no usage at all costs 0.0, ``"estimated"``.

``cost_lower_bound`` is True where the estimate is known to be below what was billed: a row of a
model with audio or image rates of their own that has no modality split (a legacy
``completion-realtime`` row, priced as text), or a priority-tier row with no priority price (priced
at the default rate). ``lower_bound_summary`` says how much of a table that is.

Speed: genai-prices is asked once per distinct (model, price period, service tier), never per row.
The periods come from the model's dated prices (e.g. o3 before and from 2025-06-10) and the dates of
the price files' entries; rows are then priced with numpy (about a second for a million rows).
"""

from __future__ import annotations

import bisect
import fnmatch
import math
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import genai_prices
import numpy as np
import pandas as pd
from genai_prices import Usage, calc_price
from genai_prices.types import StartDateConstraint

from spend.errors import PricingError
from spend.schema import SPLIT_COLUMNS

#: OpenAI's Batch API charges 50% less for input and output tokens (openai.com/api/pricing).
BATCH_DISCOUNT = 0.5
#: genai-prices' id for OpenAI's own API.
PROVIDER_ID = "openai"
#: Token prices are quoted per this many tokens.
TOKENS_PER_PRICE = 1_000_000
#: The local table shipped with the app.
LOCAL_PRICES_PATH = Path(__file__).with_name("prices.toml")
#: Units a price file may price besides tokens (the usage table's ``unit`` values).
UNITS = ("images", "characters", "seconds", "bytes", "sessions", "calls", "training_tokens")
#: ``unit`` -> genai-prices usage key, for the units genai-prices knows.
GENAI_UNIT_KEYS = {"characters": "input_characters", "seconds": "audio_seconds"}
#: Web search calls (unit ``calls``, an operation containing this) -> genai-prices ``web_searches``.
WEB_SEARCH_MARK = "web"
#: ``errors=`` values of ``attach_prices``.
ERROR_POLICIES = ("coerce", "raise")
#: Service tiers reported under another name: OpenAI reports ``fast`` as ``priority``.
TIER_ALIASES = {"fast": "priority"}
#: Service tiers billed above the default rate: without a price of their own the estimate is a
#: floor (``cost_lower_bound``).
PREMIUM_TIERS = frozenset({"priority"})


class Rates(NamedTuple):
    """USD per token (uncached input, cached input, output) and per unit; NaN where unknown."""

    input: float = math.nan
    cached: float = math.nan
    output: float = math.nan
    unit: float = math.nan


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
}
#: Price file key -> ModalRates field, for token prices (USD per 1M tokens).
TOKEN_PRICE_KEYS = {
    "input_per_mtok": "input",
    "cached_input_per_mtok": "cached",
    "output_per_mtok": "output",
    "audio_input_per_mtok": "audio_input",
    "audio_cached_per_mtok": "audio_cached",
    "audio_output_per_mtok": "audio_output",
    "image_input_per_mtok": "image_input",
    "image_cached_per_mtok": "image_cached",
    "image_output_per_mtok": "image_output",
    "cache_write_per_mtok": "cache_write",
}
#: Usage table split column -> the ModalRates field that prices it. The text columns of the split
#: are not priced from: text is what the totals leave after these (``component_counts``).
SPLIT_PARTS = {
    "input_audio_tokens": "audio_input",
    "cached_audio_tokens": "audio_cached",
    "output_audio_tokens": "audio_output",
    "input_image_tokens": "image_input",
    "cached_image_tokens": "image_cached",
    "output_image_tokens": "image_output",
    "cache_write_tokens": "cache_write",
}
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
}
#: A rate nobody gives -> the rate OpenAI bills it at instead (see the module docstring). Audio
#: input and output have none: audio without an audio rate is unpriced.
FALLBACKS = {
    "audio_cached": "audio_input",
    "image_cached": "image_input",  # when image input has a rate of its own; else cached text
    "image_input": "input",
    "image_output": "output",
    "cache_write": "input",
}

_TOKEN_FIELDS = tuple(TOKEN_PRICE_KEYS)
_TEXT_KEYS = ("operation", "image_size", "note", "service_tier", "context_level", "image_quality")
_PRICE_KEYS = {
    "model",
    "unit",
    "per_unit",
    "per",
    "since",
    "before",
    "correction",
    "rate_factor",
    *_TEXT_KEYS,
    *_TOKEN_FIELDS,
}
_SUMMARY_COLUMNS = (
    "model",
    "unit",
    "rows",
    "n_requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "units",
)


@dataclass(frozen=True)
class Price:
    """One price entry: which rows it matches, and their rates in USD."""

    model: str = "*"  # exact id or fnmatch glob, case-insensitive; "*" also matches no model
    operation: str | None = None  # glob on ``operation``; None matches any
    image_size: str | None = None  # exact size; "" only rows without a size; None matches any
    unit: str = "tokens"
    input_per_mtok: float | None = None
    cached_input_per_mtok: float | None = None  # None: cached input at the input rate
    output_per_mtok: float | None = None
    per_unit: float | None = None  # USD per ``per`` units of ``unit``
    per: float = 1.0
    note: str | None = None  # where the price comes from, shown by ``rate_card``
    audio_input_per_mtok: float | None = None  # uncached audio input
    audio_cached_per_mtok: float | None = None  # None: at the audio input rate
    audio_output_per_mtok: float | None = None
    image_input_per_mtok: float | None = None  # None: at the text input rate
    image_cached_per_mtok: float | None = None
    image_output_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    service_tier: str | None = None  # glob on ``service_tier``; None matches any
    context_level: str | None = None  # web search context; "" only rows without; None any
    image_quality: str | None = None  # "hd", "standard"; "" only rows without; None any
    since: date | None = None  # first day the entry applies (inclusive); None: always
    before: date | None = None  # the day it stops applying (exclusive); None: never
    correction: bool = False  # wins over genai-prices (prices.toml); else it fills gaps only
    rate_factor: float | None = None  # multiplies the token rates found otherwise (no prices)

    @property
    def is_factor(self) -> bool:
        """Whether this entry scales other prices (``rate_factor``) rather than giving one."""
        return self.rate_factor is not None

    def matches(
        self,
        model: str,
        operation: str,
        image_size: str,
        unit: str,
        *,
        tier: str = "",
        context_level: str = "",
        image_quality: str = "",
        day: date | None = None,
    ) -> bool:
        """A row's key into whether this entry prices it, e.g. ``gpt-4o*`` -> gpt-4o-mini.

        ``day`` None ignores ``since``/``before``.
        """
        return (
            unit == self.unit
            and fnmatch.fnmatchcase(model.lower(), self.model.lower())
            and (
                self.operation is None
                or fnmatch.fnmatchcase(operation.lower(), self.operation.lower())
            )
            and (self.image_size is None or image_size == self.image_size)
            and (self.service_tier is None or fnmatch.fnmatchcase(tier, self.service_tier))
            and (self.context_level is None or context_level == self.context_level)
            and (self.image_quality is None or image_quality == self.image_quality)
            and (day is None or self.since is None or day >= self.since)
            and (day is None or self.before is None or day < self.before)
        )


@dataclass(frozen=True)
class PriceTable:
    """Price entries in priority order (first match wins) and the file they came from."""

    prices: tuple[Price, ...] = ()
    source: str = "<memory>"

    def matching(
        self, model: str, operation: str, image_size: str, unit: str, **context: Any
    ) -> list[Price]:
        """A row's key into every matching entry, in file order (factors included)."""
        return [p for p in self.prices if p.matches(model, operation, image_size, unit, **context)]

    def lookup(
        self, model: str, operation: str, image_size: str, unit: str, **context: Any
    ) -> Price | None:
        """A row's key into the first matching price (not a factor) or None, e.g. a dall-e-3
        image -> its entry."""
        return next(
            (
                p
                for p in self.prices
                if not p.is_factor and p.matches(model, operation, image_size, unit, **context)
            ),
            None,
        )

    @property
    def dates(self) -> tuple[date, ...]:
        """Every ``since``/``before`` day in the table, sorted: where its prices may change."""
        return tuple(
            sorted(
                {d for p in self.prices for d in (p.since, p.before) if d is not None},
            )
        )


class RateKey(NamedTuple):
    """What decides a row's price besides its day (cleaned cells; ``""`` for NA)."""

    model: str
    operation: str
    image_size: str
    unit: str
    service_tier: str
    context_level: str = ""
    image_quality: str = ""


@dataclass(frozen=True)
class KeyPrice:
    """The rates of one key and day, where each came from, and what they mean for its rows."""

    rates: ModalRates
    sources: tuple[str | None, ...]  # per ModalRates field; None where there is no rate
    lower_bound: bool = False  # premium tier priced at the default rate
    modal: bool = False  # audio/image billed at rates of their own: a row without the split is low


# --------------------------------------------------------------------------------------------
# Price files


def _price_date(raw: dict, key: str, where: str) -> date | None:
    """A TOML date (or ISO text) into a date or None, e.g. ``2025-06-10`` -> date(2025, 6, 10)."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, datetime):
        raise PricingError(f"{where}: {key!r} must be a day (2025-06-10), not a time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise PricingError(f"{where}: {key!r} must be a day like 2025-06-10, got {value!r}")


def parse_price_entry(raw: Any, *, where: str) -> Price:
    """One ``[[price]]`` table into a ``Price``, e.g. ``{"model": "x", "input_per_mtok": 1}``.

    :param raw: the TOML table (``model`` one id or glob; ``parse_price_table`` expands lists)
    :param where: the file and entry number, for error messages
    """
    if not isinstance(raw, dict):
        raise PricingError(f"{where}: expected a table, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _PRICE_KEYS)
    if unknown:
        raise PricingError(f"{where}: unknown key(s) {', '.join(unknown)}")
    model = raw.get("model")
    if not isinstance(model, str) or not model.strip():
        raise PricingError(f"{where}: 'model' must be a non-empty string (an id or a glob)")
    texts = {}
    for key in _TEXT_KEYS:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise PricingError(f"{where}: {key!r} must be a string")
        texts[key] = value
    numbers = {key: _price_number(raw, key, where) for key in (*_TOKEN_FIELDS, "per_unit", "per")}
    factor = _price_number(raw, "rate_factor", where)
    correction = raw.get("correction", False)
    if not isinstance(correction, bool):
        raise PricingError(f"{where}: 'correction' must be true or false")
    since, before = _price_date(raw, "since", where), _price_date(raw, "before", where)
    if since is not None and before is not None and since >= before:
        raise PricingError(f"{where}: 'since' must be before 'before'")
    has_tokens = any(numbers[key] is not None for key in _TOKEN_FIELDS)
    unit = raw.get("unit", "tokens" if has_tokens or numbers["per_unit"] is None else None)
    if factor is not None:
        if has_tokens or numbers["per_unit"] is not None:
            raise PricingError(f"{where}: give prices or rate_factor, not both")
        if factor <= 0:
            raise PricingError(f"{where}: 'rate_factor' must be positive")
        if unit != "tokens":
            raise PricingError(f"{where}: rate_factor scales token prices only")
    elif numbers["per_unit"] is not None:
        if has_tokens:
            raise PricingError(f"{where}: give token prices or per_unit, not both")
        if unit not in UNITS:
            raise PricingError(
                f"{where}: per_unit needs 'unit', one of {', '.join(UNITS)}; got {unit!r}"
            )
    elif not has_tokens:
        raise PricingError(f"{where}: no price (input_per_mtok/output_per_mtok or per_unit + unit)")
    elif unit != "tokens":
        raise PricingError(f"{where}: token prices with unit {unit!r}; use per_unit for {unit!r}")
    if numbers["per"] is not None and numbers["per"] <= 0:
        raise PricingError(f"{where}: 'per' must be positive")

    def lowered(key: str) -> str | None:
        return None if texts[key] is None else texts[key].strip().lower()

    return Price(
        model=model.strip(),
        operation=texts["operation"],
        image_size=lowered("image_size"),
        unit=unit,
        per_unit=numbers["per_unit"],
        per=numbers["per"] if numbers["per"] is not None else 1.0,
        note=texts["note"],
        service_tier=lowered("service_tier"),
        context_level=lowered("context_level"),
        image_quality=lowered("image_quality"),
        since=since,
        before=before,
        correction=correction,
        rate_factor=factor,
        **{key: numbers[key] for key in _TOKEN_FIELDS},
    )


#: The largest number a price file may hold: prices in USD (per 1M tokens or per unit) and
#: factors up to a million, ``per`` (units a price is for, e.g. 1e9 bytes) from 1e-6 to 1e15, so no
#: price times a usage count can overflow to ``inf`` (``1e308`` is a typo, not a price).
MAX_PRICE_NUMBER = {"per": 1e15}
MIN_PER = 1e-6


def _price_number(raw: dict, key: str, where: str) -> float | None:
    """A TOML value into a finite non-negative float or None, e.g. ``2`` -> ``2.0``; a number
    beyond MAX_PRICE_NUMBER (1e6 unless listed) is refused."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PricingError(f"{where}: {key!r} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise PricingError(f"{where}: {key!r} must be a finite number >= 0, got {value!r}")
    most = MAX_PRICE_NUMBER.get(key, 1e6)
    if value > most or (key == "per" and 0 < value < MIN_PER):
        low = f"{MIN_PER:g} to " if key == "per" else "at most "
        raise PricingError(f"{where}: {key!r} must be {low}{most:g}, got {value!r}")
    return float(value)


def parse_price_entries(raw: Any, *, where: str) -> tuple[Price, ...]:
    """One ``[[price]]`` table into its entries: one per model when ``model`` is a list, e.g.
    ``{"model": ["o3", "o3-2025-04-16"], ...}`` -> two entries with the same prices."""
    models = raw.get("model") if isinstance(raw, dict) else None
    if not isinstance(models, list):
        return (parse_price_entry(raw, where=where),)
    if not models:
        raise PricingError(f"{where}: 'model' must be a non-empty string or list of strings")
    return tuple(parse_price_entry({**raw, "model": model}, where=where) for model in models)


def parse_price_table(document: dict, *, source: str) -> PriceTable:
    """A parsed TOML document into a ``PriceTable``, e.g. ``{"price": [{...}]}`` -> one entry.

    :param document: what ``tomllib`` returned
    :param source: the file name, for error messages
    """
    unknown = sorted(set(document) - {"price"})
    if unknown:
        raise PricingError(
            f"price file {source}: unknown top-level key(s) {', '.join(unknown)};"
            " expected [[price]] entries"
        )
    entries = document.get("price", [])
    if not isinstance(entries, list):
        raise PricingError(f"price file {source}: 'price' must be an array of tables ([[price]])")
    prices = tuple(
        price
        for number, raw in enumerate(entries, start=1)
        for price in parse_price_entries(raw, where=f"price file {source}, entry {number}")
    )
    return PriceTable(prices=prices, source=source)


def load_price_overrides(path: str | Path) -> PriceTable:
    """A TOML price file into a ``PriceTable``, e.g. ``"prices.toml"`` -> entries in file order.

    Raises ``PricingError`` naming the file and the problem when it cannot be used.

    :param path: the file (``SPEND_PRICES_FILE`` in the app's configuration)
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PricingError(
            f"price file {path}: cannot be read ({exc.__class__.__name__}: {exc})"
        ) from exc
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PricingError(f"price file {path}: not valid TOML ({exc})") from exc
    return parse_price_table(document, source=str(path))


@cache
def local_prices() -> PriceTable:
    """The shipped ``spend/prices.toml`` into a ``PriceTable`` (read once)."""
    return load_price_overrides(LOCAL_PRICES_PATH)


def clear_caches() -> None:
    """Forget every cached price lookup (tests; a new genai-prices snapshot)."""
    for cached in (
        local_prices,
        _genai_model,
        price_boundaries,
        genai_modal_rates,
        genai_unit_rate,
    ):
        cached.cache_clear()


def price_source_version() -> str:
    """The price data's provenance into a label, e.g. ``"genai-prices 0.2.3"``."""
    return f"genai-prices {genai_prices.__version__}"


# --------------------------------------------------------------------------------------------
# Rates for one key


def entry_rates(entry: Price) -> ModalRates:
    """A price entry into USD per token/unit, e.g. ``audio_input_per_mtok=40`` -> ``4e-05``.

    Only the rates the entry gives, except that cached text input without a rate is at the input
    rate (a price file's long-standing rule); every other missing rate is NaN.
    """
    if entry.is_factor:
        return ModalRates()
    if entry.unit != "tokens":
        return ModalRates(unit=entry.per_unit / entry.per)
    values = {
        name: math.nan if getattr(entry, key) is None else getattr(entry, key) / TOKENS_PER_PRICE
        for key, name in TOKEN_PRICE_KEYS.items()
    }
    if entry.cached_input_per_mtok is None:
        values["cached"] = values["input"]
    return ModalRates(**values)


def table_rates(entry: Price) -> Rates:
    """A price entry into USD per token/unit, e.g. ``input_per_mtok=2.5`` -> ``input=2.5e-06``."""
    return Rates(*entry_rates(entry)[:4])


def entry_label(table: PriceTable, entry: Price) -> str:
    """A table entry into where its price comes from, e.g. ``"prices.toml: o3 cached (...)"``."""
    name = Path(table.source).name if table.source != "<memory>" else table.source
    return f"{name}: {entry.note or entry.model}"


@cache
def _genai_model(model: str) -> Any:
    """A model id into genai-prices' ``ModelInfo`` for OpenAI, or None when it lacks the model."""
    if not model:
        return None
    try:
        return calc_price(Usage(), model, provider_id=PROVIDER_ID).model
    except LookupError:
        return None


@cache
def price_boundaries(model: str) -> tuple[date, ...]:
    """A model id into the sorted days its genai-prices price changes, e.g. o3 -> (2025-06-10, ...).

    Dated prices and dated service-tier variants both count; a model without any gives ``()``.
    Time-of-day prices (off-peak hours; OpenAI has none) are no boundary: a day gets midnight's.
    """
    info = _genai_model(model)
    if info is None:
        return ()
    constraints = (
        [getattr(c, "constraint", None) for c in info.prices]
        if isinstance(info.prices, list)
        else []
    )
    constraints += [variant.constraint for variant in info.price_variants or ()]
    return tuple(sorted({c.start_date for c in constraints if isinstance(c, StartDateConstraint)}))


def price_period(model: str, day: date, extra: tuple[date, ...] = ()) -> date:
    """A model and UTC day into a day with the same price, e.g. o3 2025-7 -> 2025-6-10.

    Rows whose days map to the same period share one lookup.

    :param extra: more days where prices change (the price files' ``since``/``before``)
    """
    bounds = sorted(set(price_boundaries(model)) | set(extra)) if extra else price_boundaries(model)
    position = bisect.bisect_right(bounds, day)
    if position:
        return bounds[position - 1]
    return bounds[0] - timedelta(days=1) if bounds else date(2020, 1, 1)


def _probe(model: str, day: date, tier: str, **usage: int) -> float:
    """One genai-prices call for one unit of usage into USD, NaN when it has no price (or $0)."""
    context = {"service_tier": tier} if tier else None
    when = datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        total = calc_price(
            Usage(**usage),
            model,
            provider_id=PROVIDER_ID,
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
def genai_modal_rates(model: str, day: date, tier: str = "") -> tuple[ModalRates, str]:
    """A model, day and service tier into genai-prices' token rates and its model id, e.g.
    gpt-4o-realtime-preview-2024-12-17 -> (input 5e-06, ..., audio_input 4e-05, ...), "...".

    Only the fields genai-prices has (its own fallbacks are not taken), except cached text input,
    which genai-prices bills at the input rate when it has no cached rate. One call per key.
    """
    if _genai_model(model) is None:
        return ModalRates(), ""
    context = {"service_tier": tier} if tier else None
    when = datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        calculation = calc_price(
            Usage(),
            model,
            provider_id=PROVIDER_ID,
            genai_request_timestamp=when,
            price_context=context,
        )
    except (LookupError, ValueError):
        return ModalRates(), ""
    values = {
        name: _per_token(getattr(calculation.model_price, field, None))
        for name, field in GENAI_PRICE_FIELDS.items()
    }
    if math.isnan(values["cached"]):
        values["cached"] = values["input"]
    return ModalRates(**values), str(calculation.model.id)


def genai_token_rates(model: str, day: date, tier: str = "") -> Rates:
    """A model, day and service tier into genai-prices' text rates, e.g. gpt-4o -> 2.5e-06, ...."""
    return Rates(*genai_modal_rates(model, day, tier)[0][:3])


@cache
def genai_unit_rate(model: str, day: date, tier: str, usage_key: str) -> float:
    """A model, day, tier and genai-prices usage key into USD per unit, e.g. whisper-1 -> 0.0001."""
    if _genai_model(model) is None:
        return math.nan
    return _probe(model, day, tier, **{usage_key: 1})


def _genai_usage_key(unit: str, operation: str) -> str | None:
    """A row's unit and operation into a genai-prices usage key, e.g. calls, web_search -> ...es."""
    if unit == "calls":
        return "web_searches" if WEB_SEARCH_MARK in operation.lower() else None
    return GENAI_UNIT_KEYS.get(unit)


def _token_rates(
    key: RateKey, day: date, overrides: PriceTable, local: PriceTable, context: dict
) -> tuple[list[float], list[str | None], bool]:
    """A key's token rates and their sources before fallbacks and factors, and whether a premium
    tier found a price of its own."""
    lookup = (key.model, key.operation, key.image_size, "tokens")
    names = ModalRates._fields
    values: list[float] = [math.nan] * len(names)
    sources: list[str | None] = [None] * len(names)
    entry = overrides.lookup(*lookup, **context)
    if entry is not None:
        label = entry_label(overrides, entry)
        for i, rate in enumerate(entry_rates(entry)):
            if i != UNIT_INDEX and not math.isnan(rate):
                values[i], sources[i] = rate, label
        return values, sources, True
    genai_day = price_period(key.model, day) if key.model else day
    genai, genai_id = genai_modal_rates(key.model, genai_day, key.service_tier)
    genai_label = f"{price_source_version()} ({genai_id})"
    matches = [p for p in local.matching(*lookup, **context) if not p.is_factor]
    corrections = [p for p in matches if p.correction]
    fillers = [p for p in matches if not p.correction]
    tier_priced = False
    for i in range(len(names)):
        if i == UNIT_INDEX:
            continue
        found = next(
            ((p, rate) for p in corrections if not math.isnan(rate := entry_rates(p)[i])), None
        )
        if found is None and not math.isnan(genai[i]):
            values[i], sources[i] = genai[i], genai_label
            continue
        if found is None:
            found = next(
                ((p, rate) for p in fillers if not math.isnan(rate := entry_rates(p)[i])), None
            )
        if found is not None:
            values[i], sources[i] = found[1], entry_label(local, found[0])
            tier_priced |= found[0].service_tier is not None
    if key.service_tier in PREMIUM_TIERS and not tier_priced and not math.isnan(genai.input):
        default, _ = genai_modal_rates(key.model, genai_day, "")
        tier_priced = genai.input != default.input
    return values, sources, tier_priced


def _unit_rate(
    key: RateKey, day: date, overrides: PriceTable, local: PriceTable, context: dict
) -> tuple[float, str | None]:
    """A key's unit rate and its source: override, correction, genai-prices, local table."""
    lookup = (key.model, key.operation, key.image_size, key.unit)
    entry = overrides.lookup(*lookup, **context)
    if entry is not None:
        return entry_rates(entry).unit, entry_label(overrides, entry)
    matches = [p for p in local.matching(*lookup, **context) if not p.is_factor]
    correction = next((p for p in matches if p.correction), None)
    if correction is not None:
        return entry_rates(correction).unit, entry_label(local, correction)
    usage_key = _genai_usage_key(key.unit, key.operation)
    if usage_key:
        genai_day = price_period(key.model, day) if key.model else day
        rate = genai_unit_rate(key.model, genai_day, key.service_tier, usage_key)
        if not math.isnan(rate):
            return rate, f"{price_source_version()} ({key.model}, {usage_key})"
    filler = next((p for p in matches if not p.correction), None)
    if filler is not None:
        return entry_rates(filler).unit, entry_label(local, filler)
    return math.nan, None


def key_price(key: RateKey, day: date, overrides: PriceTable, local: PriceTable) -> KeyPrice:
    """A row key and its price day into every rate with its source (module docstring order).

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
    values, sources, tier_priced = _token_rates(key, day, overrides, local, context)
    position = {name: i for i, name in enumerate(names)}
    modal = any(
        not math.isnan(values[position[name]]) for name in ("audio_input", "audio_output")
    ) or any(
        values[position[image]] > values[position[text]]
        for image, text in (("image_input", "input"), ("image_output", "output"))
    )
    if math.isnan(values[position["image_input"]]):
        fallbacks = {**FALLBACKS, "image_cached": "cached"}  # vision input is billed as text
    else:
        fallbacks = FALLBACKS
    for name, parent in fallbacks.items():
        i, j = position[name], position[parent]
        if math.isnan(values[i]) and not math.isnan(values[j]):
            values[i] = values[j]
            sources[i] = f"{sources[j]}, at the {COMPONENT_LABELS[parent]} rate"
    factor, labels = 1.0, []
    for table in (overrides, local):
        entry = next((p for p in table.matching(*_lookup(key), **context) if p.is_factor), None)
        if entry is not None:
            factor *= entry.rate_factor
            labels.append(f"x{entry.rate_factor:g} ({entry_label(table, entry)})")
    if labels:
        for i in range(len(names)):
            if i != UNIT_INDEX and sources[i] is not None:
                values[i] *= factor
                sources[i] = f"{sources[i]} {' '.join(labels)}"
    if key.unit not in ("", "tokens"):
        values[UNIT_INDEX], sources[UNIT_INDEX] = _unit_rate(key, day, overrides, local, context)
    lower = key.service_tier in PREMIUM_TIERS and not tier_priced and sources[0] is not None
    return KeyPrice(ModalRates(*values), tuple(sources), lower_bound=lower, modal=modal)


def _lookup(key: RateKey) -> tuple[str, str, str, str]:
    return (key.model, key.operation, key.image_size, "tokens")


def key_rates(key: RateKey, day: date, overrides: PriceTable, local: PriceTable) -> Rates:
    """A row key and its price day into text and unit rates: overrides, corrections,
    genai-prices, local table (``key_price`` has every rate)."""
    return Rates(*key_price(key, day, overrides, local).rates[:4])


# --------------------------------------------------------------------------------------------
# The frame


#: Columns whose values decide a row's price (with ``date``); absent extras count as empty.
_KEY_COLUMNS = (
    "model",
    "operation",
    "image_size",
    "unit",
    "service_tier",
    "context_level",
    "image_quality",
)


def row_key(values: dict[str, Any]) -> RateKey:
    """Raw key cells into a clean key, e.g. ``{"unit": " Images ", "model": NA}`` -> "images"."""
    clean = {
        name: "" if values.get(name) is None or pd.isna(values[name]) else str(values[name]).strip()
        for name in _KEY_COLUMNS
    }
    key = {name: text if name == "model" else text.lower() for name, text in clean.items()}
    key["service_tier"] = TIER_ALIASES.get(key["service_tier"], key["service_tier"])
    return RateKey(**key)


def distinct_keys(columns: list[pd.Series], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Key columns into (each row's key code, each key's first row), e.g. a, b, a -> 0, 1, 0; 0, 1.

    Codes number the keys in order of first appearance; NA is a value like any other.
    """
    combined = np.zeros(length, dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        combined, _ = pd.factorize(combined * (len(uniques) + 1) + (codes + 1))
    first = pd.Series(combined).drop_duplicates().index.to_numpy()
    return combined.astype(np.int64), first


def _counts(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A count column into float64, NA and negatives as 0, e.g. ``[5, <NA>, -1]`` -> 5., 0., 0."""
    if name not in frame.columns:
        return np.zeros(len(frame))
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64", na_value=0.0)
    return np.where(np.isfinite(values) & (values > 0), values, 0.0)


def _key_prices(
    frame: pd.DataFrame, overrides: PriceTable, local: PriceTable
) -> tuple[np.ndarray, list[KeyPrice], list[tuple[RateKey, date]]]:
    """The usage table into (each row's key code, each key's price, each key and price day),
    one lookup per distinct key and price period."""
    present = [name for name in (*_KEY_COLUMNS, "date") if name in frame.columns]
    codes, first = distinct_keys([frame[name] for name in present], len(frame))
    firsts = frame[present].take(first).to_dict("records")
    today = datetime.now(tz=UTC).date()
    dates = tuple(sorted({*overrides.dates, *local.dates}))
    memo: dict[tuple[RateKey, date], KeyPrice] = {}
    prices, keys = [], []
    for values in firsts:
        key = row_key(values)
        stamp = values.get("date")
        day = today if stamp is None or pd.isna(stamp) else pd.Timestamp(stamp).date()
        period = price_period(key.model, day, dates)
        if (key, period) not in memo:
            memo[(key, period)] = key_price(key, period, overrides, local)
        prices.append(memo[(key, period)])
        keys.append((key, period))
    return codes, prices, keys


def split_present(frame: pd.DataFrame) -> np.ndarray:
    """The usage table into whether each row carries a modality split (any split column set)."""
    present = np.zeros(len(frame), dtype=bool)
    for name in SPLIT_COLUMNS:
        if name in frame.columns:
            present |= frame[name].notna().to_numpy(dtype=bool)
    return present


def component_counts(frame: pd.DataFrame) -> np.ndarray:
    """The usage table into n_rows x 11 counts in ``ModalRates`` order (units where a row has a
    unit), e.g. 1M input (400k cached), no split -> text input 600k, cached text 400k.

    With a split, text is what the totals leave after the other parts (never below 0).
    """
    n = len(frame)
    split = split_present(frame)
    parts = {name: _counts(frame, column) for column, name in SPLIT_PARTS.items()}
    total_in = _counts(frame, "input_tokens")
    cached = _counts(frame, "cached_input_tokens")
    output = _counts(frame, "output_tokens")
    other_in = parts["cache_write"] + parts["audio_input"] + parts["image_input"]
    text_in = np.maximum(total_in - cached - np.where(split, other_in, 0.0), 0.0)
    text_cached = np.maximum(
        cached - np.where(split, parts["audio_cached"] + parts["image_cached"], 0.0), 0.0
    )
    text_out = np.maximum(
        output - np.where(split, parts["audio_output"] + parts["image_output"], 0.0), 0.0
    )
    has_unit = np.zeros(n, dtype=bool)
    if "unit" in frame.columns:
        unit = frame["unit"].astype("string").fillna("").str.strip().str.lower()
        has_unit = (~unit.isin(["", "tokens"])).to_numpy(dtype=bool)
    columns = {
        "input": text_in,
        "cached": text_cached,
        "output": text_out,
        "unit": np.where(has_unit, _counts(frame, "units"), 0.0),
        **{name: np.where(split, values, 0.0) for name, values in parts.items()},
    }
    return np.column_stack([columns[name] for name in ModalRates._fields]).reshape(
        n, len(ModalRates._fields)
    )


def _batch_factor(frame: pd.DataFrame) -> np.ndarray:
    """The ``batch`` column into a token price factor per row, e.g. ``[True, <NA>]`` -> 0.5, 1.0."""
    if "batch" not in frame.columns:
        return np.ones(len(frame))
    batch = frame["batch"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return np.where(batch, 1.0 - BATCH_DISCOUNT, 1.0)


#: Kinds of usage this module knows how to measure (spend.normalize's operation names).
PRICEABLE_OPERATIONS = frozenset(
    {
        "completion",
        "embeddings",
        "moderation",
        "realtime",
        "image",
        "tts",
        "transcription",
        "vector_storage",
        "code_interpreter",
        "file_search",
        "web_search",
        "fine-tuning",
    }
)


def rates_per_row(frame: pd.DataFrame, *, overrides: PriceTable | None = None) -> np.ndarray:
    """The usage table into every row's rates, n_rows x 11 in ``ModalRates`` order (USD per token
    or unit, before the batch discount; NaN where unknown), e.g. a gpt-4o-realtime-preview row ->
    ``[5e-06, 2.5e-06, 2e-05, nan, 4e-05, ...]``. The same lookups as ``attach_prices``: pair it
    with ``component_counts`` to split a row's cost by component.

    :param overrides: the user's prices, as used to price the table
    """
    width = len(ModalRates._fields)
    if frame.empty:
        return np.empty((0, width))
    codes, prices, _ = _key_prices(frame, overrides or PriceTable(), local_prices())
    return np.array([p.rates for p in prices], dtype="float64").reshape(len(prices), width)[codes]


def price_rows(
    frame: pd.DataFrame, overrides: PriceTable, local: PriceTable
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The usage table into (USD per row, unpriced mask, lower-bound mask), e.g. 1M gpt-4o input
    -> 2.5, False, False."""
    codes, prices, _ = _key_prices(frame, overrides, local)
    width = len(ModalRates._fields)
    table = np.array([p.rates for p in prices], dtype="float64").reshape(len(prices), width)
    rates = table[codes] if len(prices) else np.empty((0, width))
    counts = component_counts(frame)
    used = counts > 0
    missing = (used & np.isnan(rates)).any(axis=1)
    # Usage this app cannot measure is never a priced $0: requests with no tokens or units, or a
    # kind of usage it does not know (legacy assistant_code_interpreter_data, ...).
    requests = _counts(frame, "n_requests")
    missing |= (requests > 0) & ~used.any(axis=1)
    operation = (
        frame["operation"].astype("string")
        if "operation" in frame.columns
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    )
    missing |= (~operation.isin(PRICEABLE_OPERATIONS) & operation.notna()).to_numpy(dtype=bool)
    parts = np.where(used, counts * np.nan_to_num(rates), 0.0)
    tokens = np.delete(parts, UNIT_INDEX, axis=1).sum(axis=1)
    cost = tokens * _batch_factor(frame) + parts[:, UNIT_INDEX]
    key_lower = np.array([p.lower_bound for p in prices], dtype=bool)[codes]
    key_modal = np.array([p.modal for p in prices], dtype=bool)[codes]
    unsplit = ~split_present(frame) & (np.delete(counts, UNIT_INDEX, axis=1) > 0).any(axis=1)
    realtime = operation.eq("realtime").to_numpy(dtype=bool, na_value=False)
    lower = ~missing & (key_lower | (unsplit & (key_modal | realtime)))
    return cost, missing, lower


def labels(codes: np.ndarray, names: list[str], index: pd.Index) -> pd.Series:
    """Integer codes into a ``string`` column, e.g. ``[1, 0]`` with ``["a", "b"]`` -> "b", "a".

    Builds the column in Arrow (about 40x faster than from a NumPy array of Python strings).
    """
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pandas then stores strings as Python objects
        return pd.Series(pd.Categorical.from_codes(codes, names), index=index).astype("string")
    return pd.Series(pd.array(pa.array(names).take(pa.array(codes)), dtype="string"), index=index)


def attach_prices(
    frame: pd.DataFrame, *, overrides: PriceTable | None = None, errors: str = "coerce"
) -> pd.DataFrame:
    """The usage table into the same table with ``cost_usd``/``cost_basis``/``cost_lower_bound``
    on every unbilled row.

    E.g. a gpt-4o row with 1M input tokens (400k cached) -> ``cost_usd`` 2.0, ``"estimated"``;
    an unknown model -> NA, ``"unpriced"``; ``"billed"`` rows pass through untouched (their
    ``cost_lower_bound`` is False). Returns a new frame (``cost_lower_bound`` added at the end when
    the frame lacks it).

    :param frame: usage table (``spend.schema.COLUMNS``, extras such as ``batch``, ``image_size``,
        ``service_tier``, ``context_level`` and the modality split used when present)
    :param overrides: the user's prices, which win over every other source
    :param errors: ``"coerce"``: rows without a price become ``"unpriced"``; ``"raise"``: raise
        ``PricingError`` naming them
    """
    if errors not in ERROR_POLICIES:
        raise ValueError(f"errors must be one of {ERROR_POLICIES}, got {errors!r}")
    out = frame.copy()
    billed = (out["cost_basis"].astype("string") == "billed").fillna(False).to_numpy(dtype=bool)
    cost, missing, lower = price_rows(out, overrides or PriceTable(), local_prices())
    unpriced = missing & ~billed
    if errors == "raise" and unpriced.any():
        raise PricingError(f"no price for {_describe(out[unpriced])}")
    keep = pd.Series(billed, index=out.index)
    new_cost = pd.Series(cost, index=out.index, dtype="Float64").mask(
        pd.Series(unpriced, index=out.index)
    )
    out["cost_usd"] = new_cost.where(~keep, out["cost_usd"].astype("Float64"))
    basis = np.where(billed, 2, np.where(unpriced, 1, 0)).astype(np.int8)
    out["cost_basis"] = labels(basis, ["estimated", "unpriced", "billed"], out.index)
    out["cost_lower_bound"] = pd.array(lower & ~billed, dtype="boolean")
    return out


def _describe(rows: pd.DataFrame) -> str:
    """Unpriced rows into a short list of model/unit pairs, e.g. ``"m-1 (tokens), x (images)"``."""
    summary = unpriced_summary(rows.assign(cost_basis="unpriced"))
    pairs = [
        f"{model} ({unit})" for model, unit in zip(summary["model"], summary["unit"], strict=True)
    ]
    more = f" and {len(pairs) - 5} more" if len(pairs) > 5 else ""
    return ", ".join(pairs[:5]) + more


def unpriced_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """The priced usage table into one row per unpriced model/unit with its usage, e.g. for the UI.

    Columns: ``model`` ("(none)" when missing), ``unit`` ("tokens" when missing), ``rows``,
    ``n_requests``, token counts and ``units``; largest token count first. Empty when all is priced.
    """
    rows = frame[(frame["cost_basis"].astype("string") == "unpriced").fillna(False)]
    if rows.empty:
        return pd.DataFrame({name: pd.Series(dtype="Int64") for name in _SUMMARY_COLUMNS}).astype(
            {"model": "string", "unit": "string", "units": "Float64"}
        )
    keys = pd.DataFrame(
        {
            "model": rows["model"].astype("string").fillna("(none)"),
            "unit": rows["unit"].astype("string").fillna("tokens"),
        }
    )
    counts = rows[["n_requests", "input_tokens", "cached_input_tokens", "output_tokens", "units"]]
    grouped = pd.concat([keys, counts.fillna(0)], axis=1).groupby(["model", "unit"], sort=True)
    summary = grouped.sum().join(grouped.size().rename("rows")).reset_index()
    summary = summary.sort_values(
        ["input_tokens", "units", "model"], ascending=[False, False, True], kind="stable"
    )
    return summary[list(_SUMMARY_COLUMNS)].reset_index(drop=True)


#: Columns of ``lower_bound_summary``.
LOWER_BOUND_COLUMNS = ("model", "operation", "service_tier", "rows", "cost_usd")


def lower_bound_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """The priced usage table into its lower-bound estimates per model, operation and tier.

    E.g. legacy ``completion-realtime`` rows of gpt-4o-realtime-preview priced as text ->
    ``("gpt-4o-realtime-preview-2024-12-17", "realtime", "(none)", 3, 1.25)``. Columns
    ``LOWER_BOUND_COLUMNS`` (text NA as "(none)"), largest cost first; empty when every estimate is
    exact as far as the price data can tell (or the table was priced before this column existed).
    """
    flag = frame["cost_lower_bound"] if "cost_lower_bound" in frame.columns else None
    rows = frame.iloc[0:0] if flag is None else frame[flag.astype("boolean").fillna(False)]
    keys = pd.DataFrame(
        {
            name: (
                rows[name].astype("string")
                if name in rows.columns
                else pd.Series(pd.NA, index=rows.index, dtype="string")
            ).fillna("(none)")
            for name in LOWER_BOUND_COLUMNS[:3]
        }
    )
    cost = rows["cost_usd"].astype("Float64").fillna(0.0).rename("cost_usd")
    grouped = pd.concat([keys, cost], axis=1).groupby(list(LOWER_BOUND_COLUMNS[:3]), sort=True)
    summary = grouped["cost_usd"].sum().to_frame().join(grouped.size().rename("rows"))
    summary = summary.reset_index().astype({"rows": "Int64", "cost_usd": "Float64"})
    summary = summary.sort_values(["cost_usd", "model"], ascending=[False, True], kind="stable")
    return summary[list(LOWER_BOUND_COLUMNS)].reset_index(drop=True)


#: Columns of ``rate_card``.
RATE_CARD_COLUMNS = (
    "model",
    "operation",
    "unit",
    "service_tier",
    "context_level",
    "image_size",
    "first_day",
    "last_day",
    "component",
    "usd",
    "per",
    "source",
)


def rate_card(frame: pd.DataFrame, *, overrides: PriceTable | None = None) -> pd.DataFrame:
    """The usage table into every rate its estimates use, with the source of each.

    One row per price key (model, operation, unit, tier, context level, image size), component
    and rate that some row uses, with the first and last day of those rows, e.g.
    ``gpt-4o-realtime-preview-2024-12-17 | completion | tokens | ... | audio input | 40.0 |
    1M tokens | genai-prices 0.2.3 (gpt-4o-realtime-preview)``. ``usd`` is per 1M tokens for token
    components and per unit for units (``per`` names the unit); NA with source NA where no rate is
    known (those rows are unpriced). Billed rows use no rate. Sorted by model, then period.

    :param frame: the usage table (priced or not)
    :param overrides: the user's prices, as used to price the table
    """
    basis = frame["cost_basis"].astype("string") if "cost_basis" in frame.columns else None
    rows = frame if basis is None else frame[basis.ne("billed").fillna(True).to_numpy(dtype=bool)]
    records = []
    if len(rows):
        codes, prices, keys = _key_prices(rows, overrides or PriceTable(), local_prices())
        used = component_counts(rows) > 0
        days = (
            pd.to_datetime(rows["date"]).to_numpy()
            if "date" in rows.columns
            else np.full(len(rows), np.datetime64("NaT"))
        )
        groups: dict[tuple[RateKey, date], list] = {}  # (key, period) -> [price, used, days]
        for code, (price, key_day) in enumerate(zip(prices, keys, strict=True)):
            mine = codes == code
            group = groups.setdefault(key_day, [price, np.zeros(used.shape[1], dtype=bool), []])
            group[1] |= used[mine].any(axis=0)
            group[2].extend(days[mine])
        for (key, _), (price, mine, seen) in groups.items():
            stamps = pd.to_datetime(pd.Series(seen)).dropna()
            for i, name in enumerate(ModalRates._fields):
                if not mine[i]:
                    continue
                rate = price.rates[i]
                unit = i == UNIT_INDEX
                records.append(
                    {
                        "model": key.model or None,
                        "operation": key.operation or None,
                        "unit": key.unit or "tokens",
                        "service_tier": key.service_tier or None,
                        "context_level": key.context_level or None,
                        "image_size": key.image_size or None,
                        "first_day": stamps.min() if len(stamps) else pd.NaT,
                        "last_day": stamps.max() if len(stamps) else pd.NaT,
                        "component": key.unit if unit else COMPONENT_LABELS[name],
                        "usd": None if math.isnan(rate) else rate * (1 if unit else 1e6),
                        "per": key.unit if unit else "1M tokens",
                        "source": price.sources[i],
                    }
                )
    card = pd.DataFrame(records, columns=list(RATE_CARD_COLUMNS))
    card = card.astype(
        {
            **{name: "string" for name in RATE_CARD_COLUMNS},
            "first_day": "datetime64[ns]",
            "last_day": "datetime64[ns]",
            "usd": "Float64",
        }
    )
    # periods whose rates and sources are the same read as one
    same = [name for name in RATE_CARD_COLUMNS if name not in ("first_day", "last_day")]
    card = (
        card.groupby(same, dropna=False, sort=False)
        .agg(first_day=("first_day", "min"), last_day=("last_day", "max"))
        .reset_index()[list(RATE_CARD_COLUMNS)]
    )
    card = card.sort_values(["model", "first_day"], kind="stable", na_position="last")
    return card.reset_index(drop=True)
