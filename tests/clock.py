"""A fake clock whose ``sleep`` advances time instantly: tests never wait for real."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time


class FakeClock:
    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def noon(day: date) -> datetime:
    """The app's clock (``spend.dates.utc_now``, which AppTests set) at noon UTC of ``day``."""
    return datetime.combine(day, time(12), tzinfo=UTC)
