"""The ``audio.*`` values of a span of frames (a scene or the whole title).

Each frame is speech (in a segment of the speech detector, tagger/audio/speech.py), music,
silence (quiet, see ``features.silent_frames``), or none of these (short sounds between
phrases: breaths, room tone). Music is a stretch without speech of at least
``MIN_MUSIC_RUN_S`` where sound never stops for ``MAX_MUSIC_GAP_S`` or more: the rests
between a drum's hits belong to the music, a pause between two lines of dialogue does not.
So "music" is any sustained sound that is not speech: a score, a song's instrumental part,
and also steady noise such as traffic. Tempo, key and mode are measured on the music frames only,
and are None where a span has under ``MIN_MUSIC_S`` of music; arousal and valence come from
the fitted mood model (tagger/audio/mood.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tagger.audio.features import (
    MIN_TEMPO_S,
    FrameFeatures,
    estimate_key,
    loudness_db,
    onset_frames,
    silent_frames,
    tempo_bpm,
)
from tagger.audio.mood import estimate_mood
from tagger.audio.speech import mask_segments, segments_mask

MIN_MUSIC_RUN_S = 1.0         # non-speech sound shorter than this between speech is not music
MAX_MUSIC_GAP_S = 1.0         # quiet this long or longer ends a stretch of music
MIN_MUSIC_S = MIN_TEMPO_S     # a span with less music has no tempo, key or mode
SEGMENT_DECIMALS = 3          # segment times are reported to the millisecond


@dataclass
class SoundClasses:
    """Boolean (n,) masks of a span's frames; a frame is in at most one of them."""
    speech: np.ndarray    # in a speech segment
    music: np.ndarray     # in a stretch of music (its short rests included)
    silent: np.ndarray    # quiet, and neither speech nor music


def sound_classes(frames: FrameFeatures) -> SoundClasses:
    """Speech from the VAD mask, silence from the level, music from what sounds in between."""
    hop_s, n = frames.hop_s, frames.n_frames
    speech = frames.speech.astype(bool)
    quiet = silent_frames(frames.rms_db)
    music = ~quiet & ~speech
    # Fill short quiet gaps that have music on both sides.
    for a, b in mask_segments(quiet & ~speech, hop_s=hop_s):
        i0, i1 = round(a / hop_s), round(b / hop_s)
        if b - a < MAX_MUSIC_GAP_S and i0 > 0 and i1 < n and music[i0 - 1] and music[i1]:
            music[i0:i1] = True
    music = segments_mask(mask_segments(music, hop_s=hop_s, min_s=MIN_MUSIC_RUN_S), n_frames=n, hop_s=hop_s)
    return SoundClasses(speech=speech, music=music, silent=quiet & ~speech & ~music)


def summarize(frames: FrameFeatures) -> dict:
    """The ``audio.*`` values of the contract (without the prefix) for a span of frames.

    JSON-safe values: floats, strings, None and lists of [start_s, end_s]. Level and spectral
    means use the non-silent frames; tempo, key, mode and mode_confidence use the music frames
    and are None with under MIN_MUSIC_S of music (tempo also with under MIN_TEMPO_ONSETS
    onsets); arousal and valence come from the fitted mood model (tagger/audio/mood.py) and
    are None where it has nothing to go on. A silent or empty span gives silence_share 1.0
    and loudness ``RMS_FLOOR_DB``.
    """
    n = frames.n_frames
    classes = sound_classes(frames)
    silent = silent_frames(frames.rms_db)
    voiced = ~silent
    duration_s = max(frames.duration_s, 1e-9)

    def mean_over_voiced(a: np.ndarray) -> float:
        return float(np.mean(a[voiced])) if voiced.any() else 0.0

    onsets = onset_frames(frames, silent)
    music_s = float(np.count_nonzero(classes.music)) * frames.hop_s
    key = mode = mode_conf = tempo = None
    if music_s >= MIN_MUSIC_S:
        music = frames.select(classes.music)
        key, mode, mode_conf = estimate_key(music.chroma)
        in_music = onsets[classes.music[onsets]]
        tempo = tempo_bpm(music, np.zeros(music.n_frames, dtype=bool),
                          onsets=np.searchsorted(np.flatnonzero(classes.music), in_music))
    summary = {
        "loudness_db": loudness_db(frames.rms_db),
        # Over non-silent frames: digital silence would otherwise dominate the low percentile.
        "dynamic_range_db": (float(np.percentile(frames.rms_db[voiced], 95)
                                   - np.percentile(frames.rms_db[voiced], 10))
                             if voiced.any() else 0.0),
        "tempo_bpm": tempo,
        "onset_rate_per_s": len(onsets) / duration_s if n else 0.0,
        "spectral_centroid_hz": mean_over_voiced(frames.centroid_hz),
        "spectral_rolloff_hz": mean_over_voiced(frames.rolloff_hz),
        "spectral_flatness": mean_over_voiced(frames.flatness),
        "key": key,
        "mode": mode,
        "mode_confidence": mode_conf,
        "silence_share": float(np.mean(classes.silent)) if n else 1.0,
        "speech_share": float(np.mean(classes.speech)) if n else 0.0,
        "music_share": float(np.mean(classes.music)) if n else 0.0,
        **estimate_mood(frames, classes, onsets=onsets),
        "speech_segments": _segment_list(classes.speech, frames),
        "music_segments": _segment_list(classes.music, frames),
    }
    return {k: (float(v) if isinstance(v, (int, float, np.floating)) else v) for k, v in summary.items()}


def _segment_list(mask: np.ndarray, frames: FrameFeatures) -> list[list[float]]:
    return [[round(float(a), SEGMENT_DECIMALS), round(float(b), SEGMENT_DECIMALS)]
            for a, b in mask_segments(mask, hop_s=frames.hop_s, offset_s=frames.start_s)]
