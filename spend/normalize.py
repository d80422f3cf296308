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
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
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


def _check_errors(errors: str) -> None:
    if errors not in ("raise", "coerce"):
        raise ValueError(f"errors must be 'raise' or 'coerce', not {errors!r}")


def require_dict(payload: Any, what: str = "response body") -> dict:
    """A decoded body into itself when it is a JSON object, e.g. ``{} -> {}``; else MalformedResponseError.

    :param payload: decoded JSON
    :param what: what the body is, for the message (``"/v1/usage body for 2024-05-01"``)
    """
    if isinstance(payload, dict):
        return payload
    kind = "null" if payload is None else type(payload).__name__
    raise MalformedResponseError(
        f"expected a JSON object as the {what}, got {kind}: {payload!r:.80}"
    )


def to_count(value: Any, errors: Errors = "coerce") -> int:
    """A JSON count into an int, e.g. ``"12" -> 12``, ``None -> 0``, ``12.0 -> 12``.

    :param value: int, float, numeric string, or null (0)
    :param errors: ``"coerce"`` turns unreadable values into 0, ``"raise"`` raises MalformedResponseError
    """
    if type(value) is int:
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
            return int(round(number))
        return int(number)
    except (TypeError, ValueError) as exc:
        if errors == "raise":
            raise MalformedResponseError(f"expected a count, got {value!r:.40}") from exc
        return 0


def to_quantity(value: Any, errors: Errors = "coerce") -> float:
    """A JSON quantity into a float, e.g. ``"1.5" -> 1.5``, ``None -> 0.0``, ``3 -> 3.0``.

    :param value: number, numeric string, or null (0.0)
    :param errors: ``"coerce"`` turns unreadable values into 0.0, ``"raise"`` raises MalformedResponseError
    """
    if value is None:
        return 0.0
    try:
        if isinstance(value, bool):
            raise TypeError("a boolean is not a quantity")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError("not finite")
        return number
    except (TypeError, ValueError) as exc:
        if errors == "raise":
            raise MalformedResponseError(f"expected a number, got {value!r:.40}") from exc
        return 0.0


def to_text(value: Any) -> str | None:
    """A JSON identity field into a stripped string or None, e.g. ``" proj_1 " -> "proj_1"``, ``"" -> None``."""
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
    """A JSON money amount into a Decimal, e.g. ``"12.50" -> Decimal("12.50")``, ``0.06 -> Decimal("0.06")``.

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
    """A string into whether it looks like an email address, e.g. ``"a@b.co" -> True``, ``"user-1" -> False``."""
    return bool(text) and _EMAIL.match(text) is not None


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def utc_day(seconds: Any) -> pd.Timestamp | None:
    """Unix seconds into the UTC day as a naive Timestamp, e.g. ``1730419200 -> Timestamp("2024-11-01")``.

    Unreadable values -> None.
    """
    try:
        if isinstance(seconds, bool):
            return None
        moment = datetime.fromtimestamp(float(seconds), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return pd.Timestamp(moment.date())


def as_day(value: date | datetime | str | pd.Timestamp) -> pd.Timestamp:
    """A requested day into a naive midnight Timestamp, e.g. ``date(2024, 5, 1) -> Timestamp("2024-05-01")``."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.normalize()


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
    """A Series of snapshot ids into a string Series of families, e.g. ``[gpt-4o-2024-08-06] -> [gpt-4o]``.

    Computes each distinct value once, so it is fast on long frames.

    :param models: snapshot ids (NA allowed)
    """
    mapping = {model: model_family(model) for model in models.dropna().unique()}
    return models.map(mapping).astype("string").rename("model_family")


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


def _finish_usage(columns: dict[str, list], n_rows: int) -> pd.DataFrame:
    """Columns of Python values into a conformed usage table with every extra column typed."""
    frame = pd.DataFrame(columns, index=pd.RangeIndex(n_rows))
    if "model" in frame.columns:
        frame["model"] = frame["model"].astype("string")
        frame["model_family"] = model_families(frame["model"])
        if "operation" in frame.columns:
            # Usage with no model (vector storage, code interpreter, file search) groups by its tool.
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


def _name_table(
    rows: list[dict], columns: Iterable[str], dtypes: Mapping[str, str]
) -> pd.DataFrame:
    """Row dicts into a frame with exactly these columns (string unless told), e.g. users table."""
    columns = list(columns)
    frame = pd.DataFrame(rows, columns=columns, index=pd.RangeIndex(len(rows)))
    return frame.astype({name: dtypes.get(name, "string") for name in columns})


def _dedupe(rows: list[dict], key: str | tuple[str, ...]) -> list[dict]:
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


# --------------------------------------------------------------------------------------------
# Legacy: /v1/organizations/{org}/users and /v1/usage
# --------------------------------------------------------------------------------------------


