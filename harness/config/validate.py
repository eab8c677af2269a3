"""Turn pydantic errors into messages that say file:line:col, field, expected vs got."""

from __future__ import annotations

import difflib
import typing
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


def _clean_loc(loc: tuple[int | str, ...], data: Any) -> tuple[int | str, ...]:
    """Keep the parts of a pydantic loc that index into the document.

    pydantic inserts union tags ("ssh", "function-after[...]") that are not keys; the last
    part is kept even when absent (a missing field is absent by definition).
    """
    out: list[int | str] = []
    cur = data
    for i, part in enumerate(loc):
        in_dict = isinstance(cur, dict) and part in cur
        in_list = isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)
        if in_dict or in_list:
            out.append(part)
            cur = cur[part]
        elif i == len(loc) - 1:
            out.append(part)
    return tuple(out)


def field_names(model: type[BaseModel]) -> set[str]:
    """Every key a document for ``model`` may use, at any depth (for "did you mean")."""
    seen: set[type[BaseModel]] = set()
    names: set[str] = set()

    def visit(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp in seen:
                return
            seen.add(tp)
            for name, info in tp.model_fields.items():
                names.add(info.alias or name)
                visit(info.annotation)
        for arg in typing.get_args(tp):
            visit(arg)

    visit(model)
    return names


def _did_you_mean(key: object, known: set[str]) -> str:
    close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.75) if known else []
    return f" (did you mean {close[0]!r}?)" if close else ""


def format_errors(exc: ValidationError, source: str, marks: Marks, data: Any,
                  known: set[str] | None = None) -> str:
    lines = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(tuple(err["loc"]), data)
        etype = err["type"]
        pos = locate(marks, loc, key=(etype == "extra_forbidden"))
        where = f"{source}:{pos[0]}:{pos[1]}" if pos else source
        field = _field_path(loc)
        if etype == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r} at {field}{_did_you_mean(loc[-1], known or set())}"
        elif etype == "missing":
            msg = f"missing required field {field}"
        else:
            got = err.get("input")
            shown = repr(got)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            text = err["msg"]
            if text.startswith("Input should be "):
                msg = f"field {field}: expected {text.removeprefix('Input should be ')}, got {shown}"
            else:
                msg = f"field {field}: {text} (got {shown})"
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
        raise ConfigError(format_errors(exc, str(path), marks, data, field_names(model))) from None
