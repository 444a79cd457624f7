"""The browser session: a cookie signed with HMAC-SHA256, holding the account's username and the CSRF token.

The cookie holds no password and no role: the account is read from the store on every request, so a disabled
account or a changed role takes effect at the next click. The signing secret is made at random when the
application starts (`create_app(secret=None)`) and kept only in memory: nothing on disk can forge a session, and
restarting `xcal serve` signs everyone out. A session ends SESSION_HOURS after sign-in whatever its use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "xcal_session"
SESSION_HOURS = 12


@dataclass(frozen=True)
class Session:
    """Who is signed in (None: nobody yet), the form token of this session, and when it began (epoch seconds)."""

    username: str | None
    csrf: str
    started: float

    @classmethod
    def new(cls, username: str | None = None) -> Session:
        """A fresh session with a new CSRF token (made at sign-in too, so a token seen before it is worthless)."""
        return cls(username, secrets.token_urlsafe(32), time.time())

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) - self.started > SESSION_HOURS * 3600

    def csrf_ok(self, token: object) -> bool:
        """Whether a form's token is this session's (compared in constant time)."""
        return isinstance(token, str) and hmac.compare_digest(token.encode(), self.csrf.encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(session: Session, secret: bytes) -> str:
    """The cookie value: the session as JSON, base64url, then a dot and its HMAC-SHA256 under `secret`."""
    body = _b64(json.dumps({"u": session.username, "c": session.csrf, "t": session.started},
                           separators=(",", ":")).encode())
    return f"{body}.{_b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())}"


def decode(value: str | None, secret: bytes) -> Session | None:
    """The session a cookie holds, or None when it is missing, altered, signed with another secret or expired."""
    if not value or value.count(".") != 1:
        return None
    body, mac = value.split(".")
    expected = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        return None
    try:
        data = json.loads(_unb64(body))
        session = Session(data["u"], str(data["c"]), float(data["t"]))
    except (ValueError, KeyError, TypeError):
        return None
    if session.username is not None and not isinstance(session.username, str):
        return None
    return None if session.expired() else session
