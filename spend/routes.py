"""The app's pages and their addresses, in one place: ``frame.py`` serves each page at its path
here, and the alerts' links point at the same paths.

Plain Python (no Streamlit), so the report and the notifications read the table too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from urllib.parse import urlencode

#: Each page file into the path it is served at (``url_path``); "" is the default page, at "/".
URL_PATHS = {
    "app_pages/overview.py": "",
    "app_pages/models.py": "models",
    "app_pages/users.py": "users",
    "app_pages/projects.py": "projects",
    "app_pages/teams.py": "teams",
    "app_pages/budgets.py": "budgets",
    "app_pages/raw_data.py": "raw-data",
}
#: The page that explains each scope of a budget or spike.
SCOPE_PAGES = {
    "organization": "app_pages/overview.py",
    "provider": "app_pages/overview.py",
    "project": "app_pages/projects.py",
    "api_key": "app_pages/projects.py",
    "user": "app_pages/users.py",
    "model": "app_pages/models.py",
    "team": "app_pages/teams.py",
}
#: Scope -> the query-string filter the app reads (``spend/ui/query.py``'s ``LISTS``).
VIEW_FILTERS = {
    "provider": "provider",
    "project": "project",
    "api_key": "key",
    "user": "user",
    "model": "model",
    "team": "team",
}


def view_url(
    app_url: str | None,
    *,
    scope: str,
    ids: Iterable[str] = (),
    start: date,
    end: date,
    page: str | None = None,
) -> str | None:
    """The app's URL and a view into a link, e.g. ``scope="user", ids=["u1"]``, one day ->
    ``"https://x.app/users?range=custom&start=2025-03-11&end=2025-03-11&user=u1"``.

    None without ``app_url`` (``SPEND_APP_URL`` unset); ``"/"`` gives a relative link for a page.
    ``page`` (a path of ``URL_PATHS``, e.g. ``"budgets"``) picks another page than the scope's.
    """
    if not app_url:
        return None
    query: list[tuple[str, str]] = [
        ("range", "custom"),
        ("start", start.isoformat()),
        ("end", end.isoformat()),
    ]
    name = VIEW_FILTERS.get(scope)
    if name:
        query.extend((name, value) for value in ids)
    if page is None:
        page = URL_PATHS[SCOPE_PAGES.get(scope, "app_pages/overview.py")]
    return f"{app_url.rstrip('/')}/{page}?{urlencode(query)}"
