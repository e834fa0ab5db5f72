"""What a media file holds: duration, frame rate, size, rotation, streams (PyAV)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from tagger.errors import MediaError

# Packets read to judge whether the frame rate is variable; a few seconds of video.
_VFR_PACKETS = 240


@dataclass
class MediaInfo:
    path: str
    container: str
    duration_s: float
    has_video: bool
    has_audio: bool
    fps: float = 0.0                     # average frame rate
    variable_frame_rate: bool = False
    frame_count: int = 0                 # from the container, else duration * fps
    width: int = 0                       # as displayed, after rotation
    height: int = 0
    rotation_deg: int = 0
    video_codec: str | None = None
    audio_codec: str | None = None
    audio_sample_rate_hz: int = 0
    audio_channels: int = 0
    subtitle_streams: int = 0
    streams: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def open_container(path: str | Path):
    """av.open with errors that name the file."""
    import av

    try:
        return av.open(str(path))
    except FileNotFoundError:
        raise MediaError(path, "file not found") from None
    except (av.error.FFmpegError, OSError, ValueError) as error:
        raise MediaError(path, f"cannot open media: {av_reason(error)}") from None


def av_reason(error: Exception) -> str:
    """FFmpeg's reason without the errno number and file name PyAV adds ("[Errno 1094995529] ...")."""
    return getattr(error, "strerror", None) or str(error)


def probe(path: str | Path) -> MediaInfo:
    """Read stream facts; decodes one video frame to learn the display rotation."""
    import av

    with open_container(path) as container:
        video = first_video_stream(container)
        audio = container.streams.audio[0] if container.streams.audio else None
        duration_s = _duration_s(container, video, audio)
        info = MediaInfo(
            path=str(path),
            container=container.format.name,
            duration_s=duration_s,
            has_video=video is not None,
            has_audio=audio is not None,
            subtitle_streams=len(container.streams.subtitles),
            streams=[_stream_dict(s) for s in container.streams],
        )
        if audio is not None:
            info.audio_codec = audio.codec_context.name
            info.audio_sample_rate_hz = int(audio.codec_context.sample_rate or 0)
            info.audio_channels = int(audio.codec_context.channels or 0)
        if video is None:
            return info
        rate = video.average_rate or video.guessed_rate or video.base_rate
        info.fps = float(rate) if rate else 0.0
        info.video_codec = video.codec_context.name
        info.frame_count = int(video.frames) or int(round(duration_s * info.fps))
        try:
            info.variable_frame_rate = _is_variable_frame_rate(container, video)
            container.seek(0)
            first = next(container.decode(video), None)
        except av.error.FFmpegError as error:
            raise MediaError(path, f"cannot decode video: {av_reason(error)}") from None
        if first is None:
            raise MediaError(path, "video stream has no decodable frames")
        info.rotation_deg = int(round(first.rotation or 0)) % 360
        width, height = video.codec_context.width, video.codec_context.height
        if info.rotation_deg in (90, 270):
            width, height = height, width
        info.width, info.height = int(width), int(height)
        if info.duration_s <= 0 and info.fps:
            info.duration_s = info.frame_count / info.fps
    return info


def first_video_stream(container):
    """The first real video stream; cover art (an attached picture) is not video."""
    import av

    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _duration_s(container, video, audio) -> float:
    for stream in (video, audio):
        if stream is not None and stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000  # microseconds (AV_TIME_BASE)
    return 0.0


def _is_variable_frame_rate(container, video) -> bool:
    """True when packet durations in the first seconds differ by more than 10%."""
    stamps = []
    for packet in container.demux(video):
        if packet.pts is not None:
            stamps.append(packet.pts)
        if len(stamps) >= _VFR_PACKETS:
            break
    stamps.sort()
    steps = [b - a for a, b in zip(stamps, stamps[1:]) if b > a]
    if len(steps) < 3:
        return False
    steps.sort()
    typical = steps[len(steps) // 2]
    return any(abs(step - typical) > 0.1 * typical for step in steps)


def _stream_dict(stream) -> dict:
    entry = {"index": stream.index, "type": stream.type,
             "codec": stream.codec_context.name if stream.codec_context else None,
             "language": stream.language}
    return entry
