"""The view every page reads: the loaded table cut to the sidebar's range and filters."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import pandas as pd
import streamlit as st

from spend import analysis
from spend.config import Settings
from spend.dates import Comparison, local_today, wall_clock, zone_label
from spend.errors import ConfigError
from spend.formatting import escape_markdown
from spend.sources import SOURCES
from spend.teams import Teams, load_teams, teams_path, with_teams
from spend.ui.data import Loaded, freeze
from spend.ui.query import FILTERS
from spend.ui.settings import read_secrets

STATE_KEY = "_spend_view"


@dataclass
class View:
    """What the frame hands to the page it runs."""

    loaded: Loaded
    preset: str
    start: date
    end: date
    comparison: Comparison  # complete days against as many of the same weekdays; today apart
    loaded_from: date  # the first day loaded: the range and what it is compared with
    filters: dict[str, list[str]]  # filter widget key -> the ids chosen
    filter_names: dict[str, str]  # id -> the name the filters show for it
    frame: pd.DataFrame  # filtered rows in [start, end]
    history: pd.DataFrame  # filtered rows in [loaded_from, end], for period comparisons
    full: pd.DataFrame  # every loaded row, unfiltered (sidebar options, freshness)
    now: datetime  # the instant the view was built (tz-aware)
    #: the zone the view's dates are in: the deployment's (``SPEND_TIMEZONE``), or UTC when the
    #: viewer chose UTC days
    zone: tzinfo = UTC
    #: what one bar of a chart over time sums: "day", "week" or "month" (the sidebar's "Bars per")
    bucket: str = "day"

    @property
    def token(self) -> tuple:
        """Names what this view shows (table, range, filters, zone): equal tokens, equal figures."""
        chosen = tuple((key, tuple(ids)) for key, ids in sorted(self.filters.items()))
        return (self.loaded.token, self.start, self.end, self.loaded_from, chosen, self.zone_name)

    @property
    def zone_name(self) -> str:
        """The zone the figures are in, as the pages name it, e.g. "America/Los_Angeles", "UTC"."""
        return zone_label(self.zone)

    @property
    def today(self) -> date:
        """Today's date in the view's zone (it may differ from UTC's)."""
        return local_today(self.zone, self.now)

    @property
    def wall_now(self) -> datetime:
        """The view's instant as naive local time in its zone, for functions that count naive days
        (the usage table's dates), e.g. ``analysis.freshness``."""
        return wall_clock(self.zone, self.now)

    @property
    def source(self) -> str:
        return self.loaded.source_name

    @property
    def partial(self) -> bool:
        return bool(self.loaded.result is not None and self.loaded.result.partial)

    @property
    def previous_complete(self) -> bool:
        """Whether the previous period is loaded and the data reaches back into its start.

        A comparison against part of a period (still fetching, or an organization whose data begins
        halfway through it) would show a growth that is not there, so then no delta is shown.
        """
        previous = self.comparison.previous
        if previous is None or self.partial or self.full.empty:
            return False
        length = (previous[1] - previous[0]).days + 1
        first = self.full["date"].min().date()
        return first <= previous[0] + timedelta(days=max(1, length // 10))


def set_view(view: View) -> None:
    st.session_state[STATE_KEY] = view


def get_view() -> View:
    """The view the frame built in this run (pages call this first)."""
    view = st.session_state.get(STATE_KEY)
    if view is None:
        st.error("Open this page through the app (streamlit run streamlit_app.py), not on its own.")
        st.stop()
    return view


JUST_BEGUN = (
    "The month has just begun: no usage is recorded for today yet. Figures and comparisons fill "
    "in as the day goes on; pick *Last month* to see the month that ended."
)
NO_USAGE_TODAY = (
    "No usage recorded for today yet ({zone}). Pick a longer range to see earlier days."
)
NO_ROWS = "No usage in this range with these filters. Widen the date range or clear the filters."


def open_page(title: str, *, require_rows: bool = True) -> View:
    """A page's opening: the view, its title, the banners; stops with a note when there is nothing
    to show."""
    view = get_view()
    st.title(title)
    notices(view)
    active_filters(view)
    if require_rows and view.frame.empty:
        if view.partial:  # while answers are missing, the banner above says why there is nothing
            pass
        elif view.comparison.current is None and view.preset == "month_to_date":
            st.info(JUST_BEGUN, icon=":material/calendar_today:")
        elif view.comparison.current is None:
            st.info(NO_USAGE_TODAY.format(zone=view.zone_name), icon=":material/today:")
        else:
            st.info(NO_ROWS, icon=":material/search_off:")
        st.stop()
    return view


def filter_line(view: View) -> str | None:
    """The active filters into one Markdown line, names escaped, e.g. ``"Filtered: Projects:
    Prod · Models: gpt\\-4o"``; None when nothing is filtered (the whole organization)."""
    parts = []
    for key, (title, _, _) in FILTERS.items():
        ids = view.filters.get(key) or []
        if ids:
            names = ", ".join(escape_markdown(view.filter_names.get(i, i)) for i in ids)
            parts.append(f"**{title}:** {names}")
    return ":material/filter_alt: Filtered · " + " · ".join(parts) if parts else None


def active_filters(view: View) -> None:
    """Say at the top of the page when it shows part of the organization (the sidebar may be
    closed, e.g. on a phone)."""
    line = filter_line(view)
    if line:
        st.caption(line)


def notices(view: View) -> None:
    """Banners above every page: demo data, partial data, empty answers."""
    result = view.loaded.result
    fallback = SOURCES.get(view.source)
    if fallback is not None and fallback.fallback:  # the demo: no key is set
        st.info(
            "**Demo data**: a synthetic organization, so you can try every page. Enter an API key "
            "and org id "
            "(or an admin key) under the key icon in the sidebar to see your own.",
            icon=":material/science:",
        )
    if view.partial:
        st.warning(partial_banner(view.loaded), icon=":material/downloading:")
    problem = configured_teams(view.loaded.settings)[1]
    if problem:  # a broken teams file is used not at all, and says so
        st.warning(f"**Teams not applied**: {escape_markdown(problem)}", icon=":material/groups:")
    if result is not None:
        for note in result.notices:  # they quote the API (currencies, names): text, not Markdown
            st.warning(escape_markdown(note), icon=":material/info:")


def partial_banner(loaded: Loaded) -> str:
    """What the page says while answers are missing: fetching, waiting for a click, or stopped;
    with several sources, what each says (those with something missing or failed)."""
    if loaded.parts:
        lines = []
        for part in loaded.parts:  # a failed source is a notice of its own (``data.load``)
            if part.result is not None and part.result.partial:
                lines.append(f"{part.title}: {partial_banner(part)}")
        return "\n\n".join(lines) or "**Partial data**."
    plan, job = loaded.plan, loaded.job
    stored = (
        f"{plan.total - plan.missing} of {plan.total} answers are in"
        if plan
        else "some answers are missing"
    )
    if job is not None and job.running:
        return (
            f"**Partial data**: {stored}; the figures below grow as the rest arrive (newest days "
            "first)."
        )
    if loaded.cache_lost:
        return (
            f"**The cache folder was deleted** while the app ran, and the answers it held with it: "
            f"{stored} now. What was lost is fetched again (or by the next `python -m spend "
            "fetch`)."
        )
    if loaded.read_only:
        return (
            f"**Read-only cache**: {stored}. The cache folder cannot be written by this app, so "
            "nothing is fetched into it: a scheduled `python -m spend fetch` can."
        )
    if loaded.awaiting_confirmation and loaded.blocked == "busy":
        return (
            f"**Not fetched yet**: {stored}. Another fetch is running on this app's key, and it "
            "fetches one range at a time: reload once it ended, or a signed-in admin, a key of "
            "your own (sidebar) or a scheduled `python -m spend fetch` can fetch the rest."
        )
    if loaded.awaiting_confirmation and (
        loaded.blocked == "budget" or (job is not None and job.halted == "budget")
    ):
        per_day = loaded.settings.server_key_daily_requests if loaded.settings else "its"
        return (
            f"**Not fetched yet**: {stored}. This app's key has sent {per_day} requests today, "
            "its daily budget (`SPEND_SERVER_KEY_DAILY_REQUESTS`): only a signed-in admin, a key "
            "of your own (sidebar) or a scheduled `python -m spend fetch` can fetch the rest."
        )
    if loaded.awaiting_confirmation and loaded.may_fetch and not loaded.may_start:
        return (
            f"**Not fetched yet**: {stored}. The rest takes longer than the app fetches on its own "
            "key by itself: an admin signed in, or `SPEND_ALLOW_LONG_FETCH=true`, can start it; "
            "so can a key of your own (sidebar), or a scheduled `python -m spend fetch`."
        )
    if loaded.awaiting_confirmation and not loaded.may_fetch:
        return (
            f"**Not fetched yet**: {stored}. An admin of this app can fetch the rest, or a "
            "scheduled `python -m spend fetch` does."
        )
    if loaded.awaiting_confirmation and job is not None and job.stopped:
        return (
            f"**Fetch stopped**: {stored}. Press *Fetch* in the sidebar to go on; nothing is "
            "fetched twice."
        )
    if loaded.awaiting_confirmation:
        return (
            f"**Fetch not started**: {stored}. The rest takes a while at OpenAI's rate limit: "
            "press *Fetch* "
            "in the sidebar to start it."
        )
    return f"**Partial data**: {stored}."


def derive(view: View, fn: Callable[..., Any], *args: Any, of: str = "frame", **kwargs: Any) -> Any:
    """An ``analysis`` function applied to the view's ``frame`` (or ``history``/``full``), computed
    once per view and arguments for every session: a rerun with nothing changed computes nothing.

    E.g. ``derive(view, analysis.by_model)`` is ``analysis.by_model(view.frame)``, cached. The
    function itself is called; its qualified name only keys the cache.
    """
    name = f"{fn.__module__}.{fn.__qualname__}"
    return _derived(view.token, of, name, args, kwargs, _data=getattr(view, of), _fn=fn)


def time_series(view: View, **kwargs: Any) -> pd.DataFrame:
    """The view's tidy series for a chart over time (``analysis.daily``): its range, summed per
    the sidebar's "Bars per" (``View.bucket``), cached like ``derive``; ``kwargs`` go to
    ``analysis.daily``, e.g. ``by="model", top_n=8``."""
    return derive(
        view,
        analysis.daily,
        **{"start": view.start, "end": view.end, "bucket": view.bucket, **kwargs},
    )


@st.cache_data(max_entries=512, show_spinner=False)
def _derived(
    token: tuple,
    of: str,
    name: str,
    args: tuple,
    kwargs: dict,
    *,
    _data: pd.DataFrame,
    _fn: Callable[..., Any],
) -> Any:
    return _fn(_data, *args, **kwargs)


# --- teams (spend.teams): a column of the table when a teams file or [teams] secrets exist -----


def _modified(path: str | None) -> int:
    """A file into its modification time, e.g. ``1733400000000000000``; 0 when it is missing
    (loading it then says so)."""
    try:
        return os.stat(path).st_mtime_ns if path else 0
    except OSError:
        return 0


def _secrets_teams(secrets: Mapping[str, Any]) -> dict[str, Any]:
    """The part of the secrets that teams read (never a key)."""
    return {
        name: secrets[name] for name in ("team", "teams", "SPEND_TEAMS_FILE") if name in secrets
    }


def configured_teams(settings: Settings | None) -> tuple[Teams, str | None]:
    """The teams of ``SPEND_TEAMS_FILE`` and ``[teams]`` in secrets, and the one-line problem
    when they cannot be used (then no team at all: never half a file), e.g. ``(Teams(...),
    None)``. Read again only when the file or the secrets' teams change."""
    try:
        secrets = _secrets_teams(read_secrets())
    except ConfigError:  # a broken secrets file: the sign-in gate says so, and serves nobody
        secrets = {}
    path = teams_path(settings, secrets)
    try:
        return _teams(
            settings, path, _modified(path), repr(sorted(secrets.items())), _secrets=secrets
        ), None
    except ConfigError as exc:
        return Teams(), str(exc)


@st.cache_data(max_entries=8, show_spinner=False)
def _teams(
    _settings: Settings | None, path: str | None, modified: int, secrets_key: str, *, _secrets: dict
) -> Teams:
    """The teams, read once per file version and secrets (not on every rerun)."""
    return load_teams(_settings, _secrets)


def teams_token(teams: Teams) -> str:
    """Teams into a short name of their rules, e.g. ``"3f9a0c1b2d4e"`` (a token's part)."""
    return hashlib.sha256(repr(teams).encode()).hexdigest()[:12]


def teamed(loaded: Loaded) -> Loaded:
    """The loaded table with its ``team`` column when teams are configured (``spend.teams``),
    under a token that names the teams too; ``loaded`` itself when none are (or they cannot be
    read: ``notices`` says why). The column is computed once per table and teams, for every
    session."""
    if loaded.result is None:
        return loaded
    teams, _ = configured_teams(loaded.settings)
    if not teams:
        return loaded
    token = (*loaded.token, ("teams", teams_token(teams)))
    frame = _teamed_table(token, teams, _frame=loaded.result.frame)
    return replace(loaded, result=replace(loaded.result, frame=frame), token=token)


@st.cache_resource(max_entries=8, show_spinner=False)
def _teamed_table(token: tuple, _teams: Teams, *, _frame: pd.DataFrame) -> pd.DataFrame:
    """The shared table with its team column (read-only, like the table it comes from)."""
    return freeze(with_teams(_frame, _teams))
