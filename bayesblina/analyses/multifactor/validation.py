"""Simulation validation of the several-factors model fitted to published margins only.

Two studies, both simulating trials of 26 (PK expansion) + 44 (phase II) patients, keeping
only the margins the paper would print (:func:`bayesblina.reconstruct.margins.margins_of`) and
fitting :class:`~bayesblina.analyses.multifactor.model.MultifactorModel` to them:

* :func:`sbc` — simulation-based calibration (Talts et al. 2018): truths drawn from the
  model's own prior (``mu``, ``tau``, ``z``; per study part a covariate table
  ``pi ~ Dirichlet(a)``), so the rank of each true adjusted log odds ratio among the
  posterior draws is uniform and a ``q`` central interval covers it with probability
  ``q`` if and only if the fit is right;
* :func:`fixed_truth` — a few fixed, realistic truths (:data:`TRUTHS`), showing what the
  margins identify: bias, coverage, and how much narrower the posterior is than the prior
  (``sd_ratio``; near 1: the margins say little about that effect).

Both simulate this trial's structure (its parts and sizes, :data:`PHASE_SIZES`, and its
levels, :data:`~bayesblina.reconstruct.margins.LEVELS`): they validate the model fitted
to this trial's packaged margins, not to margins given inline.

The replications run in batches through :func:`bayesblina.core.parallel.run_batches`: in
this process, on every local core, or on a Dask cluster, and resumable from a folder of
finished batches. Replication ``r`` is seeded by ``numpy.random.default_rng([seed, r])`` (a
``SeedSequence`` keyed by the study's seed and the replication), so a table does not depend
on where its replications ran, on the number of workers or on the batch size.

``scripts/validate_multifactor.py`` runs both at full size and writes the tables the docs
quote; ``tests/analyses/multifactor/test_model.py`` runs a reduced version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel
from scipy import stats

from bayesblina.analyses.multifactor.model import MultifactorModel
from bayesblina.analyses.multifactor.terms import contrast_name
from bayesblina.analyses.subgroups.quadrature import scipy_prior
from bayesblina.core.parallel import run_batches
from bayesblina.core.spec import SamplerSettings
from bayesblina.errors import SpecError
from bayesblina.reconstruct.margins import LEVELS, PHASES, Margins, margins_of

if TYPE_CHECKING:
    import distributed

PHASE_SIZES = {"pk_expansion": 26, "phase_2": 44}
@dataclass(frozen=True)
class Truth:
    """A fixed truth: effects per factor level (log odds) and covariate association."""

    name: str
    description: str
    mu: float
    beta: dict[str, dict[str, float]]
    #: log odds added to the covariate cells named ``(factor, level, factor, level)``
    association: tuple[tuple[str, str, str, str, float], ...] = ()


#: realistic truths (phase II-like CR rates near 30-40%)
TRUTHS = (
    Truth("null", "no factor matters (every log OR 0)", -0.45, {}),
    Truth("blasts_only", "only blasts matter (log OR 1.0 for < 50%); age and refractory 0",
          -0.75, {"marrow_blasts": {"<50%": 1.0}}),
    Truth(
        "confounded_age",
        "infants respond (log OR 1.2 for < 2 vs 7-17), refractory does not; infants are "
        "mostly not refractory (log odds +2 for the <2 & not-refractory cells)",
        -0.6, {"age": {"<2": 1.2}}, (("age", "<2", "refractory", "no", 2.0),),
    ),
    Truth("as_published", "effects near the trial's margins: blasts 0.9, age<2 0.9, "
          "2-6 0.3, refractory no 0.7", -1.3,
          {"marrow_blasts": {"<50%": 0.9}, "age": {"<2": 0.9, "2-6": 0.3},
           "refractory": {"no": 0.7}}),
)


def _cells(factors: Sequence[str]) -> list[dict[str, str]]:
    """Every covariate cell (blasts x latent factors) as ``{factor: level}``."""
    cells = [{"marrow_blasts": b} for b in LEVELS["marrow_blasts"]]
    for f in factors:
        cells = [{**c, f: lv} for lv in LEVELS[f] for c in cells]
    return cells


def simulate_patients(
    rng: np.random.Generator,
    factors: Sequence[str],
    terms: Sequence[str],
    mu: float,
    beta: dict[str, np.ndarray],
    pi: dict[str, np.ndarray],
) -> pd.DataFrame:
    """One trial: covariates from ``pi`` per study part, CR from the logistic model."""
    cells = _cells(factors)
    rows = []
    for phase in PHASES:
        draws = rng.choice(len(cells), size=PHASE_SIZES[phase], p=pi[phase])
        for c in draws:
            rows.append({"phase": phase, **cells[c]})
    pts = pd.DataFrame(rows)
    eta = np.full(len(pts), mu)
    for f in terms:
        eta += beta[f][[LEVELS[f].index(v) for v in pts[f]]]
    pts["cr"] = (rng.random(len(pts)) < 1 / (1 + np.exp(-eta))).astype(int)
    return pts


def _contrast_truth(model: MultifactorModel, beta: dict[str, np.ndarray]) -> np.ndarray:
    return np.array([beta[f][LEVELS[f].index(a)] - beta[f][LEVELS[f].index(b)]
                     for f, a, b in model.contrasts()])


def draw_prior_truth(
    rng: np.random.Generator, model: MultifactorModel
) -> tuple[float, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``mu``, ``beta`` per term and ``pi`` per study part from the model's prior."""
    priors = model.prior.parameter_priors()
    mu = float(scipy_prior(priors["mu"]).rvs(random_state=rng))
    beta = {}
    for f in model.terms:
        tau = float(scipy_prior(priors["tau"]).rvs(random_state=rng))
        beta[f] = tau * rng.standard_normal(len(LEVELS[f]))
    k = len(_cells(model.latent))
    a = model.options.covariate_concentration
    pi = {p: rng.dirichlet(np.full(k, a)) for p in PHASES}
    return mu, beta, pi


