"""Teams: who pays for what, by rules over users, projects, keys and workspaces.

A teams file (``SPEND_TEAMS_FILE``, TOML) or the same entries in ``.streamlit/secrets.toml``
(``[[teams.team]]``, or ``[[team]]`` at the top level: the file's shape)::

    [[team]]
    name = "Research"
    users = ["ana@acme.com", "user-abc"]     # user ids or e-mails (any case)
    projects = ["proj_abc", "Knowledge Search"]  # project ids or names
    keys = ["key_abc", "research-ci"]         # API key ids or names
    workspaces = ["wrkspc_01", "Claude research"]  # Anthropic workspace ids or names
    notify = "slack://T000/B000/XXXX"         # Apprise URL(s) for the team's digest (or a list)

Every usage row gets one ``team``: the first team (in file order) with a rule that matches the
row, else ``NO_TEAM``. Billed rows (no user) match by project, key or workspace only.

A malformed file is one ``ConfigError`` naming the file and the line, never half-used. An id with
no usage is kept (``unseen``: the Teams page shows it as "(no usage seen)").
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spend import allocate, analysis
from spend.budgets import basis_of
from spend.errors import ConfigError

#: The team of rows that match no rule.
NO_TEAM = "No team"
#: The setting that names the teams file (read by name: ``Settings.value``).
SETTING = "SPEND_TEAMS_FILE"
#: The rules a team may have, each a list of strings.
RULES = ("users", "projects", "keys", "workspaces")
#: Keys a ``[[team]]`` entry may have.
TEAM_KEYS = ("name", *RULES, "notify")
#: The ``provider`` whose projects are workspaces.
WORKSPACE_PROVIDER = "anthropic"

_HEADER = re.compile(r"^\s*\[\[\s*team\s*\]\]")
_TABLE = re.compile(r"^\s*\[\[?\s*[A-Za-z0-9_.\"' -]+\s*\]\]?\s*(#.*)?$")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_END = re.compile(r"\s*\(at end of document\)")


@dataclass(frozen=True)
class Team:
    """One team and the rules that give it rows, in the order the file wrote them."""

    name: str
    users: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    workspaces: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()  # Apprise URLs for this team's digest


@dataclass(frozen=True)
class Teams:
    """Every configured team, first rule first; empty when nothing is configured."""

    teams: tuple[Team, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.teams)

    @property
    def names(self) -> tuple[str, ...]:
        """The teams' names in file order, e.g. ``("Research", "Support")``."""
        return tuple(team.name for team in self.teams)

    def get(self, name: str) -> Team | None:
        """A team by its name, e.g. ``teams.get("Research")``; None if there is none."""
        return next((team for team in self.teams if team.name == name), None)


# --------------------------------------------------------------------------------------------
# Reading


