"""Issue 10 end to end: nothing bad is ever kept.

Every case injects its fault into the fake server (or the machine) once, runs the command line as a
user would, recovers, runs again, and checks the export against a clean run of the same range in a
fresh cache folder: exact, with no cache deleted by hand. Figures are computed by the fake or by a
clean run, never copied from the output.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spend import errors
from spend.cache import ResponseCache
from spend.cli import main
from spend.client import MAX_RETRIES, HttpClient, wait_real
from spend.config import LEGACY_RATE_LIMIT_PER_MIN, Settings
from spend.ratelimit import RateLimiter
from spend.sources import make_client, make_source
from spend.sources.admin import USAGE_BUCKETS_PER_PAGE
from spend.sources.legacy import LegacySource
from spend.sources.openai_api import openai_api
from spend.sources.windows import window_blocks
from tests.clock import FakeClock
from tests.fake_openai import ADMIN_KEY, ECHOED_SECRETS, LEGACY_KEY, ORG_ID, alter_answer

ROOT = Path(__file__).resolve().parents[1]


def run(argv, env, clock=None):
    """``python -m spend ARGV`` in-process: (exit code, stdout, stderr); sleeps are instant."""
    out, err = io.StringIO(), io.StringIO()
    clock = clock or FakeClock(time.time())  # the fake's data ends today (UTC)
    code = main(argv, environ=env, stdout=out, stderr=err, clock=clock, sleep=clock.sleep)
    return code, out.getvalue(), err.getvalue()


def env_for(fake, cache: Path, source: str, **extra) -> dict[str, str]:
    keys = (
        {"OPENAI_API_KEY": LEGACY_KEY, "OPENAI_ORG_ID": ORG_ID}
        if source == "legacy"
        else {"OPENAI_ADMIN_KEY": ADMIN_KEY}
    )
    return {
        "OPENAI_BASE_URL": fake.base_url,
        "SPEND_CACHE_DIR": str(cache),
        "SPEND_RATE_LIMIT_PER_MIN": "6000",
        **keys,
        **extra,
    }


def days_of(fake, source: str):
    """The range each source's cases export: legacy 4 days, admin 9 (both end before today)."""
    return (fake.days[-6], fake.days[-3]) if source == "legacy" else (fake.days[-10], fake.days[-2])


def export(env, start, end, *extra, clock=None):
    code, out, err = run(
        ["export", "--start", str(start), "--end", str(end), "--out", "-", *extra], env, clock
    )
    return code, out, err


def reference(fake, tmp_path, source, start, end, **extra) -> str:
    """The export of a clean run (a cache folder of its own, no fault)."""
    pending = fake.pending_faults
    assert pending == 0, "the reference run must see no fault"
    code, out, err = export(env_for(fake, tmp_path / "clean", source, **extra), start, end)
    assert code == 0, err
    return out


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "sqlite3" not in err
    return lines[0]


# --- 1. a bad answer is a failed attempt, never a final answer ------------------------------------

ONCE = [
    # (source, path prefix, fault kwargs)
    ("legacy", "/v1/usage", dict(kind="error", status=200)),
    ("legacy", "/v1/usage", dict(kind="null")),
    ("legacy", "/v1/usage", dict(kind="string")),
    ("legacy", "/v1/usage", dict(kind="wrong_shape")),
    ("legacy", "/v1/usage", dict(kind="huge_count")),
    ("legacy", "/v1/usage", dict(kind="negative_count")),
    ("legacy", "/v1/usage", dict(kind="nulls")),
    ("legacy", "/v1/organizations", dict(kind="wrong_shape")),
    ("admin", "/v1/organization/usage/completions", dict(kind="error", status=200)),
    ("admin", "/v1/organization/usage/completions", dict(kind="huge_count")),
    ("admin", "/v1/organization/usage/completions", dict(kind="negative_count")),
    ("admin", "/v1/organization/usage/completions", dict(kind="nulls")),
    ("admin", "/v1/organization/usage/images", dict(kind="nulls")),
    ("admin", "/v1/organization/costs", dict(kind="nulls")),
    ("admin", "/v1/organization/usage/completions", dict(kind="cursor_loop")),
    ("admin", "/v1/organization/costs", dict(kind="wrong_shape")),
    ("admin", "/v1/organization/costs", dict(kind="string")),
    ("admin", "/v1/organization/users", dict(kind="null")),
]


