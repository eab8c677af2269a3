"""Two shards writing to one real PostgreSQL store make one night that compare, history and publish read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.config.farm import load_farm
from harness.farm.health import farm_health
from harness.farm.night import run_night
from harness.farm.selection import parse_shard
from harness.results.store import Store
from harness.views.history import load_series
from tests.farm.conftest import local_profile, write_farm

REPO = Path(__file__).resolve().parents[2]


def _shards(farm: Path, night: str, url: str, env: dict[str, str]) -> None:
    # each shard stands for another host: its local 'device' has its own host lock (one host's
    # profiles would otherwise take turns, as they must)
    procs = [subprocess.Popen([sys.executable, "-m", "harness", "nightly", str(farm), "--shard", f"{i}/2",
                               "--night", night, "--store", url, "--no-publish"],
                              cwd=REPO, env={**env, "HARNESS_LOCAL_LOCK": str(farm.parent / f"host-{i}.lock")},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in (1, 2)]
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0, out


@pytest.mark.slow
@pytest.mark.rig
def test_two_shards_on_postgres_merge_into_one_night(tmp_path: Path, farm_build, postgres_url: str,  # type: ignore[no-untyped-def]
                                                     monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from harness.builds.builder import build
    from harness.cli import main
    from harness.config.loader import load_workload

    wl, build1 = farm_build
    build2 = build([(load_workload(wl / "tiny.yaml"), wl / "tiny.yaml")], tmp_path / "builds", build_id="b-night2",
                   precisions=["fp32", "int8"])
    devices = [{"profile": str(local_profile(tmp_path, n))} for n in ("host-a", "host-b")]
    env = {**os.environ, "COLUMNS": "220"}
    store = Store(postgres_url)
    cfg = load_farm(write_farm(tmp_path, (wl, build1), devices, publish_dir=None))
    for i in (1, 2):  # night 1: the shards one after the other, in this process
        run_night(cfg, store, shard=parse_shard(f"{i}/2"), night="2026-03-01")
    _shards(write_farm(tmp_path, (wl, build2), devices), "2026-03-02", postgres_url, env)  # night 2: concurrently

    assert store.engine.dialect.name == "postgresql"
    h = farm_health(store, "testfarm", "2026-03-02")
    assert sorted(r["shard"] for r in h["runs"]) == ["1/2", "2/2"]
    assert {d["device"]: d["shard"] for d in h["devices"]} == {"host-a": "1/2", "host-b": "2/2"}
    assert h["totals"]["cells_ok"] == 4 and h["totals"]["cells_missing"] == 0 and h["totals"]["online"] == 2

    def harness(*args: str) -> tuple[int, str]:
        """The CLI in this process (its start-up is what the subprocess orchestrators above already prove)."""
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["harness", *args, "--store", postgres_url])
        monkeypatch.setenv("COLUMNS", "220")
        with pytest.raises(SystemExit) as exc:
            main()
            raise SystemExit(0)
        out = capsys.readouterr()
        return int(exc.value.code or 0), out.out + out.err

    b1, b2 = (store.get_run(r["run_id"])["build_id"] for r in
              (farm_health(store, "testfarm", n)["runs"][0] for n in ("2026-03-01", "2026-03-02")))
    rc, out = harness("compare", b1, b2, "--format", "json")  # each side: the merged night (both shards' runs)
    assert rc in (0, 1, 3), out
    rows = json.loads(out)["rows"]
    assert {r["device"] for r in rows} == {"host-a", "host-b"}
    rc, out = harness("history", "--metric", "latency_ms*")
    assert rc == 0 and "tiny-mlp" in out, out
    # both local 'devices' are one machine (one fingerprint), but two profiles: two series, each holding
    # the runs of its own shard over both nights (never the other profile's)
    shard_of = {"host-a": "1/2", "host-b": "2/2"}
    night_runs = [r for n in ("2026-03-01", "2026-03-02") for r in farm_health(store, "testfarm", n)["runs"]]
    series = load_series(store, metric="latency_ms*")
    assert sorted({s.device for s in series}) == ["host-a", "host-b"]
    for s in series:
        assert set(s.points["run_id"]) == {r["run_id"] for r in night_runs if r["shard"] == shard_of[s.device]}, s.key
    site = tmp_path / "site"
    rc, out = harness("publish", "--out", str(site))
    assert rc == 0, out
    devices_page = (site / "devices.html").read_text()
    assert "host-a" in devices_page and "host-b" in devices_page
