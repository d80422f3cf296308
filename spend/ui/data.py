"""Loading the usage table for the sidebar's choices, without ever blocking the page.

Every selected source (``spend.sources.selected``) is loaded on its own and their tables are joined
into one (a ``provider`` column tells them apart); a source that fails keeps its error and leaves
the others' figures standing. A source without network (the demo) is built once and cached. For
an API source: the plan (what the range needs, what is stored) is computed on every run; missing
requests are fetched by a background job shared by every session (``spend.jobs.REGISTRY``), one
job per source, each at its own rate limit; the page shows what the cache holds so far, marked
partial.

The app's own key is shared with everyone who may look (issue 18). For anyone but a signed-in admin
(``auth.signed_in_admin``) a fetch on it is ``held``: it starts only while no other fetch runs on
that key, only while the key's daily request budget (``SPEND_SERVER_KEY_DAILY_REQUESTS``, counted
across processes) lasts, and it stops once no session watches it (``spend.jobs``).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from spend import errors
from spend.config import Settings
from spend.dates import local_today, utc_now
from spend.jobs import REGISTRY, FetchJob
from spend.ratelimit import RequestBudget
from spend.runner import Part, Run, combine
from spend.schema import as_categories
from spend.sources import SOURCES, LoadResult, Plan, Source, make_source
from spend.ui import auth
from spend.ui.settings import base_settings

#: A fetch whose ETA is below this starts by itself; a longer one waits for the user's click.
AUTO_START_SECONDS = 10 * 60
#: How long a run waits for a just-started fetch before drawing partial data (errors surface at
#: once).
INLINE_WAIT_SECONDS = 4.0


@dataclass
class Loaded:
    """What the frame hands to every page."""

    result: LoadResult | None
    source_name: str  # the source's name in SOURCES; several joined by "+"
    plan: Plan | None = None
    job: FetchJob | None = None
    job_key: tuple | None = None
    error: errors.SpendError | None = None
    awaiting_confirmation: bool = False
    api_source: Source | None = None  # the API source behind the plan (None for demo data)
    generation: int = 0  # of the stored answers the table was assembled from
    may_fetch: bool = True  # False: a viewer who reads what is stored and starts nothing
    settings: Settings | None = None  # what was loaded (budgets file, app URL, ...)
    token: tuple = ()  # names the shared table: equal tokens, the same table object
    read_only: bool = False  # the cache folder can only be read: what it holds, nothing fetched
    cache_lost: int = 0  # times the cache folder was found deleted while this server ran
    #: False: a fetch longer than the auto-start bound may not start here (the app's own key
    #: without SPEND_ALLOW_LONG_FETCH or a signed-in admin); set by the sidebar
    long_fetch: bool = True
    #: one Loaded per source when several are selected (each with its plan, job or error)
    parts: list[Loaded] = field(default_factory=list)
    #: a fetch on the app's own key for someone who is not a signed-in admin (see the module)
    held: bool = False
    #: why nothing starts for a held view: "busy" (another fetch runs on the app's key) or
    #: "budget" (the key's requests for today are spent); None when nothing holds it back
    blocked: str | None = None
    budget: RequestBudget | None = None

    @property
    def sources(self) -> list[Loaded]:
        """Each source's own Loaded: the parts, or this one alone."""
        return self.parts or [self]

    @property
    def title(self) -> str:
        """The source's title for the sidebar, e.g. "OpenAI Usage and Costs APIs (admin key)"."""
        name = self.source_name
        return SOURCES[name].title if name in SOURCES else name

    @property
    def failed(self) -> list[Loaded]:
        """The sources whose loading failed (their figures are missing)."""
        return [part for part in self.sources if part.error is not None]

    @property
    def short(self) -> bool:
        """Whether what is missing fits the auto-start bound: it starts by itself, and whoever
        may fetch may start it again after a Stop."""
        return self.plan is not None and self.plan.eta_seconds <= AUTO_START_SECONDS

    @property
    def may_start(self) -> bool:
        """Whether this session may start the missing fetch (a short one, or the say-so)."""
        return self.may_fetch and self.blocked is None and (self.short or self.long_fetch)


def start_fetch(loaded: Loaded) -> None:
    """The user asked for the fetch: start it in the background, held to the auto-start bound
    unless this session may start a long one."""
    if loaded.api_source is not None and loaded.plan is not None and loaded.job_key is not None:
        bound = None if loaded.long_fetch else AUTO_START_SECONDS
        _start(loaded, loaded.plan, bound)


