"""Dose-toxicity options without trial constants: reference doses, sensitivity tables, the
DLT window of inline cohorts, the CRM's exact engine for any normal prior, the reference table.

No MCMC: the decision is read from a small synthetic posterior, everything else comes from
the exact grid engine.
"""

from __future__ import annotations

from types import SimpleNamespace

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.integrate import quad
from scipy.stats import norm

from bayesblina.analyses import BLRMModel, CRMModel
from bayesblina.analyses.dose_toxicity import components
from bayesblina.analyses.dose_toxicity.crm_grid import crm_grid_posterior
from bayesblina.analyses.registry import DEFAULT_SPEC_DIR as MODELS
from bayesblina.analyses.registry import load_spec
from bayesblina.core.frequentist import clopper_pearson
from bayesblina.core.spec import SummarySettings
from bayesblina.errors import DataError, SpecError
from tests.analyses.dose_toxicity.specs import spec_text

TRIAL_DATA = '[data]\ntable = "phase1_cohorts"\n'
THETA = {"theta": {"family": "bivariate_normal", "mean": [-1.3863, 0.0], "sd": [2.0, 1.0]}}
TREATMENTS = "Stepwise regimens: three treatments (exact engine)"
FIFTH = "Sensitivity: the Discussion's fifth DLT (exact engine)"
CURVE = "Posterior DLT curve over the dose grid (exact engine)"


def user_data() -> pd.DataFrame:
    return pd.DataFrame({
        "label": ["10", "20", "10/40"],
        "periods": [[(10.0, 21.0)], [(20.0, 21.0)], [(10.0, 7.0), (40.0, 14.0)]],
        "patients": [3, 4, 3],
        "dlts": [0, 1, 1],
    })


def synthetic_idata(model: BLRMModel, seed: int = 3) -> az.InferenceData:
    """A posterior of the model's shape (draws of no model: only the decision reads it)."""
    rng = np.random.default_rng(seed)
    c = model.coords()
    p = np.sort(rng.uniform(size=(2, 200, len(c["dose"]))), axis=-1)
    ds = xr.Dataset({"p_dose": (("chain", "draw", "dose"), p)},
                    coords={"chain": [0, 1], "draw": np.arange(200), "dose": c["dose"]})
    return az.InferenceData(posterior=ds)


# ---- reference doses -------------------------------------------------------------------


def test_trial_spec_keeps_its_labels_from_the_configured_reference_dose():
    spec = load_spec(MODELS / "dose_toxicity_blrm.toml")
    assert spec.options.reference_doses == [15.0]
    assert spec.options.sensitivity == ["treatments", "fifth_dlt"]
    model = BLRMModel.from_spec(spec)
    exact = model.exact_table(spec.summary)
    assert "P(MTD>=15)" in exact.columns
    tables = model.extra_tables()
    assert list(tables) == [CURVE, TREATMENTS, FIFTH]
    assert "P(p(15)>0.33)" in tables[TREATMENTS].columns
    assert "P(MTD(0.25)>=15)" in tables[FIFTH].columns
    assert tables[FIFTH]["scenario"].iloc[0] == "as published"
    idata = synthetic_idata(model)
    decision = model.recommendation(idata)
    assert list(decision) == ["ewoc_dose", "max_overdose_prob", "P(p(15)>0.33)"]
    p15 = idata.posterior["p_dose"].sel(dose=15.0).values
    assert decision["P(p(15)>0.33)"] == float((p15 > 0.33).mean())


