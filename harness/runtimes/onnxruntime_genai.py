"""ONNX Runtime GenAI: model folders (``genai_config.json`` + ONNX files), what users download for
Phi, Qwen or Llama, run through its own generation loop (its KV cache, its search).

Conversion writes the folder's ``genai_config.json`` for the build's ONNX decoder (Optimum I/O:
input_ids, attention_mask, position_ids, past_key_values.N.key/value -> logits, present.N.*),
from the graph's own shapes; the decoder file is the build's variant, not copied. The agent's
adapter puts the pushed files back together as a folder on the device. Greedy search with
``min_length = max_length`` (every run makes the same number of tokens, as llama-bench does).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.runtimes.base import CannotMake, Conversion, IoMap, ModelInfo, Runtime, dist_version

if TYPE_CHECKING:  # onnx loads when a build converts, not at `harness --help`
    import onnx

CONFIG = "genai_config.json"
DECODER_FILE = "model.onnx"  # the name the config gives the decoder; the adapter links it so
CONTEXT = 4096


def _dims(vi: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in vi.type.tensor_type.shape.dim]


def genai_config(model: onnx.ModelProto, context_length: int = CONTEXT) -> dict[str, Any]:
    """genai_config.json for an Optimum-style decoder (raises CannotMake for any other I/O)."""
    inputs = {i.name: i for i in model.graph.input}
    outputs = {o.name: o for o in model.graph.output}
    past = sorted(n for n in inputs if n.startswith("past_key_values.") and n.endswith(".key"))
    if "logits" not in outputs or "input_ids" not in inputs or not past:
        raise CannotMake("onnxruntime-genai runs decoders with input_ids, past_key_values.N.key/value and logits "
                         f"(this model has inputs {sorted(inputs)})")
    kv = _dims(inputs[past[0]])
    vocab = _dims(outputs["logits"])[-1]
    if not isinstance(kv[1], int) or not isinstance(kv[3], int) or not isinstance(vocab, int):
        raise CannotMake(f"{past[0]} must have fixed kv-head and head-size dims, logits a fixed vocab (got {kv})")
    names = {"input_ids": "input_ids", "past_key_names": "past_key_values.%d.key",
             "past_value_names": "past_key_values.%d.value"}
    for optional in ("attention_mask", "position_ids"):
        if optional in inputs:
            names[optional] = optional
    decoder = {
        "filename": DECODER_FILE,
        "session_options": {"log_id": "onnxruntime-genai", "provider_options": []},
        "head_size": kv[3],
        "hidden_size": kv[1] * kv[3],  # not read for a decoder that carries its own weights' shapes
        "num_attention_heads": kv[1],
        "num_key_value_heads": kv[1],
        "num_hidden_layers": len(past),
        "inputs": names,
        "outputs": {"logits": "logits", "present_key_names": "present.%d.key",
                    "present_value_names": "present.%d.value"},
    }
    return {
        "model": {"type": "llama", "vocab_size": vocab, "context_length": context_length, "bos_token_id": 1,
                  "eos_token_id": 2, "pad_token_id": 0, "decoder": decoder},
        "search": {"do_sample": False, "num_beams": 1, "num_return_sequences": 1, "max_length": context_length,
                   "min_length": 0, "past_present_share_buffer": False, "repetition_penalty": 1.0,
                   "temperature": 1.0, "top_k": 1, "top_p": 1.0},
    }


class OnnxRuntimeGenAI(Runtime):
    name = "onnxruntime-genai"
    extra = "genai"
    precisions = {
        "fp32": "the build's fp32 decoder through ONNX Runtime GenAI's generation loop",
        "fp16": "the build's fp16 decoder (fp32 I/O) through ONNX Runtime GenAI",
        "int8": "the build's dynamic int8 decoder through ONNX Runtime GenAI",
        "int8-static": "the build's static int8 (QDQ) decoder through ONNX Runtime GenAI",
        "int4": "the build's int4 weight-only (MatMulNBits) decoder through ONNX Runtime GenAI",
    }
    workload_kinds = frozenset({"text-generation"})

    def cannot_run(self, workload_kind: str) -> str | None:
        if workload_kind in self.workload_kinds:
            return None
        return f"onnxruntime-genai runs text-generation workloads (a decoder with a KV cache), not {workload_kind}"

    def option_names(self) -> list[str]:
        return ["provider"]  # GenAI's provider name ("cpu", "cuda", "dml", "qnn", ...); default cpu

    def source_precision(self, precision: str) -> str:
        return precision  # the build's own variant, in a GenAI folder

    def converter_missing(self) -> str | None:
        return None  # writing the config needs nothing; the device needs onnxruntime-genai

    def convert(self, model: ModelInfo, precision: str, out_dir: Path) -> Conversion:
        import onnx

        config = genai_config(onnx.load(str(model.path), load_external_data=False))
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / CONFIG).write_text(json.dumps(config, indent=1))
        return Conversion(
            files={"model": model.path, "config": out_dir / CONFIG},
            converter={"name": "harness genai_config.json", "version": dist_version("onnxruntime-genai"),
                       "options": {"context_length": CONTEXT}},
            meaning=self.precisions[precision],
            io=IoMap.identity(list(model.inputs), model.outputs),
        )
