"""A Llama-style decoder-only LM (GQA, RoPE from position_ids, SwiGLU, RMSNorm) with KV cache.

I/O follows Optimum: input_ids [B,S], attention_mask [B,P+S], position_ids [B,S],
past_key_values.N.key/value [B,kv,P,d] -> logits [B,S,V], present.N.key/value [B,kv,P+S,d].
Weights are seeded at torch-default scales, except the LM head, scaled for logits of std
``logit_std`` (a uniform-init head gives the flat next-token distributions of an untrained
model). ``outlier_channels`` multiplies a few embedding channels by ``outlier_scale`` so
activations carry the outliers that make int8 error realistic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Protocol

import numpy as np
import onnx
from onnx import TensorProto

from harness.builds.graph import GraphBuilder


@dataclass(frozen=True)
class LMConfig:
    vocab: int = 4096
    hidden: int = 256
    layers: int = 4
    heads: int = 8
    kv_heads: int = 2
    ffn: int = 688
    rope_theta: float = 10000.0
    rms_eps: float = 1e-6
    outlier_channels: int = 0
    outlier_scale: float = 20.0
    logit_std: float = 4.0  # lm_head init N(0, (logit_std/sqrt(hidden))^2): peaked like a trained LM

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @classmethod
    def from_options(cls, options: dict, where: str = "model.options") -> LMConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known - {"seed"})
        if unknown:
            raise ValueError(f"{where}: unknown option(s) {unknown} for text-lm (known: {sorted(known)})")
        cfg = cls(**{k: v for k, v in options.items() if k in known})
        if cfg.hidden % cfg.heads or cfg.heads % cfg.kv_heads or cfg.head_dim % 2:
            raise ValueError(f"{where}: hidden must split into heads, heads into kv_heads, head_dim even")
        return cfg

    def as_dict(self) -> dict:
        return asdict(self)


def io_names(cfg: LMConfig) -> dict:
    return {
        "inputs": ["input_ids", "attention_mask", "position_ids"],
        "past": [f"past_key_values.{i}.{kv}" for i in range(cfg.layers) for kv in ("key", "value")],
        "present": [f"present.{i}.{kv}" for i in range(cfg.layers) for kv in ("key", "value")],
        "vocab": cfg.vocab,
        "layers": cfg.layers,
        "kv_heads": cfg.kv_heads,
        "head_dim": cfg.head_dim,
    }


def _rope(g: GraphBuilder, position_ids: str, cfg: LMConfig) -> tuple[str, str]:
    d = cfg.head_dim
    inv = 1.0 / (cfg.rope_theta ** (np.arange(0, d, 2, dtype=np.float64) / d))
    pos = g.op("Unsqueeze", [g.op("Cast", [position_ids], to=TensorProto.FLOAT), g.const([-1])])
    freqs = g.op("Mul", [pos, g.init("rope.inv_freq", inv.astype(np.float32))])
    emb = g.op("Concat", [freqs, freqs], axis=-1)
    cos = g.op("Unsqueeze", [g.op("Cos", [emb]), g.const([1])])
    sin = g.op("Unsqueeze", [g.op("Sin", [emb]), g.const([1])])
    return cos, sin


def _apply_rope(g: GraphBuilder, x: str, cos: str, sin: str, d: int) -> str:
    axis = g.const([-1])
    x1 = g.op("Slice", [x, g.const([0]), g.const([d // 2]), axis])
    x2 = g.op("Slice", [x, g.const([d // 2]), g.const([d]), axis])
    rot = g.op("Concat", [g.op("Neg", [x2]), x1], axis=-1)
    return g.op("Add", [g.op("Mul", [x, cos]), g.op("Mul", [rot, sin])])


class LMWeights(Protocol):
    """Where a decoder's weights come from; asked in graph order (embedding, then per layer q, k, v,
    o, gate, up, down, then the head), so a seeded source draws them reproducibly."""

    def embedding(self) -> np.ndarray:
        """[vocab, hidden]."""

    def linear(self, name: str, fan_in: int, fan_out: int) -> np.ndarray:
        """[fan_in, fan_out] (MatMul layout) for ``layers.N.q_proj`` ... ``layers.N.mlp.down_proj``."""

    def norm(self, name: str, dim: int) -> np.ndarray:
        """[dim] RMSNorm scale for ``layers.N.input_layernorm`` ... and ``norm``."""

    def head(self) -> np.ndarray:
        """[hidden, vocab] LM head (a tied model's is its embedding transposed)."""


class SeededWeights:
    """torch-default scales from one seeded generator (see the module docstring)."""

    def __init__(self, cfg: LMConfig, rng: np.random.Generator) -> None:
        self.cfg = cfg
        self.rng = rng

    def embedding(self) -> np.ndarray:
        cfg = self.cfg
        emb = self.rng.standard_normal((cfg.vocab, cfg.hidden)).astype(np.float32)  # nn.Embedding: N(0, 1)
        if cfg.outlier_channels:
            chans = self.rng.choice(cfg.hidden, size=cfg.outlier_channels, replace=False)
            emb[:, np.sort(chans)] *= np.float32(cfg.outlier_scale)
        return emb

    def linear(self, name: str, fan_in: int, fan_out: int) -> np.ndarray:
        bound = 1.0 / np.sqrt(fan_in)  # torch.nn.Linear's default init
        return self.rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32)

    def norm(self, name: str, dim: int) -> np.ndarray:
        return np.ones(dim, np.float32)

    def head(self) -> np.ndarray:
        cfg = self.cfg
        head = self.rng.standard_normal((cfg.hidden, cfg.vocab)) * (cfg.logit_std / np.sqrt(cfg.hidden))
        return head.astype(np.float32)


