"""Anthropic beside OpenAI (issue 20): the Anthropic source against its documented example bodies,
the mapping of its fields onto the usage table, Claude prices, and end to end with the CLI against
the fake Anthropic Admin API (``tests/fake_anthropic.py``), alone and beside the fake OpenAI
server."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
import requests

from spend import cli, errors, pricing, sources
from spend.config import Settings
from spend.runner import Run
from spend.sources.anthropic import (
    DEFAULT_WORKSPACE_ID,
    DEFAULT_WORKSPACE_NAME,
    PRIORITY_NOTICE,
    AnthropicSource,
    anthropic_api,
    api_keys_to_frame,
    cost_page,
    costs_to_frame,
    list_page,
    usage_page,
    usage_to_frame,
    workspaces_to_frame,
)
from tests.clock import FakeClock
from tests.fake_anthropic import ADMIN_KEY, HOSTILE_NAME, NORMAL_KEY, FakeAnthropic
from tests.fake_openai import ADMIN_KEY as OPENAI_ADMIN_KEY

END = date(2026, 11, 20)
DAYS = [END - timedelta(days=19 - i) for i in range(20)]
USAGE = "/v1/organizations/usage_report/messages"
COSTS = "/v1/organizations/cost_report"

# --- the documented example bodies (API-NOTES §6, from Anthropic's API reference) ---------------

DOC_USAGE = {
    "data": [
        {
            "starting_at": "2025-11-03T00:00:00Z",
            "ending_at": "2025-11-04T00:00:00Z",
            "results": [
                {
                    "uncached_input_tokens": 0,
                    "cache_creation": {
                        "ephemeral_1h_input_tokens": 0,
                        "ephemeral_5m_input_tokens": 0,
                    },
                    "cache_read_input_tokens": 0,
                    "output_tokens": 0,
                    "server_tool_use": {"web_search_requests": 0},
                    "api_key_id": None,
                    "workspace_id": None,
                    "model": None,
                    "service_tier": None,
                    "context_window": None,
                }
            ],
        }
    ],
    "has_more": False,
    "next_page": None,
}
DOC_COSTS = {
    "data": [
        {
            "starting_at": "2025-08-01T00:00:00Z",
            "ending_at": "2025-08-02T00:00:00Z",
            "results": [
                {
                    "currency": "USD",
                    "amount": "123.78912",
                    "workspace_id": "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ",
                    "description": "Claude Sonnet 4 Usage - Input Tokens",
                    "cost_type": "tokens",
                    "context_window": "0-200k",
                    "model": "claude-sonnet-4-20250514",
                    "service_tier": "standard",
                    "token_type": "uncached_input_tokens",
                    "inference_geo": "global",
                }
            ],
        }
    ],
    "has_more": True,
    "next_page": "page_MjAyNS0wNS0xNFQwMDowMDowMFo=",
}


def test_contract__the_documented_usage_body_is_usable():
    usage_page(DOC_USAGE)
    frame = usage_to_frame([DOC_USAGE])
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["date"] == pd.Timestamp("2025-11-03") and row["operation"] == "completion"
    assert (row["project_id"], row["project_name"]) == (DEFAULT_WORKSPACE_ID, "Default workspace")
    assert pd.isna(row["n_requests"]) and pd.isna(row["api_key_id"]) and pd.isna(row["model"])
    assert row["input_tokens"] == row["output_tokens"] == row["cache_write_tokens"] == 0


def test_contract__the_documented_cost_body_is_usable_and_in_cents():
    cost_page(DOC_COSTS)
    frame = costs_to_frame([DOC_COSTS])
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["cost_usd"] == pytest.approx(1.2378912, abs=1e-12)  # "123.78912" cents
    assert (row["cost_basis"], row["operation"], row["currency"]) == ("billed", "cost", "usd")
    assert row["line_item"] == "Claude Sonnet 4 Usage - Input Tokens"
    assert row["project_id"] == "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"
    assert pd.isna(row["n_requests"]) and row["source"] == "anthropic"


def test_contract__the_documented_list_body_is_usable():
    body = {
        "data": [
            {
                "id": "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ",
                "type": "workspace",
                "name": "Workspace Name",
                "created_at": "2024-10-30T23:58:27.427722Z",
                "archived_at": None,
                "display_color": "#6C5BB9",
            }
        ],
        "has_more": True,
        "first_id": "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ",
        "last_id": "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ",
    }
    list_page(body)
    table = workspaces_to_frame([body])
    assert table.iloc[0]["project_name"] == "Workspace Name"
    assert not table.iloc[0]["archived"]


def _with(body: dict, **changes) -> dict:
    result = {**body["data"][0]["results"][0], **changes}
    return {**body, "data": [{**body["data"][0], "results": [result]}]}


@pytest.mark.parametrize(
    ("validator", "body", "says"),
    [
        (usage_page, _with(DOC_USAGE, output_tokens=None), "output_tokens is missing"),
        (usage_page, _with(DOC_USAGE, output_tokens=-5), "count"),
        (usage_page, _with(DOC_USAGE, uncached_input_tokens=1e30), "count"),
        (usage_page, _with(DOC_USAGE, cache_read_input_tokens="many"), "count"),
        (
            usage_page,
            _with(DOC_USAGE, cache_creation={"ephemeral_1h_input_tokens": -1}),
            "cache_creation.ephemeral_1h_input_tokens",
        ),
        (usage_page, _with(DOC_USAGE, server_tool_use=[1]), "server_tool_use is list"),
        (usage_page, {**DOC_USAGE, "has_more": True}, "next_page is not a cursor"),
        (usage_page, {"data": None}, "'data'"),
        (usage_page, None, "null instead of"),
        (
            usage_page,
            {"type": "error", "error": {"type": "api_error", "message": "boom"}},
            'an error instead of a page of Anthropic usage: "boom"',
        ),
        (
            usage_page,
            {**DOC_USAGE, "data": [{**DOC_USAGE["data"][0], "starting_at": 1762128000}]},
            "starting_at is 1762128000, not a time",
        ),
        (cost_page, _with(DOC_COSTS, amount="twelve"), "not an amount"),
        (cost_page, _with(DOC_COSTS, amount="1e20"), "not a sane amount"),
        (cost_page, _with(DOC_COSTS, amount=None), "amount is missing"),
        (list_page, {"data": ["x"], "has_more": False}, "data[0] is str"),
        (list_page, {"data": [], "has_more": True, "last_id": None}, "last_id is not a cursor"),
    ],
)
def test_contract__answers_that_must_never_be_kept(validator, body, says):
    with pytest.raises(errors.MalformedResponseError, match=None) as caught:
        validator(body)
    assert says in caught.value.message


# --- the mapping onto the usage table ----------------------------------------------------------


def page(*results: dict, day: str = "2026-11-02") -> dict:
    return {
        "data": [
            {
                "starting_at": f"{day}T00:00:00Z",
                "ending_at": f"{day}T23:59:59Z",
                "results": list(results),
            }
        ],
        "has_more": False,
        "next_page": None,
    }


def result(**fields) -> dict:
    base = {
        "uncached_input_tokens": 100,
        "cache_creation": {"ephemeral_5m_input_tokens": 20, "ephemeral_1h_input_tokens": 10},
        "cache_read_input_tokens": 50,
        "output_tokens": 40,
        "server_tool_use": {"web_search_requests": 0},
        "api_key_id": "apikey_1",
        "workspace_id": "wrkspc_1",
        "model": "claude-sonnet-4-5-20250929",
        "service_tier": "standard",
        "context_window": "0-200k",
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (  # input = uncached + both cache writes + cache reads; cached = reads
            result(),
            [
                {
                    "operation": "completion",
                    "input_tokens": 180,
                    "cached_input_tokens": 50,
                    "output_tokens": 40,
                    "cache_write_tokens": 30,
                    "cache_write_1h_tokens": 10,
                    "batch": False,
                }
            ],
        ),
        (  # web searches are tool calls in units, a row of their own, never requests
            result(server_tool_use={"web_search_requests": 7}),
            [
                {"operation": "completion", "input_tokens": 180, "units": None},
                {"operation": "web_search", "input_tokens": 0, "units": 7.0, "unit": "calls"},
            ],
        ),
        (  # searches only: no empty completion row
            result(
                uncached_input_tokens=0,
                cache_creation=None,
                cache_read_input_tokens=0,
                output_tokens=0,
                server_tool_use={"web_search_requests": 3},
            ),
            [{"operation": "web_search", "units": 3.0}],
        ),
        (  # the batch tier is batch; no cache_creation object is no cache writes
            result(service_tier="batch", cache_creation=None),
            [
                {
                    "batch": True,
                    "service_tier": "batch",
                    "input_tokens": 150,
                    "cache_write_tokens": 0,
                }
            ],
        ),
        (  # the default workspace (null) is named; Console usage has no key
            result(workspace_id=None, api_key_id=None),
            [{"project_id": DEFAULT_WORKSPACE_ID, "project_name": DEFAULT_WORKSPACE_NAME}],
        ),
        (  # long context is kept for pricing; a snapshot's family drops its date
            result(context_window="200k-1M"),
            [{"context_window": "200k-1M", "model_family": "claude-sonnet-4-5"}],
        ),
    ],
)
def test_mapping__usage_fields_onto_the_usage_table(given, expected):
    frame = usage_to_frame([page(given)])
    assert len(frame) == len(expected)
    for (_, row), want in zip(frame.iterrows(), expected, strict=True):
        for column, value in want.items():
            if value is None:
                assert pd.isna(row[column]), column
            else:
                assert row[column] == value, column
        assert pd.isna(row["n_requests"])  # the report has no request count: NA, never 0
        assert row["source"] == "anthropic" and row["provider"] == "anthropic"


def test_mapping__results_of_one_day_and_group_add_up_and_other_days_are_left_out():
    pages = [page(result(), result()), page(result(), day="2026-11-05")]
    frame = usage_to_frame(pages, days=(date(2026, 11, 1), date(2026, 11, 3)))
    assert len(frame) == 1 and frame.iloc[0]["input_tokens"] == 360
    assert frame.iloc[0]["cache_write_1h_tokens"] == 20


def test_mapping__costs_sum_in_decimal_per_workspace_and_description():
    results = [
        {"currency": "USD", "amount": "0.1", "workspace_id": None, "description": "d"},
        {"currency": "USD", "amount": "0.2", "workspace_id": None, "description": "d"},
        {"currency": "EUR", "amount": "5", "workspace_id": "w", "description": "d"},
    ]
    frame = costs_to_frame([page(*results)])
    usd = frame[frame["currency"] == "usd"].iloc[0]
    assert usd["cost_usd"] == 0.003  # 0.3 cents, added in Decimal (0.1 + 0.2 floats would drift)
    assert usd["project_name"] == DEFAULT_WORKSPACE_NAME
    eur = frame[frame["currency"] == "eur"].iloc[0]
    assert pd.isna(eur["cost_usd"])  # another currency is never added to dollars
    assert frame.attrs["non_usd_currencies"] == {"eur": 1}


def test_mapping__names_of_workspaces_and_keys_are_kept_as_text():
    spaces = workspaces_to_frame(
        [{"data": [{"id": "w", "name": HOSTILE_NAME, "archived_at": "2025-01-01T00:00:00Z"}]}]
    )
    assert spaces.iloc[0]["project_name"] == HOSTILE_NAME and spaces.iloc[0]["archived"]
    keys = api_keys_to_frame(
        [{"data": [{"id": "k", "name": "<b>x</b>", "workspace_id": None, "created_by": None}]}]
    )
    assert keys.iloc[0]["api_key_name"] == "<b>x</b>"
    assert keys.iloc[0]["project_id"] == DEFAULT_WORKSPACE_ID


# --- prices -------------------------------------------------------------------------------------


def priced(model: str, day: str, **fields) -> pd.Series:
    frame = usage_to_frame([page(result(model=model, **fields), day=day)])
    return pricing.attach_prices(frame).iloc[0]


@pytest.mark.parametrize(
    ("model", "prices"),
    [  # per 1M: input, output; cache reads 0.1x, 5-minute writes 1.25x, 1-hour writes 2x input
        ("claude-sonnet-4-5-20250929", (3.0, 15.0)),
        ("claude-haiku-4-5-20251001", (1.0, 5.0)),
        ("claude-opus-4-1-20250805", (15.0, 75.0)),
    ],
)
def test_prices__every_claude_token_kind_at_its_list_price(model, prices):
    """docs.anthropic.com/en/docs/about-claude/pricing (API-NOTES §6)."""
    inp, out = prices
    row = priced(
        model,
        "2026-11-02",
        uncached_input_tokens=1_000_000,
        cache_creation={
            "ephemeral_5m_input_tokens": 1_000_000,
            "ephemeral_1h_input_tokens": 1_000_000,
        },
        cache_read_input_tokens=1_000_000,
        output_tokens=1_000_000,
    )
    assert row["cost_basis"] == "estimated"
    expected = inp + 1.25 * inp + 2 * inp + 0.1 * inp + out
    assert row["cost_usd"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("model", "day"),
    [
        # genai-prices 0.2.3 has a batch price for Sonnet 4.5 and Haiku 4.5 only from 2026-10-14
        ("claude-sonnet-4-5-20250929", "2025-10-01"),
        ("claude-sonnet-4-5-20250929", "2026-11-02"),
        ("claude-haiku-4-5-20251001", "2025-10-20"),
        ("claude-haiku-4-5-20251001", "2026-11-02"),
        # and none for Opus 4.1
        ("claude-opus-4-1-20250805", "2025-08-10"),
        ("claude-opus-4-1-20250805", "2026-11-02"),
    ],
)
def test_prices__claude_batch_is_half_of_standard_from_launch(model, day):
    """Anthropic bills batch at 50 % of standard, cache writes and reads included, from each
    model's launch (docs.anthropic.com/en/docs/build-with-claude/batch-processing, Pricing)."""
    standard = priced(model, day, service_tier="standard")
    batch = priced(model, day, service_tier="batch")
    assert standard["cost_usd"] > 0 and not batch["cost_lower_bound"]
    assert batch["cost_usd"] == pytest.approx(0.5 * standard["cost_usd"], rel=1e-12)


