"""bayesblina beside the same models in Stan, measured in the same run (issue 11, item 2).

For every default analysis that Stan can express (:mod:`stan_models`), with its first prior
set, the same data, priors, chains, draws, warm-up and target acceptance: Stan's build
(compile, cached by httpstan after the first time) and sampling time, and bayesblina's first
fit (build + compile + sample) and refit, in one process, one after the other. Posterior
means of the shared parameters must agree within 3 Monte Carlo standard errors (the MCSEs
of both fits combined): an independent check of every model as well as a benchmark.

Needs PyStan (``pip install 'bayesblina[bench]'``). Writes ``benchmarks/stan_results.json``
and ``benchmarks/stan_results.md`` (``stan_results_nutpie.*`` with ``--backend nutpie``)::

    python benchmarks/bench_stan.py [--specs overall_cr ...] [--backend pymc|nutpie]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import arviz as az
import httpstan.cache
import numpy as np
import stan

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_analyses import machine, write_tables
from record_fits import moments
from stan_models import stan_model, supported

from bayesblina.analyses.registry import discover_specs, get_model_class, load_spec
from bayesblina.core.sampling import sample

HERE = Path(__file__).resolve().parent


def clear_fit_cache() -> None:
    """Forget the fits httpstan stored (compiled programs stay).

    httpstan stores every seeded fit and returns it, unsampled, when the same program,
    data, seed and settings come again: a second run of a benchmark would time a file read.
    """
    for path in httpstan.cache.cache_directory().glob("models/*/fits/*"):
        path.unlink()


def stan_fit(code: str, data: dict[str, Any], settings: Any) -> tuple[az.InferenceData, float,
                                                                       float]:
    """Build (compile or cache hit) and sample a Stan program; the fit and both timings."""
    clear_fit_cache()
    t = time.perf_counter()
    posterior = stan.build(code, data=data, random_seed=int(settings.seed))
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    fit = posterior.sample(num_chains=settings.chains, num_samples=settings.draws,
                           num_warmup=settings.tune, delta=settings.target_accept)
    sample_s = time.perf_counter() - t
    return az.from_pystan(posterior=fit), build_s, sample_s


def agreement(ours: dict[str, Any], theirs: dict[str, Any],
              compare: dict[str, str]) -> list[dict[str, Any]]:
    """Posterior means of each shared element, their difference in combined MCSE units.

    ``ours`` and ``theirs`` are :func:`record_fits.moments` of the two posteriors.
    """
    rows = []
    for stan_name, our_name in compare.items():
        if stan_name not in theirs or our_name not in ours:
            continue
        a, b = ours[our_name], theirs[stan_name]
        for i, (ma, mb, sa, sb) in enumerate(zip(a["mean"], b["mean"], a["mcse"], b["mcse"],
                                                 strict=True)):
            z = abs(ma - mb) / float(np.hypot(sa, sb))
            rows.append({"parameter": f"{our_name}[{i}]" if len(a["mean"]) > 1 else our_name,
                         "bayesblina": float(ma), "stan": float(mb), "mcse_units": z,
                         "within_3_mcse": bool(z <= 3)})
    return rows


def compare_spec(name: str, backend: str) -> dict[str, Any]:
    """One default spec, its first prior set: bayesblina and Stan side by side."""
    spec = load_spec(name)
    model = get_model_class(spec.analysis.model).from_spec(spec)
    why = supported(model)
    if why:
        return {"spec": name, "skipped": why}
    settings = spec.sampler.model_copy(update={"backend": backend})
    t = time.perf_counter()
    sample(model, settings)
    first_s = time.perf_counter() - t
    t = time.perf_counter()
    ours = sample(model, settings)  # one data set (a survival spec: its first reconstruction)
    refit_s = time.perf_counter() - t
    twin = stan_model(model)
    theirs, build_s, stan_s = stan_fit(twin.code, twin.data(model), settings)
    rows = agreement(moments(ours.posterior, twin.compare.values()),
                     moments(theirs.posterior, twin.compare), twin.compare)
    return {
        "spec": name, "model": model.name, "backend": backend, "stan_program": twin.name,
        "chains": settings.chains, "draws": settings.draws, "tune": settings.tune,
        "bayesblina_first_fit_s": first_s, "bayesblina_refit_s": refit_s,
        "stan_build_s": build_s, "stan_sample_s": stan_s,
        "ratio_refit_to_stan_sample": refit_s / stan_s,
        "max_mcse_units": max(r["mcse_units"] for r in rows),
        "all_within_3_mcse": all(r["within_3_mcse"] for r in rows),
        "parameters": rows,
    }


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        "# bayesblina beside Stan",
        "",
        f"Measured {result['created_at']} by `benchmarks/bench_stan.py` on {m['cpu']} "
        f"({m['cores']} cores), PyStan {result['pystan']}, bayesblina backend "
        f"`{result['backend']}`. Same data, priors, chains, draws and warm-up; first prior "
        "set of each spec; one process, one run (ratios are what to compare). *Stan build* is "
        "the compile on the first run and a cache hit after it.",
        "",
        "| analysis | bayesblina first fit s | bayesblina refit s | Stan build s | "
        "Stan sample s | refit / Stan sample | max \\|Δ mean\\| (MCSE) | agree |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["analyses"]:
        if "skipped" in r:
            lines.append(f"| {r['spec']} | — | — | — | — | — | — | not compared: "
                         f"{r['skipped']} |")
            continue
        lines.append(
            f"| {r['spec']} | {r['bayesblina_first_fit_s']:.2f} | {r['bayesblina_refit_s']:.2f} "
            f"| {r['stan_build_s']:.2f} | {r['stan_sample_s']:.2f} | "
            f"{r['ratio_refit_to_stan_sample']:.1f} | {r['max_mcse_units']:.2f} | "
            f"{'yes' if r['all_within_3_mcse'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Compare every default spec (or ``--specs``) and write the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", nargs="*")
    parser.add_argument("--backend", default="pymc", choices=["pymc", "nutpie"])
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    names = args.specs or [p.stem for p in discover_specs()]
    analyses = []
    for name in names:
        analyses.append(compare_spec(name, args.backend))
        print(f"{name}: done", file=sys.stderr, flush=True)
    result = {"created_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": machine(), "pystan": stan.__version__, "backend": args.backend,
              "analyses": analyses}
    # each backend its own table (pymc: stan_results.md, nutpie: stan_results_nutpie.md)
    stem = "stan_results" if args.backend == "pymc" else f"stan_results_{args.backend}"
    write_tables(args.out, stem, result, markdown(result))


if __name__ == "__main__":
    main()
