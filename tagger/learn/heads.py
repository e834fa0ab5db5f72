"""Saved tag heads: numpy arrays (heads.npz) plus JSON (heads.json), no pickle.

At ingest (the tags stage, once per process, then per title):

    heads = TagHeads.load(resolve_heads("default"), taxonomy=taxonomy, encoder_id=encoder.model_id)
    inputs = TitleInputs(synopsis=..., synopsis_vector=..., dialogue_vector=..., features=ctx.features)
    heads.predict_title(inputs, zeroshot)   # {tag_id: (calibrated probability, fired)}

(`zeroshot`: the text stage's synopsis confidence per prompted tag, ctx.synopsis_zeroshot.)

`heads.tag_ids` have heads; every other tag of the taxonomy falls back to zero-shot and rules,
and `heads.fallback[tag]` says why (for the tag's evidence). `heads.version` names them in a
run's record.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.errors import InputError
from tagger.learn.calibration import sigmoid
from tagger.learn.features import FeatureLayout, assemble_rows
from tagger.learn.terms import Terms

FORMAT = 1
SHIPPED = Path(__file__).resolve().parents[1] / "models" / "tags"
ARRAYS = "heads.npz"
META = "heads.json"
_ARRAY_NAMES = ("mean", "scale", "coef", "bias", "text_coef", "text_bias", "platt", "thresholds")


@dataclass
class TagHeads:
    layout: FeatureLayout
    taxonomy_id: str
    taxonomy_digest: str
    tag_ids: list[str]
    mean: np.ndarray          # (features,)
    scale: np.ndarray         # (features,)
    coef: np.ndarray          # (features, heads), over standardised features
    bias: np.ndarray          # (heads,)
    terms: Terms              # the synopsis words of the lexical part, with their idf
    text_coef: np.ndarray     # (terms, heads), over TF-IDF; stored as float16
    text_bias: np.ndarray     # (heads,)
    platt: np.ndarray         # (heads, 3): p = sigmoid(a_rows * score_rows + a_text * score_text + b)
    thresholds: np.ndarray    # (heads,): fire at or above
    fallback: dict[str, str] = field(default_factory=dict)
    record: dict = field(default_factory=dict)   # how they were trained: command, data, choices, validation
    taxonomy_heads_digest: str = ""   # Taxonomy.heads_digest() of the taxonomy trained for ("": unknown, older files)

    @classmethod
    def from_fit(cls, fitted, layout: FeatureLayout, taxonomy, record: dict) -> TagHeads:
        return cls(layout=layout, taxonomy_id=taxonomy.id, taxonomy_digest=taxonomy.digest,
                   taxonomy_heads_digest=taxonomy.heads_digest(), tag_ids=list(fitted.tag_ids), mean=fitted.mean, scale=fitted.scale, coef=fitted.coef,
                   bias=fitted.bias, terms=fitted.terms,
                   text_coef=fitted.text_coef.astype(np.float16).astype(np.float32), text_bias=fitted.text_bias,
                   platt=fitted.platt, thresholds=fitted.thresholds,
                   fallback=dict(fitted.fallback), record={**record, "validation": fitted.report})

    @property
    def version(self) -> str:
        """A digest of the arrays and of what they mean: changes whenever the heads do."""
        digest = hashlib.sha256(json.dumps([self.layout.to_dict(), self.taxonomy_digest, self.tag_ids,
                                            list(self.terms.vocabulary)], sort_keys=True).encode())
        for name in _ARRAY_NAMES + ("idf",):
            value = self.terms.idf if name == "idf" else getattr(self, name)
            digest.update(np.ascontiguousarray(value, np.float32).tobytes())
        return digest.hexdigest()[:16]

    def probabilities(self, rows: np.ndarray, synopses: list[str]) -> np.ndarray:
        """(titles, heads) calibrated probabilities from feature rows of this layout and the
        titles' synopses."""
        if rows.shape[1] != self.layout.width:
            raise ValueError(f"feature rows have {rows.shape[1]} columns, the heads' layout {self.layout.width}")
        standard = np.nan_to_num((rows - self.mean) / self.scale)
        # The few rows of text_coef a synopsis's words pick, not a sparse product: ingest asks for
        # one title at a time, where building a scipy matrix cost more than the heads' arithmetic.
        lexical = np.zeros((len(synopses), self.text_coef.shape[1]), np.float32)
        for i, text in enumerate(synopses):
            columns, weights = self.terms.weights(text)
            lexical[i] = weights @ self.text_coef[columns]
        return sigmoid(self.platt[:, 0] * (standard @ self.coef + self.bias)
                       + self.platt[:, 1] * (lexical + self.text_bias) + self.platt[:, 2])

    def predict(self, rows: np.ndarray, synopses: list[str]) -> list[dict[str, tuple[float, bool]]]:
        """Per title: {tag_id: (calibrated probability, fired)} for the tags with heads."""
        probability = self.probabilities(rows, synopses)
        fired = probability >= self.thresholds
        return [{tag: (float(p[j]), bool(f[j])) for j, tag in enumerate(self.tag_ids)}
                for p, f in zip(probability, fired)]

    def predict_title(self, inputs, zeroshot: dict[str, float]) -> dict[str, tuple[float, bool]]:
        """One title: {tag_id: (calibrated probability, fired)}; {} when the title has no synopsis
        and the heads never saw dialogue (they would only repeat their priors). `zeroshot` is the
        title's synopsis zero-shot confidence per prompted tag (the text stage's, or
        FeatureBuilder.zeroshot's); tags missing from it count 0."""
        trained_on_dialogue = bool(self.record.get("titles_with_dialogue"))
        if inputs.synopsis_vector is None and not (trained_on_dialogue and inputs.dialogue_vector is not None):
            return {}
        prior = np.array([[zeroshot.get(tag, 0.0) for tag in self.layout.zeroshot_tags]], np.float32)
        return self.predict(assemble_rows(self.layout, [inputs], prior), [inputs.synopsis or ""])[0]

    def threshold(self, tag_id: str) -> float:
        return float(self.thresholds[self.tag_ids.index(tag_id)])

    # -- files -------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {name: np.asarray(getattr(self, name), np.float32) for name in _ARRAY_NAMES}
        arrays["text_coef"] = arrays["text_coef"].astype(np.float16)   # the largest array; half is plenty
        arrays["idf"] = np.asarray(self.terms.idf, np.float32)
        arrays["vocabulary"] = np.array(self.terms.vocabulary, dtype=str)
        meta = {"format": FORMAT, "version": self.version,
                "taxonomy": {"id": self.taxonomy_id, "digest": self.taxonomy_digest,
                             "heads_digest": self.taxonomy_heads_digest},
                "encoder_id": self.layout.encoder_id, "layout": self.layout.to_dict(), "tag_ids": self.tag_ids,
                "thresholds": {t: round(float(v), 4) for t, v in zip(self.tag_ids, self.thresholds)},
                "fallback": self.fallback, "record": self.record}
        # Written under temporary names, then renamed: a reader never sees half a model.
        partial = folder / (ARRAYS + ".partial.npz")
        np.savez_compressed(partial, **arrays)
        (folder / (META + ".partial")).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n",
                                                  encoding="utf-8")
        partial.replace(folder / ARRAYS)
        (folder / (META + ".partial")).replace(folder / META)
        return folder

    @classmethod
    def load(cls, folder: str | Path, *, taxonomy=None, encoder_id: str | None = None) -> TagHeads:
        """Heads saved by `save`; with a taxonomy or an encoder id, a mismatch is an InputError
        that says what differs and how to retrain."""
        folder = Path(folder)
        meta_path, arrays_path = folder / META, folder / ARRAYS
        meta = read_meta(folder)
        retrain = "; train them again for it: tagger train tags --data DIR --out DIR"
        if taxonomy is not None and not trained_for(meta, taxonomy):
            raise InputError(meta_path, f"tag heads trained for taxonomy {meta['taxonomy']['id']!r} "
                                        f"(digest {meta['taxonomy']['digest'][:12]}), but the pipeline uses "
                                        f"{taxonomy.id!r} (digest {taxonomy.digest[:12]}), whose tags or "
                                        f"prompts differ{retrain}", field="taxonomy")
        if encoder_id is not None and meta["encoder_id"] != encoder_id:
            raise InputError(meta_path, f"tag heads trained on embeddings of {meta['encoder_id']!r}, but the "
                                        f"pipeline's text model is {encoder_id!r}{retrain}", field="encoder_id")
        try:
            with np.load(arrays_path, allow_pickle=False) as data:
                arrays = {name: data[name].astype(np.float32) for name in _ARRAY_NAMES}
                arrays["terms"] = Terms(tuple(str(w) for w in data["vocabulary"]), data["idf"].astype(np.float32))
        except (OSError, ValueError, KeyError) as error:
            raise InputError(arrays_path, f"unreadable tag heads: {error}") from None
        heads = cls(layout=FeatureLayout.from_dict(meta["layout"]), taxonomy_id=meta["taxonomy"]["id"],
                    taxonomy_digest=meta["taxonomy"]["digest"],
                    taxonomy_heads_digest=meta["taxonomy"].get("heads_digest", ""), tag_ids=list(meta["tag_ids"]),
                    fallback=dict(meta.get("fallback", {})), record=dict(meta.get("record", {})), **arrays)
        if heads.coef.shape != (heads.layout.width, len(heads.tag_ids)):
            raise InputError(arrays_path, f"arrays of shape {heads.coef.shape} do not match heads.json "
                                          f"({heads.layout.width} features, {len(heads.tag_ids)} heads)")
        return heads