@pytest.mark.parametrize(
    ("model", "long"),
    [  # above 200K input tokens (Long context pricing): input, output, read, 5m, 1h per 1M
        ("claude-sonnet-4-5-20250929", (6.0, 22.5, 0.6, 7.5, 12.0)),  # genai-prices' tier
        ("claude-sonnet-4-20250514", (6.0, 22.5, 0.6, 7.5, 12.0)),  # spend/prices.toml
    ],
)
def test_prices__the_200k_1m_context_window_is_billed_at_the_long_context_tier(model, long):
    counts = (1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000)
    fields = dict(
        uncached_input_tokens=counts[0],
        output_tokens=counts[1],
        cache_read_input_tokens=counts[2],
        cache_creation={
            "ephemeral_5m_input_tokens": counts[3],
            "ephemeral_1h_input_tokens": counts[4],
        },
    )
    row = priced(model, "2026-11-02", context_window="200k-1M", **fields)
    assert row["cost_usd"] == pytest.approx(sum(long), rel=1e-9)
    short = priced(model, "2026-11-02", context_window="0-200k", **fields)
    assert short["cost_usd"] == pytest.approx(3 + 15 + 0.3 + 3.75 + 6, rel=1e-9)


@pytest.mark.parametrize("tier", ["priority", "priority_on_demand"])
def test_prices__a_claude_priority_row_is_marked_a_lower_bound(tier):
    """No per-token priority price is known here: priced at the standard rate and flagged, since
    the bill is higher (and Anthropic's cost report leaves priority out)."""
    row = priced("claude-sonnet-4-5-20250929", "2026-11-02", service_tier=tier)
    standard = priced("claude-sonnet-4-5-20250929", "2026-11-02", service_tier="standard")
    assert row["cost_lower_bound"] and row["cost_usd"] == standard["cost_usd"]
    assert not standard["cost_lower_bound"]


