"""Command line: ``bayesblina run``, ``reproduce``, ``check`` and ``design``.

``bayesblina design simon|bayes|prior|assurance [options]`` computes a design study from
options (the keys of the spec's table, ``--p0 0.1``; the same validation as a spec file);
``bayesblina design escalation [SPEC...]`` simulates escalation studies (the default ones
without arguments) on every local core or a Dask cluster (``--scheduler``, ``--workers``,
``--out-dir`` to resume, ``--n-trials``/``--seed`` overrides);
``bayesblina design run SPEC...`` (or ``bayesblina design SPEC.toml``) runs design spec files;
text tables and the finding, or ``--json``. ``bayesblina run`` runs the default design specs
(``models/design/*.toml``, or the design specs given) beside the analyses and writes them into
the same output folder.

Exit status (:data:`EXIT_CODES`): 0 everything passed; 1 a fit failed the diagnostics gate
(``run``) or a published number was not reproduced (``reproduce``); 2 bad input — a spec,
its data, an argument or the output folder — with one message naming the file, key or
value and what is allowed, found before any fit runs; 3 an unexpected internal error (one
line; the traceback only with ``--debug``); 130 interrupted (Ctrl-C), 143 terminated
(SIGTERM). An interrupted or failed run leaves the previous output folder as it was.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import signal
import sys
import time
import traceback
import unicodedata
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from bayesblina.analyses import get_model_class
from bayesblina.analyses.registry import discover_specs, find_specs, load_spec, load_specs
from bayesblina.core.fit import AnalysisResult
from bayesblina.core.sampling import library_versions, require_backend
from bayesblina.core.spec import AnalysisSpec, loosened_text
from bayesblina.design.studies import (
    DEFAULT_DESIGN_DIR,
    KINDS,
    DesignResult,
    DesignSpec,
    Execution,
    OptionField,
    check_design_analyses,
    design_spec_from_options,
    discover_design_specs,
    find_design_spec,
    is_design_spec,
    load_design_spec,
    load_design_specs,
    option_fields,
    run_design,
)
from bayesblina.errors import BayesblinaError, SpecError
from bayesblina.io import OutputFolder, check_output_dir
from bayesblina.pipeline import quiet_third_party, run_analyses, run_analysis
from bayesblina.report.write import write_folder
from bayesblina.reproduce import format_table, reproduce_all, to_records

#: exit status -> meaning (documented in the README and ``bayesblina --help``)
EXIT_CODES = {
    0: "every analysis passed (run), every published number reproduced (reproduce), every "
       "spec valid (check)",
    1: "a fit failed the diagnostics gate, or a published number was not reproduced",
    2: "bad input: a spec, its data, an argument or the output folder (nothing was fitted)",
    3: "an unexpected internal error (a bug: rerun with --debug for the traceback)",
    130: "interrupted (Ctrl-C)",
    143: "terminated (SIGTERM)",
}


def clean(text: object) -> str:
    r"""``text`` with control characters shown as escapes (``\x1b``), safe for a terminal.

    User strings (titles, names, paths, values) reach the terminal through this: an escape
    sequence in a spec's title cannot move the cursor, recolour or retitle the terminal.
    Newlines and tabs are kept.
    """
    return "".join(
        ch if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp")
        else ch.encode("unicode_escape").decode("ascii")
        for ch in str(text)
    )


def _progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {clean(msg)}", file=sys.stderr, flush=True)


def _fits_of(specs: list[AnalysisSpec], jobs: int | None) -> list[AnalysisResult]:
    """Run the analyses with a progress display: a live bar on a terminal, lines otherwise.

    On a terminal (stderr a TTY) one bar counts the analyses and a line says each verdict as
    it comes; elsewhere (a log file, CI) every step is a plain timestamped line.
    """
    if not sys.stderr.isatty():
        return run_analyses(specs, jobs=jobs, progress=_progress, quiet=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("analyses", total=len(specs))

        def done(result: AnalysisResult) -> None:
            seconds = sum(f.seconds for f in result.fits.values())
            bar.console.print(f"{result.status:6s}  {clean(result.spec.name)} "
                              f"({len(result.fits)} prior set(s), {seconds:.0f} s of sampling)")
            bar.advance(task)

        return run_analyses(specs, jobs=jobs, done=done, quiet=True)


def _warn(msg: str) -> None:
    print(f"warning: {clean(msg)}", file=sys.stderr, flush=True)


def _spec_paths(args: argparse.Namespace) -> tuple[list[Path], list[Path]]:
    """The analysis specs and the design specs a command names (or the default ones).

    On the command line a design spec is a ``.toml`` file whose top table is ``[design]``, or
    the name of a default design spec; everything else is an analysis spec. Without
    arguments: the analysis specs of ``--spec-dir`` (default ``models/``) and the design specs
    of its ``design/`` subfolder (and any design spec beside the analyses).
    """
    if args.specs:
        analyses: list[Any] = []
        designs: list[Path] = []
        for item in args.specs:
            found = find_design_spec(item)
            if found is None:
                analyses.append(item)
            else:
                designs.append(found)
        return (find_specs(analyses) if analyses else []), designs
    paths = discover_specs(args.spec_dir)
    folder = DEFAULT_DESIGN_DIR if args.spec_dir is None else Path(args.spec_dir) / "design"
    designs = [p for p in paths if is_design_spec(p)] + discover_design_specs(folder)
    return [p for p in paths if not is_design_spec(p)], designs


def _run_designs(designs: list[DesignSpec],
                 analyses: dict[str, AnalysisResult] | None = None,
                 figure: bool = True) -> list[DesignResult]:
    """Compute the design studies, one progress line each (exact: seconds, no fit)."""
    out = []
    for i, spec in enumerate(designs, start=1):
        start = time.perf_counter()
        result = run_design(spec, figure=figure, analyses=analyses)
        _progress(f"design {spec.name} ({i}/{len(designs)}, {spec.kind}): {result.status}, "
                  f"{time.perf_counter() - start:.1f} s")
        out.append(result)
    return out


def _warn_gate(specs: list[AnalysisSpec]) -> None:
    """Say, for each spec whose gate is looser than the documented one, what it loosened."""
    for spec in specs:
        flags = spec.gate_flags()
        if not flags:
            continue
        _warn(f"{spec.source_path}: gate loosened: {loosened_text(flags)}; its results are "
              "flagged in the report and summary.json")
        if flags["weak"]:
            _warn(f"{spec.source_path}: gate.allow_weak_gate = true accepts a gate that does "
                  f"not check: {'; '.join(flags['weak'])}")


def _cmd_run(args: argparse.Namespace) -> int:

    matplotlib.use("Agg")  # figures go to files: no window, no display needed

    # every input is checked before the first fit: the output folder, every spec and its
    # data, the overrides, the backends
    check_output_dir(args.out)
    analysis_paths, design_paths = _spec_paths(args)
    specs = load_specs(analysis_paths, allow_data_outside=args.allow_data_outside)
    designs = load_design_specs(design_paths)
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
    if args.sampler is not None:
        overrides["comparison_backend"] = None  # --sampler: every fit, comparisons too
    if overrides:
        specs = [s.with_sampler(**overrides) for s in specs]
    for s in specs:
        for backend in s.sampler.backends():
            require_backend(backend)
    _warn_gate(specs)
    provenance = {
        **{f"{k}_version": v for k, v in library_versions().items()},
        "command": "bayesblina " + " ".join(sys.argv[1:]),
        "overrides": json.dumps(overrides, sort_keys=True),
        "specs": ", ".join([*(s.source_path for s in specs),
                            *(d.source_path for d in designs)]),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        # marks every file of one run (summary.json, each .nc): a mix could be told
        "run_id": uuid.uuid4().hex,
    }
    # the design studies are exact (seconds): computed before the first fit, so that a
    # design that cannot be computed (e.g. no feasible design) stops the run before the work;
    # a study that reads an analysis's posterior is checked now and computed after the fits
    check_design_analyses(designs, specs)
    early = {d.name: r for d, r in zip(
        (d for d in designs if d.needs_analysis is None),
        _run_designs([d for d in designs if d.needs_analysis is None]), strict=True)}
    with OutputFolder(args.out) as folder:
        results = _fits_of(specs, args.jobs)
        late = _run_designs([d for d in designs if d.needs_analysis is not None],
                            {r.spec.analysis.name: r for r in results})
        by_name = {**early, **{r.name: r for r in late}}
        design_results = [by_name[d.name] for d in designs]
        assert folder.staging is not None
        write_folder(results, folder.staging, provenance, reproduce_all(),
                     designs=design_results)
        report = folder.commit() / "report.html"
    failed = [r.spec.name for r in results if not r.passed]
    failed += [d.name for d in design_results if not d.passed]
    for r in results:
        print(f"{r.status:6s}  {clean(r.spec.name)}")
    for d in design_results:
        print(f"{d.status:6s}  {clean(d.name)} (design study, {d.spec.kind})")
    print(f"report: {clean(report)}")
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
    analysis_paths, design_paths = _spec_paths(args)
    specs = load_specs(analysis_paths, allow_data_outside=args.allow_data_outside)
    designs = load_design_specs(design_paths)
    for spec in specs:
        cls = get_model_class(spec.analysis.model, where=spec.source_path)
        for name in spec.priors:
            try:
                cls.from_spec(spec, name)
            except SpecError as err:
                raise SpecError(f"{spec.source_path}: key 'priors.{name}': {err}") from None
        print(clean(f"ok  {spec.source_path}: {spec.analysis.model}, "
                    f"{len(spec.priors)} prior set(s)"))
    check_design_analyses(designs, specs)
    for design in designs:
        print(clean(f"ok  design study {design.source_path}: kind {design.kind}"))
    _warn_gate(specs)
    return 0


# --------------------------------------------------------------------------------------
# bayesblina design
# --------------------------------------------------------------------------------------


_KEY = re.compile(r"key '([A-Za-z_]\w*)((?:\.\w+)*)'")


def _option_names(message: str) -> str:
    """A message about the keys of a design table, naming the options instead."""

    def option(match: re.Match[str]) -> str:
        rest = match[2].lstrip(".")
        return f"option --{match[1].replace('_', '-')}" + (f" [{rest}]" if rest else "")

    return _KEY.sub(option, message)


def _design_options(args: argparse.Namespace, fields: list[OptionField]) -> dict[str, Any]:
    """The options given, as the values of a spec's table (tables as dicts)."""
    out: dict[str, Any] = {}
    for f in fields:
        if not hasattr(args, f"opt_{f.key}"):
            continue
        value = getattr(args, f"opt_{f.key}")
        if f.form == "table":
            value = dict(zip(f.fields, value, strict=True))
        elif f.form == "tables":
            value = [dict(zip(f.fields, row, strict=True)) for row in value]
        out[f.key] = value
    return out


