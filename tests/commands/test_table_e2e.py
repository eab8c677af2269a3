"""`harness table` over a real run on four devices: this machine under two profiles (other thread
settings; the second with two backends), the sshd rig and the adbd rig (real adb server).

A failed run comes first (the device held by another orchestrator: "device busy"), then the
good run; every device's runner crashes on int8 jobs, so its cells fail on
every device. The table is checked in every format; the store (tests/lab.py, one per session)
is shared with the site's Chromium check (tests/report/test_overview_results.py).
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from harness.report.results_table.markdown import GROUP_SEPARATOR
from tests.lab import Lab
from tests.report.markdown_tables import parse_tables

pytestmark = [pytest.mark.slow, pytest.mark.rig]
REPO = Path(__file__).resolve().parents[2]
DEVICES = ["local-a", "local-b", "rig-adb", "rig-ssh"]


def table(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", "table", *args], capture_output=True, text=True,
                          env=lab.env, cwd=REPO, timeout=300)


def groups_of(head: list[str], labels: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for h in head[labels:]:
        device, _, quantity = h.partition(GROUP_SEPARATOR)
        out.setdefault(device, []).append(quantity)
    return out


def test_the_failed_run_is_stored_as_failed_cells(lab: Lab) -> None:
    proc = table(lab, lab.failed_run, "-f", "csv")
    assert proc.returncode == 0, proc.stderr
    recs = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert {r["device"] for r in recs} == {"local-a"} and {r["status"] for r in recs} == {"failed"}
    assert all("busy" in r["error"] or "held" in r["error"] for r in recs), recs[0]["error"]


def test_markdown_has_one_column_group_per_device_and_failed_cells_say_so(lab: Lab) -> None:
    proc = table(lab, lab.good_run, "-f", "markdown")
    assert proc.returncode == 0, proc.stderr
    ((head, body),) = parse_tables(proc.stdout)
    assert head[:3] == ["workload", "precision", "backend"]  # local-b ran two backends: rows split by backend
    groups = groups_of(head, 3)
    assert list(groups) == DEVICES
    quantities = next(iter(groups.values()))
    assert all(q == quantities for q in groups.values()) and quantities[0] == "median [95% CI]"
    assert "rel-L2 vs host CPU EP" in quantities
    assert all(len(r) == len(head) for r in body)
    rows = {(r[1], r[2]): r for r in body}
    k = len(quantities)
    for d, device in enumerate(DEVICES):
        first = 3 + d * k
        assert rows[("int8", "cpu")][first] == "failed", (device, rows[("int8", "cpu")])
        value, unit = rows[("fp32", "cpu")][first].split(" [")[0].split(" ")  # "412 µs": the unit that fits
        assert value.replace(".", "").isdigit() and unit in ("µs", "ms", "s"), rows[("fp32", "cpu")]
        assert rows[("fp32", "cpu")][first + 1] == "1.00×"
    local_b = 3 + DEVICES.index("local-b") * k
    marks = [rows[(p, b)][local_b].endswith("★") for p in ("fp32", "fp16") for b in ("cpu", "cpu-b")]
    assert marks.count(True) == 2, marks  # one best backend per precision on local-b
    assert rows[("fp32", "cpu-b")][3] == "n/a"  # local-a has no backend cpu-b


def test_every_format(lab: Lab, tmp_path: Path) -> None:
    term = table(lab, lab.good_run)
    assert term.returncode == 0, term.stderr
    assert all(d in term.stdout for d in DEVICES) and "failed" in term.stdout and "★" in term.stdout
    recs = list(csv.DictReader(io.StringIO(table(lab, lab.good_run, "-f", "csv").stdout)))
    assert {r["device"] for r in recs} == set(DEVICES)
    ok = [r for r in recs if r["status"] == "ok"]
    assert len(ok) == 2 * 4 + 2 * 1  # fp32 + fp16 on each device; local-b's second backend
    for r in ok:
        assert float(r["ci_low"]) <= float(r["median"]) <= float(r["ci_high"]) and int(r["n"]) >= 20
        assert float(r["xplat_rel_l2"]) >= 0 and float(r["peak_memory_mb"]) > 0
    fp16 = [r for r in ok if r["precision"] == "fp16"]
    assert all(0 < float(r["rel_l2_vs_fp32"]) < 1e-2 for r in fp16)
    assert {r["status"] for r in recs if r["precision"] == "int8"} == {"failed", "n/a"}  # n/a: only local-b has cpu-b
    latex = table(lab, lab.good_run, "-f", "latex").stdout
    assert latex.count(r"\multicolumn{") == len(DEVICES) and r"\textit{failed}" in latex
    out = tmp_path / "t.html"
    proc = table(lab, lab.good_run, "-f", "html", "-o", str(out))
    assert proc.returncode == 0 and f"wrote {out}" in proc.stderr
    page = out.read_text()
    assert all(f'data-device="{d}"' in page for d in DEVICES) and "st-failed" in page


def test_a_build_id_and_several_runs(lab: Lab) -> None:
    by_build = table(lab, lab.build_id, "-f", "csv")
    assert by_build.returncode == 0, by_build.stderr
    assert {r["run_id"] for r in csv.DictReader(io.StringIO(by_build.stdout))} - {""} == {lab.good_run}  # "": n/a
    both = table(lab, lab.failed_run, lab.good_run, "-f", "csv")
    assert {r["run_id"] for r in csv.DictReader(io.StringIO(both.stdout))} - {""} == {lab.good_run}  # the newer wins
    bad = table(lab, "no-such-run")
    assert bad.returncode == 2 and "not a run id or a build id" in bad.stderr


def test_metric_columns_and_a_device_as_the_reference(lab: Lab) -> None:
    proc = table(lab, lab.good_run, "-f", "markdown", "--metric", "latency_ms@b4", "--columns", "latency,xplat",
                 "--reference", "local-a")
    assert proc.returncode == 0, proc.stderr
    ((head, body),) = parse_tables(proc.stdout)
    assert "series latency\\_ms@b4" in proc.stdout  # markdown-escaped in the title line
    groups = groups_of(head, 3)
    assert all(q[1] == "rel-L2 vs local-a" for q in groups.values()) and all(len(q) == 2 for q in groups.values())
    rows = {(r[1], r[2]): r for r in body}
    assert rows[("fp16", "cpu")][3 + 1] == "ref"  # local-a is the reference
    for d in range(1, len(DEVICES)):
        value = rows[("fp16", "cpu")][3 + 2 * d + 1]
        assert value != "–" and float(value) >= 0, (DEVICES[d], value)  # computed from the kept outputs
    assert table(lab, lab.good_run, "--reference", "iphone").returncode == 2


def test_cross_platform_agreement_is_stored_per_cell(lab: Lab) -> None:
    import json

    from harness.analysis.fidelity import XPLAT_HOST_METHOD, XPLAT_REL_L2
    from harness.results.kept_outputs import load_outputs
    from harness.results.store import Store

    store = Store(lab.store_path)
    cells = store.cells_frame([lab.good_run])
    ok = cells[cells["status"] == "ok"]
    m = store.metrics_frame([lab.good_run])
    xplat = m[m["metric"] == XPLAT_REL_L2]
    assert set(xplat["cell_id"]) == set(ok["id"])  # every measured cell, every device
    assert set(xplat["method"]) == {XPLAT_HOST_METHOD} and set(xplat["kind"]) == {"deterministic"}
    fp32 = m[(m["precision"] == "fp32") & m["metric"].isin(["rel_l2", XPLAT_REL_L2])]
    assert (fp32.groupby("cell_id")["value"].nunique() == 1).all()  # fp32's host run is the fp32 reference
    for rj in ok["result_json"]:
        r = json.loads(rj)
        assert r["xplat"]["reference"] == "host" and "error" not in r["xplat"] and r["outputs_kept"] is True
    kept = load_outputs(store, ok["id"])
    assert set(kept) == set(ok["id"]) and len({k.inputs_sha256 for k in kept.values()}) == 1  # identical inputs
    store.close()
