"""Bayesian single-arm phase II designs: posterior and predictive probability monitoring.

A single-arm trial with a binary end point (response) enrols up to ``nmax``
patients; with ``x`` responses among the first ``n`` and a Beta (or beta-mixture)
prior on the response rate ``p``:

* the **posterior probability** is ``P(p > p0 | x, n)``;
* the **predictive probability** (Lee & Liu 2008) is the chance that the trial,
  continued to ``nmax``, ends in success,
  ``PP = sum_{y=0}^{nmax-n} P(Y = y | x) 1[P(p > p0 | x + y, nmax) > theta_T]``,
  where ``Y`` is beta-binomial: ``(nmax - n, a + x, b + n - x)`` for a
  ``Beta(a, b)`` prior, a mixture of those (with posterior weights) for a
  beta-mixture prior.

At each interim look ``n`` the trial stops for futility if the statistic of the
design's rule (PP for ``rule="predictive"``, the posterior probability for
``rule="posterior"``) is below ``theta_L``, and for efficacy if it is above
``theta_U`` (``theta_U = 1``: never). At ``nmax`` it declares success if
``P(p > p0 | x, nmax) > theta_T``. Declaring success (early or at the end) is
rejecting ``H0: p <= p0``; its probability at ``p0`` is the type I error, at
``p1`` the power.

Every operating characteristic here is exact: a dynamic programme over the number
of responses after each patient, vectorised over true rates (and, in the design
search, over the thresholds), with no simulation.

References
----------
.. [1] Lee JJ, Liu DD. A predictive probability design for phase II cancer
   clinical trials. Clinical Trials 2008;5(2):93-106.
.. [2] Thall PF, Simon R. Practical Bayesian guidelines for phase IIB clinical
   trials. Biometrics 1994;50(2):337-349.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import betaln
from scipy.stats import beta as beta_dist
from scipy.stats import betabinom

from bayesblina.design.checks import check_int, check_prob
from bayesblina.design.mixture import BetaMixture, PriorLike, as_beta_mixture
from bayesblina.errors import SpecError

__all__ = [
    "MonitoringDesign",
    "MonitoringOC",
    "MonitoringSearch",
    "monitoring_boundaries",
    "monitoring_oc",
    "monitoring_search",
    "posterior_prob",
    "predictive_prob",
]

#: The two monitoring rules: the statistic compared with ``theta_L`` / ``theta_U``.
Rule = Literal["predictive", "posterior"]

#: Slack allowed when comparing an attained type I error / power with its target.
_FEAS_TOL = 1e-12

#: Lee & Liu's ranges of the thresholds, the default grids of :func:`monitoring_search`.
DEFAULT_THETA_T = tuple(round(0.80 + 0.01 * i, 2) for i in range(20))  # 0.80 .. 0.99
DEFAULT_THETA_L = (0.001, *(round(0.01 * i, 2) for i in range(1, 21)))  # 0.001 .. 0.20


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------


#: how far past ``nmax_cap`` an infeasible search looks for the smallest nmax that works,
#: to name it in the error (exact, a fraction of a second per nmax at this size)
SMALLEST_N_SEARCH_CAP = 150






def _check_thresholds(theta_l: float, theta_u: float) -> None:
    """``theta_L < theta_U`` (a look could otherwise stop both ways)."""
    if not theta_l < theta_u:
        raise SpecError(
            f"theta_l = {theta_l!r} is invalid for theta_u = {theta_u!r}: the futility "
            "threshold must be below the efficacy threshold (theta_l < theta_u; "
            "theta_u = 1 means no efficacy stop)"
        )


def _check_rule(rule: object) -> Rule:
    if rule not in ("predictive", "posterior"):
        raise SpecError(f"rule = {rule!r} is invalid: allowed values are 'predictive', "
                        "'posterior'")
    return rule  # type: ignore[return-value]


# --------------------------------------------------------------------------------------
# Posterior weights and predictive tables of a beta-mixture prior
# --------------------------------------------------------------------------------------


def _posterior_weights(mix: BetaMixture, x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Posterior mixture weights after ``x`` responses in ``n``: shape ``(K, *x.shape)``.

    ``w_k' ∝ w_k B(a_k + x, b_k + n - x) / B(a_k, b_k)``. Entries with ``x > n`` are
    given harmless parameters (the caller masks them).
    """
    w, a, b = (v.reshape((-1,) + (1,) * x.ndim) for v in (mix.weights, mix.a, mix.b))
    fail = np.maximum(n - x, 0)
    with np.errstate(divide="ignore"):
        logw = np.log(w) + betaln(a + x, b + fail) - betaln(a, b)
    logw = logw - logw.max(axis=0, keepdims=True)
    pw = np.exp(logw)
    return pw / pw.sum(axis=0, keepdims=True)


