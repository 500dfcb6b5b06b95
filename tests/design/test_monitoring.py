"""Tests for bayesblina.design.monitoring (posterior / predictive probability designs)."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import re
import types
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest
from scipy.special import betainc, betaln

from bayesblina.design import (
    BetaMixture,
    MonitoringDesign,
    MonitoringOC,
    MonitoringSearch,
    as_beta_mixture,
    monitoring_boundaries,
    monitoring_oc,
    monitoring_search,
    posterior_prob,
    predictive_prob,
)
from bayesblina.errors import BayesblinaError, SpecError


def printed(x: float, places: int) -> str:
    """Round half up to ``places`` decimals, as a journal table prints it."""
    q = Decimal(1).scaleb(-places)
    return str(Decimal(repr(x)).quantize(q, rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------------------------
# Independent brute-force versions (math.comb, betaln, the regularised incomplete beta)
# --------------------------------------------------------------------------------------


def _components(prior) -> list[tuple[float, float, float]]:
    if len(prior) == 2 and all(isinstance(v, int | float) for v in prior):
        return [(1.0, float(prior[0]), float(prior[1]))]
    return [tuple(map(float, c)) for c in prior]


def brute_post_weights(prior, x: int, n: int) -> list[float]:
    comps = _components(prior)
    raw = [w * math.exp(betaln(a + x, b + n - x) - betaln(a, b)) for w, a, b in comps]
    total = sum(raw)
    return [v / total for v in raw]


def brute_post(prior, x: int, n: int, p0: float) -> float:
    """P(p > p0 | x, n) = sum_k w_k' (1 - I_p0(a_k + x, b_k + n - x))."""
    comps = _components(prior)
    ws = brute_post_weights(prior, x, n)
    return sum(w * (1.0 - betainc(a + x, b + n - x, p0))
               for w, (_, a, b) in zip(ws, comps, strict=True))


def brute_pp(prior, x: int, n: int, nmax: int, p0: float, theta_t: float) -> float:
    """sum_y P(Y = y | x) 1[P(p > p0 | x + y, nmax) > theta_t], Y beta(-mixture)-binomial."""
    comps = _components(prior)
    ws = brute_post_weights(prior, x, n)
    m = nmax - n
    total = 0.0
    for y in range(m + 1):
        py = sum(w * math.comb(m, y) * math.exp(
            betaln(a + x + y, b + n - x + m - y) - betaln(a + x, b + n - x))
            for w, (_, a, b) in zip(ws, comps, strict=True))
        if brute_post(prior, x + y, nmax, p0) > theta_t:
            total += py
    return total


def brute_statistic(rule, prior, x, n, nmax, p0, theta_t):
    if rule == "posterior":
        return brute_post(prior, x, n, p0)
    return brute_pp(prior, x, n, nmax, p0, theta_t)


def enumerate_oc(nmax, looks, p0, theta_t, theta_l, theta_u, prior, rule, p):
    """Walk every one of the 2^nmax response sequences through the rule."""
    stat = functools.cache(lambda x, n: brute_statistic(rule, prior, x, n, nmax, p0, theta_t))
    by_look = {n: [0.0, 0.0] for n in looks}
    success = final_success = en = 0.0
    for seq in itertools.product((0, 1), repeat=nmax):
        weight = p ** sum(seq) * (1 - p) ** (nmax - sum(seq))
        x = 0
        for n in range(1, nmax + 1):
            x += seq[n - 1]
            if n == nmax:
                en += weight * nmax
                if brute_post(prior, x, nmax, p0) > theta_t:
                    success += weight
                    final_success += weight
                break
            if n in by_look:
                s = stat(x, n)
                if s < theta_l:
                    by_look[n][0] += weight
                    en += weight * n
                    break
                if theta_u < 1 and s > theta_u:
                    by_look[n][1] += weight
                    success += weight
                    en += weight * n
                    break
    return success, final_success, en, by_look


