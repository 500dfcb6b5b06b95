"""``bayesblina design ...`` and the design studies of ``bayesblina run`` / ``check``.

Each subcommand in text and ``--json``; bad input exits 2 with one line naming the option;
``design run`` on the default specs; ``run`` writes the studies into summary.json, CSVs and
the report (a run of design specs alone is exact and fast; with an analysis it is the e2e
test at the end).
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import sys
from html import escape as html_escape
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest

import bayesblina.cli as cli
from bayesblina.cli import main
from bayesblina.design import (
    BetaMixture,
    PosteriorRule,
    simon_compare,
    single_arm_assurance,
)
from bayesblina.design.priors import ess, power_prior
from bayesblina.design.studies import Execution, load_design_spec, run_design
from tests.design.survival_fake import default_fake, fake_survival

ROOT = Path(__file__).resolve().parents[1]
DESIGN_DIR = ROOT / "models" / "design"
DEFAULT = sorted(DESIGN_DIR.glob("*.toml"))
#: the default studies that need no analysis's fit (exact, seconds)
EXACT = [p for p in DEFAULT if load_design_spec(p).needs_analysis is None]

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@functools.cache
def _computed(path: Path):
    # in this process, one worker: the run simulated on every core, the numbers must not
    # differ; a study that reads no analysis is computed once for all the tests here
    return run_design(load_design_spec(path), figure=False, execution=Execution(workers=1))


def reference(path: Path, analyses: dict | None = None):
    """The study of ``path`` computed here (``analyses``: the posteriors it may read)."""
    if load_design_spec(path).needs_analysis is None:
        return _computed(path)
    return run_design(load_design_spec(path), figure=False, analyses=analyses,
                      execution=Execution(workers=1))


SIMON = ["--p0", "0.1", "--p1", "0.275", "--alpha", "0.025", "--power", "0.8", "--nmax", "60"]


def test_simon_text_and_json(capsys):
    code, out, err = run_cli(capsys, "design", "simon", *SIMON, "--design", "2", "21", "8", "40")
    assert code == 0, err
    assert "designs:" in out and "operating characteristics:" in out
    assert "given 2/21, 8/40" in out and "minimax 2/20, 7/36" in out
    assert out.rstrip().splitlines()[-1].startswith("Finding: The given design 2/21, 8/40")
    code, out, _ = run_cli(capsys, "design", "simon", *SIMON, "--design", "2", "21", "8", "40",
                           "--json")
    assert code == 0
    summary = json.loads(out)
    direct = simon_compare((2, 21, 8, 40), 0.1, 0.275, 0.025, 0.8, 60)
    assert summary["given"]["alpha"] == direct.table.iloc[0]["alpha"]
    assert summary["verdict"] == direct.verdict
    assert summary["minimax"]["boundaries"] == "2/20, 7/36"


def test_bayes_text_and_json(capsys):
    args = ["design", "bayes", "--p0", "0.2", "--nmax", "30", "--theta-t", "0.9",
            "--theta-l", "0.05", "--looks", "10", "20", "--prior", "0.5", "0.5",
            "--rates", "0.2", "0.4"]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "decision boundaries:" in out and "Finding: The predictive-probability design given" \
        in out
    code, out, _ = run_cli(capsys, *args, "--json")
    summary = json.loads(out)
    assert summary["design"] == {"nmax": 30, "theta_t": 0.9, "theta_l": 0.05, "theta_u": 1.0,
                                 "looks": [10, 20]}
    assert summary["prior"]["a"] == [0.5]
    assert 0 <= summary["at_p0"]["success"] <= 1


def test_bayes_search_from_options(capsys):
    code, out, err = run_cli(capsys, "design", "bayes", "--p0", "0.2", "--p1", "0.5",
                             "--alpha", "0.1", "--power", "0.8", "--nmax-min", "10",
                             "--nmax-cap", "25", "--first-look", "5", "--look-every", "5",
                             "--mixture", "0.5", "1", "1", "--mixture", "0.5", "2", "8",
                             "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["prior"]["weights"] == [0.5, 0.5]
    assert summary["at_p0"]["success"] <= 0.1 and summary["at_p1"]["success"] >= 0.8
    assert summary["searched"] > summary["feasible"] > 0


def test_prior_text_and_json(capsys):
    args = ["design", "prior", "--x", "14", "--n", "44", "--discount", "0.5",
            "--robust-weight", "0.2", "--n-new", "30", "--p0", "0.1", "--threshold", "0.975",
            "--true-rates", "0.05", "0.1", "0.3"]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "effective sample sizes:" in out and "prior-data conflict:" in out
    code, out, _ = run_cli(capsys, *args, "--json")
    summary = json.loads(out)
    assert summary["ess"]["power prior"]["elir"] == ess(power_prior(14, 44, 0.5), "elir")
    assert summary["follow_up"]["n_new"] == 30


def test_assurance_text_and_json(capsys):
    args = ["design", "assurance", "--x", "14", "--n", "44", "--n-new", "40", "--p0", "0.1",
            "--threshold", "0.975"]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "assurance by n:" in out and "Finding: A single-arm trial of 40 patients" in out
    code, out, _ = run_cli(capsys, *args, "--json")
    summary = json.loads(out)
    direct = single_arm_assurance(BetaMixture.beta(15, 31), 40,
                                  PosteriorRule(0.1, 0.975, BetaMixture.beta(1, 1)))
    assert summary["assurance"] == direct.probability


def test_time_to_event_assurance_from_options(capsys):
    code, out, err = run_cli(capsys, "design", "assurance", "--endpoint", "time_to_event",
                             "--hazard-ratio", "0.7", "--log-hr-mean", "-0.3",
                             "--log-hr-sd", "0.2", "--accrual", "12", "4", "--accrual", "12",
                             "8", "--weibull-shape", "1", "--weibull-scale", "10", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["events"] == 247.0 and 0 < summary["assurance"] < summary["power_at_design_hr"]


@pytest.mark.parametrize(("args", "message"), [
    (["simon", "--p0", "0.3", "--p1", "0.2", "--alpha", "0.05", "--power", "0.8"],
     "error: bayesblina design simon: option --p1: the target rate must exceed p0 = 0.3 "
     "(got 0.2)"),
    (["simon", "--p0", "0.1", "--p1", "0.275", "--alpha", "1.5", "--power", "0.8"],
     "error: bayesblina design simon: option --alpha: must lie in (0, 1), ends excluded "
     "(got 1.5)"),
    (["simon", *SIMON[:-1], "20"],
     "error: bayesblina design simon: option --nmax: nmax = 20 is too small: no two-stage "
     "design with n <= nmax has type I error <= alpha = 0.025 at p0 = 0.1 and power >= 0.8 at "
     "p1 = 0.275; the smallest n with a feasible design is 36: use nmax >= 36"),
    (["simon", "--p0", "0.1", "--p1", "0.3", "--alpha", "0.05"],
     "error: bayesblina design simon: missing required option --power"),
    (["bayes", "--p0", "0.1", "--p1", "0.3", "--alpha", "0.05", "--power", "0.8",
      "--mixture", "0.5", "1", "1", "--mixture", "0.4", "2", "2"],
     "error: bayesblina design bayes: option --mixture: the weights [0.5, 0.4] sum to 0.9; the "
     "weights of a mixture must sum to 1 (within 1e-09)"),
    (["bayes", "--p0", "0.1", "--p1", "0.3", "--alpha", "0.05", "--power", "0.8",
      "--mixture", "1.2", "1", "1"],
     "error: bayesblina design bayes: option --mixture [0.weight]: must lie in [0, 1] (got 1.2)"),
    (["prior", "--x", "14", "--n", "44", "--discount", "1.5"],
     "error: bayesblina design prior: option --discount: must lie in [0, 1] (got 1.5)"),
    (["assurance", "--endpoint", "time_to_event", "--hazard-ratio", "0.7", "--log-hr-mean",
      "-0.3", "--log-hr-sd", "0.2", "--accrual", "12", "0", "--weibull-shape", "1",
      "--weibull-scale", "10"],
     "error: bayesblina design assurance: option --accrual [0.rate]: must be a number > 0 "
     "(got 0.0)"),
])
def test_bad_options_exit_2_with_one_line(capsys, args, message):
    code, out, err = run_cli(capsys, "design", *args)
    assert code == 2
    assert err.strip() == message
    assert out == "" and "Traceback" not in err


@pytest.fixture
def fake_fits(monkeypatch) -> list:
    """``bayesblina design`` fits a study's survival analysis: a stand-in here (no MCMC)."""
    fitted: list = []

    def fake(spec, **kwargs):
        fitted.append(spec.analysis.name)
        return default_fake()

    monkeypatch.setattr(cli, "run_analysis", fake)
    return fitted


