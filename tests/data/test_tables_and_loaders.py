"""Internal consistency of the packaged trial numbers, and the loaders' validation."""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from bayesblina import data
from bayesblina import data as loaders
from bayesblina.core.frequentist import round_half_up
from bayesblina.errors import DataError

# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def one(frame: pd.DataFrame, **keys: object) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in keys.items():
        mask &= frame[column] == value
    rows = frame[mask.to_numpy(dtype=bool)]
    assert len(rows) == 1, f"expected one row for {keys}, found {len(rows)}"
    return rows.iloc[0]


def value(frame: pd.DataFrame, column: str, **keys: object) -> int:
    return int(one(frame, **keys)[column])


@pytest.fixture(scope="module")
def sub() -> pd.DataFrame:
    return data.load_subgroups()


@pytest.fixture(scope="module")
def t2() -> pd.DataFrame:
    return data.load_table2_proportions()


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    return data.load_baseline()


@pytest.fixture(scope="module")
def ages() -> pd.DataFrame:
    return data.load_age_by_phase()


@pytest.fixture(scope="module")
def cohorts() -> pd.DataFrame:
    return data.load_phase1_cohorts()


@pytest.fixture(scope="module")
def fates() -> pd.DataFrame:
    return data.load_patient_fates()


@pytest.fixture(scope="module")
def aes() -> pd.DataFrame:
    return data.load_adverse_events()


@pytest.fixture(scope="module")
def contra() -> pd.DataFrame:
    return data.load_contradictions()


def contradiction(contra: pd.DataFrame, cid: str) -> pd.Series:
    return one(contra, id=cid)


# --------------------------------------------------------------------------------------
# loaders: columns, dtypes, packaging
# --------------------------------------------------------------------------------------

EXPECTED_COLUMNS = {
    "load_subgroups": ["factor", "level", "label", "order", "n", "cr", "published_pct",
                       "published_ci_low", "published_ci_high", "decimals", "source", "note"],
    "load_table2_proportions": ["population", "quantity", "x", "n", "published_pct",
                                "published_ci_low", "published_ci_high", "decimals", "source",
                                "note", "contradiction_id"],
    "load_text_proportions": ["population", "quantity", "x", "n", "published_pct",
                              "published_ci_low", "published_ci_high", "decimals", "source",
                              "note", "contradiction_id"],
    "load_response_categories": ["population", "population_n", "category", "order", "count",
                                 "source", "note"],
    "load_phase1_cohorts": ["cohort", "part", "regimen", "stepwise", "first_dose",
                            "first_days", "maintenance_dose", "dose_unit", "patients", "dlts",
                            "dlts_crs", "dlts_formally_collected", "source", "note", "contradiction_id"],
    "load_baseline": ["characteristic", "level", "label", "order", "partition", "phase_1",
                      "phase_1_pct", "phase_2", "phase_2_pct", "all_5_15", "all_5_15_pct",
                      "source", "note", "contradiction_id"],
    "load_baseline_medians": ["characteristic", "population", "population_n", "median",
                              "range_low", "range_high", "range_printed", "unit", "source",
                              "note", "contradiction_id"],
    "load_age_by_phase": ["part", "part_n", "age_group", "n", "derived", "source", "note"],
    "load_cr_by_blasts": ["population", "blasts", "cr", "n", "derived", "source", "note"],
    "load_survival_summaries": ["endpoint", "population", "n", "median_months", "ci_low",
                                "ci_high", "median_followup_months", "landmark_time",
                                "landmark_unit", "landmark_pct", "landmark_ci_low",
                                "landmark_ci_high", "source", "note", "contradiction_id"],
    "load_patient_fates": ["population", "fate", "n", "parent", "partition", "source", "note"],
    "load_adverse_events": ["term", "label", "grade", "n", "denominator", "published_pct",
                            "decimals", "source", "note", "contradiction_id"],
    "load_fig1_flow": ["part", "cohort", "stage", "order", "n", "source", "note",
                       "contradiction_id"],
    "load_contradictions": ["id", "kind", "where", "what", "printed", "handling", "affects",
                            "reproduce_quantities", "values"],
}

COUNT_COLUMNS = {"n", "cr", "x", "count", "population_n", "part_n", "patients", "dlts",
                 "dlts_crs",
                 "first_days", "denominator", "order", "decimals", "phase_1", "phase_2",
                 "all_5_15"}


@pytest.mark.parametrize("loader", sorted(EXPECTED_COLUMNS))
def test_loader_columns_and_dtypes(loader: str) -> None:
    frame = getattr(data, loader)()
    assert list(frame.columns) == EXPECTED_COLUMNS[loader]
    assert len(frame) > 0
    for column in frame.columns:
        dtype = frame[column].dtype
        if column in COUNT_COLUMNS:
            assert dtype == "Int64", (column, dtype)
        elif column in ("reproduce_quantities", "values"):
            assert pd.api.types.is_object_dtype(dtype)
        elif pd.api.types.is_float_dtype(dtype):
            assert dtype == "float64"
        elif pd.api.types.is_bool_dtype(dtype):
            assert dtype == "boolean"
        else:
            assert isinstance(dtype, pd.StringDtype), (column, dtype)


