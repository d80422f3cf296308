"""Sign-in in a real browser: chromium, ``streamlit run`` and a fake identity provider on loopback.

Fixture roles:

- ``browser`` (module, ``conftest.py``): one headless chromium at /usr/bin/chromium (skipped when
  missing, a failure when ``SPEND_REQUIRE_BROWSER=1`` was set at import time).
- ``idp`` (module): ``oidc-provider-mock`` on 127.0.0.1 with the users in ``USERS``; its authorize
  page signs in whichever ``sub`` is typed, with that user's claims in the ID token.
- ``signed_app`` (module): ``streamlit run streamlit_app.py`` on demo data, with a secrets file of
  its own (``--secrets.files``, never the repository's ``.streamlit/secrets.toml``) holding
  ``[auth]`` for the fake provider, ``SPEND_ALLOWED_DOMAINS = "acme.com"`` and
  ``SPEND_ADMINS = "boss@acme.com"``.
- ``page`` (function): a fresh browser context (no cookies: signed out), offline but for loopback.

Screenshots of the sign-in and refused pages go to the test's tmp folder, and to
docs/screenshots/ too when ``SPEND_UPDATE_SCREENSHOTS=1`` was set at import time.
"""

from __future__ import annotations

import os
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from tests import browser_support as bs

UPDATE_SCREENSHOTS = os.environ.get("SPEND_UPDATE_SCREENSHOTS") == "1"
DOC_SCREENSHOTS = bs.ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 30_000

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SIDEBAR = '[data-testid="stSidebar"]'
CHART = '[data-testid="stVegaLiteChart"]'
DRAWN_CHART = ".vega-embed canvas, .vega-embed svg"
DATA_ELEMENTS = (
    CHART,
    '[data-testid="stDataFrame"]',
    '[data-testid="stMetric"]',
    '[data-testid="stDownloadButton"]',
    '[data-testid="stSidebarNav"]',
    '[data-testid="stExpander"]',
)
EXCEPTION = '[data-testid="stException"]'
#: Every request that is not to loopback is refused (the provider's page links a CDN stylesheet).
NOT_LOOPBACK = re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*")

#: The fake provider's users: sub -> claims (the e-mail, and whether the provider verified it).
USERS = {
    "ana": {"email": "ana@acme.com", "email_verified": True, "name": "Ana Lima"},
    "boss": {"email": "boss@acme.com", "email_verified": True, "name": "Bo Ss"},
    "eve": {"email": "eve@evil.io", "email_verified": True, "name": "Eve"},
    "unverified": {"email": "mallory@acme.com", "email_verified": False, "name": "Mallory"},
    "lookalike": {"email": "ana@acme.com.evil.io", "email_verified": True, "name": "Ana Lima"},
    "prefixed": {"email": "ana@evilacme.com", "email_verified": True, "name": "Ana Lima"},
}
ACCESS = {"SPEND_ALLOWED_DOMAINS": "acme.com", "SPEND_ADMINS": "boss@acme.com"}

browser_test = pytest.mark.browser


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("idp")
    users = [{"sub": sub, **claims} for sub, claims in USERS.items()]
    proc, url = bs.start_oidc_provider(bs.clean_env(os.environ), tmp / "idp.log", users)
    yield url
    bs.stop(proc)


@pytest.fixture(scope="module")
def signed_app(tmp_path_factory, idp):
    tmp = tmp_path_factory.mktemp("signed-app")
    port = bs.free_port()
    app_url = f"http://127.0.0.1:{port}"
    secrets = bs.write_secrets(
        tmp / "secrets.toml", {**ACCESS, "auth": bs.auth_section(app_url, idp)}
    )
    env = bs.clean_env(os.environ, SPEND_CACHE_DIR=str(tmp / "cache"))
    proc, url = bs.start_streamlit(
        env, tmp / "streamlit.log", "--secrets.files", str(secrets), port=port
    )
    yield url
    bs.stop(proc)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    context.route(NOT_LOOPBACK, lambda route: route.abort())
    tab = context.new_page()
    yield tab
    context.close()


def wait_heading(tab, text: str) -> None:
    """Wait until the page's h1 reads ``text`` and the script has finished its run."""
    tab.locator("h1", has_text=text).first.wait_for()
    tab.wait_for_selector(IDLE, state="attached")


