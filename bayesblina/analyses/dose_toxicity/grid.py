"""What the exact grid engines share: argument checks, node weights, cut-cell quadrature.

The BLRM (:mod:`~bayesblina.analyses.dose_toxicity.blrm_grid`) and the CRM
(:mod:`~bayesblina.analyses.dose_toxicity.crm_grid`) grid posteriors are built from these
pieces; :mod:`~bayesblina.analyses.dose_toxicity.exact` describes the method.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.special import logsumexp

from bayesblina.errors import SpecError

#: A log-probability is never below this (keeps ``0 * log p`` finite in the matmuls).
LOG_FLOOR = -1e300
#: Target number of float64 elements of a ``(chunk, G)`` temporary.
CHUNK_ELEMENTS = 1 << 22


def chunk_size(n_nodes: int) -> int:
    """Data sets per chunk so that a ``(chunk, n_nodes)`` temporary has ~``CHUNK_ELEMENTS``."""
    return max(1, CHUNK_ELEMENTS // n_nodes)


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------


def check_positive(value, name: str) -> float:
    """A positive finite number, or ``SpecError`` naming ``name`` and the value."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpecError(f"{name} must be a positive number; got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise SpecError(f"{name} must be a positive finite number; got {value!r}")
    return value


def check_probability(value, name: str) -> float:
    """A number strictly between 0 and 1, or ``SpecError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpecError(f"{name} must be a number in (0, 1); got {value!r}")
    value = float(value)
    if not 0.0 < value < 1.0:
        raise SpecError(f"{name} must lie strictly between 0 and 1; got {value!r}")
    return value


def check_probabilities(values, name: str) -> np.ndarray:
    """A non-empty 1-D array of numbers in (0, 1), or ``SpecError`` naming ``name``."""
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise SpecError(f"{name} must be a number or a 1-D sequence of numbers; got {values!r}")
    bad = ~((arr > 0) & (arr < 1))
    if bad.any():
        raise SpecError(
            f"{name} must lie strictly between 0 and 1; got {arr[bad][0]!r} in {arr.tolist()}"
        )
    return arr


def check_grid_args(grid_size, half_width, minimum: int) -> tuple[int, float]:
    """``(grid_size, half_width)`` checked: an integer ``>= minimum`` and a width ``>= 3``."""
    if (
        isinstance(grid_size, bool)
        or not isinstance(grid_size, numbers.Integral)
        or grid_size < minimum
    ):
        raise SpecError(f"grid_size must be an integer >= {minimum}; got {grid_size!r}")
    half_width = check_positive(half_width, "half_width")
    if half_width < 3:
        raise SpecError(f"half_width must be >= 3 (prior SDs); got {half_width!r}")
    return int(grid_size), half_width


def midpoints(grid_size: int, half_width: float) -> tuple[np.ndarray, float]:
    """Cell midpoints tiling ``[-half_width, half_width]`` and the cell width."""
    h = 2.0 * half_width / grid_size
    return -half_width + h * (np.arange(grid_size) + 0.5), h


def check_counts(n, y, n_obs: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``n``, ``y`` and return them as float arrays of shape ``(B, n_obs)``."""
    out = []
    for name, value in (("n", n), ("y", y)):
        arr = np.asarray(value, dtype=float)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != n_obs:
            raise SpecError(
                f"{name} must have shape (B, n_obs) or (n_obs,) with n_obs = {n_obs} "
                f"(one count per cohort); got shape {np.shape(value)}"
            )
        if not np.isfinite(arr).all():
            raise SpecError(f"{name} must be finite counts; got a non-finite value")
        if (arr < 0).any():
            raise SpecError(f"{name} must be non-negative counts; got {arr[arr < 0][0]:g}")
        if (arr != np.round(arr)).any():
            bad = arr[arr != np.round(arr)][0]
            raise SpecError(f"{name} must be whole counts; got {bad:g}")
        out.append(arr)
    n_arr, y_arr = out
    if n_arr.shape != y_arr.shape:
        raise SpecError(
            f"n and y must have the same shape; got n {n_arr.shape} and y {y_arr.shape}"
        )
    if (y_arr > n_arr).any():
        b, i = np.argwhere(y_arr > n_arr)[0]
        raise SpecError(
            f"y must not exceed n; data set {b}, cohort {i} has y = {y_arr[b, i]:g} > "
            f"n = {n_arr[b, i]:g}"
        )
    return n_arr, y_arr


