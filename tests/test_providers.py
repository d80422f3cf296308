"""Several providers, one table: a new source is one file plus one registry line, the client
knows no provider, and two sources in one run give one table with ``provider``.

The second provider is made up (``tests/fake_ledger.py``, its source ``tests/ledger_source.py``):
another auth header, another error body, RFC 3339 buckets, one bucket a page.
"""

from __future__ import annotations

import ast
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from spend import cli, sources
from spend.config import Settings
from spend.runner import Run
from tests.clock import FakeClock
from tests.fake_ledger import LEDGER_KEY, FakeLedger
from tests.fake_openai import ADMIN_KEY
from tests.ledger_source import LedgerSource

ROOT = Path(__file__).resolve().parents[1]
END = date(2026, 11, 20)


@pytest.fixture
def ledger_registered(monkeypatch):
    """The one registry line a contributor adds."""
    monkeypatch.setitem(sources.SOURCES, "ledger", LedgerSource)


@pytest.fixture
def ledger(fake_openai):
    fake_openai.reset(days=20, end_date=END)  # days in the past: the fake's own clock is real
    with FakeLedger(days=fake_openai.days[-10:]) as fake:
        yield fake


def run_cli(argv, env, clock):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, environ=env, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    return code, out.getvalue(), err.getvalue()


def both_env(fake_openai, ledger, tmp_path):
    return {
        "OPENAI_ADMIN_KEY": ADMIN_KEY,
        "OPENAI_BASE_URL": fake_openai.base_url,
        "LEDGER_API_KEY": LEDGER_KEY,
        "LEDGER_BASE_URL": ledger.base_url,
        "SPEND_CACHE_DIR": str(tmp_path / "cache"),
        "SPEND_RATE_LIMIT_PER_MIN": "6000",
    }


def clock_after(fake_openai) -> FakeClock:
    last = fake_openai.days[-1]
    return FakeClock(datetime.combine(last, datetime.min.time(), tzinfo=UTC).timestamp() + 43200)


def test_registry__auto_selects_every_configured_source(ledger_registered):
    settings = Settings.from_mapping({"OPENAI_ADMIN_KEY": ADMIN_KEY, "LEDGER_API_KEY": "k"})
    assert sources.selected(settings) == ["admin", "ledger"]
    assert sources.selected(settings.with_(source="ledger")) == ["ledger"]
    assert sources.selected(Settings.from_mapping({"LEDGER_API_KEY": "k"})) == ["ledger"]
    assert sources.selected(Settings()) == ["demo"]  # the fallback, only when nothing is set
    assert "LEDGER_API_KEY" in sources.setting_names()


def test_registry__an_unknown_source_names_the_choices():
    with pytest.raises(Exception, match="SPEND_SOURCE must be one of auto, all, legacy"):
        sources.selected(Settings(source="nope"))


def test_runner__two_sources_give_one_table_with_provider(
    fake_openai, ledger, ledger_registered, tmp_path
):
    clock = clock_after(fake_openai)
    env = both_env(fake_openai, ledger, tmp_path)
    start, end = fake_openai.days[-10], fake_openai.days[-1]
    argv = ["export", "--start", str(start), "--end", str(end), "--out", "-"]
    code, out, err = run_cli(argv, env, clock)
    assert code == 0, err
    # one plan line per source, named by its source
    assert (
        "OpenAI Usage and Costs APIs (admin key): " in err and "Ledger (a test provider): " in err
    )
    table = pd.read_csv(io.StringIO(out))
    assert set(table["provider"]) == {"openai", "ledger"}
    ours = table[table["provider"] == "ledger"]
    expected = ledger.totals(start, end)
    assert int(ours["n_requests"].sum()) == expected["requests"]
    assert int(ours["input_tokens"].sum()) == expected["input_tokens"]
    assert int(ours["output_tokens"].sum()) == expected["output_tokens"]
    assert (ours["cost_basis"] == "estimated").all() and ours["cost_usd"].gt(0).all()
    openai = table[(table["provider"] == "openai") & (table["operation"] == "completion")]
    assert (
        int(openai["input_tokens"].sum())
        == fake_openai.admin_totals("completions", start, end)["input_tokens"]
    )
    # the client sent Ledger's own headers and nothing of OpenAI's
    sent = [headers for path, _, headers in ledger.requests]
    assert sent and all(h.get("ledger-version") == "1" for h in sent)
    assert not any("authorization" in h or "openai-organization" in h for h in sent)
    assert LEDGER_KEY not in err + out and ADMIN_KEY not in err + out