def sign_in(tab, app_url: str, sub: str, path: str = "/") -> None:
    """Open the app signed out, press Sign in, and authorize ``sub`` at the fake provider."""
    tab.goto(bs.page_url(app_url, path))
    wait_heading(tab, "OpenAI Spend")
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(re.compile(r".*/oauth2/authorize\?.*"))
    tab.get_by_placeholder("sub").fill(sub)
    tab.get_by_role("button", name="Authorize", exact=True).click()
    tab.wait_for_url(re.compile(re.escape(app_url) + r"/(\?.*)?$"))


def assert_no_data(tab) -> None:
    """No chart, table, metric, CSV button, page link, expander or sidebar filter is on the page."""
    for selector in DATA_ELEMENTS:
        assert tab.locator(selector).count() == 0, f"{selector} is drawn"
    body = tab.locator("body").inner_text()
    for text in ("Date range", "Demo data", "Spend (estimated)", "Raw data", "Overview"):
        assert text not in body, f"{text!r} is on the page"
    exceptions = tab.locator(EXCEPTION)
    assert exceptions.count() == 0, exceptions.first.inner_text()


def screenshot(tab, tmp_path: Path, name: str) -> Path:
    """The page as a PNG in the test's tmp folder (and in docs/screenshots/ when asked to)."""
    tab.wait_for_timeout(300)  # let the last elements of the run settle before the picture
    path = tmp_path / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True, animations="disabled")
    if UPDATE_SCREENSHOTS:
        DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOC_SCREENSHOTS / f"{name}.png")
    return path


def assert_dashboard(tab, email: str, role: str) -> None:
    """The overview with its charts drawn, and who is signed in (and as what) in the sidebar."""
    wait_heading(tab, "Overview")
    tab.wait_for_function(
        """([box, drawn]) => { const b = [...document.querySelectorAll(box)];
        return b.length > 0 && b.every(x => x.querySelector(drawn)); }""",
        arg=[CHART, DRAWN_CHART],
    )
    sidebar = tab.locator(SIDEBAR, has_text="Date range")
    sidebar.wait_for()
    assert f"{email} · {role}" in sidebar.inner_text()
    assert tab.locator('[data-testid="stMetric"]').count() >= 3
    assert tab.locator(EXCEPTION).count() == 0


def connection_expanders(tab) -> int:
    """How many sidebar expanders are titled exactly "Connection" (the connection settings)."""
    titles = tab.locator(SIDEBAR).locator('[data-testid="stExpander"] summary')
    return titles.get_by_text("Connection", exact=True).count()


# --- the cases ------------------------------------------------------------------------------------


@browser_test
@pytest.mark.parametrize(
    "path",
    ["/", "/raw-data?range=last_7_days&model=gpt-4o-2024-08-06", "/models", "/users?user=x"],
)
def test_signed_out__the_sign_in_page_and_no_data(page, signed_app, tmp_path, path):
    page.goto(bs.page_url(signed_app, path))
    wait_heading(page, "OpenAI Spend")
    page.get_by_role("button", name="Sign in").wait_for()  # the page's last element is drawn
    assert page.get_by_role("button", name="Sign in").count() == 1
    assert_no_data(page)
    if path == "/":
        assert screenshot(page, tmp_path, "sign-in").stat().st_size > 5_000


@browser_test
def test_allowed__the_dashboard_and_a_shared_sub_page_link(page, signed_app):
    sign_in(page, signed_app, "ana")
    assert_dashboard(page, "ana@acme.com", "viewer")
    page.goto(bs.page_url(signed_app, "/raw-data", {"range": "last_7_days"}))
    wait_heading(page, "Raw data")
    page.locator('[data-testid="stDataFrame"] canvas').first.wait_for()
    assert page.locator('[data-testid="stDownloadButton"]').count() == 1
    assert bs.query_values(page.url, "range") == ["last_7_days"]


@browser_test
@pytest.mark.parametrize(
    ("sub", "reason"),
    [
        ("eve", "not on this app's list"),
        ("unverified", "did not confirm that this e-mail address is verified"),
        ("lookalike", "not on this app's list"),
        ("prefixed", "not on this app's list"),
    ],
)
def test_not_allowed__the_refused_page_only(page, signed_app, tmp_path, sub, reason):
    sign_in(page, signed_app, sub, "/raw-data?range=last_7_days")
    wait_heading(page, "Not allowed")
    page.get_by_role("button", name="Sign out").wait_for()  # the page's last element is drawn
    body = page.locator("body").inner_text()
    assert f"You are signed in as {USERS[sub]['email']}." in body
    assert reason in body
    assert page.get_by_role("button", name="Sign out").count() == 1
    assert_no_data(page)
    # a shared link to a sub-page serves nothing either
    page.goto(bs.page_url(signed_app, "/raw-data", {"range": "last_7_days"}))
    wait_heading(page, "Not allowed")
    page.get_by_role("button", name="Sign out").wait_for()
    assert_no_data(page)
    if sub == "lookalike":
        assert screenshot(page, tmp_path, "refused").stat().st_size > 5_000


