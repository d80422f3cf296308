"""Unit tests for ``spend.normalize``: payloads into the usage table, one parametrize table per
function.

Bodies here are hand-written in the shapes API-NOTES.md describes, ugly rows included (2023 vs
2024 fields, nulls, unknown arrays, a project name in ``project_id``, an email as user id). The
official example bodies are exercised in ``test_contract.py``.
"""

from __future__ import annotations

import copy
import inspect
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spend import normalize
from spend.errors import MalformedResponseError
from spend.normalize import (
    join_names,
    join_users,
    model_families,
    model_family,
    to_count,
    to_decimal,
    to_quantity,
    to_text,
    utc_day,
)
from spend.schema import COLUMNS, conform, validate
from spend.sources import admin_parse, legacy
from spend.sources.admin_parse import (
    admin_api_keys_to_frame,
    admin_costs_to_frame,
    admin_projects_to_frame,
    admin_usage_to_frame,
    admin_users_to_frame,
)
from spend.sources.legacy import (
    legacy_dims,
    legacy_identity,
    legacy_metrics,
    legacy_usage_to_frame,
    legacy_users_to_frame,
    unattributed,
    usage_is_empty,
)

DAY = date(2024, 5, 1)
DAY_START = 1714521600  # 2024-05-01T00:00:00Z
HOUR = 3600


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def completion_row(**fields):
    """A 2024 legacy data[] row with zeros, overridden by fields."""
    row = {
        "aggregation_timestamp": DAY_START,
        "n_requests": 1,
        "operation": "completion",
        "snapshot_id": "gpt-4o-2024-08-06",
        "n_context_tokens_total": 0,
        "n_generated_tokens_total": 0,
        "n_cached_context_tokens_total": 0,
        "organization_id": "org-1",
        "user_id": None,
        "api_key_id": None,
        "project_id": None,
    }
    row.update(fields)
    return row


def page(*buckets, has_more=False):
    """Buckets into an admin page body."""
    return {"object": "page", "data": list(buckets), "has_more": has_more, "next_page": None}


def bucket(start, *results):
    """Results into a bucket starting at unix second ``start``."""
    return {
        "object": "bucket",
        "start_time": start,
        "end_time": start + 86400,
        "results": list(results),
    }


def records(frame, columns):
    """A frame's columns into plain Python tuples (NA -> None), for comparing with tables."""
    sub = frame[list(columns)].astype(object)
    return [tuple(None if pd.isna(v) else v for v in row) for row in sub.itertuples(index=False)]


# --------------------------------------------------------------------------------------------
# Docs stay honest
# --------------------------------------------------------------------------------------------


PARSING_MODULES = (normalize, legacy, admin_parse)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        (module, name)
        for module in PARSING_MODULES
        for name in module.__all__
        if inspect.isfunction(getattr(module, name))
    ],
)
def test_public_function__docstring_says_x_into_y_eg(module, name):
    summary = inspect.getdoc(getattr(module, name)).splitlines()[0]
    assert " into " in summary and "e.g." in summary, summary


def test_module__never_imports_streamlit():
    source = inspect.getsource(normalize)
    assert "import streamlit" not in source and "from streamlit" not in source


# --------------------------------------------------------------------------------------------
# Scalars
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, 12),
        ("12", 12),
        (" 7 ", 7),
        (12.0, 12),
        ("3.0", 3),
        (None, 0),
        ("", 0),
        ("n/a", 0),
        (float("nan"), 0),
        (float("inf"), 0),
        (True, 0),
        ([1], 0),
        ({"n": 1}, 0),
        (10**15, 10**15),
    ],
)
def test_to_count__coerce(value, expected):
    assert to_count(value) == expected


@pytest.mark.parametrize("value", ["n/a", float("nan"), True, [1], {"n": 1}])
def test_to_count__raise(value):
    with pytest.raises(MalformedResponseError, match="expected a count"):
        to_count(value, errors="raise")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.5, 1.5),
        ("1.5", 1.5),
        (3, 3.0),
        (None, 0.0),
        ("x", 0.0),
        (float("inf"), 0.0),
        (False, 0.0),
    ],
)
def test_to_quantity__coerce(value, expected):
    assert to_quantity(value) == expected


def test_to_quantity__raise():
    with pytest.raises(MalformedResponseError, match="expected a number"):
        to_quantity("lots", errors="raise")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("proj_1", "proj_1"),
        ("  proj_1 ", "proj_1"),
        ("", None),
        ("   ", None),
        (None, None),
        (42, "42"),
        ({"id": "x"}, None),
        (["x"], None),
    ],
)
def test_to_text__table(value, expected):
    assert to_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.50", Decimal("12.50")),
        (" 12.50 ", Decimal("12.50")),
        (0.06, Decimal("0.06")),  # through str: no binary expansion
        (3, Decimal(3)),
        ("1e-3", Decimal("0.001")),
        (None, None),
        ("twelve", None),
        ("NaN", None),
        ("Infinity", None),
        (True, None),
        ({"value": 1}, None),
    ],
)
def test_to_decimal__coerce(value, expected):
    assert to_decimal(value) == expected


def test_to_decimal__raise():
    with pytest.raises(MalformedResponseError, match="expected an amount"):
        to_decimal("twelve", errors="raise")


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (DAY_START, pd.Timestamp("2024-05-01")),
        (DAY_START + 86399, pd.Timestamp("2024-05-01")),
        (DAY_START + 86400, pd.Timestamp("2024-05-02")),
        (str(DAY_START), pd.Timestamp("2024-05-01")),
        (None, None),
        ("soon", None),
        (True, None),
    ],
)
def test_utc_day__table(seconds, expected):
    assert utc_day(seconds) == expected


@pytest.mark.parametrize("payload", [None, [], "<html>", 3, [{"data": []}]])
def test_require_dict__non_dict_raises_with_type(payload):
    with pytest.raises(MalformedResponseError, match="expected a JSON object"):
        normalize.require_dict(payload, "test body")


# --------------------------------------------------------------------------------------------
# Model families
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-3.5-turbo-0125", "gpt-3.5-turbo"),
        ("gpt-3.5-turbo-16k-0613", "gpt-3.5-turbo-16k"),
        ("gpt-3.5-turbo-instruct-0914", "gpt-3.5-turbo-instruct"),
        ("gpt-4-0613", "gpt-4"),
        ("gpt-4-32k-0613", "gpt-4-32k"),
        ("gpt-4-1106-preview", "gpt-4-turbo-preview"),
        ("gpt-4-0125-preview", "gpt-4-turbo-preview"),
        ("gpt-4-turbo-2024-04-09", "gpt-4-turbo"),
        ("gpt-4-vision-preview", "gpt-4-vision-preview"),
        ("o1-preview-2024-09-12", "o1-preview"),
        ("o1-2024-12-17", "o1"),
        ("o3-mini-2025-01-31", "o3-mini"),
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("gpt-4o-audio-preview-2024-12-17", "gpt-4o-audio-preview"),
        ("gpt-4o-realtime-preview-2024-10-01", "gpt-4o-realtime-preview"),
        ("text-embedding-3-small", "text-embedding-3-small"),
        ("text-embedding-ada-002-v2", "text-embedding-ada-002"),
        ("text-davinci-003", "text-davinci-003"),
        ("babbage-002", "babbage-002"),
        ("dall-e-3", "dall-e-3"),
        ("tts-1-hd", "tts-1-hd"),
        ("whisper-1", "whisper-1"),
        ("chatgpt-4o-latest", "chatgpt-4o-latest"),
        ("ft:gpt-4o-mini-2024-07-18:acme::abc123", "ft:gpt-4o-mini"),
        ("ft:gpt-3.5-turbo-0125:acme:my-suffix:abc123", "ft:gpt-3.5-turbo"),
        ("ft:gpt-4o-2024-08-06", "ft:gpt-4o"),
        ("curie:ft-acme-2023-03-01-12-00-00", "ft:curie"),
        ("  gpt-4o-2024-08-06  ", "gpt-4o"),
        ("", None),
        ("   ", None),
        (None, None),
        (pd.NA, None),
        (float("nan"), None),
    ],
)
def test_model_family__table(model, expected):
    assert model_family(model) == expected