def _legacy_member_row(member: dict) -> dict | None:
    """A member (``{role, user: {...}}``) or flat user dict into a users row, e.g. id/name/email/role."""
    user = member.get("user")
    if not isinstance(user, dict):
        user = member
    row = {
        "user_id": to_text(user.get("id")) or to_text(member.get("user_id")),
        "user_name": to_text(user.get("name")),
        "user_email": to_text(user.get("email")),
        "role": to_text(member.get("role")) or to_text(user.get("role")),
    }
    return row if row["user_id"] or row["user_email"] else None


def legacy_users_to_frame(payload: dict) -> pd.DataFrame:
    """A legacy ``/organizations/{org}/users`` body into a users table, e.g. members -> user_id, user_name, user_email, role.

    Reads ``members.data[].user``; also a top-level ``data`` list (older shape) of members or of
    flat users. Missing name/email stay NA; extra keys are ignored; one row per user id.

    :param payload: decoded JSON body
    """
    body = require_dict(payload, "organization users body")
    members = body.get("members")
    if isinstance(members, dict):
        items = members.get("data")
    elif isinstance(members, list):
        items = members
    else:
        items = body.get("data")
    if not isinstance(items, list):
        items = []
    rows = [
        row for item in items if isinstance(item, dict) for row in [_legacy_member_row(item)] if row
    ]
    return _name_table(_dedupe(rows, "user_id"), USER_COLUMNS, {})


def usage_is_empty(payload: dict) -> bool:
    """A legacy ``/v1/usage`` body into whether it holds no usage, e.g. ``{"data": [], "ft_data": []} -> True``.

    True when every list in the body is empty (a body with no lists at all counts as empty).

    :param payload: decoded JSON body
    """
    body = require_dict(payload, "/v1/usage body")
    return not any(isinstance(value, list) and value for value in body.values())


#: ``data[]`` operation values into the usage table's operation names.
LEGACY_OPERATIONS = {
    "completion": "completion",
    "embeddings": "embeddings",
    "completion-realtime": "realtime",
}

#: Legacy non-token arrays: array name -> (operation, unit, quantity field).
LEGACY_UNIT_ARRAYS: dict[str, tuple[str, str, str]] = {
    "dalle_api_data": ("image", "images", "num_images"),
    "whisper_api_data": ("transcription", "seconds", "num_seconds"),
    "tts_api_data": ("tts", "characters", "num_characters"),
}

_LEGACY_KEY = (
    "date",
    "user_id",
    "user_email",
    "api_key_id",
    "api_key_name",
    "project_id",
    "project_name",
    "operation",
    "model",
    "unit",
    "image_size",
)
_METRICS = ("n_requests", "input_tokens", "cached_input_tokens", "output_tokens", "units")


def _first_present(row: dict, names: tuple[str, ...]) -> Any:
    """A row and field names into the first non-null value, e.g. ``({"b": 1}, ("a", "b")) -> 1``."""
    for name in names:
        value = row.get(name)
        if value is not None:
            return value
    return None


#: Fields of a legacy row that decide its dimensions, in the order ``legacy_dims`` reads them.
LEGACY_DIM_FIELDS = (
    "user_id",
    "email",
    "user_email",
    "api_key_id",
    "api_key_name",
    "api_key_redacted",
    "project_id",
    "project_name",
    "operation",
    "snapshot_id",
    "model_id",
    "model",
    "image_size",
)


def legacy_identity(row: dict, user_public_id: str | None) -> tuple:
    """A legacy usage row into its identity, e.g. ``{"user_id": "a@b.co"}`` asked for user-1 -> ("user-1", "a@b.co", None, ...).

    The tuple is (user_id, user_email, api_key_id, api_key_name, project_id, project_name). A
    ``user_id`` that is an email goes to user_email; no user on the row -> the requested
    ``user_public_id``; no key name -> ``api_key_redacted``; a ``project_id`` that is not
    ``proj_...`` is also the project name.

    :param row: one element of any ``*_data`` array
    :param user_public_id: the ``user_public_id`` the request asked for, or None (org-wide)
    """
    user_id = to_text(row.get("user_id"))
    email = to_text(row.get("email")) or to_text(row.get("user_email"))
    if user_id is not None and looks_like_email(user_id):
        email = email or user_id
        user_id = None
    project_id = to_text(row.get("project_id"))
    project_name = to_text(row.get("project_name"))
    if project_id is not None and project_name is None and not project_id.startswith("proj_"):
        project_name = project_id
    return (
        user_id or to_text(user_public_id),
        email,
        to_text(row.get("api_key_id")),
        to_text(row.get("api_key_name")) or to_text(row.get("api_key_redacted")),
        project_id,
        project_name,
    )


