"""Spikes: days when one user, model, project, key or provider spent far more than usual, and
newcomers.

A complete day is a **spike** for an id (a user, model, project or API key; a provider when the
table holds several, e.g. Anthropic beside OpenAI) when both hold:

- **far above its own history**: the robust z-score of the day's money against the id's previous
  ``WINDOW_DAYS`` days (only days since its first usage, at least ``MIN_PRIOR_DAYS`` of them) is
  at least ``Z_THRESHOLD``. The score is Iglewicz and Hoaglin's modified z-score,
  ``0.6745 x (x - median) / MAD``; when the MAD is 0 (mostly idle ids) it falls back to the mean
  absolute deviation, ``(x - median) / (1.2533 x MeanAD)``;
- **large in money**: above a floor, by default ``FLOOR_SHARE`` (10 %) of the organization's
  typical day (the median daily total over the same previous days).

A **newcomer** is a key or model whose first usage in the table falls in the checked days, once
the table has ``MIN_PRIOR_DAYS`` of history before it (otherwise everything would be new on the
first day). Newcomers are reported separately and never as spikes.

Money is the estimated money of usage rows (the Costs API has no per-user or per-model money,
and its rows lag); usage rows without a price count as $0 here, so a day of only unpriced usage
cannot be a spike, but a key or model using only unpriced models is still a newcomer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import numpy as np
import pandas as pd

from spend.analysis import filter_usage
from spend.formatting import provider_name

#: Dimension -> (id column, name columns in order of preference).
DIMENSIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "user": ("user_id", ("user_name", "user_email")),
    "model": ("model", ()),
    "project": ("project_id", ("project_name",)),
    "api_key": ("api_key_id", ("api_key_name",)),
    "provider": ("provider", ()),
}
#: Dimensions whose newcomers are flagged (a new key may be a leak; a new model a new price).
NEWCOMER_DIMENSIONS = ("api_key", "model")
Z_THRESHOLD = 3.5
WINDOW_DAYS = 28
MIN_PRIOR_DAYS = 7
FLOOR_SHARE = 0.10
#: The modified z-score's constants (0.6745 = the normal's MAD / sd; 1.2533 = sd / MeanAD).
MAD_SCALE = 0.6745
MEANAD_SCALE = 1.253314

RESULT_COLUMNS = {
    "date": "datetime64[ns]",
    "kind": "string",  # spike | newcomer
    "dimension": "string",
    "id": "string",
    "name": "string",
    "cost_usd": "float64",
    "typical_usd": "float64",  # the id's median day before (0 for a newcomer)
    "z": "float64",  # NaN for a newcomer
    "floor_usd": "float64",  # NaN for a newcomer
}


def _empty() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in RESULT_COLUMNS.items()})


def _usage(frame: pd.DataFrame) -> pd.DataFrame:
    """The usage table into its usage rows with money as float (NA as 0); billed rows dropped."""
    basis = frame["cost_basis"].astype("string")
    rows = frame.loc[basis.isin(["estimated", "unpriced"]).to_numpy(dtype=bool, na_value=False)]
    money = rows["cost_usd"].astype("Float64").fillna(0.0).to_numpy(dtype="float64")
    return rows.assign(money=money)


def daily_by(usage: pd.DataFrame, column: str, days: pd.DatetimeIndex) -> pd.DataFrame:
    """Usage rows into USD per day (rows) and id (columns), every day of ``days``, 0 where none.

    E.g. ``column="model"`` -> one column per model. Rows without an id are left out.
    """
    rows = usage.loc[usage[column].notna(), ["date", column, "money"]]
    if rows.empty:
        return pd.DataFrame(index=days, dtype="float64")
    table = rows.groupby(["date", rows[column].astype(str)])["money"].sum().unstack(fill_value=0.0)
    return table.reindex(days, fill_value=0.0).astype("float64")


def first_use(usage: pd.DataFrame, column: str) -> pd.Series:
    """Usage rows into each id's first day with any usage row, e.g. ``{"key_1": 2025-03-02}``."""
    rows = usage.loc[usage[column].notna(), ["date", column]]
    return rows.groupby(rows[column].astype(str))["date"].min()


