"""Exact grid posterior of the one-parameter CRM, batched over data sets.

``beta ~ normal(prior_mean, prior_sd**2)`` on a regular 1-D grid of cell midpoints; the
method is described in :mod:`~bayesblina.analyses.dose_toxicity.exact`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from scipy.special import expit, log_expit, logit

from bayesblina.analyses.dose_toxicity.grid import (
    LOG_FLOOR,
    GridPosterior,
    below_coefficients,
    check_counts,
    check_cuts,
    check_grid_args,
    check_positive,
    check_probability,
    interval_probs_from_below,
    log1mexp,
    midpoints,
    normalised_log_weights,
)
from bayesblina.analyses.dose_toxicity.regimens import as_regimens, check_regimens, combine_periods
from bayesblina.errors import SpecError

#: CRM working models accepted by :func:`crm_grid_posterior` (``"power"`` is an alias
#: of ``"empiric"``).
CRM_MODELS = ("empiric", "logistic")
#: Default CRM grid: nodes over ``beta``.
CRM_GRID_SIZE = 512
#: Default CRM half-width of the grid in prior SDs.
CRM_HALF_WIDTH = 8.0


def _crm_log_p(beta, skeleton, model, a0) -> tuple[np.ndarray, np.ndarray]:
    """``log p_k`` and ``log(1 - p_k)`` at ``beta`` (any shape) x the K levels."""
    slope = np.exp(beta)[..., None]
    if model == "empiric":
        lp = slope * np.log(skeleton)
        l1m = log1mexp(lp)
    else:
        eta = a0 + slope * (logit(skeleton) - a0)
        lp, l1m = log_expit(eta), log_expit(-eta)
    return np.maximum(lp, LOG_FLOOR), np.maximum(l1m, LOG_FLOOR)


class CRMGridPosterior(GridPosterior):
    """Grid posterior of a one-parameter CRM for ``B`` data sets.

    Built by :func:`crm_grid_posterior`. Every method returns arrays whose leading
    axis is the data set (``B``); ``K`` is the number of skeleton levels.

    Attributes
    ----------
    beta : ndarray, shape (G,)
        Grid nodes.
    log_weights : ndarray, shape (B, G)
        Normalised log posterior weights.
    skeleton : ndarray, shape (K,)
    model : {"empiric", "logistic"}
    prior_mean : float
        Mean of the normal prior on ``beta``.
    prior_sd : float
        Its SD.
    a0 : float
        Intercept of the logistic model (unused by the empiric model).
    grid_size : int
    half_width : float
    """

    def __init__(
        self,
        beta: np.ndarray,
        log_weights: np.ndarray,
        *,
        skeleton: np.ndarray,
        model: str,
        prior_mean: float,
        prior_sd: float,
        a0: float,
        grid_size: int,
        half_width: float,
        cell_width: float,
    ):
        self.beta = beta
        super().__init__(log_weights)
        self.skeleton = skeleton
        self.model = model
        self.prior_mean = prior_mean
        self.prior_sd = prior_sd
        self.a0 = a0
        self.grid_size = grid_size
        self.half_width = half_width
        self._cell = cell_width

    def __repr__(self) -> str:
        return (
            f"CRMGridPosterior(B={self.batch_size}, model={self.model!r}, "
            f"K={self.skeleton.size}, grid={self.grid_size})"
        )

    def _log_p(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``log p_k`` and ``log(1 - p_k)`` at ``beta`` (any shape) x levels."""
        return _crm_log_p(np.asarray(beta, dtype=float), self.skeleton, self.model, self.a0)

    def _logit_levels(self, levels, weights) -> np.ndarray:
        """Logit P(DLT) at the nodes, ``(G, K)`` for the levels or ``(G, m)`` for regimens."""
        lp, l1m = self._log_p(self.beta)
        if levels is None:
            return lp - l1m
        lv, w = check_regimens(levels, weights, levels=self.skeleton.size, name="levels")
        lp_reg, l1m_reg = combine_periods(lp[:, lv], l1m[:, lv], w)
        return lp_reg - l1m_reg

    def beta_mean(self) -> np.ndarray:
        """Posterior mean of ``beta``, shape ``(B,)``."""
        return self.weights @ self.beta

    def p_mean(self) -> np.ndarray:
        """Posterior means of ``p_k`` (integrated over ``beta``), shape ``(B, K)``."""
        return self.weights @ expit(self._logit_levels(None, None))

    def p_regimen_mean(self, levels, weights) -> np.ndarray:
        """Posterior mean P(DLT) of regimens (levels and weights ``(m, K')``), ``(B, m)``."""
        return self.weights @ expit(self._logit_levels(levels, weights))

    def p_plugin(self) -> np.ndarray:
        """``p_k`` evaluated at the posterior mean of ``beta``, shape ``(B, K)``.

        The estimate the CRM of O'Quigley et al. (1990) and Cheung (2011) doses by.
        """
        lp, _ = self._log_p(self.beta_mean())
        return np.exp(lp)

    def recommend(self, target: float, method: str = "plugin") -> np.ndarray:
        """0-based level whose estimated P(DLT) is closest to ``target``, shape ``(B,)``.

        Parameters
        ----------
        target : float
            Target DLT probability in (0, 1).
        method : {"plugin", "mean"}, default "plugin"
            ``"plugin"``: the estimate at the posterior mean of ``beta``
            (:meth:`p_plugin`; Cheung's 2011 convention). ``"mean"``: the posterior mean
            of ``p_k`` (:meth:`p_mean`), which is pulled towards 0.5 relative to the
            plug-in and can recommend a different level. Ties go to the lower level.

        Returns
        -------
        ndarray of int, shape (B,)
        """
        target = check_probability(target, "target")
        if method == "plugin":
            p = self.p_plugin()
        elif method == "mean":
            p = self.p_mean()
        else:
            raise SpecError(f"method must be 'plugin' or 'mean'; got {method!r}")
        return np.argmin(np.abs(p - target), axis=1)

    def _prob_below(self, thresholds: np.ndarray) -> np.ndarray:
        """``P(p_k <= t)`` for each threshold, shape ``(B, K, len(thresholds))``.

        ``p_k`` is monotone in ``beta`` and the ``beta*`` at which ``p_k = t`` is
        explicit, so the fraction of each cell on which ``p_k <= t`` is exact.
        """
        sk = self.skeleton
        top = (self.beta + 0.5 * self._cell)[:, None]  # upper cell edges, (G, 1)
        coefs = []
        for t in thresholds:
            if self.model == "empiric":  # decreasing in beta: p <= t iff beta >= beta*
                direction = -np.ones(sk.size)
                crossing = np.ones(sk.size, dtype=bool)
                star = np.log(np.log(t) / np.log(sk))
                below_all = np.zeros(sk.size, dtype=bool)  # unused: always a crossing
            else:  # logit p = a0 + exp(beta) x, decreasing for x < 0, increasing for x > 0
                x = logit(sk) - self.a0
                direction = np.sign(x)
                num = logit(t) - self.a0
                crossing = num * x > 0
                star = np.log(np.where(crossing, num / np.where(x == 0, 1.0, x), 1.0))
                # no crossing: p_k stays on one side of t (x < 0: p_k < invlogit(a0) <= t)
                below_all = np.where(x == 0, num >= 0, x < 0)
            up = np.clip((top - star) / self._cell, 0.0, 1.0)  # part of the cell >= beta*
            f = np.where(direction < 0, up, 1.0 - up)
            f = np.where(crossing, f, below_all.astype(float))
            coefs.append(below_coefficients(f[None], direction))
        coef = np.stack(coefs, axis=-1)
        return self._below(coef)

    def prob_exceeds(self, t: float) -> np.ndarray:
        """Posterior ``P(p_k > t)`` per level, shape ``(B, K)``.

        Parameters
        ----------
        t : float
            Threshold in (0, 1).

        Returns
        -------
        ndarray, shape (B, K)
        """
        t = check_probability(t, "t")
        return 1.0 - self._prob_below(np.array([t]))[..., 0]

    def interval_probs(self, cuts=(0.16, 0.33)) -> np.ndarray:
        """Posterior probabilities of under-dosing, target and over-dosing per level.

        Parameters
        ----------
        cuts : (float, float), default (0.16, 0.33)
            ``P(p_k < c1)``, ``P(c1 <= p_k <= c2)``, ``P(p_k > c2)``.

        Returns
        -------
        ndarray, shape (B, K, 3)
            Sums to 1 over the last axis.
        """
        cuts = check_cuts(cuts)
        below = self._prob_below(cuts)
        return interval_probs_from_below(below)

    def edge_mass(self) -> np.ndarray:
        """Posterior mass in the two outermost grid cells, shape ``(B,)`` (should be ~0)."""
        return self.weights[:, 0] + self.weights[:, -1]


