"""The demo source: legacy-API-shaped payloads of a deterministic synthetic organization.

Money in these tests comes from the pinned genai-prices data (plus the per-image price of
dall-e-3, which genai-prices lacks), never from numbers inside ``spend.demo_org``.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from genai_prices import Usage, calc_price
from hypothesis import given, settings
from hypothesis import strategies as st

from spend.demo_org import (
    ARRAYS,
    CATALOG,
    DEMO_SIZES,
    UNPRICED_MODEL,
    DemoOrg,
    _distinct_slots,
    _window_rows,
    empty_usage_payload,
)

TODAY = date(2025, 11, 25)  # a Tuesday

#: Field names per payload part, as API-NOTES.md section 1 lists them.
IDENTITY = {
    "organization_id", "organization_name", "user_id", "email", "api_key_id", "api_key_name",
    "api_key_redacted", "api_key_type", "project_id", "project_name",
}  # fmt: skip
ALLOWED = {
    "body": {"object", *ARRAYS},
    "data": IDENTITY | {
        "aggregation_timestamp", "n_requests", "operation", "snapshot_id", "n_context_tokens_total",
        "n_generated_tokens_total", "n_cached_context_tokens_total", "request_type",
    },
    "dalle_api_data": IDENTITY | {
        "timestamp", "num_images", "num_requests", "image_size", "operation", "model_id",
    },
    "whisper_api_data": IDENTITY | {"timestamp", "model_id", "num_seconds", "num_requests"},
    "tts_api_data": IDENTITY | {"timestamp", "model_id", "num_characters", "num_requests"},
    "users_body": {"object", "members"},
    "members": {"object", "data"},
    "member": {"role", "created", "user"},
    "user": {"id", "name", "email"},
}  # fmt: skip

#: dall-e-3 per image (standard quality, OpenAI's price list): genai-prices has no image prices.
DALLE_3_USD = {"1024x1024": 0.04, "1024x1792": 0.08, "1792x1024": 0.08}

ROW_ARRAYS = ("data", "dalle_api_data", "whisper_api_data", "tts_api_data")
QUANTITY_FIELDS = ("num_images", "num_characters", "num_seconds")
ZERO = {"input": 0, "cached": 0, "output": 0, "characters": 0, "seconds": 0}


# -- helpers ----------------------------------------------------------------------------------


def _model(row: dict) -> str:
    """A payload row into its model id, e.g. a dalle row -> ``"dall-e-3"``."""
    return row.get("snapshot_id") or row["model_id"]


def _rows(payload: dict):
    """A usage body into ``(array, row)`` pairs over every array that has rows."""
    for name in ROW_ARRAYS:
        for row in payload[name]:
            yield name, row


def _usage(model: str, quantity: dict) -> Usage:
    """Summed quantities into the genai-prices ``Usage`` for that model's unit."""
    if model.startswith("tts-"):
        return Usage(input_characters=quantity["characters"])
    if model.startswith("whisper-"):
        return Usage(audio_seconds=quantity["seconds"])
    return Usage(
        input_tokens=quantity["input"],
        cache_read_tokens=quantity["cached"],
        output_tokens=quantity["output"],
    )


def _price(model: str, quantity: dict) -> float:
    """Summed quantities of one model into dollars (genai-prices; dall-e-3 per image)."""
    if model == "dall-e-3":
        return sum(quantity["images"].get(size, 0) * usd for size, usd in DALLE_3_USD.items())
    return float(calc_price(_usage(model, quantity), model, provider_id="openai").total_price)


def _quantities(payloads) -> dict:
    """Payloads into summed quantities per (day, user_id, model)."""
    out: dict = defaultdict(lambda: dict(ZERO, images=Counter()))
    for day, _, payload in payloads:
        for name, row in _rows(payload):
            q = out[(day, row["user_id"], _model(row))]
            if name == "data":
                q["input"] += row["n_context_tokens_total"]
                q["cached"] += row["n_cached_context_tokens_total"]
                q["output"] += row["n_generated_tokens_total"]
            elif name == "dalle_api_data":
                q["images"][row["image_size"]] += row["num_images"]
            elif name == "tts_api_data":
                q["characters"] += row["num_characters"]
            else:
                q["seconds"] += row["num_seconds"]
    return out


def _costs(payloads) -> dict:
    """Payloads into dollars per (day, user_id, model); the unpriced fine-tune is left out."""
    return {
        key: _price(key[2], q)
        for key, q in _quantities(payloads).items()
        if key[2] != UNPRICED_MODEL
    }


def _daily(costs: dict, days, user_id: str | None = None) -> dict:
    """Costs per (day, user, model) into dollars per day (0 on quiet days), maybe for one user."""
    out = dict.fromkeys(days, 0.0)
    for (day, user, _), usd in costs.items():
        if user_id is None or user == user_id:
            out[day] += usd
    return out


