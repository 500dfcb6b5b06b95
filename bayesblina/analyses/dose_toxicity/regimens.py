"""Stepwise regimens: per-period doses and weights, and a regimen's DLT probability.

A regimen is a list of ``(dose, days)`` periods inside a DLT window; a treatment turns it
into per-period weights ``w_k`` with ``log(1 - p_regimen) = sum_k w_k log(1 - p(d_k))``
(module docstring of :mod:`~bayesblina.analyses.dose_toxicity.exact`). Used by the PyMC
models and both grid engines.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import logsumexp

from bayesblina.analyses.dose_toxicity.grid import LOG_FLOOR, check_positive, log1mexp
from bayesblina.errors import SpecError

#: Regimen treatments accepted by :func:`regimen_weights`.
TREATMENTS = ("period_exposure", "first_period", "maintenance")
#: Below this magnitude of log(1 - p_regimen), ``p_regimen`` is computed by a log-sum-exp of the
#: period probabilities instead of ``-expm1`` (relative error < 1e-10 either way).
SMALL_LOG1M = 1e-10


def regimen_weights(
    regimens: Sequence[Sequence[tuple[float, float]]],
    treatment: str = "period_exposure",
    window: float | Sequence[float] | None = None,
    *,
    levels: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-period doses and weights of stepwise regimens.

    Parameters
    ----------
    regimens : list of list of (dose, days)
        One regimen per observation (cohort): its periods in time order. A constant
        dose is a one-period regimen ``[(dose, days)]``.
    treatment : {"period_exposure", "first_period", "maintenance"}
        How the periods combine into a DLT probability (module docstring):
        ``w_k = days_k / W``, ``(1, 0, ..., 0)`` or ``(0, ..., 0, 1)``.
    window : float or sequence of float, optional
        DLT window ``W`` in days, one for all regimens or one per regimen; default
        the regimen's total days. A regimen may not be longer than its window.
    levels : bool, default False
        If True, a period's "dose" is a 0-based CRM skeleton level (an integer
        ``>= 0``) instead of a positive dose.

    Returns
    -------
    doses : ndarray, shape (n_obs, K)
        ``K`` is the longest regimen's number of periods; shorter regimens are padded
        with their last dose (and weight 0). Integer dtype when ``levels``.
    weights : ndarray, shape (n_obs, K)

    Raises
    ------
    SpecError
        Empty list or regimen, non-positive dose (negative or non-integer level) or
        days, non-positive window or one shorter than the regimen, unknown treatment.

    Examples
    --------
    >>> d, w = regimen_weights([[(5, 7), (15, 21)], [(15, 28)]])
    >>> d.tolist(), w.tolist()
    ([[5.0, 15.0], [15.0, 15.0]], [[0.25, 0.75], [1.0, 0.0]])
    """
    if treatment not in TREATMENTS:
        raise SpecError(f"treatment must be one of {list(TREATMENTS)}; got {treatment!r}")
    if isinstance(regimens, (str, bytes)) or not isinstance(regimens, Sequence):
        raise SpecError(
            f"regimens must be a list of regimens (lists of (dose, days)); got {regimens!r}"
        )
    if len(regimens) == 0:
        raise SpecError("regimens must contain at least one regimen; got an empty list")
    n_obs = len(regimens)
    if window is None:
        windows = [None] * n_obs
    elif isinstance(window, numbers.Real):
        windows = [check_positive(window, "window")] * n_obs
    else:
        windows = list(window)
        if len(windows) != n_obs:
            raise SpecError(
                f"window must be one number or one per regimen ({n_obs}); got {len(windows)}"
            )
        windows = [check_positive(x, f"window[{i}]") for i, x in enumerate(windows)]

    parsed: list[list[tuple[float, float]]] = []
    for i, regimen in enumerate(regimens):
        if isinstance(regimen, (str, bytes)) or not isinstance(regimen, Sequence):
            raise SpecError(f"regimen {i} must be a list of (dose, days); got {regimen!r}")
        if len(regimen) == 0:
            raise SpecError(f"regimen {i} is empty; a regimen needs at least one (dose, days)")
        periods = []
        for k, period in enumerate(regimen):
            try:
                dose, days = period
            except (TypeError, ValueError):
                raise SpecError(
                    f"regimen {i}, period {k} must be a (dose, days) pair; got {period!r}"
                ) from None
            if levels:
                if (
                    isinstance(dose, bool)
                    or not isinstance(dose, numbers.Real)
                    or not math.isfinite(dose)
                    or dose != int(dose)
                    or dose < 0
                ):
                    raise SpecError(
                        f"regimen {i}, period {k}: level must be a 0-based integer >= 0; "
                        f"got {dose!r}"
                    )
                dose = float(dose)
            else:
                dose = check_positive(dose, f"regimen {i}, period {k}: dose")
            days = check_positive(days, f"regimen {i}, period {k}: days")
            periods.append((dose, days))
        total = sum(days for _, days in periods)
        if windows[i] is None:
            windows[i] = total
        elif total > windows[i] * (1 + 1e-12):
            raise SpecError(
                f"regimen {i} lasts {total:g} days, longer than its DLT window of "
                f"{windows[i]:g} days; truncate the regimen to the window"
            )
        parsed.append(periods)

    n_periods = max(len(p) for p in parsed)
    doses = np.empty((n_obs, n_periods))
    weights = np.zeros((n_obs, n_periods))
    for i, periods in enumerate(parsed):
        n_i = len(periods)
        doses[i, :n_i] = [dose for dose, _ in periods]
        doses[i, n_i:] = periods[-1][0]
        if treatment == "period_exposure":
            weights[i, :n_i] = [days / windows[i] for _, days in periods]
        elif treatment == "first_period":
            weights[i, 0] = 1.0
        else:
            weights[i, n_i - 1] = 1.0
    if levels:
        doses = doses.astype(np.int64)
    return doses, weights


