r"""Bayesian logistic regression model (BLRM) for dose-toxicity, stepwise regimens included.

Neuenschwander, Branson & Gsponer (2008):

.. math::

    \operatorname{logit} p(d) = \log\alpha + \beta \log(d / d^*), \qquad
    (\log\alpha, \log\beta) \sim \mathrm{BVN}(m, \Sigma),

with :math:`p(d)` the probability of a DLT in the DLT window (cycle 1) at a constant
dose :math:`d`. A regimen is a list of (dose, days) periods; by default its DLT risk is
that of a constant hazard within each period set by the period's dose (period exposure),

.. math::

    p_{\text{regimen}} = 1 - \prod_k \bigl(1 - p(d_k)\bigr)^{t_k / W},

with alternatives "first_period" (:math:`p(d_1)`) and "maintenance" (:math:`p(d_K)`).
The MTD for a target :math:`\pi` is
:math:`d^* \exp\{(\operatorname{logit}\pi - \log\alpha)/\beta\}`.
The independent check is the grid posterior of :mod:`bayesblina.analyses.dose_toxicity.exact`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from bayesblina.analyses.dose_toxicity.blrm_grid import BLRMGridPosterior, blrm_grid_posterior
from bayesblina.analyses.dose_toxicity.common import (
    TREATMENTS,
    DoseToxModel,
    DoseToxOptions,
    PositiveFloat,
    Probability,
    is_published_data,
    risk_summary,
)
from bayesblina.analyses.dose_toxicity.plots import plot_dose_toxicity
from bayesblina.analyses.dose_toxicity.regimens import regimen_weights
from bayesblina.core.model import PriorSetBase
from bayesblina.core.priors import Prior
from bayesblina.core.summaries import summarise_draws

if TYPE_CHECKING:
    import arviz as az
    from matplotlib.figure import Figure

    from bayesblina.core.spec import AnalysisSpec, SummarySettings


#: sensitivity tables a BLRM spec may ask for (``options.sensitivity``)
SENSITIVITY_TABLES = ("treatments", "fifth_dlt")
CURVE_TITLE = "Posterior DLT curve over the dose grid (exact engine)"
TREATMENTS_TITLE = "Stepwise regimens: three treatments (exact engine)"
FIFTH_DLT_TITLE = "Sensitivity: the Discussion's fifth DLT (exact engine)"


class BLRMOptions(DoseToxOptions):
    """``[options]`` of the BLRM: reference dose, dose grid, studied doses, MTD targets.

    ``reference_doses`` are doses of interest reported beside the MTD and over-dosing
    probabilities (``P(MTD>=d)``, ``P(p(d)>cut)``); each must be on ``dose_grid``.
    ``sensitivity`` names the exact-engine sensitivity tables to compute:
    ``"treatments"`` (the three treatments of stepwise regimens) and ``"fifth_dlt"`` (one
    more DLT in each cohort in turn).
    """

    # the trial's doses are data of its spec, never defaults of the model
    d_ref: PositiveFloat
    dose_grid: Annotated[list[PositiveFloat], Field(min_length=1)]
    studied_doses: Annotated[list[PositiveFloat], Field(min_length=1)]
    targets: Annotated[list[Probability], Field(min_length=1)] = Field(
        default_factory=lambda: [0.25, 1 / 6]
    )
    reference_doses: list[PositiveFloat] = Field(default_factory=list)
    sensitivity: list[Literal["treatments", "fifth_dlt"]] = Field(default_factory=list)

    @field_validator("studied_doses", "reference_doses")
    @classmethod
    def _on_the_grid(cls, doses: list[float], info: ValidationInfo) -> list[float]:
        if "dose_grid" not in info.data:  # the grid itself is invalid: reported there
            return doses
        grid = [float(d) for d in info.data["dose_grid"]]
        off = [d for d in doses if float(d) not in grid]
        if off:
            raise ValueError(
                f"dose {off[0]:g} is not on the dose grid; allowed: doses of "
                f"options.dose_grid ({_doses_text(grid)})"
            )
        if len(set(doses)) != len(doses):
            raise ValueError(f"a dose is listed twice ({_doses_text(doses)})")
        return doses

    @field_validator("sensitivity")
    @classmethod
    def _once(cls, tables: list[str]) -> list[str]:
        if len(set(tables)) != len(tables):
            raise ValueError(f"a table is listed twice ({tables})")
        return tables


def _doses_text(doses: list[float]) -> str:
    text = ", ".join(f"{d:g}" for d in doses[:12])
    return text + (f", … ({len(doses)} doses)" if len(doses) > 12 else "")


class BLRMPriors(PriorSetBase):
    """One prior set: a bivariate normal prior on ``theta = (log alpha, log beta)``."""

    theta: Prior
    allowed_families: ClassVar[dict[str, tuple[str, ...]]] = {"theta": ("bivariate_normal",)}


class BLRMModel(DoseToxModel):
    """Two-parameter logistic dose-toxicity model with stepwise regimens."""

    name: ClassVar[str] = "blrm"
    PriorSetSpec: ClassVar[type[PriorSetBase]] = BLRMPriors
    OptionsSpec: ClassVar[type[BaseModel]] = BLRMOptions

    # -- graph ------------------------------------------------------------------------
    def regimen_arrays(self, treatment: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-period doses and weights of every cohort's regimen, shape (cohort, period)."""
        regimens = [list(p) for p in self.data["periods"]]
        return regimen_weights(regimens, treatment or self.options.treatment)

    def coords(self) -> dict[str, list[Any]]:
        """Cohorts, regimen periods, parameters, the dose grid and MTD targets."""
        doses, _ = self.regimen_arrays()
        return {
            "cohort": list(self.data["label"]),
            "period": list(range(doses.shape[1])),
            "param": ["log_alpha", "log_beta"],
            "dose": [float(d) for d in self.options.dose_grid],
            "target": [float(t) for t in self.options.targets],
        }

    def data_values(self) -> dict[str, np.ndarray]:
        """Regimen doses/weights, patients, DLTs, and the dose grid and targets."""
        doses, weights = self.regimen_arrays()
        return {
            "period_dose": doses.astype(float),
            "period_weight": weights.astype(float),
            "patients": self.data["patients"].to_numpy(dtype="int64"),
            "dlts": self.data["dlts"].to_numpy(dtype="int64"),
            "dose_grid": np.asarray(self.options.dose_grid, dtype=float),
            "targets": np.asarray(self.options.targets, dtype=float),
        }

    def _define(self) -> None:
        v = self.data_values()
        d = pm.Data("period_dose", v["period_dose"], dims=("cohort", "period"))
        w = pm.Data("period_weight", v["period_weight"], dims=("cohort", "period"))
        n = pm.Data("patients", v["patients"], dims="cohort")
        y = pm.Data("dlts", v["dlts"], dims="cohort")
        grid = pm.Data("dose_grid", v["dose_grid"], dims="dose")
        targets = pm.Data("targets", v["targets"], dims="target")
        theta = self.prior_rv("theta", dims="param")
        log_alpha, beta = theta[0], pt.exp(theta[1])
        d_ref = self.options.d_ref

        def logit_p(dose: Any) -> Any:
            return log_alpha + beta * pt.log(dose / d_ref)

        # log(1 - p) = -softplus(logit p): stable for p near 0 and 1
        log_no_dlt = pt.sum(-w * pt.softplus(logit_p(d)), axis=1)
        p_cohort = pm.Deterministic("p_cohort", -pt.expm1(log_no_dlt), dims="cohort")
        pm.Binomial("y", n=n, p=p_cohort, observed=y, dims="cohort")
        pm.Deterministic("p_dose", pm.math.invlogit(logit_p(grid)), dims="dose")
        mtd = d_ref * pt.exp((pt.log(targets / (1 - targets)) - log_alpha) / beta)
        pm.Deterministic("mtd", mtd, dims="target")

    # -- results ----------------------------------------------------------------------
    def gate_vars(self) -> list[str]:
        """The gate checks the parameters and cohort risks (the MTD's tail is heavy)."""
        return ["theta", "p_cohort", "p_dose"]

    def summarise(self, idata: az.InferenceData, settings: SummarySettings) -> pd.DataFrame:
        """Long table: DLT risk per cohort and per studied dose, and the MTD per target.

        Columns: ``quantity, element`` then the :func:`summarise_draws` statistics, the
        interval probabilities (under/target/over-dosing) and MTD quantiles where they apply.
        """
        post = idata.posterior
        studied = [float(x) for x in self.options.studied_doses]
        parts = [
            risk_summary(post["p_cohort"], "cohort", self.options.cuts, settings),
            risk_summary(post["p_dose"].sel(dose=studied), "dose", self.options.cuts, settings),
        ]
        mtd = post["mtd"]
        df = summarise_draws(mtd, ci_prob=settings.ci_prob, hdi_prob=settings.hdi_prob)
        for q in (0.05, 0.25, 0.75, 0.95):
            df[f"q{int(q * 100):02d}"] = np.quantile(mtd.values, q, axis=(0, 1))
        for d in self.options.reference_doses:
            df[f"P(MTD>={d:g})"] = (mtd.values >= d).mean(axis=(0, 1))
        # the MTD's right tail is extremely heavy (beta near 0): its mean, SD, MCSE and HDI
        # are not informative; report quantiles only
        df[["mean", "sd", "hdi_low", "hdi_high", "mcse_mean"]] = np.nan
        df.insert(0, "quantity", "mtd")
        parts.append(df.rename(columns={"target": "element"}))
        out = pd.concat(parts, ignore_index=True)
        out["element"] = out["element"].map(lambda e: f"{e:g}" if isinstance(e, float) else e)
        return out

    # -- exact engine (independent check and fast sensitivity analyses) ----------------
    def grid_posterior(
        self,
        dlts: np.ndarray | None = None,
        patients: np.ndarray | None = None,
        treatment: str | None = None,
    ) -> BLRMGridPosterior:
        """Exact grid posterior for the current prior, batched over rows of ``dlts``."""
        prior = self.prior.theta  # type: ignore[attr-defined]
        doses, weights = self.regimen_arrays(treatment)
        n = self.data["patients"].to_numpy() if patients is None else patients
        y = self.data["dlts"].to_numpy() if dlts is None else dlts
        return blrm_grid_posterior(
            doses, weights, n, y, d_ref=self.options.d_ref,
            mean=prior.mean, sd=prior.sd, corr=prior.corr,
        )

    def exact_table(self, settings: SummarySettings) -> pd.DataFrame:
        """Grid-posterior means and P(p > cut) per cohort and studied dose; MTD quantiles."""
        post = self.grid_posterior()
        hi = self.options.cuts[1]
        doses, weights = self.regimen_arrays()
        studied = np.asarray(self.options.studied_doses, dtype=float)
        lo_q, hi_q = (1 - settings.ci_prob) / 2, 1 - (1 - settings.ci_prob) / 2
        rows = []
        cohort_mean = post.p_mean(doses, weights)[0]
        cohort_over = post.prob_exceeds(doses, hi, weights)[0]
        for label, m, o in zip(self.data["label"], cohort_mean, cohort_over, strict=True):
            rows.append({"quantity": "p_cohort", "element": label, "mean": m, f"P(p>{hi:g})": o})
        q = post.p_quantiles(studied, (lo_q, 0.5, hi_q))[0]
        for d, m, o, qq in zip(
            studied, post.p_mean(studied)[0], post.prob_exceeds(studied, hi)[0], q, strict=True
        ):
            rows.append({"quantity": "p_dose", "element": f"{d:g}", "mean": m,
                         "median": qq[1], "eti_low": qq[0], "eti_high": qq[2],
                         f"P(p>{hi:g})": o})
        for t in self.options.targets:
            qq = post.mtd_quantiles(t, (lo_q, 0.5, hi_q))[0]
            row = {"quantity": "mtd", "element": f"{t:g}", "mean": np.nan,
                   "median": qq[1], "eti_low": qq[0], "eti_high": qq[2]}
            for d in self.options.reference_doses:
                row[f"P(MTD>={d:g})"] = float(np.ravel(post.mtd_prob_ge(t, d))[0])
            rows.append(row)
        return pd.DataFrame(rows)

    def extra_tables(
        self, idata: az.InferenceData | None = None, spec: AnalysisSpec | None = None
    ) -> dict[str, pd.DataFrame]:
        """Tables of the exact engine (fast, no MCMC): the posterior curve and sensitivity.

        Always the posterior DLT curve over the dose grid; then the tables named in
        ``options.sensitivity``:

        * ``"treatments"``: the three treatments of stepwise regimens (period exposure,
          first-period dose, maintenance dose);
        * ``"fifth_dlt"``: the Discussion's fifth DLT, one more DLT in each cohort in turn,
          either in one more patient or in a patient already counted without a DLT.

        ``idata`` and ``spec`` are not used (the tables depend on the data, prior and
        options only); they keep the signature of a component.
        """
        out = {CURVE_TITLE: self.curve_table()}
        if "treatments" in self.options.sensitivity:
            out[TREATMENTS_TITLE] = self.treatments_table()
        if "fifth_dlt" in self.options.sensitivity:
            out[FIFTH_DLT_TITLE] = self.fifth_dlt_table()
        return out

    def curve_table(self) -> pd.DataFrame:
        """Posterior quantiles and interval probabilities of P(DLT) over the dose grid."""
        post = self.grid_posterior()
        grid = np.asarray(self.options.dose_grid, dtype=float)
        q = post.p_quantiles(grid, (0.025, 0.25, 0.5, 0.75, 0.975))[0]
        over = post.interval_probs(grid, self.options.cuts)[0]
        return pd.DataFrame(
            {"dose": grid, "p_q025": q[:, 0], "p_q25": q[:, 1], "p_median": q[:, 2],
             "p_q75": q[:, 3], "p_q975": q[:, 4], "P(under)": over[:, 0],
             "P(target)": over[:, 1], "P(over)": over[:, 2]}
        )

    def treatments_table(self) -> pd.DataFrame:
        """Each cohort's P(DLT), the first target's MTD median and P(p(d) > cut) per treatment.

        ``d`` runs over ``options.reference_doses``.
        """
        hi = self.options.cuts[1]
        t0 = self.options.targets[0]
        ref = np.asarray(self.options.reference_doses, dtype=float)
        rows = []
        for treatment in TREATMENTS:
            post = self.grid_posterior(treatment=treatment)
            doses, weights = self.regimen_arrays(treatment)
            row: dict[str, Any] = {"treatment": treatment}
            for label, m in zip(self.data["label"], post.p_mean(doses, weights)[0], strict=True):
                row[f"P(DLT) {label}"] = m
            row[f"MTD({t0:g}) median"] = post.mtd_quantiles(t0, (0.5,))[0, 0]
            if ref.size:
                for d, o in zip(ref, post.prob_exceeds(ref, hi)[0], strict=True):
                    row[f"P(p({d:g})>{hi:g})"] = o
            rows.append(row)
        return pd.DataFrame(rows)

    def fifth_dlt_table(self) -> pd.DataFrame:
        """One more DLT in each cohort in turn, as a batch of data sets on the exact engine.

        The first row is the data as given (labelled "as published" only for the packaged
        trial cohorts); then one more patient with a DLT in each cohort, then one DLT more
        among a cohort's patients (where a patient without a DLT is left).
        """
        hi = self.options.cuts[1]
        t0 = self.options.targets[0]
        studied = np.asarray(self.options.studied_doses, dtype=float)
        n0 = self.data["patients"].to_numpy()
        y0 = self.data["dlts"].to_numpy()
        eye = np.eye(len(n0), dtype=n0.dtype)
        room = y0 < n0
        base = "as published" if is_published_data(self.data) else "as given"
        labels = [base, *[f"+1 DLT, +1 patient at {lab}" for lab in self.data["label"]],
                  *[f"+1 DLT, same patients at {lab}" for lab in self.data["label"][room]]]
        patients = np.vstack([n0, n0 + eye, np.tile(n0, (int(room.sum()), 1))])
        dlts = np.vstack([y0, y0 + eye, y0 + eye[room]])
        post = self.grid_posterior(dlts=dlts, patients=patients)
        mtd = post.mtd_quantiles(t0, (0.05, 0.5, 0.95))
        fifth = pd.DataFrame({"scenario": labels})
        fifth[f"MTD({t0:g}) median"] = mtd[:, 1]
        fifth[f"MTD({t0:g}) 90% interval"] = [f"{a:.1f}–{b:.1f}" for a, b in mtd[:, [0, 2]]]
        for d in self.options.reference_doses:
            fifth[f"P(MTD({t0:g})>={d:g})"] = np.ravel(post.mtd_prob_ge(t0, d))
        if studied.size:
            over = post.prob_exceeds(studied, hi)
            for j, d in enumerate(studied):
                fifth[f"P(p({d:g})>{hi:g})"] = over[:, j]
        fifth["EWOC dose"] = post.ewoc(
            np.asarray(self.options.dose_grid), self.options.max_overdose_prob, self.options.cuts
        )
        return fifth

    def recommendation(self, idata: az.InferenceData) -> dict[str, Any]:
        """EWOC: the highest grid dose with P(overdosing) below the limit.

        Beside it ``P(p(d)>cut)`` for each of ``options.reference_doses`` (on the grid), the
        key built from the dose and the over-dosing cut (``P(p(15)>0.33)``).
        """
        p = idata.posterior["p_dose"]
        hi = self.options.cuts[1]
        over = (p > hi).mean(dim=("chain", "draw"))
        ok = over.values < self.options.max_overdose_prob
        doses = p.coords["dose"].values
        out: dict[str, Any] = {
            "ewoc_dose": float(doses[ok].max()) if ok.any() else None,
            "max_overdose_prob": self.options.max_overdose_prob,
        }
        for d in self.options.reference_doses:
            out[f"P(p({d:g})>{hi:g})"] = float((p.sel(dose=float(d)) > hi).mean())
        return out

    def prior_curve(self, idata: az.InferenceData) -> np.ndarray:
        """Prior 2.5%, 50%, 97.5% quantiles of P(DLT) over the dose grid (prior predictive).

        Read from the fit's own hyperparameters (``constant_data``) and computed exactly by
        the grid engine with no data, so the figure shows what the prior alone implies.
        """
        c = idata.constant_data
        one = np.ones((1, 1))
        prior = blrm_grid_posterior(
            one, one, np.zeros((1, 1)), np.zeros((1, 1)), d_ref=self.options.d_ref,
            mean=c["theta__mean"].values, sd=c["theta__sd"].values,
            corr=float(c["theta__corr"].values),
        )
        return prior.p_quantiles(np.asarray(self.options.dose_grid), (0.025, 0.5, 0.975))[0]

    def plot(self, results: dict[str, az.InferenceData]) -> Figure:
        """Posterior DLT curve with 50%/95% bands, the prior's implied curve and the cohorts."""
        priors = {name: self.prior_curve(idata) for name, idata in results.items()}
        return plot_dose_toxicity(results, self.data, self.options, priors)
