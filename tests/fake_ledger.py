"""A second, made-up provider ("Ledger") over real HTTP on 127.0.0.1, for the multi-provider tests.

It is deliberately unlike OpenAI where a provider may differ, so the provider-neutral client is
shown to know none of OpenAI's conventions:

- auth is ``x-api-key: <key>`` plus a required ``ledger-version: 1`` header (a missing version is a
  400, a wrong key a 401 with ``{"type": "error", "error": {"type": ..., "message": ...}}``);
- ``GET /v1/reports/usage?starting_at=<RFC 3339>&ending_at=<RFC 3339>&limit=<days>[&page=...]``
  answers daily buckets named by ``starting_at`` (an RFC 3339 string), ONE bucket a page, with
  ``has_more`` and ``next_page``;
- each bucket's ``results`` hold ``{"model", "requests", "input_tokens", "output_tokens"}``;
- ``fail_next(n, status, retry_after)`` answers the next ``n`` requests with that status;
  ``repeat_bucket=True`` makes page 2 repeat page 1's bucket (a cursor that restarts).

Usage: ``with FakeLedger(days=[...]) as fake: fake.base_url``; every request is recorded with its
headers (``fake.requests``), the key cut out.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from datetime import UTC, date, datetime, timedelta
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

LEDGER_KEY = "ledger-test-key-0123456789abcdef"
MODEL = "gpt-4o-mini-2024-07-18"  # a reseller of a model genai-prices knows: rows are priced


def rfc3339(day: date) -> str:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> date:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").date()


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class FakeLedger:
    """The made-up provider: deterministic usage on ``days``; see the module docstring."""

    def __init__(self, days: list[date], *, key: str = LEDGER_KEY) -> None:
        self.key = key
        self.usage = {
            day: {
                "requests": 10 + i,
                "input_tokens": 1000 * (i + 1),
                "output_tokens": 100 * (i + 1),
            }
            for i, day in enumerate(days)
        }
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.faults: deque[tuple[int, str | None]] = deque()
        self.repeat_bucket = False
        self.base_url: str | None = None
        self._server: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> FakeLedger:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=_Quiet)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self._server.server_port}/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, n: int, status: int, retry_after: str | None = None) -> None:
        for _ in range(n):
            self.faults.append((status, retry_after))

    def totals(self, start: date, end: date) -> dict[str, int]:
        """The sums of every count over [start, end]."""
        out = {"requests": 0, "input_tokens": 0, "output_tokens": 0}
        for day, counts in self.usage.items():
            if start <= day <= end:
                for name in out:
                    out[name] += counts[name]
        return out

    def count(self, path: str = "/v1/reports/usage") -> int:
        return sum(1 for p, _, _ in self.requests if p == path)

    # -- the WSGI app ---------------------------------------------------------------------------
    def app(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        headers = {k.lower(): v for k, v in request.headers.items() if k.lower() != "x-api-key"}
        with self._lock:
            self.requests.append((request.path, dict(request.args), headers))
            fault = self.faults.popleft() if self.faults else None
        status, body, extra = self._answer(request, fault)
        response = Response(json.dumps(body), status=status, content_type="application/json")
        for name, value in extra.items():
            response.headers[name] = value
        return response(environ, start_response)

    @staticmethod
    def _error(status: int, kind: str, message: str, **extra: str) -> tuple:
        return status, {"type": "error", "error": {"type": kind, "message": message}}, extra

    def _answer(self, request: Request, fault: tuple[int, str | None] | None) -> tuple:
        if fault is not None:
            status, retry_after = fault
            extra = {"retry-after": retry_after} if retry_after else {}
            return self._error(status, "overloaded_error", "try again", **extra)
        if request.headers.get("x-api-key") != self.key:
            return self._error(401, "authentication_error", "invalid x-api-key")
        if request.headers.get("ledger-version") != "1":
            return self._error(400, "invalid_request_error", "ledger-version header is required")
        if request.path != "/v1/reports/usage":
            return self._error(404, "not_found_error", f"no route {request.path}")
        try:
            first = parse_rfc3339(request.args["starting_at"])
            last = parse_rfc3339(request.args["ending_at"]) - timedelta(days=1)
        except (KeyError, ValueError):
            return self._error(400, "invalid_request_error", "starting_at/ending_at")
        offset = int(request.args.get("page") or 0)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        day = days[offset] if offset < len(days) else None
        if self.repeat_bucket and offset == 1:
            day = days[0]
        bucket = {
            "starting_at": rfc3339(day) if day else None,
            "ending_at": rfc3339(day + timedelta(days=1)) if day else None,
            "results": [{"model": MODEL, **self.usage[day]}] if day in self.usage else [],
        }
        more = offset + 1 < len(days)
        return (
            200,
            {"data": [bucket] if day else [], "has_more": more, "next_page": str(offset + 1)},
            {},
        )
