"""Pages that read at a glance (issue 23) under AppTest on the demo organization: the Budgets
page's colours and names, the Overview's month card and time buckets, the Users page's ids.

Expected figures are computed here from the usage table (``spend`` functions called directly),
never copied from the page.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from spend import analysis
from spend import formatting as fmt
from spend.budgets import month_start
from tests.apptest_support import app, no_exceptions
from tests.test_pages import BUDGETS, demo_frame, metric, today

pytestmark = pytest.mark.usefixtures("fresh_streamlit")


def _month_so_far(frame: pd.DataFrame, column: str | None = None, value: str | None = None):
    as_of = today() - timedelta(days=1)
    rows = frame[
        (frame["date"] >= pd.Timestamp(month_start(as_of))) & (frame["date"] <= pd.Timestamp(as_of))
    ]
    if column is not None:
        rows = rows[rows[column] == value]
    return float(rows["cost_usd"].sum())


def test_budgets_page__over_red_near_amber_names_and_closest_ids():
    frame = demo_frame()
    spent = _month_so_far(frame, "model_family", "gpt-4o")
    if spent <= 0:
        pytest.skip("the demo's month has no gpt-4o spend yet (the 1st of a month)")
    user = str(frame["user_id"].dropna().iloc[0])
    typo = user[:-1] + ("x" if user[-1] != "x" else "y")  # one character off a real id
    email = str(frame.loc[frame["user_id"] == user, "user_email"].dropna().iloc[0])
    budgets = [
        {"scope": "organization", "monthly_usd": 1},  # far over
        {"scope": "model", "id": "gpt-4o", "monthly_usd": round(spent / 0.9, 2)},  # at ~90 %
        {"scope": "user", "id": typo, "monthly_usd": 5},
        {"scope": "user", "id": email.upper(), "monthly_usd": 1_000_000},  # by e-mail, any case
    ]
    at = app(budget=budgets)  # the file's [[budget]] shape, at the top of the secrets
    at.run()
    at.switch_page(BUDGETS).run()
    no_exceptions(at)
    grid = at.dataframe[0]
    table = grid.value
    assert list(table["status"]) == ["over budget", "near (≥ 80 %)", "under", "under"]
    styles = grid.proto.arrow_data.styler.styles
    assert "row0_col1 { background-color: rgba(214, 39, 40" in styles  # red
    assert "row1_col1 { background-color: rgba(255, 170, 0" in styles  # amber
    assert "row2_col1" not in styles and "row3_col1" not in styles
    assert table["name"][1] == "gpt-4o (model)"
    assert "no usage seen; closest: " + user in table["name"][2]
    assert "no usage seen" not in table["name"][3]  # the e-mail found the user's usage
    assert f"user={user}" in table["view"][3]  # and its link filters by the user's id
    # "Nearest budget" names whose budget it is, with its money
    assert any(c.value.startswith("Organization: $") for c in at.caption)
    assert metric(at, "Nearest budget").value.endswith("%")


def test_users_page__cost_before_email_and_each_id_ready_to_copy():
    from tests.test_pages import PAGES

    at = app()
    at.run()
    at.switch_page(next(p for p in PAGES if p.endswith("users.py"))).run()
    no_exceptions(at)
    table = at.dataframe[0].value
    columns = list(table.columns)
    assert columns.index("cost_usd") < columns.index("email")
    assert columns[-1] == "user_id"
    frame = demo_frame()
    ids = set(table["user_id"]) - {analysis.NO_USER}  # the demo's Claude share has no users
    assert ids and ids <= set(frame["user_id"].dropna().astype(str))


def _month_total(frame: pd.DataFrame, first, last) -> float:
    rows = frame[(frame["date"] >= pd.Timestamp(first)) & (frame["date"] <= pd.Timestamp(last))]
    return float(rows["cost_usd"].sum())


def _card(at) -> tuple[str, str]:
    [card] = [m for m in at.metric if " so far (" in m.label or " total (" in m.label]
    return card.label, card.value


@pytest.mark.parametrize("which", ["this-month", "last-month"])
def test_overview_month_card__month_to_date_never_cut_at_the_range_end(which):
    """A range ending Dec 3, seen on Dec 5, showed December through Dec 3 ($405) instead of
    through Dec 4 ($602); a range in November shows November's total. Filters do not apply and
    the card says so."""
    from spend import formatting as fmt

    yesterday = today() - timedelta(days=1)
    this_month = month_start(yesterday)
    if which == "this-month":
        if yesterday.day < 3:
            pytest.skip("needs two complete days of this month before yesterday")
        start, end = this_month, yesterday - timedelta(days=1)
        first, last, word = this_month, yesterday, "so far"
    else:
        last = this_month - timedelta(days=1)
        first = month_start(last)
        start, end = first, first + timedelta(days=2)
        word = "total"
    frame = demo_frame()
    at = app()
    at.query_params["range"] = "custom"
    at.query_params["start"] = start.isoformat()
    at.query_params["end"] = end.isoformat()
    at.query_params["model"] = "gpt-4o-mini-2024-07-18"  # a filter: the card stays org-wide
    at.run()
    no_exceptions(at)
    label, value = _card(at)
    assert label.startswith(f"{last:%B} {word}")
    assert value == fmt.usd(_month_total(frame, first, last))
    assert value != fmt.usd(_month_total(frame, first, end))  # not cut at the range's end
    assert any(
        "Whole organization" in c.value and "filters do not apply" in c.value for c in at.caption
    )


def test_overview__long_range_in_weeks_switchable_to_months_with_a_month_table():
    from spend import analysis
    from spend.config import Settings
    from spend.sources import make_source

    end = today() - timedelta(days=1)
    start = end - timedelta(days=110)  # longer than about 3 months: weeks
    at = app()
    at.query_params["range"] = "custom"
    at.query_params["start"] = start.isoformat()
    at.query_params["end"] = end.isoformat()
    at.run()
    no_exceptions(at)
    [bars] = [r for r in at.radio if r.label == "Bars per"]
    assert bars.value == "week"
    tables_before = len(at.dataframe)
    bars.set_value("month").run()
    no_exceptions(at)
    assert len(at.dataframe) == tables_before + 1
    shown = at.dataframe[0].value
    source = make_source(Settings(source="demo"))
    frame = source.assemble(source.plan(start, end)).frame
    expected = analysis.month_over_month(
        analysis.daily(frame, by="model_family", start=start, end=end)
    )
    assert list(shown["month"]) == [m.strftime("%B %Y") for m in expected["month"]]
    assert shown["value"].tolist() == pytest.approx(expected["value"].tolist())
    assert list(shown.columns) == ["month", "value", "days", "change"]


@pytest.mark.parametrize("typed", [True, False], ids=["key-typed-in-sidebar", "apps-own-key"])
def test_unreachable_api__a_sidebar_user_is_told_what_they_can_check(typed):
    """Nothing listens on 127.0.0.1:9: someone who typed a key hears about their network and the
    provider's status, not OPENAI_BASE_URL (a setting of the deployment); the deployment's own
    key still names its setting."""
    from tests.fake_openai import ADMIN_KEY

    secrets = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "SPEND_RATE_LIMIT_PER_MIN": "6000"}
    at = app(**secrets, **({} if typed else {"OPENAI_ADMIN_KEY": ADMIN_KEY}))
    at.query_params["range"] = "last_7_days"
    at.run()
    if typed:
        at.sidebar.text_input(key="api_key").set_value(ADMIN_KEY).run()
    no_exceptions(at)
    shown = " ".join(e.value for e in at.error).replace("\\", "")  # Markdown escapes off
    assert "Could not reach" in shown
    if typed:
        assert "internet connection" in shown and "status.openai.com" in shown
        assert "OPENAI_BASE_URL" not in shown and "127.0.0.1" not in shown
    else:
        assert "OPENAI_BASE_URL" in shown
    assert ADMIN_KEY not in shown


def test_budgets_page__jargon_in_plain_words():
    at = app()
    at.run()
    at.switch_page(BUDGETS).run()
    no_exceptions(at)
    [spikes] = [c for c in at.caption if "A complete day far above" in c.value]
    assert "usual day-to-day swing" in spikes.value and spikes.help  # the term, explained
    batch = metric(at, "Saved by batch").value
    assert batch != "unknown"  # no large word where a figure goes
    if batch == fmt.DASH:
        assert any(c.value.startswith("Not known: this source") for c in at.caption)
    else:
        assert batch.startswith("$")
