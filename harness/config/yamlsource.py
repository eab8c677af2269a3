"""Load YAML with safe_load semantics while remembering where every value came from.

``load_with_marks`` returns the plain data plus a map from a field path (tuple of keys
and list indexes) to (line, column), 1-based, so validation errors can say
``devices/pixel.yaml:12:5``. Duplicate keys are refused (YAML allows them silently).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError

Loc = tuple[int | str, ...]
Marks = dict[Loc, tuple[int, int]]


class _Loader(yaml.SafeLoader):
    pass


def _walk(loader: _Loader, node: yaml.Node, path: Loc, marks: Marks, source: str) -> Any:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolve "<<" merge keys the way safe_load does
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                line = key_node.start_mark.line + 1
                raise ConfigError(f"{source}:{line}:{key_node.start_mark.column + 1}: duplicate key {key!r}")
            marks[path + (key, "__key__")] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _walk(loader, value_node, (*path, key), marks, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(loader, child, (*path, i), marks, source) for i, child in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_with_marks(path: Path, text: str | None = None) -> tuple[Any, Marks]:
    source = str(path)
    if text is None:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read: {exc.strerror}") from exc
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        marks: Marks = {}
        return _walk(loader, node, (), marks, source), marks
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError(f"{where}: invalid YAML: {exc.problem}") from exc
    finally:
        loader.dispose()


def locate(marks: Marks, loc: Loc, *, key: bool = False) -> tuple[int, int] | None:
    """Closest known position for a field path (walks up to the nearest parent)."""
    loc = tuple(loc)
    if key and loc + ("__key__",) in marks:
        return marks[loc + ("__key__",)]
    while loc:
        if loc in marks:
            return marks[loc]
        if loc + ("__key__",) in marks:
            return marks[loc + ("__key__",)]
        loc = loc[:-1]
    return marks.get(())


def position(source: Path | str, marks: Marks, loc: Loc, *, key: bool = False) -> str:
    """``file:line:col`` of a field path (or of its nearest parent), else just the file; with
    ``key``, of the key itself rather than its value."""
    pos = locate(marks, loc, key=key)
    return f"{source}:{pos[0]}:{pos[1]}" if pos else str(source)
