"""Taxonomy files: finding, reading and checking them (format in ``taxonomies/README.md``).

:func:`load_taxonomy` reads a file into the model of :mod:`tagger.tagging.taxonomy_model`;
:func:`validate_taxonomy` reports every problem, each an InputError naming the file, line, tag
and field. Each table is checked against its dataclass by tagger/settings.py; what is left here
is what only the whole file can tell: ids that refer to other entries (facets, parents, grammar
roles) and rules on features that tagger/features.py measures.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tagger.errors import InputError
from tagger.features import CATEGORICAL, FEATURES, LIST_FEATURES
from tagger.settings import Report, check_table, constraint, did_you_mean
from tagger.tagging.taxonomy_model import (ADJECTIVE, DEFAULT_CONNECTORS, NOUN, Facet,
                                           MicrogenreGrammar, Rule, Tag, Taxonomy)

__all__ = ["ADJECTIVE", "NOUN", "TAXONOMY_DIR", "Facet", "MicrogenreGrammar", "Rule", "Tag",
           "Taxonomy", "available_taxonomies", "load_taxonomy", "resolve_taxonomy_path",
           "validate_taxonomy"]

TAXONOMY_DIR = Path(__file__).resolve().parents[2] / "taxonomies"
_ROLE = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class _Header:
    """The [taxonomy] table."""

    id: str
    version: str
    description: str = ""


@dataclass(frozen=True)
class _GrammarTable:
    """The [microgenre] table as written: connectors are a table of role = "words"."""

    max_adjectives: int = field(default=MicrogenreGrammar.max_adjectives,
                                metadata=constraint(minimum=0))
    max_phrases: int = field(default=MicrogenreGrammar.max_phrases, metadata=constraint(minimum=0))
    adjective_order: tuple[str, ...] = ()
    connectors: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CONNECTORS))

    def grammar(self) -> MicrogenreGrammar:
        return MicrogenreGrammar(
            connectors=tuple((role, words.strip()) for role, words in self.connectors.items()),
            max_adjectives=self.max_adjectives, max_phrases=self.max_phrases,
            adjective_order=self.adjective_order)


# ------------------------------------------------------------------------------ finding files

def available_taxonomies() -> list[str]:
    """Names of the bundled taxonomies (``taxonomies/*.toml`` without the suffix), sorted."""
    if not TAXONOMY_DIR.is_dir():
        return []
    return sorted(p.stem for p in TAXONOMY_DIR.glob("*.toml") if p.is_file())


def resolve_taxonomy_path(name_or_path: str | Path) -> Path:
    """A bundled taxonomy name (``"default"``) or a path to a .toml file -> absolute path."""
    text = str(name_or_path)
    names = available_taxonomies()
    valid = f"valid names: {', '.join(names) or '(none)'}, or a path to a .toml file"
    looks_like_path = (isinstance(name_or_path, Path) or "/" in text or "\\" in text
                       or text.endswith(".toml"))
    if looks_like_path or Path(text).expanduser().is_file():
        p = Path(text).expanduser()
        if p.is_file():
            return p.resolve()
        raise InputError(p, f"taxonomy file not found ({valid})")
    candidate = TAXONOMY_DIR / f"{text}.toml"
    if candidate.is_file():
        return candidate.resolve()
    raise InputError(None, f"unknown taxonomy {text!r}{did_you_mean(text, names)} ({valid})")


# ---------------------------------------------------------------------------------- loading

def validate_taxonomy(path: str | Path) -> list[InputError]:
    """Every problem in a taxonomy file (empty when it is valid); accepts a name or a path."""
    try:
        resolved = resolve_taxonomy_path(path)
    except InputError as e:
        return [e]
    return _read(resolved)[0]


_CACHE: dict[tuple[str, int, int], Taxonomy] = {}


def load_taxonomy(name_or_path: str | Path) -> Taxonomy:
    """Load and validate a taxonomy; raises the first InputError. Cached by (path, mtime)."""
    resolved = resolve_taxonomy_path(name_or_path)
    try:
        st = resolved.stat()
    except OSError as e:
        raise InputError(resolved, f"cannot read: {e.strerror or e}") from None
    key = (str(resolved), st.st_mtime_ns, st.st_size)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    errors, taxonomy = _read(resolved)
    if errors:
        raise errors[0]
    assert taxonomy is not None
    _CACHE[key] = taxonomy
    return taxonomy


def _read(path: Path) -> tuple[list[InputError], Taxonomy | None]:
    try:
        raw_bytes = path.read_bytes()
    except OSError as e:
        return [InputError(path, f"cannot read: {e.strerror or e}")], None
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as e:
        return [InputError(path, f"not UTF-8 text ({e.reason} at byte {e.start})")], None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", msg)
        if not m:
            return [InputError(path, f"TOML syntax error: {msg}")], None
        return [InputError(path, f"TOML syntax error: {msg[:m.start()]} (column {m.group(2)})",
                           line=int(m.group(1)))], None
    report = Report(path, text)
    taxonomy = _check(report, data, digest=hashlib.sha256(raw_bytes).hexdigest())
    report.errors.sort(key=lambda e: e.line or 0)   # top to bottom, as the file reads
    return report.errors, taxonomy


# --------------------------------------------------------------------------------- checking

def _check(report: Report, data: dict, *, digest: str) -> Taxonomy | None:
    """The taxonomy in a parsed file, or None after reporting what is wrong with it."""
    report.unknown_keys(data, ("taxonomy", "facets", "microgenre", "tags"))
    header = None
    if "taxonomy" in data:
        header = check_table(_Header, data["taxonomy"], report, item="taxonomy", at=("taxonomy",))
    else:
        report.add("missing [taxonomy] table with id and version", item="taxonomy")
    facet_tables = _array(report, data, "facets", "facet")
    facets = [check_table(Facet, t, report, item=_item(t, "facet ", f"facets[{i}]"),
                          at=("facets", i)) for i, t in enumerate(facet_tables)]
    facet_ids = _unique_ids(report, facet_tables, "facets", "facet ")
    grammar, roles = _check_grammar(report, data.get("microgenre", {}), facet_ids)
    tag_tables = _array(report, data, "tags", "tag")
    tags = [check_table(Tag, t, report, item=_item(t, "", f"tags[{i}]"), at=("tags", i))
            for i, t in enumerate(tag_tables)]
    tag_ids = _unique_ids(report, tag_tables, "tags", "")
    for i, t in enumerate(tag_tables):
        if isinstance(t, dict):
            _check_tag_references(report, t, facet_ids=facet_ids, roles=roles,
                                  item=_item(t, "", f"tags[{i}]"), at=("tags", i))
    _check_parents(report, tag_tables, tag_ids)
    if report.errors:
        return None
    return Taxonomy(id=header.id, version=header.version, path=str(report.path), digest=digest,
                    facets=tuple(facets), tags=tuple(tags), grammar=grammar)


def _array(report: Report, data: dict, key: str, what: str) -> list:
    """The tables of ``[[key]]``, after reporting a missing or empty array."""
    if key not in data:
        report.add(f"missing [[{key}]]: define at least one {what}", item=key)
        return []
    if not isinstance(data[key], list) or not data[key]:
        report.add(f"must be a non-empty array of tables ([[{key}]])", item=key, field=(key,))
        return []
    return data[key]


# The checks below read the raw tables, so that they run even where check_table found a problem
# in another field; _text skips what check_table reports (a missing, empty or mistyped value).

def _text(table, key: str) -> str | None:
    value = table.get(key) if isinstance(table, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def _item(table, prefix: str, fallback: str) -> str:
    """How errors name an entry: by its id when it has one ("facet genre", "thriller")."""
    entry_id = _text(table, "id")
    return prefix + entry_id if entry_id else fallback


def _unique_ids(report: Report, tables: list, section: str, prefix: str) -> set[str]:
    """The ids of the entries of ``[[section]]``, after reporting repeated ones."""
    first: dict[str, int] = {}
    for i, table in enumerate(tables):
        entry_id = _text(table, "id")
        if entry_id in first:
            line = report.line((section, first[entry_id], "id"))
            report.add(f"duplicate id (first defined at line {line})", item=prefix + entry_id,
                       at=(section, i), field=("id",))
        elif entry_id is not None:
            first[entry_id] = i
    return set(first)


def _check_grammar(report: Report, raw, facet_ids: set[str]) -> tuple[MicrogenreGrammar | None,
                                                                      tuple[str, ...]]:
    """The grammar (None when it has a problem) and the roles tags may play."""
    where = {"item": "microgenre", "at": ("microgenre",)}
    table = check_table(_GrammarTable, raw, report, **where)
    raw = raw if isinstance(raw, dict) else {}
    order, connectors = raw.get("adjective_order"), raw.get("connectors")
    for j, facet in enumerate(order if isinstance(order, list) else ()):
        if isinstance(facet, str) and facet not in facet_ids:
            report.add(f"unknown facet {facet!r}{did_you_mean(facet, facet_ids)}",
                       field=("adjective_order", j), **where)
    if not isinstance(connectors, dict):
        connectors = dict(DEFAULT_CONNECTORS)
    roles = (NOUN, ADJECTIVE) + tuple(connectors)
    for role in connectors:
        if role in (NOUN, ADJECTIVE):
            report.add(f"{role!r} is a built-in role and takes no connector",
                       field=("connectors", role), **where)
        elif not _ROLE.fullmatch(role):
            report.add("a role must be lowercase letters, digits and underscores",
                       field=("connectors", role), **where)
    return (table.grammar() if table else None), roles


def _check_tag_references(report: Report, tag: dict, *, facet_ids: set[str],
                          roles: tuple[str, ...], item: str, at: tuple) -> None:
    """A tag's facet, micro-genre roles and rule features exist."""
    facet = _text(tag, "facet")
    if facet is not None and facet not in facet_ids:
        report.add(f"unknown facet {facet!r}{did_you_mean(facet, facet_ids)} (facets: "
                   f"{', '.join(sorted(facet_ids))})", item=item, at=at, field=("facet",))
    microgenre = tag.get("microgenre")
    for role in microgenre if isinstance(microgenre, dict) else ():
        if role not in roles:
            report.add(f"unknown micro-genre role {role!r}{did_you_mean(role, roles)} (roles: "
                       f"{', '.join(roles)})", item=item, at=at, field=("microgenre", role))
    rules = tag.get("rules")
    for j, rule in enumerate(rules if isinstance(rules, list) else ()):
        if _text(rule, "feature") is not None:
            _check_feature(report, rule, item=item, at=at, field=("rules", j))


def _check_feature(report: Report, rule: dict, *, item: str, at: tuple, field: tuple) -> None:
    """The rule's feature is measured, and the rule fits its kind (number or category)."""
    feature = rule["feature"]
    where = {"item": item, "at": at}
    if feature not in FEATURES:
        report.add(f"unknown feature {feature!r}{did_you_mean(feature, FEATURES)} (known "
                   "features are listed in tagger/features.py)", field=field + ("feature",), **where)
    elif feature in LIST_FEATURES:
        report.add(f"feature {feature!r} is a list and cannot be used in a rule",
                   field=field + ("feature",), **where)
    elif feature in CATEGORICAL:
        valid = ", ".join(CATEGORICAL[feature])
        if any(key in rule for key in ("above", "below", "width")):
            report.add(f"categorical feature {feature!r} takes equals = one of {valid}, not "
                       "above/below/width", field=field, **where)
        elif _text(rule, "equals") is not None and rule["equals"] not in CATEGORICAL[feature]:
            report.add(f"{rule['equals']!r} is not a value of {feature}; valid: {valid}",
                       field=field + ("equals",), **where)
    elif "equals" in rule:
        report.add(f"numeric feature {feature!r} takes above/below, not equals",
                   field=field + ("equals",), **where)


def _check_parents(report: Report, tag_tables: list, tag_ids: set[str]) -> None:
    """Every parent is a tag of the file, and no tag is its own ancestor."""
    parents: dict[str, tuple[str, int]] = {}   # tag id -> (parent id, entry index)
    for i, table in enumerate(tag_tables):
        tag_id, parent = _text(table, "id"), _text(table, "parent")
        if tag_id is None or parent is None:
            continue
        parents.setdefault(tag_id, (parent, i))
        if parent not in tag_ids:
            report.add(f"unknown parent tag {parent!r}{did_you_mean(parent, tag_ids)}",
                       item=tag_id, at=("tags", i), field=("parent",))
    reported: set[frozenset[str]] = set()
    for start in sorted(parents):
        path: list[str] = []
        node = start
        while node in parents and node not in path:
            path.append(node)
            node = parents[node][0]
        if node not in path:
            continue
        cycle = path[path.index(node):]
        if frozenset(cycle) in reported:
            continue
        reported.add(frozenset(cycle))
        first = min(cycle)   # name the cycle the same way whichever tag it was found from
        k = cycle.index(first)
        report.add(f"parent cycle: {' -> '.join(cycle[k:] + cycle[:k] + [first])}", item=first,
                   at=("tags", parents[first][1]), field=("parent",))
