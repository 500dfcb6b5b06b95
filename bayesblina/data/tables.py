"""The typed-column engine every data table goes through, packaged or inline.

A table is read as text and each column converted to an explicit dtype (``Int64`` counts,
``float64`` measurements, ``string`` labels, ``boolean`` flags) with its rule checked;
any violation is one :class:`~bayesblina.errors.DataError` naming the file, the line and
column, the value and what is allowed. Rows given inline in a spec (a TOML array of
tables, :func:`frame_from_rows`) go through the same columns, rules and dtypes, their
values' TOML types taken strictly; their errors name the row as the spec's key path does
(``rows.3``). The row checks shared by the loaders live here too and serve both.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from bayesblina.errors import DataError

STRING = pd.StringDtype()


CONTRADICTION_ID = re.compile(r"^C\d{2,}$")


INT_PATTERN = re.compile(r"^[+-]?\d+$")


SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")


Kind = Literal[
    "count", "int", "binary", "float", "nonneg", "positive", "pct", "label", "slug", "text",
    "bool", "regimen",
]


INT_KINDS = ("count", "int", "binary")


#: the largest count a table may hold: far above any trial, far below where the samplers'
#: log-factorials and gradients lose double precision (a count of 2**62 overflows them)
MAX_COUNT = 10_000_000


FLOAT_KINDS = ("float", "nonneg", "positive", "pct")


STR_KINDS = ("label", "slug", "text")


@dataclass(frozen=True)
class Col:
    """One column of a data file: its name, kind and whether it may be empty."""

    name: str
    kind: Kind
    required: bool = True
    allowed: tuple[str, ...] | None = None


RULES: dict[str, str] = {
    "count": f"a count must be a whole number from 0 to {MAX_COUNT:,}",
    "int": "it must be a whole number",
    "binary": "it must be 0 or 1",
    "float": "it must be a finite number",
    "nonneg": "it must be a finite number >= 0",
    "positive": "it must be a finite number > 0",
    "pct": "a percentage must be a number between 0 and 100",
    "label": "it must be a non-empty label",
    "slug": "it must be a name of at most 64 lower-case letters, digits and '_', starting "
            "with a letter or digit (e.g. 'phase_2')",
    "text": "it must be text",
    "bool": "it must be 'true' or 'false'",
    "regimen": "a regimen is a non-empty list of [dose, days] pairs, each a number > 0 "
               "(e.g. [[5, 7], [15, 21]])",
}


class Table:
    """A parsed data file: the typed frame plus the file line of every row."""

    def __init__(self, path: Path, frame: pd.DataFrame, lines: list[int]) -> None:
        self.path = path
        self.df = frame
        self.lines = lines

    def at(self, row: int) -> str:
        """Where a row is, as an error names it (``line 12``; ``row`` is 0-based)."""
        return f"line {self.lines[row]}"

    def fail(self, row: int, column: str, value: object, allowed: str) -> DataError:
        """Build the error for one bad cell (``row`` is the 0-based row position)."""
        return DataError(
            f"{self.path}: {self.at(row)}, column '{column}': value {show(value)} is invalid: "
            f"{allowed}"
        )

    def fail_rows(self, rows: Iterable[int], message: str) -> DataError:
        """Build an error about several rows at once."""
        lines = ", ".join(str(self.lines[r]) for r in rows)
        return DataError(f"{self.path}: lines {lines}: {message}")


class RowsTable(Table):
    """Rows given inline (a TOML array of tables): rows are named by their key path.

    ``what`` is the key of the array as the spec's messages show it (``rows``); row 3
    is ``rows.3``, as in the key path ``data.rows.3``.
    """

    def __init__(self, what: str, frame: pd.DataFrame) -> None:
        super().__init__(Path(what), frame, list(range(len(frame))))
        self.what = what

    def at(self, row: int) -> str:
        """Where a row is: ``rows.3`` (0-based, as in the spec's key path)."""
        return f"{self.what}.{row}"

    def fail(self, row: int, column: str, value: object, allowed: str) -> DataError:
        """Build the error for one bad value: ``rows.3, column 'x': value ...``."""
        return DataError(
            f"{self.at(row)}, column '{column}': value {show(value)} is invalid: {allowed}"
        )

    def fail_rows(self, rows: Iterable[int], message: str) -> DataError:
        """Build an error about several rows at once: ``rows.0, rows.3: ...``."""
        return DataError(f"{', '.join(self.at(r) for r in rows)}: {message}")


def show(value: object) -> str:
    """Render a cell value for an error message."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "(empty)"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def empty_value(col: Col) -> Any:
    """The value of an empty cell of an optional column (``NA``, or NaN for floats)."""
    return math.nan if col.kind in FLOAT_KINDS else pd.NA


def rule_of(col: Col) -> str:
    """What a column allows, in words (its kind's rule, or its allowed values)."""
    if col.allowed is not None:
        return "allowed values are " + ", ".join(repr(a) for a in col.allowed)
    return RULES[col.kind]


def check_value(value: Any, col: Col) -> Any:
    """Check a value already of the column's Python type against its kind's rule.

    Shared by the CSV reader (:func:`parse_value`) and inline rows
    (:func:`parse_toml_value`); raises ``ValueError`` with the rule it breaks.
    """
    kind = col.kind
    if kind in INT_KINDS:
        if kind == "count" and value < 0:
            raise ValueError(f"a count cannot be negative ({RULES[kind]})")
        if kind in ("count", "int") and abs(value) > MAX_COUNT:
            raise ValueError(f"it must be a whole number of at most {MAX_COUNT:,} in size")
        if kind == "binary" and value not in (0, 1):
            raise ValueError(RULES[kind])
        return int(value)
    if kind in FLOAT_KINDS:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(RULES[kind])
        if kind == "nonneg" and value < 0:
            raise ValueError(RULES[kind])
        if kind == "positive" and value <= 0:
            raise ValueError(RULES[kind])
        if kind == "pct" and not 0.0 <= value <= 100.0:
            raise ValueError(RULES[kind])
        return value
    if kind == "bool":
        return bool(value)
    if kind == "regimen":
        return _regimen(value)
    if kind == "slug" and not SLUG_PATTERN.match(value):
        raise ValueError(RULES[kind])
    if col.allowed is not None and value not in col.allowed:
        raise ValueError(rule_of(col))
    return value


def parse_value(raw: str, col: Col) -> Any:
    """Convert one raw cell; raise ``ValueError`` with the rule it breaks."""
    if raw == "":
        if col.required:
            raise ValueError("it must not be empty" + allowed_suffix(col))
        return empty_value(col)
    kind = col.kind
    value: Any = raw
    if kind in INT_KINDS:
        if not INT_PATTERN.match(raw):
            raise ValueError(RULES[kind])
        value = int(raw)
    elif kind in FLOAT_KINDS:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(RULES[kind]) from None
    elif kind == "bool":
        low = raw.lower()
        if low not in ("true", "false"):
            raise ValueError(RULES[kind])
        value = low == "true"
    elif kind == "regimen":  # a packaged file stores a regimen in columns of its own
        raise ValueError("a regimen column cannot be read from a CSV cell")
    return check_value(value, col)


def _regimen(value: Any) -> list[tuple[float, float]]:
    """A regimen: a non-empty list of ``[dose, days]`` pairs of numbers > 0, as tuples."""
    if not isinstance(value, list) or not value:
        raise ValueError(RULES["regimen"])
    out = []
    for pair in value:
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in pair)):
            raise ValueError(RULES["regimen"])
        dose, days = float(pair[0]), float(pair[1])
        if not (math.isfinite(dose) and math.isfinite(days) and dose > 0 and days > 0):
            raise ValueError(f"{RULES['regimen']}; got the pair {list(pair)!r}")
        out.append((dose, days))
    return out


