"""Dialogue metrics on tiny cue lists with hand-computed answers, and dialogue windows."""
from __future__ import annotations

import json

import pytest

from tagger.text.dialogue import (
    Window,
    count_syllables,
    dialogue_metrics,
    flesch_reading_ease,
    merged_speech_s,
    windows,
)
from tagger.text.subtitles import Cue, parse_srt, read_subtitles

KEYS = {
    "words_per_minute", "speech_share", "lexical_diversity", "mean_sentence_words",
    "readability", "cue_count", "word_count", "question_share", "exclamation_share",
    "profanity_per_1k_words",
}


def cue(start_s, end_s, text, line=1):
    return Cue(float(start_s), float(end_s), text, line)


# 4 + 3 + 2 = 9 words, 3 sentences (one ., one ?, one !); cues 1 and 2 overlap by 2 s:
# covered time = [0, 6] + [10, 12] = 8 s
THREE = [
    cue(0, 4, "Hello there, my friend."),
    cue(2, 6, "Are you ready?"),
    cue(10, 12, "Go now!"),
]


def test_merged_speech_s():
    assert merged_speech_s(THREE) == pytest.approx(8.0)
    assert merged_speech_s([]) == 0.0
    # nested, touching and zero-length cues, in any order
    cues = [cue(5, 6, "a"), cue(0, 10, "b"), cue(10, 12, "c"), cue(20, 20, "d"), cue(2, 3, "e")]
    assert merged_speech_s(cues) == pytest.approx(12.0)


def test_three_cues_hand_computed():
    m = dialogue_metrics(THREE, runtime_s=20.0)
    assert set(m) == KEYS
    assert m["cue_count"] == 3
    assert m["word_count"] == 9
    assert m["speech_share"] == pytest.approx(8.0 / 20.0)
    assert m["words_per_minute"] == pytest.approx(9 / (20.0 / 60.0))  # 27
    assert m["mean_sentence_words"] == pytest.approx(3.0)
    assert m["question_share"] == pytest.approx(1 / 3)
    assert m["exclamation_share"] == pytest.approx(1 / 3)
    assert m["lexical_diversity"] == pytest.approx(1.0)  # 9 different words
    assert m["profanity_per_1k_words"] == 0.0
    # syllables: hello 2, there 1, my 1, friend 1, are 1, you 1, ready 2, go 1, now 1 = 11
    expected = 206.835 - 1.015 * (9 / 3) - 84.6 * (11 / 9)
    assert m["readability"] == pytest.approx(expected, abs=3)


def test_runtime_none_uses_last_cue_end():
    m = dialogue_metrics(THREE, runtime_s=None)
    assert m["speech_share"] == pytest.approx(8.0 / 12.0)
    assert m["words_per_minute"] == pytest.approx(9 / (12.0 / 60.0))  # 45


def test_speech_share_clipped_to_runtime():
    m = dialogue_metrics([cue(0, 30, "Long cue.")], runtime_s=10.0)
    assert m["speech_share"] == pytest.approx(1.0)


def test_empty_cues_all_zero_and_json_safe():
    m = dialogue_metrics([], runtime_s=100.0)
    assert set(m) == KEYS
    assert m["cue_count"] == 0 and m["word_count"] == 0
    assert all(v == 0 for v in m.values())
    json.dumps(m)
    # cues with no spoken words (sound descriptions only): no division by zero
    m = dialogue_metrics([cue(0, 2, "[door slams]"), cue(3, 4, "(laughs)")], runtime_s=None)
    assert m["cue_count"] == 2
    assert m["word_count"] == 0
    assert m["readability"] == 0.0 and m["lexical_diversity"] == 0.0
    assert m["speech_share"] == pytest.approx(3.0 / 4.0)


def test_values_are_plain_python_numbers():
    m = dialogue_metrics(THREE, runtime_s=20)
    for key, value in m.items():
        expected = int if key in ("cue_count", "word_count") else float
        assert type(value) is expected, key
    assert json.loads(json.dumps(m)) == m


def test_flesch_reading_ease_known_sentences():
    # "The cat sat on the mat." 6 words, 6 syllables;
    # "It was a beautiful day." 5 words: it 1, was 1, a 1, beau-ti-ful 3, day 1 = 7 syllables
    # FRE = 206.835 - 1.015 * 11/2 - 84.6 * 13/11 = 101.27 (computed by hand)
    cues = [cue(0, 2, "The cat sat on the mat."), cue(2, 4, "It was a beautiful day.")]
    m = dialogue_metrics(cues, runtime_s=None)
    assert m["word_count"] == 11
    assert m["mean_sentence_words"] == pytest.approx(5.5)
    assert m["readability"] == pytest.approx(101.27, abs=3)
    # a long sentence of long words reads much harder
    hard = [cue(0, 5, "Institutional considerations necessitate comprehensive "
                      "reconsideration of administrative responsibilities.")]
    assert dialogue_metrics(hard, runtime_s=None)["readability"] < 0


def test_flesch_formula_directly():
    assert flesch_reading_ease(words=100, sentences=5, syllables=150) == pytest.approx(
        206.835 - 1.015 * 20 - 84.6 * 1.5)
    assert flesch_reading_ease(words=0, sentences=0, syllables=0) == 0.0


@pytest.mark.parametrize(
    "word, n",
    [("cat", 1), ("the", 1), ("make", 1), ("home", 1), ("table", 2), ("free", 1),
     ("hello", 2), ("beautiful", 3), ("ready", 2), ("Popeye", 2), ("you're", 1),
     ("readability", 5), ("W-What", 1), ("1984", 1), ("rhythm", 1)],
)
def test_count_syllables(word, n):
    assert count_syllables(word) == n


