"""Llama-architecture weights from a GGUF file as the project's ONNX decoder (text_lm's graph and I/O).

The ``gguf`` package reads and dequantizes the tensors (no torch): a Q4_1 file gives the fp32
weights llama.cpp computes with, and the ONNX precisions (fp16, int8, int4) are made from those by
the project's converters, i.e. quantized weights quantized again: the manifest says so (``note``).

Layouts: GGUF stores a weight [out, in] in numpy order (ne0 = in); the graph's MatMul wants
[in, out]. llama.cpp's converter permutes the rows of q and k per head so that its RoPE rotates
adjacent pairs (x0, x1), (x2, x3) ...; the graph rotates halves (x_i with x_{i+d/2}) as transformers'
Llama does, so those rows are put back here. A GGUF without ``output.weight`` ties the LM head
to the token embedding (SmolLM2).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from harness.builds.graph import GraphBuilder
from harness.builds.manifest import sha256_of
from harness.builds.text_lm import LMConfig, decoder_graph, io_names
from harness.errors import HarnessError

ARCHITECTURE = "llama"
REQUANTIZED_NOTE = ("weights dequantized from {types} GGUF tensors: fp32 holds exactly what the GGUF runtime computes "
                    "with; fp16/int8/int4 re-quantize already quantized weights (a quality loss of their own)")
_LINEARS = {  # graph name suffix -> GGUF tensor suffix
    "q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
}
_NORMS = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}


def _require_gguf() -> Any:
    try:
        import gguf
    except ImportError:
        raise HarnessError("reading a GGUF file needs the 'gguf' package: pip install 'gguf>=0.17'") from None
    return gguf


def unpermute_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's q/k permutation on a [out, in] weight: per head, rows (0, 2, 4, ..., 1, 3, ...)
    of the GGUF become rows (0, 1, 2, ...) of transformers' layout."""
    out = w.shape[0]
    return w.reshape(n_head, out // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


@dataclass
class GGUFLlama:
    """A llama GGUF opened for reading: its config and tensors (dequantized on demand)."""

    path: Path
    cfg: LMConfig
    tensors: dict[str, Any]  # name -> gguf.ReaderTensor
    facts: dict[str, Any]

    def array(self, name: str) -> np.ndarray:
        """A tensor as float32 in numpy order ([out, in] for a weight)."""
        gguf = _require_gguf()
        t = self.tensors.get(name)
        if t is None:
            raise HarnessError(f"{self.path}: GGUF has no tensor {name!r}")
        return np.ascontiguousarray(gguf.dequantize(t.data, t.tensor_type), dtype=np.float32)


def open_llama(path: Path) -> GGUFLlama:
    """Read a llama-architecture GGUF's header: config from its ``llama.*`` keys."""
    gguf = _require_gguf()
    try:
        reader = gguf.GGUFReader(str(path))
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: not a readable GGUF file: {exc}") from None

    def field(key: str, default: Any = None) -> Any:
        f = reader.fields.get(key)
        return default if f is None else f.contents()

    arch = field("general.architecture")
    if arch != ARCHITECTURE:
        raise HarnessError(f"{path}: general.architecture is {arch!r}; the ONNX decoder builder reads {ARCHITECTURE!r}")
    tensors = {t.name: t for t in reader.tensors}
    try:
        hidden = int(field("llama.embedding_length"))
        heads = int(field("llama.attention.head_count"))
        cfg = LMConfig(
            vocab=int(tensors["token_embd.weight"].shape[1]),
            hidden=hidden,
            layers=int(field("llama.block_count")),
            heads=heads,
            kv_heads=int(field("llama.attention.head_count_kv", heads)),
            ffn=int(field("llama.feed_forward_length")),
            rope_theta=float(field("llama.rope.freq_base", 10000.0)),
            rms_eps=float(field("llama.attention.layer_norm_rms_epsilon", 1e-5)),
        )
    except (TypeError, KeyError) as exc:
        raise HarnessError(f"{path}: llama GGUF lacks {exc} (a llama.* key or token_embd.weight)") from None
    rope_dims = field("llama.rope.dimension_count", cfg.head_dim)
    if rope_dims != cfg.head_dim or field("llama.rope.scaling.type") not in (None, "none"):
        raise HarnessError(f"{path}: RoPE over {rope_dims} of {cfg.head_dim} dims or with scaling is not built")
    facts = {
        "name": field("general.name"),
        "license": field("general.license"),
        "file_type": field("general.file_type"),
        "context_length": field("llama.context_length"),
        "tensor_types": dict(Counter(t.tensor_type.name for t in reader.tensors)),
        "tied_embeddings": "output.weight" not in tensors,
    }
    return GGUFLlama(Path(path), cfg, tensors, facts)


class GGUFWeights:
    """LMWeights from a GGUF (text_lm.LMWeights): dequantized, q/k rows un-permuted, [in, out]."""

    def __init__(self, model: GGUFLlama) -> None:
        self.model = model

    def embedding(self) -> np.ndarray:
        return self.model.array("token_embd.weight")

    def linear(self, name: str, fan_in: int, fan_out: int) -> np.ndarray:
        layer, _, what = name.partition(".")[2].partition(".")
        w = self.model.array(f"blk.{layer}.{_LINEARS[what]}.weight")
        if what == "q_proj":
            w = unpermute_rows(w, self.model.cfg.heads)
        elif what == "k_proj":
            w = unpermute_rows(w, self.model.cfg.kv_heads)
        if w.shape != (fan_out, fan_in):
            raise HarnessError(f"{self.model.path}: {name} is {w.shape}, want {(fan_out, fan_in)}")
        return np.ascontiguousarray(w.T)

    def norm(self, name: str, dim: int) -> np.ndarray:
        if name == "norm":
            return self.model.array("output_norm.weight")
        layer, _, what = name.partition(".")[2].partition(".")
        return self.model.array(f"blk.{layer}.{_NORMS[what]}.weight")

    def head(self) -> np.ndarray:
        name = "token_embd.weight" if self.model.facts["tied_embeddings"] else "output.weight"
        return np.ascontiguousarray(self.model.array(name).T)


def build_from_gguf(path: Path) -> tuple[onnx.ModelProto, dict[str, Any], dict[str, Any]]:
    """(fp32 ONNX decoder, io facts as text_lm.io_names, the manifest's source description)."""
    model = open_llama(path)
    proto = decoder_graph(GraphBuilder(0), model.cfg, GGUFWeights(model), "gguf_llama")
    quantized = sorted(t for t in model.facts["tensor_types"] if t not in ("F32", "F16", "BF16"))
    source = {
        "builder": "gguf-llama",
        "path": str(path),
        "sha256": sha256_of(Path(path)),
        "options": model.cfg.as_dict(),
        "gguf": model.facts,
        "note": REQUANTIZED_NOTE.format(types="/".join(quantized)) if quantized else "weights from F32/F16 tensors",
    }
    return proto, io_names(model.cfg), source
