"""Dose-escalation trial simulator: operating characteristics of designs on common patients.

:func:`simulate` runs every design of a comparison on the *same* simulated patients
(common random numbers) under each :class:`Scenario` of true DLT probabilities, and returns
a :class:`SimulationResult` of operating characteristics with Monte Carlo standard errors.

The simulated patients
----------------------
Trial ``i`` draws its numbers from child ``i`` of ``numpy.random.SeedSequence(seed)``
(``SeedSequence(seed).spawn(n_trials)[i]``, built directly as
``SeedSequence(seed, spawn_key=(i,))``), whatever the batch layout or the number of workers:
``numpy.random.default_rng(child).random(3 * M)`` read as ``M`` rows of three, one per
patient ``j`` in order of enrolment (``M``: the largest ``max_n`` of the designs):

* ``u[j]``, the patient's tolerance: patient ``j`` has a DLT at level ``d`` iff
  ``u[j] < p_true[d]`` (so a patient with a DLT at a level would have one at every more
  toxic level, and the same patients meet every design and every scenario);
* an arrival gap ``-log(1 - v[j]) / accrual_rate`` (exponential);
* a DLT time ``w[j] * window`` (uniform within the DLT window), used only for a DLT.

Patient ``j``'s numbers do not depend on ``M``: adding a design with a larger ``max_n`` to
a comparison leaves the others' results unchanged.

The trial's clock
-----------------
* A non-TITE design decides when the last cohort has completed its DLT window; patients
  are not enrolled meanwhile. Arrivals are Poisson: a patient who comes while enrolment is
  suspended goes elsewhere, so (memorylessness) the next patient is enrolled a gap after
  the later of the previous enrolment and the reopening.
* A TITE design (``design.tite``) never suspends: the level of each cohort is decided when
  its first patient arrives, from every earlier patient's DLT (if it occurred by then) or
  follow-up fraction ``min((t - entry) / window, 1)``; once ``max_n`` patients are
  enrolled the final decision waits for their complete follow-up.
* The trial ends at the stopping decision or when the last patient's DLT window ends,
  whichever is later (the trial *duration*, reported when ``accrual_rate`` and a window
  are known; time 0 is the trial's opening, the first patient arriving a gap later).

All trials of a batch step together (one call of ``design.decide`` per cohort on every
trial still running), so a design's cost per cohort is one batched decision.

Operating characteristics
-------------------------
Per design and scenario: the probability of selecting each level and of no selection,
of selecting the true MTD and an acceptable level (:attr:`Scenario.acceptable`), the mean
number of patients and DLTs per level and in total, overdosing (the mean fraction of a
trial's patients treated at an overdose level, :attr:`Scenario.overdose`, and the
probability that *more than* ``overdose_limit`` of a trial's patients were overdosed),
stopping by reason and before ``max_n``, and the duration (mean and quantiles). Every
proportion ``p`` comes with its Monte Carlo standard error ``sqrt(p (1 - p) / n_trials)``,
every mean with ``sd / sqrt(n_trials)``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayesblina.core.parallel import run_batches
from bayesblina.design.checks import check_int, check_positive, check_prob
from bayesblina.design.escalation_rules import MAX_N, REASONS, Decision, EscalationDesign, Trials
from bayesblina.errors import SpecError

if TYPE_CHECKING:
    import distributed
    from matplotlib.figure import Figure

__all__ = [
    "REASON_CODES",
    "Scenario",
    "SimulationResult",
    "oc_figure",
    "simulate",
    "simulate_batch",
    "trial_draws",
]

#: Reasons a simulated trial may stop with, by code (the last: a design's own reason code
#: that is none of :data:`~bayesblina.design.escalation_rules.REASONS`).
REASON_CODES = (*REASONS, "other")
_CODE = {r: i for i, r in enumerate(REASON_CODES)}
#: Quantiles of the trial duration reported.
DURATION_QUANTILES = (0.1, 0.5, 0.9)


# --------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """True DLT probabilities per dose level, and what counts as a correct selection.

    Give at least one of ``target``, ``target_interval`` and ``true_mtd``:

    * the true MTD (:attr:`mtd`) is ``true_mtd`` if given, otherwise the level whose DLT
      probability is closest to ``target`` (default: the middle of ``target_interval``;
      ties go to the lower level), or -1 (no level) when ``target_interval`` is given and
      even the lowest level's probability is above it;
    * the acceptable levels (:attr:`acceptable`, "correct selection") are those whose
      probability lies in ``target_interval`` (closed), or the true MTD alone when there
      is no interval or no level in it; none when the MTD is -1 (then stopping without a
      selection is the correct decision);
    * the overdose levels (:attr:`overdose`) are those above ``target_interval`` (``p >
      hi``), or without an interval those above the true MTD (every level if it is -1).

    Parameters
    ----------
    name : str
        Short name of the scenario.
    probabilities : sequence of float
        True DLT probability of each level, in [0, 1], non-decreasing unless
        ``allow_non_monotone``. This and the next arguments are keyword-only after it.
    target : float, optional
        Target DLT probability in (0, 1).
    target_interval : (float, float), optional
        Acceptable DLT probabilities ``lo < hi`` in (0, 1).
    true_mtd : int, optional
        0-based true MTD, or -1 for none.
    labels : sequence of str, optional
        One label per level (a dose, a stepwise regimen); default ``"L0"``, ``"L1"``, ...
    allow_non_monotone : bool, default False

    Raises
    ------
    SpecError
        Naming the argument, the value and what is allowed.

    Examples
    --------
    >>> s = Scenario("mid", [0.05, 0.12, 0.25, 0.4], target_interval=(0.16, 0.33))
    >>> s.mtd, s.acceptable, s.overdose.tolist()
    (2, (2,), [False, False, False, True])
    """

    name: str
    probabilities: Sequence[float]
    _: KW_ONLY
    target: float | None = None
    target_interval: tuple[float, float] | None = None
    true_mtd: int | None = None
    labels: Sequence[str] | None = None
    allow_non_monotone: bool = False
    _mtd: int = field(init=False, repr=False, compare=False)
    _acceptable: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sets = object.__setattr__
        if not isinstance(self.name, str) or not self.name:
            raise SpecError(f"name = {self.name!r} is invalid: it must be a non-empty string")
        try:
            p = np.asarray(self.probabilities, dtype=float)
        except (TypeError, ValueError):
            p = np.array([np.nan])
        if p.ndim != 1 or p.size == 0 or not np.isfinite(p).all():
            raise SpecError(
                f"probabilities = {self.probabilities!r} is invalid: it must be a non-empty "
                "sequence of numbers in [0, 1], one per dose level"
            )
        if ((p < 0) | (p > 1)).any():
            bad = float(p[(p < 0) | (p > 1)][0])
            raise SpecError(
                f"probabilities = {p.tolist()} is invalid: {bad} lies outside [0, 1] "
                "(a DLT probability)"
            )
        if not self.allow_non_monotone and (np.diff(p) < 0).any():
            raise SpecError(
                f"probabilities = {p.tolist()} is invalid: they must be non-decreasing in "
                "the dose (or pass allow_non_monotone=True)"
            )
        sets(self, "probabilities", tuple(float(x) for x in p))
        k = p.size
        if self.target is not None:
            sets(self, "target", check_prob("target", self.target))
        if self.target_interval is not None:
            try:
                lo, hi = self.target_interval
                lo, hi = check_prob("target_interval[0]", lo), check_prob("target_interval[1]", hi)
            except (TypeError, ValueError):
                raise SpecError(
                    f"target_interval = {self.target_interval!r} is invalid: it must be two "
                    "increasing probabilities in (0, 1)"
                ) from None
            if not lo < hi:
                raise SpecError(
                    f"target_interval = {self.target_interval!r} is invalid: it must be two "
                    "increasing probabilities in (0, 1)"
                )
            sets(self, "target_interval", (lo, hi))
        if self.true_mtd is not None:
            allowed = f"-1 (no level) or 0..{k - 1} (0-based levels of the {k} doses)"
            mtd = check_int("true_mtd", self.true_mtd, -1, allowed=allowed)
            if mtd >= k:
                raise SpecError(
                    f"true_mtd = {self.true_mtd!r} is invalid: allowed values are {allowed}"
                )
            sets(self, "true_mtd", mtd)
        if self.target is None and self.target_interval is None and self.true_mtd is None:
            raise SpecError(
                f"scenario {self.name!r}: give target, target_interval or true_mtd, which "
                "define a correct selection"
            )
        if self.labels is None:
            sets(self, "labels", tuple(f"L{i}" for i in range(k)))
        else:
            labels = tuple(str(x) for x in self.labels)
            if len(labels) != k:
                raise SpecError(
                    f"labels = {list(self.labels)!r} is invalid: it must have one label per "
                    f"level ({k})"
                )
            sets(self, "labels", labels)
        sets(self, "allow_non_monotone", bool(self.allow_non_monotone))
        sets(self, "_mtd", self._find_mtd(p))
        if self._mtd < 0:
            acceptable: tuple[int, ...] = ()
        elif self.target_interval is not None:
            lo, hi = self.target_interval
            inside = tuple(int(i) for i in np.flatnonzero((p >= lo) & (p <= hi)))
            acceptable = inside or (self._mtd,)
        else:
            acceptable = (self._mtd,)
        sets(self, "_acceptable", acceptable)

    def _find_mtd(self, p: np.ndarray) -> int:
        if self.true_mtd is not None:
            return self.true_mtd
        if self.target_interval is not None and p[0] > self.target_interval[1]:
            return -1
        target = self.target if self.target is not None else sum(self.target_interval) / 2
        return int(np.argmin(np.abs(p - target)))  # first minimum: ties to the lower level

    @property
    def n_levels(self) -> int:
        """Number of dose levels."""
        return len(self.probabilities)

    @property
    def p(self) -> np.ndarray:
        """The true DLT probabilities as an array."""
        return np.asarray(self.probabilities)

    @property
    def mtd(self) -> int:
        """0-based true MTD (-1: none)."""
        return self._mtd

    @property
    def acceptable(self) -> tuple[int, ...]:
        """Levels whose selection is correct (empty: no selection is correct)."""
        return self._acceptable

    @property
    def overdose(self) -> np.ndarray:
        """``(K,)`` bool: levels that overdose a patient (class docstring)."""
        if self.target_interval is not None:
            return self.p > self.target_interval[1]
        return np.arange(self.n_levels) > self._mtd

    def to_dict(self) -> dict[str, Any]:
        """The scenario as JSON-able data (with its derived MTD and acceptable levels)."""
        return {
            "name": self.name,
            "probabilities": list(self.probabilities),
            "target": self.target,
            "target_interval": None if self.target_interval is None
            else list(self.target_interval),
            "true_mtd": self.mtd,
            "acceptable": list(self.acceptable),
            "overdose": self.overdose.tolist(),
            "labels": list(self.labels),
        }


# --------------------------------------------------------------------------------------
# One batch of trials
# --------------------------------------------------------------------------------------


def trial_draws(seed: int, trials: Sequence[int] | np.ndarray, max_patients: int) -> np.ndarray:
    """The uniform draws of the given trials: ``(len(trials), max_patients, 3)``.

    Trial ``i``'s draws come from child ``i`` of ``SeedSequence(seed)`` (module
    docstring): ``[..., 0]`` tolerance, ``[..., 1]`` arrival, ``[..., 2]`` DLT time.

    Parameters
    ----------
    seed : int
        Root seed (>= 0).
    trials : sequence of int
        Trial indices.
    max_patients : int
        Patients per trial ``M``.

    Returns
    -------
    ndarray, shape (len(trials), max_patients, 3)
    """
    size = 3 * max_patients
    out = np.empty((len(trials), size))
    for row, i in enumerate(trials):
        # child i of SeedSequence(seed).spawn(n), built without spawning the others
        child = np.random.SeedSequence(seed, spawn_key=(int(i),))
        out[row] = np.random.default_rng(child).random(size)
    return out.reshape(len(trials), max_patients, 3)


def _code(reasons: np.ndarray) -> np.ndarray:
    return np.array([_CODE.get(str(r), len(REASON_CODES) - 1) for r in reasons], dtype=np.int8)


def _enrol_times(gap: np.ndarray, open_t: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """Entry times ``(b, size)`` of a cohort's patients.

    Each enters a gap after the later of the previous entry and the reopening ``open_t``.
    """
    times = np.empty_like(gap)
    last = np.maximum(prev, open_t)
    for c in range(gap.shape[1]):
        last = last + gap[:, c]
        times[:, c] = last
    return times


def _run_design(
    design: EscalationDesign,
    p_true: np.ndarray,
    draws: np.ndarray,
    accrual_rate: float | None,
    window: float | None,
    keep_patients: bool,
) -> dict[str, np.ndarray]:
    """Every trial of a batch under one design: the design's per-trial outcomes."""
    b = draws.shape[0]
    k, cs, max_n = design.n_levels, design.cohort_size, design.max_n
    u = draws[:, :max_n, 0]
    timed = accrual_rate is not None
    gap = -np.log1p(-draws[:, :max_n, 1]) / accrual_rate if timed else None
    tite = bool(design.tite)
    level = np.full((b, max_n), -1, dtype=np.int64)
    tox = np.zeros((b, max_n), dtype=bool)
    entry = np.full((b, max_n), np.nan)
    dlt_at = entry.copy()
    selected = np.full(b, -1, dtype=np.int64)
    reason = np.zeros(b, dtype=np.int8)
    end = np.full(b, np.nan)
    open_t = np.zeros(b)  # when enrolment (re)opens: the last decision (non-TITE)
    next_level = np.full(b, design.start_level, dtype=np.int64)
    active = np.ones(b, dtype=bool)
    n_in = 0  # patients enrolled in every running trial (all trials step together)

    def finish(rows: np.ndarray, dec: Decision, at: np.ndarray | None, stop: np.ndarray,
               forced: bool) -> None:
        idx = rows[stop]
        selected[idx] = dec.selected[stop]
        codes = _code(dec.reason[stop])
        if forced:  # max_n reached but the design did not say stop
            codes[~dec.stop[stop]] = _CODE[MAX_N]
        reason[idx] = codes
        if timed and window is not None:
            last_end = entry[idx, n_in - 1] + window
            end[idx] = last_end if at is None else np.maximum(at[stop], last_end)
        active[idx] = False

    while active.any():
        rows = np.flatnonzero(active)
        size = min(cs, max_n - n_in)
        cols = slice(n_in, n_in + size)
        if tite and n_in > 0:
            # decide this cohort's level at its first patient's arrival, on partial data
            t = entry[rows, n_in - 1] + gap[rows, n_in]
            seen = level[rows, :n_in] >= 0
            obs = tox[rows, :n_in] & (dlt_at[rows, :n_in] <= t[:, None])
            frac = np.clip((t[:, None] - entry[rows, :n_in]) / window, 0.0, 1.0)
            weight = np.where(obs, 1.0, np.where(seen, frac, 0.0))
            dec = design.decide(Trials(level[rows, :n_in], obs, weight, next_level[rows]))
            stop = dec.stop
            finish(rows, dec, t, stop, forced=False)
            next_level[rows] = dec.next_level
            rows = rows[~stop]
            if rows.size == 0:
                break
        lv = next_level[rows]
        level[rows, cols] = lv[:, None]
        tox[rows, cols] = u[rows, cols] < p_true[lv][:, None]
        if timed:
            prev = entry[rows, n_in - 1] if n_in > 0 else np.zeros(rows.size)
            entry[rows, cols] = _enrol_times(gap[rows, cols], open_t[rows], prev)
            if window is not None:
                dlt_at[rows, cols] = entry[rows, cols] + draws[rows, cols, 2] * window
        n_in += size
        if tite and n_in < max_n:
            continue  # the next decision is at the next cohort's arrival
        # complete follow-up of every patient: non-TITE after each cohort, TITE at the end
        at = entry[rows, n_in - 1] + window if timed and window is not None else None
        enrolled = level[rows, :n_in] >= 0
        dec = design.decide(
            Trials(level[rows, :n_in], tox[rows, :n_in], enrolled.astype(float), lv)
        )
        forced = n_in >= max_n
        stop = dec.stop | forced
        finish(rows, dec, at, stop, forced=forced)
        next_level[rows] = dec.next_level
        if at is not None:
            open_t[rows] = at
        if forced:
            break

    enrolled = level >= 0
    flat = (np.arange(b)[:, None] * k + level)[enrolled]
    n_per = np.bincount(flat, minlength=b * k).reshape(b, k)
    y_per = np.bincount((np.arange(b)[:, None] * k + level)[enrolled & tox],
                        minlength=b * k).reshape(b, k)
    out = {"selected": selected, "reason": reason, "n": n_per, "y": y_per, "end": end}
    if keep_patients:
        out.update(level=level, tox=tox, entry=entry)
    return out


