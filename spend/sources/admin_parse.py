"""OpenAI's admin answers into usage rows: the ten usage endpoints, the costs, and the lists that
name ids (users, projects, each project's keys). Costs ``amount.value`` is read as a string into
``Decimal``; amounts in other currencies stay out of dollar sums (API-NOTES §2).

    admin_usage_to_frame("completions", pages).pipe(join_names, users=u, projects=p, api_keys=k)
    admin_costs_to_frame(pages)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from spend.errors import MalformedResponseError
from spend.normalize import (
    API_KEY_COLUMNS,
    PROJECT_COLUMNS,
    USER_COLUMNS,
    Errors,
    add_metrics,
    check_errors,
    dedupe,
    finish_usage,
    first_present,
    group_columns,
    name_table,
    require_dict,
    to_count,
    to_decimal,
    to_quantity,
    to_text,
    utc_day,
    utc_moment,
)

#: Admin usage endpoint -> how its results read: ``operation`` and ``object`` (the result type it
#: returns), ``tokens`` (reads input/cached/output tokens), ``unit`` + ``quantity`` (field into
#: ``units``), ``requests`` (fields for n_requests, first present wins), ``extras`` (usage column
#: -> result field), ``level`` (a level such as storage: keep the day's peak across buckets).
ADMIN_KINDS: dict[str, dict[str, Any]] = {
    "completions": {
        "operation": "completion",
        "object": "organization.usage.completions.result",
        "tokens": True,
        # the per-modality split (spec 2026-07) into spend.schema.SPLIT_COLUMNS, when present
        "split": True,
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
    # Tool use is not requests: num_requests counts tool calls made inside model requests that
    # completions already counts (API-NOTES §5). The calls go to units; n_requests stays 0.
    "file_search_calls": {
        "operation": "file_search",
        "object": "organization.usage.file_searches.result",
        "unit": "calls",
        "quantity": "num_requests",
        "requests": (),
    },
    "web_search_calls": {
        "operation": "web_search",
        "object": "organization.usage.web_searches.result",
        "unit": "calls",
        "quantity": "num_requests",
        "requests": (),
        "extras": {"context_level": "context_level"},
    },
}

#: Completions result field -> usage table column of the per-modality split (spec 2026-07;
#: spend.schema.SPLIT_COLUMNS). The API's ``input_uncached_tokens`` is not kept: it is
#: ``input_tokens - input_cached_tokens - input_cache_write_tokens``.
ADMIN_SPLIT_FIELDS = {
    "input_text_tokens": "input_text_tokens",
    "input_cached_text_tokens": "cached_text_tokens",
    "input_audio_tokens": "input_audio_tokens",
    "input_cached_audio_tokens": "cached_audio_tokens",
    "input_image_tokens": "input_image_tokens",
    "input_cached_image_tokens": "cached_image_tokens",
    "input_cache_write_tokens": "cache_write_tokens",
    "output_text_tokens": "output_text_tokens",
    "output_audio_tokens": "output_audio_tokens",
    "output_image_tokens": "output_image_tokens",
}

_ADMIN_DIMS = ("project_id", "user_id", "api_key_id", "model")
_ADMIN_EXTRA_DIMS = ("batch", "service_tier", "image_size", "image_source", "context_level")
_ADMIN_KEY = ("date", *_ADMIN_DIMS, *_ADMIN_EXTRA_DIMS)


def _to_flag(value: Any) -> bool | None:
    """A JSON ``batch`` value into a bool or None, e.g. ``True -> True``, ``"false" -> False``,
    ``None -> None``."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return {"true": True, "1": True, "false": False, "0": False}.get(text)


def bucket_key(
    seconds: Any, zone: ZoneInfo | None = None, hours: bool = False
) -> pd.Timestamp | None:
    """A bucket's ``start_time`` into its day, e.g. 1730419200 in America/Los_Angeles -> 2024-10-31.

    What it is counted under, a naive Timestamp: its UTC day (default), its local date in
    ``zone`` (hourly buckets summed into the team's days), or its UTC hour (``hours``); None
    when unreadable."""
    if zone is None and not hours:
        return utc_day(seconds)
    moment = utc_moment(seconds)
    if moment is None:
        return None
    if hours:
        return pd.Timestamp(moment.replace(tzinfo=None))
    assert zone is not None
    return pd.Timestamp(moment.astimezone(zone).date())


