"""ARCHITECTURE.md is the map of the package: every module on it, nothing on it that is gone."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from bayesblina.analyses.registry import COMPONENTS

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


def _attributes_born_outside_init() -> list[str]:
    """``self.x = ...`` in a method other than ``__init__`` for an ``x`` that ``__init__``
    (of the class or a base class in the package) never sets."""
    classes: dict[str, tuple[ast.ClassDef, str]] = {}
    for path in ROOT.joinpath("bayesblina").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes[node.name] = (node, path.relative_to(ROOT).as_posix())

    def assigned(fn: ast.AST) -> set[str]:
        out = set()
        for n in ast.walk(fn):
            targets = n.targets if isinstance(n, ast.Assign) else (
                [n.target] if isinstance(n, ast.AnnAssign | ast.AugAssign) else [])
            for t in targets:
                if (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                        and t.value.id == "self"):
                    out.add(t.attr)
        return out

    def init_attrs(name: str, seen: set[str]) -> set[str]:
        if name not in classes or name in seen:
            return set()
        seen.add(name)
        cls, _ = classes[name]
        out: set[str] = set()
        for item in cls.body:
            if isinstance(item, ast.FunctionDef) and item.name in ("__init__", "__post_init__"):
                out |= assigned(item)
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                out.add(item.target.id)  # declared fields (dataclasses)
        for base in cls.bases:
            if isinstance(base, ast.Name):
                out |= init_attrs(base.id, seen)
        return out

    problems = []
    for name, (cls, where) in classes.items():
        known = init_attrs(name, set())
        for item in cls.body:
            if isinstance(item, ast.FunctionDef) and item.name not in ("__init__",
                                                                       "__post_init__"):
                for attr in sorted(assigned(item) - known):
                    problems.append(f"{where}: {name}.{item.name} sets self.{attr}")
    return problems


def test_no_attribute_is_born_outside_init():
    assert not _attributes_born_outside_init()


def test_every_room_has_an_exact_check_or_says_why_not():
    """Each model's components return an exact table, or name the reason there is none."""
    for name, components in COMPONENTS.items():
        exact = any("exact" in (c.__name__ or "") for c in components.per_fit)
        assert exact or len(components.no_exact) > 40, name


def test_the_tests_mirror_the_package():
    """Each package folder (and each analysis room) has its test folder with test modules."""
    folders = [p.parent.relative_to(ROOT / "bayesblina") for p in
               ROOT.joinpath("bayesblina").rglob("__init__.py") if p.parent != ROOT / "bayesblina"]
    missing = [f.as_posix() for f in folders if f.as_posix() != "analyses"
               and not list((ROOT / "tests" / f).glob("test_*.py"))]
    assert not missing, f"no tests/<folder>/test_*.py for: {missing}"


def test_no_test_asserts_wall_clock_time():
    """Speed lives in benchmarks/, never in a test (machines are shared and noisy)."""
    offenders = [p.relative_to(ROOT).as_posix() for p in ROOT.joinpath("tests").rglob("*.py")
                 if re.search(r"perf_counter|time\.time\(|time\.monotonic",
                              p.read_text(encoding="utf-8"))
                 and p.name != "test_architecture.py"]
    assert not offenders, offenders


def test_no_import_cycles():
    """No module imports, directly or through others, a module that imports it back.

    Imports for type annotations only (``if TYPE_CHECKING:``) are not run and do not count.
    """
    graph = grimp.build_graph("bayesblina", include_external_packages=False,
                              exclude_type_checking_imports=True)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain:
                cycles.append(" -> ".join((module, *chain)))
    assert not cycles, cycles
