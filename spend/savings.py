"""Money saved by cached input and by the Batch API, against list price without them.

For a priced usage row with ``input`` tokens (``cached`` of them cached), ``output`` tokens, the
model's list rates ``in``, ``cached_in`` and ``out`` (USD per token, from ``spend.pricing``: the
price file's overrides, else genai-prices, else the local table), and ``D`` the batch discount::

    list price    = input x in + output x out                        (no cache, no batch)
    paid          = ((input - cached) x in + cached x cached_in + output x out) x (1 - D if batch)
    cached saving = cached x (in - cached_in)                        (at list price)
    batch saving  = D x ((input - cached) x in + cached x cached_in + output x out)  (batch rows)

so ``cached saving + batch saving = list price - paid``: the cache is credited first, the batch
discount with what is left. Rows without a price (``"unpriced"``) claim no savings and are
counted instead; billed rows (Costs API) carry no tokens and are left out. Sources that cannot tell
batch usage apart (legacy, demo) report ``batch_reported=False``: their batch saving is unknown,
not zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spend import pricing

BY_MODEL_COLUMNS = (
    "model",
    "input_tokens",
    "cached_input_tokens",
    "cached_share",
    "cached_input_usd",
    "batch_usd",
    "saved_usd",
    "unpriced_rows",
)


@dataclass(frozen=True)
class Savings:
    """What caching and batching saved over a table; USD, shares as fractions 0..1."""

    cached_input_usd: float
    batch_usd: float
    total_usd: float
    input_tokens: int
    cached_input_tokens: int
    cached_share: float  # cached / all input tokens, unpriced rows included (tokens need no price)
    unpriced_rows: int  # usage rows without a price: no saving claimed for them
    unpriced_cached_tokens: int  # cached tokens in those rows
    batch_reported: bool  # the source says which usage was batch (admin); else batch is unknown
    by_model: pd.DataFrame  # BY_MODEL_COLUMNS, largest saving first


def row_rates(frame: pd.DataFrame, overrides: pricing.PriceTable | None = None) -> np.ndarray:
    """The usage table into list rates per row, in ``pricing.ModalRates`` order (USD per token or
    unit; NaN where no price is known), e.g. a gpt-4o-2024-08-06 row -> ``[2.5e-06, 1.25e-06,
    1e-05, nan, ...]``. The very lookups that priced the table (``pricing.rates_per_row``): dated
    local corrections, tiers, and audio and image rates included."""
    return pricing.rates_per_row(frame, overrides=overrides)


def _counts(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A count column into float64 with NA and negatives as 0, e.g. ``[5, <NA>, -1]`` -> 5, 0, 0."""
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64", na_value=0.0)
    return np.where(np.isfinite(values) & (values > 0), values, 0.0)


def _batch(frame: pd.DataFrame) -> np.ndarray:
    """The ``batch`` column into a bool per row (absent or NA: not batch)."""
    if "batch" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame["batch"].astype("boolean").fillna(False).to_numpy(dtype=bool)


