"""Outcomes after response: survival summaries, the fates of the patients, adverse events."""

from __future__ import annotations

import pandas as pd

from bayesblina.data.files import DATA_FILES, PathLike, resolve_path
from bayesblina.data.tables import (
    CID,
    NOTE,
    SOURCE,
    Col,
    Table,
    check_interval,
    check_not_more,
    check_positive_n,
    check_unique,
    finish,
    label_col,
    present,
    read_csv_table,
    text_col,
)


def load_survival_summaries(path: PathLike | None = None) -> pd.DataFrame:
    """Load the published Kaplan-Meier summaries (medians, landmarks, follow-up).

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``survival_summaries.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``endpoint`` (``rfs``, ``os``, ``mortality_after_allohsct``),
        ``population``, ``n`` (``Int64``), ``median_months``, ``ci_low``, ``ci_high``,
        ``median_followup_months``, ``landmark_time`` (``float64``), ``landmark_unit``
        (``"days"``, ``"months"``), ``landmark_pct``, ``landmark_ci_low``,
        ``landmark_ci_high`` (``float64`` percent), ``source``, ``note``,
        ``contradiction_id``. Missing values are ``NaN``/``<NA>``.

    Raises
    ------
    DataError
        If the file is missing or malformed, a value is negative, or a CI does not
        contain its estimate.
    """
    table = read_csv_table(
        resolve_path(path, DATA_FILES["survival_summaries"]),
        [
            label_col("endpoint"), label_col("population"), Col("n", "count"),
            Col("median_months", "nonneg", False), Col("ci_low", "nonneg", False),
            Col("ci_high", "nonneg", False), Col("median_followup_months", "nonneg", False),
            Col("landmark_time", "nonneg", False),
            Col("landmark_unit", "label", False, ("days", "months")),
            Col("landmark_pct", "pct", False), Col("landmark_ci_low", "pct", False),
            Col("landmark_ci_high", "pct", False), SOURCE, NOTE, CID,
        ],
    )
    return finish(
        table,
        [
            lambda t: check_unique(t, ["endpoint", "population"]),
            lambda t: check_interval(t, "median_months", "ci_low", "ci_high"),
            lambda t: check_interval(t, "landmark_pct", "landmark_ci_low", "landmark_ci_high"),
            _check_landmarks,
        ],
    )


def _check_landmarks(table: Table) -> None:
    frame = table.df
    for pos in range(len(frame)):
        time, unit = frame["landmark_time"].iat[pos], frame["landmark_unit"].iat[pos]
        pct = frame["landmark_pct"].iat[pos]
        if present(time) != present(unit) or present(time) != present(pct):
            raise table.fail(
                pos, "landmark_time", time,
                "give landmark_time, landmark_unit and landmark_pct together, or none",
            )


def load_patient_fates(path: PathLike | None = None) -> pd.DataFrame:
    """Load what happened to the patients at 5/15 (Fig 1 and the Results text).

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``patient_fates.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``population`` (``all_5_15``, ``responders``, ``nonresponders``),
        ``fate``, ``n`` (``Int64``), ``parent`` (the fate this one is part of; empty
        for the population's ``"total"`` row), ``partition`` (``boolean``: the
        siblings flagged true add up to their parent), ``source``, ``note``.

    Raises
    ------
    DataError
        If the file is missing or malformed, a count is negative or exceeds its
        parent, a parent is unknown, or a partition does not add up.
    """
    table = read_csv_table(
        resolve_path(path, DATA_FILES["patient_fates"]),
        [
            label_col("population"), label_col("fate"), Col("n", "count"), text_col("parent"),
            Col("partition", "bool"), SOURCE, NOTE,
        ],
    )
    return finish(table, [lambda t: check_unique(t, ["population", "fate"]), _check_fates])


def _check_fates(table: Table) -> None:
    frame = table.df
    for population, rows in frame.groupby("population", sort=False):
        index = dict(zip(rows["fate"], rows.index, strict=True))
        if "total" not in index:
            raise table.fail_rows(
                [int(i) for i in rows.index],
                f"population {population!r} has no 'total' row (its number of patients)",
            )
        for pos in rows.index:
            pos = int(pos)
            parent = frame["parent"].iat[pos]
            if frame["fate"].iat[pos] == "total":
                if present(parent):
                    raise table.fail(pos, "parent", parent, "the 'total' row has no parent")
                continue
            if not present(parent) or parent not in index:
                raise table.fail(
                    pos, "parent", parent,
                    f"it must name another fate of population {population!r}: "
                    + ", ".join(repr(f) for f in index),
                )
            parent_n = frame["n"].iat[int(index[parent])]
            if frame["n"].iat[pos] > parent_n:
                raise table.fail(
                    pos, "n", frame["n"].iat[pos],
                    f"it exceeds its parent {parent!r} (n = {parent_n})",
                )
        part = rows[rows["partition"].to_numpy(dtype=bool) & rows["parent"].notna().to_numpy()]
        for parent, siblings in part.groupby("parent", sort=False):
            parent_n = int(frame["n"].iat[int(index[parent])])
            got = int(siblings["n"].sum())
            if got != parent_n:
                raise table.fail_rows(
                    [int(i) for i in siblings.index],
                    f"the fates of population {population!r} that partition {parent!r} add "
                    f"up to {got}, not {parent_n}",
                )


AE_GRADES = ("any", "2", "3", "4", "3+", "fatal")


def load_adverse_events(path: PathLike | None = None) -> pd.DataFrame:
    """Load adverse events at 5/15, n = 70 (Table 3 plus the Results and Abstract).

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``adverse_events_table3.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``term``, ``label``, ``grade`` (``"any"``, ``"2"``, ``"3"``, ``"4"``,
        ``"3+"`` (worst grade >= 3), ``"fatal"``), ``n`` (``Int64``; ``<NA>`` where only
        a percentage is printed), ``denominator`` (``Int64``), ``published_pct``
        (``float64``; ``NaN`` where only a count is printed), ``decimals``, ``source``,
        ``note``, ``contradiction_id``.

    Raises
    ------
    DataError
        If the file is missing or malformed, a count is negative or exceeds the
        denominator, or a row has neither a count nor a percentage.
    """
    table = read_csv_table(
        resolve_path(path, DATA_FILES["adverse_events"]),
        [
            label_col("term"), text_col("label"), label_col("grade", AE_GRADES),
            Col("n", "count", False), Col("denominator", "count"),
            Col("published_pct", "pct", False), Col("decimals", "count"),
            SOURCE, NOTE, CID,
        ],
    )

    def _some_number(t: Table) -> None:
        for pos in range(len(t.df)):
            if not present(t.df["n"].iat[pos]) and not present(t.df["published_pct"].iat[pos]):
                raise t.fail(pos, "n", None, "give a count, a percentage or both")

    return finish(
        table,
        [
            lambda t: check_unique(t, ["term", "grade"]),
            lambda t: check_positive_n(t, "denominator"),
            lambda t: check_not_more(t, "n", "denominator", "events cannot exceed patients"),
            _some_number,
        ],
    )
