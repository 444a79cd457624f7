"""Sign-in and sign-out. The password is checked by `records.accounts.authenticate` (Argon2, lock-out after
repeated failures); a successful sign-in starts a new session with a new CSRF token."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..errors import XcalError
from . import session as sessions
from .app import Web, _refused, render, set_session


def _safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path of this site only (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def login_form(request: Request) -> Response:
    """The sign-in page; it sets a session cookie (nobody signed in yet) so that its form carries a token."""
    web: Web = request.app.state.web
    current = sessions.decode(request.cookies.get(sessions.COOKIE), web.secret) or sessions.Session.new()
    response = render(web, "login.html", csrf=current.csrf, next=_safe_next(request.query_params.get("next")),
                      error=None, username="")
    return set_session(response, web, current)


async def login(request: Request) -> Response:
    """Check the form's token, then the username and password; on success a new session, else the form again
    with the reason (401)."""
    from ..records.accounts import authenticate

    web: Web = request.app.state.web
    current = sessions.decode(request.cookies.get(sessions.COOKIE), web.secret)
    form = await request.form()
    if current is None or not current.csrf_ok(form.get("csrf")):
        return _refused(web, None, "the form's security token is missing or does not match this session; reload "
                                   "the sign-in page and try again")
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or "/"))

    def check() -> str | None:
        with web.store() as store:
            try:
                authenticate(store, username, password)
            except XcalError as exc:
                return exc.message
        return None

    problem = await run_in_threadpool(check)
    if problem is not None:
        response = render(web, "login.html", status=401, csrf=current.csrf, next=target, error=problem,
                          username=username)
        return set_session(response, web, current)
    return set_session(RedirectResponse(target, status_code=303), web, sessions.Session.new(username))


async def logout(request: Request) -> Response:
    """End the session (a POST with the session's token, so another site cannot sign a person out)."""
    web: Web = request.app.state.web
    current = sessions.decode(request.cookies.get(sessions.COOKIE), web.secret)
    form = await request.form()
    if current is None or not current.csrf_ok(form.get("csrf")):
        return _refused(web, None, "the form's security token is missing or does not match this session")
    return set_session(RedirectResponse("/login", status_code=303), web, sessions.Session.new())
