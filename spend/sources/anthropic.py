"""The Anthropic source: an admin key (``sk-ant-admin…``) and Anthropic's Admin API.

Everything Anthropic-specific lives here: its HTTP conventions (``x-api-key``,
``anthropic-version``, its error body), the plan (aligned 31-day windows of daily buckets, as the
OpenAI admin source, ``spend.sources.windows.time_windows``), the validators of its answers and the
parsing of its payloads (API-NOTES §6):

    /v1/organizations/usage_report/messages   tokens by model, workspace, key, tier, context
    /v1/organizations/cost_report             billed money by workspace and description (cents)
    /v1/organizations/workspaces, /api_keys   names (optional: a refusal shows ids)

The usage table it gives: workspaces are projects (the default workspace, ``null`` in every
answer, is ``DEFAULT_WORKSPACE_ID`` named "Default workspace"); ``input_tokens`` is uncached + cache
writes (5-minute and 1-hour) + cache reads, ``cached_input_tokens`` the cache reads,
``cache_write_tokens`` every cache write and ``cache_write_1h_tokens`` the 1-hour part (priced at
2x input, the 5-minute ones at 1.25x); web searches are a row of ``units`` in ``calls``;
``n_requests`` is NA on every row (the report has no request count, never 0); the ``batch``
service tier sets ``batch``; ``context_window`` says which requests were above 200K input tokens.
The cost report's ``amount`` is a decimal string in cents: billed rows in USD.

What this API cannot say: request counts, and priority-tier money (not in the cost report).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from spend import errors
from spend.allocate import apportioned_notice
from spend.client import Api
from spend.config import Settings, check_base_url
from spend.errors import MalformedResponseError, redact
from spend.localdays import is_utc, range_bounds, utc_days
from spend.normalize import (
    API_KEY_COLUMNS,
    PROJECT_COLUMNS,
    dedupe,
    finish_usage,
    join_names,
    name_table,
    to_count,
    to_decimal,
    to_text,
)
from spend.schema import conform, empty_frame
from spend.shapes import check_amount
from spend.sources.base import PlannedRequest, Refused, Scale, Source
from spend.sources.windows import (
    HOURS_PER_PAGE,
    hour_blocks,
    hour_windows,
    time_windows,
    window_blocks,
)

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
KEY_SETTING = "ANTHROPIC_ADMIN_KEY"
URL_SETTING = "ANTHROPIC_BASE_URL"
#: A normal (Messages API) key: refused before any request.
NORMAL_KEY_PREFIX = "sk-ant-api"
ADMIN_KEYS_WHERE = "Console > Settings > Admin keys (console.anthropic.com/settings/admin-keys)"

USAGE_PATH = "/v1/organizations/usage_report/messages"
COST_PATH = "/v1/organizations/cost_report"
WORKSPACES_PATH = "/v1/organizations/workspaces"
API_KEYS_PATH = "/v1/organizations/api_keys"
USAGE_GROUP_BY = ("model", "workspace_id", "api_key_id", "service_tier", "context_window")
COST_GROUP_BY = ("workspace_id", "description")
#: Daily buckets a page holds at most, for both reports (``limit``; API-NOTES §6).
BUCKETS_PER_PAGE = 31
LIST_PAGE_SIZE = 100
#: The default workspace is ``workspace_id: null`` in every answer; the usage table needs an id
#: to filter and budget by it.
DEFAULT_WORKSPACE_ID = "default"
DEFAULT_WORKSPACE_NAME = "Default workspace"
PRIORITY_NOTICE = (
    "Anthropic's cost report leaves out priority-tier costs: billed Anthropic figures do not "
    "include any usage on the priority tier."
)
_SNAPSHOT = re.compile(r"-\d{8}$")


# --------------------------------------------------------------------------------------------
# HTTP conventions


def _said(body: Any, secrets: Iterable[str | None]) -> str:
    """Anthropic's error body (``{"type": "error", "error": {"type", "message"}}``) into
    ``' Anthropic said: "..."'``, or "" when it has none."""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return f' Anthropic said: "{redact(str(message), secrets)[:300]}"' if message else ""


def error_for_status(
    status: int,
    body: Any,
    *,
    request_id: str | None,
    endpoint: str,
    attempts: int = 1,
    secrets: Iterable[str | None] = (),
) -> errors.ApiError:
    """A final HTTP status into the error class and a message naming what to fix, e.g. 401 ->
    "Anthropic rejected ANTHROPIC_ADMIN_KEY (401) ..."."""
    said = _said(body, secrets)
    kw = dict(status_code=status, request_id=request_id, body=body, endpoint=endpoint)
    if status == 401:
        return errors.AuthError(
            f"Anthropic rejected {KEY_SETTING} (401): it must be a current Admin API key, made "
            f"in {ADMIN_KEYS_WHERE}.{said}",
            **kw,
        )
    if status == 403:
        return errors.PermissionDeniedError(
            f"{KEY_SETTING} may not read {endpoint} (403): it needs an admin key of the "
            f"organization, made in {ADMIN_KEYS_WHERE}.{said}",
            **kw,
        )
    if status == 404:
        return errors.NotFoundError(
            f"Anthropic does not know {endpoint} (404): check {URL_SETTING} (it ends before "
            f"/v1, e.g. {DEFAULT_BASE_URL}).{said}",
            **kw,
        )
    if status in (400, 422):
        return errors.BadRequestError(
            f"Anthropic refused the request to {endpoint} ({status}).{said}", **kw
        )
    if status == 429:
        return errors.RateLimitError(
            f"Anthropic's rate limit (429) held through {attempts} attempts. Wait a minute and "
            f"try again, or lower SPEND_RATE_LIMIT_PER_MIN.{said}",
            **kw,
        )
    if status >= 500:  # 529: overloaded
        return errors.ServerError(
            f"Anthropic answered {status} {attempts} time{'s' if attempts != 1 else ''}; try "
            f"again later.{said}",
            **kw,
        )
    return errors.ApiError(f"Unexpected answer {status} from Anthropic for {endpoint}.{said}", **kw)


def parse_time(text: Any) -> datetime | None:
    """An RFC 3339 timestamp into an aware UTC datetime, e.g. ``"2025-11-03T00:00:00Z"``; None when
    it is not one."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def rfc3339(seconds: int) -> str:
    """Unix seconds into the RFC 3339 text Anthropic takes, e.g. ``0 -> "1970-01-01T00:00:00Z"``."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def days_of(params: Any) -> str | None:
    """A report GET's params into the days it asks for, e.g. ``"2026-11-01 to 2026-11-30"``;
    None without a time window."""
    given = dict(params or {})
    first, end = parse_time(given.get("starting_at")), parse_time(given.get("ending_at"))
    if first is None or end is None:
        return None
    last = datetime.fromtimestamp(end.timestamp() - 1, tz=UTC).date()
    return f"{first.date()}" if first.date() == last else f"{first.date()} to {last}"


def describe_request(path: str, params: Any = None) -> str:
    """A GET into a few words for messages, e.g. a usage window -> ``"/v1/.../messages for
    2026-11-01 to 2026-11-30"``."""
    span = days_of(params)
    return f"{path} for {span}" if span else path


