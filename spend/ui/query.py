"""Mirror the view (date range, the zone its days are in, and filters, never a key) in the URL so a
shared link shows the same view."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import streamlit as st

from spend.analysis import BUCKETS
from spend.dates import DEFAULT_PRESET, PRESETS, parse_iso
from spend.errors import ConfigError
from spend.sources.base import check_range

#: Filter widget key -> query-string name (repeated for several values); the range travels as
#: ``range`` (a preset id) and, for a custom range, ``start`` and ``end``; UTC days chosen over the
#: deployment's zone as ``tz=utc`` (``DAYS_IN``).
LISTS = {
    "filter_providers": "provider",
    "filter_teams": "team",
    "filter_models": "model",
    "filter_users": "user",
    "filter_projects": "project",
    "filter_keys": "key",
}


#: Filter widget key -> (label, ``analysis.options`` key = ``filter_usage`` argument, placeholder).
FILTERS = {
    "filter_providers": ("Providers", "providers", "All providers"),  # drawn with several only
    "filter_teams": ("Teams", "teams", "All teams"),  # drawn when teams are configured
    "filter_models": ("Models", "models", "All models"),
    "filter_users": ("Users", "users", "All users"),
    "filter_projects": ("Projects", "projects", "All projects"),
    "filter_keys": ("API keys", "api_keys", "All API keys"),
}


#: The query-string name of what one bar of a chart over time sums (``bars=day``), written only
#: when it is not what the range suggests; the session state holding a link's until it is used.
BARS_PARAM = "bars"
URL_BARS = "_url_bars"

#: Session state (and the widget's key): whose days the view counts, "local" (the deployment's
#: zone, ``SPEND_TIMEZONE``) or "utc"; the URL carries ``tz=utc`` for the second.
DAYS_IN = "days_in"
DAYS_CHOICES = ("local", "utc")
TZ_PARAM = "tz"


def days_in() -> str:
    """Whose days this session shows: "local" or "utc" (a link's ``tz=utc`` before the widget is
    drawn)."""
    choice = st.session_state.get(DAYS_IN)
    if choice is None and not st.session_state.get("_seeded_from_url"):
        choice = "utc" if str(st.query_params.get(TZ_PARAM, "")).lower() == "utc" else None
    return choice if choice in DAYS_CHOICES else "local"


#: Session state: the notice about a link's range that was not used, and the range it was shown
#: with (it goes once the viewer picks another range).
NOTICE = "_url_notice"


def seed_state_from_url(today_in: Callable[[str], date]) -> None:
    """On a session's first run, copy the URL's view into widget state. A range that cannot be
    shown (not a date, before OpenAI's API, in the future, ending before it starts) is a notice
    at the top of the page, never a traceback, and the default range is shown instead.

    ``today_in``: "local" or "utc" into today's date in that zone (a link's range is checked
    against the today of the days it asks for)."""
    if st.session_state.get("_seeded_from_url"):
        _show_notice()
        return
    params = st.query_params
    st.session_state[DAYS_IN] = days_in()
    st.session_state["_seeded_from_url"] = True
    problems: list[str] = []
    preset = params.get("range")
    if preset in PRESETS:
        st.session_state["range_preset"] = preset
    elif preset is not None:
        problems.append("its range is not one of the app's ranges")
    texts = {"start": params.get("start"), "end": params.get("end")}
    start, end = parse_iso(texts["start"]), parse_iso(texts["end"])
    problems += [
        f"its {name} is not a date (YYYY-MM-DD)"
        for name, text in texts.items()
        if text and parse_iso(text) is None
    ]
    today = today_in(st.session_state[DAYS_IN])
    end = min(end, today) if end else end  # a link made "tomorrow" in another timezone still opens
    if start and end:
        try:
            check_range(start, end, today=today)
        except ConfigError as exc:
            problems.append(str(exc).rstrip("."))
        else:
            st.session_state["range_preset"] = "custom"
            st.session_state["range_custom"] = (start, end)
    if problems:
        if st.session_state.get("range_preset", "custom") == "custom" and "range_custom" not in (
            st.session_state
        ):
            st.session_state["range_preset"] = DEFAULT_PRESET
        st.session_state[NOTICE] = (
            f"This link's dates were not used ({'; '.join(problems)}): showing "
            f"{PRESETS[st.session_state['range_preset']].lower()} instead.",
            _range_state(),
        )
    for state_key, name in LISTS.items():
        values = params.get_all(name)
        if values:
            st.session_state[f"_url_{state_key}"] = values  # applied once options are known
    if params.get(BARS_PARAM) in BUCKETS:  # applied once the range says which radio it is
        st.session_state[URL_BARS] = params.get(BARS_PARAM)
    _show_notice()


def _range_state() -> tuple:
    return st.session_state.get("range_preset"), st.session_state.get("range_custom")


def _show_notice() -> None:
    """The notice about the link's range, until the viewer picks another range."""
    notice = st.session_state.get(NOTICE)
    if notice is None:
        return
    text, shown_with = notice
    if _range_state() != shown_with:
        del st.session_state[NOTICE]
        return
    st.warning(text, icon=":material/link_off:")  # our words and parsed dates: no link text


def url_selection(state_key: str, options: list[str]) -> list[str] | None:
    """The URL's filter values for a widget, limited to the options that exist; None when none
    came."""
    values = st.session_state.pop(f"_url_{state_key}", None)
    if values is None:
        return None
    return [v for v in values if v in options]


def url_bars() -> str | None:
    """The bucket a link's ``bars=`` asked for, once (None after, or when none came)."""
    return st.session_state.pop(URL_BARS, None)


def pending_filters() -> dict[str, list[str]]:
    """Filters a link brought that no run has applied yet (loading failed so far), to keep them in
    the URL."""
    return {key: st.session_state.get(f"_url_{key}", []) for key in LISTS}


def write_state_to_url(
    preset: str,
    start,
    end,
    filters: dict[str, list[str]],
    *,
    utc: bool = False,
    bars: str | None = None,
) -> None:
    """The current view into the query string (replacing what was there); ``utc``: the viewer
    chose UTC days over the deployment's zone (``tz=utc``); ``bars``: the bucket of the charts
    over time, when not the one the range suggests."""
    wanted: dict[str, str | list[str]] = {"range": preset}
    if preset == "custom":
        wanted["start"] = start.isoformat()
        wanted["end"] = end.isoformat()
    if utc:
        wanted[TZ_PARAM] = "utc"
    if bars:
        wanted[BARS_PARAM] = bars
    for state_key, name in LISTS.items():
        if filters.get(state_key):
            wanted[name] = list(filters[state_key])
    current = {
        k: (st.query_params.get_all(k) if k in LISTS.values() else st.query_params.get(k))
        for k in st.query_params
    }
    if current != wanted:
        st.query_params.from_dict(wanted)