def test_model_families__matches_model_family_and_keeps_index():
    models = pd.Series(
        [
            "gpt-4o-2024-08-06",
            None,
            "gpt-4o-2024-08-06",
            "dall-e-3",
            "ft:gpt-4o-mini-2024-07-18:a::b",
        ],
        index=[10, 11, 12, 13, 14],
        dtype="string",
    )
    families = model_families(models)
    assert str(families.dtype) == "string"
    assert list(families.index) == [10, 11, 12, 13, 14]
    assert [None if pd.isna(v) else v for v in families] == [
        model_family(m) for m in models.astype(object)
    ]


def test_model_families__computes_each_distinct_value_once(monkeypatch):
    calls = []
    real = normalize.model_family
    monkeypatch.setattr(normalize, "model_family", lambda model: calls.append(model) or real(model))
    models = pd.Series(["gpt-4o-2024-08-06", "o3-mini-2025-01-31"] * 5000 + [None], dtype="string")
    families = model_families(models)
    assert sorted(calls) == ["gpt-4o-2024-08-06", "o3-mini-2025-01-31"]
    assert families.value_counts().to_dict() == {"gpt-4o": 5000, "o3-mini": 5000}


# --------------------------------------------------------------------------------------------
# Legacy users
# --------------------------------------------------------------------------------------------

ANN = {"id": "user-ann", "name": "Ann", "email": "ann@acme.io"}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            {
                "object": "list",
                "members": {
                    "object": "list",
                    "data": [{"role": "owner", "created": 1, "user": ANN}],
                },
            },
            [("user-ann", "Ann", "ann@acme.io", "owner")],
            id="members.data",
        ),
        pytest.param(
            {"data": [{"role": "reader", "user": {"id": "user-bob"}}]},
            [("user-bob", None, None, "reader")],
            id="older top-level data, no name or email",
        ),
        pytest.param(
            {"data": [{"id": "user-cy", "name": "Cy", "email": "cy@acme.io", "role": "writer"}]},
            [("user-cy", "Cy", "cy@acme.io", "writer")],
            id="flat users",
        ),
        pytest.param(
            {
                "members": {
                    "data": [
                        {
                            "role": "owner",
                            "user": {**ANN, "picture": "x", "groups": []},
                            "is_default": True,
                        }
                    ]
                }
            },
            [("user-ann", "Ann", "ann@acme.io", "owner")],
            id="extra keys ignored",
        ),
        pytest.param(
            {
                "members": {
                    "data": [{"role": "owner", "user": ANN}, {"role": "reader", "user": ANN}]
                }
            },
            [("user-ann", "Ann", "ann@acme.io", "owner")],
            id="duplicate user kept once",
        ),
        pytest.param(
            {"members": {"data": [None, "x", {"role": "owner"}, {"user": {"name": "Nobody"}}]}},
            [],
            id="members without id or email dropped",
        ),
        pytest.param({"members": {"data": []}}, [], id="empty list"),
        pytest.param({"members": None}, [], id="null members"),
        pytest.param({}, [], id="empty body"),
    ],
)
def test_legacy_users_to_frame__table(payload, expected):
    frame = legacy_users_to_frame(payload)
    assert list(frame.columns) == ["user_id", "user_name", "user_email", "role"]
    assert all(str(dtype) == "string" for dtype in frame.dtypes)
    assert records(frame, frame.columns) == expected


def test_legacy_users_to_frame__not_a_dict_raises():
    with pytest.raises(MalformedResponseError, match="organization users body"):
        legacy_users_to_frame([ANN])


# --------------------------------------------------------------------------------------------
# Legacy usage: rows
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "asked", "expected"),
    [
        pytest.param(
            {"user_id": "user-a"},
            None,
            ("user-a", None, None, None, None, None),
            id="user id on row",
        ),
        pytest.param(
            {"user_id": None},
            "user-b",
            ("user-b", None, None, None, None, None),
            id="asked user fills null",
        ),
        pytest.param({}, None, (None, None, None, None, None, None), id="org-wide, nothing known"),
        pytest.param(
            {"user_id": "ann@acme.io"},
            "user-a",
            ("user-a", "ann@acme.io", None, None, None, None),
            id="email as user id",
        ),
        pytest.param(
            {"user_id": "ann@acme.io"},
            None,
            (None, "ann@acme.io", None, None, None, None),
            id="email as user id, org-wide",
        ),
        pytest.param(
            {"email": "ann@acme.io", "user_id": "user-a"},
            None,
            ("user-a", "ann@acme.io", None, None, None, None),
            id="email field",
        ),
        pytest.param(
            {"api_key_id": "key_1", "api_key_name": None, "api_key_redacted": "sk-...abcd"},
            None,
            (None, None, "key_1", "sk-...abcd", None, None),
            id="redacted key when no name",
        ),
        pytest.param(
            {"api_key_id": "key_1", "api_key_name": "ci", "api_key_redacted": "sk-...abcd"},
            None,
            (None, None, "key_1", "ci", None, None),
            id="key name wins",
        ),
        pytest.param(
            {"project_id": "proj_1"},
            None,
            (None, None, None, None, "proj_1", None),
            id="project id",
        ),
        pytest.param(
            {"project_id": "Default project", "project_name": None},
            None,
            (None, None, None, None, "Default project", "Default project"),
            id="project name in project_id",
        ),
        pytest.param(
            {"project_id": "legacy", "project_name": "Legacy app"},
            None,
            (None, None, None, None, "legacy", "Legacy app"),
            id="non-proj id with a name keeps the name",
        ),
        pytest.param(
            {"user_id": "", "project_id": "  "},
            "user-c",
            ("user-c", None, None, None, None, None),
            id="blank strings are null",
        ),
        pytest.param(
            {"user_id": {"id": "x"}},
            None,
            (None, None, None, None, None, None),
            id="object where a name should be",
        ),
    ],
)
def test_legacy_identity__table(row, asked, expected):
    assert legacy_identity(row, asked) == expected


