"""Compare two ``summary.json`` files number by number.

A restructuring changes no number: run the default analyses before and after with the same
seed and compare::

    python scripts/compare_summaries.py before/summary.json after/summary.json

Every number (and every string, boolean or null) found at the same JSON path in both files
must be equal; numbers are compared exactly unless ``--rtol``/``--atol`` are given. Paths
present in one file only are listed too. Run provenance (``provenance``: versions, times,
the command) differs from run to run and is skipped; ``--ignore`` skips further keys
wherever they occur (e.g. ``--ignore data_sha256`` across a change of checksum).

Exit status: 0 when every compared value is equal, 1 otherwise, 2 for a file that cannot
be read.
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


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the differences, exit 1 if there are any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rtol", type=float, default=0.0, help="relative tolerance (0: exact)")
    parser.add_argument("--atol", type=float, default=0.0, help="absolute tolerance (0: exact)")
    parser.add_argument("--ignore", action="append", default=[],
                        help="a key to skip wherever it occurs (repeatable)")
    args = parser.parse_args(argv)
    docs = []
    for path in (args.before, args.after):
        try:
            docs.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            print(f"error: {path}: {err}", file=sys.stderr)
            return 2
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
