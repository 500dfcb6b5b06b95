"""Design studies as specs: the default specs run, their numbers are the engines', bad input
is one line naming the file and the key.

Every check is exact (no MCMC): the default design specs are exact computations only.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import tomllib
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from bayesblina.data import load_table2_proportions
from bayesblina.data.design import load_phase2_design
from bayesblina.design import (
    BetaMixture,
    MonitoringDesign,
    PosteriorRule,
    monitoring_oc,
    monitoring_search,
    simon_admissible,
    simon_best_by_n,
    simon_compare,
    simon_oc_table,
    single_arm_assurance,
)
from bayesblina.design.assurance import (
    DifferenceRule,
    FisherRule,
    analysis_time,
    arm_scales,
    expected_events_per_draw,
    two_arm_assurance,
)
from bayesblina.design.priors import ess, follow_up_oc, power_prior, robustify
from bayesblina.design.studies import (
    DEFAULT_DESIGN_DIR,
    KINDS,
    PARAMS,
    DesignResult,
    Execution,
    check_design_analyses,
    design_spec_from_options,
    discover_design_specs,
    find_design_spec,
    is_design_spec,
    keys_table,
    load_design_spec,
    load_design_specs,
    option_fields,
    parse_design_spec,
    run_design,
)
from bayesblina.errors import SpecError
from tests.design.survival_fake import default_fake, fake_survival

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "models" / "design"
DEFAULT_SPECS = sorted(SPEC_DIR.glob("*.toml"))


def half_up(x: float, decimals: int) -> float:
    q = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))


def analyses_for(spec) -> dict:
    """The run's analyses a study reads: a stand-in survival fit for ``survival_analysis``."""
    return {} if spec.needs_analysis is None else {spec.needs_analysis: default_fake()}


@pytest.fixture(scope="module")
def results() -> dict[str, DesignResult]:
    out = {}
    for p in DEFAULT_SPECS:
        spec = load_design_spec(p)
        # one process: the simulated study's numbers do not depend on it (test_simulation)
        out[p.stem] = run_design(spec, analyses=analyses_for(spec),
                                 execution=Execution(workers=1))
    return out


def phase2_cr() -> tuple[int, int]:
    t = load_table2_proportions()
    row = t[(t["population"] == "phase_2") & (t["quantity"] == "cr")].iloc[0]
    return int(row["x"]), int(row["n"])