# --------------------------------------------------------------------------------------
# Lee & Liu (2008) and phase1b
# --------------------------------------------------------------------------------------


def test_lee_liu_predictive_probability_example():
    # Lee & Liu (2008): 16 responses in 23 patients, Nmax 40, Beta(0.6, 0.4), p0 = 0.6,
    # theta_T = 0.9: PP = 0.5656
    pp = predictive_prob(16, 23, 40, 0.6, 0.9, prior=(0.6, 0.4))
    assert printed(pp, 4) == "0.5656"
    assert pp == pytest.approx(brute_pp((0.6, 0.4), 16, 23, 40, 0.6, 0.9), abs=1e-13)


def test_mixture_predictive_probability_phase1b_value():
    # Genentech phase1b, tests/testthat/test-predprob.R: mixture 3:1 of Beta(1, 1) and
    # Beta(25, 15), x = 20, n = 23, Nmax 40, p = 0.6, thetaT = 0.9 -> 0.9874431
    prior = [(0.75, 1, 1), (0.25, 25, 15)]
    pp = predictive_prob(20, 23, 40, 0.6, 0.9, prior=prior)
    assert pp == pytest.approx(0.9874431, abs=5e-7)
    assert pp == pytest.approx(brute_pp(prior, 20, 23, 40, 0.6, 0.9), abs=1e-13)


@pytest.mark.parametrize("prior", [(1, 1), (0.6, 0.4), [(0.3, 0.5, 2.0), (0.7, 4.0, 3.0)]])
@pytest.mark.parametrize(("x", "n", "nmax"), [(0, 0, 10), (3, 7, 15), (7, 7, 15), (12, 30, 30),
                                              (5, 29, 30)])
def test_posterior_and_predictive_match_brute_force(prior, x, n, nmax):
    for p0, theta_t in [(0.2, 0.8), (0.45, 0.95), (0.6, 0.5)]:
        assert posterior_prob(x, n, p0, prior=prior) == pytest.approx(
            brute_post(prior, x, n, p0), abs=1e-13)
        assert predictive_prob(x, n, nmax, p0, theta_t, prior=prior) == pytest.approx(
            brute_pp(prior, x, n, nmax, p0, theta_t), abs=1e-13)


def test_predictive_probability_at_nmax_is_the_final_decision():
    assert predictive_prob(12, 30, 30, 0.3, 0.8) == float(brute_post((1, 1), 12, 30, 0.3) > 0.8)
    assert predictive_prob(5, 30, 30, 0.3, 0.8) == 0.0


def test_boundaries_phase1b_example_and_brute_force():
    # Genentech phase1b, tests/testthat/test-boundsPredprob.R: looks 10, 20, 30, 40,
    # p0 = 0.2, tT = 0.8, phiL = 0.1, phiU = 0.9, Beta(1, 1): xL = 0, 2, 5, 9 and
    # xU = 4, 7, 9, 10 (the last look is the final analysis)
    d = MonitoringDesign(nmax=40, p0=0.2, theta_t=0.8, theta_l=0.1, theta_u=0.9,
                         looks=(10, 20, 30, 40))
    assert d.looks == (10, 20, 30)
    tab = monitoring_boundaries(d)
    assert tab["n"].tolist() == [10, 20, 30, 40]
    assert tab["analysis"].tolist() == ["interim"] * 3 + ["final"]
    assert tab["futility"].tolist() == [0, 2, 5, 9]
    assert tab["efficacy"].tolist() == [4, 7, 9, 10]
    # the same from the brute-force predictive probability, every x
    for n, fut, eff in zip((10, 20, 30), (0, 2, 5), (4, 7, 9), strict=True):
        pps = [brute_pp((1, 1), x, n, 40, 0.2, 0.8) for x in range(n + 1)]
        assert [x for x, v in enumerate(pps) if v < 0.1] == list(range(fut + 1))
        assert [x for x, v in enumerate(pps) if v > 0.9] == list(range(eff, n + 1))


