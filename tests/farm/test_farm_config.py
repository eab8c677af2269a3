"""farm.yaml: validation with file:line, profile overrides, shards, label rules, known failures, the hook."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.analysis.alerts import Alert
from harness.config.farm import Hook, load_farm
from harness.errors import ConfigError, HarnessError
from harness.farm.hook import new_alerts, payload, run_hook
from harness.farm.selection import night_cells, parse_shard, shard_devices, union_filters
from harness.plan import Cell

REPO = Path(__file__).resolve().parents[2]


def _farm(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "farm.yaml"
    p.write_text(text)
    return p


BASE = """\
name: lab
build: {latest_in: builds}
devices:
  - profile: local
    labels: {tier: host}
  - profile: galaxy-s23-sd8gen2
    name: s23-a
    serial: R5CW0000001
  - profile: galaxy-s23-sd8gen2
    name: s23-b
    serial: R5CW0000002
    server: farm-2:5037
  - profile: raspberry-pi-5
    host: 10.0.0.7
    port: 2222
runs:
  - match: {tier: flagship}
    workloads: [image-*]
    precisions: [fp32, int8]
  - match: {os: linux}
    workloads: [text-lm]
known_failures:
  - cell: "s23-b/image-vit/int8/*"
    issue: https://example.org/issues/7