@pytest.mark.parametrize(
    "source, prefix, fault", ONCE, ids=[f"{s}-{f['kind']}-{p}" for s, p, f in ONCE]
)
def test_fetch__a_bad_answer_once_is_asked_again_and_never_kept(
    fake_openai, tmp_path, source, prefix, fault
):
    start, end = days_of(fake_openai, source)
    expected = reference(fake_openai, tmp_path, source, start, end)
    env = env_for(fake_openai, tmp_path / "cache", source)
    before = fake_openai.count(prefix)
    fake_openai.fail_next(1, path_prefix=prefix, **fault)
    code, out, err = export(env, start, end)
    assert code == 0, err
    assert out == expected
    assert fake_openai.pending_faults == 0 and fake_openai.count(prefix) - before >= 2
    # after recovery: a rerun reads what was kept, and it is exact
    code, again, err = export(env, start, end)
    assert code == 0, err
    assert again == expected


PERSISTENT = [
    # (source, path prefix, fault kwargs, what the one error line names)
    ("legacy", "/v1/usage", dict(kind="huge_count"), ["n_context_tokens_total is 1e+30", "{end}"]),
    ("legacy", "/v1/usage", dict(kind="error", status=200), ["an error instead of a day", "{end}"]),
    ("legacy", "/v1/usage", dict(kind="null"), ["null instead of a day of usage"]),
    ("legacy", "/v1/usage", dict(kind="nulls"), ["data[0] has every count null", "{end}"]),
    (
        "admin",
        "/v1/organization/usage/completions",
        dict(kind="nulls"),
        ["results[0] has every count null", "the bucket of {block}"],
    ),
    ("admin", "/v1/organization/costs", dict(kind="nulls"), ["results[0].amount.value is null"]),
    (
        "admin",
        "/v1/organization/usage/completions",
        dict(kind="negative_count"),
        ["results[0].input_tokens is -5", "the bucket of {block}"],  # the window's first day
    ),
    ("admin", "/v1/organization/costs", dict(kind="wrong_shape"), ["instead of a page of costs"]),
    ("admin", "/v1/organization/usage/completions", "loop", ["OpenAI's pages of", "loop"]),
]


@pytest.mark.parametrize(
    "source, prefix, fault, needles",
    PERSISTENT,
    ids=[f"{s}-{f if isinstance(f, str) else f['kind']}" for s, _, f, _ in PERSISTENT],
)
def test_fetch__a_bad_answer_that_persists_is_one_clear_line_then_recovers(
    fake_openai, tmp_path, source, prefix, fault, needles
):
    start, end = days_of(fake_openai, source)
    expected = reference(fake_openai, tmp_path, source, start, end)
    env = env_for(fake_openai, tmp_path / "cache", source)
    if fault == "loop":
        fake_openai.configure(cursor_loop=True)  # every page points back at itself
    else:
        fake_openai.fail_next(MAX_RETRIES + 1, path_prefix=prefix, **fault)
    code, out, err = export(env, start, end)
    assert code == 1 and out == ""
    line = one_error_line(err)
    for needle in needles:
        block = window_blocks(start, end, USAGE_BUCKETS_PER_PAGE)[0][0]
        assert needle.format(start=start, end=end, block=block) in line, line
    assert "usage rows cached" not in err
    # recovery: the server answers well again; the same command, nothing deleted, is exact
    fake_openai.configure(cursor_loop=False)
    assert fake_openai.pending_faults == 0  # every attempt was bounded: 1 + MAX_RETRIES
    code, again, err = export(env, start, end)
    assert code == 0, err
    assert again == expected


def _poison(settings: Settings, start, end, pick, bodies) -> None:
    """Store ``bodies`` (path params -> body) for the planned request ``pick`` chose, as an older
    version without validation would have: final, unchecked."""
    source = make_source(settings)
    request = next(r for r in source.plan(start, end).requests if pick(r))
    client = source.client
    cache = ResponseCache(settings.cache_dir)
    for extra, body in bodies:
        params = {**request.params_dict, **extra}
        cache.set(client._key(request.path, params), body, final=True)
    cache.close()
    client.close()


def _huge(body):
    body = dict(body)
    body["data"] = [{**body["data"][0], "n_context_tokens_total": 1e30}, *body["data"][1:]]
    return body


