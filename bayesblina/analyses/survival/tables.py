"""The tables of the survival page (``docs/analyses/survival.md``), computed at build time.

Each function returns a :class:`pandas.DataFrame` of display strings, as the page shows
them, from the packaged data, :mod:`bayesblina.reconstruct.pseudo_ipd` and the survival
specs (by default the packaged ``models/survival_*.toml``); the docs render them with the
``bayesblina-table`` directive, so the page cannot drift from the code. Nothing here
samples: the reconstructions are the seeded rejection sampler the specs use (no MCMC),
and what the priors imply comes from exact quantiles or deterministic quantile grids.

The posterior results of the page come from an MCMC run and are not here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesblina.analyses.survival.model import SurvivalModel
from bayesblina.core.load import load_named_spec, models_resolver
from bayesblina.core.spec import AnalysisSpec
from bayesblina.data import load_survival_summaries
from bayesblina.errors import SpecError
from bayesblina.reconstruct.pseudo_ipd import (
    assumptions_table,
    check_reconstruction,
    reconstruct_with_diagnostics,
)

__all__ = [
    "GRID_SIZE",
    "SURVIVAL_SPECS",
    "assumption_table",
    "implied_prior_table",
    "load_survival_spec",
    "prior_grid",
    "prior_table",
    "prior_text",
    "prob_text",
    "published_table",
    "reconstruction_table",
    "run_settings_table",
    "sig_text",
]

#: the default specs of this room's page
SURVIVAL_SPECS: tuple[str, ...] = ("survival_os", "survival_rfs", "survival_rfs_mrd",
                                   "survival_rfs_mrd_ph")
#: cells per prior of the deterministic quantile grids of :func:`implied_prior_table`
GRID_SIZE = 1000


def load_survival_spec(spec: str | Path) -> AnalysisSpec:
    """Load a survival spec: a path, or the name of a packaged default spec.

    Parameters
    ----------
    spec : str or Path
        A ``.toml`` file, or a bare name such as ``"survival_os"`` (the packaged
        ``models/survival_os.toml``).

    Returns
    -------
    AnalysisSpec

    Raises
    ------
    SpecError
        If the file does not exist, fails validation or is not a ``survival`` spec.
    """
    resolve = models_resolver([SurvivalModel], scope="the survival room")
    return load_named_spec(spec, resolve=resolve)


def _specs(specs: Sequence[str | Path]) -> dict[str, AnalysisSpec]:
    return {Path(s).stem: load_survival_spec(s) for s in specs}


def prob_text(value: float) -> str:
    """A probability: three decimals, ``> 0.999`` and ``< 0.001`` at the ends."""
    if value > 0.999:
        return "> 0.999"
    if value < 0.001:
        return "< 0.001"
    return f"{value:.3f}"


def sig_text(value: float) -> str:
    """A positive number to two significant digits, never in exponent notation."""
    return np.format_float_positional(value, precision=2, unique=False, fractional=False,
                                      trim="-")


def prior_text(prior: Any) -> str:
    """A prior of a survival spec: ``N(mu, sigma²)``, ``half-normal(sigma)`` or its family."""
    if prior.family == "normal":
        return f"N({prior.mu:g}, {prior.sigma:g}²)"
    if prior.family == "half_normal":
        return f"half-normal({prior.sigma:g})"
    return str(prior.family)


def prior_grid(prior: Any, size: int = GRID_SIZE) -> np.ndarray:
    """The midpoints of ``size`` equal-probability cells of a normal or half-normal prior.

    Raises
    ------
    SpecError
        For another family (no grid is defined for it).
    """
    u = (np.arange(size) + 0.5) / size
    if prior.family == "normal":
        return stats.norm(prior.mu, prior.sigma).ppf(u)
    if prior.family == "half_normal":
        return stats.halfnorm(scale=prior.sigma).ppf(u)
    raise SpecError(f"no quantile grid for prior family {prior.family!r}; "
                    "allowed: ['half_normal', 'normal']")


def published_table() -> pd.DataFrame:
    """The printed Kaplan–Meier summaries of OS and RFS (``survival_summaries.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per curve: ``end point``, ``population``, ``patients``, ``KM median,
        months (95% CI)``, ``landmark`` (``42% at 6 months`` or ``—``), ``median
        follow-up, months`` and ``source``.
    """
    summ = load_survival_summaries()
    rows = []
    for _, r in summ[summ["endpoint"].isin(["os", "rfs"])].iterrows():
        landmark = ("—" if pd.isna(r["landmark_pct"])
                    else f"{r['landmark_pct']:g}% at {r['landmark_time']:g} months")
        fu = "—" if pd.isna(r["median_followup_months"]) else f"{r['median_followup_months']:g}"
        rows.append({
            "end point": r["endpoint"].upper(),
            "population": r["population"],
            "patients": f"{r['n']}",
            "KM median, months (95% CI)": (f"{r['median_months']:.1f} ({r['ci_low']:.1f} to "
                                           f"{r['ci_high']:.1f})"),
            "landmark": landmark,
            "median follow-up, months": fu,
            "source": r["source"],
        })
    return pd.DataFrame(rows)


def assumption_table() -> pd.DataFrame:
    """Every assumption of the reconstruction, as the page shows it.

    The rows of :func:`~bayesblina.reconstruct.pseudo_ipd.assumptions_table`, columns renamed.

    Returns
    -------
    pandas.DataFrame
        Columns ``key``, ``end points``, ``topic``, ``assumption``.
    """
    table = assumptions_table()
    return pd.DataFrame({"key": table["key"], "end points": table["endpoints"],
                         "topic": table["topic"], "assumption": table["text"]})


def reconstruction_table(specs: Sequence[str | Path] = SURVIVAL_SPECS) -> pd.DataFrame:
    """The reconstructions each spec fits, checked against the published numbers.

    Specs with the same ``(endpoint, reconstructions, seed)`` share one row set. Each
    spec's ``[data]`` is reconstructed as the spec does it
    (:func:`~bayesblina.reconstruct.pseudo_ipd.reconstruct_with_diagnostics`, seeded) and
    every reconstruction is checked with
    :func:`~bayesblina.reconstruct.pseudo_ipd.check_reconstruction`.

    Parameters
    ----------
    specs : sequence of str or Path, default :data:`SURVIVAL_SPECS`
        Survival specs (see :func:`load_survival_spec`).

    Returns
    -------
    pandas.DataFrame
        One row per (end point, population): ``end point``, ``population``,
        ``reconstructions`` (``10 (seed 20161003)``), ``candidates generated``, ``published
        median``, ``KM medians of the reconstructions`` (range), ``published 6-month RFS
        %``, ``6-month RFS % of the reconstructions`` (range), ``events`` (range) and
        ``every criterion met`` (``yes`` or ``no``).
    """
    rows = []
    done: set[tuple[str, int, int]] = set()
    for spec in _specs(specs).values():
        d = spec.data
        key = (d.endpoint, d.reconstructions, d.seed)
        if key in done:
            continue
        done.add(key)
        rec = reconstruct_with_diagnostics(d.endpoint, d.reconstructions, d.seed)
        checks = pd.concat([check_reconstruction(d.endpoint, df).assign(k=k)
                            for k, df in enumerate(rec.draws)], ignore_index=True)
        for pop, c in checks.groupby("population", sort=False):

            def span(quantity: str, fmt: str, c: pd.DataFrame = c) -> str:
                v = c.loc[c["quantity"] == quantity, "reconstructed"]
                if not len(v):
                    return "—"
                lo, hi = f"{v.min():{fmt}}", f"{v.max():{fmt}}"
                return lo if lo == hi else f"{lo} to {hi}"

            published = c.loc[c["quantity"] == "median", "published"].iloc[0]
            landmark = c.loc[c["quantity"] == "rfs_6_months_pct", "published"]
            ok = bool(c.loc[c["criterion"], "within_tolerance"].all())
            rows.append({
                "end point": d.endpoint,
                "population": pop,
                "reconstructions": f"{d.reconstructions} (seed {d.seed})",
                "candidates generated": f"{rec.candidates}",
                "published median": f"{published:g}",
                "KM medians of the reconstructions": span("median", ".2f"),
                "published 6-month RFS %": f"{landmark.iloc[0]:g}" if len(landmark) else "—",
                "6-month RFS % of the reconstructions": span("rfs_6_months_pct", ".1f"),
                "events": span("events", ".0f"),
                "every criterion met": "yes" if ok else "no",
            })
    return pd.DataFrame(rows)


def run_settings_table(specs: Sequence[str | Path] = SURVIVAL_SPECS) -> pd.DataFrame:
    """The reconstruction and sampler settings of each spec.

    Parameters
    ----------
    specs : sequence of str or Path, default :data:`SURVIVAL_SPECS`
        Survival specs (see :func:`load_survival_spec`).

    Returns
    -------
    pandas.DataFrame
        One row per spec: ``spec``, ``end point``, ``reconstructions``, ``reconstruction
        seed``, ``chains``, ``draws``, ``warm-up`` and ``sampler seed``.
    """
    rows = []
    for name, spec in _specs(specs).items():
        d, s = spec.data, spec.sampler
        rows.append({"spec": name, "end point": d.endpoint,
                     "reconstructions": f"{d.reconstructions}",
                     "reconstruction seed": f"{d.seed}", "chains": f"{s.chains}",
                     "draws": f"{s.draws}", "warm-up": f"{s.tune}",
                     "sampler seed": f"{s.seed}"})
    return pd.DataFrame(rows)


def _lognormal(prior: Any) -> Any:
    """The exponential of a normal prior, exactly: a frozen lognormal."""
    return stats.lognorm(s=prior.sigma, scale=np.exp(prior.mu))


def _weibull_prior(spec: AnalysisSpec, pri: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The grid of (λ, ρ) of the prior: ``GRID_SIZE × GRID_SIZE`` equally weighted cells."""
    scale = prior_grid(pri["log_scale"])[:, None]
    shape = prior_grid(pri["shape"])[None, :]
    log_lambda = scale if spec.options.scale_prior == "log_lambda" else -scale / shape
    return np.exp(log_lambda) * np.ones_like(shape), shape


def prior_table(specs: Sequence[str | Path] = SURVIVAL_SPECS) -> pd.DataFrame:
    """What the priors of each spec say about the Weibull's parameters.

    Parameters
    ----------
    specs : sequence of str or Path, default :data:`SURVIVAL_SPECS`
        Survival specs (see :func:`load_survival_spec`).

    Returns
    -------
    pandas.DataFrame
        One row per (spec, prior set): ``spec``, ``prior set``, the priors ``log λ``,
        ``ρ`` and ``effect`` (``—`` without a covariate), the 95% prior interval of λ
        (exact lognormal quantiles when the prior is on log λ, else on the quantile grid
        of :func:`prior_grid`) and of ρ (exact), and the prior ``P(ρ < 1)``; two
        significant digits.
    """
    rows = []
    for name, spec in _specs(specs).items():
        for set_name, prior_set in spec.priors.items():
            pri = prior_set.parameter_priors()
            if spec.options.scale_prior == "log_lambda":  # lambda is lognormal: exact
                lo, hi = _lognormal(pri["log_scale"]).ppf([0.025, 0.975])
            else:
                lam, _ = _weibull_prior(spec, pri)
                lo, hi = np.quantile(lam, [0.025, 0.975])
            rho = stats.halfnorm(scale=pri["shape"].sigma)
            rho_lo, rho_hi = rho.ppf([0.025, 0.975])
            rows.append({
                "spec": name, "prior set": set_name,
                "log λ": prior_text(pri["log_scale"]), "ρ": prior_text(pri["shape"]),
                "effect (β₁ for AFT, γ for PH)": (prior_text(pri["effect"]) if "effect" in pri
                                                 else "—"),
                "λ: 95% prior interval (months)": f"{sig_text(lo)} to {sig_text(hi)}",
                "ρ: 95% prior interval": f"{sig_text(rho_lo)} to {sig_text(rho_hi)}",
                "prior P(ρ < 1)": f"{rho.cdf(1.0):.2f}",
            })
    return pd.DataFrame(rows)


def _interval(x: Any, fmt: Callable[[float], str]) -> str:
    """Median (95% interval): of grid values, or of a frozen scipy distribution."""
    qs = [0.025, 0.5, 0.975]
    lo, mid, hi = x.ppf(qs) if hasattr(x, "ppf") else np.quantile(x, qs)
    return f"{fmt(mid)} ({fmt(lo)} to {fmt(hi)})"


def implied_prior_table(specs: Sequence[str | Path] = SURVIVAL_SPECS) -> pd.DataFrame:
    """What the priors imply for the reported quantities, without data.

    A quantity of two parameters is computed on the deterministic grid of
    ``GRID_SIZE × GRID_SIZE`` equal-probability cells of their priors (every cell weighted
    equally); the acceleration factor of an AFT spec and the hazard ratio of a PH spec are
    exact lognormals.

    Parameters
    ----------
    specs : sequence of str or Path, default :data:`SURVIVAL_SPECS`
        Survival specs (see :func:`load_survival_spec`).

    Returns
    -------
    pandas.DataFrame
        One row per (spec, prior set): ``spec``, ``prior set``, the prior median (95%
        interval) of the ``median survival, months (baseline group)`` and of ``S(12)``,
        and with a covariate of the ``acceleration factor`` and the ``hazard ratio``
        (``—`` without); two significant digits, three decimals for S(12).
    """
    rows = []
    for name, spec in _specs(specs).items():
        for set_name, prior_set in spec.priors.items():
            pri = prior_set.parameter_priors()
            lam, shape = _weibull_prior(spec, pri)
            median = lam * np.log(2) ** (1 / shape)
            s12 = np.exp(-((12 / lam) ** shape))
            af = hr = "—"
            if "effect" in pri:
                eff = prior_grid(pri["effect"])[:, None]
                if spec.options.form == "aft":  # AF = exp(b1) exactly lognormal, HR = exp(-rho b1)
                    af_x, hr_x = _lognormal(pri["effect"]), np.exp(-shape * eff)
                else:  # HR = exp(g) exactly lognormal, AF = exp(-g / rho)
                    with np.errstate(over="ignore"):
                        af_x, hr_x = np.exp(-eff / shape), _lognormal(pri["effect"])
                af, hr = _interval(af_x, sig_text), _interval(hr_x, sig_text)
            rows.append({
                "spec": name, "prior set": set_name,
                "median survival, months (baseline group)": _interval(median, sig_text),
                "S(12)": _interval(s12, prob_text),
                "acceleration factor": af, "hazard ratio": hr,
            })
    return pd.DataFrame(rows)
