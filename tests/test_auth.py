"""Sign-in, the allow-list, roles and the public-link warning, under ``AppTest``.

``AppTest.user`` is what a run reads as ``st.user`` (``spend.ui.auth.user_claims`` reads it through
``st.user.to_dict()``), and ``AppTest.secrets`` is what it reads as ``st.secrets``, so an ``[auth]``
section there turns sign-in on without a real identity provider. The sign-in round trip itself
(``st.login`` against an identity provider) is in ``tests/test_auth_browser.py``.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from spend.jobs import REGISTRY
from tests.apptest_support import ROOT, TIMEOUT, admin_secrets, app, legacy_secrets
from tests.fake_openai import ADMIN_KEY, LEGACY_KEY

RAW_DATA = str(ROOT / "app_pages" / "raw_data.py")
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret-just-for-apptest",
    "client_id": "spend",
    "client_secret": "spend-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ACCESS = {"SPEND_ALLOWED_DOMAINS": "acme.com", "SPEND_ADMINS": "boss@acme.com"}
ANA = {"is_logged_in": True, "email": "ana@acme.com", "email_verified": True, "sub": "ana"}
BOSS = {"is_logged_in": True, "email": "boss@acme.com", "email_verified": True, "sub": "boss"}
WARNING_TEXT = "Anyone with this link sees this organization's spend"

pytestmark = pytest.mark.usefixtures("fresh_streamlit")


def public_warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if WARNING_TEXT in w.value]


def shows_no_data(at: AppTest) -> None:
    """Nothing from the usage table or the sidebar's data widgets was drawn in this run."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.metric and not at.dataframe
    assert not at.get("arrow_vega_lite_chart") and not at.get("download_button")
    assert not at.sidebar.selectbox and not at.sidebar.multiselect
    assert not at.sidebar.text_input, "the Connection settings were drawn"
    assert "_spend_view" not in at.session_state


def texts(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown) + " " + " ".join(c.value for c in at.caption)


# --- the public-link warning (no [auth]) ----------------------------------------------------------


def test_warning__key_in_secrets_without_sign_in(monkeypatch):
    monkeypatch.setenv("SPEND_SOURCE", "demo")  # the key stays unused; the warning is about it
    at = app(OPENAI_ADMIN_KEY=ADMIN_KEY)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(public_warnings(at)) == 1
    assert at.metric, "without sign-in the dashboard is still shown"


