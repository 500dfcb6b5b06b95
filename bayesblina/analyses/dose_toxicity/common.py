"""Shared by the dose-toxicity models: cohorts, regimens, validation, published data.

A cohort's regimen is a list of (dose, days) periods over the DLT window (cycle 1, a
28-day infusion). How periods combine into one DLT risk (period exposure, first-period
dose, maintenance dose) is :func:`bayesblina.analyses.dose_toxicity.exact.regimen_weights`, used
by the PyMC models and the exact engine alike.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bayesblina.core.frequentist import clopper_pearson
from bayesblina.core.model import BayesModel
from bayesblina.core.summaries import summarise_draws
from bayesblina.data import load_phase1_cohorts
from bayesblina.errors import DataError, SpecError

PositiveFloat = Annotated[float, Field(gt=0)]
Probability = Annotated[float, Field(gt=0, lt=1)]
TREATMENTS = ("period_exposure", "first_period", "maintenance")
#: cycle 1 is a 4-week continuous infusion: the DLT window of the trial (days)
CYCLE_DAYS = 28


class DoseCohort(BaseModel):
    """One cohort given inline: its regimen as (dose, days) periods, patients and DLTs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    periods: Annotated[list[tuple[PositiveFloat, PositiveFloat]], Field(min_length=1)]
    patients: Annotated[int, Field(ge=1)]
    dlts: Annotated[int, Field(ge=0)]

    @model_validator(mode="after")
    def _dlts_le_patients(self) -> DoseCohort:
        if self.dlts > self.patients:
            raise ValueError(f"DLTs {self.dlts} exceed patients {self.patients}")
        return self


class DoseToxData(BaseModel):
    """``[data]`` of a dose-toxicity spec: the packaged phase I cohorts or inline cohorts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: Literal["phase1_cohorts"] | None = None
    #: the PK expansion at 5/15 (0/26) did not collect DLTs formally: off by default
    include_pk_expansion: bool = False
    #: sensitivity to the Discussion's fifth DLT: add one DLT (one more patient) here
    extra_dlt_cohort: str | None = None
    cohorts: list[DoseCohort] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DoseToxData:
        if (self.table is None) == (self.cohorts is None):
            raise ValueError("give exactly one of 'table' (packaged data) or 'cohorts' (inline)")
        return self


def cohorts_from_table(table: pd.DataFrame, data_spec: DoseToxData) -> pd.DataFrame:
    """Turn the packaged phase I cohort table into ``label, periods, patients, dlts, source``."""
    rows = table if data_spec.include_pk_expansion else table[table["part"] == "escalation"]
    out = []
    for _, r in rows.iterrows():
        first_days = int(r["first_days"])
        if bool(r["stepwise"]):
            periods = [
                (float(r["first_dose"]), float(first_days)),
                (float(r["maintenance_dose"]), float(CYCLE_DAYS - first_days)),
            ]
        else:
            periods = [(float(r["maintenance_dose"]), float(CYCLE_DAYS))]
        out.append(
            {
                "label": str(r["regimen"]),
                "periods": periods,
                "patients": int(r["patients"]),
                "dlts": int(r["dlts"]),
                "source": str(r["source"]),
            }
        )
    df = pd.DataFrame(out)
    if data_spec.extra_dlt_cohort is not None:
        hit = df["label"] == data_spec.extra_dlt_cohort
        if not hit.any():
            raise SpecError(
                f"key 'data.extra_dlt_cohort': unknown cohort {data_spec.extra_dlt_cohort!r}; "
                f"allowed: {list(df['label'])}"
            )
        df.loc[hit, ["patients", "dlts"]] += 1
        df.loc[hit, "source"] += "; +1 DLT (sensitivity: the Discussion's fifth DLT)"
    return df



class DoseToxOptions(BaseModel):
    """``[options]`` shared by dose-toxicity models."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    treatment: Literal["period_exposure", "first_period", "maintenance"] = "period_exposure"
    #: interval cut-points: under-dosing < cuts[0] <= target <= cuts[1] < over-dosing
    cuts: tuple[Probability, Probability] = (0.16, 0.33)
    #: EWOC: recommend the highest dose with P(over-dosing) below this
    max_overdose_prob: Probability = 0.25

    @model_validator(mode="after")
    def _ordered(self) -> DoseToxOptions:
        if not self.cuts[0] < self.cuts[1]:
            raise ValueError(f"cuts must be increasing (got {list(self.cuts)})")
        return self


