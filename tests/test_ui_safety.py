"""Issue 10 in the app, under ``AppTest``: text from the API is data, never Markdown; secrets are
never shown; the app's key is used only with the app's org id; long fetches on the app's key need
a say-so.

Each case injects its fault through the fake server, reruns after recovery, and checks what the
page shows against the fake's own figures.
"""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from spend import formatting as fmt
from spend.dates import PRESETS
from spend.jobs import REGISTRY
from tests.apptest_support import ROOT, admin_secrets, app, legacy_secrets, no_exceptions, settled
from tests.fake_openai import (
    ECHOED_SECRETS,
    HOSTILE,
    LEGACY_KEY,
    ORG_ID,
    hostile_renames,
)
from tests.test_auth import ACCESS, AUTH, BOSS
from tests.test_layout import registered_pages

OTHER_ORG = "org-SomeoneElse0000000000"

pytestmark = pytest.mark.usefixtures("fresh_streamlit")


def markdown_texts(at: AppTest) -> list[str]:
    """Everything this run drew that Streamlit renders as Markdown: bodies, labels and titles."""
    texts: list[str] = []
    for kind in (
        "markdown",
        "caption",
        "warning",
        "info",
        "error",
        "success",
        "title",
        "subheader",
        "header",
        "latex",
        "toast",
    ):
        texts += [str(element.value) for element in at.get(kind)]
    texts += [m.label for m in at.metric]
    texts += [e.label for e in at.get("expandable") if getattr(e, "label", None)]
    for kind in ("selectbox", "multiselect", "button", "text_input", "toggle", "date_input"):
        texts += [w.label for w in at.get(kind)]
    return texts


def assert_literal(texts: list[str]) -> None:
    """No text that came from the hostile names renders a link, an image, HTML or a directive:
    outside code spans (shown verbatim, never linked) nothing of them is left as Markdown."""
    for text in texts:
        text = re.sub(r"(`+) .*? \1", "", text)
        assert "](" not in text and "![" not in text, text
        assert "://evil" not in text and "://127.0.0.1:9" not in text, text
        assert "<img" not in text and ":red[" not in text and "**Eve**" not in text, text


#: Where a Vega-Lite spec holds values (drawn as plain SVG text): anything else is a title, a
#: field name or an expression, where a name from the API must never go.
DATA_KEYS = {"datasets", "data", "domain", "values", "sort"}


def outside_data(spec, path="") -> list[str]:
    """A Vega-Lite spec into the places outside its data that mention the hostile names."""
    found = []
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key not in DATA_KEYS:
                found += outside_data(value, f"{path}.{key}")
    elif isinstance(spec, list):
        for i, value in enumerate(spec):
            found += outside_data(value, f"{path}[{i}]")
    elif isinstance(spec, str) and ("evil" in spec or "beacon" in spec):
        found.append(path)
    return found


def test_pages__hostile_names_render_as_text_on_every_page(fake_openai):
    """A model, user, project and key named like Markdown links and images (a beacon on
    127.0.0.1:9) show as the text they are, wherever a page draws them."""
    fake_openai.reset(days=70)
    fake_openai.configure(rename=hostile_renames(fake_openai.world))
    at = settled(
        app(
            **admin_secrets(fake_openai),
        )
    )
    no_exceptions(at)
    view = at.session_state["_spend_view"]
    assert HOSTILE in set(view.frame["model"].dropna())  # the data holds the names as they are
    seen = False
    for page in registered_pages():
        at.switch_page(str(ROOT / page)).run()
        no_exceptions(at)
        texts = markdown_texts(at)
        assert_literal(texts)
        seen = seen or any(fmt.escape_markdown(HOSTILE) in text for text in texts)
        for chart in at.get("vega_lite_chart"):
            assert not outside_data(json.loads(chart.proto.spec)), page
    assert seen, "the hostile model is listed (escaped) among the unpriced models"


def test_pages__an_error_that_echoes_the_key_is_shown_redacted(fake_openai, monkeypatch):
    monkeypatch.setattr("spend.client.MAX_DELAY", 0.0)
    fake_openai.fail_next(1, kind="echo_auth")
    at = app(
        **legacy_secrets(fake_openai),
    )
    at.query_params["range"] = "last_7_days"
    at.run()  # the first request (the users list) is refused, echoing the key
    no_exceptions(at)
    shown = " ".join(e.value for e in at.error)
    assert "rejected \\(401\\)" in shown  # drawn as text: OpenAI's message is not Markdown
    plain = shown.replace("\\", "")
    assert "rejected (401)" in plain and "Bearer …" in plain
    for secret in (LEGACY_KEY, LEGACY_KEY[8:], *ECHOED_SECRETS, "AbCdEf0123", "51HzZz"):
        assert secret not in shown
    # recovery: the next run fetches, and the figures are the server's
    at = settled(at)
    no_exceptions(at)
    assert not at.error
    view = at.session_state["_spend_view"]
    assert (
        int(view.frame["n_requests"].sum())
        == fake_openai.legacy_totals(view.start, view.end)["n_requests"]
    )


