"""A workload's fp32 model(s): from a built-in builder, or a user's ONNX file.

Returns ``Source(models, io, source)``: role -> ModelProto, the I/O facts job inputs need,
and a JSON-able description of where the model came from (for the manifest).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

from harness.builds import image, text_lm, translation
from harness.builds.manifest import sha256_of
from harness.config.models import Workload
from harness.config.yamlsource import load_with_marks, position
from harness.errors import ConfigError, HarnessError

BUILTINS = ("text-lm", "image-vit", "image-resnet", "translation-marian")
_DTYPES: dict[int, str] = {
    onnx.TensorProto.FLOAT: "float32",
    onnx.TensorProto.FLOAT16: "float16",
    onnx.TensorProto.INT64: "int64",
    onnx.TensorProto.INT32: "int32",
    onnx.TensorProto.INT8: "int8",
    onnx.TensorProto.UINT8: "uint8",
    onnx.TensorProto.BOOL: "bool",
}


@dataclass
class Source:
    models: dict[str, onnx.ModelProto]
    io: dict[str, Any]
    source: dict[str, Any]


def unnamed_dim(input_name: str, index: int) -> str:
    """The name a dim the model leaves unnamed gets: per input, so two inputs' unnamed dims
    are bound separately under ``dims`` (``x.dim1``, ``y.dim1``)."""
    return f"{input_name}.dim{index}"


def graph_io(model: onnx.ModelProto) -> dict[str, Any]:
    """Declared graph inputs/outputs (initializers excluded) as JSON-able specs."""
    inits = {t.name for t in model.graph.initializer}

    def spec(vi: onnx.ValueInfoProto) -> dict[str, Any]:
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):  # rank unknown (not a scalar: that is a shape with no dims)
            return {"name": vi.name, "shape": None, "dtype": _DTYPES.get(tt.elem_type, "float32")}
        dims: list[int | str] = []
        for i, d in enumerate(tt.shape.dim):
            dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or unnamed_dim(vi.name, i)))
        return {"name": vi.name, "shape": dims, "dtype": _DTYPES.get(tt.elem_type, "float32")}

    return {
        "inputs": [spec(v) for v in model.graph.input if v.name not in inits],
        "outputs": [spec(v) for v in model.graph.output],
    }


def _builtin(workload: Workload) -> Source:
    name, opts = workload.model.builtin, dict(workload.model.options)
    seed = int(opts.pop("seed", workload.seed))
    where = f"workload {workload.name}: model.options"
    try:
        if name == "text-lm":
            cfg = text_lm.LMConfig.from_options(opts, where)
            return Source({"model": text_lm.build_text_lm(cfg, seed)}, text_lm.io_names(cfg), _desc(name, cfg, seed))
        if name in ("image-vit", "image-resnet"):
            cfg_i = (image.ViTConfig if name == "image-vit" else image.ResNetConfig).from_options(opts)
            build = image.build_vit if name == "image-vit" else image.build_resnet
            m = build(cfg_i, seed)  # type: ignore[arg-type]
            io = {**graph_io(m), "classes": cfg_i.classes, "image": cfg_i.image}
            io["inputs"][0]["range"] = [-2.0, 2.0]  # normalized pixels
            return Source({"model": m}, io, _desc(name, cfg_i, seed))
        if name == "translation-marian":
            cfg_t = translation.MarianConfig.from_options(opts)
            return Source(translation.build_translation(cfg_t, seed), translation.io_names(cfg_t), _desc(name, cfg_t, seed))
    except (TypeError, ValueError) as exc:
        raise HarnessError(f"{where}: {exc}") from None
    raise HarnessError(f"workload {workload.name}: unknown builtin model {name!r} (known: {', '.join(BUILTINS)})")


def _desc(name: str, cfg: Any, seed: int) -> dict[str, Any]:
    return {"builder": name, "options": cfg.as_dict(), "seed": seed}


def _position(workload: Workload, workload_path: Path, what: str) -> str:
    """``file:line:col`` of the field ``what`` ("model.path", "inputs.<name>.file") in the YAML."""
    loc: list[str | int] = list(what.split("."))
    if loc[0] == "inputs" and len(loc) > 1:
        names = [spec.name for spec in workload.inputs]
        loc[1] = names.index(str(loc[1])) if loc[1] in names else loc[1]
    try:
        _, marks = load_with_marks(Path(workload_path))
    except (OSError, ConfigError):
        return str(workload_path)
    return position(workload_path, marks, tuple(loc))


def user_file(workload: Workload, workload_path: Path, rel: str, what: str) -> Path:
    path = (Path(workload_path).parent / rel).resolve()
    if not path.is_file():
        raise HarnessError(f"{_position(workload, workload_path, what)}: workload {workload.name}: {what} {rel!r} "
                           f"not found (looked at {path})")
    return path


OPTIMUM_SEQ2SEQ = {
    "encoder": "encoder_model.onnx",
    "decoder": "decoder_model.onnx",
    "decoder_with_past": "decoder_with_past_model.onnx",
}


def model_files(workload: Workload, workload_path: Path, rel: str, what: str) -> dict[str, Path]:
    """role -> file for a user model (or a prebuilt precision): one file, or for translation
    a folder holding Optimum's three files."""
    if workload.kind != "translation":
        return {"model": user_file(workload, workload_path, rel, what)}
    folder = (Path(workload_path).parent / rel).resolve()
    if not folder.is_dir():
        raise HarnessError(
            f"{workload_path}: workload {workload.name}: a translation {what} must be a folder holding "
            f"{', '.join(OPTIMUM_SEQ2SEQ.values())} (looked at {folder})"
        )
    return {role: user_file(workload, workload_path, f"{rel}/{name}", what) for role, name in OPTIMUM_SEQ2SEQ.items()}