#: Seconds in a bucket of each ``bucket_width`` (API-NOTES §6).
BUCKET_SECONDS = {"1d": 86_400, "1h": 3_600, "1m": 60}


def bucket_count(params: Mapping[str, Any]) -> int | None:
    """A report GET's params into how many buckets its answer can hold, e.g. 31 days of ``1d``
    -> 31, 168 hours of ``1h`` -> 168; None for a list."""
    first, end = parse_time(params.get("starting_at")), parse_time(params.get("ending_at"))
    if first is None or end is None or end <= first:
        return None
    width = BUCKET_SECONDS.get(str(params.get("bucket_width") or "1d"), 86_400)
    return math.ceil((end - first).total_seconds() / width)


def check_key(key: str | None) -> str:
    """``ANTHROPIC_ADMIN_KEY`` into itself when it can be an admin key; else ConfigError in one
    line, before any request (a normal ``sk-ant-api…`` key, a pasted space), never showing the key.
    The messages spell no key prefix: every ``sk-…`` word is cut from what is shown."""
    if not key:
        raise errors.ConfigError(f"No {KEY_SETTING}: set it to read Anthropic's usage and costs.")
    if key.startswith(NORMAL_KEY_PREFIX):
        raise errors.ConfigError(
            f"{KEY_SETTING} holds a normal API key, which cannot read usage or costs: Anthropic's "
            f"usage and cost reports need an Admin API key, which an organization admin makes in "
            f"{ADMIN_KEYS_WHERE}."
        )
    if not all(0x21 <= ord(ch) < 0x7F for ch in key):
        raise errors.ConfigError(
            f"{KEY_SETTING} contains a space or a character that is not plain ASCII (often a "
            "dash or quote changed by copy and paste). Copy it again from the Console."
        )
    return key


