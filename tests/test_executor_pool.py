"""`tagger ingest --executor pool`: a worker process that dies costs its title a retry, not the batch.

The crash comes from outside the production code: each test that needs it writes a
`sitecustomize.py` into a temporary folder and puts that folder on PYTHONPATH. The pool's
spawned workers are fresh interpreters started with this environment, so they import it at
start; it patches Engine to count the engines built and every title a worker analyses, to make
titles named crash-* end their worker process (os._exit, or SIGKILL as an out-of-memory kill
would), a title named slow take a minute, and a worker loading the pipeline named dies-loading
exit before its engine is built. This process started before the file existed, and is unchanged.
"""
import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from tagger.catalog.db import Catalog
from tagger.errors import TaggerError
from tagger.executors.pool import STOP_WAIT_S
from tagger.ingest import Progress
from tagger.pipeline import load_pipeline
from tagger.titles import discover

from conftest import TWO_SHOTS as SHOTS, ingest_by_name as ingest, write_light_pipeline, write_title

WORKER_HOOK = """# Test-only (tests/test_executor_pool.py): run at start by every Python process started with
# this folder on PYTHONPATH, i.e. the pool's workers.
import os
import signal
import time
from pathlib import Path

from tagger.engine import Engine

COUNTS = Path({counts!r})
analyse, build = Engine.analyse, Engine.__init__


def counted(self, title, **kwargs):
    count_file = COUNTS / title.id
    with open(count_file, "a") as handle:
        handle.write("x")
    runs = len(count_file.read_text())
    if title.id == "crash-always":
        os.kill(os.getpid(), signal.SIGKILL)
    if title.id == "crash-once" and runs == 1:
        os._exit(1)
    if title.id == "slow":
        time.sleep(60)
    return analyse(self, title, **kwargs)


def built(self, pipeline, **kwargs):
    with open(COUNTS / "engines", "a") as handle:
        handle.write("x")
    if pipeline.name == "dies-loading":
        os._exit(3)
    build(self, pipeline, **kwargs)


Engine.analyse, Engine.__init__ = counted, built
"""


@pytest.fixture
def worker_counts(tmp_path, monkeypatch):
    """Workers started in this test run WORKER_HOOK; the folder where they count engines and titles."""
    hook, counts = tmp_path / "worker-hook", tmp_path / "counts"
    hook.mkdir()
    counts.mkdir()
    (hook / "sitecustomize.py").write_text(WORKER_HOOK.format(counts=str(counts)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])))
    return counts


def _runs(counts: Path, title_id: str) -> int:
    path = counts / title_id
    return len(path.read_text()) if path.exists() else 0


def _pipeline(tmp_path: Path, name: str = "light"):
    return load_pipeline(write_light_pipeline(tmp_path, name))


class StageRecorder(Progress):
    """Each title's stage events, and whether its result came after them."""

    def __init__(self):
        self.stages, self.done_ids = {}, []

    def stage(self, title_id, stage):
        assert title_id not in self.done_ids, f"stage {stage} of {title_id} came after its result"
        self.stages.setdefault(title_id, []).append(stage)

    def done(self, outcome):
        self.done_ids.append(outcome.id)


