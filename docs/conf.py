"""Sphinx configuration of the bayesblina documentation (MyST markdown pages, notebooks).

Build (warnings are errors)::

    sphinx-build -W --keep-going -q -b html docs docs/_build/html

The walk-through notebooks of ``notebooks/`` (committed without outputs) are copied into
``docs/notebooks/`` (not committed) when the build starts and executed by MyST-NB: this build
is the one place where they run. Executed notebooks are cached by jupyter-cache in
``docs/_build/.jupyter_cache/<fingerprint>``: a warm build re-executes only the notebooks
whose code changed, and the fingerprint of the package's sources, specs and pinned
dependencies names the cache, so a change of the code they run starts a fresh one.
"""

from __future__ import annotations

import filecmp
import hashlib
import os
import re
import shutil
import sys
import time
from pathlib import Path

from myst_nb.ext.glue.utils import PendingGlueReference

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# document the source tree beside these pages (also when it is not installed editable)
sys.path.insert(0, str(ROOT))
# local extensions: the bayesblina-table directive (tables computed at build time)
sys.path.insert(0, str(DOCS / "_ext"))
#: the walk-through notebooks (committed without outputs) and their copy inside docs/
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_COPY = DOCS / "notebooks"

import bayesblina  # noqa: E402

# -- project -------------------------------------------------------------------------
project = "bayesblina"
author = "bayesblina developers"
copyright = "2024-2026, bayesblina developers"
release = bayesblina.__version__
version = ".".join(release.split(".")[:2])

# -- general -------------------------------------------------------------------------
extensions = [
    "myst_nb",  # MyST markdown (it includes myst-parser) and executed notebooks
    "sphinx_design",  # the gallery's cards
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "bayesblina_tables",
]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
nitpicky = False

# -- MyST ----------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3


# -- MyST-NB: the notebooks, executed when the docs are built -------------------------
def _fingerprint() -> str:
    """A hash of what the notebooks' outputs depend on besides their own code cells.

    jupyter-cache matches a notebook by its code cells only; naming the cache folder by
    this fingerprint re-executes every notebook when the package, its data, the specs or
    the pinned dependencies change (and keeps the cache warm while they do not).
    """
    digest = hashlib.sha256()
    files = [
        *sorted((ROOT / "bayesblina").rglob("*.py")),
        *sorted((ROOT / "bayesblina" / "data").rglob("*.csv")),
        *sorted((ROOT / "bayesblina" / "data").rglob("*.toml")),
        *sorted((ROOT / "models").rglob("*.toml")),
        ROOT / "pyproject.toml",
        ROOT / "constraints.txt",
    ]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


#: every cache lives under docs/_build (``make clean`` removes it), one folder per fingerprint
NB_CACHE_ROOT = DOCS / "_build" / ".jupyter_cache"
nb_execution_mode = "cache"
nb_execution_cache_path = str(NB_CACHE_ROOT / _fingerprint())
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True  # ... with the cell's traceback in the build's output
nb_execution_timeout = 600  # seconds per cell (the notebooks' longest fits take about a minute)
nb_merge_streams = True
nb_output_stderr = "remove"  # sampler progress and library warnings are not part of the page

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
html_theme = "pydata_sphinx_theme"
html_title = f"bayesblina {release}"
html_theme_options = {
    # the top bar: the project's name, its sections, then search and the light/dark switch
    "navbar_start": ["navbar-logo"],
    "navbar_center": ["navbar-nav"],
    "navbar_end": ["theme-switcher"],
    "navbar_persistent": ["search-button"],
    "header_links_before_dropdown": 7,
    "navbar_align": "left",
    # nothing that needs the internet: no repository links, no version switcher, no
    # edit button, no analytics
    "icon_links": [],
    "use_edit_page_button": False,
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
# no left sidebar on the pages without sub-pages: the landing page, the gallery (its cards
# are the navigation) and the top-level pages of their own
html_sidebars = {
    page: []
    for page in ("index", "gallery", "notebooks/07_own_trial", "quickstart", "specs", "data",
                 "diagnostics", "reproduction", "architecture", "api")
}
html_static_path = ["_static"]
html_css_files = ["bayesblina.css"]


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


def _copy_notebooks(app, config):
    """Copy ``notebooks/*.ipynb`` into ``docs/notebooks/`` (the pages of the gallery).

    A copy is rewritten only when its notebook changed (``copy2`` keeps the time stamp, so
    an incremental build re-reads only changed notebooks); copies of notebooks that are
    gone are removed. Runs once, in the main process, before any page is read.
    """
    NOTEBOOK_COPY.mkdir(exist_ok=True)
    sources = {p.name: p for p in NOTEBOOKS.glob("*.ipynb")}
    for name, source in sources.items():
        target = NOTEBOOK_COPY / name
        if not target.is_file() or not filecmp.cmp(source, target, shallow=False):
            # atomically: a build running at the same time never reads half a notebook
            partial = target.with_name(f".{name}.{os.getpid()}.partial")
            shutil.copy2(source, partial)
            os.replace(partial, target)
    for stale in NOTEBOOK_COPY.glob("*.ipynb"):
        if stale.name not in sources:
            stale.unlink()


#: a cache of another fingerprint untouched for this long is removed (younger ones may be
#: in use by a build of the tree as it was a moment ago)
STALE_CACHE_S = 3600.0


def _prune_notebook_caches(app, config):
    """Remove the caches of other fingerprints: outputs of code that has changed since."""
    current = Path(config.nb_execution_cache_path)
    if current.parent != NB_CACHE_ROOT or not NB_CACHE_ROOT.is_dir():
        return
    now = time.time()
    for folder in NB_CACHE_ROOT.iterdir():
        if not folder.is_dir() or folder == current:
            continue
        touched = max((p.stat().st_mtime for p in folder.rglob("*")),
                      default=folder.stat().st_mtime)
        if now - touched > STALE_CACHE_S:
            shutil.rmtree(folder, ignore_errors=True)


def _glue_dependencies(app, doctree):
    """A page that pastes a notebook's output (``{glue}`` with ``:doc:``) depends on it.

    When the notebook changes, the page is read and written again, with the new output.
    """
    for node in doctree.findall(PendingGlueReference):
        app.env.note_dependency(app.env.doc2path(node.refdoc))


def setup(app):
    """Connect the hooks above."""
    app.connect("config-inited", _copy_notebooks)
    app.connect("config-inited", _prune_notebook_caches)
    app.connect("doctree-read", _glue_dependencies)
    # napoleon parses the docstrings into reST at the default priority (500)
    app.connect("autodoc-process-docstring", _keep_attribute_text, priority=400)
    app.connect("autodoc-process-docstring", _restore_attribute_text, priority=600)
    app.connect("autodoc-process-docstring", _unique_footnotes)
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("autodoc-skip-member", _skip_pydantic_noise)
    app.connect("source-read", _architecture_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
