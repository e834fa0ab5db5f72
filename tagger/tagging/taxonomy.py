"""Taxonomy files: facets, tags (text/image prompts, feature rules), micro-genre grammar.

A taxonomy is a TOML file (format in ``taxonomies/README.md``). :func:`load_taxonomy` parses
and validates it into frozen dataclasses; :func:`validate_taxonomy` reports every problem,
each as an :class:`~tagger.errors.InputError` naming the file, line, tag and field.
"""
from __future__ import annotations

import difflib
import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from tagger.errors import InputError
from tagger.features import CATEGORICAL, FEATURES, LIST_FEATURES

TAXONOMY_DIR = Path(__file__).resolve().parents[2] / "taxonomies"

NOUN = "noun"
ADJECTIVE = "adjective"
_DEFAULT_CONNECTORS = (("about", "about"), ("set_in", "set in"), ("for", "for"))

_TAG_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FACET_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_ROLE_ID = re.compile(r"^[a-z][a-z0-9_]*$")

_TOP_KEYS = ("taxonomy", "facets", "microgenre", "tags")
_HEADER_KEYS = ("id", "version", "description")
_FACET_KEYS = ("id", "label", "description", "max_tags")
_GRAMMAR_KEYS = ("max_adjectives", "max_phrases", "adjective_order", "connectors")
_TAG_KEYS = ("id", "facet", "label", "description", "prompts", "clip_prompts", "rules",
             "parent", "microgenre")
_RULE_KEYS = ("feature", "above", "below", "width", "equals")


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
    width: float = 1.0
    equals: str | None = None

    def __post_init__(self) -> None:
        if self.equals is not None and (self.above is not None or self.below is not None):
            raise ValueError(f"rule on {self.feature}: equals cannot be combined with above/below")
        if self.equals is None and self.above is None and self.below is None:
            raise ValueError(f"rule on {self.feature}: needs above, below or equals")
        if not self.width > 0:
            raise ValueError(f"rule on {self.feature}: width must be > 0, got {self.width}")

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

    id: str
    facet: str
    label: str
    description: str
    prompts: tuple[str, ...] = ()
    clip_prompts: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    parent: str | None = None
    microgenre: dict[str, str] = field(default_factory=dict)

    # Tag ids are unique within a taxonomy; hash by identity fields since the dict is unhashable.
    def __hash__(self) -> int:
        return hash((self.id, self.facet, self.label))

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
    id: str
    label: str
    description: str
    max_tags: int | None = None


@dataclass(frozen=True)
class MicrogenreGrammar:
    """How micro-genre names are built.

    A name is ``[adjectives] noun [connector words]...``: at most ``max_adjectives`` adjectives,
    ordered by their tag's facet in ``adjective_order`` (facets not listed go last), then at most
    ``max_phrases`` phrases, one per connector role, in the order of ``connectors``
    (role -> the words put before the tag's words, e.g. ``("set_in", "set in")``).
    """

    connectors: tuple[tuple[str, str], ...] = _DEFAULT_CONNECTORS
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

    def tag(self, tag_id: str) -> Tag:
        try:
            return self._by_id[tag_id]
        except KeyError:
            raise KeyError(_unknown(f"tag {tag_id!r} in taxonomy {self.id!r}", tag_id,
                                    self._by_id)) from None

    def facet(self, facet_id: str) -> Facet:
        for f in self.facets:
            if f.id == facet_id:
                return f
        raise KeyError(_unknown(f"facet {facet_id!r} in taxonomy {self.id!r}", facet_id,
                                [f.id for f in self.facets]))

    def facet_tags(self, facet_id: str) -> tuple[Tag, ...]:
        try:
            return self._by_facet[facet_id]
        except KeyError:
            raise KeyError(_unknown(f"facet {facet_id!r} in taxonomy {self.id!r}", facet_id,
                                    self._by_facet)) from None


def _unknown(what: str, name: str, valid) -> str:
    close = difflib.get_close_matches(name, list(valid), n=5, cutoff=0.6)
    return f"unknown {what}" + (f"; did you mean: {', '.join(close)}?" if close else "")


