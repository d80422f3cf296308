"""``python -m spend alerts``: budgets, forecast, spikes and savings for cron, sent via Apprise.

    python -m spend alerts [--source auto|legacy|admin|demo] [--as-of YYYY-MM-DD]
                           [--budgets FILE] [--notify URL ...] [--json] [--fail-on-overrun]

One run evaluates the month of ``--as-of`` (default: yesterday, UTC; it counts as the last complete
day) into a report (``evaluate``, the JSON ``--json`` prints), then sends what is new:

- one message per budget and threshold crossed, at most once per calendar month;
- one message per spike (and per newcomer key or model), once per (day, dimension, id).

What was sent is kept in a small JSON file under the cache dir (``alerts/state-<fingerprint>.json``,
folder 0700, file 0600), per notification target, so rerunning the same day sends nothing new and a
failed delivery (Apprise's ``notify`` said no) is not marked sent: the next run sends it again.
Targets are Apprise URLs (Slack, Teams, Discord, e-mail, ``json://`` webhooks, ...); they are
checked before anything is fetched, and only shown with Apprise's own privacy masking.

Budgets come from ``--budgets``, else ``SPEND_BUDGETS_FILE``; with an admin key, OpenAI's own spend
limits and alerts (``AdminSource.spend_controls``) join them (read-only; a refused or missing
endpoint is a notice). Messages link to the app's view of the day or month when ``SPEND_APP_URL``
is set.

Exit codes: 0; 3 when a budget has crossed 100% and ``--fail-on-overrun`` is given; 1 with one
``error: ...`` line for a bad key, file, URL or date. The API key is never printed, stored or sent.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode

import pandas as pd

from spend import errors
from spend.analysis import filter_usage
from spend.budgets import (
    Budget,
    Measure,
    load_budgets,
    measure_budget,
    month_start,
    scope_mask,
)
from spend.config import SOURCE_CHOICES, Settings
from spend.dates import parse_day
from spend.forecast import Forecast, crossing_date, forecast_month
from spend.formatting import usd
from spend.pricing import PriceTable
from spend.savings import savings
from spend.sources import make_source
from spend.spikes import find_newcomers, find_spikes

#: Days checked for spikes and newcomers, ending at ``as_of`` (a weekly cron still sees each day).
SPIKE_DAYS = 7
#: History loaded before the month's first day: forecast bands and spike windows need it.
HISTORY_DAYS = 90
#: Sent-message records older than this are dropped from the state file.
KEEP_STATE_DAYS = 120
EXIT_OVERRUN = 3
STATE_VERSION = 1
#: The app's page (``url_path``) that explains each scope; "" is the Overview.
VIEW_PAGES = {
    "organization": "",
    "project": "projects",
    "api_key": "projects",
    "user": "users",
    "model": "models",
}
#: Scope -> the query-string filter the app reads (``spend/ui/query.py``'s ``LISTS``).
VIEW_FILTERS = {"project": "project", "api_key": "key", "user": "user", "model": "model"}
#: How each dimension is named in a message.
LABELS = {
    "organization": "Organization",
    "project": "Project",
    "api_key": "API key",
    "user": "User",
    "model": "Model",
}


# --------------------------------------------------------------------------------------------
# Links into the app


def view_url(
    app_url: str | None,
    *,
    scope: str,
    ids: Iterable[str] = (),
    start: date,
    end: date,
) -> str | None:
    """The app's URL and a view into a link, e.g. ``scope="user", ids=["u1"]``, one day ->
    ``"https://x.app/users?range=custom&start=2025-03-11&end=2025-03-11&user=u1"``.

    None without ``app_url`` (``SPEND_APP_URL`` unset); ``"/"`` gives a relative link for a page.
    """
    if not app_url:
        return None
    query: list[tuple[str, str]] = [
        ("range", "custom"),
        ("start", start.isoformat()),
        ("end", end.isoformat()),
    ]
    name = VIEW_FILTERS.get(scope)
    if name:
        query.extend((name, value) for value in ids)
    page = VIEW_PAGES.get(scope, "")
    return f"{app_url.rstrip('/')}/{page}?{urlencode(query)}"


def _scope_ids(frame: pd.DataFrame, budget: Budget) -> list[str]:
    """A budget into the filter values of its view, e.g. a model family -> its snapshot ids."""
    if budget.id is None:
        return []
    if budget.scope != "model":
        return [budget.id]
    rows = frame.loc[scope_mask(frame, "model", budget.id), "model"].dropna()
    return sorted(set(rows.astype(str))) or [budget.id]


# --------------------------------------------------------------------------------------------
# The report


def _money(value: float | None) -> float | None:
    """USD into cents for the report, e.g. ``12.3456 -> 12.35``; None stays None."""
    return None if value is None or not math.isfinite(value) else round(float(value), 2)


def budget_entry(
    frame: pd.DataFrame, measure: Measure, forecast: Forecast, *, app_url: str | None
) -> dict[str, Any]:
    """A measured budget and its forecast into the report's budget entry (JSON-ready).

    E.g. ``{"scope": "organization", "id": None, "name": "Organization", "budget_usd": 1500.0,
    "spent_usd": 1234.56, "basis": "billed", "forecast_usd": 2100.0, ..., "crossed": [50, 80]}``.
    Forecast figures are None when there is not enough history (``enough_history`` false).
    """
    budget = measure.budget
    crosses = crossing_date(measure.daily, forecast, budget.monthly_usd)
    return {
        "key": budget.key,
        "scope": budget.scope,
        "id": budget.id,
        "name": measure.name,
        "known": measure.known,
        "origin": budget.origin,
        "kind": budget.kind,
        "note": budget.note,
        "budget_usd": _money(budget.monthly_usd),
        "spent_usd": _money(measure.spent_usd),
        "percent": round(measure.percent, 1),
        "overrun": measure.spent_usd >= budget.monthly_usd,
        "basis": measure.basis,
        "unpriced_rows": measure.unpriced_rows,
        "enough_history": forecast.enough_history,
        "forecast_usd": _money(forecast.forecast_usd),
        "forecast_low": _money(forecast.low_usd),
        "forecast_high": _money(forecast.high_usd),
        "crossing_date": crosses.isoformat() if crosses else None,
        "alert_at": list(budget.alert_at),
        "crossed": measure.crossed,
        "link": view_url(
            app_url,
            scope=budget.scope,
            ids=_scope_ids(frame, budget),
            start=month_start(measure.as_of),
            end=measure.as_of,
        ),
    }


def spike_entries(found: pd.DataFrame, *, app_url: str | None) -> list[dict[str, Any]]:
    """Spike or newcomer rows into report entries, e.g. ``{"date": "2025-03-11", "id": ...}``."""
    entries = []
    for row in found.itertuples(index=False):
        day = row.date.date()
        entries.append(
            {
                "date": day.isoformat(),
                "dimension": row.dimension,
                "id": row.id,
                "name": row.name,
                "cost_usd": _money(row.cost_usd),
                "typical_usd": _money(row.typical_usd),
                "z": None if math.isnan(row.z) else round(row.z, 1),
                "link": view_url(app_url, scope=row.dimension, ids=[row.id], start=day, end=day),
            }
        )
    return entries


def evaluate(
    frame: pd.DataFrame,
    budgets: Sequence[Budget],
    as_of: date,
    *,
    overrides: PriceTable | None = None,
    spike_days: int = SPIKE_DAYS,
    app_url: str | None = None,
    notices: Iterable[str] = (),
) -> dict[str, Any]:
    """The usage table and budgets into the alerts report for ``as_of``'s month (JSON-ready).

    E.g. ``{"as_of": "2025-03-12", "month": "2025-03", "budgets": [...], "spikes": [...],
    "newcomers": [...], "savings_usd": {"cached_input": 1.2, "batch": 0.0}, "notified": []}``.
    Only days up to ``as_of`` count. ``notified`` stays empty here: delivery fills it.

    :param frame: the priced usage table, with history before the month (forecast, spikes)
    :param budgets: file, secrets and OpenAI budgets
    :param as_of: the last complete UTC day
    :param overrides: the price file the table was priced with (for savings)
    :param spike_days: days ending at ``as_of`` checked for spikes and newcomers
    :param app_url: the app's address, for links (``SPEND_APP_URL``)
    """
    frame = filter_usage(frame, end=as_of)  # only the days up to as_of count
    return report_of(
        as_of,
        budget_entries(frame, budgets, as_of, app_url=app_url),
        watch(frame, as_of, overrides=overrides, spike_days=spike_days, app_url=app_url),
        notices=notices,
    )


def budget_entries(
    frame: pd.DataFrame, budgets: Sequence[Budget], as_of: date, *, app_url: str | None = None
) -> list[dict[str, Any]]:
    """Each budget's month so far and forecast (``frame`` already cut at ``as_of``): the report's
    ``budgets``, which is all the Overview's month-end card needs."""
    entries = []
    for budget in budgets:
        measure = measure_budget(frame, budget, as_of=as_of)
        forecast = forecast_month(measure.daily, as_of)
        entries.append(budget_entry(frame, measure, forecast, app_url=app_url))
    return entries