def iter_buckets(
    pages: Iterable[dict],
    what: str,
    errors: Errors = "coerce",
    days: tuple[date, date] | None = None,
    *,
    zone: ZoneInfo | None = None,
    hours: bool = False,
) -> Iterable[tuple[pd.Timestamp, list]]:
    """Admin ``page`` bodies into (UTC day, results) per bucket, e.g. one page of 2 buckets -> 2
    pairs.

    Buckets that are not objects, or whose ``start_time`` cannot be read, are skipped (coerce) or
    raise; a bucket whose ``results`` is not a list yields no results.

    :param pages: decoded page bodies (``{"object": "page", "data": [bucket, ...], ...}``)
    :param what: endpoint, for messages
    :param errors: policy for unreadable buckets
    :param days: only the buckets of these days (first, last) are read: a window is a fixed block
        that may reach beyond the range asked for, and what lies outside is neither shown nor
        counted in a notice
    :param zone: count each bucket (an hour) on its local date in this zone instead of its UTC
        day (``bucket_key``); ``days`` are then local dates
    :param hours: yield each bucket's UTC hour instead (``days`` are then UTC days)
    """
    first, last = (pd.Timestamp(d) for d in days) if days else (None, None)
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
            stamp = bucket.get("start_time") if isinstance(bucket, dict) else None
            day = bucket_key(stamp, zone, hours) if isinstance(bucket, dict) else None
            if day is None:
                if errors == "raise":
                    raise MalformedResponseError(
                        f"{what} page holds a bucket without a readable start_time: {bucket!r:.80}"
                    )
                continue
            if first is not None and not first <= day.normalize() <= last:
                continue
            results = bucket.get("results")
            yield day, results if isinstance(results, list) else []


