"""Where the time of every default analysis goes, per sampler backend (issue 11, item 1).

For each default spec and backend, in a fresh process of its own (so that its peak memory
and its compile cost are its own): loading the spec, building the graph, the first fit
(compile + sample), a refit with the same prior (sampling only: the compiled sampler is
reused), a refit after a prior change (what a notebook user waits for), the minimum bulk
ESS per second of sampling, and the peak resident memory. ``--full`` also times the whole
``bayesblina run`` warm (compile caches populated) and cold (PyTensor and numba compile
caches emptied), ``--full-only`` only that, and ``--whole`` picks which of those runs
(the others keep their earlier figures). Each figure is the median of ``--repeats`` runs
with its range; machines are shared and noisy, so compare ratios measured in one run.

Writes ``benchmarks/results.json`` and ``benchmarks/results.md``::

    python benchmarks/bench_analyses.py [--backends pymc nutpie] [--repeats 3] [--full]
    python benchmarks/bench_analyses.py --full-only --whole cold --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import arviz as az

from bayesblina.analyses.registry import discover_specs, get_model_class, load_spec
from bayesblina.core.model import BayesModel
from bayesblina.pipeline import run_analysis

HERE = Path(__file__).resolve().parent


def one(name: str, backend: str) -> dict[str, Any]:
    """Time one default spec with one backend, in this process (called by ``--one``)."""
    t = time.perf_counter()
    spec = load_spec(name)
    load_s = time.perf_counter() - t
    cls = get_model_class(spec.analysis.model)
    if backend != "pymc" and cls.pymc_step is not BayesModel.pymc_step:
        return {"spec": name, "backend": backend,
                "error": "needs PyMC's compound step (its own step for discrete unknowns)"}
    settings = spec.sampler.model_copy(update={"backend": backend})
    names = list(spec.priors)
    t = time.perf_counter()
    model = cls.from_spec(spec, names[0])
    model.build()
    build_s = time.perf_counter() - t
    try:
        t = time.perf_counter()
        model.fit(settings)
        first_s = time.perf_counter() - t
    except Exception as err:  # a backend that cannot run this model (a discrete step)
        return {"spec": name, "backend": backend, "error": f"{type(err).__name__}: {err}"}
    t = time.perf_counter()
    idata = model.fit(settings)
    sample_s = time.perf_counter() - t
    model.set_prior(spec.priors[names[1 % len(names)]])
    t = time.perf_counter()
    model.fit(settings)
    refit_prior_s = time.perf_counter() - t
    post = idata.posterior
    gate_vars = model.gate_vars()
    ess = az.ess(post if gate_vars is None else post[gate_vars], method="bulk")
    ess_min = float(min(float(v.min()) for v in ess.data_vars.values()))
    return {
        "spec": name,
        "model": spec.analysis.model,
        "backend": backend,
        "prior_sets": len(names),
        "draws": settings.draws,
        "chains": settings.chains,
        "load_s": load_s,
        "build_s": build_s,
        "compile_s": max(first_s - sample_s, 0.0),
        "sample_s": sample_s,
        "refit_after_prior_change_s": refit_prior_s,
        "ess_bulk_min": ess_min,
        "ess_bulk_min_per_s": ess_min / sample_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def whole_analysis(name: str, backend: str) -> dict[str, Any]:
    """Wall time of ``run_analysis`` (every prior set, gate, components and their comparison
    fits) on one default spec with one backend, in this fresh process: what a run pays."""
    spec = load_spec(name)
    cls = get_model_class(spec.analysis.model)
    if backend != "pymc" and cls.pymc_step is not BayesModel.pymc_step:
        return {"spec": name, "backend": backend, "error": "needs PyMC's compound step"}
    spec = spec.with_sampler(backend=backend)
    t = time.perf_counter()
    result = run_analysis(spec)
    return {"spec": name, "backend": backend, "analysis_s": time.perf_counter() - t,
            "passed": result.passed}


def in_subprocess(name: str, backend: str, mode: str = "--one") -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, mode, name, "--backend", backend],
        capture_output=True, text=True, check=False, env={**os.environ, "MPLBACKEND": "Agg"},
    )
    if proc.returncode != 0:
        return {"spec": name, "backend": backend, "error": proc.stderr.strip()[-300:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def full_run(cold: bool, jobs: int | None = None, keep: Path | None = None) -> float:
    """Wall seconds of ``bayesblina run`` (every default spec, gate, report).

    ``jobs``: ``--jobs`` (default: the run's own, one process per core); ``keep``: where to
    copy the run's ``summary.json`` (to compare the numbers of two runs).
    """
    env = {**os.environ, "MPLBACKEND": "Agg"}
    with tempfile.TemporaryDirectory() as tmp:
        if cold:
            env["PYTENSOR_FLAGS"] = f"compiledir={tmp}/pytensor"
            env["NUMBA_CACHE_DIR"] = f"{tmp}/numba"
        command = [sys.executable, "-m", "bayesblina.cli", "run", "--out", f"{tmp}/out"]
        if jobs is not None:
            command += ["--jobs", str(jobs)]
        t = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False, env=env)
        wall = time.perf_counter() - t
        if keep is not None:
            keep.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f"{tmp}/out/summary.json", keep)
        return wall


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": cpu,
            "cores": os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
                                / 2**30, 1)}


def median_range(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


KEYS = ["load_s", "build_s", "compile_s", "sample_s", "refit_after_prior_change_s",
        "ess_bulk_min", "ess_bulk_min_per_s", "peak_rss_mib"]


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {**{k: runs[0][k] for k in ("spec", "backend")}, "error": runs[0]["error"]}
    out = {k: ok[0][k] for k in ("spec", "model", "backend", "prior_sets", "draws", "chains")}
    for key in KEYS:
        out[key] = median_range([r[key] for r in ok])
    return out


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        "# Benchmarks: the default analyses",
        "",
        f"Measured {result['created_at']} by `benchmarks/bench_analyses.py` on {m['cpu']} "
        f"({m['cores']} cores, {m['memory_gib']} GiB), {m['platform']}, Python {m['python']}. "
        f"Each figure: median of {result['repeats']} runs [min–max]; each run a fresh process "
        "per analysis and backend. *compile* = first fit − refit with the same prior; "
        "*sample* = that refit; *refit* = a fit after a prior change (graph and compiled "
        "sampler reused); ESS/s = minimum bulk ESS of the gated variables per second of "
        "*sample*. A model fitted on several data sets at once (the survival specs: one fit "
        "per reconstruction, pooled) counts all of them in *sample* and the smallest ESS of "
        "any one of them. *analysis* = `run_analysis` of the spec in a fresh process (every "
        "prior set, compile included, the gate, the report components and their comparison "
        "fits): what `bayesblina run` pays for it; the faster backend is in bold. What each "
        "change did, before and after: `history.md`. The design tools' benchmarks: "
        "`design_results.md` (`bench_design.py`) and `escalation_results.md` "
        "(`bench_escalation.py`: 10,000 BOIN and BLRM/EWOC trials against the targets of "
        "issue 13); the same models in Stan: `stan_results.md` (bayesblina on PyMC) and "
        "`stan_results_nutpie.md` (on nutpie).",
        "",
        "| analysis | backend | build s | compile s | sample s | refit s | min bulk ESS/s "
        "| peak MiB | analysis s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(entry: dict[str, float], fmt: str = "{:.2f}") -> str:
        return (f"{fmt.format(entry['median'])} [{fmt.format(entry['min'])}–"
                f"{fmt.format(entry['max'])}]")

    # the faster backend of a spec: only where more than one was timed
    timed: dict[str, list[float]] = {}
    for row in result["analyses"]:
        if "analysis_s" in row:
            timed.setdefault(row["spec"], []).append(row["analysis_s"]["median"])
    fastest = {spec: min(ts) for spec, ts in timed.items() if len(ts) > 1}
    marks = {n: "¹²³⁴⁵⁶⁷⁸⁹"[i % 9] for i, n in enumerate(
        sorted({row["note"] for row in result["analyses"] if row.get("note")}))}
    for row in result["analyses"]:
        if "error" in row:
            lines.append(f"| {row['spec']} | {row['backend']} | — | — | — | — | — | "
                         f"cannot run: {row['error'][:80]} | — |")
            continue
        whole = "—"
        if "analysis_s" in row:
            whole = cell(row["analysis_s"], "{:.1f}")
            if row["analysis_s"]["median"] == fastest.get(row["spec"]):
                whole = f"**{whole}**"
            if not row.get("analysis_passed", True):
                whole += " (gate FAILED)"
        backend = row["backend"] + (f" {marks[row['note']]}" if row.get("note") else "")
        lines.append(
            f"| {row['spec']} | {backend} | {cell(row['build_s'])} | "
            f"{cell(row['compile_s'])} | {cell(row['sample_s'])} | "
            f"{cell(row['refit_after_prior_change_s'])} | "
            f"{cell(row['ess_bulk_min_per_s'], '{:.0f}')} | {cell(row['peak_rss_mib'], '{:.0f}')} "
            f"| {whole} |"
        )
    if marks:
        lines += ["", *(f"{mark} {note}" for note, mark in marks.items())]
    if result.get("full_run"):
        when = result.get("full_run_created_at", result["created_at"])
        lines += ["", "## Whole re-analysis (`bayesblina run`, every default spec)", "",
                  f"Measured {when}, median of the runs [min–max]; warm: compile caches "
                  "populated" + ("; cold: PyTensor and numba compile caches emptied first."
                                 if any(k.startswith("cold") for k in result["full_run"])
                                 else " (no cold run this time)."), "",
                  "| run | runs | wall s | measured |", "|---|---|---|---|"]
        for kind, entry in result["full_run"].items():
            lines.append(f"| {kind} | {entry['n']} | {cell(entry, '{:.0f}')} | "
                         f"{entry.get('measured', when)} |")
        runs = result["full_run"]
        one, per_core = (runs.get("warm, one process (--jobs 1)"),
                         runs.get("warm, one process per core"))
        if one and per_core:
            lines += ["", f"One process per core / one process: "
                      f"{per_core['median'] / one['median']:.2f}."]
        if result.get("full_run_numbers"):
            lines += ["", "The two warm runs' `summary.json` (same seeds), by "
                      "`scripts/compare_summaries.py --ignore cores` (the setting, not a "
                      f"result): {result['full_run_numbers']}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark and write ``results.json`` and ``results.md``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--one-analysis", help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="pymc", help=argparse.SUPPRESS)
    parser.add_argument("--backends", nargs="+", default=["pymc", "nutpie"])
    parser.add_argument("--specs", nargs="*", help="default spec names (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="also time the whole run")
    parser.add_argument("--full-only", action="store_true",
                        help="only time the whole run (keep the per-analysis tables)")
    parser.add_argument("--merge", type=Path, metavar="JSON",
                        help="replace the rows of another run's results.json (same spec and "
                             "backend) in --out's tables, each marked with when it ran")
    parser.add_argument("--no-cold", action="store_true",
                        help="with --full: skip the run with emptied compile caches")
    parser.add_argument("--whole", nargs="+", choices=["cold", "serial", "parallel"],
                        default=["cold", "serial", "parallel"],
                        help="which whole runs --full times: cold (compile caches emptied), "
                             "serial (--jobs 1), parallel (one process per core)")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.backend)))
        return
    if args.one_analysis:
        print(json.dumps(whole_analysis(args.one_analysis, args.backend)))
        return
    if args.merge:
        merge(args.out, args.merge)
        return
    if args.full_only:
        result = json.loads((args.out / "results.json").read_text())
        before = result.get("full_run_created_at", result["created_at"])
        for entry in result.get("full_run", {}).values():
            entry.setdefault("measured", before)  # the earlier figures say when they were
        result["full_run_machine"] = machine()
        result["full_run_created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        args.full, names = True, []
    else:
        names = args.specs or [p.stem for p in discover_specs()]
        analyses: list[dict[str, Any]] = []
        result = {
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(), "repeats": args.repeats, "analyses": analyses,
        }
    for name in names:
        for backend in args.backends:
            runs = [in_subprocess(name, backend) for _ in range(args.repeats)]
            row = aggregate(runs)
            whole = [in_subprocess(name, backend, "--one-analysis") for _ in range(args.repeats)]
            ok = [w for w in whole if "error" not in w]
            if "error" not in row and ok:
                row["analysis_s"] = median_range([w["analysis_s"] for w in ok])
                row["analysis_passed"] = all(w["passed"] for w in ok)
            result["analyses"].append(row)
            print(f"{name} / {backend}: done", file=sys.stderr, flush=True)
        write_tables(args.out, "results", result, markdown(result), echo=False)  # so far
    if args.full:
        # cold: compile caches emptied; warm: populated (by the cold run), one process
        # (--jobs 1: every spec after the other, as before issue 11) and one per core.
        # Each kind asked for (--whole) is run --repeats times and replaces its old entry;
        # the others keep theirs (with the time they were measured).
        kinds = set(args.whole) - ({"cold"} if args.no_cold else set())
        now = datetime.now(UTC).isoformat(timespec="seconds")
        runs = result.setdefault("full_run", {})
        if "cold" in kinds:
            cold = [full_run(cold=True) for _ in range(args.repeats)]
            runs["cold, one process per core"] = {**median_range(cold), "measured": now}
        if "serial" in kinds:
            serial = [full_run(cold=False, jobs=1, keep=args.out / "summary_jobs1.json")
                      for _ in range(args.repeats)]
            runs["warm, one process (--jobs 1)"] = {**median_range(serial), "measured": now}
        if "parallel" in kinds:
            parallel = [full_run(cold=False, keep=args.out / "summary_jobsN.json")
                        for _ in range(args.repeats)]
            runs["warm, one process per core"] = {**median_range(parallel), "measured": now}
        if {"serial", "parallel"} <= kinds:
            compared = subprocess.run(
                [sys.executable, str(HERE.parent / "scripts" / "compare_summaries.py"),
                 str(args.out / "summary_jobs1.json"), str(args.out / "summary_jobsN.json"),
                 "--ignore", "cores"],  # the parallel run samples each spec's chains serially
                capture_output=True, text=True, check=False)
            result["full_run_numbers"] = (compared.stdout.strip().splitlines() or ["?"])[-1]
    write_tables(args.out, "results", result, markdown(result))


def merge(out: Path, other: Path) -> None:
    """Put the rows of ``other`` (a results.json) into ``out``'s tables, marked as such."""
    result = json.loads((out / "results.json").read_text())
    new = json.loads(other.read_text())
    note = (f"{new['repeats']} run(s), {new['created_at']} (a later partial run of "
            "`bench_analyses.py --specs ...`)")
    rows = {(r["spec"], r["backend"]): {**r, "note": note} for r in new["analyses"]}
    result["analyses"] = [rows.pop((r["spec"], r["backend"]), r) for r in result["analyses"]]
    result["analyses"] += list(rows.values())
    write_tables(out, "results", result, markdown(result), echo=False)


def write_tables(out: Path, stem: str, result: dict[str, Any], text: str,
                 echo: bool = True) -> None:
    """Write ``<stem>.json`` and ``<stem>.md`` into ``out`` (and print the table)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{stem}.md").write_text(text)
    if echo:
        print(text)


if __name__ == "__main__":
    main()
