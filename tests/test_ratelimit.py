"""The per-credential rate limiter: spacing, 429 pauses, and sharing across processes."""

import multiprocessing
import time
from itertools import pairwise

from spend.ratelimit import RateLimiter
from tests.clock import FakeClock


def test_rate_limiter__spaces_requests_evenly(tmp_path):
    clock = FakeClock()
    limiter = RateLimiter(tmp_path, "fp", per_minute=5, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(11):
        limiter.acquire()
        sent.append(clock())
    gaps = [b - a for a, b in pairwise(sent)]
    assert gaps == [12.0] * 10
    assert clock.sleeps == [12.0] * 10  # the first request did not wait


def test_rate_limiter__never_more_than_the_rate_in_any_minute(tmp_path):
    clock = FakeClock()
    limiter = RateLimiter(tmp_path, "fp", per_minute=5, clock=clock, sleep=clock.sleep)
    sent = []
    for i in range(23):
        if i % 7 == 0:
            clock.advance(3.3)  # callers arrive irregularly
        limiter.acquire()
        sent.append(clock())
    for t in sent:
        assert sum(1 for s in sent if t <= s < t + 60) <= 5


def test_rate_limiter__a_429_pause_holds_every_caller(tmp_path):
    clock = FakeClock()
    first = RateLimiter(tmp_path, "fp", per_minute=600, clock=clock, sleep=clock.sleep)
    second = RateLimiter(tmp_path, "fp", per_minute=600, clock=clock, sleep=clock.sleep)
    first.acquire()
    first.pause(30)
    assert second.status().paused and 29.9 < second.status().wait_seconds <= 30
    start = clock()
    second.acquire()
    assert clock() - start >= 30


def test_rate_limiter__credentials_do_not_share_slots(tmp_path):
    clock = FakeClock()
    a = RateLimiter(tmp_path, "fp-a", per_minute=1, clock=clock, sleep=clock.sleep)
    b = RateLimiter(tmp_path, "fp-b", per_minute=1, clock=clock, sleep=clock.sleep)
    assert a.acquire() == 0
    assert b.acquire() == 0
    assert a.reserve() == 60


def _worker(directory, count, queue):
    limiter = RateLimiter(directory, "shared", per_minute=1200)  # 50 ms apart, real clock
    slots = []
    for _ in range(count):
        wait = limiter.reserve()  # the slot is decided inside one SQLite transaction
        slots.append(limiter.last_slot)
        time.sleep(wait)
    queue.put(slots)


def test_rate_limiter__holds_across_two_processes(tmp_path):
    """Two processes sharing one credential are given slots at least 60/rate apart between them.

    The slots, not the wake-up times, are checked: a busy machine may wake a sleeper late, never
    early.
    """
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(str(tmp_path), 10, queue)) for _ in range(2)]
    for w in workers:
        w.start()
    slots = sorted(queue.get(timeout=60) + queue.get(timeout=60))
    for w in workers:
        w.join(timeout=30)
    assert len(slots) == 20
    interval = 60 / 1200
    gaps = [b - a for a, b in pairwise(slots)]
    assert min(gaps) >= interval - 1e-6
    for t in slots:  # so no 60 s / rate window ever holds more than one request per interval
        assert sum(1 for s in slots if t <= s < t + 10 * interval - 0.01) <= 10
