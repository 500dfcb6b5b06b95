"""The packaged data files: names, paths and checksums."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from bayesblina.errors import DataError

PathLike = str | os.PathLike[str]


#: Packaged data files, by the name of the loader that reads them.
DATA_FILES: Mapping[str, str] = MappingProxyType(
    {
        "subgroups": "subgroups_fig2.csv",
        "table2_proportions": "table2_proportions.csv",
        "response_categories": "response_categories_table2.csv",
        "phase1_cohorts": "phase1_cohorts.csv",
        "baseline": "baseline_table1.csv",
        "baseline_medians": "baseline_medians_table1.csv",
        "age_by_phase": "age_by_phase.csv",
        "cr_by_blasts": "cr_by_blasts_by_phase.csv",
        "survival_summaries": "survival_summaries.csv",
        "patient_fates": "patient_fates.csv",
        "adverse_events": "adverse_events_table3.csv",
        "text_proportions": "text_proportions.csv",
        "fig1_flow": "fig1_flow.csv",
        "phase2_design": "phase2_design.toml",
        "contradictions": "contradictions.toml",
    }
)


PACKAGE = "bayesblina.data"


def list_data_files() -> list[str]:
    """List the data files shipped with the package.

    Returns
    -------
    list of str
        Sorted file names (``*.csv`` and ``*.toml``) in ``bayesblina/data``.
    """
    root = resources.files(PACKAGE)
    return sorted(
        entry.name
        for entry in root.iterdir()
        if entry.is_file() and entry.name.endswith((".csv", ".toml"))
    )


def data_file(name: str) -> Path:
    """Return the path of a packaged data file.

    Parameters
    ----------
    name : str
        File name inside ``bayesblina/data``, e.g. ``"subgroups_fig2.csv"``.

    Returns
    -------
    pathlib.Path
        Absolute path of the file.

    Raises
    ------
    DataError
        If ``name`` is not a plain file name or no such file is packaged.
    """
    if not isinstance(name, str) or not name or Path(name).name != name:
        raise DataError(
            f"data file name {name!r} is invalid: give a plain file name such as "
            f"'subgroups_fig2.csv' (packaged files: {', '.join(list_data_files())})"
        )
    path = Path(str(resources.files(PACKAGE).joinpath(name)))
    if not path.is_file():
        raise DataError(
            f"data file not found: {path} (packaged files: {', '.join(list_data_files())})"
        )
    return path


def resolve_path(name_or_path: PathLike, default: str | None = None) -> Path:
    """Turn a packaged file name or a filesystem path into an existing file path."""
    if name_or_path is None:
        if default is None:  # pragma: no cover - programming error
            raise DataError("no data file given")
        return data_file(default)
    if isinstance(name_or_path, str) and Path(name_or_path).name == name_or_path:
        candidate = Path(str(resources.files(PACKAGE).joinpath(name_or_path)))
        if candidate.is_file():
            return candidate
    path = Path(os.fspath(name_or_path))
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    return path


def data_checksum(*names_or_paths: PathLike) -> str:
    """SHA-256 checksum of one or more data files, for provenance records.

    Parameters
    ----------
    *names_or_paths : str or os.PathLike
        Packaged file names (``"subgroups_fig2.csv"``) or paths. With none, every
        packaged data file (:func:`list_data_files`) is included.

    Returns
    -------
    str
        For one file, the hex SHA-256 of its bytes (what ``sha256sum`` prints). For
        several, the hex SHA-256 of one line ``<name>  <sha256 of its bytes>`` per
        file (each ended by a newline), in the order given, so that the result
        changes if any file changes.

    Raises
    ------
    DataError
        If a file does not exist.
    """
    items: Iterable[PathLike] = names_or_paths or list_data_files()
    digests = [(path.name, hashlib.sha256(path.read_bytes()).hexdigest())
               for path in (resolve_path(item) for item in items)]
    if len(digests) == 1:
        return digests[0][1]
    combined = hashlib.sha256()
    for name, digest in digests:
        combined.update(f"{name}  {digest}\n".encode())
    return combined.hexdigest()
