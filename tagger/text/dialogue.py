"""Dialogue metrics from subtitle cues, and time windows of dialogue for embedding.

Word-based metrics read the spoken words only: SDH sound descriptions in brackets or
parentheses ("[squawk]", "(laughs)"), upper-case speaker labels ("JOHN:") and music symbols
are left out. Cue counts and speech_share use every cue, since a cue on screen is a cue.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Protocol

from tagger.text.subtitles import Cue

__all__ = ["Window", "dialogue_metrics", "merged_speech_s", "windows", "count_syllables",
           "flesch_reading_ease", "PROFANITY"]

MATTR_WINDOW_WORDS = 50

# Small English list, mild to strong, matched as whole lower-case words. Words that are
# mostly literal in subtitles ("bloody", "cock", "ass" as donkey is rare enough) are chosen
# with that in mind: "bloody" and "cock" are left out.
PROFANITY = frozenset({
    # mild
    "damn", "damned", "dammit", "damnit", "goddamn", "goddamned", "goddammit", "hell",
    "crap", "crappy", "piss", "pissed", "arse", "ass", "bugger", "bollocks",
    # moderate
    "bastard", "bastards", "bitch", "bitches", "bitching", "asshole", "assholes", "arsehole",
    "dick", "dicks", "prick", "pricks", "shit", "shits", "shitty", "bullshit", "slut",
    "whore", "wanker", "twat",
    # strong
    "fuck", "fucks", "fucking", "fucked", "fucker", "fuckers", "motherfucker",
    "motherfuckers", "motherfucking", "cunt", "cunts",
})


class _Timed(Protocol):
    start_s: float
    end_s: float


# --------------------------------------------------------------------------- time

def _merge_s(intervals: Iterable[tuple[float, float]]) -> float:
    total = 0.0
    cur_start: float | None = None
    cur_end = 0.0
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if cur_start is None or start > cur_end:
            if cur_start is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_start is not None:
        total += cur_end - cur_start
    return total


def merged_speech_s(cues: Iterable[_Timed]) -> float:
    """Total seconds covered by the cues, overlapping cues counted once."""
    return float(_merge_s((c.start_s, c.end_s) for c in cues))


# --------------------------------------------------------------------------- text

_ANNOTATION_RE = re.compile(r"\[[^\]]*\]|\([^)]*\)")  # [door slams], (laughs)
_SPEAKER_RE = re.compile(r"^\s*[-–—]?\s*[A-Z][A-Z0-9 .'’-]*[A-Z0-9]:\s*")  # "JOHN:", "MAN 2:"
_MUSIC_RE = re.compile(r"[♪♫#]+")
_DASH_START_RE = re.compile(r"^\s*[-–—]+\s*")
# letters/digits, joined by apostrophes or hyphens: "you're", "W-What", "well-known"
_WORD_RE = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
# sentence ends: terminal punctuation (with closing quotes/brackets) before a space or the end
_END_RE = re.compile(r"(?:[.!?]+|…)[\"'”’)\]]*(?=\s|$)")
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "prof", "mt",
                            "lt", "col", "gen", "sgt", "capt", "etc", "e.g", "i.e", "no"})
_CONTINUES_RE = re.compile(r"[,;:\-–—]$")


def _spoken_lines(text: str) -> list[str]:
    """Cue text lines with sound descriptions, speaker labels and music symbols removed."""
    out = []
    for line in text.split("\n"):
        starts_turn = _DASH_START_RE.match(line) is not None
        line = _ANNOTATION_RE.sub(" ", line)
        line = _SPEAKER_RE.sub("", line)
        line = _MUSIC_RE.sub(" ", line)
        line = _DASH_START_RE.sub("", line)
        line = " ".join(line.split())
        if _WORD_RE.search(line):
            out.append(("- " if starts_turn else "") + line)
    return out


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text)


def _split_sentences(segment: str) -> list[str]:
    """Split running text at sentence-ending punctuation.

    A stop followed by a lower-case word is not an end ("Well... no", '"Why?" he asked'),
    nor is a period after a common abbreviation ("Mr. Smith").
    """
    sentences = []
    begin = 0
    for m in _END_RE.finditer(segment):
        after = segment[m.end():].lstrip()
        if after and after[0].islower():
            continue
        if m.group().startswith(".") and m.group().count(".") == 1:
            before = segment[begin:m.start()].split()
            if before and before[-1].lower().strip("\"'“‘(") in _ABBREVIATIONS and after:
                continue
        sentences.append(segment[begin:m.end()].strip())
        begin = m.end()
    tail = segment[begin:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if _WORD_RE.search(s)]


def _sentences(cues: list[Cue]) -> list[str]:
    """Sentences of the spoken text, across cue boundaries.

    Subtitles often drop the final stop, so a cue boundary also ends a sentence when the
    cue does not end in a continuation mark (",", ";", ":", dash) and the next cue starts
    with a capital; a line starting with a dash is a new speaker's turn.
    """
    segments: list[list[str]] = [[]]
    prev_line: str | None = None
    for cue in sorted(cues, key=lambda c: c.start_s):
        for k, line in enumerate(_spoken_lines(cue.text)):
            new_turn = line.startswith("- ")
            if new_turn:
                line = line[2:]
            boundary = new_turn or (
                k == 0 and prev_line is not None
                and _CONTINUES_RE.search(prev_line) is None
                and line[:1].isupper()
            )
            if boundary and segments[-1]:
                segments.append([])
            segments[-1].append(line)
            prev_line = line
    sentences: list[str] = []
    for seg in segments:
        if seg:
            sentences.extend(_split_sentences(" ".join(seg)))
    return sentences


def count_syllables(word: str) -> int:
    """Syllables in an English word: vowel groups (y counts), less a silent final e; >= 1."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return 1  # numbers and non-Latin words: one beat each
    groups = len(re.findall(r"[aeiouy]+", w))
    # silent e: "make", "home"; but not "table" (consonant + le) nor "free"/"eye" (vowel + e)
    if (groups > 1 and w.endswith("e") and w[-2] not in "aeiouy"
            and not (w.endswith("le") and len(w) > 2 and w[-3] not in "aeiouy")):
        groups -= 1
    return max(1, groups)


