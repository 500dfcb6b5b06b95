"""Posterior survival curves over the Kaplan–Meier estimate of the (pseudo) patient data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from lifelines import KaplanMeierFitter

if TYPE_CHECKING:
    import arviz as az
    import pandas as pd
    from matplotlib.figure import Figure


def plot_survival(
    results: dict[str, az.InferenceData], data: pd.DataFrame, options: Any
) -> Figure:
    """Posterior survival curves (median, 95% band) over the KM of the pseudo data.

    One panel per prior set, one colour per group; thin lines are the Kaplan–Meier curves
    (lifelines) of every reconstruction of the patient data. The time axis is labelled
    with ``options.time_unit``.

    Parameters
    ----------
    results : dict of str to arviz.InferenceData
        The fits to draw, by prior set.
    data : pandas.DataFrame
        The patient data (``reconstruction, time, event, group``).
    options : SurvivalOptions
        The model's options (``time_unit``, ``group_label``, ``curve_max``).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per fit.
    """
    n = len(results)
    fig, axes = plt.subplots(1, n, figsize=(5.4 * n, 3.8), squeeze=False, sharey=True)
    for ax, (name, idata) in zip(axes[0], results.items(), strict=True):
        curve = idata.posterior["curve"]
        t = np.concatenate([[0.0], curve.coords["curve_time"].values])
        groups = curve.coords["group"].values if "group" in curve.dims else [None]
        for j, g in enumerate(groups):
            c = curve if g is None else curve.sel(group=g)
            q = np.quantile(c.values, [0.025, 0.5, 0.975], axis=(0, 1))
            q = np.hstack([np.ones((3, 1)), q])
            label = "posterior" if g is None else f"{options.group_label} = {g}"
            ax.fill_between(t, q[0], q[2], color=f"C{j}", alpha=0.25)
            ax.plot(t, q[1], color=f"C{j}", label=f"{label} median, 95% band")
            for r, rows in data.groupby("reconstruction"):
                rows = rows if g is None else rows[rows["group"] == g]
                km = KaplanMeierFitter().fit(rows["time"], rows["event"])
                sf = km.survival_function_
                ax.step(sf.index, sf.iloc[:, 0], where="post", color=f"C{j}", lw=0.5,
                        alpha=0.35, label="KM of pseudo data" if r == 0 else None)
        ax.set_title(name)
        ax.set_xlabel(f"time ({options.time_unit})")
        ax.set_xlim(0, options.curve_max)
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("survival probability")
    axes[0][-1].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig
