"""Audio features, summaries and mood on generated signals with known answers (+ real clips)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tagger.audio.features import (
    FEATURE_VECTOR_NAMES,
    HOP_LENGTH,
    SAMPLE_RATE_HZ,
    FrameFeatures,
    feature_vector,
    frame_features,
)
from tagger.audio.summary import summarize

SR = SAMPLE_RATE_HZ
SUMMARY_KEYS = {
    "loudness_db", "dynamic_range_db", "tempo_bpm", "onset_rate_per_s", "spectral_centroid_hz",
    "spectral_rolloff_hz", "spectral_flatness", "key", "mode", "mode_confidence",
    "silence_share", "speech_share", "music_share", "arousal", "valence", "music_arousal", "music_valence",
    "speech_segments", "music_segments",
}
# Not measured where a span has too little music (tempo, key, mode) or sound (mood).
MAY_BE_NONE = {"tempo_bpm", "key", "mode", "mode_confidence", "arousal", "valence", "music_arousal", "music_valence"}


# ------------------------------------------------------------------------------ signals

def midi_hz(note: int) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def times(duration_s: float) -> np.ndarray:
    return np.arange(int(duration_s * SR)) / SR


def harmonic_tone(freq_hz: float, duration_s: float, *, n_harmonics: int = 4) -> np.ndarray:
    """A tone with harmonics at amplitude 1/h (a rough instrument-like spectrum)."""
    t = times(duration_s)
    return sum(np.sin(2 * np.pi * h * freq_hz * t) / h for h in range(1, n_harmonics + 1))


def chord(notes: list[int], duration_s: float, *, seed: int = 0, peak: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = sum(harmonic_tone(midi_hz(n), duration_s) for n in notes)
    y = y + 0.001 * rng.standard_normal(len(y))
    return (peak * y / np.max(np.abs(y))).astype(np.float32)


def click_track(bpm: float, duration_s: float, *, seed: int = 0, amplitude: float = 0.8,
                accent_every: int = 4) -> np.ndarray:
    """Decaying noise bursts (20 ms) on every beat, accented on the first beat of each bar."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(duration_s * SR), dtype=np.float64)
    burst_len = int(0.02 * SR)
    decay = np.exp(-np.arange(burst_len) / (0.004 * SR))
    for beat, start in enumerate(np.arange(0.0, duration_s - 0.03, 60.0 / bpm)):
        i = int(round(start * SR))
        gain = 1.0 if beat % accent_every == 0 else 0.5
        y[i:i + burst_len] += gain * decay * rng.standard_normal(burst_len)
    return (amplitude * y / np.max(np.abs(y))).astype(np.float32)


def sine(freq_hz: float, duration_s: float, amplitude: float) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * freq_hz * times(duration_s))).astype(np.float32)


def summary_of(y: np.ndarray) -> dict:
    """Summary of a signal with no speech marked (these tests are about the music side;
    tests/test_speech.py runs the speech detector)."""
    return summarize(frame_features(y))


def assert_clean(summary: dict) -> None:
    assert set(summary) == SUMMARY_KEYS
    json.dumps(summary)   # JSON-safe
    for key, value in summary.items():
        if value is None:
            assert key in MAY_BE_NONE, key
        elif key.endswith("_segments"):
            assert all(0.0 <= a < b for a, b in value), key
        elif isinstance(value, float):
            assert math.isfinite(value), key
        else:
            assert isinstance(value, str), key
    for key in ("silence_share", "speech_share", "music_share", "arousal", "valence",
                "mode_confidence"):
        assert summary[key] is None or 0.0 <= summary[key] <= 1.0, key
    # The rest is short non-speech sound between phrases, which is none of the three.
    shares = summary["silence_share"] + summary["speech_share"] + summary["music_share"]
    assert shares <= 1.0 + 1e-6
    music_s = sum(b - a for a, b in summary["music_segments"])
    assert (summary["key"] is None) == (music_s < 3.0)


# ------------------------------------------------------------------------ frame features

