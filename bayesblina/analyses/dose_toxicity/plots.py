"""The posterior dose-toxicity curve with the observed cohorts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:
    import arviz as az
    import pandas as pd
    from matplotlib.figure import Figure


def plot_dose_toxicity(
    results: dict[str, az.InferenceData],
    cohorts: pd.DataFrame,
    options: Any,
    prior_curves: dict[str, np.ndarray] | None = None,
) -> Figure:
    """P(DLT) against dose: posterior median with 50% and 95% bands, one panel per prior set.

    ``prior_curves[name]`` (dose x (2.5%, 50%, 97.5%)) adds the prior's implied curve.

    Observed cohorts are drawn at their maintenance dose (stepwise regimens hollow, with
    their label), sized by the number of patients; dashed lines mark the interval cuts.
    """
    n = len(results)
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 3.8), squeeze=False, sharey=True)
    for ax, (name, idata) in zip(axes[0], results.items(), strict=True):
        p = idata.posterior["p_dose"]
        dose = p.coords["dose"].values
        q = np.quantile(p.values, [0.025, 0.25, 0.5, 0.75, 0.975], axis=(0, 1))
        ax.fill_between(dose, q[0], q[4], alpha=0.2, color="C0", label="95%")
        ax.fill_between(dose, q[1], q[3], alpha=0.35, color="C0", label="50%")
        ax.plot(dose, q[2], color="C0", label="median")
        if prior_curves and name in prior_curves:
            pq = prior_curves[name]
            ax.plot(dose, pq[:, 1], color="C1", ls="--", lw=1, label="prior median")
            ax.plot(dose, pq[:, 0], color="C1", ls=":", lw=1, label="prior 95%")
            ax.plot(dose, pq[:, 2], color="C1", ls=":", lw=1)
        for cut in options.cuts:
            ax.axhline(cut, ls="--", lw=0.8, color="grey")
        for _, r in cohorts.iterrows():
            last = r["periods"][-1][0]
            stepwise = len(r["periods"]) > 1
            ax.scatter(
                last, r["dlts"] / r["patients"], s=20 + 12 * r["patients"],
                facecolors="none" if stepwise else "k", edgecolors="k", zorder=3,
            )
            ax.annotate(f"{r['label']}: {r['dlts']}/{r['patients']}",
                        (last, r["dlts"] / r["patients"]), textcoords="offset points",
                        xytext=(5, 5), fontsize=7)
        ax.set_title(name)
        ax.set_xlabel("dose (µg/m²/day)")
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("P(DLT in cycle 1)")
    axes[0][-1].legend(fontsize=8, frameon=False, loc="upper left")
    fig.tight_layout()
    return fig


def plot_crm_levels(results: dict[str, az.InferenceData], options: Any) -> Figure:
    """CRM: posterior median and 95% interval of P(DLT) per dose level, with the skeleton.

    One marker per prior set; the skeleton (the working model at beta = 0) as crosses,
    the target and the over-dosing cut as dashed lines.
    """
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    levels = np.arange(len(options.dose_levels))
    width = 0.12
    for j, (name, idata) in enumerate(results.items()):
        p = idata.posterior["p_level"].values
        q = np.quantile(p, [0.025, 0.5, 0.975], axis=(0, 1))
        x = levels + (j - (len(results) - 1) / 2) * width
        ax.errorbar(x, q[1], yerr=[q[1] - q[0], q[2] - q[1]], fmt="o", capsize=3, label=name)
    ax.plot(levels, options.skeleton, "kx", label="skeleton")
    ax.axhline(options.target, ls="--", lw=0.8, color="C2", label="target")
    ax.axhline(options.cuts[1], ls=":", lw=0.8, color="C3", label="over-dosing cut")
    ax.set_xticks(levels, [f"{d:g}" for d in options.dose_levels])
    ax.set_xlabel("dose level (µg/m²/day)")
    ax.set_ylabel("P(DLT in cycle 1)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
