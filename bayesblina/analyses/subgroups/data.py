"""The data of one subgroup factor: Fig 2's levels, the study phase, inline rows.

The packaged tables (:func:`bayesblina.data.load_subgroups`, ``cr_by_blasts_by_phase.csv``)
or a spec's inline rows become one frame of levels (:func:`load_levels`), checked by
:func:`validate_levels`; the schema of a spec's ``[data]`` is :class:`SubgroupData`.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bayesblina.core.spec import DataFile
from bayesblina.data import (
    DATA_FILES,
    data_file,
    load_cr_by_blasts,
    load_subgroups,
    load_table2_proportions,
)
from bayesblina.data.tables import MAX_COUNT, binomial_rows
from bayesblina.errors import DataError, SpecError

#: the factors of Fig 2 (all but the population row ``all``)
FACTORS = (
    "region", "marrow_blasts", "age", "previous_hsct", "previous_relapses", "refractory",
)
#: the study part of the 70 patients at 5/15: phase I PK expansion (13/26, derived as
#: all 70 minus phase II) and phase II (14/44), from ``cr_by_blasts_by_phase.csv``
PHASE_FACTOR = "phase"
#: the levels of the phase factor: population in ``cr_by_blasts_by_phase.csv`` -> label
PHASE_LEVELS = {"pk_expansion": "phase I PK expansion", "phase_2": "phase II"}
#: every factor a spec may name: Fig 2's and the study phase
ALL_FACTORS = (*FACTORS, PHASE_FACTOR)
#: the differences the paper discusses, (level a, level b) for p(a) - p(b), per factor
DEFAULT_CONTRASTS: dict[str, list[tuple[str, str]]] = {
    "marrow_blasts": [("<50%", ">=50%")],
    # the Discussion contrasts 48% (not refractory) with 30% (refractory): no minus yes
    "refractory": [("no", "yes")],
    "age": [("<2", "7-17")],
    # phase I expansion minus phase II (13/26 = 50% against 14/44 = 32%)
    PHASE_FACTOR: [("pk_expansion", "phase_2")],
}
#: how the factors read in titles
FACTOR_NAMES = {
    "region": "region",
    "marrow_blasts": "bone marrow blasts",
    "age": "age group (years)",
    "previous_hsct": "previous HSCT",
    "previous_relapses": "number of previous relapses",
    "refractory": "refractory disease",
}

Level = Annotated[str, Field(min_length=1, max_length=64)]


def contrast_label(a: str, b: str) -> str:
    """Name of the difference p(a) - p(b), e.g. ``"p(no) - p(yes)"`` (direction stated)."""
    return f"p({a}) - p({b})"


def inline_levels(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A spec's inline rows as a typed frame (``label``, ``x``, ``n``), checked.

    Raises
    ------
    DataError
        Naming the row (``rows.3``), the column, the value and what is allowed.
    """
    return binomial_rows(rows, label_kind="label", successes="CRs")


