"""The one place that touches the network, for any provider: HTTP, not OpenAI.

Everything provider-specific is declared by the source as an ``Api``: the base URL, the headers
that authenticate a request, how a failing status and its body become a message naming the setting
to fix, how a request is described in messages, and how many buckets a paged answer can hold. The
validators of its answers come with each request (``validate``); its rate limit with the
``RateLimiter`` it is given; when an answer is final with each request (``final``).

Layers, each doing one job (httpx's shape)::

    pages()               follows cursors (usage `page`/`next_page`, lists `after`/`last_id`)
      get_json()          disk cache: a stored body is returned without a request
        request_with_retry()   retries 429/5xx/connection errors/garbled bodies, maps errors
          send_once()          takes a rate-limiter slot, sends one GET with auth headers

Sources and the UI see only this surface: ``pages`` (from the network, or ``cached_only`` from
the disk), ``is_stored``, ``forget`` and ``generation``; the cache itself stays behind it. A fetch
hands its ``stop`` event and ``on_event`` callback down through every layer as arguments, so two
fetches sharing one client never hear each other.

Nothing bad is kept: every answer is validated (``validate``, one of ``spend.shapes``) before it
is stored, and a failed validation is a failed attempt, retried like a garbled body; pages that
loop, repeat a bucket or outnumber the buckets their range can hold are a ``PaginationError``, and
none of their pages is kept. A stored answer that an older version kept unchecked is checked when
read and, if bad, dropped and asked again. A fetcher takes the request's cross-process lock
(``ResponseCache.claim``), so a second process waits for the first's answer instead of asking too.

The retry policy is named constants plus two pure functions (``should_retry``, ``retry_delay``),
as in openai-python's ``_constants.py``/``_base_client.py``. Time and transport are injected
(``session``, ``sleep``, ``clock``) so tests never wait. The API key is only ever in the
headers the ``Api`` declares: never in a URL, a log line, an exception or the cache.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import requests

from spend import errors
from spend.cache import ResponseCache, cache_key, normalize_params, query_items
from spend.errors import redact
from spend.paging import CURSORS, MAX_PAGES, next_page_params, walk_pages
from spend.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

MAX_RETRIES = 4
INITIAL_DELAY = 1.0
MAX_DELAY = 30.0
#: A Retry-After above this is capped: we never sit silent for longer.
MAX_RETRY_AFTER = 120.0
#: (connect, read) seconds for every request: an unreachable host is given up on within a few
#: seconds; a slow answer, once connected, is waited for.
CONNECT_TIMEOUT = 4.0
TIMEOUT = (CONNECT_TIMEOUT, 60.0)
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})

#: A body validator (``spend.shapes``): returns nothing, or raises MalformedResponseError.
Validator = Callable[[Any], None]
#: A broken chain of pages is asked again from its first page this many times.
CHAIN_RETRIES = 1


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


def parse_body(response: requests.Response, name: str = "The server") -> Any:
    """A response into parsed JSON, or raise MalformedResponseError naming what came instead.

    :param name: who answered, for the message (``Api.name``)
    """
    text = response.text
    try:
        return json.loads(text)
    except ValueError as exc:
        what = describe_body(text, response.headers.get("content-type"))
        raise errors.MalformedResponseError(
            f"{name} answered {response.status_code} with {what} instead of JSON",
            status_code=response.status_code,
            body=text[:200],  # the caller adds the request id (its API names the header)
        ) from exc


def describe_path(path: str, params: Any = None) -> str:
    """A GET into a few words for messages when its API says nothing better, e.g.
    ``("/users", {"limit": 100}) -> "/users"``."""
    return path


def no_buckets(params: Mapping[str, Any]) -> int | None:
    """An API whose paged answers hold no time buckets: no bound from the params."""
    return None


@dataclass(frozen=True)
class Api:
    """What the client must know of one provider's HTTP API; the source declares it.

    ``headers`` carry the credential and ``secrets`` the values to cut from every message: neither
    is ever shown (``repr`` leaves them out) nor part of a cache key.
    """

    name: str  # who answers, in messages: "OpenAI"
    base_url: str  # checked, without a trailing slash
    base_url_setting: str  # the setting that holds it, named when it is wrong or unreachable
    example_url: str  # what a good one looks like, for that message
    headers: Mapping[str, str] = field(repr=False)
    error_for_status: Callable[..., errors.ApiError] = field(repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    #: a GET into a few words for messages (``describe_path``: the path alone)
    describe: Callable[[str, Any], str] = describe_path
    #: the field that names a bucket of a paged answer's ``data`` (a repeat is a loop)
    bucket_field: str | None = None
    #: a paged GET's params into how many buckets its answer may hold (None: no bound)
    bucket_count: Callable[[Mapping[str, Any]], int | None] = no_buckets
    label: str = ""  # shown in repr beside the URL (an org id), never a secret
    #: the response header that names a request in the provider's logs (kept with an error)
    request_id_header: str = "x-request-id"

    def __repr__(self) -> str:
        return f"Api({self.name!r}, {redact(self.base_url)!r})"


@dataclass
class ClientStats:
    """Counters for progress display and benchmarks."""

    requests: int = 0  # attempts sent, retries included
    cache_hits: int = 0
    retries: int = 0
    waited_seconds: float = 0.0


#: ``on_event(name, data)``: what a fetch hears of its own requests ("request", "cache_hit",
#: "retry", "rate_limited" with ``seconds``).
EventHandler = Callable[[str, dict], None]


class HttpClient:
    """Authenticated, rate-limited, retrying, disk-cached GETs against one provider's ``Api``."""

    def __init__(
        self,
        *,
        api: Api,
        fingerprint: str,
        cache: ResponseCache | None = None,
        limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_retries: int = MAX_RETRIES,
        timeout: tuple[float, float] = TIMEOUT,
        rand: Callable[[], float] = random.random,
        wait_for_other: Callable[[float, threading.Event | None], bool] | None = None,
    ) -> None:
        self.api = api
        self.base_url = api.base_url
        self.fingerprint = fingerprint
        self._cache = cache
        self.limiter = limiter
        self.session = session or requests.Session()
        self.sleep = sleep
        self.clock = clock
        self.max_retries = max_retries
        self.timeout = timeout
        self.rand = rand
        #: how this client waits for another process's answer to a request both want (the cache's
        #: lock): ``(seconds, stop) -> False once stopped``; real time by default (that process
        #: works in real time), ended at once by ``stop``
        self.wait_for_other = wait_for_other or wait_real
        self.stats = ClientStats()
        #: whether the server ever answered this client: until it has, a connection failure is
        #: not retried (a wrong or unreachable host fails in seconds, not after every backoff)
        self.reached = False

    def __repr__(self) -> str:
        label = f", {self.api.label!r}" if self.api.label else ""
        return f"HttpClient({self.api.name}, {redact(self.base_url)!r}{label})"

    def redact(self, text: str) -> str:
        """Text into what may be shown: the key and every secret-looking token cut."""
        return redact(text, self.api.secrets)

    @property
    def read_only(self) -> bool:
        """Whether the disk cache can only be read (answers are shown, nothing is fetched)."""
        return self._cache is not None and self._cache.read_only

    @property
    def cache_lost(self) -> int:
        """How many times the cache folder was found deleted while this client used it."""
        return 0 if self._cache is None else self._cache.lost

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
            response = self.session.get(
                url,
                params=query_items(params),
                headers=dict(self.api.headers),
                timeout=self.timeout,
            )
            self.reached = True
            return response
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidHeader,
        ) as exc:  # no retry can help: the settings are wrong
            raise errors.ConfigError(
                f"{self.api.base_url_setting} {redact(self.base_url)!r} cannot be used "
                f"({type(exc).__name__}): it must be an http(s) URL such as "
                f"{self.api.example_url}."
            ) from exc
        except requests.RequestException as exc:
            raise errors.ApiConnectionError(
                f"Could not reach {redact(self.base_url)} ({type(exc).__name__}). Check the "
                f"network and {self.api.base_url_setting}."
            ) from exc

    # -- layer 2: retries and error mapping ----------------------------------------------
    def request_with_retry(
        self,
        path: str,
        params: Any = None,
        *,
        stop: threading.Event | None = None,
        on_event: EventHandler | None = None,
        fail_fast: bool = False,
        validate: Validator | None = None,
    ) -> Any:
        """GET ``path`` with retries; return the parsed JSON body or raise a SpendError.

        ``validate``: the body's expected shape; a body that fails it is a failed attempt (retried
        like a garbled one). Without it, any JSON object or list passes.

        ``fail_fast``: a server that cannot be reached is not tried again (a first check of the
        credentials and URL answers within one connect timeout instead of every retry's). The
        same holds, without it, until the server has answered this client once: the first
        request of a run to an unreachable host fails at once; a 429 or 5xx is still retried.
        """
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
                    body = parse_body(response, self.api.name)
                    check_shape(body, validate, what=self._answer_to(path, params))
                    return body
                body = _json_or_text(response)
                failure: errors.SpendError = self.api.error_for_status(
                    status,
                    body,
                    request_id=headers.get(self.api.request_id_header),
                    endpoint=path,
                    attempts=attempt,
                    secrets=self.api.secrets,
                )
                retryable = should_retry(status, headers)
            except errors.MalformedResponseError as exc:
                exc.endpoint = path
                exc.message = self.redact(exc.message)
                exc.status_code = exc.status_code or status
                exc.request_id = exc.request_id or headers.get(self.api.request_id_header)
                failure, retryable = exc, True
            except errors.ApiConnectionError as exc:
                failure, retryable = exc, self.reached and not fail_fast
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

    def _answer_to(self, path: str, params: Any) -> str:
        """A GET into how messages name its answer, e.g. "OpenAI's answer to /usage for ..."."""
        return f"{self.api.name}'s answer to {self.api.describe(path, params)}"

    # -- layer 3: the disk cache ---------------------------------------------------------
    def _key(self, path: str, params: Any = None) -> str:
        return cache_key(path, params, self.fingerprint)

    def _stored(
        self, path: str, params: Any, *, stale_ok: bool, validate: Validator | None = None
    ) -> Any | None:
        """The stored body of a GET, or None; with ``validate``, an answer an older version kept
        unchecked is checked first, and one that fails is dropped (it is asked again)."""
        if self._cache is None:
            return None
        key = self._key(path, params)
        body = self._cache.get(key, stale_ok=stale_ok)
        if body is None or validate is None or (self._cache.meta(key) or {}).get("checked"):
            return body
        try:
            check_shape(body, validate, what=self._answer_to(path, params))
        except errors.MalformedResponseError as exc:
            logger.info("stored answer to %s dropped: %s", path, exc)
            with contextlib.suppress(errors.CacheError):
                self._cache.delete(key)
            return None
        self._cache.mark_checked(key)
        return body

    def _pauser(self, stop: threading.Event | None) -> Callable[[float], bool]:
        """``wait_for_other`` bound to this fetch's ``stop``."""
        return lambda seconds: self.wait_for_other(seconds, stop)

    def get_json(
        self,
        path: str,
        params: Any = None,
        *,
        final: bool = False,
        stop: threading.Event | None = None,
        on_event: EventHandler | None = None,
        fail_fast: bool = False,
        validate: Validator | None = None,
    ) -> Any:
        """A GET through the cache: a stored body is returned as is; a fresh one is validated and
        stored at once.

        While this process asks, it holds the request's cross-process lock: another process
        asking the same waits, then reads the answer stored here instead of asking again.
        """
        body = self._stored(path, params, stale_ok=False, validate=validate)
        if body is not None:
            self.stats.cache_hits += 1
            _emit(on_event, "cache_hit", path=path)
            return body
        if self._cache is None:
            return self.request_with_retry(
                path, params, stop=stop, on_event=on_event, fail_fast=fail_fast, validate=validate
            )
        key = self._key(path, params)
        with self._cache.claim(key, pause=self._pauser(stop)) as waited:
            # another process may have stored it since the look above (while this one waited for
            # the lock, or just before taking it): then its answer is joined, not asked again
            body = self._stored(path, params, stale_ok=False, validate=validate)
            if body is not None:
                self.stats.cache_hits += 1
                _emit(on_event, "cache_hit", path=path, joined=waited)
                return body
            body = self.request_with_retry(
                path, params, stop=stop, on_event=on_event, fail_fast=fail_fast, validate=validate
            )
            self._cache.set(key, body, final=final, checked=validate is not None)
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
        fail_fast: bool = False,
        validate: Validator | None = None,
    ) -> list[Any] | None:
        """Every page of a GET (one page unless ``cursor``), each validated and cached on its own.

        ``cursor="page"``: usage/costs style (``has_more`` + ``next_page`` into ``page``);
        ``cursor="after"``: list style (``has_more`` + ``last_id`` into ``after``).
        ``cached_only``: read the disk only and return None when a page is not stored (fresh, or
        at all with ``stale_ok``: a long fetch outlives the freshness of its first answers), or
        when the stored pages are not a sound chain (then the next fetch asks again).

        Pages that loop, repeat a bucket or exceed ``page_budget`` raise PaginationError; from the
        network, the chain's stored pages are dropped and it is asked once more from the start.
        """
        params = dict(params or {})
        if cached_only:

            def stored(page_params: dict) -> Any | None:
                return self._stored(path, page_params, stale_ok=stale_ok, validate=validate)

            try:
                return self._walk(path, params, cursor, stored)
            except errors.MalformedResponseError as exc:
                logger.info("stored pages of %s are not a sound chain: %s", path, exc)
                return None
        for attempt in range(CHAIN_RETRIES + 1):
            walked: list[dict] = []

            def fetched(page_params: dict, walked: list[dict] = walked) -> Any:
                walked.append(page_params)
                return self.get_json(
                    path,
                    page_params,
                    final=final,
                    stop=stop,
                    on_event=on_event,
                    fail_fast=fail_fast,
                    validate=validate,
                )

            try:
                return self._walk(path, params, cursor, fetched)
            except errors.PaginationError as exc:
                for page_params in walked:  # nothing of a broken chain is kept
                    with contextlib.suppress(errors.CacheError):
                        if self._cache is not None:
                            self._cache.delete(self._key(path, page_params))
                if attempt == CHAIN_RETRIES:
                    exc.message = f"{exc.message} (asked {attempt + 1} times)"
                    raise
                _emit(on_event, "retry", path=path, status=None, delay=0.0, attempt=attempt + 1)
        raise AssertionError("unreachable")  # pragma: no cover

    def _walk(
        self,
        path: str,
        params: dict[str, Any],
        cursor: str | None,
        page: Callable[[dict[str, Any]], Any | None],
    ) -> list[Any] | None:
        """``walk_pages`` with this API's names, bucket field and bucket bound."""
        return walk_pages(
            path,
            params,
            cursor,
            page,
            name=self.api.name,
            what=self.api.describe(path, params),
            bucket_field=self.api.bucket_field,
            most_buckets=self.api.bucket_count(params) if cursor == "page" else None,
        )

    def is_stored(
        self,
        path: str,
        params: Any = None,
        *,
        cursor: str | None = None,
        validate: Validator | None = None,
    ) -> bool:
        """Whether every page of a GET is stored, fresh and sound (one checked page: no body is
        read)."""
        if self._cache is None:
            return False
        if cursor:
            stored = self.pages(path, params, cursor=cursor, cached_only=True, validate=validate)
            return stored is not None
        key = self._key(path, params)
        if key not in self._cache:
            return False
        if validate is None or (self._cache.meta(key) or {}).get("checked"):
            return True
        return self._stored(path, params, stale_ok=False, validate=validate) is not None

    def forget(self, path: str, params: Any = None, *, cursor: str | None = None) -> None:
        """Drop every stored page of a GET, so the next fetch asks again (a refresh)."""
        if self._cache is None:
            return
        params = dict(params or {})
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            body = self._stored(path, params, stale_ok=True)
            self._cache.delete(self._key(path, params))
            try:
                following = (
                    next_page_params(path, params, body, cursor) if cursor and body else None
                )
            except errors.MalformedResponseError:
                return
            token = following[CURSORS[cursor].param] if following and cursor else None
            if following is None or token in seen:
                return
            seen.add(token)
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


def wait_real(seconds: float, stop: threading.Event | None) -> bool:
    """Wait ``seconds`` of real time, or until ``stop`` is set; False once stopped."""
    if stop is not None:
        return not stop.wait(seconds)
    time.sleep(seconds)
    return True


def _emit(on_event: EventHandler | None, event: str, **data: Any) -> None:
    if on_event is not None:
        on_event(event, data)


def check_shape(body: Any, validate: Validator | None, *, what: str = "The answer") -> None:
    """A decoded body into nothing when ``validate`` (or, without one, being a JSON object or
    list) accepts it; else MalformedResponseError naming the request, e.g. "OpenAI's answer to
    /usage for 2024-05-01 is not usable: data[0].n_requests is -5, not a count ...".

    :param what: how the message names the answer (``HttpClient._answer_to``)
    """
    try:
        if validate is not None:
            validate(body)
        elif not isinstance(body, (dict, list)):
            raise errors.MalformedResponseError(
                f"JSON of an unexpected shape ({type(body).__name__})"
            )
    except errors.MalformedResponseError as exc:
        raise errors.MalformedResponseError(
            f"{what} is not usable: {exc.message}",
        ) from exc


def _json_or_text(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:200]
