"""Typed, validated loaders for the published numbers of the blinatumomab trial.

Every number comes from von Stackelberg et al., J Clin Oncol 2016 (study MT103-205) and
is stored, exactly as printed, in a small tidy file shipped with the package (one row per
published number, each tagged with the table, figure or section it came from). Where the
paper contradicts itself the printed value is kept and the row carries a
``contradiction_id`` that points into ``contradictions.toml``
(see :func:`load_contradictions`).

Each ``load_*`` function reads the packaged file when ``path`` is ``None`` (through
:mod:`importlib.resources`) or the given file otherwise, converts every column to an
explicit dtype (``Int64`` for counts, ``float64`` for measurements, ``string`` for labels,
``boolean`` for flags) and validates the rules the trial's numbers must obey. Any
violation raises :class:`bayesblina.errors.DataError` with one message that names the file,
the line and column, the offending value and what is allowed.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import pandas as pd

from bayesblina.errors import DataError

__all__ = [
    "DATA_FILES",
    "Phase2Design",
    "Phase2Reference",
    "data_checksum",
    "data_file",
    "list_data_files",
    "load_adverse_events",
    "load_age_by_phase",
    "load_baseline",
    "load_baseline_medians",
    "load_contradictions",
    "load_cr_by_blasts",
    "load_fig1_flow",
    "load_patient_fates",
    "load_phase1_cohorts",
    "load_phase2_design",
    "load_response_categories",
    "load_subgroups",
    "load_survival_summaries",
    "load_table2_proportions",
    "load_text_proportions",
]

PathLike = str | os.PathLike[str]

#: Packaged data files, by the name of the loader that reads them.
DATA_FILES: Mapping[str, str] = MappingProxyType(
    {
        "subgroups": "subgroups_fig2.csv",
        "table2_proportions": "table2_proportions.csv",
        "response_categories": "response_categories_table2.csv",
        "phase1_cohorts": "phase1_cohorts.csv",
        "baseline": "baseline_table1.csv",
        "baseline_medians": "baseline_medians_table1.csv",
        "age_by_phase": "age_by_phase.csv",
        "cr_by_blasts": "cr_by_blasts_by_phase.csv",
        "survival_summaries": "survival_summaries.csv",
        "patient_fates": "patient_fates.csv",
        "adverse_events": "adverse_events_table3.csv",
        "text_proportions": "text_proportions.csv",
        "fig1_flow": "fig1_flow.csv",
        "phase2_design": "phase2_design.toml",
        "contradictions": "contradictions.toml",
    }
)

_PACKAGE = "bayesblina.data"
_STRING = pd.StringDtype()
_CONTRADICTION_ID = re.compile(r"^C\d{2,}$")
_INT = re.compile(r"^[+-]?\d+$")

# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------


def list_data_files() -> list[str]:
    """List the data files shipped with the package.

    Returns
    -------
    list of str
        Sorted file names (``*.csv`` and ``*.toml``) in ``bayesblina/data``.
    """
    root = resources.files(_PACKAGE)
    return sorted(
        entry.name
        for entry in root.iterdir()
        if entry.is_file() and entry.name.endswith((".csv", ".toml"))
    )


def data_file(name: str) -> Path:
    """Return the path of a packaged data file.

    Parameters
    ----------
    name : str
        File name inside ``bayesblina/data``, e.g. ``"subgroups_fig2.csv"``.

    Returns
    -------
    pathlib.Path
        Absolute path of the file.

    Raises
    ------
    DataError
        If ``name`` is not a plain file name or no such file is packaged.
    """
    if not isinstance(name, str) or not name or Path(name).name != name:
        raise DataError(
            f"data file name {name!r} is invalid: give a plain file name such as "
            f"'subgroups_fig2.csv' (packaged files: {', '.join(list_data_files())})"
        )
    path = Path(str(resources.files(_PACKAGE).joinpath(name)))
    if not path.is_file():
        raise DataError(
            f"data file not found: {path} (packaged files: {', '.join(list_data_files())})"
        )
    return path


def _resolve(name_or_path: PathLike, default: str | None = None) -> Path:
    """Turn a packaged file name or a filesystem path into an existing file path."""
    if name_or_path is None:
        if default is None:  # pragma: no cover - programming error
            raise DataError("no data file given")
        return data_file(default)
    if isinstance(name_or_path, str) and Path(name_or_path).name == name_or_path:
        candidate = Path(str(resources.files(_PACKAGE).joinpath(name_or_path)))
        if candidate.is_file():
            return candidate
    path = Path(os.fspath(name_or_path))
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    return path


def data_checksum(*names_or_paths: PathLike) -> str:
    """SHA-256 checksum of one or more data files, for provenance records.

    Parameters
    ----------
    *names_or_paths : str or os.PathLike
        Packaged file names (``"subgroups_fig2.csv"``) or paths. With none, every
        packaged data file (:func:`list_data_files`) is included.

    Returns
    -------
    str
        For one file, the hex SHA-256 of its bytes (what ``sha256sum`` prints). For
        several, the hex SHA-256 of one line ``<name>  <sha256 of its bytes>`` per
        file (each ended by a newline), in the order given, so that the result
        changes if any file changes.

    Raises
    ------
    DataError
        If a file does not exist.
    """
    items: Iterable[PathLike] = names_or_paths or list_data_files()
    digests = [(path.name, hashlib.sha256(path.read_bytes()).hexdigest())
               for path in (_resolve(item) for item in items)]
    if len(digests) == 1:
        return digests[0][1]
    combined = hashlib.sha256()
    for name, digest in digests:
        combined.update(f"{name}  {digest}\n".encode())
    return combined.hexdigest()


# --------------------------------------------------------------------------------------
# Typed CSV reading
# --------------------------------------------------------------------------------------

_Kind = Literal["count", "int", "float", "nonneg", "positive", "pct", "label", "text", "bool"]


@dataclass(frozen=True)
class _Col:
    """One column of a data file: its name, kind and whether it may be empty."""

    name: str
    kind: _Kind
    required: bool = True
    allowed: tuple[str, ...] | None = None


_RULES: dict[str, str] = {
    "count": "a count must be a whole number >= 0",
    "int": "it must be a whole number",
    "float": "it must be a finite number",
    "nonneg": "it must be a finite number >= 0",
    "positive": "it must be a finite number > 0",
    "pct": "a percentage must be a number between 0 and 100",
    "label": "it must be a non-empty label",
    "text": "it must be text",
    "bool": "it must be 'true' or 'false'",
}


class _Table:
    """A parsed data file: the typed frame plus the file line of every row."""

    def __init__(self, path: Path, frame: pd.DataFrame, lines: list[int]) -> None:
        self.path = path
        self.df = frame
        self.lines = lines

    def fail(self, row: int, column: str, value: object, allowed: str) -> DataError:
        """Build the error for one bad cell (``row`` is the 0-based row position)."""
        return DataError(
            f"{self.path}: line {self.lines[row]}, column '{column}': value "
            f"{_show(value)} is invalid: {allowed}"
        )

    def fail_rows(self, rows: Iterable[int], message: str) -> DataError:
        """Build an error about several rows at once."""
        lines = ", ".join(str(self.lines[r]) for r in rows)
        return DataError(f"{self.path}: lines {lines}: {message}")


def _show(value: object) -> str:
    """Render a cell value for an error message."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "(empty)"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _parse(raw: str, col: _Col) -> Any:
    """Convert one raw cell; raise ``ValueError`` with the rule it breaks."""
    if raw == "":
        if col.required:
            raise ValueError("it must not be empty" + _allowed_suffix(col))
        return pd.NA if col.kind in ("count", "int", "label", "text", "bool") else math.nan
    kind = col.kind
    if kind in ("count", "int"):
        if not _INT.match(raw):
            raise ValueError(_RULES[kind])
        value = int(raw)
        if kind == "count" and value < 0:
            raise ValueError("a count cannot be negative (it must be a whole number >= 0)")
        return value
    if kind in ("float", "nonneg", "positive", "pct"):
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(_RULES[kind]) from None
        if not math.isfinite(value):
            raise ValueError(_RULES[kind])
        if kind == "nonneg" and value < 0:
            raise ValueError(_RULES[kind])
        if kind == "positive" and value <= 0:
            raise ValueError(_RULES[kind])
        if kind == "pct" and not 0.0 <= value <= 100.0:
            raise ValueError(_RULES[kind])
        return value
    if kind == "bool":
        low = raw.lower()
        if low not in ("true", "false"):
            raise ValueError(_RULES[kind])
        return low == "true"
    if col.allowed is not None and raw not in col.allowed:
        raise ValueError("allowed values are " + ", ".join(repr(a) for a in col.allowed))
    return raw