def test_every_source_column_is_filled() -> None:
    for loader in EXPECTED_COLUMNS:
        frame = getattr(data, loader)()
        if "source" in frame:
            assert frame["source"].notna().all(), loader


def test_every_packaged_file_has_a_loader() -> None:
    assert sorted(data.DATA_FILES.values()) == data.list_data_files()


def test_data_file_and_checksum() -> None:
    path = data.data_file("subgroups_fig2.csv")
    assert path.is_file()
    assert data.data_checksum("subgroups_fig2.csv") == hashlib.sha256(
        path.read_bytes()).hexdigest()
    assert data.data_checksum(path) == data.data_checksum("subgroups_fig2.csv")
    assert data.load_subgroups().attrs["sha256"] == data.data_checksum(path)
    both = data.data_checksum("subgroups_fig2.csv", "table2_proportions.csv")
    assert len(both) == 64 and both != data.data_checksum("subgroups_fig2.csv")
    assert len(data.data_checksum()) == 64


def test_validate_all_passes() -> None:
    checksums = data.validate_all()
    assert set(checksums) == set(data.list_data_files())


# --------------------------------------------------------------------------------------
# Fig 2 and the population at the recommended dose
# --------------------------------------------------------------------------------------

FIG2_FACTORS = ["region", "marrow_blasts", "age", "previous_hsct", "previous_relapses",
                "refractory"]


def test_fig2_has_all_16_rows(sub: pd.DataFrame) -> None:
    assert len(sub) == 16
    assert sorted(set(sub["factor"])) == sorted(["all", *FIG2_FACTORS])
    assert (sub["decimals"] == 1).all()
    assert list(sub["order"]) == list(range(1, 17))
    zero = one(sub, factor="previous_relapses", level="0")
    assert (zero["cr"], zero["n"], zero["published_ci_low"], zero["published_ci_high"]) == (
        0, 2, 0.0, 84.2)


@pytest.mark.parametrize("factor", FIG2_FACTORS)
def test_fig2_factor_levels_add_up_to_70_patients_and_27_crs(
    sub: pd.DataFrame, factor: str
) -> None:
    rows = sub[(sub["factor"] == factor).to_numpy(dtype=bool)]
    assert int(rows["n"].sum()) == 70
    assert int(rows["cr"].sum()) == 27
    assert (value(sub, "n", factor="all"), value(sub, "cr", factor="all")) == (70, 27)


def test_fig2_and_table2_agree(sub: pd.DataFrame, t2: pd.DataFrame) -> None:
    for level, quantity, expected in (("<50%", "cr_blasts_lt50", (10, 18)),
                                      (">=50%", "cr_blasts_ge50", (17, 52))):
        f = one(sub, factor="marrow_blasts", level=level)
        t = one(t2, population="all_5_15", quantity=quantity)
        assert (f["cr"], f["n"]) == (t["x"], t["n"]) == expected
    assert (value(sub, "cr", factor="all"), value(sub, "n", factor="all")) == (27, 70)
    t = one(t2, population="all_5_15", quantity="cr")
    assert (t["x"], t["n"]) == (27, 70)
    f, t = one(sub, factor="age", level="<2"), one(t2, population="age_lt2", quantity="cr")
    assert (f["cr"], f["n"]) == (t["x"], t["n"]) == (6, 10)


def test_fig2_margins_equal_table1_all_5_15(sub: pd.DataFrame, base: pd.DataFrame) -> None:
    pairs = [("region", "Europe", "region", "EU"), ("region", "United States", "region", "US"),
             ("marrow_blasts", "<50%", "marrow_blasts", "<50%"),
             ("marrow_blasts", ">=50%", "marrow_blasts", ">=50%"),
             ("age", "<2", "age_group", "<2"), ("age", "2-6", "age_group", "2-6"),
             ("age", "7-17", "age_group", "7-17"),
             ("previous_hsct", "yes", "previous_allohsct", "yes"),
             ("previous_hsct", "no", "previous_allohsct", "no"),
             ("refractory", "yes", "refractory", "yes")]
    pairs += [("previous_relapses", lv, "previous_relapses", lv) for lv in ("0", "1", "2", ">=3")]
    for factor, level, characteristic, blevel in pairs:
        assert value(sub, "n", factor=factor, level=level) == value(
            base, "all_5_15", characteristic=characteristic, level=blevel)
    # not refractory = 70 - 39 (Table 1 prints only the 'yes' level)
    assert value(sub, "n", factor="refractory", level="no") == 70 - 39


# --------------------------------------------------------------------------------------
# Study parts: cohorts, ages, Table 1 columns
# --------------------------------------------------------------------------------------


