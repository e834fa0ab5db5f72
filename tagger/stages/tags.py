from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tagger.catalog.records import TagRecord
from tagger.stages.base import Evidence, Stage, TitleContext

GENRE_FACETS = ("genre", "subgenre")   # the facets a support-only modality cannot decide alone
NO_HEADS = "none"   # [tags] model: zero-shot and rules only

log = logging.getLogger(__name__)


class TagsStage(Stage):
    """Fuses the modalities' scores into title and scene tags, then names micro-genres.

    With learned heads (`model`), a title with a synopsis gets each headed tag's calibrated
    probability as its confidence (modality `learned`), fired at that tag's own threshold
    chosen on validation data; the other modalities' evidence for it is kept beside it but
    does not move the number (the shipped heads learned from text only). Every other tag, and
    every tag of a title without a synopsis, is fused as before: a tag's confidence is the
    weighted mean of the modalities that scored it: zero-shot text, CLIP, ImageNet classes and
    feature rules (visual, audio, dialogue); its evidence says why no head decided it, and it
    does not fire where the head of one of its ancestors says no.
    Modalities that did not run do not count for or against it. A fired child tag lifts its
    parent to at least 0.9 of its confidence. A genre or sub-genre never fires on a
    `support_only` modality alone: its evidence counts only where the other modalities reach
    the threshold, and only to raise.
    """
    name = "tags"
    heads = None   # TagHeads once set up with a `model`

    @dataclass
    class Settings:
        model: str = "none"         # learned heads: a shipped name ("default") or a folder; "none": none
        threshold: float = 0.5
        scene_threshold: float = 0.6
        weights: dict[str, float] = field(default_factory=lambda: {
            "text": 1.0, "clip": 1.0, "imagenet": 1.0, "visual": 1.0, "audio": 1.0, "dialogue": 1.0})
        max_micro_genres: int = 3
        support_only: tuple[str, ...] = ("imagenet",)   # never the only support for a genre

        def validate(self):
            if self.model != NO_HEADS:
                from tagger.errors import InputError
                from tagger.learn.heads import resolve_heads

                try:
                    resolve_heads(self.model)
                except InputError as error:
                    return "model", error.reason
            if not 0 < self.threshold < 1:
                return "threshold", "must be between 0 and 1"
            if not 0 < self.scene_threshold < 1:
                return "scene_threshold", "must be between 0 and 1"
            return None

    def setup(self) -> None:
        self.heads = None
        if self._heads_meta() is not None:
            from tagger.learn.heads import TagHeads, resolve_heads

            self.heads = TagHeads.load(resolve_heads(self.settings.model), taxonomy=self.taxonomy)
            self._heads_version = self.heads.version   # a digest of every array: once, not per tag
            self._checked_encoder: str | None = None

    def _heads_meta(self) -> dict | None:
        """heads.json of the pipeline's heads, read once (cheap: no arrays); None without heads.

        Shipped heads trained for other tags or prompts (a pipeline run with --taxonomy) are left
        out with one warning, and tags come from zero-shot and rules; heads in a folder the user
        named must match, and a mismatch is an error when they load. Edits to rules, labels or
        descriptions keep the heads (learn/heads.py trained_for)."""
        if self.settings.model == NO_HEADS:
            return None
        if not hasattr(self, "_meta"):
            from tagger.learn.heads import is_shipped, read_meta, resolve_heads, trained_for

            self._meta = read_meta(resolve_heads(self.settings.model))
            recorded = self._meta["taxonomy"]
            if is_shipped(self.settings.model) and not trained_for(self._meta, self.taxonomy):
                log.warning("tag heads %r were trained for taxonomy %r (digest %s), not %r (digest %s), whose "
                            "tags or prompts differ: its tags come from zero-shot and rules; tagger train tags "
                            "makes heads for it", self.settings.model, recorded["id"], recorded["digest"][:12],
                            self.taxonomy.id, self.taxonomy.digest[:12])
                self._meta = None
        return self._meta

    def versions(self) -> dict[str, str]:
        versions = {"taxonomy": f"{self.taxonomy.id}@{self.taxonomy.version}", "digest": self.taxonomy.digest[:12]}
        meta = self._heads_meta()
        if meta is not None:
            versions["heads"] = f"{self.settings.model}@{meta['version']}"
        return versions

    def details(self) -> dict:
        meta = self._heads_meta()
        if meta is None:
            return {}
        trained = (meta.get("record", {}).get("validation") or {}).get("tags") or {}
        return {"heads": {"model": self.settings.model, "version": meta["version"],
                          "thresholds": meta["thresholds"],
                          "positives": {tag: trained[tag]["positives"] for tag in meta["tag_ids"]
                                        if "positives" in trained.get(tag, {})}}}

    def run(self, ctx: TitleContext) -> None:
        from tagger.tagging.microgenre import micro_genres

        threshold = self.settings.threshold
        title_tags = self._fuse(ctx.features, ctx.scores, scene=None, threshold=threshold)
        learned = self._learned(ctx)
        limits = {tag_id: self.heads.threshold(tag_id) for tag_id in learned}
        for tag_id, (probability, fired) in learned.items():
            if fired:
                title_tags[tag_id] = self._learned_tag(tag_id, probability, title_tags.get(tag_id))
            else:   # the head says no; only a fired child can still lift it (_lift_parents)
                title_tags.pop(tag_id, None)
        if self.heads is not None:
            title_tags = self._heeding_learned_parents(title_tags, learned, limits)
        title_tags = self._lift_parents(title_tags, limits)
        fired = self._cap_per_facet([t for t in title_tags.values()
                                     if t.confidence >= limits.get(t.tag, threshold)])
        if self.heads is not None:
            self._say_why_not_learned({t.tag: t for t in fired}, learned)
        scene_tags = []
        if ctx.split is not None:
            for scene, features in zip(ctx.split.scenes, ctx.scene_features):
                scores_here = {modality: {tag_id: [e for e in evs if e.scene == scene.index]
                                          for tag_id, evs in by_tag.items()}
                               for modality, by_tag in ctx.scene_scores.items()}
                # A scene has visual and audio features only, so dialogue rules stay silent here.
                found = self._fuse(features, scores_here, scene=scene, threshold=self.settings.scene_threshold)
                scene_tags += [t for t in found.values() if t.confidence >= self.settings.scene_threshold]
        ctx.tags = sorted(fired, key=lambda t: -t.confidence) + scene_tags
        scored = [(self.taxonomy.tag(t.tag), t.confidence) for t in fired]
        ctx.micro_genres = micro_genres(scored, self.taxonomy.grammar, max_names=self.settings.max_micro_genres)

    def _learned(self, ctx: TitleContext) -> dict[str, tuple[float, bool]]:
        """{tag: (calibrated probability, fired)} from the heads; {} without heads or synopsis."""
        if self.heads is None or "text" not in ctx.vectors:
            return {}
        from tagger.learn.features import TitleInputs

        self._check_encoder(ctx.vectors["text"][0])
        inputs = TitleInputs(synopsis=(ctx.title.synopsis or "").strip() or None,
                             synopsis_vector=ctx.synopsis_vector, dialogue_vector=ctx.dialogue_vector,
                             features=ctx.features)
        return self.heads.predict_title(inputs, ctx.synopsis_zeroshot)

    def _check_encoder(self, model_id: str) -> None:
        """The heads read vectors of one sentence model: another is an error naming both. The
        ONNX backends run the same model (`...@onnx`), so they count as it."""
        if model_id == self._checked_encoder:
            return
        from tagger.errors import InputError
        from tagger.learn.heads import META, resolve_heads

        trained_on = self.heads.layout.encoder_id
        if model_id.split("@")[0] != trained_on.split("@")[0]:
            raise InputError(resolve_heads(self.settings.model) / META,
                             f"tag heads {self.settings.model!r} read embeddings of {trained_on!r}, but the "
                             f"pipeline's text model is {model_id!r}; use that model, train heads for this "
                             "one (tagger train tags) or set [tags] model = \"none\"", field="encoder_id")
        self._checked_encoder = model_id

    def _learned_tag(self, tag_id: str, probability: float, fused: TagRecord | None) -> TagRecord:
        """A headed tag: the heads' probability, then the other modalities' evidence beside it."""
        evidence = [Evidence("learned", round(probability, 4), "heads", value=self._heads_version).to_dict()]
        others = []
        if fused is not None:
            evidence += fused.evidence
            others = fused.modalities
        return self._tag(tag_id, round(probability, 4), modalities={"learned", *others}, evidence=evidence)

    def _heeding_learned_parents(self, tags: dict[str, TagRecord], learned: dict,
                                 limits: dict[str, float]) -> dict[str, TagRecord]:
        """Drops a tag no head decided when the head of one of its ancestors says no: a
        true-crime zero-shot score cannot stand where the documentary head said "not a
        documentary" (the zero-shot prior of rare tags fired on famous dramas)."""
        kept = {}
        for tag_id, tag in tags.items():
            ancestor = self.taxonomy.tag(tag_id).parent
            vetoed = False
            while tag_id not in learned and ancestor and not vetoed:
                vetoed = ancestor in learned and learned[ancestor][0] < limits[ancestor]
                ancestor = self.taxonomy.tag(ancestor).parent
            if not vetoed:
                kept[tag_id] = tag
        return kept

    def _say_why_not_learned(self, tags: dict[str, TagRecord], learned: dict) -> None:
        """Fused tags that no head decided say why, for an editor reading the evidence."""
        for tag_id, tag in tags.items():
            if tag_id in learned:
                continue
            reason = self.heads.fallback.get(tag_id) or \
                ("no synopsis for the heads to read" if tag_id in self.heads.tag_ids else "no head for this tag")
            tag.evidence.append(Evidence("tags", 0.0, "fallback", value=reason).to_dict())

    def _tag(self, tag_id: str, confidence: float, *, scene=None, modalities=(), evidence=()) -> TagRecord:
        """The one builder of the stage's tags: the taxonomy gives facet and label."""
        tag = self.taxonomy.tag(tag_id)
        return TagRecord(tag=tag.id, facet=tag.facet, label=tag.label, confidence=confidence,
                         scene=scene.index if scene is not None else None, modalities=sorted(modalities),
                         evidence=list(evidence))

    def _fuse(self, features: dict, scores: dict, *, scene, threshold: float) -> dict[str, TagRecord]:
        out = {}
        for tag in self.taxonomy.tags:
            parts: list[tuple[str, float, list[Evidence]]] = []
            for modality, by_tag in scores.items():
                evidence = by_tag.get(tag.id)
                if evidence:
                    parts.append((modality, max(e.score for e in evidence), evidence))
            rule_score = tag.rule_confidence(features) if tag.rules else None
            if rule_score is not None:
                evidence = [Evidence(r.feature.split(".")[0], float(r.confidence(features)), "feature",
                                     scene=scene.index if scene else None,
                                     start_s=scene.start_s if scene else None,
                                     end_s=scene.end_s if scene else None,
                                     feature=r.feature, value=_plain(features.get(r.feature)))
                            for r in tag.rules]
                parts.append((tag.rules[0].feature.split(".")[0], rule_score, evidence))
            if tag.facet in GENRE_FACETS:
                parts, confidence = self._genre_support(parts, threshold)
            else:
                confidence = self._mean(parts)
            if not parts or confidence is None:
                continue
            out[tag.id] = self._tag(tag.id, round(float(confidence), 4), scene=scene,
                                    modalities={m for m, _, _ in parts},
                                    evidence=[e.to_dict() for _, _, evs in parts for e in _strongest(evs)])
        return out

    def _mean(self, parts) -> float | None:
        """The weighted mean of (modality, score, evidence) parts; None when nothing weighs."""
        weights = self.settings.weights
        total = sum(weights.get(m, 1.0) for m, _, _ in parts)
        return sum(weights.get(m, 1.0) * s for m, s, _ in parts) / total if total > 0 else None

    def _genre_support(self, parts, threshold: float):
        """(parts, confidence) of a genre: support-only modalities count where the others reach
        the threshold, and only when they raise the confidence."""
        rest = [p for p in parts if p[0] not in self.settings.support_only]
        rest_confidence = self._mean(rest) if rest else None
        if len(rest) == len(parts) or rest_confidence is None or rest_confidence < threshold:
            return rest, rest_confidence
        with_support = self._mean(parts)
        return (parts, with_support) if with_support is not None and with_support > rest_confidence \
            else (rest, rest_confidence)

    def _lift_parents(self, tags: dict[str, TagRecord], limits: dict[str, float]) -> dict[str, TagRecord]:
        """`limits`: the learned tags' own firing thresholds; the others fire at the stage's."""
        threshold = self.settings.threshold
        for tag_id in list(tags):
            child = tags[tag_id]
            parent_id = self.taxonomy.tag(tag_id).parent
            while child.confidence >= limits.get(child.tag, threshold) and parent_id:
                lifted = round(0.9 * child.confidence, 4)
                parent = tags.setdefault(parent_id, self._tag(parent_id, 0.0))
                if lifted > parent.confidence:
                    parent.confidence = lifted
                    parent.modalities = sorted(set(parent.modalities) | set(child.modalities))
                    parent.evidence.append(Evidence("tags", lifted, "child", value=child.tag).to_dict())
                child, parent_id = parent, self.taxonomy.tag(parent_id).parent
        return tags

    def _cap_per_facet(self, tags: list[TagRecord]) -> list[TagRecord]:
        kept, counts = [], {}
        for tag in sorted(tags, key=lambda t: -t.confidence):
            limit = self.taxonomy.facet(tag.facet).max_tags
            if limit is not None and counts.get(tag.facet, 0) >= limit:
                continue
            counts[tag.facet] = counts.get(tag.facet, 0) + 1
            kept.append(tag)
        return kept


def _strongest(evidence: list[Evidence]) -> list[Evidence]:
    """A rule's conditions in the taxonomy's order (the first is the tag's main measure);
    otherwise the three strongest pieces."""
    if evidence and evidence[0].source == "feature":
        return evidence
    return sorted(evidence, key=lambda e: -e.score)[:3]


def _plain(value):
    if isinstance(value, float):
        return round(value, 4)
    return value


def without_heads(pipeline):
    """The pipeline with its tags stage on zero-shot and rules only: for measuring against the
    labels the shipped heads learned from (tagger evaluate tags and coldstart)."""
    import dataclasses

    if "tags" not in pipeline.settings:
        return pipeline
    tags = dataclasses.replace(pipeline.settings["tags"], model=NO_HEADS)
    return dataclasses.replace(pipeline, settings={**pipeline.settings, "tags": tags})