def _start(loaded: Loaded, plan: Plan, bound: float | None) -> FetchJob | None:
    """Start ``loaded``'s fetch of ``plan``: a held one only alone on its key, within the budget,
    counted, and stopped once nobody watches it. None when it may not start now."""
    if loaded.api_source is None or loaded.job_key is None:
        return None
    if loaded.held and loaded.budget is not None and loaded.budget.remaining() <= 0:
        return None
    return REGISTRY.start(
        loaded.job_key,
        loaded.api_source,
        plan,
        expand_limit=bound,
        lane=loaded.job_key[0],
        exclusive=loaded.held,
        kept=not loaded.held,
        budget=loaded.budget,
    )


@st.cache_resource(max_entries=8, show_spinner=False)
def request_budget(fingerprint: str, cache_dir: str, per_day: int) -> RequestBudget | None:
    """The app's key's daily request budget, one store per process; None when the cache folder
    cannot hold it (then nothing can be fetched into it either)."""
    try:
        return RequestBudget(cache_dir, fingerprint, per_day=per_day)
    except errors.SpendError:
        return None


def deployment_key(cls: type[Source], settings: Settings) -> bool:
    """Whether ``settings`` fetch ``cls`` with the app's own credential (not one typed in)."""
    try:
        return cls.fingerprint(base_settings()) == cls.fingerprint(settings)
    except errors.SpendError:
        return True  # unreadable deployment settings: hold it, as the app's key


def held_back(loaded: Loaded) -> str | None:
    """Why a held view's fetch may not start now ("busy", "budget"), or None."""
    if not loaded.held or loaded.job_key is None:
        return None
    if REGISTRY.busy(loaded.job_key[0], but=loaded.job_key) is not None:
        return "busy"
    if loaded.budget is not None and loaded.budget.remaining() <= 0:
        return "budget"
    return None


def stop_fetch(loaded: Loaded) -> None:
    """Stop the background fetch of this view; every answer that arrived is kept."""
    job = REGISTRY.get(loaded.job_key) if loaded.job_key is not None else None
    if job is not None:
        job.stop()


def refresh(loaded: Loaded) -> None:
    """Forget the stored answers that are not final yet, so the next run fetches them again."""
    job = REGISTRY.get(loaded.job_key) if loaded.job_key is not None else None
    if loaded.api_source is None or loaded.plan is None or (job is not None and job.running):
        return
    loaded.api_source.forget_non_final(loaded.plan)
    REGISTRY.forget(loaded.job_key)


def compact(frame: pd.DataFrame) -> pd.DataFrame:
    """A usage table into the read-only form every session shares, e.g. 35 MB -> 8 MB for 85k rows:
    text columns as categories (a few hundred distinct names, not a string per row), and every
    numpy buffer marked read-only.

    pandas' copy-on-write already keeps any change a page makes to its own copy; the read-only
    flags make a stray in-place write (through ``.to_numpy()``) an error instead of a change every
    viewer would see.
    """
    return freeze(as_categories(frame))


