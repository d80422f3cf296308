"""The admin source: an admin key (``sk-admin-``) and OpenAI's official Usage and Costs APIs.

Ten usage endpoints (``/organization/usage/{kind}``, daily buckets, the finest ``group_by`` each
allows), ``/organization/costs`` (billed money per project, line item and key) and the lists that
name ids (users, projects, each project's keys). Costs ``amount.value`` is read as a string into
``Decimal``; amounts in other currencies stay out of dollar sums (API-NOTES §2).

    admin_usage_to_frame("completions", pages).pipe(join_names, users=u, projects=p, api_keys=k)
    admin_costs_to_frame(pages)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from spend import errors, shapes
from spend.budgets import DEFAULT_ALERT_AT, Budget
from spend.client import Api, next_page_params
from spend.config import ADMIN_RATE_LIMIT_PER_MIN, Settings, key_kind
from spend.dates import is_final
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
    join_names,
    name_table,
    require_dict,
    to_count,
    to_decimal,
    to_quantity,
    to_text,
    utc_day,
)
from spend.schema import conform, empty_frame
from spend.sources.base import PlannedRequest, Refused, Source, epoch
from spend.sources.openai_api import openai_api

#: Admin usage endpoints (API-NOTES §2) and the finest group_by each allows.
ADMIN_USAGE_GROUP_BY: dict[str, tuple[str, ...]] = {
    "completions": ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier"),
    "embeddings": ("project_id", "user_id", "api_key_id", "model"),
    "moderations": ("project_id", "user_id", "api_key_id", "model"),
    "images": ("project_id", "user_id", "api_key_id", "model", "size", "source"),
    "audio_speeches": ("project_id", "user_id", "api_key_id", "model"),
    "audio_transcriptions": ("project_id", "user_id", "api_key_id", "model"),
    "vector_stores": ("project_id",),
    "code_interpreter_sessions": ("project_id",),
    # file search has no model: it has vector_store_id instead
    "file_search_calls": ("project_id", "user_id", "api_key_id"),
    # context_level: web search is priced by the search context size where it is known
    "web_search_calls": ("project_id", "user_id", "api_key_id", "model", "context_level"),
}
COSTS_GROUP_BY = ("project_id", "line_item", "api_key_id")
USAGE_BUCKETS_PER_PAGE = 31  # usage, bucket_width=1d: the API's maximum
COST_BUCKETS_PER_PAGE = 180  # costs: the API's maximum
#: Time windows are fixed blocks of a page's days counted from this day (UTC), not from a range's
#: start: a rolling range ("last 30 days") asks tomorrow for the same finished windows it asked
#: today, and finds them in the cache. A range may cost one window more for it (the team's
#: DESIGN.md).
WINDOW_EPOCH = date(2020, 1, 1)
LIST_PAGE_SIZE = 100
#: Spend alerts per page (the spec's maximum), and a bound on pages.
CONTROLS_PAGE_SIZE = 100
MAX_CONTROL_PAGES = 50
#: end_time is clamped to now (a future value has made calls fail), rounded down to this many
#: seconds so the cache key of the current window is stable while its entry is fresh.
END_TIME_GRANULARITY = 600

# --------------------------------------------------------------------------------------------
# Payloads into frames
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


def iter_buckets(
    pages: Iterable[dict],
    what: str,
    errors: Errors = "coerce",
    days: tuple[date, date] | None = None,
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
            day = utc_day(bucket.get("start_time")) if isinstance(bucket, dict) else None
            if day is None:
                if errors == "raise":
                    raise MalformedResponseError(
                        f"{what} page holds a bucket without a readable start_time: {bucket!r:.80}"
                    )
                continue
            if first is not None and not first <= day <= last:
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
) -> pd.DataFrame:
    """Admin ``/organization/usage/{kind}`` pages into the usage table, e.g. completions buckets ->
    one row per day x group.

    ``date`` is the bucket's UTC day; hourly/minute buckets of one day are added up (storage,
    a level, keeps the day's peak). Empty buckets give no rows. Results whose ``object`` names
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
    buckets = iter_buckets(pages, f"usage/{kind}", errors, days)
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


