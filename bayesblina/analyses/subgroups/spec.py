"""The subgroup models' settings and priors: ``[options]``, ``[priors.*]`` and their rules.

One place for the rules a prior set must meet (:func:`check_prior_rules`, called by the
models' ``check_prior_set`` at spec load and at construction): the pooling decides which
priors are needed, and every model of the LOO comparison (``options.compare``) must get a
complete prior set, from ``[options.compare_priors.<model>]`` and, for partial pooling and
EXNEX, the fit's own μ and τ (:func:`comparison_priors`). The comparison's sampler cap is
``options.compare_draws``. Nothing here has a default prior: the numbers are the spec's.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from scipy import special

from bayesblina.analyses.subgroups.data import Level
from bayesblina.core.model import PriorSetBase
from bayesblina.core.priors import Prior
from bayesblina.core.spec import FromArray
from bayesblina.errors import SpecError

POOLINGS = ("partial", "none", "complete")
#: the priors each pooling needs (and the only ones it accepts)
POOLING_PARAMS: dict[str, tuple[str, ...]] = {
    "partial": ("mu", "tau"),
    "none": ("p",),
    "complete": ("p",),
}
#: every model a fit may be compared with, and the priors each needs (in this order)
MODEL_PARAMS: dict[str, tuple[str, ...]] = {**POOLING_PARAMS, "exnex": ("mu", "tau", "nex")}
#: the comparison models that take the fit's own μ and τ (when the fit has them)
INHERITS_MU_TAU = ("partial", "exnex")
MU_FAMILIES = ("normal", "student_t")
TAU_FAMILIES = ("half_normal", "half_cauchy", "exponential", "lognormal")
#: logit(0.3): the centre of the default priors on the typical subgroup's CR rate
LOGIT_03 = float(special.logit(0.3))
#: how a model reads in titles, tables and ``summary.json`` labels
MODEL_LABELS = {"partial": "partial pooling", "none": "no pooling",
                "complete": "complete pooling", "exnex": "EXNEX"}

CompareModel = Literal["partial", "none", "complete", "exnex"]


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


class ExnexPriors(PriorSetBase):
    """One prior set: ``mu`` and ``tau`` of the EX component, ``nex`` the NEX normal.

    ``nex`` is the fixed N(m, s²) prior of a non-exchangeable level's logit; a common choice
    is a unit-information prior, s² = 1 / (p (1 - p)) at a guess p (ESS of one patient).
    """

    mu: Prior
    tau: Prior
    nex: Prior
    allowed_families: ClassVar[dict[str, tuple[str, ...]]] = {
        "mu": MU_FAMILIES,
        "tau": TAU_FAMILIES,
        "nex": ("normal",),
    }


#: the prior-set schema of each model key
PRIOR_SCHEMAS: dict[str, type[PriorSetBase]] = {
    "partial": SubgroupPriors, "none": SubgroupPriors, "complete": SubgroupPriors,
    "exnex": ExnexPriors,
}


class CompareSettings(BaseModel):
    """The LOO comparison of ``[options]``: which models, their priors, their draws.

    ``compare`` names other models fitted on the same data and compared with this fit by
    PSIS-LOO (leave one subgroup out). ``compare_priors.<model>`` is each comparison
    model's prior set (e.g. ``[options.compare_priors.none]`` with ``p``); partial pooling
    and EXNEX take the fit's own ``mu`` and ``tau`` where the fit has them, so only the
    rest is given (EXNEX's ``nex``). ``compare_draws`` caps the draws per chain of every
    comparison fit (the fit's own ``[sampler] draws`` when smaller); required with
    ``compare``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    compare: list[CompareModel] = Field(default_factory=list)
    compare_priors: dict[CompareModel, dict[str, Prior]] = Field(default_factory=dict)
    compare_draws: Annotated[int, Field(ge=1, le=1_000_000)] | None = None

    @model_validator(mode="after")
    def _comparison_complete(self) -> CompareSettings:
        if self.compare and self.compare_draws is None:
            raise ValueError(
                "'compare_draws' is required with 'compare': the draws per chain of each "
                f"comparison fit (at most the sampler's draws); compare = {self.compare}"
            )
        unused = sorted(set(self.compare_priors) - set(self.compare))
        if unused:
            raise ValueError(
                f"'compare_priors' names model(s) {unused} that 'compare' does not list "
                f"(compare = {self.compare})"
            )
        return self


class SubgroupOptions(CompareSettings):
    """``[options]``: pooling, the contrasts reported, and models compared by LOO.

    ``contrasts`` lists ``[level_a, level_b]`` pairs, each reported as p(a) - p(b); when
    omitted, the paper's contrasts for the factor
    (:data:`~bayesblina.analyses.subgroups.data.DEFAULT_CONTRASTS`). The comparison
    settings are :class:`CompareSettings`'.
    """

    pooling: Literal["partial", "none", "complete"] = "partial"
    contrasts: list[Annotated[tuple[Level, Level], FromArray]] | None = None


class ExnexOptions(CompareSettings):
    """``[options]``: the prior probability of exchangeability, contrasts, LOO comparison."""

    #: prior probability that a level is exchangeable (EX), the same for every level
    weight: float = 0.5
    contrasts: list[Annotated[tuple[Level, Level], FromArray]] | None = None

    @field_validator("weight")
    @classmethod
    def _probability(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError(
                "the EXNEX weight w (prior probability that a subgroup is exchangeable) "
                f"must be in [0, 1] (got {value!r})"
            )
        return value


def pooling_of(options: BaseModel) -> str:
    """The model key of a fit's options: its ``pooling``, or ``"exnex"`` (EXNEX options)."""
    return "exnex" if isinstance(options, ExnexOptions) else str(options.pooling)  # type: ignore[attr-defined]


def describe(pooling: str) -> str:
    """How error messages name a model, e.g. ``"subgroup model with pooling 'none'"``."""
    return "EXNEX model" if pooling == "exnex" else f"subgroup model with pooling {pooling!r}"


def check_needed(prior: PriorSetBase, pooling: str, what: str) -> None:
    """Raise ``SpecError`` unless ``prior`` sets exactly the parameters ``pooling`` needs."""
    needed, given = set(MODEL_PARAMS[pooling]), set(prior.parameter_priors())
    if needed == given:
        return
    parts = []
    missing, extra = sorted(needed - given), sorted(given - needed)
    if missing:
        parts.append(f"missing {missing}")
    if extra:
        parts.append(f"not used: {extra}")
    raise SpecError(f"{what} needs priors for exactly {sorted(needed)} ({'; '.join(parts)})")


def comparison_priors(prior: PriorSetBase, options: CompareSettings) -> dict[str, dict[str, Any]]:
    """The prior set (dict form) of every comparison model of a fit, by model key.

    ``options.compare_priors[key]`` with, for partial pooling and EXNEX, the fit's own
    ``mu`` and ``tau`` where it has them; parameters in the order the model lists them. The
    fit's own model is left out (the fit itself is compared).

    Parameters
    ----------
    prior : PriorSetBase
        The fit's prior set.
    options : CompareSettings
        The fit's options (``SubgroupOptions`` or ``ExnexOptions``).

    Returns
    -------
    dict
        ``{key: {param: {"family": ..., <hyperparameters>}}}`` (unchecked: see
        :func:`check_prior_rules`).
    """
    own = pooling_of(options)
    given = prior.parameter_priors()
    out = {}
    for key in options.compare:
        if key == own:
            continue
        merged = {p: v.model_dump() for p, v in options.compare_priors.get(key, {}).items()}
        if key in INHERITS_MU_TAU:
            merged.update({p: given[p].model_dump() for p in ("mu", "tau") if p in given})
        order = [p for p in MODEL_PARAMS[key] if p in merged]
        out[key] = {p: merged[p] for p in [*order, *sorted(set(merged) - set(order))]}
    return out


def check_prior_rules(prior: PriorSetBase, options: CompareSettings) -> None:
    """Every rule of a prior set for these options; raise ``SpecError`` naming the key.

    The fit's model needs exactly its parameters (:data:`MODEL_PARAMS`); each comparison
    model must get a complete prior set of allowed families, and
    ``options.compare_priors`` must not repeat the ``mu``/``tau`` a partial or EXNEX
    comparison takes from the prior set.
    """
    own = pooling_of(options)
    check_needed(prior, own, describe(own))
    given = prior.parameter_priors()
    for key, merged in comparison_priors(prior, options).items():
        where = f"key 'options.compare_priors.{key}'"
        repeated = sorted(set(options.compare_priors.get(key, {})) & set(given) & {"mu", "tau"})
        if key in INHERITS_MU_TAU and repeated:
            raise SpecError(
                f"{where}: {repeated} come from the prior set for the {MODEL_LABELS[key]} "
                "comparison; give only the other parameters there "
                f"({sorted(set(MODEL_PARAMS[key]) - set(given))})"
            )
        missing = [p for p in MODEL_PARAMS[key] if p not in merged]
        if missing:
            raise SpecError(
                f"{where}: the comparison model {key!r} (options.compare) has no prior for "
                f"{missing}; add them to [options.compare_priors.{key}] (it needs "
                f"{list(MODEL_PARAMS[key])})"
            )
        try:
            alt = PRIOR_SCHEMAS[key].model_validate(merged)
        except ValidationError as err:
            first = err.errors()[0]
            param = ".".join(str(part) for part in first["loc"][:1])
            raise SpecError(f"{where}: {param}: {first['msg']}") from None
        check_needed(alt, key, f"{where}: the comparison {describe(key)}")
