"""The fake OpenAI server keeps the promises the rest of the suite relies on (plain requests)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from tests.fake_openai import (
    ADMIN_KEY,
    LEGACY_KEY,
    ORG_ID,
    USAGE_KINDS,
    FakeOpenAI,
    build_world,
    day_start,
    decode_cursor,
    redact_key,
    split_metrics,
)

END = date(2025, 6, 30)
START = END - timedelta(days=29)
T0, T_END = day_start(START), day_start(END) + 86_400
TIMEOUT = 5


class StepClock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake(fake_openai):  # noqa: F811
    """The shared fake with a fixed 30-day range ending 2025-06-30."""
    fake_openai.reset(end_date=END)
    return fake_openai


def get(fake: FakeOpenAI, path: str, params=None, headers=None) -> requests.Response:
    return requests.get(fake.base_url + path, params=params, headers=headers, timeout=TIMEOUT)


def legacy(fake: FakeOpenAI, path: str, params=None) -> requests.Response:
    return get(fake, path, params, fake.legacy_headers())


def admin(fake: FakeOpenAI, path: str, params=None) -> requests.Response:
    return get(fake, path, params, fake.admin_headers())


def all_pages(fake: FakeOpenAI, path: str, params: dict) -> list[dict]:
    """Follow ``next_page`` until ``has_more`` is false; every page body, in order."""
    pages, cursor = [], None
    while True:
        response = admin(fake, path, {**params, **({"page": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        if not body["has_more"]:
            assert body["next_page"] is None
            return pages
        cursor = body["next_page"]


def summed(results: list[dict], metrics: tuple[str, ...]) -> dict[str, int]:
    return {m: sum(r[m] for r in results) for m in metrics}


# --------------------------------------------------------------------------------------------- auth

USAGE_Q = {"date": "2025-06-30"}


@pytest.mark.parametrize(
    ("path", "params", "headers", "status", "code", "message"),
    [
        (
            "/usage",
            USAGE_Q,
            {"OpenAI-Organization": ORG_ID},
            401,
            "invalid_api_key",
            "didn't provide an API key",
        ),
        (
            "/usage",
            USAGE_Q,
            {"Authorization": "Bearer sk-wrong-key-123456789", "OpenAI-Organization": ORG_ID},
            401,
            "invalid_api_key",
            "Incorrect API key provided: sk-wr***6789",
        ),
        (
            "/usage",
            USAGE_Q,
            {"Authorization": "Basic abc"},
            401,
            "invalid_api_key",
            "didn't provide",
        ),
        (
            "/organization/usage/completions",
            {"start_time": T0},
            {"Authorization": f"Bearer {LEGACY_KEY}"},
            403,
            None,
            "Missing scopes: api.usage.read",
        ),
        (
            "/organization/costs",
            {"start_time": T0},
            {"Authorization": f"Bearer {LEGACY_KEY}"},
            403,
            None,
            "Missing scopes: api.usage.read",
        ),
        (
            "/organization/users",
            None,
            {"Authorization": f"Bearer {LEGACY_KEY}"},
            403,
            None,
            "Missing scopes",
        ),
        (
            "/usage",
            USAGE_Q,
            {"Authorization": f"Bearer {ADMIN_KEY}", "OpenAI-Organization": ORG_ID},
            403,
            None,
            "Admin API keys",
        ),
        (
            f"/organizations/{ORG_ID}/users",
            None,
            {"Authorization": f"Bearer {LEGACY_KEY}", "OpenAI-Organization": "org-Other"},
            404,
            None,
            "No such organization: org-Other",
        ),
        (
            "/organizations/org-Other/users",
            None,
            {"Authorization": f"Bearer {LEGACY_KEY}", "OpenAI-Organization": ORG_ID},
            404,
            None,
            "No such organization: org-Other",
        ),
        (
            f"/organizations/{ORG_ID}/users",
            None,
            {"Authorization": f"Bearer {LEGACY_KEY}"},
            404,
            None,
            "No such organization",
        ),
        (
            "/usage",
            USAGE_Q,
            {"Authorization": f"Bearer {LEGACY_KEY}", "OpenAI-Organization": "org-Other"},
            403,
            "mismatched_organization",
            "should match organization",
        ),
        (
            "/usage",
            USAGE_Q,
            {"Authorization": f"Bearer {LEGACY_KEY}"},
            403,
            "mismatched_organization",
            "should match",
        ),
        (
            "/dashboard/billing/usage",
            None,
            {"Authorization": f"Bearer {LEGACY_KEY}"},
            404,
            None,
            "Invalid URL",
        ),
        (
            "/organization/usage/tokens",
            {"start_time": T0},
            {"Authorization": f"Bearer {ADMIN_KEY}"},
            404,
            None,
            "Invalid URL",
        ),
    ],
)
def test_auth__refusals_carry_the_envelope_and_a_request_id(
    fake, path, params, headers, status, code, message
):
    response = get(fake, path, params, headers)
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    assert message in error["message"]
    assert re.fullmatch(r"req_[0-9a-f]{32}", response.headers["x-request-id"])


def test_auth__wrong_key_is_never_echoed_whole(fake):
    secret = "sk-proj-SECRETSECRETSECRET1234"
    response = get(
        fake,
        "/organization/usage/completions",
        {"start_time": T0},
        {"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 401
    assert secret not in response.text and "SECRETSECRET" not in response.text


def test_auth__post_is_not_allowed(fake):
    response = requests.post(
        fake.base_url + "/organization/users", headers=fake.admin_headers(), timeout=TIMEOUT
    )
    assert response.status_code == 405
    assert "error" in response.json()


@pytest.mark.parametrize(
    ("key", "expected"),
    [("sk-test-legacy-0000000000000000", "sk-te***0000"), ("short", "***"), ("", "***")],
)
def test_redact_key__keeps_only_the_ends(key, expected):
    assert redact_key(key) == expected


# ------------------------------------------------------------------------------------- legacy users


def test_legacy_users__nested_members_with_quirks(fake):
    response = legacy(fake, f"/organizations/{ORG_ID}/users")
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    members = body["members"]["data"]
    assert len(members) == 3
    for member in members:
        assert member["object"] == "organization_user"
        assert member["role"] in ("owner", "reader")
        assert isinstance(member["created"], int)
        assert re.fullmatch(r"user-[A-Za-z0-9]{24}", member["user"]["id"])
        assert "@" in member["user"]["email"]
    assert any("name" not in m["user"] for m in members)
    standard = {"object", "role", "created", "user"}
    assert any(set(m) - standard for m in members)
    assert [m["user"]["id"] for m in members] == fake.user_ids


# ------------------------------------------------------------------------------------- legacy usage

ARRAYS_2024 = {
    "data",
    "ft_data",
    "dalle_api_data",
    "whisper_api_data",
    "tts_api_data",
    "assistant_code_interpreter_data",
    "retrieval_storage_data",
}


def test_legacy_usage__2024_org_wide_rows_have_no_user(fake):
    body = legacy(fake, "/usage", {"date": END.isoformat()}).json()
    assert body["object"] == "list"
    assert ARRAYS_2024 <= set(body)
    assert "current_usage_usd" not in body
    rows = body["data"]
    assert {r["operation"] for r in rows} == {"completion", "embeddings"}
    assert any(r["snapshot_id"].startswith("ft:") for r in rows)
    assert all(r["user_id"] is None and r["email"] is None for r in rows)
    assert all(
        {
            "n_context_tokens_total",
            "n_generated_tokens_total",
            "n_cached_context_tokens_total",
            "api_key_id",
            "project_id",
            "project_name",
            "aggregation_timestamp",
        }
        <= set(r)
        for r in rows
    )
    assert all(day_start(END) <= r["aggregation_timestamp"] < day_start(END) + 86_400 for r in rows)
    assert len({r["aggregation_timestamp"] for r in rows}) > 1
    assert any(r["api_key_name"] is None for r in rows)  # the service-account key has no name
    assert any(r["project_id"] == r["project_name"] for r in rows)  # a project *name* in project_id
    assert body["dalle_api_data"][0]["model_id"] == "dall-e-3"
    assert body["dalle_api_data"][0]["image_size"] in ("1024x1024", "1024x1792")
    assert body["whisper_api_data"][0]["model_id"] == "whisper-1"
    assert body["tts_api_data"][0]["model_id"] == "tts-1"
    for array in ("dalle_api_data", "whisper_api_data", "tts_api_data"):
        assert all(r["user_id"] is None for r in body[array])


def test_legacy_usage__ft_data_has_one_row_of_an_unknown_shape(fake):
    bodies = {
        day: legacy(fake, "/usage", {"date": day.isoformat()}).json()
        for day in (START, START + timedelta(1))
    }
    assert bodies[START]["ft_data"] == []
    (row,) = bodies[START + timedelta(1)]["ft_data"]
    assert "n_requests" not in row and "aggregation_timestamp" not in row
    assert row["model_id"].startswith("ft:")


def test_legacy_usage__2023_field_set(fake):
    fake.reset(end_date=END, field_set="2023")
    body = legacy(fake, "/usage", {"date": END.isoformat()}).json()
    assert body["current_usage_usd"] == 0
    assert "retrieval_storage_data" not in body and "assistant_code_interpreter_data" not in body
    rows = body["data"]
    assert rows
    for row in rows:
        assert {
            "n_context",
            "n_generated",
            "n_context_tokens_total",
            "n_generated_tokens_total",
        } <= set(row)
        assert row["n_context"] == row["n_requests"]
        assert (
            "n_cached_context_tokens_total" not in row
            and "api_key_id" not in row
            and "project_id" not in row
        )


def test_legacy_usage__per_user_answers_carry_only_that_user(fake):
    users = fake.world.users
    per_user = []
    for user in users:
        body = legacy(fake, "/usage", {"date": END.isoformat(), "user_public_id": user.id}).json()
        assert all(r["user_id"] == user.id and r["email"] == user.email for r in body["data"])
        for array in ("dalle_api_data", "whisper_api_data", "tts_api_data"):
            assert all(
                r["user_id"] == user.email for r in body[array]
            )  # an email, as in Elastic's fixture
        assert body["ft_data"] == []
        per_user.append(sum(r["n_requests"] for r in body["data"]))
    org = legacy(fake, "/usage", {"date": END.isoformat()}).json()
    assert sum(per_user) < sum(
        r["n_requests"] for r in org["data"]
    )  # the service account has no user


@pytest.mark.parametrize("field_set", ["2024", "2023"])
@pytest.mark.parametrize("who", ["org", "user0", "user1"])
def test_legacy_usage__totals_through_requests_equal_the_fakes(fake, field_set, who):
    fake.reset(end_date=END, days=4, field_set=field_set)
    user_id = None if who == "org" else fake.user_ids[int(who[-1])]
    totals = dict.fromkeys(
        (
            "n_requests",
            "input_tokens",
            "cached_input_tokens",
            "output_tokens",
            "images",
            "seconds",
            "characters",
        ),
        0,
    )
    for day in fake.days:
        params = {"date": day.isoformat(), **({"user_public_id": user_id} if user_id else {})}
        body = legacy(fake, "/usage", params).json()
        for row in body["data"]:
            totals["n_requests"] += row["n_requests"]
            totals["input_tokens"] += row["n_context_tokens_total"]
            totals["output_tokens"] += row["n_generated_tokens_total"]
            totals["cached_input_tokens"] += row.get("n_cached_context_tokens_total", 0)
        for array, field, name in (
            ("dalle_api_data", "num_images", "images"),
            ("whisper_api_data", "num_seconds", "seconds"),
            ("tts_api_data", "num_characters", "characters"),
        ):
            totals["n_requests"] += sum(r["num_requests"] for r in body[array])
            totals[name] += sum(r[field] for r in body[array])
    assert totals == fake.legacy_totals(user_id=user_id)
    assert totals["input_tokens"] > 0


def test_legacy_totals__match_the_admin_records(fake):
    legacy_totals = fake.legacy_totals()
    completions = fake.admin_totals("completions")
    embeddings = fake.admin_totals("embeddings")
    assert legacy_totals["input_tokens"] == completions["input_tokens"] + embeddings["input_tokens"]
    assert legacy_totals["output_tokens"] == completions["output_tokens"]
    assert legacy_totals["images"] == fake.admin_totals("images")["images"]
    assert legacy_totals["seconds"] == fake.admin_totals("audio_transcriptions")["seconds"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 400),
        ({"date": ""}, 400),
        ({"date": "2025/06/30"}, 400),
        ({"date": "20250630"}, 400),
        ({"date": "2025-02-30"}, 400),
        ({"date": "2020-01-01"}, 200),  # before the data: empty
        ({"date": END.isoformat(), "user_public_id": "user-nobody"}, 200),  # unknown user: empty
    ],
)
def test_legacy_usage__bad_or_empty_requests(fake, params, status):
    response = legacy(fake, "/usage", params)
    assert response.status_code == status
    body = response.json()
    if status == 400:
        assert body["error"]["param"] == "date"
    else:
        assert all(body[name] == [] for name in ARRAYS_2024)


def test_legacy_usage__legacy_empty_answers_200_with_nothing(fake):
    fake.reset(end_date=END, legacy_empty=True)
    for params in (
        {"date": END.isoformat()},
        {"date": END.isoformat(), "user_public_id": fake.user_ids[0]},
    ):
        response = legacy(fake, "/usage", params)
        assert response.status_code == 200
        assert all(response.json()[name] == [] for name in ARRAYS_2024)
    assert fake.legacy_totals()["n_requests"] == 0
    assert (
        fake.admin_totals("completions")["num_model_requests"] > 0
    )  # the admin API still has the data


# -------------------------------------------------------------------------------------------- admin


@pytest.mark.parametrize("kind", sorted(USAGE_KINDS))
def test_admin_usage__totals_through_pages_equal_the_fakes(fake, kind):
    obj, metrics, dims, _ = USAGE_KINDS[kind]
    pages = all_pages(
        fake, f"/organization/usage/{kind}", {"start_time": T0, "end_time": T_END, "limit": 7}
    )
    assert len(pages) == 5  # 30 days / 7
    buckets = [b for page in pages for b in page["data"]]
    assert [b["start_time"] for b in buckets] == list(range(T0, T_END, 86_400))
    assert all(
        b["end_time"] - b["start_time"] == 86_400 and b["object"] == "bucket" for b in buckets
    )
    results = [r for b in buckets for r in b["results"]]
    assert all(r["object"] == obj and all(r[d] is None for d in dims) for r in results)
    assert all(len(b["results"]) <= 1 for b in buckets)
    assert summed(results, metrics) == fake.admin_totals(kind)
    assert sum(fake.admin_totals(kind).values()) > 0


#: OpenAI's example payloads, kept beside the repository (``../shared/openai-spec/examples``), not
#: in it. Where they are absent (a fresh clone) the two checks against them are skipped with
#: ``NO_SPEC_EXAMPLES``; tests/test_contract.py still checks the fake against the sources' parsers.
SPEC_EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "openai-spec" / "examples"
NO_SPEC_EXAMPLES = (
    f"OpenAI's example payloads are not at {SPEC_EXAMPLES} (they live beside the repository in "
    "the project's workspace, ../shared/openai-spec/, not in a clone): this test compares the "
    "fake server's fields with them; copy that folder there to run it"
)
SPEC_OBJECTS = {
    "completions": "UsageCompletionsResult",
    "embeddings": "UsageEmbeddingsResult",
    "moderations": "UsageModerationsResult",
    "images": "UsageImagesResult",
    "audio_speeches": "UsageAudioSpeechesResult",
    "audio_transcriptions": "UsageAudioTranscriptionsResult",
    "vector_stores": "UsageVectorStoresResult",
    "code_interpreter_sessions": "UsageCodeInterpreterSessionsResult",
    "file_search_calls": "UsageFileSearchCallsResult",
    "web_search_calls": "UsageWebSearchCallsResult",
}


@pytest.mark.skipif(not SPEC_EXAMPLES.is_dir(), reason=NO_SPEC_EXAMPLES)
@pytest.mark.parametrize("kind", sorted(SPEC_OBJECTS))
def test_admin_usage__results_have_the_spec_examples_keys(fake, kind):
    example = json.loads((SPEC_EXAMPLES / "objects" / f"{SPEC_OBJECTS[kind]}.json").read_text())
    page_example = json.loads((SPEC_EXAMPLES / f"usage-{kind.replace('_', '-')}.json").read_text())
    body = admin(
        fake, f"/organization/usage/{kind}", {"start_time": day_start(END), "end_time": T_END}
    ).json()
    assert set(body) == set(page_example)
    assert set(body["data"][0]) == set(page_example["data"][0])
    (result,) = body["data"][0]["results"]
    assert set(result) == set(example)
    assert result["object"] == example["object"]


@pytest.mark.skipif(not SPEC_EXAMPLES.is_dir(), reason=NO_SPEC_EXAMPLES)
@pytest.mark.parametrize(
    ("path", "example"),
    [
        (
            "/organization/costs?group_by[]=line_item&group_by[]=project_id",
            "objects/CostsResult.json",
        ),
        ("/organization/users", "objects/User.json"),
        ("/organization/projects", "objects/Project.json"),
    ],
)
def test_admin__objects_have_the_spec_examples_keys(fake, path, example):
    expected = set(json.loads((SPEC_EXAMPLES / example).read_text()))
    body = admin(fake, path, {"start_time": T0, "end_time": T_END}).json()
    first = body["data"][0]["results"][0] if body["object"] == "page" else body["data"][0]
    assert expected - {"external_key_id"} <= set(first)


def test_server__answers_concurrent_callers(fake):
    from concurrent.futures import ThreadPoolExecutor

    def call(i: int) -> int:
        return legacy(fake, "/usage", {"date": fake.days[i % 30].isoformat()}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(call, range(40)))
    assert statuses == [200] * 40
    assert fake.count("/usage") == 40 and len(fake.statuses) == 40


def test_admin_usage__days_without_data_have_empty_results(fake):
    before = T0 - 3 * 86_400
    body = admin(
        fake,
        "/organization/usage/completions",
        {"start_time": before, "end_time": T0 + 86_400, "limit": 31},
    ).json()
    assert [len(b["results"]) for b in body["data"]][:3] == [0, 0, 0]
    assert body["data"][3]["results"]
    assert body["has_more"] is False and body["next_page"] is None


@pytest.mark.parametrize(
    ("kind", "params", "grouped"),
    [
        ("completions", {"group_by[]": "model"}, ("model",)),
        ("completions", {"group_by": "model"}, ("model",)),
        ("completions", {"group_by[]": ["project_id", "user_id"]}, ("project_id", "user_id")),
        (
            "completions",
            {"group_by": "batch", "group_by[]": "service_tier"},
            ("batch", "service_tier"),
        ),
        (
            "completions",
            {
                "group_by[]": [
                    "project_id",
                    "user_id",
                    "api_key_id",
                    "model",
                    "batch",
                    "service_tier",
                ]
            },
            ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier"),
        ),
        ("images", {"group_by[]": ["size", "source", "model"]}, ("size", "source", "model")),
        ("vector_stores", {"group_by[]": "project_id"}, ("project_id",)),
        ("web_search_calls", {"group_by[]": "context_level"}, ("context_level",)),
        ("file_search_calls", {"group_by[]": "vector_store_id"}, ("vector_store_id",)),
    ],
)
def test_admin_usage__group_by_fills_only_grouped_fields(fake, kind, params, grouped):
    _, metrics, dims, _ = USAGE_KINDS[kind]
    pages = all_pages(
        fake,
        f"/organization/usage/{kind}",
        {"start_time": T0, "end_time": T_END, "limit": 31, **params},
    )
    results = [r for page in pages for b in page["data"] for r in b["results"]]
    for result in results:
        assert all(result[d] is None for d in dims if d not in grouped)
    keys = {tuple(r[g] for g in grouped) for r in results}
    assert len(keys) > 1
    assert any(all(v is not None for v in key) for key in keys)
    per_bucket = [
        tuple(r[g] for g in grouped) for page in pages for b in page["data"] for r in b["results"]
    ]
    assert len(per_bucket) >= len(keys)
    assert summed(results, metrics) == fake.admin_totals(kind)


def test_admin_usage__user_id_is_null_for_service_account_usage(fake):
    body = admin(
        fake,
        "/organization/usage/completions",
        {"start_time": T0, "end_time": T_END, "limit": 31, "group_by[]": "user_id"},
    ).json()
    users = {r["user_id"] for b in body["data"] for r in b["results"]}
    assert None in users and set(fake.user_ids) <= users


@pytest.mark.parametrize(
    ("kind", "params", "filters"),
    [
        ("completions", {"project_ids[]": "P1"}, {"project_ids": ["P1"]}),
        ("completions", {"project_ids": ["P0", "P1"]}, {"project_ids": ["P0", "P1"]}),
        ("completions", {"user_ids[]": "U0"}, {"user_ids": ["U0"]}),
        (
            "completions",
            {"models[]": "gpt-4o-mini-2024-07-18"},
            {"models": ["gpt-4o-mini-2024-07-18"]},
        ),
        ("completions", {"batch": "true"}, {"batch": ["true"]}),
        ("completions", {"api_key_ids[]": "K0"}, {"api_key_ids": ["K0"]}),
        ("images", {"sizes[]": "1024x1792"}, {"sizes": ["1024x1792"]}),
        ("embeddings", {"models[]": "no-such-model"}, {"models": ["no-such-model"]}),
    ],
)
def test_admin_usage__filters_match_the_fakes_filtered_totals(fake, kind, params, filters):
    names = {
        "P0": fake.project_ids[0],
        "P1": fake.project_ids[1],
        "U0": fake.user_ids[0],
        "K0": fake.api_key_ids[0],
    }

    def swap(value):
        return (
            [names.get(v, v) for v in value] if isinstance(value, list) else names.get(value, value)
        )

    params = {k: swap(v) for k, v in params.items()}
    filters = {k: swap(v) for k, v in filters.items()}
    pages = all_pages(
        fake,
        f"/organization/usage/{kind}",
        {"start_time": T0, "end_time": T_END, "limit": 31, **params},
    )
    results = [r for page in pages for b in page["data"] for r in b["results"]]
    expected = fake.admin_totals(kind, **filters)
    assert summed(results, USAGE_KINDS[kind][1]) == expected
    assert expected != fake.admin_totals(kind)


def test_admin_totals__date_range_is_inclusive(fake):
    whole = fake.admin_totals("completions")
    first = fake.admin_totals("completions", end=START + timedelta(days=9))
    rest = fake.admin_totals("completions", start=START + timedelta(days=10))
    assert {k: first[k] + rest[k] for k in whole} == whole


@pytest.mark.parametrize(
    ("width", "seconds", "limit", "days", "hours"),
    [("1h", 3600, 168, 3, [7_200, 43_200, 82_800]), ("1m", 60, 1440, 2, [43_200])],
)
def test_admin_usage__sub_day_buckets_keep_the_totals(fake, width, seconds, limit, days, hours):
    first = END - timedelta(days=days - 1)
    pages = all_pages(
        fake,
        "/organization/usage/completions",
        {"start_time": day_start(first), "end_time": T_END, "bucket_width": width, "limit": limit},
    )
    buckets = [b for page in pages for b in page["data"]]
    assert len(buckets) == days * 86_400 // seconds and all(
        b["end_time"] - b["start_time"] == seconds for b in buckets
    )
    # 1h: 02:00, 12:00 and 23:00 UTC (fake_openai.HOURLY_SPREAD); 1m: 12:00 UTC, once a day
    assert [b["start_time"] % 86_400 for b in buckets if b["results"]] == hours * days
    results = [r for b in buckets for r in b["results"]]
    assert summed(results, USAGE_KINDS["completions"][1]) == fake.admin_totals(
        "completions", start=first
    )


@pytest.mark.parametrize(
    ("path", "params", "param"),
    [
        ("/organization/usage/completions", {}, "start_time"),
        ("/organization/usage/completions", {"start_time": "yesterday"}, "start_time"),
        ("/organization/usage/completions", {"start_time": T0, "limit": 32}, "limit"),
        ("/organization/usage/completions", {"start_time": T0, "limit": 0}, "limit"),
        (
            "/organization/usage/completions",
            {"start_time": T0, "bucket_width": "1h", "limit": 169},
            "limit",
        ),
        (
            "/organization/usage/completions",
            {"start_time": T0, "bucket_width": "1w"},
            "bucket_width",
        ),
        (
            "/organization/usage/completions",
            {"start_time": T0, "end_time": 4_102_444_800},
            "end_time",
        ),
        ("/organization/usage/completions", {"start_time": T0, "end_time": T0}, "end_time"),
        ("/organization/usage/completions", {"start_time": T0, "page": "page_garbage"}, "page"),
        (
            "/organization/usage/completions",
            {"start_time": T0, "group_by[]": "line_item"},
            "group_by",
        ),
        (
            "/organization/usage/completions",
            {"start_time": T0, "group_by": "project_id,model"},
            "group_by",
        ),
        (
            "/organization/usage/vector_stores",
            {"start_time": T0, "group_by[]": "user_id"},
            "group_by",
        ),
        ("/organization/costs", {}, "start_time"),
        ("/organization/costs", {"start_time": T0, "limit": 181}, "limit"),
        ("/organization/costs", {"start_time": T0, "bucket_width": "1h"}, "bucket_width"),
        ("/organization/costs", {"start_time": T0, "group_by[]": "user_id"}, "group_by"),
        ("/organization/costs", {"start_time": T0, "group_by[]": "model"}, "group_by"),
        ("/organization/users", {"limit": 101}, "limit"),
        ("/organization/projects", {"limit": 0}, "limit"),
    ],
)
def test_admin__bad_parameters_are_400(fake, path, params, param):
    response = admin(fake, path, params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_admin_usage__cursor_from_another_kind_is_refused(fake):
    body = admin(
        fake, "/organization/usage/embeddings", {"start_time": T0, "end_time": T_END}
    ).json()
    response = admin(
        fake,
        "/organization/usage/completions",
        {"start_time": T0, "end_time": T_END, "page": body["next_page"]},
    )
    assert response.status_code == 400
    assert decode_cursor("embeddings", body["next_page"]) == T0 + 7 * 86_400


def test_admin_usage__default_limit_is_seven_and_max_limit_accepted(fake):
    default = admin(
        fake, "/organization/usage/completions", {"start_time": T0, "end_time": T_END}
    ).json()
    assert len(default["data"]) == 7 and default["has_more"] is True
    widest = admin(
        fake, "/organization/usage/completions", {"start_time": T0, "end_time": T_END, "limit": 31}
    ).json()
    assert len(widest["data"]) == 30 and widest["has_more"] is False


# -------------------------------------------------------------------------------------------- costs


@pytest.mark.parametrize(
    ("group_by", "limit"),
    [
        (None, 7),
        ("line_item", 7),
        (["project_id", "line_item"], 3),
        ("api_key_id", 180),
        ("project_id", 31),
    ],
)
def test_costs__string_amounts_sum_to_the_fakes_total(fake, group_by, limit):
    params = {
        "start_time": T0,
        "end_time": T_END,
        "limit": limit,
        **({"group_by[]": group_by} if group_by else {}),
    }
    pages = all_pages(fake, "/organization/costs", params)
    assert len(pages) == -(-30 // limit)
    results = [r for page in pages for b in page["data"] for r in b["results"]]
    assert all(r["object"] == "organization.costs.result" for r in results)
    assert all(
        isinstance(r["amount"]["value"], str) and r["amount"]["currency"] == "usd" for r in results
    )
    assert sum(Decimal(r["amount"]["value"]) for r in results) == fake.costs_total()
    grouped = [group_by] if isinstance(group_by, str) else (group_by or [])
    for field in ("line_item", "project_id", "api_key_id"):
        if field not in grouped:
            assert all(r[field] is None for r in results)
    if "line_item" in grouped:
        assert any(r["line_item"] == "gpt-4o-2024-08-06, input" for r in results)
        assert all(r["quantity"] is not None for r in results)
        assert any(r["quantity_unit"] == "tokens" for r in results)
    else:
        assert all(r["quantity"] is None and r["quantity_unit"] is None for r in results)
    if "api_key_id" in grouped:
        assert {r["api_key_id"] for r in results} - {None} <= set(fake.api_key_ids)
        assert None in {r["api_key_id"] for r in results}  # storage has a project but no key


def test_costs__filters_and_range_match_the_fake(fake):
    project = fake.project_ids[1]
    params = {
        "start_time": day_start(END - timedelta(days=4)),
        "end_time": T_END,
        "project_ids[]": project,
    }
    body = admin(fake, "/organization/costs", params).json()
    money = sum(Decimal(r["amount"]["value"]) for b in body["data"] for r in b["results"])
    assert money == fake.costs_total(start=END - timedelta(days=4), project_ids=[project])
    assert Decimal(0) < money < fake.costs_total()


def test_costs__number_amounts_on_request(fake):
    fake.reset(end_date=END, costs_amount_as="number")
    body = admin(fake, "/organization/costs", {"start_time": T0, "end_time": T_END}).json()
    values = [r["amount"]["value"] for b in body["data"] for r in b["results"]]
    assert values and all(isinstance(v, float) for v in values)


# -------------------------------------------------------------------------------------------- lists


def collect(fake: FakeOpenAI, path: str, params: dict) -> tuple[list[dict], int]:
    items, after, calls = [], None, 0
    while True:
        body = admin(fake, path, {**params, **({"after": after} if after else {})}).json()
        calls += 1
        assert body["object"] == "list"
        if body["data"]:
            assert (
                body["first_id"] == body["data"][0]["id"]
                and body["last_id"] == body["data"][-1]["id"]
            )
        items += body["data"]
        if not body["has_more"]:
            return items, calls
        after = body["last_id"]


@pytest.mark.parametrize(("limit", "calls"), [(1, 3), (2, 2), (3, 1), (100, 1)])
def test_users_list__cursor_pagination(fake, limit, calls):
    users, n = collect(fake, "/organization/users", {"limit": limit})
    assert n == calls
    assert [u["id"] for u in users] == fake.user_ids
    assert all(u["object"] == "organization.user" for u in users)
    assert any(u["name"] is None for u in users)


def test_users_list__unknown_after_is_an_empty_page(fake):
    body = admin(fake, "/organization/users", {"after": "user-nobody"}).json()
    assert body["data"] == [] and body["has_more"] is False and body["first_id"] is None


@pytest.mark.parametrize(
    ("include_archived", "statuses"),
    [(None, {"active"}), ("true", {"active", "archived"}), ("false", {"active"})],
)
def test_projects_list__archived_only_on_request(fake, include_archived, statuses):
    params = {"limit": 1, **({"include_archived": include_archived} if include_archived else {})}
    projects, _ = collect(fake, "/organization/projects", params)
    assert {p["status"] for p in projects} == statuses
    archived = [p for p in projects if p["status"] == "archived"]
    assert all(p["archived_at"] for p in archived)


def test_projects_list__archived_project_has_usage(fake):
    old = fake.project_ids[2]
    assert fake.admin_totals("completions", project_ids=[old])["num_model_requests"] > 0


@pytest.mark.parametrize(
    ("access", "inactive_shown"),
    [(None, False), ("active", False), ("any", True), ("inactive", True)],
)
def test_api_keys_list__owners_and_access(fake, access, inactive_shown):
    research = fake.project_ids[1]
    params = {"limit": 1, **({"owner_project_access": access} if access else {})}
    keys, _ = collect(fake, f"/organization/projects/{research}/api_keys", params)
    assert keys
    assert all(k["object"] == "organization.project.api_key" for k in keys)
    assert any(k["owner_project_access"] == "inactive" for k in keys) is inactive_shown
    if access != "inactive":
        assert any(k["owner"]["type"] == "service_account" for k in keys)
    for key in keys:
        owner = key["owner"]
        if owner["type"] == "user":
            assert owner["user"]["id"] in fake.user_ids and owner["user"]["email"]
        else:
            assert owner["service_account"]["name"] == "ci-bot"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/organization/projects/proj_nope/api_keys", 404),
        ("/organization/projects/proj_nope", 404),
        ("/organization/users/user-nope", 404),
    ],
)
def test_admin_lookups__unknown_ids_are_404(fake, path, status):
    assert admin(fake, path).status_code == status


def test_admin_lookups__known_ids(fake):
    assert admin(fake, f"/organization/users/{fake.user_ids[0]}").json()["id"] == fake.user_ids[0]
    assert (
        admin(fake, f"/organization/projects/{fake.project_ids[2]}").json()["status"] == "archived"
    )


# ------------------------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("kwargs", "status", "content_type", "retry_after", "check"),
    [
        (
            {},
            429,
            "application/json",
            "2",
            lambda r: r.json()["error"]["code"] == "rate_limit_exceeded",
        ),
        (
            {"status": 429, "retry_after": "7"},
            429,
            "application/json",
            "7",
            lambda r: "error" in r.json(),
        ),
        (
            {"status": 429, "retry_after": None},
            429,
            "application/json",
            None,
            lambda r: "error" in r.json(),
        ),
        (
            {"status": 500},
            500,
            "application/json",
            None,
            lambda r: r.json()["error"]["type"] == "server_error",
        ),
        ({"status": 502}, 502, "application/json", None, lambda r: "error" in r.json()),
        (
            {"status": 503, "retry_after": "1"},
            503,
            "application/json",
            "1",
            lambda r: "error" in r.json(),
        ),
        ({"kind": "html"}, 502, "text/html", None, lambda r: r.text.startswith("<html>")),
        (
            {"kind": "html", "status": 200},
            200,
            "text/html",
            None,
            lambda r: "Bad Gateway" in r.text,
        ),
        ({"kind": "empty"}, 200, "application/json", None, lambda r: r.content == b""),
        (
            {"kind": "truncated"},
            200,
            "application/json",
            None,
            lambda r: r.text.startswith('{"object"'),
        ),
        ({"kind": "not_json"}, 200, "text/plain", None, lambda r: "upstream" in r.text),
    ],
)
def test_fail_next__each_kind_then_recovers(fake, kwargs, status, content_type, retry_after, check):
    fake.fail_next(1, **kwargs)
    response = legacy(fake, "/usage", {"date": END.isoformat()})
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith(content_type)
    assert response.headers.get("Retry-After") == retry_after
    assert response.headers["x-request-id"].startswith("req_")
    assert check(response)
    if kwargs.get("kind") in ("html", "empty", "truncated", "not_json"):
        with pytest.raises(ValueError):
            json.loads(response.text)
    assert legacy(fake, "/usage", {"date": END.isoformat()}).status_code == 200
    assert fake.pending_faults == 0


def test_fail_next__consumed_in_order(fake):
    fake.fail_next(2, status=429, retry_after="3")
    fake.fail_next(1, status=503)
    statuses = [admin(fake, "/organization/users").status_code for _ in range(4)]
    assert statuses == [429, 429, 503, 200]
    assert fake.statuses == statuses


def test_fail_next__path_prefix_only_hits_matching_paths(fake):
    fake.fail_next(1, status=500, path_prefix="/usage")
    assert admin(fake, "/organization/users").status_code == 200
    assert fake.pending_faults == 1
    assert legacy(fake, "/usage", {"date": END.isoformat()}).status_code == 500
    assert fake.pending_faults == 0


def test_fail_next__faults_come_before_auth(fake):
    fake.fail_next(1, status=502, kind="html")
    assert get(fake, "/usage", {"date": END.isoformat()}).status_code == 502
    assert get(fake, "/usage", {"date": END.isoformat()}).status_code == 401


def test_fail_next__unknown_kind_is_refused(fake):
    with pytest.raises(ValueError):
        fake.fail_next(1, kind="teapot")


# --------------------------------------------------------------------------------------- rate limit


def test_rate_limit__sliding_minute_on_the_injected_clock(fake):
    clock = StepClock()
    fake.reset(end_date=END, rate_limit_per_min=3, clock=clock)
    usage = {"date": END.isoformat()}
    answers = []
    for step in (0, 10, 20, 30):
        clock.now = 1000.0 + step
        answers.append(legacy(fake, "/usage", usage))
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[-1].headers["Retry-After"] == "30"  # the first hit leaves the window at t+60
    assert answers[-1].json()["error"]["code"] == "rate_limit_exceeded"
    clock.now = 1000.0 + 59.5
    assert legacy(fake, "/usage", usage).status_code == 429
    assert (
        admin(fake, "/organization/users").status_code == 200
    )  # another credential, its own window
    clock.now = 1000.0 + 60
    assert legacy(fake, "/usage", usage).status_code == 200
    assert fake.count("/usage", status=429) == 2


def test_rate_limit__prefix_limits_only_those_paths(fake):
    clock = StepClock()
    fake.reset(end_date=END, rate_limit_per_min=1, rate_limit_prefix="/usage", clock=clock)
    assert legacy(fake, "/usage", {"date": END.isoformat()}).status_code == 200
    assert legacy(fake, "/usage", {"date": END.isoformat()}).status_code == 429
    assert legacy(fake, f"/organizations/{ORG_ID}/users").status_code == 200


# ---------------------------------------------------------------------------------------- recording


def test_requests__recorded_without_authorization(fake):
    admin(
        fake,
        "/organization/usage/completions",
        {"start_time": T0, "end_time": T_END, "group_by[]": ["model", "project_id"], "limit": 2},
    )
    legacy(fake, "/usage", {"date": END.isoformat()})
    first, second = fake.requests
    assert first.method == "GET" and first.path == "/v1/organization/usage/completions"
    assert first.query == {
        "start_time": str(T0),
        "end_time": str(T_END),
        "group_by[]": ["model", "project_id"],
        "limit": "2",
    }
    assert "Authorization" not in first.headers
    assert second.headers["openai-organization"] == ORG_ID
    assert LEGACY_KEY not in repr(fake.requests) and ADMIN_KEY not in repr(fake.requests)
    method, path, query, headers = second
    assert (method, path, query) == ("GET", "/v1/usage", {"date": END.isoformat()})


@pytest.mark.parametrize(
    ("prefix", "status", "expected"),
    [
        (None, None, 3),
        ("/usage", None, 2),
        ("/v1/usage", None, 2),
        ("/organization", None, 1),
        ("/usage", 200, 1),
        ("/usage", 401, 1),
        ("/nothing", None, 0),
    ],
)
def test_count__by_prefix_and_status(fake, prefix, status, expected):
    legacy(fake, "/usage", {"date": END.isoformat()})
    get(fake, "/usage", {"date": END.isoformat()})
    admin(fake, "/organization/users")
    assert fake.count(prefix, status=status) == expected


# ----------------------------------------------------------------------------------- reset and data


def test_reset__restores_data_counters_faults_and_options(fake):
    fake.reset(end_date=END, days=5, legacy_empty=True, rate_limit_per_min=1)
    assert len(fake.days) == 5
    fake.fail_next(3)
    legacy(fake, "/usage", {"date": END.isoformat()})
    fake.reset(end_date=END)
    assert fake.requests == [] and fake.pending_faults == 0
    assert (
        len(fake.days) == 30
        and fake.options.legacy_empty is False
        and fake.options.rate_limit_per_min is None
    )
    assert [legacy(fake, "/usage", {"date": END.isoformat()}).status_code for _ in range(3)] == [
        200,
        200,
        200,
    ]


def test_configure__keeps_records(fake):
    legacy(fake, "/usage", {"date": END.isoformat()})
    fake.configure(field_set="2023")
    assert fake.count() == 1
    assert "current_usage_usd" in legacy(fake, "/usage", {"date": END.isoformat()}).json()
    with pytest.raises(ValueError):
        fake.configure(field_set="2022")
    fake.configure(end_date=None)
    assert fake.world.end == datetime.now(UTC).date()


def test_fake_openai_fixture__default_end_date_is_today(fake_openai):  # noqa: F811
    assert fake_openai.world.end == datetime.now(UTC).date()
    assert len(fake_openai.days) == 30
    assert fake_openai.base_url.startswith("http://127.0.0.1:") and fake_openai.base_url.endswith(
        "/v1"
    )


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ({"seed": 0}, {"seed": 0}, True),
        ({"seed": 0}, {"seed": 1}, False),
        (
            {"seed": 0, "days": 10},
            {"seed": 0, "days": 30},
            True,
        ),  # a day's data doesn't depend on the range
    ],
)
def test_build_world__deterministic_per_seed_and_day(a, b, same):
    day = END - timedelta(days=3)
    wa = build_world(users=3, end_date=END, **{"days": 30, **a})
    wb = build_world(users=3, end_date=END, **{"days": 30, **b})
    records_a = [(r.kind, dict(r.dims), dict(r.metrics)) for r in wa.records if r.day == day]
    records_b = [(r.kind, dict(r.dims), dict(r.metrics)) for r in wb.records if r.day == day]
    assert (records_a == records_b) is same
    assert (wa.users == wb.users) is (a["seed"] == b["seed"])


@pytest.mark.parametrize(("users", "days"), [(1, 1), (2, 2), (8, 3), (10, 1)])
def test_build_world__small_and_large_shapes(users, days):
    world = build_world(0, days, users, END)
    assert len(world.users) == users and world.start == END - timedelta(days=days - 1)
    kinds = {r.kind for r in world.records if r.day == END}
    assert kinds == set(USAGE_KINDS)  # every kind shows up on the last day, whatever the seed
    assert any(r.dims["model"] and r.dims["model"].startswith("ft:") for r in world.records)
    assert len({u.id for u in world.users}) == users


@pytest.mark.parametrize(
    ("metrics", "k"),
    [
        ({"num_model_requests": 1, "input_tokens": 100}, 3),
        ({"num_model_requests": 10, "input_tokens": 7, "output_tokens": 0}, 3),
        ({"num_model_requests": 0, "input_tokens": 0}, 2),
        ({"num_model_requests": 5, "input_tokens": 12345}, 1),
    ],
)
def test_split_metrics__parts_sum_back(metrics, k):
    import random

    parts = split_metrics(metrics, "num_model_requests", k, random.Random(1))
    assert {name: sum(p[name] for p in parts) for name in metrics} == metrics
    assert len(parts) == max(1, min(k, metrics["num_model_requests"]))
    assert all(p["num_model_requests"] >= 1 for p in parts) or metrics["num_model_requests"] == 0


# --------------------------------------------------------------------------------------- standalone


def test_main__serves_as_a_subprocess_and_prints_its_url():
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fake_openai",
            "--port",
            "0",
            "--days",
            "3",
            "--users",
            "2",
            "--seed",
            "1",
            "--rate-limit-per-min",
            "600",
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", url)
        response = requests.get(
            f"{url}/organization/users",
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            timeout=TIMEOUT,
        )
        assert response.status_code == 200
        assert len(response.json()["data"]) == 2
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        proc.stdout.close()
    assert proc.returncode == 0
