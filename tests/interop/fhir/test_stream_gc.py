"""The FHIR import runs the cyclic garbage collector less often while it runs (issue 18:
≈ 16 % of its CPU went to collections) and gives the process its own thresholds back, also
when two imports overlap in one process (a server) or an import fails."""

from __future__ import annotations

import gc

import pytest

from bonepath.interop.fhir.stream import GC_THRESHOLDS, fewer_collections


def test_the_import_thresholds_hold_while_any_import_runs_and_are_restored_after() -> None:
    before = gc.get_threshold()
    assert before != GC_THRESHOLDS
    with fewer_collections():
        assert gc.get_threshold() == GC_THRESHOLDS
        with fewer_collections():  # a second import in the same process
            assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_threshold() == GC_THRESHOLDS  # the first one still runs
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("an import that fails")
    assert gc.get_threshold() == before
