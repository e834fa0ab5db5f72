"""Micro-genre names ("Dark Psychological Thrillers set in Small Towns") from a title's tags.

A name is ``[adjectives] noun [connector words]...`` (see :class:`MicrogenreGrammar`). Each
tag says in its ``microgenre`` table which roles it can play and with which words, e.g.
``{noun = "Thrillers"}``, ``{adjective = "Dark"}``, ``{set_in = "Small Towns"}``.
"""
from __future__ import annotations

import math
import re
from typing import NamedTuple

from tagger.tagging.taxonomy_model import ADJECTIVE, NOUN, MicrogenreGrammar, Tag

# Ignored when checking that a name does not repeat a word.
_STOPWORDS = frozenset({"a", "an", "the", "of", "and", "in", "on", "at", "to", "for", "about",
                        "set", "with"})


class _Part(NamedTuple):
    tag: Tag
    confidence: float
    words: str


def _stems(words: str) -> frozenset[str]:
    """Lower-case crude singular stems of the content words ("Comedies" -> "comedy")."""
    out = set()
    for w in re.split(r"[\s\-/]+", words.lower()):
        w = w.strip(".,:;!?'\"()")
        if not w or w in _STOPWORDS:
            continue
        if len(w) > 4 and w.endswith("ies"):
            w = w[:-3] + "y"
        elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.add(w)
    return frozenset(out)


def _clash(a: frozenset[str], b: set[str] | frozenset[str]) -> bool:
    """True when two word-stem sets share a word or a word root ("romantic" / "romance",
    "dark" / "darkly"): one stem starts the other, or they share their first five letters."""
    for x in a:
        for y in b:
            short, long_ = sorted((x, y), key=len)
            if long_.startswith(short) and len(short) >= 3:
                return True
            if len(short) >= 5 and x[:5] == y[:5]:
                return True
    return False


def micro_genres(scored: list[tuple[Tag, float]], grammar: MicrogenreGrammar, *,
                 max_names: int = 3) -> list[str]:
    """Up to ``max_names`` distinct micro-genre names, strongest first; [] when no noun fired.

    ``scored`` holds the title's fired tags with confidences 0..1 (order does not matter;
    a repeated tag keeps its highest confidence; confidences <= 0 are ignored). The first name
    uses the strongest noun with the strongest adjectives and phrases; later names try the next
    nouns, then shift to weaker adjectives and phrases. A name never repeats a word, never lacks
    a noun, and is skipped when its words are a subset of an earlier name's (it would add
    nothing). Ties break on tag id, so the result is deterministic.
    """
    if max_names <= 0:
        return []
    best: dict[str, tuple[Tag, float]] = {}
    for tag, conf in scored:
        conf = float(conf)
        if math.isnan(conf) or conf <= 0:
            continue
        if tag.id not in best or conf > best[tag.id][1]:
            best[tag.id] = (tag, conf)
    ranked = sorted(best.values(), key=lambda tc: (-tc[1], tc[0].id))

    by_role: dict[str, list[_Part]] = {role: [] for role in grammar.roles}
    for tag, conf in ranked:
        for role, words in tag.microgenre.items():
            if role in by_role and words.strip():
                by_role[role].append(_Part(tag, conf, words.strip()))
    nouns = by_role[NOUN]
    if not nouns:
        return []

    variants = max(1, max(len(parts) for parts in by_role.values()))
    names: list[str] = []
    seen: list[frozenset[str]] = []
    for shift in range(variants):
        for noun in nouns:
            name, stems, modified = _build(noun, shift, by_role, grammar)
            if names and not modified:
                continue  # a bare noun only as the sole name
            if any(stems <= earlier for earlier in seen):
                continue
            names.append(name)
            seen.append(stems)
            if len(names) >= max_names:
                return names
    return names


def _build(noun: _Part, shift: int, by_role: dict[str, list[_Part]],
           grammar: MicrogenreGrammar) -> tuple[str, frozenset[str], bool]:
    """One name around ``noun``; ``shift`` skips that many of the strongest adjectives and
    rotates each phrase role to its ``shift``-th candidate. Returns (name, stems, has_modifiers).
    """
    used_tags = {noun.tag.id}
    used = set(_stems(noun.words))

    def fits(part: _Part) -> bool:
        stems = _stems(part.words)
        return part.tag.id not in used_tags and bool(stems) and not _clash(stems, used)

    def take(part: _Part) -> None:
        used_tags.add(part.tag.id)
        used.update(_stems(part.words))

    adjectives: list[_Part] = []
    for part in by_role[ADJECTIVE][shift:]:
        if len(adjectives) >= grammar.max_adjectives:
            break
        # One adjective per facet: "Nature Wildlife Documentaries" says one thing twice.
        if fits(part) and all(a.tag.facet != part.tag.facet for a in adjectives):
            adjectives.append(part)
            take(part)
    facet_rank = {facet: i for i, facet in enumerate(grammar.adjective_order)}
    unlisted = len(facet_rank)
    adjectives.sort(key=lambda p: (facet_rank.get(p.tag.facet, unlisted), -p.confidence,
                                   p.tag.id))

    # One candidate per connector role, then the strongest max_phrases of them.
    phrases: list[tuple[int, str, _Part]] = []
    for order, (role, connector) in enumerate(grammar.connectors):
        candidates = by_role.get(role, [])
        n = len(candidates)
        for k in range(n):
            part = candidates[(shift + k) % n]
            if fits(part):
                phrases.append((order, connector, part))
                take(part)
                break
    phrases.sort(key=lambda p: (-p[2].confidence, p[0]))
    kept = sorted(phrases[:grammar.max_phrases], key=lambda p: p[0])

    words = [p.words for p in adjectives] + [noun.words]
    words += [f"{connector} {part.words}" for _, connector, part in kept]
    name = " ".join(words)
    stems = frozenset(_stems(" ".join([p.words for p in adjectives] + [noun.words]
                                      + [part.words for _, _, part in kept])))
    return name, stems, bool(adjectives or kept)
