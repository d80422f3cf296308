"""Every page under streamlit.testing.v1.AppTest: demo mode, the fake OpenAI server, error states.

Expected figures are computed here from the usage table (``spend`` functions called directly),
never copied from the page.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.proto.Block_pb2 import Block
from streamlit.testing.v1 import AppTest

from spend import analysis, charts
from spend import formatting as fmt
from spend.config import Settings
from spend.dates import preset_range
from spend.export import to_csv
from spend.jobs import REGISTRY
from spend.sources import make_source
from tests.apptest_support import (
    ROOT,
    admin_secrets,
    app,
    legacy_secrets,
    no_exceptions,
    settled,
)
from tests.clock import noon
from tests.fake_openai import ADMIN_KEY, LEGACY_KEY, ORG_ID

PAGES = [
    str(ROOT / "app_pages" / name)
    for name in ("overview.py", "models.py", "users.py", "projects.py", "raw_data.py")
]
BUDGETS = str(ROOT / "app_pages" / "budgets.py")
TEAMS = str(ROOT / "app_pages" / "teams.py")


pytestmark = pytest.mark.usefixtures(
    "fresh_streamlit"
)  # conftest: no cached frame or job leaks between tests


def today() -> date:
    return datetime.now(UTC).date()


def run_until_complete(at: AppTest, tries: int = 20) -> AppTest:
    """Rerun while the page says the data is partial (a background fetch still running)."""
    at.run()
    for _ in range(tries):
        if not any("Partial data" in w.value for w in at.warning):
            break
        REGISTRY_jobs = REGISTRY.jobs()
        for job in REGISTRY_jobs:
            job.wait(10)
        at.run()
    return at


def url_values(at: AppTest, name: str) -> list[str]:
    value = at.query_params[name]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def metric(at: AppTest, prefix: str):
    found = [m for m in at.metric if m.label.startswith(prefix)]
    assert found, [m.label for m in at.metric]
    return found[0]


def demo_frame() -> pd.DataFrame:
    source = make_source(Settings(source="demo"))
    start, end = preset_range("last_30_days", today())
    return source.assemble(source.plan(start - timedelta(days=35), end)).frame


# --- demo mode ------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_pages__every_page_renders_on_demo_data(page):
    at = app()
    at.run()
    if page != PAGES[0]:
        at.switch_page(page).run()
    no_exceptions(at)
    assert at.title, "page drew no title"
    assert any("Demo data" in i.value for i in at.info)
    assert at.sidebar.selectbox(key="range_preset").value == "last_30_days"


def test_overview__metrics_equal_the_usage_table_sums():
    at = app()
    at.run()
    no_exceptions(at)
    frame = demo_frame()
    start, end = preset_range("last_30_days", today())
    expected = analysis.totals(frame, start=start, end=end)
    assert metric(at, "Spend").value == fmt.usd(expected.spend)
    assert metric(at, "Requests").value == fmt.integer(expected.requests)
    # like for like: the 29 complete days (today is still running) against 29 days of the same
    # weekdays five weeks earlier (issue 19: it was the 29 days just before, other weekdays)
    complete = analysis.totals(frame, start=start, end=end - timedelta(days=1))
    assert metric(at, "Average per complete day").value == fmt.usd(complete.spend / 29)
    previous = analysis.totals(
        frame, start=start - timedelta(days=35), end=end - timedelta(days=36)
    )
    assert metric(at, "Spend").delta == fmt.delta_pct(complete.spend / previous.spend - 1)


def test_overview__a_model_filter_changes_the_figures():
    at = app()
    at.run()
    before = metric(at, "Spend").value
    frame = demo_frame()
    start, end = preset_range("last_30_days", today())
    model = "text-embedding-3-small"
    assert filters_labels(at) == ["Filters"]
    at.sidebar.multiselect(key="filter_models").set_value([model]).run()
    no_exceptions(at)
    expected = analysis.totals(analysis.filter_usage(frame, models=[model]), start=start, end=end)
    assert metric(at, "Spend").value == fmt.usd(expected.spend) != before
    assert url_values(at, "model") == [model]
    assert filters_labels(at) == ["Filters · 1 active"]  # the popover's button counts it


def filters_labels(at: AppTest) -> list[str]:
    """The labels of the sidebar's popovers (the filters are in one)."""
    found, todo = [], [at.sidebar]
    while todo:
        node = todo.pop()
        proto = getattr(node, "proto", None)
        if isinstance(proto, Block) and proto.WhichOneof("type") == "popover":
            found.append(proto.popover.label)
        todo.extend(getattr(node, "children", {}).values())
    return found


def test_overview__the_range_preset_changes_the_figures_and_the_url():
    at = app()
    at.run()
    at.sidebar.selectbox(key="range_preset").set_value("last_7_days").run()
    no_exceptions(at)
    frame = demo_frame()
    start, end = preset_range("last_7_days", today())
    assert metric(at, "Spend").value == fmt.usd(analysis.totals(frame, start=start, end=end).spend)
    assert url_values(at, "range") == ["last_7_days"]


def test_frame__a_shared_link_restores_the_view():
    at = app()
    at.query_params["range"] = "custom"
    at.query_params["start"] = (today() - timedelta(days=20)).isoformat()
    at.query_params["end"] = (today() - timedelta(days=10)).isoformat()
    at.query_params["model"] = "gpt-4o-mini-2024-07-18"
    at.run()
    no_exceptions(at)
    assert at.sidebar.selectbox(key="range_preset").value == "custom"
    assert at.sidebar.multiselect(key="filter_models").value == ["gpt-4o-mini-2024-07-18"]
    view = at.session_state["_spend_view"]
    assert view.start == today() - timedelta(days=20) and view.end == today() - timedelta(days=10)
    assert set(view.frame["model"].dropna()) == {"gpt-4o-mini-2024-07-18"}


def test_frame__choices_survive_a_page_switch():
    at = app()
    at.run()
    at.sidebar.selectbox(key="range_preset").set_value("last_90_days").run()
    at.switch_page(PAGES[1]).run()
    no_exceptions(at)
    assert at.sidebar.selectbox(key="range_preset").value == "last_90_days"
    assert at.title[0].value == "Models"


