"""Spikes and newcomers: spike found, noise not flagged, the money floor respected, newcomers."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from spend.schema import conform
from spend.spikes import RESULT_COLUMNS, find_newcomers, find_spikes, robust_z

START = date(2025, 3, 1)
DAY = START + timedelta(days=40)  # the day checked: 2025-04-10
#: A steady background: $90 a day from one user, model, project and key, every day.
BACKGROUND = {"user_id": "user-bg", "model": "gpt-4o-mini", "project_id": "p0", "api_key_id": "k0"}
#: The id under test has its own user, model, project and key, so all four dimensions see it.
TESTED = {
    "user_id": "user-a",
    "user_name": "Ada",
    "model": "gpt-4o",
    "project_id": "p-a",
    "project_name": "Research",
    "api_key_id": "k-a",
    "api_key_name": "ada-laptop",
}
NOISE = [9.0, 10.0, 11.0, 10.5, 9.5, 10.0, 12.0, 8.0]  # around $10, MAD $0.5


def table(costs: dict[int, float], *, ids: dict = TESTED, days: int = 41) -> pd.DataFrame:
    """Day offsets from START -> the tested id's money, plus the background, as a usage table."""
    rows = [
        {"date": START + timedelta(days=t), "cost_usd": 90.0, **BACKGROUND} for t in range(days)
    ]
    rows += [{"date": START + timedelta(days=t), "cost_usd": c, **ids} for t, c in costs.items()]
    frame = pd.DataFrame(rows).assign(cost_basis="estimated", n_requests=1)
    return conform(frame)


def usual(t: int) -> float:
    return NOISE[t % len(NOISE)]


ALL_FOUR = {("user", "user-a"), ("model", "gpt-4o"), ("project", "p-a"), ("api_key", "k-a")}


@pytest.mark.parametrize(
    "name, costs, options, found",
    [
        ("spike-found", {**{t: usual(t) for t in range(40)}, 40: 60.0}, {}, ALL_FOUR),
        ("noise-not-flagged", {**{t: usual(t) for t in range(40)}, 40: 12.0}, {}, set()),
        ("below-own-median", {**{t: usual(t) for t in range(40)}, 40: 1.0}, {}, set()),
        # $5 is 10x a $0.50 habit, but under the floor of 10% of a ~$90 day: not a spike ...
        ("floor-respected", {**{t: 0.5 + 0.01 * (t % 3) for t in range(40)}, 40: 5.0}, {}, set()),
        # ... unless the floor is lowered
        (
            "floor-lowered",
            {**{t: 0.5 + 0.01 * (t % 3) for t in range(40)}, 40: 5.0},
            {"floor_usd": 1.0},
            ALL_FOUR,
        ),
        (
            "floor-share",
            {**{t: usual(t) for t in range(40)}, 40: 60.0},
            {"floor_share": 1.0},
            set(),
        ),
        # only 5 days since its first usage: too little of its own history to judge
        ("too-new", {**{t: usual(t) for t in range(35, 40)}, 40: 60.0}, {}, set()),
        # idle most days (MAD 0): the mean absolute deviation decides
        ("mostly-idle", {3: 20.0, 17: 20.0, 29: 20.0, 40: 80.0}, {}, ALL_FOUR),
        ("window-7", {**{t: usual(t) for t in range(40)}, 40: 60.0}, {"window": 7}, ALL_FOUR),
        (
            "threshold-high",
            {**{t: usual(t) for t in range(40)}, 40: 60.0},
            {"z_threshold": 1e6},
            set(),
        ),
    ],
)
def test_find_spikes__table(name, costs, options, found):
    result = find_spikes(table(costs), start=DAY, end=DAY, **options)
    assert set(zip(result["dimension"], result["id"], strict=True)) == found
    assert list(result.columns) == list(RESULT_COLUMNS)
    assert (result["kind"] == "spike").all() and (result["date"] == pd.Timestamp(DAY)).all()


def test_find_spikes__carries_money_typical_and_names():
    costs = {**{t: usual(t) for t in range(40)}, 40: 60.0}
    result = find_spikes(table(costs), start=DAY, end=DAY).set_index("dimension")
    # the previous 28 days (12..39) of the NOISE cycle have median $10.00
    assert result.loc["user", "cost_usd"] == pytest.approx(60.0)
    assert result.loc["user", "typical_usd"] == pytest.approx(10.0)
    assert result.loc["user", "floor_usd"] == pytest.approx(0.1 * 100.0)  # 10% of a $100 day
    names = result["name"].to_dict()
    assert names == {
        "user": "Ada",
        "model": "gpt-4o",
        "project": "Research",
        "api_key": "ada-laptop",
    }


def test_find_spikes__only_the_days_asked_and_none_after_end():
    costs = {**{t: usual(t) for t in range(40)}, 40: 60.0}
    frame = table(costs)
    assert find_spikes(frame, start=DAY - timedelta(days=5), end=DAY - timedelta(days=1)).empty
    assert find_spikes(frame, start=DAY, end=DAY, dimensions=["user"])["id"].tolist() == ["user-a"]


