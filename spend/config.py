"""Settings in one place: from the environment, ``st.secrets`` or the sidebar, never logged.

The same names work as environment variables and as keys in ``.streamlit/secrets.toml``:
``OPENAI_API_KEY`` or ``OPENAI_ADMIN_KEY``, ``OPENAI_ORG_ID``, ``OPENAI_BASE_URL``,
``SPEND_CACHE_DIR``, ``SPEND_RATE_LIMIT_PER_MIN``, ``SPEND_SOURCE``, ``SPEND_DEMO_SIZE``,
``SPEND_PRICES_FILE``, ``SPEND_ALLOW_LONG_FETCH``, ``SPEND_SERVER_KEY_DAILY_REQUESTS``,
``SPEND_TIMEZONE`` (the IANA zone days are counted in; UTC by default).
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from spend.demo_org import DEMO_SIZES
from spend.errors import ConfigError, redact
from spend.localdays import DEFAULT_ZONE, zone_of

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_CACHE_DIR = ".cache/spend"
#: The legacy usage endpoint allows about 5 requests a minute (API-NOTES §1). We send slightly
#: fewer: evenly spaced at exactly 5/min, any request that reaches OpenAI a little early (network
#: latency varies, its window is counted on its own clock) is the 6th in 60 s and draws a 429;
#: a fault-injection run saw that on 13 % of requests. At 4.5/min five requests span 53 s, so up
#: to 6 s of jitter still fits the window. Against the fake server (5 in any 60 s, 0.5-2 s of
#: latency jitter, 121 days): 14 % of requests drew a 429 at 5/min and the fetch took longer
#: (27.8 min, the pauses included) than at 4.5/min (26.7 min, no 429).
LEGACY_RATE_LIMIT_PER_MIN = 4.5
#: Admin rate limits are unpublished; a polite default that still fetches a year in a minute.
ADMIN_RATE_LIMIT_PER_MIN = 60.0
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
    "SPEND_BUDGETS_FILE",
    "SPEND_APP_URL",
    "SPEND_ALLOW_LONG_FETCH",
    "SPEND_SERVER_KEY_DAILY_REQUESTS",
    "SPEND_REFRESH_MINUTES",
    "SPEND_TIMEZONE",
)
#: Settings read by name (``Settings.value``, kept in ``Settings.values``), e.g. the teams file.
NAMED_SETTINGS = ("SPEND_TEAMS_FILE",)

#: Requests a day the app's own key sends for viewers who are not signed-in admins, counted across
#: processes (``spend.ratelimit.RequestBudget``): a month of admin answers is about 250 requests,
#: a year of legacy days about 365, so 2,000 covers a busy day of ordinary use and caps a stranger.
DEFAULT_SERVER_KEY_DAILY_REQUESTS = 2000


#: What a setting's name looks like (an environment variable's): other keys are not settings.
_SETTING_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


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


def refuse_url_credentials(url: str, setting: str) -> None:
    """Raise ConfigError, in one line that never shows them, when a base URL carries a
    ``user:pass@`` (or ``user@``): ``requests`` would send those as Basic auth in place of the
    key's header, so the key would never be sent and an echoed header would leak the password.
    Put a proxy's credentials in ``HTTPS_PROXY`` instead."""
    try:
        userinfo = "@" in urllib.parse.urlsplit(url.strip()).netloc
    except ValueError:
        userinfo = "@" in url
    if userinfo:
        raise ConfigError(
            f"{setting} may not hold a user name or password (user:pass@): they would replace "
            "the API key's header; give a proxy's credentials in HTTPS_PROXY instead."
        )