def test_raw_data__table_and_csv_are_exactly_the_filtered_rows():
    at = app()
    at.run()
    at.switch_page(PAGES[4]).run()
    model = "gpt-4o-2024-08-06"
    at.sidebar.multiselect(key="filter_models").set_value([model]).run()
    no_exceptions(at)
    view = at.session_state["_spend_view"]
    shown = at.dataframe[0].value
    assert len(shown) == len(view.frame) > 0
    assert f"{len(view.frame):,} rows" in " ".join(c.value for c in at.caption)
    csv = pd.read_csv(io.StringIO(to_csv(view.frame)))
    assert list(csv.columns[:20]) == list(analysis.filter_usage(view.frame).columns[:20])
    assert set(csv["model"]) == {model}
    assert csv["cost_usd"].sum() == pytest.approx(float(shown["cost_usd"].sum()))


def test_models__unpriced_fine_tune_is_shown_not_zero():
    at = app()
    at.run()
    at.switch_page(PAGES[1]).run()
    no_exceptions(at)
    table = at.dataframe[0].value
    unpriced = table[table["cost_basis"] == "unpriced"]
    assert len(unpriced) >= 1 and unpriced["cost_usd"].isna().all()


def test_users__table_and_one_users_detail():
    at = app()
    at.run()
    at.switch_page(PAGES[2]).run()
    no_exceptions(at)
    view = at.session_state["_spend_view"]
    table = at.dataframe[0].value
    expected = analysis.by_user(view.frame)
    assert len(table) == len(expected)
    assert table["cost_usd"].sum() == pytest.approx(expected["cost_usd"].sum())
    second = expected["user_id"].iloc[1]
    at.selectbox(key="user_detail").set_value(second).run()
    no_exceptions(at)
    assert at.dataframe[1].value["cost_usd"].sum() == pytest.approx(
        analysis.by_user(analysis.filter_usage(view.frame, users=[second]))["cost_usd"].sum()
    )


# --- against the fake OpenAI server ---------------------------------------------------------------


def test_pages__admin_source_shows_billed_and_estimated(fake_openai):
    fake_openai.reset(days=70)
    at = app(
        **admin_secrets(fake_openai),
    )
    run_until_complete(at)
    no_exceptions(at)
    assert not at.error, [e.value for e in at.error]
    view = at.session_state["_spend_view"]
    assert view.source == "admin"
    start, end = preset_range("last_30_days", today())
    billed = float(fake_openai.costs_total(start, end))
    assert metric(at, "Billed").value == fmt.usd(billed)
    assert metric(at, "Spend (billed)").value == fmt.usd(billed)
    for page in PAGES[1:]:
        at.switch_page(page).run()
        no_exceptions(at)
        assert not at.error


def test_pages__legacy_source_totals_equal_the_servers(fake_openai):
    at = app(
        **legacy_secrets(fake_openai),
    )
    at.query_params["range"] = "last_7_days"
    run_until_complete(at)
    no_exceptions(at)
    start, end = preset_range("last_7_days", today())
    assert metric(at, "Requests").value == fmt.integer(
        fake_openai.legacy_totals(start, end)["n_requests"]
    )


@pytest.mark.parametrize(
    "secrets, fault, needle",
    [
        (
            dict(OPENAI_API_KEY="sk-wrong-0000000000000000", OPENAI_ORG_ID=ORG_ID),
            None,
            "rejected (401)",
        ),
        (
            dict(OPENAI_API_KEY=LEGACY_KEY, OPENAI_ORG_ID="org-Wrong0000000000000000"),
            None,
            "org-Wrong0000000000000000",
        ),
        (
            dict(OPENAI_API_KEY=LEGACY_KEY, OPENAI_ORG_ID=ORG_ID, SPEND_SOURCE="admin"),
            None,
            "admin key",
        ),
        (dict(OPENAI_API_KEY=LEGACY_KEY), None, "organization id"),
        (
            dict(OPENAI_ADMIN_KEY=ADMIN_KEY, OPENAI_ORG_ID=ORG_ID, SPEND_SOURCE="legacy"),
            None,
            "cannot read the legacy usage endpoint",
        ),
        (
            dict(OPENAI_API_KEY="sk-pasted\u2013key-0000000000", OPENAI_ORG_ID=ORG_ID),
            None,
            "not plain ASCII",
        ),
        (
            dict(OPENAI_API_KEY=LEGACY_KEY, OPENAI_ORG_ID=ORG_ID),
            dict(n=50, status=429, retry_after="0"),
            "rate limit",
        ),
        (
            dict(OPENAI_API_KEY=LEGACY_KEY, OPENAI_ORG_ID=ORG_ID),
            dict(n=50, status=502, kind="html"),
            "try again later",
        ),
        (
            dict(OPENAI_API_KEY=LEGACY_KEY, OPENAI_ORG_ID=ORG_ID),
            dict(n=50, status=200, kind="truncated"),
            "cut off",
        ),
    ],
)
def test_pages__error_states_show_a_message_not_a_traceback(
    fake_openai, monkeypatch, secrets, fault, needle
):
    monkeypatch.setattr("spend.client.MAX_DELAY", 0.0)
    monkeypatch.setattr("spend.client.INITIAL_DELAY", 0.0)
    if fault:
        fake_openai.fail_next(fault.pop("n"), **fault)
    at = app(OPENAI_BASE_URL=fake_openai.base_url, SPEND_RATE_LIMIT_PER_MIN="60000", **secrets)
    at.query_params["range"] = "last_7_days"
    at.run()
    for job in REGISTRY.jobs():
        job.wait(30)
    at.run()
    no_exceptions(at)
    # drawn as text: OpenAI's words are escaped Markdown (fmt.escape_markdown); read them plain
    messages = " ".join(e.value for e in at.error).replace("\\", "")
    assert needle in messages, messages
    for value in secrets.values():
        if value.startswith("sk-"):
            assert value not in messages
    # the rest of the sidebar still works
    assert at.sidebar.selectbox(key="range_preset").value == "last_7_days"
    at.sidebar.selectbox(key="range_preset").set_value("last_30_days").run()
    no_exceptions(at)


def test_pages__empty_legacy_answers_say_so(fake_openai):
    fake_openai.reset(legacy_empty=True)
    at = app(
        **legacy_secrets(fake_openai),
    )
    at.query_params["range"] = "last_7_days"
    run_until_complete(at)
    no_exceptions(at)
    assert any("returned no usage" in w.value for w in at.warning)
    assert any("No usage in this range" in i.value for i in at.info)


