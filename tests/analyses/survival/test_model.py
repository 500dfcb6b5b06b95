"""Survival models: bad input, lifelines' leukemia data (MLE cross-check), quadrature."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytensor.tensor as pt
import pytest
from lifelines import KaplanMeierFitter, WeibullAFTFitter, WeibullFitter
from lifelines.datasets import load_leukemia
from scipy import integrate, stats

from bayesblina.analyses import SurvivalModel, get_model_class
from bayesblina.analyses.registry import DEFAULT_SPEC_DIR, load_spec
from bayesblina.analyses.survival.model import _log_surv_dens
from bayesblina.core.spec import GateThresholds, SamplerSettings, SummarySettings
from bayesblina.core.summaries import mcse
from bayesblina.errors import DataError, SpecError
from bayesblina.pipeline import run_analysis
from bayesblina.reconstruct.km import km_at
from bayesblina.report.write import write_results

VAGUE = {
    "log_scale": {"family": "normal", "mu": 0.0, "sigma": 10.0},
    "shape": {"family": "half_normal", "sigma": 10.0},
}
EFFECT = {"effect": {"family": "normal", "mu": 0.0, "sigma": 10.0}}
MONTHS = {"time_unit": "months"}


def leukemia() -> pd.DataFrame:

    df = load_leukemia()
    return pd.DataFrame({"time": df["t"].astype(float), "event": df["status"], "group": df["Rx"]})


SPEC = """
[analysis]
name = "bad_spec"
title = "t"
question = "q"
model = "survival"

[data]
rows = [{ time = 3.0, event = 1 }, { time = 5.0, event = 0 }]

[options]
time_unit = "months"

