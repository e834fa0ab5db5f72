from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from tagger.errors import StageSkipped
from tagger.stages.base import Evidence, Stage, TitleContext
from tagger.vectors import unit


class TextStage(Stage):
    """Subtitles and synopsis: dialogue metrics, sentence embeddings, zero-shot tag scores."""
    name = "text"

    @dataclass
    class Settings:
        model: str = "all-MiniLM-L6-v2"
        window_s: float = 60.0
        languages: tuple[str, ...] = ("en",)     # subtitle languages preferred, in order
        z_center: float = 1.6                     # chosen with benchmarks/tag_quality.py
        z_width: float = 0.4
        min_similarity: float = 0.25
        subtitle_weight: float = 0.8              # dialogue speaks less directly than a synopsis
        synopsis_share: float = 0.6               # of the title's text embedding
        backend: str = "torch"                    # torch | onnx | onnx-int8 (pip install 'tagger[onnx]')

        def validate(self):
            from tagger.text.encoder import backend_problem

            problem = backend_problem(self.backend)
            return ("backend", problem) if problem else None

    def setup(self) -> None:
        from tagger.text.encoder import get_encoder

        self.encoder = get_encoder(self.settings.model, self.settings.backend)
        self.bank = _bank(self.encoder, self.taxonomy)
        self._prepared: dict[str, np.ndarray] = {}   # synopsis -> vector, filled by prepare()

    def versions(self) -> dict[str, str]:
        from tagger.text.encoder import describe_encoder

        described = describe_encoder(self.settings.model, self.settings.backend)
        if described is None:
            self.ready()
            described = self.encoder.model_id, self.encoder.version
        return {"model": described[0], "library": described[1]}

    def spaces(self) -> dict[str, int]:
        # A prompt bank saved by an earlier run knows the dimension without loading the model.
        if not getattr(self, "_set_up", False):
            saved = _saved_bank(self.versions(), self.taxonomy)
            if saved is not None:
                return {"text": int(saved.vectors.shape[1])}
        self.ready()
        return {"text": self.encoder.dimension}

    def skip_reason(self, ctx: TitleContext) -> str | None:
        if not (ctx.title.synopsis or "").strip() and not ctx.title.subtitles:
            return "no synopsis and no subtitles"
        return None

    def run(self, ctx: TitleContext) -> None:
        from tagger.tagging.zeroshot import confidences
        from tagger.text.dialogue import dialogue_metrics, windows
        from tagger.text.subtitles import read_subtitles, subtitle_language

        s = self.settings
        subtitle = _pick_subtitle(ctx.title.subtitles, s.languages, ctx.title.original_language,
                                  subtitle_language)
        if subtitle is not None:
            ctx.cues = read_subtitles(subtitle)
            ctx.subtitle_language = subtitle_language(subtitle)
        synopsis = (ctx.title.synopsis or "").strip()
        if not synopsis and not ctx.cues:
            raise StageSkipped("no synopsis and no subtitles")
        if ctx.cues:
            runtime_s = ctx.media.duration_s if ctx.media is not None and ctx.media.duration_s else None
            metrics = dialogue_metrics(ctx.cues, runtime_s=runtime_s)
            ctx.features.update({f"dialogue.{k}": v for k, v in metrics.items()})

        def score(units: np.ndarray) -> np.ndarray:
            return confidences(self.bank.tag_similarity(units), z_center=s.z_center, z_width=s.z_width,
                               min_similarity=s.min_similarity)

        parts, weights = [], []
        if synopsis:
            prepared = self._prepared.pop(synopsis, None)
            vector = prepared[None, :] if prepared is not None else self.encoder.encode([synopsis])
            conf = score(vector)
            ctx.synopsis_vector = vector[0]
            ctx.synopsis_zeroshot = dict(zip(self.bank.tag_ids, conf[0].tolist()))
            for t, tag_id in enumerate(self.bank.tag_ids):
                if conf[0, t] > 0.05:
                    ctx.add_score("text", tag_id, Evidence("text", float(conf[0, t]), "synopsis",
                                                           cue=_clip(synopsis)))
            parts.append(vector[0])
            weights.append(s.synopsis_share)
        if ctx.cues:
            cue_vectors = self.encoder.encode([c.text for c in ctx.cues])
            spans = windows(ctx.cues, window_s=s.window_s)
            window_vectors = np.stack([unit(cue_vectors[list(w.cue_indices)].mean(axis=0)) for w in spans])
            conf = score(window_vectors)
            cue_sims = self.bank.tag_similarity(cue_vectors)
            self._window_evidence(ctx, spans, conf, cue_sims)
            ctx.dialogue_vector = unit(cue_vectors.mean(axis=0))
            parts.append(ctx.dialogue_vector)
            weights.append(1.0 - s.synopsis_share if synopsis else 1.0)
        text_vector = unit(sum(w * p for w, p in zip(weights, parts)))
        ctx.vectors["text"] = (self.encoder.model_id, text_vector.astype(np.float32))

    def prepare(self, titles) -> None:
        """Synopses of the next titles in one encoder call: metadata-only batches (a catalog
        backfill) are otherwise dominated by per-call overhead."""
        if not getattr(self, "_set_up", False):
            return   # the first titles load the model (in the background) and encode their own
        synopses = list(dict.fromkeys((t.synopsis or "").strip() for t in titles if (t.synopsis or "").strip()))
        self._prepared = dict(zip(synopses, self.encoder.encode(synopses))) if synopses else {}

    def _window_evidence(self, ctx, spans, conf, cue_sims) -> None:
        """Title-level dialogue score per tag: mean of its two best windows, down-weighted;
        evidence is the cue in the best window closest to the tag, with that cue's own times."""
        top = min(2, len(spans))
        for t, tag_id in enumerate(self.bank.tag_ids):
            order = np.argsort(-conf[:, t])[:top]
            value = float(conf[order, t].mean()) * self.settings.subtitle_weight
            if value <= 0.05:
                continue
            best = spans[order[0]]
            cue_index = max(best.cue_indices, key=lambda i: cue_sims[i, t])
            cue = ctx.cues[cue_index]
            ctx.add_score("text", tag_id, Evidence("text", value, "subtitles", scene=_scene_at(ctx, cue.start_s),
                                                   start_s=cue.start_s, end_s=cue.end_s, cue=_clip(cue.text)))


