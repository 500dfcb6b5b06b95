r"""Beta-binomial model for a response (CR) rate in one or more populations.

.. math::

    p_j \sim \mathrm{Beta}(a, b), \qquad x_j \mid p_j \sim \mathrm{Binomial}(n_j, p_j)

independently for each population *j* (e.g. all 70 patients at 5/15, phase II alone).
The posterior is conjugate, :math:`\mathrm{Beta}(a + x_j, b + n_j - x_j)`, which is the
independent check of the MCMC fit (:meth:`BetaBinomialModel.closed_form`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from scipy import stats

from bayesblina.analyses.response_rate.plots import plot_proportion_posteriors
from bayesblina.core.frequentist import exact_ci_table
from bayesblina.core.model import BayesModel, PriorSetBase
from bayesblina.core.priors import Prior
from bayesblina.core.summaries import exact_row, summarise_draws
from bayesblina.data import load_table2_proportions
from bayesblina.data.tables import binomial_rows
from bayesblina.errors import DataError, SpecError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bayesblina.core.spec import SummarySettings

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=64)]


def inline_populations(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A spec's inline rows as a typed frame (``label``, ``x``, ``n``), checked.

    Raises
    ------
    DataError
        Naming the row (``rows.3``), the column, the value and what is allowed.
    """
    return binomial_rows(rows, label_kind="slug", successes="responders")


