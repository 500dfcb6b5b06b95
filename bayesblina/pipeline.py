"""One analysis end to end: spec -> data -> model -> sample -> gate -> summaries.

:func:`run_analysis` fits every prior set of a spec on one built model (refits, no
rebuild), gates each fit, and summarises only the fits that passed. Writing files is
the report's job (:mod:`bayesblina.report.write`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import arviz as az
import pandas as pd
import xarray as xr

from bayesblina.diagnostics.gate import GateResult
from bayesblina.model import BayesModel, get_model_class
from bayesblina.spec.schema import AnalysisSpec

Progress = Callable[[str], None]


@dataclass
class PriorSetFit:
    """The fit of one prior set: InferenceData, gate verdict and (if passed) summaries."""

    prior_set: str
    idata: az.InferenceData
    gate: GateResult
    seconds: float
    summary: pd.DataFrame | None = None
    exact: pd.DataFrame | None = None
    decision: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class AnalysisResult:
    """Everything one spec produced."""

    spec: AnalysisSpec
    model: BayesModel
    fits: dict[str, PriorSetFit] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every prior set's fit passed the gate."""
        return all(f.gate.passed for f in self.fits.values())

    @property
    def status(self) -> str:
        """``"PASSED"`` or ``"FAILED"``."""
        return "PASSED" if self.passed else "FAILED"

    def summary_table(self) -> pd.DataFrame:
        """Posterior summaries of the fits that passed, one row per prior set and element."""
        parts = [
            f.summary.assign(prior_set=name)
            for name, f in self.fits.items()
            if f.gate.passed and f.summary is not None
        ]
        if not parts:
            return pd.DataFrame()
        df = pd.concat(parts, ignore_index=True)
        return df[["prior_set", *[c for c in df.columns if c != "prior_set"]]]

    def diagnostics_table(self) -> pd.DataFrame:
        """Every gate check of every prior set."""
        rows = [
            {"prior_set": name, "status": f.gate.status, **vars(c)}
            for name, f in self.fits.items()
            for c in f.gate.checks
        ]
        return pd.DataFrame(rows)

    def extra_tables(self) -> dict[str, pd.DataFrame]:
        """Each model extra table, stacked over the prior sets that passed."""
        out: dict[str, list[pd.DataFrame]] = {}
        for name, f in self.fits.items():
            for title, table in f.extra.items():
                out.setdefault(title, []).append(table.assign(prior_set=name))
        return {
            t: pd.concat(parts, ignore_index=True).pipe(
                lambda df: df[["prior_set", *[c for c in df.columns if c != "prior_set"]]]
            )
            for t, parts in out.items()
        }

    def idata(self) -> az.InferenceData:
        """All prior sets' fits in one InferenceData, stacked along a ``prior_set`` dim."""
        return combine_prior_sets({k: f.idata for k, f in self.fits.items()})


def combine_prior_sets(
    idatas: dict[str, az.InferenceData], dim: str = "prior_set"
) -> az.InferenceData:
    """Stack fits that differ only in their prior along a new named dimension.

    ``observed_data`` is shared and kept once; every other group gains ``dim`` right after
    ``chain`` and ``draw`` (so ``az.summary`` lists one row per prior set).
    """
    first = next(iter(idatas.values()))
    index = pd.Index(list(idatas), name=dim)
    groups = {}
    for group in first.groups():
        datasets = [getattr(i, group) for i in idatas.values()]
        if group == "observed_data":
            groups[group] = datasets[0]
            continue
        ds = xr.concat(datasets, dim=index, combine_attrs="drop_conflicts")
        lead = [d for d in ("chain", "draw") if d in ds.dims]
        groups[group] = ds.transpose(*lead, dim, ...)
    out = az.InferenceData(**groups)
    # keep the provenance all fits share; per-fit values (prior set, time) stay in the groups
    attrs = [getattr(i, "attrs", {}) for i in idatas.values()]
    out.attrs = {k: v for k, v in attrs[0].items() if all(a.get(k) == v for a in attrs[1:])}
    return out


def run_analysis(
    spec: AnalysisSpec,
    *,
    model: BayesModel | None = None,
    progress: Progress | None = None,
) -> AnalysisResult:
    """Fit every prior set of ``spec`` and gate each fit.

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
        Fits that failed the gate carry no summaries.
    """
    say = progress or (lambda _msg: None)
    cls = get_model_class(spec.analysis.model, where=spec.source_path)
    if model is None:
        model = cls.from_spec(spec)
    result = AnalysisResult(spec=spec, model=model)
    spec_json = spec.provenance()
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
                "spec": _to_json(spec_json),
                "spec_path": spec.source_path,
            },
        )
        gate = model.gate(idata, spec.gate)
        fit = PriorSetFit(name, idata, gate, time.perf_counter() - start)
        if gate.passed:
            fit.summary = model.summarise(idata, spec.summary)
            fit.exact = model.exact_table(spec.summary)
            fit.decision = model.recommendation(idata)
            fit.extra = model.extra_tables(idata, spec)
        result.fits[name] = fit
        failed = "" if gate.passed else ": " + "; ".join(c.describe() for c in gate.failures)
        say(f"{spec.name}: prior set {name!r} {gate.status} ({fit.seconds:.1f} s){failed}")
    return result


def _to_json(obj: Any) -> str:
    import json

    return json.dumps(obj, sort_keys=True, default=str)