def anthropic_api(key: str | None, base_url: str | None) -> Api:
    """An admin key and a base URL into Anthropic's declaration for the client."""
    key = check_key(key)
    return Api(
        name="Anthropic",
        base_url=check_base_url(base_url or DEFAULT_BASE_URL, URL_SETTING, DEFAULT_BASE_URL),
        base_url_setting=URL_SETTING,
        example_url=DEFAULT_BASE_URL,
        headers={"x-api-key": key, "anthropic-version": API_VERSION, "accept": "application/json"},
        secrets=(key,),
        error_for_status=error_for_status,
        request_id_header="request-id",
        describe=describe_request,
        bucket_field="starting_at",
        bucket_count=bucket_count,
    )


# --------------------------------------------------------------------------------------------
# Validators: what an answer must look like before it is stored

#: Usage result fields that must be counts (never null, negative or absurd).
USAGE_COUNTS = ("uncached_input_tokens", "cache_read_input_tokens", "output_tokens")
#: Nested usage counts: (object, field); the object and the field may be absent or null.
NESTED_COUNTS = (
    ("cache_creation", "ephemeral_5m_input_tokens"),
    ("cache_creation", "ephemeral_1h_input_tokens"),
    ("server_tool_use", "web_search_requests"),
)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return type(value).__name__ if not isinstance(value, dict) else "an object"


def _page(body: Any, what: str, cursor: str) -> list:
    """A paged body into its ``data`` list, checking it is not an error and that ``has_more`` has
    a ``cursor`` to follow."""
    if not isinstance(body, dict):
        raise MalformedResponseError(f"{_kind(body)} instead of {what}")
    if body.get("type") == "error" or ("error" in body and "data" not in body):
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        raise MalformedResponseError(f'an error instead of {what}: "{redact(str(message))[:200]}"')
    data = body.get("data")
    if not isinstance(data, list):
        raise MalformedResponseError(f"{_kind(data)} as 'data' in {what}, which must be a list")
    more = body.get("has_more")
    if more is not None and not isinstance(more, bool):
        raise MalformedResponseError(f"has_more is {more!r:.40}, not true or false")
    if more and not isinstance(body.get(cursor), str):
        raise MalformedResponseError(f"has_more is true but {cursor} is not a cursor")
    return data


def _buckets(body: Any, what: str) -> Iterable[tuple[str, list]]:
    for i, bucket in enumerate(_page(body, what, "next_page")):
        if not isinstance(bucket, dict):
            raise MalformedResponseError(f"data[{i}] is {_kind(bucket)}, not a bucket")
        start = parse_time(bucket.get("starting_at"))
        if start is None:
            raise MalformedResponseError(
                f"data[{i}].starting_at is {bucket.get('starting_at')!r:.40}, not a time"
            )
        results = bucket.get("results")
        if not isinstance(results, list):
            raise MalformedResponseError(
                f"the bucket of {start:%Y-%m-%d} has {_kind(results)} as results, not a list"
            )
        for j, result in enumerate(results):
            if not isinstance(result, dict):
                raise MalformedResponseError(
                    f"the bucket of {start:%Y-%m-%d}: results[{j}] is {_kind(result)}"
                )
        yield f"the bucket of {start:%Y-%m-%d}", results


