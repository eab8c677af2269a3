"""A real PostgreSQL server on loopback for the shared-store tests (Debian `postgresql`, 15 or newer).

initdb a throwaway cluster (trust auth, superuser `postgres`), start it on 127.0.0.1 and a
free port with its socket in the data dir, hand out one fresh database per test. As root the
server runs as the `postgres` user (PostgreSQL refuses root), in a /tmp dir that user owns.
scripts/install-test-deps.sh installs the package.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL bin dir (15 preferred when several are there)."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name))
    preferred = [d for d in dirs if Path(d).parent.name == "15"]
    chosen = (preferred or dirs)[-1:]
    return Path(chosen[0]) if chosen else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresRig:
    def __init__(self) -> None:
        binary = pg_bin()
        if binary is None:
            raise RuntimeError("PostgreSQL is not installed: run scripts/install-test-deps.sh")
        self.bin = binary
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="harness-pg-"))
        self.data = self.dir / "data"
        self.as_root = os.geteuid() == 0

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / argv[0]), *argv[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.dir, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stdout}{proc.stderr}")
        return proc

    def start(self) -> PostgresRig:
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        opts = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "server.log"), "-w", "start")
        return self

    def create_database(self, name: str | None = None) -> str:
        """A fresh database; returns its SQLAlchemy URL (psycopg 3 driver)."""
        name = name or f"h_{uuid.uuid4().hex[:10]}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", timeout=60)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_rig() -> Iterator[PostgresRig]:
    rig = PostgresRig().start()
    yield rig
    rig.stop()


@pytest.fixture
def postgres_url(postgres_rig: PostgresRig) -> str:
    """A SQLAlchemy URL to a fresh, empty database on the rig."""
    return postgres_rig.create_database()
