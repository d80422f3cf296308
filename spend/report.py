"""The alerts report: budgets, month-end forecasts, spikes and savings for one month, as typed
objects that the Budgets page, the Overview's month card and ``python -m spend alerts`` share.

``evaluate`` gives a ``Report``; ``Report.to_json()`` is what ``alerts --json`` prints (its field
names and order are a stable interface for cron and CI). Money is rounded to cents; a figure that
cannot be known is None, never 0.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from spend.analysis import filter_usage
from spend.budgets import SCOPES, Budget, Measure, measure_budget, month_start, scope_mask
from spend.forecast import Forecast, crossing_date, forecast_month, history_window
from spend.pricing import PriceTable
from spend.routes import view_url
from spend.savings import savings
from spend.spikes import find_newcomers, find_spikes

#: Days checked for spikes and newcomers, ending at ``as_of`` (a weekly cron still sees each day).
SPIKE_DAYS = 7


def _money(value: float | None) -> float | None:
    """USD into cents for the report, e.g. ``12.3456 -> 12.35``; None stays None."""
    return None if value is None or not math.isfinite(value) else round(float(value), 2)


@dataclass(frozen=True)
class BudgetEntry:
    """One budget's month so far and its forecast, e.g. the organization at $1,234.56 of $1,500.

    Forecast figures are None when there is not enough history (``enough_history`` false).
    """

    key: str
    scope: str  # organization, project, api_key, user or model
    id: str | None
    name: str | None  # the scope's display name (an API string), None when not seen
    known: bool  # usage of this id was seen
    origin: str  # file, secrets or openai
    kind: str  # budget, spend_limit or spend_alert
    note: str | None
    budget_usd: float | None
    spent_usd: float | None
    percent: float
    overrun: bool  # spent is at or past the amount
    basis: str  # billed or estimated money
    unpriced_rows: int
    enough_history: bool
    forecast_usd: float | None
    forecast_low: float | None
    forecast_high: float | None
    crossing_date: date | None  # when the forecast reaches (or spending reached) the amount
    alert_at: tuple[float, ...]
    crossed: tuple[float, ...]  # thresholds passed so far this month
    link: str | None  # the app's view of the month, filtered to the scope

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, e.g. ``{"key": "organization:-", ..., "crossing_date": "2025-03-30"}``."""
        return {
            "key": self.key,
            "scope": self.scope,
            "id": self.id,
            "name": self.name,
            "known": self.known,
            "origin": self.origin,
            "kind": self.kind,
            "note": self.note,
            "budget_usd": self.budget_usd,
            "spent_usd": self.spent_usd,
            "percent": self.percent,
            "overrun": self.overrun,
            "basis": self.basis,
            "unpriced_rows": self.unpriced_rows,
            "enough_history": self.enough_history,
            "forecast_usd": self.forecast_usd,
            "forecast_low": self.forecast_low,
            "forecast_high": self.forecast_high,
            "crossing_date": self.crossing_date.isoformat() if self.crossing_date else None,
            "alert_at": list(self.alert_at),
            "crossed": list(self.crossed),
            "link": self.link,
        }


@dataclass(frozen=True)
class SpikeEntry:
    """One day far above its own usual for a user, model, project or key (or a newcomer's first
    day): ``cost_usd`` that day against ``typical_usd``."""

    date: date
    dimension: str  # user, model, project or api_key
    id: str
    name: str | None  # an API string
    cost_usd: float | None
    typical_usd: float | None
    z: float | None  # robust z-score; None for a newcomer
    link: str | None  # the app's view of that day, filtered to it

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "dimension": self.dimension,
            "id": self.id,
            "name": self.name,
            "cost_usd": self.cost_usd,
            "typical_usd": self.typical_usd,
            "z": self.z,
            "link": self.link,
        }


@dataclass(frozen=True)
class Watch:
    """Spikes, newcomers and what caching and batch saved this month: the report's second half."""

    spikes: tuple[SpikeEntry, ...]
    newcomers: tuple[SpikeEntry, ...]
    cached_input_saved: float | None
    batch_saved: float | None  # None when the source cannot tell batch usage apart
    cached_input_share: float
    savings_unpriced_rows: int


@dataclass(frozen=True)
class Failure:
    """A message a target refused (it is sent again on the next run)."""

    event: str
    target: str  # the target's label (Apprise's privacy form)


