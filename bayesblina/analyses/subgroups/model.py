r"""CR rate by prespecified subgroup (Fig 2): partial, no or complete pooling.

One baseline factor at a time (e.g. age group), all 70 patients at 5/15 µg/m²/day. With
:math:`x_j` CRs among :math:`n_j` patients of level :math:`j` of the factor,

* **partial pooling** (the default; non-centred):

  .. math::

      \operatorname{logit} p_j = \mu + \tau z_j, \quad z_j \sim N(0, 1), \quad
      x_j \sim \mathrm{Binomial}(n_j, p_j),

  with priors on :math:`\mu` (normal or Student-t) and :math:`\tau` (half-normal,
  half-Cauchy, exponential or log-normal);
* **no pooling**: independent :math:`p_j \sim \mathrm{Beta}(a, b)` (prior on ``p``);
* **complete pooling**: one :math:`p \sim \mathrm{Beta}(a, b)` for every level (prior on
  ``p``), reported per level.

The differences the paper discusses (marrow blasts < 50% minus ≥ 50%; not refractory
minus refractory, the Discussion's 48% vs 30%; age < 2 minus 7–17 years) are
Deterministics ``difference`` (dim ``contrast``) when the factor has those levels.

The population-level CR rate is reported as ``p_population``: for partial pooling (and
EXNEX) :math:`E[\operatorname{expit}(\mu + \tau z)]`, :math:`z \sim N(0, 1)`, per draw by
quadrature (:func:`~bayesblina.analyses.subgroups.quadrature.population_rate`); for
complete pooling the one rate :math:`p` itself. No pooling has no population (the levels
share no parameter), so it reports none.

Independent checks (:meth:`SubgroupModel.exact_table`): the conjugate Beta posteriors
for no and complete pooling, and for partial pooling (and EXNEX,
:mod:`bayesblina.analyses.subgroups.exnex`) a numerical integration over :math:`(\mu, \tau)`
(:func:`~bayesblina.analyses.subgroups.quadrature.hierarchical_posterior`). The data
(loaders, ``[data]`` schema) are :mod:`bayesblina.analyses.subgroups.data`; options, prior
sets and their rules :mod:`bayesblina.analyses.subgroups.spec`.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, ClassVar

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from pydantic import BaseModel
from scipy import stats

from bayesblina.analyses.subgroups.data import (
    SubgroupData,
    contrast_label,
    factor_of,
    load_levels,
    plot_title,
    resolve_contrasts,
    validate_levels,
)
from bayesblina.analyses.subgroups.quadrature import (
    HierarchicalPosterior,
    beta_difference_prob,
    hierarchical_posterior,
    population_rate,
)
from bayesblina.analyses.subgroups.spec import (
    MODEL_LABELS,
    MODEL_PARAMS,
    SubgroupOptions,
    SubgroupPriors,
    check_prior_rules,
    pooling_of,
)
from bayesblina.core.frequentist import exact_ci_table
from bayesblina.core.model import BayesModel, PriorSetBase
from bayesblina.core.summaries import exact_row, summarise_draws
from bayesblina.errors import SpecError

if TYPE_CHECKING:
    from bayesblina.core.spec import SummarySettings

__all__ = [
    "SubgroupModel",
    "beta_difference_prob",
    "contrast_label",
    "hierarchical_posterior",
]


class SubgroupModel(BayesModel):
    """CR rate per level of one Fig 2 factor: partial (non-centred), no or complete pooling."""

    name: ClassVar[str] = "subgroups"
    DataSpec: ClassVar[type[BaseModel]] = SubgroupData
    PriorSetSpec: ClassVar[type[PriorSetBase]] = SubgroupPriors
    OptionsSpec: ClassVar[type[BaseModel]] = SubgroupOptions

    def __init__(self, data: pd.DataFrame, prior: Any, options: Any = None) -> None:
        super().__init__(data, prior, options)
        self._contrasts = self._resolve_contrasts()

    # -- settings ---------------------------------------------------------------------
    @property
    def pooling(self) -> str:
        """``"partial"``, ``"none"`` or ``"complete"`` (``"exnex"`` in the EXNEX model)."""
        return pooling_of(self.options)

    @property
    def short_name(self) -> str:
        """The model as labels read: ``"partial pooling"``, ..., ``"EXNEX"``."""
        return MODEL_LABELS[self.pooling]

    @property
    def requested_contrasts(self) -> list[tuple[str, str]]:
        """The (level a, level b) pairs the options ask for (complete pooling included)."""
        return list(self._contrasts)

    def needed_priors(self) -> tuple[str, ...]:
        """The parameters this model needs a prior for (and the only ones it accepts)."""
        return MODEL_PARAMS[self.pooling]

    @classmethod
    def check_prior_set(
        cls, prior: PriorSetBase, options: BaseModel, data: pd.DataFrame
    ) -> None:
        """The pooling's priors, exactly; a complete prior for every comparison model.

        See :func:`~bayesblina.analyses.subgroups.spec.check_prior_rules`.

        Raises
        ------
        SpecError
            Naming the parameters missing or not used, or the ``options.compare_priors``
            key that is incomplete.
        """
        check_prior_rules(prior, options)  # type: ignore[arg-type]

    @classmethod
    def check_options(cls, options: BaseModel, data: pd.DataFrame) -> None:
        """The contrasts asked for (``options.contrasts``) must be levels of the data."""
        resolve_contrasts(options.contrasts, data)  # type: ignore[attr-defined]

    def factor(self) -> str:
        """The Fig 2 factor of the data (``"inline"`` for rows given in a spec)."""
        return factor_of(self.data)

    def title(self) -> str:
        """Title of the factor's forest plot."""
        return plot_title(self.factor())

    def _resolve_contrasts(self) -> list[tuple[str, str]]:
        return resolve_contrasts(self.options.contrasts, self.data)

    def contrasts(self) -> list[tuple[str, str]]:
        """The (level a, level b) pairs reported as p(a) - p(b) (none for complete pooling)."""
        return [] if self.pooling == "complete" else list(self._contrasts)

    # -- data -------------------------------------------------------------------------
    @classmethod
    def load_data(cls, data_spec: Any) -> pd.DataFrame:
        """The levels of one Fig 2 factor or of the study phase (or the inline rows).

        See :func:`~bayesblina.analyses.subgroups.data.load_levels`.
        """
        return load_levels(data_spec)

    @classmethod
    def validate_data(cls, data: pd.DataFrame) -> pd.DataFrame:
        """At least two unique levels, integer counts, n >= 1 and 0 <= x <= n per level."""
        return validate_levels(data)

    def set_data(self, data: pd.DataFrame) -> SubgroupModel:
        """Replace the data (same factor structure: a new set of contrasts rebuilds)."""
        super().set_data(data)
        self._contrasts = self._resolve_contrasts()
        if self._model is not None and self.structure_key() != self._built_key:
            self._model = None
        return self

    # -- the graph --------------------------------------------------------------------
    def structure_key(self) -> tuple[Any, ...]:
        """Model, pooling, prior families and whether contrasts are reported."""
        return (*super().structure_key(), self.pooling, bool(self.contrasts()))

    def coords(self) -> dict[str, list[Any]]:
        """One coordinate per level (``subgroup``) and per reported contrast."""
        coords: dict[str, list[Any]] = {"subgroup": list(self.data["subgroup"])}
        if self.contrasts():
            coords["contrast"] = [contrast_label(a, b) for a, b in self.contrasts()]
        return coords

    def data_values(self) -> dict[str, np.ndarray]:
        """CRs ``x`` and patients ``n`` per level; level indices of each contrast."""
        out = {
            "x": self.data["x"].to_numpy(dtype="int64"),
            "n": self.data["n"].to_numpy(dtype="int64"),
        }
        if self.contrasts():
            levels = list(self.data["subgroup"])
            out["contrast_a"] = np.array([levels.index(a) for a, _ in self.contrasts()])
            out["contrast_b"] = np.array([levels.index(b) for _, b in self.contrasts()])
        return out

    def _prior_rv_named(self, param: str, rv_name: str, **kwargs: Any) -> Any:
        """Like :meth:`prior_rv`, but the variable is named ``rv_name``.

        The hyperparameter containers keep their names ``<param>__<hyper>``.
        """
        prior = self.prior.parameter_priors()[param]
        hyper = {
            h: pm.Data(f"{param}__{h}", np.asarray(v, dtype=float))
            for h, v in prior.hyperparameters().items()
        }
        return prior.distribution(rv_name, hyper, **kwargs)

    def _define(self) -> None:
        v = self.data_values()
        x = pm.Data("x", v["x"], dims="subgroup")
        n = pm.Data("n", v["n"], dims="subgroup")
        if self.pooling == "partial":
            mu = self.prior_rv("mu")
            tau = self.prior_rv("tau")
            z = pm.Normal("z", 0.0, 1.0, dims="subgroup")
            theta = pm.Deterministic("theta", mu + tau * z, dims="subgroup")
            p = pm.Deterministic("p", pm.math.invlogit(theta), dims="subgroup")
            pm.Binomial("y", n=n, logit_p=theta, observed=x, dims="subgroup")
        elif self.pooling == "none":
            p = self.prior_rv("p", dims="subgroup")
            pm.Binomial("y", n=n, p=p, observed=x, dims="subgroup")
        else:
            p_all = self._prior_rv_named("p", "p_all")
            p = pm.Deterministic("p", p_all * pt.ones(x.shape), dims="subgroup")
            pm.Binomial("y", n=n, p=p, observed=x, dims="subgroup")
        self._define_contrasts(p)

    def _define_contrasts(self, p: Any) -> None:
        if not self.contrasts():
            return
        v = self.data_values()
        a = pm.Data("contrast_a", v["contrast_a"], dims="contrast")
        b = pm.Data("contrast_b", v["contrast_b"], dims="contrast")
        pm.Deterministic("difference", p[a] - p[b], dims="contrast")

    # -- results ----------------------------------------------------------------------
    def gate_vars(self) -> list[str]:
        """Free parameters, CR rates and contrasts (not constant-by-design quantities)."""
        names = {
            "partial": ["mu", "tau", "z", "p"],
            "none": ["p"],
            "complete": ["p_all"],
        }[self.pooling]
        return names + (["difference"] if self.contrasts() else [])

    def population_draws(self, idata: az.InferenceData) -> xr.DataArray | None:
        """Posterior draws of the population-level CR rate (``None`` for no pooling).

        Partial pooling and EXNEX: E[expit(μ + τ z)], z ~ N(0, 1), at every draw of
        (μ, τ), by deterministic quadrature
        (:func:`~bayesblina.analyses.subgroups.quadrature.population_rate`). Complete
        pooling: the one rate ``p_all``. No pooling: the levels share no parameter, so
        there is no population to average over.
        """
        post = idata.posterior
        if self.pooling == "none":
            return None
        if self.pooling == "complete":
            return post["p_all"].rename("p_population")
        rate = population_rate(post["mu"].values, post["tau"].values)
        return xr.DataArray(rate, dims=("chain", "draw"), name="p_population",
                            coords={d: post.coords[d] for d in ("chain", "draw")})

    def summarise(self, idata: az.InferenceData, settings: SummarySettings) -> pd.DataFrame:
        """Long table: ``quantity`` (p, difference, mu, tau, p_population), ``population``.

        ``population`` names the level or contrast (empty for mu, tau and p_population).
        CR rates get P(p > t) for the summary thresholds, contrasts P(diff > 0). The
        population-level rate ``p_population`` is :meth:`population_draws` (not reported
        for no pooling).
        """
        post = idata.posterior
        kw = {"ci_prob": settings.ci_prob, "hdi_prob": settings.hdi_prob}
        parts = []
        p = summarise_draws(post["p"], thresholds=settings.thresholds, label="p", **kw)
        p = p.rename(columns={"subgroup": "population"})
        if "p_ex" in post:
            p["P(exchangeable)"] = post["p_ex"].mean(dim=("chain", "draw")).values
        parts.append(p.assign(quantity="p"))
        if "difference" in post:
            d = summarise_draws(post["difference"], thresholds=[0.0], label="diff", **kw)
            parts.append(d.rename(columns={"contrast": "population"}).assign(quantity="difference"))
        for var in ("mu", "tau"):
            if var in post:
                parts.append(summarise_draws(post[var], **kw).assign(quantity=var, population=""))
        population = self.population_draws(idata)
        if population is not None:
            parts.append(summarise_draws(population, thresholds=settings.thresholds, label="p",
                                         **kw).assign(quantity="p_population", population=""))
        out = pd.concat(parts, ignore_index=True)
        return out[["quantity", "population", *[c for c in out if c not in ("quantity",
                                                                           "population")]]]

    def conjugate_posteriors(self) -> dict[str, Any]:
        """Exact Beta posterior of each level's CR rate (no or complete pooling; scipy frozen)."""
        if self.pooling not in ("none", "complete"):
            raise SpecError(f"no conjugate posterior for pooling {self.pooling!r}")
        a, b = self.prior.p.alpha, self.prior.p.beta  # type: ignore[attr-defined]
        d = self.data
        if self.pooling == "complete":
            x, n = int(d["x"].sum()), int(d["n"].sum())
            return {level: stats.beta(a + x, b + n - x) for level in d["subgroup"]}
        return {
            level: stats.beta(a + x, b + n - x)
            for level, x, n in zip(d["subgroup"], d["x"], d["n"], strict=True)
        }

    def quadrature(self, **kwargs: Any) -> HierarchicalPosterior:
        """The independent numerical integration over (μ, τ) (partial pooling and EXNEX)."""
        return hierarchical_posterior(
            self.data["x"], self.data["n"], self.prior.mu, self.prior.tau,  # type: ignore[attr-defined]
            **self.quadrature_options(), **kwargs,
        )

    def quadrature_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`hierarchical_posterior` beyond the priors (none)."""
        return {}

    def exact_table(self, settings: SummarySettings) -> pd.DataFrame:
        """The summaries computed without MCMC.

        No / complete pooling: the conjugate Beta posteriors (every column; complete
        pooling's ``p_population`` is its one rate). Partial pooling (and EXNEX): posterior
        means and SDs of every p_j, contrast, μ, τ and the population-level rate by
        :func:`hierarchical_posterior`.
        """
        if self.pooling in ("none", "complete"):
            return self._conjugate_table(settings)
        post = self.quadrature()
        levels = list(self.data["subgroup"])
        rows: list[dict[str, Any]] = []
        p_ex = post.prob_exchangeable()
        if p_ex is None and self.pooling == "exnex":  # w = 1: every level exchangeable
            p_ex = np.ones(len(levels))
        for j, (m, s) in enumerate(zip(post.p_mean(), post.p_sd(), strict=True)):
            row = {"quantity": "p", "population": levels[j], "mean": float(m), "sd": float(s)}
            if p_ex is not None:
                row["P(exchangeable)"] = float(p_ex[j])
            rows.append(row)
        for a, b in self.contrasts():
            m, s = post.difference(levels.index(a), levels.index(b))
            rows.append({"quantity": "difference", "population": contrast_label(a, b),
                         "mean": m, "sd": s})
        for name, (m, s) in (("mu", post.mu_moments()), ("tau", post.tau_moments()),
                             ("p_population", post.population_moments())):
            rows.append({"quantity": name, "population": "", "mean": m, "sd": s})
        return pd.DataFrame(rows)

    def _conjugate_table(self, settings: SummarySettings) -> pd.DataFrame:
        dists = self.conjugate_posteriors()
        rows: list[dict[str, Any]] = []
        for level, dist in dists.items():
            rows.append(exact_row(dist, settings, quantity="p", population=level))
        for a, b in self.contrasts():
            da, db = dists[a], dists[b]
            rows.append({
                "quantity": "difference", "population": contrast_label(a, b),
                "mean": float(da.mean() - db.mean()),
                "sd": float(np.sqrt(da.var() + db.var())),
                "P(diff>0)": beta_difference_prob(da, db),
            })
        if self.pooling == "complete":
            pooled = next(iter(dists.values()))
            rows.append(exact_row(pooled, settings, quantity="p_population", population=""))
        return pd.DataFrame(rows)

    def reference_table(self) -> pd.DataFrame:
        """Raw proportion with its exact (Clopper–Pearson) 95% CI and the published values.

        Columns ``population, label, x, n, observed, cp_low, cp_high, published_pct,
        published_ci_low, published_ci_high, source``.
        """
        d = self.data
        table = exact_ci_table(d["x"], d["n"], population=list(d["subgroup"]),
                               label=list(d["label"]))
        for col in ("published_pct", "published_ci_low", "published_ci_high"):
            table[col] = d[col].to_numpy()
        table["source"] = d["source"].to_numpy() if "source" in d else ""
        return table

    # -- LOO comparison ---------------------------------------------------------------
    def loo(self, idata: az.InferenceData) -> Any:
        """PSIS-LOO of a fit of this model, one point per level (leave one subgroup out)."""
        model = self.build()
        with model:
            pm.set_data({**self.data_values(), **self.prior_values()}, coords=self.coords())
            ll = pm.compute_log_likelihood(
                idata, var_names=["y"], extend_inferencedata=False, progressbar=False
            )
        ll = ll.log_likelihood if hasattr(ll, "log_likelihood") else ll
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the Pareto k are reported in the table
            return az.loo(az.InferenceData(posterior=idata.posterior, log_likelihood=ll),
                          pointwise=True)
