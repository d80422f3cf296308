"""A fake of Anthropic's Admin API (usage report, cost report, workspaces, API keys) over real HTTP
on 127.0.0.1, in the shapes of ``../shared/API-NOTES.md`` §6.

    with FakeAnthropic(days=[...]) as fake:
        fake.base_url                      # http://127.0.0.1:<port> (paths start with /v1)
        fake.fail_next(1, 429, retry_after="7")
        fake.totals(start, end)            # exact token sums over the range
        fake.cost_total(start, end)        # the cost report's total in USD (Decimal, exact)
        fake.list_cost(start, end)         # tokens x Anthropic's list prices in USD

Behaviour, in the order a request meets it:

1. Every request is recorded (``fake.requests``: path, query pairs, headers minus ``x-api-key``).
2. Injected faults (``fail_next(n, status, retry_after)``) answer first, with Anthropic's error
   body ``{"type": "error", "error": {"type", "message"}}``; ``refuse[path] = 403`` answers every
   request of a path so (after auth).
3. Auth: no or another ``x-api-key`` -> 401 ``authentication_error`` (a normal ``sk-ant-api…`` key
   too: our pick, the docs do not say 401 or 403); no ``anthropic-version`` -> 400
   ``invalid_request_error`` "anthropic-version: header is required".
4. Routes: the usage report groups by any of ``model``, ``workspace_id``, ``api_key_id``,
   ``service_tier``, ``context_window`` (``group_by[]``, repeated; another value -> 400), sums
   what is not grouped and leaves it ``null``; the default workspace is always ``workspace_id:
   null``, Console usage ``api_key_id: null``. Buckets are UTC days from ``starting_at`` to
   ``ending_at`` (a day that has begun is answered, partial), ``limit`` above 31 -> 400; the
   usage report also answers ``bucket_width=1h`` (up to 168 a page; a day's usage spread over
   03:00, 13:00 and 22:00 UTC, ``HOURLY_SPREAD``, adding up to the day exactly);
   ``page_buckets`` buckets a page (default 31) with ``has_more``/``next_page``; days without
   usage are empty buckets (``results: []``). The cost report groups by ``workspace_id`` and
   ``description``; ``amount`` is a decimal string in cents; an ``ending_at`` that is not midnight
   -> 400 (constructorfabric/insight PR 1926); ``costs_from_lag = day``: a window starting on or
   after that day -> 400 "Invalid date range" (its data lags; langwatch/langwatch PR 7178). Lists
   page by ``limit``/``after_id`` with ``first_id``/``last_id``. Unknown paths -> 404.

The data is deterministic: on day ``i`` of ``days`` (every fourth day has no usage) a Research
workspace key uses Claude Sonnet 4.5 with both kinds of cache writes, cache reads and web searches;
the default workspace (Console, no key) uses Haiku 4.5 in batch; a workspace with a hostile name
(a Markdown link and ``<!channel>``) sends long-context (``200k-1M``) Sonnet 4.5 requests; and
Opus 4.1 runs in batch.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

ADMIN_KEY = "sk-ant-admin01-fake-0123456789ab"
NORMAL_KEY = "sk-ant-api03-fake-0123456789abcd"
VERSION = "2023-06-01"
USAGE_DIMS = ("model", "workspace_id", "api_key_id", "service_tier", "context_window")
HOSTILE_NAME = "[Pay here](https://evil.example/x) <!channel> **bold**"
WORKSPACES = (
    {"id": "wrkspc_01Research", "name": "Research", "archived_at": None},
    {"id": "wrkspc_02Hostile", "name": HOSTILE_NAME, "archived_at": None},
    {"id": "wrkspc_03Old", "name": "Old", "archived_at": "2025-01-01T00:00:00Z"},
)
API_KEYS = (
    {
        "id": "apikey_01Ci",
        "name": "ci-bot",
        "workspace_id": "wrkspc_01Research",
        "created_by": {"id": "user_01Ann", "type": "user"},
        "partial_key_hint": "sk-ant-api03-R2D...AAAA",
        "status": "active",
        "type": "api_key",
    },
    {
        "id": "apikey_02App",
        "name": "<img src=x onerror=alert(1)>",
        "workspace_id": "wrkspc_02Hostile",
        "created_by": {"id": "user_01Ann", "type": "user"},
        "partial_key_hint": "sk-ant-api03-C3P...BBBB",
        "status": "active",
        "type": "api_key",
    },
    {
        "id": "apikey_03Batch",
        "name": "nightly batch",
        "workspace_id": "wrkspc_01Research",
        "created_by": {"id": "user_02Bo", "type": "user"},
        "partial_key_hint": "sk-ant-api03-BB8...CCCC",
        "status": "active",
        "type": "api_key",
    },
)
#: Anthropic's list prices per 1M tokens (docs.anthropic.com/en/docs/about-claude/pricing):
#: input, output, cache read (0.1x), 5-minute cache write (1.25x), 1-hour cache write (2x).
PRICES = {
    "claude-sonnet-4-5-20250929": (3.0, 15.0, 0.30, 3.75, 6.0),
    "claude-haiku-4-5-20251001": (1.0, 5.0, 0.10, 1.25, 2.0),
    "claude-opus-4-1-20250805": (15.0, 75.0, 1.50, 18.75, 30.0),
}
#: Sonnet 4.5 above 200K input tokens (same page, "Long context pricing").
LONG_PRICES = {"claude-sonnet-4-5-20250929": (6.0, 22.5, 0.60, 7.5, 12.0)}
WEB_SEARCH_PER_1000 = Decimal(10)
NAMES = {
    "claude-sonnet-4-5-20250929": "Claude Sonnet 4.5",
    "claude-haiku-4-5-20251001": "Claude Haiku 4.5",
    "claude-opus-4-1-20250805": "Claude Opus 4.1",
}
TOKEN_FIELDS = ("uncached", "write_5m", "write_1h", "read", "output")


@dataclass(frozen=True)
class Usage:
    """One day's usage of one (workspace, key, model, tier, context window)."""

    day: date
    workspace_id: str | None
    api_key_id: str | None
    model: str
    service_tier: str
    context_window: str
    uncached: int
    write_5m: int
    write_1h: int
    read: int
    output: int
    web_searches: int = 0

    @property
    def input_tokens(self) -> int:
        return self.uncached + self.write_5m + self.write_1h + self.read

    def list_cost(self) -> Decimal:
        """Its money at list prices in USD: batch 50 %, the long-context tier where it is long."""
        table = LONG_PRICES if self.context_window == "200k-1M" else PRICES
        inp, out, read, w5, w1 = (Decimal(str(p)) for p in table[self.model])
        tokens = (
            self.uncached * inp
            + self.output * out
            + self.read * read
            + self.write_5m * w5
            + self.write_1h * w1
        ) / Decimal(1_000_000)
        if self.service_tier == "batch":
            tokens /= 2
        return tokens + self.web_searches * WEB_SEARCH_PER_1000 / 1000

    def cost_lines(self) -> list[tuple[str, Decimal]]:
        """Its cost report lines: (description, cents), one per token type and web search."""
        table = LONG_PRICES if self.context_window == "200k-1M" else PRICES
        fields = ("uncached", "output", "read", "write_5m", "write_1h")
        prices = dict(zip(fields, table[self.model], strict=True))
        labels = {
            "uncached": "Input Tokens",
            "output": "Output Tokens",
            "read": "Cache Read Tokens",
            "write_5m": "Cache Write Tokens (5m)",
            "write_1h": "Cache Write Tokens (1h)",
        }
        batch = Decimal("0.5") if self.service_tier == "batch" else Decimal(1)
        lines = []
        for field, price in prices.items():
            count = getattr(self, field)
            if count:
                cents = count * Decimal(str(price)) * 100 * batch / Decimal(1_000_000)
                lines.append((f"{NAMES[self.model]} Usage - {labels[field]}", cents))
        if self.web_searches:
            lines.append(("Web Search", self.web_searches * WEB_SEARCH_PER_1000 * 100 / 1000))
        return lines


