"""Every published proportion and exact CI, recomputed from the counts."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pandas as pd
import pytest
from scipy.stats import beta, binom

from bayesblina import data
from bayesblina.design.simon import design_for_sizes, simon_oc
from bayesblina.errors import DataError
from bayesblina.reproduce import (
    COLUMNS,
    JSON_KEYS,
    clopper_pearson,
    format_table,
    percent,
    reproduce_all,
    round_half_up,
    to_records,
)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return reproduce_all()


# --------------------------------------------------------------------------------------
# Fig 2 and Table 2, row by row, computed independently of reproduce_all()
# --------------------------------------------------------------------------------------


def _cp_beta(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Clopper-Pearson interval from its closed form in Beta quantiles."""
    a = 1.0 - level
    low = 0.0 if x == 0 else float(beta.ppf(a / 2, x, n - x + 1))
    high = 1.0 if x == n else float(beta.ppf(1 - a / 2, x + 1, n - x))
    return low, high


def _fig2_cases() -> list[pytest.param]:
    cases = []
    for r in data.load_subgroups().itertuples(index=False):
        cases.append(pytest.param(
            int(r.cr), int(r.n), r.published_pct, r.published_ci_low, r.published_ci_high,
            int(r.decimals), id=f"Fig 2 | {r.factor} = {r.level}",
        ))
    return cases


def _table2_cases() -> list[pytest.param]:
    cases = []
    for r in data.load_table2_proportions().itertuples(index=False):
        cases.append(pytest.param(
            int(r.x), int(r.n), r.published_pct, r.published_ci_low, r.published_ci_high,
            int(r.decimals), None if pd.isna(r.contradiction_id) else str(r.contradiction_id),
            id=f"Table 2 | {r.population} | {r.quantity}",
        ))
    return cases


FIG2 = _fig2_cases()
TABLE2 = _table2_cases()
PERCENTAGE_CONTRADICTIONS = data.load_contradictions().query("kind == 'percentage'")
FLAGGED = {q: cid for cid, qs in zip(PERCENTAGE_CONTRADICTIONS["id"],
                                     PERCENTAGE_CONTRADICTIONS["reproduce_quantities"],
                                     strict=True) for q in qs}


def test_fig2_has_16_rows_and_table2_has_every_proportion() -> None:
    assert len(FIG2) == 16
    # 16 quantities x 3 columns, less the three NA cells (age < 2: not assessed and
    # nonresponders' subsequent treatment) = 49 proportions with a count
    assert len(TABLE2) == 49


@pytest.mark.parametrize(("x", "n", "pct", "low", "high", "decimals"), FIG2)
def test_fig2_point_and_exact_ci(
    x: int, n: int, pct: float, low: float, high: float, decimals: int
) -> None:
    assert decimals == 1
    assert round_half_up(Fraction(100 * x, n), 1) == pct
    ci = _cp_beta(x, n)
    assert round_half_up(100 * ci[0], 1) == low
    assert round_half_up(100 * ci[1], 1) == high


@pytest.mark.parametrize(("x", "n", "pct", "low", "high", "decimals", "cid"), TABLE2)
def test_table2_point_and_exact_ci(
    request: pytest.FixtureRequest, x: int, n: int, pct: float, low: float, high: float,
    decimals: int, cid: str | None,
) -> None:
    assert decimals == 0
    stem = request.node.callspec.id
    point = round_half_up(Fraction(100 * x, n), 0)
    checks = [(f"{stem} | %", pct, point)]
    if pd.notna(low):
        ci = _cp_beta(x, n)
        checks += [(f"{stem} | % (95% CI low)", low, round_half_up(100 * ci[0], 0)),
                   (f"{stem} | % (95% CI high)", high, round_half_up(100 * ci[1], 0))]
    for quantity, printed, recomputed in checks:
        if quantity in FLAGGED:
            assert printed != recomputed, f"{quantity} is recorded as a contradiction but matches"
            assert FLAGGED[quantity] == cid
        else:
            assert printed == recomputed, f"{quantity}: printed {printed}, recomputed {recomputed}"


# --------------------------------------------------------------------------------------
# reproduce_all(): every row, its flags and its coverage
# --------------------------------------------------------------------------------------

ALL_ROWS = reproduce_all()


@pytest.mark.parametrize("quantity", list(ALL_ROWS["quantity"]))
def test_every_published_number_reproduces_or_is_a_known_contradiction(
    table: pd.DataFrame, quantity: str
) -> None:
    row = table[(table["quantity"] == quantity).to_numpy(dtype=bool)].iloc[0]
    if pd.isna(row["contradiction_id"]):
        assert bool(row["matches"]), (
            f"{quantity}: published {row['published']} but reproduced {row['reproduced']}"
        )
    else:
        assert not bool(row["matches"]), f"{quantity} is flagged {row['contradiction_id']} " \
            "but reproduces: the contradiction record is stale"


