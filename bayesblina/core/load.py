"""Read analysis specs (``*.toml``) into validated :class:`~bayesblina.core.spec.AnalysisSpec`.

The shell of a spec is generic; its ``[data]``, ``[priors.<set>]`` and ``[options]`` belong
to the model named in ``analysis.model``. This module takes that model lookup as an
argument (``resolve``), so it knows no model: :mod:`bayesblina.analyses.registry` binds
it to the registered models.
"""

from __future__ import annotations

import codecs
import math
import tomllib
from collections.abc import Callable, Iterable
from importlib.resources import files
from pathlib import Path
from typing import Any

from bayesblina.core.messages import validate_section
from bayesblina.core.spec import AnalysisSpec
from bayesblina.data.tables import toml_type
from bayesblina.errors import BayesblinaError, SpecError

#: model name -> model class (raises SpecError naming the allowed names)
Resolve = Callable[..., Any]


def parse_spec(
    raw: dict[str, Any],
    *,
    resolve: Resolve,
    where: str = "<spec>",
    text: str = "",
    spec_dir: str | Path | None = None,
    allow_data_outside: bool = False,
) -> AnalysisSpec:
    """Validate a spec already parsed from TOML.

    Parameters
    ----------
    raw : dict
        The TOML document as a dictionary.
    resolve : callable
        ``resolve(name, where=...)`` returns the model class registered under ``name``.
    where : str
        Name of the file (used in error messages).
    text : str
        The TOML text, stored for provenance.
    spec_dir : str or Path, optional
        The spec's folder: data files resolve from it and stay inside it (default: the
        current folder).
    allow_data_outside : bool
        Accept data files outside ``spec_dir`` (absolute paths, ``..``).

    Returns
    -------
    AnalysisSpec
        The validated spec, with the model's own data and prior objects.

    Raises
    ------
    SpecError
        On any unknown key, wrong type, unknown model or prior family, or value out of range.
    """
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: a spec must be a TOML table")
    check_finite(raw, where=where)
    raw = dict(raw)
    analysis = raw.get("analysis")
    if analysis is None:
        raise SpecError(f"{where}: missing required table [analysis]")
    if not isinstance(analysis, dict):
        raise SpecError(f"{where}: key 'analysis': must be a table with the keys name, title, "
                        f"question, model (got {analysis!r}, {toml_type(analysis)})")
    if "model" not in analysis:
        raise SpecError(f"{where}: missing required key 'analysis.model'")
    if not isinstance(analysis["model"], str):
        raise SpecError(f"{where}: key 'analysis.model': must be a string naming a model "
                        f"(got {analysis['model']!r}, {toml_type(analysis['model'])})")
    model_cls = resolve(analysis["model"], where=where)
    data_raw = raw.pop("data", None)
    priors_raw = raw.pop("priors", None)
    if data_raw is None:
        raise SpecError(f"{where}: missing required table [data]")
    if not isinstance(priors_raw, dict) or not priors_raw:
        raise SpecError(f"{where}: missing required table [priors.<name>] (at least one prior set)")
    context = {"spec_dir": Path(spec_dir) if spec_dir is not None else Path.cwd(),
               "allow_outside": allow_data_outside}
    data = validate_section(model_cls.DataSpec, data_raw, where=where, prefix=("data",),
                            context=context)
    priors = {
        name: validate_section(model_cls.PriorSetSpec, p, where=where, prefix=("priors", name))
        for name, p in priors_raw.items()
    }
    options = validate_section(
        model_cls.OptionsSpec, raw.pop("options", {}), where=where, prefix=("options",)
    )
    check_prior_sets(model_cls, data, priors, options, where=where)
    full = {
        **raw,
        "data": data,
        "priors": priors,
        "options": options,
        "source_path": where,
        "source_text": text,
    }
    return validate_section(AnalysisSpec, full, where=where, prefix=())


def check_prior_sets(
    model_cls: Any, data_spec: Any, priors: dict[str, Any], options: Any, *, where: str
) -> None:
    """Load the spec's data and check every prior set against it and the options.

    Raises
    ------
    SpecError
        Naming the file, the prior set and the rule it breaks (or the data problem).
    """
    try:
        data = model_cls.validate_data(model_cls.load_data(data_spec))
    except BayesblinaError as err:
        msg = str(err)
        raise type(err)(msg if msg.startswith(where) else f"{where}: {msg}") from None
    try:
        model_cls.check_options(options, data)
    except SpecError as err:
        msg = str(err)
        raise SpecError(msg if msg.startswith(where) else f"{where}: {msg}") from None
    for name, prior in priors.items():
        try:
            model_cls.check_prior_set(prior, options, data)
        except SpecError as err:
            raise SpecError(f"{where}: key 'priors.{name}': {err}") from None


def load_spec(
    path: str | Path,
    *,
    resolve: Resolve,
    where: str | None = None,
    allow_data_outside: bool = False,
) -> AnalysisSpec:
    """Read and validate one spec file.

    Parameters
    ----------
    path : str or Path
        A ``.toml`` file (UTF-8, no byte-order mark).
    resolve : callable
        The model lookup (see :func:`parse_spec`).
    where : str, optional
        How messages and provenance name the file (default: the path as given).
    allow_data_outside : bool
        Accept data files outside the spec's folder (see :func:`parse_spec`).

    Returns
    -------
    AnalysisSpec

    Raises
    ------
    SpecError
        If the file is missing, a folder, unreadable, empty, not UTF-8, not valid TOML, or
        fails validation.
    """
    path = Path(path)
    where = str(path) if where is None else where
    text = read_spec_text(path, where)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{where}: not valid TOML: {err}") from None
    spec = parse_spec(raw, resolve=resolve, where=where, text=text, spec_dir=path.parent,
                      allow_data_outside=allow_data_outside)
    if spec.analysis.name != path.stem:
        raise SpecError(
            f"{where}: key 'analysis.name': must equal the file name {path.stem!r} "
            f"(got {spec.analysis.name!r})"
        )
    return spec


