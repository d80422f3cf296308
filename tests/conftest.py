"""Shared fixtures.

- ``fake_openai_server`` (session) and ``fake_openai`` (per test, reset before and after): one fake
  OpenAI server on 127.0.0.1 for the whole suite, from ``tests/fake_openai.py`` (registered below
  as a plugin, so every module shares the same server).

- ``fresh_streamlit``: clears ``st.cache_data``, ``st.cache_resource`` and the background-job
  registry before and after a test, so one page test's frames, sources and fetches never leak into
  the next.

- ``clean_environ`` (autouse): removes every ``OPENAI_*`` and ``SPEND_*`` variable, so a developer's
  own key can never reach a test, and points ``SPEND_CACHE_DIR`` at a fresh temporary folder.

- ``browser`` (module): one headless Debian chromium driven by Playwright (never ``playwright
  install``) for the browser tests; missing chromium or playwright skips them with the reason, or
  fails them under ``SPEND_REQUIRE_BROWSER=1`` (``browser_support.require_browser``).
"""

from __future__ import annotations

import os

import pytest

from tests import browser_support as bs  # imported now: it reads SPEND_REQUIRE_BROWSER at import

pytest_plugins = ["tests.fake_openai"]


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "SPEND_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPEND_CACHE_DIR", str(tmp_path / "spend-cache"))
    yield


@pytest.fixture
def fresh_streamlit():
    import streamlit as st

    from spend.jobs import REGISTRY

    def clear():
        st.cache_data.clear()
        st.cache_resource.clear()
        REGISTRY.clear()

    clear()
    yield
    clear()


@pytest.fixture(scope="module")
def browser():
    bs.require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=bs.CHROMIUM, args=list(bs.CHROMIUM_ARGS))
        yield chromium
        chromium.close()