def row_savings(frame: pd.DataFrame, overrides: pricing.PriceTable | None = None) -> pd.DataFrame:
    """Priced usage rows into (cached_input_usd, batch_usd) per row, same index.

    E.g. gpt-4o-2024-08-06 with 1M input (400k cached) and 100k output, not batch ->
    cached 400k x ($2.50 - $1.25) / 1M = 0.50, batch 0.0. Cached text, audio and image tokens each
    save their own input rate minus their cached rate. Rows that are not ``"estimated"`` save 0.
    """
    fields = pricing.ModalRates._fields
    rates = np.nan_to_num(row_rates(frame, overrides))
    counts = pricing.component_counts(frame)
    cached_parts = [fields.index(name) for name in ("cached", "audio_cached", "image_cached")]
    cached_total = counts[:, cached_parts].sum(axis=1)
    input_total = _counts(frame, "input_tokens")
    over = cached_total > input_total  # a malformed row: never claim more cached than input
    scale = np.divide(input_total, cached_total, out=np.ones(len(frame)), where=over)
    counts[:, cached_parts] *= scale[:, None]
    priced = (
        frame["cost_basis"].astype("string").eq("estimated").to_numpy(dtype=bool, na_value=False)
    )
    at_cache_price = (counts * rates).sum(axis=1)
    cached_saving = np.zeros(len(frame))
    for full, cached in (
        ("input", "cached"),
        ("audio_input", "audio_cached"),
        ("image_input", "image_cached"),
    ):
        gap = np.maximum(rates[:, fields.index(full)] - rates[:, fields.index(cached)], 0.0)
        cached_saving += counts[:, fields.index(cached)] * gap
    cached_saving = np.where(priced, cached_saving, 0.0)
    batch_saving = np.where(priced & _batch(frame), pricing.BATCH_DISCOUNT * at_cache_price, 0.0)
    return pd.DataFrame(
        {"cached_input_usd": cached_saving, "batch_usd": batch_saving}, index=frame.index
    )


def savings(frame: pd.DataFrame, *, overrides: pricing.PriceTable | None = None) -> Savings:
    """The usage table into what caching and batching saved, in total and per model.

    E.g. one gpt-4o-2024-08-06 batch row with 1M input (400k cached) and 100k output ->
    cached $0.50, batch 0.5 x (600k x $2.50 + 400k x $1.25 + 100k x $10) / 1M = $1.50.

    :param frame: the priced usage table (any range: filter it first)
    :param overrides: the user's price file, as used to price the table
    """
    basis = frame["cost_basis"].astype("string")
    usage = frame.loc[basis.isin(["estimated", "unpriced"]).to_numpy(dtype=bool, na_value=False)]
    per_row = row_savings(usage, overrides)
    unpriced = usage["cost_basis"].astype("string").eq("unpriced").to_numpy(dtype=bool)
    parts = pd.DataFrame(
        {
            "model": usage["model"].astype("string").fillna("(unknown)").to_numpy(),
            "input_tokens": _counts(usage, "input_tokens"),
            "cached_input_tokens": _counts(usage, "cached_input_tokens"),
            "cached_input_usd": per_row["cached_input_usd"].to_numpy(),
            "batch_usd": per_row["batch_usd"].to_numpy(),
            "unpriced_rows": unpriced.astype("int64"),
        }
    )
    by_model = parts.groupby("model", sort=True).sum().reset_index()
    by_model["saved_usd"] = by_model["cached_input_usd"] + by_model["batch_usd"]
    by_model["cached_share"] = (
        by_model["cached_input_tokens"]
        / by_model["input_tokens"].where(by_model["input_tokens"] > 0)
    ).fillna(0.0)
    for name in ("input_tokens", "cached_input_tokens", "unpriced_rows"):
        by_model[name] = by_model[name].astype("int64")
    by_model = by_model.sort_values(
        ["saved_usd", "cached_input_tokens", "model"], ascending=[False, False, True], kind="stable"
    )[list(BY_MODEL_COLUMNS)].reset_index(drop=True)
    input_total = int(parts["input_tokens"].sum())
    cached_total = int(parts["cached_input_tokens"].sum())
    cached_usd = float(parts["cached_input_usd"].sum())
    batch_usd = float(parts["batch_usd"].sum())
    return Savings(
        cached_input_usd=cached_usd,
        batch_usd=batch_usd,
        total_usd=cached_usd + batch_usd,
        input_tokens=input_total,
        cached_input_tokens=cached_total,
        cached_share=cached_total / input_total if input_total else 0.0,
        unpriced_rows=int(unpriced.sum()),
        unpriced_cached_tokens=int(parts.loc[unpriced, "cached_input_tokens"].sum()),
        batch_reported="batch" in usage.columns and bool(usage["batch"].notna().any()),
        by_model=by_model,
    )
