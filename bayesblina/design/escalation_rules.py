"""The batched interface of dose-escalation designs, and the rule-based designs (3+3, BOIN).

Every design of :mod:`bayesblina.design.escalation` reads the state of ``B`` simulated
trials at a decision time (:class:`Trials`) and returns one :class:`Decision` per trial:

* :meth:`decide` ``(trials) -> Decision`` is the design's only rule, batched over trials
  (a simulator calls it on thousands of trials at once);
* :meth:`next_dose` ``(history) -> dict`` is the same rule for one trial given as a list
  of cohorts ``[(level, n_patients, n_dlt), ...]`` with complete follow-up.

Levels are 0-based. A trial stops for ``max_n`` once the number of patients *enrolled*
(evaluable or not) has reached ``max_n``; a simulator that wants exactly ``max_n``
patients enrols ``min(cohort_size, max_n - enrolled)`` in the last cohort. The reason
codes of a decision are :data:`REASONS`.

This module holds the interface and the two designs that need no model:
:class:`ThreePlusThree` and :class:`BOIN`; the model-based CRM and BLRM (exact grid
posteriors) are in :mod:`bayesblina.design.escalation`, which re-exports everything here.

References
----------
.. [1] Storer BE. Design and analysis of phase I clinical trials. Biometrics
   1989;45(3):925-937.
.. [2] Lin Y, Shih WJ. Statistical properties of the traditional algorithm-based designs
   for phase I cancer clinical trials. Biostatistics 2001;2(2):203-215.
.. [3] Liu S, Yuan Y. Bayesian optimal interval designs for phase I clinical trials.
   J R Stat Soc C 2015;64(3):507-523.
.. [4] Yan F, Zhang L, Zhou Y, Pan H, Liu S, Yuan Y. BOIN: an R package for designing
   single-agent and drug-combination dose-finding trials using Bayesian optimal interval
   designs. J Stat Softw 2020;94(13):1-32.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
from scipy.special import betaincc

from bayesblina.design.checks import check_int, check_prob
from bayesblina.errors import SpecError

__all__ = [
    "ALL_TOO_TOXIC",
    "BOIN",
    "CONTINUE",
    "ENOUGH_AT_MTD",
    "MAX_N",
    "REASONS",
    "RULE",
    "Decision",
    "EscalationDesign",
    "ThreePlusThree",
    "Trials",
    "boin_boundaries",
    "boin_boundary_table",
    "boin_select_mtd",
]

#: The trial goes on (``next_level`` is the next cohort's level).
CONTINUE = "continue"
#: ``max_n`` patients have been enrolled.
MAX_N = "max_n"
#: Enough patients at the recommended level (BLRM ``min_at_mtd``, BOIN ``n_stop``).
ENOUGH_AT_MTD = "enough_at_mtd"
#: Every level (that may be given) is too toxic: no MTD (``selected = -1``).
ALL_TOO_TOXIC = "all_too_toxic"
#: The design's own stopping rule declared the MTD (3+3).
RULE = "rule"
#: Every reason code a :class:`Decision` may carry.
REASONS = (CONTINUE, MAX_N, ENOUGH_AT_MTD, ALL_TOO_TOXIC, RULE)


# --------------------------------------------------------------------------------------
# The state of B trials and the decisions about them
# --------------------------------------------------------------------------------------


def _check_history(history) -> list[tuple[int, int, int]]:
    """``[(level, n_patients, n_dlt), ...]`` checked, as Python ints."""
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise SpecError(
            f"history = {history!r} is invalid: it must be a list of cohorts "
            "(level, n_patients, n_dlt)"
        )
    out = []
    for i, cohort in enumerate(history):
        try:
            level, n_pat, n_dlt = cohort
        except (TypeError, ValueError):
            raise SpecError(
                f"history[{i}] = {cohort!r} is invalid: a cohort is (level, n_patients, n_dlt)"
            ) from None
        level = check_int(f"history[{i}] level", level, 0)
        n_pat = check_int(f"history[{i}] n_patients", n_pat, 1)
        n_dlt = check_int(
            f"history[{i}] n_dlt", n_dlt, 0, allowed=f"0 <= n_dlt <= n_patients = {n_pat}"
        )
        if n_dlt > n_pat:
            raise SpecError(
                f"history[{i}] n_dlt = {n_dlt} is invalid: allowed values are "
                f"0 <= n_dlt <= n_patients = {n_pat}"
            )
        out.append((level, n_pat, n_dlt))
    return out


@dataclass(frozen=True)
class Trials:
    """The batched state of ``B`` trials at a decision time (what every design reads).

    Patients are columns ``j = 0 .. M - 1`` in order of enrolment; a trial with fewer
    patients than ``M`` has ``level = -1`` in its unused columns.

    Parameters
    ----------
    level : array_like of int, shape (B, M)
        0-based dose level of patient ``j`` of trial ``b``; -1: not enrolled.
    dlt : array_like of bool, shape (B, M)
        DLT observed by the decision time.
    weight : array_like of float, shape (B, M)
        Follow-up fraction of the DLT window of a patient without a DLT, in [0, 1]
        (1: complete); 1 for a DLT; 0 if not enrolled. Only TITE designs use values
        below 1; the others count a patient once the weight is 1 (or a DLT occurred).
    current : array_like of int, shape (B,)
        Level of the last cohort (the start level before any patient).

    Raises
    ------
    SpecError
        Shapes that do not match, a level below -1, a DLT of a patient not enrolled,
        a weight outside [0, 1].
    """

    level: np.ndarray
    dlt: np.ndarray
    weight: np.ndarray
    current: np.ndarray

    def __post_init__(self) -> None:
        level = np.asarray(self.level, dtype=np.int64)
        dlt = np.asarray(self.dlt, dtype=bool)
        weight = np.asarray(self.weight, dtype=float)
        current = np.asarray(self.current, dtype=np.int64).reshape(-1)
        if level.ndim != 2 or dlt.shape != level.shape or weight.shape != level.shape:
            raise SpecError(
                "level, dlt and weight must be arrays of the same shape (B, M); got "
                f"{np.shape(self.level)}, {np.shape(self.dlt)} and {np.shape(self.weight)}"
            )
        if current.shape != (level.shape[0],):
            raise SpecError(
                f"current must have shape (B,) = ({level.shape[0]},); got {np.shape(self.current)}"
            )
        if (level < -1).any():
            raise SpecError(
                f"level = {int(level.min())} is invalid: allowed values are -1 (not "
                "enrolled) or a 0-based dose level"
            )
        if (current < 0).any():
            raise SpecError(
                f"current = {int(current.min())} is invalid: it must be a 0-based dose level"
            )
        if (dlt & (level < 0)).any():
            raise SpecError("dlt is True for a patient not enrolled (level = -1)")
        if not ((weight >= 0) & (weight <= 1)).all():  # NaN fails too
            raise SpecError("weight must lie in [0, 1] (the follow-up fraction of the window)")
        object.__setattr__(self, "level", level)
        object.__setattr__(self, "dlt", dlt)
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "current", current)

    @property
    def batch_size(self) -> int:
        """Number of trials ``B``."""
        return self.level.shape[0]

    @property
    def enrolled_mask(self) -> np.ndarray:
        """``(B, M)`` bool: patient enrolled."""
        return self.level >= 0

    @property
    def evaluable_mask(self) -> np.ndarray:
        """``(B, M)`` bool: enrolled with a DLT or complete follow-up (weight 1)."""
        return (self.level >= 0) & (self.dlt | (self.weight >= 1.0))

    def _per_level(self, mask: np.ndarray, n_levels: int) -> np.ndarray:
        """Patients where ``mask`` holds, counted by trial and level, ``(B, n_levels)``."""
        b = self.batch_size
        idx = (np.arange(b)[:, None] * n_levels + self.level)[mask]
        return np.bincount(idx, minlength=b * n_levels).reshape(b, n_levels)

    def counts(self, n_levels: int) -> tuple[np.ndarray, np.ndarray]:
        """Evaluable patients ``n`` and their DLTs ``y`` per level, two ``(B, n_levels)``.

        A patient is evaluable with a DLT or with complete follow-up (``weight == 1``).

        Parameters
        ----------
        n_levels : int
            Number of dose levels (every level of the batch must be below it).

        Returns
        -------
        n, y : ndarray of int, shape (B, n_levels)
        """
        evaluable = self.evaluable_mask
        return self._per_level(evaluable, n_levels), self._per_level(
            evaluable & self.dlt, n_levels
        )

    def enrolled(self, n_levels: int) -> np.ndarray:
        """Patients enrolled per level (evaluable or not), ``(B, n_levels)``."""
        return self._per_level(self.enrolled_mask, n_levels)

    @classmethod
    def from_history(cls, history, max_n: int, start_level: int = 0) -> Trials:
        """One trial (``B = 1``) from its cohorts, with complete follow-up.

        Parameters
        ----------
        history : list of (int, int, int)
            Cohorts in order: ``(level, n_patients, n_dlt)``.
        max_n : int
            Columns ``M`` of the arrays (more if the history has more patients).
        start_level : int, default 0
            ``current`` when the history is empty.

        Returns
        -------
        Trials

        Raises
        ------
        SpecError
            A cohort that is not ``(level >= 0, n_patients >= 1, 0 <= n_dlt <= n_patients)``.
        """
        cohorts = _check_history(history)
        max_n = check_int("max_n", max_n, 1)
        total = sum(c[1] for c in cohorts)
        m = max(max_n, total)
        level = np.full((1, m), -1, dtype=np.int64)
        dlt = np.zeros((1, m), dtype=bool)
        j = 0
        for lv, n_pat, n_dlt in cohorts:
            level[0, j : j + n_pat] = lv
            dlt[0, j : j + n_dlt] = True
            j += n_pat
        weight = (level >= 0).astype(float)
        current = cohorts[-1][0] if cohorts else check_int("start_level", start_level, 0)
        return cls(level, dlt, weight, np.array([current]))


@dataclass(frozen=True)
class Decision:
    """What a design decides for ``B`` trials.

    Parameters
    ----------
    next_level : ndarray of int, shape (B,)
        Level of the next cohort; -1 where the trial stops.
    stop : ndarray of bool, shape (B,)
    selected : ndarray of int, shape (B,)
        The MTD the design recommends now (when stopping: the final pick); -1: none.
    reason : ndarray of str (object), shape (B,)
        One of :data:`REASONS`.
    """

    next_level: np.ndarray
    stop: np.ndarray
    selected: np.ndarray
    reason: np.ndarray

    def __post_init__(self) -> None:
        b = np.shape(self.next_level)[0]
        for name in ("next_level", "stop", "selected", "reason"):
            if np.shape(getattr(self, name)) != (b,):
                raise SpecError(
                    f"{name} must have shape (B,) = ({b},); got {np.shape(getattr(self, name))}"
                )

    def row(self, b: int = 0) -> dict:
        """Decision ``b`` as Python scalars: ``next_level``, ``stop``, ``selected``, ``reason``."""
        return {
            "next_level": int(self.next_level[b]),
            "stop": bool(self.stop[b]),
            "selected": int(self.selected[b]),
            "reason": str(self.reason[b]),
        }


def make_decision(next_level, stop, selected, reason) -> Decision:
    """A :class:`Decision` with ``next_level = -1`` wherever the trial stops."""
    stop = np.asarray(stop, dtype=bool)
    next_level = np.where(stop, -1, np.asarray(next_level, dtype=np.int64))
    return Decision(
        next_level, stop, np.asarray(selected, dtype=np.int64), np.asarray(reason, dtype=object)
    )


@runtime_checkable
class EscalationDesign(Protocol):
    """What a simulator may rely on: the attributes and the two methods of every design."""

    @property
    def name(self) -> str:
        """Short name of the design."""

    @property
    def n_levels(self) -> int:
        """Number of dose levels."""

    @property
    def cohort_size(self) -> int:
        """Patients per cohort."""

    @property
    def max_n(self) -> int:
        """Maximum number of patients enrolled."""

    @property
    def start_level(self) -> int:
        """0-based level of the first cohort."""

    @property
    def tite(self) -> bool:
        """True if the design uses partial follow-up (``Trials.weight`` below 1)."""

    def decide(self, trials: Trials) -> Decision:
        """The design's rule, batched over trials."""

    def next_dose(self, history) -> dict:
        """The rule for one trial given as cohorts ``(level, n_patients, n_dlt)``."""


