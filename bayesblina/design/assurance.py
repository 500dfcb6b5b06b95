r"""Probability of success (assurance) of a follow-up trial, for binary and time-to-event ends.

The power of a design is its probability of success at one assumed effect; its
**assurance** (O'Hagan, Stevens & Campbell 2005) averages that probability over a *design
prior* for the effect — typically this trial's posterior, or a prior of
:mod:`bayesblina.design.priors`. The design prior says what we believe; the *analysis prior*
(if the rule is Bayesian) is what the follow-up trial's analysis will use, and may differ.

* Single arm, binary end point (:func:`single_arm_assurance`): the responders among ``n``
  new patients follow the design prior's predictive distribution (a mixture of
  beta-binomials), and the assurance is the predictive probability of the success region
  of a rule (:class:`ResponderRule`, :class:`PosteriorRule`). Exact.
* Two arms, binary end point (:func:`two_arm_assurance`): a double sum over
  :math:`(x_e, x_c)` of the two predictive distributions, for a Bayesian rule
  :math:`P(p_e - p_c > \delta \mid \text{data}) > c` (:class:`DifferenceRule`) or Fisher's
  exact one-sided test (:class:`FisherRule`). Exact up to the stated quadrature of the
  posterior probability.
* Time to event: expected events over calendar time from posterior draws of a Weibull
  model and an accrual plan (:func:`expected_events`), Schoenfeld's required events
  (:func:`schoenfeld_events`) and the assurance of a log-rank trial (:func:`tte_assurance`).

References
----------
.. [1] O'Hagan A, Stevens JW, Campbell MJ. Assurance in clinical trial design.
   Pharmaceutical Statistics 2005;4(3):187-201.
.. [2] Schoenfeld D. Sample-size formula for the proportional-hazards regression model.
   Biometrics 1983;39(2):499-503.
.. [3] Schmidli H, et al. Robust meta-analytic-predictive priors in clinical trials with
   historical control information. Biometrics 2014;70(4):1023-1032.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from bayesblina.design.checks import check_int, check_positive, check_prob
from bayesblina.design.mixture import (
    BetaMixture,
    _check_mixture,
    posterior_prob_above,
)
from bayesblina.errors import SpecError

__all__ = [
    "Accrual",
    "DifferenceRule",
    "FisherRule",
    "PosteriorRule",
    "ResponderRule",
    "SingleArmAssurance",
    "TwoArmAssurance",
    "analysis_time",
    "arm_scales",
    "expected_events",
    "expected_events_per_draw",
    "logrank_power",
    "prob_difference",
    "schoenfeld_events",
    "single_arm_assurance",
    "single_arm_success",
    "tte_assurance",
    "two_arm_assurance",
    "two_arm_success",
    "weibull_draws",
]

#: The largest probability mass of a posterior that the two-arm quadrature may leave out
#: (beyond its extreme nodes, ~1e-275 from 0 and 1) before it refuses to answer.
TAIL_MASS_MAX = 1e-10

# --------------------------------------------------------------------------------------
# Single arm, binary end point
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponderRule:
    """Success if at least ``min_responders`` of the ``n`` patients respond."""

    min_responders: int

    def __post_init__(self) -> None:
        check_int("min_responders", self.min_responders, 0)


@dataclass(frozen=True, eq=False)
class PosteriorRule:
    r"""Success if :math:`P(p > p_0 \mid y) > c` under the analysis prior ``prior``.

    Parameters
    ----------
    p0 : float
        The uninteresting rate, in (0, 1).
    threshold : float
        :math:`c`, in (0, 1).
    prior : ~bayesblina.design.mixture.BetaMixture
        The analysis prior (which need not be the design prior).
    """

    p0: float
    threshold: float
    prior: BetaMixture

    def __post_init__(self) -> None:
        check_prob("p0", self.p0)
        check_prob("threshold", self.threshold)
        _check_mixture("prior", self.prior)


def single_arm_success(rule: ResponderRule | PosteriorRule, n: int) -> np.ndarray:
    """Whether each outcome ``y = 0..n`` of ``n`` patients meets ``rule`` (boolean array).

    Raises
    ------
    bayesblina.errors.SpecError
        If ``n`` < 1 or ``rule`` is not a :class:`ResponderRule` / :class:`PosteriorRule`.
    """
    n_ = check_int("n", n, 1)
    y = np.arange(n_ + 1)
    if isinstance(rule, ResponderRule):
        return y >= rule.min_responders
    if isinstance(rule, PosteriorRule):
        return posterior_prob_above(rule.prior, n_, rule.p0) > rule.threshold
    raise SpecError(
        f"rule = {rule!r} is invalid: use ResponderRule(min_responders) or "
        "PosteriorRule(p0, threshold, prior)"
    )


@dataclass(frozen=True, eq=False)
class SingleArmAssurance:
    r"""The probability of success of a single-arm trial under a design prior.

    Attributes
    ----------
    probability : float
        :math:`\sum_y P(Y = y)\, 1[y \text{ succeeds}]`.
    predictive : numpy.ndarray
        The design prior's predictive distribution of the responders, ``y = 0..n``.
    success : numpy.ndarray
        Boolean, whether each ``y`` meets the rule.
    critical : int or None
        The smallest successful ``y`` (``None`` if none is).
    """

    probability: float
    predictive: np.ndarray
    success: np.ndarray
    critical: int | None


def single_arm_assurance(
    design_prior: BetaMixture, n: int, rule: ResponderRule | PosteriorRule
) -> SingleArmAssurance:
    r"""Probability of success of a single-arm trial of ``n`` patients, exactly.

    The responders follow the design prior's predictive distribution
    :math:`P(Y = y) = \sum_k w_k \binom{n}{y} B(a_k + y, b_k + n - y)/B(a_k, b_k)`; the
    assurance is its mass on the rule's success region. With a point-mass design prior it
    would be the power; a Beta design prior spreads it over the plausible rates.

    Parameters
    ----------
    design_prior : ~bayesblina.design.mixture.BetaMixture
        What is believed about the rate (e.g. this trial's posterior).
    n : int
        Patients of the new trial, >= 1.
    rule : ResponderRule or PosteriorRule
        The success rule.

    Returns
    -------
    SingleArmAssurance

    Raises
    ------
    bayesblina.errors.SpecError
        If an argument is invalid.

    References
    ----------
    .. [1] O'Hagan A, Stevens JW, Campbell MJ. Assurance in clinical trial design.
       Pharmaceutical Statistics 2005;4(3):187-201.

    Examples
    --------
    >>> res = single_arm_assurance(BetaMixture.beta(15, 31), 40, ResponderRule(9))
    >>> res.critical, round(res.probability, 4)
    (9, 0.8724)
    """
    prior = _check_mixture("design_prior", design_prior)
    success = single_arm_success(rule, n)
    pred = prior.predictive_pmf(n)
    ok = np.flatnonzero(success)
    return SingleArmAssurance(
        probability=float(np.sum(pred[success])),
        predictive=pred,
        success=success,
        critical=int(ok[0]) if ok.size else None,
    )


# --------------------------------------------------------------------------------------
# Two arms, binary end point
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DifferenceRule:
    r"""Success if :math:`P(p_e - p_c > \delta \mid x_e, x_c) > c` under independent priors.

    Attributes
    ----------
    threshold : float
        :math:`c`, in (0, 1).
    prior_e, prior_c : ~bayesblina.design.mixture.BetaMixture
        The analysis priors of the experimental and the control rate.
    delta : float, default 0
        The margin, in (-1, 1) (negative: non-inferiority).
    """

    threshold: float
    prior_e: BetaMixture
    prior_c: BetaMixture
    delta: float = 0.0

    def __post_init__(self) -> None:
        check_prob("threshold", self.threshold)
        _check_mixture("prior_e", self.prior_e)
        _check_mixture("prior_c", self.prior_c)
        _check_delta(self.delta)


@dataclass(frozen=True)
class FisherRule:
    r"""Success if Fisher's exact test rejects :math:`p_e \le p_c` at one-sided level ``alpha``.

    The p-value is :math:`P(X_e \ge x_e \mid x_e + x_c)` under the hypergeometric
    distribution of the experimental arm's responders given the total (as
    ``scipy.stats.fisher_exact(..., alternative="greater")``); success if it is <= ``alpha``.
    """

    alpha: float

    def __post_init__(self) -> None:
        check_prob("alpha", self.alpha)


def _check_delta(delta: object) -> float:
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not (
        -1.0 < float(delta) < 1.0
    ):
        raise SpecError(f"delta = {delta!r} is invalid: the margin must lie in (-1, 1)")
    return float(delta)


def _posterior_tables(prior: BetaMixture, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior weights (n+1, K) and shape parameters (n+1, K) for every outcome."""
    mix = prior.active()
    w = mix._posterior_weights(n)
    y = np.arange(n + 1)[:, None]
    return w, mix.a + y, mix.b + n - y


