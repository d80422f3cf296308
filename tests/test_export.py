"""CSV export: the usage table's header, exact rows, full-precision money, cells a spreadsheet
would run as formulas, and the export of a fake organization end to end."""

import io
import math
import time
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from spend.cli import main
from spend.export import escape_cell, to_csv
from spend.schema import COLUMNS, conform
from tests.clock import FakeClock
from tests.fake_openai import ADMIN_KEY, FT_MODEL, LEGACY_KEY, ORG_ID, REALTIME_MODEL


@pytest.mark.parametrize(
    "value, expected",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("gpt-4o", "gpt-4o"),
        ("", ""),
        (-2.5, -2.5),  # numbers are numbers, not formulas
        (None, None),
    ],
)
def test_escape_cell__table(value, expected):
    assert escape_cell(value) == expected


def test_to_csv__header_is_the_schema_and_formula_cells_are_text():
    frame = conform(
        pd.DataFrame(
            {
                "date": ["2026-01-02", "2026-01-03"],
                "user_name": ["=cmd|' /C calc'!A0", "Ann"],
                "model": ["gpt-4o", None],
                "cost_usd": [-0.5, None],
                "cost_basis": ["estimated", "unpriced"],
                "line_item": ["@risk", "x"],
            }
        )
    )
    text = to_csv(frame)
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert list(back.columns) == [*COLUMNS, "line_item"]
    assert back["date"].tolist() == ["2026-01-02", "2026-01-03"]
    assert back["user_name"].tolist() == ["'=cmd|' /C calc'!A0", "Ann"]
    assert back["line_item"].tolist() == ["'@risk", "x"]
    assert back["cost_usd"].tolist() == [
        "-0.5",
        "",
    ]  # a negative number is not escaped; unpriced is empty, not 0


def test_to_csv__cost_keeps_full_precision_so_sums_match_the_screen():
    """A large org's costs: the CSV's sums equal the table's to the last bit (6-decimal rounding
    drifted by up to $0.003), per model too; unpriced rows stay empty."""
    rng = np.random.default_rng(7)
    n = 200_000
    costs = pd.array(rng.exponential(0.01, n) * rng.choice([1e-3, 1, 50], n), dtype="Float64")
    costs[rng.random(n) < 0.01] = pd.NA
    frame = conform(
        pd.DataFrame(
            {
                "date": "2026-01-02",
                "model": rng.choice(["gpt-4o", "o3", "=evil()"], n),
                "cost_usd": costs,
                "cost_basis": "estimated",
            }
        )
    )
    back = pd.read_csv(io.StringIO(to_csv(frame)))
    ours = frame["cost_usd"].to_numpy(dtype="float64", na_value=np.nan)
    np.testing.assert_array_equal(back["cost_usd"].to_numpy(), ours)  # every cell, bit for bit
    priced = ours[~np.isnan(ours)]
    assert math.fsum(back["cost_usd"].dropna()) == math.fsum(priced)  # exact, not approx
    rounded = np.round(priced, 6)
    assert abs(math.fsum(rounded) - math.fsum(priced)) > 1e-5  # what 6 decimals used to lose
    for model in ("gpt-4o", "=evil()"):
        mine = frame.loc[frame["model"] == model, "cost_usd"].dropna().to_numpy(dtype="float64")
        shown = back.loc[back["model"] == escape_cell(model), "cost_usd"].dropna()
        assert math.fsum(shown) == math.fsum(mine)
    assert back["cost_usd"].isna().sum() == frame["cost_usd"].isna().sum()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.1 + 0.2, "0.30000000000000004"),
        (7.543760000000001, "7.543760000000001"),
        (1e-10 / 3, "3.3333333333333335e-11"),
        (12.5, "12.5"),
    ],
)
def test_to_csv__cost_cell_is_the_shortest_exact_text(value, text):
    frame = conform(pd.DataFrame({"date": ["2026-01-02"], "cost_usd": [value]}))
    row = to_csv(frame).splitlines()[1].split(",")
    assert row[list(COLUMNS).index("cost_usd")] == text
    assert float(text) == value


# --------------------------------------------------------------------------------------------
# End to end: ``python -m spend export`` against the fake OpenAI (tests/fake_openai.py)


