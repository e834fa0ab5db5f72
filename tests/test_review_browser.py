"""The review app as an editor uses it: `tagger serve` in a subprocess, headless Chromium
(Debian's chromium + chromium-driver through Selenium) signing in, deciding, adding, and
seeing the decisions survive `tagger ingest --force`."""
import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest
from click.testing import CliRunner

from tagger.catalog.db import Catalog
from tagger.cli import cli
from tagger.synth import ShotSpec

from conftest import write_title

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")

PASSWORD = "editor-password"
SHOTS = [ShotSpec(2.0, (20, 30, 90), 0.2, 0.1, 1), ShotSpec(2.0, (200, 140, 40), 0.7, 0.2, 2),
         ShotSpec(2.0, (30, 30, 40), 0.1, 0.1, 3)]


@contextlib.contextmanager
def serving(db, *options: str):
    """`tagger serve` on the catalog in a child process, on a free port; yields its base URL."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "tagger", "serve", "--catalog", str(db), "--port", str(port),
                               *options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"tagger serve did not start: {server.communicate()[0]}")
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A catalog with one ingested title and one editor, served by `tagger serve` on a free port."""
    root = tmp_path_factory.mktemp("browser")
    folder = write_title(root / "night-ward", shots=SHOTS,
                         synopsis="A nurse on the night shift is stalked through a dark hospital ward.",
                         cues=[(0.5, 1.8, "Who is there?"), (2.5, 3.8, "Do not open the door.")])
    db = root / "review.db"
    runner = CliRunner()
    ingested = runner.invoke(cli, ["ingest", str(folder), "--catalog", str(db)])
    assert ingested.exit_code == 0, ingested.output
    added = runner.invoke(cli, ["editors", "add", "ed", "--password-stdin", "--catalog", str(db)],
                          input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    with serving(db) as url:
        yield {"url": url, "db": db, "folder": folder}


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="tagger-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1280,1600"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _row(driver, tag):
    return driver.find_element(By.CSS_SELECTOR, f'tr.tag[data-tag="{tag}"]')


def _wait_status(driver, tag, status):
    WebDriverWait(driver, 10).until(lambda d: f"status-{status}" in _row(d, tag).get_attribute("class"))


def _statuses_on_page(driver):
    return {r.get_attribute("data-tag"): r.find_element(By.CSS_SELECTOR, ".badge").text
            for r in driver.find_elements(By.CSS_SELECTOR, "tr.tag")}


def test_an_editor_reviews_a_title_and_the_decisions_survive_a_forced_reingest(served, browser):
    url, title_id = served["url"], "night-ward"
    with Catalog(served["db"]) as catalog:
        auto = [t["tag"] for t in catalog.title(title_id)["tags"]]
    assert len(auto) >= 2, auto
    to_accept, to_reject = auto[0], auto[1]
    to_add = next(t for t in ("hospital", "medical-drama", "romance", "western") if t not in auto)

    # Signing in: the title page sends us to the sign-in page and back.
    browser.get(f"{url}/titles/{title_id}")
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "name").send_keys("ed")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "sign-in").click()
    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith(f"/titles/{title_id}"))
    assert browser.find_element(By.ID, "title-name").text == "Night-Ward"

    # The scene strip shows keyframes the server really sends, and a scene click seeks the player.
    thumbs = browser.find_elements(By.CSS_SELECTOR, ".scene img")
    assert len(thumbs) == 3
    WebDriverWait(browser, 10).until(
        lambda d: all(d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
                      for img in thumbs))
    scenes = browser.find_elements(By.CSS_SELECTOR, "button.scene")
    scenes[2].click()
    assert "current" in scenes[2].get_attribute("class")
    assert browser.execute_script("return document.getElementById('player').currentTime") == pytest.approx(
        float(scenes[2].get_attribute("data-time")), abs=0.05)

    # A piece of evidence seeks the player to its scene or subtitle cue.
    evidence = browser.find_elements(By.CSS_SELECTOR, ".evidence-link")
    assert evidence, "no evidence with a time on the page"
    evidence[-1].click()
    assert browser.execute_script("return document.getElementById('player').currentTime") == pytest.approx(
        float(evidence[-1].get_attribute("data-time")), abs=0.05)

    # Accept with a click, reject with the keyboard, add through the taxonomy search: no reload.
    _row(browser, to_accept).find_element(By.CSS_SELECTOR, "button.accept").click()
    _wait_status(browser, to_accept, "accepted")
    _row(browser, to_reject).find_element(By.CSS_SELECTOR, ".label").click()
    browser.switch_to.active_element.send_keys("r")
    _wait_status(browser, to_reject, "rejected")
    browser.find_element(By.ID, "add-search").send_keys(to_add[:5])
    hit = WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f'#add-results button[data-tag="{to_add}"]'))
    hit.click()
    _wait_status(browser, to_add, "added")
    assert "added" in browser.find_element(By.ID, "flash").text

    expected = {to_accept: "accepted", to_reject: "rejected", to_add: "added"}

    def decided_on_page():
        statuses = _statuses_on_page(browser)
        return {tag: statuses.get(tag) for tag in expected}

    browser.refresh()
    assert decided_on_page() == expected
    assert len(browser.find_elements(By.CSS_SELECTOR, "#history li")) == 3

    # The engine runs again, forced; the editor's decisions stay.
    forced = CliRunner().invoke(cli, ["ingest", str(served["folder"]), "--catalog", str(served["db"]), "--force"])
    assert forced.exit_code == 0 and "1 ok" in forced.output, forced.output
    browser.refresh()
    assert decided_on_page() == expected
    assert [_statuses_on_page(browser)[t] for t in auto[2:]] == ["auto"] * len(auto[2:])

    # The catalog page finds the title by the added tag.
    browser.get(f"{url}/?tag={to_add}")
    assert [r.get_attribute("data-title-id") for r in browser.find_elements(By.CSS_SELECTOR, "tr.title-row")] == [
        title_id]


