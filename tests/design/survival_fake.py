"""A stand-in for a survival analysis's result: what a design study reads of it, no fit.

A design study with ``survival_analysis`` reads, of the named analysis, its fits by prior set
(``passed``, ``idata.posterior`` with ``lambda_`` and ``rho_``), ``spec.options.time_unit``
and (the command line's progress line) ``status``.
"""

from __future__ import annotations

from types import SimpleNamespace

import arviz as az
import numpy as np


def fake_survival(shape, scale, *, passed: bool = True, prior_set: str = "weakly_informative",
                  time_unit: str = "months") -> SimpleNamespace:
    """An object shaped like an ``AnalysisResult`` of a Weibull survival fit with these draws."""
    shape = np.atleast_1d(np.asarray(shape, dtype=float))
    scale = np.atleast_1d(np.asarray(scale, dtype=float))
    idata = az.from_dict(posterior={"rho_": shape[None, :], "lambda_": scale[None, :]})
    fit = SimpleNamespace(passed=passed, idata=idata)
    return SimpleNamespace(fits={prior_set: fit}, status="PASSED" if passed else "FAILED",
                           spec=SimpleNamespace(options=SimpleNamespace(time_unit=time_unit)))


def default_fake() -> SimpleNamespace:
    """Draws near this trial's OS posterior (shape ~1.1, scale ~11 months), seeded."""
    rng = np.random.default_rng(20161003)
    return fake_survival(rng.normal(1.1, 0.08, 400), rng.normal(11.0, 1.2, 400))
