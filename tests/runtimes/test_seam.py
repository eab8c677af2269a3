"""The runtime seam: config, registry house rule, plan axis, job block, identity."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from harness.config.models import Backend, DeviceProfile, NativeRunner, Threads, Workload
from harness.plan import Filters, conversions_needed, make_plan
from harness.results.identity import config_identity
from harness.runtimes.registry import ONNXRUNTIME, RUNTIMES, get_runtime, runtime_names
from harness.session.identity import cell_identity
from harness.session.jobs import build_job

HARNESS = Path(__file__).resolve().parents[2] / "harness"
AGENT = HARNESS / "agent" / "agent.py"


def _agent_dict_keys(name: str) -> set[str]:
    tree = ast.parse(AGENT.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            assert isinstance(node.value, ast.Dict)
            return {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    raise AssertionError(f"agent.py has no {name}")


def test_every_registered_runtime_has_an_agent_adapter_and_a_probe_entry() -> None:
    others = {n for n in runtime_names() if n != ONNXRUNTIME and get_runtime(n).agent_adapter}
    assert _agent_dict_keys("RUNTIME_ADAPTERS") == others
    assert _agent_dict_keys("RUNTIME_DISTS") == set(runtime_names())


def _code_words(path: Path) -> set[str]:
    """Names and string literals of a module, its comments and docstrings left out."""
    words: set[str] = set()
    doc_lines: set[int] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                doc_lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if tok.type in (tokenize.NAME, tokenize.STRING) and tok.start[0] not in doc_lines:
            words.add(tok.string.lower())
    return words


def test_adding_a_runtime_touches_its_module_its_adapter_and_the_registry_only() -> None:
    """No other module names a runtime other than ONNX Runtime in its code (comments aside)."""
    others = [n for n in runtime_names() if n != ONNXRUNTIME]
    # a module's file is the runtime's name as a Python identifier (onnxruntime-genai: onnxruntime_genai.py,
    # llama.cpp: llamacpp.py)
    allowed = ({HARNESS / "runtimes" / f"{n.replace('-', '_').replace('.', '')}.py" for n in others}
               | {HARNESS / m for n in others for m in get_runtime(n).own_modules}
               | {HARNESS / "runtimes" / "registry.py", AGENT})
    offenders = {}
    for path in HARNESS.rglob("*.py"):
        if path in allowed:
            continue
        # an ONNX Runtime execution provider's name (e.g. "NnapiExecutionProvider") is ONNX Runtime's, not the runtime's
        words = {w.strip("\"'") for w in _code_words(path)} - {""}
        hits = [n for n in others for w in words if n in w and not w.endswith("executionprovider")]
        if hits:
            offenders[str(path.relative_to(HARNESS))] = sorted(set(hits))
    assert offenders == {}


@pytest.mark.parametrize("name", [n for n in RUNTIMES])
def test_each_runtime_gives_every_precision_a_meaning_or_a_reason(name: str) -> None:
    rt = get_runtime(name)
    for precision in ("fp32", "fp16", "int8", "int8-static", "int4"):
        why = rt.cannot_make(precision)
        if why is None:
            assert rt.precisions[precision].strip()
        else:
            assert name in why and precision in why


@pytest.mark.parametrize("data, error", [
    ({"name": "x", "runtime": "tensorrtx"}, "unknown runtime 'tensorrtx'; known: onnxruntime"),
    ({"name": "x"}, "an onnxruntime backend needs provider:"),
    ({"name": "x", "runtime": "ncnn", "provider": "CPUExecutionProvider"}, "runtime ncnn takes none"),
    ({"name": "x", "runtime": "ncnn", "options": {"threads": 2}}, "runtime ncnn takes options"),
])
def test_a_backend_names_what_is_wrong_with_its_runtime(data: dict, error: str) -> None:
    with pytest.raises(ValidationError, match=error.replace("(", r"\(")):
        Backend.model_validate(data)


@given(name=st.sampled_from([n for n in RUNTIMES if n != ONNXRUNTIME]), key=st.text(min_size=1, max_size=12))
def test_a_runtime_takes_exactly_its_own_options(name: str, key: str) -> None:
    known = set(get_runtime(name).option_names())
    try:
        Backend.model_validate({"name": "b", "runtime": name, "options": {key: 1}})
        assert key in known
    except ValidationError as exc:
        assert key not in known and repr(key) in str(exc)


def test_existing_profiles_keep_their_meaning() -> None:
    be = Backend.model_validate({"name": "cpu", "provider": "CPUExecutionProvider"})
    assert be.runtime == ONNXRUNTIME


def _profile(runner: dict | None = None) -> DeviceProfile:
    data = {"name": "dev", "backends": [{"name": "ort", "provider": "CPUExecutionProvider"},
                                        {"name": "nc", "runtime": "ncnn"}, {"name": "ov", "runtime": "openvino"}]}
    if runner:
        data["runner"] = runner
    return DeviceProfile.model_validate(data)


WL = Workload.model_validate({"name": "img", "kind": "image-classification", "model": {"builtin": "image-resnet"},
                              "precisions": ["fp32", "fp16", "int8"]})
LM = Workload.model_validate({"name": "lm", "kind": "text-generation", "model": {"builtin": "text-lm"},
                              "precisions": ["fp32"]})


def test_the_plan_has_a_runtime_axis_with_skip_reasons() -> None:
    cells = {c.key: c for c in make_plan([_profile()], [WL, LM])}
    assert cells["dev/img/int8/nc"].status == "skipped"
    assert cells["dev/img/int8/nc"].reason.startswith("ncnn cannot make int8: ")
    assert cells["dev/img/fp16/ov"].status == "planned" and cells["dev/img/fp16/ov"].runtime == "openvino"
    assert cells["dev/lm/fp32/nc"].status == "skipped" and "not text-generation" in cells["dev/lm/fp32/nc"].reason
    assert cells["dev/lm/fp32/ort"].status == "planned"
    assert conversions_needed(list(cells.values())) == [("img", "ncnn", "fp16"), ("img", "ncnn", "fp32"),
                                                        ("img", "openvino", "fp16"), ("img", "openvino", "fp32")]


def test_the_runtime_filter_selects_backends_by_runtime() -> None:
    cells = make_plan([_profile()], [WL], Filters(runtime=("n*",)))
    assert {c.backend for c in cells} == {"nc"}


def test_a_native_runner_skips_runtimes_it_has_no_kind_for() -> None:
    prof = _profile({"kind": "native", "binary": "/opt/runner"})
    prof = prof.model_copy(update={"backends": [*prof.backends, Backend.model_validate({"name": "mn",
                                                                                         "runtime": "mnn"})]})
    assert isinstance(prof.runner, NativeRunner)
    cells = {c.key: c for c in make_plan([prof], [WL])}
    assert cells["dev/img/fp32/mn"].status == "skipped" and "Python agent" in cells["dev/img/fp32/mn"].reason
    # ncnn and OpenVINO have native kinds: planned, and the runner's --probe decides at run time
    assert {cells[f"dev/img/fp32/{b}"].status for b in ("ort", "nc", "ov")} == {"planned"}


def test_an_ort_job_is_unchanged_and_a_runtime_job_carries_its_block() -> None:
    common = dict(kind="single", models={"model": "/m"}, inputs="/i.npz", params={}, threads=Threads(intra_op=1),
                  measure={}, out_dir="/o")
    ort = build_job(backend=Backend(name="c", provider="CPUExecutionProvider"), **common)
    assert ort["runtime"] is None and ort["provider"] == "CPUExecutionProvider"
    nc = build_job(backend=Backend(name="n", runtime="ncnn", options={"num_threads": 2}),
                   runtime={"settings": {"use_fp16_storage": False},
                            "io": {"inputs": [{"onnx": "x", "artifact": "in0"}], "outputs": []}}, **common)
    assert nc["runtime"]["name"] == "ncnn" and nc["runtime"]["options"] == {"num_threads": 2}
    assert nc["runtime"]["io"]["inputs"][0]["artifact"] == "in0" and nc["provider_options"] == {}


def test_a_runtime_or_its_version_changing_makes_cells_incomparable() -> None:
    prof = _profile()
    ort_ident = cell_identity(prof, prof.backends[0], {"runtimes": {"onnxruntime": "1.32.0"}})
    assert set(ort_ident) == {"session", "provider", "provider_options", "runner"}  # as stored before runtimes
    a = cell_identity(prof, prof.backends[1], {"runtimes": {"ncnn": "1.0.20261020"}})
    b = cell_identity(prof, prof.backends[1], {"runtimes": {"ncnn": "1.0.20250101"}})
    c = cell_identity(prof, prof.backends[2], {"runtimes": {"openvino": "2026.4.1"}})
    ids = {config_identity({"identity": i}) for i in (ort_ident, a, b, c)}
    assert len(ids) == 4
    assert "runtime_version=\"1.0.20261020\"" in (config_identity({"identity": a}) or "")


def test_the_probe_line_lists_the_runtimes_and_versions_installed() -> None:
    import json
    import subprocess
    import sys
    from importlib.metadata import version

    from harness.protocol import ProbeFacts

    proc = subprocess.run([sys.executable, str(AGENT), "--probe"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    facts = ProbeFacts.model_validate(json.loads(proc.stdout.strip().splitlines()[-1]))
    for name, dist in (("onnxruntime", "onnxruntime"), ("ncnn", "ncnn"), ("mnn", "MNN"), ("openvino", "openvino")):
        assert facts.runtimes[name] == version(dist)


def test_a_device_without_the_runtime_skips_its_cells_saying_what_it_has() -> None:
    from harness.session.runtime_cells import runtime_missing

    prof = _profile()
    why = runtime_missing(prof, {"runtimes": {"onnxruntime": "1.32.0", "ncnn": "1.0"}}, "openvino")
    assert why is not None and "no openvino" in why and "lists runtimes: ncnn 1.0, onnxruntime 1.32.0" in why
    assert runtime_missing(prof, {"runtimes": {"openvino": "2026.4.1"}}, "openvino") is None
    assert runtime_missing(prof, {}, "openvino") is None  # a runner that does not list runtimes: try, fail clearly
