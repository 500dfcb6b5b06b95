"""Dose-escalation designs: each rule against an independent computation or a published value."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from scipy import integrate
from scipy.special import expit
from scipy.stats import beta as beta_dist
from scipy.stats import binom, norm

from bayesblina.analyses.dose_toxicity.blrm_grid import blrm_grid_posterior
from bayesblina.analyses.dose_toxicity.crm_grid import crm_grid_posterior
from bayesblina.analyses.dose_toxicity.regimens import regimen_weights
from bayesblina.design.escalation import (
    ALL_TOO_TOXIC,
    BLRM,
    BOIN,
    CONTINUE,
    CRM,
    ENOUGH_AT_MTD,
    MAX_N,
    RULE,
    EscalationDesign,
    RowCache,
    ThreePlusThree,
    Trials,
    boin_boundaries,
    boin_boundary_table,
    boin_select_mtd,
)
from bayesblina.errors import SpecError

SKELETON = [0.05, 0.12, 0.25, 0.40, 0.55]
DOSES = [1.0, 2.5, 5.0, 10.0, 25.0]
PRIOR = {"d_ref": 25.0, "mean": (-1.1, 0.0), "sd": (1.0, 0.7), "corr": 0.0}


def stack(histories, max_n, start_level=0) -> Trials:
    """Several one-trial histories as one batch (same number of columns)."""
    one = [Trials.from_history(h, max_n, start_level) for h in histories]
    return Trials(
        np.concatenate([t.level for t in one]),
        np.concatenate([t.dlt for t in one]),
        np.concatenate([t.weight for t in one]),
        np.concatenate([t.current for t in one]),
    )


def random_histories(rng, n_hist, n_levels, max_cohorts, cohort=3, p_dlt=0.25):
    """Histories of random walks over the levels (each cohort +-1 level or stay)."""
    out = []
    for _ in range(n_hist):
        level, h = 0, []
        for _ in range(rng.integers(0, max_cohorts + 1)):
            h.append((level, cohort, int(rng.binomial(cohort, p_dlt))))
            level = int(np.clip(level + rng.integers(-1, 2), 0, n_levels - 1))
        out.append(h)
    return out


# --------------------------------------------------------------------------------------
# Trials
# --------------------------------------------------------------------------------------


def test_trials_counts_only_evaluable_patients():
    level = [[0, 0, 1, 1, -1], [2, 2, 2, 2, 2]]
    dlt = [[False, True, False, True, False], [False] * 5]
    weight = [[1.0, 1.0, 0.5, 1.0, 0.0], [1.0, 0.2, 1.0, 0.0, 1.0]]
    trials = Trials(level, dlt, weight, [1, 2])
    n, y = trials.counts(3)
    assert n.tolist() == [[2, 1, 0], [0, 0, 3]]  # the pending patient at level 1 waits
    assert y.tolist() == [[1, 1, 0], [0, 0, 0]]
    assert trials.enrolled(3).tolist() == [[2, 2, 0], [0, 0, 5]]


def test_trials_from_history():
    t = Trials.from_history([(0, 3, 0), (1, 3, 2)], max_n=9)
    assert t.level.tolist() == [[0, 0, 0, 1, 1, 1, -1, -1, -1]]
    assert t.dlt.sum() == 2 and t.weight.sum() == 6 and t.current.tolist() == [1]
    assert Trials.from_history([], 6, start_level=2).current.tolist() == [2]
    with pytest.raises(SpecError, match="n_dlt"):
        Trials.from_history([(0, 3, 4)], 9)


def test_designs_satisfy_the_protocol():
    designs = [
        ThreePlusThree(5),
        BOIN(5, 0.3, max_n=30),
        CRM(SKELETON, 0.25, max_n=30),
        BLRM(DOSES, **PRIOR, max_n=30),
    ]
    for d in designs:
        assert isinstance(d, EscalationDesign)
        assert d.n_levels == 5 and d.cohort_size == 3 and d.max_n >= 30
        assert d.start_level == 0 and d.tite is False and isinstance(d.name, str)


# --------------------------------------------------------------------------------------
# 3+3
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([], (0, False, -1, CONTINUE)),
        ([(0, 3, 0)], (1, False, 0, CONTINUE)),
        ([(0, 3, 1)], (0, False, -1, CONTINUE)),
        ([(0, 3, 1), (0, 3, 0)], (1, False, 0, CONTINUE)),
        ([(0, 3, 2)], (-1, True, -1, ALL_TOO_TOXIC)),
        ([(0, 3, 1), (0, 3, 1)], (-1, True, -1, ALL_TOO_TOXIC)),
        # >= 2 DLTs at 1: 3 more at 0 (it has 3), then 0 is the MTD with <= 1/6
        ([(0, 3, 0), (1, 3, 2)], (0, False, 0, CONTINUE)),
        ([(0, 3, 0), (1, 3, 2), (0, 3, 1)], (-1, True, 0, RULE)),
        ([(0, 3, 0), (1, 3, 2), (0, 3, 2)], (-1, True, -1, ALL_TOO_TOXIC)),
        # the lower level already has 6: it is the MTD at once
        ([(0, 3, 1), (0, 3, 0), (1, 3, 2)], (-1, True, 0, RULE)),
        # top level: 0/3 -> 3 more at the top; <= 1/6 -> MTD = top
        ([(0, 3, 0), (1, 3, 0), (2, 3, 0)], (2, False, 2, CONTINUE)),
        ([(0, 3, 0), (1, 3, 0), (2, 3, 0), (2, 3, 1)], (-1, True, 2, RULE)),
    ],
)
def test_three_plus_three_paths(history, expected):
    got = ThreePlusThree(3).next_dose(history)
    assert (got["next_level"], got["stop"], got["selected"], got["reason"]) == expected


def three_plus_three_closed_form(p):
    """P(MTD = i) (i = 0..K-1) and P(no MTD) of the 3+3 with de-escalation, from level 0.

    Derived as in Lin & Shih (2001): escalation passes level j with 0/3
    (a_j = (1-p)^3) or 1/3 then 0/3 (b_j = 3p(1-p)^2 (1-p)^3) and stops at the first level
    k that fails (f_k = 1 - a_k - b_k; at the top, where 0/3 also needs 3 more,
    f = 1 - a c - b); de-escalation from k stops at the first level below that has 6
    patients (it passed by 1/6: MTD) or that passed by 0/3 and whose 3 more patients have
    at most one DLT (c_j = P(Bin(3, p_j) <= 1)).
    """
    p = np.asarray(p, dtype=float)
    k = p.size
    a = (1 - p) ** 3
    b = 3 * p * (1 - p) ** 2 * (1 - p) ** 3
    c = binom.cdf(1, 3, p)
    f = 1 - a - b
    f[-1] = 1 - a[-1] * c[-1] - b[-1]
    out = np.zeros(k + 1)
    for i in range(k):
        passed_below = np.prod(a[:i] + b[:i])
        for stop_at in range(i + 1, k):
            out[i] += (
                passed_below
                * (b[i] + a[i] * c[i])
                * np.prod(a[i + 1 : stop_at] * (1 - c[i + 1 : stop_at]))
                * f[stop_at]
            )
    out[k - 1] += np.prod(a[:-1] + b[:-1]) * (a[-1] * c[-1] + b[-1])
    for stop_at in range(k):
        out[k] += np.prod(a[:stop_at] * (1 - c[:stop_at])) * f[stop_at]
    return out


def enumerate_oc(design, p):
    """Exact selection probabilities and E[N] of a design by full enumeration of its tree.

    Every open history is advanced by ``design.decide`` (one batch per depth) and every
    outcome of the next cohort of 3 is a branch with its binomial probability.
    """
    k = design.n_levels
    active = [((), 1.0)]
    sel = np.zeros(k + 1)  # last entry: no MTD
    expected_n = 0.0
    while active:
        dec = design.decide(stack([h for h, _ in active], design.max_n, design.start_level))
        nxt = []
        for i, (h, prob) in enumerate(active):
            if dec.stop[i]:
                sel[dec.selected[i]] += prob  # selected = -1 lands in the last entry
                expected_n += prob * sum(c[1] for c in h)
            else:
                lv = int(dec.next_level[i])
                for d in range(4):
                    nxt.append(((*h, (lv, 3, d)), prob * binom.pmf(d, 3, p[lv])))
        active = nxt
    return sel, expected_n


@pytest.mark.parametrize(
    "p",
    [
        [0.05, 0.10, 0.20, 0.30, 0.50],
        [0.30, 0.40, 0.50, 0.60],
        [0.02, 0.05, 0.08, 0.10],
        [0.15, 0.35, 0.45],
    ],
)
def test_three_plus_three_exact_oc_against_closed_form(p):
    design = ThreePlusThree(len(p))
    sel, expected_n = enumerate_oc(design, np.asarray(p))
    closed = three_plus_three_closed_form(p)
    assert closed.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(sel, closed, atol=1e-12)
    assert 3 <= expected_n <= 6 * len(p)


# --------------------------------------------------------------------------------------
# BOIN
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "lam_e", "lam_d"), [(0.3, 0.236, 0.358), (0.25, 0.197, 0.298)]
)
def test_boin_boundaries_published(target, lam_e, lam_d):
    # Liu & Yuan (2015), Table 1, printed to 3 decimals (0.3's lambda_d = 0.35852 is
    # printed truncated, 0.358, hence a tolerance of one unit in the last place)
    got = boin_boundaries(target)
    assert got == pytest.approx((lam_e, lam_d), abs=1e-3)


def test_boin_decision_table_target_0_3():
    # the BOIN R package's get.boundary(target = 0.3, ncohort = 10, cohortsize = 3)
    tab = boin_boundary_table(0.3, 30)
    at = np.array([3, 6, 9]) - 1
    assert tab["escalate"][at].tolist() == [0, 1, 2]
    assert tab["deescalate"][at].tolist() == [2, 3, 4]
    assert tab["eliminate"][at].tolist() == [3, 4, 5]
    # the elimination boundary is the smallest count with P(p > 0.3) > 0.95 under a
    # Beta(1, 1) prior (checked here with scipy.stats.beta, not the module's betaincc)
    for n, e in zip(tab["n"], tab["eliminate"], strict=True):
        if e < 0:
            assert n < 3 or beta_dist.sf(0.3, n + 1, 1) <= 0.95
            continue
        assert beta_dist.sf(0.3, e + 1, n - e + 1) > 0.95
        assert e == 1 or beta_dist.sf(0.3, e, n - e + 2) <= 0.95


def r_select_mtd(target, n, y, cutoff=0.95):
    """A line-by-line transcription of BOIN's ``select.mtd`` (loop PAVA), one trial."""
    n, y = np.asarray(n, float), np.asarray(y, float)
    elimi = np.zeros(n.size, bool)
    for i in range(n.size):
        if n[i] >= 3 and beta_dist.sf(target, y[i] + 1, n[i] - y[i] + 1) > cutoff:
            elimi[i:] = True
            break
    if elimi[0] or n[~elimi].sum() == 0:
        return -1
    adm = np.flatnonzero((n != 0) & ~elimi)
    ya, na = y[adm], n[adm]
    x = (ya + 0.05) / (na + 0.1)
    wt = 1 / ((ya + 0.05) * (na - ya + 0.05) / ((na + 0.1) ** 2 * (na + 0.1 + 1)))
    lvl = np.arange(x.size)
    while True:
        viol = np.diff(x) < 0
        if not viol.any():
            break
        i = np.flatnonzero(viol)[0]
        sel = (lvl == lvl[i]) | (lvl == lvl[i + 1])
        x[sel] = (x[sel] * wt[sel]).sum() / wt[sel].sum()
        lvl[sel] = lvl[i]
    x = x + np.arange(1, x.size + 1) * 1e-10
    return int(adm[np.argsort(np.abs(x - target), kind="stable")[0]])


