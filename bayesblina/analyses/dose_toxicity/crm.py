r"""One-parameter continual reassessment method (CRM) with a skeleton.

O'Quigley, Pepe & Fisher (1990); Cheung (2011). Dose levels :math:`k = 1..K` with
skeleton :math:`s_1 < \dots < s_K` and :math:`\beta \sim N(\mu, \sigma^2)` (usually
:math:`\mu = 0`):

* empiric (power): :math:`p_k = s_k^{\exp\beta}`;
* logistic: :math:`p_k = \operatorname{logit}^{-1}(a_0 + e^{\beta} x_k)` with
  :math:`x_k = \operatorname{logit}(s_k) - a_0`, so that :math:`\beta = 0` gives the skeleton.

Stepwise regimens combine levels exactly as in the BLRM
(:mod:`bayesblina.analyses.dose_toxicity.common`).
The recommended level is the one whose plug-in estimate (at the posterior mean of
:math:`\beta`) is closest to the target (Cheung's convention); the level with the
posterior mean closest to the target is reported beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pydantic import BaseModel, Field, model_validator

from bayesblina.analyses.dose_toxicity.common import (
    DoseToxModel,
    DoseToxOptions,
    PositiveFloat,
    Probability,
    risk_summary,
)
from bayesblina.analyses.dose_toxicity.crm_grid import CRMGridPosterior, crm_grid_posterior
from bayesblina.analyses.dose_toxicity.plots import plot_crm_levels
from bayesblina.analyses.dose_toxicity.regimens import regimen_weights
from bayesblina.core.model import PriorSetBase
from bayesblina.core.priors import Prior
from bayesblina.core.summaries import summarise_draws
from bayesblina.errors import DataError

if TYPE_CHECKING:
    import arviz as az
    from matplotlib.figure import Figure

    from bayesblina.core.spec import SummarySettings


class CRMOptions(DoseToxOptions):
    """``[options]`` of the CRM: dose levels, skeleton, working model, target."""

    #: the dose of each level (a cohort's period doses must be among them)
    dose_levels: Annotated[list[PositiveFloat], Field(min_length=1)]
    skeleton: Annotated[list[Probability], Field(min_length=1)]
    working_model: Literal["empiric", "logistic"] = "empiric"
    a0: float = 3.0
    target: Probability = 0.25

    @model_validator(mode="after")
    def _skeleton(self) -> CRMOptions:
        if len(self.skeleton) != len(self.dose_levels):
            raise ValueError(
                f"skeleton has {len(self.skeleton)} values for {len(self.dose_levels)} dose levels"
            )
        if any(b <= a for a, b in zip(self.skeleton, self.skeleton[1:], strict=False)):
            raise ValueError(f"skeleton must be strictly increasing (got {self.skeleton})")
        if any(b <= a for a, b in zip(self.dose_levels, self.dose_levels[1:], strict=False)):
            raise ValueError(f"dose_levels must be strictly increasing (got {self.dose_levels})")
        return self


class CRMPriors(PriorSetBase):
    """One prior set: a normal prior on the CRM parameter ``beta``."""

    beta: Prior
    allowed_families: ClassVar[dict[str, tuple[str, ...]]] = {"beta": ("normal",)}


class CRMModel(DoseToxModel):
    """One-parameter CRM (empiric or logistic working model)."""

    name: ClassVar[str] = "crm"
    PriorSetSpec: ClassVar[type[PriorSetBase]] = CRMPriors
    OptionsSpec: ClassVar[type[BaseModel]] = CRMOptions

    def level_arrays(self, treatment: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """0-based levels and weights of every cohort's regimen, shape (cohort, period)."""
        levels = {d: k for k, d in enumerate(self.options.dose_levels)}
        regimens = []
        for label, periods in zip(self.data["label"], self.data["periods"], strict=True):
            try:
                regimens.append([(levels[float(d)], days) for d, days in periods])
            except KeyError as err:
                raise DataError(
                    f"cohort {label!r}: dose {err.args[0]} is not a CRM dose level; "
                    f"allowed: {self.options.dose_levels}"
                ) from None
        return regimen_weights(regimens, treatment or self.options.treatment, levels=True)

    def coords(self) -> dict[str, list[Any]]:
        """Cohorts, regimen periods and dose levels."""
        lv, _ = self.level_arrays()
        return {
            "cohort": list(self.data["label"]),
            "period": list(range(lv.shape[1])),
            "level": [f"{d:g}" for d in self.options.dose_levels],
        }

    def data_values(self) -> dict[str, np.ndarray]:
        """Regimen levels/weights, patients, DLTs and the skeleton."""
        lv, w = self.level_arrays()
        return {
            "period_level": lv.astype("int64"),
            "period_weight": w.astype(float),
            "patients": self.data["patients"].to_numpy(dtype="int64"),
            "dlts": self.data["dlts"].to_numpy(dtype="int64"),
            "skeleton": np.asarray(self.options.skeleton, dtype=float),
        }

    def _define(self) -> None:
        v = self.data_values()
        lv = pm.Data("period_level", v["period_level"], dims=("cohort", "period"))
        w = pm.Data("period_weight", v["period_weight"], dims=("cohort", "period"))
        n = pm.Data("patients", v["patients"], dims="cohort")
        y = pm.Data("dlts", v["dlts"], dims="cohort")
        skeleton = pm.Data("skeleton", v["skeleton"], dims="level")
        beta = self.prior_rv("beta")
        if self.options.working_model == "empiric":
            log_p = pt.exp(beta) * pt.log(skeleton)
            log_q = pt.log1p(-pt.exp(log_p))
        else:
            a0 = self.options.a0
            z = a0 + pt.exp(beta) * (pt.log(skeleton / (1 - skeleton)) - a0)
            log_p, log_q = -pt.softplus(-z), -pt.softplus(z)
        pm.Deterministic("p_level", pt.exp(log_p), dims="level")
        log_no_dlt = pt.sum(w * log_q[lv], axis=1)
        p_cohort = pm.Deterministic("p_cohort", -pt.expm1(log_no_dlt), dims="cohort")
        pm.Binomial("y", n=n, p=p_cohort, observed=y, dims="cohort")

    def summarise(self, idata: az.InferenceData, settings: SummarySettings) -> pd.DataFrame:
        """DLT risk per cohort and per level, with P(p > cut) and interval probabilities."""
        parts = [
            risk_summary(idata.posterior[var], dim, self.options.cuts, settings)
            for var, dim in (("p_cohort", "cohort"), ("p_level", "level"))
        ]
        beta = summarise_draws(idata.posterior["beta"], ci_prob=settings.ci_prob,
                               hdi_prob=settings.hdi_prob)
        beta.insert(0, "quantity", "beta")
        beta.insert(1, "element", "")
        parts.append(beta)
        return pd.concat(parts, ignore_index=True)

    def recommendation(self, idata: az.InferenceData) -> dict[str, Any]:
        """Recommended level: plug-in estimate closest to the target (and by posterior mean)."""
        beta_mean = float(idata.posterior["beta"].mean())
        s = np.asarray(self.options.skeleton)
        if self.options.working_model == "empiric":
            plugin = s ** np.exp(beta_mean)
        else:
            a0 = self.options.a0
            z = a0 + np.exp(beta_mean) * (np.log(s / (1 - s)) - a0)
            plugin = 1 / (1 + np.exp(-z))
        mean = idata.posterior["p_level"].mean(dim=("chain", "draw")).values
        t = self.options.target
        levels = self.options.dose_levels
        return {
            "beta_mean": beta_mean,
            "recommended_level_plugin": float(levels[int(np.argmin(np.abs(plugin - t)))]),
            "recommended_level_mean": float(levels[int(np.argmin(np.abs(mean - t)))]),
            "target": t,
        }

    def plot(self, results: dict[str, az.InferenceData]) -> Figure:
        """Posterior P(DLT) per level (median, 95% interval) per prior set, with the skeleton."""
        return plot_crm_levels(results, self.options)

    def grid_posterior(self) -> CRMGridPosterior:
        """Exact grid posterior of the CRM for the current data and prior (any normal prior)."""
        prior = self.prior.beta  # type: ignore[attr-defined]
        lv, w = self.level_arrays()
        return crm_grid_posterior(
            lv, w, self.data["patients"].to_numpy(), self.data["dlts"].to_numpy(),
            skeleton=self.options.skeleton, model=self.options.working_model,
            prior_sd=prior.sigma, prior_mean=prior.mu, a0=self.options.a0,
        )

    def exact_table(self, settings: SummarySettings) -> pd.DataFrame:
        """Grid-posterior means of beta, of each level's and each cohort's DLT risk.

        The grid is centred on the prior mean of ``beta`` (any normal prior: the only
        family a CRM prior set accepts), so the table is never empty.
        """
        post = self.grid_posterior()
        lv, w = self.level_arrays()
        rows = [{"quantity": "beta", "element": "", "mean": float(post.beta_mean()[0])}]
        for label, m in zip(self.data["label"], post.p_regimen_mean(lv, w)[0], strict=True):
            rows.append({"quantity": "p_cohort", "element": label, "mean": float(m)})
        for d, m in zip(self.options.dose_levels, post.p_mean()[0], strict=True):
            rows.append({"quantity": "p_level", "element": f"{d:g}", "mean": float(m)})
        return pd.DataFrame(rows)
