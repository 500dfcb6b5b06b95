"""The tables of the several-factors page (``docs/analyses/subgroups_multifactor.md``).

Each function returns a :class:`pandas.DataFrame` of display strings, as the page shows
them, from the published margins (:func:`bayesblina.reconstruct.margins.published_margins`),
the spec (by default the packaged ``models/subgroups_multifactor.toml``) and the stored
tables of the full simulation validation
(:func:`bayesblina.analyses.multifactor.validation_tables.load_results`, written by
``scripts/validate_multifactor.py``). The docs render them with the ``bayesblina-table``
directive when they are built; nothing here samples.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from scipy import special

from bayesblina.analyses.multifactor.model import MultifactorModel
from bayesblina.analyses.multifactor.validation_tables import load_results
from bayesblina.core.load import load_named_spec, models_resolver
from bayesblina.core.spec import AnalysisSpec
from bayesblina.reconstruct.margins import LEVELS, published_margins

__all__ = [
    "MARGIN_FACTORS",
    "MULTIFACTOR_SPEC",
    "fixed_truth_table",
    "load_multifactor_spec",
    "margin_table",
    "prior_table",
    "sbc_table",
    "stored_results",
]

#: the page's spec
MULTIFACTOR_SPEC = "subgroups_multifactor"
#: the factors whose patient-level values are unknown (known only in margins)
MARGIN_FACTORS: tuple[str, ...] = ("age", "refractory")
_PHASES = ("pk_expansion", "phase_2")


def load_multifactor_spec(spec: str | Path = MULTIFACTOR_SPEC) -> AnalysisSpec:
    """Load a several-factors spec: a path, or the name of a packaged default spec.

    Parameters
    ----------
    spec : str or Path, default :data:`MULTIFACTOR_SPEC`

    Returns
    -------
    AnalysisSpec

    Raises
    ------
    SpecError
        If the file does not exist, fails validation or is not a
        ``subgroups_multifactor`` spec.
    """
    resolve = models_resolver([MultifactorModel], scope="the several-factors room")
    return load_named_spec(spec, resolve=resolve)


def margin_table(factors: tuple[str, ...] = MARGIN_FACTORS) -> pd.DataFrame:
    """The published margins of the factors known only in margins.

    Parameters
    ----------
    factors : tuple of str, default :data:`MARGIN_FACTORS`

    Returns
    -------
    pandas.DataFrame
        One row per factor: ``factor``, ``levels``, the counts per level in the PK
        expansion and in phase II (Fig 1, Table 1) and ``CR / patients (Fig 2)`` per level.
    """
    margins = published_margins()
    rows, pts = margins.rows, margins.patients
    n = {ph: int((pts["phase"] == ph).sum()) for ph in _PHASES}
    out = []
    for f in factors:
        row = {"factor": f, "levels": " / ".join(LEVELS[f])}
        for ph, head in zip(_PHASES, ("PK expansion", "phase II"), strict=True):
            r = rows[(rows["margin"] == f"phase x {f}") & (rows["phase"] == ph)]
            row[f"{head} (n = {n[ph]})"] = " / ".join(
                str(int(r[r["level"] == lv]["count"].iat[0])) for lv in LEVELS[f])
        c = rows[rows["margin"] == f"cr x {f}"]
        crs = []
        for lv in LEVELS[f]:
            x = int(c[(c["level"] == lv) & (c["cr"] == "1")]["count"].iat[0])
            m = x + int(c[(c["level"] == lv) & (c["cr"] == "0")]["count"].iat[0])
            crs.append(f"{x}/{m}")
        row["CR / patients (Fig 2)"] = " / ".join(crs)
        out.append(row)
    return pd.DataFrame(out)


def prior_table(spec: str | Path = MULTIFACTOR_SPEC) -> pd.DataFrame:
    """The spec's prior sets and the prior SD of an adjusted log odds ratio.

    A contrast of two levels is τ_F (z_a − z_b); for a half-normal(σ_τ) its prior SD is
    √(2 E[τ_F²]) = √2 σ_τ.

    Parameters
    ----------
    spec : str or Path, default :data:`MULTIFACTOR_SPEC`

    Returns
    -------
    pandas.DataFrame
        One row per prior set: ``prior set``, ``μ`` (with the CR rate of its mean),
        ``τ_F (each factor)`` and ``prior SD of an adjusted log OR, √2 σ_τ``.

    Raises
    ------
    ValueError
        If a prior on μ is not normal or a prior on τ not half-normal.
    """
    out = []
    for name, p in load_multifactor_spec(spec).priors.items():
        mu, tau = p.mu, p.tau
        if mu.family != "normal" or tau.family != "half_normal":
            raise ValueError(f"prior set {name!r}: expected a normal μ and a half-normal τ, "
                             f"got {mu.family} and {tau.family}")
        out.append({
            "prior set": name,
            "μ": f"N({mu.mu:g}, {mu.sigma:g}²) (logit {special.expit(mu.mu):.2g})",
            "τ_F (each factor)": f"half-normal({tau.sigma:g})",
            "prior SD of an adjusted log OR, √2 σ_τ": f"{math.sqrt(2) * tau.sigma:.2f}",
        })
    return pd.DataFrame(out)


def stored_results(name: str) -> pd.DataFrame:
    """A stored table of the full validation run, or an error saying how to make it.

    Parameters
    ----------
    name : str
        ``sbc``, ``sbc_checks`` or ``fixed_truth``.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    FileNotFoundError
        If the validation has not been run in this installation.
    """
    table = load_results(name)
    if table is None:
        raise FileNotFoundError(f"no stored multifactor_{name}.csv: run "
                                "scripts/validate_multifactor.py")
    return table


def sbc_table() -> pd.DataFrame:
    """The simulation-based calibration per contrast, and pooled, from the stored run.

    Returns
    -------
    pandas.DataFrame
        ``contrast``, ``replications``, ``90% coverage``, ``chi-square (9 df)`` and
        ``p-value`` (the rank-histogram test; empty for the pooled row).
    """
    out = []
    for _, r in stored_results("sbc_checks").iterrows():
        pooled = r["contrast"] == "pooled"
        out.append({
            "contrast": r["contrast"],
            "replications": str(int(r["replications"])),
            "90% coverage": f"{r['coverage90']:.3f}",
            "chi-square (9 df)": "" if pooled else f"{r['chi2']:.1f}",
            "p-value": "" if pooled else f"{r['p_value']:.3f}",
        })
    return pd.DataFrame(out)


def fixed_truth_table() -> pd.DataFrame:
    """The fixed-truth study from the stored run: bias, coverage and SD ratio per contrast.

    Returns
    -------
    pandas.DataFrame
        ``truth``, ``contrast``, ``true log OR``, ``mean estimate``, ``90% coverage`` and
        ``posterior / prior SD``.
    """
    fixed = stored_results("fixed_truth")
    return pd.DataFrame({
        "truth": fixed["truth"].astype(str),
        "contrast": fixed["contrast"].astype(str),
        "true log OR": [f"{v:.2f}" for v in fixed["true_value"]],
        "mean estimate": [f"{v:.2f}" for v in fixed["mean_estimate"]],
        "90% coverage": [f"{v:.2f}" for v in fixed["coverage90"]],
        "posterior / prior SD": [f"{v:.2f}" for v in fixed["sd_ratio"]],
    })
