"""Settings for this browser session: app secrets and env, overridden by what the sidebar holds.

A key typed in the sidebar lives only in this session's state; a key from secrets is never sent to
the browser (the password field stays empty and says a key is configured).
"""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from spend.config import ENV_NAMES, Settings


def secrets_mapping() -> dict[str, Any]:
    """``st.secrets`` into a plain dict of our setting names; empty when there is no secrets
    file."""
    try:
        return {name: st.secrets[name] for name in ENV_NAMES if name in st.secrets}
    except Exception:  # no secrets.toml, or an unreadable one: run on env/demo
        return {}


def base_settings() -> Settings:
    """Env overridden by secrets into Settings (what the deployment configured)."""
    values: dict[str, Any] = {name: os.environ[name] for name in ENV_NAMES if name in os.environ}
    values.update(secrets_mapping())
    return Settings.from_mapping(values)
