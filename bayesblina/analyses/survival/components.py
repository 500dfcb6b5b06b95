"""Report components of the survival analyses (stateless: fits in, values out)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from matplotlib.figure import Figure

from bayesblina.analyses.survival.model import SurvivalModel
from bayesblina.core.components import Components, Extras, model_of, passed_idata
from bayesblina.core.fit import AnalysisResult, Fit


def checks(fit: Fit, cache: MutableMapping[str, Any]) -> Extras:
    """Reconstruction uncertainty and check, posterior predictive check, LOO comparison."""
    return Extras(tables=model_of(SurvivalModel, fit).extra_tables(fit.idata, fit.spec))


def figure(result: AnalysisResult) -> Figure | None:
    """Posterior survival curves over the Kaplan–Meier curve of the pseudo data."""
    fits = passed_idata(result)
    return result.model.plot(fits) if fits else None


COMPONENTS = Components(per_fit=(checks,), figure=figure)
