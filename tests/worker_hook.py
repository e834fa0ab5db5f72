"""Test-only: crashes and counters inside executor workers, kept out of the production code.

`install()` runs at start in each worker process: the pool's workers import it from a
`sitecustomize.py` on their PYTHONPATH (see `pool_hook_folder`), Ray's run it as their
worker_process_setup_hook. It patches the probe stage, the first stage of the test pipelines,
to count every engine built and every title analysed under $TAGGER_TEST_COUNTS, and makes
titles named

- crash-always end their worker with SIGKILL, as an out-of-memory kill would, every time;
- crash-once end it with os._exit(1) on its first run only;
- slow take a minute;

and, where $TAGGER_TEST_DIE_LOADING is set, ends each worker with exit code 3 as it builds its
engine. The test process itself never runs it.
"""
from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path

COUNTS_ENV = "TAGGER_TEST_COUNTS"
DIE_LOADING_ENV = "TAGGER_TEST_DIE_LOADING"
DIE_LOADING_EXIT_CODE = 3
TESTS = Path(__file__).resolve().parent


def _count_file(counts: Path, source: str) -> Path:
    # By source, not id: the folders are per test, so tests sharing a Ray session do not mix.
    return counts / hashlib.sha1(source.encode()).hexdigest()


def runs(counts: Path, source) -> int:
    """How many times workers started analysing the title from `source` (its folder)."""
    path = _count_file(counts, str(source))
    return len(path.read_text()) if path.exists() else 0


def engines(counts: Path) -> int:
    """How many engines workers built."""
    path = counts / "engines"
    return len(path.read_text()) if path.exists() else 0


def _add_one(path: Path) -> int:
    with open(path, "a") as handle:
        handle.write("x")
    return len(path.read_text())


def install() -> None:
    from tagger.stages.probe import ProbeStage

    counts = Path(os.environ[COUNTS_ENV])
    run, setup = ProbeStage.run, ProbeStage.setup

    def counted_run(self, ctx):
        title = ctx.title
        count = _add_one(_count_file(counts, title.source))
        if title.id == "crash-always":
            os.kill(os.getpid(), signal.SIGKILL)
        if title.id == "crash-once" and count == 1:
            os._exit(1)
        if title.id == "slow":
            time.sleep(60)
        return run(self, ctx)

    def counted_setup(self):
        _add_one(counts / "engines")
        if os.environ.get(DIE_LOADING_ENV):
            os._exit(DIE_LOADING_EXIT_CODE)
        return setup(self)

    ProbeStage.run, ProbeStage.setup = counted_run, counted_setup


def pool_hook_folder(folder: Path, counts: Path, monkeypatch) -> None:
    """Make the pool's workers started in this test run `install()`: a sitecustomize.py in
    `folder`, which goes on PYTHONPATH with this tests folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        "# Test-only (tests/worker_hook.py): run at start by the pool's worker processes.\n"
        "import worker_hook\n\nworker_hook.install()\n")
    monkeypatch.setenv(COUNTS_ENV, str(counts))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(folder), str(TESTS),
                                                                   os.environ.get("PYTHONPATH")])))
