"""Pooled fits over several data sets (bayesblina.core.pool) on a tiny normal-mean model."""

from __future__ import annotations

from typing import Any, ClassVar

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr
from pydantic import BaseModel, ConfigDict

from bayesblina.core.gate import check_convergence
from bayesblina.core.model import BayesModel, PriorSetBase
from bayesblina.core.pool import fit_pooled, gate_pooled, pooled_mcse_ess, split_pooled
from bayesblina.core.priors import Prior
from bayesblina.core.sampling import sample
from bayesblina.core.spec import GateThresholds, SamplerSettings, SummarySettings


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Priors(PriorSetBase):
    mu: Prior


class NormalMean(BayesModel):
    """y_i ~ N(mu, 1), mu ~ prior; the data are a column ``y``."""

    name: ClassVar[str] = "normal_mean"
    DataSpec: ClassVar[type[BaseModel]] = _Data
    PriorSetSpec: ClassVar[type[PriorSetBase]] = _Priors

    @classmethod
    def load_data(cls, data_spec: Any) -> pd.DataFrame:
        return pd.DataFrame({"y": [0.0]})

    def coords(self) -> dict[str, list[Any]]:
        return {"obs": list(range(len(self.data)))}

    def data_values(self) -> dict[str, np.ndarray]:
        return {"y": self.data["y"].to_numpy(dtype=float)}

    def _define(self) -> None:
        y = pm.Data("y", self.data_values()["y"], dims="obs")
        mu = self.prior_rv("mu")
        pm.Normal("y_obs", mu, 1.0, observed=y, dims="obs")

    def summarise(self, idata: az.InferenceData, settings: SummarySettings) -> pd.DataFrame:
        return pd.DataFrame()


PRIOR = {"mu": {"family": "normal", "mu": 0.0, "sigma": 10.0}}
SETTINGS = SamplerSettings(draws=100, tune=100, chains=2, seed=7)


def datasets() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(1)
    return {"a": pd.DataFrame({"y": rng.normal(0.0, 1.0, 8)}),
            "b": pd.DataFrame({"y": rng.normal(5.0, 1.0, 8)})}


@pytest.fixture(scope="module")
def pooled() -> tuple[NormalMean, az.InferenceData, pd.DataFrame]:
    original = pd.DataFrame({"y": np.arange(8.0)})
    model = NormalMean(original, PRIOR)
    return model, fit_pooled(model, datasets(), SETTINGS, dim="imputation"), original


@pytest.mark.mcmc
def test_chains_are_numbered_and_labelled_per_data_set(pooled):
    _, idata, _ = pooled
    for group in ("posterior", "sample_stats"):
        ds = getattr(idata, group)
        assert ds.chain.values.tolist() == [0, 1, 2, 3]
        assert ds.coords["imputation"].values.tolist() == ["a", "a", "b", "b"]
    assert idata.attrs["imputations"] == 2
    # the data sets differ, so do their posteriors: means near 0 and near 5
    means = idata.posterior["mu"].groupby("imputation").mean(...).to_series()
    assert means["a"] < 1.5 < 3.5 < means["b"]


@pytest.mark.mcmc
def test_data_set_k_is_sampled_with_seed_plus_k(pooled):
    """Each data set's chains are exactly a plain fit of that data set with seed + k."""
    _, idata, _ = pooled
    for k, (label, data) in enumerate(datasets().items()):
        alone = sample(NormalMean(data, PRIOR), SETTINGS.model_copy(update={"seed": 7 + k}))
        pooled_chains = idata.posterior["mu"].sel(chain=idata.posterior.imputation == label)
        np.testing.assert_array_equal(pooled_chains.values, alone.posterior["mu"].values)


@pytest.mark.mcmc
def test_log_likelihood_is_the_first_data_sets(pooled):
    _, idata, _ = pooled
    first = datasets()["a"]["y"].to_numpy()
    np.testing.assert_array_equal(idata.observed_data["y_obs"].values, first)
    ll = idata.log_likelihood["y_obs"]
    assert ll.sizes["chain"] == 2  # the first data set's chains only
    mu = idata.posterior["mu"].isel(chain=[0, 1]).values[..., None]
    expected = -0.5 * np.log(2 * np.pi) - 0.5 * (first - mu) ** 2
    np.testing.assert_allclose(ll.values, expected, rtol=1e-10)


@pytest.mark.mcmc
def test_model_data_restored_and_hashed(pooled):
    model, idata, original = pooled
    pd.testing.assert_frame_equal(model.data, original)
    assert idata.attrs["data_sha256"] == model.data_checksum()
    assert idata.posterior.attrs["data_sha256"] == model.data_checksum()
    assert idata.attrs["seed"] == 7


def test_no_data_sets_is_an_error():
    with pytest.raises(ValueError, match="at least one data set"):
        fit_pooled(NormalMean(pd.DataFrame({"y": [1.0]}), PRIOR), {}, SETTINGS)


