"""A night on a 4-device farm: local, the OpenSSH rig, the adb rig, and an unreachable board."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness.config.farm import load_farm
from harness.farm.night import run_night
from harness.results.store import Store
from tests.farm.conftest import closed_port, local_profile, unreachable_profile, write_farm
from tests.rigs.devicetree import device_path

ISSUE = "https://example.org/issues/42"


def _with_rig_sensors(adb_yaml: Path, root: Path) -> Path:
    """The adb rig's profile reading the rig's fake battery and thermal zones (no chroot on the rig)."""
    data = yaml.safe_load(adb_yaml.read_text())
    data["probes"] = {
        "power": {"source": "battery", "idle_s": 0,
                  "current_path": device_path(root, "/sys/class/power_supply/battery/current_now"),
                  "voltage_path": device_path(root, "/sys/class/power_supply/battery/voltage_now")},
        "thermal": {"zones": [device_path(root, "/sys/class/thermal/thermal_zone*/temp")]},
    }
    adb_yaml.write_text(yaml.safe_dump(data, sort_keys=False))
    return adb_yaml


@pytest.mark.slow
@pytest.mark.rig
def test_night_on_four_devices_quarantines_the_unreachable_one(
    tmp_path: Path, farm_build, ssh_device_yaml: Path, adb_device_yaml: Path, adb_rig
) -> None:
    farm = write_farm(tmp_path, farm_build, [
        {"profile": str(local_profile(tmp_path, "host-a"))},
        {"profile": str(ssh_device_yaml), "labels": {"tier": "board"}},
        {"profile": str(_with_rig_sensors(adb_device_yaml, adb_rig.root)), "labels": {"tier": "phone"}},
        {"profile": str(unreachable_profile(tmp_path, closed_port()))},
    ], known_failures=[{"cell": "rig-ssh/*/int8/*", "issue": ISSUE}])
    cfg = load_farm(farm)
    store = Store(cfg.store_url())
    lines: list[str] = []
    res = run_night(cfg, store, night="2026-01-01", log=lines.append)
    assert res is not None

    cells = store.cells_frame([res.run_id]).set_index("cell_key")
    ok = {k for k, s in cells["status"].items() if s == "ok"}
    assert ok == {"host-a/tiny-mlp/fp32/cpu", "host-a/tiny-mlp/int8/cpu", "rig-ssh/tiny-mlp/fp32/cpu",
                  "rig-adb/tiny-mlp/fp32/cpu", "rig-adb/tiny-mlp/int8/cpu"}, cells[["status", "error"]]
    assert cells.loc["rig-ssh/tiny-mlp/int8/cpu", "error"] == f"known failure: {ISSUE}"
    for p in ("fp32", "int8"):
        row = cells.loc[f"gone-board/tiny-mlp/{p}/cpu"]
        assert row["status"] == "skipped" and row["error"].startswith("quarantined at preflight: unreachable")
    assert len(cells) == 8  # every planned cell is stored: nothing lost, nothing silently dropped

    run = store.get_run(res.run_id)
    assert run["kind"] == "nightly" and run["status"] == "finished"
    assert {k: run["labels"][k] for k in ("night", "shard", "farm")} == {"night": "2026-01-01", "shard": "1/1",
                                                                         "farm": "testfarm"}
    h = res.health
    assert h["totals"] == {**h["totals"], "devices": 4, "online": 3, "quarantined": 1, "cells_ok": 5,
                           "cells_known_failing": 1, "cells_missing": 0}
    gone = next(d for d in h["devices"] if d["device"] == "gone-board")
    assert gone["state"] == "quarantined" and "unreachable" in gone["reason"]
    adb = next(d for d in h["devices"] if d["device"] == "rig-adb")
    assert adb["preflight"]["battery_pct"] == 81 and adb["preflight"]["battery_status"] == "Discharging"
    assert adb["preflight"]["temp_c"] == pytest.approx(41.2) and adb["preflight"]["onnxruntime"]
    assert all(d["time_s"] > 0 for d in h["devices"] if d["state"] == "online")

    site = tmp_path / "site"
    assert json.loads((site / "farm" / "health.json").read_text())["totals"]["quarantined"] == 1
    page = (site / "farm" / "index.html").read_text()
    assert "gone-board" in page and "quarantined at preflight: unreachable" in page
    assert 'href="farm/index.html">Farm</a>' in (site / "index.html").read_text()  # linked from the site nav
    assert any("QUARANTINED" in line and "gone-board" in line for line in lines)
