"""What each endpoint's answer must look like before it is stored: one validator per shape.

A validator takes a decoded body and returns nothing, or raises ``MalformedResponseError`` saying
what is wrong and where (``data[3].n_context_tokens_total is 1e+30``). The client runs it on every
answer before storing it, as one more way an attempt can fail (so it is retried within the usual
bounds, like an HTML page or a cut-off body), and on every stored answer it reads that an older
version stored unchecked. So an error body, ``null``, a bare string, a wrong shape or an absurd
count never becomes a final answer.

    legacy_usage(body)   /v1/usage?date=             {"object": "list", "data": [...], ...}
    legacy_users(body)   /v1/organizations/{org}/users    {"members": {"data": [...]}}
    usage_page(body)     /v1/organization/usage/*    {"object": "page", "data": [bucket, ...]}
    costs_page(body)     /v1/organization/costs      the same, with ``amount`` results
    list_page(body)      users, projects, api keys   {"object": "list", "data": [...]}

The checks are about shape and sanity only: unknown keys, unknown arrays and unknown result fields
pass (API-NOTES: every field may come and go); what the parsers read must be readable.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from spend.errors import MalformedResponseError, redact
from spend.normalize import to_count, utc_day

#: Legacy row fields that hold counts (tokens, requests, images, seconds, characters).
LEGACY_COUNTS = (
    "n_requests",
    "num_requests",
    "n_context_tokens_total",
    "n_generated_tokens_total",
    "n_cached_context_tokens_total",
    "n_context",
    "n_generated",
    "num_images",
    "num_seconds",
    "num_characters",
    "n_trained_tokens",
    "trained_tokens",
)
#: Legacy arrays whose rows the parser reads field by field: each row must be an object.
LEGACY_ROW_ARRAYS = ("data", "dalle_api_data", "whisper_api_data", "tts_api_data")
#: Admin usage result fields that hold counts, besides every ``*_tokens`` field.
ADMIN_COUNTS = (
    "num_model_requests",
    "num_requests",
    "images",
    "characters",
    "seconds",
    "usage_bytes",
    "num_sessions",
)
#: The largest amount of money one cost result may hold, in its currency.
MAX_AMOUNT = Decimal(10**12)


def _kind(value: Any) -> str:
    """A decoded JSON value into what it is, for messages, e.g. ``None -> "null"``, ``"x" -> "a
    string"``."""
    if value is None:
        return "null"
    names = {str: "a string", list: "a list", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), "an object" if isinstance(value, dict) else type(value).__name__)


def _object(body: Any, expected: str | None, what: str) -> dict:
    """A body into itself when it is a JSON object of the ``expected`` type; else the reason.

    An error envelope (``{"error": {...}}``) is named as such, with OpenAI's message.
    """
    if not isinstance(body, dict):
        raise MalformedResponseError(f"{_kind(body)} instead of {what}")
    error = body.get("error")
    if error is not None and "data" not in body:
        message = error.get("message") if isinstance(error, dict) else error
        said = f': "{redact(str(message))[:200]}"' if message else ""
        raise MalformedResponseError(f"an error instead of {what}{said}")
    found = body.get("object")
    if expected is not None and found is not None and found != expected:
        raise MalformedResponseError(f"an object of type {found!r:.60} instead of {what}")
    return body


def _list(body: dict, name: str, where: str, *, required: bool = True) -> list:
    value = body.get(name)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        missing = "no" if value is None else _kind(value) + " as"
        raise MalformedResponseError(f"{missing} {where}{name!r}, which must be a list")
    return value


def check_amount(value: Any, where: str) -> None:
    """A JSON money amount into nothing when it is one (a finite number or numeric string within
    ±10^12), e.g. ``"12.50"``, ``0.06``; else MalformedResponseError."""
    if value is None:
        return
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise TypeError
        amount = Decimal(value.strip() if isinstance(value, str) else str(value))
    except (TypeError, ValueError, InvalidOperation) as exc:
        raise MalformedResponseError(f"{where} is {value!r:.40}, not an amount") from exc
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        raise MalformedResponseError(f"{where} is {value!r:.40}, not a sane amount of money")


def _all_null(row: dict, names: Iterable[str], where: str) -> None:
    """Raise when a row carries count fields and every one of them is null: an answer gone wrong
    (its figures would be stored as zeros, and kept), never a day without usage (OpenAI sends 0)."""
    present = [name for name in names if name in row]
    if present and all(row[name] is None for name in present):
        raise MalformedResponseError(f"{where} has every count null ({', '.join(present[:4])})")


def _rows(rows: Iterable[Any], where: str, counts: Iterable[str], *, objects: bool) -> None:
    counts = tuple(counts)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            if objects:
                raise MalformedResponseError(f"{where}[{i}] is {_kind(row)}, not an object")
            continue
        for name in counts:
            to_count(row.get(name), "raise", what=f"{where}[{i}].{name}")
        if objects:
            _all_null(row, counts, f"{where}[{i}]")


