"""Several factors at once from published margins: margins, table moves, model, calibration.

* the margins read from the packaged data are the published numbers, and a table meeting
  them reproduces them exactly (:func:`margins_of` round trip);
* contradictory or malformed margins are one clear error;
* the table moves connect every table meeting the trial's margins (enumerated);
* with the parameters held fixed, the table step's stationary distribution is the exact
  one (enumerated over every patient table of a small trial);
* a fit on the trial's margins, reproducibility, summaries;
* a reduced simulation-based calibration (the full one: ``scripts/validate_multifactor.py``).
"""

from __future__ import annotations

import itertools
import tomllib
from collections import deque

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from bayesblina.analyses.multifactor.model import MultifactorModel
from bayesblina.analyses.multifactor.validation import sbc, sbc_checks
from bayesblina.analyses.registry import parse_spec
from bayesblina.core.spec import SamplerSettings, SummarySettings
from bayesblina.errors import DataError, SpecError
from bayesblina.reconstruct.margins import (
    AGE_LT2,
    LEVELS,
    Margins,
    margins_of,
    published_margins,
)

PRIOR = {"mu": {"family": "normal", "mu": -0.8473, "sigma": 1.5},
         "tau": {"family": "half_normal", "sigma": 1.0}}


def _count(m: Margins, margin: str, level: str, **by: str) -> int:
    rows = m.rows[(m.rows["margin"] == margin) & (m.rows["level"] == level)]
    for k, v in by.items():
        rows = rows[rows[k] == v]
    assert len(rows) == 1, (margin, level, by)
    return int(rows["count"].iat[0])


# --------------------------------------------------------------------------------------
# margins
# --------------------------------------------------------------------------------------


def test_published_margins_are_the_papers_numbers() -> None:
    m = published_margins(("age", "refractory"))
    assert m.n_patients == 70
    assert int(m.patients["cr"].sum()) == 27
    # Fig 1 / Table 1: age by part
    assert [_count(m, "phase x age", a, phase="pk_expansion") for a in LEVELS["age"]] == [8, 9, 9]
    assert [_count(m, "phase x age", a, phase="phase_2") for a in LEVELS["age"]] == [2, 11, 31]
    # Fig 2: CR by age and by refractory disease
    assert [_count(m, "cr x age", a, cr="1") for a in LEVELS["age"]] == [6, 8, 13]
    assert [_count(m, "cr x refractory", r, cr="1") for r in ("yes", "no")] == [12, 15]
    assert [_count(m, "cr x refractory", r, cr="0") for r in ("yes", "no")] == [27, 16]
    # Table 1: 26 of 44 refractory in phase II, 39 of 70 overall -> 13 of 26 in the expansion
    assert _count(m, "phase x refractory", "yes", phase="phase_2") == 26
    assert _count(m, "phase x refractory", "yes", phase="pk_expansion") == 13
    # Table 2: the < 2 year olds, 2/2 CR with < 50% blasts and 4/8 with >= 50%
    assert _count(m, AGE_LT2, "<2", marrow_blasts="<50%", cr="1") == 2
    assert _count(m, AGE_LT2, "<2", marrow_blasts="<50%", cr="0") == 0
    assert _count(m, AGE_LT2, "<2", marrow_blasts=">=50%", cr="1") == 4
    assert _count(m, AGE_LT2, "<2", marrow_blasts=">=50%", cr="0") == 4
    # Table 2: CR by blasts within each part (PK expansion: 5/6 and 8/20)
    pts = m.patients
    exp = pts[pts["phase"] == "pk_expansion"]
    assert exp.groupby("marrow_blasts")["cr"].agg(["sum", "size"]).to_dict("list") == {
        "sum": [5, 8], "size": [6, 20]}


@pytest.mark.parametrize("factors", [("age", "refractory"),
                                     ("age", "refractory", "previous_hsct", "region",
                                      "previous_relapses")])
