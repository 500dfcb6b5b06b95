"""The tables of the one-factor subgroup page (``docs/analyses/subgroups.md``), at build time.

Each function returns a :class:`pandas.DataFrame` of display strings, as the page shows
them, from the packaged Fig 2 counts (:func:`bayesblina.data.load_subgroups`), the
subgroup specs (by default the packaged ``models/subgroups_*.toml``) and the room's exact
engines: the conjugate Beta posteriors of no and complete pooling and the quadrature of
partial pooling and EXNEX (:meth:`~bayesblina.analyses.subgroups.model.SubgroupModel.exact_table`).
The docs render them with the ``bayesblina-table`` directive, so the page cannot drift
from the code. Nothing here samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special, stats

from bayesblina.analyses.subgroups.data import contrast_label
from bayesblina.analyses.subgroups.exnex import ExnexModel
from bayesblina.analyses.subgroups.model import SubgroupModel, beta_difference_prob
from bayesblina.core.frequentist import clopper_pearson, percent, round_half_up
from bayesblina.core.load import load_named_spec, models_resolver
from bayesblina.core.priors import BetaPrior
from bayesblina.core.spec import AnalysisSpec
from bayesblina.data import load_subgroups

__all__ = [
    "EXNEX_SPEC",
    "FLAT_BETA",
    "SUBGROUP_SPECS",
    "contrast_table",
    "data_table",
    "exact_table",
    "exnex_table",
    "load_subgroup_spec",
    "marginal_logit_quantiles",
    "mean_sd",
    "pct",
    "prior_table",
    "settings_table",
    "tau_prior_means",
    "tau_table",
]

#: the default specs of the page: six one-factor partial-pooling fits and the EXNEX fit
SUBGROUP_SPECS: tuple[str, ...] = (
    "subgroups_age", "subgroups_marrow_blasts", "subgroups_refractory",
    "subgroups_previous_hsct", "subgroups_previous_relapses", "subgroups_region",
    "subgroups_age_exnex",
)
#: the page's EXNEX spec
EXNEX_SPEC = "subgroups_age_exnex"
#: the Beta prior of no and complete pooling in :func:`exact_table` and :func:`contrast_table`
#: (the uniform prior of the specs' ``compare_priors``)
FLAT_BETA: tuple[float, float] = (1.0, 1.0)

_MODELS = {"subgroups": SubgroupModel, "exnex": ExnexModel}


def load_subgroup_spec(spec: str | Path) -> AnalysisSpec:
    """Load a one-factor subgroup spec: a path, or the name of a packaged default spec.

    Parameters
    ----------
    spec : str or Path
        A ``.toml`` file, or a bare name such as ``"subgroups_age"`` (the packaged
        ``models/subgroups_age.toml``).

    Returns
    -------
    AnalysisSpec

    Raises
    ------
    SpecError
        If the file does not exist, fails validation or is not a ``subgroups`` or
        ``exnex`` spec.
    """
    resolve = models_resolver(_MODELS.values(), scope="the subgroups room")
    return load_named_spec(spec, resolve=resolve)


def _specs(specs: Sequence[str | Path]) -> dict[str, AnalysisSpec]:
    return {Path(s).stem: load_subgroup_spec(s) for s in specs}


def pct(value: float) -> str:
    """A proportion as a percentage with one decimal, rounded half up (as the paper prints)."""
    return f"{round_half_up(100 * value, 1):.1f}"


def mean_sd(mean: float, sd: float) -> str:
    """A posterior mean with its SD: ``0.467 (0.120)``."""
    return f"{mean:.3f} ({sd:.3f})"


def data_table() -> pd.DataFrame:
    """The Fig 2 counts with the recomputed exact 95% CI beside the published values.

    Returns
    -------
    pandas.DataFrame
        One row per level (the order of Fig 2): ``factor``, ``level``, ``CR / patients``,
        ``observed %``, ``exact 95% CI, % (recomputed)`` (Clopper–Pearson, rounded half up)
        and ``published % (95% CI)``.
    """
    rows = []
    for _, r in load_subgroups().sort_values("order").iterrows():
        x, n = int(r["cr"]), int(r["n"])
        lo, hi = clopper_pearson(x, n)
        rows.append({
            "factor": r["factor"],
            "level": r["level"],
            "CR / patients": f"{x}/{n}",
            "observed %": f"{percent(x, n, 1):.1f}",
            "exact 95% CI, % (recomputed)": f"{pct(lo)} to {pct(hi)}",
            "published % (95% CI)": (f"{r['published_pct']:.1f} ({r['published_ci_low']:.1f} "
                                     f"to {r['published_ci_high']:.1f})"),
        })
    return pd.DataFrame(rows)


def marginal_logit_quantiles(mu: Any, tau: Any, probs: Sequence[float]) -> list[float]:
    r"""Prior quantiles of one subgroup's logit ``mu + tau z``, with ``tau`` integrated out.

    Given ``tau`` the logit is :math:`N(m, s^2 + \tau^2)`; its CDF is integrated over the
    half-normal prior of ``tau`` and inverted by root finding.

    Parameters
    ----------
    mu : Prior
        A normal prior (``mu.mu``, ``mu.sigma``).
    tau : Prior
        A half-normal prior (``tau.sigma``).
    probs : sequence of float
        The probabilities of the quantiles.

    Returns
    -------
    list of float
    """
    t_dist = stats.halfnorm(scale=tau.sigma)

    def cdf(t: float) -> float:
        def f(v: float) -> float:
            return stats.norm.cdf((t - mu.mu) / np.sqrt(mu.sigma**2 + v**2)) * t_dist.pdf(v)
        return integrate.quad(f, 0, np.inf, epsabs=1e-13, epsrel=1e-12, limit=200)[0]

    return [optimize.brentq(lambda t, q=q: cdf(t) - q, -60, 60, xtol=1e-12) for q in probs]


def prior_table(specs: Sequence[str | Path] = SUBGROUP_SPECS) -> pd.DataFrame:
    """What each prior set implies; a prior set shared by several specs is listed once.

    Parameters
    ----------
    specs : sequence of str or Path, default :data:`SUBGROUP_SPECS`
        The specs (paths or packaged names).

    Returns
    -------
    pandas.DataFrame
        One row per distinct prior set: its name and the specs using it, the priors on μ
        and τ, the 95% prior interval of the typical CR rate expit(μ), the prior median of
        τ and P(τ > 1), the 95% odds ratio of two subgroups at the median τ,
        exp(1.96 √2 τ), the 95% prior interval of one subgroup's CR rate (τ integrated
        out) and, for EXNEX, the NEX prior with its 95% CR-rate interval and the weight.
    """
    seen: dict[str, list[str]] = {}
    rows: dict[str, dict[str, str]] = {}
    for name, spec in _specs(specs).items():
        for set_name, prior_set in spec.priors.items():
            key = repr(prior_set.parameter_priors())
            seen.setdefault(key, []).append(name.removeprefix("subgroups_"))
            if key in rows:
                continue
            mu, tau = prior_set.mu, prior_set.tau
            typical = special.expit(stats.norm(mu.mu, mu.sigma).ppf([0.025, 0.975]))
            t_dist = stats.halfnorm(scale=tau.sigma)
            med = t_dist.median()
            odds = np.exp(stats.norm.ppf(0.975) * np.sqrt(2) * med)
            level = special.expit(marginal_logit_quantiles(mu, tau, [0.025, 0.975]))
            nex = "—"
            if hasattr(prior_set, "nex"):
                m, s = prior_set.nex.mu, prior_set.nex.sigma
                nlo, nhi = special.expit(stats.norm(m, s).ppf([0.025, 0.975]))
                nex = (f"N({m:g}, {s:g}²): {pct(nlo)}% to {pct(nhi)}%, "
                       f"w = {spec.options.weight:g}")
            rows[key] = {
                "prior set": set_name,
                "μ": f"N({mu.mu:g}, {mu.sigma:g}²)",
                "τ": f"half-normal({tau.sigma:g})",
                "typical CR rate, 95% prior": f"{pct(typical[0])}% to {pct(typical[1])}%",
                "prior median of τ": f"{med:.2f}",
                "P(τ > 1)": f"{t_dist.sf(1.0):.2f}",
                "odds ratio, 95%, at the median τ": f"{odds:.1f}",
                "one subgroup's CR rate, 95% prior": f"{pct(level[0])}% to {pct(level[1])}%",
                "NEX prior (EXNEX), 95% of the CR rate": nex,
            }
    out = [{"prior set": row["prior set"], "specs": ", ".join(seen[key]),
            **{k: v for k, v in row.items() if k != "prior set"}}
           for key, row in rows.items()]
    return pd.DataFrame(out)


def settings_table(specs: Sequence[str | Path] = SUBGROUP_SPECS) -> pd.DataFrame:
    """Model, contrasts, LOO comparison and sampler settings of each spec.

    Parameters
    ----------
    specs : sequence of str or Path, default :data:`SUBGROUP_SPECS`

    Returns
    -------
    pandas.DataFrame
        One row per spec: ``spec``, ``model`` (the pooling, or EXNEX with its weight),
        ``contrasts``, ``compared with (LOO)``, ``chains``, ``draws per chain``,
        ``warm-up``, ``target_accept`` and ``seed``.
    """
    rows = []
    for name, spec in _specs(specs).items():
        o, s = spec.options, spec.sampler
        model = _MODELS[spec.analysis.model].from_spec(spec)
        what = (f"EXNEX, w = {o.weight:g}" if spec.analysis.model == "exnex"
                else f"{o.pooling} pooling")
        rows.append({
            "spec": name,
            "model": what,
            "contrasts": ", ".join(contrast_label(a, b) for a, b in model.contrasts()) or "—",
            "compared with (LOO)": ", ".join(o.compare) or "—",
            "chains": str(s.chains),
            "draws per chain": str(s.draws),
            "warm-up": str(s.tune),
            "target_accept": f"{s.target_accept:g}",
            "seed": str(s.seed),
        })
    return pd.DataFrame(rows)


@lru_cache(maxsize=8)
def _exact(specs: tuple[str | Path, ...]) -> dict[str, dict[str, Any]]:
    """Per spec: its models per prior set and their exact tables (quadrature)."""
    out: dict[str, dict[str, Any]] = {}
    for name, spec in _specs(specs).items():
        cls = _MODELS[spec.analysis.model]
        fits = {ps: cls.from_spec(spec, ps) for ps in spec.priors}
        exact = {ps: m.exact_table(spec.summary).set_index(["quantity", "population"])
                 for ps, m in fits.items()}
        out[name] = {"spec": spec, "model": next(iter(fits.values())), "exact": exact}
    return out


def _partial(specs: Sequence[str | Path],
             beta: tuple[float, float]) -> dict[str, dict[str, Any]]:
    """The partial-pooling specs of :func:`_exact`, with the conjugate no/complete posteriors."""
    done = _exact(tuple(specs))
    flat = {"p": BetaPrior(family="beta", alpha=beta[0], beta=beta[1])}
    out = {}
    for name, item in done.items():
        if item["spec"].analysis.model != "subgroups":
            continue
        data = item["model"].data
        out[name] = {
            **item,
            "data": data,
            "none": SubgroupModel(data, flat, {"pooling": "none"}).conjugate_posteriors(),
            "complete": SubgroupModel(data, flat,
                                      {"pooling": "complete"}).conjugate_posteriors(),
        }
    return out


def exact_table(specs: Sequence[str | Path] = SUBGROUP_SPECS,
                flat_beta: tuple[float, float] = FLAT_BETA) -> pd.DataFrame:
    """Exact posterior mean (SD) of every level's CR rate of the partial-pooling specs.

    No and complete pooling use the Beta prior ``flat_beta`` (conjugate Beta posteriors;
    the default is the uniform prior of the specs' comparison models); partial pooling
    each prior set of the spec (quadrature).

    Parameters
    ----------
    specs : sequence of str or Path, default :data:`SUBGROUP_SPECS`
        The specs; EXNEX specs are skipped (see :func:`exnex_table`).
    flat_beta : tuple of float, default :data:`FLAT_BETA`
        The Beta(a, b) prior of no and complete pooling.

    Returns
    -------
    pandas.DataFrame
        One row per level: ``factor``, ``level``, ``observed``, ``no pooling, Beta(a, b)``,
        ``complete pooling, Beta(a, b)`` and one ``partial pooling, <prior set>`` per prior
        set.
    """
    rows = []
    for name, item in _partial(specs, flat_beta).items():
        none, complete, data = item["none"], item["complete"], item["data"]
        beta = _beta_text(flat_beta)
        for _, r in data.iterrows():
            level = r["subgroup"]
            row = {
                "factor": name.removeprefix("subgroups_"),
                "level": level,
                "observed": f"{r['x'] / r['n']:.3f}",
                f"no pooling, {beta}": mean_sd(none[level].mean(), none[level].std()),
                f"complete pooling, {beta}": mean_sd(complete[level].mean(),
                                                     complete[level].std()),
            }
            for ps, t in item["exact"].items():
                row[f"partial pooling, {ps}"] = mean_sd(t.loc[("p", level), "mean"],
                                                        t.loc[("p", level), "sd"])
            rows.append(row)
    return pd.DataFrame(rows)


def _beta_text(beta: tuple[float, float]) -> str:
    return f"Beta({beta[0]:g}, {beta[1]:g})"


def contrast_table(specs: Sequence[str | Path] = SUBGROUP_SPECS,
                   flat_beta: tuple[float, float] = FLAT_BETA) -> pd.DataFrame:
    """Exact posteriors of the contrasts of the partial-pooling specs.

    Parameters
    ----------
    specs : sequence of str or Path, default :data:`SUBGROUP_SPECS`
        The specs; EXNEX specs are skipped.
    flat_beta : tuple of float, default :data:`FLAT_BETA`
        The Beta(a, b) prior of no pooling.

    Returns
    -------
    pandas.DataFrame
        One row per contrast: ``factor``, ``contrast``, ``observed`` (the difference of
        the raw rates), the no-pooling mean (SD) and exact ``P(diff > 0)`` (1-D quadrature
        of the two conjugate Betas), and one ``partial pooling, <prior set>`` mean (SD) per
        prior set.
    """
    rows = []
    for name, item in _partial(specs, flat_beta).items():
        data = item["data"].set_index("subgroup")
        none = item["none"]
        beta = _beta_text(flat_beta)
        for a, b in item["model"].contrasts():
            label = contrast_label(a, b)
            ra, rb = data.loc[a], data.loc[b]
            da, db = none[a], none[b]
            row = {
                "factor": name.removeprefix("subgroups_"),
                "contrast": label,
                "observed": f"{ra['x'] / ra['n'] - rb['x'] / rb['n']:.3f}",
                f"no pooling, {beta}": mean_sd(da.mean() - db.mean(),
                                               np.sqrt(da.var() + db.var())),
                "no pooling: P(diff > 0)": f"{beta_difference_prob(da, db):.3f}",
            }
            for ps, t in item["exact"].items():
                row[f"partial pooling, {ps}"] = mean_sd(t.loc[("difference", label), "mean"],
                                                        t.loc[("difference", label), "sd"])
            rows.append(row)
    return pd.DataFrame(rows)


def tau_table(specs: Sequence[str | Path] = SUBGROUP_SPECS) -> pd.DataFrame:
    """Exact posterior mean (SD) of τ, the between-subgroup SD, of the partial-pooling specs.

    Parameters
    ----------
    specs : sequence of str or Path, default :data:`SUBGROUP_SPECS`
        The specs; EXNEX specs are skipped.

    Returns
    -------
    pandas.DataFrame
        One row per factor: ``factor``, ``levels`` and one ``τ, <prior set>`` per prior set.
    """
    rows = []
    for name, item in _partial(specs, FLAT_BETA).items():
        row = {"factor": name.removeprefix("subgroups_"), "levels": str(len(item["data"]))}
        for ps, t in item["exact"].items():
            row[f"τ, {ps}"] = mean_sd(*t.loc[("tau", ""), ["mean", "sd"]])
        rows.append(row)
    return pd.DataFrame(rows)


def tau_prior_means(specs: Sequence[str | Path] = SUBGROUP_SPECS) -> list[str]:
    """The prior means of τ the τ table is read against, largest first.

    Returns
    -------
    list of str
        E.g. ``["0.80 under half-normal(1)", "0.40 under half-normal(0.5)"]``.
    """
    sigmas = {ps.tau.sigma for spec in _specs(specs).values() for ps in spec.priors.values()}
    return [f"{stats.halfnorm(scale=s).mean():.2f} under half-normal({s:g})"
            for s in sorted(sigmas, reverse=True)]


def exnex_table(spec: str | Path = EXNEX_SPEC) -> pd.DataFrame:
    """The exact EXNEX posterior: P(exchangeable) and CR rate per level, then the contrasts.

    Parameters
    ----------
    spec : str or Path, default :data:`EXNEX_SPEC`
        An ``exnex`` spec.

    Returns
    -------
    pandas.DataFrame
        Rows per level and prior set, then per contrast and prior set: ``level``,
        ``prior set``, ``P(exchangeable)`` (``—`` for a contrast) and
        ``CR rate, mean (SD)``.
    """
    item = _exact((spec,))[Path(spec).stem]
    rows = []
    for level in item["model"].data["subgroup"]:
        for ps, table in item["exact"].items():
            r = table.loc[("p", level)]
            rows.append({"level": level, "prior set": ps,
                         "P(exchangeable)": f"{r['P(exchangeable)']:.3f}",
                         "CR rate, mean (SD)": mean_sd(r["mean"], r["sd"])})
    for a, b in item["model"].contrasts():
        for ps, table in item["exact"].items():
            r = table.loc[("difference", contrast_label(a, b))]
            rows.append({"level": contrast_label(a, b), "prior set": ps,
                         "P(exchangeable)": "—",
                         "CR rate, mean (SD)": mean_sd(r["mean"], r["sd"])})
    return pd.DataFrame(rows)
