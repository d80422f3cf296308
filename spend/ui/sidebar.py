"""The sidebar every page shares, composed of small parts: connection, date range (in the
deployment's zone, ``SPEND_TIMEZONE``, or UTC at the viewer's choice), fetch status, filters, and
the view they build.

Its widgets have explicit keys and are drawn by the frame on every run, so choices survive page
switches; the range and filters (never the key) are mirrored in the URL (``spend.ui.query``).
Buttons act through ``on_click`` callbacks (start, stop, refresh a fetch), so a click takes effect
before the rerun it causes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo

import pandas as pd
import streamlit as st

from spend import analysis, dates
from spend.config import Settings, key_kind
from spend.dates import (
    DEFAULT_PRESET,
    PRESETS,
    comparison,
    local_today,
    preset_range,
    zone_label,
)
from spend.errors import ApiConnectionError, SpendError, redact
from spend.formatting import escape_markdown, format_duration
from spend.jobs import REGISTRY
from spend.sources import SOURCES, selected
from spend.ui import auth, data, query
from spend.ui.settings import base_settings
from spend.ui.view import View, set_view, teamed

#: The Source choices: every configured source, or one by name (each source's own title).
SOURCE_LABELS = {
    "auto": "Automatic (every key that is set)",
    **{name: cls.title for name, cls in SOURCES.items()},
}
#: The last complete range shown, for a Custom range that is half picked or just chosen.
LAST_RANGE = "_last_range"
#: The last filter choices, outside widget state (Streamlit drops a widget's state on a run that
#: does not draw it, e.g. when loading failed), so an error never costs the user their selection.
KEPT_FILTERS = "_kept_filters"
FILTERS = query.FILTERS
#: While a fetch runs, the page itself is redrawn with the answers so far at most this often.
PAGE_REFRESH_SECONDS = 10.0


# --- connection --------------------------------------------------------------------------------


#: Session-state key of the field for a source's own key (``Source.key_setting``).
KEY_FIELD = "key_{}"


def _keyed_sources() -> list[type]:
    """The sources whose key the connection panel asks for, e.g. Anthropic's admin key."""
    return [cls for cls in SOURCES.values() if cls.key_setting and cls.key_label]


def typed_keys() -> dict[str, str]:
    """The keys typed in this session, by setting name, e.g. ``{"OPENAI_API_KEY": "sk-…"}``."""
    typed = {"OPENAI_API_KEY": str(st.session_state.get("api_key") or "").strip()}
    for cls in _keyed_sources():
        typed[cls.key_setting] = str(st.session_state.get(KEY_FIELD.format(cls.name)) or "").strip()
    return {name: text for name, text in typed.items() if text}


def with_typed_keys(base: Settings, typed: dict[str, str]) -> Settings:
    """The app's settings and the keys a viewer typed for other sources (``Source.key_setting``)
    into the session's settings, e.g. a typed Anthropic key -> ``values`` holding it.

    Once a viewer types a key, the session runs on the viewer's keys alone: the app's own keys
    (OpenAI's and every other ``*_KEY``) are left out, so a typed key never draws the app's
    organization into the viewer's view, nor fetches on the app's keys at the viewer's say-so.
    """
    if not typed:
        return base
    kept = [(name, text) for name, text in base.values if not name.endswith("KEY")]
    others = [(name, text) for name, text in typed.items() if name != "OPENAI_API_KEY"]
    return base.with_(api_key=typed.get("OPENAI_API_KEY"), values=tuple(sorted([*kept, *others])))


