r"""Parametric survival models with right censoring (Weibull and alternatives).

Weibull in the lifelines convention, :math:`S(t) = \exp\{-(t/\lambda)^\rho\}`
(``lambda_`` scale, ``rho_`` shape; PyMC's ``Weibull(alpha=rho, beta=lambda)``).
Alternatives: exponential (:math:`\rho = 1`), log-normal
(:math:`\log T \sim N(\mu, \sigma)`), log-logistic
(:math:`S(t) = 1 / \{1 + (t/\alpha)^\beta\}`), and a mixture-cure Weibull
(:math:`S(t) = \pi + (1 - \pi) S_W(t)`, a fraction :math:`\pi` never has the event).

A censored time enters through :math:`S(t)`, an event through the density; the
pointwise log-likelihood is stored so that LOO works. With a binary covariate
:math:`x` (e.g. complete MRD response) the Weibull has two forms:

* AFT: :math:`\log\lambda_i = \beta_0 + \beta_1 x_i`; acceleration factor
  :math:`e^{\beta_1}`, hazard ratio :math:`e^{-\rho\beta_1}`;
* PH: :math:`h_i(t) = h_0(t) e^{\gamma x_i}`, i.e. :math:`\log\lambda_i = \beta_0 - \gamma
  x_i / \rho`; hazard ratio :math:`e^{\gamma}`, acceleration factor :math:`e^{-\gamma/\rho}`.

The data may hold several plausible reconstructions of the patient data (column
``reconstruction``): the model is built once, refitted on each reconstruction (same
shapes, new data) and the posteriors are pooled, which propagates the reconstruction
uncertainty (Bayesian multiple imputation). Each reconstruction's fit is gated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bayesblina.core.model import BayesModel, PriorSetBase
from bayesblina.core.pool import fit_pooled, gate_pooled, pooled_mcse_ess
from bayesblina.core.priors import Prior
from bayesblina.core.spec import SamplerSettings
from bayesblina.core.summaries import summarise_draws
from bayesblina.data.tables import Col, frame_from_rows
from bayesblina.errors import DataError, SpecError
from bayesblina.reconstruct.km import km_at
from bayesblina.reconstruct.pseudo_ipd import reconstruct

if TYPE_CHECKING:
    from bayesblina.core.gate import GateResult
    from bayesblina.core.spec import GateThresholds, SummarySettings

FAMILIES = ("weibull", "exponential", "lognormal", "loglogistic", "cure_weibull")
#: the time units a survival spec may declare (``[options] time_unit``)
TIME_UNITS = ("days", "weeks", "months", "years")
#: parameters each family needs a prior for (besides covariate effects)
FAMILY_PARAMS: dict[str, tuple[str, ...]] = {
    "weibull": ("log_scale", "shape"),
    "exponential": ("log_scale",),
    "lognormal": ("log_scale", "shape"),  # mu = log_scale, sigma = 1 / shape
    "loglogistic": ("log_scale", "shape"),
    "cure_weibull": ("log_scale", "shape", "cure_logit"),
}


#: the keys of one inline patient: ``{ time = 3.5, event = 1, group = 0 }`` (``event``: 1
#: for the event, 0 for censored; ``group``: the binary covariate, 0 when left out)
ROW_COLUMNS = (Col("time", "positive"), Col("event", "binary"), Col("group", "binary", False))


def inline_patients(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A spec's inline rows as a typed frame (``time``, ``event``, ``group``), checked.

    A row without ``group`` is in group 0.

    Raises
    ------
    DataError
        Naming the row (``rows.3``), the column, the value and what is allowed.
    """
    df = frame_from_rows(rows, ROW_COLUMNS, what="rows")
    df["group"] = df["group"].fillna(0)
    return df


