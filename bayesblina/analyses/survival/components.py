"""Report components of the survival analyses (stateless: fits in, values out).

Every time in these tables is in the spec's ``[options] time_unit``.
"""

from __future__ import annotations

import itertools
from collections.abc import MutableMapping
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bayesblina.analyses.survival.model import SurvivalModel, SurvivalOptions
from bayesblina.analyses.survival.plots import plot_survival
from bayesblina.core.compare import loo_table
from bayesblina.core.components import Components, Extras, model_of, passed_idata
from bayesblina.core.findings import Finding, by_prior, failed, number, others_text, span
from bayesblina.core.fit import AnalysisResult, Fit
from bayesblina.reconstruct.pseudo_ipd import assumptions_table, check_reconstruction
from bayesblina.reconstruct.targets import published_targets

#: quantities of the summary that are times (in the spec's time unit)
TIME_QUANTITIES = ("median", "rmst", "lambda_")

UNCERTAINTY = "Reconstruction uncertainty: pooled vs within-reconstruction SD"
CHECK = "Reconstructed data against the published numbers"
ASSUMPTIONS = "Assumptions of the reconstruction"
PPC = "Posterior predictive check against the Kaplan–Meier curve"
LOO = "Model comparison by PSIS-LOO (first reconstruction)"
UNITS = "Time unit of the survival quantities"


def reconstruction_uncertainty(idata: az.InferenceData) -> pd.DataFrame:
    """How much the uncertainty of the reconstruction adds to the posterior.

    For each scalar quantity: the SD of the pooled posterior (all reconstructions) and
    the root mean within-reconstruction variance; their ratio is > 1 by the share of
    the between-reconstruction variance (the law of total variance).

    Parameters
    ----------
    idata : arviz.InferenceData
        A pooled fit (its chains carry the coordinate ``reconstruction``).

    Returns
    -------
    pandas.DataFrame
        ``quantity, element, reconstructions, pooled_sd, within_sd, sd_ratio``.
    """
    post = idata.posterior
    recon = post.coords["reconstruction"].values
    rows = []
    for name in ("median", "rmst", "surv", "hazard_ratio", "acceleration_factor"):
        if name not in post:
            continue
        da = post[name]
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        for el in itertools.product(*(da.coords[d].values for d in extra)):
            x = da.sel(dict(zip(extra, el, strict=True))).values  # (chain, draw)
            within = [x[recon == r].var(ddof=1) for r in np.unique(recon)]
            total_sd, within_sd = float(np.std(x, ddof=1)), float(np.sqrt(np.mean(within)))
            label = ", ".join(str(v) for v in el)
            rows.append({"quantity": name, "element": label,
                         "reconstructions": len(np.unique(recon)),
                         "pooled_sd": total_sd, "within_sd": within_sd,
                         "sd_ratio": total_sd / within_sd if within_sd > 0 else np.nan})
    return pd.DataFrame(rows)


