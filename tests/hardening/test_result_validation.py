"""Device results under generated lies: a real agent result mutated at random places, and random
outputs archives. Every one is accepted or refused with a ProtocolError naming where; nothing
else escapes (no KeyError, no MemoryError, no numpy pickle)."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from harness.agent import agent
from harness.config.models import Backend, Measure, Threads
from harness.protocol import Job, ProtocolError, parse_result
from harness.protocol.limits import MAX_OUTPUT_BYTES, max_samples
from harness.session.intake import load_outputs
from harness.session.jobs import build_job
from tests.helpers import tiny_mlp

MEASURE = {"warmup": 1, "warmup_s": 0.0, "min_iterations": 3, "min_seconds": 0.0, "max_seconds": 2.0,
           "max_iterations": 40}


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> tuple[Job, dict[str, Any], dict[str, np.ndarray]]:
    """A real agent result for a tiny model (job, result JSON, outputs)."""
    tmp = tmp_path_factory.mktemp("real")
    np.savez(tmp / "inputs.npz", **{"b1/x": np.ones((1, 64), np.float32)})
    job = build_job(kind="single", models={"model": str(tiny_mlp(tmp / "m.onnx"))}, inputs=str(tmp / "inputs.npz"),
                    params={}, backend=Backend(name="cpu", provider="CPUExecutionProvider"),
                    threads=Threads(intra_op=1, inter_op=1), measure=Measure(**MEASURE), out_dir=str(tmp / "out"))
    result = json.loads(json.dumps(agent.run_job(job)))
    assert result["status"] == "ok"
    with np.load(tmp / "out" / result["outputs"]) as z:
        outputs = {k: z[k] for k in z.files}
    return Job.model_validate(job), result, outputs


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            out += _paths(v, (*prefix, i))
    return out


lies = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
    | st.sampled_from(["/dev/zero", "..", "[/]", "<script>x</script>", "ok", "failed", "max_seconds"]),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3), max_leaves=8)


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_result_mutated_anywhere_is_valid_or_names_the_field(real, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    job, result, _ = real
    doc = copy.deepcopy(result)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(doc) or [("status",)]))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = data.draw(lies)
    try:
        parse_result(json.dumps(doc), job)
    except ProtocolError as exc:
        assert str(exc).startswith("result.json") and exc.where, str(exc)


def test_more_samples_than_the_stopping_rule_allows_are_refused(real) -> None:  # type: ignore[no-untyped-def]
    job, result, _ = real
    doc = copy.deepcopy(result)
    name = next(iter(doc["series"]))
    assert max_samples(job) == MEASURE["max_iterations"]
    doc["series"][name]["samples"] = [1.0] * (MEASURE["max_iterations"] + 1)
    with pytest.raises(ProtocolError) as exc:
        parse_result(json.dumps(doc), job)
    assert exc.value.where == f"series.{name}.samples" and "stopping rule" in str(exc.value)
    doc["series"][name]["samples"] = [1.0] * MEASURE["max_iterations"]
    assert parse_result(json.dumps(doc), job).series[name].samples  # exactly the limit is fine


def test_generation_jobs_allow_a_sample_per_token() -> None:
    job = Job.model_validate({"kind": "text-generation", "models": {"model": "/m"}, "inputs": None, "out_dir": "/o",
                              "measure": {"max_iterations": 10},
                              "params": {"grid": [{"label": "a", "prompt": "p", "generate": 8},
                                                  {"label": "b", "prompt": "p", "generate": 16}]}})
    assert max_samples(job) == 10 * 16 * 2


def _npz(arrays: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_outputs_archive_is_read_or_refused(real, tmp_path_factory, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    _, _, reference = real
    key = next(iter(reference))
    kind = data.draw(st.sampled_from(["arrays", "bytes", "object"]))
    if kind == "bytes":
        raw = data.draw(st.binary(max_size=2000))
    elif kind == "object":
        raw = _npz({key: np.array([{"a": 1}], dtype=object)})
    else:
        names = data.draw(st.lists(st.sampled_from([key, "other", "b1/x", "../up"]), min_size=0, max_size=3,
                                   unique=True))
        arrays = {n: data.draw(hnp.arrays(dtype=hnp.scalar_dtypes(), shape=hnp.array_shapes(max_dims=3, max_side=12)))
                  for n in names}
        raw = _npz(arrays)
    path = tmp_path_factory.mktemp("o") / "outputs.npz"
    path.write_bytes(raw)
    try:
        out = load_outputs(path, reference)
    except ProtocolError as exc:
        assert exc.where.startswith("outputs"), str(exc)
        return
    for k, arr in out.items():
        assert k in reference and arr.shape == reference[k].shape and arr.dtype.kind in "biuf"


def test_an_outputs_member_declaring_gigabytes_is_refused_before_reading(real, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, reference = real
    key = next(iter(reference))
    path = tmp_path / "bomb.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (MAX_OUTPUT_BYTES // 4 + 1024,)})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z, \
            z.open(f"{key}.npy", "w", force_zip64=True) as f:  # 256 MB of zeros deflate to ~250 KB
        f.write(header.getvalue())
        chunk = b"\0" * (1 << 20)
        for _ in range(MAX_OUTPUT_BYTES // len(chunk) + 1):
            f.write(chunk)
    assert path.stat().st_size < 2 << 20  # small on disk, huge once unpacked
    with pytest.raises(ProtocolError, match="unpacks to"):
        load_outputs(path, reference)