def test_labels_follow_the_configured_doses_and_cut():
    options = {"cuts": [0.2, 0.35], "d_ref": 20.0, "dose_grid": [10, 20, 30, 40],
               "studied_doses": [10, 20],
               "reference_doses": [20, 40], "sensitivity": ["treatments", "fifth_dlt"]}
    model = BLRMModel(user_data(), THETA, options)
    idata = synthetic_idata(model)
    decision = model.recommendation(idata)
    assert list(decision) == ["ewoc_dose", "max_overdose_prob", "P(p(20)>0.35)", "P(p(40)>0.35)"]
    p40 = idata.posterior["p_dose"].sel(dose=40.0).values
    assert decision["P(p(40)>0.35)"] == float((p40 > 0.35).mean())
    tables = model.extra_tables()
    assert {"P(p(20)>0.35)", "P(p(40)>0.35)"} <= set(tables[TREATMENTS].columns)
    assert not any("15" in col or "0.33" in col for col in tables[TREATMENTS].columns)
    fifth = tables[FIFTH]
    assert {"P(MTD(0.25)>=20)", "P(MTD(0.25)>=40)", "P(p(10)>0.35)", "P(p(20)>0.35)"} <= set(
        fifth.columns)
    # a user's data are never "as published"
    assert fifth["scenario"].iloc[0] == "as given"
    assert "as published" not in set(fifth["scenario"])
    mtd = model.exact_table(SummarySettings()).query("quantity == 'mtd'")
    post = model.grid_posterior()
    np.testing.assert_array_equal(mtd["P(MTD>=40)"],
                                  [post.mtd_prob_ge(t, 40.0)[0, 0] for t in model.options.targets])


def test_no_reference_dose_and_no_sensitivity_by_default():
    model = BLRMModel(user_data(), THETA, {"d_ref": 20.0, "dose_grid": [10, 20, 40], "studied_doses": [20]})
    assert list(model.extra_tables()) == [CURVE]
    assert not [c for c in model.exact_table(SummarySettings()).columns if "MTD>=" in c]
    assert list(model.recommendation(synthetic_idata(model))) == ["ewoc_dose", "max_overdose_prob"]


def test_components_return_the_configured_tables_only():
    spec = load_spec(MODELS / "dose_toxicity_blrm.toml")
    spec = spec.model_copy(update={"options": spec.options.model_copy(
        update={"sensitivity": ["fifth_dlt"]})})
    model = BLRMModel.from_spec(spec)
    # the component reads these attributes of a Fit only (the tables need no posterior)
    fit = SimpleNamespace(spec=spec, data=model.data, prior=model.prior, idata=None)
    out = components.blrm_sensitivity(fit, {})
    assert list(out.tables) == [CURVE, FIFTH]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ("reference_doses = [15.5]",
         r"key 'options.reference_doses'.*dose 15.5 is not on the dose grid; allowed: doses of "
         r"options.dose_grid \(5, 10, 15"),
        ("dose_grid = [5.0, 30.0]\nreference_doses = [15.0]",
         r"key 'options.reference_doses'.*dose 15 is not on the dose grid.*\(5, 30\)"),
        ("dose_grid = [5.0, 15.0]",
         r"key 'options.studied_doses'.*dose 30 is not on the dose grid.*\(5, 15\)"),
        ("reference_doses = [15.0, 15.0]", r"key 'options.reference_doses'.*listed twice"),
        ('sensitivity = ["fifth"]',
         r"key 'options.sensitivity.0'.*'treatments' or 'fifth_dlt' \(got 'fifth'\)"),
        ('sensitivity = ["treatments", "treatments"]', r"key 'options.sensitivity'.*listed twice"),
    ],
)
def test_bad_reference_doses_and_sensitivity_are_refused_at_load(write_spec, options, match):
    path = write_spec(spec_text("blrm", TRIAL_DATA, f"[options]\n{options}\n"))
    with pytest.raises(SpecError, match=match) as err:
        load_spec(path)
    assert str(path) in str(err.value)