@browser_test
def test_roles__a_viewer_has_no_connection_settings_an_admin_has(page, signed_app):
    sign_in(page, signed_app, "ana")
    assert_dashboard(page, "ana@acme.com", "viewer")
    assert connection_expanders(page) == 0
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/oauth2/end_session.*"))
    page.get_by_role("button", name="End session").click()
    wait_heading(page, "OpenAI Spend")
    sign_in(page, signed_app, "boss")
    assert_dashboard(page, "boss@acme.com", "admin")
    assert connection_expanders(page) == 1


@browser_test
def test_sign_out__back_to_the_sign_in_page_and_it_stays_there(page, signed_app):
    sign_in(page, signed_app, "ana")
    assert_dashboard(page, "ana@acme.com", "viewer")
    assert any(c["name"].startswith("_streamlit_user") for c in page.context.cookies())
    page.get_by_role("button", name="Sign out").click()
    # Streamlit ends the provider's session too (its end_session endpoint), then comes back.
    page.wait_for_url(re.compile(r".*/oauth2/end_session.*"))
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(re.compile(re.escape(signed_app) + r"/(\?.*)?$"))
    wait_heading(page, "OpenAI Spend")
    page.get_by_role("button", name="Sign in").wait_for()
    assert_no_data(page)
    assert not any(c["name"].startswith("_streamlit_user") for c in page.context.cookies())
    page.goto(bs.page_url(signed_app, "/", {"range": "last_7_days"}))
    wait_heading(page, "OpenAI Spend")
    page.get_by_role("button", name="Sign in").wait_for()  # the page's last element is drawn
    assert page.get_by_role("button", name="Sign in").count() == 1
    assert_no_data(page)


@pytest.fixture(scope="module")
def broken_app(tmp_path_factory):
    """``streamlit run`` on demo data with a secrets file that holds ``[auth]`` and the allow-list
    but has one unbalanced quote: before failing closed, it ran without sign-in for everyone."""
    tmp = tmp_path_factory.mktemp("broken-app")
    good = bs.toml_text(
        {**ACCESS, "auth": bs.auth_section("http://127.0.0.1:9", "http://127.0.0.1:9")}
    )
    path = tmp / "secrets.toml"
    path.write_text(good.replace('"boss@acme.com"', '"boss@acme.com'))
    path.chmod(0o600)
    env = bs.clean_env(os.environ, SPEND_CACHE_DIR=str(tmp / "cache"), SPEND_SOURCE="demo")
    proc, url = bs.start_streamlit(env, tmp / "streamlit.log", "--secrets.files", str(path))
    yield url
    bs.stop(proc)


@browser_test
@pytest.mark.parametrize("path", ["/", "/raw-data?range=last_7_days", "/users?user=x"])
def test_broken_secrets__one_line_and_nothing_else(page, broken_app, tmp_path, path):
    page.goto(bs.page_url(broken_app, path))
    alert = page.locator('[data-testid="stAlert"]', has_text="Sign-in is misconfigured")
    alert.wait_for()
    page.wait_for_selector(IDLE, state="attached")
    text = alert.locator('[data-testid="stMarkdownContainer"]').inner_text().strip()
    assert "the secrets file cannot be read: it is not valid TOML" in text
    assert len(text.splitlines()) == 1, text
    assert page.locator('[data-testid="stAlert"]').count() == 1
    assert page.get_by_role("button").filter(has_text="Sign in").count() == 0
    assert_no_data(page)
    body = page.locator("body").inner_text()
    for value in ("boss@acme.com", "acme.com", "browser-test-cookie-secret", "openai-spend-test"):
        assert value not in body
    if path == "/":
        assert screenshot(page, tmp_path, "misconfigured").stat().st_size > 3_000


# --- a shared deploy with nobody on duty ---------------------------------------------------------


