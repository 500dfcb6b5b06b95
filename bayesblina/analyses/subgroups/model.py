r"""CR rate by prespecified subgroup (Fig 2): partial, no or complete pooling.

One baseline factor at a time (e.g. age group), all 70 patients at 5/15 µg/m²/day. With
:math:`x_j` CRs among :math:`n_j` patients of level :math:`j` of the factor,

* **partial pooling** (the default; non-centred):

  .. math::

      \operatorname{logit} p_j = \mu + \tau z_j, \quad z_j \sim N(0, 1), \quad
      x_j \sim \mathrm{Binomial}(n_j, p_j),

  with priors on :math:`\mu` (normal or Student-t) and :math:`\tau` (half-normal,
  half-Cauchy, exponential or log-normal);
* **no pooling**: independent :math:`p_j \sim \mathrm{Beta}(a, b)` (prior on ``p``);
* **complete pooling**: one :math:`p \sim \mathrm{Beta}(a, b)` for every level (prior on
  ``p``), reported per level.

The differences the paper discusses (marrow blasts < 50% minus ≥ 50%; not refractory
minus refractory, the Discussion's 48% vs 30%; age < 2 minus 7–17 years) are
Deterministics ``difference`` (dim ``contrast``) when the factor has those levels.

Independent checks (:meth:`SubgroupModel.exact_table`): the conjugate Beta posteriors
for no and complete pooling, and for partial pooling (and EXNEX,
:mod:`bayesblina.analyses.subgroups.exnex`) a numerical integration over :math:`(\mu, \tau)`
(:func:`hierarchical_posterior`): for each :math:`(\mu, \tau)` node, the marginal
likelihood of each level is a 1-D integral over the level's logit, by adaptive
Gauss–Hermite quadrature for :math:`\tau < 1` and by a fine trapezoid grid (an FFT
convolution over all :math:`\mu` nodes at once, with exact tails) otherwise.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from scipy import fft, integrate, special, stats

from bayesblina.core.frequentist import clopper_pearson
from bayesblina.core.model import BayesModel, PriorSetBase
from bayesblina.core.priors import Prior
from bayesblina.core.summaries import exact_row, summarise_draws
from bayesblina.data import (
    DATA_FILES,
    data_file,
    load_cr_by_blasts,
    load_subgroups,
    load_table2_proportions,
)
from bayesblina.errors import DataError, SpecError

if TYPE_CHECKING:
    import arviz as az

    from bayesblina.core.spec import (
        SummarySettings,
    )

#: the factors of Fig 2 (all but the population row ``all``)
FACTORS = (
    "region", "marrow_blasts", "age", "previous_hsct", "previous_relapses", "refractory",
)
#: the study part of the 70 patients at 5/15: phase I PK expansion (13/26, derived as
#: all 70 minus phase II) and phase II (14/44), from ``cr_by_blasts_by_phase.csv``
PHASE_FACTOR = "phase"
#: the levels of the phase factor: population in ``cr_by_blasts_by_phase.csv`` -> label
PHASE_LEVELS = {"pk_expansion": "phase I PK expansion", "phase_2": "phase II"}
#: every factor a spec may name: Fig 2's and the study phase
ALL_FACTORS = (*FACTORS, PHASE_FACTOR)
#: the differences the paper discusses, (level a, level b) for p(a) - p(b), per factor
DEFAULT_CONTRASTS: dict[str, list[tuple[str, str]]] = {
    "marrow_blasts": [("<50%", ">=50%")],
    # the Discussion contrasts 48% (not refractory) with 30% (refractory): no minus yes
    "refractory": [("no", "yes")],
    "age": [("<2", "7-17")],
    # phase I expansion minus phase II (13/26 = 50% against 14/44 = 32%)
    PHASE_FACTOR: [("pk_expansion", "phase_2")],
}
#: how the factors read in titles
FACTOR_NAMES = {
    "region": "region",
    "marrow_blasts": "bone marrow blasts",
    "age": "age group (years)",
    "previous_hsct": "previous HSCT",
    "previous_relapses": "number of previous relapses",
    "refractory": "refractory disease",
}
POOLINGS = ("partial", "none", "complete")
#: the priors each pooling needs (and the only ones it accepts)
POOLING_PARAMS: dict[str, tuple[str, ...]] = {
    "partial": ("mu", "tau"),
    "none": ("p",),
    "complete": ("p",),
}
MU_FAMILIES = ("normal", "student_t")
TAU_FAMILIES = ("half_normal", "half_cauchy", "exponential", "lognormal")
#: logit(0.3): the centre of the default priors on the typical subgroup's CR rate
LOGIT_03 = float(special.logit(0.3))

Level = Annotated[str, Field(min_length=1, max_length=64)]


def contrast_label(a: str, b: str) -> str:
    """Name of the difference p(a) - p(b), e.g. ``"p(no) - p(yes)"`` (direction stated)."""
    return f"p({a}) - p({b})"


# --------------------------------------------------------------------------------------
# Spec schemas
# --------------------------------------------------------------------------------------


class SubgroupRow(BaseModel):
    """One subgroup level given inline: ``{ label = "<2", x = 6, n = 10 }``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: Level
    x: Annotated[int, Field(ge=0)]
    n: Annotated[int, Field(ge=1)]

    @model_validator(mode="after")
    def _x_le_n(self) -> SubgroupRow:
        if self.x > self.n:
            raise ValueError(f"CRs x={self.x} exceed patients n={self.n} (level {self.label!r})")
        return self


