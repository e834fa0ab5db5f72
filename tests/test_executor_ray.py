"""`tagger ingest --executor ray` on a local Ray: the same results as inline, failures stay per title.

One local Ray (two CPUs) serves the whole module. Its workers run `_count_and_crash` at start
(Ray's worker_process_setup_hook): it counts every title a worker analyses, and makes titles
named crash-* kill their worker process, as a segfault or an out-of-memory kill would.
"""
import os
import socket
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tagger.catalog.db import Catalog
from tagger.cli import cli
from tagger.ingest import Progress
from tagger.pipeline import load_pipeline
from tagger.titles import discover

from conftest import TWO_SHOTS as SHOTS, ingest_by_name as ingest, write_light_pipeline, write_title

SAMPLES = Path(__file__).resolve().parents[1] / "sample_media"


def _count_and_crash() -> None:
    """Runs in each Ray worker process (test-only): count analyses, die on crash-* titles."""
    from tagger.engine import Engine

    analyse = Engine.analyse

    def counted(self, title, **kwargs):
        count_file = Path(os.environ["TAGGER_TEST_COUNTS"]) / title.id
        with open(count_file, "a") as handle:
            handle.write("x")
        runs = len(count_file.read_text())
        if title.id == "crash-always" or (title.id == "crash-once" and runs == 1):
            os._exit(1)
        return analyse(self, title, **kwargs)

    Engine.analyse = counted


@pytest.fixture(scope="module")
def ray_counts(tmp_path_factory):
    """A local Ray for this module; the folder where its workers count analysed titles."""
    ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'tagger[ray]'")
    counts = tmp_path_factory.mktemp("ray-counts")
    # The hook is defined here, and Ray workers cannot import this test module: ship it by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(address="local", num_cpus=2, include_dashboard=False,
             runtime_env={"worker_process_setup_hook": _count_and_crash,
                          "env_vars": {"TAGGER_TEST_COUNTS": str(counts)}})
    yield counts
    ray.shutdown()
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def _runs(counts: Path, title_id: str) -> int:
    path = counts / title_id
    return len(path.read_text()) if path.exists() else 0


@pytest.fixture(scope="module")
def light_pipeline(tmp_path_factory):
    return write_light_pipeline(tmp_path_factory.mktemp("pipelines"))


class Recorder(Progress):
    def __init__(self):
        self.started, self.done_ids, self.stopped = [], [], False

    def start(self, titles, stages):
        self.started = [t.id for t in titles]

    def done(self, outcome):
        self.done_ids.append(outcome.id)

    def stop(self):
        self.stopped = True


def _broken_title(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "broken.mp4").write_bytes(b"\x00\x01 not a video" * 100)
    return folder


def _tags(data: dict) -> dict:
    return {(t["tag"], t["scene"]): t["confidence"] for t in data["tags"] + data["scene_tags"]}


def test_ray_gives_the_inline_results_and_fails_only_the_broken_title(ray_counts, tmp_path):
    broken = _broken_title(tmp_path / "broken")
    pipeline = load_pipeline("default")
    catalogs = {}
    for executor in ("inline", "ray"):
        catalogs[executor] = tmp_path / f"{executor}.db"
        progress = Recorder()
        with Catalog(catalogs[executor]) as catalog:
            outcomes = ingest(discover([SAMPLES, broken]), catalog=catalog, pipeline=pipeline,
                              executor=executor, progress=progress)
        status = {o.id: o.status for o in outcomes}
        assert status == {"night-shift": "ok", "quiet-valley": "ok", "red-line": "ok", "sunny-side-up": "ok",
                          "broken": "failed"}, executor
        assert sorted(progress.done_ids) == sorted(progress.started) and progress.stopped
    assert all(_runs(ray_counts, title_id) == 1 for title_id in status), "each title went to one Ray worker once"

    with Catalog(catalogs["inline"]) as inline, Catalog(catalogs["ray"]) as on_ray:
        for title_id in ("night-shift", "quiet-valley", "red-line", "sunny-side-up"):
            want, got = inline.title(title_id), on_ray.title(title_id)
            assert got["status"] == "ok" and got["micro_genres"] == want["micro_genres"]
            # Ray runs each actor on one thread; float sums may round differently in the last digits.
            assert _tags(got) == pytest.approx(_tags(want), abs=1e-4), title_id
            assert got["embeddings"] == want["embeddings"]
        failed = on_ray.title("broken")
        run = on_ray.run(on_ray.title("night-shift")["run"]["id"])
        assert run["versions"] == inline.run(inline.title("night-shift")["run"]["id"])["versions"]
    assert failed["status"] == "failed" and "broken.mp4" in failed["error"]
    assert (run["titles_ok"], run["titles_failed"], run["titles_skipped"]) == (4, 1, 0)


