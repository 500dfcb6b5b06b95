r"""Beta mixtures, the one prior family of the design tools (numpy and scipy only).

A prior for a response rate :math:`p` is a **beta mixture** :math:`\sum_k w_k \mathrm{Beta}(a_k,
b_k)` (:class:`BetaMixture`): conjugate to binomial data (the posterior is again a beta mixture,
with weights updated by each component's marginal likelihood), closed under robustification,
and able to approximate any smooth prior on (0, 1). The Bayesian single-arm designs
(:mod:`bayesblina.design.monitoring`), the priors for the next trial
(:mod:`bayesblina.design.priors`) and the probability of success
(:mod:`bayesblina.design.assurance`) all take one.

:func:`as_beta_mixture` reads the shorter forms a design accepts: ``(a, b)`` for a single Beta,
``[(w, a, b), ...]`` for a mixture. :func:`posterior_prob_above` gives
:math:`P(p > p_0 \mid y)` for every outcome of a trial at once.

This module imports no sampler: ``import bayesblina.design`` stays light.

References
----------
.. [1] Schmidli H, Gsteiger S, Roychoudhury S, O'Hagan A, Spiegelhalter D, Neuenschwander B.
   Robust meta-analytic-predictive priors in clinical trials with historical control
   information. Biometrics 2014;70(4):1023-1032.
.. [2] Lee JJ, Liu DD. A predictive probability design for phase II cancer clinical trials.
   Clinical Trials 2008;5(2):93-106.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from bayesblina.design.checks import check_int, check_prob
from bayesblina.errors import SpecError

__all__ = [
    "WEIGHT_SUM_TOL",
    "BetaMixture",
    "PriorLike",
    "as_beta_mixture",
    "posterior_prob_above",
]

#: How far the mixture weights may sum away from 1 before they are refused.
WEIGHT_SUM_TOL = 1e-9

# --------------------------------------------------------------------------------------
# Argument checks (one SpecError each, naming the argument, the value and what is allowed)
# --------------------------------------------------------------------------------------










def _check_counts(x: object, n: object, *, x_name: str = "x", n_name: str = "n") -> tuple[int, int]:
    """Validate responders ``x`` among ``n`` patients: integers with ``0 <= x <= n``."""
    n_ = check_int(n_name, n, 0)
    x_ = check_int(x_name, x, 0)
    if x_ > n_:
        raise SpecError(
            f"{x_name} = {x_} is invalid: the responders must satisfy 0 <= {x_name} <= "
            f"{n_name} = {n_}"
        )
    return x_, n_


def _check_mixture(name: str, value: object) -> BetaMixture:
    """Require a :class:`BetaMixture`."""
    if not isinstance(value, BetaMixture):
        raise SpecError(
            f"{name} = {value!r} is invalid: it must be a BetaMixture "
            "(e.g. BetaMixture.beta(1, 1))"
        )
    return value


def _vector(name: str, value: object) -> np.ndarray:
    """A 1-D float array from ``value`` (a scalar counts as one component)."""
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=float))
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{name} = {value!r} is invalid: it must be a list of numbers") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise SpecError(f"{name} = {value!r} is invalid: it must be a non-empty list of numbers")
    return arr.copy()


def _list(arr: np.ndarray) -> list[float]:
    return [float(v) for v in arr]



# --------------------------------------------------------------------------------------
# Beta mixtures
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BetaMixture:
    r"""A mixture of beta distributions, :math:`\sum_k w_k \mathrm{Beta}(a_k, b_k)`.

    Attributes
    ----------
    weights : numpy.ndarray
        Mixture weights, each in [0, 1], summing to 1 within :data:`WEIGHT_SUM_TOL`
        (``1e-9``); stored divided by their sum, so that they sum to 1 to rounding.
    a, b : numpy.ndarray
        Shape parameters of the components, finite and > 0.

    Notes
    -----
    The arrays are read-only (the object is a value). A component of weight 0 is allowed
    (e.g. a robust component switched off); it contributes nothing to any density or
    probability and is dropped before every effective sample size (:func:`ess`), so that it
    cannot change one (RBesT issue #18: an ELIR error from a zero-weight component).
    Two mixtures are equal (and hash alike) when their weights and shape parameters are
    equal, component by component and in order.

    Examples
    --------
    >>> prior = BetaMixture([0.8, 0.2], [10.0, 1.0], [20.0, 1.0])
    >>> round(prior.mean(), 4)
    0.3667
    >>> post = prior.posterior(14, 44)
    >>> post.a.tolist(), post.b.tolist()
    ([24.0, 15.0], [50.0, 31.0])
    """

    weights: np.ndarray
    a: np.ndarray
    b: np.ndarray

    def __post_init__(self) -> None:
        w = _vector("weights", self.weights)
        a = _vector("a", self.a)
        b = _vector("b", self.b)
        if not (w.size == a.size == b.size):
            raise SpecError(
                f"weights, a and b have {w.size}, {a.size} and {b.size} entries: every "
                "component needs one weight, one a and one b"
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0) or np.any(w > 1):
            raise SpecError(
                f"weights = {_list(w)} is invalid: every weight must be a number in [0, 1]"
            )
        total = float(w.sum())
        if abs(total - 1.0) > WEIGHT_SUM_TOL:
            raise SpecError(
                f"weights = {_list(w)} is invalid: they sum to {total!r}, and must sum to 1 "
                f"(within {WEIGHT_SUM_TOL:g})"
            )
        for name, arr in (("a", a), ("b", b)):
            if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
                raise SpecError(
                    f"{name} = {_list(arr)} is invalid: every shape parameter must be a "
                    "finite number > 0"
                )
        w = w / total
        for arr in (w, a, b):
            arr.setflags(write=False)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)

    # -- construction ------------------------------------------------------------------
    @classmethod
    def beta(cls, a: float, b: float) -> BetaMixture:
        """A single Beta(a, b) as a one-component mixture."""
        return cls([1.0], [a], [b])

    @property
    def n_components(self) -> int:
        """Number of components (zero-weight ones included)."""
        return int(self.weights.size)

    def active(self) -> BetaMixture:
        """The same distribution without its zero-weight components."""
        keep = self.weights > 0
        if keep.all():
            return self
        return BetaMixture(self.weights[keep], self.a[keep], self.b[keep])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BetaMixture):
            return NotImplemented
        return all(
            x.shape == y.shape and bool(np.array_equal(x, y))
            for x, y in ((self.weights, other.weights), (self.a, other.a), (self.b, other.b))
        )

    def __hash__(self) -> int:
        return hash((self.weights.tobytes(), self.a.tobytes(), self.b.tobytes()))

    def __repr__(self) -> str:
        return f"BetaMixture(weights={_list(self.weights)}, a={_list(self.a)}, b={_list(self.b)})"

    # -- moments -----------------------------------------------------------------------
    def mean(self) -> float:
        r"""Mean :math:`\sum_k w_k a_k / (a_k + b_k)`."""
        return float(np.sum(self.weights * self.a / (self.a + self.b)))

    def variance(self) -> float:
        """Variance: within-component variances plus the spread of the component means."""
        s = self.a + self.b
        m_k = self.a / s
        v_k = self.a * self.b / (s * s * (s + 1.0))
        m = float(np.sum(self.weights * m_k))
        return float(np.sum(self.weights * (v_k + (m_k - m) ** 2)))

    def sd(self) -> float:
        """Standard deviation."""
        return float(np.sqrt(self.variance()))

    # -- densities ---------------------------------------------------------------------
    def _log_components(self, x: np.ndarray) -> np.ndarray:
        """``log w_k + log Beta(x; a_k, b_k)`` for the active components, shape (..., K)."""
        m = self.active()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(m.weights) + stats.beta.logpdf(x[..., None], m.a, m.b)

    def logpdf(self, x: Any) -> Any:
        """Log density at ``x`` (``-inf`` outside [0, 1]); array in, array out."""
        arr = np.asarray(x, dtype=float)
        out = special.logsumexp(self._log_components(arr), axis=-1)
        return float(out) if arr.ndim == 0 else out

    def pdf(self, x: Any) -> Any:
        """Density at ``x``."""
        out = np.exp(self.logpdf(x))
        return float(out) if np.ndim(out) == 0 else out

    def cdf(self, x: Any) -> Any:
        r"""Distribution function :math:`P(p \le x)`."""
        arr = np.asarray(x, dtype=float)
        out = np.sum(self.weights * special.betainc(self.a, self.b, np.clip(arr, 0, 1)[..., None]),
                     axis=-1)
        return float(out) if arr.ndim == 0 else out

    def sf(self, x: Any) -> Any:
        """Survival function :math:`P(p > x)`, accurate in the upper tail."""
        arr = np.asarray(x, dtype=float)
        out = np.sum(
            self.weights * special.betaincc(self.a, self.b, np.clip(arr, 0, 1)[..., None]),
            axis=-1,
        )
        return float(out) if arr.ndim == 0 else out

    def info(self, x: Any) -> Any:
        r"""Local information :math:`-\frac{d^2}{dp^2} \log f(p)` at ``x`` in (0, 1).

        Computed as :math:`\sum_k r_k i_k - \sum_k r_k (g_k - \bar g)^2`, with :math:`r_k(p)`
        the component responsibilities, :math:`g_k` and :math:`i_k` the score and information
        of component *k* and :math:`\bar g = \sum_k r_k g_k`; the identity follows from
        :math:`(\log f)'' = f''/f - (f'/f)^2`, and the variance term (never negative) avoids
        the cancellation of that form.
        """
        arr = np.asarray(x, dtype=float)
        m = self.active()
        lc = m._log_components(arr)
        r = np.exp(lc - special.logsumexp(lc, axis=-1, keepdims=True))
        t = arr[..., None]
        g = (m.a - 1) / t - (m.b - 1) / (1 - t)
        i_k = (m.a - 1) / t**2 + (m.b - 1) / (1 - t) ** 2
        mean_g = np.sum(r * g, axis=-1, keepdims=True)
        var_g = np.sum(r * (g - mean_g) ** 2, axis=-1)
        out = np.sum(r * i_k, axis=-1) - var_g
        return float(out) if arr.ndim == 0 else out

    # -- conjugate updating ------------------------------------------------------------
    def posterior(self, x: int, n: int) -> BetaMixture:
        r"""The posterior after ``x`` responders among ``n`` patients.

        Component *k* becomes :math:`\mathrm{Beta}(a_k + x, b_k + n - x)` and its weight is
        proportional to :math:`w_k\, B(a_k + x, b_k + n - x) / B(a_k, b_k)`, the
        beta-binomial marginal likelihood of the data under it (the binomial coefficient is
        common to all components); the weights are computed in log space.

        Raises
        ------
        bayesblina.errors.SpecError
            Unless ``x`` and ``n`` are integers with ``0 <= x <= n``.
        """
        x_, n_ = _check_counts(x, n)
        with np.errstate(divide="ignore"):
            logw = (
                np.log(self.weights)
                + special.betaln(self.a + x_, self.b + n_ - x_)
                - special.betaln(self.a, self.b)
            )
        w = np.exp(logw - special.logsumexp(logw))
        return BetaMixture(w, self.a + x_, self.b + (n_ - x_))

    def _posterior_weights(self, n: int) -> np.ndarray:
        """Posterior weights for every outcome ``y = 0..n``: shape (n + 1, K)."""
        y = np.arange(n + 1)[:, None]
        with np.errstate(divide="ignore"):
            logw = (
                np.log(self.weights)
                + special.betaln(self.a + y, self.b + n - y)
                - special.betaln(self.a, self.b)
            )
        return np.exp(logw - special.logsumexp(logw, axis=1, keepdims=True))

    def predictive_pmf(self, m: int) -> np.ndarray:
        r"""Prior predictive distribution of the responders among ``m`` new patients.

        :math:`P(Y = y) = \sum_k w_k \binom{m}{y} B(a_k + y, b_k + m - y) / B(a_k, b_k)`,
        a mixture of beta-binomials, for ``y = 0..m`` (computed in log space).

        Raises
        ------
        bayesblina.errors.SpecError
            Unless ``m`` is an integer >= 1.
        """
        m_ = check_int("m", m, 1)
        act = self.active()
        y = np.arange(m_ + 1)[:, None]
        log_choose = (
            special.gammaln(m_ + 1) - special.gammaln(y + 1) - special.gammaln(m_ - y + 1)
        )
        logp = (
            np.log(act.weights)
            + log_choose
            + special.betaln(act.a + y, act.b + m_ - y)
            - special.betaln(act.a, act.b)
        )
        return np.exp(special.logsumexp(logp, axis=1))

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` independent draws: a component by its weight, then a beta draw from it.

        Raises
        ------
        bayesblina.errors.SpecError
            If ``size`` is not an integer >= 1 or ``rng`` is not a ``numpy.random.Generator``.
        """
        size_ = check_int("size", size, 1)
        if not isinstance(rng, np.random.Generator):
            raise SpecError(
                f"rng = {rng!r} is invalid: it must be a numpy.random.Generator "
                "(numpy.random.default_rng(seed))"
            )
        k = rng.choice(self.n_components, size=size_, p=self.weights)
        return rng.beta(self.a[k], self.b[k])

    # -- mode --------------------------------------------------------------------------
    def _mode(self) -> tuple[float, bool, int]:
        """``(mode, interior, number of local maxima)``; a boundary mode is 0.0 or 1.0.

        A component with ``a < 1`` (``b < 1``) makes the density unbounded at 0 (1), which is
        then the mode. Otherwise the log density is scanned on 4001 points equally spaced in
        logit(p) over [-40, 40] together with every component's mode and mean (so that a
        narrow component is never missed), and the best point is refined by Brent's bounded
        method between its two neighbours.
        """
        m = self.active()
        if np.any(m.a < 1):
            return 0.0, False, 1
        if np.any(m.b < 1):
            return 1.0, False, 1
        u = [np.linspace(-40.0, 40.0, 4001), special.logit(m.a / (m.a + m.b))]
        inner = (m.a > 1) & (m.b > 1)
        if inner.any():
            u.append(special.logit((m.a[inner] - 1) / (m.a[inner] + m.b[inner] - 2)))
        grid = np.unique(np.concatenate(u))
        f = m.logpdf(special.expit(grid))
        i = int(np.argmax(f))
        n_max = int(np.sum((f[1:-1] > f[:-2]) & (f[1:-1] > f[2:])))
        if i == 0:
            return 0.0, False, max(n_max, 1)
        if i == grid.size - 1:
            return 1.0, False, max(n_max, 1)
        res = optimize.minimize_scalar(
            lambda v: -m.logpdf(special.expit(v)),
            bounds=(grid[i - 1], grid[i + 1]),
            method="bounded",
            options={"xatol": 1e-12},
        )
        best = res.x if -res.fun >= f[i] else grid[i]
        return float(special.expit(best)), True, max(n_max, 1)


# --------------------------------------------------------------------------------------
# The shorter forms of a prior
# --------------------------------------------------------------------------------------

#: What a prior may be given as: ``(a, b)``, ``[(w, a, b), ...]`` or a :class:`BetaMixture`.
PriorLike = BetaMixture | tuple[float, float] | Sequence[tuple[float, float, float]]


def _check_shape(name: str, value: object) -> float:
    """A shape parameter of a prior given in a short form: a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpecError(f"{name} = {value!r} is invalid: it must be a finite number > 0")
    x = float(value)
    if not (np.isfinite(x) and x > 0.0):
        raise SpecError(f"{name} = {value!r} is invalid: it must be a finite number > 0")
    return x


def _from_components(weights: Sequence[Any], a: Sequence[Any], b: Sequence[Any],
                     name: str) -> BetaMixture:
    """A mixture from its components, each number checked and named (``prior a ...``)."""
    if not (len(weights) == len(a) == len(b)) or len(weights) == 0:
        raise SpecError(
            f"{name} weights, a and b = {tuple(weights)!r}, {tuple(a)!r}, {tuple(b)!r} are "
            "invalid: they must be non-empty and of one length (one entry per mixture "
            "component)"
        )
    w = tuple(check_prob(f"{name} weight {i + 1}", v, closed=True) for i, v in enumerate(weights))
    aa = tuple(_check_shape(f"{name} a (component {i + 1})", v) for i, v in enumerate(a))
    bb = tuple(_check_shape(f"{name} b (component {i + 1})", v) for i, v in enumerate(b))
    total = sum(w)
    if abs(total - 1.0) > WEIGHT_SUM_TOL:
        raise SpecError(
            f"{name} weights = {w!r} are invalid: they sum to {total!r}, and must sum to 1"
        )
    return BetaMixture(w, aa, bb)


def as_beta_mixture(prior: PriorLike, *, name: str = "prior") -> BetaMixture:
    """A prior given as ``(a, b)``, a list of ``(weight, a, b)`` or a :class:`BetaMixture`.

    Parameters
    ----------
    prior : PriorLike
        A :class:`BetaMixture`; ``(a, b)``: a ``Beta(a, b)`` prior;
        ``[(w1, a1, b1), (w2, a2, b2), ...]``: the mixture
        ``sum_k w_k Beta(a_k, b_k)``; any other object with sequences ``weights``, ``a`` and
        ``b`` (another beta-mixture class) is read as that mixture.
    name : str, default "prior"
        How messages name the prior.

    Returns
    -------
    ~bayesblina.design.mixture.BetaMixture
        ``prior`` itself if it is one.

    Raises
    ------
    bayesblina.errors.SpecError
        If ``prior`` has none of these forms, or a number is invalid: the message names the
        component (``prior a (component 2) = 0 is invalid: ...``, ``prior weight 1 = 1.2``,
        ``prior weights ... sum to 0.9``).

    References
    ----------
    .. [1] Lee JJ, Liu DD. A predictive probability design for phase II cancer
       clinical trials. Clinical Trials 2008;5(2):93-106.

    Examples
    --------
    >>> as_beta_mixture((0.6, 0.4))
    BetaMixture(weights=[1.0], a=[0.6], b=[0.4])
    >>> as_beta_mixture([(0.75, 1, 1), (0.25, 25, 15)]).weights.tolist()
    [0.75, 0.25]
    """
    if isinstance(prior, BetaMixture):
        return prior
    if all(hasattr(prior, k) for k in ("weights", "a", "b")):  # another mixture type
        w, a, b = (tuple(np.ravel(getattr(prior, k)).tolist()) for k in ("weights", "a", "b"))
        return _from_components(w, a, b, name)
    allowed = ("give (a, b) for a Beta(a, b) prior or a list of (weight, a, b) for a "
               "beta mixture")
    if isinstance(prior, str) or not isinstance(prior, Sequence) or len(prior) == 0:
        raise SpecError(f"{name} = {prior!r} is invalid: {allowed}")
    if all(isinstance(v, numbers.Real) for v in prior):
        if len(prior) != 2:
            raise SpecError(f"{name} = {prior!r} is invalid: {allowed}")
        return _from_components((1.0,), (prior[0],), (prior[1],), name)
    comps = []
    for comp in prior:
        if isinstance(comp, str) or not isinstance(comp, Sequence) or len(comp) != 3:
            raise SpecError(f"{name} = {prior!r} is invalid: {allowed} (component {comp!r})")
        comps.append(tuple(comp))
    w, a, b = zip(*comps, strict=True)
    return _from_components(w, a, b, name)


# --------------------------------------------------------------------------------------
# Posterior probabilities of every outcome
# --------------------------------------------------------------------------------------


def posterior_prob_above(prior: BetaMixture, n: int, p0: float) -> np.ndarray:
    r""":math:`P(p > p_0 \mid y)` under ``prior`` for every outcome ``y = 0..n`` of ``n`` patients.

    Computed as :math:`\sum_k w_k(y)\, (1 - I_{p_0}(a_k + y, b_k + n - y))` with the
    posterior weights :math:`w_k(y)` of every outcome at once (one array of shape
    ``(n + 1, K)``).

    Parameters
    ----------
    prior : ~bayesblina.design.mixture.BetaMixture
        The analysis prior.
    n : int
        Patients, >= 1.
    p0 : float
        The rate to exceed, in (0, 1).

    Returns
    -------
    numpy.ndarray
        Shape ``(n + 1,)``: entry ``y`` is :math:`P(p > p_0 \mid y \text{ of } n)`.

    Raises
    ------
    bayesblina.errors.SpecError
        If ``n`` is not an integer >= 1 or ``p0`` is outside (0, 1).

    References
    ----------
    .. [1] Lee JJ, Liu DD. Clinical Trials 2008;5(2):93-106 (the posterior probability
       rule).

    Examples
    --------
    >>> posterior_prob_above(BetaMixture.beta(1, 1), 3, 0.5).round(4).tolist()
    [0.0625, 0.3125, 0.6875, 0.9375]
    """
    mix = _check_mixture("prior", prior).active()
    n_ = check_int("n", n, 1)
    p0_ = check_prob("p0", p0)
    w = mix._posterior_weights(n_)
    y = np.arange(n_ + 1)[:, None]
    return np.sum(w * special.betaincc(mix.a + y, mix.b + n_ - y, p0_), axis=1)