class _EntryError(ConfigError):
    def __init__(self, reason: str, key: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.key = key


def _strings(raw: Mapping[str, Any], key: str, example: str) -> tuple[str, ...]:
    """A rule's value into its strings, e.g. ``["a", " b "] -> ("a", "b")``; a bare string or
    anything else is an error naming the key and how to write it."""
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        got = "a string" if isinstance(value, str) else type(value).__name__
        raise _EntryError(
            f"'{key}' must be a list of strings, e.g. {key} = [{example}]; got {got}", key
        )
    return tuple(dict.fromkeys(v.strip() for v in value))


_EXAMPLES = {
    "users": '"ana@acme.com", "user-abc"',
    "projects": '"proj_abc", "Knowledge Search"',
    "keys": '"key_abc", "research-ci"',
    "workspaces": '"wrkspc_01"',
    "notify": '"slack://T000/B000/XXXX"',
}


def parse_team(raw: Any) -> Team:
    """One ``[[team]]`` table into a ``Team``, e.g. ``{"name": "R", "users": ["a@x.io"]}``.

    Raises ``_EntryError`` (a ``ConfigError``) with the reason and the key it is about.
    """
    if not isinstance(raw, Mapping):
        raise _EntryError(f"expected a table of team keys, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(TEAM_KEYS))
    if unknown:
        raise _EntryError(
            f"unknown key(s) {', '.join(unknown)}; a team has {', '.join(TEAM_KEYS)}", unknown[0]
        )
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _EntryError("a team needs 'name', a string such as name = \"Research\"", "name")
    if name.strip().casefold() == NO_TEAM.casefold():
        raise _EntryError(
            f"{NO_TEAM!r} is what rows of no team are called: name the team otherwise", "name"
        )
    rules = {key: _strings(raw, key, _EXAMPLES[key]) for key in RULES}
    if not any(rules.values()):
        raise _EntryError(
            f"team {name.strip()!r} has no rule: give it users, projects, keys or workspaces",
            "name",
        )
    notify = raw.get("notify", [])
    if isinstance(notify, str):
        notify = [notify]
    urls = _strings({"notify": notify}, "notify", _EXAMPLES["notify"])
    return Team(name=name.strip(), notify=urls, **rules)


def _entry_spans(text: str) -> list[tuple[int, int]]:
    """A TOML text into the (first, last) line of each ``[[team]]``, e.g. ``[(1, 4), (6, 9)]``."""
    lines = text.splitlines()
    headers = [n for n, line in enumerate(lines, start=1) if _TABLE.match(line)]
    spans = []
    for position, first in enumerate(headers):
        if _HEADER.match(lines[first - 1]):
            last = headers[position + 1] - 1 if position + 1 < len(headers) else len(lines)
            spans.append((first, last))
    return spans


def _key_line(text: str, span: tuple[int, int], key: str | None) -> int | None:
    """The line that sets ``key`` within an entry, e.g. ``users`` -> 3; None if absent."""
    if key is None:
        return None
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    lines = text.splitlines()
    return next((n for n in range(span[0], span[1] + 1) if pattern.match(lines[n - 1])), None)


def _check_names(teams: list[Team], wheres: list[str], head: str) -> None:
    """Two teams of one name are one error naming both places."""
    seen: dict[str, str] = {}
    for team, where in zip(teams, wheres, strict=True):
        folded = team.name.casefold()
        if folded in seen:
            raise ConfigError(
                f"{head}, {where}: a second team {team.name!r} (first: {seen[folded]})"
            )
        seen[folded] = where


def parse_teams(text: str, *, source: str = "<teams>") -> Teams:
    """A teams TOML text into ``Teams`` in file order.

    Raises ``ConfigError`` in one line naming ``source`` and the line: a TOML syntax error where
    ``tomllib`` saw it, a bad value at the line that sets it (else the entry's header).
    """
    head = f"teams file {source}"
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _TOML_POSITION.search(message)
        reason = _TOML_POSITION.sub("", message)
        where = f", line {position[1]}, column {position[2]}" if position else ""
        if not position and _END.search(message):  # an unclosed array or table: its last line
            reason = _END.sub("", message)
            where = f", line {max(len(text.splitlines()), 1)} (the end of the file)"
        raise ConfigError(f"{head}{where}: not valid TOML ({reason})") from None
    unknown = sorted(set(document) - {"team"})
    if unknown:
        raise ConfigError(
            f"{head}: unknown top-level key(s) {', '.join(unknown)}; write each team as [[team]]"
        )
    entries = document.get("team", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{head}: 'team' must be an array of tables, written [[team]]")
    spans = _entry_spans(text)
    teams, wheres = [], []
    for number, raw in enumerate(entries, start=1):
        span = spans[number - 1] if len(spans) == len(entries) else None
        where = f"line {span[0]} (team {number})" if span else f"team {number}"
        try:
            teams.append(parse_team(raw))
        except _EntryError as exc:
            line = _key_line(text, span, exc.key) if span else None
            if line is not None:
                where = f"line {line} (team {number})"
            raise ConfigError(f"{head}, {where}: {exc.reason}") from None
        wheres.append(where)
    _check_names(teams, wheres, head)
    return Teams(tuple(teams))


def load_teams_file(path: str | Path) -> Teams:
    """A teams TOML file into ``Teams``; ``ConfigError`` naming the file when it cannot be used."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"teams file {path}: no such file (check {SETTING})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"teams file {path}: cannot be read ({type(exc).__name__})") from None
    return parse_teams(text, source=str(path))


def secrets_teams(secrets: Mapping[str, Any], *, source: str = "secrets") -> Teams:
    """The teams a secrets document holds: ``[[teams.team]]`` (a ``[teams]`` table in the file's
    shape), ``[[teams]]`` or ``[[team]]`` at the top level; empty when none. Secrets carry no line
    numbers: messages name the entry."""
    found: list[tuple[str, Any]] = []
    top = secrets.get("team")
    if top is not None:
        if not isinstance(top, list):
            raise ConfigError(f"{source}: 'team' must be an array of tables, written [[team]]")
        found += [(f"[[team]] entry {n}", raw) for n, raw in enumerate(top, start=1)]
    table = secrets.get("teams")
    if table is not None:
        if isinstance(table, Mapping):
            unknown = sorted(set(table) - {"team"})
            if unknown:
                raise ConfigError(
                    f"{source} [teams]: unknown key(s) {', '.join(unknown)}; write each team as "
                    "[[teams.team]]"
                )
            table = table.get("team", [])
        if not isinstance(table, list):
            raise ConfigError(f"{source}: write each team as [[teams.team]]")
        found += [(f"[teams] entry {n}", raw) for n, raw in enumerate(table, start=1)]
    teams = []
    for where, raw in found:
        try:
            teams.append(parse_team(raw))
        except _EntryError as exc:
            raise ConfigError(f"{source}, {where}: {exc.reason}") from None
    _check_names(teams, [where for where, _ in found], source)
    return Teams(tuple(teams))


def teams_path(settings: Any, secrets: Mapping[str, Any] | None = None) -> str | None:
    """Where the teams file is: ``SPEND_TEAMS_FILE`` from the settings, else from secrets."""
    named = settings.value(SETTING) if settings is not None else None
    if not named and secrets:
        value = secrets.get(SETTING)
        named = str(value).strip() if isinstance(value, str | Path) else None
    return named or None


def load_teams(settings: Any, secrets: Mapping[str, Any] | None = None) -> Teams:
    """Settings (``SPEND_TEAMS_FILE``) and secrets (``[teams]``) into every configured team: the
    file's first, then the secrets'; empty ``Teams`` when neither is set.

    Raises ``ConfigError`` in one line when either cannot be used (never half of it), and when
    both name a team of one name.
    """
    path = teams_path(settings, secrets)
    from_file = load_teams_file(path) if path else Teams()
    from_secrets = secrets_teams(secrets) if secrets else Teams()
    both = from_file.teams + from_secrets.teams
    if from_file and from_secrets:
        _check_names(
            list(both),
            [f"teams file {path}"] * len(from_file.teams)
            + ["secrets [teams]"] * len(from_secrets.teams),
            "teams",
        )
    return Teams(both)


# --------------------------------------------------------------------------------------------
# Rows into teams


def _matches(frame: pd.DataFrame, column: str, values: Iterable[str], *, fold: bool) -> np.ndarray:
    """A column and wanted values into a row mask; ``fold`` compares without case (names and
    e-mails). Works on the categories of a categorical column (a year's table stays fast)."""
    wanted = list(values)
    if column not in frame.columns or not wanted:
        return np.zeros(len(frame), dtype=bool)
    series = frame[column]
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = pd.Series(series.cat.categories.astype(str))
        hit = _text_hits(categories, wanted, fold=fold)
        codes = series.cat.codes.to_numpy()
        return np.where(codes >= 0, hit[np.maximum(codes, 0)], False)
    return _text_hits(series.astype("string"), wanted, fold=fold)


def _text_hits(series: pd.Series, wanted: list[str], *, fold: bool) -> np.ndarray:
    text = series.astype("string")
    if fold:
        return (
            text.str.strip()
            .str.casefold()
            .isin([w.casefold() for w in wanted])
            .to_numpy(dtype=bool, na_value=False)
        )
    return text.isin(wanted).to_numpy(dtype=bool, na_value=False)


def _workspace_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose project is an Anthropic workspace (every row when the table names no provider)."""
    if "provider" not in frame.columns:
        return np.ones(len(frame), dtype=bool)
    return (
        frame["provider"]
        .astype("string")
        .eq(WORKSPACE_PROVIDER)
        .to_numpy(dtype=bool, na_value=False)
    )


def rule_masks(frame: pd.DataFrame, team: Team) -> dict[tuple[str, str], np.ndarray]:
    """Each id a team names into the rows it matches, e.g. ``("users", "ana@x.io") -> mask``.

    A user matches ``user_id`` or ``user_email`` (any case); a project ``project_id`` or
    ``project_name``; a key ``api_key_id`` or ``api_key_name``; a workspace the same project
    columns on Anthropic rows. Names compare without case; ids exactly.
    """
    columns = {
        "users": (("user_id", False), ("user_email", True)),
        "projects": (("project_id", False), ("project_name", True)),
        "keys": (("api_key_id", False), ("api_key_name", True)),
        "workspaces": (("project_id", False), ("project_name", True)),
    }
    out: dict[tuple[str, str], np.ndarray] = {}
    workspace_rows = _workspace_rows(frame) if team.workspaces else None
    for rule in RULES:
        for value in getattr(team, rule):
            mask = np.zeros(len(frame), dtype=bool)
            for column, fold in columns[rule]:
                mask |= _matches(frame, column, [value], fold=fold)
            if rule == "workspaces":
                mask &= workspace_rows
            out[(rule, value)] = mask
    return out


def team_mask(frame: pd.DataFrame, team: Team) -> np.ndarray:
    """The rows any of a team's rules match (before earlier teams take theirs)."""
    mask = np.zeros(len(frame), dtype=bool)
    for hit in rule_masks(frame, team).values():
        mask |= hit
    return mask


def team_column(frame: pd.DataFrame, teams: Teams) -> pd.Series:
    """The usage table into each row's team, e.g. ``["Research", "No team", ...]``: the first
    team whose rule matches, else ``NO_TEAM``. Categorical, the teams in file order then
    ``NO_TEAM``; indexed like ``frame``."""
    codes = np.full(len(frame), len(teams.teams), dtype="int64")  # NO_TEAM's code
    free = np.ones(len(frame), dtype=bool)
    for code, team in enumerate(teams.teams):
        hit = team_mask(frame, team) & free
        codes[hit] = code
        free &= ~hit
    categories = [*teams.names, NO_TEAM]
    values = pd.Categorical.from_codes(codes, categories=categories)
    return pd.Series(values, index=frame.index, name="team")


def with_teams(frame: pd.DataFrame, teams: Teams) -> pd.DataFrame:
    """The usage table with its ``team`` column (added, or replaced), e.g. a row of
    ``ana@acme.com`` -> "Research". Returns a new frame."""
    return frame.assign(team=team_column(frame, teams))


def unseen(frame: pd.DataFrame, teams: Teams) -> dict[str, list[str]]:
    """Each team into the ids its file names that match no row of ``frame``, e.g. ``{"Legal":
    ["users: intern@acme.com"]}``; teams whose every id matched are left out."""
    out: dict[str, list[str]] = {}
    for team in teams.teams:
        missing = [
            f"{rule}: {value}"
            for (rule, value), mask in rule_masks(frame, team).items()
            if not mask.any()
        ]
        if missing:
            out[team.name] = missing
    return out


# --------------------------------------------------------------------------------------------
# Money per team (the Teams page, the digest)


def _usage(frame: pd.DataFrame) -> pd.DataFrame:
    """Usage rows only (billed rows carry their money in ``cost_usd``; their allocation is on
    the usage rows' ``billed_usd``: never count it twice)."""
    billed = frame["cost_basis"].astype("string").eq("billed").to_numpy(dtype=bool, na_value=False)
    return frame.loc[~billed]


def money_basis(frame: pd.DataFrame) -> str:
    """The money the Teams page shows (``allocate.row_money``: each usage row's allocated billed
    money where the cost report covers its day, else its estimate): ``"billed"``,
    ``"estimated"`` (no bill: the demo, a legacy key) or ``budgets.MIXED`` (days not billed yet,
    or a provider without a cost report beside one with)."""
    found = allocate.row_money(frame)
    estimated = found.usage & ~found.billed & (found.money != 0)
    return basis_of(bool(found.billed.any()), bool(estimated.any()))


def _money(rows: pd.DataFrame) -> np.ndarray:
    """The usage rows' money per row (``allocate.row_money``)."""
    return allocate.row_money(rows).money


def by_team(frame: pd.DataFrame, teams: Teams) -> pd.DataFrame:
    """The usage table (with its ``team`` column) into one row per team, e.g. ``Research |
    1234.5 | billed | 0.62 | ...``.

    Columns: ``team, money`` (``allocate.row_money``: billed where billed, else estimated;
    ``basis`` says which), ``basis, estimated`` (every usage row's estimate), ``billed`` (the
    allocated billed part; NA without billed money), ``unpriced_rows`` (usage rows without a
    price: not in ``estimated``), ``users, total_tokens, share`` (of ``money``). Every
    configured team is a row, one without usage at 0; ``NO_TEAM`` only when rows fall in it.
    Sorted by money, ``NO_TEAM`` last.
    """
    basis = money_basis(frame)
    usage = _usage(frame)
    found = allocate.row_money(usage)
    team = usage["team"].astype("string").to_numpy(dtype=object)
    cost = usage["cost_usd"].astype("Float64")
    grouped = pd.DataFrame(
        {
            "team": team,
            "estimated": cost.fillna(0.0).to_numpy(dtype="float64"),
            "unpriced_rows": cost.isna().to_numpy(dtype="int64"),
            "billed": np.where(found.billed, found.money, np.nan),
            "money": found.money,
            "total_tokens": usage["input_tokens"].to_numpy(dtype="int64", na_value=0)
            + usage["output_tokens"].to_numpy(dtype="int64", na_value=0),
            "user": usage["user_id"].astype("string").to_numpy(dtype=object, na_value=None),
        }
    ).groupby("team", sort=False)
    sums = grouped.agg(
        estimated=("estimated", "sum"),
        unpriced_rows=("unpriced_rows", "sum"),
        billed=("billed", lambda v: v.sum(min_count=1)),
        money=("money", "sum"),
        total_tokens=("total_tokens", "sum"),
        users=("user", "nunique"),
    )
    names = list(teams.names) + ([NO_TEAM] if NO_TEAM in sums.index else [])
    names += [n for n in sums.index if n not in names]
    out = sums.reindex(names)
    out = out.fillna(
        {"estimated": 0.0, "money": 0.0, "unpriced_rows": 0, "total_tokens": 0, "users": 0}
    )
    out.index.name = "team"
    out = out.reset_index()
    out["team"] = out["team"].astype("string")
    out["estimated"] = out["estimated"].astype("Float64")
    out["billed"] = out["billed"].astype("Float64")
    for column in ("unpriced_rows", "total_tokens", "users"):
        out[column] = out[column].astype("int64")
    out["money"] = out["money"].astype("float64")
    out["basis"] = pd.Series(basis, index=out.index, dtype="string")
    whole = float(out["money"].sum())
    out["share"] = (out["money"] / whole if whole else out["money"] * 0.0).astype("Float64")
    last = out["team"].eq(NO_TEAM).to_numpy(dtype=bool)
    out = out.assign(_last=last).sort_values(
        ["_last", "money", "team"], ascending=[True, False, True], kind="stable"
    )
    columns = ["team", "money", "basis", "estimated", "billed", "unpriced_rows", "users"]
    return out[[*columns, "total_tokens", "share"]].reset_index(drop=True)


def team_daily(frame: pd.DataFrame, *, start: Any = None, end: Any = None) -> pd.DataFrame:
    """The usage table into a tidy ``date, group, value`` frame of money per day and team (the
    shape ``spend.charts.over_time`` draws), every day of [start, end] present, zeros where a
    team had nothing; money as ``by_team`` counts it."""
    usage = _usage(frame)
    first = pd.Timestamp(start) if start is not None else usage["date"].min()
    last = pd.Timestamp(end) if end is not None else usage["date"].max()
    days = pd.date_range(first, last, freq="D", name="date") if len(usage) else []
    money = _money(usage)
    sums = (
        pd.DataFrame(
            {"date": usage["date"].to_numpy(), "group": usage["team"].astype(str), "value": money}
        )
        .groupby(["date", "group"], sort=False)["value"]
        .sum()
    )
    groups = [g for g in dict.fromkeys(sums.index.get_level_values("group")) if sums[:, g].any()]
    full = pd.MultiIndex.from_product([days, groups], names=["date", "group"])
    tidy = sums.reindex(full, fill_value=0.0).astype("float64").rename("value").reset_index()
    tidy["group"] = tidy["group"].astype("string")
    tidy["date"] = tidy["date"].astype("datetime64[ns]")
    return tidy


def billed_through(frame: pd.DataFrame) -> pd.Timestamp | None:
    """The last day whose usage carries billed money, e.g. yesterday; None without any."""
    if "billed_usd" not in frame.columns:
        return None
    usage = _usage(frame)
    days = usage.loc[usage["billed_usd"].notna().to_numpy(dtype=bool), "date"]
    return days.max() if len(days) else None


def team_rows(frame: pd.DataFrame, team: str) -> pd.DataFrame:
    """The rows of one team, e.g. ``"Research"`` -> its usage and billed rows."""
    return frame.loc[frame["team"].astype("string").eq(team).to_numpy(dtype=bool, na_value=False)]


def top_of_team(frame: pd.DataFrame, team: str, by: str, *, n: int = 5) -> pd.DataFrame:
    """One team's top users or models by money, e.g. ``("Research", "user")`` -> ``label,
    money, share`` for its 5 biggest users (billed money where there is, else estimated;
    ``share`` of the team's money)."""
    rows = _usage(team_rows(frame, team))
    money = pd.Series(_money(rows), index=rows.index)
    if by == "user":
        ids = rows["user_id"].astype("string").fillna(analysis.NO_USER)
        labels = analysis.by_user(rows).set_index("user_id")["short_label"].astype("string")
        sums = money.groupby(ids.to_numpy(dtype=object)).sum()
        label = (
            pd.Series(sums.index, dtype="string")
            .map(labels)
            .fillna(pd.Series(sums.index, dtype="string"))
        )
    else:
        sums = money.groupby(rows["model"].astype("string").to_numpy(dtype=object)).sum()
        label = pd.Series(sums.index, dtype="string")
    out = pd.DataFrame({"label": label.to_numpy(), "money": sums.to_numpy(dtype="float64")})
    out["label"] = out["label"].astype("string")
    out["money"] = out["money"].astype("Float64")
    out = out.dropna(subset=["money"])
    out = out.loc[out["money"] > 0].sort_values("money", ascending=False, kind="stable")
    whole = float(out["money"].sum())
    out["share"] = (out["money"] / whole if whole else out["money"] * 0.0).astype("Float64")
    return out.head(n).reset_index(drop=True)
