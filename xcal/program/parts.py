"""Spare parts inventory: parts received and parts used, each a store-level entry of the audit chain.

What is on hand is never stored, only worked out: received minus used, per part number. A use that would
take a part below zero is refused (the count would be wrong, or the receipt was never logged). A part is
named by its part number as the vendor writes it; the description is kept from its first receipt.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..records.chain import PART_RECEIVED, PART_USED


def _count(text: str | int) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"--quantity {text!r} is not a whole number of parts of 1 or more",
                          fix="give how many parts, e.g. --quantity 2")
    return value


def inventory(store: Any) -> list[dict[str, Any]]:
    """Each part ever received or used, in the order first seen: part, description, received, used, on_hand,
    and where the last use went."""
    parts: dict[str, dict[str, Any]] = {}
    for entry in store.entries_of_kind([PART_RECEIVED, PART_USED]):
        data = entry.data()
        row = parts.setdefault(data["part"], {"part": data["part"], "description": data.get("description") or "",
                                              "received": 0, "used": 0, "on_hand": 0, "last_used": None})
        if entry.kind == PART_RECEIVED:
            row["received"] += data["quantity"]
        else:
            row["used"] += data["quantity"]
            row["last_used"] = {"at": entry.at, "room": data.get("room"), "service": data.get("service"),
                                "by": data["by"]}
        row["on_hand"] = row["received"] - row["used"]
    return list(parts.values())


def receive(store: Any, part: str, quantity: str | int, description: str | None, by: str) -> dict[str, Any]:
    """Record parts received into stock; returns the part's inventory line."""
    number, count = _part(part), _count(quantity)
    store.append_entries(lambda: [(PART_RECEIVED, {"part": number, "quantity": count,
                                                   "description": (description or "").strip(), "by": by})])
    return next(p for p in inventory(store) if p["part"] == number)


def use(store: Any, part: str, quantity: str | int, room: str | None, service: str | None, by: str
        ) -> dict[str, Any]:
    """Record parts taken from stock (for a room, a service event); refused when fewer are on hand."""
    number, count = _part(part), _count(quantity)
    if service is not None:
        from .service import get_service

        service = get_service(store, service)["service_id"]

    def build() -> list[tuple[str, dict[str, Any]]]:
        line = next((p for p in inventory(store) if p["part"] == number), None)
        have = line["on_hand"] if line else 0
        if have < count:
            raise ConfigError(f"part {number}: {count} to use but {have} on hand",
                              fix=f"log the parts received first with `xcal parts receive --part {number} "
                                  f"--quantity N`, or check the count with `xcal parts list`")
        return [(PART_USED, {"part": number, "quantity": count, "room": room, "service": service, "by": by})]

    store.append_entries(build)
    return next(p for p in inventory(store) if p["part"] == number)


def _part(text: str) -> str:
    if not text or not text.strip():
        raise ConfigError("--part is empty", fix="give the part number, e.g. --part XT-150-INSERT")
    return text.strip()