def usage_page(body: Any) -> None:
    """A usage report page into nothing when usable; else MalformedResponseError naming the
    bucket's day and the field (a null, negative or absurd count included)."""
    for label, results in _buckets(body, "a page of Anthropic usage"):
        for i, result in enumerate(results):
            for name in USAGE_COUNTS:
                value = result.get(name)
                if value is None:
                    raise MalformedResponseError(f"{label}: results[{i}].{name} is missing")
                to_count(value, "raise", what=f"{label}: results[{i}].{name}")
            for parent, name in NESTED_COUNTS:
                holder = result.get(parent)
                if holder is None:
                    continue
                if not isinstance(holder, dict):
                    raise MalformedResponseError(
                        f"{label}: results[{i}].{parent} is {_kind(holder)}, not an object"
                    )
                to_count(holder.get(name), "raise", what=f"{label}: results[{i}].{parent}.{name}")


def cost_page(body: Any) -> None:
    """A cost report page into nothing when usable (``amount`` a decimal string or number within
    bounds); else MalformedResponseError naming the bucket's day."""
    for label, results in _buckets(body, "a page of Anthropic costs"):
        for i, result in enumerate(results):
            if result.get("amount") is None:
                raise MalformedResponseError(f"{label}: results[{i}].amount is missing")
            check_amount(result.get("amount"), f"{label}: results[{i}].amount")


def list_page(body: Any) -> None:
    """A workspaces or API keys page into nothing when usable: a ``data`` list of objects."""
    for i, item in enumerate(_page(body, "a list", "last_id")):
        if not isinstance(item, dict):
            raise MalformedResponseError(f"data[{i}] is {_kind(item)}, not an object")


# --------------------------------------------------------------------------------------------
# Payloads into frames


def _day(bucket: dict, zone: ZoneInfo | None = None, hours: bool = False) -> pd.Timestamp | None:
    """A bucket into what it counts under: its UTC day, its local date in ``zone``, or its UTC
    hour (``hours``), each a naive Timestamp."""
    moment = parse_time(bucket.get("starting_at"))
    if moment is None:
        return None
    if hours:
        return pd.Timestamp(moment.replace(tzinfo=None))
    return pd.Timestamp((moment.astimezone(zone) if zone is not None else moment).date())


def _results(
    pages: Iterable[Any],
    days: tuple[date, date] | None,
    zone: ZoneInfo | None = None,
    hours: bool = False,
) -> Iterable[tuple[pd.Timestamp, dict]]:
    """Report pages into (UTC day, result) for the buckets of ``days`` (first, last); with
    ``zone`` each (hourly) bucket counts on its local date, with ``hours`` on its UTC hour."""
    first, last = (pd.Timestamp(d) for d in days) if days else (None, None)
    for page in pages:
        buckets = page.get("data") if isinstance(page, dict) else None
        for bucket in buckets if isinstance(buckets, list) else []:
            day = _day(bucket, zone, hours) if isinstance(bucket, dict) else None
            if day is None or (first is not None and not first <= day.normalize() <= last):
                continue
            for result in bucket.get("results") or []:
                if isinstance(result, dict):
                    yield day, result


def _workspace(value: Any) -> str:
    return to_text(value) or DEFAULT_WORKSPACE_ID


def model_family(model: str | None) -> str | None:
    """A Claude model id into its family, e.g. ``claude-sonnet-4-5-20250929 ->
    claude-sonnet-4-5``; other ids are their own family."""
    return _SNAPSHOT.sub("", model) if model else None


def _nested(result: dict, parent: str, name: str) -> int:
    holder = result.get(parent)
    return to_count(holder.get(name)) if isinstance(holder, dict) else 0


#: Dimensions of a usage row, in order.
_USAGE_KEY = ("date", "project_id", "api_key_id", "model", "service_tier", "context_window")


