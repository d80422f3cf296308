"""The view every page reads: the loaded table cut to the sidebar's range and filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
import streamlit as st

from spend.ui.data import Loaded

STATE_KEY = "_spend_view"


@dataclass
class View:
    """What the frame hands to the page it runs."""

    loaded: Loaded
    start: date
    end: date
    previous_start: date
    previous_end: date
    filters: dict[str, list[str]]
    frame: pd.DataFrame  # filtered rows in [start, end]
    history: pd.DataFrame  # filtered rows in [previous_start, end], for period comparisons
    full: pd.DataFrame  # every loaded row, unfiltered (sidebar options, freshness)
    now: datetime

    @property
    def source(self) -> str:
        return self.loaded.source

    @property
    def partial(self) -> bool:
        return bool(self.loaded.result is not None and self.loaded.result.partial)

    @property
    def previous_complete(self) -> bool:
        """Whether the previous period is loaded and the data reaches back into its start.

        A comparison against part of a period (still fetching, or an organization whose data begins
        halfway through it) would show a growth that is not there, so then no delta is shown.
        """
        if self.partial or self.full.empty:
            return False
        length = (self.previous_end - self.previous_start).days + 1
        first = self.full["date"].min().date()
        return first <= self.previous_start + timedelta(days=max(1, length // 10))


def set_view(view: View) -> None:
    st.session_state[STATE_KEY] = view


def get_view() -> View:
    """The view the frame built in this run (pages call this first)."""
    view = st.session_state.get(STATE_KEY)
    if view is None:
        st.error("Open this page through the app (streamlit run streamlit_app.py), not on its own.")
        st.stop()
    return view


NO_ROWS = "No usage in this range with these filters. Widen the date range or clear the filters."


def open_page(title: str, *, require_rows: bool = True) -> View:
    """A page's opening: the view, its title, the banners; stops with a note when there is nothing
    to show."""
    view = get_view()
    st.title(title)
    notices(view)
    if require_rows and view.frame.empty:
        if (
            not view.partial
        ):  # while answers are missing, the banner above says why there is nothing yet
            st.info(NO_ROWS, icon=":material/search_off:")
        st.stop()
    return view


def notices(view: View) -> None:
    """Banners above every page: demo data, partial data, empty answers."""
    result = view.loaded.result
    if view.source == "demo":
        st.info(
            "**Demo data**: a synthetic organization, so you can try every page. Enter an API key "
            "and org id "
            "(or an admin key) under the key icon in the sidebar to see your own.",
            icon=":material/science:",
        )
    if view.partial:
        st.warning(partial_banner(view.loaded), icon=":material/downloading:")
    if result is not None:
        for note in result.notices:
            st.warning(note, icon=":material/info:")


def partial_banner(loaded: Loaded) -> str:
    """What the page says while answers are missing: fetching, waiting for a click, or stopped."""
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
