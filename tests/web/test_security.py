"""How a web session ends (sign-out, a new password, idle time), temporary passwords set by an admin, the sign form's
username, the note after a form, what error pages leave out, and who may start a verification."""

from __future__ import annotations

import re
import time

import pytest

from xcal.web import session as sessions

from .fixtures import PASSWORDS, copy_demo_store, csrf_of, entries_after, head, signed_in

SECRET = b"s" * 32


@pytest.fixture(scope="module")
def demo(demo_template, tmp_path_factory):
    return copy_demo_store(demo_template, tmp_path_factory.mktemp("web-security"))


@pytest.fixture(scope="module")
def app(demo):
    from xcal.web import create_app

    return create_app(demo.site, demo.db, secret=SECRET)


def _client(app, cookie=None):
    from starlette.testclient import TestClient

    client = TestClient(app, base_url="http://127.0.0.1")
    if cookie is not None:
        client.cookies.set(sessions.COOKIE, cookie)
    return client


def _token(client):
    return csrf_of(client.get("/actions").text)


def _generation(db, username):
    from xcal.records.accounts import session_generation
    from xcal.records.store import Store

    with Store(db) as store:
        return session_generation(store, username)


def test_sign_out_ends_the_session_everywhere_it_was_copied(app):
    pat = signed_in(app, "pat")
    copy = _client(app, pat.cookies[sessions.COOKIE])
    assert copy.get("/actions", follow_redirects=False).status_code == 200
    out = pat.post("/logout", data={"csrf": _token(pat)}, follow_redirects=False)
    assert out.status_code == 303
    gone = copy.get("/actions", follow_redirects=False)
    assert (gone.status_code, gone.headers["location"]) == (303, "/login")


def test_a_session_ends_after_thirty_idle_minutes_and_each_request_renews_it(app, demo):
    generation = _generation(demo.db, "vic")
    now = time.time()
    idle = sessions.Session("vic", "t" * 43, now - 3600, now - 31 * 60, generation)
    assert _client(app, sessions.encode(idle, SECRET)).get("/actions", follow_redirects=False).status_code == 303
    recent = sessions.Session("vic", "t" * 43, now - 3600, now - 29 * 60, generation)
    answer = _client(app, sessions.encode(recent, SECRET)).get("/actions", follow_redirects=False)
    assert answer.status_code == 200
    renewed = sessions.decode(answer.cookies[sessions.COOKIE], SECRET)
    assert renewed is not None and renewed.used >= now and renewed.started == now - 3600


