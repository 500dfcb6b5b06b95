"""Pydantic validation errors as one line per problem, naming file, key and what is allowed.

For example::

    models/overall_cr.toml: key 'priors.sceptical.p.beta': must be > 0 (got -9)
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from bayesblina.data.tables import toml_type
from bayesblina.errors import SpecError

#: the keys that select the member of a tagged union (a prior's family, a design's type)
TAGS = ("family", "type")

#: pydantic's strict type errors, as what the key takes in TOML
TOML_TYPES = {
    "int_type": "an integer", "float_type": "a number", "string_type": "a string",
    "bool_type": "a boolean (true or false)", "list_type": "an array",
    "dict_type": "a table", "model_type": "a table", "model_attributes_type": "a table",
    "finite_number": "a finite number",
}


def _unwrap(annotation: Any, raw: Any) -> Any:
    """Reduce ``Annotated``/``Optional``/unions to the member that ``raw`` selects."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0], raw)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        for member in members:
            fields = getattr(member, "model_fields", {})
            for tag in TAGS:
                field = fields.get(tag)
                value = raw.get(tag) if isinstance(raw, dict) else None
                if field is not None and value in typing.get_args(field.annotation):
                    return member
        return members[0] if len(members) == 1 else annotation
    return annotation


def _child(node: Any, part: Any) -> Any:
    """The value at ``part`` of a raw table or array, or ``None``."""
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    return None


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
        node = _child(node, part)
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
        if (isinstance(node, dict) and i + 1 < len(loc)
                and any(node.get(tag) == part for tag in TAGS)):
            continue
        out.append(part)
        node = _child(node, part)
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
        elif e["type"] in TOML_TYPES:
            value = e.get("input")
            got = "" if _is_table(value) else f" (got {value!r}, {toml_type(value)})"
            lines.append(f"{where}: key '{key}': must be {TOML_TYPES[e['type']]}{got}")
        elif e["type"] in ("union_tag_invalid", "union_tag_not_found"):
            ctx = e.get("ctx", {})
            tag = str(ctx.get("discriminator", "'family'")).strip("'")
            what = "prior family" if tag == "family" else f"{tag}"
            if e["type"] == "union_tag_not_found":
                lines.append(f"{where}: missing required key '{key}.{tag}'")
            else:
                lines.append(
                    f"{where}: key '{key}.{tag}': unknown {what} {ctx.get('tag')!r}; "
                    f"allowed: {ctx.get('expected_tags')}"
                )
        else:
            msg = e["msg"].replace("Input should be", "must be").replace("Value error, ", "")
            got = "" if _is_table(e.get("input")) else f" (got {e.get('input')!r})"
            lines.append(f"{where}: key '{key}': {msg}{got}")
    return "\n".join(lines)


def validate_section(
    cls: type[BaseModel],
    raw: Any,
    *,
    where: str,
    prefix: tuple[str, ...],
    context: dict[str, Any] | None = None,
) -> Any:
    """Validate ``raw`` against ``cls``; any problem is one :class:`SpecError`.

    Values are taken at their TOML type (pydantic strict mode): no string becomes a number,
    no boolean an integer. ``context`` reaches the validators (e.g. the spec's folder, for
    :data:`bayesblina.core.spec.DataFile`).
    """
    if prefix and not isinstance(raw, dict):
        key = ".".join(prefix)
        raise SpecError(f"{where}: key '{key}': must be a table (got {raw!r}, {toml_type(raw)})")
    try:
        return cls.model_validate(raw, strict=True, context=context)
    except ValidationError as err:
        raw_dict = raw if isinstance(raw, dict) else {}
        raise SpecError(
            format_validation_error(err, where=where, root=cls, raw=raw_dict, prefix=prefix)
        ) from None


def _is_table(value: Any) -> bool:
    """A table or a list of tables (inline rows): too long to repeat in a message."""
    return isinstance(value, dict) or (
        isinstance(value, list) and any(isinstance(v, dict) for v in value))
