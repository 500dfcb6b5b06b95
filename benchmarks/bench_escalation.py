"""Speed of the dose-escalation simulator (issue 13, item 6; tests assert no timing).

* (a) 10,000 BOIN trials, 5 levels, target 0.3, up to 10 cohorts of 3 (target: at most
  0.5 s);
* (b) 10,000 BLRM/EWOC trials, up to 10 cohorts of 3, stopping with 6 at the MTD (target:
  at most 30 s);
* (c) as (b) without the early stop: every trial runs its 10 cohorts;
* (d) TITE-BLRM (no sharing of count rows: every trial's likelihood is computed), a DLT
  window of 28 days, 0.1 patients a day; ``--tite-trials`` trials (default 1,000).

Each model-based case builds a fresh design per run, so its row cache starts empty (a
design reused across runs would answer from its cache). Every case runs in this process
(``workers=1``), batches of 1,000 trials, one scenario. Each figure is the median of
``--repeat`` runs with its range (the first call of each case is a warm-up, not counted).
Machines are shared and noisy. Writes ``benchmarks/escalation_results.json`` and
``benchmarks/escalation_results.md``::

    python benchmarks/bench_escalation.py [--repeat 3] [--tite-trials 1000]
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

from bayesblina.design.escalation import BLRM, BOIN
from bayesblina.design.simulation import Scenario, SimulationResult, simulate

HERE = Path(__file__).resolve().parent
DOSES = [1.0, 2.5, 5.0, 10.0, 25.0]
PRIOR = {"d_ref": 25.0, "mean": (-1.1, 0.0), "sd": (1.0, 0.7), "corr": 0.0}
SCENARIO = Scenario("mtd at level 2", [0.05, 0.12, 0.25, 0.40, 0.55],
                    target_interval=(0.16, 0.33), target=0.25)


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


def describe(res: SimulationResult) -> str:
    row = res.summary.iloc[0]
    sel = res.selection[res.selection["level"] >= 0]["prob"].round(3).tolist()
    return (f"P(correct) {row['p_correct']:.3f} (MC SE {row['se_p_correct']:.3f}), "
            f"P(select level) {sel}, mean n {row['mean_n']:.1f}, mean DLTs "
            f"{row['mean_dlt']:.2f}")


def blrm(**kw: Any) -> BLRM:
    return BLRM(DOSES, **PRIOR, max_n=30, **kw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tite-trials", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()

    def sim(design_factory: Callable[[], Any], n: int, **kw: Any) -> SimulationResult:
        return simulate(design_factory(), SCENARIO, n, seed=2026, workers=1, progress=False,
                        **kw)

    cases: list[dict[str, Any]] = []
    t, res = timed(lambda: sim(lambda: BOIN(5, 0.3, max_n=30), 10_000), args.repeat)
    cases.append({"case": "(a) 10,000 BOIN trials (target 0.3, 10 cohorts of 3)",
                  "target_s": 0.5, "time_s": t, "result": describe(res)})

    t, res = timed(lambda: sim(lambda: blrm(), 10_000), args.repeat)
    cases.append({"case": "(b) 10,000 BLRM/EWOC trials (up to 10 cohorts of 3, stop with 6 "
                          "at the MTD), cold row cache",
                  "target_s": 30.0, "time_s": t, "result": describe(res)})

    t, res = timed(lambda: sim(lambda: blrm(min_at_mtd=None), 10_000), args.repeat)
    cases.append({"case": "(c) 10,000 BLRM/EWOC trials, all 10 cohorts of 3 (no early stop), "
                          "cold row cache",
                  "target_s": 30.0, "time_s": t, "result": describe(res)})

    n_tite = args.tite_trials
    t, res = timed(lambda: sim(lambda: blrm(tite=True, window=28.0), n_tite,
                               accrual_rate=0.1), 1)
    row = res.summary.iloc[0]
    cases.append({"case": f"(d) {n_tite:,} TITE-BLRM trials (window 28 days, 0.1 patients a "
                          "day, up to 10 cohorts of 3), one run",
                  "target_s": None, "time_s": t,
                  "result": describe(res) + f", median duration {row['duration_q50']:.0f} "
                            f"days; per 10,000 trials about "
                            f"{t['median'] * 10_000 / n_tite:.0f} s on one core"})

    result = {"created_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": machine(), "repeat": args.repeat, "cases": cases}
    m = result["machine"]
    lines = [
        "# Benchmarks: the dose-escalation simulator",
        "",
        f"Measured {result['created_at']} by `benchmarks/bench_escalation.py` on {m['cpu']} "
        f"({m['cores']} cores), {m['platform']}, Python {m['python']}, numpy {m['numpy']}. "
        f"Each figure: median of {args.repeat} runs [min–max] in one process (`workers=1`), "
        "after a warm-up call; one scenario (true DLT probabilities 0.05, 0.12, 0.25, 0.40, "
        "0.55), seed 2026, batches of 1,000 trials.",
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
    (args.out / "escalation_results.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "escalation_results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
