"""Viewing events: what each kind says about taste, fading, and reading events files."""
from __future__ import annotations

import csv
import datetime as dt
import json
import math

import pytest

from tagger.errors import InputError
from tagger.recommend.events import (FULL_WATCH_S, KINDS, TRIED_S, Event, affinities, decayed, event_weight,
                                     parse_time_s, read_events)

DAY_S = 86400.0
NEW_YEAR_S = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc).timestamp()


# -- weights --------------------------------------------------------------------------------------
def test_finishing_says_more_than_playing_and_rewatching_most():
    play = event_weight("play", 0.0)
    assert 0 < play < event_weight("completion", 0.5) < event_weight("completion", 0.95)
    assert event_weight("completion", 0.95) == event_weight("completion", 1.0)
    assert event_weight("completion", 0.0) == pytest.approx(play)
    assert play < event_weight("watch", 600) < event_weight("watch", FULL_WATCH_S) == event_weight("completion", 1.0)
    assert event_weight("watch", 10 * FULL_WATCH_S) == event_weight("watch", FULL_WATCH_S)
    assert event_weight("rewatch", 0.0) > event_weight("completion", 1.0)


def test_abandoning_after_trying_is_a_stronger_no_than_an_early_abandon():
    early, tried = event_weight("abandon", 60.0), event_weight("abandon", TRIED_S + 1)
    assert tried < early < 0
    assert event_weight("abandon", TRIED_S) == tried          # five minutes counts as tried


def test_ratings_order_by_stars_with_three_neutral():
    r = {stars: event_weight("rating", stars) for stars in (1.0, 3.0, 4.0, 5.0)}
    assert r[5.0] > r[4.0] > r[3.0] == 0.0 > r[1.0]


def test_an_unknown_kind_names_the_valid_ones():
    with pytest.raises(ValueError, match="skip") as caught:
        event_weight("skip", 1.0)
    assert all(kind in str(caught.value) for kind in KINDS)


# -- fading ---------------------------------------------------------------------------------------
def test_weight_halves_every_half_life():
    assert decayed(0.8, 30 * DAY_S, 30.0) == pytest.approx(0.4)
    assert decayed(0.8, 60 * DAY_S, 30.0) == pytest.approx(0.2)
    assert decayed(-0.6, 30 * DAY_S, 30.0) == pytest.approx(-0.3)
    assert decayed(0.8, 30 * DAY_S, 0.0) == 0.8              # 0 turns fading off
    assert decayed(0.8, -DAY_S, 30.0) == 0.8                 # nothing fades before it happens


def test_affinities_sum_faded_weights_per_user_and_title_and_ignore_the_future():
    now = NEW_YEAR_S
    events = [Event("u", "t1", "completion", 1.0, now - 10 * DAY_S),       # 1.0 faded one half-life
              Event("u", "t1", "rewatch", 0.0, now),                      # 1.5
              Event("u", "t2", "abandon", 900.0, now),                    # -0.6
              Event("v", "t1", "rating", 5.0, now),                       # 1.0
              Event("v", "t2", "rating", 5.0, now + 1)]                   # after now: ignored
    got = affinities(events, now_s=now, half_life_days=10.0)
    assert got == {"u": {"t1": pytest.approx(0.5 + 1.5), "t2": pytest.approx(-0.6)}, "v": {"t1": 1.0}}


