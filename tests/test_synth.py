"""tagger.synth checked with independent measurements: PyAV decoding, numpy FFT, plain
threshold onset detection. Small sizes so the module runs in a few seconds."""
from __future__ import annotations

import re
import types

import av
import numpy as np
import pytest

from tagger import synth
from tagger.synth import ShotSpec

FPS = 12
SIZE = (160, 96)  # width, height
SR = 22050


def _grey(frame_bgr: np.ndarray) -> np.ndarray:
    b, g, r = (frame_bgr[..., i].astype(np.float64) for i in range(3))
    return 0.114 * b + 0.587 * g + 0.299 * r


def _decode_video(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def _decode_audio(path) -> tuple[np.ndarray, int]:
    with av.open(str(path)) as c:
        rate = c.streams.audio[0].rate
        chunks = [f.to_ndarray().reshape(-1) if f.to_ndarray().shape[0] == 1
                  else f.to_ndarray()[0] for f in c.decode(audio=0)]
    return np.concatenate(chunks), rate


def _spectrum(x: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    mag = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / sr), mag


SHOTS = [
    ShotSpec(1.0, (40, 200, 240), brightness=0.6, motion=0.6, texture_seed=1),
    ShotSpec(0.75, (160, 90, 30), brightness=0.4, motion=0.3, texture_seed=2),
    ShotSpec(1.25, (60, 150, 60), brightness=0.5, motion=0.8, texture_seed=3),
    ShotSpec(1.0, (50, 60, 190), brightness=0.45, motion=0.5, texture_seed=4),
]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """SHOTS written to mp4 with a 4 s A-minor chord."""
    path = tmp_path_factory.mktemp("synth") / "clip.mp4"
    audio = synth.chord("A", "minor", duration_s=4.0, octave=3, sample_rate_hz=SR)
    synth.write_video(path, synth.render_shots(SHOTS, fps=FPS, size=SIZE), fps=FPS,
                      audio=audio, sample_rate_hz=SR)
    return path


# ------------------------------------------------------------------------------------- video

def test_cut_frames_and_frame_count_follow_cumulative_durations():
    assert synth.cut_frames(SHOTS, fps=FPS) == [12, 21, 36]
    assert synth.frame_count(SHOTS, fps=FPS) == 48
    # Cumulative rounding: 7 shots of 0.3 s at 25 fps must not drift (52.5 frames -> 52 or 53).
    shots = [ShotSpec(0.3, (100, 100, 100), texture_seed=i) for i in range(7)]
    assert synth.cut_frames(shots, fps=25) == [round(0.3 * k * 25) for k in range(1, 7)]
    assert synth.frame_count(shots, fps=25) == round(2.1 * 25)


def test_render_shots_streams_deterministic_frames_of_the_right_shape():
    frames = synth.render_shots(SHOTS[:2], fps=FPS, size=SIZE)
    assert isinstance(frames, types.GeneratorType)  # lazy, not a list
    first = next(frames)
    assert first.shape == (SIZE[1], SIZE[0], 3) and first.dtype == np.uint8
    again = next(synth.render_shots(SHOTS[:2], fps=FPS, size=SIZE))
    np.testing.assert_array_equal(first, again)
    assert sum(1 for _ in frames) + 1 == synth.frame_count(SHOTS[:2], fps=FPS)


def test_written_video_decodes_to_expected_frame_count_and_duration(clip):
    with av.open(str(clip)) as c:
        vs = c.streams.video[0]
        assert vs.codec_context.name in ("h264", "mpeg4")
        assert (vs.width, vs.height) == SIZE
        duration_s = float(vs.duration * vs.time_base) if vs.duration else c.duration / 1e6
    frames = _decode_video(clip)
    expected = synth.frame_count(SHOTS, fps=FPS)
    assert abs(len(frames) - expected) <= 1
    assert abs(duration_s - expected / FPS) <= 1.0 / FPS + 1e-6


def test_frame_difference_spikes_exactly_at_cut_frames(clip):
    grey = [_grey(f) for f in _decode_video(clip)]
    diff = np.array([np.abs(grey[i] - grey[i - 1]).mean() for i in range(1, len(grey))])
    cuts = synth.cut_frames(SHOTS, fps=FPS)
    at_cuts = diff[np.array(cuts) - 1]
    elsewhere = np.delete(diff, np.array(cuts) - 1)
    assert at_cuts.min() > 4 * elsewhere.max(), (at_cuts, elsewhere.max())
    threshold = (at_cuts.min() + elsewhere.max()) / 2
    assert [i + 1 for i in np.flatnonzero(diff > threshold)] == cuts
    # Motion is real: consecutive frames inside a shot are not identical.
    assert elsewhere.mean() > 0.3


def test_fades_reach_near_black_and_brightness_hits_its_target():
    shots = [ShotSpec(2.0, (90, 160, 200), brightness=0.6, motion=0.3, texture_seed=5,
                      fade_in_s=0.5, fade_out_s=0.75)]
    luma = np.array([_grey(f).mean() / 255 for f in synth.render_shots(shots, fps=FPS,
                                                                       size=SIZE)])
    assert luma[0] < 0.04 and luma[-1] < 0.04          # starts and ends near black
    middle = luma[int(0.5 * FPS) + 1:-int(0.75 * FPS) - 1]
    assert abs(middle.mean() - 0.6) < 0.05             # brightness = mean luma between fades
    fade_out = luma[-int(0.75 * FPS) - 1:]
    assert np.all(np.diff(fade_out) < 0)               # monotonic fade


@pytest.mark.parametrize("target", [0.15, 0.5, 0.8])
def test_brightness_sets_mean_luma(target):
    shots = [ShotSpec(0.5, (200, 120, 40), brightness=target, texture_seed=9)]
    frames = list(synth.render_shots(shots, fps=FPS, size=SIZE))
    assert abs(np.mean([_grey(f).mean() for f in frames]) / 255 - target) < 0.04


def test_motion_scales_frame_to_frame_change():
    def mean_diff(motion):
        shots = [ShotSpec(1.0, (80, 140, 200), motion=motion, texture_seed=3)]
        g = [_grey(f) for f in synth.render_shots(shots, fps=FPS, size=SIZE)]
        return np.mean([np.abs(g[i] - g[i - 1]).mean() for i in range(1, len(g))])

    still, slow, fast = mean_diff(0.0), mean_diff(0.2), mean_diff(0.9)
    assert still < slow < fast
    assert fast > 3 * still


def test_write_video_falls_back_or_overrides_codec(tmp_path):
    shots = [ShotSpec(0.5, (40, 80, 160), texture_seed=1)]
    path = synth.write_video(tmp_path / "m4.mp4", synth.render_shots(shots, fps=FPS, size=SIZE),
                             fps=FPS, codec="mpeg4")
    with av.open(str(path)) as c:
        assert c.streams.video[0].codec_context.name == "mpeg4"
    assert len(_decode_video(path)) == synth.frame_count(shots, fps=FPS)


def test_write_video_webm_by_suffix(tmp_path):
    try:
        av.Codec("libvpx-vp9", "w"), av.Codec("libopus", "w")
    except Exception:
        pytest.skip("PyAV's FFmpeg lacks libvpx-vp9 or libopus")
    shots = [ShotSpec(0.5, (40, 80, 160), texture_seed=1)]
    tone = synth.tone(440.0, duration_s=0.5, sample_rate_hz=SR)
    path = synth.write_video(tmp_path / "clip.webm",
                             synth.render_shots(shots, fps=FPS, size=SIZE), fps=FPS,
                             audio=tone, sample_rate_hz=SR)
    with av.open(str(path)) as c:
        assert c.streams.video[0].codec_context.name == "vp9"
        assert c.streams.audio[0].codec_context.name == "opus"
    samples, rate = _decode_audio(path)
    assert abs(len(samples) / rate - 0.5) < 0.1


def test_write_video_rejects_odd_sizes(tmp_path):
    with pytest.raises(ValueError, match="even"):
        synth.write_video(tmp_path / "odd.mp4", [np.zeros((15, 20, 3), np.uint8)], fps=FPS)


# ------------------------------------------------------------------------------------- audio

def test_note_hz_uses_scientific_pitch():
    assert synth.note_hz("A", 4) == pytest.approx(440.0)
    assert synth.note_hz("C", 4) == pytest.approx(261.626, abs=1e-3)
    assert synth.note_hz("Bb", 3) == pytest.approx(synth.note_hz("A#", 3))
    with pytest.raises(ValueError):
        synth.note_hz("H")


@pytest.mark.parametrize("octave,expected", [(3, (220.0, 261.63, 329.63)),
                                             (4, (440.0, 523.25, 659.26))])
def test_chord_a_minor_has_spectral_peaks_at_its_notes(octave, expected):
    x = synth.chord("A", "minor", duration_s=2.0, octave=octave, sample_rate_hz=SR, harmonics=1)
    freqs, mag = _spectrum(x, SR)
    # The three strongest local maxima are the triad (0.5 Hz bins).
    peaks = [i for i in range(1, len(mag) - 1) if mag[i] >= mag[i - 1] and mag[i] >= mag[i + 1]]
    top = sorted(sorted(peaks, key=lambda i: mag[i])[-3:])
    np.testing.assert_allclose(freqs[top], expected, atol=1.0)
    # No energy at notes outside the triad (B, C#, G#).
    quiet = [np.interp(f, freqs, mag) for f in
             (synth.note_hz("B", octave), synth.note_hz("C#", octave + 1),
              synth.note_hz("G#", octave))]
    assert max(quiet) < 0.01 * mag[top].min()


def test_chord_harmonics_and_modes():
    major = synth.chord("C", "major", duration_s=1.0, sample_rate_hz=SR, harmonics=3)
    freqs, mag = _spectrum(major, SR)
    e4 = np.interp(329.63, freqs, mag)
    eb4 = np.interp(311.13, freqs, mag)
    assert e4 > 50 * eb4                               # major third, not minor
    assert np.interp(2 * 261.63, freqs, mag) > 0.2 * np.interp(261.63, freqs, mag)  # 2nd harmonic
    assert np.abs(major).max() == pytest.approx(0.3, abs=1e-3)
    with pytest.raises(ValueError):
        synth.chord("C", "lydian", duration_s=1.0)


def test_click_track_onsets_are_spaced_by_the_beat_period():
    bpm = 132.0
    x = synth.click_track(bpm, duration_s=5.2, sample_rate_hz=SR, accent_every=4)
    above = np.flatnonzero(np.abs(x) > 0.05)
    onsets = above[np.insert(np.diff(above) > int(0.1 * SR), 0, True)]  # first sample of bursts
    period = 60.0 / bpm
    assert len(onsets) == int(np.floor(5.2 / period)) + 1
    np.testing.assert_allclose(np.diff(onsets) / SR, period, atol=0.002)
    assert onsets[0] < 0.002 * SR
    peaks = np.array([np.abs(x[o:o + int(0.03 * SR)]).max() for o in onsets])
    assert np.all(peaks[::4] > 1.3 * np.delete(peaks, np.arange(0, len(peaks), 4)).max())


def test_speech_like_has_syllable_rate_modulation_pauses_and_voice_pitch():
    x = synth.speech_like(duration_s=12.0, sample_rate_hz=SR, seed=3)
    assert len(x) == 12 * SR and np.abs(x).max() == pytest.approx(0.5, abs=1e-3)
    hop = int(0.01 * SR)  # 10 ms frames
    rms = np.sqrt(np.array([np.mean(x[i:i + 2 * hop] ** 2) for i in range(0, len(x) - 2 * hop,
                                                                          hop)]) + 1e-12)
    db = 20 * np.log10(rms / rms.max())
    assert (db < -30).mean() > 0.15                    # pauses and gaps between syllables
    env = rms - rms.mean()
    freqs, mag = _spectrum(env, 100)
    band = (freqs > 1.0) & (freqs < 15.0)
    peak_hz = freqs[band][np.argmax(mag[band])]
    assert 3.0 <= peak_hz <= 6.5, peak_hz              # the ~4 Hz syllable rhythm
    # Pitch of the loudest voiced 60 ms: autocorrelation peak in 100-150 Hz.
    i = int(np.argmax(rms)) * hop
    seg = x[i:i + int(0.06 * SR)] - x[i:i + int(0.06 * SR)].mean()
    ac = np.correlate(seg, seg, "full")[len(seg) - 1:]
    lags = np.arange(int(SR / 160), int(SR / 90))
    f0 = SR / lags[np.argmax(ac[lags])]
    assert 100 <= f0 <= 150, f0
    assert not np.array_equal(x, synth.speech_like(duration_s=12.0, sample_rate_hz=SR, seed=4))


def test_tone_peak_and_frequency():
    x = synth.tone(1000.0, duration_s=1.0, sample_rate_hz=SR, amplitude=0.25, harmonics=1)
    assert len(x) == SR and x.dtype == np.float32
    assert np.abs(x).max() == pytest.approx(0.25, abs=1e-3)
    freqs, mag = _spectrum(x, SR)
    assert freqs[np.argmax(mag)] == pytest.approx(1000.0, abs=1.0)
    assert abs(x[0]) < 1e-6 and abs(x[-1]) < 1e-3       # ramped ends, no click


def test_mix_pads_sums_and_limits_peak():
    a = np.full(100, 0.6, np.float32)
    b = np.full(50, 0.6, np.float32)
    m = synth.mix(a, b)
    assert len(m) == 100 and np.abs(m).max() == pytest.approx(0.9)
    assert m[0] == pytest.approx(2 * m[99])            # relative levels kept while scaling
    quiet = synth.mix(np.full(10, 0.1, np.float32), np.full(20, 0.2, np.float32))
    np.testing.assert_allclose(quiet, np.r_[np.full(10, 0.3), np.full(10, 0.2)], atol=1e-6)


def test_audio_in_mp4_decodes_to_the_right_duration_and_pitch(clip):
    samples, rate = _decode_audio(clip)
    assert rate == SR
    assert abs(len(samples) / rate - 4.0) <= 0.1
    freqs, mag = _spectrum(samples[SR:3 * SR], rate)
    low = freqs < 400
    assert freqs[low][np.argmax(mag[low])] == pytest.approx(220.0, abs=2.0)


# --------------------------------------------------------------------------------- subtitles

CUES = [(0.0, 1.5, "Who's there?"), (61.25, 63.0, "Two\nlines"), (3723.5, 3725.004, "Late")]


def test_write_srt(tmp_path):
    text = synth.write_srt(tmp_path / "a.srt", CUES).read_text(encoding="utf-8")
    blocks = text.strip().split("\n\n")
    assert len(blocks) == 3
    assert blocks[0].splitlines() == ["1", "00:00:00,000 --> 00:00:01,500", "Who's there?"]
    assert blocks[1].splitlines()[1:] == ["00:01:01,250 --> 00:01:03,000", "Two", "lines"]
    assert blocks[2].splitlines()[1] == "01:02:03,500 --> 01:02:05,004"


def test_write_vtt(tmp_path):
    text = synth.write_vtt(tmp_path / "a.vtt", CUES).read_text(encoding="utf-8")
    assert text.startswith("WEBVTT\n\n")
    stamps = re.findall(r"^(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})$", text, re.M)
    assert stamps == [("00:00:00.000", "00:00:01.500"), ("00:01:01.250", "00:01:03.000"),
                      ("01:02:03.500", "01:02:05.004")]


def test_subtitle_writers_reject_backwards_cues(tmp_path):
    with pytest.raises(ValueError, match="cue 1"):
        synth.write_srt(tmp_path / "bad.srt", [(2.0, 1.0, "x")])
