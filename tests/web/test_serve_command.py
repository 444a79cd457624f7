"""`xcal serve` as a person starts it: it says where it listens, answers there, and refuses a port in use."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import urllib.request

import pytest


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_xcal_serve_listens_on_loopback_says_where_and_stops_cleanly(xcal_exe, stop):
    process = subprocess.Popen([xcal_exe, "serve", "--port", "0"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            if line.startswith("serving "):
                url = line.split()[1]
        assert url is not None and url.startswith("http://127.0.0.1:"), "xcal serve did not say where it listens"
        with urllib.request.urlopen(f"{url}login", timeout=30) as answer:
            assert answer.status == 200 and "Sign in" in answer.read().decode()
            assert "SameSite=strict" in answer.headers["set-cookie"]
    finally:
        process.send_signal(stop)
        try:
            code = process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("xcal serve did not stop on Ctrl-C")
    assert code == 0


def test_a_port_in_use_is_a_clear_error(xcal):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = xcal("serve", "--port", str(taken.getsockname()[1]))
    assert result.returncode == 2
    assert "cannot listen on 127.0.0.1:" in result.stderr and "give another --port" in result.stderr


def test_without_the_web_extra_serve_names_what_to_install(cli, monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a))
    result = cli("--db", str(tmp_path / "x.sqlite3"), "serve", "--port", "0")
    assert result.returncode == 2
    assert "not installed: uvicorn" in result.stderr and "pip install 'xcal[web]'" in result.stderr
    assert not (tmp_path / "x.sqlite3").exists()
