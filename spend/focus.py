"""The usage table into FOCUS 1.3, the FinOps Foundation's open cost format, for the finance team.

One FOCUS row for each day x provider x project x key x user x model x charge, where a charge is one
priced part of a row (``spend.pricing.ModalRates``: uncached text input, cached text input, text
output, audio input, ..., units such as images or searches) at its tier (batch, flex, priority, long
context), so cached tokens are counted on their own row only (the spec's rule for token cache
reads). The columns, in file order, with the FOCUS data type of each (``FOCUS_COLUMNS``):

- ``BillingAccountId``/``BillingAccountName``: the organization (``accounts``, else the provider:
  "openai", "OpenAI organization"); ``SubAccountId``/``SubAccountName``: the project or workspace;
- ``BillingPeriodStart``/``End``: the calendar month; ``ChargePeriodStart``/``End``: the day
  (Date/Time, inclusive start and exclusive end), in UTC as FOCUS asks: a day of the team's zone
  (``SPEND_TIMEZONE``) is the UTC instants of its local midnights, e.g. 2026-11-02 in Los Angeles
  -> ``2026-11-02T08:00:00Z`` to ``2026-11-03T08:00:00Z`` (23 or 25 hours on daylight-saving
  days);
- ``ChargeCategory`` "Usage"; ``ChargeClass`` null (no row corrects a closed billing period);
  ``ChargeDescription``, e.g. "gpt-4o-2024-08-06 cached text input tokens (batch)";
- ``BilledCost``: the billed money allocated to the row (``spend.allocate``), 0 where only an
  estimate exists; ``EffectiveCost``: the billed money, or the estimate where nothing is billed
  yet (``x_CostBasis`` says which); ``ListCost``: the estimate at list prices (0 where no price is
  known, and ``x_CostBasis`` then says "unpriced"); ``BillingCurrency`` "USD";
- ``ConsumedQuantity``/``ConsumedUnit``: tokens ("Tokens"), images, characters, seconds, calls...;
  ``PricingCategory`` "Standard" (list or batch rates, both predetermined);
- ``ServiceProviderName`` ("OpenAI", "Anthropic"), ``ServiceName`` ("OpenAI API"),
  ``ServiceCategory`` "AI and Machine Learning";
- ``SkuId``: the model (or the kind of usage without one, e.g. "vector_storage"); ``SkuPriceId``:
  model/charge/tier, e.g. "gpt-4o-2024-08-06/cached/batch"; ``RegionId``: null (no source reports
  where a request ran);
- ``Tags``: JSON, e.g. ``{"team": "Research", "user": "ann@acme.example", "key": "ci-bot"}`` (keys
  without a value left out; null when none);
- custom columns (``x_`` as FOCUS asks): ``x_CostBasis`` (billed, estimated or unpriced),
  ``x_ApiKeyId``, ``x_UserId``.

Billed money that covers no usage (``spend.allocate``'s unattributed rows) is one row each with
no SKU, no quantity and its line item in ``ChargeDescription``; a usage row with neither usage nor
money (a request without tokens) gives no row. Money sums are exact: BilledCost
adds up to the allocated ``billed_usd`` (and so to the provider's cost report) to 10^-8 USD,
ListCost to the table's ``cost_usd``.

    table = focus_table(to_focus(frame))     # pyarrow, typed per FOCUS_COLUMNS
    focus_csv(table), focus_parquet(table)
"""

from __future__ import annotations

import io
import json
from collections.abc import Collection, Mapping
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import csv

from spend.allocate import UNATTRIBUTED_OPERATION, UNITS_PER_USD
from spend.config import Settings
from spend.export import safe_for_spreadsheet
from spend.localdays import day_bounds, is_utc
from spend.pricing import (
    BATCH_DISCOUNT,
    COMPONENT_LABELS,
    UNIT_INDEX,
    ModalRates,
    PriceTable,
    component_counts,
    rates_per_row,
)
from spend.sources import utc_day_sources