# -- reading --------------------------------------------------------------------------------------
def test_read_csv_with_iso_and_unix_timestamps(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("user,title,kind,value,timestamp,region\n"
                    "u1,night-shift,completion,0.95,2024-01-01T00:00:00Z,GB\n"
                    " u1 , day-trip ,PLAY,,2024-01-01,\n"
                    "u2,night-shift,rating,4.5,1704067200,US\n"
                    "u2,day-trip,watch,600,2024-01-01T01:00:00+01:00,\n", encoding="utf-8")
    events = read_events(path)
    assert events == [Event("u1", "night-shift", "completion", 0.95, NEW_YEAR_S, "GB"),
                      Event("u1", "day-trip", "play", 0.0, NEW_YEAR_S, None),
                      Event("u2", "night-shift", "rating", 4.5, NEW_YEAR_S, "US"),
                      Event("u2", "day-trip", "watch", 600.0, NEW_YEAR_S, None)]


def test_read_jsonl_with_numbers_and_strings(tmp_path):
    path = tmp_path / "events.jsonl"
    rows = [{"user": "u1", "title": "t", "kind": "abandon", "value": 420, "timestamp": NEW_YEAR_S + 0.5},
            {"user": 7, "title": "t", "kind": "rating", "value": "5", "timestamp": "2024-01-01T00:00:00",
             "region": "FR"}]
    path.write_text(json.dumps(rows[0]) + "\n\n" + json.dumps(rows[1]) + "\n", encoding="utf-8")
    assert read_events(path) == [Event("u1", "t", "abandon", 420.0, NEW_YEAR_S + 0.5),
                                 Event("7", "t", "rating", 5.0, NEW_YEAR_S, "FR")]


def test_parse_time_reads_zones_and_treats_naive_times_as_utc():
    assert parse_time_s("2024-01-01T02:00:00+02:00") == NEW_YEAR_S
    assert parse_time_s("2024-01-01 00:00:00") == NEW_YEAR_S
    assert parse_time_s(" 1704067200.25 ") == NEW_YEAR_S + 0.25
    assert parse_time_s(1704067200) == NEW_YEAR_S


HEADER = "user,title,kind,value,timestamp\n"
GOOD = "u1,t1,play,,1704067200\n"


@pytest.mark.parametrize("text, line, field, says", [
    ("user,title,kind,timestamp\n" + GOOD, 1, "value", "header"),
    (HEADER + GOOD + ",t1,play,,1704067200\n", 3, "user", "missing"),
    (HEADER + GOOD + GOOD + "u1,,play,,1704067200\n", 4, "title", "missing"),
    (HEADER + "u1,t1,skip,,1704067200\n", 2, "kind", "unknown kind 'skip'"),
    (HEADER + GOOD + "u1,t1,watch,ten,1704067200\n", 3, "value", "expected a number"),
    (HEADER + "u1,t1,rating,6,1704067200\n", 2, "value", "out of range"),
    (HEADER + "u1,t1,completion,1.5,1704067200\n", 2, "value", "out of range"),
    (HEADER + "u1,t1,watch,-5,1704067200\n", 2, "value", "out of range"),
    (HEADER + "u1,t1,watch,nan,1704067200\n", 2, "value", "out of range"),
    (HEADER + GOOD + "u1,t1,play,,yesterday\n", 3, "timestamp", "expected unix seconds or an ISO date"),
    (HEADER + "u1,t1,play,,\n", 2, "timestamp", "missing"),
])
def test_a_bad_csv_row_names_the_file_line_and_field(tmp_path, text, line, field, says):
    path = tmp_path / "events.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_events(path)
    error = caught.value
    assert (error.line, error.field) == (line, field)
    assert str(error).startswith(f"{path}:{line}: {field}: ")
    assert says in error.reason


@pytest.mark.parametrize("lines, line, field, says", [
    (['{"user": "u", "title": "t", "kind": "play", "timestamp": 1}', '{"user": "u", "title"'], 2, None,
     "invalid JSON"),
    (['["u", "t", "play", 0, 1]'], 1, None, "JSON object"),
    (['{"user": "u", "title": "t", "kind": "play", "timestamp": 1}', "",
      '{"user": "u", "kind": "play", "timestamp": 1}'], 3, "title", "missing"),
    (['{"user": "u", "title": "t", "kind": "rating", "value": 9, "timestamp": 1}'], 1, "value", "out of range"),
])
def test_a_bad_jsonl_line_names_the_file_line_and_field(tmp_path, lines, line, field, says):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_events(path)
    error = caught.value
    assert (error.line, error.field) == (line, field)
    assert str(error).startswith(f"{path}:{line}: " + (f"{field}: " if field else ""))
    assert says in error.reason


def test_a_csv_row_with_more_values_than_columns_stops_the_read(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(HEADER + GOOD + "u1,t1,play,,1704067200,GB\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_events(path)
    assert caught.value.line == 3 and "more values than header columns" in caught.value.reason
    assert str(caught.value).startswith(f"{path}:3: ")


def test_a_malformed_csv_row_stops_the_read_naming_its_line(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(HEADER + GOOD + "u1,t1,play,," + "9" * (csv.field_size_limit() + 1) + "\n" + GOOD,
                    encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_events(path)
    assert caught.value.line == 3 and "malformed CSV" in caught.value.reason


def test_a_bom_and_spaces_around_names_and_values_are_read_through(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("\ufeff user , title , kind , value , timestamp \n u1 , t1 , rating , 4 , 1704067200 \n",
                    encoding="utf-8")
    assert read_events(path) == [Event("u1", "t1", "rating", 4.0, NEW_YEAR_S)]
    jsonl = tmp_path / "events.jsonl"
    jsonl.write_text("\ufeff" + json.dumps({"user": " u1 ", "title": "t1", "kind": "play", "timestamp": 1}) + "\n",
                     encoding="utf-8")
    assert read_events(jsonl) == [Event("u1", "t1", "play", 0.0, 1.0)]


def test_a_missing_file_or_another_format_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found") as caught:
        read_events(tmp_path / "absent.csv")
    assert str(tmp_path / "absent.csv") in str(caught.value)
    other = tmp_path / "events.txt"
    other.write_text(HEADER + GOOD)
    with pytest.raises(InputError, match=r"\.csv or \.jsonl"):
        read_events(other)


def test_weights_other_than_low_ratings_stay_within_minus_one_and_one_and_a_half():
    values = [0.0, 0.3, 0.9, 1.0, 60.0, 299.0, 300.0, 3600.0]
    for kind in KINDS:
        for value in values:
            if kind == "rating" and not 1 <= value <= 5 or kind == "completion" and value > 1:
                continue
            w = event_weight(kind, value)
            assert -1.0 <= w <= 1.5 and math.isfinite(w), (kind, value, w)
