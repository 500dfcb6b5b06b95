"""Escalation design studies (``kind = "escalation"``): the spec, its posterior scenarios,
its bad input, and ``bayesblina design escalation``.

* the default study's posterior scenarios are the pointwise posterior quantiles of the BLRM
  analysis, checked against an independent brute-force quadrature on a fine grid;
* the study is the simulation the spec describes: designs and scenarios built by hand from
  the spec's numbers and simulated directly give the same tables;
* every bad input of issue 13 item 7 (and more) is one line naming the file and the key;
* the command line: ``--json``, ``--n-trials``/``--seed``, ``--out-dir`` (a rerun resumes
  and gives the same numbers), an unreachable ``--scheduler`` (exit 2), another kind refused.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import socket
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w

from bayesblina.analyses.dose_toxicity.blrm import BLRMModel
from bayesblina.analyses.dose_toxicity.tables import load_dose_toxicity_spec
from bayesblina.cli import main
from bayesblina.design.escalation import BLRM, BOIN, CRM, ThreePlusThree, Trials
from bayesblina.design.simulation import Scenario, simulate
from bayesblina.design.studies import (
    EscalationParams,
    Execution,
    load_design_spec,
    parse_design_spec,
    run_design,
    study_scenarios,
)
from bayesblina.errors import SpecError

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "models" / "design" / "escalation_rerun.toml"
ONE = Execution(workers=1)


def raw() -> dict:
    return tomllib.loads(SPEC.read_text(encoding="utf-8"))


def small(n_trials: int = 200):
    spec = load_design_spec(SPEC)
    return dataclasses.replace(spec, params=spec.params.model_copy(update={"n_trials": n_trials}))


# --------------------------------------------------------------------------------------
# Posterior scenarios against brute-force quadrature
# --------------------------------------------------------------------------------------


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(np.interp(q * cum[-1], cum, values[order]))


def test_posterior_scenarios_are_the_analysis_posterior_quantiles():
    """Independently: importance sampling from the prior, 2,000,000 draws weighted by the
    binomial likelihood (ESS ~ 10^5: quantile MC error ~ 2e-4, tolerance 1e-3)."""
    spec = load_design_spec(SPEC)
    p = spec.params
    src = p.posterior_scenarios
    analysis = load_dose_toxicity_spec(src.analysis)
    model = BLRMModel.from_spec(analysis, src.prior_set)
    prior = model.prior.theta
    data = model.data
    d_ref = analysis.options.d_ref
    (m1, m2), (s1, s2), r = prior.mean, prior.sd, prior.corr
    rng = np.random.default_rng(20161101)
    z = rng.standard_normal((2, 2_000_000))
    log_alpha = m1 + s1 * z[0]
    beta = np.exp(m2 + s2 * (r * z[0] + np.sqrt(1 - r**2) * z[1]))

    def log1m_p(dose: float) -> np.ndarray:  # log(1 - p(dose)) per draw
        return -np.logaddexp(0.0, log_alpha + beta * np.log(dose / d_ref))

    def log1m_regimen(periods, window: float) -> np.ndarray:
        return sum(days / window * log1m_p(dose) for dose, days in periods)

    window = 28.0  # the analysis's cycle-1 window: every cohort's regimen spans it
    logw = np.zeros_like(log_alpha)
    for periods, n, y in zip(data["periods"], data["patients"], data["dlts"], strict=True):
        l1m = log1m_regimen(periods, window)
        logw = logw + (n - y) * l1m
        if y:
            with np.errstate(divide="ignore"):  # p = 0 exactly far out: weight 0
                logw = logw + y * np.log(-np.expm1(l1m))
    w = np.exp(logw - logw.max())
    assert w.sum() ** 2 / (w**2).sum() > 50_000  # the effective sample size
    levels = [-np.expm1(log1m_regimen(reg, p.window)) for reg in p.regimens()]
    scenarios = {s.name: s for s in study_scenarios(spec)}
    checked = 0
    for q in src.quantiles:
        name = "posterior median" if q == 0.5 else f"posterior {100 * q:g}th percentile"
        want = [_weighted_quantile(v, w, q) for v in levels]
        got = scenarios[name].probabilities
        np.testing.assert_allclose(got, want, atol=1e-3)
        assert np.all(np.diff(got) > 0)  # levels ordered by dose: the curve increases
        checked += 1
    assert checked == 3
    # the given scenarios come first, as the spec lists them
    assert list(scenarios)[:2] == [s["name"] for s in raw()["escalation"]["scenarios"]]


# --------------------------------------------------------------------------------------
# The study is the simulation its spec describes
# --------------------------------------------------------------------------------------


def test_the_study_is_the_simulation_of_its_numbers():
    spec = small(300)
    result = run_design(spec, figure=False, execution=ONE)
    esc = raw()["escalation"]
    d = {x["type"]: x for x in esc["designs"]}
    regimen = [tuple(x) for x in esc["doses"][2]]
    doses = [esc["doses"][0], esc["doses"][1], regimen, esc["doses"][3]]
    designs = {
        "3+3": ThreePlusThree(4),
        "BOIN": BOIN(4, d["boin"]["target"], max_n=d["boin"]["max_n"]),
        "CRM": CRM(d["crm"]["skeleton"], d["crm"]["target"], max_n=d["crm"]["max_n"],
                   stop_if_p1_above=tuple(d["crm"]["stop_if_p1_above"])),
        "BLRM/EWOC": BLRM(doses, d_ref=d["blrm"]["d_ref"], mean=d["blrm"]["mean"],
                          sd=d["blrm"]["sd"], corr=d["blrm"]["corr"], max_n=d["blrm"]["max_n"],
                          ewoc=d["blrm"]["ewoc"], min_at_mtd=d["blrm"]["min_at_mtd"],
                          min_n=d["blrm"]["min_n"], window=esc["window"]),
    }
    scenarios = [Scenario(s.name, s.probabilities, target=esc["target"],
                          target_interval=tuple(esc["target_interval"]), labels=esc["levels"])
                 for s in study_scenarios(spec)]
    direct = simulate(designs, scenarios, 300, esc["seed"], accrual_rate=esc["accrual_rate"],
                      window=esc["window"], workers=1, progress=False)
    pd.testing.assert_frame_equal(result.tables["operating characteristics"], direct.summary)
    pd.testing.assert_frame_equal(result.tables["selection"], direct.selection)
    assert result.status == "SIMULATED" and result.passed
    assert result.summary["settings"]["n_trials"] == 300
    # the same seed gives the same numbers; another seed other numbers
    again = run_design(spec, figure=False, execution=ONE)
    assert again.summary == result.summary
    other = dataclasses.replace(spec, params=spec.params.model_copy(update={"seed": 1}))
    assert run_design(other, figure=False, execution=ONE).summary != result.summary


def test_the_study_tables_name_the_levels_and_the_pathways_start_at_the_start_dose():
    result = run_design(small(100), figure=True, execution=ONE)
    scen = result.tables["scenarios"]
    assert list(scen.columns[1:5]) == ["5", "15", "15/30", "30"]
    assert set(scen["acceptable"]) >= {"none"}  # the every-level-too-toxic scenario
    paths = result.tables["pathways"]
    assert set(paths["design"]) == {"3+3", "BOIN", "CRM", "BLRM/EWOC"}
    assert set(paths["level_1"]) == {"5"}  # every design starts at the lowest level
    # the 3+3 after 0/3 at 5 escalates to 15, after 2/3 stops
    first = paths[paths["design"] == "3+3"].drop_duplicates("dlt_1").set_index("dlt_1")
    assert first.loc[0, "next_1"] == "15" and bool(first.loc[2, "stop_1"])
    assert result.figure.startswith(b"\x89PNG")
    assert result.extra_figures["pathways"].startswith(b"\x89PNG")
    entry = result.entry()
    assert entry["extra_figures"] == {
        "pathways": "figures/design_escalation_rerun_pathways.png"}
    json.dumps(result.summary, allow_nan=False)


# --------------------------------------------------------------------------------------
# Bad input: one line naming the file and the key (issue 13 item 7)
# --------------------------------------------------------------------------------------


def _design(doc: dict, kind: str) -> dict:
    return next(d for d in doc["escalation"]["designs"] if d["type"] == kind)


def _set(path: tuple, value):
    def edit(doc: dict) -> None:
        node = doc["escalation"]
        for part in path[:-1]:
            node = _design(doc, part) if part in ("3+3", "boin", "crm", "blrm") else node[part]
        node[path[-1]] = value
    return edit


def _tite_without_accrual(doc: dict) -> None:
    del doc["escalation"]["accrual_rate"]
    _design(doc, "blrm")["tite"] = True


BAD = [
    (_set(("scenarios", 0, "probabilities"), [0.05, 0.2, 1.3, 0.45]),
     "key 'escalation.scenarios.0.probabilities'", "outside [0, 1]"),
    (_set(("scenarios", 0, "probabilities"), [0.05, 0.3, 0.2, 0.45]),
     "key 'escalation.scenarios.0.probabilities'", "non-decreasing"),
    (_set(("scenarios", 0, "probabilities"), [0.05, 0.2, 0.3]),
     "key 'escalation.scenarios.0.probabilities'", "one DLT probability per dose level (4)"),
    (_set(("boin", "cohort_size"), 0), "key 'escalation.designs.1.cohort_size'",
     "greater than or equal to 1"),
    (_set(("blrm", "max_n"), 0), "key 'escalation.designs.3.max_n'",
     "greater than or equal to 1"),
    (_set(("doses",), [5.0, 15.0, [[15.0, 7.0], [30.0, 0.0]], 30.0]),
     "key 'escalation.doses'", "days = 0.0: the days of a period must be > 0"),
    (_set(("doses",), [5.0, 15.0, [[15.0, 7.0], [30.0, -21.0]], 30.0]),
     "key 'escalation.doses'", "days = -21.0"),
    (_set(("doses",), [5.0, -15.0, [[15.0, 7.0], [30.0, 21.0]], 30.0]),
     "key 'escalation.doses'", "doses[1] = -15.0: a dose must be a number > 0"),
    (_set(("crm", "start_dose"), "10"), "key 'escalation.designs.2.start_dose'",
     "'10' is not a level: allowed 5, 15, 15/30, 30"),
    (_set(("blrm", "ewoc"), 1.2), "key 'escalation.designs.3.ewoc'", "(0, 1)"),
    (_set(("blrm", "ewoc"), 0.0), "key 'escalation.designs.3.ewoc'", "(0, 1)"),
    (_set(("blrm", "ewco"), 0.25), "unknown key 'escalation.designs.3.ewco'",
     "allowed keys: label, start_dose, type, d_ref"),
    (_set(("crm", "type"), "mtpi"), "key 'escalation.designs.2.type'",
     "unknown type 'mtpi'; allowed: '3+3', 'boin', 'crm', 'blrm'"),
    (_set(("crm", "skeleton"), [0.1, 0.2, 0.3]), "key 'escalation.designs.2.skeleton'",
     "one probability per level (4)"),
    (_set(("crm", "skeleton"), [0.1, 0.3, 0.2, 0.4]), "key 'escalation.designs.2.skeleton'",
     "strictly increasing"),
    (_tite_without_accrual, "key 'escalation.designs.3.tite'", "needs window and "
     "accrual_rate"),
    (_set(("blrm", "target_interval"), [0.33, 0.16]),
     "key 'escalation.designs.3.target_interval'", "two increasing probabilities"),
    (_set(("levels",), ["5", "15", "30"]), "key 'escalation.levels'", "one label per level"),
    (_set(("levels",), ["5", "15", "15", "30"]), "key 'escalation.levels'", "repeat"),
    (_set(("pathways_design",), "EWOC"), "key 'escalation.pathways_design'",
     "allowed 3+3, BOIN, CRM, BLRM/EWOC"),
    (_set(("n_trials",), 0), "key 'escalation.n_trials'", "greater than or equal to 1"),
    (_set(("n_trials",), 10.5), "key 'escalation.n_trials'", "must be an integer"),
]


@pytest.mark.parametrize(("edit", "key", "what"), BAD, ids=[f"{b[1]}-{b[2][:24]}" for b in BAD])
def test_bad_input_is_one_line_naming_the_key(edit, key, what):
    doc = copy.deepcopy(raw())
    edit(doc)
    with pytest.raises(SpecError) as info:
        parse_design_spec(doc, where="study.toml")
    msg = str(info.value)
    assert msg.startswith("study.toml: ") and "\n" not in msg, msg
    assert key in msg and what in msg, msg


def test_a_falling_scenario_is_allowed_with_the_flag():
    doc = copy.deepcopy(raw())
    doc["escalation"]["scenarios"][0]["probabilities"] = [0.05, 0.3, 0.2, 0.45]
    doc["escalation"]["scenarios"][0]["allow_non_monotone"] = True
    spec = parse_design_spec(doc, where="study.toml")
    assert isinstance(spec.params, EscalationParams)
    assert spec.params.scenarios[0].allow_non_monotone


def test_a_design_table_without_a_type_is_named():
    doc = copy.deepcopy(raw())
    del doc["escalation"]["designs"][1]["type"]
    with pytest.raises(SpecError, match=r"^study\.toml: missing required key "
                                        r"'escalation\.designs\.1\.type'$"):
        parse_design_spec(doc, where="study.toml")


def _write(tmp_path: Path, doc: dict, name: str = "study") -> Path:
    doc["design"]["name"] = name
    path = tmp_path / f"{name}.toml"
    path.write_bytes(tomli_w.dumps(doc).encode("utf-8"))
    return path


@pytest.mark.parametrize(("source", "what"), [
    ({"analysis": "no_such_analysis"}, "key 'escalation.posterior_scenarios.analysis': "
                                       "'no_such_analysis'"),
    ({"analysis": "dose_toxicity_crm"}, "needs a 'blrm' spec"),
    ({"analysis": "dose_toxicity_blrm", "prior_set": "flat"},
     "key 'escalation.posterior_scenarios.prior_set': 'flat' is not a prior set"),
])
def test_a_bad_posterior_source_is_named_when_the_spec_is_read(tmp_path, source, what):
    doc = copy.deepcopy(raw())
    doc["escalation"]["posterior_scenarios"] = source
    path = _write(tmp_path, doc)
    with pytest.raises(SpecError) as info:
        load_design_spec(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: ") and what in msg, msg


def test_a_posterior_source_path_is_read_from_the_spec_folder(tmp_path):
    doc = copy.deepcopy(raw())
    analysis = tmp_path / "own_blrm.toml"
    text = (ROOT / "models" / "dose_toxicity_blrm.toml").read_text(encoding="utf-8")
    analysis.write_text(text.replace('name = "dose_toxicity_blrm"', 'name = "own_blrm"'),
                        encoding="utf-8")
    doc["escalation"]["posterior_scenarios"]["analysis"] = "own_blrm.toml"
    spec = load_design_spec(_write(tmp_path, doc))
    want = [s.probabilities for s in study_scenarios(load_design_spec(SPEC))]
    assert [s.probabilities for s in study_scenarios(spec)] == want


# --------------------------------------------------------------------------------------
# bayesblina design escalation
# --------------------------------------------------------------------------------------


def _json(capsys, *argv: str) -> list[dict]:
    assert main(["design", "escalation", *argv, "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_json_with_overrides_and_a_resumable_out_dir(capsys, tmp_path):
    out = _json(capsys, "--n-trials", "60", "--seed", "7", "--workers", "1",
                "--out-dir", str(tmp_path))
    assert [e["name"] for e in out] == ["escalation_rerun"]
    entry = out[0]
    assert entry["status"] == "SIMULATED" and entry["kind"] == "escalation"
    assert entry["summary"]["settings"]["n_trials"] == 60
    assert entry["summary"]["settings"]["seed"] == 7
    batches = sorted((tmp_path / "escalation_rerun").glob("batch_*"))
    assert len(batches) == 5  # one batch per scenario
    # a rerun reads the finished batches back: the same numbers
    assert _json(capsys, "--n-trials", "60", "--seed", "7", "--workers", "1",
                 "--out-dir", str(tmp_path)) == out
    # the default spec by name, and no override: the spec's own n_trials
    spec = load_design_spec("escalation_rerun")
    assert spec.params.n_trials == raw()["escalation"]["n_trials"]


def test_cli_refuses_another_kind_and_an_unreachable_scheduler(capsys):
    assert main(["design", "escalation", "phase2_simon"]) == 2
    err = capsys.readouterr().err
    assert "models/design/phase2_simon.toml: key 'design.kind'" in err
    assert "bayesblina design run" in err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["design", "escalation", "--n-trials", "10", "--quiet",
                 "--scheduler", f"tcp://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in err
    assert err.count("\n") == 2  # the progress line and the one error line



def test_the_blrm_of_the_study_decides_on_regimens_as_importance_sampling_says():
    """An independent check of the stepwise level: the default study's BLRM after a history
    with DLTs at 15 and 15/30 — its interval probabilities per level (15/30 included) against
    importance sampling from the prior (1,000,000 draws), and the level EWOC then gives."""
    spec = load_design_spec(SPEC)
    design = spec.params.build()["BLRM/EWOC"]
    b = next(d for d in spec.params.designs if d.type == "blrm")
    history = [(0, 3, 0), (1, 3, 1), (2, 3, 1)]
    got = design.interval_probs(Trials.from_history(history, design.max_n))[0]
    rng = np.random.default_rng(2)
    z = rng.standard_normal((2, 1_000_000))
    log_alpha = b.mean[0] + b.sd[0] * z[0]
    beta = np.exp(b.mean[1] + b.sd[1] * z[1])  # corr = 0 in the spec
    assert b.corr == 0.0

    def p_level(periods) -> np.ndarray:
        l1m = sum(days / spec.params.window
                  * -np.logaddexp(0.0, log_alpha + beta * np.log(dose / b.d_ref))
                  for dose, days in periods)
        return -np.expm1(l1m)

    levels = [p_level(r) for r in spec.params.regimens()]
    logw = np.zeros_like(log_alpha)
    for level, n, y in history:
        p = levels[level]
        with np.errstate(divide="ignore"):  # p = 1 exactly far out: weight 0
            logw += y * np.log(p) + (n - y) * np.log1p(-p)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    lo, hi = b.target_interval
    want = np.array([[w[p < lo].sum(), w[(p >= lo) & (p <= hi)].sum(), w[p > hi].sum()]
                     for p in levels])
    np.testing.assert_allclose(got, want, atol=4e-3)
    # EWOC: admissible where P(over) < 0.25; the best P(target) up to one above the highest
    admissible = want[:, 2] < b.ewoc
    reach = np.arange(4) <= max(level for level, _, _ in history) + 1
    best = int(np.argmax(np.where(admissible & reach, want[:, 1], -1.0)))
    assert design.next_dose(history)["next_level"] == best
