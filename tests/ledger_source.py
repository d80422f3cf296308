"""A new source as a contributor would write one: this file plus one line in ``SOURCES``.

It reads the made-up provider of ``tests/fake_ledger.py`` and declares everything the rest of the
app needs: its provider, its settings, its HTTP conventions (``Api``: base URL, auth headers,
errors, buckets), its plan and its parsing. Nothing else in ``spend/`` is touched to add it: the
tests register it with ``monkeypatch.setitem(SOURCES, "ledger", LedgerSource)``.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

import pandas as pd

from spend import errors
from spend.client import Api
from spend.config import Settings, check_base_url
from spend.errors import MalformedResponseError
from spend.schema import conform, empty_frame
from spend.sources.base import PlannedRequest, Refused, Scale, Source, day_range
from tests.fake_ledger import parse_rfc3339, rfc3339

DEFAULT_URL = "https://api.ledger.invalid/v1"
WINDOW_DAYS = 7


def ledger_error(status: int, body: Any, *, request_id, endpoint, attempts=1, secrets=()):
    """Ledger's error body into a message that names the setting to fix."""
    said = ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        said = f' Ledger said: "{errors.redact(str(body["error"].get("message")), secrets)}"'
    kw = dict(status_code=status, request_id=request_id, body=body, endpoint=endpoint)
    if status == 401:
        return errors.AuthError(f"Ledger rejected LEDGER_API_KEY (401).{said}", **kw)
    if status == 429:
        return errors.RateLimitError(f"Ledger's rate limit held ({attempts} tries).{said}", **kw)
    if status >= 500:
        return errors.ServerError(f"Ledger answered {status} {attempts} times.{said}", **kw)
    return errors.ApiError(f"Ledger refused {endpoint} ({status}).{said}", **kw)


def ledger_page(body: Any) -> None:
    """Ledger's usage page: a dict with a ``data`` list of buckets whose counts are counts."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise MalformedResponseError("not a page of buckets")
    for bucket in body["data"]:
        for result in bucket.get("results") or []:
            for name in ("requests", "input_tokens", "output_tokens"):
                value = result.get(name)
                if not isinstance(value, int) or value < 0:
                    raise MalformedResponseError(f"{name} is {value!r}, not a count")


def bucket_count(params) -> int | None:
    try:
        first = parse_rfc3339(dict(params)["starting_at"])
        end = parse_rfc3339(dict(params)["ending_at"])
    except (KeyError, ValueError):
        return None
    return (end - first).days


class LedgerSource(Source):
    name = "ledger"
    provider = "ledger"
    title = "Ledger (a test provider)"
    setting_names = ("LEDGER_API_KEY", "LEDGER_BASE_URL")
    default_rate_limit = 30.0

    @classmethod
    def claims(cls, settings: Settings) -> bool:
        return bool(settings.value("LEDGER_API_KEY"))

    @classmethod
    def api(cls, settings: Settings) -> Api:
        key = settings.value("LEDGER_API_KEY")
        if not key:
            raise errors.ConfigError("No LEDGER_API_KEY: set it to read Ledger's usage.")
        return Api(
            name="Ledger",
            base_url=check_base_url(settings.value("LEDGER_BASE_URL") or DEFAULT_URL),
            base_url_setting="LEDGER_BASE_URL",
            example_url=DEFAULT_URL,
            headers={"x-api-key": key, "ledger-version": "1"},
            secrets=(key,),
            error_for_status=ledger_error,
            bucket_field="starting_at",
            bucket_count=bucket_count,
        )

    @classmethod
    def fingerprint(cls, settings: Settings) -> str:
        material = (
            f"ledger\0{settings.value('LEDGER_API_KEY')}\0{settings.value('LEDGER_BASE_URL')}"
        )
        return hashlib.sha256(material.encode()).hexdigest()[:24]

    @classmethod
    def count_cold(cls, start: date, end: date, scale: Scale) -> int:
        return (end - start).days + 1  # one bucket a page

    def plan_requests(self, start: date, end: date) -> list[PlannedRequest]:
        requests = []
        days = day_range(start, end)
        for i in range(0, len(days), WINDOW_DAYS):
            first, last = days[i], days[min(i + WINDOW_DAYS, len(days)) - 1]
            params = (
                ("starting_at", rfc3339(first)),
                ("ending_at", rfc3339(last + timedelta(days=1))),
                ("limit", (last - first).days + 1),
            )
            requests.append(
                PlannedRequest(
                    "/reports/usage",
                    params,
                    final=self.is_final(last),
                    kind="usage",
                    paged="page",
                    validate=ledger_page,
                )
            )
        return requests

    def build(
        self, start: date, end: date, bodies: dict[PlannedRequest, list[Any] | Refused]
    ) -> tuple[pd.DataFrame, list[str]]:
        rows = []
        for pages in bodies.values():
            if isinstance(pages, Refused):
                continue
            for page in pages:
                for bucket in page["data"]:
                    day = parse_rfc3339(bucket["starting_at"])
                    for result in bucket["results"]:
                        rows.append(
                            {
                                "date": pd.Timestamp(day),
                                "source": self.name,
                                "model": result["model"],
                                "model_family": "gpt-4o-mini",
                                "operation": "completion",
                                "n_requests": result["requests"],
                                "input_tokens": result["input_tokens"],
                                "output_tokens": result["output_tokens"],
                            }
                        )
        frame = conform(pd.DataFrame(rows)) if rows else empty_frame()
        return frame, []
