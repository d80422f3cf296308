"""The server's entry (``streamlit_app.py``): an ``st.App`` serving ``frame.py`` whose lifespan
caps malloc's arenas and starts the warm-up imports; the frame waits for them before its own."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from spend.ui import startup

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fresh(monkeypatch):
    """A fresh warm-up in place of the process's, for one test."""
    monkeypatch.setattr(startup, "WARMUP", startup.Warmup())
    monkeypatch.setattr(startup, "limit_malloc_arenas", lambda: True)  # not this test process
    monkeypatch.setattr(startup, "settle", lambda: None)  # nor freeze this process's objects
    return startup


def test_entry__streamlit_run_finds_an_app_serving_the_frame():
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(ROOT / "streamlit_app.py")
    assert found.is_asgi_app and found.import_string == "streamlit_app:app"
    code = (
        "import streamlit_app as m, pathlib; "
        "print(pathlib.Path(m.app.script_path).name, m.app._user_lifespan.__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["frame.py", "spend.ui.startup"]


def test_warmup__wait_without_a_warmup_returns_at_once(fresh):
    assert fresh.wait(timeout=0) is True


def test_warmup__lifespan_imports_the_modules_once_and_wait_sees_them_done(fresh, monkeypatch):
    imported = []
    gate = threading.Event()

    def fake_import(name):
        gate.wait(5)
        imported.append(name)

    monkeypatch.setattr(startup.importlib, "import_module", fake_import)

    async def serve():
        async with fresh.lifespan(app=None):
            assert fresh.wait(timeout=0) is False  # still importing: the frame would wait
            gate.set()
            assert fresh.wait(timeout=5) is True

    asyncio.run(serve())
    assert imported == list(startup.MODULES)
    assert fresh.start() is None and imported == list(startup.MODULES)  # once per process


def test_warmup__a_failing_import_is_logged_and_never_blocks_the_frame(fresh, monkeypatch, caplog):
    def broken(name):
        raise ImportError(f"no module named {name}")

    monkeypatch.setattr(startup.importlib, "import_module", broken)
    thread = fresh.start(("missing_module",))
    thread.join(5)
    assert fresh.wait(timeout=0) is True
    assert "warm-up import failed" in caplog.text


def test_warmup__freezes_what_it_imported_so_a_full_collection_skips_it():
    """After the warm-up, Streamlit's collection after every run no longer walks the imported
    modules (issue 19: 80-180 ms a page switch before, 10-20 ms after)."""
    code = (
        "import gc; from spend.ui import startup; startup.start().join(120); "
        "print(gc.get_freeze_count(), len(gc.get_objects()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    frozen, tracked = map(int, out.stdout.split())
    assert frozen > 50_000 and tracked < frozen / 2


def test_warmup__the_modules_exist_and_load_in_a_fresh_process():
    code = (
        "import sys; from spend.ui import startup; startup.start().join(120); "
        "print(all(m in sys.modules for m in startup.MODULES))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True", out.stderr


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, "True"), ({"MALLOC_ARENA_MAX": "4"}, "False")],  # whoever started it set their own
)
def test_arenas__capped_in_a_fresh_process_unless_the_environment_says(environ, expected):
    import os
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | environ
    code = "from spend.ui import startup; print(startup.limit_malloc_arenas())"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == expected
