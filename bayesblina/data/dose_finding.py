"""The phase I dose-escalation cohorts (regimens, patients, DLTs)."""

from __future__ import annotations

import pandas as pd

from bayesblina.data.files import DATA_FILES, PathLike, resolve_path
from bayesblina.data.tables import (
    CID,
    NOTE,
    SOURCE,
    Col,
    Table,
    check_not_more,
    check_unique,
    finish,
    label_col,
    read_csv_table,
)


def load_phase1_cohorts(path: PathLike | None = None) -> pd.DataFrame:
    """Load the phase I dose cohorts with their DLTs in cycle 1 (Fig 1, Fig A1, Results).

    Doses are in µg/m²/day. A stepwise regimen ``"a/b"`` gives ``first_dose = a`` for
    ``first_days = 7`` days of cycle 1, then ``maintenance_dose = b``; a constant
    regimen has ``first_days = 0`` and ``first_dose = maintenance_dose``.

    Parameters
    ----------
    path : str or os.PathLike, optional
        File to read instead of the packaged ``phase1_cohorts.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``cohort``, ``part`` (``"escalation"`` or ``"pk_expansion"``),
        ``regimen``, ``stepwise`` (``boolean``), ``first_dose``, ``first_days``,
        ``maintenance_dose``, ``dose_unit``, ``patients``, ``dlts``, ``dlts_crs`` (the
        DLTs that were CRS; ``Int64``),
        ``dlts_formally_collected`` (``boolean``; false for the PK expansion, whose
        ``dlts = 0`` means none reported), ``source``, ``note``, ``contradiction_id``.

    Raises
    ------
    DataError
        If the file is missing or malformed, a count is negative, ``dlts > patients``,
        ``dlts_crs > dlts``, a dose is not positive, or the regimen label disagrees with the doses.
    """
    table = read_csv_table(
        resolve_path(path, DATA_FILES["phase1_cohorts"]),
        [
            label_col("cohort"), label_col("part", ("escalation", "pk_expansion")),
            label_col("regimen"), Col("stepwise", "bool"), Col("first_dose", "positive"),
            Col("first_days", "count"), Col("maintenance_dose", "positive"),
            label_col("dose_unit"), Col("patients", "count"), Col("dlts", "count"),
            Col("dlts_crs", "count"), Col("dlts_formally_collected", "bool"),
            SOURCE, NOTE, CID,
        ],
    )
    return finish(
        table,
        [
            lambda t: check_unique(t, ["cohort"]),
            lambda t: check_not_more(t, "dlts", "patients", "DLTs cannot exceed patients"),
            lambda t: check_not_more(t, "dlts_crs", "dlts", "CRS DLTs are among the DLTs"),
            _check_regimens,
        ],
    )


def _fmt_dose(dose: float) -> str:
    return f"{dose:g}"


def _check_regimens(table: Table) -> None:
    frame = table.df
    for pos in range(len(frame)):
        step = bool(frame["stepwise"].iat[pos])
        first, days = frame["first_dose"].iat[pos], int(frame["first_days"].iat[pos])
        maint = frame["maintenance_dose"].iat[pos]
        if step and (days == 0 or first == maint):
            raise table.fail(
                pos, "first_days", days, "a stepwise regimen needs first_days > 0 and "
                "first_dose different from maintenance_dose"
            )
        if not step and (days != 0 or first != maint):
            raise table.fail(
                pos, "first_days", days, "a constant regimen needs first_days = 0 and "
                "first_dose equal to maintenance_dose"
            )
        expected = (f"{_fmt_dose(first)}/{_fmt_dose(maint)}" if step else _fmt_dose(maint))
        if frame["regimen"].iat[pos] != expected:
            raise table.fail(
                pos, "regimen", frame["regimen"].iat[pos],
                f"the doses on this row spell the regimen {expected!r}",
            )