class SubgroupData(BaseModel):
    """``[data]``: one factor of Fig 2 (packaged), or inline rows (one per level).

    ``factor = "phase"`` is the study part instead of a Fig 2 factor: phase I PK expansion
    (13/26, derived: all 70 at 5/15 minus phase II) and phase II (14/44), read from
    ``cr_by_blasts_by_phase.csv`` (:func:`bayesblina.data.load_cr_by_blasts`).

    ``file`` reads a Fig 2-style CSV instead of the packaged one (checked by
    :func:`bayesblina.data.load_subgroups`: the levels of every factor must add up to the
    population); for ``factor = "phase"`` a CSV like ``cr_by_blasts_by_phase.csv``, whose
    phases must add up to its ``all_5_15`` row. Inline rows may name the analysed
    population (``population_n`` patients, ``population_x`` CRs) that their levels must
    add up to.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    factor: str | None = None
    file: str | None = None
    rows: Annotated[list[SubgroupRow], Field(min_length=2)] | None = None
    population_n: Annotated[int, Field(ge=1)] | None = None
    population_x: Annotated[int, Field(ge=0)] | None = None

    @field_validator("factor")
    @classmethod
    def _known_factor(cls, value: str | None) -> str | None:
        if value is not None and value not in ALL_FACTORS:
            raise ValueError(f"unknown factor {value!r}; allowed: {list(ALL_FACTORS)}")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> SubgroupData:
        if (self.factor is None) == (self.rows is None):
            raise ValueError("give exactly one of 'factor' (Fig 2, packaged) or 'rows' (inline)")
        if self.file is not None and self.factor is None:
            raise ValueError("'file' selects the table a 'factor' is read from: give a factor")
        if self.rows is None:
            if self.population_n is not None or self.population_x is not None:
                raise ValueError("'population_n'/'population_x' check inline rows only")
            return self
        labels = [r.label for r in self.rows]
        dup = sorted({lab for lab in labels if labels.count(lab) > 1})
        if dup:
            raise ValueError(f"duplicate level label(s) {dup}")
        n_sum, x_sum = sum(r.n for r in self.rows), sum(r.x for r in self.rows)
        if self.population_n is not None and n_sum != self.population_n:
            raise ValueError(
                f"the levels add up to {n_sum} patients, but population_n = {self.population_n}"
            )
        if self.population_x is not None and x_sum != self.population_x:
            raise ValueError(
                f"the levels add up to {x_sum} CRs, but population_x = {self.population_x}"
            )
        return self


class SubgroupOptions(BaseModel):
    """``[options]``: pooling, the contrasts reported, and models compared by LOO.

    ``contrasts`` lists ``[level_a, level_b]`` pairs, each reported as p(a) - p(b); when
    omitted, the paper's contrasts for the factor (:data:`DEFAULT_CONTRASTS`).
    ``compare`` names other models fitted on the same data and compared with this fit by
    PSIS-LOO (leave one subgroup out), see :func:`compare_subgroup_models`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pooling: Literal["partial", "none", "complete"] = "partial"
    contrasts: list[tuple[Level, Level]] | None = None
    compare: list[Literal["partial", "none", "complete", "exnex"]] = Field(default_factory=list)


class SubgroupPriors(PriorSetBase):
    """One prior set: ``mu`` and ``tau`` (partial pooling) or ``p`` (no / complete pooling).

    ``mu`` is the typical subgroup's logit CR rate, ``tau`` the between-subgroup SD of the
    logits, ``p`` the CR rate of each level (no pooling) or of all (complete pooling).
    """

    mu: Prior | None = None
    tau: Prior | None = None
    p: Prior | None = None
    allowed_families: ClassVar[dict[str, tuple[str, ...]]] = {
        "mu": MU_FAMILIES,
        "tau": TAU_FAMILIES,
        "p": ("beta",),
    }

    def parameter_priors(self) -> dict[str, Any]:
        """The priors that are set (the pooling decides which are needed)."""
        return {k: v for k, v in super().parameter_priors().items() if v is not None}


def load_phase_levels(path: str | None = None) -> pd.DataFrame:
    """CR within two cycles by study part among the 70 patients at 5/15 (``factor = "phase"``).

    The rows ``pk_expansion``/``all`` (13/26; derived in the file as all 70 minus phase
    II) and ``phase_2``/``all`` (14/44) of ``cr_by_blasts_by_phase.csv``
    (:func:`bayesblina.data.load_cr_by_blasts`), checked against the file's
    ``all_5_15``/``all`` row. Phase II's published 32% (exact 95% CI 19 to 48; Table 2)
    is attached when the counts are Table 2's; the expansion has no published CI.

    Parameters
    ----------
    path : str, optional
        A CSV like ``cr_by_blasts_by_phase.csv`` instead of the packaged one.

    Returns
    -------
    pandas.DataFrame
        Columns ``factor`` (``"phase"``), ``order``, ``level`` (``pk_expansion``,
        ``phase_2``), ``label``, ``cr``, ``n``, ``published_pct``, ``published_ci_low``,
        ``published_ci_high``, ``source``.

    Raises
    ------
    DataError
        If the file is malformed (see :func:`~bayesblina.data.load_cr_by_blasts`), lacks
        one of the three rows, or the two phases do not add up to ``all_5_15`` in
        patients and CRs.
    """
    where = path if path is not None else data_file(DATA_FILES["cr_by_blasts"])
    table = load_cr_by_blasts(path)
    rows = table[table["blasts"] == "all"].set_index("population")
    needed = [*PHASE_LEVELS, "all_5_15"]
    missing = [p for p in needed if p not in rows.index]
    if missing:
        raise DataError(
            f"{where}: no row with blasts 'all' for population(s) {missing}: the phase factor "
            f"needs {needed} (the two phases and the population they must add up to)"
        )
    n_sum = int(sum(rows.at[p, "n"] for p in PHASE_LEVELS))
    x_sum = int(sum(rows.at[p, "cr"] for p in PHASE_LEVELS))
    total_n, total_x = int(rows.at["all_5_15", "n"]), int(rows.at["all_5_15", "cr"])
    if (n_sum, x_sum) != (total_n, total_x):
        raise DataError(
            f"{where}: the phases {list(PHASE_LEVELS)} add up to {n_sum} patients and {x_sum} "
            f"CRs, but all_5_15 has {total_n} patients and {total_x} CRs: the levels of a "
            "factor must add up to the analysed population"
        )
    published = load_table2_proportions().set_index(["population", "quantity"])
    out = []
    for order, (level, label) in enumerate(PHASE_LEVELS.items(), start=1):
        x, n = int(rows.at[level, "cr"]), int(rows.at[level, "n"])
        pct = lo = hi = np.nan
        if (level, "cr") in published.index:
            ref = published.loc[(level, "cr")]
            if (int(ref["x"]), int(ref["n"])) == (x, n):  # Table 2's counts: its CI applies
                pct, lo, hi = (float(ref[c]) for c in ("published_pct", "published_ci_low",
                                                       "published_ci_high"))
        out.append({
            "factor": PHASE_FACTOR, "order": order, "level": level, "label": label,
            "cr": x, "n": n, "published_pct": pct, "published_ci_low": lo,
            "published_ci_high": hi, "source": str(rows.at[level, "source"]),
        })
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------
# Independent numerical integration (the check of the hierarchical fits)
# --------------------------------------------------------------------------------------


