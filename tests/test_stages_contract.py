"""The contract every stage in the registry (tagger.stages.STAGES) keeps, as one table.

Each stage: its Settings is a dataclass whose defaults pass the pipeline's own checks; loading
its class imports nothing heavy; versions() maps str to str and names the libraries whose code
runs in it, and no others; spaces() names the vectors run() fills, with their dimensions; and
on titles that lack what it works on, it skips with a reason or runs cleanly, as OUTCOMES says.

All stages are set up once (CLIP with a tiny checkpoint, text with the default sentence model)
and run in registry order on three small titles. Which libraries run is seen with
sys.setprofile during the full title's run, after the other titles have done the imports.
"""
from __future__ import annotations

import dataclasses
import gc
import subprocess
import sys
import types
from dataclasses import dataclass, field

import numpy as np
import pytest

from tagger import synth
from tagger.errors import StageSkipped
from tagger.settings import from_table
from tagger.stages import STAGES, stage_class
from tagger.stages.base import TitleContext
from tagger.synth import ShotSpec
from tagger.tagging.taxonomy import load_taxonomy
from tagger.titles import discover

from conftest import TWO_SHOTS as SHOTS, write_title

# What each stage does with each title: "ran", or "skipped" (StageSkipped with a reason).
# A new stage says here what it needs.
TITLES = ("full", "silent video", "metadata only")
OUTCOMES = {
    "probe": ("ran", "ran", "skipped"),
    "scenes": ("ran", "ran", "skipped"),
    "visual": ("ran", "ran", "skipped"),
    "imagenet": ("ran", "ran", "skipped"),
    "clip": ("ran", "ran", "skipped"),
    "audio": ("ran", "skipped", "skipped"),
    "text": ("ran", "skipped", "skipped"),
    "tags": ("ran", "ran", "ran"),
    "embed": ("ran", "ran", "ran"),
}

# Libraries that decode media or compute features, embeddings and scores: a new version may
# change what a stage finds, so a stage that runs one records its version. (numpy, scipy and
# numba run under all of them.)
LIBRARIES = ("av", "cv2", "scenedetect", "librosa", "open_clip", "torch", "PIL",
             "sentence_transformers", "transformers", "tokenizers", "onnxruntime")

# Not imported by loading a stage class: pipelines load every class they name, and
# `tagger --help` stays instant.
HEAVY = ("torch", "librosa", "open_clip", "faiss", "pandas", "cv2", "av", "scenedetect", "numba",
         "sentence_transformers", "transformers", "onnxruntime", "sklearn", "PIL")


@dataclass
class StageRun:
    """What one stage did with one title."""
    status: str = ""
    reason: str | None = None
    vectors: dict[str, int] = field(default_factory=dict)   # set or replaced in ctx.vectors: space -> dimension
    libraries: set[str] = field(default_factory=set)         # of LIBRARIES, those whose code ran
    detectors: set[str] = field(default_factory=set)         # scenedetect detector classes that ran


class LibraryCalls:
    """A sys.setprofile hook: which LIBRARIES have code running, and which scenedetect detectors."""

    def __init__(self, record: StageRun):
        self.record = record
        # C functions such as cv2.resize name no module: they are known by identity.
        self.functions = {id(value): name for name in LIBRARIES if name in sys.modules
                          for value in vars(sys.modules[name]).values()
                          if isinstance(value, types.BuiltinFunctionType)}

    def __call__(self, frame, event, arg):
        if event == "call":
            module = frame.f_globals.get("__name__") or ""
            owner = frame.f_code.co_qualname.split(".")[0]   # a method's class
            if module.startswith("scenedetect.detectors.") and isinstance(frame.f_globals.get(owner), type):
                self.record.detectors.add(owner)
        elif event == "c_call":
            owner = getattr(arg, "__self__", None)
            module = (getattr(arg, "__module__", None) or self.functions.get(id(arg))
                      or (owner.__name__ if isinstance(owner, types.ModuleType) else type(owner).__module__))
        else:
            return
        if module.split(".")[0] in LIBRARIES:
            self.record.libraries.add(module.split(".")[0])


# The full title ends on two dark shots of one picture that differ only in light: the default
# shot detector shows that doubtful cut to TransNetV2, so its runtime's code runs too.
FULL_SHOTS = [*SHOTS, ShotSpec(2.0, (60, 50, 40), 0.12, 0.2, 7, accent_hue_deg=30.0),
              ShotSpec(2.0, (60, 50, 40), 0.18, 0.2, 7, accent_hue_deg=30.0)]


def _titles(folder):
    """The three TITLES: video, audio, subtitles and synopsis; video alone; title.toml alone."""
    write_title(folder / "full", shots=FULL_SHOTS, audio=synth.chord("C", "major", duration_s=8.0),
                cues=[(0.5, 2.0, "We have to leave the island tonight."), (2.2, 3.8, "The storm is coming.")],
                synopsis="A family escapes a storm on a remote island.")
    write_title(folder / "silent", shots=SHOTS)
    (folder / "meta").mkdir()
    (folder / "meta" / "title.toml").write_text('id = "meta"\ntitle = "Meta"\n')
    return [discover([folder / name])[0] for name in ("full", "silent", "meta")]


