"""Sources: which requests a date range needs, fetching them, and assembling the usage table.

Every source works in three steps so a fetch can run in the background and a page can show what
has arrived so far:

1. ``plan(start, end)``: the requests the range needs, each marked cached or not (no network,
   except the legacy per-user plan, which first needs the users list);
2. ``fetch(plan)``: sends only the missing requests, storing each answer in the disk cache the
   moment it arrives, so an interrupted fetch resumes where it stopped;
3. ``assemble(plan)``: reads what the cache holds (never the network) into the priced usage table,
   marked partial when some answers are still missing.

``load()`` does all three. Sources: ``legacy`` (API key + org id, undocumented endpoints),
``admin`` (admin key, official Usage and Costs APIs), ``demo`` (synthetic, no network).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from spend import errors, normalize, pricing
from spend.cache import ResponseCache, is_final
from spend.client import OpenAIClient, next_page_params
from spend.config import Settings, key_kind
from spend.ratelimit import RateLimiter
from spend.schema import conform, empty_frame

#: Admin usage endpoints (API-NOTES §2) and the finest group_by each allows.
ADMIN_USAGE_GROUP_BY: dict[str, tuple[str, ...]] = {
    "completions": ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier"),
    "embeddings": ("project_id", "user_id", "api_key_id", "model"),
    "moderations": ("project_id", "user_id", "api_key_id", "model"),
    "images": ("project_id", "user_id", "api_key_id", "model", "size", "source"),
    "audio_speeches": ("project_id", "user_id", "api_key_id", "model"),
    "audio_transcriptions": ("project_id", "user_id", "api_key_id", "model"),
    "vector_stores": ("project_id",),
    "code_interpreter_sessions": ("project_id",),
    "file_search_calls": (
        "project_id",
        "user_id",
        "api_key_id",
    ),  # no model: it has vector_store_id instead
    "web_search_calls": ("project_id", "user_id", "api_key_id", "model"),
}
COSTS_GROUP_BY = ("project_id", "line_item", "api_key_id")
USAGE_BUCKETS_PER_PAGE = 31  # usage, bucket_width=1d: the API's maximum
COST_BUCKETS_PER_PAGE = 180  # costs: the API's maximum
LIST_PAGE_SIZE = 100
#: end_time is clamped to now (a future value has made calls fail), rounded down to this many
#: seconds so the cache key of the current window is stable while its entry is fresh.
END_TIME_GRANULARITY = 600

Progress = Callable[["FetchProgress"], None]


@dataclass(frozen=True)
class PlannedRequest:
    """One GET the range needs. ``paged`` requests may continue over further cached pages."""

    path: str
    params: tuple[tuple[str, Any], ...]
    final: bool
    kind: str  # users, usage, costs, projects, api_keys, ...
    label: str = ""
    paged: str | None = None  # None, "page" (usage/costs) or "after" (lists)

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass
class Plan:
    """The requests a range needs, and what is already stored."""

    source: str
    start: date
    end: date
    requests: list[PlannedRequest]
    cached: list[bool]
    rate_per_min: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.requests)

    @property
    def missing(self) -> int:
        return sum(1 for c in self.cached if not c)

    @property
    def eta_seconds(self) -> float:
        """Seconds the missing requests take at the rate limit (the limiter spaces them evenly)."""
        if not self.rate_per_min or not self.missing:
            return 0.0
        return self.missing * 60.0 / self.rate_per_min


@dataclass
class FetchProgress:
    """Where a fetch stands: requests done of planned, the ETA, and any rate-limit wait."""

    planned: int
    done: int = 0
    started_at: float = 0.0
    now: float = 0.0
    rate_per_min: float | None = None
    waiting_seconds: float = 0.0  # > 0 while held by a 429's Retry-After
    finished: bool = False
    error: str | None = None

    @property
    def remaining(self) -> int:
        return max(0, self.planned - self.done)

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
    """Inclusive dates into a list, e.g. ``(Jan 1, Jan 3) -> [Jan 1, Jan 2, Jan 3]``; empty when end < start."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def check_range(start: date, end: date, *, today: date) -> None:
    """Raise ConfigError when the range is empty or starts in the future."""
    if end < start:
        raise errors.ConfigError(
            f"The date range is empty: {start} is after {end}. Pick an end on or after the start."
        )
    if start > today:
        raise errors.ConfigError(
            f"The range starts in the future ({start}); pick dates up to today ({today})."
        )


