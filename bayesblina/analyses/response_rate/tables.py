"""The tables of the overall-CR page (``docs/analyses/overall_cr.md``), computed at build time.

Each function reads a beta-binomial spec (by default the packaged ``models/overall_cr.toml``)
and returns a :class:`pandas.DataFrame` of display strings, as the page shows them; the docs
render them with the ``bayesblina-table`` directive, so the page cannot drift from the spec,
the data or the conjugate posterior. Nothing here samples: every number is closed form
(:mod:`scipy.stats` Beta distributions).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from scipy import stats

from bayesblina.analyses.response_rate.model import BetaBinomialModel
from bayesblina.core.load import load_named_spec, models_resolver
from bayesblina.core.spec import AnalysisSpec
from bayesblina.errors import SpecError

__all__ = ["load_response_rate_spec", "posterior_table", "prior_table", "prob_text",
           "threshold_text"]

#: the default spec of this room's page
DEFAULT_SPEC = "overall_cr"


def load_response_rate_spec(spec: str | Path = DEFAULT_SPEC) -> AnalysisSpec:
    """Load a beta-binomial spec: a path, or the name of a packaged default spec.

    Parameters
    ----------
    spec : str or Path, default "overall_cr"
        A ``.toml`` file, or a bare name such as ``"overall_cr"`` (the packaged
        ``models/overall_cr.toml``).

    Returns
    -------
    AnalysisSpec

    Raises
    ------
    SpecError
        If the file does not exist, fails validation or is not a ``beta_binomial`` spec.
    """
    resolve = models_resolver([BetaBinomialModel], scope="the response-rate room")
    return load_named_spec(spec, resolve=resolve)


def prob_text(value: float) -> str:
    """A probability as the page prints it: three decimals, ``> 0.999`` and ``< 0.001``."""
    if value > 0.999:
        return "> 0.999"
    if value < 0.001:
        return "< 0.001"
    return f"{value:.3f}"


def threshold_text(value: float) -> str:
    """A threshold: two decimals when that is exact (``0.10``), else as short as exact."""
    return f"{value:.2f}" if abs(100 * value - round(100 * value)) < 1e-9 else f"{value:g}"


def _thresholds(spec: AnalysisSpec) -> tuple[float, float]:
    ts = sorted(spec.summary.thresholds)
    if len(ts) < 2:
        raise SpecError(f"{spec.source_path}: key 'summary.thresholds': the tables need two "
                        f"thresholds (the design's p0 and p1), got {ts}")
    return ts[0], ts[-1]


def prior_table(spec: str | Path = DEFAULT_SPEC) -> pd.DataFrame:
    """What each prior set says before the data: Beta(a, b), mean, ESS and tail probabilities.

    Parameters
    ----------
    spec : str or Path, default "overall_cr"
        The spec (see :func:`load_response_rate_spec`).

    Returns
    -------
    pandas.DataFrame
        One row per prior set, columns ``prior set``, ``prior on p`` (``Beta(a, b)``),
        ``prior mean`` (a/(a+b), three decimals), ``effective sample size (patients)``
        (a + b), ``P(p > hi)`` and ``P(p < lo)`` for the largest and smallest of
        ``[summary] thresholds`` (the design's p1 and p0).
    """
    s = load_response_rate_spec(spec)
    lo, hi = _thresholds(s)
    rows = []
    for name, prior_set in s.priors.items():
        a, b = float(prior_set.p.alpha), float(prior_set.p.beta)
        dist = stats.beta(a, b)
        rows.append({
            "prior set": name,
            "prior on p": f"Beta({a:g}, {b:g})",
            "prior mean": f"{a / (a + b):.3f}",
            "effective sample size (patients)": f"{a + b:g}",
            f"P(p > {threshold_text(hi)})": prob_text(dist.sf(hi)),
            f"P(p < {threshold_text(lo)})": prob_text(dist.cdf(lo)),
        })
    return pd.DataFrame(rows)


def posterior_table(spec: str | Path = DEFAULT_SPEC) -> pd.DataFrame:
    """The exact conjugate posterior per population and prior set.

    Parameters
    ----------
    spec : str or Path, default "overall_cr"
        The spec (see :func:`load_response_rate_spec`); its data are the counts of each
        population.

    Returns
    -------
    pandas.DataFrame
        One row per (population, prior set), populations in the spec's order, columns
        ``population``, ``prior set``, ``posterior`` (``Beta(a + x, b + n - x)``), ``mean``,
        the ``[summary] ci_prob`` equal-tailed interval (``lo to hi``) and
        ``P(p > t | data)`` for the smallest and largest threshold; three decimals.
    """
    s = load_response_rate_spec(spec)
    lo, hi = _thresholds(s)
    ci = s.summary.ci_prob
    tail = (1 - ci) / 2
    models = {name: BetaBinomialModel.from_spec(s, name) for name in s.priors}
    posteriors = {name: m.closed_form() for name, m in models.items()}
    rows = []
    for pop in next(iter(models.values())).data["population"]:
        for name, closed in posteriors.items():
            post = closed[pop]
            a_post, b_post = post.args
            q_lo, q_hi = post.ppf([tail, 1 - tail])
            rows.append({
                "population": pop,
                "prior set": name,
                "posterior": f"Beta({a_post:g}, {b_post:g})",
                "mean": f"{post.mean():.3f}",
                f"{100 * ci:g}% equal-tailed interval": f"{q_lo:.3f} to {q_hi:.3f}",
                f"P(p > {threshold_text(lo)} | data)": prob_text(post.sf(lo)),
                f"P(p > {threshold_text(hi)} | data)": prob_text(post.sf(hi)),
            })
    return pd.DataFrame(rows)