def test_an_admin_reset_needs_the_admins_password_ends_the_sessions_and_is_temporary(app, demo):
    from xcal.records.accounts import authenticate, sign_run
    from xcal.records.store import Store

    tom = signed_in(app, "tom")
    ada = signed_in(app, "ada")
    before = head(demo.db)
    refused = ada.post("/accounts/tom/password", data={"csrf": _token(ada), "password": "temporary-pass-1",
                                                       "admin_password": "not-adas-password"})
    assert refused.status_code == 403 and "your own password" in refused.text
    assert [e.kind for e in entries_after(demo.db, before)] == []
    reset = ada.post("/accounts/tom/password", data={"csrf": _token(ada), "password": "temporary-pass-1",
                                                     "admin_password": PASSWORDS["ada"]}, follow_redirects=False)
    assert reset.status_code == 303
    (entry,) = [e for e in entries_after(demo.db, before) if e.kind == "account_password_set"]
    assert entry.data()["by"] == "ada" and entry.data()["temporary"] is True
    assert tom.get("/actions", follow_redirects=False).headers["location"] == "/login"   # the old session ended
    with Store(demo.db) as store:
        assert authenticate(store, "tom", "temporary-pass-1").temporary is True
        with pytest.raises(Exception, match="temporary password"):
            sign_run(store, demo.spare_run, "performed", "tom", "temporary-pass-1")
        assert store.signatures(demo.spare_run) == []
    client = _client(app)
    client.post("/login", data={"csrf": csrf_of(client.get("/login").text), "username": "tom",
                                "password": "temporary-pass-1", "next": "/"})
    sent = client.get("/actions", follow_redirects=False)
    assert (sent.status_code, sent.headers["location"]) == (303, "/password")
    assert "set by an admin" in client.get("/password").text
    token = csrf_of(client.get("/password").text)
    wrong = client.post("/password", data={"csrf": token, "old_password": "guess-guess-1",
                                           "new_password": "toms-own-pass-1", "repeat": "toms-own-pass-1"})
    assert wrong.status_code == 400 and "wrong username or password" in wrong.text
    done = client.post("/password", data={"csrf": token, "old_password": "temporary-pass-1",
                                          "new_password": "toms-own-pass-1", "repeat": "toms-own-pass-1"},
                       follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/login")
    with Store(demo.db) as store:
        assert authenticate(store, "tom", "toms-own-pass-1").temporary is False
        assert store.verify().ok


def test_the_sign_form_needs_the_sessions_own_username(app, demo):
    pat = signed_in(app, "pat")
    before = head(demo.db)
    for given in ("ada", ""):
        answer = pat.post(f"/runs/{demo.spare_run}/sign", data={"csrf": _token(pat), "meaning": "reviewed",
                                                                 "username": given, "password": PASSWORDS["pat"]})
        assert answer.status_code == 403 and "nothing was signed" in answer.text
    assert entries_after(demo.db, before) == []
    assert 'name="username"' in pat.get(f"/runs/{demo.spare_run}").text


def test_the_note_after_a_form_comes_from_the_server_not_the_address(app, demo):
    vic = signed_in(app, "vic")
    forged = vic.get(f"/runs/{demo.failed_run}?done=signed%3A+approved+by+Pat+Physicist").text
    assert 'id="done"' not in forged and "approved by Pat Physicist" not in forged
    pat = signed_in(app, "pat")
    answer = pat.post("/actions/CA-1/progress", data={"csrf": _token(pat), "note": "parts ordered"},
                      follow_redirects=False)
    assert answer.headers["location"] == "/actions/CA-1"
    shown = pat.get("/actions/CA-1").text
    assert re.search(r'id="done">progress recorded on CA-1<', shown)
    assert 'id="done"' not in pat.get("/actions/CA-1").text                   # shown once
    again = pat.post("/actions/CA-1/progress", data={"csrf": _token(pat), "note": "parts arrived"},
                     follow_redirects=False)
    for client in (vic, pat):
        client.cookies.delete(sessions.FLASH)
        client.cookies.set(sessions.FLASH, again.cookies[sessions.FLASH], domain="127.0.0.1")
    assert 'id="done"' not in vic.get("/actions/CA-1").text                   # another session's note
    assert 'id="done">progress recorded' in pat.get("/actions/CA-1").text      # (the same cookie, its own session)


def test_an_error_page_leaves_out_the_stores_location_and_a_missing_action_is_404(app, demo):
    answer = signed_in(app, "vic").get("/actions/CA-999")
    assert answer.status_code == 404 and "CA-999" in answer.text
    assert demo.db not in answer.text


def test_a_name_that_cannot_be_a_username_is_refused_unrecorded_and_not_echoed(app, demo):
    from xcal.records.store import Store

    client = _client(app)
    long_name = "b" * 100_000
    answer = client.post("/login", data={"csrf": csrf_of(client.get("/login").text), "username": long_name,
                                         "password": "x"})
    assert answer.status_code == 401 and long_name[:65] not in answer.text
    with Store(demo.db) as store:
        assert list(store.select("SELECT COUNT(*) FROM login_attempts WHERE LENGTH(username) > 64"))[0][0] == 0


def test_a_viewer_cannot_start_a_verification(app):
    vic = signed_in(app, "vic")
    answer = vic.post("/audit/verify", data={"csrf": _token(vic)})
    assert answer.status_code == 403 and "needs the permission" in answer.text and "act" in answer.text


def test_hsts_is_sent_only_when_cookies_are_secure(demo):
    from starlette.testclient import TestClient

    from xcal.web import create_app

    plain = TestClient(create_app(demo.site, demo.db), base_url="http://127.0.0.1").get("/login")
    assert "strict-transport-security" not in plain.headers
    secure = TestClient(create_app(demo.site, demo.db, secure=True), base_url="https://xcal.example").get("/login")
    assert secure.headers["strict-transport-security"] == "max-age=31536000"
