"""Finding titles: folders, bare files, folders of titles, manifests, and their errors."""
import csv
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tagger.errors import InputError
from tagger.titles import MEDIA_FIELDS, METADATA_FIELDS, discover, read_manifest, read_title_toml


def _touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_title_folder_reads_toml_and_subtitles(tmp_path):
    folder = tmp_path / "dark-night"
    _touch(folder / "movie.mp4")
    _touch(folder / "movie.en.srt")
    _touch(folder / "movie.fr.vtt")
    _touch(folder / "title.toml", 'id = "dn-1"\ntitle = "Dark Night"\nyear = 2020\nregions = ["US"]\n')
    [title] = discover([folder])
    assert title.id == "dn-1" and title.title == "Dark Night" and title.year == 2020
    assert title.video.endswith("movie.mp4")
    assert [Path(s).name for s in title.subtitles] == ["movie.en.srt", "movie.fr.vtt"]


def test_folder_of_titles_and_bare_videos(tmp_path):
    _touch(tmp_path / "a" / "a.mp4")
    _touch(tmp_path / "b" / "b.mkv")
    _touch(tmp_path / "loose.webm")
    titles = discover([tmp_path / "a", tmp_path / "b", tmp_path / "loose.webm"])
    assert [t.id for t in titles] == ["a", "b", "loose"]
    assert [t.id for t in discover([tmp_path])] == ["a", "b", "loose"]  # loose videos are titles too


def test_malformed_title_toml_fails_only_that_title(tmp_path):
    _touch(tmp_path / "good" / "good.mp4")
    _touch(tmp_path / "bad" / "bad.mp4")
    _touch(tmp_path / "bad" / "title.toml", 'title = "Bad"\nyear = "soon"\n')
    titles = {t.id: t for t in discover([tmp_path])}
    assert titles["good"].problem is None
    assert "title.toml" in titles["bad"].problem and "year" in titles["bad"].problem


def test_toml_syntax_error_names_the_line(tmp_path):
    _touch(tmp_path / "t" / "t.mp4")
    _touch(tmp_path / "t" / "title.toml", 'title = "ok"\nsynopsis = "unclosed\n')
    [title] = discover([tmp_path / "t"])
    assert "title.toml" in title.problem and "line 2" in title.problem


def test_not_a_video_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="notes.txt"):
        discover([_touch(tmp_path / "notes.txt")])


def test_csv_manifest_with_metadata_only_rows(tmp_path):
    manifest = _touch(tmp_path / "titles.csv",
                      "id,title,synopsis,year,regions,video,subtitles\n"
                      "m1,Movie One,A heist in Paris.,1999,US|FR,,\n"
                      "m2,Movie Two,Space opera.,2001,,media/m2.mp4,media/m2.en.srt|media/m2.de.srt\n")
    m1, m2 = read_manifest(manifest)
    assert m1.video is None and m1.regions == ["US", "FR"] and m1.year == 1999
    assert m2.video == str(tmp_path / "media" / "m2.mp4")
    assert len(m2.subtitles) == 2 and m2.source.endswith("titles.csv:3")


def test_manifest_bad_row_fails_that_row_with_file_and_line(tmp_path):
    manifest = _touch(tmp_path / "titles.jsonl", "\n".join([
        json.dumps({"id": "ok1", "title": "Fine"}),
        "{not json",
        json.dumps({"id": "y", "year": "nineteen"}),
        json.dumps({"id": "ok1", "title": "Again"}),
    ]))
    titles = read_manifest(manifest)
    assert [t.problem is None for t in titles] == [True, False, False, False]
    assert "titles.jsonl:2" in titles[1].problem
    assert "titles.jsonl:3" in titles[2].problem and "year" in titles[2].problem
    assert "repeats line 1" in titles[3].problem and titles[3].id == "titles.jsonl:4"


def test_manifest_without_id_column_is_rejected(tmp_path):
    with pytest.raises(InputError, match="id"):
        read_manifest(_touch(tmp_path / "m.csv", "title,synopsis\nA,B\n"))


def test_paths_are_stored_absolute_whatever_the_working_folder(tmp_path, monkeypatch):
    _touch(tmp_path / "a" / "a.mp4")
    _touch(tmp_path / "a" / "a.en.srt")
    monkeypatch.chdir(tmp_path)
    [title] = discover(["a"])
    assert Path(title.video).is_absolute() and Path(title.subtitles[0]).is_absolute()