# ---- the DLT window of inline cohorts --------------------------------------------------


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ('cohorts = [{ label = "a", periods = [[5, 28]], patients = 3, dlts = 0 },\n'
         '  { label = "b", periods = [[5, 7], [15, 14]], patients = 3, dlts = 1 }]\n',
         r"key 'data.cohorts'.*cohort 'b': its periods last 21 days but those of cohort 'a' "
         r"last 28; every cohort's periods must add up to the same DLT window"),
        ('dlt_window_days = 28\n'
         'cohorts = [{ label = "a", periods = [[5, 7], [15, 14]], patients = 3, dlts = 1 }]\n',
         r"key 'data.cohorts'.*cohort 'a': its periods last 21 days, not the DLT window "
         r"dlt_window_days = 28"),
        ('table = "phase1_cohorts"\ndlt_window_days = 21\n',
         r"key 'data'.*dlt_window_days = 21 applies to inline 'cohorts' only"),
    ],
)
def test_cohort_days_off_the_window_are_refused_at_load(write_spec, data, match):
    path = write_spec(spec_text("blrm", f"[data]\n{data}"))
    with pytest.raises(SpecError, match=match) as err:
        load_spec(path)
    assert str(path) in str(err.value)


def test_cohort_days_off_the_window_are_refused_in_a_data_frame():
    bad = user_data()
    bad.at[2, "periods"] = [(10.0, 7.0), (40.0, 7.0)]
    with pytest.raises(DataError, match=r"cohort '10/40': its periods last 14 days but those of "
                                        r"cohort '10' last 21"):
        BLRMModel(bad, THETA, {"d_ref": 20.0, "dose_grid": [10, 20, 40], "studied_doses": [20]})
    model = BLRMModel(user_data(), THETA, {"d_ref": 20.0, "dose_grid": [10, 20, 40], "studied_doses": [20]})
    with pytest.raises(DataError, match="must add up to the same DLT window"):
        model.set_data(bad)


def test_a_stated_window_is_used_for_the_period_weights(write_spec):
    data = ('[data]\ndlt_window_days = 21\ncohorts = [\n'
            '  { label = "10", periods = [[10, 21]], patients = 3, dlts = 0 },\n'
            '  { label = "10/40", periods = [[10, 7], [40, 14]], patients = 3, dlts = 1 }]\n')
    options = "[options]\ndose_grid = [10.0, 40.0]\nstudied_doses = [10.0]\n"
    spec = load_spec(write_spec(spec_text("blrm", data, options)))
    model = BLRMModel.from_spec(spec)
    doses, weights = model.regimen_arrays("period_exposure")
    np.testing.assert_array_equal(doses[1], [10.0, 40.0])
    np.testing.assert_array_equal(weights, [[1.0, 0.0], [7 / 21, 14 / 21]])


# ---- the CRM's exact engine for any normal prior ----------------------------------------


def _quadrature_crm(mu: float, sigma: float, skeleton, levels, n, y):
    """Posterior mean of beta and of each p_k (empiric model) by adaptive quadrature."""
    s = np.asarray(skeleton)

    def lik(b):
        p = s[levels] ** np.exp(b)
        return np.prod(p ** y * (1 - p) ** (n - y)) * norm.pdf(b, mu, sigma)

    lo, hi = mu - 12 * sigma, mu + 12 * sigma
    z = quad(lik, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0]
    beta = quad(lambda b: b * lik(b), lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0] / z
    p = [quad(lambda b, k=k: s[k] ** np.exp(b) * lik(b), lo, hi, epsabs=0, epsrel=1e-12,
              limit=200)[0] / z for k in range(s.size)]
    return beta, np.array(p)


@pytest.mark.parametrize("mu", [-0.8, 0.0, 0.6])
def test_crm_grid_matches_quadrature_for_a_prior_mean_off_zero(mu):
    skeleton, sigma = [0.08, 0.16, 0.30], 1.16
    levels, n, y = np.array([0, 1, 2, 1]), np.array([5, 7, 5, 6]), np.array([0, 1, 2, 1])
    post = crm_grid_posterior(levels, None, n, y, skeleton=skeleton, prior_sd=sigma,
                              prior_mean=mu)
    beta, p = _quadrature_crm(mu, sigma, skeleton, levels, n, y)
    assert post.beta_mean()[0] == pytest.approx(beta, abs=1e-10)
    np.testing.assert_allclose(post.p_mean()[0], p, rtol=0, atol=1e-10)
    assert post.edge_mass()[0] < 1e-12