@pytest.mark.parametrize(
    ("row", "array", "expected"),
    [
        pytest.param(
            {
                "n_requests": 2,
                "n_context_tokens_total": 100,
                "n_generated_tokens_total": 20,
                "n_cached_context_tokens_total": 40,
            },
            "data",
            [2, 100, 40, 20, None],
            id="2024 fields",
        ),
        pytest.param(
            {"n_requests": 1, "n_context": 41, "n_generated": 9},
            "data",
            [1, 41, 0, 9, None],
            id="2023 fields only",
        ),
        pytest.param(
            {
                "n_requests": 1,
                "n_context": 1,
                "n_context_tokens_total": 41,
                "n_generated": 1,
                "n_generated_tokens_total": 9,
            },
            "data",
            [1, 41, 0, 9, None],
            id="both present: the 2024 field, never added",
        ),
        pytest.param(
            {"n_context_tokens_total": None, "n_context": 5, "n_generated_tokens_total": None},
            "data",
            [0, 5, 0, 0, None],
            id="null 2024 field falls back",
        ),
        pytest.param(
            {"n_requests": "3", "n_context_tokens_total": "12"},
            "data",
            [3, 12, 0, 0, None],
            id="numbers as strings",
        ),
        pytest.param(
            {"n_requests": "lots", "n_context_tokens_total": [1]},
            "data",
            [0, 0, 0, 0, None],
            id="garbage counts as 0",
        ),
        pytest.param({}, "data", [0, 0, 0, 0, None], id="empty row"),
        pytest.param(
            {"num_images": 2, "num_requests": 1},
            "dalle_api_data",
            [1, 0, 0, 0, 2.0],
            id="dall-e images",
        ),
        pytest.param(
            {"num_seconds": 61.5, "num_requests": 2},
            "whisper_api_data",
            [2, 0, 0, 0, 61.5],
            id="whisper seconds",
        ),
        pytest.param(
            {"num_characters": 45, "num_requests": 1},
            "tts_api_data",
            [1, 0, 0, 0, 45.0],
            id="tts characters",
        ),
        pytest.param(
            {"num_requests": None}, "tts_api_data", [0, 0, 0, 0, 0.0], id="tts without numbers"
        ),
        pytest.param(
            {"num_requests": 4, "n_context_tokens_total": 7},
            "future_widget_data",
            [4, 7, 0, 0, None],
            id="unknown array",
        ),
        pytest.param(
            {"n_trained_tokens": 123_456}, "ft_data", [0, 0, 0, 0, 123_456.0], id="ft training"
        ),
        pytest.param(
            {"trained_tokens": 99, "model_id": "ft:x"},
            "ft_data",
            [0, 0, 0, 0, 99.0],
            id="ft training, fine-tuning job field name",
        ),
    ],
)
def test_legacy_metrics__table(row, array, expected):
    assert legacy_metrics(row, array) == expected


def test_legacy_metrics__raise_on_garbage():
    with pytest.raises(MalformedResponseError):
        legacy_metrics({"n_requests": "lots"}, "data", errors="raise")


@pytest.mark.parametrize(
    ("row", "array", "expected"),
    [
        pytest.param(
            {"operation": "completion", "snapshot_id": "gpt-4o"},
            "data",
            ("completion", "gpt-4o", None, None),
            id="completion",
        ),
        pytest.param(
            {"operation": "embeddings", "snapshot_id": "text-embedding-3-small"},
            "data",
            ("embeddings", "text-embedding-3-small", None, None),
            id="embeddings",
        ),
        pytest.param(
            {"operation": "completion-realtime", "snapshot_id": "gpt-4o-realtime-preview"},
            "data",
            ("realtime", "gpt-4o-realtime-preview", None, None),
            id="realtime",
        ),
        pytest.param(
            {"snapshot_id": "gpt-4o"},
            "data",
            ("completion", "gpt-4o", None, None),
            id="no operation",
        ),
        pytest.param(
            {"operation": "audio-speech", "snapshot_id": "x"},
            "data",
            ("audio-speech", "x", None, None),
            id="unknown operation kept",
        ),
        pytest.param(
            {"model_id": "dall-e-3", "image_size": "1024x1024", "operation": "generations"},
            "dalle_api_data",
            ("image", "dall-e-3", "images", "1024x1024"),
            id="dall-e",
        ),
        pytest.param(
            {"model_id": "whisper-1"},
            "whisper_api_data",
            ("transcription", "whisper-1", "seconds", None),
            id="whisper",
        ),
        pytest.param(
            {"model_id": "tts-1", "image_size": "x"},
            "tts_api_data",
            ("tts", "tts-1", "characters", None),
            id="tts ignores image size",
        ),
        pytest.param(
            {"model": "ft:gpt-4o-mini:a::b"},
            "ft_data",
            ("fine-tuning", "ft:gpt-4o-mini:a::b", "training_tokens", None),
            id="ft_data",
        ),
        pytest.param(
            {},
            "assistant_code_interpreter_data",
            ("assistant_code_interpreter", None, None, None),
            id="code interpreter, no model",
        ),
        pytest.param(
            {"snapshot_id": None, "model_id": "", "model": "m"},
            "future_widget_data",
            ("future_widget", "m", None, None),
            id="model fallbacks",
        ),
    ],
)
def test_legacy_dims__table(row, array, expected):
    assert legacy_dims(row, array, None)[6:] == expected


# --------------------------------------------------------------------------------------------
# Legacy usage: whole bodies
# --------------------------------------------------------------------------------------------

USAGE_VIEW = (
    "date",
    "user_id",
    "user_email",
    "project_id",
    "project_name",
    "operation",
    "model",
    "n_requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "units",
    "unit",
)


@pytest.mark.parametrize(
    ("payloads", "expected"),
    [
        pytest.param(
            [
                (
                    DAY,
                    None,
                    {
                        "data": [
                            completion_row(
                                aggregation_timestamp=DAY_START + 300 * i,
                                n_requests=1,
                                n_context_tokens_total=10,
                                n_generated_tokens_total=2,
                            )
                            for i in range(288)
                        ]
                    },
                )
            ],
            [
                (
                    pd.Timestamp(DAY),
                    None,
                    None,
                    None,
                    None,
                    "completion",
                    "gpt-4o-2024-08-06",
                    288,
                    2880,
                    0,
                    576,
                    None,
                    None,
                )
            ],
            id="288 windows of one day -> one row",
        ),
        pytest.param(
            [
                (DAY, "user-a", {"data": [completion_row(n_context_tokens_total=5)]}),
                (date(2024, 5, 2), "user-a", {"data": [completion_row(n_context_tokens_total=7)]}),
            ],
            [
                (
                    pd.Timestamp("2024-05-01"),
                    "user-a",
                    None,
                    None,
                    None,
                    "completion",
                    "gpt-4o-2024-08-06",
                    1,
                    5,
                    0,
                    0,
                    None,
                    None,
                ),
                (
                    pd.Timestamp("2024-05-02"),
                    "user-a",
                    None,
                    None,
                    None,
                    "completion",
                    "gpt-4o-2024-08-06",
                    1,
                    7,
                    0,
                    0,
                    None,
                    None,
                ),
            ],
            id="two days stay apart; asked user fills user_id",
        ),
        pytest.param(
            [
                (
                    DAY,
                    None,
                    {
                        "data": [
                            completion_row(
                                n_context=41,
                                n_context_tokens_total=None,
                                n_generated=9,
                                n_generated_tokens_total=None,
                            ),
                            completion_row(
                                n_context_tokens_total=100,
                                n_generated_tokens_total=1,
                                n_context=1,
                                n_generated=1,
                            ),
                        ]
                    },
                )
            ],
            [
                (
                    pd.Timestamp(DAY),
                    None,
                    None,
                    None,
                    None,
                    "completion",
                    "gpt-4o-2024-08-06",
                    2,
                    141,
                    0,
                    10,
                    None,
                    None,
                )
            ],
            id="2023 and 2024 rows in one day",
        ),
        pytest.param(
            [
                (
                    DAY,
                    None,
                    {"data": [completion_row(user_id="ann@acme.io", project_id="Default project")]},
                )
            ],
            [
                (
                    pd.Timestamp(DAY),
                    None,
                    "ann@acme.io",
                    "Default project",
                    "Default project",
                    "completion",
                    "gpt-4o-2024-08-06",
                    1,
                    0,
                    0,
                    0,
                    None,
                    None,
                )
            ],
            id="email as user id, project name as project id",
        ),
        pytest.param(
            [
                (
                    DAY,
                    None,
                    {
                        "dalle_api_data": [
                            {
                                "timestamp": DAY_START,
                                "num_images": 2,
                                "num_requests": 1,
                                "image_size": "1024x1024",
                                "model_id": "dall-e-3",
                            },
                            {
                                "timestamp": DAY_START + 60,
                                "num_images": 3,
                                "num_requests": 1,
                                "image_size": "1024x1024",
                                "model_id": "dall-e-3",
                            },
                        ]
                    },
                )
            ],
            [
                (
                    pd.Timestamp(DAY),
                    None,
                    None,
                    None,
                    None,
                    "image",
                    "dall-e-3",
                    2,
                    0,
                    0,
                    0,
                    5.0,
                    "images",
                )
            ],
            id="dall-e windows add images",
        ),
        pytest.param(
            [
                (
                    DAY,
                    None,
                    {
                        "retrieval_storage_data": [{"num_requests": 2, "weird": {"nested": [1]}}],
                        "future_data": [{"model": "m"}],
                        "foo": [1],
                        "bar_data": None,
                    },
                )
            ],
            [
                (
                    pd.Timestamp(DAY),
                    None,
                    None,
                    None,
                    None,
                    "retrieval_storage",
                    None,
                    2,
                    0,
                    0,
                    0,
                    None,
                    None,
                ),
                (pd.Timestamp(DAY), None, None, None, None, "future", "m", 0, 0, 0, 0, None, None),
            ],
            id="unknown arrays kept, non-usage keys ignored",
        ),
        pytest.param(
            [
                (
                    DAY,
                    None,
                    {
                        "object": "list",
                        "data": [],
                        "ft_data": [],
                        "dalle_api_data": [],
                        "current_usage_usd": 0,
                    },
                )
            ],
            [],
            id="empty arrays -> no rows",
        ),
        pytest.param([(DAY, None, {})], [], id="empty body"),
        pytest.param([], [], id="no payloads"),
        pytest.param(
            [
                ("2024-05-01", None, {"data": [completion_row()]}),
                (datetime(2024, 5, 1, 13, 0), None, {"data": [completion_row()]}),
            ],
            [
                (
                    pd.Timestamp(DAY),
                    None,
                    None,
                    None,
                    None,
                    "completion",
                    "gpt-4o-2024-08-06",
                    2,
                    0,
                    0,
                    0,
                    None,
                    None,
                )
            ],
            id="day as string or datetime is the same day",
        ),
    ],
)
def test_legacy_usage_to_frame__table(payloads, expected):
    frame = legacy_usage_to_frame(payloads)
    validate(frame)
    assert records(frame, USAGE_VIEW) == expected
    assert (frame["source"] == "legacy").all()
    assert (frame["cost_basis"] == "unpriced").all() and frame["cost_usd"].isna().all()


