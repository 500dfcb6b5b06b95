"""Dose-transition pathways: every outcome enumerated, each decision as ``next_dose`` gives it."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from bayesblina.design.escalation import BOIN, CRM, ThreePlusThree
from bayesblina.design.pathways import pathways_figure, transition_pathways
from bayesblina.errors import SpecError

SKELETON = [0.05, 0.12, 0.25, 0.40, 0.55]


def assert_agrees_with_next_dose(design, history, paths):
    """Each decision of each row equals ``next_dose`` called on that path alone."""
    n_cohorts = sum(1 for c in paths.columns if c.startswith("level_"))
    for rec in paths.to_dict("records"):
        cohorts = list(history)
        for i in range(1, n_cohorts + 1):
            if not rec[f"n_{i}"]:
                assert rec[f"stop_{i - 1}"]  # a path is cut only where the design stopped
                break
            if i == 1:
                assert rec["level_1"] == design.next_dose(cohorts)["next_level"]
            else:
                assert rec[f"level_{i}"] == rec[f"next_{i - 1}"]
            cohorts.append((rec[f"level_{i}"], rec[f"n_{i}"], rec[f"dlt_{i}"]))
            one = design.next_dose(cohorts)
            assert (rec[f"next_{i}"], rec[f"stop_{i}"], rec[f"reason_{i}"],
                    rec[f"selected_{i}"]) == (one["next_level"], one["stop"], one["reason"],
                                              one["selected"])


@pytest.mark.parametrize("n_cohorts", [1, 2, 3])
def test_rows_are_every_outcome_when_nothing_stops(n_cohorts):
    design = BOIN(5, 0.3, max_n=30)
    history = [(0, 3, 0), (1, 3, 0)]
    paths = transition_pathways(design, history, n_cohorts)
    assert not paths["stop"].any()
    assert len(paths) == (design.cohort_size + 1) ** n_cohorts
    assert paths["path"].is_unique
    assert_agrees_with_next_dose(design, history, paths)


def test_three_plus_three_from_the_start():
    design = ThreePlusThree(4)
    paths = transition_pathways(design, (), 2)
    # 2 or 3 DLTs in the first cohort at the lowest level: stop, no MTD (one row each)
    stopped = paths[paths["stop_1"]]
    assert stopped["dlt_1"].tolist() == [2, 3]
    assert (stopped["reason"] == "all_too_toxic").all() and (stopped["selected"] == -1).all()
    assert len(paths) == 2 * 4 + 2
    assert_agrees_with_next_dose(design, (), paths)


def test_crm_pathways_agree_with_next_dose():
    design = CRM(SKELETON, 0.25, max_n=24)
    history = [(0, 3, 0)]
    paths = transition_pathways(design, history, 2)
    assert_agrees_with_next_dose(design, history, paths)


def test_last_cohort_is_cut_at_max_n():
    design = BOIN(5, 0.3, max_n=7)
    paths = transition_pathways(design, [(0, 3, 0)], 2)
    assert set(paths["n_1"]) == {3} and set(paths["n_2"]) == {1}  # 3 + 3 + 1 = max_n
    assert len(paths) == 4 * 2 and (paths["reason"] == "max_n").all()
    assert_agrees_with_next_dose(design, [(0, 3, 0)], paths)


def test_figure():
    fig = pathways_figure(transition_pathways(ThreePlusThree(4), (), 2))
    assert isinstance(fig, Figure)


def test_bad_inputs():
    with pytest.raises(SpecError, match="n_cohorts = 0 is invalid"):
        transition_pathways(ThreePlusThree(4), (), 0)
    with pytest.raises(SpecError, match="already stopped"):
        transition_pathways(ThreePlusThree(4), [(0, 3, 2)])
    with pytest.raises(SpecError, match="history"):
        transition_pathways(ThreePlusThree(4), [(0, 3, 4)])
    with pytest.raises(SpecError, match="must be an escalation design"):
        transition_pathways("3+3")
