"""Tests for bayesblina.design.priors: beta mixtures, power/robust/MAP priors, ESS, follow-up OCs.

Every number is checked against an independent computation: a closed form derived here,
numerical quadrature of the defining integral, brute-force loops, or simulation (within its
Monte Carlo error). The only reference values taken from elsewhere are RBesT's own test
expectations (tests/testthat/test-utils.R), quoted where used.
"""

from __future__ import annotations

import math
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from bayesblina.analyses.subgroups.quadrature import hierarchical_posterior
from bayesblina.core.priors import HalfNormalPrior, NormalPrior
from bayesblina.data import load_cr_by_blasts, load_table2_proportions
from bayesblina.design.priors import (
    BetaMixture,
    critical_responses,
    ess,
    fit_beta_mixture,
    fit_beta_mixture_auto,
    follow_up_oc,
    map_predictive_quadrature,
    map_prior,
    posterior_prob_above,
    power_prior,
    robustify,
)
from bayesblina.errors import SpecError

# --------------------------------------------------------------------------------------
# Data of the trial (never hard-coded: taken from bayesblina.data)
# --------------------------------------------------------------------------------------


def phase2_cr() -> tuple[int, int]:
    t = load_table2_proportions()
    row = t[(t["population"] == "phase_2") & (t["quantity"] == "cr")].iloc[0]
    return int(row["x"]), int(row["n"])


def study_parts_cr() -> tuple[list[int], list[int]]:
    """CR in the three parts of the study (escalation, PK expansion, phase II) as 'trials'."""
    t = load_cr_by_blasts()
    t = t[(t["blasts"] == "all") & t["population"].isin(["escalation", "pk_expansion", "phase_2"])]
    t = t.set_index("population").loc[["escalation", "pk_expansion", "phase_2"]]
    return [int(v) for v in t["cr"]], [int(v) for v in t["n"]]


# --------------------------------------------------------------------------------------
# Independent helpers
# --------------------------------------------------------------------------------------


def mix_pdf(m: BetaMixture, t: float) -> float:
    return float(sum(w * stats.beta.pdf(t, a, b) for w, a, b in zip(m.weights, m.a, m.b, strict=True)))


def elir_by_definition(m: BetaMixture, points: list[float] | None = None,
                       strict: bool = True) -> float:
    """E_pi[p(1-p) * (-(log pi)'')] by quadrature, with (log pi)'' = pi''/pi - (pi'/pi)^2.

    ``strict``: quadpack must meet its tolerance (else it raises); otherwise its own error
    estimate must stay below 1e-3.
    """

    def f(t: float) -> float:
        pk = m.weights * stats.beta.pdf(t, m.a, m.b)
        g = (m.a - 1) / t - (m.b - 1) / (1 - t)
        h = -(m.a - 1) / t**2 - (m.b - 1) / (1 - t) ** 2
        p, p1, p2 = pk.sum(), (pk * g).sum(), (pk * (g * g + h)).sum()
        return t * (1 - t) * (-p2 + p1 * p1 / p)

    pts = points or [0.01, 0.1, 0.5, 0.9, 0.99]
    with warnings.catch_warnings():
        warnings.simplefilter("error" if strict else "ignore", integrate.IntegrationWarning)
        value, err = integrate.quad(f, 0, 1, limit=500, points=pts, epsabs=1e-11, epsrel=1e-11)
    assert err < 1e-3
    return value


def predictive_ess(m: BetaMixture, n_forward: int) -> float:
    """Prior-predictive average of the posterior ELIR after n_forward patients, minus n_forward."""
    pmf = m.predictive_pmf(n_forward)
    return sum(pmf[y] * ess(m.posterior(y, n_forward), "elir") for y in range(n_forward + 1)) - (
        n_forward
    )


# --------------------------------------------------------------------------------------
# BetaMixture
# --------------------------------------------------------------------------------------

MIX = BetaMixture([0.55, 0.3, 0.15], [12.0, 2.5, 1.0], [25.0, 6.0, 1.0])


def test_density_integrates_to_one_and_moments_match_quadrature():
    total = integrate.quad(lambda t: MIX.pdf(t), 0, 1, points=[0.3])[0]
    mean = integrate.quad(lambda t: t * MIX.pdf(t), 0, 1, points=[0.3])[0]
    second = integrate.quad(lambda t: t * t * MIX.pdf(t), 0, 1, points=[0.3])[0]
    assert total == pytest.approx(1.0, abs=1e-10)
    assert MIX.mean() == pytest.approx(mean, abs=1e-10)
    assert MIX.variance() == pytest.approx(second - mean**2, abs=1e-10)
    assert MIX.sd() == pytest.approx(math.sqrt(second - mean**2), abs=1e-10)


