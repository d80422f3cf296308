"""OpenAI's HTTP conventions, declared for the provider-neutral client (``spend.client.Api``).

The legacy and admin sources both talk to OpenAI: this module says, once for both, where the API
lives, how a request is authenticated (``Authorization: Bearer``, ``OpenAI-Organization``), how a
failing status and OpenAI's error body become a message that names the setting to fix, how a
request is described in messages, and how many buckets a paged usage or costs answer can hold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from spend import errors
from spend.cache import query_items
from spend.client import Api
from spend.config import Settings, check_base_url, check_credential
from spend.errors import redact

KEYS_URL = "https://platform.openai.com/api-keys"
ADMIN_KEYS_URL = "https://platform.openai.com/settings/organization/admin-keys"
ORG_SETTINGS_URL = "https://platform.openai.com/settings/organization/general"
#: Seconds in a bucket of each ``bucket_width`` (API-NOTES §2).
BUCKET_SECONDS = {"1d": 86_400, "1h": 3_600, "1m": 60}


def _error_message(body: Any, secrets: Iterable[str | None] = ()) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message")
        return redact(str(message), secrets) if message else None
    return None


def error_for_status(
    status: int,
    body: Any,
    *,
    request_id: str | None,
    endpoint: str,
    org_id: str | None = None,
    attempts: int = 1,
    secrets: Iterable[str | None] = (),
) -> errors.ApiError:
    """A final HTTP status into the error class and a message that says what to fix.

    :param secrets: values to cut from anything OpenAI's message echoes (the key itself)
    """
    detail = _error_message(body, secrets)
    said = f' OpenAI said: "{detail}"' if detail else ""
    org = org_id or "the organization"
    kw = dict(status_code=status, request_id=request_id, body=body, endpoint=endpoint)
    admin_path = endpoint.lstrip("/").startswith("organization/")
    if status == 401:
        return errors.AuthError(
            f"The API key was rejected (401): check it on {KEYS_URL}.{said}", **kw
        )
    if status == 403:
        if detail and ("api.usage.read" in detail or "scope" in detail.lower()):
            return errors.PermissionDeniedError(
                "This needs an admin key (sk-admin-...), which a project or user key is not (403: "
                "missing "
                f"scope api.usage.read). An organization owner can create one at {ADMIN_KEYS_URL}.",
                **kw,
            )
        if admin_path:
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
    if status == 404 and admin_path:
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


def describe_request(path: str, params: Any = None) -> str:
    """A GET into a few words for messages, e.g. ``("/usage", {"date": "2024-05-01"})`` ->
    ``"/usage for 2024-05-01"``, an admin window -> ``"... for 2024-05-01 to 2024-05-31"``."""
    given = dict(query_items(params))
    words = [path]
    if "date" in given:
        words.append(f"for {given['date']}")
    if "user_public_id" in given:
        words.append(f"(user {given['user_public_id']})")
    try:
        start = datetime.fromtimestamp(int(given["start_time"]), tz=UTC).date()
        end = datetime.fromtimestamp(int(given["end_time"]) - 1, tz=UTC).date()
    except (KeyError, ValueError, OverflowError, OSError):
        pass
    else:
        words.append(f"for {start}" if start == end else f"for {start} to {end}")
    return " ".join(words)


def bucket_count(params: Mapping[str, Any]) -> int | None:
    """A usage or costs GET's params into how many buckets its answer can hold, e.g. a 31-day
    window of ``1d`` buckets -> 31; None when the params name no time window (a list)."""
    width = BUCKET_SECONDS.get(str(params.get("bucket_width") or "1d"))
    try:
        start, end = int(params["start_time"]), int(params["end_time"])
    except (KeyError, TypeError, ValueError):
        return None
    if width and end > start:
        return math.ceil((end - start) / width)
    return None


class OpenAICredential:
    """What the OpenAI sources (legacy, admin) share before ``Source``: their provider, their
    client's ``Api`` from the OpenAI key, org id and base URL, and the fingerprint of those three
    (cache entries and limiter state)."""

    provider = "openai"

    @classmethod
    def api(cls, settings: Settings) -> Api:
        return openai_api(settings.api_key, settings.org_id, settings.base_url)

    @classmethod
    def fingerprint(cls, settings: Settings) -> str:
        # the zone joins it outside UTC where the source counts the team's days (Source.zoned)
        return cls.zoned(settings, settings.fingerprint)  # type: ignore[attr-defined]


def openai_api(api_key: str | None, org_id: str | None, base_url: str) -> Api:
    """A key, an optional org id and a base URL into OpenAI's declaration for the client; a key
    or org id no HTTP header can carry, or a base URL that is not http(s), is a ConfigError."""
    check_credential(api_key, "API key", required=True)
    check_credential(org_id, "organization id")
    headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
    if org_id:
        headers["OpenAI-Organization"] = org_id

    def to_error(status: int, body: Any, **kw: Any) -> errors.ApiError:
        return error_for_status(status, body, org_id=org_id, **kw)

    return Api(
        name="OpenAI",
        base_url=check_base_url(base_url),
        base_url_setting="OPENAI_BASE_URL",
        example_url="https://api.openai.com/v1",
        headers=headers,
        secrets=(api_key or "",),
        error_for_status=to_error,
        describe=describe_request,
        bucket_field="start_time",
        bucket_count=bucket_count,
        label=org_id or "",
    )