def analyses_for(path: Path) -> dict:
    name = load_design_spec(path).needs_analysis
    return {} if name is None else {name: default_fake()}


def test_design_run_on_the_default_specs(capsys, fake_fits):
    code, out, err = run_cli(capsys, "design", "run", *map(str, DEFAULT))
    assert code == 0, err
    # the one study that reads a posterior had its analysis fitted first, once
    assert fake_fits == ["survival_os"]
    assert "fitting survival_os for the design studies that read its posterior" in err
    for path in DEFAULT:
        spec = load_design_spec(path)
        assert f"== models/design/{path.name} ==" in out
        assert spec.design.title in out
    assert out.count("Finding: ") == len(DEFAULT)
    code, out, _ = run_cli(capsys, "design", "run", "--json", *(p.stem for p in DEFAULT))
    entries = json.loads(out)
    assert [e["name"] for e in entries] == [p.stem for p in DEFAULT]
    for entry, path in zip(entries, DEFAULT, strict=True):
        result = reference(path, analyses_for(path))
        assert entry["summary"] == json.loads(json.dumps(result.summary))
        assert entry["finding"] == result.finding
        assert entry["spec_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_design_spec_toml_is_short_for_design_run(capsys):
    code, out, _ = run_cli(capsys, "design", str(DESIGN_DIR / "phase2_simon.toml"), "--json")
    assert code == 0
    (entry,) = json.loads(out)
    assert entry["name"] == "phase2_simon" and entry["status"] == "EXACT"


def test_design_run_of_a_bad_file_exits_2_naming_file_and_key(capsys, tmp_path):
    bad = tmp_path / "bad_design.toml"
    bad.write_text('[design]\nname = "bad_design"\ntitle = "t"\nquestion = "q"\nkind = '
                   '"prior"\n[prior]\nx = 14\nn = 44\ndiscount = 1.5\n', encoding="utf-8")
    code, out, err = run_cli(capsys, "design", "run", str(bad))
    assert code == 2 and out == ""
    assert err.strip() == f"error: {bad}: key 'prior.discount': must lie in [0, 1] (got 1.5)"
    code, _, err = run_cli(capsys, "check", str(bad))
    assert code == 2 and "key 'prior.discount'" in err


def test_check_validates_the_default_design_specs(capsys):
    code, out, _ = run_cli(capsys, "check")
    assert code == 0
    for path in DEFAULT:
        kind = load_design_spec(path).kind
        assert f"ok  design study models/design/{path.name}: kind {kind}" in out
    # the installed-package test counts the analysis lines ("ok  models/..."): unchanged
    assert sum(ln.startswith("ok  models/") for ln in out.splitlines()) == len(
        list((ROOT / "models").glob("*.toml")))
    code, out, _ = run_cli(capsys, "check", "phase2_simon")
    assert code == 0 and out.strip() == ("ok  design study models/design/phase2_simon.toml: "
                                         "kind simon")


def test_a_run_of_design_specs_writes_them_into_the_outputs(capsys, tmp_path, monkeypatch):
    fitted: list = []
    real = cli.run_analyses

    def no_fits(specs, **kwargs):
        fitted.extend(specs)
        return real(specs, **kwargs)

    monkeypatch.setattr(cli, "run_analyses", no_fits)
    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, "run", "--out", str(out_dir), *(p.stem for p in EXACT))
    assert code == 0, err
    assert fitted == []  # design specs only: nothing is fitted
    for path in EXACT:
        status = "SIMULATED" if load_design_spec(path).kind == "escalation" else "EXACT"
        assert f"{status:6s}  {path.stem} (design study" in out
        assert f"design {path.stem} (" in err  # a progress line per study
    check_design_outputs(out_dir, [p.stem for p in EXACT])


