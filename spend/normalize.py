"""API-shaped payloads into the usage table (``spend.schema``), and name tables to join onto it.

Every function here is pure: it takes decoded JSON (dicts and lists, exactly as the endpoints
return them) and returns a new frame. Every field of every payload is optional: missing keys,
nulls, extra keys, unknown arrays and unknown result objects never crash. Where a policy choice
exists the function takes ``errors="coerce"`` (skip or zero what cannot be read, and count it in
``frame.attrs["skipped"]``) or ``errors="raise"`` (``spend.errors.MalformedResponseError``).
A payload that is not a JSON object at all always raises ``MalformedResponseError``.

Usage rows leave here ``cost_basis="unpriced"`` with ``cost_usd`` NA (``spend.pricing`` upgrades
them later); Costs API rows leave ``cost_basis="billed"`` with their money.

    legacy_usage_to_frame(payloads).pipe(join_users, users)      # legacy source (and demo)
    admin_usage_to_frame("completions", pages).pipe(join_names, users=u, projects=p, api_keys=k)
    admin_costs_to_frame(pages)

Every usage frame returned here has the schema's COLUMNS, then EXTRA_COLUMNS, then
``image_source`` (admin images ``source``), so frames of different kinds concatenate cleanly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import pandas as pd

from spend.errors import MalformedResponseError
from spend.schema import COLUMNS, EXTRA_COLUMNS, conform

Errors = Literal["raise", "coerce"]

#: Extra columns every usage frame from this module carries (typed), after the schema's.
USAGE_EXTRAS: dict[str, str] = {**EXTRA_COLUMNS, "image_source": "string"}

USER_COLUMNS = ("user_id", "user_name", "user_email", "role")
PROJECT_COLUMNS = ("project_id", "project_name", "status", "archived")
API_KEY_COLUMNS = (
    "api_key_id",
    "api_key_name",
    "project_id",
    "owner_type",
    "owner_user_id",
    "owner_user_name",
    "owner_user_email",
    "redacted_value",
)


# --------------------------------------------------------------------------------------------
# Scalars
# --------------------------------------------------------------------------------------------


def check_errors(errors: str) -> None:
    """An ``errors=`` policy into nothing when valid, e.g. ``"coerce"``; else ValueError."""
    if errors not in ("raise", "coerce"):
        raise ValueError(f"errors must be 'raise' or 'coerce', not {errors!r}")


def require_dict(payload: Any, what: str = "response body") -> dict:
    """A decoded body into itself when it is a JSON object, e.g. ``{} -> {}``; else
    MalformedResponseError.

    :param payload: decoded JSON
    :param what: what the body is, for the message (``"/v1/usage body for 2024-05-01"``)
    """
    if isinstance(payload, dict):
        return payload
    kind = "null" if payload is None else type(payload).__name__
    raise MalformedResponseError(
        f"expected a JSON object as the {what}, got {kind}: {payload!r:.80}"
    )


#: The largest count or quantity an answer may hold: a quadrillion, far above any organization's
#: day (all of OpenAI's API served under 10^13 tokens a day in 2025) and small enough that the sums
#: of thousands of such rows still fit the usage table's int64 columns. A count above it, or below
#: 0, is an answer gone wrong (``1e30`` tokens), never data.
MAX_COUNT = 10**15


def out_of_bounds(number: float) -> bool:
    """A count or quantity into whether no answer can hold it, e.g. ``-1 -> True``, ``1e30 ->
    True``, ``12 -> False``."""
    return not 0 <= number <= MAX_COUNT


def _bounds_error(value: Any, what: str | None) -> MalformedResponseError:
    if what:
        return MalformedResponseError(f"{what} is {value!r:.40}, not a count between 0 and 10^15")
    return MalformedResponseError(f"expected a count between 0 and 10^15, got {value!r:.40}")


def to_count(value: Any, errors: Errors = "coerce", *, what: str | None = None) -> int:
    """A JSON count into an int, e.g. ``"12" -> 12``, ``None -> 0``, ``12.0 -> 12``.

    A negative count or one above MAX_COUNT (``1e30``) is unreadable too. ``spend.shapes``
    validates every answer's counts with it (``errors="raise"``), so what is stored is what the
    parsers read.

    :param value: int, float, numeric string, or null (0)
    :param errors: ``"coerce"`` turns unreadable values into 0, ``"raise"`` raises
        MalformedResponseError
    :param what: the field, for the message (``"data[3].n_requests on 2024-05-01"``)
    """
    if type(value) is int and 0 <= value <= MAX_COUNT:
        return value
    if value is None:
        return 0
    try:
        if isinstance(value, bool):
            raise TypeError("a boolean is not a count")
        number = float(value) if isinstance(value, str) else value
        if isinstance(number, float):
            if not math.isfinite(number):
                raise ValueError("not finite")
            if out_of_bounds(number):  # before rounding: -0.4 is no count either
                return _bounded(number, value, 0, errors, what)
            number = int(round(number))
        number = int(number)
    except (TypeError, ValueError) as exc:
        return _unreadable(value, "a count", 0, errors, what, exc)
    return _bounded(number, value, 0, errors, what)


def to_quantity(value: Any, errors: Errors = "coerce", *, what: str | None = None) -> float:
    """A JSON quantity into a float, e.g. ``"1.5" -> 1.5``, ``None -> 0.0``, ``3 -> 3.0``.

    A negative quantity or one above MAX_COUNT is unreadable too.

    :param value: number, numeric string, or null (0.0)
    :param errors: ``"coerce"`` turns unreadable values into 0.0, ``"raise"`` raises
        MalformedResponseError
    :param what: the field, for the message
    """
    if value is None:
        return 0.0
    try:
        if isinstance(value, bool):
            raise TypeError("a boolean is not a quantity")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError("not finite")
    except (TypeError, ValueError, OverflowError) as exc:
        return _unreadable(value, "a number", 0.0, errors, what, exc)
    return _bounded(number, value, 0.0, errors, what)


def _unreadable(value: Any, kind: str, zero: Any, errors: Errors, what: str | None, exc) -> Any:
    """An unreadable JSON value into ``zero`` (coerce), or a MalformedResponseError naming the
    field (raise)."""
    if errors == "raise":
        where = f" for {what}" if what else ""
        raise MalformedResponseError(f"expected {kind}{where}, got {value!r:.40}") from exc
    return zero


def _bounded(number: Any, value: Any, zero: Any, errors: Errors, what: str | None) -> Any:
    """A read number into itself when within [0, MAX_COUNT], else ``zero`` (coerce) or the bounds
    error (raise)."""
    if out_of_bounds(number):
        if errors == "raise":
            raise _bounds_error(value, what)
        return zero
    return number


def to_text(value: Any) -> str | None:
    """A JSON identity field into a stripped string or None, e.g. ``" proj_1 " -> "proj_1"``, ``""
    -> None``."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def to_decimal(value: Any, errors: Errors = "coerce") -> Decimal | None:
    """A JSON money amount into a Decimal, e.g. ``"12.50" -> Decimal("12.50")``, ``0.06 ->
    Decimal("0.06")``.

    Floats go through ``str`` so ``0.06`` stays ``0.06``. Null or unreadable -> None (coerce).

    :param value: number or numeric string
    :param errors: ``"raise"`` raises MalformedResponseError on unreadable values
    """
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise TypeError("a boolean is not money")
        amount = Decimal(value.strip() if isinstance(value, str) else str(value))
        if not amount.is_finite():
            raise ValueError("not finite")
        return amount
    except (TypeError, ValueError, InvalidOperation) as exc:
        if errors == "raise":
            raise MalformedResponseError(f"expected an amount, got {value!r:.40}") from exc
        return None


