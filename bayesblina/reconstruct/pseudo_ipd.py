"""Plausible pseudo patient-level data for OS and RFS, from the published summaries only.

The paper (von Stackelberg et al., J Clin Oncol 2016) prints no Kaplan-Meier coordinates
and no numbers at risk: the curves of Fig 3 exist only as images. What it does print is
enough to pin the data down loosely:

* OS, all 70 patients at 5/15: KM median 7.5 months (95% CI 4.0-11.8), and the fate of
  every patient (Fig 1): 48 died, 14 completed the 2-year follow-up, 8 ended participation
  alive (6 withdrew consent, 1 physician decision, 1 lost to follow-up);
* RFS, the 27 responders: median 4.4 (2.3-7.6), 6-month RFS 42%, and each responder's fate
  (4 in remission at the end, 2 relapsed alive, 3 withdrew consent, 3 died in CR after
  alloHSCT, 15 relapsed and died);
* RFS by complete MRD response: median 7.3 (2.7-16.4) with (n = 14) and 1.9 (0.8-6.0)
  without (n = 12; the 27th responder has no MRD data).

:func:`reconstruct` draws data sets that respect every fate *exactly* and whose
lifelines Kaplan-Meier estimate reproduces the published medians (within
:data:`MEDIAN_TOL_MONTHS`), the 6-month RFS (within :data:`LANDMARK_TOL_POINTS`) and,
more loosely, the 95% CIs of the medians (within a factor :data:`CI_RATIO_TOL`). It is
approximate Bayesian computation by rejection: each candidate gets its own event-time
curve (a piecewise-constant density calibrated to the published numbers, with random
segment masses) and its own sample from it, and is kept only if its KM matches. The
spread across accepted reconstructions is therefore the uncertainty that the summaries
leave about the patient data; fitting a model to each reconstruction and pooling the
posteriors propagates it. Every choice made on the way is listed in :data:`ASSUMPTIONS`
(:func:`assumptions_table` gives it as a table for the report) and
:func:`check_reconstruction` gives, for one reconstruction, the comparison table with the
published values.

Times are in months from enrolment (a month is 365.25 / 12 days); all are > 0.
"""

from __future__ import annotations

import functools
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

from bayesblina.errors import DataError
from bayesblina.reconstruct.assumptions import (
    ASSUMPTIONS,
    CI_RATIO_TOL,
    DAYS_PER_MONTH,
    DIRICHLET_CONCENTRATION,
    ENDPOINTS,
    FIRST_ASSESSMENT_MONTHS,
    FOLLOW_UP_MONTHS,
    LANDMARK_TOL_POINTS,
    MEDIAN_TOL_MONTHS,
    Assumption,
    assumptions_table,
    check_endpoint,
)
from bayesblina.reconstruct.km import Z95, km_batch, lifelines_km, screen, within_ratio
from bayesblina.reconstruct.targets import Target, published_facts, published_targets, targets_of

__all__ = [
    "ASSUMPTIONS",
    "CI_RATIO_TOL",
    "DAYS_PER_MONTH",
    "DIRICHLET_CONCENTRATION",
    "ENDPOINTS",
    "FIRST_ASSESSMENT_MONTHS",
    "FOLLOW_UP_MONTHS",
    "LANDMARK_TOL_POINTS",
    "MEDIAN_TOL_MONTHS",
    "Assumption",
    "Reconstruction",
    "assumptions_table",
    "check_reconstruction",
    "published_targets",
    "reconstruct",
    "reconstruct_with_diagnostics",
    "reconstruction_spread",
    "stack_draws",
]

Endpoint = Literal["os", "rfs", "rfs_mrd"]


_BATCH = 8192
_DEFAULT_MAX_CANDIDATES = 50_000_000
_ENGINE_KEY = {"os": 1, "rfs": 2}


# --------------------------------------------------------------------------------------
# Checking one reconstruction
# --------------------------------------------------------------------------------------

_CHECK_COLUMNS = [
    "population", "quantity", "reconstructed", "published", "difference", "tolerance",
    "tolerance_kind", "within_tolerance", "criterion",
]


