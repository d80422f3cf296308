"""Sources: one file each, one table at the end.

    base.py        Plan, Source and the plan -> fetch -> assemble machinery every source shares
    openai_api.py  OpenAI's HTTP conventions (auth headers, error messages), for legacy and admin
    legacy.py      API key + org id: /v1/usage, one request per day (or per member and day)
    admin.py       admin key: the official Usage and Costs APIs and the name lists
    demo.py        a synthetic organization, no key, no network

A new source is one file holding its endpoints, its plan and the parsing of its payloads (a
``Source`` subclass with ``plan_requests`` and ``build``, and the class attributes that say which
provider it reads and which settings configure it), plus one line in ``SOURCES``. Nothing here
names a source: every function below asks the classes in ``SOURCES``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from spend import pricing
from spend.cache import ResponseCache
from spend.client import HttpClient
from spend.config import ENV_NAMES, NAMED_SETTINGS, Settings
from spend.errors import CacheError, ConfigError
from spend.ratelimit import RateLimiter
from spend.sources.admin import AdminSource
from spend.sources.anthropic import AnthropicSource
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

#: Source name -> its class: the registry's one line per source. Under ``SPEND_SOURCE=auto`` every
#: source whose credential the settings hold runs (``selected``), in this order.
SOURCES: dict[str, type[Source]] = {
    "legacy": LegacySource,
    "admin": AdminSource,
    "demo": DemoSource,
    "anthropic": AnthropicSource,
}

#: ``SPEND_SOURCE`` / ``--source`` values besides a source's name: every configured source.
ALL_CONFIGURED = ("auto", "all")


def source_choices() -> tuple[str, ...]:
    """What ``--source`` accepts, e.g. ``("auto", "all", "legacy", "admin", "demo")``."""
    return (*ALL_CONFIGURED, *SOURCES)


def setting_names() -> tuple[str, ...]:
    """Every setting the app reads from the environment or secrets: the shared ones
    (``spend.config.ENV_NAMES``) and each source's own (``Source.setting_names``)."""
    names = [*ENV_NAMES, *NAMED_SETTINGS]
    for cls in SOURCES.values():
        names += [name for name in cls.setting_names if name not in names]
    return tuple(names)


def selected(settings: Settings) -> list[str]:
    """Settings into the names of the sources that run, e.g. an admin key -> ``["admin"]``, no key
    -> ``["demo"]`` (the fallback), ``SPEND_SOURCE=legacy`` -> ``["legacy"]``."""
    choice = settings.source
    if choice not in ALL_CONFIGURED:
        if choice not in SOURCES:
            raise ConfigError(
                f"SPEND_SOURCE must be one of {', '.join(source_choices())}, got {choice!r}"
            )
        return [choice]
    names = [name for name, cls in SOURCES.items() if cls.claims(settings)]
    return names or [name for name, cls in SOURCES.items() if cls.fallback]


def make_client(
    settings: Settings,
    name: str | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    session: Any = None,
) -> HttpClient:
    """Settings into the client of a source (default: the first selected) with the disk cache and
    the shared per-credential rate limiter.

    A read-only cache needs no limiter (nothing is fetched into it); an unwritable limiter store
    next to a writable cache is a CacheError naming it.
    """
    cls = SOURCES[name or selected(settings)[0]]
    api = cls.api(settings)
    if api is None:
        raise ConfigError(f"The {cls.name} source reads no API: it has no client.")
    fingerprint = cls.fingerprint(settings)
    cache = ResponseCache(settings.cache_dir, clock=clock)
    limiter: RateLimiter | None
    try:
        limiter = RateLimiter(
            settings.cache_dir,
            fingerprint,
            per_minute=cls.rate_limit(settings),
            clock=clock,
            sleep=sleep,
        )
    except CacheError:
        if not cache.read_only:
            cache.close()
            raise
        limiter = None
    return HttpClient(
        api=api,
        fingerprint=fingerprint,
        cache=cache,
        limiter=limiter,
        session=session,
        sleep=sleep,
        clock=clock,
    )


def make_source(
    settings: Settings,
    name: str | None = None,
    *,
    per_user: bool = False,
    client: HttpClient | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Source:
    """Settings into a source (default: the first selected), e.g. no key -> demo, ``sk-admin-``
    -> admin, else legacy; a source that reads an API gets its client (``per_user`` only matters
    to a source that can fetch user by user)."""
    cls = SOURCES[name or selected(settings)[0]]
    prices = pricing.load_price_overrides(settings.prices_file) if settings.prices_file else None
    if client is None and cls.api(settings) is not None:
        client = make_client(settings, cls.name, sleep=sleep, clock=clock)
    return cls(settings, client=client, clock=clock, prices=prices, per_user=per_user)


def utc_day_sources(settings: Settings) -> list[str]:
    """The sources whose dates stay UTC days in ``settings``' zone (``Source.day_zone``), e.g.
    ``["legacy"]`` in America/Los_Angeles: their rows' FOCUS periods are UTC days."""
    return [name for name, cls in SOURCES.items() if cls.day_zone(settings) == "UTC"]


def requests_for_range(
    start: date,
    end: date,
    *,
    source: str,
    users: int = 0,
    per_user: bool = False,
    projects: int = 0,
    now: float | None = None,
    zone: ZoneInfo | None = None,
) -> int:
    """The request count a cold fetch of [start, end] needs, e.g. legacy 30 days org-wide -> 31
    (users list + 30 days); admin windows are aligned blocks (``windows.time_windows``; ``now``,
    the planner's clock, leaves out a block not begun yet); ``zone``: days of that zone (hourly
    usage outside UTC)."""
    return SOURCES[source].cold_requests(
        start, end, users=users, per_user=per_user, projects=projects, now=now, zone=zone
    )


__all__ = [
    "ALL_CONFIGURED",
    "SOURCES",
    "FetchProgress",
    "LoadResult",
    "Plan",
    "PlannedRequest",
    "Progress",
    "Refused",
    "Source",
    "make_client",
    "make_source",
    "requests_for_range",
    "selected",
    "setting_names",
    "source_choices",
    "utc_day_sources",
]
