"""Build-time check of every variant: ORT (CPU EP) loads it and runs the workload's inputs once.

A variant that fails is kept in the manifest with its check failed (the error's essential
line, the full text and a fix): the plan skips its cells with that reason instead of every
device failing them at run time. A variant with the same ops and weights as fp32 (subgraphs
included) is marked unchanged: the quantizer did nothing (weights held as ``Constant`` nodes
inside ``If`` branches are left alone by ORT's quantizers, *measured*), so its numbers would
be fp32's under another name.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from harness.builds import calibration
from harness.builds.inputs import inputs_for_seed
from harness.builds.manifest import VariantCheck, WorkloadEntry
from harness.config.models import Workload
from harness.errors import essential_line

Feeds = dict[str, np.ndarray]
MAX_FEEDS = 8  # distinct input signatures run per role (prefill + decode, every batch size)
GENERATED_TOKENS = 2  # generation kinds: the first token (prefill) and one decode step


def workload_feeds(
    wl: Workload, wl_path: Path, models: Mapping[str, onnx.ModelProto], io: dict[str, Any]
) -> dict[str, list[Feeds]]:
    """role -> the feeds the runner will give that model, from the workload's own inputs.

    Generation kinds record them from fp32 runs of the agent's own loops (the variants keep
    fp32's I/O), so an exception here means fp32 itself does not run on these inputs.
    """
    ji = inputs_for_seed(wl, WorkloadEntry(kind=wl.kind, io=io, precisions={}), wl_path, wl.seed)
    if ji.kind == "text-generation":
        return {"model": calibration.lm_feeds(models["model"], ji.arrays, GENERATED_TOKENS)}
    if ji.kind == "translation":
        start = int(ji.params.get("decoder_start_token_id", 0))
        return calibration.translation_feeds(models, ji.arrays, GENERATED_TOKENS, start)
    return {"model": calibration.single_feeds(models["model"], ji.arrays)}


def _signature(feeds: Feeds) -> tuple[Any, ...]:
    return tuple(sorted((k, v.shape, str(v.dtype)) for k, v in feeds.items()))


def distinct(feeds: Sequence[Feeds], limit: int = MAX_FEEDS) -> list[Feeds]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for f in feeds:
        sig = _signature(f)
        if sig not in seen:
            seen.add(sig)
            out.append(f)
    return out[:limit]


def suggest_fix(precision: str, error: str) -> str:
    if "DequantizeLinear" in error and "axis" in error:
        return ("per-channel QDQ needs opset >= 13: convert the model's opset (onnx.version_converter) or "
                "quantize per-tensor")
    if "NOT_IMPLEMENTED" in error or "Could not find an implementation" in error:
        return (f"this onnxruntime has no CPU kernel for an op of the {precision} variant: use a newer onnxruntime, "
                f"drop {precision} from the workload's precisions, or supply it under model.prebuilt")
    if "Invalid Feed Input Name" in error or "Required inputs" in error or "invalid dimensions" in error \
            or "Unexpected input data type" in error:
        return "the workload's inputs do not fit the model: run `harness validate` on the workload file"
    if precision == "fp32":
        return "the model does not run on its inputs with onnxruntime's CPU EP: check the file and the workload's inputs"
    return f"drop {precision} from the workload's precisions, or supply a working file under model.prebuilt.{precision}"


def _session(path: Path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def failed(precision: str, exc: BaseException) -> VariantCheck:
    text = f"{type(exc).__name__}: {exc}"
    return VariantCheck(loaded=False, cause=essential_line(str(exc)) or type(exc).__name__, error=text,
                        fix=suggest_fix(precision, text), onnxruntime=ort.__version__)


def run_variant(precision: str, files: Mapping[str, Path], feeds: Mapping[str, Sequence[Feeds]]) -> VariantCheck:
    """Load each role's file on the CPU EP and run its distinct feeds once."""
    ran = 0
    try:
        for role, path in files.items():
            sess = _session(path)
            for f in distinct(feeds.get(role) or []):
                sess.run(None, f)
                ran += 1
    except Exception as exc:  # noqa: BLE001 - any failure of the variant is the finding
        return failed(precision, exc)
    return VariantCheck(loaded=True, feeds=ran, onnxruntime=ort.__version__)


# ---------------------------------------------------------------------------- unchanged variants
def _graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from _graphs(g)


def _tensor_digest(t: onnx.TensorProto) -> str:
    arr = numpy_helper.to_array(t)
    return hashlib.sha256(f"{arr.dtype}{arr.shape}".encode() + np.ascontiguousarray(arr).tobytes()).hexdigest()


def graph_signature(model: onnx.ModelProto) -> tuple[Counter[str], Counter[str]]:
    """(ops, weights) over the graph and every subgraph: op types (Constant counts as a weight,
    not an op), and a digest per weight (initializers some node reads, Constant values). Names
    and node order are left out: a quantizer that renames or reorders changes nothing."""
    graphs = list(_graphs(model.graph))
    read = {name for g in graphs for n in g.node for name in n.input}
    ops: Counter[str] = Counter()
    weights: Counter[str] = Counter()
    for g in graphs:
        weights.update(_tensor_digest(t) for t in g.initializer if t.name in read)
        for n in g.node:
            if n.op_type != "Constant":
                ops[f"{n.domain or 'ai.onnx'}::{n.op_type}"] += 1
                continue
            for attr in n.attribute:
                if attr.type == onnx.AttributeProto.TENSOR:
                    weights[_tensor_digest(attr.t)] += 1
                else:
                    weights[hashlib.sha256(attr.SerializeToString()).hexdigest()] += 1
    return ops, weights


Signature = dict[str, tuple[Counter[str], Counter[str]]]


def signatures(models: Mapping[str, onnx.ModelProto]) -> Signature:
    """role -> graph_signature (fp32's is computed once per build and compared to each variant's)."""
    return {role: graph_signature(m) for role, m in models.items()}


def same_as_fp32(fp32: Mapping[str, onnx.ModelProto], variant: Mapping[str, onnx.ModelProto]) -> bool:
    return signatures(fp32) == signatures(variant)