# --------------------------------------------------------------------------------------
# Exact operating characteristics against enumeration and simulation
# --------------------------------------------------------------------------------------

ENUMERATED = [
    # nmax 8, a look after every patient: futility and efficacy stops, a mixture prior
    dict(nmax=8, p0=0.3, theta_t=0.8, theta_l=0.1, theta_u=0.95,
         prior=[(0.5, 1.0, 1.0), (0.5, 2.0, 6.0)], rule="predictive"),
    # the posterior-probability rule, Jeffreys prior
    dict(nmax=8, p0=0.3, theta_t=0.8, theta_l=0.05, theta_u=0.95, prior=(0.5, 0.5),
         rule="posterior"),
    # futility only, looks at 3 and 6
    dict(nmax=8, p0=0.2, theta_t=0.85, theta_l=0.2, theta_u=1.0, prior=(1.0, 1.0),
         rule="predictive", looks=(3, 6)),
]


@pytest.mark.parametrize("spec", ENUMERATED)
def test_exact_oc_matches_enumeration_of_all_sequences(spec):
    d = MonitoringDesign(**spec)
    rates = [0.1, 0.3, 0.5, 0.7]
    oc = monitoring_oc(d, rates)
    assert isinstance(oc, MonitoringOC)
    assert list(oc.table.columns) == ["p", "success", "early_futility", "early_efficacy",
                                      "pet", "final_success", "en"]
    for i, p in enumerate(rates):
        success, final_success, en, by_look = enumerate_oc(
            d.nmax, d.looks, d.p0, d.theta_t, d.theta_l, d.theta_u, spec["prior"],
            d.rule, p)
        row = oc.table.iloc[i]
        assert row["p"] == p
        assert row["success"] == pytest.approx(success, abs=1e-12)
        assert row["final_success"] == pytest.approx(final_success, abs=1e-12)
        assert row["en"] == pytest.approx(en, abs=1e-11)
        looks = oc.by_look[oc.by_look["p"] == p]
        assert looks["n"].tolist() == list(d.looks)
        for n, fut, eff in looks[["n", "futility", "efficacy"]].itertuples(index=False):
            assert fut == pytest.approx(by_look[n][0], abs=1e-12)
            assert eff == pytest.approx(by_look[n][1], abs=1e-12)
        assert row["early_futility"] == pytest.approx(sum(v[0] for v in by_look.values()),
                                                      abs=1e-12)
        assert row["early_efficacy"] == pytest.approx(sum(v[1] for v in by_look.values()),
                                                      abs=1e-12)
        assert row["pet"] == pytest.approx(row["early_futility"] + row["early_efficacy"])
    # the designs are not trivial: they stop both ways where they can
    assert oc.table["early_futility"].max() > 0.05
    if d.theta_u < 1:
        assert oc.table["early_efficacy"].max() > 0.05