def raw_spec(name: str) -> dict:
    return tomllib.loads((SPEC_DIR / f"{name}.toml").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------
# The default specs
# --------------------------------------------------------------------------------------


def test_the_default_specs_cover_the_kinds_and_are_packaged():
    assert [p.name for p in DEFAULT_SPECS] == [
        "assurance_followup.toml", "assurance_os_followup.toml", "escalation_rerun.toml",
        "phase2_bayes_followup.toml", "phase2_simon.toml", "prior_from_trial.toml"]
    assert DEFAULT_DESIGN_DIR.resolve() == SPEC_DIR.resolve()
    assert discover_design_specs() == [DEFAULT_DESIGN_DIR / p.name for p in DEFAULT_SPECS]
    assert sorted({load_design_spec(p).kind for p in DEFAULT_SPECS}) == sorted(KINDS)
    # `bayesblina run` globs models/*.toml for analyses: the design specs are not among them
    assert not list((ROOT / "models").glob("phase2_*.toml"))
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "design/*.toml" in pyproject["tool"]["setuptools"]["package-data"]["bayesblina.models"]


def test_the_default_specs_compute_no_mcmc():
    for p in DEFAULT_SPECS:
        spec = load_design_spec(p)
        assert not (spec.kind == "prior" and spec.params.is_map), p.name


@pytest.mark.parametrize("path", DEFAULT_SPECS, ids=lambda p: p.stem)
def test_every_default_spec_runs(path, results):
    result = results[path.stem]
    assert result.status == ("SIMULATED" if result.spec.kind == "escalation" else "EXACT")
    assert result.passed
    assert result.spec.source_path == f"models/design/{path.name}"
    assert result.tables and all(isinstance(t, pd.DataFrame) and not t.empty
                                 for t in result.tables.values())
    assert result.finding.endswith(".") and result.finding.count(". ") == 0  # one sentence
    json.dumps(result.summary, allow_nan=False)  # JSON-able, no NaN
    assert result.figure is not None and result.figure.startswith(b"\x89PNG")
    entry = result.entry()
    assert entry["spec_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert all(v.startswith(f"tables/design_{path.stem}_") and v.endswith(".csv")
               for v in entry["tables"].values())
    assert len(set(entry["tables"].values())) == len(entry["tables"])
    text = result.to_text()
    assert result.finding in text and all(f"{t}:" in text for t in result.tables)


def test_the_trial_facts_are_data_of_the_specs():
    """The counts and the design in the specs are the packaged published numbers."""
    x, n = phase2_cr()
    for name in ("prior_from_trial", "assurance_followup"):
        section = raw_spec(name)[load_design_spec(SPEC_DIR / f"{name}.toml").kind]
        assert (section["x"], section["n"]) == (x, n), name
    d = load_phase2_design()
    simon = raw_spec("phase2_simon")["simon"]
    assert (simon["p0"], simon["p1"], simon["alpha"], simon["power"]) == (
        d.p0, d.p1, d.alpha_one_sided, d.power)
    assert simon["design"] == [d.reference.r1, d.n1, d.reference.r, d.n]


def test_the_trial_design_row_is_the_published_reference(results):
    d = load_phase2_design()
    ref = d.reference
    given = results["phase2_simon"].tables["designs"].iloc[0]
    assert given["design"] == "given"
    assert (given["r1"], given["n1"], given["r"], given["n"]) == (ref.r1, d.n1, ref.r, d.n)
    assert half_up(given["alpha"], ref.decimals["attained_alpha"]) == ref.attained_alpha
    assert half_up(given["power"], ref.decimals["power"]) == ref.power
    assert half_up(given["pet0"], ref.decimals["pet0"]) == ref.pet0
    assert half_up(given["en0"], ref.decimals["en0"]) == ref.en0
    summary = results["phase2_simon"].summary["given"]
    assert summary["dominated"] and not summary["admissible"] and summary["feasible"]


def test_simon_numbers_are_the_engines(results):
    p = raw_spec("phase2_simon")["simon"]
    res = results["phase2_simon"]
    direct = simon_compare(tuple(p["design"]), p["p0"], p["p1"], p["alpha"], p["power"],
                           p["nmax"])
    designs = res.tables["designs"]
    pd.testing.assert_frame_equal(designs.drop(columns="boundaries"), direct.table)
    assert res.summary["verdict"] == direct.verdict
    hull = simon_admissible(p["p0"], p["p1"], p["alpha"], p["power"], p["nmax"])
    assert res.summary["minimax"]["en0"] == hull.iloc[0]["en0"]
    assert res.summary["optimal"]["n"] == hull.iloc[-1]["n"]
    per_n = simon_best_by_n(p["p0"], p["p1"], p["alpha"], p["power"], p["nmax"])
    pd.testing.assert_frame_equal(res.tables["best design per n"].drop(columns="boundaries"),
                                  per_n)
    oc = res.tables["operating characteristics"]
    given = oc[oc["design"] == "given"].drop(columns=["design", "boundaries"])
    d = direct.table.iloc[0]
    expected = simon_oc_table(d, p["rates"])
    pd.testing.assert_frame_equal(given.reset_index(drop=True), expected)
    assert res.finding.startswith("The given design 2/21, 8/40 (attained one-sided alpha "
                                  f"{d['alpha']:.4f}")


def test_bayes_numbers_are_the_engines(results):
    p = raw_spec("phase2_bayes_followup")["bayes"]
    res = results["phase2_bayes_followup"]
    search = monitoring_search(
        p["p0"], p["p1"], p["alpha"], p["power"], prior=(p["prior"]["a"], p["prior"]["b"]),
        rule=p["rule"], nmax_min=p["nmax_min"], nmax_cap=p["nmax_cap"],
        first_look=p["first_look"], look_every=p["look_every"])
    d = search.design
    s = res.summary["design"]
    assert (s["nmax"], s["theta_t"], s["theta_l"], tuple(s["looks"])) == (
        d.nmax, d.theta_t, d.theta_l, d.looks)
    oc = monitoring_oc(d, p["rates"])
    pd.testing.assert_frame_equal(res.tables["operating characteristics"], oc.table)
    pd.testing.assert_frame_equal(res.tables["decision boundaries"], oc.boundaries)
    assert res.summary["at_p0"]["success"] == pytest.approx(search.oc.table["success"][0],
                                                           abs=1e-15)
    assert res.summary["at_p0"]["success"] <= p["alpha"]
    assert res.summary["at_p1"]["success"] >= p["power"]
    assert res.summary["searched"] == search.searched
    assert res.summary["feasible"] == len(search.feasible)
    best = res.tables["best feasible designs"]
    assert best.iloc[0]["nmax"] == d.nmax and len(best) <= 20
    assert not best.duplicated(["nmax", "alpha", "power", "en0"]).any()


def test_prior_numbers_are_the_engines(results):
    p = raw_spec("prior_from_trial")["prior"]
    res = results["prior_from_trial"]
    pp = power_prior(p["x"], p["n"], p["discount"], p["a0"], p["b0"])
    rob = robustify(pp, p["robust_weight"], (p["vague"]["a"], p["vague"]["b"]))
    assert res.summary["priors"]["power prior"]["a"] == pp.a.tolist()
    assert res.summary["priors"]["robust mixture"]["weights"] == pytest.approx(
        rob.weights.tolist(), abs=0)
    table = res.tables["effective sample sizes"].set_index(["prior", "method"])["ess"]
    for name, mix in (("power prior", pp), ("robust mixture", rob)):
        for method in p["ess_methods"]:
            assert table[(name, method)] == ess(mix, method)
    # the Morita ESS of the uniform is undefined at the mode (no interior mode): NaN + reason
    uniform = res.tables["effective sample sizes"].set_index(["prior", "method"])
    assert math.isnan(uniform.loc[("vague", "morita"), "ess"])
    assert "Morita ESS undefined" in uniform.loc[("vague", "morita"), "note"]
    assert uniform.loc[("vague", "elir"), "ess"] == 0.0
    oc = res.tables["follow-up operating characteristics"]
    for name, mix in (("power prior", pp), ("robust mixture", rob)):
        direct = follow_up_oc(mix, p["n_new"], p["p0"], p["threshold"], p["true_rates"])
        mine = oc[oc["prior"] == name].drop(columns="prior").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, direct)
    # the conflict rates: the power prior puts less than 5% on one side of them
    conflict = res.summary["follow_up"]["conflict_rates"]
    cdf = {r: float(pp.cdf(r)) for r in p["true_rates"]}
    assert conflict == [r for r in p["true_rates"] if cdf[r] < 0.05 or cdf[r] > 0.95]
    assert conflict  # borrowing the trial conflicts with some plausible new populations
    # borrowing inflates the type I error of the follow-up; the robust mixture less so
    at_p0 = res.summary["follow_up"]["success_at_p0"]
    assert at_p0["vague"] < at_p0["robust mixture"] < at_p0["power prior"]


