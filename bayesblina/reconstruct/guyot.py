"""Pseudo individual patient data from a digitised Kaplan–Meier curve (Guyot et al. 2012).

A published survival figure shows, for each arm, a Kaplan–Meier (KM) curve and, below
it, the number of patients still at risk at a few printed times. Guyot's algorithm
turns the digitised ``(time, survival)`` coordinates of one arm's curve and that table
into one row per patient, ``(time, event)``, whose KM estimate reproduces the curve and
whose numbers at risk reproduce the table. Such pseudo individual patient data can then
be analysed like the real data (survival models, medians, hazard ratios).

The three steps are separate functions so that each can be checked on its own:

* :func:`clean_digitised` removes what a digitiser typically gets slightly wrong
  (unsorted points, survival a hair above 1 or below 0, small upward blips) and rejects
  anything larger with a :class:`~bayesblina.errors.DataError`;
* :func:`validate_at_risk` checks the numbers-at-risk table;
* :func:`guyot_reconstruct` runs the algorithm and returns the pseudo data.

References
----------
.. [1] Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary analysis of
   survival data: reconstructing the data from published Kaplan-Meier survival curves.
   BMC Med Res Methodol 2012; 12:9. doi:10.1186/1471-2288-12-9
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from bayesblina.errors import DataError

__all__ = ["clean_digitised", "guyot_reconstruct", "validate_at_risk"]

#: Largest ``tolerance`` accepted: anything coarser is not digitising noise.
MAX_TOLERANCE = 0.1

#: Slack for floating-point comparisons against ``tolerance``.
_EPS = 1e-12


# ---------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------


def _as_1d_float(values: Any, name: str) -> np.ndarray:
    """Convert ``values`` to a finite 1-D float array or raise a DataError naming it."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: expected a 1-D sequence of numbers ({exc})") from None
    if arr.ndim != 1:
        raise DataError(f"{name}: expected a 1-D sequence of numbers, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{name}[{i}] = {arr[i]} is not a finite number; all values must be finite")
    return arr


def _check_tolerance(tolerance: float) -> float:
    try:
        tol = float(tolerance)
    except (TypeError, ValueError):
        raise DataError(f"tolerance = {tolerance!r} is not a number") from None
    if not (math.isfinite(tol) and 0.0 <= tol <= MAX_TOLERANCE):
        raise DataError(
            f"tolerance = {tolerance!r} must be a finite number in [0, {MAX_TOLERANCE}] "
            "(the digitising error allowed in survival)"
        )
    return tol


def _non_increasing_fit(values: np.ndarray) -> np.ndarray:
    """Least-squares non-increasing fit (pool-adjacent-violators), equal weights."""
    means: list[float] = []
    sizes: list[int] = []
    for v in values:
        means.append(float(v))
        sizes.append(1)
        while len(means) > 1 and means[-1] > means[-2]:
            m, k = means.pop(), sizes.pop()
            means[-1] = (means[-1] * sizes[-1] + m * k) / (sizes[-1] + k)
            sizes[-1] += k
    return np.repeat(means, sizes)


