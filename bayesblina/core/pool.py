"""One model fitted on several data sets and the posteriors pooled (multiple imputation).

When the data are uncertain (e.g. several plausible reconstructions of the patient data),
the model is fitted on each data set and the draws are pooled: the pooled posterior is the
mixture of the per-data-set posteriors, which propagates the uncertainty of the data
(Bayesian multiple imputation; Zhou & Reiter 2010). :func:`fit_pooled` refits one built
model (same shapes, new data through :meth:`~bayesblina.core.model.BayesModel.set_data`)
on each data set; :func:`gate_pooled` gates each data set's chains on their own (chains of
different data sets target different posteriors, so R-hat over all of them means nothing).

Conventions of a pooled fit (``dim`` is the name of the data-set coordinate):

* the data set ``k`` (in the order given) is sampled with seed ``settings.seed + k``;
* its chains are numbered ``k * settings.chains, ..., (k + 1) * settings.chains - 1`` and
  carry the coordinate ``dim`` (on ``chain``) with the data set's label, in ``posterior``
  and ``sample_stats``;
* the pointwise log-likelihood (for LOO), ``observed_data`` and ``constant_data`` are
  those of the first data set (patients differ between data sets);
* the provenance is the first data set's, with ``data_sha256`` of the model's data as it
  was before pooling and the number of data sets under the name ``f"{dim}s"``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Any

import arviz as az
import numpy as np
import pymc as pm
import xarray as xr

from bayesblina.core.gate import Check, GateResult, check_convergence
from bayesblina.core.sampling import sample

if TYPE_CHECKING:
    import pandas as pd

    from bayesblina.core.model import BayesModel
    from bayesblina.core.spec import GateThresholds, SamplerSettings

#: checks where a larger value is worse (for the others a smaller value is worse)
_LARGER_IS_WORSE = ("rhat_max", "divergences")


def fit_pooled(
    model: BayesModel,
    datasets: Mapping[Hashable, pd.DataFrame],
    settings: SamplerSettings,
    *,
    provenance: dict[str, Any] | None = None,
    dim: str = "reconstruction",
) -> az.InferenceData:
    """Fit ``model`` on each data set and pool the draws along ``chain``.

    Parameters
    ----------
    model : BayesModel
        The model; built once, its data replaced by each data set in turn (the data sets
        must share their shapes, so the compiled sampler is reused) and restored after.
    datasets : mapping of label to pandas.DataFrame
        The data sets, in the order they are fitted, by label (the ``dim`` coordinate).
    settings : SamplerSettings
        Sampler settings; data set ``k`` is sampled with seed ``settings.seed + k``.
    provenance : dict, optional
        Extra provenance attributes (passed to :func:`~bayesblina.core.sampling.sample`).
    dim : str
        Name of the coordinate (on ``chain``) that labels each chain's data set.

    Returns
    -------
    arviz.InferenceData
        ``posterior`` and ``sample_stats`` of every data set (``len(datasets) *
        settings.chains`` chains), ``log_likelihood``, ``observed_data`` and
        ``constant_data`` of the first data set.

    Raises
    ------
    ValueError
        If ``datasets`` is empty.
    """
    if not datasets:
        raise ValueError("fit_pooled needs at least one data set (got none)")
    original = model.data
    posts, stats = [], []
    try:
        for k, data in enumerate(datasets.values()):
            model.set_data(data)
            s = settings.model_copy(update={"seed": settings.seed + k})
            idata = sample(model, s, provenance=provenance)
            if k == 0:
                with model.build():
                    pm.compute_log_likelihood(idata, progressbar=False)
                first = idata
            post = idata.posterior.assign_coords(chain=idata.posterior.chain + k * s.chains)
            posts.append(post)
            stats.append(idata.sample_stats.assign_coords(chain=post.chain))
    finally:
        model.set_data(original)
    labels = np.repeat(list(datasets), settings.chains)
    posterior = xr.concat(posts, dim="chain").assign_coords({dim: ("chain", labels)})
    sample_stats = xr.concat(stats, dim="chain").assign_coords({dim: ("chain", labels)})
    pooled = az.InferenceData(
        posterior=posterior,
        sample_stats=sample_stats,
        log_likelihood=first.log_likelihood,
        observed_data=first.observed_data,
        constant_data=first.constant_data,
    )
    checksum = model.data_checksum()
    pooled.posterior.attrs.update({**first.posterior.attrs, "data_sha256": checksum})
    pooled.attrs = {**first.attrs, "data_sha256": checksum, f"{dim}s": len(datasets)}
    return pooled


def split_pooled(
    idata: az.InferenceData, dim: str = "reconstruction"
) -> dict[Any, az.InferenceData]:
    """The ``posterior`` and ``sample_stats`` of each data set of a pooled fit, by label.

    Parameters
    ----------
    idata : arviz.InferenceData
        A pooled fit (:func:`fit_pooled`): its chains carry the coordinate ``dim``.
    dim : str
        Name of the data-set coordinate.

    Returns
    -------
    dict
        ``{label: InferenceData}`` in the order the labels first appear.

    Raises
    ------
    ValueError
        If the posterior has no coordinate ``dim`` on ``chain``.
    """
    if dim not in idata.posterior.coords:
        raise ValueError(
            f"not a pooled fit: the posterior has no coordinate {dim!r} "
            f"(coordinates: {sorted(map(str, idata.posterior.coords))})"
        )
    labels = idata.posterior.coords[dim].values
    out = {}
    for label in dict.fromkeys(labels.tolist()):
        chains = idata.posterior.chain.values[labels == label]
        out[label] = az.InferenceData(
            posterior=idata.posterior.sel(chain=chains),
            sample_stats=idata.sample_stats.sel(chain=chains),
        )
    return out


def gate_pooled(
    idata: az.InferenceData,
    thresholds: GateThresholds,
    *,
    var_names: list[str] | None = None,
    dim: str = "reconstruction",
) -> GateResult:
    """Gate each data set's chains on their own; report the worst of each check.

    Parameters
    ----------
    idata : arviz.InferenceData
        A pooled fit (:func:`fit_pooled`).
    thresholds : GateThresholds
        The gate's criteria.
    var_names : list of str, optional
        Variables to check (default: all in the posterior).
    dim : str
        Name of the data-set coordinate.

    Returns
    -------
    GateResult
        Per check, the worst data set's (a failure before any pass); with several data
        sets its ``where`` names the data set, e.g. ``shape (reconstruction 3)``. The
        notes of every data set, each once.
    """
    results = [
        (label, check_convergence(sub, thresholds, var_names=var_names))
        for label, sub in split_pooled(idata, dim).items()
    ]
    checks = []
    for i, check in enumerate(results[0][1].checks):
        sign = 1.0 if check.name in _LARGER_IS_WORSE else -1.0
        label, worst = max(
            ((label, res.checks[i]) for label, res in results),
            key=lambda lc: (not lc[1].passed, sign * lc[1].value),
        )
        where = f"{worst.where} ({dim} {label})" if len(results) > 1 else worst.where
        checks.append(Check(worst.name, worst.value, worst.threshold, worst.passed, where))
    notes = tuple(n for _, res in results for n in res.notes)
    return GateResult(checks=tuple(checks), notes=tuple(dict.fromkeys(notes)))


def pooled_mcse_ess(da: xr.DataArray, dim: str = "reconstruction") -> np.ndarray:
    """MCSE of the pooled mean and total bulk ESS, from each data set's chains.

    Chains of different data sets target different posteriors, so ESS and MCSE over all
    chains would be wrong. With R data sets of equal size the pooled mean is the average
    of their means: MCSE = sqrt(sum MCSE_r^2) / R; the ESS adds up.

    Parameters
    ----------
    da : xarray.DataArray
        One variable of a pooled posterior (dims ``chain``, ``draw``, ...), with ``dim``.
    dim : str
        Name of the data-set coordinate on ``chain``.

    Returns
    -------
    numpy.ndarray
        Shape ``(elements, 2)``: pooled MCSE of the mean, summed bulk ESS, per element
        (in C order of the variable's other dims).
    """
    labels = da.coords[dim].values
    mcse, ess = [], []
    for label in np.unique(labels):
        sub = da.isel(chain=np.flatnonzero(labels == label)).to_dataset(name="x")
        mcse.append(np.ravel(az.mcse(sub)["x"].values))
        ess.append(np.ravel(az.ess(sub, method="bulk")["x"].values))
    mcse_arr, ess_arr = np.array(mcse), np.array(ess)
    pooled = np.sqrt((mcse_arr**2).sum(axis=0)) / len(mcse_arr)
    return np.column_stack([pooled, ess_arr.sum(axis=0)])
