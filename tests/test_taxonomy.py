"""The taxonomy loader/validator, the default taxonomy and rule scoring."""
from __future__ import annotations

import hashlib
import math
import os
import tomllib
from pathlib import Path

import pytest

from tagger.errors import InputError
from tagger.features import CATEGORICAL, FEATURES, LIST_FEATURES
from tagger.tagging.taxonomy import (TAXONOMY_DIR, Rule, Tag, available_taxonomies,
                                     load_taxonomy, resolve_taxonomy_path, validate_taxonomy)

DEFAULT_PATH = TAXONOMY_DIR / "default.toml"

SPEC_FACETS = {"genre", "subgenre", "mood", "themes", "pacing", "visual_style", "color_palette",
               "cinematography", "music", "dialogue", "setting", "audience"}


# --- the default taxonomy --------------------------------------------------------------------

def test_default_taxonomy_is_valid_and_large_enough():
    assert validate_taxonomy("default") == []
    tax = load_taxonomy("default")
    assert tax.id == "default"
    assert len(tax.tags) >= 150
    assert len(tax.facets) >= 10
    assert SPEC_FACETS <= {f.id for f in tax.facets}
    assert tax.path == str(DEFAULT_PATH.resolve())
    assert tax.digest == hashlib.sha256(DEFAULT_PATH.read_bytes()).hexdigest()


def test_default_taxonomy_rules_use_known_features_only():
    tax = load_taxonomy("default")
    rules = [(t.id, r) for t in tax.tags for r in t.rules]
    assert rules, "the default taxonomy should use measured features somewhere"
    for tag_id, rule in rules:
        assert rule.feature in FEATURES, (tag_id, rule.feature)
        assert rule.feature not in LIST_FEATURES, (tag_id, rule.feature)
        if rule.equals is not None:
            assert rule.equals in CATEGORICAL[rule.feature], (tag_id, rule)


def test_default_taxonomy_tags_are_complete_and_consistent():
    tax = load_taxonomy("default")
    facet_ids = {f.id for f in tax.facets}
    ids = [t.id for t in tax.tags]
    assert len(ids) == len(set(ids))
    roles = set(tax.grammar.roles)
    for t in tax.tags:
        assert t.facet in facet_ids
        assert t.description.strip() and t.label.strip()
        assert t.prompts or t.clip_prompts or t.rules, t.id
        assert len(t.prompts) <= 3, t.id
        assert t.parent is None or t.parent in ids
        assert set(t.microgenre) <= roles, t.id
    # every facet is populated, and micro-genre names can be built
    for f in tax.facets:
        assert tax.facet_tags(f.id), f.id
    assert any("noun" in t.microgenre for t in tax.tags)


def test_default_taxonomy_has_the_required_genres():
    tax = load_taxonomy("default")
    genres = {t.id for t in tax.facet_tags("genre")}
    required = {"thriller", "horror", "comedy", "drama", "romance", "action", "adventure",
                "science-fiction", "fantasy", "crime", "mystery", "documentary", "animation",
                "family", "musical", "war", "western"}
    assert required <= genres
    assert tax.tag("nature-documentary").facet == "subgenre"


def test_tag_lookup_and_close_matches():
    tax = load_taxonomy("default")
    assert tax.tag("thriller").label == "Thriller"
    with pytest.raises(KeyError) as exc:
        tax.tag("thriler")
    assert "thriller" in str(exc.value)
    assert all(t.facet == "mood" for t in tax.facet_tags("mood"))
    with pytest.raises(KeyError, match="did you mean 'mood'"):
        tax.facet_tags("moods")
    with pytest.raises(KeyError, match="did you mean 'mood'"):
        tax.facet("moods")


def test_default_rule_tags_score_measured_features():
    tax = load_taxonomy("default")
    minor = tax.tag("minor-key")
    assert minor.rule_confidence({"audio.mode": "minor", "audio.mode_confidence": 0.6}) > 0.95
    assert minor.rule_confidence({"audio.mode": "major", "audio.mode_confidence": 0.6}) == 0.0
    assert minor.rule_confidence({"audio.mode": "minor"}) is None
    dark = tax.tag("low-key")
    assert dark.rule_confidence({"visual.brightness": 0.1}) > 0.95
    assert dark.rule_confidence({"visual.brightness": 0.7}) < 0.01


