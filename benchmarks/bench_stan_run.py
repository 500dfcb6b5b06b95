"""The whole default re-analysis beside every one of its fits in Stan (issue 11, target 1).

1. **Every fit a default run makes**, recorded by ``record_fits.py`` (in a subprocess: each
   default spec in turn, every prior set, reconstruction, comparison and LOO alternative,
   its data, hyperparameters, settings, sampling time and posterior moments).
2. **bayesblina's whole run, warm**: ``bayesblina run`` of the default specs (every analysis,
   gate, report, design study), its compile caches populated by step 1 (the run's own
   parallelism: a process per core).
3. **The Stan equivalent**: every recorded fit again in PyStan (the program of
   :func:`stan_models.stan_model`, the same data, priors, chains, draws, warm-up, target
   acceptance and seed), each distinct program compiled first and not timed (Stan's
   "compiled models cached"; PyStan samples the chains in a process per core); then each
   fit's build (a cache hit) and sampling, timed. httpstan's store of earlier fits is
   emptied first (it would hand back a repeat's fits without sampling). Stan does no
   gate, LOO, predictive check, summary or report here, so the comparison favours Stan.
   The several-factors model's stand-in holds its patient table fixed (Stan samples no
   discrete unknowns).
4. **Same answers**: every parameter that both fits have, posterior means within 3
   combined MCSE (by chance about 0.3% of them lie beyond: the count is reported).

Steps 2 and 3 are repeated ``--repeats`` times, alternating; each figure is the median with
its range. Writes ``benchmarks/stan_run_results.json`` and ``.md``::

    python benchmarks/bench_stan_run.py [--repeats 2] [--records FILE.pickle]
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import arviz as az
import numpy as np
import stan

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_analyses import full_run, machine, median_range, write_tables
from bench_stan import agreement, clear_fit_cache
from record_fits import moments
from stan_models import stan_model, supported

HERE = Path(__file__).resolve().parent


class Recorded:
    """A recorded fit with the face of a bayesblina model that the Stan data builders read."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.name = record["model"]
        self.pooling = record["pooling"]
        self.options = SimpleNamespace(**record["options"])
        families = {k: SimpleNamespace(family=v["family"]) for k, v in record["priors"].items()}
        self.prior = SimpleNamespace(parameter_priors=lambda: families)
        extra = record["extra"]
        self.terms = extra.get("terms")
        self.levels = extra.get("levels")
        self.table = extra.get("table")

    def data_values(self) -> dict[str, np.ndarray]:
        return self.record["data"]

    def prior_values(self) -> dict[str, np.ndarray]:
        return self.record["hyper"]


def record_fits(path: Path) -> dict[str, Any]:
    """Run ``record_fits.py`` in a fresh process; its records."""
    subprocess.run([sys.executable, str(HERE / "record_fits.py"), str(path)], check=True)
    return pickle.loads(path.read_bytes())


