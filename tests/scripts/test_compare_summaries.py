"""scripts/compare_summaries.py: two summary.json files compared number by number."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("compare_summaries",
                                               ROOT / "scripts" / "compare_summaries.py")
cs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cs)

BEFORE = {"provenance": {"created_at": "2026-01-01"},
          "analyses": [{"name": "a", "results": {"flat": {"p": {"mean": 0.39, "sd": 0.05}}},
                        "status": "PASSED", "decisions": {"flat": {"dose": None}}}]}


def _after(**changes):
    doc = json.loads(json.dumps(BEFORE))
    doc["provenance"]["created_at"] = "2026-12-31"  # provenance is never compared
    doc["analyses"][0]["results"]["flat"]["p"].update(changes)
    return doc


def test_identical_results_compare_equal_whatever_the_provenance():
    diff = cs.compare(BEFORE, _after())
    assert diff["changed"] == [] and diff["only_before"] == diff["only_after"] == []
    assert diff["compared"] == [5]  # name, mean, sd, status, dose


def test_a_changed_number_is_reported_with_its_path():
    diff = cs.compare(BEFORE, _after(mean=0.3900000001))
    assert diff["changed"] == [("analyses[a].results.flat.p.mean", 0.39, 0.3900000001)]
    assert cs.compare(BEFORE, _after(mean=0.3900000001), rtol=1e-6)["changed"] == []


def test_added_and_removed_values_are_listed():
    after = _after()
    del after["analyses"][0]["results"]["flat"]["p"]["sd"]
    after["analyses"][0]["results"]["flat"]["p"]["median"] = 0.38
    diff = cs.compare(BEFORE, after)
    assert diff["only_before"] == ["analyses[a].results.flat.p.sd"]
    assert diff["only_after"] == ["analyses[a].results.flat.p.median"]


def test_types_are_compared_too():
    assert not cs.equal(1, True, 0, 0) and not cs.equal(None, 0, 0, 0)
    assert cs.equal(float("nan"), float("nan"), 0, 0)


def test_command_line_exit_codes(tmp_path, capsys):
    a, b, bad = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "bad.json"
    a.write_text(json.dumps(BEFORE))
    b.write_text(json.dumps(_after(sd=0.06)))
    bad.write_text("{not json")
    assert cs.main([str(a), str(a)]) == 0
    assert cs.main([str(a), str(b)]) == 1
    assert "changed  analyses[a].results.flat.p.sd: 0.05 -> 0.06" in capsys.readouterr().out
    assert cs.main([str(a), str(b), "--ignore", "sd"]) == 0
    assert cs.main([str(a), str(bad)]) == 2


def _with_mcse(mean, mcse, status="PASSED"):
    doc = json.loads(json.dumps(BEFORE))
    doc["analyses"][0]["status"] = status
    doc["analyses"][0]["results"]["flat"]["p"].update(mean=mean, mcse_mean=mcse)
    return doc


def test_means_within_k_combined_mcse_agree_and_outside_are_listed():
    # combined MCSE of 0.003 and 0.004 is 0.005: a difference of 0.014 is 2.8 of them
    res = cs.compare_mcse(_with_mcse(0.390, 0.003), _with_mcse(0.404, 0.004), 3)
    assert res["compared"] == 1 and res["outside"] == [] and res["z_max"] == pytest.approx(2.8)
    res = cs.compare_mcse(_with_mcse(0.390, 0.003), _with_mcse(0.406, 0.004), 3)
    assert [o[0] for o in res["outside"]] == ["analyses[a].results.flat.p.mean"]
    assert res["outside"][0][3] == pytest.approx(3.2)


def test_mcse_mode_fails_on_a_gate_failure_or_a_missing_mean(tmp_path):
    before, after = tmp_path / "b.json", tmp_path / "a.json"
    before.write_text(json.dumps(_with_mcse(0.39, 0.003)))
    after.write_text(json.dumps(_with_mcse(0.39, 0.003, status="FAILED")))
    assert cs.main([str(before), str(after), "--mcse", "3"]) == 1
    gone = _with_mcse(0.39, 0.003)
    del gone["analyses"][0]["results"]["flat"]["p"]["mean"]
    after.write_text(json.dumps(gone))
    assert cs.compare_mcse(_with_mcse(0.39, 0.003), gone, 3)["missing"] == [
        "analyses[a].results.flat.p.mean"]
    after.write_text(json.dumps(_with_mcse(0.391, 0.003)))
    assert cs.main([str(before), str(after), "--mcse", "3"]) == 0


def test_a_design_study_is_not_a_gate_failure():
    # design studies are exact computations (EXACT) or simulations (SIMULATED): no gate
    with_design = _with_mcse(0.39, 0.003)
    with_design["designs"] = [{"name": "phase2_simon", "status": "EXACT"},
                              {"name": "escalation_rerun", "status": "SIMULATED"}]
    assert cs.compare_mcse(with_design, with_design, 3)["not_passed"] == []
    with_design["designs"] = with_design["designs"][:1]
    with_design["designs"][0]["status"] = "FAILED"
    assert cs.compare_mcse(with_design, with_design, 3)["not_passed"] == [
        "designs[phase2_simon].status", "designs[phase2_simon].status"]
