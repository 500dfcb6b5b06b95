"""Report components of the dose-toxicity analyses (stateless: fits in, values out)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from bayesblina.analyses.dose_toxicity.blrm import BLRMModel
from bayesblina.analyses.dose_toxicity.crm import CRMModel
from bayesblina.core.components import Components, Extras, model_of, passed_idata
from bayesblina.core.findings import Finding, by_prior, failed, number, others_text, span
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


def _g(value: float) -> str:
    """A dose or a dose quantile: 3 significant figures (``28.2``, ``1,598``)."""
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def findings(result: AnalysisResult) -> list[Finding]:
    """One row: the observed DLTs per cohort beside P(DLT), P(overdose) and the MTD."""
    question = result.spec.analysis.title
    options = result.spec.options
    over = options.cuts[1]
    default, others = by_prior(result, lambda t: t)
    if default is None:
        return [failed(result, question)]
    ref = reference(result)
    published = "DLTs / patients: " + "; ".join(
        f"{r['cohort']}: {r['DLTs / patients']}" for _, r in ref.iterrows())
    cohorts = default[default["quantity"] == "p_cohort"]
    mtd = default[default["quantity"] == "mtd"]
    p_text = "; ".join(f"{r['element']}: {number(r['mean'])}%" for _, r in cohorts.iterrows())
    o_text = "; ".join(f"{r['element']}: {r['P(over)']:.3f}" for _, r in cohorts.iterrows())
    posterior = f"P(DLT) {p_text}. P(DLT > {over:g}) {o_text}"
    lead = f"Under the {result.prior_label(result.default_prior)} prior"
    worst = cohorts.loc[cohorts["P(over)"].idxmax()]
    sentence = (f"{lead} the probability that a cohort's regimen is over-toxic "
                f"(P(DLT) > {over:g}) is at most {worst['P(over)']:.3f} ({worst['element']})")
    other = []
    if not mtd.empty:
        m = mtd.iloc[0]
        target = float(m["element"])
        posterior += (f". MTD (P(DLT) = {target:g}): median {_g(m['median'])} "
                      f"({100 * result.spec.summary.ci_prob:g}% CrI {_g(m['eti_low'])} to "
                      f"{_g(m['eti_high'])})")
        sentence += (f"; the dose with P(DLT) = {target:g} has posterior median {_g(m['median'])}"
                     f" ({100 * result.spec.summary.ci_prob:g}% CrI {_g(m['eti_low'])} to "
                     f"{_g(m['eti_high'])})")
        ref_cols = [c for c in mtd.columns if c.startswith("P(MTD>=") and pd.notna(m[c])]
        for c in ref_cols:
            sentence += f", {c} = {m[c]:.2f}"
        medians = [o.loc[(o["quantity"] == "mtd") & (o["element"] == m["element"]), "median"]
                   for o in others.values()]
        vals = [float(v.iloc[0]) for v in medians if not v.empty]
        if vals:
            other.append(f"MTD median {span(vals, unit='', scale=1.0, digits=1)}")
    decision = result.extras[result.default_prior].decision
    if "ewoc_dose" in decision:
        sentence += (f"; EWOC (P(overdose) ≤ {decision['max_overdose_prob']:g}) allows doses up "
                     f"to {_g(decision['ewoc_dose'])}")
    elif "recommended_level_mean" in decision:
        sentence += (f"; the level whose posterior mean DLT rate is closest to the target "
                     f"{decision['target']:g} is {_g(decision['recommended_level_mean'])}")
    worst_other = [float(o.loc[(o["quantity"] == "p_cohort") & (o["element"] == worst["element"]),
                               "P(over)"].iloc[0]) for o in others.values()]
    if worst_other:
        other.append(f"P(DLT > {over:g}) at {worst['element']}: "
                     f"{span(worst_other, unit='', scale=1.0, digits=3)}")
        sentence += f"; under the {others_text(result, others)}: {'; '.join(other)}"
    return [Finding(question, published, posterior, "; ".join(other) or "–", sentence + ".")]


BLRM_COMPONENTS = Components(
    per_fit=(blrm_exact, blrm_sensitivity, blrm_decision), reference=reference, figure=figure,
    findings=findings,
)
CRM_COMPONENTS = Components(per_fit=(crm_exact, crm_decision), reference=reference, figure=figure,
                            findings=findings)