def legacy_dims(row: dict, array: str, user_public_id: str | None) -> tuple:
    """A legacy usage row into its dimensions, e.g. a dall-e row -> (user, email, key, key name, project, project name, "image", "dall-e-3", "images", "1024x1024").

    ``data[]`` operations map through LEGACY_OPERATIONS (none -> ``completion``); the three unit
    arrays map through LEGACY_UNIT_ARRAYS; any other ``X_data`` array gives operation ``X``.
    The model is the first of ``snapshot_id``, ``model_id``, ``model``.

    :param row: one element of ``array``
    :param array: the array's name in the body (``data``, ``dalle_api_data``, ``ft_data``, ...)
    :param user_public_id: the user the request asked for, or None
    """
    image_size = None
    if array == "data":
        raw_operation = to_text(row.get("operation"))
        operation = LEGACY_OPERATIONS.get(raw_operation or "completion", raw_operation)
        unit = None
    elif array in LEGACY_UNIT_ARRAYS:
        operation, unit, _ = LEGACY_UNIT_ARRAYS[array]
        if array == "dalle_api_data":
            image_size = to_text(row.get("image_size"))
    else:
        operation = array[: -len("_data")] if array.endswith("_data") else array
        unit = None
    model = next(
        (text for name in ("snapshot_id", "model_id", "model") if (text := to_text(row.get(name)))),
        None,
    )
    return (*legacy_identity(row, user_public_id), operation, model, unit, image_size)


def legacy_metrics(row: dict, array: str, errors: Errors = "coerce") -> list:
    """A legacy usage row into [n_requests, input, cached input, output tokens, units], e.g. a 2023 row -> [1, 41, 0, 9, None].

    Tokens come from the 2024 ``n_*_tokens_total`` fields, else the 2023 ``n_context`` /
    ``n_generated`` (never both added); requests from ``n_requests``, else ``num_requests``;
    units (unit arrays only, else None) from ``num_images`` / ``num_seconds`` / ``num_characters``.

    :param row: one element of ``array``
    :param array: the array's name in the body
    :param errors: policy for unreadable numbers
    """
    get = row.get
    requests = get("n_requests")
    if requests is None:
        requests = get("num_requests")
    inputs = get("n_context_tokens_total")
    if inputs is None:
        inputs = get("n_context")
    cached = get("n_cached_context_tokens_total")
    outputs = get("n_generated_tokens_total")
    if outputs is None:
        outputs = get("n_generated")
    unit_array = LEGACY_UNIT_ARRAYS.get(array)
    return [
        requests if type(requests) is int else to_count(requests, errors),
        inputs if type(inputs) is int else to_count(inputs, errors),
        cached if type(cached) is int else to_count(cached, errors),
        outputs if type(outputs) is int else to_count(outputs, errors),
        None if unit_array is None else to_quantity(get(unit_array[2]), errors),
    ]


def legacy_row(
    row: dict, array: str, user_public_id: str | None, errors: Errors = "coerce"
) -> tuple[tuple, list]:
    """A legacy usage row into (dimensions, metrics), e.g. a data[] row -> ((..., "completion", "gpt-4o", None, None), [1, 10, 0, 5, None]).

    :param row: one element of ``array``
    :param array: the array's name in the body
    :param user_public_id: the user the request asked for, or None
    :param errors: policy for unreadable numbers
    """
    return legacy_dims(row, array, user_public_id), legacy_metrics(row, array, errors)


def _legacy_arrays(body: dict, errors: Errors) -> Iterable[tuple[str, list]]:
    """A legacy usage body into its (name, rows) usage arrays: ``data`` and every ``*_data`` list."""
    for name, value in body.items():
        if name != "data" and not name.endswith("_data"):
            continue
        if isinstance(value, list):
            yield name, value
        elif value is not None and errors == "raise":
            raise MalformedResponseError(
                f"/v1/usage array {name!r} is {type(value).__name__}, not a list"
            )


def _hashable(values: tuple) -> tuple:
    """Raw JSON field values into a hashable tuple, e.g. a list value -> None (it is no identity)."""
    return tuple(None if isinstance(value, (dict, list)) else value for value in values)


