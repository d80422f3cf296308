"""Settings in one place: from the environment, ``st.secrets`` or the sidebar, never logged.

The same names work as environment variables and as keys in ``.streamlit/secrets.toml``:
``OPENAI_API_KEY`` or ``OPENAI_ADMIN_KEY``, ``OPENAI_ORG_ID``, ``OPENAI_BASE_URL``,
``SPEND_CACHE_DIR``, ``SPEND_RATE_LIMIT_PER_MIN``, ``SPEND_SOURCE``, ``SPEND_DEMO_SIZE``,
``SPEND_PRICES_FILE``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from spend.demo import DEMO_SIZES
from spend.errors import ConfigError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_CACHE_DIR = ".cache/spend"
#: The legacy usage endpoint allows about 5 requests a minute (API-NOTES §1).
LEGACY_RATE_LIMIT_PER_MIN = 5.0
#: Admin rate limits are unpublished; a polite default that still fetches a year in a minute.
ADMIN_RATE_LIMIT_PER_MIN = 60.0
SOURCE_CHOICES = ("auto", "legacy", "admin", "demo")
ADMIN_KEY_PREFIX = "sk-admin-"

ENV_NAMES = (
    "OPENAI_API_KEY",
    "OPENAI_ADMIN_KEY",
    "OPENAI_ORG_ID",
    "OPENAI_BASE_URL",
    "SPEND_CACHE_DIR",
    "SPEND_RATE_LIMIT_PER_MIN",
    "SPEND_SOURCE",
    "SPEND_DEMO_SIZE",
    "SPEND_PRICES_FILE",
)


def _clean(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


_PRINTABLE_ASCII = set(map(chr, range(0x21, 0x7F)))


def check_credential(value: str | None, what: str, *, required: bool = False) -> None:
    """Raise ConfigError when a key or org id has characters no HTTP header can carry (a pasted
    dash,
    a space, a line break), naming what to fix but never the value; or is missing and
    ``required``."""
    if required and not value:
        raise ConfigError(
            f"No {what}: set OPENAI_API_KEY or OPENAI_ADMIN_KEY, or type one in the sidebar."
        )
    if value and not set(value) <= _PRINTABLE_ASCII:
        raise ConfigError(
            f"The {what} contains a space or a character that is not plain ASCII (often a dash or "
            "quote changed by copy and paste). Copy it again from platform.openai.com."
        )


def key_kind(api_key: str | None) -> str | None:
    """A key into its kind without revealing it, e.g. ``"sk-admin-..." -> "admin"``, ``"sk-proj-..."
    -> "project"``."""
    if not api_key:
        return None
    if api_key.startswith(ADMIN_KEY_PREFIX):
        return "admin"
    if api_key.startswith("sk-proj-"):
        return "project"
    return "user"


@dataclass(frozen=True)
class Settings:
    """Everything a source needs; ``api_key`` is excluded from ``repr`` so it never reaches a
    log."""

    api_key: str | None = field(default=None, repr=False)
    org_id: str | None = None
    base_url: str = DEFAULT_BASE_URL
    cache_dir: Path = Path(DEFAULT_CACHE_DIR)
    rate_limit_per_min: float | None = None
    source: str = "auto"
    demo_size: str = "small"
    prices_file: Path | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> Settings:
        """Env-like mapping into settings, e.g. ``{"OPENAI_API_KEY": "sk-..."}`` -> legacy settings.

        ``OPENAI_ADMIN_KEY`` wins over ``OPENAI_API_KEY`` when both are set (the supported path).
        """
        get = lambda name: _clean(values.get(name))  # noqa: E731
        rate = get("SPEND_RATE_LIMIT_PER_MIN")
        try:
            rate_value = float(rate) if rate is not None else None
        except ValueError:
            raise ConfigError(f"SPEND_RATE_LIMIT_PER_MIN must be a number, got {rate!r}") from None
        if rate_value is not None and rate_value <= 0:
            raise ConfigError("SPEND_RATE_LIMIT_PER_MIN must be above 0")
        source = (get("SPEND_SOURCE") or "auto").lower()
        if source not in SOURCE_CHOICES:
            raise ConfigError(
                f"SPEND_SOURCE must be one of {', '.join(SOURCE_CHOICES)}, got {source!r}"
            )
        demo_size = (get("SPEND_DEMO_SIZE") or "small").lower()
        if demo_size not in DEMO_SIZES:
            raise ConfigError(
                f"SPEND_DEMO_SIZE must be one of {', '.join(DEMO_SIZES)}, got {demo_size!r}"
            )
        prices = get("SPEND_PRICES_FILE")
        return cls(
            api_key=get("OPENAI_ADMIN_KEY") or get("OPENAI_API_KEY"),
            org_id=get("OPENAI_ORG_ID"),
            base_url=(get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            cache_dir=Path(get("SPEND_CACHE_DIR") or DEFAULT_CACHE_DIR),
            rate_limit_per_min=rate_value,
            source=source,
            demo_size=demo_size,
            prices_file=Path(prices) if prices else None,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The process environment into settings."""
        return cls.from_mapping(os.environ if environ is None else environ)

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed, e.g. ``settings.with_(org_id="org-x")``."""
        return replace(self, **changes)

    @property
    def resolved_source(self) -> str:
        """Which source runs: the explicit choice, else demo without a key, admin for sk-admin-,
        else legacy."""
        if self.source != "auto":
            return self.source
        if not self.api_key:
            return "demo"
        return "admin" if key_kind(self.api_key) == "admin" else "legacy"

    @property
    def effective_rate_limit(self) -> float:
        """Requests per minute for this source: the override, else the source's default."""
        if self.rate_limit_per_min is not None:
            return self.rate_limit_per_min
        if self.resolved_source == "admin":
            return ADMIN_RATE_LIMIT_PER_MIN
        return LEGACY_RATE_LIMIT_PER_MIN

    @property
    def fingerprint(self) -> str:
        """(key, org, base URL) into a short one-way hash that names cache entries and limiter
        state.

        Two credentials never share a fingerprint; the key cannot be recovered from it.
        """
        material = "\0".join([self.api_key or "", self.org_id or "", self.base_url])
        return hashlib.sha256(material.encode()).hexdigest()[:24]
