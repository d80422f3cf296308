"""The FOCUS 1.3 export (spend.focus): one row per charge, its columns and types read back from
Parquet, formula-like cells escaped in CSV, BilledCost equal to the cost report (fake servers), the
CLI's ``--format focus`` and the Raw data page's buttons."""

from __future__ import annotations

import io
import json
import re
import time
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spend.allocate import allocate_billed
from spend.cli import build_parser, main
from spend.focus import (
    DATETIME,
    DECIMAL,
    FOCUS_COLUMNS,
    SERVICE_CATEGORY,
    focus_csv,
    focus_parquet,
    focus_table,
    to_focus,
)
from spend.pricing import attach_prices
from spend.schema import conform, with_provider
from tests.apptest_support import app, no_exceptions
from tests.clock import FakeClock
from tests.fake_anthropic import FakeAnthropic
from tests.fake_openai import ADMIN_KEY

MODEL = "gpt-4o-2024-08-06"


def table(rows: list[dict]) -> pd.DataFrame:
    return with_provider(attach_prices(conform(pd.DataFrame(rows))), "openai")


def usage_row(**more) -> dict:
    return {
        "date": "2026-11-02",
        "source": "admin",
        "project_id": "proj_a",
        "project_name": "Alpha",
        "user_id": "user-ann",
        "user_name": "Ann",
        "user_email": "ann@acme.example",
        "api_key_id": "key_1",
        "api_key_name": "ci-bot",
        "model": MODEL,
        "operation": "completion",
        "n_requests": 10,
        "input_tokens": 1_000_000,
        "cached_input_tokens": 400_000,
        "output_tokens": 10_000,
        "cost_basis": "unpriced",
        **more,
    }


def billed_row(line_item: str, usd: float) -> dict:
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
    }


def test_to_focus__one_row_per_charge_with_its_quantity_and_list_cost():
    focus = to_focus(table([usage_row()]))
    rows = focus.set_index("SkuPriceId")
    assert list(focus.columns) == list(FOCUS_COLUMNS)
    # gpt-4o: $2.50 input, $1.25 cached, $10 output per 1M tokens; cached counted on its row only
    assert rows["ConsumedQuantity"].to_dict() == {
        f"{MODEL}/input": 600_000,
        f"{MODEL}/cached": 400_000,
        f"{MODEL}/output": 10_000,
    }
    assert rows["ListCost"].to_dict() == pytest.approx(
        {f"{MODEL}/input": 1.5, f"{MODEL}/cached": 0.5, f"{MODEL}/output": 0.1}
    )
    assert set(focus["ConsumedUnit"]) == {"Tokens"} and set(focus["SkuId"]) == {MODEL}
    assert (focus["BilledCost"] == 0).all()  # only estimated: nothing billed
    assert (focus["EffectiveCost"] == focus["ListCost"]).all()
    assert set(focus["x_CostBasis"]) == {"estimated"}
    first = focus.iloc[0]
    assert first["ChargeCategory"] == "Usage" and pd.isna(first["ChargeClass"])
    assert first["ServiceProviderName"] == "OpenAI" and first["ServiceName"] == "OpenAI API"
    assert first["ServiceCategory"] == SERVICE_CATEGORY and first["PricingCategory"] == "Standard"
    assert first["SubAccountId"] == "proj_a" and first["SubAccountName"] == "Alpha"
    assert first["BillingAccountId"] == "openai" and first["BillingCurrency"] == "USD"
    assert (first["BillingPeriodStart"], first["BillingPeriodEnd"]) == (
        pd.Timestamp("2026-11-01"),
        pd.Timestamp("2026-12-01"),
    )
    assert (first["ChargePeriodStart"], first["ChargePeriodEnd"]) == (
        pd.Timestamp("2026-11-02"),
        pd.Timestamp("2026-11-03"),
    )
    assert json.loads(first["Tags"]) == {"key": "ci-bot", "user": "ann@acme.example"}
    assert rows.loc[f"{MODEL}/cached", "ChargeDescription"] == f"{MODEL} cached text input tokens"


def test_to_focus__tiers_name_the_price_and_units_keep_their_unit():
    focus = to_focus(
        table(
            [
                usage_row(batch=True, cached_input_tokens=0, output_tokens=0),
                usage_row(
                    model="dall-e-3",
                    operation="image",
                    input_tokens=0,
                    cached_input_tokens=0,
                    output_tokens=0,
                    units=3.0,
                    unit="images",
                    image_size="1024x1024",
                ),
            ]
        )
    )
    rows = focus.set_index("SkuPriceId")
    assert rows.loc[f"{MODEL}/input/batch", "ListCost"] == pytest.approx(1.25)  # half of $2.50
    assert rows.loc[f"{MODEL}/input/batch", "ChargeDescription"].endswith("(batch)")
    image = rows.loc["dall-e-3/unit/1024x1024"]
    assert (image["ConsumedQuantity"], image["ConsumedUnit"]) == (3.0, "Images")
    assert image["ListCost"] == pytest.approx(0.12)


