"""Simulation validation of the several-factors subgroup model (full size).

Runs simulation-based calibration (200 replications: truths from the prior of the spec's
first prior set, 70 simulated patients, only the published margins kept, fitted) and the
fixed-truth study (4 truths x 25 replications), and writes, in
``bayesblina/analyses/multifactor/validation_results/``,

* ``multifactor_sbc.csv`` (one row per replication and contrast),
* ``multifactor_sbc_checks.csv`` (coverage, chi-square per contrast),
* ``multifactor_fixed_truth.csv``,

packaged with bayesblina: the report and the docs page ``subgroups_multifactor`` show them.

and rewrites the prose of the validation section of ``docs/analyses/subgroups_multifactor.md``
from those tables (the tables themselves are rendered from the stored CSVs when the docs
are built, by ``bayesblina-table`` directives). Usage:
``python scripts/validate_multifactor.py [--reps 200] [--fixed-reps 25] [--workers N |
--scheduler tcp://host:8786] [--out-dir DIR] [--only sbc|fixed_truth]``
(about 75 minutes on 2 cores; ``--docs-only`` rewrites the docs section's prose from the
stored tables). The replications run through :func:`bayesblina.core.parallel.run_batches`:
on every local core by default (``--workers`` fewer), or on a running Dask cluster
(``--scheduler``); with ``--out-dir`` each finished replication is kept in
``DIR/sbc`` and ``DIR/fixed_truth``, so an interrupted run started again with the same
options computes only the missing ones. Same seed, identical tables, whatever the backend.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bayesblina.analyses.multifactor.model import MultifactorModel
from bayesblina.analyses.multifactor.validation import (
    TRUTHS,
    fixed_truth,
    sbc,
    sbc_checks,
)
from bayesblina.analyses.multifactor.validation_tables import RESULTS, load_results
from bayesblina.analyses.registry import load_spec
from bayesblina.core.spec import SamplerSettings
from bayesblina.errors import BayesblinaError
from bayesblina.io import write_text

ROOT = Path(__file__).resolve().parents[1]
OUT = RESULTS
PAGE = ROOT / "docs" / "analyses" / "subgroups_multifactor.md"
START, END = "<!-- validation-start -->", "<!-- validation-end -->"
#: the module whose functions render the stored tables when the docs are built
TABLES = "bayesblina.analyses.multifactor.tables"


def docs_section(args: argparse.Namespace) -> str:
    """The docs page's validation section: prose from the stored tables, and directives.

    The tables themselves are not pasted: ``bayesblina-table`` directives render them from
    the stored CSVs when the docs are built
    (:mod:`bayesblina.analyses.multifactor.tables`).
    """
    table = load_results("sbc")
    fixed = load_results("fixed_truth")
    lines = [
        f"**Simulation-based calibration** ({table['rep'].nunique()} replications, seed "
        f"{args.seed}): truths drawn from the prior of `tau_hn1` (μ, τ, z, and per study "
        "part a covariate table π ~ Dirichlet(1)), 26 + 44 patients simulated, only the "
        "margins the paper prints kept, the model fitted (2 chains of "
        f"{args.draws} draws after {args.tune} warm-up). The rank of each true adjusted log "
        f"odds ratio among {int(table['n_ranks'].iat[0]) - 1} posterior draws is uniform, "
        "and a 90% interval covers it 90% of the time, if the fit is right. The issue asks "
        "for 87–93% coverage pooled over the contrasts and rank histograms (10 bins) that "
        "pass a chi-square test at the 1% level:",
        "",
        f"```{{bayesblina-table}} {TABLES}:sbc_table",
        "```",
    ]
    n_div = int((table.groupby("rep")["divergences"].first() > 0).sum())
    lines += [
        "",
        f"Replications with divergent transitions: {n_div} of {table['rep'].nunique()} "
        "(kept: dropping fits would bias the calibration).",
        "",
        f"**Fixed truths** ({int(fixed['replications'].iat[0])} replications each): bias and "
        "90% coverage of the adjusted log odds ratios, and the ratio of the posterior SD to "
        "the prior SD (near 1: the margins say little about that contrast; the prior SD is "
        "1.41 under `tau_hn1`).",
        "",
        f"```{{bayesblina-table}} {TABLES}:fixed_truth_table",
        "```",
    ]
    lines += ["", "Truths: " + "; ".join(f"`{t.name}`: {t.description}" for t in TRUTHS) + "."]
    return "\n".join(lines)


def update_docs(args: argparse.Namespace) -> None:
    """Replace the page's validation section (between its markers)."""
    text = PAGE.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    write_text(PAGE, f"{head}{START}\n{docs_section(args)}\n{END}{tail}")


def main() -> None:
    """Run both studies and write their tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=str(ROOT / "models" / "subgroups_multifactor.toml"))
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--fixed-reps", type=int, default=25)
    ap.add_argument("--workers", type=int, default=None,
                    help="local worker processes (default: every core; 1: in this process)")
    ap.add_argument("--scheduler", default=None,
                    help="address of a running Dask scheduler, e.g. tcp://host:8786")
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="folder that keeps finished replications, to resume a run")
    ap.add_argument("--results", type=Path, default=OUT,
                    help="folder of the tables (default: the packaged ones, which the docs "
                         "quote; another folder leaves the docs page alone)")
    ap.add_argument("--seed", type=int, default=2016)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--only", choices=["sbc", "fixed_truth"], default=None,
                    help="run one of the two studies (the other's stored table is kept)")
    ap.add_argument("--docs-only", action="store_true", help="only rewrite the docs section")
    args = ap.parse_args()
    if args.docs_only:
        update_docs(args)
        return
    spec = load_spec(args.spec)
    first = next(iter(spec.priors))
    kw = {"data": MultifactorModel.load_data(spec.data), "prior": spec.priors[first],
          "options": spec.options}
    settings = SamplerSettings(draws=args.draws, tune=args.tune, chains=2, cores=1,
                               target_accept=spec.sampler.target_accept)
    out = args.results
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    backend = {"workers": args.workers, "scheduler": args.scheduler, "progress": True}
    out_dir = args.out_dir
    if args.only in (None, "sbc"):
        table = sbc(kw, args.reps, seed=args.seed, settings=settings, **backend,
                    out_dir=None if out_dir is None else out_dir / "sbc")
        write_text(out / "multifactor_sbc.csv", table.to_csv(index=False, float_format="%.6g"))
        checks = sbc_checks(table)
        write_text(out / "multifactor_sbc_checks.csv",
                   checks.to_csv(index=False, float_format="%.4g"))
        print(checks.to_string(), f"\nSBC: {time.time() - t0:.0f} s", flush=True)
    if args.only in (None, "fixed_truth"):
        t0 = time.time()
        fixed = fixed_truth(kw, n_reps=args.fixed_reps, seed=args.seed, settings=settings,
                            **backend,
                            out_dir=None if out_dir is None else out_dir / "fixed_truth")
        write_text(out / "multifactor_fixed_truth.csv",
                   fixed.to_csv(index=False, float_format="%.4g"))
        print(fixed.to_string(), f"\nfixed truths: {time.time() - t0:.0f} s")
    if out.resolve() == OUT.resolve():  # the docs quote the packaged tables only
        update_docs(args)


if __name__ == "__main__":
    try:
        main()
    except BayesblinaError as err:  # e.g. a scheduler that cannot be reached: no traceback
        sys.exit(f"validate_multifactor: {err}")
