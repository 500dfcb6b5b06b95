"""Names of the several-factors model's terms and contrasts (labels of tables and plots)."""

from __future__ import annotations


def term_label(factor: str, level: str) -> str:
    """Coordinate label of a subgroup, e.g. ``"age=<2"``."""
    return f"{factor}={level}"


def contrast_name(factor: str, a: str, b: str) -> str:
    """Coordinate label of a contrast, e.g. ``"age: <2 vs 7-17"``."""
    return f"{factor}: {a} vs {b}"
