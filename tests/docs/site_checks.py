"""Checks of a built docs site: the executed notebooks and the figures pasted from them.

``tests/test_docs.py::test_sphinx_build_is_warning_free`` runs them on its build (the one
place where the notebooks run); ``tests/docs/test_notebooks.py`` tests them on small
hand-made builds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def glued_keys(path: Path) -> set[str]:
    """The keys a notebook glues: ``glue("key", ...)`` in its code cells."""
    nb = nbformat.read(path, as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return set(re.findall(r"""\bglue\(\s*["']([^"']+)["']""", source))


def executed_notebook_problems(html: Path, notebooks: list[Path] = NOTEBOOKS) -> list[str]:
    """What is wrong with the notebooks as a docs build executed them (empty: nothing).

    ``html`` is the build's HTML folder. Each notebook must have its page, with every code
    cell, outputs and no traceback, and MyST-NB's record of its glued outputs (beside the
    HTML folder, in ``../jupyter_execute/notebooks/<name>.glue.json``) must hold every key
    the notebook glues. (The executed ``.ipynb`` MyST-NB writes there has no outputs when
    they came from the cache, so the page is what is checked.)
    """
    problems = []
    executed = html.parent / "jupyter_execute" / "notebooks"
    for path in notebooks:
        page = html / "notebooks" / f"{path.stem}.html"
        if not page.is_file():
            problems.append(f"{path.name}: no page {page.relative_to(html)}")
            continue
        text = page.read_text(encoding="utf-8")
        nb = nbformat.read(path, as_version=4)
        n_code = sum(c.cell_type == "code" for c in nb.cells)
        shown = text.count('<div class="cell docutils container"')
        if shown != n_code:
            problems.append(f"{path.name}: its page shows {shown} of {n_code} code cells")
        if '<div class="cell_output' not in text:
            problems.append(f"{path.name}: its page shows no outputs")
        if 'class="output traceback' in text:
            problems.append(f"{path.name}: its page shows a traceback")
        record = executed / f"{path.stem}.glue.json"
        glued = set(json.loads(record.read_text(encoding="utf-8"))) if record.is_file() else set()
        missing = sorted(glued_keys(path) - glued)
        if missing:
            problems.append(f"{path.name}: keys {missing} were not glued")
    return problems


_IMG = re.compile(r'<img [^>]*src="([^"]+)"')


def pasted_figure_problems(html: Path, pages: list[str]) -> list[str]:
    """Pages (``analyses/overall_cr``) whose pasted notebook figures are missing."""
    problems = []
    for name in pages:
        page = html / f"{name}.html"
        text = page.read_text(encoding="utf-8") if page.is_file() else ""
        blocks = text.split('class="bb-notebook-figure')[1:]
        if not blocks:
            problems.append(f"{name}: no figure from a notebook")
        for block in blocks:
            src = _IMG.search(block)
            if src is None:
                problems.append(f"{name}: the notebook figure has no image")
            elif not (page.parent / src.group(1)).is_file():
                problems.append(f"{name}: image {src.group(1)} is missing")
    return problems
