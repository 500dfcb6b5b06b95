"""Tests for bayesblina.design.simon (exact Simon two-stage designs)."""

from __future__ import annotations

import dataclasses
import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest

from bayesblina.design import (
    SimonDesign,
    SimonOC,
    design_for_sizes,
    simon_oc,
    simon_oc_table,
    simon_search,
)
from bayesblina.design.simon import _best_for_sizes, _BinomTables
from bayesblina.errors import BayesblinaError, SpecError


def printed(x: float, places: int) -> str:
    """Round half up to ``places`` decimals, as a journal table prints it."""
    q = Decimal(1).scaleb(-places)
    return str(Decimal(repr(x)).quantize(q, rounding=ROUND_HALF_UP))


def brute_oc(n1: int, r1: int, n: int, r: int, p: float) -> tuple[float, float, float]:
    """Reject prob, PET, EN by an explicit double sum over (x1, x2) with math.comb."""
    n2 = n - n1

    def pmf(k: int, m: int) -> float:
        return math.comb(m, k) * p**k * (1 - p) ** (m - k)

    reject = 0.0
    pet = 0.0
    for x1 in range(n1 + 1):
        p_x1 = pmf(x1, n1)
        if x1 <= r1:
            pet += p_x1
            continue
        for x2 in range(n2 + 1):
            if x1 + x2 > r:
                reject += p_x1 * pmf(x2, n2)
    return reject, pet, n1 + (1 - pet) * n2


# --------------------------------------------------------------------------------------
# The trial's design (von Stackelberg et al. 2016)
# --------------------------------------------------------------------------------------

PAPER = {"n1": 21, "n": 40, "p0": 0.10, "p1": 0.275, "alpha": 0.025, "power": 0.80}


def test_paper_design_boundaries_and_printed_numbers():
    d = design_for_sizes(**PAPER)
    assert isinstance(d, SimonDesign)
    assert (d.n1, d.r1, d.n, d.r) == (21, 2, 40, 8)
    assert d.criterion == "fixed_sizes"
    assert printed(d.alpha, 4) == "0.0149"
    assert printed(d.power, 4) == "0.8004"
    assert printed(d.pet0, 3) == "0.648"
    assert printed(d.en0, 1) == "27.7"
    assert d.alpha <= PAPER["alpha"]
    assert d.power >= PAPER["power"]


def test_paper_design_is_what_the_criterion_gives():
    # Enumerate every (r1, r) by brute force and apply the criterion by hand.
    feasible = []
    for r1 in range(21):
        for r in range(r1, 40):
            a, _, en = brute_oc(21, r1, 40, r, 0.10)
            pw = brute_oc(21, r1, 40, r, 0.275)[0]
            if a <= 0.025 and pw >= 0.80:
                feasible.append((en, a, r1, r))
    assert sorted((r1, r) for _, _, r1, r in feasible) == [(0, 8), (1, 8), (2, 8)]
    assert min(feasible)[2:] == (2, 8)
    # r1 = 3 fails: r = 8 lacks power, r = 7 exceeds alpha.
    assert simon_oc(21, 3, 40, 8, 0.275).reject_prob < 0.80
    assert simon_oc(21, 3, 40, 7, 0.10).reject_prob > 0.025
    # r = 9 lacks power even with the smallest futility boundary.
    assert simon_oc(21, 0, 40, 9, 0.275).reject_prob < 0.80


def test_simon_oc_paper_values():
    oc = simon_oc(21, 2, 40, 8, 0.10)
    assert isinstance(oc, SimonOC)
    assert (oc.n1, oc.r1, oc.n, oc.r, oc.p) == (21, 2, 40, 8, 0.10)
    assert printed(oc.reject_prob, 4) == "0.0149"
    assert printed(oc.pet, 3) == "0.648"
    assert printed(oc.en, 1) == "27.7"
    assert printed(simon_oc(21, 2, 40, 8, 0.275).reject_prob, 4) == "0.8004"
    with pytest.raises(dataclasses.FrozenInstanceError):
        oc.r = 9  # type: ignore[misc]


# --------------------------------------------------------------------------------------
# Exactness against an independent double sum
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n1", "r1", "n", "r"),
    [(21, 2, 40, 8), (10, 1, 29, 5), (18, 4, 33, 10), (5, 0, 12, 0), (7, 6, 9, 8)],
)
@pytest.mark.parametrize("p", [0.0, 0.05, 0.10, 0.275, 0.5, 0.83, 1.0])
def test_simon_oc_matches_brute_force(n1, r1, n, r, p):
    oc = simon_oc(n1, r1, n, r, p)
    reject, pet, en = brute_oc(n1, r1, n, r, p)
    assert oc.reject_prob == pytest.approx(reject, abs=1e-12)
    assert oc.pet == pytest.approx(pet, abs=1e-12)
    assert oc.en == pytest.approx(en, abs=1e-10)


