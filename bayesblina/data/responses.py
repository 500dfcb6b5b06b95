"""Responses: Fig 2's subgroups, Table 2's proportions and categories, CR by blasts."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from bayesblina.data.files import DATA_FILES, PathLike, resolve_path
from bayesblina.data.tables import (
    CID,
    NOTE,
    SOURCE,
    Col,
    Table,
    check_constant,
    check_interval,
    check_not_more,
    check_positive_n,
    check_unique,
    finish,
    label_col,
    read_csv_table,
    text_col,
)
from bayesblina.errors import DataError


def load_subgroups(path: PathLike | None = None) -> pd.DataFrame:
    """Load CR within two cycles by prespecified subgroup (Fig 2, all 70 at 5/15).

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``subgroups_fig2.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per printed subgroup (16 rows) with columns ``factor``, ``level``,
        ``label`` (as printed), ``order`` (row order in Fig 2), ``n``, ``cr`` (``Int64``),
        ``published_pct``, ``published_ci_low``, ``published_ci_high`` (``float64``,
        percent, exact 95% CI), ``decimals`` (``Int64``), ``source``, ``note``.

    Raises
    ------
    DataError
        If the file is missing or malformed, a count is negative, ``cr > n``, a CI does
        not contain its estimate, there is not exactly one ``factor = "all"`` row, or the
        levels of a factor do not add up to the population's patients and CRs.
    """
    table = read_csv_table(
        resolve_path(path, DATA_FILES["subgroups"]),
        [
            label_col("factor"), label_col("level"), text_col("label"), Col("order", "count"),
            Col("n", "count"), Col("cr", "count"), Col("published_pct", "pct"),
            Col("published_ci_low", "pct"), Col("published_ci_high", "pct"),
            Col("decimals", "count"), SOURCE, NOTE,
        ],
    )
    return finish(
        table,
        [
            lambda t: check_unique(t, ["factor", "level"]),
            lambda t: check_positive_n(t, "n"),
            lambda t: check_not_more(t, "cr", "n", "responders cannot exceed patients"),
            lambda t: check_interval(
                t, "published_pct", "published_ci_low", "published_ci_high"
            ),
            _check_subgroup_margins,
        ],
    )


def _check_subgroup_margins(table: Table) -> None:
    frame = table.df
    is_all = (frame["factor"] == "all").to_numpy(dtype=bool)
    if is_all.sum() != 1:
        rows = [int(i) for i in frame.index[is_all]]
        if not rows:
            raise DataError(
                f"{table.path}: no row with factor 'all': the population row (all patients, "
                "all CRs) is needed to check that every factor's levels add up to it"
            )
        raise table.fail_rows(rows, "factor 'all' must appear on exactly one row")
    top = int(frame.index[is_all][0])
    total_n, total_cr = frame["n"].iat[top], frame["cr"].iat[top]
    for factor, group in frame[~is_all].groupby("factor", sort=False):
        n_sum, cr_sum = int(group["n"].sum()), int(group["cr"].sum())
        if n_sum != total_n or cr_sum != total_cr:
            lines = ", ".join(str(table.lines[int(i)]) for i in group.index)
            raise DataError(
                f"{table.path}: factor {factor!r} (lines {lines}): its levels add up to "
                f"{n_sum} patients and {cr_sum} CRs, but the population (factor 'all', line "
                f"{table.lines[top]}) has {total_n} patients and {total_cr} CRs: the levels "
                "of every factor must add up to the population"
            )


_PROPORTION_COLUMNS = [
    label_col("population"), label_col("quantity"), Col("x", "count"), Col("n", "count"),
    Col("published_pct", "pct"), Col("published_ci_low", "pct", False),
    Col("published_ci_high", "pct", False), Col("decimals", "count"), SOURCE, NOTE, CID,
]


def _proportion_checks() -> list[Callable[[Table], None]]:
    return [
        lambda t: check_unique(t, ["population", "quantity"]),
        lambda t: check_positive_n(t, "n"),
        lambda t: check_not_more(
            t, "x", "n", "responders or events cannot exceed patients"
        ),
        lambda t: check_interval(t, "published_pct", "published_ci_low", "published_ci_high"),
    ]


def load_table2_proportions(path: PathLike | None = None) -> pd.DataFrame:
    """Load every proportion of Table 2 that is printed with a count.

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``table2_proportions.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``population`` (``"phase_2"`` n = 44, ``"all_5_15"`` n = 70,
        ``"age_lt2"`` n = 10), ``quantity``, ``x``, ``n`` (``Int64``), ``published_pct``,
        ``published_ci_low``, ``published_ci_high`` (``float64`` percent; the CI is
        ``NaN`` where none is printed), ``decimals`` (``Int64``, 0 for Table 2),
        ``source``, ``note``, ``contradiction_id``.

    Raises
    ------
    DataError
        If the file is missing or malformed, a count is negative, ``x > n``, only one
        CI bound is given, or a CI does not contain its estimate.
    """
    file = resolve_path(path, DATA_FILES["table2_proportions"])
    table = read_csv_table(file, _PROPORTION_COLUMNS)
    return finish(table, _proportion_checks())


def load_text_proportions(path: PathLike | None = None) -> pd.DataFrame:
    """Load proportions printed in the Abstract, Results and Discussion text.

    Only numbers that are not already in Table 2 or Fig 2 are stored (e.g. CR within
    cycle 1, 20 of 27). Some rows have no printed percentage (``"two of three
    Ph-positive patients"``).

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``text_proportions.csv``.

    Returns
    -------
    pandas.DataFrame
        Same columns as :func:`load_table2_proportions`; ``published_pct`` is ``NaN``
        where the text prints only the count.

    Raises
    ------
    DataError
        As :func:`load_table2_proportions`.
    """
    columns = [
        Col("published_pct", "pct", False) if c.name == "published_pct" else c
        for c in _PROPORTION_COLUMNS
    ]
    table = read_csv_table(resolve_path(path, DATA_FILES["text_proportions"]), columns)
    return finish(table, _proportion_checks())


RESPONSE_CATEGORIES = (
    "cr",
    "partial_remission",
    "blast_free_hypoplastic",
    "progressive_disease",
    "no_response",
    "not_assessed",
)


def load_response_categories(path: PathLike | None = None) -> pd.DataFrame:
    """Load the best-response categories of Table 2 (they partition each column).

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``response_categories_table2.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``population``, ``population_n`` (``Int64``), ``category`` (one of
        ``cr``, ``partial_remission``, ``blast_free_hypoplastic``,
        ``progressive_disease``, ``no_response``, ``not_assessed``), ``order``,
        ``count`` (``Int64``; ``<NA>`` where the paper prints NA), ``source``, ``note``.

    Raises
    ------
    DataError
        If the file is missing or malformed, a count is negative, a category is
        unknown or repeated, or a population's categories do not add up to its size
        (or exceed it when one is NA).
    """
    table = read_csv_table(
        resolve_path(path, DATA_FILES["response_categories"]),
        [
            label_col("population"), Col("population_n", "count"),
            label_col("category", RESPONSE_CATEGORIES), Col("order", "count"),
            Col("count", "count", False), SOURCE, NOTE,
        ],
    )
    return finish(
        table,
        [
            lambda t: check_unique(t, ["population", "category"]),
            lambda t: check_constant(t, "population", "population_n"),
            lambda t: check_not_more(t, "count", "population_n", "a category cannot "
                                      "exceed its population"),
            _check_categories_partition,
        ],
    )


def _check_categories_partition(table: Table) -> None:
    for population, group in table.df.groupby("population", sort=False):
        size = int(group["population_n"].iat[0])
        known = int(group["count"].sum())
        has_na = bool(group["count"].isna().any())
        rows = [int(i) for i in group.index]
        if (has_na and known > size) or (not has_na and known != size):
            relation = "must not exceed" if has_na else "must equal"
            raise table.fail_rows(
                rows, f"the response categories of population {population!r} add up to "
                f"{known}, which {relation} its population_n = {size}"
            )


BLAST_LEVELS = ("all", "<50%", ">=50%")


def load_cr_by_blasts(path: PathLike | None = None) -> pd.DataFrame:
    """Load CR within two cycles by study part and baseline marrow blasts.

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``cr_by_blasts_by_phase.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``population`` (``escalation``, ``pk_expansion``, ``phase_2``,
        ``all_5_15``, ``age_lt2``), ``blasts`` (``"all"``, ``"<50%"``, ``">=50%"``),
        ``cr``, ``n`` (``Int64``), ``derived`` (``boolean``: the PK-expansion rows are
        all_5_15 minus phase_2), ``source``, ``note``.

    Raises
    ------
    DataError
        If the file is missing or malformed, ``cr > n``, or the blast split of a
        population does not add up to its ``"all"`` row.
    """
    table = read_csv_table(
        resolve_path(path, DATA_FILES["cr_by_blasts"]),
        [
            label_col("population"), label_col("blasts", BLAST_LEVELS), Col("cr", "count"),
            Col("n", "count"), Col("derived", "bool"), SOURCE, NOTE,
        ],
    )
    return finish(
        table,
        [
            lambda t: check_unique(t, ["population", "blasts"]),
            lambda t: check_positive_n(t, "n"),
            lambda t: check_not_more(t, "cr", "n", "responders cannot exceed patients"),
            _check_blast_split,
        ],
    )


def _check_blast_split(table: Table) -> None:
    for population, rows in table.df.groupby("population", sort=False):
        levels = dict(zip(rows["blasts"], rows.index, strict=True))
        if set(levels) != set(BLAST_LEVELS):
            continue
        whole = levels["all"]
        for col in ("cr", "n"):
            parts = int(rows.loc[[levels["<50%"], levels[">=50%"]], col].sum())
            if parts != table.df[col].iat[whole]:
                raise table.fail(
                    int(whole), col, table.df[col].iat[whole],
                    f"the blast levels of population {population!r} add up to {parts}",
                )