def test_available_and_resolve():
    assert "default" in available_taxonomies()
    assert resolve_taxonomy_path("default") == DEFAULT_PATH.resolve()
    assert resolve_taxonomy_path(str(DEFAULT_PATH)) == DEFAULT_PATH.resolve()
    with pytest.raises(InputError) as exc:
        resolve_taxonomy_path("defualt")
    assert "default" in str(exc.value)
    with pytest.raises(InputError) as exc:
        resolve_taxonomy_path("/nonexistent/tax.toml")
    assert "/nonexistent/tax.toml" in str(exc.value)


# --- broken files ----------------------------------------------------------------------------

VALID = '''\
[taxonomy]
id = "mini"
version = "1"

[[facets]]
id = "genre"
label = "Genre"
description = "Genres."

[[facets]]
id = "music"
label = "Music"
description = "Music."

[[tags]]
id = "alpha"
facet = "genre"
label = "Alpha"
description = "The first tag."
prompts = ["a story about alpha"]
microgenre = { noun = "Alphas" }

[[tags]]
id = "beta"
facet = "music"
label = "Beta"
description = "The second tag."
rules = [{ feature = "audio.tempo_bpm", above = 120.0, width = 8.0 }]
'''


def _write(tmp_path: Path, text: str, name: str = "tax.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_file_is_valid(tmp_path):
    path = _write(tmp_path, VALID)
    assert validate_taxonomy(path) == []
    tax = load_taxonomy(str(path))
    assert [t.id for t in tax.tags] == ["alpha", "beta"]
    assert tax.tag("beta").rules == (Rule("audio.tempo_bpm", above=120.0, width=8.0),)
    assert tax.tag("alpha").microgenre == {"noun": "Alphas"}


BROKEN = {
    # name: (old, new, tag id, field)
    "typo-key": ('prompts = ["a story about alpha"]', 'promts = ["a story about alpha"]',
                 "alpha", "promts"),
    "missing-field": ('label = "Alpha"\n', "", "alpha", "label"),
    "wrong-type": ('prompts = ["a story about alpha"]', 'prompts = "a story about alpha"',
                   "alpha", "prompts"),
    "duplicate-id": ('id = "beta"', 'id = "alpha"', "alpha", "id"),
    "unknown-facet": ('facet = "music"', 'facet = "musik"', "beta", "facet"),
    "unknown-parent": ('label = "Beta"', 'label = "Beta"\nparent = "gamma"', "beta", "parent"),
    "parent-cycle": ('label = "Alpha"', 'label = "Alpha"\nparent = "beta"', "alpha", "parent"),
    "unknown-feature": ('"audio.tempo_bpm"', '"audio.tempo"', "beta", "rules[0].feature"),
    "rule-without-bound": ("above = 120.0, width = 8.0", "width = 8.0", "beta", "rules[0]"),
    "zero-width": ("width = 8.0", "width = 0.0", "beta", "rules[0].width"),
    "bad-equals": ('{ feature = "audio.tempo_bpm", above = 120.0, width = 8.0 }',
                   '{ feature = "audio.mode", equals = "minr" }', "beta", "rules[0].equals"),
    "unknown-role": ('{ noun = "Alphas" }', '{ nuon = "Alphas" }', "alpha", "microgenre.nuon"),
    "no-prompts-or-rules": ('prompts = ["a story about alpha"]\n', "", "alpha", "prompts"),
}


@pytest.mark.parametrize("variant", sorted(BROKEN))
def test_broken_file_reports_file_tag_and_field(tmp_path, variant):
    old, new, tag_id, field = BROKEN[variant]
    assert old in VALID
    text = VALID.replace(old, new, 1)
    if variant == "parent-cycle":
        text = text.replace('label = "Beta"', 'label = "Beta"\nparent = "alpha"', 1)
    path = _write(tmp_path, text)

    errors = validate_taxonomy(path)
    matching = [e for e in errors if e.item == tag_id and e.field == field]
    assert matching, [str(e) for e in errors]
    message = str(matching[0])
    assert str(path) in message and tag_id in message and field in message
    assert matching[0].line is not None
    with pytest.raises(InputError):
        load_taxonomy(str(path))


def test_typo_error_points_at_its_line_and_suggests_the_key(tmp_path):
    text = VALID.replace("prompts =", "promts =", 1)
    path = _write(tmp_path, text)
    (error,) = validate_taxonomy(path)
    expected_line = text.splitlines().index('promts = ["a story about alpha"]') + 1
    assert error.line == expected_line
    assert f"{path}:{expected_line}: alpha: promts:" in str(error)
    assert "prompts" in error.reason


def test_syntax_error_reports_the_line(tmp_path):
    lines = VALID.splitlines()
    lines[4] = "id = genre"  # bare word: invalid TOML on line 5
    path = _write(tmp_path, "\n".join(lines) + "\n")
    (error,) = validate_taxonomy(path)
    assert error.line == 5
    assert str(error).startswith(f"{path}:5: ")


def test_all_problems_are_reported(tmp_path):
    text = (VALID.replace('facet = "music"', 'facet = "musik"')
            .replace("prompts =", "promts =")
            .replace("width = 8.0", "width = -1.0"))
    errors = validate_taxonomy(_write(tmp_path, text))
    assert {(e.item, e.field) for e in errors} >= {
        ("beta", "facet"), ("alpha", "promts"), ("beta", "rules[0].width")}


def test_keys_in_nested_tables_are_found_on_their_own_lines(tmp_path):
    text = VALID.replace('rules = [{ feature = "audio.tempo_bpm", above = 120.0, width = 8.0 }]',
                         '[[tags.rules]]\nfeature = "audio.tempo_bpm"\nabove = "fast"\nwidht = 8.0')
    lines = text.splitlines()
    errors = validate_taxonomy(_write(tmp_path, text))
    assert {(e.item, e.field, e.line) for e in errors} == {
        ("beta", "rules[0].above", lines.index('above = "fast"') + 1),
        ("beta", "rules[0].widht", lines.index("widht = 8.0") + 1)}
    assert "'width'" in next(e for e in errors if e.field == "rules[0].widht").reason


def test_every_grammar_problem_is_reported(tmp_path):
    grammar = ('[microgenre]\nmax_adjectives = -1\nadjective_order = ["genre", "musc"]\n'
               '[microgenre.connectors]\nnoun = "of"\nset_in = " "\n"Bad Role" = "with"\n\n')
    text = VALID.replace("[[tags]]", grammar + "[[tags]]", 1)
    lines = text.splitlines()
    errors = validate_taxonomy(_write(tmp_path, text))
    found = {e.field: e for e in errors}
    assert all(e.item == "microgenre" for e in errors)
    assert set(found) == {"max_adjectives", "adjective_order[1]", "connectors.noun",
                          "connectors.set_in", "connectors.Bad Role"}
    assert found["connectors.set_in"].line == lines.index('set_in = " "') + 1
    assert "did you mean 'music'?" in found["adjective_order[1]"].reason
    assert [e.line for e in errors] == sorted(e.line for e in errors)   # as the file reads


def test_a_valid_grammar_and_its_roles_are_used(tmp_path):
    grammar = ('[microgenre]\nmax_adjectives = 1\nadjective_order = ["music"]\n'
               '[microgenre.connectors]\nwith = " with "\n\n')
    text = (VALID.replace("[[tags]]", grammar + "[[tags]]", 1)
            .replace('{ noun = "Alphas" }', '{ noun = "Alphas", with = "Alpha   Beats" }'))
    tax = load_taxonomy(str(_write(tmp_path, text)))
    assert tax.grammar.connectors == (("with", "with"),)
    assert (tax.grammar.max_adjectives, tax.grammar.max_phrases) == (1, 2)
    assert tax.grammar.adjective_order == ("music",)
    assert tax.tag("alpha").microgenre == {"noun": "Alphas", "with": "Alpha Beats"}
    errors = validate_taxonomy(_write(tmp_path, text.replace("with = \"Alpha", "about = \"Alpha")))
    assert [(e.item, e.field) for e in errors] == [("alpha", "microgenre.about")]


def test_numeric_rule_on_categorical_feature_is_rejected(tmp_path):
    text = VALID.replace('"audio.tempo_bpm"', '"audio.mode"')
    errors = validate_taxonomy(_write(tmp_path, text))
    assert any(e.item == "beta" and e.field.startswith("rules[0]") for e in errors)


def test_missing_taxonomy_header_is_reported(tmp_path):
    text = VALID.replace('[taxonomy]\nid = "mini"\nversion = "1"\n', "")
    errors = validate_taxonomy(_write(tmp_path, text))
    assert any(e.item == "taxonomy" for e in errors)


def test_load_caches_by_path_and_mtime(tmp_path):
    path = _write(tmp_path, VALID)
    first = load_taxonomy(str(path))
    assert load_taxonomy(str(path)) is first
    path.write_text(VALID.replace('label = "Alpha"', 'label = "Alpha two"'), encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    second = load_taxonomy(str(path))
    assert second is not first
    assert second.tag("alpha").label == "Alpha two"
    assert second.digest != first.digest


def test_default_file_is_plain_toml():
    # guards against the loader accepting something tomllib would not
    data = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    assert len(data["tags"]) == len(load_taxonomy("default").tags)


# --- rule scoring ----------------------------------------------------------------------------

def test_rule_above_is_half_at_threshold_and_rises():
    rule = Rule("visual.brightness", above=0.6, width=0.05)
    assert rule.confidence({"visual.brightness": 0.6}) == pytest.approx(0.5)
    two_widths = rule.confidence({"visual.brightness": 0.7})
    assert two_widths == pytest.approx(1 / (1 + math.exp(-2)))  # 0.881
    assert rule.confidence({"visual.brightness": 0.75}) > 0.95
    assert rule.confidence({"visual.brightness": 0.4}) < 0.02


def test_rule_below_mirrors_above():
    rule = Rule("visual.brightness", below=0.3, width=0.05)
    assert rule.confidence({"visual.brightness": 0.3}) == pytest.approx(0.5)
    assert rule.confidence({"visual.brightness": 0.1}) > 0.98
    assert rule.confidence({"visual.brightness": 0.5}) < 0.02


def test_rule_band():
    rule = Rule("visual.cuts_per_minute", above=8.0, below=20.0, width=2.0)
    assert rule.confidence({"visual.cuts_per_minute": 14.0}) > 0.9
    assert rule.confidence({"visual.cuts_per_minute": 8.0}) == pytest.approx(0.5, abs=0.01)
    assert rule.confidence({"visual.cuts_per_minute": 20.0}) == pytest.approx(0.5, abs=0.01)
    assert rule.confidence({"visual.cuts_per_minute": 2.0}) < 0.05
    assert rule.confidence({"visual.cuts_per_minute": 30.0}) < 0.01


def test_rule_equals_and_missing():
    rule = Rule("audio.mode", equals="minor")
    assert rule.confidence({"audio.mode": "minor"}) == 1.0
    assert rule.confidence({"audio.mode": "major"}) == 0.0
    assert rule.confidence({}) is None
    assert Rule("audio.tempo_bpm", above=120).confidence({"visual.brightness": 0.5}) is None
    assert Rule("audio.tempo_bpm", above=120).confidence({"audio.tempo_bpm": float("nan")}) is None


def test_rule_rejects_impossible_definitions():
    with pytest.raises(ValueError):
        Rule("visual.brightness")
    with pytest.raises(ValueError):
        Rule("visual.brightness", above=0.5, width=0.0)
    with pytest.raises(ValueError):
        Rule("audio.mode", above=0.5, equals="minor")


def test_tag_rule_confidence_is_min_and_needs_every_feature():
    tag = Tag(id="t", facet="f", label="T", description="d",
              rules=(Rule("visual.brightness", above=0.5, width=0.1),
                     Rule("visual.saturation", below=0.2, width=0.05)))
    features = {"visual.brightness": 0.9, "visual.saturation": 0.2}
    assert tag.rule_confidence(features) == pytest.approx(0.5)  # saturation sits at its threshold
    assert tag.rule_confidence({"visual.brightness": 0.9}) is None
    assert Tag(id="u", facet="f", label="U", description="d",
               prompts=("x",)).rule_confidence(features) is None
    assert len({tag, tag}) == 1  # hashable despite the microgenre dict
