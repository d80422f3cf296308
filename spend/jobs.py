"""Background fetches, shared by every browser session of one server process.

A Streamlit rerun (any click) would interrupt a fetch that ran inside the script, so fetches run
in a daemon thread owned by this module-level registry. Sessions asking for the same data
(same credential fingerprint, source, range, mode) get the same job; every answer is stored in the
disk cache as it arrives, so a stop, a crash or a server restart resumes from what was stored.

What a stranger may cost the app's own key is bounded here (issue 18). A job started by a viewer
on the app's key (``kept=False``; a signed-in admin's, a command's or the server's refresher's are
``kept``) stops once no session has looked at it (``get``) for ``UNWATCHED_SECONDS``, and once the
key's daily request budget (``spend.ratelimit.RequestBudget``) is spent. ``start(exclusive=True)``
starts nothing while another viewer's job of the same ``lane`` (the credential) runs: one at a time
for viewers (an admin's or the server's job runs beside it, at the same shared rate limit).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from spend.errors import SpendError
from spend.ratelimit import RequestBudget
from spend.sources import FetchProgress, Plan, Source

logger = logging.getLogger(__name__)

_SERIALS = itertools.count(1)

#: A viewer's job on the app's key stops after nobody looked at it this long: every open tab looks
#: every 2 s while it runs (the progress fragment), so this is a closed tab, not a slow one.
UNWATCHED_SECONDS = 120.0


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
    #: the credential it fetches with (one job at a time per lane when ``exclusive``)
    lane: Hashable | None = None
    #: started by an admin, a command or the server: runs whether or not anyone watches
    kept: bool = True
    #: clock time a session last looked at it (``JobRegistry.get``)
    last_seen: float = 0.0
    #: the app's key's daily request budget this job's requests are counted against
    budget: RequestBudget | None = None
    #: why the registry stopped it: "unwatched" or "budget" (None: it was not)
    halted: str | None = None

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
        """The job of ``key``; a session looks at it, so it counts as watched now."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None:
                job.last_seen = self.clock()
            return job

    def busy(self, lane: Hashable, *, but: Hashable = None) -> FetchJob | None:
        """A running job of ``lane`` that is not ``kept`` (a viewer's), other than ``but``'s, or
        None."""
        with self._lock:
            return next(
                (
                    job
                    for job in self._jobs.values()
                    if job.lane == lane and job.key != but and job.running and not job.kept
                ),
                None,
            )

    def start(
        self,
        key: Hashable,
        source: Source,
        plan: Plan,
        *,
        expand_limit: float | None = None,
        lane: Hashable = None,
        exclusive: bool = False,
        kept: bool = True,
        budget: RequestBudget | None = None,
    ) -> FetchJob | None:
        """Start fetching ``plan`` unless a live job already holds ``key``; return the job.

        ``exclusive``: None, and nothing started, while another viewer's (not ``kept``) job of
        ``lane`` runs. ``kept``
        False: the job stops once unwatched (``UNWATCHED_SECONDS``). ``budget``: its requests
        are counted there, and it stops once the budget is spent unless ``kept``.
        """
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.running:
                return job
            if exclusive and any(
                other.lane == lane and other.running and not other.kept
                for other in self._jobs.values()
            ):
                return None
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
                lane=lane,
                kept=kept,
                last_seen=self.clock(),
                budget=budget,
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
        counted = 0

        def on_progress(state: FetchProgress) -> None:
            nonlocal counted
            job.progress = FetchProgress(**{**state.__dict__})  # a copy: readers never see it torn
            if job.budget is not None and state.done > counted:
                try:
                    spent_out = job.budget.charge(state.done - counted) <= 0
                except SpendError as exc:  # the store went away: the fetch itself goes on
                    logger.warning("fetch %s: requests not counted: %s", job.serial, exc)
                    spent_out = False
                counted = state.done
                if spent_out and not job.kept:
                    self._halt(job, "budget")
            if not job.kept and self.clock() - job.last_seen > UNWATCHED_SECONDS:
                self._halt(job, "unwatched")

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

    def _halt(self, job: FetchJob, why: str) -> None:
        if not job.stopped:
            logger.info("fetch %s stopped: %s", job.serial, why)
            job.halted = why
            job.stop()

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
