"""Reproduce the paper's published frequentist numbers from the packaged counts."""

from bayesblina.core.frequentist import clopper_pearson, percent, round_half_up
from bayesblina.reproduce.published import COLUMNS, format_table, reproduce_all

__all__ = [
    "COLUMNS",
    "clopper_pearson",
    "format_table",
    "percent",
    "reproduce_all",
    "round_half_up",
]
