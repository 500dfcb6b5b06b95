"""The report writer: a run's files from Fit values, without MCMC (draws from the exact posterior,
the ``result`` fixture of tests/report/conftest.py)."""

from __future__ import annotations

import dataclasses
import json
import os
import stat

import pandas as pd
import pytest

from bayesblina.report.write import summary_entry, table_file, write_results


def test_summary_entry_names_the_spec_and_hashes_all_the_data(result):
    entry = summary_entry(result)
    assert entry["spec"] == "models/overall_cr.toml"
    assert entry["spec_sha256"] == result.spec.source_sha256 and len(entry["spec_sha256"]) == 64
    assert entry["data_sha256"] == result.model.data_checksum() == result.data_sha256
    # every prior set passed (draws from the exact posterior) and its numbers are there
    assert set(entry["results"]) == set(result.spec.priors)
    exact = result.extras["uniform"].exact.set_index("population")
    assert entry["results"]["uniform"]["phase_2"]["mean"] == pytest.approx(
        exact.loc["phase_2", "mean"], abs=0.01)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_a_run_writes_every_file_with_the_umask_permissions(result, tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        report = write_results([result], tmp_path / "out", {"command": "test"})
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    names = {p.relative_to(tmp_path / "out").as_posix() for p in files}
    assert {"summary.json", "report.html", "idata/overall_cr.nc", "figures/overall_cr.png",
            "tables/overall_cr_posterior.csv", "tables/overall_cr_published.csv"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {mode}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["analyses"][0]["spec"] == "models/overall_cr.toml"
    assert "Independent check: MCMC against an exact computation" in report.read_text()


def test_component_tables_are_named_by_their_title(result, tmp_path):
    table = pd.DataFrame({"model": ["a", "b"], "elpd": [-1.0, -2.0]})
    extras = {name: dataclasses.replace(e, tables={"Model comparison (PSIS-LOO)": table})
              for name, e in result.extras.items()}
    named = dataclasses.replace(result, extras=extras)
    write_results([named], tmp_path / "out", {"command": "test"})
    tables = {p.name for p in (tmp_path / "out" / "tables").iterdir()}
    assert table_file("overall_cr", "Model comparison (PSIS-LOO)") == \
        "overall_cr_model_comparison_psis_loo.csv"
    assert "overall_cr_model_comparison_psis_loo.csv" in tables
    assert not [t for t in tables if "extra" in t]
    csv = pd.read_csv(tmp_path / "out" / "tables" / "overall_cr_model_comparison_psis_loo.csv")
    assert list(csv.columns) == ["prior_set", "model", "elpd"]
    assert len(csv) == 2 * len(result.fits)  # stacked over the prior sets
