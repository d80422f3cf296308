"""Budgets: where they come from, and how much of each a calendar month (UTC) has used.

Two places define budgets:

1. a TOML file (``SPEND_BUDGETS_FILE``, ``--budgets``) or the same ``[[budget]]`` entries in
   ``.streamlit/secrets.toml`` (one shape in both places; the app and ``python -m spend alerts``
   read both; the older ``[[budgets.budget]]`` / ``[[budgets]]`` forms of secrets still work)::

       [[budget]]
       scope = "organization"  # organization | provider | project | user | api_key | model | team
       monthly_usd = 1500
       alert_at = [50, 80, 100]      # percent of the budget; this is the default

       [[budget]]
       scope = "project"
       id = "proj_abc"               # an id; the page shows its name
       monthly_usd = 800

       [[budget]]
       scope = "user"
       id = "ana@acme.com"           # a user by id (user-...) or by e-mail
       monthly_usd = 200

       [[budget]]
       scope = "provider"
       id = "anthropic"              # who is paid: the usage table's ``provider`` column
       monthly_usd = 500

       [[budget]]
       scope = "team"
       id = "Research"               # a team of the teams file (spend.teams), by its name
       monthly_usd = 1000

   Anthropic's workspaces are projects (``scope = "project"``, ``id = "wrkspc_…"``; its default
   workspace is ``id = "default"``).

   A malformed file is one ``ConfigError`` naming the file and the line. Ids are not checked
   against the data: an id with no usage is kept and shown as unknown by the caller, with the
   closest known ids or e-mails (``closest_ids``).

2. with an admin key, OpenAI's own spend controls (``GET /v1/organization/spend_limit``,
   ``/spend_alerts``, and the same under ``/projects/{id}/``): the admin source's
   ``spend_controls`` reads them, and ``spend.sources.admin``'s ``parse_spend_limit`` and
   ``parse_spend_alerts`` turn their bodies (integer cents, monthly, USD) into read-only
   ``Budget`` records with ``origin="openai"``.

Which money counts (``measure_budget``): budgets are calendar months in the deployment's days
(``SPEND_TIMEZONE``, UTC by default). The organization, a provider, a project or a key count one
basis per provider and day (``headline_rows``): billed money (Costs API rows) where the provider's
cost report has the day, estimated money (usage rows x prices) where it has not yet, or where the
provider has no cost report; a team counts the billed money allocated to its usage rows where the
day is billed, else their estimate (its rules may name users, whom billed rows never name); users
and models always count estimated money. The basis ("billed", "estimated" or ``MIXED``) and
the two parts are
returned with the figure; usage rows without a price are counted, never summed as $0.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from spend.allocate import row_money
from spend.errors import ConfigError
from spend.formatting import provider_name

#: What a budget can be about, and the usage table column that holds its id.
SCOPES: dict[str, str | None] = {
    "organization": None,
    "provider": "provider",
    "project": "project_id",
    "user": "user_id",
    "api_key": "api_key_id",
    "model": "model",
    "team": "team",  # spend.teams.with_teams: a column only when teams are configured
}
#: Scopes the Costs API groups money by (API-NOTES §2), so billed money exists for them.
BILLED_SCOPES = ("organization", "provider", "project", "api_key")
#: Scopes measured on the billed money allocated to their usage rows (``allocate.row_money``):
#: a team's rules may name users, whom the Costs API rows never name.
ALLOCATED_SCOPES = ("team",)
#: Percent thresholds when a budget names none.
DEFAULT_ALERT_AT: tuple[int, ...] = (50, 80, 100)
#: Keys a ``[[budget]]`` entry may have.
BUDGET_KEYS = ("scope", "id", "name", "monthly_usd", "alert_at")
#: A threshold above this many percent is surely a typo (1000 for 100).
MAX_ALERT_PERCENT = 1000

_HEADER = re.compile(r"^\s*\[\[\s*budget\s*\]\]")
_TABLE = re.compile(r"^\s*\[\[?\s*[A-Za-z0-9_.\"' -]+\s*\]\]?\s*(#.*)?$")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class Budget:
    """A monthly amount in USD for one scope, with the percent thresholds that alert.

    ``id`` is None for the organization. ``line`` is where a file defines it; ``note`` carries
    OpenAI's own details (a hard limit's enforcement, an alert's id).
    """

    scope: str
    id: str | None
    monthly_usd: float
    alert_at: tuple[float, ...] = DEFAULT_ALERT_AT
    name: str | None = None
    origin: str = "file"
    kind: str = "budget"
    line: int | None = None
    note: str | None = None

    @property
    def read_only(self) -> bool:
        """Whether the app only shows it (OpenAI's limits and alerts change on OpenAI's site)."""
        return self.origin == "openai"

    @property
    def key(self) -> str:
        """A stable id for notification state, e.g. ``"project:proj_abc"``.

        OpenAI's carry their kind (and an alert its id): ``"openai-spend_alert:organization:-:a1"``.
        File and secrets budgets share keys (the same budget moved to secrets is the same budget).
        """
        base = f"{self.scope}:{self.id or '-'}"
        if self.origin != "openai":
            return base
        return f"openai-{self.kind}:{base}" + (
            f":{self.note}" if self.kind == "spend_alert" else ""
        )


# --------------------------------------------------------------------------------------------
# The budgets file


def _entry_lines(text: str) -> list[tuple[int, int]]:
    """A TOML text into the (first, last) line of each ``[[budget]]``, e.g. ``[(1, 4), (6, 9)]``.

    Lines are 1-based; an entry ends before the next table header or at the end of the text.
    """
    lines = text.splitlines()
    headers = [n for n, line in enumerate(lines, start=1) if _TABLE.match(line)]
    spans = []
    for position, first in enumerate(headers):
        if _HEADER.match(lines[first - 1]):
            following = headers[position + 1] - 1 if position + 1 < len(headers) else len(lines)
            spans.append((first, following))
    return spans


def _key_line(text: str, span: tuple[int, int] | None, key: str | None) -> int | None:
    """The line setting ``key`` in an entry's span, e.g. ``monthly_usd`` -> 3; None if absent."""
    if span is None or key is None:
        return None
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    lines = text.splitlines()
    return next((n for n in range(span[0], span[1] + 1) if pattern.match(lines[n - 1])), None)


