"""Whether a command may write the file it was given with `-o`: the one rule of `xcal report` and `xcal export`.

- The folder must exist. xcal makes no folder it was not asked for (a misspelt folder would quietly
  collect files nobody finds), as it makes none for `--db`; the fix says `mkdir -p FOLDER`.
- A record store is never overwritten, not even with --force: neither the store in use (nor its -wal,
  -shm or -journal file) nor any other SQLite database. Records are append-only; no report is worth them.
- A file already there that xcal did not write is replaced only with --force: a report or export of xcal
  (recognised by what xcal writes into it) is replaced without asking, since making one again is routine.
  An empty file holds nothing to lose and is replaced too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from ..errors import ConfigError

SQLITE_HEADER = b"SQLite format 3\x00"
STORE_SIDE_FILES = ("", "-wal", "-shm", "-journal")
_JSON_EXPORT = re.compile(rb'^\s*\{\s*"format"\s*:\s*"xcal-records"')
_HTML_REPORT = b'<meta name="generator" content="xcal '
_PDF_REPORT = b"/Creator (xcal "


def check_outputs(paths: Iterable[Path], store: Path | str, *, force: bool = False) -> None:
    """ConfigError (exit 2) for the first of `paths` that may not be written, naming it and the fix.

    `store` is the store in use: its file, or a PostgreSQL URL (then only other SQLite files are guarded).
    """
    for path in paths:
        _check(Path(path), store, force)


def _check(path: Path, store: Path | str, force: bool) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"cannot write {path}: the folder {folder} does not exist",
                          fix=f"check the path for a typo, or create the folder first (mkdir -p {folder})")
    if path.is_dir():
        raise ConfigError(f"cannot write {path}: {path} is a folder",
                          fix="give a file name with -o, e.g. -o " + str(path / "report.html"))
    if isinstance(store, Path) and _is_store_file(path, store):
        raise ConfigError(f"cannot write {path}: {path} is the record store in use (or one of its files); "
                          f"writing there would destroy every record in it",
                          fix="give another file name with -o; the store is never overwritten, not even with "
                              "--force")
    if not path.exists():
        return
    head = _head(path)
    if head.startswith(SQLITE_HEADER):
        raise ConfigError(f"cannot write {path}: it is a SQLite database, perhaps another record store",
                          fix="give another file name with -o; a database is never overwritten, not even with "
                              "--force")
    if not force and head and not _written_by_xcal(path, head):
        raise ConfigError(f"cannot write {path}: {path} exists and was not written by xcal",
                          fix="give another file name with -o, or add --force to replace it")


def _is_store_file(path: Path, store: Path) -> bool:
    """Whether `path` is the store's file or one SQLite keeps beside it, by name or as the same file."""
    target = path.resolve()
    for suffix in STORE_SIDE_FILES:
        side = store.with_name(store.name + suffix)
        if target == side.resolve():
            return True
        if path.exists() and side.exists() and os.path.samefile(path, side):
            return True
    return False


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(4096)
    except OSError:
        return b""


def _written_by_xcal(path: Path, head: bytes) -> bool:
    """An HTML or PDF report, a JSON export or a CSV export file, by the marks xcal writes into each."""
    from .export import READING_COLUMNS, RUN_COLUMNS

    if _HTML_REPORT in head or _JSON_EXPORT.match(head):
        return True
    first = head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
    if first in (",".join(RUN_COLUMNS), ",".join(READING_COLUMNS)):
        return True
    if head.startswith(b"%PDF"):
        try:
            return _PDF_REPORT in path.read_bytes()
        except OSError:
            return False
    return False
