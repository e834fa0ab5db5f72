"""The one reader of CSV and JSONL data files (manifests, events): rows, line numbers, problems."""
from __future__ import annotations

import csv
import json

import pytest

from tagger.errors import InputError
from tagger.rows import read_rows

TOO_LONG = "x" * (csv.field_size_limit() + 1)   # the csv module refuses such a field


def test_csv_rows_are_stripped_and_numbered_by_line(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("\ufeff id , title \n"
                    " m1 , One \n"
                    "\n"
                    ",\n"                       # a spreadsheet's empty row
                    "m2,\"Two,\nlines\"\n"      # a quoted value over two lines: numbered by its start
                    "m3\n", encoding="utf-8")
    assert list(read_rows(path)) == [(2, {"id": "m1", "title": "One"}, None),
                           (5, {"id": "m2", "title": "Two,\nlines"}, None),
                           (7, {"id": "m3", "title": None}, None)]


def test_csv_extra_values_are_a_problem_of_their_row_but_a_trailing_comma_is_not(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("id,title\nm1,One,surplus\nm2,Two,\n", encoding="utf-8")
    (line1, row1, problem1), (line2, row2, problem2) = read_rows(path)
    assert (line1, row1) == (2, {"id": "m1", "title": "One"})
    assert isinstance(problem1, InputError) and problem1.line == 2
    assert str(problem1).startswith(f"{path}:2: ") and "surplus" in problem1.reason
    assert (line2, row2, problem2) == (3, {"id": "m2", "title": "Two"}, None)


def test_a_csv_error_loses_only_its_row(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(f"id,title\nm1,{TOO_LONG}\nm2,Two\n", encoding="utf-8")
    (line1, row1, problem1), (line2, row2, problem2) = read_rows(path)
    assert (line1, row1, problem1.line) == (2, {}, 2)
    assert "malformed CSV" in problem1.reason and str(path) in str(problem1)
    assert (line2, row2, problem2) == (3, {"id": "m2", "title": "Two"}, None)


def test_csv_header_must_name_the_required_columns(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("user,title\nu,t\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        list(read_rows(path, required=("user", "title", "kind")))
    assert (caught.value.line, caught.value.field) == (1, "kind")
    assert str(caught.value).startswith(f"{path}:1: kind: ")
    assert [row for _, row, _ in read_rows(path, required=("user", "title"))] == [
        {"user": "u", "title": "t"}]


def test_jsonl_rows_problems_and_stripping(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("\ufeff" + json.dumps({" id ": " m1 ", "year": 1999}) + "\n"
                    "\n"
                    '{"id": "m2", \n'
                    '["m3"]\n'
                    + json.dumps({"id": "m4", "cast": [" A "]}) + "\n", encoding="utf-8")
    rows = list(read_rows(path))
    assert [(line, row) for line, row, _ in rows] == [
        (1, {"id": "m1", "year": 1999}), (3, {}), (4, {}), (5, {"id": "m4", "cast": [" A "]})]
    problems = [problem for _, _, problem in rows]
    assert problems[0] is None and problems[3] is None
    assert problems[1].line == 3 and "invalid JSON" in problems[1].reason
    assert problems[2].line == 4 and "JSON object" in problems[2].reason
    assert str(problems[2]).startswith(f"{path}:4: ")


def test_other_suffixes_are_input_errors_and_non_utf8_rows_problems_of_their_own(tmp_path):
    other = tmp_path / "rows.txt"
    other.write_text("id\nm1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"manifest must be a \.csv or \.jsonl") as caught:
        read_rows(other, what="manifest")
    assert str(other) in str(caught.value)
    latin = tmp_path / "rows.csv"
    latin.write_bytes("id,title\nm1,Caf\u00e9\nm2,Fine\n".encode("latin-1"))
    rows = list(read_rows(latin))
    assert str(rows[0][2]) == f"{latin}:2: title: not UTF-8 text: byte 0xe9; save the file as UTF-8"
    assert rows[1] == (3, {"id": "m2", "title": "Fine"}, None), "the other rows are read"
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_bytes('{"id": "m1", "title": "Caf\u00e9"}\n{"id": "m2"}\n'.encode("cp1252"))
    rows = list(read_rows(jsonl))
    assert str(rows[0][2]).startswith(f"{jsonl}:1: title: not UTF-8 text: byte 0xe9") and rows[1][2] is None
