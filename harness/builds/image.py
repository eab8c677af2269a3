"""224x224 image classifiers: a ViT-tiny-like transformer and a ResNet-like CNN.

Input ``pixel_values`` [B,3,H,W] float32 -> ``logits`` [B,classes]. Seeded weights at
torch-default scales (Linear: U(+-1/sqrt(fan_in)); Conv: Kaiming normal, BN folded away).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import onnx
from onnx import TensorProto

from harness.builds.graph import GraphBuilder


def _from_options(cls, options: dict, builder: str):
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"model.options: unknown option(s) {unknown} for {builder} (known: {sorted(known)})")
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in options.items()}
    return cls(**kw)


@dataclass(frozen=True)
class ViTConfig:
    image: int = 224
    patch: int = 16
    dim: int = 192
    depth: int = 6
    heads: int = 3
    mlp_ratio: int = 4
    classes: int = 1000

    @classmethod
    def from_options(cls, options: dict) -> ViTConfig:
        return _from_options(cls, options, "image-vit")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ResNetConfig:
    image: int = 224
    widths: tuple[int, ...] = (32, 64, 128, 256)
    blocks: int = 1  # BasicBlocks per stage
    classes: int = 1000

    @classmethod
    def from_options(cls, options: dict) -> ResNetConfig:
        return _from_options(cls, options, "image-resnet")

    def as_dict(self) -> dict:
        return {**asdict(self), "widths": list(self.widths)}


def _pixel_input(g: GraphBuilder, image: int) -> str:
    return g.input("pixel_values", TensorProto.FLOAT, ["batch", 3, image, image])


def _gelu(g: GraphBuilder, x: str) -> str:
    erf = g.op("Erf", [g.op("Mul", [x, g.const(1.0 / np.sqrt(2.0), np.float32)])])
    return g.op("Mul", [g.op("Mul", [x, g.const(0.5, np.float32)]), g.op("Add", [erf, g.const(1.0, np.float32)])])


def build_vit(cfg: ViTConfig, seed: int) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x = _pixel_input(g, cfg.image)
    fan_in = 3 * cfg.patch * cfg.patch
    bound = 1.0 / np.sqrt(fan_in)
    w = g.init("patch_embed.weight", g.rng.uniform(-bound, bound, (cfg.dim, 3, cfg.patch, cfg.patch)).astype(np.float32))
    b = g.init("patch_embed.bias", g.rng.uniform(-bound, bound, (cfg.dim,)).astype(np.float32))
    p = g.op("Conv", [x, w, b], strides=[cfg.patch, cfg.patch], kernel_shape=[cfg.patch, cfg.patch])
    tokens = g.op("Transpose", [g.op("Reshape", [p, g.const([0, cfg.dim, -1])])], perm=[0, 2, 1])
    n = (cfg.image // cfg.patch) ** 2 + 1
    cls = g.init("cls_token", (g.rng.standard_normal((1, 1, cfg.dim)) * 0.02).astype(np.float32))
    cls_b = g.op("Expand", [cls, g.op("Concat", [g.dim(x, 0), g.const([1, cfg.dim])], axis=0)])
    h = g.op("Concat", [cls_b, tokens], axis=1)
    pos = g.init("pos_embed", (g.rng.standard_normal((1, n, cfg.dim)) * 0.02).astype(np.float32))
    h = g.op("Add", [h, pos])
    d = cfg.dim // cfg.heads
    for i in range(cfg.depth):
        pre = f"blocks.{i}"
        y = g.layer_norm(h, pre + ".norm1", cfg.dim)
        q = g.heads(g.linear(y, pre + ".attn.q", cfg.dim, cfg.dim, bias=True), cfg.heads, d)
        k = g.heads(g.linear(y, pre + ".attn.k", cfg.dim, cfg.dim, bias=True), cfg.heads, d)
        v = g.heads(g.linear(y, pre + ".attn.v", cfg.dim, cfg.dim, bias=True), cfg.heads, d)
        a = g.merge_heads(g.attention(q, k, v, d, None), cfg.dim)
        h = g.op("Add", [h, g.linear(a, pre + ".attn.proj", cfg.dim, cfg.dim, bias=True)])
        y = g.layer_norm(h, pre + ".norm2", cfg.dim)
        hid = cfg.dim * cfg.mlp_ratio
        y = _gelu(g, g.linear(y, pre + ".mlp.fc1", cfg.dim, hid, bias=True))
        h = g.op("Add", [h, g.linear(y, pre + ".mlp.fc2", hid, cfg.dim, bias=True)])
    h = g.layer_norm(h, "norm", cfg.dim)
    cls_out = g.op("Squeeze", [g.op("Slice", [h, g.const([0]), g.const([1]), g.const([1])]), g.const([1])])
    out = g.linear(cls_out, "head", cfg.dim, cfg.classes, bias=True)
    g.nodes[-1].output[0] = "logits"
    del out
    g.output("logits", TensorProto.FLOAT, ["batch", cfg.classes])
    return g.model("image_vit")


def _conv(g: GraphBuilder, x: str, name: str, cin: int, cout: int, k: int, stride: int, relu: bool) -> str:
    std = np.sqrt(2.0 / (cin * k * k))  # Kaiming normal (fan_in) keeps activations O(1) without BN
    w = g.init(name + ".weight", (g.rng.standard_normal((cout, cin, k, k)) * std).astype(np.float32))
    b = g.init(name + ".bias", np.zeros(cout, np.float32))
    pad = k // 2
    y = g.op("Conv", [x, w, b], kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)
    return g.op("Relu", [y]) if relu else y


def build_resnet(cfg: ResNetConfig, seed: int) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x = _pixel_input(g, cfg.image)
    c = cfg.widths[0]
    h = _conv(g, x, "stem", 3, c, 7, 2, relu=True)
    h = g.op("MaxPool", [h], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    for s, width in enumerate(cfg.widths):
        for blk in range(cfg.blocks):
            pre = f"layer{s + 1}.{blk}"
            stride = 2 if (s > 0 and blk == 0) else 1
            y = _conv(g, h, pre + ".conv1", c, width, 3, stride, relu=True)
            y = _conv(g, y, pre + ".conv2", width, width, 3, 1, relu=False)
            short = h if (stride == 1 and c == width) else _conv(g, h, pre + ".downsample", c, width, 1, stride, False)
            h = g.op("Relu", [g.op("Add", [y, short])])
            c = width
    pooled = g.op("Flatten", [g.op("GlobalAveragePool", [h])], axis=1)
    g.linear(pooled, "fc", c, cfg.classes, bias=True)
    g.nodes[-1].output[0] = "logits"
    g.output("logits", TensorProto.FLOAT, ["batch", cfg.classes])
    return g.model("image_resnet")
