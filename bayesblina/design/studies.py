r"""Design studies as specs: a TOML file in, exact tables, a summary and a finding out.

A design spec (``models/design/*.toml``) holds a ``[design]`` table (``name``, ``title``,
``question``, ``kind``, optional ``description``) and one table of parameters named after its
kind:

* ``kind = "simon"``, ``[simon]``: Simon two-stage designs — the admissible designs from the
  minimax to the optimal one and, with ``design = [r1, n1, r, n]``, a given design against
  them (:mod:`bayesblina.design.simon`);
* ``kind = "bayes"``, ``[bayes]``: a single-arm design monitored by predictive or posterior
  probability, found by the exact search or given (``nmax``, ``theta_t``, ``theta_l``), with
  its exact operating characteristics (:mod:`bayesblina.design.monitoring`);
* ``kind = "prior"``, ``[prior]``: a prior for the next trial from historical counts — a power
  prior (one trial) or a MAP prior (several trials; fitted by MCMC), its robust mixture, their
  effective sample sizes and the operating characteristics of a follow-up under each
  (:mod:`bayesblina.design.priors`);
* ``kind = "assurance"``, ``[assurance]``: the probability of success of a new trial under a
  design prior, binary (single arm) or time to event (log-rank)
  (:mod:`bayesblina.design.assurance`);
* ``kind = "escalation"``, ``[escalation]``: dose-escalation designs (3+3, BOIN, CRM, BLRM
  with EWOC; stepwise regimens, TITE) compared by simulation on common patients under
  scenarios given or taken from a BLRM analysis's posterior, and their dose-transition
  pathways (:mod:`bayesblina.design.simulation`, :mod:`bayesblina.design.pathways`).

Every key is validated strictly (:func:`bayesblina.core.messages.validate_section`: TOML types
taken as they are, unknown keys refused) and every rule that ties keys together is checked
before anything is computed; a problem is one :class:`~bayesblina.errors.SpecError` naming the
file, the key and what is allowed, and an engine's own error comes out prefixed the same way.
:func:`run_design` computes a spec: the trial's numbers live in the spec files, none here.

References
----------
.. [1] Simon R. Optimal two-stage designs for phase II clinical trials. Controlled Clinical
   Trials 1989;10(1):1-10.
.. [2] Jung SH, Lee T, Kim K, George SL. Admissible two-stage designs for phase II cancer
   clinical trials. Statistics in Medicine 2004;23:561-569.
.. [3] Lee JJ, Liu DD. A predictive probability design for phase II cancer clinical trials.
   Clinical Trials 2008;5(2):93-106.
.. [4] Ibrahim JG, Chen M-H. Power prior distributions for regression models. Statistical
   Science 2000;15(1):46-60.
.. [5] Schmidli H, et al. Robust meta-analytic-predictive priors in clinical trials with
   historical control information. Biometrics 2014;70(4):1023-1032.
.. [6] O'Hagan A, Stevens JW, Campbell MJ. Assurance in clinical trial design.
   Pharmaceutical Statistics 2005;4(3):187-201.
.. [7] Schoenfeld D. Sample-size formula for the proportional-hazards regression model.
   Biometrics 1983;39(2):499-503.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import re
import tomllib
import types
import typing
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from scipy import optimize, stats

from bayesblina.analyses.dose_toxicity.blrm import BLRMModel
from bayesblina.analyses.dose_toxicity.regimens import regimen_weights
from bayesblina.analyses.dose_toxicity.tables import load_dose_toxicity_spec
from bayesblina.core.figures import figure_png
from bayesblina.core.fit import AnalysisResult
from bayesblina.core.load import check_finite, packaged_spec_dir, read_spec_text
from bayesblina.core.messages import validate_section
from bayesblina.core.spec import AnalysisSpec, Slug
from bayesblina.design import plots
from bayesblina.design.assurance import (
    Accrual,
    DifferenceRule,
    FisherRule,
    PosteriorRule,
    ResponderRule,
    analysis_time,
    arm_scales,
    expected_events_per_draw,
    logrank_power,
    schoenfeld_events,
    single_arm_assurance,
    tte_assurance,
    two_arm_assurance,
    weibull_draws,
)
from bayesblina.design.escalation import BLRM, BOIN, CRM, EscalationDesign, ThreePlusThree
from bayesblina.design.mixture import WEIGHT_SUM_TOL, BetaMixture
from bayesblina.design.monitoring import MonitoringDesign, monitoring_oc, monitoring_search
from bayesblina.design.pathways import pathways_figure, transition_pathways
from bayesblina.design.priors import (
    ess,
    follow_up_oc,
    map_predictive_quadrature,
    map_prior,
    power_prior,
    robustify,
)
from bayesblina.design.simon import (
    simon_admissible,
    simon_best_by_n,
    simon_compare,
    simon_oc_table,
)
from bayesblina.design.simulation import Scenario, SimulationResult, oc_figure, simulate
from bayesblina.errors import SpecError

if typing.TYPE_CHECKING:
    import distributed

__all__ = [
    "DEFAULT_DESIGN_DIR",
    "DESIGN_TYPES",
    "KINDS",
    "AssuranceParams",
    "BLRMParams",
    "BOINParams",
    "BayesParams",
    "CRMParams",
    "DesignResult",
    "DesignSection",
    "DesignSpec",
    "EscalationParams",
    "Execution",
    "OptionField",
    "PosteriorScenarioParams",
    "PriorParams",
    "ScenarioParams",
    "SimonParams",
    "ThreePlusThreeParams",
    "check_design_analyses",
    "design_spec_from_options",
    "discover_design_specs",
    "find_design_spec",
    "is_design_spec",
    "keys_table",
    "load_design_spec",
    "load_design_specs",
    "option_fields",
    "parse_design_spec",
    "posterior_scenarios",
    "run_design",
    "study_scenarios",
    "study_table",
]

#: the kinds of design study, each with the table of its parameters
Kind = Literal["simon", "bayes", "prior", "assurance", "escalation"]
KINDS: tuple[str, ...] = typing.get_args(Kind)

#: the default design specs: the repository's ``models/design/``, shipped in the wheel
DEFAULT_DESIGN_DIR = packaged_spec_dir() / "design"

#: true rates of the operating-characteristic tables when a spec gives none (plus p0, p1)
DEFAULT_RATES = tuple(round(0.05 * i, 2) for i in range(1, 13))

#: the best feasible designs of a monitoring search kept in its table (one per distinct set of
#: operating characteristics: thresholds that make the same decisions are one design)
SEARCH_ROWS = 20


# --------------------------------------------------------------------------------------
# Value types of the spec (strict: TOML types as given)
# --------------------------------------------------------------------------------------


def _open_unit(value: float) -> float:
    if not 0.0 < value < 1.0:
        raise ValueError("must lie in (0, 1), ends excluded")
    return value


def _closed_unit(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError("must lie in [0, 1]")
    return value


def _positive(value: float) -> float:
    if not value > 0.0:
        raise ValueError("must be a number > 0")
    return value


def _non_negative(value: float) -> float:
    if not value >= 0.0:
        raise ValueError("must be a number >= 0")
    return value


def _as_list(value: Any) -> Any:
    """One integer stands for a list of one (one historical trial)."""
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


Prob = Annotated[float, AfterValidator(_open_unit)]
Unit = Annotated[float, AfterValidator(_closed_unit)]
Positive = Annotated[float, AfterValidator(_positive)]
NonNegative = Annotated[float, AfterValidator(_non_negative)]
Count = Annotated[int, Field(ge=0)]
Size = Annotated[int, Field(ge=1)]
Counts = Annotated[list[Count], BeforeValidator(_as_list), Field(min_length=1)]
Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BetaParams(_Strict):
    """A Beta(a, b) distribution: ``{ a = ..., b = ... }``."""

    a: Positive = Field(description="first shape parameter, > 0")
    b: Positive = Field(description="second shape parameter, > 0")

    def mixture(self) -> BetaMixture:
        """As a one-component :class:`~bayesblina.design.mixture.BetaMixture`."""
        return BetaMixture.beta(self.a, self.b)


class ComponentParams(_Strict):
    """One component of a beta mixture: ``{ weight = ..., a = ..., b = ... }``."""

    weight: Unit = Field(description="weight of the component, in [0, 1]")
    a: Positive = Field(description="first shape parameter, > 0")
    b: Positive = Field(description="second shape parameter, > 0")


def _weights_sum_to_one(comps: list[ComponentParams]) -> list[ComponentParams]:
    total = math.fsum(c.weight for c in comps)
    if abs(total - 1.0) > WEIGHT_SUM_TOL:
        raise ValueError(
            f"the weights {[c.weight for c in comps]} sum to {total:.12g}; the weights of a "
            f"mixture must sum to 1 (within {WEIGHT_SUM_TOL:g})"
        )
    return comps


#: a beta mixture: ``[{ weight = , a = , b = }, ...]``, the weights summing to 1
Mixture = Annotated[list[ComponentParams], Field(min_length=1),
                    AfterValidator(_weights_sum_to_one)]


def _mixture(comps: Sequence[ComponentParams]) -> BetaMixture:
    return BetaMixture([c.weight for c in comps], [c.a for c in comps], [c.b for c in comps])


class PeriodParams(_Strict):
    """One accrual period: ``{ duration = ..., rate = ... }`` (patients per unit time)."""

    duration: Positive = Field(description="length of the period (the time unit), > 0")
    rate: Positive = Field(description="patients enrolled per unit time, > 0")


class DesignSection(_Strict):
    """``[design]``: what the study is and which kind of tool answers it."""

    name: Slug = Field(description="lower-case letters, digits and _; equals the file name")
    title: Text = Field(description="the heading in the report")
    question: Text = Field(description="the question the study answers, in words")
    kind: Kind = Field(description="'simon', 'bayes', 'prior', 'assurance' or 'escalation'")
    description: str = Field("", description="optional: why these numbers")


class _Params(_Strict):
    """The parameters of one kind; :meth:`problems` checks the rules between keys."""

    kind: ClassVar[str] = ""
    #: names in an engine's messages that stand for a key of the table
    aliases: ClassVar[dict[str, str]] = {}

    def given(self, *keys: str) -> list[str]:
        """Which of ``keys`` the spec gives (defaults do not count)."""
        return [k for k in keys if k in self.model_fields_set]

    def problems(self) -> Iterator[tuple[str, str]]:
        """``(key, message)`` for every rule between keys that the values break."""
        yield from ()


def _exceeds_p0(value: float | None, info: ValidationInfo) -> float | None:
    p0 = info.data.get("p0")
    if value is not None and p0 is not None and not value > p0:
        raise ValueError(f"the target rate must exceed p0 = {p0:g}")
    return value


def _require(params: _Params, keys: Sequence[str], why: str) -> Iterator[tuple[str, str]]:
    for key in keys:
        if getattr(params, key) is None:
            yield key, f"is required {why}"


def _forbid(params: _Params, keys: Sequence[str], why: str) -> Iterator[tuple[str, str]]:
    for key in params.given(*keys):
        yield key, f"is not allowed {why}"


def _four(value: list[int]) -> list[int]:
    if len(value) != 4:
        raise ValueError("must be four integers [r1, n1, r, n] (Simon's r1/n1, r/n)")
    return value


class SimonParams(_Params):
    """``[simon]``: Simon two-stage designs for ``H0: p <= p0`` against ``p = p1``."""

    kind: ClassVar[str] = "simon"
    aliases: ClassVar[dict[str, str]] = {"r1": "design", "n1": "design", "r": "design",
                                         "n": "design"}

    p0: Prob = Field(description="response rate of no interest, in (0, 1)")
    p1: Prob = Field(description="target response rate, in (p0, 1)")
    alpha: Prob = Field(description="largest one-sided type I error, in (0, 1)")
    power: Prob = Field(description="smallest power at p1, in (0, 1)")
    nmax: int = Field(100, ge=2, le=500, description="largest total sample size searched")
    design: Annotated[list[Count], AfterValidator(_four)] | None = Field(
        None, description="a design to judge, [r1, n1, r, n] as Simon prints it (r1/n1, r/n)")
    rates: list[Unit] | None = Field(
        None, min_length=1, description="true rates of the operating characteristics")

    _p1 = field_validator("p1")(_exceeds_p0)

    def problems(self) -> Iterator[tuple[str, str]]:  # noqa: D102
        if self.design is not None and self.design[3] > self.nmax:
            yield "nmax", f"must be at least the given design's n = {self.design[3]}"


class BayesParams(_Params):
    """``[bayes]``: a single-arm design monitored by predictive or posterior probability.

    Without ``nmax`` the design is searched (``p1``, ``alpha``, ``power`` required, grids
    ``theta_t_grid`` and ``theta_l_grid``); with ``nmax`` it is given (``theta_t``,
    ``theta_l``, ``looks`` or ``first_look``/``look_every``).
    """

    kind: ClassVar[str] = "bayes"

    rule: Literal["predictive", "posterior"] = Field(
        "predictive", description="the statistic monitored at the interim looks")
    p0: Prob = Field(description="response rate of no interest, in (0, 1)")
    p1: Prob | None = Field(None, description="target rate, in (p0, 1) (a search needs it)")
    alpha: Prob | None = Field(None, description="largest type I error (a search needs it)")
    power: Prob | None = Field(None, description="smallest power at p1 (a search needs it)")
    prior: BetaParams | None = Field(None, description="Beta prior {a, b} (default Beta(1, 1))")
    mixture: Mixture | None = Field(None, description="or a beta-mixture prior")
    nmax_min: Size = Field(1, description="search: smallest maximum sample size")
    nmax_cap: int = Field(60, ge=1, le=200, description="search: largest maximum sample size")
    first_look: Size = Field(1, description="first interim look (patients evaluated)")
    look_every: Size = Field(1, description="patients between interim looks")
    theta_t_grid: list[Unit] | None = Field(
        None, min_length=1, description="search: final thresholds (default 0.80..0.99)")
    theta_l_grid: list[Unit] | None = Field(
        None, min_length=1, description="search: futility thresholds (default 0.001..0.20)")
    theta_u: Unit = Field(1.0, description="efficacy threshold (1: no efficacy stop)")
    nmax: int | None = Field(None, ge=1, le=500, description="a given design's maximum size")
    theta_t: Unit | None = Field(None, description="a given design's final threshold")
    theta_l: Unit | None = Field(None, description="a given design's futility threshold")
    looks: list[Size] | None = Field(None, min_length=1, description="a given design's looks")
    rates: list[Unit] | None = Field(
        None, min_length=1, description="true rates of the operating characteristics")

    _p1 = field_validator("p1")(_exceeds_p0)

    def problems(self) -> Iterator[tuple[str, str]]:  # noqa: D102
        if self.prior is not None and self.mixture is not None:
            yield "mixture", "give prior or mixture, not both"
        if self.nmax is None:
            yield from _require(self, ("p1", "alpha", "power"),
                                "for a design search (or give nmax, theta_t and theta_l: a "
                                "given design)")
            yield from _forbid(self, ("theta_t", "theta_l", "looks"),
                               "in a search (without nmax): it belongs to a given design; a "
                               "search takes theta_t_grid and theta_l_grid")
            if self.nmax_cap < self.nmax_min:
                yield "nmax_cap", f"must be >= nmax_min = {self.nmax_min}"
        else:
            yield from _require(self, ("theta_t", "theta_l"), "for a given design (with nmax)")
            yield from _forbid(self, ("theta_t_grid", "theta_l_grid", "nmax_min", "nmax_cap"),
                               "for a given design (with nmax): it belongs to a search")
            if self.looks is not None and self.given("first_look", "look_every"):
                yield "looks", "give looks or first_look/look_every, not both"

    def prior_mixture(self) -> BetaMixture:
        """The prior as a mixture (Beta(1, 1) when the spec gives none)."""
        if self.mixture is not None:
            return _mixture(self.mixture)
        return (self.prior or BetaParams(a=1.0, b=1.0)).mixture()


class PriorParams(_Params):
    """``[prior]``: a prior for the next trial from historical counts, and a follow-up.

    One trial (``x``, ``n`` integers): the power prior with ``discount``; several (lists):
    the MAP prior (MCMC, ``tau_scale``). ``robust_weight`` adds a vague component. With
    ``n_new`` the follow-up "success if P(p > p0 | data) > threshold" is evaluated exactly
    under every prior.
    """

    kind: ClassVar[str] = "prior"

    x: Counts = Field(description="responders of the historical trial(s)")
    n: Counts = Field(description="patients of the historical trial(s)")
    discount: Unit | None = Field(None, description="power prior: the power delta, in [0, 1]")
    a0: Positive = Field(1.0, description="initial Beta(a0, b0) of the power prior")
    b0: Positive = Field(1.0, description="initial Beta(a0, b0) of the power prior")
    robust_weight: Unit | None = Field(None, description="weight of the vague component")
    vague: BetaParams = Field(
        default_factory=lambda: BetaParams(a=1.0, b=1.0),
        description="the vague prior {a, b}: the robust component and the no-borrowing "
                    "reference (default Beta(1, 1))")
    ess_methods: list[Literal["moment", "morita", "elir"]] = Field(
        default_factory=lambda: ["moment", "morita", "elir"], min_length=1,
        description="effective sample sizes reported")
    morita_s: Positive = Field(100.0, description="Morita: flattening constant s")
    morita_location: Literal["mode", "mean"] = Field(
        "mode", description="Morita: where the information is compared")
    tau_scale: Positive | None = Field(
        None, description="MAP: half-normal scale of the between-trial SD (logit)")
    mu_mean: float = Field(0.0, description="MAP: mean of the normal prior of mu (logit)")
    mu_sd: Positive = Field(2.0, description="MAP: SD of the normal prior of mu")
    map_draws: int = Field(2000, ge=1, le=100_000, description="MAP: draws per chain")
    map_tune: int = Field(1000, ge=0, le=100_000, description="MAP: warm-up per chain")
    map_chains: int = Field(4, ge=1, le=16, description="MAP: chains")
    map_seed: int = Field(20160101, ge=0, lt=2**32, description="MAP: seed")
    map_max_components: int = Field(3, ge=1, le=6, description="MAP: largest mixture fitted")
    map_constrain_gt1: bool = Field(True, description="MAP: keep every a, b >= 1 (ELIR)")
    n_new: Size | None = Field(None, description="follow-up: patients")
    p0: Prob | None = Field(None, description="follow-up: the rate to exceed, in (0, 1)")
    threshold: Prob | None = Field(None, description="follow-up: success if P(p > p0) > it")
    true_rates: list[Unit] | None = Field(None, min_length=1,
                                          description="follow-up: true rates")
    conflict_tail: Prob = Field(
        0.05, description="a true rate with prior mass below it on one side is a conflict")

    _MAP_KEYS: ClassVar[tuple[str, ...]] = (
        "tau_scale", "mu_mean", "mu_sd", "map_draws", "map_tune", "map_chains", "map_seed",
        "map_max_components", "map_constrain_gt1")

    def problems(self) -> Iterator[tuple[str, str]]:  # noqa: D102
        if len(self.x) != len(self.n):
            yield "n", (f"x and n must give one count per historical trial (got {len(self.x)} "
                        f"and {len(self.n)})")
            return
        for i, (xi, ni) in enumerate(zip(self.x, self.n, strict=True)):
            where = "" if len(self.x) == 1 else f" (trial {i + 1})"
            if ni < 1:
                yield "n", f"every historical trial needs n >= 1 (got {ni}{where})"
            elif xi > ni:
                yield "x", f"x = {xi} exceeds n = {ni}{where}: allowed 0 <= x <= n"
        if self.is_map:
            yield from _require(self, ("tau_scale",), "for a MAP prior of several trials")
            yield from _forbid(self, ("discount", "a0", "b0"),
                               "for a MAP prior (several trials): the between-trial SD "
                               "(tau_scale) discounts them; one trial takes a power prior")
        else:
            yield from _require(self, ("discount",), "for a power prior (one trial): give "
                                "the power delta in [0, 1]")
            yield from _forbid(self, self._MAP_KEYS,
                               "for one trial: it belongs to a MAP prior (x and n lists of "
                               "two or more trials)")
        follow = ("p0", "threshold", "true_rates")
        if self.n_new is None:
            for key in self.given(*follow):
                yield key, "needs n_new (the follow-up's patients)"
        else:
            yield from _require(self, follow, "with n_new (the follow-up design)")

    @property
    def is_map(self) -> bool:
        """Several historical trials: a MAP prior."""
        return len(self.x) > 1


class AssuranceParams(_Params):
    """``[assurance]``: the probability of success of a new trial under a design prior.

    ``endpoint = "binary"``: a single-arm trial of ``n_new`` patients; the design prior from
    ``x``, ``n`` (a power prior, ``discount`` 1 by default: this trial's posterior), or
    ``prior``/``mixture``, robustified with ``robust_weight``; the rule ``"posterior"``
    (``p0``, ``threshold``, ``analysis_prior``) or ``"responders"`` (``min_responders``).
    With ``n_control`` the trial has two arms: the control rate's design prior
    ``control_prior``/``control_mixture``, the rule ``"difference"`` (``threshold``,
    ``delta``, ``analysis_prior`` and ``control_analysis_prior``) or ``"fisher"``
    (``fisher_alpha``).
    ``endpoint = "time_to_event"``: a log-rank trial with a normal design prior on the log
    hazard ratio, its events by Schoenfeld's formula (or ``events``), and the expected events
    over calendar time from a Weibull control arm and an accrual plan.
    """

    kind: ClassVar[str] = "assurance"

    endpoint: Literal["binary", "time_to_event"] = Field(
        "binary", description="'binary' (single arm) or 'time_to_event' (log-rank)")
    x: Count | None = Field(None, description="binary: responders of the trial (design prior)")
    n: Size | None = Field(None, description="binary: patients of the trial (design prior)")
    discount: Unit = Field(1.0, description="binary: power of the trial's likelihood")
    a0: Positive = Field(1.0, description="binary: initial Beta(a0, b0) of the design prior")
    b0: Positive = Field(1.0, description="binary: initial Beta(a0, b0) of the design prior")
    prior: BetaParams | None = Field(None, description="binary: a Beta design prior instead")
    mixture: Mixture | None = Field(None, description="binary: a beta-mixture design prior")
    robust_weight: Unit | None = Field(None, description="binary: weight of a vague component")
    vague: BetaParams = Field(default_factory=lambda: BetaParams(a=1.0, b=1.0),
                              description="binary: the vague component (default Beta(1, 1))")
    n_new: Size | None = Field(None, description="binary: patients of the new trial")
    rule: Literal["posterior", "responders", "difference", "fisher"] = Field(
        "posterior", description="binary: success rule ('difference', 'fisher': two arms)")
    p0: Prob | None = Field(None, description="binary: success if P(p > p0 | data) > threshold")
    threshold: Prob | None = Field(None, description="binary: the posterior probability to pass")
    analysis_prior: BetaParams = Field(
        default_factory=lambda: BetaParams(a=1.0, b=1.0),
        description="binary: the new trial's analysis prior (default Beta(1, 1))")
    min_responders: Count | None = Field(None, description="binary: success if y >= this")
    n_control: Size | None = Field(
        None, description="binary: patients of a control arm (a two-arm trial; n_new the "
                          "experimental arm's)")
    control_prior: BetaParams | None = Field(
        None, description="binary, two arms: the control rate's Beta design prior")
    control_mixture: Mixture | None = Field(
        None, description="binary, two arms: the control rate's beta-mixture design prior")
    delta: float = Field(0.0, description="binary, rule 'difference': success if "
                                          "P(p_e - p_c > delta | data) > threshold")
    control_analysis_prior: BetaParams = Field(
        default_factory=lambda: BetaParams(a=1.0, b=1.0),
        description="binary, rule 'difference': the control rate's analysis prior")
    fisher_alpha: Prob | None = Field(
        None, description="binary, rule 'fisher': one-sided level of Fisher's exact test")
    n_grid: list[Size] | None = Field(None, min_length=1,
                                      description="binary: sizes of the assurance-by-n table")
    true_rates: list[Unit] | None = Field(None, min_length=1,
                                          description="binary: rates of the power table")
    hazard_ratio: Positive | None = Field(None, description="tte: the design hazard ratio")
    alpha: Prob = Field(0.025, description="tte: one-sided level of the log-rank test")
    power: Prob = Field(0.8, description="tte: power at the design HR (Schoenfeld)")
    allocation: Prob = Field(0.5, description="tte: fraction randomised to the new treatment")
    benefit: Literal["lower", "higher"] = Field(
        "lower", description="tte: which hazard ratio is a success")
    events: Positive | None = Field(None, description="tte: events at the analysis")
    events_grid: list[Positive] | None = Field(None, min_length=1,
                                               description="tte: events of the table")
    log_hr_mean: float | None = Field(None, description="tte: design prior mean of log HR")
    log_hr_sd: NonNegative | None = Field(None, description="tte: design prior SD of log HR")
    accrual: list[PeriodParams] | None = Field(
        None, min_length=1, description="tte: accrual plan [{duration, rate}, ...]")
    weibull_shape: Positive | None = Field(None, description="tte: control arm Weibull shape")
    weibull_scale: Positive | None = Field(None, description="tte: control arm Weibull scale")
    survival_analysis: Text | None = Field(
        None, description="tte: a survival analysis of the run (its name) whose Weibull "
                          "posterior draws describe survival_arm, instead of weibull_shape/scale")
    survival_prior_set: Text | None = Field(
        None, description="tte: that analysis's prior set (default: its first)")
    survival_arm: Literal["control", "experimental"] = Field(
        "control", description="tte: the arm the survival analysis describes")
    max_follow_up: Positive | None = Field(None, description="tte: follow-up cap per patient")
    calendar_times: list[NonNegative] | None = Field(
        None, min_length=1, description="tte: calendar times of the expected-events table")

    _BINARY: ClassVar[tuple[str, ...]] = (
        "x", "n", "discount", "a0", "b0", "prior", "mixture", "robust_weight", "vague",
        "n_new", "rule", "p0", "threshold", "analysis_prior", "min_responders", "n_grid",
        "true_rates", "n_control", "control_prior", "control_mixture", "delta",
        "control_analysis_prior", "fisher_alpha")
    _TTE: ClassVar[tuple[str, ...]] = (
        "hazard_ratio", "alpha", "power", "allocation", "benefit", "events", "events_grid",
        "log_hr_mean", "log_hr_sd", "accrual", "weibull_shape", "weibull_scale",
        "survival_analysis", "survival_prior_set", "survival_arm", "max_follow_up",
        "calendar_times")

    def problems(self) -> Iterator[tuple[str, str]]:  # noqa: D102
        if self.endpoint == "binary":
            yield from self._binary_problems()
        else:
            yield from self._tte_problems()

    def _binary_problems(self) -> Iterator[tuple[str, str]]:
        yield from _forbid(self, self._TTE, "with endpoint = 'binary' (a time-to-event key)")
        counts = self.x is not None or self.n is not None
        forms = [name for name, on in (("x and n", counts), ("prior", self.prior is not None),
                                       ("mixture", self.mixture is not None)) if on]
        if not forms:
            yield "x", ("the design prior is missing: give x and n (a trial's counts), prior = "
                        "{ a = , b = } or mixture")
        elif len(forms) > 1:
            yield ("mixture" if self.mixture is not None else "prior"), (
                f"give one design prior, not {' and '.join(forms)}")
        if counts:
            yield from _require(self, ("x", "n"), "with a design prior from a trial's counts")
            if self.x is not None and self.n is not None and self.x > self.n:
                yield "x", f"x = {self.x} exceeds n = {self.n}: allowed 0 <= x <= n"
        else:
            yield from _forbid(self, ("discount", "a0", "b0"),
                               "without x and n: it belongs to a design prior from counts")
        yield from _require(self, ("n_new",), "(the new trial's patients)")
        if self.n_control is not None:
            yield from self._two_arm_problems()
            return
        yield from _forbid(self, ("control_prior", "control_mixture", "delta",
                                  "control_analysis_prior", "fisher_alpha"),
                           "without n_control (a two-arm key)")
        if self.rule in ("difference", "fisher"):
            yield "rule", (f"rule = {self.rule!r} compares two arms: give n_control and the "
                           "control arm's design prior")
        if self.rule == "posterior":
            yield from _require(self, ("p0", "threshold"), "for rule = 'posterior'")
            yield from _forbid(self, ("min_responders",), "for rule = 'posterior'")
        else:
            yield from _require(self, ("min_responders",), "for rule = 'responders'")
            yield from _forbid(self, ("threshold", "analysis_prior"), "for rule = 'responders'")
            if (self.min_responders is not None and self.n_new is not None
                    and self.min_responders > self.n_new):
                yield "min_responders", f"must be <= n_new = {self.n_new}"

    def _two_arm_problems(self) -> Iterator[tuple[str, str]]:
        given = self.given("control_prior", "control_mixture")
        if len(given) != 1:
            yield "control_prior", ("a two-arm trial needs one control design prior: "
                                    "control_prior = { a = , b = } or control_mixture")
        if self.rule not in ("difference", "fisher"):
            yield "rule", (f"rule = {self.rule!r} is a single-arm rule: a two-arm trial "
                           "(n_control) allowed 'difference' or 'fisher'")
            return
        yield from _forbid(self, ("p0", "min_responders"), "for a two-arm trial")
        if self.rule == "difference":
            yield from _require(self, ("threshold",), "for rule = 'difference'")
            yield from _forbid(self, ("fisher_alpha",), "for rule = 'difference'")
            if not -1.0 < self.delta < 1.0:
                yield "delta", f"delta = {self.delta!r} must lie in (-1, 1)"
        else:
            yield from _require(self, ("fisher_alpha",), "for rule = 'fisher'")
            yield from _forbid(self, ("threshold", "delta", "analysis_prior",
                                      "control_analysis_prior"), "for rule = 'fisher'")

    def control_design_prior(self) -> BetaMixture:
        """The control rate's design prior (two arms)."""
        if self.control_mixture is not None:
            return _mixture(self.control_mixture)
        assert self.control_prior is not None
        return self.control_prior.mixture()

    def _tte_problems(self) -> Iterator[tuple[str, str]]:
        yield from _forbid(self, self._BINARY, "with endpoint = 'time_to_event' (a binary key)")
        yield from _require(self, ("hazard_ratio", "log_hr_mean", "log_hr_sd"),
                            "for endpoint = 'time_to_event'")
        if self.hazard_ratio == 1.0:
            yield "hazard_ratio", "a trial cannot be sized for HR = 1"
        fixed = ("weibull_shape", "weibull_scale")
        if self.survival_analysis is not None:
            yield from _forbid(self, fixed, "with survival_analysis (its posterior gives the "
                                            "Weibull draws)")
            yield from _require(self, ("accrual",), "with survival_analysis")
        else:
            yield from _forbid(self, ("survival_prior_set", "survival_arm"),
                               "without survival_analysis")
            plan = ("accrual", *fixed)
            if self.given(*plan) and len(self.given(*plan)) < len(plan):
                yield from _require(self, plan, "with the other keys of the accrual plan (or "
                                                "survival_analysis instead of the Weibull keys)")
            if not self.given(*plan):
                yield from _forbid(self, ("calendar_times", "max_follow_up"),
                                   "without an accrual plan and a Weibull arm")

    def design_prior(self) -> BetaMixture:
        """The binary design prior (a power prior of ``x``, ``n``; or ``prior``/``mixture``)."""
        if self.x is not None and self.n is not None:
            base = power_prior(self.x, self.n, self.discount, self.a0, self.b0)
        elif self.mixture is not None:
            base = _mixture(self.mixture)
        else:
            assert self.prior is not None
            base = self.prior.mixture()
        if self.robust_weight is None:
            return base
        return robustify(base, self.robust_weight, (self.vague.a, self.vague.b))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_levels(value: list[Any]) -> list[Any]:
    """Each level a dose > 0 or a stepwise regimen, a list of ``[dose, days]`` pairs."""
    for i, level in enumerate(value):
        if _is_number(level):
            if not (math.isfinite(level) and level > 0):
                raise ValueError(f"doses[{i}] = {level!r}: a dose must be a number > 0")
            continue
        if not isinstance(level, list) or not level:
            raise ValueError(f"doses[{i}] = {level!r}: a level is a dose (a number > 0) or a "
                             "stepwise regimen, a list of [dose, days] pairs")
        for k, period in enumerate(level):
            if not (isinstance(period, list) and len(period) == 2
                    and all(_is_number(v) for v in period)):
                raise ValueError(f"doses[{i}] period {k} = {period!r}: a period of a regimen "
                                 "is [dose, days], two numbers")
            for what, v in zip(("dose", "days"), period, strict=True):
                if not (math.isfinite(v) and v > 0):
                    raise ValueError(f"doses[{i}] period {k} has {what} = {v!r}: the {what} "
                                     "of a period must be > 0")
    return value


def _pair_increasing(value: list[float]) -> list[float]:
    if len(value) != 2 or not value[0] < value[1]:
        raise ValueError("must be two increasing probabilities [low, high] in (0, 1)")
    return value


def _two(value: list[float]) -> list[float]:
    if len(value) != 2:
        raise ValueError("must be two numbers")
    return value


Interval = Annotated[list[Prob], AfterValidator(_pair_increasing)]
Pair = Annotated[list[float], AfterValidator(_two)]
PositivePair = Annotated[list[Positive], AfterValidator(_two)]


class _EscalationDesignParams(_Strict):
    """The keys every design of an escalation study has."""

    label: Text | None = Field(None, description="the design's name in the tables (default "
                                                 "its type, numbered if repeated)")
    start_dose: Text | None = Field(None, description="the first cohort's level: a label of "
                                                      "levels (default the lowest)")


class ThreePlusThreeParams(_EscalationDesignParams):
    """``type = "3+3"``: the reference rule-based design (cohorts of 3)."""

    type: Literal["3+3"] = Field(description="the design: '3+3'")
    max_n: Size | None = Field(None, description="maximum patients (default 6 per level)")


class BOINParams(_EscalationDesignParams):
    """``type = "boin"``: the Bayesian optimal interval design (Liu & Yuan 2015)."""

    type: Literal["boin"] = Field(description="the design: 'boin'")
    target: Prob = Field(description="target DLT probability, in (0, 1)")
    max_n: Size = Field(description="maximum patients, >= 1")
    cohort_size: Size = Field(3, description="patients per cohort, >= 1")
    n_stop: Size | None = Field(None, description="stop with this many at the current level")
    elimination_cutoff: Prob = Field(0.95, description="eliminate a level when P(p > target) "
                                                       "exceeds it")
    phi1: Prob | None = Field(None, description="highest sub-therapeutic rate (0.6 target)")
    phi2: Prob | None = Field(None, description="lowest over-toxic rate (1.4 target)")


class CRMParams(_EscalationDesignParams):
    """``type = "crm"``: the continual reassessment method (and TITE-CRM)."""

    type: Literal["crm"] = Field(description="the design: 'crm'")
    skeleton: list[Prob] = Field(min_length=1, description="prior DLT guesses per level, "
                                                           "increasing in (0, 1)")
    target: Prob = Field(description="target DLT probability, in (0, 1)")
    max_n: Size = Field(description="maximum patients, >= 1")
    model: Literal["empiric", "logistic"] = Field("empiric", description="the CRM's model")
    prior_sd: Positive = Field(math.sqrt(1.34), description="prior SD of beta (dfcrm's)")
    prior_mean: float = Field(0.0, description="prior mean of beta")
    a0: float = Field(3.0, description="intercept of the logistic model")
    cohort_size: Size = Field(3, description="patients per cohort, >= 1")
    no_skip: bool = Field(True, description="never skip an untried level")
    stop_if_p1_above: Interval | None = Field(
        None, description="[t, q]: stop (all too toxic) when P(p_1 > t) > q")
    tite: bool = Field(False, description="TITE-CRM: partial follow-up weighted (needs "
                                          "window and accrual_rate)")
    method: Literal["plugin", "mean"] = Field("plugin", description="estimate of the DLT "
                                                                    "probabilities")


class BLRMParams(_EscalationDesignParams):
    """``type = "blrm"``: the two-parameter BLRM with EWOC, on the study's doses/regimens."""

    type: Literal["blrm"] = Field(description="the design: 'blrm'")
    d_ref: Positive = Field(description="reference dose, > 0")
    mean: Pair = Field(description="prior means of (log alpha, log beta)")
    sd: PositivePair = Field(description="prior SDs of (log alpha, log beta), > 0")
    corr: float = Field(0.0, gt=-1.0, lt=1.0, description="prior correlation, in (-1, 1)")
    max_n: Size = Field(description="maximum patients, >= 1")
    target_interval: Interval = Field(
        default_factory=lambda: [0.16, 0.33], description="the target toxicity interval")
    ewoc: Prob = Field(0.25, description="bound on P(overdose) of an admissible level, "
                                         "in (0, 1)")
    cohort_size: Size = Field(3, description="patients per cohort, >= 1")
    no_skip: bool = Field(True, description="never skip an untried level")
    min_at_mtd: Size | None = Field(6, description="stop with this many at the MTD")
    min_n: Count = Field(0, description="and at least this many patients in all")
    tite: bool = Field(False, description="TITE-BLRM (needs window and accrual_rate)")


EscalationDesignParams = Annotated[
    ThreePlusThreeParams | BOINParams | CRMParams | BLRMParams, Field(discriminator="type")]

#: the design types of an escalation study
DESIGN_TYPES: tuple[str, ...] = ("3+3", "boin", "crm", "blrm")


class ScenarioParams(_Strict):
    """A scenario: the true DLT probability of each level."""

    name: Text = Field(description="the scenario's name")
    probabilities: list[float] = Field(min_length=1, description="true DLT probability per "
                                                                 "level, in [0, 1]")
    allow_non_monotone: bool = Field(False, description="allow probabilities that fall with "
                                                        "the dose")


class PosteriorScenarioParams(_Strict):
    """Scenarios from a dose-toxicity analysis's exact posterior: pointwise quantiles."""

    analysis: Text = Field(description="a BLRM analysis spec: a default spec's name or a path "
                                       "(relative to this file)")
    prior_set: Text | None = Field(None, description="its prior set (default its first)")
    quantiles: list[Prob] = Field(default_factory=lambda: [0.25, 0.5, 0.75], min_length=1,
                                  description="posterior quantiles, one scenario each")


class EscalationParams(_Params):
    """``[escalation]``: designs compared by simulation on common patients, and pathways.

    ``doses`` (a dose or a stepwise regimen ``[[dose, days], ...]`` per level, with
    ``levels`` their labels), ``designs`` (tables with a ``type``: ``"3+3"``, ``"boin"``,
    ``"crm"``, ``"blrm"``), ``scenarios`` (true DLT probabilities) and/or
    ``posterior_scenarios`` (quantiles of an analysis's posterior), ``n_trials`` and ``seed``.
    """

    kind: ClassVar[str] = "escalation"

    doses: Annotated[list[Any], Field(min_length=1), AfterValidator(_check_levels)] = Field(
        description="one per level: a dose > 0 or a regimen [[dose, days], ...]")
    levels: list[Text] | None = Field(None, min_length=1, description="the levels' labels "
                                                                      "(default from doses)")
    designs: list[EscalationDesignParams] = Field(min_length=1, description="the designs "
                                                  "compared: tables with type")
    scenarios: list[ScenarioParams] = Field(default_factory=list, description="true DLT "
                                            "curves: tables {name, probabilities}")
    posterior_scenarios: PosteriorScenarioParams | None = Field(
        None, description="scenarios from a BLRM analysis's posterior quantiles")
    target: Prob | None = Field(None, description="target DLT probability (true MTD: the "
                                                  "closest level)")
    target_interval: Interval | None = Field(None, description="acceptable DLT probabilities: "
                                             "a correct selection lies in it")
    n_trials: int = Field(ge=1, le=1_000_000, description="trials per scenario")
    seed: int = Field(ge=0, lt=2**32, description="root seed (SeedSequence)")
    batch_size: int = Field(1000, ge=1, le=100_000, description="trials per batch")
    window: Positive | None = Field(None, description="DLT window (days; regimens' window)")
    accrual_rate: Positive | None = Field(None, description="patients per day (duration, TITE)")
    treatment: Literal["period_exposure", "first_period", "maintenance"] = Field(
        "period_exposure", description="how a regimen's periods combine (BLRM, posterior)")
    overdose_limit: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.5, description="report P(more than this fraction of patients overdosed)")
    pathways_cohorts: int = Field(2, ge=1, le=3, description="cohorts ahead in the pathways")
    pathways_design: Text | None = Field(None, description="the design of the pathways "
                                                           "figure (a label; default the last)")

    def level_labels(self) -> list[str]:
        """The levels' labels: ``levels``, or ``5`` / ``15/30`` from the doses."""
        if self.levels is not None:
            return list(self.levels)
        return [f"{d:g}" if _is_number(d) else "/".join(f"{x[0]:g}" for x in d)
                for d in self.doses]

    def regimens(self) -> list[list[tuple[float, float]]]:
        """Every level as a regimen ``[(dose, days), ...]`` (a dose: one period of the window)."""
        days = self.window if self.window is not None else 1.0
        return [[(float(d), float(days))] if _is_number(d) else
                [(float(a), float(b)) for a, b in d] for d in self.doses]

    def design_labels(self) -> list[str]:
        """The designs' labels: ``label``, or the type (``BLRM``, ``BLRM (2)`` if repeated)."""
        names = {"3+3": "3+3", "boin": "BOIN", "crm": "CRM", "blrm": "BLRM"}
        out, seen = [], {}
        for d in self.designs:
            base = d.label or (("TITE-" if getattr(d, "tite", False) else "") + names[d.type])
            seen[base] = seen.get(base, 0) + 1
            out.append(base if seen[base] == 1 else f"{base} ({seen[base]})")
        return out

    def build(self) -> dict[str, EscalationDesign]:
        """The designs, by label (:mod:`bayesblina.design.escalation`)."""
        return {lab: self._design(d) for lab, d in zip(self.design_labels(), self.designs,
                                                        strict=True)}

    def _design(self, d: Any) -> EscalationDesign:
        k = len(self.doses)
        labels = self.level_labels()
        start = labels.index(d.start_dose) if d.start_dose is not None else 0
        if d.type == "3+3":
            return ThreePlusThree(k, start_level=start, max_n=d.max_n)
        if d.type == "boin":
            return BOIN(k, d.target, max_n=d.max_n, cohort_size=d.cohort_size,
                        start_level=start, n_stop=d.n_stop,
                        elimination_cutoff=d.elimination_cutoff, phi1=d.phi1, phi2=d.phi2)
        if d.type == "crm":
            return CRM(d.skeleton, d.target, max_n=d.max_n, model=d.model,
                       prior_sd=d.prior_sd, prior_mean=d.prior_mean, a0=d.a0,
                       cohort_size=d.cohort_size, start_level=start, no_skip=d.no_skip,
                       stop_if_p1_above=(None if d.stop_if_p1_above is None
                                         else tuple(d.stop_if_p1_above)),
                       tite=d.tite, window=self.window if d.tite else None, method=d.method)
        doses = [d_ if _is_number(d_) else [tuple(x) for x in d_] for d_ in self.doses]
        return BLRM(doses, d_ref=d.d_ref, mean=tuple(d.mean), sd=tuple(d.sd), corr=d.corr,
                    max_n=d.max_n, target_interval=tuple(d.target_interval), ewoc=d.ewoc,
                    cohort_size=d.cohort_size, start_level=start, no_skip=d.no_skip,
                    min_at_mtd=d.min_at_mtd, min_n=d.min_n, tite=d.tite, window=self.window,
                    treatment=self.treatment)

    def scenario(self, name: str, probabilities: Sequence[float],
                 allow_non_monotone: bool = False) -> Scenario:
        """A :class:`~bayesblina.design.simulation.Scenario` of the study's levels and target."""
        return Scenario(name, probabilities, target=self.target,
                        target_interval=(None if self.target_interval is None
                                         else tuple(self.target_interval)),
                        labels=self.level_labels(), allow_non_monotone=allow_non_monotone)

    def problems(self) -> Iterator[tuple[str, str]]:  # noqa: D102
        k = len(self.doses)
        labels = self.level_labels()
        if len(labels) != k:
            yield "levels", f"must give one label per level of doses ({k}), got {len(labels)}"
            return
        if len(set(labels)) != k:
            yield "levels", f"the labels {labels} repeat: each level needs its own label"
            return
        if self.target is None and self.target_interval is None:
            yield "target_interval", ("give target_interval (and/or target): it defines a "
                                      "correct selection of the scenarios")
        if not self.scenarios and self.posterior_scenarios is None:
            yield "scenarios", "give scenarios and/or posterior_scenarios (none to simulate)"
        names = [s.name for s in self.scenarios]
        if len(set(names)) != len(names):
            yield "scenarios", f"the names {names} repeat: each scenario needs its own name"
        for i, s in enumerate(self.scenarios):
            if len(s.probabilities) != k:
                yield (f"scenarios.{i}.probabilities", f"must give one DLT probability per "
                                                       f"dose level ({k}), got "
                                                       f"{len(s.probabilities)}")
                continue
            try:
                self.scenario(s.name, s.probabilities, s.allow_non_monotone)
            except SpecError as err:
                yield f"scenarios.{i}.probabilities", str(err)
        design_labels = self.design_labels()
        for i, d in enumerate(self.designs):
            if d.start_dose is not None and d.start_dose not in labels:
                yield (f"designs.{i}.start_dose",
                       f"{d.start_dose!r} is not a level: allowed {', '.join(labels)}")
                continue
            if d.type == "crm" and len(d.skeleton) != k:
                yield (f"designs.{i}.skeleton", f"must give one probability per level ({k}), "
                                                f"got {len(d.skeleton)}")
                continue
            if getattr(d, "tite", False) and (self.window is None or self.accrual_rate is None):
                yield (f"designs.{i}.tite", "a TITE design needs window and accrual_rate")
                continue
            try:
                self._design(d)
            except SpecError as err:
                msg = str(err)
                head = re.match(r"([A-Za-z_]\w*)", msg)
                field = head[1] if head and head[1] in type(d).model_fields else ""
                yield f"designs.{i}" + (f".{field}" if field else ""), msg
        if self.pathways_design is not None and self.pathways_design not in design_labels:
            yield "pathways_design", (f"{self.pathways_design!r} is not a design's label: "
                                      f"allowed {', '.join(design_labels)}")


