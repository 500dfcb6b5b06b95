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

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import binom

from bayesblina.design.checks import check_int, check_prob
from bayesblina.errors import SpecError

__all__ = [
    "SimonComparison",
    "SimonDesign",
    "SimonOC",
    "design_for_sizes",
    "simon_admissible",
    "simon_best_by_n",
    "simon_compare",
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






def _check_sizes(n1: object, n: object) -> tuple[int, int]:
    """Validate the stage-1 and total sample sizes (``1 <= n1 < n``)."""
    n1_ = check_int("n1", n1, 1, "n1 >= 1")
    n_ = check_int("n", n, 2, "n >= 2")
    if n1_ >= n_:
        raise SpecError(
            f"n1 = {n1_} is invalid for n = {n_}: the stage-1 size must satisfy 1 <= n1 < n"
        )
    return n1_, n_


def _check_boundaries(n1: int, r1: object, n: int, r: object) -> tuple[int, int]:
    """Validate the boundaries (``0 <= r1 < n1``, ``r1 <= r < n``)."""
    r1_ = check_int("r1", r1, 0, f"0 <= r1 < n1 = {n1}")
    if r1_ >= n1:
        raise SpecError(
            f"r1 = {r1_} is invalid: the futility boundary must satisfy 0 <= r1 < n1 = {n1} "
            "(r1 >= n1 would stop every trial after stage 1)"
        )
    r_ = check_int("r", r, 0, f"r1 = {r1_} <= r < n = {n}")
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
    p0_ = check_prob("p0", p0)
    p1_ = check_prob("p1", p1)
    if p1_ <= p0_:
        raise SpecError(
            f"p1 = {p1_!r} is invalid: the target response rate must exceed p0 = {p0_!r}"
        )
    alpha_ = check_prob("alpha", alpha)
    power_ = check_prob("power", power)
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
    p_ = check_prob("p", p, closed=True)
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
    nmax_ = check_int("nmax", nmax, 2, "nmax >= 2")
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


# --------------------------------------------------------------------------------------
# Admissible designs (Jung, Lee, Kim & George 2004)
# --------------------------------------------------------------------------------------

#: Largest total sample size searched when ``nmax`` is too small, to tell the user the
#: smallest ``n`` that has a feasible design.
_N_CAP = 500

#: Slack when comparing expected sample sizes (a design on the convex hull).
_EN_TOL = 1e-9

#: Columns of the tables of designs returned by the functions below.
_DESIGN_COLUMNS = ["r1", "n1", "r", "n", "alpha", "power", "pet0", "en0"]


@dataclass(frozen=True)
class SimonComparison:
    """A given two-stage design beside the minimax, admissible and optimal designs.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per design: the given design first (``design = "given"``), then
        the admissible designs from the minimax to the optimal design
        (``design`` is their criterion, see :func:`simon_admissible`), with
        columns ``design``, ``r1``, ``n1``, ``r``, ``n``,
        ``alpha``, ``power``, ``pet0``, ``en0`` (exact, at the ``p0`` and ``p1``
        compared), ``q_low``, ``q_high`` (the weights ``q`` for which the design
        minimises ``q n + (1 - q) EN(p0)``; NaN for a given design that is not
        admissible) and ``feasible``.
    feasible : bool
        Whether the given design meets ``alpha`` and ``power``.
    admissible : bool
        Whether it minimises ``q n + (1 - q) EN(p0)`` among the feasible designs
        with ``n <= nmax`` for some ``q`` in [0, 1].
    dominated : bool
        Whether a feasible design has ``n`` and ``EN(p0)`` both no larger and one
        of them smaller.
    dominated_by : tuple of tuple of int
        ``(r1, n1, r, n)`` of the per-``n`` best designs
        (:func:`simon_best_by_n`) that dominate it, in increasing ``n``.
    verdict : str
        One sentence saying the above.
    """

    table: pd.DataFrame
    feasible: bool
    admissible: bool
    dominated: bool
    dominated_by: tuple[tuple[int, int, int, int], ...]
    verdict: str


def _ump_power(n: int, p0: float, p1: float, alpha: float) -> float:
    """Power at ``p1`` of the most powerful (randomised) level-``alpha`` test on ``n``."""
    ks = np.arange(n + 1)
    sf0 = binom.sf(ks, n, p0)  # P(X > k | p0)
    k = int(np.argmax(sf0 <= alpha))  # smallest k with P(X > k) <= alpha (sf0[n] = 0)
    gamma = (alpha - sf0[k]) / binom.pmf(k, n, p0)
    return float(binom.sf(k, n, p1) + gamma * binom.pmf(k, n, p1))


def _n_lower_bound(p0: float, p1: float, alpha: float, power: float, cap: int) -> int:
    """Smallest ``n <= cap`` at which any test of level ``alpha`` can have ``power``.

    A two-stage design is a (non-randomised) test on the first ``n`` outcomes, so by
    the Neyman-Pearson lemma its power is at most that of the randomised most
    powerful test of the same level on ``n`` outcomes; below this ``n`` no design is
    feasible. Returns ``cap + 1`` if none up to ``cap``.
    """
    for n in range(1, cap + 1):
        if _ump_power(n, p0, p1, min(alpha + _FEAS_TOL, 1.0)) >= power - 1e-9:
            return n
    return cap + 1


def _best_at_n(
    t0: _BinomTables,
    t1: _BinomTables,
    n: int,
    alpha: float,
    power: float,
    *,
    first_only: bool = False,
) -> tuple[float, float, int, int, int] | None:
    """Feasible design of total size ``n`` minimising ``EN(p0)``, or ``None``.

    Returns ``(en0, alpha0, n1, r1, r)``; ties in ``EN(p0)`` go to the smaller
    attained alpha, then the smaller ``n1`` (as in :func:`simon_search`). With
    ``first_only`` the first feasible design found is returned (a feasibility test).
    """
    best: tuple[float, float, int, int, int] | None = None
    for n1 in range(1, n):
        if best is not None and n1 > best[0]:
            break  # EN(p0) >= n1: a larger n1 cannot do better
        found = _best_for_sizes(t0, t1, n1, n, alpha, power)
        if found is None:
            continue
        en0, a0, r1, r = found
        if best is None or (en0, a0) < (best[0], best[1]):
            best = (en0, a0, n1, r1, r)
        if first_only:
            break
    return best


def _smallest_feasible_n(
    p0: float, p1: float, alpha: float, power: float, start: int, cap: int
) -> int | None:
    """Smallest ``n`` in ``start..cap`` with a feasible design (``None`` if none)."""
    lower = max(start, _n_lower_bound(p0, p1, alpha, power, cap))
    while lower <= cap:
        # tables for a window of sizes at a time: the answer is usually near the bound
        upper = min(cap, 2 * lower + 20)
        t0, t1 = _BinomTables(p0, upper), _BinomTables(p1, upper)
        for n in range(lower, upper + 1):
            if _best_at_n(t0, t1, n, alpha, power, first_only=True) is not None:
                return n
        lower = upper + 1
    return None


def _no_design_error(p0: float, p1: float, alpha: float, power: float, nmax: int) -> SpecError:
    """The error for ``nmax`` too small, naming the smallest ``n`` that works."""
    head = (
        f"nmax = {nmax} is too small: no two-stage design with n <= nmax has type I "
        f"error <= alpha = {alpha} at p0 = {p0} and power >= {power} at p1 = {p1}"
    )
    smallest = _smallest_feasible_n(p0, p1, alpha, power, nmax + 1, max(_N_CAP, nmax + 1))
    if smallest is None:
        return SpecError(f"{head}; none has up to n = {max(_N_CAP, nmax + 1)} either")
    return SpecError(f"{head}; the smallest n with a feasible design is {smallest}: "
                     f"use nmax >= {smallest}")


def simon_best_by_n(
    p0: float, p1: float, alpha: float, power: float, nmax: int = 100
) -> pd.DataFrame:
    """For each total sample size ``n``, the feasible design with the smallest ``EN(p0)``.

    These are the candidates of the minimax, optimal and admissible designs: the
    curve of ``EN(p0)`` against ``n`` that Jung et al. (2001) plot to choose a design.

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

    Returns
    -------
    pandas.DataFrame
        One row per ``n <= nmax`` that has a feasible design, in increasing ``n``,
        with columns ``r1``, ``n1``, ``r``, ``n``, ``alpha``, ``power``, ``pet0``,
        ``en0`` (exact characteristics, as in :func:`simon_oc`). Ties in
        ``EN(p0)`` go to the smaller attained alpha, then the smaller ``n1``.

    Raises
    ------
    bayesblina.errors.SpecError
        If an argument is invalid, or no design with ``n <= nmax`` is feasible (the
        message gives the smallest ``n`` that has one).

    Notes
    -----
    Sizes below the Neyman-Pearson bound (the smallest ``n`` at which the
    randomised most powerful level-``alpha`` test on ``n`` outcomes reaches the
    power) are skipped: no two-stage design can be feasible there.

    References
    ----------
    .. [1] Simon R. Optimal two-stage designs for phase II clinical trials.
       Controlled Clinical Trials 1989;10(1):1-10.
    .. [2] Jung SH, Carey M, Kim KM. Graphical search for two-stage designs for
       phase II clinical trials. Controlled Clinical Trials 2001;22:367-372.

    Examples
    --------
    >>> tab = simon_best_by_n(0.2, 0.4, 0.1, 0.9, nmax=38)
    >>> tab[["r1", "n1", "r", "n"]].values.tolist()
    [[3, 19, 10, 36], [3, 17, 10, 37], [5, 22, 10, 38]]
    """
    p0_, p1_, alpha_, power_ = _check_hypotheses(p0, p1, alpha, power)
    nmax_ = check_int("nmax", nmax, 2, "nmax >= 2")
    t0, t1 = _BinomTables(p0_, nmax_), _BinomTables(p1_, nmax_)
    rows = []
    for n in range(max(2, _n_lower_bound(p0_, p1_, alpha_, power_, nmax_)), nmax_ + 1):
        best = _best_at_n(t0, t1, n, alpha_, power_)
        if best is not None:
            _, _, n1, r1, r = best
            d = _make_design(n1, r1, n, r, p0_, p1_, "per_n")
            rows.append([getattr(d, c) for c in _DESIGN_COLUMNS])
    if not rows:
        raise _no_design_error(p0_, p1_, alpha_, power_, nmax_)
    return pd.DataFrame(rows, columns=_DESIGN_COLUMNS)


def _hull(per_n: pd.DataFrame) -> pd.DataFrame:
    """The admissible rows of a per-``n`` table, with their ``q`` intervals."""
    n = per_n["n"].to_numpy(dtype=float)
    en = per_n["en0"].to_numpy()
    # optimal: smallest EN(p0), then smaller attained alpha, then smaller n
    opt = int(np.lexsort((n, per_n["alpha"].to_numpy(), en))[0])
    keep = [0]  # the minimax design: the smallest n
    i = 0
    while i < opt:
        # lower convex hull: from the current point, the steepest descent to a later one
        # (the first of several on one line, so that collinear designs are kept)
        slopes = (en[i + 1 : opt + 1] - en[i]) / (n[i + 1 : opt + 1] - n[i])
        i = i + 1 + int(np.argmin(slopes))
        keep.append(i)
    hull = per_n.iloc[keep].reset_index(drop=True)
    # q n + (1 - q) EN: two neighbours cost the same at q = dEN / (dEN + dn)
    d_en = -np.diff(hull["en0"].to_numpy())
    d_n = np.diff(hull["n"].to_numpy())
    q = d_en / (d_en + d_n)
    hull["q_low"] = np.append(q, 0.0)
    hull["q_high"] = np.insert(q, 0, 1.0)
    labels = ["admissible"] * len(hull)
    labels[-1] = "optimal"
    labels[0] = "minimax" if len(hull) > 1 else "minimax/optimal"
    hull.insert(0, "criterion", labels)
    return hull


def simon_admissible(
    p0: float, p1: float, alpha: float, power: float, nmax: int = 100
) -> pd.DataFrame:
    """Admissible two-stage designs, from the minimax to the optimal design.

    For each total size ``n`` let ``d(n)`` be the feasible design with the
    smallest ``EN(p0)`` (:func:`simon_best_by_n`). A design is *admissible*
    (Jung et al. 2004) if it minimises the Bayes risk ``q n + (1 - q) EN(p0)``
    among the feasible designs with ``n <= nmax`` for some weight ``q`` in
    [0, 1]: ``q = 1`` gives Simon's minimax design, ``q = 0`` his optimal design,
    and the admissible designs are the ``d(n)`` on the lower convex hull of the
    points ``(n, EN(p0))`` between them.

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
        Largest total sample size searched (``>= 2``); keep it above the optimal
        design's ``n``.

    Returns
    -------
    pandas.DataFrame
        One row per admissible design in increasing ``n`` (decreasing
        ``EN(p0)``), with columns ``criterion`` (``"minimax"``, ``"admissible"``,
        ``"optimal"``; ``"minimax/optimal"`` when one design is both), ``r1``,
        ``n1``, ``r``, ``n``, ``alpha``, ``power``, ``pet0``, ``en0`` and the
        interval ``[q_low, q_high]`` of weights for which the design minimises
        ``q n + (1 - q) EN(p0)``. Neighbouring intervals share their end point,
        the weight at which the two designs cost the same,
        ``q = (EN_i - EN_j) / (EN_i - EN_j + n_j - n_i)``.

    Raises
    ------
    bayesblina.errors.SpecError
        If an argument is invalid, or no design with ``n <= nmax`` is feasible (the
        message gives the smallest ``n`` that has one).

    Notes
    -----
    The first and last rows are the designs :func:`simon_search` gives with
    ``criterion="minimax"`` and ``"optimal"``. Designs on one line of the hull
    (a weight at which three or more designs tie) are all kept, the inner ones
    with ``q_low == q_high``.

    References
    ----------
    .. [1] Jung SH, Lee T, Kim K, George SL. Admissible two-stage designs for
       phase II cancer clinical trials. Statistics in Medicine 2004;23:561-569.
    .. [2] Simon R. Optimal two-stage designs for phase II clinical trials.
       Controlled Clinical Trials 1989;10(1):1-10.

    Examples
    --------
    >>> tab = simon_admissible(0.2, 0.4, 0.1, 0.9)
    >>> tab[["criterion", "r1", "n1", "r", "n"]].values.tolist()
    [['minimax', 3, 19, 10, 36], ['optimal', 3, 17, 10, 37]]
    """
    return _hull(simon_best_by_n(p0, p1, alpha, power, nmax))


def _as_boundaries(design: object) -> tuple[int, int, int, int]:
    """``(n1, r1, n, r)`` of a design object, or of a tuple ``(r1, n1, r, n)``."""
    if all(hasattr(design, a) for a in ("n1", "r1", "n", "r")):
        values = (design.n1, design.r1, design.n, design.r)  # type: ignore[attr-defined]
    elif isinstance(design, tuple | list) and len(design) == 4:
        r1, n1, r, n = design
        values = (n1, r1, n, r)
    else:
        raise SpecError(
            f"design = {design!r} is invalid: give an object with attributes n1, r1, n, r "
            "(e.g. a SimonDesign) or a tuple (r1, n1, r, n) as Simon prints it (r1/n1, r/n)"
        )
    n1, n = _check_sizes(values[0], values[2])
    r1, r = _check_boundaries(n1, values[1], n, values[3])
    return n1, r1, n, r


def simon_compare(
    design: object, p0: float, p1: float, alpha: float, power: float, nmax: int = 100
) -> SimonComparison:
    """A given two-stage design against the minimax, admissible and optimal designs.

    Parameters
    ----------
    design : SimonDesign, SimonOC or tuple of int
        The design to judge: an object with attributes ``n1``, ``r1``, ``n``,
        ``r``, or a tuple ``(r1, n1, r, n)`` in Simon's printed order
        ("r1/n1, r/n").
    p0 : float
        Uninteresting response rate, in (0, 1).
    p1 : float
        Target response rate, ``p0 < p1 < 1``.
    alpha : float
        Maximum one-sided type I error, in (0, 1).
    power : float
        Minimum power at ``p1``, in (0, 1).
    nmax : int, default 100
        Largest total sample size of the designs compared; at least the given
        design's ``n``.

    Returns
    -------
    SimonComparison
        The table of the given design and the admissible designs (see
        :func:`simon_admissible`), all with exact characteristics at ``p0`` and
        ``p1``, and whether the given design is feasible, admissible or dominated
        (some feasible design has ``n`` and ``EN(p0)`` both no larger, one
        smaller).

    Raises
    ------
    bayesblina.errors.SpecError
        If an argument is invalid, ``nmax`` is below the design's ``n``, or no
        design with ``n <= nmax`` is feasible.

    Notes
    -----
    A feasible design is admissible if and only if its ``(n, EN(p0))`` lies on the
    lower convex hull of the per-``n`` best designs (within 1e-9 in ``EN(p0)``),
    between the minimax and optimal ``n``. A feasible design that is neither
    admissible nor dominated lies above the hull: for every ``q`` a mixture of two
    admissible designs beats it.

    References
    ----------
    .. [1] Jung SH, Lee T, Kim K, George SL. Admissible two-stage designs for
       phase II cancer clinical trials. Statistics in Medicine 2004;23:561-569.
    .. [2] Simon R. Optimal two-stage designs for phase II clinical trials.
       Controlled Clinical Trials 1989;10(1):1-10.

    Examples
    --------
    >>> c = simon_compare((3, 19, 10, 36), 0.2, 0.4, 0.1, 0.9)
    >>> c.admissible, c.table["design"].tolist()
    (True, ['given', 'minimax', 'optimal'])
    """
    n1, r1, n, r = _as_boundaries(design)
    p0_, p1_, alpha_, power_ = _check_hypotheses(p0, p1, alpha, power)
    nmax_ = check_int("nmax", nmax, 2, "nmax >= 2")
    if nmax_ < n:
        raise SpecError(
            f"nmax = {nmax_} is invalid: it must be at least the given design's n = {n}"
        )
    per_n = simon_best_by_n(p0_, p1_, alpha_, power_, nmax_)
    hull = _hull(per_n)
    given = _make_design(n1, r1, n, r, p0_, p1_, "given")
    feasible = bool(given.alpha <= alpha_ + _FEAS_TOL and given.power >= power_ - _FEAS_TOL)

    q_low = q_high = float("nan")
    admissible = False
    hn = hull["n"].to_numpy(dtype=float)
    hen = hull["en0"].to_numpy()
    if feasible and hn[0] <= n <= hn[-1]:
        hull_en = float(np.interp(n, hn, hen))  # the hull is piecewise linear in n
        admissible = bool(given.en0 <= hull_en + _EN_TOL)
    if admissible:  # the weights at which it costs no more than any admissible design
        q_low, q_high = _q_interval(n, given.en0, hn, hen)
    dom = per_n[(per_n["n"] <= n) & (per_n["en0"] <= given.en0 + _EN_TOL)
                & ((per_n["n"] < n) | (per_n["en0"] < given.en0 - _EN_TOL))]
    dominated = not dom.empty
    dominated_by = tuple(
        (int(a), int(b), int(c), int(d))
        for a, b, c, d in dom[["r1", "n1", "r", "n"]].itertuples(index=False)
    )

    label = f"{r1}/{n1}, {r}/{n}"
    if not feasible:
        verdict = (f"the given design {label} is infeasible: attained alpha "
                   f"{given.alpha:.4f} (at most {alpha_}), power {given.power:.4f} "
                   f"(at least {power_})")
    elif admissible:
        verdict = (f"the given design {label} is admissible: it minimises "
                   f"q n + (1 - q) EN(p0) for q in [{q_low:.3f}, {q_high:.3f}]")
    elif dominated:
        adm = {tuple(v) for v in hull[["r1", "n1", "r", "n"]].itertuples(index=False)}
        doms = [d for d in dominated_by if d in adm] or list(dominated_by[:1])
        verdict = (f"the given design {label} is dominated: a feasible design has n and "
                   "EN(p0) no larger, one smaller (e.g. "
                   + "; ".join(f"{a}/{b}, {c}/{d}" for a, b, c, d in doms) + ")")
    else:
        verdict = (f"the given design {label} is feasible and not dominated but not "
                   "admissible: it lies above the convex hull of (n, EN(p0))")

    rows = [{"design": "given", **{c: getattr(given, c) for c in _DESIGN_COLUMNS},
             "q_low": q_low, "q_high": q_high, "feasible": feasible}]
    for rec in hull.to_dict("records"):
        rows.append({"design": rec["criterion"], **{c: rec[c] for c in _DESIGN_COLUMNS},
                     "q_low": rec["q_low"], "q_high": rec["q_high"], "feasible": True})
    table = pd.DataFrame(rows, columns=["design", *_DESIGN_COLUMNS, "q_low", "q_high",
                                        "feasible"])
    return SimonComparison(table=table, feasible=feasible, admissible=admissible,
                           dominated=dominated, dominated_by=dominated_by, verdict=verdict)


def _q_interval(n: int, en: float, hn: np.ndarray, hen: np.ndarray) -> tuple[float, float]:
    """Weights ``q`` at which ``(n, en)`` costs no more than every hull design."""
    # cost(q) = en + q (n - en) against min_k hen_k + q (hn_k - hen_k): the set of q
    # where the line lies on or below every hull line is an interval
    lo, hi = 0.0, 1.0
    for nk, ek in zip(hn, hen, strict=True):
        # en + q (n - en) <= ek + q (nk - ek)  <=>  q ((n - en) - (nk - ek)) <= ek - en
        slope = (n - en) - (nk - ek)
        rhs = ek - en + _EN_TOL
        if abs(slope) < 1e-15:
            continue
        if slope > 0:
            hi = min(hi, rhs / slope)
        else:
            lo = max(lo, rhs / slope)
    return max(lo, 0.0), min(hi, 1.0)
