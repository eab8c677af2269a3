"""What a device sends back for a cell, taken in as untrusted input before anything is stored.

``fetch_result`` pulls ``result.json`` (a regular file of at most ``MAX_RESULT_BYTES``) and
validates it against protocol 1 and the cell's job (harness/protocol): an invalid one raises
``ProtocolError`` naming the field and why, and the cell fails with that message.
``fetch_outputs`` pulls the outputs file only up to what the fp32 reference says to expect
(and the per-cell budget), then checks the archive before numpy reads it: members are ``.npy``
arrays, each within ``MAX_OUTPUT_BYTES``, named like the reference's, with its shape.
"""

from __future__ import annotations

import json
import posixpath
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from harness.protocol import Job, ProtocolError, Result, parse_result
from harness.protocol.limits import (
    MAX_OUTPUT_BYTES,
    MAX_PULL_BYTES,
    MAX_RESULT_BYTES,
    OUTPUT_SLACK_FACTOR,
    OUTPUT_SLACK_PER_ARRAY,
)
from harness.transport.base import RemoteFileMissing, Transport

RESULT_NAME = "result.json"


class Budget:
    """Bytes one cell may still pull."""

    def __init__(self, total: int = MAX_PULL_BYTES) -> None:
        self.left = total

    def take(self, path: Path) -> None:
        self.left -= path.stat().st_size


def fetch_result(t: Transport, job_dir: str, job: Job, local: Path,
                 budget: Budget) -> tuple[Result, dict[str, Any]] | None:
    """The validated result (and the JSON it came from), or None when the runner wrote none."""
    try:
        t.pull(posixpath.join(job_dir, RESULT_NAME), local, max_bytes=min(MAX_RESULT_BYTES, budget.left))
    except RemoteFileMissing:
        return None
    try:
        budget.take(local)
        raw = local.read_bytes()
    finally:
        local.unlink(missing_ok=True)
    result = parse_result(raw, job)
    data = json.loads(raw)  # parse_result accepted it: JSON, an object
    return result, data


def expected_output_bytes(reference: Mapping[str, np.ndarray]) -> int:
    return sum(OUTPUT_SLACK_FACTOR * np.asarray(a).nbytes + OUTPUT_SLACK_PER_ARRAY for a in reference.values())


def fetch_outputs(t: Transport, job_dir: str, result: Result, local: Path, reference: Mapping[str, np.ndarray],
                  budget: Budget) -> dict[str, np.ndarray]:
    """The outputs the runner saved, pulled within the budget and checked against the reference."""
    if not result.outputs:
        return {}
    cap = min(expected_output_bytes(reference), budget.left)
    try:
        t.pull(posixpath.join(job_dir, result.outputs), local, max_bytes=cap)
    except RemoteFileMissing:
        raise ProtocolError(f"result.json names outputs {result.outputs!r} but the runner wrote no such file",
                            "outputs") from None
    try:
        budget.take(local)
        return load_outputs(local, reference)
    finally:
        local.unlink(missing_ok=True)


def load_outputs(path: Path, reference: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Read an outputs .npz after checking every member's declared size, name and shape."""
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ProtocolError(f"outputs file is not an .npz archive: {exc}", "outputs") from None
    total = 0
    for m in members:
        key = m.filename.removesuffix(".npy")
        if not m.filename.endswith(".npy") or key not in reference:
            raise ProtocolError(f"outputs file holds {m.filename!r}, which is no output of the fp32 reference "
                                f"(expected {sorted(reference)})", "outputs")
        total += m.file_size
        if m.file_size > MAX_OUTPUT_BYTES or total > expected_output_bytes(reference):
            raise ProtocolError(f"outputs file: {m.filename!r} unpacks to {m.file_size} bytes, more than the fp32 "
                                f"reference's outputs can need", "outputs")
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:  # a corrupt member, an object array
        raise ProtocolError(f"outputs file could not be read as arrays: {exc}", "outputs") from None
    for key, arr in out.items():
        want = np.asarray(reference[key]).shape
        if arr.shape != want:
            raise ProtocolError(f"outputs file: {key!r} has shape {list(arr.shape)}, the fp32 reference's is "
                                f"{list(want)}", f"outputs.{key}")
        if arr.dtype.kind not in "biuf":
            raise ProtocolError(f"outputs file: {key!r} holds {arr.dtype} values, not numbers", f"outputs.{key}")
    return out
