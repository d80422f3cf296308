"""Numbers into the short strings the pages show: money, counts, tokens, shares and changes.

Every function accepts ``None``, ``NaN``, ``pd.NA`` and infinities and returns its ``na`` argument
for them, so a page never prints ``nan`` or ``<NA>``. Unpriced money is the one case with a
different default (``usd(pd.NA) == "unpriced"``): an unknown price must never read as ``$0.00``.

Text is the other half: ``escape_markdown`` is the one way text that came from the API (a model,
user, e-mail, project or key name, an error message) reaches anything Streamlit renders as Markdown
(``st.markdown``/``caption``/``warning``/``info``/``error``, metric labels, expander titles).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

DASH = "—"
UNPRICED = "unpriced"

#: Scales of the compact forms, smallest first: (divisor, suffix).
_SCALES = ((1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "B"), (1e12, "T"))


def _is_na(x: Any) -> bool:
    """A value into whether it has no printable number, e.g. ``pd.NA -> True``, ``inf -> True``."""
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return not math.isfinite(x)
    except (TypeError, ValueError):
        return False


def _compact(x: float, decimals: int) -> str:
    """A number into a short form with a k/M/B/T suffix, e.g. ``12_345 -> "12.3k"``.

    Rounding that reaches the next suffix moves to it: ``999_960 -> "1.0M"``, not ``"1000.0k"``.
    """
    sign = "-" if x < 0 else ""
    size = abs(x)
    index = max(i for i, (divisor, _) in enumerate(_SCALES) if i == 0 or size >= divisor)
    while index < len(_SCALES) - 1:
        places = decimals if index else 0
        if round(size / _SCALES[index][0], places) < 1000:
            break
        index += 1
    divisor, suffix = _SCALES[index]
    places = decimals if index else 0
    return f"{sign}{size / divisor:,.{places}f}{suffix}"


def usd(x: Any, *, na: str = UNPRICED, decimals: int = 2) -> str:
    """Dollars into a money string, e.g. ``1234.5 -> "$1,234.50"``, ``NA -> "unpriced"``.

    :param na: text for a missing amount; ``"unpriced"`` by default, or ``formatting.DASH``
    :param decimals: digits after the point
    """
    if _is_na(x):
        return na
    value = round(float(x), decimals)
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.{decimals}f}"


def usd_compact(x: Any, *, na: str = UNPRICED) -> str:
    """Dollars into a short money string, e.g. ``12_345 -> "$12.3k"``, ``12.3 -> "$12.30"``.

    Amounts under $1,000 keep their cents, so small spends stay exact.
    """
    if _is_na(x):
        return na
    value = float(x)
    if round(abs(value), 2) < 1000:
        return usd(value, na=na)
    text = _compact(value, 1)
    return f"-${text[1:]}" if text.startswith("-") else f"${text}"


def integer(x: Any, *, na: str = DASH) -> str:
    """A count into digits with thousands separators, e.g. ``1234567 -> "1,234,567"``."""
    if _is_na(x):
        return na
    whole = int(x) if isinstance(x, (int, np.integer)) else round(float(x))
    return f"{whole:,d}"


def tokens_compact(x: Any, *, na: str = DASH) -> str:
    """A token count into a short form, e.g. ``12_345_678 -> "12.3M"``, ``950 -> "950"``."""
    if _is_na(x):
        return na
    return _compact(float(x), 1)


def pct(x: Any, *, na: str = DASH, decimals: int = 1) -> str:
    """A fraction into a percentage, e.g. ``0.1234 -> "12.3%"``, ``0.0001 -> "<0.1%"``, ``NA ->
    "—"``.

    A share that is not zero never prints as zero: below the last digit it says ``"<0.1%"``.
    """
    if _is_na(x):
        return na
    smallest = 10.0**-decimals
    if 0 < abs(float(x)) * 100 < smallest:
        return f"{'<' if x > 0 else '>-'}{smallest:.{decimals}f}%"
    value = round(float(x) * 100, decimals)
    return f"{value + 0.0:,.{decimals}f}%"  # + 0.0 turns -0.0 into 0.0


def delta_pct(x: Any, *, na: str = DASH, decimals: int = 1) -> str:
    """A relative change into a signed percentage, e.g. ``0.25 -> "+25.0%"``, ``-0.04 -> "-4.0%"``.

    ``None`` (no previous value to compare with) gives ``na``; a change that rounds to zero gives
    ``"0.0%"`` with no sign.
    """
    if _is_na(x):
        return na
    value = round(float(x) * 100, decimals) + 0.0
    sign = "+" if value > 0 else ""
    return f"{sign}{value:,.{decimals}f}%"


#: Every ASCII punctuation character: CommonMark lets a backslash make each of them literal.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
#: What GitHub-flavoured Markdown turns into a link even in plain text, after escapes are read
#: (``https://…``, ``www.…``, an e-mail address): shown as code instead, which is never linked.
_AUTOLINKED = re.compile(r"(?:https?://|www\.)\S+|[-.\w+]+@[-\w]+(?:\.[-\w]+)+", re.IGNORECASE)


def _code_span(text: str) -> str:
    """Text into a Markdown code span that shows it exactly, e.g. "a`b" -> "`` a`b ``"."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"


def escape_markdown(text: Any) -> str:
    """Text from the API into Markdown that shows exactly that text, e.g. ``"[x](https://e.vil)"
    -> "\\[x\\]\\(` https://e.vil) `"``: never a link, an image that the browser fetches, an
    autolinked URL or e-mail (those become code spans), emphasis, a heading, HTML, LaTeX, or
    Streamlit's ``:color[...]`` and ``:material/...:`` directives. Runs of whitespace (line breaks
    too) become one space; ``None`` becomes ``""``.
    """
    if text is None or text is pd.NA:
        return ""
    text = " ".join(str(text).split())
    out, at = [], 0
    for found in _AUTOLINKED.finditer(text):
        link = found.group().rstrip(".,:;!?*_~)")  # as GFM ends a link: a period stays text
        out.append(_MARKDOWN_PUNCTUATION.sub(r"\\\1", text[at : found.start()]))
        out.append(_code_span(link))
        at = found.start() + len(link)
    out.append(_MARKDOWN_PUNCTUATION.sub(r"\\\1", text[at:]))
    return "".join(out)


def format_duration(seconds: float) -> str:
    """Seconds into a short duration, e.g. ``3725 -> "1h02m"``, ``75 -> "1m15s"``, ``4 -> "4s"``."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


#: Providers whose name is not their id capitalized.
PROVIDER_NAMES = {"openai": "OpenAI"}


def provider_name(provider: str) -> str:
    """A ``provider`` id into its name, e.g. ``"openai" -> "OpenAI"``, ``"anthropic" ->
    "Anthropic"``."""
    return PROVIDER_NAMES.get(provider, provider.capitalize())
