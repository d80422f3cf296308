"""The retry policy and the status-to-error ladder, as tables (openai-python tests/test_client.py
style)."""

from datetime import UTC, datetime

import pytest

from spend import errors
from spend.client import (
    INITIAL_DELAY,
    MAX_DELAY,
    MAX_RETRY_AFTER,
    describe_body,
    parse_retry_after,
    redact,
    retry_delay,
    should_retry,
)
from spend.paging import next_page_params
from spend.sources.openai_api import error_for_status

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2", 2.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("inf", None),
        ("nan", None),
        ("soon", None),
        (None, None),
        ("Wed, 25 Nov 2026 12:00:30 GMT", 30.0),
        ("Wed, 25 Nov 2026 11:59:00 GMT", 0.0),  # a date in the past: go now
    ],
)
def test_parse_retry_after__table(value, expected):
    assert parse_retry_after(value, now=lambda: NOW) == expected


@pytest.mark.parametrize(
    "status, headers, expected",
    [
        (429, {}, True),
        (500, {}, True),
        (502, {}, True),
        (503, {}, True),
        (504, {}, True),
        (None, {}, True),  # connection error
        (400, {}, False),
        (401, {}, False),
        (403, {}, False),
        (404, {}, False),
        (401, {"x-should-retry": "true"}, True),
        (500, {"x-should-retry": "false"}, False),
    ],
)
def test_should_retry__table(status, headers, expected):
    assert should_retry(status, headers) is expected


@pytest.mark.parametrize(
    "attempt, headers, rand, expected",
    [
        (1, {}, 0.0, INITIAL_DELAY),
        (2, {}, 0.0, INITIAL_DELAY * 2),
        (3, {}, 1.0, INITIAL_DELAY * 4 * 0.75),  # full jitter takes 25 % off
        (20, {}, 0.0, MAX_DELAY),  # capped
        (1, {"retry-after": "7"}, 0.5, 7.0),  # Retry-After wins, no jitter
        (1, {"retry-after": "100000"}, 0.0, MAX_RETRY_AFTER),  # capped
        (2, {"retry-after": "inf"}, 0.0, INITIAL_DELAY * 2),  # unusable header -> backoff
    ],
)
def test_retry_delay__table(attempt, headers, rand, expected):
    assert retry_delay(attempt, headers, rand=lambda: rand, now=lambda: NOW) == pytest.approx(
        expected
    )


def ENVELOPE(msg):  # noqa: N802 (reads like the constant it replaces)
    return {"error": {"message": msg, "type": "invalid_request_error", "param": None, "code": None}}


@pytest.mark.parametrize(
    "status, body, cls, needle",
    [
        (401, ENVELOPE("Incorrect API key provided: sk-abc***xyz"), errors.AuthError, "api-keys"),
        (
            403,
            ENVELOPE("Missing scopes: api.usage.read."),
            errors.PermissionDeniedError,
            "admin key",
        ),
        (
            403,
            ENVELOPE("You are not allowed"),
            errors.PermissionDeniedError,
            "org-x not found or the key has no access",
        ),
        (404, ENVELOPE("No such organization"), errors.NotFoundError, "org-x not found"),
        (400, ENVELOPE("bad date"), errors.BadRequestError, "bad date"),
        (429, ENVELOPE("Rate limit reached"), errors.RateLimitError, "rate limit"),
        (502, "<html>Bad gateway</html>", errors.ServerError, "502 3 times"),
        (418, None, errors.ApiError, "418"),
    ],
)
def test_error_for_status__table(status, body, cls, needle):
    exc = error_for_status(
        status, body, request_id="req_1", endpoint="/usage", org_id="org-x", attempts=3
    )
    assert type(exc) is cls
    assert exc.status_code == status and exc.request_id == "req_1"
    assert needle.lower() in str(exc).lower()
    assert "req_1" in str(exc)


def test_error_for_status__never_repeats_a_key_fragment():
    exc = error_for_status(
        401,
        ENVELOPE("Incorrect API key provided: sk-proj-abcdef1234567890"),
        request_id=None,
        endpoint="/usage",
    )
    assert "abcdef" not in str(exc)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Bad key sk-proj-AbC_123-xyz here", "Bad key sk-… here"),
        ("sk-te***0000", "sk-…"),
        ("no secret", "no secret"),
    ],
)
def test_redact__table(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text, content_type, expected",
    [
        ("", None, "an empty body"),
        ("   ", "application/json", "an empty body"),
        ("<!DOCTYPE html><html>", "text/html", "an HTML page"),
        ('{"object": "list", "da', "application/json", "cut off"),
        ("Internal error", "text/plain", "not JSON"),
    ],
)
def test_describe_body__table(text, content_type, expected):
    assert expected in describe_body(text, content_type)


@pytest.mark.parametrize(
    "body, cursor, expected",
    [
        ({"has_more": True, "next_page": "p2"}, "page", {"limit": 7, "page": "p2"}),
        ({"has_more": True, "last_id": "user_9"}, "after", {"limit": 7, "after": "user_9"}),
        ({"has_more": False, "next_page": "p2"}, "page", None),
        ({"data": []}, "page", None),
        (["not", "a", "page"], "page", None),
    ],
)
def test_next_page_params__table(body, cursor, expected):
    assert next_page_params("/x", {"limit": 7}, body, cursor) == expected


def test_next_page_params__has_more_without_a_cursor_is_malformed():
    with pytest.raises(errors.MalformedResponseError, match="has_more but gave no cursor"):
        next_page_params("/x", {}, {"has_more": True, "next_page": None}, "page")