def test_sidebar__the_apps_key_is_never_sent_with_a_typed_org_id(fake_openai):
    at = app(
        **legacy_secrets(fake_openai),
    )
    at.query_params["range"] = "last_7_days"
    at.run()
    at.sidebar.text_input(key="org_id").set_value(OTHER_ORG)
    settled(at)
    no_exceptions(at)
    assert any("reads only its own organization" in c.value for c in at.sidebar.caption)
    sent = {r.headers.get("OpenAI-Organization") for r in fake_openai.requests}
    assert sent == {ORG_ID}
    assert all(OTHER_ORG not in r.path for r in fake_openai.requests)
    assert not at.error and "_spend_view" in at.session_state


LONG = dict(SPEND_RATE_LIMIT_PER_MIN="1")  # 61 requests at 1 a minute: over the auto-start bound


@pytest.mark.parametrize(
    "secrets, user, typed_key, button",
    [
        ({}, None, False, False),  # the app's key, no sign-in, no say-so: no button
        ({"SPEND_ALLOW_LONG_FETCH": "true"}, None, False, True),
        ({}, None, True, True),  # a visitor's own key: theirs to spend
        ({"auth": AUTH, **ACCESS}, BOSS, False, True),  # a signed-in admin of the app
    ],
    ids=["apps-key", "allowed", "own-key", "signed-in-admin"],
)
def test_sidebar__a_long_fetch_on_the_apps_key_needs_a_say_so(
    fake_openai, secrets, user, typed_key, button
):
    base = dict(OPENAI_ORG_ID=ORG_ID, OPENAI_BASE_URL=fake_openai.base_url, **LONG, **secrets)
    at = app(**base, **({} if typed_key else {"OPENAI_API_KEY": LEGACY_KEY}))
    at.user = dict(user or {})
    at.query_params["range"] = "last_30_days"
    at.run()
    if typed_key:
        at.sidebar.text_input(key="api_key").set_value(LEGACY_KEY)
        at.sidebar.text_input(key="org_id").set_value(ORG_ID)
        at.run()
    no_exceptions(at)
    buttons = [b for b in at.sidebar.button if b.key == "confirm_fetch"]
    assert bool(buttons) is button
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert ("SPEND_ALLOW_LONG_FETCH=true" in captions) is not button
    if not button:
        assert any("Not fetched yet" in w.value for w in at.warning)
    assert fake_openai.count(path_prefix="/v1/usage") == 0  # nothing long started by itself


def test_sidebar__only_who_may_start_a_long_fetch_may_stop_it(fake_openai):
    """Stop ends a fetch for everyone watching it: on the app's key without sign-in, a visitor who
    could not have started the long fetch sees its progress, but no Stop (a short fetch, which
    starts by itself for anyone, has a Stop for anyone: test_browser's background fetch)."""
    base = dict(
        OPENAI_API_KEY=LEGACY_KEY,
        OPENAI_ORG_ID=ORG_ID,
        OPENAI_BASE_URL=fake_openai.base_url,
        **LONG,
    )
    starter = app(**base, SPEND_ALLOW_LONG_FETCH="true")
    starter.query_params["range"] = "last_30_days"
    starter.run()
    starter.sidebar.button(key="confirm_fetch").click().run()
    try:
        assert [job for job in REGISTRY.jobs() if job.running]
        visitor = app(**base)
        visitor.query_params["range"] = "last_30_days"
        visitor.run()
        starter.run()
        for at in (starter, visitor):
            no_exceptions(at)
            assert at.sidebar.get("progress"), "the fetch's progress is shown to both"
        assert [b.key for b in starter.sidebar.button if b.key == "stop_fetch"] == ["stop_fetch"]
        assert not [b for b in visitor.sidebar.button if b.key == "stop_fetch"]
    finally:
        for job in REGISTRY.jobs():
            job.stop()
            assert job.wait(30)


def test_sidebar__a_short_fetch_anyone_stopped_anyone_may_start_again(fake_openai):
    """On the app's key without sign-in a short fetch starts by itself, so anyone may stop it, and
    then start it again (held to the auto-start bound), never stuck behind a say-so."""
    fake_openai.reset(days=20)
    base = dict(
        OPENAI_API_KEY=LEGACY_KEY,
        OPENAI_ORG_ID=ORG_ID,
        OPENAI_BASE_URL=fake_openai.base_url,
        SPEND_RATE_LIMIT_PER_MIN="20",  # 8 requests, ~21 s: under the bound, still running
    )
    at = app(**base)
    at.query_params["range"] = "last_7_days"
    at.run()
    try:
        (job,) = [j for j in REGISTRY.jobs() if j.running]
        assert job.bounded
        at.sidebar.button(key="stop_fetch").click().run()
        assert job.wait(30) and job.stopped
        at.run()
        no_exceptions(at)
        assert any("Fetch stopped" in w.value for w in at.warning)
        at.sidebar.button(key="confirm_fetch").click().run()
        (again,) = [j for j in REGISTRY.jobs() if j.running]
        assert again is not job and again.bounded  # held to the bound: no say-so was given
    finally:
        for running in REGISTRY.jobs():
            running.stop()
            assert running.wait(30)


