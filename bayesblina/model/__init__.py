"""Models: one per file, each a :class:`~bayesblina.model.base.BayesModel`."""

from __future__ import annotations

from bayesblina.errors import SpecError
from bayesblina.model.base import BayesModel, PriorSetBase
from bayesblina.model.beta_binomial import BetaBinomialModel
from bayesblina.model.blrm import BLRMModel
from bayesblina.model.crm import CRMModel
from bayesblina.model.exnex import ExnexModel
from bayesblina.model.multifactor import MultifactorModel
from bayesblina.model.response_categories import ResponseCategoriesModel
from bayesblina.model.subgroups import SubgroupModel
from bayesblina.model.survival import SurvivalModel

#: model name used in ``analysis.model`` of a spec -> class
MODELS: dict[str, type[BayesModel]] = {
    BetaBinomialModel.name: BetaBinomialModel,
    BLRMModel.name: BLRMModel,
    CRMModel.name: CRMModel,
    SurvivalModel.name: SurvivalModel,
    SubgroupModel.name: SubgroupModel,
    ExnexModel.name: ExnexModel,
    MultifactorModel.name: MultifactorModel,
    ResponseCategoriesModel.name: ResponseCategoriesModel,
}


def get_model_class(name: str, *, where: str = "<spec>") -> type[BayesModel]:
    """Return the model class registered under ``name``.

    Raises
    ------
    SpecError
        If no model has that name; the message lists the known models.
    """
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        raise SpecError(
            f"{where}: key 'analysis.model': unknown model {name!r}; allowed: {sorted(MODELS)}"
        ) from None


__all__ = [
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
    "get_model_class",
]
