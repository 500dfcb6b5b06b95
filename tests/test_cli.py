"""The command line end to end: run, reproduce, check, and clear errors for bad input."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import arviz as az
import pandas as pd
import pytest

import bayesblina.cli as cli
from bayesblina.analyses.registry import DEFAULT_SPEC_DIR, load_spec
from bayesblina.analyses.response_categories.model import ResponseCategoriesModel
from bayesblina.cli import main
from bayesblina.report.html import published_cell, side_by_side
from bayesblina.reproduce import JSON_KEYS

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_nonexistent_spec_path_is_one_clear_error(capsys, tmp_path):
    code, out, err = run_cli(capsys, "run", "--out", str(tmp_path), "models/nope.toml")
    assert code == 2
    assert err.strip() == "error: spec file not found: models/nope.toml"
    assert "Traceback" not in err + out
    assert not any(tmp_path.iterdir())


def test_console_script_reports_bad_path_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bayesblina.cli", "run", "--out", str(tmp_path), "no/such.toml"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "spec file not found: no/such.toml" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_spec_on_command_line(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[analysis]\nname = "bad"\ntitle = "t"\nquestion = "q"\nmodel = "nope"\n')
    code, _, err = run_cli(capsys, "check", str(bad))
    assert code == 2
    assert "bad.toml: key 'analysis.model': unknown model 'nope'" in err


def test_check_packaged_specs(capsys):
    code, out, _ = run_cli(capsys, "check")
    assert code == 0
    assert "overall_cr.toml: beta_binomial, 4 prior set(s)" in out


def test_reproduce_json(capsys):
    code, out, _ = run_cli(capsys, "reproduce", "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows and all(tuple(r) == JSON_KEYS for r in rows)
    assert all(isinstance(r["matches"], bool) for r in rows)
    # every mismatch is a recorded contradiction of the paper
    assert all(r["contradiction_id"] for r in rows if not r["matches"])
    assert sum(r["matches"] for r in rows) >= 100


def test_reproduce_table(capsys):
    code, out, _ = run_cli(capsys, "reproduce")
    assert code == 0
    assert "published numbers reproduced" in out


@pytest.mark.slow
@pytest.mark.e2e
def test_run_writes_every_output(capsys, tmp_path):
    code, out, err = run_cli(capsys, "run", "--out", str(tmp_path), "--seed", "11", "models/overall_cr.toml")
    assert code == 0, err
    assert "PASSED  overall_cr" in out
    assert "prior set 'sceptical'" in err  # progress lines
    for rel in [
        "idata/overall_cr.nc",
        "summary.json",
        "report.html",
        "figures/overall_cr.png",
        "tables/overall_cr_posterior.csv",
        "tables/overall_cr_diagnostics.csv",
        "tables/overall_cr_published.csv",
    ]:
        assert (tmp_path / rel).is_file(), rel
    assert not list(tmp_path.rglob("*.tmp"))
    summary = json.loads((tmp_path / "summary.json").read_text())
    (entry,) = summary["analyses"]
    assert entry["name"] == "overall_cr" and entry["status"] == "PASSED"
    assert entry["sampler"]["seed"] == 11
    # the spec by its path as given and its checksum, not a path of this machine
    assert entry["spec"] == "models/overall_cr.toml"
    assert entry["spec_sha256"] == hashlib.sha256(
        (ROOT / "models" / "overall_cr.toml").read_bytes()).hexdigest()
    assert str(ROOT) not in (tmp_path / "summary.json").read_text()
    assert set(entry["diagnostics"]) == {"uniform", "jeffreys", "sceptical", "enthusiastic"}
    res = entry["results"]["sceptical"]["phase_2"]
    for key in ("mean", "median", "eti_low", "eti_high", "hdi_low", "hdi_high", "P(p>0.1)", "P(p>0.275)"):
        assert 0 <= res[key] <= 1
    # Beta(2, 18) + 14/44 -> Beta(16, 48): mean 0.25
    assert res["mean"] == pytest.approx(0.25, abs=0.01)
    html = (tmp_path / "report.html").read_text()
    for piece in ["Question.", "Priors", "Diagnostics gate", "Published result beside the posterior",
                  "data:image/png;base64,", "39 (27–51)", "Published numbers reproduced"]:
        assert piece in html, piece

    idata = az.from_netcdf(tmp_path / "idata" / "overall_cr.nc")
    assert idata.posterior["p"].dims == ("chain", "draw", "prior_set", "population")
    assert idata.posterior.attrs["seed"] == 11
    assert idata.posterior.attrs["data_sha256"] == entry["data_sha256"]


@pytest.mark.slow
@pytest.mark.e2e
def test_failed_gate_is_reported_as_failed_and_exits_nonzero(capsys, tmp_path):
    code, out, err = run_cli(
        capsys, "run", "--out", str(tmp_path), "--draws", "30", "--tune", "30", "models/overall_cr.toml"
    )
    assert code == 1
    assert "FAILED  overall_cr" in out
    assert "FAILED the diagnostics gate" in err
    entry = json.loads((tmp_path / "summary.json").read_text())["analyses"][0]
    assert entry["status"] == "FAILED"
    assert all(v is None for v in entry["results"].values())  # no numbers for failed fits
    failed = entry["diagnostics"]["uniform"]
    assert failed["status"] == "FAILED"
    ess = next(c for c in failed["checks"] if c["name"] == "ess_bulk_min")
    assert ess["passed"] is False and ess["value"] < 400
    html = (tmp_path / "report.html").read_text()
    assert "did not pass the diagnostics gate" in html
    assert "Posterior summaries" not in html


def test_check_constructs_the_model_for_every_prior_set(capsys, tmp_path):
    """A prior set that does not fit its model is a spec error of ``check`` (exit 2)."""
    head = '[analysis]\nname = "{name}"\ntitle = "t"\nquestion = "q"\nmodel = "{model}"\n'
    mismatch = tmp_path / "mismatch.toml"
    mismatch.write_text(
        head.format(name="mismatch", model="subgroups")
        + '[data]\nfactor = "phase"\n[options]\npooling = "partial"\n'
        + '[priors.good]\nmu = { family = "normal", mu = -0.85, sigma = 1.5 }\n'
        + 'tau = { family = "half_normal", sigma = 1.0 }\n'
        + '[priors.flat_p]\np = { family = "beta", alpha = 1, beta = 1 }\n'
    )
    code, out, err = run_cli(capsys, "check", str(mismatch))
    assert code == 2
    assert f"{mismatch}: key 'priors.flat_p': " in err
    assert "pooling 'partial' needs priors for exactly ['mu', 'tau']" in err
    assert "Traceback" not in err + out
    short = tmp_path / "short.toml"
    short.write_text(
        head.format(name="short", model="response_categories") + "[data]\n"
        + '[priors.six]\ntheta = { family = "dirichlet", a = [1, 1, 1, 1, 1, 1] }\n'
    )
    code, _, err = run_cli(capsys, "check", str(short))
    assert code == 2
    assert f"{short}: key 'priors.six': theta.a: the Dirichlet prior has 6" in err
    code, out, _ = run_cli(capsys, "check", "models/subgroups_phase.toml",
                           "models/response_categories.toml")
    assert code == 0
    assert "subgroups_phase.toml: subgroups, 2 prior set(s)" in out
    assert "response_categories.toml: response_categories, 2 prior set(s)" in out


def test_published_percentage_without_ci_is_shown_without_nan():
    """The report's 'published % (95% CI)' column: no "(nan–nan)" where no CI is printed."""



    assert published_cell({"published_pct": 39.0, "published_ci_low": 27.0,
                           "published_ci_high": 51.0}) == "39 (27–51)"
    assert published_cell({"published_pct": 6.0, "published_ci_low": float("nan"),
                           "published_ci_high": float("nan")}) == "6"
    assert published_cell({"published_pct": float("nan")}) == "–"
    assert published_cell({}) == "–"

    spec = load_spec("models/response_categories.toml")
    ref = ResponseCategoriesModel.from_spec(spec).reference_table()
    summary = pd.DataFrame({"prior_set": "flat", "population": ref["population"],
                            "mean": 0.3, "eti_low": 0.2, "eti_high": 0.4})
    result = SimpleNamespace(reference=ref,
                             summary_table=lambda: summary)
    cells = side_by_side(result).set_index("population")["published % (95% CI)"]
    assert not cells.str.contains("nan").any()
    assert cells["P(CR)"] == "39 (27–51)"
    pct = ref.set_index("population")["published_pct"]
    no_ci = ref.set_index("population")["published_ci_low"].isna() & pct.notna()
    assert no_ci.any()  # Table 2 prints category percentages without CIs
    for population in no_ci[no_ci].index:
        assert cells[population] == f"{pct[population]:g}"


