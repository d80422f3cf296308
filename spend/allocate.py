"""Billed money onto usage: each line of a provider's cost report split over the usage rows it
covers, so every row carries ``billed_usd`` beside its estimate ``cost_usd``.

A billed row (``cost_basis == "billed"``) covers a day, a project (an Anthropic workspace), a line
item, and an API key where the cost report groups by key (OpenAI's Costs API does:
``spend.sources.admin.COSTS_GROUP_BY``; Anthropic's cost report has no key). Its money goes to the
usage rows of the same provider, day and project (and key, when that day and project's lines name
keys) that its line item names:

- a line that names a model and a token kind ("gpt-4o-2024-08-06, cached input", "Claude Sonnet
  4.5 Usage - Output Tokens") goes to that model's rows, by that kind of token;
- a line that names a kind of usage ("web search tool calls", "vector store storage", "Text
  tokens", "input_tokens", "Web Search") goes to that kind's rows;
- within those rows it is split in proportion to their estimated cost of what the line charges
  (``spend.pricing.component_counts`` x ``rates_per_row``, the batch discount included), else of
  the whole row, else in proportion to tokens and units where nothing is priced.

What covers no usage (a line this module cannot read, a model with no usage rows that day, a
fine-tuning job) is an **unattributed** row: the day, provider, project and line item, no user and
no key, ``user_name`` and ``model_family`` "(unattributed)", ``operation`` "unattributed",
``cost_usd`` 0.0 (no usage was seen, so nothing is estimated) and the money in ``billed_usd``. It is
never spread silently.

Money is split in integer units of 10^-8 USD (a millionth of a cent) by largest remainder, ties to
the earlier row, so for every day and project the allocated money plus the unattributed money is
the cost report's line exactly. ``billed_usd`` is NA on the billed rows themselves (their money is
``cost_usd``: never count it twice), and on usage rows of a day the cost report has no line for
(not billed yet: unknown, never 0). Billed rows in another currency, or whose amount could not be
read, have no dollars to split.

    frame = allocate_billed(attach_prices(frame))   # spend.sources.base.Source.assemble
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from spend.localdays import apportion, utc_day_parts
from spend.pricing import BATCH_DISCOUNT, ModalRates, PriceTable, component_counts, rates_per_row

#: The label of billed money that covers no usage row (``user_name`` and ``model_family``).
UNATTRIBUTED = "(unattributed)"
#: The ``operation`` of an unattributed row.
UNATTRIBUTED_OPERATION = "unattributed"
#: Money is split in integer units of this fraction of a dollar (a millionth of a cent).
UNITS_PER_USD = 10**8

_FIELDS = ModalRates._fields
_AT = {name: i for i, name in enumerate(_FIELDS)}
#: token kind x modality -> the ``ModalRates`` component it is priced as
_TOKEN_KINDS = {
    "input": {"text": "input", "audio": "audio_input", "image": "image_input"},
    "cached": {"text": "cached", "audio": "audio_cached", "image": "image_cached"},
    "output": {"text": "output", "audio": "audio_output", "image": "image_output"},
}
#: words of a line item -> the ``operation`` of the rows it covers (first match wins)
_OPERATION_WORDS = (
    ("web search", "web_search"),
    ("file search", "file_search"),
    ("code interpreter", "code_interpreter"),
    ("vector store", "vector_storage"),
    ("storage", "vector_storage"),
    ("transcription", "transcription"),
    ("whisper", "transcription"),
    ("tts", "tts"),
    ("speech", "tts"),
    ("characters", "tts"),
    ("embedding", "embeddings"),
    ("moderation", "moderation"),
    ("image model", "image"),
    ("images", "image"),
)
_SIZE = re.compile(r"\b(\d{2,5}x\d{2,5})\b")
_SNAPSHOT = re.compile(r"^-(\d{8}|\d{4}-\d{2}-\d{2})$")
_ANTHROPIC = re.compile(r"^(?P<model>.+?)\s+usage\s*-\s*(?P<rest>.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Cover:
    """What one billed line covers: a model, kinds of usage, the parts of a row it charges.

    ``model`` is normalized (``normal_model``), None for any; ``operations`` empty for any;
    ``components`` are ``ModalRates`` fields, empty for the whole row; ``batch`` and ``size`` narrow
    the rows when some match (None: no preference); ``known`` is False for a line this module
    cannot read (its money stays unattributed).
    """

    model: str | None = None
    operations: frozenset[str] = frozenset()
    components: tuple[str, ...] = ()
    batch: bool | None = None
    size: str | None = None
    known: bool = True


def normal_model(name: object) -> str | None:
    """A model id or display name into one spelling, e.g. ``"Claude Sonnet 4.5" ->
    "claude-sonnet-4-5"``, ``"gpt-4o-2024-08-06"`` unchanged; None for a missing name."""
    if name is None or (not isinstance(name, str) and pd.isna(name)):
        return None
    text = re.sub(r"[\s._]+", "-", str(name).strip().lower())
    return text or None


def _components(words: str) -> tuple[str, ...]:
    """The words of a line item into the ``ModalRates`` components it charges, e.g. ``"cached
    input"`` -> cached text, audio and image input; ``"output audio"`` -> audio output; ``()`` when
    the words name no kind of token."""
    if "cache write" in words or "cache creation" in words:
        if "1h" in words or "1 h" in words:
            return ("cache_write_1h",)
        if "5m" in words or "5 m" in words:
            return ("cache_write",)
        return ("cache_write", "cache_write_1h")
    modalities = [m for m in ("text", "audio", "image") if m in words] or ["text", "audio", "image"]
    if "cached" in words or "cache read" in words:
        kinds = ["cached"]
    elif "output" in words:
        kinds = ["output"]
    elif "input" in words:
        kinds = ["input"]
    elif "token" in words:
        kinds = ["input", "cached", "output"]
    else:
        return ()
    picked = tuple(_TOKEN_KINDS[k][m] for k in kinds for m in modalities)
    if kinds == ["input", "cached", "output"] and len(modalities) == 3:
        picked += ("cache_write", "cache_write_1h")
    return picked


def read_line_item(line_item: object) -> Cover:
    """A line item into what it covers, e.g. ``"gpt-4o-2024-08-06, cached input, batch"`` ->
    ``Cover(model="gpt-4o-2024-08-06", components=("cached", "audio_cached", "image_cached"),
    batch=True)``; ``"Claude Sonnet 4.5 Usage - Cache Write Tokens (1h)"`` -> ``Cover(model=
    "claude-sonnet-4-5", components=("cache_write_1h",))``; ``"web search tool calls"`` ->
    ``Cover(operations={"web_search"})``; None (costs not grouped by line item) -> ``Cover()``,
    every usage row; an unknown label such as ``"Fine-tuning training"`` -> ``known=False``.

    :param line_item: OpenAI's ``line_item`` or Anthropic's ``description``
    """
    if line_item is None or (not isinstance(line_item, str) and pd.isna(line_item)):
        return Cover()
    text = str(line_item).strip()
    if not text:
        return Cover()
    model: str | None = None
    batch: bool | None = None
    anthropic = _ANTHROPIC.match(text)
    if anthropic:
        model, rest = normal_model(anthropic["model"]), anthropic["rest"]
    elif "," in text and " " not in text.split(",", 1)[0].strip():
        head, rest = text.split(",", 1)
        model = normal_model(head)
        batch = "batch" in rest.lower()
    else:
        rest = text
    words = re.sub(r"[_\-]+", " ", rest.lower())
    operations = frozenset(op for phrase, op in _OPERATION_WORDS if phrase in words)
    if len(operations) > 1:  # "images" beside "storage" ...: the first phrase names it
        operations = frozenset([next(op for phrase, op in _OPERATION_WORDS if phrase in words)])
    components = _components(words)
    size = _SIZE.search(words)
    known = model is not None or bool(operations) or bool(components)
    return Cover(
        model=model,
        operations=operations,
        components=components,
        batch=batch,
        size=size.group(1) if size else None,
        known=known,
    )


def to_units(usd: float | Decimal) -> int:
    """Dollars into integer units of 10^-8 USD, e.g. ``12.5 -> 1_250_000_000``; a float is read by
    its shortest text (``0.1`` is 10^7 units, not 9999999.99...)."""
    amount = usd if isinstance(usd, Decimal) else Decimal(repr(float(usd)))
    return int((amount * UNITS_PER_USD).to_integral_value())


def split_units(total: int, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """An integer amount into parts in proportion to weights that add up to it exactly, by largest
    remainder (ties to the earlier part), e.g. ``(10, [1, 1, 1]) -> [4, 3, 3]``, ``(-5, [1, 3]) ->
    [-1, -4]``.

    :param total: the amount, in integer units (a credit is negative)
    :param weights: non-negative weights with a positive sum
    """
    w = np.asarray(weights, dtype="float64")
    sign, size = (-1 if total < 0 else 1), abs(int(total))
    exact = w / w.sum() * size
    parts = np.floor(exact).astype(np.int64)
    left = size - int(parts.sum())
    order = np.lexsort((np.arange(len(w)), -(exact - parts)))  # largest remainder first
    if left >= 0:
        whole, rest = divmod(left, len(w))
        parts += whole
        parts[order[:rest]] += 1
    else:  # float error put a unit too many in the floors: take it from the smallest remainders
        for at in order[::-1]:
            if left == 0:
                break
            taken = min(int(parts[at]), -left)
            parts[at] -= taken
            left += taken
    return sign * parts


def _text(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column into an object array of str/None (a missing column: every cell None)."""
    if name not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    values = frame[name].astype("string").astype(object)
    return np.where(pd.isna(values), None, values).astype(object)


