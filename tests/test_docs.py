"""The documentation builds strictly and offline, and the code and files it shows do what it says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
DRIVER_EXAMPLE = DOCS / "driver_example"
PAGES = ("index", "user-guide", "authoring", "drivers", "exit-codes", "api", "evidence")


def test_docs_build_with_no_warning_and_no_broken_reference(tmp_path):
    out = tmp_path / "html"
    build = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-E", "-q", "-b", "html",
                            "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert build.returncode == 0, build.stderr or build.stdout
    for page in PAGES:
        assert (out / f"{page}.html").is_file(), page
    api = (out / "api.html").read_text(encoding="utf-8")
    for documented in ("xcal.api.load_site", "xcal.testing.expected_protocol", "xcal.analysis.hvl",
                       "xcal.units.parse_quantity", "xcal.errors.InstrumentTimeout"):
        assert f'id="{documented}"' in api, documented


def test_the_driver_guide_example_passes_its_own_tests(pytester):
    for path in DRIVER_EXAMPLE.glob("*.py"):
        pytester.makepyfile(**{path.stem: path.read_text(encoding="utf-8")})
    outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_example_tpx.py")
    outcome.assert_outcomes(passed=5)


def _yaml_blocks(text: str) -> list[str]:
    """The bodies of the `.. code-block:: yaml` directives of a page, dedented."""
    blocks = []
    for match in re.finditer(r"^\.\. code-block:: yaml\n\n((?:(?:   .*)?\n)+)", text, re.MULTILINE):
        lines = match.group(1).splitlines()
        blocks.append("\n".join(line[3:] for line in lines).strip() + "\n")
    return blocks


def _shown_files(tmp_path: Path) -> dict[str, Path]:
    """The complete YAML files shown in the authoring guide, written out, by kind."""
    blocks = [b for b in _yaml_blocks((DOCS / "authoring.rst").read_text(encoding="utf-8")) if b.startswith("kind:")]
    files = {}
    for block in blocks:
        kind = block.splitlines()[0].split(":", 1)[1].strip()
        files[kind] = tmp_path / f"shown-{kind}.yaml"
        files[kind].write_text(block, encoding="utf-8")
    return files


def test_the_files_shown_in_the_authoring_guide_validate(xcal, tmp_path):
    files = _shown_files(tmp_path)
    assert sorted(files) == ["bundle", "inputs", "limit-set", "procedure"]
    result = xcal("validate", *map(str, files.values()))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert len(out.splitlines()) == 4
    assert "acme-rx900-manufacturer" in out and "annual-generator 1.0.0" in out and "light-field-check 1.0.0" in out


def test_the_entered_values_example_runs_with_its_inputs_file(xcal, tmp_path):
    import json

    files = _shown_files(tmp_path)
    result = xcal("run", str(files["procedure"]), "--room", "3", "--inputs", str(files["inputs"]), "--json")
    assert result.returncode == 0, result.stderr
    (check,) = json.loads(result.stdout)["checks"]
    assert check["verdict"] == "PASS" and abs(check["value"] - 0.007) < 1e-12