def check_regimens(
    doses: ArrayLike, weights: ArrayLike, *, levels: int | None, name: str = "doses"
) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``(doses, weights)`` of shape ``(m, K)``; padded doses are replaced.

    ``levels=None`` means doses are positive numbers; an integer means 0-based skeleton
    levels ``0 .. levels - 1``. Returned doses are floats (levels: int64).
    """
    d = np.asarray(doses, dtype=float)
    w = np.asarray(weights, dtype=float)
    if d.ndim == 1:
        d = d[None, :]
    if w.ndim == 1:
        w = w[None, :]
    if d.ndim != 2 or d.shape != w.shape or d.shape[1] == 0:
        raise SpecError(
            f"{name} and weights must be 2-D arrays of the same shape (n_regimens, "
            f"n_periods); got {np.shape(doses)} and {np.shape(weights)}"
        )
    if not np.isfinite(w).all() or (w < 0).any():
        raise SpecError("weights must be finite and >= 0 (pad short regimens with weight 0)")
    if (w.sum(axis=1) <= 0).any():
        i = int(np.flatnonzero(w.sum(axis=1) <= 0)[0])
        raise SpecError(f"weights of regimen {i} are all 0; every regimen needs a positive weight")
    used = w > 0
    if levels is None:
        bad = used & ~(np.isfinite(d) & (d > 0))
        if bad.any():
            raise SpecError(
                f"{name} must be positive where the weight is positive; got {d[bad][0]!r}"
            )
        return np.where(used, d, 1.0), w
    bad = used & ~(np.isfinite(d) & (d == np.round(d)) & (d >= 0) & (d < levels))
    if bad.any():
        raise SpecError(
            f"{name} must be 0-based skeleton levels 0..{levels - 1} where the weight is "
            f"positive; got {d[bad][0]!r}"
        )
    return np.where(used, d, 0.0).astype(np.int64), w


def as_regimens(
    doses: ArrayLike, weights: ArrayLike | None, *, levels: int | None, name: str = "doses"
) -> tuple[np.ndarray, np.ndarray]:
    """Checked ``(doses, weights)`` of shape ``(n_obs, K)``; constant doses when no weights.

    ``weights=None`` means one constant dose (or level) per cohort: ``doses`` must be 1-D
    and every weight is 1. Otherwise as :func:`check_regimens`.
    """
    if weights is None:
        arr = np.asarray(doses, dtype=float)
        if arr.ndim != 1:
            what = "level" if levels is not None else "constant dose"
            raise SpecError(
                f"{name} must be 1-D (one {what} per cohort) when weights is None; "
                f"got shape {arr.shape}"
            )
        doses, weights = arr[:, None], np.ones((arr.size, 1))
    return check_regimens(doses, weights, levels=levels, name=name)


def combine_periods(
    logp: np.ndarray, log1m: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``log p`` and ``log(1 - p)`` of regimens from those of their periods.

    ``logp``, ``log1m``: ``(G, m, K)``; ``weights``: ``(m, K)``. Returns two ``(G, m)``.
    """
    # a one-period (or one-hot) regimen: the period's own values, bit for bit
    onehot = (np.count_nonzero(weights, axis=1) == 1) & (weights.max(axis=1) == 1.0)
    k = np.argmax(weights, axis=1)
    rows = np.arange(weights.shape[0])
    if onehot.all():
        return np.maximum(logp[:, rows, k], LOG_FLOOR), np.maximum(log1m[:, rows, k], LOG_FLOOR)
    l1m = np.einsum("gmk,mk->gm", log1m, weights)
    lp = log1mexp(l1m)
    small = l1m > -SMALL_LOG1M
    if small.any():
        # p tiny: -log(1 - p) = sum_k w_k p_k (1 + O(p)), so log p = logsumexp(log p_k, w_k)
        lp = np.where(small, logsumexp(logp, b=np.broadcast_to(weights, logp.shape), axis=-1), lp)
    if onehot.any():
        rows = rows[onehot]
        lp[:, rows] = logp[:, rows, k[rows]]
        l1m[:, rows] = log1m[:, rows, k[rows]]
    return np.maximum(lp, LOG_FLOOR), np.maximum(l1m, LOG_FLOOR)