def usage_to_frame(
    pages: Iterable[Any],
    *,
    days: tuple[date, date] | None = None,
    zone: ZoneInfo | None = None,
    hours: bool = False,
) -> pd.DataFrame:
    """Usage report pages into the usage table, e.g. one result with 100 uncached, 20 + 10 cache
    writes, 50 cache reads, 40 output and 2 web searches -> a completion row (input 180, cached 50,
    output 40, cache_write 30) and a web search row (2 calls). Empty buckets give no rows. With
    ``zone``, hourly buckets are summed into their local dates; with ``hours`` each UTC hour keeps
    its rows (``hour``; ``date`` its UTC day)."""
    groups: dict[tuple, list[int]] = {}
    for day, result in _results(pages, days, zone, hours):
        key = (
            day,
            _workspace(result.get("workspace_id")),
            to_text(result.get("api_key_id")),
            to_text(result.get("model")),
            to_text(result.get("service_tier")),
            to_text(result.get("context_window")),
        )
        counts = [
            to_count(result.get("uncached_input_tokens")),
            _nested(result, "cache_creation", "ephemeral_5m_input_tokens"),
            _nested(result, "cache_creation", "ephemeral_1h_input_tokens"),
            to_count(result.get("cache_read_input_tokens")),
            to_count(result.get("output_tokens")),
            _nested(result, "server_tool_use", "web_search_requests"),
        ]
        total = groups.setdefault(key, [0] * len(counts))
        for i, count in enumerate(counts):
            total[i] += count
    rows: list[dict] = []
    for key, (uncached, write_5m, write_1h, read, output, searches) in groups.items():
        dims = dict(zip(_USAGE_KEY, key, strict=True))
        dims["batch"] = dims["service_tier"] == "batch"
        tokens = uncached + write_5m + write_1h + read + output
        if tokens or not searches:
            rows.append(
                {
                    **dims,
                    "operation": "completion",
                    "input_tokens": uncached + write_5m + write_1h + read,
                    "cached_input_tokens": read,
                    "output_tokens": output,
                    "cache_write_tokens": write_5m + write_1h,
                    "cache_write_1h_tokens": write_1h,
                }
            )
        if searches:
            rows.append(
                {
                    **dims,
                    "operation": "web_search",
                    "input_tokens": 0,
                    "cached_input_tokens": 0,
                    "output_tokens": 0,
                    "units": float(searches),
                    "unit": "calls",
                }
            )
    if hours:
        for row in rows:
            row["hour"] = row["date"]
    frame = _finish(rows)
    if hours and len(frame):
        frame["hour"] = pd.to_datetime(frame["hour"])
    return frame


def _finish(rows: list[dict]) -> pd.DataFrame:
    """Row dicts into the usage table with Anthropic's constants: the source, no request counts
    (NA, never 0), the default workspace's name, model families."""
    if not rows:
        return empty_frame()
    columns: dict[str, list] = {}
    names = list(dict.fromkeys([*rows[0], *(name for row in rows for name in row)]))
    for name in names:
        columns[name] = [row.get(name) for row in rows]
    n = len(rows)
    columns.update(
        source=["anthropic"] * n,
        provider=["anthropic"] * n,
        n_requests=[None] * n,
        cost_basis=[row.get("cost_basis", "unpriced") for row in rows],
    )
    frame = finish_usage(columns, n)
    frame["n_requests"] = pd.array([pd.NA] * n, dtype="Int64")
    frame["model_family"] = (
        frame["model"].map(model_family, na_action="ignore").astype("string")
    ).fillna(frame["operation"].astype("string"))
    default = frame["project_id"].eq(DEFAULT_WORKSPACE_ID).fillna(False)
    frame["project_name"] = frame["project_name"].mask(default, DEFAULT_WORKSPACE_NAME)
    return frame


_COST_KEY = ("date", "project_id", "line_item", "currency")


