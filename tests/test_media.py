"""Probing and decoding with PyAV: rotation, variable frame rate, audio chunks, bad files."""
from fractions import Fraction

import numpy as np
import pytest

from tagger import synth
from tagger.errors import MediaError
from tagger.media.decode import iter_audio, iter_frames
from tagger.media.probe import probe


def _encode(path, frames, *, rotation=0, pts=None, time_base=Fraction(1, 24), options=None):
    import av

    with av.open(str(path), "w", options=options or {}) as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        if pts is not None:
            stream.codec_context.time_base = time_base
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_rotated_video_is_measured_and_decoded_upright(tmp_path):
    image = np.zeros((32, 64, 3), np.uint8)
    image[:, :32] = 255   # left half white as stored
    path = _encode(tmp_path / "r.mp4", [image] * 12, rotation=90)
    info = probe(path)
    assert info.rotation_deg == 90 and (info.width, info.height) == (32, 64)
    first = next(iter_frames(path, analysis_width=320, rotation_deg=info.rotation_deg))
    assert first.image.shape == (64, 32, 3)
    # 90 degrees counter-clockwise: the stored left half is shown at the bottom.
    assert first.image[:24].mean() < 20 and first.image[-24:].mean() > 235


def test_the_detail_copy_is_the_same_frame_wider_upright_and_never_upscaled(tmp_path):
    image = np.zeros((360, 640, 3), np.uint8)
    image[:, :320] = 255   # left half white as stored
    path = _encode(tmp_path / "d.mp4", [image] * 6)
    first = next(iter_frames(path, analysis_width=160, detail_width=480))
    assert first.image.shape == (90, 160, 3) and first.detail().shape == (270, 480, 3)
    assert first.detail()[:, :200].mean() > 235 and first.detail()[:, -200:].mean() < 20
    assert next(iter_frames(path, analysis_width=160)).detail is None
    assert next(iter_frames(path, analysis_width=160, detail_width=1280)).detail().shape == (360, 640, 3)
    turned = _encode(tmp_path / "t.mp4", [image] * 6, rotation=90)
    upright = next(iter_frames(turned, analysis_width=90, rotation_deg=90, detail_width=180))
    assert upright.image.shape == (160, 90, 3) and upright.detail().shape == (320, 180, 3)
    assert upright.detail()[-100:].mean() > 235 and upright.detail()[:100].mean() < 20   # as the analysis copy


def test_variable_frame_rate_uses_presentation_times(tmp_path):
    frames = [np.full((32, 64, 3), i * 10, np.uint8) for i in range(20)]
    # 1000 Hz clock; gaps alternate between 40 ms and 80 ms.
    pts = np.cumsum([0] + [40 if i % 2 else 80 for i in range(19)]).tolist()
    path = _encode(tmp_path / "vfr.mp4", frames, pts=pts, time_base=Fraction(1, 1000))
    info = probe(path)
    assert info.variable_frame_rate
    times = [f.time_s for f in iter_frames(path, analysis_width=64)]
    np.testing.assert_allclose(times, np.array(pts) / 1000, atol=0.002)


def test_audio_is_decoded_in_chunks_at_the_asked_rate(tmp_path):
    audio = synth.chord("A", "minor", duration_s=5.0, sample_rate_hz=22050)
    shots = [synth.ShotSpec(5.0, (90, 90, 90), 0.5, 0.1, 1)]
    path = synth.write_video(tmp_path / "a.mp4", synth.render_shots(shots, fps=24, size=(64, 36)), fps=24,
                             audio=audio)
    chunks = list(iter_audio(path, sample_rate_hz=16000, chunk_s=2.0))
    assert [len(c) for c in chunks[:2]] == [32000, 32000]
    assert abs(sum(len(c) for c in chunks) / 16000 - 5.0) < 0.1
    assert all(c.dtype == np.float32 for c in chunks)


@pytest.mark.parametrize("content", [b"", b"\x00garbage" * 200])
def test_broken_file_names_the_file(tmp_path, content):
    path = tmp_path / "broken.mp4"
    path.write_bytes(content)
    with pytest.raises(MediaError, match="broken.mp4"):
        probe(path)


def test_a_truncated_video_fails_instead_of_passing_as_a_short_one(tmp_path):
    # The index at the front (faststart), so the first 30% opens and decodes quietly up to where
    # the bytes end: 24 s of declared video, about 7 s of frames.
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (36, 64, 3), np.uint8) for _ in range(24 * 24)]
    path = _encode(tmp_path / "whole.mp4", frames, options={"movflags": "faststart"})
    assert sum(1 for _ in iter_frames(path, analysis_width=64)) == len(frames)
    cut = tmp_path / "cut.mp4"
    data = path.read_bytes()
    cut.write_bytes(data[:int(len(data) * 0.3)])
    assert probe(cut).duration_s == pytest.approx(24.0, abs=0.1)   # the container still says 24 s
    with pytest.raises(MediaError, match=r"cut.mp4: video stops at \d+\.\d s .* of the 24.0 s .*truncated"):
        for _ in iter_frames(cut, analysis_width=64):
            pass


@pytest.mark.parametrize("suffix, codec", [("mkv", "libx264"), ("webm", "libvpx-vp9")])
def test_a_truncated_matroska_or_webm_fails_too(tmp_path, suffix, codec):
    """Matroska keeps the length in its header (and a per-stream DURATION tag), not in the
    stream: a file cut in half still declares all of it."""
    import av

    path = tmp_path / f"whole.{suffix}"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 36, "yuv420p"
        for i in range(240):
            frame = av.VideoFrame.from_ndarray(np.full((36, 64, 3), (i * 7) % 256, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert sum(1 for _ in iter_frames(path, analysis_width=64)) == 240
    cut = tmp_path / f"cut.{suffix}"
    cut.write_bytes(path.read_bytes()[:path.stat().st_size // 2])
    with pytest.raises(MediaError, match=rf"cut.{suffix}: video stops at .* of the 10.0 s .*truncated"):
        for _ in iter_frames(cut, analysis_width=64):
            pass


def test_ffmpeg_errors_read_without_errno_clutter(tmp_path):
    path = tmp_path / "junk.mp4"
    path.write_bytes(b"\x00garbage" * 200)
    with pytest.raises(MediaError) as caught:
        probe(path)
    assert "Errno" not in str(caught.value) and "cannot open media" in str(caught.value)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(MediaError, match="nothing.mkv: file not found"):
        probe(tmp_path / "nothing.mkv")


def test_cover_art_is_not_video(shared_media):
    info = probe(shared_media / "vibe_ace_jazz.ogg")
    assert not info.has_video and info.has_audio