class DesignBase:
    """What every design shares: :meth:`next_dose` over :meth:`decide`, and input checks.

    Subclasses are frozen dataclasses with ``n_levels``, ``max_n`` and ``start_level``.
    """

    n_levels: int
    max_n: int
    start_level: int

    def decide(self, trials: Trials) -> Decision:  # pragma: no cover - abstract
        """The design's rule, batched over trials (each design defines it)."""
        raise NotImplementedError

    def next_dose(self, history) -> dict:
        """The design's decision for one trial with complete follow-up.

        Parameters
        ----------
        history : list of (int, int, int)
            Cohorts so far: ``(level, n_patients, n_dlt)``; empty before the first.

        Returns
        -------
        dict
            ``next_level`` (int, -1 when stopping), ``stop`` (bool), ``selected`` (int,
            -1 for none) and ``reason`` (str).

        Raises
        ------
        SpecError
            A malformed history or a level outside the design's levels.
        """
        trials = Trials.from_history(history, self.max_n, start_level=self.start_level)
        return self.decide(trials).row(0)

    def _check_trials(self, trials: Trials) -> None:
        """``SpecError`` unless every level of ``trials`` is one of the design's levels."""
        if not isinstance(trials, Trials):
            raise SpecError(f"trials must be a Trials object; got {type(trials).__name__}")
        top = int(trials.level.max(initial=-1))
        if top >= self.n_levels or int(trials.current.max(initial=0)) >= self.n_levels:
            bad = max(top, int(trials.current.max(initial=0)))
            raise SpecError(
                f"level = {bad} is invalid: allowed values are 0..{self.n_levels - 1} "
                f"(the design has {self.n_levels} levels)"
            )


