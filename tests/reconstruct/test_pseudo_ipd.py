"""Pseudo patient-level OS/RFS data reconstructed from the published summaries."""

from __future__ import annotations

import functools
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from bayesblina.errors import DataError
from bayesblina.reconstruct import pseudo_ipd as P
from bayesblina.reconstruct.km import km_batch
from bayesblina.reconstruct.pseudo_ipd import (
    ASSUMPTIONS,
    FIRST_ASSESSMENT_MONTHS,
    assumptions_table,
    check_reconstruction,
    published_targets,
    reconstruct,
    reconstruct_with_diagnostics,
    reconstruction_spread,
    stack_draws,
)

SEEDS = (0, 1, 7)
N_DRAWS = 8
ENDPOINTS = ("os", "rfs", "rfs_mrd")

# The published numbers, typed here on purpose (J Clin Oncol 2016, Results and Fig 1) so
# that the test does not depend on the loaders the module uses.
OS_MEDIAN, RFS_MEDIAN, MRD_MEDIAN, NO_MRD_MEDIAN, RFS_6M = 7.5, 4.4, 7.3, 1.9, 42.0


@functools.cache
def draws(endpoint: str, seed: int, n: int = N_DRAWS, **kw) -> tuple[pd.DataFrame, ...]:
    return tuple(reconstruct(endpoint, n, seed, **kw))


def km(df: pd.DataFrame) -> KaplanMeierFitter:
    return KaplanMeierFitter().fit(df["time"], df["event"])


# -- the published medians and landmark ------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_os_median_reproduced(seed):
    for df in draws("os", seed):
        assert abs(km(df).median_survival_time_ - OS_MEDIAN) <= 0.3


@pytest.mark.parametrize("seed", SEEDS)
def test_rfs_median_and_6_month_rfs_reproduced(seed):
    for df in draws("rfs", seed):
        fit = km(df)
        assert abs(fit.median_survival_time_ - RFS_MEDIAN) <= 0.3
        assert abs(100 * fit.survival_function_at_times(6.0).iloc[0] - RFS_6M) <= 3.0


@pytest.mark.parametrize("seed", SEEDS)
def test_rfs_by_mrd_medians_reproduced(seed):
    for df in draws("rfs_mrd", seed):
        assert abs(km(df[df["complete_mrd"] == 1]).median_survival_time_ - MRD_MEDIAN) <= 0.3
        assert abs(km(df[df["complete_mrd"] == 0]).median_survival_time_ - NO_MRD_MEDIAN) <= 0.3


@pytest.mark.parametrize("seed", SEEDS)
def test_median_cis_within_a_factor_of_1_5(seed):
    published = {"os": [(4.0, 11.8)], "rfs": [(2.3, 7.6)], "rfs_mrd": [(2.7, 16.4), (0.8, 6.0)]}
    for endpoint in ENDPOINTS:
        for df in draws(endpoint, seed):
            parts = ([df[df["complete_mrd"] == 1], df[df["complete_mrd"] == 0]]
                     if endpoint == "rfs_mrd" else [df])
            for part, (lo, hi) in zip(parts, published[endpoint], strict=True):
                ci = median_survival_times(km(part).confidence_interval_).iloc[0]
                assert 1 / 1.5 <= ci.iloc[0] / lo <= 1.5
                assert 1 / 1.5 <= ci.iloc[1] / hi <= 1.5


# -- the fates, exactly ------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_os_counts_match_fates(seed):
    for df in draws("os", seed):
        assert list(df.columns) == ["time", "event"]
        assert len(df) == 70
        assert df["event"].sum() == 48
        censored = df[df["event"] == 0]
        assert (censored["time"] == 24.0).sum() == 14  # completed the 2-year follow-up
        assert (censored["time"] < 24.0).sum() == 8  # withdrew 6, physician 1, lost 1
        assert (df.loc[df["event"] == 1, "time"] < 24.0).all()
        # Table 2 footnote: 5 died and 1 withdrew before the first response assessment
        early = df[df["time"] <= FIRST_ASSESSMENT_MONTHS]
        assert len(early) == 6 and early["event"].sum() == 5


@pytest.mark.parametrize("seed", SEEDS)
def test_rfs_counts_match_fates(seed):
    for df in draws("rfs", seed):
        assert list(df.columns) == ["time", "event"]
        assert len(df) == 27
        assert df["event"].sum() == 22  # 2 relapsed alive + 2 withdrew after relapse + 3 + 15
        censored = df[df["event"] == 0]
        assert (censored["time"] == 24.0).sum() == 4  # in remission at the end
        assert (censored["time"] < 24.0).sum() == 1  # withdrew consent in CR
        assert (df["time"] > FIRST_ASSESSMENT_MONTHS).all()  # no relapse before CR