def test_find_spikes__unpriced_and_billed_rows_do_not_count():
    costs = {**{t: usual(t) for t in range(40)}}
    frame = table(costs)
    extra = conform(
        pd.DataFrame(
            [
                {
                    "date": DAY,
                    "cost_usd": None,
                    "cost_basis": "unpriced",
                    "n_requests": 9,
                    **TESTED,
                },
                {"date": DAY, "cost_usd": 500.0, "cost_basis": "billed", "project_id": "p-a"},
            ]
        )
    )
    both = pd.concat([frame, extra], ignore_index=True)
    assert find_spikes(both, start=DAY, end=DAY).empty


@pytest.mark.parametrize(
    "name, first_day, dimensions, found",
    [
        ("new-key-and-model", 40, ("api_key", "model"), {("api_key", "k-a"), ("model", "gpt-4o")}),
        ("only-keys-asked", 40, ("api_key",), {("api_key", "k-a")}),
        ("users-too", 40, ("user",), {("user", "user-a")}),
        ("first-day-before-range", 30, ("api_key", "model"), set()),
        ("at-the-start-of-the-data", 3, ("api_key", "model"), set()),
    ],
)
def test_find_newcomers__table(name, first_day, dimensions, found):
    frame = table({t: 15.0 for t in range(first_day, 41)})
    start = DAY if first_day != 3 else START
    result = find_newcomers(frame, start=start, end=DAY, dimensions=dimensions)
    assert set(zip(result["dimension"], result["id"], strict=True)) == found
    assert (result["kind"] == "newcomer").all() and (result["typical_usd"] == 0.0).all()
    assert (result["cost_usd"] == 15.0).all()


def test_find_newcomers__are_not_spikes():
    frame = table({40: 60.0})
    assert find_spikes(frame, start=DAY, end=DAY).empty
    assert len(find_newcomers(frame, start=DAY, end=DAY)) == 2


def test_find_newcomers__unpriced_usage_still_counts():
    frame = table({40: None})
    frame["cost_basis"] = frame["cost_basis"].mask(frame["cost_usd"].isna(), "unpriced")
    result = find_newcomers(frame, start=DAY, end=DAY)
    assert set(result["id"]) == {"k-a", "gpt-4o"} and (result["cost_usd"] == 0.0).all()


@pytest.mark.parametrize(
    "value, history, expected",
    [
        # median 10, MAD 1: 0.6745 x (50 - 10) / 1
        (50.0, [9, 10, 11, 10, 10, 9, 11], 0.6745 * 40),
        (10.0, [9, 10, 11, 10, 10, 9, 11], 0.0),
        # MAD 0: mean |x - 0| = 20 x 2 / 8 = 5 -> (80 - 0) / (1.253314 x 5)
        (80.0, [0, 0, 20, 0, 0, 20, 0, 0], 80 / (1.253314 * 5)),
        (5.0, [5, 5, 5, 5, 5, 5, 5], 0.0),
        (6.0, [5, 5, 5, 5, 5, 5, 5], np.inf),
    ],
)
def test_robust_z__table(value, history, expected):
    score = robust_z(np.array([value]), np.array(history, dtype=float)[:, None])
    assert score[0] == pytest.approx(expected)


def test_find_spikes__empty_table():
    empty = table({}, days=0)
    assert find_spikes(empty, start=DAY, end=DAY).empty
    assert find_newcomers(empty, start=DAY, end=DAY).empty


CLAUDE_IDS = {
    "provider": "anthropic",
    "model": "claude-sonnet-4-5-20250929",
    "project_id": "wrkspc_01",
    "project_name": "Claude research",
    "api_key_id": "apikey_01",
}


def two_providers(costs: dict[int, float]) -> pd.DataFrame:
    """``table`` with the background on OpenAI and the tested id's usage on Anthropic (no user,
    as Anthropic's report has none)."""
    frame = table(costs, ids=CLAUDE_IDS)
    return frame.assign(provider=frame["provider"].fillna("openai"))


@pytest.mark.parametrize(
    "costs, found",
    [
        (
            {**{t: usual(t) for t in range(40)}, 40: 60.0},
            {
                ("model", "claude-sonnet-4-5-20250929"),
                ("project", "wrkspc_01"),
                ("api_key", "apikey_01"),
                ("provider", "anthropic"),
            },
        ),
        ({**{t: usual(t) for t in range(40)}, 40: 12.0}, set()),
    ],
    ids=["claude-spike", "noise"],
)
def test_find_spikes__anthropic_rows_and_the_provider_dimension(costs, found):
    result = find_spikes(two_providers(costs), start=DAY, end=DAY)
    assert set(zip(result["dimension"], result["id"], strict=True)) == found
    names = dict(zip(result["dimension"], result["name"], strict=True))
    assert names.get("provider", "Anthropic") == "Anthropic"
    assert names.get("project", "Claude research") == "Claude research"


def test_find_spikes__one_provider_has_no_provider_spike():
    costs = {**{t: usual(t) for t in range(40)}, 40: 60.0}
    frame = table(costs).assign(provider="openai")
    result = find_spikes(frame, start=DAY, end=DAY)
    assert set(result["dimension"]) == {"user", "model", "project", "api_key"}
