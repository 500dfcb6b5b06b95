"""The grid BLRM's EWOC decisions against decisions from PyMC draws (one model, 200 histories)."""

from __future__ import annotations

import arviz as az
import numpy as np
import nutpie
import pymc as pm
import pytensor.tensor as pt
import pytest

from bayesblina.design.escalation import BLRM, Trials

DOSES = np.array([1.0, 2.5, 5.0, 10.0, 25.0])
PRIOR = {"d_ref": 25.0, "mean": (-1.1, 0.0), "sd": (1.0, 0.7), "corr": 0.3}
N_HIST = 200
#: true DLT curves the histories are simulated under (low, on target, toxic)
CURVES = np.array(
    [[0.02, 0.05, 0.10, 0.20, 0.35], [0.05, 0.12, 0.25, 0.40, 0.55], [0.20, 0.35, 0.50, 0.60, 0.70]]
)


def simulate_histories(design: BLRM, rng: np.random.Generator) -> Trials:
    """Decision points: each trial runs the grid design for a random number of cohorts."""
    m = design.max_n
    curve = CURVES[rng.integers(0, len(CURVES), N_HIST)]
    n_cohorts = rng.integers(1, m // 3 + 1, N_HIST)
    level = np.full((N_HIST, m), -1)
    dlt = np.zeros((N_HIST, m), bool)
    current = np.full(N_HIST, design.start_level)
    open_ = np.ones(N_HIST, bool)
    for c in range(m // 3):
        go = np.flatnonzero(open_ & (n_cohorts > c))
        if go.size == 0:
            break
        level[go, 3 * c : 3 * c + 3] = current[go, None]
        dlt[go, 3 * c : 3 * c + 3] = rng.random((go.size, 3)) < curve[go, current[go]][:, None]
        t = Trials(level[go], dlt[go], (level[go] >= 0).astype(float), current[go])
        dec = design.decide(t)
        open_[go[dec.stop]] = False
        current[go[~dec.stop]] = dec.next_level[~dec.stop]
    return Trials(level, dlt, (level >= 0).astype(float), current)


@pytest.mark.mcmc
def test_blrm_grid_ewoc_decisions_agree_with_mcmc():
    design = BLRM(list(DOSES), **PRIOR, max_n=24, min_at_mtd=None)
    trials = simulate_histories(design, np.random.default_rng(2024))
    n, y = trials.counts(design.n_levels)
    x = np.log(DOSES / PRIOR["d_ref"])
    sd = np.array(PRIOR["sd"])
    cov = np.outer(sd, sd) * np.array([[1.0, PRIOR["corr"]], [PRIOR["corr"], 1.0]])

    # histories with the same counts have the same posterior: one fit per distinct history
    # (121 of the 200), its draws shared by the histories that have its counts
    counts, history = np.unique(np.concatenate([n, y], axis=1), axis=0, return_inverse=True)
    history = history.ravel()
    n_u, y_u = counts[:, : design.n_levels], counts[:, design.n_levels :]
    # one model, independent (log_alpha, log_beta) per history: the joint posterior
    # factorises, so each history's marginal is its own posterior
    with pm.Model() as model:
        theta = pm.MvNormal("theta", mu=np.array(PRIOR["mean"]), cov=cov, shape=(len(counts), 2))
        eta = theta[:, :1] + pt.exp(theta[:, 1:]) * x[None, :]
        pm.Binomial("y", n=n_u, logit_p=eta, observed=y_u)
    # nutpie (PyMC's model, Rust NUTS): the 242-dimensional posterior takes deep trees, and
    # PyMC's Python loop pays ~50 us per leapfrog step (6 min here against ~40 s)
    idata = nutpie.sample(nutpie.compile_pymc_model(model), draws=5000, tune=1000, chains=4,
                          cores=1, seed=17, progress_bar=False)
    th = idata.posterior["theta"].values[:, :, history]  # (chain, draw, N_HIST, 2)
    p = 1.0 / (1.0 + np.exp(-(th[..., :1] + np.exp(th[..., 1:]) * x)))  # (c, d, H, K)
    lo, hi = design.target_interval
    over_ind = (p > hi).astype(float)
    target_ind = ((p >= lo) & (p <= hi)).astype(float)
    probs_mc = np.stack([1 - over_ind.mean((0, 1)) - target_ind.mean((0, 1)),
                         target_ind.mean((0, 1)), over_ind.mean((0, 1))], axis=-1)
    # Monte Carlo SEs of the two probabilities from the effective sample sizes
    ess_over = az.ess(az.convert_to_dataset({"over": over_ind}))["over"].values  # (H, K)
    over_mc = probs_mc[..., 2]
    mcse_over = np.sqrt(over_mc * (1 - over_mc) / np.maximum(ess_over, 1.0))

    probs_grid = design.interval_probs(trials)
    grid, mc = design.decide(trials), design.decide_with(trials, probs_mc)
    same = (grid.next_level == mc.next_level) & (grid.selected == mc.selected) & (
        grid.reason == mc.reason
    )
    agreement = same.mean()
    print(f"\nEWOC decisions: grid and MCMC agree in {same.sum()} of {N_HIST} ({agreement:.1%})")
    for b in np.flatnonzero(~same):
        z = np.abs(over_mc[b] - design.ewoc) / np.maximum(mcse_over[b], 1e-12)
        print(
            f"  history {b}: grid {grid.row(b)} vs MCMC {mc.row(b)}; P(over) grid "
            f"{np.round(probs_grid[b, :, 2], 3).tolist()} MCMC {np.round(over_mc[b], 3).tolist()}; "
            f"nearest EWOC threshold {z.min():.1f} MC SEs away"
        )
    assert agreement >= 0.99
    # the grid's over-dosing probabilities lie within Monte Carlo error of the draws'
    err = np.abs(probs_grid[..., 2] - over_mc) / np.maximum(mcse_over, 2e-3)
    assert err.max() < 5.0