def _tokens_by_user(payload: dict) -> Counter:
    """A usage body into input+output tokens and units per user id."""
    out: Counter = Counter()
    for _, row in _rows(payload):
        out[row["user_id"]] += sum(
            row.get(k, 0)
            for k in (*QUANTITY_FIELDS, "n_context_tokens_total", "n_generated_tokens_total")
        )
    return out


@pytest.fixture(scope="module")
def small() -> DemoOrg:
    return DemoOrg("small", seed=7, today=TODAY)


@pytest.fixture(scope="module")
def small_payloads(small) -> list:
    return list(small.payloads())


@pytest.fixture(scope="module")
def small_costs(small_payloads) -> dict:
    return _costs(small_payloads)


# -- sizes, range, determinism ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "days", "min_users", "models"),
    [("small", 120, 8, 10), ("large", 365, 200, 25), ("huge", 365, 1000, 40)],
)
def test_demo_sizes__match_the_brief(size, days, min_users, models):
    spec = DEMO_SIZES[size]
    assert (spec.days, spec.models) == (days, models)
    assert spec.users >= min_users


@pytest.mark.parametrize(
    "today",
    [TODAY, date(2024, 3, 1), date(2025, 1, 1), date(2028, 2, 29), date(2025, 3, 31)],
    ids=["tuesday", "after-leap-day", "new-year", "leap-day", "month-end"],
)
@pytest.mark.parametrize("size", ["small", "large", "huge"])
def test_demo_org__range_is_full_days_ending_yesterday(size, today):
    org = DemoOrg(size, today=today)
    days = DEMO_SIZES[size].days
    assert org.end == today - timedelta(days=1)
    assert (org.end - org.start).days + 1 == days
    assert org.start <= org.describe()["spike"]["date"] <= org.end


def test_demo_org__default_today_is_utc_today():
    org = DemoOrg()
    assert org.end == datetime.now(UTC).date() - timedelta(days=1)


@pytest.mark.parametrize("size", ["medium", "", "SMALL", "Large "])
def test_demo_org__unknown_size_raises(size):
    with pytest.raises(ValueError, match="unknown demo size"):
        DemoOrg(size)


@pytest.mark.parametrize("size", ["small", "large", "huge"])
@pytest.mark.parametrize("offset", [0, 45, 84, 119])
def test_demo_org__same_seed_and_today_give_identical_payloads(size, offset):
    a, b = DemoOrg(size, seed=3, today=TODAY), DemoOrg(size, seed=3, today=TODAY)
    day = a.start + timedelta(days=offset)
    assert a.users_payload() == b.users_payload()
    assert a.usage_payload(day) == b.usage_payload(day)
    assert a.usage_payload(day)["data"], "a day inside the range has rows"


@pytest.mark.parametrize(("seed_a", "seed_b"), [(7, 8), (0, 1), (7, 700)])
def test_demo_org__other_seed_gives_other_org(seed_a, seed_b):
    a, b = DemoOrg(seed=seed_a, today=TODAY), DemoOrg(seed=seed_b, today=TODAY)
    assert a.org_id != b.org_id
    assert a.users_payload() != b.users_payload()
    assert a.usage_payload(a.end) != b.usage_payload(b.end)


def test_demo_org__one_day_alone_equals_that_day_in_the_full_run(small, small_payloads):
    fresh = DemoOrg("small", seed=7, today=TODAY)
    for day, _, payload in small_payloads[::17] + small_payloads[-1:]:
        assert fresh.usage_payload(day) == payload


@pytest.mark.parametrize(
    ("start_offset", "end_offset", "expected_days", "expected_with_rows"),
    [
        (None, None, 120, 120),
        (10, 12, 3, 3),
        (119, 119, 1, 1),
        (-3, 1, 5, 2),  # starts before the range: those days are empty
        (120, 124, 5, 0),  # today and after
        (5, 0, 0, 0),  # start after end
    ],
)
def test_payloads__date_range(small, start_offset, end_offset, expected_days, expected_with_rows):
    start = None if start_offset is None else small.start + timedelta(days=start_offset)
    end = None if end_offset is None else small.start + timedelta(days=end_offset)
    triples = list(small.payloads(start, end))
    assert len(triples) == expected_days
    assert all(user is None for _, user, _ in triples)
    assert [d for d, _, _ in triples] == sorted({d for d, _, _ in triples})
    assert sum(bool(p["data"]) for _, _, p in triples) == expected_with_rows


