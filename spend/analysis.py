"""The usage table into the numbers and small frames the pages show.

Pure functions over a frame with ``spend.schema.COLUMNS``: none mutates its input, none touches the
network or streamlit, each runs in well under a second on a year of 200 users x 25 models (~1M rows
with pyarrow strings; keys are grouped as categoricals with ``observed=True``).

Money rules (see ``spend.schema``):
- billed rows (``cost_basis == "billed"``, the Costs API) carry money but no model, user or tokens;
- usage rows are ``estimated`` (priced) or ``unpriced`` (``cost_usd`` NA; tokens still count); a
  usage row without a ``cost_usd`` counts as unpriced whatever its basis says: never a silent 0;
- breakdowns per model, user, key, operation use usage rows (estimated money); per project and key
  they also carry the billed money when the Costs API gave it;
- the headline spend has one basis per provider and day (``spend.budgets.headline_rows``): billed
  money where the Costs API reported the day, the estimate where it has not yet (or where a
  provider gives no bill); a figure with both says so (``Totals.parts``), and a change compares
  like with like (``compare``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from spend.budgets import MoneyParts, basis_of, headline_rows, money_parts, reported_days
from spend.dates import FINAL_AFTER, as_day, previous_period
from spend.formatting import provider_name

#: Sidebar/filter sentinel and label for org-level rows (no user).
NO_USER = "(no user)"
#: Label for a missing model, project, key or other dimension value.
UNKNOWN = "(unknown)"
#: Default label of the group that collects everything beyond ``top_n`` in ``daily``.
OTHERS = "others"
#: Group label in ``daily(by=None)``.
ALL = "all"
#: Altair refuses to embed more rows than this (``alt.data_transformers`` max_rows).
MAX_CHART_ROWS = 5000

#: Values ``daily`` can sum per day.
DAILY_VALUES = ("cost_usd", "n_requests", "total_tokens")

#: ``by_dimension`` names -> (id column, name column or None).
DIMENSIONS: dict[str, tuple[str, str | None]] = {
    "project": ("project_id", "project_name"),
    "api_key": ("api_key_id", "api_key_name"),
    "user": ("user_id", "user_name"),
    "model": ("model", None),
    "model_family": ("model_family", None),
    "operation": ("operation", None),
    "source": ("source", None),
    "unit": ("unit", None),
}
#: Id columns the Costs API groups by, so billed money exists per value.
BILLED_DIMENSIONS = ("project_id", "api_key_id")

_MEASURES = (
    "requests",
    "counted",
    "uncounted",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "total_tokens",
    "units",
    "priced",
    "unpriced",
    "estimated",
    "billed",
)
_MEASURE_SUMS = {name: (name, "sum") for name in _MEASURES}


# --- small helpers -------------------------------------------------------------------------------


def _filled_category(series: pd.Series, label: str) -> pd.Series:
    """A text column (strings or categories) into categories with NA as ``label``, e.g.
    ``["a", NA] -> ["a", "(unknown)"]``; the shared table's categorical columns get the label as
    one more category instead of an error."""
    values = series if isinstance(series.dtype, pd.CategoricalDtype) else series.astype("category")
    if not values.isna().any():
        return values
    if label not in values.cat.categories:
        values = values.cat.add_categories([label])
    return values.fillna(label)


def _missing_label(column: str) -> str:
    """A column name into the label of its NA values, e.g. ``"user_id" -> "(no user)"``."""
    return NO_USER if column.startswith("user_") else UNKNOWN


def _span(
    df: pd.DataFrame, start: Any, end: Any
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Optional bounds into days, defaulting to the data's first/last day, e.g. ``None -> min``."""
    first, last = as_day(start), as_day(end)
    if len(df):
        first = first if first is not None else as_day(df["date"].min())
        last = last if last is not None else as_day(df["date"].max())
    return first, last


def _days(first: pd.Timestamp | None, last: pd.Timestamp | None) -> pd.DatetimeIndex:
    """Two days into every day between them, inclusive, e.g. ``(Jan 1, Jan 3) -> 3 days``."""
    if first is None or last is None or last < first:
        return pd.DatetimeIndex([], dtype="datetime64[ns]", name="date")
    return pd.date_range(first, last, freq="D", name="date").astype("datetime64[ns]")


def _in_range(
    df: pd.DataFrame, first: pd.Timestamp | None, last: pd.Timestamp | None
) -> np.ndarray:
    """Rows into a mask of those dated within [first, last], e.g. ``None`` bounds keep every row."""
    mask = np.ones(len(df), dtype=bool)
    if first is not None:
        mask = mask & (df["date"] >= first).to_numpy(dtype=bool, na_value=False)
    if last is not None:
        mask = mask & (df["date"] < last + pd.Timedelta(days=1)).to_numpy(
            dtype=bool, na_value=False
        )
    return mask


def _lean(df: pd.DataFrame, keys: Iterable[str] = (), raw_keys: Iterable[str] = ()) -> pd.DataFrame:
    """The usage table into categorical keys plus numpy measures, e.g. ``n_requests -> requests``.

    Measures: ``requests`` (0 where unknown), ``counted``/``uncounted`` (0/1: a usage row whose
    request count is known, or NA as on every Anthropic row), token counts, ``total_tokens``
    (input + output; cached is part of input), ``units``, row flags ``priced``/``unpriced``
    (0/1, billed rows are neither),
    ``estimated`` (cost of priced usage rows, NaN elsewhere), ``billed`` (cost of billed rows, NaN
    elsewhere) and ``is_billed``. In ``keys`` a user column has NA filled with ``NO_USER``, any
    other with ``UNKNOWN``; ``raw_keys`` keep their NA. Keys are categorical: group them with
    ``observed=True``.
    """
    basis = df["cost_basis"]
    cost = df["cost_usd"].to_numpy(dtype="float64", na_value=np.nan)
    billed = basis.eq("billed").to_numpy(dtype=bool, na_value=False)
    unpriced = ~billed & (
        basis.eq("unpriced").to_numpy(dtype=bool, na_value=False) | np.isnan(cost)
    )
    priced = ~billed & ~unpriced

    def count(name: str) -> np.ndarray:
        return df[name].to_numpy(dtype="int64", na_value=0)

    input_tokens, output_tokens = count("input_tokens"), count("output_tokens")
    known = df["n_requests"].notna().to_numpy(dtype=bool)
    data: dict[str, Any] = {"date": df["date"].to_numpy()}
    for key in keys:
        data[key] = _filled_category(df[key], _missing_label(key)).array
    for key in raw_keys:
        data[key] = df[key].astype("category").array
    data.update(
        requests=count("n_requests"),
        counted=(known & ~billed).astype("int64"),
        uncounted=(~known & ~billed).astype("int64"),
        input_tokens=input_tokens,
        cached_input_tokens=count("cached_input_tokens"),
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
        units=df["units"].to_numpy(dtype="float64", na_value=0.0),
        priced=priced.astype("int64"),
        unpriced=unpriced.astype("int64"),
        estimated=np.where(priced, cost, np.nan),
        billed=np.where(billed, cost, np.nan),
        is_billed=billed,
    )
    return pd.DataFrame(data)