def test_legacy_usage_to_frame__row_identity_beats_asked_user_and_rows_split_by_identity():
    body = {
        "data": [
            completion_row(user_id="user-x", api_key_id="key_1", api_key_redacted="sk-...1"),
            completion_row(user_id=None, api_key_id="key_2", api_key_name="ci"),
        ]
    }
    frame = legacy_usage_to_frame([(DAY, "user-asked", body)])
    assert sorted(records(frame, ("user_id", "api_key_id", "api_key_name"))) == [
        ("user-asked", "key_2", "ci"),
        ("user-x", "key_1", "sk-...1"),
    ]


def test_legacy_usage_to_frame__model_family_and_extras_typed():
    body = {
        "data": [completion_row(snapshot_id="ft:gpt-4o-mini-2024-07-18:acme::abc123")],
        "dalle_api_data": [{"model_id": "dall-e-3", "image_size": "512x512", "num_images": 1}],
    }
    frame = legacy_usage_to_frame([(DAY, None, body)])
    assert sorted(records(frame, ("model_family", "image_size"))) == [
        ("dall-e-3", "512x512"),
        ("ft:gpt-4o-mini", None),
    ]
    assert list(frame.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert {
        name: str(frame[name].dtype) for name in normalize.USAGE_EXTRAS
    } == normalize.USAGE_EXTRAS


def test_legacy_usage_to_frame__demo_source():
    frame = legacy_usage_to_frame([(DAY, None, {"data": [completion_row()]})], source="demo")
    assert frame["source"].tolist() == ["demo"]


def test_legacy_usage_to_frame__non_object_rows_skipped_and_counted():
    body = {
        "data": [completion_row(n_context_tokens_total=3), None, "row", 7],
        "tts_api_data": [[1, 2]],
    }
    frame = legacy_usage_to_frame([(DAY, None, body)])
    assert frame["input_tokens"].sum() == 3
    assert frame.attrs["skipped"] == 4


@pytest.mark.parametrize(
    ("body", "match"),
    [
        pytest.param({"data": [None]}, "holds a NoneType", id="null row"),
        pytest.param({"data": {"rows": []}}, "not a list", id="array is an object"),
        pytest.param(
            {"data": [completion_row(n_requests="lots")]}, "expected a count", id="garbage count"
        ),
    ],
)
def test_legacy_usage_to_frame__errors_raise(body, match):
    with pytest.raises(MalformedResponseError, match=match):
        legacy_usage_to_frame([(DAY, None, body)], errors="raise")


@pytest.mark.parametrize("body", [None, [], "<html>oops</html>", 0])
def test_legacy_usage_to_frame__non_dict_body_raises_naming_the_day(body):
    with pytest.raises(MalformedResponseError, match="2024-05-01"):
        legacy_usage_to_frame([(DAY, None, body)])


def test_legacy_usage_to_frame__bad_errors_argument():
    with pytest.raises(ValueError, match="errors must be"):
        legacy_usage_to_frame([], errors="ignore")


def test_legacy_usage_to_frame__does_not_mutate_payloads():
    body = {
        "data": [completion_row(user_id="ann@acme.io", project_id="Default")],
        "dalle_api_data": [{"num_images": 1}],
    }
    before = copy.deepcopy(body)
    legacy_usage_to_frame([(DAY, "user-a", body)])
    assert body == before


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "object": "list",
                "data": [],
                "ft_data": [],
                "dalle_api_data": [],
                "whisper_api_data": [],
                "tts_api_data": [],
            },
            True,
        ),
        ({"object": "list", "data": [], "current_usage_usd": 0}, True),
        ({}, True),
        ({"data": None}, True),
        ({"data": [completion_row()]}, False),
        ({"data": [], "tts_api_data": [{"num_characters": 1}]}, False),
        ({"data": [], "future_data": [{}]}, False),
    ],
)
def test_usage_is_empty__table(body, expected):
    assert usage_is_empty(body) is expected


def test_usage_is_empty__non_dict_raises():
    with pytest.raises(MalformedResponseError):
        usage_is_empty([])


# --------------------------------------------------------------------------------------------
# Hypothesis: normalization preserves totals
# --------------------------------------------------------------------------------------------

_counts = st.one_of(st.none(), st.integers(min_value=0, max_value=10**9))
_legacy_rows = st.fixed_dictionaries(
    {
        "aggregation_timestamp": st.integers(min_value=DAY_START, max_value=DAY_START + 86399),
        "n_requests": _counts,
        "operation": st.sampled_from(["completion", "embeddings", "completion-realtime", None]),
        "snapshot_id": st.sampled_from(["gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", None, ""]),
        "user_id": st.sampled_from([None, "user-a", "user-b", "ann@acme.io"]),
        "api_key_id": st.sampled_from([None, "key_1"]),
        "project_id": st.sampled_from([None, "proj_1", "Default project"]),
    },
    optional={
        "n_context_tokens_total": _counts,
        "n_generated_tokens_total": _counts,
        "n_cached_context_tokens_total": _counts,
        "n_context": _counts,
        "n_generated": _counts,
    },
)
_legacy_payloads = st.lists(
    st.tuples(
        st.sampled_from([date(2024, 5, 1), date(2024, 5, 2)]),
        st.sampled_from([None, "user-a"]),
        st.fixed_dictionaries({"data": st.lists(_legacy_rows, max_size=12)}),
    ),
    max_size=4,
)


