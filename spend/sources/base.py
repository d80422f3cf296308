"""What every source shares: a plan of requests, the fetch that stores their answers, the assembly.

Every source works in three steps so a fetch can run in the background and a page can show what
has arrived so far:

1. ``plan(start, end)``: the requests the range needs, each marked stored or not (no network);
2. ``fetch(plan, progress=, stop=)``: sends only the missing requests through the client, which
   stores each answer the moment it arrives, so an interrupted fetch resumes where it stopped;
3. ``assemble(plan)``: reads what is stored (never the network) into the priced usage table,
   marked partial when some answers are still missing.

``load()`` does all three. A source subclass says which requests a range needs
(``plan_requests``, ``dependent_requests``) and how their answers become usage rows (``build``).

It also declares, as class attributes and class methods, everything the rest of the app must know
about it, so that adding a source is its file plus one line in ``spend.sources.SOURCES``:
``provider`` (the ``provider`` column of its rows), ``claims`` (whether the settings configure it),
``api`` (its HTTP conventions for the provider-neutral client, or None for no network),
``rate_limit`` and ``fingerprint`` (its limiter and cache entries), ``final_after`` (when a day is
final) and ``cold_requests`` (what a cold fetch of a range costs).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pandas as pd

from spend import errors, pricing
from spend.allocate import allocate_billed, apportion_billed
from spend.budgets import Budget
from spend.cache import NON_FINAL_TTL
from spend.client import Api, HttpClient
from spend.config import Settings
from spend.dates import FINAL_AFTER, is_final, local_today
from spend.localdays import is_utc
from spend.schema import with_provider

Progress = Callable[["FetchProgress"], None]


@dataclass(frozen=True)
class PlannedRequest:
    """One GET the range needs. ``paged`` requests may continue over further cached pages.

    ``optional``: a list that only names things (users, projects, keys) or a provider's own
    settings (spend controls); if the API refuses it with one of ``refusals`` (statuses that mean
    "not available to this key" or "none set"), the fetch goes on and the pages say so. Any other
    failure (a timeout, a 429, a 5xx) is the error it is.
    ``validate``: the answer's expected shape (one of ``spend.shapes``), checked before it is
    stored; not part of the request's identity.
    """

    path: str
    params: tuple[tuple[str, Any], ...]
    final: bool
    kind: str  # users, usage, costs, projects, api_keys, ...
    label: str = ""
    paged: str | None = None  # None or a style of spend.client.CURSORS: "page", "after", ...
    optional: bool = False
    validate: Callable[[Any], None] | None = field(default=None, compare=False, repr=False)
    refusals: frozenset[int] = field(default=frozenset({400, 403, 404, 422}), compare=False)

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass(frozen=True)
class Refused:
    """What stands for the answer to an optional request that the API refused (403/404/400)."""

    message: str
    at: float  # by the source's clock: asked again once NON_FINAL_TTL has passed
    status: int | None = None


@dataclass
class Plan:
    """The requests a range needs, and what is already stored."""

    source: str
    start: date
    end: date
    requests: list[PlannedRequest]
    cached: list[bool]
    rate_per_min: float | None = None
    #: seconds before the first request may go (the limiter's next slot), and whether a 429 pause
    #: left by an earlier run is the reason
    wait_seconds: float = 0.0
    paused: bool = False
    #: what still decides the count when an answer names further requests (the users list of a
    #: per-user fetch), e.g. "the users list decides the rest: ..."; None when the count is known
    undecided: str | None = None
    #: what counting days in the team's zone costs or means for this source, e.g. "America/
    #: Los_Angeles days from hourly usage: 63 requests where UTC days take 23"; None in UTC
    zone_note: str | None = None
    #: the requests that answers stored so far name (None: the source's ``dependent_requests``)
    dependents: Callable[[], list[PlannedRequest]] | None = field(default=None, repr=False)

    @property
    def span(self) -> tuple[date, date]:
        return self.start, self.end

    @property
    def total(self) -> int:
        return len(self.requests)

    @property
    def missing(self) -> int:
        return sum(1 for c in self.cached if not c)

    @property
    def eta_seconds(self) -> float:
        """Seconds the missing requests take at the rate limit (the limiter spaces them evenly),
        after any wait the limiter already holds (a 429 pause left by an earlier run)."""
        if not self.rate_per_min or not self.missing:
            return 0.0
        return self.wait_seconds + self.missing * 60.0 / self.rate_per_min


@dataclass
class FetchProgress:
    """Where a fetch stands: requests done of planned, the ETA, and any rate-limit wait."""

    planned: int
    done: int = 0
    started_at: float = 0.0
    now: float = 0.0
    rate_per_min: float | None = None
    rate_limited_until: float = 0.0  # held by a 429's Retry-After until then (by the clock)
    finished: bool = False
    error: str | None = None
    #: the cache folder was deleted while this fetch ran: the answers stored before are gone
    cache_lost: bool = False

    @property
    def remaining(self) -> int:
        return max(0, self.planned - self.done)

    @property
    def waiting_seconds(self) -> float:
        """Seconds still held by a 429's Retry-After at ``now``."""
        return max(0.0, self.rate_limited_until - self.now)

    @property
    def eta_seconds(self) -> float:
        """Seconds left: the rate-limit bound for what remains, or the observed pace if slower."""
        bound = self.remaining * 60.0 / self.rate_per_min if self.rate_per_min else 0.0
        elapsed = self.now - self.started_at
        observed = elapsed / self.done * self.remaining if self.done and elapsed > 0 else 0.0
        return max(bound, observed) + self.waiting_seconds

    @property
    def fraction(self) -> float:
        return 1.0 if self.planned == 0 else min(1.0, self.done / self.planned)


