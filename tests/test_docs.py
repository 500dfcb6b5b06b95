"""The documentation builds without warnings and its numbers follow the code and the data.

The static tables of ``docs/analyses/overall_cr.md`` (prior and exact posterior summaries)
are recomputed here from ``models/overall_cr.toml`` with scipy, so that the page cannot
drift from the spec; ``docs/data.md`` must name every packaged data file and every
recorded contradiction.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SPEC = ROOT / "models" / "overall_cr.toml"
DATA = ROOT / "bayesblina" / "data"


def prob(value: float) -> str:
    """A probability as the overall-CR page prints it."""
    if value > 0.999:
        return "> 0.999"
    if value < 0.001:
        return "< 0.001"
    return f"{value:.3f}"


def prior_rows(spec_path: Path = SPEC) -> list[str]:
    """Rows of the prior table: Beta(a, b), mean, ESS, P(p > 0.275), P(p < 0.10)."""
    spec = tomllib.loads(spec_path.read_text(encoding="utf-8"))
    rows = []
    for name, prior_set in spec["priors"].items():
        p = prior_set["p"]
        a, b = float(p["alpha"]), float(p["beta"])
        dist = stats.beta(a, b)
        rows.append(
            f"| `{name}` | Beta({a:g}, {b:g}) | {a / (a + b):.3f} | {a + b:g} "
            f"| {prob(dist.sf(0.275))} | {prob(dist.cdf(0.10))} |"
        )
    return rows


def posterior_rows(spec_path: Path = SPEC) -> list[str]:
    """Rows of the exact posterior table, per population and prior set."""
    import csv

    spec = tomllib.loads(spec_path.read_text(encoding="utf-8"))
    data = spec["data"]
    with (DATA / f"{data['table']}.csv").open(encoding="utf-8") as fh:
        counts = {
            r["population"]: (int(r["x"]), int(r["n"]))
            for r in csv.DictReader(fh)
            if r["quantity"] == data["quantity"]
        }
    rows = []
    for pop in data["populations"]:
        x, n = counts[pop]
        for name, prior_set in spec["priors"].items():
            a, b = float(prior_set["p"]["alpha"]), float(prior_set["p"]["beta"])
            post = stats.beta(a + x, b + n - x)
            lo, hi = post.ppf([0.025, 0.975])
            rows.append(
                f"| `{pop}` | `{name}` | Beta({a + x:g}, {b + n - x:g}) | {post.mean():.3f} "
                f"| {lo:.3f} to {hi:.3f} | {prob(post.sf(0.10))} | {prob(post.sf(0.275))} |"
            )
    return rows


def test_overall_cr_page_prior_table_matches_spec():
    page = (DOCS / "analyses" / "overall_cr.md").read_text(encoding="utf-8")
    for row in prior_rows():
        assert row in page, f"docs/analyses/overall_cr.md lacks (or has stale) row:\n{row}"


def test_overall_cr_page_posterior_table_matches_spec_and_data():
    page = (DOCS / "analyses" / "overall_cr.md").read_text(encoding="utf-8")
    for row in posterior_rows():
        assert row in page, f"docs/analyses/overall_cr.md lacks (or has stale) row:\n{row}"


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
    import importlib
    import re

    page = (DOCS / "api.md").read_text(encoding="utf-8")
    modules = re.findall(r"^\.\. automodule:: (\S+)$", page, flags=re.MULTILINE)
    assert modules
    for name in modules:
        importlib.import_module(name)


@pytest.mark.slow
def test_sphinx_build_is_warning_free(tmp_path):
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(DOCS), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    assert (out / "index.html").is_file()
    assert (out / "analyses" / "overall_cr.html").is_file()
    assert (out / "api.html").is_file()
