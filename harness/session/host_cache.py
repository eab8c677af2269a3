"""Host-side per-workload caches shared by all device workers of a run.

- job inputs: made once per workload (identical for every precision and device, which
  fidelity needs), saved as .npz;
- host outputs: the same job kind run with a precision's artifacts on the host CPU EP, once
  per build + workload + precision + inputs, cached beside the build. fp32's are the fidelity
  reference; each precision's own are the reference of cross-platform agreement.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.builds.inputs import JobInputs, make_job_inputs
from harness.builds.manifest import Manifest, sha256_of, verify_artifact
from harness.config.models import Backend, Threads, Workload
from harness.errors import HarnessError
from harness.session.jobs import REFERENCE_MEASURE, agent_source, build_job

CPU = Backend(name="cpu", provider="CPUExecutionProvider")


@dataclass(frozen=True)
class PreparedInputs:
    job: JobInputs
    npz: Path
    sha256: str


class HostCache:
    def __init__(self, build_dir: Path, manifest: Manifest, workdir: Path | None = None) -> None:
        self.build_dir = build_dir
        self.manifest = manifest
        self._given = Path(workdir) if workdir else None
        self._workdir: Path | None = None
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._inputs: dict[str, PreparedInputs] = {}
        self._refs: dict[str, dict[str, np.ndarray]] = {}

    @property
    def workdir(self) -> Path:
        """The run's host files (inputs, pulled outputs): made on first use, so a run prepared
        but never executed leaves nothing behind; ``remove`` ends it."""
        with self._guard:
            if self._workdir is None:
                if self._given is not None:
                    self._given.mkdir(parents=True, exist_ok=True)
                    self._workdir = self._given
                else:
                    self._workdir = Path(tempfile.mkdtemp(prefix="harness-host-"))
            return self._workdir

    def remove(self) -> None:
        with self._guard:
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def inputs(self, workload: Workload, workload_path: Path) -> PreparedInputs:
        with self._lock("in:" + workload.name):
            if workload.name not in self._inputs:
                entry = self.manifest.workloads[workload.name]
                ji = make_job_inputs(workload, entry, self.build_dir, workload_path)
                npz = self.workdir / f"inputs-{workload.name}.npz"
                np.savez(npz, **ji.arrays)  # type: ignore[arg-type]
                self._inputs[workload.name] = PreparedInputs(ji, npz, sha256_of(npz))
            return self._inputs[workload.name]

    def reference(self, workload: Workload, workload_path: Path) -> dict[str, np.ndarray]:
        """fp32 outputs on the host CPU EP for the same inputs (computed once, cached)."""
        return self.host_outputs(workload, workload_path, "fp32")

    def host_outputs(self, workload: Workload, workload_path: Path, precision: str) -> dict[str, np.ndarray]:
        """``precision``'s artifacts run on the host CPU EP with the job's inputs, once per
        build x workload x precision x inputs (cached beside the build). fp32's is the fidelity
        reference; every precision's is the default reference of cross-platform agreement."""
        prepared = self.inputs(workload, workload_path)
        slot = f"{workload.name}/{precision}"
        with self._lock("ref:" + slot):
            if slot in self._refs:
                return self._refs[slot]
            entry = self.manifest.workloads[workload.name]
            pe = entry.precisions.get(precision)
            if pe is None:
                raise HarnessError(f"build {self.manifest.build_id}: workload {workload.name} has no {precision} artifact"
                                   + (" (the fp32 reference)" if precision == "fp32" else ""))
            key = hashlib.sha256(
                json.dumps(
                    {
                        "files": {r: a.sha256 for r, a in sorted(pe.files.items())},
                        "inputs": prepared.sha256,
                        "params": prepared.job.params,
                        "kind": prepared.job.kind,
                    },
                    sort_keys=True,
                ).encode()
            ).hexdigest()[:16]
            cached = self._reference_dir() / f"{workload.name}-{key}.npz"  # the key holds the artifacts' sha256
            if not cached.is_file():
                self._compute_reference(workload, precision, pe.files, prepared, cached)
            with np.load(cached, allow_pickle=False) as z:
                self._refs[slot] = {k: z[k] for k in z.files}
            return self._refs[slot]

    def _reference_dir(self) -> Path:
        d = self.build_dir / ".reference"
        try:
            d.mkdir(exist_ok=True)
            probe = d / ".w"
            probe.touch()
            probe.unlink()
            return d
        except OSError:  # a read-only build folder: keep it with the run's host files
            d = self.workdir / "reference"
            d.mkdir(exist_ok=True)
            return d

    def _compute_reference(self, workload: Workload, precision: str, files: Any, prepared: PreparedInputs,
                           dest: Path) -> None:
        out_dir = Path(tempfile.mkdtemp(prefix=f"ref-{workload.name}-{precision}-", dir=self.workdir))
        models = {role: str(verify_artifact(self.build_dir, art)) for role, art in files.items()}
        job = build_job(
            kind=prepared.job.kind,
            models=models,
            inputs=str(prepared.npz),
            params=prepared.job.params,
            backend=CPU,
            threads=Threads(),
            measure=REFERENCE_MEASURE,
            out_dir=str(out_dir),
        )
        job_path = out_dir / "job.json"
        job_path.write_text(json.dumps(job))
        proc = subprocess.run(
            [sys.executable, str(agent_source()), str(job_path)], capture_output=True, text=True, timeout=1800
        )
        result_path = out_dir / "result.json"
        if not result_path.is_file():
            raise HarnessError(f"{precision} host run for {workload.name} crashed (rc {proc.returncode}): "
                               f"{proc.stderr[-2000:]}")
        result = json.loads(result_path.read_text())
        if result["status"] != "ok" or not result.get("outputs"):
            raise HarnessError(f"{precision} host run for {workload.name} failed: {result.get('error')}")
        tmp = dest.with_suffix(".part.npz")
        (out_dir / result["outputs"]).replace(tmp)
        tmp.replace(dest)