def test_a_study_that_reads_an_analysis_not_in_the_run_stops_it_before_any_fit(
        capsys, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a fit started before the design specs were checked")

    monkeypatch.setattr(cli, "run_analyses", refuse)
    code, _, err = run_cli(capsys, "run", "--out", str(tmp_path / "out"), "overall_cr",
                           "assurance_os_followup")
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "error: models/design/assurance_os_followup.toml: key 'assurance.survival_analysis': "
        "'survival_os' is not an analysis of this run (its analyses: overall_cr); add that "
        "analysis's spec to the run")
    assert not (tmp_path / "out").exists()


def test_design_assurance_from_a_survival_analysis_on_the_command_line(capsys, fake_fits):
    args = ["design", "assurance", "--endpoint", "time_to_event", "--hazard-ratio", "0.6",
            "--log-hr-mean", "-0.35", "--log-hr-sd", "0.3", "--accrual", "36", "4",
            "--survival-analysis", "survival_os", "--survival-arm", "experimental", "--json"]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["event_arm"] == "experimental" and summary["time_unit"] == "months"
    assert summary["event_model"] == "400 posterior draws of survival_os (weakly_informative)"
    assert fake_fits == ["survival_os"]
    code, out, err = run_cli(capsys, *args[:-3], "--survival-analysis", "no_such", "--json")
    assert code == 2 and out == ""
    assert err.strip() == ("error: survival_analysis = 'no_such': no analysis spec no_such.toml "
                           "in the default specs: give --spec-dir with that analysis's spec")


