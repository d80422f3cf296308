"""OpenAI Spend: where an organization's OpenAI API money goes.

Plain Python (no streamlit outside ``spend.ui``): sources fetch API-shaped payloads through one
client, ``normalize`` turns them into the usage table (``spend.schema``), ``pricing`` adds money,
``analysis`` and ``charts`` are pure functions over that table.
"""

__version__ = "0.1.0"