class AdminSource(Source):
    """The official Admin API: ten usage endpoints, costs, and the users/projects/keys lists."""

    name = "admin"
    provider = "openai"
    title = "OpenAI Usage and Costs APIs (admin key)"
    label = "Admin Usage & Costs API"
    default_rate_limit = ADMIN_RATE_LIMIT_PER_MIN

    @classmethod
    def claims(cls, settings: Settings) -> bool:
        return key_kind(settings.api_key) == "admin"

    @classmethod
    def api(cls, settings: Settings) -> Api:
        return openai_api(settings.api_key, settings.org_id, settings.base_url)

    @classmethod
    def cold_requests(
        cls,
        start: date,
        end: date,
        *,
        users: int = 0,
        per_user: bool = False,
        projects: int = 0,
        now: float | None = None,
    ) -> int:
        return cold_requests(start, end, projects=projects, now=now)

    def _time_windows(self, start: date, end: date, per_page: int) -> list[tuple[int, int, date]]:
        """[start, end] into (start_time, end_time, last day) windows: the aligned blocks of
        ``per_page`` days that cover it (``time_windows``)."""
        return time_windows(start, end, per_page, now=self.clock())

    @staticmethod
    def _list(path: str, params: tuple, kind: str, label: str = "") -> PlannedRequest:
        """A list that only names ids: optional, so a refusal shows ids instead of failing."""
        return PlannedRequest(
            path,
            params,
            final=False,
            kind=kind,
            paged="after",
            label=label,
            optional=True,
            validate=shapes.list_page,
        )

    def _projects_request(self) -> PlannedRequest:
        params = (("limit", LIST_PAGE_SIZE), ("include_archived", True))
        return self._list("/organization/projects", params, "projects")

    def plan_requests(self, start: date, end: date) -> list[PlannedRequest]:
        requests = [
            self._list("/organization/users", (("limit", LIST_PAGE_SIZE),), "users"),
            self._projects_request(),
        ]

        def windowed(path: str, kind: str, per_page: int, group_by: tuple) -> None:
            for t0, t1, last in self._time_windows(start, end, per_page):
                params = (
                    ("start_time", t0),
                    ("end_time", t1),
                    ("bucket_width", "1d"),
                    ("limit", per_page),
                    ("group_by[]", group_by),
                )
                final = self.is_final(last)
                shape = shapes.costs_page if kind == "costs" else shapes.usage_page
                requests.append(
                    PlannedRequest(
                        path, params, final=final, kind=kind, paged="page", validate=shape
                    )
                )

        for kind, group_by in ADMIN_USAGE_GROUP_BY.items():
            path = f"/organization/usage/{kind}"
            windowed(path, f"usage:{kind}", USAGE_BUCKETS_PER_PAGE, tuple(group_by))
        windowed("/organization/costs", "costs", COST_BUCKETS_PER_PAGE, COSTS_GROUP_BY)
        requests.extend(self.dependent_requests(start, end))
        return requests

    def dependent_requests(self, start: date, end: date) -> list[PlannedRequest]:
        """One list request per project, known once the projects list is stored (else none yet)."""
        pages = self.stored(self._projects_request())
        projects = [] if pages is None else admin_projects_to_frame(pages)["project_id"].dropna()
        params = (("limit", LIST_PAGE_SIZE), ("owner_project_access", "any"))
        return [
            self._list(f"/organization/projects/{pid}/api_keys", params, "api_keys", label=pid)
            for pid in projects
        ]

    def build(
        self, start: date, end: date, bodies: dict[PlannedRequest, list[Any] | Refused]
    ) -> tuple[pd.DataFrame, list[str]]:
        frames, notices = [], []
        refused = sorted({r.kind for r, pages in bodies.items() if isinstance(pages, Refused)})
        if refused:
            lists = ", ".join(k.replace("_", " ") for k in refused)
            notices.append(
                f"OpenAI refused the {lists} list(s) to this key, so some ids are shown without "
                "names."
            )
        users = projects = None
        key_pages: dict[str, list[Any]] = {}
        for request, pages in bodies.items():
            if isinstance(pages, Refused):
                continue
            if request.kind == "users":
                users = admin_users_to_frame(pages)
            elif request.kind == "projects":
                projects = admin_projects_to_frame(pages)
            elif request.kind == "api_keys":
                key_pages[request.label] = pages
            elif request.kind == "costs":
                frames.append(admin_costs_to_frame(pages, days=(start, end)))
                currencies = frames[-1].attrs.get("non_usd_currencies") or {}
                if currencies:
                    notices.append(
                        f"Some billed rows are not in USD ({', '.join(sorted(currencies))}): they "
                        "are listed in Raw data but left out of every dollar figure."
                    )
                if frames[-1].attrs.get("unreadable_amounts"):
                    notices.append(
                        f"{frames[-1].attrs['unreadable_amounts']} billed amounts could not be "
                        "read: their rows have no cost and are left out of the billed total."
                    )
            elif request.kind.startswith("usage:"):
                kind = request.kind.split(":", 1)[1]
                frames.append(admin_usage_to_frame(kind, pages, days=(start, end)))
                if frames[-1].attrs.get("skipped"):
                    notices.append(
                        f"{frames[-1].attrs['skipped']} {kind} results of a shape this app does "
                        "not know were left out."
                    )
        filled = [f for f in frames if len(f)]
        # every frame holds only the range's days (parsed with days=): a window's other days,
        # asked for because windows are aligned blocks, never reach the table
        frame = conform(pd.concat(filled, ignore_index=True) if filled else empty_frame())
        api_keys = admin_api_keys_to_frame(key_pages) if key_pages else None
        frame = join_names(frame, users=users, projects=projects, api_keys=api_keys)
        if not len(frame) and bodies:
            notices.append(
                f"OpenAI's Usage and Costs APIs returned nothing for {start} to {end}: the "
                "organization had no API usage in that range."
            )
        return frame, notices

    def spend_controls(self, project_ids: Iterable[str]) -> tuple[list[Budget], list[str]]:
        """Project ids into OpenAI's spend limits and alerts as read-only budgets, with notices.

        Asks ``/organization/spend_limit`` and ``/spend_alerts``, then the same per project (spec
        2026-07, ``openai-spec/spend-controls-openapi.yaml``). A refused or missing endpoint (403,
        404, any error) is a notice, never a failure; when the organization's alert list itself is
        refused, the projects are not asked.
        """
        budgets: list[Budget] = []
        notices: list[str] = []
        refused: dict[tuple[str, str], list[str]] = {}

        def ask(path: str, kind: str, owner: str, paged: bool) -> Any:
            try:
                if not paged:
                    return self.client.get_json(path, None, final=False)
                bodies: list[Any] = []
                params: dict[str, Any] | None = {"limit": CONTROLS_PAGE_SIZE}
                while params is not None and len(bodies) < MAX_CONTROL_PAGES:
                    bodies.append(self.client.get_json(path, params, final=False))
                    params = next_page_params(path, params, bodies[-1], "after")
                return bodies
            except errors.SpendError as exc:
                status = getattr(exc, "status_code", None)
                reason = f"HTTP {status}" if status else type(exc).__name__
                refused.setdefault((kind, reason), []).append(owner)
                return None

        org_alerts = ask("/organization/spend_alerts", "spend alerts", "the organization", True)
        org_limit = ask("/organization/spend_limit", "spend limit", "the organization", False)
        for body, parse in ((org_limit, parse_spend_limit), (org_alerts, parse_spend_alerts)):
            if body is not None:
                found, more = parse(body)
                budgets += found
                notices += more
        if org_alerts is not None:
            for project_id in sorted(set(project_ids)):
                base = f"/organization/projects/{project_id}"
                owner = f"project {project_id}"
                limit = ask(f"{base}/spend_limit", "spend limit", owner, False)
                alerts = ask(f"{base}/spend_alerts", "spend alerts", owner, True)
                if limit is not None:
                    found, more = parse_spend_limit(limit, project_id=project_id)
                    budgets += found
                    notices += more
                if alerts is not None:
                    found, more = parse_spend_alerts(alerts, project_id=project_id)
                    budgets += found
                    notices += more
        for (kind, reason), owners in refused.items():
            more = f" and {len(owners) - 3} more" if len(owners) > 3 else ""
            notices.append(
                f"OpenAI's {kind} for {', '.join(owners[:3])}{more} could not be read ({reason}): "
                "none set, or not available to this key; shown without them."
            )
        return budgets, notices