def test_runner__a_rerun_asks_neither_provider_again_for_final_days(
    fake_openai, ledger, ledger_registered, tmp_path
):
    clock = clock_after(fake_openai)
    clock.advance(3 * 86400)  # every day of the range is final
    env = both_env(fake_openai, ledger, tmp_path)
    start, end = fake_openai.days[-10], fake_openai.days[-1]
    argv = ["fetch", "--start", str(start), "--end", str(end)]
    assert run_cli(argv, env, clock)[0] == 0
    asked = (ledger.count(), fake_openai.count())
    code, _, err = run_cli(argv, env, clock)
    assert code == 0, err
    assert (ledger.count(), fake_openai.count()) == asked
    assert err.count("0 to fetch") == 2


def test_runner__one_failing_source_leaves_the_others_figures(
    fake_openai, ledger, ledger_registered, tmp_path
):
    clock = clock_after(fake_openai)
    env = {**both_env(fake_openai, ledger, tmp_path), "LEDGER_API_KEY": "ledger-wrong-key-999"}
    start, end = fake_openai.days[-5], fake_openai.days[-1]
    argv = ["export", "--start", str(start), "--end", str(end), "--out", "-"]
    code, out, err = run_cli(argv, env, clock)
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: Ledger (a test provider): Ledger rejected LEDGER_API_KEY (401). Ledger said: "
        '"invalid x-api-key"'
    ]
    table = pd.read_csv(io.StringIO(out))
    assert len(table) and set(table["source"]) == {"admin"}  # OpenAI's figures stand
    assert "ledger-wrong-key-999" not in err + out


def test_client__a_new_providers_paging_rate_limit_and_loops(
    fake_openai, ledger, ledger_registered, tmp_path
):
    """The client's retries, Retry-After and page-loop checks work on Ledger's conventions
    (RFC 3339 buckets named ``starting_at``) as on OpenAI's."""
    clock = clock_after(fake_openai)
    settings = Settings.from_mapping(
        {
            "LEDGER_API_KEY": LEDGER_KEY,
            "LEDGER_BASE_URL": ledger.base_url,
            "SPEND_CACHE_DIR": str(tmp_path / "c"),
        }
    )
    ledger.fail_next(1, 429, retry_after="7")
    with Run.open(settings, clock=clock, sleep=clock.sleep) as run:
        result = run.load(fake_openai.days[-3], fake_openai.days[-1])
    assert not run.errors and len(result.frame) == 3
    assert 7 in clock.sleeps  # Retry-After honoured
    ledger.repeat_bucket = True
    settings = settings.with_(cache_dir=tmp_path / "c2")
    with Run.open(settings, clock=clock, sleep=clock.sleep) as run:
        run.load(fake_openai.days[-3], fake_openai.days[-1])
    assert "Ledger's pages of /reports/usage repeat the bucket of" in str(run.errors[0].error)


def test_runner__one_source_is_exactly_that_source(fake_openai, tmp_path):
    """A run of one source hands back the source's own result (no copy, no extra column)."""
    fake_openai.reset(days=20, end_date=END)
    clock = clock_after(fake_openai)
    settings = Settings.from_mapping(
        {
            "OPENAI_ADMIN_KEY": ADMIN_KEY,
            "OPENAI_BASE_URL": fake_openai.base_url,
            "SPEND_CACHE_DIR": str(tmp_path),
        }
    )
    day = fake_openai.days[-2]
    with Run.open(settings, clock=clock, sleep=clock.sleep) as run:
        result = run.load(day, day)
        (part,) = run.parts
        assert result is part.result and part.source.name == "admin"
    assert set(result.frame["provider"]) == {"openai"}