class Source:
    """Base class: plan, fetch, assemble (see the module docstring)."""

    name = "base"

    def __init__(
        self,
        settings: Settings,
        *,
        client: OpenAIClient | None = None,
        clock: Callable[[], float] = time.time,
        prices: pricing.PriceTable | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.clock = clock
        self.prices = prices

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=UTC)

    def today(self) -> date:
        return self.now().date()

    # subclasses implement these -------------------------------------------------------------
    def plan_requests(self, start: date, end: date) -> list[PlannedRequest]:
        raise NotImplementedError

    def build(
        self, start: date, end: date, bodies: dict[PlannedRequest, list[Any]]
    ) -> tuple[pd.DataFrame, list[str]]:
        raise NotImplementedError

    # shared machinery -----------------------------------------------------------------------
    def plan(self, start: date, end: date) -> Plan:
        check_range(start, end, today=self.today())
        requests = self.plan_requests(start, end)
        cached = [self._is_cached(r) for r in requests]
        return Plan(
            self.name, start, end, requests, cached, rate_per_min=self.settings.effective_rate_limit
        )

    def _is_cached(self, request: PlannedRequest) -> bool:
        """Whether every page of ``request`` is stored and fresh (one page: no body is read)."""
        if self.client is None:
            return False
        if request.paged:
            return self._pages(request, network=False) is not None
        return self.client.is_cached(request.path, request.params_dict)

    def _pages(
        self, request: PlannedRequest, *, network: bool, stale_ok: bool = False
    ) -> list[Any] | None:
        """The bodies of a planned request (all its pages), from the cache only unless ``network``.

        ``stale_ok``: a non-final answer past its freshness still counts (for showing data: a long
        fetch outlives the freshness of its first answers; planning asks for fresh ones).
        """
        assert self.client is not None
        params = request.params_dict
        bodies: list[Any] = []
        while True:
            if network:
                body = self.client.get_json(request.path, params, final=request.final)
            else:
                key = self.client.key_for(request.path, params)
                body = self.client.cache.get(key, stale_ok=stale_ok) if self.client.cache else None
                if body is None:
                    return None
            bodies.append(body)
            following = (
                next_page_params(request.path, params, body, request.paged)
                if request.paged
                else None
            )
            if following is None:
                return bodies
            params = following
            if len(bodies) > 10_000:
                raise errors.MalformedResponseError(
                    f"{request.path} kept paginating", endpoint=request.path
                )

    def fetch_request(self, request: PlannedRequest) -> None:
        """Fetch one planned request (all its pages) into the cache."""
        self._pages(request, network=True)

    def dependent_requests(self, start: date, end: date) -> list[PlannedRequest]:
        """Requests named by answers already stored (per-user days, per-project key lists); none by default."""
        return []

    def fetch(
        self,
        plan: Plan,
        *,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        expand_limit: float | None = None,
    ) -> FetchProgress:
        """Send every missing request of ``plan`` (each answer stored at once); return the final progress.

        Requests that depend on an answer (the users list names the per-user requests, the projects
        list the key lists) join the plan as soon as that answer is stored, unless they would take
        longer than ``expand_limit`` seconds at the rate limit (then the next plan shows them, for
        the user to confirm).
        """
        state = FetchProgress(
            planned=plan.missing,
            started_at=self.clock(),
            now=self.clock(),
            rate_per_min=plan.rate_per_min,
        )
        if progress:
            progress(state)
        stopped = lambda: stop is not None and stop.is_set()  # noqa: E731
        position = 0
        while not stopped():
            for request in plan.requests[position:]:
                position += 1
                if self._is_cached(request):
                    continue
                if stopped():
                    break
                try:
                    self.fetch_request(request)
                except errors.FetchStopped:
                    break
                state.done += 1
                state.now = self.clock()
                if progress:
                    progress(state)
            known = set(plan.requests)
            extra = [r for r in self.dependent_requests(plan.start, plan.end) if r not in known]
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
        state.now = self.clock()
        if progress:
            progress(state)
        return state

    def assemble(self, plan: Plan) -> LoadResult:
        """What the cache holds for ``plan`` into the priced usage table (no network)."""
        bodies: dict[PlannedRequest, list[Any]] = {}
        missing = 0
        for request in plan.requests:
            pages = (
                self._pages(request, network=False, stale_ok=True)
                if self.client is not None
                else None
            )
            if pages is None:
                missing += 1
            else:
                bodies[request] = pages
        frame, notices = self.build(plan.start, plan.end, bodies)
        frame = pricing.attach_prices(frame, overrides=self.prices)
        result = LoadResult(
            frame=frame,
            source=self.name,
            start=plan.start,
            end=plan.end,
            partial=missing > 0,
            missing_requests=missing,
            notices=notices,
        )
        return result

    def forget_non_final(self, plan: Plan) -> int:
        """Drop the stored answers of ``plan`` that are not final, so the next fetch asks again; return how many."""
        if self.client is None or self.client.cache is None:
            return 0
        dropped = 0
        for i, request in enumerate(plan.requests):
            if not request.final:
                self.client.cache.delete(self.client.key_for(request.path, request.params_dict))
                plan.cached[i] = False
                dropped += 1
        return dropped

    def load(self, start: date, end: date, *, progress: Progress | None = None) -> LoadResult:
        """Plan, fetch what is missing, assemble: the usage table for [start, end]."""
        plan = self.plan(start, end)
        self.fetch(plan, progress=progress)
        return self.assemble(plan)


