"""Issue 10, item 6 (real processes): a killed, terminated or concurrent run never mixes files.

A run's ``--out`` holds one complete run at every moment: a run killed mid-write (SIGKILL)
or terminated (SIGTERM) leaves the previous run's files as they were, and a second run into
the same folder while one is running is refused with a clear message.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import arviz as az
import pytest

from ..test_io_output_folder import leftovers, manifest

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore::UserWarning")]

SPECS = ["overall_cr", "response_categories"]


def command(out: Path, seed: int, jobs: int) -> list[str]:
    # plumbing: the files of whole runs, not their numbers (short chains; the gate may fail,
    # exit 1, which the tests accept). One process unless a test needs the run's workers:
    # each worker process pays PyMC's import again
    return [sys.executable, "-m", "bayesblina.cli", "run", *SPECS, "--draws", "200",
            "--tune", "200", "--chains", "2", "--seed", str(seed), "--jobs", str(jobs),
            "--out", str(out)]


def run(out: Path, seed: int) -> subprocess.CompletedProcess:
    return subprocess.run(command(out, seed, 1), capture_output=True, text=True, check=False,
                          timeout=600)


def start(out: Path, seed: int, jobs: int = 1) -> subprocess.Popen:
    return subprocess.Popen(command(out, seed, jobs), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(predicate, proc: subprocess.Popen, polls: int = 300_000) -> None:
    """Poll every millisecond (at least) until ``predicate()``, while ``proc`` runs."""
    for _ in range(polls):
        if predicate():
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.001)
    raise AssertionError("the run never reached the awaited state")


def staging(parent: Path) -> list[Path]:
    return sorted(parent.glob(".out.staging-*"))


def seed_of(out: Path) -> int:
    summary = json.loads((out / "summary.json").read_text())
    seeds = {a["sampler"]["seed"] for a in summary["analyses"]}
    assert len(seeds) == 1
    return seeds.pop()


def is_complete_run(out: Path, seed: int) -> bool:
    """Every file of one run, all of that run (summary.json and each .nc share the run id)."""
    summary = json.loads((out / "summary.json").read_text())
    run_id = summary["provenance"]["run_id"]
    for name in SPECS:
        idata = az.from_netcdf(out / "idata" / f"{name}.nc")
        assert idata.attrs["run_id"] == run_id
        assert idata.attrs["gate_status"] in ("PASSED", "FAILED")
        assert json.loads(idata.attrs["gate"]).keys() == set(
            next(a for a in summary["analyses"] if a["name"] == name)["diagnostics"])
        # a figure shows passed fits only (these short runs may fail the gate)
        if idata.attrs["gate_status"] == "PASSED":
            assert (out / "figures" / f"{name}.png").is_file()
    assert (out / "report.html").is_file()
    return seed_of(out) == seed


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """A complete run (seed 1) whose folder the later runs try to replace."""
    parent = tmp_path_factory.mktemp("runs")
    out = parent / "out"
    done = run(out, 1)
    assert done.returncode in (0, 1), done.stderr
    assert is_complete_run(out, 1)
    return parent, out, manifest(out)


def test_a_run_killed_mid_write_leaves_the_previous_run(first_run):
    parent, out, before = first_run
    proc = start(out, 2)
    # the staging folder exists from the start; its first .nc file means writing has begun
    wait_for(lambda: any(s.joinpath("idata").is_dir() and any(s.joinpath("idata").iterdir())
                         for s in staging(parent)), proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    if manifest(out) == before:
        assert is_complete_run(out, 1)
        # SIGKILL cannot clean up: its staging folder is left, and the next run removes it
        assert staging(parent)
    else:  # the kill landed after the swap (rare): the folder must be the whole new run
        assert is_complete_run(out, 2)
    done = run(out, 3)
    assert done.returncode in (0, 1), done.stderr
    assert is_complete_run(out, 3)
    assert leftovers(parent, "out") == []


def workers(pid: int) -> list[int]:
    """Worker processes (multiprocessing's spawned children) of process ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = stat.with_name("cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_terminated_run_cleans_up_and_leaves_the_previous_run(first_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(first_run[1], out)  # a complete previous run (of this module's fixture)
    before = manifest(out)
    proc = start(out, 2, jobs=2)
    # the two specs run in two worker processes: terminate the run while they work
    wait_for(lambda: bool(staging(tmp_path)) and len(workers(proc.pid)) == 2, proc)
    pids = workers(proc.pid)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert manifest(out) == before
    assert leftovers(tmp_path, "out") == []
    for _ in range(10_000):  # the run stopped its workers (they are not left running)
        if not any(alive(p) for p in pids):
            break
        time.sleep(0.001)
    assert not any(alive(p) for p in pids)


def test_a_second_concurrent_run_into_the_same_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    first = start(out, 1)
    wait_for(lambda: (tmp_path / ".out.lock").exists() and bool(staging(tmp_path)), first)
    second = run(out, 2)
    assert second.returncode == 2
    assert second.stderr.startswith(f"error: --out {out}: another bayesblina run (process "
                                    f"{first.pid}) is writing into this folder")
    _, err = first.communicate(timeout=600)
    assert first.returncode in (0, 1), err
    assert is_complete_run(out, 1)
    assert leftovers(tmp_path, "out") == []
