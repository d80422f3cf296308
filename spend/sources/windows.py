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


#: Hourly windows (a business time zone's days are built from UTC hours) are blocks of this many
#: hours counted from ``WINDOW_EPOCH`` (OpenAI's and Anthropic's most ``1h`` buckets a page).
HOURS_PER_PAGE = 168


def hour_blocks(t0: int, t1: int, size: int = HOURS_PER_PAGE) -> list[tuple[int, int]]:
    """UTC instants [t0, t1) (Unix seconds on whole hours) into the aligned blocks of ``size``
    hours that cover them, e.g. one local day in Los Angeles -> one block of 168 hours (two when
    the day straddles a block's edge)."""
    origin = epoch(WINDOW_EPOCH)
    span = size * 3600
    first = (t0 - origin) // span
    last = (t1 - 1 - origin) // span
    return [(origin + k * span, origin + (k + 1) * span) for k in range(first, last + 1)]


def hour_windows(
    t0: int, t1: int, *, now: float, size: int = HOURS_PER_PAGE, final_after: float = 2 * 86_400
) -> list[tuple[int, int, bool]]:
    """UTC instants [t0, t1) (a local range's bounds, ``localdays.range_bounds``) into the
    (start_time, end_time, final) of its hourly windows: aligned blocks of ``size`` hours, so a
    rolling range asks again for the same finished windows and finds them in the cache.

    Cut as ``time_windows`` cuts daily ones: at ``now`` (rounded down to
    ``END_TIME_GRANULARITY``; a block not begun is left out), and when the range is over and
    final (``final_after`` seconds after its end) at the end of the UTC day ``t1`` falls in, never
    inside it: the hours of a UTC day's other local date weigh its billed lines
    (``allocate.apportion_billed``), so without them the range's last date would take the whole
    day's bill. A window is final once ``final_after`` seconds have passed since its end, as a
    day's answer is 48 hours after the day.
    """
    clamp = int(now // END_TIME_GRANULARITY * END_TIME_GRANULARITY)
    day_end = -(-t1 // 86_400) * 86_400  # blocks begin at UTC midnights: inside t1's block
    over = now - day_end >= final_after
    windows = []
    for first, last in hour_blocks(t0, t1, size):
        if over and last > day_end:
            last = day_end
        end = min(last, clamp)
        if end <= first:
            continue
        windows.append((first, end, now - last >= final_after and end == last))
    return windows


__all__ = [
    "END_TIME_GRANULARITY",
    "HOURS_PER_PAGE",
    "WINDOW_EPOCH",
    "hour_blocks",
    "hour_windows",
    "time_windows",
    "window_blocks",
]
