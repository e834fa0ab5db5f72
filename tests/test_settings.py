"""The one checker of TOML data files: dataclasses filled from tables, every problem named."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field

import pytest

from tagger.errors import InputError
from tagger.settings import (Report, check_table, constraint, did_you_mean, field_name, from_table,
                             key_lines)


@dataclass(frozen=True)
class Step:
    name: str = field(metadata=constraint(pattern=r"[a-z]+", says="must be lowercase letters"))
    low: float = 0.0
    high: float = 1.0

    def __post_init__(self):
        if self.low >= self.high:
            raise ValueError("low must be below high")


@dataclass(frozen=True)
class Recipe:
    title: str
    servings: int = field(default=2, metadata=constraint(minimum=1))
    steps: tuple[Step, ...] = ()
    notes: dict[str, str] = field(default_factory=dict)
    parent: str | None = None

    def validate(self):
        if self.parent == self.title:
            return "parent", "a recipe cannot be its own parent"
        return None


TEXT = '''\
[recipe]
title = "Bread"
servings = 0
sevings = 2
notes = { oven = "" }

[[recipe.steps]]
name = "Knead"
low = "warm"

[[recipe.steps]]
name = "bake"
low = 2.0
high = 1.0
'''


def _check(text: str) -> tuple[Recipe | None, Report]:
    report = Report("recipe.toml", text)
    built = check_table(Recipe, tomllib.loads(text)["recipe"], report, item="bread",
                        at=("recipe",))
    return built, report


def test_a_good_table_is_built_with_arrays_as_tuples_and_integers_as_floats():
    text = ('[recipe]\ntitle = "Bread"\nnotes = { oven = "hot" }\n'
            '[[recipe.steps]]\nname = "bake"\nlow = 1\nhigh = 3\n')
    built, report = _check(text)
    assert report.errors == []
    assert built == Recipe(title="Bread", steps=(Step("bake", 1.0, 3.0),), notes={"oven": "hot"})
    assert isinstance(built.steps[0].low, float)


def test_every_problem_is_reported_with_its_line_item_and_field():
    built, report = _check(TEXT)
    assert built is None
    found = {(e.field, e.line) for e in report.errors}
    assert found == {("servings", 3),             # below its minimum
                     ("sevings", 4),              # unknown key
                     ("notes.oven", 5),           # empty string
                     ("steps[0].name", 8),        # pattern
                     ("steps[0].low", 9),         # wrong type
                     ("steps[1]", 11)}            # __post_init__ refused the values
    assert all(e.item == "bread" and e.path == "recipe.toml" for e in report.errors)
    by_field = {e.field: e for e in report.errors}
    assert "did you mean 'servings'?" in by_field["sevings"].reason
    assert by_field["steps[0].name"].reason == "must be lowercase letters, got 'Knead'"
    assert by_field["servings"].reason == "must be >= 1, got 0"
    assert "low must be below high" in by_field["steps[1]"].reason
    assert str(by_field["steps[0].low"]) == ("recipe.toml:9: bread: steps[0].low: "
                                             "expected a number, got 'warm'")


def test_missing_required_fields_point_at_their_table_and_validate_runs_last():
    built, report = _check('# a recipe\n[recipe]\nservings = 3\n')
    (error,) = report.errors
    assert (error.field, error.line, error.reason) == ("title", 2, "missing required field")
    built, report = _check('[recipe]\ntitle = "Bread"\nparent = "Bread"\n')
    (error,) = report.errors
    assert (error.field, error.line) == ("parent", 3) and "own parent" in error.reason


def test_from_table_raises_the_first_problem():
    with pytest.raises(InputError) as caught:
        from_table(Recipe, {"title": "Bread", "servings": True, "steps": "knead"},
                   path="recipe.toml", item="[recipe]")
    assert str(caught.value) == "recipe.toml: [recipe]: servings: expected an integer, got True"


def test_key_lines_follow_arrays_of_tables_dotted_and_quoted_keys():
    text = ('top = 1\n'
            'doc = """\n[not.a.table]\nfake = 1\n"""\n'
            '[[tags]]\nid = "a"\n'
            '[[tags]]\nid = "b"\n'
            '[[tags.rules]]\nfeature = "x"\n'
            '[[tags.rules]]\n"odd key" = 2\n'
            '[tags.microgenre]\nnoun.plural = "Bs"\n')
    tomllib.loads(text)   # the text is real TOML
    lines = key_lines(text)
    assert lines[("top",)] == 1 and lines[("doc",)] == 2
    assert ("not", "a", "table") not in lines and ("fake",) not in lines
    assert lines[("tags", 0)] == 6 and lines[("tags", 1, "id")] == 9
    assert lines[("tags", 1, "rules", 0, "feature")] == 11
    assert lines[("tags", 1, "rules", 1, "odd key")] == 13
    assert lines[("tags", 1, "microgenre", "noun", "plural")] == 15
    report = Report("f.toml", text)
    assert report.line(("tags", 1, "rules", 1, "width")) == 12   # not written: its table's line
    assert report.line(("absent",)) is None


def test_field_names_and_suggestions():
    assert field_name(("rules", 0, "width")) == "rules[0].width"
    assert field_name(("microgenre", "noun")) == "microgenre.noun"
    assert field_name(()) is None
    assert did_you_mean("promts", ["prompts", "clip_prompts", "rules"]) == \
        "; did you mean 'prompts' or 'clip_prompts'?"
    assert did_you_mean("zzz", ["prompts"]) == ""