def _fit_one(model: MultifactorModel, pts: pd.DataFrame, settings: SamplerSettings) -> Any:
    model.set_data(margins_of(pts, model.latent).rows)
    return model.fit(settings)


#: the model a process last built, by token of its spec, with the spec's own margins: built
#: and compiled once per process (a worker of a cluster, or this process), then refitted
#: batch after batch (each fit replaces its data, so the spec's margins are kept aside)
_MODELS: dict[str, tuple[MultifactorModel, Margins]] = {}


def _model(token: str, spec_kw: dict[str, Any]) -> tuple[MultifactorModel, Margins]:
    if token not in _MODELS:
        _MODELS.clear()  # one at a time: a compiled model is large
        model = MultifactorModel(**spec_kw)
        _MODELS[token] = (model, model.margins)
    return _MODELS[token]


def _replicate(model: MultifactorModel, published: Margins, truth: Truth | None, rep: int,
               seed: int, settings: SamplerSettings, n_keep: int) -> list[dict[str, Any]]:
    """One replication: truth, trial, margins, fit; one row per contrast.

    ``published``: the spec's margins, which a fixed truth's covariates follow (not
    ``model.margins``: those are the previous replication's once the model was refitted).
    """
    # the replication's seed is (study seed, replication), whichever process runs it: the
    # tables do not depend on the backend, the workers or the batch size
    rng = np.random.default_rng([seed, rep])
    if truth is None:  # SBC: the truth is a draw from the prior
        mu, beta, pi = draw_prior_truth(rng, model)
    else:
        mu, beta, pi = _fixed(truth, model, published)
    pts = simulate_patients(rng, model.latent, model.terms, mu, beta, pi)
    s = settings.model_copy(update={"seed": int(rng.integers(2**31))})
    idata = _fit_one(model, pts, s)
    lor = idata.posterior["log_odds_ratio"]
    draws = lor.stack(sample=("chain", "draw")).transpose("sample", "contrast").values
    thin = draws[np.linspace(0, len(draws) - 1, n_keep).astype(int)]
    true = _contrast_truth(model, beta)
    n_div = int(idata.sample_stats["diverging"].sum())
    out = []
    for j, c in enumerate(model.contrasts()):
        lo, hi = np.quantile(draws[:, j], [0.05, 0.95])
        out.append({
            "truth_name": "prior" if truth is None else truth.name,
            "rep": rep, "contrast": contrast_name(*c), "truth": float(true[j]),
            "rank": int((thin[:, j] < true[j]).sum()), "n_ranks": n_keep + 1,
            "mean": float(draws[:, j].mean()), "sd": float(draws[:, j].std()),
            "q05": float(lo), "q95": float(hi), "covered90": bool(lo <= true[j] <= hi),
            "divergences": n_div,
        })
    return out


#: the columns of a replication table, in order
COLUMNS = ("truth_name", "rep", "contrast", "truth", "rank", "n_ranks", "mean", "sd", "q05",
           "q95", "covered90", "divergences")


@dataclass(frozen=True)
class _Replications:
    """Batch ``i`` of a study: its replications' rows, as columns.

    A task of :func:`~bayesblina.core.parallel.run_batches`: picklable, so it runs on a
    cluster.
    """

    spec_kw: dict[str, Any]
    #: ``(truth, replication)``; ``truth`` None: a draw from the prior (SBC)
    tasks: tuple[tuple[Truth | None, int], ...]
    seed: int
    settings: SamplerSettings
    n_keep: int
    batch_size: int
    #: names the spec: a process reuses the model it built for the same token
    token: str

    def __call__(self, i: int) -> dict[str, np.ndarray]:
        model, published = _model(self.token, self.spec_kw)
        rows = [row for truth, rep in self.tasks[i * self.batch_size:(i + 1) * self.batch_size]
                for row in _replicate(model, published, truth, rep, self.seed, self.settings,
                                      self.n_keep)]
        return {c: np.array([r[c] for r in rows]) for c in COLUMNS}


