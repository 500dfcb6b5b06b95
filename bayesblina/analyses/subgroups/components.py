"""Report components of the subgroup analyses (stateless: fits in, values out).

The LOO comparison (``options.compare``) fits the other poolings beside each prior set's
fit and returns them in its :class:`~bayesblina.core.components.Extras`; the figure takes
them from there. Nothing is kept between calls but what the caller's ``cache`` holds.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from bayesblina.analyses.subgroups.compare import (
    LABELS,
    compare_subgroup_models,
    level_summaries,
    prior_text,
)
from bayesblina.analyses.subgroups.data import contrast_label
from bayesblina.analyses.subgroups.exnex import ExnexModel
from bayesblina.analyses.subgroups.model import SubgroupModel
from bayesblina.analyses.subgroups.plots import plot_subgroup_forest
from bayesblina.analyses.subgroups.spec import comparison_priors
from bayesblina.core.components import Components, Extras
from bayesblina.core.findings import (
    NONE,
    Finding,
    by_prior,
    estimate,
    failed,
    number,
    others_text,
    published_text,
    span,
)
from bayesblina.core.fit import AnalysisResult, Fit

LOO_TITLE = "Model comparison by PSIS-LOO (leave one subgroup out)"


def _model(fit: Fit) -> SubgroupModel:
    cls = ExnexModel if fit.spec.analysis.model == ExnexModel.name else SubgroupModel
    return cls(fit.data, fit.prior, fit.spec.options)


def exact(fit: Fit, cache: MutableMapping[str, Any]) -> Extras:
    """Quadrature (hierarchical) or conjugate (no/complete pooling) posterior summaries."""
    return Extras(exact=_model(fit).exact_table(fit.spec.summary))


def fit_summaries(fit: Fit) -> dict[str, dict[str, Any]]:
    """The ``summary.json`` keys of one fit alone (no comparison models): see :func:`summaries`."""
    model = _model(fit)
    levels, contrasts = level_summaries(fit.idata, float(fit.spec.summary.ci_prob))
    prior = {k: v.model_dump() for k, v in fit.prior.parameter_priors().items()}
    return {
        "subgroups": {model.pooling: levels},
        "subgroup_contrasts": {model.pooling: contrasts} if contrasts else {},
        "subgroup_models": {
            model.pooling: {"role": "fit", "gate": "PASSED", "prior": prior_text(prior)}
        },
    }


def summaries(fit: Fit, cache: MutableMapping[str, Any]) -> Extras:
    """``summary.json`` keys of the fit, and the LOO comparison with ``options.compare``.

    Keys (each stored per prior set by the report writer):

    * ``subgroups[model][level]``: ``mean``, ``eti_low``, ``eti_high``, ``ci_prob`` (and
      ``P(exchangeable)`` for EXNEX) of the level's CR rate, for this fit (``model`` its
      pooling) and each comparison model (``null`` where that fit failed the gate);
    * ``subgroup_contrasts[model][contrast]``: the same for each contrast, with
      ``P(diff>0)`` (models with contrasts only);
    * ``subgroup_models[model]``: ``role`` (``"fit"``/``"comparison"``), ``gate``, ``prior``.

    The comparison models' priors are
    :func:`~bayesblina.analyses.subgroups.spec.comparison_priors` (``options.compare_priors``
    and the fit's μ, τ); their draws per chain at most ``options.compare_draws``.
    """
    model = _model(fit)
    ci_prob = float(fit.spec.summary.ci_prob)
    out = fit_summaries(fit)
    if not model.options.compare:
        return Extras(json=out)
    alternatives = comparison_priors(fit.prior, model.options)
    sampler = fit.spec.sampler.for_comparison()
    settings = sampler.model_copy(
        update={"draws": min(sampler.draws, model.options.compare_draws)})
    table = compare_subgroup_models(
        model.data, settings, alternatives, models=model.options.compare,
        gate=fit.spec.gate,
        this=(f"{model.short_name} (this fit)", model, fit.idata), cache=cache,
        exnex_weight=getattr(model.options, "weight", 0.5),
        contrasts=model.requested_contrasts,
    )
    aux = {}
    for key in model.options.compare:
        if key == model.pooling or key not in cache:
            continue
        entry = cache[key]
        passed = entry["gate"] == "PASSED"
        lv, ct = level_summaries(entry["idata"], ci_prob) if passed else (None, None)
        out["subgroups"][key] = lv
        if key != "complete" and model.requested_contrasts:  # complete pooling has no contrasts
            out["subgroup_contrasts"][key] = ct
        out["subgroup_models"][key] = {"role": "comparison", "gate": entry["gate"],
                                       "prior": prior_text(alternatives[key])}
        if passed:
            aux[key] = entry["idata"]
    return Extras(tables={LOO_TITLE: table}, json=out, fits=aux)


def reference(result: AnalysisResult) -> pd.DataFrame:
    """Raw proportions with exact (Clopper–Pearson) CIs and the published values."""
    return result.model.reference_table()


def comparison_fits(result: AnalysisResult) -> dict[str, Any]:
    """The comparison fits made with each prior set's fit, labelled for the figure.

    A comparison fitted once for all prior sets (no and complete pooling take priors of
    their own) is listed once, as ``"no pooling (<prior>)"``; one refitted for each prior
    set (partial pooling and EXNEX take the prior set's μ and τ) once per prior set, as
    ``"partial pooling (<prior set>: <prior>)"``.
    """
    out: dict[str, Any] = {}
    keys = list(dict.fromkeys(k for e in result.extras.values() for k in e.fits))
    for key in keys:
        # every prior set that made this comparison (passed or not); one prior for all
        # means one fit for all (the comparison cache refits only when the prior changes)
        made = {name: e.json["subgroup_models"][key]["prior"]
                for name, e in result.extras.items() if key in e.json.get("subgroup_models", {})}
        shared = len(set(made.values())) == 1
        for name, prior in made.items():
            fit = result.extras[name].fits.get(key)
            if fit is not None:
                label = prior if shared else f"{result.prior_label(name)}: {prior}"
                out[f"{LABELS[key]} ({label})"] = fit
    return out


def figure(result: AnalysisResult) -> Figure | None:
    """Shrinkage forest plot: raw rate and exact CI, every posterior, the comparison fits."""
    model = result.model
    assert isinstance(model, SubgroupModel)
    fits = {f"{result.prior_label(name)} ({model.short_name})": f.idata
            for name, f in result.fits.items() if f.gate.passed}
    if not fits:
        return None
    fits.update(comparison_fits(result))
    levels = {contrast_label(a, b): (a, b) for a, b in model.requested_contrasts}
    return plot_subgroup_forest(fits, reference(result), title=model.title(),
                                contrast_levels=levels)


def _level_text(ref: pd.DataFrame, rows: pd.DataFrame, prob: float) -> str:
    """``"< 2: 46.4% (95% CrI 24.1–72.0); ..."``: each level's posterior by its label."""
    labels = dict(zip(ref["population"], ref["label"], strict=True))
    return "; ".join(f"{labels.get(r['population'], r['population'])}: {estimate(r, prob=prob)}"
                     for _, r in rows[rows["quantity"] == "p"].iterrows())


def findings(result: AnalysisResult) -> list[Finding]:
    """One row: the published rate of each level beside the pooled posterior and contrasts."""
    spec = result.spec
    question = spec.analysis.title
    ref = reference(result)
    prob = spec.summary.ci_prob
    default, others = by_prior(result, lambda t: t)
    if default is None or default.empty:
        return [failed(result, question)]
    published = "; ".join(f"{r['label']}: {published_text(r) if published_text(r) != NONE else ''}"
                          f" ({r['x']}/{r['n']})" for _, r in ref.iterrows())
    diffs = default[default["quantity"] == "difference"]
    observed = dict(zip(ref["population"], ref["x"] / ref["n"], strict=True))
    labels = dict(zip(ref["population"], ref["label"], strict=True))
    sentences, posterior = [], [_level_text(ref, default, prob)]
    other_text = []
    for _, d in diffs.iterrows():
        a, b = _contrast_levels(d["population"], list(observed))
        name = f"{labels.get(a, a)} vs {labels.get(b, b)}"
        posterior.append(f"{name}: {estimate(d, unit=' points', prob=prob)}, "
                         f"P(> 0) = {d['P(diff>0)']:.2f}")
        raw = (observed[a] - observed[b]) if a in observed and b in observed else None
        sentences.append(
            (f"the observed difference {name} of {number(raw)} points becomes "
             if raw is not None else f"the difference {name} is ")
            + f"{number(d['mean'])} (95% CrI {number(d['eti_low'])} to "
            f"{number(d['eti_high'])}), P(> 0) = {d['P(diff>0)']:.2f}")
        means = [o.loc[o["population"] == d["population"], "mean"] for o in others.values()]
        vals = [float(m.iloc[0]) for m in means if not m.empty]
        if vals:
            other_text.append(f"{name}: {span(vals, unit=' points')}")
    if not diffs.size:  # no contrast: the levels' means across the other prior sets
        for _, r in default[default["quantity"] == "p"].iterrows():
            vals = [float(o.loc[(o["quantity"] == "p") & (o["population"] == r["population"]),
                                "mean"].iloc[0]) for o in others.values()]
            if vals:
                other_text.append(f"{labels.get(r['population'], r['population'])}: "
                                  f"{span(vals)}")
    lead = f"Under the {result.prior_label(result.default_prior)} prior"
    sentence = (f"{lead}, {'; '.join(sentences)}" if sentences
                else f"{lead}, {posterior[0]}")
    if others and other_text:
        sentence += f"; under the {others_text(result, others)}: {'; '.join(other_text)}"
    return [Finding(question=question, published=published, posterior="; ".join(posterior),
                    other_priors="; ".join(other_text) or NONE, sentence=sentence + ".")]


def _contrast_levels(label: str, levels: list[str]) -> tuple[str, str]:
    """The two levels of a contrast label ``"p(a) - p(b)"`` (see ``contrast_label``)."""
    for a in levels:
        for b in levels:
            if a != b and contrast_label(a, b) == label:
                return a, b
    return label, ""


COMPONENTS = Components(per_fit=(exact, summaries), reference=reference, figure=figure,
                        findings=findings)
