"""Meta-tests that keep the layout honest: pages registered, sources in the factory, clean
layers."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from spend import sources
from spend.sources import Source

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


def test_layout__every_source_class_is_in_the_registry_in_a_file_of_its_own():
    """Every ``Source`` subclass under spend/sources/ is in ``SOURCES`` under its own name and in a
    file of that name; other files there (``base``, ``openai_api``: what several sources share)
    define none."""
    found = {}
    for path in (ROOT / "spend" / "sources").glob("*.py"):
        module = importlib.import_module(f"spend.sources.{path.stem}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Source)
                and value is not Source
                and value.__module__ == module.__name__
            ):
                found[value.name] = value
    assert found == sources.SOURCES
    for name, cls in sources.SOURCES.items():
        assert cls.__module__ == f"spend.sources.{name}"


@pytest.mark.parametrize(
    "path",
    [p for p in (ROOT / "spend").rglob("*.py") if "ui" not in p.relative_to(ROOT / "spend").parts],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_layout__nothing_outside_spend_ui_imports_streamlit(path):
    assert not re.search(r"^\s*(import|from) streamlit\b", path.read_text(), re.M)
