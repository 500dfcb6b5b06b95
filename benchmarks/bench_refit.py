"""Build once, fit many: cost of a first fit (build + compile + sample) against a refit.

Run with ``make bench`` (or ``python benchmarks/bench_refit.py [--nutpie]``). Prints
wall-clock seconds and the ratios measured in this one run; machines are shared and
noisy, so compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from bayesblina.analyses import BetaBinomialModel
from bayesblina.core.spec import SamplerSettings

DATA = pd.DataFrame({"population": ["all_5_15", "phase_2"], "x": [27, 14], "n": [70, 44]})
PRIORS = [
    {"p": {"family": "beta", "alpha": a, "beta": b}}
    for a, b in [(1, 1), (0.5, 0.5), (2, 18), (5.5, 14.5)]
]


def bench(backend: str, refits: int) -> dict[str, float]:
    settings = SamplerSettings(backend=backend, draws=1000, tune=1000, chains=4, seed=1)
    start = time.perf_counter()
    model = BetaBinomialModel(DATA, PRIORS[0])
    model.fit(settings)
    first = time.perf_counter() - start
    times = []
    for i in range(refits):
        start = time.perf_counter()
        model.set_prior(PRIORS[(i + 1) % len(PRIORS)]).fit(settings)
        times.append(time.perf_counter() - start)
    # the alternative without reuse: a new model (new graph, new compile) per prior
    start = time.perf_counter()
    BetaBinomialModel(DATA, PRIORS[1]).fit(settings)
    rebuild = time.perf_counter() - start
    refit = sorted(times)[len(times) // 2]
    return {"first_fit_s": first, "rebuild_fit_s": rebuild, "median_refit_s": refit}


def main() -> None:
    """Print the table of timings and ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nutpie", action="store_true", help="also benchmark nutpie")
    parser.add_argument("--refits", type=int, default=5)
    args = parser.parse_args()
    backends = ["pymc", "nutpie"] if args.nutpie else ["pymc"]
    rows = []
    for backend in backends:
        r = bench(backend, args.refits)
        r["rebuild/refit"] = r["rebuild_fit_s"] / r["median_refit_s"]
        rows.append({"backend": backend, **r})
    print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