def test_feasible_table_reproduces_the_margins(factors: tuple[str, ...]) -> None:
    m = published_margins(factors)
    tables = [m.feasible_assignment(np.random.default_rng(s)) for s in (1, 2)]
    for table in tables:
        assert m.violations(table) == []
        pts = m.patients.copy()
        for f, v in table.items():
            pts[f] = [LEVELS[f][i] for i in v]
        again = margins_of(pts, m.latent_factors)
        key = ["margin", "level", "phase", "marrow_blasts", "cr"]
        a = m.rows.drop(columns="source").sort_values(key).reset_index(drop=True)
        b = again.rows.drop(columns="source").sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
    # different seeds, different starting tables (chains start apart)
    assert any(not np.array_equal(tables[0][f], tables[1][f]) for f in factors)


def _edit(rows: pd.DataFrame, margin: str, level: str, count: int, **by: str) -> pd.DataFrame:
    rows = rows.copy()
    hit = (rows["margin"] == margin) & (rows["level"] == level)
    for k, v in by.items():
        hit &= rows[k] == v
    assert hit.sum() == 1
    rows.loc[hit, "count"] = count
    return rows


def test_bad_margins_are_one_clear_error() -> None:
    rows = published_margins().rows
    with pytest.raises(DataError, match=r"'cr x age'.*add up to 71 patients, not the 70"):
        Margins(_edit(rows, "cr x age", "<2", 7, cr="1"))
    with pytest.raises(DataError, match="not a non-negative integer"):
        Margins(_edit(rows, "phase x age", "<2", -1, phase="phase_2"))
    # the < 2 years split by blasts and CR counts 5 infants with CR, Fig 2 counts 6
    bad = _edit(_edit(rows, AGE_LT2, "<2", 1, marrow_blasts="<50%", cr="1"),
                AGE_LT2, "<2", 1, marrow_blasts="<50%", cr="0")
    with pytest.raises(DataError, match=r"no table of the 70 patients meets .*'age'.*contradict"):
        MultifactorModel(bad, PRIOR)
    unknown = rows.copy()
    unknown.loc[unknown["level"] == "<2", "level"] = "<1"
    with pytest.raises(DataError, match=r"unknown level\(s\) \['<1'\] of 'age'"):
        Margins(unknown, levels=LEVELS)


def test_spec_errors_name_the_key(tmp_path) -> None:
    text = (pytest.importorskip("pathlib").Path(__file__).resolve().parents[3]
            / "models" / "subgroups_multifactor.toml").read_text(encoding="utf-8")

    raw = tomllib.loads(text)
    raw["data"]["factors"] = ["age", "marrow_blasts"]
    with pytest.raises(SpecError, match="known per patient"):
        parse_spec(raw, where="x.toml")
    raw["data"]["factors"] = ["age", "eye_colour"]
    with pytest.raises(SpecError, match="unknown factor 'eye_colour'"):
        parse_spec(raw, where="x.toml")
    raw = tomllib.loads(text)
    raw["options"]["covariate_concentration"] = 0
    with pytest.raises(SpecError, match="covariate_concentration"):
        parse_spec(raw, where="x.toml")
    with pytest.raises(SpecError, match=r"options.contrasts.*'<1'"):
        MultifactorModel(published_margins().rows, PRIOR, {"contrasts": [["age", "<1", "<2"]]})
    # the spec check builds no model, and still finds a contrast the model cannot report
    raw = tomllib.loads(text)
    raw["options"]["contrasts"] = [["region", "Europe", "United States"]]
    with pytest.raises(SpecError, match=r"x.toml: .*'options.contrasts': factor 'region' is "
                                        r"not in the model; allowed: \['marrow_blasts', 'age'"):
        parse_spec(raw, where="x.toml")
    raw["options"]["contrasts"] = [["age", "<2", "7-17"]]
    assert parse_spec(raw, where="x.toml").options.contrasts == [("age", "<2", "7-17")]


# --------------------------------------------------------------------------------------
# the table moves connect every table meeting the trial's margins
# --------------------------------------------------------------------------------------


