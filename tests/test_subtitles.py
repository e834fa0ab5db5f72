"""Subtitle decoding and parsing: known strings and bytes, the messy cases, real files."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tagger.errors import InputError
from tagger.text.subtitles import (
    Cue,
    decode_subtitle_bytes,
    parse_srt,
    parse_vtt,
    read_subtitles,
    subtitle_language,
)

BASIC_SRT = """1
00:00:01,000 --> 00:00:02,500
Hello there.

2
00:00:03,250 --> 00:00:05,000
Two lines
of text.
"""


def test_basic_srt_times_text_and_lines():
    cues = parse_srt(BASIC_SRT)
    assert cues == [
        Cue(1.0, 2.5, "Hello there.", 2),
        Cue(3.25, 5.0, "Two lines\nof text.", 6),
    ]


def test_srt_markup_removed_and_entities_unescaped():
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\n"
        "<i>Italic</i> and <b>bold</b> and <font color=\"#ff0000\">red</font>\n"
        "{\\an8}On top &amp; &quot;quoted&quot; &lt;i&gt;literal&lt;/i&gt;\n"
    )
    (cue,) = parse_srt(text)
    # "&lt;i&gt;" is text the author escaped on purpose: it must survive as "<i>"
    assert cue.text == 'Italic and bold and red\nOn top & "quoted" <i>literal</i>'


def test_vtt_markup_removed():
    text = (
        "WEBVTT\n\n"
        "00:01.000 --> 00:02.000\n"
        "<v Roger Bingham>We are in <c.yellow.bg_blue>New York</c> City</v>\n"
        "<00:00:01.500>Karaoke <00:00:01.800>words &amp; <u>more</u>\n"
    )
    (cue,) = parse_vtt(text)
    assert cue.text == "We are in New York City\nKaraoke words & more"
    assert (cue.start_s, cue.end_s) == (1.0, 2.0)


def test_srt_missing_and_wrong_numbers_and_extra_blank_lines():
    text = (
        "\n\n7\n00:00:01,000 --> 00:00:02,000\nFirst\n\n\n\n"
        "00:00:03,000 --> 00:00:04,000\nSecond (no number)\n"
        "3\n00:00:05,000 --> 00:00:06,000\nThird (no blank line above its number)\n"
        "99\n\n00:00:07,000 --> 00:00:08,000\nFourth\n"
    )
    cues = parse_srt(text)
    assert [c.text for c in cues] == [
        "First", "Second (no number)", "Third (no blank line above its number)", "Fourth"
    ]
    assert [c.line for c in cues] == [4, 9, 12, 16]
    assert [c.start_s for c in cues] == [1.0, 3.0, 5.0, 7.0]
    # a cue whose only text is a number keeps it, even with a blank line below
    answer = "1\n00:00:01,000 --> 00:00:02,000\n42\n\n00:00:03,000 --> 00:00:04,000\nyes\n"
    assert [c.text for c in parse_srt(answer)] == ["42", "yes"]


def test_timestamp_variants():
    text = (
        "1\n0:00:01.500 --> 0:00:02.5\nOne-digit hours, dot, short fraction\n\n"
        "2\n100:00:00,000 --> 100:00:01,000\nThree-digit hours\n\n"
        "3\n01:02,250 --> 01:03,000\nNo hours\n\n"
        "4\n00:00:09 --> 00:00:10\nNo fraction\n\n"
        "5\n00:00:11,000-->00:00:12,000\nNo spaces\n"
    )
    cues = parse_srt(text)
    assert [(c.start_s, c.end_s) for c in cues] == [
        (1.5, 2.5), (9.0, 10.0), (11.0, 12.0), (62.25, 63.0), (360000.0, 360001.0)
    ]


def test_vtt_header_notes_styles_regions_ids_and_settings():
    text = (
        "WEBVTT - A title\n"
        "Kind: captions\n"
        "Language: en\n"
        "\n"
        "STYLE\n::cue { color: yellow }\n\n"
        "REGION\nid:fred width:40% lines:3\n\n"
        "NOTE This is a comment\nthat spans lines\n\n"
        "intro\n"
        "00:00:00.500 --> 00:00:01.000 align:start position:10%\n"
        "Hi.\n\n"
        "NOTE\nanother note\n\n"
        "2\n"
        "00:01.000 --> 00:02.000 region:fred line:0\n"
        "Bye.\n"
    )
    cues = parse_vtt(text)
    assert cues == [Cue(0.5, 1.0, "Hi.", 15), Cue(1.0, 2.0, "Bye.", 22)]


def test_vtt_without_header_and_vtt_named_srt():
    body = "00:00:01.000 --> 00:00:02.000\nNo header\n"
    assert parse_vtt(body) == [Cue(1.0, 2.0, "No header", 1)]
    # a WebVTT file saved as .srt: the header and NOTE must not become cue text
    vtt = "WEBVTT\n\nNOTE hello\n\n00:00:01.000 --> 00:00:02.000\nFine\n"
    assert parse_srt(vtt) == [Cue(1.0, 2.0, "Fine", 5)]


def test_overlapping_cues_kept_and_sorted_by_start():
    text = (
        "1\n00:00:05,000 --> 00:00:08,000\nLater\n\n"
        "2\n00:00:01,000 --> 00:00:06,000\nEarlier, overlaps\n\n"
        "3\n00:00:01,000 --> 00:00:02,000\nSame start, after in file\n"
    )
    cues = parse_srt(text)
    assert [c.text for c in cues] == ["Earlier, overlaps", "Same start, after in file", "Later"]
    assert [c.line for c in cues] == [6, 10, 2]


def test_empty_cues_dropped():
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\n<i></i> {\\an8}\n\n"
        "3\n00:00:05,000 --> 00:00:06,000\nKept\n"
    )
    assert parse_srt(text) == [Cue(5.0, 6.0, "Kept", 9)]


@pytest.mark.parametrize("text", ["", "\n\n  \n", "1\n", "WEBVTT\n", "WEBVTT\n\nNOTE only a note\n"])
def test_no_cues_is_an_empty_list(text):
    assert parse_srt(text) == []
    assert parse_vtt(text) == []


def test_end_before_start_is_an_error_with_line():
    text = "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:05,000 --> 00:00:04,000\nbad\n"
    with pytest.raises(InputError) as info:
        parse_srt(text, path="film.srt")
    err = info.value
    assert err.line == 6
    assert "film.srt:6" in str(err)
    assert "00:00:05,000 --> 00:00:04,000" in str(err)
    assert "ends before it starts" in str(err)


@pytest.mark.parametrize(
    "bad, lineno",
    [
        ("00:00:01,000 --> 00:00:0x,000", 2),      # garbage in a timestamp
        ("00:00:01,000 00:00:02,000", 2),          # arrow missing
        ("01:02 --> 01:03", 2),                    # h:mm or mm:ss? ambiguous
        ("00:75:01,000 --> 00:75:02,000", 2),      # minutes out of range
        ("00:00:01:12 --> 00:00:02:00", 2),        # frames (SMPTE), not milliseconds
        ("00:00:01,000 -->", 2),                   # no end
        ("00:00:01,0000 --> 00:00:02,000", 2),     # four fraction digits
    ],
)
def test_malformed_timing_line_names_file_line_and_text(bad, lineno):
    text = f"1\n{bad}\nSome text\n"
    with pytest.raises(InputError) as info:
        parse_srt(text, path="/media/film.en.srt")
    msg = str(info.value)
    assert info.value.line == lineno
    assert msg.startswith(f"/media/film.en.srt:{lineno}:")
    assert repr(bad) in msg


def test_malformed_timing_later_in_vtt_reports_its_line():
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\nid\n00:00:03.000 --> 3 seconds\nx\n"
    with pytest.raises(InputError) as info:
        parse_vtt(text, path="a.vtt")
    assert info.value.line == 7
    assert "a.vtt:7" in str(info.value)


# --------------------------------------------------------------------------- decoding

SAMPLE = "1\r\n00:00:01,000 --> 00:00:02,000\r\nCafé – it’s “here”\r\n"
SAMPLE_LF = SAMPLE.replace("\r\n", "\n")


@pytest.mark.parametrize(
    "data",
    [
        SAMPLE.encode("utf-8"),
        b"\xef\xbb\xbf" + SAMPLE.encode("utf-8"),
        b"\xff\xfe" + SAMPLE.encode("utf-16-le"),
        b"\xfe\xff" + SAMPLE.encode("utf-16-be"),
        SAMPLE.encode("utf-16"),          # BOM in native order
        SAMPLE.encode("utf-32"),
        SAMPLE.encode("utf-16-le"),       # no BOM: found from the NUL pattern
        SAMPLE.encode("utf-16-be"),
        SAMPLE.encode("cp1252"),          # é, ’, “, ” and – are single bytes here
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "utf16-bom", "utf32-bom",
         "utf16le", "utf16be", "cp1252"],
)
def test_decode_encodings(data):
    assert decode_subtitle_bytes(data) == SAMPLE_LF


def test_decode_falls_back_to_latin1_and_never_raises():
    # 0x81 is undefined in cp1252 and invalid utf-8: only latin-1 takes it
    data = b"caf\xe9 \x81 ok\r"
    assert decode_subtitle_bytes(data) == "caf\xe9 \x81 ok\n"
    for junk in (bytes(range(256)), b"\xff", b"\x00", b""):
        assert isinstance(decode_subtitle_bytes(junk), str)


def test_decode_normalises_cr_and_crlf():
    assert decode_subtitle_bytes(b"a\r\nb\rc\n") == "a\nb\nc\n"


def test_line_numbers_survive_cr_only_files(tmp_path):
    path = tmp_path / "old.srt"
    path.write_bytes(b"1\r00:00:01,000 --> 00:00:02,000\rx\r\r2\r00:00:03,000 --> 00:00:04,000\ry\r")
    assert [(c.text, c.line) for c in read_subtitles(path)] == [("x", 2), ("y", 6)]


def test_read_subtitles_cp1252_srt_and_utf16_vtt(tmp_path):
    srt = tmp_path / "film.fr.srt"
    srt.write_bytes("1\r\n00:00:01,000 --> 00:00:02,000\r\n<i>Déjà vu</i>, n’est-ce pas ?\r\n"
                    .encode("cp1252"))
    assert read_subtitles(srt) == [Cue(1.0, 2.0, "Déjà vu, n’est-ce pas ?", 2)]
    vtt = tmp_path / "film.ja.VTT"
    vtt.write_bytes("WEBVTT\n\n00:01.000 --> 00:02.000\nこんにちは\n".encode("utf-16"))
    assert read_subtitles(vtt) == [Cue(1.0, 2.0, "こんにちは", 3)]


def test_read_subtitles_errors_name_the_file(tmp_path):
    other = tmp_path / "film.ass"
    other.write_text("[Script Info]\n")
    with pytest.raises(InputError, match=r"film\.ass.*unsupported subtitle format"):
        read_subtitles(other)
    with pytest.raises(InputError, match=r"missing\.srt.*cannot read"):
        read_subtitles(tmp_path / "missing.srt")
    bad = tmp_path / "bad.srt"
    bad.write_text("1\n00:00:02,000 --> 00:00:01,000\nx\n")
    with pytest.raises(InputError) as info:
        read_subtitles(bad)
    assert f"{bad}:2:" in str(info.value)


@pytest.mark.parametrize("content, reason", [
    (bytes(range(256)) * 40, "no timing line"),       # random-looking bytes renamed .srt
    (b"Just some notes about the film.\n", "no timing line"),
    (b"", "empty"),
    (b"\n\n  \n", "empty"),
])
def test_a_subtitle_file_without_cues_is_an_error_naming_it(tmp_path, content, reason):
    path = tmp_path / "film.en.srt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=rf"film\.en\.srt: no subtitle cues found \(.*{reason}"):
        read_subtitles(path)


def test_a_huge_cue_is_clipped(tmp_path, caplog):
    from tagger.text.subtitles import MAX_CUE_CHARS

    path = tmp_path / "long.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\n" + "word " * 200_000 + "\n\n"
                    "2\n00:00:03,000 --> 00:00:04,000\nnext\n")
    cues = read_subtitles(path)
    assert [len(c.text) for c in cues] == [MAX_CUE_CHARS, 4]
    assert "long.srt:2: cue text of 999999 characters clipped" in caplog.text


# --------------------------------------------------------------------------- language

@pytest.mark.parametrize(
    "name, lang",
    [
        ("movie.en.srt", "en"),
        ("srt_popeye_p3.eng.srt", "en"),
        ("/some/dir/film.ger.vtt", "de"),
        ("film.fra.srt", "fr"),
        ("film.EN.srt", "en"),
        ("movie.pt-BR.vtt", "pt-BR"),
        ("movie.pt_br.srt", "pt-BR"),
        ("movie.zh-hant.vtt", "zh-Hant"),
        ("movie.es-419.srt", "es-419"),
        ("movie.en.forced.srt", "en"),
        ("movie.en.sdh.srt", "en"),
        ("movie.hi.srt", "hi"),          # Hindi when it stands alone
        ("movie.en.hi.srt", "en"),       # hearing impaired after a language
        ("movie.xyz.srt", "xyz"),        # unknown code kept as is
        ("sintel-en.srt", "en"),         # dash before a known code
        ("movie.srt", None),
        ("Movie.2019.1080p.srt", None),
        ("Movie.The.srt", None),         # a title word, not a language
        ("the_big_one.srt", None),
        ("movie.en.txt", None),
    ],
)
def test_subtitle_language(name, lang):
    assert subtitle_language(name) == lang


# --------------------------------------------------------------------------- real files

def _sane(cues):
    assert all(0 <= c.start_s <= c.end_s for c in cues)
    assert [c.start_s for c in cues] == sorted(c.start_s for c in cues)
    assert all(c.text and c.text == c.text.strip() for c in cues)
    assert all("<" not in c.text and "{\\" not in c.text for c in cues)


def test_real_sintel_srt(shared_media):
    cues = read_subtitles(shared_media / "sintel-en.srt")
    assert len(cues) == 26
    _sane(cues)
    # the file starts with a blank line, so the first timing line is line 3
    assert cues[0] == Cue(107.25, 110.5, "This blade has a dark past.", 3)
    assert cues[2].text == "You're a fool for traveling alone,\nso completely unprepared."
    assert (cues[-1].start_s, cues[-1].end_s, cues[-1].text) == (626.2, 629.8, "Scales...")


def test_real_friday_vtt(shared_media):
    cues = read_subtitles(shared_media / "friday.vtt")
    assert len(cues) == 5
    _sane(cues)
    assert cues[0] == Cue(0.0, 0.999, "Hildy!", 3)
    assert cues[2].text == "Tell me, is the lord of the universe in?"  # <u> removed
    assert cues[-1].end_s == 6.0


def test_real_popeye_srt(shared_media):
    path = shared_media / "srt_popeye_p3.eng.srt"
    cues = read_subtitles(path)
    assert len(cues) == 15
    _sane(cues)
    # the file has a UTF-8 BOM: it must not stick to the first cue number
    assert cues[0] == Cue(12.4, 13.7, "[squawk]", 2)
    assert cues[11].text == "I gotta take another\nlook at that thing"
    assert cues[-1].end_s == pytest.approx(61.036)
    assert subtitle_language(path) == "en"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=400),
    # mutated real-looking files: timing lines, numbers and text shuffled and cut
    st.lists(st.sampled_from(["1", "2", "00:00:01,000 --> 00:00:02,000", "00:00:02.500 --> 00:00:01,000",
                              "99:99:99,999 --> 00:00:01,000", "WEBVTT", "NOTE x", "<i>Hi</i>", "", "-->",
                              "00:01.000 --> 00:02.000 align:start", "\ufeff", "&amp;", "\x00"]),
             max_size=12).map(lambda lines: "\n".join(lines).encode("utf-8"))),
    suffix=st.sampled_from([".srt", ".vtt"]))
def test_any_subtitle_bytes_give_cues_or_the_projects_own_error(tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        cues = read_subtitles(path)
    except InputError as error:
        assert str(error).startswith(str(path))
    else:
        assert cues and all(0 <= c.start_s <= c.end_s and c.text for c in cues)
