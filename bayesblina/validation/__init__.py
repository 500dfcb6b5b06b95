"""Simulation validation of models whose correctness has no closed-form check."""
