"""The garbage-collector and numpy settings `crunch test` runs a competition's code with."""

from __future__ import annotations

import gc

import pytest

from crunch.runner.heap import NUMPY_HUGEPAGE_VARIABLE, collector_paused, frozen_heap, no_numpy_hugepage_hint


@pytest.fixture(autouse=True)
def restore_collector():
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    (gc.enable if enabled else gc.disable)()


def test_collector_paused_then_enabled_again():
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collector_paused_leaves_a_disabled_collector_disabled():
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_collector_paused_restores_on_error():
    gc.enable()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_frozen_heap_keeps_collecting_what_the_block_drops():
    gc.unfreeze()
    with frozen_heap():
        assert gc.get_freeze_count() > 0
        Cycle()
        assert gc.collect() >= 1  # the cycle made inside the block is garbage, and collected
    assert gc.get_freeze_count() == 0


def test_frozen_heap_without_thaw_leaves_the_objects_frozen():
    gc.unfreeze()
    with frozen_heap(thaw=False):
        pass
    assert gc.get_freeze_count() > 0


def test_no_numpy_hugepage_hint_only_when_unset(monkeypatch):
    monkeypatch.delenv(NUMPY_HUGEPAGE_VARIABLE, raising=False)
    no_numpy_hugepage_hint()
    import os

    assert os.environ[NUMPY_HUGEPAGE_VARIABLE] == "0"
    monkeypatch.setenv(NUMPY_HUGEPAGE_VARIABLE, "1")
    no_numpy_hugepage_hint()
    assert os.environ[NUMPY_HUGEPAGE_VARIABLE] == "1"
