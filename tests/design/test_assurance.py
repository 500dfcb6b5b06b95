"""Tests for bayesblina.design.assurance: probability of success, binary and time-to-event.

Each number is checked against an independent computation: quadrature of the defining
integral, explicit loops over outcomes with scipy's own tests, closed forms derived here, or
simulation within its Monte Carlo error.
"""

from __future__ import annotations

import math

import arviz as az
import numpy as np
import pytest
from scipy import integrate, special, stats

from bayesblina.data import load_table2_proportions
from bayesblina.design.assurance import (
    Accrual,
    DifferenceRule,
    FisherRule,
    PosteriorRule,
    ResponderRule,
    expected_events,
    expected_events_per_draw,
    logrank_power,
    prob_difference,
    schoenfeld_events,
    single_arm_assurance,
    single_arm_success,
    tte_assurance,
    two_arm_assurance,
    two_arm_success,
    weibull_draws,
)
from bayesblina.design.priors import BetaMixture, robustify
from bayesblina.errors import SpecError


def phase2_posterior() -> BetaMixture:
    """This trial's phase II CR posterior under a uniform prior (counts from bayesblina.data)."""
    t = load_table2_proportions()
    row = t[(t["population"] == "phase_2") & (t["quantity"] == "cr")].iloc[0]
    return BetaMixture.beta(1, 1).posterior(int(row["x"]), int(row["n"]))


def mix_pdf(m: BetaMixture, t: float) -> float:
    return float(sum(w * stats.beta.pdf(t, a, b) for w, a, b in zip(m.weights, m.a, m.b, strict=True)))


def mix_cdf(m: BetaMixture, t: float) -> float:
    return float(sum(w * stats.beta.cdf(t, a, b) for w, a, b in zip(m.weights, m.a, m.b, strict=True)))


def posterior_by_quadrature(prior: BetaMixture, y: int, n: int):
    """Posterior density (unnormalised pdf, normaliser) by prior x likelihood."""

    def f(t: float) -> float:
        return mix_pdf(prior, t) * t**y * (1 - t) ** (n - y)

    z = integrate.quad(f, 0, 1, points=[(y + 0.5) / (n + 1)], epsabs=0, epsrel=1e-12)[0]
    return f, z


# --------------------------------------------------------------------------------------
# Single arm
# --------------------------------------------------------------------------------------


def test_responder_rule_assurance_is_the_power_averaged_over_the_design_prior():
    design = phase2_posterior()
    n, r = 40, 12
    res = single_arm_assurance(design, n, ResponderRule(r))
    ref = integrate.quad(lambda p: stats.binom.sf(r - 1, n, p) * mix_pdf(design, p), 0, 1,
                         epsabs=1e-13)[0]
    assert res.probability == pytest.approx(ref, abs=1e-10)
    assert res.critical == r
    assert res.success.sum() == n - r + 1
    assert res.predictive.sum() == pytest.approx(1.0)


def test_a_concentrated_design_prior_gives_the_power():
    n, r, p = 30, 9, 0.3
    point = BetaMixture.beta(1e8 * p, 1e8 * (1 - p))
    res = single_arm_assurance(point, n, ResponderRule(r))
    assert res.probability == pytest.approx(stats.binom.sf(r - 1, n, p), abs=1e-4)


def test_posterior_rule_with_a_separate_analysis_prior_against_brute_force():
    design = robustify(phase2_posterior(), 0.2)
    analysis = BetaMixture.beta(1, 1)
    n, p0, c = 25, 0.15, 0.95
    res = single_arm_assurance(design, n, PosteriorRule(p0, c, analysis))
    total = 0.0
    successes = []
    for y in range(n + 1):
        f, z = posterior_by_quadrature(analysis, y, n)
        above = integrate.quad(f, p0, 1, epsabs=0, epsrel=1e-12)[0] / z
        if above > c:
            successes.append(y)
            total += integrate.quad(lambda p, y=y: stats.binom.pmf(y, n, p) * mix_pdf(design, p),
                                    0, 1, epsabs=1e-14)[0]
    assert res.probability == pytest.approx(total, abs=1e-10)
    assert res.critical == successes[0]
    np.testing.assert_array_equal(np.flatnonzero(res.success), successes)