def watch(
    frame: pd.DataFrame,
    as_of: date,
    *,
    overrides: PriceTable | None = None,
    spike_days: int = SPIKE_DAYS,
    app_url: str | None = None,
) -> dict[str, Any]:
    """Spikes, newcomers and savings (``frame`` already cut at ``as_of``): the report's other
    part, e.g. ``{"spikes": [...], "newcomers": [...], "savings_usd": {...}, ...}``."""
    first = as_of - timedelta(days=spike_days - 1)
    saved = savings(filter_usage(frame, start=month_start(as_of)), overrides=overrides)
    return {
        "spikes": spike_entries(find_spikes(frame, start=first, end=as_of), app_url=app_url),
        "newcomers": spike_entries(find_newcomers(frame, start=first, end=as_of), app_url=app_url),
        "savings_usd": {
            "cached_input": _money(saved.cached_input_usd),
            "batch": _money(saved.batch_usd) if saved.batch_reported else None,
        },
        "cached_input_share": round(saved.cached_share, 4),
        "savings_unpriced_rows": saved.unpriced_rows,
    }


def report_of(
    as_of: date,
    budgets: list[dict[str, Any]],
    watched: Mapping[str, Any],
    *,
    notices: Iterable[str] = (),
) -> dict[str, Any]:
    """The budgets part and the watch part into one report (the shape ``evaluate`` returns)."""
    return {
        "as_of": as_of.isoformat(),
        "month": as_of.strftime("%Y-%m"),
        "budgets": budgets,
        **watched,
        "notices": list(notices),
        "notified": [],
        "failed": [],
    }


