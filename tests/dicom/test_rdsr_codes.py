"""The dose report's codes held against DICOM PS3.16's code dictionary as pydicom ships it, its units against
UCUM's grammar, and the report against DCMTK's SR checks."""

from __future__ import annotations

import pytest

pytest.importorskip("pydicom", reason="the dicom extra (pydicom) is not installed")

import re
import shutil
import subprocess

from pydicom.sr._concepts_dict import concepts

from xcal.dicom import rdsr
from xcal.dicom.objects import save
from xcal.units import Q_

EVENTS = [{"dap_gy_m2": 2.5e-5, "rp_air_kerma_gy": 1.2e-3, "kvp": 70.0, "ma": 100.0, "ms": 28.0}]
NO_CID = "—"


def _dictionary(scheme: str) -> dict[str, tuple[str, set[int]]]:
    """pydicom's entries of one coding scheme: code value -> (meaning, the CIDs listing it)."""
    return {value: (meaning, set(cids)) for by_value in concepts[scheme].values()
            for value, (meaning, cids) in by_value.items()}


DCM = _dictionary("DCM")


def _cids(cell: str) -> set[int]:
    return set() if NO_CID in cell else {int(n) for n in re.findall(r"\b\d{3,5}\b", cell)}


def _table() -> list[tuple[str, str, set[int]]]:
    """(value, meaning, CIDs) of every code in rdsr's evidence table: each row's concept, and a coded value
    with its CIDs in brackets."""
    rows = []
    for line in (rdsr.__doc__ or "").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[0].isdigit():
            continue
        rows.append((cells[0], cells[1], _cids(cells[2])))
        coded = re.match(r"CODE (\d+) (.+?) \(CID (.+)\)$", cells[4])
        if coded:
            rows.append((coded[1], coded[2], _cids(coded[3])))
    return rows


def _disagreements(scheme: str, codes: list[tuple[str, str]]) -> list[str]:
    """Each (value, meaning) that pydicom's dictionary of `scheme` lacks or gives another meaning."""
    known = _dictionary(scheme)
    out = []
    for value, meaning in codes:
        if value not in known:
            out.append(f"({value}, {scheme}) is not in the dictionary")
        elif known[value][0] != meaning:
            out.append(f"({value}, {scheme}) means '{known[value][0]}', not '{meaning}'")
    return out


def _report_codes(ds) -> list[tuple[str, str, str]]:
    """(scheme, value, meaning) of every concept name and coded value in a report's content tree."""
    found = []
    for item in [ds, *_walk(ds)]:
        for seq in ("ConceptNameCodeSequence", "ConceptCodeSequence"):
            for c in item.get(seq, []):
                found.append((str(c.CodingSchemeDesignator), str(c.CodeValue), str(c.CodeMeaning)))
    return found


def _walk(ds):
    for item in ds.get("ContentSequence", []):
        yield item
        yield from _walk(item)


def _units(ds) -> set[str]:
    return {(str(u.CodingSchemeDesignator), str(u.CodeValue)) for item in _walk(ds)
            for m in item.get("MeasuredValueSequence", []) for u in m.MeasurementUnitsCodeSequence}


def test_every_code_of_the_evidence_table_is_the_dictionary_s():
    table = _table()
    assert len({v for v, _, _ in table}) == 34          # 29 rows, 5 coded values (113704, 113014, 121007, ...)
    assert _disagreements("DCM", [(v, m) for v, m, _ in table]) == []


def test_the_cid_column_is_where_the_dictionary_lists_each_code():
    # A code pydicom lists in no CID shows —; one it lists shows some of those CIDs and no other.
    wrong = [f"{v} {m}: table {sorted(c)}, pydicom {sorted(DCM[v][1])}" for v, m, c in _table()
             if not (c <= DCM[v][1] and bool(c) == bool(DCM[v][1]))]
    assert wrong == []
    assert {v: sorted(c) for v, _, c in _table() if c}["113014"] == [10000]


def test_every_code_a_report_holds_is_dcm_agrees_and_is_in_the_table():
    written = _report_codes(rdsr.build_report(EVENTS, station_name="RAD3", device_serial="X"))
    assert {s for s, _, _ in written} == {"DCM"}
    assert _disagreements("DCM", [(v, m) for _, v, m in written]) == []
    assert {v for _, v, _ in written} <= {v for v, _, _ in _table()}


def test_the_module_s_named_codes_agree():
    named = [value for value in vars(rdsr).values()
             if isinstance(value, tuple) and len(value) == 2 and all(isinstance(x, str) for x in value)
             and value[0].isdigit()]
    named += list(rdsr.SINGLE_PLANE)
    assert len(named) >= 20
    assert _disagreements("DCM", named) == []


def test_a_wrong_meaning_or_value_is_caught():
    assert _disagreements("DCM", [("113722", "Dose Area Product Totals")]) == [
        "(113722, DCM) means 'Dose Area Product Total', not 'Dose Area Product Totals'"]
    assert _disagreements("DCM", [("113799", "Dose")]) == ["(113799, DCM) is not in the dictionary"]


