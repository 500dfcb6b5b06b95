r"""The exact check of the hierarchical subgroup models: quadrature over :math:`(\mu, \tau)`.

:func:`hierarchical_posterior` integrates the posterior of
:math:`\operatorname{logit} p_j \sim N(\mu, \tau^2)` (or the EXNEX mixture) numerically:
for each :math:`(\mu, \tau)` node, the marginal likelihood of each level is a 1-D integral
over the level's logit, by adaptive Gauss–Hermite quadrature for :math:`\tau < 1` and by a
fine trapezoid grid (an FFT convolution over all :math:`\mu` nodes at once, with exact
tails) otherwise. The population-level rate
:math:`\bar p(\mu, \tau) = E[\operatorname{expit}(\mu + \tau z)]`, :math:`z \sim N(0, 1)`,
is the same integral for a level without patients (likelihood 1), so its exact posterior
comes from the same nodes; :func:`population_rate` computes it per posterior draw.
:func:`beta_difference_prob` is the conjugate models' exact P(p_a > p_b).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import fft, integrate, special, stats

from bayesblina.errors import SpecError


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
    lse = special.logsumexp(a, axis=-1, keepdims=True)  # once: most of this function's time
    log_i = np.log(np.sqrt(2.0) * scale) + lse[..., 0]
    p = special.expit(theta)
    rp = np.exp(a - lse) * p
    return log_i, rp.sum(-1), (rp * p).sum(-1)


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
    ``p_ex`` the conditional probability that level j is exchangeable (EXNEX only);
    ``population`` (μ, τ) the population-level rate E[expit(μ + τ z)], z ~ N(0, 1), at
    each node.
    """

    mu: np.ndarray
    tau: np.ndarray
    weight: np.ndarray
    e1: np.ndarray
    e2: np.ndarray
    p_ex: np.ndarray | None
    log_evidence: float
    population: np.ndarray

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

    def population_moments(self) -> tuple[float, float]:
        """Posterior mean and SD of the population-level rate E[expit(μ + τ z)]."""
        m = float(np.sum(self.weight * self.population))
        second = float(np.sum(self.weight * self.population**2))
        return m, float(np.sqrt(max(second - m * m, 0.0)))

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
        The node weights and conditional moments; the population-level rate at each node
        is the conditional mean of a level with no patients (likelihood 1), by the same
        rules (Gauss–Hermite below τ = 1, the grid above).

    Raises
    ------
    SpecError
        If ``weight < 1`` and ``nex`` is not given.
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
    # the population-level rate: the conditional mean of a level without patients
    population = np.empty((mu.size, tau.size))
    if small.any():
        population[:, small] = _aghq(0.0, 0.0, mu[:, None], tau[None, small], n_gh)[1]
    if (~small).any():
        population[:, ~small] = _grid_moments(0.0, 0.0, theta, mu_idx, tau[~small])[1]
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
        population=population,
    )


def beta_difference_prob(a: Any, b: Any) -> float:
    """P(p_a > p_b) for independent Beta distributions (scipy frozen), by 1-D quadrature."""
    val, _ = integrate.quad(
        lambda t: a.pdf(t) * b.cdf(t), 0.0, 1.0, limit=200, epsabs=1e-13, epsrel=1e-11
    )
    return float(val)


#: Gauss–Hermite nodes of :func:`population_rate` (absolute error below 1e-10 for τ <= 2)
POPULATION_GH_NODES = 64
#: the τ above which :func:`population_rate` integrates on the θ grid instead
POPULATION_SWITCH = 2.0
#: spacing of that θ grid (over ±:data:`THETA_HALF_WIDTH`)
POPULATION_STEP = 0.02


def population_rate(mu: Any, tau: Any, *, chunk: int = 512) -> np.ndarray:
    r"""The population-level CR rate :math:`E[\operatorname{expit}(\mu + \tau z)]` per draw.

    Deterministic (no Monte Carlo over :math:`z \sim N(0, 1)`): Gauss–Hermite quadrature
    over :math:`z` with :data:`POPULATION_GH_NODES` nodes where
    :math:`\tau \le` :data:`POPULATION_SWITCH`. Above it the integrand is a step of width
    :math:`1/\tau` in :math:`z`, which a Gauss–Hermite rule resolves poorly (error
    3e-5 at τ = 5, 3e-3 at τ = 10), so there the integral
    :math:`\int \operatorname{expit}(\theta)\, N(\theta; \mu, \tau^2)\, d\theta` is a
    trapezoid on a θ grid of spacing :data:`POPULATION_STEP` over ±40 plus the exact normal
    tail above it (where expit is 1 to double precision).

    Parameters
    ----------
    mu, tau : array-like
        Posterior draws of μ and τ (any shape; broadcast together).
    chunk : int
        Draws integrated on the grid at once (memory only; the result does not depend on it).

    Returns
    -------
    numpy.ndarray
        The rate per draw, shaped as the broadcast draws.
    """
    mu, tau = np.broadcast_arrays(np.asarray(mu, dtype=float), np.asarray(tau, dtype=float))
    flat_mu, flat_tau = mu.ravel(), tau.ravel()
    out = np.empty(flat_mu.size)
    u, w = np.polynomial.hermite.hermgauss(POPULATION_GH_NODES)
    small = flat_tau <= POPULATION_SWITCH
    theta_gh = flat_mu[small, None] + np.sqrt(2.0) * flat_tau[small, None] * u
    out[small] = special.expit(theta_gh) @ w / np.sqrt(np.pi)
    large = np.flatnonzero(~small)
    if large.size:
        m = round(THETA_HALF_WIDTH / POPULATION_STEP)
        theta = np.arange(-m, m + 1) * POPULATION_STEP
        trap = np.full(theta.size, POPULATION_STEP)
        trap[[0, -1]] *= 0.5
        signal = special.expit(theta) * trap
        for start in range(0, large.size, chunk):
            idx = large[start : start + chunk]
            dens = stats.norm.pdf(theta[None, :], flat_mu[idx, None], flat_tau[idx, None])
            out[idx] = dens @ signal + stats.norm.sf(theta[-1], flat_mu[idx], flat_tau[idx])
    return out.reshape(mu.shape)