def crm_grid_posterior(
    levels,
    weights,
    n,
    y,
    *,
    skeleton: Sequence[float],
    model: str = "empiric",
    prior_sd: float,
    prior_mean: float = 0.0,
    a0: float = 3.0,
    grid_size: int = CRM_GRID_SIZE,
    half_width: float = CRM_HALF_WIDTH,
) -> CRMGridPosterior:
    """Exact grid posterior of a one-parameter CRM for a batch of data sets.

    Parameters
    ----------
    levels : array_like of int, shape (n_obs, K') or (n_obs,)
        0-based skeleton levels of each cohort's regimen periods (1-D: one level per
        cohort).
    weights : array_like or None
        Per-period weights (:func:`regimen_weights` with ``levels=True``); None for
        constant levels.
    n, y : array_like, shape (B, n_obs) or (n_obs,)
        Patients and DLTs per cohort, per data set.
    skeleton : sequence of float
        Prior guesses ``s_1 < ... < s_K`` in (0, 1).
    model : {"empiric", "logistic"}, default "empiric"
        ``p_k = s_k ** exp(beta)`` or ``invlogit(a0 + exp(beta) (logit(s_k) - a0))``;
        ``"power"`` is accepted for ``"empiric"``.
    prior_sd : float
        SD of the normal(prior_mean, prior_sd**2) prior on ``beta``.
    prior_mean : float, default 0
        Mean of that prior. The grid is centred on it: ``beta = prior_mean + prior_sd * z``
        for cell midpoints ``z`` on ``[-half_width, half_width]``.
    a0 : float, default 3
        Intercept of the logistic model.
    grid_size : int, default 512
        Number of nodes over ``beta``.
    half_width : float, default 8
        Half-width of the grid in prior SDs.

    Returns
    -------
    CRMGridPosterior

    Raises
    ------
    SpecError
        On any invalid argument.

    Examples
    --------
    Cheung (2011), p. 21:

    >>> post = crm_grid_posterior(
    ...     [2, 4, 4, 2, 3], None, [1, 1, 1, 1, 1], [0, 0, 1, 0, 0],
    ...     skeleton=[0.05, 0.12, 0.25, 0.40, 0.55], model="logistic",
    ...     prior_sd=1.34 ** 0.5)
    >>> post.beta_mean().round(4), post.recommend(0.25)
    (array([0.2795]), array([3]))
    """
    if model == "power":
        model = "empiric"
    if model not in CRM_MODELS:
        raise SpecError(f"model must be one of {[*CRM_MODELS, 'power']}; got {model!r}")
    sk = np.atleast_1d(np.asarray(skeleton, dtype=float))
    if sk.ndim != 1 or sk.size == 0:
        raise SpecError(f"skeleton must be a non-empty 1-D sequence; got {skeleton!r}")
    if not ((sk > 0) & (sk < 1)).all():
        raise SpecError(f"skeleton values must lie strictly between 0 and 1; got {sk.tolist()}")
    if (np.diff(sk) <= 0).any():
        raise SpecError(f"skeleton must be strictly increasing; got {sk.tolist()}")
    prior_sd = check_positive(prior_sd, "prior_sd")
    if (
        isinstance(prior_mean, bool)
        or not isinstance(prior_mean, numbers.Real)
        or not math.isfinite(prior_mean)
    ):
        raise SpecError(f"prior_mean must be a finite number; got {prior_mean!r}")
    if isinstance(a0, bool) or not isinstance(a0, numbers.Real) or not math.isfinite(a0):
        raise SpecError(f"a0 must be a finite number; got {a0!r}")
    grid_size, half_width = check_grid_args(grid_size, half_width, minimum=16)
    lv, w = as_regimens(levels, weights, levels=sk.size, name="levels")
    n, y = check_counts(n, y, lv.shape[0])

    z, h = midpoints(grid_size, half_width)
    beta = float(prior_mean) + prior_sd * z
    lp, l1m = _crm_log_p(beta, sk, model, float(a0))
    logp, log1m = combine_periods(lp[:, lv], l1m[:, lv], w)
    log_weights = normalised_log_weights(-0.5 * z * z, logp, log1m, n, y)
    return CRMGridPosterior(
        beta,
        log_weights,
        skeleton=sk,
        model=model,
        prior_mean=float(prior_mean),
        prior_sd=prior_sd,
        a0=float(a0),
        grid_size=grid_size,
        half_width=half_width,
        cell_width=prior_sd * h,
    )
