"""The one place that touches the network.

Layers, each doing one job (httpx's shape)::

    pages()               follows cursors (usage `page`/`next_page`, lists `after`/`last_id`)
      get_json()          disk cache: a stored body is returned without a request
        request_with_retry()   retries 429/5xx/connection errors/garbled bodies, maps errors
          send_once()          takes a rate-limiter slot, sends one GET with auth headers

Sources and the UI see only this surface: ``pages`` (from the network, or ``cached_only`` from
the disk), ``is_stored``, ``forget`` and ``generation``; the cache itself stays behind it. A fetch
hands its ``stop`` event and ``on_event`` callback down through every layer as arguments, so two
fetches sharing one client never hear each other.

The retry policy is named constants plus two pure functions (``should_retry``, ``retry_delay``),
as in openai-python's ``_constants.py``/``_base_client.py``. Time and transport are injected
(``session``, ``sleep``, ``clock``) so tests never wait. The API key is only ever in the
``Authorization`` header: never in a URL, a log line, an exception or the cache.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import requests

from spend import errors
from spend.cache import ResponseCache, cache_key, normalize_params, query_items
from spend.config import check_credential
from spend.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

MAX_RETRIES = 4
INITIAL_DELAY = 1.0
MAX_DELAY = 30.0
#: A Retry-After above this is capped: we never sit silent for longer.
MAX_RETRY_AFTER = 120.0
#: (connect, read) seconds for every request.
TIMEOUT = (10.0, 60.0)
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})

KEYS_URL = "https://platform.openai.com/api-keys"
ADMIN_KEYS_URL = "https://platform.openai.com/settings/organization/admin-keys"
ORG_SETTINGS_URL = "https://platform.openai.com/settings/organization/general"

_SECRET = re.compile(r"sk-[A-Za-z0-9_\-\*\.]{2,}")


def redact(text: str) -> str:
    """Any key-looking token in ``text`` into ``sk-…``, e.g. ``"bad key sk-abc123" -> "bad key
    sk-…"``."""
    return _SECRET.sub("sk-…", text)


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """A Retry-After header into seconds, e.g. ``"2" -> 2.0``, an HTTP date -> seconds from now,
    ``"inf"`` -> None."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def should_retry(status: int | None, headers: Mapping[str, str] | None = None) -> bool:
    """A status (None = no answer) into whether to try again, e.g. ``429 -> True``, ``401 ->
    False``.

    ``x-should-retry`` from the server wins when present, as in openai-python.
    """
    hint = (headers or {}).get("x-should-retry")
    if hint == "true":
        return True
    if hint == "false":
        return False
    return status is None or status in RETRY_STATUSES or status >= 500


def retry_delay(
    attempt: int,
    headers: Mapping[str, str] | None = None,
    *,
    rand: Callable[[], float] = random.random,
    now: Callable[[], float] = time.time,
) -> float:
    """Attempt number (1 = first retry) into seconds to wait, e.g. ``1 -> ~1 s``, ``3 -> ~4 s``.

    Honours Retry-After (capped at MAX_RETRY_AFTER); otherwise exponential from INITIAL_DELAY,
    capped at MAX_DELAY, with up to 25 % jitter taken off.
    """
    retry_after = parse_retry_after((headers or {}).get("retry-after"), now=now)
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER)
    base = min(INITIAL_DELAY * 2 ** (attempt - 1), MAX_DELAY)
    return base * (1 - 0.25 * rand())


def _error_message(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message")
        return redact(str(message)) if message else None
    return None


def error_for_status(
    status: int,
    body: Any,
    *,
    request_id: str | None,
    endpoint: str,
    org_id: str | None = None,
    attempts: int = 1,
) -> errors.ApiError:
    """A final HTTP status into the error class and a message that says what to fix."""
    detail = _error_message(body)
    said = f' OpenAI said: "{detail}"' if detail else ""
    org = org_id or "the organization"
    kw = dict(status_code=status, request_id=request_id, body=body, endpoint=endpoint)
    if status == 401:
        return errors.AuthError(
            f"The API key was rejected (401): check it on {KEYS_URL}.{said}", **kw
        )
    if status == 403:
        if detail and "api.usage.read" in detail or (detail and "scope" in detail.lower()):
            return errors.PermissionDeniedError(
                "This needs an admin key (sk-admin-...), which a project or user key is not (403: "
                "missing "
                f"scope api.usage.read). An organization owner can create one at {ADMIN_KEYS_URL}.",
                **kw,
            )
        if endpoint.lstrip("/").startswith("organization/"):
            return errors.PermissionDeniedError(
                f"This admin key may not read {endpoint} (403). Check that it belongs to the right "
                f"organization and has read access: {ADMIN_KEYS_URL}.{said}",
                **kw,
            )
        return errors.PermissionDeniedError(
            f"{org} not found or the key has no access to it (403): check the org id on "
            f"{ORG_SETTINGS_URL} and that the key belongs to that organization.{said}",
            **kw,
        )
    if status == 404 and endpoint.lstrip("/").startswith("organization/"):
        return errors.NotFoundError(
            f"OpenAI does not know {endpoint} (404): an id in it may be deleted, or "
            f"the API changed.{said}",
            **kw,
        )
    if status == 404:
        return errors.NotFoundError(
            f"{org} not found or the key has no access to it (404): check the org id on "
            f"{ORG_SETTINGS_URL}.{said}",
            **kw,
        )
    if status in (400, 422):
        return errors.BadRequestError(
            f"OpenAI refused the request to {endpoint} ({status}).{said}", **kw
        )
    if status == 429:
        return errors.RateLimitError(
            f"OpenAI's rate limit (429) held through {attempts} attempts. Wait a minute and try "
            "again, "
            "or lower SPEND_RATE_LIMIT_PER_MIN." + said,
            **kw,
        )
    if status >= 500:
        return errors.ServerError(
            f"OpenAI answered {status} {attempts} time{'s' if attempts != 1 else ''}; try again "
            f"later.{said}",
            **kw,
        )
    return errors.ApiError(f"Unexpected answer {status} from OpenAI for {endpoint}.{said}", **kw)


def describe_body(text: str, content_type: str | None) -> str:
    """A body that is not JSON into a few words, e.g. ``"<html>..." -> "an HTML page"``, ``"" -> "an
    empty body"``."""
    stripped = text.lstrip()
    if not stripped:
        return "an empty body"
    if stripped[:1] == "<" or "html" in (content_type or ""):
        return "an HTML page (a proxy or an outage page)"
    if stripped[:1] in "{[":
        return "JSON that was cut off"
    return "a body that is not JSON"


