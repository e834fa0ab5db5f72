"""The Recommender's queries on a small catalog whose answers are known from how it was built."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recommend_data import START_S, build_items, checkerboard_likes, checkerboard_specs, events_of, title_spec
from tagger.errors import UnknownIdError
from tagger.recommend import Event, Recommender, RecommenderSettings
from tagger.recommend.model import PARTS

QUERY_S = START_S + 60 * 86400.0                  # 2023-03-02, after every event
FUTURE_YEAR = 2100.0
AFTER_RELEASE_S = dt.datetime(2101, 6, 1, tzinfo=dt.timezone.utc).timestamp()
A_LIKE = ("new-a", "future-a")                   # A titles beside the checkerboard


def world_events(items, with_extras: bool = True) -> list[Event]:
    """Checkerboard viewers u00-u23 (A) and u24-u47 (B), each liking 7 titles of their group,
    every A viewer also liking a05 (the hit). Extras: u00 rates a08 one star and abandons b00
    after ten minutes; six viewers in GB (gb0-gb5) finish b03."""
    likes, times, _ = checkerboard_likes(items, users_per_group=24, likes_per_user=7, hit="a05")
    events = events_of(items, likes, times)
    if with_extras:
        late = START_S + 30 * 86400.0
        events += [Event("u00", "a08", "rating", 1.0, late), Event("u00", "b00", "abandon", 600.0, late + 60)]
        events += [Event(f"gb{i}", "b03", "completion", 1.0, late + 3600 * i, "GB") for i in range(6)]
    return events


def catalog(extra_specs=()):
    """The checkerboard (a00-a11, b00-b11), a new A title added a minute before the query time
    and nobody has seen, and an A title to be released in 2100."""
    specs = checkerboard_specs(12)
    specs += [title_spec("new-a", "A", 3, title="New A", added_s=QUERY_S - 60),
              title_spec("future-a", "A", 4, title="Future A", year=FUTURE_YEAR, added_s=QUERY_S - 3600)]
    return build_items(specs + list(extra_specs))


def is_a(title_id: str) -> bool:
    return title_id.startswith("a") or title_id in A_LIKE


def ids(recommendations) -> list[str]:
    return [r.title_id for r in recommendations]


@pytest.fixture(scope="module")
def items():
    return catalog()


@pytest.fixture(scope="module")
def events(items):
    return world_events(items)


@pytest.fixture(scope="module")
def model(items, events):
    return Recommender(RecommenderSettings(exploration=0.0)).fit(items, events)


U00_LIKED = [f"a{n:02d}" for n in range(7)]     # a00-a06 (a05 among them)
U00_DISLIKED = ["a08", "b00"]
U24_LIKED = [f"b{n:02d}" for n in range(7)]


# -- similar ------------------------------------------------------------------------------------
@pytest.mark.parametrize("title_id, same, shared", [("a03", is_a, "shares: Dark, Thriller"),
                                                    ("b03", lambda t: not is_a(t), "shares: Upbeat, Comedy")])
def test_similar_gives_the_same_group_first_with_shared_tags(model, items, title_id, same, shared):
    group_size = sum(same(t) for t in items.ids) - 1
    found = model.similar(title_id, k=group_size)
    assert len(found) == group_size
    assert all(same(r.title_id) for r in found), ids(found)
    assert all(shared in r.reasons for r in found), [r.reasons for r in found]
    # The next ones are of the other group, and share no tags with it.
    rest = model.similar(title_id, k=group_size + 3)[group_size:]
    assert not any(same(r.title_id) for r in rest)
    assert not any(reason.startswith("shares:") for r in rest for reason in r.reasons)


def test_shared_tags_name_each_label_once():
    """A genre and a sub-genre with one label ("Horror") are one shared tag in a reason; the
    next distinct label takes the freed place."""
    from tagger.recommend.rank import shared_tags

    labels = ["Horror", "Horror", "Dark", "Slow"]
    a, b = np.array([0.9, 0.8, 0.7, 0.6]), np.array([0.9, 0.9, 0.5, 0.4])
    assert shared_tags(a, b, labels) == ["Horror", "Dark", "Slow"]
    assert shared_tags(a, b, labels, top=1) == ["Horror"]
    assert shared_tags(a, np.zeros(4), labels) == []


@pytest.mark.parametrize("diversity", [0.0, 0.2, 0.8])
def test_similar_never_returns_the_title_itself(items, events, diversity):
    model = Recommender(RecommenderSettings(diversity=diversity)).fit(items, events)
    for title_id in ("a03", "new-a"):
        found = ids(model.similar(title_id, k=len(items)))
        assert title_id not in found
        assert sorted(found) == sorted(set(items.ids) - {title_id})


# -- a known user -------------------------------------------------------------------------------
def test_recommend_user_leaves_out_what_the_user_liked_or_disliked(model, items):
    found = ids(model.recommend_user("u00", k=len(items), now_s=QUERY_S))
    assert sorted(found) == sorted(set(items.ids) - set(U00_LIKED) - set(U00_DISLIKED) - {"future-a"})


def test_recommend_user_gives_the_liked_title_it_follows_from(model, items):
    liked_titles = {items.titles[items.index[t]]: t for t in U00_LIKED}
    top = model.recommend_user("u00", k=5, now_s=QUERY_S)
    assert all(is_a(r.title_id) for r in top), ids(top)
    for r in top:
        because = [reason for reason in r.reasons if reason.startswith("because you liked ")]
        assert len(because) == 1, r.reasons
        assert because[0].removeprefix("because you liked ") in liked_titles
        assert "shares: Dark, Thriller" in r.reasons


def test_a_new_title_nobody_has_seen_reaches_matching_viewers(model):
    """new-a entered the catalog a minute ago. u00 (A) has four A titles left unseen: new-a
    joins them at the head; u24 (B) has five B titles left: new-a comes after all of them."""
    top = model.recommend_user("u00", k=5, now_s=QUERY_S)
    assert sorted(ids(top)) == sorted(["a07", "a09", "a10", "a11", "new-a"])
    assert "new in the catalog" in next(r for r in top if r.title_id == "new-a").reasons
    b_side = ids(model.recommend_user("u24", k=10, now_s=QUERY_S))
    assert sorted(b_side[:5]) == ["b07", "b08", "b09", "b10", "b11"]
    assert model.item_viewers[model.items.index["new-a"]] == 0


def test_a_new_title_is_placed_by_what_it_is_not_only_by_being_new(items, events):
    model = Recommender(RecommenderSettings(exploration=0.0, freshness_weight=0.0)).fit(items, events)
    top = model.recommend_user("u00", k=5, now_s=QUERY_S)
    assert "new-a" in ids(top)
    assert all("new in the catalog" not in r.reasons for r in top)
    assert "new-a" not in ids(model.recommend_user("u24", k=5, now_s=QUERY_S))


def test_recommend_users_is_recommend_user_for_each(model):
    batch = model.recommend_users(["u00", "u24"], k=4, now_s=QUERY_S)
    assert list(batch) == ["u00", "u24"]
    for user, found in batch.items():
        assert ids(found) == ids(model.recommend_user(user, k=4, now_s=QUERY_S))


# -- a new user ---------------------------------------------------------------------------------
def test_new_user_with_nothing_gets_the_most_liked_title_first(model):
    found = model.recommend_new_user(k=5, now_s=QUERY_S)
    assert found[0].title_id == "a05"
    assert "popular now" in found[0].reasons


def test_chosen_tags_move_matching_titles_up(model, items):
    plain = ids(model.recommend_new_user(k=len(items), now_s=QUERY_S))
    for tag, matches in (("comedy", lambda t: not is_a(t)), ("Dark", is_a)):
        picked = model.recommend_new_user(tags=[tag], k=len(items), now_s=QUERY_S)
        chosen = ids(picked)
        assert np.mean([chosen.index(t) for t in chosen if matches(t)]) < \
            np.mean([plain.index(t) for t in plain if matches(t)])
        assert sum(matches(t) for t in chosen[:8]) > sum(matches(t) for t in plain[:8])
        assert matches(chosen[0])
        for r in picked:
            assert any(reason.startswith("matches your picks") for reason in r.reasons) == matches(r.title_id)


def test_new_user_likes_leave_out_the_liked_and_bring_their_group(model):
    found = ids(model.recommend_new_user(likes=["b04", "b09"], k=6, now_s=QUERY_S))
    assert "b04" not in found and "b09" not in found
    assert all(not is_a(t) for t in found[:5]), found


@pytest.mark.parametrize("call, kind, name", [
    (lambda m: m.similar("no-such-title"), "title", "no-such-title"),
    (lambda m: m.recommend_new_user(likes=["a01", "no-such-title"]), "title", "no-such-title"),
    (lambda m: m.recommend_new_user(tags=["dark", "no-such-tag"]), "tag", "no-such-tag"),
    (lambda m: m.recommend_user("no-such-user"), "user", "no-such-user"),
])
def test_unknown_names_raise_unknown_id_error_naming_them(model, call, kind, name):
    """Their own type, not KeyError: the CLI shows these as one line and a KeyError bug in full."""
    with pytest.raises(UnknownIdError) as caught:
        call(model)
    assert not isinstance(caught.value, KeyError)
    assert (caught.value.kind, caught.value.unknown_id) == (kind, name)
    assert str(caught.value).startswith(f"unknown {kind} {name!r}: ")


# -- region, diversity, exploration -------------------------------------------------------------
def test_region_moves_what_is_popular_there_up(model):
    """b03 is finished by six viewers in GB; globally a05 (liked by every A viewer) leads."""
    everywhere = model.recommend_new_user(k=5, now_s=QUERY_S)
    in_gb = model.recommend_new_user(k=5, now_s=QUERY_S, region="GB")
    assert everywhere[0].title_id == "a05"
    assert in_gb[0].title_id == "b03"
    assert "popular in GB" in in_gb[0].reasons
    assert model.recommend_new_user(k=1, now_s=QUERY_S, region="FR")[0].title_id == "a05"


@pytest.fixture(scope="module")
def duplicates():
    """The catalog plus three near-duplicates of a00 that nobody has seen (a00-2 .. a00-4)."""
    extra = [title_spec(f"a00-{i}", "A", 0, title=f"A Title 0 Part {i}", near="a00") for i in range(2, 5)]
    items = catalog(extra)
    return items, world_events(items)


@pytest.mark.parametrize("query", ["similar", "new_user"])
def test_diversity_lets_fewer_near_duplicates_into_the_head(duplicates, query):
    items, events = duplicates
    near = {"a00", "a00-3", "a00-4"}       # a00-2's near-duplicates
    counts = {}
    for diversity in (0.0, 0.5):
        model = Recommender(RecommenderSettings(diversity=diversity, exploration=0.0)).fit(items, events)
        found = model.similar("a00-2", k=3) if query == "similar" else \
            model.recommend_new_user(likes=["a00-2"], k=8, now_s=QUERY_S)
        assert len(found) == (3 if query == "similar" else 8)
        counts[diversity] = len(near & set(ids(found)))
    # similar: a00-2's duplicates are its nearest titles. A new viewer's taste model ranks the
    # group, not the copy (no release year in content since the era block went), so they all
    # come in the first eight, after a05 (the hit) and other A titles.
    assert counts[0.0] == 3
    assert counts[0.5] < counts[0.0]


def exploring(recommendations) -> list[str]:
    return [reason.removeprefix("exploring: ") for r in recommendations for reason in r.reasons
            if reason.startswith("exploring: ")]


def test_exploration_gives_its_share_of_slots_to_tag_arms(items, events):
    explored = Recommender(RecommenderSettings(exploration=0.3)).fit(items, events)
    plain = Recommender(RecommenderSettings(exploration=0.0)).fit(items, events)
    for query in (lambda m: m.recommend_user("u00", k=10, now_s=QUERY_S),
                  lambda m: m.recommend_new_user(likes=["b01"], k=10, now_s=QUERY_S)):
        found = query(explored)
        arms = exploring(found)
        assert len(arms) == 3
        assert set(arms) <= set(items.tag_labels)
        assert all(r.reasons[0].startswith("exploring: ") for r in found[5:] if r.reasons[0] in
                   [f"exploring: {a}" for a in arms])
        assert exploring(query(plain)) == []
        assert ids(query(explored)) == ids(found)        # same viewer, same day: same draws
    # The explored titles are ones the plain ranking leaves out of its head.
    head = set(ids(plain.recommend_user("u00", k=10, now_s=QUERY_S)))
    found = explored.recommend_user("u00", k=10, now_s=QUERY_S)
    assert all(r.title_id not in head for r in found if r.reasons[0].startswith("exploring: "))


@pytest.mark.parametrize("share, slots", [(0.8, 5), (1.0, 6)])
def test_an_exploration_share_past_half_takes_that_many_distinct_slots(items, events, share, slots):
    """k = 6 leaves u00 more unseen titles outside the head than there are slots."""
    model = Recommender(RecommenderSettings(exploration=share)).fit(items, events)
    found = model.recommend_user("u00", k=6, now_s=QUERY_S)
    assert len(found) == 6 and len(set(ids(found))) == 6
    assert len(exploring(found)) == slots


CHILD = """
import json, sys
sys.path.insert(0, {tests!r})
from test_recommend_model import QUERY_S, catalog, world_events
from tagger.recommend import Recommender, RecommenderSettings
items = catalog()
model = Recommender(RecommenderSettings(exploration=0.5)).fit(items, world_events(items))
print(json.dumps([[r.title_id, r.reasons[0]] for r in model.recommend_new_user(likes=["a01"], k=10, now_s=QUERY_S)]))
"""


def test_exploration_draws_do_not_change_between_processes(items, events):
    """The draws are seeded by viewer and day; Python's str hash differs per process."""
    model = Recommender(RecommenderSettings(exploration=0.5)).fit(items, events)
    found = model.recommend_new_user(likes=["a01"], k=10, now_s=QUERY_S)
    here = [[r.title_id, r.reasons[0]] for r in found]
    assert len(exploring(found)) == 5
    hash_seed = "11" if os.environ.get("PYTHONHASHSEED") != "11" else "12"
    tests = str(Path(__file__).parent)
    child = subprocess.run([sys.executable, "-c", CHILD.format(tests=tests)], capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": hash_seed}, cwd=Path(__file__).parents[1],
                           timeout=120)
    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout.strip().splitlines()[-1]) == here