POISONED = [
    # (source, which request, its stored pages: (extra params, body))
    (
        "legacy",
        lambda r: r.kind == "usage",
        lambda fake, r: [({}, {"error": {"message": "The server had an error", "type": "x"}})],
    ),
    (
        "legacy",
        lambda r: r.kind == "usage",
        lambda fake, r: [({}, _huge(fake.legacy_usage_body(fake.days[-4])))],
    ),
    (
        "legacy",
        lambda r: r.kind == "usage",
        lambda fake, r: [({}, alter_answer("nulls", fake.legacy_usage_body(fake.days[-4]), ""))],
    ),
    (
        "admin",
        lambda r: r.kind == "usage:completions",
        lambda fake, r: [
            (
                {},
                {
                    "object": "page",
                    "data": [],
                    "has_more": True,
                    "next_page": "loop",
                },
            ),
            (
                {"page": "loop"},
                {"object": "page", "data": [], "has_more": True, "next_page": "loop"},
            ),
        ],
    ),
]


@pytest.mark.parametrize(
    "source, pick, pages", POISONED, ids=["error-body", "1e30", "nulls", "loop"]
)
def test_cache__what_an_older_version_kept_unchecked_is_asked_again(
    fake_openai, tmp_path, source, pick, pages
):
    """A cache written before validation existed may hold an error body as a final day, a 1e30
    count or pages that loop: they fail every later run no more (plan included)."""
    start, end = days_of(fake_openai, source)
    expected = reference(fake_openai, tmp_path, source, start, end)
    env = env_for(fake_openai, tmp_path / "cache", source)
    assert export(env, start, end)[0] == 0
    settings = Settings.from_env(env)
    # the oldest day's request: final, so a cache would keep it forever
    oldest = [r for r in make_source(settings).plan(start, end).requests if pick(r)][-1]
    _poison(settings, start, end, lambda r: r == oldest, pages(fake_openai, oldest))
    code, _, err = run(["plan", "--start", str(start), "--end", str(end)], env)
    assert code == 0 and "1 to fetch" in err, err
    made = fake_openai.count()
    code, again, err = export(env, start, end)
    assert code == 0, err
    assert again == expected
    assert fake_openai.count() - made <= 2  # that request only (and a non-final list, if stale)


# --- 3. a cache deleted mid-fetch -----------------------------------------------------------------


def test_cli__a_cache_deleted_mid_fetch_says_what_was_lost_and_the_next_run_fetches_it(
    fake_openai, tmp_path
):
    start, end = fake_openai.days[-8], fake_openai.days[-3]
    expected = reference(fake_openai, tmp_path, "legacy", start, end)
    cache = tmp_path / "cache"
    env = env_for(fake_openai, cache, "legacy")
    seen = []

    def delete_on_the_fourth_day(path: str) -> None:
        if path.startswith("/v1/usage"):
            seen.append(path)
            if len(seen) == 4:
                shutil.rmtree(cache)  # someone clears the cache while the fetch runs

    fake_openai.configure(before_answer=delete_on_the_fourth_day)
    code, out, err = export(env, start, end)
    assert code == 1 and out == ""
    line = one_error_line(err)
    assert "was deleted while fetching" in line and "Run the same command again" in line
    assert "usage rows cached" not in err
    fake_openai.configure(before_answer=None)
    made = fake_openai.count()
    code, again, err = export(env, start, end)
    assert code == 0, err
    assert again == expected
    assert fake_openai.count() - made == 1 + 3  # the users list and the three days lost with it


# --- 5. secrets never shown -----------------------------------------------------------------------


@pytest.mark.parametrize("source", ["legacy", "admin"])
def test_cli__a_401_that_echoes_the_key_is_redacted(fake_openai, tmp_path, source):
    start, end = days_of(fake_openai, source)
    expected = reference(fake_openai, tmp_path, source, start, end)
    env = env_for(fake_openai, tmp_path / "cache", source)
    fake_openai.fail_next(1, kind="echo_auth")
    code, out, err = export(env, start, end)
    assert code == 1
    line = one_error_line(err)
    assert "Bearer …" in line
    key = LEGACY_KEY if source == "legacy" else ADMIN_KEY
    for secret in (key, key[8:], *ECHOED_SECRETS, "AbCdEf0123", "51HzZz"):
        assert secret not in err + out
    code, again, err = export(env, start, end)
    assert code == 0 and again == expected


