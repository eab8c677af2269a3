"""result.json: what a runner reports for one cell — untrusted until :func:`parse_result` accepts it."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import HarnessError
from harness.protocol.job import Job
from harness.protocol.limits import max_samples
from harness.protocol.probe import ProbeFacts

StopReason = Literal["min_iterations+min_seconds", "max_seconds", "max_iterations"]
#: a file or folder name inside the job's out_dir: no separators, never "." or ".."
OUTPUT_NAME = r"^[A-Za-z0-9_][A-Za-z0-9._-]*$"

# Bounds on every number a device reports: finite, positive where it must be, and below a sane
# ceiling, so an absurd value (a latency of 1e308) fails its own cell instead of overflowing a
# statistic, a page or every later compare with that run.
#: a sample, a duration in ms or s, a rate: 1e9 ms is 11 days; nothing a cell measures comes near
MAX_MEASURE = 1e9
#: peak memory in MB: a petabyte
MAX_MEMORY_MB = 1e9
#: a device's monotonic clock in seconds (windows, probe times): 30 000 years of uptime
MAX_CLOCK_S = 1e12
#: a count (nodes, microseconds of kernel time, an integer session setting)
MAX_COUNT = 2**53

FiniteFloat = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_CLOCK_S, le=MAX_CLOCK_S)]
Sample = Annotated[float, Field(gt=0, le=MAX_MEASURE, allow_inf_nan=False)]
Duration = Annotated[float, Field(ge=0, le=MAX_MEASURE, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]

#: metric names the host computes itself: a device's series may not take them (a series named
#: ``rel_l2`` would fill the "rel L2 vs fp32" column), nor their ``name@label`` / ``name:tensor`` /
#: ``name.stat`` forms. analysis.fidelity, probes and session.cell_result name these.
HOST_METRICS = frozenset({
    "l2", "rel_l2", "max_abs", "cosine", "top1_agreement", "top5_agreement", "token_match", "first_divergence",
    "kl_mean", "exact_match", "peak_rss_mb", "peak_pss_mb", "power_w", "power_idle_w", "energy_mj_per_inference",
    "energy_mj_per_token",    "load_ms", "first_inference_ms", "probe_overhead_s", "host_contention_cores", "host_loadavg_before",
    "temp_start_c", "temp_max_c", "temp_end_c", "items_per_s", "tokens_per_s", "prefill_tokens_per_s",
    "decoder_tokens_per_s",
})
HOST_PREFIXES = ("xplat_",)


def host_metric_base(name: str) -> str:
    """The part of a metric name that says what it is: ``rel_l2:logits`` -> ``rel_l2``."""
    for sep in ("@", ":", "."):
        name = name.split(sep, 1)[0]
    return name


def reserved_metric(name: str) -> bool:
    return host_metric_base(name) in HOST_METRICS or name.startswith(HOST_PREFIXES)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Series(_Model):
    """Raw steady-state samples of one measured quantity (e.g. "latency_ms@b1")."""

    unit: str = Field(min_length=1, max_length=16)
    samples: list[Sample]
    warmup_n: int = Field(ge=0)
    stopped_by: StopReason


class Placement(_Model):
    """Nodes and kernel time one execution provider ran in the profiled run."""

    nodes: Count
    time_us: Count


class Providers(_Model):
    requested: str
    available: list[str]
    session: list[str]
    placement: dict[str, Placement]
    used: str
    fallback: bool
    requested_fraction: float | None = Field(default=None, ge=0, le=1)
    # how ``placement`` was found: a profiled run, or nothing to profile (one provider ran every
    # node: ``placement`` is then empty); absent from runners that do not say
    placement_method: Literal["profiled run", "single provider", "unknown"] | None = None


class MemoryInfo(_Model):
    """Peak memory of the measured session, with the method that measured it. Runners read it
    before the EP-placement profiling session exists (a second session overstated it 25-50 %)
    and say so: "VmHWM (measured session only)", "ru_maxrss (measured session only)"."""

    peak_rss_mb: Annotated[float, Field(gt=0, le=MAX_MEMORY_MB, allow_inf_nan=False)]
    baseline_rss_mb: Annotated[float, Field(ge=0, le=MAX_MEMORY_MB, allow_inf_nan=False)] | None = None
    method: str = Field(min_length=1)


class LoadWindow(_Model):
    """CPU seconds around one steady window: the whole machine's busy time (/proc/stat, all but
    idle and iowait) and the runner's own (its threads and reaped children). What others used is
    busy_s - self_s; the host turns it into cores (``host_contention_cores``)."""

    wall_s: Duration
    busy_s: Duration
    self_s: Duration


class LoadReadings(_Model):
    """How loaded the device was around the cell: the load average before it, and per steady
    window (keyed like ``windows``) the CPU time readings. Absent from runners that predate it."""

    loadavg_before: list[Duration] | None = Field(default=None, min_length=1, max_length=3)
    cpu_count: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    windows: dict[str, LoadWindow] = Field(default_factory=dict)
    error: str | None = None  # e.g. /proc/stat unreadable: no windows
    # per series: steady windows measured again because others took more than measure.contention_cores
    retries: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)


class ProbeRecord(_Model):
    """Raw probe readings: device-monotonic times and the raw text read at each."""

    t: list[FiniteFloat] = Field(default_factory=list)
    v: list[str] = Field(default_factory=list)
    overhead_s: Duration = 0.0
    error: str | None = None

    @model_validator(mode="after")
    def _paired(self) -> ProbeRecord:
        if len(self.t) != len(self.v):
            raise ValueError(f"probe has {len(self.t)} times but {len(self.v)} values")
        return self


class Snapshots(_Model):
    """Files read before and after the cell; a failed read is None plus "<name>.error"."""

    before: dict[str, str | None] = Field(default_factory=dict)
    after: dict[str, str | None] = Field(default_factory=dict)


class Result(_Model):
    protocol: Literal[1]
    status: Literal["ok", "failed"]
    error: str | None = None
    traceback: str | None = None
    env: ProbeFacts
    providers: Providers | None = None
    session: dict[str, Annotated[int, Field(ge=-MAX_COUNT, le=MAX_COUNT)] | str | bool | None] = Field(
        default_factory=dict)
    load_ms: dict[str, Duration] = Field(default_factory=dict)
    first_inference_ms: dict[str, Duration] = Field(default_factory=dict)
    series: dict[str, Series] = Field(default_factory=dict)
    memory: MemoryInfo | None = None
    load: LoadReadings | None = None
    probes: dict[str, ProbeRecord] = Field(default_factory=dict)
    windows: dict[str, tuple[FiniteFloat, FiniteFloat]] = Field(default_factory=dict)
    snapshots: Snapshots = Field(default_factory=Snapshots)
    measure_s: Duration = 0.0
    held_s: Duration = 0.0  # of measure_s: warm-up held for a handoff past the runner's own rule
    outputs: str | None = Field(default=None, pattern=OUTPUT_NAME, max_length=255)

    @field_validator("memory", mode="before")
    @classmethod
    def _empty_memory(cls, v: Any) -> Any:
        return None if v == {} else v  # the agent writes {} when it failed before measuring

    @field_validator("series")
    @classmethod
    def _device_names(cls, v: dict[str, Series]) -> dict[str, Series]:
        for name in v:
            if reserved_metric(name):
                raise ValueError(f"series {name!r} takes the name of a metric the host computes "
                                 f"({host_metric_base(name) if host_metric_base(name) in HOST_METRICS else 'xplat_*'})")
        return v

    @field_validator("windows")
    @classmethod
    def _ordered_windows(cls, v: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for name, (t0, t1) in v.items():
            if t1 < t0:
                raise ValueError(f"window {name!r} ends before it starts")
        return v

    @model_validator(mode="after")
    def _ok_is_complete(self) -> Result:
        if self.status == "ok":
            missing = [name for name, value in (("series", self.series), ("memory", self.memory),
                                                ("providers", self.providers)) if not value]
            if missing:
                raise ValueError(f"status ok but no {', '.join(missing)}")
            empty = [name for name, s in self.series.items() if not s.samples]
            if empty:
                raise ValueError(f"status ok but series {empty} have no samples")
        elif not self.error:
            raise ValueError("status failed without an error")
        if self.held_s > self.measure_s:  # the held warm-up is part of the measured time
            raise ValueError(f"held_s {self.held_s} exceeds measure_s {self.measure_s}")
        return self


class ProtocolError(HarnessError):
    """A runner's result.json broke protocol 1; ``where`` is the field path ("series.latency_ms.samples.3")."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.where = where


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if not (isinstance(part, str) and part in _UNION_TAGS)) or "(top level)"