def trained_for(meta: dict, taxonomy) -> bool:
    """Whether heads (their heads.json) fit `taxonomy`: the same tag ids and prompts
    (Taxonomy.heads_digest); heads saved before that was recorded need the same file."""
    recorded = meta["taxonomy"]
    if recorded.get("heads_digest"):
        return recorded["heads_digest"] == taxonomy.heads_digest()
    return recorded["digest"] == taxonomy.digest


def read_meta(folder: str | Path) -> dict:
    """heads.json of saved heads (version, thresholds, record), without the arrays."""
    meta_path = Path(folder) / META
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(meta_path, "no tag heads here (tagger train tags --out writes them)") from None
    except (OSError, ValueError) as error:
        raise InputError(meta_path, f"unreadable tag heads: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(meta_path, f"tag heads of format {meta.get('format') if isinstance(meta, dict) else '?'}, "
                                    f"this tagger reads format {FORMAT}; train them again (tagger train tags)")
    return meta


def is_shipped(name_or_path: str | Path) -> bool:
    """Whether a pipeline's `[tags] model` names heads shipped inside the package."""
    return "/" not in str(name_or_path) and (SHIPPED / str(name_or_path) / META).is_file()


def resolve_heads(name_or_path: str | Path) -> Path:
    """A shipped set of heads by name ("default": tagger/models/tags/default/) or a folder."""
    if is_shipped(name_or_path):
        return SHIPPED / str(name_or_path)
    path = Path(name_or_path)
    if not (path / META).is_file():
        shipped = sorted(p.name for p in SHIPPED.glob("*") if (p / META).is_file()) if SHIPPED.is_dir() else []
        raise InputError(path, f"no tag heads here (shipped: {', '.join(shipped) or 'none'}; "
                               "tagger train tags --out writes them)")
    return path


def queue_priority(probability, threshold, *, positives=None) -> np.ndarray:
    """How much an editor's answer on a pending tag is worth, for ordering the simulated queue.

    The chance the tag's current decision is wrong (fired: 1 - p; not fired: p; calibrated
    probabilities make this the expected number of errors fixed) times what a label teaches,
    the review queue's own `gain` (tags with few labels learn most from one more). Arrays
    broadcast; `positives` None counts as no labels.
    """
    from tagger.review.queue import gain

    p = np.asarray(probability, np.float64)
    wrong = np.where(p >= np.asarray(threshold, np.float64), 1.0 - p, p)
    counts = np.broadcast_to(np.asarray(0 if positives is None else positives), p.shape)
    return wrong * np.vectorize(gain, otypes=[np.float64])(counts)
