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
from contextlib import contextmanager


@contextmanager
def batch_conditions():
    from threadpoolctl import threadpool_limits

    enabled = gc.isenabled()
    gc.disable()
    try:
        with threadpool_limits(1, "blas"):
            yield
    finally:
        if enabled:
            gc.enable()
