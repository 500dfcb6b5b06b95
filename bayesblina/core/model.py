"""The one small base class every model derives from.

Build once, fit many: :meth:`BayesModel.build` creates the PyMC graph once, with every
data array *and every prior hyperparameter* as ``pm.Data``. :meth:`BayesModel.set_data`
and :meth:`BayesModel.set_prior` only change values, so a refit reuses the compiled
sampler (see :mod:`bayesblina.core.sampling`). Only a change of prior *family* (a
different graph) triggers a rebuild. Building and fitting are separate steps; nothing
is sampled in a constructor.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import pymc as pm
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from bayesblina.core.gate import check_convergence
from bayesblina.core.sampling import sample
from bayesblina.core.spec import SamplerSettings

if TYPE_CHECKING:
    import arviz as az

    from bayesblina.core.gate import GateResult
    from bayesblina.core.spec import (
        AnalysisSpec,
        GateThresholds,
        SamplerSettings,
        SummarySettings,
    )


def frame_checksum(data: pd.DataFrame) -> str:
    """SHA-256 of a data frame: column names, dtypes and every value, in order.

    Values are serialised as JSON (floats by their shortest exact repr; cells holding
    lists, such as a stepwise regimen, as lists), so equal frames hash equally.
    """
    payload = {
        "columns": [str(c) for c in data.columns],
        "dtypes": [str(t) for t in data.dtypes],
        "data": data.to_dict(orient="split", index=False)["data"],
    }
    text = json.dumps(payload, default=_json_value, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json_value(value: Any) -> Any:
    """A NumPy scalar or array as a plain value; anything else by its text."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


#: the fields of a prior set that are not priors: what people read about it
PRIOR_SET_TEXT = ("description", "title")


