"""Argument checks of the design engines, shared by every design module.

One :class:`~bayesblina.errors.SpecError` each, naming the argument, the value and what is
allowed (``nmax = 0 is invalid: allowed values are nmax >= 1``).
"""

from __future__ import annotations

import numbers

import numpy as np

from bayesblina.errors import SpecError


def check_int(name: str, value: object, minimum: int, allowed: str | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum``.

    ``allowed`` says what is allowed (default ``"<name> >= <minimum>"``).
    """
    allowed = allowed or f"{name} >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SpecError(f"{name} = {value!r} is invalid: it must be an integer ({allowed})")
    if value < minimum:
        raise SpecError(f"{name} = {value!r} is invalid: allowed values are {allowed}")
    return int(value)


def check_prob(name: str, value: object, *, closed: bool = False) -> float:
    """Return ``value`` as a ``float`` in (0, 1), or in [0, 1] if ``closed``."""
    interval = "[0, 1]" if closed else "(0, 1)"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpecError(f"{name} = {value!r} is invalid: it must be a number in {interval}")
    x = float(value)
    inside = (0.0 <= x <= 1.0) if closed else (0.0 < x < 1.0)
    if not inside:  # also catches NaN
        raise SpecError(f"{name} = {value!r} is invalid: it must lie in {interval}")
    return x


def check_positive(name: str, value: object, *, allow_inf: bool = False) -> float:
    """Return ``value`` as a ``float`` > 0 (finite unless ``allow_inf``)."""
    allowed = "a number > 0" + ("" if allow_inf else " (finite)")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpecError(f"{name} = {value!r} is invalid: it must be {allowed}")
    x = float(value)
    if not x > 0 or (np.isinf(x) and not allow_inf):  # NaN fails `x > 0`
        raise SpecError(f"{name} = {value!r} is invalid: it must be {allowed}")
    return x


def check_real(name: str, value: object) -> float:
    """Return ``value`` as a finite ``float``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(
        float(value)
    ):
        raise SpecError(f"{name} = {value!r} is invalid: it must be a finite number")
    return float(value)
