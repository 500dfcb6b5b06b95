"""Shared by the dose-toxicity models: cohorts, regimens, validation, published data.

A cohort's regimen is a list of (dose, days) periods over the DLT window (in the packaged
trial, cycle 1: a 28-day infusion). Every cohort's periods cover the same window, so a
period's days are its share of the window's exposure; cohorts whose days add up to different
totals are refused rather than normalised each to its own total. How periods combine into
one DLT risk (period exposure, first-period dose, maintenance dose) is
:func:`bayesblina.analyses.dose_toxicity.regimens.regimen_weights`, used by the PyMC models
and the exact engine alike.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from bayesblina.analyses.dose_toxicity.regimens import TREATMENTS
from bayesblina.core.frequentist import exact_ci_table
from bayesblina.core.model import BayesModel
from bayesblina.core.spec import FromArray
from bayesblina.core.summaries import summarise_draws
from bayesblina.data import load_phase1_cohorts
from bayesblina.data.tables import (
    Col,
    Table,
    check_not_more,
    check_positive_n,
    check_unique,
    frame_from_rows,
)
from bayesblina.errors import DataError, SpecError

PositiveFloat = Annotated[float, Field(gt=0)]
Probability = Annotated[float, Field(gt=0, lt=1)]
__all__ = [
    "COHORT_COLUMNS",
    "CYCLE_DAYS",
    "TREATMENTS",
    "DoseToxData",
    "DoseToxModel",
    "DoseToxOptions",
    "cohorts_from_table",
    "inline_cohorts",
    "is_published_data",
    "regimen_days",
    "risk_summary",
]

#: the packaged trial's DLT window: cycle 1, a 4-week continuous infusion (days)
CYCLE_DAYS = 28
#: relative tolerance when comparing a cohort's days with the DLT window
_DAYS_RTOL = 1e-9


def regimen_days(periods: Any) -> float:
    """Total days of a regimen's ``(dose, days)`` periods."""
    return float(sum(days for _, days in periods))


def _same_days(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=_DAYS_RTOL, abs_tol=0.0)


#: the keys of one inline cohort: ``{ label = "20/40", periods = [[20, 7], [40, 21]],
#: patients = 4, dlts = 2 }`` (through the typed-row engine of :mod:`bayesblina.data.tables`)
COHORT_COLUMNS = (Col("label", "label"), Col("periods", "regimen"), Col("patients", "count"),
                  Col("dlts", "count"))


def _cohort_checks(table: Table) -> None:
    """Unique labels, at least one patient, no more DLTs than patients."""
    check_unique(table, ["label"])
    check_positive_n(table, "patients")
    check_not_more(table, "dlts", "patients", "DLTs cannot exceed patients")