@pytest.mark.parametrize("seed", SEEDS)
def test_rfs_mrd_groups_and_link_to_rfs(seed):
    for full, mrd in zip(draws("rfs", seed), draws("rfs_mrd", seed), strict=True):
        assert list(mrd.columns) == ["time", "event", "complete_mrd"]
        assert len(mrd) == 26
        assert (mrd["complete_mrd"] == 1).sum() == 14
        assert (mrd["complete_mrd"] == 0).sum() == 12
        # the MRD data are the overall RFS data without the responder lacking MRD data
        left = Counter(full.itertuples(index=False)) - Counter(
            mrd[["time", "event"]].itertuples(index=False))
        assert sum(left.values()) == 1
        (missing,) = left
        assert mrd["event"].sum() == 22 - missing.event


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_with_fates_labels_add_up(endpoint):
    for df in reconstruct(endpoint, 3, 11, with_fates=True):
        counts = df["fate"].value_counts().to_dict()
        if endpoint == "os":
            assert counts == {
                "nonresponder:died": 25, "responder:relapsed_and_died": 15,
                "nonresponder:alive_at_end": 8, "nonresponder:died_before_first_assessment": 5,
                "responder:in_remission_at_end": 4, "responder:died_in_cr_after_allohsct": 3,
                "responder:relapsed_alive": 2, "responder:withdrew_consent_after_relapse": 2,
                "nonresponder:withdrew_consent": 2, "responder:withdrew_consent_in_cr": 1,
                "nonresponder:withdrew_consent_before_first_assessment": 1,
                "nonresponder:physician_decision": 1, "nonresponder:lost_to_followup": 1,
            }
            assert df.loc[df["fate"].str.endswith("alive_at_end")
                          | df["fate"].str.endswith("in_remission_at_end")
                          | df["fate"].str.endswith("relapsed_alive"), "time"].eq(24.0).all()
            assert df.loc[df["fate"].str.contains("died"), "event"].eq(1).all()
        elif endpoint == "rfs":
            assert counts == {"relapsed_and_died": 15, "in_remission_at_end": 4,
                              "died_in_cr_after_allohsct": 3, "relapsed_alive": 2,
                              "withdrew_consent_after_relapse": 2, "withdrew_consent_in_cr": 1}
            assert df["mrd"].value_counts().to_dict() == {
                "complete": 14, "not_complete": 12, "no_data": 1}
        else:
            assert sum(counts.values()) == 26
            assert df["complete_mrd"].sum() == 14
        if endpoint != "os":
            assert df.loc[df["fate"] == "in_remission_at_end", "time"].eq(24.0).all()
            assert df.loc[df["fate"] == "withdrew_consent_in_cr", "time"].lt(24.0).all()
            assert df.loc[df["fate"] == "withdrew_consent_in_cr", "event"].eq(0).all()


# -- determinism and variation -----------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_same_seed_gives_identical_data(endpoint):
    # reconstruct keeps its draws per process: the second computation is the uncached one
    a = reconstruct(endpoint, 4, 123)
    b = P.reconstruct_with_diagnostics(endpoint, 4, 123).draws
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x, y)


def test_each_call_returns_its_own_frames():
    """The per-process cache never hands out a frame that another caller changed."""
    first = reconstruct("rfs", 2, 7)
    first[0].loc[:, "time"] = -1.0
    first.append(first[0])
    again = reconstruct("rfs", 2, 7)
    assert len(again) == 2
    assert (again[0]["time"] > 0).all()
    pd.testing.assert_frame_equal(again[1], P.reconstruct_with_diagnostics("rfs", 2, 7).draws[1])


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_first_draws_do_not_depend_on_n_draws(endpoint):
    few, many = draws(endpoint, 1, 3), draws(endpoint, 1, N_DRAWS)
    for x, y in zip(few, many[:3], strict=True):
        pd.testing.assert_frame_equal(x, y)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_different_seeds_give_different_data(endpoint):
    a, b = draws(endpoint, SEEDS[0]), draws(endpoint, SEEDS[1])
    for x, y in zip(a, b, strict=True):
        assert not np.allclose(x["time"].to_numpy(), y["time"].to_numpy())


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_reconstructions_vary(endpoint):
    ds = draws(endpoint, 0)
    # no two reconstructions are the same
    times = [tuple(np.round(d["time"], 9)) for d in ds]
    assert len(set(times)) == len(ds)
    spread = reconstruction_spread(endpoint, ds, times=(12.0,))
    assert (spread["draws"] == N_DRAWS).all()
    assert (spread["sd"] > 0.005).all()
    assert (spread["max"] > spread["min"]).all()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_times_positive_and_typed(endpoint):
    for seed in SEEDS:
        for df in draws(endpoint, seed):
            assert df["time"].dtype == np.float64
            assert df["event"].dtype == np.int64
            assert (df["time"] > 0).all() and (df["time"] <= 24.0).all()
            assert df["event"].isin([0, 1]).all()
            assert df["time"].is_monotonic_increasing or endpoint == "rfs_mrd"