#: Stands for a missing cell in join keys (a merge must match a missing key with a missing key).
_NONE = "(none)"  # no id looks like this (NUL would be dropped by Arrow-backed strings)


def _norm(values: np.ndarray) -> np.ndarray:
    """Model names into ``normal_model`` spellings, each distinct name normalized once."""
    names = pd.Series(values, dtype=object)
    uniques = names.dropna().unique()
    return names.map(dict(zip(uniques, map(normal_model, uniques), strict=True))).to_numpy(
        dtype=object
    )


def _prefer(line: np.ndarray, keep: np.ndarray, n_lines: int) -> np.ndarray:
    """Pairs (their line, whether each is preferred) into the pairs to keep: a line's preferred
    pairs when it has any, else all of its pairs."""
    has = np.bincount(line, weights=keep, minlength=n_lines) > 0
    return keep | ~has[line]


def _split_pairs(line: np.ndarray, weights: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Pairs (their line, weight) and each line's integer total into each pair's part, by largest
    remainder within its line (ties to the earlier pair), as ``split_units`` line by line."""
    n_lines = len(totals)
    sums = np.bincount(line, weights=weights, minlength=n_lines)
    size = np.abs(totals)
    exact = size[line] * (weights / sums[line])
    parts = np.floor(exact).astype(np.int64)
    left = size - np.bincount(line, weights=parts, minlength=n_lines).astype(np.int64)
    order = np.lexsort((np.arange(len(line)), -(exact - parts), line))
    count = np.bincount(line, minlength=n_lines)
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    rank = np.empty(len(line), dtype=np.int64)
    rank[order] = np.arange(len(line)) - first[line[order]]
    whole, rest = np.divmod(np.maximum(left, 0), np.maximum(count, 1))
    parts += whole[line] + (rank < rest[line])
    for bad in np.flatnonzero(left < 0):  # float error on a huge line: redo it exactly
        mine = line == bad
        parts[mine] = split_units(int(size[bad]), weights[mine])
    return np.where(totals[line] < 0, -parts, parts)


def _keys(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows into their allocation scope: provider, day, project and key (``_NONE`` for none)."""
    return pd.DataFrame(
        {
            "provider": pd.Series(_text(rows, "provider")).fillna(_NONE).to_numpy(),
            "day": rows["date"].to_numpy(),
            "project": pd.Series(_text(rows, "project_id")).fillna(_NONE).to_numpy(),
            "key": pd.Series(_text(rows, "api_key_id")).fillna(_NONE).to_numpy(),
        }
    )


@dataclass
class _Pairs:
    """The billed lines of a priced table and the usage rows each covers, with their weights."""

    usage_at: np.ndarray  # positions of the usage rows in the table
    usage: pd.DataFrame
    bills: pd.DataFrame  # the lines with dollars: scope, key, line_item, amount, at (position)
    totals: np.ndarray  # each line's integer units
    covered: pd.DataFrame  # (provider, day) that some line with dollars covers
    line: np.ndarray  # pairs: the line ...
    row: np.ndarray  # ... the usage row (a position in ``usage``) ...
    weights: np.ndarray  # ... and its weight (all positive)
    spread: np.ndarray  # per line: whether any usage row takes its money


def _pairs(frame: pd.DataFrame, is_billed: np.ndarray, overrides: PriceTable | None) -> _Pairs:
    """A priced usage table with billed rows into the pairs (billed line, usage row) of the same
    scope, narrowed by what each line covers, and weighted (see ``allocate_billed``)."""
    usage_at = np.flatnonzero(~is_billed)
    usage = frame.iloc[usage_at]
    counts = component_counts(usage)
    rates = np.nan_to_num(rates_per_row(usage, overrides=overrides), nan=0.0)
    if "batch" in usage.columns:
        batch = usage["batch"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    else:
        batch = np.zeros(len(usage), dtype=bool)
    costs = counts * rates * np.where(batch, 1.0 - BATCH_DISCOUNT, 1.0)[:, None]
    row_cost = usage["cost_usd"].astype("Float64").fillna(0.0).to_numpy(dtype="float64")
    row_cost = np.where(row_cost > 0, row_cost, 0.0)

    scope = ["provider", "day", "project"]
    bills = _keys(frame.iloc[np.flatnonzero(is_billed)])
    bills["source"] = _text(frame.iloc[np.flatnonzero(is_billed)], "source")
    bills["at"] = np.flatnonzero(is_billed)
    bills["line_item"] = _text(frame.iloc[np.flatnonzero(is_billed)], "line_item")
    dollars = frame["cost_usd"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    bills["amount"] = dollars[is_billed]
    keyed = bills[bills["key"] != _NONE][scope].drop_duplicates().assign(keyed=True)
    bills = bills.merge(keyed, on=scope, how="left")
    bills["keyed"] = bills["keyed"].fillna(False).astype(bool)
    covered = bills.loc[bills["amount"].notna(), ["provider", "day"]].drop_duplicates()
    # another currency, or an unreadable amount: no dollars to split
    bills = bills[bills["amount"].notna()].reset_index(drop=True)
    n_lines = len(bills)
    # as to_units, vectorized: the nearest unit (amounts carry at most 8 decimals, Decimal-summed)
    totals = np.rint(bills["amount"].to_numpy(dtype="float64") * UNITS_PER_USD).astype(np.int64)

    # what each line covers, read once per distinct label
    codes, uniques = pd.factorize(bills["line_item"].to_numpy(dtype=object), use_na_sentinel=False)
    covers = [read_line_item(label) for label in uniques]
    l_known = np.array([c.known for c in covers], dtype=bool)[codes]
    l_model = np.array([c.model for c in covers] + [None], dtype=object)[:-1][codes]
    l_op = np.array([next(iter(c.operations), None) for c in covers] + [None], dtype=object)
    l_op = l_op[:-1][codes]
    l_batch = np.array([c.batch for c in covers] + [None], dtype=object)[:-1][codes]
    l_size = np.array([c.size for c in covers] + [None], dtype=object)[:-1][codes]
    parts_of = np.zeros((len(covers), len(_FIELDS)), dtype=bool)
    for i, cover in enumerate(covers):
        parts_of[i, [_AT[name] for name in cover.components]] = True
    l_parts = parts_of[codes]

    # every (line, usage row) pair of the same scope
    rows = _keys(usage).assign(row=np.arange(len(usage)))
    lines = bills[scope + ["key", "keyed"]].assign(line=np.arange(n_lines))
    by_key = lines[lines["keyed"]].merge(rows, on=[*scope, "key"])
    by_scope = lines[~lines["keyed"]].drop(columns="key").merge(rows, on=scope)
    pairs = pd.concat([by_key, by_scope], ignore_index=True)[["line", "row"]]
    line = pairs["line"].to_numpy(dtype=np.int64)
    row = pairs["row"].to_numpy(dtype=np.int64)

    keep = l_known[line]
    models, families = _norm(_text(usage, "model")), _norm(_text(usage, "model_family"))
    wanted = l_model[line]
    named = pd.notna(wanted)
    exact = named & ((models[row] == wanted) | (families[row] == wanted))
    combos = pd.DataFrame({"model": models[row], "wanted": wanted})[named & ~exact]
    snapshot = np.zeros(len(line), dtype=bool)
    if len(combos):
        uniques = combos.drop_duplicates()
        ok = [
            isinstance(m, str) and m.startswith(w) and bool(_SNAPSHOT.match(m[len(w) :]))
            for m, w in zip(uniques["model"], uniques["wanted"], strict=True)
        ]
        hits = uniques.assign(ok=ok).merge(combos.reset_index(), on=["model", "wanted"])
        snapshot[hits["index"].to_numpy()] = hits["ok"].to_numpy(dtype=bool)
    has_exact = np.bincount(line, weights=exact & keep, minlength=n_lines) > 0
    keep &= ~named | np.where(has_exact[line], exact, snapshot)
    op = l_op[line]
    keep &= pd.isna(op) | (_text(usage, "operation")[row] == op)
    line, row = line[keep], row[keep]
    want_batch = l_batch[line]
    prefer = pd.isna(want_batch) | (batch[row] == want_batch.astype(bool))
    line, row = line[(k := _prefer(line, prefer, n_lines))], row[k]
    want_size = l_size[line]
    prefer = pd.isna(want_size) | (_text(usage, "image_size")[row] == want_size)
    line, row = line[(k := _prefer(line, prefer, n_lines))], row[k]

    # weights: the cost of the charged parts, their counts, the row's cost, its counts
    mask = l_parts[line]
    tries = [
        (costs[row] * mask).sum(axis=1),
        (counts[row] * mask).sum(axis=1),
        row_cost[row],
        counts[row].sum(axis=1),
    ]
    sums = np.stack([np.bincount(line, weights=w, minlength=n_lines) for w in tries], axis=1)
    positive = sums > 0
    level = np.where(positive.any(axis=1), positive.argmax(axis=1), -1)
    weights = np.choose(np.maximum(level[line], 0), tries)
    spread = level >= 0
    live = spread[line] & (weights > 0)
    line, row, weights = line[live], row[live], weights[live]

    return _Pairs(usage_at, usage, bills, totals, covered, line, row, weights, spread)


def allocate_billed(frame: pd.DataFrame, *, overrides: PriceTable | None = None) -> pd.DataFrame:
    """A priced usage table into the same table with ``billed_usd`` on every usage row and an
    unattributed row for billed money that covers no usage, e.g. a $3.00 line "gpt-4o, input" over
    two gpt-4o rows estimated at $1 and $2 -> billed_usd 1.00 and 2.00. A table without billed rows
    is returned as it is (no ``billed_usd`` column). Returns a new frame.

    Vectorized: every billed line is joined to the usage rows of its scope (provider, day, project,
    and key where the day and project's lines name keys), the pairs are narrowed by what the line
    covers, weighted, and split by largest remainder line by line.

    :param frame: the usage table after ``spend.pricing.attach_prices``
    :param overrides: the user's prices, as used to price the table (the split's weights)
    """
    basis = frame["cost_basis"].astype("string").fillna("")
    is_billed = basis.eq("billed").to_numpy(dtype=bool)
    if not is_billed.any():
        return frame
    found = _pairs(frame, is_billed, overrides)
    usage_at, usage, bills, totals = found.usage_at, found.usage, found.bills, found.totals
    covered, line, row, weights, spread = (
        found.covered,
        found.line,
        found.row,
        found.weights,
        found.spread,
    )
    units = np.zeros(len(usage), dtype=np.int64)
    if len(line):
        np.add.at(units, row, _split_pairs(line, weights, np.where(spread, totals, 0)))
    on_covered = (
        _keys(usage)[["provider", "day"]]
        .merge(covered.assign(covered=True), on=["provider", "day"], how="left")["covered"]
        .fillna(False)
        .to_numpy(dtype=bool)
    )
    billed = pd.array([pd.NA] * len(frame), dtype="Float64")
    values = pd.array(units / UNITS_PER_USD, dtype="Float64")
    values[~on_covered] = pd.NA
    billed[usage_at] = values
    out = frame.assign(billed_usd=billed)
    lost = bills[~spread].assign(units=totals[~spread])
    if len(lost):
        money = lost.groupby(
            ["source", "provider", "day", "project", "line_item"], dropna=False, sort=False
        )["units"].sum()
        out = pd.concat([out, _unattributed_rows(frame, money.to_dict())], ignore_index=True)
    out.attrs = dict(frame.attrs)
    return out


#: What every explanation of billed money says when it was apportioned to the team's own days.
APPORTIONED = (
    "The Costs APIs bill per UTC day: each day's billed lines are apportioned to the two {zone} "
    "dates it touches, in proportion to the usage behind each line hour by hour (by hours when "
    "none), so the billed total over whole UTC days is unchanged to the cent."
)


def apportioned_notice(zone: str) -> str:
    """The words that label apportioned billed money, e.g. for ``"America/Los_Angeles"``."""
    return APPORTIONED.format(zone=zone)


class RowMoney(NamedTuple):
    """Each row's own money (``row_money``), as masks and values aligned with the table's rows."""

    usage: np.ndarray  # usage rows (not Costs API rows: their money is on the usage rows)
    money: np.ndarray  # USD: allocated billed money, else the estimate (0 where unpriced)
    billed: np.ndarray  # the row counts billed money allocated to it
    unpriced: np.ndarray  # the row counts an estimate it has not got (no price): never $0


def row_money(frame: pd.DataFrame) -> RowMoney:
    """Each usage row's money, one basis per provider and day: the billed money allocated to it
    (``billed_usd``) where the cost report covers its day, else its estimate (``cost_usd``), e.g.
    a row of a billed day estimated at $1 and allocated $1.20 -> $1.20; the same row a day the
    Costs API has not reported yet -> $1.00 (estimated). ``billed_usd`` is NA exactly on the days
    no line covers (``allocate_billed``), so a slice of the table (a team, a user) keeps the rule.
    Costs API rows count 0 here: their money is on the usage rows."""
    is_billed = (
        frame["cost_basis"].astype("string").eq("billed").to_numpy(dtype=bool, na_value=False)
    )
    usage = ~is_billed
    estimate = frame["cost_usd"].to_numpy(dtype="float64", na_value=np.nan)
    if "billed_usd" in frame.columns:
        allocated = frame["billed_usd"].to_numpy(dtype="float64", na_value=np.nan)
    else:
        allocated = np.full(len(frame), np.nan)
    billed = usage & ~np.isnan(allocated)
    unpriced = usage & ~billed & np.isnan(estimate)
    money = np.where(billed, np.nan_to_num(allocated), np.nan_to_num(estimate))
    money[~usage] = 0.0
    return RowMoney(usage, money, billed, unpriced)


def apportion_billed(
    frame: pd.DataFrame,
    hours: pd.DataFrame | None,
    zone: ZoneInfo,
    *,
    days: tuple[date, date] | None = None,
    overrides: PriceTable | None = None,
) -> pd.DataFrame:
    """A priced table whose billed rows are per UTC day into the same table with each billed row
    split over the local dates in ``zone`` that its UTC day touches, e.g. a $3.00 "gpt-4o, input"
    line on Nov 3 whose gpt-4o usage ran $1 in the hours that are Nov 2 in Los Angeles and $2 in
    the rest -> $1.00 on Nov 2 and $2.00 on Nov 3. Usage rows are kept as they are.

    The weights are those ``allocate_billed`` splits a line by (same project, key, line item
    matching), over the usage of each UTC hour (``hours``: ``date`` the UTC day, ``hour`` its
    start, priced); a line with no usage behind it splits by hours (``localdays.split_utc_day``).
    The parts add up to the line to the cent and beyond (``localdays.apportion``): billed money
    over any whole set of UTC days is unchanged. Lines without dollars (another currency, an
    unreadable amount) move whole to the date most of their hours fall on. Parts outside
    ``days`` (first, last local date) are left out. Returns a new frame.
    """
    basis = frame["cost_basis"].astype("string").fillna("")
    is_billed = basis.eq("billed").to_numpy(dtype=bool)
    if not is_billed.any():
        return frame
    billed = frame.iloc[np.flatnonzero(is_billed)].reset_index(drop=True)
    usage_rows = frame.iloc[np.flatnonzero(~is_billed)]
    hourly: dict[int, dict[int, float]] = {}  # billed row -> UTC hour -> weight
    if hours is not None and len(hours):
        hours = hours.reset_index(drop=True)
        both = pd.concat([hours.drop(columns="hour"), billed], ignore_index=True)
        marks = np.r_[np.zeros(len(hours), dtype=bool), np.ones(len(billed), dtype=bool)]
        found = _pairs(both, marks, overrides)
        if len(found.line):
            at = found.bills["at"].to_numpy(dtype=np.int64) - len(hours)
            of_hour = pd.DatetimeIndex(hours["hour"]).hour.to_numpy()
            sums = (
                pd.DataFrame(
                    {
                        "line": at[found.line],
                        "hour": of_hour[found.usage_at[found.row]],
                        "weight": found.weights,
                    }
                )
                .groupby(["line", "hour"], sort=False)["weight"]
                .sum()
            )
            for (line, hour), weight in sums.items():
                hourly.setdefault(int(line), {})[int(hour)] = float(weight)
    dollars = billed["cost_usd"].astype("Float64")
    first, last = (pd.Timestamp(d) for d in days) if days else (None, None)
    rows: list[int] = []
    dates: list[pd.Timestamp] = []
    amounts: list[float | None] = []
    days_parts: dict[date, dict[date, list[int]]] = {}  # each UTC day's parts, worked out once
    for i, when in enumerate(pd.to_datetime(billed["date"])):
        day = when.date()
        parts = days_parts.get(day)
        if parts is None:
            parts = days_parts[day] = utc_day_parts(day, zone)
        if pd.isna(dollars[i]):
            split: dict = {max(parts, key=lambda d: len(parts[d])): None}
        else:
            money = Decimal(repr(float(dollars[i])))
            usage = hourly.get(i, {})
            weights = {d: sum(usage.get(h, 0.0) for h in hs) for d, hs in parts.items()}
            if sum(weights.values()) <= 0:  # no usage behind the line: by hours
                weights = {d: float(len(hs)) for d, hs in parts.items()}
            split = apportion(money, weights)
            if any(split.values()):  # a part of nothing is not a line
                split = {d: v for d, v in split.items() if v}
        for local, part in split.items():
            stamp = pd.Timestamp(local)
            if first is not None and not first <= stamp <= last:
                continue
            rows.append(i)
            dates.append(stamp)
            amounts.append(None if part is None else float(part))
    moved = billed.iloc[rows].reset_index(drop=True)
    moved["date"] = pd.array(dates, dtype=frame["date"].dtype)
    moved["cost_usd"] = pd.array(amounts, dtype=frame["cost_usd"].dtype)
    out = pd.concat([usage_rows, moved], ignore_index=True)
    out.attrs = dict(frame.attrs)
    return out


def billed_by(
    frame: pd.DataFrame, columns: str | list[str], *, missing: str = "(none)"
) -> pd.Series:
    """A usage table into its billed money per value of some columns, e.g. ``"user_id"`` ->
    ``{"user-ann": 2.0, "(no user)": 4.5}``, ``["model", "operation"]`` -> ``{("gpt-4o",
    "completion"): 3.0, ...}`` (NA where those rows' days are not billed yet); empty when the
    table has no billed money (no ``billed_usd``: the demo, the legacy endpoint).

    :param columns: the usage table's column(s), e.g. ``user_id`` or ``["model", "operation"]``
    :param missing: the name of rows without a value (``analysis.NO_USER`` for users)
    """
    names = [columns] if isinstance(columns, str) else list(columns)
    if "billed_usd" not in frame.columns or not set(names) <= set(frame.columns):
        return pd.Series(dtype="Float64")
    usage = frame.loc[~frame["cost_basis"].astype("string").eq("billed").fillna(False).to_numpy()]
    money = usage["billed_usd"].astype("Float64")
    if money.isna().all():
        return pd.Series(dtype="Float64")
    ids = [usage[name].astype("string").fillna(missing).to_numpy(dtype=object) for name in names]
    sums = money.groupby(ids if len(ids) > 1 else ids[0], sort=False).sum(min_count=1)
    return sums.astype("Float64")


def beside(table: pd.DataFrame, billed: pd.Series, *, on: str | list[str]) -> pd.DataFrame:
    """A breakdown (``analysis.by_user``, ``by_model``...) into the same table with ``billed_usd``
    from ``billed_by`` beside its estimate, e.g. ``user-ann | $1.90 est. | $2.00 billed``; the table
    unchanged when ``billed`` is empty. Returns a new frame.

    :param on: the breakdown's id column(s) that ``billed`` is indexed by
    """
    if not len(billed):
        return table
    names = [on] if isinstance(on, str) else list(on)
    cells = [table[name].astype("string").astype(object).to_numpy() for name in names]
    ids = list(zip(*cells, strict=True)) if len(names) > 1 else list(cells[0])
    known = billed.to_dict()
    values = pd.array([known.get(i, pd.NA) for i in ids], dtype="Float64")
    return table.assign(billed_usd=values)


def _unattributed_rows(frame: pd.DataFrame, money: dict[tuple, int]) -> pd.DataFrame:
    """(source, provider, day, project, line item) -> units into unattributed rows typed like
    ``frame`` (plus ``billed_usd``)."""
    names = {}
    if "project_name" in frame.columns:
        pairs = frame[["project_id", "project_name"]].dropna()
        names = dict(zip(pairs["project_id"].astype(str), pairs["project_name"], strict=True))
    rows = [
        {
            "date": day,
            "source": source,
            "provider": provider,
            "project_id": project,
            "project_name": names.get(project) if project is not None else None,
            "user_name": UNATTRIBUTED,
            "model_family": UNATTRIBUTED,
            "operation": UNATTRIBUTED_OPERATION,
            "input_tokens": 0,
            "cached_input_tokens": 0,
            "output_tokens": 0,
            "cost_usd": 0.0,
            "cost_basis": "estimated",
            "cost_lower_bound": False,
            "line_item": line_item,
            "currency": "usd",
            "billed_usd": units / UNITS_PER_USD,
        }
        for (source, provider, day, project, line_item), units in (
            ((s, None if p == _NONE else p, d, None if j == _NONE else j, li), u)
            for (s, p, d, j, li), u in money.items()
        )
    ]
    extra = pd.DataFrame(rows)
    columns = [*frame.columns, "billed_usd"]
    extra = extra.reindex(columns=columns)
    dtypes = {**frame.dtypes.to_dict(), "billed_usd": "Float64"}
    return extra.astype({name: dtypes[name] for name in columns})
