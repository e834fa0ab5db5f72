"""How a batch of home pages runs: the cyclic garbage collector paused and BLAS on one thread.

A batch makes Python objects faster than they die, which sets off the collector's full passes
over every object the process holds (a large events log: a million; ~0.3 s a pass, two per
10,000 pages); what a batch makes holds no cycles, so reference counting frees it.

Its products are many and small (per chunk of 256 viewers: profiles, fold-in systems, artwork
contexts) but for one; a second BLAS thread gains little on them, and on a busy machine it
spins waiting for work, taking the core the Python around the products needs: at load 5-6.5
on 2 cores, 10,000 pages took 9.3 s of CPU with two threads against 5.0 s with one.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_running = 0                # batches under way (threads of a web server may build pages at once)
_restore = None             # (whether the collector was on, the BLAS limiter) to undo after the last


@contextmanager
def batch_conditions():
    """The collector off and BLAS on one thread while any batch runs; the first batch in sets
    them, the last one out puts back what was there."""
    global _running, _restore
    with _lock:
        if _running == 0:
            from threadpoolctl import threadpool_limits

            _restore = (gc.isenabled(), threadpool_limits(1, "blas"))
            gc.disable()
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0:
                enabled, limiter = _restore
                limiter.restore_original_limits()
                if enabled:
                    gc.enable()
