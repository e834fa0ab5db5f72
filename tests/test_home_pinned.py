"""What a home page contains, pinned on a small generated world (the benchmark's, at 400 titles):
the batch path is vectorised across viewers, and must give the pages the plain per-viewer
path gave. tests/data/home_pages_pinned.json was written by that per-viewer path (commit
09abc76); rewrite it only for a change meant to alter pages:
    python tests/test_home_pinned.py --write
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PINNED = Path(__file__).with_name("data") / "home_pages_pinned.json"
USERS = ["u0", "u1", "u7", "u23", "u41"]


def _benchmark():
    spec = importlib.util.spec_from_file_location("home_benchmark", ROOT / "benchmarks" / "home.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def world():
    from tagger.home.page import HomeBuilder
    from tagger.recommend import Recommender

    bench = _benchmark()
    items, artwork, events = bench.make_world(400, 60, seed=3)
    now_s = bench.START_S + 60 * 60 + 3600
    model = Recommender().fit(items, events, now_s=now_s)
    return HomeBuilder(model, artwork=artwork, events=events), now_s


def _pages(home, now_s) -> dict:
    out = {user: page.to_dict() for user, page in home.pages(USERS, now_s=now_s, rows=6, per_row=8).items()}
    out["new"] = home.page("new", region="GB", now_s=now_s, tags=["thriller", "dark"], per_row=5).to_dict()
    out["moody"] = home.page("u3", now_s=now_s, mood=["upbeat"], per_row=5).to_dict()
    return out


def _same(got, want, where="page"):
    """Equal, but for scores within 1e-3 (rounded floats may land either side of a 4th decimal)."""
    if isinstance(want, dict):
        assert set(got) == set(want), where
        for key in want:
            if key == "score":
                assert got[key] == pytest.approx(want[key], abs=1e-3), where
            else:
                _same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            _same(g, w, f"{where}[{i}]")
    else:
        assert got == want, where


def test_pages_are_what_the_per_viewer_path_made(world):
    home, now_s = world
    _same(_pages(home, now_s), json.loads(PINNED.read_text()))


def test_one_viewer_alone_gets_the_page_the_batch_gives_them(world):
    home, now_s = world
    batch = home.pages(["u5", "u6", "u9"], now_s=now_s, per_row=6)
    for user, page in batch.items():
        assert home.page(user, now_s=now_s, per_row=6).to_dict() == page.to_dict()


if __name__ == "__main__" and "--write" in sys.argv:
    from tagger.home.page import HomeBuilder
    from tagger.recommend import Recommender

    bench = _benchmark()
    items, artwork, events = bench.make_world(400, 60, seed=3)
    now_s = bench.START_S + 60 * 60 + 3600
    home = HomeBuilder(Recommender().fit(items, events, now_s=now_s), artwork=artwork, events=events)
    PINNED.write_text(json.dumps(_pages(home, now_s), indent=1) + "\n")
