"""Report components: stateless functions that take fits and return values.

Every analysis room declares its :class:`Components`: what the report shows beyond the
posterior summary. Each per-fit component takes one :class:`~bayesblina.core.fit.Fit`
(that passed the gate) and returns :class:`Extras`; the figure takes the whole
:class:`~bayesblina.core.fit.AnalysisResult`. Nothing is remembered between calls: a
component that fits further models (a LOO comparison) returns those fits in its
``Extras`` for the figure to use. A ``cache`` mapping, owned by the caller for one
analysis run, may be passed to reuse compiled comparison models across prior sets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bayesblina.core.findings import Finding
    from bayesblina.core.fit import AnalysisResult, Fit
    from bayesblina.core.model import BayesModel


@dataclass(frozen=True)
class Extras:
    """What components made of one fit.

    Parameters
    ----------
    exact : pandas.DataFrame or None
        The posterior summary's quantities computed exactly (closed form or quadrature).
    tables : mapping of str to DataFrame
        Further tables by title (sensitivity analyses, LOO comparisons, imputed tables).
    json : mapping of str to Any
        Further ``summary.json`` keys of this fit (stored as ``entry[key][prior_set]``).
    decision : mapping of str to Any
        Decision quantities (e.g. a recommended dose).
    fits : mapping of str to Fit
        Auxiliary fits the components made (e.g. the models of a LOO comparison), by label.
    """

    exact: pd.DataFrame | None = None
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    json: Mapping[str, Any] = field(default_factory=dict)
    decision: Mapping[str, Any] = field(default_factory=dict)
    fits: Mapping[str, Fit] = field(default_factory=dict)

    def merge(self, other: Extras) -> Extras:
        """Both outputs in one (``other`` must not repeat a key or a second exact table)."""
        for a, b, what in ((self.tables, other.tables, "table"), (self.json, other.json, "key"),
                           (self.decision, other.decision, "decision"),
                           (self.fits, other.fits, "fit")):
            clash = set(a) & set(b)
            if clash:
                raise ValueError(f"two components return the same {what}: {sorted(clash)}")
        if self.exact is not None and other.exact is not None:
            raise ValueError("two components return an exact table")
        return Extras(
            exact=self.exact if self.exact is not None else other.exact,
            tables={**self.tables, **other.tables},
            json={**self.json, **other.json},
            decision={**self.decision, **other.decision},
            fits={**self.fits, **other.fits},
        )


#: a per-fit component: ``component(fit, cache)``
FitComponent = Callable[["Fit", MutableMapping[str, Any]], Extras]


@dataclass(frozen=True)
class Components:
    """An analysis room's report components.

    Parameters
    ----------
    per_fit : tuple of callables
        ``component(fit, cache) -> Extras``, called for each fit that passed the gate.
    reference : callable, optional
        ``reference(result) -> DataFrame | None``: the published (frequentist) result.
    figure : callable, optional
        ``figure(result) -> Figure | None``: the figure of every prior set's fit.
    findings : callable, optional
        ``findings(result) -> list[Finding]``: the rows of the report's key findings table
        (:class:`bayesblina.core.findings.Finding`): the paper's answer beside the posterior's.
    no_exact : str
        Why the posterior has no exact (closed-form, quadrature or grid) counterpart, and
        how the fit is checked instead; shown in the report where the exact check would be.
        Empty for a room whose ``per_fit`` components return an exact table.
    """

    per_fit: tuple[FitComponent, ...] = ()
    reference: Callable[[AnalysisResult], pd.DataFrame | None] | None = None
    figure: Callable[[AnalysisResult], Figure | None] | None = None
    findings: Callable[[AnalysisResult], list[Finding]] | None = None
    no_exact: str = ""

    def run(self, fit: Fit, cache: MutableMapping[str, Any]) -> Extras:
        """Every per-fit component on one fit, merged."""
        out = Extras()
        for component in self.per_fit:
            out = out.merge(component(fit, cache))
        return out


def model_of(cls: type[BayesModel], fit: Fit) -> BayesModel:
    """A model of class ``cls`` with the fit's data, prior and options (not built)."""
    return cls(fit.data, fit.prior, fit.spec.options)


def passed_idata(result: AnalysisResult) -> dict[str, Any]:
    """InferenceData of the fits that passed the gate, by prior set as people read it.

    The keys are the prior sets' labels (``PriorSetBase.label``: the title, else the name):
    the figures show them in legends and panel titles.
    """
    return {result.prior_label(k): f.idata for k, f in result.fits.items() if f.gate.passed}
