"""The UI loader's small helpers."""

import pytest

from spend.ui import data


@pytest.mark.parametrize("rows, collected", [(0, 0), (49_999, 0), (50_000, 1), (1_000_000, 1)])
def test_release_garbage__only_large_tables_pay_for_a_collection(monkeypatch, rows, collected):
    calls = []
    monkeypatch.setattr(data.gc, "collect", lambda *a: calls.append(a) or 0)
    data.release_garbage(rows)
    assert len(calls) == collected
