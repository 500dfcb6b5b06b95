"""Atomic output: a crash never leaves a half-written result or a mixed folder behind.

Each writer produces the file under a temporary name in the same folder and renames it
into place with :func:`os.replace`, which is atomic on POSIX and Windows file systems. A
run's whole folder is written the same way (:class:`OutputFolder`): into a staging folder
beside it, swapped in at the end, under a lock that refuses a second run into it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bayesblina.errors import BayesblinaError


def current_umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    Parameters
    ----------
    path : str or Path
        The final file; its folder is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes the file 0600; a result file gets what the user's umask gives
        os.chmod(tmp_path, 0o666 & ~current_umask())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(path: str | Path, text: str) -> Path:
    """Write text (UTF-8) atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write bytes atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(path: str | Path, obj: Any) -> Path:
    """Write JSON (indented, NaN as null) atomically and return the path."""
    return write_text(path, json.dumps(_jsonable(obj), indent=2, allow_nan=False) + "\n")


def _jsonable(obj: Any) -> Any:
    """Replace NaN/inf by None and numpy scalars by Python ones, recursively."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and (obj != obj or obj in (float("inf"), float("-inf"))):
        return None
    return obj


class OutputError(BayesblinaError):
    """The output folder cannot be used: named, with what is allowed."""


#: a file every complete run folder holds (a folder without it is not replaced)
RUN_MARKER = "summary.json"


def check_output_dir(out: str | os.PathLike[str]) -> Path:
    """Refuse an output folder that a run could not, or must not, replace.

    Parameters
    ----------
    out : str or Path
        The ``--out`` folder: new, empty, or a previous run's output (it holds
        :data:`RUN_MARKER`); its parent is created if needed.

    Returns
    -------
    Path
        The folder as an absolute path.

    Raises
    ------
    OutputError
        For an empty name, an existing file, a folder holding other files, or a parent
        that cannot be created or written.
    """
    text = os.fspath(out)
    if not text.strip():
        raise OutputError("--out: must name a folder (got an empty string)")
    path = Path(text).absolute()
    if path.exists() and not path.is_dir():
        raise OutputError(f"--out {text}: is a file, not a folder: give a folder to write into")
    if path.is_dir() and any(path.iterdir()) and not (path / RUN_MARKER).is_file():
        raise OutputError(
            f"--out {text}: the folder holds files that are not a bayesblina run's output "
            f"(no {RUN_MARKER}); a run replaces its folder whole, so give a new or empty folder"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"--out {text}: cannot create {path.parent}: "
                          f"{err.strerror or err}") from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise OutputError(f"--out {text}: cannot write into {path.parent}")
    return path


class OutputFolder:
    """A run's output folder, written all or nothing.

    Used as a context manager around the whole run: entering takes a lock beside the folder
    (a second run into the same folder is refused), removes what killed runs left there,
    and makes an empty staging folder beside it; the run writes into :attr:`staging` and
    calls :meth:`commit`, which swaps the staging folder in for the previous output in one
    step (``renameat2(RENAME_EXCHANGE)`` where the system has it; two renames otherwise).
    Leaving without a commit (an error, Ctrl-C, SIGTERM) removes the staging folder: the
    previous output stays as it was. A killed run (SIGKILL) leaves its staging folder, which
    the next run into the folder removes.

    Parameters
    ----------
    out : str or Path
        The output folder (checked by :func:`check_output_dir`).
    """

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.final = check_output_dir(out)
        self.staging: Path | None = None
        self.committed = False
        self._lock: int | None = None
        self._lock_path = self.final.parent / f".{self.final.name}.lock"

    def __enter__(self) -> OutputFolder:
        try:
            self._lock = _acquire_lock(self._lock_path, self.final)
        except OSError as err:
            raise OutputError(f"--out {self.final}: cannot write into {self.final.parent}: "
                              f"{err.strerror or err}") from None
        try:
            for stale in sorted(self.final.parent.glob(f".{self.final.name}.staging-*")):
                if stale.name.endswith(".old") and not self.final.exists():
                    os.rename(stale, self.final)  # a two-rename swap killed half-way: restore
                else:
                    shutil.rmtree(stale, ignore_errors=True)
            self.staging = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.staging-",
                                                 dir=self.final.parent))
            os.chmod(self.staging, 0o777 & ~current_umask())
        except OSError as err:
            self._release()
            raise OutputError(f"--out {self.final}: cannot write into {self.final.parent}: "
                              f"{err.strerror or err}") from None
        return self

    def commit(self) -> Path:
        """Put the staging folder in place of the output folder; return the folder."""
        if self.staging is None:  # pragma: no cover - programming error
            raise RuntimeError("commit() outside the context manager")
        if self.final.exists():
            if not _exchange(self.staging, self.final):
                old = self.staging.with_name(self.staging.name + ".old")
                os.rename(self.final, old)
                os.rename(self.staging, self.final)
                self.staging = old
            shutil.rmtree(self.staging)  # now the previous output
        else:
            os.rename(self.staging, self.final)
        self.staging = None
        self.committed = True
        return self.final

    def __exit__(self, *exc: object) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock_path.unlink()
            os.close(self._lock)  # closing releases the flock
            self._lock = None


def _acquire_lock(path: Path, folder: Path) -> int:
    """Take the run lock ``path`` (flock; the kernel drops it when the process dies)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~current_umask())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise OutputError(
                f"--out {folder}: another bayesblina run (process {holder}) is writing into "
                "this folder; wait for it to end or choose another folder"
            ) from None
        # the holder before us may have removed the file after we opened it: lock the new one
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            return fd
        os.close(fd)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where the system cannot."""
    libc_name = ctypes.util.find_library("c")
    if not sys.platform.startswith("linux") or libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    func = getattr(libc, "renameat2", None)
    if func is None:
        return False
    rc = func(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    errno_ = ctypes.get_errno()
    if errno_ in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(errno_, os.strerror(errno_), str(b))
