"""The session cookie: signed with HMAC-SHA256, refused when altered, signed under another secret or too old."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from xcal.web import session as sessions


def test_a_cookie_is_the_session_as_json_and_its_hmac_sha256():
    made = sessions.Session("pat", "token-1", 1_700_000_000.0, 1_700_000_600.0, 3)
    value = sessions.encode(made, b"secret")
    body, mac = value.split(".")
    expected = hmac.new(b"secret", body.encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4)) == expected
    assert json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) == \
        {"u": "pat", "c": "token-1", "t": 1_700_000_000.0, "a": 1_700_000_600.0, "g": 3}


def test_an_altered_foreign_or_old_cookie_is_no_session():
    now = time.time()
    fresh = sessions.Session("pat", "token-1", now, now)
    value = sessions.encode(fresh, b"secret")
    assert sessions.decode(value, b"secret") == fresh
    assert sessions.decode(value, b"another secret") is None
    body, mac = value.split(".")
    as_admin = base64.urlsafe_b64encode(json.dumps({"u": "ada", "c": "token-1", "t": now}).encode()).decode()
    assert sessions.decode(f"{as_admin.rstrip('=')}.{mac}", b"secret") is None
    assert sessions.decode("garbage", b"secret") is None and sessions.decode(None, b"secret") is None
    hours = sessions.SESSION_HOURS
    just_in = sessions.Session("pat", "t", now - hours * 3600 + 60, now)
    too_old = sessions.Session("pat", "t", now - hours * 3600 - 60, now)
    assert sessions.decode(sessions.encode(just_in, b"secret"), b"secret") == just_in
    assert sessions.decode(sessions.encode(too_old, b"secret"), b"secret") is None


def test_the_csrf_token_must_be_the_sessions_own():
    current = sessions.Session.new("pat")
    assert current.csrf_ok(current.csrf)
    assert not current.csrf_ok(sessions.Session.new("pat").csrf)
    assert not current.csrf_ok(None) and not current.csrf_ok("")