def connection(base: Settings) -> tuple[Settings, bool]:
    """Key, org id, source and mode widgets into the settings for this session and the per-user
    mode.

    The app's own key (secrets or env) is used only with the app's own org id: a visitor who wants
    another organization brings their own key. Viewers who may not see the connection settings
    get only the fields for keys of their own. Each source with a ``key_setting`` (Anthropic) has
    its own password field; a key typed in any field makes the session run on typed keys alone
    (``with_typed_keys``).
    """
    full = auth.can_see_connection()
    st.session_state.setdefault("org_id", (base.org_id or "") if full else "")
    st.session_state.setdefault("source_choice", base.source)
    title = "Connection" if full else "Your own key"
    configured = bool(base.api_key) or any(base.value(c.key_setting) for c in _keyed_sources())
    with st.expander(title, icon=":material/key:", expanded=not configured):
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
        for cls in _keyed_sources():
            st.text_input(
                cls.key_label,
                type="password",
                key=KEY_FIELD.format(cls.name),
                placeholder="configured by the app (leave empty)"
                if base.value(cls.key_setting)
                else "optional",
                help=f"For the {cls.title}. A key typed here lives only in this browser session; "
                "with a key of your own, the app's keys are not used in this session.",
            )
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
        own = typed_keys()
        if typed:
            settings = with_typed_keys(base, own).with_(org_id=org or None, source=choice)
        elif own:
            settings = with_typed_keys(base, own).with_(source=choice)
        else:
            if base.api_key and org and org != (base.org_id or ""):
                st.caption(
                    ":material/info: The app's key reads only its own organization; type your own "
                    "key to see another."
                )
            settings = base.with_(source=choice)
        per_user = False
        try:
            chosen = selected(settings)
        except SpendError:
            chosen = []  # loading says what is wrong
        if any(SOURCES[name].per_user_option for name in chosen):
            per_user = st.toggle(
                "Attribute usage to users",
                key="per_user",
                help="Per day, the org-wide answer plus one per member instead of one per day: "
                "the legacy endpoint's org-wide answer names no users. Usage no current member "
                "made (service accounts, removed users) shows as (no user). Needs many more "
                "requests at ~5 a minute.",
            )
    return settings, per_user


def source_badges(loaded: data.Loaded) -> None:
    """Which sources are active (and the OpenAI key's kind), each red when loading it failed."""
    settings = loaded.settings or Settings()
    for part in loaded.sources:
        cls = SOURCES.get(part.source_name)
        if cls is None:  # the choice itself is wrong: loading says why
            st.badge("Source · error", icon=":material/error:", color="red")
            continue
        kind = key_kind(settings.api_key) if cls.provider == "openai" else None
        badge = cls.label + (f" · {kind} key" if kind and not cls.fallback else "")
        if part.error is not None or part.result is None:
            st.badge(badge + " · error", icon=":material/error:", color="red")
        else:
            color = "orange" if cls.fallback else "green"
            st.badge(badge, icon=":material/database:", color=color)


# --- date range --------------------------------------------------------------------------------


def days_in(zone: tzinfo) -> tzinfo:
    """The deployment's zone into the zone this view's days are in: a choice between it and UTC
    (kept in the URL as ``tz=utc``); no choice when the deployment counts UTC days."""
    if zone_label(zone) == "UTC":
        return zone
    choice = st.radio(
        "Days in",
        query.DAYS_CHOICES,
        key=query.DAYS_IN,
        horizontal=True,
        format_func=lambda c: zone_label(zone) if c == "local" else "UTC",
        help="Every date, day and month on the pages counts in this zone: the team's own "
        "(SPEND_TIMEZONE), or UTC as the providers' dashboards count.",
    )
    return UTC if choice == "utc" else zone


def utc_days_only(name: str, settings: Settings) -> bool:
    """Whether a source answers per UTC day only, whatever the zone (the legacy endpoint): its
    ``day_zone`` is UTC though ``settings`` count another zone's days."""
    cls = SOURCES.get(name)
    return cls is not None and cls.day_zone(settings) == "UTC"


def utc_days_note(loaded: data.Loaded, zone: tzinfo, settings: Settings) -> str | None:
    """What the sidebar says when a source keeps UTC days in a view counted in another zone,
    e.g. the legacy endpoint's in America/Los_Angeles; None when every source counts the view's
    days."""
    if zone_label(zone) == "UTC":
        return None
    kept = [part for part in loaded.sources if utc_days_only(part.source_name, settings)]
    if not kept:
        return None
    names = ", ".join(escape_markdown(part.title) for part in kept)
    others = " (the other sources' are in " + zone_label(zone) + ")" if loaded.parts else ""
    return (
        f":material/schedule: {names} answers per UTC day only: its days stay UTC days{others}, "
        "each counted on the date it has in UTC."
    )


