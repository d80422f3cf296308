"""Aligned time windows: a range into the fixed blocks of days its report requests cover.

Sources whose reports take a window of days per request (OpenAI's Usage and Costs APIs,
Anthropic's usage and cost reports) ask for blocks counted from a fixed day, not from the range's
start, so a rolling range reuses yesterday's finished (final) windows from the cache.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from spend.dates import is_final
from spend.sources.base import epoch

#: Time windows are fixed blocks of a page's days counted from this day (UTC), not from a range's
#: start: a rolling range ("last 30 days") asks tomorrow for the same finished windows it asked
#: today, and finds them in the cache. A range may cost one window more for it (the team's
#: DESIGN.md).
WINDOW_EPOCH = date(2020, 1, 1)
#: end_time is clamped to now (a future value has made calls fail), rounded down to this many
#: seconds so the cache key of the current window is stable while its entry is fresh.
END_TIME_GRANULARITY = 600


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


__all__ = ["END_TIME_GRANULARITY", "WINDOW_EPOCH", "time_windows", "window_blocks"]
