r"""Priors for the next trial from this one, their effective sample sizes, and a follow-up design.

A prior for a response rate :math:`p` in a follow-up trial is a **beta mixture**
:math:`\sum_k w_k \mathrm{Beta}(a_k, b_k)`
(:class:`~bayesblina.design.mixture.BetaMixture`, of :mod:`bayesblina.design.mixture`):
conjugate to binomial data (the posterior is again a beta mixture), closed under
robustification, and able to approximate any smooth prior on (0, 1). This module builds such
priors from the trial's
complete-remission (CR) counts (the numbers themselves live in :mod:`bayesblina.data`; nothing
here knows them):

* :func:`power_prior`: the current trial's likelihood raised to a discount
  :math:`\delta \in [0, 1]` (Ibrahim & Chen 2000);
* :func:`robustify`: a vague component added to an informative prior (Schmidli et al. 2014);
* :func:`map_prior`: the meta-analytic-predictive (MAP) prior of several historical trials,
  a hierarchical logit-normal model fitted by PyMC and approximated by a beta mixture
  (:func:`fit_beta_mixture_auto`); :func:`map_predictive_quadrature` computes the same
  predictive distribution without MCMC, by quadrature over :math:`(\mu, \tau)`;
* :func:`ess`: the prior effective sample size of a mixture, by moment matching, by Morita,
  Thall & Müller (2008) and by the expected local-information ratio (ELIR, Neuenschwander
  et al. 2020);
* :func:`follow_up_oc`: exact operating characteristics of a single-arm follow-up design
  "success if :math:`P(p > p_0 \mid \text{data}) > c`" under any of these priors.

Every probability of a design is exact (finite binomial / beta-binomial sums); the only
random numbers are the MCMC draws of the MAP fit (fixed seed).

References
----------
.. [1] Schmidli H, Gsteiger S, Roychoudhury S, O'Hagan A, Spiegelhalter D, Neuenschwander B.
   Robust meta-analytic-predictive priors in clinical trials with historical control
   information. Biometrics 2014;70(4):1023-1032.
.. [2] Neuenschwander B, Capkun-Niggli G, Branson M, Spiegelhalter DJ. Summarizing historical
   information on controls in clinical trials. Clinical Trials 2010;7(1):5-18.
.. [3] Ibrahim JG, Chen M-H. Power prior distributions for regression models. Statistical
   Science 2000;15(1):46-60.
.. [4] Morita S, Thall PF, Müller P. Determining the effective sample size of a parametric
   prior. Biometrics 2008;64(2):595-602.
.. [5] Neuenschwander B, Weber S, Schmidli H, O'Hagan A. Predictively consistent prior
   effective sample sizes. Biometrics 2020;76(2):578-587.
.. [6] Weber S, Li Y, Seaman JW, Kakizume T, Schmidli H. Applying meta-analytic-predictive
   priors with the R Bayesian evidence synthesis tools. Journal of Statistical Software
   2021;100(19):1-32 (RBesT: ``ess``, ``robustify``, ``automixfit``).
"""

from __future__ import annotations

import itertools
import numbers
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
from scipy import integrate, special, stats

from bayesblina.core.gate import GateResult, check_convergence
from bayesblina.design.checks import check_int, check_positive, check_prob, check_real
from bayesblina.design.mixture import (
    BetaMixture,
    _check_counts,
    _check_mixture,
    _list,
    posterior_prob_above,
)
from bayesblina.errors import SpecError

__all__ = [
    "MAPPrior",
    "MAPQuadrature",
    "MixtureFit",
    "MixtureSelection",
    "critical_responses",
    "ess",
    "fit_beta_mixture",
    "fit_beta_mixture_auto",
    "follow_up_oc",
    "map_predictive_quadrature",
    "map_prior",
    "power_prior",
    "robustify",
]

#: The ESS methods of :func:`ess`.
EssMethod = Literal["moment", "morita", "elir"]

# --------------------------------------------------------------------------------------
# Priors for the next trial
# --------------------------------------------------------------------------------------


def power_prior(x: int, n: int, discount: float, a0: float = 1.0, b0: float = 1.0) -> BetaMixture:
    r"""The power prior of a binomial trial: its likelihood raised to ``discount``.

    With an initial prior :math:`\mathrm{Beta}(a_0, b_0)` and the current trial's ``x``
    responders among ``n``, the power prior is

    .. math:: \pi(p) \propto L(p \mid x, n)^{\delta}\, \mathrm{Beta}(p; a_0, b_0)
              = \mathrm{Beta}(a_0 + \delta x,\; b_0 + \delta (n - x)),

    so the trial counts as :math:`\delta n` patients (:math:`\delta = 0`: the initial prior;
    :math:`\delta = 1`: full pooling).

    Parameters
    ----------
    x, n : int
        Responders and patients of the trial, ``0 <= x <= n``.
    discount : float
        The power :math:`\delta`, in [0, 1].
    a0, b0 : float, default 1
        The initial Beta prior (finite, > 0).

    Returns
    -------
    ~bayesblina.design.mixture.BetaMixture
        One component.

    Raises
    ------
    bayesblina.errors.SpecError
        If the counts are invalid, ``discount`` is outside [0, 1] or ``a0``/``b0`` are not
        finite and positive.

    References
    ----------
    .. [1] Ibrahim JG, Chen M-H. Power prior distributions for regression models.
       Statistical Science 2000;15(1):46-60.

    Examples
    --------
    >>> power_prior(14, 44, 0.5).a.tolist(), power_prior(14, 44, 0.5).b.tolist()
    ([8.0], [16.0])
    """
    x_, n_ = _check_counts(x, n)
    delta = check_prob("discount", discount, closed=True)
    a0_ = check_positive("a0", a0)
    b0_ = check_positive("b0", b0)
    return BetaMixture.beta(a0_ + delta * x_, b0_ + delta * (n_ - x_))


