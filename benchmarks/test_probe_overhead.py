"""What does sampling cost the measurement? Latency with probes on vs off, in one run.

The agent runs the same model with no probes and with a typical probe set (battery files
at 10 Hz, 8 thermal zones and cpufreq through one `head` command each at 1 Hz), interleaved
in rounds so machine drift hits both alike. Reported: the ratio of median latencies
(target: within 1.02 of 1) and each probe's own read time (overhead_s) per second of cell.
Measurements, not asserts.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

from benchmarks.agent_module import load_agent
from harness.config.probes import ProbesConfig
from harness.probes import plan_probes
from harness.transport.local import LocalTransport
from tests.helpers import tiny_mlp
from tests.probes.conftest import FakeDevice

ROUNDS = 4


def test_probe_sampling_cost(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    agent = load_agent("harness_agent_probe_bench")
    dev = FakeDevice(tmp_path / "device")
    dev.write("/sys/class/power_supply/battery/current_now", -412000)
    dev.write("/sys/class/power_supply/battery/voltage_now", 3987000)
    for i in range(8):
        dev.zone(i, f"cpu-{i}", 41000 + i)
    dev.policy(0, "schedutil", 1800000, 2400000, 2400000)
    cfg = ProbesConfig.model_validate(
        {
            "power": {
                "source": "battery",
                "charging_disabled": True,
                "interval_s": 0.1,
                "idle_s": 0,
                "current_path": dev.path("/sys/class/power_supply/battery/current_now"),
                "voltage_path": dev.path("/sys/class/power_supply/battery/voltage_now"),
            },
            "thermal": {"zones": [dev.path("/sys/class/thermal/thermal_zone*/temp")], "interval_s": 1.0},
            "clocks": {"cpufreq": dev.path("/sys/devices/system/cpu/cpufreq/policy*"), "interval_s": 1.0},
        }
    )
    plan = plan_probes(cfg, LocalTransport(str(tmp_path / "wd")))
    model = tiny_mlp(tmp_path / "m.onnx", width=512)
    np.savez(tmp_path / "in.npz", **{"/x": np.random.default_rng(0).random((8, 512), dtype=np.float32)})
    base = {
        "protocol": 1,
        "kind": "single",
        "models": {"model": str(model)},
        "inputs": str(tmp_path / "in.npz"),
        "params": {},
        "provider": "CPUExecutionProvider",
        "provider_options": {},
        "session": {"intra_op_num_threads": 1, "inter_op_num_threads": 1},
        "measure": {"warmup": 5, "warmup_s": 0.1, "min_iterations": 50, "min_seconds": 1.5, "max_seconds": 3},
        "out_dir": str(tmp_path / "out"),
        "save_outputs": False,
    }
    with_probes = {**base, "probes": plan.specs, "snapshots": plan.snapshots}

    def one_round(i: int) -> tuple[float, float, dict[str, float]]:
        if i % 2:  # alternate the order so warm-up and drift do not favour one side
            on, off = agent.run_job(with_probes), agent.run_job(base)
        else:
            off, on = agent.run_job(base), agent.run_job(with_probes)
        assert off["status"] == "ok" and on["status"] == "ok", (off["error"], on["error"])
        t0, t1 = on["windows"]["latency_ms"]
        per_s = {k: v["overhead_s"] / (t1 - t0) for k, v in on["probes"].items()}
        return (
            statistics.median(on["series"]["latency_ms"]["samples"]),
            statistics.median(off["series"]["latency_ms"]["samples"]),
            per_s,
        )

    n_rounds = 1 if benchmark.disabled else ROUNDS  # timing off (CI): one on/off pair proves the path
    if benchmark.disabled:
        for job in (base, with_probes):
            job["measure"] = {**base["measure"], "min_seconds": 0.3}  # long enough for a power sample (0.1 s)
    rounds = benchmark.pedantic(lambda: [one_round(i) for i in range(n_rounds)], rounds=1, iterations=1)
    ratio = statistics.median(on / off for on, off, _ in rounds)
    overhead = {k: statistics.median(r[2][k] for r in rounds) for k in rounds[0][2]}
    benchmark.extra_info.update(probes_on_over_off_median_ratio=ratio, overhead_s_per_s=overhead)
    print(
        f"\nmedian latency with probes / without = {ratio:.4f} (target <= 1.02) over {n_rounds} rounds; "
        f"sampler read time per second of cell: {', '.join(f'{k} {v * 1000:.2f} ms' for k, v in overhead.items())}"
    )
