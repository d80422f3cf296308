"""Sources: one file each, one table at the end.

    base.py     Plan, Source and the plan -> fetch -> assemble machinery every source shares
    legacy.py   API key + org id: /v1/usage, one request per day (or per member and day)
    admin.py    admin key: the official Usage and Costs APIs and the name lists
    demo.py     a synthetic organization, no key, no network

A new source is one file holding its endpoints, its plan and the parsing of its payloads (a
``Source`` subclass with ``plan_requests`` and ``build``), plus one line in ``SOURCES``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

from spend import pricing
from spend.cache import ResponseCache
from spend.client import OpenAIClient
from spend.config import Settings
from spend.errors import CacheError
from spend.ratelimit import RateLimiter
from spend.sources import admin
from spend.sources.admin import AdminSource
from spend.sources.base import (
    FetchProgress,
    LoadResult,
    Plan,
    PlannedRequest,
    Progress,
    Refused,
    Source,
)
from spend.sources.demo import DemoSource
from spend.sources.legacy import LegacySource

#: Source name (``Settings.resolved_source``) -> its class: the factory's one line per source.
SOURCES: dict[str, type[Source]] = {
    "legacy": LegacySource,
    "admin": AdminSource,
    "demo": DemoSource,
}


def make_client(
    settings: Settings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    session: Any = None,
) -> OpenAIClient:
    """Settings into a client with the disk cache and the shared per-credential rate limiter.

    A read-only cache needs no limiter (nothing is fetched into it); an unwritable limiter store
    next to a writable cache is a CacheError naming it.
    """
    cache = ResponseCache(settings.cache_dir, clock=clock)
    limiter: RateLimiter | None
    try:
        limiter = RateLimiter(
            settings.cache_dir,
            settings.fingerprint,
            per_minute=settings.effective_rate_limit,
            clock=clock,
            sleep=sleep,
        )
    except CacheError:
        if not cache.read_only:
            cache.close()
            raise
        limiter = None
    return OpenAIClient(
        api_key=settings.api_key or "",
        org_id=settings.org_id,
        base_url=settings.base_url,
        fingerprint=settings.fingerprint,
        cache=cache,
        limiter=limiter,
        session=session,
        sleep=sleep,
        clock=clock,
    )


def make_source(
    settings: Settings,
    *,
    per_user: bool = False,
    client: OpenAIClient | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Source:
    """Settings into the source they select, e.g. no key -> demo, ``sk-admin-`` -> admin, else
    legacy (``per_user`` only matters to the legacy source)."""
    prices = pricing.load_price_overrides(settings.prices_file) if settings.prices_file else None
    cls = SOURCES[settings.resolved_source]
    kw: dict[str, Any] = {"clock": clock, "prices": prices}
    if cls is not DemoSource:
        kw["client"] = client or make_client(settings, sleep=sleep, clock=clock)
    if cls is LegacySource:
        kw["per_user"] = per_user
    return cls(settings, **kw)


def requests_for_range(
    start: date,
    end: date,
    *,
    source: str,
    users: int = 0,
    per_user: bool = False,
    projects: int = 0,
    now: float | None = None,
) -> int:
    """The request count a cold fetch of [start, end] needs, e.g. legacy 30 days org-wide -> 31
    (users list + 30 days); admin windows are aligned blocks (``admin.time_windows``; ``now``,
    the planner's clock, leaves out a block not begun yet)."""
    if source == "legacy":
        days = (end - start).days + 1
        return LegacySource.cold_requests(days, users=users, per_user=per_user)
    if source == "admin":
        return admin.cold_requests(start, end, projects=projects, now=now)
    return 0


__all__ = [
    "SOURCES",
    "AdminSource",
    "DemoSource",
    "FetchProgress",
    "LegacySource",
    "LoadResult",
    "Plan",
    "PlannedRequest",
    "Progress",
    "Refused",
    "Source",
    "make_client",
    "make_source",
    "requests_for_range",
]
