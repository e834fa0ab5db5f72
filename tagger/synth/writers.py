"""Writing synthetic media: video (+ audio) through PyAV's bundled FFmpeg, SRT and WebVTT."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

def _encoders_for(suffix: str, codec: str | None) -> tuple[str, str]:
    import av

    def have(name: str) -> bool:
        try:
            av.Codec(name, "w")
            return True
        except Exception:  # PyAV raises different types across versions for unknown codecs
            return False

    if suffix == ".webm":
        video, audio = codec or "libvpx-vp9", "libopus"
        if not have(video):
            video = "libvpx"
    else:  # .mp4 / .m4v / .mov / .mkv
        video, audio = codec or "libx264", "aac"
        if not have(video):
            video = "mpeg4"
    for name in (video, audio):
        if not have(name):
            raise RuntimeError(f"PyAV's FFmpeg has no {name!r} encoder for {suffix} output")
    return video, audio


def write_video(path: str | Path, frames: Iterable[np.ndarray], *, fps: float,
                audio: np.ndarray | None = None, sample_rate_hz: int = 22050,
                codec: str | None = None, crf: int = 28) -> Path:
    """Encode uint8 BGR frames (H, W, 3; H and W even) and optional audio into ``path``.

    .mp4/.m4v/.mov/.mkv: H.264 (libx264, yuv420p, ``crf``) + AAC; falls back to MPEG-4 part 2
    when libx264 is missing. .webm: VP9 + Opus. ``codec`` overrides the video encoder.
    audio is float32 mono (n,) or (n, channels) in -1..1, written as given (not trimmed to the
    video). Frames are consumed one at a time. Returns the path.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    vname, aname = _encoders_for(path.suffix.lower(), codec)
    rate = Fraction(fps).limit_denominator(1001)  # 24 -> 24/1, 23.976 -> 2997/125
    it = iter(frames)
    try:
        first = next(it)
    except StopIteration:
        raise ValueError("write_video needs at least one frame") from None
    height, width = first.shape[:2]
    if height % 2 or width % 2:
        raise ValueError(f"frame size must be even for yuv420p, got {width}x{height}")

    samples = None
    if audio is not None:
        samples = np.asarray(audio, dtype=np.float32)
        samples = samples[:, None] if samples.ndim == 1 else samples
        samples = np.ascontiguousarray(np.clip(samples, -1.0, 1.0).T)  # (channels, n) planar
        if samples.shape[0] not in (1, 2):
            raise ValueError(f"audio must be mono or stereo, got {samples.shape[0]} channels")

    container = av.open(str(path), mode="w")
    try:
        vs = container.add_stream(vname, rate=rate)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        if vname in ("libx264", "h264"):
            vs.options = {"crf": str(crf), "preset": "medium"}
        elif vname.startswith("libvpx"):
            vs.options = {"crf": str(min(63, crf + 8)), "b": "0", "deadline": "good",
                          "cpu-used": "4"}
        else:  # mpeg4 has no crf; a fixed bitrate that looks fine for synthetic content
            vs.bit_rate = int(width * height * float(rate) * 0.12)

        astream = resampler = None
        layout = None
        if samples is not None:
            layout = "mono" if samples.shape[0] == 1 else "stereo"
            # Opus only takes 48/24/16/12/8 kHz, so resample for it.
            out_rate = 48000 if aname == "libopus" else sample_rate_hz
            astream = container.add_stream(aname, rate=out_rate, layout=layout)
            astream.bit_rate = 64000 * samples.shape[0]
            if out_rate != sample_rate_hz or aname == "libopus":
                resampler = av.AudioResampler(format="s16" if aname == "libopus" else "fltp",
                                              layout=layout, rate=out_rate)

        a_pos = 0
        chunk = 1024

        def push_audio(until: int) -> None:
            nonlocal a_pos
            while samples is not None and a_pos < min(until, samples.shape[1]):
                block = samples[:, a_pos:min(a_pos + chunk, until, samples.shape[1])]
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp",
                                                   layout=layout)
                frame.sample_rate = sample_rate_hz
                frame.pts = a_pos
                frame.time_base = Fraction(1, sample_rate_hz)
                a_pos += block.shape[1]
                for fr in (resampler.resample(frame) if resampler else [frame]):
                    for packet in astream.encode(fr):
                        container.mux(packet)

        def frames_all() -> Iterator[np.ndarray]:
            yield first
            yield from it

        for i, img in enumerate(frames_all()):
            if img.shape[:2] != (height, width):
                raise ValueError(f"frame {i} is {img.shape[1]}x{img.shape[0]}, "
                                 f"expected {width}x{height}")
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img, dtype=np.uint8),
                                            format="bgr24")
            vf.pts = i
            vf.time_base = 1 / rate
            for packet in vs.encode(vf):
                container.mux(packet)
            # Interleave: keep the audio written up to the end of this video frame.
            push_audio(int(round((i + 1) / float(rate) * sample_rate_hz)))
        for packet in vs.encode():
            container.mux(packet)
        if samples is not None:
            push_audio(samples.shape[1])
            if resampler is not None:
                for fr in resampler.resample(None):
                    for packet in astream.encode(fr):
                        container.mux(packet)
            for packet in astream.encode():
                container.mux(packet)
    finally:
        container.close()
    return path


def _timestamp(seconds: float, sep: str) -> str:
    ms = int(round(max(seconds, 0.0) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _check_cues(cues: Sequence[tuple[float, float, str]]) -> None:
    for i, (start_s, end_s, _text) in enumerate(cues):
        if end_s <= start_s:
            raise ValueError(f"cue {i + 1}: end_s {end_s} is not after start_s {start_s}")


def write_srt(path: str | Path, cues: Sequence[tuple[float, float, str]]) -> Path:
    """Write (start_s, end_s, text) cues as SubRip (UTF-8, numbered from 1). Returns the path."""
    _check_cues(cues)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blocks = [f"{i}\n{_timestamp(a, ',')} --> {_timestamp(b, ',')}\n{text.strip()}\n"
              for i, (a, b, text) in enumerate(cues, start=1)]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def write_vtt(path: str | Path, cues: Sequence[tuple[float, float, str]]) -> Path:
    """Write (start_s, end_s, text) cues as WebVTT (UTF-8). Returns the path."""
    _check_cues(cues)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blocks = [f"{_timestamp(a, '.')} --> {_timestamp(b, '.')}\n{text.strip()}\n"
              for a, b, text in cues]
    path.write_text("WEBVTT\n\n" + "\n".join(blocks), encoding="utf-8")
    return path