def check_start_level(start_level, n_levels: int) -> int:
    """``start_level`` as an int in ``0 .. n_levels - 1``."""
    allowed = f"0..{n_levels - 1} (0-based levels of the {n_levels} doses)"
    level = check_int("start_level", start_level, 0, allowed=allowed)
    if level >= n_levels:
        raise SpecError(f"start_level = {start_level!r} is invalid: allowed values are {allowed}")
    return level


def ceiling_no_skip(enrolled: np.ndarray, current: np.ndarray, n_levels: int) -> np.ndarray:
    """Highest level allowed next without skipping an untried dose, ``(B,)``.

    One above the highest level any patient has received (or the current level).
    """
    tried = enrolled > 0
    highest = np.where(tried.any(axis=1), n_levels - 1 - np.argmax(tried[:, ::-1], axis=1), -1)
    return np.minimum(np.maximum(highest, current) + 1, n_levels - 1)


def at_level(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``a[b, idx[b]]`` for every row ``b`` (``idx`` clipped to the columns)."""
    idx = np.clip(idx, 0, a.shape[1] - 1)
    return np.take_along_axis(a, idx[:, None], axis=1)[:, 0]


# --------------------------------------------------------------------------------------
# 3+3
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThreePlusThree(DesignBase):
    """The traditional 3+3 design with de-escalation (Storer 1989's "A+B", A = B = 3).

    Cohorts of 3 at the current level ``c`` with ``n_c`` evaluable patients and ``y_c``
    DLTs:

    * ``y_c >= 2`` (of 3 or of 6): level ``c`` is too toxic. At the lowest level the trial
      stops with no MTD (``all_too_toxic``). Otherwise, if level ``c - 1`` already has 6
      patients it is the MTD (stop, ``rule``); if it has 3, 3 more are treated there and
      the rule is applied at ``c - 1`` (de-escalation).
    * ``1/3``: 3 more at ``c``.
    * ``0/3`` or ``<= 1/6``: escalate to ``c + 1``; if ``c + 1`` was already found too
      toxic, ``c`` is the MTD when it has 6 patients (stop, ``rule``) and 3 more are
      treated at ``c`` when it has 3. At the top level, ``0/3`` means 3 more at the top
      and ``<= 1/6`` makes the top level the MTD.

    This is the version of Lin & Shih (2001) with de-escalation, as in the ``escalation``
    R package and most textbooks; the MTD is declared only at a level with 6 patients and
    at most one DLT. ``selected`` while the trial runs (or when it stops for ``max_n``)
    is the highest level below every too-toxic level that has passed (``0/3`` or
    ``<= 1/6``); -1 if none.

    Parameters
    ----------
    n_levels : int
        Number of dose levels (>= 1).
    start_level : int, default 0
        0-based level of the first cohort.
    max_n : int, optional
        Maximum number of patients; default ``6 * n_levels`` (never reached by the rule).

    Raises
    ------
    SpecError
        ``n_levels`` or ``max_n`` below 1, ``start_level`` not a level.

    Examples
    --------
    >>> ThreePlusThree(4).next_dose([(0, 3, 0), (1, 3, 1)])
    {'next_level': 1, 'stop': False, 'selected': 0, 'reason': 'continue'}
    """

    n_levels: int
    start_level: int = 0
    max_n: int | None = None
    cohort_size: int = field(default=3, init=False)
    tite: bool = field(default=False, init=False)
    name: ClassVar[str] = "3+3"

    def __post_init__(self) -> None:
        n_levels = check_int("n_levels", self.n_levels, 1)
        object.__setattr__(self, "n_levels", n_levels)
        object.__setattr__(self, "start_level", check_start_level(self.start_level, n_levels))
        max_n = 6 * n_levels if self.max_n is None else check_int("max_n", self.max_n, 1)
        object.__setattr__(self, "max_n", max_n)

    def decide(self, trials: Trials) -> Decision:
        """The 3+3 rule for a batch of trials (class docstring).

        Parameters
        ----------
        trials : Trials

        Returns
        -------
        Decision
        """
        self._check_trials(trials)
        k = self.n_levels
        n, y = trials.counts(k)
        c = trials.current
        nc, yc = at_level(n, c), at_level(y, c)
        n_below = np.where(c > 0, at_level(n, c - 1), 0)
        top = c == k - 1
        toxic_above = ~top & (at_level(y, c + 1) >= 2)
        enrolled = trials.enrolled_mask.sum(axis=1)

        toxic = yc >= 2
        passed = ~toxic & (((nc >= 3) & (nc < 6) & (yc == 0)) | (nc >= 6))
        # the current MTD estimate: the highest passed level below the lowest toxic one
        passed_all = (n >= 3) & (((n < 6) & (y == 0)) | ((n >= 6) & (y <= 1)))
        toxic_all = y >= 2
        below_toxic = ~np.logical_or.accumulate(toxic_all, axis=1)
        ok = passed_all & below_toxic
        estimate = np.where(ok.any(axis=1), k - 1 - np.argmax(ok[:, ::-1], axis=1), -1)

        next_level = c.copy()  # "3 more at c": fresh level, 1/3, 0/3 at top or below toxic
        stop = np.zeros(c.shape, dtype=bool)
        selected = estimate.copy()
        reason = np.full(c.shape, CONTINUE, dtype=object)

        go_up = passed & ~top & ~toxic_above
        next_level[go_up] = c[go_up] + 1
        mtd_here = passed & (nc >= 6) & (top | toxic_above)
        down = toxic & (c > 0)
        mtd_below = down & (n_below >= 6)
        next_level[down] = c[down] - 1
        none = toxic & (c == 0)

        rule_stop = mtd_here | mtd_below
        selected[mtd_here] = c[mtd_here]
        selected[mtd_below] = c[mtd_below] - 1
        reason[rule_stop] = RULE
        selected[none] = -1
        reason[none] = ALL_TOO_TOXIC
        stop |= rule_stop | none
        at_max = ~stop & (enrolled >= self.max_n)
        reason[at_max] = MAX_N
        stop |= at_max
        return make_decision(next_level, stop, selected, reason)


# --------------------------------------------------------------------------------------
# BOIN
# --------------------------------------------------------------------------------------


def boin_boundaries(target: float, phi1: float | None = None, phi2: float | None = None):
    """Escalation and de-escalation boundaries ``(lambda_e, lambda_d)`` of BOIN.

    ``lambda_e = log((1 - phi1) / (1 - phi)) / log(phi (1 - phi1) / (phi1 (1 - phi)))``,
    ``lambda_d = log((1 - phi) / (1 - phi2)) / log(phi2 (1 - phi) / (phi (1 - phi2)))``
    (Liu & Yuan 2015, eq. 2), the thresholds on the observed DLT rate at the current
    dose that minimise the probability of a wrong decision.

    Parameters
    ----------
    target : float
        Target DLT probability ``phi`` in (0, 1).
    phi1, phi2 : float, optional
        Highest rate deemed sub-therapeutic and lowest deemed overly toxic, with
        ``0 < phi1 < target < phi2 < 1``; default ``0.6 * target`` and ``1.4 * target``.

    Returns
    -------
    (float, float)

    Raises
    ------
    SpecError
        ``target`` outside (0, 1) or ``phi1``, ``phi2`` out of order.

    Examples
    --------
    Liu & Yuan (2015), Table 1, print 0.236 and 0.358 (0.35852 truncated):

    >>> [round(x, 4) for x in boin_boundaries(0.3)]
    [0.2365, 0.3585]
    """
    target, phi1, phi2 = _check_phis(target, phi1, phi2)
    lam_e = math.log((1 - phi1) / (1 - target)) / math.log(
        target * (1 - phi1) / (phi1 * (1 - target))
    )
    lam_d = math.log((1 - target) / (1 - phi2)) / math.log(
        phi2 * (1 - target) / (target * (1 - phi2))
    )
    return lam_e, lam_d


def _check_phis(target, phi1, phi2) -> tuple[float, float, float]:
    target = check_prob("target", target)
    phi1 = 0.6 * target if phi1 is None else check_prob("phi1", phi1)
    phi2 = 1.4 * target if phi2 is None else check_prob("phi2", phi2)
    if not phi1 < target < phi2:
        raise SpecError(
            f"phi1 = {phi1!r}, target = {target!r}, phi2 = {phi2!r} are invalid: they must "
            "satisfy 0 < phi1 < target < phi2 < 1"
        )
    return target, phi1, phi2


def boin_boundary_table(
    target: float,
    n_max: int,
    *,
    phi1: float | None = None,
    phi2: float | None = None,
    elimination_cutoff: float = 0.95,
) -> dict[str, np.ndarray]:
    """BOIN's decision table for ``n = 1 .. n_max`` patients at the current dose.

    As the BOIN R package's ``get.boundary`` (``full_boundary_tab``): escalate if
    ``y <= floor(lambda_e n)``; de-escalate if ``y >= min(ceil(lambda_d n), elim(n))``;
    eliminate the dose and all above if ``y >= elim(n)``, the smallest ``y`` with
    ``P(p > target | Beta(1 + y, 1 + n - y)) > elimination_cutoff``, for ``n >= 3``.

    Parameters
    ----------
    target : float
        Target DLT probability in (0, 1).
    n_max : int
        Largest number of patients (>= 1).
    phi1, phi2 : float, optional
        As :func:`boin_boundaries`.
    elimination_cutoff : float, default 0.95
        In (0, 1).

    Returns
    -------
    dict of ndarray, each shape (n_max,)
        ``n``, ``escalate`` (escalate if DLTs <= this), ``deescalate`` (if >=) and
        ``eliminate`` (if >=; -1 where no count eliminates).

    Raises
    ------
    SpecError
        On any invalid argument.

    Examples
    --------
    >>> boin_boundary_table(0.3, 9)["eliminate"][[2, 5, 8]].tolist()
    [3, 4, 5]
    """
    lam_e, lam_d = boin_boundaries(target, phi1, phi2)
    n_max = check_int("n_max", n_max, 1)
    cutoff = check_prob("elimination_cutoff", elimination_cutoff)
    n = np.arange(1, n_max + 1)
    escalate = np.floor(lam_e * n).astype(np.int64)
    deescalate = np.ceil(lam_d * n).astype(np.int64)
    # P(p > target | y DLTs of n) for every (n, y), the Beta(1, 1) prior of get.boundary
    yy = np.arange(n_max + 1)
    nn, yg = np.meshgrid(n, yy, indexing="ij")
    with np.errstate(invalid="ignore"):
        over = np.where(yg <= nn, betaincc(yg + 1.0, np.maximum(nn - yg, 0) + 1.0, target), 0.0)
    hit = (over > cutoff) & (yg >= 1) & (yg <= nn) & (nn >= 3)
    eliminate = np.where(hit.any(axis=1), np.argmax(hit, axis=1), -1)
    deescalate = np.where(eliminate >= 0, np.minimum(deescalate, eliminate), deescalate)
    return {"n": n, "escalate": escalate, "deescalate": deescalate, "eliminate": eliminate}


def _isotonic(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted isotonic (non-decreasing) regression of each row, by the min-max formula.

    ``fit_i = max_{a <= i} min_{b >= i} avg(a..b)`` with weighted averages; entries of
    weight 0 take no part (their own values are meaningless). Equal to PAVA on the
    entries of positive weight; ``O(K**3)`` per row, vectorised over rows.
    """
    b, k = x.shape
    s = np.zeros((b, k + 1))
    t = np.zeros((b, k + 1))
    np.cumsum(w * x, axis=1, out=s[:, 1:])
    np.cumsum(w, axis=1, out=t[:, 1:])
    num = s[:, None, 1:] - s[:, :-1, None]  # (B, a, b): sum over a..b
    den = t[:, None, 1:] - t[:, :-1, None]
    a_le_b = np.triu(np.ones((k, k), dtype=bool))
    with np.errstate(divide="ignore", invalid="ignore"):
        avg = np.where(a_le_b & (den > 0), num / den, np.inf)
    # min over b >= i (for each a), then max over a <= i
    low = np.minimum.accumulate(avg[:, :, ::-1], axis=2)[:, :, ::-1]
    low = np.where(a_le_b, low, -np.inf)
    return low.max(axis=1)


def boin_select_mtd(
    target: float, n, y, *, elimination_cutoff: float = 0.95
) -> np.ndarray:
    """BOIN's MTD selection (the R package's ``select.mtd``), batched over trials.

    Levels are eliminated as in the trial (the lowest level with ``n >= 3`` and
    ``P(p > target | Beta(1 + y, 1 + n - y)) > elimination_cutoff``, and all above).
    Among levels tried and not eliminated, the posterior means under Beta(0.05, 0.05),
    ``(y + 0.05) / (n + 0.1)``, are made non-decreasing by weighted isotonic regression
    (weights: 1 / posterior variance); the level whose estimate is closest to the target
    is selected. Ties follow ``select.mtd``: ``i * 1e-10`` is added to the estimate of the
    ``i``-th admissible level (1-based), so among levels pooled to one estimate the
    highest is chosen when the estimate is below the target and the lowest when above,
    and an exact tie across the target goes to the lower level.

    Parameters
    ----------
    target : float
        Target DLT probability in (0, 1).
    n, y : array_like of int, shape (B, K) or (K,)
        Patients and DLTs per level.
    elimination_cutoff : float, default 0.95

    Returns
    -------
    ndarray of int, shape (B,)
        0-based selected level; -1 if the lowest level is eliminated or no admissible
        level was tried.

    Examples
    --------
    Yan et al. (2020), p. 15:

    >>> boin_select_mtd(0.3, [3, 3, 15, 9, 0], [0, 0, 4, 4, 0]).tolist()
    [2]
    """
    target = check_prob("target", target)
    cutoff = check_prob("elimination_cutoff", elimination_cutoff)
    n = np.atleast_2d(np.asarray(n, dtype=float))
    y = np.atleast_2d(np.asarray(y, dtype=float))
    eliminated = _eliminated(target, cutoff, n, y)
    adm = (n > 0) & ~eliminated
    phat = (y + 0.05) / (n + 0.1)
    var = (y + 0.05) * (n - y + 0.05) / ((n + 0.1) ** 2 * (n + 0.1 + 1.0))
    iso = _isotonic(phat, np.where(adm, 1.0 / var, 0.0))
    iso = iso + np.cumsum(adm, axis=1) * 1e-10  # select.mtd's tie-break, on admissible ranks
    dist = np.where(adm, np.abs(iso - target), np.inf)
    pick = np.argmin(dist, axis=1)
    return np.where(adm.any(axis=1) & ~eliminated[:, 0], pick, -1)


@functools.lru_cache(maxsize=64)
def _elimination_table(target: float, cutoff: float, n_max: int) -> np.ndarray:
    """BOIN's safety rule for every ``(n, y)`` with ``y <= n <= n_max``: bool ``[n, y]``."""
    n = np.arange(n_max + 1)[:, None]
    y = np.arange(n_max + 1)[None, :]
    with np.errstate(invalid="ignore"):
        over = betaincc(y + 1.0, np.maximum(n - y, 0) + 1.0, target)
    return (n >= 3) & (y <= n) & (over > cutoff)


def _eliminated(target: float, cutoff: float, n: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Levels eliminated by BOIN's safety rule (and all above them), ``(B, K)`` bool.

    The rule depends on the counts only: one table per (target, cutoff, largest n), looked
    up for every trial and level (the beta tail per trial and level was half a simulation's
    time).
    """
    n = np.asarray(n)
    y = np.asarray(y)
    table = _elimination_table(float(target), float(cutoff), int(n.max(initial=0)))
    return np.logical_or.accumulate(table[n.astype(np.intp), y.astype(np.intp)], axis=1)


@dataclass(frozen=True)
class BOIN(DesignBase):
    """The Bayesian optimal interval design (Liu & Yuan 2015), as the BOIN R package.

    At the current level ``c`` with ``n_c`` patients and ``y_c`` DLTs
    (:func:`boin_boundary_table`): escalate if ``y_c <= floor(lambda_e n_c)`` (unless
    ``c`` is the top level or ``c + 1`` is eliminated: stay), de-escalate if
    ``y_c >= min(ceil(lambda_d n_c), elim(n_c))`` (at the lowest level: stay), otherwise
    stay. A level is eliminated, with all levels above it, when ``n >= 3`` and
    ``P(p > target | Beta(1 + y, 1 + n - y)) > elimination_cutoff``; the trial stops
    (``all_too_toxic``, no MTD) when the lowest level is eliminated. It stops for
    ``max_n`` once ``max_n`` patients are enrolled, and (``enough_at_mtd``) when
    ``n_c >= n_stop`` and the rule would treat the next cohort at ``c`` again (the
    ``n.earlystop`` rule of ``get.oc``). ``selected`` is :func:`boin_select_mtd` of the
    counts.

    Parameters
    ----------
    n_levels : int
        Number of dose levels.
    target : float
        Target DLT probability in (0, 1).
    max_n : int
        Maximum number of patients (>= 1); keyword-only, as every argument after
        ``target``.
    cohort_size : int, default 3
    start_level : int, default 0
    n_stop : int, optional
        Stop when this many patients are at the current level (and it would stay);
        default never.
    elimination_cutoff : float, default 0.95
    phi1, phi2 : float, optional
        Default ``0.6 * target`` and ``1.4 * target`` (:func:`boin_boundaries`).

    Raises
    ------
    SpecError
        On any invalid argument (named, with its value and what is allowed).

    Examples
    --------
    >>> BOIN(5, 0.3, max_n=30).next_dose([(0, 3, 0), (1, 3, 2)])
    {'next_level': 0, 'stop': False, 'selected': 0, 'reason': 'continue'}
    """

    n_levels: int
    target: float
    _: KW_ONLY
    max_n: int
    cohort_size: int = 3
    start_level: int = 0
    n_stop: int | None = None
    elimination_cutoff: float = 0.95
    phi1: float | None = None
    phi2: float | None = None
    tite: bool = field(default=False, init=False)
    name: ClassVar[str] = "BOIN"

    def __post_init__(self) -> None:
        n_levels = check_int("n_levels", self.n_levels, 1)
        target, phi1, phi2 = _check_phis(self.target, self.phi1, self.phi2)
        object.__setattr__(self, "n_levels", n_levels)
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "phi1", phi1)
        object.__setattr__(self, "phi2", phi2)
        object.__setattr__(self, "cohort_size", check_int("cohort_size", self.cohort_size, 1))
        object.__setattr__(self, "max_n", check_int("max_n", self.max_n, 1))
        object.__setattr__(self, "start_level", check_start_level(self.start_level, n_levels))
        if self.n_stop is not None:
            object.__setattr__(self, "n_stop", check_int("n_stop", self.n_stop, 1))
        object.__setattr__(
            self, "elimination_cutoff", check_prob("elimination_cutoff", self.elimination_cutoff)
        )

    @property
    def boundaries(self) -> tuple[float, float]:
        """``(lambda_e, lambda_d)`` of the design."""
        return boin_boundaries(self.target, self.phi1, self.phi2)

    def decide(self, trials: Trials) -> Decision:
        """BOIN's rule for a batch of trials (class docstring).

        Parameters
        ----------
        trials : Trials

        Returns
        -------
        Decision
        """
        self._check_trials(trials)
        k = self.n_levels
        n, y = trials.counts(k)
        c = trials.current
        nc, yc = at_level(n, c), at_level(y, c)
        table = boin_boundary_table(
            self.target,
            max(int(nc.max(initial=0)), 1),
            phi1=self.phi1,
            phi2=self.phi2,
            elimination_cutoff=self.elimination_cutoff,
        )
        row = np.maximum(nc - 1, 0)
        esc = yc <= table["escalate"][row]
        deesc = ~esc & (yc >= table["deescalate"][row])
        eliminated = _eliminated(self.target, self.elimination_cutoff, n, y)
        above_open = (c < k - 1) & ~at_level(eliminated, c + 1)

        started = nc > 0
        next_level = c.copy()
        up = started & esc & above_open
        next_level[up] += 1
        down = started & deesc & (c > 0)
        next_level[down] -= 1

        selected = boin_select_mtd(
            self.target, n, y, elimination_cutoff=self.elimination_cutoff
        )
        reason = np.full(c.shape, CONTINUE, dtype=object)
        none = eliminated[:, 0]
        at_max = ~none & (trials.enrolled_mask.sum(axis=1) >= self.max_n)
        enough = np.zeros(c.shape, dtype=bool)
        if self.n_stop is not None:
            enough = ~none & ~at_max & started & (nc >= self.n_stop) & (next_level == c)
        reason[enough] = ENOUGH_AT_MTD
        reason[at_max] = MAX_N
        reason[none] = ALL_TOO_TOXIC
        selected = np.where(none, -1, selected)
        return make_decision(next_level, none | at_max | enough, selected, reason)