def scipy_prior(prior: Any) -> Any:
    """The frozen :mod:`scipy.stats` distribution of a prior (same parameterisation as PyMC)."""
    f = prior.family
    if f == "normal":
        return stats.norm(prior.mu, prior.sigma)
    if f == "student_t":
        return stats.t(prior.nu, prior.mu, prior.sigma)
    if f == "half_normal":
        return stats.halfnorm(scale=prior.sigma)
    if f == "half_cauchy":
        return stats.halfcauchy(scale=prior.beta)
    if f == "exponential":
        return stats.expon(scale=1.0 / prior.lam)
    if f == "lognormal":
        return stats.lognorm(s=prior.sigma, scale=np.exp(prior.mu))
    if f == "beta":
        return stats.beta(prior.alpha, prior.beta)
    raise SpecError(f"no scipy counterpart for prior family {f!r}")


#: logit range of the fixed grid; beyond it the likelihood is constant to double precision
THETA_HALF_WIDTH = 40.0


def _log_binom(x: float, n: float, theta: np.ndarray) -> np.ndarray:
    const = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
    return const + x * special.log_expit(theta) + (n - x) * special.log_expit(-theta)


def _aghq(
    x: float, n: float, mu: np.ndarray, tau: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adaptive Gauss–Hermite: log ∫ Bin(x | n, expit θ) N(θ; mu, tau²) dθ and E[p], E[p²].

    Centred on the integrand's mode (bisection on its strictly decreasing derivative, then
    Newton) and scaled by its curvature there; ``mu`` and ``tau`` broadcast together.
    """
    mu, tau = np.broadcast_arrays(np.asarray(mu, float), np.asarray(tau, float))
    inv_t2 = 1.0 / tau**2
    # the mode solves x - n expit(θ) - (θ - mu)/tau² = 0 and lies in this bracket
    lo, hi = mu - tau**2 * (n - x), mu + tau**2 * x
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        up = x - n * special.expit(mid) - (mid - mu) * inv_t2 > 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    mode = 0.5 * (lo + hi)
    for _ in range(4):
        s = special.expit(mode)
        step = (x - n * s - (mode - mu) * inv_t2) / (n * s * (1 - s) + inv_t2)
        mode = np.clip(mode + step, lo, hi)
    s = special.expit(mode)
    scale = 1.0 / np.sqrt(n * s * (1 - s) + inv_t2)
    u, w = np.polynomial.hermite.hermgauss(k)
    theta = mode[..., None] + np.sqrt(2.0) * scale[..., None] * u
    z = (theta - mu[..., None]) / tau[..., None]
    log_h = _log_binom(x, n, theta) - 0.5 * z**2 - np.log(tau[..., None] * np.sqrt(2 * np.pi))
    a = np.log(w) + u**2 + log_h
    log_i = np.log(np.sqrt(2.0) * scale) + special.logsumexp(a, axis=-1)
    r = np.exp(a - special.logsumexp(a, axis=-1, keepdims=True))
    p = special.expit(theta)
    return log_i, (r * p).sum(-1), (r * p * p).sum(-1)


def _grid_signals(x: float, n: float, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """L, pL, p²L on the θ grid (trapezoid half weights at the ends) and their limits.

    Returns the (3, G) signals and the (2, 3) limits at -∞ and +∞ (the likelihood tends to
    1 where all or none responded, else to 0).
    """
    lik = np.exp(_log_binom(x, n, theta))
    p = special.expit(theta)
    f = np.stack([lik, p * lik, p * p * lik])
    f[:, [0, -1]] *= 0.5
    low = 1.0 if x == 0 else 0.0
    high = 1.0 if x == n else 0.0
    return f, np.array([[low, 0.0, 0.0], [high, high, high]])


def _grid_moments(
    x: float, n: float, theta: np.ndarray, mu_idx: np.ndarray, taus: np.ndarray, chunk: int = 16
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trapezoid on the fixed θ grid, for every μ node at once: FFT convolutions.

    ∫ g(θ) N(θ; μ_a, τ²) dθ for g = L, pL, p²L and μ_a = θ[mu_idx], plus the exact tails
    beyond the grid. Shapes ``(len(mu_idx), len(taus))``.
    """
    h = theta[1] - theta[0]
    g = theta.size
    f, limits = _grid_signals(x, n, theta)
    size = fft.next_fast_len(3 * g - 2, real=True)
    f_hat = fft.rfft(f, size, axis=-1)
    offsets = np.arange(-(g - 1), g) * h
    mu = theta[mu_idx]
    out = np.empty((3, mu.size, taus.size))
    for start in range(0, taus.size, chunk):
        t = taus[start : start + chunk]
        kernel = stats.norm.pdf(offsets[None, :] / t[:, None]) / t[:, None] * h
        conv = fft.irfft(f_hat[None, :, :] * fft.rfft(kernel, size, axis=-1)[:, None, :], size)
        vals = conv[:, :, mu_idx + g - 1]  # (tau, 3, mu)
        below = stats.norm.cdf((theta[0] - mu[None, :]) / t[:, None])  # mass left of grid
        above = stats.norm.sf((theta[-1] - mu[None, :]) / t[:, None])
        vals = vals + limits[0][None, :, None] * below[:, None, :]
        vals = vals + limits[1][None, :, None] * above[:, None, :]
        out[:, :, start : start + chunk] = np.transpose(vals, (1, 2, 0))
    mass = np.maximum(out[0], 1e-300)
    e1 = np.clip(out[1] / mass, 0.0, 1.0)
    e2 = np.clip(out[2] / mass, 0.0, 1.0)
    return np.log(mass), e1, e2


