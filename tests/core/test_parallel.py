"""The batch runner: same results on every backend, resumable, clear errors.

* a seeded task gives identical batches in this process, on a two-worker local cluster
  (given as a client, by its scheduler address, or started by the call);
* ``out_dir`` keeps each finished batch; a rerun computes only the missing ones, and a
  folder of another job is refused;
* a failing batch (or Ctrl-C) leaves the batches finished before it on disk, and its error
  names the batch;
* an unreachable scheduler is one clear error within the timeout.
"""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import distributed
import numpy as np
import pytest

import bayesblina.core.parallel as parallel
from bayesblina.core.parallel import (
    MANIFEST,
    BatchError,
    batch_path,
    local_cluster,
    run_batches,
)
from bayesblina.errors import BayesblinaError, SpecError

N = 6
KEY = {"study": "test", "seed": 11, "n_trials": 4 * N, "batch_size": 4}


@dataclass(frozen=True)
class Seeded:
    """Batch ``i``: 4 trials, each with its own generator spawned from the root seed."""

    root: int = 11
    n_batches: int = N
    fail_on: int | None = None

    def __call__(self, i: int) -> dict[str, np.ndarray]:
        if i == self.fail_on:
            raise ValueError(f"no data for batch {i}")
        seeds = np.random.SeedSequence(self.root).spawn(self.n_batches * 4)[4 * i:4 * i + 4]
        draws = np.array([np.random.default_rng(s).normal(size=3) for s in seeds])
        return {"draws": draws, "batch": np.full(4, i), "label": np.array([f"b{i}"] * 4)}


@dataclass
class Logged:
    """In-process only: records which batches it computed."""

    inner: Seeded = field(default_factory=Seeded)
    calls: list[int] = field(default_factory=list)
    interrupt_on: int | None = None

    def __call__(self, i: int) -> dict[str, np.ndarray]:
        if i == self.interrupt_on:
            raise KeyboardInterrupt
        self.calls.append(i)
        return self.inner(i)