@pytest.fixture(scope="module")
def stages(tiny_checkpoint):
    """Every registered stage, set up, in registry order (which is a valid pipeline order)."""
    taxonomy = load_taxonomy("default")
    built = {}
    for name in STAGES:
        cls = stage_class(name)
        assert set(cls.needs) <= set(built), f"{name} needs {cls.needs}: registry order runs it too early"
        settings = cls.Settings()
        if name == "clip":
            settings = cls.Settings(model="tagger-tiny-clip", pretrained=str(tiny_checkpoint))
        built[name] = cls(settings, taxonomy=taxonomy)
        built[name].setup()
    return built


@pytest.fixture(scope="module")
def runs(stages, tmp_path_factory) -> dict[tuple[str, str], StageRun]:
    """(stage, title kind) -> StageRun, for every stage and title in TITLES."""
    titles = dict(zip(TITLES, _titles(tmp_path_factory.mktemp("titles"))))
    space_dims = {space: dim for stage in stages.values() for space, dim in stage.spaces().items()}
    out = {}
    for kind in (*TITLES[1:], TITLES[0]):   # the full title last: the imports are done by then
        ctx = TitleContext(title=titles[kind], space_dims=dict(space_dims))
        for name, stage in stages.items():
            out[name, kind] = record = StageRun()
            before = dict(ctx.vectors)
            profile = LibraryCalls(record) if kind == "full" else None
            gc.disable()   # no finalizer of another library's object runs inside the profile
            sys.setprofile(profile)
            try:
                stage.run(ctx)
                record.status = "ran"
            except StageSkipped as skipped:
                record.status, record.reason = "skipped", skipped.reason
            finally:
                sys.setprofile(None)
                gc.enable()
            # A stage fills a space by setting it, or by replacing an earlier stage's vector.
            record.vectors = {space: int(np.asarray(vector).size) for space, (_, vector) in ctx.vectors.items()
                              if before.get(space) is not ctx.vectors[space]}
    return out


def _installed(library: str) -> str:
    return sys.modules[library].__version__


def test_outcomes_name_every_registered_stage():
    assert list(OUTCOMES) == list(STAGES)


@pytest.mark.parametrize("name", STAGES)
def test_settings_are_a_dataclass_whose_defaults_pass_the_pipeline_checks(name):
    settings_class = stage_class(name).Settings
    assert dataclasses.is_dataclass(settings_class)
    defaults = settings_class()
    # As a pipeline file builds them: no table, then every default written out (types checked).
    assert from_table(settings_class, {}, path="test.toml", item=f"[{name}]") == defaults
    written = {key: list(value) if isinstance(value, tuple) else value
               for key, value in dataclasses.asdict(defaults).items()}
    assert from_table(settings_class, written, path="test.toml", item=f"[{name}]") == defaults
    validate = getattr(defaults, "validate", None)
    assert validate is None or validate() is None


@pytest.mark.parametrize("name", STAGES)
def test_loading_the_stage_class_imports_nothing_heavy(name):
    code = (f"import sys; from tagger.stages import stage_class; stage_class({name!r}); "
            f"print(sorted(set({HEAVY!r}) & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"loading stage {name} imported {done.stdout.strip()}"


@pytest.mark.parametrize("name", STAGES)
def test_versions_name_the_libraries_that_run_and_no_others(name, stages, runs):
    versions = stages[name].versions()
    assert versions and all(isinstance(k, str) and isinstance(v, str) for k, v in versions.items()), versions
    ran = runs[name, "full"]
    assert ran.status == "ran"
    named = " ".join(versions.values())
    loaded = [library for library in LIBRARIES if library in sys.modules]
    assert {library for library in loaded if _installed(library) in named} == ran.libraries, versions


def test_scenes_versions_name_the_detectors_that_run(stages, runs):
    assert runs["scenes", "full"].detectors, "the profile saw no detector"
    assert set(stages["scenes"].versions()["detectors"].split("+")) == runs["scenes", "full"].detectors


def test_visual_versions_name_the_face_cascades_that_run(stages, monkeypatch):
    from tagger.vision import faces

    loaded, load = [], faces._load
    monkeypatch.setattr(faces, "_cascades", None)   # loaded again, through the spy
    monkeypatch.setattr(faces, "_load", lambda file_name: loaded.append(file_name) or load(file_name))
    faces.detect_faces(np.zeros((180, 320, 3), np.uint8))
    assert loaded and stages["visual"].versions()["faces"] == "+".join(loaded)
    off = stage_class("visual")(stage_class("visual").Settings(face_keyframes_per_scene=0), taxonomy=None)
    assert "faces" not in off.versions(), "no face detection runs"


@pytest.mark.parametrize("name", STAGES)
def test_spaces_are_the_vectors_run_fills(name, stages, runs):
    assert runs[name, "full"].vectors == stages[name].spaces()


@pytest.mark.parametrize("name", STAGES)
def test_a_title_without_what_the_stage_works_on_skips_with_a_reason_or_runs(name, runs):
    for kind, expected in zip(TITLES, OUTCOMES[name]):
        record = runs[name, kind]
        assert record.status == expected, (kind, record.reason)
        if record.status == "skipped":
            assert isinstance(record.reason, str) and record.reason.strip(), kind
            assert not record.vectors, f"{name} skipped {kind} but filled {record.vectors}"