def _post_gt(mix: BetaMixture, x: np.ndarray, n: np.ndarray, p0: float) -> np.ndarray:
    """``P(p > p0 | x, n)`` elementwise (``x``, ``n`` broadcast together)."""
    x, n = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(n, dtype=float))
    _, a, b = (v.reshape((-1,) + (1,) * x.ndim) for v in (mix.weights, mix.a, mix.b))
    pw = _posterior_weights(mix, x, n)
    return np.sum(pw * beta_dist.sf(p0, a + x, b + np.maximum(n - x, 0)), axis=0)


def _predictive_pmf(mix: BetaMixture, nmax: int, looks: np.ndarray) -> np.ndarray:
    """``P(Y = y | x responses in n)`` for each look: shape ``(L, nmax + 1, nmax + 1)``.

    Axis 1 is ``x`` (0 where ``x > n``), axis 2 is ``y`` (0 where
    ``y > nmax - n``). ``Y`` is the number of responses among the ``nmax - n``
    patients still to come, beta(-mixture)-binomial.
    """
    n = looks.reshape(-1, 1, 1).astype(float)
    x = np.arange(nmax + 1, dtype=float).reshape(1, -1, 1)
    y = np.arange(nmax + 1, dtype=float).reshape(1, 1, -1)
    m = nmax - n
    valid_x = x <= n
    fail = np.where(valid_x, n - x, 0.0)
    pw = _posterior_weights(mix, np.broadcast_to(x, (len(looks), nmax + 1, 1)),
                            np.broadcast_to(n, (len(looks), nmax + 1, 1)))
    pmf = np.zeros((len(looks), nmax + 1, nmax + 1))
    for k, (a_k, b_k) in enumerate(zip(mix.a, mix.b, strict=True)):
        pmf += pw[k] * betabinom.pmf(y, m, a_k + x, b_k + fail)  # 0 for y > m
    return np.where(valid_x, pmf, 0.0)


# --------------------------------------------------------------------------------------
# Posterior and predictive probability
# --------------------------------------------------------------------------------------


def _check_counts(x: object, n: object, *, nmax: int | None = None) -> tuple[int, int]:
    n_ = check_int("n", n, 0, "n >= 0" if nmax is None else f"0 <= n <= nmax = {nmax}")
    if nmax is not None and n_ > nmax:
        raise SpecError(f"n = {n_} is invalid: allowed values are 0 <= n <= nmax = {nmax}")
    x_ = check_int("x", x, 0, f"0 <= x <= n = {n_}")
    if x_ > n_:
        raise SpecError(f"x = {x_} is invalid: allowed values are 0 <= x <= n = {n_}")
    return x_, n_


def posterior_prob(x: int, n: int, p0: float, prior: PriorLike = (1.0, 1.0)) -> float:
    """Posterior probability ``P(p > p0 | x responses in n)``.

    Parameters
    ----------
    x : int
        Number of responses, ``0 <= x <= n``.
    n : int
        Number of patients evaluated, ``>= 0``.
    p0 : float
        Reference response rate, in (0, 1).
    prior : ~bayesblina.design.mixture.PriorLike, default (1, 1)
        Prior of ``p``: ``(a, b)``, a list of ``(weight, a, b)`` or a beta mixture (see
        :func:`~bayesblina.design.mixture.as_beta_mixture`).

    Returns
    -------
    float
        ``sum_k w_k' (1 - I_{p0}(a_k + x, b_k + n - x))``, the beta survival
        function at ``p0`` under the posterior (mixture weights ``w_k'`` updated
        by the beta-binomial marginal likelihood of each component).

    Raises
    ------
    bayesblina.errors.SpecError
        If an argument is invalid.

    References
    ----------
    .. [1] Lee JJ, Liu DD. A predictive probability design for phase II cancer
       clinical trials. Clinical Trials 2008;5(2):93-106.
    .. [2] Thall PF, Simon R. Practical Bayesian guidelines for phase IIB clinical
       trials. Biometrics 1994;50(2):337-349.

    Examples
    --------
    >>> round(posterior_prob(16, 23, 0.6, prior=(0.6, 0.4)), 4)
    0.836
    """
    x_, n_ = _check_counts(x, n)
    p0_ = check_prob("p0", p0)
    mix = as_beta_mixture(prior)
    return float(_post_gt(mix, np.array([x_]), np.array([n_]), p0_)[0])


