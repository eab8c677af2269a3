"""How much a runner may send back for one cell. A device's result is untrusted input: the host
refuses anything beyond these before it is read, so a runner that writes gigabytes (or points
its outputs at ``/dev/zero``) fails its own cell and never fills the host's disk."""

from __future__ import annotations

from typing import Any

from harness.protocol.job import Job

MAX_RESULT_BYTES = 64 << 20  # result.json: a million samples as JSON is ~20 MB
MAX_OUTPUT_BYTES = 256 << 20  # one array inside outputs.npz
MAX_PULL_BYTES = 512 << 20  # everything pulled for one cell (result.json + outputs)
#: an outputs.npz may exceed the fp32 reference's bytes by this factor (another dtype) ...
OUTPUT_SLACK_FACTOR = 2
#: ... plus this per array (the .npy header and the zip entry)
OUTPUT_SLACK_PER_ARRAY = 4096


def max_samples(job: Job) -> int:
    """The most samples one series may hold under this job's stopping rule: ``max_iterations``
    per measured entry, times the tokens one iteration times (generation, translation), times
    the grid entries that share a series (text-generation's ttft per prompt)."""
    params = job.params or {}
    raw = params.get("grid")
    grid: list[Any] = raw if isinstance(raw, list) else []
    tokens = 1
    if job.kind == "text-generation":
        tokens = max([int(g.get("generate", 1)) for g in grid if isinstance(g, dict)] or [1])
    elif job.kind == "translation":
        tokens = int(params.get("max_new_tokens", 1) or 1)
    return job.measure.max_iterations * max(1, tokens) * max(1, len(grid))
