"""The diagnostics gate on synthetic draws whose diagnostics are known by construction."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

from bayesblina.core.gate import ConvergenceError, check_convergence
from bayesblina.core.spec import GateThresholds

RNG = np.random.default_rng(20161003)


def make_idata(x, diverging=None, energy=None):
    chains, draws = x.shape[:2]
    stats = {
        "diverging": np.zeros((chains, draws), bool) if diverging is None else diverging,
        "energy": RNG.normal(size=(chains, draws)) if energy is None else energy,
    }
    return az.from_dict(
        posterior={"p": x}, sample_stats=stats, coords={"population": ["a", "b"]},
        dims={"p": ["population"]},
    )


def iid(chains=4, draws=1000):
    return RNG.normal(size=(chains, draws, 2))


def test_iid_draws_pass():
    gate = check_convergence(make_idata(iid()))
    assert gate.passed and gate.status == "PASSED"
    assert [c.name for c in gate.checks] == [
        "rhat_max", "ess_bulk_min", "ess_tail_min", "divergences", "ebfmi_min",
    ]


def test_chains_that_disagree_fail_rhat_at_the_right_element():
    x = iid()
    x[0, :, 1] += 3.0  # chain 0 of population b sits elsewhere
    gate = check_convergence(make_idata(x))
    assert not gate.passed
    rhat = gate.checks[0]
    assert rhat.name == "rhat_max" and not rhat.passed and rhat.value > 1.1
    assert rhat.where == "p[b]"
    with pytest.raises(ConvergenceError, match=r"FAILED the diagnostics gate: R-hat \(max\) .* at p\[b\]"):
        gate.require("overall_cr")


def test_too_few_draws_fail_ess_with_the_numbers():
    gate = check_convergence(make_idata(iid(chains=2, draws=100)))
    failed = {c.name: c for c in gate.failures}
    assert {"ess_bulk_min", "ess_tail_min"} <= set(failed)
    assert failed["ess_bulk_min"].value < 400 and failed["ess_bulk_min"].threshold == 400
    assert "bulk ESS (min)" in failed["ess_bulk_min"].describe()


def test_autocorrelated_chain_fails_ess():
    x = np.cumsum(RNG.normal(size=(4, 1000, 2)), axis=1) * 0.05 + iid()
    gate = check_convergence(make_idata(x))
    assert not {c.name: c for c in gate.checks}["ess_bulk_min"].passed


def test_one_divergence_fails():
    div = np.zeros((4, 1000), bool)
    div[2, 17] = True
    gate = check_convergence(make_idata(iid(), diverging=div))
    check = {c.name: c for c in gate.checks}["divergences"]
    assert check.value == 1 and not check.passed and not gate.passed
    relaxed = check_convergence(make_idata(iid(), diverging=div), GateThresholds(max_divergences=1))
    assert relaxed.passed


def test_low_ebfmi_fails_and_names_the_chain():
    energy = RNG.normal(size=(4, 1000))
    # a random walk in energy: small E-BFMI (~0.0x) in chain 3 only
    energy[3] = np.cumsum(RNG.normal(size=1000))
    gate = check_convergence(make_idata(iid(), energy=energy))
    check = {c.name: c for c in gate.checks}["ebfmi_min"]
    assert not check.passed and check.value < 0.3 and check.where == "chain 3"


def test_single_chain_cannot_pass():
    gate = check_convergence(make_idata(iid(chains=1, draws=4000)))
    assert not gate.passed
    assert any("2 chains" in n for n in gate.notes)


def test_to_dict_is_json_ready():
    d = check_convergence(make_idata(iid())).to_dict()
    assert d["status"] == "PASSED"
    assert {c["name"] for c in d["checks"]} == {
        "rhat_max", "ess_bulk_min", "ess_tail_min", "divergences", "ebfmi_min",
    }