def robustify(
    mixture: BetaMixture,
    weight: float,
    vague: tuple[float, float] | None = None,
    *,
    mean: float | None = None,
    n: float = 1.0,
) -> BetaMixture:
    r"""Add a vague component to a prior: :math:`(1 - w)\,\pi(p) + w\, \mathrm{Beta}(a_v, b_v)`.

    The robust mixture of Schmidli et al. (2014): when the new data conflict with the
    informative part, the posterior weight moves to the vague component and the prior is
    discounted automatically.

    Parameters
    ----------
    mixture : ~bayesblina.design.mixture.BetaMixture
        The informative prior (e.g. a MAP or power prior).
    weight : float
        Prior weight :math:`w` of the vague component, in [0, 1].
    vague : (float, float), optional
        :math:`(a_v, b_v)` of the vague component. Default: Beta(1, 1), the uniform.
    mean : float, optional
        Instead of ``vague``, RBesT's parameterisation: a Beta with mean ``mean`` (in (0, 1))
        and :math:`a_v + b_v = n + 1`, i.e. :math:`\mathrm{Beta}((n+1)m, (n+1)(1-m))`
        (RBesT's ``robustify(..., mean, n = 1)``; at ``mean = 0.5``, ``n = 1`` it is the
        uniform). Give ``vague`` or ``mean``, not both.
    n : float, default 1
        The "sample size" of that component (with ``mean`` only), finite and >= 0.

    Returns
    -------
    ~bayesblina.design.mixture.BetaMixture
        The informative components with weights multiplied by :math:`1 - w`, then the vague
        component with weight :math:`w`.

    Notes
    -----
    The default is the uniform Beta(1, 1), not RBesT's mean-matched unit-information Beta:
    a vague component with ``a < 1`` or ``b < 1`` (e.g. ``mean = 0.3``, ``n = 1``:
    Beta(0.6, 1.4)) makes the ELIR effective sample size undefined (see :func:`ess`), and
    the uniform is the choice RBesT itself recommends in practice.

    Raises
    ------
    bayesblina.errors.SpecError
        If ``weight`` is outside [0, 1], ``mean`` outside (0, 1), both ``vague`` and ``mean``
        are given, or a shape parameter is not finite and positive.

    References
    ----------
    .. [1] Schmidli H, Gsteiger S, Roychoudhury S, O'Hagan A, Spiegelhalter D,
       Neuenschwander B. Robust meta-analytic-predictive priors in clinical trials with
       historical control information. Biometrics 2014;70(4):1023-1032.

    Examples
    --------
    >>> rob = robustify(BetaMixture.beta(14, 30), 0.2)
    >>> rob.weights.tolist(), rob.a.tolist(), rob.b.tolist()
    ([0.8, 0.2], [14.0, 1.0], [30.0, 1.0])
    """
    mix = _check_mixture("mixture", mixture)
    w = check_prob("weight", weight, closed=True)
    if mean is not None:
        if vague is not None:
            raise SpecError(
                f"vague = {vague!r} and mean = {mean!r}: give the vague component either as "
                "(a, b) or by its mean, not both"
            )
        m = check_prob("mean", mean)
        if isinstance(n, bool) or not isinstance(n, numbers.Real) or not (
            0 <= float(n) < np.inf
        ):
            raise SpecError(f"n = {n!r} is invalid: it must be a finite number >= 0")
        size = float(n) + 1.0
        av, bv = size * m, size * (1.0 - m)
    else:
        try:
            pair = (1.0, 1.0) if vague is None else tuple(vague)
        except TypeError:
            pair = ()
        if len(pair) != 2:
            raise SpecError(f"vague = {vague!r} is invalid: it must be a pair (a, b)")
        av = check_positive("vague[0] (a of the vague component)", pair[0])
        bv = check_positive("vague[1] (b of the vague component)", pair[1])
    return BetaMixture(
        np.append((1.0 - w) * mix.weights, w),
        np.append(mix.a, av),
        np.append(mix.b, bv),
    )


# --------------------------------------------------------------------------------------
# Effective sample size
# --------------------------------------------------------------------------------------