def simulate_batch(
    designs: Sequence[EscalationDesign],
    scenario: Scenario,
    seed: int,
    batch_index: int,
    batch_size: int,
    n_trials: int,
    accrual_rate: float | None = None,
    window: float | None = None,
    *,
    keep_patients: bool = False,
) -> dict[str, np.ndarray]:
    """Trials ``batch_index * batch_size`` onwards (at most ``batch_size``) of every design.

    A pure function of its arguments: trial ``i`` uses child ``i`` of
    ``SeedSequence(seed)`` (:func:`trial_draws`) whatever the batch layout, and every
    design meets the same patients.

    Parameters
    ----------
    designs : sequence of EscalationDesign
        ``D`` designs with the scenario's number of levels.
    scenario : Scenario
    seed : int
    batch_index, batch_size, n_trials : int
        The batch's trials are ``range(batch_index * batch_size, min(..., n_trials))``.
    accrual_rate : float, optional
        Patients per unit of time (the window's unit); required by a TITE design.
    window : float, optional
        DLT window length; required by a TITE design (and for the duration).
    keep_patients : bool, default False
        Also return each patient's ``level``, ``tox`` (true DLT) and ``entry`` time, and
        the ``draws``.

    Returns
    -------
    dict of ndarray
        ``trial`` ``(b,)``; per design (leading axis ``D``): ``selected`` ``(D, b)`` (-1:
        none), ``reason`` (codes of :data:`REASON_CODES`), ``n`` and ``y`` ``(D, b, K)``
        patients and DLTs per level, ``end`` (duration, NaN when not timed); with
        ``keep_patients`` ``level``, ``tox``, ``entry`` ``(D, b, M)``, ``draws``.
    """
    start = batch_index * batch_size
    trials = np.arange(start, min(start + batch_size, n_trials))
    m = max(d.max_n for d in designs)
    draws = trial_draws(seed, trials, m)
    per = [_run_design(d, scenario.p, draws, accrual_rate, window, keep_patients)
           for d in designs]
    out = {"trial": trials}
    for name in per[0]:
        if name in ("level", "tox", "entry"):  # pad to M columns (designs' max_n differ)
            fill = {"level": -1, "tox": False, "entry": np.nan}[name]
            arrays = [np.pad(r[name], ((0, 0), (0, m - r[name].shape[1])),
                             constant_values=fill) for r in per]
        else:
            arrays = [r[name] for r in per]
        out[name] = np.stack(arrays)
    if keep_patients:
        out["draws"] = draws
    return out