def _allowed_suffix(col: _Col) -> str:
    if col.allowed is not None:
        return " (allowed values are " + ", ".join(repr(a) for a in col.allowed) + ")"
    return f" ({_RULES[col.kind]})"


_DTYPES: dict[str, Any] = {
    "count": "Int64",
    "int": "Int64",
    "float": "float64",
    "nonneg": "float64",
    "positive": "float64",
    "pct": "float64",
    "label": _STRING,
    "text": _STRING,
    "bool": "boolean",
}


def _read_csv(path: Path, columns: Iterable[_Col]) -> _Table:
    """Read a CSV data file, check its columns and convert every cell to its dtype."""
    columns = list(columns)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header: list[str] | None = None
            rows: list[list[str]] = []
            lines: list[int] = []
            for record in reader:
                if not record or all(not cell.strip() for cell in record):
                    continue
                if header is None:
                    header = [cell.strip() for cell in record]
                    header_line = reader.line_num
                    continue
                if len(record) != len(header):
                    raise DataError(
                        f"{path}: line {reader.line_num}: has {len(record)} fields but the "
                        f"header (line {header_line}) has {len(header)}; quote any field "
                        "that contains a comma"
                    )
                rows.append([cell.strip() for cell in record])
                lines.append(reader.line_num)
    except FileNotFoundError:
        raise DataError(f"data file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: is not UTF-8 text ({exc})") from None
    except csv.Error as exc:
        raise DataError(f"{path}: is not a valid CSV file ({exc})") from None
    if header is None:
        raise DataError(f"{path}: is empty: expected a header line with the columns "
                        + ", ".join(c.name for c in columns))
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise DataError(f"{path}: duplicated column(s) {', '.join(map(repr, duplicated))}")
    missing = [c.name for c in columns if c.name not in header]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(map(repr, missing))} (required columns: "
            f"{', '.join(c.name for c in columns)})"
        )
    if not rows:
        raise DataError(f"{path}: has a header but no data rows")

    table = _Table(path, pd.DataFrame(), lines)
    data: dict[str, pd.Series] = {}
    for col in columns:
        idx = header.index(col.name)
        values = []
        for pos, row in enumerate(rows):
            try:
                values.append(_parse(row[idx], col))
            except ValueError as exc:
                raise table.fail(pos, col.name, row[idx], str(exc)) from None
        data[col.name] = pd.Series(values, dtype=_DTYPES[col.kind])
    known = {c.name for c in columns}
    for idx, name in enumerate(header):  # extra columns are kept as text
        if name not in known:
            data[name] = pd.Series([row[idx] or pd.NA for row in rows], dtype=_STRING)
    frame = pd.DataFrame(data)
    frame.attrs["source_file"] = path.name
    frame.attrs["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    table.df = frame
    return table


# --------------------------------------------------------------------------------------
# Reusable row checks
# --------------------------------------------------------------------------------------


def _present(value: object) -> bool:
    return not pd.isna(value)


def _check_unique(table: _Table, keys: list[str]) -> None:
    seen: dict[tuple[Any, ...], int] = {}
    for pos, key in enumerate(table.df[keys].itertuples(index=False, name=None)):
        if key in seen:
            shown = ", ".join(f"{k} = {_show(v)}" for k, v in zip(keys, key, strict=True))
            raise table.fail_rows(
                [seen[key], pos], f"duplicated row ({shown}): each ({', '.join(keys)}) "
                "must appear once"
            )
        seen[key] = pos


def _check_not_more(table: _Table, part: str, whole: str, what: str) -> None:
    """Check ``part <= whole`` on every row where both are present."""
    for pos, (a, b) in enumerate(zip(table.df[part], table.df[whole], strict=True)):
        if _present(a) and _present(b) and a > b:
            raise table.fail(pos, part, a, f"it exceeds {whole} = {b} ({what})")


def _check_positive_n(table: _Table, column: str) -> None:
    for pos, n in enumerate(table.df[column]):
        if _present(n) and n == 0:
            raise table.fail(pos, column, n, "a denominator must be at least 1")


def _check_interval(table: _Table, est: str, low: str, high: str, *, paired: bool = True) -> None:
    """Check ``low <= est <= high`` and, if ``paired``, that low and high come together."""
    frame = table.df
    for pos in range(len(frame)):
        e, lo, hi = frame[est].iat[pos], frame[low].iat[pos], frame[high].iat[pos]
        if paired and _present(lo) != _present(hi):
            empty = high if _present(lo) else low
            raise table.fail(pos, empty, None, f"give both {low} and {high}, or neither")
        if _present(lo) and _present(hi) and lo > hi:
            raise table.fail(pos, low, lo, f"the lower bound exceeds {high} = {hi}")
        if _present(e) and _present(lo) and e < lo:
            raise table.fail(pos, est, e, f"the estimate lies below {low} = {lo}")
        if _present(e) and _present(hi) and e > hi:
            raise table.fail(pos, est, e, f"the estimate lies above {high} = {hi}")


def _check_constant(table: _Table, group: str, column: str) -> None:
    """Check that ``column`` takes a single value within each ``group``."""
    first: dict[Any, int] = {}
    for pos, (g, v) in enumerate(zip(table.df[group], table.df[column], strict=True)):
        if g in first:
            ref = table.df[column].iat[first[g]]
            if v != ref:
                raise table.fail(
                    pos, column, v, f"{group} {g!r} has {column} = {ref} on line "
                    f"{table.lines[first[g]]}; it must be the same on every row"
                )
        else:
            first[g] = pos


def _check_contradiction_ids(table: _Table) -> None:
    if "contradiction_id" not in table.df:
        return
    for pos, cid in enumerate(table.df["contradiction_id"]):
        if _present(cid) and not _CONTRADICTION_ID.match(str(cid)):
            raise table.fail(
                pos, "contradiction_id", cid, "it must be empty or an id such as 'C05' "
                "(see contradictions.toml)"
            )


def _label(name: str, allowed: tuple[str, ...] | None = None) -> _Col:
    return _Col(name, "label", True, allowed)


def _text(name: str) -> _Col:
    return _Col(name, "text", False)


_SOURCE = _label("source")
_NOTE = _text("note")
_CID = _text("contradiction_id")


def _finish(table: _Table, checks: Iterable[Callable[[_Table], None]] = ()) -> pd.DataFrame:
    for check in checks:
        check(table)
    _check_contradiction_ids(table)
    return table.df


# --------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------


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
    table = _read_csv(
        _resolve(path, DATA_FILES["subgroups"]),
        [
            _label("factor"), _label("level"), _text("label"), _Col("order", "count"),
            _Col("n", "count"), _Col("cr", "count"), _Col("published_pct", "pct"),
            _Col("published_ci_low", "pct"), _Col("published_ci_high", "pct"),
            _Col("decimals", "count"), _SOURCE, _NOTE,
        ],
    )
    return _finish(
        table,
        [
            lambda t: _check_unique(t, ["factor", "level"]),
            lambda t: _check_positive_n(t, "n"),
            lambda t: _check_not_more(t, "cr", "n", "responders cannot exceed patients"),
            lambda t: _check_interval(
                t, "published_pct", "published_ci_low", "published_ci_high"
            ),
            _check_subgroup_margins,
        ],
    )


def _check_subgroup_margins(table: _Table) -> None:
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
    _label("population"), _label("quantity"), _Col("x", "count"), _Col("n", "count"),
    _Col("published_pct", "pct"), _Col("published_ci_low", "pct", False),
    _Col("published_ci_high", "pct", False), _Col("decimals", "count"), _SOURCE, _NOTE, _CID,
]