def ess(
    mixture: BetaMixture,
    method: EssMethod = "elir",
    *,
    s: float = 100.0,
    location: Literal["mode", "mean"] = "mode",
) -> float:
    r"""Prior effective sample size of a beta mixture (in patients of a binomial trial).

    Zero-weight components are dropped first, so they never change the result.

    **moment**: the Beta with the mixture's mean :math:`m` and variance :math:`v` has
    :math:`a + b = m(1-m)/v - 1`; computed as :math:`E[p(1-p)] / v`, which is the same
    number without the cancellation. For Beta(a, b) it is exactly :math:`a + b`.

    **morita** (Morita, Thall & Müller 2008, as RBesT computes it): at a location
    :math:`\tilde p` (the prior mode by default, as RBesT; ``location="mean"``: the prior mean,
    as the original paper), the ESS is the :math:`m` that makes the information of a
    posterior after :math:`m` patients equal the prior's,
    :math:`D_\pi(\tilde p) = D_0(\tilde p) + m\, E_{Y_1}[i(\tilde p; Y_1)]`, i.e.

    .. math:: \mathrm{ESS}_{\mathrm{MTM}} =
              \frac{D_\pi(\tilde p) - D_0(\tilde p)}{E_{Y_1}[i(\tilde p; Y_1)]},

    with :math:`D = -\frac{d^2}{dp^2}\log(\cdot)` (:meth:`BetaMixture.info`), :math:`D_0` that
    of the "flattened" baseline :math:`\mathrm{Beta}(\tilde p/s, (1-\tilde p)/s)` (an
    :math:`\epsilon`-information prior whose own ESS is :math:`1/s`, RBesT's choice; Morita et
    al. flatten the prior itself, :math:`\mathrm{Beta}(a/c, b/c)`), and
    :math:`i(p; y) = y/p^2 + (1-y)/(1-p)^2` the information of one patient, averaged over the
    prior predictive :math:`P(Y_1 = 1) = E[p]`. Because the information of :math:`m`
    patients is linear in :math:`m`, Morita's minimisation of
    :math:`|D_\pi - D_{q_m}|` over :math:`m` has this exact, non-integer solution
    (Neuenschwander et al. 2020, eq. 9). For a single Beta(a, b), with
    :math:`A = a - 1`, :math:`B = b - 1`:

    * at the mode (a, b > 1): :math:`(a + b)\,[1 - AB / (s\,(AB(A+B) + A^2 + B^2))]`;
    * at the mean: :math:`a + b - 1/s`;

    both tend to :math:`a + b` as :math:`s \to \infty` (``s=float("inf")`` is allowed).

    **elir** (Neuenschwander et al. 2020): the expected local-information ratio

    .. math:: \mathrm{ESS}_{\mathrm{ELIR}} = E_\pi\!\left[\frac{i_\pi(p)}{i_F(p)}\right]
              = \int_0^1 p(1-p)\, i_\pi(p)\, \pi(p)\, dp,

    :math:`i_\pi = -(\log \pi)''`, :math:`i_F(p) = 1/(p(1-p))` the Fisher information of one
    Bernoulli observation. With the decomposition of :meth:`BetaMixture.info` it splits
    into an exact part and a non-negative integral:

    .. math:: \mathrm{ESS}_{\mathrm{ELIR}} = \sum_k w_k e_k
              - \sum_{j<k} \int_0^1 \frac{w_j \pi_j(p)\, w_k \pi_k(p)}{\pi(p)}
                \frac{\{(a_j - a_k)(1-p) - (b_j - b_k) p\}^2}{p(1-p)}\, dp,

    where :math:`e_k = E_k[(a_k - 1)(1-p)/p + (b_k - 1)p/(1-p)] = b_k [a_k > 1] + a_k [b_k > 1]`
    is the ELIR of component *k* alone. So a single Beta(a, b) with :math:`a, b > 1` has
    ELIR exactly :math:`a + b`. The integrals (one per pair of components, all terms
    non-negative, densities in log space) are computed by adaptive quadrature
    (:func:`scipy.integrate.quad`) split at every component's quantiles, with the tails
    near 0 and 1 integrated in :math:`-\log p` and :math:`-\log(1-p)` so that mass at
    :math:`p < 10^{-300}` is not lost.

    Parameters
    ----------
    mixture : ~bayesblina.design.mixture.BetaMixture
        The prior.
    method : {"elir", "moment", "morita"}, default "elir"
        The definition (RBesT's default is also ``"elir"``).
    s : float, default 100
        Morita only: the flattening constant (RBesT's default), > 0, may be ``inf``.
    location : {"mode", "mean"}, default "mode"
        Morita only: where the information is compared.

    Returns
    -------
    float
        A finite, positive ESS; 0.0 only for the ELIR of the uniform prior (every component
        Beta(1, 1)), whose local information is identically 0.

    Raises
    ------
    bayesblina.errors.SpecError
        Rather than return a negative, infinite or NaN value:

        * ``elir`` with a component of positive weight with :math:`a < 1` or :math:`b < 1`:
          near 0 the mixture behaves as :math:`p^{a-1}`, so :math:`i_\pi(p) \approx
          (a-1)/p^2 < 0` and the integrand :math:`\approx (a-1)\,p^{a-2}` is not integrable:
          the ELIR is :math:`-\infty` (RBesT refuses these too);
        * ``elir`` whose value is :math:`\le 0` (a mixture whose log density is convex over
          much of its mass, e.g. well separated modes);
        * ``morita`` at the mode when the mode is 0 or 1 (a component with :math:`a < 1` or
          :math:`b < 1`, or a density decreasing from a boundary such as Beta(1, 3)), or
          whose value is :math:`\le 0` (a prior flatter than the baseline, e.g.
          Beta(0.005, 0.005) at the mean with ``s = 100``);
        * an unknown ``method``/``location`` or an invalid ``s``.

    Warns
    -----
    UserWarning
        ``morita`` at the mode of a multimodal mixture: the highest mode is used (as RBesT);
        an ESS means little for such a prior.

    Notes
    -----
    The ELIR of a component is discontinuous at :math:`a_k = 1` (:math:`b_k = 1`): as
    :math:`a_k \downarrow 1` the term :math:`(a_k - 1)(1-p)/p` concentrates its expectation
    :math:`b_k` ever closer to 0, and at :math:`a_k = 1` it vanishes. So Beta(1, b) with
    :math:`b > 1` has ELIR 1, and the uniform has ELIR 0 — values that the predictive
    consistency of the ELIR (the prior's ESS plus :math:`N` equals the prior-predictive
    average of the posterior ESS after :math:`N` patients) requires, and that the tests
    check.

    References
    ----------
    .. [1] Morita S, Thall PF, Müller P. Determining the effective sample size of a
       parametric prior. Biometrics 2008;64(2):595-602.
    .. [2] Neuenschwander B, Weber S, Schmidli H, O'Hagan A. Predictively consistent prior
       effective sample sizes. Biometrics 2020;76(2):578-587.
    .. [3] RBesT, ``ess()`` (R/mixess.R): Morita at the mode with the baseline
       Beta(mode/s, (1-mode)/s); ELIR refused for components with a or b < 1.

    Examples
    --------
    >>> ess(BetaMixture.beta(5, 15), "moment"), ess(BetaMixture.beta(5, 15), "elir")
    (20.0, 20.0)
    >>> round(ess(BetaMixture.beta(5, 15), "morita", location="mean"), 6)
    19.99
    """
    mix = _check_mixture("mixture", mixture).active()
    if method == "moment":
        return _ess_moment(mix)
    if method == "elir":
        return _ess_elir(mix)
    if method == "morita":
        s_ = check_positive("s", s, allow_inf=True)
        if location not in ("mode", "mean"):
            raise SpecError(f"location = {location!r} is invalid: use 'mode' or 'mean'")
        return _ess_morita(mix, s_, location)
    raise SpecError(f"method = {method!r} is invalid: use 'moment', 'morita' or 'elir'")


def _ess_moment(mix: BetaMixture) -> float:
    s = mix.a + mix.b
    e_pq = float(np.sum(mix.weights * mix.a * mix.b / (s * (s + 1.0))))  # E[p(1 - p)]
    return e_pq / mix.variance()


def _ess_morita(mix: BetaMixture, s: float, location: str) -> float:
    if location == "mode":
        active = mix.active()
        if np.all(active.a == 1) and np.all(active.b == 1):
            raise SpecError("Morita ESS undefined at the mode: the prior is uniform, a flat "
                            "density with no mode; use location='mean' or method='moment'")
        loc, interior, n_modes = mix._mode()
        if not interior:
            raise SpecError(
                f"Morita ESS undefined at the mode: this prior's density is largest at "
                f"p = {loc:g} (a component with a < 1 or b < 1, or a density falling from the "
                "boundary), where the information is not finite; use location='mean' or "
                "method='moment'"
            )
        if n_modes > 1:
            warnings.warn(
                f"the prior has {n_modes} modes: the Morita ESS is computed at the highest "
                f"(p = {loc:.6g}), and an ESS means little for a multimodal prior",
                UserWarning,
                stacklevel=3,
            )
    else:
        loc = mix.mean()
    d_prior = float(mix.info(loc))
    d_flat = (loc / s - 1.0) / loc**2 + ((1.0 - loc) / s - 1.0) / (1.0 - loc) ** 2
    m = mix.mean()
    e_info = m / loc**2 + (1.0 - m) / (1.0 - loc) ** 2
    value = (d_prior - d_flat) / e_info
    if not np.isfinite(value) or value <= 0:
        raise SpecError(
            f"Morita ESS = {value!r} at p = {loc:.6g} is not a positive sample size: the "
            f"prior's local information there ({d_prior:.6g}) does not exceed that of the "
            f"flattened baseline Beta(p/s, (1-p)/s) with s = {s:g} ({d_flat:.6g}); increase "
            "s, or use method='moment'"
        )
    return float(value)