def test_demo_org__small_counts_from_payloads(small, small_payloads):
    members = small.users_payload()["members"]["data"]
    user_ids = {row["user_id"] for _, _, p in small_payloads for _, row in _rows(p)}
    models = {_model(row) for _, _, p in small_payloads for _, row in _rows(p)}
    days = {d for d, _, p in small_payloads if p["data"]}
    assert len(members) == 12 >= 8
    assert user_ids == {m["user"]["id"] for m in members}
    assert len(models) == 10
    assert len(days) == 120
    described = small.describe()
    assert (described["users"], described["models"], described["days"]) == (12, 10, 120)
    assert set(described["model_ids"]) == models


def test_demo_org__large_counts_from_payloads():
    org = DemoOrg("large", today=TODAY)
    users, models, days = set(), set(), 0
    for _, _, payload in org.payloads():  # streamed: the large run is ~170k rows
        days += bool(payload["data"])
        for _, row in _rows(payload):
            users.add(row["user_id"])
            models.add(_model(row))
    assert len(org.users_payload()["members"]["data"]) == 200
    assert len(users) == 200
    assert len(models) == 25
    assert days == 365
    assert (org.describe()["users"], org.describe()["models"], org.describe()["days"]) == (
        200,
        25,
        365,
    )


# The huge demo's year is ~2 M rows (a minute to build and normalize): the suite samples fortnights
# of it; the whole year is built only by the benchmarks (benchmarks/browser.py).
HUGE_SAMPLE = 14


@pytest.fixture(scope="module")
def huge() -> DemoOrg:
    return DemoOrg("huge", today=TODAY)


def _rows_per_day(org: DemoOrg, first: date, days: int = HUGE_SAMPLE) -> dict:
    """A demo org and a run of days into payload rows per day (one window a pair on huge)."""
    last = first + timedelta(days=days - 1)
    return {d: sum(1 for _ in _rows(p)) for d, _, p in org.payloads(first, last)}


def test_demo_org__huge_counts_from_a_fortnight(huge):
    users, models = set(), set()
    for _, _, payload in huge.payloads(huge.end - timedelta(days=HUGE_SAMPLE - 1), huge.end):
        for _, row in _rows(payload):
            users.add(row["user_id"])
            models.add(_model(row))
    members = huge.users_payload()["members"]["data"]
    assert len(members) == 1000
    assert users == {m["user"]["id"] for m in members}
    assert models == set(huge.describe()["model_ids"]) and len(models) == 40
    assert (huge.describe()["users"], huge.describe()["models"], huge.describe()["days"]) == (
        1000,
        40,
        365,
    )


@pytest.mark.parametrize(
    ("seed", "first_offset"),
    [(7, 0), (7, 175), (7, 351), (3, 0), (42, 200)],
    ids=["start", "middle", "end", "seed-3", "seed-42"],
)
def test_demo_org__huge_rows_per_day_make_about_two_million_a_year(seed, first_offset):
    org = DemoOrg("huge", seed=seed, today=TODAY)
    counts = _rows_per_day(org, org.start + timedelta(days=first_offset))
    weekdays = [n for d, n in counts.items() if d.weekday() < 5]
    weekends = [n for d, n in counts.items() if d.weekday() >= 5]
    assert all(5_000 <= n <= 7_500 for n in weekdays), weekdays
    assert all(3_000 <= n <= 4_500 for n in weekends), weekends
    assert 1_800_000 <= statistics.mean(counts.values()) * 365 <= 2_200_000


def test_demo_org__huge_spike_day_holds_the_spike(huge):
    spike = huge.describe()["spike"]

    def requests(day: date) -> int:
        rows = huge.usage_payload(day, spike["user_id"])["data"]
        return sum(r["n_requests"] for r in rows if r["snapshot_id"] == spike["model"])

    assert requests(spike["date"]) > 5 * max(1, requests(spike["date"] - timedelta(days=7)))


# -- the vectorised generator's helpers ----------------------------------------------------------


@pytest.mark.parametrize(
    ("active", "n_windows", "pairs", "windows"),
    [
        ([0, 2], [2, 1, 1], [0, 0, 2], [0, 1, 0]),
        ([1], [1, 3], [1, 1, 1], [0, 1, 2]),
        ([], [1, 1], [], []),
        ([0, 1, 2], [1, 1, 1], [0, 1, 2], [0, 0, 0]),
    ],
    ids=["two-then-one", "three-windows", "none-active", "one-window-each"],
)
def test_window_rows__one_row_per_pair_and_window(active, n_windows, pairs, windows):
    pair, window = _window_rows(np.array(active, dtype=int), np.array(n_windows))
    assert pair.tolist() == pairs
    assert window.tolist() == windows


