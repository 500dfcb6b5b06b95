"""Issue 10, item 4: bad input is found before the first fit, never after the work.

``--out`` is checked first (a name, not a file, creatable, writable, not a folder of other
files); then every spec on the command line is loaded with its data, then the overrides
and the backends; only then does a fit start.
"""

from __future__ import annotations

import pytest

import bayesblina.cli as cli
import bayesblina.pipeline as pipeline
from bayesblina.cli import main

from .core.test_strict_types import GOOD


@pytest.fixture
def no_fit(monkeypatch):
    """Fail the test if any analysis is fitted."""

    def refuse(*args, **kwargs):
        raise AssertionError("a fit started before the input was checked")

    monkeypatch.setattr(cli, "run_analyses", refuse)  # the command's one way to the fits


def outs(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    foreign = tmp_path / "my_thesis"
    foreign.mkdir()
    (foreign / "chapter1.tex").write_text("...")
    return {
        "empty": ("", "--out: must name a folder (got an empty string)"),
        "blank": ("  ", "--out: must name a folder (got an empty string)"),
        "a file": (str(a_file), f"--out {a_file}: is a file, not a folder"),
        "below a file": (str(a_file / "sub"), f"--out {a_file / 'sub'}: cannot create {a_file}"),
        "foreign folder": (str(foreign), f"--out {foreign}: the folder holds files that are "
                           "not a bayesblina run's output (no summary.json)"),
        "unwritable": ("/proc/bayesblina_out", "--out /proc/bayesblina_out: cannot"),
    }


@pytest.mark.parametrize("case", ["empty", "blank", "a file", "below a file", "foreign folder",
                                  "unwritable"])
def test_a_bad_out_folder_is_refused_before_any_fit(tmp_path, capsys, no_fit, case):
    out, expected = outs(tmp_path)[case]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code = main(["run", "overall_cr", "--out", out])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"error: {expected}"), err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


def test_every_spec_is_loaded_before_the_first_fit(tmp_path, write_spec, capsys, no_fit):
    bad = write_spec(GOOD.replace("draws = 1000", 'draws = "300"'))
    code = main(["run", "overall_cr", "subgroups_age", str(bad), "--out", str(tmp_path / "o")])
    assert code == 2
    assert f"error: {bad}: key 'sampler.draws'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_bad_override_is_refused_before_the_first_fit(tmp_path, capsys, no_fit):
    code = main(["run", "overall_cr", "--draws", "0", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "'sampler.draws': must be greater than or equal to 1" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_weak_override_is_refused_before_the_first_fit(tmp_path, write_spec, capsys, no_fit):
    spec = write_spec(GOOD.replace("max_divergences = 0", "max_divergences = 40"))
    # 40 divergences are 1% of 4 x 1000 draws: allowed (loosened); not of 4 x 100
    code = main(["run", str(spec), "--draws", "100", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "key 'gate.max_divergences': 40 divergences are more than 1%" in \
        capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_previous_run_folder_is_accepted(tmp_path, monkeypatch, capsys):
    out = tmp_path / "results"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    seen = []

    def stop(spec, **kwargs):
        seen.append(spec.name)
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_analysis", stop)  # one spec: fitted in this process
    assert main(["run", "overall_cr", "--out", str(out)]) == 130
    assert seen == ["overall_cr"]  # the checks passed and the work began
    assert (out / "summary.json").read_text() == "{}"  # and the interrupted run left it
