"""Billed money onto usage (spend.allocate): line items read, money split by largest remainder,
unattributed rows, the sum per day and project to the cent (Hypothesis), and both fake providers
end to end through the CLI's CSV."""

from __future__ import annotations

import io
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spend.allocate import (
    UNATTRIBUTED,
    UNITS_PER_USD,
    Cover,
    allocate_billed,
    beside,
    billed_by,
    read_line_item,
    split_units,
    to_units,
)
from spend.cli import main
from spend.pricing import attach_prices
from spend.schema import conform, with_provider
from tests.clock import FakeClock
from tests.fake_anthropic import FakeAnthropic
from tests.fake_openai import ADMIN_KEY

INPUT = ("input", "audio_input", "image_input")
CACHED = ("cached", "audio_cached", "image_cached")


@pytest.mark.parametrize(
    ("line_item", "cover"),
    [
        (
            "gpt-4o-2024-08-06, input",
            Cover(model="gpt-4o-2024-08-06", components=INPUT, batch=False),
        ),
        (
            "gpt-4o-2024-08-06, cached input, batch",
            Cover(model="gpt-4o-2024-08-06", components=CACHED, batch=True),
        ),
        (
            "gpt-4o-realtime-preview-2024-12-17, output audio",
            Cover(
                model="gpt-4o-realtime-preview-2024-12-17",
                components=("audio_output",),
                batch=False,
            ),
        ),
        (
            "gpt-4o-realtime-preview-2024-12-17, input cached text",
            Cover(model="gpt-4o-realtime-preview-2024-12-17", components=("cached",), batch=False),
        ),
        ("dall-e-3, 1024x1024, standard", Cover(model="dall-e-3", batch=False, size="1024x1024")),
        (
            "whisper-1, transcription",
            Cover(model="whisper-1", operations=frozenset({"transcription"}), batch=False),
        ),
        ("web search tool calls", Cover(operations=frozenset({"web_search"}))),
        ("file search tool calls", Cover(operations=frozenset({"file_search"}))),
        ("code interpreter sessions", Cover(operations=frozenset({"code_interpreter"}))),
        ("vector store storage", Cover(operations=frozenset({"vector_storage"}))),
        ("Image models", Cover(operations=frozenset({"image"}))),
        ("input_tokens", Cover(components=INPUT)),
        ("Text tokens", Cover(components=("input", "cached", "output"))),
        (
            "Claude Sonnet 4.5 Usage - Input Tokens",
            Cover(model="claude-sonnet-4-5", components=INPUT),
        ),
        (
            "Claude Sonnet 4.5 Usage - Cache Read Tokens",
            Cover(model="claude-sonnet-4-5", components=CACHED),
        ),
        (
            "Claude Haiku 4.5 Usage - Cache Write Tokens (1h)",
            Cover(model="claude-haiku-4-5", components=("cache_write_1h",)),
        ),
        (
            "Claude Opus 4.1 Usage - Cache Write Tokens (5m)",
            Cover(model="claude-opus-4-1", components=("cache_write",)),
        ),
        ("Web Search", Cover(operations=frozenset({"web_search"}))),
        (None, Cover()),
        ("Fine-tuning training", Cover(known=False)),
    ],
)
def test_read_line_item__table(line_item, cover):
    assert read_line_item(line_item) == cover


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (10, [1, 1, 1], [4, 3, 3]),  # ties to the earlier part
        (10, [1, 2, 1], [3, 5, 2]),  # 2.5 / 5 / 2.5: the remainder to the earlier tie
        (-5, [1, 3], [-1, -4]),  # a credit is split like a charge
        (7, [0, 1], [0, 7]),
        (1, [1e-12, 1], [0, 1]),
        (0, [1, 1], [0, 0]),
    ],
)
def test_split_units__table(total, weights, parts):
    assert split_units(total, weights).tolist() == parts


