"""Synthetic media with known properties, for tests and the bundled sample titles.

Everything is seeded and deterministic. Video is rendered one frame at a time (uint8 BGR,
shape (H, W, 3)) so long clips never sit in memory (frames.py); audio is mono float32 in
-1..1 at ``sample_rate_hz`` (sound.py); encoding goes through PyAV's bundled FFmpeg, as there
is no ffmpeg binary, and subtitles are written as SRT or WebVTT (writers.py).
"""
from tagger.synth.frames import ShotSpec, cut_frames, frame_count, render_shots
from tagger.synth.sound import CHORD_INTERVALS, chord, click_track, mix, note_hz, speech_like, tone
from tagger.synth.writers import write_srt, write_video, write_vtt

__all__ = ["CHORD_INTERVALS", "ShotSpec", "chord", "click_track", "cut_frames", "frame_count", "mix",
           "note_hz", "render_shots", "speech_like", "tone", "write_srt", "write_video", "write_vtt"]
