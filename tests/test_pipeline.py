"""Pipelines are data files, validated on load with errors naming the file and field."""
import pytest

from tagger.errors import InputError
from tagger.pipeline import available_pipelines, load_pipeline


def test_shipped_pipelines_load():
    assert {"default", "clip", "fast"} <= set(available_pipelines())
    default, clip, fast = (load_pipeline(n) for n in ("default", "clip", "fast"))
    assert "clip" not in default.stages and "clip" in clip.stages
    assert fast.settings["scenes"].analysis_width < default.settings["scenes"].analysis_width
    assert fast.settings["scenes"].keyframes_per_scene < default.settings["scenes"].keyframes_per_scene
    assert default.digest != fast.digest


@pytest.mark.parametrize("text, field, line", [
    ('stages = ["probe", "scenes"]\n[scenes]\nanalysis_widht = 3\n', "analysis_widht", 3),
    ('stages = ["probe", "scenes"]\n[scenes]\nanalysis_width = "big"\n', "analysis_width", 3),
    ('stages = ["probe", "nope"]\n', "stages", 1),
    ('name = "x"\nstages = ["scenes"]\n', "stages", 2),
    ('stages = ["probe"]\n[audio]\nsample_rate_hz = 1\n', "audio", 2),
    ('stages = ["probe", "text", "tags"]\n\n[tags]\nmax_micro_genres = 2\nthreshold = 2.0\n', "threshold", 5),
])
def test_bad_pipeline_names_file_line_and_field(tmp_path, text, field, line):
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(InputError) as error:
        load_pipeline(str(path))
    assert "broken.toml" in str(error.value) and field in str(error.value)
    assert error.value.line == line, str(error.value)


def test_unknown_pipeline_name_lists_valid_ones():
    with pytest.raises(InputError, match="default"):
        load_pipeline("no-such-pipeline")


def test_describe_records_stages_and_settings():
    described = load_pipeline("default").describe()
    assert described["stages"][0] == "probe"
    assert described["settings"]["scenes"]["analysis_width"] == 320
