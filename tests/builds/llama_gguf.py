"""A tiny llama GGUF written the way llama.cpp's converter writes one, and an independent numpy
forward pass over a GGUF in llama.cpp's own layout (permuted q/k, RoPE on adjacent pairs).

The reference shares nothing with harness.builds.gguf_llama but the ``gguf`` package's dequantizer:
no un-permutation, no ONNX graph, its own RoPE convention. Agreement of the two on the same ids
checks the layout conversion, the rotary embedding, GQA, RMSNorm, SwiGLU and the tied head.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

TINY = {"vocab": 512, "hidden": 128, "layers": 2, "heads": 4, "kv_heads": 2, "ffn": 256, "rope_theta": 10000.0,
        "rms_eps": 1e-5}


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """convert_hf_to_gguf.py's LlamaModel.permute: transformers' q/k rows -> llama.cpp's."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _add_spm_vocab(w: gguf.GGUFWriter, n_vocab: int) -> None:
    """<unk> <s> </s>, the 256 byte-fallback tokens, then word pieces ("▁the", letters) up to n_vocab."""
    words = ["▁" + x for x in ("the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "on")]
    pieces = [*words, *"abcdefghijklmnopqrstuvwxyz", *("▁" + ch for ch in "abcdefghijklmnopqrstuvwxyz"), "▁"]
    pieces += [f"{a}{b}" for a in "etaoinshrdlucm" for b in "etaoinshrdlucmfwy"]
    tokens = ["<unk>", "<s>", "</s>", *(f"<0x{i:02X}>" for i in range(256))]
    tokens += list(dict.fromkeys(pieces))[:n_vocab - len(tokens)]  # unique: llama.cpp asserts it
    assert len(tokens) == n_vocab, len(tokens)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * 259 + [-float(i) for i in range(n_vocab - 259)])
    w.add_token_types([2, 3, 3, *([6] * 256), *([1] * (n_vocab - 259))])
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)


def write_tiny_llama(path: Path, seed: int = 0, qtype: str = "Q8_0", tied: bool = True,
                     tokenizer: bool = False) -> Path:
    """Random weights in transformers' layout, written as the converter does (q/k permuted); with
    ``tokenizer`` a SentencePiece vocabulary llama.cpp loads (so it can tokenize, quantize, run)."""
    c = TINY
    rng = np.random.default_rng(seed)
    d = c["hidden"] // c["heads"]
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny-llama")
    w.add_block_count(c["layers"])
    w.add_context_length(256)
    w.add_embedding_length(c["hidden"])
    w.add_feed_forward_length(c["ffn"])
    w.add_head_count(c["heads"])
    w.add_head_count_kv(c["kv_heads"])
    w.add_rope_freq_base(c["rope_theta"])
    w.add_layer_norm_rms_eps(c["rms_eps"])
    w.add_rope_dimension_count(d)
    quant = gguf.GGMLQuantizationType[qtype]
    if tokenizer:
        _add_spm_vocab(w, c["vocab"])

    def weight(name: str, out: int, inp: int, permute_heads: int = 0) -> None:
        arr = (rng.standard_normal((out, inp)) / np.sqrt(inp)).astype(np.float32)
        if permute_heads:
            arr = _permute(arr, permute_heads)
        w.add_tensor(name, gguf.quants.quantize(arr, quant), raw_dtype=quant)

    def norm(name: str) -> None:
        w.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(c["hidden"])).astype(np.float32))

    emb = (0.2 * rng.standard_normal((c["vocab"], c["hidden"]))).astype(np.float32)  # tied head: logits std ~2
    w.add_tensor("token_embd.weight", gguf.quants.quantize(emb, quant), raw_dtype=quant)
    for i in range(c["layers"]):
        norm(f"blk.{i}.attn_norm.weight")
        weight(f"blk.{i}.attn_q.weight", c["hidden"], c["hidden"], c["heads"])
        weight(f"blk.{i}.attn_k.weight", c["kv_heads"] * d, c["hidden"], c["kv_heads"])
        weight(f"blk.{i}.attn_v.weight", c["kv_heads"] * d, c["hidden"])
        weight(f"blk.{i}.attn_output.weight", c["hidden"], c["hidden"])
        norm(f"blk.{i}.ffn_norm.weight")
        weight(f"blk.{i}.ffn_gate.weight", c["ffn"], c["hidden"])
        weight(f"blk.{i}.ffn_up.weight", c["ffn"], c["hidden"])
        weight(f"blk.{i}.ffn_down.weight", c["hidden"], c["ffn"])
    norm("output_norm.weight")
    if not tied:
        weight("output.weight", c["vocab"], c["hidden"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def reference_logits(path: Path, ids: np.ndarray) -> np.ndarray:
    """[S, vocab] next-token logits for ids [S], computed as llama.cpp does (float64)."""
    r = gguf.GGUFReader(str(path))

    def f(key: str) -> object:
        return r.fields[key].contents()

    t = {x.name: x for x in r.tensors}

    def a(name: str) -> np.ndarray:
        return gguf.dequantize(t[name].data, t[name].tensor_type).astype(np.float64)

    hidden, n_head = int(f("llama.embedding_length")), int(f("llama.attention.head_count"))
    n_kv, eps = int(f("llama.attention.head_count_kv")), float(f("llama.attention.layer_norm_rms_epsilon"))
    base, d = float(f("llama.rope.freq_base")), hidden // n_head
    seq = len(ids)
    pos = np.arange(seq)[:, None]
    theta = pos * base ** (-np.arange(0, d, 2) / d)  # [S, d/2], pair i of each head
    cos, sin = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]

    def rope_pairs(x: np.ndarray) -> np.ndarray:  # [S, heads, d], rotating (x0, x1), (x2, x3), ...
        x0, x1 = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = x0 * cos - x1 * sin
        out[..., 1::2] = x0 * sin + x1 * cos
        return out

    def rms(x: np.ndarray, wname: str) -> np.ndarray:
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * a(wname)

    x = a("token_embd.weight")[ids]
    causal = np.tril(np.ones((seq, seq), bool))
    for i in range(int(f("llama.block_count"))):
        h = rms(x, f"blk.{i}.attn_norm.weight")
        q = rope_pairs((h @ a(f"blk.{i}.attn_q.weight").T).reshape(seq, n_head, d))
        k = rope_pairs((h @ a(f"blk.{i}.attn_k.weight").T).reshape(seq, n_kv, d))
        v = (h @ a(f"blk.{i}.attn_v.weight").T).reshape(seq, n_kv, d)
        att = np.empty((seq, n_head, d))
        for hd in range(n_head):
            kv = hd // (n_head // n_kv)
            s = q[:, hd] @ k[:, kv].T / np.sqrt(d)
            s = np.where(causal, s, -np.inf)
            p = np.exp(s - s.max(axis=-1, keepdims=True))
            att[:, hd] = (p / p.sum(axis=-1, keepdims=True)) @ v[:, kv]
        x = x + att.reshape(seq, hidden) @ a(f"blk.{i}.attn_output.weight").T
        h = rms(x, f"blk.{i}.ffn_norm.weight")
        gate = h @ a(f"blk.{i}.ffn_gate.weight").T
        x = x + (gate / (1 + np.exp(-gate)) * (h @ a(f"blk.{i}.ffn_up.weight").T)) @ a(f"blk.{i}.ffn_down.weight").T
    x = rms(x, "output_norm.weight")
    head = a("output.weight") if "output.weight" in t else a("token_embd.weight")
    return x @ head.T
