"""`xcal serve`: the QC program in a browser, a second front end over the same library as the command line.

Pages are server-rendered HTML (Starlette and Jinja2, no script), each a small module calling the functions the
CLI calls; every write goes through those functions with the signed-in account as the person, so it is an entry
in the audit chain. Sessions are HMAC-signed cookies (session.py), forms carry a per-session CSRF token, and every
page checks the account's role (records/accounts.py). `create_app` builds the application for tests and servers.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError


def require() -> None:
    """Raise a ConfigError naming the `web` extra when Starlette, Jinja2, uvicorn or python-multipart is missing."""
    import importlib.util

    def present(name: str) -> bool:
        try:
            return importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            return False

    wanted = {"starlette": ("starlette",), "jinja2": ("jinja2",), "uvicorn": ("uvicorn",),
              "python-multipart": ("python_multipart", "multipart")}
    missing = [package for package, names in wanted.items() if not any(present(n) for n in names)]
    if missing:
        raise ConfigError(f"the browser front end needs {', '.join(wanted)}; not installed: {', '.join(missing)}",
                          fix="pip install 'xcal[web]'")


def create_app(*args: Any, **kwargs: Any) -> Any:
    """The Starlette application (see app.create_app); imported on call so `import xcal.web` stays light."""
    from .app import create_app as make

    return make(*args, **kwargs)


__all__ = ["create_app", "require"]