def test_phase1_cohorts(cohorts: pd.DataFrame) -> None:
    esc = cohorts[(cohorts["part"] == "escalation").to_numpy(dtype=bool)]
    assert list(esc["patients"]) == [5, 7, 5, 6]
    assert int(esc["patients"].sum()) == 23
    expansion = one(cohorts, part="pk_expansion")
    assert expansion["patients"] == 26
    assert 23 + expansion["patients"] == 49
    assert list(esc["dlts"]) == [0, 1, 2, 1]
    assert bool(esc["dlts_formally_collected"].all())
    assert not bool(expansion["dlts_formally_collected"]) and expansion["dlts"] == 0
    step = one(cohorts, cohort="4")
    assert (step["first_dose"], step["first_days"], step["maintenance_dose"]) == (15, 7, 30)
    assert (expansion["first_dose"], expansion["first_days"],
            expansion["maintenance_dose"]) == (5, 7, 15)
    assert (cohorts["dose_unit"] == "µg/m²/day").all()


def test_phase1_and_phase2_sizes(cohorts: pd.DataFrame, base: pd.DataFrame) -> None:
    total = one(base, characteristic="total")
    expansion = value(cohorts, "patients", part="pk_expansion")
    assert (total["phase_1"], total["phase_2"], total["all_5_15"]) == (49, 44, 70)
    assert expansion + total["phase_2"] == total["all_5_15"] == 26 + 44
    assert int(cohorts["patients"].sum()) == total["phase_1"]
    assert data.load_phase2_design().enrolled == total["phase_2"]


def test_dlt_total_is_four_not_the_discussions_five(
    cohorts: pd.DataFrame, contra: pd.DataFrame
) -> None:
    values = contradiction(contra, "C01")["values"]
    total = int(cohorts["dlts"].sum())
    assert total == values["results_total"] == 4
    assert total != values["discussion_total"] == 5
    assert list(cohorts["dlts_crs"]) == [0, 1, 2, 0, 0]  # one at 15, two at 30
    assert int(cohorts["dlts_crs"].sum()) == values["crs_dlts"] == 3


def test_age_by_phase(ages: pd.DataFrame, base: pd.DataFrame) -> None:
    def group(part: str) -> list[int]:
        return [value(ages, "n", part=part, age_group=g) for g in ("<2", "2-6", "7-17")]

    assert group("pk_expansion") == [8, 9, 9]
    assert group("phase_2") == [2, 11, 31]
    assert group("all_5_15") == [10, 20, 40]
    assert [a + b for a, b in zip(group("pk_expansion"), group("phase_2"), strict=True)] == \
        group("all_5_15")
    assert group("phase_1") == [8, 23, 18]
    escalation = [a - b for a, b in zip(group("phase_1"), group("pk_expansion"), strict=True)]
    assert escalation == group("escalation") == [0, 14, 9]
    assert escalation[0] == 0  # the escalation enrolled only patients 2 to 17 years old
    assert sum(escalation) == 23
    for part, column in (("phase_1", "phase_1"), ("phase_2", "phase_2"),
                         ("all_5_15", "all_5_15")):
        assert group(part) == [value(base, column, characteristic="age_group", level=g)
                               for g in ("<2", "2-6", "7-17")]
    assert ages[(ages["part"] == "escalation").to_numpy(dtype=bool)]["derived"].all()


def test_table1_partition_characteristics_sum_to_column_n(base: pd.DataFrame) -> None:
    total = one(base, characteristic="total")
    parts = base[base["partition"].to_numpy(dtype=bool)]
    assert set(parts["characteristic"]) == {"sex", "region", "age_group", "previous_allohsct",
                                            "previous_relapses", "marrow_blasts"}
    for characteristic, rows in parts.groupby("characteristic"):
        for column in ("phase_1", "phase_2", "all_5_15"):
            assert int(rows[column].sum()) == total[column], (characteristic, column)


def test_table1_columns_give_the_escalation(base: pd.DataFrame) -> None:
    """phase_1 + phase_2 - all_5_15 = the 23 escalation patients, level by level."""
    rows = base[(base["characteristic"] != "total").to_numpy(dtype=bool)]
    rows = rows[rows[["phase_1", "phase_2", "all_5_15"]].notna().all(axis=1).to_numpy()]
    escalation = rows["phase_1"] + rows["phase_2"] - rows["all_5_15"]
    assert ((escalation >= 0) & (escalation <= 23)).all()
    derived = dict(zip(zip(rows["characteristic"], rows["level"], strict=True), escalation,
                       strict=True))
    parts = rows[rows["partition"].to_numpy(dtype=bool)]
    for characteristic in set(parts["characteristic"]):
        assert sum(v for (c, _), v in derived.items() if c == characteristic) == 23
    assert [derived[("age_group", g)] for g in ("<2", "2-6", "7-17")] == [0, 14, 9]
    assert derived[("marrow_blasts", "<50%")] == 1 and derived[("marrow_blasts", ">=50%")] == 22
    assert derived[("previous_relapses", "0")] == 0
    # MLL subtypes add up in every column
    for column in ("phase_1", "phase_2", "all_5_15"):
        assert value(base, column, characteristic="genetic_abnormality", level="mll_total") == (
            value(base, column, characteristic="genetic_abnormality", level="mll_af4")
            + value(base, column, characteristic="genetic_abnormality", level="other_mll"))