def date_range(today: date, zone: str = "UTC") -> tuple[str, date, date]:
    """Preset and custom-date widgets into (preset id, start, end); ``today`` and the dates are
    in ``zone`` (named beside them)."""
    st.session_state.setdefault("range_preset", DEFAULT_PRESET)
    preset = st.selectbox("Date range", list(PRESETS), key="range_preset", format_func=PRESETS.get)
    last = st.session_state.get(LAST_RANGE) or preset_range(DEFAULT_PRESET, today)
    if preset == "custom":
        st.session_state.setdefault("range_custom", last)  # Custom starts from the range on screen
        picked = st.session_state["range_custom"]
        if isinstance(picked, (tuple, list)) and picked and max(picked) > today:
            # days switched to a zone where today is earlier (UTC -> Los Angeles): end today
            st.session_state["range_custom"] = tuple(min(day, today) for day in picked)
        picked = st.date_input(
            f"From – to ({zone})", key="range_custom", max_value=today, format="YYYY-MM-DD"
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
    st.caption(f"{start:%b %d, %Y} – {end:%b %d, %Y} ({zone})")
    return preset, start, end


#: Session-state key of the "Bars per" radio: one per suggested bucket, so a range whose
#: suggestion differs starts from its own (90 days in weeks, 30 in days), while the viewer's pick
#: holds for every range with the same suggestion.
BARS_KEY = "time_bucket_{}"
BAR_WORDS = {"day": "Day", "week": "Week", "month": "Month"}


def bars(start: date, end: date, zone: str = "UTC") -> tuple[str, str]:
    """The "Bars per" radio into (the bucket every chart over time sums its days into, the one
    the range suggests): a day up to about two months, a week up to a year, a month beyond
    (``analysis.default_bucket``); a link's ``bars=`` is applied once."""
    suggested = analysis.default_bucket(start, end)
    key = BARS_KEY.format(suggested)
    from_url = query.url_bars()
    if from_url is not None:
        st.session_state[key] = from_url
    st.session_state.setdefault(key, suggested)
    chosen = st.radio(
        "Bars per",
        analysis.BUCKETS,
        format_func=BAR_WORDS.get,
        horizontal=True,
        key=key,
        help=f"What one bar of every bar chart over time sums, on every page (the billed "
        f"against estimated lines stay per day). Weeks start on Monday ({zone}); a first or last "
        "week or month cut by the range holds only its days in the range, and its tooltip says "
        "how many.",
    )
    return chosen or suggested, suggested


# --- fetch status ------------------------------------------------------------------------------


def fetch_statuses(loaded: data.Loaded, *, controls: bool) -> None:
    """Each source's fetch status; named by its source when there are several."""
    for part in loaded.sources:
        if loaded.parts:
            st.caption(f"**{escape_markdown(part.title)}**")
            if part.error is not None:
                st.caption(":material/error: not shown: see the message on the page")
                continue
        fetch_status(part, controls=controls, suffix=f"-{part.source_name}" if loaded.parts else "")


def fetch_status(loaded: data.Loaded, *, controls: bool, suffix: str = "") -> None:
    """The fetch plan, its live progress, and (with ``controls``) Fetch and Refresh buttons;
    ``suffix`` keeps each source's buttons apart when there are several."""
    plan, job = loaded.plan, loaded.job
    if plan is None:
        return
    stored = plan.total - plan.missing
    partial = loaded.result is not None and loaded.result.partial
    if job is not None and (job.running or (partial and job.error is None and not job.stopped)):
        # also when the job ended after this run read the cache: the fragment reruns once
        _progress(loaded.job_key, controls, loaded.long_fetch, suffix)
    elif plan.missing:
        eta = format_duration(plan.eta_seconds)
        st.caption(
            f"{plan.missing} of {plan.total} requests still to fetch, about {eta} at "
            f"{plan.rate_per_min:g}/min."
            + (f" Then {plan.undecided}." if plan.undecided else "")
            + (" The wait includes a 429 pause left by an earlier fetch." if plan.paused else "")
        )
        if loaded.read_only:
            st.caption(":material/lock: The cache folder is read-only: nothing is fetched into it.")
        elif loaded.awaiting_confirmation and loaded.may_start:
            st.button(
                f"Fetch {plan.missing} requests (~{eta})",
                key="confirm_fetch" + suffix,
                icon=":material/download:",
                type="primary",
                on_click=data.start_fetch,
                args=(loaded,),
            )
        elif loaded.awaiting_confirmation and controls:
            st.caption(
                ":material/lock: A fetch this long on the app's own key needs an admin signed in "
                "(sign-in configured) or `SPEND_ALLOW_LONG_FETCH=true` in the app's settings; or "
                "type a key of your own above."
            )
    else:
        st.caption(f":material/check_circle: All {stored} answers for this range are stored.")
        if controls and not loaded.read_only:
            st.button(
                "Refresh recent days",
                key="refresh" + suffix,
                icon=":material/refresh:",
                help="Fetch again the days that are not final yet (the last 48 hours).",
                on_click=data.refresh,
                args=(loaded,),
            )


@st.fragment(run_every=2)
def _progress(key: tuple | None, controls: bool, long_fetch: bool, suffix: str = "") -> None:
    """Live progress of the background fetch, and its Stop button for who may start it; redraws
    the page as answers arrive and once it ends.

    Stop ends the fetch for everyone watching it: a short one (it starts by itself, held to the
    auto-start bound) may be stopped by anyone with ``controls``, a long one only with the say-so
    (``long_fetch``). Judged on each redraw, on the job running now.
    """
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
            f":material/hourglass_top: waiting {state.waiting_seconds:.0f} s for the API's rate "
            "limit"
        )
    if controls and (job.bounded or long_fetch):
        st.button(
            "Stop", key="stop_fetch" + suffix, icon=":material/stop_circle:", on_click=job.stop
        )


