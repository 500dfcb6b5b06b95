"""Dose-toxicity: the BLRM and CRM with stepwise regimens, EWOC and the MTD posterior.

:mod:`~bayesblina.analyses.dose_toxicity.exact` computes BLRM and CRM posteriors exactly on a
grid, for many data sets at once (the independent check of the PyMC fits and the engine of
fast sensitivity analyses and escalation simulations).
"""

from bayesblina.analyses.dose_toxicity.exact import (
    CRM_MODELS,
    TREATMENTS,
    BLRMGridPosterior,
    CRMGridPosterior,
    blrm_grid_posterior,
    crm_grid_posterior,
    regimen_weights,
)

__all__ = [
    "CRM_MODELS",
    "TREATMENTS",
    "BLRMGridPosterior",
    "CRMGridPosterior",
    "blrm_grid_posterior",
    "crm_grid_posterior",
    "regimen_weights",
]