# -- check_reconstruction ------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_check_table_passes_for_accepted_draws(endpoint):
    for df in draws(endpoint, 0)[:3]:
        table = check_reconstruction(endpoint, df)
        assert list(table.columns) == [
            "population", "quantity", "reconstructed", "published", "difference", "tolerance",
            "tolerance_kind", "within_tolerance", "criterion"]
        crit = table[table["criterion"]]
        assert crit["within_tolerance"].all()
        medians = table[table["quantity"] == "median"]
        assert len(medians) == (2 if endpoint == "rfs_mrd" else 1)
        assert set(medians["published"]) <= {OS_MEDIAN, RFS_MEDIAN, MRD_MEDIAN, NO_MRD_MEDIAN}
        fu = table[table["quantity"] == "median_followup"]
        assert not fu["criterion"].any()


def test_check_table_rfs_rows():
    table = check_reconstruction("rfs", draws("rfs", 0)[0]).set_index("quantity")
    assert table.loc["rfs_6_months_pct", "published"] == RFS_6M
    assert table.loc["rfs_6_months_pct", "tolerance"] == 3.0
    assert table.loc["events", "published"] == 22
    assert table.loc["median_followup", "published"] == 23.1
    assert table.loc["median_ci_low", "tolerance_kind"] == "factor"


def test_check_flags_a_bad_reconstruction():
    df = draws("os", 0)[0].copy()
    df["time"] = np.minimum(df["time"] * 1.5, 24.0)
    table = check_reconstruction("os", df).set_index("quantity")
    assert not table.loc["median", "within_tolerance"]
    df = draws("os", 0)[0].iloc[1:]
    table = check_reconstruction("os", df).set_index("quantity")
    assert not table.loc["patients", "within_tolerance"]


def test_check_without_ci_criterion():
    table = check_reconstruction("os", draws("os", 0)[0], ci_ratio=None).set_index("quantity")
    assert not table.loc["median_ci_low", "criterion"]
    assert pd.isna(table.loc["median_ci_low", "within_tolerance"])


def test_reconstruct_without_ci_criterion():
    ds = reconstruct("rfs_mrd", 3, 5, ci_ratio=None)
    for df in ds:
        assert abs(km(df[df["complete_mrd"] == 1]).median_survival_time_ - MRD_MEDIAN) <= 0.3


@pytest.mark.parametrize(
    ("endpoint", "frame", "match"),
    [
        ("pfs", pd.DataFrame({"time": [1.0], "event": [1]}), "unknown endpoint"),
        ("os", pd.DataFrame({"time": [1.0]}), "missing column"),
        ("rfs_mrd", pd.DataFrame({"time": [1.0], "event": [1]}), "complete_mrd"),
        ("os", pd.DataFrame({"time": [1.0, 0.0], "event": [1, 0]}), "positive"),
        ("os", pd.DataFrame({"time": [1.0, np.nan], "event": [1, 0]}), "positive"),
        ("os", pd.DataFrame({"time": [1.0, 2.0], "event": [1, 2]}), "event must be 0 or 1"),
        ("os", pd.DataFrame({"time": [], "event": []}), "no patients"),
    ],
)
def test_check_rejects_bad_input(endpoint, frame, match):
    with pytest.raises(DataError, match=match):
        check_reconstruction(endpoint, frame)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"endpoint": "dfs"}, "unknown endpoint"),
        ({"n_draws": 0}, "n_draws"),
        ({"n_draws": 2.5}, "n_draws"),
        ({"seed": -1}, "seed"),
        ({"seed": None}, "seed"),
        ({"ci_ratio": 0.9}, "ci_ratio"),
    ],
)
def test_reconstruct_rejects_bad_arguments(kwargs, match):
    args = {"endpoint": "os", "n_draws": 2, "seed": 0} | kwargs
    with pytest.raises(DataError, match=match):
        reconstruct(**args)