def _normal_moments(
    x: float, n: float, mu: float, sd: float, theta: np.ndarray, switch: float, k: int
) -> tuple[float, float, float]:
    """Log ∫ Bin N(θ; mu, sd²) dθ, E[p], E[p²] for one fixed normal (the NEX component)."""
    if sd < switch:
        out = _aghq(x, n, np.array([mu]), np.array([sd]), k)
        return float(out[0][0]), float(out[1][0]), float(out[2][0])
    h = theta[1] - theta[0]
    f, limits = _grid_signals(x, n, theta)
    vals = f @ stats.norm.pdf(theta, mu, sd) * h
    vals = vals + limits[0] * stats.norm.cdf(theta[0], mu, sd)
    vals = vals + limits[1] * stats.norm.sf(theta[-1], mu, sd)
    return float(np.log(vals[0])), float(vals[1] / vals[0]), float(vals[2] / vals[0])


@dataclass(frozen=True)
class HierarchicalPosterior:
    """The posterior of a (EXNEX) hierarchical binomial model on a (μ, τ) quadrature grid.

    ``weight[a, b]`` is the posterior mass of node (``mu[a]``, ``tau[b]``); ``e1``/``e2``
    (level, μ, τ) the conditional posterior moments E[p_j | μ, τ, x], E[p_j² | μ, τ, x];
    ``p_ex`` the conditional probability that level j is exchangeable (EXNEX only).
    """

    mu: np.ndarray
    tau: np.ndarray
    weight: np.ndarray
    e1: np.ndarray
    e2: np.ndarray
    p_ex: np.ndarray | None
    log_evidence: float

    def _avg(self, values: np.ndarray) -> np.ndarray:
        return np.tensordot(values, self.weight, axes=([-2, -1], [0, 1]))

    def p_mean(self) -> np.ndarray:
        """Posterior mean of each level's CR rate."""
        return self._avg(self.e1)

    def p_sd(self) -> np.ndarray:
        """Posterior SD of each level's CR rate."""
        return np.sqrt(np.maximum(self._avg(self.e2) - self.p_mean() ** 2, 0.0))

    def difference(self, a: int, b: int) -> tuple[float, float]:
        """Posterior mean and SD of p_a - p_b (independent given μ, τ)."""
        mean = float(self.p_mean()[a] - self.p_mean()[b])
        second = self._avg(self.e2[a] + self.e2[b] - 2 * self.e1[a] * self.e1[b])
        return mean, float(np.sqrt(max(second - mean**2, 0.0)))

    def tau_moments(self) -> tuple[float, float]:
        """Posterior mean and SD of τ."""
        m = float(self.weight.sum(0) @ self.tau)
        return m, float(np.sqrt(max(self.weight.sum(0) @ self.tau**2 - m * m, 0.0)))

    def mu_moments(self) -> tuple[float, float]:
        """Posterior mean and SD of μ."""
        m = float(self.weight.sum(1) @ self.mu)
        return m, float(np.sqrt(max(self.weight.sum(1) @ self.mu**2 - m * m, 0.0)))

    def prob_exchangeable(self) -> np.ndarray | None:
        """Posterior probability that each level is exchangeable (EXNEX), else ``None``."""
        return None if self.p_ex is None else self._avg(self.p_ex)


