"""Issue 10, item 6 (in process): the output folder is replaced all or nothing, under a lock.

The subprocess cases (a run killed mid-write, SIGTERM, two concurrent runs) are in
``tests/e2e/test_output_folder_processes.py``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

import bayesblina.io as bio
from bayesblina.io import OutputError, OutputFolder, write_text


def manifest(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (hidden ones too) with its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def previous_run(out: Path) -> dict[str, str]:
    write_text(out / "summary.json", '{"run": 1}')
    write_text(out / "figures" / "old_analysis.png", "old figure")
    return manifest(out)


def test_a_commit_replaces_the_whole_folder(tmp_path):
    out = tmp_path / "results"
    previous_run(out)
    with OutputFolder(out) as folder:
        write_text(folder.staging / "summary.json", '{"run": 2}')
        folder.commit()
    assert manifest(out) == {"summary.json": hashlib.sha256(b'{"run": 2}').hexdigest()}
    assert leftovers(tmp_path, "results") == []  # no staging, no lock, no old copy


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two renames"])
def test_both_ways_of_swapping_give_the_new_folder(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(bio, "_exchange", lambda a, b: False)
    out = tmp_path / "results"
    previous_run(out)
    with OutputFolder(out) as folder:
        write_text(folder.staging / "summary.json", '{"run": 2}')
        folder.commit()
    assert (out / "summary.json").read_text() == '{"run": 2}'
    assert leftovers(tmp_path, "results") == []


def test_a_run_that_fails_mid_write_leaves_the_previous_output(tmp_path):
    out = tmp_path / "results"
    before = previous_run(out)
    with pytest.raises(RuntimeError, match="figure failed"), OutputFolder(out) as folder:
        write_text(folder.staging / "summary.json", '{"run": 2}')
        raise RuntimeError("figure failed")
    assert manifest(out) == before
    assert leftovers(tmp_path, "results") == []


def test_a_first_run_that_fails_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), OutputFolder(tmp_path / "new") as folder:
        write_text(folder.staging / "summary.json", "{}")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_second_run_into_the_same_folder_is_refused(tmp_path):
    out = tmp_path / "results"
    with OutputFolder(out) as first:
        with pytest.raises(OutputError) as err, OutputFolder(out):
            pass
        assert str(err.value) == (
            f"--out {out}: another bayesblina run (process {os.getpid()}) is writing into "
            "this folder; wait for it to end or choose another folder")
        assert first.staging is not None and first.staging.is_dir()  # the first is untouched
        write_text(first.staging / "summary.json", "{}")
        first.commit()
    assert (out / "summary.json").is_file()
    with OutputFolder(out) as again:  # the lock was released
        again.commit()


def test_another_folder_in_the_same_parent_is_not_locked(tmp_path):
    with OutputFolder(tmp_path / "a"), OutputFolder(tmp_path / "b"):
        pass


def test_what_a_killed_run_left_is_removed_by_the_next(tmp_path):
    out = tmp_path / "results"
    before = previous_run(out)
    stale = tmp_path / ".results.staging-dead1234"
    write_text(stale / "idata" / "x.nc", "half a run")
    with OutputFolder(out):
        assert not stale.exists()
    assert manifest(out) == before
    assert leftovers(tmp_path, "results") == []


def test_a_two_rename_swap_killed_half_way_is_restored(tmp_path):
    """Without renameat2 the swap is two renames; killed between them, the old copy returns."""
    out = tmp_path / "results"
    before = previous_run(out)
    out.rename(tmp_path / ".results.staging-dead1234.old")  # the first rename happened
    write_text(tmp_path / ".results.staging-dead1234" / "summary.json", "{}")  # not the second
    with OutputFolder(out):
        pass
    assert manifest(out) == before
    assert leftovers(tmp_path, "results") == []


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_files_and_folders_get_what_the_umask_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        out = tmp_path / "results"
        with OutputFolder(out) as folder:
            write_text(folder.staging / "tables" / "t.csv", "a\n")
            folder.commit()
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(out) == 0o777 & ~umask
    assert mode(out / "tables") == 0o777 & ~umask
    assert mode(out / "tables" / "t.csv") == 0o666 & ~umask