def test_vectorised_reject_matrix_matches_simon_oc():
    t = _BinomTables(0.23, 40)
    rej = t.reject_matrix(21, 40)
    assert rej.shape == (21, 40)
    for r1, r in [(0, 0), (2, 8), (5, 20), (20, 39), (3, 3)]:
        assert rej[r1, r] == pytest.approx(simon_oc(21, r1, 40, r, 0.23).reject_prob, abs=1e-13)


def test_reject_prob_monotone_in_p():
    ps = np.linspace(0.0, 1.0, 101)
    for n1, r1, n, r in [(21, 2, 40, 8), (13, 3, 43, 12), (15, 1, 25, 5)]:
        tab = simon_oc_table(SimonOC(n1, r1, n, r, 0.0, 0.0, 0.0, 0.0), ps)
        rej = tab["reject_prob"].to_numpy()
        pet = tab["pet"].to_numpy()
        # non-decreasing up to rounding where the curves saturate near p = 1 ...
        assert np.all(np.diff(rej) >= -1e-14)
        assert np.all(np.diff(pet) <= 1e-14)
        # ... and strictly increasing wherever they have not saturated
        live = rej[1:] < 1 - 1e-9
        assert live.sum() > 50
        assert np.all(np.diff(rej)[live] > 0)
        assert tab["reject_prob"].iloc[0] == 0.0
        assert tab["reject_prob"].iloc[-1] == pytest.approx(1.0)


def test_oc_table_columns_and_values():
    d = design_for_sizes(**PAPER)
    tab = simon_oc_table(d, [0.10, 0.20, 0.275])
    assert isinstance(tab, pd.DataFrame)
    assert list(tab.columns) == ["p", "reject_prob", "pet", "en"]
    assert tab["p"].tolist() == [0.10, 0.20, 0.275]
    assert tab["reject_prob"].iloc[0] == pytest.approx(d.alpha, abs=1e-15)
    assert tab["reject_prob"].iloc[2] == pytest.approx(d.power, abs=1e-15)
    assert tab["en"].iloc[0] == pytest.approx(d.en0, abs=1e-12)


# --------------------------------------------------------------------------------------
# Simon (1989), Table 1 (alpha = 0.05)
# --------------------------------------------------------------------------------------

# (p0, p1, power, criterion, r1, n1, r, n, EN(p0), PET(p0)) as printed by Simon.
SIMON_1989 = [
    (0.10, 0.30, 0.80, "optimal", 1, 10, 5, 29, "15.0", "0.74"),
    (0.10, 0.30, 0.80, "minimax", 1, 15, 5, 25, "19.5", "0.55"),
    (0.20, 0.40, 0.80, "optimal", 3, 13, 12, 43, "20.6", "0.75"),
    (0.20, 0.40, 0.80, "minimax", 4, 18, 10, 33, "22.3", "0.72"),
    (0.05, 0.25, 0.80, "optimal", 0, 9, 2, 17, "12.0", "0.63"),
    (0.05, 0.25, 0.80, "minimax", 0, 12, 2, 16, "13.8", "0.54"),
    (0.10, 0.30, 0.90, "optimal", 2, 18, 6, 35, "22.5", "0.73"),
    (0.10, 0.30, 0.90, "minimax", 2, 22, 6, 33, "26.2", "0.62"),
    (0.30, 0.50, 0.80, "optimal", 5, 15, 18, 46, "23.6", "0.72"),
    (0.30, 0.50, 0.80, "minimax", 6, 19, 16, 39, "25.7", "0.67"),
]


@pytest.mark.parametrize(
    ("p0", "p1", "power", "criterion", "r1", "n1", "r", "n", "en", "pet"), SIMON_1989
)
def test_simon_1989_table(p0, p1, power, criterion, r1, n1, r, n, en, pet):
    d = simon_search(p0, p1, 0.05, power, nmax=60, criterion=criterion)
    assert (d.r1, d.n1, d.r, d.n) == (r1, n1, r, n)
    assert d.criterion == criterion
    assert printed(d.en0, 1) == en
    assert printed(d.pet0, 2) == pet
    assert d.alpha <= 0.05
    assert d.power >= power


