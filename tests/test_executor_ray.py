"""`--executor ray` on a local Ray against the executors' shared contract, and what is Ray's own.

One local Ray (two CPUs) serves the whole module. Its workers run tests/worker_hook.py at start
(Ray's worker_process_setup_hook): it counts every title a worker analyses, and makes titles
named crash-* end their worker process, as a segfault or an out-of-memory kill would.
"""
import socket
import sys

import pytest
from click.testing import CliRunner

from tagger.cli import cli

from conftest import TWO_SHOTS as SHOTS, write_light_pipeline, write_title
from executor_contract import ExecutorContract, Harness, broken_title
import worker_hook


@pytest.fixture(scope="module")
def ray_counts(tmp_path_factory):
    """A local Ray for this module; the folder where its workers count analysed titles."""
    ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'tagger[ray]'")
    counts = tmp_path_factory.mktemp("ray-counts")
    # Ray workers cannot import the tests folder: ship the hook's module by value.
    ray.cloudpickle.register_pickle_by_value(worker_hook)
    ray.init(address="local", num_cpus=2, include_dashboard=False,
             runtime_env={"worker_process_setup_hook": worker_hook.install,
                          "env_vars": {worker_hook.COUNTS_ENV: str(counts)}})
    yield counts
    ray.shutdown()
    ray.cloudpickle.unregister_pickle_by_value(worker_hook)


class TestRayContract(ExecutorContract):
    @pytest.fixture
    def harness(self, ray_counts):
        return Harness("ray", counts=ray_counts, streams_stages=False, death="Worker exit type: SYSTEM_ERROR")


def test_cli_ingest_on_ray_then_unchanged_titles_are_skipped(ray_counts, tmp_path):
    light_pipeline = write_light_pipeline(tmp_path)
    for title_id in ("cli-a", "cli-b"):
        write_title(tmp_path / "titles" / title_id, shots=SHOTS)
    broken_title(tmp_path / "titles" / "cli-broken")
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
    assert worker_hook.runs(ray_counts, tmp_path / "titles" / "cli-a") == 1


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