#: the largest spec file read (a spec is a page of TOML; anything larger is a wrong file)
MAX_SPEC_BYTES = 4 * 1024 * 1024


def read_spec_text(path: Path, where: str) -> str:
    """The text of a spec file, or one :class:`SpecError` saying what is wrong with the file."""
    if path.is_dir():
        raise SpecError(f"{where}: is a folder, not a spec file (give a .toml file, or the "
                        "folder with --spec-dir)")
    if not path.exists():
        raise SpecError(f"spec file not found: {where}")
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_SPEC_BYTES + 1)
    except OSError as err:
        raise SpecError(f"{where}: cannot be read: {err.strerror or err}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(f"{where}: is larger than {MAX_SPEC_BYTES // 2**20} MiB: not a spec")
    if not data.strip():
        raise SpecError(f"{where}: is empty: a spec needs [analysis], [data] and [priors.<name>]")
    if data.startswith(codecs.BOM_UTF8):
        raise SpecError(f"{where}: starts with a UTF-8 byte-order mark, which TOML does not "
                        "allow: save the file as UTF-8 without BOM")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SpecError(f"{where}: is UTF-16 text: save it as UTF-8 (TOML is UTF-8)")
    if b"\x00" in data:  # valid UTF-8, but never in TOML: UTF-16 without BOM, or binary
        raise SpecError(f"{where}: is not UTF-8 text (it holds NUL bytes: UTF-16, or not "
                        "text): save it as UTF-8 (TOML is UTF-8)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SpecError(f"{where}: is not UTF-8 text (byte 0x{data[err.start]:02x} on line "
                        f"{line}): save it as UTF-8 (TOML is UTF-8)") from None


def check_finite(raw: Any, *, where: str, key: str = "") -> None:
    """Refuse a non-finite number (``inf``, ``nan``) anywhere in a spec, naming its key.

    TOML has ``inf`` and ``nan``; no setting, prior or datum of a spec is meaningful as one.
    """
    if isinstance(raw, float) and not math.isfinite(raw):
        raise SpecError(f"{where}: key '{key}': must be a finite number (got {raw!r})")
    if isinstance(raw, dict):
        for k, v in raw.items():
            check_finite(v, where=where, key=f"{key}.{k}" if key else str(k))
    elif isinstance(raw, list):
        for i, v in enumerate(raw):
            check_finite(v, where=where, key=f"{key}.{i}")


def discover_specs(folder: str | Path) -> list[Path]:
    """List the spec files (``*.toml``) of a folder, sorted by name.

    Raises
    ------
    SpecError
        If the folder does not exist, is a file, or holds no ``*.toml`` file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "not found"
        raise SpecError(f"spec folder {what}: {folder}")
    found = sorted(p for p in folder.glob("*.toml") if p.is_file())
    if not found:
        raise SpecError(f"spec folder {folder} holds no spec file (*.toml)")
    return found


def load_specs(
    paths: Iterable[str | Path], *, resolve: Resolve, allow_data_outside: bool = False
) -> list[AnalysisSpec]:
    """Load several specs, refusing duplicate analysis names."""
    return unique_names([load_spec(p, resolve=resolve, allow_data_outside=allow_data_outside)
                         for p in paths])


def unique_names(specs: list[AnalysisSpec]) -> list[AnalysisSpec]:
    """Return ``specs``, or raise ``SpecError`` if two share an analysis name."""
    seen: dict[str, str] = {}
    for s in specs:
        if s.name in seen:
            raise SpecError(
                f"{s.source_path}: analysis name {s.name!r} also used by {seen[s.name]}"
            )
        seen[s.name] = s.source_path
    return specs


def packaged_spec_dir() -> Path:
    """The default specs: the repository's ``models/``, shipped as ``bayesblina.models``."""
    return Path(str(files("bayesblina.models")))


def spec_source(spec: str | Path) -> tuple[Path, str]:
    """The file of a spec argument and how messages name it.

    A bare name (no folder, no suffix) such as ``"overall_cr"`` is the default spec
    ``models/overall_cr.toml``; a default spec is named ``models/<file>``, never by a path
    of this machine; any other path is named as given.
    """
    path = Path(spec)
    folder = packaged_spec_dir()
    if path.suffix == "" and len(path.parts) == 1 and (folder / f"{spec}.toml").is_file():
        path = folder / f"{spec}.toml"
    try:
        packaged = path.resolve().parent == folder.resolve()
    except OSError:
        packaged = False
    return path, (f"models/{path.name}" if packaged else str(path))


def models_resolver(models: Iterable[Any], *, scope: str) -> Resolve:
    """A model lookup restricted to ``models`` (e.g. one analysis room's), for :func:`load_spec`.

    ``scope`` names the set in the error for any other model (e.g. ``"the survival room"``).
    """
    table = {m.name: m for m in models}

    def resolve(name: str, *, where: str = "<spec>") -> Any:
        try:
            return table[name]
        except (KeyError, TypeError):
            raise SpecError(f"{where}: key 'analysis.model': {name!r} is not a model of "
                            f"{scope}; allowed: {sorted(table)}") from None

    return resolve


def load_named_spec(
    spec: str | Path, *, resolve: Resolve, allow_data_outside: bool = False
) -> AnalysisSpec:
    """Load a spec file, or a default spec by its name (see :func:`spec_source`)."""
    path, where = spec_source(spec)
    return load_spec(path, resolve=resolve, where=where, allow_data_outside=allow_data_outside)
