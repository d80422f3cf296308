"""Contract: the official example bodies (openai/openai-openapi) parse into the usage table.

The examples are kept in ``tests/data/openai-spec/examples/`` (a copy of the team's
``shared/openai-spec/examples/``, checked to match it when ``../shared`` is beside the clone), so
any clone runs these tests. ``SPEND_SPEC_DIR`` overrides the location: the ``openai-spec`` folder
(holding
``examples/``) or the examples folder itself. It is read at import time because the autouse
``clean_environ`` fixture removes every ``SPEND_*`` variable before each test. A missing folder
or file FAILS (never skips): the examples are part of the contract.

Each usage example must: pass ``spend.schema.validate``; skip no result (its ``object`` is the one
we expect for that endpoint); and keep the example's sums in the columns API-NOTES.md §2 maps
them to (the METRICS table below). Costs must sum ``amount.value`` exactly, as a number and as
the string real responses send. The list examples must parse into name tables.
"""

from __future__ import annotations

import copy
import json
import os
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from spend.normalize import (
    join_names,
    utc_day,
)
from spend.schema import validate
from spend.sources.admin_parse import (
    ADMIN_KINDS,
    ADMIN_SPLIT_FIELDS,
    admin_api_keys_to_frame,
    admin_costs_to_frame,
    admin_projects_to_frame,
    admin_usage_to_frame,
    admin_users_to_frame,
)

_OVERRIDE = os.environ.get("SPEND_SPEC_DIR")  # read now: clean_environ deletes it before each test


#: The copy kept in the repo, so any clone can run the contract tests.
IN_REPO = Path(__file__).resolve().parent / "data" / "openai-spec" / "examples"
#: The team's shared folder beside the clone, when present: the copy must match it.
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "openai-spec" / "examples"


def examples_dir(override: str | None = _OVERRIDE) -> Path:
    """The override or the in-repo copy into the examples folder, e.g. None ->
    tests/data/openai-spec/examples."""
    if override:
        base = Path(override).expanduser()
        return base / "examples" if (base / "examples").is_dir() else base
    return IN_REPO


EXAMPLES = examples_dir()
_MISSING = (
    f"the OpenAI spec examples are missing at {EXAMPLES}: the contract tests need them. Check out "
    "tests/data/openai-spec/examples/*.json (a copy of shared/openai-spec/examples) or set "
    "SPEND_SPEC_DIR "
    "to the openai-spec folder."
)


def load(name: str) -> dict:
    """An example file name into its decoded body, failing (not skipping) when it is missing."""
    path = EXAMPLES / name
    if not path.is_file():
        pytest.fail(f"{name} not found. {_MISSING}", pytrace=False)
    return json.loads(path.read_text(encoding="utf-8"))


def results_of(body: dict) -> list[dict]:
    """A page body into all its results, e.g. one bucket of one result -> [result]."""
    return [result for bucket in body["data"] for result in bucket["results"]]


def as_page(result: dict, start_time: int = 1730419200) -> dict:
    """One result object into a one-bucket page body."""
    bucket = {
        "object": "bucket",
        "start_time": start_time,
        "end_time": start_time + 86400,
        "results": [result],
    }
    return {"object": "page", "data": [bucket], "has_more": False, "next_page": None}