def risk_summary(da: Any, dim: str, cuts: tuple[float, float], settings: Any) -> pd.DataFrame:
    """Summary of DLT-risk draws with P(p > cut) and the interval probabilities.

    Rows per element of ``dim`` (renamed ``element``), with ``quantity`` = the variable
    name; columns of :func:`summarise_draws` plus ``P(under)``, ``P(target)``, ``P(over)``
    for under-dosing ``p < cuts[0]``, target ``cuts[0] <= p <= cuts[1]``, over-dosing.
    """
    lo, hi = cuts
    df = summarise_draws(da, ci_prob=settings.ci_prob, hdi_prob=settings.hdi_prob,
                         thresholds=[hi], label="p")
    x = da.values
    df["P(under)"] = (x < lo).mean(axis=(0, 1))
    df["P(target)"] = ((x >= lo) & (x <= hi)).mean(axis=(0, 1))
    df["P(over)"] = (x > hi).mean(axis=(0, 1))
    df.insert(0, "quantity", da.name)
    return df.rename(columns={dim: "element"})


class DoseToxModel(BayesModel):
    """Base of the dose-toxicity models: loads, validates and shows cohort data."""

    DataSpec: ClassVar[type[BaseModel]] = DoseToxData

    @classmethod
    def load_data(cls, data_spec: Any) -> pd.DataFrame:
        """Cohorts as ``label, periods, patients, dlts, source`` (periods: (dose, days))."""
        if data_spec.cohorts is not None:
            df = pd.DataFrame([c.model_dump() for c in data_spec.cohorts])
            df["source"] = "spec"
            return df

        return cohorts_from_table(load_phase1_cohorts(), data_spec)

    @classmethod
    def validate_data(cls, data: pd.DataFrame) -> pd.DataFrame:
        """Require unique labels, regimens of positive (dose, days), 0 <= DLTs <= patients."""
        missing = {"label", "periods", "patients", "dlts"} - set(data.columns)
        if missing:
            raise DataError(f"dose-toxicity data: missing column(s) {sorted(missing)}")
        if data.empty:
            raise DataError("dose-toxicity data: no cohorts")
        if data["label"].duplicated().any():
            labels = list(data["label"])
            raise DataError(f"dose-toxicity data: duplicate cohort label(s) in {labels}")
        for _, r in data.iterrows():
            if not r["periods"]:
                raise DataError(f"cohort {r['label']!r}: empty regimen")
            for dose, days in r["periods"]:
                if not (dose > 0 and days > 0):
                    raise DataError(
                        f"cohort {r['label']!r}: periods need dose > 0 and days > 0 "
                        f"(got dose={dose}, days={days})"
                    )
            if r["patients"] < 1 or r["dlts"] < 0:
                raise DataError(f"cohort {r['label']!r}: need patients >= 1 and DLTs >= 0")
            if r["dlts"] > r["patients"]:
                raise DataError(
                    f"cohort {r['label']!r}: DLTs {r['dlts']} exceed patients {r['patients']}"
                )
        out = data.copy()
        out["patients"] = out["patients"].astype("int64")
        out["dlts"] = out["dlts"].astype("int64")
        return out

    def reference_table(self) -> pd.DataFrame:
        """Observed DLTs per cohort with the exact 95% CI (the paper's rolling-six data)."""
        rows = []
        for _, r in self.data.iterrows():
            lo, hi = clopper_pearson(int(r["dlts"]), int(r["patients"]))
            rows.append(
                {
                    "cohort": r["label"],
                    "DLTs / patients": f"{r['dlts']}/{r['patients']}",
                    "observed": r["dlts"] / r["patients"],
                    "cp_low": lo,
                    "cp_high": hi,
                    "source": r.get("source", ""),
                }
            )
        return pd.DataFrame(rows)