def test_pages__a_read_only_cache_is_shown_and_nothing_is_fetched(fake_openai, monkeypatch):
    import streamlit as st

    from tests.test_failures import _read_only

    secrets = dict(
        **legacy_secrets(fake_openai),
    )
    at = app(**secrets)
    at.query_params["range"] = "last_7_days"
    settled(at)
    view = at.session_state["_spend_view"]
    expected = int(view.frame["n_requests"].sum())
    assert expected == fake_openai.legacy_totals(view.start, view.end)["n_requests"]
    # the app restarts as a user who may only read the cache folder
    st.cache_data.clear()
    st.cache_resource.clear()
    REGISTRY.clear()
    _read_only(monkeypatch)
    made = fake_openai.count()
    at = app(**secrets)
    at.query_params["range"] = "last_7_days"
    at.run()
    no_exceptions(at)
    assert not at.error, [e.value for e in at.error]
    assert int(at.session_state["_spend_view"].frame["n_requests"].sum()) == expected
    assert fake_openai.count() == made and not REGISTRY.jobs()
    assert not [b for b in at.sidebar.button if b.key in ("refresh", "confirm_fetch")]


# --- dates in a link (issue 18, item 7) -----------------------------------------------------------

RAW_DATA_PAGE = str(ROOT / "app_pages" / "raw_data.py")
LINK_NOTICE = "This link's dates were not used"


def _link(params: dict[str, str], page: str | None = None) -> AppTest:
    at = app()
    for name, value in params.items():
        at.query_params[name] = value
    if page is not None:
        at.switch_page(page)
    at.run()
    return at


def _notices(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if LINK_NOTICE in w.value]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        # the link: an OverflowError with file paths before
        (
            {"range": "custom", "start": "0001-01-01", "end": "2025-03-01"},
            "before OpenAI's API had any usage",
        ),
        (
            {"range": "custom", "start": "0001-01-02", "end": "0001-01-05"},
            "before OpenAI's API had any usage",
        ),
        ({"start": "0001-01-01", "end": "0001-01-01"}, "before OpenAI's API had any usage"),
        ({"range": "custom", "start": "1999-12-31", "end": "2025-03-01"}, "pick a start on or"),
        ({"range": "custom", "start": "9999-12-30", "end": "9999-12-31"}, "range is empty"),
        ({"range": "custom", "start": "2025-03-02", "end": "2025-03-01"}, "range is empty"),
        ({"range": "custom", "start": "0000-01-01", "end": "2025-03-01"}, "start is not a date"),
        ({"range": "custom", "start": "2025-02-30", "end": "2025-03-01"}, "start is not a date"),
        ({"range": "custom", "start": "2025-01-01", "end": "[x](https://e.vil)"}, "end is not a"),
        ({"range": "last_7_days", "start": "yesterday"}, "start is not a date"),
        ({"range": "forever"}, "its range is not one of the app's ranges"),
    ],
)
@pytest.mark.parametrize("page", [None, RAW_DATA_PAGE])
def test_link_dates__a_range_that_cannot_be_shown_is_a_notice(params, reason, page):
    at = _link(params, page)
    no_exceptions(at)
    notices = _notices(at)
    assert len(notices) == 1 and reason in notices[0], notices
    assert "https://e.vil" not in " ".join(notices).replace("https://e\\.vil", "")
    assert "Traceback" not in " ".join(markdown_texts(at))
    shown = at.session_state["range_preset"]
    assert shown != "custom" and PRESETS[shown].lower() in notices[0]
    assert at.metric or at.dataframe  # the page itself is drawn, on the range named
    at.run()  # the notice stays while that range is shown ...
    assert len(_notices(at)) == 1
    at.sidebar.selectbox(key="range_preset").select("last_90_days").run()
    no_exceptions(at)
    assert _notices(at) == []  # ... and goes once another range is picked


def test_link_dates__a_good_custom_range_is_used_without_a_notice():
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=20), today - timedelta(days=3)
    at = _link({"range": "custom", "start": start.isoformat(), "end": end.isoformat()})
    no_exceptions(at)
    assert _notices(at) == []
    assert at.session_state["range_custom"] == (start, end)