def test_exact_oc_matches_monte_carlo():
    nmax, looks, p0, theta_t, theta_l, theta_u, prior = 20, range(5, 20), 0.2, 0.9, 0.05, 0.99, (
        0.5, 0.5)
    d = MonitoringDesign(nmax=nmax, p0=p0, theta_t=theta_t, theta_l=theta_l, theta_u=theta_u,
                         looks=looks, prior=prior)
    rates = [0.2, 0.45]
    oc = monitoring_oc(d, rates)
    # decision tables from the brute-force predictive probability
    ns = list(looks)
    stat = np.full((len(ns), nmax + 1), np.nan)
    for k, n in enumerate(ns):
        for x in range(n + 1):
            stat[k, x] = brute_pp(prior, x, n, nmax, p0, theta_t)
    final_ok = np.array([brute_post(prior, s, nmax, p0) > theta_t for s in range(nmax + 1)])
    rng = np.random.default_rng(20240612)
    sims = 20_000
    for i, p in enumerate(rates):
        resp = rng.random((sims, nmax)) < p
        cum = np.cumsum(resp, axis=1)
        s_at = np.stack([stat[k, cum[:, n - 1]] for k, n in enumerate(ns)], axis=1)
        stop_f = s_at < theta_l
        stop_e = s_at > theta_u
        stop = stop_f | stop_e
        first = np.where(stop.any(axis=1), stop.argmax(axis=1), len(ns))
        stopped = first < len(ns)
        idx = np.minimum(first, len(ns) - 1)
        eff = stopped & stop_e[np.arange(sims), idx]
        fut = stopped & ~eff
        size = np.where(stopped, np.array(ns)[idx], nmax)
        success = eff | (~stopped & final_ok[cum[:, -1]])
        row = oc.table.iloc[i]
        for exact, draws in [(row["success"], success), (row["early_futility"], fut),
                             (row["early_efficacy"], eff)]:
            se = max(math.sqrt(exact * (1 - exact) / sims), 1e-4)
            assert abs(draws.mean() - exact) < 4 * se
        se_n = size.std(ddof=1) / math.sqrt(sims)
        assert abs(size.mean() - row["en"]) < 4 * se_n


def test_no_futility_no_efficacy_is_the_single_stage_test():
    nmax, p0, theta_t, prior = 30, 0.25, 0.9, (0.5, 0.5)
    d = MonitoringDesign(nmax=nmax, p0=p0, theta_t=theta_t, theta_l=0.0, theta_u=1.0,
                         prior=prior)
    ok = [x for x in range(nmax + 1) if brute_post(prior, x, nmax, p0) > theta_t]

    def single_stage(p):
        return sum(math.comb(nmax, x) * p**x * (1 - p) ** (nmax - x) for x in ok)

    oc = monitoring_oc(d, [p0, 0.5])
    assert oc.table["success"].iloc[0] == pytest.approx(single_stage(p0), abs=1e-13)
    assert oc.table["success"].iloc[1] == pytest.approx(single_stage(0.5), abs=1e-13)
    assert np.allclose(oc.table["pet"], 0.0)
    assert np.allclose(oc.table["en"], nmax)
    assert oc.boundaries["efficacy"].iloc[-1] == min(ok)


def test_success_probability_increases_with_the_true_rate():
    d = MonitoringDesign(nmax=40, p0=0.2, theta_t=0.9, theta_l=0.05, theta_u=0.99,
                         looks=range(5, 40))
    ps = np.linspace(0.0, 1.0, 41)
    tab = monitoring_oc(d, ps).table
    success = tab["success"].to_numpy()
    assert np.all(np.diff(success) >= -1e-13)
    live = (success[1:] > 1e-9) & (success[1:] < 1 - 1e-9)
    assert live.sum() > 15
    assert np.all(np.diff(success)[live] > 0)
    assert np.all(np.diff(tab["early_futility"].to_numpy()) <= 1e-13)
    assert success[0] == 0.0 and success[-1] == pytest.approx(1.0)


def test_probabilities_add_up_and_stopping_sets_are_intervals():
    d = MonitoringDesign(nmax=60, p0=0.3, theta_t=0.92, theta_l=0.02, theta_u=0.995,
                         prior=[(0.8, 0.3, 0.7), (0.2, 6, 4)])
    oc = monitoring_oc(d, np.linspace(0.05, 0.95, 19))
    final = 1.0 - oc.table["pet"]
    assert np.all(oc.table["final_success"] <= final + 1e-12)
    assert np.allclose(oc.table["success"], oc.table["early_efficacy"] + oc.table["final_success"])
    assert np.allclose(oc.by_look.groupby("p", sort=False)["futility"].sum().to_numpy(),
                       oc.table["early_futility"].to_numpy())
    en_from_looks = (
        (oc.by_look["futility"] + oc.by_look["efficacy"]) * oc.by_look["n"]
    ).groupby(oc.by_look["p"], sort=False).sum().to_numpy() + final.to_numpy() * d.nmax
    assert np.allclose(en_from_looks, oc.table["en"])
    # boundaries: futility below efficacy, both non-decreasing in n
    b = oc.boundaries[oc.boundaries["analysis"] == "interim"]
    both = b.dropna()
    assert np.all(both["futility"] < both["efficacy"])
    assert np.all(np.diff(b["futility"].dropna().to_numpy()) >= 0)
    assert np.all(np.diff(b["efficacy"].dropna().to_numpy()) >= 0)


