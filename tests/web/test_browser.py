"""The web application in a real browser (headless Chromium through Selenium) against uvicorn on loopback: sign in,
find the failed room, open its run, sign it with the password and see the signature; a wrong password and a
viewer's forged form are refused. Screenshots of the main pages are kept as test artifacts."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from .fixtures import PASSWORDS, copy_demo_store

pytest.importorskip("selenium")


@pytest.fixture(scope="module")
def demo(demo_template, tmp_path_factory):
    return copy_demo_store(demo_template, tmp_path_factory.mktemp("web-browser"))


@pytest.fixture(scope="module")
def server(demo):
    """The application under uvicorn in a thread, on a port of 127.0.0.1 the system picks; its base URL."""
    import uvicorn

    from xcal.web import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(demo.site, demo.db), log_level="warning", lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the web server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    running.should_exit = True
    thread.join(10)
    sock.close()


def _sign_in(browser, server, username):
    from selenium.webdriver.common.by import By

    browser.get(f"{server}/login")     # leave the last page first: a plot still loading could set its cookie again
    browser.delete_all_cookies()
    browser.get(f"{server}/login")
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(PASSWORDS[username])
    browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    _wait_for(browser, By.CSS_SELECTOR, "form[action='/logout']")


def _wait_for(browser, by, what):
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, 20, poll_frequency=0.05).until(ec.presence_of_element_located((by, what)))


def test_a_physicist_finds_the_failed_room_opens_its_run_and_signs_it(browser, server, demo, screenshot):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from xcal.records.store import Store

    _sign_in(browser, server, "pat")
    browser.get(f"{server}/")
    failed = browser.find_element(By.CSS_SELECTOR, "tbody.room-failed")
    assert failed.get_attribute("id") == "room-4" and "RETEST REQUIRED" in failed.text
    assert len(browser.find_elements(By.CSS_SELECTOR, "tbody.room-failed")) == 1
    screenshot("overview")
    failed.find_element(By.LINK_TEXT, demo.failed_run).click()
    _wait_for(browser, By.ID, "sign-form")
    assert "SIMULATED" in browser.find_element(By.ID, "simulated").text
    screenshot("run")
    Select(browser.find_element(By.ID, "meaning")).select_by_visible_text("reviewed")
    browser.find_element(By.ID, "sign-username").send_keys("pat")
    browser.find_element(By.ID, "sign-password").send_keys(PASSWORDS["pat"])
    browser.find_element(By.CSS_SELECTOR, "#sign-form button[type=submit]").click()
    done = _wait_for(browser, By.ID, "done")
    assert "signed: reviewed by Pat Physicist" in done.text
    signatures = browser.find_element(By.ID, "signatures").text
    assert "Pat Physicist" in signatures and "reviewed" in signatures and "valid" in signatures
    screenshot("run-signed")
    with Store(demo.db) as store:
        assert [(s.name, s.meaning, s.valid) for s in store.signatures(demo.failed_run)] == \
            [("Pat Physicist", "reviewed", True)]
    browser.get(f"{server}/rooms/4")
    _wait_for(browser, By.ID, "h-trend")
    screenshot("room")
    browser.get(f"{server}/kpis")
    screenshot("kpis")
    browser.get(f"{server}/audit")
    screenshot("audit")


def test_a_wrong_password_at_signing_is_refused_in_the_browser(browser, server, demo):
    from selenium.webdriver.common.by import By

    from xcal.records.store import Store

    _sign_in(browser, server, "pat")
    browser.get(f"{server}/runs/{demo.spare_run}")
    browser.find_element(By.ID, "sign-username").send_keys("pat")
    browser.find_element(By.ID, "sign-password").send_keys("not-the-password")
    browser.find_element(By.CSS_SELECTOR, "#sign-form button[type=submit]").click()
    message = _wait_for(browser, By.CSS_SELECTOR, "p.message").text
    assert "Refused" in message and "nothing was signed" in message
    with Store(demo.db) as store:
        assert store.signatures(demo.spare_run) == []


def test_a_viewer_has_no_sign_form_and_a_forged_one_is_refused(browser, server, demo, screenshot):
    from selenium.webdriver.common.by import By

    from xcal.records.store import Store

    _sign_in(browser, server, "vic")
    browser.get(f"{server}/runs/{demo.passed_run}")
    _wait_for(browser, By.ID, "no-sign")
    assert browser.find_elements(By.ID, "sign-form") == []
    forge = """
        const form = document.createElement('form');
        form.method = 'post'; form.action = '/runs/' + arguments[0] + '/sign';
        for (const [name, value] of Object.entries(arguments[1])) {
            const input = document.createElement('input'); input.type = 'hidden';
            input.name = name; input.value = value; form.appendChild(input);
        }
        document.body.appendChild(form); form.submit();"""
    token = browser.find_element(By.CSS_SELECTOR, "form[action='/logout'] input[name=csrf]").get_attribute("value")
    browser.execute_script(forge, demo.passed_run, {"meaning": "approved", "password": PASSWORDS["vic"]})
    assert "security token" in _wait_for(browser, By.CSS_SELECTOR, "p.message").text
    browser.get(f"{server}/runs/{demo.passed_run}")
    _wait_for(browser, By.ID, "no-sign")
    browser.execute_script(forge, demo.passed_run, {"csrf": token, "meaning": "approved",
                                                    "password": PASSWORDS["vic"]})
    assert "may not do this" in _wait_for(browser, By.CSS_SELECTOR, "p.message").text
    screenshot("viewer-refused")
    with Store(demo.db) as store:
        assert store.signatures(demo.passed_run) == []