def test_a_bad_design_spec_stops_a_run_before_any_fit(capsys, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a fit started before the design specs were checked")

    monkeypatch.setattr(cli, "run_analyses", refuse)
    bad = tmp_path / "tight.toml"
    bad.write_text('[design]\nname = "tight"\ntitle = "t"\nquestion = "q"\nkind = "simon"\n'
                   "[simon]\np0 = 0.1\np1 = 0.275\nalpha = 0.025\npower = 0.8\nnmax = 30\n",
                   encoding="utf-8")
    code, _, err = run_cli(capsys, "run", "--out", str(tmp_path / "out"), "overall_cr", str(bad))
    assert code == 2
    assert err.strip().splitlines()[-1].startswith(
        f"error: {bad}: key 'simon.nmax': nmax = 30 is too small")
    assert not (tmp_path / "out").exists()


def check_design_outputs(out_dir: Path, names: list[str],
                         analyses: dict | None = None) -> dict:
    summary = json.loads((out_dir / "summary.json").read_text())
    assert [d["name"] for d in summary["designs"]] == names
    html = (out_dir / "report.html").read_text()
    assert "<h2>Design studies</h2>" in html
    for entry in summary["designs"]:
        name = entry["name"]
        path = DESIGN_DIR / f"{name}.toml"
        result = reference(path, analyses)
        assert entry["spec"] == f"models/design/{name}.toml"
        assert entry["spec_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["kind"] == result.spec.kind and entry["finding"] == result.finding
        assert entry["summary"] == json.loads(json.dumps(result.summary))
        assert set(entry["tables"]) == set(result.tables)
        for title, rel in entry["tables"].items():
            csv = pd.read_csv(out_dir / rel)
            assert list(csv.columns) == [str(c) for c in result.tables[title].columns]
            assert len(csv) == len(result.tables[title])
        if result.passed:
            assert (out_dir / entry["figure"]).read_bytes().startswith(b"\x89PNG")
            for rel in entry["extra_figures"].values():
                assert (out_dir / rel).read_bytes().startswith(b"\x89PNG")
        assert f'<section class="design" id="design-{name}">' in html
        assert html_escape(result.finding) in html
    return summary


@pytest.mark.e2e
def test_run_writes_the_designs_beside_an_analysis(tmp_path):
    """Plumbing of a whole run (short chains: the gate may fail, exit 1 accepted).

    The analysis is survival_os, whose posterior one default study reads: that study is
    recomputed here from the written ``idata/survival_os.nc`` and must equal what was written.
    """
    out_dir = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "bayesblina.cli", "run", "survival_os",
         *(p.stem for p in DEFAULT), "--draws", "200", "--tune", "200", "--chains", "2",
         "--out", str(out_dir)],
        capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr
    idata = az.from_netcdf(out_dir / "idata" / "survival_os.nc")
    post = idata.posterior.sel(prior_set="weakly_informative")
    (entry,) = json.loads((out_dir / "summary.json").read_text())["analyses"]
    written = fake_survival(np.asarray(post["rho_"]).ravel(), np.asarray(post["lambda_"]).ravel(),
                            passed=entry["status"] == "PASSED")
    summary = check_design_outputs(out_dir, [p.stem for p in DEFAULT],
                                   analyses={"survival_os": written})
    assert [a["name"] for a in summary["analyses"]] == ["survival_os"]
    assert (out_dir / "tables" / "survival_os_posterior.csv").is_file()
    html = (out_dir / "report.html").read_text()
    assert html.count("<section id=") == 1  # the analyses' sections; the studies' are apart
