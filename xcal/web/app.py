"""The web application: `create_app(site, db)` builds the Starlette app that `xcal serve` runs under uvicorn.

Each request takes an open record store (a SQLite file or a PostgreSQL URL, as the CLI's --db; stores.py keeps
PostgreSQL connections between requests), reads the signed-in account from it and checks the account's role
before the page runs; each write goes through the same library function the CLI calls, with the account's
username as the person, so it lands in the audit chain. Every POST carries the session's CSRF token or is
refused with 403. Pages are in the modules beside this one.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..errors import ConfigError, XcalError
from . import session as sessions
from .stores import StorePool

HERE = Path(__file__).parent
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass
class Web:
    """What every page needs: the site, the store's location, the signing secret, whether cookies are Secure,
    the last verification of the chain made from the browser, and each scheduled procedure's own procedures (a
    bundle's members: read from its file once, see overview.unscheduled)."""

    site: Any
    db: str | None
    secret: bytes
    secure: bool
    templates: Any
    last_verify: dict[str, Any] | None = None
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stores: StorePool = field(init=False)

    def __post_init__(self) -> None:
        self.stores = StorePool(self.db)

    def store(self) -> AbstractContextManager[Any]:
        """The store for one request: an open one reused (PostgreSQL), or one opened for it (web/stores.py)."""
        return self.stores.store()


@dataclass
class Page:
    """One request as a page handler sees it: the signed-in account, the open store, the form (POST) and the
    session (for the CSRF token of the forms it renders)."""

    request: Request
    web: Web
    store: Any
    account: Any
    session: sessions.Session
    form: dict[str, str]

    def may(self, permission: str) -> bool:
        from ..records.accounts import can

        return self.account is not None and can(self.account, permission)

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        """The page, with the note on what a form just did (the flash cookie, shown once)."""
        value = self.request.cookies.get(sessions.FLASH)
        note = sessions.read_flash(value, self.session, self.web.secret)
        response = render(self.web, template, status=status, account=self.account, csrf=self.session.csrf,
                          may=self.may, flash=note, **values)
        if value:
            response.delete_cookie(sessions.FLASH, path="/")
        return response

    @property
    def today(self) -> dt.date:
        return dt.date.today()