def test_prices__an_unknown_claude_model_is_unpriced_never_zero():
    row = priced("claude-nova-9-20991231", "2026-11-02")
    assert row["cost_basis"] == "unpriced" and pd.isna(row["cost_usd"])


def test_prices__web_searches_at_ten_dollars_a_thousand():
    frame = usage_to_frame([page(result(server_tool_use={"web_search_requests": 500}))])
    search = pricing.attach_prices(frame).query("operation == 'web_search'").iloc[0]
    assert search["cost_usd"] == pytest.approx(5.0)


# --- the key and the HTTP conventions ------------------------------------------------------------


def test_api__a_normal_key_is_refused_in_one_line_naming_where_to_make_an_admin_key():
    with pytest.raises(errors.ConfigError) as caught:
        anthropic_api(NORMAL_KEY, None)
    message = str(caught.value)
    assert "\n" not in message and NORMAL_KEY not in message
    assert "ANTHROPIC_ADMIN_KEY holds a normal API key" in message
    assert "Console > Settings > Admin keys" in message
    assert errors.redact(message) == message  # nothing in it reads as a key and is cut


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://x", "ANTHROPIC_BASE_URL must be an http(s) URL"),
        ("https://a b", "ANTHROPIC_BASE_URL"),
    ],
)
def test_api__a_bad_base_url_names_its_setting(url, says):
    with pytest.raises(errors.ConfigError, match=says.replace("(", r"\(").replace(")", r"\)")):
        anthropic_api(ADMIN_KEY, url)