class _EntryError(ConfigError):
    """A bad ``[[budget]]`` entry: the reason, and the key it is about (to find its line)."""

    def __init__(self, where: str, reason: str, key: str | None = None) -> None:
        super().__init__(f"{where}: {reason}")
        self.reason = reason
        self.key = key


def _number(value: Any) -> float | None:
    """A TOML value into a finite float, or None if it is not a number, e.g. ``1500 -> 1500.0``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _tidy(value: float) -> float | int:
    """A float into an int when it is whole, e.g. ``80.0 -> 80``, ``12.5 -> 12.5``."""
    return int(value) if float(value).is_integer() else value


def parse_budget_entry(raw: Any, *, where: str, origin: str = "file") -> Budget:
    """One ``[[budget]]`` table into a ``Budget``, e.g. ``{"scope": "organization", ...}``.

    Raises ``ConfigError`` starting with ``where`` on the first problem.

    :param raw: the TOML table
    :param where: the file and entry, for messages (e.g. ``"budgets file b.toml, entry 2"``)
    :param origin: ``"file"`` or ``"secrets"``
    """
    if not isinstance(raw, Mapping):
        raise _EntryError(where, f"expected a table of budget keys, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(BUDGET_KEYS))
    if unknown:
        raise _EntryError(
            where,
            f"unknown key(s) {', '.join(unknown)}; a budget has {', '.join(BUDGET_KEYS)}",
            unknown[0],
        )
    scope = raw.get("scope")
    if scope not in SCOPES:
        raise _EntryError(
            where, f"'scope' must be one of {', '.join(SCOPES)}, got {scope!r}", "scope"
        )
    budget_id = raw.get("id")
    if scope == "organization":
        if budget_id is not None:
            raise _EntryError(where, "an organization budget takes no 'id'", "id")
    elif not isinstance(budget_id, str) or not budget_id.strip():
        raise _EntryError(where, f"a {scope} budget needs 'id', the {scope}'s id as a string", "id")
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise _EntryError(where, "'name' must be a string", "name")
    monthly = _number(raw.get("monthly_usd"))
    if monthly is None or monthly <= 0:
        raise _EntryError(
            where,
            "'monthly_usd' must be a number above 0 (USD per calendar month), "
            f"got {raw.get('monthly_usd')!r}",
            "monthly_usd",
        )
    alert_at = raw.get("alert_at", list(DEFAULT_ALERT_AT))
    percents = [_number(value) for value in alert_at] if isinstance(alert_at, list) else [None]
    if any(p is None or not 0 < p <= MAX_ALERT_PERCENT for p in percents):
        raise _EntryError(
            where,
            f"'alert_at' must be a list of percents above 0 and up to {MAX_ALERT_PERCENT}, "
            f"e.g. [50, 80, 100]; got {alert_at!r}",
            "alert_at",
        )
    return Budget(
        scope=scope,
        id=budget_id.strip() if isinstance(budget_id, str) else None,
        monthly_usd=float(monthly),
        alert_at=tuple(_tidy(p) for p in sorted(set(percents))),
        name=name.strip() if isinstance(name, str) and name.strip() else None,
        origin=origin,
    )


def _entries(document: Any, *, source: str) -> list[Any]:
    """A parsed document into its budget tables, e.g. ``{"budget": [{...}]}`` -> ``[{...}]``.

    Accepts ``{"budget": [...]}`` (a file, or ``[[budgets.budget]]`` in secrets) and a plain list
    (``[[budgets]]`` in secrets).
    """
    if isinstance(document, list):
        return document
    if not isinstance(document, Mapping):
        raise ConfigError(f"{source}: expected [[budget]] tables, got {type(document).__name__}")
    unknown = sorted(set(document) - {"budget"})
    if unknown:
        raise ConfigError(
            f"{source}: unknown top-level key(s) {', '.join(unknown)}; expected [[budget]] entries"
        )
    entries = document.get("budget", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: 'budget' must be an array of tables, written [[budget]]")
    return entries


def _check_duplicates(budgets: list[Budget], head: str, wheres: list[str]) -> None:
    """Raise ``ConfigError`` when two entries budget the same scope and id, naming both.

    E.g. ``"budgets file b.toml, line 13 (entry 3): a second budget for project p (first: ...)"``.
    """
    seen: dict[tuple[str, str | None], str] = {}
    for budget, where in zip(budgets, wheres, strict=True):
        target = (budget.scope, budget.id)
        if target in seen:
            what = budget.scope + (f" {budget.id}" if budget.id else "")
            raise ConfigError(
                f"{head}, {where}: a second budget for {what} (first: {seen[target]})"
            )
        seen[target] = where


#: The budgets an organization might start with, as the secrets (or SPEND_BUDGETS_FILE) hold
#: them: the Budgets page shows it while there are none.
EXAMPLE = """[[budget]]
scope = "organization"
monthly_usd = 1500
alert_at = [50, 80, 100]