# --- meta-tests: the house stays a house for many providers -------------------------------------


def code_of(path: Path) -> str:
    """A module's source without its docstrings and comments (what it does, not what it cites)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                body.pop(0)
    return ast.unparse(tree)


@pytest.mark.parametrize("module", ["client.py", "paging.py"])
def test_layout__the_client_names_no_provider_header_or_url(module):
    code = code_of(ROOT / "spend" / module)
    for needle in ("openai", "anthropic", "authorization", "bearer", "x-api-key", "organization"):
        assert needle not in code.lower(), needle
    assert not re.search(r"https?://", code)


def test_layout__the_registry_names_no_source():
    """``spend/sources/__init__.py`` asks the classes in SOURCES; outside that one table, no
    function names a source class or a source's name."""
    tree = ast.parse((ROOT / "spend" / "sources" / "__init__.py").read_text())
    classes = {cls.__name__ for cls in sources.SOURCES.values()}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            texts = {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and n.value}
            assert not names & classes, node.name
            assert not texts & set(sources.SOURCES), node.name


def test_layout__a_test_source_is_a_file_and_a_line(ledger_registered):
    """The Ledger source touched nothing in spend/: its settings, plan and client come from the
    registry (``make_source``, ``requests_for_range``, ``setting_names``)."""
    settings = Settings.from_mapping({"LEDGER_API_KEY": LEDGER_KEY})
    source = sources.make_source(settings)
    assert isinstance(source, LedgerSource) and source.client.api.name == "Ledger"
    assert "Ledger" in repr(source.client) and LEDGER_KEY not in repr(source.client)
    start = datetime(2026, 1, 1).date()
    assert sources.requests_for_range(start, start + timedelta(days=9), source="ledger") == 10
    source.client.close()


# --- the app: several sources on every page ------------------------------------------------------


@pytest.fixture
def ledger_now(fake_openai):
    """The made-up provider with usage on the fake OpenAI's last ten days (up to today)."""
    with FakeLedger(days=fake_openai.days[-10:]) as fake:
        yield fake


def two_sources(fake_openai, ledger, **more):
    from tests.apptest_support import admin_secrets, app

    secrets = {**admin_secrets(fake_openai), "LEDGER_API_KEY": LEDGER_KEY}
    return app(**{**secrets, "LEDGER_BASE_URL": ledger.base_url, **more})


def test_app__two_sources_give_one_view_and_a_provider_filter(
    fake_openai, ledger_now, ledger_registered, fresh_streamlit
):
    from tests.apptest_support import no_exceptions, settled

    at = settled(two_sources(fake_openai, ledger_now))
    no_exceptions(at)
    providers = at.multiselect(key="filter_providers")
    assert set(providers.options) == {"OpenAI", "Ledger"}
    at.switch_page("app_pages/raw_data.py")
    settled(at)
    table = at.dataframe[0].value
    assert set(table["provider"]) == {"openai", "ledger"}
    providers = at.multiselect(key="filter_providers").select("ledger")
    settled(at)
    no_exceptions(at)
    table = at.dataframe[0].value
    assert set(table["provider"]) == {"ledger"}
    start = fake_openai.days[-10]
    assert (
        int(table["n_requests"].sum()) == ledger_now.totals(start, fake_openai.days[-1])["requests"]
    )
    assert at.query_params["provider"] in ("ledger", ["ledger"])  # a link shows the same view