def flesch_reading_ease(*, words: int, sentences: int, syllables: int) -> float:
    """206.835 - 1.015 words/sentence - 84.6 syllables/word; 0.0 when there is no text."""
    if words <= 0 or sentences <= 0:
        return 0.0
    return 206.835 - 1.015 * (words / sentences) - 84.6 * (syllables / words)


def _mattr(tokens: list[str], window: int = MATTR_WINDOW_WORDS) -> float:
    """Moving-average type-token ratio; plain type-token ratio below one window of words."""
    n = len(tokens)
    if n == 0:
        return 0.0
    if n <= window:
        return len(set(tokens)) / n
    counts = Counter(tokens[:window])
    total = len(counts)
    for i in range(window, n):
        counts[tokens[i]] += 1
        old = tokens[i - window]
        counts[old] -= 1
        if counts[old] == 0:
            del counts[old]
        total += len(counts)
    return total / ((n - window + 1) * window)


# --------------------------------------------------------------------------- metrics

_ZERO = {
    "words_per_minute": 0.0, "speech_share": 0.0, "lexical_diversity": 0.0,
    "mean_sentence_words": 0.0, "readability": 0.0, "cue_count": 0, "word_count": 0,
    "question_share": 0.0, "exclamation_share": 0.0, "profanity_per_1k_words": 0.0,
}


def dialogue_metrics(cues: list[Cue], *, runtime_s: float | None) -> dict:
    """Flat dict of dialogue metrics (plain floats and ints, JSON-safe).

    words_per_minute: spoken words / runtime minutes.
    speech_share: 0..1, seconds covered by cues (overlaps merged, clipped to the runtime)
        / runtime.
    lexical_diversity: 0..1, moving-average type-token ratio over 50-word windows of
        lower-cased words (plain type-token ratio with fewer words).
    mean_sentence_words, readability (Flesch reading ease, unclamped), cue_count,
    word_count, question_share and exclamation_share (shares of sentences ending in ? or !;
    "?!" counts for both), profanity_per_1k_words.
    runtime_s None (or <= 0) -> the last cue end is the runtime. No cues -> all zeros.
    """
    cues = list(cues)
    if not cues:
        return dict(_ZERO)
    if runtime_s is None or runtime_s <= 0:
        runtime_s = max(c.end_s for c in cues)
    runtime_s = float(runtime_s)

    sentences = _sentences(cues)
    words = [w for s in sentences for w in _words(s)]
    tokens = [w.lower().replace("’", "'") for w in words]
    n_words = len(words)
    n_sent = len(sentences)
    syllables = sum(count_syllables(w) for w in words)
    enders = [re.search(r"[.!?…]*[\"'”’)\]]*$", s).group() for s in sentences]
    questions = sum(1 for e in enders if "?" in e)
    exclamations = sum(1 for e in enders if "!" in e)
    profane = sum(1 for t in tokens if t in PROFANITY)

    if runtime_s > 0:
        covered = _merge_s((min(c.start_s, runtime_s), min(c.end_s, runtime_s)) for c in cues)
        speech_share = min(1.0, covered / runtime_s)
        wpm = n_words / (runtime_s / 60.0)
    else:
        speech_share = wpm = 0.0
    return {
        "words_per_minute": float(wpm),
        "speech_share": float(speech_share),
        "lexical_diversity": float(_mattr(tokens)),
        "mean_sentence_words": float(n_words / n_sent) if n_sent else 0.0,
        "readability": float(flesch_reading_ease(words=n_words, sentences=n_sent,
                                                 syllables=syllables)),
        "cue_count": len(cues),
        "word_count": n_words,
        "question_share": float(questions / n_sent) if n_sent else 0.0,
        "exclamation_share": float(exclamations / n_sent) if n_sent else 0.0,
        "profanity_per_1k_words": float(1000.0 * profane / n_words) if n_words else 0.0,
    }


# --------------------------------------------------------------------------- windows

@dataclass(frozen=True)
class Window:
    """Dialogue in one time window.

    start_s, end_s: the window's bounds, [k * window_s, (k + 1) * window_s).
    text: texts of the cues starting in the window, in start order, joined with "\\n".
    cue_indices: indices of those cues in the list given to windows().
    """

    start_s: float
    end_s: float
    text: str
    cue_indices: tuple[int, ...]


def windows(cues: list[Cue], *, window_s: float = 60.0) -> list[Window]:
    """Consecutive, non-overlapping windows of window_s seconds from t = 0, each holding
    the cues that start in it; windows without cues are omitted. Sorted by start."""
    if not window_s > 0:
        raise ValueError(f"window_s must be positive, got {window_s!r}")
    buckets: dict[int, list[int]] = {}
    order = sorted(range(len(cues)), key=lambda i: cues[i].start_s)
    for i in order:
        k = int(max(0.0, cues[i].start_s) // window_s)
        buckets.setdefault(k, []).append(i)
    return [
        Window(start_s=k * window_s, end_s=(k + 1) * window_s,
               text="\n".join(cues[i].text for i in idx), cue_indices=tuple(idx))
        for k, idx in sorted(buckets.items())
    ]
