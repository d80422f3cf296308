"""Shared fixtures.

- ``fake_openai_server`` (session) and ``fake_openai`` (per test, reset before and after): one fake
  OpenAI server on 127.0.0.1 for the whole suite, from ``tests/fake_openai.py`` (registered below
  as a plugin, so every module shares the same server).

- ``fresh_streamlit``: clears ``st.cache_data``, ``st.cache_resource`` and the background-job
  registry before and after a test, so one page test's frames, sources and fetches never leak into
  the next.

- ``clean_environ`` (autouse): removes every ``OPENAI_*`` and ``SPEND_*`` variable, so a developer's
  own key can never reach a test, and points ``SPEND_CACHE_DIR`` at a fresh temporary folder.
"""

from __future__ import annotations

import os

import pytest

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