def test_cli__url_credentials_are_never_shown(tmp_path):
    env = {
        "OPENAI_API_KEY": LEGACY_KEY,
        "OPENAI_ORG_ID": ORG_ID,
        "OPENAI_BASE_URL": "http://proxyuser:Pr0xyPa55@127.0.0.1:9/v1",  # nothing listens there
        "SPEND_CACHE_DIR": str(tmp_path),
    }
    code, _, err = run(["fetch", "--start", "2026-01-01", "--end", "2026-01-01"], env)
    assert code == 1
    line = one_error_line(err)
    # issue 18: a URL with credentials is refused before any request (they would replace the key)
    assert "OPENAI_BASE_URL may not hold a user name or password" in line
    assert "Pr0xyPa55" not in err and "proxyuser" not in err


# --- 10. one-line errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["ftp://files.example/v1", "api.openai.com/v1", "https://", "http://h:port/v1", "file:///x"],
)
def test_cli__a_base_url_that_is_not_http_is_a_config_error_not_retried(fake_openai, tmp_path, url):
    start, end = days_of(fake_openai, "legacy")
    expected = reference(fake_openai, tmp_path, "legacy", start, end)
    clock = FakeClock(time.time())
    env = {**env_for(fake_openai, tmp_path / "cache", "legacy"), "OPENAI_BASE_URL": url}
    code, _, err = export(env, start, end, clock=clock)
    assert code == 1 and "OPENAI_BASE_URL must be an http(s) URL" in one_error_line(err)
    assert clock.sleeps == []  # no retry, no backoff
    env["OPENAI_BASE_URL"] = fake_openai.base_url
    code, again, err = export(env, start, end)
    assert code == 0 and again == expected


def test_client__a_url_requests_cannot_use_is_a_config_error(tmp_path):
    clock = FakeClock()
    client = HttpClient(
        api=openai_api(LEGACY_KEY, None, "http://127.0.0.1:9/v1"),
        fingerprint="fp",
        sleep=clock.sleep,
        clock=clock,
    )
    client.base_url = "http://[::1/v1"  # past the settings check: requests refuses it
    with pytest.raises(errors.ConfigError, match="OPENAI_BASE_URL"):
        client.get_json("/usage", {"date": "2026-01-01"})
    assert clock.sleeps == []


def test_cli__an_unwritable_rate_limit_store_is_one_line(fake_openai, tmp_path):
    start, end = days_of(fake_openai, "legacy")
    expected = reference(fake_openai, tmp_path, "legacy", start, end)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "ratelimit").write_text("not a folder")  # what any user (root too) cannot write into
    env = env_for(fake_openai, cache, "legacy")
    made = fake_openai.count()
    code, _, err = export(env, start, end)
    assert code == 1
    line = one_error_line(err)
    assert "rate limiter's store" in line and "SPEND_CACHE_DIR" in line
    assert fake_openai.count() == made
    (cache / "ratelimit").unlink()  # the machine is fixed (no answer was stored there)
    code, again, err = export(env, start, end)
    assert code == 0 and again == expected


@pytest.mark.parametrize("source", ["admin", "legacy"])
def test_cli__an_end_far_in_the_future_is_capped_at_today(fake_openai, tmp_path, source):
    start = fake_openai.days[-4]
    today = fake_openai.days[-1]
    expected = reference(fake_openai, tmp_path, source, start, today)
    env = env_for(fake_openai, tmp_path / "cache", source)
    code, out, err = export(env, start, "9999-12-31")
    assert code == 0, err
    assert out == expected
    assert f"{start}..{today}" in err
    code, _, err = run(["plan", "--end", "9999-12-31"], env)  # start: 29 days before the end
    assert code == 1 and "starts in the future" in one_error_line(err)
    code, _, err = run(["plan", "--start", "0001-01-01"], env)
    assert code == 1 and "before OpenAI's API had any usage" in one_error_line(err)


def test_cli__a_prices_file_with_an_absurd_number_is_one_line(fake_openai, tmp_path):
    start, end = days_of(fake_openai, "legacy")
    prices = tmp_path / "prices.toml"
    prices.write_text('[[price]]\nmodel = "gpt-4o*"\ninput_per_mtok = 1e308\n')
    env = env_for(fake_openai, tmp_path / "cache", "legacy", SPEND_PRICES_FILE=str(prices))
    code, out, err = export(env, start, end)
    assert code == 1 and out == ""
    assert str(prices) in one_error_line(err) and "at most" in err
    assert "inf" not in err
    prices.write_text('[[price]]\nmodel = "gpt-4o*"\ninput_per_mtok = 2.5\n')
    code, again, err = export(env, start, end)
    assert code == 0, err
    assert again == reference(
        fake_openai, tmp_path, "legacy", start, end, SPEND_PRICES_FILE=str(prices)
    )
    assert "inf" not in again