def hierarchical_posterior(
    x: Any,
    n: Any,
    mu_prior: Any,
    tau_prior: Any,
    *,
    weight: float = 1.0,
    nex: tuple[float, float] | None = None,
    n_tau: int = 161,
    n_gh: int = 32,
    step: float | None = None,
) -> HierarchicalPosterior:
    r"""Posterior of :math:`\operatorname{logit} p_j \sim N(\mu, \tau^2)` by quadrature.

    With ``weight < 1`` the EXNEX mixture: each logit is N(μ, τ²) with probability
    ``weight`` and otherwise normal with mean ``nex[0]`` and SD ``nex[1]``.

    The outer integral is a tensor trapezoid rule: μ on a grid of spacing 2 ``step`` over
    its prior's central 1 - 2e-10 (within ±30), τ on ``n_tau`` nodes equally spaced in
    log τ from 1e-3 to 1e4 times its prior median (capped at the prior's 1 - 1e-10
    quantile; the mass below the first node is added to it, the τ posterior being flat
    there). For each node and level the marginal likelihood
    :math:`\int \mathrm{Bin}(x_j \mid n_j, \operatorname{expit}\theta)
    N(\theta; \mu, \tau^2)\, d\theta` and the conditional moments of :math:`p_j` are 1-D
    integrals: adaptive Gauss–Hermite with ``n_gh`` nodes for τ < 1 (the
    integrand is log-concave and close to Gaussian), a trapezoid on a θ grid of spacing
    ``step`` over ±40 otherwise (an FFT convolution for all μ at once, plus the exact
    normal tails beyond the grid, where the likelihood is constant).

    Parameters
    ----------
    x, n : array-like of int
        CRs and patients per level.
    mu_prior, tau_prior : prior
        Priors of μ and τ (:mod:`bayesblina.core.priors` objects).
    weight : float
        Prior probability of exchangeability (1: plain partial pooling).
    nex : (float, float), optional
        Mean and SD of the non-exchangeable normal (needed when ``weight < 1``).
    n_tau, n_gh : int
        Number of τ nodes and of Gauss–Hermite nodes.
    step : float, optional
        Grid spacing on the logit scale (default ``min(0.02, 0.5 / sqrt(max n))``).

    Returns
    -------
    HierarchicalPosterior
    """
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    h = step if step is not None else min(0.02, 0.5 / np.sqrt(n.max()))
    m = round(THETA_HALF_WIDTH / h)
    theta = np.arange(-m, m + 1) * h
    mu_dist, tau_dist = scipy_prior(mu_prior), scipy_prior(tau_prior)
    lo, hi = np.clip(mu_dist.ppf([1e-10, 1 - 1e-10]), -30.0, 30.0)
    # μ on every second θ node (spacing 2 h: the μ posterior is wider than a level's)
    mu_idx = np.flatnonzero((theta >= lo - 2 * h) & (theta <= hi + 2 * h))[::2]
    mu = theta[mu_idx]
    med = float(tau_dist.median())
    t_hi = min(float(tau_dist.ppf(1 - 1e-10)), 1e4 * med)
    log_tau = np.linspace(np.log(1e-3 * med), np.log(t_hi), n_tau)
    tau = np.exp(log_tau)
    switch = 1.0  # AGHQ below (log-concave, near-Gaussian integrand), the grid above
    small = tau < switch
    shape = (x.size, mu.size, tau.size)
    log_i, e1, e2 = np.empty(shape), np.empty(shape), np.empty(shape)
    for j in range(x.size):
        if small.any():
            out = _aghq(x[j], n[j], mu[:, None], tau[None, small], n_gh)
            log_i[j][:, small], e1[j][:, small], e2[j][:, small] = out
        if (~small).any():
            out = _grid_moments(x[j], n[j], theta, mu_idx, tau[~small])
            log_i[j][:, ~small], e1[j][:, ~small], e2[j][:, ~small] = out
    p_ex = None
    if weight < 1.0:
        if nex is None:
            raise SpecError("EXNEX quadrature needs the NEX component (mean, sd)")
        with np.errstate(divide="ignore"):
            log_w, log_1mw = np.log(weight), np.log1p(-weight)
        p_ex = np.empty(shape)
        for j in range(x.size):
            ln, n1, n2 = _normal_moments(x[j], n[j], nex[0], nex[1], theta, switch, n_gh)
            log_ex = log_w + log_i[j]
            log_mix = np.logaddexp(log_ex, log_1mw + ln)
            p_ex[j] = np.exp(log_ex - log_mix)
            e1[j] = p_ex[j] * e1[j] + (1 - p_ex[j]) * n1
            e2[j] = p_ex[j] * e2[j] + (1 - p_ex[j]) * n2
            log_i[j] = log_mix
    trap_mu = np.full(mu.size, 2 * h)
    trap_mu[[0, -1]] *= 0.5
    trap_tau = np.full(tau.size, log_tau[1] - log_tau[0])
    trap_tau[[0, -1]] *= 0.5
    # below the first node the posterior density of τ is flat to O(τ): the integrand in
    # log τ is ∝ τ there, so the mass in (0, τ_0) is the integrand's value at τ_0
    trap_tau[0] += 1.0
    with np.errstate(divide="ignore"):
        log_post = (
            mu_dist.logpdf(mu)[:, None]
            + (tau_dist.logpdf(tau) + log_tau)[None, :]  # + log τ: the Jacobian of log τ
            + log_i.sum(0)
            + np.log(trap_mu)[:, None]
            + np.log(trap_tau)[None, :]
        )
    log_evidence = float(special.logsumexp(log_post))
    return HierarchicalPosterior(
        mu=mu,
        tau=tau,
        weight=np.exp(log_post - log_evidence),
        e1=e1,
        e2=e2,
        p_ex=p_ex,
        log_evidence=log_evidence,
    )


def beta_difference_prob(a: Any, b: Any) -> float:
    """P(p_a > p_b) for independent Beta distributions (scipy frozen), by 1-D quadrature."""
    val, _ = integrate.quad(
        lambda t: a.pdf(t) * b.cdf(t), 0.0, 1.0, limit=200, epsabs=1e-13, epsrel=1e-11
    )
    return float(val)


# --------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------