def test_default_specs_are_named_by_their_place_in_models_not_by_a_machine_path(tmp_path):
    spec = load_spec(DEFAULT_SPEC_DIR / "overall_cr.toml")
    assert spec.source_path == "models/overall_cr.toml"
    assert spec.source_sha256 == hashlib.sha256(
        (DEFAULT_SPEC_DIR / "overall_cr.toml").read_bytes()).hexdigest()
    own = tmp_path / "overall_cr.toml"
    own.write_text((DEFAULT_SPEC_DIR / "overall_cr.toml").read_text())
    assert load_spec(own).source_path == str(own)


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_jobs_must_be_a_whole_number_of_at_least_one(capsys, tmp_path, jobs):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--jobs", jobs, "--out", str(tmp_path / "out"), "overall_cr"])
    assert exc.value.code == 2
    assert f"--jobs: must be a whole number >= 1 (got '{jobs}')" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("args", "backends"), [
    ([], ("nutpie", "pymc")),                       # the spec's own choice
    (["--sampler", "pymc"], ("pymc",)),              # --sampler: every fit, comparisons too
    (["--sampler", "nutpie"], ("nutpie",)),
])
def test_sampler_override_covers_the_comparison_fits(monkeypatch, tmp_path, args, backends):
    seen = []

    def record(specs, **kwargs):
        seen.extend(s.sampler.backends() for s in specs)
        raise SystemExit(0)

    monkeypatch.setattr(cli, "run_analyses", record)
    with pytest.raises(SystemExit):
        main(["run", *args, "--out", str(tmp_path / "out"), "survival_os"])
    assert seen == [backends]