@pytest.mark.parametrize(
    ("slots", "pairs", "windows", "expected"),
    [
        ([[7, 7]], [0, 0], [0, 1], [7, 8]),
        ([[7, 7, 7]], [0, 0, 0], [0, 1, 2], [7, 8, 9]),
        ([[287, 287]], [0, 0], [0, 1], [287, 0]),  # wraps around midnight
        ([[5, 0], [5, 0]], [0, 1], [0, 0], [5, 5]),  # two pairs may share a slot
        ([[3, 4], [4, 3]], [0, 0, 1, 1], [0, 1, 0, 1], [3, 4, 4, 3]),
        ([[9]], [], [], []),
    ],
    ids=["collide", "collide-twice", "wrap", "other-pair", "no-collision", "no-rows"],
)
def test_distinct_slots__a_taken_slot_moves_to_the_next_free_one(slots, pairs, windows, expected):
    got = _distinct_slots(np.array(slots), np.array(pairs, dtype=int), np.array(windows, dtype=int))
    assert got.tolist() == expected


#: sha256 of the JSON of chosen days (seed 7, today 2025-11-25), as the row-by-row generator
#: (before the vectorised one) produced them. A change here changes every demo: on purpose only.
PINNED = {
    "small": "e6804519cac34904df05a839544e00b02f6181e715464332f6418982e4197cae",
    "large": "8e355b957c30344acc3f5b829e98bd2b51e2a2f0719f895f236bb8c2e5ea2299",
}
PINNED_OFFSETS = {"small": (0, 5, 84, 119), "large": (0, 200, 364)}


def _digest(org: DemoOrg, offsets) -> str:
    """Chosen days of a demo org into one sha256 of their payloads' JSON (field order kept)."""
    digest = hashlib.sha256(json.dumps(org.users_payload()).encode())
    for offset in offsets:
        digest.update(json.dumps(org.usage_payload(org.start + timedelta(days=offset))).encode())
    return digest.hexdigest()


@pytest.mark.parametrize("size", ["small", "large"])
def test_demo_org__payloads_are_pinned(size):
    assert _digest(DemoOrg(size, seed=7, today=TODAY), PINNED_OFFSETS[size]) == PINNED[size]


# -- payload shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "user"),
    [
        (50, None),
        (50, "first"),
        (50, "user-unknown000000000000000000"),
        (-1, None),  # the day before the range
        (120, None),  # today: not in the range
        (120, "first"),
        (-5000, None),
    ],
)
def test_usage_payload__every_array_present(small, offset, user):
    day = small.start + timedelta(days=offset)
    user_id = small.users_payload()["members"]["data"][0]["user"]["id"] if user == "first" else user
    payload = small.usage_payload(day, user_id)
    assert set(payload) == {"object", *ARRAYS}
    assert payload["object"] == "list"
    assert all(isinstance(payload[name], list) for name in ARRAYS)


@pytest.mark.parametrize(
    "day",
    [
        TODAY - timedelta(days=121),
        TODAY,
        TODAY + timedelta(days=10),
        date(2000, 1, 1),
        "2025-07-27",  # the day before the range, as the API's date string
        datetime(2025, 11, 25, 3, 0),  # today, as a datetime
    ],
)
def test_usage_payload__outside_range_is_empty(small, day):
    assert small.usage_payload(day) == empty_usage_payload()
    assert small.usage_payload(day, small.users[0]["id"]) == empty_usage_payload()


@pytest.mark.parametrize(
    "spelling",
    ["2025-10-01", date(2025, 10, 1), datetime(2025, 10, 1), datetime(2025, 10, 1, 23, 59)],
)
def test_usage_payload__day_spellings_agree(small, spelling):
    assert small.usage_payload(spelling) == small.usage_payload(date(2025, 10, 1))


def test_usage_payload__per_user_equals_that_users_org_rows(small, small_payloads):
    member_ids = [m["user"]["id"] for m in small.users_payload()["members"]["data"]]
    for day, _, org_wide in small_payloads:
        per_user_tokens: Counter = Counter()
        for user_id in member_ids:
            mine = small.usage_payload(day, user_id)
            for name in ARRAYS:
                assert mine[name] == [
                    row for row in org_wide[name] if row.get("user_id") == user_id
                ]
            per_user_tokens.update(_tokens_by_user(mine))
        assert per_user_tokens == _tokens_by_user(org_wide)


def test_usage_payload__returns_fresh_objects(small):
    day = small.start + timedelta(days=30)
    user_id = small.usage_payload(day)["data"][0]["user_id"]
    for user in (None, user_id, user_id):  # twice: the second per-user call is served from memory
        first = small.usage_payload(day, user)
        first["data"][0]["n_requests"] = -1
        first["data"].clear()
        again = small.usage_payload(day, user)
        assert again["data"] and all(row["n_requests"] > 0 for row in again["data"])


@pytest.mark.parametrize("part", ["data", "dalle_api_data", "whisper_api_data", "tts_api_data"])
def test_usage_rows__use_only_api_notes_field_names(small_payloads, part):
    seen = {key for _, _, p in small_payloads for row in p[part] for key in row}
    assert seen, f"the small demo has {part} rows"
    assert seen <= ALLOWED[part], sorted(seen - ALLOWED[part])
    assert IDENTITY <= seen, "org-wide rows carry user_id, email, project and key"


