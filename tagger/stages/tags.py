from __future__ import annotations

from dataclasses import dataclass, field

from tagger.catalog.records import TagRecord
from tagger.stages.base import Evidence, Stage, TitleContext

GENRE_FACETS = ("genre", "subgenre")   # the facets a support-only modality cannot decide alone


class TagsStage(Stage):
    """Fuses the modalities' scores into title and scene tags, then names micro-genres.

    A tag's confidence is the weighted mean of the modalities that scored it: zero-shot text,
    CLIP, ImageNet classes and feature rules (visual, audio, dialogue). Modalities that did not
    run do not count for or against it. A fired child tag lifts its parent to at least 0.9 of
    its confidence. A genre or sub-genre never fires on a `support_only` modality alone: its
    evidence counts only where the other modalities reach the threshold, and only to raise.
    """
    name = "tags"

    @dataclass
    class Settings:
        threshold: float = 0.5
        scene_threshold: float = 0.6
        weights: dict[str, float] = field(default_factory=lambda: {
            "text": 1.0, "clip": 1.0, "imagenet": 1.0, "visual": 1.0, "audio": 1.0, "dialogue": 1.0})
        max_micro_genres: int = 3
        support_only: tuple[str, ...] = ("imagenet",)   # never the only support for a genre

        def validate(self):
            if not 0 < self.threshold < 1:
                return "threshold", "must be between 0 and 1"
            if not 0 < self.scene_threshold < 1:
                return "scene_threshold", "must be between 0 and 1"
            return None

    def versions(self) -> dict[str, str]:
        return {"taxonomy": f"{self.taxonomy.id}@{self.taxonomy.version}", "digest": self.taxonomy.digest[:12]}

    def run(self, ctx: TitleContext) -> None:
        from tagger.tagging.microgenre import micro_genres

        title_tags = self._fuse(ctx.features, ctx.scores, scene=None, threshold=self.settings.threshold)
        title_tags = self._lift_parents(title_tags)
        fired = self._cap_per_facet([t for t in title_tags.values() if t.confidence >= self.settings.threshold])
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

    def _lift_parents(self, tags: dict[str, TagRecord]) -> dict[str, TagRecord]:
        threshold = self.settings.threshold
        for tag_id in list(tags):
            child = tags[tag_id]
            parent_id = self.taxonomy.tag(tag_id).parent
            while child.confidence >= threshold and parent_id:
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