"""


def test_the_example_farms_validate() -> None:
    proc = subprocess.run([sys.executable, "-m", "harness", "validate", "farm.yaml", "examples/farm-multihost.yaml"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.count("(farm)") == 2, proc.stdout + proc.stderr
    multi = load_farm(REPO / "examples" / "farm-multihost.yaml")
    assert multi.profiles["s23-02"].transport.server == "lab-2:5037"  # type: ignore[union-attr]
    assert multi.farm.hook is not None and multi.farm.hook.when == ["confirmed"]
    cfg = load_farm(REPO / "farm.yaml")
    assert "local" in cfg.profiles and all(not p.example for p in cfg.profiles.values())


def test_overrides_and_labels(tmp_path: Path) -> None:
    cfg = load_farm(_farm(tmp_path, BASE))
    assert list(cfg.profiles) == ["local", "s23-a", "s23-b", "raspberry-pi-5"]
    a, b, pi = cfg.profiles["s23-a"], cfg.profiles["s23-b"], cfg.profiles["raspberry-pi-5"]
    assert (a.transport.serial, b.transport.serial, b.transport.server) == ("R5CW0000001", "R5CW0000002", "farm-2:5037")
    assert (pi.transport.host, pi.transport.port) == ("10.0.0.7", 2222)
    assert a.labels["tier"] == "flagship" and cfg.profiles["local"].labels["tier"] == "host"
    assert [r.workloads for r in cfg.cells_for("s23-a")] == [["image-*"]]
    assert cfg.store_url() is None and cfg.resolve("builds") == tmp_path / "builds"


@pytest.mark.parametrize(("edit", "expected"), [
    (("serial: R5CW0000001", "seriall: R5CW0000001"), "farm.yaml:8:5: unknown key 'seriall' at devices[1].seriall"),
    (("profile: local", "profile: no-such-phone"), "farm.yaml:4:14: field devices[0].profile: no device profile "
                                                   "'no-such-phone'"),
    (("host: 10.0.0.7", "serial: X1"), "'serial' does not apply to profile 'raspberry-pi-5' (transport ssh)"),
    (('cell: "s23-b/image-vit/int8/*"', 'cell: "s23-b/image-vit"'),
     "field known_failures[0].cell: expected device/workload/precision/backend"),
    (("build: {latest_in: builds}", "build: {latest_in: builds, folder: b}"),
     "build needs exactly one of 'folder', 'manifest' or 'latest_in'"),
    (("precisions: [fp32, int8]", "precisions: [fp33]"), "farm.yaml:19:17: field runs[0].precisions"),
    (("name: s23-b", "name: s23-a"), "device name 's23-a' used twice"),
])
def test_errors_say_where_and_what(tmp_path: Path, edit: tuple[str, str], expected: str) -> None:
    path = _farm(tmp_path, BASE.replace(*edit))
    with pytest.raises(ConfigError) as e:
        load_farm(path)
    assert expected in str(e.value)
    assert str(path) in str(e.value)


def test_shards_cover_the_farm_exactly_once(tmp_path: Path) -> None:
    cfg = load_farm(_farm(tmp_path, BASE))
    parts = [shard_devices(cfg, parse_shard(f"{i}/3")) for i in (1, 2, 3)]
    assert sorted(sum(parts, [])) == sorted(cfg.profiles) and all(parts)
    assert shard_devices(cfg, parse_shard(None, {"tier": "flagship"})) == ["s23-a", "s23-b"]
    assert parse_shard("2/3", {"tier": "x"}).name == "2/3,tier=x"
    for bad in ("0/2", "3/2", "a/b"):
        with pytest.raises(HarnessError, match="expected i/n"):
            parse_shard(bad)
    with pytest.raises(HarnessError, match="no device of farm lab has labels"):
        shard_devices(cfg, parse_shard(None, {"tier": "nope"}))


def test_rules_known_failures_and_quarantine_shape_the_night(tmp_path: Path) -> None:
    cfg = load_farm(_farm(tmp_path, BASE))
    f = union_filters(cfg, ["s23-a", "s23-b", "raspberry-pi-5"])
    assert set(f.workload) == {"image-*", "text-lm"}
    cells = [Cell(d, w, p, "cpu") for d in ("s23-a", "s23-b", "raspberry-pi-5")
             for w in ("image-vit", "text-lm") for p in ("fp32", "int8", "fp16")]
    night = {c.key: c for c in night_cells(cfg, cells, {"raspberry-pi-5": "unreachable: refused"})}
    assert "s23-a/text-lm/fp32/cpu" not in night and "s23-a/image-vit/fp16/cpu" not in night  # no rule asks
    assert night["s23-a/image-vit/int8/cpu"].status == "planned"
    assert night["s23-b/image-vit/int8/cpu"].reason == "known failure: https://example.org/issues/7"
    pi = [c for c in night.values() if c.device == "raspberry-pi-5"]
    assert len(pi) == 3 and all(c.status == "skipped" and c.reason == "quarantined at preflight: unreachable: refused"
                                for c in pi)


def _alert(state: str, run: str = "r2") -> Alert:
    return Alert("w", "fp32", "cpu", "fp", "latency_ms@b1", "dev", run, "r1", "b2", "b1", "2026-01-02", 1.0, 1.3, 1.3,
                 0.001, state)


def test_hook_gets_only_newly_confirmed_alerts_as_json(tmp_path: Path) -> None:
    before = [_alert("suspected"), _alert("confirmed", "r0")]
    after = [_alert("confirmed"), _alert("confirmed", "r0"), _alert("suspected", "r3")]
    fresh = new_alerts(before, after, ["confirmed"])
    assert [a.run_id for a in fresh] == ["r2"]
    out = tmp_path / "posted.json"
    hook = Hook(command=[sys.executable, "-c", "import sys,os,shutil; sys.stdout.write('sent');"
                         f"open({str(out)!r},'w').write(sys.stdin.read() + open(os.environ['HARNESS_ALERTS_JSON']).read()"
                         "[:0] + os.environ['HARNESS_NIGHT'])"])
    res = run_hook(hook, payload(fresh, "lab", "2026-01-02", "/site/index.html"))
    assert (res.ran, res.rc, res.output, res.alerts) == (True, 0, "sent", 1)
    text = out.read_text()
    assert text.endswith("2026-01-02")
    doc = json.loads(text.removesuffix("2026-01-02"))
    assert doc["farm"] == "lab" and doc["alerts"][0]["run_id"] == "r2" and doc["alerts"][0]["ratio"] == 1.3
    assert not run_hook(hook, payload([], "lab", "n", None)).ran  # nothing new: the hook stays quiet
    broken = run_hook(Hook(command=["/nonexistent/notify"]), payload(fresh, "lab", "n", None))
    assert broken.ran and broken.rc is None and "/nonexistent/notify" in broken.output
