"""Figures of the design studies: one per kind, from the tables of :mod:`bayesblina.design.studies`.

Each function takes the numbers already computed (data frames, mixtures) and draws them; none
computes a probability of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from bayesblina.design.mixture import BetaMixture


def simon_plot(per_n: pd.DataFrame, designs: pd.DataFrame, title: str) -> Figure:
    """``EN(p0)`` against ``n``: the best design per ``n``, the admissible hull, a given design.

    Parameters
    ----------
    per_n : pandas.DataFrame
        :func:`bayesblina.design.simon.simon_best_by_n` (columns ``n``, ``en0``).
    designs : pandas.DataFrame
        Columns ``design`` (``"given"``, ``"minimax"``, ``"admissible"``, ``"optimal"``, ...),
        ``boundaries``, ``n`` and ``en0``.
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(per_n["n"], per_n["en0"], "o", color="0.6", ms=4, label="best design for each n")
    hull = designs[designs["design"] != "given"]
    ax.plot(hull["n"], hull["en0"], "-", color="C0", lw=1.5, label="admissible (convex hull)")
    for _, row in hull.iterrows():
        ax.annotate(f"{row['design']}\n{row['boundaries']}", (row["n"], row["en0"]),
                    textcoords="offset points", xytext=(6, 4), fontsize=7)
    given = designs[designs["design"] == "given"]
    if not given.empty:
        row = given.iloc[0]
        ax.plot(row["n"], row["en0"], "*", color="C3", ms=13, label=f"given {row['boundaries']}")
    ax.set_xlabel("maximum sample size n")
    ax.set_ylabel("expected sample size EN(p0)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def oc_plot(oc: pd.DataFrame, p0: float, p1: float | None, title: str) -> Figure:
    """Operating characteristics over true rates: P(success), P(early stop), expected size.

    Parameters
    ----------
    oc : pandas.DataFrame
        :attr:`bayesblina.design.monitoring.MonitoringOC.table` (columns ``p``, ``success``,
        ``pet``, ``en``).
    p0, p1 : float
        Marked on the rate axis (``p1`` may be ``None``).
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(oc["p"], oc["success"], "o-", color="C0", label="P(declare success)")
    ax.plot(oc["p"], oc["pet"], "s--", color="C1", label="P(stop early)")
    for rate, name in ((p0, "p0"), (p1, "p1")):
        if rate is not None:
            ax.axvline(rate, color="0.7", lw=0.8)
            ax.annotate(name, (rate, 1.02), ha="center", fontsize=8, annotation_clip=False)
    ax.set_xlabel("true response rate")
    ax.set_ylabel("probability")
    ax.set_ylim(-0.02, 1.05)
    ax2 = ax.twinx()
    ax2.plot(oc["p"], oc["en"], ":", color="C2", label="expected sample size")
    ax2.set_ylabel("expected sample size")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, frameon=False,
              loc="center right")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def prior_plot(priors: dict[str, BetaMixture], oc: pd.DataFrame | None, title: str) -> Figure:
    """Prior densities and, beside them, the follow-up's probability of success under each.

    Parameters
    ----------
    priors : dict of str to ~bayesblina.design.mixture.BetaMixture
        The priors by name.
    oc : pandas.DataFrame or None
        Columns ``prior``, ``true_rate``, ``prob_success`` (one row per prior and rate).
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ncols = 1 if oc is None else 2
    fig, axes = plt.subplots(1, ncols, figsize=(5.2 * ncols, 3.8), squeeze=False)
    grid = np.linspace(0.0005, 0.9995, 999)
    ax = axes[0][0]
    for name, mix in priors.items():
        ax.plot(grid, mix.pdf(grid), label=name)
    ax.set_xlabel("response rate")
    ax.set_ylabel("prior density")
    ax.set_xlim(0, 1)
    ax.legend(fontsize=8, frameon=False)
    if oc is not None:
        ax = axes[0][1]
        for name in priors:
            rows = oc[oc["prior"] == name]
            ax.plot(rows["true_rate"], rows["prob_success"], "o-", ms=3, label=name)
        ax.set_xlabel("true response rate")
        ax.set_ylabel("P(success) of the follow-up")
        ax.set_ylim(-0.02, 1.02)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def assurance_plot(predictive: pd.DataFrame, by_n: pd.DataFrame | None, title: str) -> Figure:
    """The predictive distribution of the responders (successes coloured) and assurance by n.

    Parameters
    ----------
    predictive : pandas.DataFrame
        Columns ``responders``, ``probability``, ``success``.
    by_n : pandas.DataFrame or None
        Columns ``n_new``, ``assurance`` (and ``power_at_prior_mean``).
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ncols = 1 if by_n is None or len(by_n) < 2 else 2
    fig, axes = plt.subplots(1, ncols, figsize=(5.2 * ncols, 3.8), squeeze=False)
    ax = axes[0][0]
    colours = np.where(predictive["success"].to_numpy(dtype=bool), "C2", "0.7")
    ax.bar(predictive["responders"], predictive["probability"], color=colours, width=0.85)
    ax.set_xlabel("responders among the new patients (green: success)")
    ax.set_ylabel("predictive probability")
    if ncols == 2 and by_n is not None:
        ax = axes[0][1]
        ax.plot(by_n["n_new"], by_n["assurance"], "o-", label="assurance")
        if "power_at_prior_mean" in by_n:
            ax.plot(by_n["n_new"], by_n["power_at_prior_mean"], "s--",
                    label="power at the design prior's mean")
        ax.set_xlabel("patients of the new trial")
        ax.set_ylabel("probability of success")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def tte_plot(by_events: pd.DataFrame, events: pd.DataFrame | None, title: str) -> Figure:
    """Power and assurance by number of events; expected events over calendar time.

    Parameters
    ----------
    by_events : pandas.DataFrame
        Columns ``events``, ``power_at_design_hr``, ``assurance``.
    events : pandas.DataFrame or None
        Columns ``calendar_time``, ``events_total``.
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ncols = 1 if events is None else 2
    fig, axes = plt.subplots(1, ncols, figsize=(5.2 * ncols, 3.8), squeeze=False)
    ax = axes[0][0]
    ax.plot(by_events["events"], by_events["power_at_design_hr"], "s--", label="power")
    ax.plot(by_events["events"], by_events["assurance"], "o-", label="assurance")
    ax.set_xlabel("events at the analysis")
    ax.set_ylabel("probability of success")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8, frameon=False)
    if events is not None:
        ax = axes[0][1]
        ax.plot(events["calendar_time"], events["events_total"], "o-")
        ax.set_xlabel("calendar time")
        ax.set_ylabel("expected events")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