def legacy_usage_to_frame(
    payloads: Iterable[tuple[date, str | None, dict]],
    *,
    source: str = "legacy",
    errors: Errors = "coerce",
) -> pd.DataFrame:
    """Legacy ``/v1/usage`` bodies into the usage table, e.g. one day's 288 windows -> one row per model.

    Aggregates to one row per requested day x identity x operation x model x unit (x image size),
    summing counts over the many ``aggregation_timestamp`` windows. Rows that are not objects are
    skipped and counted in ``attrs["skipped"]`` (or raise, with ``errors="raise"``).

    Fast path: rows are first added up by their raw field values, then each distinct raw key is
    normalized once (``legacy_dims``) and merged: 400k rows take well under 2 s.

    :param payloads: (day requested, ``user_public_id`` requested or None, decoded body) tuples
    :param source: value of the ``source`` column (the demo source passes ``"demo"``)
    :param errors: ``"coerce"`` (skip/zero unreadable parts) or ``"raise"`` (MalformedResponseError)
    """
    _check_errors(errors)
    raw_groups: dict[tuple, list] = {}
    skipped = 0
    days: dict[
        Any, int
    ] = {}  # day as given -> position in stamps (cheap to hash, unlike Timestamp)
    stamps: list[pd.Timestamp] = []
    for day, user_public_id, payload in payloads:
        body = require_dict(payload, f"/v1/usage body for {day}")
        day_index = days.get(day)
        if day_index is None:  # "2024-05-01", date(2024, 5, 1) and a datetime that day are one day
            stamp = as_day(day)
            day_index = days[day] = stamps.index(stamp) if stamp in stamps else len(stamps)
            if day_index == len(stamps):
                stamps.append(stamp)
        for array, rows in _legacy_arrays(body, errors):
            for row in rows:
                if not isinstance(row, dict):
                    if errors == "raise":
                        raise MalformedResponseError(
                            f"/v1/usage {array}[] holds a {type(row).__name__}, not an object"
                        )
                    skipped += 1
                    continue
                get = row.get
                raw = tuple(map(get, LEGACY_DIM_FIELDS))
                key = (day_index, user_public_id, array, raw)
                metrics = legacy_metrics(row, array, errors)
                try:
                    total = raw_groups.get(key)
                except TypeError:  # a dict or list where a name should be
                    key = (day_index, user_public_id, array, _hashable(raw))
                    total = raw_groups.get(key)
                if total is None:
                    raw_groups[key] = metrics
                else:
                    _add_into(total, metrics)
    groups: dict[tuple, list] = {}
    dims_of: dict[tuple, tuple] = {}  # the same raw identity recurs every day: normalize it once
    for (day_index, user_public_id, array, raw), metrics in raw_groups.items():
        dims = dims_of.get((user_public_id, array, raw))
        if dims is None:
            row = dict(zip(LEGACY_DIM_FIELDS, raw, strict=True))
            dims = dims_of[user_public_id, array, raw] = legacy_dims(row, array, user_public_id)
        key = (day_index, *dims)
        total = groups.get(key)
        if total is None:
            groups[key] = metrics
        else:
            _add_into(total, metrics)
    columns = _group_columns(groups, _LEGACY_KEY)
    columns["date"] = [stamps[i] for i in columns["date"]]
    columns["source"] = [source] * len(groups)
    columns["cost_basis"] = ["unpriced"] * len(groups)
    frame = _finish_usage(columns, len(groups))
    frame.attrs["skipped"] = skipped
    return frame


def _add_into(total: list, metrics: list) -> None:
    """Add metrics into total in place (units stay None when neither has any), e.g. [1,..] + [2,..] -> [3,..]."""
    total[0] += metrics[0]
    total[1] += metrics[1]
    total[2] += metrics[2]
    total[3] += metrics[3]
    if metrics[4] is not None:
        total[4] = metrics[4] if total[4] is None else total[4] + metrics[4]


def _group_columns(groups: dict[tuple, list], key_names: tuple[str, ...]) -> dict[str, list]:
    """Aggregated {key tuple: metrics} into columns, e.g. ``{(d, "gpt-4o"): [1, ...]} -> {"date": [d], ...}``."""
    keys = list(groups)
    values = list(groups.values())
    columns: dict[str, list] = {name: [key[i] for key in keys] for i, name in enumerate(key_names)}
    for i, name in enumerate(_METRICS):
        columns[name] = [value[i] for value in values]
    return columns


#: What identifies usage apart from who made it: the keys ``unattributed`` matches on.
_REMAINDER_KEYS = (
    "date",
    "source",
    "project_id",
    "project_name",
    "api_key_id",
    "api_key_name",
    "model",
    "model_family",
    "operation",
    "unit",
    "image_size",
)
_REMAINDER_COUNTS = ("n_requests", "input_tokens", "cached_input_tokens", "output_tokens", "units")


