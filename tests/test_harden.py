"""Issue 18's remaining failures, each tested the way it was found: a base URL with credentials,
the alerts command's tracebacks, a read-only cache's message, and the server's key shared with
strangers (one fetch at a time, a daily budget, unwatched jobs stopped)."""

from __future__ import annotations

import base64
import io
import time

import pytest

from spend import errors
from spend.cli import main
from spend.config import Settings
from tests.clock import FakeClock
from tests.fake_openai import ADMIN_KEY, LEGACY_KEY, ORG_ID

PASSWORD = "Pr0xyPa55"


def run(argv, env, clock=None):
    """``python -m spend ARGV`` in-process: (exit code, stdout, stderr); sleeps are instant."""
    out, err = io.StringIO(), io.StringIO()
    clock = clock or FakeClock(time.time())
    code = main(argv, environ=env, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    return code, out.getvalue(), err.getvalue()


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --- item 4: a base URL with user:pass@ ---------------------------------------------------------


def with_credentials(url: str, user: str = "proxyuser") -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{PASSWORD}@{rest}"


@pytest.mark.parametrize(
    "source, setting",
    [
        ("legacy", "OPENAI_BASE_URL"),
        ("admin", "OPENAI_BASE_URL"),
        ("anthropic", "ANTHROPIC_BASE_URL"),
    ],
)
def test_cli__a_base_url_with_credentials_is_refused_before_any_request(
    fake_openai, tmp_path, source, setting
):
    """``requests`` would send ``user:pass`` as Basic auth in place of the key: refused in one
    line, nothing sent, the password never shown."""
    env = {"SPEND_CACHE_DIR": str(tmp_path), "OPENAI_BASE_URL": fake_openai.base_url}
    if source == "legacy":
        env |= {"OPENAI_API_KEY": LEGACY_KEY, "OPENAI_ORG_ID": ORG_ID}
    elif source == "admin":
        env |= {"OPENAI_ADMIN_KEY": ADMIN_KEY}
    else:
        env = {"SPEND_CACHE_DIR": str(tmp_path), "ANTHROPIC_ADMIN_KEY": "sk-ant-admin01-x-0123"}
    env[setting] = with_credentials(fake_openai.base_url)
    made = fake_openai.count()
    code, out, err = run(["fetch", "--start", "2026-01-01", "--end", "2026-01-02"], env)
    assert code == 1
    line = one_error_line(err)
    assert setting in line and "user:pass@" in line
    assert PASSWORD not in err + out and "proxyuser" not in err + out
    assert fake_openai.count() == made


@pytest.mark.parametrize(
    "url", ["https://u:p@api.openai.com/v1", "https://u@api.openai.com/v1", "http://:p@h/v1"]
)
def test_settings__any_userinfo_in_a_base_url_is_refused(url):
    with pytest.raises(errors.ConfigError, match="OPENAI_BASE_URL may not hold") as info:
        Settings.from_mapping({"OPENAI_BASE_URL": url})
    assert "@" not in str(info.value).split("(user:pass@)")[0]
    with pytest.raises(errors.ConfigError, match="ANTHROPIC_BASE_URL may not hold"):
        Settings.from_mapping({"ANTHROPIC_BASE_URL": url})


BASIC = base64.b64encode(f"proxyuser:{PASSWORD}".encode()).decode()


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"Received 'Authorization: Basic {BASIC}'", "Received 'Authorization: Basic …'"),
        (f"authorization=basic%20{BASIC}", "authorization=basic%20…"),
        ("Basic dXNlcjpwYXNz, rejected", "Basic …, rejected"),  # user:pass
        ("Basic Zm9vOmJhcjEyMw==", "Basic …"),  # foo:bar123
        ("Bearer sess-abc and Basic Ym9iOmh1bnRlcjI=", "Bearer … and Basic …"),
        # English stays English: no digit, not base64 credentials
        ("basic usage of basic information", "basic usage of basic information"),
        ("Basic …", "Basic …"),  # redacting twice changes nothing
    ],
)
def test_redact__basic_credentials_are_cut_like_bearer(text, expected):
    assert errors.redact(text) == expected
    assert errors.redact(expected) == expected
    assert PASSWORD not in errors.redact(text) and BASIC not in errors.redact(text)


def test_api_error__an_echoed_basic_header_never_shows():
    """A gateway that echoes the Authorization header: the error's text has the credentials cut."""
    exc = errors.AuthError(
        f"Unauthorized. Received 'Authorization: Basic {BASIC}'", status_code=401
    )
    assert BASIC not in str(exc) and "Basic …" in str(exc)