class SubgroupModel(BayesModel):
    """CR rate per level of one Fig 2 factor: partial (non-centred), no or complete pooling."""

    name: ClassVar[str] = "subgroups"
    DataSpec: ClassVar[type[BaseModel]] = SubgroupData
    PriorSetSpec: ClassVar[type[PriorSetBase]] = SubgroupPriors
    OptionsSpec: ClassVar[type[BaseModel]] = SubgroupOptions

    def __init__(self, data: pd.DataFrame, prior: Any, options: Any = None) -> None:
        super().__init__(data, prior, options)
        self._contrasts = self._resolve_contrasts()

    # -- settings ---------------------------------------------------------------------
    @property
    def pooling(self) -> str:
        """``"partial"``, ``"none"`` or ``"complete"`` (``"exnex"`` in the EXNEX model)."""
        return str(self.options.pooling)

    def needed_priors(self) -> tuple[str, ...]:
        """The parameters this model needs a prior for (and the only ones it accepts)."""
        return POOLING_PARAMS[self.pooling]

    def _check_prior(self, prior: Any) -> PriorSetBase:
        prior = super()._check_prior(prior)
        needed, given = set(self.needed_priors()), set(prior.parameter_priors())
        if needed != given:
            extra = sorted(given - needed)
            missing = sorted(needed - given)
            what = []
            if missing:
                what.append(f"missing {missing}")
            if extra:
                what.append(f"not used: {extra}")
            raise SpecError(
                f"{self._what()} needs priors for exactly {sorted(needed)} "
                f"({'; '.join(what)})"
            )
        return prior

    def _what(self) -> str:
        return f"subgroup model with pooling {self.pooling!r}"

    def factor(self) -> str:
        """The Fig 2 factor of the data (``"inline"`` for rows given in a spec)."""
        if "factor" in self.data and len(self.data):
            return str(self.data["factor"].iat[0])
        return "inline"

    def _resolve_contrasts(self) -> list[tuple[str, str]]:
        levels = list(self.data["subgroup"])
        if self.options.contrasts is None:
            pairs = DEFAULT_CONTRASTS.get(self.factor(), [])
            return [(a, b) for a, b in pairs if a in levels and b in levels]
        for a, b in self.options.contrasts:
            for level in (a, b):
                if level not in levels:
                    raise SpecError(
                        f"key 'options.contrasts': unknown subgroup level {level!r}; "
                        f"allowed: {levels}"
                    )
            if a == b:
                raise SpecError(f"key 'options.contrasts': level {a!r} contrasted with itself")
        return [(str(a), str(b)) for a, b in self.options.contrasts]

    def contrasts(self) -> list[tuple[str, str]]:
        """The (level a, level b) pairs reported as p(a) - p(b) (none for complete pooling)."""
        return [] if self.pooling == "complete" else list(self._contrasts)

    # -- data -------------------------------------------------------------------------
    @classmethod
    def load_data(cls, data_spec: Any) -> pd.DataFrame:
        """The levels of one Fig 2 factor or of the study phase (or the inline rows).

        Returns
        -------
        pandas.DataFrame
            Columns ``factor, subgroup, label, x, n, published_pct, published_ci_low,
            published_ci_high, source`` (published columns NaN for inline rows).
        """
        if data_spec.rows is not None:
            df = pd.DataFrame([r.model_dump() for r in data_spec.rows])
            df = df.rename(columns={"label": "subgroup"})
            df.insert(0, "factor", "inline")
            df.insert(2, "label", df["subgroup"])
            for col in ("published_pct", "published_ci_low", "published_ci_high"):
                df[col] = np.nan
            df["source"] = "spec"
            return df

        if data_spec.factor == PHASE_FACTOR:
            table = load_phase_levels(data_spec.file)
        else:
            table = load_subgroups(data_spec.file)
        rows = table[table["factor"] == data_spec.factor]
        if rows.empty:
            allowed = sorted(set(table["factor"]) - {"all"})
            raise SpecError(
                f"key 'data.factor': factor {data_spec.factor!r} is not in the subgroup "
                f"table; allowed: {allowed}"
            )
        rows = rows.sort_values("order")
        out = pd.DataFrame(
            {
                "factor": rows["factor"].astype(str).to_numpy(),
                "subgroup": rows["level"].astype(str).to_numpy(),
                "label": rows["label"].astype(str).to_numpy(),
                "x": rows["cr"].to_numpy(dtype="int64"),
                "n": rows["n"].to_numpy(dtype="int64"),
                "published_pct": rows["published_pct"].to_numpy(dtype=float),
                "published_ci_low": rows["published_ci_low"].to_numpy(dtype=float),
                "published_ci_high": rows["published_ci_high"].to_numpy(dtype=float),
                "source": rows["source"].astype(str).to_numpy(),
            }
        )
        return out

    @classmethod
    def validate_data(cls, data: pd.DataFrame) -> pd.DataFrame:
        """At least two unique levels, integer counts, n >= 1 and 0 <= x <= n per level."""
        missing = {"subgroup", "x", "n"} - set(data.columns)
        if missing:
            raise DataError(f"subgroup data: missing column(s) {sorted(missing)}")
        if len(data) < 2:
            raise DataError(f"subgroup data: need at least two levels (got {len(data)})")
        if data["subgroup"].duplicated().any():
            dup = list(data.loc[data["subgroup"].duplicated(), "subgroup"])
            raise DataError(f"subgroup data: duplicate level(s) {dup}")
        for _, row in data.iterrows():
            level, x, n = row["subgroup"], row["x"], row["n"]
            if pd.isna(x) or pd.isna(n) or int(x) != x or int(n) != n:
                raise DataError(f"subgroup {level!r}: counts must be integers (got x={x}, n={n})")
            if n < 1:
                raise DataError(
                    f"subgroup {level!r}: no patients (n = {n}); every level needs n >= 1"
                )
            if x < 0:
                raise DataError(f"subgroup {level!r}: negative CR count x = {x}")
            if x > n:
                raise DataError(f"subgroup {level!r}: CRs x={x} exceed patients n={n}")
        out = data.copy()
        out["subgroup"] = out["subgroup"].astype(str)
        out["x"] = out["x"].astype("int64")
        out["n"] = out["n"].astype("int64")
        if "factor" not in out:
            out.insert(0, "factor", "inline")
        if "label" not in out:
            out["label"] = out["subgroup"]
        for col in ("published_pct", "published_ci_low", "published_ci_high"):
            if col not in out:
                out[col] = np.nan
        return out

    def set_data(self, data: pd.DataFrame) -> SubgroupModel:
        """Replace the data (same factor structure: a new set of contrasts rebuilds)."""
        super().set_data(data)
        self._contrasts = self._resolve_contrasts()
        if self._model is not None and self.structure_key() != self._built_key:
            self._model = None
        return self

    # -- the graph --------------------------------------------------------------------
    def structure_key(self) -> tuple[Any, ...]:
        """Model, pooling, prior families and whether contrasts are reported."""
        return (*super().structure_key(), self.pooling, bool(self.contrasts()))

    def coords(self) -> dict[str, list[Any]]:
        """One coordinate per level (``subgroup``) and per reported contrast."""
        coords: dict[str, list[Any]] = {"subgroup": list(self.data["subgroup"])}
        if self.contrasts():
            coords["contrast"] = [contrast_label(a, b) for a, b in self.contrasts()]
        return coords

    def data_values(self) -> dict[str, np.ndarray]:
        """CRs ``x`` and patients ``n`` per level; level indices of each contrast."""
        out = {
            "x": self.data["x"].to_numpy(dtype="int64"),
            "n": self.data["n"].to_numpy(dtype="int64"),
        }
        if self.contrasts():
            levels = list(self.data["subgroup"])
            out["contrast_a"] = np.array([levels.index(a) for a, _ in self.contrasts()])
            out["contrast_b"] = np.array([levels.index(b) for _, b in self.contrasts()])
        return out

    def _prior_rv_named(self, param: str, rv_name: str, **kwargs: Any) -> Any:
        """Like :meth:`prior_rv`, but the variable is named ``rv_name``.

        The hyperparameter containers keep their names ``<param>__<hyper>``.
        """
        prior = self.prior.parameter_priors()[param]
        hyper = {
            h: pm.Data(f"{param}__{h}", np.asarray(v, dtype=float))
            for h, v in prior.hyperparameters().items()
        }
        return prior.distribution(rv_name, hyper, **kwargs)

    def _define(self) -> None:
        v = self.data_values()
        x = pm.Data("x", v["x"], dims="subgroup")
        n = pm.Data("n", v["n"], dims="subgroup")
        if self.pooling == "partial":
            mu = self.prior_rv("mu")
            tau = self.prior_rv("tau")
            z = pm.Normal("z", 0.0, 1.0, dims="subgroup")
            theta = pm.Deterministic("theta", mu + tau * z, dims="subgroup")
            p = pm.Deterministic("p", pm.math.invlogit(theta), dims="subgroup")
            pm.Binomial("y", n=n, logit_p=theta, observed=x, dims="subgroup")
        elif self.pooling == "none":
            p = self.prior_rv("p", dims="subgroup")
            pm.Binomial("y", n=n, p=p, observed=x, dims="subgroup")
        else:
            p_all = self._prior_rv_named("p", "p_all")
            p = pm.Deterministic("p", p_all * pt.ones(x.shape), dims="subgroup")
            pm.Binomial("y", n=n, p=p, observed=x, dims="subgroup")
        self._define_contrasts(p)

    def _define_contrasts(self, p: Any) -> None:
        if not self.contrasts():
            return
        v = self.data_values()
        a = pm.Data("contrast_a", v["contrast_a"], dims="contrast")
        b = pm.Data("contrast_b", v["contrast_b"], dims="contrast")
        pm.Deterministic("difference", p[a] - p[b], dims="contrast")

    # -- results ----------------------------------------------------------------------
    def gate_vars(self) -> list[str]:
        """Free parameters, CR rates and contrasts (not constant-by-design quantities)."""
        names = {
            "partial": ["mu", "tau", "z", "p"],
            "none": ["p"],
            "complete": ["p_all"],
        }[self.pooling]
        return names + (["difference"] if self.contrasts() else [])

    def summarise(self, idata: az.InferenceData, settings: SummarySettings) -> pd.DataFrame:
        """Long table: ``quantity`` (p, difference, mu, tau), ``population`` (level/contrast).

        CR rates get P(p > t) for the summary thresholds, contrasts P(diff > 0).
        """
        post = idata.posterior
        kw = {"ci_prob": settings.ci_prob, "hdi_prob": settings.hdi_prob}
        parts = []
        p = summarise_draws(post["p"], thresholds=settings.thresholds, label="p", **kw)
        p = p.rename(columns={"subgroup": "population"})
        if "p_ex" in post:
            p["P(exchangeable)"] = post["p_ex"].mean(dim=("chain", "draw")).values
        parts.append(p.assign(quantity="p"))
        if "difference" in post:
            d = summarise_draws(post["difference"], thresholds=[0.0], label="diff", **kw)
            parts.append(d.rename(columns={"contrast": "population"}).assign(quantity="difference"))
        for var in ("mu", "tau"):
            if var in post:
                parts.append(summarise_draws(post[var], **kw).assign(quantity=var, population=""))
        out = pd.concat(parts, ignore_index=True)
        return out[["quantity", "population", *[c for c in out if c not in ("quantity",
                                                                           "population")]]]

    def conjugate_posteriors(self) -> dict[str, Any]:
        """Exact Beta posterior of each level's CR rate (no or complete pooling; scipy frozen)."""
        if self.pooling not in ("none", "complete"):
            raise SpecError(f"no conjugate posterior for pooling {self.pooling!r}")
        a, b = self.prior.p.alpha, self.prior.p.beta  # type: ignore[attr-defined]
        d = self.data
        if self.pooling == "complete":
            x, n = int(d["x"].sum()), int(d["n"].sum())
            return {level: stats.beta(a + x, b + n - x) for level in d["subgroup"]}
        return {
            level: stats.beta(a + x, b + n - x)
            for level, x, n in zip(d["subgroup"], d["x"], d["n"], strict=True)
        }

    def quadrature(self, **kwargs: Any) -> HierarchicalPosterior:
        """The independent numerical integration over (μ, τ) (partial pooling and EXNEX)."""
        return hierarchical_posterior(
            self.data["x"], self.data["n"], self.prior.mu, self.prior.tau,  # type: ignore[attr-defined]
            **self._quadrature_kwargs(), **kwargs,
        )

    def _quadrature_kwargs(self) -> dict[str, Any]:
        return {}

    def exact_table(self, settings: SummarySettings) -> pd.DataFrame:
        """The summaries computed without MCMC.

        No / complete pooling: the conjugate Beta posteriors (every column). Partial
        pooling (and EXNEX): posterior means and SDs of every p_j, contrast, μ and τ by
        :func:`hierarchical_posterior`.
        """
        if self.pooling in ("none", "complete"):
            return self._conjugate_table(settings)
        post = self.quadrature()
        levels = list(self.data["subgroup"])
        rows: list[dict[str, Any]] = []
        p_ex = post.prob_exchangeable()
        if p_ex is None and self.pooling == "exnex":  # w = 1: every level exchangeable
            p_ex = np.ones(len(levels))
        for j, (m, s) in enumerate(zip(post.p_mean(), post.p_sd(), strict=True)):
            row = {"quantity": "p", "population": levels[j], "mean": float(m), "sd": float(s)}
            if p_ex is not None:
                row["P(exchangeable)"] = float(p_ex[j])
            rows.append(row)
        for a, b in self.contrasts():
            m, s = post.difference(levels.index(a), levels.index(b))
            rows.append({"quantity": "difference", "population": contrast_label(a, b),
                         "mean": m, "sd": s})
        for name, (m, s) in (("mu", post.mu_moments()), ("tau", post.tau_moments())):
            rows.append({"quantity": name, "population": "", "mean": m, "sd": s})
        return pd.DataFrame(rows)

    def _conjugate_table(self, settings: SummarySettings) -> pd.DataFrame:

        dists = self.conjugate_posteriors()
        rows: list[dict[str, Any]] = []
        for level, dist in dists.items():
            rows.append(exact_row(dist, settings, quantity="p", population=level))
        for a, b in self.contrasts():
            da, db = dists[a], dists[b]
            rows.append({
                "quantity": "difference", "population": contrast_label(a, b),
                "mean": float(da.mean() - db.mean()),
                "sd": float(np.sqrt(da.var() + db.var())),
                "P(diff>0)": beta_difference_prob(da, db),
            })
        return pd.DataFrame(rows)

    def reference_table(self) -> pd.DataFrame:
        """Raw proportion with its exact (Clopper–Pearson) 95% CI and the published values."""
        rows = []
        for _, r in self.data.iterrows():
            lo, hi = clopper_pearson(int(r["x"]), int(r["n"]))
            rows.append({
                "population": r["subgroup"],
                "label": r["label"],
                "x": int(r["x"]),
                "n": int(r["n"]),
                "observed": r["x"] / r["n"],
                "cp_low": lo,
                "cp_high": hi,
                "published_pct": r["published_pct"],
                "published_ci_low": r["published_ci_low"],
                "published_ci_high": r["published_ci_high"],
                "source": r.get("source", ""),
            })
        return pd.DataFrame(rows)

    def _short(self) -> str:
        return {"partial": "partial pooling", "none": "no pooling",
                "complete": "complete pooling", "exnex": "EXNEX"}[self.pooling]

    def _title(self) -> str:
        if self.factor() == PHASE_FACTOR:
            return ("CR within two cycles by study part: phase I PK expansion vs phase II "
                    "(70 patients at 5/15)")
        if self.factor() not in FACTOR_NAMES:
            return "CR by subgroup: observed and posterior"
        what = FACTOR_NAMES[self.factor()]
        return f"CR within two cycles by {what} (Fig 2, 70 patients at 5/15)"

    # -- LOO comparison ---------------------------------------------------------------
    def loo(self, idata: az.InferenceData) -> Any:
        """PSIS-LOO of a fit of this model, one point per level (leave one subgroup out)."""
        model = self.build()
        with model:
            pm.set_data({**self.data_values(), **self.prior_values()}, coords=self.coords())
            ll = pm.compute_log_likelihood(
                idata, var_names=["y"], extend_inferencedata=False, progressbar=False
            )
        ll = ll.log_likelihood if hasattr(ll, "log_likelihood") else ll
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the Pareto k are reported in the table
            return az.loo(az.InferenceData(posterior=idata.posterior, log_likelihood=ll),
                          pointwise=True)
