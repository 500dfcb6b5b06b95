"""The paper's frequentist arithmetic: exact binomial CIs and half-up rounding.

The paper reports proportions with exact (Clopper-Pearson) 95% confidence intervals
and prints every number rounded half up (38.55 -> 38.6), not with Python's
round-half-to-even.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from bayesblina.errors import DataError

__all__ = ["clopper_pearson", "percent", "round_half_up"]


def _check_counts(x: object, n: object) -> tuple[int, int]:
    for name, value in (("x", x), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise DataError(f"{name} = {value!r} is invalid: it must be a whole number")
    x, n = int(x), int(n)  # type: ignore[call-overload]
    if n < 1:
        raise DataError(f"n = {n} is invalid: the number of patients must be at least 1")
    if not 0 <= x <= n:
        raise DataError(f"x = {x} is invalid: responders must satisfy 0 <= x <= n = {n}")
    return x, n


def clopper_pearson(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) confidence interval for a binomial proportion.

    Computed by :meth:`scipy.stats.binomtest(x, n).proportion_ci
    <scipy.stats._result_classes.BinomTestResult.proportion_ci>` with
    ``method="exact"``; equivalently ``(Beta(a/2; x, n-x+1), Beta(1-a/2; x+1, n-x))``
    quantiles, with bound 0 when ``x = 0`` and 1 when ``x = n``.

    Parameters
    ----------
    x : int
        Number of responders, ``0 <= x <= n``.
    n : int
        Number of patients, ``n >= 1``.
    level : float, default 0.95
        Confidence level, in (0, 1).

    Returns
    -------
    tuple of float
        ``(low, high)`` as proportions in [0, 1].

    Raises
    ------
    DataError
        If ``x`` or ``n`` is not a whole number, ``n < 1``, ``x`` is outside
        ``[0, n]`` or ``level`` is outside (0, 1).

    Examples
    --------
    >>> low, high = clopper_pearson(27, 70)
    >>> round(100 * low, 1), round(100 * high, 1)
    (27.2, 51.0)
    """
    x, n = _check_counts(x, n)
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise DataError(f"level = {level!r} is invalid: it must be a number in (0, 1)")
    ci = binomtest(x, n).proportion_ci(confidence_level=float(level), method="exact")
    return float(ci.low), float(ci.high)


def round_half_up(value: float | int | Decimal | Fraction, decimals: int) -> float:
    """Round as printed tables do: halves away from zero (2.5 -> 3, 0.125 -> 0.13).

    A float is rounded as its shortest decimal representation (``repr``), so
    ``round_half_up(0.125, 2) == 0.13`` and ``round_half_up(2.675, 2) == 2.68``, unlike
    :func:`round`, which rounds half to even and works on the binary value. Pass a
    :class:`fractions.Fraction` (e.g. ``Fraction(100 * x, n)``) to round an exact ratio.

    Parameters
    ----------
    value : float, int, decimal.Decimal or fractions.Fraction
        Finite number to round.
    decimals : int
        Number of decimals, ``>= 0``.

    Returns
    -------
    float
        The rounded number.

    Raises
    ------
    DataError
        If ``value`` is not a finite number or ``decimals`` is not a whole number >= 0.

    Examples
    --------
    >>> round_half_up(32.5, 0), round(32.5)
    (33.0, 32)
    """
    if isinstance(decimals, bool) or not isinstance(decimals, numbers.Integral) or decimals < 0:
        raise DataError(f"decimals = {decimals!r} is invalid: it must be a whole number >= 0")
    if isinstance(value, bool):
        raise DataError(f"value = {value!r} is invalid: it must be a number")
    with localcontext() as ctx:
        ctx.prec = 60
        if isinstance(value, Decimal):
            exact = value
        elif isinstance(value, Fraction):
            exact = Decimal(value.numerator) / Decimal(value.denominator)
        elif isinstance(value, numbers.Integral):
            exact = Decimal(int(value))
        elif isinstance(value, numbers.Real):
            exact = Decimal(repr(float(value)))
        else:
            raise DataError(f"value = {value!r} is invalid: it must be a number")
        if not exact.is_finite():
            raise DataError(f"value = {value!r} is invalid: it must be finite")
        quantum = Decimal(1).scaleb(-int(decimals))
        return float(exact.quantize(quantum, rounding=ROUND_HALF_UP))


def percent(x: int, n: int, decimals: int) -> float:
    """Return ``100 x / n`` rounded half up to ``decimals``, computed exactly.

    Parameters
    ----------
    x : int
        Numerator, ``0 <= x <= n``.
    n : int
        Denominator, ``n >= 1``.
    decimals : int
        Decimals printed.

    Returns
    -------
    float
        The percentage as the paper would print it.

    Raises
    ------
    DataError
        If the counts are invalid (see :func:`clopper_pearson`).

    Examples
    --------
    >>> percent(27, 70, 1)
    38.6
    """
    x, n = _check_counts(x, n)
    return round_half_up(Fraction(100 * x, n), decimals)


def exact_ci_table(
    x: Sequence[int], n: Sequence[int], *, level: float = 0.95, **labels: Sequence[Any]
) -> pd.DataFrame:
    """Observed proportions with their exact (Clopper–Pearson) CIs, one row per count.

    The one reference table of every analysis: label columns first (``labels``, in the
    order given), then ``x``, ``n``, ``observed``, ``cp_low``, ``cp_high``. A row with
    ``n = 0`` has NaN there (no proportion to estimate).

    Parameters
    ----------
    x, n : sequences of int
        Successes and trials per row.
    level : float
        Coverage of the interval.
    **labels : sequences
        Label columns (e.g. ``population=[...]``), each as long as ``x``.
    """
    rows = []
    for i, (xi, ni) in enumerate(zip(x, n, strict=True)):
        xi, ni = int(xi), int(ni)
        lo, hi = clopper_pearson(xi, ni, level) if ni else (np.nan, np.nan)
        rows.append({**{k: v[i] for k, v in labels.items()}, "x": xi, "n": ni,
                     "observed": xi / ni if ni else np.nan, "cp_low": lo, "cp_high": hi})
    return pd.DataFrame(rows, columns=[*labels, "x", "n", "observed", "cp_low", "cp_high"])