def _proportion_checks() -> list[Callable[[_Table], None]]:
    return [
        lambda t: _check_unique(t, ["population", "quantity"]),
        lambda t: _check_positive_n(t, "n"),
        lambda t: _check_not_more(
            t, "x", "n", "responders or events cannot exceed patients"
        ),
        lambda t: _check_interval(t, "published_pct", "published_ci_low", "published_ci_high"),
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
    table = _read_csv(_resolve(path, DATA_FILES["table2_proportions"]), _PROPORTION_COLUMNS)
    return _finish(table, _proportion_checks())


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
        _Col("published_pct", "pct", False) if c.name == "published_pct" else c
        for c in _PROPORTION_COLUMNS
    ]
    table = _read_csv(_resolve(path, DATA_FILES["text_proportions"]), columns)
    return _finish(table, _proportion_checks())


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
    table = _read_csv(
        _resolve(path, DATA_FILES["response_categories"]),
        [
            _label("population"), _Col("population_n", "count"),
            _label("category", RESPONSE_CATEGORIES), _Col("order", "count"),
            _Col("count", "count", False), _SOURCE, _NOTE,
        ],
    )
    return _finish(
        table,
        [
            lambda t: _check_unique(t, ["population", "category"]),
            lambda t: _check_constant(t, "population", "population_n"),
            lambda t: _check_not_more(t, "count", "population_n", "a category cannot "
                                      "exceed its population"),
            _check_categories_partition,
        ],
    )


