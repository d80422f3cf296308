"""Shared fixtures.

- ``clean_environ`` (autouse): removes every ``OPENAI_*`` and ``SPEND_*`` variable, so a developer's
  own key can never reach a test, and points ``SPEND_CACHE_DIR`` at a fresh temporary folder.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "SPEND_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPEND_CACHE_DIR", str(tmp_path / "spend-cache"))
    yield
