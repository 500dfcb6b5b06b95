"""The default analysis and design specs (TOML), shipped as ``bayesblina.models``."""