def looks_like_email(text: str | None) -> bool:
    """A string into whether it looks like an email address, e.g. ``"a@b.co" -> True``, ``"user-1"
    -> False``."""
    return bool(text) and _EMAIL.match(text) is not None


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def utc_moment(seconds: Any) -> datetime | None:
    """Unix seconds into an aware UTC datetime, e.g. ``1730419200 -> 2024-11-01 00:00+00:00``;
    None for an unreadable value (a bool, text, out of range)."""
    try:
        if isinstance(seconds, bool):
            return None
        return datetime.fromtimestamp(float(seconds), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def utc_day(seconds: Any) -> pd.Timestamp | None:
    """Unix seconds into the UTC day as a naive Timestamp, e.g. ``1730419200 ->
    Timestamp("2024-11-01")``.

    Unreadable values -> None.
    """
    moment = utc_moment(seconds)
    return None if moment is None else pd.Timestamp(moment.date())


# --------------------------------------------------------------------------------------------
# Model families
# --------------------------------------------------------------------------------------------

# Applied in order to the part after any fine-tune prefix.
_FAMILY_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # gpt-4-1106-preview, gpt-4-0125-preview: the snapshots behind the gpt-4-turbo-preview alias
    (re.compile(r"^gpt-4-\d{4}-preview$"), "gpt-4-turbo-preview"),
    # text-embedding-ada-002-v2: an internal revision tag
    (re.compile(r"-v\d+$"), ""),
    # gpt-4o-2024-08-06, o1-preview-2024-09-12, gpt-4o-audio-preview-2024-12-17
    (re.compile(r"-\d{4}-\d{2}-\d{2}$"), ""),
    # gpt-3.5-turbo-0125, gpt-4-0613, gpt-4-32k-0613, gpt-3.5-turbo-instruct-0914
    (re.compile(r"-\d{4}$"), ""),
)
# ft:gpt-4o-mini-2024-07-18:acme::abc123 (new) and curie:ft-acme-2023-03-01-... (2023)
_FINE_TUNE_NEW = re.compile(r"^ft:(?P<base>[^:]+)")
_FINE_TUNE_OLD = re.compile(r"^(?P<base>[^:]+):ft-")


