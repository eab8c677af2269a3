"""A night on a 4-device farm: local, the OpenSSH rig, the adb rig, and an unreachable board."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from harness.config.farm import load_farm
from harness.errors import HarnessError
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
    assert res is not None and res.problems == []

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
    from harness.report.site.publish import publish

    publish(store, site)  # a later `harness publish` keeps the link
    assert 'href="../farm/index.html">Farm</a>' in (site / "series" / "index.html").read_text()
    assert any("QUARANTINED" in line and "gone-board" in line for line in lines)

    # a calibrated device gets a noise score (median calibrated σ_run over its series, in %)
    from harness.farm.health import farm_health
    from harness.records import CalibratedNoise
    from harness.results.analysis_tables import save_run_noise

    fp = adb["fingerprint"]
    save_run_noise(store, [CalibratedNoise(fp, "tiny-mlp", "fp32", "cpu", m, "rig-adb", sigma=f, low=f / 2, high=2 * f,
                                           df=9, n_runs=10, within=0.001) for m, f in (("latency_ms@b1", 0.02), ("x", 0.04))])
    again = {d["device"]: d for d in farm_health(store, "testfarm", "2026-01-01")["devices"]}
    assert again["rig-adb"]["noise_pct"] == pytest.approx(100 * (np.expm1(0.02) + np.expm1(0.04)) / 2, rel=1e-3)
    assert again["host-a"]["noise_pct"] is None or again["host-a"]["fingerprint"] == fp


@pytest.mark.slow
def test_a_device_failing_cells_in_a_row_is_quarantined_for_the_night(tmp_path: Path, farm_build) -> None:
    sick = local_profile(tmp_path, "sick-1")
    data = yaml.safe_load(sick.read_text())
    data["setup"] = [{"argv": ["false"], "when": "cell"}]  # every cell fails deterministically
    sick.write_text(yaml.safe_dump(data, sort_keys=False))
    farm = write_farm(tmp_path, farm_build, [{"profile": str(sick)}, {"profile": str(local_profile(tmp_path, "ok-1"))}],
                      max_consecutive_failures=1, publish_dir=None)
    cfg = load_farm(farm)
    store = Store(cfg.store_url())
    res = run_night(cfg, store, night="2026-01-03")
    assert res is not None
    cells = store.cells_frame([res.run_id]).set_index("cell_key")
    assert cells.loc["sick-1/tiny-mlp/fp32/cpu", "status"] == "failed"
    assert "setup command ['false'] exited 1" in cells.loc["sick-1/tiny-mlp/fp32/cpu", "error"]
    assert cells.loc["sick-1/tiny-mlp/int8/cpu", "status"] == "skipped"  # not retried forever
    assert cells.loc["sick-1/tiny-mlp/int8/cpu", "error"].startswith("quarantined after 1 consecutive failed cells")
    assert set(cells.loc[["ok-1/tiny-mlp/fp32/cpu", "ok-1/tiny-mlp/int8/cpu"], "status"]) == {"ok"}
    health = {d["device"]: d for d in res.health["devices"]}
    assert health["sick-1"]["state"] == "quarantined" and "consecutive failed" in health["sick-1"]["reason"]
    assert health["sick-1"]["cells"] == {"failed": 1, "skipped": 1} and health["ok-1"]["state"] == "online"
    assert res.health["totals"]["cells_failed"] == 1 and res.health_json is None and res.problems == []
    with pytest.raises(HarnessError, match=r"night 2026-01-03 of shard 1/1 already has run .* \(finished\); pass --night"):
        run_night(cfg, store, night="2026-01-03")  # a second start would count the night twice
