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


# --- item 7 (command line): the alerts command's tracebacks --------------------------------------


def alerts_env(fake, cache) -> dict[str, str]:
    return {
        "OPENAI_ADMIN_KEY": ADMIN_KEY,
        "OPENAI_BASE_URL": fake.base_url,
        "SPEND_CACHE_DIR": str(cache),
        "SPEND_RATE_LIMIT_PER_MIN": "60000",
    }


@pytest.mark.parametrize(
    "argv, said",
    [
        (["--as-of", "0001-01-01"], "--as-of 0001-01-01 is before 1970-01-01"),
        (["--as-of", "9999-12-31"], "--as-of 9999-12-31 is after 2261-12-31"),
        (["--history-days", "100000000"], "--history-days 100000000 reaches back before 1970"),
        (["--history-days", str(10**30)], f"--history-days {10**30} reaches back before 1970"),
        (["--history-days", "-1"], "--history-days must be 0 or more"),
    ],
)
def test_alerts__a_day_out_of_range_is_one_line_not_a_traceback(fake_openai, tmp_path, argv, said):
    made = fake_openai.count()
    code, out, err = run(["alerts", *argv], alerts_env(fake_openai, tmp_path / "cache"))
    assert code == 1 and said in one_error_line(err) and out == ""
    assert fake_openai.count() == made  # refused before anything was fetched


def test_alerts__a_bad_date_argument_prints_exactly_one_line(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["alerts", "--as-of", "2026-02-30"], environ={"SPEND_CACHE_DIR": str(tmp_path)})
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: python -m spend alerts: argument --as-of: not a date in YYYY-MM-DD form: "
        "'2026-02-30'"
    ]


@pytest.mark.parametrize("command", ["fetch", "export", "plan"])
def test_cli__an_end_whose_default_start_overflows_is_one_line(tmp_path, command):
    argv = [command, "--end", "0001-01-05", *(["--out", "-"] if command == "export" else [])]
    code, _, err = run(argv, {"SPEND_CACHE_DIR": str(tmp_path)})
    assert code == 1 and "--end 0001-01-05 is before 1970-01-01" in one_error_line(err)


def test_alerts__notify_into_a_state_folder_that_cannot_be_made_is_one_line(fake_openai, tmp_path):
    """As root, permissions do not stop writes: a file where the alerts state folder goes makes the
    state unwritable the same way (the OSError is the same path as a PermissionError)."""
    env = alerts_env(fake_openai, tmp_path / "cache")
    code, _, err = run(["alerts"], env)
    assert code == 0, err
    (tmp_path / "cache" / "alerts").write_text("not a folder")
    code, out, err = run(["alerts", "--notify", "json://127.0.0.1:9/hook"], env)
    assert code == 1
    assert "The alerts state cannot be written in" in one_error_line(err)


def test_alerts__notify_on_a_cache_another_user_may_only_read_is_one_line(fake_openai, tmp_path):
    """The real thing: a cache written by cron as one user; alerts --notify run by another who may
    only read it (as root: ``setpriv`` to nobody) meets a PermissionError: one line, exit 1."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and setpriv is None:
        pytest.skip("needs setpriv to run as another user")
    prefix = (
        [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    )
    base = Path(tempfile.mkdtemp(prefix="spend-ro-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        env = alerts_env(fake_openai, base / "cache")
        code, _, err = run(["alerts"], env)
        assert code == 0, err
        for root, dirs, files in os.walk(base / "cache"):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o555)
            for name in files:
                os.chmod(os.path.join(root, name), 0o444)
        os.chmod(base / "cache", 0o555)
        proc = subprocess.run(
            [*prefix, sys.executable, "-m", "spend", "alerts", "--notify", "json://127.0.0.1:9/h"],
            cwd=Path(__file__).resolve().parents[1],
            env={"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1, proc.stderr
        line = one_error_line(proc.stderr)
        assert "cannot be written" in line and "Permission denied" in line
    finally:
        for root, dirs, _ in os.walk(base):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)
        shutil.rmtree(base, ignore_errors=True)


# --- item 8: a read-only cache says so ---------------------------------------------------------


@pytest.mark.parametrize("source", ["legacy", "admin"])
@pytest.mark.parametrize("command", ["fetch", "export"])
def test_cli__an_uncached_range_in_a_read_only_cache_says_nothing_could_be_fetched(
    fake_openai, tmp_path, monkeypatch, source, command
):
    """Not "the organization had no API usage", not "run the command again": nothing could be
    fetched into a read-only cache (this process may only read it: ``_read_only``)."""
    from tests.test_failures import _read_only, env_for

    env = env_for(fake_openai, tmp_path / "cache", source)
    days = fake_openai.days
    code, _, err = run(["fetch", "--start", str(days[-4]), "--end", str(days[-3])], env)
    assert code == 0, err
    _read_only(monkeypatch)
    made = fake_openai.count()
    argv = [command, "--start", str(days[-12]), "--end", str(days[-9])]
    code, out, err = run([*argv, *(["--out", "-"] if command == "export" else [])], env)
    assert code == 1
    line = one_error_line(err)
    assert "nothing could be fetched into the read-only cache folder" in line
    assert "had no API usage" not in err and "run the command again" not in err
    assert fake_openai.count() == made
    assert out == ""  # no table of a range that is not there
