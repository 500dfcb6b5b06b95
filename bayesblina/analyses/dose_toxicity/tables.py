"""The tables of the dose-toxicity page (``docs/analyses/dose_toxicity.md``), built at docs time.

Each function reads a dose-toxicity spec (by default the packaged
``models/dose_toxicity_blrm.toml`` or ``models/dose_toxicity_crm.toml``) and returns a
:class:`pandas.DataFrame` of display strings, as the page shows them; the docs render them
with the ``bayesblina-table`` directive, so the page cannot drift from the specs, the data
or the models. Nothing here samples: every number comes from the exact grid engine
(:mod:`bayesblina.analyses.dose_toxicity.exact`), through the models' ``exact_table``,
``treatments_table``, ``fifth_dlt_table`` and ``grid_posterior``.

Probabilities are printed with three decimals (``> 0.999`` and ``< 0.001`` at the ends),
doses with one decimal below 100 µg/m²/day and none above.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayesblina.analyses.dose_toxicity.blrm import BLRMModel
from bayesblina.analyses.dose_toxicity.crm import CRMModel
from bayesblina.analyses.dose_toxicity.exact import blrm_grid_posterior
from bayesblina.core.load import load_named_spec, models_resolver
from bayesblina.core.spec import AnalysisSpec
from bayesblina.errors import SpecError

__all__ = [
    "BLRM_SPEC",
    "CRM_SPEC",
    "crm_table",
    "dose_text",
    "fifth_dlt_table",
    "load_dose_toxicity_spec",
    "mtd_table",
    "pk_expansion_table",
    "posterior_table",
    "prior_table",
    "prob_text",
    "target_text",
    "treatments_table",
]

#: the default specs of this room's page
BLRM_SPEC = "dose_toxicity_blrm"
CRM_SPEC = "dose_toxicity_crm"
#: the quantile of a standard normal at 0.975 (the prior's 95% interval of beta)
_Z975 = 1.959964



def load_dose_toxicity_spec(spec: str | Path, model: str | None = None) -> AnalysisSpec:
    """Load a BLRM or CRM spec: a path, or the name of a packaged default spec.

    Parameters
    ----------
    spec : str or Path
        A ``.toml`` file, or a bare name such as ``"dose_toxicity_blrm"`` (the packaged
        ``models/dose_toxicity_blrm.toml``).
    model : str, optional
        The model the spec must name (``"blrm"`` or ``"crm"``).

    Returns
    -------
    AnalysisSpec

    Raises
    ------
    SpecError
        If the file does not exist, fails validation, or names another model.
    """
    out = load_named_spec(spec, resolve=models_resolver([BLRMModel, CRMModel],
                                                        scope="the dose-toxicity room"))
    if model is not None and out.analysis.model != model:
        raise SpecError(f"{out.source_path}: key 'analysis.model': this table needs a "
                        f"{model!r} spec, got {out.analysis.model!r}")
    return out


def prob_text(value: float) -> str:
    """A probability as the page prints it: three decimals, ``> 0.999`` and ``< 0.001``."""
    if value > 0.999:
        return "> 0.999"
    if value < 0.001:
        return "< 0.001"
    return f"{value:.3f}"


def dose_text(value: float) -> str:
    """A dose (µg/m²/day): one decimal below 100, none from 100 on."""
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def target_text(target: float) -> str:
    """An MTD target: 1/6 by name, others as short decimals."""
    return "1/6" if abs(target - 1 / 6) < 1e-6 else f"{target:g}"


def _blrm(spec: str | Path) -> AnalysisSpec:
    return load_dose_toxicity_spec(spec, BLRMModel.name)


def _ewoc_as_published(model: BLRMModel) -> float:
    fifth = model.fifth_dlt_table()
    return float(fifth["EWOC dose"].iloc[0])


def prior_table(spec: str | Path = BLRM_SPEC) -> pd.DataFrame:
    """What each BLRM prior set implies with no data, by the grid engine with no patients.

    Parameters
    ----------
    spec : str or Path, default "dose_toxicity_blrm"
        A BLRM spec (see :func:`load_dose_toxicity_spec`).

    Returns
    -------
    pandas.DataFrame
        One row per prior set: ``prior set``, the priors of ``log α`` and ``log β``,
        ``corr``; the prior median (95% interval) of P(DLT) at each studied dose (first
        column ``prior P(DLT) at <d>: median (95% interval)``, then ``at <d>``); the prior
        P(p(d) > upper cut) at each reference dose; the exact 95% prior interval of β
        (lognormal) and the prior median MTD for the first target.
    """
    s = _blrm(spec)
    opts = s.options
    hi = opts.cuts[1]
    studied = [float(d) for d in opts.studied_doses]
    ref = [float(d) for d in opts.reference_doses]
    t0 = opts.targets[0]
    one, zero = np.ones((1, 1)), np.zeros((1, 1))
    rows = []
    for name, prior_set in s.priors.items():
        th = prior_set.theta
        # the prior alone: the grid posterior of a data set with no patients
        prior = blrm_grid_posterior(one, one, zero, zero, d_ref=opts.d_ref, mean=th.mean,
                                    sd=th.sd, corr=th.corr)
        row: dict[str, str] = {
            "prior set": name,
            "log α": f"N({th.mean[0]:g}, {th.sd[0]:g}²)",
            "log β": f"N({th.mean[1]:g}, {th.sd[1]:g}²)",
            "corr": f"{th.corr:g}",
        }
        q = prior.p_quantiles(studied, (0.025, 0.5, 0.975))[0]
        for k, (d, (lo, mid, up)) in enumerate(zip(studied, q, strict=True)):
            head = f"prior P(DLT) at {d:g}: median (95% interval)" if k == 0 else f"at {d:g}"
            row[head] = f"{prob_text(mid)} ({prob_text(lo)} to {prob_text(up)})"
        for d, over in zip(ref, prior.prob_exceeds(ref, hi)[0], strict=True):
            row[f"prior P(p({d:g}) > {hi:g})"] = prob_text(over)
        beta_lo, beta_hi = np.exp(th.mean[1] + np.array([-_Z975, _Z975]) * th.sd[1])
        row["β: 95% interval"] = f"{beta_lo:.2f} to {beta_hi:.2f}"
        row[f"prior median MTD (target {target_text(t0)})"] = dose_text(
            prior.mtd_quantiles(t0, (0.5,))[0, 0])
        rows.append(row)
    return pd.DataFrame(rows)


def posterior_table(spec: str | Path = BLRM_SPEC) -> pd.DataFrame:
    """The exact posterior DLT probability per studied dose, and per stepwise cohort.

    Parameters
    ----------
    spec : str or Path, default "dose_toxicity_blrm"
        A BLRM spec (see :func:`load_dose_toxicity_spec`).

    Returns
    -------
    pandas.DataFrame
        Per prior set, one row per studied dose, then one per stepwise cohort (dose
        ``<label> (stepwise)``): ``prior set``, ``dose``, ``mean``, ``median (95%
        interval)`` and the interval probabilities ``P(under)``, ``P(target)``,
        ``P(over)`` (cuts of ``[options] cuts``); a stepwise cohort has its mean and
        ``P(over)`` only (the other cells ``—``).
    """
    s = _blrm(spec)
    hi = s.options.cuts[1]
    over_col = f"P(p>{hi:g})"
    rows = []
    for name in s.priors:
        model = BLRMModel.from_spec(s, name)
        exact = model.exact_table(s.summary)
        curve = model.curve_table().set_index("dose")
        for _, r in exact[exact["quantity"] == "p_dose"].iterrows():
            c = curve.loc[float(r["element"])]
            rows.append({
                "prior set": name, "dose": r["element"], "mean": prob_text(r["mean"]),
                "median (95% interval)": (f"{prob_text(r['median'])} ({prob_text(r['eti_low'])}"
                                          f" to {prob_text(r['eti_high'])})"),
                "P(under)": prob_text(c["P(under)"]), "P(target)": prob_text(c["P(target)"]),
                "P(over)": prob_text(r[over_col]),
            })
        periods = model.data.set_index("label")["periods"]
        for _, r in exact[exact["quantity"] == "p_cohort"].iterrows():
            if len(periods.loc[r["element"]]) > 1:
                rows.append({
                    "prior set": name, "dose": f"{r['element']} (stepwise)",
                    "mean": prob_text(r["mean"]), "median (95% interval)": "—",
                    "P(under)": "—", "P(target)": "—", "P(over)": prob_text(r[over_col]),
                })
    return pd.DataFrame(rows)


def mtd_table(spec: str | Path = BLRM_SPEC) -> pd.DataFrame:
    """The exact posterior MTD per target, and the EWOC dose of the dose grid.

    Parameters
    ----------
    spec : str or Path, default "dose_toxicity_blrm"
        A BLRM spec (see :func:`load_dose_toxicity_spec`).

    Returns
    -------
    pandas.DataFrame
        One row per (prior set, target): ``prior set``, ``target π``, ``median MTD``, the
        ``[summary] ci_prob`` interval, ``P(MTD ≥ d)`` per reference dose and ``EWOC dose``
        (the highest grid dose with P(p(d) > upper cut) < ``max_overdose_prob``).
    """
    s = _blrm(spec)
    opts = s.options
    rows = []
    for name in s.priors:
        model = BLRMModel.from_spec(s, name)
        exact = model.exact_table(s.summary)
        ewoc = _ewoc_as_published(model)
        mtd = exact[exact["quantity"] == "mtd"]
        for t, (_, r) in zip(opts.targets, mtd.iterrows(), strict=True):
            row = {"prior set": name, "target π": target_text(t),
                   "median MTD": dose_text(r["median"]),
                   f"{100 * s.summary.ci_prob:g}% interval": (f"{dose_text(r['eti_low'])} to "
                                                              f"{dose_text(r['eti_high'])}")}
            for d in opts.reference_doses:
                row[f"P(MTD ≥ {d:g})"] = prob_text(r[f"P(MTD>={d:g})"])
            row["EWOC dose"] = f"{ewoc:g}"
            rows.append(row)
    return pd.DataFrame(rows)


def treatments_table(spec: str | Path = BLRM_SPEC) -> pd.DataFrame:
    """The three treatments of stepwise regimens: P(DLT) per cohort, MTD and over-dosing.

    Parameters
    ----------
    spec : str or Path, default "dose_toxicity_blrm"
        A BLRM spec (see :func:`load_dose_toxicity_spec`).

    Returns
    -------
    pandas.DataFrame
        Per prior set, one row per treatment (``period_exposure``, ``first_period``,
        ``maintenance``): ``prior set``, ``treatment``, the mean ``P(DLT) <cohort>`` of
        every cohort, the ``median MTD (<first target>)`` and ``P(p(d) > upper cut)`` per
        reference dose (from :meth:`BLRMModel.treatments_table`).
    """
    s = _blrm(spec)
    opts = s.options
    hi = opts.cuts[1]
    t0 = f"{opts.targets[0]:g}"
    rows = []
    for name in s.priors:
        model = BLRMModel.from_spec(s, name)
        for _, r in model.treatments_table().iterrows():
            row = {"prior set": name, "treatment": r["treatment"]}
            for label in model.data["label"]:
                row[f"P(DLT) {label}"] = prob_text(r[f"P(DLT) {label}"])
            row[f"median MTD ({t0})"] = dose_text(r[f"MTD({t0}) median"])
            for d in opts.reference_doses:
                row[f"P(p({d:g}) > {hi:g})"] = prob_text(r[f"P(p({d:g})>{hi:g})"])
            rows.append(row)
    return pd.DataFrame(rows)


def fifth_dlt_table(spec: str | Path = BLRM_SPEC) -> pd.DataFrame:
    """The Discussion's fifth DLT: one more DLT in each cohort in turn (one batched call).

    Parameters
    ----------
    spec : str or Path, default "dose_toxicity_blrm"
        A BLRM spec (see :func:`load_dose_toxicity_spec`).

    Returns
    -------
    pandas.DataFrame
        Per prior set, one row per scenario of :meth:`BLRMModel.fifth_dlt_table` (the data
        as given first): ``prior set``, ``scenario``, ``median MTD (<first target>)``, its
        ``90% interval``, ``P(MTD ≥ d)`` per reference dose, ``P(p(d) > upper cut)`` per
        studied dose and the ``EWOC dose``.
    """
    s = _blrm(spec)
    opts = s.options
    hi = opts.cuts[1]
    t0 = f"{opts.targets[0]:g}"
    rows = []
    for name in s.priors:
        model = BLRMModel.from_spec(s, name)
        for _, r in model.fifth_dlt_table().iterrows():
            row = {"prior set": name, "scenario": r["scenario"],
                   f"median MTD ({t0})": dose_text(r[f"MTD({t0}) median"]),
                   "90% interval": r[f"MTD({t0}) 90% interval"]}
            for d in opts.reference_doses:
                row[f"P(MTD ≥ {d:g})"] = prob_text(r[f"P(MTD({t0})>={d:g})"])
            for d in opts.studied_doses:
                row[f"P(p({d:g}) > {hi:g})"] = prob_text(r[f"P(p({d:g})>{hi:g})"])
            row["EWOC dose"] = f"{r['EWOC dose']:g}"
            rows.append(row)
    return pd.DataFrame(rows)


def pk_expansion_table(spec: str | Path = BLRM_SPEC) -> pd.DataFrame:
    """The BLRM with the PK expansion included (``[data] include_pk_expansion = true``).

    Parameters
    ----------
    spec : str or Path, default "dose_toxicity_blrm"
        A BLRM spec (see :func:`load_dose_toxicity_spec`); its data are reloaded with the
        PK expansion's cohort added.

    Returns
    -------
    pandas.DataFrame
        One row per prior set: ``prior set``, ``mean P(DLT) <d>`` and ``P(p(<d>) > upper
        cut)`` per studied dose, the ``median MTD (<first target>) (95% interval)`` and the
        ``EWOC dose`` (the docs page shows a selection of the columns).
    """
    s = _blrm(spec)
    opts = s.options
    hi = opts.cuts[1]
    over_col = f"P(p>{hi:g})"
    t0 = f"{opts.targets[0]:g}"
    data = BLRMModel.load_data(s.data.model_copy(update={"include_pk_expansion": True}))
    rows = []
    for name in s.priors:
        model = BLRMModel.from_spec(s, name).set_data(data)
        exact = model.exact_table(s.summary).set_index(["quantity", "element"])
        ewoc = model.grid_posterior().ewoc(np.asarray(opts.dose_grid), opts.max_overdose_prob,
                                           opts.cuts)[0]
        row = {"prior set": name}
        for d in opts.studied_doses:
            row[f"mean P(DLT) {d:g}"] = prob_text(exact.loc[("p_dose", f"{d:g}"), "mean"])
        for d in opts.studied_doses:
            row[f"P(p({d:g}) > {hi:g})"] = prob_text(exact.loc[("p_dose", f"{d:g}"), over_col])
        mtd = exact.loc[("mtd", t0)]
        row[f"median MTD ({t0}) ({100 * s.summary.ci_prob:g}% interval)"] = (
            f"{dose_text(mtd['median'])} ({dose_text(mtd['eti_low'])} to "
            f"{dose_text(mtd['eti_high'])})")
        row["EWOC dose"] = f"{ewoc:g}"
        rows.append(row)
    return pd.DataFrame(rows)


def crm_table(spec: str | Path = CRM_SPEC) -> pd.DataFrame:
    """The exact posterior of the CRM per dose level, with the recommended level.

    Parameters
    ----------
    spec : str or Path, default "dose_toxicity_crm"
        A CRM spec (see :func:`load_dose_toxicity_spec`).

    Returns
    -------
    pandas.DataFrame
        Per prior set, one row per dose level: ``prior set``, ``level``, ``skeleton``,
        ``posterior mean P(DLT)``, ``plug-in estimate`` (at the posterior mean of β),
        ``P(p > upper cut)`` and ``recommended`` (``yes`` for the level whose plug-in risk
        is closest to the target, else ``—``).
    """
    s = load_dose_toxicity_spec(spec, CRMModel.name)
    rows = []
    for name in s.priors:
        crm = CRMModel.from_spec(s, name)
        opts = crm.options
        post = crm.grid_posterior()
        exact = crm.exact_table(s.summary).set_index(["quantity", "element"])
        plugin = post.p_plugin()[0]
        over = post.prob_exceeds(opts.cuts[1])[0]
        best = opts.dose_levels[int(post.recommend(opts.target)[0])]
        for k, level in enumerate(opts.dose_levels):
            rows.append({
                "prior set": name, "level": f"{level:g}", "skeleton": f"{opts.skeleton[k]:g}",
                "posterior mean P(DLT)": prob_text(exact.loc[("p_level", f"{level:g}"), "mean"]),
                "plug-in estimate": prob_text(plugin[k]),
                f"P(p > {opts.cuts[1]:g})": prob_text(over[k]),
                "recommended": "yes" if level == best else "—",
            })
    return pd.DataFrame(rows)