class SubgroupData(BaseModel):
    """``[data]``: one factor of Fig 2 (packaged), or inline rows (one per level).

    ``factor = "phase"`` is the study part instead of a Fig 2 factor: phase I PK expansion
    (13/26, derived: all 70 at 5/15 minus phase II) and phase II (14/44), read from
    ``cr_by_blasts_by_phase.csv`` (:func:`bayesblina.data.load_cr_by_blasts`).

    ``file`` reads a Fig 2-style CSV instead of the packaged one (checked by
    :func:`bayesblina.data.load_subgroups`: the levels of every factor must add up to the
    population); for ``factor = "phase"`` a CSV like ``cr_by_blasts_by_phase.csv``, whose
    phases must add up to its ``all_5_15`` row. Inline rows may name the analysed
    population (``population_n`` patients, ``population_x`` CRs) that their levels must
    add up to.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    factor: str | None = None
    file: DataFile | None = None
    #: one level per row: ``{ label = "<2", x = 6, n = 10 }`` (:func:`inline_levels`)
    rows: Annotated[list[dict[str, Any]], Field(min_length=2)] | None = None
    population_n: Annotated[int, Field(ge=1, le=MAX_COUNT)] | None = None
    population_x: Annotated[int, Field(ge=0, le=MAX_COUNT)] | None = None

    @field_validator("factor")
    @classmethod
    def _known_factor(cls, value: str | None) -> str | None:
        if value is not None and value not in ALL_FACTORS:
            raise ValueError(f"unknown factor {value!r}; allowed: {list(ALL_FACTORS)}")
        return value

    @field_validator("rows")
    @classmethod
    def _typed_rows(cls, rows: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if rows is not None:
            inline_levels(rows)  # a DataError is a ValueError: 'data.rows' names it
        return rows

    @model_validator(mode="after")
    def _one_source(self) -> SubgroupData:
        if (self.factor is None) == (self.rows is None):
            raise ValueError("give exactly one of 'factor' (Fig 2, packaged) or 'rows' (inline)")
        if self.file is not None and self.factor is None:
            raise ValueError("'file' selects the table a 'factor' is read from: give a factor")
        if self.rows is None:
            if self.population_n is not None or self.population_x is not None:
                raise ValueError("'population_n'/'population_x' check inline rows only")
            return self
        n_sum, x_sum = sum(r["n"] for r in self.rows), sum(r["x"] for r in self.rows)
        if self.population_n is not None and n_sum != self.population_n:
            raise ValueError(
                f"the levels add up to {n_sum} patients, but population_n = {self.population_n}"
            )
        if self.population_x is not None and x_sum != self.population_x:
            raise ValueError(
                f"the levels add up to {x_sum} CRs, but population_x = {self.population_x}"
            )
        return self


def load_phase_levels(path: str | None = None) -> pd.DataFrame:
    """CR within two cycles by study part among the 70 patients at 5/15 (``factor = "phase"``).

    The rows ``pk_expansion``/``all`` (13/26; derived in the file as all 70 minus phase
    II) and ``phase_2``/``all`` (14/44) of ``cr_by_blasts_by_phase.csv``
    (:func:`bayesblina.data.load_cr_by_blasts`), checked against the file's
    ``all_5_15``/``all`` row. Phase II's published 32% (exact 95% CI 19 to 48; Table 2)
    is attached when the counts are Table 2's; the expansion has no published CI.

    Parameters
    ----------
    path : str, optional
        A CSV like ``cr_by_blasts_by_phase.csv`` instead of the packaged one.

    Returns
    -------
    pandas.DataFrame
        Columns ``factor`` (``"phase"``), ``order``, ``level`` (``pk_expansion``,
        ``phase_2``), ``label``, ``cr``, ``n``, ``published_pct``, ``published_ci_low``,
        ``published_ci_high``, ``source``.

    Raises
    ------
    DataError
        If the file is malformed (see :func:`~bayesblina.data.load_cr_by_blasts`), lacks
        one of the three rows, or the two phases do not add up to ``all_5_15`` in
        patients and CRs.
    """
    where = path if path is not None else data_file(DATA_FILES["cr_by_blasts"])
    table = load_cr_by_blasts(path)
    rows = table[table["blasts"] == "all"].set_index("population")
    needed = [*PHASE_LEVELS, "all_5_15"]
    missing = [p for p in needed if p not in rows.index]
    if missing:
        raise DataError(
            f"{where}: no row with blasts 'all' for population(s) {missing}: the phase factor "
            f"needs {needed} (the two phases and the population they must add up to)"
        )
    n_sum = int(sum(rows.at[p, "n"] for p in PHASE_LEVELS))
    x_sum = int(sum(rows.at[p, "cr"] for p in PHASE_LEVELS))
    total_n, total_x = int(rows.at["all_5_15", "n"]), int(rows.at["all_5_15", "cr"])
    if (n_sum, x_sum) != (total_n, total_x):
        raise DataError(
            f"{where}: the phases {list(PHASE_LEVELS)} add up to {n_sum} patients and {x_sum} "
            f"CRs, but all_5_15 has {total_n} patients and {total_x} CRs: the levels of a "
            "factor must add up to the analysed population"
        )
    published = load_table2_proportions().set_index(["population", "quantity"])
    out = []
    for order, (level, label) in enumerate(PHASE_LEVELS.items(), start=1):
        x, n = int(rows.at[level, "cr"]), int(rows.at[level, "n"])
        pct = lo = hi = np.nan
        if (level, "cr") in published.index:
            ref = published.loc[(level, "cr")]
            if (int(ref["x"]), int(ref["n"])) == (x, n):  # Table 2's counts: its CI applies
                pct, lo, hi = (float(ref[c]) for c in ("published_pct", "published_ci_low",
                                                       "published_ci_high"))
        out.append({
            "factor": PHASE_FACTOR, "order": order, "level": level, "label": label,
            "cr": x, "n": n, "published_pct": pct, "published_ci_low": lo,
            "published_ci_high": hi, "source": str(rows.at[level, "source"]),
        })
    return pd.DataFrame(out)


def load_levels(data_spec: SubgroupData) -> pd.DataFrame:
    """The levels of one Fig 2 factor or of the study phase (or the inline rows).

    Parameters
    ----------
    data_spec : SubgroupData
        The spec's ``[data]``.

    Returns
    -------
    pandas.DataFrame
        Columns ``factor, subgroup, label, x, n, published_pct, published_ci_low,
        published_ci_high, source`` (published columns NaN for inline rows).

    Raises
    ------
    SpecError
        If the factor is not in the table read.
    DataError
        If the table is malformed (see :func:`~bayesblina.data.load_subgroups`).
    """
    if data_spec.rows is not None:
        levels = inline_levels(data_spec.rows)
        df = pd.DataFrame({
            "subgroup": levels["label"].astype(str),
            "x": levels["x"].astype("int64"),
            "n": levels["n"].astype("int64"),
        })
        df.insert(0, "factor", "inline")
        df.insert(2, "label", df["subgroup"])
        for col in ("published_pct", "published_ci_low", "published_ci_high"):
            df[col] = np.nan
        df["source"] = "spec"
        return df

    if data_spec.factor == PHASE_FACTOR:
        table = load_phase_levels(data_spec.file)
    else:
        table = load_subgroups(data_spec.file)
    rows = table[table["factor"] == data_spec.factor]
    if rows.empty:
        allowed = sorted(set(table["factor"]) - {"all"})
        raise SpecError(
            f"key 'data.factor': factor {data_spec.factor!r} is not in the subgroup "
            f"table; allowed: {allowed}"
        )
    rows = rows.sort_values("order")
    return pd.DataFrame(
        {
            "factor": rows["factor"].astype(str).to_numpy(),
            "subgroup": rows["level"].astype(str).to_numpy(),
            "label": rows["label"].astype(str).to_numpy(),
            "x": rows["cr"].to_numpy(dtype="int64"),
            "n": rows["n"].to_numpy(dtype="int64"),
            "published_pct": rows["published_pct"].to_numpy(dtype=float),
            "published_ci_low": rows["published_ci_low"].to_numpy(dtype=float),
            "published_ci_high": rows["published_ci_high"].to_numpy(dtype=float),
            "source": rows["source"].astype(str).to_numpy(),
        }
    )


def validate_levels(data: pd.DataFrame) -> pd.DataFrame:
    """At least two unique levels, integer counts, n >= 1 and 0 <= x <= n per level.

    Parameters
    ----------
    data : pandas.DataFrame
        Columns ``subgroup, x, n`` at least.

    Returns
    -------
    pandas.DataFrame
        A copy with integer counts and the ``factor``, ``label`` and published columns
        (filled in where missing).

    Raises
    ------
    DataError
        Naming the level and the rule it breaks.
    """
    missing = {"subgroup", "x", "n"} - set(data.columns)
    if missing:
        raise DataError(f"subgroup data: missing column(s) {sorted(missing)}")
    if len(data) < 2:
        raise DataError(f"subgroup data: need at least two levels (got {len(data)})")
    if data["subgroup"].duplicated().any():
        dup = list(data.loc[data["subgroup"].duplicated(), "subgroup"])
        raise DataError(f"subgroup data: duplicate level(s) {dup}")
    for _, row in data.iterrows():
        level, x, n = row["subgroup"], row["x"], row["n"]
        if pd.isna(x) or pd.isna(n) or int(x) != x or int(n) != n:
            raise DataError(f"subgroup {level!r}: counts must be integers (got x={x}, n={n})")
        if n < 1:
            raise DataError(
                f"subgroup {level!r}: no patients (n = {n}); every level needs n >= 1"
            )
        if x < 0:
            raise DataError(f"subgroup {level!r}: negative CR count x = {x}")
        if x > n:
            raise DataError(f"subgroup {level!r}: CRs x={x} exceed patients n={n}")
    out = data.copy()
    out["subgroup"] = out["subgroup"].astype(str)
    out["x"] = out["x"].astype("int64")
    out["n"] = out["n"].astype("int64")
    if "factor" not in out:
        out.insert(0, "factor", "inline")
    if "label" not in out:
        out["label"] = out["subgroup"]
    for col in ("published_pct", "published_ci_low", "published_ci_high"):
        if col not in out:
            out[col] = np.nan
    return out


def factor_of(data: pd.DataFrame) -> str:
    """The Fig 2 factor of a frame of levels (``"inline"`` for rows given in a spec)."""
    if "factor" in data and len(data):
        return str(data["factor"].iat[0])
    return "inline"


def plot_title(factor: str) -> str:
    """Title of the forest plot of a factor's levels."""
    if factor == PHASE_FACTOR:
        return ("CR within two cycles by study part: phase I PK expansion vs phase II "
                "(70 patients at 5/15)")
    if factor not in FACTOR_NAMES:
        return "CR by subgroup: observed and posterior"
    return f"CR within two cycles by {FACTOR_NAMES[factor]} (Fig 2, 70 patients at 5/15)"


def resolve_contrasts(
    contrasts: list[tuple[str, str]] | None, data: pd.DataFrame
) -> list[tuple[str, str]]:
    """The (level a, level b) pairs reported as p(a) - p(b) for these levels.

    Parameters
    ----------
    contrasts : list of (str, str) or None
        ``options.contrasts``; ``None`` for the paper's contrasts of the factor
        (:data:`DEFAULT_CONTRASTS`, those whose levels the data have).
    data : pandas.DataFrame
        The levels (column ``subgroup``; ``factor`` names the factor).

    Raises
    ------
    SpecError
        If a level is not in the data (the allowed ones listed) or is contrasted with itself.
    """
    levels = list(data["subgroup"])
    if contrasts is None:
        pairs = DEFAULT_CONTRASTS.get(factor_of(data), [])
        return [(a, b) for a, b in pairs if a in levels and b in levels]
    for a, b in contrasts:
        for level in (a, b):
            if level not in levels:
                raise SpecError(
                    f"key 'options.contrasts': unknown subgroup level {level!r}; "
                    f"allowed: {levels}"
                )
        if a == b:
            raise SpecError(f"key 'options.contrasts': level {a!r} contrasted with itself")
    return [(str(a), str(b)) for a, b in contrasts]
