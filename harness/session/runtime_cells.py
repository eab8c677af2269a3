"""What a cell of a runtime other than ONNX Runtime needs from the build and the device."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.builds.manifest import Artifact, WorkloadEntry
from harness.builds.runner import runner_runtimes
from harness.config.models import Backend, DeviceProfile, NativeRunner
from harness.errors import HarnessError


def runtime_missing(profile: DeviceProfile, facts: Mapping[str, Any], runtime: str) -> str | None:
    """Why the device's runner cannot run ``runtime`` (its ``--probe`` lists no such runtime), or None.
    The cell is skipped with it: a board without ncnn is no failure streak."""
    have = facts.get("runtimes")
    if not isinstance(have, Mapping) or runtime in have:
        return None
    listed = ", ".join(f"{k} {v}" for k, v in sorted(have.items())) or "none"
    why = facts.get("runtimes_missing")
    why = why.get(runtime) if isinstance(why, Mapping) else None  # the probe's own reason, where it gives one
    if isinstance(profile.runner, NativeRunner):
        fix = (f"build the native runner with it (harness runner build --target ... --runtime {runtime}) and name "
               f"that bundle in runner.push" if runtime in runner_runtimes() else
               f"the native runner has no {runtime} kind: run it through the Python agent (runner: kind: python)")
    else:
        fix = "install it there (see README, Runtimes)"
    return (f"device {profile.name}: the runner has no {runtime}" + (f": {why}" if why else "")
            + f" (its --probe lists runtimes: {listed}); {fix}")


def runtime_artifacts(entry: WorkloadEntry, backend: Backend, precision: str, facts: Mapping[str, Any]
                      ) -> tuple[dict[str, Artifact], dict[str, Any] | None, dict[str, Any]]:
    """(files by role, the job's runtime block, what the cell's result records about its runtime).

    ONNX Runtime: the build's own variant, no runtime block, nothing recorded (results read as before)."""
    if backend.provider is not None:
        return entry.precisions[precision].files, None, {}
    made = entry.runtimes.get(backend.runtime, {}).get(precision)
    if made is None or not made.files:
        why = (made.skipped or made.error) if made is not None else "not converted"
        raise HarnessError(f"build has no {backend.runtime} {precision} artifact for this workload ({why})")
    versions = facts.get("runtimes")
    info = {
        "name": backend.runtime,
        "version": versions.get(backend.runtime) if isinstance(versions, Mapping) else None,
        "options": dict(backend.options),
        "settings": dict(made.settings),
        "meaning": made.meaning,
        "converter": made.converter,
        "source_precision": made.source_precision,
        "layouts_mapped": [f"{t['onnx']}: {t.get('layout')}" for t in (*made.io.get("inputs", []),
                                                                       *made.io.get("outputs", [])) if t.get("perm")],
    }
    return made.files, {"settings": dict(made.settings), "io": made.io}, {"runtime": info}
