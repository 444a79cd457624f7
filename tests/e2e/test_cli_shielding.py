"""`xcal shielding` against NCRP 147 numbers worked out by hand."""

import pytest

pytestmark = pytest.mark.e2e


def test_secondary_barrier_of_a_rad_room(xcal):
    # B = P d² / (K1_sec N T) = 0.02 × 2² / (0.034 × 110 × 1) = 0.08 / 3.74 = 0.021390.
    # Lead (α 2.298, β 17.38, γ 0.6193): B^-γ = exp(0.6193 × 3.84481) = 10.8167; β/α = 7.56310;
    # x = ln((10.8167 + 7.5631) / 8.5631) / (2.298 × 0.6193) = ln(2.14641) / 1.42315 = 0.5367 mm.
    result = xcal("shielding", "--barrier", "secondary", "--distance", "2 m", "--area", "uncontrolled",
                  "--patients", "110")
    assert result.returncode == 0, result.stderr
    assert "B = 0.02139" in result.stdout
    lead = next(line for line in result.stdout.splitlines() if line.strip().startswith("lead"))
    assert float(lead.split()[1]) == pytest.approx(0.5367, abs=0.006)


def test_primary_barrier_subtracts_the_bucky_preshielding(xcal):
    # Chest bucky primary, controlled area, d = 1.5 m, U = 0.25, N = 110, T = 1, K1_P = 2.3 mGy:
    # B = 0.1 × 1.5² / (2.3 × 0.25 × 110) = 0.225 / 63.25 = 0.0035573.
    # Lead (α 2.264, β 13.08, γ 0.56): B^-γ = exp(0.56 × 5.63884) = 23.5178; β/α = 5.77739;
    # x = ln((23.5178 + 5.77739) / 6.77739) / (2.264 × 0.56) = ln(4.32249) / 1.26784 = 1.1546 mm;
    # less the bucky's 0.85 mm pre-shielding: 0.3046 mm.
    args = ["shielding", "--workload", "Rad Room (chest bucky)", "--barrier", "primary", "--distance", "1.5 m",
            "--area", "controlled", "--use-factor", "0.25"]
    base = xcal(*args)
    pre = xcal(*args, "--preshielding", "image receptor in table or wall bucky")
    assert base.returncode == 0 and pre.returncode == 0, base.stderr + pre.stderr
    assert "B = 0.003557" in base.stdout

    def lead(out):
        return float(next(row for row in out.splitlines() if row.strip().startswith("lead")).split()[1])

    assert lead(base.stdout) == pytest.approx(1.1546, abs=0.006)
    assert lead(pre.stdout) == pytest.approx(0.3046, abs=0.006)


def test_a_primary_barrier_without_use_factor_is_a_clear_error(xcal):
    result = xcal("shielding", "--barrier", "primary", "--distance", "2 m", "--k1", "5.2 mGy")
    assert result.returncode == 2 and "use factor" in result.stderr


def test_a_distance_without_unit_is_refused(xcal):
    result = xcal("shielding", "--barrier", "secondary", "--distance", "2")
    assert result.returncode == 2 and "--distance" in result.stderr
