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
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import diskcache

from spend.errors import CacheError

#: A day's data stops changing this long after it ended (API-NOTES §2: recent buckets are revised).
FINAL_AFTER = timedelta(hours=48)
#: How long a response about a not-yet-final day is reused before it is fetched again.
NON_FINAL_TTL = 10 * 60


def normalize_params(params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> list[tuple[str, str]]:
    """Query params into a canonical sorted list, e.g. ``{"group_by[]": ["model", "batch"]}`` ->
    ``[("group_by", "batch"), ("group_by", "model")]``.

    Bracket and plain spellings of array params are the same param; ``None`` values are dropped;
    the order of repeated values does not matter.
    """
    if params is None:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    out: list[tuple[str, str]] = []
    for name, value in items:
        name = name[:-2] if name.endswith("[]") else name
        values = value if isinstance(value, (list, tuple, set)) else [value]
        out.extend((name, _scalar(v)) for v in values if v is not None)
    return sorted(out)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cache_key(endpoint: str, params: Any, fingerprint: str) -> str:
    """Endpoint + params + credential fingerprint into a hex key, e.g. ``cache_key("/usage", {"date": "2024-01-01"}, "ab12")``."""
    material = json.dumps(
        {"endpoint": "/" + endpoint.strip("/"), "params": normalize_params(params), "who": fingerprint},
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def is_final(last_day: date, now: datetime) -> bool:
    """A UTC day into whether its data is final at ``now``, e.g. ``is_final(date(2024,1,1), datetime(2024,1,4, tzinfo=utc)) -> True``."""
    day_end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now - day_end >= FINAL_AFTER


class ResponseCache:
    """JSON bodies on disk under secret-free keys, with the finality rule as expiry."""

    def __init__(self, directory: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.directory = Path(directory)
        self.clock = clock
        try:
            self._cache = diskcache.Cache(str(self.directory / "responses"))
        except Exception as exc:  # sqlite3/OSError: unwritable folder, corrupt file
            raise CacheError(f"Cannot open the cache folder {self.directory}: {exc}. Set SPEND_CACHE_DIR to a writable folder.") from exc

    def get(self, key: str) -> Any | None:
        """The stored body for ``key``, or None when absent or expired."""
        entry = self._cache.get(key)
        if entry is None:
            return None
        expires_at = entry.get("expires_at")
        if expires_at is not None and self.clock() >= expires_at:
            return None
        return entry["body"]

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def set(self, key: str, body: Any, *, final: bool, ttl: float = NON_FINAL_TTL) -> None:
        """Store ``body``; final bodies never expire, others after ``ttl`` seconds (by the injected clock)."""
        entry = {"body": body, "stored_at": self.clock(), "expires_at": None if final else self.clock() + ttl}
        try:
            self._cache.set(key, entry)
        except Exception as exc:
            raise CacheError(f"Cannot write to the cache folder {self.directory}: {exc}") from exc

    def delete(self, key: str) -> None:
        """Forget one entry (a refresh of a day that is not final yet)."""
        self._cache.delete(key)

    def clear(self) -> None:
        self._cache.clear()

    def close(self) -> None:
        self._cache.close()

    def __len__(self) -> int:
        return len(self._cache)
