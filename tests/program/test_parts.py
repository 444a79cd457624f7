"""The spare parts inventory end to end: worked by hand, 2 received, 1 used in room 4 for service event SE-1,
leaves 1 on hand; using 2 more is refused (1 on hand) and changes nothing."""

from __future__ import annotations

import json


def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_received_minus_used_is_on_hand_and_a_use_beyond_it_is_refused(cli):
    assert cli("service", "record", "--room", "4", "--component", "tube", "--work", "replaced", "--vendor", "V",
                "--engineer", "A. Field", "--down-from", "2026-12-01", "--down-to", "2026-12-02", "--done",
                "insert replaced").returncode == 0
    got = _json(cli("parts", "receive", "--part", "XT-150-INSERT", "--quantity", "2", "--description",
                     "tube insert", "--json"))
    assert (got["received"], got["used"], got["on_hand"], got["last_used"]) == (2, 0, 2, None)
    used = _json(cli("parts", "use", "--part", "XT-150-INSERT", "--quantity", "1", "--room", "4", "--service",
                      "se-1", "--name", "A. Field", "--json"))
    assert (used["on_hand"], used["used"], used["description"]) == (1, 1, "tube insert")
    assert (used["last_used"]["room"], used["last_used"]["service"], used["last_used"]["by"]) == ("4", "SE-1",
                                                                                                 "A. Field")
    refused = cli("parts", "use", "--part", "XT-150-INSERT", "--quantity", "2")
    assert refused.returncode == 2 and "2 to use but 1 on hand" in refused.stderr and "fix:" in refused.stderr
    (line,) = _json(cli("parts", "list", "--json"))
    assert (line["part"], line["on_hand"]) == ("XT-150-INSERT", 1)
    assert _json(cli("verify", "--json"))["ok"] is True


def test_bad_part_input_is_refused_naming_the_fix(cli):
    zero = cli("parts", "receive", "--part", "FUSE-10A", "--quantity", "0")
    assert zero.returncode == 2 and "not a whole number of parts of 1 or more" in zero.stderr
    unknown = cli("parts", "use", "--part", "FUSE-10A", "--quantity", "1", "--service", "SE-7")
    assert unknown.returncode == 2 and "no service event 'SE-7'" in unknown.stderr
    room = cli("parts", "use", "--part", "FUSE-10A", "--quantity", "1", "--room", "99")
    assert room.returncode == 2 and "no room '99'" in room.stderr
    assert _json(cli("parts", "list", "--json")) == []