def as_list(*items: dict) -> dict:
    """Objects into a list-endpoint body."""
    return {
        "object": "list",
        "data": list(items),
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


# kind -> (example file, object example, operation, unit, {usage column: example field})
METRICS: dict[str, tuple[str, str, str, str | None, dict[str, str]]] = {
    "completions": (
        "usage-completions.json",
        "UsageCompletionsResult.json",
        "completion",
        None,
        {
            "input_tokens": "input_tokens",
            "cached_input_tokens": "input_cached_tokens",
            "output_tokens": "output_tokens",
            "n_requests": "num_model_requests",
        },
    ),
    "embeddings": (
        "usage-embeddings.json",
        "UsageEmbeddingsResult.json",
        "embeddings",
        None,
        {"input_tokens": "input_tokens", "n_requests": "num_model_requests"},
    ),
    "moderations": (
        "usage-moderations.json",
        "UsageModerationsResult.json",
        "moderation",
        None,
        {"input_tokens": "input_tokens", "n_requests": "num_model_requests"},
    ),
    "images": (
        "usage-images.json",
        "UsageImagesResult.json",
        "image",
        "images",
        {"units": "images", "n_requests": "num_model_requests"},
    ),
    "audio_speeches": (
        "usage-audio-speeches.json",
        "UsageAudioSpeechesResult.json",
        "tts",
        "characters",
        {"units": "characters", "n_requests": "num_model_requests"},
    ),
    "audio_transcriptions": (
        "usage-audio-transcriptions.json",
        "UsageAudioTranscriptionsResult.json",
        "transcription",
        "seconds",
        {"units": "seconds", "n_requests": "num_model_requests"},
    ),
    "vector_stores": (
        "usage-vector-stores.json",
        "UsageVectorStoresResult.json",
        "vector_storage",
        "bytes",
        {"units": "usage_bytes"},
    ),
    "code_interpreter_sessions": (
        "usage-code-interpreter-sessions.json",
        "UsageCodeInterpreterSessionsResult.json",
        "code_interpreter",
        "sessions",
        {"units": "num_sessions"},
    ),
    "file_search_calls": (
        "usage-file-search-calls.json",
        "UsageFileSearchCallsResult.json",
        "file_search",
        "calls",
        {"units": "num_requests"},  # tool calls, not requests: n_requests stays 0
    ),
    "web_search_calls": (
        "usage-web-search-calls.json",
        "UsageWebSearchCallsResult.json",
        "web_search",
        "calls",
        {"units": "num_requests"},  # tool calls, not requests: n_requests stays 0
    ),
}


def assert_sums(frame: pd.DataFrame, results: list[dict], metrics: dict[str, str]) -> None:
    for column, field in metrics.items():
        expected = sum(result.get(field) or 0 for result in results)
        assert frame[column].sum() == expected, f"{column} != sum of {field}"


# --------------------------------------------------------------------------------------------
# The folder itself
# --------------------------------------------------------------------------------------------


def test_examples_dir__exists():
    assert EXAMPLES.is_dir(), _MISSING


@pytest.mark.skipif(
    not SHARED.is_dir(), reason="no shared/ folder beside this clone to compare with"
)
def test_in_repo_examples__match_the_shared_spec():
    ours = {p.relative_to(IN_REPO): p.read_bytes() for p in IN_REPO.rglob("*.json")}
    theirs = {p.relative_to(SHARED): p.read_bytes() for p in SHARED.rglob("*.json")}
    assert ours == theirs


@pytest.mark.parametrize(
    ("override", "layout", "expected"),
    [
        (None, None, IN_REPO),
        ("SPEC", "spec", "SPEC/examples"),
        ("SPEC/examples", "examples", "SPEC/examples"),
    ],
)
def test_examples_dir__override(tmp_path, override, layout, expected):
    if layout:
        (tmp_path / "SPEC" / "examples").mkdir(parents=True)
    got = examples_dir(str(tmp_path / override) if override else None)
    assert got == (tmp_path / expected if isinstance(expected, str) else expected)


def test_examples_dir__every_usage_example_is_covered():
    if not EXAMPLES.is_dir():
        pytest.fail(_MISSING, pytrace=False)
    on_disk = {path.name for path in EXAMPLES.glob("usage-*.json")}
    assert on_disk == {entry[0] for entry in METRICS.values()}
    assert set(METRICS) == set(ADMIN_KINDS)


# --------------------------------------------------------------------------------------------
# Usage pages
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(METRICS))
def test_usage_example__parses_into_usage_table(kind):
    file, _, operation, unit, metrics = METRICS[kind]
    body = load(file)
    results = results_of(body)
    frame = admin_usage_to_frame(kind, [body])
    validate(frame)
    assert frame.attrs["skipped"] == 0, frame.attrs["skipped_objects"]
    assert len(frame) >= 1
    assert_sums(frame, results, metrics)
    assert set(frame["operation"]) == {operation}
    assert frame["unit"].isna().all() if unit is None else set(frame["unit"]) == {unit}
    assert set(frame["date"]) == {
        utc_day(bucket["start_time"]) for bucket in body["data"] if bucket["results"]
    }
    assert set(frame["source"]) == {"admin"} and set(frame["cost_basis"]) == {"unpriced"}


@pytest.mark.parametrize("kind", list(METRICS))
def test_usage_object_example__keeps_dimensions(kind):
    _, object_file, _, _, metrics = METRICS[kind]
    result = load(f"objects/{object_file}")
    frame = admin_usage_to_frame(kind, [as_page(result)])
    validate(frame)
    assert frame.attrs["skipped"] == 0
    assert_sums(frame, [result], metrics)
    for column in ("project_id", "user_id", "api_key_id", "model"):
        expected = result.get(column)
        assert (
            frame[column].isna().all() if expected is None else frame[column].tolist() == [expected]
        ), column


@pytest.mark.parametrize(
    "kind", ["file_search_calls", "web_search_calls", "code_interpreter_sessions", "vector_stores"]
)
def test_usage_example__tool_use_adds_no_requests(kind):
    frame = admin_usage_to_frame(kind, [load(METRICS[kind][0])])
    assert len(frame) and frame["n_requests"].sum() == 0 and frame["units"].sum() > 0


