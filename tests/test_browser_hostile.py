"""Issue 10 in a real browser: names from the API that are Markdown for a link and for an image
(a "beacon" on 127.0.0.1:9) render as text on every page, and the browser never asks for them.

``AppTest`` (``tests/test_ui_safety.py``) checks the Markdown each page sends; this checks what
chromium makes of it: no ``<a>`` to the link, no ``<img>`` of the beacon, no request to either.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import browser_support as bs
from tests.fake_openai import ADMIN_KEY
from tests.test_layout import registered_pages

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile-app")
    env = bs.clean_env(os.environ)
    fake, fake_url = bs.start_fake_openai(
        env, "--days", "40", "--users", "4", "--seed", "1", "--hostile-names"
    )
    try:
        app_env = bs.clean_env(
            os.environ,
            OPENAI_ADMIN_KEY=ADMIN_KEY,
            OPENAI_BASE_URL=fake_url,
            SPEND_RATE_LIMIT_PER_MIN="6000",
            SPEND_CACHE_DIR=str(tmp / "cache"),
            SPEND_PUBLIC="true",
        )
        proc, url = bs.start_streamlit(app_env, tmp / "streamlit.log")
        yield url
        bs.stop(proc)
    finally:
        bs.stop(fake)


def _url_path(page_file: str) -> str:
    name = Path(page_file).stem
    return "/" if name == "overview" else "/" + name.replace("_", "-")


def test_browser__hostile_names_render_as_text_and_fetch_nothing(browser, hostile_app):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    asked: list[str] = []
    tab.on("request", lambda request: asked.append(request.url))
    try:
        for page_file, title in registered_pages().items():
            tab.goto(bs.page_url(hostile_app, _url_path(page_file), {"range": "last_30_days"}))
            tab.locator("h1").first.wait_for(timeout=TIMEOUT_MS)
            tab.wait_for_selector(IDLE, state="attached", timeout=TIMEOUT_MS)
            tab.wait_for_timeout(1500)  # charts and a fragment's rerun settle
            assert tab.locator(EXCEPTION).count() == 0, title
            links = tab.locator('a[href*="evil.example"]')
            where = [
                links.nth(i).evaluate(
                    "e => [e.outerHTML, e.closest('[data-testid]')?.getAttribute('data-testid'),"
                    " e.closest('[data-testid]')?.parentElement?.closest('[data-testid]')"
                    "?.getAttribute('data-testid')]"
                )
                for i in range(links.count())
            ]
            assert not where, (title, where)
            assert tab.locator('img[src*="beacon"], img[src*="127.0.0.1:9"]').count() == 0, title
            if page_file.endswith("overview.py"):
                # the hostile model is unpriced: the warning lists it, as the text it is
                warning = tab.locator('[data-testid="stAlertContentWarning"]', has_text="no known")
                assert "[x](https://evil.example)" in warning.first.inner_text()
    finally:
        context.close()
    assert not [u for u in asked if "127.0.0.1:9/" in u or "evil.example" in u], asked
