"""Cross-file checks: the packaged data files must agree wherever the paper overlaps.

Each ``load_*`` function validates its own file. :func:`validate_all` loads every
packaged file and then checks the numbers that appear in more than one table or
figure (Fig 2 against Table 2 and Table 1, the phase I cohorts against the age groups,
the response categories against the Table 2 proportions, ...), raising
:class:`bayesblina.errors.DataError` on the first disagreement.
"""

from __future__ import annotations

import pandas as pd

from bayesblina.data.contradictions import load_contradictions
from bayesblina.data.design import load_phase2_design
from bayesblina.data.dose_finding import load_phase1_cohorts
from bayesblina.data.files import data_checksum, list_data_files
from bayesblina.data.outcomes import (
    load_adverse_events,
    load_patient_fates,
    load_survival_summaries,
)
from bayesblina.data.population import (
    AGE_GROUPS,
    load_age_by_phase,
    load_baseline,
    load_baseline_medians,
    load_fig1_flow,
)
from bayesblina.data.responses import (
    load_cr_by_blasts,
    load_response_categories,
    load_subgroups,
    load_table2_proportions,
    load_text_proportions,
)
from bayesblina.errors import DataError

__all__ = ["validate_all"]


def _one(frame: pd.DataFrame, what: str, **keys: str) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in keys.items():
        mask &= frame[column] == value
    rows = frame[mask.to_numpy(dtype=bool)]
    if len(rows) != 1:
        shown = ", ".join(f"{k} = {v!r}" for k, v in keys.items())
        raise DataError(f"{what}: expected one row with {shown}, found {len(rows)}")
    return rows.iloc[0]


def _same(label: str, left: object, right: object) -> None:
    if left != right:
        raise DataError(f"data files disagree: {label}: {left} vs {right}")