# --- filters -----------------------------------------------------------------------------------


#: Filter widget key -> the ``analysis.filter_usage`` argument it sets (the name its options
#: have in ``analysis.options``).
FILTER_ARGS = {key: kind for key, (_, kind, _) in FILTERS.items()}


@st.cache_data(max_entries=32, show_spinner=False)
def _options(token: tuple, others: tuple, _frame: pd.DataFrame) -> dict[str, list[tuple[str, str]]]:
    """The choices each filter offers, given what the other filters hold (``others``)."""
    chosen = {FILTER_ARGS[key]: list(values) for key, values in others if values}
    return analysis.options(analysis.filter_usage(_frame, **chosen) if chosen else _frame)


#: Session state: filter -> how many times the app has taken a choice away from its widget (a
#: choice another filter or the range rules out); part of the widget's key (``widget_key``).
RENEWED = "_filter_renewed"

#: The filters' popover (its key: a stable element whose open state survives the label's change).
FILTER_BOX = "filters_box"


def widget_key(state_key: str) -> str:
    """The key of a filter's multiselect now: ``filter_models``, then ``filter_models.1``, ``.2``
    ... each time the app takes a choice away from it.

    The multiselects are in a popover, and a closed popover's widgets are not in the page: the
    browser keeps the value it last saw and sends it back on every run, whatever the app set. A
    widget under a new key starts from the app's value, and the browser forgets the old one."""
    renewed = st.session_state.get(RENEWED, {}).get(state_key, 0)
    return f"{state_key}.{renewed}" if renewed else state_key


def _current(state_key: str, valid: set[str]) -> list[str]:
    """A filter's selection before its widget is drawn: from the link, the widget, or the last
    run's choice (kept also through a failed run, which draws no widget); limited to ``valid``."""
    from_url = query.url_selection(state_key, sorted(valid))
    key = widget_key(state_key)
    if from_url is not None:
        values = from_url
    elif key in st.session_state:
        values = st.session_state[key]
    else:  # the widget was not drawn on the last run: bring its choice back
        values = st.session_state.get(KEPT_FILTERS, {}).get(state_key) or []
    return [v for v in values if v in valid]


def _renew(state_key: str) -> str:
    """Give a filter's widget a new key (``widget_key``), so a value the browser kept for the old
    one is ignored; the new key."""
    renewed = dict(st.session_state.get(RENEWED, {}))
    renewed[state_key] = renewed.get(state_key, 0) + 1
    st.session_state[RENEWED] = renewed
    return widget_key(state_key)


def _set_widget(state_key: str, values: list[str]) -> str:
    """Give a filter's widget the app's selection, under a new key when the widget holds something
    else (``widget_key``); its key.

    The value is written on every run, also when unchanged: the widget then carries it to the
    browser, which takes it when the popover is opened (a widget drawn without it would start
    empty there and send that back)."""
    key = widget_key(state_key)
    held = st.session_state.get(key)
    if held is not None and list(held) != values:
        key = _renew(state_key)
    st.session_state[key] = values
    return key


def _hide_widget(state_key: str) -> None:
    """A filter with nothing to choose this run: its widget is not drawn and its choice is
    dropped; renewed if it held one, so no copy (the browser's, or the server's after a run that
    ended in ``st.stop``) brings it back when the filter returns."""
    key = widget_key(state_key)
    if st.session_state.get(key):
        _renew(state_key)
    if key in st.session_state:
        del st.session_state[key]


