"""The UI loader's small helpers: the shared, read-only table."""

import numpy as np
import pandas as pd
import pytest

from spend.schema import conform
from spend.ui import data


def table() -> pd.DataFrame:
    return conform(
        pd.DataFrame(
            {
                "date": pd.to_datetime(["2026-01-01", "2026-01-02"]),
                "model": ["gpt-4o", None],
                "n_requests": [1, 2],
                "cost_usd": [0.5, None],
                "cost_basis": ["estimated", "unpriced"],
            }
        )
    )


def test_compact__text_becomes_categories_and_values_stay_equal():
    frame = table()
    shared = data.compact(frame)
    assert isinstance(shared["model"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(
        shared.astype({c: "string" for c in shared.columns if shared[c].dtype == "category"}),
        frame,
        check_dtype=False,
    )


@pytest.mark.parametrize("column", ["n_requests", "cost_usd", "model"])
def test_compact__buffers_are_read_only(column):
    shared = data.compact(table())
    values = shared[column].array
    buffers = [getattr(values, name, None) for name in ("_ndarray", "_data", "_mask", "codes")]
    arrays = [b for b in buffers if isinstance(b, np.ndarray)]
    assert arrays and not any(a.flags.writeable for a in arrays)
    with pytest.raises(ValueError, match="read-only"):
        arrays[0][0] = arrays[0][0]


def test_compact__a_page_changing_its_copy_never_changes_the_shared_table():
    shared = data.compact(table())
    mine = shared  # pages hold the shared object itself
    changed = mine.assign(n_requests=mine["n_requests"] * 10)  # copy-on-write: a new frame
    changed.loc[0, "cost_usd"] = 99.0
    changed.loc[0, "date"] = pd.Timestamp("2030-01-01")
    assert shared["n_requests"].tolist() == [1, 2] and shared["cost_usd"].iloc[0] == 0.5
    assert shared["date"].iloc[0] == pd.Timestamp("2026-01-01")


@pytest.mark.parametrize("size, days", [("small", 45), ("large", 30)])
def test_demo_assemble__chunks_finished_one_by_one_give_the_same_table(size, days):
    """The app builds the demo chunk by chunk into categories (no full-size copy); the figures are
    exactly those of the plain build."""
    from datetime import timedelta

    from spend.config import Settings
    from spend.schema import as_categories
    from spend.sources import make_source

    source = make_source(Settings(source="demo", demo_size=size))
    plan = source.plan(source.today() - timedelta(days=days - 1), source.today())
    plain = source.assemble(plan).frame
    source.CHUNK_ROWS = source.org.max_rows_per_day * 6  # chunks of 6 days, the last one shorter
    chunked = source.assemble(plan, finish=as_categories).frame
    assert isinstance(chunked["model"].dtype, pd.CategoricalDtype)
    text = {c: "string" for c in chunked.columns if chunked[c].dtype == "category"}
    pd.testing.assert_frame_equal(chunked.astype(text), plain)