def test_warning__key_in_env_on_every_page(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", LEGACY_KEY)
    monkeypatch.setenv("SPEND_SOURCE", "demo")
    at = app()
    at.run()
    assert len(public_warnings(at)) == 1
    at.switch_page(RAW_DATA).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[-1].value == "Raw data"
    assert len(public_warnings(at)) == 1


def test_warning__admin_key_against_the_fake_server(fake_openai):
    fake_openai.reset(days=5)
    at = app(
        **admin_secrets(fake_openai),
    )
    at.run()
    assert len(public_warnings(at)) == 1


@pytest.mark.parametrize("where", ["env", "secrets"])
@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_warning__spend_public_silences_it(monkeypatch, where, value):
    monkeypatch.setenv("OPENAI_API_KEY", LEGACY_KEY)
    monkeypatch.setenv("SPEND_SOURCE", "demo")
    secrets = {}
    if where == "env":
        monkeypatch.setenv("SPEND_PUBLIC", value)
    else:
        secrets["SPEND_PUBLIC"] = value
    at = app(**secrets)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert public_warnings(at) == []
    assert at.metric


def test_warning__not_for_demo_data():
    at = app()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert public_warnings(at) == []
    assert at.metric


def test_warning__not_for_a_key_typed_in_the_sidebar():
    at = app()
    at.run()
    at.sidebar.text_input(key="api_key").input(LEGACY_KEY).run()
    assert at.sidebar.text_input(key="api_key").value == LEGACY_KEY
    assert public_warnings(at) == []


def test_warning__not_when_sign_in_is_configured(monkeypatch):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.setenv("SPEND_SOURCE", "demo")
    at = app(ANA, auth=AUTH, **ACCESS)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert public_warnings(at) == []
    assert at.metric


# --- sign-in and the allow-list -------------------------------------------------------------------


@pytest.mark.parametrize("user", [{}, {"is_logged_in": False}, {"email": "boss@acme.com"}])
def test_sign_in_page__before_sign_in_no_data(user):
    at = app(user, auth=AUTH, **ACCESS)
    at.run()
    shows_no_data(at)
    assert at.title[0].value == "OpenAI Spend"
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.sidebar.button


def test_sign_in_page__a_shared_sub_page_link_serves_nothing():
    at = app({}, auth=AUTH, **ACCESS)
    at.query_params["range"] = "last_7_days"
    at.query_params["model"] = "gpt-4o-2024-08-06"
    at.switch_page(RAW_DATA).run()
    shows_no_data(at)
    assert [t.value for t in at.title] == ["OpenAI Spend"]


def test_sign_in_page__one_button_per_named_provider():
    section = {
        "redirect_uri": AUTH["redirect_uri"],
        "cookie_secret": AUTH["cookie_secret"],
        "google": {"client_id": "g", "client_secret": "x", "server_metadata_url": "https://g"},
        "okta": {"client_id": "o", "client_secret": "y", "server_metadata_url": "https://o"},
    }
    at = app({}, auth=section, **ACCESS)
    at.run()
    shows_no_data(at)
    assert [b.label for b in at.button] == ["Sign in with Google", "Sign in with Okta"]


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        (
            {"is_logged_in": True, "email": "eve@evil.io", "email_verified": True},
            "not on this app's list",
        ),
        (
            {"is_logged_in": True, "email": "eve@acme.com.evil.io", "email_verified": True},
            "not on this app's list",
        ),
        (
            {"is_logged_in": True, "email": "eve@evilacme.com", "email_verified": True},
            "not on this app's list",
        ),
        (
            {"is_logged_in": True, "email": "ana@acme.com", "email_verified": False},
            "did not confirm that this e-mail address is verified",
        ),
        ({"is_logged_in": True, "email": "ana@acme.com"}, "did not confirm"),
        (
            {"is_logged_in": True, "email": "boss@acme.com", "email_verified": "false"},
            "did not confirm",
        ),
        ({"is_logged_in": True, "sub": "42", "name": "No Mail"}, "did not send an e-mail"),
    ],
)
def test_refused_page__who_you_are_a_sign_out_button_and_nothing_else(user, reason):
    at = app(user, auth=AUTH, **ACCESS)
    at.query_params["range"] = "last_7_days"
    at.run()
    shows_no_data(at)
    assert [t.value for t in at.title] == ["Not allowed"]
    shown = user.get("email") or user.get("name")
    assert "You are signed in as" in texts(at)
    assert f"` {shown} `" in texts(at)
    assert reason in texts(at)
    assert [b.label for b in at.button] == ["Sign out"]
    assert not at.sidebar.button and not at.sidebar.caption


def test_refused_page__nobody_is_allowed_without_an_allow_list():
    at = app(ANA, auth=AUTH)
    at.run()
    shows_no_data(at)
    assert "Nobody is allowed in yet" in texts(at)


def test_refused_page__sign_out_leads_back_to_the_sign_in_page():
    at = app({"is_logged_in": True, "email": "eve@evil.io", "email_verified": True}, auth=AUTH)
    at.run()
    at.button(key="sign_out_refused").click().run()
    assert at.user.get("is_logged_in") is False
    at.run()
    shows_no_data(at)
    assert [b.label for b in at.button] == ["Sign in"]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("[click](https://evil.io) **now**", "` [click](https://evil.io) **now** `"),
        (":material/lock: :red[Admin]", "` :material/lock: :red[Admin] `"),
        ("a`b", "`` a`b ``"),
        ("two\nlines", "` two lines `"),
    ],
)
def test_refused_page__a_name_is_shown_as_sent_never_as_markdown(name, shown):
    at = app({"is_logged_in": True, "sub": "x", "name": name}, auth=AUTH, **ACCESS)
    at.run()
    lines = [m.value for m in at.markdown if "signed in as" in m.value]
    assert lines == [f"You are signed in as {shown}."]


def test_misconfigured_allow_list__nobody_sees_data():
    at = app(ANA, auth=AUTH, SPEND_ALLOWED_DOMAINS="*.acme.com")
    at.run()
    shows_no_data(at)
    assert any("Sign-in is misconfigured" in e.value for e in at.error)
    assert not at.button


