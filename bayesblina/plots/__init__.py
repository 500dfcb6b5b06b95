"""Figures (matplotlib); the command line renders them with the Agg backend."""
