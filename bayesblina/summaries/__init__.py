"""Posterior summaries of gated fits: tidy tables a script can read."""
