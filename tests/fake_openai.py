"""A stateful fake of OpenAI's usage APIs, served over real HTTP on 127.0.0.1.

It reproduces ``../shared/API-NOTES.md``, quirks included, for the client, the sources, the CLI, the
page tests, the browser test and the benchmark.

In pytest::

    from tests.fake_openai import ADMIN_KEY, fake_openai, fake_openai_server  # noqa: F401

    def test_x(fake_openai):                       # reset before (and after) every test
        fake_openai.reset(days=5, field_set="2023")  # per-test options; the next test gets defaults
        fake_openai.fail_next(2, status=429, retry_after="3", path_prefix="/v1/usage")
        url = fake_openai.base_url                 # http://127.0.0.1:<port>/v1

Standalone (the browser test and the benchmark start it as a subprocess)::

    python -m tests.fake_openai --port 8765 --days 40 --users 4 --seed 1 --rate-limit-per-min 600

prints its base URL on the first stdout line and serves until killed.

Behaviour, in the order a request meets it:

1. Every request is recorded (``fake.requests``: method, path, query, headers minus
   ``Authorization``) with its status (``fake.statuses``); every response has
   ``x-request-id: req_...``.
2. Injected faults (``fail_next``) are consumed in order, before anything else (a proxy failing).
   Besides failing statuses and garbled bodies they include answers that parse but must never be
   kept (issue 10): ``kind="error"`` with ``status=200`` (an error envelope at 200), ``"null"``,
   ``"string"``, ``"wrong_shape"``; the real answer altered: ``"huge_count"`` (a count of 1e30),
   ``"negative_count"`` (-5), ``"nulls"`` (every number of every row null), ``"cursor_loop"``
   (``has_more`` with a cursor back to the same page: the same days twice); and ``"echo_auth"``
   (a 401 that echoes the ``Authorization`` header, a ``sess-`` and an ``sk_live_`` token).
   Switches that hold until turned off: ``cursor_loop=True`` (every page points back to itself),
   ``rename`` (exact string values replaced in every answer, e.g. a model named like a Markdown
   link: ``hostile_renames``), ``before_answer`` (called with the path before each answer: a test
   deletes the cache there, or holds one request).
3. Unknown path -> 404 ``Invalid URL (GET /v1/...)``; not GET -> 405.
4. Auth. Missing or unknown bearer key -> 401 ``invalid_api_key`` (the key redacted in the message).
   Admin endpoints (``/v1/organization/...``) with the legacy key -> 403 ``Missing scopes:
   api.usage.read`` (``api.management.read`` for users/projects). Legacy endpoints, admin key
   -> 403. Legacy endpoints also need ``OpenAI-Organization`` equal to the org: otherwise
   ``/organizations/{org}/users`` -> 404 "No such organization" (also when ``{org}`` is wrong) and
   ``/usage`` -> 403 ``mismatched_organization`` (our pick: the notes allow 403 or 404).
5. Rate limit (``rate_limit_per_min``; off when None): per credential, a sliding 60 s window on the
   fake's ``clock``; over it -> 429 with an integer ``Retry-After``. Refused requests don't count.
6. The endpoint. Bad parameters -> 400 with the standard error envelope.

Legacy ``/v1/usage`` quirks kept: org-wide answers have ``user_id``/``email`` null on every row;
per-user answers carry only that user's rows, with ``user_id``/``email`` set on ``data`` rows and
``user_id`` = the user's *email* on dall-e/whisper/tts rows (as in Elastic's fixture). Rows of the
default project carry the project *name* in ``project_id``. Service-account usage (no user) appears
only org-wide, so per-user sums are smaller than org totals. ``ft_data`` holds one row of an unknown
shape (org-wide only, second day of the range). ``field_set="2023"`` rows have ``n_context``,
``n_generated`` plus the ``_total`` token fields and no cached/key/project fields; the body has
``current_usage_usd: 0`` and no ``assistant_code_interpreter_data``/``retrieval_storage_data``.
An unknown ``user_public_id`` or a day without data -> 200 with empty arrays. ``legacy_empty=True``
answers every usage call with empty arrays (the Feb 2026 report).

Admin quirks kept: ``amount.value`` is a JSON string (``costs_amount_as="number"`` for the spec's
number); buckets are aligned to UTC midnight (1d), empty days have ``results: []``; an ``end_time``
later than the fake's wall clock (+60 s) -> 400 (``reject_future_end_time``); ``limit`` above the
max (usage 1d 31, 1h 168, 1m 1440; costs 180) -> 400; unknown ``group_by`` values -> 400 (both
``group_by`` and ``group_by[]`` spellings, repeated, are read; a comma list is refused). For 1h
buckets a day's usage is spread over 02:00, 12:00 and 23:00 UTC (``HOURLY_SPREAD``: the hours of a
day add up to its daily bucket exactly; costs stay daily); for 1m buckets it sits in the bucket
holding 12:00 UTC. Project API keys whose owner left the
project (``owner_project_access: inactive``) are hidden unless asked for with
``owner_project_access=any|inactive``.

Per-modality completions (spec 2026-07): every completions result carries the split fields
(``input_text_tokens`` = uncached text, ...). ``realtime=True`` adds a voice app for the first user
(``REALTIME_MODEL``, audio-heavy, billed per modality at ``REALTIME_PRICES``), whose legacy rows are
``completion-realtime`` without a split. Tool endpoints count tool calls, sessions and bytes; the
``num_model_requests`` of web search are requests the completions endpoint already counts.

Spend controls (spec 2026-07, ``spend-controls-openapi.yaml``): ``/v1/organization/spend_limit``,
``/spend_alerts`` and the same under ``/projects/{id}/``, from the options ``spend_limit_cents``,
``spend_alert_cents``, ``project_spend_limit_cents`` and ``project_spend_alert_cents`` (projects
named by id or name). No limit set -> 404 (our pick: the spec does not say); alerts are a list
paginated like the other lists; ``spend_controls=False`` answers every such path 404 as an API
from before 2026-07 would.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import dataclasses
import functools
import json
import math
import random
import re
import signal
import string
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

import pytest
from requests.structures import CaseInsensitiveDict
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

LEGACY_KEY = "sk-test-legacy-0000000000000000"
ADMIN_KEY = "sk-admin-test-0000000000000000"
ORG_ID = "org-TestOrg000000000000000"
ORG_NAME = "Test Org"

DAY = 86_400
FT_MODEL = "ft:gpt-4o-mini-2024-07-18:acme::abc123"
CHAT_MODELS = ("gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "o3-mini-2025-01-31")
EMBEDDING_MODEL = "text-embedding-3-small"
MODERATION_MODEL = "omni-moderation-2024-09-26"
IMAGE_MODEL = "dall-e-3"
TRANSCRIPTION_MODEL = "whisper-1"
SPEECH_MODEL = "tts-1"
NAMES = (
    "Ada Lovelace",
    None,  # a member without a name
    "Grace Hopper",
    "Alan Turing",
    "Katherine Johnson",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
)

# kind -> (result object, metric fields, dimension fields = allowed group_by, extra filters)
USAGE_KINDS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], dict[str, str]]] = {
    "completions": (
        "organization.usage.completions.result",
        (
            "input_tokens",
            "input_cached_tokens",
            "input_cache_write_tokens",
            "input_uncached_tokens",
            "output_tokens",
            "input_text_tokens",
            "output_text_tokens",
            "input_cached_text_tokens",
            "input_audio_tokens",
            "input_cached_audio_tokens",
            "output_audio_tokens",
            "input_image_tokens",
            "input_cached_image_tokens",
            "output_image_tokens",
            "num_model_requests",
        ),
        ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier"),
        {},
    ),
    "embeddings": (
        "organization.usage.embeddings.result",
        ("input_tokens", "num_model_requests"),
        ("project_id", "user_id", "api_key_id", "model"),
        {},
    ),
    "moderations": (
        "organization.usage.moderations.result",
        ("input_tokens", "num_model_requests"),
        ("project_id", "user_id", "api_key_id", "model"),
        {},
    ),
    "images": (
        "organization.usage.images.result",
        ("images", "num_model_requests"),
        ("size", "source", "project_id", "user_id", "api_key_id", "model"),
        {"sizes": "size", "sources": "source"},
    ),
    "audio_speeches": (
        "organization.usage.audio_speeches.result",
        ("characters", "num_model_requests"),
        ("project_id", "user_id", "api_key_id", "model"),
        {},
    ),
    "audio_transcriptions": (
        "organization.usage.audio_transcriptions.result",
        ("seconds", "num_model_requests"),
        ("project_id", "user_id", "api_key_id", "model"),
        {},
    ),
    "vector_stores": (
        "organization.usage.vector_stores.result",
        ("usage_bytes",),
        ("project_id",),
        {},
    ),
    "code_interpreter_sessions": (
        "organization.usage.code_interpreter_sessions.result",
        ("num_sessions",),
        ("project_id",),
        {},
    ),
    "file_search_calls": (
        "organization.usage.file_searches.result",
        ("num_requests",),
        ("project_id", "user_id", "api_key_id", "vector_store_id"),
        {"vector_store_ids": "vector_store_id"},
    ),
    "web_search_calls": (
        "organization.usage.web_searches.result",
        ("num_model_requests", "num_requests"),
        ("project_id", "user_id", "api_key_id", "model", "context_level"),
        {"context_levels": "context_level"},
    ),
}
COMMON_FILTERS = {
    "project_ids": "project_id",
    "user_ids": "user_id",
    "api_key_ids": "api_key_id",
    "models": "model",
}
BUCKET_WIDTHS = {"1d": (DAY, 7, 31), "1h": (3_600, 24, 168), "1m": (60, 60, 1_440)}
COSTS_GROUP_BY = ("project_id", "line_item", "api_key_id")
COSTS_LIMIT = (7, 180)
LIST_LIMIT = (20, 100)
MICRO = Decimal("0.000001")
# USD per unit (per token, image, second, character, call, byte-day, session); batch halves tokens.
PRICES: dict[
    str, tuple[Decimal, Decimal, Decimal]
] = {  # model -> (input, cached input, output) per 1M
    "gpt-4o-2024-08-06": (Decimal("2.50"), Decimal("1.25"), Decimal("10.00")),
    "gpt-4o-mini-2024-07-18": (Decimal("0.15"), Decimal("0.075"), Decimal("0.60")),
    "o3-mini-2025-01-31": (Decimal("1.10"), Decimal("0.55"), Decimal("4.40")),
    FT_MODEL: (Decimal("0.30"), Decimal("0.15"), Decimal("1.20")),
    EMBEDDING_MODEL: (Decimal("0.02"), Decimal("0"), Decimal("0")),
}
IMAGE_PRICES = {"1024x1024": Decimal("0.04"), "1024x1792": Decimal("0.08")}
# A voice app (option ``realtime=True``): realtime completions split by modality, at list prices per
# 1M tokens (gpt-4o-realtime-preview-2024-12-17, openai.com/api/pricing): result field -> USD.
REALTIME_MODEL = "gpt-4o-realtime-preview-2024-12-17"
REALTIME_PRICES: dict[str, Decimal] = {
    "input_text_tokens": Decimal("5.00"),
    "input_cached_text_tokens": Decimal("2.50"),
    "input_audio_tokens": Decimal("40.00"),
    "input_cached_audio_tokens": Decimal("2.50"),
    "output_text_tokens": Decimal("20.00"),
    "output_audio_tokens": Decimal("80.00"),
}

_DEFAULT = object()


# --------------------------------------------------------------------------------------------------
# The world: users, projects, keys and daily usage records, all derived from a seed


@dataclasses.dataclass(frozen=True)
class User:
    id: str
    name: str | None
    email: str
    role: str
    created: int


@dataclasses.dataclass(frozen=True)
class Project:
    id: str
    name: str
    created_at: int
    archived_at: int | None


@dataclasses.dataclass(frozen=True)
class ApiKey:
    id: str
    name: str | None
    project_id: str
    owner_user_id: str | None  # None: owned by the service account
    redacted_value: str
    created_at: int
    owner_project_access: str  # active | inactive


class CostLine(NamedTuple):
    line_item: str
    quantity: float
    quantity_unit: str | None
    amount: Decimal


@dataclasses.dataclass(frozen=True)
class Record:
    """One day x dimensions x kind of usage: what the admin API sums and the legacy API splits."""

    day: date
    kind: str
    dims: Mapping[str, Any]
    metrics: Mapping[str, int]
    windows: tuple[
        tuple[int, Mapping[str, int]], ...
    ]  # legacy (aggregation_timestamp, metrics part)
    costs: tuple[CostLine, ...]


@dataclasses.dataclass(frozen=True)
class World:
    org_id: str
    start: date
    end: date
    users: tuple[User, ...]
    projects: tuple[Project, ...]
    keys: tuple[ApiKey, ...]
    service_account: Mapping[str, Any]
    records: tuple[Record, ...]
    ft_job: Mapping[str, Any]

    def user(self, user_id: str | None) -> User | None:
        """A user id into its user, e.g. ``"user-..." -> User(...)``; None when unknown."""
        return next((u for u in self.users if u.id == user_id), None)

    def project(self, project_id: str | None) -> Project | None:
        """A project id into its project; None when unknown."""
        return next((p for p in self.projects if p.id == project_id), None)

    def key(self, key_id: str | None) -> ApiKey | None:
        """An API key id into its key; None when unknown."""
        return next((k for k in self.keys if k.id == key_id), None)


def day_start(day: date) -> int:
    """A date into the unix seconds of its UTC midnight, e.g. 2024-11-01 -> 1730419200."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def ts_day(ts: int) -> date:
    """Unix seconds into their UTC date, e.g. 1730419200 -> 2024-11-01."""
    return datetime.fromtimestamp(ts, tz=UTC).date()


