from __future__ import annotations

from dataclasses import dataclass

from tagger.errors import StageSkipped
from tagger.stages.base import Stage, TitleContext


class VisualStage(Stage):
    """OpenCV descriptors per scene and title: light, colour, palette, motion, faces, people, pacing.

    People are faces, person boxes (YOLOv4-tiny on the scene's detail copy), and (where the
    imagenet stage ran before this one) worn ImageNet classes and the people head: the
    pipelines list "imagenet" before "visual" for that."""
    name = "visual"
    needs = ("scenes",)

    @dataclass
    class Settings:
        palette_colors: int = 5
        face_keyframes_per_scene: int = 1   # the sharpest ones, for faces (~85 ms) and person boxes (~70 ms)

        def validate(self):
            if self.face_keyframes_per_scene < 0:
                return "face_keyframes_per_scene", "must be 0 or more"
            return None

    def versions(self) -> dict[str, str]:
        import cv2

        versions = {"opencv": cv2.__version__}
        if self.settings.face_keyframes_per_scene > 0:
            from tagger.vision.faces import CASCADE_FILES, shot_scale_version
            from tagger.vision.people import (ANIMAL_MIN_SCORE, CLOTHING_MIN_SCORE, PEOPLE_HEAD_CELLS,
                                              PEOPLE_HEAD_HEIGHT_PX, PEOPLE_HEAD_MIN_LOGIT)
            from tagger.vision.people_head import people_head_version
            from tagger.vision.persons import person_detector_version

            versions["faces"] = "+".join(CASCADE_FILES)
            versions["people"] = (person_detector_version() + f"+worn-classes>={CLOTHING_MIN_SCORE}"
                                  f"+{people_head_version()}@{PEOPLE_HEAD_HEIGHT_PX}px"
                                  f":{PEOPLE_HEAD_CELLS}cells>={PEOPLE_HEAD_MIN_LOGIT}"
                                  f"+no-head-on-animals>={ANIMAL_MIN_SCORE}")
            versions["shot_scale"] = shot_scale_version()
        return versions

    def run(self, ctx: TitleContext) -> None:
        if ctx.split is None or not ctx.split.scenes:
            raise StageSkipped("no scenes (no video stream)")
        from tagger.scenes.split import decode_jpeg
        from tagger.vision.descriptors import combine_scenes, describe_scene
        from tagger.vision.pacing import pacing

        scene_dicts, durations = [], []
        # Empty where the imagenet stage did not run first.
        clothing = ctx.scene_clothing_scores or [0.0] * len(ctx.split.scenes)
        heads = ctx.scene_people_head_scores or [None] * len(ctx.split.scenes)
        for scene, features, clothing_score, head_score in zip(ctx.split.scenes, ctx.scene_features,
                                                               clothing, heads):
            sharpest_first = sorted((k for k in scene.keyframes if k.jpeg), key=lambda k: -k.sharpness)
            keyframes = [decode_jpeg(k.jpeg) for k in sharpest_first]
            # The detail copy is of the sharpest keyframe: the person detector looks there.
            detail = decode_jpeg(scene.detail_jpeg) if scene.detail_jpeg and self.settings.face_keyframes_per_scene else None
            described = describe_scene(scene.frame_stats, scene.motions, keyframes,
                                       palette_colors=self.settings.palette_colors,
                                       face_keyframes=self.settings.face_keyframes_per_scene,
                                       clothing_score=clothing_score, head_score=head_score,
                                       first_detail_bgr=detail)
            scene_dicts.append(described)
            durations.append(max(scene.end_s - scene.start_s, 1e-3))
            features.update({f"visual.{k}": v for k, v in described.items()})
        title = combine_scenes(scene_dicts, durations, palette_colors=self.settings.palette_colors)
        title.update(pacing(durations))
        ctx.features.update({f"visual.{k}": v for k, v in title.items()})