def _expected_total(rows, new, old):
    total = 0
    for row in rows:
        value = row.get(new)
        total += (row.get(old) if value is None else value) or 0
    return total


@settings(max_examples=40, deadline=None, database=None)
@given(_legacy_payloads)
def test_legacy_usage_to_frame__preserves_token_and_request_totals(payloads):
    rows = [row for _, _, body in payloads for row in body["data"]]
    frame = legacy_usage_to_frame(payloads)
    assert int(frame["n_requests"].sum()) == sum(row["n_requests"] or 0 for row in rows)
    assert int(frame["input_tokens"].sum()) == _expected_total(
        rows, "n_context_tokens_total", "n_context"
    )
    assert int(frame["output_tokens"].sum()) == _expected_total(
        rows, "n_generated_tokens_total", "n_generated"
    )
    assert int(frame["cached_input_tokens"].sum()) == sum(
        row.get("n_cached_context_tokens_total") or 0 for row in rows
    )
    assert len(frame) <= len(rows)
    dims = [
        "date",
        "user_id",
        "user_email",
        "api_key_id",
        "api_key_name",
        "project_id",
        "project_name",
        "operation",
        "model",
        "unit",
        "image_size",
    ]
    assert not frame[dims].astype(object).fillna("<NA>").duplicated().any()


_admin_results = st.fixed_dictionaries(
    {
        "object": st.just("organization.usage.completions.result"),
        "input_tokens": _counts,
        "output_tokens": _counts,
        "input_cached_tokens": _counts,
        "num_model_requests": _counts,
        "model": st.sampled_from([None, "gpt-4o-2024-08-06"]),
        "project_id": st.sampled_from([None, "proj_1"]),
    }
)


@settings(max_examples=40, deadline=None, database=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=47), st.lists(_admin_results, max_size=5)),
        max_size=6,
    )
)
def test_admin_usage_to_frame__preserves_token_and_request_totals(hour_results):
    pages = [page(*(bucket(DAY_START + hour * HOUR, *results) for hour, results in hour_results))]
    results = [result for _, rs in hour_results for result in rs]
    frame = admin_usage_to_frame("completions", pages)
    for column, field in [
        ("input_tokens", "input_tokens"),
        ("output_tokens", "output_tokens"),
        ("cached_input_tokens", "input_cached_tokens"),
        ("n_requests", "num_model_requests"),
    ]:
        assert int(frame[column].sum()) == sum(result[field] or 0 for result in results)
    assert set(frame["date"]) <= {pd.Timestamp("2024-05-01"), pd.Timestamp("2024-05-02")}


# --------------------------------------------------------------------------------------------
# Admin usage
# --------------------------------------------------------------------------------------------

ADMIN_VIEW = (
    "operation",
    "model",
    "n_requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "units",
    "unit",
)


@pytest.mark.parametrize(
    ("kind", "result", "expected"),
    [
        (
            "completions",
            {
                "object": "organization.usage.completions.result",
                "input_tokens": 1000,
                "input_cached_tokens": 400,
                "output_tokens": 500,
                "num_model_requests": 5,
                "input_audio_tokens": 7,
                "input_cache_write_tokens": 3,
                "model": "gpt-4o-2024-08-06",
            },
            ("completion", "gpt-4o-2024-08-06", 5, 1000, 400, 500, None, None),
        ),
        (
            "completions",
            {"input_tokens": 10, "output_tokens": None},
            ("completion", None, 0, 10, 0, 0, None, None),
        ),
        (
            "embeddings",
            {
                "object": "organization.usage.embeddings.result",
                "input_tokens": 16,
                "num_model_requests": 2,
                "model": "text-embedding-ada-002-v2",
            },
            ("embeddings", "text-embedding-ada-002-v2", 2, 16, 0, 0, None, None),
        ),
        (
            "moderations",
            {"input_tokens": 16, "num_model_requests": 2},
            ("moderation", None, 2, 16, 0, 0, None, None),
        ),
        (
            "images",
            {"images": 2, "num_model_requests": 2, "model": "dall-e-3"},
            ("image", "dall-e-3", 2, 0, 0, 0, 2.0, "images"),
        ),
        (
            "audio_speeches",
            {"characters": 45, "num_model_requests": 1, "model": "tts-1"},
            ("tts", "tts-1", 1, 0, 0, 0, 45.0, "characters"),
        ),
        (
            "audio_transcriptions",
            {"seconds": 20, "num_model_requests": 1, "model": "whisper-1"},
            ("transcription", "whisper-1", 1, 0, 0, 0, 20.0, "seconds"),
        ),
        (
            "vector_stores",
            {"usage_bytes": 1024},
            ("vector_storage", None, 0, 0, 0, 0, 1024.0, "bytes"),
        ),
        (
            "code_interpreter_sessions",
            {"num_sessions": 3},
            ("code_interpreter", None, 0, 0, 0, 0, 3.0, "sessions"),
        ),
        (
            "file_search_calls",
            {
                "object": "organization.usage.file_searches.result",
                "num_requests": 2,
                "vector_store_id": "vs_1",
            },
            ("file_search", None, 0, 0, 0, 0, 2.0, "calls"),  # tool calls are not requests
        ),
        (
            "web_search_calls",
            {
                "object": "organization.usage.web_searches.result",
                "num_requests": 4,
                "num_model_requests": 9,
                "model": "gpt-4o-mini",
                "context_level": "medium",
            },
            ("web_search", "gpt-4o-mini", 0, 0, 0, 0, 4.0, "calls"),  # calls, not requests
        ),
        ("images", {"images": None}, ("image", None, 0, 0, 0, 0, 0.0, "images")),
    ],
)
def test_admin_usage_to_frame__kind_table(kind, result, expected):
    frame = admin_usage_to_frame(kind, [page(bucket(DAY_START, result))])
    validate(frame)
    assert records(frame, ADMIN_VIEW) == [expected]
    assert records(frame, ("date", "source", "cost_basis")) == [
        (pd.Timestamp(DAY), "admin", "unpriced")
    ]


def test_admin_usage_to_frame__covers_the_ten_endpoints():
    assert sorted(admin_parse.ADMIN_KINDS) == sorted(
        [
            "completions",
            "embeddings",
            "moderations",
            "images",
            "audio_speeches",
            "audio_transcriptions",
            "vector_stores",
            "code_interpreter_sessions",
            "file_search_calls",
            "web_search_calls",
        ]
    )


def test_admin_usage_to_frame__dimensions_and_extras():
    results = [
        {
            "input_tokens": 1,
            "project_id": "proj_1",
            "user_id": "user-a",
            "api_key_id": "key_1",
            "model": "gpt-4o-mini-2024-07-18",
            "batch": True,
            "service_tier": "flex",
        },
        {
            "input_tokens": 2,
            "project_id": "proj_1",
            "user_id": "user-a",
            "api_key_id": "key_1",
            "model": "gpt-4o-mini-2024-07-18",
            "batch": False,
            "service_tier": "default",
        },
    ]
    frame = admin_usage_to_frame("completions", [page(bucket(DAY_START, *results))])
    assert sorted(
        records(
            frame,
            (
                "project_id",
                "user_id",
                "api_key_id",
                "model_family",
                "batch",
                "service_tier",
                "input_tokens",
            ),
        )
    ) == [
        ("proj_1", "user-a", "key_1", "gpt-4o-mini", False, "default", 2),
        ("proj_1", "user-a", "key_1", "gpt-4o-mini", True, "flex", 1),
    ]
    assert str(frame["batch"].dtype) == "boolean"