@dataclass
class Report:
    """Budgets and the watch for ``as_of``'s month; delivery fills ``notified`` and ``failed``."""

    as_of: date
    budgets: list[BudgetEntry]
    watch: Watch
    notices: list[str] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)

    @property
    def month(self) -> str:
        """E.g. ``"2025-03"``."""
        return self.as_of.strftime("%Y-%m")

    @property
    def spikes(self) -> tuple[SpikeEntry, ...]:
        return self.watch.spikes

    @property
    def newcomers(self) -> tuple[SpikeEntry, ...]:
        return self.watch.newcomers

    @property
    def overrun(self) -> bool:
        """Whether a budget (not an OpenAI spend alert: that is only a threshold) is at 100% or
        more."""
        return any(entry.kind != "spend_alert" and entry.overrun for entry in self.budgets)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form ``alerts --json`` prints, e.g. ``{"as_of": "2025-03-12", "month":
        "2025-03", "budgets": [...], "spikes": [...], "newcomers": [...], "savings_usd":
        {"cached_input": 1.2, "batch": None}, ..., "notified": [], "failed": []}``."""
        return {
            "as_of": self.as_of.isoformat(),
            "month": self.month,
            "budgets": [entry.to_dict() for entry in self.budgets],
            "spikes": [entry.to_dict() for entry in self.spikes],
            "newcomers": [entry.to_dict() for entry in self.newcomers],
            "savings_usd": {
                "cached_input": self.watch.cached_input_saved,
                "batch": self.watch.batch_saved,
            },
            "cached_input_share": self.watch.cached_input_share,
            "savings_unpriced_rows": self.watch.savings_unpriced_rows,
            "notices": list(self.notices),
            "notified": list(self.notified),
            "failed": [{"event": f.event, "target": f.target} for f in self.failed],
        }

    def to_json(self) -> str:
        """The text ``alerts --json`` prints (indented JSON, without the final newline)."""
        return json.dumps(self.to_dict(), indent=2)


def _scope_ids(frame: pd.DataFrame, budget: Budget) -> list[str]:
    """A budget into the filter values of its view, e.g. a model family -> its snapshot ids, a
    user named by e-mail -> the user's id."""
    if budget.id is None:
        return []
    if budget.scope not in ("model", "user"):
        return [budget.id]
    column = SCOPES[budget.scope]
    rows = frame.loc[scope_mask(frame, budget.scope, budget.id), column].dropna()
    return sorted(set(rows.astype(str))) or [budget.id]


def budget_entry(
    frame: pd.DataFrame, measure: Measure, forecast: Forecast, *, app_url: str | None
) -> BudgetEntry:
    """A measured budget and its forecast into the report's entry."""
    budget = measure.budget
    return BudgetEntry(
        key=budget.key,
        scope=budget.scope,
        id=budget.id,
        name=measure.name,
        known=measure.known,
        origin=budget.origin,
        kind=budget.kind,
        note=budget.note,
        budget_usd=_money(budget.monthly_usd),
        spent_usd=_money(measure.spent_usd),
        percent=round(measure.percent, 1),
        overrun=measure.spent_usd >= budget.monthly_usd,
        basis=measure.basis,
        unpriced_rows=measure.unpriced_rows,
        enough_history=forecast.enough_history,
        forecast_usd=_money(forecast.forecast_usd),
        forecast_low=_money(forecast.low_usd),
        forecast_high=_money(forecast.high_usd),
        crossing_date=crossing_date(measure.daily, forecast, budget.monthly_usd),
        alert_at=tuple(budget.alert_at),
        crossed=tuple(measure.crossed),
        link=view_url(
            app_url,
            scope=budget.scope,
            ids=_scope_ids(frame, budget),
            start=month_start(measure.as_of),
            end=measure.as_of,
        ),
    )


def spike_entries(found: pd.DataFrame, *, app_url: str | None) -> tuple[SpikeEntry, ...]:
    """Spike or newcomer rows into report entries, each linking to its day."""
    entries = []
    for row in found.itertuples(index=False):
        day = row.date.date()
        entries.append(
            SpikeEntry(
                date=day,
                dimension=row.dimension,
                id=row.id,
                name=row.name,
                cost_usd=_money(row.cost_usd),
                typical_usd=_money(row.typical_usd),
                z=None if math.isnan(row.z) else round(row.z, 1),
                link=view_url(app_url, scope=row.dimension, ids=[row.id], start=day, end=day),
            )
        )
    return tuple(entries)


