"""Tests for the admissible Simon designs (Jung et al. 2004) and the design comparison."""

from __future__ import annotations

import dataclasses
import functools
import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest

from bayesblina.data.design import load_phase2_design
from bayesblina.design import (
    SimonComparison,
    SimonDesign,
    simon_admissible,
    simon_best_by_n,
    simon_compare,
    simon_search,
)
from bayesblina.errors import SpecError


def printed(x: float, places: int) -> str:
    """Round half up to ``places`` decimals, as a journal table prints it."""
    q = Decimal(1).scaleb(-places)
    return str(Decimal(repr(x)).quantize(q, rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------------------------
# An independent brute-force enumeration (explicit loops, math.comb)
# --------------------------------------------------------------------------------------


def _pmf_rows(p: float, nmax: int) -> list[list[float]]:
    return [[math.comb(m, k) * p**k * (1 - p) ** (m - k) for k in range(m + 1)]
            for m in range(nmax + 1)]


def _sf_rows(pmf: list[list[float]]) -> list[list[float]]:
    """sf[m][k] = P(Bin(m) > k) for k = 0..m (k < 0 handled by the caller)."""
    out = []
    for row in pmf:
        tail, acc = [0.0] * len(row), 0.0
        for k in range(len(row) - 1, -1, -1):
            tail[k] = acc  # P(X > k)
            acc += row[k]
        out.append(tail)
    return out


def brute_oc(n1: int, r1: int, n: int, r: int, p: float) -> tuple[float, float, float]:
    """Reject prob, PET, EN by an explicit double sum over (x1, x2)."""
    n2 = n - n1
    reject = pet = 0.0
    for x1 in range(n1 + 1):
        p_x1 = math.comb(n1, x1) * p**x1 * (1 - p) ** (n1 - x1)
        if x1 <= r1:
            pet += p_x1
            continue
        for x2 in range(n2 + 1):
            if x1 + x2 > r:
                reject += p_x1 * math.comb(n2, x2) * p**x2 * (1 - p) ** (n2 - x2)
    return reject, pet, n1 + (1 - pet) * n2


@functools.cache
def brute_best_by_n(p0: float, p1: float, alpha: float, power: float, nmax: int):
    """{n: (en0, alpha0, n1, r1, r)}: every (n1, r1, r) of every n <= nmax enumerated."""
    pmf0, pmf1 = _pmf_rows(p0, nmax), _pmf_rows(p1, nmax)
    sf0, sf1 = _sf_rows(pmf0), _sf_rows(pmf1)

    def sf(table, m, k):
        return 1.0 if k < 0 else (0.0 if k >= m else table[m][k])

    best = {}
    for n in range(2, nmax + 1):
        for n1 in range(1, n):
            n2 = n - n1
            cdf0 = list(np.cumsum(pmf0[n1]))
            for r in range(n):
                acc0 = acc1 = 0.0
                # P(X1 > r1, X1 + X2 > r) for r1 = n1 - 1 down to 0, one x1 at a time
                for x1 in range(n1, 0, -1):
                    acc0 += pmf0[n1][x1] * sf(sf0, n2, r - x1)
                    acc1 += pmf1[n1][x1] * sf(sf1, n2, r - x1)
                    if acc0 > alpha:
                        break  # smaller r1 only adds type I error
                    r1 = x1 - 1
                    if r1 <= r and acc1 >= power:
                        en = n1 + (1 - cdf0[r1]) * n2
                        key = (en, acc0, n1, r1, r)
                        if n not in best or key[:3] < best[n][:3]:
                            best[n] = key
    return best


def brute_admissible(best: dict) -> list[tuple[int, float, float, float]]:
    """(n, en0, q_low, q_high) of every per-n design minimising q n + (1 - q) EN for some q.

    For design i and a rival j, i costs no more than j where
    q ((n_i - EN_i) - (n_j - EN_j)) <= EN_j - EN_i; the intersection over j is an interval.
    """
    pts = [(n, v[0]) for n, v in sorted(best.items())]
    out = []
    for n_i, e_i in pts:
        lo, hi = 0.0, 1.0
        for n_j, e_j in pts:
            if n_j == n_i:
                continue
            c = (n_i - e_i) - (n_j - e_j)
            d = e_j - e_i
            if c > 0:
                hi = min(hi, d / c)
            elif c < 0:
                lo = max(lo, d / c)
            elif d < 0:
                lo, hi = 1.0, 0.0
        if lo <= hi + 1e-12:
            out.append((n_i, e_i, lo, hi))
    return out


# --------------------------------------------------------------------------------------
# clinfun's ph2simon example
# --------------------------------------------------------------------------------------


def test_clinfun_ph2simon_example_printed_values():
    # clinfun::ph2simon(0.2, 0.4, 0.1, 0.1) prints (digits = 4):
    #   Optimal 3/17, 10/37, EN(p0) 26.02, PET(p0) 0.5489
    #   Minimax 3/19, 10/36, EN(p0) 28.26, PET(p0) 0.4551
    tab = simon_admissible(0.2, 0.4, 0.1, 0.9)
    assert isinstance(tab, pd.DataFrame)
    mm, opt = tab.iloc[0], tab.iloc[-1]
    assert mm["criterion"] == "minimax"
    assert opt["criterion"] == "optimal"
    assert (mm["r1"], mm["n1"], mm["r"], mm["n"]) == (3, 19, 10, 36)
    assert (opt["r1"], opt["n1"], opt["r"], opt["n"]) == (3, 17, 10, 37)
    assert printed(float(opt["en0"]), 2) == "26.02"
    assert printed(float(opt["pet0"]), 4) == "0.5489"
    assert printed(float(mm["en0"]), 2) == "28.26"
    assert printed(float(mm["pet0"]), 4) == "0.4551"
    # nothing strictly between n = 36 and n = 37: two designs, q intervals meeting
    assert len(tab) == 2
    q = (mm["en0"] - opt["en0"]) / ((mm["en0"] - opt["en0"]) + (opt["n"] - mm["n"]))
    assert mm["q_low"] == pytest.approx(q) and mm["q_high"] == 1.0
    assert opt["q_low"] == 0.0 and opt["q_high"] == pytest.approx(q)


def test_best_by_n_matches_brute_force_enumeration():
    nmax = 40
    tab = simon_best_by_n(0.2, 0.4, 0.1, 0.9, nmax=nmax)
    brute = brute_best_by_n(0.2, 0.4, 0.1, 0.9, nmax)
    assert min(brute) == 36  # no n < 36 has a feasible design
    assert tab["n"].tolist() == sorted(brute)
    for row in tab.itertuples(index=False):
        en, a0, n1, r1, r = brute[row.n]
        assert (row.n1, row.r1, row.r) == (n1, r1, r)
        assert row.en0 == pytest.approx(en, abs=1e-10)
        assert row.alpha == pytest.approx(a0, abs=1e-12)
        rej1 = brute_oc(n1, r1, row.n, r, 0.4)[0]
        assert row.power == pytest.approx(rej1, abs=1e-12)


@pytest.mark.parametrize(
    ("args", "nmax"),
    [((0.2, 0.4, 0.1, 0.9), 40), ((0.1, 0.3, 0.05, 0.8), 32)],
)
def test_admissible_set_matches_brute_force(args, nmax):
    tab = simon_admissible(*args, nmax=nmax)
    brute = brute_admissible(brute_best_by_n(*args, nmax))
    assert tab["n"].tolist() == [b[0] for b in brute]
    for row, (_, en, lo, hi) in zip(tab.itertuples(index=False), brute, strict=True):
        assert row.en0 == pytest.approx(en, abs=1e-10)
        assert row.q_low == pytest.approx(lo, abs=1e-10)
        assert row.q_high == pytest.approx(hi, abs=1e-10)


def test_admissible_designs_several_between_minimax_and_optimal():
    # p0 = 0.1, p1 = 0.3, alpha 0.05, power 0.8: Simon's minimax 1/15, 5/25 and optimal
    # 1/10, 5/29 (Simon 1989, Table 1), two admissible designs between them
    tab = simon_admissible(0.1, 0.3, 0.05, 0.8, nmax=60)
    assert tab["criterion"].tolist() == ["minimax", "admissible", "admissible", "optimal"]
    assert tab[["r1", "n1", "r", "n"]].values.tolist()[0] == [1, 15, 5, 25]
    assert tab[["r1", "n1", "r", "n"]].values.tolist()[-1] == [1, 10, 5, 29]
    assert printed(float(tab["en0"].iloc[0]), 1) == "19.5"
    assert printed(float(tab["en0"].iloc[-1]), 1) == "15.0"


@pytest.mark.parametrize(
    "args",
    [(0.2, 0.4, 0.1, 0.9), (0.1, 0.3, 0.05, 0.8), (0.2, 0.4, 0.05, 0.8),
     (0.3, 0.5, 0.05, 0.8), (0.10, 0.275, 0.025, 0.80)],
)
def test_admissible_ends_feasibility_and_convex_hull(args):
    p0, p1, alpha, power = args
    tab = simon_admissible(*args, nmax=60)
    per_n = simon_best_by_n(*args, nmax=60)
    mm = simon_search(*args, nmax=60, criterion="minimax")
    opt = simon_search(*args, nmax=60, criterion="optimal")
    first, last = tab.iloc[0], tab.iloc[-1]
    assert (first["n1"], first["r1"], first["n"], first["r"]) == (mm.n1, mm.r1, mm.n, mm.r)
    assert (last["n1"], last["r1"], last["n"], last["r"]) == (opt.n1, opt.r1, opt.n, opt.r)
    # every admissible design is feasible (an independent double sum) and its own d(n)
    for row in tab.itertuples(index=False):
        a0, pet, en = brute_oc(row.n1, row.r1, row.n, row.r, p0)
        pw = brute_oc(row.n1, row.r1, row.n, row.r, p1)[0]
        assert a0 <= alpha and pw >= power
        assert row.alpha == pytest.approx(a0, abs=1e-12)
        assert row.power == pytest.approx(pw, abs=1e-12)
        assert row.pet0 == pytest.approx(pet, abs=1e-12)
        assert row.en0 == pytest.approx(en, abs=1e-10)
        assert per_n.loc[per_n["n"] == row.n, "en0"].item() == pytest.approx(row.en0)
    # increasing n, decreasing EN(p0), q intervals tiling [0, 1] from 1 down to 0
    assert np.all(np.diff(tab["n"]) > 0)
    assert np.all(np.diff(tab["en0"]) < 0)
    assert tab["q_high"].iloc[0] == 1.0 and tab["q_low"].iloc[-1] == 0.0
    assert np.allclose(tab["q_low"].iloc[:-1].to_numpy(), tab["q_high"].iloc[1:].to_numpy())
    assert np.all(tab["q_low"] <= tab["q_high"])
    # lower convex hull: no per-n design lies below a chord between neighbours, and
    # each admissible design is the cheapest per-n design at the middle of its q interval
    n_all, en_all = per_n["n"].to_numpy(float), per_n["en0"].to_numpy()
    for row in tab.itertuples(index=False):
        q = 0.5 * (row.q_low + row.q_high)
        cost = q * n_all + (1 - q) * en_all
        assert q * row.n + (1 - q) * row.en0 == pytest.approx(cost.min(), abs=1e-12)
    inside = (n_all >= tab["n"].iloc[0]) & (n_all <= tab["n"].iloc[-1])
    hull_en = np.interp(n_all[inside], tab["n"].to_numpy(float), tab["en0"].to_numpy())
    assert np.all(en_all[inside] >= hull_en - 1e-12)


def test_single_design_is_both_minimax_and_optimal():
    # Restricting nmax to the minimax n leaves one candidate size: the design is both.
    tab = simon_admissible(0.2, 0.4, 0.1, 0.9, nmax=36)
    assert tab["criterion"].tolist() == ["minimax/optimal"]
    assert (tab["q_low"].item(), tab["q_high"].item()) == (0.0, 1.0)


# --------------------------------------------------------------------------------------
# A given design against the admissible ones (the trial's design)
# --------------------------------------------------------------------------------------


def _trial():
    d = load_phase2_design()
    return d, {"p0": d.p0, "p1": d.p1, "alpha": d.alpha_one_sided, "power": d.power}


def test_trial_design_against_admissible_designs():
    d, hyp = _trial()
    ref = d.reference
    given = (ref.r1, d.n1, ref.r, d.n)  # Simon's printed order r1/n1, r/n
    cmp_ = simon_compare(given, **hyp, nmax=60)
    assert isinstance(cmp_, SimonComparison)
    tab = cmp_.table
    assert list(tab.columns) == ["design", "r1", "n1", "r", "n", "alpha", "power", "pet0",
                                 "en0", "q_low", "q_high", "feasible"]
    row = tab.iloc[0]
    assert row["design"] == "given"
    assert (row["r1"], row["n1"], row["r"], row["n"]) == given
    # the published reference values (data/design.py), to their decimals
    for col, name in [("alpha", "attained_alpha"), ("power", "power"), ("pet0", "pet0"),
                      ("en0", "en0")]:
        dec = ref.decimals[name]
        assert printed(float(row[col]), dec) == f"{getattr(ref, name):.{dec}f}"
    a0, pet, en = brute_oc(d.n1, ref.r1, d.n, ref.r, d.p0)
    assert row["alpha"] == pytest.approx(a0, abs=1e-12)
    assert row["pet0"] == pytest.approx(pet, abs=1e-12)
    assert row["en0"] == pytest.approx(en, abs=1e-10)
    assert cmp_.feasible and row["feasible"]
    # the rest of the table is the admissible set
    adm = simon_admissible(**hyp, nmax=60)
    assert tab["design"].tolist()[1:] == adm["criterion"].tolist()
    assert tab.iloc[1:][["r1", "n1", "r", "n"]].values.tolist() == \
        adm[["r1", "n1", "r", "n"]].values.tolist()
    # dominated: the minimax design is feasible, smaller and cheaper (checked by brute force)
    mm = adm.iloc[0]
    mm_a, _, mm_en = brute_oc(int(mm["n1"]), int(mm["r1"]), int(mm["n"]), int(mm["r"]), d.p0)
    mm_pw = brute_oc(int(mm["n1"]), int(mm["r1"]), int(mm["n"]), int(mm["r"]), d.p1)[0]
    assert mm_a <= hyp["alpha"] and mm_pw >= hyp["power"]
    assert mm["n"] < d.n and mm_en < en
    assert cmp_.dominated and not cmp_.admissible
    assert (int(mm["r1"]), int(mm["n1"]), int(mm["r"]), int(mm["n"])) in cmp_.dominated_by
    per_n = simon_best_by_n(**hyp, nmax=60)
    expect = per_n[(per_n["n"] <= d.n) & (per_n["en0"] < en)]
    assert cmp_.dominated_by == tuple(map(tuple, expect[["r1", "n1", "r", "n"]].values.tolist()))
    assert math.isnan(row["q_low"]) and math.isnan(row["q_high"])
    assert "dominated" in cmp_.verdict
    with pytest.raises(dataclasses.FrozenInstanceError):
        cmp_.admissible = True  # type: ignore[misc]


def test_compare_accepts_a_design_object():
    _, hyp = _trial()
    opt = simon_search(**hyp, nmax=60)
    assert isinstance(opt, SimonDesign)
    cmp_ = simon_compare(opt, **hyp, nmax=60)
    assert cmp_.admissible and not cmp_.dominated and cmp_.dominated_by == ()
    assert cmp_.table.iloc[0]["q_low"] == 0.0
    assert cmp_.table.iloc[0]["q_high"] == pytest.approx(cmp_.table.iloc[-1]["q_high"])
    assert "admissible" in cmp_.verdict
    # every admissible design, given, is admissible over its own q interval
    for row in simon_admissible(**hyp, nmax=60).itertuples(index=False):
        c = simon_compare((row.r1, row.n1, row.r, row.n), **hyp, nmax=60)
        assert c.admissible and not c.dominated
        assert c.table.iloc[0]["q_low"] == pytest.approx(row.q_low, abs=1e-8)
        assert c.table.iloc[0]["q_high"] == pytest.approx(row.q_high, abs=1e-8)


def test_compare_feasible_undominated_but_not_admissible():
    # p0 = 0.2, p1 = 0.4, alpha 0.05, power 0.8: the best n = 37 design, 4/17, 11/37, has a
    # smaller EN(p0) than every design with n <= 36 but lies above the chord between the
    # admissible designs at n = 33 and n = 38 (checked here by enumeration)
    args = (0.2, 0.4, 0.05, 0.8)
    brute = brute_best_by_n(*args, 40)
    en37 = brute[37][0]
    assert brute[37][2:] == (17, 4, 11)
    assert all(v[0] > en37 for n, v in brute.items() if n < 37)
    chord = brute[33][0] + (brute[38][0] - brute[33][0]) * (37 - 33) / (38 - 33)
    assert en37 > chord
    cmp_ = simon_compare((4, 17, 11, 37), *args, nmax=60)
    assert cmp_.feasible and not cmp_.dominated and not cmp_.admissible
    assert "not admissible" in cmp_.verdict


def test_compare_infeasible_design():
    cmp_ = simon_compare((0, 5, 3, 20), 0.2, 0.4, 0.1, 0.9, nmax=40)
    a0 = brute_oc(5, 0, 20, 3, 0.2)[0]
    assert a0 > 0.1
    assert not cmp_.feasible and not cmp_.admissible
    assert "infeasible" in cmp_.verdict
    assert not cmp_.table.iloc[0]["feasible"]


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "parts"),
    [
        ((0.4, 0.2, 0.1, 0.9), ["p1", "0.2", "p0"]),
        ((0.2, 0.2, 0.1, 0.9), ["p1", "p0"]),
        ((0.0, 0.4, 0.1, 0.9), ["p0", "(0, 1)"]),
        ((0.2, 0.4, 0.0, 0.9), ["alpha", "(0, 1)"]),
        ((0.2, 0.4, 1.5, 0.9), ["alpha", "1.5"]),
        ((0.2, 0.4, 0.1, 1.0), ["power", "(0, 1)"]),
        ((0.2, 0.4, 0.1, -0.2), ["power", "-0.2"]),
    ],
)
def test_admissible_bad_input(args, parts):
    with pytest.raises(SpecError) as exc:
        simon_admissible(*args)
    for part in parts:
        assert part in str(exc.value)