def test_a_lost_worker_retries_only_its_title_then_fails_it(ray_counts, tmp_path, light_pipeline):
    for title_id in ("steady-a", "steady-b", "crash-once", "crash-always"):
        write_title(tmp_path / "titles" / title_id, shots=SHOTS)
    db = tmp_path / "c.db"
    with Catalog(db) as catalog:
        outcomes = ingest(discover([tmp_path / "titles"]), catalog=catalog, pipeline=load_pipeline(light_pipeline),
                          executor="ray", workers=2)
    status = {o.id: o.status for o in outcomes}
    assert status == {"crash-always": "failed", "crash-once": "ok", "steady-a": "ok", "steady-b": "ok"}
    assert {t: _runs(ray_counts, t) for t in status} == {"crash-always": 2, "crash-once": 2,
                                                          "steady-a": 1, "steady-b": 1}
    with Catalog(db) as catalog:
        lost = catalog.title("crash-always")
        assert catalog.title("crash-once")["status"] == "ok" and catalog.title("crash-once")["scenes"]
    assert lost["status"] == "failed"
    assert str(tmp_path / "titles" / "crash-always") in lost["error"] and "died 2 times" in lost["error"]


def test_cli_ingest_on_ray_then_unchanged_titles_are_skipped(ray_counts, tmp_path, light_pipeline):
    for title_id in ("cli-a", "cli-b"):
        write_title(tmp_path / "titles" / title_id, shots=SHOTS)
    _broken_title(tmp_path / "titles" / "cli-broken")
    db = tmp_path / "c.db"
    args = ["ingest", str(tmp_path / "titles"), "--catalog", str(db), "--pipeline", str(light_pipeline),
            "--executor", "ray", "--workers", "2"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 1, first.output
    assert "2 ok, 0 skipped, 1 failed" in first.output and "cli-broken/broken.mp4" in first.output
    # The fingerprint digest comes from a Ray worker; it must match the one the catalog holds.
    again = CliRunner().invoke(cli, args[:1] + [str(tmp_path / "titles" / t) for t in ("cli-a", "cli-b")] + args[2:])
    assert again.exit_code == 0, again.output
    assert "0 ok, 2 skipped, 0 failed" in again.output
    assert _runs(ray_counts, "cli-a") == 1


def test_catalog_written_inline_is_unchanged_for_pool_and_ray(ray_counts, tmp_path, light_pipeline):
    folder = write_title(tmp_path / "same", shots=SHOTS)
    db = tmp_path / "c.db"
    pipeline = load_pipeline(light_pipeline)
    for executor, expected in (("inline", "ok"), ("pool", "skipped"), ("ray", "skipped")):
        with Catalog(db) as catalog:
            [outcome] = ingest(discover([folder]), catalog=catalog, pipeline=pipeline, executor=executor)
        assert outcome.status == expected, executor


def test_executor_usage_errors_exit_2(tmp_path):
    folder = tmp_path / "none"
    unknown = CliRunner().invoke(cli, ["ingest", str(folder), "--executor", "dask"])
    assert unknown.exit_code == 2 and "inline" in unknown.output and "ray" in unknown.output
    address = CliRunner().invoke(cli, ["ingest", str(folder), "--ray-address", "head:6379"])
    assert address.exit_code == 2 and "--executor ray" in address.output


def test_an_unreachable_ray_address_fails_at_once(tmp_path):
    pytest.importorskip("ray", reason="ray is not installed: pip install 'tagger[ray]'")
    with socket.socket() as probe:   # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = write_title(tmp_path / "t", shots=SHOTS)
    result = CliRunner().invoke(cli, ["ingest", str(folder), "--catalog", str(tmp_path / "c.db"), "--executor", "ray",
                                      "--ray-address", f"127.0.0.1:{port}"])
    assert result.exit_code == 1 and f"cannot reach the Ray cluster at 127.0.0.1:{port}" in result.output


def test_without_ray_the_ray_executor_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)   # what `import ray` sees where it is not installed
    folder = write_title(tmp_path / "t", shots=SHOTS)
    result = CliRunner().invoke(cli, ["ingest", str(folder), "--catalog", str(tmp_path / "c.db"), "--executor", "ray"])
    assert result.exit_code == 1
    assert "pip install 'tagger[ray]'" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "c.db").exists()
