"""Who may look at this deployment: sign-in claims and the allow-list into a viewer with a role.

Plain Python (no streamlit): ``spend.ui.auth`` reads ``st.user`` and the settings and asks here.

The settings come from the environment or the same names in secrets; a list is a TOML array or one
string separated by commas, semicolons or spaces:

- ``SPEND_ALLOWED_EMAILS``: exact addresses allowed in, e.g. ``"ana@acme.com, bo@partner.io"``.
- ``SPEND_ALLOWED_DOMAINS``: exact domains, e.g. ``"acme.com"`` lets in ``ana@acme.com`` but not
  ``ana@eu.acme.com``, ``ana@acme.com.evil.io`` or ``ana@evilacme.com``.
- ``SPEND_ADMINS``: addresses that may start, stop and refresh fetches and see the connection
  settings (an admin is allowed in even when not on the lists above).
- ``SPEND_PUBLIC``: ``true`` when a deployment without sign-in is public on purpose (no warning).

Only a verified address counts: the ``email_verified`` claim must be true (Microsoft Entra never
sends it; there the ``xms_edov`` optional claim, "email domain owner verified", stands in when
``email_verified`` is absent). Addresses compare with ASCII letters case-insensitive and every
other character exactly as written (no Unicode case folding or normalization). Without sign-in
configured, everyone is an admin, as before sign-in existed.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from spend.config import parse_flag
from spend.errors import ConfigError

ENV_NAMES = ("SPEND_ALLOWED_EMAILS", "SPEND_ALLOWED_DOMAINS", "SPEND_ADMINS", "SPEND_PUBLIC")

_SEPARATORS = re.compile(r"[\s,;]+")
#: A domain as an allow-list entry: labels of letters, digits and hyphens, at least one dot.
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


def parse_list(value: object) -> tuple[str, ...]:
    """A setting into its entries, e.g. ``"a@x.io, b@y.io;c@z.io" -> ("a@x.io", "b@y.io", ...)``.

    :param value: None, one string (comma, semicolon or whitespace separated) or a list of strings
        (a TOML array in secrets); empty entries are dropped.
    """
    if value is None:
        return ()
    items: Iterable[object] = [value] if isinstance(value, str) else value  # type: ignore[assignment]
    if not isinstance(items, Iterable):
        raise ConfigError(f"expected a list or a comma-separated string, got {value!r}")
    out: list[str] = []
    for item in items:
        out.extend(part for part in _SEPARATORS.split(str(item)) if part)
    return tuple(out)


def _flag(value: object, name: str) -> bool:
    """A true/false setting (a string, or a TOML bool or number) into a bool by
    ``config.parse_flag``, e.g. ``True -> True``, ``"0" -> False``, ``None -> False``."""
    return parse_flag(None if value is None else str(value), name)


#: A-Z to a-z and nothing else: ``str.lower`` folds more (U+212A KELVIN SIGN into "k", "İ" into
#: "i̇"), which let ``"\u212aboss@acme.io"`` in as the admin ``kboss@acme.io``.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def ascii_lower(text: str) -> str:
    """Text with only its ASCII letters lowercased, e.g. ``"Ana@ACME.io" -> "ana@acme.io"``,
    ``"\u212aBoss" -> "\u212aboss"`` (every other character stays exactly as it is)."""
    return text.translate(_ASCII_LOWER)


def normalize_email(text: object) -> str | None:
    """An address into its comparable form, e.g. ``" Ana@ACME.com " -> "ana@acme.com"``.

    Only ASCII letters are lowercased: an address with any other character matches only an entry
    spelled with exactly that character (``"\u212aboss@acme.io"`` is not ``"kboss@acme.io"``).

    None when it is not one local part, one ``@`` and a domain (``"ana"``, ``"a@b@c"``, ``"@x"``).
    """
    if not isinstance(text, str):
        return None
    email = ascii_lower(text.strip())
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or "@" in local or _SEPARATORS.search(email):
        return None
    return email


def email_domain(email: str) -> str:
    """A normalized address into its domain, e.g. ``"ana@acme.com" -> "acme.com"``."""
    return email.rpartition("@")[2]


def _emails(name: str, value: object) -> frozenset[str]:
    out = set()
    for entry in parse_list(value):
        email = normalize_email(entry)
        if email is None:
            raise ConfigError(f"{name}: {entry!r} is not an e-mail address")
        out.add(email)
    return frozenset(out)


def _domains(value: object) -> frozenset[str]:
    out = set()
    for entry in parse_list(value):
        domain = ascii_lower(entry.strip()).removeprefix("@")
        if not _DOMAIN.match(domain):
            raise ConfigError(
                f"SPEND_ALLOWED_DOMAINS: {entry!r} is not a domain (write acme.com; a domain "
                "matches exactly, so list each subdomain you want, and no wildcards)"
            )
        out.add(domain)
    return frozenset(out)


@dataclass(frozen=True)
class Policy:
    """The access settings of a deployment; ``sign_in`` is whether an ``[auth]`` section exists."""

    sign_in: bool = False
    allowed_emails: frozenset[str] = frozenset()
    allowed_domains: frozenset[str] = frozenset()
    admins: frozenset[str] = frozenset()
    public: bool = False

    @classmethod
    def from_mapping(cls, values: Mapping[str, object], *, sign_in: bool) -> Policy:
        """Env-like settings into a policy, e.g. ``{"SPEND_ALLOWED_DOMAINS": "acme.com"}``.

        Raises ConfigError naming the setting when an entry is not an address or a domain.
        """
        return cls(
            sign_in=sign_in,
            allowed_emails=_emails("SPEND_ALLOWED_EMAILS", values.get("SPEND_ALLOWED_EMAILS")),
            allowed_domains=_domains(values.get("SPEND_ALLOWED_DOMAINS")),
            admins=_emails("SPEND_ADMINS", values.get("SPEND_ADMINS")),
            public=_flag(values.get("SPEND_PUBLIC"), "SPEND_PUBLIC"),
        )

    @property
    def has_allow_list(self) -> bool:
        """Whether anyone at all can get in once signed in."""
        return bool(self.allowed_emails or self.allowed_domains or self.admins)


def _true_claim(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def email_verified(claims: Mapping[str, object]) -> bool:
    """ID-token claims into whether their e-mail is verified, e.g. ``{"email_verified": True}``.

    ``email_verified`` decides when present (a string ``"true"`` counts: some providers send one);
    only when it is absent does Microsoft Entra's ``xms_edov`` (domain owner verified) stand in.
    """
    if "email_verified" in claims:
        return _true_claim(claims["email_verified"])
    return _true_claim(claims.get("xms_edov"))


def is_allowed(email: object, verified: bool, policy: Policy) -> bool:
    """A signed-in address into whether it may see data: verified, and listed by address or domain.

    E.g. ``("Ana@Acme.com", True, domains={"acme.com"}) -> True``;
    ``("ana@acme.com.evil.io", True, ...) -> False``; ``("ana@acme.com", False, ...) -> False``.
    """
    address = normalize_email(email)
    if not verified or address is None:
        return False
    return (
        address in policy.allowed_emails
        or address in policy.admins
        or email_domain(address) in policy.allowed_domains
    )


def is_admin(email: object, verified: bool, policy: Policy) -> bool:
    """A signed-in address into whether it may control fetches: verified and in ``SPEND_ADMINS``."""
    address = normalize_email(email)
    return bool(verified and address is not None and address in policy.admins)


def refusal(email: object, verified: bool, policy: Policy) -> str | None:
    """Why a signed-in address is refused, in words for that person; None when it is allowed."""
    if is_allowed(email, verified, policy):
        return None
    if normalize_email(email) is None:
        return "Your identity provider did not send an e-mail address for this account."
    if not verified:
        return "Your identity provider did not confirm that this e-mail address is verified."
    if not policy.has_allow_list:
        return (
            "Nobody is allowed in yet: the person who deployed this app has to list addresses "
            "or domains (SPEND_ALLOWED_EMAILS, SPEND_ALLOWED_DOMAINS)."
        )
    return "This account is not on this app's list of allowed addresses and domains."


@dataclass(frozen=True)
class Viewer:
    """Who is looking, as the app sees them.

    ``email`` is the identity provider's address (None without sign-in); ``allowed`` says whether
    this session may see any data; ``is_admin`` whether it may control fetches and see the
    connection settings.
    """

    email: str | None = None
    signed_in: bool = False
    is_admin: bool = True
    allowed: bool = True

    @property
    def needs_sign_in(self) -> bool:
        return not self.allowed and not self.signed_in


#: Claims, in order, that name the account on the refused page when there is no e-mail.
_NAME_CLAIMS = ("email", "preferred_username", "name", "sub")


def display_name(claims: Mapping[str, object]) -> str:
    """Claims into what the refused page calls the account, e.g. ``{"email": "a@x"} -> "a@x"``."""
    for claim in _NAME_CLAIMS:
        value = claims.get(claim)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return "an account without a name"


def viewer_for(claims: Mapping[str, object], policy: Policy) -> Viewer:
    """``st.user``'s claims and the policy into the viewer.

    Without sign-in configured: everyone is an allowed admin. With it: nobody signed in is not
    allowed; a signed-in account is allowed by ``is_allowed`` and an admin by ``is_admin``.
    """
    if not policy.sign_in:
        return Viewer()
    if not _true_claim(claims.get("is_logged_in")):
        return Viewer(email=None, signed_in=False, is_admin=False, allowed=False)
    email = claims.get("email")
    verified = email_verified(claims)
    shown = email.strip() if isinstance(email, str) and email.strip() else None
    return Viewer(
        email=shown,
        signed_in=True,
        is_admin=is_admin(email, verified, policy),
        allowed=is_allowed(email, verified, policy),
    )


def needs_public_warning(policy: Policy, *, deployment_key: bool) -> bool:
    """Whether every page warns that anyone with the link sees the data.

    True when the deployment itself holds a key (env or secrets, not one a viewer typed), there is
    no sign-in, and ``SPEND_PUBLIC`` does not say this is on purpose.
    """
    return deployment_key and not policy.sign_in and not policy.public


def sign_in_providers(auth_section: object) -> list[str | None]:
    """An ``[auth]`` secrets section into the providers a sign-in page offers.

    ``[None]`` (Streamlit's default provider) when ``[auth]`` itself holds ``client_id``, else
    the names of its ``[auth.<name>]`` subsections, e.g. ``{"okta": {"client_id": "x"}}`` gives
    ``["okta"]``.
    """
    if not isinstance(auth_section, Mapping):
        return [None]
    named = [
        name
        for name, value in auth_section.items()
        if isinstance(value, Mapping) and "client_id" in value
    ]
    return [None] if "client_id" in auth_section or not named else named


#: What ``[auth]`` itself must hold, and what each provider's section must (Streamlit's rules in
#: ``streamlit.auth_util.validate_auth_credentials``, checked before anyone presses Sign in).
AUTH_KEYS = ("redirect_uri", "cookie_secret")
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
#: Tables inside ``[auth]`` that are not providers.
_NOT_PROVIDERS = {"client_kwargs"}


def _missing(section: Mapping[str, object], keys: tuple[str, ...]) -> list[str]:
    return [key for key in keys if not str(section.get(key) or "").strip()]


def auth_problem(auth_section: object) -> str | None:
    """An ``[auth]`` secrets section into why Streamlit's sign-in would refuse it (naming keys,
    never values), or None when it is usable, e.g. ``{"client_id": "c"} -> "[auth] has no
    redirect_uri, cookie_secret"``.

    Stricter than Streamlit where that is safe: an empty value counts as missing, and every
    provider table is checked, not only the one a sign-in button names.
    """
    if not isinstance(auth_section, Mapping):
        return "[auth] in secrets is not a table"
    missing = _missing(auth_section, AUTH_KEYS)
    if missing:
        return f"[auth] has no {', '.join(missing)}"
    tables = {
        str(name): value
        for name, value in auth_section.items()
        if isinstance(value, Mapping) and name not in _NOT_PROVIDERS
    }
    if not tables or any(key in auth_section for key in PROVIDER_KEYS):
        tables["default"] = auth_section  # Streamlit's default provider: the keys in [auth] itself
    for name, table in tables.items():
        where = "[auth]" if name == "default" else f"[auth.{name}]"
        if "_" in name:
            return f"{where}: Streamlit refuses a provider name with an underscore"
        missing = _missing(table, PROVIDER_KEYS)
        if missing:
            return f"{where} has no {', '.join(missing)}"
    tokens = auth_section.get("expose_tokens")
    if tokens is not None:
        names = [tokens] if isinstance(tokens, str) else tokens
        if not isinstance(names, list) or not set(map(str, names)) <= {"id", "access"}:
            return '[auth] expose_tokens may only name "id" and "access"'
    return None