def user_model_files(workload: Workload, workload_path: Path) -> dict[str, Path]:
    assert workload.model.path is not None
    return model_files(workload, workload_path, workload.model.path, "model.path")


def _load(path: Path) -> onnx.ModelProto:
    try:
        return onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
        raise HarnessError(f"{path}: not a loadable ONNX model: {exc}") from None


def _user(workload: Workload, workload_path: Path) -> Source:
    files = user_model_files(workload, workload_path)
    if workload.kind == "translation":
        return _user_translation(workload, files)
    path = files["model"]
    model = _load(path)
    io = graph_io(model)
    if workload.kind == "text-generation":
        logits = next((o for o in io["outputs"] if o["name"] == "logits"), None)
        if logits is None or not isinstance(logits["shape"][-1], int):
            raise HarnessError(f"{path}: a text-generation model needs a 'logits' output with a fixed vocab dim")
        io["vocab"] = logits["shape"][-1]
    return Source({"model": model}, io, {"path": str(path), "sha256": sha256_of(path)})


def _user_translation(workload: Workload, files: dict[str, Path]) -> Source:
    models = {role: _load(path) for role, path in files.items()}
    logits = next((o for o in graph_io(models["decoder"])["outputs"] if o["name"] == "logits"), None)
    if logits is None or not isinstance(logits["shape"][-1], int):
        raise HarnessError(f"{files['decoder']}: a translation decoder needs a 'logits' output with a fixed vocab dim")
    opts = workload.model.options
    io = {
        "vocab": logits["shape"][-1],
        "decoder_start_token_id": int(opts.get("decoder_start_token_id", 0)),
        "eos_token_id": int(opts.get("eos_token_id", 1)),
    }
    source = {"path": str(files["encoder"].parent), "sha256": {r: sha256_of(p) for r, p in files.items()}}
    return Source(models, io, source)


def _gguf(workload: Workload, workload_path: Path) -> Source:
    """A text-generation workload naming a llama GGUF: the ONNX decoder built from its weights."""
    from harness.builds.gguf_llama import build_from_gguf

    assert workload.model.gguf is not None
    model, io, source = build_from_gguf(user_file(workload, workload_path, workload.model.gguf, "model.gguf"))
    return Source({"model": model}, io, source)


def load_source(workload: Workload, workload_path: Path) -> Source:
    if workload.model.builtin is not None:
        return _builtin(workload)
    if workload.model.gguf is not None and workload.kind == "text-generation":
        return _gguf(workload, workload_path)
    return _user(workload, workload_path)
