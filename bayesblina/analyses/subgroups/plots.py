"""Shrinkage forest plot of subgroup CR rates, in the style of Fig 2 of the paper."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:
    import arviz as az
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _interval(draws: np.ndarray, ci_prob: float) -> tuple[float, float, float]:
    lo, hi = np.quantile(draws, [(1 - ci_prob) / 2, 1 - (1 - ci_prob) / 2])
    return float(draws.mean()), float(lo), float(hi)


def _wrap(label: str, width: int = 14) -> str:
    """A level name broken into lines of at most ``width`` characters (at spaces)."""
    return textwrap.fill(label, width, break_long_words=False) or label


def _blocks(ax: Axes, labels: list[str], rows: int, gap: float) -> list[float]:
    """Y position of each block's first row (top to bottom), with separators and labels."""
    tops = [-i * (rows + gap) for i in range(len(labels))]
    ax.set_yticks([t - (rows - 1) / 2 for t in tops], labels)
    for t in tops[1:]:
        ax.axhline(t + gap / 2 + 0.5, color="0.85", lw=0.8)
    ax.set_ylim(tops[-1] - rows + 0.4, 0.9)
    ax.tick_params(axis="y", length=0)
    return tops


def plot_subgroup_forest(
    results: dict[str, az.InferenceData],
    reference: pd.DataFrame,
    *,
    title: str | None = None,
    ci_prob: float = 0.95,
    contrast_levels: dict[str, tuple[str, str]] | None = None,
    pooled: tuple[int, int] | None = None,
) -> Figure:
    """CR rate per level: observed with exact CI, then each fit's posterior mean and interval.

    A second panel (when a fit has the Deterministic ``difference``) shows each contrast
    p(a) - p(b): the observed difference, each fit's posterior mean and interval, and
    P(difference > 0).

    Parameters
    ----------
    results : dict of str to InferenceData
        Fits by label (prior sets, other poolings); each has ``p`` with dim ``subgroup``.
    reference : pandas.DataFrame
        One row per level: ``population, label, x, n, observed, cp_low, cp_high``.
    title : str, optional
        Figure title.
    ci_prob : float
        Mass of the posterior equal-tailed intervals.
    contrast_levels : dict of str to (str, str), optional
        The levels (a, b) of each contrast label, to draw the observed difference.
    pooled : (int, int), optional
        CRs and patients of the whole population (default: the sum over the levels, right
        when the levels partition one population).

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = list(results)
    k = len(names)
    colors = {name: f"C{i % 10}" for i, name in enumerate(names)}
    contrasts: list[str] = []
    for idata in results.values():
        if "difference" in idata.posterior:
            for c in idata.posterior["difference"].coords["contrast"].values:
                if str(c) not in contrasts:
                    contrasts.append(str(c))
    rows, gap = k + 1, 0.8
    n_levels = len(reference)
    height = 1.9 + 0.2 * max(n_levels, 2 * len(contrasts)) * rows + 0.22 * k
    fig = plt.figure(figsize=(12.5 if contrasts else 8.0, max(4.0, height)))
    grid = fig.add_gridspec(1, 2, width_ratios=[3, 2], wspace=0.45) if contrasts else (
        fig.add_gridspec(1, 1))
    ax = fig.add_subplot(grid[0])

    # long level names on two lines, so that they fit the left margin
    labels = [f"{_wrap(str(r['label']))}\n{int(r['x'])}/{int(r['n'])} "
              f"({100 * r['observed']:.1f}%)" for _, r in reference.iterrows()]
    tops = _blocks(ax, labels, rows, gap)
    total_x, total_n = pooled or (int(reference["x"].sum()), int(reference["n"].sum()))
    ax.axvline(100 * total_x / total_n, ls="--", lw=0.9, color="0.4",
               label=f"all levels pooled: {total_x}/{total_n} ({100 * total_x / total_n:.1f}%)")
    for top, (_, r) in zip(tops, reference.iterrows(), strict=True):
        obs = 100 * r["observed"]
        ax.errorbar(obs, top, xerr=[[obs - 100 * r["cp_low"]], [100 * r["cp_high"] - obs]],
                    fmt="s", color="k", ms=5, capsize=3, lw=1.4,
                    label="observed, exact 95% CI" if top == 0 else None)
        for i, name in enumerate(names):
            draws = results[name].posterior["p"].sel(subgroup=r["population"]).values.ravel()
            m, lo, hi = _interval(100 * draws, ci_prob)
            ax.errorbar(m, top - 1 - i, xerr=[[m - lo], [hi - m]], fmt="o", ms=4.5,
                        color=colors[name], capsize=2, lw=1.4,
                        label=f"{name}: mean, {100 * ci_prob:g}% CrI" if top == 0 else None)
    ax.set_xlim(0, 100)
    ax.set_xlabel("CR within two cycles (%)")
    ax.grid(axis="x", color="0.92")
    ax.set_axisbelow(True)

    if contrasts:
        cx = fig.add_subplot(grid[1])
        ctops = _blocks(cx, [c.replace(" - ", "\n − ") for c in contrasts], rows, gap)
        ref = reference.set_index("population")
        cx.axvline(0.0, color="0.4", lw=0.9)
        span = 10.0
        for top, c in zip(ctops, contrasts, strict=True):
            a, b = (contrast_levels or {}).get(c, ("", ""))
            if a in ref.index and b in ref.index:
                raw = 100 * (ref.loc[a, "observed"] - ref.loc[b, "observed"])
                cx.plot(raw, top, "s", color="k", ms=5)
                span = max(span, abs(raw))
            for i, name in enumerate(names):
                post = results[name].posterior
                if "difference" not in post or c not in post["difference"].coords["contrast"]:
                    continue
                draws = post["difference"].sel(contrast=c).values.ravel()
                m, lo, hi = _interval(100 * draws, ci_prob)
                span = max(span, abs(lo), abs(hi))
                cx.errorbar(m, top - 1 - i, xerr=[[m - lo], [hi - m]], fmt="o", ms=4.5,
                            color=colors[name], capsize=2, lw=1.4)
                cx.annotate(f"P(>0) = {(draws > 0).mean():.2f}", (hi, top - 1 - i),
                            xytext=(4, 0), textcoords="offset points", va="center", fontsize=7.5)
        lim = 10 * np.ceil(span / 10) + 10
        cx.set_xlim(-lim, lim + 0.3 * lim)
        cx.set_xlabel("difference in CR rate (percentage points)")
        cx.set_title("contrasts p(a) − p(b); observed: black square", fontsize=9.5, loc="left")
        cx.grid(axis="x", color="0.92")
        cx.set_axisbelow(True)

    handles, leg_labels = ax.get_legend_handles_labels()
    legend_rows = len(leg_labels)
    bottom = (0.55 + 0.2 * legend_rows) / fig.get_figheight()
    fig.legend(handles, leg_labels, loc="lower center", ncol=1, fontsize=8.5, frameon=False)
    if title:
        fig.suptitle(title, fontsize=12)
    fig.subplots_adjust(left=0.17 if not contrasts else 0.11, right=0.97,
                        top=1 - 0.75 / fig.get_figheight(), bottom=bottom + 0.06)
    return fig
