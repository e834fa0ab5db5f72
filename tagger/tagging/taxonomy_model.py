"""What a taxonomy holds: facets, tags (text/image prompts, feature rules), micro-genre grammar.

Frozen dataclasses, built from taxonomy files by :mod:`tagger.tagging.taxonomy`, which checks
each file table against these classes (tagger/settings.py): a field without a default is
required, ``constraint`` metadata holds the ids' patterns and the bounds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from tagger.settings import constraint, did_you_mean

NOUN = "noun"
ADJECTIVE = "adjective"
DEFAULT_CONNECTORS = (("about", "about"), ("set_in", "set in"), ("for", "for"))

TAG_ID = constraint(pattern=r"[a-z0-9]+(?:-[a-z0-9]+)*",
                    says="must be a lowercase slug: letters, digits and single hyphens")
FACET_ID = constraint(pattern=r"[a-z][a-z0-9_]*",
                      says="must be lowercase letters, digits and underscores, starting with a letter")

def _sigmoid(z: float) -> float:
    # Split by sign so that exp never overflows.
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Rule:
    """One condition on a measured feature, scored softly.

    ``above=t``: sigmoid((x - t) / width); ``below=t``: sigmoid((t - x) / width); both: the
    minimum of the two (a band); ``equals="minor"`` (categorical features): 1.0 or 0.0.
    ``width`` is in the feature's own units: two widths past the threshold scores ~0.88,
    three ~0.95.
    """

    feature: str
    above: float | None = None
    below: float | None = None
    width: float = field(default=1.0, metadata=constraint(more_than=0))
    equals: str | None = None

    def __post_init__(self) -> None:
        # A file's width is checked (and named) by its constraint; this guards rules made in code.
        if not self.width > 0:
            raise ValueError(f"rule on {self.feature}: width must be > 0, got {self.width}")
        if self.equals is not None and (self.above is not None or self.below is not None):
            raise ValueError(f"rule on {self.feature}: equals cannot be combined with above/below")
        if self.equals is None and self.above is None and self.below is None:
            raise ValueError(f"rule on {self.feature}: needs above, below (both for a band) or "
                             "equals")
        if self.above is not None and self.below is not None and self.above >= self.below:
            raise ValueError(f"rule on {self.feature}: the band is empty: above ({self.above}) "
                             f"must be less than below ({self.below})")

    def confidence(self, features: Mapping[str, Any]) -> float | None:
        """Confidence 0..1 that the rule holds; None when the feature was not measured."""
        value = features.get(self.feature)
        if value is None:
            return None
        if self.equals is not None:
            return 1.0 if str(value) == self.equals else 0.0
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"feature {self.feature} must be a number, got {value!r}") from None
        if math.isnan(x):
            return None  # NaN means the extractor could not measure it
        scores = []
        if self.above is not None:
            scores.append(_sigmoid((x - self.above) / self.width))
        if self.below is not None:
            scores.append(_sigmoid((self.below - x) / self.width))
        return min(scores)


@dataclass(frozen=True)
class Tag:
    """A tag of one facet; ``microgenre`` maps a grammar role (noun, adjective, about, ...) to words."""

    id: str = field(metadata=TAG_ID)
    facet: str
    label: str
    description: str
    prompts: tuple[str, ...] = ()
    clip_prompts: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    parent: str | None = None
    microgenre: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # "Dark  Thrillers" over two lines and "Dark Thrillers" make the same name.
        words = {role: " ".join(text.split()) for role, text in self.microgenre.items()}
        object.__setattr__(self, "microgenre", words)

    # Tag ids are unique within a taxonomy; hash by identity fields since the dict is unhashable.
    def __hash__(self) -> int:
        return hash((self.id, self.facet, self.label))

    def validate(self) -> tuple[str, str] | None:
        """Checked when the tag is read from a file (see tagger/settings.py)."""
        if not (self.prompts or self.clip_prompts or self.rules):
            return "prompts", "tag needs at least one of prompts, clip_prompts or rules"
        return None

    def rule_confidence(self, features: Mapping[str, Any]) -> float | None:
        """Minimum over the rules; None when there are no rules or any rule's feature is missing."""
        if not self.rules:
            return None
        scores = [rule.confidence(features) for rule in self.rules]
        if any(s is None for s in scores):
            return None
        return min(scores)


@dataclass(frozen=True)
class Facet:
    id: str = field(metadata=FACET_ID)
    label: str
    description: str
    max_tags: int | None = field(default=None, metadata=constraint(minimum=1))  # per title


@dataclass(frozen=True)
class MicrogenreGrammar:
    """How micro-genre names are built.

    A name is ``[adjectives] noun [connector words]...``: at most ``max_adjectives`` adjectives,
    ordered by their tag's facet in ``adjective_order`` (facets not listed go last), then at most
    ``max_phrases`` phrases, one per connector role, in the order of ``connectors``
    (role -> the words put before the tag's words, e.g. ``("set_in", "set in")``).
    """

    connectors: tuple[tuple[str, str], ...] = DEFAULT_CONNECTORS
    max_adjectives: int = 2
    max_phrases: int = 2
    adjective_order: tuple[str, ...] = ()

    @property
    def roles(self) -> tuple[str, ...]:
        return (NOUN, ADJECTIVE) + tuple(role for role, _ in self.connectors)

    def connector(self, role: str) -> str:
        for name, words in self.connectors:
            if name == role:
                return words
        raise KeyError(f"unknown micro-genre role {role!r}; roles: {', '.join(self.roles)}")


@dataclass(frozen=True)
class Taxonomy:
    id: str
    version: str
    path: str
    digest: str  # sha256 hex of the file bytes
    facets: tuple[Facet, ...]
    tags: tuple[Tag, ...]
    grammar: MicrogenreGrammar
    _by_id: dict[str, Tag] = field(init=False, repr=False, compare=False)
    _by_facet: dict[str, tuple[Tag, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {t.id: t for t in self.tags})
        by_facet: dict[str, list[Tag]] = {f.id: [] for f in self.facets}
        for t in self.tags:
            by_facet.setdefault(t.facet, []).append(t)
        object.__setattr__(self, "_by_facet", {k: tuple(v) for k, v in by_facet.items()})

    def __hash__(self) -> int:
        return hash((self.path, self.digest))

    def heads_digest(self) -> str:
        """sha256 hex of what learned tag heads read of the taxonomy: its tag ids in order and
        their prompts (the zero-shot inputs). Rules, labels, descriptions and the micro-genre
        grammar are not in it, so editing them keeps heads trained for the taxonomy usable."""
        import hashlib
        import json

        return hashlib.sha256(json.dumps([[t.id, list(t.prompts)] for t in self.tags]).encode()).hexdigest()

    def tag(self, tag_id: str) -> Tag:
        try:
            return self._by_id[tag_id]
        except KeyError:
            raise KeyError(f"unknown tag {tag_id!r} in taxonomy {self.id!r}"
                           f"{did_you_mean(tag_id, self._by_id)}") from None

    def facet(self, facet_id: str) -> Facet:
        for f in self.facets:
            if f.id == facet_id:
                return f
        raise KeyError(f"unknown facet {facet_id!r} in taxonomy {self.id!r}"
                       f"{did_you_mean(facet_id, [f.id for f in self.facets])}")

    def facet_tags(self, facet_id: str) -> tuple[Tag, ...]:
        try:
            return self._by_facet[facet_id]
        except KeyError:
            raise KeyError(f"unknown facet {facet_id!r} in taxonomy {self.id!r}"
                           f"{did_you_mean(facet_id, self._by_facet)}") from None
