"""The web page as a person uses it: a real server on a free localhost port, driven by headless Chromium.

Needs Debian's chromium and chromium-driver (.ci/run installs them); selenium is pointed at
/usr/bin/chromedriver, so nothing is downloaded at run time.
"""

from __future__ import annotations

import shutil
import time
import urllib.request

import pytest

from samestory.serve import create_app

from conftest import EXAMPLES, serve_in_thread

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _serve(store):
    """A uvicorn server over ``store`` on a free localhost port, in a thread: (base url, server, thread)."""
    return serve_in_thread(create_app(store))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base, srv, thread = _serve(tmp_path_factory.mktemp("web") / "store")
    for path in sorted(EXAMPLES.glob("*.txt")):
        req = urllib.request.Request(base + f"/api/articles?filename={path.name}", data=path.read_bytes(),
                                     headers={"Content-Type": "text/plain"}, method="POST")
        assert urllib.request.urlopen(req, timeout=120).status == 200
    yield base
    srv.should_exit = True
    thread.join(timeout=10)


XSS = "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>"


@pytest.fixture(scope="module")
def xss_server(tmp_path_factory):
    """A store whose only story is two articles with script and markup in every field, stored uncleaned."""
    import json

    base, srv, thread = _serve(tmp_path_factory.mktemp("xss") / "store")
    text = ("The harbour authority of Exampleton closed the north pier on Monday after a crane collapsed onto a cargo ship. "
            f"{XSS} No one was hurt, a spokeswoman said, and the pier should reopen within a week. Investigators from the "
            "port police and the crane's maker were on the pier on Tuesday, the authority said.")
    recs = [{"id": f"xss-{i}", "title": f"{XSS} pier closed {i}", "text": text, "source": f"{XSS}{i}", "byline": XSS,
             "date": f"2024-05-0{i + 1}", "lang": "en", "url": "javascript:window.__xss=3"} for i in range(2)]
    req = urllib.request.Request(base + "/api/articles?clean=false", data=json.dumps(recs).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=120) as r:
        rows = json.load(r)["articles"]
    assert len(rows) == 2 and rows[0]["story"] == rows[1]["story"]
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


def _click_and_wait(driver, element, timeout=60):
    """Click, then wait for the page the click routes to. The ready flag is cleared first: the page's
    hashchange handler clears it too, but only once the event fires, after the click has returned."""
    driver.execute_script("document.body.dataset.ready = ''")
    element.click()
    _wait_ready(driver, timeout)


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
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#search button"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "li.story-item a")) == 1
    browser.find_element(By.ID, "q").clear()
    browser.find_element(By.ID, "q").send_keys("zebra crossing unicorn")
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#search button"))
    assert not browser.find_elements(By.CSS_SELECTOR, "li.story-item a")

    # the story page
    browser.get(server + "/")
    _wait_ready(browser)
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "li.story-item a"))
    summary = browser.find_elements(By.CSS_SELECTOR, "#summary li")
    assert len(summary) == 3 and all(li.text.strip() for li in summary)
    adds = browser.find_element(By.ID, "adds").text
    assert "full range" in adds and "state department" in adds
    assert len(browser.find_elements(By.CSS_SELECTOR, "#timeline tr")) == 3
    browser.save_screenshot(str(tmp_path / "story.png"))

    # side by side, shared passages highlighted
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "a.compare-link"))
    marks = [m.text for m in browser.find_elements(By.CSS_SELECTOR, "#article-a mark.shared")]
    assert int(browser.find_element(By.ID, "passage-count").text) == len(marks) >= 2
    assert any("long-range missile testing suspended since 2017" in m for m in marks)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#article-b mark.shared")) == len(marks)
    assert "Same story" in browser.find_element(By.ID, "verdict").text
    browser.save_screenshot(str(tmp_path / "compare.png"))
    assert (tmp_path / "story.png").stat().st_size > 10_000


def test_script_in_article_fields_never_runs(xss_server, browser):
    """Stored XSS: markup in title, text, source, byline and a javascript: url is shown as text on every page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def wait_for(css):  # the page after a click: wait for its own element, not just the ready flag of the last one
        WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))
        _wait_ready(browser)
        time.sleep(0.2)  # give an injected onerror a chance to fire

    browser.get(xss_server + "/")
    wait_for("li.story-item a")
    assert browser.execute_script("return window.__xss") is None
    link = browser.find_element(By.CSS_SELECTOR, "li.story-item a")
    assert "<script>" in link.text

    link.click()
    wait_for("#headline")
    assert browser.execute_script("return window.__xss") is None
    assert "<script>" in browser.find_element(By.ID, "headline").text
    hrefs = [a.get_attribute("href") or "" for a in browser.find_elements(By.CSS_SELECTOR, "#main a")]
    assert hrefs and not any(h.lower().startswith(("javascript:", "data:")) for h in hrefs), hrefs
    assert not browser.find_elements(By.CSS_SELECTOR, "#main script, #main img")

    browser.find_element(By.CSS_SELECTOR, "a.compare-link").click()
    wait_for("#article-a")
    assert browser.execute_script("return window.__xss") is None
    assert XSS in browser.find_element(By.ID, "article-a").text
    assert not browser.find_elements(By.CSS_SELECTOR, "#main script, #main img")
    browser.find_element(By.ID, "back").click()  # the back link works without a javascript: url
    wait_for("#headline")
