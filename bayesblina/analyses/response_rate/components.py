"""Report components of the response-rate analysis (stateless: fits in, values out)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from bayesblina.analyses.response_rate.model import BetaBinomialModel
from bayesblina.analyses.response_rate.plots import plot_proportion_posteriors
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


def findings(result: AnalysisResult) -> list[Finding]:
    """One row per population: the published rate (exact CI) beside the posterior's."""
    out = []
    prob = result.spec.summary.ci_prob
    for _, ref in reference(result).iterrows():
        pop = ref["population"]
        question = f"{result.spec.analysis.title}: {pop} (n = {ref['n']})"
        default, others = by_prior(result, lambda t, pop=pop: t[t["population"] == pop])
        if default is None or default.empty:
            out.append(failed(result, question))
            continue
        row = default.iloc[0]
        tails = [c for c in default.columns if c.startswith("P(p>") and pd.notna(row[c])]
        tail_text = " and ".join(f"P(p > {100 * float(c[4:-1]):g}%) = {row[c]:.3f}"
                                 for c in tails)
        other_means = [o.iloc[0]["mean"] for o in others.values() if not o.empty]
        sentence = (f"Under the {result.prior_label(result.default_prior)} prior the rate is "
                    f"{estimate(row, prob=prob)} against {ref['x']}/{ref['n']} observed"
                    + (f"; {tail_text}" if tail_text else "")
                    + (f"; under the {others_text(result, others)} the mean is "
                       f"{span(other_means)}." if other_means else "."))
        out.append(Finding(
            question=question,
            published=published_text(ref),
            posterior=estimate(row, prob=prob),
            other_priors=f"mean {span(other_means)}" if other_means else NONE,
            sentence=sentence))
    return out


COMPONENTS = Components(per_fit=(exact,), reference=reference, figure=figure,
                        findings=findings)
