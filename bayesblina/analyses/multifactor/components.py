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

COMPONENTS = Components(per_fit=(adjustment, validation), reference=reference, figure=figure,
                        no_exact=NO_EXACT)
