"""Shared fixtures: small, seeded sampler settings and the packaged spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from bayesblina.analyses.registry import load_spec
from bayesblina.core.spec import SamplerSettings

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"


@pytest.fixture(scope="session")
def overall_spec():
    return load_spec(MODELS / "overall_cr.toml")


@pytest.fixture
def tiny_sampler() -> SamplerSettings:
    """Plumbing tests only: too few draws to pass the gate."""
    return SamplerSettings(draws=50, tune=50, chains=2, seed=1)


@pytest.fixture(scope="session")
def write_spec(tmp_path_factory):
    """Write a TOML text to a file named after its analysis and return the path."""

    def _write(text: str, name: str = "bad_spec") -> Path:
        folder = tmp_path_factory.mktemp("specs")
        path = folder / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return _write