def admin_result_row(kind: str, result: dict, errors: Errors = "coerce") -> tuple[tuple, list]:
    """An admin usage result into (dimensions, metrics), e.g. a completions result -> ((proj, user,
    key, model, ...), [5, 1000, 400, 500, None]).

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
    requests = to_count(first_present(result, spec["requests"]), errors) if spec["requests"] else 0
    return dims, [requests, *tokens, units]


def admin_split(result: dict, errors: Errors = "coerce") -> list[int | None] | None:
    """A completions result into its modality split, e.g. ``{"input_audio_tokens": 3}`` -> [...].

    The list is in ADMIN_SPLIT_FIELDS order with None where a field is absent (``[None, None, 3,
    None, ...]``); None when the result has no split field at all (answers before 2026-07).

    :param result: one completions result
    :param errors: policy for unreadable numbers
    """
    values = [
        None if result.get(field) is None else to_count(result.get(field), errors, what=field)
        for field in ADMIN_SPLIT_FIELDS
    ]
    return values if any(value is not None for value in values) else None


def add_split(splits: dict[tuple, list], key: tuple, parts: list[int | None]) -> None:
    """A result's split into ``splits[key]`` in place, e.g. [1, None] + [2, None] -> [3, None]
    (a field stays None until some result gives it)."""
    total = splits.get(key)
    if total is None:
        splits[key] = list(parts)
        return
    for i, part in enumerate(parts):
        if part is not None:
            total[i] = part if total[i] is None else total[i] + part


def admin_usage_to_frame(
    kind: str,
    pages: Iterable[dict],
    *,
    errors: Errors = "coerce",
    days: tuple[date, date] | None = None,
    zone: ZoneInfo | None = None,
    hours: bool = False,
) -> pd.DataFrame:
    """Admin ``/organization/usage/{kind}`` pages into the usage table, e.g. completions buckets ->
    one row per day x group.

    ``date`` is the bucket's UTC day, or with ``zone`` the local date its hour falls on; hourly
    or minute buckets of one day are added up (storage, a level, keeps the day's peak). With
    ``hours`` every UTC hour keeps its own rows: ``date`` is its UTC day and ``hour`` its start
    (what apportions a UTC day's billed money to the local dates it touches). Empty buckets give
    no rows. Results whose ``object`` names
    another type are skipped and counted: ``attrs["skipped"]`` (total) and
    ``attrs["skipped_objects"]`` ({object: count}); a result without ``object`` is read.
    Completions answers that split their tokens by modality (spec 2026-07) also fill
    ``spend.schema.SPLIT_COLUMNS``; tool calls and sessions count in ``units``, never in
    ``n_requests``.

    :param kind: completions, embeddings, moderations, images, audio_speeches,
        audio_transcriptions, vector_stores, code_interpreter_sessions, file_search_calls,
        web_search_calls
    :param pages: decoded page bodies
    :param errors: ``"coerce"`` or ``"raise"`` (unreadable numbers/buckets, unknown result objects)
    :param days: only these days (first, last) are read (``iter_buckets``)
    :param zone: the team's zone: hourly buckets into local dates (``iter_buckets``)
    :param hours: one row per UTC hour x group, with an ``hour`` column
    """
    check_errors(errors)
    if kind not in ADMIN_KINDS:
        raise ValueError(
            f"unknown admin usage kind {kind!r}; expected one of {sorted(ADMIN_KINDS)}"
        )
    spec = ADMIN_KINDS[kind]
    expected = spec["object"]
    level = spec.get("level", False)
    # first per (bucket day, bucket, dims) so a level is never summed across hours
    per_bucket: dict[tuple, list] = {}
    splits: dict[tuple, list] = {}  # (day, *dims) -> ADMIN_SPLIT_FIELDS sums (None: never given)
    skipped: Counter[str] = Counter()
    buckets = iter_buckets(pages, f"usage/{kind}", errors, days, zone=zone, hours=hours)
    for bucket_index, (day, results) in enumerate(buckets):
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
            add_metrics(per_bucket, key, metrics)
            parts = admin_split(result, errors) if spec.get("split") else None
            if parts is not None:
                add_split(splits, (day, *dims), parts)
    groups: dict[tuple, list] = {}
    for (_, *key), metrics in per_bucket.items():
        add_metrics(groups, tuple(key), metrics, peak=level)
    columns = group_columns(groups, _ADMIN_KEY)
    n_rows = len(groups)
    if splits:  # only answers that split their tokens get the columns (older ones: none)
        unsplit = [None] * len(ADMIN_SPLIT_FIELDS)
        for i, name in enumerate(ADMIN_SPLIT_FIELDS.values()):
            columns[name] = [splits.get(key, unsplit)[i] for key in groups]
    columns.update(
        source=["admin"] * n_rows,
        operation=[spec["operation"]] * n_rows,
        unit=[spec.get("unit")] * n_rows,
        cost_basis=["unpriced"] * n_rows,
    )
    if hours:  # the hour stays; conform makes ``date`` its UTC day
        columns["hour"] = pd.to_datetime(pd.Series(columns["date"], dtype="datetime64[ns]"))
    frame = finish_usage(columns, n_rows)
    frame.attrs["skipped"] = sum(skipped.values())
    frame.attrs["skipped_objects"] = dict(skipped)
    return frame


_COST_KEY = ("date", "project_id", "api_key_id", "line_item", "currency")


def admin_costs_to_frame(
    pages: Iterable[dict], *, errors: Errors = "coerce", days: tuple[date, date] | None = None
) -> pd.DataFrame:
    """Admin ``/organization/costs`` pages into billed usage rows, e.g. ``{"amount": {"value":
    "12.50"}} -> cost_usd 12.5``.

    One row per day x project x key x line item: ``operation="cost"``, ``cost_basis="billed"``,
    ``cost_usd`` summed in Decimal (``amount.value`` may be a number or a string) and converted to
    float at the end. Amounts in another currency keep their rows (``currency`` column) but no
    ``cost_usd`` (NA: never added to dollars), counted in ``attrs["non_usd_currencies"]``
    ({currency: rows}); unreadable amounts make their row's ``cost_usd`` NA (never a silent 0) and
    count in ``attrs["unreadable_amounts"]`` (or raise); foreign result objects in
    ``attrs["skipped"]``.

    :param pages: decoded page bodies
    :param errors: ``"coerce"`` or ``"raise"``
    :param days: only these days (first, last) are read (``iter_buckets``)
    """
    check_errors(errors)
    groups: dict[tuple, Decimal | None] = {}
    skipped = 0
    unreadable = 0
    foreign: Counter[str] = Counter()
    for day, results in iter_buckets(pages, "costs", errors, days):
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
    frame = finish_usage(columns, n_rows)
    frame.attrs["skipped"] = skipped
    frame.attrs["unreadable_amounts"] = unreadable
    frame.attrs["non_usd_currencies"] = dict(foreign)
    return frame


def iter_list_items(pages: Iterable[dict], what: str) -> Iterable[dict]:
    """List-endpoint bodies (``{"object": "list", "data": [...]}``) into their object items, e.g. 2
    pages -> users."""
    for page in pages:
        body = require_dict(page, f"{what} list body")
        items = body.get("data")
        if isinstance(items, list):
            yield from (item for item in items if isinstance(item, dict))


def admin_users_to_frame(pages: Iterable[dict]) -> pd.DataFrame:
    """``/organization/users`` pages into a users table, e.g. user_abc -> user_id, user_name,
    user_email, role.

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
    return name_table(dedupe(rows, "user_id"), USER_COLUMNS, {})


def admin_projects_to_frame(pages: Iterable[dict]) -> pd.DataFrame:
    """``/organization/projects`` pages into a projects table, e.g. proj_abc -> project_name,
    status, archived.

    ``archived`` is True when ``archived_at`` is set or ``status`` is ``archived``; NA when neither
    is known.

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
    return name_table(dedupe(rows, "project_id"), PROJECT_COLUMNS, {"archived": "boolean"})


def _api_key_row(item: dict, project_id: str | None) -> dict:
    """A project API key object into a keys row, e.g. key_abc -> name, owner user, redacted
    value."""
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
    """``/organization/projects/{id}/api_keys`` pages per project into a keys table, e.g. key_abc ->
    "My API Key".

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
    return name_table(dedupe(rows, ("project_id", "api_key_id")), API_KEY_COLUMNS, {})


__all__ = [
    "ADMIN_KINDS",
    "ADMIN_SPLIT_FIELDS",
    "admin_api_keys_to_frame",
    "admin_costs_to_frame",
    "admin_projects_to_frame",
    "admin_result_row",
    "admin_split",
    "admin_usage_to_frame",
    "admin_users_to_frame",
    "bucket_key",
    "iter_buckets",
    "iter_list_items",
]