def _usage_rows(lean: pd.DataFrame) -> pd.DataFrame:
    """A lean frame into its usage rows only, e.g. Costs API rows dropped."""
    return lean.loc[~lean["is_billed"].to_numpy()]


def _money_or_na(total: pd.Series, rows: pd.Series) -> pd.Series:
    """Summed money and counts of priced rows into money, NA where none, e.g. ``(0.0, 0) -> NA``."""
    return total.astype("Float64").where(rows.to_numpy() > 0, pd.NA)


def _ratio(numerator: pd.Series, denominator: pd.Series, scale: float = 1.0) -> pd.Series:
    """Two columns into ``scale * numerator / denominator``, e.g. ``(1, 0) -> NA``."""
    denominator = denominator.astype("Float64")
    return (
        numerator.astype("Float64") * scale / denominator.where(denominator != 0, pd.NA)
    ).astype("Float64")


def _sorted_by_money(frame: pd.DataFrame, money: str, then: list[str]) -> pd.DataFrame:
    """A frame into its rows by money desc (NA last), then ``then``, e.g. unpriced models last.

    Numbers in ``then`` (tokens, billed money, ...) sort descending, names ascending.
    """
    numeric = pd.api.types.is_numeric_dtype
    ascending = [False] + [not numeric(frame[column]) for column in then]
    ordered = frame.sort_values(
        [money, *then], ascending=ascending, na_position="last", kind="stable"
    )
    return ordered.reset_index(drop=True)


def _basis_summary(priced: pd.Series, unpriced: pd.Series) -> pd.Series:
    """Priced/unpriced row counts into a basis label, e.g. ``(3, 1) -> "partly unpriced"``."""
    labels = np.where(
        unpriced.to_numpy() == 0,
        "estimated",
        np.where(priced.to_numpy() == 0, "unpriced", "partly unpriced"),
    )
    return pd.Series(labels, index=priced.index, dtype="string")


# --- filters and sidebar options -----------------------------------------------------------------


def _isin(series: pd.Series, values: Iterable[Any]) -> np.ndarray:
    """A column and wanted values into a mask, e.g. ``(["a", NA], ["a"]) -> [True, False]``."""
    return series.isin(list(values)).to_numpy(dtype=bool, na_value=False)