def overrun(report: Mapping[str, Any]) -> bool:
    """Whether a budget (not an OpenAI spend alert: that is only a threshold) is at 100% or more."""
    return any(entry["kind"] != "spend_alert" and entry["overrun"] for entry in report["budgets"])


# --------------------------------------------------------------------------------------------
# Messages


@dataclass(frozen=True)
class Message:
    """One notification: the event it is about (its state key), a title and a body."""

    event: str
    title: str
    body: str


def _who(entry: Mapping[str, Any], scope: str) -> str:
    """A report entry into how a message names it, e.g. ``"project Research (proj_1)"``."""
    if scope == "organization":
        return "the organization"
    name = entry.get("name")
    label = LABELS[scope].lower() if scope != "api_key" else "API key"
    if entry.get("known") is False:
        return f"{label} {entry['id']} (no usage seen: unknown)"
    return (
        f"{label} {name} ({entry['id']})"
        if name and name != entry["id"]
        else f"{label} {entry['id']}"
    )


def _budget_title(entry: Mapping[str, Any]) -> str:
    """An entry into its name, e.g. ``"OpenAI hard limit of project Research (proj_1)"``.

    OpenAI's spend alerts carry their amount (there may be several): ``"OpenAI spend alert at
    $1,000.00 of the organization"``.
    """
    what = {
        "budget": "budget",
        "spend_limit": "OpenAI hard limit",
        "spend_alert": f"OpenAI spend alert at {usd(entry['budget_usd'])}",
    }
    return f"{what[entry['kind']]} of {_who(entry, entry['scope'])}"


def budget_message(
    report: Mapping[str, Any], entry: Mapping[str, Any], threshold: float
) -> Message:
    """A crossed threshold into its message: what crossed, spent vs budget, the forecast, a link."""
    subject = _budget_title(entry)
    lines = [
        f"The {subject} passed {threshold:g}% in {report['month']}: {usd(entry['spent_usd'])} of "
        f"{usd(entry['budget_usd'])} spent ({entry['percent']:g}%, {entry['basis']} money) "
        f"by {report['as_of']}."
    ]
    if entry["unpriced_rows"]:
        lines.append(f"{entry['unpriced_rows']} usage rows have no price and are not counted.")
    if entry["enough_history"]:
        band = f"{usd(entry['forecast_low'])} to {usd(entry['forecast_high'])}"
        line = f"Forecast for the month: {usd(entry['forecast_usd'])} (80% band {band})"
        if entry["crossing_date"] and not entry["overrun"]:
            line += f"; it reaches {usd(entry['budget_usd'])} around {entry['crossing_date']}"
        lines.append(line + ".")
    else:
        lines.append("Not enough history yet for a month-end forecast.")
    if entry.get("link"):
        lines.append(f"View: {entry['link']}")
    title = f"OpenAI spend: {subject} passed {threshold:g}%"
    return Message(
        f"budget:{report['month']}:{entry['key']}:{threshold:g}", title, "\n".join(lines)
    )