def test_assurance_numbers_are_the_engines(results):
    p = raw_spec("assurance_followup")["assurance"]
    res = results["assurance_followup"]
    prior = BetaMixture.beta(1 + p["x"], 1 + p["n"] - p["x"])
    rule = PosteriorRule(p["p0"], p["threshold"], BetaMixture.beta(1.0, 1.0))
    direct = single_arm_assurance(prior, p["n_new"], rule)
    assert res.summary["assurance"] == direct.probability
    assert res.summary["critical_responders"] == direct.critical
    pred = res.tables["predictive distribution"]
    np.testing.assert_array_equal(pred["probability"], direct.predictive)
    by_n = res.tables["assurance by n"].set_index("n_new")
    assert list(by_n.index) == p["n_grid"]
    for n in p["n_grid"]:
        assert by_n.loc[n, "assurance"] == single_arm_assurance(prior, n, rule).probability
    # assurance averages the power over the design prior: below the power at its mean here
    assert res.summary["assurance"] < res.summary["power_at_prior_mean"]


# --------------------------------------------------------------------------------------
# Bad input: one line, naming the file, the key and what is allowed
# --------------------------------------------------------------------------------------


def write(tmp_path: Path, raw_text: str, name: str = "study") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(raw_text, encoding="utf-8")
    return path


def spec_text(kind: str, body: str, name: str = "study") -> str:
    return (f'[design]\nname = "{name}"\ntitle = "t"\nquestion = "q"\nkind = "{kind}"\n\n'
            f"[{kind}]\n{body}\n")


SIMON = "p0 = 0.1\np1 = 0.275\nalpha = 0.025\npower = 0.8\n"
BAYES = "p0 = 0.1\np1 = 0.3\nalpha = 0.05\npower = 0.8\nnmax_min = 10\nnmax_cap = 40\n"


def error_of(tmp_path: Path, kind: str, body: str, *, run: bool = False) -> str:
    path = write(tmp_path, spec_text(kind, body))
    with pytest.raises(SpecError) as exc:
        spec = load_design_spec(path)
        if run:
            run_design(spec, figure=False)
    msg = str(exc.value)
    # one line per problem (several only where several values are wrong), each naming the file
    assert all(line.startswith(f"{path}: ") and "key '" in line for line in msg.splitlines()), msg
    return msg


@pytest.mark.parametrize(("kind", "body", "key"), [
    ("simon", "p0 = 0.3\np1 = 0.2\nalpha = 0.05\npower = 0.8", "simon.p1"),
    ("simon", "p0 = 0.2\np1 = 0.2\nalpha = 0.05\npower = 0.8", "simon.p1"),
    ("bayes", "p0 = 0.3\np1 = 0.25\nalpha = 0.05\npower = 0.8", "bayes.p1"),
])
def test_p0_at_or_above_p1_is_refused(tmp_path, kind, body, key):
    msg = error_of(tmp_path, kind, body)
    assert f"key '{key}': the target rate must exceed p0 = " in msg


@pytest.mark.parametrize("key", ["alpha", "power"])
@pytest.mark.parametrize("value", ["0.0", "1.0", "1.5", "-0.2"])
def test_alpha_and_power_outside_the_open_unit_interval_are_refused(tmp_path, key, value):
    body = SIMON.replace(f"{key} = ", f"{key} = {value}  # ")
    msg = error_of(tmp_path, "simon", body)
    assert f"key 'simon.{key}': must lie in (0, 1), ends excluded (got {float(value)!r})" in msg


def test_nmax_too_small_gives_the_smallest_n(tmp_path):
    msg = error_of(tmp_path, "simon", SIMON + "nmax = 30", run=True)
    assert "key 'simon.nmax': nmax = 30 is too small" in msg
    assert "the smallest n with a feasible design is 36: use nmax >= 36" in msg
    # the same design found with nmax = 36: the message told the truth
    assert simon_admissible(0.1, 0.275, 0.025, 0.8, 36).iloc[0]["n"] == 36


def test_a_given_design_larger_than_nmax_is_refused(tmp_path):
    msg = error_of(tmp_path, "simon", SIMON + "nmax = 38\ndesign = [2, 21, 8, 40]")
    assert "key 'simon.nmax': must be at least the given design's n = 40" in msg


@pytest.mark.parametrize(("body", "part"), [
    ("design = [2, 21, 8]", "key 'simon.design': must be four integers [r1, n1, r, n]"),
    ("design = [21, 21, 8, 40]", "key 'simon.design': r1 = 21 is invalid"),
])
def test_a_bad_given_design_names_the_key(tmp_path, body, part):
    assert part in error_of(tmp_path, "simon", SIMON + body, run=True)


