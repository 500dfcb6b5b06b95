"""Who was treated: baseline (Table 1), ages by study part, the patient flow (Fig 1)."""

from __future__ import annotations

import itertools

import pandas as pd

from bayesblina.data.files import DATA_FILES, PathLike, resolve_path
from bayesblina.data.tables import (
    CID,
    NOTE,
    SOURCE,
    Col,
    Table,
    check_constant,
    check_group_sum,
    check_interval,
    check_not_more,
    check_unique,
    finish,
    label_col,
    present,
    read_csv_table,
    text_col,
)
from bayesblina.errors import DataError

_BASELINE_COLUMNS = ("phase_1", "phase_2", "all_5_15")


def load_baseline(path: PathLike | None = None) -> pd.DataFrame:
    """Load the count rows of Table 1 (demographics and baseline characteristics).

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``baseline_table1.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per printed level, with columns ``characteristic``, ``level``,
        ``label``, ``order``, ``partition`` (``boolean``: the levels of this
        characteristic partition each column), ``phase_1``, ``phase_2``, ``all_5_15``
        (``Int64`` counts; n = 49, 44, 70 on the ``characteristic = "total"`` row;
        ``<NA>`` where the paper prints a dash), ``phase_1_pct``, ``phase_2_pct``,
        ``all_5_15_pct`` (``float64``, as printed, ``NaN`` where none is printed),
        ``source``, ``note``, ``contradiction_id``.

    Raises
    ------
    DataError
        If the file is missing or malformed, a count is negative or exceeds its
        column total, a percentage has no count, or a partitioning characteristic
        does not add up to its column total.
    """
    columns = [label_col("characteristic"), label_col("level"), text_col("label"),
               Col("order", "count"), Col("partition", "bool")]
    for col in _BASELINE_COLUMNS:
        columns += [Col(col, "count", False), Col(f"{col}_pct", "pct", False)]
    columns += [SOURCE, NOTE, CID]
    table = read_csv_table(resolve_path(path, DATA_FILES["baseline"]), columns)
    return finish(
        table,
        [
            lambda t: check_unique(t, ["characteristic", "level"]),
            lambda t: check_constant(t, "characteristic", "partition"),
            _check_baseline_totals,
        ],
    )


def _check_baseline_totals(table: Table) -> None:
    frame = table.df
    total_rows = [int(i) for i in frame.index[(frame["characteristic"] == "total").to_numpy(
        dtype=bool)]]
    if len(total_rows) != 1:
        raise DataError(
            f"{table.path}: expected exactly one row with characteristic 'total' (the column "
            f"sizes), found {len(total_rows)}"
        )
    top = total_rows[0]
    for col in _BASELINE_COLUMNS:
        total = frame[col].iat[top]
        if not present(total) or total == 0:
            raise table.fail(top, col, total, "the column size must be a count >= 1")
        for pos in range(len(frame)):
            count, pct = frame[col].iat[pos], frame[f"{col}_pct"].iat[pos]
            if present(pct) and not present(count):
                raise table.fail(pos, f"{col}_pct", pct, f"a percentage needs a count in {col}")
            if present(count) and count > total:
                raise table.fail(pos, col, count, f"it exceeds the column size {total} "
                                 f"(line {table.lines[top]})")
        is_part = frame["partition"].to_numpy(dtype=bool) & (
            frame["characteristic"] != "total"
        ).to_numpy(dtype=bool)
        parts = frame[is_part]
        for characteristic, group in parts.groupby("characteristic", sort=False):
            values = group[col]
            if values.isna().any():
                continue
            if int(values.sum()) != total:
                raise table.fail_rows(
                    [int(i) for i in group.index],
                    f"characteristic {characteristic!r} is marked as a partition but its "
                    f"levels add up to {int(values.sum())} in column {col!r}, not the column "
                    f"size {total}",
                )