def test_a_reader_matches_a_concept_by_scheme_and_value():
    ds = rdsr.build_report(EVENTS, station_name="RAD3", device_serial="X")
    ds.ContentSequence[-1].ContentSequence[4].ConceptNameCodeSequence[0].CodingSchemeDesignator = "99PRIVATE"
    event = rdsr.read_report(ds).events[0]
    assert event.dap is None and event.rp_air_kerma.to("mGy").magnitude == pytest.approx(1.2)


def test_sop_class_is_the_standard_s_x_ray_radiation_dose_sr():
    from pydicom._uid_dict import UID_dictionary
    from pydicom.uid import XRayRadiationDoseSRStorage

    assert XRayRadiationDoseSRStorage == rdsr.XRAY_DOSE_SR
    assert UID_dictionary[rdsr.XRAY_DOSE_SR][:2] == ("X-Ray Radiation Dose SR Storage", "SOP Class")


# ---- units: UCUM's grammar, enough of it for dose reports ----

_PREFIX = {"": "", "d": "d", "c": "c", "m": "m", "u": "µ", "k": "k"}
_SIMPLE = re.compile(r"^(?P<prefix>[dcumk]?)(?P<atom>Gy|m|s|V|A)(?P<exp>[1-9])?$")


def _ucum_to_pint(code: str) -> str:
    """A UCUM product of simple units (prefix, atom, exponent, `.` between) or an annotation, as pint spells it;
    ValueError for anything else."""
    if re.fullmatch(r"\{[^{}]+\}", code):
        return ""
    parts = []
    for component in code.split("."):
        simple = _SIMPLE.match(component)
        if not simple:
            raise ValueError(f"'{component}' of '{code}' is not a prefixed UCUM unit")
        exp = f"**{simple['exp']}" if simple["exp"] else ""
        parts.append(f"{_PREFIX[simple['prefix']]}{simple['atom']}{exp}")
    return "*".join(parts)


@pytest.mark.parametrize("code", sorted(rdsr.UCUM))
def test_each_unit_is_ucum_and_reads_as_its_grammar_says(code):
    derived = Q_(1.0, _ucum_to_pint(code))
    assert derived.to(rdsr.UCUM[code]).magnitude == pytest.approx(1.0)


def test_the_grammar_refuses_what_is_not_ucum():
    for bad in ("Gy*m**2", "Gy·m²", "mAs", "frames"):
        with pytest.raises(ValueError):
            _ucum_to_pint(bad)


def test_a_report_writes_only_ucum_units_and_pydicom_s_where_it_has_them():
    units = _units(rdsr.build_report(EVENTS, station_name="RAD3", device_serial="X"))
    assert {s for s, _ in units} == {"UCUM"}
    assert {u for _, u in units} == {"Gy.m2", "Gy", "s", "{frames}", "kV", "mA", "ms", "uA.s"}
    ucum = _dictionary("UCUM")
    assert {u for _, u in units} & set(ucum) == {"Gy", "s", "kV", "ms"}


@pytest.mark.parametrize(("unit", "value"), [("Gy.m2", 1.2e-5), ("uGy.m2", 12.0), ("Gy.cm2", 0.12),
                                             ("dGy.cm2", 1.2), ("cGy.cm2", 12.0), ("mGy.cm2", 120.0)])
def test_a_dap_in_any_unit_reads_as_the_same_gy_m2(unit, value):
    # 1 cm² = 1e-4 m²: 1.2e-5 Gy·m² = 0.12 Gy·cm² = 1.2 dGy·cm² = 12 cGy·cm² = 120 mGy·cm² = 12 µGy·m².
    ds = rdsr.build_report(EVENTS, station_name="RAD3", device_serial="X")
    measured = ds.ContentSequence[-1].ContentSequence[4].MeasuredValueSequence[0]
    measured.MeasurementUnitsCodeSequence[0].CodeValue = unit
    measured.NumericValue = repr(value)
    dap = rdsr.read_report(ds).events[0].dap
    assert dap.to("Gy*m**2").magnitude == pytest.approx(1.2e-5)
    assert dap.to("µGy*m**2").magnitude == pytest.approx(12.0)


# ---- DCMTK ----

def _dsrdump(path):
    tool = shutil.which("dsrdump")
    if tool is None:
        pytest.skip("DCMTK's dsrdump is not installed: apt-get install dcmtk")
    return subprocess.run([tool, "-ll", "warn", "+Pc", "+Pt", str(path)], capture_output=True, text=True,
                          timeout=30, check=False)


def test_dsrdump_finds_nothing_to_warn_about(tmp_path):
    done = _dsrdump(save(rdsr.build_report(EVENTS, station_name="RAD3", device_serial="X"), tmp_path / "sr.dcm"))
    assert done.returncode == 0 and done.stderr == ""
    assert "invalid code" not in done.stdout
    assert '<CONTAINER:(113701,DCM,"X-Ray Radiation Dose Report")=SEPARATE>  # TID 10001 (DCMR)' in done.stdout


def test_dsrdump_refuses_a_relationship_the_iod_forbids(tmp_path):
    ds = rdsr.build_report(EVENTS, station_name="RAD3", device_serial="X")
    ds.ContentSequence[-1].ContentSequence[4].RelationshipType = "INFERRED FROM"
    done = _dsrdump(save(ds, tmp_path / "sr.dcm"))
    assert done.returncode != 0 and 'Cannot add "inferred from NUM" to CONTAINER' in done.stderr