def parse_body(response: requests.Response) -> Any:
    """A response into parsed JSON, or raise MalformedResponseError naming what came instead."""
    text = response.text
    try:
        return json.loads(text)
    except ValueError as exc:
        what = describe_body(text, response.headers.get("content-type"))
        raise errors.MalformedResponseError(
            f"OpenAI answered {response.status_code} with {what} instead of JSON",
            status_code=response.status_code,
            request_id=response.headers.get("x-request-id"),
            body=text[:200],
        ) from exc


@dataclass
class ClientStats:
    """Counters for progress display and benchmarks."""

    requests: int = 0  # attempts sent, retries included
    cache_hits: int = 0
    retries: int = 0
    waited_seconds: float = 0.0


#: A paginated endpoint that has not ended after this many pages is looping.
MAX_PAGES = 10_000

#: ``on_event(name, data)``: what a fetch hears of its own requests ("request", "cache_hit",
#: "retry", "rate_limited" with ``seconds``).
EventHandler = Callable[[str, dict], None]


class OpenAIClient:
    """Authenticated, rate-limited, retrying, disk-cached GETs against the OpenAI API."""

    def __init__(
        self,
        *,
        api_key: str,
        org_id: str | None = None,
        base_url: str,
        fingerprint: str,
        cache: ResponseCache | None = None,
        limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_retries: int = MAX_RETRIES,
        timeout: tuple[float, float] = TIMEOUT,
        rand: Callable[[], float] = random.random,
    ) -> None:
        check_credential(api_key, "API key", required=True)
        check_credential(org_id, "organization id")
        self._api_key = api_key
        self.org_id = org_id
        self.base_url = base_url.rstrip("/")
        self.fingerprint = fingerprint
        self._cache = cache
        self.limiter = limiter
        self.session = session or requests.Session()
        self.sleep = sleep
        self.clock = clock
        self.max_retries = max_retries
        self.timeout = timeout
        self.rand = rand
        self.stats = ClientStats()

    def __repr__(self) -> str:
        return f"OpenAIClient(base_url={self.base_url!r}, org_id={self.org_id!r})"

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        if self.org_id:
            headers["OpenAI-Organization"] = self.org_id
        return headers

    # -- layer 1: one attempt --------------------------------------------------------------
    def send_once(
        self,
        path: str,
        params: Any = None,
        *,
        stop: threading.Event | None = None,
        on_event: EventHandler | None = None,
    ) -> requests.Response:
        """Take a rate-limit slot, then send one GET; connection failures become ApiConnectionError.

        ``stop``: once set, a rate-limit wait ends at once with FetchStopped instead of sending.
        """
        if self.limiter is not None:
            waited = self.limiter.acquire(cancel=stop)
            self.stats.waited_seconds += waited
        if stop is not None and stop.is_set():
            raise errors.FetchStopped("The fetch was stopped; every answer that arrived is kept.")
        self.stats.requests += 1
        url = f"{self.base_url}/{path.lstrip('/')}"
        logger.debug("GET %s %s", path, normalize_params(params))
        _emit(on_event, "request", path=path)
        try:
            return self.session.get(
                url, params=query_items(params), headers=self._headers(), timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise errors.ApiConnectionError(
                f"Could not reach {self.base_url} ({type(exc).__name__}). Check the network and "
                "OPENAI_BASE_URL."
            ) from exc

    # -- layer 2: retries and error mapping ----------------------------------------------
    def request_with_retry(
        self,
        path: str,
        params: Any = None,
        *,
        stop: threading.Event | None = None,
        on_event: EventHandler | None = None,
    ) -> Any:
        """GET ``path`` with retries; return the parsed JSON body or raise a SpendError."""
        attempt = 0
        while True:
            attempt += 1
            status: int | None = None
            headers: Mapping[str, str] = {}
            try:
                response = self.send_once(path, params, stop=stop, on_event=on_event)
                status = response.status_code
                headers = {k.lower(): v for k, v in response.headers.items()}
                if status < 400:
                    return parse_body(response)
                body = _json_or_text(response)
                failure: errors.SpendError = error_for_status(
                    status,
                    body,
                    request_id=headers.get("x-request-id"),
                    endpoint=path,
                    org_id=self.org_id,
                    attempts=attempt,
                )
                retryable = should_retry(status, headers)
            except errors.MalformedResponseError as exc:
                exc.endpoint = path
                failure, retryable = exc, True
            except errors.ApiConnectionError as exc:
                failure, retryable = exc, True
            if status == 429 and self.limiter is not None:
                pause = parse_retry_after(headers.get("retry-after"), now=self.clock)
                if pause is not None:
                    self.limiter.pause(min(pause, MAX_RETRY_AFTER))
            if not retryable or attempt > self.max_retries:
                logger.debug("GET %s failed for good: %s", path, type(failure).__name__)
                raise failure
            delay = retry_delay(attempt, headers, rand=self.rand, now=self.clock)
            if (
                status == 429
                and self.limiter is not None
                and headers.get("retry-after") is not None
            ):
                delay = 0.0  # the limiter already holds every caller for Retry-After
            logger.debug(
                "GET %s: retry %d in %.1f s (%s)",
                path,
                attempt,
                delay,
                status or type(failure).__name__,
            )
            self.stats.retries += 1
            _emit(on_event, "retry", path=path, status=status, delay=delay, attempt=attempt)
            if status == 429:
                waits = delay or parse_retry_after(headers.get("retry-after")) or 0
                _emit(on_event, "rate_limited", path=path, seconds=waits)
            if delay > 0:
                self.stats.waited_seconds += delay
                self.sleep(delay)

    # -- layer 3: the disk cache ---------------------------------------------------------
    def _key(self, path: str, params: Any = None) -> str:
        return cache_key(path, params, self.fingerprint)

    def _stored(self, path: str, params: Any, *, stale_ok: bool) -> Any | None:
        return (
            None
            if self._cache is None
            else self._cache.get(self._key(path, params), stale_ok=stale_ok)
        )

    def get_json(
        self,
        path: str,
        params: Any = None,
        *,
        final: bool = False,
        stop: threading.Event | None = None,
        on_event: EventHandler | None = None,
    ) -> Any:
        """A GET through the cache: a stored body is returned as is; a fresh one is stored at
        once."""
        body = self._stored(path, params, stale_ok=False)
        if body is not None:
            self.stats.cache_hits += 1
            _emit(on_event, "cache_hit", path=path)
            return body
        body = self.request_with_retry(path, params, stop=stop, on_event=on_event)
        if not isinstance(body, (dict, list)):
            raise errors.MalformedResponseError(
                f"OpenAI answered {path} with JSON of an unexpected shape ({type(body).__name__})",
                endpoint=path,
            )
        if self._cache is not None:
            self._cache.set(self._key(path, params), body, final=final)
        return body

    # -- layer 4: pagination -------------------------------------------------------------
    def pages(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        cursor: str | None = None,
        final: bool = False,
        cached_only: bool = False,
        stale_ok: bool = False,
        stop: threading.Event | None = None,
        on_event: EventHandler | None = None,
    ) -> list[Any] | None:
        """Every page of a GET (one page unless ``cursor``), each cached on its own.

        ``cursor="page"``: usage/costs style (``has_more`` + ``next_page`` into ``page``);
        ``cursor="after"``: list style (``has_more`` + ``last_id`` into ``after``).
        ``cached_only``: read the disk only and return None when a page is not stored (fresh, or
        at all with ``stale_ok``: a long fetch outlives the freshness of its first answers).
        """
        params = dict(params or {})
        bodies: list[Any] = []
        while len(bodies) < MAX_PAGES:
            if cached_only:
                body = self._stored(path, params, stale_ok=stale_ok)
                if body is None:
                    return None
            else:
                body = self.get_json(path, params, final=final, stop=stop, on_event=on_event)
            bodies.append(body)
            following = next_page_params(path, params, body, cursor) if cursor else None
            if following is None:
                return bodies
            params = following
        raise errors.MalformedResponseError(
            f"{path} kept paginating past {MAX_PAGES} pages", endpoint=path
        )

    def is_stored(self, path: str, params: Any = None, *, cursor: str | None = None) -> bool:
        """Whether every page of a GET is stored and fresh (one page: no body is read)."""
        if self._cache is None:
            return False
        if cursor:
            return self.pages(path, params, cursor=cursor, cached_only=True) is not None
        return self._key(path, params) in self._cache

    def forget(self, path: str, params: Any = None, *, cursor: str | None = None) -> None:
        """Drop every stored page of a GET, so the next fetch asks again (a refresh)."""
        if self._cache is None:
            return
        params = dict(params or {})
        for _ in range(MAX_PAGES):
            body = self._stored(path, params, stale_ok=True)
            self._cache.delete(self._key(path, params))
            following = next_page_params(path, params, body, cursor) if cursor and body else None
            if following is None:
                return
            params = following

    def close(self) -> None:
        """Close the disk cache, the rate limiter's store and the HTTP session."""
        for part in (self._cache, self.limiter):
            if part is not None:
                part.close()
        self.session.close()

    @property
    def generation(self) -> int:
        """A counter bumped by every stored or forgotten answer (0 without a cache)."""
        return 0 if self._cache is None else self._cache.generation


def _emit(on_event: EventHandler | None, event: str, **data: Any) -> None:
    if on_event is not None:
        on_event(event, data)


def next_page_params(
    path: str, params: Mapping[str, Any], body: Any, cursor: str
) -> dict[str, Any] | None:
    """A page and its request params into the params of the next page, or None after the last, e.g.
    ``{"has_more": true, "next_page": "p2"}`` with cursor ``"page"`` -> ``{..., "page": "p2"}``.

    ``cursor="page"``: usage/costs style (``next_page`` into ``page``); ``"after"``: list style
    (``last_id`` into ``after``). ``has_more`` without a cursor is a MalformedResponseError.
    """
    if not isinstance(body, dict) or not body.get("has_more"):
        return None
    token = body.get("next_page") if cursor == "page" else body.get("last_id")
    if not token:
        raise errors.MalformedResponseError(
            f"{path} said has_more but gave no cursor", endpoint=path
        )
    return {**params, cursor: token}


def _json_or_text(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:200]