def costs_to_frame(pages: Iterable[Any], *, days: tuple[date, date] | None = None) -> pd.DataFrame:
    """Cost report pages into billed rows in USD, e.g. ``{"amount": "123.78912", "currency":
    "USD"}`` -> ``cost_usd`` 1.2378912 (``amount`` is cents). One row per day x workspace x
    description (``line_item``), summed in Decimal. Another currency keeps its row without
    ``cost_usd`` (counted in ``attrs["non_usd_currencies"]``)."""
    groups: dict[tuple, Decimal | None] = {}
    foreign: dict[str, int] = {}
    for day, result in _results(pages, days):
        cents = to_decimal(result.get("amount"))
        currency = (to_text(result.get("currency")) or "usd").lower()
        if currency != "usd":
            foreign[currency] = foreign.get(currency, 0) + 1
        key = (
            day,
            _workspace(result.get("workspace_id")),
            to_text(result.get("description")),
            currency,
        )
        previous = groups.get(key, Decimal(0))
        groups[key] = None if previous is None or cents is None else previous + cents
    rows = [
        {
            **dict(zip(_COST_KEY, key, strict=True)),
            "operation": "cost",
            "model": None,
            "cost_usd": float(cents / 100) if cents is not None and key[3] == "usd" else None,
            "cost_basis": "billed",
        }
        for key, cents in groups.items()
    ]
    frame = _finish(rows)
    frame.attrs["non_usd_currencies"] = foreign
    return frame


def _items(pages: Iterable[Any]) -> Iterable[dict]:
    for page in pages:
        data = page.get("data") if isinstance(page, dict) else None
        yield from (item for item in data or [] if isinstance(item, dict))


def workspaces_to_frame(pages: Iterable[Any]) -> pd.DataFrame:
    """Workspaces list pages into a projects table, e.g. wrkspc_01 -> "Research"."""
    rows = [
        {
            "project_id": to_text(item.get("id")),
            "project_name": to_text(item.get("name")),
            "status": "archived" if item.get("archived_at") else "active",
            "archived": item.get("archived_at") is not None,
        }
        for item in _items(pages)
    ]
    rows = [row for row in rows if row["project_id"]]
    return name_table(dedupe(rows, "project_id"), PROJECT_COLUMNS, {"archived": "boolean"})


def api_keys_to_frame(pages: Iterable[Any]) -> pd.DataFrame:
    """API keys list pages into a keys table, e.g. apikey_01 -> "ci-bot", its workspace and the
    user who made it."""
    rows = []
    for item in _items(pages):
        creator = item.get("created_by") if isinstance(item.get("created_by"), dict) else {}
        rows.append(
            {
                "api_key_id": to_text(item.get("id")),
                "api_key_name": to_text(item.get("name")),
                "project_id": _workspace(item.get("workspace_id")),
                "owner_type": to_text(creator.get("type")),
                "owner_user_id": to_text(creator.get("id")),
                "owner_user_name": None,
                "owner_user_email": None,
                "redacted_value": to_text(item.get("partial_key_hint")),
            }
        )
    rows = [row for row in rows if row["api_key_id"]]
    return name_table(dedupe(rows, "api_key_id"), API_KEY_COLUMNS, {})


# --------------------------------------------------------------------------------------------
# The source


def day_windows(start: date, end: date, *, now: float) -> list[tuple[int, int, date]]:
    """A range into the (start, end, last day) of its report windows, e.g. Nov 2-20 2026 at noon
    on Nov 20 -> (Oct 16, Nov 16, Nov 15), (Nov 16, Nov 21, Dec 16).

    The aligned 31-day blocks of OpenAI's admin source (``windows.time_windows``), with each end
    rounded up to midnight UTC: the cost report refuses (400) an ``ending_at`` that is not
    day-aligned (constructorfabric/insight PR 1926), and the running day's bucket, which ends at
    the next midnight, is then part of the answer. A window's key then stays the same all day.
    """
    return [
        (t0, math.ceil(t1 / 86_400) * 86_400, last)
        for t0, t1, last in time_windows(start, end, BUCKETS_PER_PAGE, now=now)
    ]


def hourly_windows(start: date, end: date, zone: ZoneInfo, *, now: float, final_after: float):
    """A local range into the (start, end, final) of its hourly usage windows: aligned blocks of
    168 hours (``windows.hour_windows``), each end rounded up to the hour, so a window's key stays
    the same all hour."""
    t0, t1 = range_bounds(start, end, zone)
    return [
        (w0, math.ceil(w1 / 3_600) * 3_600, final)
        for w0, w1, final in hour_windows(t0, t1, now=now, final_after=final_after)
    ]


