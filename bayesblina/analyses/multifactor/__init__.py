"""Several subgroup factors at once, from the published margins.

The unknown patient table is missing data; the room holds the model, its table step, its
simulation validation and its plots.
"""