def _check_categories_partition(table: _Table) -> None:
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


def load_phase1_cohorts(path: PathLike | None = None) -> pd.DataFrame:
    """Load the phase I dose cohorts with their DLTs in cycle 1 (Fig 1, Fig A1, Results).

    Doses are in µg/m²/day. A stepwise regimen ``"a/b"`` gives ``first_dose = a`` for
    ``first_days = 7`` days of cycle 1, then ``maintenance_dose = b``; a constant
    regimen has ``first_days = 0`` and ``first_dose = maintenance_dose``.

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``phase1_cohorts.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``cohort``, ``part`` (``"escalation"`` or ``"pk_expansion"``),
        ``regimen``, ``stepwise`` (``boolean``), ``first_dose``, ``first_days``,
        ``maintenance_dose``, ``dose_unit``, ``patients``, ``dlts``, ``dlts_crs`` (the
        DLTs that were CRS; ``Int64``),
        ``dlts_formally_collected`` (``boolean``; false for the PK expansion, whose
        ``dlts = 0`` means none reported), ``source``, ``note``, ``contradiction_id``.

    Raises
    ------
    DataError
        If the file is missing or malformed, a count is negative, ``dlts > patients``,
        ``dlts_crs > dlts``, a dose is not positive, or the regimen label disagrees with the doses.
    """
    table = _read_csv(
        _resolve(path, DATA_FILES["phase1_cohorts"]),
        [
            _label("cohort"), _label("part", ("escalation", "pk_expansion")),
            _label("regimen"), _Col("stepwise", "bool"), _Col("first_dose", "positive"),
            _Col("first_days", "count"), _Col("maintenance_dose", "positive"),
            _label("dose_unit"), _Col("patients", "count"), _Col("dlts", "count"),
            _Col("dlts_crs", "count"), _Col("dlts_formally_collected", "bool"),
            _SOURCE, _NOTE, _CID,
        ],
    )
    return _finish(
        table,
        [
            lambda t: _check_unique(t, ["cohort"]),
            lambda t: _check_not_more(t, "dlts", "patients", "DLTs cannot exceed patients"),
            lambda t: _check_not_more(t, "dlts_crs", "dlts", "CRS DLTs are among the DLTs"),
            _check_regimens,
        ],
    )