def _ess_elir(mix: BetaMixture) -> float:
    bad = np.flatnonzero((mix.a < 1) | (mix.b < 1))
    if bad.size:
        k = int(bad[0])
        raise SpecError(
            f"ELIR ESS undefined: component {k} has a = {mix.a[k]:g}, b = {mix.b[k]:g} "
            "(weight > 0) with a < 1 or b < 1; near 0 (or 1) the prior then behaves as "
            "p^(a-1), its log density's curvature is -(1-a)/p^2, and the ELIR integral "
            "diverges to -inf; use method='moment' (or 'morita' with location='mean'), or "
            "fit the mixture with every a, b >= 1 (constrain_gt1=True)"
        )
    exact = float(
        np.sum(mix.weights * (mix.b * (mix.a > 1) + mix.a * (mix.b > 1)))
    )
    deficit = _elir_deficit(mix) if mix.n_components > 1 else 0.0
    value = exact - deficit
    if exact == 0.0 and deficit == 0.0:
        return 0.0  # the uniform prior: its local information is identically 0
    if not np.isfinite(value) or value <= 0:
        raise SpecError(
            f"ELIR ESS = {value:.6g} is not a positive sample size for this mixture: the "
            f"components' ELIRs sum to {exact:.6g} but the log density is convex between "
            f"them (an integral of {deficit:.6g}), e.g. well separated modes; the ESS of "
            "such a prior is not meaningful; use method='moment'"
        )
    return float(value)


def _lse(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """``log(sum(exp(x), axis))``: a lean logsumexp (scipy's costs more in many small calls)."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(m, axis) + np.log(np.sum(np.exp(x - m), axis=axis))


def _elir_log_integrand(mix: BetaMixture, log_t: np.ndarray, log_1mt: np.ndarray) -> np.ndarray:
    """Log of the ELIR deficit integrand at ``p`` given as ``log p`` and ``log(1 - p)``."""
    lp = (
        np.log(mix.weights)[:, None]
        + (mix.a - 1)[:, None] * log_t
        + (mix.b - 1)[:, None] * log_1mt
        - special.betaln(mix.a, mix.b)[:, None]
    )
    lmix = _lse(lp)
    t, omt = np.exp(log_t), np.exp(log_1mt)
    terms = []
    k = mix.n_components
    with np.errstate(divide="ignore"):
        for i in range(k):
            for j in range(i + 1, k):
                c = (mix.a[i] - mix.a[j]) * omt - (mix.b[i] - mix.b[j]) * t
                terms.append(lp[i] + lp[j] - lmix + 2 * np.log(np.abs(c)) - log_t - log_1mt)
    return _lse(np.stack(terms))


def _quad(f: Any, lo: float, hi: float) -> float:
    """``scipy.integrate.quad`` of a non-negative integrand; a failure is a SpecError."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", integrate.IntegrationWarning)
        try:
            val, _ = integrate.quad(f, lo, hi, limit=400, epsabs=1e-13, epsrel=1e-11)
        except integrate.IntegrationWarning as exc:
            raise SpecError(
                f"ELIR ESS: the quadrature on [{lo:g}, {hi:g}] did not converge ({exc}); "
                "use method='moment'"
            ) from exc
    return float(val)


def _elir_deficit(mix: BetaMixture) -> float:
    """The non-negative integral of the ELIR decomposition (see :func:`ess`)."""

    def left(t: float) -> float:  # p = t in (0, 1/2]
        v = _elir_log_integrand(mix, np.atleast_1d(np.log(t)), np.atleast_1d(np.log1p(-t)))
        return float(np.exp(v[0]))

    def right(o: float) -> float:  # p = 1 - o, o in (0, 1/2]
        v = _elir_log_integrand(mix, np.atleast_1d(np.log1p(-o)), np.atleast_1d(np.log(o)))
        return float(np.exp(v[0]))

    def left_tail(y: float) -> float:  # p = exp(-y), dp = p dy
        lt = np.atleast_1d(-y)
        v = _elir_log_integrand(mix, lt, np.atleast_1d(np.log(-np.expm1(-y))))
        return float(np.exp(v[0] - y))

    def right_tail(y: float) -> float:  # 1 - p = exp(-y)
        lo = np.atleast_1d(-y)
        v = _elir_log_integrand(mix, np.atleast_1d(np.log(-np.expm1(-y))), lo)
        return float(np.exp(v[0] - y))

    q = np.array([1e-10, 1e-6, 1e-3, 0.05, 0.5, 0.95, 0.999, 1 - 1e-6])
    # quantiles of p (left half) and of 1 - p (right half), each accurate near its 0
    p_pts = stats.beta.ppf(q[:, None], mix.a, mix.b).ravel()
    o_pts = stats.beta.ppf(q[:, None], mix.b, mix.a).ravel()
    edge = 1e-6
    total = 0.0
    for f, pts, tail in ((left, p_pts, left_tail), (right, o_pts, right_tail)):
        # the middle from the smallest breakpoint (at most 1e-6) to 1/2, the rest in -log
        inner = np.unique(np.concatenate([pts[(pts > 0) & (pts < 0.5)], [edge, 0.5]]))
        lo_edge = float(inner[0])
        for lo, hi in itertools.pairwise(inner):
            total += _quad(f, float(lo), float(hi))
        total += _quad(tail, -np.log(lo_edge), np.inf)
    return total


# --------------------------------------------------------------------------------------
# Beta-mixture approximation of draws (EM)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MixtureFit:
    r"""A beta mixture fitted to draws by maximum likelihood (EM).

    Attributes
    ----------
    mixture : ~bayesblina.design.mixture.BetaMixture
        The fitted mixture.
    loglik : float
        Log-likelihood of the draws under it.
    n_iter : int
        EM iterations run.
    converged : bool
        Whether the relative change of the log-likelihood fell below the tolerance.
    max_cdf_diff : float
        Kolmogorov distance between the fitted distribution function and the empirical one of
        the draws, :math:`\sup_p |F(p) - F_N(p)|`.
    """

    mixture: BetaMixture
    loglik: float
    n_iter: int
    converged: bool
    max_cdf_diff: float


@dataclass(frozen=True, eq=False)
class MixtureSelection:
    """The choice of the number of components by an information criterion.

    Attributes
    ----------
    best : MixtureFit
        The fit with the smallest criterion.
    fits : tuple of MixtureFit
        One fit per number of components tried (1, 2, ...).
    table : pandas.DataFrame
        Columns ``components``, ``loglik``, ``criterion`` (``-2 loglik + penalty (3K - 1)``),
        ``max_cdf_diff``, ``converged``; one row per fit.
    penalty : float
        Penalty per parameter (6: RBesT's ``automixfit``; 2: Akaike's AIC).
    """

    best: MixtureFit
    fits: tuple[MixtureFit, ...]
    table: pd.DataFrame
    penalty: float

    @property
    def mixture(self) -> BetaMixture:
        """The chosen mixture."""
        return self.best.mixture


def _check_draws(draws: Any) -> np.ndarray:
    arr = np.asarray(draws, dtype=float).ravel()
    if arr.size < 2:
        raise SpecError(f"draws has {arr.size} value(s): give at least 2 draws in (0, 1)")
    if not np.all((arr > 0) & (arr < 1)):
        bad = arr[~((arr > 0) & (arr < 1))][:3]
        raise SpecError(
            f"draws contains {_list(bad)}: every draw of a rate must lie strictly in (0, 1)"
        )
    return arr


