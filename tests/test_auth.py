"""Sign-in, the allow-list, roles and the public-link warning, under ``AppTest``.

``AppTest.user`` is what a run reads as ``st.user`` (``spend.ui.auth.user_claims`` reads it through
``st.user.to_dict()``), and ``AppTest.secrets`` is what it reads as ``st.secrets``, so an ``[auth]``
section there turns sign-in on without a real identity provider. The sign-in round trip itself
(``st.login`` against an identity provider) is in ``tests/test_auth_browser.py``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

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
        # KELVIN SIGN is not "k": a look-alike of the admin kboss@acme.com is a viewer
        (
            {**BOSS, "email": "\u212aboss@acme.com"},
            {"auth": AUTH, **ACCESS, "SPEND_ADMINS": "kboss@acme.com"},
            "fetches=False connection=False",
        ),
        (
            {**BOSS, "email": "KBoss@acme.com"},
            {"auth": AUTH, **ACCESS, "SPEND_ADMINS": "kboss@acme.com"},
            "fetches=True connection=True",
        ),
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


# --- failing closed: a secrets file or [auth] that cannot be trusted serves nobody ---------------

MISCONFIGURED = "Sign-in is misconfigured, so this app shows nothing:"
#: Secrets that may never reach the page (a file's access entries neither: ``FILE_VALUES``).
SECRET_VALUES = (AUTH["cookie_secret"], AUTH["client_secret"], LEGACY_KEY)
FILE_VALUES = (*SECRET_VALUES, "boss@acme.com", "acme.com")


def _toml(values: dict) -> str:
    from tests.browser_support import toml_text

    return toml_text(values)


GOOD_FILE = _toml({**ACCESS, "auth": AUTH})
BROKEN_FILES = {
    # the failure the issue found: an unbalanced quote in one access setting
    "unbalanced quote": GOOD_FILE.replace('"boss@acme.com"', '"boss@acme.com'),
    "unclosed array": GOOD_FILE.replace('"boss@acme.com"', '["boss@acme.com"'),
    "value without quotes": GOOD_FILE.replace('"acme.com"', "acme.com"),
    "table twice": GOOD_FILE + "\n[auth]\n",
    "quote in [auth]": GOOD_FILE.replace(f'"{AUTH["cookie_secret"]}"', f"'{AUTH['cookie_secret']}"),
}


def _error_lines(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _assert_serves_nobody(at: AppTest, *problem: str, hidden=SECRET_VALUES) -> str:
    """No data, no sign-in button, and exactly one error line that names the problem."""
    shows_no_data(at)
    assert not at.button and not at.title
    lines = _error_lines(at)
    assert len(lines) == 1 and lines[0].startswith(MISCONFIGURED), lines
    assert "\n" not in lines[0]
    for part in problem:
        assert part in lines[0], lines[0]
    page = lines[0] + texts(at) + " ".join(w.value for w in at.warning)
    for value in hidden:
        assert value not in page
    return lines[0]


@pytest.fixture
def secrets_file(tmp_path, monkeypatch):
    """Text or bytes (or a folder) into ``st.secrets`` read from that path, as ``streamlit run
    --secrets.files`` would: a fresh ``Secrets``, so nothing read before is cached."""
    import streamlit
    from streamlit.runtime.secrets import Secrets
    from streamlit.testing.v1.util import patch_config_options

    def use(content: str | bytes | Path) -> Path:
        path = content if isinstance(content, Path) else tmp_path / "secrets.toml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content)
        stack.enter_context(patch_config_options({"secrets.files": [str(path)]}))
        monkeypatch.setattr(streamlit, "secrets", Secrets())
        return path

    with contextlib.ExitStack() as stack:
        yield use


def _apps_key_in_env(monkeypatch, fake_openai) -> None:
    """The app's key and the fake server in the environment: a page that fails open fetches."""
    monkeypatch.setenv("OPENAI_API_KEY", LEGACY_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-test")
    monkeypatch.setenv("SPEND_RATE_LIMIT_PER_MIN", "60000")


@pytest.mark.parametrize("broken", sorted(BROKEN_FILES))
@pytest.mark.parametrize("user", [{}, BOSS])
def test_fail_closed__a_secrets_file_that_does_not_parse_serves_nobody(
    fake_openai, monkeypatch, secrets_file, broken, user
):
    fake_openai.reset(days=5)
    _apps_key_in_env(monkeypatch, fake_openai)
    secrets_file(BROKEN_FILES[broken])
    at = app(user)
    at.query_params["range"] = "last_7_days"
    at.run()
    line = _assert_serves_nobody(
        at, "the secrets file cannot be read: it is not valid TOML", hidden=FILE_VALUES
    )
    assert " line " in line or "end of document" in line
    at.switch_page(RAW_DATA).run()  # a shared link to a sub-page: the same line, nothing else
    _assert_serves_nobody(at, "not valid TOML", hidden=FILE_VALUES)
    for job in REGISTRY.jobs():
        job.wait(10)
    assert fake_openai.count() == 0 and not REGISTRY.jobs()


def test_fail_closed__the_line_says_where_the_bad_line_is(secrets_file):
    secrets_file(BROKEN_FILES["unbalanced quote"])
    at = app()
    at.run()
    line = GOOD_FILE.splitlines().index('SPEND_ADMINS = "boss@acme.com"') + 1
    _assert_serves_nobody(at, f"(Illegal character at line {line}, column")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (GOOD_FILE.encode() + b"\nX = '\xff\xfe'\n", "it is not UTF-8 text"),
        (GOOD_FILE.encode("utf-16"), "it is not UTF-8 text"),
    ],
)
def test_fail_closed__a_secrets_file_that_is_not_text_serves_nobody(secrets_file, content, problem):
    secrets_file(content)
    at = app()
    at.run()
    _assert_serves_nobody(at, problem)