def test_admin_usage_to_frame__images_size_and_source():
    result = {
        "images": 3,
        "num_model_requests": 1,
        "size": "1024x1024",
        "source": "image.generation",
        "model": "dall-e-3",
    }
    frame = admin_usage_to_frame("images", [page(bucket(DAY_START, result))])
    assert records(frame, ("image_size", "image_source", "source")) == [
        ("1024x1024", "image.generation", "admin")
    ]


def test_admin_usage_to_frame__hourly_buckets_add_up_per_day():
    buckets = [
        bucket(DAY_START + h * HOUR, {"input_tokens": 10, "num_model_requests": 1})
        for h in range(30)
    ]
    frame = admin_usage_to_frame("completions", [page(*buckets[:20]), page(*buckets[20:])])
    assert records(frame, ("date", "input_tokens", "n_requests")) == [
        (pd.Timestamp("2024-05-01"), 240, 24),
        (pd.Timestamp("2024-05-02"), 60, 6),
    ]


def test_admin_usage_to_frame__storage_keeps_the_daily_peak_not_the_sum():
    buckets = [
        bucket(DAY_START + h * HOUR, {"usage_bytes": size, "project_id": "proj_1"})
        for h, size in enumerate([100, 300, 200])
    ]
    frame = admin_usage_to_frame("vector_stores", [page(*buckets)])
    assert records(frame, ("project_id", "units", "unit")) == [("proj_1", 300.0, "bytes")]


@pytest.mark.parametrize(
    ("pages", "rows", "skipped"),
    [
        pytest.param([page(bucket(DAY_START))], 0, {}, id="empty bucket"),
        pytest.param([page()], 0, {}, id="no buckets"),
        pytest.param([{"object": "page"}], 0, {}, id="no data key"),
        pytest.param([{"object": "page", "data": None}], 0, {}, id="null data"),
        pytest.param([{"data": "x"}], 0, {}, id="data not a list"),
        pytest.param(
            [page({"object": "bucket", "start_time": DAY_START, "results": None})],
            0,
            {},
            id="null results",
        ),
        pytest.param(
            [page({"object": "bucket", "results": [{"input_tokens": 1}]})],
            0,
            {},
            id="bucket without start_time",
        ),
        pytest.param([page(None, "bucket")], 0, {}, id="buckets that are not objects"),
        pytest.param(
            [
                page(
                    bucket(
                        DAY_START,
                        {"object": "organization.usage.embeddings.result", "input_tokens": 5},
                        {"object": "organization.usage.completions.result", "input_tokens": 1},
                    )
                )
            ],
            1,
            {"organization.usage.embeddings.result": 1},
            id="foreign result object skipped",
        ),
        pytest.param(
            [page(bucket(DAY_START, None, 3, {"input_tokens": 1}))],
            1,
            {"NoneType": 1, "int": 1},
            id="results that are not objects",
        ),
        pytest.param([], 0, {}, id="no pages"),
    ],
)
def test_admin_usage_to_frame__ugly_pages(pages, rows, skipped):
    frame = admin_usage_to_frame("completions", pages)
    validate(frame)
    assert len(frame) == rows
    assert frame.attrs["skipped_objects"] == skipped
    assert frame.attrs["skipped"] == sum(skipped.values())


@pytest.mark.parametrize(
    "pages",
    [
        pytest.param(
            [page(bucket(DAY_START, {"object": "organization.usage.images.result"}))],
            id="foreign object",
        ),
        pytest.param([page({"object": "bucket", "results": []})], id="bucket without start_time"),
        pytest.param([{"data": "x"}], id="data not a list"),
        pytest.param([page(bucket(DAY_START, {"input_tokens": "many"}))], id="garbage count"),
    ],
)
def test_admin_usage_to_frame__errors_raise(pages):
    with pytest.raises(MalformedResponseError):
        admin_usage_to_frame("completions", pages, errors="raise")


def test_admin_usage_to_frame__unknown_kind():
    with pytest.raises(ValueError, match="unknown admin usage kind"):
        admin_usage_to_frame("chat", [])


@pytest.mark.parametrize("body", [None, [], "<html>"])
def test_admin_usage_to_frame__non_dict_page_raises(body):
    with pytest.raises(MalformedResponseError, match="usage/completions page"):
        admin_usage_to_frame("completions", [body])


# --------------------------------------------------------------------------------------------
# Admin costs
# --------------------------------------------------------------------------------------------


def cost(value, currency="usd", **fields):
    return {
        "object": "organization.costs.result",
        "amount": {"value": value, "currency": currency},
        "line_item": None,
        "project_id": None,
        **fields,
    }


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        pytest.param([cost(0.06)], [0.06], id="number"),
        pytest.param([cost("12.50")], [12.5], id="string"),
        pytest.param([cost("0.1"), cost(0.2)], [0.3], id="decimal sum is exact"),
        pytest.param(
            [cost("1.10", line_item="a"), cost("2.20", line_item="b")],
            [1.1, 2.2],
            id="line items stay apart",
        ),
        pytest.param([cost(None)], [None], id="null amount is NA, never a silent 0"),
        pytest.param(
            [{"object": "organization.costs.result"}], [None], id="no amount at all is NA"
        ),
        pytest.param([], [], id="empty bucket"),
    ],
)
def test_admin_costs_to_frame__amounts(results, expected):
    frame = admin_costs_to_frame([page(bucket(DAY_START, *results))])
    validate(frame)
    assert sorted(frame["cost_usd"].tolist(), key=lambda v: -1 if pd.isna(v) else v) == [
        pd.NA if v is None else v for v in expected
    ]
    assert set(frame["cost_basis"]) <= {"billed"} and set(frame["operation"]) <= {"cost"}


def test_admin_costs_to_frame__decimal_sum_beats_float_sum():
    values = ["0.1"] * 10
    frame = admin_costs_to_frame([page(bucket(DAY_START, *(cost(v) for v in values)))])
    assert frame["cost_usd"].tolist() == [1.0]
    assert sum(float(v) for v in values) != 1.0  # the reason for Decimal


def test_admin_costs_to_frame__keeps_dimensions_and_days():
    pages = [
        page(
            bucket(
                DAY_START,
                cost(
                    "1",
                    project_id="proj_1",
                    api_key_id="key_1",
                    line_item="gpt-4o-2024-08-06, input",
                ),
            ),
            bucket(DAY_START + 86400, cost("2", project_id="proj_1")),
        ),
        page(
            bucket(
                DAY_START,
                cost(
                    "3",
                    project_id="proj_1",
                    api_key_id="key_1",
                    line_item="gpt-4o-2024-08-06, input",
                ),
            )
        ),
    ]
    frame = admin_costs_to_frame(pages)
    assert sorted(
        records(frame, ("date", "project_id", "api_key_id", "line_item", "cost_usd"))
    ) == [
        (pd.Timestamp("2024-05-01"), "proj_1", "key_1", "gpt-4o-2024-08-06, input", 4.0),
        (pd.Timestamp("2024-05-02"), "proj_1", None, None, 2.0),
    ]
    assert (frame["source"] == "admin").all() and frame["model"].isna().all()


