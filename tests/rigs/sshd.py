"""A real OpenSSH sshd on 127.0.0.1, throwaway keys, key-only auth, behind a FaultProxy.

The device is this machine as the current user; its workdir lives in the rig's temp dir.
``ssh_config`` declares the Host alias ``rig-board`` (HostName, Port -> the proxy, User,
IdentityFile), ``known_hosts`` holds the host key for both ports.
"""

from __future__ import annotations

import getpass
import os
import subprocess
from pathlib import Path

from tests.rigs.binaries import die_with_parent, free_port, require_binary, wait_port
from tests.rigs.devicetree import build_device_tree
from tests.rigs.faultproxy import FaultProxy

ALIAS = "rig-board"


def keygen(path: Path, ssh_keygen: str) -> Path:
    subprocess.run([ssh_keygen, "-q", "-t", "ed25519", "-N", "", "-C", "harness-rig", "-f", str(path)], check=True)
    return path


class SshdRig:
    def __init__(self, base: Path) -> None:
        self.base = Path(base)
        self.sshd_bin = require_binary("sshd", "/usr/sbin/sshd", package="openssh-server")
        self.keygen_bin = require_binary("ssh-keygen", "/usr/bin/ssh-keygen", package="openssh-client")
        self.ssh_bin = require_binary("ssh", "/usr/bin/ssh", package="openssh-client")
        self.user = getpass.getuser()
        self.root = build_device_tree(self.base / "device")
        self.workdir = str(self.root / "data/local/tmp/harness-ssh")
        self.proc: subprocess.Popen[bytes] | None = None
        self.proxy: FaultProxy | None = None

    def start(self) -> SshdRig:
        b = self.base
        b.mkdir(parents=True, exist_ok=True)
        self.host_key = keygen(b / "host_ed25519", self.keygen_bin)
        self.user_key = keygen(b / "id_ed25519", self.keygen_bin)
        (b / "authorized_keys").write_text((b / "id_ed25519.pub").read_text())
        self.sshd_port = free_port()
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        cfg = b / "sshd_config"
        cfg.write_text(
            "\n".join(
                [
                    f"Port {self.sshd_port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.host_key}",
                    f"PidFile {b / 'sshd.pid'}",
                    f"AuthorizedKeysFile {b / 'authorized_keys'}",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "StrictModes no",
                    "UsePAM no",
                    "UseDNS no",
                    "MaxSessions 200",
                    "MaxStartups 100:30:200",
                    "Subsystem sftp internal-sftp",
                    # bash sources ~/.bashrc for sshd-started top-level shells (SHLVL < 2); this
                    # machine's root .bashrc runs `pyenv init` (~130 ms a command): keep it out.
                    "SetEnv SHLVL=1",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        self.log = open(b / "sshd.log", "wb")  # noqa: SIM115 - lives as long as the rig
        self.proc = subprocess.Popen([self.sshd_bin, "-D", "-e", "-f", str(cfg)], stderr=self.log,
                                     preexec_fn=die_with_parent)
        wait_port(self.sshd_port)
        self.proxy = FaultProxy(self.sshd_port)
        self.port = self.proxy.port
        pub = (b / "host_ed25519.pub").read_text().split()
        self.known_hosts = b / "known_hosts"
        self.known_hosts.write_text(
            "".join(f"[127.0.0.1]:{p} {pub[0]} {pub[1]}\n" for p in (self.port, self.sshd_port))
        )
        self.ssh_config = b / "ssh_config"
        self.ssh_config.write_text(
            f"Host {ALIAS}\n  HostName 127.0.0.1\n  Port {self.port}\n  User {self.user}\n"
            f"  IdentityFile {self.user_key}\n  UserKnownHostsFile {self.known_hosts}\n"
            "  StrictHostKeyChecking yes\n  BatchMode yes\n"
        )
        return self

    def ssh_argv(self, *remote: str, direct: bool = False) -> list[str]:
        """The plain `ssh` CLI against the rig (for benchmarks and cross-checks)."""
        argv = [self.ssh_bin, "-F", str(self.ssh_config)]
        if direct:
            argv += ["-p", str(self.sshd_port)]
        return [*argv, ALIAS, *remote]

    def stop(self) -> None:
        if self.proxy:
            self.proxy.close()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
