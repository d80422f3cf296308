"""Budgets, month-end forecast, spikes and savings for the pages: the same report the
``python -m spend alerts`` command evaluates (``spend.report.evaluate``), cached per table.

Budgets come from ``SPEND_BUDGETS_FILE`` (env or secrets) and ``[[budget]]`` entries in secrets
(the file's shape; ``spend.budgets.secrets_budgets``, which the command reads too); with an admin
key, OpenAI's own spend limits and alerts join them, read-only.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from spend import errors
from spend.analysis import filter_usage
from spend.budgets import (
    Budget,
    Measure,
    closest_ids,
    load_budgets,
    month_start,
    secrets_budgets,
)
from spend.cache import NON_FINAL_TTL
from spend.errors import redact
from spend.forecast import Forecast, history_window
from spend.jobs import REGISTRY
from spend.report import BudgetEntry, Report, Watch, budget_entries, organization_month, watch
from spend.ui import data
from spend.ui.data import INLINE_WAIT_SECONDS, Loaded
from spend.ui.settings import read_secrets
from spend.ui.view import View, teamed


@dataclass
class MonthEnd:
    """What the Overview's month-end card shows (and the top of the Budgets page)."""

    as_of: date  # the last complete day (in the view's zone) the figures count
    budgets: list[BudgetEntry]  # each budget's month so far and forecast (the report's)
    organization: Forecast  # the organization's month-end forecast (on its money basis)
    basis: str  # "billed", "estimated" or budgets.MIXED: where the organization's figure comes from
    daily: pd.Series  # the organization's spend per day, this month, up to as_of
    errors: list[str]  # budgets that could not be read (a clear message each)
    frame: pd.DataFrame  # the unfiltered table the figures count: the forecast's window
    first_day: date  # the first day that table holds (history for the forecast)
    token: tuple  # names that table (cache key)
    measure: Measure  # the organization's month: its billed and estimated parts, late days


@dataclass
class Steering(MonthEnd):
    """What the Budgets page shows: the month end plus spikes, newcomers and savings."""

    report: Report  # spend.report.evaluate's report (budgets, spikes, savings, ...)


def as_of_day(view: View) -> date:
    """The last complete day (in the view's zone) with data loaded, e.g. yesterday for a range
    ending today."""
    yesterday = view.today - timedelta(days=1)
    if view.full.empty:
        return min(view.end, yesterday)
    return min(view.end, yesterday, view.full["date"].max().date())


def card_day(view: View) -> date:
    """The day the month card counts through: yesterday (in the view's zone, the last complete
    day) while the range reaches into this month, never the range's own end (a range ending Dec 3
    still shows December to Dec 4 on the 5th); the last day of the range's month when that month
    is over (a range in November shows November's total)."""
    yesterday = view.today - timedelta(days=1)
    following = (view.end.replace(day=28) + timedelta(days=4)).replace(day=1)
    return min(following - timedelta(days=1), yesterday)


def month_table(view: View, start: date, day: date) -> tuple[pd.DataFrame, tuple, date]:
    """The unfiltered table of [start, day], its token and first day, for the month card and
    its forecast (``start``: ``history_window``'s first day, whatever the sidebar's range): the
    view's table cut to it when it holds it, else the window loaded apart (the same cache, the
    same source and per-user choice; e.g. a 7-day range viewed on Dec 5 loads Oct 10-Dec 4). A
    load that fails or is not ready falls back to the view's table."""
    settings = view.loaded.settings
    if (view.end >= day and view.loaded_from <= start) or settings is None:
        token = (view.loaded.token, start, day)
        return _cut(token, start, day, _frame=view.full), token, max(start, view.loaded_from)
    per_user = next((bool(p.job_key[2]) for p in view.loaded.sources if p.job_key), False)
    loaded = teamed(
        data.load(settings, start, day, per_user=per_user, may_fetch=may_fetch_window(view))
    )
    if loaded.result is None or loaded.result.partial:
        return view.full, view.loaded.token, view.loaded_from
    return loaded.result.frame, loaded.token, start


