"""Forest plot of the several-factors model: raw margins beside standardised rates."""

from __future__ import annotations

from typing import TYPE_CHECKING

import arviz as az

from bayesblina.analyses.multifactor.terms import contrast_name, term_label
from bayesblina.analyses.subgroups.plots import plot_subgroup_forest

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def multifactor_forest(model: object, results: dict[str, az.InferenceData]) -> Figure:
    """Forest plot of the several-factors model: raw margins beside standardised rates.

    Each factor level shows its Fig 2 margin with the exact CI, then each prior set's
    standardised (adjusted) CR rate; the contrast panel shows the standardised differences
    with P(difference > 0) beside the raw difference.

    Parameters
    ----------
    model : MultifactorModel
        The model (its raw margins and contrasts label the plot).
    results : dict of str to InferenceData
        Fits by prior set.
    """
    short = {"marrow_blasts": "blasts", "previous_hsct": "prior HSCT",
             "previous_relapses": "prior relapses", "phase": "part"}
    reference = model.reference_table()  # type: ignore[attr-defined]
    reference["label"] = [f"{short.get(f, f)} {lv}" for f, lv in
                          (p.split("=", 1) for p in reference["population"])]
    names = {"standardised_rate": "p", "standardised_difference": "difference"}
    renamed = {
        name: az.InferenceData(posterior=idata.posterior[
            [v for v in names if v in idata.posterior]  # no contrast: no differences
        ].rename({k: v for k, v in names.items() if k in idata.posterior}))
        for name, idata in results.items()
    }
    levels = {contrast_name(f, a, b): (term_label(f, a), term_label(f, b))
              for f, a, b in model.contrasts()}  # type: ignore[attr-defined]
    pts = model.margins.patients  # type: ignore[attr-defined]
    fig = plot_subgroup_forest(
        renamed, reference, contrast_levels=levels,
        pooled=(int(pts["cr"].sum()), len(pts)),
        title="CR by factor, adjusted for the others (standardised rates) beside the raw margins",
    )
    return fig
