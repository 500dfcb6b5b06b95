"""Convergence diagnostics and the gate every result must pass."""