def check_doses(d) -> np.ndarray:
    """Constant doses as a non-empty 1-D array of positive numbers."""
    arr = np.atleast_1d(np.asarray(d, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise SpecError(f"d must be a positive dose or a 1-D sequence of doses; got {d!r}")
    bad = ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        raise SpecError(f"d must be positive doses; got {arr[bad][0]!r}")
    return arr


def check_cuts(cuts) -> np.ndarray:
    """Interval cuts: two increasing numbers in (0, 1)."""
    arr = np.asarray(cuts, dtype=float)
    if arr.shape != (2,) or not (0 < arr[0] < arr[1] < 1):
        raise SpecError(f"cuts must be two increasing numbers in (0, 1); got {cuts!r}")
    return arr


def log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x < 0``, accurate at both ends (Maechler 2012)."""
    with np.errstate(divide="ignore"):
        return np.where(x < -math.log(2.0), np.log1p(-np.exp(x)), np.log(-np.expm1(x)))


def normalised_log_weights(
    log_prior: np.ndarray, logp: np.ndarray, log1m: np.ndarray, n: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """``log(prior * likelihood)`` normalised over the grid, shape ``(B, G)``.

    ``logp``, ``log1m``: ``(G, n_obs)``; ``n``, ``y``: ``(B, n_obs)``.
    """
    n_batch, n_nodes = y.shape[0], log_prior.size
    out = np.empty((n_batch, n_nodes))
    chunk = chunk_size(n_nodes)
    for start in range(0, n_batch, chunk):
        stop = min(start + chunk, n_batch)
        ll = y[start:stop] @ logp.T
        ll += (n[start:stop] - y[start:stop]) @ log1m.T
        ll += log_prior
        ll -= logsumexp(ll, axis=1, keepdims=True)
        out[start:stop] = ll
    return out


def cut_terms(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope and curvature terms of the integral of a quadratic over ``[0, f]``.

    A density on a cell with average ``a``, central-difference slope ``b`` and second
    difference ``c`` of the neighbouring cell averages is reconstructed as
    ``a + b (tau - 1/2) + c / 2 ((tau - 1/2)**2 - 1/12)`` (the quadratic with those three
    cell averages); its integral over ``[0, f]`` is ``a f + b g(f) + c q(f)``.
    Returns ``(g(f), q(f))``, both 0 at ``f = 0`` and ``f = 1``.
    """
    g = f * (f - 1.0) / 2.0
    # = (((f - 1/2)**3 + 1/8) / 3 - f / 12) / 2
    q = g * (2.0 * f - 1.0) / 6.0
    return g, q


def below_coefficients(f: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Node coefficients ``a`` with ``P(value <= c) = weights @ a`` (rows of cells).

    ``f``: the fraction of each cell on which the value is ``<= c``, shape
    ``(n_rows, n_cells, m)`` (the cells of a row are consecutive along one grid axis);
    ``direction``: +1 where the value increases along the row (the part below ``c`` is
    at the start of the cell), -1 where it decreases (same shape, or broadcastable).
    The node weights are point values of the posterior density times the cell size;
    they are turned into cell averages (``w + (w[j+1] - 2 w[j] + w[j-1]) / 24``) and
    the cell that ``c`` cuts is integrated under the quadratic through its own and its
    neighbours' averages (:func:`cut_terms`). All of this is linear in the weights,
    and makes the probability fourth-order accurate in the cell width instead of
    second-order (plain midpoint sums) or first-order (counting nodes).
    Returns ``(n_rows * n_cells, m)``.
    """
    g, q = cut_terms(f)
    # a decreasing value has its "below" part at the top of the cell: the slope flips
    g = direction * g
    # coefficients on the cell averages (neighbours outside the row: 0)
    coef = f - 2.0 * q
    coef[:, 1:] += g[:, :-1] / 2.0 + q[:, :-1]
    coef[:, :-1] += -g[:, 1:] / 2.0 + q[:, 1:]
    # averages -> point weights (the row's end values replicated outside the row)
    padded = np.concatenate([coef[:, :1], coef, coef[:, -1:]], axis=1)
    coef = coef + (padded[:, 2:] - 2.0 * coef + padded[:, :-2]) / 24.0
    return coef.reshape(-1, coef.shape[-1])


# --------------------------------------------------------------------------------------
# The posterior over grid nodes
# --------------------------------------------------------------------------------------


def interval_probs_from_below(below: np.ndarray) -> np.ndarray:
    """Under-dosing, target and over-dosing probabilities from ``P(p <= cut)`` per cut.

    ``below[..., 0]`` and ``below[..., 1]`` are ``P(p <= c1)`` and ``P(p <= c2)``; returns
    ``(..., 3)``: ``P(p < c1)``, ``P(c1 <= p <= c2)``, ``P(p > c2)``, summing to 1.
    """
    under = below[..., 0]
    target = np.clip(below[..., 1] - under, 0.0, 1.0)
    return np.stack([under, target, 1.0 - under - target], axis=-1)


class GridPosterior:
    """Normalised node weights of a grid posterior for ``B`` data sets (the shared part).

    Parameters
    ----------
    log_weights : ndarray, shape (B, G)
        Normalised log posterior weights of the ``G`` nodes.
    """

    def __init__(self, log_weights: np.ndarray) -> None:
        self.log_weights = log_weights
        self._weights: np.ndarray | None = None

    @property
    def batch_size(self) -> int:
        """Number of data sets ``B``."""
        return self.log_weights.shape[0]

    @property
    def weights(self) -> np.ndarray:
        """Normalised posterior weights, shape ``(B, G)`` (computed once, cached)."""
        if self._weights is None:
            self._weights = np.exp(self.log_weights)
        return self._weights

    def _below(self, coef: np.ndarray) -> np.ndarray:
        """``weights @ coef`` for node coefficients ``(G, *shape)``, clipped to [0, 1]."""
        out = self.weights @ coef.reshape(coef.shape[0], -1)
        return np.clip(out.reshape(self.batch_size, *coef.shape[1:]), 0.0, 1.0)

