"""Home pages in a small world with known answers: dark thrillers (A) and upbeat comedies (B),
each title with a darker and a brighter keyframe (A's darker overall)."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from recommend_data import START_S, build_items, title_spec

from tagger.cli import cli
from tagger.home.artwork import ArtworkCandidate
from tagger.home.page import HomeBuilder
from tagger.recommend import Event, Recommender

DAY_S = 86400.0
NOW_S = START_S + 30 * DAY_S


def _world(future: int = 0):
    specs = [title_spec(f"a{n:02d}", "A", n) for n in range(10)] + \
            [title_spec(f"b{n:02d}", "B", n) for n in range(10)] + \
            [title_spec(f"f{n:02d}", "B", n, year=2031.0) for n in range(future)]
    items = build_items(specs)
    artwork = {}
    for t in items.ids:
        low, high = (0.1, 0.4) if t.startswith("a") else (0.6, 0.9)
        artwork[t] = [ArtworkCandidate(t, scene, 24 * scene, float(scene), 5.0,
                                       {"brightness": b, "warmth": 0.5, "colour": 0.5, "faces": 0.5,
                                        "scenery": 0.5, "motion": 0.5, "crowd": 0.5})
                      for scene, b in ((1, low), (2, high))]
    events = []
    for u in range(12):                       # a crowd: half watch A, half B, in GB
        group = "a" if u % 2 == 0 else "b"
        for n in range(4):
            events.append(Event(f"c{u:02d}", f"{group}{(u + n) % 10:02d}", "completion", 1.0,
                                START_S + (u * 4 + n) * 3600.0, "GB"))
    for n in range(3):                        # the dark-thriller viewer
        events.append(Event("noir", f"a{n:02d}", "completion", 1.0, START_S + DAY_S + n * 3600.0, "GB"))
    return items, artwork, events


def _builder(events, future=0, **kwargs):
    items, artwork, crowd = _world(future)
    model = Recommender().fit(items, crowd + events, now_s=NOW_S)
    return HomeBuilder(model, artwork=artwork, events=crowd + events, **kwargs)


def _brighter(home, item) -> bool:
    """Whether the image chosen is the brighter of the title's two."""
    mine = {c.scene: c.features["brightness"] for c in home.table.candidates if c.title_id == item["id"]}
    return mine[item["artwork"]["scene"]] == max(mine.values())


def test_a_viewer_of_dark_thrillers_gets_a_dark_thriller_row_first_and_dark_artwork():
    home = _builder([])
    page = home.page("noir", now_s=NOW_S, rows=6, per_row=5).to_dict()
    first = page["rows"][0]
    assert all(item["id"].startswith("a") for item in first["items"])
    names = [row["name"] for row in page["rows"]]
    assert "Dark Thrillers" in names
    assert names.index("Dark Thrillers") < min(i for i, row in enumerate(page["rows"])
                                              if row["kind"] in ("popular", "new", "explore"))
    thrillers = next(row for row in page["rows"] if row["name"] == "Dark Thrillers")
    assert not any(_brighter(home, item) for item in thrillers["items"])      # the darker image of each


def test_a_viewer_who_only_clicks_bright_images_gets_bright_artwork_after_enough_impressions():
    feedback, clock = [], START_S + 2 * DAY_S
    for round_ in range(8):
        for n in range(3, 10):
            title = f"a{n:02d}"
            for scene, keyframe in ((1, 24), (2, 48)):
                clock += 60.0
                feedback.append(Event("noir", title, "impression", 0.0, clock, row="Dark Thrillers",
                                      position=n, artwork=f"{scene}:{keyframe}"))
                if scene == 2:               # the brighter one
                    feedback.append(Event("noir", title, "click", 0.0, clock + 1, row="Dark Thrillers",
                                          position=n, artwork=f"{scene}:{keyframe}"))
    before = _builder(feedback[:4]).page("noir", now_s=NOW_S, per_row=5).to_dict()
    home = _builder(feedback)
    after = home.page("noir", now_s=NOW_S, per_row=5).to_dict()
    shown = [item for row in after["rows"] for item in row["items"]]
    assert shown and all(_brighter(home, item) for item in shown)
    assert not all(_brighter(home, item) for row in before["rows"] for item in row["items"])
    assert any("your clicks" in item["artwork"]["reason"] for item in shown)


def test_no_title_twice_no_future_release_every_row_named_and_the_json_shape():
    home = _builder([], future=6)
    for user in ("noir", "c01", "someone-new"):
        page = home.page(user, now_s=NOW_S, rows=8, per_row=4, region="GB").to_dict()
        assert set(page) == {"user", "rows"} and page["rows"]
        ids = [item["id"] for row in page["rows"] for item in row["items"]]
        assert len(ids) == len(set(ids))
        assert not any(i.startswith("f") for i in ids)
        for row in page["rows"]:
            assert set(row) == {"name", "kind", "reason", "items"} and row["name"] and row["reason"]
            for item in row["items"]:
                assert set(item) == {"id", "title", "score", "reasons", "artwork"} and item["reasons"]
                assert set(item["artwork"]) == {"scene", "keyframe", "url", "reason"}
        json.dumps(page)
    later = home.page("noir", now_s=dt.datetime(2032, 1, 1, tzinfo=dt.timezone.utc).timestamp(), rows=8, per_row=4)
    assert any(item.title_id.startswith("f") for row in later.rows for item in row.items)


