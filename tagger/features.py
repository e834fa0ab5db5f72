"""Registry of the measured feature names that taxonomy rules may reference.

Feature dicts are flat and keyed by full name (``"visual.brightness"``); values are floats,
except the categorical ones in :data:`CATEGORICAL` (strings) and the list-valued ones in
:data:`LIST_FEATURES`. The descriptions give units so that rule thresholds can be checked.
"""
from __future__ import annotations

FEATURES: dict[str, str] = {
    # visual.* (tagger/vision)
    "visual.brightness": "mean luma Y/255, 0..1 (0 black, 1 white)",
    "visual.contrast": "RMS contrast: std of luma / 255, 0..1",
    "visual.saturation": "mean HSV saturation / 255, 0..1",
    "visual.colorfulness": "Hasler & Suesstrunk (2003) M metric, raw units (0 grey .. ~110 extremely colourful)",
    "visual.warmth": "(mean R - mean B) / (mean R + mean B), -1..1 (positive warm, negative cool)",
    "visual.palette": "dominant colours: list of {hex, share 0..1}, shares sum to 1, sorted by share desc",
    "visual.motion": "mean abs difference between consecutive analysed grey frames / 255, 0..1",
    "visual.face_share": "share of keyframes with at least one face, 0..1",
    "visual.people_share": "share of keyframes with a person: a face, the people head on the image network's cells, worn ImageNet classes, or (where the head did not look) a body, 0..1",
    "visual.single_person_share": "share of keyframes with exactly one person, 0..1",
    "visual.crowd_share": "share of keyframes with a crowd (4 or more people), 0..1",
    "visual.people_count": "people per keyframe, mean (the larger of faces and person boxes found; 1 where only the network's cues were), count",
    "visual.closeup_share": "share of keyframes framed as close-ups, 0..1",
    "visual.medium_share": "share of keyframes framed as medium shots, 0..1",
    "visual.wide_share": "share of keyframes framed as wide shots, 0..1",
    "visual.shot_scale": "dominant shot scale: close-up | medium | wide (from the largest face, else the tallest person cut by the frame; wide with neither)",
    "visual.cuts_per_minute": "shot cuts per minute of runtime, 1/min",
    "visual.median_shot_s": "median shot length, seconds",
    "visual.mean_shot_s": "mean shot length, seconds",
    "visual.shot_count": "number of shots, count",
    "visual.duration_s": "seconds of video the pacing features are measured over, s",
    # audio.* (tagger/audio)
    "audio.loudness_db": "mean frame RMS level, dBFS (0 full scale, about -60 near silence)",
    "audio.dynamic_range_db": "p95 - p10 of frame RMS level, dB",
    "audio.tempo_bpm": "musical tempo of the music frames, beats per minute (None: under 3 s of music or no beat)",
    "audio.onset_rate_per_s": "detected onsets per second, 1/s",
    "audio.spectral_centroid_hz": "mean spectral centroid, Hz (higher = brighter timbre)",
    "audio.spectral_rolloff_hz": "mean spectral roll-off frequency, Hz",
    "audio.spectral_flatness": "mean spectral flatness, 0..1 (0 tonal, 1 noise-like)",
    "audio.key": "musical key tonic of the music frames: C, C#, D, ..., B (None: under 3 s of music)",
    "audio.mode": "musical mode of the music frames: major | minor (None: under 3 s of music)",
    "audio.mode_confidence": "confidence of the key/mode estimate, 0..1 (None: under 3 s of music)",
    "audio.silence_share": "share of runtime that is near-silent, neither speech nor music, 0..1",
    "audio.speech_share": "share of runtime in speech segments of the Silero VAD, 0..1",
    "audio.music_share": "share of runtime in stretches of sustained non-speech sound (music), 0..1",
    "audio.arousal": "fitted arousal of the music and speech, 0..1 (0 calm, 1 intense; None: no sound)",
    "audio.valence": "fitted valence of the music and speech, 0..1 (0 negative, 1 positive; None: no sound)",
    "audio.music_arousal": "fitted arousal of the music frames alone, 0..1 (None: under 1 s of music)",
    "audio.music_valence": "fitted valence of the music frames alone, 0..1 (None: under 1 s of music)",
    "audio.speech_segments": "speech segments: list of [start_s, end_s], seconds from the title's start",
    "audio.music_segments": "music stretches: list of [start_s, end_s], seconds from the title's start",
    # dialogue.* (tagger/text)
    "dialogue.words_per_minute": "subtitle words per minute of runtime, 1/min",
    "dialogue.speech_share": "share of runtime covered by subtitle cues (overlaps merged), 0..1",
    "dialogue.lexical_diversity": "moving-average type-token ratio over 50-word windows, 0..1",
    "dialogue.mean_sentence_words": "mean words per sentence, count",
    "dialogue.readability": "Flesch reading ease, about 0..120 (higher = easier)",
    "dialogue.cue_count": "number of subtitle cues, count",
    "dialogue.word_count": "number of subtitle words, count",
    "dialogue.question_share": "share of sentences that are questions, 0..1",
    "dialogue.exclamation_share": "share of sentences that are exclamations, 0..1",
    "dialogue.profanity_per_1k_words": "profane words per 1000 subtitle words, 1/1000 words",
}

# Features whose values are strings from a fixed set; rules test them with ``equals``.
CATEGORICAL: dict[str, tuple[str, ...]] = {
    "audio.mode": ("major", "minor"),
    "audio.key": ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"),
    "visual.shot_scale": ("close-up", "medium", "wide"),
}

# Features whose values are lists; rules cannot test them.
LIST_FEATURES: frozenset[str] = frozenset({"visual.palette", "audio.speech_segments", "audio.music_segments"})
