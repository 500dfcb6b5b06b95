"""Sphinx configuration of the bayesblina documentation (MyST markdown pages).

Build (warnings are errors)::

    sphinx-build -W --keep-going -q -b html docs docs/_build/html
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# document the source tree beside these pages (also when it is not installed editable)
sys.path.insert(0, str(ROOT))
# local extensions: the bayesblina-table directive (tables computed at build time)
sys.path.insert(0, str(DOCS / "_ext"))

import bayesblina  # noqa: E402

# -- project -------------------------------------------------------------------------
project = "bayesblina"
author = "bayesblina developers"
copyright = "2024-2026, bayesblina developers"
release = bayesblina.__version__
version = ".".join(release.split(".")[:2])

# -- general -------------------------------------------------------------------------
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "bayesblina_tables",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
nitpicky = False

# -- MyST ----------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# -- autodoc / napoleon --------------------------------------------------------------
autodoc_typehints = "description"
# types of documented parameters only: pydantic's constrained types (Annotated[...,
# FieldInfo(...)]) in the generated constructor signatures would drown the docs
autodoc_typehints_description_target = "documented"
autodoc_member_order = "bysource"
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
}
# pydantic models: show the fields (their own docs), not pydantic's machinery
_PYDANTIC_NOISE = {
    "model_config",
    "model_fields",
    "model_computed_fields",
    "model_post_init",
}
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
napoleon_preprocess_types = False

# -- HTML ----------------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"bayesblina {release}"
html_theme_options = {
    "description": "Bayesian re-analysis of the paediatric blinatumomab phase I/II trial",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "240px",
}
html_static_path: list[str] = []


# -- hooks ---------------------------------------------------------------------------
_FOOTNOTE_DEF = re.compile(r"^(\s*)\.\. \[(\d+)\]", re.MULTILINE)
_FOOTNOTE_REF = re.compile(r"\[(\d+)\]_")


def _unique_footnotes(app, what, name, obj, options, lines):
    """Give numbered footnotes (numpydoc ``References``) a label unique to their object.

    numpydoc docstrings number their references ``.. [1]`` in every function; several of
    them on one page would be duplicate targets. They become auto-numbered labelled
    footnotes (``.. [#<object>-1]``), which docutils numbers per page.
    """
    if not any(".. [" in line for line in lines):
        return
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    text = "\n".join(lines)
    text = _FOOTNOTE_DEF.sub(lambda m: f"{m.group(1)}.. [#{slug}-{m.group(2)}]", text)
    text = _FOOTNOTE_REF.sub(lambda m: f"[#{slug}-{m.group(1)}]_", text)
    lines[:] = text.split("\n")


def _skip_pydantic_noise(app, what, name, obj, skip, options):
    """Leave pydantic's own class attributes (``model_config`` ...) out of the API pages."""
    if name in _PYDANTIC_NOISE:
        return True
    return None


_INLINE_TYPE = re.compile(r"(?<!:):(?!:)")
_PLAIN_ATTRIBUTE_DOCS: dict[str, list[str]] = {}


def _keep_attribute_text(app, what, name, obj, options, lines):
    """Remember attribute docs whose first line has a colon (runs before napoleon).

    For attributes, napoleon reads a first line ``a: b`` as ``type: description``
    (Google style). Our attribute comments (``#: ...``) are plain sentences, e.g.
    ``report P(p > t) for each t (defaults: the phase II design's p0 and p1)``.
    """
    if what in ("attribute", "data") and lines and _INLINE_TYPE.search(lines[0]):
        _PLAIN_ATTRIBUTE_DOCS[name] = list(lines)


def _restore_attribute_text(app, what, name, obj, options, lines):
    """Put back the remembered attribute docs verbatim (runs after napoleon)."""
    original = _PLAIN_ATTRIBUTE_DOCS.pop(name, None)
    if original is not None and what in ("attribute", "data"):
        lines[:] = original


def _public_bases(app, name, obj, options, bases):
    """Show a private base class (``_Strict``, ``_Prior``) as its own public bases."""
    out: list = []
    for base in bases:
        todo = [base]
        while todo:
            b = todo.pop(0)
            if b.__name__.startswith("_") and b is not object:
                todo[:0] = list(b.__bases__)
            elif b not in out:
                out.append(b)
    bases[:] = out


_MD_LINK = re.compile(r"(\[[^\]]*\]\()([^)\s]+)(\))")


def _repo_link(match: re.Match) -> str:
    """Rewrite a link of ARCHITECTURE.md (relative to the repository root) for docs/."""
    target = match.group(2)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "/")):
        return match.group(0)  # a URL, an anchor or an absolute path: as written
    path = target.split("#", 1)[0]
    if path.startswith("docs/"):
        target = target[len("docs/") :]  # another page of these docs
    elif (ROOT / path).exists():
        target = "../" + target  # a file of the repository: a download link
    return f"{match.group(1)}{target}{match.group(3)}"


def _architecture_page(app, docname, source):
    """Show the repository's ARCHITECTURE.md on the architecture page when it exists.

    Its links are relative to the repository root and are rewritten for ``docs/``.
    Without the file the page keeps its own short description of the pipeline.
    """
    if docname != "architecture":
        return
    arch = ROOT / "ARCHITECTURE.md"
    if not arch.is_file():
        return
    app.env.note_dependency(str(arch))
    text = _MD_LINK.sub(_repo_link, arch.read_text(encoding="utf-8"))
    lines = [ln for ln in text.splitlines() if ln.strip()]
    has_title = bool(lines) and lines[0].startswith("# ")
    source[0] = text if has_title else "# Architecture\n\n" + text


def setup(app):
    """Connect the hooks above."""
    # napoleon parses the docstrings into reST at the default priority (500)
    app.connect("autodoc-process-docstring", _keep_attribute_text, priority=400)
    app.connect("autodoc-process-docstring", _restore_attribute_text, priority=600)
    app.connect("autodoc-process-docstring", _unique_footnotes)
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("autodoc-skip-member", _skip_pydantic_noise)
    app.connect("source-read", _architecture_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