_UNION_TAGS = {"function-after[_paired(), ProbeRecord]", "function-after[_ordered(), JobMeasure]"}


def parse_result(data: str | bytes | dict[str, Any], job: Job | None = None) -> Result:
    """Validate a runner's result; raise ProtocolError naming the first bad field and why.

    With the job, also check what only the job can tell (outputs only when asked for).
    """
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, or a 5000-digit number
            raise ProtocolError(f"result.json is not JSON: {exc}") from None
        except RecursionError:
            raise ProtocolError("result.json is not JSON a host can read: nested too deeply") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"result.json must be a JSON object, got {type(data).__name__}")
    if data.get("protocol") != 1:
        raise ProtocolError(f"result.json speaks protocol {data.get('protocol')!r}; the host speaks 1", "protocol")
    try:
        result = Result.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _where(first["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        value = repr(first.get("input"))
        value = value if len(value) <= 80 else value[:77] + "..."
        raise ProtocolError(f"result.json field {where}: {first['msg']} (got {value}){more}", where) from None
    if job is not None:
        _check_against_job(result, job)
    return result


def _check_against_job(result: Result, job: Job) -> None:
    if result.outputs and not job.save_outputs:
        raise ProtocolError("result.json names outputs the job did not ask for", "outputs")
    limit = max_samples(job)
    for name, series in result.series.items():
        if len(series.samples) > limit:
            raise ProtocolError(f"result.json field series.{name}.samples: {len(series.samples)} samples, more than "
                                f"the job's stopping rule allows ({limit})", f"series.{name}.samples")
