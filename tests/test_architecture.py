"""ARCHITECTURE.md is the map of the package: every module on it, nothing on it that is gone."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAP = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")


def _listed() -> set[str]:
    return set(re.findall(r"^\| `([^`]+\.py)` \|", MAP, flags=re.MULTILINE))


def _modules() -> set[str]:
    files = [*ROOT.joinpath("bayesblina").rglob("*.py"), ROOT / "models" / "__init__.py",
             *ROOT.joinpath("scripts").glob("*.py"), *ROOT.joinpath("benchmarks").glob("*.py")]
    return {p.relative_to(ROOT).as_posix() for p in files
            if p.name != "__init__.py" or p.parent.name in ("bayesblina", "models")}


def test_every_module_has_a_line_on_the_map():
    missing = sorted(_modules() - _listed())
    assert not missing, f"add a line to ARCHITECTURE.md for: {missing}"


def test_every_module_on_the_map_exists():
    gone = sorted(p for p in _listed() if not (ROOT / p).is_file())
    assert not gone, f"ARCHITECTURE.md lists modules that do not exist: {gone}"


def test_the_layer_table_names_every_top_level_package():
    top = {p.stem if p.is_file() else p.name for p in ROOT.joinpath("bayesblina").iterdir()
           if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    layer_rows = MAP.split("## Module map")[0]
    named = set(re.findall(r"`([a-z_]+)`", layer_rows))
    assert top <= named, sorted(top - named)


@pytest.mark.skipif(not (Path(sys.executable).parent / "lint-imports").exists(),
                    reason="import-linter is not installed (the dev extra)")
def test_import_contracts_hold():
    proc = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_api_page_documents_every_module():
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\.\. automodule:: (\S+)$", page, flags=re.MULTILINE))
    modules = {".".join(Path(p).with_suffix("").parts) for p in _modules()
               if p.startswith("bayesblina/") and not p.endswith("__init__.py")}
    assert not sorted(modules - listed), sorted(modules - listed)