def _de_nodes(h: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tanh-sinh nodes on (0, 1): ``log v``, ``log(1 - v)`` and ``log`` of the weights."""
    s = np.arange(-6.0, 6.0 + h / 2, h)
    x2 = np.pi * np.sinh(s)  # v = expit(pi sinh s) = (1 + tanh(pi/2 sinh s)) / 2
    logv, log1mv = special.log_expit(x2), special.log_expit(-x2)
    logw = np.log(np.pi * h) + np.log(np.cosh(s)) + logv + log1mv
    return logv, log1mv, logw


def _prob_greater(
    dens: BetaMixture, n_d: int, cdf: BetaMixture, n_f: int, delta: float
) -> np.ndarray:
    """``P(p_d - p_f > delta)`` for delta in [0, 1) and every pair of outcomes (n_d+1, n_f+1)."""
    wd, ad, bd = _posterior_tables(dens, n_d)
    wf, af, bf = _posterior_tables(cdf, n_f)
    # the step: the narrowest posterior (in v, where t = delta + (1 - delta) v) resolved by
    # ~1.5 steps of s per SD (dv/ds <= pi/4), and never above 0.05
    sds = [np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))) for a, b in ((ad, bd), (af, bf))]
    sd_min = min(float(v.min()) for v in sds) / (1.0 - delta)
    h = min(0.05, (4.0 / np.pi) * sd_min / 1.5)
    logv, log1mv, logw = _de_nodes(h)
    if delta == 0.0:
        log_t, log_1mt, log_u = logv, log1mv, logv
    else:
        log_t = np.log(delta + (1.0 - delta) * np.exp(logv))
        log_1mt = np.log1p(-delta) + log1mv
        log_u = np.log1p(-delta) + logv  # t - delta, without the cancellation
        logw = logw + np.log1p(-delta)  # dt = (1 - delta) dv
    t = np.exp(log_t)
    # posterior density of p_d at the nodes, times the weights: (n_d + 1, G)
    with np.errstate(divide="ignore"):
        lc = (
            np.log(wd)[..., None]
            + (ad - 1)[..., None] * log_t
            + (bd - 1)[..., None] * log_1mt
            - special.betaln(ad, bd)[..., None]
        )
    dens_w = np.exp(special.logsumexp(lc, axis=1) + logw)
    # posterior cdf of p_f at t - delta = (1 - delta) v: (n_f + 1, G)
    u = np.exp(log_u)
    cdf_v = np.einsum("xk,xkg->xg", wf, special.betainc(af[..., None], bf[..., None], u))
    # mass of p_d beyond the extreme nodes (a bound on what the sum leaves out)
    lo_t, hi_1mt = float(t[0]), float(np.exp(log_1mt[-1]))
    tail = np.sum(wd * special.betainc(bd, ad, hi_1mt), axis=1)
    if delta == 0.0:
        tail = tail + np.sum(wd * special.betainc(ad, bd, lo_t), axis=1)
    if float(tail.max()) > TAIL_MASS_MAX:
        raise SpecError(
            f"the posterior probability of a difference cannot be integrated: a posterior "
            f"keeps mass {float(tail.max()):.3g} within ~1e-275 of 0 or 1 (an analysis prior "
            "component with a or b far below 1); use a less extreme analysis prior"
        )
    return np.clip(dens_w @ cdf_v.T, 0.0, 1.0)


def prob_difference(
    prior_e: BetaMixture, n_e: int, prior_c: BetaMixture, n_c: int, delta: float = 0.0
) -> np.ndarray:
    r""":math:`P(p_e - p_c > \delta \mid x_e, x_c)` for every outcome pair, shape (n_e+1, n_c+1).

    With independent beta-mixture posteriors :math:`f_e(\cdot \mid x_e)` and
    :math:`F_c(\cdot \mid x_c)`, for :math:`\delta \ge 0`

    .. math:: P(p_e - p_c > \delta) = \int_\delta^1 f_e(t)\, F_c(t - \delta)\, dt

    (and :math:`1 - P(p_c - p_e > -\delta)` for :math:`\delta < 0`). The integral is a
    tanh-sinh (double-exponential) rule in :math:`t = \delta + (1 - \delta) v`, shared by all
    outcome pairs, so the whole table is one matrix product. The rule is exact for the
    integrable endpoint singularities of beta densities (:math:`a < 1`), its step
    resolves the narrowest posterior (about 1.5 steps per SD, at most 0.05), and the mass a
    posterior keeps beyond the extreme nodes (within ~1e-275 of 0 or 1) is bounded and
    must stay below :data:`TAIL_MASS_MAX` (else a SpecError).

    Raises
    ------
    bayesblina.errors.SpecError
        If an argument is invalid, or a prior is too extreme for the quadrature.
    """
    pe = _check_mixture("prior_e", prior_e)
    pc = _check_mixture("prior_c", prior_c)
    ne = check_int("n_e", n_e, 1)
    nc = check_int("n_c", n_c, 1)
    d = _check_delta(delta)
    if d >= 0:
        return _prob_greater(pe, ne, pc, nc, d)
    return 1.0 - _prob_greater(pc, nc, pe, ne, -d).T


def two_arm_success(rule: DifferenceRule | FisherRule, n_e: int, n_c: int) -> np.ndarray:
    """Whether each outcome pair ``(x_e, x_c)`` meets ``rule``: boolean (n_e + 1, n_c + 1).

    Raises
    ------
    bayesblina.errors.SpecError
        If ``n_e`` or ``n_c`` < 1, or ``rule`` is not a DifferenceRule / FisherRule.
    """
    ne = check_int("n_e", n_e, 1)
    nc = check_int("n_c", n_c, 1)
    if isinstance(rule, DifferenceRule):
        prob = prob_difference(rule.prior_e, ne, rule.prior_c, nc, rule.delta)
        return prob > rule.threshold
    if isinstance(rule, FisherRule):
        xe = np.arange(ne + 1)[:, None]
        xc = np.arange(nc + 1)[None, :]
        pval = stats.hypergeom.sf(xe - 1, ne + nc, xe + xc, ne)
        return pval <= rule.alpha
    raise SpecError(
        f"rule = {rule!r} is invalid: use DifferenceRule(threshold, prior_e, prior_c, delta) "
        "or FisherRule(alpha)"
    )


@dataclass(frozen=True, eq=False)
class TwoArmAssurance:
    r"""The probability of success of a two-arm trial under two design priors.

    Attributes
    ----------
    probability : float
        :math:`\sum_{x_e, x_c} P(X_e = x_e) P(X_c = x_c)\, 1[(x_e, x_c) \text{ succeeds}]`.
    success : numpy.ndarray
        Boolean (n_e + 1, n_c + 1).
    predictive_e, predictive_c : numpy.ndarray
        The design priors' predictive distributions of the responders in each arm.
    """

    probability: float
    success: np.ndarray
    predictive_e: np.ndarray
    predictive_c: np.ndarray


def two_arm_assurance(
    design_e: BetaMixture,
    design_c: BetaMixture,
    n_e: int,
    n_c: int,
    rule: DifferenceRule | FisherRule,
) -> TwoArmAssurance:
    r"""Probability of success of a two-arm trial (binary end point), by an exact double sum.

    The arms' responders are independent with the design priors' predictive distributions
    (mixtures of beta-binomials); the assurance is
    :math:`\sum_{x_e}\sum_{x_c} P(x_e) P(x_c)\, 1[\text{rule met}]`, one vectorised sum over
    the :math:`(n_e + 1)(n_c + 1)` outcomes.

    Parameters
    ----------
    design_e, design_c : ~bayesblina.design.mixture.BetaMixture
        Design priors of the experimental and the control rate.
    n_e, n_c : int
        Patients per arm, >= 1.
    rule : DifferenceRule or FisherRule
        The success rule.

    Returns
    -------
    TwoArmAssurance

    Raises
    ------
    bayesblina.errors.SpecError
        If an argument is invalid.

    References
    ----------
    .. [1] O'Hagan A, Stevens JW, Campbell MJ. Assurance in clinical trial design.
       Pharmaceutical Statistics 2005;4(3):187-201.
    """
    de = _check_mixture("design_e", design_e)
    dc = _check_mixture("design_c", design_c)
    success = two_arm_success(rule, n_e, n_c)
    pe = de.predictive_pmf(n_e)
    pc = dc.predictive_pmf(n_c)
    prob = float(pe @ (success * 1.0) @ pc)
    return TwoArmAssurance(prob, success, pe, pc)


# --------------------------------------------------------------------------------------
# Time to event
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accrual:
    """A piecewise-constant accrual plan: ``(duration, patients per unit time)`` periods.

    The periods follow each other from calendar time 0; times are in the unit of the
    survival model (``time_unit`` of its spec, months for this trial's specs).

    Attributes
    ----------
    periods : tuple of (float, float)
        Each duration and rate finite and > 0.

    Examples
    --------
    >>> plan = Accrual(((6, 2.0), (12, 4.0)))
    >>> plan.duration, plan.total, plan.patients_by(9.0)
    (18.0, 60.0, 24.0)
    """

    periods: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        try:
            rows = [tuple(p) for p in self.periods]
        except TypeError as exc:
            raise SpecError(
                f"periods = {self.periods!r} is invalid: give a list of (duration, rate) pairs"
            ) from exc
        if not rows:
            raise SpecError("periods is empty: give at least one (duration, rate) pair")
        clean = []
        for i, row in enumerate(rows):
            if len(row) != 2:
                raise SpecError(
                    f"periods[{i}] = {row!r} is invalid: each period is a (duration, rate) pair"
                )
            d = check_positive(f"periods[{i}] duration", row[0])
            r = check_positive(f"periods[{i}] rate (patients per unit time)", row[1])
            clean.append((d, r))
        object.__setattr__(self, "periods", tuple(clean))

    @property
    def starts(self) -> np.ndarray:
        """Calendar start of each period."""
        d = np.array([p[0] for p in self.periods])
        return np.concatenate([[0.0], np.cumsum(d)[:-1]])

    @property
    def duration(self) -> float:
        """Total accrual time."""
        return float(sum(p[0] for p in self.periods))

    @property
    def total(self) -> float:
        """Expected number of patients enrolled."""
        return float(sum(d * r for d, r in self.periods))

    def patients_by(self, t: Any) -> Any:
        """Expected number of patients enrolled by calendar time ``t``."""
        arr = np.asarray(t, dtype=float)
        d = np.array([p[0] for p in self.periods])
        r = np.array([p[1] for p in self.periods])
        inside = np.clip(arr[..., None] - self.starts, 0.0, d)
        out = np.sum(inside * r, axis=-1)
        return float(out) if arr.ndim == 0 else out


def _as_accrual(value: object) -> Accrual:
    if isinstance(value, Accrual):
        return value
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return Accrual(tuple(value))  # type: ignore[arg-type]
    raise SpecError(
        f"accrual = {value!r} is invalid: give an Accrual or a list of (duration, rate) pairs"
    )


def weibull_draws(posterior: Any) -> tuple[np.ndarray, np.ndarray]:
    r"""Weibull shape and scale draws from a survival fit of :mod:`bayesblina.analyses.survival`.

    That model writes :math:`S(t) = \exp\{-(t/\lambda)^\rho\}` with the deterministic
    ``lambda_`` (scale, in the spec's ``time_unit``) and ``rho_`` (shape); an exponential
    fit has only ``lambda_`` (shape 1). With a covariate, ``lambda_`` is the baseline
    group's (group 0) scale.

    Parameters
    ----------
    posterior : arviz.InferenceData or xarray.Dataset
        The fit (its ``posterior`` group is used if present).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``(shape, scale)``, chains and draws flattened.

    Raises
    ------
    bayesblina.errors.SpecError
        If there is no ``lambda_`` (not a Weibull or exponential fit).
    """
    post = getattr(posterior, "posterior", posterior)
    try:
        names = set(post.data_vars)
    except AttributeError as exc:
        raise SpecError(
            f"posterior = {type(posterior).__name__} is invalid: give the InferenceData of a "
            "survival fit"
        ) from exc
    if "lambda_" not in names:
        raise SpecError(
            "the posterior has no 'lambda_': give a Weibull or exponential survival fit "
            f"(variables present: {sorted(names)})"
        )
    scale = np.asarray(post["lambda_"]).ravel().astype(float)
    shape = (
        np.asarray(post["rho_"]).ravel().astype(float) if "rho_" in names else np.ones_like(scale)
    )
    return shape, scale


def _check_weibull(shape: Any, scale: Any) -> tuple[np.ndarray, np.ndarray]:
    k = np.atleast_1d(np.asarray(shape, dtype=float)).ravel()
    lam = np.atleast_1d(np.asarray(scale, dtype=float)).ravel()
    if k.size != lam.size or k.size == 0:
        raise SpecError(
            f"shape has {k.size} and scale {lam.size} draws: give one shape and one scale per "
            "posterior draw"
        )
    for name, arr in (("shape", k), ("scale", lam)):
        if not np.all(np.isfinite(arr) & (arr > 0)):
            raise SpecError(f"{name} has a draw that is not a finite number > 0")
    return k, lam


def _integrated_cdf(s: np.ndarray, k: np.ndarray, lam: np.ndarray, cap: float) -> np.ndarray:
    r""":math:`H(s) = \int_0^s F(\min(x, L))\, dx` for the Weibull :math:`F = 1 - S`.

    :math:`\int_0^s S = \lambda \Gamma(1 + 1/k)\, P(1/k, (s/\lambda)^k)` (regularised lower
    incomplete gamma), and beyond the cap :math:`L` the event probability stays
    :math:`F(L)`.
    """
    def g(x: np.ndarray) -> np.ndarray:  # int_0^x S(u) du
        return lam * special.gamma(1.0 + 1.0 / k) * special.gammainc(1.0 / k, (x / lam) ** k)

    below = np.minimum(s, cap)
    out = below - g(below)
    if np.isfinite(cap):
        f_cap = -np.expm1(-((cap / lam) ** k))
        out = out + np.maximum(s - cap, 0.0) * f_cap
    return out


def expected_events_per_draw(
    shape: Any,
    scale: Any,
    accrual: Accrual | Iterable[tuple[float, float]],
    calendar_times: Any,
    max_follow_up: float | None = None,
) -> np.ndarray:
    r"""Expected number of events by each calendar time, for each posterior draw.

    A patient entering at calendar time :math:`u` has had the event by calendar time
    :math:`C` with probability :math:`F(\min(C - u, L))`, :math:`F(t) = 1 -
    \exp\{-(t/\lambda)^k\}` and :math:`L` the maximum follow-up (administrative censoring;
    infinite by default). With the accrual density :math:`r(u)` (piecewise constant),

    .. math:: E[D(C)] = \int_0^{C} r(u)\, F(\min(C - u, L))\, du
              = \sum_j r_j \{H(C - u_j) - H(\max(C - u_j - d_j, 0))\},

    :math:`H(s) = \int_0^s F(\min(x, L))\,dx` in closed form (:func:`_integrated_cdf`),
    period *j* starting at :math:`u_j` with duration :math:`d_j` (only its part before
    :math:`C` counts).

    Parameters
    ----------
    shape, scale : array-like
        Weibull draws (:func:`weibull_draws`), same length, finite and > 0.
    accrual : Accrual or list of (duration, rate)
        The accrual plan, in the same time unit.
    calendar_times : array-like
        Calendar times of analysis (>= 0), in the same unit.
    max_follow_up : float, optional
        Administrative censoring at this time after entry (> 0).

    Returns
    -------
    numpy.ndarray
        Shape (draws, times).

    Raises
    ------
    bayesblina.errors.SpecError
        If a draw, a time, a period or ``max_follow_up`` is invalid.
    """
    k, lam = _check_weibull(shape, scale)
    plan = _as_accrual(accrual)
    times = np.atleast_1d(np.asarray(calendar_times, dtype=float)).ravel()
    if times.size == 0 or not np.all(np.isfinite(times) & (times >= 0)):
        raise SpecError(
            f"calendar_times = {calendar_times!r} is invalid: give finite times >= 0"
        )
    cap = np.inf if max_follow_up is None else check_positive("max_follow_up", max_follow_up)
    starts = plan.starts
    dur = np.array([p[0] for p in plan.periods])
    rate = np.array([p[1] for p in plan.periods])
    s_hi = np.maximum(times[:, None] - starts[None, :], 0.0)  # (times, periods)
    s_lo = np.maximum(times[:, None] - starts[None, :] - dur[None, :], 0.0)
    kk, ll = k[:, None, None], lam[:, None, None]
    part = _integrated_cdf(s_hi[None], kk, ll, cap) - _integrated_cdf(s_lo[None], kk, ll, cap)
    return np.sum(part * rate[None, None, :], axis=-1)


def expected_events(
    shape: Any,
    scale: Any,
    accrual: Accrual | Iterable[tuple[float, float]],
    calendar_times: Any,
    max_follow_up: float | None = None,
    ci_prob: float = 0.95,
) -> pd.DataFrame:
    """Expected events over calendar time with their posterior uncertainty.

    Parameters
    ----------
    shape, scale, accrual, calendar_times, max_follow_up
        As in :func:`expected_events_per_draw`.
    ci_prob : float, default 0.95
        Mass of the equal-tailed interval over the draws, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        One row per calendar time: ``calendar_time``, ``patients`` (enrolled by then),
        ``events_mean``, ``events_sd``, ``events_lower``, ``events_upper`` (the posterior
        mean, SD and interval of the expected number of events).

    Raises
    ------
    bayesblina.errors.SpecError
        If an argument is invalid.
    """
    prob = check_prob("ci_prob", ci_prob)
    ev = expected_events_per_draw(shape, scale, accrual, calendar_times, max_follow_up)
    plan = _as_accrual(accrual)
    times = np.atleast_1d(np.asarray(calendar_times, dtype=float)).ravel()
    lo, hi = np.quantile(ev, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    return pd.DataFrame(
        {
            "calendar_time": times,
            "patients": plan.patients_by(times),
            "events_mean": ev.mean(axis=0),
            "events_sd": ev.std(axis=0, ddof=1) if ev.shape[0] > 1 else np.zeros(times.size),
            "events_lower": lo,
            "events_upper": hi,
        }
    )


Arm = Literal["control", "experimental"]


def arm_scales(shape: Any, scale: Any, hazard_ratio: float,
               arm: Arm = "control") -> tuple[np.ndarray, np.ndarray]:
    r"""Both arms' Weibull scales under proportional hazards, from one arm's draws.

    With hazard ratio :math:`h = h_e / h_c` and a common shape :math:`k`,
    :math:`S_e = S_c^{h}`, so :math:`\lambda_e = \lambda_c h^{-1/k}`: the draws describe
    ``arm`` and the other arm follows.

    Parameters
    ----------
    shape, scale : array-like
        Weibull draws of ``arm`` (:func:`weibull_draws`), same length, finite and > 0.
    hazard_ratio : float
        Experimental over control, > 0.
    arm : {"control", "experimental"}, default "control"
        Which arm the draws describe.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``(scale_control, scale_experimental)``, one per draw.

    Raises
    ------
    bayesblina.errors.SpecError
        If a draw, the hazard ratio or the arm is invalid.

    Examples
    --------
    >>> [float(x[0]) for x in arm_scales(1.0, 10.0, 0.5)]
    [10.0, 20.0]
    """
    k, lam = _check_weibull(shape, scale)
    hr = check_positive("hazard_ratio", hazard_ratio)
    if arm == "control":
        return lam, lam * hr ** (-1.0 / k)
    if arm == "experimental":
        return lam * hr ** (1.0 / k), lam
    raise SpecError(f"arm = {arm!r} is invalid: allowed 'control' or 'experimental'")


def _events_at(k: np.ndarray, scales: np.ndarray, shares: np.ndarray, plan: Accrual,
               times: np.ndarray, cap: float) -> np.ndarray:
    """Expected events of both arms by each draw's own calendar time ``times[i]``."""
    dur = np.array([p[0] for p in plan.periods])
    rate = np.array([p[1] for p in plan.periods])
    s_hi = np.maximum(times[:, None] - plan.starts[None, :], 0.0)  # (draws, periods)
    s_lo = np.maximum(s_hi - dur[None, :], 0.0)
    total = np.zeros(times.size)
    for share, lam in zip(shares, scales, strict=True):
        part = (_integrated_cdf(s_hi, k[:, None], lam[:, None], cap)
                - _integrated_cdf(s_lo, k[:, None], lam[:, None], cap))
        total += share * np.sum(part * rate[None, :], axis=-1)
    return total


#: bisection steps of :func:`analysis_time` (the bracket shrinks by 2**-60: below 1e-12 of it)
BISECTION_STEPS = 60


def analysis_time(
    shape: Any,
    scale: Any,
    accrual: Accrual | Iterable[tuple[float, float]],
    events: float,
    *,
    hazard_ratio: float,
    allocation: float = 0.5,
    arm: Arm = "control",
    max_follow_up: float | None = None,
    horizon: float | None = None,
) -> np.ndarray:
    r"""When a two-arm trial expects its analysis events, for each posterior draw.

    The expected events of both arms by calendar time :math:`C` (each arm as in
    :func:`expected_events_per_draw`, the other arm by :func:`arm_scales`, weighted by the
    allocation) increase with :math:`C`; the analysis time of a draw is the :math:`C` at
    which they reach ``events``, found by bisection to within ``horizon * 2**-60``.

    Parameters
    ----------
    shape, scale : array-like
        Weibull draws of ``arm``, same length, finite and > 0.
    accrual : Accrual or list of (duration, rate)
        The accrual plan, in the time unit of the draws.
    events : float
        Events at the analysis (> 0).
    hazard_ratio : float
        The design hazard ratio (experimental over control), > 0.
    allocation : float, default 0.5
        Fraction randomised to the experimental arm, in (0, 1).
    arm : {"control", "experimental"}, default "control"
        Which arm the draws describe.
    max_follow_up : float, optional
        Administrative censoring this long after entry (> 0).
    horizon : float, optional
        The latest calendar time considered (> 0); default the end of accrual plus
        ``max_follow_up``, or plus 20 times the largest scale of any draw and arm.

    Returns
    -------
    numpy.ndarray
        One calendar time per draw; NaN where the events are not expected by ``horizon``
        (e.g. more events than patients).

    Raises
    ------
    bayesblina.errors.SpecError
        If an argument is invalid.
    """
    k, _ = _check_weibull(shape, scale)
    scales = np.stack(arm_scales(shape, scale, hazard_ratio, arm))
    pi = check_prob("allocation", allocation)
    shares = np.array([1.0 - pi, pi])
    plan = _as_accrual(accrual)
    target = check_positive("events", events)
    cap = np.inf if max_follow_up is None else check_positive("max_follow_up", max_follow_up)
    if horizon is None:
        horizon = plan.duration + (cap if np.isfinite(cap) else 20.0 * float(scales.max()))
    end = check_positive("horizon", horizon)
    lo = np.zeros(k.size)
    hi = np.full(k.size, end)
    reached = _events_at(k, scales, shares, plan, hi, cap) >= target
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        above = _events_at(k, scales, shares, plan, mid, cap) >= target
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return np.where(reached, hi, np.nan)


def _check_hr(name: str, value: object) -> float:
    hr = check_positive(name, value)
    if hr == 1.0:
        raise SpecError(f"{name} = {value!r} is invalid: a trial cannot be sized for HR = 1")
    return hr


def schoenfeld_events(
    hazard_ratio: float, alpha: float = 0.025, power: float = 0.8, allocation: float = 0.5
) -> float:
    r"""Events a log-rank trial needs (Schoenfeld 1983).

    .. math:: d = \frac{(z_{1-\alpha} + z_{\text{power}})^2}{\pi(1-\pi)\,\log(\mathrm{HR})^2},

    :math:`\pi` the fraction randomised to the experimental arm (:math:`4(\ldots)^2/\log^2`
    for 1:1). Not rounded (round up for a plan).

    Parameters
    ----------
    hazard_ratio : float
        The design hazard ratio (> 0, not 1).
    alpha : float, default 0.025
        One-sided level, in (0, 1).
    power : float, default 0.8
        In (0, 1).
    allocation : float, default 0.5
        :math:`\pi`, in (0, 1).

    References
    ----------
    .. [1] Schoenfeld D. Sample-size formula for the proportional-hazards regression model.
       Biometrics 1983;39(2):499-503.

    Examples
    --------
    >>> round(schoenfeld_events(0.7), 1)
    246.8
    """
    hr = _check_hr("hazard_ratio", hazard_ratio)
    a = check_prob("alpha", alpha)
    pw = check_prob("power", power)
    pi = check_prob("allocation", allocation)
    z = stats.norm.isf(a) + stats.norm.ppf(pw)
    return float(z**2 / (pi * (1 - pi) * np.log(hr) ** 2))


Benefit = Literal["lower", "higher"]


def _sign(benefit: object) -> float:
    if benefit == "lower":
        return 1.0
    if benefit == "higher":
        return -1.0
    raise SpecError(
        f"benefit = {benefit!r} is invalid: 'lower' (a hazard ratio below 1 is a success) or "
        "'higher'"
    )


def _check_events(events: Any) -> np.ndarray:
    d = np.atleast_1d(np.asarray(events, dtype=float)).ravel()
    if d.size == 0 or not np.all(np.isfinite(d) & (d > 0)):
        raise SpecError(f"events = {events!r} is invalid: give numbers of events > 0")
    return d


def logrank_power(
    events: Any,
    log_hr: Any,
    alpha: float = 0.025,
    allocation: float = 0.5,
    benefit: Benefit = "lower",
) -> np.ndarray:
    r"""Power of a one-sided log-rank test with ``events`` events at true log hazard ratio(s).

    The log-rank statistic is approximately :math:`N(-\theta\sqrt{d\pi(1-\pi)}, 1)` at true
    :math:`\theta = \log\mathrm{HR}` (Schoenfeld 1983); with benefit meaning a lower hazard,

    .. math:: \text{power}(\theta) = \Phi\big(-\theta\sqrt{d\pi(1-\pi)} - z_{1-\alpha}\big),

    which is :math:`\Phi(\sqrt{d/4}\,|\theta| - z_{1-\alpha})` for 1:1 and an effect in the
    direction of benefit; a harmful true effect gives a power below :math:`\alpha` (not the
    :math:`|\theta|` of a two-sided view). ``benefit="higher"`` flips the direction.

    Returns
    -------
    numpy.ndarray
        ``events`` and ``log_hr`` broadcast together.
    """
    d = _check_events(events)
    theta = np.atleast_1d(np.asarray(log_hr, dtype=float))
    if not np.all(np.isfinite(theta)):
        raise SpecError("log_hr has a value that is not finite")
    a = check_prob("alpha", alpha)
    pi = check_prob("allocation", allocation)
    sgn = _sign(benefit)
    if d.size > 1 and theta.size > 1 and d.size != theta.size:
        raise SpecError(
            f"events has {d.size} values and log_hr {theta.size}: give one of them, or the same "
            "number of each"
        )
    return stats.norm.cdf(-sgn * theta * np.sqrt(d * pi * (1 - pi)) - stats.norm.isf(a))


def tte_assurance(
    events: Any,
    *,
    alpha: float = 0.025,
    log_hr_mean: float | None = None,
    log_hr_sd: float | None = None,
    log_hr_draws: Any = None,
    allocation: float = 0.5,
    benefit: Benefit = "lower",
) -> float:
    r"""Assurance of a log-rank trial: its power averaged over a design prior for the log HR.

    With a normal design prior :math:`\theta \sim N(m, s^2)` the average has a closed form
    (O'Hagan et al. 2005): the statistic is marginally
    :math:`N(-m\sqrt{d\pi(1-\pi)},\, 1 + d\pi(1-\pi)s^2)`, so

    .. math:: \text{assurance} = \Phi\!\left(\frac{-m\sqrt{d\pi(1-\pi)} - z_{1-\alpha}}
              {\sqrt{1 + d\pi(1-\pi)s^2}}\right)

    (:math:`s = 0`: the power). With draws of :math:`\theta` (e.g. a posterior) it is the
    mean of :func:`logrank_power` over them (Monte Carlo error: its SD over the draws
    divided by the square root of their effective number). ``events`` may be one number
    (e.g. :func:`schoenfeld_events` for the design HR) or one per draw (e.g. the expected
    events at the analysis time of :func:`expected_events_per_draw`), which are averaged
    over as well.

    Parameters
    ----------
    events : float or array-like
        Events at the analysis (> 0).
    alpha : float, default 0.025
        One-sided level.
    log_hr_mean, log_hr_sd : float, optional
        A normal design prior (``log_hr_sd >= 0``).
    log_hr_draws : array-like, optional
        Draws of the log hazard ratio instead.
    allocation : float, default 0.5
        Fraction randomised to the experimental arm.
    benefit : {"lower", "higher"}, default "lower"
        Which direction of the hazard ratio is a success.

    Returns
    -------
    float

    Raises
    ------
    bayesblina.errors.SpecError
        Unless exactly one design prior (normal, or draws) is given, or if an argument is
        invalid.

    References
    ----------
    .. [1] O'Hagan A, Stevens JW, Campbell MJ. Assurance in clinical trial design.
       Pharmaceutical Statistics 2005;4(3):187-201.
    .. [2] Schoenfeld D. Biometrics 1983;39(2):499-503.
    """
    d = _check_events(events)
    a = check_prob("alpha", alpha)
    pi = check_prob("allocation", allocation)
    sgn = _sign(benefit)
    normal = log_hr_mean is not None or log_hr_sd is not None
    if normal == (log_hr_draws is not None):
        raise SpecError(
            "give exactly one design prior: log_hr_mean and log_hr_sd (normal), or log_hr_draws"
        )
    if normal:
        if log_hr_mean is None or log_hr_sd is None:
            raise SpecError("a normal design prior needs both log_hr_mean and log_hr_sd")
        if isinstance(log_hr_mean, bool) or not isinstance(log_hr_mean, numbers.Real) or not (
            np.isfinite(float(log_hr_mean))
        ):
            raise SpecError(f"log_hr_mean = {log_hr_mean!r} is invalid: it must be finite")
        if isinstance(log_hr_sd, bool) or not isinstance(log_hr_sd, numbers.Real) or not (
            0.0 <= float(log_hr_sd) < np.inf
        ):
            raise SpecError(f"log_hr_sd = {log_hr_sd!r} is invalid: it must be finite and >= 0")
        info = d * pi * (1 - pi)
        z = (-sgn * float(log_hr_mean) * np.sqrt(info) - stats.norm.isf(a)) / np.sqrt(
            1.0 + info * float(log_hr_sd) ** 2
        )
        return float(np.mean(stats.norm.cdf(z)))
    theta = np.atleast_1d(np.asarray(log_hr_draws, dtype=float)).ravel()
    if theta.size == 0:
        raise SpecError("log_hr_draws is empty")
    return float(np.mean(logrank_power(d, theta, a, pi, benefit)))