def test_pdf_logpdf_cdf_sf_against_scipy_components():
    x = np.array([0.0, 1e-6, 0.1, 0.33, 0.5, 0.9, 1 - 1e-9])
    by_hand = np.array([mix_pdf(MIX, t) for t in x])
    np.testing.assert_allclose(MIX.pdf(x), by_hand, rtol=1e-12)
    np.testing.assert_allclose(MIX.logpdf(x[1:]), np.log(by_hand[1:]), rtol=1e-12)
    for t in (0.05, 0.3, 0.7):
        cdf = integrate.quad(lambda u: MIX.pdf(u), 0, t)[0]
        assert MIX.cdf(t) == pytest.approx(cdf, abs=1e-11)
        assert MIX.sf(t) == pytest.approx(1 - cdf, abs=1e-11)
    assert MIX.logpdf(1.5) == -np.inf
    assert isinstance(MIX.pdf(0.3), float)


def test_info_is_minus_the_second_derivative_of_the_log_density():
    for t in (0.05, 0.2, 0.35, 0.6, 0.95):
        h = 1e-4
        fd = -(MIX.logpdf(t + h) - 2 * MIX.logpdf(t) + MIX.logpdf(t - h)) / h**2
        assert MIX.info(t) == pytest.approx(fd, rel=1e-5, abs=1e-5)


def test_posterior_is_prior_times_likelihood_renormalised():
    x, n = phase2_cr()
    post = MIX.posterior(x, n)

    def unnorm(t: float) -> float:
        return MIX.pdf(t) * t**x * (1 - t) ** (n - x)

    z = integrate.quad(unnorm, 0, 1, points=[x / n], epsabs=0, epsrel=1e-12)[0]
    for t in (0.15, 0.25, x / n, 0.45):
        assert post.pdf(t) == pytest.approx(unnorm(t) / z, rel=1e-9)
    # the components are the conjugate updates
    np.testing.assert_array_equal(post.a, MIX.a + x)
    np.testing.assert_array_equal(post.b, MIX.b + n - x)


def test_predictive_pmf_is_the_integral_of_the_binomial_over_the_prior():
    m = 12
    pmf = MIX.predictive_pmf(m)
    assert pmf.shape == (m + 1,)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    for y in (0, 3, 7, 12):
        ref = integrate.quad(lambda t, y=y: stats.binom.pmf(y, m, t) * MIX.pdf(t), 0, 1,
                             epsabs=1e-14)[0]
        assert pmf[y] == pytest.approx(ref, rel=1e-9)
    by_scipy = sum(w * stats.betabinom.pmf(np.arange(m + 1), m, a, b)
                   for w, a, b in zip(MIX.weights, MIX.a, MIX.b, strict=True))
    np.testing.assert_allclose(pmf, by_scipy, rtol=1e-10)


def test_sampling_reproduces_the_moments_within_monte_carlo_error():
    draws = MIX.sample(40_000, np.random.default_rng(20160101))
    se_mean = MIX.sd() / math.sqrt(draws.size)
    assert abs(draws.mean() - MIX.mean()) < 4 * se_mean
    # var of the sample variance ~ (mu4 - sigma^4) / N; mu4 by quadrature
    mu4 = integrate.quad(lambda t: (t - MIX.mean()) ** 4 * MIX.pdf(t), 0, 1)[0]
    se_var = math.sqrt((mu4 - MIX.variance() ** 2) / draws.size)
    assert abs(draws.var() - MIX.variance()) < 4 * se_var
    again = MIX.sample(10, np.random.default_rng(7))
    np.testing.assert_array_equal(again, MIX.sample(10, np.random.default_rng(7)))


def test_zero_weight_component_changes_no_density_and_stays_zero():
    with_zero = BetaMixture([0.6, 0.0, 0.4], [3.0, 0.01, 8.0], [7.0, 0.01, 2.0])
    without = BetaMixture([0.6, 0.4], [3.0, 8.0], [7.0, 2.0])
    x = np.array([0.0, 0.2, 0.7, 1.0])
    np.testing.assert_allclose(with_zero.pdf(x), without.pdf(x), rtol=1e-14)
    post = with_zero.posterior(3, 10)
    assert post.weights[1] == 0.0
    np.testing.assert_allclose(post.pdf(x[1:3]), without.posterior(3, 10).pdf(x[1:3]))
    np.testing.assert_allclose(with_zero.predictive_pmf(5), without.predictive_pmf(5))
    assert with_zero.active().n_components == 2


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"weights": [1.2, -0.2], "a": [1, 1], "b": [1, 1]}, "weights"),
        ({"weights": [0.5, 0.4], "a": [1, 1], "b": [1, 1]}, "sum to 0.9"),
        ({"weights": [1.0], "a": [0.0], "b": [1.0]}, "a = [0.0]"),
        ({"weights": [1.0], "a": [1.0], "b": [np.inf]}, "b = [inf]"),
        ({"weights": [np.nan], "a": [1.0], "b": [1.0]}, "weights"),
        ({"weights": [0.5, 0.5], "a": [1.0], "b": [1.0, 2.0]}, "2, 1 and 2 entries"),
        ({"weights": [], "a": [], "b": []}, "non-empty"),
    ],
)
def test_invalid_mixtures_are_refused_naming_the_argument(kwargs, names):
    with pytest.raises(SpecError, match=names.replace("[", r"\[").replace("]", r"\]")):
        BetaMixture(**kwargs)