#: the parameter table of each kind
PARAMS: dict[str, type[_Params]] = {
    "simon": SimonParams, "bayes": BayesParams, "prior": PriorParams,
    "assurance": AssuranceParams, "escalation": EscalationParams,
}


# --------------------------------------------------------------------------------------
# Specs: read, validate, find
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DesignSpec:
    """A validated design spec.

    Attributes
    ----------
    design : DesignSection
        ``[design]``.
    params : SimonParams, BayesParams, PriorParams or AssuranceParams
        The table of its kind.
    source_path : str
        How messages and outputs name the spec (``models/design/<file>`` for a default one).
    source_text : str
        The TOML text (its SHA-256 goes into ``summary.json``).
    key_prefix : tuple of str
        How keys of ``params`` are named in messages: ``("simon",)`` in a file, ``()`` for
        options of the command line.
    folder : Path or None
        The spec file's folder (a relative path in the spec is read from there).
    """

    design: DesignSection
    params: _Params
    source_path: str = "<spec>"
    source_text: str = ""
    key_prefix: tuple[str, ...] = ()
    folder: Path | None = None

    @property
    def name(self) -> str:
        """``design.name``."""
        return self.design.name

    @property
    def kind(self) -> str:
        """``design.kind``."""
        return self.design.kind

    @property
    def source_sha256(self) -> str:
        """SHA-256 of the spec's text."""
        return hashlib.sha256(self.source_text.encode("utf-8")).hexdigest()

    def key(self, name: str) -> str:
        """The name of a key of ``params`` in messages."""
        return ".".join((*self.key_prefix, name))

    @property
    def needs_analysis(self) -> str | None:
        """The analysis whose fit the study needs (``survival_analysis``), or ``None``."""
        return getattr(self.params, "survival_analysis", None)