def test_usage_payload__body_uses_only_api_notes_field_names(small_payloads):
    assert all(set(p) == ALLOWED["body"] for _, _, p in small_payloads)
    unknown_shape = ("ft_data", "assistant_code_interpreter_data", "retrieval_storage_data")
    assert all(not p[name] for _, _, p in small_payloads for name in unknown_shape)


def test_users_payload__uses_only_api_notes_field_names(small):
    body = small.users_payload()
    assert set(body) <= ALLOWED["users_body"]
    assert set(body["members"]) <= ALLOWED["members"]
    for member in body["members"]["data"]:
        assert set(member) == ALLOWED["member"]
        assert set(member["user"]) == ALLOWED["user"]


def test_allowed_field_names__are_in_api_notes():
    here = Path(__file__).resolve().parents[1]
    found = [
        p
        for p in (here / "docs" / "API-NOTES.md", here.parent / "shared" / "API-NOTES.md")
        if p.exists()
    ]
    if not found:
        pytest.skip("API-NOTES.md is not beside this checkout")
    text = found[0].read_text().split("## 2.")[0]  # section 1 only
    missing = {name for names in ALLOWED.values() for name in names if name not in text}
    assert not missing, sorted(missing)


@pytest.mark.parametrize("size", ["small", "large", "huge"])
def test_users_payload__realistic_members(size):
    org = DemoOrg(size, today=TODAY)
    members = org.users_payload()["members"]["data"]
    users = [m["user"] for m in members]
    start_ts = calendar.timegm(org.start.timetuple())
    assert all(re.fullmatch(r"user-[A-Za-z0-9]{24}", u["id"]) for u in users)
    assert all(re.fullmatch(r"[a-z0-9.\-]+@acme\.example", u["email"]) for u in users)
    assert len({u["id"] for u in users}) == len({u["email"] for u in users}) == len(users)
    assert [u["name"] for u in users].count(None) == 1
    assert all(m["role"] in {"owner", "reader"} for m in members)
    assert any(m["role"] == "owner" for m in members)
    assert all(isinstance(m["created"], int) and m["created"] < start_ts for m in members)


@pytest.mark.parametrize(
    ("pattern", "field"),
    [
        (r"org-[A-Za-z0-9]{24}", "organization_id"),
        (r"proj_[A-Za-z0-9]{24}", "project_id"),
        (r"key_[A-Za-z0-9]{16}", "api_key_id"),
        (r"sk-\.\.\.[A-Za-z0-9]{4}", "api_key_redacted"),
        (r"[a-z]+-(prod|staging)", "api_key_name"),
        (r"user-[A-Za-z0-9]{24}", "user_id"),
    ],
)
def test_usage_rows__ids_look_real(small_payloads, pattern, field):
    values = {row[field] for _, _, p in small_payloads for _, row in _rows(p)}
    assert values and all(re.fullmatch(pattern, v) for v in values), sorted(values)[:3]


def test_usage_rows__projects_keys_and_membership(small_payloads):
    keys_by_project, projects_by_user = defaultdict(set), defaultdict(set)
    for _, _, p in small_payloads:
        for _, row in _rows(p):
            keys_by_project[row["project_id"]].add(row["api_key_id"])
            projects_by_user[row["user_id"]].add(row["project_id"])
    assert 3 <= len(keys_by_project) <= 5
    assert all(1 <= len(keys) <= 2 for keys in keys_by_project.values())
    assert sum(len(keys) for keys in keys_by_project.values()) >= 2 * len(keys_by_project) - 1
    assert all(1 <= len(projects) <= 2 for projects in projects_by_user.values())
    assert any(len(projects) == 2 for projects in projects_by_user.values())


@pytest.mark.parametrize(("size", "lo", "hi"), [("small", 2, 4), ("large", 1, 1), ("huge", 1, 1)])
def test_usage_rows__windows_per_user_model_day(size, lo, hi):
    org = DemoOrg(size, today=TODAY)
    counts: Counter = Counter()
    for day, _, payload in org.payloads(org.end - timedelta(days=6), org.end):
        for _, row in _rows(payload):
            counts[(day, row["user_id"], row["project_id"], _model(row))] += 1
    assert counts and lo <= min(counts.values()) and max(counts.values()) <= hi