def test_api__declares_anthropics_headers_and_hides_the_key():
    api = anthropic_api(ADMIN_KEY, "https://api.anthropic.com/")
    assert api.base_url == "https://api.anthropic.com"
    assert (
        api.headers["x-api-key"] == ADMIN_KEY and api.headers["anthropic-version"] == "2023-06-01"
    )
    assert ADMIN_KEY not in repr(api) and api.secrets == (ADMIN_KEY,)


def test_registry__anthropic_runs_beside_openai_under_auto():
    both = Settings.from_mapping({"OPENAI_ADMIN_KEY": OPENAI_ADMIN_KEY, "ANTHROPIC_ADMIN_KEY": "k"})
    assert sources.selected(both) == ["admin", "anthropic"]
    assert sources.selected(Settings.from_mapping({"ANTHROPIC_ADMIN_KEY": "k"})) == ["anthropic"]
    assert {"ANTHROPIC_ADMIN_KEY", "ANTHROPIC_BASE_URL"} <= set(sources.setting_names())
    assert "anthropic" in sources.source_choices()
    assert sources.SOURCES["anthropic"] is AnthropicSource
    only = Settings.from_mapping({"SPEND_SOURCE": "anthropic", "ANTHROPIC_ADMIN_KEY": "k"})
    assert sources.selected(only) == ["anthropic"]
    assert AnthropicSource.rate_limit(only) == AnthropicSource.default_rate_limit


