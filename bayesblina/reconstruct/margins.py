"""Published margins of a trial's patients, as constraints on unknown patient tables.

The paper never cross-tabulates two baseline factors; it prints margins. For the
several-factors-at-once model (:mod:`bayesblina.analyses.multifactor.model`) every patient's
study part, marrow blast group and CR are *known* (Table 2 splits CR by blasts within each
part), while each other factor (age group, refractory disease, ...) is *latent* per
patient, constrained by its margins. A margin's kind is read from its name:

* ``"phase x marrow_blasts x cr"`` (:attr:`Margins.KNOWN_MARGIN`): the patients by study
  part, blasts and CR (every patient one row: the known attributes);
* ``"phase x <factor>"``: a latent factor's counts by study part (Fig 1 / Table 1);
* ``"cr x <factor>"``: its CR margin (Fig 2);
* ``"<factor><level> x marrow_blasts x cr"``: the patients of one level split by blasts
  and CR (for this trial :data:`AGE_LT2`, Table 2's < 2 year olds).

:class:`Margins` holds these as tidy rows (one count per row, with its source) and takes
the study parts and every factor's levels from them, in the order they first appear (or
an explicit order), so that the same code serves this trial and any other.
:func:`published_margins` reads this trial's margins from the packaged data,
:func:`margins_of` computes the same rows from a complete patient table (a simulated
trial), so that a simulation keeps exactly what the paper would have printed.
:meth:`Margins.feasible_assignment` finds patient tables that satisfy every margin (an
integer programme, SciPy ``milp``); none existing means the margins contradict each other,
a :class:`DataError`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import optimize

from bayesblina.data import (
    load_age_by_phase,
    load_baseline,
    load_cr_by_blasts,
    load_subgroups,
)
from bayesblina.errors import DataError

#: this trial's two parts at 5/15 (26 + 44 = 70 patients)
PHASES = ("pk_expansion", "phase_2")
#: this trial's levels of every factor, in Fig 2 order (phase and blasts are known per patient)
LEVELS: dict[str, tuple[str, ...]] = {
    "phase": PHASES,
    "marrow_blasts": ("<50%", ">=50%"),
    "age": ("<2", "2-6", "7-17"),
    "refractory": ("yes", "no"),
    "previous_hsct": ("no", "yes"),
    "previous_relapses": ("0", "1", "2", ">=3"),
    "region": ("Europe", "United States"),
}
#: the attributes known per patient, in the order a margin's groups name them
KNOWN = ("phase", "marrow_blasts", "cr")
#: the latent factors this trial's packaged data give margins of
LATENT_FACTORS = ("age", "refractory", "previous_hsct", "previous_relapses", "region")
#: Table 1 characteristic and level of each latent factor level (None: the total minus the rest)
_TABLE1: dict[str, tuple[str, dict[str, str | None]]] = {
    "refractory": ("refractory", {"yes": "yes", "no": None}),
    "previous_hsct": ("previous_allohsct", {"no": "no", "yes": "yes"}),
    "previous_relapses": ("previous_relapses", {"0": "0", "1": "1", "2": "2", ">=3": ">=3"}),
    "region": ("region", {"Europe": "EU", "United States": "US"}),
}
COLUMNS = ["margin", "factor", "level", "phase", "marrow_blasts", "cr", "count", "source"]
#: the margin of this trial's < 2 years row split by blasts and CR (Table 2)
AGE_LT2 = "age<2 x marrow_blasts x cr"
#: the margin kinds, as their names read (for error messages)
MARGIN_KINDS = ("phase x marrow_blasts x cr", "phase x <factor>", "cr x <factor>",
                "<factor><level> x marrow_blasts x cr")
_LABELS = ("margin", "factor", "level", "phase", "marrow_blasts")


def first_seen(values: pd.Series) -> tuple[str, ...]:
    """The distinct non-empty values of a column, in the order they first appear."""
    return tuple(str(v) for v in dict.fromkeys(values) if str(v) != "")


def margin_by(margin: str, factor: str, level: str) -> tuple[str, ...] | None:
    """The known attributes a margin splits its factor by, read from its name.

    Parameters
    ----------
    margin, factor, level : str
        A row's ``margin``, ``factor`` and ``level``.

    Returns
    -------
    tuple of str or None
        ``("phase",)`` for ``"phase x <factor>"``, ``("cr",)`` for ``"cr x <factor>"``,
        ``("marrow_blasts", "cr")`` for ``"<factor><level> x marrow_blasts x cr"`` (one
        level's patients, e.g. :data:`AGE_LT2`), :data:`KNOWN` for
        :attr:`Margins.KNOWN_MARGIN`; ``None`` for a name of no known kind.
    """
    if margin == Margins.KNOWN_MARGIN:
        return KNOWN
    if margin == f"phase x {factor}":
        return ("phase",)
    if margin == f"cr x {factor}":
        return ("cr",)
    if margin == f"{factor}{level} x marrow_blasts x cr":
        return ("marrow_blasts", "cr")
    return None


@dataclass(frozen=True)
class Constraint:
    """Counts of a latent factor's levels within groups of known attributes.

    ``target[g, k]`` patients of group ``groups[g]`` (values of the ``by`` attributes)
    have level ``levels[k]`` of ``factor``.
    """

    margin: str
    factor: str
    by: tuple[str, ...]
    levels: tuple[str, ...]
    groups: tuple[tuple[str | int, ...], ...]
    target: np.ndarray


class Margins:
    """A trial's margins as tidy rows, with the patients' known attributes.

    Parameters
    ----------
    rows : pandas.DataFrame
        Columns :data:`COLUMNS`: one count per row. ``margin`` names the table the count
        belongs to, and its kind (see :func:`margin_by`): ``"phase x marrow_blasts x cr"``
        (the known attributes: every patient one row, ``factor = "marrow_blasts"`` and
        ``level`` its blast group), ``"phase x <factor>"``, ``"cr x <factor>"`` and
        ``"<factor><level> x marrow_blasts x cr"`` (e.g. :data:`AGE_LT2`). Attributes a
        margin does not split by are ``""`` (``cr`` is ``"0"``/``"1"`` or ``""``).
    levels : mapping of str to sequence of str, optional
        An explicit order of the study parts (key ``"phase"``), the blast groups
        (``"marrow_blasts"``) and any latent factor's levels (the latent factors in the
        order of the mapping, before the others). Without it, parts, levels and factors
        are taken in the order they first appear in ``rows`` (the parts and blast groups
        from the known margin).

    Raises
    ------
    DataError
        If a count is not a non-negative integer, a margin is of no known kind, names an
        unknown part, blast group or level, lists a count twice, is missing or does not
        add up to the patients it describes, naming the margin, the values and what they
        should be.
    """

    KNOWN_MARGIN = "phase x marrow_blasts x cr"

    def __init__(
        self, rows: pd.DataFrame, *, levels: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        missing = sorted(set(COLUMNS) - set(rows.columns))
        if missing:
            raise DataError(f"margins: missing column(s) {missing}; needed: {COLUMNS}")
        rows = rows[COLUMNS].copy()
        rows["count"] = pd.to_numeric(rows["count"], errors="coerce")
        bad = rows[rows["count"].isna() | (rows["count"] < 0) | (rows["count"] % 1 != 0)]
        if len(bad):
            r = bad.iloc[0]
            raise DataError(
                f"margins: margin {r['margin']!r}, level {r['level']!r}: count {r['count']!r} "
                "is not a non-negative integer"
            )
        rows["count"] = rows["count"].astype("int64")
        for col in _LABELS:
            if rows[col].isna().any():
                rows[col] = rows[col].astype(object).where(rows[col].notna(), "")
            rows[col] = rows[col].astype(str)
        rows["cr"] = rows["cr"].astype(str)
        self.rows = rows.reset_index(drop=True)
        self.levels = self._levels(levels or {})
        self._check()

    # -- parts, factors and levels ----------------------------------------------------
    def _levels(self, explicit: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
        """Parts, blast groups and latent factor levels: explicit order, or first seen."""
        rows = self.rows
        known = rows[rows["margin"] == self.KNOWN_MARGIN]
        if known.empty:
            raise DataError(
                f"margins: no rows of margin {self.KNOWN_MARGIN!r} (patients by study part, "
                "marrow blasts and CR)"
            )
        seen: dict[str, tuple[str, ...]] = {
            "phase": first_seen(known["phase"]),
            "marrow_blasts": first_seen(known["marrow_blasts"]),
        }
        rest = rows[rows["margin"] != self.KNOWN_MARGIN]
        factors = first_seen(rest["factor"])
        for f in factors:
            seen[f] = first_seen(rest.loc[rest["factor"] == f, "level"])
        out: dict[str, tuple[str, ...]] = {}
        for f, order in explicit.items():
            if f not in seen:
                continue
            order = tuple(str(v) for v in order)
            unknown = [v for v in seen[f] if v not in order]
            if unknown:
                what = "part(s)" if f == "phase" else "level(s)"
                raise DataError(
                    f"margins: unknown {what} {unknown} of {f!r}; allowed: {list(order)}"
                )
            out[f] = order
        for f, order in seen.items():
            out.setdefault(f, order)
        # parts and blast groups first, then the latent factors (explicit ones first)
        return {"phase": out["phase"], "marrow_blasts": out["marrow_blasts"],
                **{f: v for f, v in out.items() if f not in ("phase", "marrow_blasts")}}

    @property
    def phases(self) -> tuple[str, ...]:
        """The study parts, in order."""
        return self.levels["phase"]

    # -- the patients -----------------------------------------------------------------
    @cached_property
    def patients(self) -> pd.DataFrame:
        """One row per patient: ``phase``, ``marrow_blasts``, ``cr`` (0/1), in a fixed order."""
        known = self.rows[self.rows["margin"] == self.KNOWN_MARGIN]
        out = []
        for phase in self.phases:
            for blasts in self.levels["marrow_blasts"]:
                for cr in ("1", "0"):
                    hit = known[
                        (known["phase"] == phase)
                        & (known["marrow_blasts"] == blasts)
                        & (known["cr"] == cr)
                    ]
                    n = int(hit["count"].sum())
                    out += [(phase, blasts, int(cr))] * n
        return pd.DataFrame(out, columns=["phase", "marrow_blasts", "cr"])

    @property
    def n_patients(self) -> int:
        """Number of patients (70 in the trial)."""
        return len(self.patients)

    @cached_property
    def latent_factors(self) -> tuple[str, ...]:
        """The latent factors these margins constrain, in order (see ``levels``)."""
        return tuple(f for f in self.levels if f not in KNOWN)

    def known_index(self, attribute: str) -> np.ndarray:
        """Per patient, the index of its known ``phase`` / ``marrow_blasts`` level (or CR)."""
        if attribute == "cr":
            return self.patients["cr"].to_numpy(dtype="int64")
        levels = self.levels[attribute]
        return np.array([levels.index(v) for v in self.patients[attribute]], dtype="int64")

    # -- the constraints --------------------------------------------------------------
    @cached_property
    def constraints(self) -> tuple[Constraint, ...]:
        """Every margin of a latent factor as a :class:`Constraint`."""
        out = []
        for margin, rows in self.rows[self.rows["margin"] != self.KNOWN_MARGIN].groupby(
            "margin", sort=False
        ):
            factor = str(rows["factor"].iat[0])
            by = margin_by(str(margin), factor, str(rows["level"].iat[0])) or ()
            levels = tuple(lv for lv in self.levels[factor] if lv in set(rows["level"]))
            groups = sorted({tuple(r[c] for c in by) for _, r in rows.iterrows()})
            target = np.zeros((len(groups), len(levels)), dtype="int64")
            for _, r in rows.iterrows():
                target[groups.index(tuple(r[c] for c in by)), levels.index(r["level"])] = r[
                    "count"
                ]
            out.append(Constraint(str(margin), factor, by, levels, tuple(groups), target))
        return tuple(out)

    def group_index(self, constraint: Constraint) -> np.ndarray:
        """Per patient, the index of its group in ``constraint`` (-1: in none)."""
        keys = [
            tuple(str(self.patients[c].iat[i]) for c in constraint.by)
            for i in range(self.n_patients)
        ]
        lookup = {tuple(str(v) for v in g): k for k, g in enumerate(constraint.groups)}
        return np.array([lookup.get(k, -1) for k in keys], dtype="int64")

    def violations(self, assignment: dict[str, np.ndarray]) -> list[str]:
        """The margins a patient table (level index per patient and factor) does not meet."""
        out = []
        for c in self.constraints:
            counts = self._counts(c, assignment[c.factor])
            if not np.array_equal(counts, c.target):
                out.append(c.margin)
        return out

    def _counts(self, c: Constraint, values: np.ndarray) -> np.ndarray:
        groups = self.group_index(c)
        counts = np.zeros_like(c.target)
        all_levels = self.levels[c.factor]
        for k, level in enumerate(c.levels):
            hit = (values == all_levels.index(level)) & (groups >= 0)
            np.add.at(counts[:, k], groups[hit], 1)
        return counts

    # -- consistency and feasible tables ----------------------------------------------
    def _check_known(self, known: pd.DataFrame) -> None:
        """The known margin: every row a part, a blast group and CR 0/1, each once."""
        m = self.KNOWN_MARGIN
        for c in ("phase", "marrow_blasts"):
            if (known[c] == "").any():
                raise DataError(f"margins: margin {m!r}: a row has no {c!r}")
        bad_cr = sorted(set(known["cr"]) - {"0", "1"})
        if bad_cr:
            raise DataError(f"margins: margin {m!r}: cr {bad_cr} is invalid: it must be 0 or 1")
        other = (known["factor"] != "marrow_blasts") | (known["level"] != known["marrow_blasts"])
        if other.any():
            raise DataError(
                f"margins: margin {m!r}: every row has factor 'marrow_blasts' and its blast "
                "group as level"
            )
        dup = known[known.duplicated(["phase", "marrow_blasts", "cr"])]
        if len(dup):
            r = dup.iloc[0]
            raise DataError(
                f"margins: margin {m!r}: part {r['phase']!r}, blasts {r['marrow_blasts']!r}, "
                f"cr {r['cr']} is given twice"
            )

    def _check_margin(self, margin: str, rows: pd.DataFrame, n: int) -> None:
        """One margin of a latent factor: its kind, values, and total."""
        factors = sorted(set(rows["factor"]))
        if len(factors) != 1 or factors[0] == "":
            raise DataError(
                f"margins: margin {margin!r} has rows of factor(s) {factors}; every row of a "
                "margin names its one factor"
            )
        factor = factors[0]
        if (rows["level"] == "").any():
            raise DataError(f"margins: margin {margin!r}: a row has no level of {factor!r}")
        by = margin_by(margin, factor, str(rows["level"].iat[0]))
        if by is None or by == KNOWN:
            raise DataError(
                f"margins: margin {margin!r} (factor {factor!r}) is of no known kind; a margin "
                f"is named one of {list(MARGIN_KINDS)}"
            )
        if factor in KNOWN:
            raise DataError(
                f"margins: margin {margin!r}: factor {factor!r} is known per patient (margin "
                f"{self.KNOWN_MARGIN!r}); a margin constrains a latent factor"
            )
        for c in KNOWN:
            filled = rows[c] != ""
            if c in by and not filled.all():
                raise DataError(f"margins: margin {margin!r}: a row has no {c!r} (the margin "
                                f"splits {factor!r} by {list(by)})")
            if c not in by and filled.any():
                raise DataError(f"margins: margin {margin!r}: column {c!r} must be empty (the "
                                f"margin splits {factor!r} by {list(by)} only)")
        for c, allowed in (("phase", self.phases), ("marrow_blasts", self.levels["marrow_blasts"]),
                           ("cr", ("0", "1"))):
            unknown = [v for v in first_seen(rows[c]) if v not in allowed]
            if unknown:
                raise DataError(
                    f"margins: margin {margin!r}: unknown {c} {unknown}; allowed (from "
                    f"{self.KNOWN_MARGIN!r}): {list(allowed)}"
                )
        dup = rows[rows.duplicated(["level", *by])]
        if len(dup):
            r = dup.iloc[0]
            where = ", ".join(f"{c} {r[c]!r}" for c in by)
            raise DataError(f"margins: margin {margin!r}: level {r['level']!r}, {where} is "
                            "given twice")
        if by != ("marrow_blasts", "cr"):  # one level's split covers some patients only
            total = int(rows["count"].sum())
            if total != n:
                raise DataError(
                    f"margins: the levels of {factor!r} in margin {margin!r} add up to {total} "
                    f"patients, not the {n} analysed"
                )

    def _check(self) -> None:
        known = self.rows[self.rows["margin"] == self.KNOWN_MARGIN]
        self._check_known(known)
        n = int(known["count"].sum())
        for margin, rows in self.rows.groupby("margin", sort=False):
            if margin != self.KNOWN_MARGIN:
                self._check_margin(str(margin), rows, n)
        for f in self.latent_factors:
            if len(self.levels[f]) < 2:
                raise DataError(f"margins: factor {f!r} has one level {list(self.levels[f])}; "
                                "a factor needs at least two")
        for c in self.constraints:
            if c.by == ("marrow_blasts", "cr"):
                continue
            # every patient belongs to one group; a group's levels add up to its size
            groups = self.group_index(c)
            sizes = np.bincount(groups[groups >= 0], minlength=len(c.groups))
            for g, size in enumerate(sizes):
                got = int(c.target[g].sum())
                if got != size:
                    raise DataError(
                        f"margins: margin {c.margin!r}, group "
                        f"{dict(zip(c.by, c.groups[g], strict=True))}: the levels of "
                        f"{c.factor!r} add up to {got}, but {size} patients are in that group"
                    )

    def _types(self, factor: str) -> tuple[list[tuple[int, ...]], np.ndarray]:
        """Patient types (phase, blasts, cr index) and the type of each patient."""
        codes = np.stack([self.known_index(a) for a in KNOWN], axis=1)
        types = sorted({tuple(int(v) for v in row) for row in codes})
        of = np.array([types.index(tuple(int(v) for v in row)) for row in codes])
        return types, of

    def feasible_counts(self, factor: str, rng: np.random.Generator | None = None) -> np.ndarray:
        """Counts ``c[type, level]`` of one latent factor that meet every margin.

        Types are the distinct (phase, blasts, CR) combinations. Solved as an integer
        programme with a random objective (``rng``), so that different calls start MCMC
        chains from different tables.

        Raises
        ------
        DataError
            If no table meets the margins of ``factor`` (the margins contradict).
        """
        types, of = self._types(factor)
        levels = self.levels[factor]
        n_t, n_l = len(types), len(levels)
        size = np.bincount(of, minlength=n_t)
        rows_a, rows_b = [], []

        def var(t: int, k: int) -> int:
            return t * n_l + k

        for t in range(n_t):  # each type's patients have exactly one level
            a = np.zeros(n_t * n_l)
            a[[var(t, k) for k in range(n_l)]] = 1
            rows_a.append(a)
            rows_b.append(size[t])
        codes = {"phase": 0, "marrow_blasts": 1, "cr": 2}
        for c in (c for c in self.constraints if c.factor == factor):
            for g, group in enumerate(c.groups):
                for k, level in enumerate(c.levels):
                    a = np.zeros(n_t * n_l)
                    for t, ty in enumerate(types):
                        values = tuple(
                            self.levels[b][ty[codes[b]]] if b != "cr" else str(ty[2])
                            for b in c.by
                        )
                        if values == tuple(str(v) for v in group):
                            a[var(t, levels.index(level))] = 1
                    rows_a.append(a)
                    rows_b.append(c.target[g, k])
        a_eq, b_eq = np.array(rows_a), np.array(rows_b, dtype=float)
        cost = (rng or np.random.default_rng(0)).uniform(-1, 1, n_t * n_l)
        res = optimize.milp(
            cost,
            constraints=optimize.LinearConstraint(a_eq, b_eq, b_eq),
            integrality=np.ones(n_t * n_l),
            bounds=optimize.Bounds(0, np.repeat(size, n_l).astype(float)),
        )
        if res.status != 0 or res.x is None:
            margins = sorted({c.margin for c in self.constraints if c.factor == factor})
            raise DataError(
                f"margins: no table of the {self.n_patients} patients meets every published "
                f"margin of {factor!r} ({margins}) together with the CR split by study part "
                "and blasts: the margins contradict each other"
            )
        return np.rint(res.x).astype("int64").reshape(n_t, n_l)

    def feasible_assignment(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A patient table (level index per patient and latent factor) meeting every margin."""
        out = {}
        for factor in self.latent_factors:
            counts = self.feasible_counts(factor, rng)
            _, of = self._types(factor)
            values = np.empty(self.n_patients, dtype="int64")
            for t in range(counts.shape[0]):
                members = np.flatnonzero(of == t)
                labels = np.repeat(np.arange(counts.shape[1]), counts[t])
                values[members] = rng.permutation(labels)
            out[factor] = values
        bad = self.violations(out)
        if bad:  # pragma: no cover - milp solutions meet the constraints by construction
            raise DataError(f"margins: internal error, table violates {bad}")
        return out


