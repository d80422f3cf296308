"""Helpers for the real-browser test: free ports, clean environments, subprocesses, URLs, captions.

The browser test (``tests/test_browser.py``) starts ``streamlit run streamlit_app.py`` (and, for one
test, the fake OpenAI server) as subprocesses in their own process group, waits for them to answer,
and kills the whole group at the end. The sign-in test (``tests/test_auth_browser.py``) also starts
a fake identity provider (``oidc-provider-mock``) and gives streamlit a secrets file of its own.
Nothing here imports playwright or streamlit, so the pure parts are tested without a browser.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

#: Repository root (the folder holding streamlit_app.py).
ROOT = Path(__file__).resolve().parent.parent
#: Debian's chromium; Playwright drives it instead of a downloaded browser
#: (never `playwright install`).
CHROMIUM = "/usr/bin/chromium"
#: Flags that keep a headless chromium quiet, offline and runnable as root in a container.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: Env var prefixes a developer's shell may carry that must never reach the app under test.
PRIVATE_PREFIXES = ("OPENAI_", "SPEND_")
#: Seconds to wait for a subprocess to come up before giving up (the machine is slow and shared).
START_TIMEOUT = 60.0
#: Seconds between two health polls.
POLL_INTERVAL = 0.2

ROWS_RE = re.compile(r"([\d,]+)\s+rows?\b")


#: CI asks for the browser tests (``.ci/run``): then a missing browser fails them instead of
#: skipping. Read at import: the autouse ``clean_environ`` fixture removes SPEND_* inside tests.
REQUIRE_BROWSER = os.environ.get("SPEND_REQUIRE_BROWSER") == "1"


def require_browser(chromium: str = CHROMIUM) -> None:
    """Skip the calling test with the reason no browser test can run here, or fail it when CI
    asked for the browser (``SPEND_REQUIRE_BROWSER=1``); nothing when one can run."""
    import pytest

    if reason := browser_unavailable(chromium):
        if REQUIRE_BROWSER:
            pytest.fail(f"SPEND_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)


def browser_unavailable(chromium: str = CHROMIUM) -> str | None:
    """Why no browser test can run here (chromium or playwright missing), or None when one can."""
    if not Path(chromium).exists():
        return f"{chromium} is missing (apt-get install chromium; never `playwright install`)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    return None


def free_port() -> int:
    """Nothing into a TCP port on 127.0.0.1 that was free a moment ago, e.g. ``54123``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(base: Mapping[str, str], **extra: str) -> dict[str, str]:
    """An environment into one without OPENAI_*/SPEND_* plus ``extra``, e.g.
    ``{"OPENAI_API_KEY": "sk"} -> {}``."""
    env = {k: v for k, v in base.items() if not k.startswith(PRIVATE_PREFIXES)}
    env.update(extra)
    return env


def page_url(base_url: str, path: str, params: Mapping[str, str] | None = None) -> str:
    """A base URL, page path and query into a link, e.g.
    ``("http://h:1", "/models", {"range": "last_7_days"})
    -> "http://h:1/models?range=last_7_days"``."""
    url = base_url.rstrip("/") + "/" + path.lstrip("/")
    return f"{url}?{urlencode(params)}" if params else url


def rows_in_caption(text: str) -> int | None:
    """A caption into the row count it states, e.g. ``"**1,234 rows** · 2026-01-01 ..." -> 1234``;
    None if absent."""
    match = ROWS_RE.search(text)
    return int(match.group(1).replace(",", "")) if match else None


def query_values(url: str, name: str) -> list[str]:
    """A URL and a query name into that name's values, e.g.
    ``("/models?range=last_7_days", "range") -> ["last_7_days"]``."""
    return parse_qs(urlsplit(url).query).get(name, [])


