"""The `browser` fixture drives a real headless Chromium: it loads a page served here and reads what it shows."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


def test_the_browser_loads_a_page_and_reads_its_title_and_saves_a_screenshot(browser, screenshot, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>xcal browser check</title><h1 id='h'>Hello 42</h1>",
                                         encoding="utf-8")
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        browser.get(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        assert browser.title == "xcal browser check"
        assert browser.find_element("id", "h").text == "Hello 42"
        shot = screenshot("browser-fixture-check")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        server.shutdown()
        server.server_close()
