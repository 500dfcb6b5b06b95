"""Exact grid posteriors: one data set at a time against a batch of B data sets.

Run with ``python benchmarks/bench_grid_batch.py [--batch 1000] [--repeats 5]``. One
"escalation step" per data set: build the posterior and compute what a dose decision
needs (BLRM: posterior mean P(DLT) and interval probabilities at 15 doses, and the EWOC
dose; CRM: recommended level and interval probabilities). The data sets are random
(seeded) outcomes of the same 10 cohorts of 3. Prints the median wall-clock seconds of
the batch call and of a single data set, and the per-data-set speed-up of batching;
machines are shared and noisy, so compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bayesblina.analyses.dose_toxicity import blrm_grid_posterior, crm_grid_posterior

DOSES = np.array([1, 2.5, 5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 250.0])
BLRM_PRIOR = dict(d_ref=250.0, mean=(2.15, 0.52), sd=(0.84, 0.80), corr=0.2)
SKELETON = [0.05, 0.12, 0.25, 0.40, 0.55]


def _data(batch: int, rng: np.random.Generator, p_true: np.ndarray):
    n = np.full((batch, p_true.size), 3)
    return n, rng.binomial(n, p_true)


def blrm_step(n, y):
    cohort_doses = DOSES[:10]
    post = blrm_grid_posterior(cohort_doses, None, n, y, **BLRM_PRIOR)
    return post.p_mean(DOSES), post.interval_probs(DOSES), post.ewoc(DOSES)


def crm_step(n, y):
    levels = np.repeat(np.arange(5), 2)
    post = crm_grid_posterior(levels, None, n, y, skeleton=SKELETON, prior_sd=1.34**0.5)
    return post.recommend(0.25), post.interval_probs()


def _median_time(func, *args, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func(*args)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    """Print the timings and the per-data-set ratio for the BLRM and the CRM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=1000, help="B (default 1000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (median)")
    args = parser.parse_args()
    rng = np.random.default_rng(2008)
    cases = [
        ("BLRM 128x128", blrm_step, np.linspace(0.01, 0.4, 10)),
        ("CRM 512", crm_step, np.repeat([0.05, 0.12, 0.25, 0.40, 0.55], 2)),
    ]
    print(f"{'model':<14}{'B=1 (s)':>10}{f'B={args.batch} (s)':>14}"
          f"{'per data set, B=1':>20}{'per data set, batch':>22}{'speed-up':>10}")  # fmt: skip
    for name, step, p_true in cases:
        single = _median_time(step, *_data(1, rng, p_true), repeats=args.repeats)
        batch = _median_time(step, *_data(args.batch, rng, p_true), repeats=args.repeats)
        per_single, per_batch = single, batch / args.batch
        print(
            f"{name:<14}{single:>10.4f}{batch:>14.3f}{per_single * 1e3:>17.3f} ms"
            f"{per_batch * 1e3:>19.4f} ms{per_single / per_batch:>9.1f}x"
        )


if __name__ == "__main__":
    main()
