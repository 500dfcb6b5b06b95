"""CR by subgroup, one factor at a time.

The data of one factor (``data``), the options, prior sets and their rules (``spec``), the
partial/no/complete pooling model (``model``) and EXNEX (``exnex``), the exact quadrature
engine (``quadrature``), the LOO comparison (``compare``), the report components and the
forest plot.
"""
