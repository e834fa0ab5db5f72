"""The /home/USER preview as an editor sees it: `tagger serve --interactions` in a subprocess,
headless Chromium signing in and reading the rows with the keyframe images chosen."""

import pytest
from click.testing import CliRunner

from tagger.cli import cli
from tagger.catalog.db import Catalog
from test_review import make_result, write
from test_review_browser import CHROMEDRIVER, CHROMIUM, PASSWORD, browser, serving  # noqa: F401 (a fixture)

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="browser tests need chromium and chromedriver")



def _title(name: str, colour: tuple[int, int, int], brightness: float):
    """A title as ingest writes it, with two scenes and a real JPEG keyframe each (OpenCV)."""
    import cv2
    import numpy as np

    jpeg = cv2.imencode(".jpg", np.full((72, 128, 3), colour[::-1], np.uint8))[1].tobytes()
    result = make_result(name, tags=[("thriller" if brightness < 0.5 else "comedy", "genre",
                                      "Thriller" if brightness < 0.5 else "Comedy", 0.9)], keyframe=jpeg)
    result.metadata = {"synopsis": f"{name} synopsis", "year": 2020}
    for scene in result.scenes:
        scene.features = {"visual.brightness": brightness, "visual.saturation": 0.6}
    return result


@pytest.fixture(scope="module")
def served_home(tmp_path_factory):
    root = tmp_path_factory.mktemp("home")
    db = root / "home.db"
    with Catalog(db) as catalog:       # written as ingest would, without decoding video (seconds, not minutes)
        write(catalog, *(_title(name, colour, brightness) for name, colour, brightness in (
            ("night-a", (20, 30, 90), 0.15), ("night-b", (30, 30, 60), 0.12),
            ("sunny-a", (240, 200, 60), 0.8), ("sunny-b", (250, 150, 120), 0.75))))
    runner = CliRunner()
    assert runner.invoke(cli, ["editors", "add", "ed", "--password-stdin", "--catalog", str(db)],
                         input=PASSWORD + "\n").exit_code == 0
    events = root / "events.csv"
    events.write_text("user,title,kind,value,timestamp,region\nviv,night-a,completion,1.0,2024-01-01,GB\n"
                      "sam,sunny-a,completion,1.0,2024-01-02,GB\nsam,night-b,play,,2024-01-03,GB\n")
    with serving(db, "--interactions", str(events)) as url:
        yield url


def test_an_editor_previews_a_viewers_home_page_with_its_artwork(served_home, browser, tmp_path):  # noqa: F811
    browser.get(f"{served_home}/home/viv")
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "name").send_keys("ed")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "sign-in").click()
    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith("/home/viv"))
    assert browser.find_element(By.ID, "home-user").text == "Home page of viv"
    names = [h.text for h in browser.find_elements(By.CSS_SELECTOR, ".home-row .row-name")]
    assert names and all(names)
    shown = [li.get_attribute("data-title-id") for li in browser.find_elements(By.CSS_SELECTOR, ".home-item")]
    assert shown and len(shown) == len(set(shown)) and "night-a" not in shown      # once each; not what they saw
    images = browser.find_elements(By.CSS_SELECTOR, ".home-item img")
    assert images and all("/keyframes/" in img.get_attribute("src") for img in images)
    WebDriverWait(browser, 10).until(
        lambda d: all(d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
                      for img in images))
    assert all(img.get_attribute("title") for img in images)       # why this image
    browser.get(f"{served_home}/home/viv?mood=nonsense-mood")
    assert "no title in the catalog carries it" in browser.page_source
    browser.save_screenshot(str(tmp_path / "home.png"))