def test_weights_within_tolerance_are_accepted_and_renormalised():
    m = BetaMixture([0.5, 0.5 + 5e-10], [1, 2], [1, 2])
    assert m.weights.sum() == pytest.approx(1.0, abs=1e-15)
    with pytest.raises(ValueError):
        m.weights[0] = 0.1  # read-only value


def test_bad_arguments_of_the_methods():
    with pytest.raises(SpecError, match=r"x = 5 is invalid.*0 <= x <= n = 4"):
        MIX.posterior(5, 4)
    with pytest.raises(SpecError, match=r"m = 0 is invalid: allowed values are m >= 1"):
        MIX.predictive_pmf(0)
    with pytest.raises(SpecError, match=r"numpy\.random\.Generator"):
        MIX.sample(3, 42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Power prior and robustification
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("delta", [0.0, 0.3, 1.0])
def test_power_prior_is_the_discounted_likelihood_times_the_initial_prior(delta):
    x, n = phase2_cr()
    a0, b0 = 1.0, 1.0
    pp = power_prior(x, n, delta, a0, b0)

    def unnorm(t: float) -> float:
        return (t**x * (1 - t) ** (n - x)) ** delta * stats.beta.pdf(t, a0, b0)

    z = integrate.quad(unnorm, 0, 1, points=[x / n], epsabs=0, epsrel=1e-12)[0]
    for t in (0.1, 0.3, 0.5):
        assert pp.pdf(t) == pytest.approx(unnorm(t) / z, rel=1e-9)


@pytest.mark.parametrize(("delta", "a0", "b0"), [(0.25, 1.0, 1.0), (0.5, 1.0, 1.0),
                                                 (1.0, 2.0, 3.0)])
def test_power_prior_ess_is_delta_n_plus_a0_plus_b0(delta, a0, b0):
    x, n = phase2_cr()
    pp = power_prior(x, n, delta, a0, b0)
    expected = delta * n + a0 + b0
    assert ess(pp, "moment") == pytest.approx(expected, rel=1e-12)
    assert ess(pp, "elir") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.5"])
def test_power_prior_refuses_a_discount_outside_the_unit_interval(bad):
    with pytest.raises(SpecError, match=r"discount = .* is invalid: it must (lie|be a number) in "
                                        r"\[0, 1\]"):
        power_prior(14, 44, bad)


def test_robustify_adds_the_vague_component_at_its_weight():
    inf = BetaMixture([0.7, 0.3], [10.0, 4.0], [20.0, 9.0])
    rob = robustify(inf, 0.2)
    np.testing.assert_allclose(rob.weights, [0.56, 0.24, 0.2])
    np.testing.assert_array_equal(rob.a, [10.0, 4.0, 1.0])
    np.testing.assert_array_equal(rob.b, [20.0, 9.0, 1.0])
    for t in (0.1, 0.4):
        assert rob.pdf(t) == pytest.approx(0.8 * inf.pdf(t) + 0.2 * 1.0, rel=1e-12)
    # RBesT's parameterisation: mean m, a + b = n + 1
    rb = robustify(inf, 0.1, mean=0.3, n=1)
    assert (rb.a[-1], rb.b[-1]) == pytest.approx((0.6, 1.4))
    assert robustify(inf, 0.1, vague=(2.0, 3.0)).a[-1] == 2.0


def test_robustify_bad_arguments():
    inf = BetaMixture.beta(10, 20)
    with pytest.raises(SpecError, match=r"weight = 1.2 is invalid: it must lie in \[0, 1\]"):
        robustify(inf, 1.2)
    with pytest.raises(SpecError, match="not both"):
        robustify(inf, 0.2, vague=(1, 1), mean=0.5)
    with pytest.raises(SpecError, match=r"mean = 1.0 is invalid"):
        robustify(inf, 0.2, mean=1.0)
    with pytest.raises(SpecError, match="vague component"):
        robustify(inf, 0.2, vague=(0.0, 1.0))
    with pytest.raises(SpecError, match="BetaMixture"):
        robustify((10, 20), 0.2)  # type: ignore[arg-type]


def test_robustified_prior_has_a_smaller_ess_than_its_informative_part():
    x, n = phase2_cr()
    inf = power_prior(x, n, 1.0)
    for w in (0.1, 0.5):
        rob = robustify(inf, w)
        for method, kw in (("moment", {}), ("elir", {}), ("morita", {"location": "mean"})):
            assert ess(rob, method, **kw) < ess(inf, method, **kw)


# --------------------------------------------------------------------------------------
# Effective sample size
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [(5.0, 15.0), (1.5, 2.5), (40.0, 3.0), (5e5, 5e5),
                                      (3e5, 7e5)])