def predictive_prob(
    x: int, n: int, nmax: int, p0: float, theta_t: float, prior: PriorLike = (1.0, 1.0)
) -> float:
    """Predictive probability of success at ``nmax`` given ``x`` responses in ``n``.

    Parameters
    ----------
    x : int
        Number of responses so far, ``0 <= x <= n``.
    n : int
        Number of patients evaluated so far, ``0 <= n <= nmax``.
    nmax : int
        Maximum sample size (the final analysis), ``>= 1``.
    p0 : float
        Reference response rate, in (0, 1).
    theta_t : float
        Success threshold at ``nmax``: success if ``P(p > p0 | data) > theta_t``;
        in [0, 1].
    prior : ~bayesblina.design.mixture.PriorLike, default (1, 1)
        Prior of ``p``: ``(a, b)``, a list of ``(weight, a, b)`` or a beta mixture (see
        :func:`~bayesblina.design.mixture.as_beta_mixture`).

    Returns
    -------
    float
        ``PP = sum_{y=0}^{nmax-n} P(Y = y | x) 1[P(p > p0 | x + y, nmax) > theta_t]``
        with ``Y`` beta(-mixture)-binomial (:data:`scipy.stats.betabinom`).

    Raises
    ------
    bayesblina.errors.SpecError
        If an argument is invalid.

    References
    ----------
    .. [1] Lee JJ, Liu DD. A predictive probability design for phase II cancer
       clinical trials. Clinical Trials 2008;5(2):93-106 (the example: 16
       responses in 23 patients, nmax 40, Beta(0.6, 0.4), p0 = 0.6,
       theta_T = 0.9 give PP = 0.5656).

    Examples
    --------
    >>> round(predictive_prob(16, 23, 40, 0.6, 0.9, prior=(0.6, 0.4)), 4)
    0.5656
    """
    nmax_ = check_int("nmax", nmax, 1, "nmax >= 1")
    x_, n_ = _check_counts(x, n, nmax=nmax_)
    p0_ = check_prob("p0", p0)
    theta_t_ = check_prob("theta_t", theta_t, closed=True)
    mix = as_beta_mixture(prior)
    pmf = _predictive_pmf(mix, nmax_, np.array([n_]))[0, x_]  # over y = 0..nmax
    s = np.minimum(x_ + np.arange(nmax_ + 1), nmax_)
    success = _post_gt(mix, np.arange(nmax_ + 1), np.array(nmax_), p0_) > theta_t_
    return float(np.sum(pmf * success[s]))


# --------------------------------------------------------------------------------------
# Designs
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitoringDesign:
    """A single-arm design monitored by posterior or predictive probability.

    Attributes
    ----------
    nmax : int
        Maximum sample size, ``>= 1``; the final analysis.
    p0 : float
        Response rate of no interest (``H0: p <= p0``), in (0, 1).
    theta_t : float
        Success at ``nmax`` if ``P(p > p0 | x, nmax) > theta_t``; in [0, 1].
    theta_l : float
        Futility: stop at an interim look if the statistic is ``< theta_l``
        (``0``: never); in [0, 1].
    theta_u : float, default 1.0
        Efficacy: stop at an interim look (declaring success) if the statistic is
        ``> theta_u`` (``1``: never); in [0, 1], ``> theta_l``.
    looks : tuple of int or None, default None
        Interim looks (numbers of patients evaluated), strictly increasing, each
        in ``1..nmax``; a look at ``nmax`` is the final analysis and is dropped.
        ``None``: a look after every patient, ``1..nmax - 1`` (pass
        ``range(n_min, nmax)`` to start later).
    prior : ~bayesblina.design.mixture.PriorLike, default (1, 1)
        Prior of ``p``: a beta mixture, ``(a, b)`` or a list of ``(weight, a, b)``; stored as a
        :class:`~bayesblina.design.mixture.BetaMixture`.
    rule : {"predictive", "posterior"}, default "predictive"
        The statistic compared with ``theta_l`` and ``theta_u`` at the looks:
        the predictive probability of success at ``nmax`` (Lee & Liu 2008) or
        the posterior probability ``P(p > p0 | x, n)``.

    Raises
    ------
    bayesblina.errors.SpecError
        If a field is invalid (the message names it, its value and what is
        allowed).

    References
    ----------
    .. [1] Lee JJ, Liu DD. A predictive probability design for phase II cancer
       clinical trials. Clinical Trials 2008;5(2):93-106.

    Examples
    --------
    >>> d = MonitoringDesign(nmax=40, p0=0.2, theta_t=0.8, theta_l=0.1, looks=(10, 20, 30))
    >>> d.looks, d.prior.a.tolist()
    ((10, 20, 30), [1.0])
    """

    nmax: int
    p0: float
    theta_t: float
    theta_l: float
    theta_u: float = 1.0
    looks: tuple[int, ...] | None = None
    prior: PriorLike = (1.0, 1.0)
    rule: Rule = "predictive"

    def __post_init__(self) -> None:
        nmax = check_int("nmax", self.nmax, 1, "nmax >= 1")
        p0 = check_prob("p0", self.p0)
        theta_t = check_prob("theta_t", self.theta_t, closed=True)
        theta_l = check_prob("theta_l", self.theta_l, closed=True)
        theta_u = check_prob("theta_u", self.theta_u, closed=True)
        _check_thresholds(theta_l, theta_u)
        looks = _check_looks(self.looks, nmax)
        object.__setattr__(self, "nmax", nmax)
        object.__setattr__(self, "p0", p0)
        object.__setattr__(self, "theta_t", theta_t)
        object.__setattr__(self, "theta_l", theta_l)
        object.__setattr__(self, "theta_u", theta_u)
        object.__setattr__(self, "looks", looks)
        object.__setattr__(self, "prior", as_beta_mixture(self.prior))
        object.__setattr__(self, "rule", _check_rule(self.rule))