def clean_digitised(
    time: Sequence[float] | np.ndarray,
    survival: Sequence[float] | np.ndarray,
    *,
    tolerance: float = 0.02,
) -> tuple[np.ndarray, np.ndarray]:
    """Clean the digitised coordinates of one Kaplan–Meier curve.

    Digitising a printed figure gives points in click order, survival values a little
    above 1 or below 0 and small upward blips where the curve is in fact flat. This
    function repairs exactly those errors, and only when they are no larger than
    ``tolerance``; anything larger means the input is not a KM curve (or was digitised
    from the wrong line) and is rejected.

    Parameters
    ----------
    time : array_like of float
        Digitised times, in any order; must be finite and non-negative.
    survival : array_like of float
        Digitised survival probabilities (not percentages), same length as ``time``.
    tolerance : float, default 0.02
        Largest digitising error in survival that is silently repaired, in [0, 0.1].

    Returns
    -------
    time : numpy.ndarray
        Sorted times, starting at 0.
    survival : numpy.ndarray
        Non-increasing survival in [0, 1], starting at 1.

    Raises
    ------
    DataError
        If a value is not finite, a time is negative, a survival value lies outside
        ``[-tolerance, 1 + tolerance]``, a survival value at time 0 is below
        ``1 - tolerance``, the curve rises by more than ``tolerance`` above an earlier
        value, or fewer than two (distinct) points are given.

    Notes
    -----
    The steps, in order:

    1. sort by time; points at the same time (the two corners of a vertical drop) are
       ordered from the highest to the lowest survival;
    2. clip survival values in ``[-tolerance, 0)`` to 0 and in ``(1, 1 + tolerance]``
       to 1; set points at time 0 to survival 1 (a KM curve starts at 1) and add the
       point ``(0, 1)`` when there is none at time 0;
    3. check that no value lies more than ``tolerance`` above the lowest value before it,
       then replace the values by their least-squares non-increasing fit (pool adjacent
       violators: each run of values that rises is replaced by its mean), which removes
       every upward step while averaging, rather than keeping, the digitising noise;
    4. drop exact duplicate points.

    Examples
    --------
    >>> t, s = clean_digitised([2.0, 1.0, 3.0, 4.0], [0.85, 1.004, 0.853, 0.7])
    >>> t.tolist(), s.round(4).tolist()
    ([0.0, 1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 0.8515, 0.8515, 0.7])
    """
    tol = _check_tolerance(tolerance)
    t = _as_1d_float(time, "time")
    s = _as_1d_float(survival, "survival")
    if t.size != s.size:
        raise DataError(f"time and survival must have the same length, got {t.size} and {s.size}")
    if t.size < 2:
        raise DataError(f"time, survival: a digitised curve needs at least 2 points, got {t.size}")
    negative = np.flatnonzero(t < 0)
    if negative.size:
        i = int(negative[0])
        raise DataError(f"time[{i}] = {t[i]:g} is negative; digitised times must be >= 0")
    outside = np.flatnonzero((s < -tol - _EPS) | (s > 1 + tol + _EPS))
    if outside.size:
        i = int(outside[0])
        raise DataError(
            f"survival[{i}] = {s[i]:g} (at time {t[i]:g}) is outside [{-tol:g}, {1 + tol:g}]; "
            f"survival is a probability in [0, 1] and only digitising errors up to "
            f"tolerance = {tol:g} are clipped (percentages must be divided by 100)"
        )
    s = np.clip(s, 0.0, 1.0)
    at_zero = np.flatnonzero((t == 0) & (s < 1 - tol - _EPS))
    if at_zero.size:
        i = int(at_zero[0])
        raise DataError(
            f"survival[{i}] = {s[i]:g} at time 0; a Kaplan–Meier curve starts at 1 and only "
            f"digitising errors up to tolerance = {tol:g} are repaired"
        )
    s[t == 0] = 1.0

    position = np.arange(t.size)  # original positions, for error messages
    order = np.lexsort((-s, t))  # by time, then from the highest survival down
    t, s, position = t[order], s[order], position[order]
    if t[0] > 0:
        t = np.concatenate(([0.0], t))
        s = np.concatenate(([1.0], s))
        position = np.concatenate(([-1], position))

    running_min = np.minimum.accumulate(s)
    rise = s - running_min
    jumps = np.flatnonzero(rise > tol + _EPS)
    if jumps.size:
        k = int(jumps[0])
        j = int(np.flatnonzero(s[:k] == running_min[k])[0])  # where the earlier minimum is
        earlier = "the added origin" if position[j] < 0 else f"survival[{position[j]}]"
        raise DataError(
            f"survival[{position[k]}] = {s[k]:g} at time {t[k]:g} rises by {rise[k]:.4g} above "
            f"{earlier} = {s[j]:g} at time {t[j]:g}; a Kaplan–Meier curve never increases and "
            f"only upward steps up to tolerance = {tol:g} are removed as digitising noise"
        )
    s = _non_increasing_fit(s)

    keep = np.ones(t.size, dtype=bool)
    keep[1:] = (t[1:] != t[:-1]) | (s[1:] != s[:-1])
    t, s = t[keep], s[keep]
    if t.size < 2 or t[-1] <= 0:
        raise DataError(
            "time, survival: a digitised curve needs at least 2 distinct points, one of them "
            "after time 0"
        )
    return t, s