def spawn(args: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen:
    """A command into a running process in its own process group, output appended to ``log``."""
    with open(log, "ab") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env=dict(env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate a process group started by ``spawn`` (SIGTERM, then SIGKILL); close its pipes."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
        except ProcessLookupError:
            pass
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def tail(log: Path, chars: int = 3000) -> str:
    """A log file into its last characters (for failure messages)."""
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def wait_healthy(
    base_url: str, proc: subprocess.Popen, log: Path, timeout: float = START_TIMEOUT
) -> None:
    """Poll ``/_stcore/health`` until it answers "ok"; raise with the log's tail if the process
    dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{tail(log)}")
        try:
            answer = requests.get(page_url(base_url, "/_stcore/health"), timeout=2)
            if answer.status_code == 200 and answer.text.strip() == "ok":
                return
        except requests.RequestException:
            pass
        time.sleep(POLL_INTERVAL)
    raise TimeoutError(
        f"streamlit did not answer /_stcore/health within {timeout:.0f} s:\n{tail(log)}"
    )


def streamlit_args(port: int, *options: str) -> list[str]:
    """A port (and more config flags) into the ``streamlit run streamlit_app.py`` command, headless
    on loopback, e.g. ``(8501,) -> [python, "-m", "streamlit", "run", ..., "--server.port", "8501",
    ...]``."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "streamlit_app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        *options,
    ]


def start_streamlit(
    env: Mapping[str, str], log: Path, *options: str, port: int | None = None
) -> tuple[subprocess.Popen, str]:
    """An environment into a healthy ``streamlit run streamlit_app.py`` on loopback, and its URL.

    ``options`` are more config flags (e.g. ``"--secrets.files", path``); ``port`` a chosen port
    (a redirect URI must name it before the server starts), else a free one.
    """
    port = port or free_port()
    proc = spawn(streamlit_args(port, *options), env, log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, proc, log)
    except BaseException:
        stop(proc)
        raise
    return proc, base_url


def start_fake_openai(
    env: Mapping[str, str], *options: str, timeout: float = START_TIMEOUT
) -> tuple[subprocess.Popen, str]:
    """Options into a running ``python -m tests.fake_openai`` and the base URL it prints first."""
    args = [sys.executable, "-m", "tests.fake_openai", "--port", "0", *options]
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        line = _first_line(proc, timeout)
    except BaseException:
        stop(proc)
        raise
    return proc, line


def _first_line(proc: subprocess.Popen, timeout: float) -> str:
    """A process's first stdout line, or an error when it exits or stays silent ``timeout`` s."""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise TimeoutError(f"the fake OpenAI server printed nothing within {timeout:.0f} s")
    line = proc.stdout.readline().strip()
    if not line.startswith("http"):
        raise RuntimeError(
            f"the fake OpenAI server exited ({proc.poll()}) or printed {line!r} instead of its URL"
        )
    return line


# --- sign-in: a fake identity provider and a secrets file ----------------------------------------


def toml_value(value: object) -> str:
    """A Python value into a TOML value, e.g. ``True -> "true"``, ``["x", "y"] -> '["x", "y"]'``
    (strings, bools, ints, floats and lists of them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def toml_text(values: Mapping[str, object], prefix: str = "") -> str:
    """A mapping into TOML text: plain keys first, then one ``[table]`` per nested mapping, e.g.
    ``{"A": 1, "auth": {"x": "y"}} -> 'A = 1\n\n[auth]\nx = "y"\n'``."""
    lines = [f"{key} = {toml_value(v)}" for key, v in values.items() if not isinstance(v, Mapping)]
    text = "\n".join(lines) + ("\n" if lines else "")
    for key, table in values.items():
        if isinstance(table, Mapping):
            name = f"{prefix}.{key}" if prefix else key
            text += f"\n[{name}]\n" + toml_text(table, name).lstrip("\n")
    return text


def write_secrets(path: Path, values: Mapping[str, object]) -> Path:
    """Secrets into a TOML file readable only by its owner, for ``--secrets.files`` (never the
    repository's ``.streamlit/secrets.toml``)."""
    path.write_text(toml_text(values))
    path.chmod(0o600)
    return path


def auth_section(app_url: str, idp_url: str, **extra: object) -> dict[str, object]:
    """An app and an identity provider into the ``[auth]`` secrets that connect them."""
    return {
        "redirect_uri": app_url.rstrip("/") + "/oauth2callback",
        "cookie_secret": "browser-test-cookie-secret-" + "0123456789abcdef",
        "client_id": "openai-spend-test",
        "client_secret": "openai-spend-test-secret",
        "server_metadata_url": idp_url.rstrip("/") + "/.well-known/openid-configuration",
        **extra,
    }


def wait_answering(
    url: str, proc: subprocess.Popen, log: Path, what: str, timeout: float = START_TIMEOUT
) -> None:
    """Poll a URL until it answers 200; raise with the log's tail if the process dies or time
    runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail(log)}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(POLL_INTERVAL)
    raise TimeoutError(f"{what} did not answer {url} within {timeout:.0f} s:\n{tail(log)}")


def start_oidc_provider(
    env: Mapping[str, str], log: Path, users: Sequence[Mapping[str, object]]
) -> tuple[subprocess.Popen, str]:
    """Users (claims with a ``sub``) into a running ``oidc-provider-mock`` on loopback and its URL.

    Its authorize page signs in whichever ``sub`` is typed, with that user's claims in the ID token.
    """
    port = free_port()
    args = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)]
    for user in users:
        args += ["--user-claims", json.dumps(dict(user))]
    proc = spawn(args, env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_answering(url + "/.well-known/openid-configuration", proc, log, "oidc-provider-mock")
    except BaseException:
        stop(proc)
        raise
    return proc, url