def check_design_analyses(designs: Sequence[DesignSpec],
                          specs: Sequence[AnalysisSpec]) -> None:
    """Check that every analysis a study names is among ``specs``, with that prior set.

    Run before any fit, so that a study that cannot be computed stops a run early.

    Raises
    ------
    bayesblina.errors.SpecError
        Naming the design spec, the key, the value and the analyses (or prior sets) allowed.
    """
    by_name = {s.analysis.name: s for s in specs}
    for design in designs:
        name = design.needs_analysis
        if name is None:
            continue
        if name not in by_name:
            have = ", ".join(sorted(by_name)) or "none"
            raise SpecError(
                f"{design.source_path}: key '{design.key('survival_analysis')}': {name!r} is "
                f"not an analysis of this run (its analyses: {have}); add that analysis's spec "
                "to the run")
        prior_set = getattr(design.params, "survival_prior_set", None)
        if prior_set is not None and prior_set not in by_name[name].priors:
            raise SpecError(
                f"{design.source_path}: key '{design.key('survival_prior_set')}': "
                f"{prior_set!r} is not a prior set of {name!r}: allowed "
                f"{', '.join(by_name[name].priors)}")


def _validate_params(kind: str, raw: Any, *, where: str, prefix: tuple[str, ...]) -> _Params:
    params = validate_section(PARAMS[kind], raw, where=where, prefix=prefix)
    for key, message in params.problems():
        raise SpecError(f"{where}: key '{'.'.join((*prefix, key))}': {message}")
    return params