FOCUS_VERSION = "1.3"
#: Decimal columns: 38 digits, 10 after the point (exact for money split in 10^-8 USD).
DECIMAL = pa.decimal128(38, 10)
DATETIME = pa.timestamp("ms", tz="UTC")  # Parquet keeps ms (it has no seconds unit)
STRING = pa.string()
#: FOCUS column -> Arrow type, in file order (module docstring).
FOCUS_COLUMNS: dict[str, pa.DataType] = {
    "BillingAccountId": STRING,
    "BillingAccountName": STRING,
    "SubAccountId": STRING,
    "SubAccountName": STRING,
    "BillingPeriodStart": DATETIME,
    "BillingPeriodEnd": DATETIME,
    "ChargePeriodStart": DATETIME,
    "ChargePeriodEnd": DATETIME,
    "ChargeCategory": STRING,
    "ChargeClass": STRING,
    "ChargeDescription": STRING,
    "BilledCost": DECIMAL,
    "EffectiveCost": DECIMAL,
    "ListCost": DECIMAL,
    "BillingCurrency": STRING,
    "ConsumedQuantity": DECIMAL,
    "ConsumedUnit": STRING,
    "PricingCategory": STRING,
    "ServiceProviderName": STRING,
    "ServiceName": STRING,
    "ServiceCategory": STRING,
    "SkuId": STRING,
    "SkuPriceId": STRING,
    "RegionId": STRING,
    "Tags": STRING,  # FOCUS "JSON": a JSON object serialized as a string
    "x_CostBasis": STRING,
    "x_ApiKeyId": STRING,
    "x_UserId": STRING,
}
MONEY = ("BilledCost", "EffectiveCost", "ListCost")
SERVICE_CATEGORY = "AI and Machine Learning"
#: provider column -> the name FOCUS shows
PROVIDER_NAMES = {"openai": "OpenAI", "anthropic": "Anthropic"}
_FIELDS = ModalRates._fields
#: ModalRates field -> the short name in SkuPriceId
_CHARGE_IDS = {
    "input": "input",
    "cached": "cached",
    "output": "output",
    "unit": "unit",
    "audio_input": "audio-input",
    "audio_cached": "audio-cached",
    "audio_output": "audio-output",
    "image_input": "image-input",
    "image_cached": "image-cached",
    "image_output": "image-output",
    "cache_write": "cache-write",
    "cache_write_1h": "cache-write-1h",
}
#: usage table columns whose value is a price tier (part of SkuPriceId), in order
_TIERS = ("service_tier", "context_window", "context_level", "image_size")


def provider_name(provider: object) -> str:
    """A ``provider`` cell into the name FOCUS shows, e.g. ``"openai" -> "OpenAI"``."""
    text = "" if provider is None or pd.isna(provider) else str(provider)
    return PROVIDER_NAMES.get(text, text.title() or "Unknown")


