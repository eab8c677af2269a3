"""The store never takes a run down: a full disk (a small tmpfs), a file size limit (``ulimit -f``),
a SQLite lock held past the busy timeout and PostgreSQL stopped mid-run each stop the run with exit 2
and a message naming the store, its path, the cause and the ``--resume`` that finishes it; the cell
being saved waits in the journal and ``--resume`` stores it, with no duplicate. A PostgreSQL restart
is ridden out. A store on read-only media or an immutable file opens read-only for reading commands."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.results.store import Store
from tests.hardening.conftest import REPO, local_device, write_profile, write_workloads
from tests.rigs.postgres import PostgresRig, postgres_rig  # noqa: F401  (fixture)

BACKENDS = ["cpu0", "cpu1", "cpu2", "cpu3"]
MEASURE = {"warmup": 0, "warmup_s": 0, "min_iterations": 5, "min_seconds": 0.6, "max_seconds": 0.8}


def _harness(*args: str, env: dict[str, str], **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300, **kw)


def _setup(tmp_path: Path) -> list[str]:
    """A device with four backends (four cells): `harness run` args. The run builds its workload
    itself (no separate `harness build` process first: that cost a CLI start per test, and the
    run built the same content again or reused it)."""
    wl = write_workloads(tmp_path / "workloads", tiny={"measure": MEASURE})
    profile = write_profile(tmp_path, local_device(
        tmp_path, "disky", backends=[{"name": b, "provider": "CPUExecutionProvider"} for b in BACKENDS]))
    return ["run", "-d", str(profile), "--workloads-dir", str(wl), "--no-report"]


def _stored(store_url: str) -> int:
    """Cells stored so far, read without opening a Store (which would write its schema)."""
    if store_url.startswith("postgresql"):
        with contextlib.closing(Store(store_url)) as s:  # type: ignore[type-var]
            return len(s.cells_frame())
    try:
        with contextlib.closing(sqlite3.connect(f"file:{store_url}?mode=ro", uri=True, timeout=1)) as conn:
            return int(conn.execute("SELECT count(*) FROM cells").fetchone()[0])
    except sqlite3.Error:
        return 0


def _run_with_fault(args: list[str], env: dict[str, str], store_url: str,
                    fault: Callable[[subprocess.Popen[str]], object]) -> tuple[int, str]:
    """Start the run, inject the fault once its first cell is stored; (exit code, stdout + stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline and _stored(store_url) < 1:
        time.sleep(0.1)
    assert proc.poll() is None, f"the run ended before its first cell was stored: {proc.communicate()[0]}"
    fault(proc)
    out, _ = proc.communicate(timeout=300)
    return proc.returncode, " ".join(out.split())


def _check_stopped(rc: int, out: str, store_words: str, cause: str) -> str:
    """The run stopped cleanly naming store, path, cause and the resume; returns the run id."""
    assert rc == 2, out
    assert "Traceback" not in out, out
    assert store_words in out and cause in out, out
    assert "kept in the journal" in out and "measured cell(s)" in out, out
    run_id = out.split("harness run --resume ")[1].split()[0].rstrip("`:")
    return run_id


def _check_resumed(env: dict[str, str], store_url: str, run_id: str, journal_roots: list[Path]) -> None:
    res = _harness("run", "--resume", run_id, "--store", store_url, "--no-report", env=env)
    assert res.returncode in (0, 1) and "Traceback" not in res.stdout + res.stderr, res.stdout + res.stderr
    assert "kept in the journal while the store was failing" in " ".join(res.stdout.split())
    with contextlib.closing(Store(store_url)) as store:
        cells = store.cells_frame([run_id])
        assert sorted(cells.backend) == BACKENDS  # every cell, none twice
        # a host-side file the fault also hit (a pulled result.json past `ulimit -f`) fails that cell alone: data
        host_fault = cells.error.fillna("").str.contains("File too large|No space left", regex=True)
        assert (cells.status == "ok")[~host_fault].all() and host_fault.sum() <= 1, cells[["backend", "status", "error"]]
        assert res.returncode == (1 if host_fault.any() else 0), res.stdout  # exit 1: a cell failed
        cells = cells[cells.status == "ok"]
        samples = store.samples_for(cells.id)
        assert {int(i) for i, _ in samples} == set(cells.id)  # the journaled cells kept their raw samples
        assert store.get_run(run_id)["status"] == "finished"
    assert not any((root / run_id).exists() for root in journal_roots)  # the journal was stored, then removed


@contextlib.contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True,
                       capture_output=True)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    # unbuffered: a buffered file's close() flushes what the full disk refused once more, and raises there
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


