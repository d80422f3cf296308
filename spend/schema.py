"""The usage table: one row per UTC day x dimensions x kind of usage.

Every source (legacy, admin, demo) ends in a frame with exactly these columns and dtypes; the same
names are the CSV export's header. Extra columns may follow them.

Money rules:
- ``cost_basis == "estimated"``: ``cost_usd`` = tokens/units x price (``spend.pricing``).
- ``cost_basis == "billed"``: a row from the Costs API (admin source only). It carries money and a
  ``line_item`` but no tokens; its ``operation`` is ``"cost"``.
- ``cost_basis == "unpriced"``: no price is known; ``cost_usd`` is NA (never a silent 0) while its
  tokens/units still count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Column name -> pandas dtype, in export order.
COLUMNS: dict[str, str] = {
    "date": "datetime64[ns]",  # UTC day, midnight, tz-naive
    "source": "string",  # the source's name in spend.sources.SOURCES (legacy, admin, ...)
    "project_id": "string",
    "project_name": "string",
    "user_id": "string",
    "user_name": "string",
    "user_email": "string",
    "api_key_id": "string",
    "api_key_name": "string",
    "model": "string",  # snapshot id as reported, e.g. gpt-4o-2024-08-06, ft:...
    "model_family": "string",  # base model for grouping, e.g. gpt-4o
    "operation": "string",  # completion, embeddings, moderation, image, tts, transcription, ...
    "n_requests": "Int64",
    "input_tokens": "Int64",  # all input, cached included
    "cached_input_tokens": "Int64",  # part of input_tokens
    "output_tokens": "Int64",
    "units": "Float64",  # non-token quantity
    "unit": "string",  # images, characters, seconds, bytes, sessions, calls
    "cost_usd": "Float64",  # NA when unpriced
    "cost_basis": "string",  # estimated | billed | unpriced
}

#: Extra columns some sources fill; kept after COLUMNS when present.
EXTRA_COLUMNS: dict[str, str] = {
    # who is paid for the row, e.g. "openai" (``Source.provider``): several sources, one table
    "provider": "string",
    "batch": "boolean",  # admin completions grouped by batch
    "service_tier": "string",  # admin completions: default, flex, priority (fast reads priority)
    "line_item": "string",  # costs rows
    "currency": "string",  # costs rows: "usd"; another currency keeps its row but no cost_usd
    "image_size": "string",
    "image_source": "string",  # admin images: image.generation, image.edit, ...
    "context_level": "string",  # admin web search calls: low, medium, high (priced by it)
    # True where the estimate is known to be below the bill (spend.pricing): a row of a model with
    # audio/image rates of its own but no modality split (legacy completion-realtime, priced as
    # text), a priority-tier row without a priority price. False for billed rows.
    "cost_lower_bound": "boolean",
}

#: The per-modality split of completions tokens (admin answers since 2026-07; NA where the answer
#: has no split: older answers, other endpoints, the legacy and demo sources). Only frames that have
#: a split carry these columns. ``input_tokens``, ``cached_input_tokens`` and ``output_tokens`` stay
#: the totals: input = uncached text + uncached audio + uncached image + cached (text + audio +
#: image) + cache writes; output = text + audio + image.
SPLIT_COLUMNS: dict[str, str] = {
    "input_text_tokens": "Int64",  # uncached text input (API input_text_tokens)
    "cached_text_tokens": "Int64",  # API input_cached_text_tokens
    "input_audio_tokens": "Int64",  # uncached audio input (API input_audio_tokens)
    "cached_audio_tokens": "Int64",  # API input_cached_audio_tokens
    "input_image_tokens": "Int64",  # uncached image input (API input_image_tokens)
    "cached_image_tokens": "Int64",  # API input_cached_image_tokens
    "cache_write_tokens": "Int64",  # input written to the cache (API input_cache_write_tokens)
    # the part of cache_write_tokens written to a 1-hour cache (Anthropic's
    # cache_creation.ephemeral_1h_input_tokens, priced at 2x input; the rest is 5-minute, 1.25x)
    "cache_write_1h_tokens": "Int64",
    "output_text_tokens": "Int64",
    "output_audio_tokens": "Int64",
    "output_image_tokens": "Int64",
}

#: Billed money allocated to a usage row (``spend.allocate``); NA on billed rows and on days the
#: cost report has not billed yet. Only tables with billed rows carry it (not every frame, unlike
#: EXTRA_COLUMNS), so a table without any exports the header it always had.
BILLED_COLUMNS: dict[str, str] = {"billed_usd": "Float64"}
#: Typed where a source fills it, and not added to others' tables (their CSV keeps its header):
#: Anthropic usage grouped by context window, "0-200k", "200k-1M" (spend.pricing.context).
TIER_COLUMNS: dict[str, str] = {"context_window": "string"}

#: Every extra column ``conform`` types when a frame has it.
TYPED_EXTRAS: dict[str, str] = {
    **EXTRA_COLUMNS,
    **SPLIT_COLUMNS,
    **BILLED_COLUMNS,
    **TIER_COLUMNS,
}

COST_BASES = ("estimated", "billed", "unpriced")
COUNT_COLUMNS = ("n_requests", "input_tokens", "cached_input_tokens", "output_tokens")


def with_provider(frame: pd.DataFrame, provider: str) -> pd.DataFrame:
    """A source's table into the same table with its ``provider`` column, e.g. ``"openai"`` on
    every row that names none yet. Returns a new frame."""
    if "provider" in frame.columns:
        return frame.assign(provider=frame["provider"].astype("string").fillna(provider))
    return frame.assign(provider=pd.Series(provider, index=frame.index, dtype="string"))


def empty_frame() -> pd.DataFrame:
    """No rows into a frame with the usage table's columns and dtypes, e.g. ``empty_frame().shape ==
    (0, 20)``."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in COLUMNS.items()})


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Any frame into the usage table's columns and dtypes, e.g. a dict-of-lists frame -> typed
    table.

    Missing columns are added as NA (counts as 0), known extras are typed and kept after the
    schema columns, unknown extras are kept as they are. Returns a new frame.

    :param frame: rows with some or all of the usage table's columns
    """
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for name, dtype in COLUMNS.items():
        if name in frame.columns:
            values = frame[name].reset_index(drop=True)
            if name == "date":
                values = pd.to_datetime(values, utc=True).dt.tz_localize(None).dt.normalize()
            out[name] = values.astype(dtype)
        elif name in COUNT_COLUMNS:
            out[name] = pd.Series(0, index=out.index, dtype=dtype)
        else:
            out[name] = pd.Series(pd.NA, index=out.index, dtype=dtype)
    for name in frame.columns:
        if name in COLUMNS:
            continue
        values = frame[name].reset_index(drop=True)
        out[name] = values.astype(TYPED_EXTRAS[name]) if name in TYPED_EXTRAS else values
    return out


def validate(frame: pd.DataFrame) -> None:
    """Raise ``ValueError`` naming the first column whose presence or dtype breaks the schema."""
    for name, dtype in COLUMNS.items():
        if name not in frame.columns:
            raise ValueError(f"usage table lacks column {name!r}")
        if str(frame[name].dtype) != dtype:
            raise ValueError(
                f"usage table column {name!r} is {frame[name].dtype}, expected {dtype}"
            )
    bad = set(frame["cost_basis"].dropna()) - set(COST_BASES)
    if bad:
        raise ValueError(f"unknown cost_basis values: {sorted(bad)}")
    if frame["cost_basis"].isna().any():
        raise ValueError("cost_basis is missing on some rows")


def as_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """A usage table into the same table with its text columns as categories, e.g. 85k rows of
    ``model`` strings -> 25 categories and 85k small codes (about 5x less memory)."""
    text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype)]
    return frame.astype({c: "category" for c in text}) if text else frame


def concat_categorical(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Frames whose text columns are categories into one frame that keeps them categories, e.g.
    two chunks with models {a, b} and {b, c} -> one column with categories {a, b, c} (plain
    ``pd.concat`` would turn differing categories into strings, at full size)."""
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    unified = []
    columns = [c for c in frames[0].columns if isinstance(frames[0][c].dtype, pd.CategoricalDtype)]
    categories = {
        c: pd.Index(pd.unique(np.concatenate([f[c].cat.categories.to_numpy() for f in frames])))
        for c in columns
    }
    for frame in frames:
        unified.append(
            frame.assign(**{c: frame[c].cat.set_categories(categories[c]) for c in columns})
        )
    return pd.concat(unified, ignore_index=True)
