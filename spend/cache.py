"""The disk cache of API responses, and when a response is final.

Keys are ``sha256(endpoint, normalized params, credential fingerprint)``: never the key itself, so
neither the cache key nor anything on disk holds a secret (requests-cache ``cache_keys.py``).
A response about days that ended more than 48 h ago is final and kept forever; anything newer
expires after ``NON_FINAL_TTL`` seconds and is fetched again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import diskcache

from spend.errors import CacheError

#: A day's data stops changing this long after it ended (API-NOTES §2: recent buckets are revised).
FINAL_AFTER = timedelta(hours=48)
#: How long a response about a not-yet-final day is reused before it is fetched again.
NON_FINAL_TTL = 10 * 60


def query_items(
    params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None,
) -> list[tuple[str, str]]:
    """Query params into (name, text) pairs as sent, e.g. ``{"group_by[]": ["model", "batch"],
    "limit": 31}`` -> ``[("group_by[]", "model"), ("group_by[]", "batch"), ("limit", "31")]``.

    Arrays repeat their name (bracket spellings kept), booleans are ``true``/``false``, ``None``
    values are dropped.
    """
    if params is None:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    out: list[tuple[str, str]] = []
    for name, value in items:
        values = value if isinstance(value, (list, tuple, set)) else [value]
        out.extend((name, _scalar(v)) for v in values if v is not None)
    return out


def normalize_params(
    params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None,
) -> list[tuple[str, str]]:
    """Query params into a canonical sorted list, e.g. ``{"group_by[]": ["model", "batch"]}`` ->
    ``[("group_by", "batch"), ("group_by", "model")]``.

    Bracket and plain spellings of array params are the same param; ``None`` values are dropped;
    the order of repeated values does not matter.
    """
    return sorted((name.removesuffix("[]"), value) for name, value in query_items(params))


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cache_key(endpoint: str, params: Any, fingerprint: str) -> str:
    """Endpoint + params + credential fingerprint into a hex key, e.g. ``cache_key("/usage",
    {"date": "2024-01-01"}, "ab12")``."""
    material = json.dumps(
        {
            "endpoint": "/" + endpoint.strip("/"),
            "params": normalize_params(params),
            "who": fingerprint,
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def is_final(last_day: date, now: datetime) -> bool:
    """A UTC day into whether its data is final at ``now``, e.g. ``is_final(date(2024,1,1),
    datetime(2024,1,4, tzinfo=utc)) -> True``."""
    day_end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now - day_end >= FINAL_AFTER


#: A non-final answer is kept this long after it went stale, as a fallback for showing data
#: (a long fetch outlives NON_FINAL_TTL); planning still treats it as missing.
STALE_KEEP = 7 * 24 * 3600


class ResponseCache:
    """JSON bodies on disk under secret-free keys, with the finality rule as expiry.

    Each entry is two records: the body, and a small ``meta:`` record (when stored, when stale) so
    that checking what is stored never loads the bodies. Nothing is evicted for size: a final
    answer is never fetched twice.
    """

    def __init__(self, directory: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.directory = Path(directory)
        self.clock = clock
        try:
            self._cache = diskcache.Cache(str(self.directory / "responses"), eviction_policy="none")
        except Exception as exc:  # sqlite3/OSError: unwritable folder, corrupt file
            raise CacheError(
                f"Cannot open the cache folder {self.directory}: {exc}. Set SPEND_CACHE_DIR to a "
                "writable folder."
            ) from exc

    def _meta(self, key: str) -> dict | None:
        return self._cache.get("meta:" + key)

    def fresh(self, key: str) -> bool:
        """Whether ``key`` holds an answer that is final or not yet stale (no body is read)."""
        meta = self._meta(key)
        return meta is not None and (
            meta["expires_at"] is None or self.clock() < meta["expires_at"]
        )

    def get(self, key: str, *, stale_ok: bool = False) -> Any | None:
        """The stored body for ``key``: None when absent, or when stale unless ``stale_ok``."""
        if not stale_ok and not self.fresh(key):
            return None
        return self._cache.get(key)

    def __contains__(self, key: str) -> bool:
        return self.fresh(key)

    def set(self, key: str, body: Any, *, final: bool, ttl: float = NON_FINAL_TTL) -> None:
        """Store ``body``; final bodies never expire, others go stale after ``ttl`` seconds (by the
        injected clock)."""
        now = self.clock()
        meta = {"stored_at": now, "expires_at": None if final else now + ttl}
        keep = (
            None if final else ttl + STALE_KEEP
        )  # diskcache's own expiry (wall clock) drops old stale ones
        try:
            with self._cache.transact():
                self._cache.set(key, body, expire=keep)
                self._cache.set("meta:" + key, meta, expire=keep)
                self._cache.incr("generation", default=0)
        except Exception as exc:
            raise CacheError(f"Cannot write to the cache folder {self.directory}: {exc}") from exc

    def delete(self, key: str) -> None:
        """Forget one entry (a refresh of a day that is not final yet)."""
        with self._cache.transact():
            self._cache.delete(key)
            self._cache.delete("meta:" + key)
            self._cache.incr("generation", default=0)

    @property
    def generation(self) -> int:
        """A counter bumped by every write or delete: what was assembled before a change is stale
        after it."""
        return int(self._cache.get("generation", default=0))

    def clear(self) -> None:
        self._cache.clear()

    def close(self) -> None:
        self._cache.close()

    def __len__(self) -> int:
        """Stored answers (not counting their meta records or the generation counter)."""
        return sum(
            1
            for key in self._cache.iterkeys()
            if not str(key).startswith("meta:") and key != "generation"
        )
