"""The README's and docs' examples parse: every ```yaml block (PyYAML) and ```toml block
(tomllib), so a copied example never fails on its syntax. The GitHub Actions example also has to
save the alert state after a failing step (``--fail-on-overrun`` exits 3)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[tuple[str, str]]:
    """Every fenced block in ``language`` as ``(where, text)``, e.g. ``("README.md:214", ...)``."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match[1] == language:
                line = text.count("\n", 0, match.start()) + 1
                found.append((f"{path.relative_to(ROOT)}:{line}", match[2]))
    return found


def _uncomment(text: str) -> str:
    """A TOML example whose settings are commented out into the settings, e.g. ``# a = 1`` ->
    ``a = 1`` (prose comments stay comments)."""
    return re.sub(r"^# (?=[A-Za-z_]+ = |\[)", "", text, flags=re.MULTILINE)


def test_fences__the_docs_have_yaml_and_toml_examples():
    assert blocks("yaml") and len(blocks("toml")) >= 4


@pytest.mark.parametrize("where, text", blocks("yaml"), ids=[w for w, _ in blocks("yaml")])
def test_yaml_blocks__parse(where, text):
    assert yaml.safe_load(text) is not None, where


@pytest.mark.parametrize("where, text", blocks("toml"), ids=[w for w, _ in blocks("toml")])
def test_toml_blocks__parse(where, text):
    tomllib.loads(text)
    tomllib.loads(_uncomment(text))


def test_secrets_example__parses_as_is_and_with_its_settings_uncommented():
    example = (ROOT / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8")
    tomllib.loads(example)
    tomllib.loads(_uncomment(example))


def test_github_actions_example__saves_the_state_after_a_failing_step():
    [workflow] = [yaml.safe_load(t) for _, t in blocks("yaml") if "spend alerts" in t]
    # PyYAML reads the bare key `on` as True (YAML 1.1); GitHub reads it as "on"
    triggers = workflow.get("on", workflow.get(True))
    assert {"schedule", "workflow_dispatch"} <= set(triggers)
    steps = workflow["jobs"]["alerts"]["steps"]
    uses = [step.get("uses", "") for step in steps]
    restore = next(i for i, u in enumerate(uses) if u.startswith("actions/cache/restore"))
    save = next(i for i, u in enumerate(uses) if u.startswith("actions/cache/save"))
    alerts = next(i for i, s in enumerate(steps) if "spend alerts" in s.get("run", ""))
    assert restore < alerts < save
    assert steps[save].get("if") == "always()"
    assert steps[save]["with"]["path"] == steps[restore]["with"]["path"] == ".cache/spend"
    assert "--fail-on-overrun" in steps[alerts]["run"]


def test_cron_example__key_from_a_private_file_and_the_time_zone_said():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [cron] = [t for _, t in blocks("bash") if "15 6 * * *" in t]
    assert "sk-admin" not in cron and '"$(cat ~/.config/openai-spend/key)"' in cron
    assert "CRON_TZ" in cron and "local time zone" in readme


def test_secrets_example__legacy_rate_and_budgets_match_the_code():
    from spend.budgets import secrets_budgets
    from spend.sources.legacy import LegacySource

    example = (ROOT / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8")
    settings = tomllib.loads(_uncomment(example))
    assert settings["SPEND_RATE_LIMIT_PER_MIN"] == LegacySource.default_rate_limit == 4.5
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "default 4.5 (legacy" in readme
    # the budgets shown in the example are read as the app and the command read them
    assert [b.scope for b in secrets_budgets(settings)] == ["organization", "user"]


def test_readme__lists_every_command():
    from spend.cli import build_parser

    [commands] = [t for _, t in blocks("bash") if "python -m spend plan" in t]
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"python -m spend {name}" in commands, name


def test_docs_toml__settings_sit_above_their_sections():
    """Every line after ``[auth]`` belongs to it: in each example, the app's settings (and
    budgets) are at the top level, where the app reads them, never inside a section."""
    for where, text in blocks("toml"):
        document = tomllib.loads(text)
        for name, value in document.items():
            if isinstance(value, dict):
                inside = [k for k in value if k.startswith(("SPEND_", "OPENAI_", "budget"))]
                assert not inside, f"{where}: {inside} read as {name}.{inside[0]}"


def test_sign_in_doc__says_what_a_new_admin_needs_to_know():
    text = (ROOT / "docs" / "sign-in.md").read_text(encoding="utf-8")
    assert "belongs to that section" in text
    assert "Google Auth Platform" in text and "**Internal**" in text
    assert "no `SPEND_ADMINS`" in text


def test_skipped_spec_checks__say_where_the_examples_go():
    from tests.test_fake_openai import NO_SPEC_EXAMPLES, SPEC_EXAMPLES

    assert str(SPEC_EXAMPLES) in NO_SPEC_EXAMPLES and "../shared/openai-spec/" in NO_SPEC_EXAMPLES
    assert SPEC_EXAMPLES.parts[-3:] == ("shared", "openai-spec", "examples")
    assert SPEC_EXAMPLES.parents[2] == ROOT.parent  # beside the checkout, wherever it is
