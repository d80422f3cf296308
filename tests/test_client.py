"""The client over real HTTP against the fake OpenAI server: auth, retries, errors, cache,
secrecy."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from spend import errors
from spend.cache import NON_FINAL_TTL, ResponseCache
from spend.client import MAX_RETRIES, HttpClient
from spend.config import Settings
from spend.ratelimit import RateLimiter
from spend.sources.openai_api import openai_api
from tests.clock import FakeClock
from tests.fake_openai import ADMIN_KEY, LEGACY_KEY, ORG_ID


def make(fake, tmp_path, *, key=LEGACY_KEY, org=ORG_ID, clock=None, per_minute=600.0, cache=True):
    clock = clock or FakeClock()
    settings = Settings(api_key=key, org_id=org, base_url=fake.base_url, cache_dir=tmp_path)
    return HttpClient(
        api=openai_api(key, org, fake.base_url),
        fingerprint=settings.fingerprint,
        cache=ResponseCache(tmp_path, clock=clock) if cache else None,
        limiter=RateLimiter(
            tmp_path, settings.fingerprint, per_minute=per_minute, clock=clock, sleep=clock.sleep
        ),
        sleep=clock.sleep,
        clock=clock,
        rand=lambda: 0.0,
    ), clock


def day(fake, i=-3):
    return fake.days[i].isoformat()


def test_client__sends_bearer_and_org_and_reads_users(fake_openai, tmp_path):
    client, _ = make(fake_openai, tmp_path)
    body = client.get_json(f"/organizations/{ORG_ID}/users")
    assert len(body["members"]["data"]) == len(fake_openai.user_ids)
    sent = fake_openai.requests[-1]
    assert sent.headers.get("OpenAI-Organization") == ORG_ID
    assert (
        "Authorization" not in sent.headers
    )  # the fake never records it; the client did send it (no 401)


@pytest.mark.parametrize(
    "key, org, path, cls, needle",
    [
        ("sk-wrong-000000000000", ORG_ID, "/usage", errors.AuthError, "rejected (401)"),
        (
            LEGACY_KEY,
            "org-Wrong0000000000000000",
            "/organizations/org-Wrong0000000000000000/users",
            errors.NotFoundError,
            "org-Wrong",
        ),
        (
            LEGACY_KEY,
            "org-Wrong0000000000000000",
            "/usage",
            errors.PermissionDeniedError,
            "no access",
        ),
        (
            LEGACY_KEY,
            ORG_ID,
            "/organization/usage/completions",
            errors.PermissionDeniedError,
            "admin key",
        ),
    ],
)
def test_client__auth_failures_are_clear_and_not_retried(
    fake_openai, tmp_path, key, org, path, cls, needle
):
    client, clock = make(fake_openai, tmp_path, key=key, org=org)
    params = {"date": day(fake_openai)} if path == "/usage" else {"start_time": 1_700_000_000}
    with pytest.raises(cls) as info:
        client.get_json(path, params)
    assert needle in str(info.value)
    assert info.value.request_id and info.value.request_id.startswith("req_")
    assert fake_openai.count() == 1  # no retry
    assert key not in str(info.value) and key[:12] not in str(info.value)


@pytest.mark.parametrize(
    "fault, kwargs",
    [
        ("429", dict(status=429, retry_after="7")),
        ("500", dict(status=500)),
        ("502 html", dict(status=502, kind="html")),
        ("200 empty", dict(kind="empty")),
        ("200 truncated", dict(kind="truncated")),
        ("200 html", dict(status=200, kind="html")),
    ],
)
def test_client__transient_failures_are_retried_then_succeed(fake_openai, tmp_path, fault, kwargs):
    client, clock = make(fake_openai, tmp_path)
    fake_openai.fail_next(2, **kwargs)
    body = client.get_json("/usage", {"date": day(fake_openai)})
    assert "data" in body
    assert fake_openai.count() == 3
    assert client.stats.retries == 2
    if fault == "429":
        assert clock.now - 1_790_000_000.0 >= 14  # waited Retry-After twice, by the injected clock


@pytest.mark.parametrize(
    "kwargs, cls, needle",
    [
        (dict(status=502, kind="html"), errors.ServerError, f"502 {MAX_RETRIES + 1} times"),
        (dict(status=503), errors.ServerError, "try again later"),
        (dict(status=429, retry_after="1"), errors.RateLimitError, "rate limit"),
        (dict(kind="truncated"), errors.MalformedResponseError, "cut off"),
        (dict(kind="empty"), errors.MalformedResponseError, "empty body"),
        (dict(status=200, kind="html"), errors.MalformedResponseError, "HTML page"),
        (dict(kind="not_json"), errors.MalformedResponseError, "not JSON"),
    ],
)
def test_client__persistent_failures_become_clear_errors(
    fake_openai, tmp_path, kwargs, cls, needle
):
    client, _ = make(fake_openai, tmp_path)
    fake_openai.fail_next(MAX_RETRIES + 1, **kwargs)
    with pytest.raises(cls) as info:
        client.get_json("/usage", {"date": day(fake_openai)})
    assert needle in str(info.value)
    assert fake_openai.count() == MAX_RETRIES + 1  # bounded
    assert client.generation == 0  # nothing bad was stored


def test_client__connection_refused_is_a_clear_error(tmp_path):
    clock = FakeClock()
    client = HttpClient(
        api=openai_api(LEGACY_KEY, None, "http://127.0.0.1:9/v1"),
        fingerprint="fp",
        sleep=clock.sleep,
        clock=clock,
        rand=lambda: 0.0,
    )
    with pytest.raises(errors.ApiConnectionError, match="Could not reach http://127.0.0.1:9/v1"):
        client.get_json("/usage", {"date": "2024-01-01"})
    # issue 23: a server that never answered this client is not retried with backoff
    assert clock.sleeps == [] and client.stats.requests == 1
    client.reached = True  # a server that answered before and then went away is retried
    with pytest.raises(errors.ApiConnectionError, match="Could not reach http://127.0.0.1:9/v1"):
        client.get_json("/usage", {"date": "2024-01-01"})
    assert len(clock.sleeps) == MAX_RETRIES


def test_client__every_attempt_takes_a_rate_limit_slot(fake_openai, tmp_path):
    client, clock = make(fake_openai, tmp_path, per_minute=5)
    fake_openai.fail_next(2, status=500)
    client.get_json("/usage", {"date": day(fake_openai)})
    # 3 attempts at 5/min: slots at 0, 12 and 24 s (backoff waits 1 s and 2 s fit inside them)
    assert clock.now - 1_790_000_000.0 == pytest.approx(24.0)


def test_client__a_429_pauses_other_callers_of_the_same_key(fake_openai, tmp_path):
    client, clock = make(fake_openai, tmp_path, per_minute=600)
    other = RateLimiter(
        tmp_path, client.fingerprint, per_minute=600, clock=clock, sleep=clock.sleep
    )
    fake_openai.fail_next(1, status=429, retry_after="30")
    client.get_json("/usage", {"date": day(fake_openai)})
    before = clock()
    other.acquire()
    assert clock() >= before  # the pause already passed for the retry...
    assert clock.now - 1_790_000_000.0 >= 30  # ...because every caller waited Retry-After


def test_client__cache_serves_final_answers_without_requests(fake_openai, tmp_path):
    client, clock = make(fake_openai, tmp_path)
    first = client.get_json("/usage", {"date": day(fake_openai)}, final=True)
    again, _ = make(fake_openai, tmp_path, clock=clock)  # a new process, same folder
    assert again.get_json("/usage", {"date": day(fake_openai)}, final=True) == first
    clock.advance(365 * 86400)
    assert again.get_json("/usage", {"date": day(fake_openai)}, final=True) == first
    assert fake_openai.count() == 1


def test_client__non_final_answers_are_fetched_again_after_expiry(fake_openai, tmp_path):
    client, clock = make(fake_openai, tmp_path)
    client.get_json("/usage", {"date": day(fake_openai, -1)}, final=False)
    client.get_json("/usage", {"date": day(fake_openai, -1)}, final=False)
    assert fake_openai.count() == 1
    clock.advance(NON_FINAL_TTL + 1)
    client.get_json("/usage", {"date": day(fake_openai, -1)}, final=False)
    assert fake_openai.count() == 2


@pytest.mark.parametrize(
    "other", [dict(key="sk-other-key-000000000"), dict(org="org-Other00000000000000000")]
)
def test_client__another_key_or_org_never_reads_the_cache(fake_openai, tmp_path, other):
    client, clock = make(fake_openai, tmp_path)
    client.get_json("/usage", {"date": day(fake_openai)}, final=True)
    stranger, _ = make(fake_openai, tmp_path, clock=clock, **other)
    with pytest.raises(errors.ApiError):
        stranger.get_json("/usage", {"date": day(fake_openai)}, final=True)
    assert fake_openai.count() == 2


def test_client__key_never_reaches_disk_logs_or_urls(fake_openai, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    client, _ = make(fake_openai, tmp_path)
    client.get_json(f"/organizations/{ORG_ID}/users")
    client.get_json("/usage", {"date": day(fake_openai)}, final=True)
    fake_openai.fail_next(1, status=429, retry_after="1")
    client.get_json("/usage", {"date": day(fake_openai, -2)})
    assert LEGACY_KEY not in caplog.text
    assert all(
        LEGACY_KEY not in r.path and LEGACY_KEY not in str(r.query) for r in fake_openai.requests
    )
    assert LEGACY_KEY not in repr(client)
    for path in Path(tmp_path).rglob("*"):
        if path.is_file():
            assert LEGACY_KEY.encode() not in path.read_bytes(), path


def test_client__follows_usage_pages_until_has_more_is_false(fake_openai, tmp_path):
    fake_openai.reset(days=40)
    client, _ = make(fake_openai, tmp_path, key=ADMIN_KEY, org=None)
    start = int(datetime.combine(fake_openai.days[0], time(), tzinfo=UTC).timestamp())
    pages = client.pages(
        "/organization/usage/completions",
        {"start_time": start, "bucket_width": "1d", "limit": 7},
        cursor="page",
    )
    assert len(pages) == 6  # 40 days, 7 buckets a page
    buckets = [b for p in pages for b in p["data"]]
    total = sum(r["input_tokens"] for b in buckets for r in b["results"])
    assert total == fake_openai.admin_totals("completions")["input_tokens"]


@pytest.mark.parametrize(
    "key, org",
    [("sk-abc\u2013def-000000", ORG_ID), ("sk-abc def", ORG_ID), (LEGACY_KEY, "org-x\n")],
)
def test_client__credentials_no_header_can_carry_are_a_clear_error(key, org):
    with pytest.raises(errors.ConfigError, match="not plain ASCII") as info:
        openai_api(key, org, "http://127.0.0.1:9/v1")
    assert key not in str(info.value)


def test_client__each_caller_hears_only_its_own_events(fake_openai, tmp_path):
    import threading

    client, _ = make(fake_openai, tmp_path)
    heard: dict[str, list[str]] = {"a": [], "b": []}
    fake_openai.fail_next(1, status=429, retry_after="0", path_prefix="/v1/organizations")

    def work(name, path, params):
        client.get_json(
            path,
            params,
            on_event=lambda event, data: heard[name].append(f"{event}:{data.get('path')}"),
        )

    threads = [
        threading.Thread(target=work, args=("a", f"/organizations/{ORG_ID}/users", None)),
        threading.Thread(target=work, args=("b", "/usage", {"date": day(fake_openai)})),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert "rate_limited:" + f"/organizations/{ORG_ID}/users" in heard["a"]
    assert all("/usage" in e for e in heard["b"]) and not any(
        "rate_limited" in e for e in heard["b"]
    )