def render(web: Web, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
    values.setdefault("account", None)
    values.setdefault("may", lambda permission: False)
    html = web.templates.get_template(template).render(site=web.site, version=__version__, **values)
    return HTMLResponse(html, status_code=status)


def _templates() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    from .format import FILTERS

    env.filters.update(FILTERS)
    return env


class Refused(Exception):
    """A request the role, the session or the form token does not allow: answered 403 with the reason."""

    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


Handler = Callable[[Page], Response]
PASSWORD_PAGE = "/password"
"""Where an account with a temporary password is sent, whatever it asked for, until it sets its own."""


def page(permission: str, *, temporary: bool = False) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Make a page handler an endpoint: session read, CSRF checked on POST, account loaded and its role and session
    generation checked (`permission` is one of accounts' "view", "act", "sign", "admin"), then the handler run in a
    worker thread with the store open; the session's last use is renewed. An account with a temporary password
    reaches only pages made with `temporary=True`. An XcalError becomes a page with its message and fix."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            web: Web = request.app.state.web
            current = sessions.decode(request.cookies.get(sessions.COOKIE), web.secret)
            form: dict[str, str] = {}
            if request.method == "POST":
                data = await request.form()
                form = {k: v for k, v in data.items() if isinstance(v, str)}
                if current is None or not current.csrf_ok(form.get("csrf")):
                    return _refused(web, None, "the form's security token is missing or does not match this "
                                               "session; reload the page and send the form again")
            if current is None or current.username is None:
                if request.method == "POST":
                    return _refused(web, None, "you are not signed in")
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
            return await run_in_threadpool(_serve, handler, permission, request, web, current, form, temporary)

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap


def _serve(handler: Handler, permission: str, request: Request, web: Web, current: sessions.Session,
           form: dict[str, str], temporary: bool) -> Response:
    with web.store() as store:
        response = _answer(handler, permission, request, web, store, current, form, temporary)
        if request.cookies.get(sessions.COOKIE) and not _ended(response) and _is_page(response):
            set_session(response, web, current.renewed())
        return response


def _is_page(response: Response) -> bool:
    """Whether an answer is a page or a form's redirect, which renew the session. A plot or a download does not: a
    late one, still loading after sign-out, would otherwise put the ended session's cookie back."""
    kind = response.headers.get("content-type", "")
    return kind.startswith("text/html") or 300 <= response.status_code < 400


def _ended(response: Response) -> bool:
    """Whether the answer already ends the session (it deletes the cookie)."""
    return any(name == b"set-cookie" and value.startswith(sessions.COOKIE.encode() + b'=""')
               for name, value in response.raw_headers)


def _answer(handler: Handler, permission: str, request: Request, web: Web, store: Any, current: sessions.Session,
            form: dict[str, str], temporary: bool) -> Response:
    from ..records.accounts import can, get_account, session_generation

    account = get_account(store, current.username or "")
    if account is None or not account.active or session_generation(store, account.username) != current.generation:
        response: Response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(sessions.COOKIE, path="/")
        return response
    if account.temporary and not temporary:
        if request.method == "POST":
            return _refused(web, account, "your password was set by an admin: set your own first",
                            csrf=current.csrf)
        return RedirectResponse(PASSWORD_PAGE, status_code=303)
    if not can(account, permission):
        return _refused(web, account, f"your role ({account.role}) may not do this: it needs the "
                                      f"permission '{permission}'", csrf=current.csrf)
    current_page = Page(request, web, store, account, current, form)
    try:
        response = handler(current_page)
    except Refused as exc:
        return _refused(web, account, exc.reason, status=exc.status, csrf=current.csrf)
    except XcalError as exc:
        status = 404 if exc.message.startswith(("no ", "there is no ")) else 400
        return current_page.render("error.html", status=status, message=_unplaced(exc.message, web, store),
                                   fix=_unplaced(exc.fix, web, store))
    if isinstance(response, Back) and response.note:
        response.set_cookie(sessions.FLASH, sessions.flash(response.note, current, web.secret),
                            max_age=sessions.FLASH_SECONDS, httponly=True, samesite="strict", secure=web.secure,
                            path="/")
    return response


def _unplaced(text: str | None, web: Web, store: Any) -> str | None:
    """A message without the store's location (a file path or URL is not for the browser)."""
    if not text:
        return text
    for where in {str(w) for w in (web.db, getattr(store, "path", None), getattr(store, "location", None)) if w}:
        text = text.replace(where, "the record store")
    return text


def _refused(web: Web, account: Any, reason: str, *, status: int = 403, csrf: str = "") -> HTMLResponse:
    from ..records.accounts import can

    return render(web, "error.html", status=status, account=account, csrf=csrf,
                  may=lambda p: account is not None and can(account, p), message=f"Refused: {reason}", fix=None)


async def _fault(request: Request, exc: Exception) -> Response:
    """An exception xcal did not foresee: a page saying it is a fault in xcal (500); the server log has the
    traceback."""
    return render(request.app.state.web, "error.html", status=500,
                  message=f"a fault in xcal itself, not in what you asked: {type(exc).__name__}",
                  fix="please report it to xcal's maintainers with the page's address and the server's log")


def set_session(response: Response, web: Web, current: sessions.Session) -> Response:
    """Put the signed session cookie on a response: HttpOnly, SameSite=Strict, Secure off loopback."""
    response.set_cookie(sessions.COOKIE, sessions.encode(current, web.secret), httponly=True, samesite="strict",
                        secure=web.secure, path="/")
    return response


HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                 b"script-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
"""Sent with every answer: no script at all, no framing (a sign form cannot be overlaid), nothing cached (pages hold
records and names). Inline styles are allowed for the report plots' SVG. A header the page set itself stays."""


HSTS = (b"strict-transport-security", b"max-age=31536000")
"""Sent too when cookies are Secure (served over HTTPS): the browser then never tries plain HTTP for a year."""


class SecurityHeaders:
    """ASGI middleware adding HEADERS (and HSTS when `secure`) to every HTTP answer."""

    def __init__(self, app: Any, secure: bool = False) -> None:
        self.app = app
        self.headers = HEADERS + [HSTS] if secure else HEADERS

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in self.headers
                                                                         if h[0] not in present]
            await send(message)

        await self.app(scope, receive, sending)


def create_app(site: Any = None, db: str | Path | None = None, *, secret: bytes | None = None,
               secure: bool = False) -> Starlette:
    """The web application over the site (a loaded `xcal.site.SiteConfig`, or None for XCAL_SITE / the demo site) and
    the store at `db` (None: XCAL_DB or the default store). `secret` signs the session cookies (default: made at
    random now); `secure` marks the cookie Secure (served over HTTPS, off loopback)."""
    from ..procedures.loader import LIBRARY_INDEX
    from ..site import load_site
    from . import accounts, actions, audit, auth, kpis, overview, room, run

    if site is None:
        site = load_site(None, procedures=LIBRARY_INDEX)
    web = Web(site, str(db) if db is not None else None, secret or secrets.token_bytes(32), secure, _templates())
    routes = [
        Route("/login", auth.login_form, methods=["GET"]),
        Route("/login", auth.login, methods=["POST"]),
        Route("/logout", auth.logout, methods=["POST"]),
        Route(PASSWORD_PAGE, auth.password_form, methods=["GET"]),
        Route(PASSWORD_PAGE, auth.change_password, methods=["POST"]),
        Route("/", overview.overview),
        Route("/rooms/{room_id}", room.room),
        Route("/rooms/{room_id}/trend/{check_id}.svg", room.trend_svg),
        Route("/rooms/{room_id}/service", room.record_service, methods=["POST"]),
        Route("/rooms/{room_id}/pm", room.log_pm, methods=["POST"]),
        Route("/runs/{run_id}", run.run),
        Route("/runs/{run_id}/report.html", run.report_html),
        Route("/runs/{run_id}/report.pdf", run.report_pdf),
        Route("/runs/{run_id}/sign", run.sign, methods=["POST"]),
        Route("/runs/{run_id}/correct", run.correct, methods=["POST"]),
        Route("/runs/{run_id}/action", run.open_action, methods=["POST"]),
        Route("/actions", actions.actions),
        Route("/actions/{action_id}", actions.action),
        Route("/actions/{action_id}/{step}", actions.update, methods=["POST"]),
        Route("/kpis", kpis.kpis),
        Route("/audit", audit.audit),
        Route("/audit/verify", audit.verify, methods=["POST"]),
        Route("/accounts", accounts.accounts, methods=["GET"]),
        Route("/accounts", accounts.add, methods=["POST"]),
        Route("/accounts/{username}/{step}", accounts.change, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        web.stores.close()

    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders, secure=secure)],
                    exception_handlers={Exception: _fault}, lifespan=lifespan)
    app.state.web = web
    return app