def test_frame_count_and_shapes_follow_the_hop():
    y = sine(440, 2.0, 0.5)
    frames = frame_features(y)
    n = len(y) // HOP_LENGTH
    assert frames.n_frames == n
    for name in ("rms_db", "onset_strength", "centroid_hz", "rolloff_hz", "flatness", "zcr"):
        assert getattr(frames, name).shape == (n,)
    assert frames.chroma.shape == (12, n)
    assert frames.hop_s == pytest.approx(HOP_LENGTH / SR)
    assert frames.duration_s == pytest.approx(n * HOP_LENGTH / SR)
    # The 440 Hz sine puts its chroma peak on A and its centroid near 440 Hz.
    assert int(np.argmax(frames.chroma.sum(axis=1))) == 9
    assert np.median(frames.centroid_hz) == pytest.approx(440, rel=0.05)


@pytest.mark.parametrize("n_samples", [0, 1, HOP_LENGTH - 1, HOP_LENGTH, 1500, 3000])
def test_tiny_inputs_give_len_over_hop_frames(n_samples):
    y = sine(440, 1.0, 0.3)[:n_samples]
    frames = frame_features(y)
    assert frames.n_frames == n_samples // HOP_LENGTH
    assert frames.chroma.shape == (12, n_samples // HOP_LENGTH)
    assert np.all(np.isfinite(frames.rms_db))


def test_chunked_features_match_whole_signal():
    # 20 s of chords plus a 120 BPM click track, cut at lengths that are not hop multiples.
    y = (chord([57, 60, 64], 20.0) + click_track(120, 20.0, amplitude=0.4)).astype(np.float32)
    cuts = [int(7.3 * SR), int(13.9 * SR)]
    parts = [frame_features(c) for c in np.split(y, cuts)]
    joined = FrameFeatures.concatenate(parts)
    whole = frame_features(y)
    assert abs(joined.n_frames - whole.n_frames) <= 2
    a, b = summarize(joined), summarize(whole)
    assert b["tempo_bpm"] == pytest.approx(120, rel=0.04)
    assert a["tempo_bpm"] == pytest.approx(b["tempo_bpm"], rel=0.02)
    assert a["loudness_db"] == pytest.approx(b["loudness_db"], abs=0.5)
    assert a["spectral_centroid_hz"] == pytest.approx(b["spectral_centroid_hz"], rel=0.02)
    assert (a["key"], a["mode"]) == (b["key"], b["mode"]) == ("A", "minor")


def test_hop_aligned_chunks_keep_every_sample_on_the_hop_grid():
    from tagger.stages.audio import hop_aligned

    y = np.arange(10_000, dtype=np.float32)
    chunks = list(hop_aligned(np.split(y, [700, 701, 3000, 9999]), HOP_LENGTH))
    assert all(len(c) % HOP_LENGTH == 0 for c in chunks[:-1])
    assert np.array_equal(np.concatenate(chunks), y)
    # So frames of the joined chunks are the frames of the whole signal.
    assert sum(len(c) // HOP_LENGTH for c in chunks) == len(y) // HOP_LENGTH


def test_concatenate_rejects_mixed_rates_and_handles_empty():
    a = frame_features(sine(440, 1.0, 0.5))
    b = frame_features(sine(440, 1.0, 0.5), sample_rate_hz=16000)
    with pytest.raises(ValueError):
        FrameFeatures.concatenate([a, b])
    assert FrameFeatures.concatenate([]).n_frames == 0


def test_slice_picks_the_loud_part():
    y = np.zeros(int(6.0 * SR), dtype=np.float32)
    y[2 * SR:4 * SR] = sine(440, 2.0, 0.5)
    frames = frame_features(y)
    loud = frames.slice(start_s=2.1, end_s=3.9)
    assert loud.duration_s == pytest.approx(1.8, abs=2 * frames.hop_s)
    assert loud.rms_db.min() > -10
    before = frames.slice(start_s=0.0, end_s=1.9)
    assert before.rms_db.max() < -90
    assert frames.slice(start_s=5.0, end_s=99.0).duration_s == pytest.approx(1.0, abs=0.05)
    assert frames.slice(start_s=7.0, end_s=8.0).n_frames == 0


# ------------------------------------------------------------------------------ summaries

@pytest.mark.parametrize("notes, key, mode", [
    ([57, 60, 64], "A", "minor"),   # A3 C4 E4
    ([60, 64, 67], "C", "major"),   # C4 E4 G4
    ([62, 66, 69], "D", "major"),   # D4 F#4 A4
])
def test_triads_give_key_and_mode(notes, key, mode):
    s = summary_of(chord(notes, 4.0))
    assert_clean(s)
    assert (s["key"], s["mode"]) == (key, mode)
    assert s["mode_confidence"] > 0.2
    assert s["silence_share"] == 0.0
    assert s["music_share"] > 0.9


def test_click_track_tempo():
    s = summary_of(click_track(120, 8.0))
    assert_clean(s)
    # Tempo resolution at hop 512 is one autocorrelation lag (117.5 or 123.0 BPM here).
    assert s["tempo_bpm"] == pytest.approx(120, rel=0.04)
    assert s["onset_rate_per_s"] == pytest.approx(2.0, rel=0.15)


def test_short_span_has_no_tempo_but_is_clean():
    s = summary_of(click_track(120, 0.5))
    assert_clean(s)
    assert s["tempo_bpm"] is None and s["key"] is None and s["mode"] is None
    assert s["loudness_db"] > -40


def test_held_chord_has_a_key_but_no_tempo():
    s = summary_of(chord([57, 60, 64], 6.0))
    assert (s["key"], s["mode"]) == ("A", "minor")
    assert s["tempo_bpm"] is None     # no onsets, no beat


def test_silence():
    s = summary_of(np.zeros(3 * SR, dtype=np.float32))
    assert_clean(s)
    assert s["silence_share"] == 1.0
    assert s["loudness_db"] <= -90
    assert s["tempo_bpm"] is None and s["speech_share"] == 0.0 and s["music_share"] == 0.0
    assert s["arousal"] is None and s["valence"] is None and s["key"] is None
    assert np.all(np.isfinite(feature_vector(s)))


def test_empty_span_is_silence():
    s = summarize(FrameFeatures.empty())
    assert_clean(s)
    assert s["silence_share"] == 1.0


def test_half_silence_half_tone():
    y = np.concatenate([np.zeros(2 * SR, dtype=np.float32), chord([60, 64, 67], 2.0)])
    s = summary_of(y)
    assert_clean(s)
    assert s["silence_share"] == pytest.approx(0.5, abs=0.05)
    # dynamic range is measured over the sounding frames only
    assert s["dynamic_range_db"] < 3.0


def test_relative_silence_threshold():
    # Hiss at -48 dBFS is above the absolute floor (-50 dBFS), but next to a tone at about
    # -6 dBFS it is more than 40 dB down, so the relative rule calls it silence.
    rng = np.random.default_rng(1)
    hiss = (10 ** (-48 / 20) * rng.standard_normal(2 * SR)).astype(np.float32)
    y = np.concatenate([sine(440, 2.0, 0.7), hiss])
    assert summary_of(y)["silence_share"] == pytest.approx(0.5, abs=0.05)
    assert summary_of(hiss)["silence_share"] == 0.0


def test_loudness_follows_amplitude():
    loud = summary_of(sine(440, 3.0, 0.5))["loudness_db"]
    quiet = summary_of(sine(440, 3.0, 0.05))["loudness_db"]
    assert loud - quiet == pytest.approx(20.0, abs=1.5)
    assert loud == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=0.5)


def test_music_runs_between_speech_and_their_times():
    # 2 s tone, 2 s marked as speech, 0.5 s tone, 2 s speech, 3 s tone: the 0.5 s run between
    # speech is too short to be music; the others are music, at their own times.
    y = chord([60, 64, 67], 9.5)
    frames = frame_features(y)
    frames.speech[:] = False
    hop_s = frames.hop_s
    for start_s, end_s in ((2.0, 4.0), (4.5, 6.5)):
        frames.speech[int(round(start_s / hop_s)):int(round(end_s / hop_s))] = True
    s = summarize(frames)
    assert_clean(s)
    assert [round(a) for a, _ in s["music_segments"]] == [0, 7]
    assert s["music_segments"][1][0] == pytest.approx(6.5, abs=2 * hop_s)
    assert s["speech_share"] == pytest.approx(4.0 / 9.5, abs=0.01)
    assert s["music_share"] == pytest.approx(5.0 / 9.5, abs=0.01)
    # A slice keeps the title's clock.
    later = summarize(frames.slice(start_s=5.0, end_s=9.5))
    assert later["music_segments"][0][0] == pytest.approx(6.5, abs=2 * hop_s)
    assert later["speech_segments"][0][0] == pytest.approx(5.0, abs=2 * hop_s)


# ------------------------------------------------------------------------ feature vector

def test_feature_vector_fixed_length_and_range():
    vecs = [feature_vector(summary_of(y)) for y in (
        chord([60, 64, 67], 4.0), click_track(120, 4.0), np.zeros(SR, dtype=np.float32))]
    for v in vecs:
        assert v.dtype == np.float32
        assert v.shape == (len(FEATURE_VECTOR_NAMES),)
        assert np.all(np.abs(v) <= 1.0) and np.all(np.isfinite(v))
    assert not np.allclose(vecs[0], vecs[1])
    major = vecs[0][FEATURE_VECTOR_NAMES.index("mode")]
    assert major > 0


def test_feature_vector_key_on_circle_of_fifths():
    base = summary_of(chord([60, 64, 67], 2.0))
    def key_xy(key):
        v = feature_vector({**base, "key": key})
        return np.array([v[FEATURE_VECTOR_NAMES.index("key_fifths_cos")],
                         v[FEATURE_VECTOR_NAMES.index("key_fifths_sin")]])
    # Neighbours on the circle of fifths are closer than a tritone apart.
    assert np.linalg.norm(key_xy("C") - key_xy("G")) < np.linalg.norm(key_xy("C") - key_xy("F#"))
    assert np.linalg.norm(key_xy("C") - key_xy("F")) == pytest.approx(
        np.linalg.norm(key_xy("C") - key_xy("G")), abs=1e-5)


# ------------------------------------------------------------------------- real clips

_REAL_CACHE: dict[str, dict] = {}


@pytest.fixture
def real_summaries(shared_media):
    """Summaries of the four real audio clips through the stage's path (PyAV, Silero VAD,
    librosa), computed once per test session."""
    from tagger.audio.speech import load_vad
    from tagger.stages.audio import decode_frames

    names = ["brahms_hungarian_dance_5.ogg", "librispeech_5703-47212-0000.ogg",
             "vibe_ace_jazz.ogg", "sugar_plum_fairy.ogg"]
    for name in names:
        path = shared_media / name
        if not path.is_file():
            pytest.skip(f"{path} is absent")
        if name not in _REAL_CACHE:
            frames = decode_frames(path, vad=load_vad(), sample_rate_hz=SR, chunk_s=30.0)
            _REAL_CACHE[name] = summarize(frames)
    return _REAL_CACHE


def test_real_brahms_is_minor(real_summaries):
    s = real_summaries["brahms_hungarian_dance_5.ogg"]
    assert_clean(s)
    assert s["mode"] == "minor"
    assert s["music_share"] > 0.8


def test_real_speech_versus_music(real_summaries):
    speech = real_summaries["librispeech_5703-47212-0000.ogg"]
    jazz = real_summaries["vibe_ace_jazz.ogg"]
    assert speech["speech_share"] > speech["music_share"] + 0.5
    assert jazz["music_share"] > jazz["speech_share"] + 0.5
    assert real_summaries["sugar_plum_fairy.ogg"]["music_share"] > 0.8


def test_real_jazz_has_a_plausible_tempo(real_summaries):
    jazz = real_summaries["vibe_ace_jazz.ogg"]
    assert 90 <= jazz["tempo_bpm"] <= 180


def test_real_mood_ordering(real_summaries):
    # The fitted valence puts the major, swinging jazz above the minor dance. (Its arousal puts
    # the jazz below the Sugar Plum Fairy: the recording is dark, and arousal in the 4Q clips
    # goes with brightness; README, Known limits.)
    jazz = real_summaries["vibe_ace_jazz.ogg"]
    brahms = real_summaries["brahms_hungarian_dance_5.ogg"]
    assert jazz["valence"] > brahms["valence"] + 0.3