def unattributed(org_wide: pd.DataFrame, per_user: pd.DataFrame) -> pd.DataFrame:
    """Org-wide usage minus what the per-user answers attribute, into rows with no user, e.g.
    100 org requests of gpt-4o on a day - 90 by members -> one row of 10 requests (service accounts,
    removed users).

    Matches on day, project, key, model, kind and unit; a difference below zero (a member's answer
    counted more than the org's) is 0, and rows where nothing is left are dropped.

    :param org_wide: usage table from org-wide answers (no user)
    :param per_user: usage table from per-user answers of the same days
    """
    if org_wide.empty:
        return org_wide.copy()
    keys = [k for k in _REMAINDER_KEYS if k in org_wide.columns]

    def totals(frame: pd.DataFrame) -> pd.DataFrame:
        counts = frame[list(_REMAINDER_COUNTS)].astype("float64").fillna(0.0)
        return (
            pd.concat([frame[keys], counts], axis=1).groupby(keys, dropna=False, sort=False).sum()
        )

    org = totals(org_wide)
    attributed = totals(per_user).reindex(org.index, fill_value=0.0) if len(per_user) else 0.0
    left = (org - attributed).clip(lower=0.0)
    left = left[(left > 0).any(axis=1)].reset_index()
    for name in ("n_requests", "input_tokens", "cached_input_tokens", "output_tokens"):
        left[name] = left[name].round().astype("int64")
    has_unit = left["unit"].notna() if "unit" in left.columns else False
    left["units"] = left["units"].where(has_unit)
    left["cost_basis"] = "unpriced"
    return conform(left)


# --------------------------------------------------------------------------------------------
# Joins
# --------------------------------------------------------------------------------------------


def _lookup(table: pd.DataFrame | None, key: str, value: str) -> dict:
    """A name table into {key: value} for rows where both are known, first row wins, e.g. {user-1: Ann}."""
    if table is None or key not in table.columns or value not in table.columns:
        return {}
    pairs = table[[key, value]].dropna()
    pairs = pairs[~pairs[key].duplicated()]
    return dict(zip(pairs[key], pairs[value], strict=True))


def _fill(
    frame: pd.DataFrame, column: str, by: str, mapping: dict, *, transform=None
) -> pd.DataFrame:
    """Fill a column's NA cells from mapping[frame[by]], e.g. user_name from user_id; returns a new frame."""
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
    """A usage table and a users table into the table with names filled, e.g. user-1 -> Ann, ann@x.io.

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
    """A usage table into the table with names filled where null, e.g. proj_abc -> "Project example".

    :param frame: usage table
    :param users: user_id, user_name, user_email (``join_users`` rules)
    :param projects: project_id, project_name
    :param api_keys: api_key_id, api_key_name
    """
    out = join_users(frame, users) if users is not None else frame.copy()
    out = _fill(out, "project_name", "project_id", _lookup(projects, "project_id", "project_name"))
    out = _fill(out, "api_key_name", "api_key_id", _lookup(api_keys, "api_key_id", "api_key_name"))
    return out


# --------------------------------------------------------------------------------------------
# Admin API: /v1/organization/usage/*, /costs, and the list endpoints
# --------------------------------------------------------------------------------------------

#: Admin usage endpoint -> how its results read: ``operation`` and ``object`` (the result type it
#: returns), ``tokens`` (reads input/cached/output tokens), ``unit`` + ``quantity`` (field into
#: ``units``), ``requests`` (fields for n_requests, first present wins), ``extras`` (usage column
#: -> result field), ``level`` (a level such as storage: keep the day's peak across buckets).
ADMIN_KINDS: dict[str, dict[str, Any]] = {
    "completions": {
        "operation": "completion",
        "object": "organization.usage.completions.result",
        "tokens": True,
        "requests": ("num_model_requests",),
        "extras": {"batch": "batch", "service_tier": "service_tier"},
    },
    "embeddings": {
        "operation": "embeddings",
        "object": "organization.usage.embeddings.result",
        "tokens": True,
        "requests": ("num_model_requests",),
    },
    "moderations": {
        "operation": "moderation",
        "object": "organization.usage.moderations.result",
        "tokens": True,
        "requests": ("num_model_requests",),
    },
    "images": {
        "operation": "image",
        "object": "organization.usage.images.result",
        "unit": "images",
        "quantity": "images",
        "requests": ("num_model_requests",),
        "extras": {"image_size": "size", "image_source": "source"},
    },
    "audio_speeches": {
        "operation": "tts",
        "object": "organization.usage.audio_speeches.result",
        "unit": "characters",
        "quantity": "characters",
        "requests": ("num_model_requests",),
    },
    "audio_transcriptions": {
        "operation": "transcription",
        "object": "organization.usage.audio_transcriptions.result",
        "unit": "seconds",
        "quantity": "seconds",
        "requests": ("num_model_requests",),
    },
    "vector_stores": {
        "operation": "vector_storage",
        "object": "organization.usage.vector_stores.result",
        "unit": "bytes",
        "quantity": "usage_bytes",
        "requests": (),
        # storage is a level, not a flow: hourly buckets of one day keep the peak, not the sum
        "level": True,
    },
    "code_interpreter_sessions": {
        "operation": "code_interpreter",
        "object": "organization.usage.code_interpreter_sessions.result",
        "unit": "sessions",
        "quantity": "num_sessions",
        "requests": (),
    },
    "file_search_calls": {
        "operation": "file_search",
        "object": "organization.usage.file_searches.result",
        "unit": "calls",
        "quantity": "num_requests",
        "requests": ("num_requests",),
    },
    "web_search_calls": {
        "operation": "web_search",
        "object": "organization.usage.web_searches.result",
        "unit": "calls",
        "quantity": "num_requests",
        # n_requests counts calls, like file search: the model requests are already in completions
        "requests": ("num_requests",),
    },
}

_ADMIN_DIMS = ("project_id", "user_id", "api_key_id", "model")
_ADMIN_EXTRA_DIMS = ("batch", "service_tier", "image_size", "image_source")
_ADMIN_KEY = ("date", *_ADMIN_DIMS, *_ADMIN_EXTRA_DIMS)


def _to_flag(value: Any) -> bool | None:
    """A JSON ``batch`` value into a bool or None, e.g. ``True -> True``, ``"false" -> False``, ``None -> None``."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return {"true": True, "1": True, "false": False, "0": False}.get(text)