def _fiber_and_moves(m: Margins, factor: str) -> tuple[set, set]:
    """Every count table c[type][level] meeting the margins, and those the moves reach."""
    types, of = m._types(factor)
    size = np.bincount(of, minlength=len(types))
    n_l = len(LEVELS[factor])
    cons = [c for c in m.constraints if c.factor == factor]
    codes = {"phase": 0, "marrow_blasts": 1, "cr": 2}

    def group_of(c, ty):
        vals = tuple(LEVELS[b][ty[codes[b]]] if b != "cr" else str(ty[2]) for b in c.by)
        return c.groups.index(vals) if vals in c.groups else -1

    gidx = [[group_of(c, ty) for ty in types] for c in cons]

    def comps(n, k):
        if k == 1:
            yield (n,)
            return
        for i in range(n + 1):
            for r in comps(n - i, k - 1):
                yield (i, *r)

    # margins as a linear map of the flattened (type x level) table
    rows, target = [], []
    for c, g in zip(cons, gidx, strict=True):
        for gi in range(len(c.groups)):
            for k, lv in enumerate(c.levels):
                row = np.zeros(len(types) * n_l, dtype="int64")
                for t in range(len(types)):
                    if g[t] == gi:
                        row[t * n_l + LEVELS[factor].index(lv)] = 1
                rows.append(row)
                target.append(c.target[gi, k])
    lin, target = np.array(rows), np.array(target)

    # enumerate: per study part, rows meeting the part's counts (the last type's row is
    # what is left); then join the two parts on the remaining margins
    parts = []
    for p in range(2):
        ts = [t for t, ty in enumerate(types) if ty[0] == p]
        con = next(c for c in cons if c.by == ("phase",))
        want = np.array(con.target[gidx[cons.index(con)][ts[0]]])
        tables = []
        for head in itertools.product(*[list(comps(int(size[t]), n_l)) for t in ts[:-1]]):
            last = want - np.sum(head, axis=0)
            if (last >= 0).all() and last.sum() == size[ts[-1]]:
                flat = np.zeros(len(types) * n_l, dtype="int64")
                for t, r in zip(ts, [*head, tuple(last)], strict=True):
                    flat[t * n_l:(t + 1) * n_l] = r
                tables.append(flat)
        parts.append(np.array(tables))
    by_key: dict[tuple, list[int]] = {}
    for j, contrib in enumerate(parts[1] @ lin.T):
        by_key.setdefault(tuple(contrib), []).append(j)
    fiber = set()
    for i, contrib in enumerate(parts[0] @ lin.T):
        for j in by_key.get(tuple(target - contrib), []):
            row = parts[0][i] + parts[1][j]
            fiber.add(tuple(tuple(int(v) for v in row[t * n_l:(t + 1) * n_l])
                            for t in range(len(types))))

    # breadth-first search with the count-level versions of the two moves, vectorised:
    # every move is a fixed change vector of the flattened (type x level) table
    same = {}
    for t, ty in enumerate(types):
        same.setdefault((ty[0], ty[2]), []).append(t)
    moves = []

    def move(changes):
        d = np.zeros(len(types) * n_l, dtype="int64")
        for t, k, sign in changes:
            d[t * n_l + k] += sign
        return d

    for ts in same.values():  # pair swaps between types of one (part, CR)
        for t, t2 in itertools.permutations(ts, 2):
            for u, v in itertools.permutations(range(n_l), 2):
                moves.append(move([(t, u, -1), (t, v, 1), (t2, v, -1), (t2, u, 1)]))
    for a, b in ((0, 1), (1, 0)):  # four-patient cycles
        for y in (0, 1):
            for ti, tj, tk, tl in itertools.product(same[(a, y)], same[(a, 1 - y)],
                                                    same[(b, 1 - y)], same[(b, y)]):
                for u, v in itertools.permutations(range(n_l), 2):
                    moves.append(move([(ti, u, -1), (ti, v, 1), (tj, v, -1), (tj, u, 1),
                                       (tk, u, -1), (tk, v, 1), (tl, v, -1), (tl, u, 1)]))
    moves = np.unique(np.array(moves), axis=0)
    start = next(iter(fiber))
    seen, queue = {start}, deque([start])
    while queue:
        table = queue.popleft()
        new = np.array(table).ravel() + moves
        new = new[(new >= 0).all(axis=1) & (new @ lin.T == target).all(axis=1)]
        for row in new:
            key = tuple(tuple(int(v) for v in row[t * n_l:(t + 1) * n_l])
                        for t in range(len(types)))
            if key not in seen:
                seen.add(key)
                queue.append(key)
    return fiber, seen


