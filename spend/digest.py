"""The digest: one message a week (or a month) that says where the money went.

``build_digest`` turns the usage table into a typed ``Digest``, once; ``spend.notify`` renders it
for each target's format and ``Digest.to_json()`` is what ``python -m spend digest --json``
prints. It holds:

- **the period's spend against the one before, like for like** (``spend.dates.comparison``): a
  week (the 7 days ending ``as_of``) against the 7 days before; a month to date against as many
  days of the same weekdays before it; a whole calendar month against the month before, per day.
  ``Spend.label`` says what is compared with what;
- **the month to date against the forecast** (``spend.forecast.forecast_month``) **and each
  budget** (``spend.report.budget_entries``: the very entries the alerts send);
- **the top movers** per user, model, project and team (when the table has a ``team`` column),
  with their change in money;
- **the largest spike** and **the savings** (``spend.report.watch``, as the alerts have them);
- a **link** into the app for each line (``spend.routes.view_url``; None without an app URL).

Money is billed where billed: a usage row counts its allocated billed money (``billed_usd``,
``spend.allocate``) when it has some, else its estimate (``cost_usd``), and each figure says
which (``basis``: ``billed``, ``estimated`` or ``mixed``, with the estimated part); a usage row
with neither is counted in ``unpriced_rows``, never summed as $0. Billed rows themselves
(``cost_basis == "billed"``) are not counted again: their money is on the usage rows. Spikes are
on estimated money (``spend.spikes``), and budgets on their own basis (``spend.budgets``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from spend.allocate import row_money
from spend.analysis import filter_usage
from spend.budgets import MIXED, Budget, month_start
from spend.dates import comparison, month_bounds
from spend.pricing import PriceTable
from spend.report import (
    ORGANIZATION,
    BudgetEntry,
    SpikeEntry,
    budget_entries,
    month_forecast,
    watch,
)
from spend.routes import view_url

#: The periods a digest covers.
PERIODS = ("week", "month")
#: Movers shown per dimension.
TOP_MOVERS = 3
#: Dimension -> (id column, name columns in order of preference); ``team`` only when the table
#: has the column (``spend.teams``).
MOVER_DIMENSIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "user": ("user_id", ("user_name", "user_email")),
    "model": ("model", ()),
    "project": ("project_id", ("project_name",)),
    "team": ("team", ()),
}


def _money(value: float | None) -> float | None:
    """USD into cents, e.g. ``12.3456 -> 12.35``; None (and NaN) stays None."""
    return None if value is None or not math.isfinite(value) else round(float(value), 2)


@dataclass(frozen=True)
class Spend:
    """The period's spend and the one it is compared with.

    ``spend_usd`` and ``previous_usd`` are the periods' totals; ``current_usd`` and
    ``compared_usd`` are what is compared: the totals, or with ``per_day`` (a calendar month
    against the month before) each period's average per day. ``change_pct`` is a fraction, None
    when nothing was spent before.
    """

    start: date
    end: date
    previous_start: date
    previous_end: date
    label: str  # what is compared with what, e.g. "Jun 13–19 vs Jun 6–12: the week just before"
    per_day: bool
    spend_usd: float
    previous_usd: float
    current_usd: float
    compared_usd: float
    change_usd: float
    change_pct: float | None
    basis: str  # billed, estimated or mixed (billed where billed, estimated where not yet)
    estimated_usd: float  # the part of spend_usd that is an estimate (all of it when estimated)
    previous_basis: str
    unpriced_rows: int  # usage rows of the period with no price and no billed money
    rows: int  # usage rows in the period (0: no usage at all)
    link: str | None
    previous_link: str | None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous_days(self) -> int:
        return (self.previous_end - self.previous_start).days + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "previous_start": self.previous_start.isoformat(),
            "previous_end": self.previous_end.isoformat(),
            "label": self.label,
            "per_day": self.per_day,
            "spend_usd": self.spend_usd,
            "previous_usd": self.previous_usd,
            "current_usd": self.current_usd,
            "compared_usd": self.compared_usd,
            "change_usd": self.change_usd,
            "change_pct": self.change_pct,
            "basis": self.basis,
            "estimated_usd": self.estimated_usd,
            "previous_basis": self.previous_basis,
            "unpriced_rows": self.unpriced_rows,
            "rows": self.rows,
            "link": self.link,
            "previous_link": self.previous_link,
        }


@dataclass(frozen=True)
class MonthToDate:
    """``as_of``'s month so far and its month-end forecast (None without enough history)."""

    month: str  # e.g. "2026-06"
    start: date
    end: date
    spent_usd: float
    basis: str
    enough_history: bool
    forecast_usd: float | None
    forecast_low: float | None
    forecast_high: float | None
    link: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "spent_usd": self.spent_usd,
            "basis": self.basis,
            "enough_history": self.enough_history,
            "forecast_usd": self.forecast_usd,
            "forecast_low": self.forecast_low,
            "forecast_high": self.forecast_high,
            "link": self.link,
        }


