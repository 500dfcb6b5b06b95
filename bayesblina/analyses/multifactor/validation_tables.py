"""The stored tables of the full simulation validation of the several-factors model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: where ``scripts/validate_multifactor.py`` writes its tables (packaged with bayesblina)
RESULTS = Path(__file__).resolve().parent / "validation_results"


def load_results(name: str) -> pd.DataFrame | None:
    """A table of the full validation run (``sbc``, ``sbc_checks``, ``fixed_truth``).

    Returns ``None`` when the study has not been run in this installation.
    """
    path = RESULTS / f"multifactor_{name}.csv"
    # keep_default_na=False: the truth named "null" is a name, not a missing value
    return pd.read_csv(path, keep_default_na=False, na_values=[""]) if path.exists() else None
