"""The cyclic garbage collector around a run of someone else's code."""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """While the block runs, the objects that exist when it starts (the modules imported so far,
    the loaded code) are left out of every garbage collection, then put back.

    The collector still runs as usual (and ``gc.collect()`` still frees what the block drops);
    it only stops rescanning the long-lived objects: a competition's code that calls
    ``gc.collect()`` after each step (its tracer does) then pays for its own objects only.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