def _fmt_dose(dose: float) -> str:
    return f"{dose:g}"


def _check_regimens(table: _Table) -> None:
    frame = table.df
    for pos in range(len(frame)):
        step = bool(frame["stepwise"].iat[pos])
        first, days = frame["first_dose"].iat[pos], int(frame["first_days"].iat[pos])
        maint = frame["maintenance_dose"].iat[pos]
        if step and (days == 0 or first == maint):
            raise table.fail(
                pos, "first_days", days, "a stepwise regimen needs first_days > 0 and "
                "first_dose different from maintenance_dose"
            )
        if not step and (days != 0 or first != maint):
            raise table.fail(
                pos, "first_days", days, "a constant regimen needs first_days = 0 and "
                "first_dose equal to maintenance_dose"
            )
        expected = (f"{_fmt_dose(first)}/{_fmt_dose(maint)}" if step else _fmt_dose(maint))
        if frame["regimen"].iat[pos] != expected:
            raise table.fail(
                pos, "regimen", frame["regimen"].iat[pos],
                f"the doses on this row spell the regimen {expected!r}",
            )


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
    columns = [_label("characteristic"), _label("level"), _text("label"),
               _Col("order", "count"), _Col("partition", "bool")]
    for col in _BASELINE_COLUMNS:
        columns += [_Col(col, "count", False), _Col(f"{col}_pct", "pct", False)]
    columns += [_SOURCE, _NOTE, _CID]
    table = _read_csv(_resolve(path, DATA_FILES["baseline"]), columns)
    return _finish(
        table,
        [
            lambda t: _check_unique(t, ["characteristic", "level"]),
            lambda t: _check_constant(t, "characteristic", "partition"),
            _check_baseline_totals,
        ],
    )


