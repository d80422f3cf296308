"""The demo organization's generator: a deterministic synthetic organization that answers like the
legacy API (and, for its Claude share, like Anthropic's); ``spend.sources.demo`` is the source.

With no API key the app runs on ``DemoOrg``. It emits payloads shaped exactly like the legacy,
undocumented endpoints (API-NOTES.md section 1, the 2024 field set), so the demo exercises the real
normalize path::

    org = DemoOrg("small", seed=7)
    org.users_payload()                 # GET /v1/organizations/{org}/users
    org.usage_payload(date(2025, 3, 4)) # GET /v1/usage?date=2025-03-04
    org.usage_payload(day, "user-...")  # GET /v1/usage?date=...&user_public_id=user-...
    for day, user, payload in org.payloads(): ...   # org-wide, one per day (user is None)

The range covers ``days`` full UTC days ending **yesterday**; today is left out (a real day-so-far
would be partial and still being revised). Days outside the range answer with every array empty.

In a zone of the team's own (``zone``, ``SPEND_TIMEZONE``) the range's days are that zone's dates
ending yesterday there, and ``payloads`` answers per local date: each date's body holds the
windows that start on it in the zone (cut from the UTC days it touches), as hourly buckets summed
into local dates would. The Claude share, which has no hours, is dated by local date directly.

What the data contains, on purpose:

- 3-5 projects with two keys each (``-prod``/``-staging``); each user works in one or two.
- A model mix across completions, embeddings, images (``dall-e-3``), speech (``tts-1``),
  transcription (``whisper-1``), realtime (large and huge sizes), cached input tokens on some rows.
- Weekends at roughly a third of weekdays, a slow growth trend, heavy-tailed users.
- One obvious spike: one user, one model, one day at about 10x that user's usual day
  (``describe()["spike"]``).
- One fine-tune no price table knows (``UNPRICED_MODEL``), so the app must show "unpriced".
- One user without a name (a service account).
- A Claude share (about a quarter of the spend) in the shapes of Anthropic's Admin API
  (``claude_usage_payload``, ``claude_workspaces_payload``, ``claude_api_keys_payload``): two
  workspaces with a key each and the default workspace (Console, no key), Sonnet with prompt
  caching and web searches, Opus, and Haiku in batch. Anthropic's report has no users and no
  request counts, so neither has the demo's Claude usage.

Determinism: the organization (users, projects, keys, who uses which model) comes from
``random.Random(seed)``; each day's numbers from
``numpy.random.default_rng([seed, day.toordinal()])``, so one day can be generated without
generating the days before it. Same seed and ``today`` give
identical payloads.
"""

from __future__ import annotations

import calendar
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

import numpy as np

from spend.dates import zone_label
from spend.localdays import day_bounds

__all__ = [
    "ARRAYS",
    "CLAUDE_SHARE",
    "DEMO_SIZES",
    "UNPRICED_MODEL",
    "DemoOrg",
    "DemoSize",
    "empty_usage_payload",
]


@dataclass(frozen=True)
class DemoSize:
    """How big a demo organization is."""

    days: int
    users: int
    models: int  # the first ``models`` entries of the catalog
    projects: int  # the first ``projects`` entries of the project list
    windows: tuple[int, int]  # aggregation windows per user-model-day, (min, max)
    weekday_usd: float  # rough org spend on a weekday at the start: calibration only
    models_per_project: tuple[int, int] = (2, 3)  # models a user uses in each project, (min, max)


DEMO_SIZES: dict[str, DemoSize] = {
    "small": DemoSize(
        days=120,
        users=12,
        models=10,
        projects=4,
        windows=(2, 4),
        weekday_usd=125.0,
        models_per_project=(2, 4),
    ),
    "large": DemoSize(
        days=365, users=200, models=25, projects=5, windows=(1, 1), weekday_usd=1100.0
    ),
    # ~5,500 usage rows a day, ~2 M in the year: the scale the shared-table design is measured at.
    "huge": DemoSize(
        days=365,
        users=1000,
        models=40,
        projects=5,
        windows=(1, 1),
        weekday_usd=5500.0,
        models_per_project=(5, 7),
    ),
}

#: The arrays of a legacy ``/v1/usage`` body, all present on every answer.
ARRAYS = (
    "data",
    "ft_data",
    "dalle_api_data",
    "whisper_api_data",
    "tts_api_data",
    "assistant_code_interpreter_data",
    "retrieval_storage_data",
)

#: A fine-tune of a retired base that genai-prices does not know (raises LookupError).
UNPRICED_MODEL = "ft:davinci-002:acme:contracts:9kQ2xR7d"

ORG_NAME = "Acme Inc."
EMAIL_DOMAIN = "acme.example"

GROWTH_PER_DAY = 0.0017  # about +5% a month
WEEKEND_ACTIVITY = 0.6  # chance a weekday-active pair is also active on a weekend day
WEEKEND_VOLUME = 0.6  # and how much it does then: together ~35% of a weekday
DAY_SIGMA = 0.08  # org-wide day-to-day noise (lognormal sigma)
PAIR_SIGMA = 0.35  # per user-model-day noise
TOKEN_SIGMA = 0.15  # tokens per request, per window
SPIKE_FACTOR = 10.0  # the spike model's spend that day, in multiples of the user's usual day
SPIKE_AT = 0.7  # where in the range the spike falls
SLOT_SECONDS = 300  # aggregation windows start on 5-minute boundaries
SLOTS_PER_DAY = 86_400 // SLOT_SECONDS

