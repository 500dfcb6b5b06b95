"""Compare two ``summary.json`` files number by number.

A restructuring changes no number: run the default analyses before and after with the same
seed and compare::

    python scripts/compare_summaries.py before/summary.json after/summary.json

Every number (and every string, boolean or null) found at the same JSON path in both files
must be equal; numbers are compared exactly unless ``--rtol``/``--atol`` are given. Paths
present in one file only are listed too. Run provenance (``provenance``: versions, times,
the command) differs from run to run and is skipped; ``--ignore`` skips further keys
wherever they occur (e.g. ``--ignore data_sha256`` across a change of checksum).

``--mcse K`` compares two runs that may differ by Monte Carlo error only (another
sampler, another number of draws): every posterior mean with an ``mcse_mean`` beside it must
agree within K combined standard errors, ``|a - b| <= K * sqrt(mcse_a^2 + mcse_b^2)`` (the
two runs are independent), and every analysis and prior set must pass the gate in both::

    python scripts/compare_summaries.py before/summary.json after/summary.json --mcse 3

Exit status: 0 when every compared value is equal (within K MCSE with ``--mcse``), 1
otherwise, 2 for a file that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

#: keys skipped wherever they occur: run provenance, not results
DEFAULT_IGNORE = ("provenance",)


def flatten(obj: Any, path: str = "", ignore: Sequence[str] = ()) -> Iterator[tuple[str, Any]]:
    """Yield ``(json_path, leaf_value)`` for every leaf of a JSON document."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ignore:
                continue
            yield from flatten(value, f"{path}.{key}" if path else str(key), ignore)
    elif isinstance(obj, list):
        # list entries of dicts with a name are keyed by it (the analyses list)
        for i, value in enumerate(obj):
            label = value.get("name", i) if isinstance(value, dict) else i
            yield from flatten(value, f"{path}[{label}]", ignore)
    else:
        yield path, obj


def equal(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Equality of two leaves; numbers within the tolerances (NaN equals NaN)."""
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        if isinstance(b, bool):
            return False
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
    return a == b and type(a) is type(b)


def compare(
    before: Any, after: Any, *, rtol: float = 0.0, atol: float = 0.0,
    ignore: Sequence[str] = DEFAULT_IGNORE,
) -> dict[str, list[Any]]:
    """Differences between two JSON documents.

    Returns
    -------
    dict
        ``changed``: ``(path, before, after)``; ``only_before`` and ``only_after``: paths;
        ``compared``: the number of leaves found in both (a one-element list).
    """
    a, b = dict(flatten(before, ignore=ignore)), dict(flatten(after, ignore=ignore))
    changed = [(p, a[p], b[p]) for p in a if p in b and not equal(a[p], b[p], rtol, atol)]
    return {
        "changed": changed,
        "only_before": sorted(set(a) - set(b)),
        "only_after": sorted(set(b) - set(a)),
        "compared": [sum(p in b for p in a)],
    }


def compare_mcse(before: Any, after: Any, k: float) -> dict[str, Any]:
    """Posterior means of two runs within ``k`` combined MCSE, and both runs' gate verdicts.

    Returns
    -------
    dict
        ``compared``: means found in both with their MCSE; ``outside``: ``(path, a, b, z)``
        for each mean with ``z = |a - b| / sqrt(mcse_a^2 + mcse_b^2) > k``; ``z_max``;
        ``missing``: means of one run only; ``not_passed``: status paths that are none of
        ``"PASSED"``, ``"EXACT"`` and ``"SIMULATED"`` (a design study's) in either run.
    """
    a, b = dict(flatten(before, ignore=DEFAULT_IGNORE)), dict(flatten(after, ignore=DEFAULT_IGNORE))
    out: dict[str, Any] = {"compared": 0, "outside": [], "z_max": 0.0, "missing": [],
                           "not_passed": []}
    for doc in (a, b):
        # EXACT / SIMULATED: a design study (exact, or Monte Carlo), with no sampler to gate
        out["not_passed"] += [p for p, v in doc.items() if p.endswith(".status")
                              and v not in ("PASSED", "EXACT", "SIMULATED")]
    for path, mean in a.items():
        if not path.endswith(".mean"):
            continue
        mcse_path = path[: -len("mean")] + "mcse_mean"
        if mcse_path not in a or not isinstance(mean, (int, float)):
            continue
        if path not in b or mcse_path not in b:
            out["missing"].append(path)
            continue
        se = math.hypot(a[mcse_path], b[mcse_path])
        diff = abs(mean - b[path])
        z = diff / se if se > 0 else (0.0 if diff == 0 else math.inf)
        out["compared"] += 1
        out["z_max"] = max(out["z_max"], z)
        if z > k:
            out["outside"].append((path, mean, b[path], z))
    out["missing"] += [p for p in b if p.endswith(".mean") and p[:-4] + "mcse_mean" in b
                       and p not in a]
    return out


def _main_mcse(docs: list[Any], k: float) -> int:
    res = compare_mcse(*docs, k)
    for path, a, b, z in res["outside"]:
        print(f"outside  {path}: {a!r} -> {b!r} ({z:.2f} MCSE)")
    for path in res["missing"]:
        print(f"missing  {path}")
    for path in res["not_passed"]:
        print(f"gate     {path} is not PASSED")
    print(f"{res['compared']} posterior means compared, {len(res['outside'])} outside "
          f"{k:g} MCSE (largest {res['z_max']:.2f}), {len(res['missing'])} missing, "
          f"{len(res['not_passed'])} not passed")
    return 1 if res["outside"] or res["missing"] or res["not_passed"] else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the differences, exit 1 if there are any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rtol", type=float, default=0.0, help="relative tolerance (0: exact)")
    parser.add_argument("--atol", type=float, default=0.0, help="absolute tolerance (0: exact)")
    parser.add_argument("--ignore", action="append", default=[],
                        help="a key to skip wherever it occurs (repeatable)")
    parser.add_argument("--mcse", type=float, metavar="K",
                        help="compare posterior means within K combined MCSE (and the gate)")
    args = parser.parse_args(argv)
    docs = []
    for path in (args.before, args.after):
        try:
            docs.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            print(f"error: {path}: {err}", file=sys.stderr)
            return 2
    if args.mcse is not None:
        return _main_mcse(docs, args.mcse)
    diff = compare(*docs, rtol=args.rtol, atol=args.atol,
                   ignore=(*DEFAULT_IGNORE, *args.ignore))
    for path, a, b in diff["changed"]:
        print(f"changed  {path}: {a!r} -> {b!r}")
    for path in diff["only_before"]:
        print(f"removed  {path}")
    for path in diff["only_after"]:
        print(f"added    {path}")
    n_diff = len(diff["changed"]) + len(diff["only_before"]) + len(diff["only_after"])
    print(f"{diff['compared'][0]} values compared, {len(diff['changed'])} changed, "
          f"{len(diff['only_before'])} removed, {len(diff['only_after'])} added")
    return 1 if n_diff else 0


if __name__ == "__main__":
    sys.exit(main())