def test_table1_medians_and_the_range_contradiction(contra: pd.DataFrame) -> None:
    med = data.load_baseline_medians()
    rows = med[(med["characteristic"] == "months_last_relapse_to_first_infusion").to_numpy(
        dtype=bool)]
    high = dict(zip(rows["population"], rows["range_high"], strict=True))
    assert high["all_5_15"] > max(high["phase_1"], high["phase_2"])  # C10: impossible
    values = contradiction(contra, "C10")["values"]
    assert (values["phase_1_max"], values["phase_2_max"], values["all_5_15_max"]) == (
        high["phase_1"], high["phase_2"], high["all_5_15"])
    age = med[(med["characteristic"] == "age").to_numpy(dtype=bool)]
    assert list(age["median"]) == [6, 10.5, 8]


# --------------------------------------------------------------------------------------
# Table 2
# --------------------------------------------------------------------------------------


def test_response_categories_partition_each_population() -> None:
    cats = data.load_response_categories()
    totals = {p: int(rows["count"].sum()) for p, rows in cats.groupby("population")}
    assert totals == {"phase_2": 44, "all_5_15": 70, "age_lt2": 10}
    na = cats[cats["count"].isna().to_numpy()]
    assert list(zip(na["population"], na["category"], strict=True)) == [
        ("age_lt2", "not_assessed")]
    # the categories equal the Table 2 proportions rows
    t2 = data.load_table2_proportions()
    for row in cats.dropna(subset=["count"]).itertuples(index=False):
        t = one(t2, population=row.population, quantity=row.category)
        assert (t["x"], t["n"]) == (row.count, row.population_n)
    assert 43 == 70 - 27  # nonresponders at 5/15


def test_blast_splits_add_to_cr_and_patients() -> None:
    blasts = data.load_cr_by_blasts()

    def get(population: str, level: str) -> tuple[int, int]:
        row = one(blasts, population=population, blasts=level)
        return int(row["cr"]), int(row["n"])

    for population, total, low, high in (
        ("phase_2", (14, 44), (5, 12), (9, 32)),
        ("all_5_15", (27, 70), (10, 18), (17, 52)),
        ("age_lt2", (6, 10), (2, 2), (4, 8)),
        ("pk_expansion", (13, 26), (5, 6), (8, 20)),
    ):
        assert get(population, "all") == total
        assert get(population, "<50%") == low
        assert get(population, ">=50%") == high
        assert (low[0] + high[0], low[1] + high[1]) == total
    for level in ("all", "<50%", ">=50%"):  # PK expansion = all at 5/15 minus phase II
        assert get("pk_expansion", level) == tuple(
            a - b for a, b in zip(get("all_5_15", level), get("phase_2", level), strict=True))
    assert get("escalation", "all") == (7, 23)


def test_mrd_categories_among_cr_add_up(t2: pd.DataFrame) -> None:
    for population, cr in (("phase_2", 14), ("all_5_15", 27), ("age_lt2", 6)):
        parts = [value(t2, "x", population=population, quantity=q)
                 for q in ("complete_mrd_among_cr", "no_mrd_response_among_cr",
                           "no_mrd_data_among_cr")]
        assert sum(parts) == cr == value(t2, "x", population=population, quantity="cr")
        for q in ("mrd_response_among_cr", "complete_mrd_among_cr", "no_mrd_response_among_cr",
                  "no_mrd_data_among_cr", "relapse_or_death_after_cr"):
            assert value(t2, "n", population=population, quantity=q) == cr
        assert value(t2, "x", population=population, quantity="complete_mrd_among_cr") <= \
            value(t2, "x", population=population, quantity="mrd_response_among_cr")
    assert [value(t2, "x", population="all_5_15", quantity=q)
            for q in ("complete_mrd_among_cr", "no_mrd_response_among_cr",
                      "no_mrd_data_among_cr")] == [14, 12, 1]


def test_allohsct_rows_add_up(t2: pd.DataFrame) -> None:
    for population in ("phase_2", "all_5_15"):
        received = value(t2, "x", population=population, quantity="received_allohsct")
        in_cr = value(t2, "x", population=population, quantity="allohsct_in_blina_cr")
        after_failure = value(t2, "x", population=population,
                              quantity="nonresponders_subsequent_treatment")
        assert received == in_cr + after_failure  # 13 = 5 + 8; 24 = 13 + 11
    for population in ("phase_2", "all_5_15", "age_lt2"):
        assert value(t2, "x", population=population, quantity="cr_blina_only") <= value(
            t2, "x", population=population, quantity="allohsct_in_blina_cr")
        assert value(t2, "x", population=population, quantity="allohsct_in_blina_cr") <= value(
            t2, "x", population=population, quantity="cr")


def test_relapse_after_cr_contradiction_is_real(t2: pd.DataFrame, fates: pd.DataFrame,
                                                contra: pd.DataFrame) -> None:
    phase2 = value(t2, "x", population="phase_2", quantity="relapse_or_death_after_cr")
    pooled = value(t2, "x", population="all_5_15", quantity="relapse_or_death_after_cr")
    assert phase2 > pooled  # a part larger than the whole: C05
    relapsed_and_died = value(fates, "n", population="responders", fate="relapsed_and_died")
    assert relapsed_and_died > pooled
    values = contradiction(contra, "C05")["values"]
    assert (values["phase_2"], values["all_5_15"], values["text_relapsed_and_died"]) == (
        phase2, pooled, relapsed_and_died)
    relapses = sum(value(fates, "n", population="responders", fate=f)
                   for f in ("relapsed_alive", "withdrew_consent_after_relapse",
                             "relapsed_and_died"))
    assert relapses == values["text_relapsed_any"] == 19
    died_in_cr = value(fates, "n", population="responders", fate="died_in_cr_after_allohsct")
    assert relapses + died_in_cr == values["text_relapse_or_death"] == 22


