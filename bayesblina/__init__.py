"""bayesblina: Bayesian re-analysis of the paediatric blinatumomab phase I/II trial.

von Stackelberg A, et al. J Clin Oncol 34, 2016 (DOI 10.1200/JCO.2016.67.3301).

The public API is importable from here; names load lazily so that ``bayesblina.data``
and ``bayesblina.reproduce`` do not pay for importing PyMC.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("bayesblina")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

_API = {
    "load_spec": "bayesblina.spec.load",
    "load_specs": "bayesblina.spec.load",
    "discover_specs": "bayesblina.spec.load",
    "parse_spec": "bayesblina.spec.load",
    "SamplerSettings": "bayesblina.spec.schema",
    "SummarySettings": "bayesblina.spec.schema",
    "GateThresholds": "bayesblina.spec.schema",
    "BayesModel": "bayesblina.model",
    "BetaBinomialModel": "bayesblina.model",
    "BLRMModel": "bayesblina.model",
    "CRMModel": "bayesblina.model",
    "SurvivalModel": "bayesblina.model",
    "get_model_class": "bayesblina.model",
    "check_convergence": "bayesblina.diagnostics.gate",
    "run_analysis": "bayesblina.pipeline",
    "AnalysisResult": "bayesblina.pipeline",
    "write_results": "bayesblina.report.write",
    "reproduce_all": "bayesblina.reproduce",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'bayesblina' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
