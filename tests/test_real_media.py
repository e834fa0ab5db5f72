"""The real clips in ../shared/media ingest as a user would expect (skipped where absent)."""
import shutil

import pytest
from click.testing import CliRunner

from tagger.catalog.db import Catalog
from tagger.cli import cli


@pytest.fixture(scope="module")
def real_catalog(tmp_path_factory):
    from conftest import SHARED_MEDIA

    if not SHARED_MEDIA.is_dir():
        pytest.skip(f"real media folder {SHARED_MEDIA} is absent")
    root = tmp_path_factory.mktemp("real")
    layout = {"bunny": ["big_buck_bunny_0_30.webm"],
              "popeye": ["mkv_vob_Title_T00-1.mkv", "srt_popeye_p3.eng.srt"],
              "friday": ["friday.mp4", "friday.vtt"],
              "flower": ["flower.mp4"]}
    for title, files in layout.items():
        (root / title).mkdir()
        for name in files:
            shutil.copy(SHARED_MEDIA / name, root / title / name)
    db = root / "real.db"
    result = CliRunner().invoke(cli, ["ingest", str(root), "--catalog", str(db)])
    assert result.exit_code == 0, result.output
    with Catalog(db) as catalog:
        return {t: catalog.title(t) for t in catalog.title_ids()}


def test_webm_vp8_vorbis_has_shots_and_sound(real_catalog):
    bunny = real_catalog["bunny"]
    assert bunny["media"]["video_codec"] == "vp8" and bunny["media"]["audio_codec"] == "vorbis"
    assert abs(bunny["duration_s"] - 30.0) < 0.5
    assert len(bunny["scenes"]) >= 4
    assert bunny["modalities"]["audio"]["status"] == "ran"
    assert bunny["modalities"]["text"]["status"] == "skipped"


def test_hevc_mkv_without_audio_uses_its_separate_srt(real_catalog):
    popeye = real_catalog["popeye"]
    assert popeye["media"]["video_codec"] == "hevc" and not popeye["media"]["has_audio"]
    assert popeye["modalities"]["audio"] == {**popeye["modalities"]["audio"], "status": "skipped",
                                             "reason": "no audio stream"}
    assert popeye["modalities"]["text"]["status"] == "ran"
    assert popeye["features"]["dialogue"]["cue_count"] == 15
    assert len(popeye["scenes"]) >= 10   # a cartoon with many cuts
    assert any(a["kind"] == "subtitle" and a["language"] == "en" for a in popeye["assets"])


def test_mp4_with_vtt_finds_dialogue_and_faces(real_catalog):
    friday = real_catalog["friday"]
    assert friday["features"]["dialogue"]["cue_count"] == 5
    assert friday["features"]["dialogue"]["words_per_minute"] > 100
    assert friday["features"]["visual"]["face_share"] > 0
    assert friday["features"]["audio"]["speech_share"] > friday["features"]["audio"]["music_share"]


def test_flower_close_up_has_no_faces_and_no_sound(real_catalog):
    flower = real_catalog["flower"]
    assert flower["features"]["visual"]["face_share"] == 0
    assert flower["features"]["audio"]["silence_share"] > 0.9


def test_every_real_video_gets_a_visual_embedding_and_people_where_there_are_some(real_catalog):
    for title in real_catalog.values():
        assert title["embeddings"]["visual"] == 1280, title["id"]       # EfficientNet-Lite0, no download
        assert title["modalities"]["imagenet"]["status"] == "ran"
    assert real_catalog["friday"]["features"]["visual"]["people_share"] == 1.0
    assert real_catalog["flower"]["features"]["visual"]["people_share"] == 0.0
    # The bird on its branch (15.7-23 s) is an animal to ImageNet: a scene tag, with the class.
    bird = [t for t in real_catalog["bunny"]["scene_tags"] if t["tag"] == "animals"]
    assert bird and all(15 < e["start_s"] < 23 for t in bird for e in t["evidence"] if e["modality"] == "imagenet")
    assert all(e.get("value") for t in bird for e in t["evidence"] if e["modality"] == "imagenet")