def test_a_new_viewer_gets_a_page_from_region_popularity_and_their_picks():
    home = _builder([])
    page = home.page("newcomer", region="GB", now_s=NOW_S, tags=["comedy"], per_row=4).to_dict()
    kinds = [row["kind"] for row in page["rows"]]
    assert "popular" in kinds
    picked = next(row for row in page["rows"] if row["kind"] == "microgenre")
    assert all(item["id"].startswith("b") for item in picked["items"])


def test_a_mood_puts_its_row_first_for_this_session_only():
    home = _builder([])
    plain = home.page("noir", now_s=NOW_S, per_row=4).to_dict()
    moody = home.page("noir", now_s=NOW_S, per_row=4, mood=["upbeat"]).to_dict()
    assert moody["rows"][0]["name"] == "In the mood for: Upbeat" and moody["rows"][0]["kind"] == "mood"
    assert all(item["id"].startswith("b") for item in moody["rows"][0]["items"])
    assert home.page("noir", now_s=NOW_S, per_row=4).to_dict() == plain        # nothing about them changed
    with pytest.raises(Exception, match="no title in the catalog carries it"):
        home.page("noir", now_s=NOW_S, mood=["sleepy"])


def test_recommend_home_from_the_command_line(tmp_path):
    items, artwork, crowd = _world()
    Recommender().fit(items, crowd, now_s=NOW_S).save(tmp_path / "model")
    from tagger.catalog.db import Catalog

    with Catalog(tmp_path / "empty.db"):
        pass
    result = CliRunner().invoke(cli, ["recommend", "home", "c00", "--model", str(tmp_path / "model"),
                                      "--catalog", str(tmp_path / "empty.db"), "--at", "2023-02-01",
                                      "--json", "--per-row", "3"])
    assert result.exit_code == 0, result.output
    page = json.loads(result.output)
    assert page["user"] == "c00" and page["rows"]
    assert all(item["artwork"] is None for row in page["rows"] for item in row["items"])     # no keyframes stored
    text = CliRunner().invoke(cli, ["recommend", "home", "c00", "--model", str(tmp_path / "model"),
                                    "--catalog", str(tmp_path / "empty.db"), "--at", "2023-02-01"])
    assert text.exit_code == 0 and page["rows"][0]["name"] in text.output


def test_recommend_user_with_a_mood_leans_that_way_for_one_answer():
    home = _builder([])
    plain = [r.title_id for r in home.model.recommend_user("noir", k=4, now_s=NOW_S)]
    moody = home.model.recommend_user("noir", k=4, now_s=NOW_S, mood=["Upbeat"])
    assert sum(t.startswith("b") for t in plain) < sum(r.title_id.startswith("b") for r in moody)
    assert any("Upbeat" in " ".join(r.reasons) for r in moody)
    assert [r.title_id for r in home.model.recommend_user("noir", k=4, now_s=NOW_S)] == plain


def test_a_page_as_of_a_past_time_does_not_learn_from_feedback_after_it():
    feedback, clock = [], START_S + 2 * DAY_S
    for round_ in range(8):
        for n in range(3, 10):
            for scene, keyframe in ((1, 24), (2, 48)):
                clock += 60.0
                feedback.append(Event("noir", f"a{n:02d}", "impression", 0.0, clock, row="microgenre:Dark Thrillers",
                                      position=n, artwork=f"{scene}:{keyframe}"))
                if scene == 2:
                    feedback.append(Event("noir", f"a{n:02d}", "click", 0.0, clock + 1, row="microgenre:Dark Thrillers",
                                          position=n, artwork=f"{scene}:{keyframe}"))
    before_s = START_S + 1.5 * DAY_S           # before any of that feedback
    home = _builder(feedback)
    past = home.page("noir", now_s=before_s, per_row=5).to_dict()
    assert past == _builder([]).page("noir", now_s=before_s, per_row=5).to_dict()
    now = home.page("noir", now_s=NOW_S, per_row=5).to_dict()      # and learning again once it is later
    assert all(_brighter(home, item) for row in now["rows"] for item in row["items"])
    assert home.feedback["noir"].row_kinds == {"Dark Thrillers": "microgenre"}


def test_a_reason_names_each_tag_label_once():
    """Two tags with one label (a genre and a sub-genre, both "Thriller") and a tag that can be a
    micro-genre's noun and its adjective: the row's reason lists each label once."""
    import dataclasses

    items, artwork, crowd = _world()
    labels = ["Thriller" if t in ("dark", "thriller") else t.title() for t in items.tag_ids]
    items = dataclasses.replace(items, tag_labels=labels)
    events = crowd + [Event("noir", f"a{n:02d}", "completion", 1.0, START_S + DAY_S + n * 3600.0, "GB")
                      for n in range(3)]
    home = HomeBuilder(Recommender().fit(items, events, now_s=NOW_S), artwork=artwork, events=events)
    page = home.page("noir", now_s=NOW_S, per_row=4).to_dict()
    reasons = [row["reason"] for row in page["rows"]] + [r for row in page["rows"] for item in row["items"]
                                                          for r in item["reasons"]]
    assert "your strongest tags: Thriller" in reasons
    for reason in reasons:
        listed = reason.split(": ", 1)[-1].split(", ")
        assert len(listed) == len(set(listed)), reason
    moody = home.page("noir", now_s=NOW_S, per_row=4, mood=["dark", "thriller"]).to_dict()
    assert moody["rows"][0]["name"] == "In the mood for: Thriller"
