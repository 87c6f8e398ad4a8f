"""Batch paths run with fewer collections of the cyclic garbage collector, and restore it."""

import gc

import pytest

from ledger.batchmode import NEVER, YOUNG, batch_collection
from matching.closeout import UndoSelection, run_closeout, undo_closeouts
from matching.selection import Selection
from matching.checks import check_books
from purchase.imports import import_file


def test_a_batch_raises_the_thresholds_and_restores_them():
    before = gc.get_threshold()
    with batch_collection():
        young, _, full = gc.get_threshold()
        assert young >= YOUNG and full == NEVER
        with batch_collection():  # nested: the inner one restores the outer one's
            pass
        assert gc.get_threshold()[2] == NEVER
    assert gc.get_threshold() == before


def test_a_batch_restores_the_thresholds_when_it_fails():
    before = gc.get_threshold()
    try:
        with batch_collection():
            raise ValueError("refused")
    except ValueError:
        pass
    assert gc.get_threshold() == before


def test_a_switched_off_collector_stays_off():
    before = gc.get_threshold()
    gc.set_threshold(0)
    try:
        with batch_collection():
            assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


def test_cycles_made_during_a_batch_are_still_collected():
    class Node:
        pass

    with batch_collection():
        gc.collect()
        for _ in range(3 * YOUNG):
            a, b = Node(), Node()
            a.other, b.other = b, a  # a cycle, garbage at once
        left = sum(isinstance(o, Node) for o in gc.get_objects())
    assert left < 2 * YOUNG  # young collections ran: not all 6 * YOUNG nodes are alive


@pytest.mark.parametrize("service, inside", [
    (lambda: import_file(None, "orders", "orders.csv", "ann"), "purchase.imports.c.iter_rows"),
    (lambda: run_closeout(None, Selection(), user="ann", date=None, close_fully=True), "matching.closeout.base_currency"),
    (lambda: undo_closeouts(None, UndoSelection(), user="ann", date=None), "matching.closeout._lock_counter"),
    (lambda: check_books(None), "purchase.checks.check_ledger"),
], ids=["import", "close-out", "undo", "check"])
def test_the_batch_services_run_in_batch_mode(monkeypatch, service, inside):
    seen = []

    def first_step(*args, **kwargs):
        seen.append(gc.get_threshold())
        raise RuntimeError("stop here")

    monkeypatch.setattr(inside, first_step)
    with pytest.raises(RuntimeError):
        service()
    assert seen and seen[0][2] == NEVER
