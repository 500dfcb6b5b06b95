"""Issue 10, item 1 at scale: every value of a default spec replaced by a hostile one.

A string, a boolean, ``inf``, 2**62, -1, an empty array, a table, a decimal and zero, in
place of each value of four default specs (about 1,350 specs): ``check`` must answer each
with exit 0 or 2 and never a traceback or an internal error (3); where it accepts one
(exit 0) the value must be of the type the spec had there (an integer where a decimal
was), never a coerced one.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest
import tomli_w

from bayesblina.analyses.registry import DEFAULT_SPEC_DIR
from bayesblina.cli import main

SPECS = ["overall_cr", "subgroups_age", "dose_toxicity_crm", "response_categories"]
HOSTILE: list[Any] = ["s", True, float("inf"), 2**62, -1, [], {"a": 1}, 1.5, 0]
PROSE = ("title", "question", "description")


def leaves(obj: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every value of a TOML document with its key path (arrays of scalars also whole)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from leaves(value, (*path, key))
    elif isinstance(obj, list) and obj and not any(isinstance(v, (dict, list)) for v in obj):
        yield path, obj
        for i, value in enumerate(obj):
            yield (*path, i), value
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from leaves(value, (*path, i))
    else:
        yield path, obj


def replaced(doc: dict, path: tuple, value: Any) -> dict:
    out = copy.deepcopy(doc)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def same_type(original: Any, new: Any) -> bool:
    if type(original) is type(new):
        return True
    return isinstance(original, float) and type(new) is int  # TOML's 1 for 1.0


@pytest.mark.parametrize("name", SPECS)
def test_no_hostile_value_crashes_or_is_coerced(name, tmp_path, capsys):
    doc = tomllib.loads((DEFAULT_SPEC_DIR / f"{name}.toml").read_text(encoding="utf-8"))
    path = tmp_path / f"{name}.toml"
    crashes, coerced, tried = [], [], 0
    for key, original in leaves(doc):
        if key[-1] in PROSE:
            continue
        for value in HOSTILE:
            if type(value) is type(original) and value == original:
                continue
            path.write_text(tomli_w.dumps(replaced(doc, key, value)), encoding="utf-8")
            code = main(["check", str(path)])
            out, err = capsys.readouterr()
            tried += 1
            where = ".".join(map(str, key))
            if code not in (0, 2) or "Traceback" in out + err:
                crashes.append((where, value, code, err[-200:]))
            elif code == 0 and not same_type(original, value):
                coerced.append((where, original, value))
            elif code == 2:
                assert err.startswith(f"error: {path}: "), (where, value, err)
    assert tried > 200
    assert not crashes, crashes
    assert not coerced, coerced
