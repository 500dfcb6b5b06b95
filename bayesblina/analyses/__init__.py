"""The analyses: one folder per question, each with its model(s), engines, components and plots.

Folders: :mod:`~bayesblina.analyses.response_rate`, :mod:`~bayesblina.analyses.subgroups`,
:mod:`~bayesblina.analyses.multifactor`, :mod:`~bayesblina.analyses.response_categories`,
:mod:`~bayesblina.analyses.dose_toxicity`, :mod:`~bayesblina.analyses.survival`.
:mod:`~bayesblina.analyses.registry` maps a spec's ``analysis.model`` to its model class.
"""

from bayesblina.analyses.dose_toxicity.blrm import BLRMModel
from bayesblina.analyses.dose_toxicity.crm import CRMModel
from bayesblina.analyses.multifactor.model import MultifactorModel
from bayesblina.analyses.registry import (
    COMPONENTS,
    DEFAULT_SPEC_DIR,
    MODELS,
    discover_specs,
    get_components,
    get_model_class,
    load_spec,
    load_specs,
    parse_spec,
)
from bayesblina.analyses.response_categories.model import ResponseCategoriesModel
from bayesblina.analyses.response_rate.model import BetaBinomialModel
from bayesblina.analyses.subgroups.exnex import ExnexModel
from bayesblina.analyses.subgroups.model import SubgroupModel
from bayesblina.analyses.survival.model import SurvivalModel
from bayesblina.core.model import BayesModel, PriorSetBase

__all__ = [
    "COMPONENTS",
    "DEFAULT_SPEC_DIR",
    "MODELS",
    "BLRMModel",
    "BayesModel",
    "BetaBinomialModel",
    "CRMModel",
    "ExnexModel",
    "MultifactorModel",
    "PriorSetBase",
    "ResponseCategoriesModel",
    "SubgroupModel",
    "SurvivalModel",
    "discover_specs",
    "get_components",
    "get_model_class",
    "load_spec",
    "load_specs",
    "parse_spec",
]