def parse_design_spec(raw: Any, *, where: str = "<spec>", text: str = "") -> DesignSpec:
    """Validate a design spec already parsed from TOML.

    Parameters
    ----------
    raw : dict
        The TOML document.
    where : str
        How messages name the file.
    text : str
        The TOML text (for provenance).

    Returns
    -------
    DesignSpec

    Raises
    ------
    bayesblina.errors.SpecError
        On a missing or unknown table, an unknown key, a value of the wrong TOML type or out of
        range, or keys that contradict each other; one line naming the file and the key.

    References
    ----------
    .. [1] The schema: :class:`DesignSection` and the parameter tables (docs/specs.md).
    """
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: a design spec must be a TOML table")
    check_finite(raw, where=where)
    if "design" not in raw:
        raise SpecError(f"{where}: missing required table [design] (name, title, question, "
                        f"kind = {' | '.join(repr(k) for k in KINDS)})")
    design = validate_section(DesignSection, raw["design"], where=where, prefix=("design",))
    kind = design.kind
    others = sorted(k for k in raw if k not in ("design", kind))
    if others:
        raise SpecError(f"{where}: unknown table [{others[0]}] in a design spec of kind = "
                        f"'{kind}': it holds [design] and [{kind}]")
    if kind not in raw:
        raise SpecError(f"{where}: missing required table [{kind}] (the parameters of kind = "
                        f"'{kind}')")
    params = _validate_params(kind, raw[kind], where=where, prefix=(kind,))
    return DesignSpec(design, params, where, text, (kind,))


def _design_source(path: Path) -> str:
    """How messages name a design spec: ``models/design/<file>`` for a default one."""
    try:
        packaged = path.resolve().parent == DEFAULT_DESIGN_DIR.resolve()
    except OSError:
        packaged = False
    return f"models/design/{path.name}" if packaged else str(path)


def load_design_spec(path: str | Path) -> DesignSpec:
    """Read and validate one design spec file, or a default design spec by its name.

    Parameters
    ----------
    path : str or Path
        A ``.toml`` file, or the name of a default spec (``"phase2_simon"``).

    Returns
    -------
    DesignSpec

    Raises
    ------
    bayesblina.errors.SpecError
        If the file is missing, not UTF-8 TOML, or invalid (see :func:`parse_design_spec`), or
        ``design.name`` differs from the file name.

    References
    ----------
    .. [1] The default specs: ``models/design/`` (docs/design/).
    """
    found = find_design_spec(path)
    file = Path(path) if found is None else found
    where = _design_source(file)
    text = read_spec_text(file, where)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{where}: not valid TOML: {err}") from None
    spec = dataclasses.replace(parse_design_spec(raw, where=where, text=text),
                               folder=file.resolve().parent)
    if spec.name != file.stem:
        raise SpecError(f"{where}: key 'design.name': must equal the file name {file.stem!r} "
                        f"(got {spec.name!r})")
    if spec.kind == "escalation":
        _posterior_source(spec)  # the analysis it names exists, with that prior set
    return spec


def load_design_specs(paths: Sequence[str | Path]) -> list[DesignSpec]:
    """Load several design specs, refusing two with one name.

    Raises
    ------
    bayesblina.errors.SpecError
        As :func:`load_design_spec`, or for a name used twice.
    """
    specs = [load_design_spec(p) for p in paths]
    seen: dict[str, str] = {}
    for s in specs:
        if s.name in seen:
            raise SpecError(f"{s.source_path}: design name {s.name!r} also used by "
                            f"{seen[s.name]}")
        seen[s.name] = s.source_path
    return specs


def is_design_spec(path: str | Path) -> bool:
    """Whether ``path`` is a TOML file whose top table is ``[design]`` (not ``[analysis]``)."""
    file = Path(path)
    if file.suffix != ".toml" or not file.is_file():
        return False
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return "design" in raw and "analysis" not in raw


def find_design_spec(item: str | Path) -> Path | None:
    """The design spec a command-line argument names, or ``None`` if it names none.

    A design spec file (:func:`is_design_spec`), or the bare name of a default design spec
    (``phase2_simon`` for ``models/design/phase2_simon.toml``) when no such file is here.
    """
    path = Path(item)
    packaged = DEFAULT_DESIGN_DIR / f"{path.name}.toml"
    if path.suffix == "" and len(path.parts) == 1 and not path.exists() and packaged.is_file():
        return packaged
    return path if is_design_spec(path) else None


def discover_design_specs(folder: str | Path | None = None) -> list[Path]:
    """The design specs (``*.toml`` with ``[design]``) of a folder, sorted by name.

    Parameters
    ----------
    folder : str or Path, optional
        Default: the packaged ``models/design/``. A folder that does not exist holds none.
    """
    base = DEFAULT_DESIGN_DIR if folder is None else Path(folder)
    if not base.is_dir():
        return []
    return sorted(p for p in base.glob("*.toml") if is_design_spec(p))


# --------------------------------------------------------------------------------------
# The command line's options: one per key of a kind's table
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionField:
    """How one key of a parameter table is given on the command line.

    Attributes
    ----------
    key : str
        The key (the option is ``--`` + the key with ``-`` for ``_``).
    form : str
        ``"number"``, ``"integer"``, ``"text"``, ``"choice"``, ``"flag"``, ``"numbers"``,
        ``"integers"``,
        ``"choices"``, ``"table"`` (one table: its fields' values in order) or ``"tables"``
        (a list of tables: the option repeated).
    choices : tuple of str
        The allowed strings (``choice``, ``choices``).
    fields : tuple of str
        The keys of a table (``table``, ``tables``), in the order the values are given.
    help : str
        The key's description.
    """

    key: str
    form: str
    choices: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    help: str = ""


