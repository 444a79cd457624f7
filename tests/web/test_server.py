"""The web application in-process (Starlette's TestClient): sign-in, roles, CSRF, the pages and each write, which
must land in the audit chain with the signed-in account's username."""

from __future__ import annotations

import re

import pytest

from .fixtures import PASSWORDS, copy_demo_store, csrf_of, entries_after, head, signed_in


@pytest.fixture(scope="module")
def demo(demo_template, tmp_path_factory):
    return copy_demo_store(demo_template, tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def app(demo):
    from xcal.web import create_app

    return create_app(demo.site, demo.db, secret=b"k" * 32)


@pytest.fixture(scope="module")
def as_user(app):
    """A signed-in client per username, signed in once for the module (each sign-in costs an Argon2 check), and
    again when a sign-out of the same account has ended its session."""
    made = {}

    def client(username):
        if username not in made or made[username].get("/audit", follow_redirects=False).status_code == 303:
            made[username] = signed_in(app, username)
        return made[username]

    return client


def _room_block(html: str, room: str) -> str:
    found = re.search(rf'<tbody class="room[^"]*" id="room-{room}">(.*?)</tbody>', html, re.S)
    assert found, f"room {room} is not on the page"
    return found.group(0)


def test_a_page_asks_for_sign_in_and_a_wrong_password_is_refused(app):
    from starlette.testclient import TestClient

    client = TestClient(app, base_url="http://127.0.0.1")
    first = client.get("/rooms/4", follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (303, "/login?next=/rooms/4")
    token = csrf_of(client.get("/login").text)
    wrong = client.post("/login", data={"csrf": token, "username": "pat", "password": "not-the-password"},
                        follow_redirects=False)
    assert wrong.status_code == 401 and "wrong username or password" in wrong.text
    assert client.get("/", follow_redirects=False).status_code == 303          # still not signed in
    right = client.post("/login", data={"csrf": token, "username": "pat", "password": PASSWORDS["pat"],
                                        "next": "/rooms/4"}, follow_redirects=False)
    assert (right.status_code, right.headers["location"]) == (303, "/rooms/4")
    assert client.get("/rooms/4").status_code == 200


def test_the_session_cookie_is_httponly_strict_and_secure_off_loopback(demo):
    from starlette.testclient import TestClient

    from xcal.web import create_app

    plain = TestClient(create_app(demo.site, demo.db), base_url="http://127.0.0.1").get("/login")
    cookie = plain.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    secure = TestClient(create_app(demo.site, demo.db, secure=True), base_url="https://xcal.example")
    assert "Secure" in secure.get("/login").headers["set-cookie"]


def test_an_altered_or_foreign_cookie_is_no_session(app, demo, as_user):
    from starlette.testclient import TestClient

    from xcal.web import create_app

    client = as_user("pat")
    value = client.cookies["xcal_session"]
    body, mac = value.split(".")
    forged = body.replace(body[5], "A" if body[5] != "A" else "B") + "." + mac
    stranger = TestClient(app, base_url="http://127.0.0.1", cookies={"xcal_session": forged})
    assert stranger.get("/", follow_redirects=False).status_code == 303
    other_secret = TestClient(create_app(demo.site, demo.db, secret=b"x" * 32), base_url="http://127.0.0.1",
                              cookies={"xcal_session": value})
    assert other_secret.get("/", follow_redirects=False).status_code == 303


def test_the_overview_shows_the_failed_room_with_its_action(app, demo, as_user):
    html = as_user("vic").get("/").text
    room4, room3 = _room_block(html, "4"), _room_block(html, "3")
    assert "room-failed" in room4 and "FAILED" in room4
    assert demo.failed_run in room4 and "RETEST REQUIRED" in room4 and "CA-1" in room4
    assert "room-failed" not in room3 and "PASS" in room3
    assert "SIMULATED" in html
    only4 = as_user("vic").get("/?room=4").text
    assert 'id="room-4"' in only4 and 'id="room-3"' not in only4
    fluoro = as_user("vic").get("/?modality=fluoroscopy").text
    assert 'id="room-10"' in fluoro and 'id="room-4"' not in fluoro


def test_the_run_page_shows_checks_with_limits_and_sources_readings_and_simulated(app, demo, as_user):
    from xcal.records.store import Store

    with Store(demo.db) as store:
        run = store.get_run(demo.failed_run)
    html = as_user("vic").get(f"/runs/{demo.failed_run}").text
    assert "SIMULATED" in html and "FAIL" in html
    assert "±max(5 %, 2 kV)" in html and "EX-DXR500-SM" in html
    kvp = [r for r in run.readings if r.quantity == "kvp_ppv"]
    assert kvp and all(f"{r.value:.4g}" in html for r in kvp)
    assert "<svg" in html                                                        # the report's plots, inline
    assert 'id="sign-form"' not in html and "may not sign" in html               # a viewer gets no sign form


def test_report_downloads_are_the_html_and_pdf_reports(app, demo, as_user):
    client = as_user("vic")
    page = client.get(f"/runs/{demo.failed_run}/report.html")
    assert page.headers["content-disposition"] == f'attachment; filename="xcal-{demo.failed_run}.html"'
    assert page.text.startswith("<!DOCTYPE html>") and "SIMULATED" in page.text
    pdf = client.get(f"/runs/{demo.failed_run}/report.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")


def test_a_viewer_cannot_sign_or_act(app, demo, as_user):
    client = as_user("vic")
    token = _token(client)
    before = head(demo.db)
    signed = client.post(f"/runs/{demo.failed_run}/sign", data={"csrf": token, "meaning": "reviewed",
                                                                "username": "vic", "password": PASSWORDS["vic"]})
    assert signed.status_code == 403 and "may not do this" in signed.text
    acted = client.post("/actions/CA-1/progress", data={"csrf": token, "note": "looked at it"})
    assert acted.status_code == 403
    assert entries_after(demo.db, before) == []


def test_a_post_without_its_csrf_token_is_refused_and_writes_nothing(app, demo, as_user):
    client = as_user("pat")
    before = head(demo.db)
    missing = client.post(f"/runs/{demo.failed_run}/sign", data={"meaning": "reviewed", "password": PASSWORDS["pat"]})
    wrong = client.post("/actions/CA-1/progress", data={"csrf": "x" * 43, "note": "from another site"})
    assert missing.status_code == 403 and wrong.status_code == 403
    assert "security token" in missing.text
    assert entries_after(demo.db, before) == []


def test_a_wrong_password_at_signing_is_refused_and_nothing_is_signed(app, demo, as_user):
    from xcal.records.store import Store

    client = as_user("pat")
    token = _token(client)
    before = head(demo.db)
    answer = client.post(f"/runs/{demo.spare_run}/sign", data={"csrf": token, "meaning": "reviewed",
                                                               "username": "pat", "password": "not-the-password"})
    assert answer.status_code == 403 and "nothing was signed" in answer.text
    assert entries_after(demo.db, before) == []
    with Store(demo.db) as store:
        assert store.signatures(demo.spare_run) == []


def test_a_physicist_signs_with_the_password_and_the_run_shows_the_signature(app, demo, as_user):
    from xcal.records.store import Store

    client = as_user("pat")
    token = _token(client)
    answer = client.post(f"/runs/{demo.failed_run}/sign", data={"csrf": token, "meaning": "reviewed",
                                                                "username": "pat", "password": PASSWORDS["pat"]},
                         follow_redirects=False)
    assert answer.status_code == 303
    with Store(demo.db) as store:
        (signature,) = [s for s in store.signatures(demo.failed_run) if s.meaning == "reviewed"]
        entry = [e for e in store.entries(demo.failed_run) if e.kind == "signature"][-1]
    assert (signature.name, signature.valid) == ("Pat Physicist", True)
    assert entry.data().get("account") == "pat"
    html = client.get(f"/runs/{demo.failed_run}").text
    signatures = html[html.index('id="signatures"'):]
    assert "Pat Physicist" in signatures and "reviewed" in signatures and "valid" in signatures


def test_a_technician_signs_only_as_performed(app, demo, as_user):
    client = as_user("tom")
    html = client.get(f"/runs/{demo.failed_run}").text
    meanings = re.search(r'<select id="meaning" name="meaning">(.*?)</select>', html, re.S).group(1)
    assert "performed" in meanings and "approved" not in meanings
    before = head(demo.db)
    answer = client.post(f"/runs/{demo.failed_run}/sign", data={"csrf": csrf_of(html), "meaning": "approved",
                                                                "username": "tom", "password": PASSWORDS["tom"]})
    assert answer.status_code == 403
    assert entries_after(demo.db, before) == []


def _token(client):
    """The session's form token, from a light page (it is the same on every page of the session)."""
    return csrf_of(client.get("/actions").text)


def _posted(client, path, form, page):
    token = _token(client)
    answer = client.post(path, data={"csrf": token, **form}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return answer


def test_each_write_is_a_chain_entry_naming_the_account(app, demo, as_user):
    client = as_user("tom")
    before = head(demo.db)
    _posted(client, "/actions/CA-1/assign", {"assignee": "Sam Service", "due": "2027-01-31"}, "/actions/CA-1")
    _posted(client, "/actions/CA-1/progress", {"note": "generator board ordered"}, "/actions/CA-1")
    _posted(client, "/actions/CA-1/resolve", {"done": "kV feedback board replaced"}, "/actions/CA-1")
    _posted(client, "/rooms/4/service", {"component": "generator", "work": "replaced", "vendor": "Example X-Ray Co.",
                                         "engineer": "Sam Service", "down_from": "2026-11-01T08:00",
                                         "down_to": "2026-11-01T12:00", "done": "kV board replaced",
                                         "parts": "DXR-KVB-2"}, "/rooms/4")
    _posted(client, "/rooms/4/pm", {"component": "collimator", "done": "lamp and mirror checked",
                                    "engineer": "Sam Service", "vendor": "in-house", "date": "2026-11-02"}, "/rooms/4")
    made = entries_after(demo.db, before)
    kinds = [e.kind for e in made]
    assert kinds == ["action_assigned", "action_progress", "action_resolved", "service_recorded", "pm_logged"]
    assert all(e.data()["by"] == "tom" for e in made)
    assert made[0].data()["assignee"] == "Sam Service" and made[0].data()["due"] == "2027-01-31"
    room = client.get("/rooms/4").text
    assert "SE-1" in room and "PM-1" in room


def test_a_correction_names_the_account_and_voids_an_earlier_signature(app, demo, as_user):
    from xcal.records.store import Store

    with Store(demo.db) as store:
        reading = next(r for r in store.get_run(demo.passed_run).readings if r.quantity == "kvp_ppv")
    pat = as_user("pat")
    _posted(pat, f"/runs/{demo.passed_run}/sign",
            {"meaning": "approved", "username": "pat", "password": PASSWORDS["pat"]}, f"/runs/{demo.passed_run}")
    before = head(demo.db)
    _posted(pat, f"/runs/{demo.passed_run}/correct", {"reading_id": str(reading.reading_id), "value": "80.4 kV",
                                                      "reason": "meter display misread"}, f"/runs/{demo.passed_run}")
    (entry,) = entries_after(demo.db, before)
    data = entry.data()
    assert (entry.kind, data["person"], data["new_value"], data["unit"], data["reason"]) == \
        ("correction", "pat", 80.4, "kV", "meter display misread")
    with Store(demo.db) as store:
        (signature,) = store.signatures(demo.passed_run)
    assert signature.valid is False
    html = pat.get(f"/runs/{demo.passed_run}").text
    assert "INVALID" in html[html.index('id="signatures"'):]


def test_bad_form_input_is_a_page_with_the_fix_and_writes_nothing(app, demo, as_user):
    client = as_user("tom")
    before = head(demo.db)
    token = _token(client)
    answer = client.post("/rooms/4/pm", data={"csrf": token, "component": "collimator", "done": "x",
                                              "engineer": "E", "vendor": "V", "date": "tomorrow"})
    assert answer.status_code == 400 and "is not a date" in answer.text and "YYYY-MM-DD" in answer.text
    assert entries_after(demo.db, before) == []
    assert as_user("vic").get("/runs/no-such-run").status_code == 404


def test_the_audit_page_verifies_the_chain_on_demand(app, as_user):
    client = as_user("pat")
    _posted(client, "/audit/verify", {}, "/audit")
    html = client.get("/audit").text
    assert re.search(r'id="verify-outcome">ok', html)


def test_the_kpi_page_shows_the_program_figures(app, as_user):
    import datetime as dt

    today = dt.date.today()
    year = f"{today.year}-01-01 to {today.year}-12-31"
    html = as_user("vic").get(f"/kpis?start={today.year}-01-01&end={today.year}-12-31&room=4").text
    summary = html[html.index('id="kpi-summary"'):html.index("</table>", html.index('id="kpi-summary"'))]
    # Room 4 this year, by the definitions of program/kpi.py: kvp-accuracy (annual) and output-reproducibility
    # (quarterly) were never run before the year, so each falls due on 1 January. kvp-accuracy was run today, late
    # unless today is 1 January; output-reproducibility was never run, so its chain stops there: 2 fell due.
    on_time = 1 if (today.month, today.day) == (1, 1) else 0
    assert f"({on_time} of 2 tests that fell due)" in summary
    # CA-1 is open: only a passing retest verifies it, and this store has none.
    assert "Corrective actions open</th><td>1: " in summary and "CA-1" in summary
    assert f"{year}, room 4" in html


def test_sign_in_goes_back_only_to_a_page_of_this_site_and_sign_out_ends_the_session(app):
    from starlette.testclient import TestClient

    client = TestClient(app, base_url="http://127.0.0.1")
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"csrf": token, "username": "vic", "password": PASSWORDS["vic"],
                                         "next": "//evil.example/x"}, follow_redirects=False)
    assert answer.headers["location"] == "/"
    new_token = csrf_of(client.get("/actions").text)
    assert new_token != token                                    # a new token at sign-in
    out = client.post("/logout", data={"csrf": new_token}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_the_room_page_draws_each_checks_trend_with_its_band(app, as_user):
    client = as_user("vic")
    html = client.get("/rooms/3").text
    assert 'src="/rooms/3/trend/kvp-accuracy.svg"' in html
    svg = client.get("/rooms/3/trend/kvp-accuracy.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert "within tolerance: ±max(5 %, 2 kV)" in svg.text and "SIMULATED" in svg.text
    assert client.get("/rooms/3/trend/no-such-check.svg").status_code == 404


def test_every_answer_forbids_scripts_framing_and_caching(app):
    from starlette.testclient import TestClient

    answer = TestClient(app, base_url="http://127.0.0.1").get("/login")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'none'" in policy and "frame-ancestors 'none'" in policy and "form-action 'self'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff" and answer.headers["cache-control"] == "no-store"


def test_only_an_admin_manages_accounts_and_each_change_names_the_admin(app, demo, as_user):
    assert as_user("pat").get("/accounts").status_code == 403
    token = _token(as_user("pat"))
    assert as_user("pat").post("/accounts", data={"csrf": token, "username": "eve", "full_name": "Eve",
                                                  "role": "admin", "password": "x" * 12}).status_code == 403
    before = head(demo.db)
    ada = as_user("ada")
    _posted(ada, "/accounts", {"username": "rosa", "full_name": "Rosa Safety", "role": "rso",
                               "password": "rosa-password-1"}, "/accounts")
    _posted(ada, "/accounts/rosa/disable", {}, "/accounts")
    made = entries_after(demo.db, before)
    assert [e.kind for e in made] == ["account_created", "account_disabled"]
    assert all(e.data()["by"] == "ada" for e in made)
    assert "rosa-password-1" not in "".join(e.payload for e in made)
    html = ada.get("/accounts").text
    assert "Rosa Safety" in html and "disabled" in html


def test_every_page_that_names_a_simulated_run_marks_it_simulated(app, demo, as_user):
    client = as_user("vic")
    tag = f'{demo.failed_run}</a> <strong class="sim-tag">SIMULATED</strong>'
    for path in ("/", "/rooms/4", "/actions", "/actions/CA-1"):
        assert tag in client.get(path).text, path
    assert 'id="simulated"' in client.get(f"/runs/{demo.failed_run}").text


def test_opening_an_action_for_a_run_already_covered_is_refused_with_the_action_named(app, demo, as_user):
    client = as_user("tom")
    before = head(demo.db)
    answer = client.post(f"/runs/{demo.failed_run}/action", data={"csrf": _token(client)})
    assert answer.status_code == 400 and "already covered by corrective action CA-1" in answer.text
    assert entries_after(demo.db, before) == []


def test_without_a_site_given_the_site_files_procedures_are_checked_as_xcal_serve_checks_them(site_copy, monkeypatch):
    from xcal.errors import ConfigError
    from xcal.web import create_app

    path = site_copy({"{room: 3, procedure: kvp-accuracy,": "{room: 3, procedure: kvp-acuracy,"})
    monkeypatch.setenv("XCAL_SITE", str(path))
    with pytest.raises(ConfigError, match="unknown procedure 'kvp-acuracy'"):
        create_app()
