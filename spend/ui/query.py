"""Mirror the view (date range and filters, never a key) in the URL so a shared link shows the same
view."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from spend.dates import PRESETS, parse_iso

#: Filter widget key -> query-string name (repeated for several values); the range travels as
#: ``range`` (a preset id) and, for a custom range, ``start`` and ``end``.
LISTS = {
    "filter_models": "model",
    "filter_users": "user",
    "filter_projects": "project",
    "filter_keys": "key",
}


#: Filter widget key -> (label, ``analysis.options`` key = ``filter_usage`` argument, placeholder).
FILTERS = {
    "filter_models": ("Models", "models", "All models"),
    "filter_users": ("Users", "users", "All users"),
    "filter_projects": ("Projects", "projects", "All projects"),
    "filter_keys": ("API keys", "api_keys", "All API keys"),
}


def seed_state_from_url() -> None:
    """On a session's first run, copy the URL's view into widget state (bad values are ignored)."""
    if st.session_state.get("_seeded_from_url"):
        return
    st.session_state["_seeded_from_url"] = True
    params = st.query_params
    preset = params.get("range")
    if preset in PRESETS:
        st.session_state["range_preset"] = preset
    start, end = parse_iso(params.get("start")), parse_iso(params.get("end"))
    today = datetime.now(UTC).date()
    end = min(end, today) if end else end  # a link made "tomorrow" in another timezone still opens
    if start and end and start <= end:
        st.session_state["range_preset"] = "custom"
        st.session_state["range_custom"] = (start, end)
    for state_key, name in LISTS.items():
        values = params.get_all(name)
        if values:
            st.session_state[f"_url_{state_key}"] = values  # applied once options are known


def url_selection(state_key: str, options: list[str]) -> list[str] | None:
    """The URL's filter values for a widget, limited to the options that exist; None when none
    came."""
    values = st.session_state.pop(f"_url_{state_key}", None)
    if values is None:
        return None
    return [v for v in values if v in options]


def pending_filters() -> dict[str, list[str]]:
    """Filters a link brought that no run has applied yet (loading failed so far), to keep them in
    the URL."""
    return {key: st.session_state.get(f"_url_{key}", []) for key in LISTS}


def write_state_to_url(preset: str, start, end, filters: dict[str, list[str]]) -> None:
    """The current view into the query string (replacing what was there)."""
    wanted: dict[str, str | list[str]] = {"range": preset}
    if preset == "custom":
        wanted["start"] = start.isoformat()
        wanted["end"] = end.isoformat()
    for state_key, name in LISTS.items():
        if filters.get(state_key):
            wanted[name] = list(filters[state_key])
    current = {
        k: (st.query_params.get_all(k) if k in LISTS.values() else st.query_params.get(k))
        for k in st.query_params
    }
    if current != wanted:
        st.query_params.from_dict(wanted)
