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
    │   └── MalformedResponseError  2xx with a body that is not the JSON we expect (HTML, empty)
    ├── ApiConnectionError          no answer at all (DNS, refused, timeout) after every retry
    ├── FetchStopped                the user stopped a background fetch (what was stored is kept)
    ├── CacheError                  the disk cache could not be read or written
    └── PricingError                a price file is unreadable

Messages say what to fix and never contain the API key.
"""

from __future__ import annotations

from typing import Any


class SpendError(Exception):
    """Base class: an expected failure with a message a user can act on."""


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
            return f"{self.message} (request id {self.request_id})"
        return self.message


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


class ApiConnectionError(SpendError):
    """OpenAI could not be reached (refused, DNS, timeout) after every retry."""


class FetchStopped(SpendError):
    """A background fetch was asked to stop; raised while waiting for a rate-limit slot."""


class CacheError(SpendError):
    """The disk cache could not be read or written."""


class PricingError(SpendError):
    """A price override file could not be read."""
