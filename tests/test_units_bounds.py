"""parse_quantity bounds its input before pint sees it: every bad text is a ValueError naming it, quickly."""

from __future__ import annotations

import time

import pytest

from xcal.units import parse_quantity

HOSTILE = [
    ("100 1/0", "divides by zero"),
    ("100 (cm", "parentheses"),
    ("(" * 1000 + "1" + ")" * 1000 + " cm", "characters"),
    ("(((((((1))))))) cm", "parentheses"),
    ("9**9**9 cm", "power"),
    ("2**(9*9) cm", "power"),
    ("1 cm^99999", "power"),
    ("1 " + "m*" * 10000 + "m", "characters"),
    ("1" * 400 + " kV", "characters"),
    ("9" * 60 + "**9 kV", "too large"),
]


@pytest.mark.parametrize("text, problem", HOSTILE, ids=[t[:20] for t, _ in HOSTILE])
def test_hostile_text_is_a_quick_clear_value_error(text, problem):
    parse_quantity("1 kV")                                   # the registry is built before the clock starts
    start = time.monotonic()
    with pytest.raises(ValueError) as caught:
        parse_quantity(text)
    assert time.monotonic() - start < 0.5
    message = str(caught.value)
    assert problem in message and repr(text[:40])[:-1] in message


@pytest.mark.parametrize("text, magnitude, unit", [("2.5 mm", 2.5, "mm"), ("10 Gy*cm**2", 10, "Gy * cm ** 2"),
                                                   ("1 cpm/(Sv/h)", 1, "cpm / (Sv / h)"), ("3 m^-2", 3, "1 / m ** 2"),
                                                   ("2 (mGy/s)**2", 2, "mGy ** 2 / s ** 2")])
def test_ordinary_quantities_still_parse(text, magnitude, unit):
    q = parse_quantity(text)
    assert q.magnitude == magnitude and str(q.units) == str(parse_quantity(f"1 {unit}").units)


@pytest.mark.parametrize("text, problem", HOSTILE, ids=[t[:20] for t, _ in HOSTILE])
def test_hostile_text_typed_at_a_question_is_refused_quickly_too(text, problem):
    from xcal.units import parse_typed

    parse_quantity("1 kV")
    start = time.monotonic()
    with pytest.raises(ValueError) as caught:
        parse_typed(text, "cm")
    assert time.monotonic() - start < 0.5 and "type a number in cm" in str(caught.value)


@pytest.mark.e2e
@pytest.mark.parametrize("text, problem", [("9**9**9 m", "power"), ("100 1/0", "divides by zero"),
                                           ("(" * 1000 + "2 m" + ")" * 1000, "characters")])
def test_a_hostile_distance_on_the_command_line_is_a_located_error_not_a_traceback(xcal, text, problem):
    result = xcal("shielding", "--barrier", "secondary", "--distance", text, "--area", "uncontrolled", timeout=30)
    assert result.returncode == 2 and "--distance" in result.stderr and problem in result.stderr
    assert "Traceback" not in result.stderr
