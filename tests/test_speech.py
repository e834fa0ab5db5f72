"""Speech segments from Silero VAD, and what follows from them: speech, music and silence
shares, tempo and key on music only. Generated signals with known answers, plus the stage."""
from __future__ import annotations

import socket
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from tagger import synth
from tagger.audio.features import frame_features, mark_speech
from tagger.audio.speech import (
    VAD_SAMPLE_RATE_HZ,
    SpeechTracker,
    load_vad,
    mask_segments,
    speech_segments,
    vad_model_id,
    vad_model_path,
)
from tagger.audio.summary import summarize

SR = 22050
PAUSE_S = 0.15   # a gap in the clean voice at least this long is a pause (synth: phrases 0.25-0.7 s apart,
                 # syllables 0.02-0.06 s apart), so it is not speech


@pytest.fixture(scope="module")
def vad():
    return load_vad()


def voiced_share(voice: np.ndarray, sample_rate_hz: int = SR) -> float:
    """The known answer: the share of time the clean voice sounds, pauses of PAUSE_S or more
    taken out (gaps between syllables are inside words and phrases, so they stay in)."""
    gaps = mask_segments(np.abs(voice) <= 1e-3, hop_s=1.0 / sample_rate_hz, min_s=PAUSE_S)
    return 1.0 - sum(b - a for a, b in gaps) * sample_rate_hz / len(voice)


def babble(seed: int, duration_s: float) -> tuple[np.ndarray, float]:
    """synth.speech_like made at 16 kHz and resampled to the stage's 22.05 kHz, with its voiced
    share. Measured: Silero reads the babble synthesised this way within 0.07 of its voiced
    share on seeds 0-7, while babble synthesised at 22.05 kHz directly reads anywhere from 0.1
    to 0.8 of it, depending on the seed: the formant synthesiser is only just speech to the
    model, and its pulse train differs with the rate."""
    import soxr

    voice = synth.speech_like(duration_s=duration_s, sample_rate_hz=VAD_SAMPLE_RATE_HZ, seed=seed)
    return soxr.resample(voice, VAD_SAMPLE_RATE_HZ, SR), voiced_share(voice, VAD_SAMPLE_RATE_HZ)


def summary_with_speech(y: np.ndarray, vad) -> dict:
    return summarize(mark_speech(frame_features(y), speech_segments(y, sample_rate_hz=SR, session=vad)))