class PriorSetBase(BaseModel):
    """A named set of priors: one field per model parameter, a title and a description."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: a short name people read in the report's tables and figure legends (default: the set's
    #: name with spaces for underscores)
    title: str = ""
    description: str = ""
    #: parameter -> prior families it accepts (e.g. a proportion needs support (0, 1))
    allowed_families: ClassVar[dict[str, tuple[str, ...]]] = {}

    @field_validator("*", mode="after")
    @classmethod
    def _family_allowed(cls, value: Any, info: ValidationInfo) -> Any:
        families = cls.allowed_families.get(info.field_name or "")
        if families is not None and value.family not in families:
            raise ValueError(
                f"prior family {value.family!r} is not allowed for parameter "
                f"{info.field_name!r}; allowed: {list(families)}"
            )
        return value

    def parameter_priors(self) -> dict[str, Any]:
        """Return ``{parameter: prior}`` (everything but the title and the description)."""
        return {k: getattr(self, k) for k in type(self).model_fields if k not in PRIOR_SET_TEXT}

    def label(self, name: str) -> str:
        """The prior set as people read it: its ``title``, else ``name`` with spaces."""
        return self.title or name.replace("_", " ")


class NoOptions(BaseModel):
    """A model without settings: ``[options]`` must be empty."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class BayesModel(ABC):
    """Base class: data and priors in, a PyMC model and InferenceData out.

    Subclasses declare ``name``, ``DataSpec`` (pydantic schema of the spec's ``[data]``),
    ``PriorSetSpec`` (schema of one ``[priors.<set>]``), optionally ``OptionsSpec``
    (schema of ``[options]``), and implement
    :meth:`load_data`, :meth:`coords`, :meth:`data_values`, :meth:`_define` and
    :meth:`summarise`.

    Parameters
    ----------
    data : pandas.DataFrame
        The model's data, as returned by :meth:`load_data` (validated again here).
    prior : PriorSetBase or dict
        One prior set (an instance of the model's ``PriorSetSpec``, or its dict form).
    options : pydantic model or dict, optional
        Model settings (the model's ``OptionsSpec``); defaults apply when omitted.
    """

    name: ClassVar[str]
    DataSpec: ClassVar[type[BaseModel]]
    PriorSetSpec: ClassVar[type[PriorSetBase]]
    OptionsSpec: ClassVar[type[BaseModel]] = NoOptions
    #: work per sampler iteration relative to a small NUTS model, for scheduling only
    #: (``pipeline.run_analyses`` starts the longest specs first); never changes a number
    cost_per_iteration: ClassVar[float] = 1.0

    def __init__(
        self,
        data: pd.DataFrame,
        prior: PriorSetBase | dict[str, Any],
        options: BaseModel | dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(options, self.OptionsSpec):
            options = self.OptionsSpec.model_validate(options or {})
        self.options = options
        self.data = self.validate_data(data)
        self.check_options(options, self.data)
        self.prior = self._check_prior(prior)
        self._model: pm.Model | None = None
        #: the structure (model, prior families) the built graph was made for
        self._built_key: tuple[Any, ...] | None = None
        #: compiled sampler objects by backend key, reused across refits
        self.compiled: dict[Any, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        """Data, prior and options only: a copy in another process builds its graph anew.

        A built PyMC model, its variables and compiled samplers do not pickle (and are tied
        to this process); :meth:`build` makes them again on first use.
        """
        return {**self.__dict__, **self._unbuilt_state()}

    def _unbuilt_state(self) -> dict[str, Any]:
        """The attributes that hold the graph, as they are before :meth:`build`.

        A model that keeps more of its graph (variables, step outputs) extends this.
        """
        return {"_model": None, "_built_key": None, "compiled": {}}

    # -- construction -----------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: AnalysisSpec, prior_set: str | None = None) -> BayesModel:
        """Create the model for a spec, with its first (or the named) prior set."""
        name = prior_set if prior_set is not None else next(iter(spec.priors))
        return cls(cls.load_data(spec.data), spec.priors[name], spec.options)

    @classmethod
    @abstractmethod
    def load_data(cls, data_spec: Any) -> pd.DataFrame:
        """Return the data frame the spec's ``[data]`` section selects."""

    @classmethod
    def validate_data(cls, data: pd.DataFrame) -> pd.DataFrame:
        """Check a data frame before it enters the model (override to add rules)."""
        return data

    @classmethod
    def check_options(cls, options: BaseModel, data: pd.DataFrame) -> None:
        """Rules the options must meet for these data (e.g. contrasts of existing levels).

        Called by the spec loader before the prior sets are checked, and by the
        constructor; raise ``SpecError`` naming the ``options`` key. Nothing by default.
        """
        return None

    @classmethod
    def check_prior_set(cls, prior: PriorSetBase, options: BaseModel, data: pd.DataFrame) -> None:
        """Rules a prior set must meet for these options and data; raise ``SpecError``.

        The one place for a model's prior rules beyond the families each parameter accepts
        (``PriorSetSpec``): which parameters need a prior for the options chosen, shapes
        that follow the data. The spec loader calls it for every prior set (so ``check``
        builds no model), the constructor for the prior it is given. Nothing by default.
        """
        return None

    def _check_prior(self, prior: PriorSetBase | dict[str, Any]) -> PriorSetBase:
        if not isinstance(prior, self.PriorSetSpec):
            prior = self.PriorSetSpec.model_validate(prior)
        self.check_prior_set(prior, self.options, self.data)
        return prior

    # -- the graph --------------------------------------------------------------------
    @abstractmethod
    def coords(self) -> dict[str, list[Any]]:
        """Named coordinates of the model's dimensions for the current data."""

    @abstractmethod
    def data_values(self) -> dict[str, np.ndarray]:
        """Values of the data containers (``pm.Data``) for the current data."""

    @abstractmethod
    def _define(self) -> None:
        """Declare data containers and random variables (inside a ``pm.Model``)."""

    def prior_values(self) -> dict[str, np.ndarray]:
        """Values of the hyperparameter containers for the current prior set."""
        out = {}
        for param, prior in self.prior.parameter_priors().items():
            for hyper, value in prior.hyperparameters().items():
                out[f"{param}__{hyper}"] = np.asarray(value, dtype=float)
        return out

    def prior_rv(self, param: str, **kwargs: Any) -> Any:
        """Create parameter ``param`` with its prior's hyperparameters as ``pm.Data``."""
        prior = self.prior.parameter_priors()[param]
        hyper = {
            h: pm.Data(f"{param}__{h}", np.asarray(v, dtype=float))
            for h, v in prior.hyperparameters().items()
        }
        return prior.distribution(param, hyper, **kwargs)

    def structure_key(self) -> tuple[Any, ...]:
        """What fixes the graph: the model and each parameter's prior family."""
        fams = tuple((k, v.family) for k, v in self.prior.parameter_priors().items())
        return (type(self).__name__, fams)

    def build(self) -> pm.Model:
        """Return the PyMC model, building it on first use only."""
        if self._model is None:
            with pm.Model(coords=self.coords()) as model:
                self._define()
            self._model = model
            self._built_key = self.structure_key()
            self.compiled.clear()
        return self._model

    # -- refits -----------------------------------------------------------------------
    def set_data(self, data: pd.DataFrame) -> BayesModel:
        """Replace the data; the next fit reuses the built graph."""
        self.data = self.validate_data(data)
        return self

    def set_prior(self, prior: PriorSetBase | dict[str, Any]) -> BayesModel:
        """Replace the prior set; a change of family rebuilds, a change of values does not."""
        self.prior = self._check_prior(prior)
        if self._model is not None and self.structure_key() != self._built_key:
            self._model = None
        return self

    def data_checksum(self) -> str:
        """SHA-256 of all the model's data (every column and row, e.g. every reconstruction)."""
        return frame_checksum(self.data)

    def fit(
        self, settings: SamplerSettings | None = None, *, provenance: dict[str, Any] | None = None
    ) -> az.InferenceData:
        """Sample the posterior for the current data and prior.

        Parameters
        ----------
        settings : SamplerSettings, optional
            Backend, draws, tune, chains, target_accept and seed (defaults if omitted).
        provenance : dict, optional
            Extra provenance attributes (e.g. the spec) stored in the result.

        Returns
        -------
        arviz.InferenceData
            Posterior with named coords/dims and provenance attributes.
        """
        return sample(self, settings or SamplerSettings(), provenance=provenance)

    def pymc_step(self, target_accept: float) -> Any:
        """The PyMC step method(s) of the ``pymc`` backend (called inside the model).

        NUTS on every free variable by default, its log density and gradient compiled in
        PyTensor's NUMBA mode (measured: 2.1x faster sampling for the BLRM, 1.2-1.3x for a
        one-factor subgroup model, equal for the beta-binomial; numba caches the compiled
        code on disk); a model with discrete unknowns returns a list of steps (see
        :mod:`bayesblina.analyses.multifactor.model`).
        """
        return pm.NUTS(target_accept=target_accept, compile_kwargs={"mode": "NUMBA"})

    def initvals(self, chains: int, seed: int) -> list[dict[str, np.ndarray]] | None:
        """Starting values per chain for the ``pymc`` backend (``None``: PyMC's own)."""
        return None

    # -- results ----------------------------------------------------------------------
    @abstractmethod
    def summarise(self, idata: az.InferenceData, settings: SummarySettings) -> pd.DataFrame:
        """Tidy table of the posterior quantities this model reports."""

    def gate(self, idata: az.InferenceData, thresholds: GateThresholds) -> GateResult:
        """Run the diagnostics gate on a fit of this model (on :meth:`gate_vars`)."""
        return check_convergence(idata, thresholds, var_names=self.gate_vars())

    def gate_vars(self) -> list[str] | None:
        """Posterior variables the diagnostics gate checks (``None``: all of them)."""
        return None
