"""Scene splitting on generated video with known cuts and fades; keyframes avoid blur."""
import numpy as np
import pytest

from tagger import synth
from tagger.media.probe import probe
from tagger.scenes.keyframes import Candidate, choose
from tagger.scenes.split import SplitSettings, decode_jpeg, split_video
from tagger.synth import ShotSpec

FPS = 24.0


def _split(tmp_path, shots, **settings):
    path = synth.write_video(tmp_path / "v.mp4", synth.render_shots(shots, fps=FPS, size=(320, 180)), fps=FPS)
    info = probe(path)
    return split_video(path, fps=info.fps, rotation_deg=0, duration_s=info.duration_s,
                       settings=SplitSettings(**settings)), info


def test_hard_cut_at_frame_120(tmp_path):
    shots = [ShotSpec(5.0, (40, 40, 200), 0.5, 0.2, 1), ShotSpec(4.0, (200, 120, 30), 0.5, 0.2, 2)]
    assert synth.cut_frames(shots, fps=FPS) == [120]
    result, info = _split(tmp_path, shots)
    assert [s.start_frame for s in result.scenes] == [0, 120]
    assert result.scenes[0].end_frame == 120 and result.scenes[1].end_frame == result.frame_count
    assert result.scenes[1].start_s == pytest.approx(120 / FPS, abs=0.01)
    assert result.scenes[-1].end_s == pytest.approx(info.duration_s, abs=0.05)


def test_several_cuts_are_found_exactly(tmp_path):
    durations = [2.0, 1.5, 3.0, 1.0, 2.5]
    shots = [ShotSpec(d, c, 0.55, 0.3, i) for i, (d, c) in
             enumerate(zip(durations, [(30, 30, 220), (30, 200, 30), (200, 30, 30), (30, 200, 200), (200, 30, 200)]))]
    result, _ = _split(tmp_path, shots)
    found = [s.start_frame for s in result.scenes[1:]]
    assert found == synth.cut_frames(shots, fps=FPS)


def test_fade_to_black_between_similar_shots_is_a_boundary(tmp_path):
    # Same colour family on both sides: only the fade separates them.
    shots = [ShotSpec(4.0, (60, 90, 120), 0.4, 0.1, 1, fade_out_s=1.5),
             ShotSpec(4.0, (60, 90, 120), 0.4, 0.1, 1, fade_in_s=1.5)]
    result, _ = _split(tmp_path, shots)
    assert len(result.scenes) == 2
    fade_frame = synth.cut_frames(shots, fps=FPS)[0]
    assert abs(result.scenes[1].start_frame - fade_frame) <= 24  # within a second of the black point


def test_no_cut_inside_a_moving_shot(tmp_path):
    result, _ = _split(tmp_path, [ShotSpec(6.0, (90, 160, 60), 0.5, 0.6, 3)])
    assert len(result.scenes) == 1


def test_keyframes_are_sharp_frames_from_inside_the_scene(tmp_path):
    shots = [ShotSpec(4.0, (40, 40, 200), 0.5, 0.2, 1, fade_in_s=1.0, fade_out_s=1.0),
             ShotSpec(3.0, (200, 120, 30), 0.5, 0.2, 2)]
    result, _ = _split(tmp_path, shots, keyframes_per_scene=2)
    first = result.scenes[0]
    assert len(first.keyframes) == 2
    for keyframe in first.keyframes:
        assert 24 <= keyframe.frame < 72  # not in the fade-in or the fade-out
        image = decode_jpeg(keyframe.jpeg)
        assert image.shape == (180, 320, 3) and image.mean() > 40


def test_the_sharpest_keyframe_comes_with_a_detail_copy_only_when_asked(tmp_path):
    shots = [ShotSpec(3.0, (40, 40, 200), 0.5, 0.2, 1), ShotSpec(3.0, (200, 120, 30), 0.5, 0.2, 2)]
    path = synth.write_video(tmp_path / "v.mp4", synth.render_shots(shots, fps=FPS, size=(640, 360)), fps=FPS)
    info = probe(path)

    def split(**settings):
        return split_video(path, fps=info.fps, rotation_deg=0, duration_s=info.duration_s,
                           settings=SplitSettings(analysis_width=160, keyframes_per_scene=2, **settings))

    plain, detailed = split(), split(detail_width=480)
    assert [s.start_frame for s in plain.scenes] == [s.start_frame for s in detailed.scenes] == [0, 72]
    assert all(scene.detail_jpeg == b"" for scene in plain.scenes)
    for scene in detailed.scenes:
        keyframe = decode_jpeg(max(scene.keyframes, key=lambda k: k.sharpness).jpeg)
        detail = decode_jpeg(scene.detail_jpeg)
        assert keyframe.shape == (90, 160, 3) and detail.shape == (270, 480, 3)
        import cv2   # the same picture: the detail copy shrunk to the keyframe's size matches it
        assert np.abs(cv2.resize(detail, (160, 90), interpolation=cv2.INTER_AREA).astype(int) - keyframe).mean() < 4
    assert SplitSettings(analysis_width=320, detail_width=200).validate()[0] == "detail_width"
    assert SplitSettings(detail_width=640).validate() is None


def test_choose_prefers_sharp_frames_away_from_the_scene_edges():
    img = np.zeros((4, 4, 3), np.uint8)
    # The edges are sharp but lie where transitions are; inside, one sharp frame per half.
    candidates = [Candidate(i, i / 4, sharpness=s, brightness=0.5, image=img)
                  for i, s in enumerate([100, 100, 3, 50, 2, 1, 80, 4, 100, 100])]
    picked = choose(candidates, count=2)
    assert [c.frame for c in picked] == [3, 6]


def test_choose_skips_black_frames_unless_nothing_else_is_left():
    img = np.zeros((4, 4, 3), np.uint8)
    candidates = [Candidate(i, i / 4, sharpness=100 - i, brightness=0.01 if i < 6 else 0.5, image=img)
                  for i in range(10)]
    assert all(c.brightness >= 0.04 for c in choose(candidates, count=2))
    black = [Candidate(i, i / 4, sharpness=1, brightness=0.0, image=img) for i in range(4)]
    assert len(choose(black, count=1)) == 1

