"""Priors as data: one pydantic model per distribution family.

A prior in a spec is a small TOML table such as ``{ family = "beta", alpha = 1, beta = 9 }``.
Each family declares its hyperparameters and their allowed ranges, so a typo or a
negative scale is caught when the spec is loaded, not when the sampler runs.
Hyperparameters enter the PyMC model as ``pm.Data`` (see :mod:`bayesblina.core.model`),
which is why a prior change is a refit, never a rebuild.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import pymc as pm
import pytensor.tensor as pt
from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The range of a hyperparameter: what PyMC's log densities and their gradients evaluate
#: in double precision at every draw. A location lies in [-1e6, 1e6]; a scale, shape or
#: concentration in [1e-6, 1e6] (a Beta(1e6, 1e6) already weighs as much as two million
#: patients; one of 1e308 overflows the log-Beta function to inf). Every value is finite.
HYPER_MAX = 1e6
HYPER_MIN_POSITIVE = 1e-6
Positive = Annotated[float, Field(ge=HYPER_MIN_POSITIVE, le=HYPER_MAX, allow_inf_nan=False)]
Location = Annotated[float, Field(ge=-HYPER_MAX, le=HYPER_MAX, allow_inf_nan=False)]


class _Prior(BaseModel):
    """Common behaviour of every prior family."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: str
    #: support of the distribution: "unit" (0, 1), "positive" or "real"
    support: ClassVar[str]

    def hyperparameters(self) -> dict[str, Any]:
        """Return the hyperparameters by name, in declaration order (floats or lists)."""
        return {k: v for k, v in self.model_dump().items() if k != "family"}

    #: the PyMC distribution; hyperparameter names are its keyword arguments
    pymc_class: ClassVar[str]

    @classmethod
    def distribution(cls, name: str, hyper: dict[str, Any], **kwargs: Any) -> Any:
        """Create the PyMC random variable ``name`` with hyperparameters ``hyper``."""
        return getattr(pm, cls.pymc_class)(name, **hyper, **kwargs)


class BetaPrior(_Prior):
    """Beta(alpha, beta) on a proportion."""

    family: Literal["beta"]
    alpha: Positive
    beta: Positive
    support: ClassVar[str] = "unit"
    pymc_class: ClassVar[str] = "Beta"


    @property
    def mean(self) -> float:
        """Prior mean alpha / (alpha + beta)."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def ess(self) -> float:
        """Prior effective sample size alpha + beta (Morita, Thall & Müller 2008)."""
        return self.alpha + self.beta


class NormalPrior(_Prior):
    """Normal(mu, sigma) on a real parameter."""

    family: Literal["normal"]
    mu: Location = 0.0
    sigma: Positive
    support: ClassVar[str] = "real"
    pymc_class: ClassVar[str] = "Normal"



class StudentTPrior(_Prior):
    """Student-t(nu, mu, sigma) on a real parameter."""

    family: Literal["student_t"]
    nu: Positive
    mu: Location = 0.0
    sigma: Positive
    support: ClassVar[str] = "real"
    pymc_class: ClassVar[str] = "StudentT"



class HalfNormalPrior(_Prior):
    """Half-normal(sigma) on a positive parameter (e.g. a between-subgroup SD)."""

    family: Literal["half_normal"]
    sigma: Positive
    support: ClassVar[str] = "positive"
    pymc_class: ClassVar[str] = "HalfNormal"



class HalfCauchyPrior(_Prior):
    """Half-Cauchy(beta) on a positive parameter."""

    family: Literal["half_cauchy"]
    beta: Positive
    support: ClassVar[str] = "positive"
    pymc_class: ClassVar[str] = "HalfCauchy"



class ExponentialPrior(_Prior):
    """Exponential(lam) on a positive parameter."""

    family: Literal["exponential"]
    lam: Positive
    support: ClassVar[str] = "positive"
    pymc_class: ClassVar[str] = "Exponential"



class LogNormalPrior(_Prior):
    """Log-normal(mu, sigma) on a positive parameter."""

    family: Literal["lognormal"]
    mu: Location = 0.0
    sigma: Positive
    support: ClassVar[str] = "positive"
    pymc_class: ClassVar[str] = "LogNormal"



class UniformPrior(_Prior):
    """Uniform(lower, upper)."""

    family: Literal["uniform"]
    lower: Location
    upper: Location
    support: ClassVar[str] = "interval"
    pymc_class: ClassVar[str] = "Uniform"

    @model_validator(mode="after")
    def _ordered(self) -> UniformPrior:
        if not self.lower < self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        return self



class BivariateNormalPrior(_Prior):
    """Bivariate normal on two real parameters, e.g. (log alpha, log beta) of a BLRM.

    Given by means, standard deviations and the correlation (Neuenschwander et al. 2008).
    """

    family: Literal["bivariate_normal"]
    mean: Annotated[list[Location], Field(min_length=2, max_length=2)]
    sd: Annotated[list[Positive], Field(min_length=2, max_length=2)]
    corr: Annotated[float, Field(gt=-1, lt=1)] = 0.0
    support: ClassVar[str] = "real2"
    pymc_class: ClassVar[str] = "MvNormal"

    @classmethod
    def distribution(cls, name: str, hyper: dict[str, Any], **kwargs: Any) -> Any:
        """Create an ``MvNormal`` with covariance built from ``sd`` and ``corr``."""
        sd, r = hyper["sd"], hyper["corr"]
        off = r * sd[0] * sd[1]
        cov = pt.stack([pt.stack([sd[0] ** 2, off]), pt.stack([off, sd[1] ** 2])])
        return pm.MvNormal(name, mu=hyper["mean"], cov=cov, **kwargs)

    def covariance(self) -> list[list[float]]:
        """The 2 x 2 covariance matrix."""
        (s1, s2), r = self.sd, self.corr
        return [[s1 * s1, r * s1 * s2], [r * s1 * s2, s2 * s2]]


class DirichletPrior(_Prior):
    """Dirichlet(a) on the probabilities of K categories that add up to one.

    ``a`` lists one concentration per category (every one > 0), in the order of the
    model's categories; the model checks that there are as many as it has categories.
    Dirichlet(1, ..., 1) is uniform on the simplex; the posterior after multinomial counts
    ``x`` is Dirichlet(a + x) (conjugate).
    """

    family: Literal["dirichlet"]
    a: Annotated[list[Positive], Field(min_length=2)]
    support: ClassVar[str] = "simplex"
    pymc_class: ClassVar[str] = "Dirichlet"

    @property
    def ess(self) -> float:
        """Prior effective sample size: the sum of the concentrations."""
        return float(sum(self.a))


Prior = Annotated[
    BetaPrior
    | NormalPrior
    | StudentTPrior
    | HalfNormalPrior
    | HalfCauchyPrior
    | ExponentialPrior
    | LogNormalPrior
    | UniformPrior
    | BivariateNormalPrior
    | DirichletPrior,
    Field(discriminator="family"),
]

#: every family a spec may name
FAMILIES: dict[str, type[_Prior]] = {
    "beta": BetaPrior,
    "normal": NormalPrior,
    "student_t": StudentTPrior,
    "half_normal": HalfNormalPrior,
    "half_cauchy": HalfCauchyPrior,
    "exponential": ExponentialPrior,
    "lognormal": LogNormalPrior,
    "uniform": UniformPrior,
    "bivariate_normal": BivariateNormalPrior,
    "dirichlet": DirichletPrior,
}