def test_pages__the_key_is_never_in_the_url_or_shown(fake_openai):
    at = app(
        **legacy_secrets(fake_openai),
    )
    run_until_complete(at)
    assert all(LEGACY_KEY not in str(v) for v in at.query_params.values())
    assert (
        at.sidebar.text_input(key="api_key").value == ""
    )  # a key from secrets never goes to the browser


def test_pages__large_demo_renders_every_page_within_altairs_row_limit():
    """A year, 200 users, 25 models: every page draws, every chart holds at most 5,000 rows."""
    at = app(SPEND_DEMO_SIZE="large")
    at.query_params["range"] = "last_90_days"
    at.run()
    # its realtime model has no audio split in the legacy shape: priced as text, said so
    (lower,) = [i.value for i in at.info if "lower bound" in i.value]
    assert "gpt\\-4o\\-realtime" in lower
    drawn = 0
    for page in [*PAGES, BUDGETS]:
        at.switch_page(page).run()
        no_exceptions(at)
        assert not at.error, [e.value for e in at.error]
        for chart in at.get("vega_lite_chart"):
            rows = sum(
                pa.ipc.open_stream(d.data.data).read_all().num_rows for d in chart.proto.datasets
            )
            assert 0 < rows <= analysis.MAX_CHART_ROWS
            drawn += 1
    assert drawn >= 8
    view = at.session_state["_spend_view"]
    assert view.frame["user_id"].nunique() >= 150 and view.frame["model"].nunique() >= 20


def test_pages__refresh_refetches_recent_days_and_shows_the_new_answers(fake_openai):
    at = app(
        **legacy_secrets(fake_openai),
    )
    at.query_params["range"] = "last_7_days"
    settled(at)  # the view and the month card's own window (issue 19) both fetched
    view = at.session_state["_spend_view"]
    now = datetime.now(UTC)
    final_through = (now - timedelta(hours=48)).date() - timedelta(days=1)
    kept = fake_openai.legacy_totals(view.loaded_from, final_through)["n_requests"]
    assert view.history["n_requests"].sum() > kept
    made = fake_openai.count()
    fake_openai.configure(legacy_empty=True)  # OpenAI revised the recent days (here: to nothing)
    at.sidebar.button(key="refresh").click()
    settled(at)
    no_exceptions(at)
    refreshed = at.session_state["_spend_view"]
    # the view's requests: the month card loads its own window further back (issue 19), and when
    # the revised days leave its last day earlier, that window starts earlier too
    asked = [
        r
        for r in fake_openai.requests[made:]
        if r.path != "/v1/usage" or date.fromisoformat(r.query["date"]) >= view.loaded_from
    ]
    assert len(asked) == 1 + (view.end - final_through).days  # users list + the non-final days
    assert refreshed.history["n_requests"].sum() == kept


@pytest.mark.parametrize(
    "start, end, preset",
    [
        ("2024-01-01", "2099-12-31", "custom"),  # the end is capped at today
        ("2099-01-01", "2099-12-31", "last_30_days"),  # a range wholly in the future is ignored
        ("yesterday", "2024-01-01", "last_30_days"),  # not dates
        ("2024-02-10", "2024-02-01", "last_30_days"),  # reversed
    ],
)
def test_frame__a_bad_shared_link_never_crashes(start, end, preset):
    at = app()
    at.query_params["range"] = "custom"
    at.query_params["start"] = start
    at.query_params["end"] = end
    at.run()
    no_exceptions(at)
    view = at.session_state["_spend_view"]
    if preset == "custom":
        assert (view.start, view.end) == (date.fromisoformat(start), today())
    else:  # the link's dates are dropped: the default range is shown
        assert (view.start, view.end) == preset_range("last_30_days", today())


def test_frame__an_error_keeps_the_filters_in_the_sidebar_and_the_link(fake_openai, monkeypatch):
    monkeypatch.setattr("spend.client.MAX_DELAY", 0.0)
    monkeypatch.setattr("spend.client.INITIAL_DELAY", 0.0)
    at = app(
        **legacy_secrets(fake_openai),
    )
    at.query_params["range"] = "last_7_days"
    run_until_complete(at)
    model = at.session_state["_spend_view"].frame["model"].dropna().iloc[0]
    at.sidebar.multiselect(key="filter_models").set_value([model]).run()
    fake_openai.fail_next(50, status=503)
    at.sidebar.button(key="refresh").click().run()
    for job in REGISTRY.jobs():
        job.wait(30)
    at.run()
    assert any("try again later" in e.value for e in at.error)
    assert url_values(at, "model") == [model]  # the link still carries the filter
    fake_openai.reset()
    run_until_complete(at)
    no_exceptions(at)
    assert at.sidebar.multiselect(key="filter_models").value == [
        model
    ]  # and the sidebar got it back


def test_frame__a_half_picked_custom_range_keeps_the_last_range():
    at = app()
    at.run()
    at.sidebar.selectbox(key="range_preset").set_value("last_7_days").run()
    at.sidebar.selectbox(key="range_preset").set_value("custom").run()
    start, end = preset_range("last_7_days", today())
    assert at.sidebar.date_input(key="range_custom").value == (
        start,
        end,
    )  # Custom starts from the range shown
    at.sidebar.date_input(key="range_custom").set_value((today() - timedelta(days=3),)).run()
    no_exceptions(at)
    view = at.session_state["_spend_view"]
    assert (view.start, view.end) == (start, end)
    assert any("Pick the last day" in c.value for c in at.sidebar.caption)


def test_pages__a_long_fetch_waits_for_a_click_and_says_so(fake_openai):
    at = app(
        OPENAI_API_KEY=LEGACY_KEY,
        OPENAI_ORG_ID=ORG_ID,
        OPENAI_BASE_URL=fake_openai.base_url,
        SPEND_RATE_LIMIT_PER_MIN="1",
        SPEND_ALLOW_LONG_FETCH="true",  # on the app's key (test_ui_safety: without it, no button)
    )
    at.query_params["range"] = (
        "last_30_days"  # 66 requests at 1 a minute: over the auto-start bound
    )
    at.run()
    no_exceptions(at)
    assert any("Fetch not started" in w.value for w in at.warning)
    assert not any("No usage in this range" in i.value for i in at.info)
    # the users list was asked first (it checks the key and org id); the 65 days wait for a click:
    # the range's 30 and the 35 its 29 complete days compare with (the same weekdays five weeks
    # earlier; issue 19 moved them back from the 29 just before, so 6 more days than before)
    assert at.sidebar.button(key="confirm_fetch").label.startswith("Fetch 65 requests")
    assert fake_openai.count() == 1


