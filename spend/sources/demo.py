"""The demo source: a deterministic synthetic organization (``spend.demo_org``), no key, no network.

It emits legacy-shaped payloads, so the demo's OpenAI usage goes through the legacy source's real
parsing, and Anthropic-shaped ones for its Claude share, parsed by the Anthropic source's own
functions (``provider`` "anthropic" on those rows): a visitor with no key sees both providers.

It honours the deployment's zone (``SPEND_TIMEZONE``): its days end yesterday there and its rows are
dated by local date (``DemoOrg``'s ``zone``), so the setting can be tried without a key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd

from spend import dates, pricing
from spend.config import Settings
from spend.normalize import join_names, join_users
from spend.schema import concat_categorical, conform, empty_frame, with_provider
from spend.sources.anthropic import api_keys_to_frame, usage_to_frame, workspaces_to_frame
from spend.sources.base import (
    LoadResult,
    Plan,
    Source,
    check_range,
    day_range,
)
from spend.sources.legacy import legacy_usage_to_frame, legacy_users_to_frame


class DemoSource(Source):
    """A deterministic synthetic organization in the legacy response shape; no network."""

    name = "demo"
    provider = "openai"  # the demo's legacy-shaped rows; its Claude rows say "anthropic"
    title = "Demo organization (no key)"
    label = "Demo data"
    fallback = True

    @classmethod
    def fingerprint(cls, settings: Settings) -> str:
        """The demo has no credential: its size (and a zone other than UTC) names its tables."""
        zone = dates.zone_label(settings.zone)
        return f"demo-{settings.demo_size}" + ("" if zone == "UTC" else f"-{zone}")

    #: Rows (at most) normalized at a time: the raw rows of a chunk are dropped before the next is
    #: built, which keeps the huge demo's peak memory low (~5,500 rows a day, 2 M in a year), while
    #: a small organization is built in one go (each chunk costs a fixed ~0.1 s).
    CHUNK_ROWS = 100_000

    def __init__(self, settings: Settings, **kw: Any) -> None:
        if kw.get("clock") in (None, time.time):  # the default clock: the app's (the same time)
            kw["clock"] = _app_clock
        super().__init__(settings, **kw)
        from spend.demo_org import DemoOrg

        self.org = DemoOrg(settings.demo_size, today=self.today(), zone=settings.zone)

    def today(self) -> date:
        """Today in the deployment's zone: the demo's days are its dates."""
        return dates.local_today(self.settings.zone, self.now())

    def plan(self, start, end) -> Plan:
        check_range(start, end, today=self.today())
        return Plan(self.name, start, end, [], [], rate_per_min=None)

    def assemble(
        self, plan: Plan, *, finish: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    ) -> LoadResult:
        """The demo organization's priced usage table for ``plan``'s range.

        ``finish`` (e.g. ``schema.as_categories``): each chunk of days is named, priced and
        finished on its own and the chunks are joined at the end, so a large table is never held
        twice in its full form (a year of the huge demo peaked at 3 GB the other way).
        """
        days = day_range(plan.start, plan.end)
        users = legacy_users_to_frame(self.org.users_payload())
        step = max(1, self.CHUNK_ROWS // self.org.max_rows_per_day)
        # the Claude share ("anthropic" rows, a few a day) is named and priced with the last chunk
        pages = claude_payloads(self.org, plan.start, plan.end)
        claude = claude_frame(*pages, plan.start, plan.end)
        chunks = []
        for i in range(0, len(days), step):
            last = days[min(i + step, len(days)) - 1]
            chunk = legacy_usage_to_frame(self.org.payloads(days[i], last), source=self.name)
            if i + step >= len(days) and len(claude):  # the last chunk: Claude rows come last
                chunk = pd.concat([conform(chunk), claude], ignore_index=True)
            if finish is not None:
                chunk = finish(self._priced(conform(chunk), users))
            chunks.append(chunk)
        if finish is not None:
            frame = (
                concat_categorical(chunks) if chunks else finish(self._priced(empty_frame(), users))
            )
        else:
            frame = conform(pd.concat(chunks, ignore_index=True)) if chunks else empty_frame()
            frame = self._priced(frame, users)
        return LoadResult(frame=frame, source=self.name, start=plan.start, end=plan.end)

    def _priced(self, frame: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
        priced = pricing.attach_prices(join_users(frame, users), overrides=self.prices)
        return with_provider(priced, self.provider)


def _app_clock() -> float:
    """The app's clock (``dates.utc_now``, which AppTests replace) in Unix seconds."""
    return dates.utc_now().timestamp()


def claude_payloads(org, start, end) -> tuple[dict, dict, dict]:
    """A demo organization and a range into its Anthropic-shaped (usage page, workspaces page,
    API keys page)."""
    return (
        org.claude_usage_payload(start, end),
        org.claude_workspaces_payload(),
        org.claude_api_keys_payload(),
    )


def claude_frame(usage: dict, workspaces: dict, api_keys: dict, start, end) -> pd.DataFrame:
    """Anthropic-shaped pages into the demo's Claude usage table (unpriced), ``source`` "demo"."""
    frame = usage_to_frame([usage], days=(start, end))
    frame = join_names(
        frame, projects=workspaces_to_frame([workspaces]), api_keys=api_keys_to_frame([api_keys])
    )
    return frame.assign(source=pd.Series("demo", index=frame.index, dtype=frame["source"].dtype))