def test_fail_closed__a_secrets_folder_with_a_stray_file_serves_nobody(tmp_path, secrets_file):
    folder = tmp_path / "mounted"
    folder.mkdir()
    (folder / "SPEND_ADMINS").write_text("boss@acme.com")  # a file where a folder belongs
    secrets_file(folder)
    at = app()
    at.run()
    _assert_serves_nobody(at, "a secrets folder holds a file where a folder belongs")


def test_fail_closed__a_file_that_parses_without_auth_runs_as_today(
    fake_openai, monkeypatch, secrets_file
):
    fake_openai.reset(days=5)
    _apps_key_in_env(monkeypatch, fake_openai)
    secrets_file(_toml({"SPEND_SOURCE": "demo"}))
    at = app()
    at.run()
    assert not at.exception and not at.error, _error_lines(at)
    assert len(public_warnings(at)) == 1
    assert at.metric


def test_fail_closed__no_secrets_file_at_all_runs_as_today(tmp_path, monkeypatch, secrets_file):
    monkeypatch.setenv("OPENAI_API_KEY", LEGACY_KEY)
    monkeypatch.setenv("SPEND_SOURCE", "demo")
    secrets_file(tmp_path / "absent" / "secrets.toml")  # Streamlit: "no-secrets-found"
    at = app()
    at.run()
    assert not at.exception and not at.error, _error_lines(at)
    assert len(public_warnings(at)) == 1 and at.metric


def test_fail_closed__fixing_the_file_is_enough_no_restart(secrets_file):
    path = secrets_file(BROKEN_FILES["unbalanced quote"])
    at = app(BOSS)
    at.run()
    _assert_serves_nobody(at, "not valid TOML", hidden=FILE_VALUES)
    path.write_text(GOOD_FILE)  # the same server, the same Secrets: the next run reads it again
    at.run()
    assert not at.error and not at.exception
    assert at.title[0].value == "Overview" and at.metric


def test_fail_closed__a_good_file_with_auth_is_the_sign_in_page(secrets_file):
    secrets_file(GOOD_FILE)
    at = app()
    at.run()
    shows_no_data(at)
    assert [b.label for b in at.button] == ["Sign in"] and not at.error


PROVIDER = {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}
TOP = {k: AUTH[k] for k in ("redirect_uri", "cookie_secret")}


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({**PROVIDER, "redirect_uri": AUTH["redirect_uri"]}, "[auth] has no cookie_secret"),
        ({**PROVIDER, "cookie_secret": AUTH["cookie_secret"]}, "[auth] has no redirect_uri"),
        (PROVIDER, "[auth] has no redirect_uri, cookie_secret"),
        ({**AUTH, "cookie_secret": "  "}, "[auth] has no cookie_secret"),
        ({**AUTH, "client_secret": ""}, "[auth] has no client_secret"),
        (TOP, "[auth] has no client_id, client_secret, server_metadata_url"),
        ({**AUTH, "server_metadata_url": None}, "[auth] has no server_metadata_url"),
        (
            {**TOP, "okta": {"client_id": "o", "client_secret": AUTH["client_secret"]}},
            "[auth.okta] has no server_metadata_url",
        ),
        (
            {**TOP, "okta": PROVIDER, "google": {"client_secret": AUTH["client_secret"]}},
            "[auth.google] has no client_id",
        ),
        ({**TOP, "my_idp": PROVIDER}, "[auth.my_idp]: Streamlit refuses a provider name"),
        ({**AUTH, "expose_tokens": ["id", "refresh"]}, "expose_tokens may only name"),
        ("yes", "[auth] in secrets is not a table"),
    ],
)
def test_fail_closed__an_auth_section_streamlit_refuses_serves_nobody(
    monkeypatch, section, problem
):
    monkeypatch.setenv("OPENAI_API_KEY", LEGACY_KEY)
    monkeypatch.setenv("SPEND_SOURCE", "demo")  # a page that fails open shows the demo's figures
    at = app(BOSS, auth=section, **ACCESS)
    at.run()
    _assert_serves_nobody(at, problem)