def export(fake, tmp_path, *argv: str, **env: str) -> pd.DataFrame:
    """Run the CLI export against the fake into a frame read back from the CSV."""
    out, err = io.StringIO(), io.StringIO()
    clock = FakeClock(time.time())  # the fake's data ends today; sleeps are instant
    environ = {
        "OPENAI_BASE_URL": fake.base_url,
        "SPEND_CACHE_DIR": str(tmp_path / "cache"),
        "SPEND_RATE_LIMIT_PER_MIN": "6000",
        **env,
    }
    argv = ("export", *argv, "--out", "-")
    code = main(list(argv), environ=environ, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    assert code == 0, err.getvalue()
    return pd.read_csv(io.StringIO(out.getvalue()), keep_default_na=True)


#: USD per 1M tokens of gpt-4o-realtime-preview-2024-12-17 (openai.com/api/pricing), by admin
#: completions field: text $5 / $2.50 cached / $20 out, audio $40 / $2.50 cached / $80 out.
REALTIME_LIST = {
    "input_text_tokens": 5.00,
    "input_cached_text_tokens": 2.50,
    "input_audio_tokens": 40.00,
    "input_cached_audio_tokens": 2.50,
    "output_text_tokens": 20.00,
    "output_audio_tokens": 80.00,
}


def test_export__admin_voice_app_at_list_price_and_requests_without_tool_calls(
    fake_openai, tmp_path
):
    fake_openai.reset(realtime=True)
    start, end = fake_openai.days[-10], fake_openai.days[-2]
    frame = export(
        fake_openai, tmp_path, "--source", "admin", "--start", str(start), "--end", str(end),
        OPENAI_ADMIN_KEY=ADMIN_KEY,
    )  # fmt: skip
    voice = frame[frame["model"] == REALTIME_MODEL]
    totals = fake_openai.admin_totals("completions", start, end, models=[REALTIME_MODEL])
    list_usd = sum(totals[field] * usd for field, usd in REALTIME_LIST.items()) / 1e6
    as_text_usd = (
        (totals["input_tokens"] - totals["input_cached_tokens"]) * 5.00
        + totals["input_cached_tokens"] * 2.50
        + totals["output_tokens"] * 20.00
    ) / 1e6
    assert len(voice) and (voice["cost_basis"] == "estimated").all()
    assert voice["cost_usd"].sum() == pytest.approx(list_usd, rel=0.01)
    assert as_text_usd < 0.5 * list_usd  # what pricing audio as text used to say
    assert not voice["cost_lower_bound"].any()
    assert voice["input_audio_tokens"].sum() == totals["input_audio_tokens"]
    assert voice["output_audio_tokens"].sum() == totals["output_audio_tokens"]
    # and the Costs API (billed per modality by the fake) agrees
    billed = frame[
        (frame["cost_basis"] == "billed")
        & frame["line_item"].str.startswith(REALTIME_MODEL).fillna(False)
    ]
    assert billed["cost_usd"].sum() == pytest.approx(list_usd, rel=0.01)

    model_requests = sum(
        fake_openai.admin_totals(kind, start, end)["num_model_requests"]
        for kind in (
            "completions",
            "embeddings",
            "moderations",
            "images",
            "audio_speeches",
            "audio_transcriptions",
        )
    )
    tool_calls = {
        kind: fake_openai.admin_totals(kind, start, end)["num_requests"]
        for kind in ("web_search_calls", "file_search_calls")
    }
    assert all(tool_calls.values())  # the fake org does search
    assert frame["n_requests"].sum() == model_requests  # tool calls are not requests
    tools = frame[frame["operation"].isin(["web_search", "file_search", "code_interpreter"])]
    assert tools["n_requests"].sum() == 0
    searches = frame[frame["operation"] == "web_search"]
    assert searches["units"].sum() == tool_calls["web_search_calls"]
    assert set(searches["context_level"].dropna()) <= {"low", "medium", "high"}
    assert searches["context_level"].notna().all()


def test_export__legacy_realtime_is_text_priced_lower_bound_and_fine_tuning_is_priced(
    fake_openai, tmp_path
):
    fake_openai.reset(realtime=True)
    first = fake_openai.days[0]  # the fine-tuning job ran on the second day
    frame = export(
        fake_openai, tmp_path, "--source", "legacy",
        "--start", str(first), "--end", str(first + timedelta(days=2)),
        OPENAI_API_KEY=LEGACY_KEY, OPENAI_ORG_ID=ORG_ID,
    )  # fmt: skip
    voice = frame[frame["model"] == REALTIME_MODEL]
    assert len(voice) and (voice["operation"] == "realtime").all()
    assert voice["cost_lower_bound"].all()  # no modality split: priced as text, a floor
    as_text = (
        (voice["input_tokens"] - voice["cached_input_tokens"]) * 5.00
        + voice["cached_input_tokens"] * 2.50
        + voice["output_tokens"] * 20.00
    ) / 1e6
    assert voice["cost_usd"].to_numpy() == pytest.approx(as_text.to_numpy())
    others = frame[frame["model"] != REALTIME_MODEL]
    assert not others["cost_lower_bound"].any()

    training = frame[frame["operation"] == "fine-tuning"]
    assert training[["model", "unit", "units"]].to_dict("records") == [
        {"model": FT_MODEL, "unit": "training_tokens", "units": 123_456.0}
    ]
    assert training["cost_usd"].tolist() == [pytest.approx(123_456 * 3.00 / 1e6)]
    assert (training["cost_basis"] == "estimated").all()


def test_to_csv__the_shared_categorical_table_writes_the_same_csv():
    """The app's table is compacted (text as categories): its CSV is byte for byte the same, with
    formula-like names escaped once per category."""
    from spend.ui.data import compact

    frame = conform(
        pd.DataFrame(
            {
                "date": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-02"]),
                "model": ['=HYPERLINK("http://x")', "gpt-4o", None],
                "user_email": ["+1@x.io", "-a@x.io", "ann@x.io"],
                "n_requests": [1, 2, 3],
                "cost_usd": [0.1 + 0.2, None, 1e-9],
                "cost_basis": ["estimated", "unpriced", "estimated"],
            }
        )
    )
    text = to_csv(frame)
    assert to_csv(compact(frame)) == text
    rows = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert list(rows["model"]) == ['\'=HYPERLINK("http://x")', "gpt-4o", ""]
    assert list(rows["user_email"]) == ["'+1@x.io", "'-a@x.io", "ann@x.io"]


def test_to_csv__a_filtered_view_is_exactly_its_rows():
    from spend import analysis
    from spend.ui.data import compact

    frame = compact(
        conform(
            pd.DataFrame(
                {
                    "date": pd.to_datetime(["2026-01-01"] * 3),
                    "model": ["a", "b", "a"],
                    "n_requests": [1, 2, 3],
                    "cost_usd": [1.0, 2.0, 3.0],
                    "cost_basis": ["estimated"] * 3,
                }
            )
        )
    )
    view = analysis.filter_usage(frame, models=["a"])
    rows = pd.read_csv(io.StringIO(to_csv(view)))
    assert list(rows["n_requests"]) == [1, 3] and rows["cost_usd"].sum() == 4.0