@pytest.mark.slow
@pytest.mark.parametrize("factor,size", [("refractory", 4044), ("age", 8992)])
def test_moves_connect_every_table_of_the_trial(factor: str, size: int) -> None:
    m = published_margins(("age", "refractory"))
    fiber, reached = _fiber_and_moves(m, factor)
    assert len(fiber) == size  # count tables (type x level) meeting the margins
    assert reached == fiber


# --------------------------------------------------------------------------------------
# the table step's stationary distribution is the exact one
# --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.mcmc
@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_table_step_samples_the_exact_conditional(alpha: float) -> None:
    rng = np.random.default_rng(11)
    n = 11
    pts = pd.DataFrame({
        "phase": ["pk_expansion"] * 5 + ["phase_2"] * 6,
        "marrow_blasts": rng.choice(["<50%", ">=50%"], n), "cr": rng.integers(0, 2, n),
        "age": rng.choice(LEVELS["age"], n), "refractory": rng.choice(["yes", "no"], n)})
    mg = margins_of(pts, ["age", "refractory"])
    model = MultifactorModel(mg.rows, PRIOR, {"proposals": 1, "covariate_concentration": alpha})
    pm_model = model.build()
    with pm_model:
        _, step = model.pymc_step(0.9)
    step.set_rng(np.random.default_rng(5))
    point = {k: np.asarray(v) for k, v in pm_model.initial_point().items()}
    tau = np.array([1.0, 1.5, 0.8])
    z = {"marrow_blasts": np.array([0.5, -0.5]), "age": np.array([1.5, 0.0, -1.2]),
         "refractory": np.array([-0.6, 0.6])}
    point.update({"mu": np.array(-0.3), "tau_log__": np.log(tau),
                  **{f"z_{f}": v for f, v in z.items()}})
    point.update(model.initvals(1, 7)[0])
    # exact: every patient table meeting the margins, weighted by likelihood x DM prior
    mm = model.margins
    ph, bl, y = (mm.known_index(a) for a in ("phase", "marrow_blasts", "cr"))

    def meets(values: np.ndarray, factor: str) -> np.ndarray:
        keep = np.ones(len(values), bool)
        for c in (c for c in mm.constraints if c.factor == factor):
            g = mm.group_index(c)
            for gi in range(len(c.groups)):
                for k, lv in enumerate(c.levels):
                    hit = (values == LEVELS[factor].index(lv)) & (g == gi)
                    keep &= hit.sum(axis=1) == c.target[gi, k]
        return values[keep]

    ages = meets(np.array(list(itertools.product(range(3), repeat=n))), "age")
    refs = meets(np.array(list(itertools.product(range(2), repeat=n))), "refractory")
    a = np.repeat(ages, len(refs), axis=0)
    r = np.tile(refs, (len(ages), 1))
    beta = {f: t * z[f] for f, t in zip(("marrow_blasts", "age", "refractory"), tau,
                                        strict=True)}
    eta = -0.3 + beta["marrow_blasts"][bl] + beta["age"][a] + beta["refractory"][r]
    logw = (y * eta - np.logaddexp(0, eta)).sum(axis=1)
    cell = bl + 2 * a + 6 * r
    for p in range(2):
        counts = np.stack([((cell == c) & (ph == p)).sum(axis=1) for c in range(12)], axis=1)
        logw += special.gammaln(alpha + counts).sum(axis=1)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    exact_age = np.stack([(w[:, None] * (a == k)).sum(axis=0) for k in range(3)])
    exact_ref = (w[:, None] * (r == 0)).sum(axis=0)
    # a non-trivial distribution: many tables, many uncertain patient levels
    assert len(a) > 1000 and ((exact_age > 0.05) & (exact_age < 0.95)).sum() >= 10
    n_steps = 12000
    freq_age, freq_ref = np.zeros((3, n)), np.zeros(n)
    for _ in range(n_steps):
        point, _stats = step.step(point)
        assert mm.violations({"age": point["latent_age"],
                              "refractory": point["latent_refractory"]}) == []
        for k in range(3):
            freq_age[k] += point["latent_age"] == k
        freq_ref += point["latent_refractory"] == 0
    # Monte Carlo SE of these frequencies is below 0.008 here; 0.035 is > 4 SE
    assert np.abs(freq_age / n_steps - exact_age).max() < 0.035
    assert np.abs(freq_ref / n_steps - exact_ref).max() < 0.035


