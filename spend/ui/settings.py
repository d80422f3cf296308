"""Settings for this browser session: app secrets and env, overridden by what the sidebar holds.

``read_secrets`` is the one reader of ``st.secrets`` (sign-in, access, keys, budgets all ask it).
It tells "no secrets file" (``{}``: the app runs on env or demo data, as always) from "a secrets
file that cannot be read" (ConfigError: the sign-in gate then serves nobody, since it cannot know
whether sign-in was meant to be on). Its message names the problem and where it is, never a value.

A key typed in the sidebar lives only in this session's state; a key from secrets is never sent to
the browser (the password field stays empty and says a key is configured).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from spend.config import Settings
from spend.errors import ConfigError
from spend.sources import setting_names

#: Streamlit's ``error_id`` when none of its secrets paths exists (the only failure that is fine).
NO_SECRETS_FILE = "no-secrets-found"
#: Where tomllib says a syntax error is, e.g. ``"Unterminated string (at line 3, column 17)"``.
_WHERE = re.compile(r"\(at (line \d+, column \d+|end of document)\)")
#: Quoted parts of a parser's message: a character or a key of the file, never shown.
_QUOTED = re.compile(r"\s*('[^']*'|\"[^\"]*\"|\([^)]*\))")


def _toml_problem(error: BaseException) -> str:
    """A TOML syntax error into its kind and place without any text of the file, e.g.
    ``"Illegal character '\\n' (at line 3, column 17)" -> "Illegal character at line 3, column
    17"``."""
    text = str(error)
    where = _WHERE.search(text)
    kind = _QUOTED.sub("", text[: where.start()] if where else text).strip() or "Invalid TOML"
    return f"{kind} at {where.group(1)}" if where else kind


#: Streamlit's other ``error_id`` values into what they mean, in words.
_PATH_PROBLEMS = {
    "invalid-secrets-path": "a secrets path is neither a .toml file nor a folder",
    "secrets-directory-entry-not-folder": "a secrets folder holds a file where a folder belongs",
}


def _unreadable(exc: BaseException) -> ConfigError:
    """Why an existing secrets file could not be read, in one line without its contents."""
    cause = exc.__cause__ if isinstance(exc, StreamlitSecretNotFoundError) else exc
    if type(cause).__name__ == "TOMLDecodeError":
        problem = f"it is not valid TOML ({_toml_problem(cause)})"
    elif isinstance(cause, UnicodeDecodeError):
        problem = "it is not UTF-8 text"
    elif isinstance(cause, PermissionError):
        problem = "this server may not read it"
    else:
        error_id = getattr(exc, "error_id", None)
        problem = _PATH_PROBLEMS.get(error_id or "", f"{type(cause or exc).__name__}")
    return ConfigError(f"the secrets file cannot be read: {problem}.")


def read_secrets() -> dict[str, Any]:
    """``st.secrets`` as a plain dict (tables as dicts), e.g. ``{"auth": {...}, "SPEND_ADMINS":
    "a@x.io"}``; ``{}`` when there is no secrets file at all.

    Raises ConfigError (naming the problem and its line, never a value) when a secrets file exists
    but cannot be read: bad TOML, not UTF-8, not readable, a secrets path that is not a file.
    """
    secrets = st.secrets  # looked up now: AppTest puts its own in place for a run
    try:
        return _plain(secrets.to_dict())
    except StreamlitSecretNotFoundError as exc:
        if getattr(exc, "error_id", None) == NO_SECRETS_FILE:
            return {}
        raise _unreadable(exc) from None
    except (OSError, ValueError, TypeError) as exc:  # UnicodeDecodeError is a ValueError
        raise _unreadable(exc) from None


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def secret_settings(secrets: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Env overridden by secrets for ``names``, e.g. ``({"SPEND_SOURCE": "demo"}, ENV_NAMES)``."""
    values: dict[str, Any] = {name: os.environ[name] for name in names if name in os.environ}
    values.update({name: secrets[name] for name in names if name in secrets})
    return values


def base_settings() -> Settings:
    """Env overridden by secrets into Settings (what the deployment configured): the shared
    settings and every source's own (``spend.sources.setting_names``, e.g. a second provider's
    key)."""
    return Settings.from_mapping(secret_settings(read_secrets(), setting_names()))