def test_fake__refuses_a_request_without_anthropic_version():
    with FakeAnthropic(DAYS) as fake:
        url = f"{fake.base_url}{USAGE}"
        params = {"starting_at": "2026-11-01T00:00:00Z", "ending_at": "2026-11-02T00:00:00Z"}
        missing = requests.get(url, params=params, headers={"x-api-key": ADMIN_KEY}, timeout=10)
        assert missing.status_code == 400
        assert missing.json()["error"]["message"] == "anthropic-version: header is required"
        normal = requests.get(
            url,
            params=params,
            headers={"x-api-key": NORMAL_KEY, "anthropic-version": "2023-06-01"},
            timeout=10,
        )
        assert normal.status_code == 401
        assert normal.json()["error"]["type"] == "authentication_error"


# --- end to end ---------------------------------------------------------------------------------


def clock_at(day: date, hours: float = 12) -> FakeClock:
    return FakeClock(
        datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp() + hours * 3600
    )


def run_cli(argv, env, clock):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, environ=env, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    return code, out.getvalue(), err.getvalue()


def anthropic_env(fake, tmp_path, key=ADMIN_KEY) -> dict:
    return {
        "ANTHROPIC_ADMIN_KEY": key,
        "ANTHROPIC_BASE_URL": fake.base_url,
        "SPEND_CACHE_DIR": str(tmp_path / "cache"),
        "SPEND_RATE_LIMIT_PER_MIN": "6000",
    }


def export(fake, tmp_path, start, end, clock, **env):
    argv = ["export", "--source", "anthropic", "--start", str(start), "--end", str(end)]
    return run_cli([*argv, "--out", "-"], {**anthropic_env(fake, tmp_path), **env}, clock)


@pytest.fixture
def anthropic():
    with FakeAnthropic(DAYS) as fake:
        yield fake


