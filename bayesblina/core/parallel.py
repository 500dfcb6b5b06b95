"""One batch runner for every simulation: in this process, on local cores, or on a cluster.

A simulation is cut into batches; :func:`run_batches` computes batch ``i`` by calling
``task(i)`` and returns the batches' results in batch order. The task is pure: it derives
its seeds from the batch index (e.g. ``numpy.random.SeedSequence(root).spawn(n)[i]``), so
the answer is the same whichever backend computes it and however many workers share it:

* a Dask ``client`` given: batches go to its cluster;
* a ``scheduler`` address (``"tcp://host:port"``): a client connects to it (within
  ``timeout`` seconds, or one clear :class:`~bayesblina.errors.SpecError`);
* otherwise this machine: a :class:`distributed.LocalCluster` of ``workers`` processes (one
  thread each), started and closed by the call; in this process when one worker would do
  (``workers == 1``, or one batch left), since starting workers costs more than it saves.
  With ``workers`` left to the default, the first batch runs in this process and a cluster
  starts only if the other batches, timed by it, would save more than a cluster's start
  costs (:data:`CLUSTER_START_S`): a small study never waits for workers to start.

With ``out_dir`` a run can be resumed: each batch is written as it ends
(``batch_00042.npz``, atomically), beside a ``manifest.json`` holding the job's ``key``; a
rerun with the same key computes only the missing batches, and a folder holding another
job's batches is refused rather than mixed with this one's.

Kept in ``core`` (below ``analyses`` and ``design``) so that an analysis room's validation
studies and the design simulations share it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from io import BytesIO
from pathlib import Path
from typing import Any

import cloudpickle
import distributed
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from bayesblina.errors import BayesblinaError, SpecError
from bayesblina.io import write_bytes, write_json

#: the file in ``out_dir`` that says which job its batches belong to
MANIFEST = "manifest.json"

#: a batch's result: named arrays
Batch = dict[str, np.ndarray]


class BatchError(BayesblinaError):
    """A batch's task failed; the task's own exception is the ``__cause__``.

    Parameters
    ----------
    message : str
        What failed, naming the batch.
    batch : int
        The batch's index.
    """

    def __init__(self, message: str, batch: int) -> None:
        super().__init__(message)
        self.batch = batch

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.batch))


def batch_path(out_dir: str | Path, i: int) -> Path:
    """The file of batch ``i`` in ``out_dir`` (``batch_00042.npz``)."""
    return Path(out_dir) / f"batch_{i:05d}.npz"


#: seconds a local cluster takes to start (processes spawned, bayesblina imported in each:
#: 8-10 s on a 2-core machine); parallel batches must save more than this to be worth it
CLUSTER_START_S = 10.0


def run_batches(
    task: Callable[[int], Mapping[str, Any]],
    n_batches: int,
    *,
    key: Mapping[str, Any] | str,
    client: distributed.Client | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    out_dir: str | Path | None = None,
    progress: bool | Callable[[int, int], None] = True,
    timeout: float = 10.0,
) -> list[Batch]:
    """Compute ``task(0), ..., task(n_batches - 1)`` and return them in batch order.

    Parameters
    ----------
    task : callable
        ``task(i)`` computes batch ``i`` and returns a dict of arrays (values go through
        :func:`numpy.asarray`). It must be pure, its seeds derived from ``i``
        (``numpy.random.SeedSequence(root).spawn(n_batches)[i]``), so that the results do
        not depend on where it runs. On a cluster it is sent to the workers with
        cloudpickle, so it must be picklable: a module-level function, or an instance of a
        module-level class (e.g. a frozen dataclass holding the job's settings), whose
        module the workers can import. Lambdas and closures are pickled by value and work
        on a local cluster too, but then everything they refer to travels with them.
    n_batches : int
        Number of batches.
    key : mapping or str
        A JSON-able description of the job (what it simulates, its seed, sizes, batch
        size, ...): with ``out_dir``, stored batches are reused only for the same key (and
        the same bayesblina version, which is added to the manifest).
    client : distributed.Client, optional
        Run on this client's cluster (left open).
    scheduler : str, optional
        Address of a running Dask scheduler (``"tcp://host:port"``); a client is connected
        for the call and closed after it. Not with ``client``.
    workers : int, optional
        Local worker processes when neither ``client`` nor ``scheduler`` is given; default
        every core (:func:`os.cpu_count`) when that pays: the first batch runs in this
        process, and the rest on a cluster only if, at that batch's time, sharing them
        would save more than :data:`CLUSTER_START_S`. ``1`` (or a single batch to
        compute) runs in this process, without a cluster.
    out_dir : str or Path, optional
        Folder of the batch files, for resuming (see the module docstring). The results'
        arrays must then be storable without pickle (no ``object`` dtype).
    progress : bool or callable
        ``True``: a progress bar on a terminal (rich), else lines ``batch k/n`` on stderr
        (every 5%); a callable is called as ``progress(done, total)`` at the start (with the
        batches reused from ``out_dir``) and after each batch; ``False``: silent.
    timeout : float
        Seconds to wait for ``scheduler`` to answer.

    Returns
    -------
    list of dict
        Batch ``i``'s arrays at position ``i``.

    Raises
    ------
    SpecError
        For bad arguments, a scheduler that cannot be reached within ``timeout``, an
        ``out_dir`` that holds another job's batches or other files, or a task that cannot
        be pickled.
    BatchError
        If a batch's task raised (the batch is named; the original exception is chained).
        The batches finished before it are kept in ``out_dir``, as they are on
        :class:`KeyboardInterrupt`.
    """
    n = _check_count(n_batches)
    workers = _check_workers(workers)
    if client is not None and scheduler is not None:
        raise SpecError("run_batches: give a Dask client or a scheduler address, not both")
    if timeout <= 0:
        raise SpecError(f"run_batches: timeout must be positive seconds (got {timeout!r})")
    manifest = {"key": _canonical_key(key), "n_batches": n, "bayesblina_version": _version()}
    results: list[Batch | None] = [None] * n
    with contextlib.ExitStack() as stack:
        store = None if out_dir is None else stack.enter_context(_BatchStore(out_dir, manifest))
        if store is not None:
            results = [store.load(i) for i in range(n)]
        todo = [i for i in range(n) if results[i] is None]
        report = stack.enter_context(_reporter(progress, n))
        done = n - len(todo)
        report(done)

        def finished(i: int, result: Any) -> None:
            nonlocal done
            arrays = _as_arrays(result, i, n, storing=store is not None)
            if store is not None:
                store.save(i, arrays)  # at once: an interrupted run keeps what it finished
            results[i] = arrays
            done += 1
            report(done)

        if todo:
            if client is not None:
                _run_on(client, task, todo, n, finished)
            elif scheduler is not None:
                _run_on(stack.enter_context(_connect(scheduler, timeout)), task, todo, n,
                        finished)
            else:
                n_workers = min(workers or os.cpu_count() or 1, len(todo))
                if workers is None and n_workers > 1:
                    # auto: time one batch here; a cluster only where it saves its start
                    start = time.perf_counter()
                    _run_here(task, todo[:1], n, finished)
                    todo = todo[1:]
                    rest = (time.perf_counter() - start) * len(todo)
                    n_workers = min(n_workers, len(todo))
                    if rest * (1 - 1 / max(n_workers, 1)) <= CLUSTER_START_S:
                        n_workers = 1
                if n_workers <= 1:
                    _run_here(task, todo, n, finished)
                else:
                    cluster = stack.enter_context(local_cluster(n_workers))
                    local = stack.enter_context(distributed.Client(cluster,
                                                                   set_as_default=False))
                    _run_on(local, task, todo, n, finished)
    return [r for r in results if r is not None]


# -- backends ---------------------------------------------------------------------------


def local_cluster(n_workers: int) -> distributed.LocalCluster:
    """A cluster of ``n_workers`` processes on this machine, one thread each, no dashboard.

    Processes, not threads: a simulation is Python and NumPy code that holds the GIL.
    The scheduler's HTTP server (health checks, metrics; it starts even without the
    dashboard) takes a free port rather than 8787, so that two runs at once do not clash.
    """
    return distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"})


def _run_here(task: Callable[[int], Any], todo: list[int], n: int,
              finished: Callable[[int, Any], None]) -> None:
    for i in todo:
        try:
            result = task(i)
        except Exception as err:  # KeyboardInterrupt passes through as itself
            raise _failed(i, n, err) from err
        finished(i, result)


def _run_on(client: distributed.Client, task: Callable[[int], Any], todo: list[int], n: int,
            finished: Callable[[int, Any], None]) -> None:
    try:
        cloudpickle.dumps(task)
    except Exception as err:
        raise SpecError(
            f"run_batches: the task cannot be sent to Dask workers (cloudpickle: "
            f"{type(err).__name__}: {err}); make it a module-level function or an instance "
            "of a module-level class") from None
    run = uuid.uuid4().hex[:8]  # names the tasks on the dashboard; no part of the results
    futures = {client.submit(task, i, key=f"bayesblina-batch-{run}-{i:05d}", pure=False): i
               for i in todo}
    try:
        # the client's loop: as_completed would look for a default client, and the ones
        # this module makes are not the default (they must not hijack the user's)
        for future in distributed.as_completed(list(futures), loop=client.loop):
            i = futures.pop(future)
            if future.status == "error":
                err = future.exception()
                raise _failed(i, n, err) from err.with_traceback(future.traceback())
            if future.status != "finished":
                raise BatchError(f"batch {i} of {n}: {future.status} on the Dask cluster", i)
            finished(i, future.result())
            future.release()
    finally:
        # a failure or Ctrl-C: the batches not yet run are not wanted any more
        pending = [f for f in futures if not f.done()]
        if pending:
            with contextlib.suppress(Exception):
                client.cancel(pending)


@contextmanager
def _connect(address: str, timeout: float) -> Iterator[distributed.Client]:
    try:
        client = distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as err:
        raise SpecError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
            f"({type(err).__name__}: {err}); start it (`dask scheduler`, then `dask worker "
            f"{address}` on each machine), give a longer timeout, or leave the scheduler "
            "out to run on this machine's cores") from None
    try:
        yield client
    finally:
        client.close()


def _failed(i: int, n: int, err: BaseException) -> BatchError:
    return BatchError(f"batch {i} of {n} failed: {type(err).__name__}: {err}", i)


# -- results and their files ------------------------------------------------------------


def _as_arrays(result: Any, i: int, n: int, *, storing: bool) -> Batch:
    if not isinstance(result, Mapping):
        raise BatchError(f"batch {i} of {n}: the task returned a {type(result).__name__}, "
                         "not a dict of arrays", i)
    arrays = {}
    for name, value in result.items():
        if not isinstance(name, str) or not name:
            raise BatchError(f"batch {i} of {n}: array names must be non-empty strings "
                             f"(got {name!r})", i)
        arrays[name] = np.asarray(value)
        if storing and arrays[name].dtype.hasobject:
            raise BatchError(
                f"batch {i} of {n}: {name!r} holds Python objects, which a batch file "
                "cannot store without pickle: return numbers, booleans or strings", i)
    return arrays


class _BatchStore:
    """``out_dir`` of one job, locked while a run writes into it."""

    def __init__(self, out_dir: str | Path, manifest: dict[str, Any]) -> None:
        self.folder = Path(out_dir)
        self.manifest = manifest
        self._lock: int | None = None

    def __enter__(self) -> _BatchStore:
        d = self.folder
        if d.exists() and not d.is_dir():
            raise SpecError(f"out_dir {d}: is a file, not a folder")
        try:
            d.mkdir(parents=True, exist_ok=True)
            self._lock = os.open(d / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as err:
            raise SpecError(f"out_dir {d}: cannot write into it ({err.strerror or err})") from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._release()
            raise SpecError(f"out_dir {d}: another run is writing batches into this folder; "
                            "wait for it to end or use another folder") from None
        try:
            self._check_or_start()
        except BaseException:
            self._release()
            raise
        return self

    def _check_or_start(self) -> None:
        d = self.folder
        # what a killed run left half-written (atomic writes' temporary files)
        for stale in d.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        path = d / MANIFEST
        if path.is_file():
            try:
                old = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise SpecError(f"out_dir {d}: {MANIFEST} cannot be read ({err}); delete "
                                "the folder or use another") from None
            if old != self.manifest:
                raise SpecError(
                    f"out_dir {d}: holds the batches of another job (its {MANIFEST} differs "
                    f"in {_differences(old, self.manifest)}); use another folder, or delete "
                    "this one to start again")
        elif any(p.name != ".lock" for p in d.iterdir()):
            raise SpecError(f"out_dir {d}: holds files but no {MANIFEST}, so they are not "
                            "batches of a run; use a new or empty folder")
        else:
            write_json(path, self.manifest)

    def load(self, i: int) -> Batch | None:
        """Batch ``i`` as stored, or None if it is not there (or cannot be read)."""
        path = batch_path(self.folder, i)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                return {name: z[name] for name in z.files}
        except (OSError, ValueError, zipfile.BadZipFile):
            return None  # written atomically, so only damage from outside: compute it again

    def save(self, i: int, arrays: Batch) -> None:
        """Write batch ``i`` atomically (an ``.npz`` file, one ``.npy`` member per array)."""
        buf = BytesIO()
        # written member by member, not by numpy.savez, whose own keywords ("file",
        # "allow_pickle") would clash with arrays of those names
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
            for name, value in arrays.items():
                with zf.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, value, allow_pickle=False)
        write_bytes(batch_path(self.folder, i), buf.getvalue())

    def __exit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing releases the flock; the file stays (no race)
            self._lock = None


def _differences(old: Any, new: dict[str, Any]) -> str:
    if not isinstance(old, dict):
        return "its whole content"
    names = []
    for field in sorted(set(old) | set(new)):
        a, b = old.get(field), new.get(field)
        if field == "key" and isinstance(a, dict) and isinstance(b, dict):
            names += [f"key.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            names.append(field)
    return ", ".join(names) or "its layout"


def _canonical_key(key: Mapping[str, Any] | str) -> Any:
    """The key as JSON would give it back (tuples as lists, numpy scalars as numbers)."""
    if isinstance(key, str):
        return key
    if not isinstance(key, Mapping):
        raise SpecError(f"run_batches: key must be a mapping or a string describing the job "
                        f"(got a {type(key).__name__})")
    try:
        text = json.dumps(dict(key), sort_keys=True, allow_nan=False, default=_plain)
    except (TypeError, ValueError) as err:
        raise SpecError(f"run_batches: key must be JSON-able (numbers, strings, lists, "
                        f"dicts): {err}") from None
    return json.loads(text)


def _plain(obj: Any) -> Any:
    if isinstance(obj, np.ndarray | np.generic):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} {obj!r} is not JSON-able")


def _version() -> str:
    try:
        return version("bayesblina")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def _check_count(n_batches: Any) -> int:
    if isinstance(n_batches, bool) or not isinstance(n_batches, int | np.integer) \
            or n_batches < 0:
        raise SpecError(f"run_batches: n_batches must be a whole number >= 0 "
                        f"(got {n_batches!r})")
    return int(n_batches)


def _check_workers(workers: Any) -> int | None:
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
        raise SpecError(f"run_batches: workers must be a whole number >= 1, or None for "
                        f"every core (got {workers!r})")
    return int(workers)


# -- progress ---------------------------------------------------------------------------


@contextmanager
def _reporter(progress: bool | Callable[[int, int], None],
              total: int) -> Iterator[Callable[[int], None]]:
    if callable(progress):
        yield lambda done: progress(done, total)
    elif not progress or total == 0:
        yield lambda done: None
    elif sys.stderr.isatty():
        bar = Progress("batches", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       console=Console(stderr=True))
        job = bar.add_task("batches", total=total)
        with bar:
            yield lambda done: bar.update(job, completed=done)
    else:
        # a log, not a terminal: a line every 5% (and the last), not one per batch
        step = max(1, total // 20)
        last = [-1]

        def line(done: int) -> None:
            if done != last[0] and (done % step == 0 or done == total) and done > 0:
                print(f"batch {done}/{total}", file=sys.stderr, flush=True)
                last[0] = done

        yield line
