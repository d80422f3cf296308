"""The admin source: an admin key (``sk-admin-``) and OpenAI's official Usage and Costs APIs.

Ten usage endpoints (``/organization/usage/{kind}``, daily buckets, the finest ``group_by`` each
allows), ``/organization/costs`` (billed money per project, line item and key), the lists that
name ids (users, projects, each project's keys) and OpenAI's spend controls. This file holds the
endpoint tables, the plan and the assembly; its parts live beside it:

    admin_parse.py      the answers into usage rows (usage, costs, name lists)
    windows.py          aligned time windows (shared with the Anthropic source)
    spend_controls.py   spend limits and alerts into read-only budgets
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from spend import shapes
from spend.allocate import apportioned_notice
from spend.budgets import Budget
from spend.config import ADMIN_RATE_LIMIT_PER_MIN, Settings, key_kind
from spend.localdays import is_utc, range_bounds, utc_days
from spend.normalize import (
    join_names,
)
from spend.schema import conform, empty_frame
from spend.sources.admin_parse import (
    admin_api_keys_to_frame,
    admin_costs_to_frame,
    admin_projects_to_frame,
    admin_usage_to_frame,
    admin_users_to_frame,
)
from spend.sources.base import PlannedRequest, Refused, Scale, Source
from spend.sources.openai_api import OpenAICredential
from spend.sources.spend_controls import parse_spend_alerts, parse_spend_limit
from spend.sources.windows import (
    HOURS_PER_PAGE,
    hour_blocks,
    hour_windows,
    time_windows,
    window_blocks,
)

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
    # file search has no model: it has vector_store_id instead
    "file_search_calls": ("project_id", "user_id", "api_key_id"),
    # context_level: web search is priced by the search context size where it is known
    "web_search_calls": ("project_id", "user_id", "api_key_id", "model", "context_level"),
}
COSTS_GROUP_BY = ("project_id", "line_item", "api_key_id")
USAGE_BUCKETS_PER_PAGE = 31  # usage, bucket_width=1d: the API's maximum
USAGE_HOURS_PER_PAGE = HOURS_PER_PAGE  # usage, bucket_width=1h: the API's maximum (168)
COST_BUCKETS_PER_PAGE = 180  # costs: the API's maximum
LIST_PAGE_SIZE = 100
#: Spend alerts per page (the spec's maximum).
CONTROLS_PAGE_SIZE = 100


class AdminSource(OpenAICredential, Source):
    """The official Admin API: ten usage endpoints, costs, and the users/projects/keys lists."""

    name = "admin"
    title = "OpenAI Usage and Costs APIs (admin key)"
    label = "Admin Usage & Costs API"
    default_rate_limit = ADMIN_RATE_LIMIT_PER_MIN

    @classmethod
    def claims(cls, settings: Settings) -> bool:
        return key_kind(settings.api_key) == "admin"

    @classmethod
    def count_cold(cls, start: date, end: date, scale: Scale) -> int:
        return cold_requests(start, end, projects=scale.projects, now=scale.now, zone=scale.zone)

    cold_note = "(lists of projects' keys not counted)"

    def _time_windows(self, start: date, end: date, per_page: int) -> list[tuple[int, int, date]]:
        """[start, end] into (start_time, end_time, last day) windows: the aligned blocks of
        ``per_page`` days that cover it (``time_windows``)."""
        return time_windows(start, end, per_page, now=self.clock())

    @staticmethod
    def _list(path: str, params: tuple, kind: str, label: str = "") -> PlannedRequest:
        """A list that only names ids: optional, so a refusal shows ids instead of failing."""
        return PlannedRequest(
            path,
            params,
            final=False,
            kind=kind,
            paged="after",
            label=label,
            optional=True,
            validate=shapes.list_page,
        )

    def _projects_request(self) -> PlannedRequest:
        params = (("limit", LIST_PAGE_SIZE), ("include_archived", True))
        return self._list("/organization/projects", params, "projects")

    def plan_requests(self, start: date, end: date) -> list[PlannedRequest]:
        requests = [
            self._list("/organization/users", (("limit", LIST_PAGE_SIZE),), "users"),
            self._projects_request(),
        ]
        zone = self.settings.zone
        # costs answer per UTC day: the UTC days the local range touches (the range itself in UTC)
        cost_days = utc_days(start, end, zone) if self.hourly else (start, end)

        def windowed(
            path: str, kind: str, per_page: int, group_by: tuple, days: tuple[date, date]
        ) -> None:
            for t0, t1, last in self._time_windows(*days, per_page):
                params = (
                    ("start_time", t0),
                    ("end_time", t1),
                    ("bucket_width", "1d"),
                    ("limit", per_page),
                    ("group_by[]", group_by),
                )
                final = self.is_final(last)
                shape = shapes.costs_page if kind == "costs" else shapes.usage_page
                requests.append(
                    PlannedRequest(
                        path, params, final=final, kind=kind, paged="page", validate=shape
                    )
                )

        def hourly(path: str, kind: str, group_by: tuple) -> None:
            t0, t1 = range_bounds(start, end, zone)
            after = self.final_after.total_seconds()
            for w0, w1, final in hour_windows(t0, t1, now=self.clock(), final_after=after):
                params = (
                    ("start_time", w0),
                    ("end_time", w1),
                    ("bucket_width", "1h"),
                    ("limit", USAGE_HOURS_PER_PAGE),
                    ("group_by[]", group_by),
                )
                requests.append(
                    PlannedRequest(
                        path,
                        params,
                        final=final,
                        kind=kind,
                        paged="page",
                        validate=shapes.usage_page,
                    )
                )

        for kind, group_by in ADMIN_USAGE_GROUP_BY.items():
            path = f"/organization/usage/{kind}"
            if self.hourly:
                hourly(path, f"usage:{kind}", tuple(group_by))
            else:
                windowed(
                    path, f"usage:{kind}", USAGE_BUCKETS_PER_PAGE, tuple(group_by), (start, end)
                )
        windowed("/organization/costs", "costs", COST_BUCKETS_PER_PAGE, COSTS_GROUP_BY, cost_days)
        requests.extend(self.dependent_requests(start, end))
        return requests

    def dependent_requests(self, start: date, end: date) -> list[PlannedRequest]:
        """One list request per project, known once the projects list is stored (else none yet)."""
        pages = self.stored(self._projects_request())
        projects = [] if pages is None else admin_projects_to_frame(pages)["project_id"].dropna()
        params = (("limit", LIST_PAGE_SIZE), ("owner_project_access", "any"))
        return [
            self._list(f"/organization/projects/{pid}/api_keys", params, "api_keys", label=pid)
            for pid in projects
        ]

    def build(
        self, start: date, end: date, bodies: dict[PlannedRequest, list[Any] | Refused]
    ) -> tuple[pd.DataFrame, list[str]]:
        frames, notices = [], []
        refused = sorted({r.kind for r, pages in bodies.items() if isinstance(pages, Refused)})
        if refused:
            lists = ", ".join(k.replace("_", " ") for k in refused)
            notices.append(
                f"OpenAI refused the {lists} list(s) to this key, so some ids are shown without "
                "names."
            )
        users = projects = None
        key_pages: dict[str, list[Any]] = {}
        zone = self.settings.zone if self.hourly else None
        cost_days = utc_days(start, end, zone) if zone is not None else (start, end)
        for request, pages in bodies.items():
            if isinstance(pages, Refused):
                continue
            if request.kind == "users":
                users = admin_users_to_frame(pages)
            elif request.kind == "projects":
                projects = admin_projects_to_frame(pages)
            elif request.kind == "api_keys":
                key_pages[request.label] = pages
            elif request.kind == "costs":
                # per UTC day: Source.assemble apportions them to local dates (allocate)
                frames.append(admin_costs_to_frame(pages, days=cost_days))
                currencies = frames[-1].attrs.get("non_usd_currencies") or {}
                if currencies:
                    notices.append(
                        f"Some billed rows are not in USD ({', '.join(sorted(currencies))}): they "
                        "are listed in Raw data but left out of every dollar figure."
                    )
                if frames[-1].attrs.get("unreadable_amounts"):
                    notices.append(
                        f"{frames[-1].attrs['unreadable_amounts']} billed amounts could not be "
                        "read: their rows have no cost and are left out of the billed total."
                    )
            elif request.kind.startswith("usage:"):
                kind = request.kind.split(":", 1)[1]
                frames.append(admin_usage_to_frame(kind, pages, days=(start, end), zone=zone))
                if frames[-1].attrs.get("skipped"):
                    notices.append(
                        f"{frames[-1].attrs['skipped']} {kind} results of a shape this app does "
                        "not know were left out."
                    )
        filled = [f for f in frames if len(f)]
        # every frame holds only the range's days (parsed with days=): a window's other days,
        # asked for because windows are aligned blocks, never reach the table
        frame = conform(pd.concat(filled, ignore_index=True) if filled else empty_frame())
        api_keys = admin_api_keys_to_frame(key_pages) if key_pages else None
        frame = join_names(frame, users=users, projects=projects, api_keys=api_keys)
        if not len(frame) and bodies:
            notices.append(
                f"OpenAI's Usage and Costs APIs returned nothing for {start} to {end}: the "
                "organization had no API usage in that range."
            )
        if zone is not None and frame["cost_basis"].eq("billed").fillna(False).any():
            notices.append(apportioned_notice(zone.key))
        return frame, notices

    def hourly_usage(
        self, start: date, end: date, bodies: dict[PlannedRequest, list[Any] | Refused]
    ) -> pd.DataFrame | None:
        """Outside UTC: the usage of every UTC hour (``hour``; ``date`` its UTC day) that
        apportions each UTC day's billed lines to the local dates it touches; None in UTC."""
        if not self.hourly:
            return None
        first, last = utc_days(start, end, self.settings.zone)
        frames = [
            admin_usage_to_frame(
                request.kind.split(":", 1)[1], pages, days=(first, last), hours=True
            )
            for request, pages in bodies.items()
            if request.kind.startswith("usage:") and not isinstance(pages, Refused)
        ]
        filled = [f for f in frames if len(f)]
        return conform(pd.concat(filled, ignore_index=True)) if filled else None

    def _control(self, path: str, kind: str, owner: str, paged: bool) -> PlannedRequest:
        """A spend limit or alert list: optional, and only a 403 or 404 means "none set, or not
        available to this key"; a timeout or a 429 is the error it is."""
        params = (("limit", CONTROLS_PAGE_SIZE),) if paged else ()
        return PlannedRequest(
            path,
            params,
            final=False,
            kind=kind,
            label=owner,
            paged="after" if paged else None,
            optional=True,
            refusals=frozenset({403, 404}),
        )

    def control_requests(self, project_ids: Iterable[str]) -> list[PlannedRequest]:
        """``/organization/spend_alerts`` and ``/spend_limit``, then the same per project once the
        organization's alert list answered (spec 2026-07, ``spend-controls-openapi.yaml``); when
        that list is refused, the projects are not asked."""
        org_alerts = self._control(
            "/organization/spend_alerts", "spend alerts", "the organization", True
        )
        requests = [
            self._control("/organization/spend_limit", "spend limit", "the organization", False),
            org_alerts,
        ]
        if self.stored(org_alerts) is None:
            return requests
        for project_id in sorted(set(project_ids)):
            base = f"/organization/projects/{project_id}"
            owner = f"project {project_id}"
            requests.append(self._control(f"{base}/spend_limit", "spend limit", owner, False))
            requests.append(self._control(f"{base}/spend_alerts", "spend alerts", owner, True))
        return requests

    def spend_controls(self, project_ids: Iterable[str]) -> tuple[list[Budget], list[str]]:
        """Project ids into OpenAI's spend limits and alerts as read-only budgets, with notices,
        from what is stored: a refused or missing endpoint (403, 404) is a notice, never a
        failure; what is not fetched yet is said so."""
        budgets: list[Budget] = []
        notices: list[str] = []
        refused: dict[tuple[str, str], list[str]] = {}
        missing = 0
        for request in self.control_requests(project_ids):
            pages = self.stored(request)
            if pages is None:
                refusal = self.refusal(request)
                if refusal is None:
                    missing += 1
                else:
                    reason = f"HTTP {refusal.status}" if refusal.status else "refused"
                    refused.setdefault((request.kind, reason), []).append(request.label)
                continue
            project_id = request.label.removeprefix("project ") if request.label else None
            project_id = None if request.label == "the organization" else project_id
            parse = parse_spend_alerts if request.paged else parse_spend_limit
            found, more = parse(pages if request.paged else pages[0], project_id=project_id)
            budgets += found
            notices += more
        for (kind, reason), owners in refused.items():
            more = f" and {len(owners) - 3} more" if len(owners) > 3 else ""
            notices.append(
                f"OpenAI's {kind} for {', '.join(owners[:3])}{more} could not be read ({reason}): "
                "none set, or not available to this key; shown without them."
            )
        if missing:
            notices.append(
                f"OpenAI's spend limits and alerts: {missing} answer(s) not fetched yet; shown "
                "without them."
            )
        return budgets, notices