def spike_message(entry: Mapping[str, Any], *, newcomer: bool) -> Message:
    """A spike or newcomer entry into its message, e.g. "User Ada (user-1) spent $120.00 on ...".

    The event is ``spike:<day>:<dimension>:<id>`` (``newcomer:...``), sent once.
    """
    who = _who({**entry, "known": True}, entry["dimension"])
    if newcomer:
        title = f"OpenAI spend: new {who} on {entry['date']}"
        body = (
            f"Usage from a new {who} started on {entry['date']}: {usd(entry['cost_usd'])} that day."
        )
    else:
        title = f"OpenAI spend: spike from {who} on {entry['date']}"
        body = (
            f"{who[0].upper() + who[1:]} spent {usd(entry['cost_usd'])} on {entry['date']}, "
            f"against a typical day of {usd(entry['typical_usd'])} (estimated money)."
        )
    if entry.get("link"):
        body += f"\nView: {entry['link']}"
    kind = "newcomer" if newcomer else "spike"
    return Message(f"{kind}:{entry['date']}:{entry['dimension']}:{entry['id']}", title, body)


def messages_for(report: Mapping[str, Any]) -> list[Message]:
    """A report into every message it warrants (before state filtering), budgets first."""
    messages = [
        budget_message(report, entry, threshold)
        for entry in report["budgets"]
        for threshold in entry["crossed"]
    ]
    messages += [spike_message(entry, newcomer=False) for entry in report["spikes"]]
    messages += [spike_message(entry, newcomer=True) for entry in report["newcomers"]]
    return messages


# --------------------------------------------------------------------------------------------
# Notification targets (Apprise) and state


@contextlib.contextmanager
def _quiet_apprise_import() -> Iterator[None]:
    """Apprise's e-mail plugin imports ``imghdr`` (deprecated in 3.11): that warning is not ours."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*'imghdr' is deprecated", category=DeprecationWarning
        )
        yield


@dataclass
class Target:
    """One Apprise URL: a label safe to show and store (Apprise's privacy form, hashed id)."""

    label: str
    key: str  # sha256 of the URL (the URL may hold a token): the state's name for it
    service: Any = field(repr=False)

    def send(self, message: Message) -> bool:
        """Deliver one message; False when Apprise reports a failure (never raises for that)."""
        with _quiet_apprise_import():
            return bool(self.service.notify(body=message.body, title=message.title))


def make_targets(urls: Sequence[str]) -> list[Target]:
    """Apprise URLs into targets, or ``ConfigError`` for the first one Apprise cannot use.

    E.g. ``["json://127.0.0.1:8080/hook"]`` -> one target labelled ``json://127.0.0.1:8080/hook``.
    The error names the URL's position and scheme, never the rest (it may hold a token).
    """
    with _quiet_apprise_import():
        import apprise

        targets = []
        for position, url in enumerate(urls, start=1):
            service = apprise.Apprise()
            if not service.add(url):
                scheme = url.split("://", 1)[0] if "://" in url else "(none)"
                raise errors.ConfigError(
                    f"--notify URL {position} (scheme {scheme!r}) is not an Apprise URL this "
                    "installation can use; see https://github.com/caronc/apprise/wiki"
                )
            label = service[0].url(privacy=True).split("?", 1)[0]
            key = hashlib.sha256(url.encode()).hexdigest()[:16]
            targets.append(Target(label=label, key=key, service=service))
    return targets


def state_path(settings: Settings) -> Path:
    """Settings into the state file (one per credential), e.g. ``<cache>/alerts/state-ab.json``."""
    return Path(settings.cache_dir) / "alerts" / f"state-{settings.fingerprint}.json"


class AlertState:
    """What was sent to which target: ``{"version": 1, "sent": {event: {target key: iso time}}}``.

    Read with ``load``, written atomically (0600, folder 0700) with ``save``; ``locked`` holds an
    exclusive lock so two cron runs never send the same message twice.
    """

    def __init__(self, path: Path, sent: dict[str, dict[str, str]] | None = None) -> None:
        self.path = path
        self.sent: dict[str, dict[str, str]] = sent or {}

    @classmethod
    def load(cls, path: Path) -> AlertState:
        """The state file into an ``AlertState`` (a missing file is an empty state)."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as exc:
            raise errors.CacheError(
                f"The alerts state file {path} cannot be read ({type(exc).__name__}); "
                "delete it to start again (messages of this month may then repeat)."
            ) from exc
        sent = document.get("sent") if isinstance(document, dict) else None
        if not isinstance(sent, dict):
            raise errors.CacheError(f"The alerts state file {path} is not in the expected form.")
        return cls(path, {str(k): dict(v) for k, v in sent.items() if isinstance(v, dict)})

    def is_sent(self, event: str, target: Target) -> bool:
        return target.key in self.sent.get(event, {})

    def mark(self, event: str, target: Target, when: datetime) -> None:
        self.sent.setdefault(event, {})[target.key] = when.isoformat(timespec="seconds")

    def prune(self, now: datetime, keep_days: int = KEEP_STATE_DAYS) -> None:
        """Forget events whose every delivery is older than ``keep_days``."""
        horizon = now - timedelta(days=keep_days)
        self.sent = {
            event: targets
            for event, targets in self.sent.items()
            if any(_parse_time(stamp) >= horizon for stamp in targets.values())
        }

    def save(self) -> None:
        """Write the state atomically: a 0600 temporary file in a 0700 folder, then rename."""
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
        temporary = folder / f".{self.path.name}.tmp"
        text = json.dumps({"version": STATE_VERSION, "sent": self.sent}, indent=1, sort_keys=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
        os.replace(temporary, self.path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive lock on ``<state>.lock`` (other runs wait)."""
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
        descriptor = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)