def load_baseline_medians(path: PathLike | None = None) -> pd.DataFrame:
    """Load the median (range) rows of Table 1.

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``baseline_medians_table1.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``characteristic``, ``population``, ``population_n`` (``Int64``),
        ``median``, ``range_low``, ``range_high`` (``float64``; ``range_low`` is ``NaN``
        where the paper prints ``"< 1"``), ``range_printed``, ``unit``, ``source``,
        ``note``, ``contradiction_id``.

    Raises
    ------
    DataError
        If the file is missing or malformed or a median lies outside its range.
    """
    table = read_csv_table(
        resolve_path(path, DATA_FILES["baseline_medians"]),
        [
            label_col("characteristic"), label_col("population"), Col("population_n", "count"),
            Col("median", "nonneg"), Col("range_low", "nonneg", False),
            Col("range_high", "nonneg", False), label_col("range_printed"), label_col("unit"),
            SOURCE, NOTE, CID,
        ],
    )
    return finish(
        table,
        [
            lambda t: check_unique(t, ["characteristic", "population"]),
            lambda t: check_interval(t, "median", "range_low", "range_high", paired=False),
        ],
    )


AGE_GROUPS = ("<2", "2-6", "7-17")


def load_age_by_phase(path: PathLike | None = None) -> pd.DataFrame:
    """Load the age groups (years) by study part (Fig 1, Fig A1, Table 1).

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``age_by_phase.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``part`` (``escalation``, ``pk_expansion``, ``phase_1``, ``phase_2``,
        ``all_5_15``), ``part_n``, ``age_group`` (``"<2"``, ``"2-6"``, ``"7-17"``),
        ``n`` (``Int64``), ``derived`` (``boolean``: true for the escalation rows,
        Table 1 phase I minus the Fig 1 PK expansion), ``source``, ``note``.

    Raises
    ------
    DataError
        If the file is missing or malformed, a count is negative, or a part's age
        groups do not add up to ``part_n``.
    """
    table = read_csv_table(
        resolve_path(path, DATA_FILES["age_by_phase"]),
        [
            label_col("part"), Col("part_n", "count"), label_col("age_group", AGE_GROUPS),
            Col("n", "count"), Col("derived", "bool"), SOURCE, NOTE,
        ],
    )
    return finish(
        table,
        [
            lambda t: check_unique(t, ["part", "age_group"]),
            lambda t: check_constant(t, "part", "part_n"),
            lambda t: check_not_more(t, "n", "part_n", "an age group cannot exceed its part"),
            lambda t: check_group_sum(t, "part", "n", "part_n", "age groups"),
        ],
    )


def load_fig1_flow(path: PathLike | None = None) -> pd.DataFrame:
    """Load the study profile (Fig 1): screening, cohorts and cycles received.

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``fig1_flow.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``part``, ``cohort``, ``stage`` (``screened``, ``ineligible``,
        ``started``, ``received_cycle_1`` ... ``received_cycle_5``,
        ``received_retreatment``, ``intensive_pk``, ``efficacy_analysis``,
        ``safety_analysis``), ``order``, ``n`` (``Int64``), ``source``, ``note``,
        ``contradiction_id``.

    Raises
    ------
    DataError
        If the file is missing or malformed, a count is negative, more patients
        received a cycle than the previous one, or more received cycle 1 than started.
    """
    table = read_csv_table(
        resolve_path(path, DATA_FILES["fig1_flow"]),
        [
            label_col("part"), label_col("cohort"), label_col("stage"), Col("order", "count"),
            Col("n", "count"), SOURCE, NOTE, CID,
        ],
    )
    return finish(
        table, [lambda t: check_unique(t, ["part", "cohort", "stage"]), _check_cycles]
    )


def _check_cycles(table: Table) -> None:
    for key, rows in table.df.groupby(["part", "cohort"], sort=False):
        counts = dict(zip(rows["stage"], rows.index, strict=True))
        chain = ["started"] + [f"received_cycle_{k}" for k in range(1, 6)]
        present = [s for s in chain if s in counts]
        for before, after in itertools.pairwise(present):
            a = table.df["n"].iat[int(counts[before])]
            b = table.df["n"].iat[int(counts[after])]
            if b > a:
                raise table.fail(
                    int(counts[after]), "n", b,
                    f"more patients in {after!r} than in {before!r} ({a}) for "
                    f"part/cohort {key!r}",
                )
        if "screened" in counts and "ineligible" in counts:
            a = table.df["n"].iat[int(counts["screened"])]
            b = table.df["n"].iat[int(counts["ineligible"])]
            if b > a:
                raise table.fail(int(counts["ineligible"]), "n", b,
                                 f"more ineligible than screened ({a})")