def _ks_distance(mix: BetaMixture, draws: np.ndarray) -> float:
    x = np.sort(draws)
    f = mix.cdf(x)
    n = x.size
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - f), np.max(f - (i - 1) / n)))


def _moment_ab(m: float, v: float, floor: float) -> tuple[float, float]:
    size = max(m * (1 - m) / max(v, 1e-300) - 1.0, 1e-3)
    return max(m * size, floor), max((1 - m) * size, floor)


def _beta_objective(a: float, b: float, s1: float, s2: float) -> float:
    return (a - 1.0) * s1 + (b - 1.0) * s2 - float(special.betaln(a, b))


def _beta_newton(
    s1: float, s2: float, a: float, b: float, fix_a: float | None, fix_b: float | None
) -> tuple[float, float]:
    """Damped Newton for the concave ``(a-1) s1 + (b-1) s2 - log B(a, b)``, a or b fixed."""
    if fix_a is not None:
        a = fix_a
    if fix_b is not None:
        b = fix_b
    for _ in range(100):
        dab = float(special.digamma(a + b))
        tab = float(special.polygamma(1, a + b))
        ga = s1 - float(special.digamma(a)) + dab
        gb = s2 - float(special.digamma(b)) + dab
        haa = tab - float(special.polygamma(1, a))
        hbb = tab - float(special.polygamma(1, b))
        if fix_a is None and fix_b is None:
            det = haa * hbb - tab * tab
            da, db = -(hbb * ga - tab * gb) / det, -(haa * gb - tab * ga) / det
        elif fix_a is None:
            da, db = -ga / haa, 0.0
        elif fix_b is None:
            da, db = 0.0, -gb / hbb
        else:
            return a, b
        f0 = _beta_objective(a, b, s1, s2)
        t = 1.0
        while t > 1e-12:
            na, nb = a + t * da, b + t * db
            if na > 0 and nb > 0 and _beta_objective(na, nb, s1, s2) >= f0:
                break
            t *= 0.5
        else:
            return a, b
        a, b = na, nb
        if abs(t * da) <= 1e-12 * a and abs(t * db) <= 1e-12 * b:
            break
    return a, b


def _beta_mle(
    s1: float, s2: float, start: tuple[float, float], lower: float
) -> tuple[float, float]:
    """Maximise ``(a-1) s1 + (b-1) s2 - log B(a, b)`` (a weighted beta MLE) over a, b >= lower.

    The objective is concave (the beta family is exponential), so the box-constrained
    optimum is the best feasible one of the unconstrained optimum and the optima on the
    faces ``a = lower`` and/or ``b = lower``.
    """
    a0, b0 = max(start[0], lower), max(start[1], lower)
    best: tuple[float, float] | None = None
    for fix_a, fix_b in ((None, None), (lower, None), (None, lower), (lower, lower)):
        a, b = _beta_newton(s1, s2, a0, b0, fix_a, fix_b)
        if a < lower or b < lower:
            continue
        if best is None or _beta_objective(a, b, s1, s2) > _beta_objective(*best, s1, s2):
            best = (a, b)
        if fix_a is None and fix_b is None:
            break  # the unconstrained optimum is feasible: it is the optimum
    assert best is not None  # (lower, lower) is always feasible
    return best


def fit_beta_mixture(
    draws: Any,
    n_components: int,
    *,
    constrain_gt1: bool = False,
    max_iter: int = 2000,
    tol: float = 1e-8,
) -> MixtureFit:
    r"""Fit a K-component beta mixture to draws of a rate by maximum likelihood (EM).

    E-step: responsibilities in log space. M-step: the weights are the mean
    responsibilities, and each component's :math:`(a, b)` maximises its weighted beta
    log-likelihood exactly (a concave problem in the sufficient statistics
    :math:`\overline{\log p}`, :math:`\overline{\log(1-p)}`, solved by damped Newton steps
    with digamma/trigamma derivatives; with ``constrain_gt1`` the best feasible optimum of the
    interior and the faces :math:`a = 1`, :math:`b = 1`). The start is deterministic: the
    draws split at their K-quantiles, each part moment-matched. Stops when the relative
    change of the log-likelihood is below ``tol`` (EM converges slowly when K exceeds what
    the draws support; ``converged`` then says so).

    Parameters
    ----------
    draws : array-like
        Draws in (0, 1) (e.g. of a MAP predictive distribution).
    n_components : int
        K >= 1.
    constrain_gt1 : bool, default False
        Keep every :math:`a_k, b_k \ge 1` (RBesT's ``constrain_gt1``), so that the ELIR ESS is
        defined (:func:`ess`).
    max_iter : int, default 2000
        Largest number of EM iterations.
    tol : float, default 1e-8
        Relative log-likelihood tolerance.

    Returns
    -------
    MixtureFit

    Raises
    ------
    bayesblina.errors.SpecError
        If a draw is outside (0, 1), fewer than 2 draws are given, or an argument is invalid.
    """
    x = _check_draws(draws)
    k = check_int("n_components", n_components, 1)
    max_iter_ = check_int("max_iter", max_iter, 1)
    tol_ = check_positive("tol", tol)
    floor = 1.0 if constrain_gt1 else 1e-3
    l1, l2 = np.log(x), np.log1p(-x)
    order = np.argsort(x)
    parts = np.array_split(order, k)
    a = np.empty(k)
    b = np.empty(k)
    for j, idx in enumerate(parts):
        a[j], b[j] = _moment_ab(float(x[idx].mean()), float(x[idx].var()), floor)
    w = np.full(k, 1.0 / k)
    loglik = -np.inf
    converged = False
    it = 0
    while it < max_iter_:
        it += 1
        lc = np.log(w) + (a - 1) * l1[:, None] + (b - 1) * l2[:, None] - special.betaln(a, b)
        ll_i = special.logsumexp(lc, axis=1)
        new_ll = float(ll_i.sum())
        if np.isfinite(loglik) and abs(new_ll - loglik) <= tol_ * abs(new_ll):
            loglik = new_ll
            converged = True
            break
        loglik = new_ll
        r = np.exp(lc - ll_i[:, None])
        nk = r.sum(axis=0)
        w = np.maximum(nk / x.size, 1e-300)
        w = w / w.sum()
        for j in range(k):
            if nk[j] <= 1e-10 * x.size:
                continue  # an empty component keeps its parameters (and ~0 weight)
            s1 = float(r[:, j] @ l1 / nk[j])
            s2 = float(r[:, j] @ l2 / nk[j])
            a[j], b[j] = _beta_mle(s1, s2, (a[j], b[j]), floor)
    lc = np.log(w) + (a - 1) * l1[:, None] + (b - 1) * l2[:, None] - special.betaln(a, b)
    loglik = float(special.logsumexp(lc, axis=1).sum())
    order_k = np.argsort(-w)  # largest weight first
    mix = BetaMixture(w[order_k], a[order_k], b[order_k])
    return MixtureFit(mix, loglik, it, converged, _ks_distance(mix, x))


