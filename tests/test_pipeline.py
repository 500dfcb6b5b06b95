"""`run_analyses`: several specs in parallel processes, the same numbers as one by one."""

from __future__ import annotations

import importlib.util
import pickle

import numpy as np
import pytest

import bayesblina.pipeline as pipeline
from bayesblina.analyses.registry import get_model_class, load_spec
from bayesblina.errors import SamplerError
from bayesblina.pipeline import available_cores, run_analyses

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _specs():
    # plumbing only: too few draws for the gate (the numbers are compared, not judged)
    small = {"draws": 60, "tune": 60, "chains": 2}
    # the second has more work (4 prior sets against 1): it starts first, and its result
    # still comes back second
    return [
        load_spec("dose_toxicity_crm").with_sampler(**small, seed=7),
        load_spec("overall_cr").with_sampler(**small),
    ]


@pytest.mark.mcmc
def test_two_processes_give_the_numbers_of_one():
    one = run_analyses(_specs(), jobs=1)
    two = run_analyses(_specs(), jobs=2)
    specs = _specs()
    assert pipeline.expected_work(specs[1]) > pipeline.expected_work(specs[0])
    assert [r.spec.name for r in two] == ["dose_toxicity_crm", "overall_cr"]  # spec order
    for a, b in zip(one, two, strict=True):
        assert list(a.fits) == list(b.fits)
        for name in a.fits:
            for var in a.fits[name].idata.posterior.data_vars:
                np.testing.assert_array_equal(a.fits[name].idata.posterior[var].values,
                                              b.fits[name].idata.posterior[var].values)
        # a result from a worker carries its model's data, prior and options, not its graph
        assert b.model.data.equals(a.model.data) and b.model.compiled == {}


@pytest.mark.mcmc
@pytest.mark.skipif(importlib.util.find_spec("numpyro") is not None,
                    reason="needs a backend that is not installed (numpyro is)")
def test_an_error_in_a_worker_reaches_the_caller_as_itself():
    specs = _specs()
    specs[0] = specs[0].with_sampler(backend="numpyro")
    with pytest.raises(SamplerError, match="needs numpyro"):
        run_analyses(specs, jobs=2)


@pytest.mark.parametrize("name", ["overall_cr", "survival_rfs_mrd", "subgroups_multifactor"])
def test_a_model_pickles_without_its_graph_and_builds_again(name):
    # the survival model keeps its random variables, the several-factors model its step's
    # outputs: graph objects, which must not travel (nor do they pickle)
    spec = load_spec(name)
    model = get_model_class(spec.analysis.model).from_spec(spec)
    graph = model.build()
    copy = pickle.loads(pickle.dumps(model))
    assert copy._model is None and copy.compiled == {} and copy._built_key is None
    assert set(copy.__dict__) == set(model.__dict__)
    for key, unbuilt in copy._unbuilt_state().items():
        assert copy.__dict__[key] == unbuilt, key
    assert copy.data.equals(model.data) and copy.prior == model.prior
    assert model.build() is graph  # the original keeps its graph
    assert set(copy.build().named_vars) == set(graph.named_vars)


def test_one_spec_runs_in_this_process_whatever_jobs(monkeypatch):
    # jobs are capped at the number of specs: one spec is never sent to a worker process
    # (a worker would not see this process's replacement of run_analysis)
    seen = []
    monkeypatch.setattr(pipeline, "run_analysis", lambda spec, **kw: seen.append(spec.name))
    assert run_analyses([load_spec("overall_cr")], jobs=4) == [None]
    assert seen == ["overall_cr"]
    assert available_cores() >= 1 and run_analyses([], jobs=4) == []


def test_the_longest_specs_are_expected_to_be_the_several_factors_model_and_blrm():
    # scheduling only: the several-factors spec (compound step, ~30% of a serial run) first
    specs = [load_spec(name) for name in ("overall_cr", "subgroups_age", "survival_os",
                                          "subgroups_multifactor", "dose_toxicity_blrm")]
    ranked = sorted(specs, key=pipeline.expected_work, reverse=True)
    assert ranked[0].name == "subgroups_multifactor"
    assert all(pipeline.expected_work(s) > 0 for s in specs)


def test_a_freed_process_keeps_to_its_room_then_takes_the_longest():
    # specs of one room share compiled samplers in a process: a worker that ran a subgroup
    # spec takes the next subgroup spec even when a longer spec of another room waits
    specs = [load_spec(name) for name in ("survival_os", "subgroups_age", "subgroups_phase",
                                          "overall_cr")]
    assert pipeline.room(specs[1]) == pipeline.room(specs[2]) == "bayesblina.analyses.subgroups"
    assert pipeline.room(specs[0]) != pipeline.room(specs[1])
    pending = [0, 2, 3]  # longest first, as run_analyses keeps them
    assert pipeline._next_spec(specs, pending, pipeline.room(specs[1])) == 2
    assert pipeline._next_spec(specs, pending, None) == 0
    assert pipeline._next_spec(specs, [0, 3], pipeline.room(specs[1])) == 0