def _check_baseline_totals(table: _Table) -> None:
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
        if not _present(total) or total == 0:
            raise table.fail(top, col, total, "the column size must be a count >= 1")
        for pos in range(len(frame)):
            count, pct = frame[col].iat[pos], frame[f"{col}_pct"].iat[pos]
            if _present(pct) and not _present(count):
                raise table.fail(pos, f"{col}_pct", pct, f"a percentage needs a count in {col}")
            if _present(count) and count > total:
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
    table = _read_csv(
        _resolve(path, DATA_FILES["baseline_medians"]),
        [
            _label("characteristic"), _label("population"), _Col("population_n", "count"),
            _Col("median", "nonneg"), _Col("range_low", "nonneg", False),
            _Col("range_high", "nonneg", False), _label("range_printed"), _label("unit"),
            _SOURCE, _NOTE, _CID,
        ],
    )
    return _finish(
        table,
        [
            lambda t: _check_unique(t, ["characteristic", "population"]),
            lambda t: _check_interval(t, "median", "range_low", "range_high", paired=False),
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
    table = _read_csv(
        _resolve(path, DATA_FILES["age_by_phase"]),
        [
            _label("part"), _Col("part_n", "count"), _label("age_group", AGE_GROUPS),
            _Col("n", "count"), _Col("derived", "bool"), _SOURCE, _NOTE,
        ],
    )
    return _finish(
        table,
        [
            lambda t: _check_unique(t, ["part", "age_group"]),
            lambda t: _check_constant(t, "part", "part_n"),
            lambda t: _check_not_more(t, "n", "part_n", "an age group cannot exceed its part"),
            lambda t: _check_group_sum(t, "part", "n", "part_n", "age groups"),
        ],
    )


def _check_group_sum(table: _Table, group: str, column: str, total: str, what: str) -> None:
    for key, rows in table.df.groupby(group, sort=False):
        size, got = int(rows[total].iat[0]), int(rows[column].sum())
        if got != size:
            raise table.fail_rows(
                [int(i) for i in rows.index],
                f"the {what} of {group} {key!r} add up to {got}, not {total} = {size}",
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
    table = _read_csv(
        _resolve(path, DATA_FILES["cr_by_blasts"]),
        [
            _label("population"), _label("blasts", BLAST_LEVELS), _Col("cr", "count"),
            _Col("n", "count"), _Col("derived", "bool"), _SOURCE, _NOTE,
        ],
    )
    return _finish(
        table,
        [
            lambda t: _check_unique(t, ["population", "blasts"]),
            lambda t: _check_positive_n(t, "n"),
            lambda t: _check_not_more(t, "cr", "n", "responders cannot exceed patients"),
            _check_blast_split,
        ],
    )


def _check_blast_split(table: _Table) -> None:
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
    table = _read_csv(
        _resolve(path, DATA_FILES["survival_summaries"]),
        [
            _label("endpoint"), _label("population"), _Col("n", "count"),
            _Col("median_months", "nonneg", False), _Col("ci_low", "nonneg", False),
            _Col("ci_high", "nonneg", False), _Col("median_followup_months", "nonneg", False),
            _Col("landmark_time", "nonneg", False),
            _Col("landmark_unit", "label", False, ("days", "months")),
            _Col("landmark_pct", "pct", False), _Col("landmark_ci_low", "pct", False),
            _Col("landmark_ci_high", "pct", False), _SOURCE, _NOTE, _CID,
        ],
    )
    return _finish(
        table,
        [
            lambda t: _check_unique(t, ["endpoint", "population"]),
            lambda t: _check_interval(t, "median_months", "ci_low", "ci_high"),
            lambda t: _check_interval(t, "landmark_pct", "landmark_ci_low", "landmark_ci_high"),
            _check_landmarks,
        ],
    )


def _check_landmarks(table: _Table) -> None:
    frame = table.df
    for pos in range(len(frame)):
        time, unit = frame["landmark_time"].iat[pos], frame["landmark_unit"].iat[pos]
        pct = frame["landmark_pct"].iat[pos]
        if _present(time) != _present(unit) or _present(time) != _present(pct):
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
    table = _read_csv(
        _resolve(path, DATA_FILES["patient_fates"]),
        [
            _label("population"), _label("fate"), _Col("n", "count"), _text("parent"),
            _Col("partition", "bool"), _SOURCE, _NOTE,
        ],
    )
    return _finish(table, [lambda t: _check_unique(t, ["population", "fate"]), _check_fates])


def _check_fates(table: _Table) -> None:
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
                if _present(parent):
                    raise table.fail(pos, "parent", parent, "the 'total' row has no parent")
                continue
            if not _present(parent) or parent not in index:
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
    table = _read_csv(
        _resolve(path, DATA_FILES["adverse_events"]),
        [
            _label("term"), _text("label"), _label("grade", AE_GRADES),
            _Col("n", "count", False), _Col("denominator", "count"),
            _Col("published_pct", "pct", False), _Col("decimals", "count"),
            _SOURCE, _NOTE, _CID,
        ],
    )

    def _some_number(t: _Table) -> None:
        for pos in range(len(t.df)):
            if not _present(t.df["n"].iat[pos]) and not _present(t.df["published_pct"].iat[pos]):
                raise t.fail(pos, "n", None, "give a count, a percentage or both")

    return _finish(
        table,
        [
            lambda t: _check_unique(t, ["term", "grade"]),
            lambda t: _check_positive_n(t, "denominator"),
            lambda t: _check_not_more(t, "n", "denominator", "events cannot exceed patients"),
            _some_number,
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
    table = _read_csv(
        _resolve(path, DATA_FILES["fig1_flow"]),
        [
            _label("part"), _label("cohort"), _label("stage"), _Col("order", "count"),
            _Col("n", "count"), _SOURCE, _NOTE, _CID,
        ],
    )
    return _finish(
        table, [lambda t: _check_unique(t, ["part", "cohort", "stage"]), _check_cycles]
    )


def _check_cycles(table: _Table) -> None:
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


# --------------------------------------------------------------------------------------
# TOML files
# --------------------------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise DataError(f"data file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{path}: is not valid TOML ({exc})") from None


def _get(
    path: Path, table: Mapping[str, Any], section: str, key: str, kind: type | tuple[type, ...]
) -> Any:
    where = f"[{section}] {key}" if section else key
    if key not in table:
        raise DataError(f"{path}: missing key {where}")
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        value_ok = False
    else:
        value_ok = isinstance(value, kinds)
    if not value_ok:
        names = " or ".join(k.__name__ for k in kinds)
        raise DataError(f"{path}: {where} = {value!r} is invalid: it must be a {names}")
    return float(value) if float in kinds and int in kinds else value


@dataclass(frozen=True)
class Phase2Reference:
    """Operating characteristics computed from the published design (not printed).

    Attributes
    ----------
    r1, r : int
        Stage-1 futility boundary (stop if ``X1 <= r1``) and final boundary (reject
        ``H0`` if ``X > r``).
    attained_alpha, power, pet0, en0 : float
        Attained one-sided type I error, power at ``p1``, probability of early
        termination and expected sample size at ``p0``, each rounded to
        ``decimals[name]`` decimals.
    decimals : Mapping[str, int]
        Decimals of each rounded value.
    source : str
        Where the values come from.
    """

    r1: int
    r: int
    attained_alpha: float
    power: float
    pet0: float
    en0: float
    decimals: Mapping[str, int]
    source: str


@dataclass(frozen=True)
class Phase2Design:
    """The phase II two-stage design as published (Methods, Statistical Analysis).

    Attributes
    ----------
    n1, n2, n : int
        Stage-1, stage-2 and total sample sizes (21, 19, 40).
    p0, p1 : float
        Null (<= 10%) and alternative (27.5%) CR rates within two cycles.
    alpha : float
        Published significance level (0.05), with ``alpha_sidedness`` as printed.
    alpha_sidedness : str
        ``"two-sided"`` as printed.
    alpha_one_sided : float
        The package's reading for a one-sided Simon design (0.025).
    power : float
        Target power (0.80).
    enrolled : int
        Phase II patients actually treated (44).
    design, endpoint, wording, source : str
        Design name, primary end point, the paper's sentence and where it is.
    reference : Phase2Reference
        Boundaries and operating characteristics computed from the design.
    """

    n1: int
    n2: int
    n: int
    p0: float
    p1: float
    alpha: float
    alpha_sidedness: str
    alpha_one_sided: float
    power: float
    enrolled: int
    design: str
    endpoint: str
    wording: str
    source: str
    reference: Phase2Reference


def load_phase2_design(path: PathLike | None = None) -> Phase2Design:
    """Load the phase II Simon-like two-stage design as published.

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``phase2_design.toml``.

    Returns
    -------
    Phase2Design
        Frozen dataclass with ``n1 = 21``, ``n2 = 19``, ``n = 40``, ``p0 = 0.10``,
        ``p1 = 0.275``, ``alpha = 0.05`` (two-sided as printed; ``alpha_one_sided =
        0.025``), ``power = 0.80`` and the computed ``reference`` characteristics.

    Raises
    ------
    DataError
        If the file is missing, is not valid TOML, lacks a key, has a value of the
        wrong type, or the design is inconsistent (``n1 + n2 != n``, ``p0 >= p1``,
        boundaries outside ``0 <= r1 < n1``, ``r1 <= r < n``, ...).
    """
    file = _resolve(path, DATA_FILES["phase2_design"])
    doc = _read_toml(file)
    for section in ("published", "interpretation", "reference"):
        if not isinstance(doc.get(section), dict):
            raise DataError(f"{file}: missing table [{section}]")
    pub, interp, ref = doc["published"], doc["interpretation"], doc["reference"]
    num = (int, float)
    design = Phase2Design(
        n1=_get(file, pub, "published", "n1", int),
        n2=_get(file, pub, "published", "n2", int),
        n=_get(file, pub, "published", "n", int),
        p0=_get(file, pub, "published", "p0", num),
        p1=_get(file, pub, "published", "p1", num),
        alpha=_get(file, pub, "published", "alpha", num),
        alpha_sidedness=_get(file, pub, "published", "alpha_sidedness", str),
        alpha_one_sided=_get(file, interp, "interpretation", "alpha_one_sided", num),
        power=_get(file, pub, "published", "power", num),
        enrolled=_get(file, pub, "published", "enrolled", int),
        design=_get(file, pub, "published", "design", str),
        endpoint=_get(file, pub, "published", "endpoint", str),
        wording=_get(file, doc, "", "wording", str),
        source=_get(file, doc, "", "source", str),
        reference=Phase2Reference(
            r1=_get(file, ref, "reference", "r1", int),
            r=_get(file, ref, "reference", "r", int),
            attained_alpha=_get(file, ref, "reference", "attained_alpha", num),
            power=_get(file, ref, "reference", "power", num),
            pet0=_get(file, ref, "reference", "pet0", num),
            en0=_get(file, ref, "reference", "en0", num),
            decimals=MappingProxyType(
                {
                    name: _get(file, ref, "reference", f"{name}_decimals", int)
                    for name in ("attained_alpha", "power", "pet0", "en0")
                }
            ),
            source=_get(file, ref, "reference", "source", str),
        ),
    )
    _validate_design(file, design)
    return design


def _validate_design(file: Path, d: Phase2Design) -> None:
    def bad(where: str, value: object, allowed: str) -> DataError:
        return DataError(f"{file}: {where} = {value!r} is invalid: {allowed}")

    if d.n1 < 1 or d.n2 < 1:
        raise bad("[published] n1/n2", (d.n1, d.n2), "both stage sizes must be >= 1")
    if d.n1 + d.n2 != d.n:
        raise bad("[published] n", d.n, f"it must equal n1 + n2 = {d.n1 + d.n2}")
    if not 0.0 < d.p0 < d.p1 < 1.0:
        raise bad("[published] p0, p1", (d.p0, d.p1), "they must satisfy 0 < p0 < p1 < 1")
    for name, value in (("alpha", d.alpha), ("power", d.power)):
        if not 0.0 < value < 1.0:
            raise bad(f"[published] {name}", value, "it must lie in (0, 1)")
    if d.alpha_sidedness not in ("one-sided", "two-sided"):
        raise bad("[published] alpha_sidedness", d.alpha_sidedness,
                  "allowed values are 'one-sided', 'two-sided'")
    expected = d.alpha / 2 if d.alpha_sidedness == "two-sided" else d.alpha
    if not math.isclose(d.alpha_one_sided, expected, rel_tol=1e-12):
        raise bad("[interpretation] alpha_one_sided", d.alpha_one_sided,
                  f"it must be the {d.alpha_sidedness} alpha read one-sided: {expected}")
    if d.enrolled < d.n:
        raise bad("[published] enrolled", d.enrolled, f"it must be at least n = {d.n}")
    ref = d.reference
    if not 0 <= ref.r1 < d.n1:
        raise bad("[reference] r1", ref.r1, f"it must satisfy 0 <= r1 < n1 = {d.n1}")
    if not ref.r1 <= ref.r < d.n:
        raise bad("[reference] r", ref.r, f"it must satisfy r1 = {ref.r1} <= r < n = {d.n}")
    for name in ("attained_alpha", "power", "pet0"):
        value = getattr(ref, name)
        if not 0.0 <= value <= 1.0:
            raise bad(f"[reference] {name}", value, "it must lie in [0, 1]")
    if not d.n1 <= ref.en0 <= d.n:
        raise bad("[reference] en0", ref.en0, f"it must lie in [n1, n] = [{d.n1}, {d.n}]")
    for name, dec in ref.decimals.items():
        if dec < 0:
            raise bad(f"[reference] {name}_decimals", dec, "it must be >= 0")


CONTRADICTION_KINDS = ("percentage", "count", "text", "range", "ambiguity", "caveat")


def load_contradictions(path: PathLike | None = None) -> pd.DataFrame:
    """Load the places where the paper contradicts itself or is ambiguous.

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``contradictions.toml``.

    Returns
    -------
    pandas.DataFrame
        One row per entry, with columns ``id`` (``"C01"`` ...), ``kind`` (``percentage``:
        a printed percentage that is not its own count over its denominator; ``count``,
        ``text``, ``range``, ``ambiguity``, ``caveat``), ``where``, ``what``,
        ``printed``, ``handling``, ``affects`` (``string``; ``where`` and ``affects``
        joined with ``"; "``), ``reproduce_quantities`` (``object``: tuple of the
        :func:`bayesblina.reproduce.reproduce_all` quantity ids the entry explains) and
        ``values`` (``object``: dict of the numbers in conflict).

    Raises
    ------
    DataError
        If the file is missing, is not valid TOML, an entry lacks a field, an id is
        malformed or repeated, or a kind is unknown.
    """
    file = _resolve(path, DATA_FILES["contradictions"])
    doc = _read_toml(file)
    entries = doc.get("contradiction")
    if not isinstance(entries, list) or not entries:
        raise DataError(f"{file}: expected one or more [[contradiction]] tables")
    records = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"[[contradiction]] number {number}"
        for key in ("id", "kind", "what", "printed", "handling"):
            value = entry.get(key)
            if not isinstance(value, str) or not value.strip():
                raise DataError(f"{file}: {where}: field {key!r} = {value!r} is invalid: it "
                                "must be a non-empty string")
        cid = entry["id"]
        if not _CONTRADICTION_ID.match(cid):
            raise DataError(f"{file}: {where}: id {cid!r} is invalid: use 'C' and two digits")
        if cid in seen:
            raise DataError(f"{file}: {where}: id {cid!r} is used twice")
        seen.add(cid)
        if entry["kind"] not in CONTRADICTION_KINDS:
            raise DataError(f"{file}: {where} ({cid}): kind {entry['kind']!r} is invalid: "
                            f"allowed values are {', '.join(CONTRADICTION_KINDS)}")
        lists = {}
        for key in ("where", "affects", "reproduce_quantities"):
            value = entry.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise DataError(f"{file}: {where} ({cid}): field {key!r} must be a list of "
                                "strings")
            lists[key] = value
        values = entry.get("values", {})
        if not isinstance(values, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values.values()
        ):
            raise DataError(f"{file}: {where} ({cid}): field 'values' must be a table of "
                            "numbers")
        if entry["kind"] == "percentage" and not lists["reproduce_quantities"]:
            raise DataError(f"{file}: {where} ({cid}): a 'percentage' entry must list the "
                            "reproduce_quantities it explains")
        records.append(
            {
                "id": cid,
                "kind": entry["kind"],
                "where": "; ".join(lists["where"]),
                "what": " ".join(entry["what"].split()),
                "printed": entry["printed"],
                "handling": " ".join(entry["handling"].split()),
                "affects": "; ".join(lists["affects"]),
                "reproduce_quantities": tuple(lists["reproduce_quantities"]),
                "values": dict(values),
            }
        )
    frame = pd.DataFrame.from_records(records)
    for col in ("id", "kind", "where", "what", "printed", "handling", "affects"):
        frame[col] = frame[col].astype(_STRING)
    frame.attrs["source_file"] = file.name
    frame.attrs["sha256"] = hashlib.sha256(file.read_bytes()).hexdigest()
    return frame