def test_a_dead_worker_retries_only_its_title_then_fails_it(worker_counts, tmp_path):
    for title_id in ("steady-a", "steady-b", "crash-once", "crash-always"):
        write_title(tmp_path / "titles" / title_id, shots=SHOTS)
    db, progress, pipeline = tmp_path / "c.db", StageRecorder(), _pipeline(tmp_path)
    children = set(multiprocessing.active_children())
    with Catalog(db) as catalog:
        outcomes = ingest(discover([tmp_path / "titles"]), catalog=catalog, pipeline=pipeline,
                          executor="pool", workers=2, progress=progress)
    assert set(multiprocessing.active_children()) == children, "every worker stopped"
    status = {o.id: o.status for o in outcomes}
    assert status == {"crash-always": "failed", "crash-once": "ok", "steady-a": "ok", "steady-b": "ok"}
    assert {t: _runs(worker_counts, t) for t in status} == {"crash-always": 2, "crash-once": 2,
                                                             "steady-a": 1, "steady-b": 1}
    # The crash comes before the first stage, so a retried title's stages are reported once.
    assert {t: progress.stages.get(t) for t in status} == {"crash-always": None, "crash-once": list(pipeline.stages),
                                                          "steady-a": list(pipeline.stages),
                                                          "steady-b": list(pipeline.stages)}
    with Catalog(db) as catalog:
        lost = catalog.title("crash-always")
        assert catalog.title("crash-once")["status"] == "ok" and catalog.title("crash-once")["scenes"]
    assert lost["status"] == "failed"
    assert str(tmp_path / "titles" / "crash-always") in lost["error"] and "died 2 times" in lost["error"]
    assert lost["error"].endswith("killed by signal SIGKILL")


def test_two_titles_start_two_workers_whatever_workers_says(worker_counts, tmp_path):
    for title_id in ("a", "b"):
        write_title(tmp_path / "titles" / title_id, shots=SHOTS)
    with Catalog(tmp_path / "c.db") as catalog:
        outcomes = ingest(discover([tmp_path / "titles"]), catalog=catalog, pipeline=_pipeline(tmp_path),
                          executor="pool", workers=3)
    assert [o.status for o in outcomes] == ["ok", "ok"]
    # Not three, and the worker that reported the engine's info is one of the two.
    assert _runs(worker_counts, "engines") == 2


class InterruptAfterFirst(Progress):
    """Ctrl-C as the first title is done; notes when, and the worker processes then."""

    def __init__(self, children):
        self.children, self.workers, self.interrupted_at = children, [], None

    def done(self, outcome):
        self.workers = [c for c in multiprocessing.active_children() if c not in self.children]
        self.interrupted_at = time.monotonic()
        raise KeyboardInterrupt


def test_an_interrupted_batch_terminates_a_busy_worker_at_once(worker_counts, tmp_path):
    for title_id in ("quick", "slow"):
        write_title(tmp_path / "titles" / title_id, shots=SHOTS)
    progress = InterruptAfterFirst(set(multiprocessing.active_children()))
    with Catalog(tmp_path / "c.db") as catalog:
        with pytest.raises(KeyboardInterrupt):
            ingest(discover([tmp_path / "titles"]), catalog=catalog, pipeline=_pipeline(tmp_path),
                   executor="pool", workers=2, progress=progress)
    assert time.monotonic() - progress.interrupted_at < STOP_WAIT_S / 2, "close() did not wait for the slow title"
    # The idle worker was asked to stop; the one analysing "slow" was terminated.
    assert sorted(worker.exitcode for worker in progress.workers) == [-signal.SIGTERM, 0]
    assert not any(worker.is_alive() for worker in progress.workers)


def test_a_worker_that_cannot_build_the_engine_names_the_pipeline_and_its_error(tmp_path):
    folder = write_title(tmp_path / "t", shots=SHOTS)
    missing = tmp_path / "missing-taxonomy.toml"
    with Catalog(tmp_path / "c.db") as catalog:
        with pytest.raises(TaggerError, match=r"could not load pipeline 'light'.*missing-taxonomy\.toml"):
            ingest(discover([folder]), catalog=catalog, pipeline=_pipeline(tmp_path), taxonomy=str(missing),
                   executor="pool", workers=2)


def test_a_worker_that_dies_while_loading_gives_its_exit_code(worker_counts, tmp_path):
    folder = write_title(tmp_path / "t", shots=SHOTS)
    with Catalog(tmp_path / "c.db") as catalog:
        with pytest.raises(TaggerError, match=r"could not load pipeline 'dies-loading'.*: exit code 3$"):
            ingest(discover([folder]), catalog=catalog, pipeline=_pipeline(tmp_path, "dies-loading"),
                   executor="pool", workers=2)
