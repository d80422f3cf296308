"""OpenAI Spend: the server. ``streamlit run streamlit_app.py`` (and Streamlit Community Cloud)
starts it; every browser session runs ``frame.py`` (page config, the sign-in gate, navigation, the
shared sidebar, then the chosen page).

What this adds to running ``frame.py`` directly happens once, when the server starts
(``spend.ui.startup``): the heavy imports begin at once instead of in the first visitor's run, and
malloc keeps two arenas instead of up to 8 per core, so memory stays flat however many
sessions come.
"""

import streamlit as st

from spend.ui import startup

app = st.App("frame.py", lifespan=startup.lifespan)
