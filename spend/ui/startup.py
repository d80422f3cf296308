"""The server's start (``streamlit_app.py``'s lifespan): fewer malloc arenas, and the heavy
imports (pandas, Altair, prices, the app's modules) started in a background thread instead of in
the first visitor's first run.

**Warm-up.** ``streamlit run streamlit_app.py`` starts the server while nobody is looking; the first
browser connects a second later (it loads Streamlit's frontend first). That second is spent here,
so the first page draws sooner: 2.3 s instead of 2.9 s from ``streamlit run`` to a drawn Overview
on the small demo (``BENCHMARKS.md``). The frame calls ``wait()`` before its own heavy imports: a
module is never imported by two threads at once (pandas' circular imports could otherwise meet
half-initialized). Without the warm-up (``streamlit run frame.py``, ``AppTest``) ``wait()`` returns
at once.

**Arenas.** Every browser session runs its script in a thread of its own, and glibc gives threads
up to 8 malloc arenas per core, each keeping memory it freed: the server's RSS crept from 360 to
415 MB over 20 sessions of the large demo. Two arenas (``MALLOC_ARENA_MAX=2``, set here with
``mallopt`` since Community Cloud offers no way to set it before the process starts) keep it flat.
A ``MALLOC_ARENA_MAX`` in the environment wins: glibc applied it already.

**Refresher.** A shared deployment must not need someone on duty: with the app's own key, the
server fetches the default view's days (the last 30 days and the days its headline compares with,
every selected source) at once, then every ``SPEND_REFRESH_MINUTES``. By default it runs only with
sign-in configured (every 5 minutes): viewers there start no fetch, while without sign-in every
visitor's own view starts it; ``SPEND_REFRESH_MINUTES`` set says when either way (0: never). It
starts the very job a session opening the default view would (``spend.ui.data.job_key``), so viewers
see its progress, and fetches at the source's rate limit, which every process shares; the cache's
per-request lock keeps two processes from fetching the same answer. Its jobs are ``kept`` (they run
unwatched) and count against nobody's budget.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import logging
import os
import platform
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

_LOGGER = logging.getLogger(__name__)

#: Minutes between the refresher's runs with sign-in configured (``SPEND_REFRESH_MINUTES``): a
#: day's answers are reused 10 minutes before they are asked again (``cache.NON_FINAL_TTL``).
DEFAULT_REFRESH_MINUTES = 5.0

#: What the first run imports after drawing the navigation, heaviest first.
MODULES = ("pandas", "spend.ui.sidebar", "spend.charts", "spend.ui.steer", "spend.ui.tables")
#: Seconds the frame waits for the warm-up at most (then it imports for itself).
WAIT_SECONDS = 60.0


class Warmup:
    """The heavy imports, started once per process in a daemon thread; the frame waits for them
    before its own imports (so no module is imported by two threads at once)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.done = threading.Event()

    def _import_all(self, modules: tuple[str, ...]) -> None:
        t0 = time.perf_counter()
        try:
            for name in modules:
                importlib.import_module(name)
            settle()
        except Exception:  # the first run imports again and shows the real error
            _LOGGER.exception("warm-up import failed")
        finally:
            self.done.set()
            _LOGGER.debug("warm-up imports took %.2f s", time.perf_counter() - t0)

    def start(self, modules: tuple[str, ...] = MODULES) -> threading.Thread | None:
        """Start importing ``modules`` in a daemon thread, once (None when already started)."""
        if self.started.is_set():
            return None
        self.started.set()
        thread = threading.Thread(
            target=self._import_all, args=(modules,), name="spend-warmup", daemon=True
        )
        thread.start()
        return thread

    def wait(self, timeout: float = WAIT_SECONDS) -> bool:
        """Block until the warm-up (if one started) is over; whether nothing is left running."""
        if not self.started.is_set():
            return True
        return self.done.wait(timeout)


def settle() -> None:
    """Move everything imported so far out of the garbage collector's sight (``gc.freeze``).

    Streamlit collects all three generations after every script run (``runner.postScriptGC``),
    and a full collection walks every tracked object: with pandas, Altair and the app imported,
    ~190,000 of them, 80-180 ms holding the GIL after each page switch of every session, while
    the page's last messages and "finished" wait to be sent. Modules, classes and functions live
    as long as the process, so the warm-up freezes them once it has imported them (after one
    collection, so no garbage is frozen): a full collection then walks ~40,000 objects, 10-20 ms
    (BENCHMARKS.md, issue 19). What sessions create later is collected as before.

    A session already open (the first browser waits in the frame for the warm-up) has its objects
    frozen too, as do module copies Streamlit replaces when a source file changes: a bounded,
    one-off cost (the server's memory stays flat over 20 sessions: 299 MB).
    """
    gc.collect()
    gc.freeze()


#: This process's warm-up (a test puts a fresh one in its place).
WARMUP = Warmup()


def start(modules: tuple[str, ...] = MODULES) -> threading.Thread | None:
    """``WARMUP.start``: once per process."""
    return WARMUP.start(modules)


def wait(timeout: float = WAIT_SECONDS) -> bool:
    """``WARMUP.wait``: what the frame calls before its own imports."""
    return WARMUP.wait(timeout)