def serve(site: Any, db: str | None, host: str, port: int, *, certfile: str | None = None,
          keyfile: str | None = None, secure_cookies: bool = False,
          announce: Callable[[str], None] | None = None) -> None:
    """Run the application under uvicorn until Ctrl-C; `announce` is told its address once it listens (port 0:
    the one the system chose). Off loopback, with a certificate, or with `secure_cookies` (loopback behind an HTTPS
    reverse proxy) the session cookie is Secure, so the browser sends it only over HTTPS, and HSTS is sent."""
    import socket

    import uvicorn

    app = create_app(site, db, secure=secure_cookies or host not in LOOPBACK or certfile is not None)
    try:
        listening = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                          fix="give another --port (another program uses this one) or an address of this "
                              "machine with --host") from None
    config = uvicorn.Config(app, log_level="info", server_header=False, ssl_certfile=certfile, ssl_keyfile=keyfile)
    if announce is not None:
        shown = f"[{host}]" if ":" in host else host
        announce(f"{'https' if certfile else 'http'}://{shown}:{listening.getsockname()[1]}/")
    with listening:
        uvicorn.Server(config).run(sockets=[listening])


def form_text(form: dict[str, str], name: str) -> str:
    """A form field's text, stripped ('' when absent)."""
    return (form.get(name) or "").strip()


def required(form: dict[str, str], name: str, label: str) -> str:
    """A form field that must not be empty; ConfigError naming the field otherwise."""
    text = form_text(form, name)
    if not text:
        raise ConfigError(f"the field '{label}' is empty", fix=f"fill in '{label}' and send the form again")
    return text


class Back(RedirectResponse):
    """The redirect after a write, carrying what was done: the page wrapper puts it in the signed flash cookie."""

    def __init__(self, path: str, note: str) -> None:
        super().__init__(path, status_code=303)
        self.note = note


def back(path: str, note: str = "") -> RedirectResponse:
    """After a write: back to the page, with what was done as a note shown there once (POST-redirect-GET)."""
    return Back(path, note)