@pytest.mark.parametrize(
    ("secrets", "problem"),
    [
        ({"SPEND_ADMINS": "boss@acme.com, root"}, "SPEND_ADMINS: 'root' is not an e-mail"),
        ({"SPEND_ALLOWED_DOMAINS": ["acme.com", "*.acme.com"]}, "no wildcards"),
        ({"SPEND_ALLOWED_EMAILS": 42}, "comma-separated"),
        ({"SPEND_PUBLIC": "sometimes"}, "SPEND_PUBLIC must be true or false"),
    ],
)
@pytest.mark.parametrize("with_auth", [True, False])
def test_fail_closed__an_access_setting_not_understood_serves_nobody(
    fake_openai, monkeypatch, secrets, problem, with_auth
):
    fake_openai.reset(days=5)
    _apps_key_in_env(monkeypatch, fake_openai)
    extra = {"auth": AUTH} if with_auth else {}
    at = app(BOSS, **extra, **secrets)
    at.run()
    _assert_serves_nobody(at, problem)
    assert fake_openai.count() == 0 and not REGISTRY.jobs()


@pytest.mark.parametrize(("value", "warned"), [(True, False), (False, True), (1, False)])
def test_spend_public__a_toml_bool_or_number_is_understood(monkeypatch, value, warned):
    monkeypatch.setenv("SPEND_SOURCE", "demo")
    at = app(OPENAI_API_KEY=LEGACY_KEY, SPEND_PUBLIC=value)
    at.run()
    assert not at.exception and not at.error, _error_lines(at)
    assert bool(public_warnings(at)) is warned


# --- [auth] as Streamlit's own sign-in checks it ------------------------------------------------


def _streamlit_refuses(tmp_path, monkeypatch, section: object) -> bool:
    """Whether Streamlit's ``st.login`` would refuse ``[auth]`` for a provider the page offers."""
    from streamlit import auth_util
    from streamlit.errors import StreamlitAuthError
    from streamlit.runtime.secrets import Secrets
    from streamlit.testing.v1.util import patch_config_options

    from spend.access import sign_in_providers

    path = tmp_path / "auth.toml"
    path.write_text(
        _toml({"auth": section}) if isinstance(section, dict) else f"auth = {section!r}"
    )
    with patch_config_options({"secrets.files": [str(path)]}):
        monkeypatch.setattr(auth_util, "secrets_singleton", Secrets())
        try:
            for provider in sign_in_providers(section):
                auth_util.validate_auth_credentials(provider or "default")
                if isinstance(section, dict) and section.get("expose_tokens") is not None:
                    auth_util.get_expose_tokens_config()
        except StreamlitAuthError:
            return True
    return False


@pytest.mark.parametrize(
    ("section", "refused"),
    [
        (AUTH, False),
        ({**TOP, "okta": PROVIDER, "google": PROVIDER}, False),
        ({**AUTH, "client_kwargs": {"prompt": "login"}, "expose_tokens": "id"}, False),
        ({**PROVIDER, "redirect_uri": AUTH["redirect_uri"]}, True),
        ({**PROVIDER, "cookie_secret": AUTH["cookie_secret"]}, True),
        (TOP, True),
        ({**TOP, "client_id": "c"}, True),
        ({**TOP, "okta": {"client_id": "o", "client_secret": "x"}}, True),
        ({**TOP, "my_idp": PROVIDER}, True),
        ({**AUTH, "expose_tokens": ["id", "refresh"]}, True),
        ("yes", True),
    ],
)
def test_auth_problem__refuses_what_streamlit_refuses(tmp_path, monkeypatch, section, refused):
    from spend.access import auth_problem

    assert _streamlit_refuses(tmp_path, monkeypatch, section) is refused
    assert (auth_problem(section) is not None) is refused
