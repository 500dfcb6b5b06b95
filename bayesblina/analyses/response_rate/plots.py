"""Posterior densities of response rates beside the published exact intervals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

if TYPE_CHECKING:
    import arviz as az
    import pandas as pd
    from matplotlib.figure import Figure


def plot_proportion_posteriors(
    results: dict[str, az.InferenceData], reference: pd.DataFrame, var: str = "p"
) -> Figure:
    """One panel per population: posterior density per prior set, exact 95% CI below.

    Parameters
    ----------
    results : dict of str to InferenceData
        Fits by prior-set name (only fits that passed the diagnostics gate).
    reference : pandas.DataFrame
        Columns ``population, x, n, observed, cp_low, cp_high``.
    var : str
        Posterior variable with a ``population`` dimension.

    Returns
    -------
    matplotlib.figure.Figure
    """
    pops = list(reference["population"])
    fig, axes = plt.subplots(1, len(pops), figsize=(5.2 * len(pops), 3.6), squeeze=False)
    grid = np.linspace(0.0, 1.0, 501)
    for ax, pop in zip(axes[0], pops, strict=True):
        top = 0.0
        for name, idata in results.items():
            draws = idata.posterior[var].sel(population=pop).values.ravel()
            density = stats.gaussian_kde(draws)(grid)
            top = max(top, density.max())
            ax.plot(grid, density, label=name)
        ref = reference.set_index("population").loc[pop]
        y = -0.06 * max(top, 1.0)
        ax.errorbar(
            ref["observed"],
            y,
            xerr=[[ref["observed"] - ref["cp_low"]], [ref["cp_high"] - ref["observed"]]],
            fmt="ks",
            capsize=4,
            label="observed, exact 95% CI",
        )
        ax.set_title(f"{pop}: {int(ref['x'])}/{int(ref['n'])}")
        ax.set_xlabel("CR rate")
        ax.set_xlim(0, 1)
        ax.set_yticks([])
    axes[0][0].set_ylabel("posterior density")
    axes[0][-1].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