def test_single_arm_assurance_by_simulation():
    design = BetaMixture([0.6, 0.4], [8.0, 2.0], [16.0, 6.0])
    n = 30
    rule = PosteriorRule(0.2, 0.9, BetaMixture.beta(0.5, 0.5))
    res = single_arm_assurance(design, n, rule)
    rng = np.random.default_rng(20160101)
    p = design.sample(200_000, rng)
    y = rng.binomial(n, p)
    hits = res.success[y]
    se = math.sqrt(res.probability * (1 - res.probability) / y.size)
    assert abs(hits.mean() - res.probability) < 4 * se


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: single_arm_assurance(BetaMixture.beta(1, 1), 0, ResponderRule(1)),
         r"n = 0 is invalid: allowed values are n >= 1"),
        (lambda: PosteriorRule(0.2, 1.0, BetaMixture.beta(1, 1)),
         r"threshold = 1.0 is invalid: it must lie in \(0, 1\)"),
        (lambda: PosteriorRule(0.2, -0.5, BetaMixture.beta(1, 1)),
         r"threshold = -0.5 is invalid: it must lie in \(0, 1\)"),
        (lambda: PosteriorRule(0.0, 0.9, BetaMixture.beta(1, 1)),
         r"p0 = 0.0 is invalid: it must lie in \(0, 1\)"),
        (lambda: ResponderRule(-1), r"min_responders = -1 is invalid"),
        (lambda: single_arm_success("at least 3", 10), "rule = 'at least 3' is invalid"),
        (lambda: single_arm_assurance((1, 1), 10, ResponderRule(1)), "design_prior"),
    ],
)
def test_single_arm_bad_input(call, message):
    with pytest.raises(SpecError, match=message):
        call()


# --------------------------------------------------------------------------------------
# Two arms
# --------------------------------------------------------------------------------------

PRIOR_E = BetaMixture([0.7, 0.3], [3.0, 1.0], [5.0, 1.0])
PRIOR_C = BetaMixture.beta(0.5, 0.5)


@pytest.mark.parametrize("delta", [0.0, 0.1, -0.15])
def test_probability_of_a_difference_against_quadrature(delta):
    ne, nc = 30, 25
    table = prob_difference(PRIOR_E, ne, PRIOR_C, nc, delta)
    assert table.shape == (ne + 1, nc + 1)
    for xe, xc in [(0, 0), (0, 25), (30, 0), (12, 7), (3, 20), (30, 25)]:
        e, c = PRIOR_E.posterior(xe, ne), PRIOR_C.posterior(xc, nc)
        ref = integrate.quad(lambda t, e=e, c=c: mix_pdf(e, t) * mix_cdf(c, t - delta),
                             max(delta, 0.0), 1.0, points=[e.mean()], limit=500,
                             epsabs=1e-14, epsrel=1e-12)[0]
        assert table[xe, xc] == pytest.approx(ref, abs=1e-10)


def test_probability_of_superiority_matches_the_exact_beta_sum():
    # P(p_B > p_A), B ~ Beta(aB, bB) with integer aB:
    # sum_{i < aB} B(aA + i, bA + bB) / ((bB + i) B(1 + i, bB) B(aA, bA))
    def exact(a_a: int, b_a: int, a_b: int, b_b: int) -> float:
        return sum(math.exp(special.betaln(a_a + i, b_a + b_b) - math.log(b_b + i)
                            - special.betaln(1 + i, b_b) - special.betaln(a_a, b_a))
                   for i in range(a_b))

    ne, nc = 20, 15
    table = prob_difference(BetaMixture.beta(1, 1), ne, BetaMixture.beta(2, 3), nc)
    for xe in range(0, ne + 1, 3):
        for xc in range(0, nc + 1, 2):
            assert table[xe, xc] == pytest.approx(
                exact(2 + xc, 3 + nc - xc, 1 + xe, 1 + ne - xe), abs=1e-12)


def test_fisher_rule_is_scipys_one_sided_fisher_test():
    ne, nc, alpha = 14, 11, 0.05
    ok = two_arm_success(FisherRule(alpha), ne, nc)
    for xe in range(ne + 1):
        for xc in range(nc + 1):
            p = stats.fisher_exact([[xe, ne - xe], [xc, nc - xc]], alternative="greater").pvalue
            assert ok[xe, xc] == (p <= alpha)


