"""Background fetches, shared by every browser session of one server process.

A Streamlit rerun (any click) would interrupt a fetch that ran inside the script, so fetches run
in a daemon thread owned by this module-level registry. Sessions asking for the same data
(same credential fingerprint, source, range, mode) get the same job; every answer is stored in the
disk cache as it arrives, so a stop, a crash or a server restart resumes from what was stored.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from spend.errors import SpendError
from spend.sources import FetchProgress, Plan, Source

logger = logging.getLogger(__name__)

_SERIALS = itertools.count(1)


@dataclass
class FetchJob:
    """One running or finished fetch; read ``progress`` from any thread."""

    key: Hashable
    plan: Plan
    progress: FetchProgress
    stop_event: threading.Event = field(default_factory=threading.Event)
    serial: int = field(default_factory=lambda: next(_SERIALS))  # unlike id(), never reused
    thread: threading.Thread | None = None
    error: SpendError | None = None
    #: started by itself, held to the auto-start bound (``expand_limit``): short, so anyone who may
    #: fetch may stop it; a longer fetch was asked for by someone who may start it
    bounded: bool = False

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def stopped(self) -> bool:
        return self.stop_event.is_set()

    def stop(self) -> None:
        """Ask the fetch to end after the request in flight (that one is still stored)."""
        self.stop_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (for tests and the CLI); True when it did."""
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.running


class JobRegistry:
    """At most one live job per key; finished jobs are kept so late readers see the outcome."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._jobs: dict[Hashable, FetchJob] = {}
        self._lock = threading.Lock()
        self.clock = clock

    def jobs(self) -> list[FetchJob]:
        """Every job the registry holds, running or finished."""
        with self._lock:
            return list(self._jobs.values())

    def get(self, key: Hashable) -> FetchJob | None:
        with self._lock:
            return self._jobs.get(key)

    def start(
        self, key: Hashable, source: Source, plan: Plan, *, expand_limit: float | None = None
    ) -> FetchJob:
        """Start fetching ``plan`` unless a live job already holds ``key``; return the job."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.running:
                return job
            job = FetchJob(
                key=key,
                plan=plan,
                progress=FetchProgress(
                    planned=plan.missing,
                    started_at=self.clock(),
                    now=self.clock(),
                    rate_per_min=plan.rate_per_min,
                ),
                bounded=expand_limit is not None,
            )
            self._jobs[key] = job
            job.thread = threading.Thread(
                target=self._run,
                args=(job, source, expand_limit),
                name=f"spend-fetch-{len(self._jobs)}",
                daemon=True,
            )
            job.thread.start()
            return job

    def _run(self, job: FetchJob, source: Source, expand_limit: float | None = None) -> None:
        def on_progress(state: FetchProgress) -> None:
            job.progress = FetchProgress(**{**state.__dict__})  # a copy: readers never see it torn

        try:
            source.fetch(
                job.plan, progress=on_progress, stop=job.stop_event, expand_limit=expand_limit
            )
        except SpendError as exc:
            logger.info("fetch %s ended: %s", job.serial, exc)
            job.error = exc
            job.progress.error = str(exc)
        except (
            Exception
        ) as exc:  # a bug must not leave a dead job that looks like it is still fetching
            logger.exception("fetch %s failed on a bug", job.serial)
            job.error = SpendError(
                f"The fetch stopped on an unexpected {type(exc).__name__}; what was fetched is "
                "kept. Try again, and report it if it repeats."
            )
            job.progress.error = str(job.error)

    def forget(self, key: Hashable) -> None:
        """Drop a finished job so the next request for ``key`` starts afresh."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and not job.running:
                del self._jobs[key]

    def clear(self) -> None:
        """Stop every job and forget them all (tests; a server that switches credentials)."""
        with self._lock:
            jobs = list(self._jobs.values())
            self._jobs.clear()
        for job in jobs:
            job.stop()
        for job in jobs:
            job.wait(timeout=5)


#: The process-wide registry the app uses (one per Streamlit server process).
REGISTRY = JobRegistry()