def test_crm_grid_prior_only_is_centred_on_the_prior_mean():
    post = crm_grid_posterior([0], None, [0], [0], skeleton=[0.1, 0.3], prior_sd=0.5,
                              prior_mean=1.2)
    assert post.beta_mean()[0] == pytest.approx(1.2, abs=1e-12)
    # P(p_1 > t) = P(beta < log(log t / log s_1)) under N(1.2, 0.5^2)
    t = 0.02
    exact = norm.cdf(np.log(np.log(t) / np.log(0.1)), 1.2, 0.5)
    assert post.prob_exceeds(t)[0, 0] == pytest.approx(exact, abs=1e-6)
    with pytest.raises(SpecError, match="prior_mean must be a finite number; got nan"):
        crm_grid_posterior([0], None, [0], [0], skeleton=[0.1], prior_sd=1, prior_mean=np.nan)


def test_crm_exact_table_exists_for_a_prior_mean_off_zero():
    spec = load_spec(MODELS / "dose_toxicity_crm.toml")
    model = CRMModel.from_spec(spec)
    model.set_prior({"beta": {"family": "normal", "mu": 0.5, "sigma": 1.1575837}})
    exact = model.exact_table(spec.summary).set_index(["quantity", "element"])
    assert len(exact) == 1 + 4 + 3
    assert list(model.data["label"]) == ["5", "15", "30", "15/30"]
    # quadrature over the four cohorts (period exposure, 7 of 28 days at 15, for 15/30)
    s, (lo, hi) = np.asarray(spec.options.skeleton), (0.5 - 12 * 1.1575837, 0.5 + 12 * 1.1575837)

    def lik(b):
        p_ = s ** np.exp(b)
        q15, q30 = 1 - p_[1], 1 - p_[2]
        p_step = 1 - q15 ** 0.25 * q30 ** 0.75
        pc = np.array([p_[0], p_[1], p_[2], p_step])
        n, y = model.data["patients"].to_numpy(), model.data["dlts"].to_numpy()
        return np.prod(pc ** y * (1 - pc) ** (n - y)) * norm.pdf(b, 0.5, 1.1575837)

    z = quad(lik, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0]
    beta = quad(lambda b: b * lik(b), lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0] / z
    assert exact.loc[("beta", ""), "mean"] == pytest.approx(beta, abs=1e-9)
    p30 = quad(lambda b: s[2] ** np.exp(b) * lik(b), lo, hi, epsabs=0, epsrel=1e-12,
               limit=200)[0] / z
    assert exact.loc[("p_level", "30"), "mean"] == pytest.approx(p30, abs=1e-9)


# ---- the reference table ----------------------------------------------------------------


def test_reference_table_is_the_exact_ci_table_with_the_report_columns():
    spec = load_spec(MODELS / "dose_toxicity_blrm.toml")
    ref = BLRMModel.from_spec(spec).reference_table()
    assert list(ref.columns) == ["cohort", "DLTs / patients", "observed", "cp_low", "cp_high",
                                 "source"]
    row = ref.set_index("cohort").loc["30"]
    assert row["DLTs / patients"] == "2/5"
    assert row["observed"] == 0.4
    assert (row["cp_low"], row["cp_high"]) == clopper_pearson(2, 5)
    assert row["source"] == "Fig 1; Fig A1; Results"
    # a data frame without a source column still gets the column
    model = BLRMModel(user_data(), THETA, {"d_ref": 20.0, "dose_grid": [10, 20, 40], "studied_doses": [20]})
    assert list(model.reference_table()["source"]) == ["", "", ""]
