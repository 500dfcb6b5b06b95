"""Reproduce the paper's published frequentist numbers from the packaged counts."""

from bayesblina.core.frequentist import clopper_pearson, percent, round_half_up
from bayesblina.reproduce.published import (
    COLUMNS,
    JSON_KEYS,
    format_table,
    reproduce_all,
    to_records,
)

__all__ = [
    "COLUMNS",
    "JSON_KEYS",
    "clopper_pearson",
    "format_table",
    "percent",
    "reproduce_all",
    "round_half_up",
    "to_records",
]
