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
        return {"model": self.encoder.model_id, "library": self.encoder.version}

    def spaces(self) -> dict[str, int]:
        return {"text": self.encoder.dimension}

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
    """Prompt embeddings, once per process for each model and taxonomy."""
    from tagger.tagging.zeroshot import build_bank

    key = (encoder.model_id, taxonomy.digest)
    if key not in _BANKS:
        _BANKS[key] = build_bank(taxonomy.tags, lambda t: t.prompts, encoder.encode)
    return _BANKS[key]


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
