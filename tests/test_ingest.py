"""`tagger ingest` end to end on the bundled sample titles and on generated ones."""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tagger.catalog.db import Catalog
from tagger.cli import cli
from tagger.synth import ShotSpec

from conftest import TWO_SHOTS as SHOTS, write_light_pipeline, write_title

SAMPLES = Path(__file__).resolve().parents[1] / "sample_media"


def _ingest(*args):
    result = CliRunner().invoke(cli, ["ingest", *map(str, args)])
    return result


@pytest.fixture(scope="module")
def sample_catalog(tmp_path_factory):
    path = tmp_path_factory.mktemp("catalog") / "samples.db"
    result = _ingest(SAMPLES, "--catalog", path)
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def samples(sample_catalog):
    with Catalog(sample_catalog) as catalog:
        return {title_id: catalog.title(title_id) for title_id in catalog.title_ids()}


def _tag_ids(data):
    return {t["tag"] for t in data["tags"]}


def test_every_sample_ingests_with_every_stage(samples):
    assert {"night-shift", "sunny-side-up", "quiet-valley"} <= set(samples)
    for data in samples.values():
        assert data["status"] == "ok"
        assert all(report["status"] == "ran" for report in data["modalities"].values()), data["modalities"]
        assert len(data["scenes"]) >= 3
        assert data["micro_genres"]
        assert {"text", "audio", "tags", "fused"} <= set(data["embeddings"])


def test_thriller_and_comedy_measure_differently(samples):
    thriller, comedy = samples["night-shift"]["features"], samples["sunny-side-up"]["features"]
    assert thriller["visual"]["brightness"] < 0.35 < comedy["visual"]["brightness"]
    assert thriller["visual"]["cuts_per_minute"] * 3 < comedy["visual"]["cuts_per_minute"]
    assert thriller["audio"]["mode"] == "minor"
    # The comedy's dialogue runs over its score almost throughout (as its subtitles do): too
    # little music alone to give a key or a tempo, which are measured on music only.
    assert comedy["audio"]["speech_share"] > 0.6 and comedy["audio"]["mode"] is None
    assert comedy["audio"]["tempo_bpm"] is None
    assert thriller["audio"]["arousal"] < comedy["audio"]["arousal"]
    assert thriller["dialogue"]["words_per_minute"] < comedy["dialogue"]["words_per_minute"]
    assert thriller["visual"]["warmth"] < comedy["visual"]["warmth"]


def test_thriller_dark_and_tense_tags_are_not_the_comedys(samples):
    thriller, comedy = _tag_ids(samples["night-shift"]), _tag_ids(samples["sunny-side-up"])
    dark_tense = {"thriller", "psychological-thriller", "tense", "suspenseful", "dark", "low-key", "minor-key"}
    assert len(thriller & dark_tense) >= 3, thriller
    assert not (comedy & dark_tense), comedy & dark_tense
    assert "comedy" in comedy and "comedy" not in thriller
    assert samples["night-shift"]["micro_genres"][0] != samples["sunny-side-up"]["micro_genres"][0]
    assert any("Thriller" in name for name in samples["night-shift"]["micro_genres"])
    assert any("Documentar" in name for name in samples["quiet-valley"]["micro_genres"])


def test_nature_piece_has_long_shots_and_few_cuts(samples):
    nature, comedy = samples["quiet-valley"]["features"]["visual"], samples["sunny-side-up"]["features"]["visual"]
    assert nature["median_shot_s"] > 4 * comedy["median_shot_s"]


def test_every_tag_carries_confidence_evidence_and_stages(samples):
    for data in samples.values():
        for tag in data["tags"] + data["scene_tags"]:
            assert 0.0 <= tag["confidence"] <= 1.0
            assert tag["status"] == "auto" and tag["evidence"] and tag["stages"]
            for evidence in tag["evidence"]:
                assert evidence["modality"] in {"text", "clip", "imagenet", "visual", "audio", "dialogue", "tags",
                                                "learned"}
        assert any(t["scene"] is not None for t in data["scene_tags"]), "no scene-level tags"
    # The samples have synopses, so the default pipeline's learned heads decide some of their tags,
    # and the run records the heads and their thresholds.
    learned = [t for data in samples.values() for t in data["tags"] if "learned" in t.get("modalities", [])]
    assert learned and all("heads" in t["stages"]["tags"] for t in learned)