def test_to_focus__billed_money_and_unattributed_rows_add_up_exactly():
    frame = allocate_billed(
        table(
            [
                usage_row(),
                billed_row(f"{MODEL}, input", 1.55),
                billed_row(f"{MODEL}, cached input", 0.49),
                billed_row(f"{MODEL}, output", 0.1),
                billed_row("Fine-tuning training", 7.0),
            ]
        )
    )
    focus = to_focus(frame)
    table_ = focus_table(focus)
    assert sum(table_["BilledCost"].to_pylist()) == Decimal("9.14")
    assert set(focus["x_CostBasis"]) == {"billed"}
    assert (focus["EffectiveCost"] == focus["BilledCost"]).all()
    lost = focus[focus["SkuPriceId"].isna()]
    assert lost["ChargeDescription"].tolist() == [
        "Billed, not matched to usage: Fine-tuning training"
    ]
    assert lost["BilledCost"].tolist() == [7.0] and lost["ListCost"].tolist() == [0.0]
    assert lost["ConsumedQuantity"].isna().all() and lost["SkuId"].isna().all()
    assert lost["PricingCategory"].isna().all()


def test_focus_parquet__every_column_reads_back_with_its_focus_type(tmp_path: Path):
    path = tmp_path / "focus.parquet"
    path.write_bytes(focus_parquet(focus_table(to_focus(table([usage_row()])))))
    back = pq.read_table(path)
    assert back.schema.names == list(FOCUS_COLUMNS)
    for name, kind in FOCUS_COLUMNS.items():
        assert back.schema.field(name).type == kind, name
    assert back.schema.metadata[b"FocusVersion"] == b"1.3"
    assert {FOCUS_COLUMNS[n] for n in ("BilledCost", "ListCost", "ConsumedQuantity")} == {DECIMAL}
    assert back.schema.field("ChargePeriodStart").type == DATETIME == pa.timestamp("ms", tz="UTC")
    assert back["ChargePeriodStart"][0].as_py().isoformat() == "2026-11-02T00:00:00+00:00"
    assert back["ConsumedQuantity"].to_pylist()[:1] == [Decimal("600000")]


def test_focus_table__an_empty_table_is_an_empty_typed_file():
    from spend.schema import empty_frame

    table_ = focus_table(to_focus(empty_frame()))
    assert table_.num_rows == 0 and table_.schema.types == list(FOCUS_COLUMNS.values())
    assert focus_csv(table_).splitlines() == [",".join(f'"{n}"' for n in FOCUS_COLUMNS)]


def test_focus_csv__formula_like_cells_are_escaped_and_numbers_stay_numbers():
    hostile = '=HYPERLINK("http://evil")'
    frame = table(
        [usage_row(project_name=hostile, model="+evil", api_key_name="@key", cost_usd=None)]
    )
    text = focus_csv(focus_table(to_focus(frame)))
    back = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])
    assert set(back["SubAccountName"]) == {"'" + hostile}
    assert set(back["SkuId"]) == {"'+evil"}
    assert set(back["x_CostBasis"]) == {"unpriced"}  # no price: ListCost 0, and it says why
    assert back["ListCost"].dtype == float and (back["ListCost"] == 0).all()
    assert back["ChargePeriodStart"].iloc[0] == "2026-11-02T00:00:00Z"
    assert json.loads(back["Tags"].iloc[0]) == {"key": "@key", "user": "ann@acme.example"}
    assert list(back.columns) == list(FOCUS_COLUMNS)


# --------------------------------------------------------------------------------------------
# End to end: python -m spend export --format focus against the fake servers


def run(argv: list[str], env: dict[str, str], clock: FakeClock) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, environ=env, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    return code, out.getvalue(), err.getvalue()


def openai_env(fake, tmp_path: Path) -> dict[str, str]:
    return {
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_ADMIN_KEY": ADMIN_KEY,
        "SPEND_CACHE_DIR": str(tmp_path / "cache"),
        "SPEND_RATE_LIMIT_PER_MIN": "6000",
    }