def _strip(annotation: Any) -> Any:
    """The type under ``Annotated`` and ``| None``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = members[0]
        else:
            return annotation


def _form(annotation: Any) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    ann = _strip(annotation)
    origin = typing.get_origin(ann)
    if origin is Literal:
        return "choice", tuple(typing.get_args(ann)), ()
    if origin is list:
        inner = _strip(typing.get_args(ann)[0])
        if typing.get_origin(inner) is Literal:
            return "choices", tuple(typing.get_args(inner)), ()
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return "tables", (), tuple(inner.model_fields)
        return ("integers" if inner is int else "numbers"), (), ()
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "table", (), tuple(ann.model_fields)
    if ann is str:
        return "text", (), ()
    if ann is bool:
        return "flag", (), ()
    return ("integer" if ann is int else "number"), (), ()


def option_fields(kind: str) -> list[OptionField]:
    """The keys of a kind's parameter table as command-line options (in the table's order).

    Raises
    ------
    bayesblina.errors.SpecError
        For an unknown kind.
    """
    if kind not in PARAMS:
        raise SpecError(f"kind = {kind!r} is invalid: allowed {', '.join(KINDS)}")
    out = []
    for key, field in PARAMS[kind].model_fields.items():
        form, choices, fields = _form(field.annotation)
        out.append(OptionField(key, form, choices, fields, field.description or ""))
    return out


#: the table of each design type of an escalation study (``[[escalation.designs]]``)
DESIGN_PARAMS: dict[str, type[_Strict]] = {
    "3+3": ThreePlusThreeParams, "boin": BOINParams, "crm": CRMParams, "blrm": BLRMParams,
}


def keys_table(kind: str, design_type: str | None = None) -> pd.DataFrame:
    """The keys of a kind's table: name, default and meaning (for docs/specs.md).

    Parameters
    ----------
    kind : str
    design_type : str, optional
        With ``kind = "escalation"``: the keys of one design table (``"blrm"``, ...).

    Raises
    ------
    bayesblina.errors.SpecError
        For an unknown kind or design type.
    """
    option_fields(kind)  # checks the kind
    cls: type[BaseModel] = PARAMS[kind]
    if design_type is not None:
        if kind != "escalation" or design_type not in DESIGN_PARAMS:
            raise SpecError(f"design_type = {design_type!r} is invalid: allowed with kind = "
                            f"'escalation': {', '.join(DESIGN_PARAMS)}")
        cls = DESIGN_PARAMS[design_type]
    rows = []
    for key, field in cls.model_fields.items():
        if field.is_required():
            default = "required"
        elif field.default_factory is not None:
            value = field.default_factory()  # type: ignore[call-arg]
            default = repr(value.model_dump() if isinstance(value, BaseModel) else value)
        else:
            default = "—" if field.default is None else repr(field.default)
        rows.append({"key": key, "default": default, "meaning": field.description or ""})
    return pd.DataFrame(rows)


_TITLES = {
    "simon": "Simon two-stage designs",
    "bayes": "A Bayesian single-arm design monitored by predictive or posterior probability",
    "prior": "A prior for the next trial, its effective sample size and a follow-up",
    "assurance": "The probability of success of a new trial",
    "escalation": "Dose-escalation designs compared by simulation",
}
_QUESTIONS = {
    "simon": "Which two-stage designs meet alpha and power, and how does a given one compare?",
    "bayes": "Which monitored design meets alpha and power, and what are its exact OCs?",
    "prior": "What is the historical data worth as a prior, and what does it do to a follow-up?",
    "assurance": "How likely is the new trial to succeed, given what we believe now?",
    "escalation": "How often does each escalation design pick an acceptable dose, and at what "
                  "cost in overdosed patients?",
}


def design_spec_from_options(kind: str, options: dict[str, Any]) -> DesignSpec:
    """A design spec from command-line options: the same table, the same validation.

    Parameters
    ----------
    kind : str
        The kind (``"simon"``, ...).
    options : dict
        The parameter table's keys given (values as TOML would give them).

    Returns
    -------
    DesignSpec
        Named ``<kind>_command_line``, messages naming the keys without prefix.

    Raises
    ------
    bayesblina.errors.SpecError
        As :func:`parse_design_spec` (``bayesblina design <kind>: key 'p1': ...``).
    """
    where = f"bayesblina design {kind}"
    if kind not in PARAMS:
        raise SpecError(f"{where}: unknown kind; allowed {', '.join(KINDS)}")
    check_finite(options, where=where)
    design = DesignSection(name=f"{kind}_command_line", title=_TITLES[kind],
                           question=_QUESTIONS[kind], kind=kind)  # type: ignore[arg-type]
    params = _validate_params(kind, options, where=where, prefix=())
    return DesignSpec(design, params, where, "", ())


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _plain(value: Any) -> Any:
    """A JSON-able copy: numpy numbers as Python ones, NaN and NA as ``None``."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    return value


@dataclass(frozen=True, eq=False)
class DesignResult:
    """What a design study computed.

    Attributes
    ----------
    spec : DesignSpec
        The spec.
    tables : dict of str to pandas.DataFrame
        The tables, by names people read (``"operating characteristics"``); written as
        ``tables/design_<name>_<table>.csv`` (:meth:`csv_name`).
    summary : dict
        The numbers that matter, JSON-able (``summary.json``'s ``designs[i].summary``).
    finding : str
        One sentence written from the numbers.
    figure : bytes or None
        A PNG (:func:`bayesblina.core.figures.figure_png`), or ``None``.
    status : str
        ``"EXACT"`` (every number an exact computation), ``"SIMULATED"`` (Monte Carlo, with
        standard errors), or ``"PASSED"``/``"FAILED"``: a MAP prior's MCMC fit through the
        diagnostics gate or not (a failed fit reports no prior).
    extra_figures : dict of str to bytes
        More PNGs by name (``"pathways"``), written as ``design_<name>_<figure>.png``.
    """

    spec: DesignSpec
    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]
    finding: str
    figure: bytes | None = None
    status: str = "EXACT"
    extra_figures: dict[str, bytes] = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        """The spec's name."""
        return self.spec.name

    @property
    def passed(self) -> bool:
        """False only for a MAP fit that failed the diagnostics gate."""
        return self.status != "FAILED"

    def csv_name(self, table: str) -> str:
        """The file name of a table: ``design_<name>_<table>.csv``."""
        return f"design_{self.name}_{_slug(table)}.csv"

    def figure_name(self, extra: str | None = None) -> str:
        """The file name of the figure: ``design_<name>.png`` (``design_<name>_<extra>.png``)."""
        return f"design_{self.name}.png" if extra is None else \
            f"design_{self.name}_{_slug(extra)}.png"

    def entry(self) -> dict[str, Any]:
        """The ``summary.json`` entry of the study.

        Keys: name, kind, title, question, status, spec (as named), spec_sha256, summary,
        finding, tables (table name -> ``tables/design_<name>_<table>.csv``), figure
        (``figures/design_<name>.png`` or ``None``) and extra_figures (name -> file).
        """
        return {
            "name": self.name,
            "kind": self.spec.kind,
            "title": self.spec.design.title,
            "question": self.spec.design.question,
            "status": self.status,
            "spec": self.spec.source_path,
            "spec_sha256": self.spec.source_sha256,
            "summary": self.summary,
            "finding": self.finding,
            "tables": {t: f"tables/{self.csv_name(t)}" for t in self.tables},
            "figure": None if self.figure is None else f"figures/{self.figure_name()}",
            "extra_figures": {k: f"figures/{self.figure_name(k)}" for k in self.extra_figures},
        }

    def to_text(self) -> str:
        """The study as text: title, question, every table (``DataFrame.to_string``), finding."""
        lines = [self.spec.design.title, f"Question: {self.spec.design.question}"]
        if self.status != "EXACT":
            lines.append(f"Status: {self.status}")
        for title, table in self.tables.items():
            lines += ["", f"{title}:", _to_string(table)]
        lines += ["", f"Finding: {self.finding}"]
        return "\n".join(lines)


def _to_string(table: pd.DataFrame) -> str:
    if table.empty:
        return "(none)"
    return table.to_string(index=False, na_rep="–", float_format=lambda v: f"{v:.4g}")


@contextmanager
def _engine(spec: DesignSpec, default_key: str) -> Iterator[None]:
    """An engine's SpecError, prefixed with the spec and the key it is about."""
    try:
        yield
    except SpecError as err:
        msg = str(err)
        if msg.startswith(f"{spec.source_path}: "):
            raise  # already names the spec and its key
        head = re.match(r"([A-Za-z_]\w*)", msg)
        cls = type(spec.params)
        name = head[1] if head else ""
        key = name if name in cls.model_fields else cls.aliases.get(name, default_key)
        raise SpecError(f"{spec.source_path}: key '{spec.key(key)}': {msg}") from None


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def describe_mixture(mix: BetaMixture) -> str:
    """``Beta(15, 31)``, or ``0.8 Beta(8, 16) + 0.2 Beta(1, 1)`` for a mixture."""
    parts = [f"Beta({_fmt(a)}, {_fmt(b)})" for a, b in zip(mix.a, mix.b, strict=True)]
    if mix.n_components == 1:
        return parts[0]
    return " + ".join(f"{_fmt(w)} {p}" for w, p in zip(mix.weights, parts, strict=True))


def _mixture_dict(mix: BetaMixture) -> dict[str, Any]:
    return {"weights": mix.weights.tolist(), "a": mix.a.tolist(), "b": mix.b.tolist(),
            "mean": mix.mean(), "sd": mix.sd()}


def _quantile(mix: BetaMixture, q: float) -> float:
    return float(optimize.brentq(lambda t: mix.cdf(t) - q, 0.0, 1.0, xtol=1e-12))


def _rates(given: Sequence[float] | None, *extra: float | None) -> list[float]:
    base = list(given) if given is not None else list(DEFAULT_RATES)
    if given is None:
        base += [r for r in extra if r is not None]
    return sorted(set(base))


def _figure(want: bool, make: Any) -> bytes | None:
    return figure_png(make()) if want else None


@dataclass(frozen=True)
class Execution:
    """Where a simulated study (``kind = "escalation"``) runs; it changes no number.

    Attributes
    ----------
    workers : int or None
        Local worker processes (default every core where that pays, see
        :func:`bayesblina.core.parallel.run_batches`; 1: in this process).
    client : distributed.Client or None
        A Dask client to run the batches on.
    scheduler : str or None
        Or a Dask scheduler address (``tcp://host:8786``).
    out_dir : str, Path or None
        Folder of finished batches: a rerun resumes from it.
    progress : bool
        Show the batches' progress.

    See Also
    --------
    bayesblina.core.parallel.run_batches
    """

    workers: int | None = None
    client: distributed.Client | None = None
    scheduler: str | None = None
    out_dir: str | Path | None = None
    progress: bool = False


def run_design(spec: DesignSpec, *, figure: bool = True,
               analyses: Mapping[str, AnalysisResult] | None = None,
               execution: Execution | None = None) -> DesignResult:
    """Compute a design study: its tables, summary, finding and figure.

    Parameters
    ----------
    spec : DesignSpec
        A validated spec (:func:`load_design_spec`, :func:`design_spec_from_options`).
    figure : bool, default True
        Draw the figure (``False``: ``DesignResult.figure`` is ``None``).
    analyses : mapping of str to AnalysisResult, optional
        The run's analyses by name: a study that names one (``survival_analysis``, see
        :attr:`DesignSpec.needs_analysis`) takes its fit from here.
    execution : Execution, optional
        Where a simulated study runs (default: every local core, no progress).

    Returns
    -------
    DesignResult

    Raises
    ------
    bayesblina.errors.SpecError
        An engine's error (e.g. no feasible design with ``n <= nmax``; the message gives the
        smallest ``n`` that has one), prefixed with the spec and the key.

    References
    ----------
    .. [1] The engines: :mod:`bayesblina.design.simon`, :mod:`bayesblina.design.monitoring`,
       :mod:`bayesblina.design.priors`, :mod:`bayesblina.design.assurance`,
       :mod:`bayesblina.design.simulation`.
    """
    runner, default_key = _RUNNERS[spec.kind]
    with _engine(spec, default_key):
        if spec.kind == "assurance":
            return runner(spec, figure, analyses or {})
        if spec.kind == "escalation":
            return runner(spec, figure, execution or Execution())
        return runner(spec, figure)


# --------------------------------------------------------------------------------------
# kind = "simon"
# --------------------------------------------------------------------------------------


def _label(r1: int, n1: int, r: int, n: int) -> str:
    return f"{r1}/{n1}, {r}/{n}"


def _design_row(rec: dict[str, Any]) -> dict[str, Any]:
    keys = ("r1", "n1", "r", "n", "alpha", "power", "pet0", "en0")
    return {"boundaries": _label(int(rec["r1"]), int(rec["n1"]), int(rec["r"]), int(rec["n"])),
            **{k: rec[k] for k in keys}}