def names_of(frame: pd.DataFrame, column: str, name_columns: Iterable[str]) -> dict[str, str]:
    """The table into each id's latest name, e.g. ``{"proj_1": "Research"}``; the id if none."""
    result: dict[str, str] = {}
    rows = frame.loc[frame[column].notna()].sort_values("date", kind="stable")
    for name_column in reversed(tuple(name_columns)):
        if name_column not in rows.columns:
            continue
        named = rows.loc[rows[name_column].notna()]
        latest = named.groupby(named[column].astype(str))[name_column].last()
        result.update({str(k): str(v) for k, v in latest.items()})
    ids = rows[column].astype(str).unique()
    return {i: result.get(i, i) for i in ids}


def robust_scale(history: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Histories (days x ids, NaN = not counted) into each id's (median, scale), e.g. 9, 10, 11,
    10, 10, 9, 11 -> (10.0, 1.48): the MAD / 0.6745, or 1.2533 x the mean absolute deviation when
    the MAD is 0; 0 when the history has no spread at all.

    A value's modified z-score is ``(value - median) / scale`` (``robust_z``).
    """
    median = np.nanmedian(history, axis=0)
    deviation = np.abs(history - median)
    mad = np.nanmedian(deviation, axis=0)
    mean_ad = np.nanmean(deviation, axis=0)
    scale = np.where(mad > 0, mad / MAD_SCALE, np.where(mean_ad > 0, MEANAD_SCALE * mean_ad, 0.0))
    return median, scale


def robust_z(values: np.ndarray, history: np.ndarray) -> np.ndarray:
    """Values and their histories (days x ids, NaN = not counted) into modified z-scores.

    E.g. 50 against a history of 9, 10, 11, 10, 10, 9, 11 -> 0.6745 x 40 / 1 = 27.0. A history
    without any spread gives +inf for a value above it and 0 otherwise.
    """
    median, scale = robust_scale(history)
    above = values - median
    with np.errstate(divide="ignore", invalid="ignore"):
        by_scale = above / scale
    flat = np.where(above > 0, np.inf, 0.0)
    return np.where(scale > 0, by_scale, flat)


def _check_days(start: date, end: date, days: pd.DatetimeIndex) -> list[int]:
    """A range into the positions of its days in ``days``, e.g. the last 7 -> [n-7, ..., n-1]."""
    wanted = (days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))
    return list(np.flatnonzero(wanted))


def _several_providers(usage: pd.DataFrame) -> bool:
    """Whether usage rows come from more than one provider, e.g. OpenAI and Anthropic."""
    return "provider" in usage.columns and usage["provider"].dropna().nunique() > 1


def find_spikes(
    frame: pd.DataFrame,
    *,
    start: date,
    end: date,
    dimensions: Iterable[str] = tuple(DIMENSIONS),
    z_threshold: float = Z_THRESHOLD,
    window: int = WINDOW_DAYS,
    min_prior: int = MIN_PRIOR_DAYS,
    floor_usd: float | None = None,
    floor_share: float = FLOOR_SHARE,
) -> pd.DataFrame:
    """The usage table into the spikes on the days [start, end], e.g. one user's 10x day.

    Columns ``RESULT_COLUMNS`` (``kind`` is "spike"), sorted by date, then money (largest first).
    History before ``start`` is used as each day's past; days after ``end`` are ignored.

    :param frame: the priced usage table
    :param start: first day checked
    :param end: last day checked (the last complete day)
    :param dimensions: which of ``DIMENSIONS`` to check
    :param z_threshold: the robust z-score a spike reaches
    :param window: previous days a day is compared with
    :param min_prior: fewer previous days of an id (since its first usage) and it is not checked
    :param floor_usd: a fixed money floor; None: ``floor_share`` of the org's typical day
    :param floor_share: the floor as a share of the org's median day over the same window
    """
    usage = _usage(filter_usage(frame, end=end))
    if usage.empty:
        return _empty()
    days = pd.date_range(usage["date"].min(), pd.Timestamp(end), freq="D")
    org = usage.groupby("date")["money"].sum().reindex(days, fill_value=0.0).to_numpy()
    found = []
    for dimension in dimensions:
        column, name_columns = DIMENSIONS[dimension]
        if dimension == "provider" and not _several_providers(usage):
            continue  # one provider's total is the organization's: no spike of its own
        table = daily_by(usage, column, days)
        if table.empty or not len(table.columns):
            continue
        firsts = first_use(usage, column).reindex(table.columns)
        since = days.get_indexer(pd.DatetimeIndex(firsts.to_numpy()))
        values = table.to_numpy()
        names = names_of(frame, column, name_columns)
        if dimension == "provider":
            names = {key: provider_name(key) for key in names}
        for position in _check_days(start, end, days):
            lo = max(0, position - window)
            if position - lo < min_prior:
                continue
            history = values[lo:position].copy()
            rows = np.arange(lo, position)[:, None]
            history[rows < since[None, :]] = np.nan  # before the id's first usage: not its past
            counted = (~np.isnan(history)).sum(axis=0) >= min_prior
            if not counted.any():
                continue
            floor = (
                floor_usd if floor_usd is not None else floor_share * np.median(org[lo:position])
            )
            today = values[position, counted]
            past = history[:, counted]
            scores = robust_z(today, past)
            typical = np.nanmedian(past, axis=0)
            hit = (scores >= z_threshold) & (today > floor) & (today > typical)
            for index in np.flatnonzero(hit):
                key = str(table.columns[counted][index])
                found.append(
                    {
                        "date": days[position],
                        "kind": "spike",
                        "dimension": dimension,
                        "id": key,
                        "name": names.get(key, key),
                        "cost_usd": float(today[index]),
                        "typical_usd": float(typical[index]),
                        "z": float(scores[index]),
                        "floor_usd": float(floor),
                    }
                )
    return _as_result(found)


def find_newcomers(
    frame: pd.DataFrame,
    *,
    start: date,
    end: date,
    dimensions: Iterable[str] = NEWCOMER_DIMENSIONS,
    min_prior: int = MIN_PRIOR_DAYS,
) -> pd.DataFrame:
    """The usage table into the keys and models first used on a day of [start, end].

    E.g. a key first seen on Mar 11 after 60 days of history -> one row, ``kind="newcomer"``,
    its money that day, ``typical_usd`` 0. Needs ``min_prior`` days of table history before the
    day (the table's first days would make everything new).
    """
    usage = _usage(filter_usage(frame, end=end))
    if usage.empty:
        return _empty()
    data_start = usage["date"].min()
    earliest = max(pd.Timestamp(start), data_start + timedelta(days=min_prior))
    found = []
    for dimension in dimensions:
        column, name_columns = DIMENSIONS[dimension]
        firsts = first_use(usage, column)
        new = firsts[(firsts >= earliest) & (firsts <= pd.Timestamp(end))]
        if new.empty:
            continue
        names = names_of(frame, column, name_columns)
        keys = usage[column].astype("string")
        for key, day in new.items():
            money = usage.loc[(keys == key).to_numpy(dtype=bool, na_value=False)]
            found.append(
                {
                    "date": day,
                    "kind": "newcomer",
                    "dimension": dimension,
                    "id": key,
                    "name": names.get(key, key),
                    "cost_usd": float(money.loc[money["date"] == day, "money"].sum()),
                    "typical_usd": 0.0,
                    "z": float("nan"),
                    "floor_usd": float("nan"),
                }
            )
    return _as_result(found)


def _as_result(found: list[dict]) -> pd.DataFrame:
    """Result dicts into the result frame, by date then money (largest first)."""
    if not found:
        return _empty()
    result = pd.DataFrame(found).astype(RESULT_COLUMNS)
    result = result.sort_values(
        ["date", "cost_usd", "dimension", "id"], ascending=[True, False, True, True]
    )
    return result.reset_index(drop=True)
