"""`bayesblina run` on every packaged spec with its own settings: what `make run` does.

Every default fit must pass the diagnostics gate, and every output must be written.
"""

from __future__ import annotations

import json

import pytest

from bayesblina.analyses.registry import discover_specs
from bayesblina.cli import main


@pytest.mark.slow
@pytest.mark.e2e
def test_every_default_analysis_passes_the_gate(tmp_path, capsys):
    code = main(["run", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    names = {p.stem for p in discover_specs()}
    assert {a["name"] for a in summary["analyses"]} == names
    for entry in summary["analyses"]:
        assert entry["status"] == "PASSED", entry["name"]
        for prior_set, diag in entry["diagnostics"].items():
            div = next(c for c in diag["checks"] if c["name"] == "divergences")
            assert div["value"] == 0, (entry["name"], prior_set)
        assert all(v is not None for v in entry["results"].values())
        assert (tmp_path / "idata" / f"{entry['name']}.nc").is_file()
        assert (tmp_path / "figures" / f"{entry['name']}.png").is_file()
    html = (tmp_path / "report.html").read_text()
    assert html.count("<section id=") == len(names)
    assert "FAILED" not in out