def test_usage_rows__quantities_are_sane(small_payloads):
    data = [row for _, _, p in small_payloads for row in p["data"]]
    assert all(row["n_requests"] >= 1 for row in data)
    assert all(
        0 <= row["n_cached_context_tokens_total"] <= row["n_context_tokens_total"] for row in data
    )
    assert any(row["n_cached_context_tokens_total"] > 0 for row in data), (
        "some rows have cached tokens"
    )
    assert any(
        row["n_cached_context_tokens_total"] == 0
        for row in data
        if row["operation"] == "completion"
    )
    assert {row["operation"] for row in data} == {"completion", "embeddings"}
    assert all(
        row["n_generated_tokens_total"] == 0 for row in data if row["operation"] == "embeddings"
    )
    images = [row for _, _, p in small_payloads for row in p["dalle_api_data"]]
    assert {row["image_size"] for row in images} == {"1024x1024", "1024x1792"}
    assert all(row["operation"] == "generations" and row["num_images"] >= 1 for row in images)


@pytest.mark.parametrize("size", ["large", "huge"])
def test_usage_rows__large_has_realtime(size):
    org = DemoOrg(size, today=TODAY)
    ops = {
        row["operation"]
        for _, _, p in org.payloads(org.end - timedelta(days=2), org.end)
        for row in p["data"]
    }
    assert ops == {"completion", "embeddings", "completion-realtime"}


@given(
    offset=st.integers(min_value=-30, max_value=150), user=st.integers(min_value=-1, max_value=11)
)
@settings(max_examples=40, deadline=None)
def test_usage_rows__timestamps_fall_inside_their_day(offset, user):
    org = _hypothesis_org()
    day = org.start + timedelta(days=offset)
    payload = org.usage_payload(day, None if user < 0 else org.users[user]["id"])
    day_ts = calendar.timegm(day.timetuple())
    for name, row in _rows(payload):
        ts = row["aggregation_timestamp"] if name == "data" else row["timestamp"]
        assert day_ts <= ts < day_ts + 86_400 and ts % 300 == 0
    stamps = [
        (r["aggregation_timestamp"], r["user_id"], r["api_key_id"], r["snapshot_id"])
        for r in payload["data"]
    ]
    assert len(stamps) == len(set(stamps)), "one row per window, user, key and model"


@cache
def _hypothesis_org() -> DemoOrg:
    return DemoOrg("small", seed=11, today=TODAY)


# -- realism ----------------------------------------------------------------------------------


def test_demo_org__monthly_spend_is_a_small_company(small, small_costs):
    per_30_days = sum(small_costs.values()) / DEMO_SIZES["small"].days * 30
    assert 1_500 < per_30_days < 8_000


def test_demo_org__weekends_are_a_third_of_weekdays(small, small_payloads, small_costs):
    daily = _daily(small_costs, [d for d, _, _ in small_payloads])
    weekday = statistics.mean(usd for d, usd in daily.items() if d.weekday() < 5)
    weekend = statistics.mean(usd for d, usd in daily.items() if d.weekday() >= 5)
    assert 0.25 < weekend / weekday < 0.5


def test_demo_org__spend_grows(small, small_payloads, small_costs):
    daily = _daily(small_costs, [d for d, _, _ in small_payloads])
    spike = small.describe()["spike"]["date"]
    usd = [v for d, v in sorted(daily.items()) if d != spike]
    assert sum(usd[-28:]) > sum(usd[:28])


def test_demo_org__users_are_heavy_tailed(small, small_costs):
    totals = sorted(_sum_by_user(small_costs).values(), reverse=True)
    assert len(totals) == len(small.users), "every user spends something"
    assert sum(totals[:3]) > 0.5 * sum(totals), "the top 3 of 12 users spend most of the money"
    assert totals[0] > 10 * totals[-1]


def _sum_by_user(costs: dict) -> dict:
    """Costs per (day, user, model) into dollars per user."""
    out: Counter = Counter()
    for (_, user, _), usd in costs.items():
        out[user] += usd
    return dict(out)


@pytest.mark.parametrize("seed", [7, 1, 42])
def test_demo_org__spike_is_obvious(seed):
    org = DemoOrg("small", seed=seed, today=TODAY)
    spike = org.describe()["spike"]
    days = [org.start + timedelta(days=i) for i in range(DEMO_SIZES["small"].days)]
    mine = [(d, None, org.usage_payload(d, spike["user_id"])) for d in days]
    costs = _costs(mine)
    daily = _daily(costs, days)
    worst = max(daily, key=daily.get)
    assert worst == spike["date"]
    assert daily[worst] > 5 * statistics.median(daily.values())
    by_model = {model: usd for (d, _, model), usd in costs.items() if d == worst}
    assert max(by_model, key=by_model.get) == spike["model"]
    assert by_model[spike["model"]] > 0.8 * daily[worst], "one model makes the spike"


def test_demo_org__spike_is_the_largest_day_over_its_users_median(
    small, small_payloads, small_costs
):
    days = [d for d, _, _ in small_payloads]
    ratios = {}
    for user in {k[1] for k in small_costs}:
        daily = _daily(small_costs, days, user)
        median = statistics.median(daily.values())
        if median > 0:
            top = max(daily, key=daily.get)
            ratios[(user, top)] = daily[top] / median
    spike = small.describe()["spike"]
    assert max(ratios, key=ratios.get) == (spike["user_id"], spike["date"])


