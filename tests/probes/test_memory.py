from __future__ import annotations

import pytest

from harness.probes import memory
from tests.probes import formats


def test_native_runner_meminfo_table_total():
    m = memory.parse_dumpsys_meminfo(formats.MEMINFO_NATIVE)
    assert (m.pss_kb, m.pid, m.process) == (101834, 12345, "/data/local/tmp/harness/ort_runner")
    assert m.pss_mb == pytest.approx(101834 / 1024)


def test_app_summary_total_pss_and_rss():
    m = memory.parse_dumpsys_meminfo(formats.MEMINFO_APP)
    assert (m.pss_kb, m.rss_kb, m.pid) == (39128, 73936, 4242)


def test_gone_process_gives_none():
    assert memory.parse_dumpsys_meminfo("No process found for: 999\n") is None


def test_peak_pss_through_a_fake_dumpsys(dev, local):
    dev.command("dumpsys", f"cat <<'OUT'\n{formats.MEMINFO_NATIVE}OUT\n")
    readings = [memory.read_pss(local, 12345), None, memory.parse_dumpsys_meminfo(formats.MEMINFO_APP)]
    metric = memory.peak_pss(readings)
    assert metric.name == "peak_pss_mb" and metric.unit == "MB"
    assert metric.value == pytest.approx(101834 / 1024)
    assert metric.method == "dumpsys meminfo TOTAL PSS (max of 2)"
    assert memory.pss_probe_spec(12345)["argv"] == ["dumpsys", "meminfo", "12345"]


def test_agent_peak_memory_keeps_its_method():
    m = memory.agent_peak_memory({"memory": {"peak_rss_mb": 81.5, "method": "VmHWM"}})
    assert (m.value, m.unit, m.method) == (81.5, "MB", "VmHWM")
    assert memory.agent_peak_memory({"memory": {}}) is None
