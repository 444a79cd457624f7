"""Spare parts inventory: parts received and parts used, each a store-level entry of the audit chain.

What is on hand is never stored, only worked out: received minus used, per part number; a part is low when
fewer are on hand than the minimum its latest receipt that gave one set. A use that would
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
                                              "received": 0, "used": 0, "on_hand": 0, "last_used": None,
                                              "minimum": None, "low": False})
        if entry.kind == PART_RECEIVED:
            row["received"] += data["quantity"]
            if data.get("minimum") is not None:
                row["minimum"] = data["minimum"]
        else:
            row["used"] += data["quantity"]
            row["last_used"] = {"at": entry.at, "room": data.get("room"), "service": data.get("service"),
                                "by": data["by"]}
        row["on_hand"] = row["received"] - row["used"]
        row["low"] = row["minimum"] is not None and row["on_hand"] < row["minimum"]
    return list(parts.values())


def low_stock(store: Any) -> list[dict[str, Any]]:
    """The parts with fewer on hand than their minimum stock (set with `--minimum` on a receipt)."""
    return [p for p in inventory(store) if p["low"]]


def history(store: Any, part: str) -> list[dict[str, Any]]:
    """Every receipt and use of a part, oldest first, each with when, how many, who, and the room and service
    event a use went to; ConfigError naming how to list the parts when it was never recorded."""
    number = _part(part)
    rows = [{"at": e.at, "kind": "received" if e.kind == PART_RECEIVED else "used", **e.data()}
            for e in store.entries_of_kind([PART_RECEIVED, PART_USED]) if e.data()["part"] == number]
    if not rows:
        raise ConfigError(f"no part '{number}' was ever received or used",
                          fix="run `xcal parts list` to see the part numbers recorded")
    return rows


def parse_use(text: str) -> tuple[str, int]:
    """'PART' or 'PART:QTY' (a part taken from stock by a service event) as (part number, quantity)."""
    number, _, quantity = text.rpartition(":") if ":" in text else (text, "", "1")
    return _part(number), _count(quantity)


def stock_entries(store: Any, used: list[tuple[str, int]], room: str, service: str, by: str
                  ) -> list[tuple[str, dict[str, Any]]]:
    """The part_used entries of parts a service event took from stock; ConfigError when fewer are on hand (called
    inside the event's write, so the count cannot change before it is recorded)."""
    on_hand = {p["part"]: p["on_hand"] for p in inventory(store)}
    entries = []
    for number, count in used:
        have = on_hand.get(number, 0)
        if have < count:
            raise ConfigError(f"part {number}: {count} to use in the service but {have} on hand",
                              fix=f"log the parts received first with `xcal parts receive --part {number} "
                                  f"--quantity N`, or list the part with --part (not taken from stock)")
        on_hand[number] = have - count
        entries.append((PART_USED, {"part": number, "quantity": count, "room": room, "service": service, "by": by}))
    return entries


def receive(store: Any, part: str, quantity: str | int, description: str | None, by: str,
            minimum: str | int | None = None) -> dict[str, Any]:
    """Record parts received into stock (and the minimum to keep, when given); returns the part's inventory
    line."""
    number, count = _part(part), _count(quantity)
    least = None if minimum is None else _minimum(minimum)
    payload: dict[str, Any] = {"part": number, "quantity": count, "description": (description or "").strip(),
                               "by": by}
    if least is not None:
        payload["minimum"] = least
    store.append_entries(lambda: [(PART_RECEIVED, payload)])
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


def _minimum(text: str | int) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(f"--minimum {text!r} is not a whole number of 0 or more",
                          fix="give the fewest parts to keep on hand, e.g. --minimum 2")
    return value


def _part(text: str) -> str:
    if not text or not text.strip():
        raise ConfigError("--part is empty", fix="give the part number, e.g. --part XT-150-INSERT")
    return text.strip()
