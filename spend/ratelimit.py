"""A rate limiter shared by every thread, browser session and process using one credential.

State lives in a small diskcache (SQLite) store beside the response cache, under the credential's
fingerprint: each ``acquire()`` reserves the next free slot ``60 / rate`` seconds after the last one
inside one SQLite transaction, then sleeps until it. Spacing requests evenly (as tipani86's tool and
Elastic's metricbeat do for the legacy endpoint's ~5/min) makes the ETA exact and never bursts.
A 429 calls ``pause(seconds)``, which pushes every caller's next slot past ``Retry-After``.
A store that cannot be opened or written is a ``CacheError`` naming the folder, never a raw
``sqlite3`` traceback.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spend.cache import DB_NAME, file_identity, open_store
from spend.errors import CacheError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LimiterStatus:
    """What the UI shows: seconds until the next slot, and whether that wait is a 429 pause."""

    wait_seconds: float
    paused: bool


class RateLimiter:
    """Evenly spaced request slots per credential, held in SQLite so processes share them."""

    def __init__(
        self,
        directory: str | Path,
        fingerprint: str,
        *,
        per_minute: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be above 0")
        self.interval = 60.0 / per_minute
        self.per_minute = per_minute
        self.clock = clock
        self.sleep = sleep
        self._key = f"limiter:{fingerprint}"
        self.last_slot: float | None = None
        self.folder = Path(directory) / "ratelimit"
        self._lock = threading.Lock()
        self._store: Any = None
        with self._using():
            self._store = open_store(self.folder)
        self._identity = file_identity(self.folder / DB_NAME)

    @contextlib.contextmanager
    def _using(self) -> Iterator[None]:
        """Turn any failure of the store (sqlite3, OSError) into one CacheError naming it; open it
        afresh when its folder was deleted since."""
        try:
            if self._store is not None and file_identity(self.folder / DB_NAME) != self._identity:
                with self._lock:
                    with contextlib.suppress(Exception):
                        self._store.close()
                    self._store = open_store(self.folder)
                    self._identity = file_identity(self.folder / DB_NAME)
            yield
        except CacheError:
            raise
        except Exception as exc:  # sqlite3.OperationalError, PermissionError, diskcache.Timeout
            raise CacheError(
                f"The rate limiter's store {self.folder} cannot be used ({type(exc).__name__}: "
                f"{exc}). Set SPEND_CACHE_DIR to a folder this user may write."
            ) from exc

    def _state(self) -> dict:
        return self._store.get(self._key) or {"next_at": 0.0, "paused_until": 0.0}

    def reserve(self) -> float:
        """Take the next slot and return how long to wait for it (no sleeping)."""
        with self._using(), self._store.transact():
            now = self.clock()
            state = self._state()
            slot = max(now, state["next_at"], state["paused_until"])
            state["next_at"] = slot + self.interval
            self._store.set(self._key, state)
        self.last_slot = slot  # when this caller may send (clock time), for logs and tests
        return slot - now

    def acquire(self, cancel: threading.Event | None = None) -> float:
        """Block until this caller may send one request; return the seconds waited.

        With ``cancel``, the wait ends as soon as it is set (the caller then checks it and gives
        up).
        """
        wait = self.reserve()
        if wait > 0:
            logger.debug("rate limiter: waiting %.2f s", wait)
            if cancel is not None:
                cancel.wait(wait)
            else:
                self.sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        """Hold every caller of this credential for ``seconds`` from now (a 429's Retry-After)."""
        with self._using(), self._store.transact():
            now = self.clock()
            state = self._state()
            state["paused_until"] = max(state["paused_until"], now + seconds)
            self._store.set(self._key, state)
        logger.debug("rate limiter: paused %.1f s after a 429", seconds)

    def status(self) -> LimiterStatus:
        """Seconds until the next free slot, and whether a 429 pause causes it."""
        now = self.clock()
        with self._using():
            state = self._state()
        wait = max(0.0, state["next_at"] - now, state["paused_until"] - now)
        return LimiterStatus(wait_seconds=wait, paused=state["paused_until"] > now)

    def close(self) -> None:
        self._store.close()


class RequestBudget:
    """How many requests a credential may still send today (UTC), counted by every process.

    The count lives in the rate limiter's store (``<cache>/ratelimit``), under the credential's
    fingerprint and the day, and is changed inside one SQLite transaction, so every server process
    (and tab) draws on the same budget: ``SPEND_SERVER_KEY_DAILY_REQUESTS`` for the app's own key.
    A store that cannot be used is a ``CacheError``.
    """

    def __init__(
        self,
        directory: str | Path,
        fingerprint: str,
        *,
        per_day: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_day = per_day
        self.clock = clock
        self.folder = Path(directory) / "ratelimit"
        self._fingerprint = fingerprint
        try:
            self._store = open_store(self.folder)
        except CacheError:
            raise
        except Exception as exc:
            raise CacheError(
                f"The request budget's store {self.folder} cannot be used "
                f"({type(exc).__name__}). Set SPEND_CACHE_DIR to a folder this user may write."
            ) from exc

    def _key(self) -> str:
        day = datetime.fromtimestamp(self.clock(), tz=UTC).date().isoformat()
        return f"budget:{self._fingerprint}:{day}"

    def spent(self) -> int:
        """Requests counted today."""
        try:
            return int(self._store.get(self._key(), default=0))
        except Exception as exc:
            raise CacheError(f"The request budget cannot be read ({type(exc).__name__}).") from exc

    def remaining(self) -> int:
        """Requests left today (0 when spent)."""
        return max(0, self.per_day - self.spent())

    def charge(self, requests: int) -> int:
        """Count ``requests`` more sent today; return how many are left (0 when spent)."""
        try:
            with self._store.transact():
                key = self._key()
                spent = int(self._store.get(key, default=0)) + requests
                self._store.set(key, spent, expire=2 * 86400)
        except Exception as exc:
            raise CacheError(
                f"The request budget cannot be counted ({type(exc).__name__})."
            ) from exc
        return max(0, self.per_day - spent)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._store.close()
