"""Plan, fetch, assemble for every source a run holds: written once, used by every command.

A run holds one ``Part`` per selected source (``spend.sources.selected``: every source whose
credential the settings hold, or the one ``SPEND_SOURCE``/``--source`` names). Each part plans its
own requests, fetches them at its own rate limit (side by side, one thread per source, when there
are several) and assembles its own table; the run joins the tables into one usage table with a
``provider`` column. A part that fails keeps its error and leaves the others' figures standing; a
run of one source gives exactly that source's table.

The commands fetch in the foreground (``Run.fetch``). The app (``spend.ui.data``) opens the same
run with its own source factory (one source and client per credential, shared by every session),
fetches each part in a background job instead, and assembles each part into its shared table
(``Run.results`` with its cached assembler).

Every line a run shows goes through ``Run.redact``, which cuts every credential the run holds, and
the run closes every client it opened (``with Run(...) as run:``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from spend import errors
from spend.config import Settings
from spend.schema import conform, empty_frame
from spend.sources import (
    SOURCES,
    FetchProgress,
    LoadResult,
    Plan,
    Source,
    make_source,
    selected,
)


@dataclass
class Part:
    """One source's share of a run: its plan, what its fetch reached, its table or its error."""

    name: str
    source: Source | None = None
    plan: Plan | None = None
    progress: FetchProgress | None = None
    result: LoadResult | None = None
    error: errors.SpendError | None = None
    #: the cache folder was found deleted while this part fetched
    cache_lost: bool = False

    @property
    def title(self) -> str:
        return SOURCES[self.name].title if self.name in SOURCES else self.name

    @property
    def provider(self) -> str:
        return SOURCES[self.name].provider if self.name in SOURCES else self.name

    @property
    def read_only(self) -> bool:
        return self.source is not None and self.source.read_only