def freeze(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame into itself with its number, flag and category buffers marked read-only (it is
    shared: see ``compact``), e.g. a write into ``frame["n_requests"].array._data`` then raises.
    pandas' copy-on-write covers every change made through pandas, dates included."""
    out = frame
    for name in out.columns:
        values = out[name].array
        for buffer in (
            getattr(values, "_data", None),  # nullable numbers and booleans
            getattr(values, "_mask", None),
            getattr(values, "codes", None),  # categories
        ):
            while isinstance(buffer, np.ndarray):  # the view, and the array it views
                buffer.flags.writeable = False
                buffer = buffer.base
    return out


def shared(result: LoadResult) -> LoadResult:
    """A freshly assembled result into the one every session of the process reads (compacted).

    Built once per dataset and generation; collecting garbage here (not on every run) drops the
    table it replaces.
    """
    gc.collect()
    return replace(result, frame=compact(result.frame))


def today_in(settings: Settings) -> date:
    """Today's date where the deployment counts its days (``SPEND_TIMEZONE``), by the app's one
    clock (``dates.utc_now``, which AppTests set)."""
    return local_today(settings.zone, utc_now())


#: The tables below are shared objects (``st.cache_resource``), not per-session copies: a large
#: organization's table exists once per server process, however many people look at it. They are
#: read-only (``compact``), so sharing a DataFrame this way is safe.
@st.cache_resource(ttl=3600, max_entries=4, show_spinner="Building the demo organization…")
def offline_result(token: tuple, _source: Source, _plan: Plan) -> LoadResult:
    """The table of a source that needs no network (the demo) for a plan, cached per
    ``offline_token`` (source, fingerprint, day, range, price file)."""
    return shared(_source.assemble(_plan, finish=as_categories))


@st.cache_resource(ttl=3600, max_entries=4, show_spinner=False)
def offline_source(
    name: str, fingerprint: str, today: date, prices_file: str | None, _settings: Settings
) -> Source:
    """A source that needs no network, built once per fingerprint (the demo's size), day and
    price file."""
    settings = _settings.with_(prices_file=Path(prices_file) if prices_file else None)
    return make_source(settings, name)


@st.cache_resource(max_entries=8)
def api_source(
    fingerprint: str, name: str, per_user: bool, rate: float, cache_dir: str, _settings: Settings
) -> Source:
    """One source (and HTTP client) per credential and mode; the key is hashed in ``fingerprint``
    only."""
    return make_source(_settings, name, per_user=per_user)


def app_source(settings: Settings, name: str, *, per_user: bool = False) -> Source:
    """The app's source factory for ``spend.runner.Run``: every session shares one source per
    credential and mode (its client, cache and limiter), and one offline source per day."""
    cls = SOURCES[name]
    fingerprint = cls.fingerprint(settings)
    if cls.api(settings) is None:
        prices = str(settings.prices_file) if settings.prices_file else None
        return offline_source(name, fingerprint, today_in(settings), prices, settings)
    rate = cls.rate_limit(settings)
    return api_source(fingerprint, name, per_user, rate, str(settings.cache_dir), settings)


@st.cache_resource(ttl=600, max_entries=4, show_spinner=False)
def assembled(token: tuple, _source: Source, _plan: Plan) -> LoadResult:
    """What the cache holds for a plan, priced; ``token`` (``Loaded.token``) names the source,
    range and generation, so it is recomputed whenever the disk cache changed."""
    return shared(_source.assemble(_plan))


@st.cache_resource(ttl=600, max_entries=4, show_spinner=False)
def joined(token: tuple, _results: tuple[LoadResult, ...], _failed: tuple[str, ...]) -> LoadResult:
    """Several sources' shared tables into one shared table (``token`` names the parts)."""
    result = combine(list(_results))
    return shared(replace(result, notices=[*result.notices, *_failed]))


def job_key(settings: Settings, name: str, per_user: bool, start: date, end: date) -> tuple:
    """Names a source's fetch of a range, shared by every session that asks for the same; the
    zone is part of it (the same dates are other hours in another zone)."""
    key = (SOURCES[name].fingerprint(settings), name, per_user, start.isoformat(), end.isoformat())
    return key if settings.timezone == "UTC" else (*key, settings.timezone)


def load(
    settings: Settings,
    start: date,
    end: date,
    *,
    per_user: bool = False,
    may_fetch: bool = True,
) -> Loaded:
    """The sidebar's choices into a Loaded view; expected failures are returned, never raised.

    The sources are the command line's (``spend.runner.Run``, with the app's shared sources):
    planned together, each fetched by its own background job (``follow``), each assembled into its
    shared table; with several, the tables are joined and each keeps its own plan, job or error in
    ``parts``.
    """
    try:
        run = Run.open(settings, per_user=per_user, make=app_source)
    except errors.SpendError as exc:
        return Loaded(result=None, source_name=settings.source, error=exc)
    names = [part.name for part in run.parts]
    try:
        run.plan(start, end)
    except errors.SpendError as exc:  # the range itself cannot be loaded
        return Loaded(result=None, source_name="+".join(names), error=exc)
    parts = [follow(run, part, per_user=per_user, may_fetch=may_fetch) for part in run.parts]
    views = {part.name: view for part, view in zip(run.parts, parts, strict=True)}

    def table(part: Part) -> LoadResult:  # each part's shared table, built once per token
        view = views[part.name]
        share = offline_result if view.api_source is None else assembled
        view.result = share(view.token, part.source, part.plan)
        return view.result

    run.results(table)
    for part in run.parts:  # an assembly that failed
        if part.error is not None and views[part.name].error is None:
            views[part.name].error = part.error
            views[part.name].result = None
    if len(parts) == 1:
        return parts[0]
    good = [part for part in parts if part.result is not None and part.error is None]
    name = "+".join(names)
    if not good:
        return Loaded(None, name, error=parts[0].error, parts=parts, settings=settings)
    failed = tuple(
        f"{part.title}: not shown: {errors.redact(str(part.error), settings.secrets)}"
        for part in parts
        if part.error is not None
    )
    token = ("joined", *(part.token for part in good), failed)
    result = joined(token, tuple(part.result for part in good), failed)
    return Loaded(
        result,
        name,
        settings=settings,
        token=token,
        generation=sum(part.generation for part in good),
        may_fetch=any(part.may_fetch for part in good),
        read_only=any(part.read_only for part in good),
        cache_lost=sum(part.cache_lost for part in good),
        parts=parts,
    )


def follow(run: Run, part: Part, *, per_user: bool = False, may_fetch: bool = True) -> Loaded:
    """One planned part of the app's run into its Loaded view (its table comes after): what is
    missing is fetched by a background job shared by every session. A missing part whose fetch
    takes up to AUTO_START_SECONDS starts by itself; a longer one waits for ``start_fetch`` (the
    Fetch button). Unless ``may_fetch`` (a viewer who is not an admin, on the app's key): then
    nothing starts, and the view shows what is stored. A failure is the part's error (and
    ``part.error``, so the run assembles nothing for it)."""
    settings, name, source = run.settings, part.name, part.source
    if part.error is not None or source is None or part.plan is None:
        return Loaded(result=None, source_name=name, error=part.error)
    try:
        cls = SOURCES[name]
        if cls.api(settings) is None:  # no network: built once for every session
            prices = str(settings.prices_file) if settings.prices_file else None
            token = (
                name,
                cls.fingerprint(settings),
                today_in(settings),
                run.start,
                run.end,
                prices,
            )
            return Loaded(result=None, source_name=name, settings=settings, token=token)
        read_only = source.read_only
        may_fetch = may_fetch and not read_only  # nothing can be stored: show what is there
        plan = part.plan
        assert run.start is not None and run.end is not None
        key = job_key(settings, name, per_user, run.start, run.end)
        held = deployment_key(cls, settings) and not auth.signed_in_admin()
        budget = (
            request_budget(
                cls.fingerprint(settings),
                str(settings.cache_dir),
                settings.server_key_daily_requests,
            )
            if held and not read_only
            else None
        )
        hold = Loaded(None, name, job_key=key, api_source=source, held=held, budget=budget)
        job = REGISTRY.get(key)
        if job is not None and not job.running and job.error is not None:
            REGISTRY.forget(key)  # show the error once; the next run may try again
            part.error = job.error
            return Loaded(None, name, plan, job, key, error=job.error, api_source=source)
        awaiting = False
        blocked = None
        if plan.missing and not (job and job.running):
            blocked = held_back(hold) if may_fetch else None
            if may_fetch and blocked is None:  # a wrong key or URL says so now, not after a
                source.verify(plan)  # long fetch is offered
            stopped_by_user = job is not None and job.stopped and job.halted is None
            started = None
            if (
                may_fetch
                and plan.eta_seconds <= AUTO_START_SECONDS
                and not stopped_by_user
                and blocked is None
            ):
                # Unconfirmed, a fetch may not grow past the auto-start bound once the users list
                # names the per-user requests: the next run shows that plan and asks.
                started = _start(hold, plan, AUTO_START_SECONDS)
            if started is not None:
                job = started
                job.wait(timeout=min(INLINE_WAIT_SECONDS, plan.eta_seconds + 1.0))
                if job.error is not None and not job.running:
                    REGISTRY.forget(key)
                    part.error = job.error
                    return Loaded(None, name, plan, job, key, error=job.error, api_source=source)
                run.replan(part)
                plan = part.plan
            else:
                awaiting = True
        generation = source.generation
        return Loaded(
            None,
            name,
            plan,
            job,
            key,
            awaiting_confirmation=awaiting,
            api_source=source,
            held=held,
            blocked=blocked,
            budget=budget,
            generation=generation,
            may_fetch=may_fetch,
            settings=settings,
            read_only=read_only,
            cache_lost=source.client.cache_lost if source.client is not None else 0,
            token=(*key, generation),
        )
    except errors.SpendError as exc:
        part.error = exc
        return Loaded(result=None, source_name=name, error=exc)
