"""The audit chain's status: the newest anchor, and a verification run on demand (the last one's outcome is
kept in memory while the application runs)."""

from __future__ import annotations

import datetime as dt

from starlette.responses import Response

from .app import Page, back, page


@page("view")
def audit(p: Page) -> Response:
    """GET /audit."""
    from ..records.anchor import latest

    newest = latest(p.store)
    entries = next(iter(p.store.select("SELECT MAX(seq) FROM entries")))[0] or 0
    return p.render("audit.html", anchor=newest, entries=entries, last=p.web.last_verify, request=p.request)


@page("act")
def verify(p: Page) -> Response:
    """POST /audit/verify: `xcal verify` (against the site key's public half when the key exists); it reads the
    whole chain, so a role that may act starts it, not a viewer."""
    from ..records.anchor import key_path, site_key

    public = site_key(create=False).public if key_path().exists() else None
    started = dt.datetime.now(dt.UTC)
    report = p.store.verify(public=public)
    p.web.last_verify = {"at": started.isoformat(timespec="seconds"), "by": p.account.username, "ok": report.ok,
                         "entries": report.entries, "first_broken": report.first_broken, "reason": report.reason,
                         "head": report.head, "keyed": public is not None,
                         "seconds": (dt.datetime.now(dt.UTC) - started).total_seconds()}
    return back("/audit", "verified: ok" if report.ok else f"BROKEN at entry {report.first_broken}")
