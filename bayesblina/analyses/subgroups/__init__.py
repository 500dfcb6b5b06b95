"""CR by subgroup, one factor at a time.

Partial/no/complete pooling, EXNEX, the quadrature check and the forest plot.
"""
