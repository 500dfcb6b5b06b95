"""Exact (grid-quadrature) posteriors: the independent check of the PyMC fits.

:mod:`bayesblina.exact.dose_toxicity` computes BLRM and CRM posteriors for many data
sets at once (stepwise regimens included) for fast escalation simulations.
"""

from bayesblina.exact.dose_toxicity import (
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