def _print_design(result: DesignResult) -> None:
    print(clean(result.to_text()))


def _analyses_for(designs: list[DesignSpec], spec_dir: str | None) -> dict[str, AnalysisResult]:
    """Fit the analyses the studies name (``survival_analysis``), from ``--spec-dir``.

    A standalone ``bayesblina design`` has no run to take them from: it fits each named
    analysis's spec (every prior set, through the gate) once, with a progress line.
    """
    names = sorted({d.needs_analysis for d in designs if d.needs_analysis is not None})
    if not names:
        return {}
    folder = "the default specs" if spec_dir is None else spec_dir
    found: dict[str, Path] = {}
    for path in discover_specs(spec_dir):
        if path.stem in names:
            found[path.stem] = path
    specs = []
    for name in names:
        if name not in found:
            raise SpecError(f"survival_analysis = {name!r}: no analysis spec {name}.toml in "
                            f"{folder}: give --spec-dir with that analysis's spec")
        specs.append(load_spec(found[name]))
    check_design_analyses(designs, specs)
    out = {}
    for spec in specs:
        start = time.perf_counter()
        _progress(f"fitting {spec.analysis.name} for the design studies that read its "
                  "posterior")
        result = run_analysis(spec)
        _progress(f"{spec.analysis.name}: {result.status}, {time.perf_counter() - start:.0f} s")
        out[spec.analysis.name] = result
    return out