def fit_beta_mixture_auto(
    draws: Any,
    max_components: int = 4,
    *,
    penalty: float = 6.0,
    constrain_gt1: bool = False,
) -> MixtureSelection:
    r"""Fit 1..``max_components`` beta mixtures and keep the one with the smallest criterion.

    Criterion: :math:`-2 \log L + \text{penalty} \times (3K - 1)` (a K-component mixture has
    :math:`3K - 1` free parameters). ``penalty = 6`` is RBesT's ``automixfit`` default (an
    AIC with a heavier penalty, which prefers fewer components); ``penalty = 2`` is Akaike's
    AIC. The Kolmogorov distance of each fit to the draws is reported beside it
    (``max_cdf_diff``), so the quality of the chosen approximation is stated, not assumed.

    Parameters
    ----------
    draws : array-like
        Draws in (0, 1).
    max_components : int, default 4
        Largest K tried (>= 1).
    penalty : float, default 6
        Penalty per parameter (> 0).
    constrain_gt1 : bool, default False
        Passed to :func:`fit_beta_mixture`.

    Returns
    -------
    MixtureSelection
    """
    x = _check_draws(draws)
    kmax = check_int("max_components", max_components, 1)
    pen = check_positive("penalty", penalty)
    fits = tuple(fit_beta_mixture(x, k, constrain_gt1=constrain_gt1) for k in range(1, kmax + 1))
    crit = [-2.0 * f.loglik + pen * (3 * (k + 1) - 1) for k, f in enumerate(fits)]
    table = pd.DataFrame(
        {
            "components": np.arange(1, kmax + 1),
            "loglik": [f.loglik for f in fits],
            "criterion": crit,
            "max_cdf_diff": [f.max_cdf_diff for f in fits],
            "converged": [f.converged for f in fits],
        }
    )
    best = fits[int(np.argmin(crit))]
    return MixtureSelection(best=best, fits=fits, table=table, penalty=pen)


# --------------------------------------------------------------------------------------
# Meta-analytic-predictive (MAP) prior
# --------------------------------------------------------------------------------------


