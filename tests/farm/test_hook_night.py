"""After a night: history detection confirms a regression, the farm's hook posts it once."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from harness.config.farm import load_farm
from harness.farm.night import NightResult, finish_night
from harness.records import CellRecord, MetricValue
from harness.results.store import Store
from tests.farm.conftest import local_profile, write_farm


def _history(store: Store, nights: int, step_at: int) -> list[str]:
    """Nightly runs of one cell; latency steps up 30 % from night ``step_at`` on."""
    rng = np.random.default_rng(1)
    runs = []
    for i in range(nights):
        run_id, night = f"n{i:02d}", f"2026-06-{i + 1:02d}"
        store.create_run(run_id, [], build_id=f"b{i:02d}", kind="nightly",
                         labels={"farm": "testfarm", "night": night, "shard": "1/1"})
        level = 10.0 * (1.3 if i >= step_at else 1.0)
        samples = level * (1 + 0.01 * rng.standard_normal(60))
        store.record_cell(run_id, CellRecord(
            "host-a/tiny-mlp/fp32/cpu", "host-a", "tiny-mlp", "fp32", "cpu", "ok", device_fingerprint="fp-a",
            build_id=f"b{i:02d}", metrics=[MetricValue("latency_ms@b1", float(np.median(samples)), "ms", "noisy")],
            samples={"latency_ms@b1": samples}))
        store.finish_run(run_id)
        runs.append(run_id)
    return runs


def test_confirmed_regression_runs_the_hook_once(tmp_path: Path, farm_build) -> None:
    posted = tmp_path / "posted.jsonl"
    hook = {"command": [sys.executable, "-c", f"import sys; open({str(posted)!r}, 'a').write(sys.stdin.read()"
                                              ".replace(chr(10), '') + chr(10))"]}
    cfg = load_farm(write_farm(tmp_path, farm_build, [{"profile": str(local_profile(tmp_path, "host-a"))}],
                               hook=hook, publish_dir=None))
    store = Store(cfg.store_url())
    runs = _history(store, nights=10, step_at=5)
    lines: list[str] = []
    result = NightResult(runs[-1], "2026-06-10", "1/1")
    finish_night(cfg, store, result, None, lines.append)
    assert result.problems == [] and result.hook is not None and result.hook.ran and result.hook.rc == 0
    docs = [json.loads(line) for line in posted.read_text().splitlines()]
    assert len(docs) == 1 and docs[0]["farm"] == "testfarm" and docs[0]["night"] == "2026-06-10"
    (alert,) = docs[0]["alerts"]
    assert (alert["state"], alert["run_id"], alert["device"]) == ("confirmed", "n05", "host-a")
    assert 1.25 < alert["ratio"] < 1.35
    assert any(line.startswith("regression hook: 1 alert(s), exit 0") for line in lines)

    again = NightResult(runs[-1], "2026-06-10", "1/1")
    finish_night(cfg, store, again, None, lines.append)  # nothing new: the hook stays quiet
    assert again.hook is not None and not again.hook.ran and len(posted.read_text().splitlines()) == 1
