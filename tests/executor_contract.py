"""The tests every executor passes (tagger/executors/base.py's contract), as one mixin.

Each executor's test file subclasses `ExecutorContract` and gives a `harness` fixture saying how
to run it and what it can do; cases that do not apply to an executor skip with the reason.
The contract:

- `engine_info()` gives the digest, pipeline and versions of an engine like the inline one;
  an engine that cannot load raises TaggerError naming what failed;
- `map()` gives one (position, result) for every title, the result of the title at that
  position, and the same analysis as in this process; a title whose analysis fails fails
  alone and the others go on;
- where the executor reports stages (`on_stage`), each title's stage events come before its
  result;
- where titles run on workers that can die, a title whose worker dies runs once more on a
  new worker, then fails with a message naming its source and how the worker died; the
  other titles go on.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tagger.errors import TaggerError
from tagger.executors import executor_class
from tagger.pipeline import load_pipeline
from tagger.titles import discover

from conftest import TWO_SHOTS as SHOTS, write_light_pipeline, write_title
import worker_hook


@dataclass
class Harness:
    """How a test file runs its executor, and what it can do."""
    name: str                     # in tagger.executors.EXECUTORS
    counts: Path | None = None    # where its workers count titles (worker_hook); None: no workers
    streams_stages: bool = True   # calls on_stage as stages start
    death: str = ""               # how a SIGKILLed worker's death reads in the failure message

    def make(self, pipeline, **options):
        return executor_class(self.name)(pipeline, workers=2, **options)

    def run(self, pipeline, titles, **options) -> tuple[dict, list[tuple[int, dict]]]:
        """(engine_info, [(position, result)...]) of one batch."""
        with self.make(pipeline, **options) as executor:
            info = executor.engine_info()
            return info, list(executor.map(titles))


def broken_title(folder: Path) -> Path:
    """A title folder whose video is not a video."""
    folder.mkdir(parents=True)
    (folder / "broken.mp4").write_bytes(b"\x00\x01 not a video" * 100)
    return folder


def _analysis(result) -> dict:
    """What an analysis (a TitleResult) found, without timings."""
    tags = {(t.tag, t.scene): t.confidence for t in result.tags}
    embeddings = {e.space: [float(x) for x in e.vector] for e in result.embeddings}
    return {"scenes": [(s.start_frame, s.end_frame) for s in result.scenes],
            "micro_genres": result.micro_genres, "tags": tags, "embeddings": embeddings}


class ExecutorContract:
    """Mixin: subclasses define a `harness` fixture returning a Harness."""

    @pytest.fixture(scope="class")
    @classmethod
    def light_pipeline(cls, tmp_path_factory):
        return load_pipeline(write_light_pipeline(tmp_path_factory.mktemp("pipelines")))

    @pytest.fixture(scope="class")
    @classmethod
    def batch(cls, tmp_path_factory):
        """Two good titles and a broken one, in one folder."""
        folder = tmp_path_factory.mktemp("batch")
        for title_id in ("steady-a", "steady-b"):
            write_title(folder / title_id, shots=SHOTS)
        broken_title(folder / "broken")
        return discover([folder])

    @pytest.fixture(scope="class")
    @classmethod
    def inline_reference(cls, light_pipeline, batch):
        """engine_info and results of the batch analysed in this process."""
        info, results = Harness("inline").run(light_pipeline, batch)
        return info, {batch[position].id: result for position, result in results}

    def test_every_title_gets_its_result_and_a_broken_title_fails_alone(self, harness, light_pipeline,
                                                                           batch, inline_reference):
        info, results = harness.run(light_pipeline, batch)
        reference_info, reference = inline_reference
        assert info["digest"] == reference_info["digest"], "the same engine as in this process"
        assert info["versions"] == reference_info["versions"] and info["pipeline"] == reference_info["pipeline"]
        assert sorted(position for position, _ in results) == list(range(len(batch))), "each title once"
        by_id = {}
        for position, result in results:
            assert result.id == batch[position].id and result.source == batch[position].source
            by_id[result.id] = result
        assert {i: r.status for i, r in by_id.items()} == {"broken": "failed", "steady-a": "ok", "steady-b": "ok"}
        assert "broken.mp4" in by_id["broken"].error
        for title_id in ("steady-a", "steady-b"):
            got, want = _analysis(by_id[title_id]), _analysis(reference[title_id])
            assert got["scenes"] == want["scenes"] and got["micro_genres"] == want["micro_genres"], title_id
            # Workers may use other thread counts; float sums can round differently in the last digits.
            assert got["tags"] == pytest.approx(want["tags"], abs=1e-4), title_id
            assert got["embeddings"].keys() == want["embeddings"].keys(), title_id
            for space, vector in want["embeddings"].items():
                assert got["embeddings"][space] == pytest.approx(vector, abs=1e-4), (title_id, space)
        if harness.counts is not None:
            assert all(worker_hook.runs(harness.counts, t.source) == 1 for t in batch), "each title ran once"

    def test_stage_events_come_before_their_title_result(self, harness, light_pipeline, batch):
        if not harness.streams_stages:
            pytest.skip(f"{harness.name}: workers send back results only, no stage events")
        titles = [t for t in batch if t.id != "broken"]
        log = []
        with harness.make(light_pipeline, on_stage=lambda title_id, stage: log.append((title_id, stage))) as executor:
            for position, _ in executor.map(titles):
                log.append((titles[position].id, "result"))
        for title in titles:
            assert [stage for title_id, stage in log if title_id == title.id] == [*light_pipeline.stages, "result"]

    def test_a_dead_worker_retries_only_its_title_then_fails_it(self, harness, light_pipeline, tmp_path):
        if harness.counts is None:
            pytest.skip(f"{harness.name}: titles run in the caller's process; a crash ends the caller, "
                        "so there is nothing left to retry them")
        for title_id in ("steady-a", "crash-once", "steady-b", "crash-always"):
            write_title(tmp_path / title_id, shots=SHOTS)
        titles = discover([tmp_path])
        log = []
        with harness.make(light_pipeline, on_stage=lambda title_id, stage: log.append((title_id, stage))) as executor:
            results = dict(executor.map(titles))
        assert sorted(results) == list(range(len(titles)))
        status = {titles[p].id: r.status for p, r in results.items()}
        assert status == {"crash-always": "failed", "crash-once": "ok", "steady-a": "ok", "steady-b": "ok"}
        assert {t.id: worker_hook.runs(harness.counts, t.source) for t in titles} == {
            "crash-always": 2, "crash-once": 2, "steady-a": 1, "steady-b": 1}
        retried = next(r for p, r in results.items() if titles[p].id == "crash-once")
        assert retried.scenes and retried.tags, "the second run is a full analysis"
        lost = next(r for p, r in results.items() if titles[p].id == "crash-always")
        assert lost.error.startswith(f"{tmp_path / 'crash-always'}: the ") and "died 2 times" in lost.error
        assert harness.death in lost.error
        if harness.streams_stages:
            # Each run reports its stages from the start; the crash comes in the first stage.
            first = light_pipeline.stages[0]
            assert [s for t, s in log if t == "crash-always"] == [first, first]
            assert [s for t, s in log if t == "crash-once"] == [first, *light_pipeline.stages]

    def test_an_engine_that_cannot_load_raises_tagger_error_naming_the_cause(self, harness, light_pipeline,
                                                                                tmp_path):
        missing = tmp_path / "missing-taxonomy.toml"
        with pytest.raises(TaggerError, match=r"missing-taxonomy\.toml") as raised:
            with harness.make(light_pipeline, taxonomy=str(missing)) as executor:
                executor.engine_info()
        if harness.counts is not None:
            assert f"could not load pipeline {light_pipeline.name!r}" in str(raised.value)