[priors.p]
log_scale = { family = "normal", mu = 2, sigma = 2 }
shape = { family = "half_normal", sigma = 2 }
"""


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("time = 3.0", "time = -3.0",
         r"'data.rows': rows.0, column 'time': value -3.0 is invalid: .* > 0"),
        ("time = 3.0", "time = 0.0",
         r"'data.rows': rows.0, column 'time': value 0.0 is invalid: .* > 0"),
        ("event = 1 }", "event = 2 }",
         r"'data.rows': rows.0, column 'event': value 2 is invalid: it must be 0 or 1"),
        ("event = 1 }", "event = true }",
         r"'data.rows': rows.0, column 'event': value True .* 0 or 1 \(not a boolean\)"),
        ("event = 1 }", "event = 1, grp = 1 }",
         r"'data.rows': rows.0: unknown key\(s\) 'grp'; allowed keys: time, event, group"),
        ("{ time = 3.0, event = 1 }", "{ event = 1 }",
         r"'data.rows': rows.0: missing key 'time' \(it must be a finite number > 0\)"),
        ('shape = { family = "half_normal", sigma = 2 }\n', "",
         r"needs priors for \['log_scale', 'shape'\]"),
        ('time_unit = "months"\n', 'time_unit = "months"\nfamily = "lognormal"\ncovariate = true\n'
         'form = "ph"\n', "PH form needs a Weibull or exponential family"),
        ('time_unit = "months"\n', "",
         r"'options.time_unit'.*declare its time unit; allowed: \['days', 'weeks', 'months', 'years'\]"),
        ('time_unit = "months"\n', 'time_unit = "fortnights"\n',
         r"'options.time_unit'.*'days', 'weeks', 'months' or 'years'.*fortnights"),
    ],
)
def test_bad_survival_specs(write_spec, old, new, match):

    path = write_spec(SPEC.replace(old, new))
    with pytest.raises(SpecError, match=match):
        spec = load_spec(path)
        get_model_class("survival").from_spec(spec)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"time": [1.0, -2.0], "event": [1, 0]}), r"row 1: time must be a positive number \(got -2.0\)"),
        (pd.DataFrame({"time": [1.0, 0.0], "event": [1, 0]}), "row 1: time must be a positive"),
        (pd.DataFrame({"time": [1.0, np.nan], "event": [1, 0]}), "row 1: time must be a positive"),
        (pd.DataFrame({"time": [1.0, 2.0], "event": [1, 2]}), r"row 1: event must be 0 or 1 \(got 2\)"),
        (pd.DataFrame({"time": [1.0, 2.0], "event": [1, 0], "group": [0, 3]}), "group must be 0 or 1"),
        (pd.DataFrame({"time": [1.0], "censored": [1]}), r"missing column\(s\) \['event'\]"),
    ],
)
def test_bad_patient_data(frame, match):
    with pytest.raises(DataError, match=match):
        SurvivalModel(frame, VAGUE, MONTHS)


def test_lifelines_parameterisation_of_the_weibull():
    """S(t) = exp(-(t/lambda)^rho): the model's log-density equals scipy's weibull_min."""


    t = np.array([0.5, 3.0, 17.0])
    log_s, log_f = _log_surv_dens("weibull", pt.as_tensor(t),
                                  {"log_lambda": pt.as_tensor(np.log(7.0)), "rho": pt.as_tensor(1.4)})
    dist = stats.weibull_min(c=1.4, scale=7.0)
    np.testing.assert_allclose(log_s.eval(), dist.logsf(t), rtol=1e-10)
    np.testing.assert_allclose(log_f.eval(), dist.logpdf(t), rtol=1e-10)
    for family, ref in [("lognormal", stats.lognorm(s=1 / 1.4, scale=7.0)),
                        ("loglogistic", stats.fisk(c=1.4, scale=7.0))]:
        log_s, log_f = _log_surv_dens(family, pt.as_tensor(t), {
            "log_lambda": pt.as_tensor(np.log(7.0)),
            "rho": pt.as_tensor(1 / 1.4 if family == "lognormal" else 1.4)})
        # the normal log-CDF in PyTensor agrees with SciPy's to ~1e-8 relative
        np.testing.assert_allclose(log_s.eval(), ref.logsf(t), rtol=1e-6)
        np.testing.assert_allclose(log_f.eval(), ref.logpdf(t), rtol=1e-6)


def grid_posterior_medians(data: pd.DataFrame, prior_sd: float) -> dict[str, float]:
    """Posterior medians of lambda and rho by 2-D quadrature on (log mu, rho), with
    log mu ~ N(0, prior_sd^2), rho ~ half-normal(prior_sd), S(t) = exp(-mu t^rho)."""
    t, e = data["time"].to_numpy(), data["event"].to_numpy()
    log_mu = np.linspace(-12, 2, 1400)[:, None, None]
    rho = np.linspace(0.2, 4, 1200)[None, :, None]
    loglik = (e * (np.log(rho) + np.log(np.exp(log_mu)) + (rho - 1) * np.log(t))
              - np.exp(log_mu) * t**rho).sum(-1)
    logpost = loglik + stats.norm.logpdf(log_mu[..., 0], 0, prior_sd) + stats.halfnorm.logpdf(
        rho[..., 0], scale=prior_sd)
    w = np.exp(logpost - logpost.max())
    w /= w.sum()
    lam = np.exp(-log_mu[..., 0] / rho[..., 0])
    out = {}
    for name, x in [("lambda_", lam), ("rho_", np.broadcast_to(rho[..., 0], w.shape))]:
        order = np.argsort(x.ravel())
        out[name] = float(x.ravel()[order][np.searchsorted(np.cumsum(w.ravel()[order]), 0.5)])
    return out


@pytest.mark.slow
@pytest.mark.mcmc
def test_weibull_on_leukemia_centres_on_lifelines_mle():

    data = leukemia()
    control = data[data["group"] == 0]
    mle = WeibullFitter().fit(control["time"], control["event"])
    assert (len(control), int(control["event"].sum())) == (21, 9)
    assert mle.lambda_ == pytest.approx(33.7652, abs=1e-4)
    assert mle.rho_ == pytest.approx(1.35373, abs=1e-5)
    # the classic vague Weibull prior of BUGS: flat on log(mu), mu = lambda^-rho, flat on rho
    model = SurvivalModel(control, VAGUE, {**MONTHS, "scale_prior": "log_rate"})
    # (log mu, rho) is strongly correlated: target_accept 0.95 avoids divergences
    idata = model.fit(SamplerSettings(draws=4000, tune=1000, chains=4, seed=11, target_accept=0.95))
    assert model.gate(idata, GateThresholds()).passed
    post = idata.posterior
    exact = grid_posterior_medians(control, prior_sd=10.0)
    for name, mle_value in [("lambda_", mle.lambda_), ("rho_", mle.rho_)]:
        draws = post[name].values
        # independent quadrature: the posterior median itself is within 5% of the MLE ...
        assert exact[name] == pytest.approx(mle_value, rel=0.05), name
        # ... and the MCMC median is within 3 MCSE of it (and within 5% of the MLE)
        assert abs(np.median(draws) - exact[name]) <= 3 * mcse(draws, "quantile", 0.5), name
        assert float(np.median(draws)) == pytest.approx(mle_value, rel=0.05), name

    aft = WeibullAFTFitter().fit(data.rename(columns={"group": "Rx"}), "time", "event")
    params, se = aft.params_, aft.standard_errors_
    b0, b1 = params[("lambda_", "Intercept")], params[("lambda_", "Rx")]
    log_rho = params[("rho_", "Intercept")]
    assert (round(b0, 6), round(b1, 6), round(log_rho, 6)) == (3.515687, -1.267335, 0.311709)
    model = SurvivalModel(data, {**VAGUE, **EFFECT}, {**MONTHS, "covariate": True, "form": "aft"})
    idata = model.fit(SamplerSettings(draws=2000, tune=1000, chains=4, seed=12))
    assert model.gate(idata, GateThresholds()).passed
    post = idata.posterior
    assert abs(float(post["log_scale"].median()) - b0) < se[("lambda_", "Intercept")]
    assert abs(float(post["effect"].median()) - b1) < se[("lambda_", "Rx")]
    assert abs(float(np.log(post["shape"]).median()) - log_rho) < se[("rho_", "Intercept")]
    # the PH form is the same Weibull model: HR = exp(-rho * beta1) of the AFT fit
    hr = post["hazard_ratio"].median()
    assert float(hr) == pytest.approx(float(np.exp(-(post["shape"] * post["effect"])).median()))


@pytest.mark.slow
@pytest.mark.mcmc
def test_exponential_posterior_matches_quadrature():
    """Exponential model, log(lambda) ~ N(m, s): posterior mean of lambda and S(12) by
    1-D quadrature against the PyMC fit, within 3 MCSE."""
    data = leukemia()
    data = data[data["group"] == 1]
    d, total = data["event"].sum(), data["time"].sum()
    m, s = 2.0, 1.5

    def post(u):  # u = log(lambda); exponential likelihood lambda^-d exp(-T / lambda)
        return stats.norm.pdf(u, m, s) * np.exp(-d * u - total * np.exp(-u) + d * 2.2)

    z = integrate.quad(post, -5, 10, limit=200)[0]
    lam = integrate.quad(lambda u: np.exp(u) * post(u), -5, 10, limit=200)[0] / z
    s12 = integrate.quad(lambda u: np.exp(-12 * np.exp(-u)) * post(u), -5, 10, limit=200)[0] / z
    model = SurvivalModel(data, {"log_scale": {"family": "normal", "mu": m, "sigma": s}},
                          {**MONTHS, "family": "exponential"})
    idata = model.fit(SamplerSettings(draws=3000, tune=1000, chains=4, seed=13))
    assert model.gate(idata, GateThresholds()).passed
    lam_draws = idata.posterior["lambda_"].values
    s12_draws = idata.posterior["surv"].sel(time=12.0).values
    assert abs(lam_draws.mean() - lam) <= 3 * mcse(lam_draws)
    assert abs(s12_draws.mean() - s12) <= 3 * mcse(s12_draws)
    summary = model.summarise(idata, SummarySettings()).set_index(["quantity", "element"])
    # median of an exponential = lambda log 2
    assert summary.loc[("median", ""), "mean"] == pytest.approx(lam * np.log(2), rel=0.02)


@pytest.mark.slow
@pytest.mark.mcmc
def test_reconstructed_os_pools_reconstructions_and_gates_each(tmp_path):
    """The OS spec end to end on 3 reconstructions: gated per reconstruction, pooled,
    reconstruction uncertainty and reconstruction check reported, LOO table built."""


    spec = load_spec(DEFAULT_SPEC_DIR / "survival_os.toml").with_sampler(draws=500, tune=500)
    spec = spec.model_copy(update={
        "data": spec.data.model_copy(update={"reconstructions": 3}),
        "options": spec.options.model_copy(update={"compare": ["exponential"], "ppc_draws": 20}),
    })
    result = run_analysis(spec)
    assert result.passed, result.diagnostics_table()
    (fit,) = result.fits.values()
    recon = fit.idata.posterior.coords["reconstruction"].values
    assert sorted(set(recon)) == [0, 1, 2] and fit.idata.posterior.sizes["chain"] == 12
    extra = result.extra_tables()
    unc = extra["Reconstruction uncertainty: pooled vs within-reconstruction SD"]
    assert (unc["sd_ratio"] >= 0.99).all()  # law of total variance
    check = extra["Reconstructed data against the published numbers"]
    assert check.loc[check["criterion"], "within_tolerance"].all()
    assert len(extra["Assumptions of the reconstruction"]) > 0
    loo = extra["Model comparison by PSIS-LOO (first reconstruction)"]
    assert set(loo["model"]) == {"weibull (this fit)", "exponential"}
    assert {"pareto_k_max", "pareto_k_over_0.7", "gate"} <= set(loo.columns)  # core.compare
    units = extra["Time unit of the survival quantities"]
    assert set(units["unit"]) == {"months"} and "median" in set(units["quantity"])
    median = fit.summary.set_index(["quantity", "element"]).loc[("median", "")]
    assert median["eti_low"] < 7.5 < median["eti_high"]  # the published KM median
    write_results([result], tmp_path, {})
    entry = json.loads((tmp_path / "summary.json").read_text())["analyses"][0]
    res = entry["results"]["weakly_informative"]
    assert {"median", "rmst", "surv[6.0]", "surv[24.0]", "lambda_", "rho_"} <= set(res)
    assert entry["time_unit"] == {"weakly_informative": "months"}
    assert entry["data_sha256"] == fit.idata.attrs["data_sha256"]  # all reconstructions


def _km_cases():
    rng = np.random.default_rng(2016)
    for k in range(60):  # ties (times rounded to whole months) in every other case
        t = np.round(rng.exponential(8.0, 25), 0 if k % 2 else 3)
        yield t, (rng.uniform(size=25) < 0.7).astype(int)
    yield np.array([3.0, 5.0, 7.0]), np.array([0, 0, 0])  # no event
    yield np.array([3.0, 5.0, 7.0]), np.array([1, 1, 1])  # no censoring, ends at 0
    yield np.array([0.0, 2.0, 2.0, 2.0, 5.0]), np.array([1, 1, 0, 1, 0])  # event at 0, ties
    yield np.array([4.0]), np.array([1])


def test_km_at_is_lifelines_kaplan_meier():
    grid = np.linspace(0.0, 30.0, 61)  # past the last time too
    for t, e in _km_cases():
        expected = KaplanMeierFitter().fit(t, e).survival_function_at_times(grid).to_numpy()
        np.testing.assert_allclose(km_at(t, e, grid), expected, rtol=0, atol=1e-12)