# --------------------------------------------------------------------------------------
# Margins from the packaged data and from a complete (simulated) patient table
# --------------------------------------------------------------------------------------


def published_margins(
    factors: Sequence[str] = ("age", "refractory"), *, age_lt2_by_blasts: bool = True
) -> Margins:
    """The margins the paper publishes for ``factors`` (latent), from the packaged data.

    Parameters
    ----------
    factors : sequence of str
        Latent factors (:data:`LATENT_FACTORS`).
    age_lt2_by_blasts : bool
        Include Table 2's split of the < 2 year olds by blasts and CR (when ``age`` is a
        factor).

    Raises
    ------
    DataError
        If a factor is unknown or the packaged margins contradict each other.
    """
    unknown = sorted(set(factors) - set(LATENT_FACTORS))
    if unknown:
        raise DataError(f"unknown factor(s) {unknown}; allowed: {list(LATENT_FACTORS)}")
    rows: list[dict[str, object]] = []

    def add(margin: str, factor: str, level: str, count: int, source: str, **by: object) -> None:
        row = {"margin": margin, "factor": factor, "level": level, "phase": "",
               "marrow_blasts": "", "cr": "", "count": int(count), "source": source}
        row.update({k: str(v) for k, v in by.items()})
        rows.append(row)

    cr_bl = load_cr_by_blasts()
    for phase in PHASES:
        for blasts in LEVELS["marrow_blasts"]:
            r = cr_bl[(cr_bl["population"] == phase) & (cr_bl["blasts"] == blasts)].iloc[0]
            src = f"cr_by_blasts_by_phase.csv ({r['source']})"
            for cr, count in ((1, r["cr"]), (0, r["n"] - r["cr"])):
                add(Margins.KNOWN_MARGIN, "marrow_blasts", blasts, count, src,
                    phase=phase, marrow_blasts=blasts, cr=cr)
    fig2 = load_subgroups()
    base = load_baseline()
    ages = load_age_by_phase()
    for factor in factors:
        for level in LEVELS[factor]:
            r = fig2[(fig2["factor"] == factor) & (fig2["level"] == level)].iloc[0]
            add(f"cr x {factor}", factor, level, r["cr"], "subgroups_fig2.csv (Fig 2)", cr=1)
            add(f"cr x {factor}", factor, level, r["n"] - r["cr"], "subgroups_fig2.csv (Fig 2)",
                cr=0)
        if factor == "age":
            for phase in PHASES:
                for level in LEVELS["age"]:
                    r = ages[(ages["part"] == phase) & (ages["age_group"] == level)].iloc[0]
                    add("phase x age", "age", level, r["n"], f"age_by_phase.csv ({r['source']})",
                        phase=phase)
            if age_lt2_by_blasts:
                for blasts in LEVELS["marrow_blasts"]:
                    r = cr_bl[(cr_bl["population"] == "age_lt2") & (cr_bl["blasts"] == blasts)]
                    r = r.iloc[0]
                    src = f"cr_by_blasts_by_phase.csv ({r['source']})"
                    add(AGE_LT2, "age", "<2", r["cr"], src, marrow_blasts=blasts, cr=1)
                    add(AGE_LT2, "age", "<2", r["n"] - r["cr"], src, marrow_blasts=blasts, cr=0)
            continue
        char, mapping = _TABLE1[factor]
        sub = base[base["characteristic"] == char]
        total = base[base["characteristic"] == "total"].iloc[0]
        for phase, column in (("phase_2", "phase_2"), ("pk_expansion", None)):
            counts = {}
            for level, t1 in mapping.items():
                if t1 is None:
                    continue
                r = sub[sub["level"] == t1].iloc[0]
                # the PK expansion is all at 5/15 minus phase II (Table 1 has no such column)
                counts[level] = int(r[column]) if column else int(r["all_5_15"] - r["phase_2"])
            size = int(total["phase_2"]) if column else int(total["all_5_15"] - total["phase_2"])
            for level, t1 in mapping.items():
                if t1 is None:
                    counts[level] = size - sum(counts.values())
            src = "baseline_table1.csv (Table 1" + ("" if column else ": all minus phase II") + ")"
            for level in LEVELS[factor]:
                add(f"phase x {factor}", factor, level, counts[level], src, phase=phase)
    return Margins(pd.DataFrame(rows, columns=COLUMNS))