def test_boin_select_mtd_published_example():
    # Yan et al. (2020, J Stat Softw), p. 15: select.mtd gives dose 3 (1-based)
    assert boin_select_mtd(0.3, [3, 3, 15, 9, 0], [0, 0, 4, 4, 0]).tolist() == [2]


def test_boin_select_mtd_against_loop_pava():
    rng = np.random.default_rng(7)
    n = rng.choice([0, 3, 6, 9, 12], size=(3000, 5))
    y = rng.binomial(n, rng.uniform(0.0, 0.7, size=(3000, 5)))
    got = boin_select_mtd(0.3, n, y)
    want = [r_select_mtd(0.3, n[i], y[i]) for i in range(n.shape[0])]
    assert got.tolist() == want


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([(0, 3, 0)], (1, CONTINUE)),
        ([(0, 3, 1)], (0, CONTINUE)),  # 1/3: between the boundaries -> stay
        ([(0, 3, 0), (1, 3, 2)], (0, CONTINUE)),  # 2/3 >= 0.358 -> de-escalate
        ([(0, 3, 2)], (0, CONTINUE)),  # de-escalation at the lowest level: stay
        ([(0, 3, 3)], (-1, ALL_TOO_TOXIC)),  # lowest level eliminated
        # level 1 eliminated (3/3): 0/3 at level 0 may not escalate to it
        ([(0, 3, 0), (1, 3, 3), (0, 3, 0)], (0, CONTINUE)),
        ([(0, 3, 0), (1, 3, 0), (2, 3, 0), (3, 3, 0), (4, 3, 0)], (4, CONTINUE)),  # top: stay
    ],
)
def test_boin_rule(history, expected):
    got = BOIN(5, 0.3, max_n=30).next_dose(history)
    assert (got["next_level"], got["reason"]) == expected