def _check_looks(looks: Iterable[int] | None, nmax: int) -> tuple[int, ...]:
    """Strictly increasing looks in ``1..nmax`` (one at ``nmax`` dropped)."""
    if looks is None:
        return tuple(range(1, nmax))
    if isinstance(looks, str) or not isinstance(looks, Iterable):
        raise SpecError(f"looks = {looks!r} is invalid: give increasing integers in "
                        f"1..nmax = {nmax}")
    out = []
    for v in looks:
        out.append(check_int("looks", v, 1, f"integers 1 <= n <= nmax = {nmax}"))
    for prev, cur in itertools.pairwise(out):
        if cur <= prev:
            raise SpecError(f"looks = {tuple(out)!r} is invalid: the looks must be strictly "
                            f"increasing ({cur} follows {prev})")
    if out and out[-1] > nmax:
        raise SpecError(f"looks = {tuple(out)!r} is invalid: look {out[-1]} is beyond "
                        f"nmax = {nmax} (allowed: 1 <= n <= nmax)")
    return tuple(v for v in out if v < nmax)


def _statistics(
    mix: BetaMixture, nmax: int, looks: np.ndarray, p0: float, theta_t: np.ndarray, rule: Rule
) -> tuple[np.ndarray, np.ndarray]:
    """The look statistics and the final success indicator, for thresholds ``theta_t``.

    Returns ``stat`` of shape ``(T or 1, L, nmax + 1)`` (NaN where ``x > n``) and
    ``success`` of shape ``(T, nmax + 1)``: ``P(p > p0 | s, nmax) > theta_t``.
    """
    s = np.arange(nmax + 1)
    post_final = _post_gt(mix, s, np.array(nmax), p0)
    success = post_final[None, :] > theta_t[:, None]  # (T, nmax + 1)
    x = np.arange(nmax + 1)[None, :]
    n = looks[:, None]
    valid = x <= n
    if len(looks) == 0:
        return np.zeros((1, 0, nmax + 1)), success
    if rule == "posterior":
        stat = np.where(valid, _post_gt(mix, np.minimum(x, n), n, p0), np.nan)[None]
        return stat, success
    pmf = _predictive_pmf(mix, nmax, looks)  # (L, x, y)
    total = np.minimum(x.reshape(-1, 1) + np.arange(nmax + 1)[None, :], nmax)  # (x, y)
    stat = np.einsum("lxy,txy->tlx", pmf, success[:, total].astype(float))
    return np.where(valid[None], stat, np.nan), success


def _decisions(
    stat: np.ndarray, theta_l: np.ndarray, theta_u: float
) -> tuple[np.ndarray, np.ndarray]:
    """Futility ``(T, G, L, X)`` and efficacy ``(T, 1, L, X)`` stop masks."""
    with np.errstate(invalid="ignore"):
        fut = stat[:, None] < theta_l.reshape(1, -1, 1, 1)
        if theta_u >= 1.0:  # no efficacy stop (a sum of pmfs may round above 1)
            eff = np.zeros_like(stat[:, None], dtype=bool)
        else:
            eff = stat[:, None] > theta_u
    return fut, eff


