"""Put a device's runner in place and ask it what it has (shared by sessions and farm preflight).

A runner is either the Python agent (``python3 -c AGENT_BOOT agent.py``: preflight.agent_argv) or a
native program speaking the same protocol (runner/, built by ``harness runner build``); both answer
``--probe`` with one JSON line of environment facts.
"""

from __future__ import annotations

import posixpath
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.builds.runner import MANIFEST, BundleManifest, bundle_name, resolve_runner
from harness.builds.runner.targets import PROVIDER_BUILDS
from harness.config.loader import project_root
from harness.config.models import DeviceProfile, LocalTransportConfig, NativeRunner
from harness.errors import HarnessError, TransportError
from harness.protocol import PROBE, ProbeFacts, probe_line
from harness.session.jobs import agent_source
from harness.transport.base import Transport
from harness.transport.preflight import agent_argv, check_interpreter

PROBE_TIMEOUT_S = 120.0
ORT_CANNOT_START = 3  # the runners' --probe exit code when ONNX Runtime cannot start

# Copies the cached files of a bundle into its folder ("cached relpath mode" triples), replacing
# older bundles of the same target; the manifest is written after, by the caller, as the stamp.
_INSTALL_BUNDLE = r"""set -e
d=$1; shift
for old in "${d%-*}"-*; do [ "$old" = "$d" ] || rm -rf "$old"; done
rm -rf "$d"; mkdir -p "$d"
while [ $# -gt 0 ]; do
  case "$2" in */*) mkdir -p "$d/${2%/*}";; esac
  cp "$1" "$d/$2"; chmod "$3" "$d/$2"; shift 3
done
"""


def runner_program(profile: DeviceProfile) -> str:
    """The interpreter (python runners) or the native runner's host/device path the profile names."""
    runner = profile.runner
    if isinstance(runner, NativeRunner):
        return runner.build or runner.push or runner.binary or ""
    if runner.interpreter:
        return runner.interpreter
    return sys.executable if isinstance(profile.transport, LocalTransportConfig) else "python3"


def _host_path(path: str) -> str:
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else project_root() / p)


def install_bundle(t: Transport, folder: Path, manifest: BundleManifest, prefix: str | None = None) -> list[str]:
    """Push a runner bundle (content-hash cache) into ``<workdir>/runners/<prefix>-<id>/``; its launcher argv.
    ``prefix`` defaults to the target (the LLM runner's bundles use ``llm-<target>``: older bundles of
    the same prefix are replaced, other prefixes kept).

    The device's copy of manifest.json is the stamp: an installed, unchanged bundle costs one read."""
    remote = posixpath.join(t.workdir, "runners", f"{prefix or manifest.target}-{manifest.bundle_id[:12]}")
    stamp = posixpath.join(remote, MANIFEST)
    text = (folder / MANIFEST).read_text()
    if (t.read_text(stamp) or "").strip() != text.strip():
        args: list[str] = []
        for rel, meta in sorted(manifest.files.items()):
            cached = t.push(folder / rel, sha256=meta.sha256).remote
            args += [cached, rel, "755" if meta.executable else "644"]
        res = t.exec(["sh", "-c", _INSTALL_BUNDLE, "sh", remote, *args], timeout=300)
        if res.rc != 0:
            raise TransportError(f"cannot install runner bundle {folder} at {remote}: {res.stderr.strip()[-300:]}",
                                 retryable=False)
        t.write_text(stamp, text)
    return ["sh", posixpath.join(remote, manifest.launcher)]


def install_runner(t: Transport, profile: DeviceProfile) -> list[str]:
    """Push what the runner needs; return the argv prefix that runs a job."""
    runner = profile.runner
    if not isinstance(runner, NativeRunner):
        return agent_argv(runner_program(profile), t.push(agent_source()).remote)
    if runner.build or runner.push:
        local, manifest = resolve_runner(runner.build, _host_path(runner.push) if runner.push else None)
        if manifest is not None:  # a bundle with other runtimes built in keeps its own folder (name-target-id)
            return install_bundle(t, local, manifest, prefix=bundle_name(manifest.target, tuple(sorted(manifest.runtimes))))
        binary = runner.binary or posixpath.join(t.workdir, "bin", local.name)
        cached = t.push(local).remote
        t.makedirs(posixpath.dirname(binary))
        res = t.exec(["sh", "-c", 'cp "$1" "$2" && chmod 755 "$2"', "sh", cached, binary], timeout=120)
        if res.rc != 0:
            raise HarnessError(f"device {profile.name}: cannot install {local} as {binary}: {res.stderr.strip()[-300:]}")
        return [binary]
    assert runner.binary
    return [runner.binary]


def provider_missing(profile: DeviceProfile, facts: dict[str, Any], provider: str) -> str | None:
    """Why a native runner cannot run ``provider`` (its ORT lacks it), or None.

    The cell is then skipped with this reason instead of failing (a failure streak would
    quarantine a phone whose CPU bundle meets its NNAPI backends). The Python agent keeps ORT's
    own behaviour (CPU fallback, flagged)."""
    available = facts.get("providers")
    if not isinstance(profile.runner, NativeRunner) or not isinstance(available, list) or provider in available:
        return None
    where = PROVIDER_BUILDS.get(provider, "a runner whose ONNX Runtime was built with it")
    return (f"the runner's ONNX Runtime {facts.get('onnxruntime', '?')} ({facts.get('target', 'native')}) lacks "
            f"{provider} (it has {', '.join(map(str, available))}); {provider} needs {where}")


def probe_runner(t: Transport, profile: DeviceProfile, argv: list[str]) -> dict[str, Any]:
    """Environment facts (onnxruntime, providers, ...); HarnessError naming the fix."""
    if not isinstance(profile.runner, NativeRunner):
        return check_interpreter(t, profile, argv[-1], interpreter=argv[0])
    res = t.exec([*argv, PROBE], timeout=PROBE_TIMEOUT_S, env=profile.env or None)
    if res.timed_out:
        raise TransportError(f"device {profile.name}: the runner's environment probe timed out")
    facts = probe_line(res.stdout)
    where = f"device {profile.name}: native runner {' '.join(argv)!r}"
    if facts is not None and res.rc in (0, ORT_CANNOT_START):
        try:
            checked = ProbeFacts.model_validate(facts)
        except ValidationError as exc:
            raise HarnessError(f"{where}: its --probe line breaks protocol 1: {exc.errors()[0]['msg']}") from None
        if res.rc == 0 and checked.onnxruntime:
            return facts
        raise HarnessError(
            f"{where}: ONNX Runtime cannot start there: {checked.onnxruntime_error or 'no onnxruntime in its probe'}"
            "\nfix: check the device's CPU against the bundled libonnxruntime (harness runner build --target ...)"
        )
    raise HarnessError(
        f"{where} failed its --probe (exit {res.rc}): "
        f"{(res.stdout + res.stderr).strip()[-800:]}\nfix: install a runner that speaks the harness job protocol "
        f"there (`harness runner build` + runner.build in the profile) or fix runner.binary in the device profile"
    )
