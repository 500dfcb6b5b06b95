"""Trial design: exact Simon two-stage and Bayesian single-arm designs, priors, assurance.

* :mod:`bayesblina.design.simon`: Simon two-stage designs (optimal, minimax, admissible);
* :mod:`bayesblina.design.monitoring`: designs monitored by posterior or predictive
  probability (exact operating characteristics, design search);
* :mod:`bayesblina.design.mixture`: beta mixtures, the prior family of them all;
* :mod:`bayesblina.design.priors`: priors for the next trial (power prior, MAP, robust
  mixture), effective sample sizes, a follow-up's operating characteristics;
* :mod:`bayesblina.design.assurance`: the probability of success of a new trial, binary and
  time to event;
* :mod:`bayesblina.design.studies`: design studies as TOML specs (``models/design/``),
  escalation studies among them;
* :mod:`bayesblina.design.escalation` (with :mod:`~bayesblina.design.escalation_rules`):
  dose-escalation designs for simulation (3+3, BOIN, CRM, BLRM with EWOC);
* :mod:`bayesblina.design.simulation`: their operating characteristics by simulation on
  common random numbers (any core count or a Dask cluster, same answers);
* :mod:`bayesblina.design.pathways`: dose-transition pathways.

Every public name of these modules is importable from here. Those of ``priors``,
``studies``, ``escalation``, ``simulation`` and ``pathways`` load on first use: ``priors``
imports PyMC (for the MAP prior), ``escalation`` the dose-toxicity room (whose package
imports PyMC) and ``simulation`` Dask, which the exact engines do not need, so
``import bayesblina.design`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from bayesblina.design.assurance import (
    Accrual,
    DifferenceRule,
    FisherRule,
    PosteriorRule,
    ResponderRule,
    SingleArmAssurance,
    TwoArmAssurance,
    analysis_time,
    arm_scales,
    expected_events,
    expected_events_per_draw,
    logrank_power,
    prob_difference,
    schoenfeld_events,
    single_arm_assurance,
    single_arm_success,
    tte_assurance,
    two_arm_assurance,
    two_arm_success,
    weibull_draws,
)
from bayesblina.design.mixture import (
    WEIGHT_SUM_TOL,
    BetaMixture,
    PriorLike,
    as_beta_mixture,
    posterior_prob_above,
)
from bayesblina.design.monitoring import (
    MonitoringDesign,
    MonitoringOC,
    MonitoringSearch,
    monitoring_boundaries,
    monitoring_oc,
    monitoring_search,
    posterior_prob,
    predictive_prob,
)
from bayesblina.design.simon import (
    SimonComparison,
    SimonDesign,
    SimonOC,
    design_for_sizes,
    simon_admissible,
    simon_best_by_n,
    simon_compare,
    simon_oc,
    simon_oc_table,
    simon_search,
)

#: names loaded on first use (their modules import PyMC), and the module of each
_LAZY = {
    **dict.fromkeys(
        ("MAPPrior", "MAPQuadrature", "MixtureFit", "MixtureSelection", "critical_responses",
         "ess", "fit_beta_mixture", "fit_beta_mixture_auto", "follow_up_oc",
         "map_predictive_quadrature", "map_prior", "power_prior", "robustify"),
        "bayesblina.design.priors"),
    **dict.fromkeys(
        ("DEFAULT_DESIGN_DIR", "DESIGN_TYPES", "KINDS", "AssuranceParams", "BLRMParams",
         "BOINParams", "BayesParams", "CRMParams", "DesignResult", "DesignSection",
         "DesignSpec", "EscalationParams", "Execution", "OptionField",
         "PosteriorScenarioParams", "PriorParams", "ScenarioParams", "SimonParams",
         "ThreePlusThreeParams", "check_design_analyses", "design_spec_from_options",
         "discover_design_specs", "find_design_spec", "is_design_spec", "keys_table",
         "load_design_spec", "load_design_specs", "option_fields", "parse_design_spec",
         "posterior_scenarios", "run_design", "study_scenarios", "study_table"),
        "bayesblina.design.studies"),
    # the escalation designs decide on the dose-toxicity room's grid engines (its package
    # imports PyMC)
    **dict.fromkeys(
        ("ALL_TOO_TOXIC", "BLRM", "BOIN", "CONTINUE", "CRM", "ENOUGH_AT_MTD", "MAX_N",
         "REASONS", "RULE", "Decision", "EscalationDesign", "RowCache", "ThreePlusThree",
         "Trials", "boin_boundaries", "boin_boundary_table", "boin_select_mtd",
         "tite_log_weights"),
        "bayesblina.design.escalation"),
    **dict.fromkeys(
        ("REASON_CODES", "Scenario", "SimulationResult", "oc_figure", "simulate",
         "simulate_batch", "trial_draws"),
        "bayesblina.design.simulation"),
    **dict.fromkeys(("pathways_figure", "transition_pathways"), "bayesblina.design.pathways"),
}

__all__ = [  # grouped by module
    # simon
    "SimonComparison", "SimonDesign", "SimonOC", "design_for_sizes", "simon_admissible",
    "simon_best_by_n", "simon_compare", "simon_oc", "simon_oc_table", "simon_search",
    # monitoring
    "MonitoringDesign", "MonitoringOC", "MonitoringSearch", "monitoring_boundaries",
    "monitoring_oc", "monitoring_search", "posterior_prob", "predictive_prob",
    # mixture
    "WEIGHT_SUM_TOL", "BetaMixture", "PriorLike", "as_beta_mixture", "posterior_prob_above",
    # assurance
    "Accrual", "DifferenceRule", "FisherRule", "PosteriorRule", "ResponderRule",
    "SingleArmAssurance", "TwoArmAssurance", "analysis_time", "arm_scales", "expected_events",
    "expected_events_per_draw",
    "logrank_power", "prob_difference", "schoenfeld_events", "single_arm_assurance",
    "single_arm_success", "tte_assurance", "two_arm_assurance", "two_arm_success",
    "weibull_draws",
    # priors, studies and the escalation modules (loaded on first use)
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bayesblina.design' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