def may_fetch_window(view: View) -> bool:
    """Whether the month card may fetch its own window: only once the view's own fetch is
    done (complete, nothing running, not stopped by someone), so it never competes with it on
    the same key nor restarts what a viewer stopped; until then the card reads what is stored."""
    if not view.loaded.may_fetch or view.loaded.result is None or view.loaded.result.partial:
        return False
    return not any(
        p.job is not None and (p.job.running or p.job.stopped) for p in view.loaded.sources
    )


@st.cache_resource(max_entries=4, show_spinner=False)
def _cut(token: tuple, start: date, day: date, *, _frame: pd.DataFrame) -> pd.DataFrame:
    """A shared table cut to [start, day], once for every session (read-only, like the table)."""
    return data.freeze(filter_usage(_frame, start=start, end=day))


def _secrets_budgets() -> list[Budget]:
    return secrets_budgets(read_secrets())  # a secrets file it cannot read: ConfigError


def configured_budgets(view: View) -> tuple[list[Budget], list[str]]:
    """The file's and secrets' budgets plus OpenAI's (admin key), and notices about them."""
    budgets: list[Budget] = []
    problems: list[str] = []
    settings = view.loaded.settings
    try:
        if settings is not None and settings.budgets_file:
            budgets += _file_budgets(str(settings.budgets_file), _modified(settings.budgets_file))
        budgets += _secrets_budgets()
    except errors.ConfigError as exc:
        problems.append(str(exc))
    for part in view.loaded.sources:  # each source's own spend controls (OpenAI's admin API)
        source = part.api_source
        if source is None or part.error is not None or part.result is None:
            continue
        frame = part.result.frame if part.result is not None else view.full
        projects = tuple(sorted(frame["project_id"].dropna().astype(str).unique()))
        problems += fetch_controls(part, projects)
        who = part.token[:2]
        found, notices = _stored_controls(who, projects, source.generation, _source=source)
        budgets += found
        problems += notices
    return budgets, problems


def fetch_controls(part: Loaded, projects: tuple[str, ...]) -> list[str]:
    """Start the background fetch of a source's spend limits and alerts when some are missing
    (for whoever may fetch), like any other fetch: never while the page draws; its failure (a
    timeout, a 429) is said as the error it is, once."""
    source = part.api_source
    assert source is not None
    key = ("controls", *part.token[:2])
    job = REGISTRY.get(key)
    if job is not None and not job.running and job.error is not None:
        if time.time() - job.progress.now < NON_FINAL_TTL:  # not asked again for a while
            secrets = part.settings.secrets if part.settings is not None else ()
            said = redact(str(job.error), secrets)
            return [f"{part.title}: spend limits and alerts not read: {said}"]
        REGISTRY.forget(key)
    plan = source.controls_plan(projects)
    if plan.missing and part.may_fetch and not (job is not None and job.running):
        wait = min(INLINE_WAIT_SECONDS, plan.eta_seconds + 1.0)
        REGISTRY.start(key, source, plan).wait(timeout=wait)
    return []


def _modified(path: Any) -> int:
    """A file into its modification time (0 when missing: loading it says so)."""
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


@st.cache_data(max_entries=4, show_spinner=False)
def _file_budgets(path: str, modified: int) -> list[Budget]:
    """The budgets file, read again only when it changed (not on every rerun)."""
    return load_budgets(path)


@st.cache_data(max_entries=8, show_spinner=False)
def _stored_controls(
    who: tuple, project_ids: tuple[str, ...], generation: int, *, _source: Any
) -> tuple[list[Budget], list[str]]:
    """A source's own spend limits and alerts as stored, read again when its cache changed
    (``generation``), per credential and source (``who``)."""
    return _source.spend_controls(project_ids)