def _parse_time(stamp: str) -> datetime:
    """An ISO time into an aware datetime; unreadable ones count as very old."""
    try:
        parsed = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def deliver(
    messages: Sequence[Message], targets: Sequence[Target], state: AlertState, *, now: datetime
) -> tuple[list[str], list[dict[str, str]]]:
    """Send each message to each target that has not had it; mark only what was delivered.

    Returns (events delivered to at least one target this run, failures as ``{"event", "target"}``).
    """
    sent: list[str] = []
    failed: list[dict[str, str]] = []
    for message in messages:
        for target in targets:
            if state.is_sent(message.event, target):
                continue
            if target.send(message):
                state.mark(message.event, target, now)
                if message.event not in sent:
                    sent.append(message.event)
            else:
                failed.append({"event": message.event, "target": target.label})
    return sent, failed


# --------------------------------------------------------------------------------------------
# OpenAI's spend controls (admin key)


# --------------------------------------------------------------------------------------------
# The command


def add_alerts_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``alerts`` command to ``python -m spend``'s subparsers; return its parser."""
    command = subparsers.add_parser(
        "alerts",
        help="check budgets, the month-end forecast and spikes; notify through Apprise",
        description=(
            "Evaluate the month of --as-of (default: yesterday, UTC) against budgets, forecast "
            "the month end, find spikes, and send each new alert once to every --notify URL."
        ),
    )
    command.add_argument("--source", choices=SOURCE_CHOICES, default=None, help="default: auto")
    command.add_argument(
        "--as-of",
        type=parse_day,
        default=None,
        help="the last complete UTC day (default: yesterday)",
    )
    command.add_argument(
        "--budgets", default=None, help="a budgets TOML file (default: SPEND_BUDGETS_FILE)"
    )
    command.add_argument(
        "--notify",
        action="append",
        default=[],
        metavar="URL",
        help="an Apprise URL (slack://, mailto://, json://, ...); repeat for several",
    )
    command.add_argument("--json", action="store_true", help="print the report as JSON")
    command.add_argument(
        "--fail-on-overrun", action="store_true", help="exit 3 when a budget has crossed 100%%"
    )
    command.add_argument(
        "--history-days",
        type=int,
        default=HISTORY_DAYS,
        help=f"days loaded before the month for forecasts and spikes (default {HISTORY_DAYS})",
    )
    command.add_argument(
        "-v", "--verbose", action="store_true", help="log each request (never the key)"
    )
    command.set_defaults(handler=run_alerts)
    return command


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """A report into the plain-text lines the command prints without ``--json``."""
    lines = [f"{report['month']} as of {report['as_of']}"]
    for entry in report["budgets"]:
        line = (
            f"{_budget_title(entry)}: {usd(entry['spent_usd'])} of {usd(entry['budget_usd'])} "
            f"({entry['percent']:g}%, {entry['basis']})"
        )
        if entry["enough_history"]:
            line += (
                f"; forecast {usd(entry['forecast_usd'])} ({usd(entry['forecast_low'])} to "
                f"{usd(entry['forecast_high'])})"
            )
            if entry["crossing_date"]:
                verb = "reached it on" if entry["overrun"] else "reaches it around"
                line += f", {verb} {entry['crossing_date']}"
        else:
            line += "; not enough history for a forecast"
        if entry["unpriced_rows"]:
            line += f"; {entry['unpriced_rows']} unpriced rows not counted"
        lines.append(line)
    if not report["budgets"]:
        lines.append("no budgets (set --budgets or SPEND_BUDGETS_FILE)")
    for kind in ("spikes", "newcomers"):
        for entry in report[kind]:
            lines.append(spike_message(entry, newcomer=kind == "newcomers").title.split(": ", 1)[1])
    saved = report["savings_usd"]
    batch = "unknown for this source" if saved["batch"] is None else usd(saved["batch"])
    lines.append(
        f"saved this month: cached input {usd(saved['cached_input'])} "
        f"({report['cached_input_share']:.0%} of input tokens cached), batch {batch}"
    )
    if report["savings_unpriced_rows"]:
        lines.append(f"  ({report['savings_unpriced_rows']} unpriced rows claim no savings)")
    return lines


