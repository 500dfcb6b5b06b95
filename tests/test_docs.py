"""The documentation builds without warnings and its numbers follow the code and the data.

The tables of ``docs/analyses/overall_cr.md``, ``docs/analyses/dose_toxicity.md`` and
``docs/analyses/survival.md`` are computed when the docs are built (the ``bayesblina-table``
directive, with the rooms' ``tables`` modules; their tests are
``tests/test_response_rate_tables.py``, ``tests/test_dose_toxicity_tables.py`` and
``tests/test_survival_tables.py``), and so are those of ``docs/analyses/subgroups.md``
(``bayesblina.analyses.subgroups.tables``, tested in
``tests/analyses/subgroups/test_tables.py``). What stays here for those pages: the survival page's
prose (tolerances, validation numbers) and its pasted MCMC results, refitted by a slow test.
``docs/data.md`` must name every packaged data file and every recorded contradiction.
"""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bayesblina.analyses.subgroups.model import hierarchical_posterior
from bayesblina.analyses.subgroups.tables import tau_prior_means
from bayesblina.reconstruct.pseudo_ipd import (
    ASSUMPTIONS,
    LANDMARK_TOL_POINTS,
    MEDIAN_TOL_MONTHS,
)
from bayesblina.report.write import summary_entry
from tests.docs.site_checks import (
    NOTEBOOKS,
    executed_notebook_problems,
    pasted_figure_problems,
)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DATA = ROOT / "bayesblina" / "data"


def test_data_page_names_every_file_and_contradiction():
    page = (DOCS / "data.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in DATA.iterdir() if p.suffix in (".csv", ".toml"))
    assert files
    missing = [f for f in files if f"`{f}`" not in page]
    assert not missing, f"docs/data.md does not describe {missing}"
    entries = tomllib.loads((DATA / "contradictions.toml").read_text(encoding="utf-8"))
    ids = [c["id"] for c in entries["contradiction"]]
    missing = [i for i in ids if f"| {i} |" not in page]
    assert not missing, f"docs/data.md does not list contradiction(s) {missing}"


def test_api_page_lists_only_importable_modules():

    page = (DOCS / "api.md").read_text(encoding="utf-8")
    modules = re.findall(r"^\.\. automodule:: (\S+)$", page, flags=re.MULTILINE)
    assert modules
    for name in modules:
        importlib.import_module(name)


@pytest.mark.slow
@pytest.mark.docs
def test_sphinx_build_is_warning_free(tmp_path):
    """The docs build, warnings as errors; it executes every notebook (the one place they run).

    The notebooks' outputs are cached (``docs/_build/.jupyter_cache``, see ``docs/conf.py``):
    a notebook runs again when its code, the package, its data, the specs or the pinned
    dependencies changed since the cache was filled, and a cell that raises fails the build.
    """
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(DOCS), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,  # cold: every notebook executed, a few minutes on two cores
    )
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    assert (out / "index.html").is_file()
    assert (out / "analyses" / "overall_cr.html").is_file()
    assert (out / "analyses" / "dose_toxicity.html").is_file()
    assert (out / "analyses" / "survival.html").is_file()
    assert (out / "api.html").is_file()
    # every notebook executed, without an error, and each figure the pages paste is there
    assert not executed_notebook_problems(out), executed_notebook_problems(out)
    analyses = [f"analyses/{p.stem}" for p in sorted((DOCS / "analyses").glob("*.md"))
                if p.stem != "index"]
    problems = pasted_figure_problems(out, analyses)
    gallery = (out / "gallery.html").read_text(encoding="utf-8")
    thumbnails = re.findall(r'<img [^>]*src="(_images/[^"]+)"', gallery)
    if len(thumbnails) != len(NOTEBOOKS) or not all((out / t).is_file() for t in thumbnails):
        problems.append(f"gallery: {len(thumbnails)} thumbnails for {len(NOTEBOOKS)} notebooks")
    assert not problems, problems


# -- docs/analyses/survival.md --------------------------------------------------------------

SURVIVAL_PAGE = DOCS / "analyses" / "survival.md"


def test_survival_page_names_every_assumption_and_tolerance():
    """The prose quotes the code's tolerances (the assumption table is the code's own)."""
    page = " ".join(SURVIVAL_PAGE.read_text(encoding="utf-8").split())  # lines rewrapped
    assert f"within {MEDIAN_TOL_MONTHS:g} months" in page
    assert f"within {LANDMARK_TOL_POINTS:g} percentage points" in page
    assert len({a.key for a in ASSUMPTIONS}) == len(ASSUMPTIONS)