def test_show_json_pins_the_public_field_names(sample_catalog):
    result = CliRunner().invoke(cli, ["show", "night-shift", "--json", "--catalog", str(sample_catalog)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"id", "title", "status", "duration_s", "scenes", "tags", "micro_genres", "features",
            "embeddings", "modalities"} <= set(data)
    assert {"index", "start_s", "end_s", "start_frame", "end_frame"} <= set(data["scenes"][0])
    assert {"tag", "facet", "label", "confidence", "status", "evidence"} <= set(data["tags"][0])
    assert {"brightness", "saturation", "colorfulness", "cuts_per_minute", "median_shot_s"} <= set(
        data["features"]["visual"])
    assert {"tempo_bpm", "loudness_db", "mode", "arousal", "valence"} <= set(data["features"]["audio"])
    assert {"words_per_minute", "lexical_diversity"} <= set(data["features"]["dialogue"])
    assert all(isinstance(dim, int) and dim > 0 for dim in data["embeddings"].values())
    assert all(r["status"] in {"ran", "skipped"} for r in data["modalities"].values())
    # The run records the exact stages, settings, models and versions behind the result.
    assert data["run"]["pipeline"] == "default" and data["run"]["settings"]["tags"]["threshold"] == 0.5
    assert data["run"]["versions"]["text"]["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert data["run"]["taxonomy"]["digest"]


def test_fused_embeddings_are_unit_length_and_line_up(sample_catalog):
    with Catalog(sample_catalog) as catalog:
        ids, vectors = catalog.embeddings("fused")
    assert len(ids) >= 3 and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert np.all(similarity[~np.eye(len(ids), dtype=bool)] < 0.999)


def test_export_writes_parquet_for_pipelines(sample_catalog, tmp_path):
    pd = pytest.importorskip("pandas")
    result = CliRunner().invoke(cli, ["export", "--out", str(tmp_path), "--catalog", str(sample_catalog)])
    assert result.exit_code == 0, result.output
    titles = pd.read_parquet(tmp_path / "titles.parquet")
    tags = pd.read_parquet(tmp_path / "tags.parquet")
    embeddings = pd.read_parquet(tmp_path / "embeddings.parquet")
    scenes = pd.read_parquet(tmp_path / "scenes.parquet")
    assert set(titles["id"]) >= {"night-shift", "sunny-side-up"}
    assert {"title_id", "tag", "facet", "confidence", "status", "scene"} <= set(tags.columns)
    assert all(len(v) == d for v, d in zip(embeddings["vector"], embeddings["dim"]))
    assert (scenes.groupby("title_id")["index"].min() == 0).all()
    # `show --json` and the export give the same, unrounded times.
    shown = json.loads(CliRunner().invoke(cli, ["show", "night-shift", "--json", "--catalog", str(sample_catalog)]).output)
    exported = scenes[scenes["title_id"] == "night-shift"].sort_values("index")
    assert [(s["start_s"], s["end_s"]) for s in shown["scenes"]] == list(zip(exported["start_s"], exported["end_s"]))


# -- runs, skips and bad input on small generated titles -----------------------------------------


def test_unchanged_title_is_skipped_and_force_reruns(tmp_path):
    folder = write_title(tmp_path / "small", shots=SHOTS, synopsis="A quiet drama about two sisters.")
    db = tmp_path / "c.db"
    assert _ingest(folder, "--catalog", db).exit_code == 0
    again = _ingest(folder, "--catalog", db)
    assert again.exit_code == 0 and "skipped" in again.output
    forced = _ingest(folder, "--catalog", db, "--force")
    assert forced.exit_code == 0 and "1 ok" in forced.output
    (folder / "title.toml").write_text('id = "small"\ntitle = "Small"\nsynopsis = "Now a comedy."\n')
    changed = _ingest(folder, "--catalog", db)
    assert "1 ok" in changed.output


def test_broken_video_fails_its_title_and_the_batch_goes_on(tmp_path):
    write_title(tmp_path / "titles" / "good", shots=SHOTS)
    bad = tmp_path / "titles" / "bad"
    bad.mkdir()
    (bad / "bad.mp4").write_bytes(b"\x00\x01 not a video" * 100)
    db = tmp_path / "c.db"
    result = _ingest(tmp_path / "titles", "--catalog", db)
    assert result.exit_code == 1
    with Catalog(db) as catalog:
        assert catalog.title("good")["status"] == "ok"
        failed = catalog.title("bad")
    assert failed["status"] == "failed" and "bad.mp4" in failed["error"]


def test_a_title_that_breaks_later_keeps_its_stored_analysis(tmp_path):
    folder = write_title(tmp_path / "t", shots=SHOTS)
    db = tmp_path / "c.db"
    assert _ingest(folder, "--catalog", db).exit_code == 0
    (folder / "t.mp4").write_bytes(b"garbage" * 50)
    assert _ingest(folder, "--catalog", db).exit_code == 1
    with Catalog(db) as catalog:
        data = catalog.title("t")
    assert data["status"] == "failed" and "t.mp4" in data["error"]
    assert len(data["scenes"]) == 2 and data["embeddings"]


def test_metadata_only_manifest_runs_text_and_skips_the_rest(tmp_path):
    manifest = tmp_path / "titles.csv"
    manifest.write_text("id,title,synopsis\n"
                        "m1,Deep Space,A crew drifts through deep space after their ship's reactor fails.\n"
                        "m2,Bad Year,A row with a bad year.\n")
    manifest.write_text(manifest.read_text() + "m3,Broken,Text,notayear\n")
    db = tmp_path / "c.db"
    result = _ingest("--manifest", manifest, "--catalog", db)
    assert result.exit_code == 1   # m3 has more values than columns
    with Catalog(db) as catalog:
        data = catalog.title("m1")
        broken = catalog.title("m3")
    assert data["status"] == "ok" and data["modalities"]["text"]["status"] == "ran"
    for stage in ("probe", "scenes", "visual", "audio"):
        assert data["modalities"][stage]["status"] == "skipped" and data["modalities"][stage]["reason"]
    assert data["tags"] and "text" in data["embeddings"]
    assert broken["status"] == "failed" and "titles.csv:4" in broken["error"]


def test_catalog_path_comes_from_the_environment(tmp_path):
    folder = write_title(tmp_path / "env", shots=SHOTS)
    db = tmp_path / "from-env.db"
    result = CliRunner(env={"TAGGER_CATALOG": str(db)}).invoke(cli, ["ingest", str(folder)])
    assert result.exit_code == 0, result.output
    with Catalog(db) as catalog:
        assert catalog.title_ids() == ["env"]


def test_usage_errors_exit_2(tmp_path):
    assert _ingest().exit_code == 2
    assert _ingest(tmp_path / "missing").exit_code == 2
    assert _ingest(tmp_path, "--pipeline", "nope").exit_code == 2


def test_video_without_audio_or_subtitles_skips_those_stages(tmp_path):
    folder = write_title(tmp_path / "silent", shots=SHOTS)
    db = tmp_path / "c.db"
    assert _ingest(folder, "--catalog", db).exit_code == 0
    with Catalog(db) as catalog:
        data = catalog.title("silent")
    assert data["modalities"]["audio"] == {"status": "skipped", "reason": "no audio stream",
                                           "seconds": data["modalities"]["audio"]["seconds"]}
    assert data["modalities"]["text"]["status"] == "skipped"
    assert data["modalities"]["visual"]["status"] == "ran"


def test_malformed_subtitle_fails_the_title_naming_file_and_line(tmp_path):
    folder = write_title(tmp_path / "subs", shots=SHOTS)
    (folder / "subs.en.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n\n2\n00:00:0x,000 -> nope\nBye\n")
    db = tmp_path / "c.db"
    assert _ingest(folder, "--catalog", db).exit_code == 1
    with Catalog(db) as catalog:
        error = catalog.title("subs")["error"]
    assert "subs.en.srt:6" in error


def test_workers_give_the_same_results_as_one_process(tmp_path):
    titles = tmp_path / "titles"
    for i, colour in enumerate([(40, 40, 200), (30, 200, 40)]):
        write_title(titles / f"w{i}", shots=[ShotSpec(2.0, colour, 0.5, 0.2, i), ShotSpec(2.0, (200, 120, 30), 0.6, 0.2, 9)],
                    synopsis="A detective hunts a killer through a rainy city.")
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    assert _ingest(titles, "--catalog", one).exit_code == 0
    result = _ingest(titles, "--catalog", two, "--workers", "2")
    assert result.exit_code == 0, result.output
    with Catalog(one) as a, Catalog(two) as b:
        for title_id in ("w0", "w1"):
            x, y = a.title(title_id), b.title(title_id)
            assert [s["start_frame"] for s in x["scenes"]] == [s["start_frame"] for s in y["scenes"]]
            assert {t["tag"]: t["confidence"] for t in x["tags"]} == {t["tag"]: t["confidence"] for t in y["tags"]}


def test_taxonomy_commands(tmp_path):
    runner = CliRunner()
    listed = runner.invoke(cli, ["taxonomy", "list", "--facet", "pacing"])
    assert listed.exit_code == 0 and "slow-burn" in listed.output and "thriller" not in listed.output
    ok = runner.invoke(cli, ["taxonomy", "validate", str(Path(__file__).parents[1] / "taxonomies" / "default.toml")])
    assert ok.exit_code == 0 and "ok" in ok.output
    broken = tmp_path / "t.toml"
    broken.write_text('[taxonomy]\nid = "t"\nversion = "1"\n[[facets]]\nid = "genre"\nlabel = "G"\n'
                      'description = "d"\n[[tags]]\nid = "x"\nfacet = "genre"\nlabel = "X"\n'
                      'description = "d"\npromts = ["a"]\n')
    bad = runner.invoke(cli, ["taxonomy", "validate", str(broken)])
    assert bad.exit_code == 1 and "t.toml" in bad.output and "x" in bad.output and "promts" in bad.output


def test_list_json_shows_every_title_with_status(sample_catalog):
    result = CliRunner().invoke(cli, ["list", "--json", "--catalog", str(sample_catalog)])
    assert result.exit_code == 0
    rows = {r["id"]: r for r in json.loads(result.output)}
    assert rows["night-shift"]["status"] == "ok" and rows["night-shift"]["scenes"] == 5
    assert rows["sunny-side-up"]["scenes"] > rows["night-shift"]["scenes"]


def test_list_picks_titles_by_status_tag_text_and_count(sample_catalog):
    def listed(*options):
        result = CliRunner().invoke(cli, ["list", "--json", "--catalog", str(sample_catalog), *options])
        assert result.exit_code == 0, result.output
        return [r["id"] for r in json.loads(result.output)]

    every = listed()
    assert listed("--status", "ok") == every and listed("--status", "failed") == []
    assert listed("--limit", "2") == every[:2]
    assert listed("--search", "night-shift") == ["night-shift"] and listed("--search", "zzz-nothing") == []
    tagged = json.loads(CliRunner().invoke(cli, ["show", "night-shift", "--json", "--catalog",
                                                 str(sample_catalog)]).output)["tags"][0]["tag"]
    assert "night-shift" in listed("--tag", tagged) and listed("--tag", "no-such-tag") == []


def test_a_custom_taxonomy_replaces_the_default(tmp_path):
    taxonomy = tmp_path / "mini.toml"
    taxonomy.write_text(
        '[taxonomy]\nid = "mini"\nversion = "1"\n'
        '[[facets]]\nid = "pacing"\nlabel = "Pacing"\ndescription = "Editing rhythm."\n'
        '[[tags]]\nid = "choppy"\nfacet = "pacing"\nlabel = "Choppy"\ndescription = "Many cuts."\n'
        'rules = [{ feature = "visual.cuts_per_minute", above = 20.0, width = 2.0 }]\n'
        '[[tags]]\nid = "calm"\nfacet = "pacing"\nlabel = "Calm"\ndescription = "Few cuts."\n'
        'rules = [{ feature = "visual.cuts_per_minute", below = 20.0, width = 2.0 }]\n')
    fast = [ShotSpec(1.0, c, 0.5, 0.2, i) for i, c in enumerate([(40, 40, 200), (200, 120, 30)] * 3)]
    folder = write_title(tmp_path / "choppy-title", shots=fast)
    db = tmp_path / "c.db"
    result = _ingest(folder, "--catalog", db, "--taxonomy", taxonomy)
    assert result.exit_code == 0, result.output
    with Catalog(db) as catalog:
        data = catalog.title("choppy-title")
    assert [t["tag"] for t in data["tags"]] == ["choppy"]
    assert data["embeddings"]["tags"] == 2 and data["run"]["taxonomy"]["id"] == "mini"


def test_an_animated_gif_is_a_title_and_its_cut_is_found(tmp_path):
    """GIFs (short loops, animated art) decode with PyAV like any video: a blue shot, then an
    orange one from frame 24 of 48 at 12 frames a second, is a silent title of two scenes."""
    import av

    folder = tmp_path / "loop"
    folder.mkdir()
    with av.open(str(folder / "loop.gif"), "w") as container:
        stream = container.add_stream("gif", rate=12)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "rgb8"
        for index in range(48):
            image = np.zeros((96, 160, 3), np.uint8)
            image[:] = (40, 40, 200) if index < 24 else (200, 120, 30)
            image[40:56, 2 * index:2 * index + 16] = 255   # a small square moving across
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    catalog_path = tmp_path / "gif.db"
    result = _ingest(folder, "--catalog", catalog_path, "--pipeline", write_light_pipeline(tmp_path))
    assert result.exit_code == 0, result.output
    with Catalog(catalog_path) as catalog:
        data = catalog.title("loop")
    assert data["status"] == "ok"
    assert [round(scene["start_s"], 2) for scene in data["scenes"]] == [0.0, 2.0]   # frame 24 of 12 a second
