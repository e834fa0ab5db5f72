"""The replay / IPS simulator: estimates that match known answers, and the JSON of `tagger evaluate home`."""
from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from tagger.cli import cli
from tagger.home import replay, simulate


def test_ips_estimates_a_fixed_policys_true_click_through_rate():
    world = simulate.make_world(3, n_titles=100, n_viewers=200)
    log = simulate.log_images(world, 4, per_viewer=100)
    brightest = np.argmax(world.images[:, :, 0], axis=1)
    truth = float(np.mean(world.click_image(log["viewer"], log["title"], brightest[log["title"]])))
    estimate = replay.ips_ctr(log, brightest[log["title"]])
    standard_error = np.sqrt(truth * simulate.CANDIDATES / len(log["click"]))
    assert abs(estimate - truth) < 3 * standard_error


def test_viewers_preferences_are_hidden_but_follow_their_genres():
    world = simulate.make_world(0)
    dark_fans = world.taste[:, 0] > 0.6          # genre 0 leans darkest
    assert world.bright[dark_fans].mean() < 0 < world.bright[world.taste[:, -1] > 0.6].mean()
    assert np.corrcoef(world.look()[:, 0], world.bright)[0, 1] > 0.3    # what they watched says how they look


def test_evaluate_home_writes_the_issue_shape_and_keeps_validation_seeds_apart(tmp_path):
    out = tmp_path / "replay.json"
    result = CliRunner().invoke(cli, ["evaluate", "home", "--seeds", "0,1", "--validation-seeds", "7",
                                      "--viewers", "30", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    for name in ("personalised", "best_fixed", "random"):
        lo, hi = data["artwork"][name]["ci95"]
        assert lo <= data["artwork"][name]["ctr"] <= hi
    assert set(data["row_order"]) == {"learned", "fixed"} and "ctr" in data["row_order"]["fixed"]
    assert data["meta"]["validation_seeds"] == [7] and "| artwork: personalised |" in result.output
    clash = CliRunner().invoke(cli, ["evaluate", "home", "--seeds", "0,1", "--validation-seeds", "1"])
    assert clash.exit_code != 0 and "must differ" in clash.output