@pytest.mark.parametrize("year, reason", [
    ("inf", "expected a whole year"), ("nan", "expected a whole year"), ("1e400", "expected a whole year"),
    ("2020.7", "expected a whole year"), ('"soon"', "expected a whole year"), ("true", "expected a whole year"),
    ("1492", "out of range"),
])
def test_a_bad_year_in_title_toml_fails_that_title_naming_the_field(tmp_path, year, reason):
    folder = tmp_path / "film"
    folder.mkdir()
    (folder / "title.toml").write_text(f'title = "Film"\nyear = {year}\n')
    [title] = discover([tmp_path])
    assert title.problem.startswith(f"{folder / 'title.toml'}: year: ") and reason in title.problem


def test_whole_years_are_taken_in_any_spelling(tmp_path):
    for spelling in ("2020", "2020.0", '"2020"'):
        (tmp_path / "title.toml").write_text(f"year = {spelling}\n")
        assert read_title_toml(tmp_path / "title.toml") == {"year": 2020}


def test_manifest_rows_of_the_wrong_type_fail_alone_naming_line_and_field(tmp_path):
    manifest = tmp_path / "titles.jsonl"
    manifest.write_text('{"id": "a", "video": 5}\n{"id": "b", "subtitles": [1]}\n{"id": "c", "year": Infinity}\n'
                        '{"id": "d", "title": ["x"]}\n{"id": {"x": 1}}\n{"id": "ok", "year": 1e400}\n'
                        '{"id": "fine", "title": "Fine"}\n')
    titles = read_manifest(manifest)
    assert [t.id for t in titles] == ["a", "b", "c", "d", "titles.jsonl:5", "ok", "fine"]
    expected = [(1, "video"), (2, "subtitles"), (3, "year"), (4, "title"), (5, "id"), (6, "year")]
    for title, (line, field) in zip(titles, expected):
        assert title.problem.startswith(f"{manifest}:{line}: {field}: expected ")
    assert titles[-1].problem is None and titles[-1].title == "Fine"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.dictionaries(st.sampled_from(METADATA_FIELDS + MEDIA_FIELDS + ("other",)),
                           st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                                        lambda inner: st.lists(inner, max_size=3)
                                        | st.dictionaries(st.text(max_size=3), inner, max_size=2),
                                        max_leaves=6)))
def test_any_manifest_row_is_a_title_or_its_own_input_error(tmp_path, row):
    assume(str(row.get("id")).strip() != "next")
    manifest = tmp_path / "fuzz.jsonl"
    manifest.write_text(json.dumps(row) + "\n" + json.dumps({"id": "next"}) + "\n")
    first, second = read_manifest(manifest)   # nothing but the project's own error may escape
    assert second.id == "next" and second.problem is None
    if first.problem is not None:
        assert first.problem.startswith(f"{manifest}:1: ")


def _toml_value(value) -> str:
    if isinstance(value, float):
        return {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(repr(value), repr(value))
    return json.dumps(value)   # JSON strings, numbers, booleans and arrays read as TOML too


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st.dictionaries(st.sampled_from(METADATA_FIELDS + MEDIA_FIELDS + ("other",)),
                             st.none() | st.booleans() | st.integers() | st.floats() | st.text()
                             | st.lists(st.integers() | st.text(), max_size=3)).map(
                                 lambda d: {k: v for k, v in d.items() if v is not None}))
def test_any_title_toml_is_metadata_or_an_input_error(tmp_path, table):
    path = tmp_path / "title.toml"
    path.write_text("".join(f"{key} = {_toml_value(value)}\n" for key, value in table.items()))
    try:
        read_title_toml(path)
    except InputError as error:
        assert str(error).startswith(str(path))


def test_csv_manifest_broken_rows_fail_only_their_titles(tmp_path):
    long_synopsis = "x" * (csv.field_size_limit() + 1)   # more than the csv module reads
    manifest = _touch(tmp_path / "titles.csv",
                      "\ufeffid , title\n"
                      " m1 , One \n"
                      "m2,Two,surplus\n"
                      f"m3,{long_synopsis}\n"
                      "m4,Four\n")
    m1, m2, m3, m4 = read_manifest(manifest)
    assert (m1.id, m1.title, m1.problem) == ("m1", "One", None)
    assert m2.id == "m2" and "titles.csv:3" in m2.problem and "surplus" in m2.problem
    assert m3.id == "titles.csv:4" and "titles.csv:4" in m3.problem and "malformed CSV" in m3.problem
    assert (m4.id, m4.problem) == ("m4", None)