def _base_family(model: str) -> str:
    for pattern, replacement in _FAMILY_RULES:
        model = pattern.sub(replacement, model)
    return model


def model_family(model: str | None) -> str | None:
    """A model snapshot id into its base model, e.g. ``gpt-4o-2024-08-06 -> gpt-4o``.

    Rules, in order: ``ft:BASE:org::id`` and 2023's ``BASE:ft-org-...`` -> ``ft:`` + family of
    BASE; ``gpt-4-MMDD-preview`` -> ``gpt-4-turbo-preview``; a trailing ``-vN`` revision, then a
    trailing ``-YYYY-MM-DD`` date, then a trailing ``-MMDD`` stamp are dropped. Anything else is
    its own family (``dall-e-3``, ``text-embedding-3-small``); None, NA and blank -> None.

    :param model: snapshot id as reported by the API
    """
    if model is None or (not isinstance(model, str) and pd.isna(model)):
        return None
    text = str(model).strip()
    if not text:
        return None
    for pattern in (_FINE_TUNE_NEW, _FINE_TUNE_OLD):
        match = pattern.match(text)
        if match:
            return "ft:" + _base_family(match["base"])
    return _base_family(text)


def model_families(models: pd.Series) -> pd.Series:
    """A Series of snapshot ids into a string Series of families, e.g. ``[gpt-4o-2024-08-06] ->
    [gpt-4o]``.

    Computes each distinct value once, so it is fast on long frames.

    :param models: snapshot ids (NA allowed)
    """
    mapping = {model: model_family(model) for model in models.dropna().unique()}
    return models.map(mapping).astype("string").rename("model_family")


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


def finish_usage(columns: dict[str, list], n_rows: int) -> pd.DataFrame:
    """Columns of Python values into a conformed usage table with every extra column typed, e.g.
    ``{"date": [...], "model": ["gpt-4o"], ...}`` -> a frame of the schema's columns."""
    frame = pd.DataFrame(columns, index=pd.RangeIndex(n_rows))
    if "model" in frame.columns:
        frame["model"] = frame["model"].astype("string")
        frame["model_family"] = model_families(frame["model"])
        if "operation" in frame.columns:
            # Usage with no model (vector storage, code interpreter, file search) groups by its
            # tool.
            frame["model_family"] = frame["model_family"].fillna(
                frame["operation"].astype("string")
            )
    for name, dtype in USAGE_EXTRAS.items():
        if name not in frame.columns:
            frame[name] = pd.Series(pd.NA, index=frame.index, dtype=dtype)
        else:
            frame[name] = frame[name].astype(dtype)
    out = conform(frame)
    order = [*COLUMNS, *USAGE_EXTRAS]
    return out[order + [name for name in out.columns if name not in order]]


def name_table(rows: list[dict], columns: Iterable[str], dtypes: Mapping[str, str]) -> pd.DataFrame:
    """Row dicts into a frame with exactly these columns (string unless told), e.g. users table."""
    columns = list(columns)
    frame = pd.DataFrame(rows, columns=columns, index=pd.RangeIndex(len(rows)))
    return frame.astype({name: dtypes.get(name, "string") for name in columns})


def dedupe(rows: list[dict], key: str | tuple[str, ...]) -> list[dict]:
    """Row dicts into the first row per key (rows without a key kept), e.g. two user_abc -> one."""
    keys = (key,) if isinstance(key, str) else key
    seen: set[tuple] = set()
    kept = []
    for row in rows:
        ident = tuple(row.get(name) for name in keys)
        if all(part is None for part in ident):
            kept.append(row)
            continue
        if ident in seen:
            continue
        seen.add(ident)
        kept.append(row)
    return kept


METRICS = ("n_requests", "input_tokens", "cached_input_tokens", "output_tokens", "units")


def first_present(row: dict, names: tuple[str, ...]) -> Any:
    """A row and field names into the first non-null value, e.g. ``({"b": 1}, ("a", "b")) -> 1``."""
    for name in names:
        value = row.get(name)
        if value is not None:
            return value
    return None


def add_into(total: list, metrics: list) -> None:
    """Add metrics into total in place (units stay None when neither has any), e.g. [1,..] + [2,..]
    -> [3,..]."""
    total[0] += metrics[0]
    total[1] += metrics[1]
    total[2] += metrics[2]
    total[3] += metrics[3]
    if metrics[4] is not None:
        total[4] = metrics[4] if total[4] is None else total[4] + metrics[4]