def toml_type(value: object) -> str:
    """The TOML type of a parsed value, in words (``a boolean``, ``a string``)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "an array"
    return "a date or time" if hasattr(value, "isoformat") else f"a {type(value).__name__}"


def parse_toml_value(value: object, col: Col) -> Any:
    """Check one value parsed from TOML; raise ``ValueError`` with the rule it breaks.

    TOML types are taken strictly: a whole-number kind (``count``, ``int``, ``binary``)
    takes an integer, never a boolean, a string or a decimal number; a number kind
    (``float``, ``nonneg``, ``positive``, ``pct``) an integer or a decimal number, never a
    boolean or a string; ``bool`` a boolean; ``label``, ``slug`` and ``text`` a string.
    ``None`` (and a blank string) is an empty cell, refused in a required column.
    """
    kind = col.kind
    if value is None or (isinstance(value, str) and kind in STR_KINDS and not value.strip()):
        if col.required:
            raise ValueError("it must not be empty" + allowed_suffix(col))
        return empty_value(col)
    if kind in INT_KINDS:
        typed = isinstance(value, int) and not isinstance(value, bool)
    elif kind in FLOAT_KINDS:
        typed = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind == "bool":
        typed = isinstance(value, bool)
    elif kind == "regimen":
        typed = isinstance(value, list)
    else:
        typed = isinstance(value, str)
    if not typed:
        raise ValueError(f"{rule_of(col)} (not {toml_type(value)})")
    return check_value(value, col)


def allowed_suffix(col: Col) -> str:
    """What a column allows, as a suffix of an error message."""
    return f" ({rule_of(col)})"


DTYPES: dict[str, Any] = {
    "count": "Int64",
    "int": "Int64",
    "binary": "Int64",
    "float": "float64",
    "nonneg": "float64",
    "positive": "float64",
    "pct": "float64",
    "label": STRING,
    "slug": STRING,
    "text": STRING,
    "bool": "boolean",
    "regimen": object,
}


def read_csv_table(path: Path, columns: Iterable[Col]) -> Table:
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

    table = Table(path, pd.DataFrame(), lines)
    data: dict[str, pd.Series] = {}
    for col in columns:
        idx = header.index(col.name)
        values = []
        for pos, row in enumerate(rows):
            try:
                values.append(parse_value(row[idx], col))
            except ValueError as exc:
                raise table.fail(pos, col.name, row[idx], str(exc)) from None
        data[col.name] = pd.Series(values, dtype=DTYPES[col.kind])
    known = {c.name for c in columns}
    for idx, name in enumerate(header):  # extra columns are kept as text
        if name not in known:
            data[name] = pd.Series([row[idx] or pd.NA for row in rows], dtype=STRING)
    frame = pd.DataFrame(data)
    frame.attrs["source_file"] = path.name
    frame.attrs["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    table.df = frame
    return table


def rows_table(rows: object, columns: Iterable[Col], *, what: str = "rows") -> RowsTable:
    """Check rows parsed from TOML against typed columns; the typed frame as a table.

    The inline counterpart of :func:`read_csv_table`: the same :class:`Col` kinds, rules
    (:data:`RULES`) and dtypes, with the values' TOML types taken strictly
    (:func:`parse_toml_value`). The row checks (:func:`check_unique`,
    :func:`check_not_more`, ...) run on the table returned.

    Parameters
    ----------
    rows : list of dict
        The array of tables as parsed from TOML, e.g. ``[{"label": "a", "x": 3, "n": 10}]``.
    columns : iterable of Col
        The keys a row may have; a required column's key must be in every row, an optional
        one's may be left out (an empty value: ``NA``, or NaN for a number).
    what : str
        The array's key as errors name it; row 3 is ``{what}.3`` (e.g. ``rows.3``).

    Returns
    -------
    RowsTable
        The typed frame (``df``, one column per ``Col`` in order, dtypes as
        :func:`read_csv_table` gives them) and the names of its rows.

    Raises
    ------
    DataError
        For an empty or non-list ``rows``, a row that is not a table, an unknown or a
        missing key, or a value its column does not allow, naming the row (``rows.3``),
        the column, the value and what is allowed.
    """
    columns = list(columns)
    names = [c.name for c in columns]
    keys = ", ".join(names)
    if not isinstance(rows, (list, tuple)):
        raise DataError(
            f"{what}: value {show(rows)} is invalid: it must be an array of tables with the "
            f"keys {keys} (not {toml_type(rows)})"
        )
    if not rows:
        raise DataError(f"{what}: no rows: give at least one row with the keys {keys}")
    values: dict[str, list[Any]] = {name: [] for name in names}
    for pos, row in enumerate(rows):
        where = f"{what}.{pos}"
        if not isinstance(row, Mapping):
            raise DataError(
                f"{where}: value {show(row)} is invalid: a row must be a table with the keys "
                f"{keys} (not {toml_type(row)})"
            )
        unknown = [str(k) for k in row if k not in names]
        if unknown:
            raise DataError(
                f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; allowed keys: {keys}"
            )
        for col in columns:
            if col.name not in row:
                if col.required:
                    raise DataError(
                        f"{where}: missing key '{col.name}' ({rule_of(col)}); required keys: "
                        + ", ".join(c.name for c in columns if c.required)
                    )
                values[col.name].append(empty_value(col))
                continue
            try:
                values[col.name].append(parse_toml_value(row[col.name], col))
            except ValueError as exc:
                raise DataError(
                    f"{where}, column '{col.name}': value {show(row[col.name])} is invalid: "
                    f"{exc}"
                ) from None
    frame = pd.DataFrame(
        {c.name: pd.Series(values[c.name], dtype=DTYPES[c.kind]) for c in columns}
    )
    return RowsTable(what, frame)


def frame_from_rows(
    rows: object,
    columns: Iterable[Col],
    *,
    what: str = "rows",
    checks: Iterable[Callable[[Table], None]] = (),
) -> pd.DataFrame:
    """Rows parsed from TOML as a typed frame, checked like a packaged CSV file.

    Parameters
    ----------
    rows : list of dict
        The array of tables as parsed from TOML.
    columns : iterable of Col
        The typed columns (see :func:`rows_table`).
    what : str
        The array's key as errors name it (``rows``: row 3 is ``rows.3``).
    checks : iterable of callable
        Row checks run on the table, e.g. ``lambda t: check_unique(t, ["label"])``.

    Returns
    -------
    pandas.DataFrame
        One column per ``Col``, with the dtypes :func:`read_csv_table` gives.

    Raises
    ------
    DataError
        One error naming the row, the column, the value and what is allowed.
    """
    table = rows_table(rows, columns, what=what)
    for check in checks:
        check(table)
    return table.df


def present(value: object) -> bool:
    """Whether a cell holds a value (not NA)."""
    return not pd.isna(value)


def check_unique(table: Table, keys: list[str]) -> None:
    """No two rows share the same ``keys``."""
    seen: dict[tuple[Any, ...], int] = {}
    for pos, key in enumerate(table.df[keys].itertuples(index=False, name=None)):
        if key in seen:
            shown = ", ".join(f"{k} = {show(v)}" for k, v in zip(keys, key, strict=True))
            raise table.fail_rows(
                [seen[key], pos], f"duplicated row ({shown}): each ({', '.join(keys)}) "
                "must appear once"
            )
        seen[key] = pos


def check_not_more(table: Table, part: str, whole: str, what: str) -> None:
    """Check ``part <= whole`` on every row where both are present."""
    for pos, (a, b) in enumerate(zip(table.df[part], table.df[whole], strict=True)):
        if present(a) and present(b) and a > b:
            raise table.fail(pos, part, a, f"it exceeds {whole} = {b} ({what})")


def check_positive_n(table: Table, column: str) -> None:
    """Every denominator in ``column`` is at least 1."""
    for pos, n in enumerate(table.df[column]):
        if present(n) and n == 0:
            raise table.fail(pos, column, n, "a denominator must be at least 1")


def check_interval(table: Table, est: str, low: str, high: str, *, paired: bool = True) -> None:
    """Check ``low <= est <= high`` and, if ``paired``, that low and high come together."""
    frame = table.df
    for pos in range(len(frame)):
        e, lo, hi = frame[est].iat[pos], frame[low].iat[pos], frame[high].iat[pos]
        if paired and present(lo) != present(hi):
            empty = high if present(lo) else low
            raise table.fail(pos, empty, None, f"give both {low} and {high}, or neither")
        if present(lo) and present(hi) and lo > hi:
            raise table.fail(pos, low, lo, f"the lower bound exceeds {high} = {hi}")
        if present(e) and present(lo) and e < lo:
            raise table.fail(pos, est, e, f"the estimate lies below {low} = {lo}")
        if present(e) and present(hi) and e > hi:
            raise table.fail(pos, est, e, f"the estimate lies above {high} = {hi}")


def check_constant(table: Table, group: str, column: str) -> None:
    """Check that ``column`` takes a single value within each ``group``."""
    first: dict[Any, int] = {}
    for pos, (g, v) in enumerate(zip(table.df[group], table.df[column], strict=True)):
        if g in first:
            ref = table.df[column].iat[first[g]]
            if v != ref:
                raise table.fail(
                    pos, column, v, f"{group} {g!r} has {column} = {ref} on "
                    f"{table.at(first[g])}; it must be the same on every row"
                )
        else:
            first[g] = pos


def check_contradiction_ids(table: Table) -> None:
    """Every contradiction id has the form ``C<nn>``."""
    if "contradiction_id" not in table.df:
        return
    for pos, cid in enumerate(table.df["contradiction_id"]):
        if present(cid) and not CONTRADICTION_ID.match(str(cid)):
            raise table.fail(
                pos, "contradiction_id", cid, "it must be empty or an id such as 'C05' "
                "(see contradictions.toml)"
            )


def label_col(name: str, allowed: tuple[str, ...] | None = None) -> Col:
    """A required label column (optionally from a fixed set of values)."""
    return Col(name, "label", True, allowed)


def text_col(name: str) -> Col:
    """An optional free-text column."""
    return Col(name, "text", False)


SOURCE = label_col("source")


NOTE = text_col("note")


CID = text_col("contradiction_id")


def finish(table: Table, checks: Iterable[Callable[[Table], None]] = ()) -> pd.DataFrame:
    """Run the row checks (and the contradiction-id check); return the typed frame."""
    for check in checks:
        check(table)
    check_contradiction_ids(table)
    return table.df


def check_group_sum(table: Table, group: str, column: str, total: str, what: str) -> None:
    """Within each ``group``, ``column`` adds up to ``total``."""
    for key, rows in table.df.groupby(group, sort=False):
        size, got = int(rows[total].iat[0]), int(rows[column].sum())
        if got != size:
            raise table.fail_rows(
                [int(i) for i in rows.index],
                f"the {what} of {group} {key!r} add up to {got}, not {total} = {size}",
            )


def read_toml(path: Path) -> dict[str, Any]:
    """Read a packaged TOML file; a syntax error is a DataError naming the file."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise DataError(f"data file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{path}: is not valid TOML ({exc})") from None


