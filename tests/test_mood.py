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


def test_the_music_estimate_stands_alone_and_is_none_without_music():
    """music_arousal / music_valence read the music part only: equal to the whole span's where
    there is no speech, None where under a second of music (speech only)."""
    import dataclasses

    from tagger.audio.mood import estimate_mood
    from tagger.audio.summary import onset_frames, silent_frames, sound_classes

    music = synth.mix(synth.click_track(120, duration_s=6.0, sample_rate_hz=SR, amplitude=0.6),
                      synth.chord("C", "major", duration_s=6.0, sample_rate_hz=SR, amplitude=0.3))
    frames = frame_features(music)
    summary = summarize(frames)
    assert summary["music_share"] > 0.5
    assert summary["music_arousal"] == pytest.approx(summary["arousal"])
    assert summary["music_valence"] == pytest.approx(summary["valence"])
    classes = sound_classes(frames)
    as_speech = dataclasses.replace(classes, speech=classes.music | classes.speech,
                                    music=np.zeros_like(classes.music))
    onsets = onset_frames(frames, silent_frames(frames.rms_db))
    spoken = estimate_mood(frames, as_speech, onsets=onsets)
    assert spoken["arousal"] is not None and spoken["music_arousal"] is None and spoken["music_valence"] is None


@pytest.mark.parametrize("tag_id", ["calm-score", "energetic-score", "ominous-score", "uplifting-score",
                                    "melancholy-score", "upbeat", "somber"])
def test_soundtrack_tags_read_the_music_and_need_some(tag_id):
    """A soundtrack tag (and the moods whose rule is the soundtrack's) reads the music's own mood
    and needs music in a fifth of the runtime: a talky title with a second of music is not
    "calm soundtrack" from its voices (the speech part is fitted on singing, not dialogue)."""
    from tagger.tagging.taxonomy import load_taxonomy

    tag = load_taxonomy("default").tag(tag_id)
    assert {rule.feature for rule in tag.rules} >= {"audio.music_share"}
    assert not {rule.feature for rule in tag.rules} & {"audio.arousal", "audio.valence"}
    fitting = {}
    for rule in tag.rules:   # a value well on the firing side of every rule
        fitting[rule.feature] = rule.above + 3 * rule.width if rule.above is not None else rule.below - 3 * rule.width
    fitting["audio.music_share"] = 0.6
    assert tag.rule_confidence(fitting) > 0.9
    assert tag.rule_confidence({**fitting, "audio.music_share": 0.05}) < 0.1
    mood_feature = next(rule.feature for rule in tag.rules if rule.feature != "audio.music_share")
    assert tag.rule_confidence({**fitting, mood_feature: None}) is None