@pytest.mark.parametrize(("mixture", "part"), [
    ("[{ weight = 1.2, a = 1.0, b = 1.0 }, { weight = -0.2, a = 2.0, b = 2.0 }]",
     "key 'bayes.mixture.0.weight': must lie in [0, 1] (got 1.2)"),
    ("[{ weight = 0.6, a = 1.0, b = 1.0 }, { weight = -0.2, a = 2.0, b = 2.0 }]",
     "key 'bayes.mixture.1.weight': must lie in [0, 1] (got -0.2)"),
    ("[{ weight = 0.5, a = 1.0, b = 1.0 }, { weight = 0.4, a = 2.0, b = 2.0 }]",
     "key 'bayes.mixture': the weights [0.5, 0.4] sum to 0.9; the weights of a mixture must "
     "sum to 1"),
    ("[{ weight = 1.0, a = 0.0, b = 1.0 }]", "key 'bayes.mixture.0.a': must be a number > 0"),
])
def test_mixture_weights_outside_the_unit_interval_or_not_summing_to_one(tmp_path, mixture,
                                                                         part):
    assert part in error_of(tmp_path, "bayes", BAYES + f"mixture = {mixture}")


def test_a_mixture_in_the_assurance_design_prior_is_checked_too(tmp_path):
    body = ("mixture = [{ weight = 0.7, a = 15.0, b = 31.0 }, { weight = 0.2, a = 1.0, b = 1.0 }]"
            "\nn_new = 40\np0 = 0.1\nthreshold = 0.975")
    assert "key 'assurance.mixture': the weights [0.7, 0.2] sum to 0.9" in error_of(
        tmp_path, "assurance", body)


@pytest.mark.parametrize("value", ["-0.1", "1.5"])
@pytest.mark.parametrize("kind", ["prior", "assurance"])
def test_a_discount_outside_the_unit_interval_is_refused(tmp_path, kind, value):
    rest = "" if kind == "prior" else "\nn_new = 40\np0 = 0.1\nthreshold = 0.975"
    msg = error_of(tmp_path, kind, f"x = 14\nn = 44\ndiscount = {value}{rest}")
    assert f"key '{kind}.discount': must lie in [0, 1] (got {value})" in msg


TTE = ("endpoint = \"time_to_event\"\nhazard_ratio = 0.7\nlog_hr_mean = -0.3\nlog_hr_sd = 0.2\n"
       "weibull_shape = 1.2\nweibull_scale = 10.0\n")


@pytest.mark.parametrize(("accrual", "key", "value"), [
    ("[{ duration = 12.0, rate = 0.0 }]", "accrual.0.rate", "0.0"),
    ("[{ duration = 12.0, rate = 4.0 }, { duration = 6.0, rate = -2.0 }]", "accrual.1.rate",
     "-2.0"),
    ("[{ duration = 0.0, rate = 4.0 }]", "accrual.0.duration", "0.0"),
])
def test_non_positive_accrual_is_refused(tmp_path, accrual, key, value):
    msg = error_of(tmp_path, "assurance", TTE + f"accrual = {accrual}")
    assert f"key 'assurance.{key}': must be a number > 0 (got {value})" in msg


@pytest.mark.parametrize(("kind", "body", "part"), [
    ("simon", SIMON + "nmx = 60", "unknown key 'simon.nmx'; allowed keys: p0, p1, alpha"),
    ("simon", 'p0 = "0.1"\np1 = 0.3\nalpha = 0.05\npower = 0.8',
     "key 'simon.p0': must be a number (got '0.1', a string)"),
    ("simon", "p0 = 0.1\np1 = 0.3\npower = 0.8", "missing required key 'simon.alpha'"),
    ("bayes", BAYES + "theta_t = 0.9", "key 'bayes.theta_t': is not allowed in a search"),
    ("bayes", "p0 = 0.1\nnmax = 30\ntheta_l = 0.05", "key 'bayes.theta_t': is required for a "
                                                     "given design"),
    ("bayes", "p0 = 0.1\np1 = 0.3\nalpha = 0.05", "key 'bayes.power': is required for a design"),
    ("bayes", BAYES + "prior = { a = 1.0, b = 1.0 }\nmixture = [{ weight = 1.0, a = 1.0, "
                      "b = 1.0 }]", "key 'bayes.mixture': give prior or mixture, not both"),
    ("prior", "x = 14\nn = 44", "key 'prior.discount': is required for a power prior"),
    ("prior", "x = 45\nn = 44\ndiscount = 0.5", "key 'prior.x': x = 45 exceeds n = 44"),
    ("prior", "x = [3, 5]\nn = [20, 30]", "key 'prior.tau_scale': is required for a MAP prior"),
    ("prior", "x = [3, 5]\nn = [20]\ntau_scale = 0.5", "key 'prior.n': x and n must give one"),
    ("prior", "x = 14\nn = 44\ndiscount = 0.5\np0 = 0.1", "key 'prior.p0': needs n_new"),
    ("prior", "x = 14\nn = 44\ndiscount = 0.5\nn_new = 30", "key 'prior.p0': is required with "
                                                           "n_new"),
    ("assurance", "n_new = 40\np0 = 0.1\nthreshold = 0.9",
     "key 'assurance.x': the design prior is missing"),
    ("assurance", "x = 14\nn = 44\nn_new = 40\nrule = \"responders\"",
     "key 'assurance.min_responders': is required for rule = 'responders'"),
    ("assurance", TTE.replace("hazard_ratio = 0.7", "hazard_ratio = 1.0"),
     "key 'assurance.hazard_ratio': a trial cannot be sized for HR = 1"),
    ("assurance", TTE + "n_new = 40", "key 'assurance.n_new': is not allowed with endpoint = "
                                      "'time_to_event'"),
])
def test_other_bad_keys_name_the_key(tmp_path, kind, body, part):
    assert part in error_of(tmp_path, kind, body)