def test_boin_stops_at_n_stop_only_when_it_would_stay():
    design = BOIN(3, 0.3, max_n=30, n_stop=9)
    stay = design.next_dose([(0, 3, 0), (1, 3, 1), (1, 3, 1), (1, 3, 1)])  # 3/9: stay
    assert stay["stop"] and stay["reason"] == ENOUGH_AT_MTD and stay["selected"] == 1
    move = design.next_dose([(0, 3, 0), (1, 3, 0), (1, 3, 0), (1, 3, 1)])  # 1/9: escalate
    assert not move["stop"] and move["next_level"] == 2
    full = design.next_dose([(0, 3, 0)] + [(1, 3, 1)] * 9)
    assert full["reason"] == MAX_N


# --------------------------------------------------------------------------------------
# CRM
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["empiric", "logistic"])
def test_crm_matches_the_grid_engine(model):
    rng = np.random.default_rng(3)
    hist = [h for h in random_histories(rng, 300, 5, 8) if h]
    design = CRM(SKELETON, 0.25, max_n=60, model=model)
    dec = design.decide(stack(hist, 60))
    n, y = stack(hist, 60).counts(5)
    rec = crm_grid_posterior(
        np.arange(5), None, n, y, skeleton=SKELETON, model=model, prior_sd=math.sqrt(1.34)
    ).recommend(0.25)
    highest = np.array([max(c[0] for c in h) for h in hist])
    np.testing.assert_array_equal(dec.selected, rec)
    np.testing.assert_array_equal(dec.next_level, np.minimum(rec, highest + 1))
    assert (dec.next_level < rec).any()  # the no-skip rule bites in some histories