def test_gives_up_after_max_candidates():
    with pytest.raises(DataError, match="max_candidates"):
        reconstruct("rfs", 5, 0, max_candidates=1000)


# -- internals: the vectorised screen is lifelines ---------------------------------------


def test_vectorised_km_matches_lifelines():
    rng = np.random.default_rng(3)
    t = rng.exponential(8.0, size=(40, 25)) + 0.01
    c = rng.uniform(0, 30, size=(40, 25))
    e = (t <= c).astype(int)
    t = np.minimum(t, c)
    stats = km_batch(t, e, landmark=6.0)
    for i in range(len(t)):
        fit = KaplanMeierFitter().fit(t[i], e[i])
        ci = median_survival_times(fit.confidence_interval_).iloc[0]
        assert stats["median"][i] == pytest.approx(fit.median_survival_time_)
        assert stats["ci_low"][i] == pytest.approx(ci.iloc[0])
        assert stats["ci_high"][i] == pytest.approx(ci.iloc[1])
        assert stats["landmark"][i] == pytest.approx(fit.survival_function_at_times(6.0).iloc[0])


def test_crossing_events_match_lifelines():
    for n in (12, 14, 27, 69):
        k_low, k_med, k_high = P._crossing_events(n)
        times = np.arange(1.0, n + 1)
        fit = KaplanMeierFitter().fit(times, np.ones(n))
        ci = median_survival_times(fit.confidence_interval_).iloc[0]
        assert (k_low, k_med) == (ci.iloc[0], fit.median_survival_time_)
        assert k_high == ci.iloc[1] or (np.isinf(ci.iloc[1]) and k_high == n)


# -- diagnostics, assumptions, helpers -------------------------------------------------------


def test_diagnostics_and_split():
    res = reconstruct_with_diagnostics("rfs", 5, 2)
    assert len(res.draws) == 5 and res.candidates >= 5 and 0 < res.acceptance_rate <= 1
    assert res.screened >= 5 and res.seconds > 0
    totals = {"relapsed_and_died": 15, "relapsed_alive": 2, "withdrew_consent_after_relapse": 2,
              "died_in_cr_after_allohsct": 3, "in_remission_at_end": 4,
              "withdrew_consent_in_cr": 1}
    for fate, n in totals.items():
        cols = [f"{g}:{fate}" for g in ("complete_mrd", "not_complete", "no_data")]
        assert (res.split[cols].sum(axis=1) == n).all()
    groups = res.split.T.groupby(lambda c: c.split(":")[0]).sum().T
    assert (groups["complete_mrd"] == 14).all() and (groups["not_complete"] == 12).all()


def test_assumptions_are_explicit():
    table = assumptions_table()
    assert len(table) == len(ASSUMPTIONS) >= 10
    assert table["key"].is_unique
    assert (table["text"].str.len() > 40).all()
    for endpoint in ENDPOINTS:
        assert len(assumptions_table(endpoint)) >= 5
    text = " ".join(table["text"])
    for needle in ("24", "uniform", "Dirichlet", "0.3 months", "3 percentage", "1.5"):
        assert needle in text
    with pytest.raises(DataError):
        assumptions_table("pfs")


def test_published_targets_come_from_the_data():
    os_ = published_targets("os").iloc[0]
    assert (os_["n"], os_["events"], os_["median"]) == (70, 48, OS_MEDIAN)
    rfs = published_targets("rfs").iloc[0]
    assert (rfs["n"], rfs["events"], rfs["landmark_pct"]) == (27, 22, RFS_6M)
    mrd = published_targets("rfs_mrd")
    assert list(mrd["n"]) == [14, 12] and list(mrd["median"]) == [MRD_MEDIAN, NO_MRD_MEDIAN]
    assert mrd["events"].isna().all()


def test_stack_draws():
    ds = draws("rfs_mrd", 0)
    long = stack_draws(ds)
    assert list(long.columns) == ["draw", "time", "event", "complete_mrd"]
    assert len(long) == 26 * N_DRAWS
    assert sorted(long["draw"].unique()) == list(range(N_DRAWS))
    with pytest.raises(DataError):
        stack_draws([])
