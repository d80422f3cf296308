"""The legacy source: an API key and org id, and the undocumented endpoints the idea started from.

``/v1/organizations/{org}/users`` names the members; ``/v1/usage?date=`` answers one UTC day,
org-wide or for one member (``user_public_id``). One request per day (or per member and day) at
about 5 a minute. The endpoint is undocumented and may answer with empty lists (API-NOTES §5).

    legacy_usage_to_frame(payloads).pipe(join_users, users)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import pandas as pd

from spend import errors, shapes
from spend.config import LEGACY_RATE_LIMIT_PER_MIN, Settings, key_kind
from spend.dates import as_day
from spend.errors import MalformedResponseError
from spend.localdays import is_utc
from spend.normalize import (
    MAX_COUNT,
    USER_COLUMNS,
    Errors,
    add_into,
    check_errors,
    dedupe,
    finish_usage,
    group_columns,
    join_users,
    looks_like_email,
    name_table,
    require_dict,
    to_count,
    to_quantity,
    to_text,
)
from spend.schema import conform
from spend.sources.base import PlannedRequest, Scale, Source, day_range
from spend.sources.openai_api import OpenAICredential

# --------------------------------------------------------------------------------------------
# Payloads into frames
# --------------------------------------------------------------------------------------------


def _legacy_member_row(member: dict) -> dict | None:
    """A member (``{role, user: {...}}``) or flat user dict into a users row, e.g.
    id/name/email/role."""
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
    """A legacy ``/organizations/{org}/users`` body into a users table, e.g. members -> user_id,
    user_name, user_email, role.

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
    return name_table(dedupe(rows, "user_id"), USER_COLUMNS, {})


def usage_is_empty(payload: dict) -> bool:
    """A legacy ``/v1/usage`` body into whether it holds no usage, e.g. ``{"data": [], "ft_data":
    []} -> True``.

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
    # fine-tuning jobs: tokens trained on, billed per base model (spend/prices.toml)
    "ft_data": ("fine-tuning", "training_tokens", "n_trained_tokens"),
}
#: A quantity field -> the name it may have instead (``trained_tokens``: the fine-tuning job's).
LEGACY_QUANTITY_ALIASES = {"n_trained_tokens": "trained_tokens"}

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
    """A legacy usage row into its identity, e.g. ``{"user_id": "a@b.co"}`` asked for user-1 ->
    ("user-1", "a@b.co", None, ...).

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
    """A legacy usage row into its dimensions, e.g. a dall-e row -> (user, email, key, key name,
    project, project name, "image", "dall-e-3", "images", "1024x1024").

    ``data[]`` operations map through LEGACY_OPERATIONS (none -> ``completion``); the unit arrays
    (dall-e, whisper, tts, ft) map through LEGACY_UNIT_ARRAYS; any other ``X_data`` array gives
    operation ``X``.
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
    """A legacy usage row into [n_requests, input, cached input, output tokens, units], e.g. a 2023
    row -> [1, 41, 0, 9, None].

    Tokens come from the 2024 ``n_*_tokens_total`` fields, else the 2023 ``n_context`` /
    ``n_generated`` (never both added); requests from ``n_requests``, else ``num_requests``;
    units (unit arrays only, else None) from ``num_images`` / ``num_seconds`` / ``num_characters``
    / ``n_trained_tokens`` (or ``trained_tokens``: ``ft_data``).

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

    def count(value: Any, field: str) -> int:
        # ints within bounds skip the call (the fast path); anything else is checked by to_count
        ok = type(value) is int and 0 <= value <= MAX_COUNT
        return value if ok else to_count(value, errors, what=field)

    return [
        count(requests, "n_requests"),
        count(inputs, "n_context_tokens_total"),
        count(cached, "n_cached_context_tokens_total"),
        count(outputs, "n_generated_tokens_total"),
        None
        if unit_array is None
        else to_quantity(_quantity(row, unit_array[2]), errors, what=unit_array[2]),
    ]


def _quantity(row: dict, field: str) -> Any:
    """A unit array row's quantity, under its name or its alias, e.g. ``trained_tokens``."""
    value = row.get(field)
    return row.get(LEGACY_QUANTITY_ALIASES.get(field, "")) if value is None else value


def legacy_row(
    row: dict, array: str, user_public_id: str | None, errors: Errors = "coerce"
) -> tuple[tuple, list]:
    """A legacy usage row into (dimensions, metrics), e.g. a data[] row -> ((..., "completion",
    "gpt-4o", None, None), [1, 10, 0, 5, None]).

    :param row: one element of ``array``
    :param array: the array's name in the body
    :param user_public_id: the user the request asked for, or None
    :param errors: policy for unreadable numbers
    """
    return legacy_dims(row, array, user_public_id), legacy_metrics(row, array, errors)