def test_single_beta_moment_and_elir_are_a_plus_b(a, b):
    m = BetaMixture.beta(a, b)
    assert ess(m, "moment") == pytest.approx(a + b, rel=1e-10)
    assert ess(m, "elir") == pytest.approx(a + b, rel=1e-12)


@pytest.mark.parametrize(("a", "b"), [(5.0, 15.0), (2.0, 2.0), (40.0, 3.0), (5e5, 5e5)])
@pytest.mark.parametrize("s", [100.0, 10.0])
def test_single_beta_morita_matches_the_hand_derivation(a, b, s):
    # At the mode t = A/(A+B) (A = a-1, B = b-1): D_prior = (A+B)^3/(AB),
    # D_flat = 1/(s t(1-t)) - 1/t^2 - 1/(1-t)^2, E i = m/t^2 + (1-m)/(1-t)^2 with m = a/(a+b);
    # (D_prior - D_flat)/E i simplifies to (a+b) [1 - AB / (s (AB(A+B) + A^2 + B^2))].
    big_a, big_b = a - 1, b - 1
    at_mode = (a + b) * (1 - big_a * big_b / (s * (big_a * big_b * (big_a + big_b) + big_a**2
                                                    + big_b**2)))
    # at the mean t = m: D_prior - D_flat = (a+b)^3/(ab) - (a+b)^2/(s ab), E i = (a+b)^2/(ab)
    at_mean = a + b - 1 / s
    m = BetaMixture.beta(a, b)
    assert ess(m, "morita", s=s) == pytest.approx(at_mode, rel=1e-9)
    assert ess(m, "morita", s=s, location="mean") == pytest.approx(at_mean, rel=1e-12)
    assert ess(m, "morita", s=np.inf) == pytest.approx(a + b, rel=1e-9)


def test_rbest_conjugate_beta_example():
    # RBesT tests/testthat/test-utils.R, "conjugate beta case matches canonical formula":
    # prior Beta(5, 15): moment = 20, round(morita) = 20, elir = 20
    prior = BetaMixture.beta(5, 15)
    assert ess(prior, "moment") == pytest.approx(20)
    assert round(ess(prior, "morita")) == 20
    assert ess(prior, "elir") == pytest.approx(20)


def test_rbest_beta_mixtures_with_a_or_b_below_one_are_refused_by_elir():
    # RBesT test-utils.R: both must error ("At least one parameter ... is less than 1")
    for m in (BetaMixture([0.95, 0.05], [10, 0.9], [5, 2]),
              BetaMixture([0.95, 0.05], [10, 2], [5, 0.9])):
        with pytest.raises(SpecError, match="ELIR ESS undefined: component 1"):
            ess(m, "elir")
        assert np.isfinite(ess(m, "moment"))


@pytest.mark.parametrize(
    "mix",
    [
        # RBesT test-utils.R "this one can trigger errors if the integration is not set up
        # properly" and "problematic beta mixtures 1": finite and >= 0 expected
        BetaMixture([0.48, 0.34, 0.18], [1, 6.9, 1.0], [11, 173, 1.13]),
        BetaMixture([0.06429517, 0.03301215, 0.00269268, 0.9],
                    [437.32302999, 64.04211307, 5.92543558, 1.0],
                    [10.71709277, 2.14157953, 1.00000001, 1.0]),
        # "problematic beta mixtures gives warning", second mixture: finite, >= 0 expected
        BetaMixture([0.6051804, 0.2324492, 0.1623704], [1.0210697, 1.1955047, 3.1342298],
                    [11.5485831, 1.0831573, 6.7636286]),
    ],
)
def test_rbest_problematic_mixtures_give_a_finite_predictively_consistent_elir(mix):
    value = ess(mix, "elir")
    assert np.isfinite(value) and value > 0
    # predictive consistency (Neuenschwander et al. 2020): an exact identity, here an exact
    # finite sum over the prior predictive
    assert predictive_ess(mix, 3) == pytest.approx(value, rel=1e-9)


def test_rbest_mixture_with_negative_elir_is_refused_and_the_value_is_really_negative():
    # RBesT test-utils.R: this mixture gives a (warned) negative ELIR there; the defining
    # integral, computed directly, is negative too, so a SpecError is the right answer
    mix = BetaMixture([0.6092774, 0.2337629, 0.1569597], [1.0, 1.2672179, 3.3856153],
                      [11.8465288, 1.2389927, 7.0191159])
    assert elir_by_definition(mix, [1e-6, 1e-3, 0.01, 0.1, 0.5, 0.9, 0.99], strict=False) < -1
    with pytest.raises(SpecError, match=r"ELIR ESS = -[0-9.]+ is not a positive sample size"):
        ess(mix, "elir")
    assert ess(mix, "moment") > 0