def cold_requests(
    start: date,
    end: date,
    *,
    projects: int = 0,
    now: float | None = None,
    zone: ZoneInfo | None = None,
) -> int:
    """A range into the requests a cold fetch needs, e.g. 30 days inside one block of 31 ->
    ``13`` (2 lists, 10 usage, 1 costs); 30 days across two -> ``23``. In a zone other than UTC
    usage is hourly: blocks of 168 hours (about 4.4 times the daily windows over a long range).

    :param now: the planner's clock (Unix seconds); a block that has not begun by then is not
        asked for (only in the first 10 minutes of a block's first day)
    :param zone: the zone days are counted in (None: UTC)
    """
    if zone is not None and not is_utc(zone):
        t0, t1 = range_bounds(start, end, zone)
        first, last = utc_days(start, end, zone)
        if now is None:
            usage = len(hour_blocks(t0, t1))
            costs = len(window_blocks(first, last, COST_BUCKETS_PER_PAGE))
        else:
            usage = len(hour_windows(t0, t1, now=now))
            costs = len(time_windows(first, last, COST_BUCKETS_PER_PAGE, now=now))
        return 2 + len(ADMIN_USAGE_GROUP_BY) * usage + costs + projects
    if now is None:
        usage = len(window_blocks(start, end, USAGE_BUCKETS_PER_PAGE))
        costs = len(window_blocks(start, end, COST_BUCKETS_PER_PAGE))
    else:
        usage = len(time_windows(start, end, USAGE_BUCKETS_PER_PAGE, now=now))
        costs = len(time_windows(start, end, COST_BUCKETS_PER_PAGE, now=now))
    return 2 + len(ADMIN_USAGE_GROUP_BY) * usage + costs + projects


__all__ = [
    "ADMIN_USAGE_GROUP_BY",
    "AdminSource",
    "CONTROLS_PAGE_SIZE",
    "COSTS_GROUP_BY",
    "COST_BUCKETS_PER_PAGE",
    "LIST_PAGE_SIZE",
    "USAGE_BUCKETS_PER_PAGE",
    "USAGE_HOURS_PER_PAGE",
    "cold_requests",
]
