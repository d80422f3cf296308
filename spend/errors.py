"""Every failure this package expects, as one small hierarchy.

    SpendError                      anything the app can show as a message instead of a traceback
    ├── ConfigError                 bad settings settings (no org id for the legacy source, dates)
    ├── ApiError                    OpenAI answered, or should have (status_code, request_id, body)
    │   ├── AuthError               401: the key was rejected
    │   ├── PermissionDeniedError   403: key of the wrong kind, or no access to the org
    │   ├── NotFoundError           404: unknown org or endpoint
    │   ├── BadRequestError         400/422: the request was refused as malformed
    │   ├── RateLimitError          429 after every retry
    │   ├── ServerError             5xx after every retry
    │   └── MalformedResponseError  2xx with a body that is not what we expect (HTML, empty, an
    │       │                       error body, a wrong shape, an absurd count)
    │       └── PaginationError     pages that loop, repeat a bucket or never end
    ├── ApiConnectionError          no answer at all (DNS, refused, timeout) after every retry
    ├── FetchStopped                the user stopped a background fetch (what was stored is kept)
    ├── CacheError                  the disk cache could not be read or written
    └── PricingError                a price file is unreadable

Messages say what to fix and never contain the API key: ``str()`` of every error goes through
``redact`` (whatever follows ``Bearer``, Basic credentials, ``sk-…``, ``sk_live_…``, ``sess-…``
tokens and the ``user:pass@`` of a URL), and code that knows the key itself passes it to
``redact`` as well.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from typing import Any

#: Secret-looking tokens, each replaced by its prefix and an ellipsis (``redact``).
_SECRETS = (
    # whatever follows "Bearer" (an Authorization header echoed back), up to a space or quote
    (re.compile(r"(?i)\b(bearer)(\s+|%20)[^\s\"'<>,;]+"), r"\1\2…"),
    # OpenAI keys (sk-proj-…, sk-admin-…), Stripe-style live/test keys, session keys
    # (possessive, so a token already cut stays as it is: redacting twice changes nothing)
    (re.compile(r"\b(sk|rk)([-_])(live_|test_)?+[A-Za-z0-9_\-\*\.]{2,}+"), r"\1\2\3…"),
    (re.compile(r"\b(sess|sk_live|sk_test)([-_])[A-Za-z0-9_\-\*\.]{2,}+"), r"\1\2…"),
    # credentials in a URL: scheme://user:pass@host -> scheme://…@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@]+@"), r"\1…@"),
)


#: ``Basic`` and what may be its credentials: base64 (``user:pass``), as a header carries them.
_BASIC = re.compile(r"(?i)\b(basic)(\s+|%20|:\s*)([A-Za-z0-9+/_\-]{4,}={0,2})")


def _cut_basic(match: re.Match[str]) -> str:
    """``Basic <token>`` into ``Basic …`` when the token can be credentials: base64 that decodes
    to ``user:pass``, or any token with a digit, ``+``, ``/`` or ``=`` (English words stay)."""
    token = match.group(3)
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=False)
    except (binascii.Error, ValueError):
        decoded = b""
    if b":" in decoded or any(ch.isdigit() or ch in "+/=" for ch in token):
        return f"{match.group(1)}{match.group(2)}…"
    return match.group(0)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Text into the same text with every secret-looking token cut, e.g. ``"bad key sk-abc123"
    -> "bad key sk-…"``, ``"Authorization: Bearer sess-xyz" -> "Authorization: Bearer …"``,
    ``"Authorization: Basic dTpw" -> "Authorization: Basic …"``,
    ``"https://u:p@proxy/v1" -> "https://…@proxy/v1"``.

    :param secrets: exact values to cut wherever they appear (the key itself, whatever its shape)
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "…")
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return _BASIC.sub(_cut_basic, text)


class SpendError(Exception):
    """Base class: an expected failure with a message a user can act on."""

    def __str__(self) -> str:
        return redact(super().__str__())


class ConfigError(SpendError):
    """Settings are missing or invalid."""


class ApiError(SpendError):
    """An HTTP exchange with OpenAI failed; keeps the evidence."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        body: Any = None,
        endpoint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        self.body = body
        self.endpoint = endpoint

    def __str__(self) -> str:
        if self.request_id:
            return redact(f"{self.message} (request id {self.request_id})")
        return redact(self.message)


class AuthError(ApiError):
    """401: the key was rejected."""


class PermissionDeniedError(ApiError):
    """403: the key is of the wrong kind or lacks access to the organization."""


class NotFoundError(ApiError):
    """404: the organization or endpoint does not exist for this key."""


class BadRequestError(ApiError):
    """400/422: OpenAI refused the request's parameters."""


class RateLimitError(ApiError):
    """429 persisted through every retry."""


class ServerError(ApiError):
    """5xx persisted through every retry."""


class MalformedResponseError(ApiError):
    """A success status with a body that is not the expected JSON."""


class PaginationError(MalformedResponseError):
    """Pages of one request that loop, repeat a bucket, or exceed what the range can hold."""


class ApiConnectionError(SpendError):
    """OpenAI could not be reached (refused, DNS, timeout) after every retry."""


class FetchStopped(SpendError):
    """A background fetch was asked to stop; raised while waiting for a rate-limit slot."""


class CacheError(SpendError):
    """The disk cache could not be read or written."""


class PricingError(SpendError):
    """A price override file could not be read."""