def test_crm_overdose_stop_and_no_skip_off():
    design = CRM(SKELETON, 0.25, max_n=30, stop_if_p1_above=(0.25, 0.9))
    assert design.next_dose([(0, 3, 3), (0, 3, 2)])["reason"] == ALL_TOO_TOXIC
    assert design.next_dose([(0, 3, 0)])["next_level"] == 1
    free = CRM(SKELETON, 0.25, max_n=30, no_skip=False)
    assert free.next_dose([(0, 3, 0)])["next_level"] > 1


def crm_log_lik(beta, history, model, a0=3.0):
    """TITE-CRM log-likelihood at a scalar beta: patients (level, dlt, weight)."""
    s = np.asarray(SKELETON)
    if model == "empiric":
        logp = math.exp(beta) * np.log(s)
    else:
        logp = -np.logaddexp(0.0, -(a0 + math.exp(beta) * (np.log(s / (1 - s)) - a0)))
    return sum(logp[lv] if d else math.log1p(-w * math.exp(logp[lv])) for lv, d, w in history)


TITE_HISTORIES = [
    [(0, False, 1.0), (0, False, 1.0), (1, False, 0.4), (1, True, 1.0), (1, False, 0.1)],
    [(1, False, 1.0), (2, False, 0.7), (2, False, 0.3), (2, False, 0.05)],
    [(0, True, 1.0), (0, False, 0.9), (0, False, 0.5), (1, True, 1.0), (1, False, 0.2)],
]