def group_columns(groups: dict[tuple, list], key_names: tuple[str, ...]) -> dict[str, list]:
    """Aggregated {key tuple: metrics} into columns, e.g. ``{(d, "gpt-4o"): [1, ...]} -> {"date":
    [d], ...}``."""
    keys = list(groups)
    values = list(groups.values())
    columns: dict[str, list] = {name: [key[i] for key in keys] for i, name in enumerate(key_names)}
    for i, name in enumerate(METRICS):
        columns[name] = [value[i] for value in values]
    return columns


def add_metrics(
    groups: dict[tuple, list], key: tuple, metrics: list, *, peak: bool = False
) -> None:
    """Metrics into ``groups[key]`` in place, e.g. ``[1, ...]`` + ``[2, ...]`` -> ``[3, ...]``
    (units summed, or their peak when ``peak``); mutates only ``groups``."""
    total = groups.get(key)
    if total is None:
        groups[key] = list(metrics)
    elif peak and metrics[4] is not None and total[4] is not None:
        add_into(total, [*metrics[:4], None])
        total[4] = max(total[4], metrics[4])
    else:
        add_into(total, metrics)


# --------------------------------------------------------------------------------------------
# Joins
# --------------------------------------------------------------------------------------------


def _lookup(table: pd.DataFrame | None, key: str, value: str) -> dict:
    """A name table into {key: value} for rows where both are known, first row wins, e.g. {user-1:
    Ann}."""
    if table is None or key not in table.columns or value not in table.columns:
        return {}
    pairs = table[[key, value]].dropna()
    pairs = pairs[~pairs[key].duplicated()]
    return dict(zip(pairs[key], pairs[value], strict=True))


def _fill(
    frame: pd.DataFrame, column: str, by: str, mapping: dict, *, transform=None
) -> pd.DataFrame:
    """Fill a column's NA cells from mapping[frame[by]], e.g. user_name from user_id; returns a new
    frame."""
    if not mapping or column not in frame.columns or by not in frame.columns:
        return frame
    keys = frame[by] if transform is None else frame[by].map(transform, na_action="ignore")
    found = keys.map(mapping, na_action="ignore").astype(frame[column].dtype)
    out = frame.copy()
    out[column] = frame[column].fillna(found)
    return out


def _lower(text: str) -> str:
    return text.lower()


def join_users(frame: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    """A usage table and a users table into the table with names filled, e.g. user-1 -> Ann,
    ann@x.io.

    Fills ``user_id`` where only the email is known (emails match case-insensitively), then
    ``user_name``/``user_email`` by id, then ``user_name`` by email. Never overwrites a value.

    :param frame: usage table
    :param users: columns user_id, user_name, user_email
    """
    if users is None or users.empty:
        return frame.copy()
    by_email = (
        users.assign(_email=users["user_email"].str.lower()) if "user_email" in users else users
    )
    out = _fill(
        frame, "user_id", "user_email", _lookup(by_email, "_email", "user_id"), transform=_lower
    )
    out = _fill(out, "user_name", "user_id", _lookup(users, "user_id", "user_name"))
    out = _fill(out, "user_email", "user_id", _lookup(users, "user_id", "user_email"))
    out = _fill(
        out, "user_name", "user_email", _lookup(by_email, "_email", "user_name"), transform=_lower
    )
    return out if out is not frame else frame.copy()


def join_names(
    frame: pd.DataFrame,
    *,
    users: pd.DataFrame | None = None,
    projects: pd.DataFrame | None = None,
    api_keys: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A usage table into the table with names filled where null, e.g. proj_abc -> "Project
    example".

    :param frame: usage table
    :param users: user_id, user_name, user_email (``join_users`` rules)
    :param projects: project_id, project_name
    :param api_keys: api_key_id, api_key_name
    """
    out = join_users(frame, users) if users is not None else frame.copy()
    out = _fill(out, "project_name", "project_id", _lookup(projects, "project_id", "project_name"))
    out = _fill(out, "api_key_name", "api_key_id", _lookup(api_keys, "api_key_id", "api_key_name"))
    return out


__all__ = [
    "API_KEY_COLUMNS",
    "Errors",
    "MAX_COUNT",
    "METRICS",
    "PROJECT_COLUMNS",
    "USAGE_EXTRAS",
    "USER_COLUMNS",
    "add_into",
    "add_metrics",
    "check_errors",
    "dedupe",
    "finish_usage",
    "first_present",
    "group_columns",
    "join_names",
    "join_users",
    "looks_like_email",
    "model_families",
    "model_family",
    "name_table",
    "out_of_bounds",
    "require_dict",
    "to_count",
    "to_decimal",
    "to_quantity",
    "to_text",
    "utc_day",
]
