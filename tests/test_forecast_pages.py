"""The month-end forecast on the pages (issue 19): the same figure and band on the Overview's card
and the Budgets page whatever the sidebar's range, equal to what ``python -m spend alerts`` prints
for the same day. Expected figures come from the command's own report, never from the page."""

from __future__ import annotations

import argparse
import io
import json
from datetime import date, timedelta

import pytest

from spend import formatting as fmt
from spend.cli import add_alerts_parser, run_alerts
from tests.apptest_support import UNTHROTTLED, admin_secrets, app, no_exceptions
from tests.clock import FakeClock, noon
from tests.fake_openai import ADMIN_KEY
from tests.test_pages import BUDGETS, PAGES, metric, run_until_complete

pytestmark = pytest.mark.usefixtures("fresh_streamlit")

DEC_5 = date(2026, 12, 5)  # the app's today: the card counts December 1-4
AS_OF = DEC_5 - timedelta(days=1)
ORG_BUDGET = {"scope": "organization", "monthly_usd": 50}


def alerts_json(fake, tmp_path) -> dict:
    """``python -m spend alerts --as-of 2026-12-04 --json`` on the fake org, the same budget."""
    budgets = tmp_path / "budgets.toml"
    budgets.write_text('[[budget]]\nscope = "organization"\nmonthly_usd = 50\n', encoding="utf-8")
    parser = argparse.ArgumentParser(prog="python -m spend")
    add_alerts_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["alerts", "--as-of", AS_OF.isoformat(), "--json", "--budgets", str(budgets)]
    )
    env = {
        "OPENAI_ADMIN_KEY": ADMIN_KEY,
        "OPENAI_BASE_URL": fake.base_url,
        "SPEND_CACHE_DIR": str(tmp_path / "cli-cache"),
        "SPEND_RATE_LIMIT_PER_MIN": UNTHROTTLED,
    }
    out, err = io.StringIO(), io.StringIO()
    clock = FakeClock()
    clock.now = 1_800_000_000.0  # 2027-01-15: every day of the fake org is final
    code = run_alerts(args, environ=env, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue())


def test_forecast__the_same_on_every_range_page_and_in_the_command(
    monkeypatch, fake_openai, tmp_path
):
    """7, 30 and 90 days in the sidebar: one month-end forecast and band on the Overview's card
    and the Budgets page, the figure ``alerts --json`` gives for the same as-of day. (Before,
    the forecast learnt from whatever the view had loaded: 13 to 80 days here.)"""
    fake_openai.reset(days=80, end_date=AS_OF)
    monkeypatch.setattr("spend.dates.utc_now", lambda: noon(DEC_5))
    (entry,) = alerts_json(fake_openai, tmp_path)["budgets"]
    assert entry["basis"] == "billed" and entry["forecast_usd"] is not None
    forecast = fmt.usd(entry["forecast_usd"])
    band = f"{fmt.usd(entry['forecast_low'])} – {fmt.usd(entry['forecast_high'])}"
    seen = []
    for preset in ("last_7_days", "last_30_days", "last_90_days"):
        at = app(**admin_secrets(fake_openai), budgets={"budget": [ORG_BUDGET]})
        at.query_params["range"] = preset
        run_until_complete(at)
        no_exceptions(at)
        card = metric(at, "Month-end forecast")
        assert any("December 1–4" in c.value for c in at.caption), preset
        at.switch_page(BUDGETS).run()
        no_exceptions(at)
        page = metric(at, "Forecast for the month")
        table = at.dataframe[0].value
        seen.append(
            (
                card.value,
                card.proto.help,
                page.value,
                [c.value for c in at.caption if c.value.startswith("80 % band")],
                table["forecast"][0],
                table["band"][0],
            )
        )
        at.switch_page(PAGES[0]).run()
    assert seen[0] == seen[1] == seen[2], seen
    card_value, card_help, page_value, page_band, table_forecast, table_band = seen[0]
    assert card_value == page_value == forecast
    assert card_help == f"80 % band {band}"
    assert page_band and page_band[0].startswith(f"80 % band: {band} ")
    assert table_forecast == entry["forecast_usd"]
    assert table_band == (
        f"{fmt.usd(entry['forecast_low'], decimals=0)} – "
        f"{fmt.usd(entry['forecast_high'], decimals=0)}"
    )
