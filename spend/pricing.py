"""Prices into the usage table: ``cost_usd`` and ``cost_basis`` for every row that is not billed.

Where a price comes from (the first source that prices a row's unit wins):

1. ``overrides``: the user's price file (negotiated rates, fine-tunes), ``load_price_overrides``;
2. genai-prices (pinned, offline): tokens, TTS characters, transcription seconds, web search calls;
3. ``spend/prices.toml``: what genai-prices lacks (DALL-E images by size, code interpreter
   sessions, file search calls, vector storage bytes, free moderation).

A row's usage is up to four components: uncached input tokens, cached input tokens (part of
``input_tokens``, priced at the cached rate), output tokens, and ``units`` of ``unit``. A component
with a non-zero count and no price makes the row ``"unpriced"`` with ``cost_usd`` NA, never a
silent 0. genai-prices prices usage in a unit a model is not sold in at $0 (``tts-1-hd`` given
tokens), so $0 from genai-prices means "no price"; an explicit 0 in a price file is a real price
(moderation is free). A row with no usage at all costs 0.0, ``"estimated"``.

Speed: genai-prices is asked once per distinct (model, price period, service tier), never per row.
The periods come from the model's dated prices (e.g. o3 before and from 2025-06-10); rows are then
priced with numpy (about a second for a million rows).
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

#: OpenAI's Batch API charges 50% less for input and output tokens (openai.com/api/pricing).
BATCH_DISCOUNT = 0.5
#: genai-prices' id for OpenAI's own API.
PROVIDER_ID = "openai"
#: Token prices are quoted per this many tokens.
TOKENS_PER_PRICE = 1_000_000
#: The local table shipped with the app.
LOCAL_PRICES_PATH = Path(__file__).with_name("prices.toml")
#: Units a price file may price besides tokens (the usage table's ``unit`` values).
UNITS = ("images", "characters", "seconds", "bytes", "sessions", "calls")
#: ``unit`` -> genai-prices usage key, for the units genai-prices knows.
GENAI_UNIT_KEYS = {"characters": "input_characters", "seconds": "audio_seconds"}
#: Web search calls (unit ``calls``, an operation containing this) -> genai-prices ``web_searches``.
WEB_SEARCH_MARK = "web"
#: ``errors=`` values of ``attach_prices``.
ERROR_POLICIES = ("coerce", "raise")

_TOKEN_FIELDS = ("input_per_mtok", "cached_input_per_mtok", "output_per_mtok")
_PRICE_KEYS = {
    "model",
    "operation",
    "image_size",
    "unit",
    "per_unit",
    "per",
    "note",
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
    note: str | None = None

    def matches(self, model: str, operation: str, image_size: str, unit: str) -> bool:
        """A row's key into whether this entry prices it, e.g. ``gpt-4o*`` -> gpt-4o-mini."""
        return (
            unit == self.unit
            and fnmatch.fnmatchcase(model.lower(), self.model.lower())
            and (
                self.operation is None
                or fnmatch.fnmatchcase(operation.lower(), self.operation.lower())
            )
            and (self.image_size is None or image_size == self.image_size)
        )


@dataclass(frozen=True)
class PriceTable:
    """Price entries in priority order (first match wins) and the file they came from."""

    prices: tuple[Price, ...] = ()
    source: str = "<memory>"

    def lookup(self, model: str, operation: str, image_size: str, unit: str) -> Price | None:
        """A row's key into the first matching entry or None, e.g. a dall-e-3 image -> its entry."""
        return next((p for p in self.prices if p.matches(model, operation, image_size, unit)), None)


class Rates(NamedTuple):
    """USD per token (uncached input, cached input, output) and per unit; NaN where unknown."""

    input: float = math.nan
    cached: float = math.nan
    output: float = math.nan
    unit: float = math.nan


class RateKey(NamedTuple):
    """What decides a row's price besides its day (cleaned cells; ``""`` for NA)."""

    model: str
    operation: str
    image_size: str
    unit: str
    service_tier: str


# --------------------------------------------------------------------------------------------
# Price files