# --- budgets & alerts ---------------------------------------------------------------------------


def test_budgets__demo_without_budgets_says_how_to_add_them():
    at = app()
    at.run()
    at.switch_page(BUDGETS).run()
    no_exceptions(at)
    assert at.title[0].value == "Budgets & alerts"
    assert any("No budgets yet" in i.value for i in at.info)
    assert at.metric[0].value.startswith("$")  # spent this month (or last month's total)
    forecast = metric(at, "Forecast for the month").value
    if today().day == 1:  # yesterday closed last month: nothing left to forecast
        assert forecast == "month closed"
    else:
        assert forecast.startswith("$")  # 120 days of history


def test_budgets__secrets_budgets_measured_on_the_demo_month():
    from spend.budgets import month_start

    org = {"scope": "organization", "monthly_usd": 100}
    model = {"scope": "model", "id": "gpt-4o", "monthly_usd": 1_000_000}
    ghost = {"scope": "user", "id": "user-nobody", "monthly_usd": 5}
    at = app(budgets={"budget": [org, model, ghost]})
    at.run()
    at.switch_page(BUDGETS).run()
    no_exceptions(at)
    table = at.dataframe[0].value
    assert list(table["scope"]) == ["organization", "model", "user"]
    as_of = today() - timedelta(days=1)
    frame = demo_frame()
    month = frame[
        (frame["date"] >= pd.Timestamp(month_start(as_of))) & (frame["date"] <= pd.Timestamp(as_of))
    ]
    assert table["spent"][0] == pytest.approx(round(float(month["cost_usd"].sum()), 2))
    assert table["used"][0] == pytest.approx(table["spent"][0] / 100, rel=1e-3)
    assert table["basis"][0] == "estimated" and "100 %" in table["crossed"][0]
    assert "no usage seen" in table["name"][2]  # unknown ids are shown, not dropped
    assert not table.isna().any().any()  # no cell reads "None"
    if today().day == 1:  # last month is closed: its forecast is its total
        assert table["forecast"][0] == table["spent"][0]
    else:
        assert table["forecast"][0] > 0
    at.switch_page(PAGES[0]).run()  # the Overview's month-end card names the nearest budget
    assert metric(at, "Nearest budget").value.endswith("of $100.00")


def test_budgets__the_page_shows_the_report_python_m_spend_alerts_evaluates():
    """The Overview's month-end step and the Budgets page's spikes-and-savings step, joined, are
    the one report ``report.evaluate`` gives the cron command for the same table and budgets."""
    from spend.budgets import budgets_from_secrets
    from spend.report import evaluate

    table = {"budget": [{"scope": "organization", "monthly_usd": 100}]}
    at = app(budgets=table)
    at.run()
    at.switch_page(BUDGETS).run()
    no_exceptions(at)
    as_of = today() - timedelta(days=1)
    report = evaluate(demo_frame(), budgets_from_secrets(table), as_of, app_url="/")
    (entry,) = report.budgets
    shown = at.dataframe[0].value
    assert shown["spent"][0] == entry.spent_usd and shown["used"][0] == entry.percent / 100
    saved = metric(at, "Saved by cached input").value
    assert saved == fmt.usd(report.watch.cached_input_saved)
    assert metric(at, "Input tokens cached").value == fmt.pct(report.watch.cached_input_share)
    spikes = len(report.spikes) + len(report.newcomers)
    assert len(at.dataframe) == 1 + bool(report.spikes) + bool(report.newcomers)
    assert spikes or any("No spike" in c.value for c in at.caption)


def test_filters__options_are_computed_once_when_nothing_is_chosen(monkeypatch):
    """Four filters, none chosen: they all offer the same table's choices, computed once."""
    calls = []
    real = analysis.options
    monkeypatch.setattr(analysis, "options", lambda frame: calls.append(len(frame)) or real(frame))
    at = app()
    at.run()
    no_exceptions(at)
    assert len(calls) == 1
    models = at.sidebar.multiselect(key="filter_models")
    models.select(models.options[0]).run()  # (the demo's providers filter is drawn first)
    # one model chosen: the three other filters narrow to it alike (one more computation), the
    # models filter itself keeps offering every model (the first, cached)
    assert len(calls) == 2 and calls[1] < calls[0]


def test_budgets__a_malformed_secrets_budget_is_one_clear_message():
    at = app(budgets={"budget": [{"scope": "planet", "monthly_usd": 10}]})
    at.run()
    at.switch_page(BUDGETS).run()
    no_exceptions(at)
    assert any("entry 1" in w.value and "scope" in w.value for w in at.warning)


def test_budgets__admin_shows_openais_limits_read_only_and_billed_basis(fake_openai):
    fake_openai.reset(days=60, spend_limit_cents=5_000_000, spend_alert_cents=(10_000,))
    at = app(
        **admin_secrets(fake_openai),
    )
    run_until_complete(at)
    at.switch_page(BUDGETS).run()
    no_exceptions(at)
    table = at.dataframe[0].value
    assert set(table["from"]) == {"OpenAI (read-only)"}
    assert sorted(table["budget"]) == [100.0, 50_000.0]
    assert set(table["basis"]) == {"billed"}
    assert at.metric[0].label.endswith("(billed)")  # spent this month, or a closed month's total


def test_budgets__spend_controls_are_fetched_in_the_background_not_while_drawing(fake_openai):
    """A held spend-limit request does not hold the page: the page draws and says the limits are
    not fetched yet; once the answer arrives, the next run shows them."""
    import threading

    fake_openai.reset(days=60, spend_limit_cents=5_000_000, spend_alert_cents=(10_000,))
    release = threading.Event()

    def hold(path: str) -> None:
        if path.endswith("/spend_limit"):
            release.wait(30)

    fake_openai.configure(before_answer=hold)
    at = app(**admin_secrets(fake_openai))
    at.switch_page(BUDGETS)
    at.run()
    for job in REGISTRY.jobs():
        if job.key[0] != "controls":
            job.wait(10)  # the usage arrives; the spend limit is still held
    at.run()
    no_exceptions(at)
    shown = " ".join(w.value for w in (*at.warning, *at.caption, *at.info, *at.markdown))
    assert "not fetched yet" in shown.replace("\\", "")
    release.set()
    for job in REGISTRY.jobs():
        job.wait(10)
    at.run()
    no_exceptions(at)
    assert sorted(at.dataframe[0].value["budget"]) == [100.0, 50_000.0]