def iter_buckets(
    pages: Iterable[dict], what: str, errors: Errors = "coerce"
) -> Iterable[tuple[pd.Timestamp, list]]:
    """Admin ``page`` bodies into (UTC day, results) per bucket, e.g. one page of 2 buckets -> 2 pairs.

    Buckets that are not objects, or whose ``start_time`` cannot be read, are skipped (coerce) or
    raise; a bucket whose ``results`` is not a list yields no results.

    :param pages: decoded page bodies (``{"object": "page", "data": [bucket, ...], ...}``)
    :param what: endpoint, for messages
    :param errors: policy for unreadable buckets
    """
    for page in pages:
        body = require_dict(page, f"{what} page")
        buckets = body.get("data")
        if buckets is None:
            continue
        if not isinstance(buckets, list):
            if errors == "raise":
                raise MalformedResponseError(
                    f"{what} page 'data' is {type(buckets).__name__}, not a list"
                )
            continue
        for bucket in buckets:
            day = utc_day(bucket.get("start_time")) if isinstance(bucket, dict) else None
            if day is None:
                if errors == "raise":
                    raise MalformedResponseError(
                        f"{what} page holds a bucket without a readable start_time: {bucket!r:.80}"
                    )
                continue
            results = bucket.get("results")
            yield day, results if isinstance(results, list) else []


def admin_result_row(kind: str, result: dict, errors: Errors = "coerce") -> tuple[tuple, list]:
    """An admin usage result into (dimensions, metrics), e.g. a completions result -> ((proj, user, key, model, ...), [5, 1000, 400, 500, None]).

    :param kind: one of ADMIN_KINDS
    :param result: one element of a bucket's ``results``
    :param errors: policy for unreadable numbers
    """
    spec = ADMIN_KINDS[kind]
    extras = spec.get("extras", {})
    extra_values = []
    for name in _ADMIN_EXTRA_DIMS:
        field = extras.get(name)
        raw = result.get(field) if field else None
        extra_values.append(_to_flag(raw) if name == "batch" else to_text(raw))
    dims = (*(to_text(result.get(name)) for name in _ADMIN_DIMS), *extra_values)
    if spec.get("tokens"):
        tokens = [
            to_count(result.get("input_tokens"), errors),
            to_count(result.get("input_cached_tokens"), errors),
            to_count(result.get("output_tokens"), errors),
        ]
    else:
        tokens = [0, 0, 0]
    quantity = spec.get("quantity")
    units = to_quantity(result.get(quantity), errors) if quantity else None
    requests = to_count(_first_present(result, spec["requests"]), errors) if spec["requests"] else 0
    return dims, [requests, *tokens, units]


