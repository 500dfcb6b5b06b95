"""Simulation validation of the several-factors subgroup model (full size).

Runs simulation-based calibration (200 replications: truths from the prior of the spec's
first prior set, 70 simulated patients, only the published margins kept, fitted) and the
fixed-truth study (4 truths x 25 replications), and writes

* ``bayesblina/validation/results/multifactor_sbc.csv`` (one row per replication and
  contrast),
* ``bayesblina/validation/results/multifactor_sbc_checks.csv`` (coverage, chi-square per
  contrast),
* ``bayesblina/validation/results/multifactor_fixed_truth.csv``,

packaged with bayesblina: the report and the docs page ``subgroups_multifactor`` show them.

Usage: ``python scripts/validate_multifactor.py [--reps 200] [--fixed-reps 25] [--workers 2]``
(about 40 minutes on 2 cores). Same seed, identical tables.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bayesblina.io import write_text
from bayesblina.model.multifactor import MultifactorModel
from bayesblina.spec.load import load_spec
from bayesblina.spec.schema import SamplerSettings
from bayesblina.validation.multifactor import fixed_truth, sbc, sbc_checks

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bayesblina" / "validation" / "results"


def main() -> None:
    """Run both studies and write their tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=str(ROOT / "models" / "subgroups_multifactor.toml"))
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--fixed-reps", type=int, default=25)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2016)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    args = ap.parse_args()
    spec = load_spec(args.spec)
    first = next(iter(spec.priors))
    kw = {"data": MultifactorModel.load_data(spec.data), "prior": spec.priors[first],
          "options": spec.options}
    settings = SamplerSettings(draws=args.draws, tune=args.tune, chains=2, cores=1,
                               target_accept=spec.sampler.target_accept)
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    table = sbc(kw, args.reps, seed=args.seed, settings=settings, workers=args.workers)
    write_text(OUT / "multifactor_sbc.csv", table.to_csv(index=False, float_format="%.6g"))
    checks = sbc_checks(table)
    write_text(OUT / "multifactor_sbc_checks.csv", checks.to_csv(index=False, float_format="%.4g"))
    print(checks.to_string(), f"\nSBC: {time.time() - t0:.0f} s", flush=True)
    t0 = time.time()
    fixed = fixed_truth(kw, n_reps=args.fixed_reps, seed=args.seed, settings=settings,
                        workers=args.workers)
    write_text(OUT / "multifactor_fixed_truth.csv", fixed.to_csv(index=False, float_format="%.4g"))
    print(fixed.to_string(), f"\nfixed truths: {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