def check_base_url(
    url: str, setting: str = "OPENAI_BASE_URL", example: str = DEFAULT_BASE_URL
) -> str:
    """A base URL (``OPENAI_BASE_URL``, or the ``setting`` named) into itself without a trailing
    slash when it is an http(s) URL with a host and no ``user:pass@``, e.g.
    ``"https://api.openai.com/v1/" -> "https://api.openai.com/v1"``; else ConfigError (the
    URL's ``user:pass@`` never shown)."""
    text = url.strip()
    shown = redact(text)
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{setting} must be an http(s) URL such as {example}, got {shown!r}.")
    if any(ch.isspace() or ord(ch) < 0x21 for ch in text):
        raise ConfigError(f"{setting} contains a space or a control character: {shown!r}.")
    refuse_url_credentials(text, setting)
    return text.rstrip("/")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def parse_flag(value: str | None, name: str) -> bool:
    """A true/false setting into a bool, e.g. ``"true" -> True``, ``None -> False``."""
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")


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
    budgets_file: Path | None = None
    app_url: str | None = None  # the deployed app's address, for links in alert messages
    #: a fetch longer than the app's auto-start bound may be started on the app's own key
    allow_long_fetch: bool = False
    #: requests a day the app's own key sends for anyone but a signed-in admin (or the CLI)
    server_key_daily_requests: int = DEFAULT_SERVER_KEY_DAILY_REQUESTS
    #: minutes between the server's own fetches of the default view (0: never); None: every
    #: DEFAULT_REFRESH_MINUTES with sign-in configured (viewers there cannot fetch), else never
    refresh_minutes: float | None = None
    #: the IANA zone days are counted in (``SPEND_TIMEZONE``), checked when read; "UTC" by default
    timezone: str = DEFAULT_ZONE
    #: every other setting the mapping held (``NAME -> text``), for the sources that read their
    #: own (``Source.setting_names``, e.g. a second provider's key): never shown, never compared
    values: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential these settings hold (the OpenAI key and any other ``*_KEY``), to cut
        from whatever is shown."""
        others = (text for name, text in self.values if name.endswith("KEY"))
        return tuple(v for v in (self.api_key, *others) if v)

    @property
    def zone(self) -> ZoneInfo:
        """The zone days are counted in, e.g. ``ZoneInfo("America/Los_Angeles")``."""
        return zone_of(self.timezone)

    def value(self, name: str) -> str | None:
        """One of the other settings by name, e.g. ``settings.value("ANTHROPIC_ADMIN_KEY")``;
        None when unset or blank."""
        return dict(self.values).get(name)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> Settings:
        """Env-like mapping into settings, e.g. ``{"OPENAI_API_KEY": "sk-..."}`` -> legacy settings.

        ``OPENAI_ADMIN_KEY`` wins over ``OPENAI_API_KEY`` when both are set (the supported path).
        """
        get = lambda name: _clean(values.get(name))  # noqa: E731
        rate = get("SPEND_RATE_LIMIT_PER_MIN")
        try:
            rate_value = float(rate) if rate is not None else None
        except ValueError as exc:
            raise ConfigError(f"SPEND_RATE_LIMIT_PER_MIN must be a number, got {rate!r}") from exc
        if rate_value is not None and rate_value <= 0:
            raise ConfigError("SPEND_RATE_LIMIT_PER_MIN must be above 0")
        source = (get("SPEND_SOURCE") or "auto").lower()  # checked by spend.sources.selected
        demo_size = (get("SPEND_DEMO_SIZE") or "small").lower()
        if demo_size not in DEMO_SIZES:
            raise ConfigError(
                f"SPEND_DEMO_SIZE must be one of {', '.join(DEMO_SIZES)}, got {demo_size!r}"
            )
        daily = get("SPEND_SERVER_KEY_DAILY_REQUESTS")
        try:
            daily_value = int(daily) if daily is not None else DEFAULT_SERVER_KEY_DAILY_REQUESTS
        except ValueError as exc:
            raise ConfigError(
                f"SPEND_SERVER_KEY_DAILY_REQUESTS must be a whole number, got {daily!r}"
            ) from exc
        if daily_value < 0:
            raise ConfigError("SPEND_SERVER_KEY_DAILY_REQUESTS must be 0 or more")
        refresh = get("SPEND_REFRESH_MINUTES")
        try:
            refresh_value = float(refresh) if refresh is not None else None
        except ValueError as exc:
            raise ConfigError(f"SPEND_REFRESH_MINUTES must be a number, got {refresh!r}") from exc
        if refresh_value is not None and not 0 <= refresh_value < float("inf"):
            raise ConfigError("SPEND_REFRESH_MINUTES must be 0 (never) or more")
        timezone = zone_of(get("SPEND_TIMEZONE")).key  # an unknown zone: one line naming it
        prices = get("SPEND_PRICES_FILE")
        budgets = get("SPEND_BUDGETS_FILE")
        others = tuple(
            sorted(
                (str(name), text)
                for name, raw in values.items()
                if isinstance(raw, (str, int, float))
                and _SETTING_NAME.fullmatch(str(name))
                and name not in ENV_NAMES
                for text in [_clean(raw)]
                if text is not None
            )
        )
        for name, text in others:  # every source's base URL (ANTHROPIC_BASE_URL, ...)
            if name.endswith("_BASE_URL"):
                refuse_url_credentials(text, name)
        return cls(
            api_key=get("OPENAI_ADMIN_KEY") or get("OPENAI_API_KEY"),
            org_id=get("OPENAI_ORG_ID"),
            base_url=check_base_url(get("OPENAI_BASE_URL") or DEFAULT_BASE_URL),
            cache_dir=Path(get("SPEND_CACHE_DIR") or DEFAULT_CACHE_DIR),
            rate_limit_per_min=rate_value,
            source=source,
            demo_size=demo_size,
            prices_file=Path(prices) if prices else None,
            budgets_file=Path(budgets) if budgets else None,
            app_url=get("SPEND_APP_URL"),
            allow_long_fetch=parse_flag(get("SPEND_ALLOW_LONG_FETCH"), "SPEND_ALLOW_LONG_FETCH"),
            server_key_daily_requests=daily_value,
            refresh_minutes=refresh_value,
            timezone=timezone,
            values=others,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The process environment into settings."""
        return cls.from_mapping(os.environ if environ is None else environ)

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed, e.g. ``settings.with_(org_id="org-x")``."""
        return replace(self, **changes)

    @property
    def fingerprint(self) -> str:
        """(key, org, base URL) into a short one-way hash that names cache entries and limiter
        state.

        Two credentials never share a fingerprint; the key cannot be recovered from it.
        """
        material = "\0".join([self.api_key or "", self.org_id or "", self.base_url])
        return hashlib.sha256(material.encode()).hexdigest()[:24]