def admin_usage_to_frame(
    kind: str, pages: Iterable[dict], *, errors: Errors = "coerce"
) -> pd.DataFrame:
    """Admin ``/organization/usage/{kind}`` pages into the usage table, e.g. completions buckets -> one row per day x group.

    ``date`` is the bucket's UTC day; hourly/minute buckets of one day are added up (storage,
    a level, keeps the day's peak). Empty buckets give no rows. Results whose ``object`` names
    another type are skipped and counted: ``attrs["skipped"]`` (total) and
    ``attrs["skipped_objects"]`` ({object: count}); a result without ``object`` is read.

    :param kind: completions, embeddings, moderations, images, audio_speeches,
        audio_transcriptions, vector_stores, code_interpreter_sessions, file_search_calls, web_search_calls
    :param pages: decoded page bodies
    :param errors: ``"coerce"`` or ``"raise"`` (unreadable numbers/buckets, unknown result objects)
    """
    _check_errors(errors)
    if kind not in ADMIN_KINDS:
        raise ValueError(
            f"unknown admin usage kind {kind!r}; expected one of {sorted(ADMIN_KINDS)}"
        )
    spec = ADMIN_KINDS[kind]
    expected = spec["object"]
    level = spec.get("level", False)
    # first per (bucket day, bucket, dims) so a level is never summed across hours
    per_bucket: dict[tuple, list] = {}
    skipped: Counter[str] = Counter()
    for bucket_index, (day, results) in enumerate(iter_buckets(pages, f"usage/{kind}", errors)):
        for result in results:
            if not isinstance(result, dict):
                if errors == "raise":
                    raise MalformedResponseError(
                        f"usage/{kind} bucket holds a {type(result).__name__}, not an object"
                    )
                skipped[type(result).__name__] += 1
                continue
            obj = result.get("object")
            if obj is not None and obj != expected:
                if errors == "raise":
                    raise MalformedResponseError(
                        f"usage/{kind} returned a {obj!r} result; expected {expected!r}"
                    )
                skipped[str(obj)] += 1
                continue
            dims, metrics = admin_result_row(kind, result, errors)
            key = (bucket_index if level else None, day, *dims)
            _add_metrics(per_bucket, key, metrics)
    groups: dict[tuple, list] = {}
    for (_, *key), metrics in per_bucket.items():
        _add_metrics(groups, tuple(key), metrics, peak=level)
    columns = _group_columns(groups, _ADMIN_KEY)
    n_rows = len(groups)
    columns.update(
        source=["admin"] * n_rows,
        operation=[spec["operation"]] * n_rows,
        unit=[spec.get("unit")] * n_rows,
        cost_basis=["unpriced"] * n_rows,
    )
    frame = _finish_usage(columns, n_rows)
    frame.attrs["skipped"] = sum(skipped.values())
    frame.attrs["skipped_objects"] = dict(skipped)
    return frame


def _add_metrics(
    groups: dict[tuple, list], key: tuple, metrics: list, *, peak: bool = False
) -> None:
    """Accumulate metrics into groups[key] (sum, or max of units when ``peak``); mutates only ``groups``."""
    total = groups.get(key)
    if total is None:
        groups[key] = list(metrics)
    elif peak and metrics[4] is not None and total[4] is not None:
        _add_into(total, [*metrics[:4], None])
        total[4] = max(total[4], metrics[4])
    else:
        _add_into(total, metrics)


_COST_KEY = ("date", "project_id", "api_key_id", "line_item", "currency")


def admin_costs_to_frame(pages: Iterable[dict], *, errors: Errors = "coerce") -> pd.DataFrame:
    """Admin ``/organization/costs`` pages into billed usage rows, e.g. ``{"amount": {"value": "12.50"}} -> cost_usd 12.5``.

    One row per day x project x key x line item: ``operation="cost"``, ``cost_basis="billed"``,
    ``cost_usd`` summed in Decimal (``amount.value`` may be a number or a string) and converted to
    float at the end. Amounts in another currency keep their rows (``currency`` column) but no
    ``cost_usd`` (NA: never added to dollars), counted in ``attrs["non_usd_currencies"]``
    ({currency: rows}); unreadable amounts make their row's ``cost_usd`` NA (never a silent 0) and
    count in ``attrs["unreadable_amounts"]`` (or raise); foreign result objects in ``attrs["skipped"]``.

    :param pages: decoded page bodies
    :param errors: ``"coerce"`` or ``"raise"``
    """
    _check_errors(errors)
    groups: dict[tuple, Decimal | None] = {}
    skipped = 0
    unreadable = 0
    foreign: Counter[str] = Counter()
    for day, results in iter_buckets(pages, "costs", errors):
        for result in results:
            obj = result.get("object") if isinstance(result, dict) else type(result).__name__
            if not isinstance(result, dict) or (
                obj is not None and obj != "organization.costs.result"
            ):
                if errors == "raise":
                    raise MalformedResponseError(
                        f"costs returned a {obj!r} result; expected 'organization.costs.result'"
                    )
                skipped += 1
                continue
            amount = result.get("amount")
            amount = amount if isinstance(amount, dict) else {}
            value = to_decimal(amount.get("value"), errors)
            if value is None:
                unreadable += 1
            currency = (to_text(amount.get("currency")) or "usd").lower()
            if currency != "usd":
                foreign[currency] += 1
            key = (
                day,
                to_text(result.get("project_id")),
                to_text(result.get("api_key_id")),
                to_text(result.get("line_item")),
                currency,
            )
            previous = groups.get(key, Decimal(0))
            groups[key] = None if previous is None or value is None else previous + value
    keys = list(groups)
    columns: dict[str, list] = {name: [key[i] for key in keys] for i, name in enumerate(_COST_KEY)}
    n_rows = len(keys)
    columns.update(
        source=["admin"] * n_rows,
        operation=["cost"] * n_rows,
        model=[None] * n_rows,
        cost_usd=[
            float(total) if total is not None and key[4] == "usd" else None
            for key, total in groups.items()
        ],
        cost_basis=["billed"] * n_rows,
    )
    frame = _finish_usage(columns, n_rows)
    frame.attrs["skipped"] = skipped
    frame.attrs["unreadable_amounts"] = unreadable
    frame.attrs["non_usd_currencies"] = dict(foreign)
    return frame


