"""Exact grid posterior of the two-parameter BLRM, batched over data sets.

The method (whitened regular grid, fourth-order cut-cell probabilities, quantiles by
inverting the CDF row by row) is described in :mod:`~bayesblina.analyses.dose_toxicity.exact`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from scipy.special import expit, log_expit, logit

from bayesblina.analyses.dose_toxicity.grid import (
    GridPosterior,
    below_coefficients,
    check_counts,
    check_cuts,
    check_doses,
    check_grid_args,
    check_positive,
    check_probabilities,
    check_probability,
    chunk_size,
    cut_terms,
    interval_probs_from_below,
    midpoints,
    normalised_log_weights,
)
from bayesblina.analyses.dose_toxicity.regimens import as_regimens, check_regimens, combine_periods
from bayesblina.errors import SpecError

#: Default BLRM grid: nodes per whitened axis (the grid has ``grid_size**2`` nodes).
BLRM_GRID_SIZE = 128
#: Default BLRM half-width of the grid in prior SDs.
BLRM_HALF_WIDTH = 7.0


def _linear_fraction(
    lo: np.ndarray, hi: np.ndarray, mid: np.ndarray, c: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fraction of each cell where a value, linear across the cell, is ``<= c``.

    ``lo``, ``hi``, ``mid``: the value at the lower edge, upper edge and centre of each
    cell (any shape). Returns the fraction and the direction of the value along the
    cell (``sign(hi - lo)``).
    """
    span = np.abs(hi - lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.clip((c - np.minimum(lo, hi)) / span, 0.0, 1.0)
    return np.where(span > 0, f, (mid <= c).astype(float)), np.sign(hi - lo)


class _RowCDF:
    """``P(value <= threshold)`` from cut positions along rows of cells (BLRM quantiles).

    ``weights``: ``(b, n_rows, n_cells)`` node weights of ``b`` data sets, the value
    increasing along each row. Rows whose mass is below ``1e-16 / n_rows`` in every data
    set are dropped (``rows`` holds the kept ones). The model is that of
    :func:`below_coefficients`, so the CDF agrees with :meth:`BLRMGridPosterior.prob_exceeds`.
    """

    def __init__(self, weights: np.ndarray):
        b, n_rows, n_cells = weights.shape
        eps = 1e-16 / n_rows
        row_mass, col_mass = weights.sum(axis=2), weights.sum(axis=1)
        self.rows = np.flatnonzero((row_mass > eps).any(axis=0))
        w = weights[:, self.rows]
        edge = np.concatenate([w[:, :, :1], w, w[:, :, -1:]], axis=2)
        avg = w + (edge[:, :, 2:] - 2.0 * w + edge[:, :, :-2]) / 24.0
        self.cum = np.zeros((b, self.rows.size, n_cells + 1))
        np.cumsum(avg, axis=2, out=self.cum[:, :, 1:])
        self.padded = np.zeros((b, self.rows.size, n_cells + 2))
        self.padded[:, :, 1:-1] = avg
        self.n_cells = n_cells
        # per data set: rows with mass, and the first / one-past-last cell with mass
        self.row_active = (row_mass > eps)[:, self.rows]  # (b, n_kept)
        col_active = col_mass > eps
        self.first = np.argmax(col_active, axis=1)  # (b,)
        self.stop = n_cells - np.argmax(col_active[:, ::-1], axis=1)  # (b,)

    def __call__(self, pos: np.ndarray) -> np.ndarray:
        """CDF at cut positions ``pos`` ``(b, ..., n_kept)`` (cell units) -> ``(b, ...)``."""
        b, n_kept = self.cum.shape[:2]
        pos = np.clip(pos, 0.0, self.n_cells)
        k = np.minimum(pos.astype(np.int64), self.n_cells - 1)
        t = pos - k
        g, q = cut_terms(t)
        # flat indices of (data set, row, k) into cum and padded
        row = np.arange(b).reshape(b, *(1,) * (pos.ndim - 1)) * n_kept + np.arange(n_kept)
        i_pad = row * (self.n_cells + 2) + k
        a_lo = np.take(self.padded, i_pad)
        a_mid = np.take(self.padded, i_pad + 1)
        a_hi = np.take(self.padded, i_pad + 2)
        below = np.take(self.cum, row * (self.n_cells + 1) + k)
        below += a_mid * t + (a_hi - a_lo) / 2.0 * g
        below += (a_hi - 2.0 * a_mid + a_lo) * q
        return below.sum(axis=-1)

    def bracket(self, edge_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Range of a per-edge value over the cells with mass, per data set.

        ``edge_values``: ``(n_kept, n_cells + 1, ...)``, the value at the cell edges of
        each kept row (monotone along the edges). Returns ``(lo, hi)`` of shape
        ``(b, ...)``, between which every quantile for probabilities in
        ``(1e-14, 1 - 1e-14)`` lies.
        """
        ends = np.stack([edge_values[:, self.first], edge_values[:, self.stop]], axis=0)
        ends = np.moveaxis(ends, 2, 1)  # (2, b, n_kept, ...)
        mask = self.row_active.reshape(*self.row_active.shape, *(1,) * (ends.ndim - 3))
        lo = np.where(mask, ends.min(axis=0), np.inf).min(axis=1)
        hi = np.where(mask, ends.max(axis=0), -np.inf).max(axis=1)
        return lo, hi


def _solve_increasing(
    cdf, lo: np.ndarray, hi: np.ndarray, q: np.ndarray, tol: float = 1e-6
) -> np.ndarray:
    """Solve ``cdf(z) = q`` elementwise for an increasing ``cdf`` with root in ``[lo, hi]``.

    Bisection until every bracket is narrower than ``tol``, then one false-position
    step inside it (the CDF is smooth on that scale: error ~ ``tol**2``).
    """
    f_lo, f_hi = np.zeros_like(lo), np.ones_like(hi)
    width = float(np.max(hi - lo))
    for _ in range(min(int(np.ceil(np.log2(max(width, tol) / tol))), 200)):
        z = 0.5 * (lo + hi)
        f = cdf(z)
        low = f < q
        lo, f_lo = np.where(low, z, lo), np.where(low, f, f_lo)
        hi, f_hi = np.where(low, hi, z), np.where(low, f_hi, f)
    span = f_hi - f_lo
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.clip((q - f_lo) / span, 0.0, 1.0)
    return lo + np.where(span > 0, t, 0.5) * (hi - lo)


class BLRMGridPosterior(GridPosterior):
    """Grid posterior of a two-parameter BLRM for ``B`` data sets.

    Built by :func:`blrm_grid_posterior`. Every method returns arrays whose leading
    axis is the data set (``B``). Dose arguments ``d`` are a positive dose or a 1-D
    array of constant doses; with ``weights`` they are regimens instead (``d`` and
    ``weights`` of shape ``(m, K)``, as from :func:`regimen_weights`).

    Attributes
    ----------
    log_alpha, log_beta : ndarray, shape (G,)
        Grid nodes (``G = grid_size**2``), ``grid_size`` rows of constant
        ``log_beta`` with ``log_alpha`` increasing along each row.
    log_weights : ndarray, shape (B, G)
        Normalised log posterior weights of the nodes (``logsumexp`` over ``G`` is 0).
    d_ref : float
    mean, sd : ndarray, shape (2,)
        Prior means and SDs of ``(log_alpha, log_beta)``.
    corr : float
    grid_size : int
    half_width : float
    """

    def __init__(
        self,
        log_alpha: np.ndarray,
        log_beta: np.ndarray,
        log_weights: np.ndarray,
        *,
        d_ref: float,
        mean: np.ndarray,
        sd: np.ndarray,
        corr: float,
        grid_size: int,
        half_width: float,
    ):
        self.log_alpha = log_alpha
        self.log_beta = log_beta
        super().__init__(log_weights)
        self.d_ref = d_ref
        self.mean = mean
        self.sd = sd
        self.corr = corr
        self.grid_size = grid_size
        self.half_width = half_width
        z, h = midpoints(grid_size, half_width)
        self._h = h
        # log_alpha = row offset + slope_v * v along a row (whitened v in [-R, R])
        self._slope_v = sd[0] * math.sqrt(1.0 - corr * corr)
        self._row_offset = mean[0] + sd[0] * corr * z  # (grid_size,)
        self._row_beta = np.exp(mean[1] + sd[1] * z)  # (grid_size,)
        # half the width of a cell along log_alpha
        self._delta = 0.5 * h * self._slope_v
        ring = (np.abs(z) > half_width - h).astype(float)
        self._edge = np.maximum(ring[:, None], ring[None, :]).ravel()

    def __repr__(self) -> str:
        return (
            f"BLRMGridPosterior(B={self.batch_size}, grid={self.grid_size}x{self.grid_size}, "
            f"d_ref={self.d_ref:g})"
        )

    # ---- DLT probabilities at the nodes ----------------------------------------------

    def _logit_nodes(self, d, weights, shift: float = 0.0) -> np.ndarray:
        """Logit P(DLT) at every node with ``log_alpha + shift``, shape ``(G, m)``."""
        slope = np.exp(self.log_beta)[:, None]
        la = (self.log_alpha + shift)[:, None]
        if weights is None:
            x = np.log(check_doses(d) / self.d_ref)
            return la + slope * x[None, :]
        doses, w = check_regimens(d, weights, levels=None)
        eta = la[:, :, None] + slope[:, :, None] * np.log(doses / self.d_ref)[None]
        lp, l1m = combine_periods(log_expit(eta), log_expit(-eta), w)
        return lp - l1m

    def _logit_cells(self, d, weights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Logits at the lower cell edges, upper cell edges and nodes, ``(G, m)`` each."""
        mid = self._logit_nodes(d, weights)
        if weights is None:  # exact: the logit is linear in log_alpha
            return mid - self._delta, mid + self._delta, mid
        lo = self._logit_nodes(d, weights, -self._delta)
        hi = self._logit_nodes(d, weights, self._delta)
        return lo, hi, mid

    def _prob_below(self, d, weights, thresholds: np.ndarray) -> np.ndarray:
        """``P(p <= t)`` for each threshold, shape ``(B, m, len(thresholds))``."""
        g1 = self.grid_size
        lo, hi, mid = (a.reshape(g1, g1, -1) for a in self._logit_cells(d, weights))
        coef = np.stack(
            [below_coefficients(*_linear_fraction(lo, hi, mid, logit(t))) for t in thresholds],
            axis=-1,
        )
        return self._below(coef)

    def p_mean(self, d, weights=None) -> np.ndarray:
        """Posterior mean P(DLT), shape ``(B, m)``.

        Parameters
        ----------
        d : float or array_like
            Constant doses ``(m,)``, or regimen doses ``(m, K)`` if ``weights`` given.
        weights : array_like, optional
            Regimen period weights ``(m, K)`` (:func:`regimen_weights`).

        Returns
        -------
        ndarray, shape (B, m)
        """
        return self.weights @ expit(self._logit_nodes(d, weights))

    def p_regimen_mean(self, doses, weights) -> np.ndarray:
        """Posterior mean P(DLT) of regimens ``(m, K)``: ``p_mean(doses, weights)``."""
        return self.p_mean(doses, weights)

    def prob_exceeds(self, d, t: float, weights=None) -> np.ndarray:
        """Posterior ``P(p(d) > t)`` (equal to ``P(p(d) >= t)``), shape ``(B, m)``.

        Parameters
        ----------
        d : float or array_like
            Constant doses, or regimen doses with ``weights``.
        t : float
            Threshold in (0, 1).
        weights : array_like, optional
            Regimen period weights.

        Returns
        -------
        ndarray, shape (B, m)
        """
        t = check_probability(t, "t")
        return 1.0 - self._prob_below(d, weights, np.array([t]))[..., 0]

    def interval_probs(self, d, cuts=(0.16, 0.33), weights=None) -> np.ndarray:
        """Posterior probabilities of under-dosing, target and over-dosing.

        Parameters
        ----------
        d : float or array_like
            Constant doses, or regimen doses with ``weights``.
        cuts : (float, float), default (0.16, 0.33)
            ``P(p < c1)``, ``P(c1 <= p <= c2)``, ``P(p > c2)``.
        weights : array_like, optional
            Regimen period weights.

        Returns
        -------
        ndarray, shape (B, m, 3)
            Sums to 1 over the last axis.
        """
        cuts = check_cuts(cuts)
        below = self._prob_below(d, weights, cuts)
        return interval_probs_from_below(below)

    def _row_quantiles(self, pos_fn, edge_fn, probs: np.ndarray, shape, decreasing=False):
        """Quantiles of a value monotone along the rows, per data set.

        ``pos_fn(z, rows)`` gives the cut positions ``(b, *shape, len(probs), n_rows)``
        (cell units) of ``value = z`` along the given rows, where the value increases
        along the rows (``decreasing``: decreases); ``edge_fn(rows)`` the value at the
        cell edges, ``(n_rows, grid_size + 1, *shape)``. Returns
        ``(B, *shape, len(probs))``.
        """
        g1 = self.grid_size
        out = np.empty((self.batch_size, *shape, probs.size))
        chunk = chunk_size(g1 * g1)
        for start in range(0, self.batch_size, chunk):
            rows_cdf = _RowCDF(self.weights[start : start + chunk].reshape(-1, g1, g1))
            lo, hi = rows_cdf.bracket(edge_fn(rows_cdf.rows))
            full = (lo.shape[0], *shape, probs.size)
            lo = np.broadcast_to(lo[..., None], full)
            hi = np.broadcast_to(hi[..., None], full)
            if decreasing:  # P(value <= z) = 1 - P(below the cut along the row)

                def cdf(z, rows_cdf=rows_cdf):
                    return 1.0 - rows_cdf(pos_fn(z, rows_cdf.rows))

            else:

                def cdf(z, rows_cdf=rows_cdf):
                    return rows_cdf(pos_fn(z, rows_cdf.rows))

            out[start : start + chunk] = _solve_increasing(
                cdf, lo - 1e-9, hi + 1e-9, np.broadcast_to(probs, full)
            )
        return out

    def p_quantiles(self, d, probs=(0.025, 0.5, 0.975), weights=None) -> np.ndarray:
        """Posterior quantiles of P(DLT), shape ``(B, m, len(probs))``.

        The quantiles solve ``P(p <= q) = prob`` for the same within-cell model as
        :meth:`prob_exceeds` (bisection and a final false-position step on the logit
        scale; error ~1e-10 on top of the quadrature error).

        Parameters
        ----------
        d : float or array_like
            Constant doses, or regimen doses with ``weights``.
        probs : float or sequence of float
            Quantile levels in (0, 1).
        weights : array_like, optional
            Regimen period weights.

        Returns
        -------
        ndarray, shape (B, m, len(probs))
        """
        probs = check_probabilities(probs, "probs")
        g1, h = self.grid_size, self._h
        lo, hi, _ = self._logit_cells(d, weights)
        m = lo.shape[1]
        # logits at the cell edges of each row: (g1 rows, g1 + 1 edges, m), increasing
        edges = np.concatenate([lo.reshape(g1, g1, m), hi.reshape(g1, g1, m)[:, -1:, :]], axis=1)
        if weights is None:
            x = np.log(check_doses(d) / self.d_ref)
            base = self._row_offset[None, :] + self._row_beta[None, :] * x[:, None]  # (m, g1)
            v_low = -self.half_width * self._slope_v

            def pos_fn(c, rows):  # c: (b, m, nq) -> (b, m, nq, n_rows)
                return (c[..., None] - base[:, None, rows] - v_low) / (self._slope_v * h)

        else:
            # monotone interpolation of the edge index along each row, all rows in one
            # sorted search (rows are offset so that their keys do not overlap)
            e_min, e_max = float(edges.min()), float(edges.max())
            offset = (e_max - e_min + 1.0) * np.arange(g1)
            keys = (edges.transpose(2, 0, 1) + offset[None, :, None]).reshape(m, -1)
            start_of_row = (g1 + 1) * np.arange(g1)

            def pos_fn(c, rows):
                query = c[..., None] + offset[rows]  # (b, m, nq, n_rows)
                k = np.empty(query.shape, dtype=np.int64)
                for j in range(m):  # a loop over doses, not data sets
                    k[:, j] = np.searchsorted(keys[j], query[:, j], side="right")
                k = np.clip(k - 1 - start_of_row[rows], 0, g1 - 1)
                jj = np.arange(m).reshape(1, m, 1, 1)
                e0, e1 = edges[rows, k, jj], edges[rows, k + 1, jj]
                with np.errstate(divide="ignore", invalid="ignore"):
                    t = np.clip((c[..., None] - e0) / (e1 - e0), 0.0, 1.0)
                return k + np.where(e1 > e0, t, (c[..., None] >= e1).astype(float))

        q = self._row_quantiles(pos_fn, lambda rows: edges[rows], probs, (m,))
        return expit(q)

    # ---- MTD ---------------------------------------------------------------------------

    def mtd_quantiles(self, target: float, probs=(0.025, 0.5, 0.975)) -> np.ndarray:
        """Posterior quantiles of the MTD, shape ``(B, len(probs))``.

        ``MTD = d_ref * exp((logit(target) - log_alpha) / beta)``, the constant dose with
        ``p = target``. Since ``MTD <= m`` exactly when ``p(m) >= target``, the quantiles
        solve ``P(p(m) >= target) = prob`` for the same within-cell model as
        :meth:`prob_exceeds` (on the ``log(m / d_ref)`` scale).

        Parameters
        ----------
        target : float
            Target DLT probability in (0, 1).
        probs : float or sequence of float
            Quantile levels in (0, 1).

        Returns
        -------
        ndarray, shape (B, len(probs))
        """
        target = check_probability(target, "target")
        probs = check_probabilities(probs, "probs")
        g1, h = self.grid_size, self._h
        # along row i, log(MTD / d_ref) = (logit(target) - offset_i - slope_v v) / beta_i
        top = (logit(target) - self._row_offset) / self._slope_v + self.half_width  # (g1,)
        per_x = self._row_beta / self._slope_v
        v_edges = h * np.arange(g1 + 1)  # v + half_width at the cell edges

        def pos_fn(x, rows):  # x: (b, nq) -> (b, nq, n_rows): where p(m) = target
            return (top[rows] - per_x[rows] * x[..., None]) / h

        def edge_fn(rows):  # log(MTD / d_ref) at the cell edges, decreasing along a row
            return (top[rows, None] - v_edges[None, :]) / per_x[rows, None]

        out = self._row_quantiles(pos_fn, edge_fn, probs, (), decreasing=True)
        with np.errstate(over="ignore"):
            return self.d_ref * np.exp(out)

    def mtd_prob_ge(self, target: float, dose) -> np.ndarray:
        """Posterior ``P(MTD >= dose)`` = ``P(p(dose) <= target)``, shape ``(B, m)``.

        Parameters
        ----------
        target : float
            Target DLT probability in (0, 1).
        dose : float or array_like
            Constant doses ``(m,)``.

        Returns
        -------
        ndarray, shape (B, m)
        """
        target = check_probability(target, "target")
        return self._prob_below(dose, None, np.array([target]))[..., 0]

    def ewoc(self, d_grid, max_overdose_prob: float = 0.25, cuts=(0.16, 0.33)) -> np.ndarray:
        """Highest dose with posterior ``P(p > cuts[1])`` below ``max_overdose_prob``.

        Escalation with overdose control in the interval form of Neuenschwander et
        al. (2008); design rules (no skipping, cohort sizes) are not applied here.

        Parameters
        ----------
        d_grid : array_like
            Candidate constant doses ``(m,)``.
        max_overdose_prob : float, default 0.25
            Upper bound, in (0, 1), on the posterior probability of over-dosing.
        cuts : (float, float), default (0.16, 0.33)
            Interval cuts; over-dosing is ``p > cuts[1]``.

        Returns
        -------
        ndarray, shape (B,)
            The dose per data set; NaN where no dose of ``d_grid`` qualifies.
        """
        max_overdose_prob = check_probability(max_overdose_prob, "max_overdose_prob")
        d_grid = check_doses(d_grid)
        over = 1.0 - self._prob_below(d_grid, None, check_cuts(cuts)[1:])[..., 0]
        ok = over < max_overdose_prob
        best = np.where(ok, d_grid[None, :], -np.inf).max(axis=1)
        return np.where(ok.any(axis=1), best, np.nan)

    # ---- parameters and diagnostics ----------------------------------------------------

    def param_mean(self) -> np.ndarray:
        """Posterior means of ``(log_alpha, log_beta)``, shape ``(B, 2)``."""
        return self.weights @ np.stack([self.log_alpha, self.log_beta], axis=1)

    def edge_mass(self) -> np.ndarray:
        """Posterior mass in the outermost ring of grid cells, shape ``(B,)``.

        Should be negligible (< 1e-6, say); a larger value means the posterior reaches
        the edge of the grid: increase ``half_width`` (and ``grid_size``).
        """
        return self.weights @ self._edge


def _pair(value, name: str, *, positive: bool) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.shape != (2,) or not np.isfinite(arr).all():
        raise SpecError(f"{name} must be two finite numbers (log_alpha, log_beta); got {value!r}")
    if positive and (arr <= 0).any():
        raise SpecError(f"{name} must be positive; got {arr.tolist()}")
    return arr


def blrm_grid_posterior(
    doses,
    weights,
    n,
    y,
    *,
    d_ref: float,
    mean: Sequence[float],
    sd: Sequence[float],
    corr: float,
    grid_size: int = BLRM_GRID_SIZE,
    half_width: float = BLRM_HALF_WIDTH,
) -> BLRMGridPosterior:
    """Exact grid posterior of the two-parameter BLRM for a batch of data sets.

    ``logit p(d) = log_alpha + exp(log_beta) * log(d / d_ref)``, with
    ``(log_alpha, log_beta) ~ BVN(mean, sd, corr)``; a regimen's probability combines
    its periods' (module docstring).

    Parameters
    ----------
    doses : array_like, shape (n_obs, K) or (n_obs,)
        Per-period doses of each cohort's regimen (1-D: one constant dose per cohort).
    weights : array_like or None
        Per-period weights, same shape as ``doses`` (:func:`regimen_weights`); None
        for constant doses (weights 1).
    n, y : array_like, shape (B, n_obs) or (n_obs,)
        Patients and DLTs per cohort, per data set.
    d_ref : float
        Reference dose (> 0).
    mean : (float, float)
        Prior means of ``log_alpha`` and ``log_beta``.
    sd : (float, float)
        Prior SDs of ``log_alpha`` and ``log_beta`` (> 0).
    corr : float
        Prior correlation, ``|corr| < 1``.
    grid_size : int, default 128
        Nodes per whitened axis; the grid has ``grid_size**2`` nodes.
    half_width : float, default 7
        Half-width of the grid in prior SDs.

    Returns
    -------
    BLRMGridPosterior

    Raises
    ------
    SpecError
        On any invalid argument (the message names it, its value and what is allowed).

    Examples
    --------
    Neuenschwander et al. (2008):

    >>> post = blrm_grid_posterior(
    ...     [1, 2.5, 5, 10, 25], None, [3, 4, 5, 4, 2], [0, 0, 0, 0, 2],
    ...     d_ref=250, mean=(2.15, 0.52), sd=(0.84, 0.80), corr=0.2)
    >>> post.p_mean([15, 20, 25]).round(3)
    array([[0.192, 0.253, 0.309]])
    """
    d_ref = check_positive(d_ref, "d_ref")
    mean = _pair(mean, "mean", positive=False)
    sd = _pair(sd, "sd", positive=True)
    if isinstance(corr, bool) or not isinstance(corr, numbers.Real) or not abs(corr) < 1:
        raise SpecError(f"corr must be a number with |corr| < 1; got {corr!r}")
    corr = float(corr)
    grid_size, half_width = check_grid_args(grid_size, half_width, minimum=8)
    doses, weights = as_regimens(doses, weights, levels=None)
    n, y = check_counts(n, y, doses.shape[0])

    z, _ = midpoints(grid_size, half_width)
    u, v = (a.ravel() for a in np.meshgrid(z, z, indexing="ij"))
    root = math.sqrt(1.0 - corr * corr)
    log_beta = mean[1] + sd[1] * u
    log_alpha = mean[0] + sd[0] * (corr * u + root * v)
    log_prior = -0.5 * (u * u + v * v)

    eta = log_alpha[:, None, None] + np.exp(log_beta)[:, None, None] * np.log(doses / d_ref)[None]
    logp, log1m = combine_periods(log_expit(eta), log_expit(-eta), weights)
    log_weights = normalised_log_weights(log_prior, logp, log1m, n, y)
    return BLRMGridPosterior(
        log_alpha,
        log_beta,
        log_weights,
        d_ref=d_ref,
        mean=mean,
        sd=sd,
        corr=corr,
        grid_size=grid_size,
        half_width=half_width,
    )
