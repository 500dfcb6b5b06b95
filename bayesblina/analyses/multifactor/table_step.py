"""A PyMC step method over unknown patient tables that keeps every published margin.

In the several-factors model (:mod:`bayesblina.analyses.multifactor.model`) each patient's level
of a latent factor (age group, refractory disease, ...) is a discrete variable. The
published margins fix the counts of each factor by study part and by CR (and, for age,
the < 2 years row by blasts and CR), so single-patient updates are impossible: every
move must exchange levels between patients. :class:`MarginTableStep` proposes

* **pair swaps**: two patients of the same study part and CR status exchange their levels
  of one factor (this also re-pairs the factors within a patient);
* **four-patient cycles**: for study parts ``a != b`` and CR ``y``, patients
  ``i`` (a, y), ``j`` (a, 1-y), ``k`` (b, 1-y), ``l`` (b, y) swap levels ``i <-> j`` and
  ``k <-> l`` (the basic move of a 2 x 2 x K table with fixed two-way margins: it shifts
  a level between the CR groups within each part);

rejects any proposal that changes a published margin (checked against every margin
constraint, so the extra < 2 years split is respected), and accepts the rest with the
Metropolis ratio of the model's density (Bernoulli likelihood of each patient's CR and the
Dirichlet-multinomial prior of the covariate table, both recomputed exactly for the
patients moved). Both proposals are symmetric: the reverse move picks the same patients
with the same probability. The sweep itself is compiled by numba (cached on disk): a
pure-Python sweep cost ~10 ms per iteration, most of a run of the several-factors spec.
That these moves connect every table meeting the trial's
margins is checked by enumeration in ``tests/analyses/multifactor/test_model.py``.

The continuous parameters are sampled by NUTS in the same ``pm.sample`` call (a
``CompoundStep``): NUTS given the current table, then this step given the parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numba
import numpy as np
import pymc as pm
from pymc.step_methods.compound import BlockedStep, Competence, StepMethodState
from scipy import special


class MarginTableStep(BlockedStep):
    """Metropolis moves over the latent factor levels of every patient, margins fixed.

    Parameters
    ----------
    vars : list
        The latent factor variables (one integer per patient each), in the order of
        ``factors``.
    factors : sequence of str
        Factor name of each variable.
    info_fn : callable
        Compiled function of a point returning, in order: the linear predictor without the
        latent factors (per patient), each latent factor's effects (per level), the
        Dirichlet concentration of the covariate table, the patients' study part index,
        CR (0/1), the cell index of their known attributes (blasts), and, per factor, the
        constraint keys (patients x constraints, -1 where a patient is in no group) and the
        constrained-level masks (constraints x levels).
    n_levels : sequence of int
        Number of levels of each factor.
    proposals : int
        Proposals of each kind per factor and iteration, per patient (1: as many pair
        swaps and four-patient cycles as there are patients).
    model : pymc.Model, optional
    rng : numpy.random.Generator or seed, optional
    """

    name = "margin_table"
    default_blocked = True
    stats_dtypes_shapes: ClassVar[dict[str, tuple[Any, list[int]]]] = {
        "table_accept": (np.float64, []),
        "table_moves": (np.int64, []),
    }
    _state_class = StepMethodState

    def __init__(
        self,
        vars: list[Any],
        *,
        factors: Sequence[str],
        info_fn: Any,
        n_levels: Sequence[int],
        proposals: int = 1,
        model: pm.Model | None = None,
        rng: Any = None,
        blocked: bool = True,
    ) -> None:
        model = pm.modelcontext(model)
        self.vars = [model.rvs_to_values.get(v, v) for v in vars]
        self.var_names = [v.name for v in self.vars]
        self.factors = list(factors)
        self.n_levels = [int(k) for k in n_levels]
        self.info_fn = info_fn
        self.proposals = int(proposals)
        self.set_rng(rng)
        self.tune = True

    def reset_tuning(self) -> None:
        """Nothing to tune."""

    def step(self, point: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], list[dict]]:
        """One sweep of pair swaps and four-patient cycles over every latent factor."""
        out = self.info_fn({k: v for k, v in point.items() if k not in self.var_names})
        n_f = len(self.factors)
        base = np.asarray(out[0], dtype=float)
        effects = [np.asarray(e, dtype=float) for e in out[1 : 1 + n_f]]
        rest = out[1 + n_f :]
        alpha, phase, cr, cell0 = float(rest[0]), rest[1], rest[2], rest[3]
        keys, masks = rest[4 : 4 + n_f], rest[4 + n_f :]
        values = [np.array(point[name], dtype="int64") for name in self.var_names]
        n = len(base)
        # cell of the covariate table (known attributes, then each latent factor)
        stride = []
        s = int(np.max(cell0)) + 1 if n else 1
        for k in self.n_levels:
            stride.append(s)
            s *= k
        n_cells = s
        cell = cell0.astype("int64").copy()
        for v, st in zip(values, stride, strict=True):
            cell += v * st
        n_phase = int(np.max(phase)) + 1
        counts = np.zeros((n_phase, n_cells), dtype="int64")
        np.add.at(counts, (phase, cell), 1)
        eta = np.ascontiguousarray(
            base + sum(e[v] for e, v in zip(effects, values, strict=True)), dtype=float)
        gl = special.gammaln(alpha + np.arange(n + 2))  # gammaln(alpha + count)
        # patients by (study part, CR): the pools the proposals draw from, as one array
        # ordered by pool (pool id = 2 * part + CR) with each pool's start and length
        pool_id = phase.astype("int64") * 2 + cr.astype("int64")
        members = np.argsort(pool_id, kind="stable").astype("int64")
        pool_len = np.bincount(pool_id, minlength=2 * n_phase).astype("int64")
        pool_start = np.concatenate([[0], np.cumsum(pool_len)[:-1]]).astype("int64")
        y = cr.astype("int64")
        ph = phase.astype("int64")
        rng = self.rng
        accepted = tried = 0
        for f in range(n_f):
            m = self.proposals * n
            picks = rng.integers(0, 1 << 30, size=(2 * m, 5))
            uniforms = rng.random(2 * m)
            key = np.ascontiguousarray(keys[f], dtype="int64")
            mask = np.ascontiguousarray(masks[f], dtype=np.bool_)
            a, t = _sweep(values[f], effects[f], key, mask, stride[f], eta, cell, counts, y,
                          ph, pool_start, pool_len, members, n_phase, picks, uniforms, gl, m)
            accepted += a
            tried += t

        new_point = dict(point)
        for name, v in zip(self.var_names, values, strict=True):
            new_point[name] = v.astype(point[name].dtype)
        stats = {"table_accept": accepted / tried if tried else 0.0, "table_moves": accepted}
        return new_point, [stats]

    @staticmethod
    def competence(var: Any, has_grad: bool) -> Any:
        """Never assigned automatically: the model chooses this step explicitly."""
        return Competence.INCOMPATIBLE


# --------------------------------------------------------------------------------------
# the compiled sweep: one factor's pair swaps then four-patient cycles
# --------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _loglik(e: float, yi: int) -> float:
    # Bernoulli log-likelihood on the logit scale, stable for large |e|
    if e > 0:
        return yi * e - (e + math.log1p(math.exp(-e)))
    return yi * e - math.log1p(math.exp(e))


@numba.njit(cache=True)
def _valid(moved, new, n_moved, key, mask, val) -> bool:
    # every constraint's multiset of (group, constrained level) of the moved patients kept
    before = np.empty(n_moved, np.int64)
    after = np.empty(n_moved, np.int64)
    n_levels = mask.shape[1]
    for c in range(mask.shape[0]):
        nb = na = 0
        for q in range(n_moved):
            i = moved[q]
            g = key[i, c]
            if g < 0:
                continue
            if mask[c, val[i]]:
                before[nb] = g * n_levels + val[i]
                nb += 1
            if mask[c, new[q]]:
                after[na] = g * n_levels + new[q]
                na += 1
        if nb != na:
            return False
        if nb and not np.array_equal(np.sort(before[:nb]), np.sort(after[:na])):
            return False
    return True


@numba.njit(cache=True)
def _attempt(moved, new, n_moved, val, eff, st, eta, cell, counts, y, ph, gl,
             u) -> bool:
    # log density change: likelihood of the moved patients + Dirichlet-multinomial prior
    d = 0.0
    keys = np.empty(2 * n_moved, np.int64)  # (part, cell) changed, flattened
    deltas = np.zeros(2 * n_moved, np.int64)
    n_keys = 0
    new_eta = np.empty(n_moved)
    new_cell = np.empty(n_moved, np.int64)
    n_cells = counts.shape[1]
    for q in range(n_moved):
        i = moved[q]
        v = new[q]
        e = eta[i] + eff[v] - eff[val[i]]
        d += _loglik(e, y[i]) - _loglik(eta[i], y[i])
        c_new = cell[i] + (v - val[i]) * st
        for kk, dc in ((ph[i] * n_cells + cell[i], -1), (ph[i] * n_cells + c_new, 1)):
            hit = -1
            for r in range(n_keys):
                if keys[r] == kk:
                    hit = r
                    break
            if hit < 0:
                hit = n_keys
                keys[hit] = kk
                n_keys += 1
            deltas[hit] += dc
        new_eta[q] = e
        new_cell[q] = c_new
    for r in range(n_keys):
        if deltas[r]:
            p, c = keys[r] // n_cells, keys[r] % n_cells
            d += gl[counts[p, c] + deltas[r]] - gl[counts[p, c]]
    if d >= 0 or u < math.exp(d):
        for r in range(n_keys):
            p, c = keys[r] // n_cells, keys[r] % n_cells
            counts[p, c] += deltas[r]
        for q in range(n_moved):
            i = moved[q]
            val[i] = new[q]
            eta[i] = new_eta[q]
            cell[i] = new_cell[q]
        return True
    return False


@numba.njit(cache=True)
def _sweep(val, eff, key, mask, st, eta, cell, counts, y, ph, pool_start,
           pool_len, members, n_phase, picks, uniforms, gl, m):
    """``m`` pair swaps then ``m`` four-patient cycles of one factor, state updated in place.

    Returns (accepted, tried): moves accepted, and proposals that kept every margin.
    """
    n = val.shape[0]
    moved = np.empty(4, np.int64)
    new = np.empty(4, np.int64)
    accepted = tried = 0
    for t in range(2 * m):
        i = picks[t, 0] % n
        if t < m:  # pair swap within (study part, CR)
            pool = ph[i] * 2 + y[i]
            j = members[pool_start[pool] + picks[t, 1] % pool_len[pool]]
            if j == i or val[j] == val[i]:
                continue
            moved[0], moved[1] = i, j
            new[0], new[1] = val[j], val[i]
            n_moved = 2
        else:  # four-patient cycle across two study parts and both CR groups
            if n_phase < 2:
                continue
            b = picks[t, 1] % (n_phase - 1)
            if b >= ph[i]:
                b += 1  # the other parts, in order
            pj, pk, pl = ph[i] * 2 + 1 - y[i], b * 2 + 1 - y[i], b * 2 + y[i]
            if pool_len[pj] == 0 or pool_len[pk] == 0 or pool_len[pl] == 0:
                continue
            j = members[pool_start[pj] + picks[t, 2] % pool_len[pj]]
            k = members[pool_start[pk] + picks[t, 3] % pool_len[pk]]
            l_ = members[pool_start[pl] + picks[t, 4] % pool_len[pl]]
            if val[i] == val[j] or val[k] == val[l_]:
                continue
            moved[0], moved[1], moved[2], moved[3] = i, j, k, l_
            new[0], new[1], new[2], new[3] = val[j], val[i], val[l_], val[k]
            n_moved = 4
        if not _valid(moved, new, n_moved, key, mask, val):
            continue
        tried += 1
        if _attempt(moved, new, n_moved, val, eff, st, eta, cell, counts, y, ph, gl,
                    uniforms[t]):
            accepted += 1
    return accepted, tried
