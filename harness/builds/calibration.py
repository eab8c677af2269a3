"""Calibration feeds for int8-static, captured from fp32 runs of the very code the agent runs.

Generation models are calibrated on prefill AND decode feeds: the agent's own greedy loops
(``lm_generate``, ``translate``) run over recording sessions that keep every feed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

from harness.agent import agent as agent_mod


class RecordingSession:
    """An InferenceSession stand-in that keeps a copy of every feed passed to ``run``."""

    def __init__(self, model: onnx.ModelProto) -> None:
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1  # calibration feeds must not depend on thread scheduling
        so.log_severity_level = 3
        self._sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        self.feeds: list[dict[str, np.ndarray]] = []

    def get_inputs(self):
        return self._sess.get_inputs()

    def get_outputs(self):
        return self._sess.get_outputs()

    def run(self, names, feeds):
        self.feeds.append({k: np.array(v) for k, v in feeds.items()})
        return self._sess.run(names, feeds)


def _timer() -> Any:
    return agent_mod._Timer(0.0)


def single_feeds(
    model: onnx.ModelProto, arrays: Mapping[str, np.ndarray], feedback: Mapping[str, str] | None = None,
    steps: int = 1,
) -> list[dict[str, np.ndarray]]:
    """One feed dict per label of a job-inputs npz layout ("<label>/<input>").

    With ``feedback`` ({input: output}, a streaming model's state), ``steps`` steps per label
    are recorded, each fed the previous step's outputs, as the runner feeds them.
    """
    sets: dict[str, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        label, _, name = key.rpartition("/")
        sets.setdefault(label, {})[name] = value
    if not feedback or steps <= 1:
        return [sets[k] for k in sorted(sets)]
    rec = RecordingSession(model)
    names = [o.name for o in rec.get_outputs()]
    for label in sorted(sets):
        feeds = dict(sets[label])
        for _ in range(steps):
            outs = dict(zip(names, rec.run(None, feeds)))
            feeds = {**feeds, **{inp: outs[out] for inp, out in feedback.items()}}
    return rec.feeds


def lm_feeds(model: onnx.ModelProto, arrays: Mapping[str, np.ndarray], n_tokens: int) -> list[dict[str, np.ndarray]]:
    rec = RecordingSession(model)
    for key in sorted(arrays):
        if key.endswith("/input_ids"):
            agent_mod.lm_generate(np, rec, arrays[key], n_tokens, _timer())
    return rec.feeds


def translation_feeds(
    models: Mapping[str, onnx.ModelProto], arrays: Mapping[str, np.ndarray], n_tokens: int, start_id: int
) -> dict[str, list[dict[str, np.ndarray]]]:
    recs = {role: RecordingSession(m) for role, m in models.items()}
    for key in sorted(arrays):
        if key.endswith("/input_ids"):
            label = key[: -len("/input_ids")]
            mask = arrays.get(label + "/attention_mask", np.ones(arrays[key].shape, np.int64))
            agent_mod.translate(np, recs, arrays[key], mask, n_tokens, start_id, _timer())
    return {role: rec.feeds for role, rec in recs.items()}
