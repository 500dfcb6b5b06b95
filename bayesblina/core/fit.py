"""Fits as values: one prior set's posterior, and everything one spec produced.

A :class:`Fit` is immutable: the spec, the prior set (name and value), the data the fit
used, the InferenceData and the gate verdict. What a report shows beyond the posterior
summary comes from stateless components (:mod:`bayesblina.core.components`) that take
fits and return :class:`~bayesblina.core.components.Extras` values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import arviz as az
import pandas as pd
import xarray as xr

from bayesblina.core.gate import GateResult
from bayesblina.core.model import frame_checksum
from bayesblina.core.spec import AnalysisSpec

if TYPE_CHECKING:
    from bayesblina.core.components import Extras
    from bayesblina.core.model import BayesModel, PriorSetBase


@dataclass(frozen=True)
class Fit:
    """The posterior of one prior set, with its gate verdict: a value.

    Parameters
    ----------
    spec : AnalysisSpec
        The spec the fit came from (sampler settings, options, summary settings).
    prior_set : str
        Name of the prior set.
    prior : PriorSetBase
        The prior set itself.
    data : pandas.DataFrame
        All the data the fit used (every reconstruction of a pooled fit).
    idata : arviz.InferenceData
        The posterior (pooled over data sets where the model pools).
    gate : GateResult
        The convergence verdict.
    seconds : float
        Wall time of sampling and gating.
    summary : pandas.DataFrame or None
        The model's posterior summary (``None`` for a fit that failed the gate).
    """

    spec: AnalysisSpec
    prior_set: str
    prior: PriorSetBase
    data: pd.DataFrame
    idata: az.InferenceData
    gate: GateResult
    seconds: float = 0.0
    summary: pd.DataFrame | None = None

    @property
    def passed(self) -> bool:
        """True when the fit passed the gate."""
        return self.gate.passed

    @property
    def data_sha256(self) -> str:
        """SHA-256 of all the data the fit used."""
        return frame_checksum(self.data)


@dataclass(frozen=True)
class AnalysisResult:
    """Everything one spec produced: its fits, and each fit's component outputs.

    Parameters
    ----------
    spec : AnalysisSpec
        The spec.
    model : BayesModel
        The model the fits were made with (its data and options; the prior of the last fit).
    fits : mapping of str to Fit
        Fits by prior set.
    extras : mapping of str to Extras
        Component outputs by prior set (fits that passed the gate only).
    reference : pandas.DataFrame or None
        The published (frequentist) result shown beside the posterior, if any.
    """

    spec: AnalysisSpec
    model: BayesModel
    fits: Mapping[str, Fit] = field(default_factory=dict)
    extras: Mapping[str, Extras] = field(default_factory=dict)
    reference: pd.DataFrame | None = None

    @property
    def passed(self) -> bool:
        """True when every prior set's fit passed the gate."""
        return all(f.gate.passed for f in self.fits.values())

    @property
    def status(self) -> str:
        """``"PASSED"`` or ``"FAILED"``."""
        return "PASSED" if self.passed else "FAILED"

    @property
    def data_sha256(self) -> str:
        """SHA-256 of all the data the analysis used (the same for every prior set)."""
        return frame_checksum(self.model.data)

    def prior_label(self, name: str) -> str:
        """The prior set ``name`` as people read it (its ``title``; see ``PriorSetBase.label``)."""
        prior = self.spec.priors.get(name)
        return prior.label(name) if prior is not None else name.replace("_", " ")

    @property
    def default_prior(self) -> str:
        """The spec's first prior set: the one the key findings report."""
        return next(iter(self.fits))

    def passed_fits(self) -> dict[str, Fit]:
        """The fits that passed the gate, by prior set."""
        return {k: f for k, f in self.fits.items() if f.gate.passed}

    def summary_table(self) -> pd.DataFrame:
        """Posterior summaries of the fits that passed, one row per prior set and element."""
        parts = [
            f.summary.assign(prior_set=name)
            for name, f in self.fits.items()
            if f.gate.passed and f.summary is not None
        ]
        if not parts:
            return pd.DataFrame()
        return _prior_set_first(pd.concat(parts, ignore_index=True))

    def diagnostics_table(self) -> pd.DataFrame:
        """Every gate check of every prior set."""
        rows = [
            {"prior_set": name, "status": f.gate.status, **vars(c)}
            for name, f in self.fits.items()
            for c in f.gate.checks
        ]
        return pd.DataFrame(rows)

    def exact_table(self) -> pd.DataFrame | None:
        """The exact (closed-form or quadrature) checks of every prior set, stacked."""
        parts = [e.exact.assign(prior_set=k) for k, e in self.extras.items()
                 if e.exact is not None]
        return _prior_set_first(pd.concat(parts, ignore_index=True)) if parts else None

    def extra_tables(self) -> dict[str, pd.DataFrame]:
        """Each component table, stacked over the prior sets that passed."""
        out: dict[str, list[pd.DataFrame]] = {}
        for name, extras in self.extras.items():
            for title, table in extras.tables.items():
                out.setdefault(title, []).append(table.assign(prior_set=name))
        return {t: _prior_set_first(pd.concat(p, ignore_index=True)) for t, p in out.items()}

    def idata(self) -> az.InferenceData:
        """All prior sets' fits in one InferenceData, stacked along a ``prior_set`` dim."""
        return combine_prior_sets({k: f.idata for k, f in self.fits.items()})


def _prior_set_first(df: pd.DataFrame) -> pd.DataFrame:
    return df[["prior_set", *[c for c in df.columns if c != "prior_set"]]]


def combine_prior_sets(
    idatas: Mapping[str, az.InferenceData], dim: str = "prior_set"
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
    attrs: list[dict[str, Any]] = [getattr(i, "attrs", {}) for i in idatas.values()]
    out.attrs = {k: v for k, v in attrs[0].items() if all(a.get(k) == v for a in attrs[1:])}
    return out
