r"""Best response within two cycles (Table 2) as a Dirichlet-multinomial model.

Table 2 sorts every patient of a population into one response category: CR, partial
remission, blast-free hypoplastic or aplastic marrow, progressive disease, no response,
not assessed (died or withdrew consent before the first assessment). With counts
:math:`x_1, \dots, x_K` among :math:`N` patients,

.. math::

    \theta \sim \mathrm{Dirichlet}(a_1, \dots, a_K), \qquad
    x \mid \theta \sim \mathrm{Multinomial}(N, \theta).

With ``split_cr_by_mrd`` (the default) the CR category is split by the depth of response,
*CR with complete MRD response* (no detectable blasts; Table 2: 14 of the 27 CRs among all
70 at 5/15) and *CR without complete MRD response*, which gives the Deterministics

* ``p_cr`` :math:`= \theta_\mathrm{cMRD} + \theta_\mathrm{CR\,other}`, P(CR);
* ``p_cmrd_given_cr`` :math:`= \theta_\mathrm{cMRD} / (\theta_\mathrm{cMRD} +
  \theta_\mathrm{CR\,other})`, P(complete MRD | CR);
* ``p_cr_and_cmrd`` :math:`= \theta_\mathrm{cMRD}`, P(CR and complete MRD), unconditional.

**The CR without MRD data.** One of the 27 CRs among all 70 has no MRD result (Table 2);
the published 14/27 (52%) counts that patient as *not* having a complete MRD response.
``mrd_missing = "nonresponse"`` (the default) does the same. ``mrd_missing = "exclude"``
treats the MRD status as missing at random: the patient is a CR of unknown depth, a
coarsened observation whose likelihood is :math:`\theta_\mathrm{cMRD} +
\theta_\mathrm{CR\,other}` (a ``pm.Potential``), so P(CR) still counts 27 CRs while
P(complete MRD | CR) learns from 14 of 26.

**The independent check** (:meth:`ResponseCategoriesModel.exact_table`) is conjugacy: the
posterior is :math:`\mathrm{Dirichlet}(a + x)`, so each category probability is
:math:`\mathrm{Beta}(\alpha_k, \alpha_0 - \alpha_k)` with :math:`\alpha = a + x`,
:math:`\alpha_0 = \sum_k \alpha_k`; a sum of categories is Beta by the aggregation
property, and the ratio :math:`\theta_1 / (\theta_1 + \theta_2)` is
:math:`\mathrm{Beta}(\alpha_1, \alpha_2)`, independent of the sum. With :math:`m`
coarsened CRs (``exclude``) the posterior is
:math:`\propto \mathrm{Dirichlet}(\theta; \alpha)\,(\theta_1 + \theta_2)^m`: the ratio keeps
its :math:`\mathrm{Beta}(\alpha_1, \alpha_2)`, the sum and the other categories are
Dirichlet with :math:`\alpha_1 + \alpha_2 + m` in place of :math:`\alpha_1 + \alpha_2`, and
:math:`\theta_1` (likewise :math:`\theta_2`) is a mixture over the number :math:`j` of the
:math:`m` patients that had a complete MRD response,
:math:`\sum_j \mathrm{BetaBin}(j; m, \alpha_1, \alpha_2)\,
\mathrm{Beta}(\alpha_1 + j, \alpha_0 + m - \alpha_1 - j)` (:class:`BetaMixture`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from scipy import optimize, stats

from bayesblina.core.frequentist import exact_ci_table
from bayesblina.core.model import BayesModel, PriorSetBase
from bayesblina.core.priors import Prior
from bayesblina.core.spec import DataFile
from bayesblina.core.summaries import exact_row, summarise_draws
from bayesblina.data import (
    DATA_FILES,
    data_file,
    load_response_categories,
    load_table2_proportions,
)
from bayesblina.data.responses import RESPONSE_CATEGORIES
from bayesblina.data.tables import MAX_COUNT, Col, Table, check_unique, frame_from_rows
from bayesblina.errors import DataError, SpecError

if TYPE_CHECKING:
    import arviz as az
    from matplotlib.figure import Figure

    from bayesblina.core.spec import SummarySettings

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=64)]

#: the categories of Table 2, in its order
TABLE2_CATEGORIES = RESPONSE_CATEGORIES
#: the rows that split the CR category by MRD response (``parent = "cr"`` in the data)
MRD_SPLIT = ("cr_complete_mrd", "cr_no_complete_mrd", "cr_mrd_unknown")
#: how the categories and derived quantities read in tables and figures
LABELS = {
    "cr": "CR",
    "cr_complete_mrd": "CR with complete MRD response",
    "cr_other": "CR without complete MRD response",
    "cr_no_complete_mrd": "CR, MRD assessed, no complete MRD response",
    "cr_mrd_unknown": "CR, no MRD data",
    "partial_remission": "partial remission",
    "blast_free_hypoplastic": "blast-free hypoplastic or aplastic marrow",
    "progressive_disease": "progressive disease",
    "no_response": "no response",
    "not_assessed": "not assessed (died or withdrew before assessment)",
}
#: the Deterministics beside the category probabilities: variable -> name in the tables
P_CR, P_CMRD_GIVEN_CR, P_CR_AND_CMRD = "P(CR)", "P(complete MRD | CR)", "P(CR and complete MRD)"
DERIVED = {"p_cr": P_CR, "p_cmrd_given_cr": P_CMRD_GIVEN_CR, "p_cr_and_cmrd": P_CR_AND_CMRD}


# --------------------------------------------------------------------------------------
# Spec schemas
# --------------------------------------------------------------------------------------


Count = Annotated[int, Field(strict=True, ge=0, le=MAX_COUNT)]


#: the keys of one inline category: ``{ category = "cr", count = 12 }``
ROW_COLUMNS = (Col("category", "slug"), Col("count", "count"))


def _row_checks(table: Table) -> None:
    """Each category once."""
    check_unique(table, ["category"])


def inline_categories(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A spec's inline rows as a typed frame (``category``, ``count``), checked.

    Raises
    ------
    DataError
        Naming the row (``rows.3``), the column, the value and what is allowed.
    """
    return frame_from_rows(rows, ROW_COLUMNS, what="rows", checks=[_row_checks])