def _exact_dp(
    rates: np.ndarray,
    nmax: int,
    looks: Sequence[int],
    fut: np.ndarray,
    eff: np.ndarray,
    success: np.ndarray,
) -> dict[str, np.ndarray]:
    """Exact stopping and success probabilities by dynamic programming over ``x``.

    ``fut`` and ``eff`` have shape ``(*B, L, X)``, ``success`` ``(*B, X)`` with
    ``X = nmax + 1`` and batch dimensions ``B`` broadcast together; ``rates`` has
    shape ``(R,)``. The state is ``P(x responses in n patients, still running)``,
    of shape ``(R, *B, X)``; each patient shifts it by a Bernoulli(``p``) step and
    each look removes the mass that stops.
    """
    batch = np.broadcast_shapes(fut.shape[:-2], eff.shape[:-2], success.shape[:-1])
    pr = rates.reshape((-1,) + (1,) * (len(batch) + 1))
    state = np.zeros((len(rates), *batch, nmax + 1))
    state[..., 0] = 1.0
    n_looks = len(looks)
    stop_f = np.zeros((len(rates), *batch, n_looks))
    stop_e = np.zeros((len(rates), *batch, n_looks))
    index = {n: k for k, n in enumerate(looks)}
    for i in range(1, nmax + 1):
        new = state * (1.0 - pr)
        new[..., 1 : i + 1] += state[..., :i] * pr
        state = new
        k = index.get(i)
        if k is not None:
            f, e = fut[..., k, :], eff[..., k, :]
            stop_f[..., k] = np.sum(state * f, axis=-1)
            stop_e[..., k] = np.sum(state * e, axis=-1)
            state = np.where(f | e, 0.0, state)
    final_success = np.sum(state * success, axis=-1)
    final = np.sum(state, axis=-1)
    n_at = np.asarray(looks, dtype=float)
    en = np.sum((stop_f + stop_e) * n_at, axis=-1) + final * nmax
    return {
        "stop_futility": stop_f,
        "stop_efficacy": stop_e,
        "final_success": final_success,
        "final": final,
        "en": en,
    }


