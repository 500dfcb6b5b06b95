"""Exact operating characteristics and search for Simon two-stage designs.

A Simon two-stage design for a single-arm phase II trial with a binary endpoint
(response) tests ``H0: p <= p0`` against ``H1: p = p1`` (``p1 > p0``):

* stage 1 enrols ``n1`` patients; with ``X1`` responses the trial stops for
  futility if ``X1 <= r1``;
* otherwise ``n - n1`` more patients are enrolled, and ``H0`` is rejected at the
  end if the total number of responses ``X1 + X2 > r``.

With ``X1 ~ Bin(n1, p)`` and ``X2 ~ Bin(n - n1, p)`` independent,

* rejection probability ``P(X1 > r1 and X1 + X2 > r)
  = sum_{x1 = r1+1}^{n1} P(X1 = x1) P(X2 > r - x1)``;
* probability of early termination ``PET(p) = P(X1 <= r1)``;
* expected sample size ``EN(p) = n1 + (1 - PET(p)) (n - n1)``.

The attained type I error is the rejection probability at ``p0`` and the power is
the rejection probability at ``p1``. Every number here is exact (finite binomial
sums, no normal approximation and no simulation).

The blinatumomab trial (von Stackelberg et al., 2016) used a "Simon-like"
two-stage phase II design with ``n1 = 21``, ``n = 40``, ``p0 = 0.10`` and
``p1 = 0.275`` (two-sided alpha 0.05, read as one-sided 0.025; power 0.80). The
boundaries ``r1 = 2``, ``r = 8`` reproduce its published operating
characteristics (alpha 0.0149, power 0.8004, PET(p0) 0.648, EN(p0) 27.7); see
:func:`design_for_sizes`.

References
----------
.. [1] Simon R. Optimal two-stage designs for phase II clinical trials.
   Controlled Clinical Trials 1989;10(1):1-10.
.. [2] von Stackelberg A, Locatelli F, Zugmaier G, et al. Phase I/phase II study
   of blinatumomab in pediatric patients with relapsed/refractory acute
   lymphoblastic leukemia. J Clin Oncol 2016;34(36):4381-4389.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import binom

from bayesblina.errors import SpecError

__all__ = [
    "SimonDesign",
    "SimonOC",
    "design_for_sizes",
    "simon_oc",
    "simon_oc_table",
    "simon_search",
]

#: Slack allowed when comparing an attained alpha / power with its target, so that
#: a design sitting on a constraint is not lost to floating-point summation order.
#: It is far below any difference that could matter (attained error rates are
#: reported to 4 decimals).
_FEAS_TOL = 1e-12

#: Criterion labels stored in :attr:`SimonDesign.criterion`.
Criterion = Literal["optimal", "minimax"]


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimonOC:
    """Exact operating characteristics of a two-stage design at one true rate ``p``.

    Attributes
    ----------
    n1 : int
        Stage-1 sample size.
    r1 : int
        Futility boundary: stop after stage 1 if ``X1 <= r1``.
    n : int
        Total sample size (both stages).
    r : int
        Final boundary: reject ``H0`` if ``X1 + X2 > r``.
    p : float
        True response probability at which the characteristics are evaluated.
    reject_prob : float
        ``P(X1 > r1 and X1 + X2 > r)``: the probability of declaring the
        treatment promising (type I error at ``p0``, power at ``p1``).
    pet : float
        Probability of early termination, ``P(X1 <= r1)``.
    en : float
        Expected sample size, ``n1 + (1 - pet) (n - n1)``.
    """

    n1: int
    r1: int
    n: int
    r: int
    p: float
    reject_prob: float
    pet: float
    en: float


@dataclass(frozen=True)
class SimonDesign:
    """A two-stage design with its exact characteristics under ``H0`` and ``H1``.

    Attributes
    ----------
    n1 : int
        Stage-1 sample size.
    r1 : int
        Futility boundary: stop after stage 1 if ``X1 <= r1``.
    n : int
        Total sample size (both stages).
    r : int
        Final boundary: reject ``H0`` if ``X1 + X2 > r``.
    p0 : float
        Uninteresting response rate (null hypothesis ``p <= p0``).
    p1 : float
        Target response rate (alternative ``p = p1``).
    alpha : float
        Attained type I error, the rejection probability at ``p0``.
    power : float
        Attained power, the rejection probability at ``p1``.
    pet0 : float
        Probability of early termination at ``p0``.
    en0 : float
        Expected sample size at ``p0``.
    criterion : str
        How the design was chosen: ``"optimal"`` (minimum ``EN(p0)``),
        ``"minimax"`` (minimum ``n``, then minimum ``EN(p0)``) or
        ``"fixed_sizes"`` (minimum ``EN(p0)`` with ``n1`` and ``n`` given).
    """

    n1: int
    r1: int
    n: int
    r: int
    p0: float
    p1: float
    alpha: float
    power: float
    pet0: float
    en0: float
    criterion: str


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def _check_int(name: str, value: object, minimum: int, allowed: str) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SpecError(f"{name} = {value!r} is invalid: it must be an integer ({allowed})")
    if value < minimum:
        raise SpecError(f"{name} = {value!r} is invalid: allowed values are {allowed}")
    return int(value)


def _check_prob(name: str, value: object, *, closed: bool = False) -> float:
    """Return ``value`` as a ``float`` in (0, 1), or [0, 1] if ``closed``."""
    interval = "[0, 1]" if closed else "(0, 1)"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpecError(f"{name} = {value!r} is invalid: it must be a number in {interval}")
    x = float(value)
    inside = (0.0 <= x <= 1.0) if closed else (0.0 < x < 1.0)
    if not inside:  # also catches NaN
        raise SpecError(f"{name} = {value!r} is invalid: it must lie in {interval}")
    return x


def _check_sizes(n1: object, n: object) -> tuple[int, int]:
    """Validate the stage-1 and total sample sizes (``1 <= n1 < n``)."""
    n1_ = _check_int("n1", n1, 1, "n1 >= 1")
    n_ = _check_int("n", n, 2, "n >= 2")
    if n1_ >= n_:
        raise SpecError(
            f"n1 = {n1_} is invalid for n = {n_}: the stage-1 size must satisfy 1 <= n1 < n"
        )
    return n1_, n_


def _check_boundaries(n1: int, r1: object, n: int, r: object) -> tuple[int, int]:
    """Validate the boundaries (``0 <= r1 < n1``, ``r1 <= r < n``)."""
    r1_ = _check_int("r1", r1, 0, f"0 <= r1 < n1 = {n1}")
    if r1_ >= n1:
        raise SpecError(
            f"r1 = {r1_} is invalid: the futility boundary must satisfy 0 <= r1 < n1 = {n1} "
            "(r1 >= n1 would stop every trial after stage 1)"
        )
    r_ = _check_int("r", r, 0, f"r1 = {r1_} <= r < n = {n}")
    if r_ >= n:
        raise SpecError(
            f"r = {r_} is invalid: the final boundary must satisfy r1 = {r1_} <= r < n = {n} "
            "(r >= n could never reject H0)"
        )
    if r_ < r1_:
        raise SpecError(
            f"r = {r_} is invalid: the final boundary must satisfy r1 = {r1_} <= r < n = {n}"
        )
    return r1_, r_


def _check_hypotheses(
    p0: object, p1: object, alpha: object, power: object
) -> tuple[float, float, float, float]:
    """Validate ``0 < p0 < p1 < 1`` and ``alpha``, ``power`` in (0, 1)."""
    p0_ = _check_prob("p0", p0)
    p1_ = _check_prob("p1", p1)
    if p1_ <= p0_:
        raise SpecError(
            f"p1 = {p1_!r} is invalid: the target response rate must exceed p0 = {p0_!r}"
        )
    alpha_ = _check_prob("alpha", alpha)
    power_ = _check_prob("power", power)
    return p0_, p1_, alpha_, power_


# --------------------------------------------------------------------------------------
# Operating characteristics
# --------------------------------------------------------------------------------------


def simon_oc(n1: int, r1: int, n: int, r: int, p: float) -> SimonOC:
    """Exact operating characteristics of a Simon two-stage design.

    Parameters
    ----------
    n1 : int
        Stage-1 sample size, ``1 <= n1 < n``.
    r1 : int
        Futility boundary, ``0 <= r1 < n1``: stop after stage 1 if ``X1 <= r1``.
    n : int
        Total sample size.
    r : int
        Final boundary, ``r1 <= r < n``: reject ``H0`` if ``X1 + X2 > r``.
    p : float
        True response probability, in [0, 1] (the end points give the
        degenerate characteristics, which is convenient for tables).

    Returns
    -------
    SimonOC
        ``reject_prob = sum_{x1 > r1} P(X1 = x1) P(X2 > r - x1)``,
        ``pet = P(X1 <= r1)`` and ``en = n1 + (1 - pet) (n - n1)``, computed with
        :data:`scipy.stats.binom` in one vectorised sum over the stage-1 outcomes.

    Raises
    ------
    bayesblina.errors.SpecError
        If a size or boundary is not an integer in its allowed range, or ``p``
        is outside [0, 1].

    References
    ----------
    .. [1] Simon R. Optimal two-stage designs for phase II clinical trials.
       Controlled Clinical Trials 1989;10(1):1-10 (equations for the rejection
       probability, PET and EN).

    Examples
    --------
    >>> oc = simon_oc(21, 2, 40, 8, 0.10)
    >>> round(oc.reject_prob, 4), round(oc.pet, 3), round(oc.en, 1)
    (0.0149, 0.648, 27.7)
    """
    n1_, n_ = _check_sizes(n1, n)
    r1_, r_ = _check_boundaries(n1_, r1, n_, r)
    p_ = _check_prob("p", p, closed=True)
    n2 = n_ - n1_
    x1 = np.arange(r1_ + 1, n1_ + 1)
    # P(X1 = x1) * P(X2 > r - x1); binom.sf is 1 for negative arguments.
    reject = float(np.sum(binom.pmf(x1, n1_, p_) * binom.sf(r_ - x1, n2, p_)))
    pet = float(binom.cdf(r1_, n1_, p_))
    en = n1_ + (1.0 - pet) * n2
    return SimonOC(n1=n1_, r1=r1_, n=n_, r=r_, p=p_, reject_prob=reject, pet=pet, en=en)


def simon_oc_table(design: SimonDesign | SimonOC, ps: Iterable[float]) -> pd.DataFrame:
    """Operating characteristics of a design over a grid of true response rates.

    Parameters
    ----------
    design : SimonDesign or SimonOC
        Anything with integer attributes ``n1``, ``r1``, ``n`` and ``r``.
    ps : iterable of float
        True response probabilities, each in [0, 1].

    Returns
    -------
    pandas.DataFrame
        One row per ``p`` (in the order given) with columns ``p``,
        ``reject_prob``, ``pet`` and ``en`` (see :func:`simon_oc`).

    Raises
    ------
    bayesblina.errors.SpecError
        If ``ps`` is empty or contains a value outside [0, 1], or the design's
        sizes/boundaries are invalid.

    References
    ----------
    .. [1] Simon R. Optimal two-stage designs for phase II clinical trials.
       Controlled Clinical Trials 1989;10(1):1-10.

    Examples
    --------
    >>> d = design_for_sizes(21, 40, 0.10, 0.275, 0.025, 0.80)
    >>> simon_oc_table(d, [0.10, 0.275]).round(3).to_dict("list")["reject_prob"]
    [0.015, 0.8]
    """
    grid = list(ps)
    if not grid:
        raise SpecError("ps is empty: give at least one true response rate in [0, 1]")
    rows = [simon_oc(design.n1, design.r1, design.n, design.r, p) for p in grid]
    return pd.DataFrame(
        {
            "p": [oc.p for oc in rows],
            "reject_prob": [oc.reject_prob for oc in rows],
            "pet": [oc.pet for oc in rows],
            "en": [oc.en for oc in rows],
        }
    )


# --------------------------------------------------------------------------------------
# Vectorised search machinery
# --------------------------------------------------------------------------------------


class _BinomTables:
    """Cached binomial pmf/sf vectors at one ``p`` for sample sizes ``0..nmax``."""

    def __init__(self, p: float, nmax: int) -> None:
        self.p = p
        self.nmax = nmax
        ks = np.arange(nmax + 1)
        # pmf[m] = P(Bin(m, p) = k), k = 0..m
        self.pmf = [binom.pmf(ks[: m + 1], m, p) for m in range(nmax + 1)]
        # sf_pad[m][k + nmax + 1] = P(Bin(m, p) > k) for k = -(nmax + 1)..nmax
        kk = np.arange(-(nmax + 1), nmax + 1)
        self.sf_pad = [binom.sf(kk, m, p) for m in range(nmax + 1)]
        self.cdf = [np.cumsum(v) for v in self.pmf]

    def reject_matrix(self, n1: int, n: int) -> np.ndarray:
        """Return ``R[r1, r] = P(X1 > r1, X1 + X2 > r)``, ``r1 < n1``, ``r < n``."""
        n2 = n - n1
        x1 = np.arange(n1 + 1)
        r = np.arange(n)
        k = r[None, :] - x1[:, None]  # in [-n1, n - 1]
        terms = self.pmf[n1][:, None] * self.sf_pad[n2][k + self.nmax + 1]
        # tail[j, r] = sum_{x1 >= j} terms[x1, r]; R[r1] = tail[r1 + 1]
        tail = np.cumsum(terms[::-1], axis=0)[::-1]
        return tail[1:]

    def pet(self, n1: int) -> np.ndarray:
        """Return ``P(X1 <= r1)`` for ``r1 = 0..n1 - 1``."""
        return self.cdf[n1][:n1]


def _best_for_sizes(
    t0: _BinomTables,
    t1: _BinomTables,
    n1: int,
    n: int,
    alpha: float,
    power: float,
) -> tuple[float, float, int, int] | None:
    """Return ``(en0, alpha0, r1, r)`` minimising EN(p0) then alpha, or ``None``."""
    rej0 = t0.reject_matrix(n1, n)
    rej1 = t1.reject_matrix(n1, n)
    r1 = np.arange(n1)[:, None]
    r = np.arange(n)[None, :]
    feasible = (r >= r1) & (rej0 <= alpha + _FEAS_TOL) & (rej1 >= power - _FEAS_TOL)
    if not feasible.any():
        return None
    i, j = np.nonzero(feasible)
    en0 = n1 + (1.0 - t0.pet(n1)[i]) * (n - n1)
    a0 = rej0[i, j]
    best = np.lexsort((a0, en0))[0]  # primary key: EN(p0); then attained alpha
    return float(en0[best]), float(a0[best]), int(i[best]), int(j[best])


def _make_design(
    n1: int, r1: int, n: int, r: int, p0: float, p1: float, criterion: str
) -> SimonDesign:
    """Build a :class:`SimonDesign`, recomputing its numbers with :func:`simon_oc`."""
    oc0 = simon_oc(n1, r1, n, r, p0)
    oc1 = simon_oc(n1, r1, n, r, p1)
    return SimonDesign(
        n1=n1,
        r1=r1,
        n=n,
        r=r,
        p0=p0,
        p1=p1,
        alpha=oc0.reject_prob,
        power=oc1.reject_prob,
        pet0=oc0.pet,
        en0=oc0.en,
        criterion=criterion,
    )


# --------------------------------------------------------------------------------------
# Design choice
# --------------------------------------------------------------------------------------


def design_for_sizes(
    n1: int, n: int, p0: float, p1: float, alpha: float, power: float
) -> SimonDesign:
    """Best boundaries ``(r1, r)`` for given stage sizes ``n1`` and ``n``.

    All ``(r1, r)`` with ``0 <= r1 < n1`` and ``r1 <= r < n`` are enumerated; those
    with attained type I error ``<= alpha`` and power ``>= power`` are kept, and
    the one with the smallest ``EN(p0)`` is returned (ties, which happen only
    between designs sharing ``r1``, are broken by the smaller attained alpha).

    Parameters
    ----------
    n1 : int
        Stage-1 sample size, ``1 <= n1 < n``.
    n : int
        Total sample size.
    p0 : float
        Uninteresting response rate, in (0, 1).
    p1 : float
        Target response rate, ``p0 < p1 < 1``.
    alpha : float
        Maximum one-sided type I error, in (0, 1).
    power : float
        Minimum power at ``p1``, in (0, 1).

    Returns
    -------
    SimonDesign
        With ``criterion = "fixed_sizes"``.

    Raises
    ------
    bayesblina.errors.SpecError
        If an argument is invalid, or no ``(r1, r)`` meets both constraints.

    Notes
    -----
    For the blinatumomab trial, ``design_for_sizes(21, 40, 0.10, 0.275, 0.025,
    0.80)`` gives ``r1 = 2``, ``r = 8`` (attained alpha 0.0149, power 0.8004,
    PET(p0) 0.648, EN(p0) 27.7), the design that matches the paper. The
    feasible set is exactly ``{(0, 8), (1, 8), (2, 8)}``:

    * the final boundary must be ``r = 8``: ``r = 7`` has attained alpha
      >= 0.032 > 0.025 for every ``r1 <= 3``, and ``r = 9`` has power
      below 0.70 < 0.80 (0.695 at ``r1 = 0``);
    * ``r1 = 3`` is infeasible: with ``r = 8`` its power is 0.764 < 0.80 and
      with ``r = 7`` its alpha is 0.032 > 0.025 (larger ``r1`` only lowers the
      power further, e.g. ``r1 = 4``, ``r = 8``: power 0.673);
    * among the feasible designs EN(p0) falls as ``r1`` rises
      (37.9, 33.1, 27.7 for ``r1 = 0, 1, 2``), so ``r1 = 2`` is chosen.

    References
    ----------
    .. [1] Simon R. Optimal two-stage designs for phase II clinical trials.
       Controlled Clinical Trials 1989;10(1):1-10.
    .. [2] von Stackelberg A, et al. J Clin Oncol 2016;34(36):4381-4389.

    Examples
    --------
    >>> d = design_for_sizes(21, 40, 0.10, 0.275, 0.025, 0.80)
    >>> (d.r1, d.r), round(d.alpha, 4), round(d.power, 4)
    ((2, 8), 0.0149, 0.8004)
    """
    n1_, n_ = _check_sizes(n1, n)
    p0_, p1_, alpha_, power_ = _check_hypotheses(p0, p1, alpha, power)
    t0 = _BinomTables(p0_, n_)
    t1 = _BinomTables(p1_, n_)
    best = _best_for_sizes(t0, t1, n1_, n_, alpha_, power_)
    if best is None:
        raise SpecError(
            f"no feasible design with n1 = {n1_} and n = {n_}: no boundaries "
            f"0 <= r1 < n1, r1 <= r < n give type I error <= alpha = {alpha_} at "
            f"p0 = {p0_} and power >= {power_} at p1 = {p1_}"
        )
    _, _, r1_, r_ = best
    return _make_design(n1_, r1_, n_, r_, p0_, p1_, "fixed_sizes")


def simon_search(
    p0: float,
    p1: float,
    alpha: float,
    power: float,
    nmax: int = 100,
    criterion: Criterion = "optimal",
) -> SimonDesign:
    """Simon's optimal or minimax two-stage design, by exact exhaustive search.

    Every ``(n1, r1, n, r)`` with ``2 <= n <= nmax``, ``1 <= n1 < n``,
    ``0 <= r1 < n1`` and ``r1 <= r < n`` is considered; a design is feasible if
    its attained type I error at ``p0`` is ``<= alpha`` and its power at ``p1`` is
    ``>= power``. For each ``(n1, n)`` the rejection probabilities of all
    ``(r1, r)`` come from one numpy array operation.

    Parameters
    ----------
    p0 : float
        Uninteresting response rate, in (0, 1).
    p1 : float
        Target response rate, ``p0 < p1 < 1``.
    alpha : float
        Maximum one-sided type I error, in (0, 1).
    power : float
        Minimum power at ``p1``, in (0, 1).
    nmax : int, default 100
        Largest total sample size searched (``>= 2``).
    criterion : {"optimal", "minimax"}, default "optimal"
        ``"optimal"``: minimise ``EN(p0)`` over all feasible designs with
        ``n <= nmax`` (ties: smaller attained alpha, then smaller ``n``).
        ``"minimax"``: minimise ``n``, then ``EN(p0)`` (then attained alpha).

    Returns
    -------
    SimonDesign
        With ``criterion`` set to the criterion used.

    Raises
    ------
    bayesblina.errors.SpecError
        If an argument is invalid, or no design with ``n <= nmax`` meets both
        constraints (increase ``nmax``).

    Notes
    -----
    The optimal design is optimal only among designs with ``n <= nmax``; keep
    ``nmax`` comfortably above the minimax ``n``. Checked against Simon (1989),
    Table 1, e.g. ``p0 = 0.10``, ``p1 = 0.30``, ``alpha = 0.05``, power 0.80:
    optimal 1/10, 5/29 (EN 15.0, PET 0.74); minimax 1/15, 5/25 (EN 19.5,
    PET 0.55).

    References
    ----------
    .. [1] Simon R. Optimal two-stage designs for phase II clinical trials.
       Controlled Clinical Trials 1989;10(1):1-10.

    Examples
    --------
    >>> d = simon_search(0.10, 0.30, 0.05, 0.80, nmax=60)
    >>> (d.r1, d.n1, d.r, d.n), round(d.en0, 1)
    ((1, 10, 5, 29), 15.0)
    """
    p0_, p1_, alpha_, power_ = _check_hypotheses(p0, p1, alpha, power)
    nmax_ = _check_int("nmax", nmax, 2, "nmax >= 2")
    if criterion not in ("optimal", "minimax"):
        raise SpecError(f"criterion = {criterion!r} is invalid: use 'optimal' or 'minimax'")
    t0 = _BinomTables(p0_, nmax_)
    t1 = _BinomTables(p1_, nmax_)

    best_key: tuple[float, ...] | None = None
    best_design: tuple[int, int, int, int] | None = None
    for n in range(2, nmax_ + 1):
        for n1 in range(1, n):
            if criterion == "optimal" and best_key is not None and n1 > best_key[0]:
                break  # EN(p0) >= n1, so larger n1 cannot beat the incumbent
            found = _best_for_sizes(t0, t1, n1, n, alpha_, power_)
            if found is None:
                continue
            en0, a0, r1, r = found
            key = (en0, a0, n, n1) if criterion == "optimal" else (n, en0, a0, n1)
            if best_key is None or key < best_key:
                best_key, best_design = key, (n1, r1, n, r)
        if criterion == "minimax" and best_design is not None:
            break  # the smallest feasible n has been searched completely
    if best_design is None:
        raise SpecError(
            f"no feasible two-stage design with n <= nmax = {nmax_}: none has type I "
            f"error <= alpha = {alpha_} at p0 = {p0_} and power >= {power_} at "
            f"p1 = {p1_}; increase nmax"
        )
    n1_, r1_, n_, r_ = best_design
    return _make_design(n1_, r1_, n_, r_, p0_, p1_, criterion)
