"""The survival page's tables (:mod:`bayesblina.analyses.survival.tables`).

The tables are computed when the docs are built; here they are checked against the
packaged data and the reconstruction code, against what the priors imply computed another
way (exact quantiles, one-dimensional integrals instead of the quantile grids), and for
the numbers the page's prose quotes. (The posterior results of the page come from an MCMC
run and stay pasted; ``tests/test_docs.py`` has the slow test that refits them.)
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from bayesblina.analyses.survival.tables import (
    SURVIVAL_SPECS,
    assumption_table,
    implied_prior_table,
    load_survival_spec,
    prior_grid,
    prior_table,
    published_table,
    reconstruction_table,
    run_settings_table,
    sig_text,
)
from bayesblina.data import load_survival_summaries
from bayesblina.errors import SpecError
from bayesblina.reconstruct.pseudo_ipd import ASSUMPTIONS

#: log lambda ~ N(log 10, 1.5²), rho ~ half-normal(2): every packaged spec's prior set
MU, SIGMA, RHO_SIGMA = 2.3026, 1.5, 2.0


def test_text_and_grid_helpers():
    assert sig_text(0.0631) == "0.063" and sig_text(187.6) == "190" and sig_text(1.0) == "1"
    grid = prior_grid(SimpleNamespace(family="normal", mu=0.0, sigma=1.0), 10)
    assert len(grid) == 10 and np.mean(grid) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(SpecError, match="no quantile grid"):
        prior_grid(SimpleNamespace(family="beta", alpha=1.0, beta=1.0))


def test_published_table_is_the_packaged_data():
    table = published_table().set_index("population")
    summ = load_survival_summaries().set_index("population")
    assert set(table["end point"]) == {"OS", "RFS"}
    for pop, row in table.iterrows():
        assert row["patients"] == f"{summ.loc[pop, 'n']}"
    assert table.loc["all_5_15", "KM median, months (95% CI)"] == "7.5 (4.0 to 11.8)"
    assert table.loc["responders_all_5_15", "landmark"] == "42% at 6 months"
    assert table.loc["cr_without_complete_mrd", "median follow-up, months"] == "—"


def test_assumption_table_is_the_codes():
    table = assumption_table()
    assert list(table["key"]) == [a.key for a in ASSUMPTIONS]
    assert table["key"].is_unique
    assert list(table.columns) == ["key", "end points", "topic", "assumption"]


def test_reconstructions_meet_every_criterion():
    """Every reconstruction the specs fit reproduces the published numbers."""
    table = reconstruction_table()
    assert list(table["population"]) == ["all_5_15", "responders_all_5_15",
                                         "complete_mrd_responders", "cr_without_complete_mrd"]
    assert (table["every criterion met"] == "yes").all()
    assert (table["reconstructions"] == "10 (seed 20161003)").all()
    rows = table.set_index("population")
    assert rows.loc["all_5_15", "events"] == "48"
    assert rows.loc["responders_all_5_15", "events"] == "22"
    # 'rfs' and 'rfs_mrd' come from one joint reconstruction: the same candidates
    assert len(set(table.loc[table["end point"] != "os", "candidates generated"])) == 1
    for pop in rows.index:  # each KM median within 0.3 months of the published one
        lo, _, hi = rows.loc[pop, "KM medians of the reconstructions"].partition(" to ")
        published = float(rows.loc[pop, "published median"])
        assert abs(float(lo) - published) <= 0.3 and abs(float(hi or lo) - published) <= 0.3


def test_run_settings_table_is_the_specs():
    table = run_settings_table().set_index("spec")
    assert list(table.index) == list(SURVIVAL_SPECS)
    for name in SURVIVAL_SPECS:
        spec = load_survival_spec(name)
        row = table.loc[name]
        assert row["end point"] == spec.data.endpoint
        assert row["reconstructions"] == f"{spec.data.reconstructions}"
        assert row["reconstruction seed"] == f"{spec.data.seed}"
        assert (row["chains"], row["draws"], row["warm-up"], row["sampler seed"]) == (
            f"{spec.sampler.chains}", f"{spec.sampler.draws}", f"{spec.sampler.tune}",
            f"{spec.sampler.seed}")


def test_prior_table_is_exact():
    table = prior_table().set_index("spec")
    lam = np.exp(MU + np.array([-1.959964, 1.959964]) * SIGMA)
    rho = stats.halfnorm(scale=RHO_SIGMA)
    for _, row in table.iterrows():
        assert row["λ: 95% prior interval (months)"] == f"{sig_text(lam[0])} to {sig_text(lam[1])}"
        lo, hi = rho.ppf([0.025, 0.975])
        assert row["ρ: 95% prior interval"] == f"{sig_text(lo)} to {sig_text(hi)}"
        assert float(row["prior P(ρ < 1)"]) == pytest.approx(rho.cdf(1.0), abs=0.005)
    assert table.loc["survival_os", "effect (β₁ for AFT, γ for PH)"] == "—"
    assert table.loc["survival_rfs_mrd_ph", "effect (β₁ for AFT, γ for PH)"] == "N(0, 1²)"
    assert table.loc["survival_os", "λ: 95% prior interval (months)"] == "0.53 to 190"


def prior_median_of(cut: Callable[[float, float], float]) -> float:
    """The prior median of a quantity q with {q <= v} = {log lambda <= cut(v, rho)}.

    P(q <= v) = E_rho[Phi((cut(v, rho) - mu) / sigma)], a 1-D integral over the
    half-normal rho, solved for 0.5.
    """
    rho = stats.halfnorm(scale=RHO_SIGMA)

    def cdf(v: float) -> float:
        f = lambda r: stats.norm.cdf((cut(v, r) - MU) / SIGMA) * rho.pdf(r)  # noqa: E731
        return integrate.quad(f, 0, np.inf, limit=200)[0]

    return optimize.brentq(lambda v: cdf(v) - 0.5, 1e-6, 1e6, xtol=1e-10)


def test_implied_prior_table_against_one_dimensional_integrals():
    table = implied_prior_table().set_index("spec")
    # median survival m = lambda log(2)^(1/rho) <= v  <=>  log lambda <= log v - log log 2 / rho
    med = prior_median_of(lambda v, r: np.log(v) - np.log(np.log(2)) / r)
    # S(12) = exp(-(12/lambda)^rho) <= s  <=>  log lambda <= log 12 - log(-log s) / rho
    s12 = optimize.brentq(
        lambda s: integrate.quad(
            lambda r: stats.norm.cdf((np.log(12) - np.log(-np.log(s)) / r - MU) / SIGMA)
            * stats.halfnorm(scale=RHO_SIGMA).pdf(r), 0, np.inf, limit=200)[0] - 0.5,
        1e-9, 1 - 1e-9)
    for _, row in table.iterrows():
        assert float(row["median survival, months (baseline group)"].split(" ")[0]) == (
            pytest.approx(med, rel=0.01))
        assert float(row["S(12)"].split(" ")[0]) == pytest.approx(s12, abs=2e-3)
    assert table.loc["survival_os", "acceleration factor"] == "—"
    # AF = exp(beta1) (AFT) and HR = exp(gamma) (PH) are exactly lognormal(0, 1)
    lo, hi = np.exp(np.array([-1.959964, 1.959964]))
    exact = f"1 ({sig_text(lo)} to {sig_text(hi)})"
    assert table.loc["survival_rfs_mrd", "acceleration factor"] == exact
    assert table.loc["survival_rfs_mrd_ph", "hazard ratio"] == exact
    # the page's quoted numbers
    assert table.loc["survival_rfs_mrd", "hazard ratio"] == "1 (0.013 to 78)"
    assert table.loc["survival_os", "S(12)"] == "0.332 (< 0.001 to 0.997)"


def test_spec_of_another_room_is_refused():
    with pytest.raises(SpecError, match="survival room"):
        load_survival_spec("overall_cr")