class MRDSplit(BaseModel):
    """The CRs of an inline trial split by MRD response (needs a ``cr`` category)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    complete: Count
    unknown: Count = 0


class ResponseCategoriesData(BaseModel):
    """``[data]``: one population of Table 2, or one's own trial's categories inline.

    Packaged: ``population`` (``all_5_15``, ``phase_2`` or ``age_lt2``); ``file`` reads a
    CSV like ``response_categories_table2.csv`` instead of the packaged one,
    ``proportions_file`` one like ``table2_proportions.csv`` (the MRD split of the CRs and
    the published percentages). Inline: ``rows`` (``category``, ``count``; a category
    named ``cr`` is the CRs) and optionally ``cr_mrd`` (``complete``: CRs with a complete
    MRD response; ``unknown``: CRs without MRD data), with ``population`` as its label.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    population: Slug = "all_5_15"
    file: DataFile | None = None
    proportions_file: DataFile | None = None
    #: one category per row: ``{ category = "cr", count = 12 }`` (:func:`inline_categories`)
    rows: Annotated[list[dict[str, Any]], Field(min_length=2)] | None = None
    cr_mrd: MRDSplit | None = None

    @field_validator("rows")
    @classmethod
    def _typed_rows(cls, rows: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if rows is not None:
            inline_categories(rows)  # a DataError is a ValueError: 'data.rows' names it
        return rows

    @model_validator(mode="after")
    def _one_source(self) -> ResponseCategoriesData:
        if self.rows is None:
            if self.cr_mrd is not None:
                raise ValueError("'cr_mrd' goes with inline 'rows' (the packaged data carry "
                                 "their own MRD split)")
            return self
        if self.file is not None or self.proportions_file is not None:
            raise ValueError("give inline 'rows' or the files 'file'/'proportions_file', "
                             "not both")
        counts = {r["category"]: r["count"] for r in self.rows}
        if self.cr_mrd is not None:
            if "cr" not in counts:
                raise ValueError("'cr_mrd' splits the CRs: 'rows' need a category 'cr'")
            n_cr = counts["cr"]
            if self.cr_mrd.complete + self.cr_mrd.unknown > n_cr:
                raise ValueError(
                    f"'cr_mrd': complete ({self.cr_mrd.complete}) + unknown "
                    f"({self.cr_mrd.unknown}) exceed the {n_cr} CRs"
                )
        return self


class ResponseCategoriesOptions(BaseModel):
    """``[options]``: split the CRs by MRD response, and how to count a CR without MRD data.

    ``split_cr_by_mrd`` replaces the CR category by *CR with complete MRD response* and
    *CR without complete MRD response*. ``mrd_missing`` (used with the split):
    ``"nonresponse"`` counts a CR without MRD data as without complete MRD response (as
    the published 14 of 27); ``"exclude"`` leaves its MRD status out (a CR of unknown
    depth: it counts for P(CR), not for P(complete MRD | CR)).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    split_cr_by_mrd: bool = True
    mrd_missing: Literal["nonresponse", "exclude"] = "nonresponse"


class ResponseCategoriesPriors(PriorSetBase):
    """One prior set: a Dirichlet prior on the category probabilities ``theta``.

    One concentration per modelled category, in the model's order
    (:meth:`ResponseCategoriesModel.categories`).
    """

    theta: Prior
    allowed_families: ClassVar[dict[str, tuple[str, ...]]] = {"theta": ("dirichlet",)}


# --------------------------------------------------------------------------------------
# Exact posteriors
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BetaMixture:
    """A finite mixture of Beta distributions (scipy-frozen-like: pdf, cdf, ppf, moments).

    The exact posterior of a CR category when some CRs have no MRD data
    (``mrd_missing = "exclude"``).
    """

    weights: np.ndarray
    a: np.ndarray
    b: np.ndarray

    def pdf(self, x: float) -> float:
        """Density at ``x``."""
        return float(np.sum(self.weights * stats.beta.pdf(x, self.a, self.b)))

    def cdf(self, x: float) -> float:
        """Distribution function at ``x``."""
        return float(np.sum(self.weights * stats.beta.cdf(x, self.a, self.b)))

    def sf(self, x: float) -> float:
        """Survival function ``1 - cdf(x)`` (summed per component: accurate in the tail)."""
        return float(np.sum(self.weights * stats.beta.sf(x, self.a, self.b)))

    def ppf(self, q: float) -> float:
        """Quantile: the root of ``cdf(x) = q`` (Brent's method)."""
        if q <= 0.0:
            return 0.0
        if q >= 1.0:
            return 1.0
        return float(optimize.brentq(lambda x: self.cdf(x) - q, 0.0, 1.0, xtol=1e-14,
                                     rtol=1e-13, maxiter=500))

    def median(self) -> float:
        """The median."""
        return self.ppf(0.5)

    def mean(self) -> float:
        """The mean."""
        return float(np.sum(self.weights * self.a / (self.a + self.b)))

    def var(self) -> float:
        """The variance."""
        s = self.a + self.b
        second = self.a * (self.a + 1) / (s * (s + 1))
        return float(np.sum(self.weights * second) - self.mean() ** 2)

    def std(self) -> float:
        """The standard deviation."""
        return float(np.sqrt(max(self.var(), 0.0)))


# --------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------


def modelled_categories(data: pd.DataFrame, split: bool) -> list[str]:
    """The categories a model of ``data`` has, in order (a category with no count is left out).

    With ``split``, ``cr`` becomes ``cr_complete_mrd`` and ``cr_other``.
    """
    top = data[(data["parent"] == "") & data["count"].notna()]
    out: list[str] = []
    for cat in top["category"]:
        out += ["cr_complete_mrd", "cr_other"] if cat == "cr" and split else [str(cat)]
    return out


class ResponseCategoriesModel(BayesModel):
    """Dirichlet-multinomial model of Table 2's response categories (CR split by MRD)."""

    name: ClassVar[str] = "response_categories"
    DataSpec: ClassVar[type[BaseModel]] = ResponseCategoriesData
    PriorSetSpec: ClassVar[type[PriorSetBase]] = ResponseCategoriesPriors
    OptionsSpec: ClassVar[type[BaseModel]] = ResponseCategoriesOptions

    # -- data -------------------------------------------------------------------------
    @classmethod
    def load_data(cls, data_spec: Any) -> pd.DataFrame:
        """Table 2's response categories of one population, with the MRD split of its CRs.

        Returns
        -------
        pandas.DataFrame
            One row per Table 2 category (``parent`` empty) and, where Table 2 gives the
            complete MRD response among the CRs, one per MRD group of the CRs (``parent =
            "cr"``: ``cr_complete_mrd``, ``cr_no_complete_mrd``, ``cr_mrd_unknown``).
            Columns ``population, population_n, category, parent, label, count,
            published_pct, published_ci_low, published_ci_high, source, note``. A count
            printed NA is ``<NA>`` (the model drops that category; see ``note``). The
            published values of the MRD rows are percentages *of the CRs* (Table 2's
            ``complete_mrd_among_cr``), those of the other rows of the population.

        Raises
        ------
        SpecError
            If the population is not in the file (the message lists those that are).
        DataError
            If a file is malformed, or the MRD split does not match the CR count.
        """
        if data_spec.rows is not None:
            return cls._inline_rows(data_spec)
        cats = load_response_categories(data_spec.file)
        pop = data_spec.population
        rows = cats[cats["population"] == pop].sort_values("order")
        if rows.empty:
            allowed = list(dict.fromkeys(cats["population"]))
            raise SpecError(
                f"key 'data.population': population {pop!r} is not in the response "
                f"categories table; allowed: {allowed}"
            )
        props = load_table2_proportions(data_spec.proportions_file)
        pub = props[props["population"] == pop].set_index("quantity")
        where = (data_spec.proportions_file if data_spec.proportions_file is not None
                 else data_file(DATA_FILES["table2_proportions"]))
        size = int(rows["population_n"].iat[0])

        def published(quantity: str) -> dict[str, float]:
            if quantity not in pub.index:
                return {"published_pct": np.nan, "published_ci_low": np.nan,
                        "published_ci_high": np.nan}
            r = pub.loc[quantity]
            return {c: float(r[c]) if pd.notna(r[c]) else np.nan
                    for c in ("published_pct", "published_ci_low", "published_ci_high")}

        out: list[dict[str, Any]] = []
        for _, r in rows.iterrows():
            count = r["count"]
            note = "" if pd.isna(r["note"]) else str(r["note"])
            if pd.isna(count):
                note = (f"{note}; " if note else "") + "dropped from the model (no count)"
            out.append({
                "population": pop, "population_n": size, "category": str(r["category"]),
                "parent": "", "label": LABELS.get(str(r["category"]), str(r["category"])),
                "count": count, **published(str(r["category"])),
                "source": str(r["source"]), "note": note,
            })
        cr = rows.loc[rows["category"] == "cr", "count"]
        if "complete_mrd_among_cr" in pub.index and len(cr) and pd.notna(cr.iat[0]):
            n_cr = int(cr.iat[0])
            mrd = pub.loc["complete_mrd_among_cr"]
            x, n = int(mrd["x"]), int(mrd["n"])
            unknown = 0
            if "no_mrd_data_among_cr" in pub.index:
                unknown = int(pub.loc["no_mrd_data_among_cr", "x"])
            if n != n_cr or x + unknown > n_cr:
                raise DataError(
                    f"{where}: population {pop!r}: complete_mrd_among_cr is {x} of {n} (and "
                    f"{unknown} CR(s) without MRD data), but the CR category has {n_cr} "
                    "patients: the MRD split must be a split of the CRs"
                )
            split = {"cr_complete_mrd": x, "cr_no_complete_mrd": n_cr - x - unknown,
                     "cr_mrd_unknown": unknown}
            notes = {
                "cr_complete_mrd": f"Table 2: complete MRD response in {x} of {n_cr} CRs "
                                   "(published as a percentage of the CRs)",
                "cr_no_complete_mrd": "CRs with an MRD result short of a complete response",
                "cr_mrd_unknown": (f"CRs without MRD data; the published {x}/{n_cr} counts "
                                   "them as no complete MRD response" if unknown else
                                   "every CR has an MRD result"),
            }
            for cat, count in split.items():
                pct = published("complete_mrd_among_cr" if cat == "cr_complete_mrd" else "")
                out.append({
                    "population": pop, "population_n": size, "category": cat,
                    "parent": "cr", "label": LABELS[cat], "count": count, **pct,
                    "source": "Table 2", "note": notes[cat],
                })
        df = pd.DataFrame(out)
        df["count"] = df["count"].astype("Int64")
        return df

    @classmethod
    def _inline_rows(cls, data_spec: ResponseCategoriesData) -> pd.DataFrame:
        """The frame :meth:`load_data` returns, from inline rows (no published values)."""
        assert data_spec.rows is not None
        rows = inline_categories(data_spec.rows)
        counts = {str(c): int(n) for c, n in zip(rows["category"], rows["count"], strict=True)}
        size = sum(counts.values())
        nan3 = {"published_pct": np.nan, "published_ci_low": np.nan,
                "published_ci_high": np.nan}
        base = {"population": data_spec.population, "population_n": size, **nan3,
                "source": "spec", "note": ""}
        out = [{**base, "category": cat, "parent": "", "label": LABELS.get(cat, cat),
                "count": count} for cat, count in counts.items()]
        if data_spec.cr_mrd is not None:
            n_cr = counts["cr"]
            x, unknown = data_spec.cr_mrd.complete, data_spec.cr_mrd.unknown
            split = {"cr_complete_mrd": x, "cr_no_complete_mrd": n_cr - x - unknown,
                     "cr_mrd_unknown": unknown}
            out += [{**base, "category": cat, "parent": "cr", "label": LABELS[cat],
                     "count": count} for cat, count in split.items()]
        df = pd.DataFrame(out)[["population", "population_n", "category", "parent", "label",
                                "count", *nan3, "source", "note"]]
        df["count"] = df["count"].astype("Int64")
        return df

    @classmethod
    def validate_data(cls, data: pd.DataFrame) -> pd.DataFrame:
        """Whole counts >= 0 that partition the population; an MRD split adds up to the CRs.

        A category whose count is missing (NA) is dropped from the model, allowed only when
        the other categories already add up to ``population_n``.
        """
        missing = {"category", "count"} - set(data.columns)
        if missing:
            raise DataError(f"response categories: missing column(s) {sorted(missing)}")
        out = data.copy().reset_index(drop=True)
        if "parent" not in out:
            out["parent"] = ""
        out["parent"] = out["parent"].fillna("").astype(str)
        out["category"] = out["category"].astype(str)
        if out["category"].duplicated().any():
            dup = list(out.loc[out["category"].duplicated(), "category"])
            raise DataError(f"response categories: duplicate category(ies) {dup}")
        for _, row in out.iterrows():
            value = row["count"]
            if pd.isna(value):
                if row["parent"]:
                    raise DataError(
                        f"response categories: column 'count' of category {row['category']!r}"
                        " is missing: an MRD group of the CRs needs a count"
                    )
                continue
            try:
                whole = not isinstance(value, bool) and float(value) == int(value)
            except (TypeError, ValueError):
                whole = False
            if not whole or value < 0:
                raise DataError(
                    f"response categories: column 'count' of category {row['category']!r}: "
                    f"value {value!r} is invalid: a count must be a whole number >= 0"
                )
        out["count"] = out["count"].astype("Int64")
        top = out[(out["parent"] == "") & out["count"].notna()]
        if len(top) < 2:
            raise DataError(
                f"response categories: need at least two categories with a count (got "
                f"{list(top['category'])})"
            )
        total = int(top["count"].sum())
        if total < 1:
            raise DataError("response categories: no patients (every count is 0)")
        if "population_n" in out:
            sizes = out["population_n"].dropna().unique()
            if len(sizes) != 1:
                raise DataError(
                    "response categories: column 'population_n' must hold one value (got "
                    f"{sorted(sizes.tolist())})"
                )
            size = int(sizes[0])
            if total != size:
                dropped = list(out.loc[(out["parent"] == "") & out["count"].isna(), "category"])
                extra = f" (dropped for a missing count: {dropped})" if dropped else ""
                raise DataError(
                    f"response categories: the categories add up to {total} patients{extra}, "
                    f"but population_n = {size}: the categories must partition the "
                    "analysed population"
                )
        else:
            out["population_n"] = total
        parts = out[out["parent"] != ""]
        if len(parts):
            unknown_parent = sorted(set(parts["parent"]) - {"cr"})
            bad = sorted(set(parts["category"]) - set(MRD_SPLIT))
            if unknown_parent or bad:
                raise DataError(
                    f"response categories: column 'parent' may be 'cr' only, with categories "
                    f"{list(MRD_SPLIT)} (got parent {unknown_parent or ['cr']}, categories "
                    f"{bad})"
                )
            cr = top.loc[top["category"] == "cr", "count"]
            if cr.empty:
                raise DataError(
                    "response categories: an MRD split (parent 'cr') needs a category 'cr' "
                    "with a count"
                )
            if int(parts["count"].sum()) != int(cr.iat[0]):
                raise DataError(
                    f"response categories: the MRD groups of the CRs add up to "
                    f"{int(parts['count'].sum())}, but category 'cr' has {int(cr.iat[0])}"
                )
        if "label" not in out:
            out["label"] = [LABELS.get(c, c) for c in out["category"]]
        for col in ("published_pct", "published_ci_low", "published_ci_high"):
            if col not in out:
                out[col] = np.nan
        return out

    # -- categories -------------------------------------------------------------------
    @property
    def split(self) -> bool:
        """Whether the CR category is split by MRD response."""
        return bool(self.options.split_cr_by_mrd)

    @property
    def exclude_missing_mrd(self) -> bool:
        """Whether CRs without MRD data are left out of P(complete MRD | CR)."""
        return self.split and self.options.mrd_missing == "exclude"

    def _count(self, category: str) -> int:
        row = self.data.loc[self.data["category"] == category, "count"]
        return int(row.iat[0]) if len(row) and pd.notna(row.iat[0]) else 0

    def categories(self) -> list[str]:
        """The modelled categories in order (a category with no count is left out).

        With the split, ``cr`` becomes ``cr_complete_mrd`` and ``cr_other``.
        """
        return modelled_categories(self.data, self.split)

    def dropped_categories(self) -> list[str]:
        """Categories without a count (printed NA), left out of the model."""
        top = self.data[self.data["parent"] == ""]
        return [str(c) for c in top.loc[top["count"].isna(), "category"]]

    def counts(self) -> np.ndarray:
        """The multinomial counts of :meth:`categories` (``exclude``: CRs of unknown MRD out)."""
        other = self._count("cr_no_complete_mrd")
        if not self.exclude_missing_mrd:
            other += self._count("cr_mrd_unknown")
        values = {"cr_complete_mrd": self._count("cr_complete_mrd"), "cr_other": other}
        return np.array([values.get(c, self._count(c)) for c in self.categories()],
                        dtype="int64")

    def n_mrd_unknown(self) -> int:
        """CRs whose MRD status is left out (coarsened observations): 0 unless ``exclude``."""
        return self._count("cr_mrd_unknown") if self.exclude_missing_mrd else 0

    def _cr_index(self) -> list[int]:
        cats = self.categories()
        names = ["cr_complete_mrd", "cr_other"] if self.split else ["cr"]
        return [cats.index(c) for c in names if c in cats]

    # -- priors -----------------------------------------------------------------------
    @classmethod
    def check_prior_set(cls, prior: PriorSetBase, options: BaseModel, data: pd.DataFrame) -> None:
        """One Dirichlet concentration per modelled category (the options and data decide)."""
        split = bool(options.split_cr_by_mrd)  # type: ignore[attr-defined]
        if split and not (data["parent"] == "cr").any():
            raise SpecError(
                "key 'options.split_cr_by_mrd': the data have no MRD split of the CR "
                "category (Table 2's complete_mrd_among_cr); set split_cr_by_mrd = false"
            )
        categories = modelled_categories(data, split)
        a = prior.theta.a  # type: ignore[attr-defined]
        if len(a) != len(categories):
            raise SpecError(
                f"theta.a: the Dirichlet prior has {len(a)} concentration(s), but the model "
                f"has {len(categories)} categories {categories}: give one concentration (> 0) "
                "per category, in this order"
            )

    # -- refits -----------------------------------------------------------------------
    def set_data(self, data: pd.DataFrame) -> ResponseCategoriesModel:
        """Replace the data; other categories rebuild the graph (and must fit the prior)."""
        super().set_data(data)
        self._check_prior(self.prior)
        if self._model is not None and self.structure_key() != self._built_key:
            self._model = None
        return self

    # -- the graph --------------------------------------------------------------------
    def structure_key(self) -> tuple[Any, ...]:
        """Model, prior family, the categories and the MRD options."""
        return (*super().structure_key(), tuple(self.categories()), self.split,
                self.exclude_missing_mrd)

    def coords(self) -> dict[str, list[Any]]:
        """One coordinate per modelled category."""
        return {"category": self.categories()}

    def data_values(self) -> dict[str, np.ndarray]:
        """Counts per category, their total and (``exclude``) the CRs of unknown MRD."""
        counts = self.counts()
        out = {"counts": counts, "n": np.asarray(int(counts.sum()), dtype="int64")}
        if self.exclude_missing_mrd:
            out["n_mrd_unknown"] = np.asarray(self.n_mrd_unknown(), dtype="int64")
        return out

    def _define(self) -> None:
        v = self.data_values()
        counts = pm.Data("counts", v["counts"], dims="category")
        n = pm.Data("n", v["n"])
        theta = self.prior_rv("theta", dims="category")
        pm.Multinomial("y", n=n, p=theta, observed=counts, dims="category")
        idx = self._cr_index()
        if not self.split:
            pm.Deterministic("p_cr", theta[idx[0]])
            return
        cmrd, other = theta[idx[0]], theta[idx[1]]
        pm.Deterministic("p_cr", cmrd + other)
        pm.Deterministic("p_cmrd_given_cr", cmrd / (cmrd + other))
        pm.Deterministic("p_cr_and_cmrd", cmrd)
        if self.exclude_missing_mrd:
            # a CR of unknown MRD status: P(observation) = P(CR), a coarsened category
            m = pm.Data("n_mrd_unknown", v["n_mrd_unknown"])
            pm.Potential("mrd_unknown_cr", m * pt.log(cmrd + other))

    # -- results ----------------------------------------------------------------------
    def gate_vars(self) -> list[str]:
        """The category probabilities and every Deterministic."""
        return ["theta", *[v for v in DERIVED if self.split or v == "p_cr"]]

    def summarise(self, idata: az.InferenceData, settings: SummarySettings) -> pd.DataFrame:
        """Long table: ``quantity`` (``category`` or a Deterministic), ``population``.

        ``population`` is the category, or ``P(CR)``, ``P(complete MRD | CR)``,
        ``P(CR and complete MRD)``; P(p > t) for the summary thresholds.
        """
        post = idata.posterior
        kw = {"ci_prob": settings.ci_prob, "hdi_prob": settings.hdi_prob,
              "thresholds": settings.thresholds, "label": "p"}
        parts = [summarise_draws(post["theta"], **kw)
                 .rename(columns={"category": "population"}).assign(quantity="category")]
        for var, key in DERIVED.items():
            if var in post:
                parts.append(summarise_draws(post[var], **kw).assign(quantity=var,
                                                                     population=key))
        out = pd.concat(parts, ignore_index=True)
        rest = [c for c in out if c not in ("quantity", "population")]
        return out[["quantity", "population", *rest]]

    def closed_form(self) -> dict[tuple[str, str], Any]:
        """Exact posterior of every reported quantity, by ``(quantity, population)``.

        Beta distributions (scipy frozen), or :class:`BetaMixture` for the two CR
        categories when CRs of unknown MRD status are coarsened (``exclude``).
        """
        a = np.asarray(self.prior.theta.a, dtype=float)  # type: ignore[attr-defined]
        alpha = a + self.counts()
        m = self.n_mrd_unknown()
        total = float(alpha.sum()) + m
        cats = self.categories()
        out: dict[tuple[str, str], Any] = {}
        for k, cat in enumerate(cats):
            out[("category", cat)] = stats.beta(alpha[k], total - alpha[k])
        idx = self._cr_index()
        if not self.split:
            out[("p_cr", P_CR)] = out[("category", cats[idx[0]])]
            return out
        a1, a2 = alpha[idx[0]], alpha[idx[1]]
        out[("p_cr", P_CR)] = stats.beta(a1 + a2 + m, total - a1 - a2 - m)
        out[("p_cmrd_given_cr", P_CMRD_GIVEN_CR)] = stats.beta(a1, a2)
        if m > 0:
            j = np.arange(m + 1)
            for k, (own, rival) in zip(idx, ((a1, a2), (a2, a1)), strict=True):
                w = stats.betabinom.pmf(j, m, own, rival)
                out[("category", cats[k])] = BetaMixture(w, own + j, total - own - j)
        out[("p_cr_and_cmrd", P_CR_AND_CMRD)] = out[("category", cats[idx[0]])]
        return out

    def exact_table(self, settings: SummarySettings) -> pd.DataFrame:
        """The :meth:`summarise` quantities computed exactly (conjugate Dirichlet)."""
        return pd.DataFrame([exact_row(dist, settings, quantity=quantity, population=pop)
                             for (quantity, pop), dist in self.closed_form().items()])

    def reference_table(self) -> pd.DataFrame:
        """Observed proportion, exact (Clopper–Pearson) 95% CI and Table 2's percentages.

        One row per modelled category (of the population) and per derived quantity;
        P(complete MRD | CR) is of the CRs (with ``exclude``: of the CRs with MRD data).
        """
        size = int(self.counts().sum()) + self.n_mrd_unknown()
        data = self.data.set_index("category")
        nan3 = {"published_pct": np.nan, "published_ci_low": np.nan,
                "published_ci_high": np.nan}

        def pub(category: str) -> dict[str, float]:
            if category not in data.index:
                return dict(nan3)
            return {k: float(data.at[category, k]) for k in nan3}

        def source(category: str) -> str:
            if category in data.index and "source" in data:
                return str(data.at[category, "source"])
            return ""

        entries: list[tuple[str, str, int, int, dict[str, float], str]] = []
        for cat, x in zip(self.categories(), self.counts(), strict=True):
            own = pub(cat) if cat not in ("cr_complete_mrd", "cr_other") else dict(nan3)
            src = source("cr" if cat in ("cr_complete_mrd", "cr_other") else cat)
            entries.append((cat, LABELS.get(cat, cat), int(x), size, own, src))
        x_cr = self._count("cr")
        entries.append((P_CR, "P(CR): CR, any MRD response", x_cr, size, pub("cr"),
                        source("cr")))
        if self.split:
            x1 = self._count("cr_complete_mrd")
            n1 = x_cr - self.n_mrd_unknown()
            entries.append((P_CMRD_GIVEN_CR, "P(complete MRD | CR): among the CRs", x1, n1,
                            pub("cr_complete_mrd"), source("cr_complete_mrd")))
            entries.append((P_CR_AND_CMRD, "P(CR and complete MRD): of all patients", x1,
                            size, dict(nan3), source("cr_complete_mrd")))
        table = exact_ci_table([e[2] for e in entries], [e[3] for e in entries],
                               population=[e[0] for e in entries],
                               label=[e[1] for e in entries])
        published = pd.DataFrame([e[4] for e in entries])
        return pd.concat([table, published], axis=1).assign(source=[e[5] for e in entries])

    def plot(self, results: dict[str, az.InferenceData]) -> Figure:
        """Forest plot: each category and derived probability, observed and per prior set."""
        ref = self.reference_table()
        fig, ax = plt.subplots(figsize=(8.0, 0.55 * len(ref) + 1.6))
        k = len(results) + 1
        step = 0.8 / k
        for i, (_, r) in enumerate(ref.iterrows()):
            y = -float(i)
            ax.errorbar(100 * r["observed"], y,
                        xerr=[[100 * (r["observed"] - r["cp_low"])],
                              [100 * (r["cp_high"] - r["observed"])]],
                        fmt="ks", ms=4, capsize=3,
                        label="observed, exact 95% CI" if i == 0 else None)
            for j, (name, idata) in enumerate(results.items(), start=1):
                draws = self._draws(idata, str(r["population"]))
                lo, hi = np.quantile(draws, [0.025, 0.975])
                mean = float(draws.mean())
                ax.errorbar(100 * mean, y - j * step,
                            xerr=[[100 * (mean - lo)], [100 * (hi - mean)]],
                            fmt="o", ms=4, capsize=3, color=f"C{j - 1}",
                            label=f"{name}: mean, 95% CrI" if i == 0 else None)
        ax.set_yticks([-float(i) - (k - 1) * step / 2 for i in range(len(ref))],
                      [f"{r['label']}\n{int(r['x'])}/{int(r['n'])}" for _, r in ref.iterrows()],
                      fontsize=8)
        n_cat = len(self.categories())  # categories above the line, derived quantities below
        ax.axhline(-n_cat + 0.5 - (k - 1) * step / 2, color="0.6", lw=0.8)
        ax.set_xlim(0, 100)
        ax.set_xlabel("probability (%)")
        pop = str(self.data["population"].iat[0]) if "population" in self.data else ""
        ax.set_title(f"Best response within two cycles (Table 2{', ' + pop if pop else ''})")
        ax.legend(fontsize=8, frameon=False, loc="lower right")
        fig.tight_layout()
        return fig

    def _draws(self, idata: az.InferenceData, population: str) -> np.ndarray:
        post = idata.posterior
        for var, key in DERIVED.items():
            if key == population:
                return post[var].values.ravel()
        return post["theta"].sel(category=population).values.ravel()