def _run_simon(spec: DesignSpec, want_figure: bool) -> DesignResult:
    p = spec.params
    assert isinstance(p, SimonParams)
    per_n = simon_best_by_n(p.p0, p.p1, p.alpha, p.power, p.nmax)
    comparison = None
    if p.design is not None:
        comparison = simon_compare(tuple(p.design), p.p0, p.p1, p.alpha, p.power, p.nmax)
        designs = comparison.table.copy()
    else:
        designs = simon_admissible(p.p0, p.p1, p.alpha, p.power, p.nmax).rename(
            columns={"criterion": "design"})
        designs["feasible"] = True
    designs.insert(1, "boundaries", [
        _label(*(int(v) for v in row)) for row in designs[["r1", "n1", "r", "n"]].to_numpy()])
    rates = _rates(p.rates, p.p0, p.p1)
    oc_frames = []
    for rec in designs.to_dict("records"):
        tab = simon_oc_table(SimpleNamespace(n1=rec["n1"], r1=rec["r1"], n=rec["n"],
                                             r=rec["r"]), rates)
        tab.insert(0, "boundaries", rec["boundaries"])
        tab.insert(0, "design", rec["design"])
        oc_frames.append(tab)
    oc = pd.concat(oc_frames, ignore_index=True)
    per_n_tab = per_n.copy()
    per_n_tab.insert(0, "boundaries", [
        _label(*(int(v) for v in row)) for row in per_n[["r1", "n1", "r", "n"]].to_numpy()])
    hull_rows = designs[designs["design"] != "given"].to_dict("records")
    minimax, optimal = _design_row(hull_rows[0]), _design_row(hull_rows[-1])
    summary: dict[str, Any] = {
        "p0": p.p0, "p1": p.p1, "alpha": p.alpha, "power": p.power, "nmax": p.nmax,
        "minimax": minimax, "optimal": optimal,
        "admissible": [{"criterion": r["design"], **_design_row(r), "q_low": r["q_low"],
                        "q_high": r["q_high"]} for r in hull_rows],
        "given": None, "verdict": None,
    }
    designs_txt = (f"the minimax design {minimax['boundaries']} (EN(p0) {minimax['en0']:.1f}) "
                   f"to the optimal design {optimal['boundaries']} (EN(p0) "
                   f"{optimal['en0']:.1f})")
    if len(hull_rows) == 1:
        designs_txt = (f"{minimax['boundaries']} (EN(p0) {minimax['en0']:.1f}) to itself: it is "
                       "both minimax and optimal")
    if comparison is not None:
        given_rec = designs.iloc[0].to_dict()
        given = _design_row(given_rec)
        summary["given"] = {
            **given, "feasible": comparison.feasible, "admissible": comparison.admissible,
            "dominated": comparison.dominated,
            "dominated_by": [_label(*d) for d in comparison.dominated_by],
            "q_low": given_rec["q_low"], "q_high": given_rec["q_high"],
        }
        summary["verdict"] = comparison.verdict
        if not comparison.feasible:
            status = "is infeasible"
        elif comparison.admissible:
            status = (f"is admissible (it minimises q n + (1 - q) EN(p0) for q in "
                      f"[{given_rec['q_low']:.3f}, {given_rec['q_high']:.3f}])")
        elif comparison.dominated:
            dom = [d for d in summary["given"]["dominated_by"]
                   if d in {r["boundaries"] for r in summary["admissible"]}]
            dom = dom or summary["given"]["dominated_by"][:1]
            status = (f"is dominated (by {' and '.join(dom)}: n and EN(p0) no larger, one "
                      "smaller)")
        else:
            status = "is feasible but not admissible (above the convex hull of (n, EN(p0)))"
        finding = (f"The given design {given['boundaries']} (attained one-sided alpha "
                   f"{given['alpha']:.4f}, power {given['power']:.4f}, EN(p0) "
                   f"{given['en0']:.1f}) {status}; for p0 = {p.p0:g}, p1 = {p.p1:g}, alpha "
                   f"{p.alpha:g} and power {p.power:g} the admissible designs run from "
                   f"{designs_txt}.")
    else:
        finding = (f"For p0 = {p.p0:g}, p1 = {p.p1:g}, one-sided alpha {p.alpha:g} and power "
                   f"{p.power:g}, {len(hull_rows)} admissible design(s) run from {designs_txt}.")
    tables = {"designs": designs, "operating characteristics": oc,
              "best design per n": per_n_tab}
    fig = _figure(want_figure, lambda: plots.simon_plot(per_n, designs, spec.design.title))
    return DesignResult(spec, tables, _plain(summary), finding, fig)


# --------------------------------------------------------------------------------------
# kind = "bayes"
# --------------------------------------------------------------------------------------


def _run_bayes(spec: DesignSpec, want_figure: bool) -> DesignResult:
    p = spec.params
    assert isinstance(p, BayesParams)
    prior = p.prior_mixture()
    search = None
    if p.nmax is None:
        assert p.p1 is not None and p.alpha is not None and p.power is not None
        search = monitoring_search(
            p.p0, p.p1, p.alpha, p.power, prior=prior, rule=p.rule, nmax_min=p.nmax_min,
            nmax_cap=p.nmax_cap, first_look=p.first_look, look_every=p.look_every,
            theta_t=p.theta_t_grid, theta_l=p.theta_l_grid, theta_u=p.theta_u)
        design = search.design
    else:
        assert p.theta_t is not None and p.theta_l is not None
        looks = (tuple(p.looks) if p.looks is not None
                 else tuple(range(p.first_look, p.nmax, p.look_every)))
        design = MonitoringDesign(nmax=p.nmax, p0=p.p0, theta_t=p.theta_t, theta_l=p.theta_l,
                                  theta_u=p.theta_u, looks=looks, prior=prior, rule=p.rule)
    rates = _rates(p.rates, p.p0, p.p1)
    oc = monitoring_oc(design, rates)
    at = oc.table.set_index("p")
    looks_txt = ", ".join(str(v) for v in design.looks) or "none"
    design_tab = pd.DataFrame([{
        "rule": design.rule, "prior": describe_mixture(prior), "nmax": design.nmax,
        "theta_t": design.theta_t, "theta_l": design.theta_l, "theta_u": design.theta_u,
        "interim looks": looks_txt}])
    tables: dict[str, pd.DataFrame] = {
        "design": design_tab,
        "decision boundaries": oc.boundaries,
        "operating characteristics": oc.table,
        "stopping by look": oc.by_look,
    }

    def point(rate: float) -> dict[str, float]:
        row = at.loc[rate]
        return {k: float(row[k]) for k in ("success", "early_futility", "early_efficacy",
                                          "pet", "en")}

    summary: dict[str, Any] = {
        "rule": design.rule, "p0": p.p0, "p1": p.p1, "alpha": p.alpha, "power": p.power,
        "prior": _mixture_dict(prior),
        "design": {"nmax": design.nmax, "theta_t": design.theta_t, "theta_l": design.theta_l,
                   "theta_u": design.theta_u, "looks": list(design.looks)},
        "at_p0": point(p.p0), "at_p1": point(p.p1) if p.p1 is not None else None,
        "boundaries": oc.boundaries.astype(object).where(oc.boundaries.notna(), None)
        .to_dict("records"),
        "searched": None, "feasible": None,
    }
    if search is not None:
        distinct = search.feasible.drop_duplicates(
            ["nmax", "alpha", "power", "en0", "pet0", "en1", "pet1"])
        tables["best feasible designs"] = distinct.head(SEARCH_ROWS).reset_index(drop=True)
        summary["searched"] = search.searched
        summary["feasible"] = len(search.feasible)
    how = "found by the exact search" if search is not None else "given"
    stat = "predictive" if design.rule == "predictive" else "posterior"
    a0 = summary["at_p0"]
    finding = (f"The {stat}-probability design {how} enrols at most {design.nmax} patients "
               f"(theta_T {design.theta_t:g}, theta_L {design.theta_l:g}, interim looks at "
               f"{looks_txt}) and declares success with exact probability {a0['success']:.4f} "
               f"at p0 = {p.p0:g}")
    if p.p1 is not None:
        finding += f" and {summary['at_p1']['success']:.4f} at p1 = {p.p1:g}"
    finding += (f"; under p0 it stops early with probability {a0['pet']:.3f} "
                f"(expected {a0['en']:.1f} patients).")
    fig = _figure(want_figure,
                  lambda: plots.oc_plot(oc.table, p.p0, p.p1, spec.design.title))
    return DesignResult(spec, tables, _plain(summary), finding, fig)


# --------------------------------------------------------------------------------------
# kind = "prior"
# --------------------------------------------------------------------------------------