def test_the_queue_works_from_the_keyboard(served, browser):
    browser.get(f"{served['url']}/queue")
    if "/login" in browser.current_url:   # when run alone
        browser.find_element(By.ID, "name").send_keys("ed")
        browser.find_element(By.ID, "password").send_keys(PASSWORD)
        browser.find_element(By.ID, "sign-in").click()
        WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith("/queue"))
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.tag")
    assert rows, "the queue is empty"
    first = rows[0].get_attribute("data-tag")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("j")
    browser.switch_to.active_element.send_keys("a")
    WebDriverWait(browser, 10).until(lambda d: "status-accepted" in rows[0].get_attribute("class"))
    # The selection moved on to the next pending tag.
    if len(rows) > 1:
        assert "selected" in rows[1].get_attribute("class")
    with Catalog(served["db"]) as catalog:
        statuses = {t["tag"]: t["status"] for t in catalog.title(rows[0].get_attribute("data-title-id"))["tags"]}
    assert statuses[first] == "accepted"


def _sign_in_if_asked(driver, landing):
    if "/login" in driver.current_url:   # when run alone
        driver.find_element(By.ID, "name").send_keys("ed")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "sign-in").click()
        WebDriverWait(driver, 10).until(lambda d: landing(d.current_url))


def test_odd_title_ids_and_a_strict_content_security_policy(served, browser):
    """Ids with `/`, `..`, `?`, `#`, `%`, spaces and unicode open from the catalog page in a real
    browser (which folds dot segments) through waitress (which decodes the path), and no page
    breaks its own Content-Security-Policy."""
    from test_review import make_result, write

    # A recorder the page's CSP does not govern (DevTools injects it before any page script).
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.cspViolations = []; document.addEventListener('securitypolicyviolation',"
        " e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile));")})
    odd_ids = ["studio/../ep 1?#100%", "..", "café/ü"]
    with Catalog(served["db"]) as catalog:
        scene = catalog.title("night-ward")["scenes"][0]
        jpeg = catalog.keyframe_jpeg("night-ward", scene["index"], scene["keyframes"][0]["frame"])
        video = catalog.video_paths("night-ward")[0]
        write(catalog, *[make_result(title_id, title=f"Odd {n}", video=video, keyframe=jpeg)
                         for n, title_id in enumerate(odd_ids)])
    url = served["url"]
    browser.get(f"{url}/")
    _sign_in_if_asked(browser, lambda current: current.rstrip("/") == url)
    for n, title_id in enumerate(odd_ids):
        browser.get(f"{url}/")
        browser.find_element(By.LINK_TEXT, f"Odd {n}").click()
        WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "title-name").text == f"Odd {n}")
        assert browser.find_element(By.ID, "title-page").get_attribute("data-title-id") == title_id
        img = browser.find_element(By.CSS_SELECTOR, ".scene img")
        WebDriverWait(browser, 10).until(
            lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img))
        WebDriverWait(browser, 10).until(
            lambda d: d.execute_script("return document.getElementById('player').readyState >= 1"))
        _row(browser, "heist").find_element(By.CSS_SELECTOR, "button.accept").click()
        _wait_status(browser, "heist", "accepted")
        browser.find_element(By.ID, "add-search").send_keys("hospi")
        WebDriverWait(browser, 10).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, '#add-results button[data-tag="hospital"]'))
        assert browser.execute_script("return window.cspViolations") == [], title_id
    with Catalog(served["db"]) as catalog:
        decided = {t: {tag["tag"]: tag["status"] for tag in catalog.title(t)["tags"]}["heist"] for t in odd_ids}
    assert decided == dict.fromkeys(odd_ids, "accepted")

    # The queue's facet filter applies on change, from a script rather than an inline handler.
    browser.get(f"{url}/queue")
    facet = browser.find_element(By.CSS_SELECTOR, 'select[name="facet"] option[value="mood"]')
    facet.click()
    WebDriverWait(browser, 10).until(lambda d: "facet=mood" in d.current_url)
    assert browser.execute_script("return window.cspViolations") == []