@pytest.mark.parametrize(
    ("usd", "units"), [(12.5, 1_250_000_000), (0.1, 10_000_000), (Decimal("0.00000001"), 1)]
)
def test_to_units__table(usd, units):
    assert to_units(usd) == units


@given(
    total=st.integers(-(10**12), 10**12),
    weights=st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=30).filter(
        lambda w: sum(w) > 0
    ),
)
def test_split_units__parts_add_up_and_stay_within_one_unit_of_the_share(total, weights):
    parts = split_units(total, weights)
    assert int(parts.sum()) == total
    share = np.array(weights) / sum(weights) * total
    assert np.all(np.abs(parts - share) <= 1 + abs(total) * 1e-12)


# --------------------------------------------------------------------------------------------
# The table

#: The legacy CSV's header before billed money, several providers and context tiers.
LEGACY_HEADER = [
    "date",
    "source",
    "project_id",
    "project_name",
    "user_id",
    "user_name",
    "user_email",
    "api_key_id",
    "api_key_name",
    "model",
    "model_family",
    "operation",
    "n_requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "units",
    "unit",
    "cost_usd",
    "cost_basis",
    "batch",
    "service_tier",
    "line_item",
    "currency",
    "image_size",
    "image_source",
    "context_level",
    "cost_lower_bound",
]


def table(rows: list[dict]) -> pd.DataFrame:
    """Usage and billed rows into a priced table with its provider, as ``Source.assemble`` has."""
    return with_provider(attach_prices(conform(pd.DataFrame(rows))), "openai")


def usage(model: str, user: str, inp: int, out: int = 0, **more) -> dict:
    return {
        "date": "2026-11-02",
        "source": "admin",
        "project_id": "proj_a",
        "project_name": "Alpha",
        "user_id": user,
        "user_name": user,
        "api_key_id": "key_1",
        "model": model,
        "operation": "completion",
        "n_requests": 1,
        "input_tokens": inp,
        "cached_input_tokens": 0,
        "output_tokens": out,
        "cost_basis": "unpriced",
        **more,
    }


def billed(line_item: str | None, usd: float, **more) -> dict:
    return {
        "date": "2026-11-02",
        "source": "admin",
        "project_id": "proj_a",
        "project_name": "Alpha",
        "api_key_id": "key_1",
        "operation": "cost",
        "line_item": line_item,
        "cost_usd": usd,
        "cost_basis": "billed",
        "currency": "usd",
        **more,
    }


def test_allocate__a_model_line_goes_to_that_models_rows_by_the_tokens_it_charges():
    frame = allocate_billed(
        table(
            [
                usage("gpt-4o-2024-08-06", "ann", 1_000_000, 0),
                usage("gpt-4o-2024-08-06", "bo", 3_000_000, 5_000_000),
                usage("gpt-4o-mini-2024-07-18", "cy", 9_000_000, 0),
                billed("gpt-4o-2024-08-06, input", 8.00),
                billed("gpt-4o-2024-08-06, output", 50.00),
                billed("gpt-4o-mini-2024-07-18, input", 1.35),
            ]
        )
    )
    rows = frame[frame["cost_basis"] != "billed"].set_index("user_id")["billed_usd"]
    # input $8 by input tokens 1:3, output $50 all Bo's; the mini line is Cy's alone
    assert rows.to_dict() == {"ann": 2.0, "bo": 56.0, "cy": 1.35}
    assert frame.loc[frame["cost_basis"] == "billed", "billed_usd"].isna().all()


SEARCH = "web_search"


def test_allocate__a_kind_of_usage_goes_to_that_kinds_rows_in_proportion_to_estimated_cost():
    frame = allocate_billed(
        table(
            [
                usage("gpt-4o-2024-08-06", "ann", 0, units=3.0, unit="calls", operation=SEARCH),
                usage("gpt-4o-2024-08-06", "bo", 0, units=1.0, unit="calls", operation=SEARCH),
                usage("gpt-4o-2024-08-06", "cy", 1_000_000),
                billed("web search tool calls", 1.00),
            ]
        )
    )  # fmt: skip
    rows = frame[frame["cost_basis"] != "billed"].set_index("user_id")["billed_usd"]
    assert rows.to_dict() == {"ann": 0.75, "bo": 0.25, "cy": 0.0}


