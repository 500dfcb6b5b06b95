"""Every packaged spec with its own settings, as `make run` runs them (`run_analyses`, then
the all-or-nothing writer): every default fit must pass the diagnostics gate, and every
output must be written.

The run is the session's ``default_run`` fixture, which the slow tests of each room share
(their checks against exact engines use these same fits); the command line's own path
(`bayesblina run`, exit codes, output folder) is tested on smaller runs in tests/test_cli*.py.
"""

from __future__ import annotations

import json
import re

import pytest

from bayesblina.analyses.registry import discover_specs, get_components
from bayesblina.design.studies import (
    discover_design_specs,
    load_design_specs,
)


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.mcmc
def test_every_default_analysis_passes_the_gate(default_run):
    out = default_run.out
    summary = json.loads((out / "summary.json").read_text())
    names = {p.stem for p in discover_specs()}
    assert set(default_run.results) == names
    assert {a["name"] for a in summary["analyses"]} == names
    for entry in summary["analyses"]:
        assert entry["status"] == "PASSED", entry["name"]
        for prior_set, diag in entry["diagnostics"].items():
            div = next(c for c in diag["checks"] if c["name"] == "divergences")
            assert div["value"] == 0, (entry["name"], prior_set)
        assert all(v is not None for v in entry["results"].values())
        assert (out / "idata" / f"{entry['name']}.nc").is_file()
        assert (out / "figures" / f"{entry['name']}.png").is_file()
    html = (out / "report.html").read_text()
    assert html.count("<section id=") == len(names)


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.mcmc
def test_the_default_report_opens_with_a_finding_per_question_and_stays_small(default_run):
    """Issue 14: the whole default report (analyses, reproduced numbers, design studies) is
    under 1 MB, and its key findings hold a row per analysis and per design study, each
    linking to its section."""
    results = list(default_run.results.values())
    report = default_run.out / "report.html"
    designs = [d["name"] for d in json.loads((default_run.out / "summary.json").read_text())[
        "designs"]]
    assert designs == [d.name for d in load_design_specs(discover_design_specs())]
    size = report.stat().st_size
    assert size < 1_000_000, f"report.html is {size / 1e6:.2f} MB"
    html = report.read_text()
    findings = html.split("id='key-findings'")[1].split("</table>")[0]
    for r in results:
        make = get_components(r.spec.analysis.model).findings
        assert make is not None and make(r), f"{r.spec.name} has no key finding"
        assert f"href='#{r.spec.name}'" in findings, r.spec.name
    for name in designs:
        assert f"href='#design-{name}'" in findings, name
    assert "39% (95% CI 27–51)" in findings  # Table 2's CR rate, to the printed decimal
    assert "7.5 months (95% CI 4–11.8)" in findings  # the published OS median
    ids = set(re.findall(r"id=['\"]([^'\"]+)['\"]", html))
    assert set(re.findall(r"href=['\"]#([^'\"]+)['\"]", html)) <= ids
