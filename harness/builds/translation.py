"""A Marian-style seq2seq translator: encoder, decoder, decoder-with-past (Optimum I/O names).

encoder:            input_ids [B,S], attention_mask [B,S] -> last_hidden_state [B,S,D]
decoder:            input_ids [B,T], encoder_attention_mask, encoder_hidden_states
                    -> logits, present.N.decoder.key/value, present.N.encoder.key/value
decoder_with_past:  input_ids [B,1], encoder_attention_mask, past_key_values.N.{decoder,encoder}.key/value
                    -> logits, present.N.decoder.key/value
Post-norm layers, shared embedding scaled by sqrt(D), sinusoidal positions, like MarianMT.
Weights are drawn up front so decoder and decoder_with_past carry identical values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import onnx
from onnx import TensorProto

from harness.builds.graph import GraphBuilder

ROLES = ("encoder", "decoder", "decoder_with_past")


@dataclass(frozen=True)
class MarianConfig:
    vocab: int = 4096
    dim: int = 256
    heads: int = 4
    ffn: int = 1024
    encoder_layers: int = 2
    decoder_layers: int = 2
    max_positions: int = 512
    pad_token_id: int = 0
    decoder_start_token_id: int = 0
    eos_token_id: int = 1

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    @classmethod
    def from_options(cls, options: dict) -> MarianConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"model.options: unknown option(s) {unknown} for translation-marian (known: {sorted(known)})")
        return cls(**options)

    def as_dict(self) -> dict:
        return asdict(self)


def io_names(cfg: MarianConfig) -> dict:
    return {
        "vocab": cfg.vocab,
        "decoder_layers": cfg.decoder_layers,
        "heads": cfg.heads,
        "head_dim": cfg.head_dim,
        "pad_token_id": cfg.pad_token_id,
        "decoder_start_token_id": cfg.decoder_start_token_id,
        "eos_token_id": cfg.eos_token_id,
    }


def _lin(rng: np.random.Generator, fan_in: int, fan_out: int) -> tuple[np.ndarray, np.ndarray]:
    bound = 1.0 / np.sqrt(fan_in)
    w = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32)
    b = rng.uniform(-bound, bound, (fan_out,)).astype(np.float32)
    return w, b


def _weights(cfg: MarianConfig, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    d, f = cfg.dim, cfg.ffn
    w: dict[str, np.ndarray] = {"shared": rng.standard_normal((cfg.vocab, d)).astype(np.float32)}
    for side, n, blocks in (("encoder", cfg.encoder_layers, ("self",)), ("decoder", cfg.decoder_layers, ("self", "cross"))):
        for i in range(n):
            for blk in blocks:
                for proj in ("q", "k", "v", "o"):
                    w[f"{side}.{i}.{blk}.{proj}.weight"], w[f"{side}.{i}.{blk}.{proj}.bias"] = _lin(rng, d, d)
            w[f"{side}.{i}.fc1.weight"], w[f"{side}.{i}.fc1.bias"] = _lin(rng, d, f)
            w[f"{side}.{i}.fc2.weight"], w[f"{side}.{i}.fc2.bias"] = _lin(rng, f, d)
    w["lm_head.weight"] = np.ascontiguousarray(w["shared"].T)
    w["final_logits_bias"] = np.zeros(cfg.vocab, np.float32)
    return w


class _Graph:
    """A GraphBuilder over pre-drawn weights."""

    def __init__(self, cfg: MarianConfig, weights: dict[str, np.ndarray]) -> None:
        self.g = GraphBuilder(0)
        self.cfg = cfg
        self.w = weights
        self._used: dict[str, str] = {}

    def p(self, name: str) -> str:
        if name not in self._used:
            self._used[name] = self.g.init(name, self.w[name])
        return self._used[name]

    def lin(self, x: str, name: str) -> str:
        return self.g.op("Add", [self.g.op("MatMul", [x, self.p(name + ".weight")]), self.p(name + ".bias")])

    def ln(self, x: str, name: str) -> str:
        return self.g.layer_norm(x, name, self.cfg.dim)

    def embed(self, ids: str, offset: str | None) -> str:
        g, cfg = self.g, self.cfg
        e = g.op("Mul", [g.op("Gather", [self.p("shared"), ids], axis=0), g.const(np.sqrt(cfg.dim), np.float32)])
        if "positions" not in self._used:
            self._used["positions"] = g.sinusoid_table("positions", cfg.max_positions, cfg.dim)
        start = g.const([0]) if offset is None else offset
        end = g.op("Add", [start, g.dim(ids, 1)])
        return g.op("Add", [e, g.op("Slice", [self._used["positions"], start, end, g.const([0])])])

    def mha(self, x_q: str, k: str, v: str, name: str, mask: str | None) -> str:
        g, c = self.g, self.cfg
        q = g.heads(self.lin(x_q, name + ".q"), c.heads, c.head_dim)
        return self.lin(g.merge_heads(g.attention(q, k, v, c.head_dim, mask), c.dim), name + ".o")

    def kv(self, x: str, name: str) -> tuple[str, str]:
        g, c = self.g, self.cfg
        return g.heads(self.lin(x, name + ".k"), c.heads, c.head_dim), g.heads(self.lin(x, name + ".v"), c.heads, c.head_dim)

    def ffn(self, x: str, name: str) -> str:
        g = self.g
        return self.lin(g.op("Relu", [self.lin(x, name + ".fc1")]), name + ".fc2")


def build_encoder(cfg: MarianConfig, seed: int) -> onnx.ModelProto:
    t = _Graph(cfg, _weights(cfg, seed))
    g = t.g
    ids = g.input("input_ids", TensorProto.INT64, ["batch", "src_seq"])
    am = g.input("attention_mask", TensorProto.INT64, ["batch", "src_seq"])
    mask = g.padding_mask(am)
    h = t.embed(ids, None)
    for i in range(cfg.encoder_layers):
        p = f"encoder.{i}"
        k, v = t.kv(h, p + ".self")
        h = t.ln(g.op("Add", [h, t.mha(h, k, v, p + ".self", mask)]), p + ".ln1")
        h = t.ln(g.op("Add", [h, t.ffn(h, p)]), p + ".ln2")
    g.nodes[-1].output[0] = "last_hidden_state"
    g.output("last_hidden_state", TensorProto.FLOAT, ["batch", "src_seq", cfg.dim])
    return g.model("marian_encoder")


def build_decoder(cfg: MarianConfig, seed: int, with_past: bool) -> onnx.ModelProto:
    t = _Graph(cfg, _weights(cfg, seed))
    g, hd, nh = t.g, cfg.head_dim, cfg.heads
    ids = g.input("input_ids", TensorProto.INT64, ["batch", "tgt_seq"])
    enc_mask = g.padding_mask(g.input("encoder_attention_mask", TensorProto.INT64, ["batch", "src_seq"]))
    past: list[list[str]] = []  # per layer: decoder key, decoder value, encoder key, encoder value
    if with_past:
        for i in range(cfg.decoder_layers):
            layer = []
            for side, seq in (("decoder", "past_seq"), ("encoder", "src_seq")):
                for kv in ("key", "value"):
                    layer.append(g.input(f"past_key_values.{i}.{side}.{kv}", TensorProto.FLOAT, ["batch", nh, seq, hd]))
            past.append(layer)
        offset = g.dim(past[0][0], 2)
    else:
        enc = g.input("encoder_hidden_states", TensorProto.FLOAT, ["batch", "src_seq", cfg.dim])
        offset = None
    h = t.embed(ids, offset)
    total = g.op("Add", [g.dim(ids, 1), offset]) if offset else g.dim(ids, 1)
    causal = g.causal_mask(g.dim(ids, 1), total)
    for i in range(cfg.decoder_layers):
        p = f"decoder.{i}"
        k, v = t.kv(h, p + ".self")
        if with_past:
            k = g.op("Concat", [past[i][0], k], axis=2)
            v = g.op("Concat", [past[i][1], v], axis=2)
        g.op("Identity", [k], f"present.{i}.decoder.key")
        g.op("Identity", [v], f"present.{i}.decoder.value")
        h = t.ln(g.op("Add", [h, t.mha(h, k, v, p + ".self", causal)]), p + ".ln1")
        if with_past:
            ck, cv = past[i][2], past[i][3]
        else:
            ck, cv = t.kv(enc, p + ".cross")
            g.op("Identity", [ck], f"present.{i}.encoder.key")
            g.op("Identity", [cv], f"present.{i}.encoder.value")
        h = t.ln(g.op("Add", [h, t.mha(h, ck, cv, p + ".cross", enc_mask)]), p + ".ln2")
        h = t.ln(g.op("Add", [h, t.ffn(h, p)]), p + ".ln3")
    logits = g.op("Add", [g.op("MatMul", [h, t.p("lm_head.weight")]), t.p("final_logits_bias")], "logits")
    del logits
    g.output("logits", TensorProto.FLOAT, ["batch", "tgt_seq", cfg.vocab])
    for i in range(cfg.decoder_layers):
        for kv in ("key", "value"):
            g.output(f"present.{i}.decoder.{kv}", TensorProto.FLOAT, ["batch", nh, "total_seq", hd])
        if not with_past:
            for kv in ("key", "value"):
                g.output(f"present.{i}.encoder.{kv}", TensorProto.FLOAT, ["batch", nh, "src_seq", hd])
    return g.model("marian_decoder_with_past" if with_past else "marian_decoder")


def build_translation(cfg: MarianConfig, seed: int) -> dict[str, onnx.ModelProto]:
    return {
        "encoder": build_encoder(cfg, seed),
        "decoder": build_decoder(cfg, seed, with_past=False),
        "decoder_with_past": build_decoder(cfg, seed, with_past=True),
    }