def _validate_frame(endpoint: str, data: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"{endpoint} data: expected a pandas DataFrame, got {type(data).__name__}")
    need = ["time", "event"] + (["complete_mrd"] if endpoint == "rfs_mrd" else [])
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise DataError(f"{endpoint} data: missing column(s) {missing}; it needs {need}")
    if data.empty:
        raise DataError(f"{endpoint} data: no patients")
    time = pd.to_numeric(data["time"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(time) | (time <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{endpoint} data row {i}: time must be a positive number of months "
                        f"(got {data['time'].iloc[i]!r})")
    for col in need[1:]:
        ok = data[col].isin([0, 1]).to_numpy()
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise DataError(f"{endpoint} data row {i}: {col} must be 0 or 1 "
                            f"(got {data[col].iloc[i]!r})")
    out = pd.DataFrame({"time": time, "event": data["event"].to_numpy(dtype=int)})
    if endpoint == "rfs_mrd":
        out["complete_mrd"] = data["complete_mrd"].to_numpy(dtype=int)
    return out


def check_reconstruction(
    endpoint: str, data: pd.DataFrame, *, ci_ratio: float | None = CI_RATIO_TOL
) -> pd.DataFrame:
    """Compare one reconstruction's Kaplan-Meier estimate with the published numbers.

    Parameters
    ----------
    endpoint : {"os", "rfs", "rfs_mrd"}
        Which endpoint ``data`` reconstructs.
    data : pandas.DataFrame
        One reconstruction: columns ``time`` (months, > 0) and ``event`` (0/1), plus
        ``complete_mrd`` (0/1) for ``"rfs_mrd"``; other columns are ignored.
    ci_ratio : float or None, optional
        Tolerance factor for the limits of the 95% CIs of the medians
        (:data:`CI_RATIO_TOL`); ``None`` reports them without making them a criterion.

    Returns
    -------
    pandas.DataFrame
        One row per compared quantity and population, with columns ``population``,
        ``quantity`` (``patients``, ``events``, ``median``, ``median_ci_low``,
        ``median_ci_high``, ``rfs_6_months_pct`` for RFS, ``median_followup``),
        ``reconstructed`` and ``published`` (``float64``; months, percent or counts),
        ``difference`` (reconstructed - published), ``tolerance`` (months, percentage
        points, a factor for the CI limits, 0 for counts; ``NaN`` when not a criterion),
        ``tolerance_kind`` (``"exact"``, ``"months"``, ``"points"``, ``"factor"``,
        ``"none"``), ``within_tolerance`` (``boolean``; ``<NA>`` when nothing to compare)
        and ``criterion`` (``bool``: whether :func:`reconstruct` requires it). The KM is
        lifelines' ``KaplanMeierFitter`` (median CI: its default log-log band);
        ``median_followup`` is the reverse-KM median, shown for information only.

    Raises
    ------
    DataError
        If ``endpoint`` is unknown, or ``data`` lacks a column, has a time that is not a
        positive number, or an ``event``/``complete_mrd`` value other than 0/1.
    """
    check_endpoint(endpoint)
    return _check(endpoint, _validate_frame(endpoint, data), ci_ratio)


def _check(endpoint: str, frame: pd.DataFrame, ci_ratio: float | None) -> pd.DataFrame:
    if endpoint == "rfs_mrd":
        parts = [(published_facts().rfs_complete, frame[frame["complete_mrd"] == 1]),
                 (published_facts().rfs_other, frame[frame["complete_mrd"] == 0])]
    else:
        parts = [(targets_of(endpoint)[0], frame)]
    rows: list[dict[str, object]] = []

    def add(pop: str, quantity: str, value: float, published: float | None, tol: float,
            kind: str, criterion: bool) -> None:
        pub = np.nan if published is None else float(published)
        diff = value - pub
        if kind == "none" or np.isnan(pub):
            within: object = pd.NA
        elif kind == "factor":
            within = bool(within_ratio(np.array([value]), pub, tol)[0])
        elif kind == "exact":
            within = bool(value == pub)
        else:
            within = bool(np.isfinite(diff) and abs(diff) <= tol + 1e-9)
        rows.append({
            "population": pop, "quantity": quantity, "reconstructed": float(value),
            "published": pub, "difference": diff,
            "tolerance": tol if kind != "none" else np.nan, "tolerance_kind": kind,
            "within_tolerance": within, "criterion": criterion,
        })

    ci_kind = "factor" if ci_ratio is not None else "none"
    ci_tol = float(ci_ratio) if ci_ratio is not None else np.nan
    for target, sub in parts:
        pop = target.population
        time, event = sub["time"].to_numpy(), sub["event"].to_numpy()
        add(pop, "patients", float(len(sub)), target.n, 0.0, "exact", True)
        known = target.events >= 0
        add(pop, "events", float(event.sum()), target.events if known else None, 0.0,
            "exact" if known else "none", known)
        if len(sub) == 0:
            continue
        km = lifelines_km(time, event, target.landmark_time, followup=True)
        add(pop, "median", km.median, target.median, MEDIAN_TOL_MONTHS, "months", True)
        add(pop, "median_ci_low", km.ci_low, target.ci_low, ci_tol, ci_kind,
            ci_ratio is not None)
        add(pop, "median_ci_high", km.ci_high, target.ci_high, ci_tol, ci_kind,
            ci_ratio is not None)
        if km.landmark is not None:
            add(pop, f"rfs_{target.landmark_time:g}_months_pct", 100 * km.landmark,
                target.landmark_pct, LANDMARK_TOL_POINTS, "points", True)
        if km.followup is not None:
            add(pop, "median_followup", km.followup, target.median_followup, np.nan, "none",
                False)
    out = pd.DataFrame(rows, columns=_CHECK_COLUMNS)
    out["within_tolerance"] = out["within_tolerance"].astype("boolean")
    out["criterion"] = out["criterion"].astype(bool)
    for col in ("reconstructed", "published", "difference", "tolerance"):
        out[col] = out[col].astype(float)
    return out


def _confirm(engine: str, batch: _Batch, i: int, ci_ratio: float | None) -> bool:
    """Re-check one screened candidate with lifelines itself (every criterion)."""
    facts = published_facts()
    time, event = batch.time[i], batch.event[i].astype(int)
    if engine == "os":
        parts = [(facts.os, slice(None))]
    else:
        n_c, n_o = facts.n_complete, facts.n_other
        parts = [(facts.rfs, slice(None)), (facts.rfs_complete, slice(0, n_c)),
                 (facts.rfs_other, slice(n_c, n_c + n_o))]
    for target, cols in parts:
        km = lifelines_km(time[cols], event[cols], target.landmark_time, followup=False)
        stats = {"median": np.array([km.median]), "ci_low": np.array([km.ci_low]),
                 "ci_high": np.array([km.ci_high]),
                 "landmark": np.array([np.nan if km.landmark is None else km.landmark])}
        if not screen(stats, target, ci_ratio)[0]:
            return False
    return True


# --------------------------------------------------------------------------------------
# Candidate generation
# --------------------------------------------------------------------------------------


def _crossing_events(n: int) -> tuple[int, int, int]:
    """The events (1-based) at which lifelines' KM of n uncensored patients crosses 0.5.

    Returns the event at which the lower band, the estimate and the upper band first
    reach <= 0.5 (the lower CI limit, the median and the upper CI limit).
    """
    k = np.arange(1, n + 1, dtype=float)
    r = n - k + 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s = np.exp(np.cumsum(np.log(r - 1) - np.log(r)))
        g = 1.0 / (r * (r - 1))
        g[~np.isfinite(g)] = 0.0
        g = np.cumsum(g)
        v = np.log(s)
        lower = np.nan_to_num(np.exp(-np.exp(np.log(-v) - Z95 * np.sqrt(g) / v)), nan=1.0)
        upper = np.nan_to_num(np.exp(-np.exp(np.log(-v) + Z95 * np.sqrt(g) / v)), nan=1.0)

    def first(curve: np.ndarray) -> int:
        hit = curve <= 0.5
        return int(k[hit.argmax()]) if hit.any() else n

    return first(lower), first(s), first(upper)


def _knots(target: Target) -> np.ndarray:
    upper = min(target.ci_high, FOLLOW_UP_MONTHS * 0.999)
    mid = float(np.sqrt(upper * FOLLOW_UP_MONTHS))
    return np.array([FIRST_ASSESSMENT_MONTHS, target.ci_low, target.median, upper, mid,
                     FOLLOW_UP_MONTHS])


def _calibrated_masses(
    crossing: tuple[int, int, int], skipped: int, events: np.ndarray, knots: np.ndarray
) -> np.ndarray:
    """Prior mean segment masses (rows: candidates) for curves with ``events`` events.

    ``skipped`` events happen before the first knot (they are not drawn from the curve).
    """
    events = np.asarray(events, dtype=float)
    cum = np.stack([(k - skipped - 0.3) / (events + 0.4) for k in crossing], axis=1)
    # keep the cumulative masses increasing and < 1 when a group has too few events (such
    # a candidate cannot reproduce the CI and the acceptance step will say so)
    floor = 0.02
    cum = np.clip(cum, floor, None)
    for j in range(1, 3):
        cum[:, j] = np.maximum(cum[:, j], cum[:, j - 1] + floor)
    cum = np.minimum(cum, 1 - floor * (3 - np.arange(3))[None, :])
    rest = 1 - cum[:, 2]
    width_a, width_b = knots[4] - knots[3], knots[5] - knots[4]
    cum_mid = cum[:, 2] + rest * width_a / (width_a + width_b)
    full = np.concatenate([np.zeros((len(events), 1)), cum, cum_mid[:, None],
                           np.ones((len(events), 1))], axis=1)
    return np.diff(full, axis=1)


def _dirichlet(rng: np.random.Generator, mean: np.ndarray) -> np.ndarray:
    gam = rng.gamma(DIRICHLET_CONCENTRATION * mean)
    gam = np.maximum(gam, 1e-300)
    return gam / gam.sum(axis=1, keepdims=True)


def _draw_curve(u: np.ndarray, knots: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Inverse CDF of the piecewise-constant densities (rows of ``masses``) at ``u``."""
    cum = np.concatenate([np.zeros((masses.shape[0], 1)), np.cumsum(masses, axis=1)], axis=1)
    cum[:, -1] = 1.0
    seg = (u[:, :, None] >= cum[:, None, 1:-1]).sum(axis=2)
    lo = np.take_along_axis(cum, seg, axis=1)
    hi = np.take_along_axis(cum, seg + 1, axis=1)
    frac = np.clip((u - lo) / np.maximum(hi - lo, 1e-300), 0.0, 1.0)
    t = knots[seg] + frac * (knots[seg + 1] - knots[seg])
    return np.clip(t, np.nextafter(knots[0], np.inf), np.nextafter(knots[-1], 0.0))


def _uniform(
    rng: np.random.Generator, low: float, high: float, shape: tuple[int, ...]
) -> np.ndarray:
    """Uniform on (low, high] (never exactly ``low``, so never 0)."""
    return high - (high - low) * rng.random(shape)


def _late_censoring(u: np.ndarray) -> np.ndarray:
    """Censoring times uniform on (day 15, 24) months from uniforms ``u`` in [0, 1)."""
    t = FIRST_ASSESSMENT_MONTHS + (FOLLOW_UP_MONTHS - FIRST_ASSESSMENT_MONTHS) * u
    return np.clip(t, np.nextafter(FIRST_ASSESSMENT_MONTHS, np.inf),
                   np.nextafter(FOLLOW_UP_MONTHS, 0.0))


def _expand(fates: Sequence[tuple[str, int, str]]) -> tuple[np.ndarray, np.ndarray]:
    labels = np.array([lab for lab, n, _ in fates for _ in range(n)], dtype=object)
    rules = np.array([rule for _, n, rule in fates for _ in range(n)], dtype=object)
    return labels, rules


@dataclass
class _Batch:
    time: np.ndarray
    event: np.ndarray
    fate: np.ndarray  # indices into the expanded fate labels
    group: np.ndarray | None = None  # rfs: 1 complete MRD, 0 other, -1 no data


def _os_batch(rng: np.random.Generator, size: int) -> _Batch:
    facts = published_facts()
    labels, rules = _expand(facts.os_fates)
    n = len(labels)
    target = facts.os
    knots = _knots(target)
    early_events = int(np.sum(rules == "early_event"))
    early_censor = int(np.sum(rules == "early_censor"))
    late_events = int(np.sum(rules == "event"))
    crossing = _crossing_events(n - early_censor)
    mean = _calibrated_masses(crossing, early_events, np.full(size, late_events), knots)
    masses = _dirichlet(rng, mean)
    time = np.empty((size, n))
    event = np.zeros((size, n), dtype=np.int8)
    for rule in ("event", "early_event", "end", "censor", "early_censor"):
        cols = np.flatnonzero(rules == rule)
        shape = (size, len(cols))
        if rule == "event":
            time[:, cols] = _draw_curve(rng.random(shape), knots, masses)
        elif rule == "early_event" or rule == "early_censor":
            time[:, cols] = _uniform(rng, 0.0, FIRST_ASSESSMENT_MONTHS, shape)
        elif rule == "end":
            time[:, cols] = FOLLOW_UP_MONTHS
        else:
            time[:, cols] = _late_censoring(rng.random(shape))
        event[:, cols] = 1 if rule in ("event", "early_event") else 0
    fate = np.tile(np.arange(n), (size, 1))
    return _Batch(time=time, event=event, fate=fate)


def _rfs_batch(rng: np.random.Generator, size: int) -> _Batch:
    facts = published_facts()
    labels, rules = _expand(facts.rfs_fates)
    n = len(labels)
    n_c, n_o = facts.n_complete, facts.n_other
    # column j of a candidate: complete MRD for j < n_c, other for j < n_c + n_o, else no data
    fate = rng.permuted(np.tile(np.arange(n), (size, 1)), axis=1)
    rule = rules[fate]
    is_event = rule == "event"
    time = np.empty((size, n))
    curves = []
    for target, cols in ((facts.rfs_complete, slice(0, n_c)),
                         (facts.rfs_other, slice(n_c, n_c + n_o))):
        width = cols.stop - cols.start
        knots = _knots(target)
        events = is_event[:, cols].sum(axis=1)
        mean = _calibrated_masses(_crossing_events(width), 0, events, knots)
        masses = _dirichlet(rng, mean)
        time[:, cols] = _draw_curve(rng.random((size, width)), knots, masses)
        curves.append((knots, masses))
    if facts.n_nodata:
        cols = slice(n_c + n_o, n)
        u = rng.random((size, facts.n_nodata))
        pick = rng.random((size, facts.n_nodata)) < n_c / (n_c + n_o)
        t_c = _draw_curve(u, *curves[0])
        t_o = _draw_curve(u, *curves[1])
        time[:, cols] = np.where(pick, t_c, t_o)
    censor = rng.random((size, n))
    time = np.where(rule == "end", FOLLOW_UP_MONTHS, time)
    late = _late_censoring(censor)
    time = np.where(rule == "censor", late, time)
    group = np.concatenate([np.ones(n_c, int), np.zeros(n_o, int),
                            np.full(n - n_c - n_o, -1)])
    return _Batch(time=time, event=is_event.astype(np.int8), fate=fate,
                  group=np.tile(group, (size, 1)))


def _screen_batch(engine: str, batch: _Batch, ci_ratio: float | None) -> np.ndarray:
    facts = published_facts()
    if engine == "os":
        return screen(km_batch(batch.time, batch.event), facts.os, ci_ratio)
    n_c, n_o = facts.n_complete, facts.n_other
    ok = screen(km_batch(batch.time, batch.event, facts.rfs.landmark_time), facts.rfs,
                 ci_ratio)
    for target, cols in ((facts.rfs_complete, slice(0, n_c)),
                         (facts.rfs_other, slice(n_c, n_c + n_o))):
        ok &= screen(km_batch(batch.time[:, cols], batch.event[:, cols]), target, ci_ratio)
    return ok


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reconstruction:
    """Reconstructions of one endpoint with how they were obtained.

    Attributes
    ----------
    endpoint : str
        ``"os"``, ``"rfs"`` or ``"rfs_mrd"``.
    seed : int
        The seed given to :func:`reconstruct`.
    draws : list of pandas.DataFrame
        The accepted reconstructions (see :func:`reconstruct`).
    candidates : int
        Candidate data sets generated until ``len(draws)`` were accepted.
    screened : int
        Candidates that passed the vectorised screen (each then checked with lifelines).
    ci_ratio : float or None
        The CI tolerance factor used (``None``: CIs not required).
    seconds : float
        Wall-clock time taken.
    split : pandas.DataFrame
        For RFS: per draw, how many of each fate fell in the complete-MRD group, the
        other group and the no-MRD-data patient (empty for OS).
    """

    endpoint: str
    seed: int
    draws: list[pd.DataFrame]
    candidates: int
    screened: int
    ci_ratio: float | None
    seconds: float
    split: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def acceptance_rate(self) -> float:
        """Accepted draws per candidate generated."""
        return len(self.draws) / self.candidates if self.candidates else float("nan")


def _check_args(n_draws: object, seed: object, ci_ratio: object) -> None:
    if isinstance(n_draws, bool) or not isinstance(n_draws, int | np.integer) or n_draws < 1:
        raise DataError(f"n_draws = {n_draws!r} is invalid: it must be an integer >= 1")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise DataError(f"seed = {seed!r} is invalid: it must be an integer >= 0")
    if ci_ratio is not None and (
        isinstance(ci_ratio, bool) or not isinstance(ci_ratio, int | float) or ci_ratio <= 1
    ):
        raise DataError(f"ci_ratio = {ci_ratio!r} is invalid: it must be a number > 1 or None")


def _frame(endpoint: str, batch: _Batch, i: int, with_fates: bool) -> pd.DataFrame:
    facts = published_facts()
    if endpoint == "os":
        labels, _ = _expand(facts.os_fates)
        df = pd.DataFrame({"time": batch.time[i], "event": batch.event[i].astype("int64")})
        if with_fates:
            df["fate"] = pd.array(labels[batch.fate[i]].tolist(), dtype="string")
        return df.sort_values("time", kind="stable").reset_index(drop=True)
    labels, _ = _expand(facts.rfs_fates)
    assert batch.group is not None
    group = batch.group[i]
    df = pd.DataFrame({"time": batch.time[i], "event": batch.event[i].astype("int64")})
    if endpoint == "rfs_mrd":
        keep = group >= 0
        df = df[keep].assign(complete_mrd=group[keep].astype("int64"))
        if with_fates:
            df["fate"] = pd.array(labels[batch.fate[i][keep]].tolist(), dtype="string")
        return df.sort_values(["complete_mrd", "time"], ascending=[False, True],
                              kind="stable").reset_index(drop=True)
    if with_fates:
        df["fate"] = pd.array(labels[batch.fate[i]].tolist(), dtype="string")
        df["mrd"] = pd.array(np.where(group == 1, "complete",
                                      np.where(group == 0, "not_complete", "no_data")).tolist(),
                             dtype="string")
    return df.sort_values("time", kind="stable").reset_index(drop=True)


def _split_row(batch: _Batch, i: int) -> dict[str, int]:
    labels, _ = _expand(published_facts().rfs_fates)
    assert batch.group is not None
    row: dict[str, int] = {}
    for name, code in (("complete_mrd", 1), ("not_complete", 0), ("no_data", -1)):
        fates = labels[batch.fate[i][batch.group[i] == code]]
        for lab, _, _ in published_facts().rfs_fates:
            row[f"{name}:{lab}"] = int(np.sum(fates == lab))
    return row


def reconstruct_with_diagnostics(
    endpoint: str,
    n_draws: int = 20,
    seed: int = 0,
    *,
    ci_ratio: float | None = CI_RATIO_TOL,
    with_fates: bool = False,
    max_candidates: int = _DEFAULT_MAX_CANDIDATES,
) -> Reconstruction:
    """Like :func:`reconstruct`, but also return the acceptance statistics.

    Parameters
    ----------
    endpoint, n_draws, seed, ci_ratio, with_fates, max_candidates
        As for :func:`reconstruct`.

    Returns
    -------
    Reconstruction
        The draws, the number of candidates generated (``acceptance_rate`` =
        ``len(draws) / candidates``), the time taken and, for RFS, the fate split between
        the MRD groups of each draw.

    Raises
    ------
    DataError
        As for :func:`reconstruct`.
    """
    check_endpoint(endpoint)
    _check_args(n_draws, seed, ci_ratio)
    start = _time.perf_counter()
    engine = "os" if endpoint == "os" else "rfs"
    make = _os_batch if engine == "os" else _rfs_batch
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _ENGINE_KEY[engine]]))
    draws: list[pd.DataFrame] = []
    split: list[dict[str, int]] = []
    candidates = screened = 0
    while len(draws) < n_draws:
        if candidates >= max_candidates:
            raise DataError(
                f"{endpoint}: only {len(draws)} of {n_draws} reconstructions reproduced the "
                f"published numbers in {candidates} candidates (max_candidates); the "
                "published summaries and fates may not fit together"
            )
        batch = make(rng, _BATCH)
        hits = np.flatnonzero(_screen_batch(engine, batch, ci_ratio))
        used = _BATCH
        for i in hits:
            screened += 1
            if _confirm(engine, batch, int(i), ci_ratio):
                draws.append(_frame(endpoint, batch, int(i), with_fates))
                if engine == "rfs":
                    split.append(_split_row(batch, i))
                if len(draws) == n_draws:
                    used = int(i) + 1
                    break
        candidates += used
    return Reconstruction(
        endpoint=endpoint, seed=int(seed), draws=draws, candidates=candidates,
        screened=screened, ci_ratio=ci_ratio, seconds=_time.perf_counter() - start,
        split=pd.DataFrame(split),
    )


def reconstruct(
    endpoint: str,
    n_draws: int = 20,
    seed: int = 0,
    *,
    ci_ratio: float | None = CI_RATIO_TOL,
    with_fates: bool = False,
    max_candidates: int = _DEFAULT_MAX_CANDIDATES,
) -> list[pd.DataFrame]:
    """Draw plausible pseudo patient-level data sets consistent with the published numbers.

    Each data set respects the published fates exactly (numbers of events and of
    censorings, who is censored at the end of follow-up) and its lifelines Kaplan-Meier
    estimate reproduces the published median(s) within :data:`MEDIAN_TOL_MONTHS`, the
    6-month RFS within :data:`LANDMARK_TOL_POINTS` (RFS) and the limits of the published
    95% CIs of the medians within a factor ``ci_ratio``. See :data:`ASSUMPTIONS` for how.

    Parameters
    ----------
    endpoint : {"os", "rfs", "rfs_mrd"}
        ``"os"``: the 70 patients at 5/15; ``"rfs"``: the 27 responders; ``"rfs_mrd"``:
        the 26 responders with MRD data (14 with a complete MRD response, 12 without).
    n_draws : int, default 20
        Number of reconstructions.
    seed : int, default 0
        Seed (>= 0) of the :class:`numpy.random.Generator`. The same seed gives identical
        data, and the first ``k`` draws do not depend on ``n_draws``. For one seed,
        ``"rfs"`` and ``"rfs_mrd"`` share their patients (the latter drops the responder
        without MRD data).
    ci_ratio : float or None, default :data:`CI_RATIO_TOL`
        Tolerance factor for the 95% CI limits of the medians; ``None``: not required.
    with_fates : bool, default False
        Add a ``fate`` column (``string``: the published fate each pseudo-patient stands
        for, e.g. ``"responder:relapsed_and_died"``) and, for ``"rfs"``, an ``mrd`` column
        (``"complete"``, ``"not_complete"``, ``"no_data"``). For OS the labels fix only
        each patient's status: responders' and non-responders' deaths share one curve
        (assumption A04), so which death carries a responder's label is arbitrary.
    max_candidates : int, optional
        Give up (``DataError``) after this many candidate data sets.

    Returns
    -------
    list of pandas.DataFrame
        ``n_draws`` data frames, one per reconstruction, each with columns ``time``
        (``float64``, months from enrolment, > 0) and ``event`` (``int64``: 1 death for OS,
        relapse or death for RFS; 0 censored), plus ``complete_mrd`` (``int64`` 0/1) for
        ``"rfs_mrd"``; rows sorted by time (``"rfs_mrd"``: complete-MRD patients first).
        70 rows for ``"os"``, 27 for ``"rfs"``, 26 for ``"rfs_mrd"``.
        :func:`stack_draws` turns the list into one long frame with a ``draw`` column.
        The draws are computed once per process for each set of arguments; every call
        returns new frames.

    Raises
    ------
    DataError
        If ``endpoint`` is unknown, ``n_draws``/``seed``/``ci_ratio`` is invalid, the
        packaged numbers do not fit together, or ``max_candidates`` candidates gave fewer
        than ``n_draws`` accepted reconstructions.

    Examples
    --------
    >>> draws = reconstruct("rfs_mrd", n_draws=5, seed=1)
    >>> len(draws), draws[0].shape
    (5, (26, 3))
    """
    check_endpoint(endpoint)
    _check_args(n_draws, seed, ci_ratio)  # before the cache: its key must be valid and hashable
    draws = _reconstructed(endpoint, int(n_draws), int(seed), ci_ratio, bool(with_fates),
                           max_candidates)
    return [df.copy() for df in draws]  # the caller's own frames, never the cached ones


@functools.lru_cache(maxsize=16)
def _reconstructed(
    endpoint: str, n_draws: int, seed: int, ci_ratio: float | None, with_fates: bool,
    max_candidates: int,
) -> tuple[pd.DataFrame, ...]:
    # a pure function of its arguments and the packaged numbers, and ~0.5 s a call: every
    # load of a survival spec (its check, its fit, the docs' tables) asks for the same draws
    return tuple(reconstruct_with_diagnostics(
        endpoint, n_draws, seed, ci_ratio=ci_ratio, with_fates=with_fates,
        max_candidates=max_candidates,
    ).draws)


def stack_draws(draws: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Stack reconstructions into one long frame with a leading ``draw`` column (0, 1, ...).

    Parameters
    ----------
    draws : sequence of pandas.DataFrame
        As returned by :func:`reconstruct`.

    Returns
    -------
    pandas.DataFrame
        ``draw`` (``int64``) followed by the columns of the draws.

    Raises
    ------
    DataError
        If ``draws`` is empty.
    """
    if len(draws) == 0:
        raise DataError("stack_draws: no reconstructions given")
    parts = [d.assign(draw=i) for i, d in enumerate(draws)]
    out = pd.concat(parts, ignore_index=True)
    out["draw"] = out["draw"].astype("int64")
    return out[["draw", *[c for c in out.columns if c != "draw"]]]


def reconstruction_spread(
    endpoint: str, draws: Sequence[pd.DataFrame], times: Sequence[float] = (6.0, 12.0, 18.0)
) -> pd.DataFrame:
    """How much the reconstructions differ: KM survival at fixed times across draws.

    Parameters
    ----------
    endpoint : {"os", "rfs", "rfs_mrd"}
        The endpoint of ``draws``.
    draws : sequence of pandas.DataFrame
        As returned by :func:`reconstruct`.
    times : sequence of float, default (6, 12, 18)
        Months at which to read the KM estimates (lifelines, step function).

    Returns
    -------
    pandas.DataFrame
        One row per population (``"rfs_mrd"``: the two MRD groups) and time, with the
        number of draws and the mean, standard deviation, minimum, 2.5%, 50%, 97.5%
        quantiles and maximum of KM S(t) across draws (as proportions).

    Raises
    ------
    DataError
        If ``endpoint`` is unknown, ``draws`` is empty or a draw is malformed.
    """
    check_endpoint(endpoint)
    if len(draws) == 0:
        raise DataError("reconstruction_spread: no reconstructions given")
    grid = np.asarray(times, dtype=float)
    values: dict[str, list[np.ndarray]] = {}
    for d in draws:
        frame = _validate_frame(endpoint, d)
        if endpoint == "rfs_mrd":
            facts = published_facts()
            groups = [(facts.rfs_complete.population, frame[frame["complete_mrd"] == 1]),
                      (facts.rfs_other.population, frame[frame["complete_mrd"] == 0])]
        else:
            groups = [(targets_of(endpoint)[0].population, frame)]
        for pop, sub in groups:
            kmf = KaplanMeierFitter().fit(sub["time"], sub["event"])
            values.setdefault(pop, []).append(
                kmf.survival_function_at_times(grid).to_numpy(dtype=float))
    rows = []
    for pop, vals in values.items():
        arr = np.vstack(vals)
        for j, t in enumerate(grid):
            x = arr[:, j]
            q = np.quantile(x, [0.025, 0.5, 0.975])
            rows.append({
                "population": pop, "time": float(t), "draws": len(x), "mean": x.mean(),
                "sd": x.std(ddof=1) if len(x) > 1 else np.nan, "min": x.min(),
                "q025": q[0], "median": q[1], "q975": q[2], "max": x.max(),
            })
    return pd.DataFrame(rows)
