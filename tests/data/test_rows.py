"""Inline rows (a spec's TOML array of tables) through the typed-column engine.

The same ``Col`` kinds, rules and dtypes as the packaged CSV files, TOML types taken
strictly; every error names the row (``rows.3``), the column, the value and the rule.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bayesblina.data.tables import (
    RULES,
    Col,
    Table,
    check_not_more,
    check_positive_n,
    check_unique,
    frame_from_rows,
    read_csv_table,
)
from bayesblina.errors import DataError

#: one column of every kind (``note`` optional, ``arm`` from a fixed set)
COLUMNS = (
    Col("label", "label"),
    Col("slug", "slug"),
    Col("arm", "label", allowed=("a", "b")),
    Col("count", "count"),
    Col("int", "int"),
    Col("flag01", "binary"),
    Col("float", "float"),
    Col("nonneg", "nonneg"),
    Col("positive", "positive"),
    Col("pct", "pct"),
    Col("bool", "bool"),
    Col("note", "text", required=False),
)
GOOD: dict[str, Any] = {
    "label": "<2 years", "slug": "phase_2", "arm": "a", "count": 3, "int": -2, "flag01": 1,
    "float": -1.5, "nonneg": 0, "positive": 2, "pct": 100, "bool": True, "note": "x",
}
CSV_HEADER = ",".join(c.name for c in COLUMNS)
CSV_ROW = "<2 years,phase_2,a,3,-2,1,-1.5,0,2,100,true,x"


def with_value(key: str, value: Any) -> list[dict[str, Any]]:
    """Two good rows, the second with ``key`` set to ``value``."""
    return [dict(GOOD), {**GOOD, key: value}]


def test_good_rows_give_the_dtypes_of_the_csv_reader(tmp_path: Path) -> None:
    frame = frame_from_rows([GOOD, {k: v for k, v in GOOD.items() if k != "note"}], COLUMNS)
    path = tmp_path / "t.csv"
    path.write_text(f"{CSV_HEADER}\n{CSV_ROW}\n{CSV_ROW[:-2]},\n", encoding="utf-8")
    csv = read_csv_table(path, COLUMNS).df
    assert list(frame.columns) == [c.name for c in COLUMNS]
    assert dict(frame.dtypes) == dict(csv.dtypes)
    pd.testing.assert_frame_equal(frame, csv[frame.columns], check_exact=True)
    assert frame["nonneg"].iat[0] == 0.0 and frame["positive"].iat[0] == 2.0  # ints as floats
    assert frame["note"].isna().iat[1]  # an optional key left out is empty


def test_an_optional_number_left_out_is_nan_and_an_optional_count_na() -> None:
    cols = (Col("x", "count", required=False), Col("t", "float", required=False),
            Col("k", "label"))
    frame = frame_from_rows([{"k": "a"}], cols)
    assert frame["x"].isna().all() and str(frame["x"].dtype) == "Int64"
    assert math.isnan(frame["t"].iat[0])


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        # whole-number kinds: an integer, never a boolean, a string or a decimal number
        ("count", True, RULES["count"] + " (not a boolean)"),
        ("count", "3", RULES["count"] + " (not a string)"),
        ("count", 3.0, RULES["count"] + " (not a decimal number)"),
        ("count", -1, "a count cannot be negative (a count must be a whole number from 0 to 10,000,000)"),
        ("int", False, RULES["int"] + " (not a boolean)"),
        ("int", "-2", RULES["int"] + " (not a string)"),
        ("int", 1.5, RULES["int"] + " (not a decimal number)"),
        ("flag01", 2, RULES["binary"]),
        ("flag01", -1, RULES["binary"]),
        ("flag01", True, RULES["binary"] + " (not a boolean)"),
        # number kinds: an integer or a decimal number, never a boolean or a string
        ("float", True, RULES["float"] + " (not a boolean)"),
        ("float", "1.5", RULES["float"] + " (not a string)"),
        ("float", math.inf, RULES["float"]),
        ("float", math.nan, RULES["float"]),
        ("nonneg", -0.1, RULES["nonneg"]),
        ("positive", 0, RULES["positive"]),
        ("positive", -3.0, RULES["positive"]),
        ("pct", 100.5, RULES["pct"]),
        ("pct", -1, RULES["pct"]),
        ("pct", [50], RULES["pct"] + " (not an array)"),
        # flags: a boolean
        ("bool", "true", RULES["bool"] + " (not a string)"),
        ("bool", 1, RULES["bool"] + " (not an integer)"),
        # labels: a non-empty string
        ("label", 3, RULES["label"] + " (not an integer)"),
        ("label", "", "it must not be empty (" + RULES["label"] + ")"),
        ("label", "   ", "it must not be empty (" + RULES["label"] + ")"),
        ("label", None, "it must not be empty (" + RULES["label"] + ")"),
        ("slug", "Phase 2", RULES["slug"]),
        ("slug", "_x", RULES["slug"]),
        ("slug", "a" * 65, RULES["slug"]),
        ("slug", True, RULES["slug"] + " (not a boolean)"),
        ("arm", "c", "allowed values are 'a', 'b'"),
        ("arm", 1, "allowed values are 'a', 'b' (not an integer)"),
        ("note", {"a": 1}, RULES["text"] + " (not a table)"),
    ],
)
def test_a_bad_value_names_row_column_value_and_rule(key: str, value: Any, rule: str) -> None:
    with pytest.raises(DataError) as err:
        frame_from_rows(with_value(key, value), COLUMNS)
    msg = str(err.value)
    assert msg.startswith(f"rows.1, column '{key}': value "), msg
    assert msg.endswith(f" is invalid: {rule}"), msg


def test_the_csv_reader_gives_the_same_rules(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f"{CSV_HEADER}\n{CSV_ROW.replace(',1,-1.5,', ',2,-1.5,')}\n",
                    encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(f"column 'flag01': value '2' is invalid: "
                                                  f"{RULES['binary']}")):
        read_csv_table(path, COLUMNS)


@pytest.mark.parametrize(
    ("rows", "what", "message"),
    [
        ([], "rows", "rows: no rows: give at least one row with the keys label, slug, arm"),
        ("abc", "rows", "rows: value 'abc' is invalid: it must be an array of tables"),
        ([GOOD, 3], "rows", "rows.1: value 3 is invalid: a row must be a table with the keys"),
        ([GOOD, {**GOOD, "cout": 3}], "rows",
         "rows.1: unknown key(s) 'cout'; allowed keys: label, slug, arm, count"),
        ([{k: v for k, v in GOOD.items() if k != "count"}], "rows",
         "rows.0: missing key 'count' (a count must be a whole number from 0 to 10,000,000); required keys: "
         "label, slug, arm, count, int, flag01, float, nonneg, positive, pct, bool"),
        ([GOOD, GOOD, {**GOOD, "pct": 101}], "cohorts",
         "cohorts.2, column 'pct': value 101 is invalid"),
    ],
)
def test_bad_shapes_are_one_clear_error(rows: Any, what: str, message: str) -> None:
    with pytest.raises(DataError) as err:
        frame_from_rows(rows, COLUMNS, what=what)
    assert str(err.value).startswith(message), str(err.value)


BINOMIAL = (Col("label", "label"), Col("x", "count"), Col("n", "count"))


def binomial_checks(table: Table) -> None:
    check_unique(table, ["label"])
    check_positive_n(table, "n")
    check_not_more(table, "x", "n", "CRs cannot exceed patients")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"label": "a", "x": 1, "n": 4}, {"label": "b", "x": 2, "n": 5},
          {"label": "a", "x": 0, "n": 3}],
         "rows.0, rows.2: duplicated row (label = 'a'): each (label) must appear once"),
        ([{"label": "a", "x": 0, "n": 0}],
         "rows.0, column 'n': value 0 is invalid: a denominator must be at least 1"),
        ([{"label": "a", "x": 1, "n": 4}, {"label": "b", "x": 6, "n": 5}],
         "rows.1, column 'x': value 6 is invalid: it exceeds n = 5 (CRs cannot exceed patients)"),
    ],
)
def test_the_row_checks_name_the_rows(rows: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(DataError) as err:
        frame_from_rows(rows, BINOMIAL, checks=[binomial_checks])
    assert str(err.value) == message


def test_good_binomial_rows_pass_the_checks() -> None:
    frame = frame_from_rows([{"label": "a", "x": 1, "n": 4}, {"label": "b", "x": 5, "n": 5}],
                            BINOMIAL, checks=[binomial_checks])
    assert list(frame["x"]) == [1, 5] and str(frame["n"].dtype) == "Int64"
    assert str(frame["label"].dtype) == "string"


REGIMEN = (Col("label", "label"), Col("periods", "regimen"))


def test_a_regimen_becomes_a_list_of_dose_days_tuples() -> None:
    df = frame_from_rows([{"label": "a", "periods": [[5, 7], [15.0, 21]]}], REGIMEN)
    assert df["periods"].iat[0] == [(5.0, 7.0), (15.0, 21.0)]
    assert df["periods"].dtype == object


@pytest.mark.parametrize(
    "periods",
    [[], [[5]], [[5, 7, 1]], [[0, 7]], [[5, -7]], [[5, True]], [["5", 7]], [[5, float("inf")]],
     5, "5x7"],
)
def test_a_bad_regimen_is_refused_naming_row_and_column(periods: Any) -> None:
    with pytest.raises(DataError, match=r"rows.0, column 'periods'.*\[dose, days\] pairs"):
        frame_from_rows([{"label": "a", "periods": periods}], REGIMEN)


def test_a_regimen_cannot_come_from_a_csv_cell(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("label,periods\na,5x28\n", encoding="utf-8")
    with pytest.raises(DataError, match="a regimen column cannot be read from a CSV cell"):
        read_csv_table(path, REGIMEN)
