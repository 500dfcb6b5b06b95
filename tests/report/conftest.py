"""Fixtures of the report's tests: an analysis result without MCMC, for the writer and the browser."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

from bayesblina.analyses.registry import DEFAULT_SPEC_DIR, get_components, load_spec
from bayesblina.analyses.response_rate.model import BetaBinomialModel
from bayesblina.core.fit import AnalysisResult, Fit
from bayesblina.core.gate import check_convergence


@pytest.fixture(scope="module")
def result() -> AnalysisResult:
    """overall_cr with each prior set's draws taken from its exact Beta posterior."""
    spec = load_spec(DEFAULT_SPEC_DIR / "overall_cr.toml")
    model = BetaBinomialModel.from_spec(spec)
    rng = np.random.default_rng(1)
    fits, extras = {}, {}
    for name, prior in spec.priors.items():
        model.set_prior(prior)
        dists = model.closed_form()
        draws = np.stack([d.rvs(size=(4, 1000), random_state=rng) for d in dists.values()],
                         axis=-1)
        stats = {"diverging": np.zeros((4, 1000), dtype=bool),
                 "energy": rng.normal(size=(4, 1000))}  # iid draws: E-BFMI near 2
        idata = az.from_dict(posterior={"p": draws}, sample_stats=stats,
                             coords={"population": list(dists)}, dims={"p": ["population"]})
        gate = check_convergence(idata, spec.gate)
        fit = Fit(spec, name, model.prior, model.data, idata, gate, 0.0,
                  model.summarise(idata, spec.summary))
        fits[name] = fit
        extras[name] = get_components(spec.analysis.model).run(fit, {})
    ref = get_components(spec.analysis.model).reference
    out = AnalysisResult(spec=spec, model=model, fits=fits, extras=extras)
    return AnalysisResult(spec=spec, model=model, fits=fits, extras=extras, reference=ref(out))
