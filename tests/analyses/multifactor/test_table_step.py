"""The compiled table sweep against a plain-Python sweep of the same moves.

``table_step._sweep`` (numba) must make exactly the moves of the pure-Python sweep it
replaced, given the same random numbers: the same patients proposed, the same margin
checks, the same Metropolis decisions, the same final table. The reference below is that
Python code, kept here as the independent statement of the rule; the sweep's stationary
distribution is checked against the exact one in ``test_model.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from bayesblina.analyses.multifactor.table_step import _sweep


def reference_sweep(val, eff, key, mask, st, eta, cell, counts, y, ph, n_phase, picks,
                    uniforms, gl, m):
    """One factor's m pair swaps and m four-patient cycles, in plain Python."""
    n = len(val)
    val, eta, cell = list(val), list(eta), list(cell)
    counts = counts.copy()
    pools: dict[tuple[int, int], list[int]] = {}
    for i in range(n):
        pools.setdefault((ph[i], y[i]), []).append(i)

    def loglik(e, yi):
        return yi * e - (e + math.log1p(math.exp(-e)) if e > 0 else math.log1p(math.exp(e)))

    def valid(moved, new):
        for c in range(len(mask)):
            before = sorted((key[i][c], val[i]) for i in moved if key[i][c] >= 0
                            and mask[c][val[i]])
            after = sorted((key[i][c], v) for i, v in zip(moved, new, strict=True)
                           if key[i][c] >= 0 and mask[c][v])
            if before != after:
                return False
        return True

    def attempt(moved, new, u):
        d = 0.0
        changes: dict[tuple[int, int], int] = {}
        for i, v in zip(moved, new, strict=True):
            e = eta[i] + eff[v] - eff[val[i]]
            d += loglik(e, y[i]) - loglik(eta[i], y[i])
            c_new = cell[i] + (v - val[i]) * st
            changes[(ph[i], cell[i])] = changes.get((ph[i], cell[i]), 0) - 1
            changes[(ph[i], c_new)] = changes.get((ph[i], c_new), 0) + 1
        for (p, c), dc in changes.items():
            if dc:
                d += gl[counts[p, c] + dc] - gl[counts[p, c]]
        if d >= 0 or u < math.exp(d):
            for (p, c), dc in changes.items():
                counts[p, c] += dc
            for i, v in zip(moved, new, strict=True):
                eta[i] += eff[v] - eff[val[i]]
                cell[i] += (v - val[i]) * st
                val[i] = v
            return True
        return False

    accepted = tried = 0
    for t in range(2 * m):
        r = picks[t]
        i = int(r[0]) % n
        if t < m:
            pool = pools[(ph[i], y[i])]
            j = pool[int(r[1]) % len(pool)]
            if j == i or val[j] == val[i]:
                continue
            moved, new = [i, j], [val[j], val[i]]
        else:
            other = [p for p in range(n_phase) if p != ph[i]]
            if not other:
                continue
            b = other[int(r[1]) % len(other)]
            pj, pk, pl = pools.get((ph[i], 1 - y[i])), pools.get((b, 1 - y[i])), pools.get((b, y[i]))
            if not pj or not pk or not pl:
                continue
            j, k, l_ = pj[int(r[2]) % len(pj)], pk[int(r[3]) % len(pk)], pl[int(r[4]) % len(pl)]
            if val[i] == val[j] or val[k] == val[l_]:
                continue
            moved, new = [i, j, k, l_], [val[j], val[i], val[l_], val[k]]
        if not valid(moved, new):
            continue
        tried += 1
        accepted += attempt(moved, new, uniforms[t])
    return np.array(val), np.array(eta), np.array(cell), counts, accepted, tried


@pytest.mark.parametrize("seed", range(6))
def test_compiled_sweep_makes_the_moves_of_the_python_sweep(seed):
    rng = np.random.default_rng(seed)
    n, n_levels, n_phase = 23, 3, (1, 2, 3)[seed % 3]
    ph = rng.integers(0, n_phase, n)
    y = rng.integers(0, 2, n)
    val = rng.integers(0, n_levels, n)
    known = rng.integers(0, 2, n)  # a known attribute (blasts): the cell's first index
    st = 2
    cell = known + st * val
    counts = np.zeros((n_phase, 2 * n_levels), dtype="int64")
    np.add.at(counts, (ph, cell), 1)
    eff = rng.normal(0, 1.5, n_levels)
    eta = rng.normal(-0.5, 1, n) + eff[val]
    # constraints: the factor by part, and one level only by (part, CR): a margin on
    # level 0 alone, so some proposals break it; -1: a patient outside a constraint
    key = np.stack([ph, np.where(rng.random(n) < 0.8, ph * 2 + y, -1)], axis=1)
    mask = np.array([[True] * n_levels, [True] + [False] * (n_levels - 1)])
    m = 2 * n
    picks = rng.integers(0, 1 << 30, size=(2 * m, 5))
    uniforms = rng.random(2 * m)
    gl = special.gammaln(0.7 + np.arange(n + 2))
    want = reference_sweep(val, eff, key, mask, st, eta, cell, counts, y, ph, n_phase, picks,
                           uniforms, gl, m)
    pool_id = ph * 2 + y
    members = np.argsort(pool_id, kind="stable").astype("int64")
    pool_len = np.bincount(pool_id, minlength=2 * n_phase).astype("int64")
    pool_start = np.concatenate([[0], np.cumsum(pool_len)[:-1]]).astype("int64")
    val2, eta2, cell2, counts2 = val.copy(), eta.copy(), cell.copy(), counts.copy()
    accepted, tried = _sweep(val2, eff, key, mask, st, eta2, cell2, counts2, y, ph,
                             pool_start, pool_len, members, n_phase, picks, uniforms, gl, m)
    assert tried > accepted > 0  # the case moves, and rejects some
    np.testing.assert_array_equal(val2, want[0])
    np.testing.assert_allclose(eta2, want[1], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(cell2, want[2])
    np.testing.assert_array_equal(counts2, want[3])
    assert (accepted, tried) == want[4:]
    # every margin kept: the factor's counts by part, level 0 by (part, CR) where keyed
    for c in range(2):
        for g in set(key[:, c]) - {-1}:
            for lv in range(n_levels):
                if mask[c, lv]:
                    assert ((key[:, c] == g) & (val2 == lv)).sum() == \
                        ((key[:, c] == g) & (val == lv)).sum()