def month_end(view: View) -> MonthEnd:
    """The whole organization's month (the sidebar's filters do not apply) into budgets and the
    month-end forecast, as of yesterday (``card_day``): never cut at the range's end. The
    forecast learns from its own window (``history_window``), whatever the sidebar's range, so
    every range, the Budgets page and ``python -m spend alerts`` show the same figure."""
    day = card_day(view)
    start = history_window(day)[0]
    frame, token, first = month_table(view, start, day)
    as_of = day if frame.empty else min(day, frame["date"].max().date())
    if history_window(as_of)[0] < start:  # the data ends before ``day``: its window is earlier
        start = history_window(as_of)[0]
        frame, token, first = month_table(view, start, day)
    budgets, problems = configured_budgets(view)
    entries, measure, forecast = _month(token, tuple(budgets), as_of, _frame=frame)
    month = measure.daily[measure.daily.index >= pd.Timestamp(month_start(as_of))]
    return MonthEnd(
        as_of, entries, forecast, measure.basis, month, problems, frame, first, token, measure
    )


def steering(view: View) -> Steering:
    """The month end plus spikes, newcomers and savings: the report ``python -m spend alerts``
    evaluates (``spend.report.evaluate``), for the Budgets page."""
    month = month_end(view)
    prices = next((p.api_source.prices for p in view.loaded.sources if p.api_source), None)
    watched = _watch(month.token, month.as_of, _frame=month.frame, _prices=prices)
    report = Report(month.as_of, month.budgets, watched)
    return Steering(**vars(month), report=report)


# Both steps run once per table (``token`` names it), budgets and day for every session; the
# Overview needs only the first.
@st.cache_data(ttl=600, max_entries=8, show_spinner=False)
def _month(
    token: tuple, budgets: tuple[Budget, ...], as_of: date, *, _frame: pd.DataFrame
) -> tuple[list[BudgetEntry], Measure, Forecast]:
    """The budgets' entries, the organization's month (its money, basis and parts) and its
    month-end forecast: ``spend.report``'s, as ``alerts`` computes them."""
    until = filter_usage(_frame, end=as_of)
    entries = budget_entries(until, list(budgets), as_of, app_url="/")
    measure, forecast = organization_month(until, as_of)
    return entries, measure, forecast


@st.cache_data(ttl=600, max_entries=8, show_spinner=False)
def _watch(token: tuple, as_of: date, *, _frame: pd.DataFrame, _prices: Any) -> Watch:
    """Spikes, newcomers and savings."""
    return watch(filter_usage(_frame, end=as_of), as_of, overrides=_prices, app_url="/")


#: Percent of a budget used from which it reads "near" (amber); at or past 100 % it is "over" (red).
NEAR_PERCENT = 80.0
#: Each status's words (colour is never the only sign) and its cell style on the Budgets page.
STATUS_TEXT = {"over": "over budget", "near": "near (≥ 80 %)", "ok": "under"}
STATUS_STYLE = {
    "over": "background-color: rgba(214, 39, 40, 0.18); color: #a51d1d; font-weight: 600",
    "near": "background-color: rgba(255, 170, 0, 0.22); color: #8a5300; font-weight: 600",
    "ok": "",
}


def budget_status(percent: float) -> str:
    """A budget's percent used into "over" (100 % or more), "near" (80 % or more) or "ok"."""
    if percent >= 100.0:
        return "over"
    return "near" if percent >= NEAR_PERCENT else "ok"


def budget_label(entry: BudgetEntry, frame: pd.DataFrame | None = None) -> str:
    """Whose budget an entry is, e.g. "Research (project)", "Organization", or for an id with no
    usage "user-nobdy (user; no usage seen; closest: user-nobody)" when ``frame`` knows close ids
    or e-mails (``spend.budgets.closest_ids``)."""
    if entry.scope == "organization":
        return entry.name or "Organization"
    scope = entry.scope.replace("_", " ")
    if entry.known:
        return f"{entry.name or entry.id} ({scope})"
    closest = closest_ids(frame, entry.scope, entry.id) if frame is not None else []
    hint = f"; closest: {', '.join(closest)}" if closest else ""
    return f"{entry.name or entry.id} ({scope}; no usage seen{hint})"


def nearest_budget(entries: list[BudgetEntry]) -> BudgetEntry | None:
    """The budget closest to (or furthest past) its limit, e.g. the one at 92%."""
    entries = [e for e in entries if e.known and e.budget_usd]
    return max(entries, key=lambda e: e.percent, default=None)
