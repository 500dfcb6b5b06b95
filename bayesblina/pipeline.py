"""One analysis end to end: spec -> data -> model -> sample -> gate -> summaries -> components.

:func:`run_analysis` fits every prior set of a spec on one built model (refits, no
rebuild), gates each fit, summarises only the fits that passed, and runs the analysis
room's report components on them. Writing files is the report's job
(:mod:`bayesblina.report.write`). :func:`run_analyses` runs several specs, one process per
core: specs are independent, and each carries its own seed, so the numbers do not depend
on how many processes run them.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from functools import partial
from typing import Any

import matplotlib

from bayesblina.analyses.registry import get_components, get_model_class
from bayesblina.core.components import Extras
from bayesblina.core.fit import AnalysisResult, Fit
from bayesblina.core.model import BayesModel
from bayesblina.core.spec import AnalysisSpec

Progress = Callable[[str], None]


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


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


def _run_numbered(
    spec: AnalysisSpec, i: int, n: int, progress: Progress | None
) -> AnalysisResult:
    if progress is not None:
        progress(f"[{i}/{n}] {spec.name}: {spec.analysis.title}")
    return run_analysis(spec, progress=progress)


def expected_work(spec: AnalysisSpec) -> float:
    """A spec's expected sampling work, in relative units, for scheduling only.

    Prior sets x chains x (draws + tune) x the model's ``cost_per_iteration``: enough to
    start the longest specs first, so that no core waits for one long spec at the end.
    """
    s = spec.sampler
    cls = get_model_class(spec.analysis.model, where=spec.source_path)
    return len(spec.priors) * s.chains * (s.draws + s.tune) * cls.cost_per_iteration


#: the loggers whose INFO lines a run's user cannot act on (PyMC's "NUTS: [p]" and the like)
THIRD_PARTY_LOGGERS = ("pymc", "pytensor", "arviz", "nutpie", "numba", "distributed")


def quiet_third_party() -> None:
    """Silence what third-party libraries print that the user of a run cannot act on.

    PyMC's sampling log lines (the run prints its own progress), PyTensor's warning that it
    found no BLAS, and FutureWarnings of ArviZ and PyMC. The command line calls this (in its
    worker processes too, :func:`run_analyses` ``quiet``); the tests do not, so they keep
    every warning visible. Errors are never silenced.
    """
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r"PyTensor could not link to a BLAS")
    for module in ("arviz", "pymc", "pytensor", "nutpie"):
        warnings.filterwarnings("ignore", category=FutureWarning, module=rf"{module}(\.|$)")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=rf"{module}(\.|$)")


def _start_worker(quiet: bool = False) -> None:
    matplotlib.use("Agg")  # a worker only renders figures to PNG bytes
    if quiet:
        quiet_third_party()


def run_analyses(
    specs: Sequence[AnalysisSpec],
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    done: Callable[[AnalysisResult], None] | None = None,
    quiet: bool = False,
) -> list[AnalysisResult]:
    """Run several specs (:func:`run_analysis` each), in parallel processes.

    Parameters
    ----------
    specs : sequence of AnalysisSpec
        Validated specs.
    jobs : int, optional
        Processes to run them in (default: :func:`available_cores`, at most one per
        spec). A freed process takes the longest pending spec (:func:`expected_work`) of
        the room it ran last, else the longest pending one: specs of a room share
        compiled samplers within a process (:mod:`bayesblina.core.sampling`). 1 runs them
        one after the other in this process, in the given order. With more than one, each
        spec samples its chains one after the other (``cores = 1``): the jobs use the
        cores. A spec's numbers are the same whatever ``jobs`` is: each fit is seeded by
        its spec alone, each chain by its own seed.
    progress : callable, optional
        Called with one line of text per step; with ``jobs > 1`` it is called in the
        worker processes, so it must be picklable (a module-level function).
    done : callable, optional
        Called in this process with each spec's result as it finishes (a progress display).
    quiet : bool
        Silence third-party log lines and warnings in the worker processes too
        (:func:`quiet_third_party`; in this process it is the caller's choice).

    Returns
    -------
    list of AnalysisResult
        In the order of ``specs``.

    Raises
    ------
    Exception
        The first error of any spec (the other specs are stopped).
    """
    n = len(specs)
    jobs = min(available_cores() if jobs is None else jobs, n)
    if jobs <= 1:
        out = []
        for i, spec in enumerate(specs, start=1):
            out.append(_run_numbered(spec, i, n, progress))
            if done is not None:
                done(out[-1])
        return out
    # the cores are the jobs': a spec's own chain processes would only compete with the
    # other jobs (PyMC seeds each chain alone, so its draws are those of cores = 1)
    specs = [s.with_sampler(cores=1) if s.sampler.cores > 1 else s for s in specs]
    # one process per job, each fed one spec at a time as it frees (spawn, not fork: a
    # forked PyTensor/OpenMP runtime is not safe to use)
    workers = [
        ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=partial(_start_worker, quiet),
        )
        for _ in range(jobs)
    ]
    pending = sorted(range(n), key=lambda k: -expected_work(specs[k]))
    futures: dict[int, Future[AnalysisResult]] = {}
    running: dict[Future[AnalysisResult], int] = {}  # future -> its worker
    last_room: list[str | None] = [None] * jobs
    try:
        while pending or running:
            for w in set(range(jobs)) - set(running.values()):
                if not pending:
                    break
                k = _next_spec(specs, pending, last_room[w])
                pending.remove(k)
                last_room[w] = room(specs[k])
                futures[k] = workers[w].submit(_run_numbered, specs[k], k + 1, n, progress)
                running[futures[k]] = w
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                del running[future]
                result = future.result()  # the first error stops the others (below)
                if done is not None:
                    done(result)
        results = [futures[k].result() for k in range(n)]
    except BaseException:
        # an error, Ctrl-C or SIGTERM: the specs still running are stopped, not waited for
        # (the executor has no public way to stop a running task)
        for executor in workers:
            processes = list((getattr(executor, "_processes", None) or {}).values())
            executor.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                if process.is_alive():
                    process.terminate()
        raise
    for executor in workers:
        executor.shutdown()
    return results


def room(spec: AnalysisSpec) -> str:
    """The analysis room (package) of a spec's model.

    Specs of one room share compiled samplers when they run in the same process.
    """
    cls = get_model_class(spec.analysis.model, where=spec.source_path)
    return cls.__module__.rsplit(".", 1)[0]


def _next_spec(specs: Sequence[AnalysisSpec], pending: list[int], last: str | None) -> int:
    """The spec a freed process takes.

    The longest pending one of the room it ran last (its compiled samplers are in that
    process), else the longest pending one.
    """
    same = [k for k in pending if last is not None and room(specs[k]) == last]
    return (same or pending)[0]
