"""Dose-toxicity models (BLRM, CRM) with stepwise regimens: data, bad input, and checks
against the exact grid engine and the published examples."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest

from bayesblina.analyses import BLRMModel, CRMModel
from bayesblina.analyses.registry import DEFAULT_SPEC_DIR as MODELS
from bayesblina.analyses.registry import load_spec
from bayesblina.core.gate import check_convergence
from bayesblina.core.spec import SamplerSettings, SummarySettings
from bayesblina.core.summaries import mcse
from bayesblina.errors import DataError, SpecError
from tests.analyses.dose_toxicity.specs import spec_text


def test_trial_cohorts_become_regimens():
    spec = load_spec(MODELS / "dose_toxicity_blrm.toml")
    data = BLRMModel.load_data(spec.data).set_index("label")
    assert list(data.index) == ["5", "15", "30", "15/30"]
    assert data.loc["15/30", "periods"] == [(15.0, 7.0), (30.0, 21.0)]
    assert data.loc["30", "periods"] == [(30.0, 28.0)]
    assert data["patients"].sum() == 23 and data["dlts"].sum() == 4
    with_pk = BLRMModel.load_data(spec.data.model_copy(update={"include_pk_expansion": True}))
    row = with_pk.set_index("label").loc["5/15"]
    assert (row["patients"], row["dlts"], row["periods"]) == (26, 0, [(5.0, 7.0), (15.0, 21.0)])
    fifth = BLRMModel.load_data(spec.data.model_copy(update={"extra_dlt_cohort": "30"}))
    assert tuple(fifth.set_index("label").loc["30", ["patients", "dlts"]]) == (6, 3)
    with pytest.raises(SpecError, match="unknown cohort '45'"):
        BLRMModel.load_data(spec.data.model_copy(update={"extra_dlt_cohort": "45"}))


def test_regimen_weights_in_the_model_follow_the_treatment():
    spec = load_spec(MODELS / "dose_toxicity_blrm.toml")
    model = BLRMModel.from_spec(spec)
    doses, weights = model.regimen_arrays("period_exposure")
    step = list(model.data["label"]).index("15/30")
    np.testing.assert_allclose(doses[step], [15, 30])
    np.testing.assert_allclose(weights[step], [7 / 28, 21 / 28])
    np.testing.assert_allclose(model.regimen_arrays("first_period")[1][step], [1, 0])
    np.testing.assert_allclose(model.regimen_arrays("maintenance")[1][step], [0, 1])


@pytest.mark.parametrize(
    ("model", "data", "options", "match"),
    [
        ("blrm", '[data]\ncohorts = [{ label = "a", periods = [[5, 28]], patients = 3, dlts = 4 }]\n', "",
         r"'data.cohorts': cohorts.0, column 'dlts': value 4 is invalid: it exceeds patients = 3"),
        ("blrm", '[data]\ncohorts = [{ label = "a", periods = [[0, 28]], patients = 3, dlts = 0 }]\n', "",
         r"'data.cohorts': cohorts.0, column 'periods'.*each a number > 0.*got the pair \[0, 28\]"),
        ("blrm", '[data]\ncohorts = [{ label = "a", periods = [[5, -7]], patients = 3, dlts = 0 }]\n', "",
         r"'data.cohorts': cohorts.0, column 'periods'.*got the pair \[5, -7\]"),
        ("blrm", '[data]\ncohorts = [{ label = "a", periods = [], patients = 3, dlts = 0 }]\n', "",
         r"'data.cohorts': cohorts.0, column 'periods': value \[\] is invalid: a regimen is a non-empty"),
        ("blrm", '[data]\ncohorts = [{ label = "a", periods = [[5, true]], patients = 3, dlts = 0 }]\n', "",
         r"cohorts.0, column 'periods'.*\[dose, days\] pairs"),
        ("blrm", '[data]\ncohorts = [{ label = "a", periods = [[5, 28]], patients = 3.0, dlts = 0 }]\n', "",
         r"cohorts.0, column 'patients'.*whole number from 0 to 10,000,000 \(not a decimal number\)"),
        ("blrm", '[data]\ncohorts = [{ label = "a", periods = [[5, 28]], patients = 3, dlts = 0, x = 1 }]\n', "",
         r"cohorts.0.*'x'"),
        ("blrm", '[data]\ntable = "phase1_cohorts"\n', "[options]\ntargets = [1.5]\n",
         r"'options.targets.0'.*less than 1"),
        ("blrm", '[data]\ntable = "phase1_cohorts"\n', "[options]\nd_ref = 0\n",
         r"'options.d_ref'.*greater than 0"),
        ("crm", '[data]\ntable = "phase1_cohorts"\n', "[options]\ntarget = 0\n",
         r"'options.target'.*greater than 0"),
        ("crm", '[data]\ntable = "phase1_cohorts"\n', "[options]\nskeleton = [0.3, 0.16, 0.08]\n",
         "skeleton must be strictly increasing"),
        ("crm", '[data]\ntable = "phase1_cohorts"\n', "[options]\nskeleton = []\n",
         r"'options.skeleton'.*at least 1"),
        ("crm", '[data]\ntable = "phase1_cohorts"\n', "[options]\nskeleton = [0.1, 1.2, 1.3]\n",
         r"'options.skeleton.1'.*less than 1"),
        ("crm", '[data]\ntable = "phase1_cohorts"\n', '[options]\nworking_model = "probit"\n',
         r"'options.working_model'.*'empiric'"),
    ],
)
def test_bad_dose_toxicity_specs(write_spec, model, data, options, match):
    path = write_spec(spec_text(model, data, options))
    with pytest.raises(SpecError, match=match) as err:
        load_spec(path)
    assert str(path) in str(err.value)


BLRM_OPTIONS = {"d_ref": 15.0, "dose_grid": [5.0, 15.0, 30.0], "studied_doses": [5.0, 15.0]}


def test_bad_data_frames_are_refused():
    good = pd.DataFrame({"label": ["a"], "periods": [[(5.0, 28.0)]], "patients": [3], "dlts": [1]})
    prior = {"theta": {"family": "bivariate_normal", "mean": [0, 0], "sd": [1, 1]}}
    with pytest.raises(DataError, match="DLTs 4 exceed patients 3"):
        BLRMModel(good.assign(dlts=[4]), prior, BLRM_OPTIONS)
    with pytest.raises(DataError, match=r"dose > 0 and days > 0 \(got dose=-5.0"):
        BLRMModel(good.assign(periods=[[(-5.0, 28.0)]]), prior, BLRM_OPTIONS)
    with pytest.raises(DataError, match="empty regimen"):
        BLRMModel(good.assign(periods=[[]]), prior, BLRM_OPTIONS)
    crm = CRMModel(good, {"beta": {"family": "normal", "sigma": 1}},
                   {"dose_levels": [5, 15, 30], "skeleton": [0.08, 0.16, 0.30]})
    crm.set_data(good.assign(periods=[[(20.0, 28.0)]]))
    with pytest.raises(DataError, match=r"dose 20.0 is not a CRM dose level; allowed: \[5.0, 15.0, 30.0\]"):
        crm.coords()


def _within_3_mcse(summary, exact, what):
    merged = summary.merge(exact[["quantity", "element", "mean"]], on=["quantity", "element"],
                           suffixes=("", "_exact"))
    merged = merged[merged["mean_exact"].notna()]
    assert len(merged) > 0
    z = (merged["mean"] - merged["mean_exact"]).abs() / merged["mcse_mean"]
    assert (z <= 3).all(), (what, merged.assign(z=z))


@pytest.mark.slow
@pytest.mark.mcmc
def test_blrm_trial_fit_passes_gate_and_matches_exact_engine(default_run):
    spec = load_spec(MODELS / "dose_toxicity_blrm.toml")
    result = default_run.results[spec.name]
    assert result.passed, result.diagnostics_table()
    for name, fit in result.fits.items():
        _within_3_mcse(fit.summary, result.extras[name].exact, name)
        # tail probabilities and the MTD median against the grid posterior
        model = result.model.set_prior(spec.priors[name])
        post = model.grid_posterior()
        p15 = fit.idata.posterior["p_dose"].sel(dose=15.0).values
        ind = (p15 > 0.33).astype(float)
        exact = post.prob_exceeds(np.array([15.0]), 0.33)[0, 0]
        assert abs(ind.mean() - exact) <= max(3 * mcse(ind), 1 / ind.size)
        mtd = fit.idata.posterior["mtd"].sel(target=0.25).values
        exact_median = post.mtd_quantiles(0.25, (0.5,))[0, 0]
        se = mcse(mtd, "quantile", 0.5)
        assert abs(np.median(mtd) - exact_median) <= 3 * se
    assert {"Stepwise regimens: three treatments (exact engine)",
            "Sensitivity: the Discussion's fifth DLT (exact engine)"} <= set(result.extra_tables())


NEUENSCHWANDER_DOSES = [1, 2.5, 5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 250]
NEUENSCHWANDER_MEANS = [0.0116, 0.0295, 0.0613, 0.1272, 0.1918, 0.2527, 0.3089, 0.3601, 0.4486,
                        0.5207, 0.6484, 0.7284, 0.8185, 0.8659, 0.8945]


@pytest.mark.slow
@pytest.mark.mcmc
def test_blrm_reproduces_neuenschwander_2008():
    data = pd.DataFrame({
        "label": ["1", "2.5", "5", "10", "25"],
        "periods": [[(d, 1.0)] for d in (1.0, 2.5, 5.0, 10.0, 25.0)],
        "patients": [3, 4, 5, 4, 2],
        "dlts": [0, 0, 0, 0, 2],
    })
    prior = {"theta": {"family": "bivariate_normal", "mean": [2.15, 0.52], "sd": [0.84, 0.80],
                       "corr": 0.2}}
    options = {"d_ref": 250, "dose_grid": NEUENSCHWANDER_DOSES, "studied_doses": NEUENSCHWANDER_DOSES}
    model = BLRMModel(data, prior, options)
    idata = model.fit(SamplerSettings(draws=4000, tune=1000, chains=4, seed=5, target_accept=0.95))
    assert check_convergence(idata, var_names=model.gate_vars()).passed
    p = idata.posterior["p_dose"]
    mean = p.mean(dim=("chain", "draw")).values
    se = az.mcse(idata, var_names=["p_dose"])["p_dose"].values
    assert (np.abs(mean - NEUENSCHWANDER_MEANS) <= 3 * se + 5e-5).all(), (mean, se)
    for dose, published in [(15, 0.121), (20, 0.264), (25, 0.424)]:
        ind = (p.sel(dose=float(dose)).values >= 0.33).astype(float)
        assert abs(ind.mean() - published) <= 3 * mcse(ind) + 5e-4, dose


@pytest.mark.slow
@pytest.mark.mcmc
def test_crm_reproduces_cheung_2011():
    data = pd.DataFrame({
        "label": [f"patient {i}" for i in range(1, 6)],
        "periods": [[(float(k), 1.0)] for k in (3, 5, 5, 3, 4)],
        "patients": [1] * 5,
        "dlts": [0, 0, 1, 0, 0],
    })
    options = {"dose_levels": [1, 2, 3, 4, 5], "skeleton": [0.05, 0.12, 0.25, 0.40, 0.55],
               "working_model": "logistic", "a0": 3.0, "target": 0.25}
    model = CRMModel(data, {"beta": {"family": "normal", "mu": 0, "sigma": 1.34 ** 0.5}}, options)
    idata = model.fit(SamplerSettings(draws=5000, tune=1000, chains=4, seed=2))
    assert check_convergence(idata).passed
    summary = model.summarise(idata, SummarySettings()).set_index(["quantity", "element"])
    beta = summary.loc[("beta", "")]
    assert abs(beta["mean"] - 0.27946) <= 3 * beta["mcse_mean"]
    for level, published in zip("12345", [0.0314, 0.0645, 0.1288, 0.2189, 0.3391], strict=True):
        row = summary.loc[("p_level", level)]
        assert abs(row["mean"] - published) <= 3 * row["mcse_mean"] + 5e-5, level
    assert model.recommendation(idata)["recommended_level_plugin"] == 4
    _within_3_mcse(summary.reset_index(), model.exact_table(SummarySettings()), "cheung")