@pytest.mark.parametrize(
    "mix",
    [
        BetaMixture([0.2, 0.8], [1, 10], [1, 2]),  # RBesT's ess example (bmix)
        BetaMixture([0.3, 0.7], [1.5, 20], [3, 10]),
        BetaMixture([0.4, 0.35, 0.25], [2, 9, 30], [6, 9, 12]),
        BetaMixture([0.5, 0.5], [5e5, 1], [5e5, 1]),  # very concentrated beside the uniform
    ],
)
def test_elir_of_mixtures_equals_the_defining_integral(mix):
    pts = sorted({0.01, 0.1, 0.5, 0.9, 0.99, *(float(v) for v in mix.a / (mix.a + mix.b))})
    assert ess(mix, "elir") == pytest.approx(elir_by_definition(mix, pts), rel=1e-8)


@pytest.mark.parametrize(
    "mix",
    [BetaMixture([0.2, 0.8], [1, 10], [1, 2]), BetaMixture([0.3, 0.7], [1.5, 20], [3, 10])],
)
def test_elir_is_predictively_consistent(mix):
    value = ess(mix, "elir")
    for n_forward in (1, 4):
        assert predictive_ess(mix, n_forward) == pytest.approx(value, rel=1e-10)


def test_elir_at_a_or_b_equal_one():
    # E[(a-1)(1-p)/p] = b for a > 1 but the term vanishes at a = 1: Beta(1, b) has ELIR 1
    assert ess(BetaMixture.beta(1.0, 6.0), "elir") == pytest.approx(1.0)
    assert ess(BetaMixture.beta(4.0, 1.0), "elir") == pytest.approx(1.0)
    assert ess(BetaMixture.beta(1.0, 1.0), "elir") == 0.0
    assert ess(BetaMixture.beta(1.0 + 1e-9, 6.0), "elir") == pytest.approx(7.0)
    assert elir_by_definition(BetaMixture.beta(1.0, 6.0)) == pytest.approx(1.0, rel=1e-9)
    assert predictive_ess(BetaMixture.beta(1.0, 1.0), 4) == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("method", ["moment", "elir", "morita"])
def test_a_zero_weight_component_changes_no_ess(method):
    base = BetaMixture([0.7, 0.3], [12.0, 1.0], [25.0, 1.0])
    for extra in ((0.01, 0.01), (5e5, 2.0), (1.0, 1.0)):
        padded = BetaMixture([0.7, 0.0, 0.3], [12.0, extra[0], 1.0], [25.0, extra[1], 1.0])
        assert ess(padded, method) == ess(base, method)


def test_one_component_mixture_equals_the_closed_form_of_its_beta():
    one = BetaMixture([1.0, 0.0], [7.0, 3.0], [9.0, 3.0])
    assert ess(one, "moment") == pytest.approx(16.0, rel=1e-12)
    assert ess(one, "elir") == 16.0
    assert ess(one, "morita", location="mean") == pytest.approx(16.0 - 0.01, rel=1e-12)


def test_very_flat_prior():
    flat = BetaMixture.beta(0.01, 0.01)
    assert ess(flat, "moment") == pytest.approx(0.02, rel=1e-10)
    with pytest.raises(SpecError, match=r"ELIR ESS undefined.*a < 1 or b < 1.*diverges"):
        ess(flat, "elir")
    with pytest.raises(SpecError, match="Morita ESS undefined at the mode"):
        ess(flat, "morita")
    assert ess(flat, "morita", location="mean") == pytest.approx(0.02 - 0.01, rel=1e-10)
    # flatter than the baseline Beta(p/s, (1-p)/s): a + b - 1/s = 0 is not a sample size
    with pytest.raises(SpecError, match=r"Morita ESS = .* is not a positive sample size"):
        ess(BetaMixture.beta(0.005, 0.005), "morita", location="mean")
    # a density falling from the boundary has no interior mode
    with pytest.raises(SpecError, match="largest at p = 0"):
        ess(BetaMixture.beta(1.0, 3.0), "morita")
    # the uniform has no mode at all: said so, not "largest at p = 0"
    with pytest.raises(SpecError, match="the prior is uniform, a flat density with no mode"):
        ess(BetaMixture.beta(1.0, 1.0), "morita")


def test_very_concentrated_mixture_gives_finite_values_below_the_component():
    conc = BetaMixture([0.5, 0.5], [3e5, 1.0], [7e5, 1.0])
    for method in ("moment", "elir", "morita"):
        value = ess(conc, method)
        assert np.isfinite(value) and 0 < value < 1e6
    assert ess(conc, "elir") < 0.5 * 1e6  # the weighted component ELIRs, minus the deficit