def test_usage_object_example__completions_split_by_modality():
    result = load("objects/UsageCompletionsResult.json")
    frame = admin_usage_to_frame("completions", [as_page(result)])
    for field, column in ADMIN_SPLIT_FIELDS.items():
        assert frame[column].tolist() == [result[field]], column
    # the example's parts add up to its totals
    cached = sum(result[f"input_cached_{kind}_tokens"] for kind in ("text", "audio", "image"))
    uncached = sum(result[f"input_{kind}_tokens"] for kind in ("text", "audio", "image"))
    assert cached == result["input_cached_tokens"]
    assert uncached + cached + result["input_cache_write_tokens"] == result["input_tokens"]


def test_usage_examples__concatenate_into_one_valid_table():
    frames = [admin_usage_to_frame(kind, [load(entry[0])]) for kind, entry in METRICS.items()]
    combined = pd.concat(frames, ignore_index=True)
    validate(combined)
    assert len(combined) == sum(len(frame) for frame in frames)


# --------------------------------------------------------------------------------------------
# Costs
# --------------------------------------------------------------------------------------------


def _stringify_amounts(body: dict) -> dict:
    out = copy.deepcopy(body)
    for result in results_of(out):
        result["amount"]["value"] = str(result["amount"]["value"])
    return out


@pytest.mark.parametrize("amounts", ["as in the example", "as strings (real responses)"])
def test_costs_example__parses_into_billed_rows(amounts):
    body = load("costs.json")
    if amounts != "as in the example":
        body = _stringify_amounts(body)
        assert all(isinstance(r["amount"]["value"], str) for r in results_of(body))
    frame = admin_costs_to_frame([body])
    validate(frame)
    expected = sum(Decimal(str(result["amount"]["value"])) for result in results_of(body))
    assert Decimal(str(frame["cost_usd"].sum())) == expected
    assert set(frame["cost_basis"]) == {"billed"} and set(frame["operation"]) == {"cost"}
    assert frame["input_tokens"].sum() == 0 and frame.attrs["skipped"] == 0


def test_costs_object_example__keeps_line_item_and_project():
    result = load("objects/CostsResult.json")
    as_string = {**result, "amount": {**result["amount"], "value": str(result["amount"]["value"])}}
    frame = admin_costs_to_frame([as_page(as_string)])
    validate(frame)
    assert frame[["line_item", "project_id"]].astype(object).values.tolist() == [
        [result["line_item"], result["project_id"]]
    ]
    assert frame["cost_usd"].tolist() == [float(Decimal(str(result["amount"]["value"])))]


# --------------------------------------------------------------------------------------------
# Name tables
# --------------------------------------------------------------------------------------------


def test_users_list_example__parses_into_users_table():
    body = load("users-list.json")
    frame = admin_users_to_frame([body])
    expected = [[u["id"], u.get("name"), u.get("email"), u.get("role")] for u in body["data"]]
    assert (
        frame[["user_id", "user_name", "user_email", "role"]].astype(object).values.tolist()
        == expected
    )


def test_projects_list_example__parses_into_projects_table():
    body = load("projects-list.json")
    frame = admin_projects_to_frame([body])
    assert frame["project_id"].tolist() == [p["id"] for p in body["data"]]
    assert frame["project_name"].tolist() == [p["name"] for p in body["data"]]
    assert frame["archived"].tolist() == [p.get("archived_at") is not None for p in body["data"]]


def test_project_api_keys_list_example__parses_into_keys_table():
    body = load("project-api-keys-list.json")
    frame = admin_api_keys_to_frame({"proj_abc": [body]})
    assert frame["api_key_id"].tolist() == [k["id"] for k in body["data"]]
    assert frame["api_key_name"].tolist() == [k["name"] for k in body["data"]]
    assert frame["owner_user_id"].tolist() == [k["owner"]["user"]["id"] for k in body["data"]]
    assert frame["redacted_value"].tolist() == [k["redacted_value"] for k in body["data"]]
    assert set(frame["project_id"]) == {"proj_abc"}


def test_object_examples__name_the_usage_object_example():
    usage = admin_usage_to_frame(
        "completions", [as_page(load("objects/UsageCompletionsResult.json"))]
    )
    users = admin_users_to_frame([as_list(load("objects/User.json"))])
    projects = admin_projects_to_frame([as_list(load("objects/Project.json"))])
    keys = admin_api_keys_to_frame({"proj_abc": [as_list(load("objects/ProjectApiKey.json"))]})
    named = join_names(usage, users=users, projects=projects, api_keys=keys)
    validate(named)
    # the examples use "user-abc" in usage but "user_abc" in the users list: only project and key
    # match
    assert named[["project_name", "api_key_name"]].astype(object).values.tolist() == [
        ["Project example", "My API Key"]
    ]