def legacy_usage(body: Any) -> None:
    """A ``/v1/usage`` body into nothing when its shape is usable, e.g. ``{"object": "list",
    "data": [], "ft_data": []}``; else MalformedResponseError.

    ``data`` must be a list; every other ``*_data`` a list or null; rows of the arrays the parser
    reads must be objects; every count field readable and within bounds.
    """
    page = _object(body, "list", "a day of usage")
    _list(page, "data", "")
    for name, value in page.items():
        if name != "data" and not name.endswith("_data"):
            continue
        if value is None:
            continue
        if not isinstance(value, list):
            raise MalformedResponseError(f"{_kind(value)} as {name!r}, which must be a list")
        _rows(value, name, LEGACY_COUNTS, objects=name in LEGACY_ROW_ARRAYS)


def legacy_users(body: Any) -> None:
    """An ``/organizations/{org}/users`` body into nothing when it lists members, e.g.
    ``{"members": {"data": [...]}}`` or an older top-level ``data`` list; else
    MalformedResponseError."""
    page = _object(body, "list", "the organization's members")
    members = page.get("members")
    if isinstance(members, dict):
        items = _list(members, "data", "members.")
    elif isinstance(members, list):
        items = members
    elif members is None:
        items = _list(page, "data", "", required=True)
    else:
        raise MalformedResponseError(f"{_kind(members)} as 'members'")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise MalformedResponseError(f"member {i} is {_kind(item)}, not an object")


def _page_items(body: Any, kind: str, what: str, cursor: str, item: str) -> Iterable[dict]:
    """A page of ``kind`` (``"page"`` or ``"list"``) into its ``data`` items, checking that
    ``has_more`` is a boolean with a ``cursor`` to follow and every item an object."""
    page = _object(body, kind, what)
    more = page.get("has_more")
    if more is not None and not isinstance(more, bool):
        raise MalformedResponseError(f"has_more is {more!r:.40}, not true or false")
    if more and not isinstance(page.get(cursor), str):
        raise MalformedResponseError(f"has_more is true but {cursor} is not a cursor")
    for i, entry in enumerate(_list(page, "data", "")):
        if not isinstance(entry, dict):
            raise MalformedResponseError(f"data[{i}] is {_kind(entry)}, not {item}")
        yield entry


def _buckets(body: Any, what: str) -> Iterable[tuple[str, list]]:
    """A usage or costs page into (bucket label, results) per bucket, checking the page's
    shape."""
    for i, bucket in enumerate(_page_items(body, "page", what, "next_page", "a bucket")):
        if bucket.get("object") not in (None, "bucket"):
            raise MalformedResponseError(f"data[{i}] is a {bucket.get('object')!r:.40}")
        day = utc_day(bucket.get("start_time"))
        if day is None or isinstance(bucket.get("start_time"), str):
            raise MalformedResponseError(
                f"data[{i}].start_time is {bucket.get('start_time')!r:.40}, not a time"
            )
        results = bucket.get("results")
        if not isinstance(results, list):
            raise MalformedResponseError(
                f"the bucket of {day:%Y-%m-%d} has {_kind(results)} as results, not a list"
            )
        yield f"the bucket of {day:%Y-%m-%d}", results


def usage_page(body: Any) -> None:
    """An ``/organization/usage/*`` page into nothing when usable, e.g. ``{"object": "page",
    "data": [{"object": "bucket", "start_time": ..., "results": [...]}], "has_more": false}``;
    else MalformedResponseError naming the bucket's day and the field."""
    for label, results in _buckets(body, "a page of usage"):
        for i, result in enumerate(results):
            if not isinstance(result, dict):
                raise MalformedResponseError(f"{label}: results[{i}] is {_kind(result)}")
            counts = [name for name in result if name in ADMIN_COUNTS or name.endswith("_tokens")]
            for name in counts:
                to_count(result[name], "raise", what=f"{label}: results[{i}].{name}")
            _all_null(result, counts, f"{label}: results[{i}]")


def costs_page(body: Any) -> None:
    """An ``/organization/costs`` page into nothing when usable (``amount.value`` a number or
    numeric string, as OpenAI sends it); else MalformedResponseError naming the bucket's day."""
    for label, results in _buckets(body, "a page of costs"):
        for i, result in enumerate(results):
            if not isinstance(result, dict):
                raise MalformedResponseError(f"{label}: results[{i}] is {_kind(result)}")
            amount = result.get("amount")
            if not isinstance(amount, dict) or amount.get("value") is None:
                # money is never silently zero: a result without an amount is no cost
                what = "amount" if not isinstance(amount, dict) else "amount.value"
                shown = _kind(amount if what == "amount" else None)
                raise MalformedResponseError(f"{label}: results[{i}].{what} is {shown}")
            check_amount(amount["value"], f"{label}: results[{i}].amount.value")


def list_page(body: Any) -> None:
    """A list endpoint's page (users, projects, a project's keys) into nothing when usable, e.g.
    ``{"object": "list", "data": [...], "has_more": false}``; else MalformedResponseError."""
    for _ in _page_items(body, "list", "a list", "last_id", "an object"):
        pass


__all__ = [
    "ADMIN_COUNTS",
    "LEGACY_COUNTS",
    "MAX_AMOUNT",
    "check_amount",
    "costs_page",
    "legacy_usage",
    "legacy_users",
    "list_page",
    "usage_page",
]
