"""Report components of the response-rate analysis (stateless: fits in, values out)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from bayesblina.analyses.response_rate.model import BetaBinomialModel
from bayesblina.analyses.response_rate.plots import plot_proportion_posteriors
from bayesblina.core.components import Components, Extras, model_of, passed_idata
from bayesblina.core.fit import AnalysisResult, Fit


def exact(fit: Fit, cache: MutableMapping[str, Any]) -> Extras:
    """The conjugate Beta posterior of each population (the exact check)."""
    model = model_of(BetaBinomialModel, fit)
    return Extras(exact=model.exact_table(fit.spec.summary))


def reference(result: AnalysisResult) -> pd.DataFrame:
    """Observed rates with their Clopper–Pearson CIs and the published values."""
    return result.model.reference_table()


def figure(result: AnalysisResult) -> Figure | None:
    """Posterior densities of every prior set beside the exact CIs."""
    fits = passed_idata(result)
    return plot_proportion_posteriors(fits, reference(result)) if fits else None


COMPONENTS = Components(per_fit=(exact,), reference=reference, figure=figure)