def _same(a: list[dict[str, np.ndarray]], b: list[dict[str, np.ndarray]]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert list(x) == list(y)
        for name in x:
            assert x[name].dtype == y[name].dtype
            np.testing.assert_array_equal(x[name], y[name])


def _stored(folder: Path) -> list[int]:
    return sorted(int(p.stem.split("_")[1]) for p in folder.glob("batch_*.npz"))


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each (the machine is small and shared)."""
    with (local_cluster(2) as c,
          distributed.Client(c, set_as_default=False) as client):
        yield c, client


# -- same results on every backend ------------------------------------------------------


def test_in_process_results_are_the_tasks_in_batch_order() -> None:
    task = Seeded()
    out = run_batches(task, N, key=KEY, workers=1, progress=False)
    _same(out, [task(i) for i in range(N)])
    # the spawned seeds differ per trial: no two trials drew the same numbers
    draws = np.concatenate([b["draws"] for b in out])
    assert len(np.unique(draws[:, 0])) == 4 * N


def test_every_backend_gives_the_same_batches(cluster) -> None:
    c, client = cluster
    here = run_batches(Seeded(), N, key=KEY, workers=1, progress=False)
    _same(run_batches(Seeded(), N, key=KEY, client=client, progress=False), here)
    _same(run_batches(Seeded(), N, key=KEY, scheduler=c.scheduler_address, progress=False),
          here)
    # the default backend: a local cluster started (and closed) by the call
    _same(run_batches(Seeded(), N, key=KEY, workers=2, progress=False), here)


def test_a_cluster_run_resumes_an_in_process_one(cluster, tmp_path: Path) -> None:
    _, client = cluster
    clean = run_batches(Seeded(), N, key=KEY, workers=1, progress=False)
    run_batches(Seeded(), 3, key={**KEY, "part": 1}, workers=1, out_dir=tmp_path / "a",
                progress=False)
    out = tmp_path / "b"
    run_batches(Logged(), N, key=KEY, workers=1, out_dir=out, progress=False)
    for i in (1, 4):
        batch_path(out, i).unlink()
    _same(run_batches(Seeded(), N, key=KEY, client=client, out_dir=out, progress=False), clean)


# -- resume -----------------------------------------------------------------------------


def test_a_failing_batch_keeps_the_finished_ones_and_a_rerun_computes_the_rest(
        tmp_path: Path) -> None:
    clean = run_batches(Seeded(), N, key=KEY, workers=1, progress=False)
    with pytest.raises(BatchError, match=r"batch 3 of 6 failed: ValueError: no data") as info:
        run_batches(Seeded(fail_on=3), N, key=KEY, workers=1, out_dir=tmp_path,
                    progress=False)
    assert info.value.batch == 3 and isinstance(info.value.__cause__, ValueError)
    assert isinstance(info.value, BayesblinaError)
    assert _stored(tmp_path) == [0, 1, 2]
    task = Logged()
    _same(run_batches(task, N, key=KEY, workers=1, out_dir=tmp_path, progress=False), clean)
    assert task.calls == [3, 4, 5]
    # everything stored: nothing computed
    again = Logged()
    _same(run_batches(again, N, key=KEY, workers=1, out_dir=tmp_path, progress=False), clean)
    assert again.calls == []


def test_a_failing_batch_on_a_cluster_keeps_what_finished(cluster, tmp_path: Path) -> None:
    _, client = cluster
    clean = run_batches(Seeded(), N, key=KEY, workers=1, progress=False)
    with pytest.raises(BatchError, match=r"batch 3 of 6 failed: ValueError") as info:
        run_batches(Seeded(fail_on=3), N, key=KEY, client=client, out_dir=tmp_path,
                    progress=False)
    assert isinstance(info.value.__cause__, ValueError)
    stored = _stored(tmp_path)
    assert 3 not in stored  # which others finished first depends on the workers
    task = Logged()
    _same(run_batches(task, N, key=KEY, workers=1, out_dir=tmp_path, progress=False), clean)
    assert sorted(task.calls) == sorted(set(range(N)) - set(stored))


def test_ctrl_c_keeps_the_finished_batches(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        run_batches(Logged(interrupt_on=2), N, key=KEY, workers=1, out_dir=tmp_path,
                    progress=False)
    assert _stored(tmp_path) == [0, 1]
    task = Logged()
    run_batches(task, N, key=KEY, workers=1, out_dir=tmp_path, progress=False)
    assert task.calls == [2, 3, 4, 5]


def test_the_manifest_holds_the_key_and_the_batches_are_npz_files(tmp_path: Path) -> None:
    run_batches(Seeded(), N, key={**KEY, "scenarios": ("a", "b")}, workers=1,
                out_dir=tmp_path, progress=False)
    manifest = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["key"] == {**KEY, "scenarios": ["a", "b"]}
    assert manifest["n_batches"] == N and "bayesblina_version" in manifest
    assert (tmp_path / "batch_00005.npz").is_file()
    with np.load(tmp_path / "batch_00002.npz", allow_pickle=False) as z:
        np.testing.assert_array_equal(z["draws"], Seeded()(2)["draws"])
    # a tuple key is the same key as its list after a round trip through the manifest
    task = Logged()
    run_batches(task, N, key={**KEY, "scenarios": ["a", "b"]}, workers=1, out_dir=tmp_path,
                progress=False)
    assert task.calls == []


def test_another_jobs_folder_is_refused_not_mixed(tmp_path: Path) -> None:
    run_batches(Seeded(), N, key=KEY, workers=1, out_dir=tmp_path, progress=False)
    with pytest.raises(SpecError, match=rf"out_dir {tmp_path}: .*another job.*key\.seed.*"
                                        r"use another folder, or delete"):
        run_batches(Seeded(root=12), N, key={**KEY, "seed": 12}, workers=1, out_dir=tmp_path,
                    progress=False)
    with pytest.raises(SpecError, match=r"another job.*n_batches"):
        run_batches(Seeded(), N - 1, key=KEY, workers=1, out_dir=tmp_path, progress=False)
    assert _stored(tmp_path) == list(range(N))


def test_a_folder_of_other_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SpecError, match=r"holds files but no manifest\.json"):
        run_batches(Seeded(), N, key=KEY, workers=1, out_dir=tmp_path, progress=False)
    file = tmp_path / "notes.txt"
    with pytest.raises(SpecError, match="is a file, not a folder"):
        run_batches(Seeded(), N, key=KEY, workers=1, out_dir=file, progress=False)


def test_arrays_named_like_numpy_keywords_round_trip(tmp_path: Path) -> None:
    def task(i: int) -> dict[str, np.ndarray]:
        return {"file": np.arange(i + 1), "allow_pickle": np.array(True)}

    first = run_batches(task, 2, key="kw", workers=1, out_dir=tmp_path, progress=False)
    _same(run_batches(task, 2, key="kw", workers=1, out_dir=tmp_path, progress=False), first)


# -- errors -----------------------------------------------------------------------------


def test_an_unreachable_scheduler_is_one_clear_error() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(SpecError, match=rf"cannot reach the Dask scheduler at {address} "
                                        r"within 2 s") as info:
        run_batches(Seeded(), N, key=KEY, scheduler=address, timeout=2, progress=False)
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_batches": -1}, "n_batches must be a whole number"),
    ({"n_batches": 2.0}, "n_batches must be a whole number"),
    ({"workers": 0}, "workers must be a whole number >= 1"),
    ({"client": object(), "scheduler": "tcp://x:1"}, "not both"),
    ({"key": {"when": object()}}, "key must be JSON-able"),
    ({"key": {"x": float("nan")}}, "key must be JSON-able"),
    ({"key": 3}, "key must be a mapping or a string"),
    ({"timeout": 0}, "timeout must be positive"),
])
def test_bad_arguments_are_spec_errors(kwargs: dict, message: str) -> None:
    args = {"n_batches": N, "key": KEY, "workers": 1, "progress": False, **kwargs}
    with pytest.raises(SpecError, match=message):
        run_batches(Seeded(), **args)


def test_a_task_must_return_named_arrays(tmp_path: Path) -> None:
    with pytest.raises(BatchError, match=r"batch 0 of 1: the task returned a list"):
        run_batches(lambda i: [i], 1, key="x", workers=1, progress=False)
    with pytest.raises(BatchError, match=r"'obj' holds Python objects"):
        run_batches(lambda i: {"obj": np.array([{}])}, 1, key="x", workers=1,
                    out_dir=tmp_path, progress=False)


def test_a_task_that_cannot_be_pickled_is_refused_before_it_runs(cluster) -> None:
    _, client = cluster
    lock = threading.Lock()

    def task(i: int) -> dict[str, np.ndarray]:
        with lock:
            return {"i": np.array(i)}

    with pytest.raises(SpecError, match=r"cannot be sent to Dask workers.*module-level"):
        run_batches(task, 2, key="x", client=client, progress=False)


# -- progress ---------------------------------------------------------------------------


def test_progress_goes_to_a_callable_and_counts_reused_batches(tmp_path: Path) -> None:
    run_batches(Seeded(), 2, key="p", workers=1, out_dir=tmp_path, progress=False)
    seen: list[tuple[int, int]] = []
    run_batches(Seeded(), 2, key="p", workers=1, out_dir=tmp_path,
                progress=lambda done, total: seen.append((done, total)))
    assert seen == [(2, 2)]
    seen.clear()
    run_batches(Seeded(), 3, key="q", workers=1, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_progress_off_a_terminal_is_plain_lines(capsys: pytest.CaptureFixture[str]) -> None:
    run_batches(Seeded(), 3, key="p", workers=1)
    assert capsys.readouterr().err.splitlines() == ["batch 1/3", "batch 2/3", "batch 3/3"]
    run_batches(Seeded(n_batches=40), 40, key="p", workers=1)
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1] == "batch 40/40" and len(lines) == 20  # every 5%, not every batch
    run_batches(Seeded(), 3, key="p", workers=1, progress=False)
    assert capsys.readouterr().err == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_a_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    run_batches(Seeded(), 3, key="p", workers=1)
    assert "3/3" in term.getvalue() and "batch 1/3" not in term.getvalue()


class _ClusterStarted(Exception):
    pass


def _no_cluster(n_workers: int):
    raise _ClusterStarted(n_workers)


def test_by_default_a_cluster_starts_only_where_it_saves_its_start(monkeypatch) -> None:
    # quick batches: the first, timed here, shows a cluster would cost more than it saves
    monkeypatch.setattr(parallel, "local_cluster", _no_cluster)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    task = Logged()
    out = run_batches(task, N, key=KEY, progress=False)
    assert task.calls == list(range(N))  # all in this process, in order
    _same(out, [Seeded()(i) for i in range(N)])
    # were a cluster free to start, the batches after the first would go to one
    monkeypatch.setattr(parallel, "CLUSTER_START_S", 0.0)
    task = Logged()
    with pytest.raises(_ClusterStarted):
        run_batches(task, N, key=KEY, workers=None, progress=False)
    assert task.calls == [0]
    # a number of workers given is obeyed: no first batch here
    task = Logged()
    with pytest.raises(_ClusterStarted):
        run_batches(task, N, key=KEY, workers=2, progress=False)
    assert task.calls == []