def _legacy_arrays(body: dict, errors: Errors) -> Iterable[tuple[str, list]]:
    """A legacy usage body into its (name, rows) usage arrays: ``data`` and every ``*_data``
    list."""
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
    """Raw JSON field values into a hashable tuple, e.g. a list value -> None (it is no
    identity)."""
    return tuple(None if isinstance(value, (dict, list)) else value for value in values)


def legacy_usage_to_frame(
    payloads: Iterable[tuple[date, str | None, dict]],
    *,
    source: str = "legacy",
    errors: Errors = "coerce",
) -> pd.DataFrame:
    """Legacy ``/v1/usage`` bodies into the usage table, e.g. one day's 288 windows -> one row per
    model.

    Aggregates to one row per requested day x identity x operation x model x unit (x image size),
    summing counts over the many ``aggregation_timestamp`` windows. Rows that are not objects are
    skipped and counted in ``attrs["skipped"]`` (or raise, with ``errors="raise"``).

    Fast path: rows are first added up by their raw field values, then each distinct raw key is
    normalized once (``legacy_dims``) and merged: 400k rows take well under 2 s.

    :param payloads: (day requested, ``user_public_id`` requested or None, decoded body) tuples
    :param source: value of the ``source`` column (the demo source passes ``"demo"``)
    :param errors: ``"coerce"`` (skip/zero unreadable parts) or ``"raise"`` (MalformedResponseError)
    """
    check_errors(errors)
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
                try:
                    metrics = legacy_metrics(row, array, errors)
                except MalformedResponseError as exc:  # raised only with errors="raise"
                    raise MalformedResponseError(f"/v1/usage for {day}, {array}[]: {exc}") from exc
                try:
                    total = raw_groups.get(key)
                except TypeError:  # a dict or list where a name should be
                    key = (day_index, user_public_id, array, _hashable(raw))
                    total = raw_groups.get(key)
                if total is None:
                    raw_groups[key] = metrics
                else:
                    add_into(total, metrics)
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
            add_into(total, metrics)
    columns = group_columns(groups, _LEGACY_KEY)
    columns["date"] = [stamps[i] for i in columns["date"]]
    columns["source"] = [source] * len(groups)
    columns["cost_basis"] = ["unpriced"] * len(groups)
    frame = finish_usage(columns, len(groups))
    frame.attrs["skipped"] = skipped
    return frame


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


def utc_days_notice(zone: str) -> str:
    """What the legacy source says outside UTC, e.g. for ``"Europe/Berlin"``."""
    return (
        f"The legacy usage endpoint answers per UTC day only: its dates are UTC days, not "
        f"{zone} days (an admin key counts your own days)."
    )


