"""Exceptions with messages a trial statistician can act on.

Every error raised for bad input is a :class:`BayesblinaError`; the command line
prints its message (never a traceback) and exits with status 2.
"""

from __future__ import annotations


class BayesblinaError(Exception):
    """Base class for every error bayesblina raises on purpose."""


class SpecError(BayesblinaError, ValueError):
    """An analysis spec (``models/*.toml``) is missing, malformed or invalid."""


class DataError(BayesblinaError, ValueError):
    """A data file is missing or violates a rule the trial's numbers must obey."""


class SamplerError(BayesblinaError, RuntimeError):
    """A sampler backend is unavailable or was asked for something it cannot do."""
