"""Kaplan–Meier: a screen of many candidate data sets, the lifelines check, S(t) at times."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times
from scipy.stats import CensoredData, ecdf

from bayesblina.reconstruct.assumptions import LANDMARK_TOL_POINTS, MEDIAN_TOL_MONTHS
from bayesblina.reconstruct.targets import Target

Z95 = 1.959963984540054  # lifelines' 95% normal quantile


def km_batch(
    t: np.ndarray, e: np.ndarray, landmark: float | None = None
) -> dict[str, np.ndarray]:
    """KM median, its 95% CI and S(landmark) for each row of ``t``/``e``, as lifelines.

    Assumes no tied event times (continuous draws); ties among censored times, or between
    censored times and later events, do not matter.
    """
    b, n = t.shape
    order = np.argsort(t, axis=1, kind="stable")
    ts = np.take_along_axis(t, order, 1)
    es = np.take_along_axis(e, order, 1).astype(float)
    r = (n - np.arange(n, dtype=float))[None, :]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s = np.exp(np.cumsum(np.where(es > 0, np.log(r - es) - np.log(r), 0.0), axis=1))
        g = np.where(es > 0, es / (r * (r - es)), 0.0)
        g[~np.isfinite(g)] = 0.0
        g = np.cumsum(g, axis=1)
        v = np.log(s)
        lower = np.exp(-np.exp(np.log(-v) - Z95 * np.sqrt(g) / v))
        upper = np.exp(-np.exp(np.log(-v) + Z95 * np.sqrt(g) / v))
    lower = np.where(np.isnan(lower), 1.0, lower)
    upper = np.where(np.isnan(upper), 1.0, upper)
    rows = np.arange(b)

    def first_below_half(curve: np.ndarray) -> np.ndarray:
        hit = curve <= 0.5
        return np.where(hit.any(1), ts[rows, hit.argmax(1)], np.inf)

    out = {"median": first_below_half(s), "ci_low": first_below_half(lower),
           "ci_high": first_below_half(upper)}
    if landmark is not None:
        k = (ts <= landmark).sum(1)
        out["landmark"] = np.concatenate([np.ones((b, 1)), s], 1)[rows, k]
    return out


def km_at(time: np.ndarray, event: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The Kaplan-Meier estimate of S(t) at ``grid`` (right-censored data).

    SciPy's ``ecdf`` of right-censored data: lifelines' ``KaplanMeierFitter`` estimate (the
    tests check it to 1e-12, ties included) at ~1/18 of its cost, for the survival models'
    posterior predictive check (hundreds of simulated curves per fit).

    Parameters
    ----------
    time : numpy.ndarray
        Event or censoring times.
    event : numpy.ndarray
        1 for an event, 0 for a censored time.
    grid : numpy.ndarray
        Times at which to evaluate the (right-continuous) estimate.

    Returns
    -------
    numpy.ndarray
        S(t) at each time of ``grid``.
    """
    data = CensoredData.right_censored(np.asarray(time, float), np.asarray(event) == 0)
    return ecdf(data).sf.evaluate(np.asarray(grid, float))


def within_ratio(value: np.ndarray, published: float, ratio: float) -> np.ndarray:
    """Whether each value lies within a factor ``ratio`` of the published one."""
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.abs(np.log(value / published))
    return np.isfinite(dev) & (dev <= np.log(ratio) + 1e-12)


def screen(
    stats: dict[str, np.ndarray], target: Target, ci_ratio: float | None
) -> np.ndarray:
    """Which candidate data sets meet a target's median, landmarks and CI (vectorised)."""
    ok = np.abs(stats["median"] - target.median) <= MEDIAN_TOL_MONTHS + 1e-9
    if target.landmark_time is not None and target.landmark_pct is not None:
        ok &= np.abs(100 * stats["landmark"] - target.landmark_pct) <= LANDMARK_TOL_POINTS + 1e-9
    if ci_ratio is not None:
        ok &= within_ratio(stats["ci_low"], target.ci_low, ci_ratio)
        ok &= within_ratio(stats["ci_high"], target.ci_high, ci_ratio)
    return ok


@dataclass(frozen=True)
class KMResult:
    """lifelines' KM summaries of one population."""

    median: float
    ci_low: float
    ci_high: float
    landmark: float | None
    followup: float | None


def lifelines_km(
    time: np.ndarray, event: np.ndarray, landmark: float | None, followup: bool
) -> KMResult:
    """Kaplan–Meier by lifelines: median, its CI and the landmark survival."""
    kmf = KaplanMeierFitter().fit(time, event)
    ci = median_survival_times(kmf.confidence_interval_)
    s = None
    if landmark is not None:
        s = float(np.asarray(kmf.survival_function_at_times(landmark))[0])
    fu = None
    if followup:
        fu = float(KaplanMeierFitter().fit(time, 1 - event).median_survival_time_)
    return KMResult(median=float(kmf.median_survival_time_), ci_low=float(ci.iloc[0, 0]),
               ci_high=float(ci.iloc[0, 1]), landmark=s, followup=fu)
