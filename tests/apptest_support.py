"""What the AppTest suites share (test_pages, test_ui_safety, test_auth, test_progress): the frame
under ``AppTest`` with secrets and a signed-in user, the fake OpenAI's credentials as secrets, and
the waits for a background fetch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from spend.jobs import REGISTRY
from tests.fake_openai import ADMIN_KEY, LEGACY_KEY, ORG_ID

ROOT = Path(__file__).resolve().parents[1]
#: What every browser session runs (``streamlit_app.py`` serves it with its warm-up).
FRAME = ROOT / "frame.py"
#: Seconds an AppTest run may take on this slow, shared machine.
TIMEOUT = 90
#: Requests per minute for the fake: high enough that the limiter never waits.
UNTHROTTLED = "60000"


def app(user: dict | None = None, *, timeout: float = TIMEOUT, **secrets: Any) -> AppTest:
    """Secrets (and a signed-in user's claims) into the frame under AppTest, not yet run."""
    at = AppTest.from_file(str(FRAME), default_timeout=timeout)
    at.user = dict(user) if user is not None else {}
    for name, value in secrets.items():
        at.secrets[name] = value
    return at


def legacy_secrets(fake: Any) -> dict[str, str]:
    """The fake server into the app's own legacy key, org id and URL, unthrottled."""
    return {
        "OPENAI_API_KEY": LEGACY_KEY,
        "OPENAI_ORG_ID": ORG_ID,
        "OPENAI_BASE_URL": fake.base_url,
        "SPEND_RATE_LIMIT_PER_MIN": UNTHROTTLED,
    }


def admin_secrets(fake: Any) -> dict[str, str]:
    """The fake server into the app's own admin key and URL, unthrottled."""
    return {
        "OPENAI_ADMIN_KEY": ADMIN_KEY,
        "OPENAI_BASE_URL": fake.base_url,
        "SPEND_RATE_LIMIT_PER_MIN": UNTHROTTLED,
    }


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def settled(at: AppTest) -> AppTest:
    """Run, and rerun while a background fetch is still filling the page."""
    at.run()
    for _ in range(20):
        jobs = [job for job in REGISTRY.jobs() if job.running]
        if not jobs:
            break
        for job in jobs:
            job.wait(10)
        at.run()
    at.run()
    return at
