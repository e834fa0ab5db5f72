"""`--executor pool` against the executors' shared contract, and what is the pool's own.

Crashes come from outside the production code: tests/worker_hook.py, which each test that
needs it installs through a `sitecustomize.py` on the PYTHONPATH of the pool's workers. They
are spawned as fresh interpreters with this environment, so they run it at start; this process
started before it was set, and is unchanged.
"""
import multiprocessing
import signal
import time

import pytest

from tagger.errors import TaggerError
from tagger.executors.pool import STOP_WAIT_S, PoolExecutor
from tagger.pipeline import load_pipeline
from tagger.titles import discover

from conftest import TWO_SHOTS as SHOTS, write_light_pipeline, write_title
from executor_contract import ExecutorContract, Harness
import worker_hook


@pytest.fixture
def worker_counts(tmp_path, monkeypatch):
    """Workers started in this test run worker_hook; the folder where they count engines and titles."""
    counts = tmp_path / "counts"
    counts.mkdir()
    worker_hook.pool_hook_folder(tmp_path / "worker-hook", counts, monkeypatch)
    return counts


class TestPoolContract(ExecutorContract):
    @pytest.fixture
    def harness(self, worker_counts):
        return Harness("pool", counts=worker_counts, death="killed by signal SIGKILL")


def _pipeline(tmp_path):
    return load_pipeline(write_light_pipeline(tmp_path))


def test_two_titles_start_two_workers_whatever_workers_says_and_close_stops_them(worker_counts, tmp_path):
    for title_id in ("a", "b"):
        write_title(tmp_path / "titles" / title_id, shots=SHOTS)
    children = set(multiprocessing.active_children())
    with PoolExecutor(_pipeline(tmp_path), workers=3) as pool:
        pool.engine_info()
        results = [result for _, result in pool.map(discover([tmp_path / "titles"]))]
        assert len(set(multiprocessing.active_children()) - children) == 2
    assert set(multiprocessing.active_children()) == children, "every worker stopped"
    assert [r.status for r in results] == ["ok", "ok"]
    # Not three, and the worker that reported the engine's info is one of the two.
    assert worker_hook.engines(worker_counts) == 2


def test_an_interrupted_batch_terminates_a_busy_worker_at_once(worker_counts, tmp_path):
    for title_id in ("quick", "slow"):
        write_title(tmp_path / "titles" / title_id, shots=SHOTS)
    children = set(multiprocessing.active_children())
    with pytest.raises(KeyboardInterrupt):
        with PoolExecutor(_pipeline(tmp_path), workers=2) as pool:
            for _ in pool.map(discover([tmp_path / "titles"])):
                workers = [c for c in multiprocessing.active_children() if c not in children]
                interrupted_at = time.monotonic()
                raise KeyboardInterrupt   # Ctrl-C as the first title is done
    assert time.monotonic() - interrupted_at < STOP_WAIT_S / 2, "close() did not wait for the slow title"
    # The idle worker was asked to stop; the one analysing "slow" was terminated.
    assert sorted(worker.exitcode for worker in workers) == [-signal.SIGTERM, 0]
    assert not any(worker.is_alive() for worker in workers)


def test_a_worker_that_dies_while_loading_gives_its_exit_code(worker_counts, tmp_path, monkeypatch):
    monkeypatch.setenv(worker_hook.DIE_LOADING_ENV, "1")
    with pytest.raises(TaggerError, match=rf"could not load pipeline 'light'.*: "
                                          rf"exit code {worker_hook.DIE_LOADING_EXIT_CODE}$"):
        with PoolExecutor(_pipeline(tmp_path), workers=2) as pool:
            pool.engine_info()
