"""A chunk loads with fewer cyclic collections, and gives the process its setting back."""

from __future__ import annotations

import gc

import pytest

from connectra.ingest import chunk


def test_the_threshold_is_raised_while_loading_and_restored_even_after_an_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), chunk._fewer_collections():
        assert gc.get_threshold() == chunk._CHUNK_GC_THRESHOLD
        raise RuntimeError("the chunk failed")
    assert gc.get_threshold() == before
