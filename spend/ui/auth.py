"""Sign-in, the allow-list and roles in the app: Streamlit's ``st.login``/``st.user`` glue.

The frame calls ``gate()`` on every run before the sidebar and the page. With an ``[auth]`` section
in secrets, a session that is not signed in gets the sign-in page, and a signed-in account that is
not allowed (``spend.access``) gets the refused page; both end the run with ``st.stop()``, so no
page, query string, CSV link or fragment is ever drawn for them. Without ``[auth]`` everyone is an
admin, and a deployment that holds a key shows a warning that anyone with the link sees its data
(``SPEND_PUBLIC=true`` silences it).

The viewer's address is always ``st.user``'s (read through ``user_claims``, the one seam tests
replace), never one typed in. The decisions themselves are pure, in ``spend.access``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import streamlit as st

from spend import access
from spend.access import Viewer
from spend.errors import ConfigError
from spend.sources import setting_names
from spend.ui import settings

__all__ = [
    "Viewer",
    "can_control_fetches",
    "signed_in_admin",
    "may_start_long_fetch",
    "can_see_connection",
    "current_viewer",
    "gate",
    "user_claims",
]

#: Where a deployment's own keys can come from, every source's (a key typed in the sidebar is the
#: viewer's own).
KEY_NAMES = tuple(name for name in setting_names() if name.endswith("_KEY"))
#: Widget keys of the sign-in, refused and signed-in-as elements.
OWN_KEYS = ("sign_in_", "sign_out")
PUBLIC_WARNING = (
    "**Anyone with this link sees this organization's spend**, its users' names and e-mails, and "
    "can start fetches: the app holds an API key and has no sign-in. Configure sign-in (an "
    "`[auth]` section in secrets and `SPEND_ALLOWED_DOMAINS`; see `docs/sign-in.md`), or set "
    "`SPEND_PUBLIC=true` if this is on purpose."
)


def _literal(text: str) -> str:
    """Text from the identity provider into a Markdown code span that shows it exactly as sent
    (no link, no styling, no icon), e.g. ana@acme.com -> ` ana@acme.com `."""
    text = " ".join(text.split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"


def user_claims() -> dict[str, Any]:
    """``st.user`` as a plain dict of the identity provider's claims (``{}`` without sign-in)."""
    return dict(st.user.to_dict())


def _configuration() -> tuple[dict[str, Any], dict[str, Any], access.Policy]:
    """The secrets, the access and key settings (env overridden by secrets) and the policy.

    Raises ConfigError, in one line naming the problem and never a value, when any of them cannot
    be trusted: a secrets file that cannot be read, an ``[auth]`` section Streamlit's sign-in would
    refuse, or an access setting that is not understood. The gate then serves nobody.
    """
    secrets = settings.read_secrets()
    values = settings.secret_settings(secrets, (*access.ENV_NAMES, *KEY_NAMES))
    sign_in = "auth" in secrets
    if sign_in and (problem := access.auth_problem(secrets["auth"])) is not None:
        raise ConfigError(problem)
    return secrets, values, access.Policy.from_mapping(values, sign_in=sign_in)


def policy() -> access.Policy:
    """This deployment's access policy; raises ConfigError when it cannot be trusted."""
    return _configuration()[2]


def current_viewer() -> Viewer:
    """Who this session is, without drawing anything; an unreadable policy lets nobody in."""
    try:
        rules = policy()
    except ConfigError:
        return Viewer(email=None, signed_in=False, is_admin=False, allowed=False)
    return access.viewer_for(user_claims(), rules)


def can_control_fetches() -> bool:
    """Whether this session may start, stop and refresh fetches (everyone without sign-in)."""
    viewer = current_viewer()
    return viewer.allowed and viewer.is_admin


