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
from decimal import Decimal

import numpy as np
import pandas as pd

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


def _weights(
    cover: Cover, costs: np.ndarray, counts: np.ndarray, row_cost: np.ndarray
) -> np.ndarray | None:
    """Candidate rows into their weights for a line (see the module docstring), or None when every
    weight is 0 (the line covers no usage)."""
    tries = []
    if cover.components:
        picked = [_AT[name] for name in cover.components]
        tries += [costs[:, picked].sum(axis=1), counts[:, picked].sum(axis=1)]
    tries += [row_cost, counts.sum(axis=1)]
    for weights in tries:
        if weights.sum() > 0:
            return weights
    return None


def _narrow(rows: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Rows into the ones ``keep`` marks, or all of them when none is marked (a preference)."""
    return rows[keep] if keep.any() else rows


def allocate_billed(frame: pd.DataFrame, *, overrides: PriceTable | None = None) -> pd.DataFrame:
    """A priced usage table into the same table with ``billed_usd`` on every usage row and an
    unattributed row for billed money that covers no usage, e.g. a $3.00 line "gpt-4o, input" over
    two gpt-4o rows estimated at $1 and $2 -> billed_usd 1.00 and 2.00. A table without billed rows
    is returned as it is (no ``billed_usd`` column). Returns a new frame.

    :param frame: the usage table after ``spend.pricing.attach_prices``
    :param overrides: the user's prices, as used to price the table (the split's weights)
    """
    basis = frame["cost_basis"].astype("string").fillna("")
    is_billed = basis.eq("billed").to_numpy(dtype=bool)
    if not is_billed.any():
        return frame
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
    models = np.array([normal_model(m) for m in _text(usage, "model")], dtype=object)
    families = np.array([normal_model(m) for m in _text(usage, "model_family")], dtype=object)
    operations = _text(usage, "operation")
    sizes = _text(usage, "image_size")

    provider = _text(frame, "provider")
    days = frame["date"].to_numpy()
    project = _text(frame, "project_id")
    key = _text(frame, "api_key_id")
    billed_at = np.flatnonzero(is_billed)
    keyed = {
        (provider[i], days[i], project[i]) for i in billed_at if key[i] is not None
    }  # the cost report groups these days and projects by key
    scopes: dict[tuple, list[int]] = {}
    for j, i in enumerate(usage_at):
        scope = (provider[i], days[i], project[i])
        scopes.setdefault(scope, []).append(j)
        if scope in keyed:
            scopes.setdefault((*scope, key[i]), []).append(j)

    units = np.zeros(len(usage), dtype=np.int64)
    covered: set[tuple] = set()
    unattributed: dict[tuple, int] = {}
    dollars = frame["cost_usd"].astype("Float64")
    line_items = _text(frame, "line_item")
    for i in billed_at:
        amount = dollars.iat[i]
        if pd.isna(amount):
            continue  # another currency, or an unreadable amount: no dollars to split
        scope = (provider[i], days[i], project[i])
        covered.add((provider[i], days[i]))
        total = to_units(amount)
        cover = read_line_item(line_items[i])
        rows = np.array(
            scopes.get((*scope, key[i]) if scope in keyed else scope, []), dtype=np.int64
        )
        weights = None
        if cover.known and len(rows):
            if cover.model is not None:
                exact = (models[rows] == cover.model) | (families[rows] == cover.model)
                if not exact.any():
                    exact = np.array(
                        [
                            m is not None
                            and m.startswith(cover.model)
                            and bool(_SNAPSHOT.match(m[len(cover.model) :]))
                            for m in models[rows]
                        ],
                        dtype=bool,
                    )
                rows = rows[exact]
            if cover.operations and len(rows):
                rows = rows[np.isin(operations[rows], list(cover.operations))]
            if cover.batch is not None and len(rows):
                rows = _narrow(rows, batch[rows] == cover.batch)
            if cover.size is not None and len(rows):
                rows = _narrow(rows, sizes[rows] == cover.size)
            if len(rows):
                weights = _weights(cover, costs[rows], counts[rows], row_cost[rows])
        if weights is None:
            label = (frame["source"].iat[i], *scope, line_items[i])
            unattributed[label] = unattributed.get(label, 0) + total
            continue
        np.add.at(units, rows, split_units(total, weights))

    billed = pd.array([pd.NA] * len(frame), dtype="Float64")
    on_covered = np.array([(provider[i], days[i]) in covered for i in usage_at], dtype=bool)
    values = pd.array(units / UNITS_PER_USD, dtype="Float64")
    values[~on_covered] = pd.NA
    billed[usage_at] = values
    out = frame.assign(billed_usd=billed)
    if unattributed:
        out = pd.concat([out, _unattributed_rows(frame, unattributed)], ignore_index=True)
    out.attrs = dict(frame.attrs)
    return out


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
        for (source, provider, day, project, line_item), units in money.items()
    ]
    extra = pd.DataFrame(rows)
    columns = [*frame.columns, "billed_usd"]
    extra = extra.reindex(columns=columns)
    dtypes = {**frame.dtypes.to_dict(), "billed_usd": "Float64"}
    return extra.astype({name: dtypes[name] for name in columns})