def test_survival_page_validation_numbers_match_the_tests():
    """The leukemia cross-check numbers quoted on the page are those the tests assert."""
    source = (ROOT / "tests" / "analyses" / "survival" / "test_model.py").read_text(encoding="utf-8")
    page = SURVIVAL_PAGE.read_text(encoding="utf-8")
    for number in ("33.7652", "1.35373", "3.515687", "-1.267335", "0.311709"):
        assert number in source
        assert number in page


@pytest.mark.slow
@pytest.mark.mcmc
def test_survival_page_os_results_are_current(default_run):
    """The pasted OS results are reproduced (to Monte Carlo error) by the spec as shipped.

    The page quotes one run of ``models/survival_os.toml``; this checks the quoted
    posterior medians of the OS row against the session's default run of that spec, so
    that a change of the spec, the reconstruction or the model cannot leave stale numbers
    on the page.
    """
    result = default_run.results["survival_os"]
    assert result.passed
    (fit,) = result.fits.values()
    summary = fit.summary.set_index(["quantity", "element"])["median"]
    page = SURVIVAL_PAGE.read_text(encoding="utf-8")
    row = next(line for line in page.splitlines() if line.startswith("| OS (`survival_os`)"))
    quoted = [float(x) for x in re.findall(r"\| ([0-9.]+) \(", row)]
    fitted = [summary[("median", "")], summary[("surv", "6.0")], summary[("surv", "12.0")],
              summary[("surv", "24.0")], summary[("rmst", "")]]
    assert len(quoted) == len(fitted)
    for q, f in zip(quoted, fitted, strict=True):
        assert q == pytest.approx(f, rel=0.03, abs=0.006), (quoted, fitted)


# -- docs/analyses/subgroups.md -------------------------------------------------------------

SUBGROUP_PAGE = DOCS / "analyses" / "subgroups.md"
SUBGROUP_TABLES = ("data_table", "prior_table", "settings_table", "exact_table",
                   "contrast_table", "tau_table", "exnex_table")


def test_subgroup_page_renders_its_tables_from_the_code():
    """Every table of the page comes from :mod:`bayesblina.analyses.subgroups.tables`.

    The functions are tested in ``tests/analyses/subgroups/test_tables.py``; no table is
    pasted by hand.
    """
    page = SUBGROUP_PAGE.read_text(encoding="utf-8")
    for name in SUBGROUP_TABLES:
        assert f"```{{bayesblina-table}} bayesblina.analyses.subgroups.tables:{name}\n" in page
    assert not [line for line in page.splitlines() if line.startswith("|")]


def test_subgroup_page_quotes_the_prior_means_of_tau():
    page = " ".join(SUBGROUP_PAGE.read_text(encoding="utf-8").split())  # lines rewrapped
    assert f"({', '.join(tau_prior_means())})" in page


def test_subgroup_page_quotes_the_code_and_test_settings():
    """The quadrature settings and tolerances the page quotes are those of the code/tests."""


    page = SUBGROUP_PAGE.read_text(encoding="utf-8")
    defaults = inspect.signature(hierarchical_posterior).parameters
    assert f"$\\tau$ on {defaults['n_tau'].default} nodes" in page
    assert f"Gauss–Hermite quadrature with {defaults['n_gh'].default} nodes" in page
    tests = (ROOT / "tests" / "analyses" / "subgroups" / "test_model.py").read_text(encoding="utf-8")
    for code, text in (("abs=1e-9", "$10^{-9}$"), ("abs=1e-7", "$10^{-7}$"),
                       ("atol=2e-6", "$2 \\times 10^{-6}$")):
        assert code in tests and text in page, (code, text)


def test_subgroup_page_quotes_the_spec_records_and_names_the_summary_keys():
    """The sampler records quoted on the page are the specs' own; the JSON keys are the code's."""

    page = " ".join(SUBGROUP_PAGE.read_text(encoding="utf-8").split())  # lines rewrapped
    spec_text = (ROOT / "models" / "subgroups_age.toml").read_text(encoding="utf-8")
    for phrase in ("8 of 48 test fits", "none in 108", "3 of 72 test fits"):
        assert phrase in spec_text and phrase in page, phrase
    exnex_text = (ROOT / "models" / "subgroups_age_exnex.toml").read_text(encoding="utf-8")
    assert "no divergences in 30 test fits" in exnex_text and "30 test fits" in page
    doc = summary_entry.__doc__ or ""
    for key in ("subgroups[prior_set][model][level]",
                "subgroup_contrasts[prior_set][model][contrast]",
                "subgroup_models[prior_set][model]"):
        assert key in doc and key in page, key
