"""Every fit a default ``bayesblina run`` makes, recorded (for ``bench_stan_run.py``).

Runs every default spec in this process, one after the other, as ``bayesblina run --jobs 1``
does (:func:`bayesblina.pipeline.run_analysis`: every prior set, reconstruction, comparison
and LOO alternative), with each sampler backend wrapped so that every call records what
was fitted: the model, its options and prior families, its data and hyperparameter values
at that moment, the sampler settings, how long the call took, and the posterior mean
and its Monte Carlo SE of every variable. The several-factors
model's fits also record one sampled patient table (the last draw of the first chain): its
Stan counterpart fits the continuous part with that table held fixed. Writes a pickle::

    python benchmarks/record_fits.py OUT.pickle [--specs overall_cr ...]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np

from bayesblina.analyses.registry import discover_specs, load_spec
from bayesblina.core import sampling
from bayesblina.pipeline import quiet_third_party, run_analysis

RECORDS: list[dict[str, Any]] = []
CURRENT: dict[str, str] = {"spec": ""}


def moments(post: Any, names: Any = None) -> dict[str, dict[str, list[float]]]:
    """Posterior mean and its Monte Carlo SE of each float variable (or of ``names``)."""
    names = [k for k in (post.data_vars if names is None else names)
             if k in post and np.issubdtype(post[k].dtype, np.floating)]
    mcse = az.mcse(post[names], method="mean")
    return {k: {"mean": post[k].mean(("chain", "draw")).values.ravel().tolist(),
                "mcse": np.ravel(mcse[k].values).tolist()} for k in names}


def _options(model: Any) -> dict[str, Any]:
    o = getattr(model, "options", None)
    return o.model_dump() if hasattr(o, "model_dump") else {}


def _record(backend: Any) -> Any:
    def wrapped(model: Any, values: dict[str, Any], s: Any) -> Any:
        t = time.perf_counter()
        idata = backend(model, values, s)
        took = time.perf_counter() - t
        priors = {k: {"family": p.family, **{h: np.asarray(v, dtype=float).tolist()
                                             for h, v in p.hyperparameters().items()}}
                  for k, p in model.prior.parameter_priors().items()}
        post = idata.posterior
        extra: dict[str, Any] = {}
        if model.name == "subgroups_multifactor":
            extra = {"terms": list(model.terms),
                     "levels": {f: list(v) for f, v in model.levels.items()},
                     "table": {f: post[f"latent_{f}"].values[0, -1].astype(int).tolist()
                               for f in model.latent}}
        if model.name == "exnex":
            nex = model.prior.nex
            extra = {"nex_mu": float(nex.mu), "nex_sigma": float(nex.sigma)}
        RECORDS.append({
            "spec": CURRENT["spec"], "model": model.name,
            "pooling": getattr(model, "pooling", None), "options": _options(model),
            "priors": priors, "data": {k: np.asarray(v) for k, v in model.data_values().items()},
            "hyper": {k: np.asarray(v) for k, v in model.prior_values().items()},
            "settings": {"chains": s.chains, "draws": s.draws, "tune": s.tune,
                         "target_accept": s.target_accept, "seed": s.seed, "cores": s.cores},
            "backend": s.backend, "seconds": took, "moments": moments(post),
            "extra": extra})
        return idata
    return wrapped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--specs", nargs="*")
    args = parser.parse_args()
    quiet_third_party()
    for name in list(sampling.BACKENDS):
        sampling.BACKENDS[name] = _record(sampling.BACKENDS[name])
    names = args.specs or [p.stem for p in discover_specs()]
    wall = {}
    for name in names:
        CURRENT["spec"] = name
        t = time.perf_counter()
        run_analysis(load_spec(name))
        wall[name] = time.perf_counter() - t
        print(f"{name}: {wall[name]:.1f} s, {sum(r['spec'] == name for r in RECORDS)} fits",
              file=sys.stderr, flush=True)
    args.out.write_bytes(pickle.dumps({"records": RECORDS, "spec_wall_s": wall}))


if __name__ == "__main__":
    main()
