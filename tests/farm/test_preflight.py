"""Preflight on local devices: battery, heat, storage, runtime, and device locks (busy vs stale)."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from harness.config.farm import Preflight
from harness.config.loader import load_device
from harness.config.models import DeviceProfile
from harness.farm.preflight import check_all, check_device
from harness.transport.local import LocalTransport
from harness.transport.lock import device_lock
from tests.farm.conftest import closed_port, local_profile, unreachable_profile


@pytest.fixture
def device(tmp_path: Path) -> DeviceProfile:
    return load_device(local_profile(tmp_path, "bench-1"))


def _sysfs(tmp_path: Path, capacity: str, status: str, temp_mc: str) -> Preflight:
    bat = tmp_path / "sys/class/power_supply/battery"
    bat.mkdir(parents=True)
    (bat / "capacity").write_text(capacity + "\n")
    (bat / "status").write_text(status + "\n")
    zone = tmp_path / "sys/class/thermal/thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "type").write_text("cpu-0\n")
    (zone / "temp").write_text(temp_mc + "\n")
    return Preflight(battery_dirs=[str(bat)], thermal_zones=[str(tmp_path / "sys/class/thermal/thermal_zone*/temp")],
                     min_battery_pct=20, max_temp_c=50, min_free_mb=1)


def test_a_fit_device_passes_with_its_facts(tmp_path: Path, device: DeviceProfile) -> None:
    res = check_device(device, _sysfs(tmp_path, "64", "Discharging", "38500"))
    assert res.ok, res.reason
    assert res.facts["battery_pct"] == 64 and res.facts["battery_status"] == "Discharging"
    assert res.facts["temp_c"] == pytest.approx(38.5) and res.facts["temp_zone"] == "cpu-0"
    assert res.facts["free_mb"] > 1 and res.facts["onnxruntime"] and res.facts["python"]


@pytest.mark.parametrize(("capacity", "status", "temp", "ok", "why"), [
    ("12", "Discharging", "30000", False, "battery 12 % < 20 % and not charging (Discharging)"),
    ("12", "Charging", "30000", True, None),  # low but on the charger: fine
    ("90", "Full", "71000", False, "too hot: cpu-0 at 71.0 °C > 50 °C"),
])
def test_battery_and_heat_limits(tmp_path: Path, device: DeviceProfile, capacity: str, status: str, temp: str,
                                 ok: bool, why: str | None) -> None:
    res = check_device(device, _sysfs(tmp_path, capacity, status, temp))
    assert (res.ok, res.reason) == (ok, why)


def test_storage_runtime_and_reachability_failures_name_the_problem(tmp_path: Path, device: DeviceProfile) -> None:
    full = check_device(device, Preflight(min_free_mb=1e12))
    assert not full.ok and full.reason.startswith("free storage") and "< 1000000000000 MB" in full.reason
    no_ort = device.model_copy(update={"runner": device.runner.model_copy(update={"interpreter": "/nonexistent/py"})})
    bad = check_device(no_ort, Preflight(min_free_mb=1))
    assert not bad.ok and bad.reason.startswith("runner not ready:") and "/nonexistent/py" in bad.reason
    gone = load_device(unreachable_profile(tmp_path, closed_port()))
    both = check_all([device, gone], Preflight(min_free_mb=1))
    assert [r.ok for r in both] == [True, False] and both[1].reason.startswith("unreachable:")


def test_a_device_held_by_another_orchestrator_is_quarantined(device: DeviceProfile) -> None:
    t = LocalTransport(device.transport.workdir)  # type: ignore[union-attr]
    with device_lock(t, "harness nightly shard 2/2 on lab-host-2"):
        res = check_device(device, Preflight(min_free_mb=1))
        # checked before anything else: nothing pushed or installed under the other orchestrator's cells
        # (run/ holds the pidfiles of the transport's own running commands, as on ssh and adb)
        assert {p.name for p in Path(t.workdir).iterdir()} - {"run"} <= {"lock"}
        assert Path(t.lock_dir).is_dir()  # the host's lock: one for every profile of this machine
        assert not any((Path(t.workdir) / "run").glob("*.pid"))
    assert not res.ok and "busy" in res.reason and "shard 2/2 on lab-host-2" in res.reason
    assert check_device(device, Preflight(min_free_mb=1)).ok  # released: free again


def test_a_stale_lock_left_by_a_crash_is_taken_over(device: DeviceProfile) -> None:
    lock = Path(LocalTransport(device.transport.workdir).lock_dir)  # type: ignore[union-attr]
    lock.mkdir(parents=True)
    crashed = {"owner": "harness nightly on lab-host-9", "host": "lab-host-9", "pid": 4242, "token": "t0",
               "since": "2026-01-01T02:00:00+00:00"}
    (lock / "owner.json").write_text(json.dumps(crashed) + "\n")
    (lock / "heartbeat").write_text(f"{int(time.time()) - 3600}\n")  # an hour without a heartbeat
    assert crashed["host"] != socket.gethostname()
    res = check_device(device, Preflight(min_free_mb=1))
    assert res.ok, res.reason
    assert res.facts["stale_lock_taken_from"]["host"] == "lab-host-9"
    assert not lock.exists()  # preflight released it again
