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
with the same probability. That these moves connect every table meeting the trial's
margins is checked by enumeration in ``tests/analyses/multifactor/test_model.py``.

The continuous parameters are sampled by NUTS in the same ``pm.sample`` call (a
``CompoundStep``): NUTS given the current table, then this step given the parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

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
        eta = base + sum(e[v] for e, v in zip(effects, values, strict=True))
        gl = special.gammaln(alpha + np.arange(n + 2))  # gammaln(alpha + count)
        y = [int(c) for c in cr]
        ph = [int(p) for p in phase]
        # patients by (study part, CR): the pools the proposals draw from
        pools: dict[tuple[int, int], list[int]] = {}
        for i in range(n):
            pools.setdefault((ph[i], y[i]), []).append(i)
        rng = self.rng
        accepted = tried = 0
        eta_l = eta.tolist()
        cell_l = cell.tolist()

        def loglik(e: float, yi: int) -> float:
            # Bernoulli log-likelihood on the logit scale, stable for large |e|
            return yi * e - (e + math.log1p(math.exp(-e)) if e > 0 else math.log1p(math.exp(e)))

        for f in range(len(self.factors)):
            val = values[f].tolist()
            eff = effects[f].tolist()
            key = keys[f].tolist()  # patients x constraints
            mask = masks[f].tolist()  # constraints x levels
            n_con = len(mask)
            st = stride[f]

            # loop values bound as defaults: these helpers belong to this factor's sweep
            def valid(moved: list[int], new: list[int], key: list = key, val: list = val,
                      mask: list = mask, n_con: int = n_con) -> bool:
                for c in range(n_con):
                    before = sorted((key[i][c], val[i]) for i in moved if key[i][c] >= 0
                                    and mask[c][val[i]])
                    after = sorted((key[i][c], v) for i, v in zip(moved, new, strict=True)
                                   if key[i][c] >= 0 and mask[c][v])
                    if before != after:
                        return False
                return True

            def attempt(moved: list[int], new: list[int], val: list = val, eff: list = eff,
                        st: int = st) -> bool:
                # log density change: likelihood of the moved patients + covariate prior
                d = 0.0
                changes: dict[tuple[int, int], int] = {}
                new_eta, new_cell = [], []
                for i, v in zip(moved, new, strict=True):
                    e = eta_l[i] + eff[v] - eff[val[i]]
                    d += loglik(e, y[i]) - loglik(eta_l[i], y[i])
                    c_new = cell_l[i] + (v - val[i]) * st
                    changes[(ph[i], cell_l[i])] = changes.get((ph[i], cell_l[i]), 0) - 1
                    changes[(ph[i], c_new)] = changes.get((ph[i], c_new), 0) + 1
                    new_eta.append(e)
                    new_cell.append(c_new)
                for (p, c), dc in changes.items():
                    if dc:
                        d += gl[counts[p, c] + dc] - gl[counts[p, c]]
                if d >= 0 or rng.random() < math.exp(d):
                    for (p, c), dc in changes.items():
                        counts[p, c] += dc
                    for i, v, e, c_new in zip(moved, new, new_eta, new_cell, strict=True):
                        val[i], eta_l[i], cell_l[i] = v, e, c_new
                    return True
                return False

            m = self.proposals * n
            picks = rng.integers(0, 1 << 30, size=(2 * m, 5))
            for t in range(2 * m):
                r = picks[t]
                i = int(r[0]) % n
                if t < m:  # pair swap within (study part, CR)
                    pool = pools[(ph[i], y[i])]
                    j = pool[int(r[1]) % len(pool)]
                    if j == i or val[j] == val[i]:
                        continue
                    moved, new = [i, j], [val[j], val[i]]
                else:  # four-patient cycle across two study parts and both CR groups
                    other = [p for p in range(n_phase) if p != ph[i]]
                    if not other:
                        continue
                    b = other[int(r[1]) % len(other)]
                    pj = pools.get((ph[i], 1 - y[i]))
                    pk = pools.get((b, 1 - y[i]))
                    pl = pools.get((b, y[i]))
                    if not pj or not pk or not pl:
                        continue
                    j, k = pj[int(r[2]) % len(pj)], pk[int(r[3]) % len(pk)]
                    l_ = pl[int(r[4]) % len(pl)]
                    if val[i] == val[j] or val[k] == val[l_]:
                        continue
                    moved, new = [i, j, k, l_], [val[j], val[i], val[l_], val[k]]
                if not valid(moved, new):
                    continue
                tried += 1
                accepted += attempt(moved, new)
            values[f] = np.array(val, dtype="int64")

        new_point = dict(point)
        for name, v in zip(self.var_names, values, strict=True):
            new_point[name] = v.astype(point[name].dtype)
        stats = {"table_accept": accepted / tried if tried else 0.0, "table_moves": accepted}
        return new_point, [stats]

    @staticmethod
    def competence(var: Any, has_grad: bool) -> Any:
        """Never assigned automatically: the model chooses this step explicitly."""
        return Competence.INCOMPATIBLE