@dataclass(frozen=True)
class Mover:
    """A user, model, project or team whose spend changed most, e.g. model gpt-4o +$120.00.

    ``change_usd`` compares like ``Spend``: totals, or averages per day with ``Spend.per_day``.
    """

    dimension: str  # user, model, project or team
    id: str
    name: str | None  # an API string (a team's name is the teams file's)
    spend_usd: float
    previous_usd: float
    change_usd: float
    change_pct: float | None  # None: nothing spent before (new)
    link: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "id": self.id,
            "name": self.name,
            "spend_usd": self.spend_usd,
            "previous_usd": self.previous_usd,
            "change_usd": self.change_usd,
            "change_pct": self.change_pct,
            "link": self.link,
        }


@dataclass(frozen=True)
class Saved:
    """What caching and batch saved in the month to date (``report.Watch``'s savings)."""

    start: date
    end: date
    cached_input_usd: float | None
    batch_usd: float | None  # None when the source cannot tell batch usage apart
    cached_input_share: float
    unpriced_rows: int
    link: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "cached_input_usd": self.cached_input_usd,
            "batch_usd": self.batch_usd,
            "cached_input_share": self.cached_input_share,
            "unpriced_rows": self.unpriced_rows,
            "link": self.link,
        }


@dataclass
class Digest:
    """One digest; delivery fills ``notified`` and ``failed`` (target labels)."""

    period: str  # week or month
    as_of: date
    team: str | None
    spend: Spend
    month: MonthToDate
    budgets: list[BudgetEntry]
    movers: list[Mover]
    movers_basis: str  # billed, estimated or mixed
    spike: SpikeEntry | None
    saved: Saved
    notices: list[str] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def event(self) -> str:
        """E.g. ``"digest:week:2026-06-19"`` (``:team`` with a team)."""
        tail = f":{self.team}" if self.team is not None else ""
        return f"digest:{self.period}:{self.as_of.isoformat()}{tail}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form ``digest --json`` prints, e.g. ``{"period": "week", "as_of":
        "2026-06-19", "team": null, "spend": {...}, "month": {...}, "budgets": [...], "movers":
        [...], "movers_basis": "billed", "spike": {...} | null, "saved": {...}, "notices": [],
        "notified": [], "failed": []}``."""
        return {
            "period": self.period,
            "as_of": self.as_of.isoformat(),
            "team": self.team,
            "spend": self.spend.to_dict(),
            "month": self.month.to_dict(),
            "budgets": [entry.to_dict() for entry in self.budgets],
            "movers": [mover.to_dict() for mover in self.movers],
            "movers_basis": self.movers_basis,
            "spike": self.spike.to_dict() if self.spike else None,
            "saved": self.saved.to_dict(),
            "notices": list(self.notices),
            "notified": list(self.notified),
            "failed": list(self.failed),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


# --------------------------------------------------------------------------------------------
# Money: billed where billed


@dataclass(frozen=True)
class _Rows:
    """Usage rows with their money: ``money`` is billed where billed, else the estimate (0 where
    neither: those rows are counted in ``unpriced``)."""

    frame: pd.DataFrame
    money: np.ndarray
    billed: np.ndarray  # bool: the row's money is billed
    unpriced: np.ndarray  # bool: neither billed nor priced

    def within(self, start: date, end: date) -> _Rows:
        days = self.frame["date"]
        mask = ((days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))).to_numpy(dtype=bool)
        return _Rows(self.frame.loc[mask], self.money[mask], self.billed[mask], self.unpriced[mask])

    @property
    def total(self) -> float:
        return float(self.money.sum())

    @property
    def estimated(self) -> float:
        return float(self.money[~self.billed].sum())

    @property
    def basis(self) -> str:
        if not self.billed.any():
            return "estimated"
        priced = ~self.billed & ~self.unpriced
        has_estimate = bool(priced.any() and self.money[priced].any())
        return "mixed" if has_estimate else "billed"


def _usage_rows(frame: pd.DataFrame) -> _Rows:
    """The table into its usage rows (billed rows dropped: their money is on the usage rows)."""
    found = row_money(frame)
    rows = found.usage
    return _Rows(frame.loc[rows], found.money[rows], found.billed[rows], found.unpriced[rows])


def _combined(*parts: _Rows) -> str:
    """The basis of several sets of rows together, e.g. billed and estimated -> "mixed"; sets
    without a row say nothing."""
    found = {rows.basis for rows in parts if len(rows.frame)}
    if not found:
        return "estimated"
    return found.pop() if len(found) == 1 else "mixed"


def _change(current: float, previous: float) -> tuple[float, float | None]:
    return current - previous, ((current - previous) / previous if previous else None)


# --------------------------------------------------------------------------------------------
# The parts


def period_bounds(period: str, as_of: date) -> tuple[date, date]:
    """A period and its last day into its days, e.g. ``("week", Jun 19) -> (Jun 13, Jun 19)``,
    ``("month", Jun 19) -> (Jun 1, Jun 19)``."""
    if period == "week":
        return as_of - timedelta(days=6), as_of
    if period == "month":
        return month_start(as_of), as_of
    raise ValueError(f"period must be one of {PERIODS}, not {period!r}")


def _spend(rows: _Rows, period: str, as_of: date, *, app_url: str | None) -> Spend:
    start, end = period_bounds(period, as_of)
    compared = comparison("custom", start, end, end + timedelta(days=1))
    assert compared.current is not None and compared.previous is not None  # end is complete
    now, then = rows.within(start, end), rows.within(*compared.previous)
    days = (end - start).days + 1
    previous_days = (compared.previous[1] - compared.previous[0]).days + 1
    current, before = now.total, then.total
    if compared.per_day:
        current, before = current / days, before / previous_days
    change, pct = _change(_money(current) or 0.0, _money(before) or 0.0)
    return Spend(
        start=start,
        end=end,
        previous_start=compared.previous[0],
        previous_end=compared.previous[1],
        label=compared.label,
        per_day=compared.per_day,
        spend_usd=_money(now.total) or 0.0,
        previous_usd=_money(then.total) or 0.0,
        current_usd=_money(current) or 0.0,
        compared_usd=_money(before) or 0.0,
        change_usd=round(change, 2),
        change_pct=None if pct is None else round(pct, 4),
        basis=now.basis,
        estimated_usd=_money(now.estimated) or 0.0,
        previous_basis=then.basis,
        unpriced_rows=int(now.unpriced.sum()),
        rows=len(now.frame),
        link=view_url(app_url, scope="organization", start=start, end=end),
        previous_link=view_url(
            app_url, scope="organization", start=compared.previous[0], end=compared.previous[1]
        ),
    )


def _month(
    frame: pd.DataFrame, as_of: date, *, team: str | None, app_url: str | None
) -> MonthToDate:
    """The month to date and its forecast: the organization's exactly as the Overview's card,
    the Budgets page and ``alerts`` give it (``report.month_forecast``, its own 56-day history);
    a team's as its team budget counts it (``frame``: the team's rows)."""
    first = month_start(as_of)
    budget = ORGANIZATION if team is None else Budget("team", team, math.inf)
    measure, forecast = month_forecast(frame, budget, as_of)
    return MonthToDate(
        month=as_of.strftime("%Y-%m"),
        start=first,
        end=as_of,
        spent_usd=_money(measure.spent_usd) or 0.0,
        basis="mixed" if measure.basis == MIXED else measure.basis,
        enough_history=forecast.enough_history,
        forecast_usd=_money(forecast.forecast_usd),
        forecast_low=_money(forecast.low_usd),
        forecast_high=_money(forecast.high_usd),
        link=view_url(app_url, scope="organization", start=first, end=as_of, page="budgets"),
    )


def _sums(rows: _Rows, column: str) -> pd.Series:
    ids = rows.frame[column].astype("string")
    keep = ids.notna().to_numpy(dtype=bool)
    return (
        pd.Series(rows.money[keep], index=ids[keep].to_numpy(dtype=object)).groupby(level=0).sum()
    )


def _names(rows: _Rows, column: str, name_columns: Iterable[str]) -> dict[str, str]:
    """Each id's latest name, e.g. ``{"proj_1": "Research"}`` (ids without one are left out)."""
    names: dict[str, str] = {}
    frame = rows.frame.sort_values("date", kind="stable")
    for name_column in reversed(tuple(name_columns)):  # the preferred column's names win
        if name_column not in frame.columns:
            continue
        pairs = frame[[column, name_column]].dropna()
        names.update(zip(pairs[column].astype(str), pairs[name_column].astype(str), strict=True))
    return names