class LegacySource(Source):
    """``/v1/organizations/{org}/users`` and ``/v1/usage?date=`` (one request per day, or per user and day)."""

    name = "legacy"

    def __init__(self, settings: Settings, *, per_user: bool = False, **kw: Any) -> None:
        super().__init__(settings, **kw)
        if key_kind(settings.api_key) == "admin":
            raise errors.ConfigError(
                "An admin key (sk-admin-…) cannot read the legacy usage endpoint: set Source to "
                "Automatic or Admin API, or use a normal API key with an org id."
            )
        if not settings.org_id:
            raise errors.ConfigError(
                "The legacy source needs an organization id (org-...): set OPENAI_ORG_ID or type it in the sidebar. "
                "Find it at https://platform.openai.com/settings/organization/general"
            )
        self.per_user = per_user

    def users_request(self) -> PlannedRequest:
        return PlannedRequest(
            f"/organizations/{self.settings.org_id}/users",
            (),
            final=False,
            kind="users",
            label="users",
        )

    def stored_users(self) -> pd.DataFrame | None:
        """The users list as stored (even if stale), or None before it was ever fetched; no network."""
        pages = (
            self._pages(self.users_request(), network=False, stale_ok=True)
            if self.client is not None
            else None
        )
        return None if pages is None else normalize.legacy_users_to_frame(pages[0])

    def _usage_requests(
        self, start: date, end: date, user_ids: list[str | None]
    ) -> list[PlannedRequest]:
        now = self.now()
        requests = []
        for day in reversed(
            day_range(start, min(end, now.date()))
        ):  # newest first: useful data sooner
            final = is_final(day, now)
            for user_id in user_ids:
                params: tuple[tuple[str, Any], ...] = (("date", day.isoformat()),)
                if user_id:
                    params += (("user_public_id", user_id),)
                requests.append(
                    PlannedRequest(
                        "/usage",
                        params,
                        final=final,
                        kind="usage",
                        label=f"{day} {user_id or 'org'}",
                    )
                )
        return requests

    def dependent_requests(self, start: date, end: date) -> list[PlannedRequest]:
        """Per-user mode: per day the org-wide answer and one per stored user (none until the users list is in).

        The org-wide answer is what makes the total right: usage no current member made (service
        accounts, removed users) is the org's total minus the members', shown as "(no user)".
        """
        if not self.per_user:
            return []
        users = self.stored_users()
        return (
            []
            if users is None
            else self._usage_requests(start, end, [None, *users["user_id"].dropna()])
        )

    def plan_requests(self, start: date, end: date) -> list[PlannedRequest]:
        """The users list, then org-wide days (or, per user, the days of every stored user); newest first."""
        if self.per_user:
            return [self.users_request(), *self.dependent_requests(start, end)]
        return [self.users_request(), *self._usage_requests(start, end, [None])]

    def build(self, start, end, bodies):
        users = None
        payloads = []
        for request, pages in bodies.items():
            if request.kind == "users":
                users = normalize.legacy_users_to_frame(pages[0])
            else:
                p = request.params_dict
                payloads.append((date.fromisoformat(p["date"]), p.get("user_public_id"), pages[0]))
        if self.per_user:
            by_user = normalize.legacy_usage_to_frame(
                [p for p in payloads if p[1]], source=self.name
            )
            org_days = {p[0] for p in payloads if not p[1]}
            org_wide = normalize.legacy_usage_to_frame(
                [p for p in payloads if not p[1]], source=self.name
            )
            same_days = by_user[by_user["date"].dt.date.isin(org_days)] if len(by_user) else by_user
            rest = normalize.unattributed(org_wide, same_days)
            frame = (
                conform(pd.concat([f for f in (by_user, rest) if len(f)], ignore_index=True))
                if len(by_user) or len(rest)
                else by_user
            )
        else:
            frame = normalize.legacy_usage_to_frame(payloads, source=self.name)
        if users is not None and len(frame):
            frame = normalize.join_users(frame, users)
        notices = []
        usage_bodies = [body for _, _, body in payloads]
        if usage_bodies and all(normalize.usage_is_empty(b) for b in usage_bodies):
            notices.append(
                f"OpenAI returned no usage for {start} to {end}. The legacy usage endpoint has been answering "
                "with empty lists for many organizations since early 2026: if you expected some, use an admin "
                "key (sk-admin-...) from https://platform.openai.com/settings/organization/admin-keys."
            )
        return frame, notices


