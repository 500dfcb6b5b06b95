"""The ``bayesblina-table`` Sphinx directive (``docs/_ext/bayesblina_tables.py``).

Its table-building function is tested directly, and the directive end to end by building a
tiny Sphinx project in a temporary folder; the reproduction page's table functions are
checked against the numbers the page used to paste.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from docutils import nodes
from sphinx.cmd.build import build_main

from bayesblina.reproduce import tables

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import bayesblina_tables as ext  # noqa: E402


def sample_frame() -> pd.DataFrame:
    """A small frame for the tests (also called by the directive in the tiny project)."""
    return pd.DataFrame({"name": ["a", "b"], "value": [0.123456, float("nan")],
                         "ok": [True, False]})


def scaled_frame(factor: int = 1) -> pd.DataFrame:
    """A frame whose numbers depend on a keyword argument (for ``:kwargs:``)."""
    return pd.DataFrame({"k": [1, 2], "k_times": [factor, 2 * factor]})


def cell_texts(table: nodes.table) -> list[list[str]]:
    return [[entry.astext() for entry in row.findall(nodes.entry)]
            for row in table.findall(nodes.row)]


def test_dataframe_table_renders_header_and_rows() -> None:
    table = ext.dataframe_table(sample_frame(), float_format=".3f", caption="A caption")
    assert isinstance(table, nodes.table)
    assert table[0].astext() == "A caption"
    assert cell_texts(table) == [["name", "value", "ok"], ["a", "0.123", "yes"],
                                 ["b", "—", "no"]]
    group = next(iter(table.findall(nodes.tgroup)))
    assert group["cols"] == 3


def test_dataframe_table_columns_index_and_errors() -> None:
    frame = sample_frame().set_index("name")
    table = ext.dataframe_table(frame, columns=["ok"], index=True, na="NA")
    assert cell_texts(table) == [["name", "ok"], ["a", "yes"], ["b", "no"]]
    with pytest.raises(ValueError, match="unknown column"):
        ext.dataframe_table(sample_frame(), columns=["nope"])
    with pytest.raises(ValueError, match="DataFrame"):
        ext.dataframe_table([1, 2])  # type: ignore[arg-type]


def test_resolve_and_format_cell() -> None:
    assert ext.resolve("bayesblina.reproduce.tables:design_oc") is tables.design_oc
    for bad in ("bayesblina.reproduce.tables", "no_such_module_x:f",
                "bayesblina.reproduce.tables:nope"):
        with pytest.raises(ValueError):
            ext.resolve(bad)
    assert ext.format_cell(0.5, ".2f") == "0.50"
    assert ext.format_cell(pd.NA) == "—"
    assert ext.format_cell([1.5, 2.0]) == "1.5, 2"


def _project(tmp_path: Path, body: str) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / 'docs' / '_ext')!r})\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "extensions = ['myst_parser', 'bayesblina_tables']\n"
        "source_suffix = {'.md': 'markdown'}\n",
        encoding="utf-8",
    )
    (src / "index.md").write_text(f"# Tiny\n\n{body}\n", encoding="utf-8")
    return src


def _build(src: Path, out: Path) -> tuple[int, str]:
    warnings = out.parent / "warnings.txt"
    code = build_main(["-q", "-W", "-b", "html", "-w", str(warnings), str(src), str(out)])
    return code, warnings.read_text(encoding="utf-8") if warnings.exists() else ""


@pytest.mark.slow
@pytest.mark.docs
def test_directive_builds_a_table_in_a_tiny_project(tmp_path: Path) -> None:
    body = (
        "```{bayesblina-table} test_tables_directive:sample_frame\n"
        ":float-format: .2f\n:caption: Sample\n```\n\n"
        "```{bayesblina-table} test_tables_directive:scaled_frame\n"
        ':kwargs: {"factor": 7}\n:columns: k_times\n```\n'
    )
    code, warnings = _build(_project(tmp_path, body), tmp_path / "html")
    assert code == 0, warnings
    html = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert html.count("<table") == 2
    assert "0.12" in html and "Sample" in html and ">yes<" in html
    assert ">14<" in html and ">k_times<" in html and ">k<" not in html


@pytest.mark.slow
@pytest.mark.docs
def test_directive_reports_a_bad_target(tmp_path: Path) -> None:
    body = "```{bayesblina-table} test_tables_directive:no_such_function\n```\n"
    code, warnings = _build(_project(tmp_path, body), tmp_path / "html")
    assert code != 0
    assert "no_such_function" in warnings


# -- the reproduction page's tables ------------------------------------------------------


def test_ci_examples_are_printed_and_exact_values() -> None:
    df = tables.ci_examples()
    assert list(df["CR / n"]) == ["27 / 70", "14 / 44", "6 / 10", "0 / 2"]
    assert df.loc[0, "printed % (95% CI)"] == "38.6 (27.2–51.0)"
    assert df.loc[0, "exact Clopper–Pearson, %"] == "38.57 (27.17–50.97)"
    assert df.loc[3, "exact Clopper–Pearson, %"] == "0.00 (0.00–84.19)"


def test_contradiction_rows_name_their_ids() -> None:
    df = tables.contradiction_rows()
    assert set(df["contradiction"]) == {"C03", "C04", "C06", "C08", "C09", "C17", "C18"}
    row = df[df["contradiction"] == "C17"].iloc[0]
    assert (row["printed"], row["recomputed"]) == ("79", "78")


def test_design_tables() -> None:
    cand = tables.design_candidates().set_index(["r1", "r"])
    assert cand.loc[("2", "8"), "verdict"] == "feasible, smallest EN: chosen"
    assert cand.loc[("2", "8"), "type I error"] == "0.0149"
    assert cand.loc[("2", "7"), "verdict"] == "type I error too large"
    assert cand.loc[("3", "8"), "verdict"] == "power too low"
    assert (cand["verdict"].str.startswith("feasible")).sum() == 3
    oc = tables.design_oc().set_index("true CR rate p")
    assert oc.loc["P(reject H0)", "0.275"] == "0.8004"
    assert oc.loc["EN", "0.1"] == "27.7"


def test_reproduction_page_uses_the_directive() -> None:
    page = (ROOT / "docs" / "reproduction.md").read_text(encoding="utf-8")
    for func in ("ci_examples", "contradiction_rows", "design_candidates", "design_oc"):
        assert f"{{bayesblina-table}} bayesblina.reproduce.tables:{func}" in page
    # no pasted copy of the tables is left
    assert "| 0 / 2 |" not in page and "| **2** | **8** |" not in page
