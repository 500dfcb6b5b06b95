"""Issue 10, item 8: user strings reach the terminal without their control characters."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

import bayesblina.pipeline as pipeline
from bayesblina.cli import clean, main

from .core.test_strict_types import GOOD

ROOT = Path(__file__).resolve().parents[1]
RAW = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x9b1m\u202eevil\u200b"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain µg/m² · Säuglinge", "plain µg/m² · Säuglinge"),
        ("two\nlines\tand a tab", "two\nlines\tand a tab"),
        ("\x1b[2J", "\\x1b[2J"),
        ("bell\x07", "bell\\x07"),
        ("c1 \x9b", "c1 \\x9b"),
        ("bidi \u202e", "bidi \\u202e"),
        ("\r overwrite", "\\r overwrite"),
    ],
)
def test_clean_escapes_control_characters_only(text, shown):
    assert clean(text) == shown


def test_no_control_character_survives():
    assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in clean(RAW))


def test_a_title_with_escape_sequences_is_printed_escaped(write_spec, monkeypatch, capsys,
                                                          tmp_path):
    toml_escaped = RAW.encode("unicode_escape").decode("ascii").replace("\\x", "\\u00")
    path = write_spec(GOOD.replace('title = "t"', f'title = "{toml_escaped}"'))

    def stop(spec, **kwargs):
        assert spec.analysis.title == RAW  # the title itself is kept as written
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_analysis", stop)  # one spec: in this process
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 130
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in err


def test_an_error_naming_a_hostile_file_name_is_escaped(capsys, tmp_path):
    assert main(["check", str(tmp_path / "\x1b[31mspec.toml")]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[31mspec.toml" in err


#: ``bayesblina run`` of overall_cr with short chains (that pass the gate), in a fresh process
QUICK = [sys.executable, "-m", "bayesblina.cli", "run", "models/overall_cr.toml", "--draws",
         "500", "--tune", "300", "--out"]


def _run_quick(tmp_path, stderr):
    return subprocess.run([*QUICK, str(tmp_path / "out")], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=stderr, text=True, check=False, timeout=600)


#: what the libraries print that a user cannot act on (issue 14, item 6)
NOISE = ("Sequential sampling", "NUTS: [", "Sampling 4 chains", "could not link to a BLAS",
         "FutureWarning", "DeprecationWarning")


@pytest.mark.mcmc
def test_a_run_into_a_log_prints_plain_lines_and_no_library_noise(tmp_path):
    proc = _run_quick(tmp_path, subprocess.PIPE)
    assert proc.returncode == 0, proc.stderr
    assert not [n for n in NOISE if n in proc.stderr], proc.stderr
    lines = proc.stderr.splitlines()
    assert lines and all(re.match(r"\[\d\d:\d\d:\d\d\] ", ln) for ln in lines), proc.stderr
    assert "prior set 'sceptical' PASSED" in proc.stderr
    assert "PASSED  overall_cr" in proc.stdout


@pytest.mark.mcmc
def test_a_run_on_a_terminal_shows_a_progress_bar(tmp_path):
    leader, follower = pty.openpty()
    chunks = []
    try:
        proc = subprocess.Popen([*QUICK, str(tmp_path / "out")], cwd=ROOT, stdout=follower,
                                stderr=follower)
        os.close(follower)
        while True:  # read as it comes: a full terminal buffer would stop the run
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the run ended and closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=600) == 0
    finally:
        os.close(leader)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert "analyses" in shown and "1/1" in shown  # the bar counts the analyses
    assert "PASSED  overall_cr" in shown  # each verdict as it comes
    assert not re.search(r"\[\d\d:\d\d:\d\d\] overall_cr: prior set", shown)  # no step lines
    assert not [n for n in NOISE if n in shown]