def _check_at_risk(
    time: Any, n_risk: Any, time_name: str, count_name: str
) -> tuple[np.ndarray, np.ndarray]:
    t = _as_1d_float(time, time_name)
    n = _as_1d_float(n_risk, count_name)
    if t.size != n.size:
        raise DataError(
            f"{time_name} and {count_name} must have the same length, got {t.size} and {n.size}"
        )
    if t.size < 1:
        raise DataError(
            f"{time_name}, {count_name}: the numbers-at-risk table needs at least one entry "
            "(the number at risk at time 0)"
        )
    negative = np.flatnonzero(t < 0)
    if negative.size:
        i = int(negative[0])
        raise DataError(f"{time_name}[{i}] = {t[i]:g} is negative; at-risk times must be >= 0")
    if t[0] != 0:
        raise DataError(
            f"{time_name}[0] = {t[0]:g}; the numbers-at-risk table must start at time 0"
        )
    not_increasing = np.flatnonzero(np.diff(t) <= 0)
    if not_increasing.size:
        i = int(not_increasing[0]) + 1
        raise DataError(
            f"{time_name}[{i}] = {t[i]:g} is not after {time_name}[{i - 1}] = {t[i - 1]:g}; "
            "at-risk times must be strictly increasing"
        )
    bad = np.flatnonzero((n < 0) | (n != np.round(n)))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{count_name}[{i}] = {n[i]:g} is not a non-negative whole number of patients"
        )
    if n[0] <= 0:
        raise DataError(f"{count_name}[0] = {n[0]:g}; at least one patient must be at risk at 0")
    rising = np.flatnonzero(np.diff(n) > 0)
    if rising.size:
        i = int(rising[0]) + 1
        raise DataError(
            f"{count_name}[{i}] = {n[i]:g} (at time {t[i]:g}) is larger than "
            f"{count_name}[{i - 1}] = {n[i - 1]:g} (at time {t[i - 1]:g}); the number at risk "
            "can never increase over time"
        )
    return t, n.astype(np.int64)