def test_morita_warns_for_a_multimodal_prior():
    bimodal = BetaMixture([0.5, 0.5], [20.0, 80.0], [80.0, 20.0])
    with pytest.warns(UserWarning, match="2 modes"):
        value = ess(bimodal, "morita")
    assert value > 0
    with pytest.raises(SpecError, match=r"Morita ESS = .* is not a positive sample size"):
        ess(bimodal, "morita", location="mean")  # the trough between the modes


def test_ess_bad_arguments():
    with pytest.raises(SpecError, match="method = 'variance' is invalid"):
        ess(MIX, "variance")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="s = 0 is invalid"):
        ess(MIX, "morita", s=0)
    with pytest.raises(SpecError, match="location = 'median' is invalid"):
        ess(MIX, "morita", location="median")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Beta-mixture fits (EM)
# --------------------------------------------------------------------------------------


def test_one_component_fit_is_the_beta_mle():
    draws = stats.beta.rvs(3.5, 9.0, size=3000, random_state=np.random.default_rng(1))
    fit = fit_beta_mixture(draws, 1)
    a, b, _, _ = stats.beta.fit(draws, floc=0, fscale=1)
    assert fit.mixture.a[0] == pytest.approx(a, rel=1e-4)
    assert fit.mixture.b[0] == pytest.approx(b, rel=1e-4)
    assert fit.loglik == pytest.approx(stats.beta.logpdf(draws, a, b).sum(), abs=1e-3)


def test_two_component_fit_recovers_the_mixture_and_beats_the_truth():
    truth = BetaMixture([0.65, 0.35], [30.0, 3.0], [60.0, 12.0])
    draws = truth.sample(4000, np.random.default_rng(2))
    fit = fit_beta_mixture(draws, 2)
    assert fit.converged
    assert fit.loglik >= truth.logpdf(draws).sum()  # the MLE is at least as good as the truth
    means = fit.mixture.a / (fit.mixture.a + fit.mixture.b)
    assert means[0] == pytest.approx(1 / 3, abs=0.01)
    assert means[1] == pytest.approx(0.2, abs=0.03)
    assert fit.mixture.weights[0] == pytest.approx(0.65, abs=0.05)
    assert fit.max_cdf_diff < 1.63 / math.sqrt(draws.size)  # Kolmogorov 1% critical value


def test_constrained_fit_keeps_a_and_b_at_least_one():
    draws = stats.beta.rvs(0.8, 3.0, size=3000, random_state=np.random.default_rng(3))
    free = fit_beta_mixture(draws, 1)
    tied = fit_beta_mixture(draws, 1, constrain_gt1=True)
    assert free.mixture.a[0] == pytest.approx(0.8, abs=0.06)
    assert tied.mixture.a[0] == pytest.approx(1.0, abs=1e-12)
    assert tied.mixture.b[0] >= 1.0
    # on the face a = 1 the b of the MLE solves digamma(1 + b) - digamma(b) = -mean log(1-p)
    b = tied.mixture.b[0]
    assert 1 / b == pytest.approx(-np.mean(np.log1p(-draws)), rel=1e-6)
    assert tied.loglik <= free.loglik


def test_automatic_choice_by_the_criterion():
    truth = BetaMixture([0.6, 0.4], [40.0, 5.0], [20.0, 45.0])
    draws = truth.sample(1500, np.random.default_rng(4))
    sel = fit_beta_mixture_auto(draws, 3)
    t = sel.table
    assert list(t.columns) == ["components", "loglik", "criterion", "max_cdf_diff", "converged"]
    np.testing.assert_allclose(t["criterion"], -2 * t["loglik"] + 6 * (3 * t["components"] - 1))
    assert int(t.loc[t["criterion"].idxmin(), "components"]) == 2
    assert sel.mixture.n_components == 2


def test_fit_bad_draws():
    with pytest.raises(SpecError, match=r"strictly in \(0, 1\)"):
        fit_beta_mixture([0.2, 1.0, 0.3], 1)
    with pytest.raises(SpecError, match="n_components = 0 is invalid"):
        fit_beta_mixture([0.2, 0.3], 0)


# --------------------------------------------------------------------------------------
# MAP prior: the exact quadrature, and the PyMC fit against it
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("tau_scale", [0.5])
def test_map_quadrature_mean_equals_the_subgroup_engine(tau_scale):
    # the population-level rate E[expit(mu + tau z)] of the subgroups' exact engine is the
    # predictive mean of a new trial's rate: an independent implementation of the same model
    x, n = study_parts_cr()
    q = map_predictive_quadrature(x, n, tau_scale=tau_scale)
    hp = hierarchical_posterior(x, n, NormalPrior(family="normal", mu=0.0, sigma=2.0),
                                HalfNormalPrior(family="half_normal", sigma=tau_scale), n_tau=61)
    assert q.mean == pytest.approx(hp.population_moments()[0], abs=1e-7)
    assert q.weight.sum() == pytest.approx(1.0)