_BANKS: dict[tuple[str, str], object] = {}


def _bank(encoder, taxonomy):
    """Prompt embeddings, once per process for each model and taxonomy, and saved in the cache
    folder: encoding the taxonomy's prompts cost seconds of every start-up."""
    from tagger.tagging.zeroshot import build_bank

    key = (encoder.model_id, taxonomy.digest)
    if key not in _BANKS:
        versions = {"model": encoder.model_id, "library": encoder.version}
        bank = _saved_bank(versions, taxonomy)
        if bank is None:
            bank = build_bank(taxonomy.tags, lambda t: t.prompts, encoder.encode)
            _save_bank(bank, versions, taxonomy)
        _BANKS[key] = bank
    return _BANKS[key]


def _bank_file(versions: dict, taxonomy):
    import hashlib
    import json

    from tagger.text.encoder import cache_root

    prompts = [(t.id, list(t.prompts)) for t in taxonomy.tags]
    key = hashlib.sha256(json.dumps([versions, prompts], sort_keys=True).encode()).hexdigest()[:16]
    return cache_root() / "prompt-banks" / f"{key}.npz"


def _saved_bank(versions: dict, taxonomy):
    from tagger.tagging.zeroshot import PromptBank

    path = _bank_file(versions, taxonomy)
    try:
        with np.load(path) as saved:
            return PromptBank([str(t) for t in saved["tag_ids"]], saved["vectors"].astype(np.float32))
    except (OSError, KeyError, ValueError):   # none yet, or unreadable: built again
        return None


def _save_bank(bank, versions: dict, taxonomy) -> None:
    import os

    path = _bank_file(versions, taxonomy)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.stem}.{os.getpid()}.npz")
        np.savez(staging, tag_ids=np.array(bank.tag_ids), vectors=bank.vectors)
        os.replace(staging, path)
    except OSError:   # a read-only cache only costs the next start-up the encoding
        pass


def _pick_subtitle(paths, languages, original_language, language_of):
    """The first subtitle in a preferred language, else in the original language, else the first."""
    if not paths:
        return None
    by_language = {}
    for path in paths:
        by_language.setdefault(language_of(path), path)
    for language in (*languages, original_language, None):
        if language in by_language:
            return by_language[language]
    return paths[0]


def _scene_at(ctx: TitleContext, time_s: float) -> int | None:
    if ctx.split is None:
        return None
    for scene in ctx.split.scenes:
        if scene.start_s <= time_s < scene.end_s:
            return scene.index
    return None


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
