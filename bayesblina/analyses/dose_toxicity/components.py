"""Report components of the dose-toxicity analyses (stateless: fits in, values out)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from bayesblina.analyses.dose_toxicity.blrm import BLRMModel
from bayesblina.analyses.dose_toxicity.crm import CRMModel
from bayesblina.core.components import Components, Extras, model_of, passed_idata
from bayesblina.core.fit import AnalysisResult, Fit


def blrm_exact(fit: Fit, cache: MutableMapping[str, Any]) -> Extras:
    """The exact grid posterior's quantities (the check of the MCMC fit)."""
    return Extras(exact=model_of(BLRMModel, fit).exact_table(fit.spec.summary))


def blrm_sensitivity(fit: Fit, cache: MutableMapping[str, Any]) -> Extras:
    """Stepwise-regimen treatments and fifth-DLT sensitivity tables, on the exact grid."""
    return Extras(tables=model_of(BLRMModel, fit).extra_tables(fit.idata, fit.spec))


def blrm_decision(fit: Fit, cache: MutableMapping[str, Any]) -> Extras:
    """The EWOC dose and the overdosing probabilities of the fit."""
    return Extras(decision=model_of(BLRMModel, fit).recommendation(fit.idata))


def crm_exact(fit: Fit, cache: MutableMapping[str, Any]) -> Extras:
    """The exact grid posterior's quantities (the check of the MCMC fit)."""
    return Extras(exact=model_of(CRMModel, fit).exact_table(fit.spec.summary))


def crm_decision(fit: Fit, cache: MutableMapping[str, Any]) -> Extras:
    """The recommended level of the fit (Cheung's plug-in convention)."""
    return Extras(decision=model_of(CRMModel, fit).recommendation(fit.idata))


def reference(result: AnalysisResult) -> pd.DataFrame:
    """Observed DLT rates per cohort with Clopper–Pearson CIs."""
    return result.model.reference_table()


def figure(result: AnalysisResult) -> Figure | None:
    """The posterior DLT curve (BLRM) or the posterior per level (CRM)."""
    fits = passed_idata(result)
    return result.model.plot(fits) if fits else None


BLRM_COMPONENTS = Components(
    per_fit=(blrm_exact, blrm_sensitivity, blrm_decision), reference=reference, figure=figure
)
CRM_COMPONENTS = Components(per_fit=(crm_exact, crm_decision), reference=reference, figure=figure)