def test_e2e__export_is_exact_against_the_fake(anthropic, tmp_path):
    start, end = DAYS[0], DAYS[-1]
    code, out, err = export(anthropic, tmp_path, start, end, clock_at(END))
    assert code == 0, err
    assert "6 requests" in err  # 2 lists, 2 usage windows, 2 cost windows
    table = pd.read_csv(io.StringIO(out), keep_default_na=False, na_values=[""])
    usage = table[table["cost_basis"] != "billed"]
    expected = anthropic.totals(start, end)
    for column in ("input_tokens", "cached_input_tokens", "output_tokens"):
        assert int(usage[column].sum()) == expected[column], column
    assert int(usage["cache_write_tokens"].sum()) == expected["cache_write_tokens"]
    assert int(usage["cache_write_1h_tokens"].sum()) == expected["cache_write_1h_tokens"]
    searches = usage[usage["operation"] == "web_search"]
    assert searches["units"].sum() == expected["web_searches"] and set(searches["unit"]) == {
        "calls"
    }
    # billed money to the cent, and the estimate within 1 % of list prices
    billed = Decimal(str(table.loc[table["cost_basis"] == "billed", "cost_usd"].sum()))
    assert billed.quantize(Decimal("0.01")) == anthropic.cost_total(start, end).quantize(
        Decimal("0.01")
    )
    estimated = usage["cost_usd"].sum()
    assert (usage["cost_basis"] == "estimated").all()
    assert estimated == pytest.approx(float(anthropic.list_cost(start, end)), rel=0.01)
    # requests are unknown: empty cells, never 0
    header, *rows = csv.reader(io.StringIO(out))
    column = header.index("n_requests")
    assert rows and all(row[column] == "" for row in rows)
    # names, hostile ones kept as text (escaped where shown, not here)
    assert HOSTILE_NAME in set(table["project_name"])
    assert DEFAULT_WORKSPACE_NAME in set(table["project_name"])
    assert set(table.loc[table["project_id"] == "wrkspc_01Research", "project_name"]) == {
        "Research"
    }
    assert PRIORITY_NOTICE in err
    assert ADMIN_KEY not in out + err
    # the client sent Anthropic's headers and nothing of OpenAI's
    sent = [headers for _, _, headers in anthropic.requests]
    assert sent and all(h.get("anthropic-version") == "2023-06-01" for h in sent)
    assert not any("authorization" in h or "openai-organization" in h for h in sent)


def test_e2e__plan_counts_what_a_cold_fetch_sends(anthropic, tmp_path):
    clock = clock_at(END)
    start, end = DAYS[0], DAYS[-1]
    argv = ["plan", "--source", "anthropic", "--start", str(start), "--end", str(end)]
    code, _, err = run_cli(argv, anthropic_env(anthropic, tmp_path), clock)
    assert code == 0, err and anthropic.count() == 0
    planned = sources.requests_for_range(start, end, source="anthropic", now=clock())
    assert f"{planned} requests" in err and planned == 6
    assert export(anthropic, tmp_path, start, end, clock)[0] == 0
    assert anthropic.count() == planned


def test_e2e__a_normal_key_is_refused_before_any_request(anthropic, tmp_path):
    code, out, err = export(
        anthropic, tmp_path, DAYS[0], DAYS[-1], clock_at(END), ANTHROPIC_ADMIN_KEY=NORMAL_KEY
    )
    assert code == 1 and anthropic.count() == 0 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "normal API key" in lines[0]
    assert "Console > Settings > Admin keys" in lines[0]
    assert NORMAL_KEY not in err


def test_e2e__a_wrong_admin_key_names_its_setting(anthropic, tmp_path):
    wrong = "sk-ant-admin01-wrong-key-000000"
    code, _, err = export(
        anthropic, tmp_path, DAYS[-3], DAYS[-1], clock_at(END), ANTHROPIC_ADMIN_KEY=wrong
    )
    assert code == 1 and "Anthropic rejected ANTHROPIC_ADMIN_KEY (401)" in err
    assert '"invalid x-api-key"' in err and wrong not in err
    assert anthropic.count() == 1  # the first request answered 401: nothing else was sent


def test_e2e__pages_rate_limits_and_server_errors(anthropic, tmp_path):
    anthropic.page_buckets = 4  # 31-day windows in pages of 4 buckets
    anthropic.fail_next(1, 429, retry_after="7")
    clock = clock_at(END)
    start, end = DAYS[0], DAYS[-1]
    code, out, err = export(anthropic, tmp_path, start, end, clock)
    assert code == 0, err
    assert 7 in clock.sleeps  # Retry-After honoured
    assert anthropic.count(USAGE) > 2 and anthropic.count(COSTS) > 2  # pages followed
    table = pd.read_csv(io.StringIO(out))
    usage = table[table["cost_basis"] != "billed"]
    assert int(usage["input_tokens"].sum()) == anthropic.totals(start, end)["input_tokens"]
    # a 5xx is retried, then named
    anthropic.fail_next(1, 529)
    code, _, err = export(anthropic, tmp_path / "b", start, end, clock)
    assert code == 0, err
    anthropic.fail_next(20, 500)
    code, _, err = export(anthropic, tmp_path / "c", start, end, clock)
    assert code == 1 and "Anthropic answered 500 5 times; try again later" in err


