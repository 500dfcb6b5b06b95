"""Issue 11, item 2: every default model Stan can express agrees with its Stan twin.

The same data, priors, chains and draws in PyStan (``benchmarks/stan_models.py``, written
independently): posterior means within 3 combined MCSE. Runs where PyStan is installed
(``pip install 'bayesblina[bench]'``, as ``make bench`` does); each Stan model compiles in
about half a minute the first time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("stan", reason="PyStan is not installed (the 'bench' extra)")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_stan import compare_spec

pytestmark = [pytest.mark.mcmc, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::UserWarning")]

#: one default spec of each model Stan can express (every option the defaults use)
SPECS = ["overall_cr", "subgroups_age", "subgroups_age_exnex", "dose_toxicity_blrm",
         "dose_toxicity_crm",
         "survival_os", "survival_rfs_mrd", "survival_rfs_mrd_ph", "response_categories"]


@pytest.mark.parametrize("name", SPECS)
def test_posterior_means_agree_with_stan(name):
    result = compare_spec(name, "pymc")
    assert "skipped" not in result, result
    assert result["parameters"]
    bad = [r for r in result["parameters"] if not r["within_3_mcse"]]
    assert not bad, bad