def test_allocate__money_that_covers_no_usage_is_one_labelled_unattributed_row():
    frame = allocate_billed(
        table(
            [
                usage("gpt-4o-2024-08-06", "ann", 1_000_000),
                billed("gpt-4o-2024-08-06, input", 2.50),
                billed("o3-2025-04-16, input", 4.00),  # no o3 usage that day
                billed("Fine-tuning training", 1.25),  # a label nothing here reads
            ]
        )
    )
    lost = frame[frame["operation"] == "unattributed"]
    assert lost["billed_usd"].tolist() == [4.00, 1.25]
    assert lost["line_item"].tolist() == ["o3-2025-04-16, input", "Fine-tuning training"]
    assert set(lost["user_name"]) == {UNATTRIBUTED} and lost["user_id"].isna().all()
    assert lost["api_key_id"].isna().all() and set(lost["project_name"]) == {"Alpha"}
    assert (lost["cost_usd"] == 0.0).all() and set(lost["cost_basis"]) == {"estimated"}
    ann = frame[frame["user_id"] == "ann"]["billed_usd"]
    assert ann.tolist() == [2.50]  # not spread onto Ann silently
    assert str(frame["billed_usd"].dtype) == "Float64" and str(frame["date"].dtype).startswith(
        "datetime64"
    )


def test_allocate__keys_are_matched_where_the_cost_report_groups_by_key():
    frame = allocate_billed(
        table(
            [
                usage("gpt-4o-2024-08-06", "ann", 1_000_000, api_key_id="key_1"),
                usage("gpt-4o-2024-08-06", "bo", 1_000_000, api_key_id="key_2"),
                billed("gpt-4o-2024-08-06, input", 3.00, api_key_id="key_1"),
                billed("gpt-4o-2024-08-06, input", 1.00, api_key_id="key_2"),
            ]
        )
    )
    rows = frame[frame["cost_basis"] != "billed"].set_index("user_id")["billed_usd"]
    assert rows.to_dict() == {"ann": 3.0, "bo": 1.0}


def test_allocate__a_cost_report_without_keys_covers_every_keys_rows():
    """Anthropic's cost report has no key: its lines go to the rows of every key (and none)."""
    frame = allocate_billed(
        table(
            [
                usage("gpt-4o-2024-08-06", "ann", 1_000_000, api_key_id="key_1"),
                usage("gpt-4o-2024-08-06", "bo", 3_000_000, api_key_id=None),
                billed("gpt-4o-2024-08-06, input", 4.00, api_key_id=None),
            ]
        )
    )
    rows = frame[frame["cost_basis"] != "billed"].set_index("user_id")["billed_usd"]
    assert rows.to_dict() == {"ann": 1.0, "bo": 3.0}


def test_allocate__other_days_projects_and_currencies_stay_apart():
    frame = allocate_billed(
        table(
            [
                usage("gpt-4o-2024-08-06", "ann", 1_000_000),
                usage("gpt-4o-2024-08-06", "bo", 1_000_000, project_id="proj_b"),
                usage("gpt-4o-2024-08-06", "cy", 1_000_000, date="2026-11-03"),
                billed("gpt-4o-2024-08-06, input", 2.50),
                billed("gpt-4o-2024-08-06, input", 9.00, project_id="proj_b", currency="eur",
                       cost_usd=None),
            ]
        )
    )  # fmt: skip
    rows = frame[frame["cost_basis"] != "billed"].set_index("user_id")["billed_usd"]
    assert rows["ann"] == 2.50
    assert rows["bo"] == 0.0  # its day is billed, in euros: no dollars reach it
    assert pd.isna(rows["cy"])  # a day the cost report has no line for: unknown, never 0


