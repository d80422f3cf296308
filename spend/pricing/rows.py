"""Pricing rows: the usage table into ``cost_usd``, ``cost_basis`` and ``cost_lower_bound``, and
the tables that explain them (unpriced usage, lower bounds, the rate card).

One lookup per distinct key and price period (``spend.pricing.keys``), then numpy over the rows.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from spend.errors import PricingError
from spend.pricing.context import long_context_extra
from spend.pricing.files import PriceTable, local_prices
from spend.pricing.genai import PROVIDER_ID, price_period
from spend.pricing.keys import KEY_COLUMNS, key_price, row_key
from spend.pricing.rates import COMPONENT_LABELS, UNIT_INDEX, KeyPrice, ModalRates, RateKey
from spend.schema import SPLIT_COLUMNS

#: OpenAI's Batch API charges 50% less for input and output tokens (openai.com/api/pricing).
BATCH_DISCOUNT = 0.5
#: ``errors=`` values of ``attach_prices``.
ERROR_POLICIES = ("coerce", "raise")
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
    "cache_write_1h_tokens": "cache_write_1h",
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
    present = [name for name in (*KEY_COLUMNS, "date") if name in frame.columns]
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
        period = price_period(key.model, day, dates, key.provider or PROVIDER_ID)
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
    """The usage table into n_rows x 12 counts in ``ModalRates`` order (units where a row has a
    unit), e.g. 1M input (400k cached), no split -> text input 600k, cached text 400k.

    With a split, text is what the totals leave after the other parts (never below 0).
    """
    n = len(frame)
    split = split_present(frame)
    parts = {name: _counts(frame, column) for column, name in SPLIT_PARTS.items()}
    # cache_write_tokens counts every cache write; the 1-hour ones are priced at their own rate
    parts["cache_write"] = np.maximum(parts["cache_write"] - parts["cache_write_1h"], 0.0)
    total_in = _counts(frame, "input_tokens")
    cached = _counts(frame, "cached_input_tokens")
    output = _counts(frame, "output_tokens")
    other_in = (
        parts["cache_write"] + parts["cache_write_1h"] + parts["audio_input"] + parts["image_input"]
    )
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
    """The usage table into every row's rates, n_rows x 12 in ``ModalRates`` order (USD per token
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
    long_table = np.array([p.long_rates for p in prices], dtype="float64").reshape(-1, width)
    long_rates = np.where(np.isnan(long_table[codes]), rates, long_table[codes])
    extra, long_floor = long_context_extra(
        frame,
        counts,
        requests,
        _counts(frame, "input_tokens"),
        rates,
        long_rates,
        np.array([p.threshold for p in prices], dtype="float64")[codes],
        np.array([p.max_input for p in prices], dtype="float64")[codes],
    )
    tokens = np.delete(parts, UNIT_INDEX, axis=1).sum(axis=1) + extra
    free = np.array([p.free_per_day for p in prices], dtype="float64")[codes]
    units = parts[:, UNIT_INDEX] * _billable_share(
        frame, counts[:, UNIT_INDEX], free, codes, prices
    )
    cost = tokens * _batch_factor(frame) + units
    key_lower = np.array([p.lower_bound for p in prices], dtype=bool)[codes]
    key_modal = np.array([p.modal for p in prices], dtype=bool)[codes]
    unsplit = ~split_present(frame) & (np.delete(counts, UNIT_INDEX, axis=1) > 0).any(axis=1)
    realtime = operation.eq("realtime").to_numpy(dtype=bool, na_value=False)
    lower = ~missing & (key_lower | long_floor | (unsplit & (key_modal | realtime)))
    return cost, missing, lower


def _billable_share(
    frame: pd.DataFrame,
    units: np.ndarray,
    free: np.ndarray,
    codes: np.ndarray,
    prices: list[KeyPrice],
) -> np.ndarray:
    """Each row's share of its units that is billed after a free allowance, e.g. 3 GB of vector
    storage on one day, 1 GB free -> 2/3 on each of that day's rows.

    The allowance (``free_per_day``: vector storage's first GB) is the organization's, per day:
    the usage table is one organization's, so the rows priced by the same entry on the same day
    share it, in proportion to their units. 1 if there is no allowance.
    """
    share = np.ones(len(frame))
    mine = (free > 0) & (units > 0)
    if not mine.any():
        return share
    entry = pd.factorize(np.array([p.sources[UNIT_INDEX] for p in prices], dtype=object)[codes])[0]
    day = (
        pd.to_datetime(frame["date"]).dt.normalize().to_numpy()
        if "date" in frame.columns
        else np.zeros(len(frame))
    )
    groups = pd.DataFrame({"entry": entry[mine], "day": day[mine], "units": units[mine]})
    total = groups.groupby(["entry", "day"], dropna=False)["units"].transform("sum").to_numpy()
    share[mine] = np.maximum(total - free[mine], 0.0) / total
    return share


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
            for i, component, rate, source in _card_rates(price, mine, key.unit):
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
                        "component": component,
                        "usd": None if math.isnan(rate) else rate * (1 if unit else 1e6),
                        "per": key.unit if unit else "1M tokens",
                        "source": source,
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


def _card_rates(price: KeyPrice, used: np.ndarray, unit: str):
    """A key's price and the components its rows use into (index, component, rate, source) for
    the rate card: each used rate, then each long-context rate that differs from it."""
    for i, name in enumerate(ModalRates._fields):
        if used[i]:
            label = unit if i == UNIT_INDEX else COMPONENT_LABELS[name]
            yield i, label, price.rates[i], price.sources[i]
    if math.isinf(price.threshold):
        return
    for i, name in enumerate(ModalRates._fields):
        if used[i] and i != UNIT_INDEX and price.long_rates[i] != price.rates[i]:
            label = f"{COMPONENT_LABELS[name]} above {price.threshold:,.0f} input tokens"
            yield i, label, price.long_rates[i], price.long_sources[i]