def test_the_queue_pages_on_from_the_keyboard(served, browser):
    from tagger.review.queue import review_queue

    from test_review import PIPELINE, make_result

    with Catalog(served["db"]) as catalog:   # enough pending tags for three pages of two
        run = catalog.start_run(tagger_version="0", pipeline=PIPELINE, versions={})
        for title_id in ("paging-a", "paging-b"):
            catalog.write_title(make_result(title_id), run_id=run)
        expected = [(i["title_id"], i["tag"]) for i in review_queue(catalog, limit=None)]
    assert len(expected) >= 6, expected
    browser.get(f"{served['url']}/queue?limit=2")
    if "/login" in browser.current_url:   # when run alone
        browser.find_element(By.ID, "name").send_keys("ed")
        browser.find_element(By.ID, "password").send_keys(PASSWORD)
        browser.find_element(By.ID, "sign-in").click()
        WebDriverWait(browser, 10).until(lambda d: "/queue" in d.current_url)

    def on_page():
        return [(r.get_attribute("data-title-id"), r.get_attribute("data-tag"))
                for r in browser.find_elements(By.CSS_SELECTOR, "tr.tag")]

    assert on_page() == expected[:2] and not browser.find_elements(By.ID, "first-page")
    for _ in range(3):   # the first row, the second, then past it: the next page
        browser.switch_to.active_element.send_keys("j")
    WebDriverWait(browser, 10).until(lambda d: "cursor=" in d.current_url)
    assert on_page() == expected[2:4]
    browser.find_element(By.ID, "next-page").click()
    WebDriverWait(browser, 10).until(lambda d: on_page() == expected[4:6])
    browser.find_element(By.ID, "first-page").click()
    WebDriverWait(browser, 10).until(lambda d: on_page() == expected[:2])
