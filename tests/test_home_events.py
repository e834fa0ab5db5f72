"""Impressions and clicks in events files: what they need, what they say, and what they do not."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tagger.errors import InputError
from tagger.recommend.events import Event, affinities, read_events, unclicked_impressions
from tagger.recommend.rank import explore

HEADER = "user,title,kind,value,timestamp,row,position,artwork\n"


def test_impressions_and_clicks_are_read_with_their_row_position_and_artwork(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(HEADER + "u,t1,impression,,100,Dark Thrillers,2,3:84\n"
                             "u,t1,click,,101,Dark Thrillers,2,3:84\n"
                             "u,t2,impression,,102,New in the catalog,0,\n"
                             "u,t1,completion,1.0,200,,,\n")
    shown, clicked, no_art, done = read_events(path)
    assert (shown.kind, shown.row, shown.position, shown.artwork_key) == ("impression", "Dark Thrillers", 2, (3, 84))
    assert clicked.kind == "click" and clicked.artwork == "3:84"
    assert no_art.artwork is None and no_art.position == 0
    assert done.row is None and done.position is None


def test_old_events_files_without_the_new_columns_still_read(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("user,title,kind,value,timestamp\nu,t1,play,,100\n")
    assert read_events(path)[0].row is None


@pytest.mark.parametrize("row, field", [("u,t1,impression,,100,,2,3:84", "row"),
                                        ("u,t1,impression,,100,Dark,,3:84", "position"),
                                        ("u,t1,impression,,100,Dark,-1,3:84", "position"),
                                        ("u,t1,impression,,100,Dark,1,384", "artwork"),
                                        ("u,t1,click,,100,Dark,1,a:b", "artwork")])
def test_a_bad_impression_names_the_file_line_and_field(tmp_path, row, field):
    path = tmp_path / "events.csv"
    path.write_text(HEADER + "u,t0,play,,50,,,\n" + row + "\n")
    with pytest.raises(InputError) as caught:
        read_events(path)
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(path), 3, field)


def test_jsonl_impressions(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps({"user": "u", "title": "t", "kind": "impression", "timestamp": 5,
                                "row": "Popular in GB", "position": 4, "artwork": "0:12"}) + "\n")
    assert read_events(path)[0].position == 4


def test_impressions_and_clicks_are_not_taste_and_opening_a_title_resets_its_count():
    events = [Event("u", "t1", "impression", 0, t) for t in (1, 2, 3, 4, 5)] + \
             [Event("u", "t2", "impression", 0, 1), Event("u", "t2", "click", 0, 2),
              Event("u", "t3", "impression", 0, 1), Event("u", "t3", "impression", 0, 9)]
    assert affinities(events, now_s=10, half_life_days=0) == {}
    assert unclicked_impressions(events, now_s=10) == {"u": {"t1": 5, "t3": 2}}
    assert unclicked_impressions(events, now_s=4) == {"u": {"t1": 4, "t3": 1}}


def test_exploration_passes_over_titles_shown_often_and_never_opened():
    # Three pool titles carry the only arm; the best-ranked one was ignored, so the next is explored.
    pool_tags = np.array([[0.0], [1.0], [1.0], [1.0], [0.0]], np.float32)
    order = [0, 4, 1, 2, 3]
    rng = np.random.default_rng(0)
    _, explored = explore(order, pool_tags, np.zeros(1), np.zeros(1), 0.5, rng, 2,
                          skip=np.array([False, True, False, False, False]))
    assert set(explored) == {2}
    _, explored = explore(order, pool_tags, np.zeros(1), np.zeros(1), 0.5, np.random.default_rng(0), 2)
    assert set(explored) == {1}


def test_a_fitted_model_keeps_unopened_impressions_through_save_and_load(tmp_path):
    from recommend_data import START_S, build_items, checkerboard_specs

    from tagger.recommend import Recommender

    items = build_items(checkerboard_specs(4))
    events = [Event("u", "a00", "completion", 1.0, START_S)] + \
             [Event("u", "a01", "impression", 0, START_S + i) for i in range(1, 6)]
    model = Recommender().fit(items, events)
    assert model.unclicked == {"u": {"a01": 5}}
    assert "a01" in [r.title_id for r in model.recommend_user("u", k=7)]     # shown, not seen: still eligible
    assert Recommender.load(model.save(tmp_path / "m")).unclicked == {"u": {"a01": 5}}


def test_an_impression_names_its_row_kind_and_older_files_naming_only_the_row_still_read():
    from tagger.home.feedback import read_feedback
    from tagger.home.rows import read_row, row_value

    assert read_row(row_value("microgenre", "Popular Thrillers")) == ("microgenre", "Popular Thrillers")
    assert read_row("explore:Something different: Upbeat") == ("explore", "Something different: Upbeat")
    assert read_row("Something different: Upbeat") == ("explore", "Something different: Upbeat")   # older files
    events = [Event("u", "t1", "impression", 0, 1, row="microgenre:Popular Thrillers", position=0),
              Event("u", "t1", "click", 0, 2, row="microgenre:Popular Thrillers", position=0),
              Event("u", "t2", "impression", 0, 3, row="Popular in GB", position=0)]
    mine = read_feedback(events, now_s=10)["u"]
    assert mine.row_kinds == {"Popular Thrillers": "microgenre", "Popular in GB": "popular"}
    assert mine.rows == {"Popular Thrillers": [1, 1], "Popular in GB": [1, 0]}
