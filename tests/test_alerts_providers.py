"""``python -m spend alerts`` over both providers (issue 20): an OpenAI admin key and an Anthropic
admin key give one report, a ``provider`` budget is measured on Anthropic's bill, a workspace is a
project, and the messages name and link the provider."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.fake_anthropic import ADMIN_KEY as ANTHROPIC_KEY
from tests.fake_anthropic import FakeAnthropic
from tests.fake_openai import ADMIN_KEY
from tests.test_alerts import APP_URL, AS_OF, END, Receiver, run


@pytest.fixture
def both(fake_openai):
    """The fake OpenAI (80 days to END) and the fake Anthropic on its last 40 days."""
    fake_openai.reset(days=80, end_date=END)
    with FakeAnthropic(fake_openai.days[-40:]) as claude:
        yield fake_openai, claude


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


def test_alerts__provider_budget_and_workspace_over_both_providers(both, receiver, tmp_path):
    openai, claude = both
    june = float(claude.cost_total(date(2026, 6, 1), AS_OF))
    budgets = tmp_path / "budgets.toml"
    budgets.write_text(
        "[[budget]]\n"
        'scope = "provider"\n'
        'id = "anthropic"\n'
        f"monthly_usd = {round(june / 0.6, 2)}\n"  # 60 % used: the 50 % threshold is crossed
        "alert_at = [50, 100]\n\n"
        "[[budget]]\n"
        'scope = "project"\n'
        'id = "wrkspc_01Research"\n'
        "monthly_usd = 1000000\n",
        encoding="utf-8",
    )
    env = {
        "OPENAI_ADMIN_KEY": ADMIN_KEY,
        "OPENAI_BASE_URL": openai.base_url,
        "ANTHROPIC_ADMIN_KEY": ANTHROPIC_KEY,
        "ANTHROPIC_BASE_URL": claude.base_url,
        "SPEND_CACHE_DIR": str(tmp_path / "cache"),
        "SPEND_RATE_LIMIT_PER_MIN": "6000",
        "SPEND_APP_URL": APP_URL,
    }
    argv = ["--as-of", AS_OF, "--budgets", str(budgets), "--notify", receiver.url, "--json"]
    code, out, err = run(argv, env)
    assert code == 0, err
    report = json.loads(out)
    by_key = {entry["key"]: entry for entry in report["budgets"]}
    provider = by_key["provider:anthropic"]
    assert (provider["basis"], provider["name"], provider["known"]) == ("billed", "Anthropic", True)
    assert provider["spent_usd"] == pytest.approx(june, abs=0.01)  # Anthropic's bill, exactly
    assert provider["crossed"] == [50]
    workspace = by_key["project:wrkspc_01Research"]
    assert (workspace["known"], workspace["name"], workspace["basis"]) == (
        True,
        "Research",
        "billed",
    )
    assert 0 < workspace["spent_usd"] < june
    titles = [body["title"] for body in receiver.delivered]
    assert "OpenAI spend: budget of provider Anthropic (anthropic) passed 50%" in titles
    message = next(b["message"] for b in receiver.delivered if "provider Anthropic" in b["title"])
    assert f"View: {APP_URL}/?range=custom&start=2026-06-01&end=2026-06-19&provider=anthropic" in (
        message
    )
    everything = out + err + json.dumps(receiver.posts)
    assert ANTHROPIC_KEY not in everything and ADMIN_KEY not in everything
