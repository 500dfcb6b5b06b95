"""bayesblina: Bayesian re-analysis of the paediatric blinatumomab phase I/II trial.

von Stackelberg A, et al. J Clin Oncol 34, 2016 (DOI 10.1200/JCO.2016.67.3301).

The public API is importable from here; names load lazily so that ``bayesblina.data``,
``bayesblina.reproduce`` and the exact design engines (``bayesblina.design``) do not pay for
importing PyMC.
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
    "load_spec": "bayesblina.analyses.registry",
    "load_specs": "bayesblina.analyses.registry",
    "discover_specs": "bayesblina.analyses.registry",
    "parse_spec": "bayesblina.analyses.registry",
    "SamplerSettings": "bayesblina.core.spec",
    "SummarySettings": "bayesblina.core.spec",
    "GateThresholds": "bayesblina.core.spec",
    "BayesModel": "bayesblina.analyses",
    "BetaBinomialModel": "bayesblina.analyses",
    "BLRMModel": "bayesblina.analyses",
    "CRMModel": "bayesblina.analyses",
    "SurvivalModel": "bayesblina.analyses",
    "get_model_class": "bayesblina.analyses",
    "check_convergence": "bayesblina.core.gate",
    "run_analysis": "bayesblina.pipeline",
    "run_analyses": "bayesblina.pipeline",
    "AnalysisResult": "bayesblina.core.fit",
    "Fit": "bayesblina.core.fit",
    "write_results": "bayesblina.report.write",
    "reproduce_all": "bayesblina.reproduce",
    # trial design: design studies as specs, and the engines most used
    "load_design_spec": "bayesblina.design",
    "run_design": "bayesblina.design",
    "simon_admissible": "bayesblina.design",
    "simon_compare": "bayesblina.design",
    "MonitoringDesign": "bayesblina.design",
    "monitoring_oc": "bayesblina.design",
    "monitoring_search": "bayesblina.design",
    "BetaMixture": "bayesblina.design",
    "power_prior": "bayesblina.design",
    "robustify": "bayesblina.design",
    "ess": "bayesblina.design",
    "single_arm_assurance": "bayesblina.design",
    "tte_assurance": "bayesblina.design",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'bayesblina' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
