"""LOO comparison of the poolings of one factor's data (partial, none, complete, EXNEX).

Stateless: :func:`compare_subgroup_models` fits the alternative models and ranks them by
PSIS-LOO; a ``cache`` mapping owned by the caller may carry fits across calls (the same
data, settings and priors are not fitted twice).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import MutableMapping
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

from bayesblina.analyses.subgroups.exnex import ExnexModel
from bayesblina.analyses.subgroups.model import LOGIT_03, SubgroupData, SubgroupModel
from bayesblina.core.gate import check_convergence
from bayesblina.core.model import PriorSetBase
from bayesblina.core.spec import GateThresholds, SamplerSettings


def level_summaries(
    idata: az.InferenceData, ci_prob: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Mean and equal-tailed interval of ``p`` per level and of ``difference`` per contrast.

    The same numbers as :func:`bayesblina.core.summaries.summarise_draws` (``mean``,
    ``eti_low``, ``eti_high``), as plain dicts for ``summary.json``.
    """
    post = idata.posterior
    q = [(1 - ci_prob) / 2, 1 - (1 - ci_prob) / 2]

    def one(draws: np.ndarray) -> dict[str, float]:
        lo, hi = np.quantile(draws, q)
        return {"mean": float(draws.mean()), "eti_low": float(lo), "eti_high": float(hi),
                "ci_prob": ci_prob}

    levels: dict[str, Any] = {}
    for level in post["p"].coords["subgroup"].values:
        row = one(post["p"].sel(subgroup=level).values)
        if "p_ex" in post:
            row["P(exchangeable)"] = float(post["p_ex"].sel(subgroup=level).mean())
        levels[str(level)] = row
    contrasts: dict[str, Any] = {}
    if "difference" in post:
        for label in post["difference"].coords["contrast"].values:
            d = post["difference"].sel(contrast=label).values
            contrasts[str(label)] = {**one(d), "P(diff>0)": float((d > 0).mean())}
    return levels, contrasts


#: priors of the comparison models when a prior set does not name them
DEFAULT_COMPARE_PRIORS: dict[str, dict[str, Any]] = {
    "partial": {
        "description": "mu ~ N(logit 0.3, 1.5^2), tau ~ half-normal(1)",
        "mu": {"family": "normal", "mu": LOGIT_03, "sigma": 1.5},
        "tau": {"family": "half_normal", "sigma": 1.0},
    },
    "none": {"description": "uniform Beta(1, 1) per level",
             "p": {"family": "beta", "alpha": 1.0, "beta": 1.0}},
    "complete": {"description": "uniform Beta(1, 1) for all",
                 "p": {"family": "beta", "alpha": 1.0, "beta": 1.0}},
    "exnex": {
        "description": "mu ~ N(logit 0.3, 1.5^2), tau ~ half-normal(1), NEX N(logit 0.3, 2.18^2)",
        "mu": {"family": "normal", "mu": LOGIT_03, "sigma": 1.5},
        "tau": {"family": "half_normal", "sigma": 1.0},
        "nex": {"family": "normal", "mu": LOGIT_03, "sigma": 2.18},
    },
}
LABELS = {"partial": "partial pooling", "none": "no pooling", "complete": "complete pooling",
           "exnex": "EXNEX"}


def prior_text(prior: dict[str, Any]) -> str:
    """A prior set (dict form) as text: ``mu ~ normal(mu=-0.85, sigma=1.5); ...``."""
    parts = []
    for k, v in prior.items():
        if k == "description":
            continue
        hyper = ", ".join(f"{h}={x:g}" for h, x in v.items() if h != "family")
        parts.append(f"{k} ~ {v['family']}({hyper})")
    return "; ".join(parts)


def compare_subgroup_models(
    data: str | pd.DataFrame,
    settings: SamplerSettings | None = None,
    priors: dict[str, dict[str, Any]] | None = None,
    *,
    models: Any = ("partial", "none", "complete"),
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
    settings : SamplerSettings, optional
        Sampler settings of every fit (defaults if omitted), with at most 1000 draws per
        chain (enough for LOO and the gate; the comparison only ranks the models).
    priors : dict, optional
        Prior set (dict form) per model key (``partial, none, complete, exnex``);
        :data:`DEFAULT_COMPARE_PRIORS` for keys not given.
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
        warning``) with ``pareto_k_over_0.7``, ``pareto_k_max``, ``prior`` and ``gate``.
    """
    settings = settings or SamplerSettings()
    if isinstance(data, str):
        data = SubgroupModel.load_data(SubgroupData(factor=data))
    all_priors = {k: dict(v) for k, v in DEFAULT_COMPARE_PRIORS.items()}
    all_priors.update(priors or {})
    cache = {} if cache is None else cache
    loos: dict[str, Any] = {}
    info: dict[str, dict[str, Any]] = {}
    if this is not None:
        label, model, idata = this
        loos[label] = model.loo(idata)
        info[label] = {"gate": "PASSED", "prior": prior_text(
            {k: v.model_dump() for k, v in model.prior.parameter_priors().items()})}
    for key in models:
        if this is not None and key == this[1].pooling:
            continue
        prior = all_priors[key]
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
            idata = alt.fit(settings.model_copy(update={"draws": min(settings.draws, 1000)}))
            verdict = check_convergence(idata, gate, var_names=alt.gate_vars())
            entry = {
                "ident": ident,
                "label": f"{LABELS[key]} ({prior_text(prior)})",
                "idata": idata,
                "gate": verdict.status,
                "loo": alt.loo(idata) if verdict.passed else None,
            }
            cache[key] = entry
        info[LABELS[key]] = {"gate": entry["gate"], "prior": prior_text(prior)}
        if entry["loo"] is not None:
            loos[LABELS[key]] = entry["loo"]
    if not loos:  # nothing passed the gate: nothing to rank
        return pd.DataFrame([{"model": m, "prior": i["prior"], "gate": i["gate"]}
                             for m, i in info.items()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = az.compare(loos, ic="loo").reset_index().rename(columns={"index": "model"})
    table["pareto_k_over_0.7"] = [int((loos[m].pareto_k.values > 0.7).sum())
                                  for m in table["model"]]
    table["pareto_k_max"] = [float(np.max(loos[m].pareto_k.values)) for m in table["model"]]
    table["prior"] = [info[m]["prior"] for m in table["model"]]
    table["gate"] = [info[m]["gate"] for m in table["model"]]
    failed = [{"model": m, "prior": i["prior"], "gate": i["gate"]}
              for m, i in info.items() if m not in loos]
    if failed:
        table = pd.concat([table, pd.DataFrame(failed)], ignore_index=True)
    return table


def alternative_priors(prior: PriorSetBase) -> dict[str, dict[str, Any]]:
    """Priors of the comparison models: this prior set's μ and τ where it has them."""
    out = {k: dict(v) for k, v in DEFAULT_COMPARE_PRIORS.items()}
    given = prior.parameter_priors()
    for key in ("partial", "exnex"):
        for param in ("mu", "tau"):
            if param in given:
                out[key][param] = given[param].model_dump()
    return out
