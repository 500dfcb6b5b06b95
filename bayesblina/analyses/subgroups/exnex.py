r"""EXNEX: exchangeable or non-exchangeable subgroups (Neuenschwander et al. 2016).

Neuenschwander B, Wandel S, Roychoudhury S, Bailey S. Robust exchangeability designs for
early phase clinical trials with multiple strata. *Pharm Stat* 2016; 15: 123–134.

Each level's logit CR rate :math:`\theta_j` is exchangeable with the others (EX) with
prior probability :math:`w`, or non-exchangeable (NEX) with its own prior:

.. math::

    \theta_j \sim w\, N(\mu, \tau^2) + (1 - w)\, N(m_\mathrm{nex}, s_\mathrm{nex}^2),
    \qquad x_j \sim \mathrm{Binomial}(n_j, \operatorname{expit}\theta_j).

As in the BUGS code of the paper, each level has both an exchangeable logit
:math:`\theta^\mathrm{ex}_j = \mu + \tau z_j` (non-centred, :math:`z_j \sim N(0, 1)`)
and a non-exchangeable one :math:`\theta^\mathrm{nex}_j = m_\mathrm{nex} + s_\mathrm{nex}
u_j` (:math:`u_j \sim N(0, 1)`); the discrete indicator :math:`\delta_j` (1: EX) is
marginalised out of the likelihood,

.. math::

    p(x_j \mid \cdot) = w\, \mathrm{Bin}(x_j \mid n_j, \operatorname{expit}
    \theta^\mathrm{ex}_j) + (1 - w)\, \mathrm{Bin}(x_j \mid n_j, \operatorname{expit}
    \theta^\mathrm{nex}_j)

(a ``pm.CustomDist``), so NUTS samples only continuous, standard-normal-scaled parameters.
Two single-logit alternatives were tried and rejected: :math:`\theta_j` with the mixture
prior density (``pm.NormalMixture``, centred) mixes :math:`\tau` poorly (tail ESS of a
few dozen in 4000 draws), and its non-centred transform
:math:`z_j = (\theta_j - \mu)/\tau` diverges (a NEX level ties :math:`z_j` to
:math:`\mu, \tau`).

The conditional probability that level *j* is exchangeable,

.. math::

    P(\delta_j = 1 \mid \cdot, x_j) = \frac{w\, \mathrm{Bin}(x_j \mid
    \theta^\mathrm{ex}_j)}{w\, \mathrm{Bin}(x_j \mid \theta^\mathrm{ex}_j) + (1 - w)\,
    \mathrm{Bin}(x_j \mid \theta^\mathrm{nex}_j)},

is the Deterministic ``p_ex``; its posterior mean is the reported P(exchangeable)
(Rao–Blackwellised). After sampling, :meth:`ExnexModel.fit` draws :math:`\delta_j` from
it at every draw, which gives the posterior of the level's CR rate
:math:`p_j = \operatorname{expit}\theta^{\delta_j}_j` (``p``) and of the contrasts.
:math:`w = 1` is partial pooling, :math:`w = 0` no pooling with a logit-normal prior.
The independent check is
:func:`bayesblina.analyses.subgroups.quadrature.hierarchical_posterior` with the mixture
prior :math:`\theta_j \sim w N(\mu, \tau^2) + (1 - w) N(m_\mathrm{nex},
s_\mathrm{nex}^2)`, which is the same model with the latent pair integrated out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pydantic import BaseModel
from scipy import special

from bayesblina.analyses.subgroups.data import SubgroupData, contrast_label
from bayesblina.analyses.subgroups.model import SubgroupModel
from bayesblina.analyses.subgroups.spec import ExnexOptions, ExnexPriors
from bayesblina.core.model import PriorSetBase
from bayesblina.core.sampling import sample
from bayesblina.core.spec import SamplerSettings

if TYPE_CHECKING:
    import arviz as az

__all__ = ["ExnexModel", "ExnexOptions", "ExnexPriors"]


def _binomial_logit_loglik(x: Any, n: Any, theta: Any) -> Any:
    """Log Bin(x | n, expit θ) without the binomial coefficient (stable: softplus)."""
    return -x * pt.softplus(-theta) - (n - x) * pt.softplus(theta)


def _mixture_logp(value: Any, theta_ex: Any, theta_nex: Any, w: Any, n: Any) -> Any:
    """Log of w Bin(x | expit θ_ex) + (1 - w) Bin(x | expit θ_nex) (indicator marginalised)."""
    const = pt.gammaln(n + 1) - pt.gammaln(value + 1) - pt.gammaln(n - value + 1)
    ex = pt.log(w) + _binomial_logit_loglik(value, n, theta_ex)
    nex = pt.log1p(-w) + _binomial_logit_loglik(value, n, theta_nex)
    return const + pm.math.logaddexp(ex, nex)


def _mixture_random(
    theta_ex: Any, theta_nex: Any, w: Any, n: Any, rng: Any = None, size: Any = None
) -> np.ndarray:
    """Draw the indicator, then the CR count (posterior predictive)."""
    rng = np.random.default_rng(rng)
    ex = rng.uniform(size=size) < w
    return rng.binomial(n, special.expit(np.where(ex, theta_ex, theta_nex)), size=size)


class ExnexModel(SubgroupModel):
    """EXNEX mixture over the levels of one Fig 2 factor (marginalised indicator)."""

    name: ClassVar[str] = "exnex"
    DataSpec: ClassVar[type[BaseModel]] = SubgroupData
    PriorSetSpec: ClassVar[type[PriorSetBase]] = ExnexPriors
    OptionsSpec: ClassVar[type[BaseModel]] = ExnexOptions

    def coords(self) -> dict[str, list[Any]]:
        """One coordinate per level (contrasts are added to the posterior after sampling)."""
        return {"subgroup": list(self.data["subgroup"])}

    def data_values(self) -> dict[str, np.ndarray]:
        """CRs, patients and the weight ``w``."""
        return {
            "x": self.data["x"].to_numpy(dtype="int64"),
            "n": self.data["n"].to_numpy(dtype="int64"),
            "w": np.asarray(self.options.weight, dtype=float),
        }

    def _define(self) -> None:
        v = self.data_values()
        x = pm.Data("x", v["x"], dims="subgroup")
        n = pm.Data("n", v["n"], dims="subgroup")
        w = pm.Data("w", v["w"])
        mu = self.prior_rv("mu")
        tau = self.prior_rv("tau")
        nex = self.prior.nex  # type: ignore[attr-defined]
        m = pm.Data("nex__mu", np.asarray(nex.mu, dtype=float))
        s = pm.Data("nex__sigma", np.asarray(nex.sigma, dtype=float))
        z = pm.Normal("z", 0.0, 1.0, dims="subgroup")
        u = pm.Normal("u", 0.0, 1.0, dims="subgroup")
        theta_ex = pm.Deterministic("theta_ex", mu + tau * z, dims="subgroup")
        theta_nex = pm.Deterministic("theta_nex", m + s * u, dims="subgroup")
        pm.CustomDist(
            "y", theta_ex, theta_nex, w, n,
            logp=_mixture_logp, random=_mixture_random, observed=x, dims="subgroup",
        )
        log_ex = pt.log(w) + _binomial_logit_loglik(x, n, theta_ex)
        log_nex = pt.log1p(-w) + _binomial_logit_loglik(x, n, theta_nex)
        pm.Deterministic(
            "p_ex", pt.exp(log_ex - pm.math.logaddexp(log_ex, log_nex)), dims="subgroup"
        )

    def fit(
        self, settings: SamplerSettings | None = None, *, provenance: dict[str, Any] | None = None
    ) -> az.InferenceData:
        """Sample, then draw each level's EX/NEX indicator given every posterior draw.

        Adds to the posterior ``exchangeable`` (the indicator), ``p`` (the level's CR rate:
        expit of ``theta_ex`` or ``theta_nex`` as the indicator says) and ``difference``
        (the contrasts). The indicators use their own generator, seeded by the sampler's
        seed, so a fit is reproducible.
        """
        settings = settings or SamplerSettings()
        idata = sample(self, settings, provenance=provenance)
        post = idata.posterior
        rng = np.random.default_rng([settings.seed, 1])
        ex = rng.uniform(size=post["p_ex"].shape) < post["p_ex"].values
        p = np.where(ex, special.expit(post["theta_ex"].values),
                     special.expit(post["theta_nex"].values))
        dims = post["p_ex"].dims
        post["exchangeable"] = (dims, ex.astype("int8"))
        post["p"] = (dims, p)
        if self.contrasts():
            levels = list(self.data["subgroup"])
            a = [levels.index(first) for first, _ in self.contrasts()]
            b = [levels.index(second) for _, second in self.contrasts()]
            labels = [contrast_label(first, second) for first, second in self.contrasts()]
            post["difference"] = (("chain", "draw", "contrast"), p[..., a] - p[..., b])
            post = post.assign_coords(contrast=labels)
        idata.posterior = post
        return idata

    def gate_vars(self) -> list[str]:
        """Free parameters, the conditional P(EX), CR rates and contrasts."""
        return ["mu", "tau", "z", "u", "p_ex", "p"] + (["difference"] if self.contrasts() else [])

    def quadrature_options(self) -> dict[str, Any]:
        """The EXNEX weight and the NEX normal (mean, SD) for the quadrature."""
        nex = self.prior.nex  # type: ignore[attr-defined]
        return {"weight": float(self.options.weight), "nex": (float(nex.mu), float(nex.sigma))}