# Hour-of-day (UTC) activity: a company working US hours, with some overnight batch jobs.
_HOURLY = np.array(
    [4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 3, 4, 6, 8, 10, 10, 10, 10, 9, 9, 8, 7, 6, 5], float
)
SLOT_P = np.repeat(_HOURLY / _HOURLY.sum() / (SLOTS_PER_DAY // 24), SLOTS_PER_DAY // 24)


@dataclass(frozen=True)
class _Model:
    """One model of the catalog and how a request to it typically looks."""

    id: str
    array: str  # which payload array its rows go to
    operation: str | None  # `data` and `dalle_api_data` rows carry one
    weight: float  # relative share of a user's spend on it
    projects: tuple[str, ...]  # project slugs where it is used
    usd_per_request: float  # rough list price: only turns dollars into request counts
    input_tokens: int = 0  # per request (`data` rows)
    output_tokens: int = 0
    cache: float = 0.0  # largest share of input tokens served from the prompt cache
    units: float = 0.0  # per request: images, characters or seconds


def _usd(inp: int, out: int, usd_in: float, usd_out: float, cache: float = 0) -> float:
    """Tokens a request and $/1M prices into rough dollars a request, e.g. (1e6, 0, 2, 8) -> 2.0."""
    billed_input = inp * (1 - cache / 4)  # a quarter of the cacheable part hits, at half price
    return (billed_input * usd_in + out * usd_out) / 1e6


def _chat(model_id, weight, projects, inp, out, usd_in, usd_out, cache=0.0, op="completion"):
    """A catalog line into a token ``_Model``, e.g. gpt-4o at 1800 tokens in / 350 out a request."""
    usd = _usd(inp, out, usd_in, usd_out, cache)
    return _Model(model_id, "data", op, weight, tuple(projects.split()), usd, inp, out, cache)


def _unit(model_id, array, weight, projects, units, usd_per_unit, op=None):
    """A catalog line into an image/audio ``_Model``, e.g. whisper-1 at 95 seconds a request."""
    usd = units * usd_per_unit
    return _Model(model_id, array, op, weight, tuple(projects.split()), usd, units=units)


# Ordered: a size uses the first DemoSize.models entries, so the first 10 make the small demo, the
# first 25 the large one. New models go at the end, or every size's data changes.
# _chat(id, spend weight, projects, tokens in and out a request, $/1M in and out, cacheable share)
# _unit(id, array, spend weight, projects, units a request, $ a unit)
CATALOG: tuple[_Model, ...] = (
    _chat("gpt-4o-2024-08-06", 1.0, "support legal marketing platform", 1800, 350, 2.5, 10, 0.4),
    _chat("gpt-4o-mini-2024-07-18", 0.35, "support search marketing platform", 1500, 300, 0.15, 0.6,
          0.3),
    _chat("o3-mini-2025-01-31", 0.5, "search legal platform", 2500, 1800, 1.1, 4.4, 0.2),
    _chat("gpt-4.1-2025-04-14", 0.8, "support legal search platform", 4000, 450, 2.0, 8.0, 0.5),
    _chat("text-embedding-3-small", 0.05, "search support", 700, 0, 0.02, 0, op="embeddings"),
    _chat("text-embedding-3-large", 0.08, "search legal", 700, 0, 0.13, 0, op="embeddings"),
    _unit("dall-e-3", "dalle_api_data", 0.4, "marketing", 1, 0.052, op="generations"),
    _unit("tts-1", "tts_api_data", 0.2, "marketing support", 1100, 15e-6),
    _unit("whisper-1", "whisper_api_data", 0.25, "support marketing", 95, 0.0001),
    _chat(UNPRICED_MODEL, 0.6, "legal", 2200, 500, 12, 12),
    # large only
    _chat("gpt-4.1-mini-2025-04-14", 0.3, "support platform", 3000, 400, 0.4, 1.6, 0.4),
    _chat("gpt-4.1-nano-2025-04-14", 0.1, "search platform", 1200, 150, 0.1, 0.4, 0.3),
    _chat("o4-mini-2025-04-16", 0.4, "platform search", 2500, 2000, 1.1, 4.4, 0.3),
    _chat("o3-2025-04-16", 0.5, "legal platform", 3000, 2500, 2.0, 8.0, 0.3),
    _chat("o1-2024-12-17", 0.3, "legal", 2500, 3000, 15, 60, 0.2),
    _chat("gpt-4o-2024-11-20", 0.5, "marketing support", 1800, 400, 2.5, 10, 0.4),
    _chat("gpt-3.5-turbo-0125", 0.05, "platform", 900, 200, 0.5, 1.5),
    _chat("gpt-4-turbo-2024-04-09", 0.15, "legal platform", 2000, 400, 10, 30),
    _chat("text-embedding-ada-002", 0.03, "search", 600, 0, 0.1, 0, op="embeddings"),
    _chat("gpt-4o-realtime-preview-2024-12-17", 0.3, "support", 3000, 900, 5, 20, 0.3,
          op="completion-realtime"),
    _chat("gpt-4o-mini-realtime-preview-2024-12-17", 0.1, "support platform", 3000, 900, 0.6, 2.4,
          0.3, op="completion-realtime"),
    _unit("tts-1-hd", "tts_api_data", 0.1, "marketing", 1100, 30e-6),
    _chat("ft:gpt-4o-mini-2024-07-18:acme:support-tone:AbC12xYz", 0.2, "support", 1400, 250, 0.3,
          1.2),
    _chat("gpt-5-2025-08-07", 0.5, "platform legal", 3000, 2500, 1.25, 10, 0.4),
    _chat("gpt-5-mini-2025-08-07", 0.2, "platform search", 2000, 1500, 0.25, 2.0, 0.3),
    # huge only
    _chat("gpt-5-nano-2025-08-07", 0.08, "support search platform", 1500, 800, 0.05, 0.4, 0.3),
    _chat("o3-pro-2025-06-10", 0.15, "legal", 4000, 3000, 20, 80, 0.2),
    _chat("o4-mini-deep-research-2025-06-26", 0.2, "search marketing", 6000, 4000, 2.0, 8.0, 0.3),
    _chat("o3-deep-research-2025-06-26", 0.15, "legal search", 6000, 4000, 10, 40, 0.3),
    _chat("gpt-4o-search-preview-2025-03-11", 0.15, "search marketing", 1200, 500, 2.5, 10),
    _chat("gpt-4o-mini-search-preview-2025-03-11", 0.05, "search support", 1200, 500, 0.15,
          0.6),
    _chat("gpt-4.5-preview-2025-02-27", 0.1, "marketing legal", 1500, 400, 75, 150),
    _chat("o1-mini-2024-09-12", 0.1, "platform", 2000, 2000, 1.1, 4.4, 0.2),
    _chat("gpt-4o-audio-preview-2024-12-17", 0.1, "support", 1500, 600, 2.5, 10),
    _chat("codex-mini-latest", 0.25, "platform", 5000, 1500, 1.5, 6.0, 0.5),
    _chat("computer-use-preview-2025-03-11", 0.1, "platform support", 3000, 300, 3.0, 12),
    _chat("gpt-3.5-turbo-instruct", 0.03, "support marketing", 800, 200, 1.5, 2.0),
    _chat("gpt-realtime-2025-08-28", 0.2, "support marketing", 3000, 900, 4.0, 16, 0.3,
          op="completion-realtime"),
    _chat("gpt-4o-2024-05-13", 0.1, "legal marketing", 1800, 350, 5.0, 15),
    _chat("gpt-5-pro-2025-10-06", 0.1, "legal platform", 3000, 2500, 15, 120),
)  # fmt: skip

PROJECTS: tuple[tuple[str, str], ...] = (
    ("support", "Support Assistant"),
    ("search", "Knowledge Search"),
    ("legal", "Contract Review"),
    ("marketing", "Marketing Studio"),
    ("platform", "Platform Sandbox"),
)

_FIRST = (
    "Ava", "Ben", "Chloe", "Diego", "Elif", "Farah", "Gustav", "Hana", "Ines", "Jamal", "Kenji",
    "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor",
    "Wen", "Ximena", "Yusuf", "Zoe", "Amara", "Bruno", "Camille", "Dmitri", "Esther", "Felix",
    "Grace", "Hugo", "Isla", "Jonas", "Keiko", "Luca", "Maya", "Noah",
)  # fmt: skip
_LAST = (
    "Okafor", "Lindqvist", "Moreau", "Alvarez", "Yilmaz", "Haddad", "Berg", "Sato", "Costa",
    "Williams", "Tanaka", "Fischer", "Rossi", "Petrova", "Nasser", "Iyer", "Murphy", "Silva",
    "Johansson", "Rahman", "Kapoor", "Novak", "Chen", "Garcia", "Demir", "Dubois", "Mensah",
    "Keller", "Laurent", "Volkov", "Cohen", "Schmidt", "Kim", "Martin", "Byrne", "Weber",
    "Nakamura", "Romano", "Reyes", "Park",
)  # fmt: skip
NAMELESS_EMAIL = f"ops-bot@{EMAIL_DOMAIN}"  # the one user without a name: a service account

_ALNUM = string.ascii_letters + string.digits


def empty_usage_payload() -> dict:
    """Nothing into a usage body with every array present and empty, e.g. ``{"data": [], ...}``."""
    return {"object": "list", **{name: [] for name in ARRAYS}}


def _token(rng: random.Random, n: int, alphabet: str = _ALNUM) -> str:
    """A seeded generator into ``n`` random characters, e.g. ``"aZ3k..."``."""
    return "".join(rng.choices(alphabet, k=n))


def _as_date(value: date | str) -> date:
    """A date, datetime or ``YYYY-MM-DD`` string into a date, e.g. ``"2025-03-04"`` -> a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _spike_day(start: date, days: int) -> date:
    """A range into the Tuesday-Thursday day ~70% through it, e.g. a 120-day range -> day ~84."""
    day = start + timedelta(days=int(days * SPIKE_AT))
    while day.weekday() not in (1, 2, 3):
        day += timedelta(days=1)
    return day


#: Claude's spend against the OpenAI usage's, on a typical day (about a quarter of the total).
CLAUDE_SHARE = 0.35
#: The demo's Anthropic workspaces: (id, name, key id, key name); None is the default workspace
#: (``workspace_id: null``, used from the Console, so no key).
CLAUDE_WORKSPACES: tuple[tuple[str | None, str | None, str | None, str | None], ...] = (
    ("wrkspc_demo01Research", "Claude research", "apikey_demo01Research", "research-agent"),
    ("wrkspc_demo02Support", "Support assistant", "apikey_demo02Support", "support-bot"),
    (None, None, None, None),
)


@dataclass(frozen=True)
class _ClaudeLine:
    """One line of the Claude usage: a workspace, a model, its share of Claude's spend and the
    shape of its tokens (list prices per 1M tokens, for calibration only: the app prices them)."""

    workspace: int  # index in CLAUDE_WORKSPACES
    model: str
    share: float
    usd_in: float
    usd_out: float
    out_ratio: float  # output tokens per input token
    cache_read: float = 0.0  # share of input read from the cache
    cache_write: float = 0.0  # share of input written to the cache (5-minute)
    cache_write_1h: float = 0.0  # and written for an hour
    searches_per_mtok: float = 0.0  # web searches per 1M input tokens
    tier: str = "standard"


CLAUDE_LINES: tuple[_ClaudeLine, ...] = (
    _ClaudeLine(0, "claude-sonnet-4-5-20250929", 0.42, 3.0, 15.0, 0.12, 0.45, 0.05, 0.02, 2.0),
    _ClaudeLine(0, "claude-opus-4-1-20250805", 0.18, 15.0, 75.0, 0.08),
    _ClaudeLine(1, "claude-haiku-4-5-20251001", 0.22, 1.0, 5.0, 0.2, 0.3, 0.04),
    _ClaudeLine(1, "claude-sonnet-4-5-20250929", 0.10, 3.0, 15.0, 0.1, 0.2, 0.02, 0.0, 5.0),
    _ClaudeLine(2, "claude-haiku-4-5-20251001", 0.08, 1.0, 5.0, 0.15, tier="batch"),
)


def _claude_input_tokens(line: _ClaudeLine, usd: float) -> float:
    """A line's money for a day into its input tokens at list prices, e.g. $3 of Sonnet with no
    cache and no output -> 1M."""
    uncached = 1.0 - line.cache_read - line.cache_write - line.cache_write_1h
    per_input = line.usd_in * (
        uncached + 1.25 * line.cache_write + 2.0 * line.cache_write_1h + 0.1 * line.cache_read
    )
    per_token = (per_input + line.usd_out * line.out_ratio) / 1e6
    if line.tier == "batch":
        per_token *= 0.5
    return usd / per_token


class DemoOrg:
    """A deterministic synthetic organization answering like the legacy usage API.

    :param size: a key of ``DEMO_SIZES`` (``"small"``, ``"large"`` or ``"huge"``)
    :param seed: everything random derives from it
    :param today: the range ends the day before; defaults to today in UTC (in ``zone``)
    :param zone: the zone whose dates the range and ``payloads`` count (None or UTC: UTC days)
    """

    def __init__(
        self,
        size: str = "small",
        *,
        seed: int = 7,
        today: date | None = None,
        zone: tzinfo | None = None,
    ) -> None:
        if size not in DEMO_SIZES:
            raise ValueError(f"unknown demo size {size!r}; expected one of {sorted(DEMO_SIZES)}")
        self.size = size
        self.spec = DEMO_SIZES[size]
        self.seed = seed
        self.zone = None if zone is None or zone_label(zone) == "UTC" else zone
        today = today if today is not None else datetime.now(self.zone or UTC).date()
        self.today = _as_date(today)
        self.end = self.today - timedelta(days=1)
        self.start = self.today - timedelta(days=self.spec.days)
        # the UTC days generated: the range's own, or in a zone every UTC day its dates touch
        self._first_utc, self._last_utc = self.start, self.end
        if self.zone is not None:
            self._first_utc = day_bounds(self.start, self.zone)[0].date()
            self._last_utc = (day_bounds(self.end, self.zone)[1] - timedelta(seconds=1)).date()
        self.spike_day = _spike_day(self.start, self.spec.days)
        self.models = CATALOG[: self.spec.models]
        self.projects = PROJECTS[: self.spec.projects]
        rng = random.Random(seed)
        self.org_id = "org-" + _token(rng, 24)
        self.org_name = ORG_NAME
        self._build_projects(rng)
        self._build_users(rng)
        self._build_pairs(rng)
        self._user_day: tuple[date, dict] | None = None  # last org-wide day, for per-user calls

    @property
    def max_rows_per_day(self) -> int:
        """The most usage rows one day can have: every user-model pair active in every window."""
        return max(1, len(self._pairs) * self.spec.windows[1])

    # -- the organization, built once ---------------------------------------------------------

    def _build_projects(self, rng: random.Random) -> None:
        """Projects and their two keys each."""
        self._project = {}
        for slug, name in self.projects:
            keys = []
            for suffix in ("prod", "staging"):
                keys.append(
                    {
                        "api_key_id": "key_" + _token(rng, 16),
                        "api_key_name": f"{slug}-{suffix}",
                        "api_key_redacted": "sk-..." + _token(rng, 4),
                        "api_key_type": "project",
                    }
                )
            self._project[slug] = {
                "project_id": "proj_" + _token(rng, 24),
                "project_name": name,
                "keys": keys,
            }

    def _build_users(self, rng: random.Random) -> None:
        """Users: names, emails, roles, heavy-tailed budgets, one or two projects each."""
        n = self.spec.users
        combos = rng.sample([(f, s) for f in _FIRST for s in _LAST], n)
        nameless = min(5, n - 1)
        start_ts = calendar.timegm(self.start.timetuple())
        slugs = [slug for slug, _ in self.projects]
        budgets = [rng.lognormvariate(0, 1.1) for _ in range(n)]
        scale = self.spec.weekday_usd / sum(budgets)
        self.users = []
        for i, (first, last) in enumerate(combos):
            primary = slugs[i % len(slugs)]
            projects = [primary]
            if rng.random() < 0.4:
                projects.append(rng.choice([s for s in slugs if s != primary]))
            self.users.append(
                {
                    "id": "user-" + _token(rng, 24),
                    "name": None if i == nameless else f"{first} {last}",
                    "email": NAMELESS_EMAIL if i == nameless else _email(first, last),
                    "role": "owner" if i == 0 or (i % 40 == 1 and n > 40) else "reader",
                    "created": start_ts - rng.randrange(30, 720) * 86_400 - rng.randrange(86_400),
                    "budget": budgets[i] * scale,
                    "projects": projects,
                }
            )

    def _build_pairs(self, rng: random.Random) -> None:
        """Who uses which model in which project with which key, and how much on a weekday."""
        lo, hi = self.spec.models_per_project
        # (user index, model, project slug, key index)
        pairs: list[tuple[int, _Model, str, int]] = []
        for u, user in enumerate(self.users):
            for slug in user["projects"]:
                candidates = [m for m in self.models if slug in m.projects]
                k = min(len(candidates), rng.randint(lo, hi))
                for model in _weighted_sample(rng, candidates, [m.weight for m in candidates], k):
                    pairs.append((u, model, slug, 0 if rng.random() < 0.7 else 1))
        used = {model.id for _, model, _, _ in pairs}
        for model in self.models:  # every model of the size must show up
            if model.id not in used:
                slug = next(s for s, _ in self.projects if s in model.projects)
                members = [u for u, user in enumerate(self.users) if slug in user["projects"]]
                pairs.append((rng.choice(members), model, slug, 0))
        # The spike belongs to a mid-sized spender, so it stands out against their usual days.
        by_budget = sorted(range(len(self.users)), key=lambda u: -self.users[u]["budget"])
        spike_user = by_budget[len(self.users) // 3]
        if not any(u == spike_user and _spikeable(m) for u, m, _, _ in pairs):
            slug = self.users[spike_user]["projects"][0]
            model = next(m for m in self.models if _spikeable(m) and slug in m.projects)
            pairs.append((spike_user, model, slug, 0))

        shares = [m.weight * rng.lognormvariate(0, 0.5) for _, m, _, _ in pairs]
        per_user = [0.0] * len(self.users)
        for (u, _, _, _), share in zip(pairs, shares, strict=True):
            per_user[u] += share
        p_weekday = [0.55 + 0.4 * rng.random() for _ in pairs]
        # Dollars on an active weekday, so that the expected weekday total is the user's budget.
        usd = [
            self.users[u]["budget"] * share / per_user[u] / p
            for (u, _, _, _), share, p in zip(pairs, shares, p_weekday, strict=True)
        ]
        self._pairs = pairs
        self._p_weekday = np.array(p_weekday)
        self._p_weekend = self._p_weekday * WEEKEND_ACTIVITY
        self._pair_usd = np.array(usd)
        self._usd_per_request = np.array([m.usd_per_request for _, m, _, _ in pairs])
        spike_candidates = [
            i for i, (u, m, _, _) in enumerate(pairs) if u == spike_user and _spikeable(m)
        ]
        self._spike_pair = max(spike_candidates, key=lambda i: usd[i] * p_weekday[i])
        self._spike_usd = SPIKE_FACTOR * self.users[spike_user]["budget"]
        self._templates = [self._template(u, m, slug, key) for u, m, slug, key in pairs]
        models = [m for _, m, _, _ in pairs]
        self._pair_array = np.array([ROW_ARRAYS.index(m.array) for m in models])
        self._pair_measures = _Measures(
            input_tokens=np.array([m.input_tokens for m in models], dtype=np.int64),
            output_tokens=np.array([m.output_tokens for m in models], dtype=np.int64),
            cache=np.array([m.cache for m in models], dtype=float),
            units=np.array([m.units for m in models], dtype=float),
        )

    def _template(self, u: int, model: _Model, slug: str, key: int) -> dict:
        """A pair into its row template: every field in API order, the measures still None."""
        user, project = self.users[u], self._project[slug]
        ids = {
            "organization_id": self.org_id,
            "organization_name": self.org_name,
            "user_id": user["id"],
            "email": user["email"],
            **project["keys"][key],
            "project_id": project["project_id"],
            "project_name": project["project_name"],
        }
        if model.array == "data":
            return {
                "aggregation_timestamp": None,
                "n_requests": None,
                "operation": model.operation,
                "snapshot_id": model.id,
                "n_context_tokens_total": None,
                "n_generated_tokens_total": None,
                **ids,
                "request_type": "",
                "n_cached_context_tokens_total": None,
            }
        if model.array == "dalle_api_data":
            head = {"timestamp": None, "num_images": None, "num_requests": None, "image_size": None}
            return {**head, "operation": model.operation, "model_id": model.id, **ids}
        measure = "num_characters" if model.array == "tts_api_data" else "num_seconds"
        return {"timestamp": None, "model_id": model.id, measure: None, "num_requests": None, **ids}

    # -- public answers -----------------------------------------------------------------------

    def users_payload(self) -> dict:
        """The org into a legacy users body, e.g. ``{"members": {"data": [{"user": ...}]}}``."""
        members = [
            {
                "role": user["role"],
                "created": user["created"],
                "user": {"id": user["id"], "name": user["name"], "email": user["email"]},
            }
            for user in self.users
        ]
        return {"object": "list", "members": {"object": "list", "data": members}}

    def usage_payload(self, day: date | str, user_public_id: str | None = None) -> dict:
        """A day (maybe a user) into a ``/v1/usage`` body, e.g. 2025-03-04 -> ``{"data": [..]}``.

        Org-wide bodies carry ``user_id`` and ``email`` on every row; with ``user_public_id`` only
        that user's rows (an unknown id gets empty arrays). Days outside the range are empty.
        """
        day = _as_date(day)
        if user_public_id is None:
            return self._day_payload(day)
        cached = self._user_day  # one read: another thread may swap it meanwhile
        if cached is None or cached[0] != day:
            cached = self._user_day = (day, self._day_payload(day))
        full = cached[1]
        out = empty_usage_payload()
        for name in ARRAYS:
            out[name] = [dict(row) for row in full[name] if row.get("user_id") == user_public_id]
        return out

    def payloads(
        self, start: date | str | None = None, end: date | str | None = None
    ) -> Iterator[tuple[date, None, dict]]:
        """A date range into org-wide ``(day, None, body)`` triples, e.g. all days by default; in
        a zone, its local dates, each holding the windows that start on it there."""
        day = _as_date(start) if start is not None else self.start
        last = _as_date(end) if end is not None else self.end
        if self.zone is not None:
            yield from self._local_payloads(day, last, self.zone)
            return
        while day <= last:
            yield day, None, self._day_payload(day)
            day += timedelta(days=1)

    def _local_payloads(
        self, day: date, last: date, zone: tzinfo
    ) -> Iterator[tuple[date, None, dict]]:
        """Local dates into bodies cut from the UTC days they touch (each generated once)."""
        generated: dict[date, dict] = {}
        while day <= last:
            if not (self.start <= day <= self.end):  # outside the range (today): empty
                yield day, None, empty_usage_payload()
                day += timedelta(days=1)
                continue
            begin, end = day_bounds(day, zone)
            low, high = int(begin.timestamp()), int(end.timestamp())
            out = empty_usage_payload()
            utc_day = begin.date()
            while utc_day <= (end - timedelta(seconds=1)).date():
                if utc_day not in generated:
                    generated[utc_day] = self._day_payload(utc_day)
                body = generated[utc_day]
                for name in ARRAYS:
                    out[name] += [row for row in body[name] if low <= _window_start(row) < high]
                utc_day += timedelta(days=1)
            for older in [d for d in generated if d < begin.date()]:
                del generated[older]  # a UTC day behind the dates still to come: done with it
            yield day, None, out
            day += timedelta(days=1)

    def describe(self) -> dict:
        """The org into a summary for the UI notice and tests, e.g. ``{"users": 12, ...}``."""
        spike_user_idx, spike_model, _, _ = self._pairs[self._spike_pair]
        spike_user = self.users[spike_user_idx]
        return {
            "size": self.size,
            "seed": self.seed,
            "org_id": self.org_id,
            "org_name": self.org_name,
            "start": self.start,
            "end": self.end,
            "days": self.spec.days,
            "users": len(self.users),
            "models": len(self.models),
            "projects": len(self.projects),
            "api_keys": 2 * len(self.projects),
            "model_ids": [m.id for m in self.models],
            "project_names": [name for _, name in self.projects],
            "unpriced_model": UNPRICED_MODEL,
            "claude_models": sorted({line.model for line in CLAUDE_LINES}),
            "workspaces": [name or "Default workspace" for _, name, _, _ in CLAUDE_WORKSPACES],
            "spike": {
                "date": self.spike_day,
                "user_id": spike_user["id"],
                "email": spike_user["email"],
                "model": spike_model.id,
            },
        }

    # -- the Claude share, in Anthropic's shapes ------------------------------------------------

    def claude_usage_payload(
        self, start: date | str | None = None, end: date | str | None = None
    ) -> dict:
        """A range into one page of Anthropic's usage report (``/v1/organizations/usage_report/
        messages``, daily buckets grouped by model, workspace, key and service tier), e.g. a day
        -> ``{"data": [{"starting_at": ..., "results": [...]}], "has_more": false}``. Days
        outside the organization's range are empty buckets."""
        day = _as_date(start) if start is not None else self.start
        last = _as_date(end) if end is not None else self.end
        buckets = []
        while day <= last:
            begin = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
            buckets.append(
                {
                    "starting_at": begin.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "ending_at": (begin + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "results": self._claude_results(day),
                }
            )
            day += timedelta(days=1)
        return {"data": buckets, "has_more": False, "next_page": None}

    def claude_workspaces_payload(self) -> dict:
        """The demo's Anthropic workspaces as a ``/v1/organizations/workspaces`` page."""
        data = [
            {"id": ws, "type": "workspace", "name": name, "archived_at": None}
            for ws, name, _, _ in CLAUDE_WORKSPACES
            if ws is not None
        ]
        return {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"],
            "last_id": data[-1]["id"],
        }

    def claude_api_keys_payload(self) -> dict:
        """The demo's Anthropic keys as a ``/v1/organizations/api_keys`` page."""
        data = [
            {
                "id": key,
                "type": "api_key",
                "name": key_name,
                "workspace_id": ws,
                "status": "active",
                "created_by": {"id": self.users[0]["id"], "type": "user"},
                "partial_key_hint": f"sk-ant-api03-{key[-4:]}...DEMO",
            }
            for ws, _, key, key_name in CLAUDE_WORKSPACES
            if key is not None
        ]
        return {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"],
            "last_id": data[-1]["id"],
        }

    def _claude_results(self, day: date) -> list[dict]:
        """A day into its Claude usage results (fresh dicts), none outside the range."""
        if not (self.start <= day <= self.end):
            return []
        rng = np.random.default_rng([self.seed, day.toordinal(), 20])
        level = (1 + GROWTH_PER_DAY * (day - self.start).days) * rng.lognormal(0, DAY_SIGMA)
        if day.weekday() >= 5:
            level *= WEEKEND_ACTIVITY * WEEKEND_VOLUME
        noise = rng.lognormal(-(PAIR_SIGMA**2) / 2, PAIR_SIGMA, len(CLAUDE_LINES))
        results = []
        for line, factor in zip(CLAUDE_LINES, noise, strict=True):
            usd = self.spec.weekday_usd * CLAUDE_SHARE * line.share * level * factor
            total = _claude_input_tokens(line, usd)
            read = int(total * line.cache_read)
            write_5m = int(total * line.cache_write)
            write_1h = int(total * line.cache_write_1h)
            ws, _, key, _ = CLAUDE_WORKSPACES[line.workspace]
            results.append(
                {
                    "uncached_input_tokens": int(total) - read - write_5m - write_1h,
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": write_5m,
                        "ephemeral_1h_input_tokens": write_1h,
                    },
                    "cache_read_input_tokens": read,
                    "output_tokens": int(total * line.out_ratio),
                    "server_tool_use": {
                        "web_search_requests": int(total / 1e6 * line.searches_per_mtok)
                    },
                    "model": line.model,
                    "workspace_id": ws,
                    "api_key_id": key,
                    "service_tier": line.tier,
                    "context_window": "0-200k",
                }
            )
        return results

    # -- one day ------------------------------------------------------------------------------

    def _day_payload(self, day: date) -> dict:
        """A day into its org-wide usage body: fresh dicts on every call."""
        out = empty_usage_payload()
        if not (self._first_utc <= day <= self._last_utc):
            return out
        spec = self.spec
        rng = np.random.default_rng([self.seed, day.toordinal()])
        n_pairs = len(self._pairs)
        lo, hi = spec.windows
        weekend = day.weekday() >= 5
        level = (1 + GROWTH_PER_DAY * (day - self.start).days) * rng.lognormal(0, DAY_SIGMA)
        if weekend:
            level *= WEEKEND_VOLUME

        active = rng.random(n_pairs) < (self._p_weekend if weekend else self._p_weekday)
        usd = self._pair_usd * level * rng.lognormal(-(PAIR_SIGMA**2) / 2, PAIR_SIGMA, n_pairs)
        if day == self.spike_day:
            active[self._spike_pair] = True
            usd[self._spike_pair] = self._spike_usd * level
        requests = np.maximum(1, np.rint(usd / self._usd_per_request)).astype(np.int64)
        n_windows = rng.integers(lo, hi + 1, n_pairs)
        fractions = rng.random((n_pairs, hi)) + 0.25
        fractions[np.arange(hi)[None, :] >= n_windows[:, None]] = 0
        fractions /= fractions.sum(axis=1, keepdims=True)
        slots = rng.choice(SLOTS_PER_DAY, size=(n_pairs, hi), p=SLOT_P)
        noise = rng.lognormal(0, TOKEN_SIGMA, (n_pairs, hi, 2))
        extra = rng.random((n_pairs, hi, 2))  # cache hits; image sizes

        day_ts = calendar.timegm(day.timetuple())
        pair, window = _window_rows(np.flatnonzero(active), n_windows)
        slot = _distinct_slots(slots, pair, window)
        draws = _Draws(
            pair=pair,
            ts=day_ts + slot * SLOT_SECONDS,
            n=np.maximum(1, np.rint(requests[pair] * fractions[pair, window])).astype(np.int64),
            noise=noise[pair, window],
            extra=extra[pair, window],
        )
        arrays = self._pair_array[pair]
        for code, name in enumerate(ROW_ARRAYS):
            rows = draws.take(arrays == code)
            out[name] = _ROW_BUILDERS[name](rows, self._templates, self._pair_measures)
        return out


#: The payload arrays the demo fills, in the order of ``_pair_array`` codes.
ROW_ARRAYS = ("data", "dalle_api_data", "whisper_api_data", "tts_api_data")


@dataclass(frozen=True)
class _Draws:
    """One day's rows as parallel arrays, in payload order: pair index, window start, requests, and
    the row's noise and extra draws (two each)."""

    pair: np.ndarray
    ts: np.ndarray
    n: np.ndarray
    noise: np.ndarray  # (rows, 2)
    extra: np.ndarray  # (rows, 2)

    def take(self, mask: np.ndarray) -> _Draws:
        """The rows under ``mask``, sorted by window start (stable: ties keep their order)."""
        ts = self.ts[mask]
        order = np.argsort(ts, kind="stable")
        pick = lambda values: values[mask][order]  # noqa: E731
        return _Draws(pick(self.pair), ts[order], pick(self.n), pick(self.noise), pick(self.extra))


def _window_rows(active: np.ndarray, n_windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Active pair indices and windows per pair into one (pair, window) per row, pair by pair, e.g.
    ``([0, 2], [2, 1, 1]) -> ([0, 0, 2], [0, 1, 0])``."""
    counts = n_windows[active]
    pair = np.repeat(active, counts)
    starts = np.cumsum(counts) - counts
    window = np.arange(len(pair)) - np.repeat(starts, counts)
    return pair, window


def _distinct_slots(slots: np.ndarray, pair: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Drawn slots into one slot per row where a pair's windows never share a slot: a taken slot
    moves to the next free one, e.g. a pair drawing slots (7, 7) gets (7, 8)."""
    out = slots[pair, window]
    if not len(window) or window.max() == 0:  # one window per pair: nothing can collide
        return out
    taken: dict[int, set[int]] = {}
    for row in range(len(out)):  # only the small demo has several windows per pair
        mine = taken.setdefault(int(pair[row]), set())
        slot = int(out[row])
        while slot in mine:
            slot = (slot + 1) % SLOTS_PER_DAY
        mine.add(slot)
        out[row] = slot
    return out


@dataclass(frozen=True)
class _Measures:
    """Per pair, its model's quantities a request (arrays indexed by pair)."""

    input_tokens: np.ndarray
    output_tokens: np.ndarray
    cache: np.ndarray
    units: np.ndarray


def _data_rows(draws: _Draws, templates: list[dict], m: _Measures) -> list[dict]:
    """A day's token rows into ``data`` payload rows, e.g. 12 requests of gpt-4o at 09:05."""
    p, n, noise, extra = draws.pair, draws.n, draws.noise, draws.extra
    inp = (n * m.input_tokens[p] * noise[:, 0]).astype(np.int64)
    out = (n * m.output_tokens[p] * noise[:, 1]).astype(np.int64)
    hit = (extra[:, 0] < 0.6) & (m.cache[p] > 0)  # some rows have cached input
    cached = np.where(hit, (inp * m.cache[p] * (0.4 + extra[:, 0])).astype(np.int64), 0)
    columns = (p, draws.ts, n, inp, out, cached)
    return [
        {
            **templates[i],
            "aggregation_timestamp": ts,
            "n_requests": k,
            "n_context_tokens_total": a,
            "n_generated_tokens_total": b,
            "n_cached_context_tokens_total": c,
        }
        for i, ts, k, a, b, c in zip(*(c.tolist() for c in columns), strict=True)
    ]


def _image_rows(draws: _Draws, templates: list[dict], m: _Measures) -> list[dict]:
    """A day's image rows into ``dalle_api_data`` rows: one image a request, two sizes."""
    size = np.where(draws.extra[:, 1] < 0.7, "1024x1024", "1024x1792")
    columns = (draws.pair.tolist(), draws.ts.tolist(), draws.n.tolist(), size.tolist())
    return [
        {**templates[i], "timestamp": ts, "num_images": k, "num_requests": k, "image_size": s}
        for i, ts, k, s in zip(*columns, strict=True)
    ]


def _unit_rows(measure: str) -> Callable[[_Draws, list[dict], _Measures], list[dict]]:
    """A measure name into a builder of audio rows carrying it, e.g. ``"num_seconds"`` (whisper)."""

    def build(draws: _Draws, templates: list[dict], m: _Measures) -> list[dict]:
        p, n = draws.pair, draws.n
        units = (n * m.units[p] * draws.noise[:, 0]).astype(np.int64)
        columns = (p.tolist(), draws.ts.tolist(), n.tolist(), units.tolist())
        return [
            {**templates[i], "timestamp": ts, measure: u, "num_requests": k}
            for i, ts, k, u in zip(*columns, strict=True)
        ]

    return build


_ROW_BUILDERS = {
    "data": _data_rows,
    "dalle_api_data": _image_rows,
    "whisper_api_data": _unit_rows("num_seconds"),
    "tts_api_data": _unit_rows("num_characters"),
}


def _window_start(row: dict) -> int:
    """A usage row into the Unix second its window starts (``aggregation_timestamp`` on token
    rows, ``timestamp`` on image and audio rows)."""
    return int(row.get("aggregation_timestamp", row.get("timestamp", 0)))


def _email(first: str, last: str) -> str:
    """A name into a demo address, e.g. ("Ava", "Okafor") -> ``"ava.okafor@acme.example"``."""
    return f"{first}.{last}@{EMAIL_DOMAIN}".lower()


def _spikeable(model: _Model) -> bool:
    """A model into whether the spike may use it: a priced chat completion, e.g. gpt-4o -> True."""
    return (
        model.array == "data" and model.operation == "completion" and not model.id.startswith("ft:")
    )


def _weighted_sample(rng: random.Random, items: list, weights: list[float], k: int) -> list:
    """Items and weights into ``k`` distinct picks, heavier ones likelier, e.g. 2 of 4 models."""
    items, weights, picks = list(items), list(weights), []
    for _ in range(min(k, len(items))):
        i = rng.choices(range(len(items)), weights=weights)[0]
        picks.append(items.pop(i))
        weights.pop(i)
    return picks
