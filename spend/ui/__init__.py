"""The Streamlit glue: sidebar, cached loaders, the shared view. The only part of ``spend`` that
imports streamlit."""
