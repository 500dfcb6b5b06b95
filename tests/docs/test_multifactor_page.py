"""The several-factors docs page follows the data, the spec, the tests and the validation run.

``docs/analyses/subgroups_multifactor.md`` prints the published margins, the priors and
what they imply, numbers quoted from the tests, and the simulation validation tables of
``scripts/validate_multifactor.py`` (packaged in ``bayesblina/validation/results``); each
is recomputed or re-read here, and the validation run must meet the issue's criteria.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from bayesblina.analyses.multifactor.validation import sbc_checks
from bayesblina.analyses.multifactor.validation_tables import load_results
from bayesblina.reconstruct.margins import LEVELS, published_margins

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "analyses" / "subgroups_multifactor.md"
SPEC = ROOT / "models" / "subgroups_multifactor.toml"


@pytest.fixture(scope="module")
def page() -> str:
    return PAGE.read_text(encoding="utf-8")


def margin_rows() -> list[str]:
    """Rows of the page's margins table, from the packaged data."""
    rows = published_margins().rows
    out = []
    for f in ("age", "refractory"):
        parts = []
        for ph in ("pk_expansion", "phase_2"):
            r = rows[(rows["margin"] == f"phase x {f}") & (rows["phase"] == ph)]
            parts.append(" / ".join(str(int(r[r["level"] == lv]["count"].iat[0]))
                                    for lv in LEVELS[f]))
        c = rows[rows["margin"] == f"cr x {f}"]
        crs = []
        for lv in LEVELS[f]:
            x = int(c[(c["level"] == lv) & (c["cr"] == "1")]["count"].iat[0])
            n = x + int(c[(c["level"] == lv) & (c["cr"] == "0")]["count"].iat[0])
            crs.append(f"{x}/{n}")
        out.append(f"| {f} | {' / '.join(LEVELS[f])} | {parts[0]} | {parts[1]} | "
                   f"{' / '.join(crs)} |")
    return out


def prior_rows() -> list[str]:
    spec = tomllib.loads(SPEC.read_text(encoding="utf-8"))
    out = []
    for name, p in spec["priors"].items():
        mu, tau = p["mu"], p["tau"]
        assert mu["family"] == "normal" and tau["family"] == "half_normal"
        out.append(f"| `{name}` | N({mu['mu']:g}, {mu['sigma']:g}²) (logit 0.3) | "
                   f"half-normal({tau['sigma']:g}) | {math.sqrt(2) * tau['sigma']:.2f} |")
        assert mu["mu"] == pytest.approx(math.log(0.3 / 0.7), abs=1e-4)
    return out


def test_page_tables_match_data_and_spec(page: str) -> None:
    for row in margin_rows() + prior_rows():
        assert row in page, row


def test_page_claims_about_the_infants_follow_the_data(page: str) -> None:
    rows = published_margins().rows
    lt2 = rows[rows["margin"] == "age<2 x marrow_blasts x cr"]
    high = int(lt2[lt2["marrow_blasts"] == ">=50%"]["count"].sum())
    n_lt2 = int(lt2["count"].sum())
    pts = published_margins().patients
    high_all = int((pts["marrow_blasts"] == ">=50%").sum())
    assert (high, n_lt2) == (8, 10)
    assert f"{high} of the {n_lt2} have ≥ 50%" in page
    assert f"against {high_all - high} of the other {len(pts) - n_lt2}" in page
    assert high / n_lt2 > (high_all - high) / (len(pts) - n_lt2)  # "more", not less


def test_page_quotes_the_tests_and_spec_settings(page: str) -> None:
    tests = (ROOT / "tests" / "analyses" / "multifactor" / "test_model.py").read_text(
        encoding="utf-8")
    assert '("refractory", 4044), ("age", 8992)' in tests
    assert "all 8992 (age) and 4044 (refractory)" in page
    assert "n = 11" in tests and "11-patient trial" in page
    assert "< 0.035" in tests and "within 0.035" in page
    assert "sbc(kw, 16," in tests and "(16 replications)" in page
    spec = tomllib.loads(SPEC.read_text(encoding="utf-8"))
    s = spec["sampler"]
    assert f"`target_accept = {s['target_accept']}`, {s['chains']} chains of {s['draws']} " \
           f"draws after {s['tune']} warm-up" in page.replace("\n", " ")


def test_validation_run_meets_the_issue_criteria() -> None:
    table, checks = load_results("sbc"), load_results("sbc_checks")
    assert table is not None and checks is not None, "run scripts/validate_multifactor.py"
    assert table["rep"].nunique() >= 200
    coverage = float(table["covered90"].mean())
    assert 0.87 <= coverage <= 0.93, coverage
    per = checks[checks["contrast"] != "pooled"]
    assert len(per) == table["contrast"].nunique() == 4
    assert (per["p_value"] > 0.01).all(), per
    pooled = checks[checks["contrast"] == "pooled"]
    assert float(pooled["coverage90"].iat[0]) == pytest.approx(coverage, abs=1e-3)
    # the checks table is what the raw table implies (recomputed)

    again = sbc_checks(table)
    np.testing.assert_allclose(again["p_value"].dropna(), per["p_value"], rtol=1e-3)


def test_page_prints_the_validation_tables(page: str) -> None:
    checks, fixed = load_results("sbc_checks"), load_results("fixed_truth")
    assert checks is not None and fixed is not None
    for _, r in checks.iterrows():
        if r["contrast"] == "pooled":
            assert f"| pooled | {int(r['replications'])} | {r['coverage90']:.3f} |" in page
        else:
            assert (f"| {r['contrast']} | {int(r['replications'])} | {r['coverage90']:.3f} | "
                    f"{r['chi2']:.1f} | {r['p_value']:.3f} |") in page
    for _, r in fixed.iterrows():
        assert (f"| {r['truth']} | {r['contrast']} | {r['true_value']:.2f} | "
                f"{r['mean_estimate']:.2f} | {r['coverage90']:.2f} | {r['sd_ratio']:.2f} |"
                ) in page