def may_start_long_fetch(*, own_key: bool, allow_long_fetch: bool) -> bool:
    """Whether this session may start a fetch longer than the auto-start bound: always on a key of
    its own; on the app's key only when sign-in is configured and this viewer is an admin, or when
    the deployment says ``SPEND_ALLOW_LONG_FETCH=true`` (without sign-in everyone counts as an
    admin, so that alone is no bound)."""
    if own_key or allow_long_fetch:
        return True
    try:
        rules = policy()
    except ConfigError:
        return False
    return rules.sign_in and can_control_fetches()


def signed_in_admin() -> bool:
    """Whether this session is a signed-in admin (sign-in configured, an address on
    ``SPEND_ADMINS``): the one viewer the app's own key is not held back for (``data.held``).
    Without sign-in nobody is: everyone counts as an admin there, strangers included."""
    try:
        rules = policy()
    except ConfigError:
        return False
    return rules.sign_in and can_control_fetches()


def can_see_connection() -> bool:
    """Whether this session may see the connection settings (as for the fetch controls)."""
    return can_control_fetches()


def gate() -> Viewer:
    """Let this session through, or draw the sign-in or refused page and stop the run.

    Called by the frame before the sidebar. Also draws the public-link warning where it applies,
    and, for a signed-in viewer, who they are and a sign-out button at the top of the sidebar.
    """
    try:
        secrets, values, rules = _configuration()
    except ConfigError as exc:
        _forget_session_data()
        st.error(
            f"Sign-in is misconfigured, so this app shows nothing: {exc}", icon=":material/error:"
        )
        st.stop()
    claims = user_claims()
    viewer = access.viewer_for(claims, rules)
    if not viewer.allowed:
        _forget_session_data()
        if viewer.needs_sign_in:
            _sign_in_page(access.sign_in_providers(secrets.get("auth")))
        else:
            _refused_page(claims, rules)
        st.stop()
    if viewer.signed_in:
        _signed_in_as(viewer, no_admins=rules.sign_in and not rules.admins)
    deployment_key = any(str(values.get(name) or "").strip() for name in KEY_NAMES)
    if access.needs_public_warning(rules, deployment_key=deployment_key):
        st.warning(PUBLIC_WARNING, icon=":material/public:")
    return viewer


def _forget_session_data() -> None:
    """Drop what this session holds (the last view, filters, a typed key): it may not see data."""
    for key in list(st.session_state):
        if not str(key).startswith(OWN_KEYS):  # keep this page's own buttons: a click is in there
            del st.session_state[key]


def _sign_in_page(names: list[str | None]) -> None:
    st.title("OpenAI Spend")
    st.write(
        "Where this organization's OpenAI API money goes. Sign in with your company account "
        "to see it."
    )
    for name in names:
        label = f"Sign in with {name.replace('-', ' ').title()}" if name else "Sign in"
        if st.button(label, key=f"sign_in_{name or 'default'}", icon=":material/login:"):
            st.login(name)


def _refused_page(claims: Mapping[str, Any], rules: access.Policy) -> None:
    email = claims.get("email")
    reason = access.refusal(email, access.email_verified(claims), rules)
    st.title("Not allowed")
    st.markdown(f"You are signed in as {_literal(access.display_name(claims))}.")
    st.write(reason or "This account may not see this app.")
    st.write("Sign out to try another account, or ask whoever runs this app to add yours.")
    if st.button("Sign out", key="sign_out_refused", icon=":material/logout:"):
        st.logout()


#: The sidebar's hint for a deployment with sign-in and nobody on ``SPEND_ADMINS``.
NO_ADMINS_HINT = (
    ":material/admin_panel_settings: No admins named. To let someone start, stop and refresh "
    "fetches, list their address in `SPEND_ADMINS` in the app's secrets."
)


def _signed_in_as(viewer: Viewer, *, no_admins: bool = False) -> None:
    with st.sidebar:
        role = "admin" if viewer.is_admin else "viewer"
        st.caption(f":material/account_circle: {_literal(viewer.email or '')} · {role}")
        if no_admins:
            st.caption(NO_ADMINS_HINT)
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            _forget_session_data()
            st.logout()
            st.stop()  # nothing more in this run: the browser is on its way to the sign-out route