def test_e2e__focus_parquet_billed_cost_is_the_costs_api_total_to_the_cent(
    fake_openai, tmp_path: Path
):
    start, end = fake_openai.days[-10], fake_openai.days[-2]
    out = tmp_path / "focus.parquet"
    argv = ["export", "--source", "admin", "--start", str(start), "--end", str(end)]
    code, _, err = run(
        [*argv, "--format", "focus", "--out", str(out)],
        openai_env(fake_openai, tmp_path),
        FakeClock(time.time()),
    )
    assert code == 0, err
    back = pq.read_table(out)
    assert [back.schema.field(n).type for n in FOCUS_COLUMNS] == list(FOCUS_COLUMNS.values())
    billed = sum(back["BilledCost"].to_pylist(), Decimal(0))
    assert billed == fake_openai.costs_total(start, end)  # exact, not only to the cent
    frame = back.to_pandas()
    for project in fake_openai.project_ids:
        mine = sum(
            (
                c
                for c, p in zip(frame["BilledCost"], frame["SubAccountId"], strict=True)
                if p == project
            ),
            Decimal(0),
        )
        assert mine == fake_openai.costs_total(start, end, project_ids=[project]), project
    assert set(frame["ServiceProviderName"]) == {"OpenAI"}
    assert f"wrote {len(frame)} rows to {out}" in err


def test_e2e__focus_csv_of_two_providers_adds_up_to_both_cost_reports(fake_openai, tmp_path):
    from tests.test_anthropic import DAYS, END, anthropic_env, clock_at

    fake_openai.reset(days=20, end_date=END)
    with FakeAnthropic(DAYS) as anthropic:
        env = {**openai_env(fake_openai, tmp_path), **anthropic_env(anthropic, tmp_path)}
        start, end = DAYS[-8], DAYS[-2]
        argv = ["export", "--start", str(start), "--end", str(end), "--format", "focus"]
        code, out, err = run([*argv, "--out", "-"], env, clock_at(END))
        assert code == 0, err
        back = pd.read_csv(io.StringIO(out), keep_default_na=False, na_values=[""])
        per = back.groupby("ServiceProviderName")["BilledCost"].sum()
        assert per["OpenAI"] == pytest.approx(float(fake_openai.costs_total(start, end)), abs=1e-6)
        assert per["Anthropic"] == pytest.approx(float(anthropic.cost_total(start, end)), abs=1e-6)
        assert back["ChargePeriodStart"].str.match(r"^\d{4}-\d\d-\d\dT00:00:00Z$").all()


def test_e2e__parquet_to_stdout_is_refused_in_one_line(fake_openai, tmp_path: Path):
    day = fake_openai.days[-3]
    argv = ["export", "--source", "admin", "--start", str(day), "--end", str(day)]
    code, out, err = run(
        [*argv, "--format", "focus", "--focus-format", "parquet", "--out", "-"],
        openai_env(fake_openai, tmp_path),
        FakeClock(time.time()),
    )
    assert code == 1 and out == ""
    assert "error: a Parquet file is binary: give --out FILE.parquet" in err


def test_raw_data__offers_the_focus_downloads_of_the_filtered_rows():
    at = app()
    at.run()
    at.switch_page("app_pages/raw_data.py").run()
    no_exceptions(at)
    buttons = {b.proto.label: b for b in at.get("download_button")}
    assert {"Download CSV", "Download FOCUS (CSV)", "Download FOCUS (Parquet)"} <= set(buttons)
    rows = at.session_state["_spend_view"].frame
    focus = to_focus(rows)  # what the buttons hand over, from the page's own (categorical) rows
    assert focus["ListCost"].sum() == pytest.approx(float(rows["cost_usd"].sum()))
    assert len(pq.read_table(io.BytesIO(focus_parquet(focus_table(focus))))) == len(focus)


def test_readme__the_focus_columns_and_options_it_names_exist():
    """The README's FOCUS paragraph stays honest: every column it names is one this file has, and
    its options are the export command's."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    paragraph = readme[readme.index("`--format focus` writes") :].split("\n\n", 1)[0]
    named = set(re.findall(r"`((?:[A-Z][a-z]+)+|x_[A-Za-z]+)`", paragraph))
    assert {"BilledCost", "ListCost", "Tags", "x_CostBasis"} <= named
    assert named <= set(FOCUS_COLUMNS)
    export = build_parser()._subparsers._group_actions[0].choices["export"]  # noqa: SLF001
    options = {o for action in export._actions for o in action.option_strings}  # noqa: SLF001
    assert {"--format", "--focus-format", "--out"} <= options
    assert "--focus-format csv|parquet" in " ".join(paragraph.split())