# --------------------------------------------------------------------------------------
# Fates, Fig 1 flow, survival, adverse events
# --------------------------------------------------------------------------------------


def test_patient_fates_add_up(fates: pd.DataFrame) -> None:
    def n(population: str, fate: str) -> int:
        return value(fates, "n", population=population, fate=fate)

    assert n("all_5_15", "completed_2y_followup") + n("all_5_15", "died") + n(
        "all_5_15", "withdrew_consent") + n("all_5_15", "physician_decision") + n(
        "all_5_15", "lost_to_followup") == 14 + 48 + 6 + 1 + 1 == 70
    assert n("all_5_15", "ended_participation") == 56
    assert sum(n("responders", f) for f in (
        "in_remission_at_end", "relapsed_alive", "withdrew_consent",
        "died_in_cr_after_allohsct", "relapsed_and_died")) == 4 + 2 + 3 + 3 + 15 == 27
    assert n("responders", "total") + n("nonresponders", "total") == n("all_5_15", "total")
    # The Results' fates of responders and nonresponders fit Fig 1's fates of all 70:
    alive_at_end = n("responders", "in_remission_at_end") + n("responders", "relapsed_alive") \
        + n("nonresponders", "alive_at_end")
    assert alive_at_end == n("all_5_15", "completed_2y_followup") == 14
    responders_died = n("responders", "died_in_cr_after_allohsct") + n(
        "responders", "relapsed_and_died")
    nonresponders_died = n("all_5_15", "died") - responders_died  # 30
    nonresponders_withdrew = n("all_5_15", "withdrew_consent") - n(
        "responders", "withdrew_consent")  # 3
    rest = n("nonresponders", "total") - n("nonresponders", "alive_at_end") - \
        nonresponders_died - nonresponders_withdrew
    assert rest == n("all_5_15", "physician_decision") + n("all_5_15", "lost_to_followup") == 2
    assert n("nonresponders", "received_allohsct_after_blina") == 11


def test_fig1_flow() -> None:
    flow = data.load_fig1_flow()

    def n(part: str, cohort: str, stage: str) -> int:
        return value(flow, "n", part=part, cohort=cohort, stage=stage)

    escalation = sum(n("escalation", c, "started") for c in "1234")
    assert n("phase_1", "all", "screened") - n("phase_1", "all", "ineligible") == \
        escalation + n("pk_expansion", "all", "started") == 49
    assert n("phase_2", "all", "screened") - n("phase_2", "all", "ineligible") == \
        n("phase_2", "all", "started") == 44
    assert n("pk_expansion", "all", "started") + n("phase_2", "all", "started") == \
        n("all_5_15", "all", "efficacy_analysis") == n("all_5_15", "all", "safety_analysis")
    assert n("escalation", "3", "received_cycle_1") < n("escalation", "3", "started")  # C11


def test_survival_summaries(contra: pd.DataFrame) -> None:
    surv = data.load_survival_summaries()
    rfs = one(surv, endpoint="rfs", population="responders_all_5_15")
    assert (rfs["n"], rfs["median_months"], rfs["ci_low"], rfs["ci_high"]) == (27, 4.4, 2.3, 7.6)
    assert (rfs["landmark_time"], rfs["landmark_unit"], rfs["landmark_pct"]) == (6, "months", 42)
    assert rfs["median_followup_months"] == 23.1
    os_ = one(surv, endpoint="os", population="all_5_15")
    assert (os_["n"], os_["median_months"], os_["ci_low"], os_["ci_high"],
            os_["median_followup_months"]) == (70, 7.5, 4.0, 11.8, 23.8)
    mrd = value(surv, "n", endpoint="rfs", population="complete_mrd_responders")
    no_mrd = value(surv, "n", endpoint="rfs", population="cr_without_complete_mrd")
    assert (mrd, no_mrd) == (14, 12)
    assert mrd + no_mrd == 26 != 27  # C13: one responder without MRD data left out
    assert contradiction(contra, "C13")["values"]["responders"] == 27