def test_the_vad_weights_load_from_the_wheel_without_the_network(vad, monkeypatch):
    path = vad_model_path()
    assert path.is_file() and path.parent.parent.name == "silero_vad"
    assert vad_model_id().startswith("silero-vad-") and path.name in vad_model_id()

    def no_network(*args, **kwargs):
        raise AssertionError("the VAD tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    session = load_vad()
    assert {i.name for i in session.get_inputs()} == {"input", "h", "c"}
    # Loading did not import torch through the silero_vad package.
    assert speech_segments(np.zeros(VAD_SAMPLE_RATE_HZ, np.float32), sample_rate_hz=VAD_SAMPLE_RATE_HZ,
                           session=session) == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_speech_share_of_speech_like_babble_is_its_voiced_share(vad, seed):
    voice, truth = babble(seed, 20.0)
    assert 0.6 < truth < 0.9        # the pauses are a real part of the signal
    s = summary_with_speech(voice, vad)
    assert s["speech_share"] == pytest.approx(truth, abs=0.1)
    assert s["music_share"] < 0.05
    assert s["tempo_bpm"] is None and s["key"] is None and s["mode"] is None   # no tempo read off syllables
    assert s["arousal"] is not None   # speech prosody still gives a mood


def test_speech_over_a_quiet_pad_is_still_its_voiced_share(vad):
    voice, truth = babble(4, 20.0)
    pad = synth.chord("F", "major", duration_s=20.0, octave=3, sample_rate_hz=SR, amplitude=0.08)
    s = summary_with_speech(synth.mix(voice, pad), vad)
    assert s["speech_share"] == pytest.approx(truth, abs=0.1)


def test_loud_percussion_and_chords_are_not_speech(vad):
    clicks = synth.click_track(128, duration_s=16.0, sample_rate_hz=SR, amplitude=0.9)
    pad = synth.chord("A", "minor", duration_s=16.0, octave=3, sample_rate_hz=SR, amplitude=0.2)
    s = summary_with_speech(synth.mix(clicks, pad), vad)
    assert s["speech_share"] < 0.1
    assert s["music_share"] > 0.9
    assert s["tempo_bpm"] == pytest.approx(128, rel=0.05)
    assert (s["key"], s["mode"]) == ("A", "minor")


def test_speech_then_music_splits_at_the_change(vad):
    # Babble comes first: after music the model's state needs more than this borderline voice
    # to turn (real speech after music is tested on the LibriSpeech clip below).
    voice, _ = babble(5, 8.0)
    music = synth.mix(synth.click_track(100, duration_s=8.0, sample_rate_hz=SR, amplitude=0.6),
                      synth.chord("C", "major", duration_s=8.0, sample_rate_hz=SR, amplitude=0.2))
    s = summary_with_speech(np.concatenate([voice, music]), vad)
    assert s["speech_segments"] and s["music_segments"]
    assert max(b for _, b in s["speech_segments"]) <= 8.0 + 0.3
    assert min(a for a, _ in s["music_segments"]) >= 8.0 - 1.0   # the last pause joins the music
    assert s["tempo_bpm"] == pytest.approx(100, rel=0.05)   # measured on the music half
    assert (s["key"], s["mode"]) == ("C", "major")


def test_chunks_of_any_length_give_the_segments_of_one_pass(vad):
    voice, _ = babble(6, 12.0)
    whole = speech_segments(voice, sample_rate_hz=SR, session=vad)
    tracker = SpeechTracker(vad, SR)
    for piece in np.array_split(voice, [3001, 50_000, 50_017, 170_000]):
        tracker.push(piece)
    chunked = tracker.finish()
    assert len(chunked) == len(whole) > 2
    for (a, b), (c, d) in zip(chunked, whole):
        assert a == pytest.approx(c, abs=0.033) and b == pytest.approx(d, abs=0.033)


def _peak_traced_mb(duration_s: float, vad) -> float:
    rng = np.random.default_rng(0)
    tracker = SpeechTracker(vad, SR)
    tracemalloc.start()
    try:
        for _ in range(int(duration_s / 10)):
            tracker.push((0.1 * rng.standard_normal(10 * SR)).astype(np.float32))
        tracker.finish()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def test_vad_memory_does_not_grow_with_length(vad):
    short, long = _peak_traced_mb(20.0, vad), _peak_traced_mb(200.0, vad)
    assert long < short + 1.0     # ten times the audio, under a megabyte more at peak


def test_the_stage_keeps_speech_segments_per_scene(tmp_path):
    from tagger.media.probe import probe
    from tagger.scenes.split import SceneCut, SplitResult
    from tagger.stages.audio import AudioStage
    from tagger.stages.base import TitleContext
    from tagger.titles import discover

    voice, _ = babble(7, 6.0)
    music = synth.mix(synth.click_track(120, duration_s=6.0, sample_rate_hz=SR, amplitude=0.6),
                      synth.chord("G", "major", duration_s=6.0, sample_rate_hz=SR, amplitude=0.2))
    audio = np.concatenate([voice, music])
    frames = (np.full((36, 64, 3), 80, np.uint8) for _ in range(24))
    video = synth.write_video(tmp_path / "t.mp4", frames, fps=2, audio=audio, sample_rate_hz=SR)
    stage = AudioStage(AudioStage.Settings(), taxonomy=None)
    stage.setup()
    assert stage.versions()["vad"] == vad_model_id()
    assert stage.versions()["mood"].startswith("4q-")
    [title] = discover([Path(video)])
    ctx = TitleContext(title=title, media=probe(video))
    ctx.split = SplitResult([SceneCut(0, 0, 12, 0.0, 6.0), SceneCut(1, 12, 24, 6.0, 12.0)], 24)
    ctx.scene_features = [{}, {}]
    stage.run(ctx)
    first, second = ctx.scene_features
    assert second["audio.speech_share"] < 0.1 < 0.5 < first["audio.speech_share"]
    assert second["audio.tempo_bpm"] == pytest.approx(120, rel=0.05) and first["audio.tempo_bpm"] is None
    assert first["audio.speech_segments"]
    assert all(0.0 <= a < b <= 6.0 + 512 / SR for a, b in first["audio.speech_segments"])   # whole frames
    assert all(6.0 <= a < b <= 12.1 for a, b in second["audio.music_segments"])

    assert ctx.features["audio.speech_segments"] and ctx.features["audio.music_segments"]
    assert first["audio.arousal"] is not None and second["audio.valence"] is not None


# ------------------------------------------------------------------- real speech (shared media)

@pytest.fixture
def librispeech(shared_media):
    """15 s of clean read speech (LibriSpeech, CC BY 4.0) at the stage's rate, with its voiced
    share: 32 ms frames within 35 dB of the loudest, pauses of PAUSE_S or more left out (the
    recording is clean, so level alone tells its pauses)."""
    from tagger.media.decode import iter_audio

    path = shared_media / "librispeech_5703-47212-0000.ogg"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    y = np.concatenate(list(iter_audio(path, sample_rate_hz=SR)))
    frame = 512
    level_db = 10 * np.log10(np.mean(y[: len(y) // frame * frame].reshape(-1, frame) ** 2, axis=1) + 1e-12)
    gaps = mask_segments(level_db < level_db.max() - 35.0, hop_s=frame / SR, min_s=PAUSE_S)
    return y, 1.0 - sum(b - a for a, b in gaps) / (len(y) / SR)


def test_real_read_speech_share_is_its_voiced_share(vad, librispeech):
    speech, truth = librispeech
    s = summary_with_speech(speech, vad)
    assert s["speech_share"] == pytest.approx(truth, abs=0.1)
    assert s["tempo_bpm"] is None and s["music_share"] < 0.05


def test_real_speech_over_and_after_music(vad, librispeech):
    speech, truth = librispeech
    duration_s = len(speech) / SR
    music = synth.mix(synth.click_track(120, duration_s=duration_s, sample_rate_hz=SR, amplitude=0.3),
                      synth.chord("G", "major", duration_s=duration_s, sample_rate_hz=SR, amplitude=0.1))
    over = summary_with_speech(synth.mix(speech, music), vad)
    assert over["speech_share"] == pytest.approx(truth, abs=0.1)
    after = summary_with_speech(np.concatenate([music[: 6 * SR], speech]), vad)
    assert min(a for a, _ in after["speech_segments"]) >= 6.0 - 0.1
    assert after["tempo_bpm"] == pytest.approx(120, rel=0.05)   # the 6 s of music before the speech