def _ess_cell(mix: BetaMixture, method: str, p: PriorParams) -> tuple[float, str]:
    """An ESS, or NaN and why it is undefined (the engine's reason)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = ess(mix, method, s=p.morita_s, location=p.morita_location)  # type: ignore[arg-type]
        except SpecError as err:
            return float("nan"), str(err).split(" (")[0].split(";")[0]
    note = "; ".join(str(w.message) for w in caught)
    return value, note


def _run_prior(spec: DesignSpec, want_figure: bool) -> DesignResult:
    p = spec.params
    assert isinstance(p, PriorParams)
    vague = p.vague.mixture()
    tables: dict[str, pd.DataFrame] = {}
    status = "EXACT"
    if p.is_map:
        assert p.tau_scale is not None
        fit = map_prior(p.x, p.n, tau_scale=p.tau_scale, mu_mean=p.mu_mean, mu_sd=p.mu_sd,
                        draws=p.map_draws, tune=p.map_tune, chains=p.map_chains,
                        seed=p.map_seed, max_components=p.map_max_components,
                        constrain_gt1=p.map_constrain_gt1, require_gate=False)
        status = fit.gate.status
        gate = pd.DataFrame(fit.gate.to_dict()["checks"])
        tables["MAP fit diagnostics"] = gate
        if not fit.gate.passed:
            finding = ("The MAP prior's MCMC fit FAILED the diagnostics gate, so no prior is "
                       "reported; rerun with more draws or a larger map_tune.")
            return DesignResult(spec, tables, _plain({"status": status,
                                                      "gate": fit.gate.to_dict()}),
                                finding, None, status)
        informative = fit.mixture
        quad = map_predictive_quadrature(p.x, p.n, tau_scale=p.tau_scale, mu_mean=p.mu_mean,
                                         mu_sd=p.mu_sd)
        tables["MAP check"] = pd.DataFrame([
            {"quantity": "mean", "beta mixture": informative.mean(), "quadrature": quad.mean},
            {"quantity": "sd", "beta mixture": informative.sd(), "quadrature": quad.sd}])
        tables["MAP mixture selection"] = fit.selection.table
        inf_name = "MAP prior"
        source = f"{len(p.x)} trials ({sum(p.x)}/{sum(p.n)} responders), tau_scale {p.tau_scale:g}"
    else:
        assert p.discount is not None
        informative = power_prior(p.x[0], p.n[0], p.discount, p.a0, p.b0)
        inf_name = "power prior"
        source = (f"{p.x[0]}/{p.n[0]} responders, discount {p.discount:g}, initial "
                  f"Beta({p.a0:g}, {p.b0:g})")
    priors: dict[str, BetaMixture] = {"vague": vague, inf_name: informative}
    if p.robust_weight is not None:
        priors["robust mixture"] = robustify(informative, p.robust_weight,
                                             (p.vague.a, p.vague.b))
    rows = []
    for name, mix in priors.items():
        rows.append({"prior": name, "distribution": describe_mixture(mix), "mean": mix.mean(),
                     "sd": mix.sd(), "q2.5%": _quantile(mix, 0.025),
                     "q97.5%": _quantile(mix, 0.975)})
    tables["priors"] = pd.DataFrame(rows)
    ess_rows = []
    ess_summary: dict[str, dict[str, float | None]] = {}
    for name, mix in priors.items():
        ess_summary[name] = {}
        for method in p.ess_methods:
            value, note = _ess_cell(mix, method, p)
            ess_rows.append({"prior": name, "method": method, "ess": value, "note": note})
            ess_summary[name][method] = value
    tables["effective sample sizes"] = pd.DataFrame(ess_rows)
    summary: dict[str, Any] = {
        "status": status, "source": source,
        "priors": {name: _mixture_dict(mix) for name, mix in priors.items()},
        "ess": ess_summary, "follow_up": None,
    }
    oc_long = None
    if p.n_new is not None:
        assert p.p0 is not None and p.threshold is not None and p.true_rates is not None
        frames = []
        true_rates = _rates(p.true_rates)
        for name, mix in priors.items():
            tab = follow_up_oc(mix, p.n_new, p.p0, p.threshold, true_rates)
            tab.insert(0, "prior", name)
            frames.append(tab)
        oc_long = pd.concat(frames, ignore_index=True)
        tables["follow-up operating characteristics"] = oc_long
        wide = oc_long.pivot(index="true_rate", columns="prior", values="prob_success")
        wide = wide[list(priors)].reset_index().rename_axis(columns=None)
        cdf = np.array([float(informative.cdf(r)) for r in wide["true_rate"]])
        wide.insert(1, f"{inf_name} P(p <= rate)", cdf)
        tail = p.conflict_tail
        wide["conflict"] = (cdf < tail) | (cdf > 1 - tail)
        tables["success by true rate"] = wide
        conflict = wide[wide["conflict"]].drop(columns="conflict")
        tables["prior-data conflict"] = conflict
        crit = {name: oc_long[oc_long["prior"] == name]["critical_responses"].iloc[0]
                for name in priors}
        at_p0 = {name: float(1.0 - _binom_cdf_below(crit[name], p.n_new, p.p0))
                 for name in priors}
        summary["follow_up"] = {
            "n_new": p.n_new, "p0": p.p0, "threshold": p.threshold,
            "critical_responses": {k: (None if pd.isna(v) else int(v)) for k, v in crit.items()},
            "success_at_p0": at_p0,
            "conflict_rates": [float(r) for r in conflict["true_rate"]],
            "success_by_rate": {name: dict(zip(wide["true_rate"].tolist(),
                                               wide[name].tolist(), strict=True))
                                for name in priors},
        }
    finding = _prior_finding(priors, inf_name, ess_summary, summary["follow_up"], p)
    fig = _figure(want_figure, lambda: plots.prior_plot(priors, oc_long, spec.design.title))
    return DesignResult(spec, tables, _plain(summary), finding, fig, status)


def _binom_cdf_below(critical: Any, n: int, p: float) -> float:
    """``P(Bin(n, p) < critical)`` (1 when no outcome succeeds)."""
    if critical is None or pd.isna(critical):
        return 1.0
    return float(stats.binom.cdf(int(critical) - 1, n, p))


_ESS_NAMES = {"moment": "moments", "morita": "Morita", "elir": "ELIR"}


def _best_ess(values: dict[str, float | None]) -> str:
    parts = [f"{v:.1f} ({_ESS_NAMES[m]})" for m, v in values.items()
             if v is not None and math.isfinite(v)]
    return ", ".join(parts) + " patients" if parts else "an undefined number of patients"


def _prior_finding(priors: dict[str, BetaMixture], inf_name: str,
                   ess_summary: dict[str, dict[str, float | None]],
                   follow: dict[str, Any] | None, p: PriorParams) -> str:
    inf = priors[inf_name]
    text = (f"The {inf_name} {describe_mixture(inf)} (mean {inf.mean():.3f}) is worth "
            f"{_best_ess(ess_summary[inf_name])}")
    if "robust mixture" in priors:
        text += (f", its robust mixture with weight {p.robust_weight:g} on the vague part "
                 f"{_best_ess(ess_summary['robust mixture'])}")
    if follow is not None:
        crit = follow["critical_responses"]
        at_p0 = follow["success_at_p0"]
        text += (f"; in a follow-up of {follow['n_new']} patients (success if "
                 f"P(p > {follow['p0']:g}) > {follow['threshold']:g}) it needs "
                 f"{_crit_text(crit[inf_name])} responders against "
                 f"{_crit_text(crit['vague'])} under the vague prior, a type I error of "
                 f"{at_p0[inf_name]:.3f} instead of {at_p0['vague']:.3f}")
        if "robust mixture" in priors:
            text += f" ({at_p0['robust mixture']:.3f} robust)"
        conflict = follow["conflict_rates"]
        if conflict:
            text += (f", with prior–data conflict at true rates "
                     f"{', '.join(f'{r:g}' for r in conflict)}")
    return text + "."


def _crit_text(value: int | None) -> str:
    return "no number of" if value is None else f"{value}"


# --------------------------------------------------------------------------------------
# kind = "assurance"
# --------------------------------------------------------------------------------------


def _run_assurance(spec: DesignSpec, want_figure: bool,
                   analyses: Mapping[str, AnalysisResult]) -> DesignResult:
    p = spec.params
    assert isinstance(p, AssuranceParams)
    if p.endpoint == "time_to_event":
        return _run_tte(spec, p, want_figure, analyses)
    if p.n_control is not None:
        return _run_two_arm(spec, p, want_figure)
    prior = p.design_prior()
    assert p.n_new is not None

    def rule_for(n: int) -> ResponderRule | PosteriorRule:
        if p.rule == "responders":
            assert p.min_responders is not None
            return ResponderRule(p.min_responders)
        assert p.p0 is not None and p.threshold is not None
        return PosteriorRule(p.p0, p.threshold, p.analysis_prior.mixture())

    def power(success: np.ndarray, n: int, rate: float) -> float:
        return float(np.sum(stats.binom.pmf(np.arange(n + 1), n, rate) * success))

    res = single_arm_assurance(prior, p.n_new, rule_for(p.n_new))
    mean = prior.mean()
    grid = sorted(set(p.n_grid or [*range(10, 2 * p.n_new + 1, 10), p.n_new]))
    by_n = []
    for n in grid:
        r = single_arm_assurance(prior, n, rule_for(n))
        by_n.append({"n_new": n, "critical_responders": r.critical, "assurance": r.probability,
                     "power_at_prior_mean": power(r.success, n, mean),
                     **({"success_at_p0": power(r.success, n, p.p0)} if p.p0 else {})})
    by_n_tab = pd.DataFrame(by_n)
    by_n_tab["critical_responders"] = by_n_tab["critical_responders"].astype("Int64")
    predictive = pd.DataFrame({"responders": np.arange(p.n_new + 1),
                               "probability": res.predictive, "success": res.success})
    rates = _rates(p.true_rates, p.p0, mean)
    by_rate = pd.DataFrame({"true_rate": rates,
                            "prob_success": [power(res.success, p.n_new, r) for r in rates],
                            "design_prior_cdf": [float(prior.cdf(r)) for r in rates]})
    rule_txt = (f"P(p > {p.p0:g} | data) > {p.threshold:g} under "
                f"{describe_mixture(p.analysis_prior.mixture())}" if p.rule == "posterior"
                else f"at least {p.min_responders} responders")
    head = pd.DataFrame([{
        "design prior": describe_mixture(prior), "prior mean": mean, "n_new": p.n_new,
        "success rule": rule_txt, "critical responders": res.critical,
        "assurance": res.probability, "power at prior mean": power(res.success, p.n_new, mean),
        **({"success at p0": power(res.success, p.n_new, p.p0)} if p.p0 else {})}])
    head["critical responders"] = head["critical responders"].astype("Int64")
    tables = {"probability of success": head, "assurance by n": by_n_tab,
              "predictive distribution": predictive, "success by true rate": by_rate}
    summary = {
        "endpoint": "binary", "design_prior": _mixture_dict(prior), "n_new": p.n_new,
        "rule": p.rule, "rule_text": rule_txt, "critical_responders": res.critical,
        "assurance": res.probability,
        "power_at_prior_mean": power(res.success, p.n_new, mean),
        "success_at_p0": power(res.success, p.n_new, p.p0) if p.p0 else None,
        "prior_prob_above_p0": float(prior.sf(p.p0)) if p.p0 else None,
        "by_n": by_n_tab.astype(object).where(by_n_tab.notna(), None).to_dict("records"),
    }
    if p.rule == "responders":
        how = f"succeeds with {rule_txt}"
    else:
        crit = ("no outcome succeeds" if res.critical is None
                else f"at least {res.critical} responders")
        how = f"succeeds if {rule_txt} ({crit})"
    finding = (f"A single-arm trial of {p.n_new} patients that {how} "
               f"has assurance {res.probability:.3f} under the design prior "
               f"{describe_mixture(prior)}, against a power of "
               f"{summary['power_at_prior_mean']:.3f} at the prior mean {mean:.3f}.")
    fig = _figure(want_figure,
                  lambda: plots.assurance_plot(predictive, by_n_tab, spec.design.title))
    return DesignResult(spec, tables, _plain(summary), finding, fig)


def _run_two_arm(spec: DesignSpec, p: AssuranceParams, want_figure: bool) -> DesignResult:
    """Two arms, binary: the exact double sum of :func:`two_arm_assurance` (and by n)."""
    assert p.n_new is not None and p.n_control is not None
    prior_e, prior_c = p.design_prior(), p.control_design_prior()
    if p.rule == "difference":
        assert p.threshold is not None
        rule: DifferenceRule | FisherRule = DifferenceRule(
            p.threshold, p.analysis_prior.mixture(), p.control_analysis_prior.mixture(),
            p.delta)
        rule_txt = (f"P(p_e - p_c > {p.delta:g} | data) > {p.threshold:g} under "
                    f"{describe_mixture(p.analysis_prior.mixture())} (experimental) and "
                    f"{describe_mixture(p.control_analysis_prior.mixture())} (control)")
    else:
        assert p.fisher_alpha is not None
        rule = FisherRule(p.fisher_alpha)
        rule_txt = f"Fisher's exact test of p_e <= p_c rejects at one-sided {p.fisher_alpha:g}"
    ratio = p.n_control / p.n_new
    mean_c = prior_c.mean()

    def power(success: np.ndarray, n_e: int, n_c: int, rate_e: float, rate_c: float) -> float:
        pe = stats.binom.pmf(np.arange(n_e + 1), n_e, rate_e)
        pc = stats.binom.pmf(np.arange(n_c + 1), n_c, rate_c)
        return float(pe @ (success * 1.0) @ pc)

    res = two_arm_assurance(prior_e, prior_c, p.n_new, p.n_control, rule)
    mean_e = prior_e.mean()
    grid = sorted(set(p.n_grid or [*range(10, 2 * p.n_new + 1, 10), p.n_new]))
    by_n = []
    for n in grid:
        n_c = max(1, round(n * ratio))
        r = two_arm_assurance(prior_e, prior_c, n, n_c, rule)
        by_n.append({"n_new": n, "n_control": n_c, "assurance": r.probability,
                     "power_at_prior_means": power(r.success, n, n_c, mean_e, mean_c),
                     "success_if_equal": power(r.success, n, n_c, mean_c, mean_c)})
    by_n_tab = pd.DataFrame(by_n)
    rates = _rates(p.true_rates, mean_c, mean_e)
    by_rate = pd.DataFrame({
        "true_rate_experimental": rates, "true_rate_control": mean_c,
        "prob_success": [power(res.success, p.n_new, p.n_control, r, mean_c) for r in rates]})
    # P(success | x_e): the experimental arm's outcomes, the control arm averaged over
    cond = (res.success * 1.0) @ res.predictive_c
    predictive = pd.DataFrame({"responders": np.arange(p.n_new + 1),
                               "probability": res.predictive_e,
                               "prob_success_given_responders": cond,
                               "success": cond >= 0.5})
    at_means = power(res.success, p.n_new, p.n_control, mean_e, mean_c)
    type1 = power(res.success, p.n_new, p.n_control, mean_c, mean_c)
    head = pd.DataFrame([{
        "design prior (experimental)": describe_mixture(prior_e),
        "design prior (control)": describe_mixture(prior_c),
        "n_new (experimental)": p.n_new, "n_control": p.n_control, "success rule": rule_txt,
        "assurance": res.probability, "power at prior means": at_means,
        "success if both at the control mean": type1}])
    tables = {"probability of success": head, "assurance by n": by_n_tab,
              "experimental arm predictive distribution": predictive,
              "success by true rate": by_rate}
    summary = {
        "endpoint": "binary", "arms": 2, "design_prior": _mixture_dict(prior_e),
        "control_design_prior": _mixture_dict(prior_c), "n_new": p.n_new,
        "n_control": p.n_control, "rule": p.rule, "rule_text": rule_txt,
        "assurance": res.probability, "power_at_prior_means": at_means,
        "success_if_equal": type1,
        "by_n": by_n_tab.astype(object).where(by_n_tab.notna(), None).to_dict("records"),
    }
    finding = (f"A two-arm trial of {p.n_new} experimental and {p.n_control} control patients "
               f"that succeeds if {rule_txt} has assurance {res.probability:.3f} under the "
               f"design priors {describe_mixture(prior_e)} and {describe_mixture(prior_c)}, "
               f"against {at_means:.3f} at their means and {type1:.3f} if both rates equal "
               f"the control mean {mean_c:.3f}.")
    fig = _figure(want_figure,
                  lambda: plots.assurance_plot(predictive, by_n_tab, spec.design.title))
    return DesignResult(spec, tables, _plain(summary), finding, fig)


@dataclass(frozen=True, eq=False)
class _WeibullArm:
    """The Weibull draws of one arm of a time-to-event study, and where they come from."""

    shape: np.ndarray
    scale: np.ndarray
    arm: str
    source: str
    unit: str | None = None


def _posterior_arm(p: AssuranceParams,
                   analyses: Mapping[str, AnalysisResult]) -> _WeibullArm | str:
    """The named survival analysis's Weibull draws, or why they cannot be used (its gate)."""
    name = p.survival_analysis
    assert name is not None
    if name not in analyses:
        have = ", ".join(sorted(analyses)) or "none"
        raise SpecError(
            f"survival_analysis = {name!r} is not an analysis of this run (its analyses: "
            f"{have}): run the study with that analysis's spec (`bayesblina run`), or give "
            "weibull_shape and weibull_scale")
    result = analyses[name]
    prior_set = p.survival_prior_set or next(iter(result.fits), None)
    if prior_set not in result.fits:
        raise SpecError(
            f"survival_prior_set = {prior_set!r} is not a prior set of {name!r}: allowed "
            f"{', '.join(result.fits) or 'none (it has no fit)'}")
    fit = result.fits[prior_set]
    if not fit.passed:
        return f"the fit {name} ({prior_set}) FAILED the diagnostics gate"
    shape, scale = weibull_draws(fit.idata)
    unit = getattr(result.spec.options, "time_unit", None)
    return _WeibullArm(shape, scale, p.survival_arm,
                       f"{shape.size} posterior draws of {name} ({prior_set})", unit)


def _fixed_arm(p: AssuranceParams) -> _WeibullArm | None:
    if p.accrual is None or p.weibull_shape is None or p.weibull_scale is None:
        return None
    return _WeibullArm(np.array([p.weibull_shape]), np.array([p.weibull_scale]), "control",
                       f"Weibull(shape {p.weibull_shape:g}, scale {p.weibull_scale:g})")


def _run_tte(spec: DesignSpec, p: AssuranceParams, want_figure: bool,
             analyses: Mapping[str, AnalysisResult]) -> DesignResult:
    assert p.hazard_ratio is not None and p.log_hr_mean is not None
    assert p.log_hr_sd is not None
    arm = _posterior_arm(p, analyses) if p.survival_analysis is not None else _fixed_arm(p)
    if isinstance(arm, str):
        finding = (f"Not computed: {arm}, so its posterior gives no expected events; fix the "
                   "fit first.")
        return DesignResult(spec, {}, {"status": "FAILED", "reason": arm}, finding, None,
                            "FAILED")
    required = schoenfeld_events(p.hazard_ratio, p.alpha, p.power, p.allocation)
    events = p.events if p.events is not None else float(math.ceil(required))
    grid = sorted(set(p.events_grid or [math.ceil(events * f) for f in
                                        (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)]) | {events})

    def row(d: float) -> dict[str, float]:
        return {"events": d,
                "power_at_design_hr": float(logrank_power(d, math.log(p.hazard_ratio),
                                                          p.alpha, p.allocation,
                                                          p.benefit)[0]),
                "assurance": tte_assurance(d, alpha=p.alpha, log_hr_mean=p.log_hr_mean,
                                           log_hr_sd=p.log_hr_sd, allocation=p.allocation,
                                           benefit=p.benefit)}

    by_events = pd.DataFrame([row(d) for d in grid])
    main = row(events)
    sign = 1.0 if p.benefit == "lower" else -1.0
    prob_benefit = (float(stats.norm.cdf(-sign * p.log_hr_mean / p.log_hr_sd))
                    if p.log_hr_sd > 0 else float(sign * p.log_hr_mean < 0))
    head = pd.DataFrame([{
        "design hazard ratio": p.hazard_ratio, "Schoenfeld events": required,
        "events": events, "power at design HR": main["power_at_design_hr"],
        "design prior of log HR": f"N({p.log_hr_mean:.4g}, {p.log_hr_sd:.4g}^2)",
        "P(benefit) under the design prior": prob_benefit,
        "assurance": main["assurance"],
        **({} if arm is None else {"event model": f"{arm.arm} arm: {arm.source}"})}])
    tables: dict[str, pd.DataFrame] = {"probability of success": head,
                                       "by events": by_events}
    summary: dict[str, Any] = {
        "endpoint": "time_to_event", "hazard_ratio": p.hazard_ratio, "alpha": p.alpha,
        "power": p.power, "allocation": p.allocation, "schoenfeld_events": required,
        "events": events, "power_at_design_hr": main["power_at_design_hr"],
        "assurance": main["assurance"], "log_hr_mean": p.log_hr_mean,
        "log_hr_sd": p.log_hr_sd, "prob_benefit": prob_benefit, "analysis_time": None,
    }
    events_tab = None
    when = ""
    if arm is not None:
        events_tab, timing = _expected_events(p, events, arm)
        tables["expected events over calendar time"] = events_tab
        summary.update(timing, event_model=arm.source, event_arm=arm.arm, time_unit=arm.unit)
        when = _when_text(timing, arm)
    finding = (f"A log-rank trial analysed at {events:g} events (Schoenfeld's {required:.1f} "
               f"for HR {p.hazard_ratio:g}, one-sided alpha {p.alpha:g}, power {p.power:g}) "
               f"has assurance {main['assurance']:.3f} under the design prior log HR ~ "
               f"N({p.log_hr_mean:.3g}, {p.log_hr_sd:.3g}^2), against a power of "
               f"{main['power_at_design_hr']:.3f} at the design HR{when}.")
    fig = _figure(want_figure, lambda: plots.tte_plot(by_events, events_tab, spec.design.title))
    return DesignResult(spec, tables, _plain(summary), finding, fig)