def test_nmax_too_small_names_the_smallest_n_that_works():
    brute = brute_best_by_n(0.1, 0.3, 0.05, 0.8, 25)
    assert min(brute) == 25  # by enumeration: nothing feasible below n = 25
    with pytest.raises(SpecError) as exc:
        simon_admissible(0.1, 0.3, 0.05, 0.8, nmax=20)
    msg = str(exc.value)
    assert "nmax = 20 is too small" in msg
    assert "smallest n with a feasible design is 25" in msg
    assert "nmax >= 25" in msg
    with pytest.raises(SpecError, match="smallest n with a feasible design is 25"):
        simon_best_by_n(0.1, 0.3, 0.05, 0.8, nmax=24)
    with pytest.raises(SpecError, match="none has up to n = 500"):
        simon_admissible(0.10, 0.11, 0.05, 0.8, nmax=30)


def test_compare_bad_input():
    with pytest.raises(SpecError, match="design"):
        simon_compare((2, 21, 8), 0.1, 0.275, 0.025, 0.8)
    with pytest.raises(SpecError, match="r1 = 21"):
        simon_compare((21, 21, 8, 40), 0.1, 0.275, 0.025, 0.8)
    with pytest.raises(SpecError, match=r"nmax = 30 is invalid.*n = 40"):
        simon_compare((2, 21, 8, 40), 0.1, 0.275, 0.025, 0.8, nmax=30)
    with pytest.raises(SpecError, match="p1"):
        simon_compare((2, 21, 8, 40), 0.3, 0.275, 0.025, 0.8)