def _fixed(truth: Truth, model: MultifactorModel,
           published: Margins) -> tuple[float, dict, dict]:
    beta = {f: np.array([truth.beta.get(f, {}).get(lv, 0.0) for lv in LEVELS[f]])
            for f in model.terms}
    cells = _cells(model.latent)
    # covariates: the trial's published margins per study part, independent, plus the
    # truth's associations (log odds added to the matching cells)
    m = published
    pi = {}
    for phase in PHASES:
        logw = np.zeros(len(cells))
        pts = m.patients[m.patients["phase"] == phase]
        share_bl = {b: max((pts["marrow_blasts"] == b).mean(), 1e-3)
                    for b in LEVELS["marrow_blasts"]}
        for i, c in enumerate(cells):
            logw[i] += np.log(share_bl[c["marrow_blasts"]])
            for f in model.latent:
                con = next(x for x in m.constraints if x.margin == f"phase x {f}")
                g = con.groups.index((phase,))
                n_f = con.target[g]
                logw[i] += np.log(max(n_f[con.levels.index(c[f])], 0.5) / n_f.sum())
            for fa, la, fb, lb, w in truth.association:
                if c.get(fa) == la and c.get(fb) == lb:
                    logw[i] += w
        pi[phase] = np.exp(logw - logw.max()) / np.exp(logw - logw.max()).sum()
    return truth.mu, beta, pi