def make_usage(days: list[date]) -> list[Usage]:
    """The fake organization's usage on ``days`` (module docstring)."""
    out = []
    for i, day in enumerate(days):
        if i % 4 == 3:
            continue  # an empty bucket
        k = i + 1
        out += [
            Usage(
                day, "wrkspc_01Research", "apikey_01Ci", "claude-sonnet-4-5-20250929",
                "standard", "0-200k", 10_000 * k, 2_000 * k, 1_000 * k, 5_000 * k, 3_000 * k, k,
            ),
            Usage(
                day, None, None, "claude-haiku-4-5-20251001",
                "batch", "0-200k", 40_000 * k, 0, 0, 7_000 * k, 9_000 * k,
            ),
            Usage(
                day, "wrkspc_02Hostile", "apikey_02App", "claude-sonnet-4-5-20250929",
                "standard", "200k-1M", 300_000 * k, 0, 0, 0, 2_000 * k,
            ),
            Usage(
                day, "wrkspc_01Research", "apikey_03Batch", "claude-opus-4-1-20250805",
                "batch", "0-200k", 1_000 * k, 500, 0, 0, 800 * k,
            ),
        ]  # fmt: skip
    return out


def rfc3339(day: date) -> str:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp(moment: datetime) -> str:
    """An instant into RFC 3339 text, e.g. ``"2026-11-03T13:00:00Z"``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


DAY = timedelta(days=1)
#: bucket_width -> (length, most buckets a request, default limit) (API-NOTES §6)
BUCKET_WIDTHS = {"1d": (DAY, 31, 7), "1h": (timedelta(hours=1), 168, 24)}
#: Hourly buckets: a day's usage is spread over these UTC hours by these weights (whole tokens,
#: the last hour takes the rest), so the hours of a day add up to its daily bucket exactly; the
#: cost report stays daily.
HOURLY_SPREAD = ((3, 1), (13, 2), (22, 1))
_COUNTS = ("uncached", "write_5m", "write_1h", "read", "output", "web_searches")


def hourly_parts(usage: Usage) -> list[tuple[int, Usage]]:
    """A day's usage into (UTC hour, its part) by ``HOURLY_SPREAD``, adding up to it exactly."""
    total = sum(w for _, w in HOURLY_SPREAD)
    parts: list[dict[str, int]] = [{} for _ in HOURLY_SPREAD]
    for name in _COUNTS:
        value, done = getattr(usage, name), 0
        for i, (_, weight) in enumerate(HOURLY_SPREAD):
            share = value - done if i == len(HOURLY_SPREAD) - 1 else value * weight // total
            parts[i][name] = share
            done += share
    return [(h, replace(usage, **part)) for (h, _), part in zip(HOURLY_SPREAD, parts, strict=True)]