def _cmd_design_kind(args: argparse.Namespace) -> int:
    """``bayesblina design <kind> [options]``: one study from the options."""
    kind = args.design_kind
    try:
        spec = design_spec_from_options(kind, _design_options(args, option_fields(kind)))
        analyses = _analyses_for([spec], args.spec_dir)
        result = run_design(spec, figure=False, analyses=analyses)
    except SpecError as err:
        raise SpecError(_option_names(str(err))) from None
    if args.json:
        print(json.dumps(result.summary, indent=2))
    else:
        _print_design(result)
    return 0 if result.passed else 1


def _cmd_design_run(args: argparse.Namespace) -> int:
    """``bayesblina design run SPEC...``: design spec files (or default design names)."""
    specs = load_design_specs(args.specs)
    analyses = _analyses_for(specs, args.spec_dir)
    results = [run_design(spec, figure=False, analyses=analyses) for spec in specs]
    _print_studies(results, as_json=args.json)
    return 0 if all(r.passed for r in results) else 1


def _print_studies(results: list[DesignResult], *, as_json: bool) -> None:
    """Several studies: a JSON list of their entries, or each one's text under its spec."""
    if as_json:
        keys = ("name", "kind", "title", "status", "spec", "spec_sha256", "summary", "finding")
        print(json.dumps([{k: r.entry()[k] for k in keys} for r in results], indent=2))
        return
    for i, r in enumerate(results):
        if i:
            print()
        print(clean(f"== {r.spec.source_path} =="))
        _print_design(r)


