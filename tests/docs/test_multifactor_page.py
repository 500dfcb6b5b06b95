"""The several-factors docs page follows the data, the spec, the tests and the validation run.

``docs/analyses/subgroups_multifactor.md`` renders its tables (the published margins, the
priors and what they imply, the stored simulation validation tables of
``scripts/validate_multifactor.py``) with :mod:`bayesblina.analyses.multifactor.tables`
when the docs are built (tested in ``tests/analyses/multifactor/test_tables.py``); here:
the page uses those directives, its validation prose is what the script writes, it quotes
the tests and the spec correctly, and the validation run meets the issue's criteria.
"""

from __future__ import annotations

import argparse
import importlib.util
import tomllib
from pathlib import Path

import numpy as np
import pytest

from bayesblina.analyses.multifactor.validation import sbc_checks
from bayesblina.analyses.multifactor.validation_tables import load_results
from bayesblina.reconstruct.margins import published_margins

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "analyses" / "subgroups_multifactor.md"
SPEC = ROOT / "models" / "subgroups_multifactor.toml"
SCRIPT = ROOT / "scripts" / "validate_multifactor.py"


@pytest.fixture(scope="module")
def page() -> str:
    return PAGE.read_text(encoding="utf-8")


TABLES = ("margin_table", "prior_table", "sbc_table", "fixed_truth_table")


def test_page_renders_its_tables_from_the_code(page: str) -> None:
    """Every table comes from :mod:`bayesblina.analyses.multifactor.tables` at build time.

    The functions are tested in ``tests/analyses/multifactor/test_tables.py``; no table is
    pasted by hand, the validation script's included.
    """
    for name in TABLES:
        assert f"```{{bayesblina-table}} bayesblina.analyses.multifactor.tables:{name}\n" in page
    assert not [line for line in page.splitlines() if line.startswith("|")]


def test_validation_section_is_what_the_script_writes(page: str) -> None:
    """``scripts/validate_multifactor.py --docs-only`` would leave the page unchanged."""
    spec = importlib.util.spec_from_file_location("validate_multifactor", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    args = argparse.Namespace(seed=2016, draws=500, tune=500)
    section = page.split(script.START, 1)[1].split(script.END, 1)[0]
    assert section == f"\n{script.docs_section(args)}\n"


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
