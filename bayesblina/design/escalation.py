"""Dose-escalation designs for simulation: 3+3, BOIN, CRM (and TITE-CRM), BLRM with EWOC.

Every design is a small frozen dataclass with the batched interface of
:mod:`bayesblina.design.escalation_rules` (re-exported here): ``decide(trials)`` reads the
state of ``B`` trials (:class:`Trials`) and returns a :class:`Decision` per trial;
``next_dose(history)`` is the same rule for one trial.

The model-based designs of this module decide from the exact grid posteriors of
:mod:`bayesblina.analyses.dose_toxicity` (no MCMC):

* :class:`CRM`: the one-parameter CRM (O'Quigley, Pepe & Fisher 1990) on the grid of
  :func:`~bayesblina.analyses.dose_toxicity.crm_grid.crm_grid_posterior`; the next level
  is the one whose estimated DLT probability is closest to the target, never skipping an
  untried level; TITE-CRM (Cheung & Chappell 2000) weighs a patient without a DLT by the
  fraction ``w`` of the DLT window followed: likelihood ``1 - w p``.
* :class:`BLRM`: the two-parameter BLRM (Neuenschwander, Branson & Gsponer 2008) on the
  grid of :func:`~bayesblina.analyses.dose_toxicity.blrm_grid.blrm_grid_posterior`, with
  escalation with overdose control (EWOC) in its interval form; a level may be a
  stepwise regimen (a list of ``(dose, days)``).

Speed. A simulator calls ``decide`` on thousands of trials at once and most of them share
their counts: the non-TITE designs compute the posterior only for the distinct rows of
the per-level counts ``(n, y)`` (``np.unique``), in chunks, and keep what they computed in
a bounded per-design cache keyed by the row's bytes, so a row met again (in the same call,
at a later decision time, or in the next scenario) costs a dictionary look-up. TITE
designs compute the per-patient likelihood of every trial (partial weights are rarely
shared).

References
----------
.. [1] O'Quigley J, Pepe M, Fisher L. Continual reassessment method: a practical design
   for phase 1 clinical trials in cancer. Biometrics 1990;46(1):33-48.
.. [2] Cheung YK, Chappell R. Sequential designs for phase I clinical trials with
   late-onset toxicities. Biometrics 2000;56(4):1177-1182.
.. [3] Cheung YK. Dose Finding by the Continual Reassessment Method. Chapman & Hall/CRC,
   2011.
.. [4] Neuenschwander B, Branson M, Gsponer T. Critical aspects of the Bayesian approach
   to phase I cancer trials. Statistics in Medicine 2008;27(13):2420-2439.
.. [5] Babb J, Rogatko A, Zacks S. Cancer phase I clinical trials: efficient dose
   escalation with overdose control. Statistics in Medicine 1998;17(10):1103-1120.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field

import numpy as np
from scipy.special import log_expit, logit, logsumexp

from bayesblina.analyses.dose_toxicity.blrm_grid import (
    BLRM_GRID_SIZE,
    BLRM_HALF_WIDTH,
    BLRMGridPosterior,
    blrm_grid_posterior,
)
from bayesblina.analyses.dose_toxicity.crm_grid import (
    CRM_GRID_SIZE,
    CRM_HALF_WIDTH,
    CRMGridPosterior,
    crm_grid_posterior,
)
from bayesblina.analyses.dose_toxicity.grid import (
    CHUNK_ELEMENTS,
    LOG_FLOOR,
    chunk_size,
    log1mexp,
    midpoints,
)
from bayesblina.analyses.dose_toxicity.regimens import (
    TREATMENTS,
    as_regimens,
    combine_periods,
    regimen_weights,
)
from bayesblina.design.checks import check_int, check_positive, check_prob, check_real
from bayesblina.design.escalation_rules import (
    ALL_TOO_TOXIC,
    BOIN,
    CONTINUE,
    ENOUGH_AT_MTD,
    MAX_N,
    REASONS,
    RULE,
    Decision,
    DesignBase,
    EscalationDesign,
    ThreePlusThree,
    Trials,
    at_level,
    boin_boundaries,
    boin_boundary_table,
    boin_select_mtd,
    ceiling_no_skip,
    check_start_level,
    make_decision,
)
from bayesblina.errors import SpecError

__all__ = [
    "ALL_TOO_TOXIC",
    "BLRM",
    "BOIN",
    "CONTINUE",
    "CRM",
    "ENOUGH_AT_MTD",
    "MAX_N",
    "REASONS",
    "RULE",
    "Decision",
    "EscalationDesign",
    "RowCache",
    "ThreePlusThree",
    "Trials",
    "boin_boundaries",
    "boin_boundary_table",
    "boin_select_mtd",
    "tite_log_weights",
]

#: Rows (distinct count vectors) a design's cache keeps; the oldest tenth goes when full.
CACHE_ROWS = 200_000
#: Distinct rows per call of a grid engine: bounds the ``(chunk, G)`` weight arrays
#: (512 x 128**2 float64 = 64 MiB for the BLRM).
ENGINE_CHUNK = 512


# --------------------------------------------------------------------------------------
# Shared machinery: the row cache and the per-patient (TITE) likelihood on a grid
# --------------------------------------------------------------------------------------


class RowCache:
    """Results per distinct row of counts, computed once and kept (bounded, oldest out).

    The cache belongs to one design (a design is frozen, so the same row always gives
    the same result). It is not pickled: a copy sent to another process starts empty.

    Parameters
    ----------
    max_rows : int, default :data:`CACHE_ROWS`
    """

    def __init__(self, max_rows: int = CACHE_ROWS) -> None:
        self.max_rows = max_rows
        self.store: dict[bytes, np.ndarray] = {}

    def __getstate__(self) -> dict:
        return {"max_rows": self.max_rows}

    def __setstate__(self, state: dict) -> None:
        self.max_rows = state["max_rows"]
        self.store = {}

    def __len__(self) -> int:
        return len(self.store)

    def lookup(
        self, rows: np.ndarray, compute: Callable[[np.ndarray], np.ndarray]
    ) -> tuple[np.ndarray, int]:
        """``compute`` applied to every row of ``rows``, each distinct row once.

        Parameters
        ----------
        rows : ndarray of int, shape (B, R)
        compute : callable
            ``compute(distinct_rows (U, R)) -> (U, F)``.

        Returns
        -------
        values : ndarray, shape (B, F)
        n_unique : int
            Distinct rows in ``rows``.
        """
        rows = np.ascontiguousarray(rows, dtype=np.int32)
        uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
        keys = [r.tobytes() for r in uniq]
        found = [self.store.get(key) for key in keys]
        missing = [i for i, v in enumerate(found) if v is None]
        if missing:
            fresh = compute(uniq[missing])
            for i, value in zip(missing, fresh, strict=True):
                found[i] = value
                self.store[keys[i]] = value
            if len(self.store) > self.max_rows:
                drop = len(self.store) - int(0.9 * self.max_rows)
                for key in list(itertools.islice(self.store, drop)):
                    del self.store[key]
        return np.stack(found)[inverse.reshape(-1)], len(keys)


def _in_chunks(compute: Callable[[np.ndarray], np.ndarray]) -> Callable:
    """``compute`` run over ``ENGINE_CHUNK`` rows at a time (memory of the grid weights)."""

    def run(rows: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [compute(rows[s : s + ENGINE_CHUNK]) for s in range(0, rows.shape[0], ENGINE_CHUNK)]
        )

    return run


def tite_log_weights(
    log_prior: np.ndarray, logp: np.ndarray, log1m: np.ndarray, trials: Trials
) -> np.ndarray:
    """Normalised log posterior weights of grid nodes under the TITE likelihood.

    A patient with a DLT contributes ``log p``, one without a DLT ``log(1 - w p)`` with
    ``w`` the followed fraction of the DLT window (Cheung & Chappell 2000); ``w = 1`` is
    the ordinary binomial term and ``w = 0`` contributes nothing. Complete patients are
    summed through the per-level counts (two matrix products, as in the grid engines);
    only the partially followed ones need a term per patient.

    Parameters
    ----------
    log_prior : ndarray, shape (G,)
        Log prior weights of the nodes (any normalisation).
    logp, log1m : ndarray, shape (G, K)
        ``log p_k`` and ``log(1 - p_k)`` of each level at each node.
    trials : Trials

    Returns
    -------
    ndarray, shape (B, G)
    """
    n_nodes, k = logp.shape
    n, y = trials.counts(k)
    n, y = n.astype(float), y.astype(float)
    partial = trials.enrolled_mask & ~trials.dlt & (trials.weight > 0) & (trials.weight < 1)
    rows_p, cols_p = np.nonzero(partial)  # sorted by row
    lv = trials.level[rows_p, cols_p]
    wt = trials.weight[rows_p, cols_p]
    p_t = np.exp(logp).T  # (K, G)
    out = np.empty((trials.batch_size, n_nodes))
    chunk = chunk_size(n_nodes)
    sub = max(1, CHUNK_ELEMENTS // n_nodes)
    for start in range(0, trials.batch_size, chunk):
        stop = min(start + chunk, trials.batch_size)
        ll = y[start:stop] @ logp.T
        ll += (n[start:stop] - y[start:stop]) @ log1m.T
        ll += log_prior
        lo, hi = np.searchsorted(rows_p, [start, stop])
        for q in range(lo, hi, sub):
            q2 = min(q + sub, hi)
            contrib = np.log1p(-wt[q:q2, None] * p_t[lv[q:q2]])
            rows, first = np.unique(rows_p[q:q2], return_index=True)
            ll[rows - start] += np.add.reduceat(contrib, first, axis=0)
        ll -= logsumexp(ll, axis=1, keepdims=True)
        out[start:stop] = ll
    return out


def _check_window(window, tite: bool) -> float | None:
    """The DLT window in days (required by a TITE design)."""
    if window is None:
        if tite:
            raise SpecError(
                "window = None is invalid when tite = True: give the DLT window in days "
                "(a number > 0), from which follow-up fractions are computed"
            )
        return None
    return check_positive("window", window)


def _check_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise SpecError(f"{name} = {value!r} is invalid: it must be True or False")
    return bool(value)


# --------------------------------------------------------------------------------------
# CRM
# --------------------------------------------------------------------------------------


def _crm_log_p(beta: np.ndarray, skeleton: np.ndarray, model: str, a0: float):
    """``log p_k`` and ``log(1 - p_k)`` of the CRM working model at nodes ``beta``, (G, K)."""
    slope = np.exp(beta)[:, None]
    if model == "empiric":
        lp = slope * np.log(skeleton)[None, :]
        l1m = log1mexp(lp)
    else:
        eta = a0 + slope * (logit(skeleton) - a0)[None, :]
        lp, l1m = log_expit(eta), log_expit(-eta)
    return np.maximum(lp, LOG_FLOOR), np.maximum(l1m, LOG_FLOOR)


@dataclass(frozen=True)
class CRM(DesignBase):
    """The continual reassessment method, and TITE-CRM, decided on the exact CRM grid.

    ``p_k = s_k ** exp(beta)`` (``"empiric"``) or
    ``invlogit(a0 + exp(beta) (logit(s_k) - a0))`` (``"logistic"``), with
    ``beta ~ N(prior_mean, prior_sd**2)``. After each cohort the DLT probabilities are
    estimated (``method="plugin"``: at the posterior mean of ``beta``, as dfcrm;
    ``"mean"``: posterior means) and the recommended level is the one closest to the
    target (ties: the lower). The next cohort gets the recommended level, but with
    ``no_skip`` never more than one level above the highest level tried. ``selected`` is
    the recommended level. Stops: ``max_n`` patients enrolled; with
    ``stop_if_p1_above = (t, q)``, ``P(p_1 > t | data) > q`` (``all_too_toxic``, no MTD).
    Before any patient, the first cohort gets ``start_level``.

    With ``tite = True`` a patient without a DLT followed for a fraction ``w`` of the DLT
    window contributes ``1 - w p`` to the likelihood (linear weight, Cheung & Chappell
    2000); ``window`` (days) is the DLT window the simulator computes ``w`` from.

    Parameters
    ----------
    skeleton : sequence of float
        Prior guesses of the DLT probabilities, strictly increasing in (0, 1).
    target : float
        Target DLT probability in (0, 1).
    max_n : int
        Maximum number of patients (>= 1). This and every later argument are keyword-only.
    model : {"empiric", "logistic"}, default "empiric"
    prior_sd : float, default sqrt(1.34)
        SD of the normal prior on ``beta`` (dfcrm's default).
    prior_mean : float, default 0
    a0 : float, default 3
        Intercept of the logistic model.
    cohort_size : int, default 3
    start_level : int, default 0
    no_skip : bool, default True
    stop_if_p1_above : (float, float), optional
        ``(t, q)``: stop when ``P(p_1 > t) > q``; ``(target, 0.9)`` is a common choice.
    tite : bool, default False
    window : float, optional
        DLT window in days (required when ``tite``).
    method : {"plugin", "mean"}, default "plugin"
    grid_size : int, default 512
    half_width : float, default 8

    Raises
    ------
    SpecError
        On any invalid argument (named, with its value and what is allowed).

    Examples
    --------
    Cheung (2011), p. 21 (one patient per cohort):

    >>> crm = CRM([0.05, 0.12, 0.25, 0.40, 0.55], 0.25, max_n=20, model="logistic",
    ...           prior_sd=1.34 ** 0.5, cohort_size=1, start_level=2)
    >>> crm.next_dose([(2, 1, 0), (4, 1, 0), (4, 1, 1), (2, 1, 0), (3, 1, 0)])["next_level"]
    3
    """

    skeleton: Sequence[float]
    target: float
    _: KW_ONLY
    max_n: int
    model: str = "empiric"
    prior_sd: float = math.sqrt(1.34)
    prior_mean: float = 0.0
    a0: float = 3.0
    cohort_size: int = 3
    start_level: int = 0
    no_skip: bool = True
    stop_if_p1_above: tuple[float, float] | None = None
    tite: bool = False
    window: float | None = None
    method: str = "plugin"
    grid_size: int = CRM_GRID_SIZE
    half_width: float = CRM_HALF_WIDTH
    _prior: CRMGridPosterior = field(init=False, repr=False, compare=False)
    _cache: RowCache = field(default_factory=RowCache, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sk = np.atleast_1d(np.asarray(self.skeleton, dtype=float))
        if sk.ndim != 1 or sk.size == 0 or not ((sk > 0) & (sk < 1)).all():
            raise SpecError(
                f"skeleton = {self.skeleton!r} is invalid: it must be a non-empty sequence "
                "of probabilities strictly between 0 and 1"
            )
        if (np.diff(sk) <= 0).any():
            raise SpecError(
                f"skeleton = {sk.tolist()} is invalid: it must be strictly increasing"
            )
        model = "empiric" if self.model == "power" else self.model
        if model not in ("empiric", "logistic"):
            raise SpecError(
                f"model = {self.model!r} is invalid: allowed values are 'empiric' "
                "(alias 'power') and 'logistic'"
            )
        if self.method not in ("plugin", "mean"):
            raise SpecError(
                f"method = {self.method!r} is invalid: allowed values are 'plugin', 'mean'"
            )
        sets = object.__setattr__
        sets(self, "skeleton", tuple(sk.tolist()))
        sets(self, "model", model)
        sets(self, "target", check_prob("target", self.target))
        sets(self, "max_n", check_int("max_n", self.max_n, 1))
        sets(self, "prior_sd", check_positive("prior_sd", self.prior_sd))
        sets(self, "prior_mean", check_real("prior_mean", self.prior_mean))
        sets(self, "a0", check_real("a0", self.a0))
        sets(self, "cohort_size", check_int("cohort_size", self.cohort_size, 1))
        sets(self, "start_level", check_start_level(self.start_level, sk.size))
        sets(self, "no_skip", _check_bool("no_skip", self.no_skip))
        sets(self, "tite", _check_bool("tite", self.tite))
        sets(self, "window", _check_window(self.window, self.tite))
        if self.stop_if_p1_above is not None:
            try:
                t, q = self.stop_if_p1_above
            except (TypeError, ValueError):
                raise SpecError(
                    f"stop_if_p1_above = {self.stop_if_p1_above!r} is invalid: it must be "
                    "None or a pair (t, q) of probabilities in (0, 1)"
                ) from None
            sets(
                self,
                "stop_if_p1_above",
                (check_prob("stop_if_p1_above[0]", t), check_prob("stop_if_p1_above[1]", q)),
            )
        zeros = np.zeros(sk.size)
        sets(
            self,
            "_prior",
            crm_grid_posterior(
                np.arange(sk.size),
                None,
                zeros,
                zeros,
                skeleton=sk,
                model=model,
                prior_sd=self.prior_sd,
                prior_mean=self.prior_mean,
                a0=self.a0,
                grid_size=self.grid_size,
                half_width=self.half_width,
            ),
        )

    @property
    def name(self) -> str:
        """``"CRM"`` or ``"TITE-CRM"``."""
        return "TITE-CRM" if self.tite else "CRM"

    @property
    def n_levels(self) -> int:
        """Number of dose levels (of the skeleton)."""
        return len(self.skeleton)

    def _summaries(self, post: CRMGridPosterior) -> np.ndarray:
        """Estimated ``p_k`` and ``P(p_1 > t)`` per data set, ``(b, K + 1)``."""
        p = post.p_plugin() if self.method == "plugin" else post.p_mean()
        if self.stop_if_p1_above is None:
            over = np.zeros((post.batch_size, 1))
        else:
            over = post.prob_exceeds(self.stop_if_p1_above[0])[:, :1]
        return np.concatenate([p, over], axis=1)

    def _from_counts(self, rows: np.ndarray) -> np.ndarray:
        k = self.n_levels
        post = crm_grid_posterior(
            np.arange(k),
            None,
            rows[:, :k],
            rows[:, k:],
            skeleton=self.skeleton,
            model=self.model,
            prior_sd=self.prior_sd,
            prior_mean=self.prior_mean,
            a0=self.a0,
            grid_size=self.grid_size,
            half_width=self.half_width,
        )
        return self._summaries(post)

    def posterior(self, trials: Trials) -> CRMGridPosterior:
        """The grid posterior of every trial (TITE likelihood when ``tite``), ``B`` data sets.

        Parameters
        ----------
        trials : Trials

        Returns
        -------
        CRMGridPosterior
        """
        self._check_trials(trials)
        prior = self._prior
        if self.tite:
            logp, log1m = _crm_log_p(prior.beta, prior.skeleton, self.model, self.a0)
            lw = tite_log_weights(prior.log_weights[0], logp, log1m, trials)
        else:
            n, y = trials.counts(self.n_levels)
            lw = crm_grid_posterior(
                np.arange(self.n_levels),
                None,
                n,
                y,
                skeleton=self.skeleton,
                model=self.model,
                prior_sd=self.prior_sd,
                prior_mean=self.prior_mean,
                a0=self.a0,
                grid_size=self.grid_size,
                half_width=self.half_width,
            ).log_weights
        _, h = midpoints(prior.grid_size, prior.half_width)
        return CRMGridPosterior(
            prior.beta,
            lw,
            skeleton=prior.skeleton,
            model=prior.model,
            prior_mean=prior.prior_mean,
            prior_sd=prior.prior_sd,
            a0=prior.a0,
            grid_size=prior.grid_size,
            half_width=prior.half_width,
            cell_width=prior.prior_sd * h,
        )

    def estimates(self, trials: Trials) -> tuple[np.ndarray, np.ndarray]:
        """Estimated DLT probabilities ``(B, K)`` and ``P(p_1 > t)`` ``(B,)`` (0 if unused).

        Non-TITE: each distinct row of counts once (cached); TITE: every trial.

        Parameters
        ----------
        trials : Trials

        Returns
        -------
        (ndarray, ndarray)
        """
        self._check_trials(trials)
        if self.tite:
            out = self._summaries(self.posterior(trials))
        else:
            n, y = trials.counts(self.n_levels)
            out, _ = self._cache.lookup(np.concatenate([n, y], axis=1), self._from_counts)
        return out[:, :-1], out[:, -1]

    def decide(self, trials: Trials) -> Decision:
        """The CRM's decision for a batch of trials (class docstring).

        Parameters
        ----------
        trials : Trials

        Returns
        -------
        Decision
        """
        p, over = self.estimates(trials)
        k = self.n_levels
        rec = np.argmin(np.abs(p - self.target), axis=1)
        enrolled = trials.enrolled(k)
        total = enrolled.sum(axis=1)
        ceiling = ceiling_no_skip(enrolled, trials.current, k) if self.no_skip else k - 1
        started = total > 0
        next_level = np.where(started, np.minimum(rec, ceiling), trials.current)
        none = np.zeros(rec.shape, dtype=bool)
        if self.stop_if_p1_above is not None:
            none = started & (over > self.stop_if_p1_above[1])
        at_max = ~none & (total >= self.max_n)
        reason = np.full(rec.shape, CONTINUE, dtype=object)
        reason[at_max] = MAX_N
        reason[none] = ALL_TOO_TOXIC
        return make_decision(next_level, none | at_max, np.where(none, -1, rec), reason)


# --------------------------------------------------------------------------------------
# BLRM with EWOC
# --------------------------------------------------------------------------------------


def _parse_levels(doses, window, treatment: str) -> tuple[tuple, np.ndarray, np.ndarray | None]:
    """Constant doses or regimens, as a hashable tuple and the engine's ``(doses, weights)``."""
    if isinstance(doses, (str, bytes)) or not isinstance(doses, Sequence) or len(doses) == 0:
        raise SpecError(
            f"doses = {doses!r} is invalid: it must be a non-empty list of doses or of "
            "regimens (lists of (dose, days))"
        )

    def is_number(x) -> bool:
        return isinstance(x, numbers.Real) and not isinstance(x, bool)

    if all(is_number(d) for d in doses):
        arr = np.asarray(doses, dtype=float)
        if not (np.isfinite(arr) & (arr > 0)).all():
            raise SpecError(f"doses = {list(doses)!r} is invalid: doses must be > 0 (finite)")
        if (np.diff(arr) <= 0).any():
            raise SpecError(
                f"doses = {arr.tolist()} is invalid: constant doses must be strictly increasing"
            )
        return tuple(arr.tolist()), arr, None
    regimens = []
    for i, regimen in enumerate(doses):
        if is_number(regimen):  # a constant dose over the whole window
            regimen = [(regimen, 1.0 if window is None else window)]
        if isinstance(regimen, (str, bytes)) or not isinstance(regimen, Sequence) or not regimen:
            raise SpecError(
                f"doses[{i}] = {regimen!r} is invalid: a level is a dose or a regimen, a "
                "non-empty list of (dose, days)"
            )
        periods = []
        for k, period in enumerate(regimen):
            try:
                dose, days = period
            except (TypeError, ValueError):
                raise SpecError(
                    f"doses[{i}] = {regimen!r} is invalid: period {k} = {period!r} is not a "
                    "(dose, days) pair"
                ) from None
            for what, value in (("dose", dose), ("days", days)):
                if not is_number(value) or not (math.isfinite(value) and value > 0):
                    raise SpecError(
                        f"doses[{i}] = {regimen!r} is invalid: period {k} has {what} = "
                        f"{value!r}; {what} must be > 0"
                    )
            periods.append((float(dose), float(days)))
        regimens.append(tuple(periods))
    d, w = regimen_weights([list(r) for r in regimens], treatment, window)
    return tuple(regimens), d, w


@dataclass(frozen=True)
class BLRM(DesignBase):
    """The two-parameter BLRM with escalation with overdose control (EWOC).

    ``logit p(d) = log_alpha + exp(log_beta) log(d / d_ref)``,
    ``(log_alpha, log_beta) ~ BVN(mean, sd, corr)``; a regimen level's probability
    combines its periods (``treatment``, :func:`regimen_weights` with the DLT window).
    After each cohort, for every level: ``P(p in target_interval)`` and the over-dosing
    probability ``P(p > target_interval[1])`` from the exact grid posterior. A level is
    admissible when its over-dosing probability is below ``ewoc``. The recommended level
    maximises ``P(p in target_interval)`` among admissible levels up to one above the
    highest level tried (``no_skip``; otherwise any level); ties go to the lower level.
    In this order:

    * no admissible level within reach: stop, ``all_too_toxic`` (no MTD);
    * the recommended level has ``>= min_at_mtd`` evaluable patients and ``>= min_n``
      patients are enrolled: stop, ``enough_at_mtd``, MTD = the recommended level;
    * ``max_n`` patients enrolled: stop, ``max_n``;
    * otherwise the next cohort gets the recommended level.

    ``selected`` (the MTD now) maximises ``P(p in target_interval)`` among admissible
    levels already tried; -1 if none. Before any patient, the first cohort gets
    ``start_level``.

    With ``tite = True`` a patient without a DLT followed for a fraction ``w`` of the DLT
    window contributes ``1 - w p`` (as TITE-CRM).

    Parameters
    ----------
    doses : sequence of float, or sequence of list of (float, float)
        One entry per level: a constant dose (strictly increasing), or a stepwise regimen
        ``[(dose, days), ...]`` (a number among regimens is a constant dose over the
        window).
    d_ref : float
        Reference dose (> 0). This and every later argument are keyword-only.
    mean, sd : (float, float)
        Prior means and SDs (> 0) of ``(log_alpha, log_beta)``.
    corr : float
        Prior correlation, ``|corr| < 1``.
    max_n : int
        Maximum number of patients (>= 1).
    target_interval : (float, float), default (0.16, 0.33)
    ewoc : float, default 0.25
        Bound on the over-dosing probability, in (0, 1).
    cohort_size : int, default 3
    start_level : int, default 0
    no_skip : bool, default True
    min_at_mtd : int or None, default 6
        None: no ``enough_at_mtd`` stop.
    min_n : int, default 0
    tite : bool, default False
    window : float, optional
        DLT window in days (required when ``tite``; the regimens' window otherwise their
        total days).
    treatment : {"period_exposure", "first_period", "maintenance"}, default "period_exposure"
    grid_size : int, default 128
        Nodes per axis of the grid (``grid_size**2`` nodes).
    half_width : float, default 7

    Raises
    ------
    SpecError
        On any invalid argument (named, with its value and what is allowed).

    Examples
    --------
    >>> blrm = BLRM([1, 2.5, 5, 10, 25], d_ref=25, mean=(-1.1, 0.0), sd=(1.0, 0.7),
    ...             corr=0.0, max_n=30)
    >>> blrm.next_dose([(0, 3, 0), (1, 3, 0)])["next_level"]
    2
    """

    doses: Sequence
    _: KW_ONLY
    d_ref: float
    mean: Sequence[float]
    sd: Sequence[float]
    corr: float
    max_n: int
    target_interval: tuple[float, float] = (0.16, 0.33)
    ewoc: float = 0.25
    cohort_size: int = 3
    start_level: int = 0
    no_skip: bool = True
    min_at_mtd: int | None = 6
    min_n: int = 0
    tite: bool = False
    window: float | None = None
    treatment: str = "period_exposure"
    grid_size: int = BLRM_GRID_SIZE
    half_width: float = BLRM_HALF_WIDTH
    _level_doses: np.ndarray = field(init=False, repr=False, compare=False)
    _level_weights: np.ndarray | None = field(init=False, repr=False, compare=False)
    _prior: BLRMGridPosterior = field(init=False, repr=False, compare=False)
    _cache: RowCache = field(default_factory=RowCache, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sets = object.__setattr__
        sets(self, "tite", _check_bool("tite", self.tite))
        sets(self, "window", _check_window(self.window, self.tite))
        if self.treatment not in TREATMENTS:
            raise SpecError(
                f"treatment = {self.treatment!r} is invalid: allowed values are {list(TREATMENTS)}"
            )
        levels, d, w = _parse_levels(self.doses, self.window, self.treatment)
        sets(self, "doses", levels)
        sets(self, "_level_doses", d)
        sets(self, "_level_weights", w)
        sets(self, "d_ref", check_positive("d_ref", self.d_ref))
        sets(self, "mean", _pair("mean", self.mean, positive=False))
        sets(self, "sd", _pair("sd", self.sd, positive=True))
        corr = check_real("corr", self.corr)
        if not abs(corr) < 1:
            raise SpecError(f"corr = {self.corr!r} is invalid: it must satisfy |corr| < 1")
        sets(self, "corr", corr)
        try:
            lo, hi = self.target_interval
        except (TypeError, ValueError):
            raise SpecError(
                f"target_interval = {self.target_interval!r} is invalid: it must be two "
                "increasing probabilities in (0, 1)"
            ) from None
        lo, hi = check_prob("target_interval[0]", lo), check_prob("target_interval[1]", hi)
        if not lo < hi:
            raise SpecError(
                f"target_interval = {self.target_interval!r} is invalid: it must be two "
                "increasing probabilities in (0, 1)"
            )
        sets(self, "target_interval", (lo, hi))
        sets(self, "ewoc", check_prob("ewoc", self.ewoc))
        sets(self, "max_n", check_int("max_n", self.max_n, 1))
        sets(self, "cohort_size", check_int("cohort_size", self.cohort_size, 1))
        sets(self, "start_level", check_start_level(self.start_level, len(levels)))
        sets(self, "no_skip", _check_bool("no_skip", self.no_skip))
        if self.min_at_mtd is not None:
            sets(self, "min_at_mtd", check_int("min_at_mtd", self.min_at_mtd, 1))
        sets(self, "min_n", check_int("min_n", self.min_n, 0))
        zeros = np.zeros(len(levels))
        sets(self, "_prior", self._engine(zeros, zeros))

    @property
    def name(self) -> str:
        """``"BLRM"`` or ``"TITE-BLRM"``."""
        return "TITE-BLRM" if self.tite else "BLRM"

    @property
    def n_levels(self) -> int:
        """Number of dose levels."""
        return len(self.doses)

    def _engine(self, n, y) -> BLRMGridPosterior:
        return blrm_grid_posterior(
            self._level_doses,
            self._level_weights,
            n,
            y,
            d_ref=self.d_ref,
            mean=self.mean,
            sd=self.sd,
            corr=self.corr,
            grid_size=self.grid_size,
            half_width=self.half_width,
        )

    def _probs_of(self, post: BLRMGridPosterior) -> np.ndarray:
        """``(b, K, 3)`` interval probabilities of the levels."""
        return post.interval_probs(
            self._level_doses, self.target_interval, weights=self._level_weights
        )

    def _from_counts(self, rows: np.ndarray) -> np.ndarray:
        k = self.n_levels
        return self._probs_of(self._engine(rows[:, :k], rows[:, k:])).reshape(rows.shape[0], -1)

    def _tite_probs(self, trials: Trials) -> np.ndarray:
        prior = self._prior
        d, w = as_regimens(self._level_doses, self._level_weights, levels=None)
        eta = (
            prior.log_alpha[:, None, None]
            + np.exp(prior.log_beta)[:, None, None] * np.log(d / self.d_ref)[None]
        )
        logp, log1m = combine_periods(log_expit(eta), log_expit(-eta), w)
        out = np.empty((trials.batch_size, self.n_levels, 3))
        for s in range(0, trials.batch_size, ENGINE_CHUNK):
            part = Trials(
                trials.level[s : s + ENGINE_CHUNK],
                trials.dlt[s : s + ENGINE_CHUNK],
                trials.weight[s : s + ENGINE_CHUNK],
                trials.current[s : s + ENGINE_CHUNK],
            )
            lw = tite_log_weights(prior.log_weights[0], logp, log1m, part)
            post = BLRMGridPosterior(
                prior.log_alpha,
                prior.log_beta,
                lw,
                d_ref=prior.d_ref,
                mean=prior.mean,
                sd=prior.sd,
                corr=prior.corr,
                grid_size=prior.grid_size,
                half_width=prior.half_width,
            )
            out[s : s + ENGINE_CHUNK] = self._probs_of(post)
        return out

    def interval_probs(self, trials: Trials) -> np.ndarray:
        """Posterior under-dosing, target and over-dosing probabilities per level.

        Non-TITE: each distinct row of counts once (cached); TITE: every trial.

        Parameters
        ----------
        trials : Trials

        Returns
        -------
        ndarray, shape (B, K, 3)
        """
        self._check_trials(trials)
        if self.tite:
            return self._tite_probs(trials)
        n, y = trials.counts(self.n_levels)
        rows = np.concatenate([n, y], axis=1)
        out, _ = self._cache.lookup(rows, _in_chunks(self._from_counts))
        return out.reshape(trials.batch_size, self.n_levels, 3)

    def unique_rows(self, trials: Trials) -> int:
        """Number of distinct rows of counts in ``trials`` (what a non-TITE call computes)."""
        n, y = trials.counts(self.n_levels)
        return int(np.unique(np.concatenate([n, y], axis=1), axis=0).shape[0])

    def decide(self, trials: Trials) -> Decision:
        """The BLRM-EWOC decision for a batch of trials (class docstring).

        Parameters
        ----------
        trials : Trials

        Returns
        -------
        Decision
        """
        return self.decide_with(trials, self.interval_probs(trials))

    def decide_with(self, trials: Trials, probs) -> Decision:
        """The decision rule applied to interval probabilities from any engine.

        Parameters
        ----------
        trials : Trials
        probs : array_like, shape (B, K, 3)
            ``P(p < lo)``, ``P(lo <= p <= hi)``, ``P(p > hi)`` per trial and level (the
            grid's :meth:`interval_probs`, or MCMC estimates to check it).

        Returns
        -------
        Decision
        """
        self._check_trials(trials)
        k = self.n_levels
        probs = np.asarray(probs, dtype=float)
        if probs.shape != (trials.batch_size, k, 3):
            raise SpecError(
                f"probs must have shape (B, K, 3) = ({trials.batch_size}, {k}, 3); "
                f"got {probs.shape}"
            )
        target, over = probs[..., 1], probs[..., 2]
        admissible = over < self.ewoc
        enrolled = trials.enrolled(k)
        total = enrolled.sum(axis=1)
        ceiling = ceiling_no_skip(enrolled, trials.current, k) if self.no_skip else k - 1
        reach = admissible & (np.arange(k)[None, :] <= np.asarray(ceiling).reshape(-1, 1))
        rec = np.argmax(np.where(reach, target, -1.0), axis=1)
        tried = admissible & (enrolled > 0)
        selected = np.where(tried.any(axis=1), np.argmax(np.where(tried, target, -1.0), axis=1), -1)

        started = total > 0
        none = started & ~reach.any(axis=1)
        enough = np.zeros(rec.shape, dtype=bool)
        if self.min_at_mtd is not None:
            n_eval, _ = trials.counts(k)
            enough = (
                started & ~none & (at_level(n_eval, rec) >= self.min_at_mtd) & (total >= self.min_n)
            )
        at_max = started & ~none & ~enough & (total >= self.max_n)
        reason = np.full(rec.shape, CONTINUE, dtype=object)
        reason[enough] = ENOUGH_AT_MTD
        reason[at_max] = MAX_N
        reason[none] = ALL_TOO_TOXIC
        selected = np.where(enough, rec, np.where(none, -1, selected))
        next_level = np.where(started, rec, trials.current)
        return make_decision(next_level, none | enough | at_max, selected, reason)


def _pair(name: str, value, *, positive: bool) -> tuple[float, float]:
    """Two finite numbers (``positive``: > 0) as a tuple."""
    try:
        arr = np.asarray(value, dtype=float) if not isinstance(value, str) else np.array([])
    except (TypeError, ValueError):
        arr = np.array([])
    if arr.shape != (2,) or not np.isfinite(arr).all() or (positive and (arr <= 0).any()):
        allowed = "two numbers > 0" if positive else "two finite numbers"
        raise SpecError(
            f"{name} = {value!r} is invalid: it must be {allowed} (log_alpha, log_beta)"
        )
    return float(arr[0]), float(arr[1])