def parse_price_entry(raw: Any, *, where: str) -> Price:
    """One ``[[price]]`` table into a ``Price``, e.g. ``{"model": "x", "input_per_mtok": 1}``.

    :param raw: the TOML table
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
    for key in ("operation", "image_size", "note"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise PricingError(f"{where}: {key!r} must be a string")
        texts[key] = value
    numbers = {key: _price_number(raw, key, where) for key in (*_TOKEN_FIELDS, "per_unit", "per")}
    has_tokens = any(numbers[key] is not None for key in _TOKEN_FIELDS)
    unit = raw.get("unit", "tokens" if has_tokens or numbers["per_unit"] is None else None)
    if numbers["per_unit"] is not None:
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
    return Price(
        model=model.strip(),
        operation=texts["operation"],
        image_size=None if texts["image_size"] is None else texts["image_size"].strip().lower(),
        unit=unit,
        input_per_mtok=numbers["input_per_mtok"],
        cached_input_per_mtok=numbers["cached_input_per_mtok"],
        output_per_mtok=numbers["output_per_mtok"],
        per_unit=numbers["per_unit"],
        per=numbers["per"] if numbers["per"] is not None else 1.0,
        note=texts["note"],
    )


def _price_number(raw: dict, key: str, where: str) -> float | None:
    """A TOML value into a finite non-negative float or None, e.g. ``2`` -> ``2.0``."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PricingError(f"{where}: {key!r} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise PricingError(f"{where}: {key!r} must be a finite number >= 0, got {value!r}")
    return float(value)


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
        parse_price_entry(raw, where=f"price file {source}, entry {number}")
        for number, raw in enumerate(entries, start=1)
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
        genai_token_rates,
        genai_unit_rate,
    ):
        cached.cache_clear()


def price_source_version() -> str:
    """The price data's provenance into a label, e.g. ``"genai-prices 0.2.3"``."""
    return f"genai-prices {genai_prices.__version__}"


# --------------------------------------------------------------------------------------------
# Rates for one key


def table_rates(entry: Price) -> Rates:
    """A price entry into USD per token/unit, e.g. ``input_per_mtok=2.5`` -> ``input=2.5e-06``."""
    if entry.unit != "tokens":
        return Rates(unit=entry.per_unit / entry.per)
    per_token = [
        math.nan if value is None else value / TOKENS_PER_PRICE
        for value in (entry.input_per_mtok, entry.cached_input_per_mtok, entry.output_per_mtok)
    ]
    cached = per_token[0] if entry.cached_input_per_mtok is None else per_token[1]
    return Rates(input=per_token[0], cached=cached, output=per_token[2])


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


def price_period(model: str, day: date) -> date:
    """A model and UTC day into a day with the same genai-prices price, e.g. o3 2025-7 -> 2025-6-10.

    Rows whose days map to the same period share one genai-prices lookup.
    """
    bounds = price_boundaries(model)
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


@cache
def genai_token_rates(model: str, day: date, tier: str = "") -> Rates:
    """A model, day and service tier into genai-prices' USD per token, e.g. gpt-4o -> 2.5e-06, ....

    Probes with one token each, so tiered prices (per request size) give their base tier.
    """
    if _genai_model(model) is None:
        return Rates()
    return Rates(
        input=_probe(model, day, tier, input_tokens=1),
        cached=_probe(model, day, tier, input_tokens=1, cache_read_tokens=1),
        output=_probe(model, day, tier, output_tokens=1),
    )


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


def key_rates(key: RateKey, day: date, overrides: PriceTable, local: PriceTable) -> Rates:
    """A row key and its price day into rates: overrides, else genai-prices, else local table."""
    lookup = (key.model, key.operation, key.image_size)
    entry = overrides.lookup(*lookup, "tokens")
    tokens = table_rates(entry) if entry else genai_token_rates(key.model, day, key.service_tier)
    if entry is None and all(math.isnan(rate) for rate in tokens):
        local_entry = local.lookup(*lookup, "tokens")
        tokens = table_rates(local_entry) if local_entry else tokens
    unit_rate = math.nan
    if key.unit not in ("", "tokens"):
        entry = overrides.lookup(*lookup, key.unit)
        usage_key = _genai_usage_key(key.unit, key.operation)
        if entry:
            unit_rate = table_rates(entry).unit
        elif usage_key:
            unit_rate = genai_unit_rate(key.model, day, key.service_tier, usage_key)
        if entry is None and math.isnan(unit_rate):
            local_entry = local.lookup(*lookup, key.unit)
            unit_rate = table_rates(local_entry).unit if local_entry else math.nan
    return tokens._replace(unit=unit_rate)


# --------------------------------------------------------------------------------------------
# The frame


