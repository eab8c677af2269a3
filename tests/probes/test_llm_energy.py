"""Energy per token of llm cells, end to end: a tiny llama GGUF's F16 on the LLM runner (llama.cpp) and
its ONNX decoder's fp32 on ONNX Runtime (the Python agent), `harness run` over the real adb server to
the adbd rig, whose simulated fuel gauge draws current while a runner's process is busy (the same
battery simulation as the other power tests, following each cell's runner in turn).

Each cell reports energy per generated token from the tg windows and per prompt token from the pp
windows, each equal to an independent computation from the same raw fuel-gauge readings the
runner recorded; a generated token costs more than a prompt token (one decode step each, against
one batched call for the whole prompt); `harness table --llm` and the run report show both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.plan import Filters
from harness.report.run_report import write_run_report
from harness.results.store import Store
from harness.session.launch import RunRequest, execute, prepare_run
from harness.views.llm_table import load_llm_table
from tests.builds.llama_gguf import write_tiny_llama
from tests.probes.battery_sim import SIM_PHONE, VOLTAGE_UV, BatterySim, battery_power, processes
from tests.rigs.adb_rig import AdbRig
from tests.rigs.devicetree import device_path
from tests.rigs.fixtures import adb_profile_data

pytestmark = [pytest.mark.slow, pytest.mark.rig]

LLM = {"pp": [64], "tg": [4], "depths": [0, 8], "greedy": 0, "threads": 1}
MEASURE = {"warmup": 1, "warmup_s": 0.0, "min_iterations": 3, "min_seconds": 0.6, "max_seconds": 3.0}
SHELLS = {"sh", "bash", "dash"}


class RunnerBatterySim(BatterySim):
    """Follows each non-shell process given a job in turn (the LLM runner exec'd by run.sh, the agent)."""

    followed: list[int]

    def _loop(self) -> None:
        self.followed = []
        while not self._stop.is_set():
            self.pid = None
            super()._loop()  # finds one, follows it until it exits (or the simulation stops)
            if self.pid is not None:
                self.followed.append(self.pid)

    def _find(self) -> int | None:
        for pid, argv in processes():
            if Path(argv[0]).name in SHELLS:
                continue
            if any(a.startswith(self._prefix) and a.endswith(self._needle) for a in argv[1:]):
                return pid
        return None


def _config(tmp: Path, rig: AdbRig) -> tuple[Path, Path]:
    devices, wl = tmp / "devices", tmp / "workloads"
    devices.mkdir()
    wl.mkdir()
    write_tiny_llama(wl / "tiny.gguf", seed=5, tokenizer=True)
    (wl / "llm-tiny.yaml").write_text(yaml.safe_dump({
        "name": "llm-tiny", "kind": "llm", "model": {"gguf": "tiny.gguf"}, "precisions": ["F16", "fp32"], "llm": LLM,
        "measure": MEASURE}))
    data = adb_profile_data(rig)
    backends = [{"name": "llama-cpu", "runtime": "llama.cpp"}, {"name": "cpu", "provider": "CPUExecutionProvider"}]
    data.update(backends=backends, probes={"power": battery_power(rig.root, **SIM_PHONE)})
    (devices / "phone.yaml").write_text(yaml.safe_dump(data))
    return devices, wl


def _readings(probes: dict[str, Any], name: str) -> tuple[np.ndarray, np.ndarray]:
    rec = probes[name]
    return np.asarray(rec["t"], float), np.asarray([float(v) for v in rec["v"]], float)


def _independent_mj_per_token(result: dict[str, Any], kind: str) -> float:
    """(mean fuel-gauge power in each of the kind's windows - mean in the idle window) x its length,
    summed, over the tokens of its steady repetitions: from the raw readings, µA x µV."""
    t, current = _readings(result["probes"], "power.current")
    watts = -current * 1e-6 * VOLTAGE_UV * 1e-6  # the rig's voltage is constant: the simulation's

    def mean_in(w: list[float]) -> float:
        inside = (t >= w[0]) & (t <= w[1])
        assert inside.sum() >= 3, (w, t)
        return float(watts[inside].mean())

    idle = mean_in(result["windows"]["idle"])
    joules, tokens = 0.0, 0
    for name, series in result["series"].items():
        if name.startswith(kind) and "@d" in name:
            w = result["windows"][name]
            joules += (mean_in(w) - idle) * (w[1] - w[0])
            tokens += int(name[2:].split("@")[0]) * len(series["samples"])
    return joules / tokens * 1000.0


def test_an_llm_cell_reports_energy_per_generated_and_per_prompt_token(adb_rig: AdbRig, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADBUTILS_ADB_PATH", adb_rig.adb_bin)
    adb_rig.heal()
    devices, wl = _config(tmp_path, adb_rig)
    battery = Path(device_path(adb_rig.root, "/sys/class/power_supply/battery"))
    saved = {f: (battery / f).read_text() for f in ("current_now", "voltage_now")}
    store = Store(tmp_path / "s.db")
    req = RunRequest(filters=Filters(), devices_dir=devices, workloads_dir=wl, builds_root=tmp_path / "builds")
    prep = prepare_run(req, store)  # builds first: the simulation follows the cell's runner only
    sim = RunnerBatterySim(battery)
    sim.start_matching("/job.json", prefix=adb_rig.workdir)
    try:
        outcome = execute(prep)
    finally:
        sim.stop()
        for f, text in saved.items():
            (battery / f).write_text(text)
    cells = store.cells_frame([prep.run_id]).set_index("precision")
    assert dict(outcome.statuses) == {"ok": 2}, cells["error"].tolist()
    assert len(set(sim.followed)) == 2  # each cell's runner drew its own current
    metrics = store.metrics_frame([prep.run_id])
    table = load_llm_table(store, [prep.run_id]).rows.set_index("precision")
    for precision, runner in (("F16", "native-llm"), ("fp32", "python-agent")):
        result = json.loads(cells.loc[precision, "result_json"])
        assert result["runner"] == runner and "idle" in result["windows"]
        m = metrics[metrics["precision"] == precision].set_index("metric")
        tg, pp = m.loc["energy_mj_per_token@tg"], m.loc["energy_mj_per_token@pp"]
        assert tg["unit"] == pp["unit"] == "mJ" and "net of idle" in tg["method"]
        assert "energy_mj_per_inference" not in m.index  # no figure mixing prompt and generated tokens
        assert tg["value"] == pytest.approx(_independent_mj_per_token(result, "tg"), rel=1e-6), precision
        assert pp["value"] == pytest.approx(_independent_mj_per_token(result, "pp"), rel=1e-6), precision
        assert tg["value"] > pp["value"] > 0, precision  # a decode step per generated token; one call per prompt
        row = table.loc[precision]
        assert row["energy_mj_per_token"] == tg["value"] and row["prefill_mj_per_token"] == pp["value"]

    f16 = metrics[metrics["precision"] == "F16"].set_index("metric")
    tg, pp = f16.loc["energy_mj_per_token@tg", "value"], f16.loc["energy_mj_per_token@pp", "value"]
    shown = CliRunner().invoke(app, ["table", prep.run_id, "--llm", "--store", str(tmp_path / "s.db"),
                                     "--format", "markdown"])
    assert shown.exit_code == 0, shown.output
    assert f"{tg:.3g} | {pp:.3g}" in shown.output and "tg windows' energy" in shown.output
    page = write_run_report(store, prep.run_id, tmp_path / "report").read_text()
    assert f"<td>{tg:.3g}</td><td>{pp:.3g}</td>" in page
