"""Command line: ``bayesblina run``, ``bayesblina reproduce``, ``bayesblina check``.

Exit status: 0 success; 1 when a fit failed the diagnostics gate (``run``) or a published
number was not reproduced (``reproduce``); 2 for bad input (message, no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import matplotlib

from bayesblina.analyses import get_model_class
from bayesblina.analyses.registry import discover_specs, find_specs, load_specs
from bayesblina.core.sampling import library_versions, require_backend
from bayesblina.errors import BayesblinaError, SpecError
from bayesblina.pipeline import run_analysis
from bayesblina.report.write import write_results
from bayesblina.reproduce import format_table, reproduce_all, to_records


def _progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _cmd_run(args: argparse.Namespace) -> int:

    matplotlib.use("Agg")  # figures go to files: no window, no display needed

    paths = find_specs(args.specs) if args.specs else discover_specs(args.spec_dir)
    if not paths:
        raise BayesblinaError(f"no spec files (*.toml) in {args.spec_dir or 'models/'}")
    specs = load_specs(paths)
    overrides = {
        k: v
        for k, v in {
            "seed": args.seed,
            "backend": args.sampler,
            "draws": args.draws,
            "tune": args.tune,
            "chains": args.chains,
        }.items()
        if v is not None
    }
    if overrides:
        specs = [s.with_sampler(**overrides) for s in specs]
    for s in specs:
        require_backend(s.sampler.backend)
    results = []
    for i, spec in enumerate(specs, start=1):
        _progress(f"[{i}/{len(specs)}] {spec.name}: {spec.analysis.title}")
        results.append(run_analysis(spec, progress=_progress))
    provenance = {
        **{f"{k}_version": v for k, v in library_versions().items()},
        "command": "bayesblina " + " ".join(sys.argv[1:]),
        "overrides": json.dumps(overrides, sort_keys=True),
        "specs": ", ".join(s.source_path for s in specs),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    report = write_results(results, args.out, provenance, reproduce_all())
    failed = [r.spec.name for r in results if not r.passed]
    for r in results:
        print(f"{r.status:6s}  {r.spec.name}")
    print(f"report: {report}")
    if failed:
        print(
            f"error: {len(failed)} analysis(es) FAILED the diagnostics gate: {', '.join(failed)}",
            file=sys.stderr,
        )
        return 1
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:

    df = reproduce_all()
    if args.json:
        print(json.dumps(to_records(df), indent=2))
    else:
        print(format_table(df))
    unexplained = df[~df["matches"]]
    if "contradiction_id" in df:
        unexplained = unexplained[unexplained["contradiction_id"].isna()]
    return 1 if len(unexplained) else 0


def _cmd_check(args: argparse.Namespace) -> int:
    """Validate specs, their data and every prior set against its model, without fitting.

    Each prior set is checked by constructing the model with it (``cls.from_spec``): a
    prior set that does not fit the model (e.g. a prior on ``p`` for partial pooling, or
    a Dirichlet with the wrong number of categories) is a spec error naming the file and
    the prior set. Nothing is built or sampled.
    """
    paths = find_specs(args.specs) if args.specs else discover_specs(args.spec_dir)
    for spec in load_specs(paths):
        cls = get_model_class(spec.analysis.model, where=spec.source_path)
        try:
            cls.validate_data(cls.load_data(spec.data))
        except SpecError as err:
            if spec.source_path in str(err):
                raise
            raise SpecError(f"{spec.source_path}: {err}") from None
        for name in spec.priors:
            try:
                cls.from_spec(spec, name)
            except SpecError as err:
                raise SpecError(f"{spec.source_path}: key 'priors.{name}': {err}") from None
        print(f"ok  {spec.source_path}: {spec.analysis.model}, {len(spec.priors)} prior set(s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and tests)."""
    parser = argparse.ArgumentParser(
        prog="bayesblina",
        description="Bayesian re-analysis of the paediatric blinatumomab phase I/II trial.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run analyses and write the report")
    run.add_argument("specs", nargs="*",
                     help="spec files or default spec names (default: every default spec)")
    run.add_argument("--out", default="results", help="output folder (default: results/)")
    run.add_argument("--seed", type=int, help="override every spec's seed")
    run.add_argument("--sampler", choices=["pymc", "nutpie", "numpyro"], help="override backend")
    run.add_argument("--draws", type=int, help="override draws per chain")
    run.add_argument("--tune", type=int, help="override warm-up iterations per chain")
    run.add_argument("--chains", type=int, help="override number of chains")
    run.add_argument("--spec-dir", help="folder of specs (default: the repository's models/)")
    run.set_defaults(func=_cmd_run)

    rep = sub.add_parser("reproduce", help="reproduce the paper's published numbers")
    rep.add_argument("--json", action="store_true", help="print JSON instead of a table")
    rep.set_defaults(func=_cmd_reproduce)

    chk = sub.add_parser("check", help="validate specs and their data without fitting")
    chk.add_argument("specs", nargs="*")
    chk.add_argument("--spec-dir")
    chk.set_defaults(func=_cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bayesblina`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BayesblinaError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