def test_e2e__empty_buckets_give_no_rows_and_say_so(anthropic, tmp_path):
    empty = DAYS[3]  # every fourth day of the fake has no usage
    code, out, err = export(anthropic, tmp_path, empty, empty, clock_at(END))
    assert code == 0, err
    assert "returned nothing for" in err and len(pd.read_csv(io.StringIO(out))) == 0


def test_e2e__a_refused_list_shows_ids_and_says_why(anthropic, tmp_path):
    anthropic.refuse["/v1/organizations/workspaces"] = 403
    code, out, err = export(anthropic, tmp_path, DAYS[0], DAYS[2], clock_at(END))
    assert code == 0, err
    assert "Anthropic refused the workspaces list" in err
    table = pd.read_csv(io.StringIO(out))
    research = table[table["project_id"] == "wrkspc_01Research"]
    assert len(research) and research["project_name"].isna().all()
    assert set(table.loc[table["project_id"] == "default", "project_name"]) == {
        DEFAULT_WORKSPACE_NAME
    }


def test_e2e__a_lagging_cost_report_leaves_the_usage_and_says_which_days_lack_billing(
    anthropic, tmp_path
):
    anthropic.costs_from_lag = date(2026, 11, 16)  # the second 31-day window starts that day
    start, end = DAYS[0], DAYS[-1]
    code, out, err = export(anthropic, tmp_path, start, end, clock_at(END))
    assert code == 0, err
    assert (
        "Anthropic's cost report for 2026-11-16 to 2026-11-20 could not be read, so billed money "
        "for those days is not shown" in err
    )
    table = pd.read_csv(io.StringIO(out))
    usage = table[table["cost_basis"] != "billed"]
    assert int(usage["input_tokens"].sum()) == anthropic.totals(start, end)["input_tokens"]
    billed = table.loc[table["cost_basis"] == "billed", "cost_usd"].sum()
    assert billed == pytest.approx(float(anthropic.cost_total(start, date(2026, 11, 15))))


def test_e2e__a_rerun_makes_no_request_for_final_days(anthropic, tmp_path):
    clock = clock_at(END + timedelta(days=3))  # every day of the range is final
    start, end = DAYS[0], DAYS[-1]
    argv = ["fetch", "--source", "anthropic", "--start", str(start), "--end", str(end)]
    env = anthropic_env(anthropic, tmp_path)
    assert run_cli(argv, env, clock)[0] == 0
    asked = anthropic.count()
    code, _, err = run_cli(argv, env, clock)
    assert code == 0, err
    assert "0 to fetch" in err and anthropic.count() == asked
    # later, only the name lists (never final: names change) are asked again; every report
    # window is kept for good
    clock.advance(86_400)
    assert run_cli(argv, env, clock)[0] == 0
    assert anthropic.count() == asked + 2
    assert anthropic.count(USAGE) + anthropic.count(COSTS) == asked - 2


def test_plan__windows_are_aligned_blocks_and_only_the_recent_one_is_not_final(tmp_path):
    """The same 48 h rule and 31-day blocks (from 2020-01-01) as OpenAI's admin source."""
    clock = clock_at(END)
    start, end = DAYS[0], DAYS[-1]
    env = {"ANTHROPIC_ADMIN_KEY": ADMIN_KEY, "SPEND_CACHE_DIR": str(tmp_path)}
    source = sources.make_source(
        Settings.from_mapping(env).with_(source="anthropic"), clock=clock, sleep=clock.sleep
    )
    plan = source.plan(start, end)
    finals = {r.params_dict["starting_at"]: r.final for r in plan.requests if r.kind == "usage"}
    assert finals == {"2026-10-16T00:00:00Z": True, "2026-11-16T00:00:00Z": False}
    # every window ends at a midnight (the cost report refuses another end): the running one at
    # the end of today, so today's bucket is in it
    ends = {r.params_dict["ending_at"] for r in plan.requests if r.kind in ("usage", "costs")}
    assert ends == {"2026-11-16T00:00:00Z", "2026-11-21T00:00:00Z"}
    source.client.close()


