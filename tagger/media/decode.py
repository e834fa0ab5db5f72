"""Streamed decoding with PyAV: downscaled video frames and mono audio chunks."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from tagger.errors import MediaError
from tagger.media.probe import av_reason, first_video_stream, open_container

# A video whose frames end this far before the length its container declares stopped early
# (a truncated or damaged file): threaded decoding ends quietly there instead of raising.
SHORT_BY_MIN_S = 1.0
SHORT_BY_SHARE = 0.02


@dataclass
class DecodedFrame:
    index: int          # 0-based position in decode order
    time_s: float       # presentation time from the stream (handles variable frame rate)
    image: np.ndarray   # uint8 BGR (H, W, 3) at the analysis size
    # The same frame at the detail width, made when called (only while iterating reaches it);
    # None unless iter_frames was asked for a detail width.
    detail: Callable[[], np.ndarray] | None = None


def analysis_size(width: int, height: int, *, analysis_width: int) -> tuple[int, int]:
    """Scale to analysis_width keeping the aspect ratio; even sizes for swscale; never upscale."""
    if width <= analysis_width:
        return width - width % 2, height - height % 2
    scaled_height = int(round(height * analysis_width / width))
    return analysis_width, max(2, scaled_height - scaled_height % 2)


def iter_frames(path: str | Path, *, analysis_width: int, rotation_deg: int = 0,
                detail_width: int = 0) -> Iterator[DecodedFrame]:
    """Every frame of the first video stream, downscaled by swscale, one at a time; with a
    `detail_width`, each can also be had at that width (never upscaled) through its `detail`."""
    import av
    from av.video.reformatter import VideoReformatter

    # One scaler for the whole stream: a frame's own to_ndarray sets up a new one every frame,
    # which costs more than the scaling itself (about 0.6 ms a 720p frame).
    reformatter = VideoReformatter()
    with open_container(path) as container:
        stream = first_video_stream(container)
        if stream is None:
            raise MediaError(path, "no video stream")
        stream.thread_type = "AUTO"  # frame threading: both cores decode
        start_s = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        width, height = stream.codec_context.width, stream.codec_context.height
        # Rotated video is scaled on its stored axes, then turned upright.
        turn = rotation_deg in (90, 270)
        out_w, out_h = analysis_size(height if turn else width, width if turn else height,
                                     analysis_width=analysis_width)
        if turn:
            out_w, out_h = out_h, out_w
        detail_size = None
        if detail_width:
            detail_w, detail_h = analysis_size(height if turn else width, width if turn else height,
                                               analysis_width=detail_width)
            detail_size = (detail_h, detail_w) if turn else (detail_w, detail_h)
            detail_reformatter = VideoReformatter()   # its own scaler: one size each

            def detail_of(frame, at: int):
                def detail() -> np.ndarray:
                    try:
                        return _upright(detail_reformatter.reformat(
                            frame, width=detail_size[0], height=detail_size[1], format="bgr24",
                            interpolation="AREA").to_ndarray(), rotation_deg)
                    except av.error.FFmpegError as error:
                        raise MediaError(path, f"scaling frame {at} to the detail width failed: "
                                               f"{av_reason(error)}") from None
                return detail
        index = 0
        last_time_s = 0.0
        declared_s = declared_duration_s(container, stream)
        frame_s = 1.0 / float(stream.average_rate) if stream.average_rate else 0.0
        try:
            for frame in container.decode(stream):
                # Area averaging: the cheapest of swscale's downscalers here, and it does not alias.
                image = reformatter.reformat(frame, width=out_w, height=out_h, format="bgr24",
                                             interpolation="AREA").to_ndarray()
                image = _upright(image, rotation_deg)
                time_s = frame.time - start_s if frame.time is not None else last_time_s
                last_time_s = time_s
                yield DecodedFrame(index, max(0.0, time_s), image,
                                   detail_of(frame, index) if detail_size is not None else None)
                index += 1
        except av.error.FFmpegError as error:
            raise MediaError(path, f"video decoding failed at frame {index}: {av_reason(error)}") from None
        if index == 0:
            raise MediaError(path, "video stream has no decodable frames")
        decoded_s = last_time_s + frame_s
        if declared_s and decoded_s < declared_s - max(SHORT_BY_MIN_S, SHORT_BY_SHARE * declared_s):
            raise MediaError(path, f"video stops at {decoded_s:.1f} s (frame {index}) of the {declared_s:.1f} s "
                                   f"its container declares: the file is truncated or damaged")


def declared_duration_s(container, stream) -> float | None:
    """The length the file says its video has: the stream's own, else its DURATION tag (FFmpeg's
    Matroska and WebM muxers write one per stream), else the container's when nothing else is
    in it to make that longer (a subtitle or audio track may run past the picture)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    if tag:
        try:
            hours, minutes, seconds = str(tag).split(":")
            return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        except ValueError:
            pass   # not HH:MM:SS.fraction: fall through
    if container.duration and len(container.streams) == 1:
        return container.duration / 1_000_000   # AV_TIME_BASE
    return None


def _upright(image: np.ndarray, rotation_deg: int) -> np.ndarray:
    # Display matrix rotation is counter-clockwise in degrees.
    turns = {90: 1, 180: 2, 270: 3}.get(rotation_deg, 0)
    return np.ascontiguousarray(np.rot90(image, k=turns)) if turns else image


def iter_audio(path: str | Path, *, sample_rate_hz: int, chunk_s: float = 30.0) -> Iterator[np.ndarray]:
    """Mono float32 samples of the first audio stream in chunks of about chunk_s seconds."""
    import av

    chunk_len = int(chunk_s * sample_rate_hz)
    with open_container(path) as container:
        if not container.streams.audio:
            raise MediaError(path, "no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate_hz)
        pending: list[np.ndarray] = []
        pending_len = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    pending.append(samples)
                    pending_len += samples.size
                    if pending_len >= chunk_len:
                        joined = np.concatenate(pending)
                        yield joined[:chunk_len]
                        pending, pending_len = [joined[chunk_len:]], joined.size - chunk_len
            for out in resampler.resample(None):
                pending.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
        except av.error.FFmpegError as error:
            raise MediaError(path, f"audio decoding failed: {av_reason(error)}") from None
        if pending:
            rest = np.concatenate(pending)
            if rest.size:
                yield rest
