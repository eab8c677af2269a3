"""`harness runner build`: bundles with a verified manifest, reuse, the NDK refusal, profile config."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.builds.runner import RunnerBuild, build_runner, load_bundle, resolve_runner, source_sha256
from harness.builds.runner.parts import host_ort_version
from harness.config.models import NativeRunner
from harness.errors import HarnessError

REPO = Path(__file__).resolve().parents[2]
slow = pytest.mark.slow  # these build (or reuse) a runner bundle


@slow
def test_x86_bundle_lists_every_file_and_is_reused(x86_runner: RunnerBuild, runners_test_root: Path) -> None:
    man = load_bundle(x86_runner.path)  # verifies every file's size and sha256
    assert set(man.files) == {"run.sh", "bin/ort_runner", "lib/libonnxruntime.so.1"}
    assert man.files["bin/ort_runner"].executable and man.files["run.sh"].executable
    assert man.onnxruntime == host_ort_version() and man.target == "linux-x86_64"
    again = build_runner("linux-x86_64", runners_test_root)
    assert again.reused and again.manifest.bundle_id == man.bundle_id


@slow
def test_aarch64_bundle_carries_glibc_and_its_loader(aarch64_runner: RunnerBuild) -> None:
    man = load_bundle(aarch64_runner.path)
    libs = {p.split("/", 1)[1] for p in man.files if p.startswith("lib/")}
    assert {"ld-linux-aarch64.so.1", "libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1",
            "libonnxruntime.so.1"} <= libs
    assert man.files["lib/ld-linux-aarch64.so.1"].executable
    header = subprocess.run(["readelf", "-h", str(aarch64_runner.path / "bin" / "ort_runner")],
                            capture_output=True, text=True, check=True).stdout
    assert "AArch64" in header
    assert "ld-linux-aarch64.so.1\" --library-path" in (aarch64_runner.path / "run.sh").read_text()


@slow
def test_a_tampered_bundle_is_refused(x86_runner: RunnerBuild, tmp_path: Path) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(x86_runner.path, copy)
    with open(copy / "bin" / "ort_runner", "ab") as f:
        f.write(b"\0")
    with pytest.raises(HarnessError, match=r"bin/ort_runner does not match its manifest"):
        load_bundle(copy)
    (copy / "manifest.json").write_text('{"target": "linux-x86_64"}')
    with pytest.raises(HarnessError, match="not a runner bundle manifest"):
        load_bundle(copy)


def test_android_needs_the_ndk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ANDROID_NDK_HOME", raising=False)
    monkeypatch.delenv("ANDROID_NDK_ROOT", raising=False)
    with pytest.raises(HarnessError, match="needs the Android NDK: set ANDROID_NDK_HOME") as err:
        build_runner("android-arm64", tmp_path)
    assert "linux-aarch64" in str(err.value)  # what to use without it
    monkeypatch.setenv("ANDROID_NDK_HOME", str(tmp_path))
    with pytest.raises(HarnessError, match="is not an Android NDK"):
        build_runner("android-arm64", tmp_path)
    assert not any(tmp_path.iterdir())  # refused before fetching or building anything


def test_the_command_refuses_clearly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("ANDROID_NDK")}
    for target, says in (("android-arm64", "ANDROID_NDK_HOME"), ("ios-arm64", "unknown runner target")):
        proc = subprocess.run([sys.executable, "-m", "harness", "runner", "build", "--target", target,
                               "--out", str(tmp_path)], capture_output=True, text=True, env=env, cwd=REPO)
        assert proc.returncode == 2 and says in proc.stderr, proc.stderr


def test_the_source_hash_follows_the_sources(tmp_path: Path) -> None:
    src = tmp_path / "runner"
    shutil.copytree(REPO / "runner", src)
    before = source_sha256("linux-x86_64", "1.32.0", src)
    assert before == source_sha256("linux-x86_64", "1.32.0", src)
    assert before != source_sha256("linux-aarch64", "1.32.0", src) != source_sha256("linux-x86_64", "1.31.0", src)
    (src / "src" / "main.cpp").write_text((src / "src" / "main.cpp").read_text() + "\n// changed\n")
    assert source_sha256("linux-x86_64", "1.32.0", src) != before


def test_a_profile_names_a_target_or_a_path(tmp_path: Path) -> None:
    assert NativeRunner(kind="native", build="linux-aarch64").build == "linux-aarch64"
    assert NativeRunner(kind="native", push="runners/x").push == "runners/x"
    for bad, says in (
        ({"build": "linux-aarch64", "push": "x"}, "either build"),
        ({}, "needs build: <target>, push: <host path> or binary"),
        ({"build": "linux-aarch64", "binary": "/data/local/tmp/r"}, "drop binary"),
        ({"build": "ios-arm64"}, "linux-x86_64"),
    ):
        with pytest.raises(ValidationError, match=says):
            NativeRunner(kind="native", **bad)  # type: ignore[arg-type]
    with pytest.raises(HarnessError, match="harness runner build --target linux-aarch64"):
        resolve_runner("linux-aarch64", None, root=tmp_path)
    with pytest.raises(HarnessError, match="does not exist"):
        resolve_runner(None, str(tmp_path / "nope"))


@slow
def test_a_target_folder_holding_another_target_is_refused(x86_runner: RunnerBuild, tmp_path: Path) -> None:
    shutil.copytree(x86_runner.path, tmp_path / "linux-aarch64")
    with pytest.raises(HarnessError, match="holds a linux-x86_64 runner, not linux-aarch64"):
        resolve_runner("linux-aarch64", None, root=tmp_path)
    folder, manifest = resolve_runner(None, str(tmp_path / "linux-aarch64"))  # as a path it is what it is
    assert manifest is not None and manifest.target == "linux-x86_64"


def test_android_only_code_stays_in_the_ep_table() -> None:
    """House rule: the runner is one program for every target; only the EP table knows Android."""
    users = sorted(p.name for p in (REPO / "runner" / "src").glob("*") if "__ANDROID__" in p.read_text())
    assert users == ["providers.cpp"]