def _read_only(monkeypatch):
    """This process may no longer write any store (as a user who may only read the folder)."""
    import spend.cache
    import spend.ratelimit

    def refuse(folder, **settings):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(spend.cache, "open_store", refuse)
    monkeypatch.setattr(spend.ratelimit, "open_store", refuse)


@pytest.mark.parametrize("source", ["legacy", "admin"])
def test_cli__a_read_only_populated_cache_is_still_exported(
    fake_openai, tmp_path, monkeypatch, source
):
    start, end = days_of(fake_openai, source)
    env = env_for(fake_openai, tmp_path / "cache", source)
    code, expected, err = export(env, start, end)
    assert code == 0, err
    _read_only(monkeypatch)
    made = fake_openai.count()
    code, out, err = export(env, start, end)
    assert code == 0, err
    assert out == expected
    assert "read-only" in err and fake_openai.count() == made
    code, _, err = run(["fetch", "--start", str(start), "--end", str(end)], env)
    assert code == 0, err  # everything is there: nothing to fetch, nothing to refuse


def test_cli__a_read_only_empty_cache_is_one_line(tmp_path, monkeypatch):
    _read_only(monkeypatch)
    env = {"OPENAI_API_KEY": LEGACY_KEY, "OPENAI_ORG_ID": ORG_ID, "SPEND_CACHE_DIR": str(tmp_path)}
    code, _, err = run(["plan"], env)
    assert code == 1 and "Cannot open the cache folder" in one_error_line(err)