def test_app__a_failing_source_shows_its_error_and_the_others_stand(
    fake_openai, ledger_now, ledger_registered, fresh_streamlit
):
    from tests.apptest_support import no_exceptions, settled

    at = settled(two_sources(fake_openai, ledger_now, LEDGER_API_KEY="ledger-wrong-key-777"))
    no_exceptions(at)
    assert not at.error  # not a page-wide failure
    said = [w.value.replace("\\", "") for w in at.warning]  # shown as text: Markdown escaped
    assert any(
        "Ledger (a test provider): not shown: Ledger rejected LEDGER_API_KEY (401)" in w
        for w in said
    ), said
    assert at.metric and at.metric[0].value not in ("", "$0.00")  # OpenAI's figures stand
    shown = " ".join(str(e.value) for e in (*at.warning, *at.caption, *at.markdown))
    assert "ledger-wrong-key-777" not in shown
    assert "filter_providers" not in [m.key for m in at.multiselect]  # one provider: no filter


# --- plan, fetch, assemble: written once -------------------------------------------------------


def test_layout__every_caller_plans_through_the_runner():
    """Outside the sources and the runner, nothing plans a source itself or loops over the
    selected sources: the commands, the app and the refresher all open a ``Run``."""
    for path in sorted((ROOT / "spend").rglob("*.py")):
        relative = path.relative_to(ROOT / "spend").as_posix()
        if relative.startswith("sources/") or relative == "runner.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr == "plan":  # a Source's plan: only a run plans
                owner = node.func.value
                assert isinstance(owner, ast.Name) and owner.id == "run", (relative, node.lineno)
    users = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "spend").rglob("*.py")
        if re.search(r"\bRun\.open\(", path.read_text())
    }
    assert {"spend/cli.py", "spend/ui/data.py", "spend/ui/startup.py"} <= users


def test_app__load_is_a_run_with_the_apps_shared_sources(
    fake_openai, ledger_now, ledger_registered, tmp_path, monkeypatch, fresh_streamlit
):
    """``spend.ui.data.load`` plans through ``Run`` (one plan per source per load), builds each
    source once per credential (every session shares it), and joins their tables."""
    from spend.ui import data

    opened: list[list[str]] = []
    real_open = Run.open.__func__

    def spy(cls, settings, names=None, **kw):
        run = real_open(cls, settings, names, **kw)
        opened.append([part.name for part in run.parts])
        assert kw.get("make") is data.app_source  # the app's cached sources
        return run

    monkeypatch.setattr(Run, "open", classmethod(spy))
    monkeypatch.setattr(data.auth, "signed_in_admin", lambda: True)
    settings = Settings.from_mapping(
        {
            "OPENAI_ADMIN_KEY": ADMIN_KEY,
            "OPENAI_BASE_URL": fake_openai.base_url,
            "LEDGER_API_KEY": LEDGER_KEY,
            "LEDGER_BASE_URL": ledger_now.base_url,
            "SPEND_CACHE_DIR": str(tmp_path / "cache"),
            "SPEND_RATE_LIMIT_PER_MIN": "6000",
        }
    )
    first, last = fake_openai.days[-10], fake_openai.days[-1]
    for _ in range(2):  # the second load finds what the first one's jobs stored
        loaded = data.load(settings, first, last)
        for part in loaded.parts:
            if part.job is not None:
                part.job.wait(timeout=30)
    assert opened == [["admin", "ledger"], ["admin", "ledger"]]
    assert [part.source_name for part in loaded.parts] == ["admin", "ledger"]
    assert all(part.error is None for part in loaded.parts), [p.error for p in loaded.parts]
    sources_once = {id(part.api_source) for part in loaded.parts}
    again = data.load(settings, first, last)
    assert {id(part.api_source) for part in again.parts} == sources_once  # shared, not rebuilt
    table = again.result.frame
    assert set(table["provider"].astype(str)) == {"openai", "ledger"}
    assert (
        int(table.loc[table["provider"] == "ledger", "n_requests"].sum())
        == (ledger_now.totals(first, last)["requests"])
    )
    assert again.token == data.load(settings, first, last).token  # one shared table
