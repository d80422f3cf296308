"""Price files: ``spend/prices.toml`` and a user's override file, read and checked.

A file is ``[[price]]`` entries (format in ``spend/prices.toml``'s header). ``load_price_overrides``
reads one into a ``PriceTable`` (first match wins) or raises ``PricingError`` naming the file and
the entry; ``local_prices`` is the shipped table, read once; ``entry_rates`` turns an entry into
``ModalRates``.
"""

from __future__ import annotations

import fnmatch
import math
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from spend.errors import PricingError
from spend.pricing.rates import TOKENS_PER_PRICE, ModalRates

#: The local table shipped with the app.
LOCAL_PRICES_PATH = Path(__file__).parent.parent / "prices.toml"
#: Units a price file may price besides tokens (the usage table's ``unit`` values).
UNITS = ("images", "characters", "seconds", "bytes", "sessions", "calls", "training_tokens")
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
    "cache_write_1h_per_mtok": "cache_write_1h",
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
    "context_above",
    "free_per_day",
    *_TEXT_KEYS,
    *_TOKEN_FIELDS,
}


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
    cache_write_1h_per_mtok: float | None = None  # 1-hour cache writes (Anthropic); no fallback
    service_tier: str | None = None  # glob on ``service_tier``; None matches any
    context_level: str | None = None  # web search context; "" only rows without; None any
    image_quality: str | None = None  # "hd", "standard"; "" only rows without; None any
    since: date | None = None  # first day the entry applies (inclusive); None: always
    before: date | None = None  # the day it stops applying (exclusive); None: never
    correction: bool = False  # wins over genai-prices (prices.toml); else it fills gaps only
    rate_factor: float | None = None  # multiplies the token rates found otherwise (no prices)
    context_above: int | None = None  # long-context price: requests with more input tokens
    free_per_day: float | None = None  # units free per organization and day (with per_unit)

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
        long_context: bool = False,
    ) -> bool:
        """A row's key into whether this entry prices it, e.g. ``gpt-4o*`` -> gpt-4o-mini.

        ``day`` None ignores ``since``/``before``. ``long_context`` asks for the entries that price
        long-context requests (``context_above``); otherwise only the others match.
        """
        return (
            unit == self.unit
            and (self.context_above is not None) == long_context
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
    above = _price_number(raw, "context_above", where)
    free = _price_number(raw, "free_per_day", where)
    if above is not None and (not above.is_integer() or above < 1):
        raise PricingError(f"{where}: 'context_above' must be a whole number of tokens >= 1")
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
    if above is not None and (factor is not None or unit != "tokens"):
        raise PricingError(f"{where}: 'context_above' goes with token prices only")
    if free is not None and numbers["per_unit"] is None:
        raise PricingError(f"{where}: 'free_per_day' goes with per_unit only")

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
        context_above=None if above is None else int(above),
        free_per_day=free,
        **{key: numbers[key] for key in _TOKEN_FIELDS},
    )


#: The largest number a price file may hold: prices in USD (per 1M tokens or per unit) and
#: factors up to a million, ``per`` (units a price is for, e.g. 1e9 bytes) from 1e-6 to 1e15, so no
#: price times a usage count can overflow to ``inf`` (``1e308`` is a typo, not a price).
MAX_PRICE_NUMBER = {"per": 1e15, "context_above": 1e12, "free_per_day": 1e15}
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


def entry_label(table: PriceTable, entry: Price) -> str:
    """A table entry into where its price comes from, e.g. ``"prices.toml: o3 cached (...)"``."""
    name = Path(table.source).name if table.source != "<memory>" else table.source
    return f"{name}: {entry.note or entry.model}"