def tite_trials(histories, m=8) -> Trials:
    level = np.full((len(histories), m), -1)
    dlt = np.zeros((len(histories), m), bool)
    weight = np.zeros((len(histories), m))
    for b, h in enumerate(histories):
        for j, (lv, d, w) in enumerate(h):
            level[b, j], dlt[b, j], weight[b, j] = lv, d, 1.0 if d else w
    return Trials(level, dlt, weight, [h[-1][0] for h in histories])


@pytest.mark.parametrize("model", ["empiric", "logistic"])
def test_tite_crm_against_quadrature(model):
    sd = math.sqrt(1.34)
    design = CRM(SKELETON, 0.25, max_n=30, model=model, tite=True, window=28)
    post = design.posterior(tite_trials(TITE_HISTORIES))
    for b, h in enumerate(TITE_HISTORIES):

        def dens(beta, h=h):
            return math.exp(crm_log_lik(beta, h, model)) * norm.pdf(beta, 0, sd)

        z = integrate.quad(dens, -10 * sd, 10 * sd, epsabs=0, epsrel=1e-12, limit=200)[0]
        mean = integrate.quad(
            lambda x, dens=dens: x * dens(x), -10 * sd, 10 * sd, epsabs=0, epsrel=1e-12,
            limit=200,
        )[0]
        assert post.beta_mean()[b] == pytest.approx(mean / z, abs=1e-8)
        # P(p_1 > 0.05): p_1 decreases in beta, so this is P(beta < beta*)
        if model == "empiric":
            star = math.log(math.log(0.05) / math.log(SKELETON[0]))
        else:
            x1 = math.log(SKELETON[0] / (1 - SKELETON[0])) - 3.0
            star = math.log((math.log(0.05 / 0.95) - 3.0) / x1)
        below = integrate.quad(dens, -10 * sd, star, epsabs=0, epsrel=1e-12, limit=200)[0]
        assert post.prob_exceeds(0.05)[b, 0] == pytest.approx(below / z, abs=1e-6)
    # and the decision is the plug-in recommendation at that posterior mean
    dec = design.decide(tite_trials(TITE_HISTORIES))
    np.testing.assert_array_equal(dec.selected, post.recommend(0.25))


def test_tite_crm_with_complete_follow_up_is_the_crm():
    rng = np.random.default_rng(5)
    trials = stack([h for h in random_histories(rng, 100, 5, 6) if h], 30)
    tite = CRM(SKELETON, 0.25, max_n=30, tite=True, window=28).estimates(trials)[0]
    plain = CRM(SKELETON, 0.25, max_n=30).estimates(trials)[0]
    np.testing.assert_allclose(tite, plain, rtol=1e-10)


# --------------------------------------------------------------------------------------
# BLRM
# --------------------------------------------------------------------------------------


def test_blrm_probs_match_the_engine_with_dedupe():
    rng = np.random.default_rng(11)
    hist = random_histories(rng, 400, 5, 6)
    trials = stack(hist, 30)
    design = BLRM(DOSES, **PRIOR, max_n=30)
    got = design.interval_probs(trials)
    n, y = trials.counts(5)
    want = blrm_grid_posterior(DOSES, None, n, y, **PRIOR).interval_probs(DOSES)
    np.testing.assert_allclose(got, want, atol=1e-13)
    assert design.unique_rows(trials) < len(hist)  # random walks share count rows
    again = design.interval_probs(trials)  # all from the cache now
    np.testing.assert_array_equal(again, got)