def stan_fits(records: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
    """Every covered fit in PyStan: the wall time of them all, and each fit's row."""
    rows = []
    clear_fit_cache()  # else httpstan returns a repeat's fits without sampling them
    t_all = time.perf_counter()
    for r in records:
        m = Recorded(r)
        why = supported(m, fixed_table=True)
        if why:
            rows.append({"spec": r["spec"], "model": r["model"], "skipped": why})
            continue
        twin, s = stan_model(m), r["settings"]
        t = time.perf_counter()
        posterior = stan.build(twin.code, data=twin.data(m), random_seed=int(s["seed"]))
        fit = posterior.sample(num_chains=s["chains"], num_samples=s["draws"],
                               num_warmup=s["tune"], delta=s["target_accept"])
        took = time.perf_counter() - t
        rows.append({"spec": r["spec"], "model": r["model"], "program": twin.name,
                     "bayesblina_s": r["seconds"], "stan_s": took,
                     "parameters": agreement(r["moments"],
                                             moments(az.from_pystan(posterior=fit).posterior,
                                                     twin.compare), twin.compare)})
    return time.perf_counter() - t_all, rows


def compile_programs(records: list[dict[str, Any]]) -> dict[str, float]:
    """Build every distinct program once (a compile the first time, then cached); seconds."""
    out = {}
    for r in records:
        m = Recorded(r)
        if supported(m, fixed_table=True):
            continue
        twin = stan_model(m)
        if twin.name not in out:
            t = time.perf_counter()
            stan.build(twin.code, data=twin.data(m), random_seed=1)
            out[twin.name] = time.perf_counter() - t
            print(f"{twin.name}: built in {out[twin.name]:.1f} s", file=sys.stderr, flush=True)
    return out


def by_spec(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per spec: fits, summed sampling time of each side, agreement."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["spec"]].append(row)
    out = []
    for spec, rs in groups.items():
        done = [r for r in rs if "skipped" not in r]
        z = [p["mcse_units"] for r in done for p in r["parameters"]]
        out.append({"spec": spec, "fits": len(rs), "fits_in_stan": len(done),
                    "models": sorted({r.get("program", r["model"]) for r in rs}),
                    "bayesblina_fit_s": sum(r["bayesblina_s"] for r in done),
                    "stan_fit_s": sum(r["stan_s"] for r in done),
                    "compared": len(z), "beyond_3_mcse": sum(v > 3 for v in z),
                    "max_mcse_units": max(z) if z else None})
    return out


def markdown(result: dict[str, Any]) -> str:
    m, w = result["machine"], result["whole"]
    ours, theirs = w["bayesblina_run_warm_s"], w["stan_all_fits_s"]
    n = sum(s["fits"] for s in result["specs"])
    n_stan = sum(s["fits_in_stan"] for s in result["specs"])
    compared = sum(s["compared"] for s in result["specs"])
    beyond = sum(s["beyond_3_mcse"] for s in result["specs"])
    lines = [
        "# The whole re-analysis beside the same fits in Stan",
        "",
        f"Measured {result['created_at']} by `benchmarks/bench_stan_run.py` on {m['cpu']} "
        f"({m['cores']} cores), PyStan {result['pystan']}; {ours['n']} alternating repeats, "
        "median (range). Ratios are what to compare (a shared, noisy machine).",
        "",
        "| | wall s |",
        "|---|---|",
        f"| `bayesblina run`, warm: {n} fits, gate, LOO, predictive checks, report, design "
        f"studies | {ours['median']:.1f} ({ours['min']:.1f}–{ours['max']:.1f}) |",
        f"| Stan: the same {n_stan} fits (compiled programs cached), nothing else | "
        f"{theirs['median']:.1f} ({theirs['min']:.1f}–{theirs['max']:.1f}) |",
        f"| **bayesblina / Stan** | **{w['ratio_median']:.2f}** |",
        "",
        f"Agreement: {compared} posterior means compared, {beyond} beyond 3 combined MCSE "
        f"(chance alone: about {0.0027 * compared:.1f}); largest "
        f"{max(s['max_mcse_units'] or 0 for s in result['specs']):.2f} MCSE. Stan's build of "
        "each program before the timed fits (a compile of ~40-55 s the first time, then a "
        "cache hit; not in the figures above): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in result["stan_compile_s"].items()) + ".",
        "",
        "Per spec (first repeat): bayesblina's time is its sampling calls in the recording "
        "run (each spec alone in one process, `--jobs 1`; a nutpie fit of a graph new to the "
        "process includes its compile, 5-15 s); Stan's is build (a cache hit) + sampling.",
        "",
        "| spec | fits (in Stan) | Stan programs | bayesblina fits s | Stan fits s | ratio | "
        "beyond 3 MCSE / compared | max MCSE |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in result["specs"]:
        ratio = s["bayesblina_fit_s"] / s["stan_fit_s"] if s["stan_fit_s"] else float("nan")
        mx = "—" if s["max_mcse_units"] is None else f"{s['max_mcse_units']:.2f}"
        lines.append(
            f"| {s['spec']} | {s['fits']} ({s['fits_in_stan']}) | {', '.join(s['models'])} | "
            f"{s['bayesblina_fit_s']:.1f} | {s['stan_fit_s']:.1f} | {ratio:.2f} | "
            f"{s['beyond_3_mcse']} / {s['compared']} | {mx} |")
    skipped = sorted({f"{r['model']}: {r['skipped']}" for r in result["skipped"]})
    if skipped:
        lines += ["", "Not fitted in Stan: " + "; ".join(skipped) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--records", type=Path,
                        help="a record_fits.py pickle: reused if it exists, else written")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.records and args.records.exists():
            recorded = pickle.loads(args.records.read_bytes())
        else:
            recorded = record_fits(args.records or Path(tmp) / "fits.pickle")
    records = recorded["records"]
    compiled = compile_programs(records)
    ours, theirs, first_rows = [], [], None
    for i in range(args.repeats):
        ours.append(full_run(cold=False))
        print(f"repeat {i + 1}: bayesblina run {ours[-1]:.1f} s", file=sys.stderr, flush=True)
        wall, rows = stan_fits(records)
        theirs.append(wall)
        first_rows = first_rows or rows
        print(f"repeat {i + 1}: Stan {wall:.1f} s", file=sys.stderr, flush=True)
    result = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(), "pystan": stan.__version__, "stan_compile_s": compiled,
        "whole": {"bayesblina_run_warm_s": median_range(ours),
                  "stan_all_fits_s": median_range(theirs),
                  "ratio_median": float(np.median(ours) / np.median(theirs)),
                  "ratios": [a / b for a, b in zip(ours, theirs, strict=True)]},
        "recording_spec_wall_s": recorded["spec_wall_s"],
        "specs": by_spec(first_rows),
        "skipped": [r for r in first_rows if "skipped" in r],
        "fits": first_rows,
    }
    write_tables(args.out, "stan_run_results", result, markdown(result))


if __name__ == "__main__":
    main()