class SurvivalData(BaseModel):
    """``[data]``: pseudo patient data reconstructed from the published summaries, or inline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: Literal["os", "rfs", "rfs_mrd"] | None = None
    reconstructions: Annotated[int, Field(ge=1, le=500)] = 10
    seed: Annotated[int, Field(ge=0)] = 20161003
    #: one patient per row: ``{ time = 3.5, event = 1 }`` (:func:`inline_patients`)
    rows: list[dict[str, Any]] | None = None

    @field_validator("rows")
    @classmethod
    def _typed_rows(cls, rows: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if rows is not None:
            inline_patients(rows)  # a DataError is a ValueError: 'data.rows' names it
        return rows

    @model_validator(mode="after")
    def _one_source(self) -> SurvivalData:
        if (self.endpoint is None) == (self.rows is None):
            raise ValueError("give exactly one of 'endpoint' (reconstructed) or 'rows' (inline)")
        return self


class SurvivalOptions(BaseModel):
    """``[options]``: distribution family, covariate form and reported times."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the unit of every time (data, ``times``, ``rmst_horizon``, ``curve_max``, medians);
    #: required, so that no unit is assumed
    time_unit: Literal["days", "weeks", "months", "years"] | None = Field(
        default=None, validate_default=True
    )
    family: Literal["weibull", "exponential", "lognormal", "loglogistic", "cure_weibull"] = (
        "weibull"
    )
    covariate: bool = False
    form: Literal["aft", "ph"] = "aft"
    #: what the binary covariate means (figure and table labels)
    group_label: str = "group"
    times: list[Annotated[float, Field(gt=0)]] = Field(default_factory=lambda: [6.0, 12.0, 24.0])
    #: where the ``log_scale`` prior sits: on log(lambda), or on the log rate
    #: log(mu) = -rho log(lambda) of BUGS' dweib (S = exp(-mu t^rho)); a vague prior on the
    #: log rate with a flat prior on rho is the classic vague Weibull prior of BUGS/JAGS
    scale_prior: Literal["log_lambda", "log_rate"] = "log_lambda"
    rmst_horizon: Annotated[float, Field(gt=0)] = 24.0
    curve_max: Annotated[float, Field(gt=0)] = 36.0
    #: alternative families fitted on the first reconstruction and compared by LOO
    compare: list[
        Literal["weibull", "exponential", "lognormal", "loglogistic", "cure_weibull"]
    ] = Field(default_factory=list)
    #: posterior predictive check against the KM: number of simulated data sets
    ppc_draws: Annotated[int, Field(ge=0, le=2000)] = 200

    @field_validator("time_unit", mode="after")
    @classmethod
    def _unit_given(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError(
                f"a survival spec must declare its time unit; allowed: {list(TIME_UNITS)}"
            )
        return value

    @model_validator(mode="after")
    def _form(self) -> SurvivalOptions:
        if self.scale_prior == "log_rate" and self.family not in (
            "weibull", "exponential", "cure_weibull"
        ):
            raise ValueError(f"scale_prior 'log_rate' needs a Weibull family, not {self.family!r}")
        if self.covariate and self.form == "ph" and self.family not in ("weibull", "exponential"):
            raise ValueError(
                f"the PH form needs a Weibull or exponential family, not {self.family!r}"
            )
        return self


class SurvivalPriors(PriorSetBase):
    """Priors on log(scale), the shape, the cure logit and the covariate effect (as needed).

    ``log_scale`` is log(lambda) (Weibull), mu (log-normal) or log(alpha) (log-logistic);
    ``shape`` is rho (Weibull), 1/sigma (log-normal) or beta (log-logistic).
    """

    log_scale: Prior
    shape: Prior | None = None
    cure_logit: Prior | None = None
    effect: Prior | None = None
    allowed_families: ClassVar[dict[str, tuple[str, ...]]] = {
        "log_scale": ("normal", "student_t"),
        "shape": ("half_normal", "lognormal", "exponential", "uniform", "half_cauchy"),
        "cure_logit": ("normal", "student_t"),
        "effect": ("normal", "student_t"),
    }

    def parameter_priors(self) -> dict[str, Any]:
        """Priors that are set (the family decides which are needed)."""
        return {k: v for k, v in super().parameter_priors().items() if v is not None}


def _log_surv_dens(family: str, t: Any, p: dict[str, Any]) -> tuple[Any, Any]:
    """Log S(t) and log f(t) of each family, elementwise (pytensor)."""
    logt = pt.log(t)
    if family in ("weibull", "exponential", "cure_weibull"):
        lam, rho = pt.exp(p["log_lambda"]), p["rho"]
        z = rho * (logt - pt.log(lam))  # log (t/lambda)^rho
        log_s = -pt.exp(z)
        log_f = pt.log(rho) - logt + z + log_s
        if family == "cure_weibull":
            pi = p["cure"]
            s = pi + (1 - pi) * pt.exp(log_s)
            return pt.log(s), pt.log1p(-pi) + log_f
        return log_s, log_f
    if family == "lognormal":
        mu, sigma = p["log_lambda"], p["rho"]  # rho holds sigma here
        z = (logt - mu) / sigma
        log_s = pm.math.logdiffexp(0.0, pm.logcdf(pm.Normal.dist(0, 1), z))
        log_f = pm.logp(pm.Normal.dist(0, 1), z) - pt.log(sigma) - logt
        return log_s, log_f
    if family == "loglogistic":
        alpha, beta = pt.exp(p["log_lambda"]), p["rho"]
        z = beta * (logt - pt.log(alpha))
        log_s = -pt.softplus(z)
        log_f = pt.log(beta) - logt + z - 2 * pt.softplus(z)
        return log_s, log_f
    raise DataError(f"unknown survival family {family!r}; allowed: {list(FAMILIES)}")


class SurvivalModel(BayesModel):
    """Parametric survival, right censored, optional binary covariate, pooled reconstructions."""

    name: ClassVar[str] = "survival"
    DataSpec: ClassVar[type[BaseModel]] = SurvivalData
    PriorSetSpec: ClassVar[type[PriorSetBase]] = SurvivalPriors
    OptionsSpec: ClassVar[type[BaseModel]] = SurvivalOptions

    def __init__(self, data: pd.DataFrame, prior: Any, options: Any = None) -> None:
        super().__init__(data, prior, options)
        #: the model's random variables by parameter name (filled when the graph is built)
        self._rv: dict[str, Any] = {}

    def _unbuilt_state(self) -> dict[str, Any]:
        return {**super()._unbuilt_state(), "_rv": {}}

    @classmethod
    def check_prior_set(cls, prior: PriorSetBase, options: BaseModel, data: pd.DataFrame) -> None:
        """The prior set names exactly the parameters the family (and covariate) need.

        Raises
        ------
        SpecError
            Naming the family, the parameters it needs and those given.
        """
        assert isinstance(options, SurvivalOptions)
        needed = set(FAMILY_PARAMS[options.family]) | ({"effect"} if options.covariate else set())
        given = set(prior.parameter_priors())
        if needed - given or given - needed:
            raise SpecError(
                f"survival family {options.family!r}"
                f"{' with a covariate' if options.covariate else ''} needs priors for "
                f"{sorted(needed)} (got {sorted(given)})"
            )

    # -- data -------------------------------------------------------------------------
    @classmethod
    def load_data(cls, data_spec: Any) -> pd.DataFrame:
        """Pseudo patient data: ``reconstruction, time, event, group`` (published: months)."""
        if data_spec.rows is not None:
            df = inline_patients(data_spec.rows).astype(
                {"time": float, "event": "int64", "group": "int64"}
            )
            df.insert(0, "reconstruction", 0)
            return df

        draws = reconstruct(data_spec.endpoint, data_spec.reconstructions, data_spec.seed)
        parts = []
        for r, df in enumerate(draws):
            df = df.copy()
            df["group"] = df["complete_mrd"].astype(int) if "complete_mrd" in df else 0
            parts.append(df[["time", "event", "group"]].assign(reconstruction=r))
        out = pd.concat(parts, ignore_index=True)
        return out[["reconstruction", "time", "event", "group"]]

    @classmethod
    def validate_data(cls, data: pd.DataFrame) -> pd.DataFrame:
        """Times > 0, events 0/1, groups 0/1, equal patients per reconstruction."""
        data = data.copy()
        if "reconstruction" not in data:
            data.insert(0, "reconstruction", 0)
        if "group" not in data:
            data["group"] = 0
        missing = {"time", "event"} - set(data.columns)
        if missing:
            raise DataError(f"survival data: missing column(s) {sorted(missing)}")
        if data.empty:
            raise DataError("survival data: no patients")
        bad = ~np.isfinite(data["time"].to_numpy(dtype=float)) | (data["time"] <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"survival data row {i}: time must be a positive number (got {data['time'].iat[i]})"
            )
        for col in ("event", "group"):
            ok = data[col].isin([0, 1])
            if not ok.all():
                i = int(np.flatnonzero(~ok.to_numpy())[0])
                raise DataError(
                    f"survival data row {i}: {col} must be 0 or 1 (got {data[col].iat[i]})"
                )
        sizes = data.groupby("reconstruction").size()
        if sizes.nunique() != 1:
            raise DataError(f"survival data: reconstructions differ in size ({dict(sizes)})")
        data["event"] = data["event"].astype("int64")
        data["group"] = data["group"].astype("int64")
        data["time"] = data["time"].astype(float)
        return data

    def reconstructions(self) -> list[int]:
        """Reconstruction indices in the data."""
        return sorted(int(r) for r in self.data["reconstruction"].unique())

    def datasets(self) -> dict[int, pd.DataFrame]:
        """Each reconstruction's rows, by reconstruction index (in order)."""
        return {r: self.data[self.data["reconstruction"] == r] for r in self.reconstructions()}

    def _rows(self) -> pd.DataFrame:
        """The rows one sampler run sees: the first reconstruction in the data."""
        return self.data[self.data["reconstruction"] == self.reconstructions()[0]]

    # -- graph ------------------------------------------------------------------------
    def coords(self) -> dict[str, list[Any]]:
        """Patients, report times, the curve grid and (with a covariate) groups."""
        o = self.options
        coords: dict[str, list[Any]] = {
            "patient": list(range(len(self._rows()))),
            "time": [float(t) for t in o.times],
            "curve_time": [float(t) for t in np.linspace(0.0, o.curve_max, 73)[1:]],
        }
        if o.covariate:
            coords["group"] = [0, 1]
        return coords

    def data_values(self) -> dict[str, np.ndarray]:
        """Times, events and groups of the first reconstruction in the data."""
        rows = self._rows()
        return {
            "t": rows["time"].to_numpy(dtype=float),
            "event": rows["event"].to_numpy(dtype="int64"),
            "group": rows["group"].to_numpy(dtype="int64"),
        }

    def _params(self, group: Any) -> dict[str, Any]:
        """Family parameters, vectorised over ``group`` (0/1 values or a tensor)."""
        o = self.options
        log_scale = self._rv["log_scale"]
        shape = self._rv["shape"] if "shape" in self._rv else pt.as_tensor(1.0)
        if o.family == "lognormal":
            shape = 1 / shape  # sigma
        log_lambda = log_scale if o.scale_prior == "log_lambda" else -log_scale / shape
        if o.covariate:
            effect = self._rv["effect"]
            log_lambda = log_lambda + (effect if o.form == "aft" else -effect / shape) * group
        p = {"log_lambda": log_lambda, "rho": shape}
        if o.family == "cure_weibull":
            p["cure"] = pm.math.invlogit(self._rv["cure_logit"])
        return p

    def _define(self) -> None:
        o = self.options
        v = self.data_values()
        t = pm.Data("t", v["t"], dims="patient")
        event = pm.Data("event", v["event"], dims="patient")
        group = pm.Data("group", v["group"], dims="patient")
        self._rv = {name: self.prior_rv(name) for name in self.prior.parameter_priors()}
        family = o.family
        p = self._params(group)
        cure = p.get("cure", pt.as_tensor(0.0))

        # CustomDist's logp may only use its inputs: the parameters are passed in
        def logp(value: Any, log_lambda: Any, rho: Any, cure: Any, event: Any) -> Any:
            params = {"log_lambda": log_lambda, "rho": rho, "cure": cure}
            log_s, log_f = _log_surv_dens(family, value, params)
            return pt.switch(pt.eq(event, 1), log_f, log_s)

        pm.CustomDist(
            "y", p["log_lambda"], p["rho"], cure, event, logp=logp, observed=t, dims="patient"
        )
        self._derived()

    def _derived(self) -> None:
        """Median, S(t) at the report times, RMST and the curve, per group."""
        o = self.options
        groups = [0, 1] if o.covariate else [0]
        curve_t = np.linspace(0.0, o.curve_max, 73)[1:]
        rmst_t = np.linspace(0.0, o.rmst_horizon, 241)
        med, s_at, rmst, curve = [], [], [], []
        for g in groups:
            p = self._params(pt.as_tensor(float(g)))
            log_s_curve, _ = _log_surv_dens(o.family, pt.as_tensor(curve_t), p)
            log_s_times, _ = _log_surv_dens(o.family, pt.as_tensor(np.asarray(o.times)), p)
            log_s_rmst, _ = _log_surv_dens(o.family, pt.as_tensor(rmst_t[1:]), p)
            s_rmst = pt.concatenate([pt.ones(1), pt.exp(log_s_rmst)])
            dt = rmst_t[1] - rmst_t[0]
            rmst.append(dt * (pt.sum(s_rmst) - 0.5 * (s_rmst[0] + s_rmst[-1])))
            curve.append(pt.exp(log_s_curve))
            s_at.append(pt.exp(log_s_times))
            med.append(self._median(p))
        if o.covariate:
            pm.Deterministic("median", pt.stack(med), dims="group")
            pm.Deterministic("surv", pt.stack(s_at), dims=("group", "time"))
            pm.Deterministic("rmst", pt.stack(rmst), dims="group")
            pm.Deterministic("curve", pt.stack(curve), dims=("group", "curve_time"))
            effect = self._rv["effect"]
            shape = self._rv["shape"] if "shape" in self._rv else pt.as_tensor(1.0)
            if o.form == "aft":
                pm.Deterministic("acceleration_factor", pt.exp(effect))
                pm.Deterministic("hazard_ratio", pt.exp(-shape * effect))
            else:
                pm.Deterministic("hazard_ratio", pt.exp(effect))
                pm.Deterministic("acceleration_factor", pt.exp(-effect / shape))
        else:
            pm.Deterministic("median", med[0])
            pm.Deterministic("surv", s_at[0], dims="time")
            pm.Deterministic("rmst", rmst[0])
            pm.Deterministic("curve", curve[0], dims="curve_time")
        if o.family in ("weibull", "exponential", "cure_weibull"):
            # the baseline (group 0) scale, whichever scale the prior was placed on
            pm.Deterministic("lambda_", pt.exp(self._params(pt.as_tensor(0.0))["log_lambda"]))
        if o.family in ("weibull", "cure_weibull"):
            pm.Deterministic("rho_", self._rv["shape"])
        if o.family == "cure_weibull":
            pm.Deterministic("cure_fraction", pm.math.invlogit(self._rv["cure_logit"]))

    def _median(self, p: dict[str, Any]) -> Any:
        """Median survival time (infinite for a cure fraction of 50% or more)."""
        f = self.options.family
        if f in ("weibull", "exponential"):
            return pt.exp(p["log_lambda"]) * pt.log(2.0) ** (1 / p["rho"])
        if f == "lognormal":
            return pt.exp(p["log_lambda"])
        if f == "loglogistic":
            return pt.exp(p["log_lambda"])
        # cure: S(m) = 1/2  <=>  S_W(m) = (1/2 - pi) / (1 - pi)
        pi = p["cure"]
        target = pt.maximum((0.5 - pi) / (1 - pi), 1e-12)
        m = pt.exp(p["log_lambda"]) * (-pt.log(target)) ** (1 / p["rho"])
        return pt.switch(pi >= 0.5, np.inf, m)

    # -- fitting over reconstructions -------------------------------------------------
    def fit(
        self, settings: SamplerSettings | None = None, *, provenance: dict[str, Any] | None = None
    ) -> az.InferenceData:
        """Fit every reconstruction on the one built model and pool the posteriors.

        :func:`bayesblina.core.pool.fit_pooled` over :meth:`datasets`: the chains of
        reconstruction ``r`` (the ``k``-th) get the coordinate ``reconstruction = r`` and
        the seed ``seed + k``; the log-likelihood is stored (for LOO) for the first
        reconstruction only (patients differ between reconstructions).
        """
        return fit_pooled(self, self.datasets(), settings or SamplerSettings(),
                          provenance=provenance, dim="reconstruction")

    def gate(self, idata: az.InferenceData, thresholds: GateThresholds) -> GateResult:
        """Gate each reconstruction's chains separately; report the worst of each check."""
        return gate_pooled(idata, thresholds, var_names=self.gate_vars(), dim="reconstruction")

    def gate_vars(self) -> list[str]:
        """The free parameters (derived quantities are functions of them)."""
        return list(self.prior.parameter_priors())

    # -- results ----------------------------------------------------------------------
    def summarise(self, idata: az.InferenceData, settings: SummarySettings) -> pd.DataFrame:
        """Parameters, median, S(t) at the report times, RMST, AF/HR: one row per element."""
        post = idata.posterior
        names = ["median", "surv", "rmst", "lambda_", "rho_", "cure_fraction",
                 "acceleration_factor", "hazard_ratio"]
        parts = []
        for name in names:
            if name not in post:
                continue
            df = summarise_draws(post[name], ci_prob=settings.ci_prob, hdi_prob=settings.hdi_prob)
            df[["mcse_mean", "ess_bulk"]] = pooled_mcse_ess(post[name], dim="reconstruction")
            dims = [d for d in post[name].dims if d not in ("chain", "draw")]
            df["element"] = (
                df[dims].astype(str).agg(", ".join, axis=1) if dims else ""
            )
            df = df.drop(columns=dims)
            df.insert(0, "quantity", name)
            parts.append(df[["quantity", "element", *[c for c in df.columns
                                                     if c not in ("quantity", "element")]]])
        return pd.concat(parts, ignore_index=True)

    def ppc_km(self, idata: az.InferenceData, n_sims: int, seed: int) -> pd.DataFrame:
        """Posterior predictive check: simulated KM curves against the observed KM.

        For ``n_sims`` posterior draws, simulate an event time for every patient of the
        first reconstruction, censor it at the patient's own censoring time (censored
        patients) or at the end of follow-up (events), and take the KM (:func:`km_at`). The
        table gives, on a time grid, the observed KM and the 2.5%, 50%, 97.5% quantiles of
        the simulated KMs, and whether the observed KM lies inside the 95% band; with a
        covariate, one block of rows per group (column ``group``).
        """
        rng = np.random.default_rng(seed)
        rows = self.data[self.data["reconstruction"] == self.reconstructions()[0]]
        t_obs, ev = rows["time"].to_numpy(), rows["event"].to_numpy()
        grp = rows["group"].to_numpy()
        cens = np.where(ev == 1, t_obs.max(), t_obs)
        post = idata.posterior.stack(sample=("chain", "draw"))
        idx = rng.choice(post.sizes["sample"], size=n_sims, replace=False)
        grid = np.linspace(0, min(self.options.curve_max, t_obs.max()), 25)
        groups = [0, 1] if self.options.covariate else [0]
        sims = np.empty((len(groups), n_sims, grid.size))
        for k, i in enumerate(idx):
            draw = {v: float(post[v].isel(sample=i)) for v in self.prior.parameter_priors()}
            t_new = self._simulate(draw, grp, rng)
            obs_t, obs_e = np.minimum(t_new, cens), (t_new <= cens).astype(int)
            for j, g in enumerate(groups):
                m = grp == g
                sims[j, k] = km_at(obs_t[m], obs_e[m], grid)
        parts = []
        for j, g in enumerate(groups):
            m = grp == g
            observed = km_at(t_obs[m], ev[m], grid)
            q = np.quantile(sims[j], [0.025, 0.5, 0.975], axis=0)
            inside = (observed >= q[0] - 1e-12) & (observed <= q[2] + 1e-12)
            parts.append(pd.DataFrame({
                "group": g, "time": grid, "observed_km": observed, "sim_q025": q[0],
                "sim_median": q[1], "sim_q975": q[2], "inside_95": inside}))
        out = pd.concat(parts, ignore_index=True)
        return out if self.options.covariate else out.drop(columns="group")

    def _simulate(self, draw: dict[str, float], group: np.ndarray, rng: Any) -> np.ndarray:
        """Event times for patients with covariate ``group`` under one posterior draw."""
        o = self.options
        shape = draw.get("shape", 1.0)
        log0 = draw["log_scale"] if o.scale_prior == "log_lambda" else -draw["log_scale"] / shape
        if o.family == "lognormal":
            shape = 1 / shape  # the sampled "shape" is 1/sigma
        log_lambda = np.full(group.shape, log0)
        if o.covariate:
            eff = draw["effect"]
            log_lambda = log_lambda + (eff if o.form == "aft" else -eff / shape) * group
        u = rng.uniform(size=group.shape)
        if o.family in ("weibull", "exponential", "cure_weibull"):
            t = np.exp(log_lambda) * (-np.log(u)) ** (1 / shape)
            if o.family == "cure_weibull":
                pi = 1 / (1 + np.exp(-draw["cure_logit"]))
                t = np.where(rng.uniform(size=group.shape) < pi, np.inf, t)
            return t
        if o.family == "lognormal":
            return np.exp(log_lambda + rng.normal(size=group.shape) * shape)
        return np.exp(log_lambda) * (u / (1 - u)) ** (1 / shape)  # log-logistic

    def loo(self, idata: az.InferenceData) -> Any:
        """PSIS-LOO on the first reconstruction (the one with a stored log-likelihood)."""
        recon = idata.posterior.coords["reconstruction"].values
        first = idata.posterior.chain.values[recon == recon.min()]
        return az.loo(idata.sel(chain=first), pointwise=True)