def test_blrm_regimen_levels_match_the_engine():
    regimens = [[(5, 7), (15, 21)], [(15, 28)], [(15, 7), (30, 21)]]
    design = BLRM(regimens, **PRIOR, max_n=30, window=28)
    trials = stack([[(0, 3, 0), (1, 3, 1)], [(0, 3, 1)], [(0, 3, 0), (1, 3, 0), (2, 3, 2)]], 30)
    d, w = regimen_weights(regimens, "period_exposure", 28)
    n, y = trials.counts(3)
    want = blrm_grid_posterior(d, w, n, y, **PRIOR).interval_probs(d, weights=w)
    np.testing.assert_allclose(design.interval_probs(trials), want, atol=1e-13)


def probs_from_over_target(over, target):
    over, target = np.asarray(over, float), np.asarray(target, float)
    return np.stack([1 - over - target, target, over], axis=-1)[None]


def test_blrm_ewoc_rule():
    design = BLRM(DOSES, **PRIOR, max_n=30, min_at_mtd=6, min_n=12)
    t = Trials.from_history([(0, 3, 0), (1, 3, 0)], 30)
    # level 3 maximises P(target) but is above the no-skip ceiling (2); level 4 inadmissible
    probs = probs_from_over_target([0.0, 0.05, 0.1, 0.2, 0.3], [0.1, 0.3, 0.4, 0.5, 0.6])
    assert design.decide_with(t, probs).row() == {
        "next_level": 2, "stop": False, "selected": 1, "reason": CONTINUE}
    # nothing admissible within reach
    probs = probs_from_over_target([0.3, 0.4, 0.5, 0.6, 0.7], [0.5] * 5)
    assert design.decide_with(t, probs).row()["reason"] == ALL_TOO_TOXIC
    # 6 at the recommended level and 12 in all: enough
    t12 = Trials.from_history([(0, 3, 0), (1, 3, 0), (2, 3, 1), (2, 3, 0)], 30)
    probs = probs_from_over_target([0.0, 0.0, 0.1, 0.3, 0.4], [0.1, 0.3, 0.5, 0.4, 0.3])
    assert design.decide_with(t12, probs).row() == {
        "next_level": -1, "stop": True, "selected": 2, "reason": ENOUGH_AT_MTD}
    t30 = Trials.from_history([(0, 3, 0)] * 10, 30)
    probs = probs_from_over_target([0.0, 0.1, 0.3, 0.4, 0.5], [0.4, 0.5, 0.4, 0.3, 0.2])
    assert design.decide_with(t30, probs).row() == {
        "next_level": -1, "stop": True, "selected": 0, "reason": MAX_N}


def test_blrm_decisions_on_real_posteriors():
    design = BLRM(DOSES, **PRIOR, max_n=30)
    assert design.next_dose([]) == {
        "next_level": 0, "stop": False, "selected": -1, "reason": CONTINUE}
    assert design.next_dose([(0, 3, 3), (0, 3, 3)])["reason"] == ALL_TOO_TOXIC
    low = design.next_dose([(0, 3, 0), (1, 3, 0), (2, 3, 0)])
    assert low["next_level"] == 3 and not low["stop"]


def test_tite_blrm_with_complete_follow_up_is_the_blrm():
    rng = np.random.default_rng(2)
    trials = stack(random_histories(rng, 50, 5, 6), 30)
    tite = BLRM(DOSES, **PRIOR, max_n=30, tite=True, window=28).interval_probs(trials)
    plain = BLRM(DOSES, **PRIOR, max_n=30).interval_probs(trials)
    np.testing.assert_allclose(tite, plain, atol=1e-12)