[[budget]]
scope = "user"
id = "ana@acme.com"   # a user id or e-mail
monthly_usd = 200
"""


def parse_budgets(text: str, *, source: str = "<budgets>") -> list[Budget]:
    """A budgets TOML text into budgets in file order, e.g. one ``[[budget]]`` -> ``[Budget(...)]``.

    Raises ``ConfigError`` naming ``source`` and the line: a TOML syntax error at the line
    ``tomllib`` reports; a bad value at the line that sets it (else the entry's header line).

    :param text: the file's content
    :param source: the file name, for messages
    """
    head = f"budgets file {source}"
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _TOML_POSITION.search(message)
        if position:
            reason = _TOML_POSITION.sub("", message)
            where = f"{head}, line {position[1]}, column {position[2]}"
            raise ConfigError(f"{where}: not valid TOML ({reason})") from exc
        raise ConfigError(f"{head}: not valid TOML ({message})") from exc
    entries = _entries(document, source=head)
    spans = _entry_lines(text)
    budgets, wheres = [], []
    for number, raw in enumerate(entries, start=1):
        span = spans[number - 1] if len(spans) == len(entries) else None
        where = f"line {span[0]} (entry {number})" if span else f"entry {number}"
        try:
            budget = parse_budget_entry(raw, where=f"{head}, {where}")
        except _EntryError as exc:
            line = _key_line(text, span, exc.key)
            if line is not None:
                where = f"line {line} (entry {number})"
            raise ConfigError(f"{head}, {where}: {exc.reason}") from exc
        budgets.append(replace(budget, line=span[0] if span else None))
        wheres.append(where)
    _check_duplicates(budgets, head, wheres)
    return budgets


def load_budgets(path: str | Path) -> list[Budget]:
    """A budgets TOML file into budgets, e.g. ``"budgets.toml"`` -> ``[Budget(...), ...]``.

    Raises ``ConfigError`` naming the file (and the line) when it cannot be used.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"budgets file {path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"budgets file {path}: cannot be read ({type(exc).__name__})") from exc
    return parse_budgets(text, source=str(path))


#: Where the command line looks for the app's secrets when ``--secrets`` names no file.
DEFAULT_SECRETS_FILE = Path(".streamlit/secrets.toml")


def secrets_budgets(secrets: Mapping[str, Any], *, source: str = "secrets") -> list[Budget]:
    """A whole secrets document into its budgets, read the same way by the app and the command.

    ``[[budget]]`` tables at the top level (the budgets file's own shape), e.g.
    ``{"OPENAI_ADMIN_KEY": "...", "budget": [{"scope": "organization", ...}]}``; the older
    ``[budgets]`` forms (``[[budgets.budget]]``, ``[[budgets]]``) are read too. Raises
    ``ConfigError`` naming the entry; two budgets for the same scope and id across both forms
    are one error.
    """
    found: list[Budget] = []
    wheres: list[str] = []
    top = secrets.get("budget")
    if top is not None:
        if not isinstance(top, list):
            raise ConfigError(f"{source}: 'budget' must be an array of tables, written [[budget]]")
        for number, raw in enumerate(top, start=1):
            where = f"[[budget]] entry {number}"
            found.append(parse_budget_entry(raw, where=f"{source}, {where}", origin="secrets"))
            wheres.append(where)
    legacy = secrets.get("budgets")
    if legacy:
        more = budgets_from_secrets(legacy, source=f"{source} [budgets]")
        found += more
        wheres += [f"[budgets] entry {n}" for n in range(1, len(more) + 1)]
    _check_duplicates(found, source, wheres)
    return found


def read_secrets_file(path: str | Path | None) -> dict[str, Any]:
    """The app's secrets file for the command line, parsed with ``tomllib``, e.g. ``{...}``.

    ``None`` means ``DEFAULT_SECRETS_FILE``, which may be absent (``{}``); a file named on purpose
    must exist. A broken file is one ``ConfigError`` naming the file and line, never a value (the
    file holds keys).
    """
    chosen = DEFAULT_SECRETS_FILE if path is None else Path(path)
    try:
        text = chosen.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        if path is None:
            return {}
        raise ConfigError(f"secrets file {chosen}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"secrets file {chosen}: cannot be read ({type(exc).__name__})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        position = _TOML_POSITION.search(str(exc))
        where = f", line {position[1]}" if position else ""
        reason = _TOML_POSITION.sub("", str(exc))  # tomllib names the problem, never a value
        raise ConfigError(f"secrets file {chosen}{where}: not valid TOML ({reason})") from None


def budgets_from_secrets(table: Any, *, source: str = "secrets [budgets]") -> list[Budget]:
    """A ``[budgets]`` table of ``st.secrets`` into budgets, e.g. ``{"budget": [{...}]}``.

    Any mappings do (streamlit's ``AttrDict`` is one). Secrets carry no line numbers, so
    messages name the entry number.
    """
    entries = _entries(table, source=source)
    budgets = [
        parse_budget_entry(raw, where=f"{source}, entry {number}", origin="secrets")
        for number, raw in enumerate(entries, start=1)
    ]
    _check_duplicates(budgets, source, [f"entry {n}" for n in range(1, len(budgets) + 1)])
    return budgets


# --------------------------------------------------------------------------------------------
# Measuring a budget on the usage table


def month_start(day: date) -> date:
    """A day into the first day of its month, e.g. 2025-03-12 -> 2025-03-01."""
    return day.replace(day=1)


def scope_mask(frame: pd.DataFrame, scope: str, budget_id: str | None) -> np.ndarray:
    """The usage table and a scope into a row mask, e.g. ``("project", "proj_a")`` -> its rows.

    A model budget matches the snapshot id or the family (``gpt-4o`` covers
    ``gpt-4o-2024-08-06``); a user budget the user id or the e-mail, in any case
    (``Ana@Acme.com`` covers the rows of ``ana@acme.com``). The organization matches every row.
    """
    column = SCOPES[scope]
    if column is None:
        return np.ones(len(frame), dtype=bool)
    if column not in frame.columns:  # a team budget without teams configured: no usage seen
        return np.zeros(len(frame), dtype=bool)
    mask = frame[column].astype("string").eq(budget_id).to_numpy(dtype=bool, na_value=False)
    if scope == "model" and "model_family" in frame.columns:
        family = frame["model_family"].astype("string").eq(budget_id)
        mask |= family.to_numpy(dtype=bool, na_value=False)
    if scope == "user" and budget_id and "@" in budget_id and "user_email" in frame.columns:
        emails = frame["user_email"].astype("string").str.strip().str.casefold()
        mask |= emails.eq(budget_id.strip().casefold()).to_numpy(dtype=bool, na_value=False)
    return mask


#: Extra columns whose values a budget may name, beside the scope's own id column.
_ALSO_NAMED_BY = {"user": ("user_email",), "model": ("model_family",)}


def closest_ids(frame: pd.DataFrame, scope: str, budget_id: str | None, *, n: int = 3) -> list[str]:
    """An id that matches no usage into the closest ids (or e-mails) the table knows, best first.

    E.g. ``("user", "user-ad")`` -> ``["user-ada"]``; ``("project", "proj_reserch")`` ->
    ``["proj_research"]``; ``[]`` for the organization or when nothing is close
    (``difflib.get_close_matches``, cutoff 0.6, case-insensitive).
    """
    column = SCOPES.get(scope)
    if column is None or not budget_id:
        return []
    known: set[str] = set()
    for name in (column, *_ALSO_NAMED_BY.get(scope, ())):
        if name in frame.columns:
            known |= set(frame[name].dropna().astype(str).unique())
    by_folded = {value.casefold(): value for value in sorted(known)}
    matches = difflib.get_close_matches(budget_id.casefold(), list(by_folded), n=n, cutoff=0.6)
    return [by_folded[match] for match in matches]


#: A figure that counts billed money where the Costs API reported the day and estimated money
#: where it has not (or where a provider gives no bill): ``Measure.basis`` and ``Totals.basis``.
MIXED = "billed + estimated"


def reported_days(frame: pd.DataFrame) -> np.ndarray:
    """The usage table into a row mask: rows of a (provider, day) that has billed money, e.g. a
    day the Costs API has not reported yet -> False on every row of it (and on every row of a
    provider with no cost report at all). Billed rows without an amount report nothing."""
    billed = _is_billed(frame) & frame["cost_usd"].notna().to_numpy(dtype=bool)
    if not billed.any():
        return billed
    days = frame["date"].to_numpy(dtype="datetime64[D]").astype("int64")
    if "provider" in frame.columns:
        codes, _ = pd.factorize(frame["provider"], use_na_sentinel=True)
        days = days * 1024 + (np.asarray(codes, dtype="int64") + 1)
    return np.isin(days, np.unique(days[billed]))


def _is_billed(frame: pd.DataFrame) -> np.ndarray:
    """Costs API rows, e.g. ``[True, False]`` (categorical or text ``cost_basis`` alike)."""
    return frame["cost_basis"].eq("billed").to_numpy(dtype=bool, na_value=False)


def headline_rows(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The usage table into the rows its money counts: ``(billed rows, estimated rows)`` masks.

    One basis per provider and day: a (provider, day) the Costs API reported counts its billed
    rows; any other counts its usage rows' estimate (priced or not: an unpriced row is counted
    as missing money, never as $0). E.g. OpenAI billed through Dec 3, its Dec 4 not reported
    yet, Anthropic without a cost report -> OpenAI's bill to Dec 3, OpenAI's estimate of Dec 4
    and Anthropic's estimate of every day.
    """
    is_billed = _is_billed(frame)
    usage = ~is_billed & frame["cost_basis"].notna().to_numpy(dtype=bool)
    if not is_billed.any():  # no bill at all (the demo, a legacy key): every usage row counts
        return is_billed, usage
    reported = reported_days(frame)
    billed = is_billed & reported & frame["cost_usd"].notna().to_numpy(dtype=bool)
    return billed, usage & ~reported


def counted_rows(frame: pd.DataFrame, scope: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows a scope's money counts and their money: ``(billed, estimated, usd)``, ``usd``
    NaN where a counted estimate has no price. Billed scopes count ``headline_rows`` (the Costs
    API's rows, or the estimate where a day is not billed yet); ``ALLOCATED_SCOPES`` each usage
    row's allocated billed money, else its estimate (``allocate.row_money``)."""
    if scope in ALLOCATED_SCOPES:
        found = row_money(frame)
        usd = np.where(found.unpriced, np.nan, found.money)
        return found.billed, found.usage & ~found.billed, usd
    billed, estimated = headline_rows(frame)
    return billed, estimated, frame["cost_usd"].to_numpy(dtype="float64", na_value=np.nan)


def basis_of(billed: bool, estimated: bool) -> str:
    """Whether a figure counts billed money, estimated money or both, e.g. ``(True, True)`` ->
    ``MIXED``; nothing at all reads "estimated" (no bill to speak of)."""
    if billed and estimated:
        return MIXED
    return "billed" if billed else "estimated"


def basis_for(frame: pd.DataFrame, scope: str, budget_id: str | None = None) -> str:
    """A table and a scope into the money a budget counts, e.g. project + billed rows -> billed.

    Organization, provider, project and key count their money as ``headline_rows`` has it:
    billed where the Costs API reported the provider's day, estimated elsewhere: ``"billed"``,
    ``"estimated"`` or ``MIXED`` when the month has both (a day not reported yet, or a provider
    without a cost report beside one with). Users and models are always ``"estimated"`` (the
    Costs API gives money only per project, key and line item). A billed row without an amount
    makes nothing billed.
    """
    if scope not in BILLED_SCOPES + ALLOCATED_SCOPES:
        return "estimated"
    billed, estimated, cost = counted_rows(frame, scope)
    mask = scope_mask(frame, scope, budget_id)
    counted = estimated & mask & (cost != 0)  # a free usage row on an unbilled day is no estimate
    return basis_of(bool((billed & mask).any()), bool(counted.any()))


def scope_name(frame: pd.DataFrame, scope: str, budget_id: str | None) -> str | None:
    """A scope id into its name in the table, e.g. ``proj_a`` -> "Research"; None if unseen.

    The organization is "Organization"; a provider its name ("Anthropic"); users show their name,
    else their email; models and teams their id. The latest name wins (a renamed project shows
    its new name).
    """
    if scope == "organization":
        return "Organization"
    rows = frame.loc[scope_mask(frame, scope, budget_id)]
    if rows.empty:
        return None
    if scope == "provider":
        return provider_name(str(budget_id))
    name_columns = {
        "project": ["project_name"],
        "user": ["user_name", "user_email"],
        "api_key": ["api_key_name"],
        "model": [],
        "team": [],
    }[scope]
    latest = rows.sort_values("date", kind="stable")
    for column in name_columns:
        names = latest[column].dropna() if column in latest.columns else latest["date"].iloc[:0]
        if len(names):
            return str(names.iloc[-1])
    return budget_id


@dataclass(frozen=True)
class Measure:
    """A budget measured on the usage table for the month of ``as_of``."""

    budget: Budget
    month: str  # "2025-03"
    as_of: date
    basis: str  # billed | estimated
    spent_usd: float  # month to date, complete days up to as_of
    daily: pd.Series  # USD per day for the scope on ``basis``, every day from the data's start
    unpriced_rows: int  # rows of the scope this month whose money is unknown (not in spent_usd)
    known: bool  # the id has usage in the table (the organization always does)
    name: str | None
    #: the month's money in two parts (``money_parts``): billed, and estimated where the Costs
    #: API has not reported a day or a provider has no cost report
    parts: MoneyParts | None = None

    @property
    def percent(self) -> float:
        """Spent as a percent of the budget, e.g. 82.3."""
        return 100.0 * self.spent_usd / self.budget.monthly_usd

    @property
    def crossed(self) -> list[float]:
        """The thresholds the month's spend has reached, e.g. ``[50, 80]``."""
        return [p for p in self.budget.alert_at if self.percent >= p - 1e-9]


def scope_daily(
    frame: pd.DataFrame, scope: str, budget_id: str | None, *, basis: str, start: date, end: date
) -> tuple[pd.Series, pd.Series]:
    """The table into (USD per day, rows without money per day) for a scope on a basis.

    E.g. ``("organization", None, basis="billed")`` -> the Costs API total per day. Every day of
    [start, end] is present (0 where there was none). On the ``"estimated"`` basis only usage
    rows count; on any other (``"billed"``, ``MIXED``) the rows ``headline_rows`` counts: billed
    money where the Costs API reported the day, the estimate where it has not.
    """
    days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D")
    mask = scope_mask(frame, scope, budget_id)
    if basis == "estimated":
        kinds = frame["cost_basis"]
        wanted = kinds.isin(["estimated", "unpriced"]).to_numpy(dtype=bool, na_value=False)
        usd = frame["cost_usd"].to_numpy(dtype="float64", na_value=np.nan)
    else:
        billed, estimated, usd = counted_rows(frame, scope)
        wanted = billed | estimated
    keep = mask & wanted
    rows = frame.loc[keep, ["date"]]
    cost = pd.Series(usd[keep], index=rows.index, dtype="Float64")
    money = cost.fillna(0.0).groupby(rows["date"]).sum()
    missing = cost.isna().groupby(rows["date"]).sum()
    daily = money.reindex(days, fill_value=0.0).astype("float64").rename("cost_usd")
    unknown = missing.reindex(days, fill_value=0).astype("int64").rename("unpriced_rows")
    return daily, unknown


class MoneyParts(NamedTuple):
    """A figure's money in its two parts (``money_parts``), e.g. billed $1,200 + estimated $45.50
    for Dec 4, which the Costs API has not reported yet."""

    billed: float
    estimated: float
    #: days a provider with a cost report has not reported yet (their money is estimated)
    pending: tuple[date, ...] = ()
    #: providers (names, e.g. "Anthropic") whose money is all estimated: no cost report at all
    unbilled: tuple[str, ...] = ()

    @property
    def basis(self) -> str:
        """``"billed"``, ``"estimated"`` (also when there is no money) or ``MIXED``."""
        return basis_of(self.billed != 0, self.estimated != 0)

    def note(self, usd: Any) -> str | None:
        """What a figure says of its parts when some of it is estimated beside a bill, e.g.
        "billed $1,200.00 + estimated $45.50 (days the Costs API has not reported yet: Dec 4)",
        or "estimated $8.00 (days the Costs API has not reported yet: Dec 5)" for a day with no
        bill yet; None for a figure of one basis by nature (all billed; no cost report at all).
        ``usd`` formats money (``spend.formatting.usd``)."""
        if self.basis == "billed" or not (self.pending or self.unbilled):
            return None
        why = []
        if self.pending:
            days = ", ".join(f"{day:%b} {day.day}" for day in self.pending[:5])
            more = f" and {len(self.pending) - 5} more" if len(self.pending) > 5 else ""
            why.append(f"days the Costs API has not reported yet: {days}{more}")
        if self.unbilled:
            names = " and ".join(self.unbilled)
            verb = "gives" if len(self.unbilled) == 1 else "give"
            why.append(f"{names} {verb} no bill")
        reason = f" ({'; '.join(why)})"
        if self.basis == MIXED:
            return f"billed {usd(self.billed)} + estimated {usd(self.estimated)}{reason}"
        return f"estimated {usd(self.estimated)}{reason}"


def money_parts(
    frame: pd.DataFrame, scope: str, budget_id: str | None, *, start: date, end: date
) -> MoneyParts:
    """A scope's money over [start, end] into its billed and estimated parts (``headline_rows``),
    the days estimated because a provider's cost report has not reached them yet, and the
    providers without a cost report anywhere in ``frame``, e.g. ``MoneyParts(1200.0, 45.5,
    (date(2026, 12, 4),), ())``. Pass the whole loaded table: a provider billed on other days is
    late on these, not without a bill."""
    dates = frame["date"]
    within = ((dates >= pd.Timestamp(start)) & (dates <= pd.Timestamp(end))).to_numpy(dtype=bool)
    billed, estimated, cost = counted_rows(frame, scope)
    mask = scope_mask(frame, scope, budget_id) & within
    counted = estimated & mask & (cost != 0)  # unpriced rows too: their money is unknown
    billed_usd = float(np.nansum(cost[billed & mask]))
    estimated_usd = float(np.nansum(cost[estimated & mask]))
    is_billed = _is_billed(frame)
    if not is_billed.any():
        return MoneyParts(billed_usd, estimated_usd)
    billing = np.ones(len(frame), dtype=bool)
    unbilled: tuple[str, ...] = ()
    if "provider" in frame.columns:  # providers with a cost report somewhere in the table
        providers = frame["provider"].astype("string")
        billing = providers.isin(set(providers[is_billed].dropna())).to_numpy(dtype=bool)
        others = providers[counted & ~billing].dropna().unique()
        unbilled = tuple(sorted(provider_name(str(p)) for p in others))
    pending = tuple(sorted({stamp.date() for stamp in dates[counted & billing].unique()}))
    return MoneyParts(billed_usd, estimated_usd, pending, unbilled)


def measure_budget(
    frame: pd.DataFrame, budget: Budget, *, as_of: date, history_start: date | None = None
) -> Measure:
    """A budget and the usage table into its month-to-date measure at ``as_of``.

    E.g. an organization budget of $1,500 on a table with billed rows -> ``Measure(basis="billed",
    spent_usd=1234.5, ...)``. Only complete days up to ``as_of`` count; ``daily`` starts at
    ``history_start`` (default: the table's first day) for the forecast.

    :param frame: the usage table (priced)
    :param budget: the budget
    :param as_of: the last complete UTC day
    :param history_start: first day of ``daily``
    """
    dates = frame["date"]
    first = history_start or (dates.min().date() if len(frame) else month_start(as_of))
    first = min(first, month_start(as_of))
    until = frame.loc[(dates <= pd.Timestamp(as_of)).to_numpy(dtype=bool)]
    month = until.loc[(until["date"] >= pd.Timestamp(month_start(as_of))).to_numpy(dtype=bool)]
    basis = basis_for(month, budget.scope, budget.id)  # this month's money says its basis
    daily, unknown = scope_daily(
        until, budget.scope, budget.id, basis=basis, start=first, end=as_of
    )
    in_month = daily.index >= pd.Timestamp(month_start(as_of))
    known = budget.scope == "organization" or bool(scope_mask(until, budget.scope, budget.id).any())
    parts = MoneyParts(0.0, float(daily[in_month].sum()))
    if basis != "estimated":
        parts = money_parts(until, budget.scope, budget.id, start=month_start(as_of), end=as_of)
    return Measure(
        budget=budget,
        month=as_of.strftime("%Y-%m"),
        as_of=as_of,
        basis=basis,
        spent_usd=float(daily[in_month].sum()),
        daily=daily,
        unpriced_rows=int(unknown[in_month].sum()),
        known=known,
        name=budget.name or scope_name(until, budget.scope, budget.id),
        parts=parts,
    )


def measure_budgets(
    frame: pd.DataFrame, budgets: Iterable[Budget], *, as_of: date
) -> list[Measure]:
    """Budgets and the usage table into one ``Measure`` each, in order (``measure_budget``)."""
    return [measure_budget(frame, budget, as_of=as_of) for budget in budgets]
