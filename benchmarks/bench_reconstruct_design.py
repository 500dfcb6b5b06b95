"""Speed of the pure-Python engines that were once timed inside tests (timings live here).

* pseudo patient data: 20 reconstructions of OS and of RFS;
* Simon two-stage search up to n = 80 (optimal and minimax).

Prints the median of ``--repeat`` runs with its spread; no assertion (machines are shared).
"""

from __future__ import annotations

import argparse
import statistics
import time

from bayesblina.design.simon import simon_search
from bayesblina.reconstruct.pseudo_ipd import reconstruct


def _time(fn, repeat: int) -> tuple[float, float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases = {
        "reconstruct OS and RFS, 20 reconstructions each": lambda: [
            reconstruct(e, 20, 99) for e in ("os", "rfs")],
        "Simon search, nmax 80 (optimal + minimax)": lambda: (
            simon_search(0.10, 0.30, 0.05, 0.80, nmax=80),
            simon_search(0.60, 0.80, 0.05, 0.80, nmax=80, criterion="minimax")),
    }
    for name, fn in cases.items():
        med, lo, hi = _time(fn, args.repeat)
        print(f"{name}: median {med:.2f} s (min {lo:.2f}, max {hi:.2f}, {args.repeat} runs)")


if __name__ == "__main__":
    main()