def _colours(at: AppTest) -> list[dict[str, str]]:
    """Each chart's colours by group, e.g. ``[{"gpt-4o": "#4c78a8", ...}, ...]``."""
    import json

    found = []
    for chart in at.get("vega_lite_chart"):
        scale = json.loads(chart.proto.spec).get("encoding", {}).get("color", {}).get("scale", {})
        if scale.get("domain"):
            found.append(dict(zip(scale["domain"], scale["range"], strict=True)))
    return found


def _bar_keys(at: AppTest) -> list[list[str]]:
    """Each chart over time's bar keys (the first day of each bucket), in order."""
    import json

    found = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        if spec.get("encoding", {}).get("x", {}).get("field") != "key":
            continue
        (data,) = chart.proto.datasets
        rows = pa.ipc.open_stream(data.data.data).read_all()
        found.append(sorted(set(rows.column("key").to_pylist())))
    return found


def test_bars__90_days_in_weeks_on_every_page_until_the_viewer_picks_days():
    """The sidebar's "Bars per" holds for every chart over time: 90 days suggest weeks (13 bars of
    Mondays), 30 days days; a pick travels in the link, and the link brings it back."""
    at = app()
    at.query_params["range"] = "last_90_days"
    at.run()
    no_exceptions(at)
    bars = at.sidebar.radio(key="time_bucket_week")
    assert bars.value == "week" and bars.label == "Bars per"
    for page in PAGES[:4]:
        at.switch_page(page).run()
        no_exceptions(at)
        keys = _bar_keys(at)
        assert len(keys) >= 2, page  # each page's charts over time
        for chart in keys:
            assert 12 <= len(chart) <= 14, page
            assert all(date.fromisoformat(k).weekday() == 0 for k in chart), page
        assert "bars" not in at.query_params  # the range's own suggestion: not in the link
    at.sidebar.radio(key="time_bucket_week").set_value("day").run()
    no_exceptions(at)
    assert url_values(at, "bars") == ["day"]
    assert all(len(chart) == 90 for chart in _bar_keys(at))  # Projects & keys, per day
    at.switch_page(PAGES[1]).run()  # Models keeps the pick
    assert all(len(chart) == 90 for chart in _bar_keys(at))
    at.sidebar.selectbox(key="range_preset").set_value("last_30_days").run()
    assert at.sidebar.radio(key="time_bucket_day").value == "day"  # 30 days: days
    assert "bars" not in at.query_params
    linked = app()
    linked.query_params["range"] = "last_90_days"
    linked.query_params["bars"] = "day"
    linked.run()
    no_exceptions(linked)
    assert linked.sidebar.radio(key="time_bucket_week").value == "day"
    assert all(len(chart) == 90 for chart in _bar_keys(linked))
    assert url_values(linked, "bars") == ["day"]


def test_colours__a_model_keeps_its_colour_across_ranges_and_pages():
    at = app()
    at.query_params["range"] = "last_30_days"
    at.run()
    # spend over time by model (the demo's spend-by-provider chart comes first: its colours are
    # the providers')
    month = next(c for c in _colours(at) if "openai" not in c)
    at.sidebar.selectbox(key="range_preset").set_value("last_90_days").run()
    quarter = next(c for c in _colours(at) if "openai" not in c)
    shared = set(month) & set(quarter) - {analysis.OTHERS}
    assert len(shared) >= 5
    assert {g: month[g] for g in shared} == {g: quarter[g] for g in shared}
    at.switch_page(PAGES[1]).run()  # Models: two charts of snapshot ids, one colour each
    by_cost, by_tokens = _colours(at)
    both = set(by_cost) & set(by_tokens) - {analysis.OTHERS}
    assert both and {g: by_cost[g] for g in both} == {g: by_tokens[g] for g in both}
    for chart in (month, quarter, by_cost, by_tokens):
        assert len(set(chart.values())) == len(chart)  # no two groups of a chart share one
    # a snapshot on Models has its family's colour on the Overview (gpt-4o-2024-08-06 as gpt-4o)
    pairs = [(g, charts.color_family(g)) for g in by_cost if charts.color_family(g) in quarter]
    assert len(pairs) >= 3 and any(g != family for g, family in pairs)
    assert {g: by_cost[g] for g, _ in pairs} == {g: quarter[family] for g, family in pairs}


def test_filters__a_project_narrows_the_keys_and_users_offered():
    at = app()
    at.run()
    frame = demo_frame()
    projects = at.sidebar.multiselect(key="filter_projects")
    every_key = set(at.sidebar.multiselect(key="filter_keys").options)
    chosen = projects.options[0]
    at.sidebar.multiselect(key="filter_projects").select(chosen).run()
    no_exceptions(at)
    project_id = at.session_state["filter_projects"][0]
    rows = frame[frame["project_id"] == project_id]
    keys = at.sidebar.multiselect(key="filter_keys")
    users = at.sidebar.multiselect(key="filter_users")
    # only the project's own keys and users are offered (options are the names shown)
    assert 0 < len(keys.options) < len(every_key)
    assert len(keys.options) == rows["api_key_id"].nunique()
    assert len(users.options) == rows["user_id"].fillna(analysis.NO_USER).nunique()


def test_filters__the_active_filters_show_at_the_top_of_every_page():
    at = app()
    at.run()
    assert not any("Filtered" in c.value for c in at.caption)  # the whole organization
    model = at.sidebar.multiselect(key="filter_models").options[0]
    at.sidebar.multiselect(key="filter_models").select(model).run()
    for page in [PAGES[0], *PAGES[1:], BUDGETS]:
        at.switch_page(page).run()
        no_exceptions(at)
        lines = [c.value for c in at.caption if "Filtered" in c.value]
        assert lines and "**Models:**" in lines[0], page
        assert fmt.escape_markdown(model) in lines[0]


