"""OpenAI Spend: the server. ``streamlit run streamlit_app.py`` (and Streamlit Community Cloud)
starts it; every browser session runs ``frame.py`` (page config, the sign-in gate, navigation, the
shared sidebar, then the chosen page).

The one thing this adds to running ``frame.py`` directly is the warm-up: the heavy imports start
with the server instead of in the first visitor's run (``spend.ui.warmup``).
"""

import streamlit as st

from spend.ui import warmup

app = st.App("frame.py", lifespan=warmup.lifespan)
