"""Shared fixtures: small, seeded sampler settings and the packaged spec."""

from __future__ import annotations

import fcntl
import functools
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import nutpie
import pymc as pm
import pytest
from threadpoolctl import threadpool_limits

from bayesblina.analyses.registry import discover_specs, load_spec, load_specs
from bayesblina.core.fit import AnalysisResult
from bayesblina.core.spec import SamplerSettings
from bayesblina.design.studies import (
    Execution,
    discover_design_specs,
    load_design_specs,
    run_design,
)
from bayesblina.pipeline import run_analyses
from bayesblina.report.write import write_results
from bayesblina.reproduce import reproduce_all

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"

# One BLAS thread per process: pytest-xdist already runs a worker per core, and OpenBLAS's
# idle threads spin. The 242-dimensional nutpie fit of tests/design/test_escalation_mcmc.py
# used twice its CPU alone and took 5x its time beside the other worker. The processes the
# tests start (runs, notebook kernels) inherit the variable.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
threadpool_limits(1, user_api="blas")  # the BLAS libraries loaded before this line


@pytest.fixture(scope="session")
def overall_spec():
    return load_spec(MODELS / "overall_cr.toml")


@pytest.fixture
def tiny_sampler() -> SamplerSettings:
    """Plumbing tests only: too few draws to pass the gate."""
    return SamplerSettings(draws=50, tune=50, chains=2, seed=1)


@pytest.fixture(scope="session")
def write_spec(tmp_path_factory):
    """Write a TOML text to a file named after its analysis and return the path."""

    def _write(text: str, name: str = "bad_spec", folder: Path | None = None) -> Path:
        """``folder``: where the spec lives (its data files resolve from there)."""
        folder = folder or tmp_path_factory.mktemp("specs")
        path = folder / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@dataclass(frozen=True)
class DefaultRun:
    """Every default spec fitted with its own settings, and the run's written folder.

    The folder is written as ``bayesblina run`` writes it (reproduced numbers and the
    default design studies included), so the tests of the whole report read it as is.
    """

    results: dict[str, AnalysisResult]
    out: Path


def _run_defaults(out: Path) -> DefaultRun:
    # written as ``bayesblina run`` writes it: the analyses, the published numbers
    # reproduced and every default design study (these from the run's fits)
    results = run_analyses(load_specs(discover_specs()))
    analyses = {r.spec.analysis.name: r for r in results}
    designs = [run_design(d, analyses=analyses, execution=Execution(workers=1))
               for d in load_design_specs(discover_design_specs())]
    write_results(results, out, {"run_id": "tests"}, reproduce_all(), designs=designs)
    return DefaultRun({r.spec.name: r for r in results}, out)


@pytest.fixture(scope="session")
def default_run(request: pytest.FixtureRequest, tmp_path_factory) -> DefaultRun:
    """The whole default re-analysis, once per test run, on every core (``run_analyses``).

    The slow tests that check a default analysis at full size (its gate, its exact engine,
    its outputs) share these fits instead of refitting the same specs one by one. Under
    pytest-xdist the first worker that needs the run makes it and the others read it
    (results pickled beside it, a lock file between them), so it is made once per run.
    """
    workerinput = getattr(request.config, "workerinput", None)
    if workerinput is None:  # one process: nothing to share
        run = _run_defaults(tmp_path_factory.mktemp("default_run") / "out")
    else:
        shared = tmp_path_factory.getbasetemp().parent / f"default_run-{workerinput['testrunuid']}"
        shared.mkdir(exist_ok=True)
        pickled = shared / "results.pickle"
        with open(shared / "lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if pickled.exists():
                run = pickle.loads(pickled.read_bytes())
            else:
                run = _run_defaults(shared / "out")
                pickled.write_bytes(pickle.dumps(run))
    # the fits ran in worker processes, out of sight of the counters below
    _SAMPLING["fixture:default_run"] = sum(len(r.fits) for r in run.results.values())
    return run


#: the markers that say what a test costs besides ``unit`` (``browser``: a Chromium process)
COSTLY = ("mcmc", "docs", "e2e", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test says what it costs: a test with no cost marker is a ``unit`` test.

    The docs build (the longest test, minutes) goes first: under pytest-xdist a long test
    started last leaves the other cores idle while it ends.
    """
    for item in items:
        if not any(item.get_closest_marker(m) for m in COSTLY):
            item.add_marker(pytest.mark.unit)
    items.sort(key=lambda item: not (item.get_closest_marker("docs")
                                     and item.get_closest_marker("slow")))


#: MCMC calls per test (its fixtures' set-up included), counted by the wrappers below
_SAMPLING: dict[str, int] = {}
_RUNNING: list[str] = []


def _count_calls(module, name: str) -> None:
    real = getattr(module, name)

    @functools.wraps(real)
    def call(*args, **kwargs):
        if _RUNNING:
            _SAMPLING[_RUNNING[-1]] = _SAMPLING.get(_RUNNING[-1], 0) + 1
        return real(*args, **kwargs)

    setattr(module, name, call)


_count_calls(pm, "sample")
_count_calls(nutpie, "sample")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Attribute MCMC calls to the test running (set-up, call and teardown)."""
    _RUNNING.append(item.nodeid)
    yield
    _RUNNING.pop()


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest):
    """Attribute MCMC calls made while a fixture is set up to the fixture (shared fits)."""
    _RUNNING.append(f"fixture:{fixturedef.argname}")
    yield
    _RUNNING.pop()


@pytest.fixture(autouse=True)
def _unit_tests_do_not_sample(request: pytest.FixtureRequest):
    """A ``unit`` test that runs MCMC (or uses a fixture that did) fails: mark it ``mcmc``."""
    yield
    calls = _SAMPLING.get(request.node.nodeid, 0) + sum(
        _SAMPLING.get(f"fixture:{name}", 0) for name in request.fixturenames)
    if calls and not any(request.node.get_closest_marker(m) for m in COSTLY):
        pytest.fail(f"{request.node.nodeid} samples by MCMC ({calls} call(s)) but is not "
                    "marked: add @pytest.mark.mcmc", pytrace=False)
