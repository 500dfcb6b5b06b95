"""Issue 10, item 3: a spec's data file is the spec's own, found from the spec's folder.

Relative paths resolve from the spec's folder (not the current one); absolute paths,
``..`` and links leaving the folder are refused unless ``--allow-data-outside``; a file
named like a packaged table is the user's file, never the packaged copy.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bayesblina.analyses.registry import get_model_class, load_spec
from bayesblina.cli import main
from bayesblina.data import data_file
from bayesblina.errors import SpecError

SPEC = """
[analysis]
name = "{name}"
title = "t"
question = "q"
model = "subgroups"

[data]
factor = "region"
file = "{file}"

[priors.p]
mu = {{ family = "normal", mu = -0.85, sigma = 1.5 }}
tau = {{ family = "half_normal", sigma = 1.0 }}
"""


def fig2_with_europe(path: Path, europe_crs: int) -> Path:
    """A Fig 2 table whose region levels still add up (27 CRs), split differently."""
    table = pd.read_csv(data_file("subgroups_fig2.csv"), dtype=str, keep_default_na=False)
    eu = (table["factor"] == "region") & (table["level"] == "Europe")
    us = (table["factor"] == "region") & (table["level"] == "United States")
    table.loc[eu, "cr"] = str(europe_crs)
    table.loc[us, "cr"] = str(27 - europe_crs)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return path


def write(folder: Path, file: str, name: str = "mine") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(SPEC.format(name=name, file=file), encoding="utf-8")
    return path


def europe_crs(spec_path: Path, **kw) -> int:
    spec = load_spec(spec_path, **kw)
    data = get_model_class(spec.analysis.model).load_data(spec.data)
    return int(data.loc[data["label"] == "Europe", "x"].iat[0])


def test_relative_path_resolves_from_the_spec_folder_not_the_current_one(tmp_path,
                                                                          monkeypatch):
    fig2_with_europe(tmp_path / "trial" / "tables" / "fig2.csv", 20)
    fig2_with_europe(tmp_path / "elsewhere" / "tables" / "fig2.csv", 21)  # a decoy
    spec = write(tmp_path / "trial", "tables/fig2.csv")
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert europe_crs(spec) == 20
    monkeypatch.chdir(tmp_path / "trial")
    assert europe_crs(Path("mine.toml")) == 20


def test_a_file_named_like_a_packaged_table_is_the_users_file(tmp_path):
    fig2_with_europe(tmp_path / "subgroups_fig2.csv", 20)
    spec = write(tmp_path, "subgroups_fig2.csv")
    assert europe_crs(spec) == 20  # the packaged table has 19


def test_packaged_tables_are_chosen_by_name(tmp_path):
    spec = tmp_path / "mine.toml"
    spec.write_text(SPEC.format(name="mine", file="x").replace('file = "x"\n', ""))
    assert europe_crs(spec) == 19


@pytest.mark.parametrize("how", ["absolute", "dotdot", "link"])
def test_a_file_outside_the_spec_folder_is_refused(tmp_path, capsys, how):
    outside = fig2_with_europe(tmp_path / "outside" / "fig2.csv", 20)
    folder = tmp_path / "trial"
    folder.mkdir()
    if how == "absolute":
        given = str(outside)
    elif how == "dotdot":
        given = "../outside/fig2.csv"
    else:
        (folder / "fig2.csv").symlink_to(outside)
        given = "fig2.csv"
    spec = write(folder, given)
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    msg = str(err.value)
    assert msg.startswith(f"{spec}: key 'data.file': the data file {given!r} is outside the "
                          f"spec's folder {str(folder.resolve())!r}")
    assert "--allow-data-outside" in msg
    assert main(["check", str(spec)]) == 2
    assert capsys.readouterr().err == f"error: {msg}\n"
    # the user's explicit permission
    assert europe_crs(spec, allow_data_outside=True) == 20
    assert main(["check", "--allow-data-outside", str(spec)]) == 0
    assert capsys.readouterr().out.startswith(f"ok  {spec}: subgroups")


def test_system_files_are_not_read(tmp_path):
    spec = write(tmp_path, "/etc/passwd")
    with pytest.raises(SpecError, match="is outside the spec's folder"):
        load_spec(spec)


def test_a_missing_data_file_names_where_it_was_looked_for(tmp_path):
    spec = write(tmp_path, "tables/nope.csv")
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    assert f"key 'data.file': data file not found: {str(tmp_path / 'tables' / 'nope.csv')!r}" \
        in str(err.value)


def test_an_empty_file_name_is_refused(tmp_path):
    spec = write(tmp_path, "")
    with pytest.raises(SpecError, match=r"key 'data.file': must be a file name \(got an empty"):
        load_spec(spec)