def toml_get(
    path: Path, table: Mapping[str, Any], section: str, key: str, kind: type | tuple[type, ...]
) -> Any:
    """A typed value of a TOML table, or a DataError naming the file and key."""
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


def binomial_rows(rows: object, *, label_kind: str = "label",
                  successes: str = "responders") -> pd.DataFrame:
    """Inline ``{ label = ..., x = k, n = m }`` rows (successes of trials), checked.

    Labels unique, ``n >= 1`` and ``0 <= x <= n``, through :func:`frame_from_rows`.

    Parameters
    ----------
    rows : list of dict
        The rows as parsed from TOML.
    label_kind : str
        The kind of the ``label`` column (``"label"``: any text; ``"slug"``: a name).
    successes : str
        What ``x`` counts, for the message when it exceeds ``n`` (``"responders"``, ``"CRs"``).

    Raises
    ------
    DataError
        Naming the row (``rows.3``), the column, the value and what is allowed.
    """
    columns = (Col("label", label_kind), Col("x", "count"), Col("n", "count"))  # type: ignore[arg-type]

    def checks(table: Table) -> None:
        check_unique(table, ["label"])
        check_positive_n(table, "n")
        check_not_more(table, "x", "n", f"{successes} cannot exceed patients")

    return frame_from_rows(rows, columns, what="rows", checks=[checks])
