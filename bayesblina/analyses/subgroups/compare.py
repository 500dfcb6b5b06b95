"""LOO comparison of the poolings of one factor's data (partial, none, complete, EXNEX).

Stateless: :func:`compare_subgroup_models` fits the alternative models and ranks them by
PSIS-LOO (:func:`bayesblina.core.compare.loo_table`); a ``cache`` mapping owned by the
caller may carry fits across calls (the same data, settings and priors are not fitted
twice). The comparison models' priors and draws are the spec's
(``options.compare_priors``, ``options.compare_draws``;
:mod:`bayesblina.analyses.subgroups.spec`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import arviz as az
import pandas as pd

from bayesblina.analyses.subgroups.data import SubgroupData
from bayesblina.analyses.subgroups.exnex import ExnexModel
from bayesblina.analyses.subgroups.model import SubgroupModel
from bayesblina.analyses.subgroups.spec import MODEL_LABELS
from bayesblina.core.compare import loo_table
from bayesblina.core.gate import check_convergence
from bayesblina.core.model import PRIOR_SET_TEXT
from bayesblina.core.spec import GateThresholds, SamplerSettings
from bayesblina.core.summaries import interval_summary
from bayesblina.errors import SpecError

#: how each model is labelled in the comparison table
LABELS = MODEL_LABELS


def level_summaries(
    idata: az.InferenceData, ci_prob: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Mean and equal-tailed interval of ``p`` per level and of ``difference`` per contrast.

    The same numbers as :func:`bayesblina.core.summaries.summarise_draws` (``mean``,
    ``eti_low``, ``eti_high``), as plain dicts for ``summary.json``
    (:func:`~bayesblina.core.summaries.interval_summary`).
    """
    post = idata.posterior
    levels: dict[str, Any] = {}
    for level in post["p"].coords["subgroup"].values:
        row = interval_summary(post["p"].sel(subgroup=level).values, ci_prob)
        if "p_ex" in post:
            row["P(exchangeable)"] = float(post["p_ex"].sel(subgroup=level).mean())
        levels[str(level)] = row
    contrasts: dict[str, Any] = {}
    if "difference" in post:
        for label in post["difference"].coords["contrast"].values:
            d = post["difference"].sel(contrast=label).values
            contrasts[str(label)] = {**interval_summary(d, ci_prob),
                                     "P(diff>0)": float((d > 0).mean())}
    return levels, contrasts


def prior_text(prior: Mapping[str, Any]) -> str:
    """A prior set (dict form) as text: ``mu ~ normal(mu=-0.85, sigma=1.5); ...``."""
    parts = []
    for k, v in prior.items():
        if k in PRIOR_SET_TEXT:
            continue
        hyper = ", ".join(f"{h}={x:g}" for h, x in v.items() if h != "family")
        parts.append(f"{k} ~ {v['family']}({hyper})")
    return "; ".join(parts)


def compare_subgroup_models(
    data: str | pd.DataFrame,
    settings: SamplerSettings,
    priors: Mapping[str, Mapping[str, Any]],
    *,
    models: Sequence[str] = ("partial", "none", "complete"),
    gate: GateThresholds | None = None,
    exnex_weight: float = 0.5,
    this: tuple[str, SubgroupModel, az.InferenceData] | None = None,
    cache: MutableMapping[str, dict[str, Any]] | None = None,
    contrasts: list[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Fit several poolings of one factor's data and compare them by PSIS-LOO.

    The likelihood is binomial per level, so each level is one LOO point: the comparison
    asks how well each model predicts a level's CRs from the other levels. With two to
    four levels, and one level left out of a hierarchical model being influential,
    Pareto k > 0.7 is common: the table counts those (``pareto_k_over_0.7``; ``warning``
    is ArviZ's flag) and such estimates should be read as rough.

    Parameters
    ----------
    data : str or pandas.DataFrame
        A Fig 2 factor name, or a data frame of levels (``subgroup, x, n``).
    settings : SamplerSettings
        Sampler settings of every comparison fit (the component caps the draws at
        ``options.compare_draws``).
    priors : mapping
        Prior set (dict form) per model key (``partial, none, complete, exnex``), for every
        model fitted (:func:`~bayesblina.analyses.subgroups.spec.comparison_priors`).
    models : sequence of str
        The models to fit and compare.
    gate : GateThresholds, optional
        Fits that fail the gate are listed (``gate = FAILED``) but not ranked.
    exnex_weight : float
        Prior probability of exchangeability of the EXNEX model.
    this : (label, model, idata), optional
        A fit already made, compared too (its own pooling is then not refitted).
    cache : dict, optional
        Fits by key, reused across calls (same data, settings and priors).
    contrasts : list of (str, str), optional
        Contrasts of the fits (default: the factor's, :data:`DEFAULT_CONTRASTS`).

    Returns
    -------
    pandas.DataFrame
        ``az.compare``'s table (``model, rank, elpd_loo, p_loo, elpd_diff, weight, se, dse,
        warning, scale``) with ``pareto_k_over_0.7``, ``pareto_k_max``, ``prior`` and
        ``gate``; fits that failed the gate after the ranked ones.

    Raises
    ------
    SpecError
        If a model to fit has no prior set in ``priors``.
    """
    if isinstance(data, str):
        data = SubgroupModel.load_data(SubgroupData(factor=data))
    cache = {} if cache is None else cache
    loos: dict[str, Any] = {}
    info: dict[str, dict[str, Any]] = {}
    if this is not None:
        label, model, idata = this
        loos[label] = model.loo(idata)
        info[label] = {"prior": prior_text(
            {k: v.model_dump() for k, v in model.prior.parameter_priors().items()}),
            "gate": "PASSED"}
    for key in models:
        if this is not None and key == this[1].pooling:
            continue
        if key not in priors:
            raise SpecError(
                f"no prior set for the comparison model {key!r}; give it in "
                f"options.compare_priors.{key} (priors given for: {sorted(priors)})"
            )
        prior = dict(priors[key])
        ident = json.dumps(
            [key, prior, settings.model_dump(), exnex_weight, contrasts,
             data[["subgroup", "x", "n"]].to_dict(orient="list")],
            sort_keys=True, default=str,
        )
        entry = cache.get(key)
        if entry is None or entry["ident"] != ident:
            if key == "exnex":
                alt: SubgroupModel = ExnexModel(data, prior, {"weight": exnex_weight,
                                                              "contrasts": contrasts})
            else:
                alt = SubgroupModel(data, prior, {"pooling": key, "contrasts": contrasts})
            idata = alt.fit(settings)
            verdict = check_convergence(idata, gate, var_names=alt.gate_vars())
            entry = {
                "ident": ident,
                "label": f"{LABELS[key]} ({prior_text(prior)})",
                "idata": idata,
                "gate": verdict.status,
                "loo": alt.loo(idata) if verdict.passed else None,
            }
            cache[key] = entry
        info[LABELS[key]] = {"prior": prior_text(prior), "gate": entry["gate"]}
        if entry["loo"] is not None:
            loos[LABELS[key]] = entry["loo"]
    return loo_table(loos, info)