def test_map_quadrature_with_no_heterogeneity_is_the_pooled_posterior():
    x, n = study_parts_cr()
    q = map_predictive_quadrature(x, n, tau_scale=1e-6)

    def log_post(m: float) -> float:
        return stats.norm.logpdf(m, 0, 2) + sum(
            xi * special.log_expit(m) + (ni - xi) * special.log_expit(-m) for xi, ni in zip(x, n, strict=True)
        )

    c = log_post(special.logit(sum(x) / sum(n)))

    def moment(r: int) -> float:
        return integrate.quad(lambda m: np.exp(log_post(m) - c) * special.expit(m) ** r, -10, 10,
                              points=[-1.0, 0.0], epsabs=0, epsrel=1e-12)[0]

    mean = moment(1) / moment(0)
    sd = math.sqrt(moment(2) / moment(0) - mean**2)
    assert q.mean == pytest.approx(mean, abs=1e-9)
    assert q.sd == pytest.approx(sd, abs=1e-9)


def test_map_quadrature_sd_against_importance_sampling():
    x, n = study_parts_cr()
    q = map_predictive_quadrature(x, n, tau_scale=1.0)
    rng = np.random.default_rng(11)
    size = 60_000
    mu = rng.normal(0.0, 2.0, size)
    tau = np.abs(rng.normal(0.0, 1.0, size))
    u, w = np.polynomial.hermite_e.hermegauss(40)
    logw = np.zeros(size)
    for xi, ni in zip(x, n, strict=True):
        th = mu[:, None] + tau[:, None] * u[None, :]
        lik = xi * special.log_expit(th) + (ni - xi) * special.log_expit(-th)
        logw += special.logsumexp(lik + np.log(w / w.sum()), axis=1)
    wt = np.exp(logw - logw.max())
    wt /= wt.sum()
    p_new = special.expit(mu + tau * rng.standard_normal(size))
    mean = float(wt @ p_new)
    var = float(wt @ (p_new - mean) ** 2)
    se_mean = math.sqrt(float(wt**2 @ (p_new - mean) ** 2))
    se_var = math.sqrt(float(wt**2 @ ((p_new - mean) ** 2 - var) ** 2))
    assert abs(q.mean - mean) < 4 * se_mean
    assert abs(q.sd**2 - var) < 4 * se_var


def test_map_arguments_are_checked():
    with pytest.raises(SpecError, match=r"x\[1\] = 9 is invalid.*n\[1\] = 8"):
        map_predictive_quadrature([3, 9], [10, 8], tau_scale=0.5)
    with pytest.raises(SpecError, match="tau_scale = 0 is invalid"):
        map_predictive_quadrature([3], [10], tau_scale=0)
    with pytest.raises(SpecError, match="same, non-zero length"):
        map_prior([3, 4], [10], tau_scale=0.5)


@pytest.mark.mcmc
def test_map_prior_pymc_fit_agrees_with_the_quadrature_within_mcse():
    x, n = study_parts_cr()
    fit = map_prior(x, n, tau_scale=0.5, draws=1000, tune=1000, chains=2, seed=5,
                    max_components=2, require_gate=False)
    q = map_predictive_quadrature(x, n, tau_scale=0.5)
    d = fit.draws.reshape(2, 1000)

    def as_ds(values: np.ndarray):
        return az.convert_to_dataset({"p": values})

    assert as_ds(d).pipe(az.rhat)["p"].item() < 1.05
    se_mean = az.mcse(as_ds(d), method="mean")["p"].item()
    # the SD's MCSE by the delta method: MCSE of the mean squared deviation / (2 SD)
    se_sd = az.mcse(as_ds((d - d.mean()) ** 2), method="mean")["p"].item() / (2 * d.std())
    assert abs(d.mean() - q.mean) < 4 * se_mean
    assert abs(d.std() - q.sd) < 4 * se_sd
    # the mixture approximates its draws (the stated fit criterion and its distance)
    assert fit.selection.best is fit.selection.fits[
        int(fit.selection.table["criterion"].idxmin())]
    assert fit.selection.best.max_cdf_diff < 0.05
    assert fit.mixture.mean() == pytest.approx(d.mean(), abs=0.01)
    assert fit.mixture.sd() == pytest.approx(d.std(), abs=0.01)
    assert fit.gate.checks  # the diagnostics gate was run


# --------------------------------------------------------------------------------------
# Operating characteristics of a single-arm follow-up
# --------------------------------------------------------------------------------------


