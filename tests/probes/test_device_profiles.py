"""The shipped example device profiles validate and declare what a lab needs to see."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.loader import load_device

DEVICES = Path(__file__).resolve().parents[2] / "devices"
# profiles of other machines (this machine's own, transport local — local, local-native, local-runtimes,
# local-llm — are views of the host, with no soc or power rail to declare)
EXAMPLES = sorted(p for p in DEVICES.glob("*.yaml") if load_device(p).transport.kind != "local")


def test_the_example_set_covers_the_device_classes():
    socs = {load_device(p).labels.get("soc") for p in EXAMPLES}
    assert {"sm8550", "sm7475", "mt6985", "apple-m2", "orin-nano", "bcm2712", "bcm2711"} <= socs


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_profile(path):
    dev = load_device(path)
    assert dev.example, "shipped profiles are examples: never run unless selected by name"
    assert {"soc", "tier", "os"} <= set(dev.labels)
    assert dev.threads.intra_op
    power = dev.probes.power
    if dev.labels["soc"] == "bcm2711":
        assert power.source == "none"  # the Pi 4 has no power sensing: absent, never zero
    else:
        assert power.source != "none" and power.tier in ("external", "rail", "battery", "estimate")
    if dev.transport.kind == "adb":
        assert dev.runner.kind == "native"  # no Python onnxruntime on stock Android
        assert dev.probes.throttling.android_thermal_status
    if dev.labels["os"] != "macos":
        assert dev.probes.thermal.max_start_temp_c is not None