def test_tite_blrm_against_importance_sampling():
    # prior draws weighted by the TITE likelihood: an estimate independent of the grid
    hist = TITE_HISTORIES[0]
    design = BLRM(DOSES, **PRIOR, max_n=30, tite=True, window=28)
    got = design.interval_probs(tite_trials([hist]))[0]
    rng = np.random.default_rng(1)
    draws = rng.normal(PRIOR["mean"], PRIOR["sd"], size=(400_000, 2))
    p = expit(draws[:, :1] + np.exp(draws[:, 1:]) * np.log(np.asarray(DOSES) / 25.0))
    lik = np.ones(draws.shape[0])
    for lv, d, w in hist:
        lik *= p[:, lv] if d else 1 - w * p[:, lv]
    over = (lik[:, None] * (p > 0.33)).sum(0) / lik.sum()
    target = (lik[:, None] * ((p >= 0.16) & (p <= 0.33))).sum(0) / lik.sum()
    np.testing.assert_allclose(got[:, 2], over, atol=4e-3)
    np.testing.assert_allclose(got[:, 1], target, atol=4e-3)


def test_row_cache_is_bounded_and_not_pickled():
    cache = RowCache(max_rows=10)
    rows = np.arange(40).reshape(20, 2)
    out, n_unique = cache.lookup(rows, lambda r: r.sum(axis=1, keepdims=True).astype(float))
    assert n_unique == 20 and out[:, 0].tolist() == rows.sum(axis=1).tolist()
    assert len(cache) <= 10
    design = BLRM(DOSES, **PRIOR, max_n=30)
    design.next_dose([(0, 3, 0)])
    assert len(pickle.loads(pickle.dumps(design))._cache) == 0
    assert pickle.loads(pickle.dumps(design)) == design


# --------------------------------------------------------------------------------------
# Bad input: one clear SpecError each
# --------------------------------------------------------------------------------------


def test_bad_target():
    with pytest.raises(SpecError, match=r"target = 1\.2 is invalid: it must lie in \(0, 1\)"):
        BOIN(5, 1.2, max_n=30)
    with pytest.raises(SpecError, match=r"target = 0 is invalid"):
        CRM(SKELETON, 0, max_n=30)


def test_bad_ewoc():
    with pytest.raises(SpecError, match=r"ewoc = 1\.0 is invalid: it must lie in \(0, 1\)"):
        BLRM(DOSES, **PRIOR, max_n=30, ewoc=1.0)


def test_bad_cohort_size():
    with pytest.raises(SpecError, match="cohort_size = 0 is invalid: allowed values are"):
        BOIN(5, 0.3, max_n=30, cohort_size=0)


def test_bad_max_n():
    with pytest.raises(SpecError, match="max_n = 0 is invalid: allowed values are max_n >= 1"):
        CRM(SKELETON, 0.25, max_n=0)


def test_bad_regimen_days():
    with pytest.raises(SpecError, match=r"doses\[0\] = .* period 1 has days = 0; days must be > 0"):
        BLRM([[(5, 7), (15, 0)]], **PRIOR, max_n=30)


def test_bad_start_level():
    with pytest.raises(SpecError, match=r"start_level = 3 is invalid: allowed values are 0\.\.2"):
        ThreePlusThree(3, start_level=3)


def test_bad_skeleton_not_increasing():
    with pytest.raises(SpecError, match=r"skeleton = \[0.1, 0.3, 0.2\] .* strictly increasing"):
        CRM([0.1, 0.3, 0.2], 0.25, max_n=30)


def test_bad_skeleton_outside_unit_interval():
    with pytest.raises(SpecError, match=r"skeleton = \[0.1, 1.2\] is invalid: .* between 0 and 1"):
        CRM([0.1, 1.2], 0.25, max_n=30)


def test_bad_phi_order():
    with pytest.raises(SpecError, match=r"phi1 = 0.35, target = 0.3, phi2 = .* phi1 < target < phi2"):
        BOIN(5, 0.3, max_n=30, phi1=0.35)


def test_bad_level_in_trials():
    with pytest.raises(SpecError, match=r"level = 5 is invalid: allowed values are 0\.\.4"):
        BOIN(5, 0.3, max_n=30).next_dose([(5, 3, 0)])


def test_tite_needs_a_window():
    with pytest.raises(SpecError, match="window = None is invalid when tite = True"):
        CRM(SKELETON, 0.25, max_n=30, tite=True)