def _text(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    return frame[name].astype("string")


def _tags(frame: pd.DataFrame) -> list[str | None]:
    """Rows into their Tags, e.g. ``{"user": "ann@acme.example", "key": "ci-bot"}`` as JSON."""
    columns = {"team": "team", "user": "user_email", "key": "api_key_name"}
    values = {tag: _text(frame, name).astype(object).tolist() for tag, name in columns.items()}
    out: list[str | None] = []
    for i in range(len(frame)):
        tags = {
            tag: cells[i] for tag, cells in values.items() if cells[i] is not pd.NA and cells[i]
        }
        out.append(json.dumps(tags, ensure_ascii=False, sort_keys=True) if tags else None)
    return out


def _tiers(frame: pd.DataFrame) -> pd.Series:
    """Rows into their price tier, e.g. batch + "200k-1M" -> "batch/200k-1M"; "" for list price."""
    parts = pd.Series("", index=frame.index, dtype="string")
    if "batch" in frame.columns:
        parts = parts.mask(frame["batch"].astype("boolean").fillna(False), "/batch")
    for name in _TIERS:
        value = _text(frame, name).str.strip().str.lower()
        value = value.where(~value.isin(["", "default", "standard", "auto", "batch", "0-200k"]))
        parts = parts + ("/" + value).fillna("")
    return parts.str.lstrip("/")


def _split_money(units: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each row's integer money into its charges in proportion to weights, exactly: n x k, the
    floor of each share and the rest on the row's heaviest charge, e.g. 10 over [1, 2] -> [3, 7]."""
    total = weights.sum(axis=1, keepdims=True)
    safe = np.where(total > 0, total, 1.0)
    parts = np.floor(units[:, None] * (weights / safe)).astype(np.int64)
    parts[total[:, 0] == 0] = 0
    rest = units - parts.sum(axis=1)
    parts[np.arange(len(units)), weights.argmax(axis=1)] += rest
    return parts


def _midnights(days: pd.Series, zone: ZoneInfo) -> pd.Series:
    """Dates (naive midnights) into the UTC instants (naive) their local midnight in ``zone`` is,
    e.g. 2026-11-02 in America/Los_Angeles -> 2026-11-02 08:00."""
    starts = {d: day_bounds(d.date(), zone)[0].replace(tzinfo=None) for d in days.unique()}
    return days.map(starts).astype("datetime64[ns]")


def to_focus(
    frame: pd.DataFrame,
    *,
    accounts: Mapping[str, tuple[str, str]] | None = None,
    overrides: PriceTable | None = None,
    zone: ZoneInfo | None = None,
    utc_sources: Collection[str] = (),
) -> pd.DataFrame:
    """The usage table into FOCUS rows (``FOCUS_COLUMNS``; money in ``BilledCost`` etc. as float,
    typed exactly by ``focus_table``), e.g. one gpt-4o row with 1M input (400k cached) and 10k
    output -> three rows: input, cached and output tokens, each with its list cost.

    :param frame: the usage table (billed rows are left out: their money is on the usage rows'
        ``billed_usd``; without that column every BilledCost is 0)
    :param accounts: provider -> (BillingAccountId, BillingAccountName), e.g. the organization
    :param overrides: the user's prices (how a row's estimate is split over its charges)
    :param zone: the zone the table's dates are days of (None: UTC); periods are the UTC
        instants of their local midnights
    :param utc_sources: sources whose rows are UTC days whatever the zone (``Source.day_zone``,
        the legacy endpoint)
    """
    basis = frame["cost_basis"].astype("string").fillna("")
    usage = frame.loc[~basis.eq("billed").to_numpy(dtype=bool)].reset_index(drop=True)
    n = len(usage)
    if n == 0:
        return pd.DataFrame(
            {name: pd.Series(dtype=_pandas(t)) for name, t in FOCUS_COLUMNS.items()}
        )
    counts = component_counts(usage)
    rates = rates_per_row(usage, overrides=overrides)
    batch = (
        usage["batch"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if "batch" in usage.columns
        else np.zeros(n, dtype=bool)
    )
    listed = (
        np.nan_to_num(counts * rates, nan=0.0) * np.where(batch, 1 - BATCH_DISCOUNT, 1.0)[:, None]
    )
    cost = usage["cost_usd"].astype("Float64").fillna(0.0).to_numpy(dtype="float64")
    # the estimate over its charges: by their list cost, else by their counts
    weights = np.where(listed.sum(axis=1, keepdims=True) > 0, listed, counts)
    share = weights / np.where(
        weights.sum(axis=1, keepdims=True) > 0, weights.sum(axis=1)[:, None], 1
    )
    list_cost = cost[:, None] * share
    if "billed_usd" in usage.columns:
        billed_usd = usage["billed_usd"].astype("Float64")
        has_billed = billed_usd.notna().to_numpy(dtype=bool)
        billed_units = np.rint(billed_usd.fillna(0.0).to_numpy(dtype="float64") * UNITS_PER_USD)
    else:
        has_billed = np.zeros(n, dtype=bool)
        billed_units = np.zeros(n)
    carrier = weights.copy()
    carrier[carrier.sum(axis=1) == 0, 0] = 1.0  # billed money on a row with no usage (unattributed)
    billed = _split_money(billed_units.astype(np.int64), carrier)

    unattributed = _text(usage, "operation").eq(UNATTRIBUTED_OPERATION).fillna(False).to_numpy(bool)
    used = (counts > 0) | (billed != 0)
    used[unattributed] = False
    used[unattributed, 0] = True  # one row each, without a charge
    rows, charges = np.nonzero(used)

    day = pd.to_datetime(usage["date"]).dt.tz_localize(None).dt.normalize()
    month = day.dt.to_period("M").dt.start_time
    charge_start, charge_end = day, day + pd.Timedelta(days=1)
    month_end = month + pd.offsets.MonthBegin(1)
    if zone is not None and not is_utc(zone):
        local = ~_text(usage, "source").isin(list(utc_sources)).fillna(False).to_numpy(bool)
        charge_start = charge_start.where(~local, _midnights(day, zone))
        charge_end = charge_end.where(~local, _midnights(charge_end, zone))
        month_end = month_end.where(~local, _midnights(month_end, zone))
        month = month.where(~local, _midnights(month, zone))
    provider = _text(usage, "provider").fillna("openai")  # a table without one is OpenAI's
    names = provider.map({p: provider_name(p) for p in provider.unique()})
    account = {
        p: (accounts or {}).get(p, (p or "unknown", f"{provider_name(p)} organization"))
        for p in provider.unique()
    }
    model = _text(usage, "model")
    sku = model.fillna(_text(usage, "operation"))
    tiers = _tiers(usage)
    unit = _text(usage, "unit").fillna("units").str.strip().str.capitalize()
    row_basis = pd.Series(
        np.where(has_billed, "billed", _text(usage, "cost_basis").fillna("unpriced")),
        dtype="string",
    )
    tags = pd.Series(_tags(usage), dtype="string")
    lost = unattributed[rows]

    charge = np.array(_FIELDS, dtype=object)[charges]
    is_unit = charges == UNIT_INDEX
    label = np.array([COMPONENT_LABELS[c] for c in _FIELDS], dtype=object)[charges]
    sku_r = sku.iloc[rows].reset_index(drop=True)
    tier_r = tiers.iloc[rows].reset_index(drop=True)
    unit_r = unit.iloc[rows].reset_index(drop=True)
    what = pd.Series(np.where(is_unit, unit_r.str.lower(), label + " tokens"), dtype="string")
    description = (
        sku_r.fillna("usage")
        + " "
        + what
        + ("(" + tier_r.replace("", pd.NA) + ")").radd(" ").fillna("")
    )
    line = _text(usage, "line_item").iloc[rows].reset_index(drop=True)
    description = description.mask(
        lost, "Billed, not matched to usage: " + line.fillna("(no line item)")
    )
    price_id = (
        sku_r
        + "/"
        + pd.Series([_CHARGE_IDS[c] for c in charge], dtype="string")
        + ("/" + tier_r.replace("", pd.NA)).fillna("")
    )
    price_id = price_id.mask(lost)
    quantity = counts[rows, charges]
    billed_r = billed[rows, charges]
    list_r = list_cost[rows, charges]
    basis_r = row_basis.iloc[rows].reset_index(drop=True)
    focus = pd.DataFrame(
        {
            "BillingAccountId": provider.iloc[rows]
            .map({p: a[0] for p, a in account.items()})
            .to_numpy(),
            "BillingAccountName": provider.iloc[rows]
            .map({p: a[1] for p, a in account.items()})
            .to_numpy(),
            "SubAccountId": _text(usage, "project_id").iloc[rows].to_numpy(),
            "SubAccountName": _text(usage, "project_name").iloc[rows].to_numpy(),
            "BillingPeriodStart": month.iloc[rows].to_numpy(),
            "BillingPeriodEnd": month_end.iloc[rows].to_numpy(),
            "ChargePeriodStart": charge_start.iloc[rows].to_numpy(),
            "ChargePeriodEnd": charge_end.iloc[rows].to_numpy(),
            "ChargeCategory": "Usage",
            "ChargeClass": pd.NA,
            "ChargeDescription": description.to_numpy(),
            "x_billed_units": billed_r,
            "ListCost": list_r,
            "BillingCurrency": "USD",
            "ConsumedQuantity": np.where(lost, np.nan, quantity),
            "ConsumedUnit": np.where(
                lost, None, np.where(is_unit, unit_r.to_numpy(dtype=object), "Tokens")
            ),
            "PricingCategory": np.where(lost, None, "Standard"),
            "ServiceProviderName": names.iloc[rows].to_numpy(),
            "ServiceName": (names + " API").iloc[rows].to_numpy(),
            "ServiceCategory": SERVICE_CATEGORY,
            "SkuId": sku_r.mask(lost).to_numpy(),
            "SkuPriceId": price_id.to_numpy(),
            "RegionId": pd.NA,
            "Tags": tags.iloc[rows].to_numpy(),
            "x_CostBasis": basis_r.to_numpy(),
            "x_ApiKeyId": _text(usage, "api_key_id").iloc[rows].to_numpy(),
            "x_UserId": _text(usage, "user_id").iloc[rows].to_numpy(),
        }
    )
    keys = [c for c in FOCUS_COLUMNS if c not in (*MONEY, "ConsumedQuantity")]
    focus = focus.astype({c: "string" for c in keys if FOCUS_COLUMNS[c] == STRING})
    summed = focus.groupby(keys, dropna=False, sort=False, observed=True).agg(
        x_billed_units=("x_billed_units", "sum"),
        ListCost=("ListCost", "sum"),
        ConsumedQuantity=("ConsumedQuantity", "sum"),
    )
    out = summed.reset_index()
    out["ConsumedQuantity"] = out["ConsumedQuantity"].where(out["SkuPriceId"].notna())
    out["BilledCost"] = out.pop("x_billed_units") / UNITS_PER_USD
    out["EffectiveCost"] = out["BilledCost"].where(out["x_CostBasis"].eq("billed"), out["ListCost"])
    return out[list(FOCUS_COLUMNS)]


def _pandas(arrow_type: pa.DataType) -> str:
    if arrow_type == STRING:
        return "string"
    if arrow_type == DATETIME:
        return "datetime64[ns]"
    return "float64"


def focus_table(focus: pd.DataFrame) -> pa.Table:
    """FOCUS rows into an Arrow table typed per ``FOCUS_COLUMNS`` (decimals exact to 10^-10,
    datetimes UTC), e.g. for ``focus_parquet``."""
    arrays = []
    for name, kind in FOCUS_COLUMNS.items():
        column = focus[name]
        if kind == DECIMAL:
            values = pa.array(column.to_numpy(dtype="float64", na_value=np.nan), from_pandas=True)
            arrays.append(values.cast(kind, safe=False))
        elif kind == DATETIME:
            stamps = pd.to_datetime(column).dt.tz_localize("UTC")
            arrays.append(pa.array(stamps, type=kind))
        else:
            arrays.append(pa.array(column.astype(object).where(column.notna(), None), type=kind))
    return pa.Table.from_arrays(arrays, names=list(FOCUS_COLUMNS))


def focus_of(frame: pd.DataFrame, settings: Settings | None) -> pa.Table:
    """The usage table into its typed FOCUS table, e.g. a Los Angeles Nov 2 row -> periods
    from 2026-11-02T08:00Z: the days of ``settings``' zone, a source that keeps UTC days (the
    legacy endpoint) as UTC days. What ``python -m spend export --format focus`` and the Raw data
    page hand over; no settings: UTC days."""
    if settings is None:
        return focus_table(to_focus(frame))
    zone, utc = settings.zone, utc_day_sources(settings)
    return focus_table(to_focus(frame, zone=zone, utc_sources=utc))


def focus_parquet(table: pa.Table) -> bytes:
    """A FOCUS table into Parquet bytes, its FOCUS version in the file's metadata."""
    table = table.replace_schema_metadata({"FocusVersion": FOCUS_VERSION})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def focus_csv(table: pa.Table) -> str:
    """A FOCUS table into CSV text: datetimes as ``2026-11-02T00:00:00Z``, decimals as plain
    numbers, empty cells for nulls, formula-like text cells escaped (``spend.export``)."""
    frame = table.to_pandas()
    for name, kind in FOCUS_COLUMNS.items():
        if kind == DATETIME:
            frame[name] = frame[name].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif kind == STRING:
            frame[name] = frame[name].astype("string")
    text = safe_for_spreadsheet(frame[[n for n, k in FOCUS_COLUMNS.items() if k != DECIMAL]])
    out = pa.Table.from_pandas(text, preserve_index=False)
    for i, (name, kind) in enumerate(FOCUS_COLUMNS.items()):
        if kind == DECIMAL:
            out = out.add_column(i, name, table[name])
    buffer = io.BytesIO()
    csv.write_csv(out, buffer, write_options=csv.WriteOptions(quoting_style="needed"))
    return buffer.getvalue().decode("utf-8")
