"""Sphinx directive ``bayesblina-table``: a table computed by the package at build time.

In a MyST page::

    ```{bayesblina-table} bayesblina.reproduce.tables:contradiction_rows
    :columns: quantity, published, reproduced, contradiction_id
    :kwargs: {"decimals": 1}
    :float-format: .4g
    :caption: Printed numbers that do not follow from their counts
    ```

The argument names a function (``module:function``) that returns a
:class:`pandas.DataFrame`; it is called with the keyword arguments of ``:kwargs:`` (a
Python literal dict) when the page is built, and its rows become a docutils table, so
the page cannot drift from the code. Options: ``:columns:`` (a comma-separated subset, in
that order), ``:float-format:`` (a format spec for floats, default ``g``), ``:na:`` (the
text of a missing value, default an em dash), ``:caption:`` and ``:index:`` (a flag: show
the frame's index as the first column).
"""

from __future__ import annotations

import ast
import importlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

__all__ = ["BayesblinaTable", "dataframe_table", "format_cell", "resolve", "setup"]


def resolve(target: str) -> Callable[..., Any]:
    """Import ``module:function`` (a dotted attribute path after the colon is allowed).

    Raises
    ------
    ValueError
        If ``target`` has no colon, or the module or attribute does not exist, or the
        attribute is not callable.
    """
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"expected 'module:function', got {target!r}")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"cannot import module {module_name!r}: {err}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"module {module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise ValueError(f"{target!r} is not callable")
    return obj


def format_cell(value: Any, float_format: str = "g", na: str = "—") -> str:
    """The text of one cell: floats with ``float_format``, booleans as yes/no, NA as ``na``."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return na
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format(value, float_format)
    if isinstance(value, (list, tuple)):
        return ", ".join(format_cell(v, float_format, na) for v in value)
    return str(value)


def _row(cells: Sequence[str], *, header: bool = False) -> nodes.row:
    row = nodes.row()
    for text in cells:
        entry = nodes.entry()
        para = nodes.paragraph(text=text)
        if header:
            para = nodes.paragraph("", "", nodes.strong(text=text))
        entry += para
        row += entry
    return row


def dataframe_table(
    frame: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    float_format: str = "g",
    na: str = "—",
    index: bool = False,
    caption: str | None = None,
) -> nodes.table:
    """Render a data frame as a docutils table node (header row + one row per row).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    columns : sequence of str, optional
        The columns to show, in this order (default: all).
    float_format : str, default "g"
        Format spec of floats (e.g. ``".3f"``).
    na : str, default "—"
        Text of a missing value.
    index : bool, default False
        Show the index as the first column (headed by its name).
    caption : str, optional
        The table's title.

    Returns
    -------
    docutils.nodes.table

    Raises
    ------
    ValueError
        If ``frame`` is not a DataFrame, a column is unknown or the frame has no columns.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    if columns is not None:
        unknown = [c for c in columns if c not in frame.columns]
        if unknown:
            raise ValueError(f"unknown column(s) {unknown}; allowed: {list(frame.columns)}")
        frame = frame[list(columns)]
    if index:
        frame = frame.reset_index()
    if frame.shape[1] == 0:
        raise ValueError("the table has no columns")
    headers = [str(c) for c in frame.columns]
    table = nodes.table(classes=["bayesblina-table"])
    if caption:
        table += nodes.title(text=caption)
    group = nodes.tgroup(cols=len(headers))
    table += group
    for _ in headers:
        group += nodes.colspec(colwidth=1)
    thead = nodes.thead()
    thead += _row(headers, header=True)
    group += thead
    tbody = nodes.tbody()
    for values in frame.itertuples(index=False, name=None):
        tbody += _row([format_cell(v, float_format, na) for v in values])
    group += tbody
    return table


def _kwargs(text: str) -> dict[str, Any]:
    value = ast.literal_eval(text)
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(f":kwargs: must be a dict literal with string keys, got {text!r}")
    return value


def _columns(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


class BayesblinaTable(SphinxDirective):
    """``bayesblina-table``: call ``module:function`` at build time and show its frame."""

    required_arguments = 1
    optional_arguments = 0
    has_content = False
    option_spec = {  # noqa: RUF012 (docutils reads it as a class attribute)
        "columns": _columns,
        "kwargs": _kwargs,
        "float-format": directives.unchanged_required,
        "na": directives.unchanged,
        "caption": directives.unchanged_required,
        "index": directives.flag,
    }

    def run(self) -> list[nodes.Node]:
        """Call the function and return the table (or a build error naming the page)."""
        target = self.arguments[0]
        try:
            func = resolve(target)
            module = importlib.import_module(target.partition(":")[0])
            if getattr(module, "__file__", None):
                self.env.note_dependency(module.__file__)
            frame = func(**self.options.get("kwargs", {}))
            table = dataframe_table(
                frame,
                columns=self.options.get("columns"),
                float_format=self.options.get("float-format", "g"),
                na=self.options.get("na", "—"),
                index="index" in self.options,
                caption=self.options.get("caption"),
            )
        except Exception as err:  # any failure of the call is a build error
            raise self.error(f"bayesblina-table {target}: {type(err).__name__}: {err}") from err
        self.set_source_info(table)
        return [table]


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive."""
    app.add_directive("bayesblina-table", BayesblinaTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