def _run(spec_kw: dict[str, Any], tasks: list[tuple[Truth | None, int]], seed: int,
         settings: SamplerSettings, n_keep: int, study: str, backend: dict[str, Any],
         batch_size: int) -> pd.DataFrame:
    """The replications' table, computed in batches by ``run_batches``.

    ``backend``: its ``workers``, ``client``, ``scheduler``, ``out_dir`` and ``progress``.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise SpecError(f"batch_size must be a whole number >= 1 (got {batch_size!r})")
    spec = _spec_token(spec_kw)
    task = _Replications(spec_kw, tuple(tasks), seed, settings, n_keep, batch_size, spec)
    key = {"study": study, "seed": seed, "spec_sha256": spec, "n_keep": n_keep,
           "batch_size": batch_size, "settings": settings.model_dump(mode="json"),
           "replications": [[None if t is None else t.name, r] for t, r in tasks],
           "truths": sorted({json.dumps(asdict(t)) for t, _ in tasks if t is not None})}
    n_batches = -(-len(tasks) // batch_size)
    batches = run_batches(task, n_batches, key=key, **backend)
    table = pd.DataFrame({c: np.concatenate([b[c] for b in batches]) for c in COLUMNS})
    # numpy's fixed-width strings back to Python strings, as a table of rows would hold
    for c in ("truth_name", "contrast"):
        table[c] = table[c].astype(object)
    return table.sort_values(["truth_name", "rep", "contrast"]).reset_index(drop=True)


def _spec_token(spec_kw: dict[str, Any]) -> str:
    """SHA-256 of what the model is built from (margins, prior, options), as text."""
    def plain(obj: Any) -> Any:
        if isinstance(obj, pd.DataFrame):
            return obj.to_csv(index=False)
        if isinstance(obj, BaseModel):
            return obj.model_dump(mode="json")
        return repr(obj)

    text = json.dumps(spec_kw, sort_keys=True, default=plain)
    return hashlib.sha256(text.encode()).hexdigest()


def sbc(
    spec_kw: dict[str, Any],
    n_reps: int = 200,
    *,
    seed: int = 2016,
    settings: SamplerSettings | None = None,
    n_keep: int = 99,
    workers: int | None = 1,
    client: distributed.Client | None = None,
    scheduler: str | None = None,
    out_dir: str | Path | None = None,
    batch_size: int = 1,
    progress: bool | Callable[[int, int], None] = False,
) -> pd.DataFrame:
    """Simulation-based calibration: one row per replication and adjusted contrast.

    Parameters
    ----------
    spec_kw : dict
        ``data`` (margins rows), ``prior`` and ``options`` for :class:`MultifactorModel`.
    n_reps : int
        Replications (truth drawn from the prior, trial simulated, margins fitted).
    seed : int
        Seed of the whole study: same seed, identical table.
    settings : SamplerSettings
        Sampler settings of each fit (its seed is replaced per replication).
    n_keep : int
        Posterior draws kept (evenly spaced) for the rank; ranks take ``n_keep + 1`` values.
    workers, client, scheduler, out_dir, progress
        Where the replications run and where finished batches are kept, as in
        :func:`~bayesblina.core.parallel.run_batches` (``workers=1``, the default: in this
        process; ``None``: every local core where that pays). Each process builds and
        compiles the model once and refits it for every replication it is given.
    batch_size : int
        Replications per batch (the unit that is resumed from ``out_dir``).

    Returns
    -------
    pandas.DataFrame
        ``truth_name, rep, contrast, truth, rank, n_ranks, mean, sd, q05, q95, covered90,
        divergences``. Replication ``r`` is seeded by ``(seed, r)``: the same table whatever
        the backend, the number of workers or the batch size.
    """
    settings = settings or SamplerSettings(draws=500, tune=500, chains=2, cores=1)
    backend = {"workers": workers, "client": client, "scheduler": scheduler,
               "out_dir": out_dir, "progress": progress}
    return _run(spec_kw, [(None, r) for r in range(n_reps)], seed, settings, n_keep,
                "multifactor_sbc", backend, batch_size)


def sbc_checks(table: pd.DataFrame, n_bins: int = 10) -> pd.DataFrame:
    """Coverage of the 90% intervals and a chi-square test of rank uniformity per contrast.

    Returns one row per contrast plus ``"pooled"``: ``coverage90``, ``chi2``, ``df``,
    ``p_value`` (ranks in ``n_bins`` equal bins; pooled: coverage only).
    """
    rows = []
    n_ranks = int(table["n_ranks"].iat[0])
    edges = np.linspace(0, n_ranks, n_bins + 1)
    for name, sub in table.groupby("contrast", sort=False):
        counts, _ = np.histogram(sub["rank"], bins=edges)
        expected = len(sub) * np.diff(edges) / n_ranks
        chi2 = float(((counts - expected) ** 2 / expected).sum())
        rows.append({"contrast": name, "replications": len(sub),
                     "coverage90": float(sub["covered90"].mean()), "chi2": chi2,
                     "df": n_bins - 1, "p_value": float(stats.chi2.sf(chi2, n_bins - 1))})
    rows.append({"contrast": "pooled", "replications": int(table["rep"].nunique()),
                 "coverage90": float(table["covered90"].mean()), "chi2": np.nan,
                 "df": np.nan, "p_value": np.nan})
    return pd.DataFrame(rows)


def fixed_truth(
    spec_kw: dict[str, Any],
    truths: Sequence[Truth] = TRUTHS,
    n_reps: int = 25,
    *,
    seed: int = 2016,
    settings: SamplerSettings | None = None,
    workers: int | None = 1,
    client: distributed.Client | None = None,
    scheduler: str | None = None,
    out_dir: str | Path | None = None,
    batch_size: int = 1,
    progress: bool | Callable[[int, int], None] = False,
) -> pd.DataFrame:
    """Bias, 90% coverage and posterior/prior SD ratio per fixed truth and contrast.

    Replication ``r`` of every truth is seeded by ``(seed, r)`` (the truths share their
    random numbers); ``workers``, ``client``, ``scheduler``, ``out_dir``, ``batch_size``
    and ``progress`` as in :func:`sbc`.
    """
    settings = settings or SamplerSettings(draws=500, tune=500, chains=2, cores=1)
    model = MultifactorModel(**spec_kw)
    prior_sd = _prior_contrast_sd(model, np.random.default_rng(seed))
    tasks = [(t, r) for t in truths for r in range(n_reps)]
    backend = {"workers": workers, "client": client, "scheduler": scheduler,
               "out_dir": out_dir, "progress": progress}
    table = _run(spec_kw, tasks, seed, settings, 99, "multifactor_fixed_truth", backend,
                 batch_size)
    out = []
    for t in truths:
        tab = table[table["truth_name"] == t.name]
        for name, sub in tab.groupby("contrast", sort=False):
            out.append({
                "truth": t.name, "contrast": name, "true_value": float(sub["truth"].iat[0]),
                "mean_estimate": float(sub["mean"].mean()),
                "bias": float((sub["mean"] - sub["truth"]).mean()),
                "coverage90": float(sub["covered90"].mean()),
                "posterior_sd": float(sub["sd"].mean()),
                "sd_ratio": float(sub["sd"].mean() / prior_sd[name]),
                "replications": len(sub),
            })
    return pd.DataFrame(out)


def _prior_contrast_sd(model: MultifactorModel, rng: np.random.Generator) -> dict[str, float]:
    """Prior SD of each adjusted contrast (by simulation from the prior)."""
    draws = np.array([_contrast_truth(model, draw_prior_truth(rng, model)[1])
                      for _ in range(20000)])
    return {contrast_name(*c): float(draws[:, j].std())
            for j, c in enumerate(model.contrasts())}
