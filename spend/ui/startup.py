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
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import platform
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

_LOGGER = logging.getLogger(__name__)

#: What the first run imports after drawing the navigation, heaviest first.
MODULES = ("pandas", "spend.ui.sidebar", "spend.charts", "spend.ui.steer", "spend.ui.tables")
#: Seconds the frame waits for the warm-up at most (then it imports for itself).
WAIT_SECONDS = 60.0

_started = threading.Event()
_done = threading.Event()


def _import_all(modules: tuple[str, ...]) -> None:
    t0 = time.perf_counter()
    try:
        for name in modules:
            importlib.import_module(name)
    except Exception:  # the first run imports again and shows the real error
        _LOGGER.exception("warm-up import failed")
    finally:
        _done.set()
        _LOGGER.debug("warm-up imports took %.2f s", time.perf_counter() - t0)


def start(modules: tuple[str, ...] = MODULES) -> threading.Thread | None:
    """Start importing ``modules`` in a daemon thread, once per process (None when already
    started)."""
    if _started.is_set():
        return None
    _started.set()
    thread = threading.Thread(target=_import_all, args=(modules,), name="spend-warmup", daemon=True)
    thread.start()
    return thread


def wait(timeout: float = WAIT_SECONDS) -> bool:
    """Block until the warm-up (if one started) is over; whether nothing is left running."""
    if not _started.is_set():
        return True
    return _done.wait(timeout)


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


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """``st.App``'s lifespan: the arena limit and the warm-up start with the server."""
    limit_malloc_arenas()
    start()
    yield
