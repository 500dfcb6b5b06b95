"""Report components of the response-categories analysis (stateless: fits in, values out)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from bayesblina.analyses.response_categories.model import ResponseCategoriesModel
from bayesblina.core.components import Components, Extras, model_of, passed_idata
from bayesblina.core.findings import (
    NONE,
    Finding,
    by_prior,
    estimate,
    failed,
    others_text,
    published_text,
    span,
)
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


def findings(result: AnalysisResult) -> list[Finding]:
    """One row: the proportions the paper printed with a CI, beside their posteriors."""
    question = result.spec.analysis.title
    ref = reference(result)
    ref = ref[ref["published_ci_low"].notna()]
    if ref.empty:
        return []
    default, others = by_prior(result, lambda t: t)
    if default is None:
        return [failed(result, question)]
    prob = result.spec.summary.ci_prob
    published, posterior, other, parts = [], [], [], []
    for _, r in ref.iterrows():
        row = default[default["population"] == r["population"]]
        if row.empty:
            continue
        text = estimate(row.iloc[0], prob=prob)
        published.append(f"{r['population']}: {published_text(r)} ({r['x']}/{r['n']})")
        posterior.append(f"{r['population']}: {text}")
        parts.append(f"{r['population']} is {text}")
        vals = [float(o.loc[o["population"] == r["population"], "mean"].iloc[0])
                for o in others.values() if (o["population"] == r["population"]).any()]
        if vals:
            other.append(f"{r['population']}: {span(vals)}")
    sentence = (f"Under the {result.prior_label(result.default_prior)} prior "
                f"{'; '.join(parts)}"
                + (f"; under the {others_text(result, others)}: {'; '.join(other)}"
                   if other else "") + ".")
    return [Finding(question, "; ".join(published), "; ".join(posterior),
                    "; ".join(other) or NONE, sentence)]


COMPONENTS = Components(per_fit=(exact,), reference=reference, figure=figure,
                        findings=findings)
