"""Protocol 1 as one definition: the real agent's results and the host's jobs follow it, and what
a lying runner sends is refused with the field named."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.agent import agent
from harness.builds.text_lm import build_text_lm
from harness.builds.translation import build_translation
from harness.config.models import Backend, Measure, Threads
from harness.protocol import Job, ProbeFacts, ProtocolError, Result, parse_result
from harness.protocol.schemas import rendered
from harness.session.jobs import build_job
from tests.agent.test_agent_kinds import LM, MT
from tests.helpers import tiny_mlp

FAST = {"warmup": 1, "warmup_s": 0.0, "min_iterations": 3, "min_seconds": 0.0, "max_seconds": 2.0}


def _job(tmp_path: Path, kind: str, models: dict[str, str], arrays: dict[str, Any], params: dict[str, Any]) -> Job:
    np.savez(tmp_path / "inputs.npz", **arrays)
    return build_job(
        kind=kind, models=models, inputs=str(tmp_path / "inputs.npz"), params=params,
        backend=Backend(name="cpu", provider="CPUExecutionProvider"), threads=Threads(intra_op=1, inter_op=1),
        measure=Measure(**FAST), out_dir=str(tmp_path / "out"),
        probes=[{"name": "uptime", "kind": "file", "path": "/proc/uptime", "interval_s": 0.05}],
        snapshots={"loadavg": "/proc/loadavg", "absent": "/nonexistent/file"},
    )


def _run(job: dict[str, Any]) -> Result:
    result = agent.run_job(job)
    # what crosses the wire is JSON text (the agent writes it with json.dump)
    return parse_result(json.dumps(result), Job.model_validate(job))


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], Result]]:
    """One real agent result per job kind (and one failed job), small models, real ORT."""
    out = {}
    tmp = tmp_path_factory.mktemp("single")
    job = _job(tmp, "single", {"model": str(tiny_mlp(tmp / "m.onnx"))},
               {"b1/x": np.ones((1, 64), np.float32), "b4/x": np.ones((4, 64), np.float32)}, {})
    out["single"] = (job, _run(job))
    tmp = tmp_path_factory.mktemp("lm")
    (tmp / "lm.onnx").write_bytes(build_text_lm(LM, seed=2).SerializeToString())
    job = _job(tmp, "text-generation", {"model": str(tmp / "lm.onnx")},
               {"p4/input_ids": np.arange(2, 6).reshape(1, 4)}, {"grid": [{"label": "p4g3", "prompt": "p4", "generate": 3}]})
    out["text-generation"] = (job, _run(job))
    tmp = tmp_path_factory.mktemp("mt")
    models = {}
    for role, m in build_translation(MT, seed=4).items():
        models[role] = str(tmp / f"{role}.onnx")
        Path(models[role]).write_bytes(m.SerializeToString())
    job = _job(tmp, "translation", models, {"s3/input_ids": np.arange(2, 5).reshape(1, 3)}, {"max_new_tokens": 3})
    out["translation"] = (job, _run(job))
    tmp = tmp_path_factory.mktemp("failed")
    job = _job(tmp, "single", {"model": str(tmp / "missing.onnx")}, {"/x": np.ones((1, 64), np.float32)}, {})
    out["failed"] = (job, _run(job))
    return out


@pytest.mark.parametrize("kind", ["single", "text-generation", "translation"])
def test_the_agents_results_follow_the_protocol(kinds: dict[str, tuple[dict[str, Any], Result]], kind: str) -> None:
    job, result = kinds[kind]
    assert result.status == "ok", result.traceback
    assert result.series and result.memory and result.memory.peak_rss_mb > 0
    # the CPU EP alone: every node on it, nothing profiled (placement itself: tests/agent)
    assert result.providers and result.providers.placement_method == "single provider"
    assert result.outputs == "outputs.npz"
    assert len(result.probes["uptime"].v) >= 1 and result.snapshots.before["absent"] is None
    assert set(job) == set(Job.model_fields)  # build_job writes every field of the definition


def test_a_failed_job_follows_the_protocol_too(kinds: dict[str, tuple[dict[str, Any], Result]]) -> None:
    result = kinds["failed"][1]
    assert result.status == "failed" and "missing.onnx" in (result.error or "") and result.memory is None


def test_the_probe_line_follows_the_protocol(capsys: pytest.CaptureFixture[str]) -> None:
    assert agent.main(["--probe"]) == 0
    facts = ProbeFacts.model_validate_json(capsys.readouterr().out)
    assert facts.onnxruntime and "CPUExecutionProvider" in facts.providers


def test_the_schema_files_are_current() -> None:
    stale = [path.name for path, text in rendered().items() if not path.exists() or path.read_text() != text]
    assert not stale, f"{stale} are stale: run python -m harness.protocol"


def _ok(kinds: dict[str, tuple[dict[str, Any], Result]]) -> dict[str, Any]:
    return json.loads(kinds["single"][1].model_dump_json())


LIES = {
    "nan sample": (lambda r: r["series"]["latency_ms@b1"]["samples"].__setitem__(0, math.nan), "series.latency_ms@b1.samples.0"),
    "negative sample": (lambda r: r["series"]["latency_ms@b1"]["samples"].__setitem__(1, -6.4), "series.latency_ms@b1.samples.1"),
    "zero sample": (lambda r: r["series"]["latency_ms@b1"]["samples"].__setitem__(0, 0.0), "series.latency_ms@b1.samples.0"),
    "string sample": (lambda r: r["series"]["latency_ms@b1"]["samples"].__setitem__(0, "fast"), "series.latency_ms@b1.samples.0"),
    "outputs elsewhere": (lambda r: r.__setitem__("outputs", "/dev/zero"), "outputs"),
    "outputs upward": (lambda r: r.__setitem__("outputs", ".."), "outputs"),
    "negative memory": (lambda r: r["memory"].__setitem__("peak_rss_mb", -1), "memory.peak_rss_mb"),
    "ok without series": (lambda r: r.__setitem__("series", {}), "(top level)"),
    "unknown status": (lambda r: r.__setitem__("status", "great"), "status"),
    "unknown field": (lambda r: r.__setitem__("bonus", 1), "bonus"),
    "unpaired probe": (lambda r: r["probes"]["uptime"]["t"].append(1.0), "probes.uptime"),
    "window backwards": (lambda r: r["windows"].__setitem__("x", [2.0, 1.0]), "windows"),
    "fraction above one": (lambda r: r["providers"].__setitem__("requested_fraction", 3), "providers.requested_fraction"),
    "negative hold": (lambda r: r.__setitem__("held_s", -0.1), "held_s"),
    "held longer than measured": (lambda r: r.__setitem__("held_s", r["measure_s"] + 1), "(top level)"),
    "absurd latency": (lambda r: r["series"]["latency_ms@b1"]["samples"].__setitem__(0, 1e308), "series.latency_ms@b1.samples.0"),
    "absurd load time": (lambda r: r["load_ms"].__setitem__("model", 1e300), "load_ms.model"),
    "absurd memory": (lambda r: r["memory"].__setitem__("peak_rss_mb", 1e20), "memory.peak_rss_mb"),
    "absurd node count": (lambda r: r["providers"]["placement"].__setitem__("X", {"nodes": 10**30, "time_us": 1}),
                          "providers.placement.X.nodes"),
    "window at the end of time": (lambda r: r["windows"].__setitem__("x", [0.0, 1e300]), "windows.x.1"),
    "a series named like the host's rel_l2": (lambda r: r["series"].__setitem__("rel_l2", r["series"]["latency_ms@b1"]),
                                             "series"),
    "a series named like a host metric of a tensor": (
        lambda r: r["series"].__setitem__("xplat_max_abs:logits", r["series"]["latency_ms@b1"]), "series"),
}


@pytest.mark.parametrize("lie", sorted(LIES))
def test_a_lying_result_is_refused_naming_the_field(kinds: dict[str, tuple[dict[str, Any], Result]], lie: str) -> None:
    data = _ok(kinds)
    mutate, where = LIES[lie]
    mutate(data)
    with pytest.raises(ProtocolError) as exc:
        parse_result(json.dumps(data))
    assert exc.value.where == where and where in str(exc.value)


@pytest.mark.parametrize("text", ["", "{", "<html>", "[]", "null", '"ok"', '{"protocol": 2}', b"\xff\xfe"])
def test_what_is_not_a_result_object_is_refused(text: str | bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_result(text)


def test_outputs_nobody_asked_for_are_refused(kinds: dict[str, tuple[dict[str, Any], Result]]) -> None:
    job = Job.model_validate({**kinds["single"][0], "save_outputs": False})
    with pytest.raises(ProtocolError, match="outputs"):
        parse_result(json.dumps(_ok(kinds)), job)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(sorted(Result.model_fields) + ["x"]), json_values, max_size=8))
def test_any_json_object_is_a_result_or_a_protocol_error(data: dict[str, Any]) -> None:
    data = {"protocol": 1, **data}
    try:
        parse_result(json.dumps(data))
    except ProtocolError as exc:
        assert str(exc).startswith("result.json")
