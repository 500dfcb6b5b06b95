"""Trial design: exact operating characteristics of the phase II two-stage design."""

from bayesblina.design.simon import (
    SimonDesign,
    SimonOC,
    design_for_sizes,
    simon_oc,
    simon_oc_table,
    simon_search,
)

__all__ = [
    "SimonDesign",
    "SimonOC",
    "design_for_sizes",
    "simon_oc",
    "simon_oc_table",
    "simon_search",
]
