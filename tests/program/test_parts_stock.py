"""Parts a service event takes from stock, the low-stock report and a part's history, worked by hand: 3 inserts
received with a minimum of 2; the tube replacement SE-1 takes 2, leaving 1 (below 2: low); a second event asking
for 2 is refused (1 on hand) and records nothing, not even the event."""

from __future__ import annotations

import json


def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _service(cli, *extra):
    return cli("service", "record", "--room", "4", "--component", "tube", "--work", "replaced", "--vendor", "V",
                "--engineer", "A. Field", "--down-from", "2026-11-01", "--down-to", "2026-11-02", "--done",
                "insert replaced", *extra)


def test_a_service_takes_its_parts_from_stock_and_names_them(cli):
    cli("parts", "receive", "--part", "XT-150", "--quantity", "3", "--minimum", "2", "--description", "insert")
    assert _json(cli("parts", "low", "--json")) == []
    event = _json(_service(cli, "--use-part", "XT-150:2", "--part", "gasket (vendor's own)", "--json"))
    assert event["parts_used"] == [{"part": "XT-150", "quantity": 2}]
    assert event["parts"] == ["gasket (vendor's own)", "XT-150 x2 (from stock)"]
    (low,) = _json(cli("parts", "low", "--json"))
    assert (low["part"], low["on_hand"], low["minimum"], low["low"]) == ("XT-150", 1, 2, True)
    assert "LOW XT-150 (insert): 1 on hand, minimum 2" in cli("parts", "low").stdout
    history = _json(cli("parts", "show", "XT-150", "--json"))
    assert [(h["kind"], h["quantity"], h.get("service")) for h in history] == [("received", 3, None),
                                                                                ("used", 2, "SE-1")]
    refused = _service(cli, "--use-part", "XT-150:2")
    assert refused.returncode == 2 and "2 to use in the service but 1 on hand" in refused.stderr
    assert [s["service_id"] for s in _json(cli("service", "list", "--json"))] == ["SE-1"]
    assert _json(cli("verify", "--json"))["ok"] is True
