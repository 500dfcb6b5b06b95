"""One analysis end to end: spec -> data -> model -> sample -> gate -> summaries -> components.

:func:`run_analysis` fits every prior set of a spec on one built model (refits, no
rebuild), gates each fit, summarises only the fits that passed, and runs the analysis
room's report components on them. Writing files is the report's job
(:mod:`bayesblina.report.write`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bayesblina.analyses.registry import get_components, get_model_class
from bayesblina.core.components import Extras
from bayesblina.core.fit import AnalysisResult, Fit
from bayesblina.core.model import BayesModel
from bayesblina.core.spec import AnalysisSpec

Progress = Callable[[str], None]



def run_analysis(
    spec: AnalysisSpec,
    *,
    model: BayesModel | None = None,
    progress: Progress | None = None,
) -> AnalysisResult:
    """Fit every prior set of ``spec``, gate each fit and run the report components.

    Parameters
    ----------
    spec : AnalysisSpec
        A validated spec (its ``[sampler]`` settings are used as given).
    model : BayesModel, optional
        A model already built for this spec's structure (reused: no recompilation).
    progress : callable, optional
        Called with one line of text per step.

    Returns
    -------
    AnalysisResult
        Fits that failed the gate carry no summaries and no component outputs.
    """
    say = progress or (lambda _msg: None)
    cls = get_model_class(spec.analysis.model, where=spec.source_path)
    components = get_components(spec.analysis.model)
    if model is None:
        model = cls.from_spec(spec)
    spec_json = json.dumps(spec.provenance(), sort_keys=True, default=str)
    fits: dict[str, Fit] = {}
    extras: dict[str, Extras] = {}
    #: comparison fits reused across this analysis's prior sets (same data and settings)
    cache: dict[str, Any] = {}
    n_sets = len(spec.priors)
    for i, (name, prior) in enumerate(spec.priors.items(), start=1):
        say(f"{spec.name}: prior set {name!r} ({i}/{n_sets}), {spec.sampler.backend} ...")
        start = time.perf_counter()
        model.set_prior(prior)
        idata = model.fit(
            spec.sampler,
            provenance={
                "analysis": spec.name,
                "prior_set": name,
                "spec": spec_json,
                "spec_path": spec.source_path,
            },
        )
        gate = model.gate(idata, spec.gate)
        summary = model.summarise(idata, spec.summary) if gate.passed else None
        fit = Fit(spec, name, model.prior, model.data, idata, gate,
                  time.perf_counter() - start, summary)
        fits[name] = fit
        if gate.passed:
            extras[name] = components.run(fit, cache)
        failed = "" if gate.passed else ": " + "; ".join(c.describe() for c in gate.failures)
        say(f"{spec.name}: prior set {name!r} {gate.status} ({fit.seconds:.1f} s){failed}")
    result = AnalysisResult(spec=spec, model=model, fits=fits, extras=extras)
    if components.reference is None:
        return result
    return replace(result, reference=components.reference(result))