# -- blend --------------------------------------------------------------------------------------
def test_weight_moves_to_collaborative_as_history_grows():
    sizes = [0, 1, 2, 5, 20, 100]
    weights = [RecommenderSettings().part_weights(n) for n in sizes]
    assert all(list(w) == list(PARTS) for w in weights)
    assert weights[0]["collab"] == 0 and weights[0]["content"] == 0 and weights[0]["popularity"] > 0
    for before, after in zip(weights, weights[1:]):
        assert after["collab"] > before["collab"]
        assert after["popularity"] < before["popularity"]
        assert after["collab"] / after["content"] > (before["collab"] / before["content"] if before["content"] else 0)
        assert after["freshness"] == before["freshness"]
    assert weights[-1]["collab"] > weights[-1]["popularity"]
    assert weights[1]["popularity"] > weights[1]["collab"]


def test_blend_weights_each_part_as_part_weights_says():
    """One candidate per part, set to 1 where every other part is 0: the blend reads the weights."""
    settings = RecommenderSettings(content_weight=0.7, collab_weight=1.3, popularity_weight=2.0, freshness_weight=0.4)
    model = Recommender(settings)
    sizes = np.array([0.0, 1.0, 3.0, 50.0])
    eye = np.eye(len(PARTS) + 1)[:, :len(PARTS)].T                 # parts x candidates, last candidate all zero
    parts = {name: np.tile(eye[i], (len(sizes), 1)) for i, name in enumerate(PARTS)}
    parts["history_size"] = sizes
    parts["released"] = np.ones((len(sizes), len(PARTS) + 1), bool)
    parts["released"][:, 0] = [True, False, True, True]
    total = model.blend(parts)
    for row, n in enumerate(sizes):
        expected = [settings.part_weights(n)[name] for name in PARTS] + [0.0]
        if row == 1:
            expected[0] = -np.inf
        np.testing.assert_allclose(total[row], expected)


# -- time -----------------------------------------------------------------------------------------
def test_a_title_released_after_the_query_time_is_never_recommended(model, items):
    everything = len(items)
    for now_s in (QUERY_S, None):              # None: the query happens now
        assert "future-a" not in ids(model.recommend_user("u00", k=everything, now_s=now_s))
        assert "future-a" not in ids(model.recommend_new_user(k=everything, now_s=now_s))
        assert "future-a" not in ids(model.recommend_new_user(tags=["dark"], likes=["a07"], k=everything,
                                                              now_s=now_s))
    assert "future-a" in ids(model.recommend_user("u00", k=everything, now_s=AFTER_RELEASE_S))


def test_fit_ignores_events_after_its_time(items, events):
    midway = START_S + 10 * 86400.0
    late = [Event("late-viewer", "b05", "completion", 1.0, midway + 86400.0)]
    model = Recommender().fit(items, events + late, now_s=midway)
    with pytest.raises(UnknownIdError, match="late-viewer"):
        model.recommend_user("late-viewer")
    known = {e.user for e in events if e.time_s <= midway}
    assert set(model.user_ids) == known