def test_allocate__a_table_without_billed_rows_is_unchanged():
    frame = table([usage("gpt-4o-2024-08-06", "ann", 1_000_000)])
    assert allocate_billed(frame) is frame and "billed_usd" not in frame.columns


MODELS = ("gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "unknown-model-x")
LINES = (
    "gpt-4o-2024-08-06, input",
    "gpt-4o-2024-08-06, output",
    "gpt-4o-mini-2024-07-18, cached input",
    "unknown-model-x, input",
    "web search tool calls",
    "o3-2025-04-16, input",
    "Fine-tuning training",
    None,
)
usage_rows = st.builds(
    lambda day, project, key, model, inp, out, user: usage(
        model, user, inp, out, date=f"2026-11-0{day}", project_id=project, api_key_id=key
    ),
    st.integers(1, 3),
    st.sampled_from(["proj_a", "proj_b"]),
    st.sampled_from(["key_1", "key_2", None]),
    st.sampled_from(MODELS),
    st.integers(0, 10**7),
    st.integers(0, 10**7),
    st.sampled_from(["ann", "bo", "cy"]),
)
billed_rows = st.builds(
    lambda day, project, key, line, cents: billed(
        line, cents / 100, date=f"2026-11-0{day}", project_id=project, api_key_id=key
    ),
    st.integers(1, 3),
    st.sampled_from(["proj_a", "proj_b"]),
    st.sampled_from(["key_1", "key_2", None]),
    st.sampled_from(LINES),
    st.integers(-500, 10**8),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(usage_rows, max_size=12), lines=st.lists(billed_rows, min_size=1, max_size=8))
def test_allocate__per_day_and_project_allocated_plus_unattributed_is_the_bill_to_the_cent(
    rows, lines
):
    frame = allocate_billed(table([*rows, *lines]))
    kinds = frame["cost_basis"].astype("string")
    keys = ["date", "project_id"]

    def units(values: pd.Series) -> pd.Series:
        return values.astype("Float64").fillna(0.0).map(to_units).astype("int64")

    spread = frame[kinds != "billed"]
    got = units(spread["billed_usd"]).groupby([spread[k] for k in keys], dropna=False).sum()
    bill = frame[kinds == "billed"]
    want = units(bill["cost_usd"]).groupby([bill[k] for k in keys], dropna=False).sum()
    assert got.reindex(want.index, fill_value=0).to_dict() == want.to_dict()
    # and nothing lands where nothing was billed
    assert set(got[got != 0].index) <= set(want.index)


# --------------------------------------------------------------------------------------------
# End to end: the CLI's CSV against the fake servers


def run_export(argv: list[str], env: dict[str, str], clock: FakeClock) -> pd.DataFrame:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["export", *argv, "--out", "-"],
        environ=env,
        stdout=out,
        stderr=err,
        clock=clock,
        sleep=clock.sleep,
    )
    assert code == 0, err.getvalue()
    return pd.read_csv(io.StringIO(out.getvalue()), keep_default_na=False, na_values=[""])


def per_day_and_project(frame: pd.DataFrame, column: str) -> dict:
    return frame.groupby(["date", "project_id"], dropna=False)[column].sum().to_dict()


#: "To the cent" is checked far finer: a float sum of the CSV within a ten-thousandth of a cent.
CENT = 1e-6