def test_frame_shape_and_dtypes(table: pd.DataFrame) -> None:
    assert tuple(table.columns) == COLUMNS
    assert table["quantity"].is_unique
    assert table["published"].dtype == "float64"
    assert table["reproduced"].dtype == "float64"
    assert table["matches"].dtype == bool
    assert table["source"].notna().all()


def test_coverage_of_fig2_and_table2(table: pd.DataFrame) -> None:
    quantities = set(table["quantity"])
    for r in data.load_subgroups().itertuples(index=False):
        label = "all" if r.factor == "all" else f"{r.factor} = {r.level}"
        for suffix in ("CR %", "CR % (95% CI low)", "CR % (95% CI high)"):
            assert f"Fig 2 | {label} | {suffix}" in quantities
    ci_rows = 0
    for r in data.load_table2_proportions().itertuples(index=False):
        stem = f"Table 2 | {r.population} | {r.quantity} | %"
        assert stem in quantities
        if pd.notna(r.published_ci_low):
            ci_rows += 1
            assert f"{stem} (95% CI low)" in quantities
            assert f"{stem} (95% CI high)" in quantities
    # CIs printed: CR, CR by blasts (2 rows), MRD response (3 columns each) and complete
    # MRD response (phase II and all 70; none printed for age < 2)
    assert ci_rows == 4 * 3 + 2 == 14
    assert table["quantity"].str.startswith("Fig 2 |").sum() == 16 * 3
    assert table["quantity"].str.startswith("Table 2 |").sum() == 49 + 2 * 14


def test_every_percentage_contradiction_is_flagged(table: pd.DataFrame) -> None:
    flagged = table[table["contradiction_id"].notna().to_numpy()]
    assert dict(zip(flagged["quantity"], flagged["contradiction_id"], strict=True)) == FLAGGED
    assert not flagged["matches"].any()
    assert set(flagged["contradiction_id"]) == set(PERCENTAGE_CONTRADICTIONS["id"])
    assert set(FLAGGED.values()) == {"C03", "C04", "C06", "C08", "C09", "C17", "C18"}
    unexplained = table[~table["matches"] & table["contradiction_id"].isna().to_numpy()]
    assert unexplained.empty, list(unexplained["quantity"])


def test_known_contradiction_values(table: pd.DataFrame) -> None:
    def row(quantity: str) -> pd.Series:
        return table[(table["quantity"] == quantity).to_numpy(dtype=bool)].iloc[0]

    assert (row("Table 2 | age_lt2 | received_allohsct | %")[["published", "reproduced"]]
            .tolist() == [10.0, 40.0])
    assert (row("Table 1 | all_5_15 | genetic_abnormality = hypodiploidy | %")
            [["published", "reproduced"]].tolist() == [9.0, 6.0])
    assert (row("Table 3 | all_5_15 | fatal_ae_total (grade fatal) | %")
            [["published", "reproduced"]].tolist() == [7.0, 9.0])
    assert (row("Table 2 | all_5_15 | cr_blasts_lt50 | % (95% CI high)")
            [["published", "reproduced"]].tolist() == [79.0, 78.0])
    # ... while Fig 2 prints the same bound correctly
    assert bool(row("Fig 2 | marrow_blasts = <50% | CR % (95% CI high)")["matches"])


def test_format_table(table: pd.DataFrame) -> None:
    text = format_table(table)
    lines = text.splitlines()
    matched = int(table["matches"].sum())
    assert lines[-1] == (f"{matched} of {len(table)} published numbers reproduced; "
                         f"{len(FLAGGED)} known contradictions")
    assert lines[0].split() == ["quantity", "published", "reproduced", "status"]
    assert "KNOWN C06" in text and "MISMATCH" not in text
    bad = table.copy()
    bad.loc[0, "reproduced"] = 99.0
    bad.loc[0, "matches"] = False
    assert format_table(bad).splitlines()[-1].endswith("; 1 UNEXPLAINED mismatches")
    with pytest.raises(DataError, match="missing column"):
        format_table(table.drop(columns=["published"]))


# --------------------------------------------------------------------------------------
# JSON records (``bayesblina reproduce --json``): printed vs computed kept apart
# --------------------------------------------------------------------------------------


