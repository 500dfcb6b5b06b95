"""The registered models and the spec loaders bound to them.

A spec's ``analysis.model`` names one of :data:`MODELS`; :func:`load_spec` validates the
spec's ``[data]``, ``[priors.<set>]`` and ``[options]`` against that model's schemas.
The default specs (the repository's ``models/``) ship inside the package as
``bayesblina.models``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bayesblina.analyses.dose_toxicity import components as dose_toxicity
from bayesblina.analyses.dose_toxicity.blrm import BLRMModel
from bayesblina.analyses.dose_toxicity.crm import CRMModel
from bayesblina.analyses.multifactor import components as multifactor
from bayesblina.analyses.multifactor.model import MultifactorModel
from bayesblina.analyses.response_categories import components as response_categories
from bayesblina.analyses.response_categories.model import ResponseCategoriesModel
from bayesblina.analyses.response_rate import components as response_rate
from bayesblina.analyses.response_rate.model import BetaBinomialModel
from bayesblina.analyses.subgroups import components as subgroups
from bayesblina.analyses.subgroups.exnex import ExnexModel
from bayesblina.analyses.subgroups.model import SubgroupModel
from bayesblina.analyses.survival import components as survival
from bayesblina.analyses.survival.model import SurvivalModel
from bayesblina.core import load as _load
from bayesblina.core.components import Components
from bayesblina.core.model import BayesModel
from bayesblina.core.spec import AnalysisSpec
from bayesblina.errors import SpecError

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

#: model name -> the report components of its analysis room
COMPONENTS: dict[str, Components] = {
    BetaBinomialModel.name: response_rate.COMPONENTS,
    BLRMModel.name: dose_toxicity.BLRM_COMPONENTS,
    CRMModel.name: dose_toxicity.CRM_COMPONENTS,
    SurvivalModel.name: survival.COMPONENTS,
    SubgroupModel.name: subgroups.COMPONENTS,
    ExnexModel.name: subgroups.COMPONENTS,
    MultifactorModel.name: multifactor.COMPONENTS,
    ResponseCategoriesModel.name: response_categories.COMPONENTS,
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



def get_components(name: str) -> Components:
    """The report components of the model registered under ``name``."""
    return COMPONENTS[get_model_class(name).name]


#: the default specs: the repository's ``models/``, packaged as ``bayesblina.models``
DEFAULT_SPEC_DIR = _load.packaged_spec_dir()


def parse_spec(raw: dict[str, Any], *, where: str = "<spec>", text: str = "") -> AnalysisSpec:
    """Validate a spec already parsed from TOML (see :func:`bayesblina.core.load.parse_spec`)."""
    return _load.parse_spec(raw, resolve=get_model_class, where=where, text=text)


def load_spec(path: str | Path, *, allow_data_outside: bool = False) -> AnalysisSpec:
    """Read and validate one spec file against its model.

    Parameters
    ----------
    path : str or Path
        A ``.toml`` file, or a default spec's name (``"overall_cr"``); a default spec is
        named ``models/<file>`` in messages and outputs, any other file as given.
    allow_data_outside : bool
        Accept data files outside the spec's folder (absolute paths, ``..``).

    Returns
    -------
    AnalysisSpec

    Raises
    ------
    SpecError
        If the file does not exist, is not valid TOML, or fails validation.
    """
    return _load.load_named_spec(path, resolve=get_model_class,
                                 allow_data_outside=allow_data_outside)


def load_specs(
    paths: Iterable[str | Path], *, allow_data_outside: bool = False
) -> list[AnalysisSpec]:
    """Load several specs, refusing duplicate analysis names."""
    return _load.unique_names([load_spec(p, allow_data_outside=allow_data_outside)
                               for p in paths])


def discover_specs(spec_dir: str | Path | None = None) -> list[Path]:
    """List the spec files of a folder (default: the packaged default specs)."""
    return _load.discover_specs(spec_dir if spec_dir is not None else DEFAULT_SPEC_DIR)


def find_specs(specs: Iterable[str | Path]) -> list[Path]:
    """Spec files from the command line: a path, or the name of a default spec.

    ``overall_cr`` (no such file here) means the packaged ``models/overall_cr.toml``, so
    the default analyses can be run one at a time after a plain ``pip install``.

    Raises
    ------
    SpecError
        For an argument that is neither a file nor a default spec's name.
    """
    out = []
    for item in specs:
        path = Path(item)
        packaged = DEFAULT_SPEC_DIR / f"{item}.toml"
        bare_name = path.suffix == "" and len(path.parts) == 1
        if path.exists() or not bare_name:
            out.append(path)  # a missing file is reported by the loader, by its path
        elif packaged.is_file():
            out.append(packaged)
        else:
            names = sorted(p.stem for p in discover_specs())
            raise SpecError(f"spec file not found: {item} (nor the name of a default spec; "
                            f"default specs: {', '.join(names)})")
    return out