def test_oc_and_design_are_frozen_and_normalised():
    d = MonitoringDesign(nmax=10, p0=0.2, theta_t=0.9, theta_l=0.05, prior=(2, 3),
                         looks=[4, 8])
    assert d.looks == (4, 8)
    assert d.prior == BetaMixture((1.0,), (2.0,), (3.0,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.nmax = 12  # type: ignore[misc]
    oc = monitoring_oc(d, 0.2)
    assert isinstance(oc.table, pd.DataFrame) and len(oc.table) == 1
    assert as_beta_mixture(d.prior) is d.prior
    # any object with weights, a and b arrays (another beta-mixture class) is read as one
    other = types.SimpleNamespace(weights=np.array([0.25, 0.75]), a=np.array([1.0, 3.0]),
                                  b=np.array([2.0, 4.0]))
    assert as_beta_mixture(other) == BetaMixture((0.25, 0.75), (1.0, 3.0), (2.0, 4.0))
    assert posterior_prob(3, 9, 0.3, prior=other) == pytest.approx(
        brute_post([(0.25, 1, 2), (0.75, 3, 4)], 3, 9, 0.3), abs=1e-13)


# --------------------------------------------------------------------------------------
# Design search
# --------------------------------------------------------------------------------------

SEARCH = dict(p0=0.2, p1=0.5, alpha=0.1, power=0.8, nmax_min=5, nmax_cap=22, first_look=4,
              look_every=3, theta_t=[0.8, 0.85, 0.9, 0.95], theta_l=[0.01, 0.05, 0.1],
              theta_u=0.99, prior=(0.5, 0.5))


@pytest.mark.parametrize("rule", ["predictive", "posterior"])
def test_search_matches_a_loop_over_single_designs(rule):
    s = monitoring_search(**SEARCH, rule=rule)
    assert isinstance(s, MonitoringSearch)
    rows = []
    for nmax in range(5, 23):
        for tt in SEARCH["theta_t"]:
            for tl in SEARCH["theta_l"]:
                d = MonitoringDesign(nmax=nmax, p0=0.2, theta_t=tt, theta_l=tl, theta_u=0.99,
                                     looks=range(4, nmax, 3), prior=(0.5, 0.5), rule=rule)
                t = monitoring_oc(d, [0.2, 0.5]).table
                rows.append((nmax, tt, tl, t["success"][0], t["success"][1], t["en"][0]))
    assert s.searched == len(rows)
    feasible = [r for r in rows if r[3] <= 0.1 and r[4] >= 0.8]
    assert len(feasible) == len(s.feasible)
    assert sorted(r[:3] for r in feasible) == sorted(
        s.feasible[["nmax", "theta_t", "theta_l"]].itertuples(index=False, name=None))
    got = s.feasible.set_index(["nmax", "theta_t", "theta_l"])
    for nmax, tt, tl, a0, pw, en0 in feasible:
        assert got.loc[(nmax, tt, tl), "alpha"] == pytest.approx(a0, abs=1e-12)
        assert got.loc[(nmax, tt, tl), "power"] == pytest.approx(pw, abs=1e-12)
        assert got.loc[(nmax, tt, tl), "en0"] == pytest.approx(en0, abs=1e-10)
    # the criterion: smallest nmax, then smallest EN(p0), then larger power, ...
    best = min(feasible, key=lambda r: (r[0], round(r[5], 9), -round(r[4], 12), r[3], r[1],
                                        r[2]))
    assert (s.design.nmax, s.design.theta_t, s.design.theta_l) == best[:3]
    assert s.design.looks == tuple(range(4, best[0], 3))
    assert s.oc.table["success"][0] <= 0.1 and s.oc.table["success"][1] >= 0.8


def test_search_defaults_give_a_feasible_design():
    s = monitoring_search(0.2, 0.4, 0.1, 0.8, nmax_min=20, nmax_cap=40, first_look=10)
    assert s.design.theta_t in [round(0.80 + 0.01 * i, 2) for i in range(20)]
    assert s.oc.table["success"][0] <= 0.1
    assert s.oc.table["success"][1] >= 0.8
    assert s.design.nmax == s.feasible["nmax"].min()
    # no design with a smaller nmax on the default grids is feasible (by the engine)
    assert (s.feasible["nmax"] >= s.design.nmax).all()
    top = s.feasible.iloc[0]
    assert top["en0"] == pytest.approx(s.oc.table["en"][0], abs=1e-10)


def test_search_without_feasible_design():
    with pytest.raises(SpecError) as exc:
        monitoring_search(0.2, 0.4, 0.05, 0.9, nmax_cap=10)
    msg = str(exc.value)
    assert "no feasible design with nmax <= nmax_cap = 10" in msg
    assert "alpha = 0.05" in msg and "0.9" in msg
    # the message names the smallest nmax that works, and it does
    smallest = int(re.search(r"the smallest nmax with a feasible design .* is (\d+): use "
                             r"nmax_cap >= \1", msg).group(1))
    assert smallest > 10
    assert monitoring_search(0.2, 0.4, 0.05, 0.9, nmax_cap=smallest).design.nmax == smallest


def test_search_names_when_no_nmax_up_to_the_cap_works():
    # alpha 1e-6 with power 0.999: no design of the grids up to the cap meets both
    with pytest.raises(SpecError, match=r"none up to nmax = 150 either"):
        monitoring_search(0.2, 0.25, 1e-6, 0.999, nmax_min=140, nmax_cap=145,
                          theta_t=[0.99], theta_l=[0.2])


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------

GOOD = dict(nmax=40, p0=0.2, theta_t=0.9, theta_l=0.05)


@pytest.mark.parametrize(
    ("kwargs", "parts"),
    [
        ({"p0": 0.0}, ["p0", "0.0", "(0, 1)"]),
        ({"p0": 1.0}, ["p0", "(0, 1)"]),
        ({"p0": float("nan")}, ["p0", "nan"]),
        ({"theta_t": 1.2}, ["theta_t", "1.2", "[0, 1]"]),
        ({"theta_l": -0.1}, ["theta_l", "-0.1", "[0, 1]"]),
        ({"theta_u": 2}, ["theta_u", "2", "[0, 1]"]),
        ({"theta_l": 0.5, "theta_u": 0.5}, ["theta_l = 0.5", "theta_u = 0.5", "theta_l < theta_u"]),
        ({"theta_l": 0.9, "theta_u": 0.6}, ["theta_l = 0.9", "theta_u = 0.6"]),
        ({"nmax": 0}, ["nmax", "0", ">= 1"]),
        ({"nmax": 40.5}, ["nmax", "40.5", "integer"]),
        ({"looks": (10, 5)}, ["looks", "(10, 5)", "strictly increasing"]),
        ({"looks": (5, 5)}, ["looks", "strictly increasing"]),
        ({"looks": (10, 50)}, ["looks", "50", "beyond nmax = 40"]),
        ({"looks": (0, 5)}, ["looks", "0", "1 <= n <= nmax = 40"]),
        ({"looks": "10"}, ["looks", "'10'"]),
        ({"prior": (0, 1)}, ["prior a", "0", "> 0"]),
        ({"prior": (1, -2)}, ["prior b", "-2", "> 0"]),
        ({"prior": (1, float("inf"))}, ["prior b", "inf", "finite"]),
        ({"prior": (1, 2, 3)}, ["prior", "(1, 2, 3)", "(a, b)"]),
        ({"prior": "beta"}, ["prior", "'beta'"]),
        ({"prior": [(1.2, 1, 1), (-0.2, 2, 2)]}, ["prior weight 1", "1.2", "[0, 1]"]),
        ({"prior": [(0.5, 1, 1), (0.4, 2, 2)]}, ["prior weights", "0.9", "sum to 1"]),
        ({"prior": [(0.5, 1, 1), (0.5, 2)]}, ["prior", "(weight, a, b)"]),
        ({"prior": [(0.5, 1, 1), (0.5, 2, 0)]}, ["prior b (component 2)", "0", "> 0"]),
        ({"rule": "bayes"}, ["rule", "'bayes'", "'predictive', 'posterior'"]),
    ],
)
def test_design_bad_input(kwargs, parts):
    with pytest.raises(SpecError) as exc:
        MonitoringDesign(**{**GOOD, **kwargs})
    msg = str(exc.value)
    for part in parts:
        assert part in msg
    assert isinstance(exc.value, BayesblinaError)


@pytest.mark.parametrize(
    ("kwargs", "parts"),
    [
        ({"p0": 0.4}, ["p1", "0.4", "must exceed p0"]),
        ({"p0": 0.5}, ["p1", "p0 = 0.5"]),
        ({"p0": -0.1}, ["p0", "-0.1", "(0, 1)"]),
        ({"alpha": 0.0}, ["alpha", "(0, 1)"]),
        ({"alpha": 1.0}, ["alpha", "1.0"]),
        ({"power": 1.0}, ["power", "(0, 1)"]),
        ({"power": -0.2}, ["power", "-0.2"]),
        ({"nmax_cap": 3, "nmax_min": 5}, ["nmax_cap", "3", "nmax_min = 5"]),
        ({"first_look": 0}, ["first_look", "0"]),
        ({"look_every": 0}, ["look_every", "0"]),
        ({"theta_t": []}, ["theta_t", "empty"]),
        ({"theta_t": [0.9, 1.1]}, ["theta_t", "1.1", "[0, 1]"]),
        ({"theta_l": [0.05, -1]}, ["theta_l", "-1"]),
        ({"theta_l": [0.05, 0.2], "theta_u": 0.2}, ["theta_l = 0.2", "theta_u = 0.2"]),
        ({"prior": (1, 0)}, ["prior b", "0"]),
        ({"rule": "freq"}, ["rule", "'freq'"]),
    ],
)
def test_search_bad_input(kwargs, parts):
    base = dict(p0=0.2, p1=0.4, alpha=0.1, power=0.8, nmax_cap=20)
    with pytest.raises(SpecError) as exc:
        monitoring_search(**{**base, **kwargs})
    for part in parts:
        assert part in str(exc.value)


def test_probability_functions_bad_input():
    with pytest.raises(SpecError, match=r"x = 8 is invalid: allowed values are 0 <= x <= n = 7"):
        posterior_prob(8, 7, 0.2)
    with pytest.raises(SpecError, match=r"n = 41 is invalid: allowed values are 0 <= n <= nmax"):
        predictive_prob(3, 41, 40, 0.2, 0.9)
    with pytest.raises(SpecError, match=r"theta_t = 1\.5"):
        predictive_prob(3, 10, 40, 0.2, 1.5)
    with pytest.raises(SpecError, match=r"p0 = 1\.2"):
        posterior_prob(3, 10, 1.2)
    d = MonitoringDesign(**GOOD)
    with pytest.raises(SpecError, match="rates is empty"):
        monitoring_oc(d, [])
    with pytest.raises(SpecError, match=r"rate p = 1\.5"):
        monitoring_oc(d, [0.2, 1.5])
    with pytest.raises(SpecError, match="MonitoringDesign"):
        monitoring_oc((40, 0.2), [0.2])  # type: ignore[arg-type]