def _escalation_specs(args: argparse.Namespace) -> list[DesignSpec]:
    """The escalation studies named (default: every default one), with the overrides."""
    if args.specs:
        specs = load_design_specs(args.specs)
    else:
        specs = [s for s in map(load_design_spec, discover_design_specs())
                 if s.kind == "escalation"]
    out = []
    for spec in specs:
        if spec.kind != "escalation":
            raise SpecError(f"{spec.source_path}: key 'design.kind': {spec.kind!r}: "
                            "'bayesblina design escalation' simulates kind = 'escalation' "
                            "studies; run this one with 'bayesblina design run'")
        update = {k: v for k, v in (("n_trials", args.n_trials), ("seed", args.seed))
                  if v is not None}
        if update:
            spec = dataclasses.replace(spec, params=spec.params.model_copy(update=update))
        out.append(spec)
    return out


def _cmd_design_escalation(args: argparse.Namespace) -> int:
    """``bayesblina design escalation [SPEC...]``: simulate escalation studies."""
    matplotlib.use("Agg")
    specs = _escalation_specs(args)
    results = []
    for i, spec in enumerate(specs, start=1):
        out_dir = None if args.out_dir is None else Path(args.out_dir) / spec.name
        execution = Execution(workers=args.workers, scheduler=args.scheduler,
                              out_dir=out_dir, progress=not args.quiet)
        start = time.perf_counter()
        _progress(f"design {spec.name} ({i}/{len(specs)}): simulating "
                  f"{spec.params.n_trials:,} trials per scenario")  # type: ignore[attr-defined]
        results.append(run_design(spec, figure=False, execution=execution))
        _progress(f"design {spec.name}: {time.perf_counter() - start:.1f} s")
    _print_studies(results, as_json=args.json)
    return 0


def _escalation_parser(dsub: Any, parents: list[argparse.ArgumentParser]) -> None:
    esc = dsub.add_parser(
        "escalation", parents=parents,
        help="dose-escalation designs (3+3, BOIN, CRM, BLRM/EWOC) compared by simulation",
        description="Simulate escalation design studies (kind = 'escalation' spec files; "
                    "default: the default ones) on common random numbers: the same numbers "
                    "for a seed on any number of workers or a Dask cluster.")
    esc.add_argument("specs", nargs="*", help="escalation spec files, or names of default "
                                              "design specs (default: every default one)")
    esc.add_argument("--n-trials", type=_positive_int, metavar="N",
                     help="override the trials per scenario")
    esc.add_argument("--seed", type=_non_negative_int, metavar="N", help="override the seed")
    esc.add_argument("--workers", type=_positive_int, metavar="N",
                     help="local worker processes (default: every core where that pays; "
                          "1: this process)")
    esc.add_argument("--scheduler", metavar="ADDRESS",
                     help="a Dask scheduler to run on (tcp://host:8786)")
    esc.add_argument("--out-dir", metavar="DIR",
                     help="keep finished batches here (one folder per study): a rerun "
                          "resumes where an interrupted one stopped")
    esc.add_argument("--quiet", action="store_true", help="no progress display")
    esc.add_argument("--json", action="store_true", help="print JSON instead of tables")
    esc.set_defaults(func=_cmd_design_escalation)


def _add_design_option(parser: argparse.ArgumentParser, f: OptionField) -> None:
    """``--<key>`` for one key of a design table (its value stored as ``opt_<key>``)."""
    flag = "--" + f.key.replace("_", "-")
    kw: dict[str, Any] = {"dest": f"opt_{f.key}", "default": argparse.SUPPRESS, "help": f.help}
    if f.form == "number":
        kw.update(type=float, metavar="X")
    elif f.form == "integer":
        kw.update(type=int, metavar="N")
    elif f.form == "text":
        kw.update(type=str, metavar="NAME")
    elif f.form == "choice":
        kw.update(choices=f.choices)
    elif f.form == "flag":
        kw.update(action=argparse.BooleanOptionalAction)
    elif f.form == "numbers":
        kw.update(type=float, nargs="+", metavar="X")
    elif f.form == "integers":
        kw.update(type=int, nargs="+", metavar="N")
    elif f.form == "choices":
        kw.update(nargs="+", choices=f.choices)
    elif f.form == "table":
        kw.update(type=float, nargs=len(f.fields), metavar=tuple(k.upper() for k in f.fields))
    else:  # tables: the option repeated, one table each
        kw.update(type=float, nargs=len(f.fields), action="append",
                  metavar=tuple(k.upper() for k in f.fields))
        kw["help"] = f"{f.help} (repeat the option for each)"
    parser.add_argument(flag, **kw)