@pytest.mark.parametrize("realtime", [False, True])  # True: audio lines billed per modality
def test_e2e__openai_billed_usd_adds_up_to_the_costs_api_per_day_and_project(
    fake_openai, tmp_path: Path, realtime
):
    fake_openai.reset(realtime=realtime)
    start, end = fake_openai.days[-10], fake_openai.days[-2]
    env = {
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_ADMIN_KEY": ADMIN_KEY,
        "SPEND_CACHE_DIR": str(tmp_path / "cache"),
        "SPEND_RATE_LIMIT_PER_MIN": "6000",
    }
    argv = ["--source", "admin", "--start", str(start), "--end", str(end)]
    frame = run_export(argv, env, FakeClock(time.time()))
    rows = frame[frame["cost_basis"] != "billed"]
    assert rows["billed_usd"].notna().all()
    for day in pd.date_range(start, end).date:
        for project in fake_openai.project_ids:
            want = fake_openai.costs_total(day, day, project_ids=[project])
            mine = rows[(rows["date"] == str(day)) & (rows["project_id"] == project)]
            got = mine["billed_usd"].sum()
            assert got == pytest.approx(float(want), abs=CENT), (day, project)
    total = rows["billed_usd"].sum()
    assert total == pytest.approx(float(fake_openai.costs_total(start, end)), abs=CENT)
    # per user, the money follows the usage: someone's gpt-4o tokens carry billed gpt-4o money
    people = rows[rows["user_id"].notna() & (rows["cost_usd"] > 0)]
    assert (people["billed_usd"] > 0).all()
    # the fake bills at list prices, so billed and estimated agree row by row within rounding
    assert people["billed_usd"].to_numpy() == pytest.approx(
        people["cost_usd"].to_numpy(), rel=1e-3, abs=1e-5
    )
    # per key as well: the Costs API groups by key and the money stays on its key
    keyed = rows[rows["api_key_id"].notna()]
    for key in keyed["api_key_id"].unique()[:5]:
        got = keyed.loc[keyed["api_key_id"] == key, "billed_usd"].sum()
        want = fake_openai.costs_total(start, end, api_key_ids=[key])
        assert got == pytest.approx(float(want), abs=CENT)


def test_e2e__anthropic_billed_usd_adds_up_to_the_cost_report_per_day_and_workspace(
    tmp_path: Path,
):
    from tests.test_anthropic import DAYS, END, anthropic_env, clock_at

    with FakeAnthropic(DAYS) as fake:
        argv = ["--source", "anthropic", "--start", str(DAYS[0]), "--end", str(DAYS[-1])]
        frame = run_export(argv, anthropic_env(fake, tmp_path), clock_at(END))
        rows = frame[frame["cost_basis"] != "billed"]
        bill = frame[frame["cost_basis"] == "billed"]
        want = per_day_and_project(bill, "cost_usd")
        assert per_day_and_project(rows, "billed_usd") == pytest.approx(want, abs=CENT)
        assert len(want) > 10
        total = rows["billed_usd"].sum()
        assert total == pytest.approx(float(fake.cost_total(DAYS[0], DAYS[-1])), abs=CENT)
        # long-context Sonnet costs twice the short one per token: the split follows the price
        sonnet = rows[rows["model"] == "claude-sonnet-4-5-20250929"]
        assert sonnet["billed_usd"].to_numpy() == pytest.approx(
            sonnet["cost_usd"].to_numpy(), rel=1e-6
        )
        assert not (frame["operation"] == "unattributed").any()


def test_e2e__an_unread_line_is_unattributed_in_the_csv_and_still_adds_up(tmp_path: Path):
    frame = allocate_billed(
        table(
            [
                usage("gpt-4o-2024-08-06", "ann", 1_000_000),
                billed("gpt-4o-2024-08-06, input", 2.50),
                billed("Reserved capacity", 100.0),
            ]
        )
    )
    from spend.export import to_csv

    back = pd.read_csv(io.StringIO(to_csv(frame)))
    usage_rows_ = back[back["cost_basis"] != "billed"]
    assert usage_rows_["billed_usd"].sum() == pytest.approx(102.50)
    assert back.loc[back["operation"] == "unattributed", "user_name"].tolist() == [UNATTRIBUTED]
    assert int(round(usage_rows_["billed_usd"].sum() * UNITS_PER_USD)) == to_units(102.5)