def _printed_numbers() -> dict[str, set[float]]:
    """Every number the packaged data files record as printed, by data file.

    Read from the files' ``published_*`` / ``*_pct`` columns and ``phase2_design.toml``'s
    ``[published]`` table, independently of :func:`reproduce_all`.
    """
    def values(frame: pd.DataFrame, columns: list[str]) -> set[float]:
        return {float(v) for c in columns for v in frame[c].dropna()}

    ci = ["published_pct", "published_ci_low", "published_ci_high"]
    design = data.load_phase2_design()
    return {
        "Fig 2": values(data.load_subgroups(), ci),
        "Table 2": values(data.load_table2_proportions(), ci),
        "Table 1": values(data.load_baseline(), ["phase_1_pct", "phase_2_pct", "all_5_15_pct"]),
        "Table 3": values(data.load_adverse_events(), ["published_pct"]),
        "text": values(data.load_text_proportions(), ci),
        "Methods": {design.power, design.alpha, design.p0, design.p1},
    }


@pytest.fixture(scope="module")
def records(table: pd.DataFrame) -> list[dict]:
    out = to_records(table)
    # what the command line prints: JSON, read back
    return json.loads(json.dumps(out))


def test_records_keys_and_types(records: list[dict], table: pd.DataFrame) -> None:
    assert len(records) == len(table)
    for r in records:
        assert tuple(r) == JSON_KEYS
        assert isinstance(r["matches"], bool)
        assert isinstance(r["reproduced"], float)
        assert r["published"] is None or isinstance(r["published"], float)
        assert r["contradiction_id"] is None or isinstance(r["contradiction_id"], str)
    with pytest.raises(DataError, match="missing column"):
        to_records(table.drop(columns=["contradiction_id"]))


def test_every_mismatch_carries_its_contradiction_id(records: list[dict]) -> None:
    contradictions = data.load_contradictions().set_index("id")
    mismatches = [r for r in records if not r["matches"]]
    assert len(mismatches) == len(FLAGGED) == 7
    for r in mismatches:
        cid = r["contradiction_id"]
        assert cid is not None, f"{r['quantity']}: mismatch without a contradiction id"
        assert r["quantity"] in contradictions.loc[cid, "reproduce_quantities"]
        assert r["published"] != r["reproduced"]
    assert all(r["contradiction_id"] is None for r in records if r["matches"])


def test_published_holds_only_printed_numbers(records: list[dict]) -> None:
    printed = _printed_numbers()
    design = data.load_phase2_design().reference
    stored = {float(design.r1), float(design.r), design.attained_alpha, design.power,
              design.pet0, design.en0}
    for r in records:
        if r["kind"] != "printed":
            # computed by the package (stored reference), never printed: no published value
            assert r["published"] is None, r["quantity"]
            assert r["reference"] in stored and r["reproduced"] == r["reference"]
            continue
        assert r["reference"] is None
        source = r["quantity"].split(" | ")[0]
        # the text's and Table 3's numbers are tagged by the section that prints them
        pool = printed.get(source, printed["text"] | printed["Table 3"])
        assert r["published"] in pool, (
            f"{r['quantity']}: published {r['published']} is not a number the paper prints "
            f"({source})"
        )
    # The printed contradictions keep the printed number, not the recomputed one
    by_quantity = {r["quantity"]: r for r in records}
    hypo = by_quantity["Table 1 | all_5_15 | genetic_abnormality = hypodiploidy | %"]
    assert (hypo["published"], hypo["reproduced"], hypo["contradiction_id"]) == (9.0, 6.0, "C03")
    assert by_quantity["Phase II design | EN(p0)"]["published"] is None
    assert by_quantity["Methods | phase_2 | design power (80%)"]["published"] == 0.8


def test_published_is_the_data_files_number_row_by_row(records: list[dict]) -> None:
    by_quantity = {r["quantity"]: r for r in records}
    for f in data.load_subgroups().itertuples(index=False):
        label = "all" if f.factor == "all" else f"{f.factor} = {f.level}"
        assert by_quantity[f"Fig 2 | {label} | CR %"]["published"] == f.published_pct
        assert by_quantity[f"Fig 2 | {label} | CR % (95% CI low)"]["published"] == \
            f.published_ci_low
    for t in data.load_table2_proportions().itertuples(index=False):
        stem = f"Table 2 | {t.population} | {t.quantity} | %"
        assert by_quantity[stem]["published"] == t.published_pct


# --------------------------------------------------------------------------------------
# The phase II Simon design
# --------------------------------------------------------------------------------------


def _reject_prob(n1: int, r1: int, n: int, r: int, p: float) -> float:
    return float(sum(binom.pmf(x1, n1, p) * binom.sf(r - x1, n - n1, p)
                     for x1 in range(r1 + 1, n1 + 1)))


