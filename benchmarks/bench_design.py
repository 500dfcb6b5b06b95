"""Speed of the exact design-planning engines (issue 12, item 6; tests assert no timing).

* (a) exact operating characteristics of a predictive-probability design, nmax = 100, a
  look after every patient, 50 true rates (target: at most 1 s);
* (b) a predictive-probability design search over nmax <= 60 on Lee & Liu's default grids
  (20 theta_T x 21 theta_L; target: at most 30 s);
* (c) Simon's admissible designs for p0 = 0.1, p1 = 0.3 (alpha 0.05, power 0.8, nmax 100).

Each figure is the median of ``--repeat`` runs with its range, in this process (the first
call of each case is a warm-up, not counted). Machines are shared and noisy. Writes
``benchmarks/design_results.json`` and ``benchmarks/design_results.md``::

    python benchmarks/bench_design.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bayesblina.design.monitoring import MonitoringDesign, monitoring_oc, monitoring_search
from bayesblina.design.simon import simon_admissible

HERE = Path(__file__).resolve().parent


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
            "cores": os.cpu_count(), "numpy": np.__version__}


def timed(fn: Callable[[], Any], repeat: int) -> tuple[dict[str, float], Any]:
    out = fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return ({"median": statistics.median(times), "min": min(times), "max": max(times),
             "n": repeat}, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()

    design = MonitoringDesign(nmax=100, p0=0.2, theta_t=0.9, theta_l=0.05)  # every patient
    rates = np.linspace(0.01, 0.99, 50)
    cases: list[dict[str, Any]] = []

    t, oc = timed(lambda: monitoring_oc(design, rates), args.repeat)
    cases.append({
        "case": "(a) predictive-probability OC: nmax 100, a look after every patient "
                "(99 looks), 50 true rates",
        "target_s": 1.0, "time_s": t,
        "result": f"p0 0.2, theta_T 0.9, theta_L 0.05: P(success) "
                  f"{oc.table['success'].min():.2g} to {oc.table['success'].max():.4f}, "
                  f"EN {oc.table['en'].min():.1f} to {oc.table['en'].max():.1f} over "
                  f"p = {rates[0]:.2f}..{rates[-1]:.2f}",
    })

    t, s = timed(lambda: monitoring_search(0.2, 0.4, 0.1, 0.9, nmax_cap=60), args.repeat)
    d = s.design
    cases.append({
        "case": "(b) predictive-probability design search: nmax 1..60, a look after every "
                "patient, 20 theta_T x 21 theta_L (p0 0.2, p1 0.4, alpha 0.1, power 0.9)",
        "target_s": 30.0, "time_s": t,
        "result": f"{s.searched} designs; chosen nmax {d.nmax}, theta_T {d.theta_t}, "
                  f"theta_L {d.theta_l}: alpha {s.oc.table['success'][0]:.4f}, power "
                  f"{s.oc.table['success'][1]:.4f}, EN(p0) {s.oc.table['en'][0]:.1f}",
    })

    t, adm = timed(lambda: simon_admissible(0.1, 0.3, 0.05, 0.8, nmax=100), args.repeat)
    cases.append({
        "case": "(c) Simon admissible designs: p0 0.1, p1 0.3, alpha 0.05, power 0.8, nmax 100",
        "target_s": None, "time_s": t,
        "result": "; ".join(f"{r.criterion} {r.r1}/{r.n1}, {r.r}/{r.n}"
                            for r in adm.itertuples(index=False)),
    })

    result = {"created_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": machine(), "repeat": args.repeat, "cases": cases}
    m = result["machine"]
    lines = [
        "# Benchmarks: the exact design engines",
        "",
        f"Measured {result['created_at']} by `benchmarks/bench_design.py` on {m['cpu']} "
        f"({m['cores']} cores), {m['platform']}, Python {m['python']}, numpy {m['numpy']}. "
        f"Each figure: median of {args.repeat} runs [min–max] in one process, after a "
        "warm-up call; every number exact (no simulation).",
        "",
        "| case | seconds | target | result |",
        "|---|---|---|---|",
    ]
    for c in cases:
        t = c["time_s"]
        target = "—" if c["target_s"] is None else f"≤ {c['target_s']:g} s"
        lines.append(f"| {c['case']} | {t['median']:.3f} [{t['min']:.3f}–{t['max']:.3f}] "
                     f"| {target} | {c['result']} |")
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "design_results.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "design_results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