@pytest.mark.parametrize("rule", [
    FisherRule(0.1),
    DifferenceRule(0.9, BetaMixture.beta(1, 1), BetaMixture.beta(1, 1)),
    DifferenceRule(0.8, BetaMixture.beta(1, 1), BetaMixture.beta(2, 8), delta=-0.1),
])
def test_two_arm_assurance_is_the_double_sum_and_matches_simulation(rule):
    design_e = phase2_posterior()
    design_c = BetaMixture.beta(5, 20)
    ne, nc = 20, 16
    res = two_arm_assurance(design_e, design_c, ne, nc, rule)
    # the double sum, with scipy's beta-binomial pmfs
    pe = stats.betabinom.pmf(np.arange(ne + 1), ne, design_e.a[0], design_e.b[0])
    pc = stats.betabinom.pmf(np.arange(nc + 1), nc, design_c.a[0], design_c.b[0])
    total = sum(pe[i] * pc[j] for i in range(ne + 1) for j in range(nc + 1) if res.success[i, j])
    assert res.probability == pytest.approx(total, abs=1e-13)
    # simulation of whole trials: rates from the design priors, then responders
    rng = np.random.default_rng(3)
    size = 200_000
    xe = rng.binomial(ne, design_e.sample(size, rng))
    xc = rng.binomial(nc, design_c.sample(size, rng))
    hit = res.success[xe, xc].mean()
    se = math.sqrt(res.probability * (1 - res.probability) / size)
    assert abs(hit - res.probability) < 4 * se


def test_extreme_analysis_prior_is_refused():
    tiny = BetaMixture.beta(0.001, 0.001)
    with pytest.raises(SpecError, match="cannot be integrated"):
        prob_difference(tiny, 5, BetaMixture.beta(1, 1), 5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: FisherRule(1.5), r"alpha = 1.5 is invalid: it must lie in \(0, 1\)"),
        (lambda: DifferenceRule(1.0, PRIOR_E, PRIOR_C), r"threshold = 1.0 is invalid"),
        (lambda: DifferenceRule(0.9, PRIOR_E, PRIOR_C, delta=1.0), r"delta = 1.0 is invalid"),
        (lambda: two_arm_assurance(PRIOR_E, PRIOR_C, 0, 5, FisherRule(0.05)),
         r"n_e = 0 is invalid: allowed values are n_e >= 1"),
        (lambda: two_arm_assurance(PRIOR_E, PRIOR_C, 5, 0, FisherRule(0.05)),
         r"n_c = 0 is invalid"),
        (lambda: two_arm_success(0.05, 5, 5), "rule = 0.05 is invalid"),
    ],
)
def test_two_arm_bad_input(call, message):
    with pytest.raises(SpecError, match=message):
        call()


# --------------------------------------------------------------------------------------
# Time to event: expected events
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("calendar", [4.0, 12.0, 20.0])
def test_expected_events_exponential_uniform_accrual_closed_form(calendar):
    # rate r over [0, A], S(t) = exp(-t/lam): E[D(C)] = r [u - lam (e^{-(C-u)/lam} - e^{-C/lam})]
    # with u = min(C, A)
    r, accrual_time, lam = 3.0, 12.0, 9.0
    u = min(calendar, accrual_time)
    closed = r * (u - lam * (math.exp(-(calendar - u) / lam) - math.exp(-calendar / lam)))
    ev = expected_events_per_draw([1.0], [lam], [(accrual_time, r)], [calendar])
    assert ev[0, 0] == pytest.approx(closed, rel=1e-12)


@pytest.mark.parametrize("cap", [None, 9.0])
def test_expected_events_weibull_piecewise_accrual_against_quadrature(cap):
    plan = Accrual(((6.0, 2.0), (12.0, 4.0)))
    k = np.array([1.0, 1.6, 0.7])
    lam = np.array([10.0, 14.0, 8.0])
    times = np.array([3.0, 10.0, 18.0, 30.0])
    ev = expected_events_per_draw(k, lam, plan, times, max_follow_up=cap)
    for i in range(k.size):
        for j, c in enumerate(times):
            def f(u: float, i: int = i, c: float = c) -> float:
                s = c - u if cap is None else min(c - u, cap)
                return (2.0 if u < 6 else 4.0) * -math.expm1(-((s / lam[i]) ** k[i]))
            pts = [v for v in (6.0, c - cap if cap else None) if v is not None and 0 < v < c]
            ref = integrate.quad(f, 0, min(c, 18.0), points=pts or None, limit=200,
                                 epsabs=1e-12, epsrel=1e-12)[0]
            assert ev[i, j] == pytest.approx(ref, rel=1e-9, abs=1e-10)


def test_expected_events_against_simulation():
    plan = Accrual(((6.0, 2.0), (12.0, 4.0)))  # 60 patients over 18 months
    k, lam, calendar, cap = 1.4, 15.0, 24.0, 12.0
    expected = expected_events_per_draw([k], [lam], plan, [calendar], max_follow_up=cap)[0, 0]
    rng = np.random.default_rng(5)
    reps = 4000
    # entries: a fixed 12 patients in the first period and 48 in the second, uniform within
    entries = np.concatenate([rng.uniform(0, 6, (reps, 12)), rng.uniform(6, 18, (reps, 48))],
                             axis=1)
    times = lam * rng.weibull(k, entries.shape)
    follow = np.minimum(calendar - entries, cap)
    counts = (times <= follow).sum(axis=1)
    se = counts.std(ddof=1) / math.sqrt(reps)
    assert abs(counts.mean() - expected) < 4 * se


