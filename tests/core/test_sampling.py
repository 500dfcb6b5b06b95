"""The sampling core: coords/dims, provenance, seeds, and build once / fit many."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytensor
import pytest
import xarray as xr

from bayesblina.analyses import BetaBinomialModel, SubgroupModel
from bayesblina.analyses.registry import load_spec
from bayesblina.core import sampling
from bayesblina.core.sampling import require_backend, same_graph
from bayesblina.core.spec import SamplerSettings
from bayesblina.errors import DataError, SamplerError

DATA = pd.DataFrame({"population": ["all_5_15", "phase_2"], "x": [27, 14], "n": [70, 44]})
FLAT = {"p": {"family": "beta", "alpha": 1.0, "beta": 1.0}}
SCEPTICAL = {"p": {"family": "beta", "alpha": 2.0, "beta": 18.0}}


def new_model(data=DATA, prior=FLAT):
    return BetaBinomialModel(data, prior)


def test_constructor_does_not_build_or_fit():
    model = new_model()
    assert model._model is None and model.compiled == {}


@pytest.mark.mcmc
def test_result_has_named_dims_and_provenance(tiny_sampler):
    model = new_model()
    idata = model.fit(tiny_sampler, provenance={"spec": "{...}", "prior_set": "flat"})
    p = idata.posterior["p"]
    assert p.dims == ("chain", "draw", "population")
    assert list(p.coords["population"].values) == ["all_5_15", "phase_2"]
    assert idata.observed_data["y"].dims == ("population",)
    for attrs in (idata.posterior.attrs, idata.attrs):
        for key in ("bayesblina_version", "pymc_version", "arviz_version", "pytensor_version"):
            assert attrs[key]
        assert attrs["seed"] == 1 and attrs["sampler"] == "pymc"
        assert attrs["data_sha256"] == model.data_checksum()
        assert attrs["spec"] == "{...}" and attrs["prior_set"] == "flat"


@pytest.mark.mcmc
def test_same_seed_same_numbers_other_seed_other_numbers(tiny_sampler):
    model = new_model()
    a = model.fit(tiny_sampler).posterior["p"].values
    b = model.fit(tiny_sampler).posterior["p"].values
    c = model.fit(tiny_sampler.model_copy(update={"seed": 2})).posterior["p"].values
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.mcmc
def test_refit_reuses_the_compiled_sampler_and_has_no_stale_state(tiny_sampler):
    model = new_model()
    model.fit(tiny_sampler)
    graph, steps = model.build(), dict(model.compiled)
    assert len(steps) == 1
    new_data = DATA.assign(x=[5, 40])
    refit = model.set_data(new_data).set_prior(SCEPTICAL).fit(tiny_sampler)
    assert model.build() is graph
    assert model.compiled == steps  # the same compiled step object, no recompilation
    # a refit equals a fresh model's fit of the same data, prior and seed
    fresh = new_model(new_data, SCEPTICAL).fit(tiny_sampler)
    np.testing.assert_array_equal(refit.posterior["p"].values, fresh.posterior["p"].values)
    np.testing.assert_array_equal(refit.constant_data["x"].values, [5, 40])


@pytest.mark.mcmc
def test_chains_in_processes_after_a_fit_in_this_one_give_a_fresh_models_draws():
    # the compiled step is reused: a fit with chains one after the other adapts it here,
    # and a later fit on chain processes must not start from that adaptation
    one, two = (SamplerSettings(draws=50, tune=50, chains=2, cores=c, seed=3) for c in (1, 2))
    model = new_model()
    model.fit(one)
    again = model.fit(two)
    fresh = new_model().fit(two)
    np.testing.assert_array_equal(again.posterior["p"].values, fresh.posterior["p"].values)


@pytest.mark.mcmc
def test_refit_with_another_number_of_populations(tiny_sampler):
    model = new_model()
    model.fit(tiny_sampler)
    three = pd.DataFrame({"population": ["a", "b", "c"], "x": [1, 2, 3], "n": [10, 10, 10]})
    idata = model.set_data(three).fit(tiny_sampler)
    assert list(idata.posterior["p"].coords["population"].values) == ["a", "b", "c"]


def test_checksum_tracks_the_data():
    assert new_model().data_checksum() == new_model().data_checksum()
    assert new_model().data_checksum() != new_model(DATA.assign(x=[26, 14])).data_checksum()


def test_missing_optional_backend_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "numpyro" else real(name, *a)
    )
    with pytest.raises(SamplerError, match=r"needs numpyro.*pip install 'bayesblina\[numpyro\]'"):
        require_backend("numpyro")
    with pytest.raises(SamplerError, match="unknown sampler 'stan'"):
        require_backend("stan")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (DATA.assign(x=[71, 14]), "responders x=71 exceed patients n=70"),
        (DATA.assign(x=[-1, 14]), "need n >= 1 and x >= 0"),
        (DATA.assign(population=["a", "a"]), "duplicate population"),
        (DATA.drop(columns="n"), r"missing column\(s\) \['n'\]"),
    ],
)
def test_bad_data_is_refused_before_any_fit(data, match):

    with pytest.raises(DataError, match=match):
        new_model(data)


@pytest.mark.slow
@pytest.mark.mcmc
def test_nutpie_backend_refits_without_recompiling():
    pytest.importorskip("nutpie")
    settings = SamplerSettings(backend="nutpie", draws=1000, tune=500, chains=2, seed=3)
    model = new_model()
    first = model.fit(settings)
    compiled = model.compiled["nutpie"]
    again = model.fit(settings)
    np.testing.assert_array_equal(first.posterior["p"].values, again.posterior["p"].values)
    refit = model.set_prior(SCEPTICAL).fit(settings)
    assert model.compiled["nutpie"] is compiled
    assert refit.posterior.attrs["sampler"] == "nutpie"
    assert list(refit.posterior["p"].coords["population"].values) == ["all_5_15", "phase_2"]
    # sceptical Beta(2, 18) + 27/70 -> Beta(29, 61): mean 0.3222
    mean = float(refit.posterior["p"].sel(population="all_5_15").mean())
    assert mean == pytest.approx(29 / 90, abs=0.01)


def test_comparison_fits_use_the_comparison_backend_where_one_is_set():
    plain = SamplerSettings(backend="nutpie")
    assert plain.for_comparison() is plain and plain.backends() == ("nutpie",)
    same = SamplerSettings(backend="nutpie", comparison_backend="nutpie")
    assert same.for_comparison() is same and same.backends() == ("nutpie",)
    mixed = SamplerSettings(backend="nutpie", comparison_backend="pymc", draws=321, seed=5)
    alt = mixed.for_comparison()
    assert alt.backend == "pymc" and (alt.draws, alt.seed) == (321, 5)
    assert mixed.backends() == ("nutpie", "pymc")


def test_same_graph_sees_the_structure_not_the_values():
    # prior values and data values are data containers: the graph is the same
    a = new_model().build()
    b = new_model(DATA.assign(x=[3, 4], n=[10, 12]), SCEPTICAL).build()
    assert same_graph(a, b) and same_graph(b, a)
    sub_age = SubgroupModel.from_spec(load_spec("subgroups_age"))
    sub_blasts = SubgroupModel.from_spec(load_spec("subgroups_marrow_blasts"))
    assert not same_graph(a, sub_age.build())
    # two factors of the same model: the same graph whatever the levels are called
    assert same_graph(sub_age.build(), sub_blasts.build())
    # without the contrasts (deterministics fewer), or with another prior family, they differ
    no_contrasts = SubgroupModel.from_spec(load_spec("subgroups_region"))
    assert sub_age.contrasts() and not no_contrasts.contrasts()
    assert not same_graph(sub_age.build(), no_contrasts.build())
    cauchy = {"mu": {"family": "normal", "mu": 0.0, "sigma": 1.5},
              "tau": {"family": "half_cauchy", "beta": 1.0}}
    assert not same_graph(sub_age.build(), sub_blasts.set_prior(cauchy).build())


@pytest.mark.mcmc
def test_a_shared_compiled_nutpie_model_samples_like_a_fresh_one(monkeypatch):
    pytest.importorskip("nutpie")
    monkeypatch.setattr(sampling, "_NUTPIE_COMPILED", {})
    settings = SamplerSettings(backend="nutpie", draws=100, tune=100, chains=2, seed=11)
    home = new_model()
    home.fit(settings)
    other = pd.DataFrame({"population": ["a", "b"], "x": [3, 9], "n": [10, 12]})
    shared = new_model(other, SCEPTICAL)
    borrowed = shared.fit(settings)
    assert len(sampling._NUTPIE_COMPILED) == 1  # one compile served both models
    # the model that compiled it keeps its own data (its log-likelihood reads them)
    np.testing.assert_array_equal(home.build()["x"].get_value(), DATA["x"])
    np.testing.assert_array_equal(home.build()["n"].get_value(), DATA["n"])
    assert list(borrowed.posterior["p"].coords["population"].values) == ["a", "b"]
    monkeypatch.setattr(sampling, "_NUTPIE_COMPILED", {})
    alone = new_model(other, SCEPTICAL)
    fresh = alone.fit(settings)
    assert alone.compiled["nutpie"][1][0] is alone.build()  # compiled from its own graph
    np.testing.assert_array_equal(borrowed.posterior["p"].values, fresh.posterior["p"].values)


@pytest.mark.mcmc
def test_nutpie_traces_convert_as_nutpie_converts_them(monkeypatch):
    nutpie = pytest.importorskip("nutpie")
    # a model compiled from this model's own graph: nutpie's initial points come from the
    # data containers of the graph it compiled
    monkeypatch.setattr(sampling, "_NUTPIE_COMPILED", {})
    settings = SamplerSettings(backend="nutpie", draws=60, tune=50, chains=3, seed=5)
    model = new_model()
    ours = model.fit(settings)
    compiled = model.compiled["nutpie"][1][1].with_data(**model.data_values(),
                                                        **model.prior_values())
    theirs = nutpie.sample(compiled, draws=60, tune=50, chains=3, seed=5,
                                  cores=settings.cores, target_accept=settings.target_accept,
                                  progress_bar=False)
    for group in ("posterior", "sample_stats"):
        a, b = ours[group].copy(), theirs[group].copy()
        a.attrs, b.attrs = {}, {}
        xr.testing.assert_identical(a, b)  # names, dims, labels, dtypes and every value
    assert "warmup_posterior" not in ours.groups()  # nothing reads the warm-up draws


COLD_WARM_FIT = """
import sys
import numpy as np
from bayesblina.analyses.registry import load_spec, get_model_class
spec = load_spec("dose_toxicity_crm").with_sampler(draws=60, tune=60, chains=2, seed=7)
model = get_model_class(spec.analysis.model).from_spec(spec, next(iter(spec.priors)))
np.save(sys.argv[1], model.fit(spec.sampler).posterior["beta"].values)
"""


@pytest.mark.mcmc
def test_a_cold_compile_gives_the_draws_of_a_cached_one(tmp_path):
    # a machine's first run compiles PyTensor's numba code afresh, later runs load parts of
    # it from the cache: with fast-math the two rounded differently (14th digit, same seed).
    # Here the numba cache starts empty; the C modules are copied from this process's
    # cache (compiling them afresh would only cost time)
    c_modules = Path(pytensor.config.compiledir)
    shutil.copytree(c_modules, tmp_path / "cache" / c_modules.name,
                    ignore=shutil.ignore_patterns("lock_dir*"), ignore_dangling_symlinks=True)
    flags = ",".join(filter(None, [os.environ.get("PYTENSOR_FLAGS"),
                                   f"base_compiledir={tmp_path / 'cache'}"]))
    env = {**os.environ, "PYTENSOR_FLAGS": flags}
    for run in ("cold", "warm"):
        subprocess.run([sys.executable, "-c", COLD_WARM_FIT, str(tmp_path / f"{run}.npy")],
                       env=env, check=True, capture_output=True)
    assert (tmp_path / "cache" / "numba").is_dir()  # the cache was this test's own
    np.testing.assert_array_equal(np.load(tmp_path / "cold.npy"), np.load(tmp_path / "warm.npy"))