#: Columns whose values decide a row's price (with ``date``); absent extras count as empty.
_KEY_COLUMNS = ("model", "operation", "image_size", "unit", "service_tier")


def row_key(values: dict[str, Any]) -> RateKey:
    """Raw key cells into a clean key, e.g. ``{"unit": " Images ", "model": NA}`` -> "images"."""
    clean = {
        name: "" if values.get(name) is None or pd.isna(values[name]) else str(values[name]).strip()
        for name in _KEY_COLUMNS
    }
    return RateKey(
        **{name: text if name == "model" else text.lower() for name, text in clean.items()}
    )


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


def _row_rates(
    frame: pd.DataFrame, overrides: PriceTable, local: PriceTable
) -> tuple[np.ndarray, np.ndarray]:
    """The usage table into (n_rows x 4 ``Rates``, has-a-unit mask), one lookup per distinct key."""
    present = [name for name in (*_KEY_COLUMNS, "date") if name in frame.columns]
    codes, first = distinct_keys([frame[name] for name in present], len(frame))
    firsts = frame[present].take(first).to_dict("records")
    today = datetime.now(tz=UTC).date()
    table = np.empty((len(first), 4))
    has_unit = np.empty(len(first), dtype=bool)
    memo: dict[tuple[RateKey, date], Rates] = {}
    for position, values in enumerate(firsts):
        key = row_key(values)
        stamp = values.get("date")
        day = today if stamp is None or pd.isna(stamp) else pd.Timestamp(stamp).date()
        period = price_period(key.model, day) if key.model else date(2020, 1, 1)
        if (key, period) not in memo:
            memo[(key, period)] = key_rates(key, period, overrides, local)
        table[position] = memo[(key, period)]
        has_unit[position] = key.unit not in ("", "tokens")
    return table[codes], has_unit[codes]


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
    }
)


def price_rows(
    frame: pd.DataFrame, overrides: PriceTable, local: PriceTable
) -> tuple[np.ndarray, np.ndarray]:
    """The usage table into (USD per row, unpriced mask), e.g. 1M gpt-4o input -> 2.5, False."""
    rates, has_unit = _row_rates(frame, overrides, local)
    input_tokens = _counts(frame, "input_tokens")
    cached = _counts(frame, "cached_input_tokens")
    counts = np.column_stack(
        [
            np.maximum(input_tokens - cached, 0.0),
            cached,
            _counts(frame, "output_tokens"),
            np.where(has_unit, _counts(frame, "units"), 0.0),
        ]
    )
    used = counts > 0
    missing = (used & np.isnan(rates)).any(axis=1)
    # Usage this app cannot measure is never a priced $0: requests with no tokens or units, or a
    # kind of usage it does not know (legacy ft_data, assistant_code_interpreter_data, ...).
    requests = _counts(frame, "n_requests")
    missing |= (requests > 0) & ~used.any(axis=1)
    if "operation" in frame.columns:
        operation = frame["operation"].astype("string")
        missing |= (~operation.isin(PRICEABLE_OPERATIONS) & operation.notna()).to_numpy(dtype=bool)
    parts = np.where(used, counts * np.nan_to_num(rates), 0.0)
    cost = (parts[:, :3].sum(axis=1) * _batch_factor(frame)) + parts[:, 3]
    return cost, missing


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
    """The usage table into the same table with ``cost_usd``/``cost_basis`` on every unbilled row.

    E.g. a gpt-4o row with 1M input tokens (400k cached) -> ``cost_usd`` 2.0, ``"estimated"``;
    an unknown model -> NA, ``"unpriced"``; ``"billed"`` rows pass through untouched.
    Returns a new frame.

    :param frame: usage table (``spend.schema.COLUMNS``, extras such as ``batch``, ``image_size``,
        ``service_tier`` used when present)
    :param overrides: the user's prices, which win over every other source
    :param errors: ``"coerce"``: rows without a price become ``"unpriced"``; ``"raise"``: raise
        ``PricingError`` naming them
    """
    if errors not in ERROR_POLICIES:
        raise ValueError(f"errors must be one of {ERROR_POLICIES}, got {errors!r}")
    out = frame.copy()
    billed = (out["cost_basis"].astype("string") == "billed").fillna(False).to_numpy(dtype=bool)
    cost, missing = price_rows(out, overrides or PriceTable(), local_prices())
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
