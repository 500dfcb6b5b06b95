"""The default specs ship with the package: a plain (non-editable) install runs them.

Builds the wheel, installs it without its dependencies into a fresh virtual environment
whose other packages come from the running environment (so nothing is downloaded), and
runs ``bayesblina`` from a folder outside the source tree.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
N_DEFAULT_SPECS = len(list((ROOT / "models").glob("*.toml")))


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A fresh venv holding the built wheel of bayesblina (not an editable install)."""
    tmp = tmp_path_factory.mktemp("install")
    # build from a copy of the tracked files: the build leaves nothing in the source tree
    src = tmp / "src"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    wheels = tmp / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
          str(src)], cwd=tmp)
    (wheel,) = wheels.glob("bayesblina-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv),
                                                        "platbase": str(venv)}))
    # the dependencies come from this environment's site-packages (a path, not its .pth
    # files, so this environment's editable bayesblina stays out)
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (purelib / "deps.pth").write_text("\n".join(deps) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
          "--no-deps", "--no-index", "-q", str(wheel)], cwd=tmp)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MPLBACKEND"] = "Agg"
    return venv, env


@pytest.mark.slow
@pytest.mark.e2e
def test_the_installed_package_is_not_the_source_tree(installed, tmp_path):
    venv, env = installed
    where = _run([str(venv / "bin" / "python"), "-c",
                  "import bayesblina, bayesblina.models as m; print(bayesblina.__file__); "
                  "print(m.__file__)"], cwd=tmp_path, env=env)
    assert str(ROOT) not in where and str(venv) in where, where


@pytest.mark.slow
@pytest.mark.e2e
def test_check_finds_every_default_spec_after_install(installed, tmp_path):
    venv, env = installed
    out = _run([str(venv / "bin" / "bayesblina"), "check"], cwd=tmp_path, env=env)
    lines = [ln for ln in out.splitlines() if ln.startswith("ok  models/")]
    assert len(lines) == N_DEFAULT_SPECS, out


@pytest.mark.slow
@pytest.mark.e2e
def test_run_from_another_folder_uses_the_packaged_spec(installed, tmp_path):
    venv, env = installed
    _run([str(venv / "bin" / "bayesblina"), "run", "--out", "out", "--draws", "1000",
          "overall_cr"], cwd=tmp_path, env=env)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    (entry,) = summary["analyses"]
    assert entry["spec"] == "models/overall_cr.toml" and entry["status"] == "PASSED"
    assert (tmp_path / "out" / "report.html").is_file()
