"""The escalation simulator: against exact enumeration, its seeds, its clock and its inputs."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from typing import ClassVar

import distributed
import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy.stats import binom

from bayesblina.core.parallel import local_cluster
from bayesblina.design.escalation import (
    ALL_TOO_TOXIC,
    BOIN,
    CONTINUE,
    MAX_N,
    Decision,
    ThreePlusThree,
    Trials,
)
from bayesblina.design.simulation import (
    Scenario,
    SimulationResult,
    _BatchTask,
    oc_figure,
    simulate,
    simulate_batch,
    trial_draws,
)
from bayesblina.errors import SpecError

P = [0.05, 0.15, 0.3, 0.45, 0.6]
SCEN = Scenario("mid", P, target=0.3)


@dataclass(frozen=True)
class LastCohort:
    """Test-local design: escalate after 0 DLTs in the last cohort, stay after 1,
    de-escalate after >= 2 (stop with no MTD at the lowest level); stop at ``max_n``.
    ``selected`` is the level the rule would give next."""

    n_levels: int
    max_n: int = 12
    cohort_size: int = 3
    start_level: int = 0
    tite: bool = False
    window: float | None = None
    name: ClassVar[str] = "last-cohort"

    def decide(self, trials: Trials) -> Decision:
        b = trials.batch_size
        enrolled = trials.enrolled_mask.sum(axis=1)
        c = trials.current
        cols = enrolled[:, None] - self.cohort_size + np.arange(self.cohort_size)
        got = cols >= 0
        dlt = np.take_along_axis(trials.dlt, np.clip(cols, 0, None), axis=1) & got
        y = np.where(enrolled > 0, dlt.sum(axis=1), 0)
        nxt = np.where(y == 0, np.minimum(c + 1, self.n_levels - 1), np.where(y == 1, c, c - 1))
        nxt = np.where(enrolled == 0, c, nxt)
        none = (enrolled > 0) & (y >= 2) & (c == 0)
        at_max = ~none & (enrolled >= self.max_n)
        reason = np.full(b, CONTINUE, dtype=object)
        reason[at_max] = MAX_N
        reason[none] = ALL_TOO_TOXIC
        stop = none | at_max
        return Decision(np.where(stop, -1, nxt), stop, np.where(none, -1, nxt), reason)

    def next_dose(self, history) -> dict:
        return self.decide(Trials.from_history(history, self.max_n, self.start_level)).row(0)


@dataclass(frozen=True)
class Fixed(LastCohort):
    """Every patient at the start level (a non-adaptive design)."""

    name: ClassVar[str] = "fixed"

    def decide(self, trials: Trials) -> Decision:
        stop = trials.enrolled_mask.sum(axis=1) >= self.max_n
        return Decision(np.where(stop, -1, trials.current), stop, trials.current,
                        np.where(stop, MAX_N, CONTINUE).astype(object))


@dataclass(frozen=True)
class Recorder(LastCohort):
    """A TITE design that keeps every state it was asked about (to check the clock)."""

    tite: bool = True
    window: float | None = 28.0
    seen: list = field(default_factory=list, compare=False)
    name: ClassVar[str] = "recorder"

    def decide(self, trials: Trials) -> Decision:
        self.seen.append(trials)
        return super().decide(trials)


def exact_oc(design, p) -> dict[str, np.ndarray]:
    """Selection probabilities (index 0: none, then levels) and mean patients and DLTs per
    level, by enumerating every outcome of every cohort through ``next_dose``."""
    k = design.n_levels
    out = {"select": np.zeros(k + 1), "n": np.zeros(k), "y": np.zeros(k)}

    def walk(history, prob):
        dec = design.next_dose(history)
        if dec["stop"]:
            out["select"][dec["selected"] + 1] += prob
            for lv, n, y in history:
                out["n"][lv] += prob * n
                out["y"][lv] += prob * y
            return
        lv = dec["next_level"]
        size = min(design.cohort_size, design.max_n - sum(c[1] for c in history))
        for y in range(size + 1):
            walk([*history, (lv, size, y)], prob * binom.pmf(y, size, p[lv]))

    walk([], 1.0)
    return out


def assert_matches_exact(res: SimulationResult, design_label: str, exact, n_trials: int):
    sel = res.selection[res.selection["design"] == design_label].sort_values("level")
    z = (sel["prob"].to_numpy() - exact["select"]) / np.sqrt(
        np.maximum(exact["select"] * (1 - exact["select"]), 1e-12) / n_trials)
    assert np.all(np.abs(z) < 4), z
    pat = res.patients[res.patients["design"] == design_label].sort_values("level")
    for col, key in (("n", "n"), ("dlt", "y")):
        mean, se = pat[f"mean_{col}"].to_numpy(), pat[f"se_{col}"].to_numpy()
        ok = np.abs(mean - exact[key]) < 4 * np.maximum(se, 1e-9)
        assert ok.all(), (col, mean, exact[key], se)


def run(designs, scenarios=SCEN, n=2000, seed=3, **kw) -> SimulationResult:
    kw.setdefault("progress", False)
    return simulate(designs, scenarios, n, seed, workers=1, **kw)


# -- against exact enumeration ----------------------------------------------------------


def test_deterministic_design_matches_exact_enumeration():
    design = LastCohort(5, max_n=12)
    exact = exact_oc(design, P)
    assert exact["select"].sum() == pytest.approx(1.0)
    n_trials = 8000
    res = run(design, n=n_trials, seed=11)
    assert_matches_exact(res, "last-cohort", exact, n_trials)


def test_three_plus_three_matches_exact_enumeration():
    design = ThreePlusThree(5)
    exact = exact_oc(design, P)
    assert exact["select"].sum() == pytest.approx(1.0)
    n_trials = 8000
    res = run(design, n=n_trials, seed=5)
    assert_matches_exact(res, "3+3", exact, n_trials)
    # the stopping reasons of the 3+3: its rule, or no MTD
    stop = res.stopping.set_index("reason")["prob"]
    assert stop["rule"] + stop["all_too_toxic"] == pytest.approx(1.0)
    assert stop["all_too_toxic"] == pytest.approx(exact["select"][0], abs=4 * np.sqrt(
        exact["select"][0] / n_trials))


def test_boin_matches_exact_enumeration():
    design = BOIN(5, 0.3, max_n=12)
    exact = exact_oc(design, P)
    n_trials = 8000
    res = run(design, n=n_trials, seed=7)
    assert_matches_exact(res, "BOIN", exact, n_trials)


# -- seeds, batches and common random numbers -------------------------------------------


def test_same_seed_same_result_and_batch_layout_does_not_matter():
    designs = [LastCohort(5), BOIN(5, 0.3, max_n=12)]
    a = run(designs, n=1000, seed=2, batch_size=1000)
    b = run(designs, n=1000, seed=2, batch_size=100)
    c = run(designs, n=1000, seed=2, batch_size=333)
    for other in (b, c):
        assert a.trials.equals(other.trials)
        assert a.summary.equals(other.summary)
    assert not a.trials.equals(run(designs, n=1000, seed=3).trials)


def test_a_dask_cluster_gives_the_same_trials_as_one_process():
    """Issue 13: the results for a seed are the same whatever the backend or worker count."""
    designs = [BOIN(5, 0.3, max_n=12), ThreePlusThree(5)]
    here = simulate(designs, SCEN, 1200, 5, workers=1, batch_size=300, progress=False)
    with (local_cluster(2) as cluster,
          distributed.Client(cluster, set_as_default=False) as client):
        on_client = simulate(designs, SCEN, 1200, 5, client=client, batch_size=300,
                             progress=False)
        by_address = simulate(designs, SCEN, 1200, 5, scheduler=cluster.scheduler_address,
                              batch_size=300, progress=False)
    for other in (on_client, by_address):
        assert here.trials.equals(other.trials)
        assert here.summary.equals(other.summary)


def test_trial_seeds_are_the_spawned_children():
    draws = trial_draws(9, [0, 4], 5)
    children = np.random.SeedSequence(9).spawn(5)
    for row, i in enumerate((0, 4)):
        ref = np.random.default_rng(children[i]).random(15).reshape(5, 3)
        np.testing.assert_array_equal(draws[row], ref)
    # patient j's numbers do not depend on how many patients are drawn
    np.testing.assert_array_equal(trial_draws(9, [4], 8)[0, :5], draws[1])


def test_batches_concatenate_to_one_batch_and_task_pickles():
    designs = (LastCohort(5),)
    whole = simulate_batch(designs, SCEN, 4, 0, 300, 300)
    parts = [simulate_batch(designs, SCEN, 4, i, 70, 300) for i in range(5)]
    for name in whole:
        axis = 0 if name == "trial" else 1
        np.testing.assert_array_equal(whole[name], np.concatenate([p[name] for p in parts],
                                                                  axis=axis))
    task = _BatchTask(designs, (SCEN,), 4, 70, 300, None, None)
    again = pickle.loads(pickle.dumps(task))
    for name, value in task(3).items():
        np.testing.assert_array_equal(value, again(3)[name])


def test_out_dir_batches_are_reused(tmp_path):
    calls = []
    first = run(LastCohort(5), n=300, batch_size=100, out_dir=tmp_path / "sim",
                progress=lambda done, total: calls.append(done))
    assert sorted(p.name for p in (tmp_path / "sim").glob("batch_*.npz")) == [
        "batch_00000.npz", "batch_00001.npz", "batch_00002.npz"]
    calls.clear()
    again = run(LastCohort(5), n=300, batch_size=100, out_dir=tmp_path / "sim",
                progress=lambda done, total: calls.append(done))
    assert calls == [3]  # every batch read back, none computed
    assert first.trials.equals(again.trials)


def test_identical_designs_give_identical_trials():
    res = run({"a": BOIN(5, 0.3, max_n=12), "b": BOIN(5, 0.3, max_n=12)}, n=500)
    a = res.trials[res.trials["design"] == "a"].drop(columns="design").reset_index(drop=True)
    b = res.trials[res.trials["design"] == "b"].drop(columns="design").reset_index(drop=True)
    assert a.equals(b)
    # default labels of repeated names are made unique
    assert run([LastCohort(5), LastCohort(5)], n=10).designs == ("last-cohort", "last-cohort (2)")


def test_adding_a_design_does_not_change_the_others():
    alone = run(LastCohort(5, max_n=12), n=400)
    both = run([LastCohort(5, max_n=12), BOIN(5, 0.3, max_n=30)], n=400)
    mine = both.trials[both.trials["design"] == "last-cohort"].reset_index(drop=True)
    assert alone.trials.equals(mine)


def test_tolerance_coupling():
    low = Scenario("low", P, target=0.3)
    high = Scenario("high", [min(1.0, x + 0.1) for x in P], target=0.3)
    # a patient has a DLT at their level exactly when their tolerance is below p_true
    out = simulate_batch((LastCohort(5),), low, 1, 0, 500, 500, keep_patients=True)
    lv, tox, u = out["level"][0], out["tox"][0], out["draws"][:, :, 0]
    on = lv >= 0
    np.testing.assert_array_equal(tox[on], u[on] < np.asarray(P)[lv[on]])
    # a design whose doses do not depend on the outcomes: raising every p_true never
    # lowers a trial's DLT count (an adaptive design may treat later patients lower)
    res = run(Fixed(5, start_level=2), [low, high], n=2000)
    t = res.trials
    y_low = t[t["scenario"] == "low"]["dlt_total"].to_numpy()
    y_high = t[t["scenario"] == "high"]["dlt_total"].to_numpy()
    assert (y_high >= y_low).all() and (y_high > y_low).any()
    # adaptive: the first cohort (same level in both scenarios) obeys it too
    a = simulate_batch((LastCohort(5),), low, 1, 0, 500, 500, keep_patients=True)
    b = simulate_batch((LastCohort(5),), high, 1, 0, 500, 500, keep_patients=True)
    assert (b["tox"][0][:, :3].sum(axis=1) >= a["tox"][0][:, :3].sum(axis=1)).all()


# -- the clock ---------------------------------------------------------------------------


def test_non_tite_waits_for_each_cohort_and_duration():
    rate, window = 0.5, 28.0
    design = Fixed(5, max_n=6)
    out = simulate_batch((design,), SCEN, 8, 0, 50, 50, rate, window, keep_patients=True)
    gaps = -np.log1p(-out["draws"][:, :6, 1]) / rate
    entry = np.empty((50, 6))
    opened = np.zeros(50)
    last = np.zeros(50)
    for j in range(6):
        if j % 3 == 0 and j > 0:
            opened = last + window  # the previous cohort's window ends: the trial reopens
        last = np.maximum(last, opened) + gaps[:, j]
        entry[:, j] = last
    np.testing.assert_allclose(out["entry"][0], entry)
    np.testing.assert_allclose(out["end"][0], entry[:, 5] + window)
    res = run(design, n=200, accrual_rate=rate, window=window)
    assert res.summary["duration_mean"].iloc[0] == pytest.approx(
        run(design, n=200, accrual_rate=rate, window=window).trials["duration"].mean())
    assert np.isnan(run(design, n=20).summary["duration_mean"].iloc[0])


def test_tite_decides_at_arrival_with_follow_up_fractions():
    rate, window = 0.2, 28.0
    design = Recorder(5, max_n=9)
    out = simulate_batch((design,), SCEN, 8, 0, 40, 40, rate, window, keep_patients=True)
    entry, tox = out["entry"][0], out["tox"][0]
    dlt_time = entry + out["draws"][:, :9, 2] * window
    gaps = -np.log1p(-out["draws"][:, :9, 1]) / rate
    np.testing.assert_allclose(entry, np.cumsum(gaps, axis=1))  # never suspended
    # first interim decision: at patient 3's arrival, on patients 0..2
    first = design.seen[0]
    t = entry[:, 3]
    obs = tox[:, :3] & (dlt_time[:, :3] <= t[:, None])
    np.testing.assert_array_equal(first.dlt, obs)
    frac = np.clip((t[:, None] - entry[:, :3]) / window, 0, 1)
    np.testing.assert_allclose(first.weight, np.where(obs, 1.0, frac))
    assert (first.weight < 1).any()  # some follow-up is partial at 0.2 patients a day
    # the final decision is on complete follow-up
    final = design.seen[-1]
    assert (final.weight[final.level >= 0] == 1).all()


# -- results -----------------------------------------------------------------------------


def test_summary_tables_json_and_figure():
    s2 = Scenario("toxic", [0.5, 0.6, 0.7, 0.8, 0.9], target_interval=(0.2, 0.35))
    res = run([LastCohort(5), BOIN(5, 0.3, max_n=12)], [SCEN, s2], n=300,
              accrual_rate=1.0, window=28.0)
    assert len(res.summary) == 4 and len(res.selection) == 4 * 6 and len(res.patients) == 20
    for _, grp in res.selection.groupby(["design", "scenario"]):
        assert grp["prob"].sum() == pytest.approx(1.0)
    tox = res.summary[res.summary["scenario"] == "toxic"]
    # no acceptable level: correct = no selection; every level an overdose
    np.testing.assert_allclose(tox["p_correct"], tox["p_none"])
    np.testing.assert_allclose(tox["mean_frac_overdosed"], 1.0)
    data = json.loads(res.to_json())
    assert {"settings", "summary", "selection", "patients", "stopping"} <= set(data)
    fig = oc_figure(res)
    assert isinstance(fig, Figure) and len(fig.axes) == 4


def test_scenario_derived_mtd_and_sets():
    s = Scenario("s", [0.05, 0.12, 0.25, 0.4], target_interval=(0.16, 0.33))
    assert (s.mtd, s.acceptable) == (2, (2,))
    assert s.overdose.tolist() == [False, False, False, True]
    assert Scenario("t", [0.1, 0.2, 0.35], target=0.25).mtd == 1  # tie -> lower level
    assert Scenario("e", [0.4, 0.5], target_interval=(0.2, 0.3)).mtd == -1
    assert Scenario("x", [0.1, 0.3, 0.2], true_mtd=1, allow_non_monotone=True).acceptable == (1,)


# -- bad inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"probabilities": [0.1, 1.2]}, r"probabilities = .*1\.2 lies outside \[0, 1\]"),
    ({"probabilities": [0.3, 0.1]}, "non-decreasing"),
    ({"probabilities": []}, "non-empty"),
    ({"probabilities": [0.1, 0.2], "target": None}, "give target, target_interval or true_mtd"),
    ({"probabilities": [0.1, 0.2], "true_mtd": 2}, r"true_mtd = 2 is invalid"),
    ({"probabilities": [0.1, 0.2], "target_interval": (0.3, 0.2)}, "target_interval"),
    ({"probabilities": [0.1, 0.2], "labels": ["a"]}, "one label per level"),
])
def test_bad_scenario(kwargs, match):
    args = {"target": 0.3, **kwargs}
    with pytest.raises(SpecError, match=match):
        Scenario("bad", **args)


def test_bad_simulation_arguments():
    with pytest.raises(SpecError, match="has 3 probabilities: it must have one per dose level"):
        run(LastCohort(5), Scenario("short", [0.1, 0.2, 0.3], target=0.2))
    with pytest.raises(SpecError, match="n_trials = 0 is invalid"):
        run(LastCohort(5), n=0)
    with pytest.raises(SpecError, match="TITE design: give accrual_rate"):
        run(Recorder(5))
    with pytest.raises(SpecError, match=r"window = 14\.0 is invalid"):
        run(Recorder(5), accrual_rate=1.0, window=14.0)
    with pytest.raises(SpecError, match="must be an escalation design"):
        run(["not a design"])
    with pytest.raises(SpecError, match="same levels"):
        run([LastCohort(5), LastCohort(4)])