class BetaBinomialData(BaseModel):
    """``[data]`` of a beta-binomial spec: rows of a packaged table, or inline rows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: Literal["table2_proportions"] | None = None
    quantity: str = "cr"
    populations: list[Slug] | None = None
    #: one population per row: ``{ label = "cohort_a", x = 4, n = 12 }``
    #: (:func:`inline_populations`)
    rows: list[dict[str, Any]] | None = None

    @field_validator("rows")
    @classmethod
    def _typed_rows(cls, rows: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if rows is not None:
            inline_populations(rows)  # a DataError is a ValueError: 'data.rows' names it
        return rows

    @model_validator(mode="after")
    def _one_source(self) -> BetaBinomialData:
        if (self.table is None) == (self.rows is None):
            raise ValueError("give exactly one of 'table' (packaged data) or 'rows' (inline)")
        return self


class BetaBinomialPriors(PriorSetBase):
    """One prior set: a prior on the response rate ``p`` (Beta: conjugate)."""

    p: Prior
    allowed_families: ClassVar[dict[str, tuple[str, ...]]] = {"p": ("beta",)}


class BetaBinomialModel(BayesModel):
    """Independent response rates with a Beta prior (conjugate)."""

    name: ClassVar[str] = "beta_binomial"
    DataSpec: ClassVar[type[BaseModel]] = BetaBinomialData
    PriorSetSpec: ClassVar[type[PriorSetBase]] = BetaBinomialPriors

    @classmethod
    def load_data(cls, data_spec: Any) -> pd.DataFrame:
        """Select the populations' counts from the packaged data (or the inline rows).

        Returns
        -------
        pandas.DataFrame
            Columns ``population, x, n, source, published_pct, published_ci_low,
            published_ci_high`` (published columns are NaN for inline rows).
        """
        if data_spec.rows is not None:
            df = inline_populations(data_spec.rows).rename(columns={"label": "population"})
            df["x"] = df["x"].astype("int64")
            df["n"] = df["n"].astype("int64")
            df["source"] = "spec"
            for col in ("published_pct", "published_ci_low", "published_ci_high"):
                df[col] = np.nan
            return df

        table = load_table2_proportions()
        rows = table[table["quantity"] == data_spec.quantity]
        if rows.empty:
            allowed = sorted(table["quantity"].unique())
            raise SpecError(
                f"key 'data.quantity': unknown quantity {data_spec.quantity!r} in "
                f"{data_spec.table}; allowed: {allowed}"
            )
        if data_spec.populations is not None:
            known = list(rows["population"])
            unknown = [p for p in data_spec.populations if p not in known]
            if unknown:
                raise SpecError(
                    f"key 'data.populations': unknown population(s) {unknown} for quantity "
                    f"{data_spec.quantity!r}; allowed: {known}"
                )
            rows = rows.set_index("population").loc[data_spec.populations].reset_index()
        cols = ["population", "x", "n", "source", "published_pct"]
        cols += ["published_ci_low", "published_ci_high"]
        return rows[cols].reset_index(drop=True)

    @classmethod
    def validate_data(cls, data: pd.DataFrame) -> pd.DataFrame:
        """Require unique population labels and integer counts with 0 <= x <= n, n >= 1."""
        missing = {"population", "x", "n"} - set(data.columns)
        if missing:
            raise DataError(f"beta-binomial data: missing column(s) {sorted(missing)}")
        if data.empty:
            raise DataError("beta-binomial data: no rows")
        if data["population"].duplicated().any():
            dup = list(data.loc[data["population"].duplicated(), "population"])
            raise DataError(f"beta-binomial data: duplicate population label(s) {dup}")
        for _, row in data.iterrows():
            x, n = row["x"], row["n"]
            if pd.isna(x) or pd.isna(n) or int(x) != x or int(n) != n:
                raise DataError(f"population {row['population']!r}: counts must be integers")
            if n < 1 or x < 0:
                raise DataError(
                    f"population {row['population']!r}: need n >= 1 and x >= 0 (got x={x}, n={n})"
                )
            if x > n:
                raise DataError(
                    f"population {row['population']!r}: responders x={x} exceed patients n={n}"
                )
        out = data.copy()
        out["x"] = out["x"].astype("int64")
        out["n"] = out["n"].astype("int64")
        return out

    def coords(self) -> dict[str, list[Any]]:
        """One coordinate per population."""
        return {"population": list(self.data["population"])}

    def data_values(self) -> dict[str, np.ndarray]:
        """Responders ``x`` and patients ``n`` per population."""
        return {
            "x": self.data["x"].to_numpy(dtype="int64"),
            "n": self.data["n"].to_numpy(dtype="int64"),
        }

    def _define(self) -> None:
        values = self.data_values()
        x = pm.Data("x", values["x"], dims="population")
        n = pm.Data("n", values["n"], dims="population")
        p = self.prior_rv("p", dims="population")
        pm.Binomial("y", n=n, p=p, observed=x, dims="population")

    # -- results ----------------------------------------------------------------------
    def closed_form(self) -> dict[str, Any]:
        """Exact conjugate posterior Beta(a + x, b + n - x) per population (scipy frozen)."""
        a, b = self.prior.p.alpha, self.prior.p.beta  # type: ignore[attr-defined]
        d = self.data
        return {
            pop: stats.beta(a + x, b + n - x)
            for pop, x, n in zip(d["population"], d["x"], d["n"], strict=True)
        }

    def summarise(self, idata: az.InferenceData, settings: SummarySettings) -> pd.DataFrame:
        """Posterior mean, median, equal-tailed and HDI intervals and P(p > t) per population."""
        return summarise_draws(
            idata.posterior["p"],
            ci_prob=settings.ci_prob,
            hdi_prob=settings.hdi_prob,
            thresholds=settings.thresholds,
            label="p",
        )

    def exact_table(self, settings: SummarySettings) -> pd.DataFrame:
        """The same quantities as :meth:`summarise`, computed exactly from the Beta posterior."""
        rows = [exact_row(dist, settings, population=pop)
                for pop, dist in self.closed_form().items()]
        return pd.DataFrame(rows)

    def reference_table(self) -> pd.DataFrame:
        """Published proportion and exact (Clopper-Pearson) 95% CI beside each population."""
        table = exact_ci_table(self.data["x"], self.data["n"],
                               population=list(self.data["population"]))
        for col, missing in (("published_pct", np.nan), ("published_ci_low", np.nan),
                             ("published_ci_high", np.nan), ("source", "")):
            table[col] = self.data[col].to_numpy() if col in self.data else missing
        return table

    def plot(self, results: dict[str, az.InferenceData]) -> Figure:
        """Posterior density of p per population, one line per prior set, with the exact CI."""
        return plot_proportion_posteriors(results, self.reference_table())
