"""Model comparison by PSIS-LOO: one table for any set of fits.

The room fits its alternatives (other poolings, other survival families) and computes each
fit's :func:`arviz.loo`; :func:`loo_table` ranks those that passed the gate and lists those
that did not, with the Pareto k diagnostics a reader needs to judge the estimates.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import arviz as az
import numpy as np
import pandas as pd


def loo_table(loos: Mapping[str, Any], info: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Rank fits by PSIS-LOO; list the fits that could not be ranked.

    Parameters
    ----------
    loos : mapping of str to ELPDData
        :func:`arviz.loo` (``pointwise=True``) of each fit that passed the gate, by label.
    info : mapping of str to mapping
        Columns to add per label (e.g. ``gate``, ``prior``), for every fit: those in
        ``loos`` and those that failed the gate (listed after the ranked ones, unranked).

    Returns
    -------
    pandas.DataFrame
        ``az.compare``'s table (``model, rank, elpd_loo, p_loo, elpd_diff, weight, se, dse,
        warning, scale``) with ``pareto_k_over_0.7``, ``pareto_k_max`` and the ``info``
        columns; only the ``info`` columns when no fit could be ranked.
    """
    extra = list(dict.fromkeys(k for i in info.values() for k in i))
    unranked = [{"model": m, **i} for m, i in info.items() if m not in loos]
    if not loos:
        return pd.DataFrame(unranked, columns=["model", *extra])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the Pareto k are columns of the table
        table = az.compare(dict(loos), ic="loo").reset_index().rename(columns={"index": "model"})
    table["pareto_k_over_0.7"] = [int((loos[m].pareto_k.values > 0.7).sum())
                                  for m in table["model"]]
    table["pareto_k_max"] = [float(np.max(loos[m].pareto_k.values)) for m in table["model"]]
    for col in extra:
        table[col] = [info.get(m, {}).get(col) for m in table["model"]]
    if unranked:
        table = pd.concat([table, pd.DataFrame(unranked)], ignore_index=True)
    return table
