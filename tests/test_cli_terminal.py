"""Issue 10, item 8: user strings reach the terminal without their control characters."""

from __future__ import annotations

import pytest

import bayesblina.pipeline as pipeline
from bayesblina.cli import clean, main

from .core.test_strict_types import GOOD

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
