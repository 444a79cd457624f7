"""Bring a record store to this xcal's schema: the upgrades a person must run and put their name to.

An upgrade that adopts existing records into the audit chain never runs when a store is merely opened: a
person runs `xcal --db LOCATION upgrade-store --name NAME`, and the chain records their name with the upgrade.
"""

from __future__ import annotations

from dataclasses import dataclass

from .schema import SCHEMA_VERSION


@dataclass(frozen=True)
class Upgraded:
    """Where the store is, and the schema versions it was brought up from (none: it was already current)."""

    where: str
    from_versions: tuple[int, ...]
    to_version: int = SCHEMA_VERSION


def upgrade_store(db: str | None, name: str) -> Upgraded:
    """Open the store at `db` with `name` as the person upgrading; ConfigError if the store cannot be upgraded."""
    from .store import Store

    with Store(db, upgrade_by=name) as store:
        return Upgraded(str(store.path), tuple(store.upgraded_from))