def window_blocks(start: date, end: date, size: int) -> list[tuple[date, date]]:
    """A range into the blocks covering it, e.g. 2020-01-30..02-02, 31 -> Jan 1-31, Feb 1-Mar 2.

    Blocks of ``size`` days are counted from ``WINDOW_EPOCH``; each is ``(first day, last day)``.
    """
    first = (start - WINDOW_EPOCH).days // size
    last = (end - WINDOW_EPOCH).days // size
    return [
        (WINDOW_EPOCH + timedelta(days=k * size), WINDOW_EPOCH + timedelta(days=(k + 1) * size - 1))
        for k in range(first, last + 1)
    ]


def time_windows(start: date, end: date, size: int, *, now: float) -> list[tuple[int, int, date]]:
    """A range into the (start_time, end_time, last day) of its windows, e.g. Nov 2-Dec 1 2026 by
    31 -> (Oct 16, Nov 16, Nov 15), (Nov 16, Dec 1 now, Dec 16).

    Each window is a block of ``window_blocks``, so tomorrow's rolling range asks for the same
    finished windows as today's. Two ends are cut: at ``now`` (rounded down to
    ``END_TIME_GRANULARITY``; a block not begun by then is left out), and at the range's end when
    that day is final: a range that is over ("last month" a week later) then asks for final
    windows, kept for good, instead of a block still running past today.
    """
    clamp = int(now // END_TIME_GRANULARITY * END_TIME_GRANULARITY)
    moment = datetime.fromtimestamp(now, tz=UTC)
    over = is_final(end, moment)
    windows = []
    for first, last in window_blocks(start, end, size):
        if over and last > end:
            last = end
        t0 = epoch(first)
        t1 = min(epoch(last + timedelta(days=1)), clamp)
        if t1 <= t0:
            continue
        windows.append((t0, t1, last))
    return windows


def cold_requests(start: date, end: date, *, projects: int = 0, now: float | None = None) -> int:
    """A range into the requests a cold fetch needs, e.g. 30 days inside one block of 31 ->
    ``13`` (2 lists, 10 usage, 1 costs); 30 days across two -> ``23``.

    :param now: the planner's clock (Unix seconds); a block that has not begun by then is not
        asked for (only in the first 10 minutes of a block's first day)
    """
    if now is None:
        usage = len(window_blocks(start, end, USAGE_BUCKETS_PER_PAGE))
        costs = len(window_blocks(start, end, COST_BUCKETS_PER_PAGE))
    else:
        usage = len(time_windows(start, end, USAGE_BUCKETS_PER_PAGE, now=now))
        costs = len(time_windows(start, end, COST_BUCKETS_PER_PAGE, now=now))
    return 2 + len(ADMIN_USAGE_GROUP_BY) * usage + costs + projects


# --------------------------------------------------------------------------------------------
# OpenAI's spend controls (spend-controls-openapi.yaml): integer cents, monthly, USD, read-only


def _control_amount(item: Mapping[str, Any], what: str) -> tuple[float | None, str | None]:
    """A spend limit or alert object into (USD, None), or (None, why it is ignored).

    E.g. ``{"threshold_amount": 150000, "currency": "USD", "interval": "month"}`` -> 1500.0, None.
    """
    cents = item.get("threshold_amount")
    if isinstance(cents, bool) or not isinstance(cents, int) or cents <= 0:
        return None, f"{what} has no usable amount ({cents!r}); ignored"
    currency = str(item.get("currency") or "").upper()
    if currency != "USD":
        return None, f"{what} is in {currency or 'no currency'}, not USD; ignored"
    interval = item.get("interval")
    if interval != "month":
        return None, f"{what} is per {interval!r}, not per month; ignored"
    return cents / 100.0, None


def parse_spend_limit(
    body: Any, *, project_id: str | None = None
) -> tuple[list[Budget], list[str]]:
    """A spend limit body into ([a read-only budget], notices), e.g. 150000 cents -> $1,500 limit.

    ``{"object": "organization.spend_limit", "threshold_amount": 150000, "currency": "USD",
    "interval": "month", "enforcement": {"status": "enforcing"}}`` -> one ``Budget`` with
    ``origin="openai"``, ``kind="spend_limit"``, ``note="enforcing"``. A body of another shape
    gives no budget and a notice, never an exception.

    :param project_id: the project it belongs to (None: the organization's)
    """
    scope = "project" if project_id else "organization"
    what = (
        f"OpenAI's hard spend limit for {scope} {project_id}"
        if project_id
        else ("OpenAI's hard spend limit for the organization")
    )
    expected = f"{scope}.spend_limit"
    if not isinstance(body, Mapping) or body.get("object") != expected:
        shown = body.get("object") if isinstance(body, Mapping) else type(body).__name__
        return [], [f"{what}: expected a {expected} object, got {shown!r}; ignored"]
    usd, problem = _control_amount(body, what)
    if problem:
        return [], [problem]
    enforcement = body.get("enforcement")
    status = enforcement.get("status") if isinstance(enforcement, Mapping) else None
    budget = Budget(
        scope=scope,
        id=project_id,
        monthly_usd=float(usd),
        alert_at=DEFAULT_ALERT_AT,
        origin="openai",
        kind="spend_limit",
        note=str(status) if status else None,
    )
    return [budget], []


def parse_spend_alerts(
    pages: Any, *, project_id: str | None = None
) -> tuple[list[Budget], list[str]]:
    """Spend alert list pages into (read-only budgets, notices), e.g. one $1,000 budget per alert.

    E.g. a page with ``{"id": "alert_1", "object": "organization.spend_alert",
    "threshold_amount": 100000, "currency": "USD", "interval": "month", ...}`` -> a $1,000
    ``Budget`` with ``kind="spend_alert"``, ``alert_at=(100,)``, ``note="alert_1"``.

    :param pages: one list body or a list of them (pagination)
    :param project_id: the project they belong to (None: the organization's)
    """
    scope = "project" if project_id else "organization"
    owner = f"project {project_id}" if project_id else "the organization"
    bodies = [pages] if isinstance(pages, Mapping) else list(pages or [])
    budgets: list[Budget] = []
    notices: list[str] = []
    expected = f"{scope}.spend_alert"
    for body in bodies:
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            notices.append(f"OpenAI's spend alerts for {owner}: not a list answer; ignored")
            continue
        for item in data:
            if not isinstance(item, Mapping) or item.get("object") != expected:
                notices.append(
                    f"OpenAI's spend alerts for {owner}: an entry of unknown shape; ignored"
                )
                continue
            what = f"OpenAI's spend alert {item.get('id')} for {owner}"
            usd, problem = _control_amount(item, what)
            if problem:
                notices.append(problem)
                continue
            budgets.append(
                Budget(
                    scope=scope,
                    id=project_id,
                    monthly_usd=float(usd),
                    alert_at=(100,),
                    origin="openai",
                    kind="spend_alert",
                    note=str(item.get("id") or f"{usd:g}"),
                )
            )
    return budgets, notices


__all__ = [
    "CONTROLS_PAGE_SIZE",
    "MAX_CONTROL_PAGES",
    "parse_spend_alerts",
    "parse_spend_limit",
    "ADMIN_KINDS",
    "ADMIN_SPLIT_FIELDS",
    "ADMIN_USAGE_GROUP_BY",
    "AdminSource",
    "COSTS_GROUP_BY",
    "COST_BUCKETS_PER_PAGE",
    "END_TIME_GRANULARITY",
    "LIST_PAGE_SIZE",
    "USAGE_BUCKETS_PER_PAGE",
    "WINDOW_EPOCH",
    "admin_api_keys_to_frame",
    "admin_costs_to_frame",
    "admin_projects_to_frame",
    "admin_result_row",
    "admin_split",
    "admin_usage_to_frame",
    "admin_users_to_frame",
    "cold_requests",
    "time_windows",
    "window_blocks",
    "iter_buckets",
    "iter_list_items",
]