@pytest.fixture(scope="module")
def unattended_app(tmp_path_factory, idp):
    """``streamlit run streamlit_app.py`` with the app's own admin key (the fake OpenAI server),
    sign-in and ``SPEND_ALLOWED_DOMAINS``, no ``SPEND_ADMINS``, and a fresh cache: as a new user
    deploys it and forgets to name admins."""
    from tests.fake_openai import ADMIN_KEY

    tmp = tmp_path_factory.mktemp("unattended-app")
    fake, fake_url = bs.start_fake_openai(
        bs.clean_env(os.environ), "--days", "70", "--users", "3", "--seed", "3"
    )
    try:
        port = bs.free_port()
        app_url = f"http://127.0.0.1:{port}"
        secrets = bs.write_secrets(
            tmp / "secrets.toml",
            {"SPEND_ALLOWED_DOMAINS": "acme.com", "auth": bs.auth_section(app_url, idp)},
        )
        env = bs.clean_env(
            os.environ,
            OPENAI_ADMIN_KEY=ADMIN_KEY,
            OPENAI_BASE_URL=fake_url,
            SPEND_RATE_LIMIT_PER_MIN="6000",
            SPEND_CACHE_DIR=str(tmp / "cache"),
        )
        proc, url = bs.start_streamlit(
            env, tmp / "streamlit.log", "--secrets.files", str(secrets), port=port
        )
        yield url
        bs.stop(proc)
    finally:
        bs.stop(fake)


@browser_test
def test_unattended__a_viewer_sees_the_default_views_figures_without_clicking(
    page, unattended_app, tmp_path
):
    """Nobody may fetch (a viewer, no admin named), yet the server's refresher fetched the
    default view's days by itself: figures, no "Not fetched yet", and the sidebar tells the
    deployer how to name admins; the viewer has no Fetch button."""
    sign_in(page, unattended_app, "ana")
    wait_heading(page, "Overview")
    # the refresher may still be fetching when the page first draws: the page redraws itself
    page.wait_for_function(
        """() => { const t = document.body.innerText;
        return !t.includes("Not fetched yet") && !t.includes("Partial data")
            && document.querySelectorAll('[data-testid="stMetric"]').length >= 3; }""",
        timeout=90_000,
    )
    assert_dashboard(page, "ana@acme.com", "viewer")
    metrics = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert any(re.search(r"\$[1-9]", value) for value in metrics), metrics
    sidebar = page.locator(SIDEBAR).inner_text()
    assert "SPEND_ADMINS" in sidebar
    assert page.get_by_role("button", name=re.compile("^Fetch")).count() == 0
    assert screenshot(page, tmp_path, "unattended").stat().st_size > 5_000


# --- the helpers, without a browser ---------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"SPEND_ALLOWED_DOMAINS": "acme.com", "SPEND_PUBLIC": True, "N": 5},
        {"SPEND_ADMINS": ["a@x.io", "b@y.io"], "Q": 'say "hi"\\ now\nplease'},
        {"A": 1, "auth": {"redirect_uri": "http://h/oauth2callback", "google": {"client_id": "c"}}},
        {"auth": {"client_kwargs": {"prompt": "login"}, "cookie_secret": "s"}},
    ],
)
def test_toml_text__round_trips_through_tomllib(values):
    assert tomllib.loads(bs.toml_text(values)) == values


def test_toml_value__refuses_what_it_cannot_write():
    with pytest.raises(TypeError, match="no TOML form for NoneType"):
        bs.toml_value(None)


def test_write_secrets__owner_only(tmp_path):
    path = bs.write_secrets(tmp_path / "secrets.toml", {"auth": {"client_id": "c"}})
    assert path.stat().st_mode & 0o777 == 0o600
    assert tomllib.loads(path.read_text()) == {"auth": {"client_id": "c"}}


@pytest.mark.parametrize(
    ("app_url", "idp_url", "redirect", "metadata"),
    [
        (
            "http://127.0.0.1:8501",
            "http://127.0.0.1:9400",
            "http://127.0.0.1:8501/oauth2callback",
            "http://127.0.0.1:9400/.well-known/openid-configuration",
        ),
        (
            "https://spend.example.com/",
            "https://idp.example.com/",
            "https://spend.example.com/oauth2callback",
            "https://idp.example.com/.well-known/openid-configuration",
        ),
    ],
)
def test_auth_section__redirect_and_metadata_urls(app_url, idp_url, redirect, metadata):
    section = bs.auth_section(app_url, idp_url, expose_tokens="id")
    assert section["redirect_uri"] == redirect
    assert section["server_metadata_url"] == metadata
    assert section["expose_tokens"] == "id"
    assert {"cookie_secret", "client_id", "client_secret"} <= set(section)


def test_browser_unavailable__names_a_missing_chromium(tmp_path):
    reason = bs.browser_unavailable(str(tmp_path / "no-chromium"))
    assert reason is not None and "no-chromium is missing" in reason