def test_expected_events_summary_over_posterior_draws():
    rng = np.random.default_rng(8)
    k = rng.gamma(50, 1 / 40, 500)
    lam = rng.lognormal(math.log(12), 0.2, 500)
    plan = [(10.0, 3.0)]
    table = expected_events(k, lam, plan, [5.0, 15.0, 40.0], ci_prob=0.9)
    per = expected_events_per_draw(k, lam, plan, [5.0, 15.0, 40.0])
    np.testing.assert_allclose(table["events_mean"], per.mean(axis=0))
    np.testing.assert_allclose(table["events_lower"], np.quantile(per, 0.05, axis=0))
    np.testing.assert_allclose(table["events_upper"], np.quantile(per, 0.95, axis=0))
    np.testing.assert_allclose(table["patients"], [15.0, 30.0, 30.0])
    assert (table["events_mean"] <= table["patients"]).all()
    assert table["events_mean"].is_monotonic_increasing


def test_weibull_draws_from_a_survival_fit():
    rho = np.full((2, 3), 1.3)
    lam = np.arange(6.0).reshape(2, 3) + 10
    idata = az.from_dict(posterior={"lambda_": lam, "rho_": rho, "median": lam / 2})
    shape, scale = weibull_draws(idata)
    np.testing.assert_array_equal(shape, rho.ravel())
    np.testing.assert_array_equal(scale, lam.ravel())
    shape, scale = weibull_draws(az.from_dict(posterior={"lambda_": lam}))  # exponential
    np.testing.assert_array_equal(shape, np.ones(6))
    with pytest.raises(SpecError, match="no 'lambda_'"):
        weibull_draws(az.from_dict(posterior={"mu": lam}))


@pytest.mark.parametrize(
    ("periods", "message"),
    [
        ([(6.0, 0.0)], r"periods\[0\] rate \(patients per unit time\) = 0.0 is invalid"),
        ([(6.0, 2.0), (3.0, -1.0)], r"periods\[1\] rate .* = -1.0 is invalid"),
        ([(0.0, 2.0)], r"periods\[0\] duration = 0.0 is invalid: it must be a number > 0"),
        ([(-2.0, 2.0)], r"periods\[0\] duration = -2.0 is invalid"),
        ([(float("inf"), 2.0)], r"periods\[0\] duration = inf is invalid"),
        ([], "periods is empty"),
        ([(6.0,)], r"periods\[0\] = \(6.0,\) is invalid"),
    ],
)
def test_accrual_bad_input(periods, message):
    with pytest.raises(SpecError, match=message):
        Accrual(tuple(periods))
    with pytest.raises(SpecError, match=message):
        expected_events_per_draw([1.0], [10.0], periods, [12.0])


def test_expected_events_other_bad_input():
    with pytest.raises(SpecError, match="shape has 2 and scale 1 draws"):
        expected_events_per_draw([1.0, 2.0], [10.0], [(6, 2)], [12.0])
    with pytest.raises(SpecError, match="scale has a draw that is not a finite number > 0"):
        expected_events_per_draw([1.0], [-1.0], [(6, 2)], [12.0])
    with pytest.raises(SpecError, match="calendar_times"):
        expected_events_per_draw([1.0], [10.0], [(6, 2)], [-1.0])
    with pytest.raises(SpecError, match="max_follow_up = 0 is invalid"):
        expected_events_per_draw([1.0], [10.0], [(6, 2)], [12.0], max_follow_up=0)


# --------------------------------------------------------------------------------------
# Time to event: Schoenfeld and assurance
# --------------------------------------------------------------------------------------


