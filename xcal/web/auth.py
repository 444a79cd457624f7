"""Sign-in, sign-out and changing one's own password. The password is checked by `records.accounts.authenticate`
(Argon2, lock-out after repeated failures); a successful sign-in starts a new session with a new CSRF token and
the account's session generation; sign-out moves the generation on, which ends every session of the account. An
account whose password an admin set is sent to the password page until it sets its own (§11.300)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..errors import XcalError
from . import session as sessions
from .app import Page, Web, _refused, page, render, set_session


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
    from ..records.accounts import authenticate, session_generation, valid_username

    web: Web = request.app.state.web
    current = sessions.decode(request.cookies.get(sessions.COOKIE), web.secret)
    form = await request.form()
    if current is None or not current.csrf_ok(form.get("csrf")):
        return _refused(web, None, "the form's security token is missing or does not match this session; reload "
                                   "the sign-in page and try again")
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or "/"))

    def check() -> tuple[str | None, sessions.Session | None]:
        with web.store() as store:
            try:
                account = authenticate(store, username, password)
            except XcalError as exc:
                return exc.message, None
            return None, sessions.Session.new(account.username, session_generation(store, account.username))

    problem, started = await run_in_threadpool(check)
    if started is None:
        response = render(web, "login.html", status=401, csrf=current.csrf, next=target, error=problem,
                          username=username if valid_username(username) else "")
        return set_session(response, web, current)
    return set_session(RedirectResponse(target, status_code=303), web, started)


async def logout(request: Request) -> Response:
    """End the session (a POST with the session's token, so another site cannot sign a person out)."""
    web: Web = request.app.state.web
    current = sessions.decode(request.cookies.get(sessions.COOKIE), web.secret)
    form = await request.form()
    if current is None or not current.csrf_ok(form.get("csrf")):
        return _refused(web, None, "the form's security token is missing or does not match this session")
    if current.username is not None:
        from ..records.accounts import end_sessions, get_account

        def end() -> None:
            with web.store() as store:
                if get_account(store, current.username or "") is not None:
                    end_sessions(store, current.username or "")

        await run_in_threadpool(end)
    return set_session(RedirectResponse("/login", status_code=303), web, sessions.Session.new())


@page("view", temporary=True)
def password_form(p: Page) -> Response:
    """GET /password: change one's own password (the old one is asked)."""
    return p.render("password.html", request=p.request)


@page("view", temporary=True)
def change_password(p: Page) -> Response:
    """POST /password: the owner's new password, proved by the old one; every session of the account ends, this
    one is started again by signing in."""
    from ..records.accounts import change_own_password

    new = p.form.get("new_password") or ""
    if new != (p.form.get("repeat") or ""):
        return p.render("password.html", status=400, request=p.request,
                        error="the new password and its repetition differ")
    try:
        change_own_password(p.store, p.account.username, p.form.get("old_password") or "", new)
    except XcalError as exc:
        return p.render("password.html", status=400, request=p.request, error=exc.message)
    return RedirectResponse("/login", status_code=303)
