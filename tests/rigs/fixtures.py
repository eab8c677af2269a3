"""pytest fixtures for the transport rigs (registered from tests/conftest.py via pytest_plugins).

Session-scoped: ``sshd_rig`` (real OpenSSH sshd + FaultProxy), ``adb_rig`` (Python adbd +
FaultProxy + real adb server on a private port). Function-scoped: ``ssh_device`` /
``adb_device`` return a DeviceProfile for the rig (runner = this interpreter, so the agent
finds numpy + onnxruntime) and ``ssh_device_yaml`` / ``adb_device_yaml`` the same profile
written as a device YAML. Function-scoped fixtures heal injected faults first.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.config.loader import load_device
from harness.config.models import DeviceProfile
from tests.rigs.adb_rig import AdbRig
from tests.rigs.sshd import ALIAS, SshdRig


@pytest.fixture(scope="session")
def sshd_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdRig]:
    rig = SshdRig(tmp_path_factory.mktemp("sshd-rig"))
    rig.start()
    yield rig
    rig.stop()


@pytest.fixture(scope="session")
def adb_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdbRig]:
    rig = AdbRig(tmp_path_factory.mktemp("adb-rig"))
    rig.start()
    yield rig
    rig.stop()


def _profile(name: str, transport: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "transport": transport,
        "runner": {"kind": "python", "interpreter": sys.executable},
        "backends": [{"name": "cpu", "provider": "CPUExecutionProvider"}],
        "threads": {"intra_op": 1, "inter_op": 1},
        "labels": {"rig": transport["kind"]},
    }


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "devices" / f"{data['name']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def ssh_profile_data(rig: SshdRig, **transport: Any) -> dict[str, Any]:
    t = {
        "kind": "ssh",
        "host": ALIAS,  # resolved through the rig's ssh_config (HostName, Port, User, IdentityFile)
        "ssh_config": str(rig.ssh_config),
        "known_hosts": str(rig.known_hosts),
        "connect_timeout_s": 5.0,
        "workdir": rig.workdir,
        **transport,
    }
    return _profile("rig-ssh", t, "Loopback OpenSSH rig (this machine): proves code paths, not a board's numbers")


def adb_profile_data(rig: AdbRig, **transport: Any) -> dict[str, Any]:
    t = {"kind": "adb", "serial": rig.serial, "server": rig.server, "workdir": rig.workdir, **transport}
    return _profile("rig-adb", t, "Python adbd rig on loopback via the real adb server: code paths, not a phone")


@pytest.fixture
def ssh_device_yaml(sshd_rig: SshdRig, tmp_path: Path) -> Path:
    assert sshd_rig.proxy
    sshd_rig.proxy.heal()
    return _write(tmp_path, ssh_profile_data(sshd_rig))


@pytest.fixture
def ssh_device(ssh_device_yaml: Path) -> DeviceProfile:
    return load_device(ssh_device_yaml)


@pytest.fixture
def adb_device_yaml(adb_rig: AdbRig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    adb_rig.heal()
    monkeypatch.setenv("ADBUTILS_ADB_PATH", adb_rig.adb_bin)
    return _write(tmp_path, adb_profile_data(adb_rig))


@pytest.fixture
def adb_device(adb_device_yaml: Path) -> DeviceProfile:
    return load_device(adb_device_yaml)
