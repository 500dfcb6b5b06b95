"""Read and validate analysis specs (``models/*.toml``).

Every problem becomes one :class:`~bayesblina.errors.SpecError` whose message names the
file, the key (dotted path) and what is allowed, e.g.::

    models/overall_cr.toml: key 'priors.sceptical.p.beta': must be > 0 (got -9)
"""

from __future__ import annotations

import tomllib
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bayesblina.errors import SpecError
from bayesblina.spec.schema import AnalysisSpec

#: the repository's spec folder, used when the package runs from a source checkout
DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[2] / "models"


def _unwrap(annotation: Any, raw: Any) -> Any:
    """Reduce ``Annotated``/``Optional``/unions to the member that ``raw`` selects."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0], raw)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        family = raw.get("family") if isinstance(raw, dict) else None
        for member in members:
            fields = getattr(member, "model_fields", {})
            fam = fields.get("family")
            if fam is not None and family in typing.get_args(fam.annotation):
                return member
        return members[0] if len(members) == 1 else annotation
    return annotation


def _allowed_keys(root: type[BaseModel], raw: dict[str, Any], loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed at ``loc`` (the location of an unknown key's parent)."""
    cls: Any = root
    node: Any = raw
    for part in loc:
        cls = _unwrap(cls, node)
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            field = cls.model_fields.get(str(part))
            if field is None:
                return []
            cls = field.annotation
        elif typing.get_origin(cls) in (dict, list):
            cls = typing.get_args(cls)[-1]
        else:
            return []
        node = node.get(part) if isinstance(node, dict) else None
    cls = _unwrap(cls, node)
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return [k for k, f in cls.model_fields.items() if not f.exclude]
    return []


def _clean_loc(raw: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the discriminator tags pydantic inserts into locations (``p.beta.alpha``)."""
    out: list[Any] = []
    node = raw
    for i, part in enumerate(loc):
        # pydantic puts the union member's tag after the field: p.<family>.alpha
        if isinstance(node, dict) and node.get("family") == part and i + 1 < len(loc):
            continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(out)


def format_validation_error(
    err: ValidationError,
    *,
    where: str,
    root: type[BaseModel],
    raw: dict[str, Any],
    prefix: tuple[str, ...] = (),
) -> str:
    """Turn a pydantic error into lines naming the key and what is allowed."""
    lines = []
    for e in err.errors():
        rel = _clean_loc(raw, tuple(e["loc"]))
        key = ".".join(prefix + tuple(str(p) for p in rel))
        if e["type"] == "extra_forbidden":
            allowed = _allowed_keys(root, raw, rel[:-1])
            hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
            lines.append(f"{where}: unknown key '{key}'{hint}")
        elif e["type"] == "missing":
            lines.append(f"{where}: missing required key '{key}'")
        elif e["type"] == "union_tag_invalid":
            ctx = e.get("ctx", {})
            lines.append(
                f"{where}: key '{key}.family': unknown prior family {ctx.get('tag')!r}; "
                f"allowed: {ctx.get('expected_tags')}"
            )
        else:
            msg = e["msg"].replace("Input should be", "must be").replace("Value error, ", "")
            got = "" if isinstance(e.get("input"), dict) else f" (got {e.get('input')!r})"
            lines.append(f"{where}: key '{key}': {msg}{got}")
    return "\n".join(lines)


def _validate(cls: type[BaseModel], raw: Any, *, where: str, prefix: tuple[str, ...]) -> Any:
    try:
        return cls.model_validate(raw)
    except ValidationError as err:
        raw_dict = raw if isinstance(raw, dict) else {}
        raise SpecError(
            format_validation_error(err, where=where, root=cls, raw=raw_dict, prefix=prefix)
        ) from None


def parse_spec(raw: dict[str, Any], *, where: str = "<spec>", text: str = "") -> AnalysisSpec:
    """Validate a spec already parsed from TOML.

    Parameters
    ----------
    raw : dict
        The TOML document as a dictionary.
    where : str
        Name of the file (used in error messages).
    text : str
        The TOML text, stored for provenance.

    Returns
    -------
    AnalysisSpec
        The validated spec, with the model's own data and prior objects.

    Raises
    ------
    SpecError
        On any unknown key, wrong type, unknown model or prior family, or value out of range.
    """
    from bayesblina.model import get_model_class

    if not isinstance(raw, dict):
        raise SpecError(f"{where}: a spec must be a TOML table")
    raw = dict(raw)
    analysis = raw.get("analysis")
    if not isinstance(analysis, dict) or "model" not in analysis:
        raise SpecError(f"{where}: missing required key 'analysis.model'")
    model_cls = get_model_class(analysis["model"], where=where)
    data_raw = raw.pop("data", None)
    priors_raw = raw.pop("priors", None)
    if data_raw is None:
        raise SpecError(f"{where}: missing required table [data]")
    if not isinstance(priors_raw, dict) or not priors_raw:
        raise SpecError(f"{where}: missing required table [priors.<name>] (at least one prior set)")
    data = _validate(model_cls.DataSpec, data_raw, where=where, prefix=("data",))
    priors = {
        name: _validate(model_cls.PriorSetSpec, p, where=where, prefix=("priors", name))
        for name, p in priors_raw.items()
    }
    options = _validate(
        model_cls.OptionsSpec, raw.pop("options", {}), where=where, prefix=("options",)
    )
    full = {
        **raw,
        "data": data,
        "priors": priors,
        "options": options,
        "source_path": where,
        "source_text": text,
    }
    return _validate(AnalysisSpec, full, where=where, prefix=())


def load_spec(path: str | Path) -> AnalysisSpec:
    """Read and validate one spec file.

    Parameters
    ----------
    path : str or Path
        A ``.toml`` file.

    Returns
    -------
    AnalysisSpec

    Raises
    ------
    SpecError
        If the file does not exist, is not valid TOML, or fails validation.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: not valid TOML: {err}") from None
    spec = parse_spec(raw, where=str(path), text=text)
    if spec.analysis.name != path.stem:
        raise SpecError(
            f"{path}: key 'analysis.name': must equal the file name {path.stem!r} "
            f"(got {spec.analysis.name!r})"
        )
    return spec


def discover_specs(spec_dir: str | Path | None = None) -> list[Path]:
    """List the spec files of a folder (default: the repository's ``models/``)."""
    folder = Path(spec_dir) if spec_dir is not None else DEFAULT_SPEC_DIR
    if not folder.is_dir():
        raise SpecError(f"spec folder not found: {folder}")
    return sorted(folder.glob("*.toml"))


def load_specs(paths: Iterable[str | Path]) -> list[AnalysisSpec]:
    """Load several specs, refusing duplicate analysis names."""
    specs = [load_spec(p) for p in paths]
    seen: dict[str, str] = {}
    for s in specs:
        if s.name in seen:
            raise SpecError(
                f"{s.source_path}: analysis name {s.name!r} also used by {seen[s.name]}"
            )
        seen[s.name] = s.source_path
    return specs
