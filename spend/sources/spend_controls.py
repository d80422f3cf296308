"""OpenAI's spend controls (``spend-controls-openapi.yaml``) into read-only budgets: integer
cents, monthly, USD. ``AdminSource.spend_controls`` asks for them; these parse the answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spend.budgets import DEFAULT_ALERT_AT, Budget


def _control_amount(item: Mapping[str, Any], what: str) -> tuple[float | None, str | None]:
    """A spend limit or alert object into (USD, None), or (None, why it is ignored).

    E.g. ``{"threshold_amount": 150000, "currency": "USD", "interval": "month"}`` -> 1500.0, None.
    """
    cents = item.get("threshold_amount")
    if isinstance(cents, bool) or not isinstance(cents, int) or cents <= 0:
        return None, f"{what} has no usable amount ({cents!r}); ignored"
    currency = str(item.get("currency") or "").upper()
    if currency != "USD":
        return None, f"{what} is in {currency or 'no currency'}, not USD; ignored"
    interval = item.get("interval")
    if interval != "month":
        return None, f"{what} is per {interval!r}, not per month; ignored"
    return cents / 100.0, None


def parse_spend_limit(
    body: Any, *, project_id: str | None = None
) -> tuple[list[Budget], list[str]]:
    """A spend limit body into ([a read-only budget], notices), e.g. 150000 cents -> $1,500 limit.

    ``{"object": "organization.spend_limit", "threshold_amount": 150000, "currency": "USD",
    "interval": "month", "enforcement": {"status": "enforcing"}}`` -> one ``Budget`` with
    ``origin="openai"``, ``kind="spend_limit"``, ``note="enforcing"``. A body of another shape
    gives no budget and a notice, never an exception.

    :param project_id: the project it belongs to (None: the organization's)
    """
    scope = "project" if project_id else "organization"
    what = (
        f"OpenAI's hard spend limit for {scope} {project_id}"
        if project_id
        else ("OpenAI's hard spend limit for the organization")
    )
    expected = f"{scope}.spend_limit"
    if not isinstance(body, Mapping) or body.get("object") != expected:
        shown = body.get("object") if isinstance(body, Mapping) else type(body).__name__
        return [], [f"{what}: expected a {expected} object, got {shown!r}; ignored"]
    usd, problem = _control_amount(body, what)
    if problem:
        return [], [problem]
    enforcement = body.get("enforcement")
    status = enforcement.get("status") if isinstance(enforcement, Mapping) else None
    budget = Budget(
        scope=scope,
        id=project_id,
        monthly_usd=float(usd),
        alert_at=DEFAULT_ALERT_AT,
        origin="openai",
        kind="spend_limit",
        note=str(status) if status else None,
    )
    return [budget], []


def parse_spend_alerts(
    pages: Any, *, project_id: str | None = None
) -> tuple[list[Budget], list[str]]:
    """Spend alert list pages into (read-only budgets, notices), e.g. one $1,000 budget per alert.

    E.g. a page with ``{"id": "alert_1", "object": "organization.spend_alert",
    "threshold_amount": 100000, "currency": "USD", "interval": "month", ...}`` -> a $1,000
    ``Budget`` with ``kind="spend_alert"``, ``alert_at=(100,)``, ``note="alert_1"``.

    :param pages: one list body or a list of them (pagination)
    :param project_id: the project they belong to (None: the organization's)
    """
    scope = "project" if project_id else "organization"
    owner = f"project {project_id}" if project_id else "the organization"
    bodies = [pages] if isinstance(pages, Mapping) else list(pages or [])
    budgets: list[Budget] = []
    notices: list[str] = []
    expected = f"{scope}.spend_alert"
    for body in bodies:
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            notices.append(f"OpenAI's spend alerts for {owner}: not a list answer; ignored")
            continue
        for item in data:
            if not isinstance(item, Mapping) or item.get("object") != expected:
                notices.append(
                    f"OpenAI's spend alerts for {owner}: an entry of unknown shape; ignored"
                )
                continue
            what = f"OpenAI's spend alert {item.get('id')} for {owner}"
            usd, problem = _control_amount(item, what)
            if problem:
                notices.append(problem)
                continue
            budgets.append(
                Budget(
                    scope=scope,
                    id=project_id,
                    monthly_usd=float(usd),
                    alert_at=(100,),
                    origin="openai",
                    kind="spend_alert",
                    note=str(item.get("id") or f"{usd:g}"),
                )
            )
    return budgets, notices


__all__ = ["parse_spend_alerts", "parse_spend_limit"]