def inline_cohorts(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A spec's inline cohorts as a frame (``label, periods, patients, dlts``), checked.

    Raises
    ------
    DataError
        Naming the cohort (``cohorts.2``), the key, the value and what is allowed.
    """
    df = frame_from_rows(rows, COHORT_COLUMNS, what="cohorts", checks=[_cohort_checks])
    df["label"] = df["label"].astype(str).astype(object)
    for col in ("patients", "dlts"):
        df[col] = df[col].astype("int64")
    return df


class DoseToxData(BaseModel):
    """``[data]`` of a dose-toxicity spec: the packaged phase I cohorts or inline cohorts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: Literal["phase1_cohorts"] | None = None
    #: the PK expansion at 5/15 (0/26) did not collect DLTs formally: off by default
    include_pk_expansion: bool = False
    #: sensitivity to the Discussion's fifth DLT: add one DLT (one more patient) here
    extra_dlt_cohort: str | None = None
    #: the DLT window in days (inline cohorts only): every cohort's periods must add up to it
    dlt_window_days: PositiveFloat | None = None
    cohorts: list[dict[str, Any]] | None = None

    @field_validator("cohorts")
    @classmethod
    def _cover_the_window(
        cls, cohorts: list[dict[str, Any]] | None, info: ValidationInfo
    ) -> list[dict[str, Any]] | None:
        if cohorts is None:
            return cohorts
        try:
            frame = inline_cohorts(cohorts)
        except DataError as err:
            raise ValueError(str(err)) from None
        window = info.data.get("dlt_window_days")
        first, first_days = frame["label"].iat[0], regimen_days(frame["periods"].iat[0])
        for label, periods in zip(frame["label"], frame["periods"], strict=True):
            days = regimen_days(periods)
            if window is not None and not _same_days(days, window):
                raise ValueError(
                    f"cohort {label!r}: its periods last {days:g} days, not the DLT window "
                    f"dlt_window_days = {window:g}; a cohort's periods must add up to the window"
                )
            if window is None and not _same_days(days, first_days):
                raise ValueError(_window_mismatch(label, days, first, first_days))
        return cohorts

    @model_validator(mode="after")
    def _one_source(self) -> DoseToxData:
        if (self.table is None) == (self.cohorts is None):
            raise ValueError("give exactly one of 'table' (packaged data) or 'cohorts' (inline)")
        if self.cohorts is None and self.dlt_window_days is not None:
            raise ValueError(
                f"dlt_window_days = {self.dlt_window_days:g} applies to inline 'cohorts' "
                f"only; the packaged table's window is cycle 1 ({CYCLE_DAYS} days)"
            )
        return self


def _window_mismatch(label: str, days: float, first: str, first_days: float) -> str:
    return (
        f"cohort {label!r}: its periods last {days:g} days but those of cohort {first!r} "
        f"last {first_days:g}; every cohort's periods must add up to the same DLT window "
        f"(days are exposure within the window, never rescaled per cohort)"
    )


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



def _cohort_key(data: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [
        (str(label), tuple((float(d), float(t)) for d, t in periods), int(n), int(y))
        for label, periods, n, y in zip(data["label"], data["periods"], data["patients"],
                                        data["dlts"], strict=True)
    ]


def is_published_data(data: pd.DataFrame) -> bool:
    """True when ``data`` are the packaged trial's cohorts (with or without the PK expansion).

    Labels a base scenario "as published" only for the trial's own numbers.
    """
    if not {"label", "periods", "patients", "dlts"} <= set(data.columns):
        return False
    table = load_phase1_cohorts()
    key = _cohort_key(data)
    return any(
        key == _cohort_key(cohorts_from_table(
            table, DoseToxData(table="phase1_cohorts", include_pk_expansion=pk)))
        for pk in (False, True)
    )


class DoseToxOptions(BaseModel):
    """``[options]`` shared by dose-toxicity models."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    treatment: Literal["period_exposure", "first_period", "maintenance"] = "period_exposure"
    #: interval cut-points: under-dosing < cuts[0] <= target <= cuts[1] < over-dosing
    cuts: Annotated[tuple[Probability, Probability], FromArray] = (0.16, 0.33)
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
            return inline_cohorts(data_spec.cohorts).assign(source="spec")

        return cohorts_from_table(load_phase1_cohorts(), data_spec)

    @classmethod
    def validate_data(cls, data: pd.DataFrame) -> pd.DataFrame:
        """Require unique labels, regimens of positive (dose, days), 0 <= DLTs <= patients.

        Every cohort's periods must add up to the same number of days (the DLT window): a
        period's weight is its days over the window, so a cohort followed for a different
        total would otherwise be rescaled silently to the others' window.
        """
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
        first_label, first_days = data["label"].iloc[0], regimen_days(data["periods"].iloc[0])
        for label, periods in zip(data["label"], data["periods"], strict=True):
            days = regimen_days(periods)
            if not _same_days(days, first_days):
                raise DataError(_window_mismatch(label, days, first_label, first_days))
        out = data.copy()
        out["patients"] = out["patients"].astype("int64")
        out["dlts"] = out["dlts"].astype("int64")
        return out

    def reference_table(self) -> pd.DataFrame:
        """Observed DLTs per cohort with the exact 95% CI (the paper's rolling-six data).

        Columns ``cohort``, ``DLTs / patients``, ``observed``, ``cp_low``, ``cp_high``,
        ``source`` (:func:`~bayesblina.core.frequentist.exact_ci_table`).
        """
        d = self.data
        table = exact_ci_table(d["dlts"], d["patients"], cohort=list(d["label"]))
        table.insert(1, "DLTs / patients", [f"{y}/{n}" for y, n in zip(table["x"], table["n"],
                                                                          strict=True)])
        sources = d["source"] if "source" in d.columns else [""] * len(d)
        return table.drop(columns=["x", "n"]).assign(source=list(sources))

