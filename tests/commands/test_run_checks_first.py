"""`harness run` refuses bad input before it builds or stores anything: a workload whose inputs are not its
model's (the check `harness validate` makes), and precision / backend names nothing has."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.config.models import PRECISIONS
from harness.plan import Filters, unknown_names
from harness.results.store import Store
from tests.analysis.synthetic import record_run
from tests.commands.test_compare import harness

BAD = """\
name: tiny-bad
kind: generic
model:
  path: tiny.onnx
inputs:
  - name: input_ids
    shape: [batch, 64]
    dtype: float32
batch_sizes: [1]
precisions: [fp32, fp16]
"""


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store.db"))
    monkeypatch.setenv("HARNESS_BUILDS", str(tmp_path / "builds"))
    monkeypatch.setenv("HARNESS_LOCAL_WORKDIR", str(tmp_path / "device"))
    s = Store(tmp_path / "store.db")
    record_run(s, "earlier")  # what `latest` was before
    yield s
    s.close()


def _runs(store: Store) -> list[str]:
    return [r["run_id"] for r in store.list_runs()]


def test_bad_workload_is_exit_2_with_its_message_once_and_no_run(store, tiny_workloads, tmp_path, monkeypatch,
                                                                   capsys) -> None:
    bad = tiny_workloads / "bad.yaml"
    bad.write_text(BAD)
    assert harness(monkeypatch, "validate", bad) == 1  # what validate says …
    said = "".join(capsys.readouterr())
    assert "bad.yaml:6:11" in said and "'input_ids' is not an input of tiny.onnx" in said
    assert harness(monkeypatch, "run", "-w", bad, "-d", "local", "--no-report") == 2  # … run says first
    err = capsys.readouterr().err
    assert err.count("'input_ids' is not an input of tiny.onnx: its inputs are ['x']") == 1
    assert "bad.yaml:6:11" in err
    assert _runs(store) == ["earlier"] and not (tmp_path / "builds").exists()  # nothing built, nothing stored
    (tiny_workloads / "junk.onnx").write_bytes(b"\x08\x07 this is not a protobuf [/]" * 10)
    bad.write_text(BAD.replace("tiny.onnx", "junk.onnx").replace("input_ids", "x"))
    assert harness(monkeypatch, "run", "-w", bad, "-d", "local", "--no-report") == 2
    assert "bad.yaml:4:9" in (err := capsys.readouterr().err) and "junk.onnx: not a loadable ONNX model" in err
    assert _runs(store) == ["earlier"]


def test_unknown_precision_and_backend_are_named_with_the_known_ones(store, tiny_workloads, tmp_path, monkeypatch,
                                                                      capsys) -> None:
    wl = ["-w", "tiny-mlp", "--workloads-dir", str(tiny_workloads), "-d", "local", "--no-report"]
    assert harness(monkeypatch, "run", *wl, "-p", "fp8") == 2
    assert "fp8 is not a precision (known: fp32, fp16, int8, int8-static, int4, F32, F16" in capsys.readouterr().err
    assert harness(monkeypatch, "run", *wl, "-p", "int4") == 2  # a precision, but tiny-mlp does not list it
    assert "-p int4: no chosen workload (tiny-mlp) lists it (they list: fp32, fp16, int8)" in capsys.readouterr().err
    assert harness(monkeypatch, "run", *wl, "-b", "gpu") == 2
    assert "gpu is not a backend of the chosen device(s) local (known: cpu)" in capsys.readouterr().err
    assert harness(monkeypatch, "run", *wl[:4], "-d", "phone*", "--no-report") == 2
    assert "no device matches ['phone*']; known: " in capsys.readouterr().err
    assert _runs(store) == ["earlier"]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12))
def test_a_precision_pattern_is_accepted_iff_it_matches_a_known_precision(pattern: str) -> None:
    from fnmatch import fnmatchcase

    problems = unknown_names(Filters(precision=(pattern,)), [], [_Workload()])  # type: ignore[list-item]
    known = any(fnmatchcase(p, pattern) for p in PRECISIONS)
    assert (not problems) == known
    if not known:
        assert problems == [f"-p {pattern}: {pattern} is not a precision (known: {', '.join(PRECISIONS)})"]


class _Workload:
    name = "w"
    precisions = list(PRECISIONS)
