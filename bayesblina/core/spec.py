"""The analysis spec: what one ``models/<analysis>.toml`` file may contain.

The shell (``[analysis]``, ``[sampler]``, ``[gate]``, ``[summary]``) is the same for
every analysis. ``[data]`` and ``[priors.<set>]`` belong to the model named in
``analysis.model``: each model class declares their schema (``DataSpec`` and
``PriorSetSpec``), so the spec is validated by the code that will use it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from bayesblina.core.messages import format_validation_error
from bayesblina.errors import SpecError

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Probability = Annotated[float, Field(gt=0, lt=1)]


def _from_array(value: Any) -> Any:
    """A TOML array as a tuple (strict validation takes no list for a tuple field)."""
    return tuple(value) if isinstance(value, list) else value


#: put on a tuple field of a spec: ``Annotated[tuple[float, float], FromArray]``; the items
#: are still validated strictly
FromArray = BeforeValidator(_from_array)


def _data_file(value: str, info: ValidationInfo) -> str:
    """Resolve a spec's data file against the spec's folder, confined to it.

    The loader passes ``context = {"spec_dir": folder, "allow_outside": bool}``; without a
    context (a data spec built in Python) a relative path is taken from the current folder.
    """
    ctx = info.context or {}
    raw = Path(value)
    if not value.strip():
        raise ValueError("must be a file name (got an empty string)")
    base = Path(ctx.get("spec_dir", Path.cwd()))
    path = (base / raw).resolve()
    if "spec_dir" in ctx and not ctx.get("allow_outside", False):
        inside = base.resolve()
        if raw.is_absolute() or not path.is_relative_to(inside):
            raise ValueError(
                f"the data file {value!r} is outside the spec's folder {str(inside)!r}: give "
                "a path relative to the spec's folder that stays inside it, or pass "
                "--allow-data-outside"
            )
    if not path.is_file():
        raise ValueError(f"data file not found: {str(path)!r} (a path relative to the "
                         "spec's folder; packaged tables are chosen by name, not by file)")
    return str(path)


#: a data file a spec names: relative to the spec's folder and inside it (see
#: :func:`_data_file`); stored resolved, so a packaged file of the same name never replaces it
DataFile = Annotated[str, AfterValidator(_data_file)]


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
    #: the backend of a report component's comparison fits (alternative models fitted
    #: once each, e.g. the LOO families); default: ``backend``. Chosen by measurement:
    #: nutpie compiles each model structure anew (6-10 s), which costs more than PyMC's
    #: whole fit of a small model fitted once (benchmarks/results.md)
    comparison_backend: Literal["pymc", "nutpie", "numpyro"] | None = None

    def for_comparison(self) -> SamplerSettings:
        """These settings with the comparison fits' backend (``comparison_backend``)."""
        if self.comparison_backend is None or self.comparison_backend == self.backend:
            return self
        return self.model_copy(update={"backend": self.comparison_backend})

    def backends(self) -> tuple[str, ...]:
        """Every backend these settings use (the main fits' first)."""
        extra = self.comparison_backend
        return (self.backend,) if extra in (None, self.backend) else (self.backend, extra)


#: the documented gate (Vehtari et al. 2021; Betancourt 2016): a spec may be stricter freely
GATE_DEFAULTS: dict[str, float] = {
    "rhat_max": 1.01, "ess_bulk_min": 400, "ess_tail_min": 400, "max_divergences": 0,
    "ebfmi_min": 0.3,
}

#: thresholds at which a check no longer detects what it is for (refused without
#: ``allow_weak_gate``): R-hat >= 1.1 is the pre-2021 rule that misses chains stuck apart
#: (Vehtari et al. 2021 sec. 4); ESS < 100 leaves the MCSE of a tail quantile as large as the
#: quantity; E-BFMI < 0.2 misses the heavy-tailed energy that biases hierarchical fits
#: (Betancourt 2016); more divergences than 1% of the draws (checked with the sampler,
#: :meth:`AnalysisSpec.weak_divergences`) mean regions the sampler cannot enter.
WEAK_GATE: dict[str, tuple[str, float]] = {
    "rhat_max": (">=", 1.1), "ess_bulk_min": ("<", 100), "ess_tail_min": ("<", 100),
    "ebfmi_min": ("<", 0.2),
}
MAX_DIVERGENT_FRACTION = 0.01


