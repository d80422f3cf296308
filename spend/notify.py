"""Alert notifications: the messages a report warrants, their text in each target's format, delivery
through Apprise, and the state of what was sent.

- **Messages.** One per budget and threshold crossed (once per calendar month), one per spike or
  newcomer (once per day, dimension and id). A message is made of our own words, API strings
  (``Api``: user, model, project, key and workspace names and ids) and links (``Link``).
- **Formats.** Each target gets the message in the format its service renders, with every API
  string escaped for it: plain text (``json://`` and other text services: JSON-encoded by Apprise,
  nothing to escape), Markdown (Teams, Discord, Telegram's markdown, ...: every ASCII punctuation
  mark is backslash-escaped, so no link, mention or markup comes from a name), Slack (the Markdown
  Apprise turns into Slack ``mrkdwn``: ``&``, ``<`` and ``>`` end up as entities, so no
  ``<!channel>`` mention or ``<url|label>`` link comes from a name) and HTML (e-mail:
  HTML-escaped). A service's format is the one its Apprise plugin resolves (``?format=`` in the
  URL picks another).
- **Secrets.** A notification URL may hold a token (Slack's ``T…/B…/…`` is its webhook path).
  Targets are shown and stored only by Apprise's privacy form and a hash; while Apprise runs, its
  own log lines and urllib3's are filtered so no token of a target's URL reaches a log, even with
  ``-v``.
- **State.** What was sent is kept in a small JSON file under the cache dir
  (``alerts/state-<fingerprint>.json``, folder 0700, file 0600, written with ``spend.cache``'s
  helpers), per target, under an exclusive lock: rerunning the same day sends nothing new, and a
  failed delivery (Apprise's ``notify`` said no) is not marked sent, so the next run sends it again.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import logging
import re
import string
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from spend import cache, errors
from spend.config import Settings
from spend.dates import span
from spend.digest import Digest, Mover, Spend
from spend.formatting import delta_pct, usd
from spend.report import BudgetEntry, Failure, Report, SpikeEntry

#: Sent-message records older than this are dropped from the state file.
KEEP_STATE_DAYS = 120
STATE_VERSION = 1
#: How each dimension is named in a message.
LABELS = {
    "organization": "organization",
    "provider": "provider",
    "project": "project",
    "api_key": "API key",
    "user": "user",
    "model": "model",
    "team": "team",
}


# --------------------------------------------------------------------------------------------
# Message parts and formats


class Api(str):
    """A string from the API (a name, an id): data, escaped for the format that shows it."""


@dataclass(frozen=True)
class Link:
    """A link of ours into the app, e.g. ``Link("https://x.app/users?...", "open in the app")``."""

    url: str
    label: str


Segment = str | Api | Link
Line = tuple[Segment, ...]

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_MARKDOWN_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
#: What Apprise's CommonMark-to-mrkdwn conversion would read as markup: ``\<`` and ``\>`` become
#: ``&lt;``/``&gt;``, ``\[`` and friends plain characters; ``&`` is always made ``&amp;`` there.
_SLACK_SPECIAL = re.compile(r"([\\<>\[\]()])")


#: A money basis in plain words for messages, e.g. "(66.7%, estimated from token prices)".
BASIS_WORDS = {
    "billed": "as billed",
    "estimated": "estimated from token prices",
    "billed + estimated": "as billed, estimated for days not billed yet",
}


def _one_line(text: str) -> str:
    """An API string on one line (a newline could start a heading or a list in Markdown)."""
    return _CONTROL.sub(" ", text)


@dataclass(frozen=True)
class Dialect:
    """How one format writes API strings, links and line breaks; ``declared`` is the Apprise
    ``body_format`` the text is handed over in."""

    name: str
    declared: str  # apprise.NotifyFormat value: text, markdown or html

    def escape(self, text: str) -> str:
        text = _one_line(text)
        if self.name == "markdown":
            return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
        if self.name == "slack":
            return _SLACK_SPECIAL.sub(r"\\\1", text)
        if self.name == "html":
            return html.escape(text, quote=True)
        return text

    def link(self, link: Link) -> str:
        if self.name in ("markdown", "slack"):
            return f"[{link.label}](<{link.url}>)"
        if self.name == "html":
            return f'<a href="{html.escape(link.url, quote=True)}">{html.escape(link.label)}</a>'
        return link.url

    def line(self, segments: Line) -> str:
        """One line: our words as they are (HTML-escaped in HTML), API strings escaped."""
        out = []
        for segment in segments:
            if isinstance(segment, Link):
                out.append(self.link(segment))
            elif isinstance(segment, Api):
                out.append(self.escape(segment))
            else:
                out.append(html.escape(segment, quote=False) if self.name == "html" else segment)
        return "".join(out)

    def join(self, lines: Sequence[str]) -> str:
        return "<br/>\n".join(lines) if self.name == "html" else "\n".join(lines)


TEXT = Dialect("text", "text")
MARKDOWN = Dialect("markdown", "markdown")
SLACK = Dialect("slack", "markdown")
HTML = Dialect("html", "html")
#: Services that show plain text as Markdown, mentions and masked links included: their plain
#: text is escaped as Markdown too.
MARKDOWN_AS_TEXT = frozenset(
    {"discord", "mmost", "mmosts", "rocket", "rockets", "zulip", "guilded", "revolt"}
)


@dataclass(frozen=True)
class Message:
    """One notification: the event it is about (its state key), a title and body lines, its
    Apprise notify type (``info``, ``warning``, ``failure``: Slack and Teams colour them), and
    the news it belongs to (``group``: one budget's month; "" is its own)."""

    event: str
    head: Line
    lines: tuple[Line, ...]
    severity: str = "info"
    group: str = ""

    def render(self, dialect: Dialect) -> tuple[str, str]:
        """(title, body) in ``dialect``; the title as plain text (it is escaped the same way when a
        service blends it into the body: see ``Target.send``)."""
        return TEXT.line(self.head), dialect.join([dialect.line(line) for line in self.lines])

    @property
    def title(self) -> str:
        return TEXT.line(self.head)

    @property
    def body(self) -> str:
        return self.render(TEXT)[1]


# --------------------------------------------------------------------------------------------
# Message texts


def _who(scope: str, id_: str | None, name: str | None, *, known: bool = True) -> Line:
    """An entry into how a message names it, e.g. ``project Research (proj_1)``."""
    if scope == "organization":
        return ("the organization",)
    label = LABELS[scope]
    if not known:
        return (f"{label} ", Api(id_ or ""), " (no usage seen: unknown)")
    if name and name != id_:
        return (f"{label} ", Api(name), " (", Api(id_ or ""), ")")
    return (f"{label} ", Api(id_ or ""))


def budget_title(entry: BudgetEntry) -> Line:
    """An entry into its name, e.g. ``OpenAI hard limit of project Research (proj_1)``.

    OpenAI's spend alerts carry their amount (there may be several): ``OpenAI spend alert at
    $1,000.00 of the organization``.
    """
    what = {
        "budget": "budget",
        "spend_limit": "OpenAI hard limit",
        "spend_alert": f"OpenAI spend alert at {usd(entry.budget_usd)}",
    }
    who = _who(entry.scope, entry.id, entry.name, known=entry.known)
    return (f"{what[entry.kind]} of ", *who)


def _view(link: str | None) -> list[Line]:
    return [("View: ", Link(link, "open in the app"))] if link else []


def budget_message(report: Report, entry: BudgetEntry, threshold: float) -> Message:
    """A crossed threshold into its message: what crossed, spent vs budget, the forecast, a link.

    Its type is ``failure`` at or over 100% of a budget or hard limit, else ``warning``.
    """
    subject = budget_title(entry)
    said = f" passed {threshold:g}% in {report.month}: "
    head = ("OpenAI spend: ", *subject, f" passed {threshold:g}%")
    event = f"budget:{report.month}:{entry.key}:{threshold:g}"
    severity = "failure" if threshold >= 100 and entry.kind != "spend_alert" else "warning"
    return Message(event, head, _budget_lines(report, entry, said), severity, _group(report, entry))


def forecast_overrun(entry: BudgetEntry) -> bool:
    """Whether a budget (or hard limit) is forecast to be crossed this month while its spending is
    still below it."""
    return (
        entry.kind != "spend_alert"
        and not entry.overrun
        and entry.enough_history
        and entry.crossing_date is not None
        and entry.forecast_usd is not None
        and entry.budget_usd is not None
        and entry.forecast_usd >= entry.budget_usd
    )


def forecast_message(report: Report, entry: BudgetEntry) -> Message:
    """A forecast overrun into its message (type ``warning``), sent once per budget and month:
    "The budget of ... is forecast to reach $3,100.00, crossing $3,000.00 around 2025-03-30"."""
    subject = budget_title(entry)
    said = (
        f" is forecast to reach {usd(entry.forecast_usd)} in {report.month}, crossing "
        f"{usd(entry.budget_usd)} around {entry.crossing_date}: "
    )
    head = ("OpenAI spend: ", *subject, f" is forecast to pass {usd(entry.budget_usd)}")
    event = f"forecast:{report.month}:{entry.key}"
    lines = _budget_lines(report, entry, said)
    return Message(event, head, lines, "warning", _group(report, entry))


def _group(report: Report, entry: BudgetEntry) -> str:
    return f"budget:{report.month}:{entry.key}"


def _budget_lines(report: Report, entry: BudgetEntry, said: str) -> tuple[Line, ...]:
    """A budget's message body: what happened (``said``), spent vs budget, the forecast, a link."""
    subject = budget_title(entry)
    lines: list[Line] = [
        (
            "The ",
            *subject,
            f"{said}{usd(entry.spent_usd)} of "
            f"{usd(entry.budget_usd)} spent ({entry.percent:g}%, {BASIS_WORDS[entry.basis]}) "
            f"by {report.as_of.isoformat()}.",
        )
    ]
    if entry.unpriced_rows:
        lines.append((f"{entry.unpriced_rows} usage rows have no price and are not counted.",))
    if entry.enough_history:
        band = f"{usd(entry.forecast_low)} to {usd(entry.forecast_high)}"
        line = f"Forecast for the month: {usd(entry.forecast_usd)} (80% band {band})"
        if entry.crossing_date and not entry.overrun:
            line += f"; it reaches {usd(entry.budget_usd)} around {entry.crossing_date}"
        lines.append((line + ".",))
    else:
        lines.append(("Not enough history yet for a month-end forecast.",))
    lines += _view(entry.link)
    return tuple(lines)


def spike_title(entry: SpikeEntry, *, newcomer: bool) -> Line:
    """E.g. ``spike from user Ada (user-1) on 2025-03-18``, ``new model gpt-5 on 2025-03-18``."""
    who = _who(entry.dimension, entry.id, entry.name)
    if newcomer:
        return ("new ", *who, f" on {entry.date}")
    return ("spike from ", *who, f" on {entry.date}")


def spike_message(entry: SpikeEntry, *, newcomer: bool) -> Message:
    """A spike or newcomer entry into its message, e.g. "User Ada (user-1) spent $120.00 on ...".

    The event is ``spike:<day>:<dimension>:<id>`` (``newcomer:...``), sent once.
    """
    who = _who(entry.dimension, entry.id, entry.name)
    if newcomer:
        line: Line = (
            "Usage from a new ",
            *who,
            f" started on {entry.date}: {usd(entry.cost_usd)} that day.",
        )
    else:
        first = who[0]
        line = (
            first[0].upper() + first[1:],
            *who[1:],
            f" spent {usd(entry.cost_usd)} on {entry.date}, against a typical day of "
            f"{usd(entry.typical_usd)} ({BASIS_WORDS['estimated']}).",
        )
    kind = "newcomer" if newcomer else "spike"
    head = ("OpenAI spend: ", *spike_title(entry, newcomer=newcomer))
    event = f"{kind}:{entry.date}:{entry.dimension}:{entry.id}"
    return Message(event, head, (line, *_view(entry.link)), "info" if newcomer else "warning")


def budget_news(report: Report, entry: BudgetEntry) -> list[Message]:
    """Everything a budget has to say this month, most severe first: over budget (the highest
    threshold at or over 100% first), then a forecast overrun, then the other thresholds.

    ``deliver`` sends a target only the first of them it has not had, and counts the rest as told.
    """
    crossed = sorted(entry.crossed, reverse=True)
    messages = [budget_message(report, entry, threshold) for threshold in crossed]
    over = [message for message in messages if message.severity == "failure"]
    below = [message for message in messages if message.severity != "failure"]
    forecast = [forecast_message(report, entry)] if forecast_overrun(entry) else []
    return over + forecast + below


def messages_for(report: Report) -> list[Message]:
    """A report into every message it warrants (before state filtering), budgets first, each
    budget's most severe news first."""
    messages = [message for entry in report.budgets for message in budget_news(report, entry)]
    messages += [spike_message(entry, newcomer=False) for entry in report.spikes]
    messages += [spike_message(entry, newcomer=True) for entry in report.newcomers]
    return messages


def summary_lines(report: Report) -> list[str]:
    """A report into the plain-text lines the command prints without ``--json``."""
    lines = [f"{report.month} as of {report.as_of}"]
    for entry in report.budgets:
        line = (
            f"{TEXT.line(budget_title(entry))}: {usd(entry.spent_usd)} of "
            f"{usd(entry.budget_usd)} ({entry.percent:g}%, {entry.basis})"
        )
        if entry.enough_history:
            line += (
                f"; forecast {usd(entry.forecast_usd)} ({usd(entry.forecast_low)} to "
                f"{usd(entry.forecast_high)})"
            )
            if entry.crossing_date:
                verb = "reached it on" if entry.overrun else "reaches it around"
                line += f", {verb} {entry.crossing_date}"
        else:
            line += "; not enough history for a forecast"
        if entry.unpriced_rows:
            line += f"; {entry.unpriced_rows} unpriced rows not counted"
        lines.append(line)
    if not report.budgets:
        lines.append("no budgets (set --budgets or SPEND_BUDGETS_FILE)")
    for newcomer, entries in ((False, report.spikes), (True, report.newcomers)):
        lines += [TEXT.line(spike_title(entry, newcomer=newcomer)) for entry in entries]
    watch = report.watch
    batch = "unknown for this source" if watch.batch_saved is None else usd(watch.batch_saved)
    lines.append(
        f"saved this month: cached input {usd(watch.cached_input_saved)} "
        f"({watch.cached_input_share:.0%} of input tokens cached), batch {batch}"
    )
    if watch.savings_unpriced_rows:
        lines.append(f"  ({watch.savings_unpriced_rows} unpriced rows claim no savings)")
    return lines


# --------------------------------------------------------------------------------------------
# The digest (``python -m spend digest``): one message, rendered like the alerts

#: A digest figure's money basis in words (``spend.digest``: billed where billed).
DIGEST_BASIS = {**BASIS_WORDS, "mixed": "as billed where billed, else estimated from token prices"}
PERIOD_WORDS = {"week": "weekly", "month": "monthly"}


def _signed(value: float, *, per_day: bool = False) -> str:
    """A change in money, e.g. ``12.3 -> "+$12.30"``, ``-4 -> "-$4.00"`` (``" a day"`` per day)."""
    return ("+" if value > 0 else "") + usd(value) + (" a day" if per_day else "")


def _pct(fraction: float | None) -> str:
    """E.g. ``0.25 -> " (+25.0%)"``; ``""`` when nothing was spent before."""
    return "" if fraction is None else f" ({delta_pct(fraction)})"


def _view_link(link: str | None) -> Line:
    return (" · ", Link(link, "view")) if link else ()


def _spend_basis(spend: Spend) -> str:
    """E.g. "as billed"; a mixed period says how much of it is an estimate."""
    if spend.basis == "mixed":
        estimated = usd(spend.estimated_usd)
        return f"as billed, {estimated} of it estimated from token prices (not billed yet)"
    return DIGEST_BASIS[spend.basis]


def digest_title(digest: Digest) -> Line:
    """E.g. ``OpenAI spend: weekly digest, Jun 13–19`` (``, team Research``)."""
    spend = digest.spend
    head: Line = (
        f"OpenAI spend: {PERIOD_WORDS[digest.period]} digest, {span(spend.start, spend.end)}",
    )
    if digest.team is not None:
        head += (", team ", Api(digest.team))
    return head


def _spend_line(digest: Digest) -> Line:
    """E.g. "Spend Jun 13–19: $1,234.56 as billed, +$120.00 (+10.8%) against $1,114.56 in
    Jun 6–12 (Jun 13–19 vs Jun 6–12: the week just before)." """
    spend = digest.spend
    when = span(spend.start, spend.end)
    before = span(spend.previous_start, spend.previous_end)
    basis = _spend_basis(spend)
    if not spend.rows:
        said = f"No usage in {when} ($0.00)"
    else:
        said = f"Spend {when}: {usd(spend.spend_usd)} {basis}"
    if spend.per_day:
        said += (
            f"; {usd(spend.current_usd)} a day against {usd(spend.compared_usd)} a day in "
            f"{before}, {_signed(spend.change_usd, per_day=True)}{_pct(spend.change_pct)}"
        )
    else:
        said += (
            f", {_signed(spend.change_usd)}{_pct(spend.change_pct)} against "
            f"{usd(spend.previous_usd)} in {before}"
        )
    if spend.previous_basis != spend.basis and spend.previous_usd:
        said += f" ({DIGEST_BASIS[spend.previous_basis]} then)"
    return (f"{said} ({spend.label}).", *_view_link(spend.link))


def _month_line(digest: Digest) -> Line:
    month = digest.month
    said = (
        f"Month to date ({span(month.start, month.end)}): {usd(month.spent_usd)} "
        f"{DIGEST_BASIS[month.basis]}"
    )
    if month.enough_history:
        said += (
            f"; forecast for the month {usd(month.forecast_usd)} (80% band "
            f"{usd(month.forecast_low)} to {usd(month.forecast_high)})."
        )
    else:
        said += "; not enough history yet for a month-end forecast."
    return (said, *_view_link(month.link))


def _budget_line(entry: BudgetEntry) -> Line:
    who = budget_title(entry)
    said = (
        f": {usd(entry.spent_usd)} of {usd(entry.budget_usd)} ({entry.percent:g}%, "
        f"{BASIS_WORDS[entry.basis]})"
    )
    if entry.enough_history:
        said += f"; forecast {usd(entry.forecast_usd)}"
        if forecast_overrun(entry):
            said += f", crossing it around {entry.crossing_date}"
    if entry.overrun and entry.kind != "spend_alert":
        said += "; over budget"
    return ("• ", *who, said + ".", *_view_link(entry.link))


def _mover_line(mover: Mover, *, per_day: bool) -> Line:
    who = (
        _who(mover.dimension, mover.id, mover.name)
        if mover.dimension in LABELS
        else (
            f"{mover.dimension} ",
            Api(mover.id),
        )
    )
    change = _signed(mover.change_usd, per_day=per_day)
    said = f": {change}{_pct(mover.change_pct) or ' (new)'}"
    said += f", {usd(mover.spend_usd)} against {usd(mover.previous_usd)}."
    return ("• ", *who, said, *_view_link(mover.link))


def digest_lines(digest: Digest) -> tuple[Line, ...]:
    """A digest into its message lines: spend, month, budgets, movers, spike, savings, notes."""
    lines: list[Line] = [_spend_line(digest)]
    if digest.spend.unpriced_rows:
        lines.append(
            (f"{digest.spend.unpriced_rows} usage rows have no price and are not counted.",)
        )
    lines.append(_month_line(digest))
    if digest.budgets:
        lines.append(("Budgets:",))
        lines += [_budget_line(entry) for entry in digest.budgets]
    if digest.movers:
        per_day = " per day" if digest.spend.per_day else ""
        lines.append((f"Top movers{per_day} ({DIGEST_BASIS[digest.movers_basis]}):",))
        lines += [_mover_line(m, per_day=digest.spend.per_day) for m in digest.movers]
    else:
        lines.append(("No change by user, model or project.",))
    spike = digest.spike
    if spike is not None:
        lines.append(
            (
                "Largest spike: ",
                *_who(spike.dimension, spike.id, spike.name),
                f" spent {usd(spike.cost_usd)} on {spike.date}, against a typical day of "
                f"{usd(spike.typical_usd)} ({BASIS_WORDS['estimated']}).",
                *_view_link(spike.link),
            )
        )
    else:
        lines.append((f"No spike in {span(digest.spend.start, digest.spend.end)}.",))
    saved = digest.saved
    batch = "unknown for this source" if saved.batch_usd is None else usd(saved.batch_usd)
    lines.append(
        (
            f"Saved {span(saved.start, saved.end)}: cached input {usd(saved.cached_input_usd)} "
            f"({saved.cached_input_share:.0%} of input tokens cached), batch {batch}.",
            *_view_link(saved.link),
        )
    )
    lines += [("Note: ", Api(notice)) for notice in digest.notices]
    return tuple(lines)


def digest_message(digest: Digest) -> Message:
    """The digest as one message (type ``warning`` when a budget is over, else ``info``)."""
    over = any(e.overrun and e.kind != "spend_alert" for e in digest.budgets)
    return Message(
        digest.event, digest_title(digest), digest_lines(digest), "warning" if over else "info"
    )


def digest_text(digest: Digest) -> str:
    """The digest as the command prints it: its title, then its lines (plain text)."""
    title, body = digest_message(digest).render(TEXT)
    return f"{title}\n{body}"


def send_digest(digest: Digest, targets: Sequence[Target]) -> tuple[list[str], list[str]]:
    """Send the digest to every target (each in its format); returns (labels it reached, labels
    that refused it). Nothing is kept: a digest is sent on every run."""
    message = digest_message(digest)
    sent: list[str] = []
    failed: list[str] = []
    for target in targets:
        (sent if target.send(message) else failed).append(target.label)
    return sent, failed


# --------------------------------------------------------------------------------------------
# Secrets out of logs

#: The loggers that write a notification URL's parts: Apprise's own, and urllib3's request lines.
TOKEN_LOGGERS = ("apprise", "urllib3.connectionpool")
_URL_PARTS = re.compile(r"[/:@?&=#,;+\s]+")


def _parts(url: str) -> set[str]:
    found = set()
    for part in _URL_PARTS.split(url):
        found |= {part, unquote(part)}
    return found


def url_secrets(url: str, plugin: Any = None) -> frozenset[str]:
    """A notification URL into the parts that may be secret, e.g. ``slack://T1/B2/C3`` -> the
    three tokens: every part Apprise's privacy form hides (without a plugin: all but the scheme).
    """
    scheme = url.split("://", 1)[0] if "://" in url else ""
    found = _parts(url)
    public = {scheme, ""}
    if plugin is not None:
        found |= _parts(plugin.url(privacy=False))
        public |= _parts(plugin.url(privacy=True))
    return frozenset(part for part in found - public if len(part) >= 3)


class RedactTokens(logging.Filter):
    """Cuts the given strings out of every log record (its message, arguments and traceback)."""

    def __init__(self, secrets: frozenset[str]) -> None:
        super().__init__()
        self.secrets = sorted(secrets, key=len, reverse=True)  # a token before its own prefix

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
        for secret in self.secrets:
            text = text.replace(secret, "***")
        record.msg, record.args = text, None
        return True


@contextlib.contextmanager
def redacted_logs(secrets: frozenset[str]) -> Iterator[None]:
    """While inside, ``TOKEN_LOGGERS`` never write one of ``secrets``."""
    if not secrets:
        yield
        return
    redact = RedactTokens(secrets)
    loggers = [logging.getLogger(name) for name in TOKEN_LOGGERS]
    for logger in loggers:
        logger.addFilter(redact)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(redact)


# --------------------------------------------------------------------------------------------
# Notification targets (Apprise)


@contextlib.contextmanager
def _quiet_apprise_import() -> Iterator[None]:
    """Apprise's e-mail plugin imports ``imghdr`` (deprecated in 3.11): that warning is not ours."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*'imghdr' is deprecated", category=DeprecationWarning
        )
        yield


def dialect_for(scheme: str, plugin: Any) -> Dialect:
    """An Apprise plugin into the format its messages are written in, e.g. Slack -> ``SLACK``,
    ``json://`` -> ``TEXT`` (``json://...?format=html`` -> ``HTML``), e-mail -> ``HTML``."""
    resolved = str(getattr(plugin.resolve_format(None), "value", "text"))
    if scheme in MARKDOWN_AS_TEXT:  # handed over as Markdown, or as the text it renders so
        declared = plugin.notify_format
        declared = declared if isinstance(declared, (tuple, list)) else (declared,)
        formats = {str(getattr(known, "value", known)) for known in declared}
        return MARKDOWN if "markdown" in formats else Dialect("markdown", resolved)
    if resolved == "markdown":
        return SLACK if type(plugin).__name__ == "NotifySlack" else MARKDOWN
    return HTML if resolved == "html" else TEXT


@dataclass
class Target:
    """One Apprise URL: a label safe to show and store (Apprise's privacy form, hashed id), the
    format its service renders, and the URL's parts that must never be logged."""

    label: str
    key: str  # sha256 of the URL (the URL may hold a token): the state's name for it
    service: Any = field(repr=False)
    dialect: Dialect = TEXT
    blends_title: bool = False  # the service has no title: Apprise puts it into the body
    secrets: frozenset[str] = field(default=frozenset(), repr=False)

    def send(self, message: Message) -> bool:
        """Deliver one message; False when Apprise reports a failure (never raises for that)."""
        title, body = message.render(self.dialect)
        if self.blends_title:  # then it is part of the body: escaped like the body's lines
            title = self.dialect.line(message.head)
        with _quiet_apprise_import(), redacted_logs(self.secrets):
            return bool(
                self.service.notify(
                    body=body,
                    title=title,
                    body_format=self.dialect.declared,
                    notify_type=message.severity,
                )
            )


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
            scheme = url.split("://", 1)[0].lower() if "://" in url else "(none)"
            with redacted_logs(url_secrets(url)):
                added = service.add(url)
            if not added:
                raise errors.ConfigError(
                    f"--notify URL {position} (scheme {scheme!r}) is not an Apprise URL this "
                    "installation can use; see https://github.com/caronc/apprise/wiki"
                )
            plugin = service[0]
            targets.append(
                Target(
                    label=plugin.url(privacy=True).split("?", 1)[0],
                    key=hashlib.sha256(url.encode()).hexdigest()[:16],
                    service=service,
                    dialect=dialect_for(scheme, plugin),
                    blends_title=plugin.title_maxlen <= 0,
                    secrets=url_secrets(url, plugin),
                )
            )
    return targets


# --------------------------------------------------------------------------------------------
# What was sent


def state_path(settings: Settings, who: Sequence[str] = ()) -> Path:
    """Settings and the fingerprints of the run's sources into its state file (one per set of
    credentials), e.g. ``<cache>/alerts/state-ab.json``: one source's is named by its fingerprint
    (an OpenAI key's file keeps its name), several sources' by a hash of theirs, so separate runs
    per provider never suppress each other's alerts."""
    names = sorted(set(who)) or [settings.fingerprint]
    tag = names[0] if len(names) == 1 else hashlib.sha256("\0".join(names).encode()).hexdigest()
    return Path(settings.cache_dir) / "alerts" / f"state-{tag[:40]}.json"


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
        """Write the state atomically: a 0600 file in a 0700 folder."""
        text = json.dumps({"version": STATE_VERSION, "sent": self.sent}, indent=1, sort_keys=True)
        try:
            cache.write_private(self.path, text)
        except OSError as exc:
            raise errors.CacheError(self._unwritable(exc)) from exc

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive lock on ``<state>.lock`` (other runs wait)."""
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(cache.file_lock(self.path.with_suffix(".lock")))
            except OSError as exc:
                raise errors.CacheError(self._unwritable(exc)) from exc
            yield

    def _unwritable(self, exc: OSError) -> str:
        return (
            f"The alerts state cannot be written in {self.path.parent} "
            f"({exc.strerror or type(exc).__name__}); set SPEND_CACHE_DIR to a folder this user "
            "may write, or nothing can be marked sent."
        )


def _parse_time(stamp: str) -> datetime:
    """An ISO time into an aware datetime; unreadable ones count as very old."""
    try:
        parsed = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _news(messages: Sequence[Message]) -> list[list[Message]]:
    """Messages into pieces of news: the messages of one group together, any other alone."""
    news: list[list[Message]] = []
    for message in messages:
        if message.group and news and news[-1][0].group == message.group:
            news[-1].append(message)
        else:
            news.append([message])
    return news


def deliver(
    messages: Sequence[Message], targets: Sequence[Target], state: AlertState, *, now: datetime
) -> tuple[list[str], list[Failure]]:
    """Send each target what it has not had; mark only what was delivered.

    Messages of one ``group`` (one budget's month, most severe first) are one piece of news: a
    target gets the first of them it has not had, and once that arrived every one of them it had
    not had is marked sent too (a budget that jumped from 40% to 120% gets one "passed 100%"
    message, and "passed 50%" is never sent later).

    Returns (events delivered to at least one target this run, failures).
    """
    sent: list[str] = []
    failed: list[Failure] = []
    for told in _news(messages):
        for target in targets:
            pending = [message for message in told if not state.is_sent(message.event, target)]
            if not pending:
                continue
            lead = pending[0]
            if target.send(lead):
                for message in pending:
                    state.mark(message.event, target, now)
                if lead.event not in sent:
                    sent.append(lead.event)
            else:
                failed.append(Failure(lead.event, target.label))
    return sent, failed


def notify(
    report: Report, targets: Sequence[Target], path: Path, *, now: datetime
) -> tuple[list[str], list[Failure]]:
    """Send what ``report`` warrants and is new to ``targets``, under the state file's lock."""
    state = AlertState(path)
    with state.locked():
        state = AlertState.load(path)
        sent, failed = deliver(messages_for(report), targets, state, now=now)
        state.prune(now)
        state.save()
    return sent, failed
