"""Atomic writes: a crash leaves neither a half-written file nor a temporary one."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from bayesblina.io import atomic_path, write_json, write_text


def test_write_replaces_whole_file(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    write_text(target, "first")
    write_text(target, "second")
    assert target.read_text() == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_crash_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "summary.json"
    write_json(target, {"status": "PASSED"})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text('{"status": "PASS')  # half written when the crash comes
        raise RuntimeError("crash")
    assert json.loads(target.read_text()) == {"status": "PASSED"}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_json_has_no_nan(tmp_path):

    write_json(tmp_path / "x.json", {"a": float("nan"), "b": np.float64(0.5), "c": [np.int64(3)]})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": None, "b": 0.5, "c": [3]}


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_permissions_the_umask_gives(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = write_text(tmp_path / "out" / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]  # no temporary file left