# -- the gate, on draws made up for it -------------------------------------------------
def fake(means: list[float], divergent: list[int], seed: int = 0) -> az.InferenceData:
    """Two chains per data set of iid N(mean, 1) draws; ``divergent`` counts per data set."""
    rng = np.random.default_rng(seed)
    n, draws = len(means), 1000
    x = np.concatenate([rng.normal(m, 1.0, (2, draws)) for m in means])
    div = np.zeros((2 * n, draws), dtype=bool)
    for k, d in enumerate(divergent):
        div[2 * k, :d] = True
    energy = rng.normal(0.0, 1.0, (2 * n, draws))
    label = ("chain", np.repeat(np.arange(n), 2))
    coords = {"chain": np.arange(2 * n), "draw": np.arange(draws)}
    post = xr.Dataset({"x": (("chain", "draw"), x)}, coords=coords).assign_coords(
        reconstruction=label)
    stats = xr.Dataset({"diverging": (("chain", "draw"), div),
                        "energy": (("chain", "draw"), energy)}, coords=coords
                       ).assign_coords(reconstruction=label)
    return az.InferenceData(posterior=post, sample_stats=stats)


def test_gate_checks_each_data_set_on_its_own():
    """Data sets with different posteriors: R-hat over all chains fails, per data set not."""
    idata = fake([0.0, 10.0], [0, 0])
    assert not check_convergence(idata, GateThresholds()).passed
    result = gate_pooled(idata, GateThresholds())
    assert result.passed, result.to_dict()
    per_set = [check_convergence(sub) for sub in split_pooled(idata).values()]
    rhat = next(c for c in result.checks if c.name == "rhat_max")
    assert rhat.value == max(r.checks[0].value for r in per_set)


def test_gate_reports_the_worst_data_set():
    result = gate_pooled(fake([0.0, 0.0, 0.0], [0, 3, 1]), GateThresholds())
    assert not result.passed
    (failure,) = result.failures
    assert (failure.name, failure.value) == ("divergences", 3)
    assert failure.where.endswith("(reconstruction 1)")


def test_gate_single_data_set_has_no_label():
    result = gate_pooled(fake([0.0], [0]), GateThresholds())
    assert result.passed and all("reconstruction" not in c.where for c in result.checks)


def test_split_needs_the_coordinate():
    idata = fake([0.0], [0])
    with pytest.raises(ValueError, match="no coordinate 'imputation'"):
        split_pooled(idata, "imputation")


def test_pooled_mcse_and_ess_combine_data_sets():
    idata = fake([0.0, 10.0], [0, 0])
    da = idata.posterior["x"]
    mcse_ess = pooled_mcse_ess(da)
    subs = [da.sel(chain=da.reconstruction == r).to_dataset(name="x") for r in (0, 1)]
    mcses = [float(az.mcse(s)["x"]) for s in subs]
    esses = [float(az.ess(s, method="bulk")["x"]) for s in subs]
    assert mcse_ess.shape == (1, 2)
    assert mcse_ess[0, 0] == pytest.approx(np.sqrt(sum(m**2 for m in mcses)) / 2, rel=1e-12)
    assert mcse_ess[0, 1] == pytest.approx(sum(esses), rel=1e-12)
    # the ESS over all chains is tiny (the data sets disagree); the pooled one is not
    assert float(az.ess(da.to_dataset(name="x"), method="bulk")["x"]) < 100 < mcse_ess[0, 1]


class NormalMeanUnusedData(NormalMean):
    """NormalMean with a data container the log density does not use (as the survival
    model's covariate column when it has no covariate)."""

    def data_values(self) -> dict[str, np.ndarray]:
        return {**super().data_values(), "unused": np.zeros(len(self.data))}

    def _define(self) -> None:
        pm.Data("unused", self.data_values()["unused"], dims="obs")
        super()._define()


@pytest.mark.slow
@pytest.mark.mcmc
def test_a_pooled_fit_on_nutpie_has_the_groups_of_pymcs():
    pytest.importorskip("nutpie")
    model = NormalMeanUnusedData(pd.DataFrame({"y": np.arange(8.0)}), PRIOR)
    settings = SamplerSettings(backend="nutpie", draws=1000, tune=500, chains=2, seed=7)
    data = datasets()
    idata = fit_pooled(model, data, settings, dim="imputation")
    assert idata.posterior.attrs["sampler"] == "nutpie"
    np.testing.assert_array_equal(idata.observed_data["y_obs"].values, data["a"]["y"])
    assert set(idata.constant_data) >= {"unused", "mu__mu", "mu__sigma"}  # as PyMC stores them
    assert idata.log_likelihood["y_obs"].sizes["obs"] == 8
    # mu | y ~ N(sum(y) / (n + 1/100), 1 / (n + 1/100)) per data set (prior N(0, 10^2))
    for label, sub in split_pooled(idata, "imputation").items():
        y = data[label]["y"].to_numpy()
        exact = y.sum() / (len(y) + 0.01)
        draws = sub.posterior["mu"]
        assert abs(float(draws.mean()) - exact) <= 3 * float(az.mcse(draws.to_dataset())["mu"])