_DESIGN_HELP = {
    "simon": "Simon two-stage designs: minimax, admissible, optimal; a given design against them",
    "bayes": "a single-arm design monitored by predictive or posterior probability: search or "
             "given, exact OC",
    "prior": "a power/MAP prior from historical counts, its robust mixture, ESS, follow-up OC",
    "assurance": "probability of success of a new trial (binary single arm, or log-rank)",
}


def _design_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON instead of tables")
    as_json.add_argument("--spec-dir", help="folder of the analysis specs a study's "
                         "survival_analysis names (default: the default specs); that analysis "
                         "is fitted first")
    des = sub.add_parser("design", help="plan a trial (exact): Simon, Bayesian monitoring, "
                                        "priors, assurance; or run design spec files")
    dsub = des.add_subparsers(dest="design_command", required=True)
    for kind in KINDS:
        if kind == "escalation":
            _escalation_parser(dsub, [common])
            continue
        k = dsub.add_parser(kind, help=_DESIGN_HELP[kind], parents=[common, as_json],
                            description=_DESIGN_HELP[kind] + ". The options are the keys of "
                            f"a design spec's [{kind}] table (docs/specs.md).")
        for f in option_fields(kind):
            _add_design_option(k, f)
        k.set_defaults(func=_cmd_design_kind, design_kind=kind)
    run = dsub.add_parser("run", help="run design spec files (models/design/*.toml style)",
                          parents=[common, as_json])
    run.add_argument("specs", nargs="+",
                     help="design spec files, or names of default design specs")
    run.set_defaults(func=_cmd_design_run)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and tests)."""
    parser = argparse.ArgumentParser(
        prog="bayesblina",
        description="Bayesian re-analysis of the paediatric blinatumomab phase I/II trial.",
        epilog="exit status: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items()),
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="show the traceback of an internal error")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run analyses and write the report", parents=[common])
    run.add_argument("specs", nargs="*",
                     help="spec files or default spec names (default: every default spec)")
    run.add_argument("--out", default="results",
                     help="output folder: new, empty or a previous run's, replaced whole at "
                          "the end (default: results/)")
    run.add_argument("--seed", type=int, help="override every spec's seed")
    run.add_argument("--sampler", choices=["pymc", "nutpie", "numpyro"], help="override backend")
    run.add_argument("--draws", type=int, help="override draws per chain")
    run.add_argument("--tune", type=int, help="override warm-up iterations per chain")
    run.add_argument("--chains", type=int, help="override number of chains")
    run.add_argument("--spec-dir", help="folder of specs (default: the repository's models/)")
    run.add_argument("--jobs", type=_positive_int, metavar="N",
                     help="analyses run at once, one process each (default: one per core); "
                          "the numbers do not depend on it")
    _data_outside(run)
    run.set_defaults(func=_cmd_run)

    rep = sub.add_parser("reproduce", help="reproduce the paper's published numbers",
                         parents=[common])
    rep.add_argument("--json", action="store_true", help="print JSON instead of a table")
    rep.set_defaults(func=_cmd_reproduce)

    chk = sub.add_parser("check", help="validate specs and their data without fitting",
                         parents=[common])
    chk.add_argument("specs", nargs="*")
    chk.add_argument("--spec-dir")
    _data_outside(chk)
    chk.set_defaults(func=_cmd_check)

    _design_parser(sub, common)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1 (got {text!r})")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0 (got {text!r})")
    return value


def _data_outside(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-data-outside", action="store_true",
                        help="let a spec read data files outside its own folder (absolute "
                             "paths, '..')")


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds: the staging folder is removed, the lock freed


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bayesblina`` console script (exit codes: :data:`EXIT_CODES`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if (len(argv) >= 2 and argv[0] == "design" and argv[1] not in (*KINDS, "run")
            and not argv[1].startswith("-")):
        argv.insert(1, "run")  # bayesblina design SPEC.toml
    args = build_parser().parse_args(argv)
    quiet_third_party()  # log lines and warnings the user cannot act on (tests keep them)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.func(args))
    except BayesblinaError as err:
        print(f"error: {clean(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the output folder was left as it was", file=sys.stderr)
        return 130
    except Exception as err:
        if args.debug:
            traceback.print_exc()
        print(f"internal error: {type(err).__name__}: {clean(err)} (a bug in bayesblina; "
              "rerun with --debug for the traceback)", file=sys.stderr)
        return 3
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