# --------------------------------------------------------------------------------------
# fitting the trial's margins
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trial_fit():
    model = MultifactorModel(published_margins().rows, PRIOR, {"proposals": 1})
    s = SamplerSettings(draws=150, tune=150, chains=2, cores=1, target_accept=0.95, seed=3)
    return model, s, model.fit(s)


@pytest.mark.slow
@pytest.mark.mcmc
def test_fit_is_reproducible_and_keeps_every_margin(trial_fit) -> None:
    model, s, idata = trial_fit
    again = model.fit(s)
    np.testing.assert_array_equal(idata.posterior["log_odds_ratio"].values,
                                  again.posterior["log_odds_ratio"].values)
    post = idata.posterior
    for c in range(post.sizes["chain"]):
        for d in range(0, post.sizes["draw"], 25):
            table = {f: post[f"latent_{f}"].values[c, d] for f in model.latent}
            assert model.margins.violations(table) == []
    assert idata.posterior.attrs["data_sha256"] == model.data_checksum()


@pytest.mark.slow
@pytest.mark.mcmc
def test_summaries_and_adjustment_table(trial_fit) -> None:

    model, _, idata = trial_fit
    summary = model.summarise(idata, SummarySettings())
    assert set(summary["quantity"]) == {"log_odds_ratio", "standardised_rate",
                                        "standardised_difference", "tau", "mu"}
    lor = summary[summary["quantity"] == "log_odds_ratio"]
    assert list(lor["population"]) == ["marrow_blasts: <50% vs >=50%", "age: <2 vs 7-17",
                                       "age: 2-6 vs 7-17", "refractory: no vs yes"]
    adj = model.adjustment_table(idata)
    row = adj.set_index("contrast").loc["age: <2 vs 7-17"]
    assert row["raw_difference"] == pytest.approx(6 / 10 - 13 / 40)
    assert row["crude_log_or"] == pytest.approx(np.log(6 / 4) - np.log(13 / 27))
    ref = model.reference_table().set_index("population")
    assert ref.loc["age=<2", ["x", "n"]].tolist() == [6, 10]
    assert ref.loc["age=<2", "published_pct"] == 60.0  # Fig 2
    assert round(100 * ref.loc["age=<2", "cp_low"], 1) == ref.loc["age=<2", "published_ci_low"]
    tables = model.imputed_tables(idata)
    # the < 2 year olds' blasts are published (2 below 50%): the imputation must keep them
    hit = tables[(tables["factor_a"] == "marrow_blasts") & (tables["level_a"] == "<50%")
                 & (tables["level_b"] == "<2")]
    assert hit["mean_count"].iat[0] == 2.0 and hit["low"].iat[0] == hit["high"].iat[0] == 2


# --------------------------------------------------------------------------------------
# reduced simulation-based calibration
# --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.mcmc
def test_reduced_sbc_is_calibrated() -> None:

    kw = {"data": published_margins().rows, "prior": PRIOR, "options": {"proposals": 1}}
    s = SamplerSettings(draws=200, tune=200, chains=2, cores=1, target_accept=0.95)
    table = sbc(kw, 16, seed=7, settings=s, n_keep=39, workers=2)
    assert table["rep"].nunique() == 16 and len(table) == 64
    checks = sbc_checks(table, n_bins=4)
    # 64 intervals at 90%: outside [48, 63] covered has probability < 0.002 under calibration
    covered = int(table["covered90"].sum())
    assert stats.binom(64, 0.9).cdf(47) < 0.002
    assert 48 <= covered <= 63, covered
    # ranks of all contrasts pooled: uniform on 0..39 (chi-square, 4 bins)
    counts, _ = np.histogram(table["rank"], bins=np.linspace(0, 40, 5))
    assert stats.chisquare(counts).pvalue > 0.001, counts
    assert (checks["p_value"].dropna() > 0.0005).all()
