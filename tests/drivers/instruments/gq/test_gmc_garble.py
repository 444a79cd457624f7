"""Mutated GQ GMC count replies (seeded): which the driver refuses and which no check can tell from a real one.

80 mutations of four true replies, written from the specs: GETCPM 1538 cpm and GETCPS 25 cps in RFC1201 (2 bytes,
CPS with its top 2 bits reserved) and RFC1801 (4 bytes). The expected verdicts come from the specs alone: a
reply cut short or followed by more bytes is not a reply; RFC1201 CPS with a reserved bit set is not one; a
count above what two GM tubes of 10 µs dead time could count (CPS 2 × (1/10 µs + 1) = 200002, CPM
2 × (60/10 µs + 12) = 12000024) is not one; an RFC1201 CPM of 0xFFFF is the full register (saturated). Every
other reply of the right length is a count the counter could have sent: accepted, and listed below.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.instruments.gq.gmc import RFC1201, RFC1801, GqGmc
from xcal.errors import InstrumentError, ProtocolError
from xcal.simulators.gq_gmc import GmcSimulator
from xcal.simulators.server import PtySimServer, WireFault, serve_pty
from xcal.units import Q_

from ...protocol import ExpectedProtocol, expected_protocol

VERSION = {RFC1201: b"GMC-300Re 2.10", RFC1801: b"GMC-600+Re 1.14"}
TRUE_REPLIES = [                                  # (variant, command, reply, value)
    (RFC1201, "GETCPM", b"\x06\x02", 1538),
    (RFC1201, "GETCPS", b"\x00\x19", 25),
    (RFC1801, "GETCPM", b"\x00\x00\x06\x02", 1538),
    (RFC1801, "GETCPS", b"\x00\x00\x00\x19", 25),
]
CPS_LIMIT = 200_002
CPM_LIMIT = 12_000_024
KINDS = ("flip", "truncate", "extend", "noise")
ACCEPTED = [                                      # the seeded corpus's replies no check can tell from true ones
    # one bit flipped in an RFC1201 CPM (06 02): any 16-bit value below FFFF is a count
    ("flip", RFC1201, "GETCPM", "06 42"), ("flip", RFC1201, "GETCPM", "06 22"),
    ("flip", RFC1201, "GETCPM", "0e 02"), ("flip", RFC1201, "GETCPM", "06 12"),
    ("flip", RFC1201, "GETCPM", "16 02"),
    # one of the 14 count bits flipped in an RFC1201 CPS (00 19); the reserved bits stay clear
    ("flip", RFC1201, "GETCPS", "00 1b"), ("flip", RFC1201, "GETCPS", "20 19"),
    ("flip", RFC1201, "GETCPS", "00 1b"), ("flip", RFC1201, "GETCPS", "00 11"),
    # RFC1801 flips that stay under the bound: 525826, 5634, 132610, 67074 cpm; 537, 1049 cps
    ("flip", RFC1801, "GETCPM", "00 08 06 02"), ("flip", RFC1801, "GETCPM", "00 00 16 02"),
    ("flip", RFC1801, "GETCPM", "00 02 06 02"), ("flip", RFC1801, "GETCPM", "00 01 06 02"),
    ("flip", RFC1801, "GETCPS", "00 00 02 19"), ("flip", RFC1801, "GETCPS", "00 00 04 19"),
    # two bytes of noise for an RFC1201 CPM: again any value below FFFF is a count
    ("noise", RFC1201, "GETCPM", "67 85"), ("noise", RFC1201, "GETCPM", "08 5c"),
    ("noise", RFC1201, "GETCPM", "8d be"), ("noise", RFC1201, "GETCPM", "86 3d"),
    ("noise", RFC1201, "GETCPM", "f8 a5"),
]


def mutate(kind: str, reply: bytes, rng: random.Random) -> bytes:
    if kind == "flip":
        bit = rng.randrange(8 * len(reply))
        value = int.from_bytes(reply, "big") ^ (1 << bit)
        return value.to_bytes(len(reply), "big")
    if kind == "truncate":
        return reply[: rng.randrange(1, len(reply))]
    if kind == "extend":
        return reply + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 5)))
    return bytes(rng.randrange(256) for _ in reply)


def mutations() -> list[tuple[str, str, str, bytes]]:
    """(kind, variant, command, mutated reply): 5 of each kind for each true reply, seed 1201."""
    rng = random.Random(1201)
    cases = []
    for kind in KINDS:
        for variant, name, reply, _ in TRUE_REPLIES:
            cases += [(kind, variant, name, mutate(kind, reply, rng)) for _ in range(5)]
    return cases


def spec_verdict(variant: str, name: str, reply: bytes) -> str:
    """What the specs allow: "accept" a reply the counter could have sent, else "refuse"."""
    size = 2 if variant == RFC1201 else 4
    if len(reply) != size:
        return "refuse"
    value = int.from_bytes(reply, "big")
    if variant == RFC1201 and name == "GETCPS" and value >> 14:
        return "refuse"
    if value > (CPS_LIMIT if name == "GETCPS" else CPM_LIMIT):
        return "refuse"
    if variant == RFC1201 and name == "GETCPM" and value == 0xFFFF:
        return "refuse"
    return "accept"


def gmc(exchanges: list, **options: Any) -> Any:
    """The driver on a fake link allowing exactly `exchanges`."""
    return expected_protocol(GqGmc, exchanges, resource="/dev/ttyUSB0", name="gmc-1", **options)


def driver_verdict(variant: str, name: str, reply: bytes) -> tuple[str, str]:
    fake = ExpectedProtocol([(b"<GETVER>>", VERSION[variant]), (f"<{name}>>".encode(), reply),
                             (b"<GETVER>>", VERSION[variant])])
    driver = GqGmc("/dev/ttyUSB0", name="gmc-1", transport=fake)
    read = driver.read_cpm if name == "GETCPM" else driver.read_cps
    try:
        value = read()
    except ProtocolError as exc:
        return "refuse", f"ProtocolError: {exc.message}"
    except InstrumentError as exc:
        return "refuse", f"{type(exc).__name__}: {exc.message}"
    return "accept", f"{value:~P}"


def test_the_corpus_is_80_replies_of_every_kind() -> None:
    cases = mutations()
    assert len(cases) == 80
    assert {kind: sum(c[0] == kind for c in cases) for kind in KINDS} == dict.fromkeys(KINDS, 20)
    assert all(c[3] != r for c in cases for v, n, r, _ in TRUE_REPLIES if (c[1], c[2]) == (v, n))


def test_mutated_replies_are_refused_unless_the_spec_allows_them() -> None:
    verdicts = [(case, *driver_verdict(*case[1:])) for case in mutations()]
    wrong = [(case, verdict, why) for case, verdict, why in verdicts if verdict != spec_verdict(*case[1:])]
    assert wrong == []
    accepted = [(kind, variant, name, reply.hex(" ")) for (kind, variant, name, reply), verdict, _ in verdicts
                if verdict == "accept"]
    # All 40 truncated or extended replies are refused, and of the 40 of the right length: a reserved bit
    # (RFC1201 CPS: 1 flip, 5 noise) and over the bound (RFC1801: 4 flips, 10 noise), 20 in all.
    assert accepted == ACCEPTED
    refusals = [why for _, verdict, why in verdicts if verdict == "refuse"]
    assert len(refusals) == 60
    assert all(why.startswith("ProtocolError") for why in refusals)


def test_every_truncated_or_extended_reply_names_what_was_wrong() -> None:
    for kind, variant, name, reply in mutations():
        if kind not in ("truncate", "extend"):
            continue
        verdict, why = driver_verdict(variant, name, reply)
        assert verdict == "refuse", (kind, reply)
        assert ("partial reply" if kind == "truncate" else "more than") in why


@pytest.mark.parametrize("reply, problem", [
    (b"\x40\x19", "reserved"),                    # bit 14 set: 0x4019
    (b"\x80\x19", "reserved"),                    # bit 15 set
])
def test_an_rfc1201_cps_with_a_reserved_bit_set_is_refused(reply: bytes, problem: str) -> None:
    verdict, why = driver_verdict(RFC1201, "GETCPS", reply)
    assert verdict == "refuse" and problem in why


def test_a_site_dead_time_tightens_the_count_bound() -> None:
    # τ = 90 µs: at most 2 × (1/90 µs + 1) = 22224.2 -> 22224 counts in a second; 0x00005700 = 22272 is more.
    with gmc([(b"<GETCPS>>", b"\x00\x00\x57\x00")], variant="RFC1801", dead_time="90 µs") as driver:
        with pytest.raises(ProtocolError, match="22272 cps.*more than"):
            driver.read_cps()
    with gmc([(b"<GETCPS>>", b"\x00\x00\x56\xd0"), (b"<GETVER>>", VERSION[RFC1801])], variant="RFC1801",
             dead_time="90 µs") as driver:
        assert driver.read_cps() == Q_(22224, "cps")          # 0x56d0 = 22224, exactly the bound


def test_a_reading_whose_version_check_comes_back_shifted_is_refused() -> None:
    # A stray 00 before the count 06 02 shifts what follows: the count reads 00 06 (6 cpm, a possible count),
    # its last byte 02 comes late, after the quiet window, and heads the reply to the version check.
    fake = ExpectedProtocol([(b"<GETVER>>", VERSION[RFC1201]), (b"<GETCPM>>", b"\x00\x06"),
                             (b"<GETVER>>", b"\x02" + VERSION[RFC1201])])
    driver = GqGmc("/dev/ttyUSB0", name="gmc-1", transport=fake)
    with pytest.raises(ProtocolError, match=r"<GETVER>>.*starts with 'GMC-'"):
        driver.read_cpm()


GMC_300 = InstrumentIdentity("GQ Electronics", "GMC-300", "F488E1A7B2C3D4", "2.10")


@pytest.fixture
def pty300() -> Iterator[tuple[GmcSimulator, PtySimServer]]:
    sim = GmcSimulator(GMC_300, background_usv_h=0.0, seed=3)
    sim.set_field(10.0)                                       # 1538 cpm
    with serve_pty(sim, name="gmc-300") as server:
        yield sim, server


def connect(server: PtySimServer) -> GqGmc:
    return GqGmc(server.resource, name="gmc-1", timeout=Q_(0.3, "s"), sensitivity="153.8 cpm/(µSv/h)")


def test_the_reported_case_a_garbled_link_stops_the_reading_instead_of_giving_425_usv_h(
        pty300: tuple[GmcSimulator, PtySimServer]) -> None:
    # Garble from the second request on: GETCPM comes back FF 8x..FF FF (65408-65535 cpm, 425.3-426.1 µSv/h at
    # 153.8 cpm/(µSv/h)), a possible count on its own; the version check after it comes back garbled too.
    _, server = pty300
    with connect(server) as driver:
        assert driver.version().model == "GMC-300"
        server.inject(WireFault("garble"))
        with pytest.raises(ProtocolError, match="<GETVER>>"):
            driver.read_now()


def test_a_count_cut_short_on_the_wire_is_a_protocol_error(pty300: tuple[GmcSimulator, PtySimServer]) -> None:
    _, server = pty300
    server.inject(WireFault("partial", "GETCPM", count=1))
    with connect(server) as driver:
        with pytest.raises(ProtocolError, match="partial reply to <GETCPM>>"):
            driver.read_now()
        assert driver.read_now()["count_rate"].magnitude > 0


class Trailing(GmcSimulator):
    """A GMC-300 whose GETCPM reply comes with one byte too many."""

    def respond(self, request: bytes) -> bytes | None:
        reply = super().respond(request)
        return reply + b"\x00" if request == b"GETCPM" and reply else reply


def test_a_count_with_a_byte_too_many_on_the_wire_is_a_protocol_error() -> None:
    sim = Trailing(GMC_300, background_usv_h=0.0, seed=3)
    with serve_pty(sim, name="gmc-300") as server, connect(server) as driver:
        with pytest.raises(ProtocolError, match=r"<GETCPM>>.*1 byte more than"):
            driver.read_now()