# -- prices -----------------------------------------------------------------------------------


def test_unpriced_finetune__genai_prices_raises_lookup_error(small, small_payloads):
    model = small.describe()["unpriced_model"]
    assert model == UNPRICED_MODEL and model.startswith("ft:")
    assert any(row["snapshot_id"] == model for _, _, p in small_payloads for row in p["data"])
    with pytest.raises(LookupError):
        calc_price(Usage(input_tokens=1), model, provider_id="openai")


@pytest.mark.parametrize("model", [m.id for m in CATALOG], ids=[m.id for m in CATALOG])
def test_catalog__every_other_model_is_priced(model):
    quantity = {"input": 1_000, "cached": 0, "output": 100, "characters": 1_000, "seconds": 60,
                "images": Counter({"1024x1024": 1})}  # fmt: skip
    if model == UNPRICED_MODEL:
        with pytest.raises(LookupError):
            _price(model, quantity)
    else:
        assert _price(model, quantity) > 0


def test_catalog__dall_e_3_is_not_in_genai_prices():
    # The reason spend.pricing keeps a per-image table (API-NOTES section 4).
    with pytest.raises(LookupError):
        calc_price(Usage(input_tokens=1), "dall-e-3", provider_id="openai")


def test_empty_usage_payload__fresh_each_call():
    first = empty_usage_payload()
    first["data"].append({"n_requests": 1})
    assert empty_usage_payload() == {"object": "list", **{name: [] for name in ARRAYS}}


# -- the Claude share (issue 20) ----------------------------------------------------------------


def _demo_table(today: date = TODAY, size: str = "small"):
    """The demo source's priced table over the demo's whole range, at ``today``."""
    from spend.config import Settings
    from spend.sources.demo import DemoSource

    clock = lambda: datetime.combine(today, datetime.min.time(), tzinfo=UTC).timestamp() + 3600  # noqa: E731
    source = DemoSource(Settings(source="demo", demo_size=size), clock=clock)
    return source.assemble(source.plan(source.org.start, source.org.end)).frame


def test_claude_payloads__pass_the_anthropic_sources_own_validators(small):
    from spend.sources.anthropic import list_page, usage_page

    usage_page(small.claude_usage_payload(small.end - timedelta(days=6), small.end))
    list_page(small.claude_workspaces_payload())
    list_page(small.claude_api_keys_payload())
    # days outside the organization's range are empty buckets, as Anthropic answers them
    before = small.claude_usage_payload(small.start - timedelta(days=2), small.start)
    assert [len(bucket["results"]) for bucket in before["data"]] == [0, 0, 5]


def test_demo_source__both_providers_claude_parsed_by_the_anthropic_source():
    frame = _demo_table()
    assert set(frame["provider"]) == {"openai", "anthropic"}
    assert set(frame["source"]) == {"demo"}
    claude = frame[frame["provider"].eq("anthropic")]
    assert claude["model"].astype(str).str.startswith("claude").all()
    assert claude["n_requests"].isna().all()  # Anthropic's report has no request count
    assert claude["user_id"].isna().all()  # and no users
    assert set(claude["project_name"]) == {
        "Claude research",
        "Support assistant",
        "Default workspace",
    }
    assert claude["cost_basis"].eq("estimated").all()  # every Claude row has a list price
    assert set(claude["operation"]) == {"completion", "web_search"}
    assert claude["cache_write_tokens"].sum() > 0 and claude["batch"].any()
    openai = frame[frame["provider"].eq("openai")]
    assert openai["n_requests"].notna().all()
    assert not openai["model"].astype(str).str.startswith("claude").any()


def test_demo_source__claude_is_about_a_quarter_of_the_spend_and_deterministic():
    frame = _demo_table()
    money = frame["cost_usd"].astype("Float64").fillna(0.0).groupby(frame["provider"]).sum()
    share = money["anthropic"] / money.sum()
    assert 0.15 < share < 0.35
    again = _demo_table()
    assert float(again["cost_usd"].astype("Float64").fillna(0.0).sum()) == float(money.sum())


def test_demo_source__claude_weekends_are_quieter_and_spend_grows():
    frame = _demo_table()
    claude = frame[frame["provider"].eq("anthropic")]
    daily = claude.groupby("date")["cost_usd"].sum()
    weekend = daily[daily.index.day_of_week >= 5].mean()
    weekday = daily[daily.index.day_of_week < 5].mean()
    assert 0.25 < weekend / weekday < 0.5
    assert daily.iloc[-28:].sum() > daily.iloc[:28].sum()


# -- the team's own days (issue 21) -------------------------------------------------------------


