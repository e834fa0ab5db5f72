"""`tagger recommend fit|similar|user|new-user` on a real catalog file and an events file."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tagger.catalog.db import Catalog
from tagger.cli import cli
from test_review import make_result, write

DARK = (("thriller", "genre", "Thriller", 0.9), ("tense", "mood", "Tense", 0.7))
BRIGHT = (("comedy", "genre", "Comedy", 0.9), ("feel-good", "mood", "Feel-good", 0.7))


@pytest.fixture
def files(tmp_path):
    """A catalog of four dark and four bright titles; viewers who like one kind each."""
    db = tmp_path / "c.db"
    with Catalog(db) as catalog:
        write(catalog, *[make_result(f"dark-{i}", tags=DARK, metadata={"genres": ["Thriller"], "year": 2001 + i})
                         for i in range(4)],
              *[make_result(f"bright-{i}", tags=BRIGHT, metadata={"genres": ["Comedy"], "year": 2011 + i})
                for i in range(4)])
    rows = ["user,title,kind,value,timestamp"]
    for u in range(12):
        kind = "dark" if u % 2 == 0 else "bright"
        rows += [f"v{u},{kind}-{(u + j) % 4},completion,1.0,{1_600_000_000 + 3600 * (4 * u + j)}" for j in range(2)]
    events = tmp_path / "events.csv"
    events.write_text("\n".join(rows) + "\n")
    return db, events


def run(*args):
    return CliRunner().invoke(cli, ["recommend", *map(str, args)])


def ids(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [r["id"] for r in json.loads(result.output)["recommendations"]]


def test_a_saved_model_answers_as_fitting_on_the_catalog(files, tmp_path):
    db, events = files
    fitted = run("fit", "--catalog", db, "--interactions", events, "--out", tmp_path / "model")
    assert fitted.exit_code == 0, fitted.output
    assert "fitted on 8 titles and 12 viewers" in fitted.output
    for query in (["user", "v0"], ["similar", "dark-1"], ["new-user", "--likes", "bright-0", "--tags", "feel-good"]):
        from_model = ids(run(*query, "--model", tmp_path / "model", "-k", 4, "--json"))
        from_catalog = ids(run(*query, "--catalog", db, "--interactions", events, "-k", 4, "--json"))
        assert from_model == from_catalog, query
    row = ids(run("user", "v0", "--model", tmp_path / "model", "-k", 2, "--json"))
    assert all(t.startswith("dark") for t in row)          # v0 liked dark titles


def test_usage_and_input_errors_say_what_to_give(files, tmp_path):
    db, events = files
    both = run("user", "v0", "--model", tmp_path, "--interactions", events)
    assert both.exit_code == 2 and "leave out --interactions" in both.output
    neither = run("user", "v0", "--catalog", db)
    assert neither.exit_code == 2 and "--interactions" in neither.output and "--model" in neither.output
    missing = run("similar", "dark-0", "--model", tmp_path / "no-model")
    assert missing.exit_code == 1 and "no-model" in missing.output and "not a saved recommender" in missing.output
    bad = tmp_path / "bad.csv"
    bad.write_text("user,title,kind,value,timestamp\nv0,dark-0,stare,1,1600000000\n")
    wrong = run("user", "v0", "--catalog", db, "--interactions", bad)
    assert wrong.exit_code == 1 and "bad.csv:2" in wrong.output and "kind" in wrong.output
    unknown = run("user", "nobody", "--catalog", db, "--interactions", events)
    assert unknown.exit_code == 1 and "unknown user 'nobody'" in unknown.output
    title = run("similar", "no-such-title", "--catalog", db)
    assert title.exit_code == 1 and "unknown title 'no-such-title'" in title.output and "tagger list" in title.output
    tag = run("new-user", "--tags", "no-such-tag", "--catalog", db)
    assert tag.exit_code == 1 and "unknown tag 'no-such-tag'" in tag.output


def test_a_key_error_from_a_bug_is_not_taken_for_bad_input():
    """Only an unknown id becomes a one-line message; any other KeyError keeps its traceback."""
    from tagger.recommend_cli import _run

    with pytest.raises(KeyError, match="a bug"):
        _run(lambda: {}["a bug"])
