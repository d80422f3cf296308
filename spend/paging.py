"""Pagination primitives for any API: cursor styles, the next page's params, and a walk through
a chain of pages that refuses loops, repeated buckets and chains longer than their range.

The client (``spend.client``) walks the network or the disk with them; a source names a cursor
style per request (``PlannedRequest.paged``) and, through its ``Api``, how buckets are named.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from spend import errors


@dataclass(frozen=True)
class Cursor:
    """How a paged answer names its next page: the query parameter to send and the body field
    that holds its value, e.g. ``Cursor("page", "next_page")``."""

    param: str
    token: str


#: The cursor styles the APIs here use (``PlannedRequest.paged`` names one of them): usage and
#: cost reports (``has_more`` + ``next_page`` into ``page``), and lists (``has_more`` + ``last_id``
#: into ``after``, or into ``after_id`` for APIs that spell it so).
CURSORS = {
    "page": Cursor("page", "next_page"),
    "after": Cursor("after", "last_id"),
    "after_id": Cursor("after_id", "last_id"),
}


#: A list (users, projects, keys: 100 a page) that has not ended after this many pages is looping;
#: usage and costs pages are bounded tighter, by the buckets their range holds (``page_budget``).
MAX_PAGES = 1_000


def next_page_params(
    path: str, params: Mapping[str, Any], body: Any, cursor: str
) -> dict[str, Any] | None:
    """A page and its request params into the params of the next page, or None after the last, e.g.
    ``{"has_more": true, "next_page": "p2"}`` with cursor ``"page"`` -> ``{..., "page": "p2"}``.

    ``cursor`` names one of ``CURSORS``: ``"page"``, report style (``next_page`` into ``page``);
    ``"after"``, list style (``last_id`` into ``after``). ``has_more`` without a cursor is a
    MalformedResponseError.
    """
    if not isinstance(body, dict) or not body.get("has_more"):
        return None
    style = CURSORS[cursor]
    token = body.get(style.token)
    if not token:
        raise errors.MalformedResponseError(
            f"{path} said has_more but gave no cursor", endpoint=path
        )
    return {**params, style.param: token}


def page_budget(buckets: int | None, cursor: str | None) -> tuple[int, int | None]:
    """How many buckets a paged answer may hold into (most pages, most buckets), e.g. a 31-day
    window of 1d buckets: ``31, "page" -> (32, 31)``; a list (``after`` cursor) -> (MAX_PAGES,
    None).

    Every page of a usage or cost report holds at least one of the range's buckets (the last may
    be empty), so more pages than buckets + 1, or more buckets than the range holds, is a loop.
    """
    if cursor == "page" and buckets is not None:
        return min(MAX_PAGES, buckets + 1), buckets
    return MAX_PAGES, None


def _bucket_name(value: Any) -> str:
    """A bucket's start into a day for messages, e.g. ``1714521600 -> "2024-05-01"``,
    ``"2024-05-01T00:00:00Z" -> "2024-05-01"``."""
    try:
        return datetime.fromtimestamp(int(value), tz=UTC).date().isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return str(value)[:10] if isinstance(value, str) else str(value)[:40]


def walk_pages(
    path: str,
    params: dict[str, Any],
    cursor: str | None,
    page: Callable[[dict[str, Any]], Any | None],
    *,
    name: str = "The server",
    what: str | None = None,
    bucket_field: str | None = None,
    most_buckets: int | None = None,
) -> list[Any] | None:
    """Follow a GET's cursor through ``page(params)`` (the network, or the disk) into its bodies;
    None as soon as ``page`` gives None.

    Raises PaginationError when a cursor comes back (a loop), a bucket (named by its
    ``bucket_field``) repeats (the same days twice would count twice), or the pages or buckets
    exceed ``page_budget(most_buckets, cursor)``.

    :param name: who answers, for messages (``Api.name``); ``what``: the request in a few words
    """
    most_pages, most_buckets = page_budget(most_buckets, cursor)
    style = CURSORS.get(cursor) if cursor else None
    cursors: set[str] = set()
    buckets: set[Any] = set()
    bodies: list[Any] = []
    said = f"{name}'s pages of {what or path}"
    while True:
        body = page(params)
        if body is None:
            return None
        bodies.append(body)
        if cursor == "page" and isinstance(body, dict) and isinstance(body.get("data"), list):
            for bucket in body["data"]:
                start = bucket.get(bucket_field) if isinstance(bucket, dict) else None
                if bucket_field and start in buckets:
                    raise errors.PaginationError(
                        f"{said} repeat the bucket of {_bucket_name(start)}: the same days "
                        "would count twice",
                        endpoint=path,
                    )
                buckets.add(start)
            if most_buckets is not None and len(buckets) > most_buckets:
                raise errors.PaginationError(
                    f"{said} hold {len(buckets)} buckets, more than the "
                    f"{most_buckets} its range can hold",
                    endpoint=path,
                )
        following = next_page_params(path, params, body, cursor) if style else None
        if following is None or style is None:
            return bodies
        token = following[style.param]
        if token in cursors:
            raise errors.PaginationError(
                f"{said} loop: the cursor {str(token)[:40]!r} came back",
                endpoint=path,
            )
        cursors.add(token)
        if len(bodies) >= most_pages:
            raise errors.PaginationError(
                f"{said} did not end after {most_pages} pages, more than its range can take",
                endpoint=path,
            )
        params = following