def test_adverse_events_add_up(aes: pd.DataFrame) -> None:
    fatal = aes[(aes["grade"] == "fatal").to_numpy(dtype=bool)]
    total = int(one(fatal, term="fatal_ae_total")["n"])
    assert total == 6
    assert int(fatal[(fatal["term"] != "fatal_ae_total").to_numpy(dtype=bool)]["n"].sum()) == 6
    assert value(aes, "n", term="crs", grade="3") + value(aes, "n", term="crs", grade="4") == \
        value(aes, "n", term="crs", grade="3+") == 4
    assert value(aes, "n", term="crs_treatment_interrupted", grade="3+") + value(
        aes, "n", term="crs_treatment_discontinued", grade="3+") == 4
    assert value(aes, "n", term="somnolence", grade="3") + value(
        aes, "n", term="neuralgia", grade="3") == value(aes, "n", term="neurologic_events",
                                                        grade="3") == 3
    for term in ("crs", "alt_increased", "ast_increased"):
        assert value(aes, "n", term=term, grade="any") >= value(aes, "n", term=term, grade="3+")
    for term in ("anemia", "pyrexia"):
        any_pct = one(aes, term=term, grade="any")["published_pct"]
        assert any_pct >= one(aes, term=term, grade="3+")["published_pct"]
    assert value(aes, "n", term="tremor", grade="any") + value(
        aes, "n", term="dizziness", grade="any") + value(
        aes, "n", term="somnolence", grade="any") <= value(aes, "n", term="neuro_psych_events",
                                                           grade="any")
    assert (aes["denominator"] == 70).all()
    grade3plus = aes[(aes["grade"] == "3+").to_numpy(dtype=bool)
                     & (aes["source"] == "Table 3").to_numpy(dtype=bool)]
    shown = grade3plus[(grade3plus["term"] != "any_ae_grade3plus_ge5pct").to_numpy(dtype=bool)]
    assert (shown["n"] / 70 >= 0.05).all()  # Table 3 lists grade >= 3 AEs in >= 5%


def test_phase2_design() -> None:
    design = data.load_phase2_design()
    assert (design.n1, design.n2, design.n) == (21, 19, 40)
    assert design.n1 + design.n2 == design.n
    assert (design.p0, design.p1, design.alpha, design.power) == (0.10, 0.275, 0.05, 0.80)
    assert design.alpha_sidedness == "two-sided" and design.alpha_one_sided == 0.025
    assert (design.reference.r1, design.reference.r) == (2, 8)
    assert "Simon-like two-stage design" in design.wording


# --------------------------------------------------------------------------------------
# Printed percentages against their counts
# --------------------------------------------------------------------------------------


def _printed_cells() -> list[tuple[str, int, int, float, int, str | None]]:
    """(id, x, n, printed %, decimals, contradiction id of the row) for every printed %."""
    cells = []
    for r in data.load_subgroups().itertuples(index=False):
        cells.append((f"fig2:{r.factor}={r.level}", r.cr, r.n, r.published_pct, r.decimals,
                      None))
    for name, frame in (("table2", data.load_table2_proportions()),
                        ("text", data.load_text_proportions())):
        for r in frame.itertuples(index=False):
            if pd.notna(r.published_pct):
                cells.append((f"{name}:{r.population}:{r.quantity}", r.x, r.n, r.published_pct,
                              r.decimals, r.contradiction_id))
    base = data.load_baseline()
    total = one(base, characteristic="total")
    for r in base.itertuples(index=False):
        for column in ("phase_1", "phase_2", "all_5_15"):
            pct = getattr(r, f"{column}_pct")
            if r.characteristic != "total" and pd.notna(pct):
                cells.append((f"table1:{column}:{r.characteristic}={r.level}", getattr(r, column),
                              total[column], pct, 0, r.contradiction_id))
    for r in data.load_adverse_events().itertuples(index=False):
        if pd.notna(r.n) and pd.notna(r.published_pct):
            cells.append((f"ae:{r.term}:{r.grade}", r.n, r.denominator, r.published_pct,
                          r.decimals, r.contradiction_id))
    return [(i, int(x), int(n), float(p), int(d), None if pd.isna(c) else str(c))
            for i, x, n, p, d, c in cells]


PRINTED = _printed_cells()
PERCENTAGE_IDS = {str(c) for c in data.load_contradictions().query("kind == 'percentage'")["id"]}


@pytest.mark.parametrize(("cell", "x", "n", "printed", "decimals", "cid"), PRINTED,
                         ids=[c[0] for c in PRINTED])
def test_printed_percentage_matches_its_counts(
    cell: str, x: int, n: int, printed: float, decimals: int, cid: str | None
) -> None:
    recomputed = round_half_up(Fraction(100 * x, n), decimals)
    if recomputed != printed:
        assert cid in PERCENTAGE_IDS, (
            f"{cell}: printed {printed} but {x}/{n} gives {recomputed}, and no 'percentage' "
            "contradiction records it"
        )


def test_recorded_percentage_contradictions_do_disagree(contra: pd.DataFrame) -> None:
    for entry in contra[(contra["kind"] == "percentage").to_numpy(dtype=bool)].itertuples():
        values = entry.values
        if "printed_pct" in values:
            recomputed = round_half_up(Fraction(100 * values["x"], values["n"]), 0)
            assert recomputed == values["recomputed_pct"] != values["printed_pct"], entry.id
            cells = [c for c in PRINTED if c[5] == entry.id]
            assert cells, entry.id
            assert any(round_half_up(Fraction(100 * c[1], c[2]), c[4]) != c[3] for c in cells)
        else:  # a CI bound (C17)
            assert values["printed_ci_high"] != values["recomputed_ci_high"], entry.id