def _window_starts(body: dict) -> list[tuple[int, int]]:
    """A usage body into (window start, requests) per row of every array the demo fills."""
    out = []
    for name in ("data", "dalle_api_data", "whisper_api_data", "tts_api_data"):
        for row in body[name]:
            start = row.get("aggregation_timestamp", row.get("timestamp"))
            out.append((int(start), int(row.get("n_requests", row.get("num_requests", 0)))))
    return out


@pytest.mark.parametrize(
    ("zone", "first", "last"),
    [
        # fall back (Nov 1, 2026 has 25 hours) and spring forward (Mar 8, 2026 has 23)
        ("America/Los_Angeles", date(2026, 10, 31), date(2026, 11, 2)),
        ("America/Los_Angeles", date(2026, 3, 7), date(2026, 3, 9)),
        ("Europe/Berlin", date(2026, 10, 24), date(2026, 10, 26)),
        ("Asia/Kolkata", date(2026, 11, 10), date(2026, 11, 11)),  # UTC+5:30
        ("Pacific/Kiritimati", date(2026, 11, 10), date(2026, 11, 11)),  # UTC+14
    ],
)
def test_demo_org__in_a_zone_each_window_lands_on_its_local_date(zone, first, last):
    """Every window the UTC days hold between the first date's midnight and the midnight after
    the last lands on exactly one local date, the one it starts on there: nothing lost, nothing
    counted twice."""
    from zoneinfo import ZoneInfo

    from spend.localdays import day_bounds

    tz = ZoneInfo(zone)
    org = DemoOrg("small", today=last + timedelta(days=5), zone=tz)
    got = {day: _window_starts(body) for day, _, body in org.payloads(first, last)}
    assert list(got) == [first + timedelta(days=i) for i in range((last - first).days + 1)]
    for day, rows in got.items():
        assert rows, day
        assert {datetime.fromtimestamp(ts, tz).date() for ts, _ in rows} == {day}
    low, high = (int(b.timestamp()) for b in (day_bounds(first, tz)[0], day_bounds(last, tz)[1]))
    utc_days = (day_bounds(first, tz)[0].date(), (day_bounds(last, tz)[1]).date())
    expected = []
    day = utc_days[0]
    while day <= utc_days[1]:  # the UTC days as the generator makes them, cut to the interval
        expected += [r for r in _window_starts(org.usage_payload(day)) if low <= r[0] < high]
        day += timedelta(days=1)
    assert sorted(r for rows in got.values() for r in rows) == sorted(expected)


@pytest.mark.parametrize(
    ("zone", "now", "today"),
    [
        # 03:00 UTC on Dec 1 is Nov 30 in Los Angeles, already Dec 1 in Kiritimati and in UTC
        ("UTC", datetime(2026, 12, 1, 3, tzinfo=UTC), date(2026, 12, 1)),
        ("America/Los_Angeles", datetime(2026, 12, 1, 3, tzinfo=UTC), date(2026, 11, 30)),
        ("Pacific/Kiritimati", datetime(2026, 11, 30, 11, tzinfo=UTC), date(2026, 12, 1)),
    ],
)
def test_demo_source__days_end_yesterday_in_the_zone(zone, now, today):
    from spend.config import Settings
    from spend.sources.demo import DemoSource

    source = DemoSource(Settings(source="demo", timezone=zone), clock=now.timestamp)
    assert source.today() == today
    assert (source.org.today, source.org.end) == (today, today - timedelta(days=1))
    frame = source.assemble(source.plan(today - timedelta(days=9), today)).frame
    assert frame["date"].max().date() == today - timedelta(days=1)  # today: nothing yet
    assert frame["date"].min().date() == today - timedelta(days=9)
    assert set(frame["provider"]) == {"openai", "anthropic"}


def test_demo_source__a_zone_names_its_own_tables():
    """The demo's tables in two zones are two tables (the app caches them by fingerprint); in UTC
    the fingerprint is what it always was."""
    from spend.config import Settings
    from spend.sources.demo import DemoSource

    assert DemoSource.fingerprint(Settings(source="demo")) == "demo-small"
    assert DemoSource.fingerprint(Settings(source="demo", timezone="Etc/UTC")) == "demo-small"
    la = DemoSource.fingerprint(Settings(source="demo", timezone="America/Los_Angeles"))
    assert la == "demo-small-America/Los_Angeles"


def test_demo_source__in_utc_is_what_it_always_was():
    """A zone of None and UTC generate the same payloads, day for day."""
    from zoneinfo import ZoneInfo

    plain = DemoOrg("small", today=TODAY)
    utc = DemoOrg("small", today=TODAY, zone=ZoneInfo("UTC"))
    start = TODAY - timedelta(days=4)
    assert list(plain.payloads(start, TODAY)) == list(utc.payloads(start, TODAY))