# --- both providers -----------------------------------------------------------------------------


@pytest.fixture
def both(fake_openai):
    fake_openai.reset(days=20, end_date=END)
    with FakeAnthropic(fake_openai.days[-10:]) as fake:
        yield fake_openai, fake


def both_env(fake_openai, fake, tmp_path) -> dict:
    return {
        **anthropic_env(fake, tmp_path),
        "OPENAI_ADMIN_KEY": OPENAI_ADMIN_KEY,
        "OPENAI_BASE_URL": fake_openai.base_url,
    }


def test_e2e__all_sources_give_one_table_with_both_providers(both, tmp_path):
    fake_openai, fake = both
    clock = clock_at(fake_openai.days[-1])
    start, end = fake_openai.days[-10], fake_openai.days[-1]
    argv = ["export", "--source", "all", "--start", str(start), "--end", str(end), "--out", "-"]
    code, out, err = run_cli(argv, both_env(fake_openai, fake, tmp_path), clock)
    assert code == 0, err
    assert "Anthropic Usage and Cost API (admin key): " in err
    assert "OpenAI Usage and Costs APIs (admin key): " in err
    table = pd.read_csv(io.StringIO(out))
    assert set(table["provider"]) == {"openai", "anthropic"}
    claude = table[(table["provider"] == "anthropic") & (table["cost_basis"] != "billed")]
    assert int(claude["input_tokens"].sum()) == fake.totals(start, end)["input_tokens"]
    assert claude["n_requests"].isna().all()
    openai = table[(table["provider"] == "openai") & (table["operation"] == "completion")]
    assert (
        int(openai["input_tokens"].sum())
        == fake_openai.admin_totals("completions", start, end)["input_tokens"]
    )
    assert openai["n_requests"].notna().all()
    billed = table[(table["provider"] == "anthropic") & (table["cost_basis"] == "billed")]
    assert float(billed["cost_usd"].sum()) == pytest.approx(float(fake.cost_total(start, end)))
    assert ADMIN_KEY not in out + err and OPENAI_ADMIN_KEY not in out + err


def test_e2e__one_provider_failing_leaves_the_others_figures(both, tmp_path):
    fake_openai, fake = both
    clock = clock_at(fake_openai.days[-1])
    env = {**both_env(fake_openai, fake, tmp_path), "ANTHROPIC_ADMIN_KEY": "sk-ant-admin01-bad"}
    start, end = fake_openai.days[-5], fake_openai.days[-1]
    argv = ["export", "--start", str(start), "--end", str(end), "--out", "-"]
    code, out, err = run_cli(argv, env, clock)
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1
    assert lines[0].startswith(
        "error: Anthropic Usage and Cost API (admin key): Anthropic rejected ANTHROPIC_ADMIN_KEY"
    )
    table = pd.read_csv(io.StringIO(out))
    assert len(table) and set(table["source"]) == {"admin"}
    # and the other way round: OpenAI failing leaves Claude's figures
    fake_openai.fail_next(50, status=500)
    env = both_env(fake_openai, fake, tmp_path / "second")
    code, out, err = run_cli(argv, env, clock)
    assert code == 1 and "OpenAI" in err
    table = pd.read_csv(io.StringIO(out))
    assert set(table["source"]) == {"anthropic"}
    claude = table[table["cost_basis"] != "billed"]
    assert int(claude["input_tokens"].sum()) == fake.totals(start, end)["input_tokens"]


def test_runner__a_normal_key_beside_openai_is_a_part_with_its_error(both, tmp_path):
    fake_openai, fake = both
    env = {**both_env(fake_openai, fake, tmp_path), "ANTHROPIC_ADMIN_KEY": NORMAL_KEY}
    clock = clock_at(fake_openai.days[-1])
    with Run.open(Settings.from_mapping(env), clock=clock, sleep=clock.sleep) as run:
        result = run.load(fake_openai.days[-2], fake_openai.days[-1])
    (failed,) = run.errors
    assert failed.name == "anthropic" and isinstance(failed.error, errors.ConfigError)
    assert fake.count() == 0 and set(result.frame["provider"]) == {"openai"}
    assert math.isfinite(float(result.frame["cost_usd"].sum()))