def test_admin_costs_to_frame__notes_other_currencies_and_unreadable_amounts():
    frame = admin_costs_to_frame(
        [
            page(
                bucket(
                    DAY_START,
                    cost("5", "EUR"),
                    cost("oops"),
                    cost("1"),
                    {"object": "organization.usage.completions.result"},
                )
            )
        ]
    )
    assert frame.attrs["non_usd_currencies"] == {"eur": 1}
    assert frame.attrs["unreadable_amounts"] == 1
    assert frame.attrs["skipped"] == 1
    # the euro row is kept apart with no dollar figure; the unreadable amount makes its group's
    # total unknown
    assert sorted(frame["currency"].tolist()) == ["eur", "usd"]
    assert frame["cost_usd"].isna().all()


@pytest.mark.parametrize(
    "result", [cost("oops"), {"object": "organization.usage.completions.result"}]
)
def test_admin_costs_to_frame__errors_raise(result):
    with pytest.raises(MalformedResponseError):
        admin_costs_to_frame([page(bucket(DAY_START, result))], errors="raise")


def test_admin_costs_to_frame__non_dict_page_raises():
    with pytest.raises(MalformedResponseError, match="costs page"):
        admin_costs_to_frame(["<html>"])


# --------------------------------------------------------------------------------------------
# Admin name tables
# --------------------------------------------------------------------------------------------


def listing(*items):
    return {
        "object": "list",
        "data": list(items),
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        pytest.param(
            [
                listing(
                    {
                        "object": "organization.user",
                        "id": "user_abc",
                        "name": "First Last",
                        "email": "u@x.io",
                        "role": "owner",
                        "added_at": 1,
                    }
                )
            ],
            [("user_abc", "First Last", "u@x.io", "owner")],
            id="full",
        ),
        pytest.param(
            [listing({"id": "user_a"}), listing({"id": "user_b", "email": None})],
            [("user_a", None, None, None), ("user_b", None, None, None)],
            id="two pages, sparse",
        ),
        pytest.param(
            [listing({"id": "user_a", "name": "A"}, {"id": "user_a", "name": "A2"})],
            [("user_a", "A", None, None)],
            id="duplicate",
        ),
        pytest.param(
            [listing(None, {"name": "no id"}), {"object": "list"}],
            [],
            id="junk items, missing data",
        ),
        pytest.param([], [], id="no pages"),
    ],
)
def test_admin_users_to_frame__table(pages, expected):
    frame = admin_users_to_frame(pages)
    assert list(frame.columns) == list(normalize.USER_COLUMNS)
    assert records(frame, frame.columns) == expected


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            {"id": "proj_abc", "name": "Project example", "archived_at": None, "status": "active"},
            [("proj_abc", "Project example", "active", False)],
            id="active",
        ),
        pytest.param(
            {"id": "proj_old", "name": "Old", "archived_at": 1711471533, "status": "archived"},
            [("proj_old", "Old", "archived", True)],
            id="archived",
        ),
        pytest.param(
            {"id": "proj_x", "status": "archived"},
            [("proj_x", None, "archived", True)],
            id="archived by status only",
        ),
        pytest.param({"id": "proj_y"}, [("proj_y", None, None, None)], id="archived unknown"),
        pytest.param({"name": "no id"}, [], id="no id dropped"),
    ],
)
def test_admin_projects_to_frame__table(item, expected):
    frame = admin_projects_to_frame([listing(item)])
    assert str(frame["archived"].dtype) == "boolean"
    assert records(frame, normalize.PROJECT_COLUMNS) == expected


def test_admin_api_keys_to_frame__user_and_service_account_owners():
    user_key = {
        "object": "organization.project.api_key",
        "id": "key_abc",
        "name": "My API Key",
        "redacted_value": "sk-abc...def",
        "owner": {
            "type": "user",
            "user": {"id": "user_abc", "name": "First Last", "email": "u@x.io"},
        },
    }
    bot_key = {
        "id": "key_bot",
        "name": "bot",
        "owner": {"type": "service_account", "service_account": {"id": "svc_1", "name": "ci"}},
    }
    bare_key = {"id": "key_bare", "owner": None}
    frame = admin_api_keys_to_frame(
        {"proj_1": [listing(user_key, bot_key)], "proj_2": [listing(bare_key), listing(None)]}
    )
    assert list(frame.columns) == list(normalize.API_KEY_COLUMNS)
    assert records(frame, frame.columns) == [
        (
            "key_abc",
            "My API Key",
            "proj_1",
            "user",
            "user_abc",
            "First Last",
            "u@x.io",
            "sk-abc...def",
        ),
        ("key_bot", "bot", "proj_1", "service_account", None, None, None, None),
        ("key_bare", None, "proj_2", None, None, None, None, None),
    ]


def test_admin_api_keys_to_frame__empty():
    frame = admin_api_keys_to_frame({})
    assert frame.empty and list(frame.columns) == list(normalize.API_KEY_COLUMNS)


@pytest.mark.parametrize("function", [admin_users_to_frame, admin_projects_to_frame])
def test_admin_lists__non_dict_page_raises(function):
    with pytest.raises(MalformedResponseError, match="list body"):
        function([["not", "a", "page"]])


# --------------------------------------------------------------------------------------------
# Joins
# --------------------------------------------------------------------------------------------

USERS = pd.DataFrame(
    {
        "user_id": ["user-a", "user-b", None],
        "user_name": ["Ann", None, "Ghost"],
        "user_email": ["Ann@Acme.io", "bob@acme.io", "ghost@acme.io"],
    },
    dtype="string",
)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param({"user_id": "user-a"}, ("user-a", "Ann", "Ann@Acme.io"), id="by id"),
        pytest.param(
            {"user_email": "ann@acme.io"},
            ("user-a", "Ann", "ann@acme.io"),
            id="id from email, case-insensitive",
        ),
        pytest.param(
            {"user_id": "user-a", "user_name": "Annie"},
            ("user-a", "Annie", "Ann@Acme.io"),
            id="never overwrites",
        ),
        pytest.param(
            {"user_id": "user-b"}, ("user-b", None, "bob@acme.io"), id="user without a name"
        ),
        pytest.param(
            {"user_email": "ghost@acme.io"},
            (None, "Ghost", "ghost@acme.io"),
            id="name by email when the table has no id",
        ),
        pytest.param({"user_id": "user-zz"}, ("user-zz", None, None), id="unknown user"),
        pytest.param({}, (None, None, None), id="org-level row"),
    ],
)
def test_join_users__table(row, expected):
    frame = legacy_usage_to_frame([(DAY, None, {"data": [completion_row()]})]).assign(
        **{k: pd.array([v], dtype="string") for k, v in row.items()}
    )
    before = frame.copy()
    joined = join_users(frame, USERS)
    assert records(joined, ("user_id", "user_name", "user_email")) == [expected]
    validate(joined)
    pd.testing.assert_frame_equal(frame, before)


def test_join_users__empty_users_table_is_a_copy():
    frame = legacy_usage_to_frame([(DAY, "user-a", {"data": [completion_row()]})])
    joined = join_users(frame, USERS.iloc[:0])
    assert joined is not frame
    pd.testing.assert_frame_equal(joined, frame)


