"""Recompute every published proportion and CI from its counts, and compare.

:func:`reproduce_all` rebuilds, from the packaged counts alone, each percentage and
exact 95% CI that the paper prints in Fig 2 and Table 2 (plus the percentages of
Table 1, Table 3 and the text), rounds it half up to the printed decimals and compares
it with the printed value. The phase II design's boundaries and operating
characteristics are recomputed with :mod:`bayesblina.design.simon`.

Printed numbers that disagree with their own counts are recorded in
``contradictions.toml``; their rows stay in the table with ``matches = False`` and a
``contradiction_id``, so the disagreement is shown, not hidden.

``published`` holds only what the paper printed. The phase II design's boundaries and
operating characteristics are not printed: their rows have no ``published`` value and are
checked against the ``reference`` values stored in ``phase2_design.toml`` instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from bayesblina import data as loaders
from bayesblina.core.frequentist import clopper_pearson, percent, round_half_up
from bayesblina.design.simon import design_for_sizes, simon_oc
from bayesblina.errors import DataError

__all__ = ["COLUMNS", "JSON_KEYS", "format_table", "reproduce_all", "to_records"]

#: Columns of the frame returned by :func:`reproduce_all`.
COLUMNS = (
    "quantity",
    "published",
    "reproduced",
    "reference",
    "matches",
    "decimals",
    "source",
    "kind",
    "contradiction_id",
    "note",
)

_PRINTED = "printed"
_REFERENCE = "computed reference (not printed)"


#: Keys of each record of :func:`to_records` (``bayesblina reproduce --json``).
JSON_KEYS = (
    "quantity",
    "kind",
    "published",
    "reproduced",
    "reference",
    "decimals",
    "matches",
    "contradiction_id",
)


@dataclass(frozen=True)
class _Row:
    """One compared number: ``expected`` is printed (``kind`` printed) or a stored reference."""

    quantity: str
    expected: float
    reproduced: float
    decimals: int
    source: str
    kind: str = _PRINTED
    note: str = ""

    @property
    def published(self) -> float:
        """The printed number; NaN for a reference value the paper does not print."""
        return self.expected if self.kind == _PRINTED else math.nan

    @property
    def reference(self) -> float:
        """The stored reference value of a number the paper does not print; else NaN."""
        return math.nan if self.kind == _PRINTED else self.expected


def _first_source(source: str) -> str:
    return source.split(";")[0].strip()


def _proportion_rows(
    prefix: str, x: int, n: int, pct: float, low: float, high: float, decimals: int,
    source: str, what: str = "%",
) -> Iterator[_Row]:
    """Rows for a point percentage and, where printed, both exact CI bounds."""
    yield _Row(f"{prefix} | {what}", float(pct), percent(x, n, decimals), decimals, source)
    if not (pd.isna(low) and pd.isna(high)):
        ci_low, ci_high = clopper_pearson(x, n)
        for bound, printed, value in (("low", low, ci_low), ("high", high, ci_high)):
            yield _Row(
                f"{prefix} | {what} (95% CI {bound})",
                float(printed),
                round_half_up(100.0 * value, decimals),
                decimals,
                source,
            )


def _fig2_rows() -> Iterator[_Row]:
    for r in loaders.load_subgroups().itertuples(index=False):
        label = "all" if r.factor == "all" else f"{r.factor} = {r.level}"
        yield from _proportion_rows(
            f"Fig 2 | {label}", int(r.cr), int(r.n), r.published_pct, r.published_ci_low,
            r.published_ci_high, int(r.decimals), r.source, what="CR %",
        )


def _table2_rows() -> Iterator[_Row]:
    for r in loaders.load_table2_proportions().itertuples(index=False):
        yield from _proportion_rows(
            f"Table 2 | {r.population} | {r.quantity}", int(r.x), int(r.n), r.published_pct,
            r.published_ci_low, r.published_ci_high, int(r.decimals), r.source,
        )


def _table1_rows() -> Iterator[_Row]:
    base = loaders.load_baseline()
    total = base[(base["characteristic"] == "total").to_numpy(dtype=bool)].iloc[0]
    for r in base.itertuples(index=False):
        if r.characteristic == "total":
            continue
        for column in ("phase_1", "phase_2", "all_5_15"):
            count, pct = getattr(r, column), getattr(r, f"{column}_pct")
            if pd.isna(count) or pd.isna(pct):
                continue
            yield _Row(
                f"Table 1 | {column} | {r.characteristic} = {r.level} | %",
                float(pct),
                percent(int(count), int(total[column]), 0),
                0,
                r.source,
            )


def _adverse_event_rows() -> Iterator[_Row]:
    for r in loaders.load_adverse_events().itertuples(index=False):
        if pd.isna(r.n) or pd.isna(r.published_pct):
            continue
        yield _Row(
            f"{_first_source(r.source)} | all_5_15 | {r.term} (grade {r.grade}) | %",
            float(r.published_pct),
            percent(int(r.n), int(r.denominator), int(r.decimals)),
            int(r.decimals),
            r.source,
        )


def _text_rows() -> Iterator[_Row]:
    for r in loaders.load_text_proportions().itertuples(index=False):
        if pd.isna(r.published_pct):
            continue
        yield from _proportion_rows(
            f"{_first_source(r.source)} | {r.population} | {r.quantity}", int(r.x), int(r.n),
            r.published_pct, r.published_ci_low, r.published_ci_high, int(r.decimals), r.source,
        )


def _design_rows() -> Iterator[_Row]:
    spec = loaders.load_phase2_design()
    ref = spec.reference
    design = design_for_sizes(
        spec.n1, spec.n, spec.p0, spec.p1, spec.alpha_one_sided, spec.power
    )
    at_p0 = simon_oc(spec.n1, ref.r1, spec.n, ref.r, spec.p0)
    at_p1 = simon_oc(spec.n1, ref.r1, spec.n, ref.r, spec.p1)
    source = f"{spec.source}; {ref.source}"
    note = (
        f"n1 = {spec.n1}, n = {spec.n}, p0 = {spec.p0:g}, p1 = {spec.p1:g}, one-sided alpha "
        f"{spec.alpha_one_sided:g} (printed: {spec.alpha_sidedness} {spec.alpha:g}), "
        f"power {spec.power:g}"
    )
    dec = ref.decimals
    yield _Row("Phase II design | r1 (stop if X1 <= r1)", float(ref.r1), float(design.r1), 0,
               source, _REFERENCE, note)
    yield _Row("Phase II design | r (reject H0 if X > r)", float(ref.r), float(design.r), 0,
               source, _REFERENCE, note)
    for label, stored, value, key in (
        ("attained one-sided alpha at p0", ref.attained_alpha, design.alpha, "attained_alpha"),
        ("power at p1", ref.power, design.power, "power"),
        ("PET(p0)", ref.pet0, design.pet0, "pet0"),
        ("EN(p0)", ref.en0, design.en0, "en0"),
    ):
        yield _Row(f"Phase II design | {label}", float(stored),
                   round_half_up(value, dec[key]), dec[key], source, _REFERENCE, note)
    # The reference boundaries above, evaluated directly (not via the search).
    for label, stored, value, key in (
        ("attained one-sided alpha at p0 (r1 = 2, r = 8)", ref.attained_alpha,
         at_p0.reject_prob, "attained_alpha"),
        ("power at p1 (r1 = 2, r = 8)", ref.power, at_p1.reject_prob, "power"),
    ):
        yield _Row(f"Phase II design | {label}", float(stored),
                   round_half_up(value, dec[key]), dec[key], source, _REFERENCE, note)
    yield _Row("Methods | phase_2 | design power (80%)", float(spec.power),
               round_half_up(design.power, 2), 2, spec.source, _PRINTED,
               "printed target power, compared with the attained power rounded to 2 decimals")


def reproduce_all(*, include_design: bool = True) -> pd.DataFrame:
    """Recompute every published proportion and exact CI and compare with the paper.

    Parameters
    ----------
    include_design : bool, default True
        Also recompute the phase II design's boundaries and operating characteristics
        (needs :mod:`bayesblina.design.simon`).

    Returns
    -------
    pandas.DataFrame
        One row per published number, with columns ``quantity`` (unique readable id,
        e.g. ``"Fig 2 | age = <2 | CR % (95% CI low)"``), ``published`` (the number the
        paper prints, ``float64``; NaN where it prints none), ``reproduced`` (recomputed
        by the package from the counts and rounded half up to the printed decimals,
        ``float64``), ``reference`` (for a number the paper does not print, the value
        stored in ``phase2_design.toml`` that the recomputation is checked against;
        NaN for printed numbers), ``matches`` (``bool``: ``reproduced`` equals
        ``published``, or ``reference`` where nothing is printed), ``decimals``
        (``int64``), ``source``, ``kind`` (``"printed"``, or ``"computed reference (not
        printed)"`` for the design's boundaries and operating characteristics),
        ``contradiction_id`` (``string``; ``<NA>`` unless ``contradictions.toml`` explains
        the row) and ``note``.

    Raises
    ------
    DataError
        If a data file is invalid, or ``contradictions.toml`` names a quantity that is
        not in the table.

    Notes
    -----
    Covered: every point percentage and both exact CI bounds in Fig 2 (1 decimal) and
    Table 2 (0 decimals, CIs where printed), every percentage of Table 1 and Table 3,
    the text's percentages that have counts, and the phase II design.
    """
    rows: list[_Row] = [
        *_fig2_rows(),
        *_table2_rows(),
        *_table1_rows(),
        *_adverse_event_rows(),
        *_text_rows(),
    ]
    if include_design:
        rows.extend(_design_rows())
    frame = pd.DataFrame(
        {
            "quantity": pd.array([r.quantity for r in rows], dtype="string"),
            "published": pd.array([r.published for r in rows], dtype="float64"),
            "reproduced": pd.array([r.reproduced for r in rows], dtype="float64"),
            "reference": pd.array([r.reference for r in rows], dtype="float64"),
            "matches": [
                math.isclose(r.expected, r.reproduced, rel_tol=0.0, abs_tol=1e-9)
                for r in rows
            ],
            "decimals": pd.array([r.decimals for r in rows], dtype="int64"),
            "source": pd.array([r.source for r in rows], dtype="string"),
            "kind": pd.array([r.kind for r in rows], dtype="string"),
            "contradiction_id": pd.array([None] * len(rows), dtype="string"),
            "note": pd.array([r.note or None for r in rows], dtype="string"),
        }
    )
    duplicated = frame["quantity"][frame["quantity"].duplicated()]
    if len(duplicated):
        raise DataError(  # pragma: no cover - guarded by the data files' own checks
            f"duplicated quantity ids in the reproduction: {', '.join(duplicated)}"
        )
    position = {q: i for i, q in enumerate(frame["quantity"])}
    contradictions = loaders.load_contradictions()
    for entry in contradictions.itertuples(index=False):
        for quantity in entry.reproduce_quantities:
            if quantity not in position:
                if not include_design and quantity.startswith("Phase II design"):
                    continue
                raise DataError(
                    f"contradictions.toml: {entry.id} names quantity {quantity!r}, which "
                    "reproduce_all() does not produce"
                )
            i = position[quantity]
            frame.loc[i, "contradiction_id"] = entry.id
            frame.loc[i, "note"] = entry.what
    return frame


def _fmt(value: float, decimals: int) -> str:
    if pd.isna(value):
        return "-"
    return f"{value:.{decimals}f}"


def format_table(df: pd.DataFrame) -> str:
    """Render :func:`reproduce_all`'s frame as an aligned plain-text table.

    Parameters
    ----------
    df : pandas.DataFrame
        The frame returned by :func:`reproduce_all` (at least ``quantity``,
        ``published``, ``reproduced`` and ``matches``; ``decimals`` and
        ``contradiction_id`` are used when present).

    Returns
    -------
    str
        One line per quantity (``ok``, ``ok (reference, not printed)`` for a number
        the paper does not print that matches its stored reference, ``KNOWN <id>`` for a
        recorded contradiction, ``MISMATCH`` otherwise), a list of the known
        contradictions, and a final line ``"N of M published numbers reproduced; K known
        contradictions"`` (plus the number of unexplained mismatches, if any).

    Raises
    ------
    DataError
        If a required column is missing.
    """
    missing = [c for c in ("quantity", "published", "reproduced", "matches") if c not in df]
    if missing:
        raise DataError(f"format_table: missing column(s) {', '.join(missing)}")
    decimals = df["decimals"] if "decimals" in df else pd.Series(3, index=df.index)
    ids = (
        df["contradiction_id"]
        if "contradiction_id" in df
        else pd.Series(pd.NA, index=df.index, dtype="string")
    )
    refs = df["reference"] if "reference" in df else pd.Series(math.nan, index=df.index)
    body: list[tuple[str, str, str, str]] = []
    known = unexplained = 0
    for q, pub, rep, ok, dec, cid, ref in zip(
        df["quantity"], df["published"], df["reproduced"], df["matches"], decimals, ids, refs,
        strict=True,
    ):
        if bool(ok):
            status = "ok (reference, not printed)" if pd.notna(ref) else "ok"
        elif pd.notna(cid):
            status, known = f"KNOWN {cid}", known + 1
        else:
            status, unexplained = "MISMATCH", unexplained + 1
        body.append((str(q), _fmt(pub, int(dec)), _fmt(rep, int(dec)), status))
    header = ("quantity", "published", "reproduced", "status")
    widths = [max(len(header[i]), *(len(b[i]) for b in body)) if body else len(header[i])
              for i in range(4)]

    def line(cells: tuple[str, str, str, str]) -> str:
        return "  ".join(
            (cells[0].ljust(widths[0]), cells[1].rjust(widths[1]),
             cells[2].rjust(widths[2]), cells[3])
        ).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out.extend(line(b) for b in body)
    if known and "note" in df:
        out.append("")
        out.append("Known contradictions (printed as in the paper, see contradictions.toml):")
        shown: set[str] = set()
        for cid, note in zip(ids, df["note"], strict=True):
            if pd.notna(cid) and cid not in shown:
                shown.add(str(cid))
                out.append(f"  {cid}: {note}")
    out.append("")
    summary = (
        f"{int(df['matches'].sum())} of {len(df)} published numbers reproduced; "
        f"{known} known contradictions"
    )
    if unexplained:
        summary += f"; {unexplained} UNEXPLAINED mismatches"
    out.append(summary)
    return "\n".join(out)



def _json_number(value: Any) -> float | None:
    """A number for JSON: ``None`` for NaN/NA."""
    return None if pd.isna(value) else float(value)


def to_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of :func:`reproduce_all`'s frame as JSON-ready records.

    Parameters
    ----------
    df : pandas.DataFrame
        The frame returned by :func:`reproduce_all`.

    Returns
    -------
    list of dict
        One record per row with the keys of :data:`JSON_KEYS`: ``published`` is the
        number the paper prints (``None`` where it prints none), ``reproduced`` the
        package's recomputation, ``reference`` the stored reference value of a number the
        paper does not print (else ``None``), ``matches`` a ``bool`` and
        ``contradiction_id`` the id of the recorded contradiction that explains a
        mismatch (``None`` where there is none).

    Raises
    ------
    DataError
        If a column of :data:`JSON_KEYS` is missing.
    """
    missing = [c for c in JSON_KEYS if c not in df]
    if missing:
        raise DataError(f"to_records: missing column(s) {', '.join(missing)}")
    records: list[dict[str, Any]] = []
    for row in df[list(JSON_KEYS)].itertuples(index=False):
        cid = row.contradiction_id
        records.append(
            {
                "quantity": str(row.quantity),
                "kind": str(row.kind),
                "published": _json_number(row.published),
                "reproduced": _json_number(row.reproduced),
                "reference": _json_number(row.reference),
                "decimals": int(row.decimals),
                "matches": bool(row.matches),
                "contradiction_id": None if pd.isna(cid) else str(cid),
            }
        )
    return records
