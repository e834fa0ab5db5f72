"""The README's screenshot of the /home/USER preview: the sample catalog, a few events, `tagger serve`
and headless Chromium.

    python docs/make_home_screenshot.py CATALOG EVENTS OUT.png   (CATALOG: `tagger ingest sample_media`)
"""
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def main(catalog, events, out, user="ana"):
    subprocess.run([sys.executable, "-m", "tagger", "editors", "add", "shot", "--password-stdin", "--catalog",
                    catalog], input="screenshot-password\n", text=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "tagger", "serve", "--catalog", catalog, "--port", str(port),
                               "--interactions", events])
    profile = tempfile.mkdtemp()
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1000,760",
                     f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        driver.get(f"http://127.0.0.1:{port}/home/{user}")
        driver.find_element(By.ID, "name").send_keys("shot")
        driver.find_element(By.ID, "password").send_keys("screenshot-password")
        driver.find_element(By.ID, "sign-in").click()
        time.sleep(2)
        driver.save_screenshot(out)
        driver.quit()
    finally:
        server.terminate()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