class Scale(NamedTuple):
    """What a cold fetch's request count depends on besides the range."""

    users: int = 0
    per_user: bool = False
    projects: int = 0
    now: float | None = None  # the planner's clock (Unix seconds)
    zone: ZoneInfo | None = None  # the zone days are counted in (None: UTC)


@dataclass
class LoadResult:
    """The priced usage table for a range, with what the UI must say about it."""

    frame: pd.DataFrame
    source: str
    start: date
    end: date
    partial: bool = False
    missing_requests: int = 0
    notices: list[str] = field(default_factory=list)


def day_range(start: date, end: date) -> list[date]:
    """Inclusive dates into a list, e.g. ``(Jan 1, Jan 3) -> [Jan 1, Jan 2, Jan 3]``; empty when
    end < start."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


#: No OpenAI API usage exists before this day (the API opened in June 2020); an earlier start is a
#: typo that would plan hundreds of thousands of requests.
FIRST_DAY = date(2020, 1, 1)


def check_range(start: date, end: date, *, today: date) -> None:
    """Raise ConfigError when the range is empty, starts in the future or before FIRST_DAY."""
    if start < FIRST_DAY:
        raise errors.ConfigError(
            f"The range starts on {start}, before OpenAI's API had any usage: pick a start on or "
            f"after {FIRST_DAY}."
        )
    if end < start:
        raise errors.ConfigError(
            f"The date range is empty: {start} is after {end}. Pick an end on or after the start."
        )
    if start > today:
        raise errors.ConfigError(
            f"The range starts in the future ({start}); pick dates up to today ({today})."
        )


def epoch(day: date) -> int:
    """A UTC day into the Unix time of its start, e.g. ``2024-05-01 -> 1714521600``."""
    return int(datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp())


class Source:
    """Base class: plan, fetch, assemble (see the module docstring)."""

    #: the registry's name for it (``SPEND_SOURCE``, ``--source``, the ``source`` column)
    name = "base"
    #: who is paid: the ``provider`` column of its rows, e.g. "openai"
    provider = "base"
    #: a few words for the sidebar and messages, e.g. "OpenAI Usage API (admin key)"
    title = "base"
    #: True for the one source that stands in when no other is configured (the demo)
    fallback = False
    #: a day's answers are final this long after the day ended
    final_after = FINAL_AFTER
    #: requests per minute unless SPEND_RATE_LIMIT_PER_MIN says otherwise
    default_rate_limit = 60.0
    #: the settings it reads besides ``spend.config.ENV_NAMES`` (env or secrets), e.g. its key
    setting_names: tuple[str, ...] = ()
    #: a short name for the sidebar's badge, e.g. "Admin Usage & Costs API"
    label = "base"
    #: whether it can fetch user by user (the sidebar then offers "Attribute usage to users")
    per_user_option = False
    #: the setting holding its key, when the sidebar's connection panel offers a field for a key
    #: of the viewer's own (e.g. "ANTHROPIC_ADMIN_KEY"), and that field's label; None: no field
    key_setting: str | None = None
    key_label: str | None = None

    def __init__(
        self,
        settings: Settings,
        *,
        client: HttpClient | None = None,
        clock: Callable[[], float] = time.time,
        prices: pricing.PriceTable | None = None,
        per_user: bool = False,
    ) -> None:
        self.settings = settings
        self.client = client
        self.clock = clock
        self.prices = prices
        self.per_user = per_user  # only sources that can fetch user by user use it
        self._refused: dict[PlannedRequest, Refused] = {}

    # what the registry asks of a source class --------------------------------------------
    @classmethod
    def claims(cls, settings: Settings) -> bool:
        """Whether ``settings`` hold this source's credential (it then runs under "auto")."""
        return False

    @classmethod
    def api(cls, settings: Settings) -> Api | None:
        """Its HTTP conventions for the client (base URL, auth headers, error messages), or None
        for a source that needs no network. A credential that cannot work is a ConfigError."""
        return None

    @classmethod
    def rate_limit(cls, settings: Settings) -> float:
        """Requests per minute for its credential: the override, else its own default."""
        return settings.rate_limit_per_min or cls.default_rate_limit

    @classmethod
    def fingerprint(cls, settings: Settings) -> str:
        """A one-way hash naming its credential's cache entries and limiter state: by default its
        name and the values of its own settings (``setting_names``), so two keys never share;
        outside UTC also the zone its days are counted in (``zoned``)."""
        material = "\0".join([cls.name, *(settings.value(n) or "" for n in cls.setting_names)])
        return cls.zoned(settings, hashlib.sha256(material.encode()).hexdigest()[:24])

    @classmethod
    def day_zone(cls, settings: Settings) -> str:
        """The IANA zone this source's dates are in: the deployment's (``SPEND_TIMEZONE``) for a
        source that can count the team's days, "UTC" for one that answers per UTC day only (the
        legacy endpoint), whatever the setting says."""
        return settings.zone.key

    @classmethod
    def zoned(cls, settings: Settings, digest: str) -> str:
        """A fingerprint with the zone the source counts days in, outside UTC: tables and answers
        of two zones are never mixed (the key stays unrecoverable); unchanged in UTC."""
        zone = cls.day_zone(settings)
        if is_utc(ZoneInfo(zone)):
            return digest
        return hashlib.sha256(f"{digest}\0zone\0{zone}".encode()).hexdigest()[:24]

    @classmethod
    def cold_requests(
        cls,
        start: date,
        end: date,
        *,
        users: int = 0,
        per_user: bool = False,
        projects: int = 0,
        now: float | None = None,
        zone: ZoneInfo | None = None,
    ) -> int:
        """The request count a cold fetch of [start, end] needs (0: no network), knowing how many
        users and projects the organization has (``per_user``: a user-by-user fetch), the
        planner's clock ``now`` and the zone days are counted in (hourly usage outside UTC); a
        source counts in ``count_cold``."""
        return cls.count_cold(start, end, Scale(users, per_user, projects, now, zone))

    @classmethod
    def count_cold(cls, start: date, end: date, scale: Scale) -> int:
        """``cold_requests`` for this source (0: no network)."""
        return 0

    def is_final(self, last_day: date) -> bool:
        """Whether an answer about days up to ``last_day`` is final now (kept for good)."""
        return is_final(last_day, self.now(), after=self.final_after)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=UTC)

    def today(self) -> date:
        """Today in the zone this source's dates are in (``day_zone``), e.g. the UTC date for
        the legacy endpoint."""
        return local_today(ZoneInfo(self.day_zone(self.settings)), self.now())

    #: what a cold fetch's count in ``zone_note`` leaves out, e.g. "(lists of projects' keys
    #: not counted)"
    cold_note: str = ""

    @property
    def hourly(self) -> bool:
        """Whether usage comes in hourly buckets: a source that can count the deployment's days
        (``day_zone``), in a zone other than UTC."""
        return not is_utc(ZoneInfo(self.day_zone(self.settings)))

    def zone_note(self, start: date, end: date) -> str | None:
        """What counting days in ``SPEND_TIMEZONE`` costs this source for [start, end] (hourly
        usage: more requests, from ``count_cold``), or that it cannot (UTC days kept); None in
        UTC."""
        zone = self.settings.zone
        if is_utc(zone):
            return None
        if not self.hourly:
            return f"answers per UTC day only: its dates stay UTC days, not {zone.key} days"
        if not self.count_cold(start, start, Scale()):  # no network: nothing to count
            return None
        end, now = min(end, self.today()), self.clock()
        hourly = self.count_cold(start, end, Scale(now=now, zone=zone))
        daily = self.count_cold(start, end, Scale(now=now))
        tail = f" {self.cold_note}" if self.cold_note else ""
        return (
            f"{zone.key} days from hourly usage: {hourly} requests cold where UTC days take "
            f"{daily}{tail}"
        )

    def hourly_billed(self, frame: pd.DataFrame) -> bool:
        """Whether ``frame`` holds billed lines per UTC day to apportion to other dates: its
        dates are not UTC days, and it has billed rows."""
        if is_utc(ZoneInfo(self.day_zone(self.settings))) or "cost_basis" not in frame.columns:
            return False
        return bool(frame["cost_basis"].astype("string").eq("billed").fillna(False).any())

    def hourly_usage(
        self, start: date, end: date, bodies: dict[PlannedRequest, list[Any] | Refused]
    ) -> pd.DataFrame | None:
        """The usage of every UTC hour of the UTC days the range touches (``date``: the UTC day,
        ``hour``: the hour's start), which apportions a UTC day's billed lines to the local dates
        it touches (``allocate.apportion_billed``); None (the default) when the dates are UTC
        days or the source has no billed money."""
        return None

    @property
    def generation(self) -> int:
        """Bumped whenever a stored answer changes: a table assembled before is stale after."""
        return self.client.generation if self.client is not None else 0

    # subclasses implement these -------------------------------------------------------------
    def plan_requests(self, start: date, end: date) -> list[PlannedRequest]:
        raise NotImplementedError

    def build(
        self, start: date, end: date, bodies: dict[PlannedRequest, list[Any] | Refused]
    ) -> tuple[pd.DataFrame, list[str]]:
        raise NotImplementedError

    def dependent_requests(self, start: date, end: date) -> list[PlannedRequest]:
        """Requests named by answers already stored (per-user days, per-project key lists)."""
        return []

    def control_requests(self, project_ids: Iterable[str]) -> list[PlannedRequest]:
        """The requests that read the provider's own spend limits and alerts (none by default);
        ``controls_plan`` plans them, any fetch fetches them, ``spend_controls`` reads them."""
        return []

    def spend_controls(self, project_ids: Iterable[str]) -> tuple[list[Budget], list[str]]:
        """The provider's own spend limits and alerts as read-only budgets, with notices, from
        what is stored (never the network); a source without any has none."""
        return [], []

    def controls_plan(self, project_ids: Iterable[str]) -> Plan:
        """The spend-control requests as a plan of their own, for the background job (the app)
        or the command line to fetch like any other: never while a page draws."""
        ids = sorted(set(project_ids))
        requests = self.control_requests(ids)
        today = self.today()
        plan = Plan(
            self.name,
            today,
            today,
            requests,
            [self._is_cached(r) for r in requests],
            rate_per_min=self.rate_limit(self.settings),
        )
        plan.dependents = lambda: self.control_requests(ids)
        return plan

    def refusal(self, request: PlannedRequest) -> Refused | None:
        """How the API last refused ``request`` (an optional one), however long ago; None when it
        answered or was never asked."""
        return self._refused.get(request)

    # shared machinery -----------------------------------------------------------------------
    @property
    def read_only(self) -> bool:
        """Whether the cache can only be read: its answers are shown, nothing is fetched."""
        return self.client is not None and self.client.read_only

    def undecided(self, start: date, end: date) -> str | None:
        """What still decides the request count (an answer not stored yet), or None."""
        return None

    def plan(self, start: date, end: date) -> Plan:
        check_range(start, end, today=self.today())
        end = min(end, self.today())  # no day after today has usage (and 9999-12-31 overflows)
        requests = self.plan_requests(start, end)
        cached = [self._is_cached(r) for r in requests]
        rate = self.rate_limit(self.settings)
        plan = Plan(self.name, start, end, requests, cached, rate_per_min=rate)
        plan.undecided = self.undecided(start, end)
        plan.zone_note = self.zone_note(start, end)
        limiter = self.client.limiter if self.client is not None else None
        if limiter is not None and plan.missing:
            status = limiter.status()
            plan.wait_seconds, plan.paused = status.wait_seconds, status.paused
        return plan

    def _refusal(self, request: PlannedRequest) -> Refused | None:
        """The refusal of ``request`` while it is recent (then it is not asked again)."""
        refused = self._refused.get(request)
        if refused is not None and self.clock() - refused.at < NON_FINAL_TTL:
            return refused
        return None

    def _is_cached(self, request: PlannedRequest) -> bool:
        """Whether every page of ``request`` is stored and fresh, or it was refused a moment ago."""
        if self.client is None:
            return False
        if self._refusal(request) is not None:
            return True
        return self.client.is_stored(
            request.path, request.params_dict, cursor=request.paged, validate=request.validate
        )

    def stored(self, request: PlannedRequest) -> list[Any] | None:
        """The pages of ``request`` as stored, even if stale, or None; never the network."""
        if self.client is None:
            return None
        return self.client.pages(
            request.path,
            request.params_dict,
            cursor=request.paged,
            cached_only=True,
            stale_ok=True,
            validate=request.validate,
        )

    def fetch_request(
        self,
        request: PlannedRequest,
        *,
        stop: threading.Event | None = None,
        on_event: Callable[[str, dict], None] | None = None,
        fail_fast: bool = False,
    ) -> None:
        """Fetch one planned request (all its pages) into the cache.

        An optional request that OpenAI refuses is remembered as ``Refused`` (in memory, asked
        again later), so the rest of the fetch goes on.
        """
        assert self.client is not None
        try:
            self.client.pages(
                request.path,
                request.params_dict,
                cursor=request.paged,
                final=request.final,
                stop=stop,
                on_event=on_event,
                fail_fast=fail_fast,
                validate=request.validate,
            )
        except (errors.PermissionDeniedError, errors.NotFoundError, errors.BadRequestError) as exc:
            if not request.optional or exc.status_code not in request.refusals:
                raise
            self._refused[request] = Refused(exc.message, self.clock(), exc.status_code)
            # an older answer no longer holds (a spend limit removed, a list now refused): the
            # refusal wins, and forgetting changes the cache's generation, so views redraw
            self.client.forget(request.path, request.params_dict, cursor=request.paged)
        else:
            self._refused.pop(request, None)

    def verify(self, plan: Plan) -> None:
        """Send the plan's first request now when it is not stored (a list of names: cheap), so a
        wrong key, org id or URL is a clear error before a long fetch is offered or started; a
        server that cannot be reached fails within one connect timeout. Its answer is kept."""
        if self.client is None or not plan.requests or plan.cached[0]:
            return
        self.fetch_request(plan.requests[0], fail_fast=True)
        plan.cached[0] = True

    def fetch(
        self,
        plan: Plan,
        *,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        expand_limit: float | None = None,
    ) -> FetchProgress:
        """Send every missing request of ``plan`` (each answer stored at once); return the final
        progress, reported to ``progress`` after every request and rate-limit pause.

        ``stop``: once set, the fetch ends before its next request (a rate-limit wait ends at once).
        Requests that depend on an answer (the users list names the per-user requests, the projects
        list the key lists) join the plan as soon as that answer is stored, unless they would take
        longer than ``expand_limit`` seconds at the rate limit (then the next plan shows them, for
        the user to confirm).
        """
        if self.read_only and plan.missing:
            raise errors.CacheError(
                f"The cache folder {self.settings.cache_dir} is read-only for this user: what it "
                "holds can be shown and exported, but nothing can be fetched into it."
            )
        state = FetchProgress(
            planned=plan.missing,
            started_at=self.clock(),
            now=self.clock(),
            rate_per_min=plan.rate_per_min,
        )
        limiter = self.client.limiter if self.client is not None else None
        if limiter is not None and plan.missing:
            held = limiter.status()  # a 429 pause left by an earlier run holds this one too
            if held.paused:
                state.rate_limited_until = self.clock() + held.wait_seconds
        lost_before = self.client.cache_lost if self.client is not None else 0

        def report() -> None:
            state.now = self.clock()
            if self.client is not None and self.client.cache_lost != lost_before:
                state.cache_lost = True
            if progress:
                progress(state)

        def on_event(event: str, data: dict) -> None:
            if event == "rate_limited":
                state.rate_limited_until = self.clock() + float(data.get("seconds") or 0)
                report()

        def stopped() -> bool:
            return stop is not None and stop.is_set()

        report()
        position = 0
        while not stopped():
            for request in plan.requests[position:]:
                position += 1
                if self._is_cached(request):
                    continue
                if stopped():
                    break
                try:
                    self.fetch_request(request, stop=stop, on_event=on_event)
                except errors.FetchStopped:
                    break
                state.done += 1
                report()
            known = set(plan.requests)
            named = plan.dependents() if plan.dependents else self.dependent_requests(*plan.span)
            extra = [r for r in named if r not in known]
            if not extra:
                break
            if (
                expand_limit is not None
                and plan.rate_per_min
                and len(extra) * 60.0 / plan.rate_per_min > expand_limit
            ):
                break
            plan.requests.extend(extra)
            plan.cached.extend(self._is_cached(r) for r in extra)
            state.planned += sum(1 for c in plan.cached[-len(extra) :] if not c)
        state.finished = not stopped()
        report()
        return state

    def assemble(
        self, plan: Plan, *, finish: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    ) -> LoadResult:
        """What the cache holds for ``plan`` into the priced usage table (no network); ``finish``
        (e.g. ``schema.as_categories``) is applied to the table last."""
        bodies: dict[PlannedRequest, list[Any] | Refused] = {}
        missing = 0
        for request in plan.requests:
            pages = self.stored(request)
            if pages is None:
                pages = self._refusal(request)
            if pages is None:
                missing += 1
            else:
                bodies[request] = pages
        frame, notices = self.build(plan.start, plan.end, bodies)
        frame = with_provider(pricing.attach_prices(frame, overrides=self.prices), self.provider)
        hours = self.hourly_usage(plan.start, plan.end, bodies)
        if hours is not None or self.hourly_billed(frame):
            # billed lines per UTC day into the team's dates, by the usage of each hour
            if hours is not None:
                hours = pricing.attach_prices(hours, overrides=self.prices)
                hours = with_provider(hours, self.provider)
            frame = apportion_billed(
                frame,
                hours,
                ZoneInfo(self.day_zone(self.settings)),
                days=(plan.start, plan.end),
                overrides=self.prices,
            )
        frame = allocate_billed(frame, overrides=self.prices)  # billed_usd (spend.allocate)
        if finish is not None:
            frame = finish(frame)
        return LoadResult(
            frame=frame,
            source=self.name,
            start=plan.start,
            end=plan.end,
            partial=missing > 0,
            missing_requests=missing,
            notices=notices,
        )

    def forget_non_final(self, plan: Plan) -> int:
        """Drop the stored answers of ``plan`` that are not final, so the next fetch asks again;
        return how many."""
        if self.client is None:
            return 0
        dropped = 0
        for i, request in enumerate(plan.requests):
            if not request.final:
                self.client.forget(request.path, request.params_dict, cursor=request.paged)
                self._refused.pop(request, None)
                plan.cached[i] = False
                dropped += 1
        return dropped

    def load(self, start: date, end: date, *, progress: Progress | None = None) -> LoadResult:
        """Plan, fetch what is missing, assemble: the usage table for [start, end]."""
        plan = self.plan(start, end)
        self.fetch(plan, progress=progress)
        return self.assemble(plan)
