"""Issue 10, item 2: a spec file that cannot be read as a spec gets one clear error.

Not UTF-8 (Latin-1, UTF-16, binary), a byte-order mark, empty, a folder, unreadable; and a
spec folder with no spec in it.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from bayesblina.analyses.registry import load_spec
from bayesblina.cli import main
from bayesblina.errors import SpecError

from .test_strict_types import GOOD

#: (case, bytes of the file, pieces of the one error)
FILES = [
    ("latin-1", GOOD.replace('title = "t"', 'title = "Säuglinge"').encode("latin-1"),
     ["is not UTF-8 text", "byte 0xe4 on line 3", "save it as UTF-8"]),
    ("utf-16", GOOD.encode("utf-16"), ["is UTF-16 text", "save it as UTF-8"]),
    ("utf-16 without BOM", GOOD.encode("utf-16-le"), ["is not UTF-8 text"]),
    ("binary", bytes(range(256)) * 4, ["is not UTF-8 text", "NUL bytes"]),
    ("binary without NUL", bytes(range(1, 256)) * 4, ["is not UTF-8 text", "byte 0x80"]),
    ("utf-8 BOM", codecs.BOM_UTF8 + GOOD.encode(), ["byte-order mark", "without BOM"]),
    ("empty", b"", ["is empty", "[analysis]"]),
    ("blank", b"  \n\n\t\n", ["is empty"]),
    ("not TOML", b"[analysis\nname = 1\n", ["not valid TOML"]),
]


@pytest.mark.parametrize(("case", "content", "pieces"), FILES, ids=[f[0] for f in FILES])
def test_unreadable_spec_file_is_one_clear_error(tmp_path, capsys, case, content, pieces):
    path = tmp_path / "bad_spec.toml"
    path.write_bytes(content)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: "), msg
    for piece in pieces:
        assert piece in msg, msg
    assert main(["check", str(path)]) == 2
    out, errtext = capsys.readouterr()
    assert errtext == f"error: {msg}\n" and "Traceback" not in out + errtext


def test_a_folder_given_as_spec_is_named_as_a_folder(tmp_path, capsys):
    folder = tmp_path / "specs.toml"
    folder.mkdir()
    assert main(["check", str(folder)]) == 2
    assert capsys.readouterr().err == (
        f"error: {folder}: is a folder, not a spec file (give a .toml file, or the folder with "
        "--spec-dir)\n")


def test_an_unreadable_spec_names_the_reason(tmp_path, monkeypatch):
    # root reads a file whatever its mode, so the refusal is simulated where it happens
    path = tmp_path / "bad_spec.toml"
    path.write_text(GOOD)
    real_open = Path.open

    def refuse(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(SpecError, match=rf"^{path}: cannot be read: Permission denied$"):
        load_spec(path)


def test_a_missing_spec_is_not_found(tmp_path):
    with pytest.raises(SpecError, match=r"^spec file not found: .*nope\.toml$"):
        load_spec(tmp_path / "nope.toml")


@pytest.mark.parametrize("command", ["check", "run"])
def test_a_spec_folder_without_specs_is_an_error(tmp_path, capsys, command):
    (tmp_path / "notes.txt").write_text("no specs here")
    code = main([command, "--spec-dir", str(tmp_path), *(["--out", str(tmp_path / "o")]
                                                         if command == "run" else [])])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: spec folder {tmp_path} holds no spec file (*.toml)\n")
    assert not (tmp_path / "o").exists()


def test_a_spec_folder_that_is_a_file_or_missing(tmp_path, capsys):
    file = tmp_path / "f"
    file.write_text("")
    assert main(["check", "--spec-dir", str(file)]) == 2
    assert "spec folder is a file, not a folder" in capsys.readouterr().err
    assert main(["check", "--spec-dir", str(tmp_path / "missing")]) == 2
    assert "spec folder not found" in capsys.readouterr().err
