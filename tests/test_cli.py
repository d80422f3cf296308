"""``python -m spend`` end to end against the fake server (in-process, and once as a real
subprocess)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from spend.cli import main
from spend.formatting import format_duration
from spend.schema import COLUMNS
from tests.clock import FakeClock
from tests.fake_openai import ADMIN_KEY, LEGACY_KEY, ORG_ID

ROOT = Path(__file__).resolve().parents[1]


def run(argv, env, clock=None):
    out, err = io.StringIO(), io.StringIO()
    clock = clock or FakeClock(
        time.time()
    )  # real 'today' (the fake's data ends today); sleeps are instant
    code = main(argv, environ=env, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    return code, out.getvalue(), err.getvalue()


def env_for(fake, tmp_path, **extra):
    return {
        "OPENAI_BASE_URL": fake.base_url,
        "SPEND_CACHE_DIR": str(tmp_path / "cache"),
        "SPEND_RATE_LIMIT_PER_MIN": "6000",
        **extra,
    }


@pytest.mark.parametrize(
    "seconds, text", [(0, "0s"), (4.4, "4s"), (75, "1m15s"), (3725, "1h02m"), (7200, "2h00m")]
)
def test_format_duration__table(seconds, text):
    assert format_duration(seconds) == text


def test_cli__legacy_export_writes_the_usage_table(fake_openai, tmp_path):
    env = env_for(fake_openai, tmp_path, OPENAI_API_KEY=LEGACY_KEY, OPENAI_ORG_ID=ORG_ID)
    start, end = fake_openai.days[-7], fake_openai.days[-3]
    out_file = tmp_path / "usage.csv"
    code, _, err = run(
        ["export", "--start", str(start), "--end", str(end), "--out", str(out_file)], env
    )
    assert code == 0, err
    assert "6 requests" in err and "6/6 requests" in err  # plan line and the progress bar
    frame = pd.read_csv(out_file)
    assert list(frame.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert frame["date"].min() == str(start) and frame["date"].max() == str(
        end
    )  # --end is inclusive
    assert frame["n_requests"].sum() == fake_openai.legacy_totals(start, end)["n_requests"]


def test_cli__fetch_warms_the_cache_so_a_rerun_asks_nothing_new(fake_openai, tmp_path):
    env = env_for(fake_openai, tmp_path, OPENAI_API_KEY=LEGACY_KEY, OPENAI_ORG_ID=ORG_ID)
    start, end = fake_openai.days[-12], fake_openai.days[-5]
    assert run(["fetch", "--start", str(start), "--end", str(end)], env)[0] == 0
    made = fake_openai.count()
    code, _, err = run(["plan", "--start", str(start), "--end", str(end)], env)
    assert (
        code == 0 and "9 cached, 0 to fetch" in err
    )  # the users list is not final but still fresh
    assert fake_openai.count() == made


def test_cli__admin_source_end_to_end(fake_openai, tmp_path):
    env = env_for(fake_openai, tmp_path, OPENAI_ADMIN_KEY=ADMIN_KEY)
    start, end = fake_openai.days[-10], fake_openai.days[-2]
    code, out, err = run(
        ["export", "--source", "admin", "--start", str(start), "--end", str(end), "--out", "-"], env
    )
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    billed = frame[frame["cost_basis"] == "billed"]["cost_usd"].sum()
    assert billed == pytest.approx(float(fake_openai.costs_total(start, end)), abs=0.01)


def test_cli__a_wrong_key_is_one_clear_line_and_exit_1(fake_openai, tmp_path):
    bad = "sk-proj-WrongWrongWrongWrong0000"
    env = env_for(fake_openai, tmp_path, OPENAI_API_KEY=bad, OPENAI_ORG_ID=ORG_ID)
    code, out, err = run(["export", "--out", str(tmp_path / "x.csv")], env)
    assert code == 1
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "rejected (401)" in error_lines[0]
    assert bad not in err and bad[8:] not in err and bad not in out
    assert not (tmp_path / "x.csv").exists()


def test_cli__demo_needs_no_key(tmp_path):
    code, out, err = run(
        ["export", "--source", "demo", "--out", "-"], {"SPEND_CACHE_DIR": str(tmp_path)}
    )
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert frame["source"].eq("demo").all() and frame["cost_usd"].sum() > 0


@pytest.mark.parametrize(
    "argv", [["export", "--start", "2024-13-01", "--out", "-"], ["nope"], ["export"]]
)
def test_cli__bad_arguments_exit_2(argv, tmp_path):
    with pytest.raises(SystemExit) as info:
        run(argv, {"SPEND_CACHE_DIR": str(tmp_path)})
    assert info.value.code == 2


def test_cli__empty_range_is_a_clear_error(tmp_path):
    code, _, err = run(
        ["plan", "--source", "demo", "--start", "2024-02-10", "--end", "2024-02-01"], {}
    )
    assert code == 1 and "date range is empty" in err


def test_cli__runs_as_a_module_in_a_subprocess(fake_openai, tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SPEND_"))},
        **env_for(
            fake_openai, tmp_path, OPENAI_API_KEY="sk-bad-000000000000000000", OPENAI_ORG_ID=ORG_ID
        ),
    }
    day = fake_openai.days[-3]
    proc = subprocess.run(
        [sys.executable, "-m", "spend", "fetch", "--start", str(day), "--end", str(day)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "error: The API key was rejected (401)" in proc.stderr
    assert "sk-bad" not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "out, reason", [("/nonexistent-dir/x.csv", "no folder"), (".", "it is a folder")]
)
def test_cli__an_unwritable_out_file_is_refused_before_fetching(fake_openai, tmp_path, out, reason):
    env = env_for(fake_openai, tmp_path, OPENAI_API_KEY=LEGACY_KEY, OPENAI_ORG_ID=ORG_ID)
    code, _, err = run(["export", "--out", out], env)
    assert code == 1 and f"cannot write {out}: {reason}" in err
    assert fake_openai.count() == 0 and "Traceback" not in err


def test_cli__a_prices_file_prices_what_genai_prices_does_not_know(tmp_path):
    from spend.demo_org import UNPRICED_MODEL

    prices = tmp_path / "prices.toml"
    prices.write_text(
        f'[[price]]\nmodel = "{UNPRICED_MODEL}"\ninput_per_mtok = 10.0\noutput_per_mtok = 20.0\n'
    )
    env = {"SPEND_CACHE_DIR": str(tmp_path)}
    before = pd.read_csv(io.StringIO(run(["export", "--source", "demo", "--out", "-"], env)[1]))
    code, out, err = run(
        ["export", "--source", "demo", "--out", "-"], {**env, "SPEND_PRICES_FILE": str(prices)}
    )
    assert code == 0, err
    after = pd.read_csv(io.StringIO(out))
    was = before[before["model"] == UNPRICED_MODEL]
    now = after[after["model"] == UNPRICED_MODEL]
    assert len(was) and (was["cost_basis"] == "unpriced").all() and was["cost_usd"].isna().all()
    assert (now["cost_basis"] == "estimated").all()
    expected = (now["input_tokens"] * 10.0 + now["output_tokens"] * 20.0) / 1e6
    assert now["cost_usd"].to_numpy() == pytest.approx(expected.to_numpy())


def test_cli__a_broken_prices_file_is_one_clear_line(tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text("[[price]]\nmodel = \n")
    code, _, err = run(["plan", "--source", "demo"], {"SPEND_PRICES_FILE": str(prices)})
    assert code == 1 and str(prices) in err and "Traceback" not in err


def test_cli__alerts_runs_from_cron_as_a_module(tmp_path):
    """What a crontab line runs: demo data, a budgets file, the JSON report on stdout."""
    import json

    budgets = tmp_path / "budgets.toml"
    budgets.write_text('[[budget]]\nscope = "organization"\nmonthly_usd = 1\n')
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SPEND_"))},
        "SPEND_CACHE_DIR": str(tmp_path / "cache"),
        "SPEND_BUDGETS_FILE": str(budgets),
    }
    argv = [sys.executable, "-m", "spend", "alerts", "--source", "demo", "--json"]
    proc = subprocess.run(
        [*argv, "--fail-on-overrun"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 3, proc.stderr  # a $1 budget is crossed by any demo month
    report = json.loads(proc.stdout)
    (entry,) = report["budgets"]
    assert entry["crossed"] == [50, 80, 100] and entry["basis"] == "estimated"
    assert set(report) >= {"as_of", "month", "budgets", "spikes", "savings_usd", "notified"}
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
