"""OpenAI Spend: the frame every browser session runs (``streamlit_app.py`` serves it). Page
config, the sign-in gate, navigation, the shared sidebar, then the chosen page.

Pages live in app_pages/ (not pages/: Streamlit would run a shared sub-page link without this
frame).
"""

from pathlib import Path

import streamlit as st

from spend import routes
from spend.ui import auth, startup

#: The tab's icon, from the app itself (a data: URL): a ``:material/...:`` page icon is fetched
#: from fonts.gstatic.com on every page load. The navigation's ``:material/...:`` icons are drawn
#: with the Material Symbols font Streamlit serves itself, so they stay.
ICON = Path(__file__).resolve().parent / "assets" / "icon.svg"

st.set_page_config(page_title="OpenAI Spend", page_icon=str(ICON), layout="wide")

PAGES = [
    # The default page lives at "/" (Streamlit serves it nowhere else), so it gets no url_path.
    st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page(
        "app_pages/models.py",
        title="Models",
        icon=":material/model_training:",
        url_path=routes.URL_PATHS["app_pages/models.py"],
    ),
    st.Page(
        "app_pages/users.py",
        title="Users",
        icon=":material/group:",
        url_path=routes.URL_PATHS["app_pages/users.py"],
    ),
    st.Page(
        "app_pages/projects.py",
        title="Projects & keys",
        icon=":material/folder_open:",
        url_path=routes.URL_PATHS["app_pages/projects.py"],
    ),
    st.Page(
        "app_pages/teams.py",
        title="Teams",
        icon=":material/groups:",
        url_path=routes.URL_PATHS["app_pages/teams.py"],
    ),
    st.Page(
        "app_pages/budgets.py",
        title="Budgets & alerts",
        icon=":material/savings:",
        url_path=routes.URL_PATHS["app_pages/budgets.py"],
    ),
    st.Page(
        "app_pages/raw_data.py",
        title="Raw data",
        icon=":material/table:",
        url_path=routes.URL_PATHS["app_pages/raw_data.py"],
    ),
]

# Sign-in, the allow-list and the public-link warning come first: a session that may not see data
# stops here, before any page (even one opened by its own link), the sidebar or a fragment exists.
auth.gate()
page = st.navigation(PAGES)
# The heavy part (pandas, prices, the data) is imported once the frame is drawn: on a cold start
# the navigation shows at once instead of after a couple of seconds of imports, which the server's
# warm-up has usually done by now (it is waited for: no module is imported by two threads at once).
startup.wait()
from spend.ui import sidebar  # noqa: E402

view = sidebar.render()
if view is None:
    st.stop()
page.run()