def margins_of(
    patients: pd.DataFrame,
    factors: Sequence[str],
    *,
    age_lt2_by_blasts: bool = True,
    levels: Mapping[str, Sequence[str]] | None = None,
) -> Margins:
    """The margins the paper would print for a complete patient table.

    Parameters
    ----------
    patients : pandas.DataFrame
        One row per patient: ``phase``, ``marrow_blasts``, ``cr`` (0/1) and a column per
        factor in ``factors``, with level labels from ``levels``.
    factors : sequence of str
        The latent factors whose margins are kept.
    age_lt2_by_blasts : bool
        Keep the < 2 years by blasts and CR split (when ``age`` is a factor).
    levels : mapping of str to sequence of str, optional
        The study parts (``"phase"``), blast groups and each factor's levels, in order
        (default: this trial's, :data:`LEVELS`); every level gets its rows, zeros included.
    """
    levels = {**LEVELS, **(levels or {})}
    rows: list[dict[str, object]] = []
    empty = {"phase": "", "marrow_blasts": "", "cr": ""}
    for phase, blasts, cr in itertools.product(levels["phase"], levels["marrow_blasts"], (1, 0)):
        hit = (
            (patients["phase"] == phase)
            & (patients["marrow_blasts"] == blasts)
            & (patients["cr"] == cr)
        )
        rows.append({"margin": Margins.KNOWN_MARGIN, "factor": "marrow_blasts", "level": blasts,
                     "phase": phase, "marrow_blasts": blasts, "cr": str(cr),
                     "count": int(hit.sum()), "source": "simulated"})
    for factor in factors:
        for level in levels[factor]:
            at = patients[factor] == level
            for cr in (1, 0):
                rows.append({"margin": f"cr x {factor}", "factor": factor, "level": level,
                             **empty, "cr": str(cr),
                             "count": int((at & (patients["cr"] == cr)).sum()),
                             "source": "simulated"})
            for phase in levels["phase"]:
                rows.append({"margin": f"phase x {factor}", "factor": factor, "level": level,
                             **empty, "phase": phase,
                             "count": int((at & (patients["phase"] == phase)).sum()),
                             "source": "simulated"})
        if factor == "age" and age_lt2_by_blasts:
            for blasts, cr in itertools.product(levels["marrow_blasts"], (1, 0)):
                hit = (
                    (patients["age"] == "<2")
                    & (patients["marrow_blasts"] == blasts)
                    & (patients["cr"] == cr)
                )
                rows.append({"margin": AGE_LT2, "factor": "age", "level": "<2", **empty,
                             "marrow_blasts": blasts, "cr": str(cr), "count": int(hit.sum()),
                             "source": "simulated"})
    order = {k: levels[k] for k in ("phase", "marrow_blasts", *factors)}
    return Margins(pd.DataFrame(rows, columns=COLUMNS), levels=order)