def test_lexical_diversity_type_token_ratio():
    # 8 words, 5 types (the x3, and x2, cat, dog, bird); case does not make a new type
    m = dialogue_metrics([cue(0, 3, "The cat and the dog and THE bird.")], runtime_s=None)
    assert m["word_count"] == 8
    assert m["lexical_diversity"] == pytest.approx(5 / 8)


def test_lexical_diversity_moving_average_over_50_words():
    # 100 words cycling through 10 types: every 50-word window holds all 10 -> 10/50
    words = [f"w{k % 10}" for k in range(100)]
    m = dialogue_metrics([cue(0, 60, " ".join(words) + ".")], runtime_s=None)
    assert m["word_count"] == 100
    assert m["lexical_diversity"] == pytest.approx(0.2)
    # 60 different words: every window has 50 types -> 1.0 (plain TTR would also be 1.0)
    distinct = [f"v{k}" for k in range(60)]
    m = dialogue_metrics([cue(0, 60, " ".join(distinct) + ".")], runtime_s=None)
    assert m["lexical_diversity"] == pytest.approx(1.0)


def test_profanity_whole_words_only():
    # profane: hell, damn, shit = 3 of 10 words; "Shell" and "hello" are not
    cues = [cue(0, 2, "What the hell? Damn it."), cue(2, 4, "Shell said hello. Oh shit!")]
    m = dialogue_metrics(cues, runtime_s=None)
    assert m["word_count"] == 10
    assert m["profanity_per_1k_words"] == pytest.approx(1000 * 3 / 10)


def test_sentences_across_cues_and_turns():
    # one sentence across two cues; a new capitalised cue without a stop starts another;
    # dash lines are two speakers' turns; "Mr." does not end a sentence
    cues = [
        cue(0, 2, "What brings you to"),
        cue(2, 4, "the land of the gatekeepers?"),
        cue(5, 6, "Yes, he's in"),
        cue(6, 7, "Somebody must've stolen it"),
        cue(8, 9, "- Is Mr. Smith in?\n- No!"),
    ]
    m = dialogue_metrics(cues, runtime_s=None)
    # sentences: 9 words, 3, 4, 4 ("Is Mr. Smith in"), 1 -> 21 words in 5 sentences
    assert m["word_count"] == 21
    assert m["mean_sentence_words"] == pytest.approx(21 / 5)
    assert m["question_share"] == pytest.approx(2 / 5)
    assert m["exclamation_share"] == pytest.approx(1 / 5)


def test_sound_descriptions_and_speaker_labels_are_not_words():
    cues = [cue(0, 2, "[squawk]"), cue(2, 4, "JOHN: Run! (gasps)"), cue(4, 5, "♪ La la ♪")]
    m = dialogue_metrics(cues, runtime_s=None)
    assert m["cue_count"] == 3
    assert m["word_count"] == 3  # Run, La, la


# --------------------------------------------------------------------------- windows

def test_windows_group_cues_by_start_and_skip_empty():
    cues = [cue(65, 70, "c"), cue(5, 8, "a"), cue(200, 201, "d"), cue(30, 62, "b"),
            cue(60, 61, "e")]
    ws = windows(cues, window_s=60.0)
    assert ws == [
        Window(0.0, 60.0, "a\nb", (1, 3)),
        Window(60.0, 120.0, "e\nc", (4, 0)),  # a cue at exactly 60 s starts the 2nd window
        Window(180.0, 240.0, "d", (2,)),       # [120, 180) has no cue: omitted
    ]
    assert windows([], window_s=10) == []
    with pytest.raises(ValueError):
        windows(cues, window_s=0)


def test_windows_cover_every_cue_once():
    text = "".join(f"{i}\n00:{i // 6:02d}:{(i % 6) * 10:02d},000 --> "
                   f"00:{i // 6:02d}:{(i % 6) * 10 + 5:02d},000\nline {i}\n\n" for i in range(30))
    cues = parse_srt(text)
    ws = windows(cues, window_s=45.0)
    indices = [i for w in ws for i in w.cue_indices]
    assert sorted(indices) == list(range(30))
    for w in ws:
        assert all(w.start_s <= cues[i].start_s < w.end_s for i in w.cue_indices)
        assert w.end_s - w.start_s == pytest.approx(45.0)


# --------------------------------------------------------------------------- real files

def test_real_files_metrics_are_sane(shared_media):
    for name, n in (("sintel-en.srt", 26), ("friday.vtt", 5), ("srt_popeye_p3.eng.srt", 15)):
        cues = read_subtitles(shared_media / name)
        m = dialogue_metrics(cues, runtime_s=None)
        assert m["cue_count"] == n, name
        assert 0 < m["speech_share"] <= 1, name
        assert 0 < m["lexical_diversity"] <= 1, name
        assert 0 < m["word_count"] < 200, name
        assert 0 <= m["question_share"] <= 1 and 0 <= m["exclamation_share"] <= 1, name
        json.dumps(m)
    # friday.vtt: 5 back-to-back cues over 6 s, 26 words (must've, he's count as one word)
    friday = dialogue_metrics(read_subtitles(shared_media / "friday.vtt"), runtime_s=6.0)
    assert friday["word_count"] == 26
    assert friday["words_per_minute"] == pytest.approx(260.0)
    assert friday["speech_share"] == pytest.approx((6.0 - 0.004) / 6.0)  # 4 gaps of 1 ms