def cold_requests(
    start: date, end: date, *, now: float | None = None, zone: ZoneInfo | None = None
) -> int:
    """A range into the requests a cold fetch needs, e.g. 30 days inside one 31-day block -> 4
    (workspaces, API keys, one usage window, one cost window). In a zone other than UTC usage is
    hourly, in blocks of 168 hours; costs stay daily over the UTC days the range touches."""
    if zone is not None and not is_utc(zone):
        first, last = utc_days(start, end, zone)
        if now is None:
            usage = len(hour_blocks(*range_bounds(start, end, zone)))
            costs = len(window_blocks(first, last, BUCKETS_PER_PAGE))
        else:
            usage = len(hourly_windows(start, end, zone, now=now, final_after=2 * 86_400))
            costs = len(day_windows(first, last, now=now))
        return 2 + usage + costs
    if now is None:
        windows = len(window_blocks(start, end, BUCKETS_PER_PAGE))
    else:
        windows = len(day_windows(start, end, now=now))
    return 2 + 2 * windows


class AnthropicSource(Source):
    """Anthropic's Admin API: the usage and cost reports, and the names of workspaces and keys."""

    name = "anthropic"
    provider = "anthropic"
    title = "Anthropic Usage and Cost API (admin key)"
    label = "Anthropic Admin API"
    default_rate_limit = 60.0
    setting_names = (KEY_SETTING, URL_SETTING)
    key_setting = KEY_SETTING
    key_label = "Anthropic admin key"

    @classmethod
    def claims(cls, settings: Settings) -> bool:
        return bool(settings.value(KEY_SETTING))

    @classmethod
    def api(cls, settings: Settings) -> Api:
        return anthropic_api(settings.value(KEY_SETTING), settings.value(URL_SETTING))

    @classmethod
    def fingerprint(cls, settings: Settings) -> str:
        material = "\0".join(
            ["anthropic", settings.value(KEY_SETTING) or "", settings.value(URL_SETTING) or ""]
        )
        return cls.zoned(settings, hashlib.sha256(material.encode()).hexdigest()[:24])

    @classmethod
    def count_cold(cls, start: date, end: date, scale: Scale) -> int:
        return cold_requests(start, end, now=scale.now, zone=scale.zone)

    @staticmethod
    def _list(path: str, kind: str, params: tuple = ()) -> PlannedRequest:
        return PlannedRequest(
            path,
            (("limit", LIST_PAGE_SIZE), *params),
            final=False,
            kind=kind,
            paged="after_id",
            optional=True,
            validate=list_page,
        )

    def plan_requests(self, start: date, end: date) -> list[PlannedRequest]:
        requests = [
            self._list(WORKSPACES_PATH, "workspaces", (("include_archived", True),)),
            self._list(API_KEYS_PATH, "api_keys"),
        ]
        zone = self.settings.zone
        windows = day_windows(start, end, now=self.clock())
        if self.hourly:  # costs per UTC day: the UTC days the local range touches
            windows = day_windows(*utc_days(start, end, zone), now=self.clock())
        # The cost report lags the usage report (about a day) and has been seen refusing a window
        # with no complete day yet (400, langwatch/langwatch PR 7178): a refused cost window is a
        # notice, and the usage stands.
        for path, kind, group_by, shape, optional in (
            (USAGE_PATH, "usage", USAGE_GROUP_BY, usage_page, False),
            (COST_PATH, "costs", COST_GROUP_BY, cost_page, True),
        ):
            if kind == "usage" and self.hourly:
                after = self.final_after.total_seconds()
                for w0, w1, final in hourly_windows(
                    start, end, zone, now=self.clock(), final_after=after
                ):
                    params = (
                        ("starting_at", rfc3339(w0)),
                        ("ending_at", rfc3339(w1)),
                        ("bucket_width", "1h"),
                        ("limit", HOURS_PER_PAGE),
                        ("group_by[]", group_by),
                    )
                    requests.append(
                        PlannedRequest(
                            path, params, final=final, kind=kind, paged="page", validate=shape
                        )
                    )
                continue
            for t0, t1, last in windows:
                params = (
                    ("starting_at", rfc3339(t0)),
                    ("ending_at", rfc3339(t1)),
                    ("bucket_width", "1d"),
                    ("limit", BUCKETS_PER_PAGE),
                    ("group_by[]", group_by),
                )
                requests.append(
                    PlannedRequest(
                        path,
                        params,
                        final=self.is_final(last),
                        kind=kind,
                        paged="page",
                        optional=optional,
                        validate=shape,
                    )
                )
        return requests

    def build(
        self, start: date, end: date, bodies: dict[PlannedRequest, list[Any] | Refused]
    ) -> tuple[pd.DataFrame, list[str]]:
        frames, notices = [], []
        refused = {r: pages for r, pages in bodies.items() if isinstance(pages, Refused)}
        lists = sorted({r.kind.replace("_", " ") for r in refused if r.kind != "costs"})
        if lists:
            notices.append(
                f"Anthropic refused the {' and '.join(lists)} list to this key, so some ids are "
                "shown without names."
            )
        for request, refusal in refused.items():
            if request.kind == "costs":
                notices.append(
                    f"Anthropic's cost report for {days_of(request.params)} could not be read, "
                    f"so billed money for those days is not shown: {refusal.message}"
                )
        workspaces = api_keys = None
        foreign: set[str] = set()
        zone = self.settings.zone if self.hourly else None
        cost_days = utc_days(start, end, zone) if zone is not None else (start, end)
        for request, pages in bodies.items():
            if isinstance(pages, Refused):
                continue
            if request.kind == "workspaces":
                workspaces = workspaces_to_frame(pages)
            elif request.kind == "api_keys":
                api_keys = api_keys_to_frame(pages)
            elif request.kind == "usage":
                frames.append(usage_to_frame(pages, days=(start, end), zone=zone))
            elif request.kind == "costs":  # per UTC day: Source.assemble apportions them
                frames.append(costs_to_frame(pages, days=cost_days))
                foreign |= set(frames[-1].attrs.get("non_usd_currencies") or {})
        filled = [f for f in frames if len(f)]
        frame = conform(pd.concat(filled, ignore_index=True)) if filled else empty_frame()
        frame = join_names(frame, projects=workspaces, api_keys=api_keys)
        if foreign:
            notices.append(
                f"Some Anthropic billed rows are not in USD ({', '.join(sorted(foreign))}): they "
                "are listed in Raw data but left out of every dollar figure."
            )
        billed = frame["cost_basis"].eq("billed").fillna(False)
        if billed.any():
            notices.append(PRIORITY_NOTICE)
            if zone is not None:
                notices.append(apportioned_notice(zone.key))
        if not len(frame) and bodies:
            notices.append(
                f"Anthropic's usage and cost reports returned nothing for {start} to {end}: the "
                "organization had no API usage in that range."
            )
        return frame, notices

    def hourly_usage(
        self, start: date, end: date, bodies: dict[PlannedRequest, list[Any] | Refused]
    ) -> pd.DataFrame | None:
        """Outside UTC: the usage of every UTC hour of the UTC days the range touches, which
        apportions each day's billed lines to local dates (``allocate.apportion_billed``)."""
        if not self.hourly:
            return None
        days = utc_days(start, end, self.settings.zone)
        frames = [
            usage_to_frame(pages, days=days, hours=True)
            for request, pages in bodies.items()
            if request.kind == "usage" and not isinstance(pages, Refused)
        ]
        filled = [f for f in frames if len(f)]
        return conform(pd.concat(filled, ignore_index=True)) if filled else None


__all__ = [
    "AnthropicSource",
    "DEFAULT_WORKSPACE_ID",
    "DEFAULT_WORKSPACE_NAME",
    "PRIORITY_NOTICE",
    "anthropic_api",
    "api_keys_to_frame",
    "check_key",
    "cold_requests",
    "cost_page",
    "costs_to_frame",
    "error_for_status",
    "list_page",
    "usage_page",
    "usage_to_frame",
    "workspaces_to_frame",
]