def test_schoenfeld_events_and_the_power_they_give():
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert schoenfeld_events(0.7) == pytest.approx(4 * z**2 / math.log(0.7) ** 2, rel=1e-14)
    assert schoenfeld_events(0.7, allocation=2 / 3) == pytest.approx(
        z**2 / (2 / 9 * math.log(0.7) ** 2), rel=1e-14)
    d = schoenfeld_events(0.6, alpha=0.025, power=0.9)
    assert float(logrank_power(d, math.log(0.6))[0]) == pytest.approx(0.9, abs=1e-12)
    # the brief's form Phi(sqrt(d/4)|log HR| - z) for an effect in the direction of benefit
    assert float(logrank_power(d, math.log(0.75))[0]) == pytest.approx(
        stats.norm.cdf(math.sqrt(d / 4) * abs(math.log(0.75)) - stats.norm.ppf(0.975)))
    # a harmful true effect: below alpha, not the |log HR| of a two-sided view
    assert float(logrank_power(d, math.log(1.3))[0]) < 0.025
    assert float(logrank_power(d, math.log(1.3), benefit="higher")[0]) == pytest.approx(
        stats.norm.cdf(math.sqrt(d / 4) * math.log(1.3) - stats.norm.ppf(0.975)))


def test_assurance_with_a_point_mass_design_prior_is_the_power():
    d = schoenfeld_events(0.7)
    for hr in (0.6, 0.7, 0.9, 1.1):
        power = float(logrank_power(d, math.log(hr))[0])
        assert tte_assurance(d, log_hr_mean=math.log(hr), log_hr_sd=0.0) == pytest.approx(
            power, abs=1e-14)
        assert tte_assurance(d, log_hr_draws=[math.log(hr)] * 3) == pytest.approx(power)


@pytest.mark.parametrize(("m", "s"), [(math.log(0.7), 0.15), (math.log(0.85), 0.3),
                                      (math.log(1.05), 0.2)])
def test_normal_design_prior_closed_form_against_quadrature_and_simulation(m, s):
    d = schoenfeld_events(0.7)
    z = stats.norm.ppf(0.975)
    closed = tte_assurance(d, log_hr_mean=m, log_hr_sd=s)
    # O'Hagan et al. (2005): Phi((sqrt(d/4)|m| - z) / sqrt(1 + d/4 s^2)) for m < 0
    if m < 0:
        assert closed == pytest.approx(
            stats.norm.cdf((math.sqrt(d / 4) * abs(m) - z) / math.sqrt(1 + d / 4 * s**2)),
            rel=1e-13)
    quad = integrate.quad(
        lambda t: float(logrank_power(d, t)[0]) * stats.norm.pdf(t, m, s), m - 12 * s,
        m + 12 * s, epsabs=1e-13)[0]
    assert closed == pytest.approx(quad, abs=1e-10)
    draws = np.random.default_rng(9).normal(m, s, 100_000)
    mc = logrank_power(d, draws)
    mc_value = tte_assurance(d, log_hr_draws=draws)
    assert mc_value == pytest.approx(mc.mean())
    assert abs(mc_value - closed) < 4 * mc.std() / math.sqrt(draws.size)


def test_assurance_with_expected_events_per_draw():
    # events per draw (from a Weibull posterior and an accrual plan) paired with log HR draws
    rng = np.random.default_rng(12)
    k = rng.gamma(40, 1 / 32, 400)
    lam = rng.lognormal(math.log(14), 0.15, 400)
    events = expected_events_per_draw(k, lam, [(24.0, 10.0)], [36.0])[:, 0]
    log_hr = rng.normal(math.log(0.7), 0.1, 400)
    value = tte_assurance(events, log_hr_draws=log_hr)
    by_hand = np.mean(stats.norm.cdf(-log_hr * np.sqrt(events / 4) - stats.norm.ppf(0.975)))
    assert value == pytest.approx(by_hand, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: schoenfeld_events(1.0), "cannot be sized for HR = 1"),
        (lambda: schoenfeld_events(-0.5), "hazard_ratio = -0.5 is invalid"),
        (lambda: schoenfeld_events(0.7, alpha=0.0), r"alpha = 0.0 is invalid"),
        (lambda: schoenfeld_events(0.7, power=1.0), r"power = 1.0 is invalid"),
        (lambda: schoenfeld_events(0.7, allocation=1.0), r"allocation = 1.0 is invalid"),
        (lambda: tte_assurance(100.0), "exactly one design prior"),
        (lambda: tte_assurance(100.0, log_hr_mean=-0.3), "needs both"),
        (lambda: tte_assurance(100.0, log_hr_mean=-0.3, log_hr_sd=-1.0),
         "log_hr_sd = -1.0 is invalid"),
        (lambda: tte_assurance(0.0, log_hr_mean=-0.3, log_hr_sd=0.1), "events = 0.0 is invalid"),
        (lambda: tte_assurance(100.0, log_hr_draws=[0.1], benefit="down"),
         "benefit = 'down' is invalid"),
    ],
)
def test_tte_bad_input(call, message):
    with pytest.raises(SpecError, match=message):
        call()