def _design_tables(design: MonitoringDesign) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Futility ``(L, X)``, efficacy ``(L, X)`` and final success ``(X,)`` masks."""
    mix = as_beta_mixture(design.prior)  # a BetaMixture already (__post_init__)
    looks = np.array(design.looks, dtype=int)
    stat, success = _statistics(mix, design.nmax, looks, design.p0,
                                np.array([design.theta_t]), design.rule)
    fut, eff = _decisions(stat, np.array([design.theta_l]), design.theta_u)
    return fut[0, 0], eff[0, 0], success[0]


def monitoring_boundaries(design: MonitoringDesign) -> pd.DataFrame:
    """Decision boundaries of a monitored design as numbers of responses.

    Parameters
    ----------
    design : MonitoringDesign
        The design.

    Returns
    -------
    pandas.DataFrame
        One row per interim look and one for the final analysis, with columns
        ``n`` (patients evaluated), ``analysis`` (``"interim"`` or ``"final"``),
        ``futility`` (the largest ``x`` that stops for futility at an interim
        look, or fails at the final analysis; ``<NA>`` if none) and ``efficacy``
        (the smallest ``x`` that stops for efficacy at an interim look, or
        succeeds at the final analysis; ``<NA>`` if none), as nullable integers.

    Raises
    ------
    bayesblina.errors.SpecError
        If ``design`` is not a :class:`MonitoringDesign`.

    Notes
    -----
    The posterior of ``p`` is stochastically increasing in ``x`` (the binomial
    likelihood has a monotone likelihood ratio, for a beta mixture too), so the
    statistics increase with ``x`` and every stopping set is ``{x <= futility}``
    or ``{x >= efficacy}``. The exact characteristics (:func:`monitoring_oc`)
    use the decision for each ``x`` itself, not these numbers.

    References
    ----------
    .. [1] Lee JJ, Liu DD. A predictive probability design for phase II cancer
       clinical trials. Clinical Trials 2008;5(2):93-106.

    Examples
    --------
    >>> d = MonitoringDesign(nmax=40, p0=0.2, theta_t=0.8, theta_l=0.1, theta_u=0.9,
    ...                      looks=(10, 20, 30))
    >>> monitoring_boundaries(d)[["n", "futility", "efficacy"]].values.tolist()
    [[10, 0, 4], [20, 2, 7], [30, 5, 9], [40, 9, 10]]
    """
    if not isinstance(design, MonitoringDesign):
        raise SpecError(f"design = {design!r} is invalid: give a MonitoringDesign")
    fut, eff, success = _design_tables(design)
    rows = []
    for k, n in enumerate(design.looks):
        xs_f = np.flatnonzero(fut[k, : n + 1])
        xs_e = np.flatnonzero(eff[k, : n + 1])
        rows.append((n, "interim", int(xs_f.max()) if len(xs_f) else None,
                     int(xs_e.min()) if len(xs_e) else None))
    xs_s = np.flatnonzero(success)
    xs_fail = np.flatnonzero(~success)
    rows.append((design.nmax, "final", int(xs_fail.max()) if len(xs_fail) else None,
                 int(xs_s.min()) if len(xs_s) else None))
    tab = pd.DataFrame(rows, columns=["n", "analysis", "futility", "efficacy"])
    for col in ("futility", "efficacy"):
        tab[col] = tab[col].astype("Int64")
    return tab


# --------------------------------------------------------------------------------------
# Operating characteristics
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitoringOC:
    """Exact operating characteristics of a monitored design over true response rates.

    Attributes
    ----------
    design : MonitoringDesign
        The design.
    table : pandas.DataFrame
        One row per true rate ``p`` (in the order given) with columns ``p``,
        ``success`` (P(declare success), early or at ``nmax``: the type I error
        at ``p0``, the power at ``p1``), ``early_futility``, ``early_efficacy``
        (P(stop at an interim look for futility / efficacy)), ``pet`` (their
        sum), ``final_success`` (P(success at ``nmax``)) and ``en`` (expected
        sample size).
    by_look : pandas.DataFrame
        One row per true rate and interim look, with columns ``p``, ``n``,
        ``futility`` and ``efficacy``: the probabilities of stopping at that look.
    boundaries : pandas.DataFrame
        :func:`monitoring_boundaries` of the design.
    """

    design: MonitoringDesign
    table: pd.DataFrame
    by_look: pd.DataFrame
    boundaries: pd.DataFrame


def _check_rates(rates: Iterable[float]) -> np.ndarray:
    if isinstance(rates, numbers.Real):
        rates = [rates]  # type: ignore[list-item]
    grid = list(rates)
    if not grid:
        raise SpecError("rates is empty: give at least one true response rate in [0, 1]")
    return np.array([check_prob("rate p", v, closed=True) for v in grid])


def monitoring_oc(design: MonitoringDesign, rates: Iterable[float]) -> MonitoringOC:
    """Exact operating characteristics of a monitored design, by dynamic programming.

    Parameters
    ----------
    design : MonitoringDesign
        The design.
    rates : iterable of float
        True response rates, each in [0, 1].

    Returns
    -------
    MonitoringOC
        Success probability, early stopping (futility, efficacy), expected
        sample size and the stopping probabilities by look, at each rate.

    Raises
    ------
    bayesblina.errors.SpecError
        If ``design`` is not a :class:`MonitoringDesign` or ``rates`` is empty or
        has a value outside [0, 1].

    Notes
    -----
    The decision at every look is computed for every possible ``x`` (predictive
    probabilities from one beta-binomial table per look); the distribution of
    ``x`` among the trials still running is then carried patient by patient,
    ``P_n(x) = P_{n-1}(x) (1 - p) + P_{n-1}(x - 1) p``, and at a look the mass
    of the ``x`` that stop is booked and removed. All rates are carried at once
    (arrays of shape ``(rates, x)``). No simulation: the numbers are exact up
    to floating-point rounding.

    References
    ----------
    .. [1] Lee JJ, Liu DD. A predictive probability design for phase II cancer
       clinical trials. Clinical Trials 2008;5(2):93-106.

    Examples
    --------
    >>> d = MonitoringDesign(nmax=40, p0=0.2, theta_t=0.9, theta_l=0.0)
    >>> oc = monitoring_oc(d, [0.2, 0.4])
    >>> [round(v, 6) for v in oc.table["en"]]
    [40.0, 40.0]
    """
    if not isinstance(design, MonitoringDesign):
        raise SpecError(f"design = {design!r} is invalid: give a MonitoringDesign")
    p = _check_rates(rates)
    fut, eff, success = _design_tables(design)
    res = _exact_dp(p, design.nmax, design.looks, fut, eff, success)
    early_f = res["stop_futility"].sum(axis=-1)
    early_e = res["stop_efficacy"].sum(axis=-1)
    table = pd.DataFrame({
        "p": p,
        "success": early_e + res["final_success"],
        "early_futility": early_f,
        "early_efficacy": early_e,
        "pet": early_f + early_e,
        "final_success": res["final_success"],
        "en": res["en"],
    })
    n_looks = len(design.looks)
    by_look = pd.DataFrame({
        "p": np.repeat(p, n_looks),
        "n": np.tile(np.array(design.looks, dtype=int), len(p)),
        "futility": res["stop_futility"].reshape(-1),
        "efficacy": res["stop_efficacy"].reshape(-1),
    })
    return MonitoringOC(design=design, table=table, by_look=by_look,
                        boundaries=monitoring_boundaries(design))


# --------------------------------------------------------------------------------------
# Design search
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitoringSearch:
    """The design a search chose, its characteristics and every feasible design found.

    Attributes
    ----------
    design : MonitoringDesign
        The chosen design (see :func:`monitoring_search` for the criterion).
    oc : MonitoringOC
        Its exact characteristics at ``p0`` and ``p1``.
    feasible : pandas.DataFrame
        Every feasible ``(nmax, theta_t, theta_l)`` searched, best first, with
        columns ``nmax``, ``theta_t``, ``theta_l``, ``alpha`` (attained type I
        error), ``power``, ``en0``, ``pet0``, ``en1``, ``pet1`` (expected sample
        size and probability of early stopping at ``p0`` and ``p1``).
    searched : int
        Number of designs evaluated.
    """

    design: MonitoringDesign
    oc: MonitoringOC
    feasible: pd.DataFrame
    searched: int


def _check_grid(name: str, values: Iterable[float] | None, default: tuple[float, ...]
                ) -> np.ndarray:
    if values is None:
        return np.array(default)
    if isinstance(values, numbers.Real):
        values = [values]  # type: ignore[list-item]
    grid = list(values)
    if not grid:
        raise SpecError(f"{name} is empty: give at least one threshold in [0, 1]")
    return np.array([check_prob(name, v, closed=True) for v in grid])


def monitoring_search(
    p0: float,
    p1: float,
    alpha: float,
    power: float,
    *,
    prior: PriorLike = (1.0, 1.0),
    rule: Rule = "predictive",
    nmax_min: int = 1,
    nmax_cap: int = 60,
    first_look: int = 1,
    look_every: int = 1,
    theta_t: Iterable[float] | None = None,
    theta_l: Iterable[float] | None = None,
    theta_u: float = 1.0,
) -> MonitoringSearch:
    """Search ``(nmax, theta_T, theta_L)`` for a monitored design meeting alpha and power.

    For every ``nmax`` in ``nmax_min..nmax_cap`` (interim looks at
    ``first_look, first_look + look_every, ...`` below ``nmax``) and every pair of
    thresholds on the grids, the exact type I error at ``p0`` and power at ``p1``
    are computed; a design is feasible if its type I error is ``<= alpha`` and its
    power ``>= power``. The chosen design has the smallest ``nmax`` (the minimax
    criterion of Lee & Liu 2008); among those, the smallest ``EN(p0)``; remaining
    ties (designs with the same decisions) go to the larger power, then the
    smaller type I error, then the smaller ``theta_t`` and ``theta_l``.

    Parameters
    ----------
    p0 : float
        Response rate of no interest, in (0, 1).
    p1 : float
        Target response rate, ``p0 < p1 < 1``.
    alpha : float
        Maximum type I error, in (0, 1).
    power : float
        Minimum power at ``p1``, in (0, 1).
    prior : ~bayesblina.design.mixture.PriorLike, default (1, 1)
        Prior of ``p``: ``(a, b)``, a list of ``(weight, a, b)`` or a beta mixture.
    rule : {"predictive", "posterior"}, default "predictive"
        The statistic monitored at the looks (see :class:`MonitoringDesign`).
    nmax_min, nmax_cap : int, default 1, 60
        Range of maximum sample sizes searched.
    first_look, look_every : int, default 1, 1
        The interim looks: every ``look_every`` patients from ``first_look``
        (default: after every patient).
    theta_t : iterable of float, optional
        Grid of final success thresholds; default 0.80, 0.81, ..., 0.99.
    theta_l : iterable of float, optional
        Grid of futility thresholds; default 0.001, 0.01, 0.02, ..., 0.20.
    theta_u : float, default 1.0
        Efficacy threshold (``1``: no efficacy stop); above every ``theta_l``.

    Returns
    -------
    MonitoringSearch
        The chosen design, its characteristics and the table of feasible designs.

    Raises
    ------
    bayesblina.errors.SpecError
        If an argument is invalid, or no design on the grids with
        ``nmax <= nmax_cap`` is feasible.

    Notes
    -----
    For each ``nmax`` one beta-binomial table per look serves every ``theta_t``
    (the predictive probability is a sum of that table against the final
    success indicator), and the dynamic programme of :func:`monitoring_oc` is
    run once for ``p0`` and ``p1`` and all threshold pairs together (arrays of
    shape ``(2, theta_t, theta_l, x)``).

    References
    ----------
    .. [1] Lee JJ, Liu DD. A predictive probability design for phase II cancer
       clinical trials. Clinical Trials 2008;5(2):93-106.

    Examples
    --------
    >>> s = monitoring_search(0.2, 0.4, 0.1, 0.8, nmax_min=10, nmax_cap=40,
    ...                       first_look=10, theta_t=[0.9], theta_l=[0.01, 0.05])
    >>> bool(s.design.nmax == s.feasible["nmax"].min())
    True
    """
    p0_ = check_prob("p0", p0)
    p1_ = check_prob("p1", p1)
    if p1_ <= p0_:
        raise SpecError(f"p1 = {p1_!r} is invalid: the target response rate must exceed "
                        f"p0 = {p0_!r}")
    alpha_ = check_prob("alpha", alpha)
    power_ = check_prob("power", power)
    mix = as_beta_mixture(prior)
    rule_ = _check_rule(rule)
    lo = check_int("nmax_min", nmax_min, 1, "nmax_min >= 1")
    hi = check_int("nmax_cap", nmax_cap, lo, f"nmax_cap >= nmax_min = {lo}")
    first = check_int("first_look", first_look, 1, "first_look >= 1")
    every = check_int("look_every", look_every, 1, "look_every >= 1")
    th_t = _check_grid("theta_t", theta_t, DEFAULT_THETA_T)
    th_l = _check_grid("theta_l", theta_l, DEFAULT_THETA_L)
    th_u = check_prob("theta_u", theta_u, closed=True)
    _check_thresholds(float(th_l.max()), th_u)
    rates = np.array([p0_, p1_])

    def rows(nmax: int) -> pd.DataFrame:
        looks = np.arange(first, nmax, every, dtype=int)
        stat, success = _statistics(mix, nmax, looks, p0_, th_t, rule_)
        fut, eff = _decisions(stat, th_l, th_u)
        res = _exact_dp(rates, nmax, looks.tolist(), fut, eff, success[:, None, :])
        pet = (res["stop_futility"] + res["stop_efficacy"]).sum(axis=-1)  # (2, T, G)
        reject = res["stop_efficacy"].sum(axis=-1) + res["final_success"]
        shape = reject.shape[1:]
        return pd.DataFrame({
            "nmax": nmax,
            "theta_t": np.broadcast_to(th_t[:, None], shape).ravel(),
            "theta_l": np.broadcast_to(th_l[None, :], shape).ravel(),
            "alpha": reject[0].ravel(),
            "power": reject[1].ravel(),
            "en0": res["en"][0].ravel(),
            "pet0": pet[0].ravel(),
            "en1": res["en"][1].ravel(),
            "pet1": pet[1].ravel(),
        })

    def meets(frame: pd.DataFrame) -> pd.Series:
        return (frame["alpha"] <= alpha_ + _FEAS_TOL) & (frame["power"] >= power_ - _FEAS_TOL)

    frames = [rows(nmax) for nmax in range(lo, hi + 1)]
    allrows = pd.concat(frames, ignore_index=True)
    feasible = allrows[meets(allrows)].copy()
    if feasible.empty:
        # say what would work: the smallest larger nmax with a feasible design (same grids
        # and looks), searched up to SMALLEST_N_SEARCH_CAP
        beyond = next((n for n in range(hi + 1, max(hi, SMALLEST_N_SEARCH_CAP) + 1)
                       if meets(rows(n)).any()), None)
        hint = (f"the smallest nmax with a feasible design (same grids and looks) is "
                f"{beyond}: use nmax_cap >= {beyond}" if beyond is not None else
                f"none up to nmax = {max(hi, SMALLEST_N_SEARCH_CAP)} either: widen the "
                "grids, or relax alpha or power")
        raise SpecError(
            f"no feasible design with nmax <= nmax_cap = {hi}: none of the "
            f"{len(allrows)} designs searched (nmax {lo}..{hi}, {len(th_t)} theta_t, "
            f"{len(th_l)} theta_l) has type I error <= alpha = {alpha_} at p0 = {p0_} "
            f"and power >= {power_} at p1 = {p1_}; {hint}"
        )
    feasible["_neg_power"] = -feasible["power"]
    feasible = feasible.sort_values(
        ["nmax", "en0", "_neg_power", "alpha", "theta_t", "theta_l"], kind="mergesort"
    ).drop(columns="_neg_power").reset_index(drop=True)
    best = feasible.iloc[0]
    nmax_best = int(best["nmax"])
    design = MonitoringDesign(
        nmax=nmax_best, p0=p0_, theta_t=float(best["theta_t"]),
        theta_l=float(best["theta_l"]), theta_u=th_u,
        looks=tuple(range(first, nmax_best, every)), prior=mix, rule=rule_,
    )
    return MonitoringSearch(design=design, oc=monitoring_oc(design, [p0_, p1_]),
                            feasible=feasible, searched=len(allrows))