def test_month_to_date__on_the_first_the_month_has_just_begun(monkeypatch, fake_openai):
    """On the 1st no day of the month is complete: say so, not "widen the filters"."""
    from spend.ui import view

    first = today().replace(day=1) - timedelta(days=31)
    first = first.replace(day=1)  # a 1st in the past, whose month the fake has no usage for
    fake_openai.reset(days=20, end_date=first - timedelta(days=1))
    monkeypatch.setattr("spend.dates.utc_now", lambda: noon(first))
    at = app(
        **legacy_secrets(fake_openai),
    )
    at.query_params["range"] = "month_to_date"
    run_until_complete(at)
    no_exceptions(at)
    assert any(view.JUST_BEGUN in i.value for i in at.info), [i.value for i in at.info]
    assert not any(view.NO_ROWS in i.value for i in at.info)


def test_shared__two_sessions_read_one_table_object():
    """Every viewer of one dataset reads the same read-only table: no per-session copy."""
    first, second = app(), app()
    first.run()
    second.run()
    one, two = (at.session_state["_spend_view"] for at in (first, second))
    assert one.full is two.full and one.frame is two.frame and one.history is two.history
    assert isinstance(one.full["model"].dtype, pd.CategoricalDtype)  # compact, shared
    second.sidebar.selectbox(key="range_preset").set_value("last_7_days").run()
    third = app()
    third.query_params["range"] = "last_7_days"
    third.run()
    assert second.session_state["_spend_view"].frame is third.session_state["_spend_view"].frame


# --- like-for-like deltas (issue 19) --------------------------------------------------------------

DEC_5 = date(2026, 12, 5)  # a Saturday: month to date is Dec 1-4, Tuesday to Friday


def billed_change(fake, current: tuple[date, date], previous: tuple[date, date]) -> float:
    """The server's billed money per day over two periods into their change, e.g. 0.04."""
    now = float(fake.costs_total(*current)) / ((current[1] - current[0]).days + 1)
    then = float(fake.costs_total(*previous)) / ((previous[1] - previous[0]).days + 1)
    return now / then - 1


@pytest.mark.parametrize(
    "preset, current, previous, caption, old_previous",
    [
        # Dec 1-4 (Tue-Fri) against the same weekdays a week before; it was Nov 1-4 (Sun-Wed)
        (
            "month_to_date",
            (date(2026, 12, 1), date(2026, 12, 4)),
            (date(2026, 11, 24), date(2026, 11, 27)),
            "Changes: Dec 1–4 vs Nov 24–27: the same weekdays a week earlier.",
            (date(2026, 11, 1), date(2026, 11, 4)),
        ),
        # November against October, per day (30 days against 31); it was the totals
        (
            "last_month",
            (date(2026, 11, 1), date(2026, 11, 30)),
            (date(2026, 10, 1), date(2026, 10, 31)),
            "Changes: November vs October, per day.",
            None,
        ),
    ],
)
def test_overview__deltas_compare_like_with_like(
    monkeypatch, fake_openai, preset, current, previous, caption, old_previous
):
    fake_openai.reset(days=80, end_date=DEC_5 - timedelta(days=1))
    monkeypatch.setattr("spend.dates.utc_now", lambda: noon(DEC_5))
    at = app(**admin_secrets(fake_openai))
    at.query_params["range"] = preset
    run_until_complete(at)
    no_exceptions(at)
    spend = metric(at, "Spend (billed)")
    expected = billed_change(fake_openai, current, previous)
    assert spend.delta == fmt.delta_pct(expected)
    # one caption under the row says what every change compares
    assert [c.value for c in at.caption if "Changes:" in c.value] == [
        f":material/compare_arrows: {caption}"
    ]
    # the old comparison reads differently, so this test tells them apart
    old = (
        float(fake_openai.costs_total(*current)) / float(fake_openai.costs_total(*previous)) - 1
        if old_previous is None
        else billed_change(fake_openai, current, old_previous)
    )
    assert fmt.delta_pct(old) != spend.delta


def test_overview__no_change_when_the_compared_days_are_not_loaded(monkeypatch, fake_openai):
    # The organization's data begins Nov 30: Dec 1-4 has nothing whole to compare with.
    fake_openai.reset(days=5, end_date=DEC_5 - timedelta(days=1))
    monkeypatch.setattr("spend.dates.utc_now", lambda: noon(DEC_5))
    at = app(**admin_secrets(fake_openai))
    at.query_params["range"] = "month_to_date"
    run_until_complete(at)
    no_exceptions(at)
    assert not metric(at, "Spend (billed)").delta
    assert [c.value for c in at.caption if "compares with" in c.value] == [
        ":material/compare_arrows: No changes: Nov 24–27, what Dec 1–4 compares with, is not all "
        "in the data."
    ]


# --- both providers (issue 20) ----------------------------------------------------------------


@pytest.fixture
def claude(fake_openai):
    """The fake Anthropic Admin API with usage on the fake OpenAI's last ten days (to today)."""
    from tests.fake_anthropic import FakeAnthropic

    with FakeAnthropic(fake_openai.days[-10:]) as fake:
        yield fake


def anthropic_secrets(fake, *, key: bool = True) -> dict[str, str]:
    from tests.fake_anthropic import ADMIN_KEY as ANTHROPIC_KEY

    return {
        **({"ANTHROPIC_ADMIN_KEY": ANTHROPIC_KEY} if key else {}),
        "ANTHROPIC_BASE_URL": fake.base_url,
        "SPEND_RATE_LIMIT_PER_MIN": "60000",
    }


def both_secrets(fake_openai, claude) -> dict[str, str]:
    """The fake OpenAI's admin key and the fake Anthropic's, as the app's own secrets."""
    return {**admin_secrets(fake_openai), **anthropic_secrets(claude)}


def settle(at: AppTest) -> AppTest:
    from tests.apptest_support import settled

    settled(at)
    no_exceptions(at)
    assert not at.error, [e.value for e in at.error]
    return at


def shown_text(at: AppTest) -> str:
    elements = (*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.metric)
    return " ".join(str(getattr(e, "value", "")) + str(getattr(e, "label", "")) for e in elements)