class Window(NamedTuple):
    starts: list[datetime]
    offset: int
    size: int
    width: timedelta


def _parse(text: str | None) -> datetime:
    if not text:
        raise ValueError("missing")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class Refusal(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


class FakeAnthropic:
    """The fake Admin API; see the module docstring."""

    def __init__(self, days: list[date], *, key: str = ADMIN_KEY, page_buckets: int = 31) -> None:
        self.key = key
        self.days = list(days)
        self.usage = make_usage(self.days)
        self.page_buckets = page_buckets
        self.list_page = 100
        self.requests: list[tuple[str, list[tuple[str, str]], dict[str, str]]] = []
        self.faults: deque[tuple[int, str | None]] = deque()
        #: path -> status answered to every request of it (a key without access to a list)
        self.refuse: dict[str, int] = {}
        #: the cost report lags: a window starting on or after this day is refused (400)
        self.costs_from_lag: date | None = None
        self.base_url: str | None = None
        self._server: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> FakeAnthropic:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=_Quiet)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- what tests ask --------------------------------------------------------------------------
    def fail_next(self, n: int, status: int, retry_after: str | None = None) -> None:
        for _ in range(n):
            self.faults.append((status, retry_after))

    def count(self, path: str | None = None) -> int:
        return sum(1 for p, _, _ in self.requests if path is None or p == path)

    def within(self, start: date, end: date) -> list[Usage]:
        return [u for u in self.usage if start <= u.day <= end]

    def totals(self, start: date, end: date) -> dict[str, int]:
        """Exact sums over [start, end]: the usage table's input/cached/output/cache writes and
        web searches."""
        rows = self.within(start, end)
        return {
            "input_tokens": sum(u.input_tokens for u in rows),
            "cached_input_tokens": sum(u.read for u in rows),
            "output_tokens": sum(u.output for u in rows),
            "cache_write_tokens": sum(u.write_5m + u.write_1h for u in rows),
            "cache_write_1h_tokens": sum(u.write_1h for u in rows),
            "web_searches": sum(u.web_searches for u in rows),
        }

    def cost_total(self, start: date, end: date) -> Decimal:
        """The cost report's total over [start, end] in USD."""
        cents = sum(
            (cents for u in self.within(start, end) for _, cents in u.cost_lines()), Decimal(0)
        )
        return cents / 100

    def list_cost(self, start: date, end: date) -> Decimal:
        """Tokens x Anthropic's list prices over [start, end] in USD."""
        return sum((u.list_cost() for u in self.within(start, end)), Decimal(0))

    # -- the WSGI app ----------------------------------------------------------------------------
    def app(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        headers = {k.lower(): v for k, v in request.headers.items() if k.lower() != "x-api-key"}
        with self._lock:
            self.requests.append((request.path, list(request.args.items(multi=True)), headers))
            fault = self.faults.popleft() if self.faults else None
        extra: dict[str, str] = {"request-id": f"req_{len(self.requests):06d}"}
        try:
            if fault is not None:
                status, retry_after = fault
                if retry_after:
                    extra["retry-after"] = retry_after
                kind = "rate_limit_error" if status == 429 else "api_error"
                raise Refusal(status, kind, "Injected failure")
            body = self._answer(request)
            status = 200
        except Refusal as exc:
            status = exc.status
            body = {"type": "error", "error": {"type": exc.kind, "message": exc.message}}
        response = Response(json.dumps(body), status=status, content_type="application/json")
        for name, value in extra.items():
            response.headers[name] = value
        return response(environ, start_response)

    def _answer(self, request: Request) -> Any:
        if request.headers.get("x-api-key") != self.key:
            raise Refusal(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            raise Refusal(400, "invalid_request_error", "anthropic-version: header is required")
        routes = {
            "/v1/organizations/usage_report/messages": self._usage,
            "/v1/organizations/cost_report": self._costs,
            "/v1/organizations/workspaces": lambda r: self._list(r, WORKSPACES),
            "/v1/organizations/api_keys": lambda r: self._list(r, API_KEYS),
        }
        if request.path in self.refuse:
            raise Refusal(self.refuse[request.path], "permission_error", "not allowed")
        route = routes.get(request.path)
        if route is None:
            raise Refusal(404, "not_found_error", f"Not found: {request.path}")
        return route(request)

    def _window(self, request: Request, widths: tuple[str, ...] = ("1d",)) -> Window:
        """The request's bucket starts (aligned, before ``ending_at``), the page's first index,
        the buckets a page holds and the bucket's length (``1d``; the usage report: ``1h`` too,
        168 a page)."""
        width_name = request.args.get("bucket_width", "1d")
        if width_name not in widths:
            raise Refusal(400, "invalid_request_error", f"bucket_width must be {widths}")
        width, most, default = BUCKET_WIDTHS[width_name]
        try:
            first = _parse(request.args.get("starting_at"))
            end = _parse(request.args.get("ending_at") or stamp(first + default * width))
            limit = int(request.args.get("limit") or default)
        except ValueError as exc:
            raise Refusal(400, "invalid_request_error", "starting_at/ending_at/limit") from exc
        if not 1 <= limit <= most:
            raise Refusal(
                400, "invalid_request_error", f"limit must be 1-{most} for {width_name} buckets"
            )
        origin = datetime(1970, 1, 1, tzinfo=UTC)
        at = origin + (first - origin) // width * width
        starts = []
        while at < end:
            starts.append(at)
            at += width
        page = request.args.get("page")
        offset = 0
        if page:
            start = base64.b64decode(page.removeprefix("page_")).decode()
            offset = starts.index(_parse(start))
        size = min(limit, self.page_buckets if width_name == "1d" else most)
        return Window(starts, offset, size, width)

    def _paged(self, window: Window, results_of: Any) -> dict:
        starts, offset, size, width = window
        chunk = starts[offset : offset + size]
        more = offset + len(chunk) < len(starts)
        following = starts[offset + len(chunk)] if more else None
        return {
            "data": [
                {
                    "starting_at": stamp(at),
                    "ending_at": stamp(at + width),
                    "results": results_of(at, width),
                }
                for at in chunk
            ],
            "has_more": more,
            "next_page": "page_" + base64.b64encode(stamp(following).encode()).decode()
            if following
            else None,
        }

    def _usage(self, request: Request) -> dict:
        group_by = request.args.getlist("group_by[]") + request.args.getlist("group_by")
        unknown = set(group_by) - set(USAGE_DIMS) - {"inference_geo"}
        if unknown:
            raise Refusal(400, "invalid_request_error", f"group_by: {sorted(unknown)}")
        window = self._window(request, ("1d", "1h"))

        def results(at: datetime, width: timedelta) -> list[dict]:
            groups: dict[tuple, dict] = {}
            if width == DAY:
                facts = [u for u in self.usage if u.day == at.date()]
            else:
                facts = [
                    part
                    for u in self.usage
                    if u.day == at.date()
                    for hour, part in hourly_parts(u)
                    if hour == at.hour
                ]
            for u in facts:
                key = tuple(getattr(u, d) if d in group_by else None for d in USAGE_DIMS)
                row = groups.setdefault(
                    key,
                    {
                        "uncached_input_tokens": 0,
                        "cache_creation": {
                            "ephemeral_1h_input_tokens": 0,
                            "ephemeral_5m_input_tokens": 0,
                        },
                        "cache_read_input_tokens": 0,
                        "output_tokens": 0,
                        "server_tool_use": {"web_search_requests": 0},
                        **dict(zip(USAGE_DIMS, key, strict=True)),
                    },
                )
                row["uncached_input_tokens"] += u.uncached
                row["cache_creation"]["ephemeral_1h_input_tokens"] += u.write_1h
                row["cache_creation"]["ephemeral_5m_input_tokens"] += u.write_5m
                row["cache_read_input_tokens"] += u.read
                row["output_tokens"] += u.output
                row["server_tool_use"]["web_search_requests"] += u.web_searches
            return list(groups.values())

        return self._paged(window, results)

    def _costs(self, request: Request) -> dict:
        group_by = request.args.getlist("group_by[]") + request.args.getlist("group_by")
        if set(group_by) - {"workspace_id", "description"}:
            raise Refusal(400, "invalid_request_error", "group_by: workspace_id, description")
        ending = request.args.get("ending_at") or ""
        if ending and _parse(ending).time() != datetime.min.time():
            raise Refusal(400, "invalid_request_error", "ending_at must be aligned to 1d buckets")
        first = _parse(request.args.get("starting_at") or "1970-01-01T00:00:00Z").date()
        if self.costs_from_lag is not None and first >= self.costs_from_lag:
            raise Refusal(
                400,
                "invalid_request_error",
                "Invalid date range: ending date must be after starting date",
            )
        window = self._window(request)

        def results(at: datetime, width: timedelta) -> list[dict]:
            groups: dict[tuple, Decimal] = {}
            for u in self.usage:
                if u.day != at.date():
                    continue
                for description, cents in u.cost_lines():
                    key = (
                        u.workspace_id if "workspace_id" in group_by else None,
                        description if "description" in group_by else None,
                    )
                    groups[key] = groups.get(key, Decimal(0)) + cents
            return [
                {
                    "currency": "USD",
                    "amount": format(cents, "f"),
                    "workspace_id": workspace,
                    "description": description,
                    "cost_type": "tokens" if description != "Web Search" else "web_search",
                    "context_window": None,
                    "model": None,
                    "service_tier": None,
                    "token_type": None,
                }
                for (workspace, description), cents in groups.items()
            ]

        return self._paged(window, results)

    def _list(self, request: Request, items: tuple[dict, ...]) -> dict:
        limit = min(int(request.args.get("limit") or 20), self.list_page)
        after = request.args.get("after_id")
        ids = [item["id"] for item in items]
        start = ids.index(after) + 1 if after in ids else 0
        chunk = list(items[start : start + limit])
        return {
            "data": chunk,
            "has_more": start + limit < len(items),
            "first_id": chunk[0]["id"] if chunk else None,
            "last_id": chunk[-1]["id"] if chunk else None,
        }