@dataclass(frozen=True)
class _BatchTask:
    """Batch ``index`` of a simulation: scenario ``index // per``, batch ``index % per``.

    A module-level class, so that Dask workers can unpickle it.
    """

    designs: tuple[EscalationDesign, ...]
    scenarios: tuple[Scenario, ...]
    seed: int
    batch_size: int
    n_trials: int
    accrual_rate: float | None
    window: float | None

    @property
    def per_scenario(self) -> int:
        return math.ceil(self.n_trials / self.batch_size)

    def __call__(self, index: int) -> dict[str, np.ndarray]:
        s, b = divmod(index, self.per_scenario)
        return simulate_batch(self.designs, self.scenarios[s], self.seed, b, self.batch_size,
                              self.n_trials, self.accrual_rate, self.window)


# --------------------------------------------------------------------------------------
# The simulation and its operating characteristics
# --------------------------------------------------------------------------------------


def _se(p: np.ndarray | float, n: int) -> np.ndarray | float:
    return np.sqrt(np.asarray(p) * (1 - np.asarray(p)) / n)


def _mean_se(x: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    n = x.shape[axis]
    sd = x.std(axis=axis, ddof=1) if n > 1 else np.zeros_like(x.mean(axis=axis))
    return x.mean(axis=axis), sd / np.sqrt(n)


def _plain(value: Any) -> Any:
    """JSON-able Python values (NaN as None)."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


@dataclass(frozen=True)
class SimulationResult:
    """Operating characteristics of designs × scenarios, from :func:`simulate`.

    Attributes
    ----------
    designs : tuple of str
        Design labels, in the order given.
    scenarios : tuple of Scenario
    settings : dict
        ``n_trials``, ``seed``, ``accrual_rate``, ``window``, ``batch_size``,
        ``overdose_limit`` and each design's ``repr``.
    trials : pandas.DataFrame
        One row per design, scenario and trial: ``selected`` (-1: none), ``reason``,
        ``n_total``, ``dlt_total``, ``n_overdosed``, ``duration``, and ``n_<level>``,
        ``dlt_<level>`` per level (0-based index).
    summary : pandas.DataFrame
        One row per design and scenario: ``p_correct`` (an acceptable level selected, or
        no selection where none is acceptable), ``p_true_mtd``, ``p_none``, ``mean_n``,
        ``mean_dlt``, ``mean_frac_overdosed``, ``p_overdosed_above_limit`` (more than
        ``overdose_limit`` of the trial's patients overdosed), ``p_early_stop`` (fewer than
        the design's ``max_n`` patients), each with ``se_<name>``; ``duration_mean``,
        ``se_duration_mean`` and quantiles ``duration_q10``, ``duration_q50``,
        ``duration_q90`` (NaN when not timed).
    selection : pandas.DataFrame
        ``design``, ``scenario``, ``level`` (-1: none), ``label``, ``p_true``,
        ``acceptable``, ``prob``, ``se``.
    patients : pandas.DataFrame
        ``design``, ``scenario``, ``level``, ``label``, ``p_true``, ``mean_n``, ``se_n``,
        ``mean_dlt``, ``se_dlt``.
    stopping : pandas.DataFrame
        ``design``, ``scenario``, ``reason``, ``prob``, ``se``: the reason each trial
        stopped with.
    """

    designs: tuple[str, ...]
    scenarios: tuple[Scenario, ...]
    settings: dict[str, Any]
    trials: pd.DataFrame
    summary: pd.DataFrame
    selection: pd.DataFrame
    patients: pd.DataFrame
    stopping: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """Settings, scenarios and the four summary tables as JSON-able data."""

        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: _plain(v) for k, v in row.items()} for row in df.to_dict("records")]

        return {
            "settings": {k: _plain(v) for k, v in self.settings.items()},
            "designs": list(self.designs),
            "scenarios": [s.to_dict() for s in self.scenarios],
            "summary": records(self.summary),
            "selection": records(self.selection),
            "patients": records(self.patients),
            "stopping": records(self.stopping),
        }

    def to_json(self, path: str | Path | None = None, *, indent: int = 2) -> str:
        """:meth:`to_dict` as JSON text (per-trial rows left out), written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


def _labels(designs) -> tuple[tuple[str, ...], tuple[EscalationDesign, ...]]:
    if isinstance(designs, Mapping):
        items = [(str(k), v) for k, v in designs.items()]
    else:
        if isinstance(designs, (str, bytes)) or not isinstance(designs, Sequence):
            designs = [designs]
        items, seen = [], {}
        for d in designs:
            base = str(getattr(d, "name", type(d).__name__))
            seen[base] = seen.get(base, 0) + 1
            items.append((base if seen[base] == 1 else f"{base} ({seen[base]})", d))
    if not items:
        raise SpecError("designs = [] is invalid: give at least one design")
    for label, d in items:
        if not isinstance(d, EscalationDesign):
            raise SpecError(
                f"designs[{label!r}] = {d!r} is invalid: it must be an escalation design "
                "(name, n_levels, cohort_size, max_n, start_level, tite, decide, next_dose)"
            )
    return tuple(x[0] for x in items), tuple(x[1] for x in items)


def _check_window(designs, window) -> float | None:
    """The DLT window: ``window`` or the TITE designs' common one (which it must equal)."""
    own = {float(d.window) for d in designs if getattr(d, "window", None) is not None
           and d.tite}
    if window is not None:
        window = check_positive("window", window)
        if own - {window}:
            raise SpecError(
                f"window = {window!r} is invalid: the TITE designs' DLT window is "
                f"{sorted(own)}; a simulation has one DLT window"
            )
        return window
    if len(own) > 1:
        raise SpecError(
            f"window = None is invalid: the TITE designs have different DLT windows "
            f"{sorted(own)}; give the simulation's window"
        )
    return own.pop() if own else None


def simulate(
    designs: Sequence[EscalationDesign] | Mapping[str, EscalationDesign] | EscalationDesign,
    scenarios: Sequence[Scenario] | Scenario,
    n_trials: int,
    seed: int,
    *,
    accrual_rate: float | None = None,
    window: float | None = None,
    batch_size: int = 1000,
    workers: int | None = None,
    client: distributed.Client | None = None,
    scheduler: str | None = None,
    out_dir: str | Path | None = None,
    progress: bool | Callable[[int, int], None] = True,
    overdose_limit: float = 0.5,
) -> SimulationResult:
    """Simulate ``n_trials`` trials of every design under every scenario, on common patients.

    Batches of ``batch_size`` trials (per scenario) go to
    :func:`bayesblina.core.parallel.run_batches`: in this process, on a
    :class:`distributed.LocalCluster` of the local cores, or on a Dask cluster. The result
    does not depend on the batch size or the number of workers (module docstring).

    Parameters
    ----------
    designs : EscalationDesign, sequence of them, or mapping of label to design
        Labels default to the designs' names (a repeated name gets `` (2)``, ...). Every
        design must have the scenarios' number of levels.
    scenarios : Scenario or sequence of Scenario
    n_trials : int
        Trials per scenario (>= 1).
    seed : int
        Root seed (>= 0).
    accrual_rate : float, optional
        Patients per unit of time (the DLT window's unit); required by a TITE design.
    window : float, optional
        DLT window length; default the TITE designs' window (which it must equal).
        Required by a TITE design; with ``accrual_rate``, gives the trials' duration.
    batch_size : int, default 1000
    workers : int, optional
        Local worker processes (default every core where that pays, as
        :func:`~bayesblina.core.parallel.run_batches` decides from the first batch's time;
        1: in this process, the fastest for the rule-based designs, whose batches take
        milliseconds).
    client, scheduler : optional
        A Dask client, or a scheduler address (:func:`~bayesblina.core.parallel.run_batches`).
    out_dir : str or Path, optional
        Folder of finished batches, reused by a rerun of the same simulation.
    progress : bool or callable, default True
        As :func:`~bayesblina.core.parallel.run_batches` (a callable gets ``(done, total)``).
    overdose_limit : float, default 0.5
        ``p_overdosed_above_limit`` is the probability that more than this fraction of
        a trial's patients were treated at an overdose level, in [0, 1).

    Returns
    -------
    SimulationResult

    Raises
    ------
    SpecError
        Bad arguments (named, with the value and what is allowed), a scenario whose number
        of levels is not the designs', a TITE design without ``accrual_rate`` or window.

    Examples
    --------
    >>> from bayesblina.design.escalation_rules import BOIN
    >>> res = simulate(BOIN(4, 0.25, max_n=12), Scenario("s", [0.1, 0.25, 0.4, 0.5],
    ...                target=0.25), 200, seed=1, workers=1, progress=False)
    >>> res.summary[["design", "scenario"]].values.tolist()
    [['BOIN', 's']]
    """
    labels, designs = _labels(designs)
    if isinstance(scenarios, Scenario):
        scenarios = [scenarios]
    scenarios = tuple(scenarios)
    if not scenarios or not all(isinstance(s, Scenario) for s in scenarios):
        raise SpecError(f"scenarios = {scenarios!r} is invalid: give one or more Scenario")
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise SpecError(f"scenarios have repeated names {names}: each needs its own name")
    k = designs[0].n_levels
    for label, d in zip(labels, designs, strict=True):
        if d.n_levels != k:
            raise SpecError(
                f"design {label!r} has {d.n_levels} levels and {labels[0]!r} {k}: designs "
                "compared on the same patients must have the same levels"
            )
    for s in scenarios:
        if s.n_levels != k:
            raise SpecError(
                f"scenario {s.name!r} has {s.n_levels} probabilities: it must have one per "
                f"dose level of the designs ({k})"
            )
    n_trials = check_int("n_trials", n_trials, 1)
    seed = check_int("seed", seed, 0)
    batch_size = check_int("batch_size", batch_size, 1)
    if accrual_rate is not None:
        accrual_rate = check_positive("accrual_rate", accrual_rate)
    window = _check_window(designs, window)
    overdose_limit = check_prob("overdose_limit", overdose_limit, closed=True)
    for label, d in zip(labels, designs, strict=True):
        if d.tite and (accrual_rate is None or window is None):
            raise SpecError(
                f"design {label!r} is a TITE design: give accrual_rate (patients per unit "
                f"of time) and the DLT window (got accrual_rate = {accrual_rate!r}, "
                f"window = {window!r})"
            )

    task = _BatchTask(designs, scenarios, seed, batch_size, n_trials, accrual_rate, window)
    settings = {"n_trials": n_trials, "seed": seed, "accrual_rate": accrual_rate,
                "window": window, "batch_size": batch_size, "overdose_limit": overdose_limit}
    key = {"job": "bayesblina.design.simulation", **settings,
           "designs": [f"{lab}: {d!r}" for lab, d in zip(labels, designs, strict=True)],
           "scenarios": [s.to_dict() for s in scenarios]}
    batches = run_batches(task, task.per_scenario * len(scenarios), key=key, client=client,
                          scheduler=scheduler, workers=workers, out_dir=out_dir,
                          progress=progress)
    settings["designs"] = {lab: repr(d) for lab, d in zip(labels, designs, strict=True)}
    per = task.per_scenario
    merged = [
        {name: np.concatenate([b[name] for b in batches[s * per:(s + 1) * per]],
                              axis=0 if name == "trial" else 1)
         for name in batches[0]}
        for s in range(len(scenarios))
    ]
    return _summarise(labels, designs, scenarios, merged, settings, overdose_limit)


def _summarise(labels, designs, scenarios, merged, settings, limit) -> SimulationResult:
    n_trials = settings["n_trials"]
    timed = settings["accrual_rate"] is not None and settings["window"] is not None
    trial_frames, summary, selection, patients, stopping = [], [], [], [], []
    for s, arrays in zip(scenarios, merged, strict=True):
        k = s.n_levels
        over = s.overdose
        for di, (label, design) in enumerate(zip(labels, designs, strict=True)):
            sel, code = arrays["selected"][di], arrays["reason"][di]
            n, y = arrays["n"][di], arrays["y"][di]
            n_tot, y_tot = n.sum(axis=1), y.sum(axis=1)
            n_over = n[:, over].sum(axis=1)
            frac_over = n_over / np.maximum(n_tot, 1)
            end = arrays["end"][di]
            frame = pd.DataFrame({
                "design": label, "scenario": s.name, "trial": arrays["trial"],
                "selected": sel, "reason": np.asarray(REASON_CODES, dtype=object)[code],
                "n_total": n_tot, "dlt_total": y_tot, "n_overdosed": n_over,
                "duration": end,
            })
            for lv in range(k):
                frame[f"n_{lv}"] = n[:, lv]
                frame[f"dlt_{lv}"] = y[:, lv]
            trial_frames.append(frame)

            # correct: an acceptable level, or no selection where none is acceptable
            correct = np.isin(sel, s.acceptable) if s.acceptable else sel < 0
            row: dict[str, Any] = {"design": label, "scenario": s.name}
            for name, hit in (("p_correct", correct), ("p_true_mtd", sel == s.mtd),
                              ("p_none", sel < 0), ("p_overdosed_above_limit", frac_over > limit),
                              ("p_early_stop", n_tot < design.max_n)):
                p = hit.mean()
                row[name], row[f"se_{name}"] = p, _se(p, n_trials)
            for name, x in (("mean_n", n_tot), ("mean_dlt", y_tot),
                            ("mean_frac_overdosed", frac_over)):
                row[name], row[f"se_{name}"] = _mean_se(x.astype(float))
            if timed:
                row["duration_mean"], row["se_duration_mean"] = _mean_se(end)
                for q in DURATION_QUANTILES:
                    row[f"duration_q{round(100 * q)}"] = float(np.quantile(end, q))
            else:
                row["duration_mean"] = row["se_duration_mean"] = np.nan
                for q in DURATION_QUANTILES:
                    row[f"duration_q{round(100 * q)}"] = np.nan
            summary.append(row)

            for lv in range(-1, k):
                p = float((sel == lv).mean())
                selection.append({
                    "design": label, "scenario": s.name, "level": lv,
                    "label": "none" if lv < 0 else s.labels[lv],
                    "p_true": np.nan if lv < 0 else s.probabilities[lv],
                    "acceptable": (not s.acceptable) if lv < 0 else lv in s.acceptable,
                    "prob": p, "se": float(_se(p, n_trials))})
            mn, sn = _mean_se(n.astype(float))
            my, sy = _mean_se(y.astype(float))
            for lv in range(k):
                patients.append({
                    "design": label, "scenario": s.name, "level": lv, "label": s.labels[lv],
                    "p_true": s.probabilities[lv], "mean_n": mn[lv], "se_n": sn[lv],
                    "mean_dlt": my[lv], "se_dlt": sy[lv]})
            for ci, reason in enumerate(REASON_CODES):
                p = float((code == ci).mean())
                if p > 0 or reason in REASONS[1:]:
                    stopping.append({"design": label, "scenario": s.name, "reason": reason,
                                     "prob": p, "se": float(_se(p, n_trials))})
    return SimulationResult(
        labels, tuple(scenarios), settings,
        pd.concat(trial_frames, ignore_index=True), pd.DataFrame(summary),
        pd.DataFrame(selection), pd.DataFrame(patients), pd.DataFrame(stopping))


# --------------------------------------------------------------------------------------
# Figure
# --------------------------------------------------------------------------------------


def oc_figure(result: SimulationResult, scenarios: Sequence[str] | None = None) -> Figure:
    """Selection probability and mean patients per level, per design, one row per scenario.

    Left: P(select level) with its Monte Carlo SE (bars; "none" = no selection), the
    acceptable levels shaded. Right: mean patients per level.

    Parameters
    ----------
    result : SimulationResult
    scenarios : sequence of str, optional
        Scenario names to draw (default all).

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = list(scenarios) if scenarios is not None else [s.name for s in result.scenarios]
    by_name = {s.name: s for s in result.scenarios}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SpecError(f"scenarios = {unknown!r} are not in the result: {list(by_name)}")
    n_d = len(result.designs)
    fig, axes = plt.subplots(len(names), 2, figsize=(10, 2.9 * len(names)), squeeze=False)
    width = 0.8 / n_d
    for r, name in enumerate(names):
        s = by_name[name]
        k = s.n_levels
        ax_sel, ax_n = axes[r]
        x_sel = np.arange(k + 1)  # "none" first
        for lv in s.acceptable:
            ax_sel.axvspan(lv + 1 - 0.45, lv + 1 + 0.45, color="0.92", zorder=0)
        if not s.acceptable:
            ax_sel.axvspan(-0.45, 0.45, color="0.92", zorder=0)
        for di, label in enumerate(result.designs):
            sel = result.selection[(result.selection["design"] == label)
                                   & (result.selection["scenario"] == name)]
            pat = result.patients[(result.patients["design"] == label)
                                  & (result.patients["scenario"] == name)]
            off = (di - (n_d - 1) / 2) * width
            ax_sel.bar(x_sel + off, sel["prob"], width, yerr=sel["se"], label=label,
                       color=f"C{di}", capsize=2)
            ax_n.bar(np.arange(k) + off, pat["mean_n"], width, color=f"C{di}", label=label)
        ticks = ["none", *(f"{lab}\n{p:.2f}" for lab, p in zip(s.labels, s.p, strict=True))]
        ax_sel.set_xticks(x_sel, ticks, fontsize=7)
        ax_n.set_xticks(np.arange(k), ticks[1:], fontsize=7)
        ax_sel.set_ylabel("P(select)")
        ax_n.set_ylabel("mean patients")
        ax_sel.set_ylim(0, 1)
        mtd = s.labels[s.mtd] if s.mtd >= 0 else "none"
        ax_sel.set_title(f"{name}: selection (true MTD {mtd}; shaded: correct)", fontsize=9)
        ax_n.set_title(f"{name}: patients per level", fontsize=9)
    axes[0][0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig

