"""The typed-column engine every data table goes through.

A table is read as text and each column converted to an explicit dtype (``Int64`` counts,
``float64`` measurements, ``string`` labels, ``boolean`` flags) with its rule checked;
any violation is one :class:`~bayesblina.errors.DataError` naming the file, the line and
column, the value and what is allowed. The row checks shared by the loaders live here too.
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


Kind = Literal["count", "int", "float", "nonneg", "positive", "pct", "label", "text", "bool"]


@dataclass(frozen=True)
class Col:
    """One column of a data file: its name, kind and whether it may be empty."""

    name: str
    kind: Kind
    required: bool = True
    allowed: tuple[str, ...] | None = None


RULES: dict[str, str] = {
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


class Table:
    """A parsed data file: the typed frame plus the file line of every row."""

    def __init__(self, path: Path, frame: pd.DataFrame, lines: list[int]) -> None:
        self.path = path
        self.df = frame
        self.lines = lines

    def fail(self, row: int, column: str, value: object, allowed: str) -> DataError:
        """Build the error for one bad cell (``row`` is the 0-based row position)."""
        return DataError(
            f"{self.path}: line {self.lines[row]}, column '{column}': value "
            f"{show(value)} is invalid: {allowed}"
        )

    def fail_rows(self, rows: Iterable[int], message: str) -> DataError:
        """Build an error about several rows at once."""
        lines = ", ".join(str(self.lines[r]) for r in rows)
        return DataError(f"{self.path}: lines {lines}: {message}")


def show(value: object) -> str:
    """Render a cell value for an error message."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "(empty)"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def parse_value(raw: str, col: Col) -> Any:
    """Convert one raw cell; raise ``ValueError`` with the rule it breaks."""
    if raw == "":
        if col.required:
            raise ValueError("it must not be empty" + allowed_suffix(col))
        return pd.NA if col.kind in ("count", "int", "label", "text", "bool") else math.nan
    kind = col.kind
    if kind in ("count", "int"):
        if not INT_PATTERN.match(raw):
            raise ValueError(RULES[kind])
        value = int(raw)
        if kind == "count" and value < 0:
            raise ValueError("a count cannot be negative (it must be a whole number >= 0)")
        return value
    if kind in ("float", "nonneg", "positive", "pct"):
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(RULES[kind]) from None
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
        low = raw.lower()
        if low not in ("true", "false"):
            raise ValueError(RULES[kind])
        return low == "true"
    if col.allowed is not None and raw not in col.allowed:
        raise ValueError("allowed values are " + ", ".join(repr(a) for a in col.allowed))
    return raw


def allowed_suffix(col: Col) -> str:
    """What a column allows, as a suffix of an error message."""
    if col.allowed is not None:
        return " (allowed values are " + ", ".join(repr(a) for a in col.allowed) + ")"
    return f" ({RULES[col.kind]})"


DTYPES: dict[str, Any] = {
    "count": "Int64",
    "int": "Int64",
    "float": "float64",
    "nonneg": "float64",
    "positive": "float64",
    "pct": "float64",
    "label": STRING,
    "text": STRING,
    "bool": "boolean",
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
                    pos, column, v, f"{group} {g!r} has {column} = {ref} on line "
                    f"{table.lines[first[g]]}; it must be the same on every row"
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