def test_simon_design_numbers() -> None:
    spec = data.load_phase2_design()
    design = design_for_sizes(spec.n1, spec.n, spec.p0, spec.p1, spec.alpha_one_sided,
                              spec.power)
    assert (design.n1, design.r1, design.n, design.r) == (21, 2, 40, 8)
    assert round_half_up(design.alpha, 4) == 0.0149
    assert round_half_up(design.power, 4) == 0.8004
    assert round_half_up(design.pet0, 3) == 0.648
    assert round_half_up(design.en0, 1) == 27.7
    assert design.alpha <= 0.025 and design.power >= 0.80
    # independently, with scipy's binomial
    alpha = _reject_prob(21, 2, 40, 8, 0.10)
    power = _reject_prob(21, 2, 40, 8, 0.275)
    pet0 = float(binom.cdf(2, 21, 0.10))
    assert design.alpha == pytest.approx(alpha, abs=1e-12)
    assert design.power == pytest.approx(power, abs=1e-12)
    assert design.pet0 == pytest.approx(pet0, abs=1e-12)
    assert design.en0 == pytest.approx(21 + (1 - pet0) * 19, abs=1e-9)
    oc = simon_oc(21, 2, 40, 8, 0.10)
    assert oc.reject_prob == pytest.approx(alpha, abs=1e-12)
    assert oc.pet == pytest.approx(pet0, abs=1e-12)


def test_simon_rows_in_reproduction(table: pd.DataFrame) -> None:
    design = table[table["quantity"].str.startswith("Phase II design").to_numpy(dtype=bool)]
    assert len(design) == 8
    assert design["matches"].all()
    assert (design["kind"] == "computed reference (not printed)").all()
    # not printed in the paper: no published value, only the stored reference
    assert design["published"].isna().all()
    reference = dict(zip(design["quantity"], design["reference"], strict=True))
    assert reference["Phase II design | r1 (stop if X1 <= r1)"] == 2
    assert reference["Phase II design | r (reject H0 if X > r)"] == 8
    assert reference["Phase II design | attained one-sided alpha at p0"] == 0.0149
    assert reference["Phase II design | power at p1"] == 0.8004
    assert reference["Phase II design | PET(p0)"] == 0.648
    assert reference["Phase II design | EN(p0)"] == 27.7
    assert (design["reference"] == design["reproduced"]).all()
    printed = table[(table["kind"] == "printed").to_numpy(dtype=bool)]
    assert printed["reference"].isna().all() and printed["published"].notna().all()
    assert "ok (reference, not printed)" in format_table(table)
    without = reproduce_all(include_design=False)
    assert not without["quantity"].str.startswith("Phase II design").any()


# --------------------------------------------------------------------------------------
# The arithmetic itself
# --------------------------------------------------------------------------------------

CP_CASES = [(0, 1), (1, 1), (0, 2), (2, 2), (0, 10), (10, 10), (1, 2), (6, 10), (27, 70),
            (5, 44), (17, 52), (3, 8), (0, 70), (70, 70)]


@pytest.mark.parametrize(("x", "n"), CP_CASES, ids=[f"{x}/{n}" for x, n in CP_CASES])
@pytest.mark.parametrize("level", [0.95, 0.90, 0.80])
def test_clopper_pearson_equals_beta_quantiles(x: int, n: int, level: float) -> None:
    low, high = clopper_pearson(x, n, level=level)
    ref_low, ref_high = _cp_beta(x, n, level)
    assert low == pytest.approx(ref_low, abs=1e-10)
    assert high == pytest.approx(ref_high, abs=1e-10)
    if x == 0:
        assert low == 0.0
    if x == n:
        assert high == 1.0


@pytest.mark.parametrize(("x", "n", "level"), [(-1, 5, 0.95), (6, 5, 0.95), (1, 0, 0.95),
                                                (1.5, 5, 0.95), (1, 5, 1.0), (1, 5, 0.0),
                                                (True, 5, 0.95)])
def test_clopper_pearson_rejects_bad_input(x: object, n: object, level: float) -> None:
    with pytest.raises(DataError):
        clopper_pearson(x, n, level=level)  # type: ignore[arg-type]


def test_round_half_up() -> None:
    assert round_half_up(32.5, 0) == 33.0 != round(32.5)
    assert round_half_up(0.125, 2) == 0.13
    assert round_half_up(2.675, 2) == 2.68
    assert round_half_up(-2.5, 0) == -3.0
    assert round_half_up(Fraction(100 * 2, 44), 0) == 5.0  # 4.545... (Table 2, 2 of 44)
    assert round_half_up(Fraction(100 * 3, 8), 1) == 37.5
    assert round_half_up(Decimal("0.00005"), 4) == 0.0001
    assert round_half_up(7, 1) == 7.0
    assert percent(27, 70, 1) == 38.6
    assert percent(31, 44, 0) == 70.0
    with pytest.raises(DataError):
        round_half_up(float("nan"), 1)
    with pytest.raises(DataError):
        round_half_up(1.0, -1)
    with pytest.raises(DataError):
        percent(5, 4, 0)
