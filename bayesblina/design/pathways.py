"""Dose-transition pathways: the dose a design gives after every outcome of the next cohorts.

:func:`transition_pathways` enumerates every number of DLTs (``0 .. cohort size``) of each
of the next ``n_cohorts`` cohorts after a history and records the design's decision after
each, deciding all paths of a step in one batched :meth:`decide` call (the trials' state
is built as from :meth:`Trials.from_history`, complete follow-up). A path ends where the
design stops. :func:`pathways_figure` draws the tree.

Pathways of this kind (Yap et al. 2017) show a trial team, before the trial, what the
design will do; crmPack users have asked for them (crmPack #265).

References
----------
.. [1] Yap C, Billingham LJ, Cheung YK, Craddock C, O'Quigley J. Dose transition pathways:
   the missing link between complex dose-finding designs and simple decision-making.
   Clin Cancer Res 2017;23(24):7440-7447.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayesblina.design.checks import check_int
from bayesblina.design.escalation_rules import EscalationDesign, Trials
from bayesblina.errors import SpecError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["pathways_figure", "transition_pathways"]


def _batch(histories: list[list[tuple[int, int, int]]], max_n: int, start: int) -> Trials:
    """Several complete-follow-up histories as one batch (the same number of columns)."""
    m = max([max_n, *(sum(c[1] for c in h) for h in histories)])
    one = [Trials.from_history(h, m, start_level=start) for h in histories]
    return Trials(
        np.concatenate([t.level for t in one]),
        np.concatenate([t.dlt for t in one]),
        np.concatenate([t.weight for t in one]),
        np.concatenate([t.current for t in one]),
    )


def transition_pathways(
    design: EscalationDesign, history: Sequence[tuple[int, int, int]] = (), n_cohorts: int = 2
) -> pd.DataFrame:
    """Every outcome of the next ``n_cohorts`` cohorts and the design's decision after each.

    Parameters
    ----------
    design : EscalationDesign
    history : sequence of (int, int, int), default ()
        Cohorts so far, ``(level, n_patients, n_dlt)``, complete follow-up.
    n_cohorts : int, default 2
        Cohorts ahead (>= 1).

    Returns
    -------
    pandas.DataFrame
        One row per path (in order of DLT counts, a path that stops early has missing
        later cohorts): ``path`` (``"0,1"``: DLTs of each cohort); for each cohort
        ``i = 1 .. n_cohorts``: ``level_i`` (0-based level of the cohort), ``n_i``
        (patients), ``dlt_i`` (DLTs), ``next_i`` (the level the design gives next, -1 when
        it stops), ``stop_i``, ``reason_i``, ``selected_i``; and ``stop`` (the path ends
        with a stop), ``reason`` and ``selected`` (the last decision's). Levels of absent
        cohorts are -1 and their counts 0 (``reason_i`` ``""``).

    Raises
    ------
    SpecError
        A malformed history, ``n_cohorts < 1``, or a history after which the design has
        already stopped.

    Examples
    --------
    >>> from bayesblina.design.escalation_rules import ThreePlusThree
    >>> transition_pathways(ThreePlusThree(4), n_cohorts=1)[["dlt_1", "next_1"]].values.tolist()
    [[0, 1], [1, 0], [2, -1], [3, -1]]
    """
    n_cohorts = check_int("n_cohorts", n_cohorts, 1)
    if not isinstance(design, EscalationDesign):
        raise SpecError(f"design = {design!r} is invalid: it must be an escalation design")
    base = [tuple(c) for c in history]
    first = design.next_dose(base)  # also checks the history
    if first["stop"]:
        raise SpecError(
            f"history = {list(history)!r}: the design has already stopped "
            f"({first['reason']}, selected level {first['selected']}); nothing to enumerate"
        )
    cs, max_n = design.cohort_size, design.max_n
    # one open path per entry: (cohorts added, level of the next cohort)
    open_paths: list[tuple[list[tuple[int, int, int]], int]] = [([], first["next_level"])]
    rows: list[dict] = []
    enrolled0 = sum(c[1] for c in base)
    for step in range(1, n_cohorts + 1):
        size = min(cs, max_n - enrolled0 - (step - 1) * cs)
        if size <= 0 or not open_paths:
            break
        children = [([*added, (lv, size, y)], added) for added, lv in open_paths
                    for y in range(size + 1)]
        dec = design.decide(_batch([base + c for c, _ in children], max_n,
                                   design.start_level))
        open_paths = []
        for i, (added, _) in enumerate(children):
            row = dec.row(i)
            rows.append({"added": added, **row})
            if not row["stop"]:
                open_paths.append((added, row["next_level"]))
    # keep only the leaves: paths that stopped, or that reached n_cohorts (or max_n)
    depth = {len(r["added"]) for r in rows}
    top = max(depth)
    leaves = [r for r in rows if r["stop"] or len(r["added"]) == top]
    by_prefix = {tuple(r["added"]): r for r in rows}
    out = []
    for leaf in leaves:
        added = leaf["added"]
        rec: dict = {"path": ",".join(str(c[2]) for c in added)}
        for i in range(1, n_cohorts + 1):
            if i <= len(added):
                r = by_prefix[tuple(added[:i])]
                lv, n, y = added[i - 1]
                rec.update({f"level_{i}": lv, f"n_{i}": n, f"dlt_{i}": y,
                            f"next_{i}": r["next_level"], f"stop_{i}": r["stop"],
                            f"reason_{i}": r["reason"], f"selected_{i}": r["selected"]})
            else:
                rec.update({f"level_{i}": -1, f"n_{i}": 0, f"dlt_{i}": 0, f"next_{i}": -1,
                            f"stop_{i}": True, f"reason_{i}": "", f"selected_{i}": -1})
        rec.update({"stop": leaf["stop"], "reason": leaf["reason"],
                    "selected": leaf["selected"]})
        out.append(rec)
    # order of DLT counts, cohort by cohort (a stopped path before its would-be children)
    out.sort(key=lambda r: _sort_key(r, n_cohorts))
    return pd.DataFrame(out)


def _sort_key(rec: dict, n_cohorts: int) -> list[int]:
    """DLTs of each cohort of a pathway row, -1 for an absent cohort (sort order)."""
    return [rec[f"dlt_{i}"] if rec[f"n_{i}"] else -1 for i in range(1, n_cohorts + 1)]


def pathways_figure(paths: pd.DataFrame, *, title: str = "Dose-transition pathways",
                    labels: Sequence[str] | None = None) -> Figure:
    """The pathways as a tree: a node per decision, an edge per number of DLTs.

    Parameters
    ----------
    paths : pandas.DataFrame
        :func:`transition_pathways`.
    title : str, optional
    labels : sequence of str, optional
        The levels' names (a dose, a regimen); default ``level 0``, ``level 1``, ...

    Returns
    -------
    matplotlib.figure.Figure
    """
    def name(level: int) -> str:
        return f"level {level}" if labels is None else str(labels[level])

    n_cohorts = sum(1 for c in paths.columns if c.startswith("level_"))
    n_leaves = len(paths)
    fig, ax = plt.subplots(figsize=(2.6 * (n_cohorts + 1), max(2.5, 0.32 * n_leaves + 1)))
    # y of a leaf: its row; an inner node: the mean y of its leaves
    nodes: dict[tuple, list[float]] = {}
    text: dict[tuple, str] = {}
    for y_pos, rec in enumerate(paths.to_dict("records")):
        key: tuple = ()
        nodes.setdefault(key, []).append(-y_pos)
        text[key] = name(rec["level_1"])
        for i in range(1, n_cohorts + 1):
            if not rec[f"n_{i}"]:
                break
            key = (*key, rec[f"dlt_{i}"])
            nodes.setdefault(key, []).append(-y_pos)
            nxt = rec[f"next_{i}"]
            sel = rec[f"selected_{i}"]
            text[key] = (f"stop: {rec[f'reason_{i}']}\n"
                         + (f"MTD {name(sel)}" if sel >= 0 else "no MTD")
                         if rec[f"stop_{i}"] else name(nxt))
    ypos = {k: float(np.mean(v)) for k, v in nodes.items()}
    for key, y in ypos.items():
        x = len(key)
        if key:
            parent = key[:-1]
            ax.plot([x - 1, x], [ypos[parent], y], color="0.6", lw=0.8, zorder=1)
            ax.annotate(f"{key[-1]} DLT", ((x - 0.5), (ypos[parent] + y) / 2), fontsize=7,
                        ha="center", va="bottom", color="0.3")
        stop = text[key].startswith("stop")
        ax.text(x, y, text[key], fontsize=7, ha="center", va="center", zorder=2,
                bbox={"boxstyle": "round", "fc": "mistyrose" if stop else "aliceblue",
                      "ec": "0.5"})
    ax.set_xlim(-0.5, n_cohorts + 0.6)
    ax.set_xticks(range(n_cohorts + 1), ["now", *(f"after cohort {i}"
                                                   for i in range(1, n_cohorts + 1))])
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