#: glibc's ``mallopt`` parameter for the arena limit (malloc.h), and the limit set.
M_ARENA_MAX = -8
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas for the threads to come, e.g. ``2 -> True``; False where it does
    not apply (not glibc, or ``MALLOC_ARENA_MAX`` already set by whoever started the server)."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        return bool(ctypes.CDLL(None).mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def default_days(today: date) -> tuple[date, date]:
    """The days the default view loads (``sidebar.render``): its range and the days its headline
    compares with, e.g. today Dec 5 -> (Oct 2, Dec 5) for the last 30 days."""
    from spend.dates import DEFAULT_PRESET, comparison, preset_range

    start, end = preset_range(DEFAULT_PRESET, today)
    first = comparison(DEFAULT_PRESET, start, end, today).first_day or start
    return min(start, first), end


class Refresher:
    """Fetches the default view's days with the app's own settings, once per ``refresh``.

    ``settings`` reads the deployment's settings (env and secrets) afresh each time, so a fixed
    secrets file needs no restart; ``sign_in`` whether an ``[auth]`` section exists; ``registry``
    and ``clock`` are the app's unless a test injects its own.
    """

    def __init__(
        self,
        settings: Callable[[], Any] | None = None,
        *,
        registry: Any = None,
        clock: Callable[[], float] = time.time,
        sign_in: Callable[[], bool] | None = None,
    ) -> None:
        # the app's registry and settings are looked up on first use, in the refresher's thread
        # after the warm-up: importing them here would race the warm-up's imports
        self._settings = settings
        self._registry = registry
        self._sign_in = sign_in
        self.clock = clock
        self._sources: dict[tuple[str, str], Any] = {}
        self.stop_event = threading.Event()

    def settings(self) -> Any:
        if self._settings is None:
            from spend.ui.settings import base_settings

            self._settings = base_settings
        return self._settings()

    @property
    def registry(self) -> Any:
        if self._registry is None:
            from spend.jobs import REGISTRY

            self._registry = REGISTRY
        return self._registry

    def minutes(self, settings: Any) -> float:
        """The refresh period in minutes for ``settings`` (0: never)."""
        if settings.refresh_minutes is not None:
            return settings.refresh_minutes
        if self._sign_in is None:
            from spend.ui.settings import read_secrets

            self._sign_in = lambda: "auth" in read_secrets()
        return DEFAULT_REFRESH_MINUTES if self._sign_in() else 0.0

    def period(self) -> float:
        """Seconds until the next refresh (at least a minute; 0: never again)."""
        try:
            minutes = self.minutes(self.settings())
        except Exception:  # a broken secrets file: try again later
            return 60.0
        return max(60.0, minutes * 60.0) if minutes > 0 else 0.0

    def refresh(self) -> list[Any]:
        """Start (or join) each selected API source's fetch of the default view's days; the jobs
        started or already running. A source that cannot work is logged and skipped."""
        from spend.errors import SpendError
        from spend.runner import Run
        from spend.sources import SOURCES, make_source, selected
        from spend.ui.data import job_key

        try:
            settings = self.settings()
            names = selected(settings) if self.minutes(settings) > 0 else []
            names = [name for name in names if SOURCES[name].api(settings) is not None]  # no demo
        except SpendError as exc:
            _LOGGER.warning("refresher: the app's settings cannot be used: %s", exc)
            return []
        if not names:
            return []

        def source(settings: Any, name: str, *, per_user: bool = False) -> Any:
            ident = (SOURCES[name].fingerprint(settings), name)
            self._sources[ident] = self._sources.get(ident) or make_source(settings, name)
            return self._sources[ident]

        first, end = default_days(datetime.fromtimestamp(self.clock(), tz=settings.zone).date())
        run = Run.open(settings, names, make=source)
        try:
            run.plan(first, end)
        except SpendError as exc:
            _LOGGER.warning("refresher: %s", exc)
            return []
        jobs = []
        for part in run.parts:
            if part.error is not None:
                _LOGGER.warning("refresher: %s: %s", part.name, part.error)
                continue
            assert part.source is not None and part.plan is not None
            if part.source.read_only or not part.plan.missing:
                continue
            key = job_key(settings, part.name, False, first, end)
            jobs.append(self.registry.start(key, part.source, part.plan, lane=key[0], kept=True))
        return [job for job in jobs if job is not None]

    def run(self) -> None:
        """Refresh now, then every ``period()``, until ``stop_event`` is set."""
        wait()  # the warm-up imported the app's modules: none is imported by two threads at once
        while not self.stop_event.is_set():
            try:
                self.refresh()
            except Exception:  # a bug must not end the refresher for good
                _LOGGER.exception("refresher: the refresh failed")
            period = self.period()
            if period <= 0:
                return
            self.stop_event.wait(period)


def start_refresher(refresher: Refresher | None = None) -> threading.Thread:
    """Run a refresher in a daemon thread; return the thread."""
    refresher = refresher or Refresher()
    thread = threading.Thread(target=refresher.run, name="spend-refresher", daemon=True)
    thread.start()
    return thread


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """``st.App``'s lifespan: the arena limit, the warm-up and the refresher start with the
    server; the refresher stops with it."""
    limit_malloc_arenas()
    start()
    refresher = Refresher()
    start_refresher(refresher)
    yield
    refresher.stop_event.set()