def movers(
    rows_now: _Rows,
    rows_then: _Rows,
    spend: Spend,
    *,
    top: int = TOP_MOVERS,
    skip: Iterable[str] = (),
    app_url: str | None = None,
) -> list[Mover]:
    """The ``top`` largest changes in money per dimension (users, models, projects, teams), by
    size of the change, largest first; unchanged ids and rows without an id are left out."""
    found: list[Mover] = []
    for dimension, (column, name_columns) in MOVER_DIMENSIONS.items():
        if dimension in skip or column not in rows_now.frame.columns:
            continue
        now, then = _sums(rows_now, column), _sums(rows_then, column)
        both = now.add(then, fill_value=0.0).index
        now, then = now.reindex(both, fill_value=0.0), then.reindex(both, fill_value=0.0)
        if spend.per_day:
            current, before = now / spend.days, then / spend.previous_days
        else:
            current, before = now, then
        change = (current.round(2) - before.round(2)).round(2)
        change = change[change != 0]
        order = change.abs().sort_values(ascending=False, kind="stable").index[:top]
        names = _names(rows_then, column, name_columns) | _names(rows_now, column, name_columns)
        for key in order:
            previous = float(before[key])
            found.append(
                Mover(
                    dimension=dimension,
                    id=str(key),
                    name=names.get(key),
                    spend_usd=_money(float(now[key])) or 0.0,
                    previous_usd=_money(float(then[key])) or 0.0,
                    change_usd=float(change[key]),
                    change_pct=None
                    if not round(previous, 2)
                    else round(float(change[key]) / round(previous, 2), 4),
                    link=view_url(
                        app_url, scope=dimension, ids=[str(key)], start=spend.start, end=spend.end
                    ),
                )
            )
    return found