def test_a_search_without_a_feasible_design_names_nmax_cap(tmp_path):
    msg = error_of(tmp_path, "bayes", BAYES.replace("nmax_cap = 40", "nmax_cap = 12"), run=True)
    assert "key 'bayes.nmax_cap': no feasible design with nmax <= nmax_cap = 12" in msg


@pytest.mark.parametrize(("text", "part"), [
    ('[design]\nname = "study"\ntitle = "t"\nquestion = "q"\nkind = "simon"\n',
     "missing required table [simon]"),
    ('[simon]\np0 = 0.1\n', "missing required table [design]"),
    (spec_text("simon", SIMON) + "\n[bayes]\np0 = 0.1\n",
     "unknown table [bayes] in a design spec of kind = 'simon'"),
    (spec_text("simon", SIMON).replace('kind = "simon"', 'kind = "frequentist"'),
     "key 'design.kind': must be 'simon', 'bayes', 'prior', 'assurance' or 'escalation'"),
    (spec_text("simon", SIMON, name="other"), "key 'design.name': must equal the file name"),
    (spec_text("simon", SIMON.replace("0.025", "inf")), "key 'simon.alpha': must be a finite"),
    ("[design\n", "not valid TOML"),
])
def test_bad_files_are_one_line_naming_the_file(tmp_path, text, part):
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as exc:
        load_design_spec(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: ") and part in msg and "\n" not in msg


def test_a_missing_file_and_two_specs_of_one_name_are_refused(tmp_path):
    with pytest.raises(SpecError, match="spec file not found"):
        load_design_spec(tmp_path / "nope.toml")
    a = write(tmp_path, spec_text("simon", SIMON))
    sub = tmp_path / "sub"
    sub.mkdir()
    b = write(sub, spec_text("simon", SIMON))
    with pytest.raises(SpecError, match="design name 'study' also used by"):
        load_design_specs([a, b])


# --------------------------------------------------------------------------------------
# Finding specs; the command line's options; other kinds of study
# --------------------------------------------------------------------------------------


def test_design_specs_are_told_from_analysis_specs(tmp_path):
    assert all(is_design_spec(p) for p in DEFAULT_SPECS)
    assert not is_design_spec(ROOT / "models" / "overall_cr.toml")
    assert not is_design_spec(write(tmp_path, "not [toml", name="broken"))
    assert not is_design_spec(tmp_path / "missing.toml")
    assert find_design_spec("phase2_simon") == DEFAULT_DESIGN_DIR / "phase2_simon.toml"
    assert find_design_spec("overall_cr") is None
    assert find_design_spec(DEFAULT_SPECS[0]) == DEFAULT_SPECS[0]
    assert discover_design_specs(tmp_path / "none") == []


@pytest.mark.parametrize("kind", KINDS)
def test_every_key_is_an_option_and_documented(kind):
    fields = option_fields(kind)
    assert [f.key for f in fields] == list(PARAMS[kind].model_fields)
    assert all(f.help for f in fields)
    table = keys_table(kind)
    assert list(table["key"]) == [f.key for f in fields]
    assert (table["meaning"] != "").all()
    forms = {f.key: f.form for f in fields}
    if kind == "bayes":
        assert forms["prior"] == "table" and forms["mixture"] == "tables"
        assert forms["rule"] == "choice" and forms["rates"] == "numbers"
        assert forms["looks"] == "integers" and forms["nmax"] == "integer"
    if kind == "prior":
        assert forms["ess_methods"] == "choices" and forms["map_constrain_gt1"] == "flag"
        assert forms["x"] == "integers"


def test_options_take_the_same_validation_and_give_the_same_numbers(results):
    spec = design_spec_from_options("simon", copy.deepcopy(raw_spec("phase2_simon")["simon"]))
    assert spec.source_path == "bayesblina design simon" and spec.key_prefix == ()
    res = run_design(spec, figure=False)
    assert res.figure is None
    pd.testing.assert_frame_equal(res.tables["designs"],
                                  results["phase2_simon"].tables["designs"])
    with pytest.raises(SpecError, match=r"^bayesblina design simon: key 'p1': the target rate"):
        design_spec_from_options("simon", {**raw_spec("phase2_simon")["simon"], "p1": 0.05})


def test_a_given_bayes_design_is_the_engines():
    spec = design_spec_from_options("bayes", {
        "p0": 0.2, "nmax": 40, "theta_t": 0.9, "theta_l": 0.05, "looks": [10, 20, 30],
        "prior": {"a": 0.2, "b": 0.8}, "rates": [0.2, 0.4]})
    res = run_design(spec, figure=False)
    d = MonitoringDesign(nmax=40, p0=0.2, theta_t=0.9, theta_l=0.05, looks=(10, 20, 30),
                         prior=(0.2, 0.8))
    pd.testing.assert_frame_equal(res.tables["operating characteristics"],
                                  monitoring_oc(d, [0.2, 0.4]).table)
    assert "best feasible designs" not in res.tables and res.summary["searched"] is None
    assert "given" in res.finding


def test_a_simon_study_without_a_given_design_lists_the_admissible_ones():
    res = run_design(design_spec_from_options(
        "simon", {"p0": 0.2, "p1": 0.4, "alpha": 0.1, "power": 0.9}), figure=False)
    assert res.tables["designs"]["boundaries"].tolist() == ["3/19, 10/36", "3/17, 10/37"]
    assert res.summary["given"] is None
    assert "minimax design 3/19, 10/36" in res.finding


def test_the_time_to_event_assurance_is_the_engines():
    spec = design_spec_from_options("assurance", {
        "endpoint": "time_to_event", "hazard_ratio": 0.7, "log_hr_mean": -0.3,
        "log_hr_sd": 0.2, "accrual": [{"duration": 12.0, "rate": 4.0},
                                      {"duration": 12.0, "rate": 8.0}],
        "weibull_shape": 1.0, "weibull_scale": 10.0, "calendar_times": [12.0, 24.0, 60.0]})
    res = run_design(spec, figure=False)
    s = res.summary
    assert s["events"] == math.ceil(s["schoenfeld_events"])
    # the closed form of O'Hagan et al. (2005) for a normal design prior, 1:1
    info = s["events"] / 4
    z = (0.3 * math.sqrt(info) - stats.norm.isf(0.025)) / math.sqrt(1 + info * 0.04)
    assert s["assurance"] == pytest.approx(stats.norm.cdf(z), rel=1e-12)
    # exponential arms under PH: E[events] of patients entering uniformly, closed form
    events = res.tables["expected events over calendar time"].set_index("calendar_time")
    lam_c, lam_e = 1 / 10.0, 0.7 / 10.0

    def expected(t: float, lam: float) -> float:  # rate 4 over [0, 12], then 8 over [12, 24]
        total = 0.0
        for start, rate in ((0.0, 4.0), (12.0, 8.0)):
            hi = min(max(t - start, 0.0), 12.0)
            # int_0^hi F(t - start - u) du, F(s) = 1 - exp(-lam s)
            s0 = t - start
            total += rate * (hi - (math.exp(-lam * (s0 - hi)) - math.exp(-lam * s0)) / lam)
        return total

    for t in (12.0, 24.0, 60.0):
        assert events.loc[t, "events_total"] == pytest.approx(
            0.5 * expected(t, lam_c) + 0.5 * expected(t, lam_e), rel=1e-10)
    # 144 patients cannot give 247 events
    assert s["analysis_time"] is None and "not expected" in res.finding


def test_the_responders_rule_and_a_robust_design_prior():
    res = run_design(design_spec_from_options("assurance", {
        "x": 14, "n": 44, "n_new": 40, "rule": "responders", "min_responders": 9,
        "robust_weight": 0.2}), figure=False)
    prior = robustify(power_prior(14, 44, 1.0), 0.2)
    y = np.arange(41)
    assert res.summary["assurance"] == pytest.approx(
        float(prior.predictive_pmf(40)[y >= 9].sum()), abs=1e-15)
    assert "succeeds with at least 9 responders" in res.finding


def test_parse_takes_a_parsed_document():
    spec = parse_design_spec(raw_spec("phase2_simon"), where="x.toml", text="t")
    assert spec.name == "phase2_simon" and spec.key("nmax") == "simon.nmax"
    with pytest.raises(SpecError, match=r"^x\.toml: a design spec must be a TOML table"):
        parse_design_spec([1, 2], where="x.toml")


# --------------------------------------------------------------------------------------
# The examples of docs/specs.md
# --------------------------------------------------------------------------------------

DOC_EXAMPLE = re.compile(r"^```toml\n# design example: (?P<kind>\S+)\n(?P<body>.*?)^```$",
                         re.MULTILINE | re.DOTALL)


def doc_examples() -> list[tuple[str, str]]:
    page = (ROOT / "docs" / "specs.md").read_text(encoding="utf-8")
    return [(m["kind"], m["body"]) for m in DOC_EXAMPLE.finditer(page)]


def test_the_specs_page_has_design_examples():
    assert {kind for kind, _ in doc_examples()} >= {"assurance", "prior", "escalation"}


@pytest.mark.parametrize(("kind", "body"), doc_examples(), ids=lambda v: v[:20])
def test_the_design_examples_of_the_specs_page_load(tmp_path, kind, body):
    name = tomllib.loads(body)["design"]["name"]
    spec = load_design_spec(write(tmp_path, body, name=name))
    assert spec.kind == kind
    if not (kind == "prior" and spec.params.is_map):  # a MAP prior is an MCMC fit
        result = run_design(spec, figure=False, execution=Execution(workers=1))
        assert result.status == ("SIMULATED" if kind == "escalation" else "EXACT")
        assert result.finding


@pytest.mark.mcmc
def test_a_map_prior_study_fits_passes_the_gate_and_agrees_with_the_quadrature(tmp_path):
    """The MAP example of docs/specs.md (the one kind of study that samples, by MCMC)."""
    (body,) = [b for kind, b in doc_examples() if kind == "prior"]
    spec = load_design_spec(write(tmp_path, body, name=tomllib.loads(body)["design"]["name"]))
    assert spec.params.is_map
    result = run_design(spec, figure=False)
    assert result.status == "PASSED", result.tables["MAP fit diagnostics"]
    check = result.tables["MAP check"].set_index("quantity")
    # the beta-mixture approximation of the MCMC draws against the MCMC-free quadrature
    assert abs(check.loc["mean", "beta mixture"] - check.loc["mean", "quadrature"]) < 0.01
    assert abs(check.loc["sd", "beta mixture"] - check.loc["sd", "quadrature"]) < 0.01
    mix = result.summary["priors"]["MAP prior"]
    assert all(a >= 1 for a in mix["a"]) and all(b >= 1 for b in mix["b"])  # ELIR defined
    assert result.summary["ess"]["MAP prior"]["elir"] > 0
    assert "MAP prior" in result.finding


# --------------------------------------------------------------------------------------
# Time to event from a survival analysis's posterior
# --------------------------------------------------------------------------------------

TTE_FROM_POSTERIOR = {
    "endpoint": "time_to_event", "hazard_ratio": 0.6, "log_hr_mean": -0.35, "log_hr_sd": 0.3,
    "accrual": [{"duration": 24.0, "rate": 6.0}], "survival_analysis": "survival_os",
    "survival_arm": "experimental", "calendar_times": [6.0, 24.0, 48.0]}


def test_both_arms_follow_proportional_hazards():
    k, lam, hr = np.array([0.7, 1.0, 1.6]), np.array([4.0, 10.0, 25.0]), 0.6
    t = 7.3
    for arm in ("control", "experimental"):
        given = lam
        c, e = arm_scales(k, given, hr, arm)
        assert np.allclose((c if arm == "control" else e), given)
        s_c, s_e = np.exp(-((t / c) ** k)), np.exp(-((t / e) ** k))
        assert np.allclose(s_e, s_c ** hr, rtol=1e-12)  # S_e = S_c^HR


def test_analysis_time_is_where_the_expected_events_reach_them():
    k, lam = np.array([0.8, 1.1, 1.5]), np.array([6.0, 11.0, 20.0])
    plan, hr, events = [(12.0, 3.0), (24.0, 6.0)], 0.6, 120.0
    got = analysis_time(k, lam, plan, events, hazard_ratio=hr, allocation=0.4,
                        arm="experimental", max_follow_up=30.0)
    c, e = arm_scales(k, lam, hr, "experimental")
    for i in range(k.size):
        def total(t, i=i):
            per = [expected_events_per_draw(k[i], s[i], plan, [t], 30.0)[0, 0] for s in (c, e)]
            return 0.6 * per[0] + 0.4 * per[1] - events
        assert got[i] == pytest.approx(optimize.brentq(total, 0.0, 200.0, xtol=1e-12),
                                       rel=1e-9)
    # more events than patients: never
    assert np.isnan(analysis_time(k, lam, plan, 200.0, hazard_ratio=hr)).all()


def test_a_study_from_a_survival_posterior_averages_over_its_draws():
    k, lam = np.array([0.9, 1.1, 1.3]), np.array([9.0, 11.0, 14.0])
    spec = design_spec_from_options("assurance", TTE_FROM_POSTERIOR)
    assert spec.needs_analysis == "survival_os"
    res = run_design(spec, figure=False, analyses={"survival_os": fake_survival(k, lam)})
    table = res.tables["expected events over calendar time"]
    # each draw alone: a fixed Weibull control arm (the experimental arm's scale turned into
    # the control's by the design HR), the same plan
    fixed = TTE_FROM_POSTERIOR | {"survival_analysis": None, "survival_arm": None}
    singles = []
    for ki, li in zip(k, lam, strict=True):
        opts = {key: v for key, v in fixed.items() if v is not None}
        opts |= {"weibull_shape": float(ki), "weibull_scale": float(li * 0.6 ** (1 / ki))}
        singles.append(run_design(design_spec_from_options("assurance", opts), figure=False))
    mean_total = np.mean([r.tables["expected events over calendar time"]["events_total"]
                          for r in singles], axis=0)
    assert np.allclose(table["events_total"], mean_total, rtol=1e-10)
    times = sorted(r.summary["analysis_time"] for r in singles)
    assert res.summary["analysis_time"] == pytest.approx(times[1], rel=1e-9)  # the median
    lo, hi = res.summary["analysis_time_interval"]
    # quantiles of the draws themselves: of three, the 2.5% and 97.5% are the extremes
    assert (lo, hi) == (pytest.approx(times[0], rel=1e-9), pytest.approx(times[2], rel=1e-9))
    assert res.summary["assurance"] == singles[0].summary["assurance"]  # the log-HR prior's
    assert res.summary["time_unit"] == "months" and "months" in res.finding
    assert "3 posterior draws of survival_os (weakly_informative)" in res.finding
    assert res.tables["probability of success"]["event model"].iloc[0].startswith(
        "experimental arm: 3 posterior draws")


def test_a_study_on_a_fit_that_failed_the_gate_reports_nothing():
    spec = design_spec_from_options("assurance", TTE_FROM_POSTERIOR)
    res = run_design(spec, analyses={"survival_os": fake_survival(1.0, 10.0, passed=False)})
    assert res.status == "FAILED" and not res.passed
    assert res.tables == {} and res.figure is None
    assert "FAILED the diagnostics gate" in res.finding
    json.dumps(res.summary, allow_nan=False)


@pytest.mark.parametrize(("change", "part"), [
    ({"weibull_shape": 1.0, "weibull_scale": 10.0}, "key 'weibull_shape'"),
    ({"accrual": None}, "key 'accrual'"),
])
def test_survival_analysis_rules(change, part):
    opts = {k: v for k, v in (TTE_FROM_POSTERIOR | change).items() if v is not None}
    with pytest.raises(SpecError, match=re.escape(part)):
        design_spec_from_options("assurance", opts)


def test_survival_keys_without_survival_analysis_are_refused():
    opts = {k: v for k, v in TTE_FROM_POSTERIOR.items() if k != "survival_analysis"}
    with pytest.raises(SpecError, match=r"key 'survival_arm'.*without survival_analysis"):
        design_spec_from_options("assurance", opts)


def test_an_analysis_not_in_the_run_or_a_wrong_prior_set_is_refused():
    spec = design_spec_from_options("assurance", TTE_FROM_POSTERIOR)
    with pytest.raises(SpecError, match=r"survival_analysis = 'survival_os' is not an "
                                        r"analysis of this run \(its analyses: none\)"):
        run_design(spec, figure=False)
    other = design_spec_from_options("assurance",
                                     TTE_FROM_POSTERIOR | {"survival_prior_set": "flat"})
    with pytest.raises(SpecError, match="'flat' is not a prior set of 'survival_os': allowed "
                                        "weakly_informative"):
        run_design(other, figure=False, analyses={"survival_os": default_fake()})
    # before any fit, against the run's specs
    os_spec = SimpleNamespace(analysis=SimpleNamespace(name="survival_os"),
                              priors={"weakly_informative": None})
    rfs_spec = SimpleNamespace(analysis=SimpleNamespace(name="survival_rfs"), priors={})
    check_design_analyses([spec], [os_spec])
    with pytest.raises(SpecError, match=r"key 'survival_analysis': 'survival_os' is not an "
                                        r"analysis of this run \(its analyses: survival_rfs\)"):
        check_design_analyses([spec], [rfs_spec])
    with pytest.raises(SpecError, match="key 'survival_prior_set': 'flat' is not a prior set"):
        check_design_analyses([other], [os_spec])


def test_the_default_tte_study_reads_the_os_analysis():
    spec = load_design_spec(SPEC_DIR / "assurance_os_followup.toml")
    assert spec.needs_analysis == "survival_os"
    assert (ROOT / "models" / "survival_os.toml").is_file()


# --------------------------------------------------------------------------------------
# Two arms, binary
# --------------------------------------------------------------------------------------

TWO_ARM = {"x": 14, "n": 44, "n_new": 30, "n_control": 30,
           "control_prior": {"a": 3.0, "b": 17.0}, "rule": "difference", "threshold": 0.9,
           "n_grid": [20, 30, 40]}


def test_a_two_arm_study_is_the_engines_double_sum():
    res = run_design(design_spec_from_options("assurance", TWO_ARM), figure=False)
    prior_e, prior_c = power_prior(14, 44, 1.0), BetaMixture.beta(3.0, 17.0)
    flat = BetaMixture.beta(1.0, 1.0)
    direct = two_arm_assurance(prior_e, prior_c, 30, 30, DifferenceRule(0.9, flat, flat))
    assert res.summary["assurance"] == direct.probability
    by_n = res.tables["assurance by n"].set_index("n_new")
    for n in (20, 40):
        assert by_n.loc[n, "assurance"] == two_arm_assurance(
            prior_e, prior_c, n, n, DifferenceRule(0.9, flat, flat)).probability
    # the predictive table sums to one; success if equal is a type I error-like figure
    pred = res.tables["experimental arm predictive distribution"]
    assert pred["probability"].sum() == pytest.approx(1.0, abs=1e-12)
    assert res.summary["success_if_equal"] < 0.15 < res.summary["assurance"]
    assert res.finding.startswith("A two-arm trial of 30 experimental and 30 control")


def test_a_two_arm_fisher_study_is_fishers_test():
    opts = {k: v for k, v in TWO_ARM.items() if k != "threshold"} | {
        "rule": "fisher", "fisher_alpha": 0.05, "n_new": 12, "n_control": 10, "n_grid": [12]}
    res = run_design(design_spec_from_options("assurance", opts), figure=False)
    # brute force: every outcome pair through scipy's Fisher test, weighted by the predictives
    prior_e, prior_c = power_prior(14, 44, 1.0), BetaMixture.beta(3.0, 17.0)
    pe, pc = prior_e.predictive_pmf(12), prior_c.predictive_pmf(10)
    total = 0.0
    for xe in range(13):
        for xc in range(11):
            pval = stats.fisher_exact([[xe, 12 - xe], [xc, 10 - xc]], alternative="greater")[1]
            total += pe[xe] * pc[xc] * (pval <= 0.05)
    assert res.summary["assurance"] == pytest.approx(total, rel=1e-12)
    assert res.summary["assurance"] == two_arm_assurance(
        prior_e, prior_c, 12, 10, FisherRule(0.05)).probability


@pytest.mark.parametrize(("change", "part"), [
    ({"control_prior": None}, "key 'control_prior': a two-arm trial needs one control"),
    ({"rule": "posterior", "threshold": None, "p0": 0.1},
     "key 'rule': rule = 'posterior' is a single-arm rule"),
    ({"n_control": None, "control_prior": None}, "key 'rule': rule = 'difference' compares two"),
    ({"n_control": None}, "key 'control_prior': is not allowed without n_control"),
    ({"rule": "fisher", "threshold": None}, "key 'fisher_alpha'"),
    ({"fisher_alpha": 0.05}, "key 'fisher_alpha'"),
    ({"delta": 1.0}, "key 'delta'"),
    ({"threshold": None}, "key 'threshold'"),
])
def test_two_arm_rules_name_the_key(change, part):
    opts = {k: v for k, v in (TWO_ARM | change).items() if v is not None}
    with pytest.raises(SpecError, match=re.escape(part)):
        design_spec_from_options("assurance", opts)
