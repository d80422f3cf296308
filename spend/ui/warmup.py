"""The server's warm-up: the heavy imports (pandas, Altair, prices, the app's modules) start
when the server does, in a background thread, instead of in the first visitor's first run.

``streamlit run streamlit_app.py`` starts the server while nobody is looking; the first browser
connects a second later (it loads Streamlit's frontend first). That second is spent here, so the
first page draws sooner: 2.3 s instead of 2.9 s from ``streamlit run`` to a drawn Overview on the
small demo (``BENCHMARKS.md``).

The frame calls ``wait()`` before its own heavy imports: a module is never imported by two threads
at once (pandas' circular imports could otherwise meet half-initialized). Without the warm-up
(``streamlit run frame.py``, ``AppTest``) ``wait()`` returns at once.
"""

from __future__ import annotations

import importlib
import logging
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


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """``st.App``'s lifespan: the warm-up starts with the server."""
    start()
    yield