def reconstruction_check(data: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """Each reconstruction's KM medians (and landmarks) against the published numbers.

    Parameters
    ----------
    data : pandas.DataFrame
        The model's data (``reconstruction, time, event, group``).
    endpoint : str
        The published endpoint the data reconstruct (``os``, ``rfs``, ``rfs_mrd``).

    Returns
    -------
    pandas.DataFrame
        :func:`~bayesblina.reconstruct.pseudo_ipd.check_reconstruction` of every
        reconstruction, with a ``reconstruction`` column.
    """
    parts = []
    for r, rows in data.groupby("reconstruction"):
        df = rows[["time", "event"]].copy()
        if endpoint == "rfs_mrd":
            df["complete_mrd"] = rows["group"].to_numpy()
        parts.append(check_reconstruction(endpoint, df).assign(reconstruction=r))
    return pd.concat(parts, ignore_index=True)


def time_units(fit: Fit) -> pd.DataFrame:
    """The unit of each time in the fit's summary (median, RMST, scale, report times)."""
    unit = fit.spec.options.time_unit
    rows = [{"quantity": q, "unit": unit} for q in TIME_QUANTITIES]
    rows.append({"quantity": "time (where surv is evaluated)", "unit": unit})
    return pd.DataFrame(rows)


def compare_families(fit: Fit) -> pd.DataFrame:
    """Fit the alternative families on the first reconstruction; compare by PSIS-LOO.

    The families are ``[options] compare``; alternatives are sampled with the spec's
    sampler settings (on ``comparison_backend`` where set) and reuse this prior set's
    ``log_scale``, ``shape`` and ``effect`` priors (the effect keeps this fit's form where
    the family allows it, else AFT; the scale prior sits on log(lambda) for non-Weibull
    families). The cure fraction gets logit(pi) ~ N(0, 1.5^2) unless the prior set names
    one. Fits that fail the gate are listed (``gate`` FAILED) after the ranked ones
    (:func:`bayesblina.core.compare.loo_table`).

    Parameters
    ----------
    fit : Fit
        A fit of the survival model that passed the gate.

    Returns
    -------
    pandas.DataFrame
        The LOO table with a ``gate`` column.
    """
    model = model_of(SurvivalModel, fit)
    opts = model.options
    first = model.datasets()[model.reconstructions()[0]]
    base = model.prior.parameter_priors()
    cure = base.get("cure_logit") or {"family": "normal", "mu": 0.0, "sigma": 1.5}
    shape = base.get("shape") or {"family": "half_normal", "sigma": 2.0}
    this = f"{opts.family} (this fit)"
    loos = {this: model.loo(fit.idata)}
    info: dict[str, dict[str, Any]] = {this: {"gate": "PASSED"}}
    for family in opts.compare:
        if family == opts.family:
            continue
        prior: dict[str, Any] = {"log_scale": base["log_scale"]}
        if family != "exponential":
            prior["shape"] = shape
        if family == "cure_weibull":
            prior["cure_logit"] = cure
        if opts.covariate:
            prior["effect"] = base["effect"]
        weibull_like = family in ("weibull", "exponential", "cure_weibull")
        options = SurvivalOptions.model_validate({
            **opts.model_dump(),
            "family": family,
            "compare": [],
            "form": opts.form if family in ("weibull", "exponential") else "aft",
            "scale_prior": opts.scale_prior if weibull_like else "log_lambda",
        })
        alt = SurvivalModel(first, prior, options)
        alt_idata = alt.fit(fit.spec.sampler.for_comparison())
        gate = alt.gate(alt_idata, fit.spec.gate)
        info[family] = {"gate": gate.status}
        if gate.passed:
            loos[family] = alt.loo(alt_idata)
    return loo_table(loos, info)


def checks(fit: Fit, cache: MutableMapping[str, Any]) -> Extras:
    """Reconstruction uncertainty and check, posterior predictive check, LOO comparison.

    Parameters
    ----------
    fit : Fit
        A fit of the survival model that passed the gate.
    cache : mutable mapping
        Unused (the comparison fits are not shared between prior sets).

    Returns
    -------
    Extras
        The tables, and ``time_unit`` as a ``summary.json`` key.
    """
    opts = fit.spec.options
    tables = {UNCERTAINTY: reconstruction_uncertainty(fit.idata), UNITS: time_units(fit)}
    endpoint = getattr(fit.spec.data, "endpoint", None)
    if endpoint is not None:
        tables[CHECK] = reconstruction_check(fit.data, endpoint)
        tables[ASSUMPTIONS] = assumptions_table(endpoint)
    if opts.ppc_draws:
        model = model_of(SurvivalModel, fit)
        tables[PPC] = model.ppc_km(fit.idata, opts.ppc_draws, seed=fit.spec.sampler.seed)
    if opts.compare:
        tables[LOO] = compare_families(fit)
    return Extras(tables=tables, json={"time_unit": opts.time_unit})


def figure(result: AnalysisResult) -> Figure | None:
    """Posterior survival curves over the Kaplan–Meier curve of the pseudo data."""
    fits = passed_idata(result)
    return plot_survival(fits, result.model.data, result.model.options) if fits else None


#: why no exact table: the censored Weibull-type posteriors have no closed form; the test
#: suite checks them against 2-D quadrature and lifelines' maximum likelihood instead
NO_EXACT = ("no closed form for a censored parametric survival posterior: the fit is checked "
            "against 2-D quadrature and lifelines' maximum likelihood in the test suite "
            "(tests/analyses/survival/test_model.py), "
            "and against the Kaplan–Meier curve by the posterior "
            "predictive check below")

def findings(result: AnalysisResult) -> list[Finding]:
    """One row: the published Kaplan–Meier median(s) beside the posterior median survival.

    With a covariate, also the effect (hazard ratio and acceleration factor).
    """
    spec = result.spec
    question = spec.analysis.title
    opts = spec.options
    unit = f" {opts.time_unit}" if opts.time_unit else ""
    endpoint = getattr(spec.data, "endpoint", None)
    published = "–"
    if endpoint is not None:
        published = "KM median " + "; ".join(
            f"{r['population']} (n = {r['n']}): {r['median']:g}{unit} (95% CI {r['ci_low']:g}–"
            f"{r['ci_high']:g})" for _, r in published_targets(endpoint).iterrows())
    default, others = by_prior(result, lambda t: t)
    if default is None:
        return [failed(result, question)]
    prob = spec.summary.ci_prob

    def _text(row: pd.Series, u: str = unit, digits: int = 1) -> str:
        return (f"{number(row['median'], 1.0, digits)}{u} ({100 * prob:g}% CrI "
                f"{number(row['eti_low'], 1.0, digits)}–{number(row['eti_high'], 1.0, digits)})")

    medians = default[default["quantity"] == "median"]
    group = opts.group_label or "group"
    parts = [(f"{group} = {r['element']}: " if str(r["element"]) else "") + _text(r)
             for _, r in medians.iterrows()]
    posterior = "median " + "; ".join(parts)
    effects = default[default["quantity"].isin(["hazard_ratio", "acceleration_factor"])]
    for _, r in effects.iterrows():
        posterior += f"; {r['quantity'].replace('_', ' ')} {_text(r, '', 2)}"
    key = "hazard_ratio" if (default["quantity"] == "hazard_ratio").any() else "median"
    vals = [float(o.loc[o["quantity"] == key, "median"].iloc[0]) for o in others.values()
            if (o["quantity"] == key).any()]
    other = f"{key.replace('_', ' ')} {span(vals, unit='', scale=1.0, digits=2)}" if vals else "–"
    sentence = (f"Under the {result.prior_label(result.default_prior)} prior the median "
                f"survival ({opts.family} model) is {'; '.join(parts)}"
                + (f", against the published {published}" if endpoint is not None else ""))
    hr = effects[effects["quantity"] == "hazard_ratio"]
    posterior_draws = result.fits[result.default_prior].idata.posterior
    if not hr.empty:
        sentence += f"; the hazard ratio for {group} is {_text(hr.iloc[0], '', 2)}"
        if "hazard_ratio" in posterior_draws:
            below = float((posterior_draws["hazard_ratio"] < 1).mean())
            sentence += f", P(HR < 1) = {below:.2f}"
    if vals:
        sentence += f"; under the {others_text(result, others)}: {other}"
    return [Finding(question, published, posterior, other, sentence + ".")]


COMPONENTS = Components(per_fit=(checks,), figure=figure, findings=findings, no_exact=NO_EXACT)
