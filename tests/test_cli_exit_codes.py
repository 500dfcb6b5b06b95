"""Issue 10, item 5: distinct, documented exit codes.

0 all passed; 1 a fit failed the gate; 2 bad input; 3 an unexpected internal error (one
line; the traceback only under ``--debug``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import bayesblina.cli as cli
from bayesblina.cli import EXIT_CODES, build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def console(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bayesblina.cli", *args], cwd=cwd,
                          capture_output=True, text=True, check=False, timeout=600)


def boom(*args, **kwargs):
    raise RuntimeError("boom: an invariant broke")


@pytest.mark.parametrize("debug", [False, True])
def test_an_internal_error_exits_3_with_one_line(monkeypatch, capsys, debug):
    monkeypatch.setattr(cli, "load_specs", boom)
    code = main(["check", *(["--debug"] if debug else []), "overall_cr"])
    err = capsys.readouterr().err
    assert code == 3
    last = err.strip().splitlines()[-1]
    assert last == ("internal error: RuntimeError: boom: an invariant broke (a bug in "
                    "bayesblina; rerun with --debug for the traceback)")
    assert ("Traceback (most recent call last)" in err) is debug
    if not debug:
        assert err.count("\n") == 1


def test_bad_input_exits_2_and_a_gate_failure_is_not_bad_input(capsys, tmp_path):
    assert main(["check", str(tmp_path / "nope.toml")]) == 2
    assert capsys.readouterr().err.startswith("error: spec file not found")


def test_the_codes_are_documented_in_the_help_and_the_readme():
    epilog = build_parser().epilog or ""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Exit codes")[1].split("\n## ")[0]
    documented = {int(m) for m in re.findall(r"^\| `(\d+)` \|", table, flags=re.M)}
    assert documented == set(EXIT_CODES) == {0, 1, 2, 3, 130, 143}
    for code, meaning in EXIT_CODES.items():
        assert f"{code} {meaning}" in epilog
    assert cli.__doc__ is not None and "3 an unexpected internal error" in cli.__doc__


@pytest.mark.e2e
def test_exit_codes_of_the_console_script(tmp_path):
    """0, 1 and 2 from the real console script, as a shell or CI sees them."""
    ok = console("check", "overall_cr", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    bad = console("check", "nope.toml", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr == "error: spec file not found: nope.toml\n"
    # 20 draws cannot pass the gate: the run completes, writes its record and exits 1
    failed = console("run", "overall_cr", "--draws", "20", "--tune", "20", "--chains", "2",
                     "--out", "out", cwd=tmp_path)
    assert failed.returncode == 1, failed.stderr
    assert "error: 1 analysis(es) FAILED the diagnostics gate: overall_cr" in failed.stderr
    assert (tmp_path / "out" / "summary.json").is_file()
