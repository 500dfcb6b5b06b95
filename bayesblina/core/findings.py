"""Key findings: one row per question, the paper's answer beside the posterior's.

A room's ``findings(result)`` (:class:`bayesblina.core.components.Components`) returns
:class:`Finding` rows; the report opens with them. The helpers here format what every room
needs: an estimate with its interval, and the range of an estimate across prior sets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from bayesblina.core.fit import AnalysisResult

#: the text of a cell with nothing to show
NONE = "–"


@dataclass(frozen=True)
class Finding:
    """One row of the key findings table.

    Parameters
    ----------
    question : str
        What is asked, in a few words (the analysis's title or an element of it).
    published : str
        The paper's (frequentist) result; ``"–"`` where it printed none.
    posterior : str
        The posterior summary under the spec's default (first) prior set.
    other_priors : str
        The range of the same summary across the other prior sets; ``"–"`` with one.
    sentence : str
        One sentence generated from the numbers.
    """

    question: str
    published: str
    posterior: str
    other_priors: str
    sentence: str


def published_cell(row: pd.Series | dict) -> str:
    """The published percentage with its CI, e.g. ``"39 (27–51)"``.

    Just the percentage (``"6"``) where the paper prints no CI, and ``"–"`` where it
    prints no percentage.
    """
    pct = row.get("published_pct")
    if pct is None or pd.isna(pct):
        return NONE
    lo, hi = row.get("published_ci_low"), row.get("published_ci_high")
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return f"{pct:g}"
    return f"{pct:g} ({lo:g}–{hi:g})"


def number(value: float, scale: float = 100.0, digits: int = 1) -> str:
    """A number scaled and rounded: ``number(0.3888)`` → ``"38.9"``."""
    return f"{scale * value:.{digits}f}"


def estimate(row: pd.Series | dict, unit: str = "%", scale: float = 100.0, digits: int = 1,
             prob: float = 0.95, centre: str = "mean") -> str:
    """``"38.9% (95% CrI 28.1–50.3)"``: the posterior mean (or median) and its interval."""
    lo, hi = number(row["eti_low"], scale, digits), number(row["eti_high"], scale, digits)
    dash = " to " if row["eti_low"] < 0 else "–"  # "−8.4–42.5" would read as a range of negatives
    return f"{number(row[centre], scale, digits)}{unit} ({100 * prob:g}% CrI {lo}{dash}{hi})"


def span(values: Iterable[float], unit: str = "%", scale: float = 100.0, digits: int = 1) -> str:
    """The range of values as text: ``"32.2–36.1%"`` (one value: itself; none: ``"–"``)."""
    vals = [float(v) for v in values if pd.notna(v)]
    if not vals:
        return NONE
    lo, hi = number(min(vals), scale, digits), number(max(vals), scale, digits)
    return f"{lo}{unit}" if lo == hi else f"{lo} to {hi}{unit}"


def published_text(row: pd.Series | dict) -> str:
    """The published percentage with its CI in words: ``"39% (95% CI 27–51)"``."""
    cell = published_cell(row)
    if cell == NONE:
        return NONE
    pct_text, _, ci = cell.partition(" (")
    return f"{pct_text}% (95% CI {ci}" if ci else f"{pct_text}%"


def by_prior(result: AnalysisResult, select: Callable[[pd.DataFrame], pd.DataFrame]
             ) -> tuple[pd.DataFrame | None, dict[str, pd.DataFrame]]:
    """The summary rows ``select`` picks: the default prior set's, and the others' by name.

    The default rows are ``None`` when its fit failed the gate (nothing is reported of it);
    the others hold only the prior sets that passed.
    """
    table = result.summary_table()
    if table.empty:
        return None, {}
    rows = {name: select(table[table["prior_set"] == name]) for name in result.passed_fits()}
    default = rows.pop(result.default_prior, None)
    return default, rows


def failed(result: AnalysisResult, question: str) -> Finding:
    """The row of an analysis whose default fit failed the gate: no numbers."""
    return Finding(question, NONE, "not reported: the fit failed the diagnostics gate", NONE,
                   f"The fit under the default prior ({result.prior_label(result.default_prior)})"
                   " did not pass the diagnostics gate, so nothing is reported of it.")


def others_text(result: AnalysisResult, names: Iterable[str]) -> str:
    """``"under 3 other prior sets (jeffreys, sceptical, enthusiastic)"``."""
    names = [result.prior_label(n) for n in names]
    return f"{len(names)} other prior set{'s' if len(names) != 1 else ''} ({', '.join(names)})"
