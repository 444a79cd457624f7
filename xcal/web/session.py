"""The browser session: a cookie signed with HMAC-SHA256, holding the account's username and the CSRF token.

The cookie holds no password and no role: the account is read from the store on every request, so a disabled
account or a changed role takes effect at the next click. The signing secret is made at random when the
application starts (`create_app(secret=None)`) and kept only in memory: nothing on disk can forge a session, and
restarting `xcal serve` signs everyone out. A session ends SESSION_HOURS after sign-in whatever its use, after
IDLE_MINUTES without a request (each signed-in request renews the cookie's last-use time), and when the account's
session generation (records.accounts) is no longer the one it began with: at sign-out, a new password, a disable
or a role change. A short-lived signed note (FLASH) says what a form just did on the page it leads to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

COOKIE = "xcal_session"
SESSION_HOURS = 12
IDLE_MINUTES = 30
FLASH = "xcal_done"
FLASH_SECONDS = 60


@dataclass(frozen=True)
class Session:
    """Who is signed in (None: nobody yet), the form token of this session, when it began and was last used
    (epoch seconds), and the account's session generation at sign-in."""

    username: str | None
    csrf: str
    started: float
    used: float = 0.0
    generation: int = 0

    @classmethod
    def new(cls, username: str | None = None, generation: int = 0) -> Session:
        """A fresh session with a new CSRF token (made at sign-in too, so a token seen before it is worthless)."""
        now = time.time()
        return cls(username, secrets.token_urlsafe(32), now, now, generation)

    def expired(self, now: float | None = None) -> bool:
        moment = now if now is not None else time.time()
        return moment - self.started > SESSION_HOURS * 3600 or moment - self.used > IDLE_MINUTES * 60

    def renewed(self) -> Session:
        """The same session, used now."""
        return Session(self.username, self.csrf, self.started, time.time(), self.generation)

    def csrf_ok(self, token: object) -> bool:
        """Whether a form's token is this session's (compared in constant time)."""
        return isinstance(token, str) and hmac.compare_digest(token.encode(), self.csrf.encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(session: Session, secret: bytes) -> str:
    """The cookie value: the session as JSON, base64url, then a dot and its HMAC-SHA256 under `secret`."""
    return _signed({"u": session.username, "c": session.csrf, "t": session.started, "a": session.used,
                    "g": session.generation}, secret)


def _signed(data: dict[str, object], secret: bytes) -> str:
    body = _b64(json.dumps(data, separators=(",", ":")).encode())
    return f"{body}.{_b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())}"


def _opened(value: str | None, secret: bytes) -> dict[str, object] | None:
    """The JSON object a signed value holds, or None when it is missing, altered or signed with another secret."""
    if not value or value.count(".") != 1:
        return None
    body, mac = value.split(".")
    expected = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        return None
    try:
        data = json.loads(_unb64(body))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def flash(note: str, session: Session, secret: bytes) -> str:
    """The cookie value of a note on what a form just did, bound to this session's token and valid FLASH_SECONDS."""
    return _signed({"n": note, "c": session.csrf, "t": time.time(), "k": "flash"}, secret)


def read_flash(value: str | None, session: Session, secret: bytes) -> str:
    """The note a flash cookie holds for this session, or '' (missing, altered, another session's, or too old)."""
    data = _opened(value, secret)
    if not data or data.get("k") != "flash" or data.get("c") != session.csrf:
        return ""
    moment = data.get("t")
    if not isinstance(moment, (int, float)) or time.time() - moment > FLASH_SECONDS:
        return ""
    note = data.get("n")
    return note if isinstance(note, str) else ""


def decode(value: str | None, secret: bytes) -> Session | None:
    """The session a cookie holds, or None when it is missing, altered, signed with another secret or expired."""
    data = _opened(value, secret)
    if data is None or data.get("k") is not None:
        return None
    try:
        fields: dict[str, Any] = data
        session = Session(fields["u"], str(fields["c"]), float(fields["t"]), float(fields["a"]), int(fields["g"]))
    except (ValueError, KeyError, TypeError):
        return None
    if session.username is not None and not isinstance(session.username, str):
        return None
    return None if session.expired() else session