def _check_trials(x: Any, n: Any) -> tuple[np.ndarray, np.ndarray]:
    xs = np.atleast_1d(np.asarray(x))
    ns = np.atleast_1d(np.asarray(n))
    if xs.ndim != 1 or xs.shape != ns.shape or xs.size == 0:
        raise SpecError(
            f"x = {x!r}, n = {n!r}: give one count of responders and one of patients per "
            "historical trial (two lists of the same, non-zero length)"
        )
    out_x, out_n = [], []
    for i, (xi, ni) in enumerate(zip(xs.tolist(), ns.tolist(), strict=True)):
        xi_, ni_ = _check_counts(xi, ni, x_name=f"x[{i}]", n_name=f"n[{i}]")
        if ni_ < 1:
            raise SpecError(f"n[{i}] = {ni_} is invalid: every historical trial needs n >= 1")
        out_x.append(xi_)
        out_n.append(ni_)
    return np.array(out_x, dtype=np.int64), np.array(out_n, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class MAPPrior:
    r"""A MAP prior: the hierarchical model's predictive of a new trial's rate, as a mixture.

    Attributes
    ----------
    mixture : ~bayesblina.design.mixture.BetaMixture
        The beta-mixture approximation chosen by :func:`fit_beta_mixture_auto`.
    selection : MixtureSelection
        Every mixture tried, with its criterion and Kolmogorov distance to the draws.
    draws : numpy.ndarray
        Draws of the new trial's rate :math:`\operatorname{logit}^{-1}(\mu + \tau z)`,
        :math:`z \sim N(0, 1)`, one per posterior draw (chains concatenated).
    idata : arviz.InferenceData
        The PyMC fit of ``mu``, ``tau`` and the trials' ``z``.
    gate : GateResult
        The diagnostics gate of ``mu`` and ``tau`` (:func:`bayesblina.core.gate.check_convergence`).
    """

    mixture: BetaMixture
    selection: MixtureSelection
    draws: np.ndarray
    idata: az.InferenceData
    gate: GateResult


def map_prior(
    x: Any,
    n: Any,
    *,
    tau_scale: float,
    mu_mean: float = 0.0,
    mu_sd: float = 2.0,
    draws: int = 2000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 20160101,
    cores: int = 1,
    target_accept: float = 0.99,
    max_components: int = 4,
    penalty: float = 6.0,
    constrain_gt1: bool = False,
    require_gate: bool = True,
) -> MAPPrior:
    r"""Meta-analytic-predictive prior for a new trial's response rate from J historical trials.

    The model (Neuenschwander et al. 2010; Schmidli et al. 2014):

    .. math:: x_i \sim \mathrm{Bin}(n_i, \operatorname{logit}^{-1}\theta_i), \quad
              \theta_i = \mu + \tau z_i,\; z_i \sim N(0, 1), \quad
              \mu \sim N(m_\mu, s_\mu^2), \quad \tau \sim \mathrm{HalfNormal}(\sigma_\tau),

    fitted by PyMC's NUTS (non-centred, fixed seed). The MAP prior is the predictive
    distribution of :math:`p_\star = \operatorname{logit}^{-1}(\mu + \tau z_\star)`; its
    draws (one :math:`z_\star` per posterior draw, from ``numpy.random.default_rng(seed)``)
    are approximated by a beta mixture with :func:`fit_beta_mixture_auto`.
    :func:`map_predictive_quadrature` computes the same distribution exactly.

    Parameters
    ----------
    x, n : array-like of int
        Responders and patients of each historical trial (``0 <= x_i <= n_i``, ``n_i >= 1``).
    tau_scale : float
        Scale :math:`\sigma_\tau` of the half-normal prior on the between-trial SD (logit
        scale; e.g. 0.5 moderate, 1 substantial heterogeneity). Required: it drives how
        much the historical trials are discounted.
    mu_mean, mu_sd : float, default 0, 2
        Normal prior of :math:`\mu`.
    draws, tune, chains, seed, cores, target_accept : int, int, int, int, int, float
        NUTS settings (``pm.sample``); defaults 2000 draws after 1000 tuning steps in each of
        4 chains, seed 20160101, one core, target acceptance 0.99 (with few trials the
        posterior of ``tau`` has a funnel that 0.95 occasionally diverges in).
    max_components, penalty, constrain_gt1 : int, float, bool
        Passed to :func:`fit_beta_mixture_auto` (defaults 4, 6, False).
    require_gate : bool, default True
        Raise :class:`bayesblina.core.gate.ConvergenceError` if the fit fails the gate
        (default thresholds: R-hat <= 1.01, bulk/tail ESS >= 400, no divergences,
        E-BFMI >= 0.3).

    Returns
    -------
    MAPPrior

    Raises
    ------
    bayesblina.errors.SpecError
        If the counts or a setting are invalid.
    bayesblina.core.gate.ConvergenceError
        If ``require_gate`` and the fit fails the gate.

    References
    ----------
    .. [1] Neuenschwander B, Capkun-Niggli G, Branson M, Spiegelhalter DJ. Summarizing
       historical information on controls in clinical trials. Clinical Trials
       2010;7(1):5-18.
    .. [2] Schmidli H, et al. Robust meta-analytic-predictive priors in clinical trials with
       historical control information. Biometrics 2014;70(4):1023-1032.
    """
    xs, ns = _check_trials(x, n)
    tau_s = check_positive("tau_scale", tau_scale)
    mu_m = check_real("mu_mean", mu_mean)
    mu_s = check_positive("mu_sd", mu_sd)
    draws_ = check_int("draws", draws, 1)
    tune_ = check_int("tune", tune, 0)
    chains_ = check_int("chains", chains, 1)
    seed_ = check_int("seed", seed, 0)
    cores_ = check_int("cores", cores, 1)
    ta = check_prob("target_accept", target_accept)
    with pm.Model(coords={"trial": np.arange(xs.size)}):
        mu = pm.Normal("mu", mu_m, mu_s)
        tau = pm.HalfNormal("tau", tau_s)
        z = pm.Normal("z", 0.0, 1.0, dims="trial")
        pm.Binomial("y", n=ns, logit_p=mu + tau * z, observed=xs, dims="trial")
        idata = pm.sample(
            draws=draws_,
            tune=tune_,
            chains=chains_,
            cores=cores_,
            random_seed=seed_,
            target_accept=ta,
            progressbar=False,
            compute_convergence_checks=False,
        )
    gate = check_convergence(idata, var_names=["mu", "tau"])
    if require_gate:
        gate.require("MAP prior fit")
    mu_d = idata.posterior["mu"].to_numpy().ravel()
    tau_d = idata.posterior["tau"].to_numpy().ravel()
    z_new = np.random.default_rng(seed_).standard_normal(mu_d.size)
    pred = special.expit(mu_d + tau_d * z_new)
    selection = fit_beta_mixture_auto(
        pred, max_components, penalty=penalty, constrain_gt1=constrain_gt1
    )
    return MAPPrior(selection.mixture, selection, pred, idata, gate)


@dataclass(frozen=True, eq=False)
class MAPQuadrature:
    r"""The MAP predictive distribution computed by quadrature over :math:`(\mu, \tau)`.

    Attributes
    ----------
    mu, tau : numpy.ndarray
        The nodes (Gauss–Legendre in each direction).
    weight : numpy.ndarray
        Posterior mass of node ``(mu[i], tau[j])``, shape (len(mu), len(tau)); sums to 1.
    mean, sd : float
        Mean and SD of the new trial's rate :math:`p_\star`.
    """

    mu: np.ndarray
    tau: np.ndarray
    weight: np.ndarray
    mean: float
    sd: float


def _log_lik_nodes(
    xs: np.ndarray, ns: np.ndarray, mu: np.ndarray, tau: np.ndarray, z: np.ndarray, wz: np.ndarray
) -> np.ndarray:
    """``sum_i log int Bin(x_i | n_i, expit(mu + tau z)) phi(z) dz`` at every (mu, tau) node."""
    out = np.zeros((mu.size, tau.size))
    log_wz = np.log(wz)
    for start in range(0, mu.size, 8):
        m = mu[start : start + 8]
        theta = m[:, None, None] + tau[None, :, None] * z[None, None, :]
        lp, lq = special.log_expit(theta), special.log_expit(-theta)
        for xi, ni in zip(xs, ns, strict=True):
            out[start : start + 8] += _lse(xi * lp + (ni - xi) * lq + log_wz, axis=-1)
    return out


def map_predictive_quadrature(
    x: Any,
    n: Any,
    *,
    tau_scale: float,
    mu_mean: float = 0.0,
    mu_sd: float = 2.0,
    n_mu: int = 160,
    n_tau: int = 96,
) -> MAPQuadrature:
    r"""The MAP predictive distribution of :func:`map_prior`'s model, without MCMC.

    The posterior of :math:`(\mu, \tau)` is computed on a tensor Gauss–Legendre grid:
    :math:`\tau` on :math:`[0, \sigma_\tau\, \Phi^{-1}(1 - 5\cdot10^{-13})]` (the half-normal
    prior's mass beyond is :math:`10^{-12}`), :math:`\mu` first over its prior's
    :math:`\pm 10` SD and then again, with ``n_mu`` nodes, over the range where that first
    pass left posterior mass above :math:`10^{-14}` of its largest node (widened by two node
    spacings). At each node the marginal likelihood of trial *i*,
    :math:`\int \mathrm{Bin}(x_i \mid n_i, \operatorname{logit}^{-1}(\mu + \tau z))
    \phi(z)\,dz`, is a trapezoid sum over :math:`z \in [-9, 9]` whose spacing (at most 0.05)
    resolves the likelihood's width in :math:`z` at the largest :math:`\tau`; the trapezoid
    rule converges geometrically for these smooth, rapidly decaying integrands. The
    predictive moments :math:`E[p_\star^r \mid \mu, \tau]`, :math:`r = 1, 2`, use the same
    :math:`z` nodes. (The predictive distribution function is not offered: at small
    :math:`\tau` it is a step in :math:`\mu` that a fixed :math:`\mu` grid does not resolve.)

    Parameters
    ----------
    x, n : array-like of int
        Responders and patients per historical trial.
    tau_scale, mu_mean, mu_sd : float
        The priors, as in :func:`map_prior`.
    n_mu, n_tau : int, default 160, 96
        Gauss–Legendre nodes for :math:`\mu` (second pass) and :math:`\tau` (>= 8 each).

    Returns
    -------
    MAPQuadrature
    """
    xs, ns = _check_trials(x, n)
    tau_s = check_positive("tau_scale", tau_scale)
    mu_m = check_real("mu_mean", mu_mean)
    mu_s = check_positive("mu_sd", mu_sd)
    n_mu_ = check_int("n_mu", n_mu, 8)
    n_tau_ = check_int("n_tau", n_tau, 8)
    t_max = tau_s * float(stats.norm.isf(5e-13))  # P(HalfNormal(tau_scale) > t_max) = 1e-12
    gl_u, gl_w = np.polynomial.legendre.leggauss(n_tau_)
    tau = 0.5 * t_max * (gl_u + 1.0)
    log_tau_w = np.log(0.5 * t_max * gl_w) + stats.halfnorm.logpdf(tau, scale=tau_s)
    # the likelihood of trial i is ~ N(theta_i, 1/(n p q)) in theta; in z its SD is that / tau
    phat = np.clip((xs + 0.5) / (ns + 1.0), 1e-3, 1 - 1e-3)
    sd_theta = float(np.min(1.0 / np.sqrt(ns * phat * (1 - phat))))
    h = min(0.05, sd_theta / t_max)
    z = np.arange(-9.0, 9.0 + h / 2, h)
    wz = stats.norm.pdf(z) * h
    wz = wz / wz.sum()

    def posterior(mu: np.ndarray, log_mu_w: np.ndarray, tau_: np.ndarray,
                  log_tau_w_: np.ndarray) -> np.ndarray:
        lp = (
            log_mu_w[:, None]
            + stats.norm.logpdf(mu, mu_m, mu_s)[:, None]
            + log_tau_w_[None, :]
            + _log_lik_nodes(xs, ns, mu, tau_, z, wz)
        )
        return np.exp(lp - special.logsumexp(lp))

    # first pass (coarse): where does the posterior of mu put its mass?
    gm_u, gm_w = np.polynomial.legendre.leggauss(161)
    lo, hi = mu_m - 10 * mu_s, mu_m + 10 * mu_s
    mu1 = lo + 0.5 * (hi - lo) * (gm_u + 1.0)
    gt_u, gt_w = np.polynomial.legendre.leggauss(24)
    tau1 = 0.5 * t_max * (gt_u + 1.0)
    log_tau1_w = np.log(0.5 * t_max * gt_w) + stats.halfnorm.logpdf(tau1, scale=tau_s)
    w1 = posterior(mu1, np.log(0.5 * (hi - lo) * gm_w), tau1, log_tau1_w).sum(axis=1)
    keep = np.flatnonzero(w1 > 1e-14 * w1.max())
    spacing = (hi - lo) / 161
    lo2 = max(lo, mu1[keep[0]] - 2 * spacing)
    hi2 = min(hi, mu1[keep[-1]] + 2 * spacing)
    gm_u, gm_w = np.polynomial.legendre.leggauss(n_mu_)
    mu = lo2 + 0.5 * (hi2 - lo2) * (gm_u + 1.0)
    weight = posterior(mu, np.log(0.5 * (hi2 - lo2) * gm_w), tau, log_tau_w)
    e1 = np.empty_like(weight)
    e2 = np.empty_like(weight)
    for start in range(0, mu.size, 8):
        theta = mu[start : start + 8, None, None] + tau[None, :, None] * z[None, None, :]
        p = special.expit(theta)
        e1[start : start + 8] = p @ wz
        e2[start : start + 8] = (p * p) @ wz
    mean = float(np.sum(weight * e1))
    second = float(np.sum(weight * e2))
    return MAPQuadrature(mu, tau, weight, mean, float(np.sqrt(max(second - mean**2, 0.0))))


# --------------------------------------------------------------------------------------
# Operating characteristics of a single-arm follow-up design
# --------------------------------------------------------------------------------------


def critical_responses(prior: BetaMixture, n: int, p0: float, threshold: float) -> int | None:
    r"""The smallest number of responders ``y`` with :math:`P(p > p_0 \mid y) > c`, or ``None``.

    Whatever the prior, :math:`P(p > p_0 \mid y)` increases with ``y`` (the binomial
    likelihood has a monotone likelihood ratio in :math:`p`), so the success region of the
    rule is :math:`\{y \ge y_c\}`.

    Raises
    ------
    bayesblina.errors.SpecError
        If ``n`` < 1, or ``p0`` or ``threshold`` are outside (0, 1).
    """
    c = check_prob("threshold", threshold)
    ok = np.flatnonzero(posterior_prob_above(prior, n, p0) > c)
    return int(ok[0]) if ok.size else None


def follow_up_oc(
    prior: BetaMixture, n: int, p0: float, threshold: float, true_rates: Iterable[float]
) -> pd.DataFrame:
    r"""Exact operating characteristics of "success if :math:`P(p > p_0 \mid y) > c`" at ``n``.

    With the critical count :math:`y_c` (:func:`critical_responses`), the probability of
    success at a true rate :math:`p` is :math:`P(\mathrm{Bin}(n, p) \ge y_c)`, a finite sum.
    Rates far from the prior (``prior_cdf`` near 0 or 1) are the prior–data conflict
    scenarios: there an informative prior pulls the decision its way, and a robust one
    (:func:`robustify`) less so.

    Parameters
    ----------
    prior : ~bayesblina.design.mixture.BetaMixture
        The analysis prior of the follow-up trial.
    n : int
        Patients, >= 1.
    p0 : float
        The uninteresting rate, in (0, 1).
    threshold : float
        The posterior probability :math:`c` that must be exceeded, in (0, 1).
    true_rates : iterable of float
        True response rates, each in [0, 1].

    Returns
    -------
    pandas.DataFrame
        One row per true rate (in the order given): ``true_rate``, ``prob_success``,
        ``critical_responses`` (nullable ``Int64``; ``<NA>`` if no outcome succeeds, then
        ``prob_success`` is 0), ``posterior_mean_at_boundary`` (the posterior mean of
        :math:`p` after :math:`y_c` responders; NaN without one) and ``prior_cdf``
        (:math:`P(p \le \text{true rate})` under the prior).

    Raises
    ------
    bayesblina.errors.SpecError
        If ``n`` < 1, ``p0`` or ``threshold`` is outside (0, 1), or ``true_rates`` is empty
        or has a value outside [0, 1].

    References
    ----------
    .. [1] Schmidli H, et al. Biometrics 2014;70(4):1023-1032 (operating characteristics of
       robust MAP priors under prior–data conflict).
    """
    mix = _check_mixture("prior", prior)
    n_ = check_int("n", n, 1)
    rates = [check_prob(f"true_rates[{i}]", p, closed=True) for i, p in enumerate(true_rates)]
    if not rates:
        raise SpecError("true_rates is empty: give at least one true response rate in [0, 1]")
    yc = critical_responses(mix, n_, p0, threshold)
    if yc is None:
        prob = [0.0] * len(rates)
        boundary_mean = float("nan")
    else:
        prob = [float(stats.binom.sf(yc - 1, n_, p)) for p in rates]
        boundary_mean = mix.posterior(yc, n_).mean()
    return pd.DataFrame(
        {
            "true_rate": rates,
            "prob_success": prob,
            "critical_responses": pd.array([yc] * len(rates), dtype="Int64"),
            "posterior_mean_at_boundary": [boundary_mean] * len(rates),
            "prior_cdf": [float(mix.cdf(p)) for p in rates],
        }
    )