def test_join_names__fills_only_nulls():
    results = [
        {"input_tokens": 1, "project_id": "proj_abc", "api_key_id": "key_abc", "user_id": "user-a"},
        {"input_tokens": 2, "project_id": "proj_zzz", "api_key_id": None, "user_id": None},
    ]
    frame = admin_usage_to_frame("completions", [page(bucket(DAY_START, *results))])
    frame.loc[1, "project_name"] = "Kept"
    before = frame.copy()
    projects = admin_projects_to_frame(
        [
            listing(
                {"id": "proj_abc", "name": "Project example"},
                {"id": "proj_zzz", "name": "Replaced?"},
            )
        ]
    )
    keys = admin_api_keys_to_frame({"proj_abc": [listing({"id": "key_abc", "name": "My API Key"})]})
    joined = join_names(frame, users=USERS, projects=projects, api_keys=keys)
    validate(joined)
    assert records(joined, ("project_name", "api_key_name", "user_name")) == [
        ("Project example", "My API Key", "Ann"),
        ("Kept", None, None),
    ]
    pd.testing.assert_frame_equal(frame, before)


def test_join_names__no_tables_is_a_copy():
    frame = admin_usage_to_frame("completions", [page(bucket(DAY_START, {"input_tokens": 1}))])
    joined = join_names(frame)
    assert joined is not frame
    pd.testing.assert_frame_equal(joined, frame)


@pytest.mark.parametrize(
    "kind, result, family",
    [
        (
            "vector_stores",
            {"object": "organization.usage.vector_stores.result", "usage_bytes": 10},
            "vector_storage",
        ),
        (
            "code_interpreter_sessions",
            {"object": "organization.usage.code_interpreter_sessions.result", "num_sessions": 2},
            "code_interpreter",
        ),
        (
            "completions",
            {
                "object": "organization.usage.completions.result",
                "input_tokens": 5,
                "output_tokens": 1,
                "num_model_requests": 1,
                "model": "gpt-4o-2024-08-06",
            },
            "gpt-4o",
        ),
    ],
)
def test_admin_usage_to_frame__usage_without_a_model_groups_by_its_tool(kind, result, family):
    page = {
        "object": "page",
        "has_more": False,
        "next_page": None,
        "data": [
            {
                "object": "bucket",
                "start_time": 1730419200,
                "end_time": 1730505600,
                "results": [result],
            }
        ],
    }
    frame = admin_usage_to_frame(kind, [page])
    assert list(frame["model_family"]) == [family]


@pytest.mark.parametrize(
    "amounts, expected_cost, expected_currency",
    [
        ([{"value": "1.25", "currency": "usd"}, {"value": 0.75, "currency": "usd"}], 2.0, "usd"),
        ([{"value": "9.00", "currency": "eur"}], None, "eur"),  # never added to dollars
        ([{"value": "n/a", "currency": "usd"}], None, "usd"),  # unreadable: NA, never a silent 0
        ([{"value": "1.00", "currency": "usd"}, {"value": None, "currency": "usd"}], None, "usd"),
    ],
)
def test_admin_costs_to_frame__other_currencies_and_unreadable_amounts_are_not_dollars(
    amounts, expected_cost, expected_currency
):
    results = [
        {"object": "organization.costs.result", "amount": a, "line_item": "x", "project_id": "p"}
        for a in amounts
    ]
    page = {
        "object": "page",
        "has_more": False,
        "next_page": None,
        "data": [
            {
                "object": "bucket",
                "start_time": 1730419200,
                "end_time": 1730505600,
                "results": results,
            }
        ],
    }
    frame = admin_costs_to_frame([page])
    assert len(frame) == 1 and frame["currency"].iloc[0] == expected_currency
    cost = frame["cost_usd"].iloc[0]
    assert pd.isna(cost) if expected_cost is None else cost == expected_cost
    assert frame["cost_basis"].iloc[0] == "billed"


def _usage(rows):
    return conform(
        pd.DataFrame([{"date": "2026-01-02", "cost_basis": "unpriced", **r} for r in rows])
    )


@pytest.mark.parametrize(
    "org, members, expected",
    [
        # the service account's 10 requests are what the members' answers do not hold
        (
            [{"model": "gpt-4o", "n_requests": 100, "input_tokens": 1000}],
            [
                {"model": "gpt-4o", "user_id": "u1", "n_requests": 60, "input_tokens": 700},
                {"model": "gpt-4o", "user_id": "u2", "n_requests": 30, "input_tokens": 200},
            ],
            [("gpt-4o", 10, 100)],
        ),
        # everything attributed: nothing left
        (
            [{"model": "gpt-4o", "n_requests": 5, "input_tokens": 50}],
            [{"model": "gpt-4o", "user_id": "u1", "n_requests": 5, "input_tokens": 50}],
            [],
        ),
        # a member counted more than the org: never below zero
        (
            [{"model": "gpt-4o", "n_requests": 5, "input_tokens": 50}],
            [{"model": "gpt-4o", "user_id": "u1", "n_requests": 9, "input_tokens": 80}],
            [],
        ),
        # a model no member used stays whole; matching is per model
        (
            [
                {"model": "gpt-4o", "n_requests": 5, "input_tokens": 50},
                {"model": "o3", "n_requests": 2, "input_tokens": 9},
            ],
            [{"model": "gpt-4o", "user_id": "u1", "n_requests": 5, "input_tokens": 50}],
            [("o3", 2, 9)],
        ),
        # no per-user answers at all
        ([{"model": "gpt-4o", "n_requests": 3, "input_tokens": 30}], [], [("gpt-4o", 3, 30)]),
    ],
)
def test_unattributed__org_total_minus_members(org, members, expected):
    rest = unattributed(_usage(org), _usage(members) if members else _usage([]).iloc[0:0])
    validate(rest)
    assert rest["user_id"].isna().all()
    got = sorted(zip(rest["model"], rest["n_requests"], rest["input_tokens"], strict=True))
    assert got == sorted(expected)


# --------------------------------------------------------------------------------------------
# Admin completions split by modality (spec 2026-07) and web search context levels
# --------------------------------------------------------------------------------------------

SPLIT_VIEW = ("input_tokens", "input_audio_tokens", "cached_audio_tokens", "output_audio_tokens")


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        pytest.param(
            [
                {"input_tokens": 100, "input_audio_tokens": 60, "input_cached_audio_tokens": 10},
                {"input_tokens": 50, "input_audio_tokens": 5, "output_audio_tokens": 7},
            ],
            [(150, 65, 10, 7)],
            id="hours-add-up-field-by-field",
        ),
        pytest.param(
            [{"input_tokens": 100}, {"input_tokens": 50, "output_audio_tokens": 7}],
            [(150, None, None, 7)],
            id="a-field-no-hour-gives-stays-NA",
        ),
    ],
)
def test_admin_usage_to_frame__completions_split_sums_buckets(results, expected):
    pages = [page(*(bucket(DAY_START + i * HOUR, result) for i, result in enumerate(results)))]
    frame = admin_usage_to_frame("completions", pages)
    validate(frame)
    got = [tuple(None if pd.isna(v) else v for v in row) for row in records(frame, SPLIT_VIEW)]
    assert got == expected


def test_admin_usage_to_frame__answers_without_split_have_no_split_columns():
    frame = admin_usage_to_frame("completions", [page(bucket(DAY_START, {"input_tokens": 5}))])
    assert "input_audio_tokens" not in frame.columns


def test_admin_usage_to_frame__web_search_keeps_context_level():
    result = {"num_requests": 3, "num_model_requests": 3, "model": "gpt-4o", "context_level": "low"}
    frame = admin_usage_to_frame("web_search_calls", [page(bucket(DAY_START, result))])
    assert records(frame, ("context_level", "units", "n_requests")) == [("low", 3.0, 0)]