@pytest.mark.parametrize(
    ("user", "role"),
    [
        (ANA, "viewer"),
        (BOSS, "admin"),
        ({**ANA, "email": "Ana@ACME.com"}, "viewer"),
        ({"is_logged_in": True, "email": "partner@outside.io", "email_verified": True}, "viewer"),
    ],
)
def test_allowed__the_dashboard_with_who_is_signed_in(user, role):
    at = app(user, auth=AUTH, SPEND_ALLOWED_EMAILS="partner@outside.io", **ACCESS)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Overview"
    assert at.metric
    assert "_spend_view" in at.session_state
    assert any(f"` {user['email']} ` · {role}" in c.value for c in at.sidebar.caption)
    assert at.sidebar.button(key="sign_out").label == "Sign out"


def test_allowed__sign_out_from_the_sidebar():
    at = app(ANA, auth=AUTH, **ACCESS)
    at.run()
    at.sidebar.button(key="sign_out").click().run()
    shows_no_data(at)
    assert at.user.get("is_logged_in") is False
    at.run()
    shows_no_data(at)
    assert [b.label for b in at.button] == ["Sign in"]


# --- roles ----------------------------------------------------------------------------------------


def _roles_script():
    import streamlit as st

    from spend.ui import auth

    st.text(f"fetches={auth.can_control_fetches()} connection={auth.can_see_connection()}")


@pytest.mark.parametrize(
    ("user", "secrets", "expected"),
    [
        # without sign-in everyone is an admin, as before sign-in existed
        ({}, {}, "fetches=True connection=True"),
        (ANA, {}, "fetches=True connection=True"),
        (ANA, {"SPEND_ADMINS": "boss@acme.com"}, "fetches=True connection=True"),
        # with sign-in: only SPEND_ADMINS, verified
        (ANA, {"auth": AUTH, **ACCESS}, "fetches=False connection=False"),
        (BOSS, {"auth": AUTH, **ACCESS}, "fetches=True connection=True"),
        (
            {**BOSS, "email_verified": False},
            {"auth": AUTH, **ACCESS},
            "fetches=False connection=False",
        ),
        ({}, {"auth": AUTH, **ACCESS}, "fetches=False connection=False"),
        (BOSS, {"auth": AUTH, "SPEND_ADMINS": "not-an-address"}, "fetches=False connection=False"),
    ],
)
def test_roles__who_may_control_fetches_and_see_the_connection(user, secrets, expected):
    at = AppTest.from_function(_roles_script, default_timeout=TIMEOUT)
    at.user = dict(user)
    for name, value in secrets.items():
        at.secrets[name] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.text[0].value == expected


# --- roles on the app's key, against the fake OpenAI ------------------------------------------


def _on_the_apps_key(fake_openai, user) -> AppTest:
    at = app(
        user,
        auth=AUTH,
        **legacy_secrets(fake_openai),
        **ACCESS,
    )
    at.query_params["range"] = "last_7_days"
    at.run()
    for job in REGISTRY.jobs():
        assert job.wait(30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_roles__a_viewer_reads_what_is_stored_and_starts_no_fetch(fake_openai):
    fake_openai.reset(days=20)
    at = _on_the_apps_key(fake_openai, ANA)
    assert fake_openai.count() == 0 and not REGISTRY.jobs()
    assert any("Not fetched yet" in w.value for w in at.warning)
    labels = [b.label for b in at.sidebar.button]
    assert not any(label.startswith(("Fetch", "Refresh", "Stop")) for label in labels), labels


def test_roles__an_admin_fetches_and_gets_the_controls(fake_openai):
    fake_openai.reset(days=20)
    at = _on_the_apps_key(fake_openai, BOSS)
    assert fake_openai.count() > 0
    assert not any("Partial data" in w.value or "Not fetched" in w.value for w in at.warning)
    assert at.sidebar.button(key="refresh").label == "Refresh recent days"


def test_roles__after_an_admin_fetched_a_viewer_sees_the_same_figures(fake_openai):
    fake_openai.reset(days=20)
    admin = _on_the_apps_key(fake_openai, BOSS)
    sent = fake_openai.count()
    viewer = _on_the_apps_key(fake_openai, ANA)
    assert fake_openai.count() == sent  # the viewer asked OpenAI for nothing
    spend = [a.session_state["_spend_view"].frame["n_requests"].sum() for a in (admin, viewer)]
    assert spend[0] == spend[1] > 0