def brute_force_success(prior: BetaMixture, n: int, p0: float, c: float) -> list[int]:
    """The successful outcomes: the posterior tail by quadrature of prior x likelihood."""
    success = []
    for y in range(n + 1):
        def f(t: float, y: int = y) -> float:
            return mix_pdf(prior, t) * t**y * (1 - t) ** (n - y)
        mid = (y + 0.5) / (n + 1)
        z = integrate.quad(f, 0, 1, points=[mid], epsabs=0, epsrel=1e-12)[0]
        above = integrate.quad(f, p0, 1, points=[max(p0, mid)], epsabs=0, epsrel=1e-12)[0]
        if above / z > c:
            success.append(y)
    return success


def test_follow_up_oc_against_a_brute_force_loop():
    x, n_hist = phase2_cr()
    prior = robustify(power_prior(x, n_hist, 0.5), 0.3)
    n, p0, c = 30, 0.2, 0.9
    rates = [0.1, 0.2, 0.35, 0.6]
    oc = follow_up_oc(prior, n, p0, c, rates)
    success = brute_force_success(prior, n, p0, c)
    for _, row in oc.iterrows():
        p = row["true_rate"]
        ref = sum(math.comb(n, y) * p**y * (1 - p) ** (n - y) for y in success)
        assert row["prob_success"] == pytest.approx(ref, abs=1e-12)
        assert row["critical_responses"] == success[0]
    yc = int(oc["critical_responses"].iloc[0])
    assert oc["posterior_mean_at_boundary"].iloc[0] == pytest.approx(
        prior.posterior(yc, n).mean())
    np.testing.assert_allclose(oc["prior_cdf"], prior.cdf(np.array(rates)))
    assert np.all(np.diff(oc["prob_success"]) > 0)


def test_flat_prior_gives_the_exact_binomial_rule():
    # Beta(1, 1): P(p <= p0 | y) = P(Bin(n + 1, p0) >= y + 1), so the rule is the exact
    # binomial test "y + 1 successes of n + 1" at level 1 - c
    n, p0, c = 40, 0.1, 0.975
    flat = BetaMixture.beta(1, 1)
    yc = critical_responses(flat, n, p0, c)
    expected = next(y for y in range(n + 1) if stats.binom.sf(y, n + 1, p0) < 1 - c)
    assert yc == expected
    np.testing.assert_allclose(posterior_prob_above(flat, n, p0),
                               1 - stats.binom.sf(np.arange(n + 1), n + 1, p0), atol=1e-13)
    rates = [0.1, 0.275, 0.4]
    oc = follow_up_oc(flat, n, p0, c, rates)
    np.testing.assert_allclose(oc["prob_success"], stats.binom.sf(yc - 1, n, rates), rtol=1e-12)


def test_prior_data_conflict_scenarios():
    x, n_hist = phase2_cr()
    informative = power_prior(x, n_hist, 1.0)
    robust = robustify(informative, 0.5)
    flat = BetaMixture.beta(1, 1)
    n, p0, c = 20, 0.2, 0.9
    at_null = {name: follow_up_oc(pr, n, p0, c, [p0])["prob_success"].iloc[0]
               for name, pr in (("inf", informative), ("rob", robust), ("flat", flat))}
    # an optimistic prior meeting a null truth: more false successes than a flat prior,
    # and robustification gives back part of the protection
    assert at_null["inf"] > at_null["rob"] > at_null["flat"]
    conflict = follow_up_oc(informative, n, p0, c, [0.05])
    assert conflict["prior_cdf"].iloc[0] < 0.01  # the truth sits far in the prior's tail


def test_no_successful_outcome():
    oc = follow_up_oc(BetaMixture.beta(1, 1), 1, 0.9, 0.999, [0.5, 1.0])
    assert oc["critical_responses"].isna().all()
    assert (oc["prob_success"] == 0).all()
    assert oc["posterior_mean_at_boundary"].isna().all()
    assert isinstance(oc, pd.DataFrame)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, r"n = 0 is invalid: allowed values are n >= 1"),
        ({"threshold": 1.0}, r"threshold = 1.0 is invalid: it must lie in \(0, 1\)"),
        ({"threshold": 0.0}, r"threshold = 0.0 is invalid: it must lie in \(0, 1\)"),
        ({"p0": 1.2}, r"p0 = 1.2 is invalid: it must lie in \(0, 1\)"),
        ({"true_rates": []}, "true_rates is empty"),
        ({"true_rates": [0.2, 1.5]}, r"true_rates\[1\] = 1.5 is invalid"),
    ],
)
def test_follow_up_oc_bad_input(kwargs, message):
    args = {"prior": BetaMixture.beta(1, 1), "n": 20, "p0": 0.2, "threshold": 0.9,
            "true_rates": [0.3]} | kwargs
    with pytest.raises(SpecError, match=message):
        follow_up_oc(**args)