def _when_text(timing: dict[str, Any], arm: _WeibullArm) -> str:
    t = timing["analysis_time"]
    unit = f" {arm.unit}" if arm.unit else ""
    if t is None:
        return "; the events are not expected within the plan"
    if arm.shape.size == 1:
        return f", expected at calendar time {t:.1f}{unit}"
    lo, hi = timing["analysis_time_interval"]
    hi_txt = "beyond the horizon" if hi is None else f"{hi:.1f}"
    return (f", expected at calendar time {t:.1f}{unit} (posterior median; 95% interval "
            f"{lo:.1f} to {hi_txt} over the {arm.source})")


def _expected_events(p: AssuranceParams, events: float,
                     arm: _WeibullArm) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Expected events of both arms over calendar time, and when ``events`` are reached.

    One arm is Weibull(shape ``k``, scale ``lambda``) — one fixed pair, or the posterior
    draws of a survival analysis; under proportional hazards the other arm has scale
    ``lambda HR^(-1/k)`` (experimental from control) or ``lambda HR^(1/k)`` (control from
    experimental), HR the design hazard ratio. With draws, the table holds the posterior
    mean (and 95% interval) of the expected events, and the analysis time its posterior
    median and interval.
    """
    assert p.accrual is not None and p.hazard_ratio is not None
    plan = Accrual(tuple((q.duration, q.rate) for q in p.accrual))
    scale_c, scale_e = arm_scales(arm.shape, arm.scale, p.hazard_ratio, arm.arm)  # type: ignore[arg-type]
    shares = np.array([1.0 - p.allocation, p.allocation])
    # the table's horizon from a typical draw: the largest draws of a posterior would
    # stretch it far past any plan
    typical = float(np.median(np.maximum(scale_c, scale_e)))
    horizon = plan.duration + (p.max_follow_up if p.max_follow_up is not None
                               else 20.0 * typical)
    times = (np.array(p.calendar_times) if p.calendar_times is not None
             else np.linspace(0.0, horizon, 13))
    ctrl = expected_events_per_draw(arm.shape, scale_c, plan, times, p.max_follow_up)
    expt = expected_events_per_draw(arm.shape, scale_e, plan, times, p.max_follow_up)
    total = shares[0] * ctrl + shares[1] * expt
    tab = pd.DataFrame({"calendar_time": times, "patients": plan.patients_by(times),
                        "events_control": shares[0] * ctrl.mean(axis=0),
                        "events_experimental": shares[1] * expt.mean(axis=0),
                        "events_total": total.mean(axis=0)})
    at = analysis_time(arm.shape, arm.scale, plan, events, hazard_ratio=p.hazard_ratio,
                       allocation=p.allocation, arm=arm.arm,  # type: ignore[arg-type]
                       max_follow_up=p.max_follow_up,
                       horizon=None if arm.shape.size > 1 else horizon)
    if arm.shape.size == 1:
        t = float(at[0])
        return tab, {"analysis_time": None if math.isnan(t) else t}
    tab["events_total_lower"], tab["events_total_upper"] = np.quantile(
        total, [0.025, 0.975], axis=0)
    # a draw that never reaches the events counts as later than any time; quantiles of the
    # draws themselves (no interpolation, which an infinite draw would turn into NaN)
    q = np.quantile(np.where(np.isnan(at), np.inf, at), [0.5, 0.025, 0.975],
                    method="inverted_cdf")
    finite = [None if not np.isfinite(v) else float(v) for v in q]
    return tab, {"analysis_time": finite[0], "analysis_time_interval": finite[1:],
                 "prob_events_not_reached": float(np.mean(np.isnan(at)))}


# --------------------------------------------------------------------------------------
# kind = "escalation"
# --------------------------------------------------------------------------------------


def _posterior_source(spec: DesignSpec) -> tuple[AnalysisSpec, str] | None:
    """The BLRM analysis spec and prior set that ``posterior_scenarios`` names, checked."""
    p = spec.params
    assert isinstance(p, EscalationParams)
    src = p.posterior_scenarios
    if src is None:
        return None
    key = spec.key("posterior_scenarios.analysis")
    target: str | Path = src.analysis
    if src.analysis.endswith(".toml") and spec.folder is not None:
        target = spec.folder / src.analysis
    try:
        analysis = load_dose_toxicity_spec(target, model="blrm")
    except SpecError as err:
        raise SpecError(f"{spec.source_path}: key '{key}': {src.analysis!r}: {err}") from None
    prior_set = src.prior_set or next(iter(analysis.priors))
    if prior_set not in analysis.priors:
        raise SpecError(
            f"{spec.source_path}: key '{spec.key('posterior_scenarios.prior_set')}': "
            f"{prior_set!r} is not a prior set of {analysis.source_path}: allowed "
            f"{', '.join(analysis.priors)}")
    return analysis, prior_set


def _quantile_name(q: float) -> str:
    return "posterior median" if q == 0.5 else f"posterior {100 * q:g}th percentile"


def posterior_scenarios(params: EscalationParams, analysis: AnalysisSpec,
                        prior_set: str) -> list[Scenario]:
    """Scenarios from a BLRM analysis's exact grid posterior: pointwise quantile curves.

    For each level (a dose or a regimen of ``params``, combined by ``params.treatment`` over
    ``params.window``) the ``q``-quantile of its posterior DLT probability, for each ``q`` of
    ``params.posterior_scenarios.quantiles``. Each node of the grid gives a DLT curve
    increasing in the dose, so the quantile curves of levels ordered by dose increase too.

    Parameters
    ----------
    params : EscalationParams
    analysis : AnalysisSpec
        A ``model = "blrm"`` spec (its data, ``d_ref`` and the prior set's prior).
    prior_set : str

    Returns
    -------
    list of Scenario
    """
    assert params.posterior_scenarios is not None
    quantiles = params.posterior_scenarios.quantiles
    model = BLRMModel.from_spec(analysis, prior_set)
    post = model.grid_posterior()
    doses, weights = regimen_weights(params.regimens(), params.treatment, params.window)
    q = post.p_quantiles(doses, quantiles, weights)[0]  # (levels, quantiles)
    return [params.scenario(_quantile_name(v), np.clip(q[:, j], 0.0, 1.0))
            for j, v in enumerate(quantiles)]


def study_scenarios(spec: DesignSpec) -> list[Scenario]:
    """The scenarios of an escalation study: its ``scenarios``, then the posterior ones."""
    p = spec.params
    assert isinstance(p, EscalationParams)
    out = [p.scenario(s.name, s.probabilities, s.allow_non_monotone) for s in p.scenarios]
    source = _posterior_source(spec)
    if source is not None:
        try:
            out += posterior_scenarios(p, *source)
        except SpecError as err:
            raise SpecError(f"{spec.source_path}: key '{spec.key('posterior_scenarios')}': "
                            f"{err}") from None
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise SpecError(f"{spec.source_path}: key '{spec.key('scenarios')}': a scenario is "
                        f"named like a posterior one: {names}")
    return out


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def _escalation_finding(p: EscalationParams, res: SimulationResult) -> str:
    s = res.summary
    first = res.scenarios[0]
    for sc in res.scenarios:  # the posterior median, if there is one
        if sc.name == _quantile_name(0.5):
            first = sc
    rows = s[s["scenario"] == first.name]
    labels = first.labels
    ok = ", ".join(labels[i] for i in first.acceptable) or "none (stopping is correct)"
    sel = "; ".join(f"{r.design} {_pct(r.p_correct)} (± {100 * r.se_p_correct:.1f} SE), "
                    f"{r.mean_n:.1f} patients, {_pct(r.mean_frac_overdosed)} overdosed"
                    for r in rows.itertuples())
    wins: dict[str, int] = {}
    for _, grp in s.groupby("scenario", sort=False):
        best = grp.loc[grp["p_correct"].idxmax(), "design"]
        wins[best] = wins.get(best, 0) + 1
    best_txt = ", ".join(f"{d} in {n}" for d, n in sorted(wins.items(), key=lambda x: -x[1]))
    return (f"On the same {p.n_trials:,} simulated trials per scenario (seed {p.seed}), under "
            f"the {first.name} scenario (acceptable levels: {ok}) the designs select an "
            f"acceptable level with probability {sel}; the highest probability of a correct "
            f"selection, by scenario: {best_txt} of {len(res.scenarios)}.")


def _run_escalation(spec: DesignSpec, want_figure: bool, execution: Execution) -> DesignResult:
    p = spec.params
    assert isinstance(p, EscalationParams)
    scenarios = study_scenarios(spec)
    designs = p.build()
    res = simulate(designs, scenarios, p.n_trials, p.seed, accrual_rate=p.accrual_rate,
                   window=p.window, batch_size=p.batch_size, overdose_limit=p.overdose_limit,
                   workers=execution.workers, client=execution.client,
                   scheduler=execution.scheduler, out_dir=execution.out_dir,
                   progress=execution.progress)
    labels = p.level_labels()
    scen_tab = pd.DataFrame([{
        "scenario": sc.name, **{lab: v for lab, v in zip(labels, sc.probabilities, strict=True)},
        "true MTD": labels[sc.mtd] if sc.mtd >= 0 else "none",
        "acceptable": ", ".join(labels[i] for i in sc.acceptable) or "none"}
        for sc in scenarios])
    design_tab = pd.DataFrame([{"design": lab, "type": d.type, "settings": repr(built)}
                               for (lab, built), d in zip(designs.items(), p.designs,
                                                          strict=True)])
    paths = []
    for lab, d in designs.items():
        tab = transition_pathways(d, n_cohorts=p.pathways_cohorts)
        tab.insert(0, "design", lab)
        paths.append(tab)
    pathways = pd.concat(paths, ignore_index=True)
    named = pathways.copy()  # levels by their labels ("" where a path has no such step)
    for col in named.columns:
        if re.fullmatch(r"(level|next|selected)(_\d+)?", col):
            named[col] = [labels[v] if v >= 0 else "" for v in pathways[col]]
    tables = {"operating characteristics": res.summary, "scenarios": scen_tab,
              "selection": res.selection, "patients per level": res.patients,
              "stopping": res.stopping, "designs": design_tab, "pathways": named}
    summary = res.to_dict()
    summary["pathways"] = named.to_dict("records")
    finding = _escalation_finding(p, res)
    fig = _figure(want_figure, lambda: oc_figure(res))
    extra: dict[str, bytes] = {}
    if want_figure:
        shown = p.pathways_design or list(designs)[-1]
        one = pathways[pathways["design"] == shown].drop(columns="design")
        extra["pathways"] = figure_png(pathways_figure(
            one, title=f"{shown}: dose-transition pathways from the start", labels=labels))
    return DesignResult(spec, tables, _plain(summary), finding, fig, status="SIMULATED",
                        extra_figures=extra)


@functools.cache
def _default_study(name: str) -> DesignResult:
    # one process: a docs build starts no cluster (and the numbers do not depend on it)
    return run_design(load_design_spec(DEFAULT_DESIGN_DIR / f"{name}.toml"), figure=False,
                      execution=Execution(workers=1))


def study_table(name: str, table: str, head: int | None = None,
                where: dict[str, Any] | None = None) -> pd.DataFrame:
    """A table of a default design study, as computed now (for the docs' tables).

    Parameters
    ----------
    name : str
        A default design spec (``"phase2_simon"``).
    table : str
        One of its tables (``"designs"``), or ``"finding"`` (a one-row table of the finding).
    head : int, optional
        Only the first rows.
    where : dict, optional
        Only the rows whose columns equal these values (e.g. ``{"design": "given"}``).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    bayesblina.errors.SpecError
        For an unknown study or table.
    """
    if not (DEFAULT_DESIGN_DIR / f"{name}.toml").is_file():
        known = ", ".join(p.stem for p in discover_design_specs())
        raise SpecError(f"no default design spec {name!r}; default design specs: {known}")
    result = _default_study(name)
    if table == "finding":
        return pd.DataFrame({"finding": [result.finding]})
    if table not in result.tables:
        raise SpecError(f"design study {name!r} has no table {table!r}; its tables: "
                        f"{', '.join(result.tables)}")
    frame = result.tables[table]
    for column, value in (where or {}).items():
        frame = frame[frame[column] == value]
    return (frame if head is None else frame.head(head)).reset_index(drop=True)


#: kind -> (runner, the key an engine error without a key of its own is about)
_RUNNERS: dict[str, tuple[Any, str]] = {
    "simon": (_run_simon, "nmax"),
    "bayes": (_run_bayes, "nmax_cap"),
    "prior": (_run_prior, "x"),
    "assurance": (_run_assurance, "n_new"),
    "escalation": (_run_escalation, "designs"),
}

