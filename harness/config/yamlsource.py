"""Load YAML with safe_load semantics while remembering where every value came from.

``load_with_marks`` returns the plain data plus a map from a field path (tuple of keys
and list indexes) to (line, column), 1-based, so validation errors can say
``devices/pixel.yaml:12:5``. Duplicate keys are refused (YAML allows them silently).

The walk that records positions expands aliases (an alias's value is copied where it is
used), so it is bounded: a document that expands to more than ``MAX_EXPANDED_NODES`` values
(an "alias bomb": a few hundred bytes that expand to billions) is refused at the alias that
crossed the limit, long before it costs time or memory. Bytes that are not UTF-8, control
characters YAML forbids, NUL inside strings and absurd nesting are errors with file:line too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError

Loc = tuple[int | str, ...]
Marks = dict[Loc, tuple[int, int]]

# Every real config has a few hundred values; the limit leaves room for big farms and stops
# an alias bomb after a fraction of a second.
MAX_EXPANDED_NODES = 50_000
MAX_DEPTH = 200


class _Loader(yaml.SafeLoader):
    pass


class _Budget:
    """How many more values the walk may produce (aliases included) before it refuses."""

    def __init__(self, source: str, limit: int = MAX_EXPANDED_NODES) -> None:
        self.source, self.left = source, limit

    def spend(self, node: yaml.Node, depth: int, cost: int = 1) -> None:
        self.left -= cost
        where = f"{self.source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"
        if self.left < 0:
            raise ConfigError(f"{where}: the document expands to more than {MAX_EXPANDED_NODES} values through "
                              f"aliases (*name); refusing it (an alias bomb?)")
        if depth > MAX_DEPTH:
            raise ConfigError(f"{where}: nested more than {MAX_DEPTH} levels deep")


def _merged_pairs(node: yaml.MappingNode, memo: dict[int, int], depth: int = 0) -> int:
    """How many (key, value) pairs ``flatten_mapping`` would produce: it copies every merged
    mapping's pairs without removing duplicates, so ``<<`` chains grow exponentially too."""
    if id(node) in memo:
        return memo[id(node)]
    if depth > MAX_DEPTH:
        raise RecursionError
    n = 0
    for key_node, value_node in node.value:
        if key_node.tag != "tag:yaml.org,2002:merge":
            n += 1
            continue
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        n += sum(_merged_pairs(s, memo, depth + 1) for s in sources if isinstance(s, yaml.MappingNode))
    memo[id(node)] = n
    return n


def _scalar(loader: _Loader, node: yaml.Node, source: str) -> Any:
    value = loader.construct_object(node, deep=True)
    if isinstance(value, str) and "\x00" in value:
        raise ConfigError(f"{source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}: "
                          f"a NUL character (\\0) inside a string")
    return value


def _walk(loader: _Loader, node: yaml.Node, path: Loc, marks: Marks, budget: _Budget) -> Any:
    budget.spend(node, len(path))
    source = budget.source
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        if _merged_pairs(node, {}) > budget.left:
            budget.spend(node, len(path), cost=budget.left + 1)
        loader.flatten_mapping(node)  # resolve "<<" merge keys the way safe_load does
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                what = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
                raise ConfigError(f"{source}:{key_node.start_mark.line + 1}:{key_node.start_mark.column + 1}: "
                                  f"a key must be a plain value, not a {what}")
            key = _scalar(loader, key_node, source)
            if key in out:
                line = key_node.start_mark.line + 1
                raise ConfigError(f"{source}:{line}:{key_node.start_mark.column + 1}: duplicate key {key!r}")
            marks[path + (key, "__key__")] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _walk(loader, value_node, (*path, key), marks, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(loader, child, (*path, i), marks, budget) for i, child in enumerate(node.value)]
    return _scalar(loader, node, source)


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{source}:{line}:{col}: not UTF-8 text (byte 0x{raw[exc.start]:02x})") from None


def _position(text: str, index: int) -> tuple[int, int]:
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def load_with_marks(path: Path, text: str | None = None) -> tuple[Any, Marks]:
    source = str(path)
    if text is None:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from exc
        text = _decode(raw, source)
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None, {}
        marks: Marks = {}
        return _walk(loader, node, (), marks, _Budget(source)), marks
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError(f"{where}: invalid YAML: {exc.problem}") from exc
    except yaml.reader.ReaderError as exc:  # a control character YAML forbids (NUL, ...)
        line, col = _position(text, exc.position)
        raise ConfigError(f"{source}:{line}:{col}: invalid YAML: character U+{exc.character:04X} is not allowed") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: invalid YAML: nested too deeply") from None
    finally:
        if loader is not None:
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
