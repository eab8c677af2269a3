"""Small real models of the three job kinds, their jobs, and running a runner on a job as a device does."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.builds.runner import RunnerBuild
from harness.builds.text_lm import LMConfig, build_text_lm
from harness.builds.translation import MarianConfig, build_translation
from harness.plan import Filters
from harness.protocol import JOB_FROM_STDIN
from harness.results.store import Store
from harness.session.jobs import agent_source
from harness.session.launch import RunRequest, execute, prepare_run
from tests.helpers import tiny_mlp

FAST = {"warmup": 1, "warmup_s": 0.0, "min_iterations": 3, "min_seconds": 0.0, "max_seconds": 5.0}
LM = LMConfig(vocab=300, hidden=64, layers=2, heads=4, kv_heads=2, ffn=96)
MT = MarianConfig(vocab=200, dim=32, heads=2, ffn=64, encoder_layers=1, decoder_layers=2)
KINDS = ("single", "text-generation", "translation")


def agent_argv() -> list[str]:
    return [sys.executable, str(agent_source())]


def launcher(build: RunnerBuild) -> list[str]:
    """How a device starts the bundle's runner: its run.sh."""
    return ["sh", str(build.path / "run.sh")]


def rel_l2(ref: np.ndarray, got: np.ndarray) -> float:
    ref64 = ref.astype(np.float64)
    return float(np.linalg.norm(ref64 - got) / np.linalg.norm(ref64))


@dataclass
class KindCase:
    kind: str
    models: dict[str, str]
    inputs: str
    params: dict[str, Any]


def make_cases(folder: Path) -> dict[str, KindCase]:
    """One small model (set) per kind, with inputs of two series where the kind allows."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    tiny_mlp(folder / "mlp.onnx")
    (folder / "lm.onnx").write_bytes(build_text_lm(LM, seed=2).SerializeToString())
    for role, model in build_translation(MT, seed=1).items():
        (folder / f"{role}.onnx").write_bytes(model.SerializeToString())
    arrays = {
        "single": {"b1/x": rng.standard_normal((1, 64)).astype(np.float32),
                   "b4/x": rng.standard_normal((4, 64)).astype(np.float32)},
        "text-generation": {"p8/input_ids": rng.integers(2, LM.vocab, (1, 8)),
                            "p4/input_ids": rng.integers(2, LM.vocab, (1, 4))},
        "translation": {"s6/input_ids": rng.integers(2, MT.vocab, (1, 6)),
                        "s6/attention_mask": np.ones((1, 6), np.int64)},
    }
    for kind, data in arrays.items():
        np.savez(folder / f"{kind}.npz", **data)
    grid = [{"label": "p8g5", "prompt": "p8", "generate": 5}, {"label": "p4g3", "prompt": "p4", "generate": 3}]
    return {
        "single": KindCase("single", {"model": str(folder / "mlp.onnx")}, str(folder / "single.npz"), {}),
        "text-generation": KindCase("text-generation", {"model": str(folder / "lm.onnx")},
                                    str(folder / "text-generation.npz"), {"grid": grid}),
        "translation": KindCase("translation", {r: str(folder / f"{r}.onnx") for r in
                                                ("encoder", "decoder", "decoder_with_past")},
                                str(folder / "translation.npz"), {"max_new_tokens": 5}),
    }


def make_job(case: KindCase, out_dir: Path, **extra: Any) -> dict[str, Any]:
    job = {
        "protocol": 1,
        "kind": case.kind,
        "models": case.models,
        "inputs": case.inputs,
        "params": case.params,
        "session": {"intra_op_num_threads": 1, "inter_op_num_threads": 1, "graph_optimization_level": "all",
                    "allow_spinning": None},
        "measure": FAST,
        "out_dir": str(out_dir),
    }
    job.update(extra)
    return job


@dataclass
class Ran:
    rc: int
    result: dict[str, Any] | None
    outputs: dict[str, np.ndarray]
    stderr: str


def write_job(job: dict[str, Any]) -> Path:
    """job.json in the job's out_dir, as the host leaves it on a device; returns its path."""
    out = Path(job["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "job.json").write_text(json.dumps(job))
    return out / "job.json"


def run(argv: list[str], job: dict[str, Any], timeout: float = 300, *, from_stdin: bool = False) -> Ran:
    """Write job.json into its out_dir, run ``argv + [job.json]`` (or ``argv + [JOB_FROM_STDIN]`` with
    the job's path on stdin), read result.json and outputs.npz."""
    path = write_job(job)
    out = path.parent
    given = [JOB_FROM_STDIN] if from_stdin else [str(path)]
    proc = subprocess.run([*argv, *given], input=f"{path}\n" if from_stdin else None,
                          capture_output=True, text=True, timeout=timeout)
    result = json.loads((out / "result.json").read_text()) if (out / "result.json").is_file() else None
    outputs: dict[str, np.ndarray] = {}
    if result and result.get("outputs"):
        with np.load(out / result["outputs"], allow_pickle=False) as z:
            outputs = {k: z[k] for k in z.files}
    return Ran(proc.returncode, result, outputs, proc.stderr)


def run_one_ok_cell(tmp_path: Path, devices: Path, workloads: Path) -> tuple[Store, str, pd.DataFrame]:
    """``harness run`` in process over one device and workload folder, into tmp_path/s.db: the store, the
    run id and its cells, asserting the run's one cell is ok (the failure shows the cells' errors)."""
    store = Store(tmp_path / "s.db")
    req = RunRequest(filters=Filters(), devices_dir=devices, workloads_dir=workloads, builds_root=tmp_path / "builds")
    prep = prepare_run(req, store)
    outcome = execute(prep)
    cells = store.cells_frame([prep.run_id])
    assert dict(outcome.statuses) == {"ok": 1}, cells["error"].tolist()
    return store, prep.run_id, cells