def test_contradiction_ids_in_data_are_documented(contra: pd.DataFrame) -> None:
    known = set(contra["id"])
    used: set[str] = set()
    for loader in ("load_table2_proportions", "load_text_proportions", "load_phase1_cohorts",
                   "load_baseline", "load_baseline_medians", "load_survival_summaries",
                   "load_adverse_events", "load_fig1_flow"):
        ids = set(getattr(data, loader)()["contradiction_id"].dropna())
        assert ids <= known, (loader, ids - known)
        used |= ids
    # every entry that names a file is referenced by a row in a CSV or is design-level
    for entry in contra.itertuples():
        if any(f.endswith(".csv") for f in entry.affects.split("; ")):
            assert entry.id in used, entry.id


def test_text_vs_table_contradiction_bcr_abl(base: pd.DataFrame, contra: pd.DataFrame) -> None:
    table1 = value(base, "all_5_15", characteristic="genetic_abnormality", level="bcr_abl")
    text = data.load_text_proportions()
    ph = one(text, population="all_5_15", quantity="cr_ph_positive")
    values = contradiction(contra, "C07")["values"]
    assert table1 == values["table1_all_5_15"] == 2
    assert ph["n"] == values["text_ph_positive"] == 3 != table1
    assert values["table1_phase_1"] + values["table1_phase_2"] == 3


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def packaged_text(name: str) -> str:
    return data.data_file(name).read_text(encoding="utf-8")


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(DataError, match=r"data file not found: .*nowhere\.csv"):
        data.load_subgroups(missing)
    with pytest.raises(DataError, match="data file not found"):
        data.load_phase2_design(tmp_path / "nowhere.toml")
    with pytest.raises(DataError, match="data file not found"):
        data.data_file("nowhere.csv")
    with pytest.raises(DataError, match="data file not found"):
        data.data_checksum(missing)


def test_responders_exceed_patients(tmp_path: Path) -> None:
    text = packaged_text("table2_proportions.csv").replace(
        "phase_2,cr,14,44,", "phase_2,cr,50,44,")
    path = write(tmp_path, "bad_table2.csv", text)
    with pytest.raises(DataError) as info:
        data.load_table2_proportions(path)
    message = str(info.value)
    assert "bad_table2.csv" in message and "line 2" in message
    assert "column 'x'" in message and "50" in message and "n = 44" in message


def test_subgroup_cr_exceeds_n(tmp_path: Path) -> None:
    text = packaged_text("subgroups_fig2.csv").replace(
        "marrow_blasts,<50%,< 50%,4,18,10,", "marrow_blasts,<50%,< 50%,4,18,19,")
    path = write(tmp_path, "bad_sub.csv", text)
    with pytest.raises(DataError, match=r"bad_sub\.csv: line 5, column 'cr': value 19 .*n = 18"):
        data.load_subgroups(path)


def test_negative_count(tmp_path: Path) -> None:
    text = packaged_text("subgroups_fig2.csv").replace(
        "region,United States,United States,3,22,8,", "region,United States,United States,3,22,-8,")
    path = write(tmp_path, "negative.csv", text)
    with pytest.raises(DataError) as info:
        data.load_subgroups(path)
    message = str(info.value)
    assert "negative.csv" in message and "column 'cr'" in message and "'-8'" in message
    assert "cannot be negative" in message


def test_subgroup_levels_do_not_add_up(tmp_path: Path) -> None:
    text = packaged_text("subgroups_fig2.csv").replace(
        "region,Europe,Europe,2,48,19,", "region,Europe,Europe,2,47,19,")
    path = write(tmp_path, "unbalanced.csv", text)
    with pytest.raises(DataError) as info:
        data.load_subgroups(path)
    message = str(info.value)
    assert "unbalanced.csv" in message and "factor 'region'" in message
    assert "69 patients" in message and "70 patients" in message


def test_subgroup_without_population_row(tmp_path: Path) -> None:
    lines = packaged_text("subgroups_fig2.csv").splitlines(keepends=True)
    path = write(tmp_path, "no_all.csv", "".join(lines[:1] + lines[2:]))
    with pytest.raises(DataError, match=r"no_all\.csv: no row with factor 'all'"):
        data.load_subgroups(path)


def test_missing_column(tmp_path: Path) -> None:
    path = write(tmp_path, "cols.csv", "factor,level,n\nall,all,70\n")
    with pytest.raises(DataError, match=r"cols\.csv: missing column\(s\) 'label'"):
        data.load_subgroups(path)


def test_non_numeric_value(tmp_path: Path) -> None:
    text = packaged_text("table2_proportions.csv").replace(
        "all_5_15,cr,27,70,39,27,51,", "all_5_15,cr,27,70,39%,27,51,")
    path = write(tmp_path, "nonnumeric.csv", text)
    with pytest.raises(DataError) as info:
        data.load_table2_proportions(path)
    message = str(info.value)
    assert "nonnumeric.csv" in message and "column 'published_pct'" in message
    assert "'39%'" in message and "between 0 and 100" in message


