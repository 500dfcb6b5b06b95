"""Exact grid posteriors of the BLRM and the CRM (bayesblina.analyses.dose_toxicity.exact).

Published examples (absolute tolerance 0.002 on every printed number), batching,
stepwise regimens, the prior-only posterior against Monte Carlo, grid convergence and
the bad-input errors. No timings (see benchmarks/bench_grid_batch.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, log_expit, logit

import bayesblina.analyses.dose_toxicity.exact as dt
import bayesblina.analyses.dose_toxicity.grid as grid
from bayesblina.analyses.dose_toxicity import (
    BLRMGridPosterior,
    CRMGridPosterior,
    blrm_grid_posterior,
    crm_grid_posterior,
    regimen_weights,
)
from bayesblina.errors import SpecError

PUBLISHED_TOL = 0.002

# ---- Neuenschwander, Branson & Gsponer (2008) ---------------------------------------
NBG_DOSES = np.array([1, 2.5, 5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 250])
NBG_PRIOR = dict(d_ref=250.0, mean=(2.15, 0.52), sd=(0.84, 0.80), corr=0.2)
NBG_DATA = dict(doses=[1, 2.5, 5, 10, 25], n=[3, 4, 5, 4, 2], y=[0, 0, 0, 0, 2])
NBG_P_MEAN = [0.0116, 0.0295, 0.0613, 0.1272, 0.1918, 0.2527, 0.3089, 0.3601,
              0.4486, 0.5207, 0.6484, 0.7284, 0.8185, 0.8659, 0.8945]  # fmt: skip
NBG_P_OVER = {15: 0.121, 20: 0.264, 25: 0.424}  # P(p >= 0.33)

# ---- Cheung (2011), p. 21 -------------------------------------------------------------
CHEUNG_SKELETON = [0.05, 0.12, 0.25, 0.40, 0.55]
CHEUNG_PRIOR_SD = 1.34**0.5  # variance 1.34
CHEUNG_LEVELS = [3, 5, 5, 3, 4]  # 1-based, as printed
CHEUNG_DLT = [0, 0, 1, 0, 0]
CHEUNG_BETA_MEAN = 0.27946
CHEUNG_PLUGIN = [0.00768, 0.0265, 0.0817, 0.182, 0.331]
CHEUNG_P_MEAN = [0.0314, 0.0645, 0.1288, 0.2189, 0.3391]
CHEUNG_RECOMMENDED = 4  # 1-based


def nbg_posterior(**kwargs) -> BLRMGridPosterior:
    return blrm_grid_posterior(
        NBG_DATA["doses"], None, NBG_DATA["n"], NBG_DATA["y"], **{**NBG_PRIOR, **kwargs}
    )


def cheung_posterior(**kwargs) -> CRMGridPosterior:
    options = dict(skeleton=CHEUNG_SKELETON, model="logistic", prior_sd=CHEUNG_PRIOR_SD, a0=3.0)
    return crm_grid_posterior(
        np.array(CHEUNG_LEVELS) - 1, None, np.ones(5), CHEUNG_DLT, **{**options, **kwargs}
    )


# --------------------------------------------------------------------------------------
# Published examples
# --------------------------------------------------------------------------------------


def test_cheung_2011_logistic_crm():
    post = cheung_posterior()
    assert post.beta_mean().shape == (1,)
    assert post.beta_mean()[0] == pytest.approx(CHEUNG_BETA_MEAN, abs=PUBLISHED_TOL)
    np.testing.assert_allclose(post.p_plugin()[0], CHEUNG_PLUGIN, rtol=0, atol=PUBLISHED_TOL)
    assert post.recommend(0.25)[0] + 1 == CHEUNG_RECOMMENDED
    np.testing.assert_allclose(post.p_mean()[0], CHEUNG_P_MEAN, rtol=0, atol=PUBLISHED_TOL)
    # the alternative rule (posterior mean of p_k) agrees here
    assert post.recommend(0.25, method="mean")[0] + 1 == CHEUNG_RECOMMENDED
    assert post.edge_mass()[0] < 1e-12


def test_cheung_dose_labels_reproduce_skeleton_at_beta_zero():
    # prior only: the posterior mean of beta is 0, so the plug-in is the skeleton
    for model in ("logistic", "empiric"):
        post = crm_grid_posterior(
            [0], None, [0], [0], skeleton=CHEUNG_SKELETON, model=model, prior_sd=1.0
        )
        assert post.beta_mean()[0] == pytest.approx(0.0, abs=1e-12)
        np.testing.assert_allclose(post.p_plugin()[0], CHEUNG_SKELETON, rtol=1e-12)


def test_neuenschwander_2008_blrm():
    post = nbg_posterior()
    p_mean = post.p_mean(NBG_DOSES)
    assert p_mean.shape == (1, NBG_DOSES.size)
    np.testing.assert_allclose(p_mean[0], NBG_P_MEAN, rtol=0, atol=PUBLISHED_TOL)
    doses = list(NBG_P_OVER)
    over = post.prob_exceeds(doses, 0.33)
    np.testing.assert_allclose(over[0], list(NBG_P_OVER.values()), rtol=0, atol=PUBLISHED_TOL)
    # the same numbers as the over-dosing interval of interval_probs
    np.testing.assert_allclose(post.interval_probs(doses)[0, :, 2], over[0], atol=1e-12)
    assert post.edge_mass()[0] < 1e-10
    # EWOC: P(over) = 0.121 at 15 mg, 0.264 at 20 mg
    assert post.ewoc(NBG_DOSES)[0] == 15.0


# --------------------------------------------------------------------------------------
# Batching
# --------------------------------------------------------------------------------------


def _random_counts(rng, batch, n_obs, p):
    n = rng.integers(0, 7, size=(batch, n_obs))
    return n, rng.binomial(n, p)


@pytest.fixture
def small_chunks(monkeypatch):
    """Force several chunks of data sets so that chunk boundaries are exercised."""
    monkeypatch.setattr(grid, "CHUNK_ELEMENTS", 3 * 64 * 64)


def test_blrm_batch_equals_each_data_set_alone(small_chunks):
    rng = np.random.default_rng(20080101)
    doses, weights = regimen_weights(
        [[(1, 28)], [(2.5, 28)], [(5, 7), (10, 21)], [(10, 7), (25, 21)], [(25, 28)]]
    )
    n, y = _random_counts(rng, 7, 5, [0.02, 0.05, 0.1, 0.2, 0.4])
    kw = dict(**NBG_PRIOR, grid_size=64)
    batch = blrm_grid_posterior(doses, weights, n, y, **kw)
    assert batch.log_weights.shape == (7, 64 * 64)
    reg_d, reg_w = regimen_weights([[(5, 7), (15, 21)], [(15, 28)]])

    def summaries(post):
        return [
            post.weights,
            post.p_mean(NBG_DOSES),
            post.p_regimen_mean(reg_d, reg_w),
            post.prob_exceeds(NBG_DOSES, 0.33),
            post.interval_probs(NBG_DOSES),
            post.interval_probs(reg_d, weights=reg_w),
            post.p_quantiles([10, 25], (0.1, 0.5, 0.9)),
            post.p_quantiles(reg_d, (0.1, 0.5, 0.9), weights=reg_w),
            post.mtd_quantiles(0.25, (0.1, 0.5, 0.9)),
            post.mtd_prob_ge(0.25, [10, 20]),
            post.ewoc(NBG_DOSES),
            post.param_mean(),
            post.edge_mass(),
        ]

    together = summaries(batch)
    for b in range(7):
        single_post = blrm_grid_posterior(doses, weights, n[b], y[b], **kw)
        alone = summaries(single_post)
        for whole, single in zip(together, alone, strict=True):
            assert whole.shape[0] == 7 and single.shape[0] == 1
            np.testing.assert_allclose(whole[b], single[0], rtol=0, atol=1e-12)
        # log weights reach -1e4 in the tails: equal to rounding
        np.testing.assert_allclose(batch.log_weights[b], single_post.log_weights[0], rtol=1e-14)


def test_crm_batch_equals_each_data_set_alone(monkeypatch):
    monkeypatch.setattr(grid, "CHUNK_ELEMENTS", 2 * 512)
    rng = np.random.default_rng(2011)
    levels = np.array([0, 1, 2, 2, 3, 4])
    n, y = _random_counts(rng, 5, levels.size, [0.05, 0.12, 0.25, 0.25, 0.4, 0.55])
    for model in ("empiric", "logistic"):
        kw = dict(skeleton=CHEUNG_SKELETON, model=model, prior_sd=CHEUNG_PRIOR_SD)
        batch = crm_grid_posterior(levels, None, n, y, **kw)

        def summaries(post):
            return [
                post.weights,
                post.beta_mean(),
                post.p_mean(),
                post.p_plugin(),
                post.recommend(0.25),
                post.recommend(0.25, method="mean"),
                post.interval_probs(),
                post.prob_exceeds(0.3),
                post.p_regimen_mean([[0, 2]], [[0.25, 0.75]]),
            ]

        together = summaries(batch)
        for b in range(5):
            single_post = crm_grid_posterior(levels, None, n[b], y[b], **kw)
            alone = summaries(single_post)
            for whole, single in zip(together, alone, strict=True):
                assert whole.shape[0] == 5 and single.shape[0] == 1
                np.testing.assert_allclose(whole[b], single[0], rtol=0, atol=1e-12)
            np.testing.assert_allclose(batch.log_weights[b], single_post.log_weights[0], rtol=1e-14)


def test_output_shapes():
    post = blrm_grid_posterior(
        [1, 10], None, [[3, 3], [3, 0], [0, 0]], [[0, 1], [1, 0], [0, 0]], **NBG_PRIOR
    )
    assert post.batch_size == 3
    assert post.log_weights.shape == (3, 128 * 128)
    assert post.p_mean(5).shape == (3, 1)
    assert post.p_mean([5, 10, 20]).shape == (3, 3)
    assert post.interval_probs([5, 10]).shape == (3, 2, 3)
    assert post.p_quantiles([5, 10], (0.5,)).shape == (3, 2, 1)
    assert post.mtd_quantiles(0.25, (0.05, 0.5, 0.95)).shape == (3, 3)
    assert post.ewoc([1, 5, 10]).shape == (3,)
    assert post.param_mean().shape == (3, 2)
    np.testing.assert_allclose(np.exp(post.log_weights).sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(post.interval_probs([5, 10]).sum(axis=-1), 1.0, atol=1e-12)
    crm = cheung_posterior()
    assert crm.interval_probs().shape == (1, 5, 3)
    assert crm.prob_exceeds(0.3).shape == (1, 5)
    assert crm.recommend(0.25).dtype.kind == "i"


# --------------------------------------------------------------------------------------
# Stepwise regimens
# --------------------------------------------------------------------------------------


def test_regimen_weights_treatments():
    regimens = [[(5, 7), (15, 21)], [(15, 28)], [(5, 7), (15, 7), (30, 14)]]
    doses, w = regimen_weights(regimens)
    np.testing.assert_array_equal(doses, [[5, 15, 15], [15, 15, 15], [5, 15, 30]])
    np.testing.assert_allclose(w, [[0.25, 0.75, 0], [1, 0, 0], [0.25, 0.25, 0.5]])
    _, w = regimen_weights(regimens, "first_period")
    np.testing.assert_array_equal(w, [[1, 0, 0], [1, 0, 0], [1, 0, 0]])
    _, w = regimen_weights(regimens, "maintenance")
    np.testing.assert_array_equal(w, [[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    # a longer DLT window: the days not on drug add no hazard
    _, w = regimen_weights([[(5, 7), (15, 14)]], window=28)
    np.testing.assert_allclose(w, [[0.25, 0.5]])
    levels, w = regimen_weights([[(0, 7), (2, 21)]], levels=True)
    assert levels.dtype.kind == "i"
    np.testing.assert_array_equal(levels, [[0, 2]])


def test_single_dose_regimen_is_the_same_under_every_treatment():
    regimens = [[(1, 28)], [(10, 28)], [(25, 28)]]
    n, y = [3, 6, 3], [0, 1, 2]
    posts = [
        blrm_grid_posterior(*regimen_weights(regimens, treatment), n, y, **NBG_PRIOR)
        for treatment in dt.TREATMENTS
    ]
    constant = blrm_grid_posterior([1, 10, 25], None, n, y, **NBG_PRIOR)
    for post in posts:
        np.testing.assert_array_equal(post.log_weights, constant.log_weights)
        for treatment in dt.TREATMENTS:
            d, w = regimen_weights([[(15, 28)]], treatment)
            np.testing.assert_array_equal(post.p_regimen_mean(d, w), constant.p_mean([15]))
    # and the same for the CRM
    crm = [
        crm_grid_posterior(
            *regimen_weights([[(0, 28)], [(3, 28)]], treatment, levels=True),
            [3, 3],
            [0, 1],
            skeleton=CHEUNG_SKELETON,
            prior_sd=1.0,
        )
        for treatment in dt.TREATMENTS
    ]
    for post in crm[1:]:
        np.testing.assert_array_equal(post.log_weights, crm[0].log_weights)


def test_period_exposure_lies_between_first_period_and_maintenance():
    regimens = [[(5, 7), (15, 21)], [(10, 7), (30, 21)], [(2.5, 14), (25, 14)]]
    rng = np.random.default_rng(7)
    n, y = _random_counts(rng, 4, 3, [0.05, 0.2, 0.2])
    post = blrm_grid_posterior(*regimen_weights(regimens), n, y, **NBG_PRIOR)
    first, expo, maint = (
        post.p_regimen_mean(*regimen_weights(regimens, treatment))
        for treatment in ("first_period", "period_exposure", "maintenance")
    )
    assert (first < expo).all() and (expo < maint).all()
    # the same node by node (p is increasing in dose at every node)
    slope = np.exp(post.log_beta)[:, None]
    d, w = regimen_weights(regimens)
    p1 = expit(post.log_alpha[:, None] + slope * np.log(d[:, 0] / 250))
    p2 = expit(post.log_alpha[:, None] + slope * np.log(d[:, 1] / 250))
    p_reg = -np.expm1(w[:, 0] * np.log1p(-p1) + w[:, 1] * np.log1p(-p2))
    assert (p1 <= p_reg * (1 + 1e-12)).all() and (p_reg <= p2 * (1 + 1e-12)).all()
    inside = (p1 > 1e-12) & (p2 < 1 - 1e-12)
    assert (p1[inside] < p_reg[inside]).all() and (p_reg[inside] < p2[inside]).all()


def test_period_exposure_closed_form_two_periods():
    # p = 1 - (1 - p(d1))**(t1 / W) * (1 - p(d2))**(t2 / W), checked node by node
    d1, t1, d2, t2 = 5.0, 7.0, 15.0, 21.0
    doses, w = regimen_weights([[(d1, t1), (d2, t2)]])
    np.testing.assert_allclose(w, [[t1 / 28, t2 / 28]])
    post = blrm_grid_posterior(doses, w, [6], [1], **NBG_PRIOR, grid_size=64)
    slope = np.exp(post.log_beta)
    eta1 = post.log_alpha + slope * np.log(d1 / 250)
    eta2 = post.log_alpha + slope * np.log(d2 / 250)
    closed = 1 - (1 - expit(eta1)) ** (t1 / 28) * (1 - expit(eta2)) ** (t2 / 28)
    np.testing.assert_allclose(post.p_regimen_mean(doses, w)[0], post.weights[0] @ closed)
    # and the likelihood uses it: log weights = log prior + binomial(6, 1) kernel, normalised
    # (in log space: log(1 - p) = t1/W log(1 - p(d1)) + t2/W log(1 - p(d2)))
    log1m = t1 / 28 * log_expit(-eta1) + t2 / 28 * log_expit(-eta2)
    z = np.linspace(-7, 7, 65)[:-1] + 7 / 64
    u, v = (a.ravel() for a in np.meshgrid(z, z, indexing="ij"))
    _check_log_weights(post.log_weights[0], -0.5 * (u**2 + v**2), log1m, y=1, n=6)


def _check_log_weights(log_weights, log_prior, log1m, y, n):
    """Normalised log posterior from log(1 - p) at each node, where p > 1e-100."""
    ok = log1m < -1e-100
    log_p = np.log(-np.expm1(log1m), where=ok, out=np.full_like(log1m, -np.inf))  # log(p)
    log_post = log_prior + y * log_p + (n - y) * log1m
    log_post -= np.log(np.exp(log_post - log_post.max()).sum()) + log_post.max()
    np.testing.assert_allclose(log_weights[ok], log_post[ok], rtol=1e-12, atol=1e-9)
    assert np.exp(log_weights[~ok]).max(initial=0) < 1e-100


def test_regimen_probabilities_use_the_same_engine_as_constant_doses():
    post = nbg_posterior(grid_size=64)
    d, w = regimen_weights([[(10, 28)], [(25, 28)]])
    np.testing.assert_allclose(post.p_regimen_mean(d, w), post.p_mean([10, 25]), atol=1e-15)
    np.testing.assert_allclose(
        post.interval_probs(d, weights=w), post.interval_probs([10, 25]), atol=1e-12
    )
    np.testing.assert_allclose(
        post.p_quantiles(d, (0.1, 0.5, 0.9), weights=w),
        post.p_quantiles([10, 25], (0.1, 0.5, 0.9)),
        atol=1e-9,
    )


def test_crm_regimen_period_exposure():
    skeleton = np.array(CHEUNG_SKELETON)
    lv, w = regimen_weights([[(0, 7), (2, 21)]], levels=True)
    post = crm_grid_posterior(lv, w, [3], [1], skeleton=skeleton, prior_sd=1.0)
    slope = np.exp(post.beta)
    closed = 1 - (1 - skeleton[0] ** slope) ** 0.25 * (1 - skeleton[2] ** slope) ** 0.75
    np.testing.assert_allclose(post.p_regimen_mean(lv, w)[0], post.weights[0] @ closed)
    # log(1 - s**e) = log1p(-s**e), accurate for tiny p
    log1m = 0.25 * np.log1p(-(skeleton[0] ** slope)) + 0.75 * np.log1p(-(skeleton[2] ** slope))
    _check_log_weights(post.log_weights[0], -0.5 * post.beta**2, log1m, y=1, n=3)


# --------------------------------------------------------------------------------------
# Prior only
# --------------------------------------------------------------------------------------


def test_prior_only_blrm_matches_prior_and_monte_carlo():
    post = blrm_grid_posterior([10, 25], None, [0, 0], [0, 0], **NBG_PRIOR)
    np.testing.assert_allclose(post.param_mean()[0], NBG_PRIOR["mean"], rtol=0, atol=1e-6)
    s1, s2 = NBG_PRIOR["sd"]
    r = NBG_PRIOR["corr"]
    cov = [[s1**2, r * s1 * s2], [r * s1 * s2, s2**2]]
    draws = np.random.default_rng(12345).multivariate_normal(NBG_PRIOR["mean"], cov, 10**6)
    eta = draws[:, :1] + np.exp(draws[:, 1:]) * np.log(NBG_DOSES / 250.0)
    p = expit(eta)
    se = p.std(axis=0) / np.sqrt(p.shape[0])
    assert (np.abs(post.p_mean(NBG_DOSES)[0] - p.mean(axis=0)) < 4 * se).all()
    # event probabilities (the cut-cell scheme) against the same draws
    over = p > 0.33
    se = np.sqrt(over.mean(axis=0) * (1 - over.mean(axis=0)) / over.shape[0])
    diff = np.abs(post.prob_exceeds(NBG_DOSES, 0.33)[0] - over.mean(axis=0))
    assert (diff <= np.maximum(4 * se, 1e-6)).all()


def test_prior_only_crm_probabilities_match_monte_carlo():
    post = crm_grid_posterior([0], None, [0], [0], skeleton=CHEUNG_SKELETON, prior_sd=1.2)
    beta = np.random.default_rng(99).normal(0.0, 1.2, 10**6)
    p = np.array(CHEUNG_SKELETON)[None, :] ** np.exp(beta)[:, None]
    se = p.std(axis=0) / np.sqrt(p.shape[0])
    assert (np.abs(post.p_mean()[0] - p.mean(axis=0)) < 4 * se).all()
    over = p > 0.3
    se = np.sqrt(over.mean(axis=0) * (1 - over.mean(axis=0)) / over.shape[0])
    assert (np.abs(post.prob_exceeds(0.3)[0] - over.mean(axis=0)) < 4 * se).all()


# --------------------------------------------------------------------------------------
# Internal consistency and grid convergence
# --------------------------------------------------------------------------------------


def test_quantiles_invert_the_event_probabilities():
    post = nbg_posterior()
    probs = np.array([0.025, 0.25, 0.5, 0.75, 0.975])
    q = post.p_quantiles([10, 25], probs)[0]  # (2, 5)
    for j, dose in enumerate([10, 25]):
        for i, prob in enumerate(probs):
            assert post.prob_exceeds(dose, q[j, i])[0, 0] == pytest.approx(1 - prob, abs=1e-9)
    mtd = post.mtd_quantiles(0.25, probs)[0]
    assert (np.diff(mtd) > 0).all()
    np.testing.assert_allclose(post.mtd_prob_ge(0.25, mtd)[0], 1 - probs, atol=1e-9)
    # P(MTD >= d) = P(p(d) <= target)
    np.testing.assert_allclose(
        post.mtd_prob_ge(0.25, NBG_DOSES), 1 - post.prob_exceeds(NBG_DOSES, 0.25), atol=1e-14
    )


def test_ewoc_is_the_highest_dose_under_the_overdose_bound():
    rng = np.random.default_rng(3)
    n, y = _random_counts(rng, 6, 5, [0.02, 0.05, 0.1, 0.3, 0.6])
    post = blrm_grid_posterior([1, 5, 10, 25, 50], None, n, y, **NBG_PRIOR)
    over = post.interval_probs(NBG_DOSES)[..., 2]
    expected = [NBG_DOSES[ok].max() if ok.any() else np.nan for ok in over < 0.25]
    np.testing.assert_array_equal(post.ewoc(NBG_DOSES), expected)
    # nothing qualifies: NaN
    assert np.isnan(nbg_posterior().ewoc([25, 50], max_overdose_prob=0.01)).all()


def test_blrm_doubling_the_grid_changes_results_by_less_than_1e4():
    coarse, fine = nbg_posterior(grid_size=128), nbg_posterior(grid_size=256)
    for method, args in [
        ("p_mean", (NBG_DOSES,)),
        ("interval_probs", (NBG_DOSES,)),
        ("p_quantiles", (NBG_DOSES, (0.025, 0.5, 0.975))),
        ("param_mean", ()),
    ]:
        a, b = getattr(coarse, method)(*args), getattr(fine, method)(*args)
        assert np.abs(a - b).max() < 1e-4, method
    mtd_c, mtd_f = coarse.mtd_quantiles(0.25), fine.mtd_quantiles(0.25)
    assert np.abs(mtd_c / mtd_f - 1).max() < 1e-4


def test_crm_doubling_the_grid_changes_results_by_less_than_1e4():
    for model in ("logistic", "empiric"):
        coarse, fine = cheung_posterior(model=model), cheung_posterior(model=model, grid_size=1024)
        for method in ("beta_mean", "p_mean", "p_plugin", "interval_probs"):
            a, b = getattr(coarse, method)(), getattr(fine, method)()
            assert np.abs(a - b).max() < 1e-4, (model, method)


def test_deterministic():
    a, b = nbg_posterior(), nbg_posterior()
    np.testing.assert_array_equal(a.log_weights, b.log_weights)
    np.testing.assert_array_equal(a.p_quantiles([10]), b.p_quantiles([10]))


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


def _blrm(**changes):
    args = dict(doses=[1, 10], weights=None, n=[3, 3], y=[0, 1], **NBG_PRIOR)
    args.update(changes)
    return blrm_grid_posterior(
        args.pop("doses"), args.pop("weights"), args.pop("n"), args.pop("y"), **args
    )


def _crm(**changes):
    args = dict(levels=[0, 2], weights=None, n=[3, 3], y=[0, 1])
    args.update(skeleton=CHEUNG_SKELETON, prior_sd=1.0)
    args.update(changes)
    return crm_grid_posterior(
        args.pop("levels"), args.pop("weights"), args.pop("n"), args.pop("y"), **args
    )


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: _blrm(y=[4, 0]), "y must not exceed n"),
        (lambda: _blrm(n=[-1, 3], y=[0, 1]), "n must be non-negative"),
        (lambda: _blrm(y=[-1, 1]), "y must be non-negative"),
        (lambda: _blrm(n=[3.5, 3]), "n must be whole"),
        (lambda: _blrm(n=[3, 3, 3], y=[0, 0, 0]), "n must have shape"),
        (lambda: _blrm(d_ref=0), "d_ref must be a positive"),
        (lambda: _blrm(d_ref=-250), "d_ref must be a positive"),
        (lambda: _blrm(doses=[0, 10]), "doses must be positive"),
        (lambda: _blrm(doses=[-1, 10]), "doses must be positive"),
        (lambda: _blrm(doses=[[1, 2], [3, 4]]), "doses must be 1-D"),
        (lambda: _blrm(sd=(0.0, 0.8)), "sd must be positive"),
        (lambda: _blrm(sd=(0.84, -0.8)), "sd must be positive"),
        (lambda: _blrm(mean=(1.0,)), "mean must be two"),
        (lambda: _blrm(corr=1.0), r"corr must be a number with \|corr\| < 1"),
        (lambda: _blrm(corr=-1.5), r"corr must be a number with \|corr\| < 1"),
        (lambda: _blrm(grid_size=4), "grid_size must be an integer >= 8"),
        (lambda: _blrm(weights=[[0.0], [0.0]], doses=[[1.0], [10.0]]), "all 0"),
        (lambda: _crm(y=[0, 4]), "y must not exceed n"),
        (lambda: _crm(n=[-3, 3]), "n must be non-negative"),
        (lambda: _crm(skeleton=[0.1, 0.3, 0.2]), "skeleton must be strictly increasing"),
        (lambda: _crm(skeleton=[0.1, 0.1, 0.2]), "skeleton must be strictly increasing"),
        (lambda: _crm(skeleton=[0.0, 0.1, 0.2]), "skeleton values must lie strictly"),
        (lambda: _crm(skeleton=[0.5, 0.9, 1.0]), "skeleton values must lie strictly"),
        (lambda: _crm(skeleton=[]), "skeleton must be a non-empty"),
        (lambda: _crm(prior_sd=0.0), "prior_sd must be a positive"),
        (lambda: _crm(model="probit"), "model must be one of"),
        (lambda: _crm(levels=[0, 5]), "levels must be 0-based skeleton levels 0..4"),
        (lambda: _crm(levels=[-1, 2]), "levels must be 0-based skeleton levels 0..4"),
        (lambda: cheung_posterior().recommend(1.2), "target must lie strictly between 0 and 1"),
        (lambda: cheung_posterior().recommend(0.0), "target must lie strictly between 0 and 1"),
        (lambda: cheung_posterior().recommend(0.25, method="median"), "method must be"),
        (lambda: cheung_posterior().interval_probs((0.33, 0.16)), "cuts must be two increasing"),
        (lambda: nbg_posterior().mtd_quantiles(1.0), "target must lie strictly between"),
        (lambda: nbg_posterior().mtd_prob_ge(-0.1, 10), "target must lie strictly between"),
        (lambda: nbg_posterior().mtd_quantiles(0.25, (0.5, 1.0)), "probs must lie strictly"),
        (lambda: nbg_posterior().p_mean([0, 10]), "d must be positive doses"),
        (lambda: nbg_posterior().prob_exceeds(10, 1.5), "t must lie strictly between"),
        (lambda: nbg_posterior().ewoc([10], max_overdose_prob=0), "max_overdose_prob must"),
        (lambda: regimen_weights([[(5, 7)]], treatment="average"), "treatment must be one of"),
        (lambda: regimen_weights([[(0, 7)]]), "regimen 0, period 0: dose must be a positive"),
        (lambda: regimen_weights([[(5, 7), (-5, 7)]]), "regimen 0, period 1: dose must be"),
        (lambda: regimen_weights([[(5, 0)]]), "regimen 0, period 0: days must be a positive"),
        (lambda: regimen_weights([[(5, 7)], []]), "regimen 1 is empty"),
        (lambda: regimen_weights([]), "at least one regimen"),
        (lambda: regimen_weights([[(5, 7)]], window=0), "window must be a positive"),
        (lambda: regimen_weights([[(5, 30)]], window=28), "longer than its DLT window"),
        (lambda: regimen_weights([[(5, 7, 1)]]), r"must be a \(dose, days\) pair"),
        (lambda: regimen_weights([[(-1, 7)]], levels=True), "level must be a 0-based integer"),
        (lambda: regimen_weights([[(1.5, 7)]], levels=True), "level must be a 0-based integer"),
        (lambda: regimen_weights([[(np.nan, 7)]], levels=True), "level must be a 0-based integer"),
        (lambda: regimen_weights([[(np.nan, 7)]]), "dose must be a positive finite number"),
        (lambda: regimen_weights([[(5, 7)]], window=[28, 28]), "window must be one number or one"),
        (lambda: _blrm(weights=[[1.0], [-1.0]], doses=[[1.0], [10.0]]), "weights must be finite"),
        (lambda: _blrm(half_width=2), "half_width must be >= 3"),
    ],
)
def test_bad_input_raises_spec_error(call, match):
    with pytest.raises(SpecError, match=match) as info:
        call()
    assert isinstance(info.value, ValueError)


def test_error_messages_name_the_value():
    with pytest.raises(SpecError, match=r"corr .* got 1\.0"):
        _blrm(corr=1.0)
    with pytest.raises(SpecError, match=r"\[0\.1, 0\.3, 0\.2\]"):
        _crm(skeleton=[0.1, 0.3, 0.2])
    with pytest.raises(SpecError, match="'probit'"):
        _crm(model="probit")
    with pytest.raises(SpecError, match=r"data set 0, cohort 0 has y = 4 > n = 3"):
        _blrm(y=[4, 0])


def test_power_is_an_alias_of_empiric():
    a, b = _crm(model="power"), _crm(model="empiric")
    assert a.model == "empiric"
    np.testing.assert_array_equal(a.log_weights, b.log_weights)


def test_logistic_dose_labels():
    post = cheung_posterior()
    x = logit(np.array(CHEUNG_SKELETON)) - 3.0
    lp, _ = post._log_p(np.array([0.7]))
    np.testing.assert_allclose(np.exp(lp)[0], expit(3.0 + np.exp(0.7) * x))