class LegacySource(OpenAICredential, Source):
    """``/v1/organizations/{org}/users`` and ``/v1/usage?date=`` (one request per day, or per user
    and day)."""

    name = "legacy"
    title = "OpenAI legacy usage endpoint (API key + org id)"
    label = "Legacy usage API"
    per_user_option = True
    default_rate_limit = LEGACY_RATE_LIMIT_PER_MIN

    @classmethod
    def claims(cls, settings: Settings) -> bool:
        return bool(settings.api_key) and key_kind(settings.api_key) != "admin"

    @classmethod
    def day_zone(cls, settings: Settings) -> str:
        """Always "UTC": ``/v1/usage?date=`` answers per UTC day and has no hours, so in another
        ``SPEND_TIMEZONE`` its dates stay UTC days (the sidebar says so; never a silent mix)."""
        return "UTC"

    @classmethod
    def count_cold(cls, start: date, end: date, scale: Scale) -> int:
        """A range into the requests a cold fetch needs, e.g. 30 days -> ``31`` (users list + 30
        days); per user, each day also asks org-wide (for the usage no current member made)."""
        days = (end - start).days + 1
        return 1 + days * (scale.users + 1 if scale.per_user else 1)

    def __init__(self, settings: Settings, **kw: Any) -> None:
        super().__init__(settings, **kw)
        if key_kind(settings.api_key) == "admin":
            raise errors.ConfigError(
                "An admin key (sk-admin-…) cannot read the legacy usage endpoint: set Source to "
                "Automatic or Admin API, or use a normal API key with an org id."
            )
        if not settings.org_id:
            raise errors.ConfigError(
                "The legacy source needs an organization id (org-...): set OPENAI_ORG_ID or type "
                "it in the sidebar. "
                "Find it at https://platform.openai.com/settings/organization/general"
            )

    def users_request(self) -> PlannedRequest:
        return PlannedRequest(
            f"/organizations/{self.settings.org_id}/users",
            (),
            final=False,
            kind="users",
            label="users",
            validate=shapes.legacy_users,
        )

    def stored_users(self) -> pd.DataFrame | None:
        """The users list as stored (even if stale), or None before it was ever fetched; no
        network."""
        pages = self.stored(self.users_request())
        return None if pages is None else legacy_users_to_frame(pages[0])

    def _usage_requests(
        self, start: date, end: date, user_ids: list[str | None]
    ) -> list[PlannedRequest]:
        now = self.now()
        requests = []
        for day in reversed(
            day_range(start, min(end, now.date()))
        ):  # newest first: useful data sooner
            final = self.is_final(day)
            for user_id in user_ids:
                params: tuple[tuple[str, Any], ...] = (("date", day.isoformat()),)
                if user_id:
                    params += (("user_public_id", user_id),)
                requests.append(
                    PlannedRequest(
                        "/usage",
                        params,
                        final=final,
                        kind="usage",
                        label=f"{day} {user_id or 'org'}",
                        validate=shapes.legacy_usage,
                    )
                )
        return requests

    def dependent_requests(self, start: date, end: date) -> list[PlannedRequest]:
        """Per-user mode: per day the org-wide answer and one per stored user (none until the users
        list is in).

        The org-wide answer is what makes the total right: usage no current member made (service
        accounts, removed users) is the org's total minus the members', shown as "(no user)".
        """
        if not self.per_user:
            return []
        users = self.stored_users()
        return (
            []
            if users is None
            else self._usage_requests(start, end, [None, *users["user_id"].dropna()])
        )

    def undecided(self, start: date, end: date) -> str | None:
        """Per user, before the users list is stored: how the list decides the request count."""
        if not self.per_user or self.stored_users() is not None:
            return None
        days = len(day_range(start, min(end, self.today())))
        return (
            f"the users list decides the rest: {days} day{'s' if days != 1 else ''} x "
            "(1 org-wide + 1 per member) requests, counted once the list is in"
        )

    def plan_requests(self, start: date, end: date) -> list[PlannedRequest]:
        """The users list, then org-wide days (or, per user, the days of every stored user); newest
        first."""
        if self.per_user:
            return [self.users_request(), *self.dependent_requests(start, end)]
        return [self.users_request(), *self._usage_requests(start, end, [None])]

    def build(self, start: date, end: date, bodies: dict) -> tuple[pd.DataFrame, list[str]]:
        users = None
        payloads = []
        for request, pages in bodies.items():
            if request.kind == "users":
                users = legacy_users_to_frame(pages[0])
            else:
                p = request.params_dict
                payloads.append((date.fromisoformat(p["date"]), p.get("user_public_id"), pages[0]))
        if self.per_user:
            by_user = legacy_usage_to_frame([p for p in payloads if p[1]], source=self.name)
            org_days = {p[0] for p in payloads if not p[1]}
            org_wide = legacy_usage_to_frame([p for p in payloads if not p[1]], source=self.name)
            same_days = by_user[by_user["date"].dt.date.isin(org_days)] if len(by_user) else by_user
            rest = unattributed(org_wide, same_days)
            frame = (
                conform(pd.concat([f for f in (by_user, rest) if len(f)], ignore_index=True))
                if len(by_user) or len(rest)
                else by_user
            )
        else:
            frame = legacy_usage_to_frame(payloads, source=self.name)
        if users is not None and len(frame):
            frame = join_users(frame, users)
        notices = []
        usage_bodies = [body for _, _, body in payloads]
        if usage_bodies and all(usage_is_empty(b) for b in usage_bodies):
            notices.append(
                f"OpenAI returned no usage for {start} to {end}. The legacy usage endpoint has "
                "been answering "
                "with empty lists for many organizations since early 2026: if you expected some, "
                "use an admin "
                "key (sk-admin-...) from "
                "https://platform.openai.com/settings/organization/admin-keys."
            )
        if not is_utc(self.settings.zone):
            notices.append(utc_days_notice(self.settings.zone.key))
        return frame, notices


__all__ = [
    "LEGACY_DIM_FIELDS",
    "LEGACY_OPERATIONS",
    "LEGACY_UNIT_ARRAYS",
    "LegacySource",
    "legacy_dims",
    "legacy_identity",
    "legacy_metrics",
    "legacy_row",
    "legacy_usage_to_frame",
    "legacy_users_to_frame",
    "unattributed",
    "usage_is_empty",
]
