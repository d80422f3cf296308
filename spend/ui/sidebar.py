"""The sidebar every page shares, composed of small parts: connection, date range, fetch status,
filters, and the view they build.

Its widgets have explicit keys and are drawn by the frame on every run, so choices survive page
switches; the range and filters (never the key) are mirrored in the URL (``spend.ui.query``).
Buttons act through ``on_click`` callbacks (start, stop, refresh a fetch), so a click takes effect
before the rerun it causes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import streamlit as st

from spend import analysis
from spend.config import Settings, key_kind
from spend.dates import DEFAULT_PRESET, PRESETS, preset_range, previous_period
from spend.formatting import format_duration
from spend.jobs import REGISTRY
from spend.ui import auth, data, query
from spend.ui.settings import base_settings
from spend.ui.view import View, set_view

SOURCE_LABELS = {
    "auto": "Automatic (from the key)",
    "admin": "Admin API (sk-admin- key)",
    "legacy": "Legacy usage API (key + org id)",
    "demo": "Demo data",
}
ACTIVE_LABELS = {
    "demo": "Demo data",
    "legacy": "Legacy usage API",
    "admin": "Admin Usage & Costs API",
}
#: The last complete range shown, for a Custom range that is half picked or just chosen.
LAST_RANGE = "_last_range"
#: The last filter choices, outside widget state (Streamlit drops a widget's state on a run that
#: does not draw it, e.g. when loading failed), so an error never costs the user their selection.
KEPT_FILTERS = "_kept_filters"
FILTERS = {  # widget key -> (label, analysis.options key, placeholder)
    "filter_models": ("Models", "models", "All models"),
    "filter_users": ("Users", "users", "All users"),
    "filter_projects": ("Projects", "projects", "All projects"),
    "filter_keys": ("API keys", "api_keys", "All API keys"),
}
#: While a fetch runs, the page itself is redrawn with the answers so far at most this often.
PAGE_REFRESH_SECONDS = 10.0


# --- connection --------------------------------------------------------------------------------


def connection(base: Settings) -> tuple[Settings, bool]:
    """Key, org id, source and mode widgets into the settings for this session and the per-user
    mode.

    The app's own key (secrets or env) is used only with the app's own org id: a visitor who wants
    another organization brings their own key. Viewers who may not see the connection settings
    get only the field for a key of their own.
    """
    full = auth.can_see_connection()
    st.session_state.setdefault("org_id", (base.org_id or "") if full else "")
    st.session_state.setdefault("source_choice", base.source)
    title = "Connection" if full else "Your own key"
    with st.expander(title, icon=":material/key:", expanded=not base.api_key):
        typed = st.text_input(
            "API key or admin key",
            type="password",
            key="api_key",
            placeholder="configured by the app (leave empty)"
            if base.api_key
            else "sk-… (leave empty for demo data)",
            help="An admin key (sk-admin-…) reads the official Usage and Costs APIs; a normal key "
            "plus an org id reads the legacy usage endpoint. A key typed here lives only in this "
            "browser session.",
        ).strip()
        org = st.text_input(
            "Organization id",
            key="org_id",
            placeholder="org-…",
            help="Needed with a normal key: platform.openai.com/settings/organization/general",
        ).strip()
        if full:
            choice = st.selectbox(
                "Source", list(SOURCE_LABELS), key="source_choice", format_func=SOURCE_LABELS.get
            )
        else:
            choice = base.source
        if typed:
            settings = base.with_(api_key=typed, org_id=org or None, source=choice)
        else:
            if base.api_key and org and org != (base.org_id or ""):
                st.caption(
                    ":material/info: The app's key reads only its own organization; type your own "
                    "key to see another."
                )
            settings = base.with_(source=choice)
        per_user = False
        if settings.resolved_source == "legacy":
            per_user = st.toggle(
                "Attribute usage to users",
                key="per_user",
                help="Per day, the org-wide answer plus one per member instead of one per day: "
                "the legacy endpoint's org-wide answer names no users. Usage no current member "
                "made (service accounts, removed users) shows as (no user). Needs many more "
                "requests at ~5 a minute.",
            )
    return settings, per_user


def source_badge(settings: Settings, *, failed: bool) -> None:
    """Which source is active (and its key kind), red when loading it failed."""
    active = settings.resolved_source
    kind = key_kind(settings.api_key)
    badge = ACTIVE_LABELS[active] + (f" · {kind} key" if kind and active != "demo" else "")
    if failed:
        st.badge(badge + " · error", icon=":material/error:", color="red")
    else:
        color = "orange" if active == "demo" else "green"
        st.badge(badge, icon=":material/database:", color=color)


# --- date range --------------------------------------------------------------------------------


def date_range(today: date) -> tuple[str, date, date]:
    """Preset and custom-date widgets into (preset id, start, end)."""
    st.session_state.setdefault("range_preset", DEFAULT_PRESET)
    preset = st.selectbox("Date range", list(PRESETS), key="range_preset", format_func=PRESETS.get)
    last = st.session_state.get(LAST_RANGE) or preset_range(DEFAULT_PRESET, today)
    if preset == "custom":
        st.session_state.setdefault("range_custom", last)  # Custom starts from the range on screen
        picked = st.date_input(
            "From – to (UTC)", key="range_custom", max_value=today, format="YYYY-MM-DD"
        )
        if isinstance(picked, (tuple, list)) and len(picked) == 2:
            st.session_state[LAST_RANGE] = (picked[0], picked[1])
            return preset, picked[0], picked[1]
        # Half picked: keep showing the last complete range (never load a range nobody chose).
        st.caption(
            f"Pick the last day of the range. Showing {last[0]:%b %d} – {last[1]:%b %d} meanwhile."
        )
        return preset, last[0], last[1]
    start, end = preset_range(preset, today)
    st.session_state[LAST_RANGE] = (start, end)
    st.caption(f"{start:%b %d, %Y} – {end:%b %d, %Y} (UTC)")
    return preset, start, end


# --- fetch status ------------------------------------------------------------------------------


def fetch_status(loaded: data.Loaded, *, controls: bool) -> None:
    """The fetch plan, its live progress, and (with ``controls``) Fetch and Refresh buttons."""
    plan, job = loaded.plan, loaded.job
    if plan is None:
        return
    stored = plan.total - plan.missing
    partial = loaded.result is not None and loaded.result.partial
    if job is not None and (job.running or (partial and job.error is None and not job.stopped)):
        # also when the job ended after this run read the cache: the fragment reruns once
        _progress(loaded.job_key, controls)
    elif plan.missing:
        eta = format_duration(plan.eta_seconds)
        st.caption(
            f"{plan.missing} of {plan.total} requests still to fetch, about {eta} at "
            f"{plan.rate_per_min:g}/min."
        )
        if loaded.awaiting_confirmation and controls:
            st.button(
                f"Fetch {plan.missing} requests (~{eta})",
                key="confirm_fetch",
                icon=":material/download:",
                type="primary",
                on_click=data.start_fetch,
                args=(loaded,),
            )
    else:
        st.caption(f":material/check_circle: All {stored} answers for this range are stored.")
        if controls:
            st.button(
                "Refresh recent days",
                key="refresh",
                icon=":material/refresh:",
                help="Fetch again the days that are not final yet (the last 48 hours).",
                on_click=data.refresh,
                args=(loaded,),
            )


@st.fragment(run_every=2)
def _progress(key: tuple | None, controls: bool) -> None:
    """Live progress of the background fetch; redraws the page as answers arrive and once it
    ends."""
    job = REGISTRY.get(key) if key else None
    if job is None:
        return
    state = job.progress
    now = datetime.now(UTC).timestamp()
    if not job.running:
        if st.session_state.get("_shown_job") != job.serial:
            st.session_state["_shown_job"] = job.serial
            st.rerun()
        return
    drawn = st.session_state.setdefault("_drawn_progress", (job.serial, state.done, now))
    if drawn[0] != job.serial:
        drawn = st.session_state["_drawn_progress"] = (job.serial, state.done, now)
    if state.done > drawn[1] and now - drawn[2] >= PAGE_REFRESH_SECONDS:
        st.session_state["_drawn_progress"] = (job.serial, state.done, now)
        st.rerun()  # the whole app: the page shows the new answers
    state.now = now
    total = job.plan.total
    stored = total - (state.planned - state.done)  # the page banner's measure: answers stored
    if job.stopped:
        st.caption(":material/stop_circle: Stopping…")
        return
    eta = format_duration(state.eta_seconds)
    st.progress(
        stored / total if total else 1.0, text=f"Fetching: {stored} of {total} answers · ETA {eta}"
    )
    if state.waiting_seconds > 0:
        st.caption(
            f":material/hourglass_top: waiting {state.waiting_seconds:.0f} s for OpenAI's rate "
            "limit"
        )
    if controls:
        st.button("Stop", key="stop_fetch", icon=":material/stop_circle:", on_click=job.stop)


# --- filters -----------------------------------------------------------------------------------


@st.cache_data(max_entries=8, show_spinner=False)
def _options(token: tuple, _frame: pd.DataFrame) -> dict[str, list[tuple[str, str]]]:
    return analysis.options(_frame)


def filters(frame: pd.DataFrame, token: tuple) -> dict[str, list[str]]:
    """The filter multiselects (only those with something to choose) into selected ids per
    filter; ``token`` names the table the options come from (it changes when the table does)."""
    choices = _options(token, frame)
    selected: dict[str, list[str]] = {}
    for state_key, (label, kind, placeholder) in FILTERS.items():
        pairs = choices.get(kind, [])
        ids = [i for i, _ in pairs]
        names = dict(pairs)
        from_url = query.url_selection(state_key, ids)
        kept = st.session_state.get(KEPT_FILTERS, {}).get(state_key)
        if from_url is not None:
            st.session_state[state_key] = from_url
        elif state_key in st.session_state:
            st.session_state[state_key] = [v for v in st.session_state[state_key] if v in names]
        elif kept:  # the widget was not drawn on a run that failed: bring its choice back
            st.session_state[state_key] = [v for v in kept if v in names]
        if kind in ("projects", "api_keys") and not ids:
            selected[state_key] = []
            continue
        selected[state_key] = st.multiselect(
            label,
            ids,
            key=state_key,
            format_func=lambda i, n=names: n.get(i, i),
            placeholder=placeholder,
        )
    return selected


# --- the view ----------------------------------------------------------------------------------


def build_view(loaded: data.Loaded, start: date, end: date, chosen: dict[str, list[str]]) -> View:
    """The loaded table, the range and the chosen filters into the View every page reads."""
    full = loaded.result.frame
    prev_start, prev_end = previous_period(start, end)
    history = analysis.filter_usage(
        full,
        start=prev_start,
        end=end,
        models=chosen["filter_models"],
        users=chosen["filter_users"],
        projects=chosen["filter_projects"],
        api_keys=chosen["filter_keys"],
    )
    return View(
        loaded=loaded,
        start=start,
        end=end,
        previous_start=prev_start,
        previous_end=prev_end,
        filters=chosen,
        frame=analysis.filter_usage(history, start=start, end=end),
        history=history,
        full=full,
        now=datetime.now(UTC),
    )


def render() -> View | None:
    """Draw the sidebar, load the data it selects, publish the View; None when loading failed
    (the message is shown)."""
    query.seed_state_from_url()
    today = data.utc_today()
    with st.sidebar:
        settings, per_user = connection(base_settings())
        badge_slot = st.empty()  # drawn once loading tells whether the source works
        preset, start, end = date_range(today)
        prev_start, _ = previous_period(start, end)
        own_key = bool(st.session_state.get("api_key", "").strip())
        controls = own_key or auth.can_control_fetches()
        loaded = data.load(settings, prev_start, end, per_user=per_user, may_fetch=controls)
        failed = loaded.error is not None or loaded.result is None
        with badge_slot:
            source_badge(settings, failed=failed)
        if failed:
            kept = st.session_state.get(KEPT_FILTERS) or query.pending_filters()
            query.write_state_to_url(preset, start, end, kept)
        else:
            data.release_garbage(len(loaded.result.frame))
            fetch_status(loaded, controls=controls)
            st.divider()
            token = (
                settings.resolved_source,
                settings.fingerprint,
                per_user,
                prev_start,
                end,
                loaded.generation,
            )
            chosen = filters(loaded.result.frame, token)
            st.session_state[KEPT_FILTERS] = chosen
            query.write_state_to_url(preset, start, end, chosen)
    if failed:
        set_view(None)
        _show_error(loaded)
        return None
    view = build_view(loaded, start, end, chosen)
    set_view(view)
    return view


def _show_error(loaded: data.Loaded) -> None:
    exc = loaded.error
    if exc is None:
        st.warning("No data yet.")
        return
    st.error(str(exc), icon=":material/error:")