def validate_at_risk(
    time: Sequence[float] | np.ndarray, n_risk: Sequence[int] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Check a numbers-at-risk table printed below a Kaplan–Meier figure.

    Parameters
    ----------
    time : array_like of float
        The times at which numbers at risk are printed: finite, strictly increasing,
        the first one 0.
    n_risk : array_like of int
        The number of patients at risk at each time: non-negative whole numbers that never
        increase, the first one positive.

    Returns
    -------
    time : numpy.ndarray of float
        The at-risk times.
    n_risk : numpy.ndarray of int64
        The numbers at risk.

    Raises
    ------
    DataError
        Naming the first offending position when a rule above is broken, or when the
        table is empty (it needs at least one interval, starting at time 0).

    Examples
    --------
    >>> t, n = validate_at_risk([0, 6, 12], [70, 41, 20])
    >>> n.tolist()
    [70, 41, 20]
    """
    return _check_at_risk(time, n_risk, "time", "n_risk")


# ---------------------------------------------------------------------------------------
# The algorithm
# ---------------------------------------------------------------------------------------


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _spread(n_censored: int, start: float, stop: float) -> np.ndarray:
    """``n_censored`` censoring times spread evenly strictly inside ``(start, stop)``."""
    return start + (stop - start) * np.arange(1, n_censored + 1) / (n_censored + 1)


@dataclass(frozen=True)
class _IntervalFit:
    """The reconstruction of one at-risk interval for a given number censored."""

    n_censored: int
    censor_times: np.ndarray
    events: np.ndarray  # events at each digitised point of the interval
    km_end: float  # reconstructed KM value at the end of the interval
    n_end: int  # reconstructed number at risk at the end of the interval
    curve_error: float  # mean squared distance of the reconstructed KM from the points


def _fit_interval(
    n_censored: int,
    times: np.ndarray,
    surv: np.ndarray,
    n_start: int,
    km_start: float,
    start: float,
    stop: float,
) -> _IntervalFit:
    """Guyot's steps 2 and 3 for one interval, given the number censored in it.

    The censoring times are spread evenly over the interval. The number at risk at a
    digitised point is the number at the start of the interval less the events at
    earlier points and the patients censored *before* the point (those censored at the
    point's time are still at risk, as in the KM estimator). The events at the point are
    the drop of the digitised curve relative to the reconstructed KM value so far,
    rounded to a whole number, which keeps the reconstruction on the digitised curve.
    """
    censor_times = _spread(n_censored, start, stop)
    censored_before = np.searchsorted(censor_times, times, side="left")
    events = np.zeros(times.size, dtype=np.int64)
    km_path = np.empty(times.size)
    km, dead = km_start, 0
    for k in range(times.size):
        at_risk = n_start - dead - int(censored_before[k])
        if at_risk > 0 and km > 0:
            d = min(max(_round_half_up(at_risk * (1.0 - surv[k] / km)), 0), at_risk)
            events[k] = d
            dead += d
            km *= 1.0 - d / at_risk
        km_path[k] = km
    error = float(np.mean((km_path - surv) ** 2)) if times.size else 0.0
    return _IntervalFit(
        n_censored=n_censored,
        censor_times=censor_times,
        events=events,
        km_end=km,
        n_end=n_start - dead - n_censored,
        curve_error=error,
    )


def _best_fit(fits: list[_IntervalFit], mismatch: list[int], guess: int) -> _IntervalFit:
    """The fit with the smallest ``|mismatch|``; ties: closest to the curve, then ``guess``.

    Fits in which more patients leave than were at risk (``n_end < 0``) are never chosen
    while another is available.
    """
    best = min(
        range(len(fits)),
        key=lambda j: (
            fits[j].n_end < 0,
            abs(mismatch[j]),
            fits[j].curve_error,
            abs(fits[j].n_censored - guess),
        ),
    )
    return fits[best]


def guyot_reconstruct(
    t_km: Sequence[float] | np.ndarray,
    s_km: Sequence[float] | np.ndarray,
    t_risk: Sequence[float] | np.ndarray,
    n_risk: Sequence[int] | np.ndarray,
    *,
    total_events: int | None = None,
    tolerance: float = 0.02,
) -> pd.DataFrame:
    """Reconstruct pseudo individual patient data from a digitised Kaplan–Meier curve.

    Parameters
    ----------
    t_km, s_km : array_like of float
        Digitised coordinates of one arm's KM curve (survival as a probability). They are
        cleaned with :func:`clean_digitised` first. Click both corners of every visible
        step (or at least the foot of every drop): the algorithm places each event at the
        first digitised point after the drop.
    t_risk, n_risk : array_like
        The numbers-at-risk table printed below the figure for that arm, checked with
        :func:`validate_at_risk` (first time 0, counts never increasing).
    total_events : int, optional
        Total number of events in the arm, if the paper reports it. It fixes the number
        censored in the last interval (after the last at-risk time); otherwise that
        interval is given the average censoring rate of the earlier intervals.
    tolerance : float, default 0.02
        Digitising error in survival repaired by :func:`clean_digitised`.

    Returns
    -------
    pandas.DataFrame
        One row per patient (``n_risk[0]`` rows) with columns ``time`` (float, > 0) and
        ``event`` (int, 1 = event, 0 = censored), sorted by time (events first at equal
        times). ``attrs["n_risk_reconstructed"]`` holds the reconstruction's numbers at
        risk at ``t_risk`` and ``attrs["n_censored"]`` the number censored in each
        interval, to compare with the published table.

    Raises
    ------
    DataError
        If an input fails the checks of :func:`clean_digitised` or
        :func:`validate_at_risk`, if the curve reaches 0 while patients are still at risk
        at a later at-risk time, or if ``total_events`` is not a whole number between 0
        and ``n_risk[0]``.

    Warns
    -----
    UserWarning
        If the reconstruction misses a published number at risk, or ``total_events``, by
        more than ``max(2, 5%)``: the curve, the table and the total disagree by more
        than rounding and the assumptions below explain.

    See Also
    --------
    clean_digitised, validate_at_risk

    Notes
    -----
    The at-risk times split follow-up into intervals. For interval ``i``, from
    ``t_risk[i]`` to ``t_risk[i + 1]``, the algorithm of Guyot et al. (2012) looks for the
    number censored in the interval, ``c``, by repeating:

    1. spread ``c`` censoring times evenly over the interval;
    2. walk through the digitised points, giving each the number of events
       ``round(n_at_risk * (1 - S_k / KM))`` that makes the reconstructed KM value ``KM``
       fall to the digitised value ``S_k``;
    3. correct ``c`` by the difference between the reconstructed and the published
       number at risk at ``t_risk[i + 1]``,

    starting from ``c = n_risk[i] * S(t_risk[i + 1]) / S(t_risk[i]) - n_risk[i + 1]``,
    until the numbers at risk agree. Here every whole ``c`` from 0 to
    ``n_risk[i] - n_risk[i + 1]`` is tried instead, which finds all the values at which
    Guyot's iteration can stop (it may also cycle forever because of the rounding). The
    one chosen reproduces the next number at risk (or comes closest) and, among several
    that do, keeps the reconstructed KM closest to the digitised points of the interval
    (then: closest to the starting value). When no ``c`` matches exactly, the
    reconstructed number at risk is carried into the next interval, so the pseudo data
    always hold exactly ``n_risk[0]`` patients.

    In the last interval (after the last at-risk time) ``c`` is chosen the same way to
    reproduce ``total_events`` when it is given; otherwise it is the average number
    censored per unit time in the earlier intervals times the length of the last one
    (Guyot's default; no censoring when the table has a single time). Everyone still at
    risk at the end of the curve is censored there.

    The reconstruction rests on these assumptions:

    * censoring is uninformative and spread evenly over each at-risk interval (the
      figure's censoring tick marks are not used);
    * every event happens at a digitised point, so drops between clicked points are
      placed at the next point: the time resolution is that of the digitisation;
    * the curve is the KM estimate for exactly the patients in the at-risk table.

    When the curve falls steeply within an interval, more events with fewer censored
    patients and fewer events with more censored patients can reproduce the curve and
    the table equally well; the split between events and censoring is then only as good
    as these assumptions (``total_events`` helps only in the last interval).

    References
    ----------
    .. [1] Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary analysis of
       survival data: reconstructing the data from published Kaplan-Meier survival
       curves. BMC Med Res Methodol 2012; 12:9. doi:10.1186/1471-2288-12-9

    Examples
    --------
    >>> ipd = guyot_reconstruct(
    ...     [0, 2, 2, 5, 5, 8], [1, 1, 0.9, 0.9, 0.75, 0.75], [0, 4], [10, 9]
    ... )
    >>> int(ipd["event"].sum()), len(ipd)
    (3, 10)
    """
    t_pts, s_pts = clean_digitised(t_km, s_km, tolerance=tolerance)
    t_at, n_at = _check_at_risk(t_risk, n_risk, "t_risk", "n_risk")
    n_total = int(n_at[0])
    if total_events is not None:
        if (
            isinstance(total_events, bool)
            or not isinstance(total_events, (int, np.integer, float, np.floating))
            or not float(total_events).is_integer()
            or not 0 <= total_events <= n_total
        ):
            raise DataError(
                f"total_events = {total_events!r} must be a whole number between 0 and "
                f"n_risk[0] = {n_total}"
            )
        total_events = int(total_events)

    zero = np.flatnonzero(s_pts == 0)
    if zero.size:
        t_zero = t_pts[zero[0]]
        late = np.flatnonzero((t_at > t_zero) & (n_at > 0))
        if late.size:
            i = int(late[0])
            raise DataError(
                f"the curve reaches survival 0 at time {t_zero:g} but n_risk[{i}] = {n_at[i]} "
                f"patients are at risk at the later time t_risk[{i}] = {t_at[i]:g}"
            )

    n_int = t_at.size
    interval = np.searchsorted(t_at, t_pts, side="right") - 1  # >= 0 since t_pts[0] = 0
    t_end = max(float(t_pts[-1]), float(t_at[-1]))

    def curve_at(t: float) -> float:
        """The digitised curve as a right-continuous step function."""
        return float(s_pts[np.searchsorted(t_pts, t, side="right") - 1])

    fits: list[_IntervalFit] = []
    n_reconstructed = np.zeros(n_int, dtype=np.int64)
    km, n_here, events_so_far = 1.0, n_total, 0
    for i in range(n_int):
        n_reconstructed[i] = n_here
        last = i == n_int - 1
        start, stop = float(t_at[i]), (t_end if last else float(t_at[i + 1]))
        times, surv = t_pts[interval == i], s_pts[interval == i]

        fit = partial(
            _fit_interval,
            times=times,
            surv=surv,
            n_start=n_here,
            km_start=km,
            start=start,
            stop=stop,
        )
        if not last:
            n_next = int(n_at[i + 1])
            s_start = curve_at(start)
            guess = _round_half_up(n_here * curve_at(stop) / s_start - n_next) if s_start else 0
            candidates = [fit(c) for c in range(max(n_here - n_next, 0) + 1)]
            chosen = _best_fit(candidates, [f.n_end - n_next for f in candidates], guess)
        else:
            guess = 0
            if n_int > 1:
                rate = sum(f.n_censored for f in fits) / float(t_at[-1])
                guess = min(_round_half_up(rate * (stop - start)), n_here)
            if total_events is not None:
                wanted = total_events - events_so_far
                candidates = [fit(c) for c in range(n_here + 1)]
                surplus = [int(f.events.sum()) - wanted for f in candidates]
                chosen = _best_fit(candidates, surplus, guess)
            else:
                chosen = fit(guess)
                while chosen.n_end < 0:  # more censored than there are patients left
                    chosen = fit(chosen.n_censored - 1)
        fits.append(chosen)
        km = chosen.km_end
        events_so_far += int(chosen.events.sum())
        n_here = chosen.n_end

    mismatch = np.abs(n_reconstructed - n_at)
    worst = int(np.argmax(mismatch))
    if mismatch[worst] > max(2, 0.05 * n_at[worst]):
        warnings.warn(
            f"guyot_reconstruct: {n_reconstructed[worst]} patients at risk at "
            f"t_risk[{worst}] = {t_at[worst]:g} in the reconstruction but {n_at[worst]} in "
            "the table; the curve and the table disagree",
            UserWarning,
            stacklevel=2,
        )
    if total_events is not None and abs(events_so_far - total_events) > max(2, 0.05 * total_events):
        warnings.warn(
            f"guyot_reconstruct: the reconstruction has {events_so_far} events, not "
            f"total_events = {total_events}; the curve and the table do not allow that total",
            UserWarning,
            stacklevel=2,
        )

    event_times = [np.repeat(t_pts[interval == i], f.events) for i, f in enumerate(fits)]
    censor_times = [f.censor_times for f in fits]
    censor_times.append(np.full(n_here, t_end))  # still at risk at the end of the curve
    ev, ce = np.concatenate(event_times), np.concatenate(censor_times)
    time = np.concatenate((ev, ce))
    event = np.concatenate((np.ones(ev.size, dtype=np.int64), np.zeros(ce.size, dtype=np.int64)))
    order = np.lexsort((1 - event, time))
    out = pd.DataFrame({"time": time[order], "event": event[order]})
    out.attrs["n_risk_reconstructed"] = n_reconstructed.tolist()
    out.attrs["n_censored"] = [f.n_censored for f in fits]
    return out
