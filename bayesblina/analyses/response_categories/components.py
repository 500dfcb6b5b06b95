"""Report components of the response-categories analysis (stateless: fits in, values out)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from bayesblina.analyses.response_categories.model import ResponseCategoriesModel
from bayesblina.core.components import Components, Extras, model_of, passed_idata
from bayesblina.core.fit import AnalysisResult, Fit


def exact(fit: Fit, cache: MutableMapping[str, Any]) -> Extras:
    """The conjugate Dirichlet posterior's quantities (the exact check)."""
    model = model_of(ResponseCategoriesModel, fit)
    return Extras(exact=model.exact_table(fit.spec.summary))


def reference(result: AnalysisResult) -> pd.DataFrame:
    """Observed proportions with exact CIs and the published values."""
    return result.model.reference_table()


def figure(result: AnalysisResult) -> Figure | None:
    """Posterior of each category's probability beside the exact CIs."""
    fits = passed_idata(result)
    return result.model.plot(fits) if fits else None


COMPONENTS = Components(per_fit=(exact,), reference=reference, figure=figure)
