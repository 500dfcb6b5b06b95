"""The analysis spec: what one ``models/<analysis>.toml`` file may contain.

The shell (``[analysis]``, ``[sampler]``, ``[gate]``, ``[summary]``) is the same for
every analysis. ``[data]`` and ``[priors.<set>]`` belong to the model named in
``analysis.model``: each model class declares their schema (``DataSpec`` and
``PriorSetSpec``), so the spec is validated by the code that will use it.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bayesblina.core.messages import format_validation_error
from bayesblina.errors import SpecError

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Probability = Annotated[float, Field(gt=0, lt=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnalysisSection(_Strict):
    """Identity of the analysis and the question it answers."""

    name: Slug
    title: str = Field(min_length=1)
    question: str = Field(min_length=1)
    model: str = Field(min_length=1)
    description: str = ""


class SamplerSettings(_Strict):
    """How to sample: backend, sizes and the seed (same seed, same numbers)."""

    backend: Literal["pymc", "nutpie", "numpyro"] = "pymc"
    draws: Annotated[int, Field(ge=1, le=1_000_000)] = 1000
    tune: Annotated[int, Field(ge=0, le=1_000_000)] = 1000
    chains: Annotated[int, Field(ge=1, le=64)] = 4
    target_accept: Annotated[float, Field(gt=0.5, lt=1)] = 0.9
    seed: Annotated[int, Field(ge=0, lt=2**32)] = 20160101
    cores: Annotated[int, Field(ge=1, le=64)] = 1


class GateThresholds(_Strict):
    """Convergence criteria every fit must meet before it is reported as a result."""

    rhat_max: Annotated[float, Field(ge=1.0)] = 1.01
    ess_bulk_min: Annotated[float, Field(ge=0)] = 400
    ess_tail_min: Annotated[float, Field(ge=0)] = 400
    max_divergences: Annotated[int, Field(ge=0)] = 0
    ebfmi_min: Annotated[float, Field(ge=0)] = 0.3


class SummarySettings(_Strict):
    """What to report from the posterior."""

    ci_prob: Probability = 0.95
    hdi_prob: Probability = 0.95
    #: report P(p > t) for each t (defaults: the phase II design's p0 and p1)
    thresholds: list[Probability] = Field(default_factory=lambda: [0.10, 0.275])


class AnalysisSpec(_Strict):
    """A whole analysis spec after validation.

    ``data`` and ``priors`` hold the model's own pydantic objects (see
    :class:`bayesblina.core.model.BayesModel`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    analysis: AnalysisSection
    data: Any
    priors: dict[Slug, Any] = Field(min_length=1)
    #: model-specific settings (the model's ``OptionsSpec``), from ``[options]``
    options: Any = None
    sampler: SamplerSettings = Field(default_factory=SamplerSettings)
    gate: GateThresholds = Field(default_factory=GateThresholds)
    summary: SummarySettings = Field(default_factory=SummarySettings)
    #: where the spec came from and its text, kept for provenance
    source_path: str = ""
    source_text: str = ""

    @property
    def name(self) -> str:
        """The analysis name (file stem of its spec)."""
        return self.analysis.name

    @property
    def source_sha256(self) -> str:
        """SHA-256 of the spec's text (UTF-8), as read."""
        return hashlib.sha256(self.source_text.encode("utf-8")).hexdigest()

    def provenance(self) -> dict[str, Any]:
        """Return the validated spec as plain JSON-able data."""
        return {
            "analysis": self.analysis.model_dump(),
            "data": self.data.model_dump(),
            "priors": {k: v.model_dump() for k, v in self.priors.items()},
            "options": self.options.model_dump() if self.options is not None else {},
            "sampler": self.sampler.model_dump(),
            "gate": self.gate.model_dump(),
            "summary": self.summary.model_dump(),
            "source_path": self.source_path,
        }

    def with_sampler(self, **changes: Any) -> AnalysisSpec:
        """Return a copy with sampler settings changed (validated)."""
        raw = {**self.sampler.model_dump(), **changes}
        try:
            sampler = SamplerSettings.model_validate(raw)
        except ValidationError as err:
            where = f"{self.source_path} (with overrides {changes})"
            msg = format_validation_error(
                err, where=where, root=SamplerSettings, raw=raw, prefix=("sampler",)
            )
            raise SpecError(msg) from None
        return self.model_copy(update={"sampler": sampler})