@pytest.mark.parametrize("source", ["legacy", "demo"])
def test_e2e__sources_without_billed_rows_export_the_header_they_always_had(
    fake_openai, tmp_path: Path, source
):
    from tests.fake_openai import LEGACY_KEY, ORG_ID

    env = {
        "OPENAI_BASE_URL": fake_openai.base_url,
        "SPEND_CACHE_DIR": str(tmp_path / "cache"),
        "SPEND_RATE_LIMIT_PER_MIN": "6000",
    }
    if source == "legacy":
        env |= {"OPENAI_API_KEY": LEGACY_KEY, "OPENAI_ORG_ID": ORG_ID}
    day = fake_openai.days[-3]
    argv = ["--source", source, "--start", str(day), "--end", str(day)]
    frame = run_export(argv, env, FakeClock(time.time()))
    assert len(frame) and "billed_usd" not in frame.columns
    assert not (frame["operation"] == "unattributed").any()
    if source == "legacy":  # the header it had before this round, to the column
        assert list(frame.columns) == LEGACY_HEADER


def test_billed_by__per_user_and_per_model_and_operation_and_beside_a_breakdown():
    frame = allocate_billed(
        table(
            [
                usage("gpt-4o-2024-08-06", "ann", 1_000_000),
                usage("gpt-4o-2024-08-06", None, 3_000_000),
                billed("gpt-4o-2024-08-06, input", 4.00),
                billed("Reserved capacity", 1.00),
            ]
        )
    )
    per_user = billed_by(frame, "user_id", missing="(no user)")
    assert per_user.to_dict() == {"ann": 1.0, "(no user)": 4.0}  # 3.00 + the unattributed 1.00
    per_model = billed_by(frame, ["model", "operation"], missing="(unknown)")
    assert per_model[("gpt-4o-2024-08-06", "completion")] == 4.0
    breakdown = pd.DataFrame({"user_id": ["ann", "(no user)", "bo"], "cost_usd": [2.5, 7.5, 1.0]})
    shown = beside(breakdown, per_user, on="user_id")
    assert shown["billed_usd"].tolist()[:2] == [1.0, 4.0] and pd.isna(shown["billed_usd"][2])
    plain = table([usage("gpt-4o-2024-08-06", "ann", 1_000_000)])
    assert beside(breakdown, billed_by(plain, "user_id"), on="user_id") is breakdown


@pytest.mark.usefixtures("fresh_streamlit")
def test_pages__users_and_models_show_billed_beside_estimated_with_an_admin_key(fake_openai):
    from spend.dates import preset_range
    from tests.apptest_support import ROOT, admin_secrets, app, no_exceptions
    from tests.test_pages import run_until_complete, today

    fake_openai.reset(days=40)
    at = app(**admin_secrets(fake_openai))
    run_until_complete(at)
    no_exceptions(at)
    start, end = preset_range("last_30_days", today())
    bill = float(fake_openai.costs_total(start, end))
    at.switch_page(str(ROOT / "app_pages" / "users.py")).run()
    no_exceptions(at)
    users = at.dataframe[0].value
    assert users["billed_usd"].sum() == pytest.approx(bill, abs=0.005)
    assert list(users.columns[1:3]) == ["cost_usd", "billed_usd"]  # money before e-mail
    at.switch_page(str(ROOT / "app_pages" / "models.py")).run()
    no_exceptions(at)
    models = pd.concat([at.dataframe[0].value, at.dataframe[1].value])
    assert models["billed_usd"].sum() == pytest.approx(bill, abs=0.005)


@pytest.mark.usefixtures("fresh_streamlit")
def test_pages__the_demo_has_no_billed_column():
    from tests.apptest_support import ROOT, app, no_exceptions

    at = app()
    at.run()
    at.switch_page(str(ROOT / "app_pages" / "users.py")).run()
    no_exceptions(at)
    assert "billed_usd" not in at.dataframe[0].value.columns
    assert "cost_usd" in at.dataframe[0].value.columns
