"""Faults: SIGKILL during publish leaves the old site whole; a host SIGKILLed mid-cell leaves a
runner on the device that the next --resume ends before measuring; a corrupted file in the
device's push cache is caught by its sha256 and sent again."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.report.site import swap
from harness.report.site.publish import publish
from harness.results.store import Store
from harness.transport.local import LocalTransport
from tests.analysis.synthetic import record_history
from tests.hardening.conftest import REPO, local_device, write_profile, write_workloads


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _stages(out: Path) -> list[Path]:
    return [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


@pytest.mark.slow
def test_sigkill_during_publish_leaves_the_old_site_whole(tmp_path: Path) -> None:
    store = Store(tmp_path / "site.db")
    record_history(store, 6, n=20)
    out = tmp_path / "site"
    publish(store, out, run_pages=6)
    first = _tree(out)
    publish(store, out, run_pages=6)
    # pages that differ between two whole publishes of one store (plotly's random div ids, the
    # feed): a site that has some of them new and some old was written into in place
    fresh = {name for name, digest in _tree(out).items() if first.get(name) != digest}
    assert len(fresh) >= 2
    (out / "farm").mkdir()
    (out / "farm" / "index.html").write_text("farm health")  # written by another step: must survive
    old = _tree(out)
    killed_mid_way = 0
    for delay in (0.0, 0.3, 1.0, 2.0, 3.0):
        proc = subprocess.Popen([sys.executable, "-m", "harness", "publish", "--out", str(out), "--store", store.url,
                                 "--run-pages", "6"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not any(
                p.name.startswith(".site.new-") for p in out.parent.iterdir()):
            time.sleep(0.005)
        time.sleep(delay)
        if proc.poll() is None:
            killed_mid_way += 1
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        now = _tree(out)
        if proc.returncode == 0 or now != old:  # finished, or killed after its swap: a whole new site
            changed = {name for name in fresh if now.get(name) != old.get(name)}
            assert set(now) == set(old) and changed == fresh, \
                f"a publish killed {delay} s into writing left a mixed site: new {sorted(changed)} of {sorted(fresh)}"
            old = now
    assert killed_mid_way >= 2
    result = publish(store, out, run_pages=6)
    assert not _stages(out)  # the killed publishes' stages are gone
    assert (out / "farm" / "index.html").read_text() == "farm health" and (out / "index.html").is_file()
    assert all(p.is_file() for p in result.pages)


def test_the_swap_without_renameat2_and_a_kill_between_its_renames(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "site"
    with swap.fresh_site(out) as stage:
        (stage / "a.html").write_text("old")
    monkeypatch.setattr(swap, "_exchange", lambda a, b: False)
    with swap.fresh_site(out) as stage:
        assert (stage / "a.html").read_text() == "old"  # the stage starts as a copy
        (stage / "a.html").write_text("new")
        assert (out / "a.html").read_text() == "old"  # the live site is untouched until the swap
    assert (out / "a.html").read_text() == "new" and not _stages(out)
    os.rename(out, tmp_path / ".site.old-12345")  # a kill landed between the two renames
    with pytest.raises(RuntimeError), swap.fresh_site(out) as stage:  # the next publish puts it back first
        raise RuntimeError("this publish fails too")
    assert (out / "a.html").read_text() == "new" and not _stages(out)


def _pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state  # a zombie is dead (nobody may reap it in a container)


def _runner_pids(workdir: Path) -> list[int]:
    pids = []
    for pf in Path(LocalTransport(str(workdir)).pidfile_dir).glob("*.pid"):  # this host's: every local profile's
        try:
            pid = int(pf.read_text().split()[0])  # "<group> <orchestrator> <workdir>"
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        # the runner: python <cache>/<sha>.py job.json, or prestarted: ... --job-from-stdin (the job's
        # path on its stdin; this one-cell run gives it at once)
        if cmd.endswith((b"job.json\x00", b"--job-from-stdin\x00")) and _pid_alive(pid):
            pids.append(pid)
    return pids


def _processes_using(workdir: Path) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if str(workdir).encode() in (d / "cmdline").read_bytes() and _pid_alive(int(d.name)):
                    out.append(int(d.name))
            except OSError:
                pass
    return out


@pytest.mark.slow
def test_host_sigkill_then_resume_ends_the_orphan_before_measuring(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    measure = {"warmup": 0, "warmup_s": 0, "min_iterations": 5, "min_seconds": 12, "max_seconds": 12}
    wl = write_workloads(tmp_path / "workloads", tiny={"measure": measure})
    device = write_profile(tmp_path, local_device(tmp_path, "orphanage"))
    workdir = tmp_path / "dev-orphanage"
    cmd = [sys.executable, "-m", "harness", "run", "-d", str(device), "--workloads-dir", str(wl), "--no-report"]
    host = subprocess.Popen(cmd, cwd=REPO, env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    runners: list[int] = []
    while time.monotonic() < deadline and host.poll() is None and not runners:
        runners = _runner_pids(workdir)
        time.sleep(0.05)
    assert runners, f"no runner started: {host.stderr.read() if host.stderr else ''}"
    time.sleep(3)  # past its start-up: it has its job and is measuring (12 s), not waiting for one
    host.send_signal(signal.SIGKILL)
    host.wait(timeout=30)
    (orphan,) = runners
    assert _pid_alive(orphan)  # the runner outlived its host: it is in its own session on the "device"
    store = Store(cli_env["HARNESS_STORE"])
    run_id = store.list_runs()[0]["run_id"]
    assert not store.done_cell_keys(run_id)

    res = subprocess.run([sys.executable, "-m", "harness", "run", "--resume", run_id, "--no-report"], cwd=REPO,
                         env=cli_env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"ended process group {orphan} left running by a dead run" in " ".join(res.stdout.split())
    assert not _pid_alive(orphan) and not _processes_using(workdir)  # nothing left behind either
    (cell,) = store.cells_frame([run_id]).itertuples()
    assert cell.status == "ok" and store.get_run(run_id)["status"] == "finished"
    # "none measured beside it": the orphan was ended when the session opened, before the cell started
    assert res.stdout.index("ended process group") < res.stdout.index("results:")


@pytest.mark.slow
def test_a_corrupted_cache_entry_is_sent_again(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    wl = write_workloads(tmp_path / "workloads")
    device = write_profile(tmp_path, local_device(tmp_path, "cachey"))
    cmd = [sys.executable, "-m", "harness", "run", "-d", str(device), "--workloads-dir", str(wl), "--no-report"]
    first = subprocess.run(cmd, cwd=REPO, env=cli_env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    (model,) = (tmp_path / "dev-cachey" / "cache").glob("*.onnx")
    good = model.read_bytes()
    model.write_bytes(good[:-64] + bytes(b ^ 0x5A for b in good[-64:]))  # same size, other weights
    second = subprocess.run(cmd, cwd=REPO, env=cli_env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "failed sha256 re-verification on the device and were sent again" in " ".join(second.stdout.split())
    assert model.read_bytes() == good
    store = Store(cli_env["HARNESS_STORE"])
    latest = store.list_runs()[0]
    metrics = store.metrics_frame([latest["run_id"]]).set_index("metric")["value"]
    assert latest["summary"]["bytes_pushed"] >= len(good)
    assert metrics["rel_l2"] < 1e-6  # the fp32 cell ran the right model: its output equals the reference