@dataclass
class Run:
    """Every selected source of ``settings``, planned, fetched and assembled together."""

    settings: Settings
    parts: list[Part] = field(default_factory=list)
    start: date | None = None
    end: date | None = None

    @classmethod
    def open(
        cls,
        settings: Settings,
        names: list[str] | None = None,
        *,
        per_user: bool = False,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        make: Callable[..., Source] | None = None,
    ) -> Run:
        """Settings into a run of the sources they select (or ``names``); a source whose settings
        cannot work (a key of the wrong kind, no org id) is a part with that error.

        ``make(settings, name, per_user=...)`` builds each source (default ``make_source`` with
        ``clock`` and ``sleep``), e.g. the app's factory that keeps one per credential."""
        run = cls(settings)
        for name in names or selected(settings):
            part = Part(name)
            try:
                if make is None:
                    part.source = make_source(
                        settings, name, per_user=per_user, clock=clock, sleep=sleep
                    )
                else:
                    part.source = make(settings, name, per_user=per_user)
            except errors.SpendError as exc:
                part.error = exc
            run.parts.append(part)
        return run

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every client the run opened (its cache, limiter and HTTP session)."""
        for part in self.parts:
            client = part.source.client if part.source is not None else None
            if client is not None:
                client.close()

    # -- what may be shown ------------------------------------------------------------------
    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential the run holds: cut from every line it shows."""
        values: list[str] = list(self.settings.secrets)
        for part in self.parts:
            client = part.source.client if part.source is not None else None
            if client is not None:
                values += client.api.secrets
        return tuple(v for v in values if v)

    def redact(self, text: str) -> str:
        """Text into what may be shown: every credential of the run and every secret-looking
        token cut."""
        return errors.redact(text, self.secrets)

    @property
    def several(self) -> bool:
        return len(self.parts) > 1

    def label(self, part: Part, text: str) -> str:
        """A part's line, named by its source when the run holds several, e.g. "OpenAI Usage and
        Costs APIs (admin key): 31 requests ..."."""
        return f"{part.title}: {text}" if self.several else text

    # -- plan, fetch, assemble -----------------------------------------------------------------
    def working(self) -> Iterator[Part]:
        """The parts with a source and no error yet."""
        return (p for p in self.parts if p.source is not None and p.error is None)

    def plan(self, start: date, end: date) -> list[Part]:
        """Plan every part for [start, end]; a part whose planning fails keeps the error. A range
        the run cannot take at all (empty, in the future) raises, as for one source."""
        self.start, self.end = start, end
        for part in list(self.working()):
            self.replan(part)
        return self.parts

    def replan(self, part: Part) -> None:
        """Plan one part again for the run's range, e.g. after its fetch moved on."""
        assert part.source is not None and self.start is not None and self.end is not None
        try:
            part.plan = part.source.plan(self.start, self.end)
        except errors.ConfigError:
            raise  # the range itself is wrong: the same for every source
        except errors.SpendError as exc:
            part.error = exc

    def fetch(
        self,
        *,
        progress: Callable[[Part, FetchProgress], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """Fetch what every planned part is missing, each at its own rate limit: side by side,
        one thread per source, when several have something to fetch. A part that fails keeps its
        error; the others go on."""
        due = [p for p in self.working() if p.plan is not None and p.plan.missing]
        if len(due) > 1 and stop is None:
            stop = threading.Event()  # Ctrl-C (in this thread) ends every source's fetch

        def one(part: Part) -> None:
            assert part.source is not None and part.plan is not None
            client = part.source.client
            lost_before = client.cache_lost if client is not None else 0

            def report(state: FetchProgress) -> None:
                part.progress = state
                if progress is not None:
                    progress(part, state)

            try:
                part.progress = part.source.fetch(part.plan, progress=report, stop=stop)
            except errors.SpendError as exc:
                part.error = exc
            if client is not None and client.cache_lost != lost_before:
                part.cache_lost = True

        if len(due) <= 1:
            for part in due:
                one(part)
            return
        threads = [
            threading.Thread(target=one, args=(p,), name=f"fetch-{p.name}", daemon=True)
            for p in due
        ]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.2)  # short joins: Ctrl-C reaches this thread at once
        except KeyboardInterrupt:
            assert stop is not None
            stop.set()  # every source ends before its next request; what arrived is kept
            for thread in threads:
                thread.join()
            raise

    def results(self, assemble: Callable[[Part], LoadResult] | None = None) -> list[LoadResult]:
        """What the cache holds for every planned part (no network), a table per part; a part
        whose assembly fails keeps the error. ``assemble(part)`` (default: the source's own
        ``assemble``) lets the app share each part's table between sessions."""
        results: list[LoadResult] = []
        for part in self.parts:
            if part.source is None or part.plan is None or part.error is not None:
                continue
            try:
                part.result = (
                    assemble(part) if assemble is not None else part.source.assemble(part.plan)
                )
            except errors.SpendError as exc:
                part.error = exc
                continue
            results.append(part.result)
        return results

    def assemble(self) -> LoadResult:
        """What the cache holds for every planned part into one usage table (no network), with
        the ``provider`` column; a run of one source gives that source's table as it is."""
        return combine(self.results(), self.parts, start=self.start, end=self.end)

    def load(self, start: date, end: date) -> LoadResult:
        """Plan, fetch what is missing, assemble."""
        self.plan(start, end)
        self.fetch()
        return self.assemble()

    @property
    def errors(self) -> list[Part]:
        """The parts that failed."""
        return [p for p in self.parts if p.error is not None]


def combine(
    results: list[LoadResult],
    parts: list[Part] | None = None,
    *,
    start: date | None = None,
    end: date | None = None,
) -> LoadResult:
    """Several sources' tables into one, e.g. an OpenAI and a second provider's table -> one table
    whose ``provider`` column tells them apart; one table -> itself.

    Notices are named by their source when there are several; the result is partial when any part
    is partial or failed, and counts every missing request.
    """
    failed = [p for p in parts or [] if p.error is not None]
    if len(results) == 1 and not failed:
        return results[0]
    several = len(parts or results) > 1
    notices: list[str] = []
    for result in results:
        title = SOURCES[result.source].title if result.source in SOURCES else result.source
        prefix = f"{title}: " if several else ""
        notices += [prefix + notice for notice in result.notices]
    frames = [r.frame for r in results if len(r.frame)]
    frame = conform(pd.concat(frames, ignore_index=True)) if frames else empty_frame()
    first = results[0] if results else None
    return LoadResult(
        frame=frame,
        source="+".join(r.source for r in results) or "+".join(p.name for p in parts or []),
        start=start or (first.start if first else date.min),
        end=end or (first.end if first else date.min),
        partial=bool(failed) or any(r.partial for r in results),
        missing_requests=sum(r.missing_requests for r in results),
        notices=notices,
    )


__all__ = ["Part", "Run", "combine"]
