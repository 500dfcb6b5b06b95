"""The tables of the reproduction page (``docs/reproduction.md``), computed at build time.

Each function returns a :class:`pandas.DataFrame` of display strings (numbers rounded half
up to the decimals the page shows); the docs render them with the ``bayesblina-table``
directive, so the page shows what the package computes, not a pasted copy.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from bayesblina import data as loaders
from bayesblina.core.frequentist import clopper_pearson, round_half_up
from bayesblina.design.simon import design_for_sizes, simon_oc, simon_oc_table
from bayesblina.errors import DataError
from bayesblina.reproduce.published import reproduce_all

__all__ = ["ci_examples", "contradiction_rows", "design_candidates", "design_oc"]

#: (label, source, population or Fig 2 factor, quantity or level) of :func:`ci_examples`
CI_EXAMPLES: tuple[tuple[str, str, str, str], ...] = (
    ("all at 5/15 (Fig 2)", "Fig 2", "all", "all"),
    ("phase II (Table 2)", "Table 2", "phase_2", "cr"),
    ("< 2 years at 5/15 (Table 2)", "Table 2", "age_lt2", "cr"),
    ("0 previous relapses (Fig 2)", "Fig 2", "previous_relapses", "0"),
)

#: the (r1, r) pairs of :func:`design_candidates`: the chosen design and its neighbours
DESIGN_PAIRS: tuple[tuple[int, int], ...] = ((0, 8), (1, 8), (2, 8), (2, 7), (2, 9), (3, 8),
                                             (3, 7))


def _fixed(value: float, decimals: int) -> str:
    return f"{round_half_up(value, decimals):.{decimals}f}"


def _printed(pct: float, low: float, high: float, decimals: int) -> str:
    return f"{pct:.{decimals}f} ({low:.{decimals}f}–{high:.{decimals}f})"


def ci_examples() -> pd.DataFrame:
    """Printed percentages with exact CIs beside the exact Clopper–Pearson values.

    Returns
    -------
    pandas.DataFrame
        One row per entry of :data:`CI_EXAMPLES`, columns ``population``, ``CR / n``,
        ``printed % (95% CI)`` (as the paper prints it) and ``exact Clopper–Pearson, %``
        (recomputed, two decimals).

    Raises
    ------
    DataError
        If an example is not in the packaged data.
    """
    fig2 = loaders.load_subgroups()
    table2 = loaders.load_table2_proportions()
    rows = []
    for label, source, key, item in CI_EXAMPLES:
        if source == "Fig 2":
            hit = fig2[((fig2["factor"] == key) & (fig2["level"] == item)).to_numpy(dtype=bool)]
            x_col = "cr"
        else:
            hit = table2[((table2["population"] == key) & (table2["quantity"] == item))
                         .to_numpy(dtype=bool)]
            x_col = "x"
        if len(hit) != 1:
            raise DataError(f"ci_examples: no single {source} row for {key!r}, {item!r}")
        r = hit.iloc[0]
        x, n, dec = int(r[x_col]), int(r["n"]), int(r["decimals"])
        low, high = clopper_pearson(x, n)
        rows.append({
            "population": label,
            "CR / n": f"{x} / {n}",
            "printed % (95% CI)": _printed(r["published_pct"], r["published_ci_low"],
                                           r["published_ci_high"], dec),
            "exact Clopper–Pearson, %": (f"{_fixed(100 * x / n, 2)} ({_fixed(100 * low, 2)}–"
                                         f"{_fixed(100 * high, 2)})"),
        })
    return pd.DataFrame(rows)


def contradiction_rows() -> pd.DataFrame:
    """The printed numbers that do not follow from their own counts.

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`~bayesblina.reproduce.published.reproduce_all` with
        ``matches = False``: ``quantity``, ``printed`` and ``recomputed`` (at the printed
        decimals) and ``contradiction`` (its id in ``contradictions.toml``).
    """
    df = reproduce_all()
    bad = df[~df["matches"].to_numpy(dtype=bool)]
    return pd.DataFrame({
        "quantity": list(bad["quantity"]),
        "printed": [f"{v:.{d}f}" for v, d in zip(bad["published"], bad["decimals"], strict=True)],
        "recomputed": [f"{v:.{d}f}"
                       for v, d in zip(bad["reproduced"], bad["decimals"], strict=True)],
        "contradiction": [None if pd.isna(c) else str(c) for c in bad["contradiction_id"]],
    })


def design_candidates(pairs: Sequence[Sequence[int]] = DESIGN_PAIRS) -> pd.DataFrame:
    """Boundaries around the chosen phase II design, with their exact operating characteristics.

    Parameters
    ----------
    pairs : sequence of tuple of int
        The ``(r1, r)`` boundaries to show (default :data:`DESIGN_PAIRS`).

    Returns
    -------
    pandas.DataFrame
        Columns ``r1``, ``r``, ``type I error``, ``power``, ``PET(p0)``, ``EN(p0)`` and
        ``verdict`` (``feasible``, ``type I error too large``, ``power too low``, and for
        the design :func:`~bayesblina.design.simon.design_for_sizes` picks ``feasible,
        smallest EN: chosen``), for the published sizes and hypotheses of
        ``phase2_design.toml``.
    """
    spec = loaders.load_phase2_design()
    chosen = design_for_sizes(spec.n1, spec.n, spec.p0, spec.p1, spec.alpha_one_sided,
                              spec.power)
    rows = []
    for r1, r in pairs:
        at_p0 = simon_oc(spec.n1, int(r1), spec.n, int(r), spec.p0)
        at_p1 = simon_oc(spec.n1, int(r1), spec.n, int(r), spec.p1)
        alpha_ok = at_p0.reject_prob <= spec.alpha_one_sided
        power_ok = at_p1.reject_prob >= spec.power
        if (int(r1), int(r)) == (chosen.r1, chosen.r):
            verdict = "feasible, smallest EN: chosen"
        elif alpha_ok and power_ok:
            verdict = "feasible"
        elif not alpha_ok:
            verdict = "type I error too large"
        else:
            verdict = "power too low"
        rows.append({
            "r1": str(r1),
            "r": str(r),
            "type I error": _fixed(at_p0.reject_prob, 4),
            "power": _fixed(at_p1.reject_prob, 4),
            "PET(p0)": _fixed(at_p0.pet, 3),
            "EN(p0)": _fixed(at_p0.en, 1),
            "verdict": verdict,
        })
    return pd.DataFrame(rows)


def design_oc(ps: Sequence[float] = (0.05, 0.10, 0.20, 0.275, 0.32, 0.39)) -> pd.DataFrame:
    """Operating characteristics of the chosen phase II design over true CR rates.

    Parameters
    ----------
    ps : sequence of float
        True CR rates (columns of the table).

    Returns
    -------
    pandas.DataFrame
        Rows ``P(reject H0)`` (4 decimals), ``PET`` (3) and ``EN`` (1); first column
        ``true CR rate p``, then one column per rate.
    """
    spec = loaders.load_phase2_design()
    design = design_for_sizes(spec.n1, spec.n, spec.p0, spec.p1, spec.alpha_one_sided,
                              spec.power)
    oc = simon_oc_table(design, ps)
    out: dict[str, list[str]] = {"true CR rate p": ["P(reject H0)", "PET", "EN"]}
    for p, rej, pet, en in zip(oc["p"], oc["reject_prob"], oc["pet"], oc["en"], strict=True):
        out[f"{p:g}"] = [_fixed(rej, 4), _fixed(pet, 3), _fixed(en, 1)]
    return pd.DataFrame(out)