def largest_spike(spikes: Sequence[SpikeEntry]) -> SpikeEntry | None:
    """The spike furthest above its typical day in money, e.g. $80 against $10 before $50 against
    $5; None when there is none."""
    if not spikes:
        return None
    return max(spikes, key=lambda s: ((s.cost_usd or 0.0) - (s.typical_usd or 0.0), s.date))


# --------------------------------------------------------------------------------------------
# The digest


def build_digest(
    frame: pd.DataFrame,
    period: str,
    as_of: date,
    budgets: Sequence[Budget] = (),
    *,
    app_url: str | None = None,
    team: str | None = None,
    overrides: PriceTable | None = None,
    notices: Iterable[str] = (),
    top: int = TOP_MOVERS,
) -> Digest:
    """The usage table into the digest of the ``period`` ("week" or "month") ending ``as_of``.

    :param frame: the priced usage table, reaching back before the month and the period compared
        with (the forecast and the spikes learn from the days before)
    :param period: "week": the 7 days ending ``as_of``; "month": ``as_of``'s month up to it
    :param as_of: the last complete day
    :param budgets: the budgets (file, secrets and the provider's own spend controls); with
        ``team``, only the team's own (``scope = "team"``, ``id`` the team) count
    :param app_url: the app's address, for links (``SPEND_APP_URL``)
    :param team: only the rows whose ``team`` column is this (``spend.teams.with_teams``)
    :param overrides: the price file the table was priced with (for savings)
    :raises ValueError: for an unknown period, or a team on a table without a ``team`` column
    """
    start, end = period_bounds(period, as_of)
    frame = filter_usage(frame, end=as_of)  # only the days up to as_of count
    if team is not None:
        if "team" not in frame.columns:
            raise ValueError("the usage table has no team column: load the teams file first")
        mine = frame["team"].astype("string").eq(team).to_numpy(dtype=bool, na_value=False)
        frame = frame.loc[mine].reset_index(drop=True)
        budgets = [b for b in budgets if b.scope == "team" and b.id == team]
    rows = _usage_rows(frame)
    spend = _spend(rows, period, as_of, app_url=app_url)
    now = rows.within(spend.start, spend.end)
    then = rows.within(spend.previous_start, spend.previous_end)
    watched = watch(
        frame, as_of, overrides=overrides, spike_days=(end - start).days + 1, app_url=app_url
    )
    first, _ = month_bounds(as_of)
    return Digest(
        period=period,
        as_of=as_of,
        team=team,
        spend=spend,
        month=_month(frame, as_of, team=team, app_url=app_url),
        budgets=budget_entries(frame, budgets, as_of, app_url=app_url),
        movers=movers(now, then, spend, top=top, skip=("team",) if team else (), app_url=app_url),
        movers_basis=_combined(now, then),
        spike=largest_spike(watched.spikes),
        saved=Saved(
            start=first,
            end=as_of,
            cached_input_usd=watched.cached_input_saved,
            batch_usd=watched.batch_saved,
            cached_input_share=watched.cached_input_share,
            unpriced_rows=watched.savings_unpriced_rows,
            link=view_url(app_url, scope="organization", start=first, end=as_of),
        ),
        notices=list(notices),
    )
