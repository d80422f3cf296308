"""Meta-tests that keep the layout honest: pages registered, sources in the factory, clean
layers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from spend import sources

ROOT = Path(__file__).resolve().parents[1]


def registered_pages() -> dict[str, str]:
    """frame.py into {page file: title} of every ``st.Page(...)`` in it."""
    tree = ast.parse((ROOT / "frame.py").read_text())
    pages = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page":
            path = node.args[0].value
            title = next(k.value.value for k in node.keywords if k.arg == "title")
            pages[path] = title
    return pages


def test_layout__every_page_file_is_registered_in_the_navigation():
    files = {f"app_pages/{path.name}" for path in (ROOT / "app_pages").glob("*.py")}
    assert files and files == set(registered_pages())


def test_layout__every_page_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for title in registered_pages().values():
        assert f"**{title}**" in readme, title


def test_layout__every_source_file_is_in_the_factory():
    files = {
        path.stem
        for path in (ROOT / "spend" / "sources").glob("*.py")
        if path.stem not in ("__init__", "base")
    }
    assert files == set(sources.SOURCES)
    for name, cls in sources.SOURCES.items():
        assert cls.name == name and cls.__module__ == f"spend.sources.{name}"


@pytest.mark.parametrize(
    "path",
    [p for p in (ROOT / "spend").rglob("*.py") if "ui" not in p.relative_to(ROOT / "spend").parts],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_layout__nothing_outside_spend_ui_imports_streamlit(path):
    assert not re.search(r"^\s*(import|from) streamlit\b", path.read_text(), re.M)
