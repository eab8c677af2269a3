from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from harness.config.probes import ProbesConfig
from harness.probes import interpret, memory, plan_probes
from tests.probes import formats
from tests.probes.agent_job import AGENT, make_job, tiny_inputs, tiny_model
from tests.rigs.devicetree import build_device_tree


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


def test_pss_probe_is_planned_for_the_runner_itself(local):
    plan = plan_probes(ProbesConfig.model_validate({"memory": {"pss": True, "pss_interval_s": 0.2}}), local)
    assert plan.specs == [{"name": "memory.pss", "kind": "command", "argv": ["dumpsys", "meminfo", "{pid}"],
                           "interval_s": 0.2}]
    assert plan_probes(ProbesConfig(), local).specs == []


def test_missing_pss_is_flagged_not_invented(local):
    cfg = ProbesConfig.model_validate({"memory": {"pss": True}})
    plan = plan_probes(cfg, local)
    result = {"probes": {"memory.pss": {"t": [1.0], "v": ["No process found for: 7"], "overhead_s": 0.0, "error": None}}}
    out = interpret(cfg, plan, result, 10)
    assert not any(m.name == "peak_pss_mb" for m in out.metrics)
    assert any(f.startswith("memory: no PSS reading") for f in out.flags)


@pytest.mark.slow
def test_real_agent_polls_pss_of_its_own_pid(tmp_path, local, monkeypatch):
    """The agent replaces "{pid}" with its pid; the rig's dumpsys reads the kernel's real Pss."""
    root = build_device_tree(tmp_path / "phone")
    monkeypatch.setenv("PATH", f"{root / 'system/bin'}{os.pathsep}{os.environ['PATH']}")
    cfg = ProbesConfig.model_validate({"memory": {"pss": True, "pss_interval_s": 0.1}})
    plan = plan_probes(cfg, local)
    job = make_job(str(tiny_model(tmp_path / "t.onnx")), str(tiny_inputs(tmp_path / "in.npz")), plan,
                   str(tmp_path / "out"), min_seconds=0.5)
    (tmp_path / "job.json").write_text(json.dumps(job))
    proc = subprocess.run([sys.executable, str(AGENT), str(tmp_path / "job.json")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    readings = [memory.parse_dumpsys_meminfo(v) for v in result["probes"]["memory.pss"]["v"]]
    assert len(readings) >= 3 and all(r is not None and r.pid == result["env"]["pid"] for r in readings)
    out = interpret(cfg, plan, result, 10)
    pss = next(m for m in out.metrics if m.name == "peak_pss_mb")
    assert pss.method.startswith("dumpsys meminfo TOTAL PSS (max of")
    # PSS splits shared pages among their users: never above the process's peak RSS (VmHWM)
    assert 1.0 < pss.value <= result["memory"]["peak_rss_mb"] * 1.01
