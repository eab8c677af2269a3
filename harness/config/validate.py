"""Turn pydantic errors into messages that say file:line:col, field, expected vs got."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from harness.config.yamlsource import Marks, load_with_marks, locate
from harness.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # pydantic puts union member tags ("function-after[...]", "SshTransport") into loc;
    # keep only parts that exist in the document.
    return tuple(p for p in loc if isinstance(p, int) or not any(c in str(p) for c in "[]()") or p == "")


def format_errors(exc: ValidationError, source: str, marks: Marks, data: Any) -> str:
    lines = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(tuple(err["loc"]))
        etype = err["type"]
        pos = locate(marks, loc, key=(etype == "extra_forbidden"))
        where = f"{source}:{pos[0]}:{pos[1]}" if pos else source
        field = _field_path(loc)
        if etype == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r} at {field}"
        elif etype == "missing":
            msg = f"missing required field {field}"
        else:
            got = err.get("input")
            shown = repr(got)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            msg = f"field {field}: expected {err['msg'].removeprefix('Input should be ')}, got {shown}"
        lines.append(f"{where}: {msg}")
    return "\n".join(lines)


def parse_model(model: type[M], path: Path, *, data: Any = None, marks: Marks | None = None) -> M:
    """Load a YAML file into ``model``; any problem raises ConfigError with positions."""
    if data is None:
        data, marks = load_with_marks(path)
    marks = marks or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1:1: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data, context={"source": str(path)})
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, str(path), marks, data)) from None
