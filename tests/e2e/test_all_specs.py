"""Every packaged spec with its own settings, as `make run` runs them (`run_analyses`, then
the all-or-nothing writer): every default fit must pass the diagnostics gate, and every
output must be written.

The run is the session's ``default_run`` fixture, which the slow tests of each room share
(their checks against exact engines use these same fits); the command line's own path
(`bayesblina run`, exit codes, output folder) is tested on smaller runs in tests/test_cli*.py.
"""

from __future__ import annotations

import json

import pytest

from bayesblina.analyses.registry import discover_specs


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