@pytest.mark.parametrize("page", [*PAGES, BUDGETS])
def test_both_providers__every_page_renders_and_the_provider_filter_narrows_it(
    fake_openai, claude, page
):
    at = app(**both_secrets(fake_openai, claude))
    settle(at)
    if page != PAGES[0]:
        settle(at.switch_page(page))
    view = at.session_state["_spend_view"]
    assert set(view.frame["provider"]) == {"openai", "anthropic"}
    assert set(at.multiselect(key="filter_providers").options) == {"OpenAI", "Anthropic"}
    at.multiselect(key="filter_providers").select("anthropic")
    settle(at)
    view = at.session_state["_spend_view"]
    assert set(view.frame["provider"]) == {"anthropic"}
    assert at.query_params["provider"] in ("anthropic", ["anthropic"])


def test_filters__a_choice_the_app_drops_renews_its_widget(fake_openai, claude):
    """The filters are in a popover, whose closed widgets keep in the browser the value they last
    saw (and send it again): when the app drops a choice (here the source no longer has the
    model), the widget gets a new key holding the app's choice; a choice the viewer makes keeps
    the key. (AppTest sends the app's value back, never a stale one: the browser test
    ``test_filters__a_choice_the_app_drops_stays_dropped_when_it_could_come_back`` shows what
    the new key prevents.)"""
    at = settle(app(**both_secrets(fake_openai, claude)))
    model = next(m for m in at.multiselect(key="filter_models").options if m.startswith("claude"))
    at.multiselect(key="filter_models").select(model)
    settle(at)
    assert at.multiselect(key="filter_models").value == [model]  # the viewer's choice: same key
    assert url_values(at, "model") == [model]
    at.sidebar.selectbox(key="source_choice").set_value("admin")
    settle(at)
    keys = [m.key for m in at.multiselect if m.key.startswith("filter_models")]
    assert keys == ["filter_models.1"]  # renewed: the browser's copy of the old one is ignored
    assert at.multiselect(key="filter_models.1").value == []
    assert "model" not in at.query_params
    at.sidebar.selectbox(key="source_choice").set_value("auto")
    settle(at)
    assert at.multiselect(key="filter_models.1").value == []  # not brought back
    assert "model" not in at.query_params
    assert model in at.multiselect(key="filter_models.1").options
    assert filters_labels(at) == ["Filters"]


@pytest.mark.parametrize("page", [None, TEAMS], ids=["overview", "teams-without-teams"])
def test_filters__a_filter_hidden_for_a_while_comes_back_empty(fake_openai, claude, page):
    """Anthropic chosen, then OpenAI alone (one provider: no provider filter), then both again:
    the provider filter is empty, also where every run ends in ``st.stop`` (the Teams page with no
    teams), which skips Streamlit's clean-up of widgets not drawn."""
    at = settle(app(**both_secrets(fake_openai, claude)))
    if page:
        settle(at.switch_page(page))
    at.multiselect(key="filter_providers").select("anthropic")
    settle(at)
    assert at.session_state["_spend_view"].filters["filter_providers"] == ["anthropic"]
    at.sidebar.selectbox(key="source_choice").set_value("admin")
    settle(at)
    assert not [m for m in at.multiselect if m.key.startswith("filter_providers")]
    at.sidebar.selectbox(key="source_choice").set_value("auto")
    settle(at)
    assert at.session_state["_spend_view"].filters["filter_providers"] == []
    assert "provider" not in at.query_params
    [providers] = [m for m in at.multiselect if m.key.startswith("filter_providers")]
    assert providers.value == []


def test_filters__a_choice_the_app_sets_travels_with_its_widget_on_every_run():
    """A link's model is the app's choice, not the browser's: the widget carries it (``set_value``)
    on every run, so the popover, opened after a few runs, shows it (drawn without it, the widget
    would start empty in the browser and send that back)."""
    model = "text-embedding-3-small"
    at = app()
    at.query_params["model"] = model
    for _ in range(3):
        at.run()
        no_exceptions(at)
        widget = at.multiselect(key="filter_models")
        assert widget.proto.set_value and list(widget.proto.raw_values) == [model]
        assert at.session_state["_spend_view"].filters["filter_models"] == [model]


def test_both_providers__overview_shows_spend_by_provider_and_requests_for_openai_only(
    fake_openai, claude
):
    at = settle(app(**both_secrets(fake_openai, claude)))
    badges = [m.value for m in at.sidebar.markdown if "-badge[" in m.value]
    assert badges == [  # one badge per source, each named (not one slot overwritten)
        ":green-badge[:material/database: Admin Usage & Costs API · admin key]",
        ":green-badge[:material/database: Anthropic Admin API]",
    ]
    view = at.session_state["_spend_view"]
    expected = analysis.by_provider(view.frame).set_index("provider")
    assert {"OpenAI", "Anthropic"} <= {m.label.split(" (")[0] for m in at.metric}
    for _provider, row in expected.iterrows():
        shown = metric(at, f"{row['label']} ({row['basis']})")
        assert shown.value == fmt.usd(row["spend"])
    # both bill: Anthropic's cost report, OpenAI's Costs API
    start, end = claude.days[0], claude.days[-1]
    anthropic = expected.loc["anthropic"]
    assert anthropic["basis"] == "billed"
    billed = view.frame[
        view.frame["provider"].eq("anthropic") & view.frame["cost_basis"].eq("billed")
    ]["cost_usd"].sum()
    assert anthropic["spend"] == pytest.approx(float(billed))
    assert float(billed) == pytest.approx(float(claude.cost_total(start, end)))
    totals = analysis.totals(view.history, start=view.start, end=view.end)
    assert metric(at, "Requests").value == fmt.integer(totals.requests)
    assert totals.requests > 0
    assert any(
        "Requests count OpenAI only: Anthropic reports no request count." in c.value
        for c in at.caption
    )