def test_ragged_row(tmp_path: Path) -> None:
    path = write(tmp_path, "ragged.csv", packaged_text("age_by_phase.csv") + "x,1,<2\n")
    with pytest.raises(DataError, match=r"ragged\.csv: line 17: has 3 fields"):
        data.load_age_by_phase(path)


def test_dlts_exceed_patients(tmp_path: Path) -> None:
    text = packaged_text("phase1_cohorts.csv").replace(
        "30,µg/m²/day,5,2,2,true", "30,µg/m²/day,5,6,2,true")
    path = write(tmp_path, "dlts.csv", text)
    with pytest.raises(DataError, match=r"dlts\.csv: line 4, column 'dlts': value 6 .*"
                                        "patients = 5"):
        data.load_phase1_cohorts(path)


def test_regimen_label_must_match_doses(tmp_path: Path) -> None:
    text = packaged_text("phase1_cohorts.csv").replace("4,escalation,15/30,", "4,escalation,5/30,")
    path = write(tmp_path, "regimen.csv", text)
    with pytest.raises(DataError, match=r"column 'regimen': value '5/30' .*'15/30'"):
        data.load_phase1_cohorts(path)


def test_response_categories_must_add_up(tmp_path: Path) -> None:
    text = packaged_text("response_categories_table2.csv").replace(
        "phase_2,44,no_response,5,14,", "phase_2,44,no_response,5,15,")
    path = write(tmp_path, "cats.csv", text)
    with pytest.raises(DataError, match=r"cats\.csv: lines .*'phase_2' add up to 45.*44"):
        data.load_response_categories(path)


def test_unknown_category_label(tmp_path: Path) -> None:
    text = packaged_text("response_categories_table2.csv").replace(
        "phase_2,44,partial_remission,", "phase_2,44,partial,")
    path = write(tmp_path, "label.csv", text)
    with pytest.raises(DataError, match=r"column 'category': value 'partial' .*allowed values"):
        data.load_response_categories(path)


def test_ci_must_contain_estimate(tmp_path: Path) -> None:
    text = packaged_text("subgroups_fig2.csv").replace("38.6,27.2,51.0", "38.6,40.2,51.0")
    path = write(tmp_path, "ci.csv", text)
    with pytest.raises(DataError, match=r"ci\.csv: line 2, column 'published_pct'"):
        data.load_subgroups(path)


def test_fates_partition_must_add_up(tmp_path: Path) -> None:
    text = packaged_text("patient_fates.csv").replace(
        "responders,relapsed_and_died,15,", "responders,relapsed_and_died,14,")
    path = write(tmp_path, "fates.csv", text)
    with pytest.raises(DataError, match=r"fates\.csv: lines .*partition 'total' add up to 26, "
                                        "not 27"):
        data.load_patient_fates(path)


def test_table1_partition_must_add_up(tmp_path: Path) -> None:
    text = packaged_text("baseline_table1.csv").replace(
        "sex,male,Male,1,true,28,", "sex,male,Male,1,true,27,")
    path = write(tmp_path, "table1.csv", text)
    with pytest.raises(DataError, match=r"table1\.csv: lines .*'sex'.* add up to 48 in column "
                                        "'phase_1', not the column size 49"):
        data.load_baseline(path)


def test_bad_design_toml(tmp_path: Path) -> None:
    text = packaged_text("phase2_design.toml").replace("n2 = 19", "n2 = 18")
    path = write(tmp_path, "design.toml", text)
    with pytest.raises(DataError, match=r"design\.toml: \[published\] n = 40 is invalid: it must "
                                        "equal n1 \\+ n2 = 39"):
        data.load_phase2_design(path)
    path = write(tmp_path, "broken.toml", "n1 = [")
    with pytest.raises(DataError, match=r"broken\.toml: is not valid TOML"):
        data.load_phase2_design(path)
    text = packaged_text("phase2_design.toml").replace("p1 = 0.275", 'p1 = "0.275"')
    path = write(tmp_path, "p1.toml", text)
    with pytest.raises(DataError, match=r"p1\.toml: \[published\] p1 = '0.275' is invalid"):
        data.load_phase2_design(path)


def test_bad_contradictions_toml(tmp_path: Path) -> None:
    text = packaged_text("contradictions.toml").replace('kind = "caveat"', 'kind = "oops"')
    path = write(tmp_path, "contra.toml", text)
    with pytest.raises(DataError, match=r"contra\.toml: .*\(C02\): kind 'oops' is invalid"):
        data.load_contradictions(path)
    text = packaged_text("contradictions.toml").replace('id = "C02"', 'id = "C01"')
    path = write(tmp_path, "dup.toml", text)
    with pytest.raises(DataError, match=r"dup\.toml: .*id 'C01' is used twice"):
        data.load_contradictions(path)


def test_loaders_accept_packaged_names_and_paths() -> None:
    by_default = data.load_subgroups()
    by_path = data.load_subgroups(data.data_file("subgroups_fig2.csv"))
    by_name = data.load_subgroups("subgroups_fig2.csv")
    pd.testing.assert_frame_equal(by_default, by_path)
    pd.testing.assert_frame_equal(by_default, by_name)
    assert loaders.DATA_FILES["subgroups"] == "subgroups_fig2.csv"