def iter_list_items(pages: Iterable[dict], what: str) -> Iterable[dict]:
    """List-endpoint bodies (``{"object": "list", "data": [...]}``) into their object items, e.g. 2 pages -> users."""
    for page in pages:
        body = require_dict(page, f"{what} list body")
        items = body.get("data")
        if isinstance(items, list):
            yield from (item for item in items if isinstance(item, dict))


def admin_users_to_frame(pages: Iterable[dict]) -> pd.DataFrame:
    """``/organization/users`` pages into a users table, e.g. user_abc -> user_id, user_name, user_email, role.

    :param pages: decoded list bodies
    """
    rows = [
        {
            "user_id": to_text(item.get("id")),
            "user_name": to_text(item.get("name")),
            "user_email": to_text(item.get("email")),
            "role": to_text(item.get("role")),
        }
        for item in iter_list_items(pages, "organization users")
    ]
    rows = [row for row in rows if row["user_id"] or row["user_email"]]
    return _name_table(_dedupe(rows, "user_id"), USER_COLUMNS, {})


def admin_projects_to_frame(pages: Iterable[dict]) -> pd.DataFrame:
    """``/organization/projects`` pages into a projects table, e.g. proj_abc -> project_name, status, archived.

    ``archived`` is True when ``archived_at`` is set or ``status`` is ``archived``; NA when neither is known.

    :param pages: decoded list bodies
    """
    rows = []
    for item in iter_list_items(pages, "organization projects"):
        status = to_text(item.get("status"))
        if item.get("archived_at") is not None or status == "archived":
            archived: bool | None = True
        elif status is not None or "archived_at" in item:
            archived = False
        else:
            archived = None
        rows.append(
            {
                "project_id": to_text(item.get("id")),
                "project_name": to_text(item.get("name")),
                "status": status,
                "archived": archived,
            }
        )
    rows = [row for row in rows if row["project_id"]]
    return _name_table(_dedupe(rows, "project_id"), PROJECT_COLUMNS, {"archived": "boolean"})


def _api_key_row(item: dict, project_id: str | None) -> dict:
    """A project API key object into a keys row, e.g. key_abc -> name, owner user, redacted value."""
    owner = item.get("owner")
    owner = owner if isinstance(owner, dict) else {}
    owner_type = to_text(owner.get("type"))
    user = owner.get("user")
    user = user if isinstance(user, dict) else {}
    return {
        "api_key_id": to_text(item.get("id")),
        "api_key_name": to_text(item.get("name")),
        "project_id": project_id,
        "owner_type": owner_type,
        "owner_user_id": to_text(user.get("id")),
        "owner_user_name": to_text(user.get("name")),
        "owner_user_email": to_text(user.get("email")),
        "redacted_value": to_text(item.get("redacted_value")),
    }


def admin_api_keys_to_frame(pages_by_project: Mapping[str, Iterable[dict]]) -> pd.DataFrame:
    """``/organization/projects/{id}/api_keys`` pages per project into a keys table, e.g. key_abc -> "My API Key".

    Columns: api_key_id, api_key_name, project_id, owner_type (``user``/``service_account``),
    owner_user_id/name/email (user owners only), redacted_value.

    :param pages_by_project: project id -> its decoded list bodies
    """
    rows = [
        _api_key_row(item, to_text(project_id))
        for project_id, pages in pages_by_project.items()
        for item in iter_list_items(pages, f"project {project_id} api keys")
    ]
    rows = [row for row in rows if row["api_key_id"]]
    return _name_table(_dedupe(rows, ("project_id", "api_key_id")), API_KEY_COLUMNS, {})


__all__ = [
    "ADMIN_KINDS",
    "API_KEY_COLUMNS",
    "LEGACY_OPERATIONS",
    "LEGACY_UNIT_ARRAYS",
    "PROJECT_COLUMNS",
    "USAGE_EXTRAS",
    "USER_COLUMNS",
    "admin_api_keys_to_frame",
    "admin_costs_to_frame",
    "admin_projects_to_frame",
    "admin_result_row",
    "admin_usage_to_frame",
    "admin_users_to_frame",
    "as_day",
    "iter_buckets",
    "iter_list_items",
    "join_names",
    "join_users",
    "legacy_identity",
    "legacy_row",
    "legacy_usage_to_frame",
    "legacy_users_to_frame",
    "looks_like_email",
    "model_families",
    "model_family",
    "require_dict",
    "to_count",
    "to_decimal",
    "to_quantity",
    "to_text",
    "unattributed",
    "usage_is_empty",
    "utc_day",
]