def validate_all() -> dict[str, str]:
    """Load and validate every packaged data file, then check them against each other.

    Returns
    -------
    dict of str to str
        SHA-256 checksum of each packaged data file, by file name.

    Raises
    ------
    DataError
        If any file is invalid or two files disagree on a number the paper prints in
        both places.
    """
    sub = load_subgroups()
    t2 = load_table2_proportions()
    cats = load_response_categories()
    cohorts = load_phase1_cohorts()
    base = load_baseline()
    load_baseline_medians()
    ages = load_age_by_phase()
    blasts = load_cr_by_blasts()
    load_survival_summaries()
    fates = load_patient_fates()
    aes = load_adverse_events()
    text = load_text_proportions()
    flow = load_fig1_flow()
    design = load_phase2_design()
    contra = load_contradictions()

    # Every contradiction id used by a data file is documented.
    known = set(contra["id"])
    for frame in (t2, cohorts, base, aes, text, flow):
        for cid in frame["contradiction_id"].dropna():
            if cid not in known:
                raise DataError(
                    f"{frame.attrs['source_file']}: contradiction_id {cid!r} is not in "
                    "contradictions.toml"
                )

    # Fig 2 against Table 2 (CR overall, by blasts, age < 2).
    fig_all = _one(sub, "subgroups_fig2.csv", factor="all")
    t2_cr = _one(t2, "table2_proportions.csv", population="all_5_15", quantity="cr")
    _same("CR at 5/15 (Fig 2 vs Table 2)", (fig_all["cr"], fig_all["n"]), (t2_cr["x"], t2_cr["n"]))
    for level, quantity in (("<50%", "cr_blasts_lt50"), (">=50%", "cr_blasts_ge50")):
        f = _one(sub, "subgroups_fig2.csv", factor="marrow_blasts", level=level)
        t = _one(t2, "table2_proportions.csv", population="all_5_15", quantity=quantity)
        _same(f"CR blasts {level} (Fig 2 vs Table 2)", (f["cr"], f["n"]), (t["x"], t["n"]))
    f = _one(sub, "subgroups_fig2.csv", factor="age", level="<2")
    t = _one(t2, "table2_proportions.csv", population="age_lt2", quantity="cr")
    _same("CR age < 2 (Fig 2 vs Table 2)", (f["cr"], f["n"]), (t["x"], t["n"]))

    # Response categories against the Table 2 proportions.
    for row in cats.itertuples(index=False):
        if pd.isna(row.count):
            continue
        t = _one(t2, "table2_proportions.csv", population=row.population, quantity=row.category)
        _same(f"{row.population} {row.category} (categories vs proportions)",
              (row.count, row.population_n), (t["x"], t["n"]))

    # CR by blasts against Table 2.
    for population in ("phase_2", "all_5_15", "age_lt2"):
        for level, quantity in (("all", "cr"), ("<50%", "cr_blasts_lt50"),
                                (">=50%", "cr_blasts_ge50")):
            b = _one(blasts, "cr_by_blasts_by_phase.csv", population=population, blasts=level)
            t = _one(t2, "table2_proportions.csv", population=population, quantity=quantity)
            _same(f"{population} {quantity} (blasts file vs Table 2)",
                  (b["cr"], b["n"]), (t["x"], t["n"]))

    # Table 1 against Fig 2 margins (all 70) and the age-by-phase file.
    pairs = {
        ("region", "Europe"): ("region", "EU"),
        ("region", "United States"): ("region", "US"),
        ("marrow_blasts", "<50%"): ("marrow_blasts", "<50%"),
        ("marrow_blasts", ">=50%"): ("marrow_blasts", ">=50%"),
        ("previous_hsct", "no"): ("previous_allohsct", "no"),
        ("previous_hsct", "yes"): ("previous_allohsct", "yes"),
        ("refractory", "yes"): ("refractory", "yes"),
        ("age", "<2"): ("age_group", "<2"),
        ("age", "2-6"): ("age_group", "2-6"),
        ("age", "7-17"): ("age_group", "7-17"),
        ("previous_relapses", "0"): ("previous_relapses", "0"),
        ("previous_relapses", "1"): ("previous_relapses", "1"),
        ("previous_relapses", "2"): ("previous_relapses", "2"),
        ("previous_relapses", ">=3"): ("previous_relapses", ">=3"),
    }
    for (factor, level), (characteristic, blevel) in pairs.items():
        f = _one(sub, "subgroups_fig2.csv", factor=factor, level=level)
        b = _one(base, "baseline_table1.csv", characteristic=characteristic, level=blevel)
        _same(f"{factor} {level} patients (Fig 2 vs Table 1)", f["n"], b["all_5_15"])
    for part, column in (("phase_1", "phase_1"), ("phase_2", "phase_2"),
                         ("all_5_15", "all_5_15")):
        for group in AGE_GROUPS:
            a = _one(ages, "age_by_phase.csv", part=part, age_group=group)
            b = _one(base, "baseline_table1.csv", characteristic="age_group", level=group)
            _same(f"age {group} in {part} (age file vs Table 1)", a["n"], b[column])

    # Phase I cohorts, age groups, Fig 1 and Table 1 sizes.
    esc = cohorts[(cohorts["part"] == "escalation").to_numpy(dtype=bool)]
    exp = _one(cohorts, "phase1_cohorts.csv", part="pk_expansion")
    total = _one(base, "baseline_table1.csv", characteristic="total")
    _same("escalation patients (cohorts vs age file)", int(esc["patients"].sum()),
          _one(ages, "age_by_phase.csv", part="escalation", age_group="<2")["part_n"])
    _same("PK expansion patients (cohorts vs age file)", exp["patients"],
          _one(ages, "age_by_phase.csv", part="pk_expansion", age_group="<2")["part_n"])
    _same("phase I patients (cohorts vs Table 1)", int(esc["patients"].sum()) + exp["patients"],
          total["phase_1"])
    _same("patients at 5/15 (PK expansion + phase II vs Table 1)",
          exp["patients"] + total["phase_2"], total["all_5_15"])
    for row in cohorts.itertuples(index=False):
        part = "pk_expansion" if row.part == "pk_expansion" else "escalation"
        cohort = "all" if row.part == "pk_expansion" else row.cohort
        started = _one(flow, "fig1_flow.csv", part=part, cohort=cohort, stage="started")
        _same(f"cohort {row.cohort} patients (cohorts vs Fig 1)", row.patients, started["n"])
    _same("phase II patients (design vs Table 1)", design.enrolled, total["phase_2"])

    # Fates and adverse events against the population sizes.
    _same("patients at 5/15 (fates vs Table 1)",
          _one(fates, "patient_fates.csv", population="all_5_15", fate="total")["n"],
          total["all_5_15"])
    _same("responders (fates vs Table 2)",
          _one(fates, "patient_fates.csv", population="responders", fate="total")["n"],
          t2_cr["x"])
    for value in aes["denominator"]:
        _same("adverse-event denominator vs Table 1", value, total["all_5_15"])
    _same("CR in escalation (text vs blasts file)",
          (_one(text, "text_proportions.csv", population="escalation", quantity="cr")["x"]),
          _one(blasts, "cr_by_blasts_by_phase.csv", population="escalation", blasts="all")["cr"])

    return {name: data_checksum(name) for name in list_data_files()}
