"""Long-context prices: what a row costs above its base-rate estimate when some of its requests
were long.

Some models cost more per token when one request's input is above a threshold (gpt-5.4 and later
GPT-5.x above 272K input tokens; Claude Sonnet 4/4.5/4.6 above 200K). The rule is a cliff, as
OpenAI and Anthropic bill it and as genai-prices models it: a request with more input tokens
(cached and cache writes included) than the threshold pays the long-context rate for **all** of its
tokens, input and output; a request at or below it pays the base rate for all of them.

Which requests were long:

- **Known**: a ``context_window`` column (Anthropic's usage groups by it: ``"0-200k"``,
  ``"200k-1M"``) says it. A row whose range starts at or above the threshold is long (every token
  at the long-context rates), one whose range ends at or below it is short: both exact.
- **Not known** (OpenAI's usage is a sum per day): a row of ``n`` requests with ``I`` input tokens
  in all, ``I > n x T``, must hold long requests, since ``n`` short ones hold at most ``n x T``.
  The least it can cost: as few long requests as can hold the excess, ``k = ceil((I - n T) /
  (C - T))`` (``C`` the model's context window where genai-prices knows it, else ``k = 1``), with
  the other ``n - k`` requests at exactly ``T``; so ``L = I - (n - k) x T`` input tokens were
  long, the cheapest of them first (cached before uncached), and all output was short. That
  estimate is a floor (``cost_lower_bound``): the bill is between it and every token at the
  long-context rate. A row with ``I <= n x T`` (or no request count) may still hold long requests,
  but nothing shows it: priced at the base rate, not flagged.

Example: gpt-5.4, 10 requests, 5M input tokens, 100K output ($2.50 / $15 per 1M; above 272K $5 /
$22.50). Known long (10 x 500K): 5M x $5 + 100K x $22.50 = $27.25. Not known: ``k = ceil((5M -
2.72M) / (1.05M - 272K)) = 3``, ``L = 5M - 7 x 272K = 3.096M``: $12.50 + $1.50 + 3.096M x ($5 -
$2.50) = $21.74, a lower bound (at most $27.25).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from spend.pricing.rates import ModalRates

#: The rates paid by input tokens: where a request's long-context input can be.
INPUT_FIELDS = (
    "input",
    "cached",
    "audio_input",
    "audio_cached",
    "image_input",
    "image_cached",
    "cache_write",
    "cache_write_1h",
)
_INPUT_INDEX = [ModalRates._fields.index(name) for name in INPUT_FIELDS]
_RANGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([km]?)\s*-\s*(\d+(?:\.\d+)?)\s*([km]?)\s*$")
_SCALE = {"": 1, "k": 1_000, "m": 1_000_000}


def window_range(text: str) -> tuple[float, float]:
    """A ``context_window`` value into its bounds in tokens, e.g. ``"200k-1M"`` -> (2e5, 1e6);
    (nan, nan) when it is no range."""
    match = _RANGE.match(str(text).lower())
    if match is None:
        return np.nan, np.nan
    low, low_unit, high, high_unit = match.groups()
    return float(low) * _SCALE[low_unit], float(high) * _SCALE[high_unit]


def known_tier(frame: pd.DataFrame, threshold: np.ndarray) -> np.ndarray:
    """The usage table and each row's threshold into 1 (long context), 0 (short) or -1 (not known),
    e.g. ``"200k-1M"`` at 200K -> 1, ``"0-200k"`` -> 0, NA -> -1."""
    tier = np.full(len(frame), -1, dtype=np.int8)
    if "context_window" not in frame.columns:
        return tier
    codes, names = pd.factorize(frame["context_window"].astype("string"), use_na_sentinel=True)
    bounds = np.array([window_range(name) for name in names], dtype="float64").reshape(-1, 2)
    bounds = np.vstack([bounds, [np.nan, np.nan]])[codes]  # NA (code -1) -> the last row
    tier[bounds[:, 0] >= threshold] = 1
    tier[bounds[:, 1] <= threshold] = 0
    return tier


def long_context_extra(
    frame: pd.DataFrame,
    counts: np.ndarray,
    requests: np.ndarray,
    inputs: np.ndarray,
    rates: np.ndarray,
    long_rates: np.ndarray,
    threshold: np.ndarray,
    max_input: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's cost above its base-rate estimate for its long-context requests (USD before the
    batch discount), and whether that is a floor (module docstring).

    :param counts: ``component_counts`` of the frame
    :param requests: each row's request count (0 where not known)
    :param inputs: each row's input tokens, cached included
    :param rates: each row's base rates, n x 12 (``ModalRates`` order)
    :param long_rates: each row's long-context rates (the base rate where none)
    :param threshold: input tokens per request above which they apply (inf: no tier)
    :param max_input: the most input tokens one request can hold (inf: not known)
    """
    n = len(frame)
    extra, floor = np.zeros(n), np.zeros(n, dtype=bool)
    tiered = np.isfinite(threshold)
    if not tiered.any():
        return extra, floor
    delta = np.clip(np.nan_to_num(long_rates - rates), 0.0, None)
    delta[:, ModalRates._fields.index("unit")] = 0.0
    tier = known_tier(frame, threshold)
    known_long = tiered & (tier == 1)
    extra[known_long] = (counts[known_long] * delta[known_long]).sum(axis=1)
    limit = np.where(tiered, threshold, 0.0)
    floor = tiered & (tier == -1) & (requests > 0) & (inputs > requests * limit)
    if not floor.any():
        return extra, floor
    excess = inputs - requests * limit
    room = np.where(np.isfinite(max_input), max_input - limit, np.inf)
    fewest = np.clip(np.ceil(np.divide(excess, room, where=room > 0, out=np.ones(n))), 1, None)
    fewest = np.minimum(fewest, requests)
    long_input = np.where(floor, np.minimum(inputs, excess + fewest * limit), 0.0)
    # the long input tokens, cheapest extra rate first
    input_delta = delta[:, _INPUT_INDEX]
    order = np.argsort(input_delta, axis=1, kind="stable")
    held = np.take_along_axis(counts[:, _INPUT_INDEX], order, axis=1)
    before = np.cumsum(held, axis=1) - held
    taken = np.clip(long_input[:, None] - before, 0.0, held)
    extra[floor] = (taken * np.take_along_axis(input_delta, order, axis=1)).sum(axis=1)[floor]
    return extra, floor