def test_both_providers__claude_requests_show_a_dash_on_models_users_projects(fake_openai, claude):
    at = settle(app(**both_secrets(fake_openai, claude)))
    settle(at.switch_page(PAGES[1]))  # Models
    table = at.dataframe[0].value
    claude_rows = table[table["model"].astype(str).str.startswith("claude")]
    gpt_rows = table[~table["model"].astype(str).str.startswith("claude")]
    assert len(claude_rows) and claude_rows["requests"].isna().all()  # drawn as "—", never 0
    assert len(gpt_rows) and gpt_rows["requests"].notna().all()
    assert "Requests count OpenAI only" in shown_text(at)
    settle(at.switch_page(PAGES[3]))  # Projects & keys
    projects = at.dataframe[0].value.set_index("id")
    frame = at.session_state["_spend_view"].frame
    workspaces = set(frame.loc[frame["provider"].eq("anthropic"), "project_id"])
    assert {"wrkspc_01Research", "default"} <= workspaces
    assert (projects["requests"].isna() == projects.index.isin(workspaces)).all()
    settle(at.switch_page(PAGES[2]))  # Users
    assert "Requests count OpenAI only" in shown_text(at)
    assert "Claude usage is under (no user)" in shown_text(at)


def test_anthropic_only__every_page_works_and_requests_are_a_dash(claude):
    at = settle(app(**anthropic_secrets(claude)))
    view = at.session_state["_spend_view"]
    assert set(view.frame["provider"]) == {"anthropic"}
    assert metric(at, "Requests").value == fmt.DASH
    assert metric(at, "Spend (billed)").value == fmt.usd(
        analysis.totals(view.history, start=view.start, end=view.end).spend
    )
    assert "filter_providers" not in [m.key for m in at.multiselect]
    assert not [m for m in at.metric if m.label.startswith("Anthropic (")]  # one provider
    assert "No request counts: Anthropic reports tokens, not requests." in shown_text(at)
    for page in [*PAGES[1:], BUDGETS]:
        settle(at.switch_page(page))


def test_connection__an_anthropic_key_typed_in_the_sidebar_lives_in_the_session(claude):
    from tests.fake_anthropic import ADMIN_KEY as ANTHROPIC_KEY

    at = settle(app(**anthropic_secrets(claude, key=False)))
    assert at.session_state["_spend_view"].source == "demo"
    field = at.sidebar.text_input(key="key_anthropic")
    assert field.label == "Anthropic admin key" and field.placeholder == "optional"
    field.input(ANTHROPIC_KEY)
    settle(at)
    view = at.session_state["_spend_view"]
    assert set(view.frame["provider"]) == {"anthropic"}
    assert claude.count() > 0
    assert ANTHROPIC_KEY not in shown_text(at)
    assert all(ANTHROPIC_KEY not in str(v) for v in at.query_params.values())


def test_connection__the_apps_anthropic_key_never_reaches_the_browser(fake_openai, claude):
    from tests.fake_anthropic import ADMIN_KEY as ANTHROPIC_KEY

    at = settle(app(**both_secrets(fake_openai, claude)))
    field = at.sidebar.text_input(key="key_anthropic")
    assert field.value == "" and field.placeholder == "configured by the app (leave empty)"
    assert ANTHROPIC_KEY not in shown_text(at)


def test_demo__overview_shows_both_providers_and_requests_count_openai_only():
    at = app()
    at.run()
    no_exceptions(at)
    frame = demo_frame()
    start, end = preset_range("last_30_days", today())
    shown = analysis.filter_usage(frame, start=start, end=end)
    expected = analysis.by_provider(shown)
    assert list(expected["provider"]) == ["openai", "anthropic"]
    for row in expected.itertuples(index=False):
        assert metric(at, f"{row.label} (estimated)").value == fmt.usd(row.spend)
    assert 0.15 < float(expected.loc[expected["provider"].eq("anthropic"), "share"].iloc[0]) < 0.4
    totals = analysis.totals(frame, start=start, end=end)
    openai_only = shown[shown["provider"].eq("openai")]
    assert totals.requests == int(openai_only["n_requests"].sum())
    assert metric(at, "Requests").value == fmt.integer(totals.requests)
    assert any("Requests count OpenAI only" in c.value for c in at.caption)


def test_connection__a_typed_key_runs_the_session_on_the_viewers_keys_alone(fake_openai, claude):
    """The app holds an OpenAI admin key; a viewer types an Anthropic key of their own: the
    session shows the viewer's organization only, never the app's beside it."""
    from tests.fake_anthropic import ADMIN_KEY as ANTHROPIC_KEY

    at = settle(app(**{**admin_secrets(fake_openai), **anthropic_secrets(claude, key=False)}))
    assert set(at.session_state["_spend_view"].frame["provider"]) == {"openai"}
    at.sidebar.text_input(key="key_anthropic").input(ANTHROPIC_KEY)
    settle(at)
    assert set(at.session_state["_spend_view"].frame["provider"]) == {"anthropic"}
    badges = [m.value for m in at.sidebar.markdown if "-badge[" in m.value]
    assert badges == [":green-badge[:material/database: Anthropic Admin API]"]


def test_budgets__a_provider_budget_on_the_demos_claude_share():
    from spend.budgets import month_start

    claude = {"scope": "provider", "id": "anthropic", "monthly_usd": 1_000_000}
    at = app(budgets={"budget": [claude]})
    at.run()
    at.switch_page(BUDGETS).run()
    no_exceptions(at)
    table = at.dataframe[0].value
    assert list(table["scope"]) == ["provider"] and table["name"][0] == "Anthropic (provider)"
    as_of = today() - timedelta(days=1)
    frame = demo_frame()
    month = frame[
        frame["provider"].eq("anthropic")
        & (frame["date"] >= pd.Timestamp(month_start(as_of)))
        & (frame["date"] <= pd.Timestamp(as_of))
    ]
    assert table["spent"][0] == pytest.approx(round(float(month["cost_usd"].sum()), 2))
    assert table["basis"][0] == "estimated"


def test_budgets__money_columns_read_like_every_other_table(tmp_path):
    """The budgets and spikes tables format money as the other pages do ($1,234.56 with a printf
    format the grid parses once)."""
    import json

    from spend.ui import tables

    budgets = tmp_path / "budgets.toml"
    budgets.write_text('[[budget]]\nscope = "organization"\nmonthly_usd = 900\n', encoding="utf-8")
    at = app(SPEND_BUDGETS_FILE=str(budgets))
    at.run()
    at.switch_page(BUDGETS).run()
    no_exceptions(at)
    formats = {}
    for table in at.dataframe:
        for name, config in json.loads(table.proto.columns or "{}").items():
            formats[name] = config.get("type_config", {}).get("format")
    for name in ("spent", "budget", "forecast", "cost_usd", "typical_usd"):
        assert formats.get(name) == tables.MONEY_FORMAT, (name, formats)