def test_optimal_search_equals_unpruned_enumeration():
    # Apply the optimal criterion to every (n1, n) without the search's pruning.
    p0, p1, alpha, power, nmax = 0.10, 0.30, 0.05, 0.80, 35
    t0, t1 = _BinomTables(p0, nmax), _BinomTables(p1, nmax)
    best = None
    for n in range(2, nmax + 1):
        for n1 in range(1, n):
            found = _best_for_sizes(t0, t1, n1, n, alpha, power)
            if found is not None:
                key = (found[0], found[1], n, n1, found[2], found[3])
                best = key if best is None or key < best else best
    d = simon_search(p0, p1, alpha, power, nmax=nmax)
    assert (d.en0, d.n, d.n1, d.r1, d.r) == pytest.approx(
        (best[0], best[2], best[3], best[4], best[5])
    )


def test_minimax_never_larger_than_optimal():
    opt = simon_search(0.20, 0.40, 0.05, 0.80, nmax=60)
    mm = simon_search(0.20, 0.40, 0.05, 0.80, nmax=60, criterion="minimax")
    assert mm.n <= opt.n
    assert opt.en0 <= mm.en0


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "names"),
    [
        ((21, 2, 21, 8, 0.1), ["n1", "21"]),  # n1 >= n
        ((0, 0, 40, 8, 0.1), ["n1", "0"]),
        ((21, -1, 40, 8, 0.1), ["r1", "-1"]),
        ((21, 21, 40, 30, 0.1), ["r1", "21"]),  # r1 >= n1
        ((21, 2, 40, 40, 0.1), ["r", "40"]),  # r >= n
        ((21, 5, 40, 4, 0.1), ["r", "4"]),  # r < r1
        ((21, 2, 40, 8, 1.5), ["p", "1.5"]),
        ((21, 2, 40, 8, -0.1), ["p", "-0.1"]),
        ((21, 2, 40, 8, float("nan")), ["p", "nan"]),
        ((21.5, 2, 40, 8, 0.1), ["n1", "21.5"]),
        ((21, True, 40, 8, 0.1), ["r1", "True"]),
    ],
)
def test_simon_oc_bad_input(args, names):
    with pytest.raises(SpecError) as exc:
        simon_oc(*args)
    msg = str(exc.value)
    for part in names:
        assert part in msg
    assert isinstance(exc.value, ValueError)
    assert isinstance(exc.value, BayesblinaError)


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"p0": 0.0}, ["p0", "(0, 1)"]),
        ({"p0": 1.0}, ["p0"]),
        ({"p1": 0.05}, ["p1", "0.05", "p0"]),  # p1 <= p0
        ({"p1": 0.10}, ["p1", "p0"]),
        ({"alpha": 0.0}, ["alpha", "(0, 1)"]),
        ({"alpha": 1.2}, ["alpha", "1.2"]),
        ({"power": 1.0}, ["power", "(0, 1)"]),
        ({"power": -0.5}, ["power", "-0.5"]),
        ({"n1": 40}, ["n1", "40"]),
        ({"n1": -3}, ["n1", "-3"]),
    ],
)
def test_design_for_sizes_bad_input(kwargs, names):
    with pytest.raises(SpecError) as exc:
        design_for_sizes(**{**PAPER, **kwargs})
    for part in names:
        assert part in str(exc.value)


def test_design_for_sizes_infeasible():
    with pytest.raises(SpecError, match="no feasible design") as exc:
        design_for_sizes(5, 10, 0.10, 0.275, 0.025, 0.80)
    msg = str(exc.value)
    for part in ("n1 = 5", "n = 10", "alpha = 0.025", "0.8", "p1 = 0.275"):
        assert part in msg


def test_simon_search_bad_input_and_infeasible():
    with pytest.raises(SpecError, match="criterion"):
        simon_search(0.1, 0.3, 0.05, 0.8, criterion="admissible")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="nmax"):
        simon_search(0.1, 0.3, 0.05, 0.8, nmax=1)
    with pytest.raises(SpecError, match="p1"):
        simon_search(0.3, 0.1, 0.05, 0.8)
    with pytest.raises(SpecError, match="no feasible two-stage design with n <= nmax = 20"):
        simon_search(0.1, 0.3, 0.05, 0.8, nmax=20, criterion="minimax")


def test_oc_table_bad_input():
    d = design_for_sizes(**PAPER)
    with pytest.raises(SpecError, match="ps"):
        simon_oc_table(d, [])
    with pytest.raises(SpecError, match="p = 2"):
        simon_oc_table(d, [0.1, 2])