class AdminSource(Source):
    """The official Admin API: ten usage endpoints, costs, and the users/projects/keys lists."""

    name = "admin"

    def _time_windows(self, start: date, end: date, per_page: int) -> list[tuple[int, int, date]]:
        """[start, end] into (start_time, end_time, last day) windows of ``per_page`` days, end clamped to now."""
        now = self.clock()
        clamp = int(now // END_TIME_GRANULARITY * END_TIME_GRANULARITY)
        windows = []
        days = day_range(start, end)
        for i in range(0, len(days), per_page):
            chunk = days[i : i + per_page]
            t0 = _epoch(chunk[0])
            t1 = min(_epoch(chunk[-1] + timedelta(days=1)), clamp)
            if t1 <= t0:
                continue
            windows.append((t0, t1, chunk[-1]))
        return windows

    def plan_requests(self, start: date, end: date) -> list[PlannedRequest]:
        now = self.now()
        requests = [
            PlannedRequest(
                "/organization/users",
                (("limit", LIST_PAGE_SIZE),),
                final=False,
                kind="users",
                paged="after",
            ),
            PlannedRequest(
                "/organization/projects",
                (("limit", LIST_PAGE_SIZE), ("include_archived", True)),
                final=False,
                kind="projects",
                paged="after",
            ),
        ]
        for kind, group_by in ADMIN_USAGE_GROUP_BY.items():
            for t0, t1, last in self._time_windows(start, end, USAGE_BUCKETS_PER_PAGE):
                params = (
                    ("start_time", t0),
                    ("end_time", t1),
                    ("bucket_width", "1d"),
                    ("limit", USAGE_BUCKETS_PER_PAGE),
                    ("group_by[]", tuple(group_by)),
                )
                requests.append(
                    PlannedRequest(
                        f"/organization/usage/{kind}",
                        params,
                        final=is_final(last, now),
                        kind=f"usage:{kind}",
                        paged="page",
                    )
                )
        for t0, t1, last in self._time_windows(start, end, COST_BUCKETS_PER_PAGE):
            params = (
                ("start_time", t0),
                ("end_time", t1),
                ("bucket_width", "1d"),
                ("limit", COST_BUCKETS_PER_PAGE),
                ("group_by[]", COSTS_GROUP_BY),
            )
            requests.append(
                PlannedRequest(
                    "/organization/costs",
                    params,
                    final=is_final(last, now),
                    kind="costs",
                    paged="page",
                )
            )
        requests.extend(self.dependent_requests(start, end))
        return requests

    def dependent_requests(self, start: date, end: date) -> list[PlannedRequest]:
        """One list request per project, known once the projects list is cached (else none yet)."""
        projects = self._cached_projects()
        return [
            PlannedRequest(
                f"/organization/projects/{pid}/api_keys",
                (("limit", LIST_PAGE_SIZE), ("owner_project_access", "any")),
                final=False,
                kind="api_keys",
                paged="after",
                label=pid,
            )
            for pid in ([] if projects is None else list(projects["project_id"].dropna()))
        ]

    def _cached_projects(self) -> pd.DataFrame | None:
        request = PlannedRequest(
            "/organization/projects",
            (("limit", LIST_PAGE_SIZE), ("include_archived", True)),
            final=False,
            kind="projects",
            paged="after",
        )
        pages = (
            self._pages(request, network=False, stale_ok=True) if self.client is not None else None
        )
        return None if pages is None else normalize.admin_projects_to_frame(pages)

    #: Lists that only name things: if one is refused, ids are shown instead of failing the dashboard.
    NAME_KINDS = ("users", "projects", "api_keys")

    def fetch_request(self, request: PlannedRequest) -> None:
        try:
            super().fetch_request(request)
        except (errors.PermissionDeniedError, errors.NotFoundError, errors.BadRequestError) as exc:
            if (
                request.kind not in self.NAME_KINDS
                or self.client is None
                or self.client.cache is None
            ):
                raise
            # Stored like an answer (not final: asked again later), so the rest of the fetch goes on.
            placeholder = {
                "object": "list",
                "data": [],
                "has_more": False,
                "spend_error": exc.message,
            }
            self.client.cache.set(
                self.client.key_for(request.path, request.params_dict), placeholder, final=False
            )

    def build(self, start, end, bodies):
        frames, notices = [], []
        refused = sorted(
            {
                r.kind
                for r, pages in bodies.items()
                if isinstance(pages[0], dict) and pages[0].get("spend_error")
            }
        )
        if refused:
            notices.append(
                f"OpenAI refused the {', '.join(k.replace('_', ' ') for k in refused)} list(s) to this key, so "
                "some ids are shown without names."
            )
        users = projects = None
        key_pages: dict[str, list[Any]] = {}
        for request, pages in bodies.items():
            if request.kind == "users":
                users = normalize.admin_users_to_frame(pages)
            elif request.kind == "projects":
                projects = normalize.admin_projects_to_frame(pages)
            elif request.kind == "api_keys":
                key_pages[request.label] = pages
            elif request.kind == "costs":
                frames.append(normalize.admin_costs_to_frame(pages))
                currencies = frames[-1].attrs.get("non_usd_currencies") or {}
                if currencies:
                    notices.append(
                        f"Some billed rows are not in USD ({', '.join(sorted(currencies))}): they are "
                        "listed in Raw data but left out of every dollar figure."
                    )
                if frames[-1].attrs.get("unreadable_amounts"):
                    notices.append(
                        f"{frames[-1].attrs['unreadable_amounts']} billed amounts could not be read: "
                        "their rows have no cost and are left out of the billed total."
                    )
            elif request.kind.startswith("usage:"):
                kind = request.kind.split(":", 1)[1]
                frames.append(normalize.admin_usage_to_frame(kind, pages))
                if frames[-1].attrs.get("skipped"):
                    notices.append(
                        f"{frames[-1].attrs['skipped']} {kind} results of a shape this app does not "
                        "know were left out."
                    )
        frame = (
            pd.concat([f for f in frames if len(f)], ignore_index=True)
            if any(len(f) for f in frames)
            else empty_frame()
        )
        frame = conform(frame)
        frame = frame[
            (frame["date"] >= pd.Timestamp(start)) & (frame["date"] <= pd.Timestamp(end))
        ].reset_index(drop=True)
        api_keys = normalize.admin_api_keys_to_frame(key_pages) if key_pages else None
        frame = normalize.join_names(frame, users=users, projects=projects, api_keys=api_keys)
        if not len(frame) and bodies:
            notices.append(
                f"OpenAI's Usage and Costs APIs returned nothing for {start} to {end}: the organization "
                "had no API usage in that range."
            )
        return frame, notices


class DemoSource(Source):
    """A deterministic synthetic organization in the legacy response shape; no network."""

    name = "demo"

    def __init__(self, settings: Settings, **kw: Any) -> None:
        super().__init__(settings, **kw)
        from spend.demo import DemoOrg

        self.org = DemoOrg(settings.demo_size, today=self.today())

    def plan(self, start: date, end: date) -> Plan:
        check_range(start, end, today=self.today())
        return Plan(self.name, start, end, [], [], rate_per_min=None)

    def fetch(self, plan, *, progress=None, stop=None, expand_limit=None) -> FetchProgress:
        state = FetchProgress(planned=0, finished=True)
        if progress:
            progress(state)
        return state

    #: Days normalized at a time: the raw rows of a chunk are dropped before the next is built,
    #: which keeps the large demo's peak memory low (a year of 200 users is ~170k rows).
    CHUNK_DAYS = 14

    def assemble(self, plan: Plan) -> LoadResult:
        days = day_range(plan.start, plan.end)
        chunks = [
            normalize.legacy_usage_to_frame(
                self.org.payloads(days[i], days[min(i + self.CHUNK_DAYS, len(days)) - 1]),
                source=self.name,
            )
            for i in range(0, len(days), self.CHUNK_DAYS)
        ]
        frame = conform(pd.concat(chunks, ignore_index=True)) if chunks else empty_frame()
        frame = normalize.join_users(
            frame, normalize.legacy_users_to_frame(self.org.users_payload())
        )
        frame = pricing.attach_prices(frame, overrides=self.prices)
        return LoadResult(
            frame=frame,
            source=self.name,
            start=plan.start,
            end=plan.end,
            notices=[
                "Demo data: a synthetic organization. Enter an API key and org id (or an admin key) in the sidebar to see yours."
            ],
        )


def _epoch(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp())


def make_client(
    settings: Settings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    session: Any = None,
    on_event: Callable[[str, dict], None] | None = None,
) -> OpenAIClient:
    """Settings into a client with the disk cache and the shared per-credential rate limiter."""
    cache = ResponseCache(settings.cache_dir, clock=clock)
    limiter = RateLimiter(
        settings.cache_dir,
        settings.fingerprint,
        per_minute=settings.effective_rate_limit,
        clock=clock,
        sleep=sleep,
    )
    return OpenAIClient(
        api_key=settings.api_key or "",
        org_id=settings.org_id,
        base_url=settings.base_url,
        fingerprint=settings.fingerprint,
        cache=cache,
        limiter=limiter,
        session=session,
        sleep=sleep,
        clock=clock,
        on_event=on_event,
    )


def make_source(
    settings: Settings,
    *,
    per_user: bool = False,
    client: OpenAIClient | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    on_event: Callable[[str, dict], None] | None = None,
) -> Source:
    """Settings into the source they select (demo without a key, admin for sk-admin-, else legacy)."""
    prices = pricing.load_price_overrides(settings.prices_file) if settings.prices_file else None
    name = settings.resolved_source
    if name == "demo":
        return DemoSource(settings, clock=clock, prices=prices)
    if not settings.api_key:
        raise errors.ConfigError(
            f"The {name} source needs a key: set OPENAI_API_KEY / OPENAI_ADMIN_KEY or type one in the sidebar."
        )
    client = client or make_client(settings, sleep=sleep, clock=clock, on_event=on_event)
    if name == "admin":
        return AdminSource(settings, client=client, clock=clock, prices=prices)
    return LegacySource(settings, per_user=per_user, client=client, clock=clock, prices=prices)


def requests_for_range(
    days: int, *, source: str, users: int = 0, per_user: bool = False, projects: int = 0
) -> int:
    """The request count a cold fetch needs, e.g. legacy 30 days org-wide -> 31 (users list + 30 days)."""
    if source == "legacy":
        return 1 + days * (
            users + 1 if per_user else 1
        )  # per user: the org-wide answer too, for the remainder
    if source == "admin":
        usage = len(ADMIN_USAGE_GROUP_BY) * math.ceil(days / USAGE_BUCKETS_PER_PAGE)
        return 2 + usage + math.ceil(days / COST_BUCKETS_PER_PAGE) + projects
    return 0