class GateThresholds(_Strict):
    """Convergence criteria every fit must meet before it is reported as a result.

    Thresholds looser than :data:`GATE_DEFAULTS` are allowed and flagged
    (:meth:`loosened`); thresholds that switch a check off (:data:`WEAK_GATE`) are refused
    unless ``allow_weak_gate = true``.
    """

    rhat_max: Annotated[float, Field(ge=1.0)] = 1.01
    ess_bulk_min: Annotated[float, Field(ge=0)] = 400
    ess_tail_min: Annotated[float, Field(ge=0)] = 400
    max_divergences: Annotated[int, Field(ge=0)] = 0
    ebfmi_min: Annotated[float, Field(ge=0)] = 0.3
    #: the spec's author accepts thresholds that disable a check (flagged everywhere)
    allow_weak_gate: bool = False

    @model_validator(mode="after")
    def _not_disabled(self) -> GateThresholds:
        if not self.allow_weak_gate:
            weak = self.weak()
            if weak:
                raise ValueError(
                    "these thresholds switch the diagnostics gate off: " + "; ".join(weak)
                    + "; tighten them, or set 'gate.allow_weak_gate = true' (the run is then "
                    "flagged as run under a weak gate)"
                )
        return self

    def weak(self) -> list[str]:
        """The thresholds that disable their check (see :data:`WEAK_GATE`), as text."""
        out = []
        for key, (op, bound) in WEAK_GATE.items():
            value = getattr(self, key)
            if (value >= bound) if op == ">=" else (value < bound):
                out.append(f"{key} = {value:g} (a check needs {key} "
                           f"{'<' if op == '>=' else '>='} {bound:g})")
        return out

    def loosened(self) -> dict[str, dict[str, float]]:
        """Every threshold looser than the documented default: ``{key: {value, default}}``."""
        out = {}
        for key, default in GATE_DEFAULTS.items():
            value = getattr(self, key)
            looser = value > default if key in ("rhat_max", "max_divergences") else value < default
            if looser:
                out[key] = {"value": value, "default": default}
        return out


def loosened_text(flags: dict[str, Any]) -> str:
    """``rhat_max = 1.05 (default 1.01), ...``: the loosened thresholds of :meth:`gate_flags`."""
    return ", ".join(f"{k} = {v['value']:g} (default {v['default']:g})"
                     for k, v in flags.get("loosened", {}).items())


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

    @model_validator(mode="after")
    def _divergences_bounded(self) -> AnalysisSpec:
        weak = self.weak_divergences()
        if weak and not self.gate.allow_weak_gate:
            raise ValueError(weak)
        return self

    def weak_divergences(self) -> str:
        """Why ``max_divergences`` disables its check for this sampler ('' when it does not)."""
        cap = MAX_DIVERGENT_FRACTION * self.sampler.chains * self.sampler.draws
        if self.gate.max_divergences <= cap:
            return ""
        return (f"key 'gate.max_divergences': {self.gate.max_divergences} divergences are more "
                f"than 1% of the {self.sampler.chains} x {self.sampler.draws} draws "
                f"(at most {int(cap)}); lower it, or set 'gate.allow_weak_gate = true'")

    def gate_flags(self) -> dict[str, Any]:
        """How this spec's gate departs from the documented one (empty when it does not).

        ``loosened``: each threshold looser than the default, with value and default;
        ``weak``: the thresholds that switch a check off (allowed by ``allow_weak_gate``).
        """
        loosened = self.gate.loosened()
        weak = self.gate.weak() + ([self.weak_divergences()] if self.weak_divergences() else [])
        if not loosened and not weak:
            return {}
        return {"loosened": loosened, "weak": weak}

    def with_sampler(self, **changes: Any) -> AnalysisSpec:
        """Return a copy with sampler settings changed (validated, the gate re-checked)."""
        raw = {**self.sampler.model_dump(), **changes}
        where = f"{self.source_path} (with overrides {changes})"
        try:
            sampler = SamplerSettings.model_validate(raw, strict=True)
        except ValidationError as err:
            msg = format_validation_error(
                err, where=where, root=SamplerSettings, raw=raw, prefix=("sampler",)
            )
            raise SpecError(msg) from None
        out = self.model_copy(update={"sampler": sampler})
        weak = out.weak_divergences()
        if weak and not out.gate.allow_weak_gate:
            raise SpecError(f"{where}: {weak}")
        return out
