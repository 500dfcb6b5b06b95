"""Figures (matplotlib, non-interactive backend)."""