@pytest.mark.slow
def test_disk_full_mid_run_stops_with_exit_2_and_resume_stores_the_journal(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    args = _setup(tmp_path)
    with _tmpfs(tmp_path / "disk", "8m") as disk:  # the filler takes it all; freed, it holds the run
        db = disk / "store.db"
        env = {**cli_env, "HARNESS_STORE": str(db), "HARNESS_JOURNAL": str(tmp_path / "journal")}
        fillers: list[Path] = []
        rc, out = _run_with_fault(args, env, str(db), lambda _: fillers.append(_fill(disk)))
        run_id = _check_stopped(rc, out, f"results store sqlite:///{db} ({db})", "database or disk is full")
        assert str(tmp_path / "journal" / run_id) in out  # the disk beside the store was full: the next folder took it
        fillers[0].unlink()
        _check_resumed(env, str(db), run_id, [tmp_path / "journal", disk / ".store.db.journal"])


@pytest.mark.slow
def test_a_file_size_limit_mid_run_stops_with_exit_2(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    args = _setup(tmp_path)
    db = tmp_path / "store.db"
    env = {**cli_env, "HARNESS_STORE": str(db)}
    wal = db.with_name("store.db-wal")

    def size_limit(proc: subprocess.Popen[str]) -> None:  # `ulimit -f` on the running harness: no file grows
        limit = max(db.stat().st_size, wal.stat().st_size)
        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (limit, limit))

    rc, out = _run_with_fault(args, env, str(db), size_limit)
    run_id = _check_stopped(rc, out, f"results store sqlite:///{db}", "disk")
    _check_resumed(env, str(db), run_id, [tmp_path / ".store.db.journal"])


@pytest.mark.slow
def test_a_sqlite_lock_held_past_the_busy_timeout(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    args = _setup(tmp_path)
    db = tmp_path / "store.db"
    env = {**cli_env, "HARNESS_STORE": str(db), "HARNESS_STORE_BUSY_TIMEOUT_S": "1"}
    holder = sqlite3.connect(str(db), timeout=30, isolation_level=None)
    try:
        rc, out = _run_with_fault(args, env, str(db), lambda _: holder.execute("BEGIN EXCLUSIVE"))
    finally:
        holder.close()
    run_id = _check_stopped(rc, out, f"results store sqlite:///{db}", "database is locked")
    _check_resumed(env, str(db), run_id, [tmp_path / ".store.db.journal"])


def _pg_ctl(rig: PostgresRig, *argv: str) -> None:
    rig._run("pg_ctl", "-D", str(rig.data), *argv)


def _pg_start(rig: PostgresRig) -> None:
    opts = f"-p {rig.port} -k {rig.data} -c listen_addresses=127.0.0.1 -c fsync=off"
    _pg_ctl(rig, "-o", opts, "-l", str(rig.dir / "server.log"), "-w", "start")


@pytest.mark.slow
@pytest.mark.rig
def test_postgres_restarted_mid_run_is_ridden_out(tmp_path: Path, cli_env, postgres_rig: PostgresRig) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    args = _setup(tmp_path)
    url = postgres_rig.create_database()
    env = {**cli_env, "HARNESS_STORE": url}

    def restart(_: object) -> None:
        _pg_ctl(postgres_rig, "-m", "fast", "-w", "stop")
        time.sleep(1.0)
        _pg_start(postgres_rig)

    rc, out = _run_with_fault(args, env, url, restart)
    assert rc == 0, out
    with contextlib.closing(Store(url)) as store:
        (run,) = store.list_runs()
        cells = store.cells_frame([run["run_id"]])
        assert sorted(cells.backend) == BACKENDS and run["status"] == "finished"


@pytest.mark.slow
@pytest.mark.rig
def test_postgres_stopped_mid_run_stops_with_exit_2(tmp_path: Path, cli_env, postgres_rig: PostgresRig) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    args = _setup(tmp_path)
    url = postgres_rig.create_database()
    env = {**cli_env, "HARNESS_STORE": url, "HARNESS_JOURNAL": str(tmp_path / "journal")}
    try:
        rc, out = _run_with_fault(args, env, url, lambda _: _pg_ctl(postgres_rig, "-m", "fast", "-w", "stop"))
    finally:
        time.sleep(0.2)
    try:
        run_id = _check_stopped(rc, out, "results store postgresql+psycopg://postgres@127.0.0.1", "connect")
    finally:
        _pg_start(postgres_rig)
    _check_resumed(env, url, run_id, [tmp_path / "journal"])


def _reading_commands_work(env: dict[str, str], store: str, run_id: str, out: Path) -> None:
    for args in (["results"], ["table", run_id], ["compare", run_id, run_id], ["publish", "--out", str(out)]):
        res = _harness(*args, "--store", store, env=env)
        assert res.returncode in (0, 3), (args, res.stdout[-2000:], res.stderr[-2000:])
        assert "Traceback" not in res.stderr, res.stderr


def _one_run(tmp_path: Path, env: dict[str, str], db: Path) -> str:
    args = _setup(tmp_path)
    res = _harness(*args, "-b", "cpu0", "--store", str(db), env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    with contextlib.closing(Store(db)) as store:
        return str(store.list_runs()[0]["run_id"])


@pytest.mark.slow
def test_an_immutable_store_opens_read_only(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "store.db"
    run_id = _one_run(tmp_path, cli_env, db)
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        _reading_commands_work(cli_env, str(db), run_id, tmp_path / "site")
        res = _harness("run", "--resume", run_id, "--store", str(db), env=cli_env)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert f"results store sqlite:///{db} is read-only (the file is read-only or immutable)" in \
            " ".join(res.stderr.split())
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=False)


@pytest.mark.slow
def test_a_store_on_read_only_media_opens_read_only(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "rw"
    src.mkdir()
    run_id = _one_run(tmp_path, cli_env, src / "store.db")
    ro = tmp_path / "ro"
    ro.mkdir()
    try:
        subprocess.run(["mount", "--bind", str(src), str(ro)], check=True, capture_output=True)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        pytest.skip(f"cannot bind-mount here: {exc}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], check=True, capture_output=True)
        _reading_commands_work(cli_env, str(ro / "store.db"), run_id, tmp_path / "site")
        assert sorted(os.listdir(ro)) == ["store.db"]  # nothing was written beside it (no -wal, no -shm)
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)
    shutil.rmtree(ro, ignore_errors=True)
