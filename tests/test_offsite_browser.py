"""No request leaves the app's host (issue 18, item 10): chromium against ``streamlit run`` on
loopback records every request each page makes (``context.on("request")``).

A ``:material/...:`` page icon made every page load fetch an SVG from fonts.gstatic.com; the tab's
icon is now ``assets/icon.svg`` as a data: URL. The navigation's and alerts' material icons are
drawn with the Material Symbols font Streamlit bundles and serves itself, which this proves too.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

from tests import browser_support as bs

TIMEOUT_MS = 30_000
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
#: Every page of the frame by its own link, as a shared link opens it.
PATHS = ("/", "/models", "/users", "/projects", "/teams", "/budgets", "/raw-data?range=last_7_days")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

browser_test = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("offsite-app")
    env = bs.clean_env(os.environ, SPEND_CACHE_DIR=str(tmp / "cache"))
    proc, url = bs.start_streamlit(env, tmp / "streamlit.log")
    yield url
    bs.stop(proc)


def off_host(urls: list[str]) -> list[str]:
    """Requested URLs into those that leave loopback, e.g. a fonts.gstatic.com icon (data: and
    blob: URLs are no request to anyone)."""
    out = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob"):
            continue
        if parts.hostname not in LOOPBACK:
            out.append(url)
    return out


@browser_test
def test_every_page__requests_only_the_apps_own_host(browser, demo_app):
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    try:
        for path in PATHS:
            page.goto(bs.page_url(demo_app, path))
            page.locator("h1").first.wait_for()
            page.wait_for_selector(IDLE, state="attached")
            page.locator('[data-testid="stSidebarNav"]').wait_for()
            # the tab's icon is the app's own SVG, inline
            icon = page.locator("link[rel~='icon']").first.get_attribute("href") or ""
            assert icon.startswith("data:image/svg+xml"), icon[:80]
            # the navigation keeps its material icons, drawn by the bundled font
            nav_icons = page.locator('[data-testid="stSidebarNav"] [data-testid="stIconMaterial"]')
            assert nav_icons.count() == len(PATHS)
            page.wait_for_function("document.fonts.status === 'loaded'")
        assert len(requested) > 10
        assert off_host(requested) == []
        fonts = [u for u in requested if "MaterialSymbols" in u]
        assert fonts and all(u.startswith(demo_app) for u in fonts)
    finally:
        context.close()


@pytest.mark.parametrize(
    ("urls", "expected"),
    [
        (["http://127.0.0.1:8501/", "http://localhost:8501/_stcore/health"], []),
        (["data:image/svg+xml;base64,PHN2Zz4=", "blob:http://127.0.0.1:1/x"], []),
        (
            [
                "http://127.0.0.1:8501/",
                "https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/payments/"
                "default/24px.svg",
            ],
            [
                "https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/payments/"
                "default/24px.svg"
            ],
        ),
        (["http://127.0.0.1.evil.io/"], ["http://127.0.0.1.evil.io/"]),
    ],
)
def test_off_host__what_leaves_loopback(urls, expected):
    assert off_host(urls) == expected