def build_text_lm(cfg: LMConfig, seed: int) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    return decoder_graph(g, cfg, SeededWeights(cfg, g.rng), "text_lm")


def decoder_graph(g: GraphBuilder, cfg: LMConfig, weights: LMWeights, graph_name: str) -> onnx.ModelProto:
    """The decoder's ONNX graph with the given weights (rotate-half RoPE, as in transformers' Llama)."""
    d, h, kv = cfg.head_dim, cfg.hidden, cfg.kv_heads
    input_ids = g.input("input_ids", TensorProto.INT64, ["batch", "seq"])
    attn = g.input("attention_mask", TensorProto.INT64, ["batch", "total_seq"])
    pos = g.input("position_ids", TensorProto.INT64, ["batch", "seq"])
    past = []
    for i in range(cfg.layers):
        pk = g.input(f"past_key_values.{i}.key", TensorProto.FLOAT, ["batch", kv, "past_seq", d])
        pv = g.input(f"past_key_values.{i}.value", TensorProto.FLOAT, ["batch", kv, "past_seq", d])
        past.append((pk, pv))

    def linear(x: str, name: str, fan_in: int, fan_out: int) -> str:
        return g.op("MatMul", [x, g.init(name + ".weight", weights.linear(name, fan_in, fan_out))])

    def norm(x: str, name: str) -> str:
        return g.rms_norm(x, name, h, eps=cfg.rms_eps, weight=weights.norm(name, h))

    x = g.op("Gather", [g.init("embed_tokens.weight", weights.embedding()), input_ids], axis=0)

    cos, sin = _rope(g, pos, cfg)
    mask = g.op("And", [g.causal_mask(g.dim(input_ids, 1), g.dim(attn, 1)), g.padding_mask(attn)])
    for i in range(cfg.layers):
        p = f"layers.{i}"
        hn = norm(x, p + ".input_layernorm")
        q = _apply_rope(g, g.heads(linear(hn, p + ".q_proj", h, cfg.heads * d), cfg.heads, d), cos, sin, d)
        k = _apply_rope(g, g.heads(linear(hn, p + ".k_proj", h, kv * d), kv, d), cos, sin, d)
        v = g.heads(linear(hn, p + ".v_proj", h, kv * d), kv, d)
        k_all = g.op("Concat", [past[i][0], k], f"present.{i}.key", axis=2)
        v_all = g.op("Concat", [past[i][1], v], f"present.{i}.value", axis=2)
        rep = cfg.heads // kv
        ctx = g.attention(q, g.repeat_kv(k_all, kv, rep, d), g.repeat_kv(v_all, kv, rep, d), d, mask)
        x = g.op("Add", [x, linear(g.merge_heads(ctx, cfg.heads * d), p + ".o_proj", cfg.heads * d, h)])
        hn = norm(x, p + ".post_attention_layernorm")
        gate = linear(hn, p + ".mlp.gate_proj", h, cfg.ffn)
        up = linear(hn, p + ".mlp.up_proj", h, cfg.ffn)
        act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up])
        x = g.op("Add", [x, linear(act, p + ".mlp.down_proj", cfg.ffn, h)])
    x = norm(x, "norm")
    g.op("MatMul", [x, g.init("lm_head.weight", weights.head())], "logits")
    g.output("logits", TensorProto.FLOAT, ["batch", "seq", cfg.vocab])
    for i in range(cfg.layers):
        for kind in ("key", "value"):
            g.output(f"present.{i}.{kind}", TensorProto.FLOAT, ["batch", kv, "total_seq", d])
    return g.model(graph_name)