def _as_another_user() -> list[str] | None:
    """A command prefix that runs as a user who may only read the cache, or None."""
    if os.geteuid() != 0:
        return []  # this user: the folder is made read-only with chmod
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_cli__a_cache_another_user_may_only_read_is_still_exported(fake_openai):
    """The real thing: a cache written by cron as one user, exported by another who may only read
    it (SQLite cannot open it for writing; nothing in it is changed)."""
    prefix = _as_another_user()
    if prefix is None:
        pytest.skip("needs setpriv to run as another user")
    base = Path(tempfile.mkdtemp(prefix="spend-ro-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        start, end = days_of(fake_openai, "legacy")
        env = env_for(fake_openai, base / "cache", "legacy")
        code, expected, err = export(env, start, end)
        assert code == 0, err
        for root, dirs, files in os.walk(base / "cache"):  # readable by others, writable by none
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o555)
            for name in files:
                os.chmod(os.path.join(root, name), 0o444)
        os.chmod(base / "cache", 0o555)
        proc = subprocess.run(
            [
                *prefix,
                sys.executable,
                "-m",
                "spend",
                "export",
                "--start",
                str(start),
                "--end",
                str(end),
                "--out",
                "-",
            ],
            cwd=ROOT,
            env={"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert "read-only" in proc.stderr and "Traceback" not in proc.stderr
        assert proc.stdout == expected
    finally:
        for root, dirs, _ in os.walk(base):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)
        os.chmod(base, 0o755)
        shutil.rmtree(base, ignore_errors=True)


# --- 9. private files -----------------------------------------------------------------------------


def _modes(folder: Path) -> dict[str, int]:
    found = {".": folder.stat().st_mode & 0o777}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = path.stat().st_mode & 0o777
    return found


def test_cache__folders_are_0700_and_files_0600(fake_openai, tmp_path):
    fake_openai.reset(days=40)
    cache = tmp_path / "cache"
    start, end = fake_openai.days[0], fake_openai.days[-2]
    assert export(env_for(fake_openai, cache, "admin"), start, end)[0] == 0
    modes = _modes(cache)
    assert any(name.endswith(".val") for name in modes), "a large answer is stored as a file"
    assert any(name.startswith("locks/") for name in modes)
    for name, mode in modes.items():
        wanted = 0o700 if (cache / name).is_dir() else 0o600
        assert mode == wanted, (name, oct(mode))


def test_cache__an_older_cache_written_0644_is_made_private(fake_openai, tmp_path):
    start, end = days_of(fake_openai, "legacy")
    cache = tmp_path / "cache"
    env = env_for(fake_openai, cache, "legacy")
    code, expected, _ = export(env, start, end)
    for path in [cache, *cache.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    code, again, err = export(env, start, end)
    assert code == 0 and again == expected
    assert {mode for name, mode in _modes(cache).items() if (cache / name).is_file()} == {0o600}


# --- 8. one fetch per request across processes ----------------------------------------------------


def test_fetch__a_second_fetcher_waits_for_the_first_and_joins_its_answers(fake_openai, tmp_path):
    """Two fetchers of one range with their own clients on one cache folder (two processes: two
    SQLite connections, two lock files opened apart): every request is sent once."""
    start, end = fake_openai.days[-8], fake_openai.days[-3]
    settings = Settings(
        api_key=LEGACY_KEY,
        org_id=ORG_ID,
        base_url=fake_openai.base_url,
        cache_dir=tmp_path,
        rate_limit_per_min=6000,
    )
    second_waits = threading.Event()

    def told(seconds, stop):  # the client's own wait, told apart: the second fetcher waited
        second_waits.set()
        return wait_real(seconds, stop)

    def hold_the_first_day(path: str) -> None:
        if path.startswith("/v1/usage") and not second_waits.is_set():
            assert second_waits.wait(10), "the second fetcher never waited"

    fake_openai.configure(before_answer=hold_the_first_day)
    sources = [make_source(settings) for _ in range(2)]
    for source in sources:
        source.client.wait_for_other = told
    plans = [s.plan(start, end) for s in sources]
    results: dict[int, object] = {}

    def fetch(i: int) -> None:
        try:
            results[i] = sources[i].fetch(plans[i])
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(not isinstance(r, Exception) for r in results.values()), results
    assert fake_openai.count() == plans[0].total  # each request once, though both fetched it
    frames = [s.assemble(s.plan(start, end)) for s in sources]
    assert not frames[0].partial and not frames[1].partial
    assert (
        frames[0].frame["n_requests"].sum()
        == frames[1].frame["n_requests"].sum()
        == (fake_openai.legacy_totals(start, end)["n_requests"])
    )


# --- 11. rate-limit hygiene -----------------------------------------------------------------------


def test_cli__plan_says_when_a_pause_left_by_an_earlier_run_applies(fake_openai, tmp_path):
    start, end = days_of(fake_openai, "legacy")
    expected = reference(fake_openai, tmp_path, "legacy", start, end)
    env = env_for(fake_openai, tmp_path / "cache", "legacy", SPEND_RATE_LIMIT_PER_MIN="5")
    clock = FakeClock(time.time())
    settings = Settings.from_env(env)
    earlier = RateLimiter(settings.cache_dir, settings.fingerprint, per_minute=5, clock=clock)
    earlier.pause(109)  # an earlier run's 429 said Retry-After: 109
    earlier.close()
    code, _, err = run(["plan", "--start", str(start), "--end", str(end)], env, clock)
    assert code == 0
    assert "waiting 109 s from an earlier 429 first" in err
    assert "(~2m49s at 5/min" in err  # 109 s + 5 requests at 12 s
    code, out, err = export(env, start, end, clock=clock)
    assert code == 0 and out == expected
    assert "waiting 109 s for OpenAI's rate limit" in err  # the progress line said so too
    assert clock.sleeps[0] == pytest.approx(109, abs=1)  # and the first request waited for it


def test_cli__plan_per_user_on_a_cold_cache_says_the_users_list_decides(fake_openai, tmp_path):
    start, end = days_of(fake_openai, "legacy")
    env = env_for(fake_openai, tmp_path / "cache", "legacy")
    code, _, err = run(["plan", "--per-user", "--start", str(start), "--end", str(end)], env)
    assert code == 0
    assert "1 request for" in err and "1 requests" not in err
    assert "the users list decides the rest: 4 days x (1 org-wide + 1 per member)" in err
    assert fake_openai.count() == 0  # planning asks nothing
    code, _, err = run(["fetch", "--per-user", "--start", str(start), "--end", str(end)], env)
    assert code == 0, err
    code, _, err = run(["plan", "--per-user", "--start", str(start), "--end", str(end)], env)
    members = len(fake_openai.user_ids)
    total = 1 + 4 * (1 + members)
    assert f"{total} requests for" in err and f"{total} cached, 0 to fetch" in err
    assert "decides" not in err


def _jittered(clock: FakeClock, seed: int, most: float):
    """The fake server's clock: ours plus up to ``most`` seconds of network latency per request."""
    rng = random.Random(seed)
    return lambda: clock() + rng.uniform(0, most)


@pytest.mark.parametrize(
    "per_minute, jitter, some_429",
    [
        (LEGACY_RATE_LIMIT_PER_MIN, 0.0, False),
        (LEGACY_RATE_LIMIT_PER_MIN, 2.0, False),
        (LEGACY_RATE_LIMIT_PER_MIN, 6.0, False),
        (5.0, 2.0, True),  # the documented limit exactly: requests that arrive early draw 429s
    ],
)
def test_rate_limit__the_default_stays_under_the_documented_limit_despite_latency(
    fake_openai, tmp_path, per_minute, jitter, some_429
):
    """The fake allows 5 requests in any 60 s by its own clock, which runs up to ``jitter`` seconds
    behind ours (latency); 40 days are fetched at ``per_minute``."""
    fake_openai.reset(days=45)
    last = fake_openai.days[-1]
    clock = FakeClock(datetime(last.year, last.month, last.day, 12, tzinfo=UTC).timestamp())
    fake_openai.configure(rate_limit_per_min=5, clock=_jittered(clock, 1, jitter))
    settings = Settings(
        api_key=LEGACY_KEY,
        org_id=ORG_ID,
        base_url=fake_openai.base_url,
        cache_dir=tmp_path,
        rate_limit_per_min=per_minute,
    )
    client = make_client(settings, sleep=clock.sleep, clock=clock)
    source = make_source(settings, client=client, clock=clock)
    source.fetch(source.plan(fake_openai.days[-41], fake_openai.days[-2]))
    limited = fake_openai.count(status=429)
    assert (limited > 0) is some_429, f"{limited} of {fake_openai.count()} requests got a 429"
    assert fake_openai.count(status=200) == 41


def test_settings__the_legacy_default_is_slightly_under_the_documented_limit():
    settings = Settings(api_key=LEGACY_KEY, org_id=ORG_ID)
    assert 4 <= LegacySource.rate_limit(settings) < 5


# --- the fake's switches --------------------------------------------------------------------------


def test_fake__a_switch_off_answers_as_before(fake_openai):
    import requests

    day = fake_openai.days[-3].isoformat()
    url = f"{fake_openai.base_url}/usage"
    clean = requests.get(url, params={"date": day}, headers=fake_openai.legacy_headers()).json()
    fake_openai.configure(rename=(("gpt-4o-2024-08-06", "renamed"),), cursor_loop=True)
    changed = requests.get(url, params={"date": day}, headers=fake_openai.legacy_headers()).json()
    assert "renamed" in str(changed) and "gpt-4o-2024-08-06" not in str(changed)
    fake_openai.configure(rename=(), cursor_loop=False)
    assert requests.get(url, params={"date": day}, headers=fake_openai.legacy_headers()).json() == (
        clean
    )


@pytest.mark.parametrize(
    "kind, status, check",
    [
        ("error", 200, lambda body: "error" in body and "data" not in body),
        ("null", 200, lambda body: body is None),
        ("string", 200, lambda body: body == "ok"),
        ("wrong_shape", 200, lambda body: isinstance(body["data"], dict)),
        (
            "huge_count",
            200,
            lambda body: 1e30 in [r.get("n_context_tokens_total") for r in body["data"]],
        ),
        (
            "negative_count",
            200,
            lambda body: -5 in [r.get("n_context_tokens_total") for r in body["data"]],
        ),
        (
            "nulls",
            200,
            lambda body: (
                body["data"]
                and all(
                    r.get(name) is None
                    for r in body["data"]
                    for name in ("n_requests", "n_context_tokens_total", "n_generated_tokens_total")
                )
                and all(r.get("snapshot_id") for r in body["data"])
            ),
        ),
        ("echo_auth", 401, lambda body: LEGACY_KEY in body["error"]["message"]),
    ],
)
def test_fake__each_fault_switch_answers_once_then_the_server_recovers(
    fake_openai, kind, status, check
):
    import requests

    url, day = f"{fake_openai.base_url}/usage", fake_openai.days[-3].isoformat()

    def ask():
        return requests.get(url, params={"date": day}, headers=fake_openai.legacy_headers())

    fake_openai.fail_next(1, kind=kind, status=status if kind == "error" else None)
    faulty = ask()
    assert faulty.status_code == status and check(faulty.json())
    assert ask().json() == fake_openai.legacy_usage_body(fake_openai.days[-3])
