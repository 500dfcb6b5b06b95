"""The notebooks are committed clean (no outputs), and the docs build executes them.

The docs build is the one place where the notebooks run (MyST-NB, warnings and cell errors
fail it): ``tests/test_docs.py::test_sphinx_build_is_warning_free`` builds the docs and
checks what it made with ``tests/docs/site_checks.py``, so that every notebook runs once
per test run. The tests here are fast: the notebooks as committed, the pages that paste
their figures, and those checks themselves on small hand-made builds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from tests.docs.site_checks import (
    NOTEBOOK_DIR,
    NOTEBOOKS,
    ROOT,
    executed_notebook_problems,
    glued_keys,
    pasted_figure_problems,
)

DOCS = ROOT / "docs"
#: the figures the docs paste from the notebooks (``{glue}`` with ``:doc:``): page -> key
PASTED = re.compile(r"```\{glue\} (\S+)\n:doc: (\S+)\.ipynb\n```")


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: code cells {dirty} have outputs or execution counts; clear them "
        f"(e.g. jupyter nbconvert --clear-output --inplace {path.relative_to(ROOT)})"
    )


def test_the_gallery_lists_every_notebook():
    """One card per notebook, and every notebook in a toctree (else -W fails the build)."""
    gallery = (DOCS / "gallery.md").read_text(encoding="utf-8")
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert f":link: notebooks/{path.stem}\n" in gallery, path.name
        assert f"\nnotebooks/{path.stem}\n" in gallery + index, path.name


def _pasted() -> list[tuple[Path, str, str]]:
    """Every figure pasted from a notebook: (page, key, notebook stem)."""
    out = []
    for page in sorted(DOCS.rglob("*.md")):
        if "_build" in page.parts:
            continue
        for key, doc in PASTED.findall(page.read_text(encoding="utf-8")):
            out.append((page, key, Path(doc).name))
    return out


def test_every_analysis_page_pastes_a_figure_its_notebook_glues():
    pasted = _pasted()
    pages = {page for page, _, _ in pasted}
    missing = sorted(p.name for p in (DOCS / "analyses").glob("*.md")
                     if p.name != "index.md" and p not in pages)
    assert not missing, f"analysis pages without a figure from a notebook: {missing}"
    for page, key, stem in pasted:
        notebook = NOTEBOOK_DIR / f"{stem}.ipynb"
        assert notebook.is_file(), (page.name, stem)
        assert key in glued_keys(notebook), f"{page.name}: {stem} glues no {key!r}"


# -- the checks of a built site (tests/docs/site_checks.py) -----------------------------


def _fake_build(tmp_path: Path, *, cells: int = 2, error: bool = False,
                glued: tuple[str, ...] = ("fig",)) -> tuple[Path, Path]:
    """A hand-made build of one notebook (two code cells, one glues ``fig``): source, HTML."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('glue("fig", 1)'), nbformat.v4.new_code_cell("1 / 0")]
    source = tmp_path / "src" / "01_tiny.ipynb"
    source.parent.mkdir(parents=True)
    nbformat.write(nb, source)
    html = tmp_path / "out" / "html"
    (html / "notebooks").mkdir(parents=True)
    output = ('<div class="output traceback highlight-ipythontb">' if error
              else '<div class="output text_plain">')
    cell = ('<div class="cell docutils container">\n<div class="cell_input docutils container">'
            '</div>\n<div class="cell_output docutils container">' + output + "</div></div>\n")
    (html / "notebooks" / "01_tiny.html").write_text(cell * cells, encoding="utf-8")
    executed = html.parent / "jupyter_execute" / "notebooks"
    executed.mkdir(parents=True)
    (executed / "01_tiny.glue.json").write_text(json.dumps({k: {} for k in glued}))
    return source, html


def test_executed_notebook_check_passes_a_good_build(tmp_path):
    source, html = _fake_build(tmp_path)
    assert executed_notebook_problems(html, [source]) == []


def test_executed_notebook_check_finds_what_is_missing(tmp_path):
    source, html = _fake_build(tmp_path / "a", error=True)
    assert executed_notebook_problems(html, [source]) == [
        "01_tiny.ipynb: its page shows a traceback"]
    source, html = _fake_build(tmp_path / "b", cells=1, glued=())
    assert executed_notebook_problems(html, [source]) == [
        "01_tiny.ipynb: its page shows 1 of 2 code cells",
        "01_tiny.ipynb: keys ['fig'] were not glued",
    ]
    (html / "notebooks" / "01_tiny.html").write_text("<p>no cells</p>")
    assert "01_tiny.ipynb: its page shows no outputs" in executed_notebook_problems(html, [source])
    (html / "notebooks" / "01_tiny.html").unlink()
    assert executed_notebook_problems(html, [source]) == [
        "01_tiny.ipynb: no page notebooks/01_tiny.html"]


def test_pasted_figure_check(tmp_path):
    (tmp_path / "analyses").mkdir()
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "a.png").write_bytes(b"png")
    figure = '<div class="bb-notebook-figure docutils container">\n<img alt="" src="{}" />'
    (tmp_path / "analyses" / "good.html").write_text(figure.format("../_images/a.png"))
    (tmp_path / "analyses" / "gone.html").write_text(figure.format("../_images/b.png"))
    (tmp_path / "analyses" / "none.html").write_text("<p>no figure</p>")
    assert pasted_figure_problems(tmp_path, ["analyses/good"]) == []
    assert pasted_figure_problems(tmp_path, ["analyses/gone", "analyses/none"]) == [
        "analyses/gone: image ../_images/b.png is missing",
        "analyses/none: no figure from a notebook",
    ]