def filters_label(active: int) -> str:
    """How many filters hold a choice into the filters button's label, e.g. ``2 -> "Filters · 2
    active"``, ``0 -> "Filters"``."""
    return f"Filters · {active} active" if active else "Filters"


def filters(frame: pd.DataFrame, token: tuple) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The filter multiselects (only those with something to choose) into the selected ids per
    filter and the names of every id offered; ``token`` names the table (it changes with it).

    Filters narrow each other: each offers only what the others' choices leave (a project's keys
    and users), and a choice the others rule out is dropped.

    The multiselects are in a popover, drawn in the browser only while it is open: five of them,
    the users' with hundreds of options, cost 10-30 ms of the browser's main thread on every page
    switch when drawn in the sidebar. The button says how many filters are on, and every page says
    which at its top (``view.active_filters``).
    """
    everything = _options(token, (), frame)
    selected = {
        key: _current(key, {i for i, _ in everything.get(kind, [])})
        for key, (_, kind, _) in FILTERS.items()
    }
    names: dict[str, str] = {}
    drawn = []
    for state_key, (label, kind, placeholder) in FILTERS.items():
        # Only the filters that hold something: with none chosen, every filter's options are the
        # first call's (one computation, not five).
        others = tuple((k, tuple(v)) for k, v in selected.items() if k != state_key and v)
        pairs = _options(token, others, frame).get(kind, [])
        ids = [i for i, _ in pairs]
        names.update(pairs)
        selected[state_key] = [v for v in selected[state_key] if v in ids]
        if (kind in ("projects", "api_keys", "teams") and not ids) or (
            kind == "providers" and len(ids) < 2
        ):
            selected[state_key] = []  # nothing to choose (one provider: no provider filter)
            _hide_widget(state_key)
            continue
        drawn.append((state_key, label, ids, dict(pairs), placeholder))
    if not drawn:
        return selected, names
    active = sum(1 for state_key, *_ in drawn if selected[state_key])
    with st.popover(
        filters_label(active),
        key=FILTER_BOX,
        icon=":material/filter_alt:",
        width="stretch",
        help="Show part of the organization on every page: some models, users, projects or keys",
    ):
        for state_key, label, ids, offered, placeholder in drawn:
            # it returns the choice set above: the other filters' options were computed from it
            selected[state_key] = st.multiselect(
                label,
                ids,
                key=_set_widget(state_key, selected[state_key]),
                format_func=lambda i, n=offered: n.get(i, i),
                placeholder=placeholder,
            )
    return selected, names


# --- the view ----------------------------------------------------------------------------------


def build_view(
    loaded: data.Loaded,
    preset: str,
    start: date,
    end: date,
    chosen: dict[str, list[str]],
    *,
    today: date,
    names: dict[str, str] | None = None,
    now: datetime | None = None,
    zone: tzinfo = UTC,
    bucket: str = "day",
) -> View:
    """The loaded table, the range and the chosen filters into the View every page reads;
    ``today`` is the date in ``zone`` at ``now``; ``bucket``: what one bar of a chart over time
    sums (``bars``)."""
    full = loaded.result.frame
    compared = comparison(preset, start, end, today)
    loaded_from = load_start(compared, start)
    chosen_key = tuple((key, tuple(ids)) for key, ids in sorted(chosen.items()))
    table = (*loaded.token, zone_label(zone))  # the same source in two zones: two tables
    history = window(table, loaded_from, end, chosen_key, _frame=full)
    frame = window(table, start, end, chosen_key, _frame=full)
    return View(
        loaded=loaded,
        preset=preset,
        start=start,
        end=end,
        comparison=compared,
        loaded_from=loaded_from,
        filters=chosen,
        filter_names=names or {},
        frame=frame,
        history=history,
        full=full,
        now=now if now is not None else dates.utc_now(),
        zone=zone,
        bucket=bucket,
    )


@st.cache_resource(max_entries=16, show_spinner=False)
def window(
    token: tuple, start: date, end: date, chosen: tuple, *, _frame: pd.DataFrame
) -> pd.DataFrame:
    """The shared table cut to a range and filters, once for every session that shows it (a
    read-only frame, like the table it comes from)."""
    kw = {FILTER_ARGS[key]: list(ids) for key, ids in chosen}
    return data.freeze(analysis.filter_usage(_frame, start=start, end=end, **kw))


def load_start(compared, start: date) -> date:
    """A comparison and the range's first day into the first day to load, e.g. month to date from
    Dec 1 with Nov 1–14 compared -> Nov 1."""
    return min(start, compared.first_day or start)


def today_in(zone: tzinfo, now: datetime) -> date:
    """Today's date in ``zone`` at ``now`` (the app's clock, ``dates.utc_now``)."""
    return local_today(zone, now)


def render() -> View | None:
    """Draw the sidebar, load the data it selects, publish the View; None when loading failed
    (the message is shown)."""
    now = dates.utc_now()  # the app's clock (an AppTest sets it)
    try:
        base = base_settings()
    except SpendError as exc:  # e.g. an unknown SPEND_TIMEZONE: one line naming the setting
        set_view(None)
        st.error(escape_markdown(str(exc)), icon=":material/error:")
        return None
    local = base.zone
    query.seed_state_from_url(lambda days: today_in(UTC if days == "utc" else local, now))
    with st.sidebar:
        settings, per_user = connection(base)
        badge_slot = st.empty()  # drawn once loading tells whether the source works
        zone = days_in(local)
        utc_view = zone is not local
        if utc_view:  # the viewer's choice: the same sources, their UTC days
            settings = settings.with_(timezone="UTC")
        today = today_in(zone, now)
        preset, start, end = date_range(today, zone_label(zone))
        bucket, suggested = bars(start, end, zone_label(zone))
        shown_bars = None if bucket == suggested else bucket  # in the link when not the default
        prev_start = load_start(comparison(preset, start, end, today), start)
        own_key = bool(typed_keys())
        controls = own_key or auth.can_control_fetches()
        loaded = data.load(settings, prev_start, end, per_user=per_user, may_fetch=controls)
        long_fetch = auth.may_start_long_fetch(
            own_key=own_key, allow_long_fetch=settings.allow_long_fetch
        )
        for part in {id(p): p for p in (loaded, *loaded.sources)}.values():
            part.long_fetch = long_fetch
        failed = loaded.error is not None or loaded.result is None
        loaded = loaded if failed else teamed(loaded)  # the team column, with teams configured
        with badge_slot.container():  # one badge per source (an empty slot holds one)
            source_badges(loaded)
        note = utc_days_note(loaded, zone, settings)
        if note:
            st.caption(note)
        if failed:
            kept = st.session_state.get(KEPT_FILTERS) or query.pending_filters()
            query.write_state_to_url(preset, start, end, kept, utc=utc_view, bars=shown_bars)
        else:
            fetch_statuses(loaded, controls=controls)
            st.divider()
            chosen, names = filters(loaded.result.frame, loaded.token)
            st.session_state[KEPT_FILTERS] = chosen
            query.write_state_to_url(preset, start, end, chosen, utc=utc_view, bars=shown_bars)
    if failed:
        set_view(None)
        _show_error(loaded, secrets=settings.secrets, own_key=own_key)
        return None
    view = build_view(
        loaded,
        preset,
        start,
        end,
        chosen,
        today=today,
        names=names,
        now=now,
        zone=zone,
        bucket=bucket,
    )
    set_view(view)
    return view


#: An unreachable API, told to someone who typed a key in the sidebar: what they can check
#: (the API address is the deployment's setting, which they cannot change).
UNREACHABLE_OWN_KEY = (
    "Could not reach the API with the key you typed ({kind}). Check your internet connection "
    "and the provider's status page (status.openai.com, status.anthropic.com), then reload the "
    "page. If it keeps failing while the provider is up, whoever runs this app should check its "
    "network and API address."
)


def _show_error(
    loaded: data.Loaded, *, secrets: tuple[str | None, ...] = (), own_key: bool = False
) -> None:
    """The loading error, its secrets cut and its text (which may quote OpenAI) never Markdown.

    ``own_key``: the key was typed in the sidebar, so an unreachable API says what its typer can
    check, not a setting only the deployment can change."""
    exc = loaded.error
    if exc is None:
        st.warning("No data yet.")
        return
    if own_key and isinstance(exc, ApiConnectionError):
        cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else "no answer"
        st.error(UNREACHABLE_OWN_KEY.format(kind=cause), icon=":material/wifi_off:")
        return
    st.error(escape_markdown(redact(str(exc), secrets)), icon=":material/error:")
