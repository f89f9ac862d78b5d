"""The web page as a person uses it: a real server on a free localhost port, driven by headless Chromium.

Needs Debian's chromium and chromium-driver (.ci/run installs them); selenium is pointed at
/usr/bin/chromedriver, so nothing is downloaded at run time.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
import urllib.request

import pytest
import uvicorn

from samestory.serve import create_app

from conftest import EXAMPLES

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    app = create_app(tmp_path_factory.mktemp("web") / "store")
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/api/health", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    for path in sorted(EXAMPLES.glob("*.txt")):
        req = urllib.request.Request(base + f"/api/articles?filename={path.name}", data=path.read_bytes(),
                                     headers={"Content-Type": "text/plain"}, method="POST")
        assert urllib.request.urlopen(req, timeout=120).status == 200
    yield base
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1600"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait_ready(driver, timeout=60):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: d.execute_script("return document.body.dataset.ready === '1'"))


def test_list_story_and_side_by_side(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    _wait_ready(browser)
    items = browser.find_elements(By.CSS_SELECTOR, "li.story-item a")
    assert len(items) == 1, browser.page_source[:2000]
    browser.save_screenshot(str(tmp_path / "list.png"))

    # search box
    browser.find_element(By.ID, "q").send_keys("Biegun")
    browser.find_element(By.CSS_SELECTOR, "#search button").click()
    _wait_ready(browser)
    assert len(browser.find_elements(By.CSS_SELECTOR, "li.story-item a")) == 1
    browser.find_element(By.ID, "q").clear()
    browser.find_element(By.ID, "q").send_keys("zebra crossing unicorn")
    browser.find_element(By.CSS_SELECTOR, "#search button").click()
    _wait_ready(browser)
    assert not browser.find_elements(By.CSS_SELECTOR, "li.story-item a")

    # the story page
    browser.get(server + "/")
    _wait_ready(browser)
    browser.find_element(By.CSS_SELECTOR, "li.story-item a").click()
    _wait_ready(browser)
    summary = browser.find_elements(By.CSS_SELECTOR, "#summary li")
    assert len(summary) == 3 and all(li.text.strip() for li in summary)
    adds = browser.find_element(By.ID, "adds").text
    assert "full range" in adds and "state department" in adds
    assert len(browser.find_elements(By.CSS_SELECTOR, "#timeline tr")) == 3
    browser.save_screenshot(str(tmp_path / "story.png"))

    # side by side, shared passages highlighted
    browser.find_element(By.CSS_SELECTOR, "a.compare-link").click()
    _wait_ready(browser)
    marks = [m.text for m in browser.find_elements(By.CSS_SELECTOR, "#article-a mark.shared")]
    assert int(browser.find_element(By.ID, "passage-count").text) == len(marks) >= 2
    assert any("long-range missile testing suspended since 2017" in m for m in marks)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#article-b mark.shared")) == len(marks)
    assert "Same story" in browser.find_element(By.ID, "verdict").text
    browser.save_screenshot(str(tmp_path / "compare.png"))
    assert (tmp_path / "story.png").stat().st_size > 10_000
