"""The fitted mood model: its data file, a known-answer ordering, and how parts combine."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tagger import synth
from tagger.audio.features import frame_features
from tagger.audio.mood import (
    INPUTS,
    MOOD_FILE_NOTE_KEYS,
    MOOD_MODEL_FILE,
    load_mood_model,
    mood_from_inputs,
)
from tagger.audio.summary import summarize
from tagger.errors import InputError

SR = 22050


def test_the_shipped_model_loads_with_its_note():
    model = load_mood_model()
    assert model.version.startswith("4q-logistic-")
    assert set(model.models) == {"music_arousal", "music_valence", "speech_arousal", "speech_valence"}
    for regression in model.models.values():
        assert set(regression.inputs) <= set(INPUTS)
        assert np.all(np.isfinite(regression.weight)) and np.all(regression.scale > 0)
    note = json.loads(MOOD_MODEL_FILE.read_text())["note"]
    assert set(MOOD_FILE_NOTE_KEYS) <= set(note)
    assert "Panda" in note["data_set"] and "benchmarks/audio_mood.py --fit" in note["made_by"]
    assert note["cv_scores"]["arousal"] >= 0.75     # the target, within genre


@pytest.mark.parametrize("change, item", [
    (lambda d: d["models"]["music_arousal"]["inputs"].__setitem__(0, "loudness"), "models.music_arousal"),
    (lambda d: d["models"].pop("speech_valence"), "models.speech_valence"),
    (lambda d: d["models"]["music_valence"]["weight"].pop(), "models.music_valence"),
])
def test_a_broken_model_file_names_the_file_and_item(tmp_path, change, item):
    data = json.loads(MOOD_MODEL_FILE.read_text())
    change(data)
    path = tmp_path / "mood.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as raised:
        load_mood_model(path)
    assert str(path) in str(raised.value) and item in str(raised.value)


def test_loud_fast_bright_music_is_more_aroused_than_soft_slow_dark_music():
    rng = np.random.default_rng(0)
    hiss = (0.05 * rng.standard_normal(10 * SR)).astype(np.float32)
    energetic = synth.mix(synth.click_track(168, duration_s=10.0, sample_rate_hz=SR, amplitude=0.9), hiss,
                          synth.chord("E", "major", duration_s=10.0, octave=5, sample_rate_hz=SR, amplitude=0.3))
    calm = synth.mix(synth.click_track(56, duration_s=10.0, sample_rate_hz=SR, amplitude=0.05),
                     synth.chord("A", "minor", duration_s=10.0, octave=2, sample_rate_hz=SR, amplitude=0.05))
    a_energetic = summarize(frame_features(energetic))["arousal"]
    a_calm = summarize(frame_features(calm))["arousal"]
    assert a_energetic > a_calm + 0.3


def test_parts_combine_by_their_seconds():
    model = load_mood_model()
    music = {name: float(m) for name, m in zip(model.models["music_arousal"].inputs,
                                                model.models["music_arousal"].mean)}
    speech = {name: float(m) for name, m in zip(model.models["speech_arousal"].inputs,
                                                 model.models["speech_arousal"].mean)}
    alone_music = mood_from_inputs(model, {"music": (3.0, music)})
    alone_speech = mood_from_inputs(model, {"speech": (9.0, speech)})
    both = mood_from_inputs(model, {"music": (3.0, music), "speech": (9.0, speech)})
    for target in ("arousal", "valence"):
        expected = (3.0 * alone_music[target] + 9.0 * alone_speech[target]) / 12.0
        assert both[target] == pytest.approx(expected)
    assert mood_from_inputs(model, {}) == {"arousal": None, "valence": None}