def filter_usage(
    df: pd.DataFrame,
    *,
    start: Any = None,
    end: Any = None,
    models: Iterable[str] | None = None,
    users: Iterable[str] | None = None,
    projects: Iterable[str] | None = None,
    api_keys: Iterable[str] | None = None,
    providers: Iterable[str] | None = None,
    teams: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The usage table into the rows the sidebar selects, e.g. ``models=["o3"]`` keeps o3's rows.

    Dates are inclusive days; ``None`` or an empty list means no filter (a multiselect with nothing
    picked shows everything); when nothing is filtered out the input itself comes back (results
    are read-only here). ``users`` may hold ``NO_USER`` for org-level usage rows. Billed rows
    have no model or user, so any model or user filter drops them; project and key filters keep
    matching billed rows.

    :param start: first day kept (date, datetime, string or None)
    :param end: last day kept, inclusive
    :param models: values of ``model`` to keep
    :param users: values of ``user_id`` to keep, or ``NO_USER``
    :param projects: values of ``project_id`` to keep
    :param api_keys: values of ``api_key_id`` to keep
    :param providers: values of ``provider`` to keep (billed rows included)
    :param teams: values of ``team`` to keep (``spend.teams``; billed rows of a team's projects
        and keys included), when the table has that column
    """
    mask = _in_range(df, as_day(start), as_day(end))
    billed = df["cost_basis"].eq("billed").to_numpy(dtype=bool, na_value=False)
    if models:
        mask = mask & _isin(df["model"], models) & ~billed
    if users:
        users = list(users)
        matched = _isin(df["user_id"], [user for user in users if user != NO_USER])
        if NO_USER in users:
            matched = matched | df["user_id"].isna().to_numpy(dtype=bool)
        mask = mask & matched & ~billed
    if projects:
        mask = mask & _isin(df["project_id"], projects)
    if api_keys:
        mask = mask & _isin(df["api_key_id"], api_keys)
    if providers and "provider" in df.columns:
        mask = mask & _isin(df["provider"], providers)
    if teams and "team" in df.columns:
        mask = mask & _isin(df["team"], teams)
    if (
        mask.all()
        and isinstance(df.index, pd.RangeIndex)
        and df.index.start == 0
        and df.index.step == 1
    ):
        return (
            df  # nothing filtered out: no copy of a large table (results are read, never written)
        )
    return df.loc[mask].reset_index(drop=True)


def _user_labels(name: pd.Series, email: pd.Series, user_id: pd.Series) -> pd.Series:
    """Names, emails and ids into labels, e.g. ``("Ann", "a@x.io", "user-1") -> "Ann <a@x.io>"``."""
    name, email, user_id = (column.astype("string") for column in (name, email, user_id))
    both = name + " <" + email + ">"
    return both.fillna(email).fillna(name).fillna(user_id).astype("string")


def _names(df: pd.DataFrame, id_column: str, name_column: str) -> pd.Series:
    """The usage table into each id's first known name, e.g. ``project_id -> project_name``."""
    pairs = df[[id_column, name_column]].dropna()
    return pairs.groupby(id_column, sort=False)[name_column].first()


def _user_info(df: pd.DataFrame, directory: pd.DataFrame | None = None) -> pd.DataFrame:
    """The usage table (and a user directory) into ``name, email, label`` per user id.

    Org-level rows are indexed as ``NO_USER``; the directory (columns ``user_id`` or ``id``,
    ``name``, ``email``) fills names and emails the rows lack, e.g. from the users endpoint.
    """
    usage = ~df["cost_basis"].eq("billed").to_numpy(dtype=bool, na_value=False)
    rows = df.loc[usage, ["user_id", "user_name", "user_email"]]
    rows = rows.assign(user_id=_filled_category(rows["user_id"], NO_USER).astype("string"))
    info = rows.groupby("user_id", sort=False).agg(
        name=("user_name", "first"), email=("user_email", "first")
    )
    if directory is not None and len(directory):
        known = directory.rename(
            columns={"id": "user_id", "user_name": "name", "user_email": "email"}
        )
        known = known.reindex(columns=["user_id", "name", "email"]).dropna(subset=["user_id"])
        known = known.drop_duplicates("user_id").set_index("user_id").reindex(info.index)
        info["name"] = info["name"].astype("string").fillna(known["name"].astype("string"))
        info["email"] = info["email"].astype("string").fillna(known["email"].astype("string"))
    ids = pd.Series(info.index, index=info.index)
    info["label"] = _user_labels(info["name"], info["email"], ids)
    return info


def _option_pairs(
    lean: pd.DataFrame, key: str, labels: pd.Series | None, money: str, *, usage_only: bool
) -> list[tuple[str, str]]:
    """A lean frame into ``(id, label)`` pairs by money, tokens, label, e.g. ``[("p1", "Prod")]``.

    A missing key (``UNKNOWN``) offers no choice: there is nothing to filter on. With ``usage_only``
    a value seen only on billed rows is left out.
    """
    usage = (~lean["is_billed"]).astype("int64")
    totals = (
        lean.assign(usage=usage)
        .groupby(key, sort=False, observed=True)
        .agg(money=(money, "sum"), tokens=("total_tokens", "sum"), usage=("usage", "sum"))
    )
    totals = totals.drop(index=UNKNOWN, errors="ignore")
    if usage_only:
        totals = totals.loc[totals["usage"] > 0]
    ids = pd.Series(totals.index.astype("string"), index=totals.index, dtype="string")
    totals["label"] = (
        ids if labels is None else labels.reindex(totals.index).astype("string").fillna(ids)
    )
    totals = totals.sort_values(
        ["money", "tokens", "label"], ascending=[False, False, True], kind="stable"
    )
    return [
        (str(ident), str(label)) for ident, label in zip(totals.index, totals["label"], strict=True)
    ]


def options(df: pd.DataFrame) -> dict[str, list[tuple[str, str]]]:
    """The usage table into sidebar choices, e.g. ``{"users": [("user-1", "Ann <a@x.io>")], ...}``.

    Keys ``models``, ``users``, ``projects``, ``api_keys`` (and ``providers`` when the table has a
    ``provider`` column, ``teams`` when it has a ``team`` column: the teams with rows, in the
    teams file's order); each a list of ``(id, label)`` sorted by
    spend desc (then tokens, then label). Models and users rank by estimated money; projects and
    keys by billed money when the table has billed rows, else estimated. Org-level usage appears as
    ``(NO_USER, NO_USER)``; rows without a model, project or key id offer no choice. Labels: user
    "Name <email>", else email, else id; project and key name, else id.
    """
    lean = _lean(df, ["model", "user_id", "project_id", "api_key_id"])
    money = "billed" if lean["is_billed"].any() else "estimated"
    choices: dict[str, list[tuple[str, str]]] = {}
    if "provider" in df.columns:  # a table of several sources: who is paid
        spend = df["cost_usd"].astype("Float64").fillna(0.0).groupby(df["provider"], observed=True)
        ranked = spend.sum().sort_values(ascending=False, kind="stable")
        choices["providers"] = [(str(p), provider_name(str(p))) for p in ranked.index]
    if "team" in df.columns:  # spend.teams: the file's order, "No team" last
        team = df["team"]
        order = list(team.cat.categories) if isinstance(team.dtype, pd.CategoricalDtype) else []
        seen = set(team.dropna().astype(str).unique())
        ranked_teams = [t for t in order if t in seen] + sorted(seen - set(order))
        choices["teams"] = [(str(t), str(t)) for t in ranked_teams]
    return choices | {
        "models": _option_pairs(lean, "model", None, "estimated", usage_only=True),
        "users": _option_pairs(
            lean, "user_id", _user_info(df)["label"], "estimated", usage_only=True
        ),
        "projects": _option_pairs(
            lean, "project_id", _names(df, "project_id", "project_name"), money, usage_only=False
        ),
        "api_keys": _option_pairs(
            lean, "api_key_id", _names(df, "api_key_id", "api_key_name"), money, usage_only=False
        ),
    }


# --- totals and period comparison ----------------------------------------------------------------


@dataclass(frozen=True)
class RequestCoverage:
    """Which providers' usage rows carry a request count (``counted``) and which have usage with
    none (``uncounted``: Anthropic's usage report counts tokens, not requests), as names, e.g.
    ``(("OpenAI",), ("Anthropic",))``."""

    counted: tuple[str, ...] = ()
    uncounted: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        """False when usage exists and none of it has a request count: requests are "–"."""
        return bool(self.counted) or not self.uncounted

    @property
    def partial(self) -> bool:
        """True when a request figure counts some providers and leaves others out."""
        return bool(self.counted) and bool(self.uncounted)

    @property
    def note(self) -> str | None:
        """What a request figure over this table must say, e.g. "Requests count OpenAI only:
        Anthropic reports no request count."; None when every usage row is counted."""
        if not self.uncounted:
            return None
        missing = " and ".join(self.uncounted)
        verb = "reports" if len(self.uncounted) == 1 else "report"
        if not self.counted:
            return f"No request counts: {missing} {verb} tokens, not requests."
        return (
            f"Requests count {' and '.join(self.counted)} only: {missing} {verb} no request count."
        )


def request_coverage(df: pd.DataFrame) -> RequestCoverage:
    """The usage table into which providers its request figures count, e.g. OpenAI and
    Anthropic rows -> ``RequestCoverage(("OpenAI",), ("Anthropic",))``. Billed rows never count;
    a table without a ``provider`` column names its rows' provider "this source"."""
    usage = ~df["cost_basis"].eq("billed").to_numpy(dtype=bool, na_value=False)
    known = df["n_requests"].notna().to_numpy(dtype=bool)
    if "provider" in df.columns:
        providers = df["provider"].astype("string").fillna(UNKNOWN).to_numpy(dtype=object)
    else:
        providers = np.full(len(df), "this source", dtype=object)

    def names(mask: np.ndarray) -> tuple[str, ...]:
        return tuple(provider_name(str(p)) for p in sorted(set(providers[mask])))

    counted = names(usage & known)
    uncounted = tuple(p for p in names(usage & ~known) if p not in counted)
    return RequestCoverage(counted, uncounted)


@dataclass(frozen=True)
class Totals:
    """The headline numbers of one period; money in USD, shares as fractions 0..1."""

    start: pd.Timestamp | None
    end: pd.Timestamp | None
    #: the headline: billed money where the Costs API reported the provider's day, else the
    #: estimate (``parts`` says how much of each)
    spend: float
    #: ``"billed"``, ``"estimated"`` or ``"billed + estimated"``: where ``spend`` comes from
    basis: str
    estimated: float
    billed: float | None
    #: ``billed`` minus the estimate of the same provider-days (a day not billed yet, a provider
    #: without a bill, is on neither side); None without billed rows
    gap: float | None
    requests: int
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    total_tokens: int
    days: int
    avg_spend_per_day: float
    unpriced_rows: int
    unpriced_requests: int
    unpriced_tokens: int
    #: unpriced tokens / all usage tokens
    unpriced_token_share: float
    #: requests in unpriced rows / all usage requests
    unpriced_request_share: float
    #: the larger of the two shares above, so a warning never understates what is missing
    unpriced_share: float
    priced_share: float
    #: which providers' request counts ``requests`` holds, and which providers' usage it leaves
    #: out because their API reports no request count (Anthropic); see ``RequestCoverage``
    requests_cover: RequestCoverage = RequestCoverage()
    #: ``spend`` in its billed and estimated parts, the days the Costs API has not reported yet
    #: and the providers that give no bill (``spend.budgets.money_parts``)
    parts: MoneyParts = MoneyParts(0.0, 0.0)

    @property
    def requests_known(self) -> bool:
        """Whether ``requests`` counts anything: False when no usage row has a request count
        (an Anthropic-only table), where the figure is "–", never 0."""
        return self.requests_cover.known


def _estimated_where_billed(df: pd.DataFrame, first: Any, last: Any) -> float:
    """The estimate of the provider-days the Costs API reported in [first, last], e.g. Dec 1-3
    of Dec 1-4 when Dec 4 is not billed yet: what the bill compares with."""
    period = df.loc[_in_range(df, first, last)]
    usage = ~period["cost_basis"].eq("billed").to_numpy(dtype=bool, na_value=False)
    cost = period["cost_usd"].to_numpy(dtype="float64", na_value=np.nan)
    return float(np.nansum(cost[usage & reported_days(period)]))


def _share(part: float, whole: float) -> float:
    """A part and a whole into a fraction, e.g. ``(1, 4) -> 0.25``, ``(0, 0) -> 0.0``."""
    return float(part) / float(whole) if whole else 0.0


def totals(df: pd.DataFrame, *, start: Any, end: Any) -> Totals:
    """The usage table and a period into its headline numbers, e.g. ``Totals(spend=12.5, ...)``.

    Rows outside [start, end] are ignored; ``None`` bounds default to the data's first/last day.
    Tokens and requests count usage rows only (billed rows carry money alone). ``spend`` counts
    one basis per provider and day (``parts``): a day the Costs API has not reported yet counts
    its estimate, and a provider without a bill its estimate, never $0; pass the whole loaded
    table, so a provider billed on other days reads as late, not as billless.
    """
    first, last = _span(df, start, end)
    lean = _lean(df.loc[_in_range(df, first, last)])
    usage = _usage_rows(lean)
    is_billed = lean["is_billed"].to_numpy()
    estimated = float(usage["estimated"].sum())
    billed = float(lean["billed"].sum()) if is_billed.any() else None
    parts = (
        money_parts(df, "organization", None, start=first, end=last)
        if first is not None
        else MoneyParts(0.0, estimated)
    )
    spend = parts.billed + parts.estimated
    days = len(_days(first, last))
    unpriced = usage["unpriced"].to_numpy() == 1
    requests = int(usage["requests"].sum())
    tokens = int(usage["total_tokens"].sum())
    unpriced_requests = int(usage.loc[unpriced, "requests"].sum())
    unpriced_tokens = int(usage.loc[unpriced, "total_tokens"].sum())
    token_share = _share(unpriced_tokens, tokens)
    request_share = _share(unpriced_requests, requests)
    unpriced_share = max(token_share, request_share)
    return Totals(
        start=first,
        end=last,
        spend=spend,
        basis=parts.basis,
        estimated=estimated,
        billed=billed,
        gap=None if billed is None else billed - _estimated_where_billed(df, first, last),
        requests=requests,
        input_tokens=int(usage["input_tokens"].sum()),
        cached_input_tokens=int(usage["cached_input_tokens"].sum()),
        output_tokens=int(usage["output_tokens"].sum()),
        total_tokens=tokens,
        days=days,
        avg_spend_per_day=spend / days if days else 0.0,
        unpriced_rows=int(unpriced.sum()),
        unpriced_requests=unpriced_requests,
        unpriced_tokens=unpriced_tokens,
        unpriced_token_share=token_share,
        unpriced_request_share=request_share,
        unpriced_share=unpriced_share,
        priced_share=1.0 - unpriced_share,
        requests_cover=request_coverage(df.loc[_in_range(df, first, last)]),
        parts=parts,
    )


@dataclass(frozen=True)
class Delta:
    """A number now and before; ``pct_change`` is a fraction, None when previous is 0."""

    current: float
    previous: float
    abs_change: float
    pct_change: float | None
    #: for money: the basis both sides are on, e.g. "estimated" when the headline is partly
    #: billed and the change compares the estimate on both sides instead ("" for other figures)
    basis: str = ""


#: ``Totals`` fields that add up over days: periods of different lengths compare them per day.
ADDITIVE = (
    "spend",
    "estimated",
    "requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "total_tokens",
)
#: ``Totals`` fields that ``compare`` returns a ``Delta`` for.
COMPARED = (*ADDITIVE, "avg_spend_per_day", "unpriced_share")


def _delta(current: float, previous: float) -> Delta:
    """Two values into their change, e.g. ``(15, 10) -> Delta(15, 10, 5, 0.5)``."""
    return Delta(
        current, previous, current - previous, (current - previous) / previous if previous else None
    )


def like_for_like_money(now: Totals, then: Totals) -> bool:
    """Whether two periods' headline money has the same make-up: each all billed, all estimated,
    or billed beside the same providers' estimates, with no day the Costs API has not reported
    yet on either side. E.g. Dec 1-6 with Dec 6 not billed yet against Nov 24-29 -> False."""
    if now.parts.pending or then.parts.pending:
        return False
    return now.basis == then.basis and now.parts.unbilled == then.parts.unbilled


def compare(
    df_all: pd.DataFrame, *, start: Any, end: Any, previous: tuple[Any, Any] | None = None
) -> dict[str, Delta]:
    """The usage table and a period into changes against the one before, e.g. ``{"spend": Delta}``.

    ``previous`` is the period compared with (default: the one of equal length just before; the
    Overview passes ``spend.dates.comparison``'s: as long, with the same weekdays, or the month
    before a calendar month). Periods of different lengths (February against March) compare the
    ``ADDITIVE`` figures per day: then ``current`` and ``previous`` of those deltas are averages
    per day, e.g. $3,100 in 31 days against $2,800 in 28 -> 100 against 100, +0 %. ``df_all`` must
    reach back far enough to hold it (filter it by everything but dates). ``spend`` and
    ``avg_spend_per_day`` compare like with like: each period's headline when both have the same
    make-up (``like_for_like_money``), else the estimate on both sides (a bill missing a day
    against a whole one would read as a drop), said by the delta's ``basis``; ``estimated`` is
    always like for like.
    """
    before = previous or previous_period(start, end)
    now, then = totals(df_all, start=start, end=end), totals(df_all, start=before[0], end=before[1])
    per_day = now.days != then.days and now.days > 0 and then.days > 0
    same = like_for_like_money(now, then)

    def value(period: Totals, name: str) -> float:
        figure = getattr(period, name)
        if not same and name == "spend":
            figure = period.estimated
        elif not same and name == "avg_spend_per_day":
            figure = period.estimated / period.days if period.days else 0.0
        return figure / period.days if per_day and name in ADDITIVE else figure

    deltas = {name: _delta(value(now, name), value(then, name)) for name in COMPARED}
    basis = now.basis if same else "estimated"
    for name in ("spend", "avg_spend_per_day"):
        deltas[name] = replace(deltas[name], basis=basis)
    deltas["estimated"] = replace(deltas["estimated"], basis="estimated")
    return deltas


# --- daily series --------------------------------------------------------------------------------


def _tidy_daily(days: pd.DatetimeIndex, groups: list[str], series: pd.Series) -> pd.DataFrame:
    """Sums indexed by (date, group) into one row per day x group, zeros where missing."""
    full = pd.MultiIndex.from_product([days, groups], names=["date", "group"])
    values = series.reindex(full, fill_value=0.0).astype("float64")
    frame = values.rename("value").reset_index()
    frame["group"] = frame["group"].astype("string")
    frame["date"] = frame["date"].astype("datetime64[ns]")
    return frame


def daily(
    df: pd.DataFrame,
    *,
    by: str | None = "model_family",
    value: str = "cost_usd",
    top_n: int = 8,
    other_label: str = OTHERS,
    start: Any = None,
    end: Any = None,
    labels: Mapping[str, str] | None = None,
    others: bool = True,
    bucket: str = "day",
) -> pd.DataFrame:
    """Usage rows into a tidy daily series, e.g. ``date, group, value`` with a row per day x group.

    Every day in [start, end] is present (zeros where a group had nothing that day). Groups rank by
    their total; the first ``top_n`` keep their name, the rest are summed into ``other_label``
    (last). Groups whose total is 0 are left out (they add nothing; unpriced models have no cost).
    ``top_n`` shrinks on long periods so that bars x groups stays within ``MAX_CHART_ROWS``. Billed
    rows are not in here (no model/user); ``billed_vs_estimated`` has them.

    :param by: column to group by (NA -> ``UNKNOWN``, or ``NO_USER`` for user columns); None for one
        group named ``ALL``
    :param value: ``cost_usd`` (estimated money), ``n_requests`` or ``total_tokens``
    :param start: first day; defaults to the data's first day
    :param end: last day, inclusive; defaults to the data's last day
    :param others: False leaves the rest out instead of summing it into ``other_label`` (when
        a long tail would dwarf the groups a reader compares, e.g. 200 users)
    :param labels: names to show for group ids (e.g. user id -> "Ann"); ids stay the grouping key,
    so
        two users who share a name stay apart (the second gets its id appended)
    :param bucket: ``week`` or ``month`` sums the days per bucket (``bucketed``, with its ``days``
        column); ``day`` keeps them
    """
    if value not in DAILY_VALUES:
        raise ValueError(f"daily() sums one of {DAILY_VALUES}, not {value!r}")
    first, last = _span(df, start, end)
    days = _days(first, last)
    if by is not None and by not in df.columns:
        raise ValueError(f"daily() groups by a column of the usage table, not {by!r}")
    keys = [] if by is None else [by]
    lean = _usage_rows(_lean(df.loc[_in_range(df, first, last)], keys))
    measure = {"cost_usd": "estimated", "n_requests": "requests", "total_tokens": "total_tokens"}[
        value
    ]
    lean = lean.assign(value=lean[measure].astype("float64"), group=ALL if by is None else lean[by])
    sums = lean.groupby(["date", "group"], sort=False, observed=True)["value"].sum().reset_index()
    sums["group"] = sums["group"].astype("string")
    per_group = sums.groupby("group", sort=False)["value"].sum()
    per_group = per_group[per_group != 0]
    ranked = sorted(per_group.index, key=lambda group: (-per_group[group], group))
    bars = len(days) if bucket == "day" else bucket_start(pd.Series(days), bucket).nunique()
    keep = min(top_n, max(MAX_CHART_ROWS // max(bars, 1) - 1, 0))
    order = ranked
    if len(ranked) > keep:
        order = [*ranked[:keep], other_label] if others else ranked[:keep]
        named = sums["group"].isin(ranked[:keep]).to_numpy(dtype=bool, na_value=False)
        sums = sums.assign(group=sums["group"].where(named, other_label)) if others else sums[named]
    sums = sums.groupby(["date", "group"], sort=False)["value"].sum()
    frame = _tidy_daily(days, order, sums)
    frame = _relabel(frame, labels, other_label) if labels else frame
    return frame if bucket == "day" else bucketed(frame, bucket)


#: Time buckets a chart over time can sum a tidy daily frame into (``bucketed``).
BUCKETS = ("day", "week", "month")
#: Ranges up to this many days read best per day; up to ``WEEKLY_UP_TO`` per week; beyond per month.
DAILY_UP_TO = 62
WEEKLY_UP_TO = 366


def default_bucket(start: Any, end: Any) -> str:
    """A range into the time bucket its charts read best in: ``"day"`` up to about two months
    (62 days), ``"week"`` up to a year (366 days), ``"month"`` beyond, e.g. 30 days -> day,
    90 days or a year -> week, 400 days -> month.

    Beyond two months a bar per day is a few pixels wide and the weekday-weekend swing is most of
    what it shows (a year of them reads like a barcode); a bar per week shows the trend, and costs
    the browser a seventh of the bars. The reader may still pick days (``Bars per``)."""
    days = (as_day(end) - as_day(start)).days + 1
    if days <= DAILY_UP_TO:
        return "day"
    return "week" if days <= WEEKLY_UP_TO else "month"


def bucket_start(dates: pd.Series, bucket: str) -> pd.Series:
    """Days into the first day of their bucket: a week starts on Monday (ISO), a month on its
    1st, e.g. Wed 2026-12-02 -> Mon 2026-11-30 (week) or 2026-12-01 (month)."""
    if bucket not in BUCKETS:
        raise ValueError(f"a time bucket is one of {BUCKETS}, not {bucket!r}")
    days = pd.to_datetime(dates).dt.normalize()
    if bucket == "week":
        return days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    if bucket == "month":
        return days.dt.to_period("M").dt.to_timestamp()
    return days


def bucketed(frame: pd.DataFrame, bucket: str) -> pd.DataFrame:
    """A tidy daily frame (``daily``: ``date, group, value``) summed per week or month, the date
    being the bucket's first day, e.g. 60 days x 3 groups -> 9 weeks x 3 groups; ``"day"``
    returns it as is. Groups keep their order; a bucket cut by the range's ends sums only the
    days in the range. Adds ``days``: how many days of the range each bucket holds (7 for a whole
    week), so a partial first or last bucket can be told apart."""
    if bucket == "day":
        return frame.assign(days=1)
    if frame.empty:
        return frame.assign(days=0)
    groups = list(dict.fromkeys(frame["group"].astype("string")))
    work = frame.assign(
        date=bucket_start(frame["date"], bucket), group=frame["group"].astype("string")
    )
    sums = work.groupby(["date", "group"], sort=True, observed=True)["value"].sum()
    counts = bucket_start(frame["date"].drop_duplicates(), bucket).value_counts().sort_index()
    result = _tidy_daily(pd.DatetimeIndex(counts.index), groups, sums)
    result["days"] = result["date"].map(counts).astype("int64")
    return result


def month_over_month(frame: pd.DataFrame) -> pd.DataFrame:
    """A tidy daily frame into one row per calendar month: ``month`` (its first day), ``value``
    (every group summed), ``days`` (days of the range in it), ``change`` against the month before
    (a fraction, e.g. 0.25 for +25 %; NA for the first month, after a month of 0, and for a
    month that is not whole on either side, since a partial month would read as a drop)."""
    monthly = bucketed(frame, "month")
    if monthly.empty:
        return pd.DataFrame(
            {
                "month": pd.Series(dtype="datetime64[ns]"),
                "value": pd.Series(dtype="float64"),
                "days": pd.Series(dtype="int64"),
                "change": pd.Series(dtype="Float64"),
            }
        )
    totals = monthly.groupby("date", sort=True).agg(value=("value", "sum"), days=("days", "first"))
    months = totals.index
    whole = totals["days"].to_numpy() == months.days_in_month.to_numpy()
    previous = totals["value"].shift(1)
    change = (totals["value"] / previous - 1).astype("Float64")
    comparable = whole & np.roll(whole, 1) & (previous.fillna(0).to_numpy() != 0)
    comparable[0] = False
    change = change.where(comparable, pd.NA)
    return pd.DataFrame(
        {
            "month": months.to_numpy(),
            "value": totals["value"].to_numpy(dtype="float64"),
            "days": totals["days"].to_numpy(dtype="int64"),
            "change": change.to_numpy(),
        }
    ).astype({"change": "Float64"})


def _relabel(frame: pd.DataFrame, labels: Mapping[str, str], other_label: str) -> pd.DataFrame:
    """A tidy daily frame's group ids into names, unique per id, e.g. ``user-1 -> "Ann"``."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for group in frame["group"].drop_duplicates():
        name = group if group == other_label else str(labels.get(group, group))
        if name in taken:
            name = f"{name} ({group})"
        taken.add(name)
        names[group] = name
    return frame.assign(group=frame["group"].map(names).astype("string"))


# --- breakdowns ----------------------------------------------------------------------------------


def _breakdown(usage: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Lean usage rows into sums per key (money NA if nothing priced), e.g. a row per model."""
    sums = (
        usage.groupby(keys, sort=False, dropna=False, observed=True)
        .agg(**_MEASURE_SUMS)
        .reset_index()
    )
    sums["cost_usd"] = _money_or_na(sums["estimated"], sums["priced"])
    sums["any_unpriced"] = sums["unpriced"].to_numpy() > 0
    return sums


def _requests_or_na(frame: pd.DataFrame) -> pd.DataFrame:
    """A breakdown into the same with ``requests`` NA (never 0) where its usage rows have no
    request count at all, e.g. a Claude model (Anthropic's report has none): ``(0, 0 counted, 3
    uncounted) -> NA``; a group with some counted rows keeps the sum of those."""
    unknown = (frame["counted"].to_numpy() == 0) & (frame["uncounted"].to_numpy() > 0)
    requests = frame["requests"].astype("Int64").mask(unknown, pd.NA)
    return frame.assign(requests=requests)


def _with_share(frame: pd.DataFrame, money: str = "cost_usd") -> pd.DataFrame:
    """A breakdown into the same plus ``share`` = money / total money, e.g. ``0.25`` (NA if NA)."""
    total = frame[money].sum()
    share = frame[money] / total if total else frame[money] * 0.0
    return frame.assign(share=share.astype("Float64"))


def by_model(df: pd.DataFrame) -> pd.DataFrame:
    """Usage rows into one row per model, e.g. ``gpt-4o-2024-08-06 | gpt-4o | completion | ...``.

    Columns: ``model, model_family, operation, unit, requests, input_tokens, cached_input_tokens,
    output_tokens, total_tokens, units, cost_usd, cost_basis, any_unpriced, cost_per_1m_tokens,
    cost_per_1k_requests, share``. ``cost_usd`` sums the priced rows and is NA (never 0) when none
    was priced; ``cost_basis`` is ``estimated``, ``unpriced`` or ``partly unpriced``. Sorted by cost
    desc, unpriced models last.
    """
    keys = ["model", "model_family", "operation", "unit"]
    lean = _lean(df, ["model", "model_family"], ["operation", "unit"])
    frame = _requests_or_na(_breakdown(_usage_rows(lean), keys))
    frame["cost_basis"] = _basis_summary(frame["priced"], frame["unpriced"])
    frame["cost_per_1m_tokens"] = _ratio(frame["cost_usd"], frame["total_tokens"], 1e6)
    frame["cost_per_1k_requests"] = _ratio(frame["cost_usd"], frame["requests"], 1e3)
    frame = _with_share(frame)
    for column in keys:
        frame[column] = frame[column].astype("string")
    columns = [
        *keys,
        *_TOKEN_COLUMNS,
        "units",
        "cost_usd",
        "cost_basis",
        "any_unpriced",
        "cost_per_1m_tokens",
        "cost_per_1k_requests",
        "share",
    ]
    return _sorted_by_money(
        frame[columns], "cost_usd", ["total_tokens", "units", "requests", "model"]
    )


def _labelled(frame: pd.DataFrame, id_column: str, names: pd.Series | None) -> pd.DataFrame:
    """A breakdown into the same plus ``name`` and ``label`` (name, else id), e.g. ``"Prod"``."""
    ids = frame[id_column].astype("string")
    name = (
        pd.Series(pd.NA, index=frame.index, dtype="string")
        if names is None
        else pd.Series(names.reindex(ids.to_numpy()).to_numpy(), index=frame.index).astype("string")
    )
    return frame.assign(**{id_column: ids, "name": name, "label": name.fillna(ids)})


_TOKEN_COLUMNS = [
    "requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "total_tokens",
]


def by_user(df: pd.DataFrame, users: pd.DataFrame | None = None) -> pd.DataFrame:
    """Usage rows into one row per user, e.g. ``user-1 | Ann | a@x.io | ... | gpt-4o``.

    Columns: ``user_id, name, email, label, short_label (name, else email, else id), requests,
    input_tokens, cached_input_tokens,
    output_tokens, total_tokens, units, cost_usd, any_unpriced, share, top_model``. Org-level rows
    are the user ``NO_USER``. ``top_model`` is the model with the most money, or the most tokens
    when none of the user's usage is priced. Sorted by cost desc, users with only unpriced usage
    last.

    :param users: optional directory (``user_id`` or ``id``, ``name``, ``email``) filling names the
        rows lack
    """
    lean = _usage_rows(_lean(df, ["user_id", "model"]))
    frame = _requests_or_na(_breakdown(lean, ["user_id"]))
    per_model = lean.groupby(["user_id", "model"], sort=False, observed=True).agg(
        estimated=("estimated", "sum"),
        priced=("priced", "sum"),
        total_tokens=("total_tokens", "sum"),
    )
    per_model["money"] = _money_or_na(per_model["estimated"], per_model["priced"])
    per_model = per_model.reset_index().sort_values(
        ["user_id", "money", "total_tokens", "model"],
        ascending=[True, False, False, True],
        na_position="last",
    )
    top = per_model.drop_duplicates("user_id").set_index("user_id")["model"]
    info = _user_info(df, users)
    ids = frame["user_id"].to_numpy(dtype=object)
    frame = frame.assign(
        user_id=frame["user_id"].astype("string"),
        name=pd.Series(info["name"].reindex(ids).to_numpy(), index=frame.index).astype("string"),
        email=pd.Series(info["email"].reindex(ids).to_numpy(), index=frame.index).astype("string"),
        label=pd.Series(info["label"].reindex(ids).to_numpy(), index=frame.index).astype("string"),
        top_model=pd.Series(top.reindex(ids).to_numpy(), index=frame.index).astype("string"),
    )
    frame["short_label"] = (
        frame["name"].fillna(frame["email"]).fillna(frame["user_id"]).astype("string")
    )
    frame = _with_share(frame)
    columns = [
        "user_id",
        "name",
        "email",
        "label",
        "short_label",
        *_TOKEN_COLUMNS,
        "units",
        "cost_usd",
        "any_unpriced",
        "share",
        "top_model",
    ]
    return _sorted_by_money(frame[columns], "cost_usd", ["total_tokens", "requests", "label"])


def by_dimension(df: pd.DataFrame, dim: str) -> pd.DataFrame:
    """Usage rows into one row per value of a dimension, e.g. ``"project" -> p1 | Prod | ...``.

    ``dim`` is a key of ``DIMENSIONS`` (project, api_key, user, model, model_family, operation,
    source, unit) or a column name. Columns: ``id, name, label, requests, input_tokens,
    cached_input_tokens, output_tokens, total_tokens, units, cost_usd, billed_usd, any_unpriced,
    share``. ``cost_usd`` is estimated from usage rows (NA when nothing was priced); ``billed_usd``
    is the Costs API money for project and key ids (NA elsewhere, and where none was billed).
    Missing ids are ``UNKNOWN`` (``NO_USER`` for users). Sorted by cost desc, then billed.
    """
    by_id = {id_column: (id_column, name_column) for id_column, name_column in DIMENSIONS.values()}
    id_column, name_column = DIMENSIONS.get(dim) or by_id.get(dim) or (dim, None)
    if id_column not in df.columns:
        raise ValueError(
            f"unknown dimension {dim!r}; use one of {sorted(DIMENSIONS)} or a column name"
        )
    lean = _lean(df, [id_column])
    frame = _breakdown(_usage_rows(lean), [id_column])
    billed_rows = lean.loc[lean["is_billed"].to_numpy()]
    if id_column in BILLED_DIMENSIONS and len(billed_rows):
        billed = billed_rows.groupby(id_column, sort=False, observed=True)["billed"].sum()
        frame = frame.merge(billed.rename("billed_usd").reset_index(), on=id_column, how="outer")
        frame[list(_MEASURES)] = frame[list(_MEASURES)].fillna(0)
        for column in [*_TOKEN_COLUMNS, "priced", "unpriced"]:
            frame[column] = frame[column].astype("int64")
        frame["any_unpriced"] = frame["any_unpriced"].fillna(False).astype(bool)
        frame["billed_usd"] = frame["billed_usd"].astype("Float64")
    else:
        frame["billed_usd"] = pd.Series(pd.NA, index=frame.index, dtype="Float64")
    frame = _requests_or_na(frame)
    names = None if name_column is None else _names(df, id_column, name_column)
    if id_column == "user_id":
        names = _user_info(df)["name"]
    frame = _labelled(frame, id_column, names).rename(columns={id_column: "id"})
    if id_column == "user_id":
        labels = _user_info(df)["label"].reindex(frame["id"].to_numpy()).to_numpy()
        frame["label"] = pd.Series(labels, index=frame.index, dtype="string").fillna(frame["id"])
    frame = _with_share(frame)
    columns = [
        "id",
        "name",
        "label",
        *_TOKEN_COLUMNS,
        "units",
        "cost_usd",
        "billed_usd",
        "any_unpriced",
        "share",
    ]
    if id_column == "api_key_id":  # a key belongs to one project: name it beside the key
        frame["project"] = _key_projects(df).reindex(frame["id"].to_numpy()).to_numpy()
        frame["project"] = frame["project"].astype("string")
        columns.append("project")
    return _sorted_by_money(
        frame[columns], "cost_usd", ["billed_usd", "total_tokens", "requests", "label"]
    )


def by_provider(df: pd.DataFrame) -> pd.DataFrame:
    """The usage table into one row per provider, e.g. ``openai | OpenAI | 12.5 | billed | ...``.

    Columns: ``provider, label, spend, basis, estimated, billed, requests, total_tokens, share``.
    ``spend`` is each provider's headline, as ``totals`` has it: its billed money on the days its
    bill has reached, its estimate on the others (so one provider's bill sits beside the other's
    estimate, each marked by ``basis``: billed, estimated or "billed + estimated"); ``requests``
    is NA for a provider whose usage has no request count (Anthropic); ``share`` is of the summed
    spend. Sorted by spend desc. A table without a
    ``provider`` column is one row, ``"(unknown)"``.
    """
    frame = df if "provider" in df.columns else df.assign(provider=pd.NA)
    lean = _lean(frame, ["provider"])
    usage = _breakdown(_usage_rows(lean), ["provider"]).set_index("provider")
    billed_rows = lean.loc[lean["is_billed"].to_numpy()]
    billed = billed_rows.groupby("provider", sort=False, observed=True)["billed"].sum()
    providers = list(dict.fromkeys([*usage.index, *billed.index]))
    out = pd.DataFrame({"provider": pd.array([str(p) for p in providers], dtype="string")})
    out["label"] = pd.array([provider_name(str(p)) for p in providers], dtype="string")
    usage = usage.reindex(providers)
    priced = usage["priced"].fillna(0).to_numpy(dtype="int64") > 0
    estimated = np.where(priced, usage["estimated"].to_numpy(dtype="float64", na_value=0.0), np.nan)
    has_billed = np.array([p in billed.index for p in providers], dtype=bool)
    billed_usd = billed.reindex(providers).to_numpy(dtype="float64", na_value=np.nan)
    out["estimated"] = pd.array(estimated, dtype="Float64")
    out["billed"] = pd.array(np.where(has_billed, billed_usd, np.nan), dtype="Float64")
    # one basis per provider and day: a day its bill has not reached counts its estimate
    counted_billed, counted_estimated = headline_rows(frame)
    cost = frame["cost_usd"].to_numpy(dtype="float64", na_value=np.nan)
    keys = frame["provider"].astype("string").fillna(UNKNOWN).to_numpy(dtype=object)
    spend, basis = [], []
    for provider, billed_here, priced_here in zip(providers, has_billed, priced, strict=True):
        rows = keys == str(provider)
        late = rows & counted_estimated & (cost != 0)
        money = np.nansum(cost[rows & (counted_billed | counted_estimated)])
        spend.append(money if billed_here or priced_here else np.nan)
        basis.append(basis_of(bool(billed_here), bool(late.any())))
    out["spend"] = pd.array(np.asarray(spend, dtype="float64"), dtype="Float64")
    out["basis"] = pd.array(basis, dtype="string")
    counts = _requests_or_na(usage.fillna(0).astype({"counted": "int64", "uncounted": "int64"}))
    out["requests"] = pd.array(counts["requests"].to_numpy(), dtype="Int64")
    out["total_tokens"] = usage["total_tokens"].fillna(0).to_numpy(dtype="int64")
    out = _with_share(out, "spend")
    columns = ["provider", "label", "spend", "basis", "estimated", "billed", "requests"]
    out = out[[*columns, "total_tokens", "share"]]
    return _sorted_by_money(out, "spend", ["label"])


def _key_projects(df: pd.DataFrame) -> pd.Series:
    """The usage table into each key's project name (its id where unnamed), e.g. key-1 -> Prod."""
    rows = df.loc[df["api_key_id"].notna(), ["api_key_id", "project_id", "project_name"]]
    project = rows["project_name"].astype("string").fillna(rows["project_id"].astype("string"))
    named = pd.DataFrame({"key": rows["api_key_id"].astype("string"), "project": project})
    named = named.dropna(subset=["project"]).drop_duplicates("key")
    return named.set_index("key")["project"]


def user_detail(
    df: pd.DataFrame,
    user_id: str,
    *,
    start: Any = None,
    end: Any = None,
    value: str = "cost_usd",
    top_n: int = 8,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The usage table and a user id into (daily series by model, ``by_model`` table) for that user.

    ``user_id`` may be ``NO_USER`` for org-level usage; ``start``/``end``/``value``/``top_n`` go to
    ``daily``, e.g. ``user_detail(df, "user-1")[0]`` has columns ``date, group, value``.
    """
    rows = filter_usage(df, users=[user_id])
    return daily(rows, by="model", value=value, top_n=top_n, start=start, end=end), by_model(rows)


# --- freshness, billed vs estimated, unpriced ----------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """How recent the data is and which days may still change."""

    #: last day with any row (None when there are no rows)
    data_through: dt.date | None
    #: last day that ended more than ``FINAL_AFTER`` before now
    final_through: dt.date
    #: days in the data after ``final_through``
    pending_days: int
    text: str


def freshness(df: pd.DataFrame, *, now: dt.datetime) -> Freshness:
    """The usage table and the time into how final it is, e.g. ``"Data through 2026-11-23; ..."``.

    The text reads "Data through 2026-11-23; the last 2 days may still change".

    A day (UTC) is final once it ended more than 48 hours before ``now``; a naive ``now`` is UTC.
    """
    stamp = pd.Timestamp(now)
    stamp = stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp
    # day d is final when d + 1 day + 48 h < now; ceil() keeps "exactly 48 h ago" not final
    final_through = ((stamp - FINAL_AFTER).ceil("D") - pd.Timedelta(days=2)).date()
    if not len(df) or df["date"].isna().all():
        return Freshness(None, final_through, 0, "No data yet.")
    data_through = as_day(df["date"].max()).date()
    pending = max((data_through - final_through).days, 0)
    if pending == 0:
        tail = "every day is final"
    elif pending == 1:
        tail = "the last day may still change"
    else:
        tail = f"the last {pending} days may still change"
    return Freshness(
        data_through, final_through, pending, f"Data through {data_through.isoformat()}; {tail}"
    )


def billed_vs_estimated(df: pd.DataFrame, *, start: Any = None, end: Any = None) -> pd.DataFrame:
    """The usage table into money per day, e.g. ``date=2026-01-02, billed=12.5, estimated=11.9``.

    Every day in [start, end] is present. ``estimated`` sums priced usage rows; ``billed`` sums
    Costs API rows (0 on days without any) and is NA throughout when the table has no billed rows at
    all, as is ``gap = billed - estimated``.
    """
    first, last = _span(df, start, end)
    days = _days(first, last)
    lean = _lean(df.loc[_in_range(df, first, last)])
    sums = (
        lean.groupby("date", sort=False)[["estimated", "billed"]]
        .sum()
        .reindex(days, fill_value=0.0)
    )
    frame = pd.DataFrame({"date": days.to_numpy()})
    frame["estimated"] = sums["estimated"].to_numpy(dtype="float64")
    has_billed = bool(df["cost_basis"].eq("billed").any())
    billed = sums["billed"].to_numpy(dtype="float64")
    frame["billed"] = pd.array(billed if has_billed else [pd.NA] * len(days), dtype="Float64")
    frame["estimated"] = frame["estimated"].astype("Float64")
    frame["gap"] = frame["billed"] - frame["estimated"]
    return frame[["date", "billed", "estimated", "gap"]]


def unpriced(df: pd.DataFrame) -> pd.DataFrame:
    """Usage rows into the models and units without a price, e.g. ``dall-e-3 | image | ...``.

    Columns: ``model, model_family, operation, unit, rows, requests, input_tokens,
    cached_input_tokens, output_tokens, total_tokens, units, first_date, last_date``; sorted by
    total tokens, then units, then requests, all desc. ``requests`` is NA for a model whose rows
    have no request count (Anthropic's).
    """
    keys = ["model", "model_family", "operation", "unit"]
    lean = _lean(df, ["model", "model_family"], ["operation", "unit"])
    lean = lean.loc[lean["unpriced"].to_numpy() == 1]
    frame = (
        lean.groupby(keys, sort=False, dropna=False, observed=True)
        .agg(
            rows=("unpriced", "sum"),
            **{name: (name, "sum") for name in _TOKEN_COLUMNS},
            counted=("counted", "sum"),
            uncounted=("uncounted", "sum"),
            units=("units", "sum"),
            first_date=("date", "min"),
            last_date=("date", "max"),
        )
        .reset_index()
    )
    for column in keys:
        frame[column] = frame[column].astype("string")
    frame = _requests_or_na(frame).drop(columns=["counted", "uncounted"])
    ordered = frame.sort_values(
        ["total_tokens", "units", "requests", "model"], ascending=[False, False, False, True]
    )
    return ordered.reset_index(drop=True)