def _alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def split_requests(total: int, k: int, rng: random.Random) -> list[int]:
    """A request count into k positive parts summing to it, e.g. (10, 3) -> [2, 5, 3]."""
    k = max(1, min(k, total))
    cuts = sorted(rng.sample(range(1, total), k - 1)) if k > 1 else []
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def split_metrics(
    metrics: Mapping[str, int], req_field: str, k: int, rng: random.Random
) -> list[dict[str, int]]:
    """Metrics into k parts in proportion to a request split, each summing back exactly."""
    total = metrics[req_field]
    parts = split_requests(total, k, rng) if total > 0 else [0]
    out: list[dict[str, int]] = [{} for _ in parts]
    for name, value in metrics.items():
        done = 0
        for i, part in enumerate(parts):
            share = value - done if i == len(parts) - 1 else (value * part // total if total else 0)
            out[i][name] = share
            done += share
    return out


def cost_lines(
    kind: str, dims: Mapping[str, Any], metrics: Mapping[str, int]
) -> tuple[CostLine, ...]:
    """A usage record into its billed line items, e.g. completions -> input, cached, output."""
    model = dims.get("model")

    def line(label: str, qty: float, unit: str | None, price: Decimal) -> CostLine:
        return CostLine(
            label, qty, unit, (Decimal(str(qty)) * price).quantize(MICRO, ROUND_HALF_UP)
        )

    per_m = Decimal(1_000_000)
    if kind == "completions" and model == REALTIME_MODEL:
        return tuple(
            line(f"{model}, {field.replace('_tokens', '').replace('_', ' ')}", qty, "tokens", price)
            for field, usd in REALTIME_PRICES.items()
            for qty, price in [(metrics[field], usd / per_m)]
        )
    if kind == "completions":
        p_in, p_cached, p_out = PRICES[model]
        factor = Decimal("0.5") if dims.get("batch") else Decimal(1)
        suffix = ", batch" if dims.get("batch") else ""
        return (
            line(
                f"{model}, input{suffix}",
                metrics["input_uncached_tokens"],
                "tokens",
                p_in * factor / per_m,
            ),
            line(
                f"{model}, cached input{suffix}",
                metrics["input_cached_tokens"],
                "tokens",
                p_cached * factor / per_m,
            ),
            line(
                f"{model}, output{suffix}",
                metrics["output_tokens"],
                "tokens",
                p_out * factor / per_m,
            ),
        )
    if kind == "embeddings":
        return (
            line(f"{model}, input", metrics["input_tokens"], "tokens", PRICES[model][0] / per_m),
        )
    if kind == "images":
        return (
            line(
                f"{model}, {dims['size']}, standard",
                metrics["images"],
                "images",
                IMAGE_PRICES[dims["size"]],
            ),
        )
    if kind == "audio_transcriptions":
        return (
            line(
                f"{model}, transcription", metrics["seconds"], "duration_seconds", Decimal("0.0001")
            ),
        )
    if kind == "audio_speeches":
        return (
            line(f"{model}, characters", metrics["characters"], "characters", Decimal(15) / per_m),
        )
    if kind == "web_search_calls":
        return (line("web search tool calls", metrics["num_requests"], None, Decimal("0.01")),)
    if kind == "file_search_calls":
        return (line("file search tool calls", metrics["num_requests"], None, Decimal("0.0025")),)
    if kind == "code_interpreter_sessions":
        return (line("code interpreter sessions", metrics["num_sessions"], None, Decimal("0.03")),)
    if kind == "vector_stores":
        gib_hours = round(metrics["usage_bytes"] / 2**30 * 24, 6)
        return (line("vector store storage", gib_hours, "gibibyte_hours", Decimal("0.1") / 24),)
    return ()  # moderations are free


_DIM_DEFAULTS = {name: None for spec in USAGE_KINDS.values() for name in spec[2]}
_LEGACY_KINDS = ("completions", "embeddings", "images", "audio_transcriptions", "audio_speeches")
_REQUEST_FIELD = {
    "vector_stores": "usage_bytes",
    "code_interpreter_sessions": "num_sessions",
    "file_search_calls": "num_requests",
}


def make_record(
    day: date, kind: str, dims: Mapping[str, Any], metrics: Mapping[str, int], rng: random.Random
) -> Record:
    """Dimensions and metrics into a Record with legacy windows and cost lines precomputed."""
    full_dims = {**_DIM_DEFAULTS, **dims}
    full_metrics = {name: int(metrics.get(name, 0)) for name in USAGE_KINDS[kind][1]}
    windows: tuple[tuple[int, Mapping[str, int]], ...] = ()
    if kind in _LEGACY_KINDS:
        req = _REQUEST_FIELD.get(kind, "num_model_requests")
        parts = split_metrics(full_metrics, req, rng.randint(1, 3), rng)
        slots = sorted(rng.sample(range(288), len(parts)))  # 5-minute windows
        windows = tuple(
            (day_start(day) + slot * 300, part) for slot, part in zip(slots, parts, strict=True)
        )
    return Record(
        day, kind, full_dims, full_metrics, windows, cost_lines(kind, full_dims, full_metrics)
    )


def build_world(
    seed: int,
    days: int,
    users: int,
    end_date: date,
    org_id: str = ORG_ID,
    realtime: bool = False,
) -> World:
    """A seed and a range into a deterministic World; a day's data never depends on the range.

    ``realtime``: the first user also runs a voice app every day (``REALTIME_MODEL``, completions
    split by modality; ``completion-realtime`` rows in legacy answers), drawn from a random stream
    of its own so every other record is the same as without it.
    """
    if days < 1 or users < 1:
        raise ValueError("days and users must be >= 1")
    rng = random.Random(f"ids:{seed}")
    start = end_date - timedelta(days=days - 1)
    epoch = day_start(date(2023, 3, 1))
    people = []
    for i in range(users):
        name = NAMES[i % len(NAMES)] if i < len(NAMES) else f"Member {i}"
        local = (name or f"user{i}").lower().replace(" ", ".")
        people.append(
            User(
                f"user-{_alnum(rng, 24)}",
                name,
                f"{local}@example.com",
                "owner" if i == 0 else "reader",
                epoch + i * 7 * DAY,
            )
        )
    archived_day = start + timedelta(days=min(3, days - 1))
    default = Project(f"proj_{_alnum(rng, 24)}", "Default project", epoch, None)
    research = Project(f"proj_{_alnum(rng, 24)}", "Research", epoch + 30 * DAY, None)
    old = Project(
        f"proj_{_alnum(rng, 24)}", "Old prototype", epoch + 60 * DAY, day_start(archived_day)
    )
    service_account = {
        "id": f"svc_acct_{_alnum(rng, 24)}",
        "name": "ci-bot",
        "role": "member",
        "created_at": epoch + 90 * DAY,
    }

    def new_key(
        name: str | None, project: Project, owner: str | None, access: str = "active"
    ) -> ApiKey:
        suffix = _alnum(rng, 4)
        return ApiKey(
            f"key_{_alnum(rng, 16)}",
            name,
            project.id,
            owner,
            f"sk-proj-****{suffix}",
            project.created_at + DAY,
            access,
        )

    keys: list[ApiKey] = []
    for i, person in enumerate(people):
        first = (person.name or "nameless").split()[0].lower()
        keys.append(new_key(f"{first}-laptop", default, person.id))
        if i % 2 == 1:
            keys.append(new_key(f"{first}-research", research, person.id))
    odd = [k for k in keys if k.project_id == research.id]
    if odd:  # the owner of the last research key left the project: hidden by default in key lists
        keys[keys.index(odd[-1])] = dataclasses.replace(odd[-1], owner_project_access="inactive")
    keys.append(new_key(None, research, None))  # service-account key, no name
    keys.append(new_key("prototype", old, people[0].id))
    svc_key, old_key = keys[-2], keys[-1]
    vector_stores = {
        default.id: f"vs_{_alnum(rng, 24)}",
        research.id: f"vs_{_alnum(rng, 24)}",
        old.id: f"vs_{_alnum(rng, 24)}",
    }

    records: list[Record] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        drng = random.Random(f"day:{seed}:{day.isoformat()}")
        for i, person in enumerate(people):
            mine = [k for k in keys if k.owner_user_id == person.id and k.project_id != old.id]
            if i == 0 and day < archived_day:
                mine.append(old_key)
            forced = day == end_date and i == 0  # every kind the notes list shows up at least once
            if not forced and drng.random() > 0.85:
                continue

            def ids(k: ApiKey, user_id: str = person.id) -> dict[str, Any]:
                return {"project_id": k.project_id, "user_id": user_id, "api_key_id": k.id}

            for _ in range(drng.randint(1, 3)):
                model = FT_MODEL if i == 0 and drng.random() < 0.2 else drng.choice(CHAT_MODELS)
                records.append(completion_record(day, model, ids(drng.choice(mine)), drng))
            if forced:
                records.append(completion_record(day, FT_MODEL, ids(mine[0]), drng))
            if forced or drng.random() < 0.5:
                r = drng.randint(1, 100)
                records.append(
                    make_record(
                        day,
                        "embeddings",
                        {**ids(drng.choice(mine)), "model": EMBEDDING_MODEL},
                        {"num_model_requests": r, "input_tokens": r * drng.randint(50, 500)},
                        drng,
                    )
                )
            if forced or drng.random() < 0.3:
                r = drng.randint(1, 50)
                records.append(
                    make_record(
                        day,
                        "moderations",
                        {**ids(drng.choice(mine)), "model": MODERATION_MODEL},
                        {"num_model_requests": r, "input_tokens": r * drng.randint(20, 200)},
                        drng,
                    )
                )
            if forced or drng.random() < 0.25:
                r = drng.randint(1, 5)
                size = drng.choice(("1024x1024", "1024x1024", "1024x1792"))
                records.append(
                    make_record(
                        day,
                        "images",
                        {
                            **ids(drng.choice(mine)),
                            "model": IMAGE_MODEL,
                            "size": size,
                            "source": "image.generation",
                        },
                        {"num_model_requests": r, "images": r * drng.choice((1, 1, 2))},
                        drng,
                    )
                )
            if forced or drng.random() < 0.25:
                r = drng.randint(1, 10)
                records.append(
                    make_record(
                        day,
                        "audio_transcriptions",
                        {**ids(drng.choice(mine)), "model": TRANSCRIPTION_MODEL},
                        {"num_model_requests": r, "seconds": r * drng.randint(10, 300)},
                        drng,
                    )
                )
            if forced or drng.random() < 0.25:
                r = drng.randint(1, 10)
                records.append(
                    make_record(
                        day,
                        "audio_speeches",
                        {**ids(drng.choice(mine)), "model": SPEECH_MODEL},
                        {"num_model_requests": r, "characters": r * drng.randint(100, 2000)},
                        drng,
                    )
                )
            if forced or drng.random() < 0.2:
                r = drng.randint(1, 10)
                records.append(
                    make_record(
                        day,
                        "web_search_calls",
                        {
                            **ids(drng.choice(mine)),
                            "model": CHAT_MODELS[0],
                            "context_level": drng.choice(("low", "medium")),
                        },
                        {"num_model_requests": r, "num_requests": r},
                        drng,
                    )
                )
            if forced or drng.random() < 0.2:
                key = drng.choice(mine)
                records.append(
                    make_record(
                        day,
                        "file_search_calls",
                        {**ids(key), "vector_store_id": vector_stores[key.project_id]},
                        {"num_requests": drng.randint(1, 20)},
                        drng,
                    )
                )
        if realtime:
            first_key = next(k for k in keys if k.owner_user_id == people[0].id)
            records.append(
                realtime_record(
                    day,
                    {
                        "project_id": first_key.project_id,
                        "user_id": people[0].id,
                        "api_key_id": first_key.id,
                    },
                    random.Random(f"realtime:{seed}:{day.isoformat()}"),
                )
            )
        # usage no user owns: the service account, and project-level storage and sessions
        if drng.random() < 0.9:
            records.append(
                completion_record(
                    day,
                    CHAT_MODELS[1],
                    {"project_id": research.id, "user_id": None, "api_key_id": svc_key.id},
                    drng,
                )
            )
        for project, base in ((default, 5_000_000), (research, 50_000_000)):
            records.append(
                make_record(
                    day,
                    "vector_stores",
                    {"project_id": project.id},
                    {
                        "usage_bytes": base
                        + (day - date(2024, 1, 1)).days * 100_000
                        + drng.randint(0, 999)
                    },
                    drng,
                )
            )
        if day == end_date or drng.random() < 0.3:
            records.append(
                make_record(
                    day,
                    "code_interpreter_sessions",
                    {"project_id": research.id},
                    {"num_sessions": drng.randint(1, 4)},
                    drng,
                )
            )
    ft_job = {
        "object": "fine_tuning.job.usage",
        "created_at": day_start(start + timedelta(days=min(1, days - 1))) + 4_000,
        "job_id": f"ftjob-{_alnum(rng, 24)}",
        "model_id": FT_MODEL,
        "trained_tokens": 123_456,
        "hyperparameters": {"n_epochs": 3},
        "status": "succeeded",
    }
    return World(
        org_id,
        start,
        end_date,
        tuple(people),
        (default, research, old),
        tuple(keys),
        service_account,
        tuple(records),
        ft_job,
    )


@functools.lru_cache(maxsize=8)
def _cached_world(
    seed: int, days: int, users: int, end_date: date, org_id: str, realtime: bool = False
) -> World:
    return build_world(seed, days, users, end_date, org_id, realtime)


def completion_record(day: date, model: str, ids: Mapping[str, Any], rng: random.Random) -> Record:
    """Random completions usage for one model and key into a Record."""
    r = rng.randint(1, 40)
    input_tokens = r * rng.randint(300, 2500)
    cached = input_tokens * rng.randint(0, 50) // 100
    batch = rng.random() < 0.15
    tier = "default" if batch or rng.random() > 0.1 else "flex"
    output = r * rng.randint(50, 600)
    metrics = {
        "num_model_requests": r,
        "input_tokens": input_tokens,
        "input_cached_tokens": cached,
        "input_uncached_tokens": input_tokens - cached,
        "output_tokens": output,
        "input_text_tokens": input_tokens - cached,  # uncached text (spec 2026-07)
        "output_text_tokens": output,
        "input_cached_text_tokens": cached,
    }
    return make_record(
        day,
        "completions",
        {**ids, "model": model, "batch": batch, "service_tier": tier},
        metrics,
        rng,
    )


def realtime_record(
    day: date, ids: Mapping[str, Any], rng: random.Random, model: str = REALTIME_MODEL
) -> Record:
    """Random voice-app usage for one key into a completions Record split by modality (spec
    2026-07): audio dominates, some of each input is cached, totals add up."""
    r = rng.randint(5, 60)
    text_in, audio_in = r * rng.randint(200, 800), r * rng.randint(1_000, 4_000)
    cached_text, cached_audio = (
        text_in * rng.randint(0, 60) // 100,
        audio_in * rng.randint(0, 60) // 100,
    )
    text_out, audio_out = r * rng.randint(50, 300), r * rng.randint(500, 2_500)
    metrics = {
        "num_model_requests": r,
        "input_tokens": text_in + audio_in,
        "input_cached_tokens": cached_text + cached_audio,
        "input_uncached_tokens": text_in + audio_in - cached_text - cached_audio,
        "output_tokens": text_out + audio_out,
        "input_text_tokens": text_in - cached_text,
        "input_cached_text_tokens": cached_text,
        "input_audio_tokens": audio_in - cached_audio,
        "input_cached_audio_tokens": cached_audio,
        "output_text_tokens": text_out,
        "output_audio_tokens": audio_out,
    }
    dims = {**ids, "model": model, "batch": False, "service_tier": "default"}
    return make_record(day, "completions", dims, metrics, rng)


# --------------------------------------------------------------------------------------------------
# Pure response builders


def error_body(
    message: str,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """A message into OpenAI's error envelope, e.g. "bad" -> {"error": {"message": "bad", ...}}."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class ApiFailure(Exception):
    """A request the fake refuses: carries the status, the envelope and extra headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type_: str = "invalid_request_error",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, type_, param, code)
        self.headers = dict(headers or {})


def redact_key(key: str) -> str:
    """An API key into the form OpenAI echoes, e.g. "sk-test-abcdef1234" -> "sk-te***1234"."""
    return f"{key[:5]}***{key[-4:]}" if len(key) > 12 else "***"


def arg_list(args: Any, name: str) -> list[str]:
    """A query's repeated and bracket spellings into one list, e.g. a=1&a[]=2 -> ["1", "2"]."""
    return [*args.getlist(name), *args.getlist(f"{name}[]")]


def int_arg(
    args: Any, name: str, default: int | None = None, *, required: bool = False
) -> int | None:
    """A query parameter into an int, e.g. "7" -> 7; 400 when missing (if required) or bad."""
    raw = args.get(name)
    if raw is None or raw == "":
        if required:
            raise ApiFailure(
                400,
                f"Missing required parameter: '{name}'.",
                param=name,
                code="missing_required_parameter",
            )
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiFailure(
            400,
            f"Invalid value for '{name}': expected an integer, got {raw!r}.",
            param=name,
            code="invalid_value",
        ) from None


def encode_cursor(kind: str, start_time: int) -> str:
    """A kind and the next bucket start into an opaque page cursor, e.g. -> "page_eyJ..."."""
    raw = json.dumps({"k": kind, "t": start_time}, separators=(",", ":")).encode()
    return "page_" + base64.urlsafe_b64encode(raw).decode()


def decode_cursor(kind: str, cursor: str) -> int:
    """A page cursor into the bucket start it points at; 400 when not one of ours for this kind."""
    try:
        if not cursor.startswith("page_"):
            raise ValueError(cursor)
        data = json.loads(base64.urlsafe_b64decode(cursor[5:].encode()))
        if data["k"] != kind:
            raise ValueError(cursor)
        return int(data["t"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ApiFailure(400, "Invalid page cursor.", param="page", code="invalid_value") from None


def record_matches(record: Record, filters: Mapping[str, list[str]]) -> bool:
    """Whether a record passes every filter (dimension -> allowed string values)."""
    for dim, allowed in filters.items():
        value = record.dims.get(dim)
        if dim == "batch":
            value = "true" if value else "false"
        if value not in allowed:
            return False
    return True


def day_filter(records: Iterable[Record], start: date | None, end: date | None) -> Iterator[Record]:
    """Records into those whose day is within [start, end] (inclusive; None = open)."""
    return (
        r for r in records if (start is None or r.day >= start) and (end is None or r.day <= end)
    )


def by_bucket(records: Iterable[Record], width: int, offset: int) -> dict[int, list[Record]]:
    """Records into lists keyed by the start of the bucket holding day start + offset seconds."""
    out: dict[int, list[Record]] = {}
    for record in records:
        t = day_start(record.day) + offset
        out.setdefault(t - t % width, []).append(record)
    return out


#: Hourly buckets (``bucket_width=1h``): a day's usage is spread over these UTC hours by these
#: weights, so a business time zone's date boundary cuts through a UTC day's usage (02:00 is the
#: evening before in the Americas, 23:00 the next morning in Europe and Asia). Each metric is split
#: in whole units, the last hour takes the rest: the hours of a day add up to its daily bucket
#: exactly. A level (``usage_bytes``) is the same in each hour, as the day's peak.
HOURLY_SPREAD = ((2, 1), (12, 2), (23, 1))
HOUR = 3_600
LEVEL_METRICS = frozenset({"usage_bytes"})


def hourly_parts(metrics: Mapping[str, int]) -> list[tuple[int, dict[str, int]]]:
    """A day's metrics into (UTC hour of the day, metrics) that add up to it exactly, e.g.
    ``{"input_tokens": 10}`` -> [(2, 2), (12, 5), (23, 3)] by ``HOURLY_SPREAD``."""
    total = sum(w for _, w in HOURLY_SPREAD)
    parts: list[tuple[int, dict[str, int]]] = [(h, {}) for h, _ in HOURLY_SPREAD]
    for name, value in metrics.items():
        done = 0
        for i, (_, weight) in enumerate(HOURLY_SPREAD):
            if name in LEVEL_METRICS:
                share = value
            elif i == len(HOURLY_SPREAD) - 1:
                share = value - done
            else:
                share = value * weight // total
            parts[i][1][name] = share
            done += share
    return parts


def by_hour(records: Iterable[Record]) -> dict[int, list[tuple[Record, Mapping[str, int]]]]:
    """Records into (record, its part) per UTC hour start (``hourly_parts``)."""
    out: dict[int, list[tuple[Record, Mapping[str, int]]]] = {}
    for record in records:
        for hour, part in hourly_parts(record.metrics):
            out.setdefault(day_start(record.day) + hour * HOUR, []).append((record, part))
    return out


def bucket_starts(start_time: int, end_time: int, width: int) -> list[int]:
    """A time range into aligned bucket starts, e.g. (noon day 1, day 3, 1d) -> [day 1, day 2]."""
    first = start_time - start_time % width
    return list(range(first, end_time, width))


def decimal_string(value: Decimal) -> str:
    """A Decimal into a fixed-point string with 6 decimals, e.g. Decimal("0.5") -> "0.500000"."""
    return format(value.quantize(MICRO, ROUND_HALF_UP), "f")


# --------------------------------------------------------------------------------------------------
# Faults and recording


class RecordedRequest(NamedTuple):
    method: str
    path: str
    query: dict[str, str | list[str]]  # one value -> str, repeated -> list
    headers: CaseInsensitiveDict  # every header but Authorization


@dataclasses.dataclass(frozen=True)
class Fault:
    kind: str  # one of FAULT_KINDS
    status: int
    retry_after: str | None
    path_prefix: str | None


_HTML = (
    b"<html>\r\n<head><title>{status} Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>{status} Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
_TRUNCATED = b'{"object": "page", "data": [{"object": "bucket", "start_time": 17304192'
_NOT_JSON = b"upstream connect error or disconnect/reset before headers. reset reason: overflow"
_STATUS_MESSAGES = {
    429: (
        "Rate limit reached for requests. Please try again later.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: (
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


def fault_response(fault: Fault) -> tuple[int, bytes, dict[str, str]]:
    """A Fault into (status, body, headers), e.g. html -> a Cloudflare page with text/html."""
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    if fault.kind in _PARSED_FAULTS:
        body = json.dumps(_PARSED_FAULTS[fault.kind]).encode()
        return fault.status, body, {**headers, "Content-Type": "application/json"}
    if fault.kind == "html":
        return (
            fault.status,
            _HTML.replace(b"{status}", str(fault.status).encode()),
            {**headers, "Content-Type": "text/html"},
        )
    if fault.kind == "empty":
        return fault.status, b"", {**headers, "Content-Type": "application/json"}
    if fault.kind == "truncated":
        return fault.status, _TRUNCATED, {**headers, "Content-Type": "application/json"}
    if fault.kind == "not_json":
        return fault.status, _NOT_JSON, {**headers, "Content-Type": "text/plain"}
    message, type_, code = _STATUS_MESSAGES.get(
        fault.status, (f"Injected error {fault.status}.", "server_error", None)
    )
    return (
        fault.status,
        json.dumps(error_body(message, type_, None, code)).encode(),
        {**headers, "Content-Type": "application/json"},
    )


#: Fault kinds: answered instead of the endpoint, or (ALTERING_FAULTS) its real answer altered.
ALTERING_FAULTS = ("huge_count", "negative_count", "nulls", "cursor_loop")
FAULT_KINDS = (
    "error",
    "html",
    "empty",
    "truncated",
    "not_json",
    "null",
    "string",
    "wrong_shape",
    "echo_auth",
    *ALTERING_FAULTS,
)
_PARSED_FAULTS = {
    "null": None,
    "string": "ok",
    "wrong_shape": {"object": "list", "data": {"unexpected": "an object where a list belongs"}},
}
#: A name that is Markdown for a link and for an image the browser would fetch (issue 10).
HOSTILE = "[x](https://evil.example) ![b](http://127.0.0.1:9/beacon.png)"
#: The session token and Stripe-style key an ``echo_auth`` fault repeats.
ECHOED_SECRETS = ("sess-AbCdEf0123456789secret", "sk_live_51HzZzSecretLiveKey0000")


def hostile_renames(world: World) -> tuple[tuple[str, str], ...]:
    """A world into ``rename`` pairs giving its first model, user, project and key hostile names,
    e.g. ``gpt-4o-2024-08-06`` -> a Markdown link and image; the user's e-mail stays e-mail-like."""
    user, project, key = world.users[0], world.projects[0], world.keys[0]
    pairs = [
        (CHAT_MODELS[0], HOSTILE),
        (project.name, f":red[proj] {HOSTILE}"),
        (key.name, f"<img src=x onerror=alert(1)> {HOSTILE}"),
        (user.email, "[eve](https://evil.example)@evil.example"),
    ]
    if user.name is not None:
        pairs.append((user.name, f"**Eve** {HOSTILE}"))
    return tuple(pairs)


def rename_values(body: Any, names: Mapping[str, str]) -> Any:
    """A decoded answer into a copy with every string value found in ``names`` replaced, e.g.
    ``{"model": "gpt-4o"}`` with ``{"gpt-4o": "x"}`` -> ``{"model": "x"}`` (keys untouched)."""
    if isinstance(body, dict):
        return {k: rename_values(v, names) for k, v in body.items()}
    if isinstance(body, list):
        return [rename_values(v, names) for v in body]
    if isinstance(body, str):
        return names.get(body, body)
    return body


def _first_count(body: Any) -> tuple[dict, str] | None:
    """A usage answer into (row, field) of its first non-zero token count, or None."""
    names = ("n_context_tokens_total", "input_tokens", "num_model_requests", "n_requests")
    for row in _rows_of(body):
        for name in names:
            if isinstance(row, dict) and row.get(name):
                return row, name
    return None


def _rows_of(body: Any) -> list[Any]:
    """A usage or costs answer into its rows: every bucket's results of a page, else every row of
    a legacy body's ``*data`` arrays."""
    if isinstance(body, dict) and body.get("object") == "page":
        return [r for b in body.get("data") or [] for r in b.get("results") or []]
    if isinstance(body, dict):
        return [r for k, v in body.items() if k.endswith("data") and isinstance(v, list) for r in v]
    return []


def _null_numbers(row: Any) -> None:
    """Every number in a row (and in its objects, e.g. ``amount.value``, a string) into null."""
    if not isinstance(row, dict):
        return
    for name, value in row.items():
        if isinstance(value, dict):
            _null_numbers(value)
        elif _is_number(value):
            row[name] = None


def _is_number(value: Any) -> bool:
    """A JSON value into whether it is a number, or a string of one (``amount.value``)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        return isinstance(value, str) and math.isfinite(float(value))
    except ValueError:
        return False


def alter_answer(kind: str, body: Any, path: str) -> Any:
    """A real answer into the altered one of an ALTERING_FAULTS kind, e.g. ``huge_count`` -> its
    first token count 1e30; ``nulls`` -> every number of every row null (counts, timestamps,
    ``amount.value``); ``cursor_loop`` -> ``has_more`` with a cursor back to this page."""
    body = json.loads(json.dumps(body))
    if kind in ("huge_count", "negative_count"):
        found = _first_count(body)
        if found is not None:
            row, name = found
            row[name] = 1e30 if kind == "huge_count" else -5
        return body
    if kind == "nulls":
        for row in _rows_of(body):
            _null_numbers(row)
        return body
    if isinstance(body, dict) and body.get("object") == "page" and body.get("data"):
        match = _ADMIN_USAGE.match(path)
        cursor_kind = match["kind"] if match else "costs"
        body["has_more"] = True
        body["next_page"] = encode_cursor(cursor_kind, body["data"][0]["start_time"])
    elif isinstance(body, dict) and body.get("object") == "list" and "last_id" in body:
        body["has_more"] = True
        body["last_id"] = "loop_0000"
    return body


def echo_auth_response(request: Request, fault: Fault) -> tuple[int, bytes, dict[str, str]]:
    """A 401 whose message repeats the request's ``Authorization`` header in full, and two other
    secret-looking tokens (a badly written proxy or gateway)."""
    header = request.headers.get("Authorization", "")
    message = (
        f"Unauthorized. Received 'Authorization: {header}'; session {ECHOED_SECRETS[0]} and "
        f"key {ECHOED_SECRETS[1]} were not accepted."
    )
    return (
        fault.status,
        json.dumps(error_body(message, "invalid_request_error", None, "invalid_api_key")).encode(),
        {"Content-Type": "application/json"},
    )


def path_matches(path: str, prefix: str | None) -> bool:
    """A path and a prefix (with or without /v1) into a match, e.g. /v1/usage, /usage -> True."""
    return prefix is None or path.startswith(prefix) or path.startswith("/v1" + prefix)


# --------------------------------------------------------------------------------------------------
# The fake


@dataclasses.dataclass(frozen=True)
class Options:
    seed: int = 0
    days: int = 30
    users: int = 3
    end_date: date | None = None  # None: today (UTC) when the fake was made
    field_set: str = "2024"  # legacy rows: "2024" | "2023"
    legacy_empty: bool = False
    rate_limit_per_min: int | None = None
    rate_limit_prefix: str | None = None  # limit only paths under this prefix
    costs_amount_as: str = "string"  # "string" (what OpenAI sends) | "number" (what the spec says)
    reject_future_end_time: bool = True
    org_id: str = ORG_ID
    legacy_key: str = LEGACY_KEY
    admin_key: str = ADMIN_KEY
    clock: Callable[[], float] = time.monotonic  # rate limiter
    wall_clock: Callable[[], float] = time.time  # "now" for end_time checks and defaults
    # issue 10 switches (held until turned off): see the module docstring
    cursor_loop: bool = False  # every page says has_more with a cursor back to itself
    rename: tuple[tuple[str, str], ...] = ()  # (exact string value, what answers say instead)
    before_answer: Callable[[str], None] | None = None  # called with the path before answering
    # spend controls: amounts in integer cents (monthly, USD); projects by id or name
    spend_controls: bool = True  # False: the spend-control paths are unknown (404)
    spend_limit_cents: int | None = None  # the organization's hard limit; None: none set (404)
    spend_alert_cents: tuple[int, ...] = ()  # the organization's spend alerts
    project_spend_limit_cents: tuple[tuple[str, int], ...] = ()  # (project id or name, cents)
    project_spend_alert_cents: tuple[tuple[str, int], ...] = ()  # (project id or name, cents), ...
    realtime: bool = False  # a voice app: realtime audio completions split by modality
    costs_missing_days: tuple[date, ...] = ()  # days the Costs API has not reported yet (no money)


_WORLD_FIELDS = ("seed", "days", "users", "end_date", "org_id", "realtime")
_LEGACY_USERS = re.compile(r"^/v1/organizations/(?P<org>[^/]+)/users$")
_ADMIN_USAGE = re.compile(r"^/v1/organization/usage/(?P<kind>[a-z_]+)$")
_ADMIN_USER = re.compile(r"^/v1/organization/users/(?P<id>[^/]+)$")
_ADMIN_PROJECT = re.compile(r"^/v1/organization/projects/(?P<id>[^/]+)$")
_ADMIN_KEYS = re.compile(r"^/v1/organization/projects/(?P<id>[^/]+)/api_keys$")
_PROJECT_SPEND_LIMIT = re.compile(r"^/v1/organization/projects/(?P<id>[^/]+)/spend_limit$")
_PROJECT_SPEND_ALERTS = re.compile(r"^/v1/organization/projects/(?P<id>[^/]+)/spend_alerts$")


class FakeOpenAI:
    """OpenAI's legacy and admin usage endpoints over HTTP, with state, faults and recording.

    ``FakeOpenAI(seed=0, days=30, users=3, end_date=None, ...)`` takes every ``Options`` field;
    ``start() -> base_url``, ``stop()``, ``reset(**options)`` (defaults + these, data rebuilt,
    counters and faults cleared), ``configure(**options)`` (on top of the current ones).
    """

    def __init__(self, **options: Any) -> None:
        if options.get("end_date") is None:
            options["end_date"] = datetime.now(UTC).date()
        self._defaults = Options(**options)
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.base_url: str | None = None
        self.options = self._defaults
        self.world = self._build(self.options)
        self._faults: deque[Fault] = deque()
        self._log: list[tuple[RecordedRequest, int]] = []
        self._hits: dict[str, deque[float]] = {}

    # ---- lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a daemon thread; return the base URL, e.g. ``http://127.0.0.1:54321/v1``."""
        if self._server is not None:
            return self.base_url  # type: ignore[return-value]
        self._server = make_server(
            host, port, self.wsgi_app, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-openai", daemon=True
        )
        self._thread.start()
        self.base_url = f"http://{host}:{self._server.server_port}/v1"
        return self.base_url

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeOpenAI:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self, **options: Any) -> None:
        """Back to the constructor's options (plus these), fresh data, no faults, no records."""
        self._apply(dataclasses.replace(self._defaults, **options), clear=True)

    def configure(self, **options: Any) -> None:
        """Change some options now, keeping records and faults, e.g. ``legacy_empty=True``."""
        self._apply(dataclasses.replace(self.options, **options), clear=False)

    def _apply(self, options: Options, *, clear: bool) -> None:
        if options.end_date is None:
            options = dataclasses.replace(options, end_date=datetime.now(UTC).date())
        if options.field_set not in ("2023", "2024"):
            raise ValueError(f"field_set must be '2023' or '2024', not {options.field_set!r}")
        rebuild = any(getattr(options, f) != getattr(self.options, f) for f in _WORLD_FIELDS)
        world = self._build(options) if rebuild else self.world
        with self._lock:
            self.options, self.world = options, world
            self._hits.clear()
            if clear:
                self._faults.clear()
                self._log.clear()

    @staticmethod
    def _build(options: Options) -> World:
        return _cached_world(
            options.seed,
            options.days,
            options.users,
            options.end_date,
            options.org_id,
            options.realtime,
        )

    # ---- conveniences for tests

    def legacy_headers(self) -> dict[str, str]:
        """The headers a legacy call needs: bearer legacy key and ``OpenAI-Organization``."""
        return {
            "Authorization": f"Bearer {self.options.legacy_key}",
            "OpenAI-Organization": self.options.org_id,
        }

    def admin_headers(self) -> dict[str, str]:
        """The headers an admin call needs: bearer admin key."""
        return {"Authorization": f"Bearer {self.options.admin_key}"}

    @property
    def days(self) -> list[date]:
        """Every day the data covers, oldest first."""
        return [
            self.world.start + timedelta(days=i)
            for i in range((self.world.end - self.world.start).days + 1)
        ]

    @property
    def user_ids(self) -> list[str]:
        return [u.id for u in self.world.users]

    @property
    def project_ids(self) -> list[str]:
        return [p.id for p in self.world.projects]

    @property
    def api_key_ids(self) -> list[str]:
        return [k.id for k in self.world.keys]

    # ---- faults

    def fail_next(
        self,
        n: int = 1,
        status: int | None = None,
        retry_after: Any = _DEFAULT,
        *,
        kind: str = "error",
        path_prefix: str | None = None,
    ) -> None:
        """Make the next n matching requests fail, in order.

        :param status: default 429 for ``kind="error"``, 502 for ``"html"``, else 200
        :param retry_after: ``Retry-After`` header; default "2" on 429s, none otherwise; None: never
        :param kind: ``error`` (JSON envelope), ``html``, ``empty``, ``truncated``, ``not_json``,
            ``null``, ``string``, ``wrong_shape``; the real answer altered: ``huge_count``,
            ``negative_count``, ``nulls``, ``cursor_loop``; or ``echo_auth`` (a 401 echoing the key)
        :param path_prefix: only requests under this path (with or without ``/v1``) consume it
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        if kind == "echo_auth" and status is None:
            status = 401
        if status is None:
            status = {"error": 429, "html": 502}.get(kind, 200)
        if retry_after is _DEFAULT:
            retry_after = "2" if status == 429 else None
        with self._lock:
            self._faults.extend([Fault(kind, status, retry_after, path_prefix)] * n)

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if path_matches(path, fault.path_prefix):
                    self._faults.remove(fault)
                    return fault
        return None

    @property
    def pending_faults(self) -> int:
        """How many injected faults are still waiting."""
        with self._lock:
            return len(self._faults)

    # ---- recording

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request seen so far, oldest first."""
        with self._lock:
            return [req for req, _ in self._log]

    @property
    def statuses(self) -> list[int]:
        """The status answered to each of ``requests``, same order."""
        with self._lock:
            return [status for _, status in self._log]

    def count(self, path_prefix: str | None = None, status: int | None = None) -> int:
        """How many requests matched a path prefix (with or without ``/v1``) and status."""
        with self._lock:
            return sum(
                1
                for req, st in self._log
                if path_matches(req.path, path_prefix) and (status is None or st == status)
            )

    # ---- the fake's own totals

    def admin_totals(
        self,
        kind: str,
        start: date | None = None,
        end: date | None = None,
        **filters: Iterable[str],
    ) -> dict[str, int]:
        """An admin usage kind into its summed metrics, e.g. "completions" -> {"input_tokens": ...}.

        :param start: first day (inclusive); :param end: last day (inclusive)
        :param filters: like the API's, e.g. ``project_ids=[...]``, ``models=[...]``
        """
        wanted = self._filters(kind, {name: list(values) for name, values in filters.items()})
        totals = dict.fromkeys(USAGE_KINDS[kind][1], 0)
        for record in day_filter(self.world.records, start, end):
            if record.kind == kind and record_matches(record, wanted):
                for name, value in record.metrics.items():
                    totals[name] += value
        return totals

    def admin_hourly(self, kind: str) -> list[tuple[int, dict[str, int]]]:
        """An admin usage kind into its hourly facts (hour start, metrics), one per record and
        hour, as ``bucket_width=1h`` answers them ungrouped."""
        return [
            (day_start(record.day) + hour * HOUR, part)
            for record in self.world.records
            if record.kind == kind
            for hour, part in hourly_parts(record.metrics)
        ]

    def costs_total(
        self,
        start: date | None = None,
        end: date | None = None,
        *,
        project_ids: Iterable[str] | None = None,
        api_key_ids: Iterable[str] | None = None,
    ) -> Decimal:
        """The billed money over days [start, end], e.g. ``Decimal("12.345678")``."""
        wanted = {"project_id": list(project_ids)} if project_ids is not None else {}
        if api_key_ids is not None:
            wanted["api_key_id"] = list(api_key_ids)
        return sum(
            (
                line.amount
                for record in day_filter(self.world.records, start, end)
                if record_matches(record, wanted)
                for line in record.costs
            ),
            Decimal(0),
        )

    def legacy_totals(
        self, start: date | None = None, end: date | None = None, user_id: str | None = None
    ) -> dict[str, int]:
        """What ``/v1/usage`` answers over days [start, end] (org-wide, or one user), summed.

        Keys: ``n_requests`` (all arrays), ``input_tokens``, ``cached_input_tokens``,
        ``output_tokens`` (``data``), ``images``, ``seconds``, ``characters``. Honours
        ``field_set`` and ``legacy_empty`` because it sums the very bodies the server sends.
        """
        totals = dict.fromkeys(
            (
                "n_requests",
                "input_tokens",
                "cached_input_tokens",
                "output_tokens",
                "images",
                "seconds",
                "characters",
            ),
            0,
        )
        first = start or self.world.start
        last = end or self.world.end
        for offset in range((last - first).days + 1):
            body = self.legacy_usage_body(first + timedelta(days=offset), user_id)
            for row in body["data"]:
                totals["n_requests"] += row["n_requests"]
                totals["input_tokens"] += row["n_context_tokens_total"]
                totals["output_tokens"] += row["n_generated_tokens_total"]
                totals["cached_input_tokens"] += row.get("n_cached_context_tokens_total") or 0
            for array, field in (
                ("dalle_api_data", "num_images"),
                ("whisper_api_data", "num_seconds"),
                ("tts_api_data", "num_characters"),
            ):
                for row in body.get(array, []):
                    totals["n_requests"] += row["num_requests"]
                    totals[
                        {"num_images": "images", "num_seconds": "seconds"}.get(field, "characters")
                    ] += row[field]
        return totals

    # ---- HTTP

    def wsgi_app(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """The WSGI entry point: record, inject faults, route, answer."""
        request = Request(environ)
        status, body, headers = 500, b"", {}
        try:
            status, body, headers = self._handle(request)
        finally:
            recorded = RecordedRequest(
                request.method,
                request.path,
                {k: (v[0] if len(v) == 1 else v) for k, v in request.args.lists()},
                CaseInsensitiveDict(
                    {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
                ),
            )
            with self._lock:
                self._log.append((recorded, status))
        response = Response(
            body, status=status, headers={"x-request-id": f"req_{uuid.uuid4().hex}", **headers}
        )
        return response(environ, start_response)

    def _handle(self, request: Request) -> tuple[int, bytes, dict[str, str]]:
        hook = self.options.before_answer
        if hook is not None:
            hook(request.path)
        fault = self._take_fault(request.path)
        if fault is not None and fault.kind == "echo_auth":
            return echo_auth_response(request, fault)
        if fault is not None and fault.kind not in ALTERING_FAULTS:
            return fault_response(fault)
        status, body, headers = self._answer(request)
        if status != 200:
            return status, body, headers
        options = self.options
        if fault is None and not options.cursor_loop and not options.rename:
            return status, body, headers
        decoded = json.loads(body)
        if fault is not None:
            decoded = alter_answer(fault.kind, decoded, request.path)
        if options.cursor_loop:
            decoded = alter_answer("cursor_loop", decoded, request.path)
        if options.rename:
            decoded = rename_values(decoded, dict(options.rename))
        return status, json.dumps(decoded).encode(), headers

    def _answer(self, request: Request) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            options, world = self.options, self.world
        try:
            route, params = self._route(request)
            self._authorize(request, route, params, options)
            self._rate_limit(request, options)
            body = route(request, params, options, world)
        except ApiFailure as failure:
            return (
                failure.status,
                json.dumps(failure.body).encode(),
                {"Content-Type": "application/json", **failure.headers},
            )
        return 200, json.dumps(body).encode(), {"Content-Type": "application/json"}

    def _route(self, request: Request) -> tuple[Callable[..., Any], dict[str, str]]:
        path = request.path.rstrip("/") or "/"
        routes: list[tuple[re.Pattern[str] | str, Callable[..., Any]]] = [
            (_LEGACY_USERS, self._legacy_users),
            ("/v1/usage", self._legacy_usage),
            (_ADMIN_USAGE, self._admin_usage),
            ("/v1/organization/costs", self._admin_costs),
            ("/v1/organization/users", self._admin_users),
            (_ADMIN_USER, self._admin_user),
            ("/v1/organization/projects", self._admin_projects),
            (_ADMIN_PROJECT, self._admin_project),
            (_ADMIN_KEYS, self._admin_keys),
            ("/v1/organization/spend_limit", self._spend_limit),
            ("/v1/organization/spend_alerts", self._spend_alerts),
            (_PROJECT_SPEND_LIMIT, self._spend_limit),
            (_PROJECT_SPEND_ALERTS, self._spend_alerts),
        ]
        for pattern, handler in routes:
            match = (
                pattern.match(path)
                if isinstance(pattern, re.Pattern)
                else (path == pattern or None)
            )
            if match:
                params = match.groupdict() if isinstance(match, re.Match) else {}
                if handler == self._admin_usage and params["kind"] not in USAGE_KINDS:
                    break
                if request.method != "GET":
                    raise ApiFailure(405, f"Method not allowed ({request.method} {request.path}).")
                return handler, params
        raise ApiFailure(404, f"Invalid URL ({request.method} {request.path})")

    def _authorize(
        self,
        request: Request,
        route: Callable[..., Any],
        params: Mapping[str, str],
        options: Options,
    ) -> None:
        auth = request.headers.get("Authorization", "")
        key = auth[7:].strip() if auth.startswith("Bearer ") else ""
        if not key:
            raise ApiFailure(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code="invalid_api_key",
            )
        if key not in (options.legacy_key, options.admin_key):
            raise ApiFailure(
                401,
                f"Incorrect API key provided: {redact_key(key)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        legacy = route in (self._legacy_users, self._legacy_usage)
        if not legacy:
            if key != options.admin_key:
                scope = (
                    "api.usage.read"
                    if route in (self._admin_usage, self._admin_costs)
                    else "api.management.read"
                )
                raise ApiFailure(
                    403,
                    "You have insufficient permissions for this operation. "
                    f"Missing scopes: {scope}.",
                )
            return
        if key != options.legacy_key:
            raise ApiFailure(
                403, "Admin API keys can only be used with /v1/organization/* endpoints."
            )
        org = request.headers.get("OpenAI-Organization", "")
        if route == self._legacy_users and (
            params["org"] != options.org_id or org != options.org_id
        ):
            wrong = params["org"] if params["org"] != options.org_id else (org or "(none)")
            raise ApiFailure(404, f"No such organization: {wrong}.")
        if route == self._legacy_usage and org != options.org_id:
            raise ApiFailure(
                403,
                "OpenAI-Organization header should match organization for API key",
                code="mismatched_organization",
            )

    def _rate_limit(self, request: Request, options: Options) -> None:
        limit = options.rate_limit_per_min
        if limit is None or not path_matches(request.path, options.rate_limit_prefix):
            return
        now = options.clock()
        with self._lock:
            hits = self._hits.setdefault(request.headers.get("Authorization", ""), deque())
            while hits and hits[0] <= now - 60:
                hits.popleft()
            if len(hits) >= limit:
                wait = max(1, math.ceil(hits[0] + 60 - now))
                raise ApiFailure(
                    429,
                    f"Rate limit reached for requests in organization {options.org_id} on "
                    f"requests per min (RPM): Limit {limit}, Used {len(hits)}, Requested 1. "
                    f"Please try again in {wait}s.",
                    type_="requests",
                    code="rate_limit_exceeded",
                    headers={"Retry-After": str(wait)},
                )
            hits.append(now)

    # ---- legacy endpoints

    def _legacy_users(
        self, request: Request, params: Any, options: Options, world: World
    ) -> dict[str, Any]:
        members = []
        for i, user in enumerate(world.users):
            inner: dict[str, Any] = {"object": "user", "id": user.id, "email": user.email}
            if user.name is not None:
                inner["name"] = user.name
            member: dict[str, Any] = {
                "object": "organization_user",
                "role": user.role,
                "created": user.created,
                "user": inner,
            }
            if i == len(world.users) - 1:  # keys nobody documented
                inner.update({"picture": None, "phone_number": None, "groups": []})
                member.update({"is_service_account": False, "is_default": False})
            members.append(member)
        return {"object": "list", "members": {"object": "list", "data": members}}

    def _legacy_usage(
        self, request: Request, params: Any, options: Options, world: World
    ) -> dict[str, Any]:
        raw = request.args.get("date")
        if not raw:
            raise ApiFailure(
                400, "Missing query parameter 'date'. Expected format YYYY-MM-DD.", param="date"
            )
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ApiFailure(
                400, f"Invalid date {raw!r}. Expected format YYYY-MM-DD.", param="date"
            )
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise ApiFailure(
                400, f"Invalid date {raw!r}. Expected format YYYY-MM-DD.", param="date"
            ) from None
        return legacy_usage_body(
            world, day, request.args.get("user_public_id"), options.field_set, options.legacy_empty
        )

    def legacy_usage_body(self, day: date, user_id: str | None = None) -> dict[str, Any]:
        """The body ``/v1/usage?date=day[&user_public_id=user_id]`` answers with current options."""
        return legacy_usage_body(
            self.world, day, user_id, self.options.field_set, self.options.legacy_empty
        )

    # ---- admin endpoints

    @staticmethod
    def _filters(kind: str, lists: Mapping[str, list[str]]) -> dict[str, list[str]]:
        dims = USAGE_KINDS[kind][2] if kind in USAGE_KINDS else ("project_id", "api_key_id")
        names = {**COMMON_FILTERS, **(USAGE_KINDS[kind][3] if kind in USAGE_KINDS else {})}
        if kind == "completions":
            names["batch"] = "batch"
        return {
            names[n]: values
            for n, values in lists.items()
            if n in names and names[n] in dims and values
        }

    def _time_range(
        self,
        request: Request,
        options: Options,
        widths: Mapping[str, tuple[int, int, int]],
        kind: str,
    ) -> tuple[list[int], int | None, int]:
        """The query's start/end/width/limit/page into (page's bucket starts, next start, width)."""
        args = request.args
        start_time = int_arg(args, "start_time", required=True)
        now = int(options.wall_clock())
        end_time = int_arg(args, "end_time", now)
        if options.reject_future_end_time and end_time > now + 60:
            raise ApiFailure(
                400, "end_time must not be in the future.", param="end_time", code="invalid_value"
            )
        if end_time <= start_time:
            raise ApiFailure(
                400, "end_time must be after start_time.", param="end_time", code="invalid_value"
            )
        width_name = args.get("bucket_width", "1d")
        if width_name not in widths:
            raise ApiFailure(
                400,
                f"Invalid bucket_width {width_name!r}; supported: {', '.join(widths)}.",
                param="bucket_width",
                code="invalid_value",
            )
        width, default_limit, max_limit = widths[width_name]
        limit = int_arg(args, "limit", default_limit)
        if not 1 <= limit <= max_limit:
            raise ApiFailure(
                400,
                f"limit must be between 1 and {max_limit} for bucket_width={width_name}.",
                param="limit",
                code="invalid_value",
            )
        starts = bucket_starts(start_time, end_time, width)
        page = args.get("page")
        if page:
            at = decode_cursor(kind, page)
            if at not in starts:
                raise ApiFailure(400, "Invalid page cursor.", param="page", code="invalid_value")
            starts = starts[starts.index(at) :]
        return starts[:limit], (starts[limit] if len(starts) > limit else None), width

    def _group_by(self, request: Request, allowed: tuple[str, ...]) -> tuple[str, ...]:
        fields = arg_list(request.args, "group_by")
        bad = [f for f in fields if f not in allowed]
        if bad:
            raise ApiFailure(
                400,
                f"Invalid group_by value {bad[0]!r}; supported: {', '.join(allowed)}.",
                param="group_by",
                code="invalid_value",
            )
        return tuple(dict.fromkeys(fields))

    def _admin_usage(
        self, request: Request, params: Mapping[str, str], options: Options, world: World
    ) -> dict[str, Any]:
        kind = params["kind"]
        obj, metrics, dims, _ = USAGE_KINDS[kind]
        starts, next_start, width = self._time_range(request, options, BUCKET_WIDTHS, kind)
        group_by = self._group_by(request, dims)
        lists = {
            name: arg_list(request.args, name)
            for name in (*COMMON_FILTERS, *USAGE_KINDS[kind][3], "batch")
        }
        wanted = self._filters(kind, lists)
        chosen = (r for r in world.records if r.kind == kind and record_matches(r, wanted))
        if width == HOUR:
            facts = by_hour(chosen)
        else:
            facts = {
                start: [(record, record.metrics) for record in records]
                for start, records in by_bucket(chosen, width, DAY // 2).items()
            }

        def results(bucket: int) -> list[dict[str, Any]]:
            groups: dict[tuple[Any, ...], dict[str, int]] = {}
            for record, values in facts.get(bucket, ()):
                key = tuple(record.dims[g] for g in group_by)
                sums = groups.setdefault(key, dict.fromkeys(metrics, 0))
                for name, value in values.items():
                    sums[name] += value
            out = []
            for key in sorted(groups, key=lambda k: [(v is None, str(v)) for v in k]):
                named = dict(zip(group_by, key, strict=True))
                out.append({"object": obj, **groups[key], **{d: named.get(d) for d in dims}})
            return out

        return paged(kind, starts, next_start, width, results)

    def _admin_costs(
        self, request: Request, params: Mapping[str, str], options: Options, world: World
    ) -> dict[str, Any]:
        starts, next_start, width = self._time_range(
            request, options, {"1d": (DAY, *COSTS_LIMIT)}, "costs"
        )
        group_by = self._group_by(request, COSTS_GROUP_BY)
        wanted = self._filters(
            "costs", {n: arg_list(request.args, n) for n in ("project_ids", "api_key_ids")}
        )
        missing = set(options.costs_missing_days)
        records = by_bucket(
            (
                r
                for r in world.records
                if r.costs and r.day not in missing and record_matches(r, wanted)
            ),
            width,
            0,
        )
        as_string = options.costs_amount_as == "string"

        def results(bucket: int) -> list[dict[str, Any]]:
            groups: dict[tuple[Any, ...], list[Any]] = {}
            for record in records.get(bucket, ()):
                for line in record.costs:
                    fields = {
                        "project_id": record.dims["project_id"],
                        "api_key_id": record.dims["api_key_id"],
                        "line_item": line.line_item,
                    }
                    key = tuple(fields[g] for g in group_by)
                    acc = groups.setdefault(key, [Decimal(0), 0.0, line.quantity_unit])
                    acc[0] += line.amount
                    acc[1] += line.quantity
            out = []
            for key in sorted(groups, key=lambda k: [(v is None, str(v)) for v in k]):
                amount, quantity, unit = groups[key]
                named = dict(zip(group_by, key, strict=True))
                by_line = "line_item" in group_by
                out.append(
                    {
                        "object": "organization.costs.result",
                        "amount": {
                            "value": decimal_string(amount) if as_string else float(amount),
                            "currency": "usd",
                        },
                        "line_item": named.get("line_item"),
                        "project_id": named.get("project_id"),
                        "api_key_id": named.get("api_key_id"),
                        "quantity": (
                            int(quantity) if float(quantity).is_integer() else round(quantity, 6)
                        )
                        if by_line
                        else None,
                        "quantity_unit": unit if by_line else None,
                    }
                )
            return out

        return paged("costs", starts, next_start, width, results)

    def _list_page(self, request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
        limit = int_arg(request.args, "limit", LIST_LIMIT[0])
        if not 1 <= limit <= LIST_LIMIT[1]:
            raise ApiFailure(
                400,
                f"limit must be between 1 and {LIST_LIMIT[1]}.",
                param="limit",
                code="invalid_value",
            )
        after = request.args.get("after")
        if after:
            ids = [item["id"] for item in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        page = items[:limit]
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(items) > limit,
        }

    @staticmethod
    def _user_object(user: User) -> dict[str, Any]:
        return {
            "object": "organization.user",
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "role": user.role,
            "added_at": user.created,
        }

    @staticmethod
    def _project_object(project: Project) -> dict[str, Any]:
        return {
            "id": project.id,
            "object": "organization.project",
            "name": project.name,
            "created_at": project.created_at,
            "archived_at": project.archived_at,
            "status": "archived" if project.archived_at else "active",
        }

    def _admin_users(
        self, request: Request, params: Any, options: Options, world: World
    ) -> dict[str, Any]:
        emails = arg_list(request.args, "emails")
        users = [u for u in world.users if not emails or u.email in emails]
        return self._list_page(request, [self._user_object(u) for u in users])

    def _admin_user(
        self, request: Request, params: Mapping[str, str], options: Options, world: World
    ) -> dict[str, Any]:
        user = world.user(params["id"])
        if user is None:
            raise ApiFailure(404, f"No such user: {params['id']}.")
        return self._user_object(user)

    def _admin_projects(
        self, request: Request, params: Any, options: Options, world: World
    ) -> dict[str, Any]:
        archived = request.args.get("include_archived", "false").lower() == "true"
        projects = [p for p in world.projects if archived or p.archived_at is None]
        return self._list_page(request, [self._project_object(p) for p in projects])

    def _admin_project(
        self, request: Request, params: Mapping[str, str], options: Options, world: World
    ) -> dict[str, Any]:
        project = world.project(params["id"])
        if project is None:
            raise ApiFailure(404, f"No such project: {params['id']}.")
        return self._project_object(project)

    def _admin_keys(
        self, request: Request, params: Mapping[str, str], options: Options, world: World
    ) -> dict[str, Any]:
        project = world.project(params["id"])
        if project is None:
            raise ApiFailure(404, f"No such project: {params['id']}.")
        access = request.args.get("owner_project_access")
        if access not in (None, "any", "active", "inactive"):
            raise ApiFailure(
                400,
                f"Invalid owner_project_access {access!r}.",
                param="owner_project_access",
                code="invalid_value",
            )
        keys = [
            k
            for k in world.keys
            if k.project_id == project.id
            and (access == "any" or k.owner_project_access == (access or "active"))
        ]
        return self._list_page(request, [key_object(world, k) for k in keys])

    # ---- spend controls

    def _spend_owner(
        self, request: Request, params: Mapping[str, str], options: Options, world: World
    ) -> Project | None:
        """A spend-control path into its project (None: the organization's), or a 404."""
        if not options.spend_controls:
            raise ApiFailure(404, f"Invalid URL ({request.method} {request.path})")
        if "id" not in params:
            return None
        project = world.project(params["id"])
        if project is None:
            raise ApiFailure(404, f"No such project: {params['id']}.")
        return project

    def _spend_limit(
        self, request: Request, params: Mapping[str, str], options: Options, world: World
    ) -> dict[str, Any]:
        project = self._spend_owner(request, params, options, world)
        if project is None:
            cents = options.spend_limit_cents
        else:
            cents = next(
                (
                    c
                    for who, c in options.project_spend_limit_cents
                    if who in (project.id, project.name)
                ),
                None,
            )
        if cents is None:
            raise ApiFailure(404, "No hard spend limit is set.")
        return {
            "object": "project.spend_limit" if project else "organization.spend_limit",
            "threshold_amount": cents,
            "currency": "USD",
            "interval": "month",
            "enforcement": {"status": "enforcing"},
        }

    def _spend_alerts(
        self, request: Request, params: Mapping[str, str], options: Options, world: World
    ) -> dict[str, Any]:
        project = self._spend_owner(request, params, options, world)
        if project is None:
            amounts = list(options.spend_alert_cents)
        else:
            amounts = [
                c
                for who, c in options.project_spend_alert_cents
                if who in (project.id, project.name)
            ]
        prefix = f"alert_{project.id[-8:]}" if project else "alert_org"
        alerts = [
            {
                "id": f"{prefix}_{n}",
                "object": "project.spend_alert" if project else "organization.spend_alert",
                "threshold_amount": cents,
                "currency": "USD",
                "interval": "month",
                "notification_channel": {
                    "type": "email",
                    "recipients": ["finance@example.com"],
                    "subject_prefix": "OpenAI spend alert",
                },
            }
            for n, cents in enumerate(amounts, start=1)
        ]
        return self._list_page(request, alerts)


def key_object(world: World, key: ApiKey) -> dict[str, Any]:
    """An ApiKey into the admin API's project API key object, owner included."""
    if key.owner_user_id is None:
        owner: dict[str, Any] = {
            "type": "service_account",
            "service_account": dict(world.service_account),
        }
    else:
        user = world.user(key.owner_user_id)
        assert user is not None
        owner = {
            "type": "user",
            "user": {
                "id": user.id,
                "name": user.name,
                "email": user.email,
                "role": user.role,
                "created_at": user.created,
            },
        }
    return {
        "object": "organization.project.api_key",
        "redacted_value": key.redacted_value,
        "name": key.name,
        "created_at": key.created_at,
        "last_used_at": None,
        "id": key.id,
        "owner_project_access": key.owner_project_access,
        "owner": owner,
    }


def paged(
    kind: str,
    starts: list[int],
    next_start: int | None,
    width: int,
    results: Callable[[int], list[dict[str, Any]]],
) -> dict[str, Any]:
    """A page's bucket starts (and the next page's first, if any) into a usage/costs page body."""
    return {
        "object": "page",
        "data": [
            {"object": "bucket", "start_time": s, "end_time": s + width, "results": results(s)}
            for s in starts
        ],
        "has_more": next_start is not None,
        "next_page": encode_cursor(kind, next_start) if next_start is not None else None,
    }


def legacy_usage_body(
    world: World, day: date, user_id: str | None, field_set: str, empty: bool
) -> dict[str, Any]:
    """One day of the world into a ``/v1/usage`` body, org-wide (user_id None) or for one user."""
    body: dict[str, Any] = {
        "object": "list",
        "data": [],
        "ft_data": [],
        "dalle_api_data": [],
        "whisper_api_data": [],
        "tts_api_data": [],
    }
    if field_set == "2023":
        body["current_usage_usd"] = 0
    else:
        body.update({"assistant_code_interpreter_data": [], "retrieval_storage_data": []})
    if empty or (user_id is not None and world.user(user_id) is None):
        return body
    user = world.user(user_id)
    records = [
        r
        for r in world.records
        if r.day == day
        and r.kind in _LEGACY_KINDS
        and (user is None or r.dims["user_id"] == user.id)
    ]
    rows: dict[str, list[dict[str, Any]]] = {
        name: [] for name in ("data", "dalle_api_data", "whisper_api_data", "tts_api_data")
    }
    for record in records:
        for ts, part in record.windows:
            array, row = legacy_row(world, record, ts, part, user, field_set)
            rows[array].append(row)
    for array, found in rows.items():
        body[array] = merge_rows(found, LEGACY_SUMS[array])
    if user is None and day == ts_day(world.ft_job["created_at"]):
        body["ft_data"] = [dict(world.ft_job)]
    return body


LEGACY_SUMS = {
    "data": (
        "n_requests",
        "n_context_tokens_total",
        "n_generated_tokens_total",
        "n_cached_context_tokens_total",
        "n_context",
        "n_generated",
    ),
    "dalle_api_data": ("num_images", "num_requests"),
    "whisper_api_data": ("num_seconds", "num_requests"),
    "tts_api_data": ("num_characters", "num_requests"),
}


def merge_rows(rows: list[dict[str, Any]], sums: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows into one row per identical identity (all non-sum fields), sums added, in time order."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple((k, v) for k, v in row.items() if k not in sums)
        if key in merged:
            for name in sums:
                if name in row:
                    merged[key][name] += row[name]
        else:
            merged[key] = dict(row)
    return sorted(
        merged.values(),
        key=lambda r: (
            r.get("aggregation_timestamp", r.get("timestamp")),
            str(r.get("snapshot_id", r.get("model_id"))),
        ),
    )


def legacy_row(
    world: World,
    record: Record,
    ts: int,
    part: Mapping[str, int],
    user: User | None,
    field_set: str,
) -> tuple[str, dict[str, Any]]:
    """One legacy window of a record into (array name, row) for the given field set and viewer."""
    key = world.key(record.dims["api_key_id"])
    project = world.project(record.dims["project_id"])
    ids: dict[str, Any] = {"organization_id": world.org_id, "organization_name": ORG_NAME}
    if field_set == "2024":
        ids.update(
            {
                "api_key_id": key.id if key else None,
                "api_key_name": key.name if key else None,
                "api_key_redacted": key.redacted_value if key else None,
                "api_key_type": ("user" if key.owner_user_id else "service_account")
                if key
                else None,
                # the default project shows up by name in project_id (seen in the wild)
                "project_id": (project.name if project.name == "Default project" else project.id)
                if project
                else None,
                "project_name": project.name if project else None,
            }
        )
    if record.kind in ("completions", "embeddings"):
        row: dict[str, Any] = {
            "aggregation_timestamp": ts,
            "n_requests": part["num_model_requests"],
            "operation": (
                "embeddings"
                if record.kind == "embeddings"
                else "completion-realtime"
                if record.dims["model"] == REALTIME_MODEL
                else "completion"
            ),
            "snapshot_id": record.dims["model"],
            "n_context_tokens_total": part["input_tokens"],
            "n_generated_tokens_total": part.get("output_tokens", 0),
        }
        if field_set == "2023":
            row.update(
                {"n_context": part["num_model_requests"], "n_generated": part["num_model_requests"]}
            )
        else:
            row.update(
                {
                    "n_cached_context_tokens_total": part.get("input_cached_tokens", 0),
                    "user_id": user.id if user else None,
                    "email": user.email if user else None,
                    "request_type": None,
                    **ids,
                }
            )
        return "data", row
    common = {
        "timestamp": ts,
        "model_id": record.dims["model"],
        "num_requests": part["num_model_requests"],
        "user_id": user.email if user else None,
        **ids,
    }  # user_id is an email here (Elastic's fixture)
    if record.kind == "images":
        return "dalle_api_data", {
            **common,
            "num_images": part["images"],
            "image_size": record.dims["size"],
            "operation": "generations",
        }
    if record.kind == "audio_transcriptions":
        return "whisper_api_data", {**common, "num_seconds": part["seconds"]}
    return "tts_api_data", {**common, "num_characters": part["characters"]}


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's request handler without the per-request log line."""

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
        pass


# --------------------------------------------------------------------------------------------------
# pytest fixtures


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    """One fake on 127.0.0.1 (random port) for the whole session; use ``fake_openai`` in tests."""
    fake = FakeOpenAI()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The session's fake, reset to defaults (data, faults, records, clock) before and after."""
    fake_openai_server.reset()
    yield fake_openai_server
    fake_openai_server.reset()


# --------------------------------------------------------------------------------------------------
# standalone


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT, printing the base URL first."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_openai", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--end-date", type=date.fromisoformat, default=None)
    parser.add_argument("--rate-limit-per-min", type=int, default=None)
    parser.add_argument("--field-set", choices=("2023", "2024"), default="2024")
    parser.add_argument("--legacy-empty", action="store_true")
    parser.add_argument(
        "--hostile-names",
        action="store_true",
        help="a model, user, project and key named like Markdown links and images (issue 10)",
    )
    args = parser.parse_args(argv)
    fake = FakeOpenAI(
        seed=args.seed,
        days=args.days,
        users=args.users,
        end_date=args.end_date,
        rate_limit_per_min=args.rate_limit_per_min,
        field_set=args.field_set,
        legacy_empty=args.legacy_empty,
    )
    if args.hostile_names:
        fake.configure(rename=hostile_renames(fake.world))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(fake.start(args.host, args.port), flush=True)
    print(
        f"legacy key {LEGACY_KEY}, admin key {ADMIN_KEY}, org {ORG_ID}", file=sys.stderr, flush=True
    )
    stop.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