def evaluate(
    frame: pd.DataFrame,
    budgets: Sequence[Budget],
    as_of: date,
    *,
    overrides: PriceTable | None = None,
    spike_days: int = SPIKE_DAYS,
    app_url: str | None = None,
    notices: Iterable[str] = (),
) -> Report:
    """The usage table and budgets into the report for ``as_of``'s month. Only days up to
    ``as_of`` count.

    :param frame: the priced usage table, holding ``history_window(as_of)`` (forecasts) and the
        28 days before the spike days
    :param budgets: file, secrets and OpenAI budgets
    :param as_of: the last complete UTC day
    :param overrides: the price file the table was priced with (for savings)
    :param spike_days: days ending at ``as_of`` checked for spikes and newcomers
    :param app_url: the app's address, for links (``SPEND_APP_URL``)
    """
    frame = filter_usage(frame, end=as_of)  # only the days up to as_of count
    return Report(
        as_of,
        budget_entries(frame, budgets, as_of, app_url=app_url),
        watch(frame, as_of, overrides=overrides, spike_days=spike_days, app_url=app_url),
        notices=list(notices),
    )


#: The organization as a scope (its amount is never shown: ``organization_month`` measures it).
ORGANIZATION = Budget("organization", None, math.inf)


def history_start(frame: pd.DataFrame, as_of: date) -> date:
    """The first day of a forecast's history in a table: the table's first day within
    ``history_window(as_of)``, e.g. a table from Aug 1 and as_of Dec 4 -> Oct 10; a younger
    organization's first day; the month's first day when the window has no rows. The same for
    any table that holds the window, however much earlier it starts."""
    first, _ = history_window(as_of)
    dates = frame["date"]
    within = dates[((dates >= pd.Timestamp(first)) & (dates <= pd.Timestamp(as_of))).to_numpy()]
    return within.min().date() if len(within) else month_start(as_of)


def month_forecast(frame: pd.DataFrame, budget: Budget, as_of: date) -> tuple[Measure, Forecast]:
    """A budget's month so far and its month-end forecast at ``as_of``, on the forecast's own
    history (``history_window``): what ``alerts``, the Budgets page and the Overview's card
    show, the same for any table that holds the window.

    :param frame: the usage table, cut at ``as_of``, holding at least ``history_window(as_of)``
    """
    measure = measure_budget(frame, budget, as_of=as_of, history_start=history_start(frame, as_of))
    first, _ = history_window(as_of)
    dates = frame["date"]
    if not ((dates >= pd.Timestamp(first)) & (dates <= pd.Timestamp(as_of))).any():
        return measure, forecast_month(measure.daily.iloc[:0], as_of)  # no usage: no forecast
    return measure, forecast_month(measure.daily, as_of)


def organization_month(frame: pd.DataFrame, as_of: date) -> tuple[Measure, Forecast]:
    """The whole organization's month so far and forecast (``month_forecast``): the month card's
    figures, on the basis an organization budget counts."""
    return month_forecast(frame, ORGANIZATION, as_of)


def budget_entries(
    frame: pd.DataFrame, budgets: Sequence[Budget], as_of: date, *, app_url: str | None = None
) -> list[BudgetEntry]:
    """Each budget's month so far and forecast (``frame`` already cut at ``as_of``): the report's
    ``budgets``, which is all the Overview's month-end card needs."""
    entries = []
    for budget in budgets:
        measure, forecast = month_forecast(frame, budget, as_of)
        entries.append(budget_entry(frame, measure, forecast, app_url=app_url))
    return entries


def watch(
    frame: pd.DataFrame,
    as_of: date,
    *,
    overrides: PriceTable | None = None,
    spike_days: int = SPIKE_DAYS,
    app_url: str | None = None,
) -> Watch:
    """Spikes, newcomers and savings (``frame`` already cut at ``as_of``)."""
    first = as_of - timedelta(days=spike_days - 1)
    saved = savings(filter_usage(frame, start=month_start(as_of)), overrides=overrides)
    return Watch(
        spikes=spike_entries(find_spikes(frame, start=first, end=as_of), app_url=app_url),
        newcomers=spike_entries(find_newcomers(frame, start=first, end=as_of), app_url=app_url),
        cached_input_saved=_money(saved.cached_input_usd),
        batch_saved=_money(saved.batch_usd) if saved.batch_reported else None,
        cached_input_share=round(saved.cached_share, 4),
        savings_unpriced_rows=saved.unpriced_rows,
    )
