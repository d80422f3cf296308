"""Issue 10's pure parts, table-driven: answer shapes, count bounds, pagination budgets, redaction,
Markdown escaping, base URLs and price-file bounds.

The same faults end to end (the fake server injects them, a rerun after recovery is exact) are in
``tests/test_failures.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spend import errors, shapes
from spend.client import check_shape
from spend.config import check_base_url
from spend.errors import redact
from spend.formatting import escape_markdown
from spend.normalize import MAX_COUNT, to_count, to_quantity
from spend.paging import page_budget, walk_pages
from spend.pricing import parse_price_table
from spend.sources.openai_api import bucket_count, describe_request
from tests.fake_openai import HOSTILE, FakeOpenAI, legacy_usage_body

EXAMPLES = Path(__file__).resolve().parent / "data" / "openai-spec" / "examples"
DAY0 = 1_730_419_200  # 2024-11-01 00:00 UTC


def example(name: str):
    return json.loads((EXAMPLES / name).read_text())


def page(*results, start=DAY0, **extra):
    return {
        "object": "page",
        "data": [
            {"object": "bucket", "start_time": start, "end_time": start + 86400, "results": r}
            for r in [list(results)]
        ],
        "has_more": False,
        "next_page": None,
        **extra,
    }


LEGACY_OK = {
    "object": "list",
    "data": [{"n_requests": 1, "n_context_tokens_total": 10}],
    "ft_data": [],
    "dalle_api_data": None,
}


# --- validators accept every real shape ---------------------------------------------------------


@pytest.mark.parametrize(
    "validate, body",
    [
        *[(shapes.usage_page, example(p.name)) for p in sorted(EXAMPLES.glob("usage-*.json"))],
        (shapes.costs_page, example("costs.json")),
        (shapes.list_page, example("users-list.json")),
        (shapes.list_page, example("projects-list.json")),
        (shapes.list_page, example("project-api-keys-list.json")),
        (shapes.legacy_usage, LEGACY_OK),
        (shapes.legacy_usage, {"object": "list", "data": [], "current_usage_usd": 0}),  # 2023
        (shapes.legacy_usage, {"data": [{"n_requests": "3", "n_context": 2.0}]}),  # no object
        (shapes.legacy_users, {"object": "list", "members": {"object": "list", "data": []}}),
        (shapes.legacy_users, {"data": [{"id": "user-1"}]}),  # the older top-level list
        (shapes.costs_page, page({"amount": {"value": "12.50", "currency": "usd"}})),
        (shapes.costs_page, page({"amount": {"value": -3.2, "currency": "usd"}})),  # a credit
        (shapes.usage_page, page({"input_tokens": 5, "input_audio_tokens": None, "x": "y"})),
        (shapes.usage_page, page(start=DAY0, has_more=True, next_page="page_2")),
    ],
    ids=lambda v: getattr(v, "__name__", None) or "",
)
def test_shapes__accept_what_openai_sends(validate, body):
    validate(body)


def test_shapes__accept_every_answer_of_the_fake():
    fake = FakeOpenAI(days=5)
    for day in fake.days:
        shapes.legacy_usage(legacy_usage_body(fake.world, day, None, "2024", False))
        shapes.legacy_usage(legacy_usage_body(fake.world, day, None, "2023", False))


# --- and refuse what must never be stored ---------------------------------------------------------


@pytest.mark.parametrize(
    "validate, body, needle",
    [
        (shapes.legacy_usage, None, "null instead of a day of usage"),
        (shapes.legacy_usage, "ok", "a string instead"),
        (shapes.legacy_usage, [], "a list instead"),
        (shapes.legacy_usage, {"error": {"message": "Bearer sess-abc123 is bad"}}, "an error"),
        (shapes.legacy_usage, {"object": "list"}, "no 'data'"),
        (shapes.legacy_usage, {"object": "page", "data": []}, "type 'page'"),
        (shapes.legacy_usage, {"data": {"a": 1}}, "'data', which must be a list"),
        (shapes.legacy_usage, {"data": [], "tts_api_data": "x"}, "'tts_api_data'"),
        (shapes.legacy_usage, {"data": [3]}, "data[0] is a number"),
        (shapes.legacy_usage, {"data": [{"n_requests": 1e30}]}, "data[0].n_requests is 1e+30"),
        (shapes.legacy_usage, {"data": [{"n_requests": 10**30}]}, "between 0 and 10^15"),
        (shapes.legacy_usage, {"data": [{"n_generated": -5}]}, "data[0].n_generated is -5"),
        (shapes.legacy_usage, {"data": [{"n_requests": "n/a"}]}, "expected a count"),
        (shapes.legacy_usage, {"data": [{"n_requests": True}]}, "expected a count"),
        (shapes.legacy_usage, {"data": [], "dalle_api_data": [{"num_images": -1}]}, "num_images"),
        (shapes.legacy_users, {"object": "list"}, "no 'data'"),
        (shapes.legacy_users, {"members": "x"}, "as 'members'"),
        (shapes.legacy_users, {"members": {"data": [None]}}, "member 0 is null"),
        (shapes.usage_page, {"object": "list", "data": []}, "type 'list' instead of a page"),
        (shapes.usage_page, {"object": "page", "data": {}}, "'data', which must be a list"),
        (shapes.usage_page, {"object": "page", "data": ["x"]}, "data[0] is a string"),
        (shapes.usage_page, {"object": "page", "data": [{"start_time": "soon"}]}, "start_time"),
        (shapes.usage_page, {"object": "page", "data": [{"start_time": DAY0}]}, "as results"),
        (shapes.usage_page, page({"input_tokens": 1e30}), "2024-11-01: results[0].input_tokens"),
        (shapes.usage_page, page({"num_model_requests": -1}), "num_model_requests is -1"),
        (shapes.usage_page, page({"output_tokens": float("nan")}), "output_tokens"),
        (shapes.usage_page, page(7), "results[0] is a number"),
        (shapes.usage_page, page(has_more=True, next_page=None), "next_page is not a cursor"),
        (shapes.usage_page, page(has_more="yes"), "has_more is 'yes'"),
        (shapes.costs_page, page({"amount": {"value": "1e30"}}), "not a sane amount"),
        (shapes.costs_page, page({"amount": {"value": "twelve"}}), "not an amount"),
        (shapes.costs_page, page({"amount": 12}), "amount is a number"),
        (shapes.list_page, {"object": "list", "data": [1]}, "data[0] is a number"),
        (shapes.list_page, {"object": "list", "data": [], "has_more": True}, "last_id"),
        (shapes.list_page, {"error": "Too many requests"}, "an error instead of a list"),
    ],
)
def test_shapes__refuse_what_must_never_be_stored(validate, body, needle):
    with pytest.raises(errors.MalformedResponseError) as info:
        validate(body)
    assert needle in str(info.value)
    assert "sess-abc123" not in str(info.value)


def test_check_shape__names_the_request_and_day():
    with pytest.raises(errors.MalformedResponseError) as info:
        check_shape(
            {"data": [{"n_requests": -5}]},
            shapes.legacy_usage,
            what="OpenAI's answer to " + describe_request("/usage", {"date": "2024-05-01"}),
        )
    assert str(info.value).startswith("OpenAI's answer to /usage for 2024-05-01 is not usable")
    assert "data[0].n_requests is -5" in str(info.value)


@pytest.mark.parametrize(
    "path, params, expected",
    [
        ("/usage", {"date": "2024-05-01"}, "/usage for 2024-05-01"),
        (
            "/usage",
            {"date": "2024-05-01", "user_public_id": "user-1"},
            "/usage for 2024-05-01 (user user-1)",
        ),
        (
            "/organization/costs",
            {"start_time": DAY0, "end_time": DAY0 + 86400 * 30},
            "/organization/costs for 2024-11-01 to 2024-11-30",
        ),
        (
            "/organization/costs",
            {"start_time": DAY0, "end_time": DAY0 + 600},
            "/organization/costs for 2024-11-01",
        ),
        ("/organization/users", {"limit": 100}, "/organization/users"),
    ],
)
def test_describe_request__table(path, params, expected):
    assert describe_request(path, params) == expected


# --- counts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (MAX_COUNT, MAX_COUNT),
        (MAX_COUNT + 1, 0),
        (-1, 0),
        (1e30, 0),
        ("1e30", 0),
        (10**30, 0),
        ("-3", 0),
        (0, 0),
        (7.4, 7),
    ],
)
def test_to_count__out_of_bounds_is_unreadable(value, expected):
    assert to_count(value) == expected


@pytest.mark.parametrize("value", [-1, 1e30, 10**30, "1e30", MAX_COUNT + 1])
def test_to_count__out_of_bounds_raises_naming_the_field(value):
    with pytest.raises(errors.MalformedResponseError, match="data.n_requests is .*between 0"):
        to_count(value, errors="raise", what="data.n_requests")


@pytest.mark.parametrize("value, expected", [(1e30, 0.0), (-0.5, 0.0), (2.5, 2.5), ("1e308", 0.0)])
def test_to_quantity__out_of_bounds_is_unreadable(value, expected):
    assert to_quantity(value) == expected


def test_legacy_usage_to_frame__absurd_count_raises_naming_day_and_field():
    from spend.sources.legacy import legacy_usage_to_frame

    body = {"data": [{"n_requests": 1, "n_context_tokens_total": 1e30, "snapshot_id": "gpt-4o"}]}
    assert legacy_usage_to_frame([("2024-05-01", None, body)])["input_tokens"].sum() == 0
    with pytest.raises(errors.MalformedResponseError) as info:
        legacy_usage_to_frame([("2024-05-01", None, body)], errors="raise")
    assert "2024-05-01" in str(info.value) and "n_context_tokens_total" in str(info.value)


# --- pagination -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, cursor, expected",
    [
        (
            {"start_time": DAY0, "end_time": DAY0 + 31 * 86400, "bucket_width": "1d"},
            "page",
            (32, 31),
        ),
        ({"start_time": DAY0, "end_time": DAY0 + 86400 * 180}, "page", (181, 180)),
        ({"start_time": DAY0, "end_time": DAY0 + 86400, "bucket_width": "1h"}, "page", (25, 24)),
        ({"start_time": DAY0, "end_time": DAY0 + 100}, "page", (2, 1)),
        ({"limit": 100}, "after", (1000, None)),
        ({"start_time": DAY0}, "page", (1000, None)),
    ],
)
def test_page_budget__table(params, cursor, expected):
    budget = page_budget(bucket_count(params), cursor)
    assert budget == expected
    assert budget[0] < 10_000


def _bucket(start):
    return {"object": "bucket", "start_time": start, "end_time": start + 86400, "results": []}


@pytest.mark.parametrize(
    "chain, needle",
    [
        # page 2's cursor points back at page 1's
        (
            {
                None: {"data": [_bucket(DAY0)], "has_more": True, "next_page": "a"},
                "a": {"data": [_bucket(DAY0 + 86400)], "has_more": True, "next_page": "a"},
            },
            "loop: the cursor 'a' came back",
        ),
        # the same day twice (a cursor that restarts the range)
        (
            {
                None: {"data": [_bucket(DAY0)], "has_more": True, "next_page": "a"},
                "a": {"data": [_bucket(DAY0)], "has_more": False},
            },
            "repeat the bucket of 2024-11-01",
        ),
        # more buckets than a 2-day range holds
        (
            {None: {"data": [_bucket(DAY0 + i * 86400) for i in range(3)], "has_more": False}},
            "3 buckets, more than the 2",
        ),
        # pages that never end, each with a new cursor and no bucket
        (
            {
                **{None: {"data": [], "has_more": True, "next_page": "p0"}},
                **{
                    f"p{i}": {"data": [], "has_more": True, "next_page": f"p{i + 1}"}
                    for i in range(9)
                },
            },
            "did not end after 3 pages",
        ),
    ],
)
def test_walk_pages__a_broken_chain_is_a_pagination_error(chain, needle):
    params = {"start_time": DAY0, "end_time": DAY0 + 2 * 86400, "bucket_width": "1d"}
    with pytest.raises(errors.PaginationError) as info:
        walk_pages(
            "/organization/usage/completions",
            params,
            "page",
            lambda p: chain[p.get("page")],
            name="OpenAI",
            bucket_field="start_time",
            most_buckets=bucket_count(params),
        )
    assert needle in str(info.value)


# --- text that is shown -------------------------------------------------------------------------


KEY = "my-proxy-key-0123456789"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Bad key sk-proj-AbC_123-xyz here", "Bad key sk-… here"),
        ("Authorization: Bearer sess-abcDEF123 was bad", "Authorization: Bearer … was bad"),
        ("'Authorization: Bearer sk-admin-xyz'; ok", "'Authorization: Bearer …'; ok"),
        ("got sk_live_51HxyzABC and sess-XYZ123abc", "got sk_live_… and sess-…"),
        ("rk_live_abc123 too", "rk_live_… too"),
        ("key sk_live_51HzZzSecret were", "key sk_live_… were"),
        (
            "Could not reach https://user:pa55@proxy.example/v1",
            "Could not reach https://…@proxy.example/v1",
        ),
        (f"echoed {KEY} back", "echoed … back"),
        ("task-runner, risk-free, desk-top", "task-runner, risk-free, desk-top"),
    ],
)
def test_redact__every_secret_looking_token(text, expected):
    assert redact(text, (KEY,)) == expected
    assert redact(expected, (KEY,)) == expected  # cutting twice changes nothing


def test_spend_error__str_is_always_redacted():
    exc = errors.AuthError("OpenAI said: Bearer sess-abc123def and sk-proj-abcdef0000")
    assert "sess-abc" not in str(exc) and "abcdef0000" not in str(exc)


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            HOSTILE,
            r"\[x\]\(` https://evil.example `\) \!\[b\]\(` http://127.0.0.1:9/beacon.png `\)",
        ),
        ("**Eve**\n# big", r"\*\*Eve\*\* \# big"),
        (":red[proj] :material/lock:", r"\:red\[proj\] \:material\/lock\:"),
        ("<img src=x onerror=alert(1)>", r"\<img src\=x onerror\=alert\(1\)\>"),
        (
            "$x$ and ann@acme.io and www.evil.example.",  # GFM links these even when escaped
            r"\$x\$ and ` ann@acme.io ` and ` www.evil.example `\.",
        ),
        (
            "see https://platform.openai.com/api-keys.",
            r"see ` https://platform.openai.com/api-keys `\.",
        ),
        ("a`b https://x.io/`", r"a\`b `` https://x.io/` ``"),
        ("gpt-4o-2024-08-06", r"gpt\-4o\-2024\-08\-06"),
        ("Ada Lovelace", "Ada Lovelace"),
        (None, ""),
    ],
)
def test_escape_markdown__table(text, expected):
    assert escape_markdown(text) == expected


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://api.openai.com/v1/", "https://api.openai.com/v1"),
        (" http://127.0.0.1:8765/v1 ", "http://127.0.0.1:8765/v1"),
        ("ftp://files.example/v1", None),
        ("api.openai.com/v1", None),
        ("http//api.openai.com", None),
        ("https://", None),
        ("https://host:port/v1", None),
        ("https://api.openai.com/v 1", None),
        ("https://bob:s3cret@proxy.example:99999/v1", None),
    ],
)
def test_check_base_url__table(url, expected):
    if expected is not None:
        assert check_base_url(url) == expected
        return
    with pytest.raises(errors.ConfigError, match="OPENAI_BASE_URL") as info:
        check_base_url(url)
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize(
    "entry, needle",
    [
        ({"model": "m", "input_per_mtok": 1e308}, "'input_per_mtok' must be at most"),
        ({"model": "m", "per_unit": 1e7, "unit": "images"}, "'per_unit' must be at most"),
        ({"model": "m", "per_unit": 1.0, "unit": "images", "per": 1e-300}, "'per' must be 1e-06"),
        ({"model": "m", "per_unit": 1.0, "unit": "bytes", "per": 1e300}, "'per' must be 1e-06"),
    ],
)
def test_price_file__absurd_numbers_are_refused(entry, needle):
    with pytest.raises(errors.PricingError, match=needle):
        parse_price_table({"price": [entry]}, source="prices.toml")


def test_price_file__a_large_per_is_a_price():
    table = parse_price_table(
        {"price": [{"model": "*", "per_unit": 0.1, "unit": "bytes", "per": 1e9}]}, source="p"
    )
    assert table.prices[0].per == 1e9


# --- answers full of nulls (issue 18) -------------------------------------------------------------

NULL_ROW = {"snapshot_id": "gpt-4o", "n_requests": None, "n_context_tokens_total": None}


@pytest.mark.parametrize(
    "validate, body, needle",
    [
        (shapes.legacy_usage, {"data": [NULL_ROW]}, "data[0] has every count null"),
        (
            shapes.legacy_usage,
            {"data": [{"n_requests": 1}, {**NULL_ROW, "n_generated_tokens_total": None}]},
            "data[1] has every count null",
        ),
        (
            shapes.legacy_usage,
            {"data": [], "whisper_api_data": [{"model_id": "whisper-1", "num_seconds": None}]},
            "whisper_api_data[0] has every count null",
        ),
        (
            shapes.usage_page,
            page({"input_tokens": None, "output_tokens": None, "num_model_requests": None}),
            "the bucket of 2024-11-01: results[0] has every count null",
        ),
        (
            shapes.usage_page,
            page({"object": "organization.usage.vector_stores.result", "usage_bytes": None}),
            "results[0] has every count null (usage_bytes)",
        ),
        (shapes.costs_page, page({"amount": None}), "results[0].amount is null"),
        (shapes.costs_page, page({"line_item": "x"}), "results[0].amount is null"),
        (shapes.costs_page, page({"amount": {"value": None}}), "results[0].amount.value is null"),
    ],
)
def test_shapes__an_answer_full_of_nulls_is_refused(validate, body, needle):
    with pytest.raises(errors.MalformedResponseError) as info:
        validate(body)
    assert needle in str(info.value)


@pytest.mark.parametrize(
    "validate, body",
    [
        # some nulls beside a count are fine: fields come and go (API-NOTES)
        (shapes.legacy_usage, {"data": [{**NULL_ROW, "n_generated_tokens_total": 0}]}),
        (shapes.legacy_usage, {"data": [{"snapshot_id": "gpt-4o"}]}),  # no count field at all
        (shapes.legacy_usage, {"data": [], "ft_data": [{"n_trained_tokens": None}]}),  # unread
        (shapes.usage_page, page({"input_tokens": 0, "input_audio_tokens": None})),
        (shapes.usage_page, page({"project_id": "proj_1"})),
    ],
)
def test_shapes__a_null_beside_a_count_is_accepted(validate, body):
    validate(body)


@pytest.mark.parametrize(
    "value",
    [
        0,
        7,
        "12",
        " 7 ",
        12.0,
        7.4,
        MAX_COUNT,
        None,
        -1,
        -0.4,
        1e30,
        "1e30",
        10**30,
        MAX_COUNT + 1,
        MAX_COUNT + 0.6,
        "n/a",
        "",
        float("nan"),
        float("inf"),
        "inf",
        True,
        [1],
        {"n": 1},
        10**400,
    ],
)
def test_counts__the_validator_accepts_exactly_what_to_count_reads(value):
    """One count reader (``normalize.to_count``) serves the parsers and the validators: a count
    the validator lets through is one the parser reads, and the other way round."""
    try:
        to_count(value, errors="raise", what="data[0].n_requests")
        readable = True
    except errors.MalformedResponseError:
        readable = False
    body = {"data": [{"n_requests": value, "n_context_tokens_total": 1}]}
    try:
        shapes.legacy_usage(body)
        valid = True
    except errors.MalformedResponseError as exc:
        assert "data[0].n_requests" in str(exc)
        valid = False
    assert valid is readable
    assert valid is (value is None or value in (0, 7, "12", " 7 ", 12.0, 7.4, MAX_COUNT))


def test_counts__no_twin_of_to_count():
    assert not hasattr(shapes, "check_count")
