"""The several-factors page's tables (:mod:`bayesblina.analyses.multifactor.tables`).

The tables are computed when the docs are built; here they are checked against the
packaged margins, the spec and the stored validation CSVs, and a few printed numbers the
page's prose relies on.
"""

from __future__ import annotations

import math

import pytest

from bayesblina.analyses.multifactor.tables import (
    fixed_truth_table,
    load_multifactor_spec,
    margin_table,
    prior_table,
    sbc_table,
    stored_results,
)
from bayesblina.analyses.multifactor.validation_tables import load_results
from bayesblina.data import load_subgroups
from bayesblina.errors import SpecError


def test_load_multifactor_spec_refuses_another_room():
    assert load_multifactor_spec().analysis.model == "subgroups_multifactor"
    with pytest.raises(SpecError, match="several-factors room"):
        load_multifactor_spec("subgroups_age")


def test_margin_table_adds_up_to_fig2():
    table = margin_table().set_index("factor")
    assert list(table.columns) == ["levels", "PK expansion (n = 26)", "phase II (n = 44)",
                                   "CR / patients (Fig 2)"]
    fig2 = load_subgroups()
    for factor, row in table.iterrows():
        pk = [int(v) for v in row["PK expansion (n = 26)"].split(" / ")]
        p2 = [int(v) for v in row["phase II (n = 44)"].split(" / ")]
        assert (sum(pk), sum(p2)) == (26, 44)
        levels = row["levels"].split(" / ")
        crs = row["CR / patients (Fig 2)"].split(" / ")
        f = fig2[fig2["factor"] == factor].set_index("level")
        for level, cr, a, b in zip(levels, crs, pk, p2, strict=True):
            assert cr == f"{int(f.loc[level, 'cr'])}/{int(f.loc[level, 'n'])}"
            assert a + b == int(f.loc[level, "n"])
    assert table.loc["age", "PK expansion (n = 26)"] == "8 / 9 / 9"  # 8 of the 10 infants


def test_prior_table_is_the_spec():
    table = prior_table().set_index("prior set")
    spec = load_multifactor_spec()
    assert list(table.index) == list(spec.priors)
    for name, p in spec.priors.items():
        assert float(table.loc[name, "prior SD of an adjusted log OR, √2 σ_τ"]) == \
            pytest.approx(math.sqrt(2) * p.tau.sigma, abs=0.005)
    assert table.loc["tau_hn1", "μ"] == "N(-0.8473, 1.5²) (logit 0.3)"
    # the prior SD the validation prose quotes
    assert table.loc["tau_hn1", "prior SD of an adjusted log OR, √2 σ_τ"] == "1.41"


def test_sbc_table_is_the_stored_checks_and_meets_the_criteria():
    table = sbc_table().set_index("contrast")
    checks = load_results("sbc_checks")
    assert checks is not None
    assert len(table) == len(checks) == 5
    pooled = table.loc["pooled"]
    assert pooled["chi-square (9 df)"] == pooled["p-value"] == ""
    assert 0.87 <= float(pooled["90% coverage"]) <= 0.93
    per = table.drop(index="pooled")
    assert all(float(p) > 0.01 for p in per["p-value"])
    assert table.loc["refractory: no vs yes", "chi-square (9 df)"] == "17.8"
    assert table.loc["age: <2 vs 7-17", "90% coverage"] == "0.935"


def test_fixed_truth_table_is_the_stored_run():
    table = fixed_truth_table()
    fixed = stored_results("fixed_truth")
    assert len(table) == len(fixed) == 16
    assert set(table["truth"]) == {"null", "blasts_only", "confounded_age", "as_published"}
    for (_, row), (_, r) in zip(table.iterrows(), fixed.iterrows(), strict=True):
        assert float(row["mean estimate"]) == pytest.approx(r["mean_estimate"], abs=0.005)
        assert float(row["posterior / prior SD"]) == pytest.approx(r["sd_ratio"], abs=0.005)
    conf = table[table["truth"] == "confounded_age"].set_index("contrast")
    # the prose (rerun of 2026-12-02): the confounded infant effect shrunk by a third, 76%
    # coverage; every posterior SD a third to a half of the prior's
    assert conf.loc["age: <2 vs 7-17", "mean estimate"] == "0.77"
    assert conf.loc["age: <2 vs 7-17", "90% coverage"] == "0.76"
    ratios = table["posterior / prior SD"].astype(float)
    assert 0.28 <= ratios.min() and ratios.max() <= 0.5


def test_stored_results_names_the_script_when_missing():
    with pytest.raises(FileNotFoundError, match="validate_multifactor"):
        stored_results("no_such_table")
