"""Report components of the several-factors analysis (stateless: fits in, values out)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from bayesblina.analyses.multifactor.model import MultifactorModel, is_inline
from bayesblina.analyses.multifactor.plots import multifactor_forest
from bayesblina.analyses.multifactor.validation_tables import load_results
from bayesblina.core.components import Components, Extras, model_of, passed_idata
from bayesblina.core.findings import NONE, Finding, by_prior, estimate, failed, number, span
from bayesblina.core.fit import AnalysisResult, Fit


def adjustment(fit: Fit, cache: MutableMapping[str, Any]) -> Extras:
    """Raw vs adjusted contrasts (when any is reported), imputed cross-tables, summary.json."""
    model = model_of(MultifactorModel, fit)
    tables = {}
    if model.contrasts():
        tables["Raw vs adjusted contrasts"] = model.adjustment_table(
            fit.idata, fit.spec.summary.ci_prob,
            model.unadjusted_log_odds_ratios(
                model.options.factor_alone_sampler or fit.spec.sampler.for_comparison(),
                gate=fit.spec.gate),
        )
    tables["Imputed cross-tables (posterior mean counts, 95% interval)"] = (
        model.imputed_tables(fit.idata))
    return Extras(tables=tables, json=model.summary_json(fit.idata, fit.spec))


def validation(fit: Fit, cache: MutableMapping[str, Any]) -> Extras:
    """The stored tables of the model's simulation validation (when they were run).

    They validate the model on this trial's margins: none for inline margins.
    """
    if is_inline(fit.data):
        return Extras()
    tables = {}
    checks, fixed = load_results("sbc_checks"), load_results("fixed_truth")
    if checks is not None:
        tables["Simulation-based calibration (90% coverage, rank uniformity)"] = checks
    if fixed is not None:
        tables["Fixed truths: bias, coverage, posterior/prior SD"] = fixed
    return Extras(tables=tables)


def reference(result: AnalysisResult) -> pd.DataFrame:
    """Each subgroup's raw margin with its exact CI and the published Fig 2 values."""
    return result.model.reference_table()


def figure(result: AnalysisResult) -> Figure | None:
    """Raw margins beside the standardised rates and adjusted contrasts."""
    fits = passed_idata(result)
    return multifactor_forest(result.model, fits) if fits else None


#: why no exact table: the unknown patient table has too many completions to sum over
NO_EXACT = ("no exact computation: the posterior sums over every patient table that meets the "
            "published margins (about 2e11 tables), so the model is validated by simulation "
            "instead (simulation-based calibration and fixed truths, tables below)")

def findings(result: AnalysisResult) -> list[Finding]:
    """One row: each contrast's raw difference beside its adjusted (standardised) posterior."""
    question = result.spec.analysis.title
    prob = result.spec.summary.ci_prob
    default, others = by_prior(result, lambda t: t[t["quantity"] == "standardised_difference"])
    if default is None:
        return [failed(result, question)]
    if default.empty:  # no contrast asked: nothing to set beside the raw margins
        return []
    raw = result.extras[result.default_prior].tables.get("Raw vs adjusted contrasts")
    raw_diff = ({} if raw is None else
                dict(zip(raw["contrast"], raw["raw_difference"], strict=True)))
    posterior, published, other, parts, shrunk = [], [], [], [], []
    for _, d in default.iterrows():
        name = d["population"]
        text = estimate(d, unit=" points", prob=prob)
        posterior.append(f"{name}: {text}")
        if name in raw_diff:
            published.append(f"{name}: {number(raw_diff[name])} points (raw margins)")
            parts.append(f"{name} {number(raw_diff[name])} raw, {number(d['mean'])} adjusted")
            shrunk.append(abs(d["mean"]) < abs(raw_diff[name]))
        vals = [float(o.loc[o["population"] == name, "mean"].iloc[0])
                for o in others.values() if (o["population"] == name).any()]
        if vals:
            other.append(f"{name}: {span(vals, unit=' points')}")
    sentence = (f"Adjusted for the other factors (standardised rates, "
                f"{result.prior_label(result.default_prior)} prior) the differences "
                f"{'shrink' if shrunk and all(shrunk) else 'change'}: "
                f"{'; '.join(parts)} (percentage points).")
    return [Finding(question, "; ".join(published) or NONE, "; ".join(posterior),
                    "; ".join(other) or NONE, sentence)]


COMPONENTS = Components(per_fit=(adjustment, validation), reference=reference, figure=figure,
                        findings=findings,
                        no_exact=NO_EXACT)
