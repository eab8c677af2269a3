"""The linux-aarch64 bundle's ORT job kind ``llm`` as a phone runs it: an llm workload's ONNX decoder
(built from a tiny llama GGUF with its own SentencePiece vocabulary, so the whole build path runs:
tokenizing the fixed text, the reference F16, the decoder, its quality) in a `harness run` cell
through the real adb server to the adbd rig under qemu user-mode (timings mean nothing there).

A short cell (pp 16, tg 4) is ok on aarch64, and its greedy tokens equal the x86_64 runner's on the
same job and the host's ONNX Runtime's own generation loop (harness.builds.onnx_llm_quality).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import yaml

from harness.builds.onnx_llm_quality import greedy_tokens
from harness.builds.runner import RunnerBuild
from harness.protocol import ProbeFacts
from harness.session.llm_cell import GREEDY_PROMPT
from tests.builds.llama_gguf import write_tiny_llama
from tests.rigs.adb_rig import AdbRig
from tests.rigs.fixtures import adb_profile_data
from tests.runner.jobs import run, run_one_ok_cell

pytestmark = [pytest.mark.slow, pytest.mark.rig]

SHORT = {"pp": [16], "tg": [4], "depths": [0], "greedy": 4, "threads": 1}
ONE_REP = {"warmup": 0, "warmup_s": 0.0, "min_iterations": 1, "min_seconds": 0.0, "max_seconds": 5.0}


def _config(tmp: Path, rig: AdbRig, bundle: Path) -> tuple[Path, Path]:
    devices, wl = tmp / "devices", tmp / "workloads"
    devices.mkdir()
    wl.mkdir()
    write_tiny_llama(wl / "tiny.gguf", seed=3, tokenizer=True)
    (wl / "llm-tiny-onnx.yaml").write_text(yaml.safe_dump({
        "name": "llm-tiny-onnx", "kind": "llm", "model": {"gguf": "tiny.gguf"}, "precisions": ["fp32"],
        "llm": SHORT, "measure": ONE_REP}))
    data = adb_profile_data(rig)
    data.update(name="rig-phone", runner={"kind": "native", "push": str(bundle)},
                backends=[{"name": "cpu", "provider": "CPUExecutionProvider"}], threads={"intra_op": 1})
    (devices / "phone.yaml").write_text(yaml.safe_dump(data))
    return devices, wl


def test_the_aarch64_ort_llm_kind_runs_a_cell_over_adb_with_x86_and_host_greedy_tokens(
        aarch64_runner: RunnerBuild, x86_runner: RunnerBuild, arm_adb_rig: AdbRig, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADBUTILS_ADB_PATH", arm_adb_rig.adb_bin)
    devices, wl = _config(tmp_path, arm_adb_rig, aarch64_runner.path)
    store, run_id, cells = run_one_ok_cell(tmp_path, devices, wl)
    result = json.loads(cells.iloc[0]["result_json"])
    assert ProbeFacts.model_validate(result["env"]).machine == "aarch64"
    assert result["runner"] == "native-ort" and result["session"]["kv_cache"] == "native"
    assert {"pp16@d0", "tg4@d0", "ttft16_ms"} <= set(result["series"])
    arm = result["llm"]["greedy_tokens"]
    assert isinstance(arm, list) and len(arm) == 4

    # the same job on x86_64's runner, and the host's ORT generation loop: the same greedy tokens
    built = tmp_path / "builds"
    model = next(built.glob("*/llm-tiny-onnx/fp32/model.onnx"))
    ids = np.load(next(built.glob("*/llm-tiny-onnx/quality-ids.npy"))).astype(np.int64)
    job = {"protocol": 1, "kind": "llm", "models": {"model": str(model)}, "inputs": None,
           "params": {**SHORT, "ids": ids.tolist(), "greedy_prompt": GREEDY_PROMPT}, "measure": ONE_REP,
           "out_dir": str(tmp_path / "x86"), "session": {"intra_op_num_threads": 1, "inter_op_num_threads": 1}}
    x86 = run(["sh", str(x86_runner.path / "run.sh")], job)
    assert x86.result and x86.result["status"] == "ok", x86.stderr[-2000:]
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    host = greedy_tokens(ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"]),
                         ids[:GREEDY_PROMPT], 4)
    assert arm == x86.outputs["greedy_tokens"].astype(int).tolist() == host.astype(int).tolist()
    assert len(set(arm)) > 1  # a real continuation, not one token repeated