# ---------------------------------------------------------------------------------------------
# Finding files


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
    close = difflib.get_close_matches(text, names, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise InputError(None, f"unknown taxonomy {text!r}; {hint}{valid}")


# ---------------------------------------------------------------------------------------------
# Validation


def validate_taxonomy(path: str | Path) -> list[InputError]:
    """Every problem in a taxonomy file (empty when it is valid); accepts a name or a path."""
    try:
        resolved = resolve_taxonomy_path(path)
    except InputError as e:
        return [e]
    return _parse(resolved)[0]


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
    errors, taxonomy = _parse(resolved)
    if errors:
        raise errors[0]
    assert taxonomy is not None
    _CACHE[key] = taxonomy
    return taxonomy


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    return {str: "string", int: "integer", float: "float", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _did_you_mean(name: str, valid) -> str:
    close = difflib.get_close_matches(name, list(valid), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


class _Locator:
    """Line numbers of sections, array-of-tables entries and their keys, from the raw text.

    Good enough for the plain layout used by taxonomy files; returns None when unsure.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*(?:\.[A-Za-z0-9_\-.]+\s*)?=")

    def __init__(self, text: str):
        # (section, index) -> {"": header line, key: first line}
        self.blocks: dict[tuple[str, int | None], dict[str, int]] = {}
        counts: dict[str, int] = {}
        current: dict[str, int] | None = None
        top: dict[str, int] = {}
        self.blocks[("", None)] = top
        current = top
        for lineno, line in enumerate(text.splitlines(), start=1):
            m = self._HEADER.match(line)
            if m:
                name = m.group(2).replace('"', "").replace(" ", "")
                root, _, rest = name.partition(".")
                if m.group(1) == "[[" and not rest:
                    index = counts.get(root, 0)
                    counts[root] = index + 1
                    current = self.blocks.setdefault((root, index), {"": lineno})
                elif rest and (root, counts.get(root, 0) - 1) in self.blocks:
                    # [[tags.rules]] / [tags.microgenre]: a key of the latest entry
                    current = self.blocks[(root, counts[root] - 1)]
                    current.setdefault(rest.split(".")[0], lineno)
                elif rest and (root, None) in self.blocks:
                    current = self.blocks[(root, None)]
                    current.setdefault(rest.split(".")[0], lineno)
                else:
                    current = self.blocks.setdefault((root, None), {"": lineno})
                    top.setdefault(root, lineno)
                continue
            k = self._KEY.match(line)
            if k and current is not None:
                current.setdefault(k.group(1), lineno)

    def line(self, section: str, index: int | None, key: str | None) -> int | None:
        block = self.blocks.get((section, index))
        if block is None:
            return None
        if key:
            base = re.split(r"[\[.]", key, maxsplit=1)[0]
            if base in block:
                return block[base]
        return block.get("")


class _Checker:
    def __init__(self, path: Path, text: str):
        self.path = path
        self.loc = _Locator(text)
        self.errors: list[InputError] = []

    def err(self, reason: str, *, section: str = "", index: int | None = None,
            item: str | None = None, key: str | None = None, absent: bool = False) -> None:
        # an absent key has no line of its own: point at the entry's header
        line = self.loc.line(section, index, None if absent else key)
        self.errors.append(InputError(self.path, reason, line=line, item=item, field=key))

    def unknown_keys(self, table: dict, allowed, *, section: str, index: int | None,
                     item: str | None, prefix: str = "") -> None:
        for k in table:
            if k not in allowed:
                self.err(f"unknown key{_did_you_mean(k, allowed)} (allowed: {', '.join(allowed)})",
                         section=section, index=index, item=item, key=prefix + k)

    def string(self, table: dict, key: str, *, required: bool, section: str,
               index: int | None, item: str | None, prefix: str = "") -> str | None:
        """A non-empty string at table[key], or None after reporting the problem."""
        if key not in table:
            if required:
                self.err("missing required field", section=section, index=index, item=item,
                         key=prefix + key, absent=not prefix)
            return None
        value = table[key]
        if not isinstance(value, str):
            self.err(f"must be a string, got {_type_name(value)}", section=section, index=index,
                     item=item, key=prefix + key)
            return None
        if not value.strip():
            self.err("must not be empty", section=section, index=index, item=item,
                     key=prefix + key)
            return None
        return value

    def strings(self, table: dict, key: str, *, section: str, index: int | None,
                item: str | None) -> tuple[str, ...]:
        if key not in table:
            return ()
        value = table[key]
        if not isinstance(value, list):
            self.err(f"must be an array of strings, got {_type_name(value)}", section=section,
                     index=index, item=item, key=key)
            return ()
        out = []
        for j, s in enumerate(value):
            if not isinstance(s, str):
                self.err(f"must be a string, got {_type_name(s)}", section=section, index=index,
                         item=item, key=f"{key}[{j}]")
            elif not s.strip():
                self.err("must not be empty", section=section, index=index, item=item,
                         key=f"{key}[{j}]")
            else:
                out.append(s)
        return tuple(out)

    def positive_int(self, table: dict, key: str, *, minimum: int, section: str,
                     index: int | None, item: str | None, prefix: str = "") -> int | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, int) or isinstance(value, bool):
            self.err(f"must be an integer, got {_type_name(value)}", section=section,
                     index=index, item=item, key=prefix + key)
            return None
        if value < minimum:
            self.err(f"must be >= {minimum}, got {value}", section=section, index=index,
                     item=item, key=prefix + key)
            return None
        return value


def _parse(path: Path) -> tuple[list[InputError], Taxonomy | None]:
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
        line = None
        if m:
            line = int(m.group(1))
            msg = f"TOML syntax error: {msg[:m.start()]} (column {m.group(2)})"
        else:
            msg = f"TOML syntax error: {msg}"
        return [InputError(path, msg, line=line)], None

    c = _Checker(path, text)
    c.unknown_keys(data, _TOP_KEYS, section="", index=None, item=None)

    # [taxonomy]
    header = data.get("taxonomy")
    tax_id = version = None
    if not isinstance(header, dict):
        c.err("missing [taxonomy] table with id and version" if header is None
              else f"must be a table, got {_type_name(header)}", item="taxonomy",
              key=None if header is None else "taxonomy")
    else:
        c.unknown_keys(header, _HEADER_KEYS, section="taxonomy", index=None, item="taxonomy")
        tax_id = c.string(header, "id", required=True, section="taxonomy", index=None,
                          item="taxonomy")
        version = c.string(header, "version", required=True, section="taxonomy", index=None,
                           item="taxonomy")
        c.string(header, "description", required=False, section="taxonomy", index=None,
                 item="taxonomy")

    facets = _check_facets(c, data.get("facets"))
    facet_ids = {f.id for f in facets}
    grammar = _check_grammar(c, data.get("microgenre"), facet_ids)
    tags = _check_tags(c, data.get("tags"), facet_ids, grammar)

    if c.errors:
        return c.errors, None
    assert tax_id is not None and version is not None
    taxonomy = Taxonomy(id=tax_id, version=version, path=str(path),
                        digest=hashlib.sha256(raw_bytes).hexdigest(), facets=tuple(facets),
                        tags=tuple(tags), grammar=grammar)
    return [], taxonomy


def _check_facets(c: _Checker, raw: Any) -> list[Facet]:
    if raw is None:
        c.err("missing [[facets]]: define at least one facet", item="facets")
        return []
    if not isinstance(raw, list) or not raw:
        c.err(f"must be a non-empty array of tables, got {_type_name(raw)}", item="facets",
              key="facets")
        return []
    out: list[Facet] = []
    seen: dict[str, int] = {}
    for i, f in enumerate(raw):
        item = f"facets[{i}]"
        if not isinstance(f, dict):
            c.err(f"must be a table, got {_type_name(f)}", section="facets", index=i, item=item)
            continue
        fid = f.get("id")
        if isinstance(fid, str) and fid:
            item = f"facet {fid}"
        c.unknown_keys(f, _FACET_KEYS, section="facets", index=i, item=item)
        fid = c.string(f, "id", required=True, section="facets", index=i, item=item)
        label = c.string(f, "label", required=True, section="facets", index=i, item=item)
        desc = c.string(f, "description", required=True, section="facets", index=i, item=item)
        max_tags = c.positive_int(f, "max_tags", minimum=1, section="facets", index=i, item=item)
        if fid is None:
            continue
        if not _FACET_ID.match(fid):
            c.err("facet id must be lowercase letters, digits and underscores, starting with a "
                  "letter", section="facets", index=i, item=item, key="id")
            continue
        if fid in seen:
            c.err(f"duplicate facet id (first defined as facets[{seen[fid]}])", section="facets",
                  index=i, item=item, key="id")
            continue
        seen[fid] = i
        if label is not None and desc is not None:
            out.append(Facet(id=fid, label=label, description=desc, max_tags=max_tags))
        else:
            # still known, so that tags referring to it do not add noise
            out.append(Facet(id=fid, label=label or fid, description=desc or "", max_tags=max_tags))
    return out


def _check_grammar(c: _Checker, raw: Any, facet_ids: set[str]) -> MicrogenreGrammar:
    if raw is None:
        return MicrogenreGrammar()
    sec, item = "microgenre", "microgenre"
    if not isinstance(raw, dict):
        c.err(f"must be a table, got {_type_name(raw)}", item=item, key="microgenre")
        return MicrogenreGrammar()
    c.unknown_keys(raw, _GRAMMAR_KEYS, section=sec, index=None, item=item)
    max_adj = c.positive_int(raw, "max_adjectives", minimum=0, section=sec, index=None, item=item)
    max_phr = c.positive_int(raw, "max_phrases", minimum=0, section=sec, index=None, item=item)
    order: list[str] = []
    for j, fid in enumerate(c.strings(raw, "adjective_order", section=sec, index=None, item=item)):
        if fid not in facet_ids:
            c.err(f"unknown facet {fid!r}{_did_you_mean(fid, facet_ids)}", section=sec,
                  index=None, item=item, key=f"adjective_order[{j}]")
        else:
            order.append(fid)
    connectors = _DEFAULT_CONNECTORS
    if "connectors" in raw:
        conn = raw["connectors"]
        if not isinstance(conn, dict):
            c.err(f"must be a table of role = \"words\", got {_type_name(conn)}", section=sec,
                  index=None, item=item, key="connectors")
        else:
            pairs = []
            for role, words in conn.items():
                key = f"connectors.{role}"
                if role in (NOUN, ADJECTIVE):
                    c.err(f"{role!r} is a built-in role and takes no connector", section=sec,
                          index=None, item=item, key=key)
                elif not _ROLE_ID.match(role):
                    c.err("role must be lowercase letters, digits and underscores", section=sec,
                          index=None, item=item, key=key)
                elif not isinstance(words, str) or not words.strip():
                    c.err(f"must be a non-empty string, got {_type_name(words)}", section=sec,
                          index=None, item=item, key=key)
                else:
                    pairs.append((role, words.strip()))
            connectors = tuple(pairs)
    defaults = MicrogenreGrammar()
    return MicrogenreGrammar(
        connectors=connectors,
        max_adjectives=defaults.max_adjectives if max_adj is None else max_adj,
        max_phrases=defaults.max_phrases if max_phr is None else max_phr,
        adjective_order=tuple(order))


def _check_rule(c: _Checker, raw: Any, *, index: int, item: str, prefix: str) -> Rule | None:
    sec = "tags"
    if not isinstance(raw, dict):
        c.err(f"must be a table like {{ feature = \"visual.brightness\", above = 0.6 }}, got "
              f"{_type_name(raw)}", section=sec, index=index, item=item, key=prefix)
        return None
    n_errors = len(c.errors)
    c.unknown_keys(raw, _RULE_KEYS, section=sec, index=index, item=item, prefix=prefix + ".")
    feature = c.string(raw, "feature", required=True, section=sec, index=index, item=item,
                       prefix=prefix + ".")
    nums: dict[str, float] = {}
    for key in ("above", "below", "width"):
        if key in raw:
            if _is_number(raw[key]) and math.isfinite(raw[key]):
                nums[key] = float(raw[key])
            else:
                c.err(f"must be a finite number, got {_type_name(raw[key])}", section=sec,
                      index=index, item=item, key=f"{prefix}.{key}")
    equals = c.string(raw, "equals", required=False, section=sec, index=index, item=item,
                      prefix=prefix + ".")
    has_bound = "above" in raw or "below" in raw
    if "width" in nums and nums["width"] <= 0:
        c.err(f"must be > 0, got {raw['width']}", section=sec, index=index, item=item,
              key=f"{prefix}.width")
    if feature is not None:
        if feature not in FEATURES:
            c.err(f"unknown feature {feature!r}{_did_you_mean(feature, FEATURES)} "
                  "(known features are listed in tagger/features.py)", section=sec, index=index,
                  item=item, key=f"{prefix}.feature")
        elif feature in LIST_FEATURES:
            c.err(f"feature {feature!r} is a list and cannot be used in a rule", section=sec,
                  index=index, item=item, key=f"{prefix}.feature")
        elif feature in CATEGORICAL:
            valid = CATEGORICAL[feature]
            if has_bound or "width" in raw:
                c.err(f"categorical feature {feature!r} takes equals = one of {', '.join(valid)}, "
                      "not above/below/width", section=sec, index=index, item=item, key=prefix)
            elif "equals" not in raw:
                c.err(f"categorical feature {feature!r} needs equals = one of {', '.join(valid)}",
                      section=sec, index=index, item=item, key=f"{prefix}.equals")
            elif equals is not None and equals not in valid:
                c.err(f"{equals!r} is not a value of {feature}; valid: {', '.join(valid)}",
                      section=sec, index=index, item=item, key=f"{prefix}.equals")
        else:
            if "equals" in raw:
                c.err(f"numeric feature {feature!r} takes above/below, not equals", section=sec,
                      index=index, item=item, key=f"{prefix}.equals")
            elif not has_bound:
                c.err("rule needs above, below (both for a band) or equals", section=sec,
                      index=index, item=item, key=prefix)
            elif "above" in nums and "below" in nums and nums["above"] >= nums["below"]:
                c.err(f"band is empty: above ({raw['above']}) must be less than below "
                      f"({raw['below']})", section=sec, index=index, item=item, key=prefix)
    elif not has_bound and "equals" not in raw:
        c.err("rule needs above, below (both for a band) or equals", section=sec, index=index,
              item=item, key=prefix)
    if len(c.errors) > n_errors:
        return None
    return Rule(feature=feature, above=nums.get("above"), below=nums.get("below"),
                width=nums.get("width", 1.0), equals=equals)


def _check_tags(c: _Checker, raw: Any, facet_ids: set[str],
                grammar: MicrogenreGrammar) -> list[Tag]:
    sec = "tags"
    if raw is None:
        c.err("missing [[tags]]: define at least one tag", item="tags")
        return []
    if not isinstance(raw, list) or not raw:
        c.err(f"must be a non-empty array of tables, got {_type_name(raw)}", item="tags",
              key="tags")
        return []
    roles = grammar.roles
    tags: list[Tag] = []
    first_index: dict[str, int] = {}
    parents: dict[str, tuple[str, int]] = {}  # tag id -> (parent id, index)
    for i, t in enumerate(raw):
        item = f"tags[{i}]"
        if not isinstance(t, dict):
            c.err(f"must be a table, got {_type_name(t)}", section=sec, index=i, item=item)
            continue
        if isinstance(t.get("id"), str) and t["id"].strip():
            item = t["id"]
        n_errors = len(c.errors)
        c.unknown_keys(t, _TAG_KEYS, section=sec, index=i, item=item)
        tid = c.string(t, "id", required=True, section=sec, index=i, item=item)
        facet = c.string(t, "facet", required=True, section=sec, index=i, item=item)
        label = c.string(t, "label", required=True, section=sec, index=i, item=item)
        desc = c.string(t, "description", required=True, section=sec, index=i, item=item)
        if tid is not None:
            if not _TAG_ID.match(tid):
                c.err("tag id must be a lowercase slug: letters, digits and single hyphens",
                      section=sec, index=i, item=item, key="id")
            elif tid in first_index:
                line = c.loc.line(sec, first_index[tid], "id")
                where = f"line {line}" if line else f"tags[{first_index[tid]}]"
                c.err(f"duplicate tag id (first defined at {where})", section=sec, index=i,
                      item=item, key="id")
            else:
                first_index[tid] = i
        if facet is not None and facet not in facet_ids:
            c.err(f"unknown facet {facet!r}{_did_you_mean(facet, facet_ids)} (facets: "
                  f"{', '.join(sorted(facet_ids))})", section=sec, index=i, item=item,
                  key="facet")
        prompts = c.strings(t, "prompts", section=sec, index=i, item=item)
        clip_prompts = c.strings(t, "clip_prompts", section=sec, index=i, item=item)
        rules: list[Rule] = []
        if "rules" in t:
            if not isinstance(t["rules"], list):
                c.err(f"must be an array of tables, got {_type_name(t['rules'])}", section=sec,
                      index=i, item=item, key="rules")
            else:
                for j, r in enumerate(t["rules"]):
                    rule = _check_rule(c, r, index=i, item=item, prefix=f"rules[{j}]")
                    if rule is not None:
                        rules.append(rule)
        parent = c.string(t, "parent", required=False, section=sec, index=i, item=item)
        if parent is not None and tid is not None:
            parents[tid] = (parent, i)
        micro: dict[str, str] = {}
        if "microgenre" in t:
            m = t["microgenre"]
            if not isinstance(m, dict):
                c.err(f"must be a table like {{ noun = \"Thrillers\" }}, got {_type_name(m)}",
                      section=sec, index=i, item=item, key="microgenre")
            else:
                for role, words in m.items():
                    key = f"microgenre.{role}"
                    if role not in roles:
                        c.err(f"unknown micro-genre role {role!r}{_did_you_mean(role, roles)} "
                              f"(roles: {', '.join(roles)})", section=sec, index=i, item=item,
                              key=key)
                    elif not isinstance(words, str) or not words.strip():
                        c.err(f"must be a non-empty string, got {_type_name(words)}",
                              section=sec, index=i, item=item, key=key)
                    else:
                        micro[role] = " ".join(words.split())
        scorers = ("prompts", "clip_prompts", "rules")
        misspelt = any(difflib.get_close_matches(k, scorers, n=1, cutoff=0.6)
                       for k in t if k not in _TAG_KEYS)
        # a misspelt "promts" is already reported; saying prompts are missing would be noise
        if not misspelt and not any(t.get(k) for k in scorers):
            c.err("tag needs at least one of prompts, clip_prompts or rules", section=sec,
                  index=i, item=item, key="prompts")
        if len(c.errors) == n_errors:
            tags.append(Tag(id=tid, facet=facet, label=label, description=desc, prompts=prompts,
                            clip_prompts=clip_prompts, rules=tuple(rules), parent=parent,
                            microgenre=micro))

    # parents: known, and no cycles
    known = set(first_index)
    for tid, (parent, i) in parents.items():
        if parent not in known:
            c.err(f"unknown parent tag {parent!r}{_did_you_mean(parent, known)}", section=sec,
                  index=i, item=tid, key="parent")
    reported: set[frozenset[str]] = set()
    for start in sorted(parents):
        path: list[str] = []
        node: str | None = start
        while node is not None and node in parents and node not in path:
            path.append(node)
            node = parents[node][0]
        if node is None or node not in path:
            continue
        cycle = path[path.index(node):]
        members = frozenset(cycle)
        if members in reported:
            continue
        reported.add(members)
        first = min(cycle)
        k = cycle.index(first)
        ordered = cycle[k:] + cycle[:k]
        c.err(f"parent cycle: {' -> '.join(ordered + [first])}", section=sec,
              index=parents[first][1], item=first, key="parent")
    return tags
