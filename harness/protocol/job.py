"""job.json: what the host asks a runner to do for one cell (all paths absolute on the device)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PROTOCOL_VERSION: Literal[1] = 1
PROBE = "--probe"  # RUNNER --probe: one JSON line of environment facts
JOB_FROM_STDIN = "--job-from-stdin"  # RUNNER --job-from-stdin: start-up first, then the job's path on stdin
#: stdout lines of a runner started with --job-from-stdin, and the stdin line that answers a handoff
READY = "ready"  # start-up done, waiting for the job's path
WARM_UP = "warm-up"  # a handoff job's first warm-up began
GO = "go"  # the host: the steady windows may begin

JobKind = Literal["single", "text-generation", "translation", "llm"]
OptimizationLevel = Literal["disable", "basic", "extended", "all"]
#: what an argv item of a command probe may be replaced by: the runner's own pid
RUNNER_PID = "{pid}"

NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PosFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobSession(_Model):
    """ONNX Runtime session settings, applied as given (None: the runtime's default)."""

    intra_op_num_threads: int | None = Field(default=None, ge=0)
    inter_op_num_threads: int | None = Field(default=None, ge=0)
    graph_optimization_level: OptimizationLevel = "all"
    allow_spinning: bool | None = None


class JobMeasure(_Model):
    """The stopping rule: warm-up by count AND seconds, then at least min_iterations and
    min_seconds of steady samples, at most max_seconds / max_iterations."""

    warmup: int = Field(default=3, ge=0)
    warmup_s: NonNegFloat = 0.2
    min_iterations: int = Field(default=10, ge=1)
    min_seconds: NonNegFloat = 1.0
    max_seconds: PosFloat = 10.0
    max_iterations: int = Field(default=1_000_000, ge=1)
    # Contention: a steady window while other processes took more than contention_cores cores is
    # measured again, at most contention_retries times; the quietest is kept (null: never again).
    contention_cores: PosFloat | None = None
    contention_retries: int = Field(default=2, ge=0, le=10)

    @model_validator(mode="after")
    def _ordered(self) -> JobMeasure:
        if self.max_seconds < self.min_seconds:
            raise ValueError("max_seconds must be >= min_seconds")
        if self.max_iterations < self.min_iterations:
            raise ValueError("max_iterations must be >= min_iterations")
        return self


class FileProbe(_Model):
    """Read a file (sysfs) every interval_s; the raw text is kept, the host parses it."""

    name: str = Field(min_length=1)
    kind: Literal["file"] = "file"
    path: str = Field(min_length=1)
    interval_s: PosFloat = 0.1


class CommandProbe(_Model):
    """Run a command every interval_s (an argv item "{pid}" is the runner's own pid)."""

    name: str = Field(min_length=1)
    kind: Literal["command"] = "command"
    argv: list[str] = Field(min_length=1)
    interval_s: PosFloat = 1.0


class StreamProbe(_Model):
    """Start a command once and keep each line it prints (tegrastats, powermetrics)."""

    name: str = Field(min_length=1)
    kind: Literal["stream"] = "stream"
    argv: list[str] = Field(min_length=1)


class JobTensor(_Model):
    """An ONNX model tensor as the runtime's artifact names and lays it out (``perm``: the transpose
    from the ONNX layout to the artifact's; the runner maps outputs back with its inverse)."""

    onnx: str = Field(min_length=1)
    artifact: str = Field(min_length=1)
    perm: list[int] | None = None
    layout: str | None = None


class JobIo(_Model):
    inputs: list[JobTensor] = Field(default_factory=list)
    outputs: list[JobTensor] = Field(default_factory=list)


class JobRuntime(_Model):
    """The runtime a job runs on when it is not ONNX Runtime (absent: ONNX Runtime with ``provider``).

    ``options`` are the backend's (e.g. ncnn ``num_threads``); ``settings`` what the precision
    needs (e.g. OpenVINO ``INFERENCE_PRECISION_HINT: f32``), applied over the options; ``io`` maps
    the artifact's tensors to the ONNX model's, so outputs are saved under the ONNX names and layout.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9._-]*$")
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)
    settings: dict[str, str | int | float | bool] = Field(default_factory=dict)
    io: JobIo = Field(default_factory=JobIo)


ProbeSpec = Annotated[FileProbe | CommandProbe | StreamProbe, Field(discriminator="kind")]

_ROLES: dict[str, tuple[str, ...]] = {
    "single": ("model",),
    "text-generation": ("model",),
    "translation": ("encoder", "decoder", "decoder_with_past"),
    "llm": ("model",),  # a GGUF file, run by the LLM runner (runner/llm/)
}


class Job(_Model):
    """One cell's job. ``inputs`` is an .npz whose keys are "<label>/<input name>" (label may be
    empty: key "/<name>"); each label is one measured series. ``params`` are kind-specific
    (single: {"feedback": {input: output}}, each timed step fed the previous step's output, as a
    streaming model's state; text-generation: {"grid": [{"label", "prompt", "generate"}]};
    translation: {"max_new_tokens", "decoder_start_token_id"}; llm: {"pp", "tg", "depths", "greedy",
    "greedy_prompt", "ids", "threads", "n_batch", "n_ubatch", "poll"}: llama-bench's tests, one series per
    test ("pp128@d512", tok/s), token ids of the fixed text, greedy tokens kept as outputs).

    ``handoff_s`` > 0 (only in a job given on stdin): the runner prints the line ``warm-up`` when its
    first warm-up begins, and goes on warming up, past its own rule, until the line ``go`` comes on
    stdin (or stdin closes, or handoff_s seconds pass), then warms up once more and begins its first
    steady window. The host starts the next cell's runner in that time, so no steady window shares
    the device with a start-up. The wait is reported as the result's ``held_s``."""

    protocol: Literal[1] = PROTOCOL_VERSION
    kind: JobKind
    models: dict[str, str]
    inputs: str | None
    params: dict[str, Any] = Field(default_factory=dict)
    provider: str = "CPUExecutionProvider"
    provider_options: dict[str, str | int | float | bool] = Field(default_factory=dict)
    runtime: JobRuntime | None = None  # None: ONNX Runtime (``provider``); a runner refuses one it lacks
    session: JobSession = Field(default_factory=JobSession)
    measure: JobMeasure = Field(default_factory=JobMeasure)
    probes: list[ProbeSpec] = Field(default_factory=list)
    idle_s: NonNegFloat = 0.0
    snapshots: dict[str, str] = Field(default_factory=dict)
    save_outputs: bool = True
    out_dir: str = Field(min_length=1)
    handoff_s: NonNegFloat = 0.0
    test_slowdown: NonNegFloat = 0.0  # TEST-ONLY: sleep this fraction of each timed call

    @field_validator("provider_options")
    @classmethod
    def _finite_options(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key, value in v.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"provider option {key!r} is not finite")
        return v

    @model_validator(mode="after")
    def _roles_and_probes(self) -> Job:
        missing = [r for r in _ROLES[self.kind] if r not in self.models]
        if missing:
            raise ValueError(f"a {self.kind} job needs model role(s) {missing}")
        names = [p.name for p in self.probes]
        if len(set(names)) != len(names):
            raise ValueError(f"probe names repeat: {sorted(names)}")
        feedback = self.params.get("feedback")
        if feedback is not None:
            if self.kind != "single":
                raise ValueError(f"params.feedback is for single jobs, not {self.kind}")
            if not isinstance(feedback, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                         for k, v in feedback.items()):
                raise ValueError("params.feedback must map input names to output names")
        return self
