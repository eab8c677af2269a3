"""Config loading under generated input: thousands of documents, no uncaught exception, every
rejection a ConfigError naming the file (and line:col where the problem has one)."""

from __future__ import annotations

import copy
import math
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.config.loader import load_device, load_workload
from harness.config.yamlsource import MAX_EXPANDED_NODES, load_with_marks
from harness.errors import ConfigError
from tests.hardening.conftest import REPO, TINY, local_device

SRC = Path("fuzz.yaml")
SETTINGS = settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["[/]", "<script>", "\x00", "../../x", "-S touch x", ".nan", "1e999", "99999999"]),
)
values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                                                         max_size=4), max_leaves=12)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    if not path:
        return doc
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return doc


def _assert_loads_or_says_where(loader: Any, text: str | bytes, tmp: Path) -> None:
    path = tmp / "fuzz.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    try:
        loader(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path)), str(exc)


def _dump(doc: Any) -> str:
    try:
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        return repr(doc)


DEVICE = local_device(Path("/tmp/x"), "fuzz-dev", env={"OMP_NUM_THREADS": "1"}, cell_timeout_s=60)
DEVICE["transport"] = {"kind": "ssh", "host": "board", "port": 22}


@SETTINGS
@given(data=st.data())
def test_mutated_device_profiles(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    where = data.draw(st.sampled_from(_paths(DEVICE)))
    doc = _mutate(DEVICE, where, data.draw(values))
    _assert_loads_or_says_where(load_device, _dump(doc), tmp_path_factory.mktemp("d"))


@SETTINGS
@given(data=st.data())
def test_mutated_workloads(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    where = data.draw(st.sampled_from(_paths(TINY)))
    doc = _mutate(TINY, where, data.draw(values))
    _assert_loads_or_says_where(load_workload, _dump(doc), tmp_path_factory.mktemp("w"))


@SETTINGS
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300),
                     st.lists(st.sampled_from(["a: ", "&x ", "*x", "[", "]", "{", "}", "<<: ", "\n", "- ", "  ",
                                               "!!binary ", "!!python/object ", "? ", "\x00", "\ufeff", "'", '"']),
                              max_size=40).map("".join)))
def test_arbitrary_bytes(tmp_path_factory: pytest.TempPathFactory, raw: str | bytes) -> None:
    _assert_loads_or_says_where(load_workload, raw, tmp_path_factory.mktemp("r"))


@pytest.mark.parametrize(("patch", "field"), [
    ({"batch_sizes": [-4]}, "batch_sizes[0]"),
    ({"batch_sizes": [0]}, "batch_sizes[0]"),
    ({"seed": -1}, "seed"),
    ({"timeout_s": math.inf}, "timeout_s"),
    ({"timeout_s": math.nan}, "timeout_s"),
    ({"measure": {**TINY["measure"], "max_seconds": math.inf}}, "measure.max_seconds"),
    ({"inputs": [{**TINY["inputs"][0], "range": [math.nan, 1]}]}, "inputs[0].range"),
    ({"inputs": [{**TINY["inputs"][0], "range": [1, -1]}]}, "inputs[0]"),
])
def test_numbers_out_of_range_are_refused_at_validation(tmp_path: Path, patch: dict[str, Any], field: str) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump({**TINY, **patch}, sort_keys=False))
    with pytest.raises(ConfigError) as exc:
        load_workload(path)
    assert f"{path}:" in str(exc.value) and field in str(exc.value)


@pytest.mark.parametrize(("transport", "field"), [
    ({"kind": "ssh", "host": "b", "port": 99999999}, "transport.ssh.port"),
    ({"kind": "ssh", "host": "b", "port": 0}, "transport.ssh.port"),
    ({"kind": "ssh", "host": "b", "connect_timeout_s": -1}, "connect_timeout_s"),
    ({"kind": "adb", "serial": "x", "server": "host:70000"}, "server"),
])
def test_ports_and_timeouts_are_bounded(tmp_path: Path, transport: dict[str, Any], field: str) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump({**DEVICE, "transport": transport}, sort_keys=False))
    with pytest.raises(ConfigError, match=field.split(".")[-1]):
        load_device(path)


def test_env_keys_must_be_identifiers(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump({**DEVICE, "env": {"-S touch x": "1"}}, sort_keys=False))
    with pytest.raises(ConfigError, match="env"):
        load_device(path)


def test_nul_and_invalid_utf8_are_clear_errors(tmp_path: Path) -> None:
    cases = {b"name: a\x00b\n": ":1:8: invalid YAML: character U+0000", b'name: "a\\0b"\n': ":1:7: a NUL character",
             b"name: caf\xe9\n": ":1:10: not UTF-8"}
    for raw, message in cases.items():
        path = tmp_path / "w.yaml"
        path.write_bytes(raw)
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_with_marks(path)


BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    """A few hundred bytes that expand to 387 million values. Refused with file:line; how fast is
    printed, not asserted (the machine is shared): a generous timeout guards the test."""
    path = tmp_path / "devices" / "bomb.yaml"
    path.parent.mkdir()
    path.write_text(BOMB)
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "harness", "validate", str(path)], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    print(f"alias bomb ({len(BOMB)} bytes) refused by `harness validate` in {time.perf_counter() - t0:.2f} s "
          "(process start included)")
    assert res.returncode != 0 and f"{path}:" in res.stderr and f"more than {MAX_EXPANDED_NODES} values" in res.stderr
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="alias bomb"):
        load_with_marks(path)
    print(f"load_with_marks refused it in {time.perf_counter() - t0:.3f} s")
