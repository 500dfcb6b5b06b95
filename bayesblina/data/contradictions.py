"""The paper's recorded self-contradictions (``contradictions.toml``)."""

from __future__ import annotations

import hashlib

import pandas as pd

from bayesblina.data.files import DATA_FILES, PathLike, resolve_path
from bayesblina.data.tables import CONTRADICTION_ID, STRING, read_toml
from bayesblina.errors import DataError

CONTRADICTION_KINDS = ("percentage", "count", "text", "range", "ambiguity", "caveat")


def load_contradictions(path: PathLike | None = None) -> pd.DataFrame:
    """Load the places where the paper contradicts itself or is ambiguous.

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``contradictions.toml``.

    Returns
    -------
    pandas.DataFrame
        One row per entry, with columns ``id`` (``"C01"`` ...), ``kind`` (``percentage``:
        a printed percentage that is not its own count over its denominator; ``count``,
        ``text``, ``range``, ``ambiguity``, ``caveat``), ``where``, ``what``,
        ``printed``, ``handling``, ``affects`` (``string``; ``where`` and ``affects``
        joined with ``"; "``), ``reproduce_quantities`` (``object``: tuple of the
        :func:`bayesblina.reproduce.reproduce_all` quantity ids the entry explains) and
        ``values`` (``object``: dict of the numbers in conflict).

    Raises
    ------
    DataError
        If the file is missing, is not valid TOML, an entry lacks a field, an id is
        malformed or repeated, or a kind is unknown.
    """
    file = resolve_path(path, DATA_FILES["contradictions"])
    doc = read_toml(file)
    entries = doc.get("contradiction")
    if not isinstance(entries, list) or not entries:
        raise DataError(f"{file}: expected one or more [[contradiction]] tables")
    records = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"[[contradiction]] number {number}"
        for key in ("id", "kind", "what", "printed", "handling"):
            value = entry.get(key)
            if not isinstance(value, str) or not value.strip():
                raise DataError(f"{file}: {where}: field {key!r} = {value!r} is invalid: it "
                                "must be a non-empty string")
        cid = entry["id"]
        if not CONTRADICTION_ID.match(cid):
            raise DataError(f"{file}: {where}: id {cid!r} is invalid: use 'C' and two digits")
        if cid in seen:
            raise DataError(f"{file}: {where}: id {cid!r} is used twice")
        seen.add(cid)
        if entry["kind"] not in CONTRADICTION_KINDS:
            raise DataError(f"{file}: {where} ({cid}): kind {entry['kind']!r} is invalid: "
                            f"allowed values are {', '.join(CONTRADICTION_KINDS)}")
        lists = {}
        for key in ("where", "affects", "reproduce_quantities"):
            value = entry.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise DataError(f"{file}: {where} ({cid}): field {key!r} must be a list of "
                                "strings")
            lists[key] = value
        values = entry.get("values", {})
        if not isinstance(values, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values.values()
        ):
            raise DataError(f"{file}: {where} ({cid}): field 'values' must be a table of "
                            "numbers")
        if entry["kind"] == "percentage" and not lists["reproduce_quantities"]:
            raise DataError(f"{file}: {where} ({cid}): a 'percentage' entry must list the "
                            "reproduce_quantities it explains")
        records.append(
            {
                "id": cid,
                "kind": entry["kind"],
                "where": "; ".join(lists["where"]),
                "what": " ".join(entry["what"].split()),
                "printed": entry["printed"],
                "handling": " ".join(entry["handling"].split()),
                "affects": "; ".join(lists["affects"]),
                "reproduce_quantities": tuple(lists["reproduce_quantities"]),
                "values": dict(values),
            }
        )
    frame = pd.DataFrame.from_records(records)
    for col in ("id", "kind", "where", "what", "printed", "handling", "affects"):
        frame[col] = frame[col].astype(STRING)
    frame.attrs["source_file"] = file.name
    frame.attrs["sha256"] = hashlib.sha256(file.read_bytes()).hexdigest()
    return frame