def run_alerts(
    args: argparse.Namespace,
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run ``python -m spend alerts`` with parsed ``args``; return the exit code (0, 1 or 3)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    environ = os.environ if environ is None else environ
    try:
        settings = Settings.from_env(environ)
        if args.source:
            settings = settings.with_(source=args.source)
        targets = make_targets(args.notify)
        budgets_file = args.budgets or settings.budgets_file
        budgets = load_budgets(budgets_file) if budgets_file else []
        now = datetime.fromtimestamp(clock(), tz=UTC)
        as_of = args.as_of or now.date() - timedelta(days=1)
        if as_of >= now.date():
            raise errors.ConfigError(
                f"--as-of {as_of} is not a complete day yet; pick a day before {now.date()} (UTC)"
            )
        if args.history_days < 0:
            raise errors.ConfigError("--history-days must be 0 or more")
        source = make_source(settings, clock=clock, sleep=sleep)
        try:
            result = source.load(month_start(as_of) - timedelta(days=args.history_days), as_of)
            notices = list(result.notices)
            if result.partial:
                notices.append(
                    f"{result.missing_requests} answers are missing: figures may be too low; "
                    "run again to fetch them"
                )
            if source.client is not None:  # a source with spend controls (admin) reads them
                projects = result.frame["project_id"].dropna().astype(str).unique()
                found, more = source.spend_controls(projects)
                budgets = [*budgets, *found]
                notices += more
        finally:
            close = getattr(source.client, "close", None)
            if close is not None:
                close()
        report = evaluate(
            result.frame,
            budgets,
            as_of,
            overrides=source.prices,
            app_url=settings.app_url,
            notices=notices,
        )
        if targets:
            state = AlertState(state_path(settings))
            with state.locked():
                state = AlertState.load(state.path)
                sent, failed = deliver(messages_for(report), targets, state, now=now)
                state.prune(now)
                state.save()
            report["notified"], report["failed"] = sent, failed
    except errors.SpendError as exc:
        stderr.write(f"error: {exc}\n")
        return 1
    for notice in report["notices"]:
        stderr.write(f"note: {notice}\n")
    if args.json:
        stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        stdout.write("\n".join(summary_lines(report)) + "\n")
        if targets:
            stdout.write(f"sent {len(report['notified'])} new alert(s)\n")
    if report["failed"]:
        labels = sorted({failure["target"] for failure in report["failed"]})
        stderr.write(
            f"warning: {len(report['failed'])} deliveries failed ({', '.join(labels)}); "
            "they are not marked sent, so the next run tries again\n"
        )
    if args.fail_on_overrun and overrun(report):
        return EXIT_OVERRUN
    return 0
